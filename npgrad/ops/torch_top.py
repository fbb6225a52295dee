"""torch's remaining top-level functional names, with ``torch.X``'s (aten's) signatures, each a thin wrapper of
npgrad's nn.functional op (so its gradient, JVP and vmap rules are that op's):

``embedding(weight, indices, padding_idx=-1, ...)`` (the reverse of ``F.embedding``'s order), ``embedding_bag``
(a 4-tuple, the output first), ``instance_norm batch_norm`` (weight and bias before the running stats),
the losses ``kl_div poisson_nll_loss ctc_loss cosine_embedding_loss hinge_embedding_loss margin_ranking_loss
triplet_margin_loss binary_cross_entropy_with_logits`` (``reduction`` as aten's int, 0 none / 1 mean / 2 sum,
or F's string), ``rrelu adaptive_max_pool1d max_pool1d_with_indices`` (with indices), ``constant_pad_nd
convolution grid_sampler`` (int modes) ``affine_grid_generator``, the dropouts ``dropout_ alpha_dropout_
feature_dropout feature_dropout_ feature_alpha_dropout_ (input, p, train)``, the cells ``lstm_cell gru_cell
rnn_tanh_cell rnn_relu_cell``, ``split_with_sizes mvlgamma``.

Tensor methods (``attach``): ``index_reduce(dim, index, source, reduce, include_self=True)`` / ``index_reduce_``
(on ``scatter_reduce``), ``put_(index, source, accumulate=False)`` (``t.put`` stays NumPy's), and
``histogram(bins=100, *, range=None, weight=None, density=False)`` as torch's ``(hist, bin_edges)``
(``npg.histogram`` stays NumPy's)."""
import collections as _collections

import numpy as np

from ..tensor import Tensor
from ._util import as_input

__all__ = ["embedding", "embedding_bag", "instance_norm", "batch_norm", "kl_div", "poisson_nll_loss", "ctc_loss",
           "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
           "binary_cross_entropy_with_logits", "rrelu", "adaptive_max_pool1d", "max_pool1d_with_indices",
           "constant_pad_nd", "convolution", "grid_sampler", "affine_grid_generator", "dropout_", "alpha_dropout_",
           "feature_dropout", "feature_dropout_", "feature_alpha_dropout_", "lstm_cell", "gru_cell",
           "rnn_tanh_cell", "rnn_relu_cell", "split_with_sizes", "mvlgamma", "index_reduce"]


def _F():
    from ..nn import functional
    return functional


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(r, name):
    """aten's reduction enum (0 none, 1 mean, 2 sum) or F's string."""
    if isinstance(r, str) and r in ("none", "mean", "sum"):
        return r
    if isinstance(r, (int, np.integer)) and not isinstance(r, bool) and int(r) in _REDUCTIONS:
        return _REDUCTIONS[int(r)]
    raise ValueError(f"{name}: reduction must be 0 (none), 1 (mean), 2 (sum) or one of 'none' 'mean' 'sum', "
                     f"got {r!r}")


# ------------------------------------------------------------------------------------------- embeddings
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """``torch.embedding(weight, indices, ...)``: rows of ``weight`` (note the order: ``F.embedding`` takes
    ``(input, weight)``). A negative ``padding_idx`` means none, as aten's."""
    pi = None if padding_idx is None or int(padding_idx) < 0 else int(padding_idx)
    return _F().embedding(indices, weight, padding_idx=pi, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """``torch.embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, ...)`` with aten's int ``mode``
    (0 sum, 1 mean, 2 max): ``(output, offset2bag, bag_size, max_indices)``. The output is ``F.embedding_bag``'s;
    the other three are integer bookkeeping without gradient, as torch's CPU kernel gives them in float64: the
    bag of each index; the size of each bag (zeros in mode sum); (mode max) the row of ``weight`` each maximum
    came from, (mean) the bag sizes, (sum) zeros. (torch's float32 sum fast path leaves offset2bag empty.)"""
    if isinstance(mode, str):
        m = mode
    elif isinstance(mode, (int, np.integer)) and not isinstance(mode, bool) and int(mode) in _BAG_MODES:
        m = _BAG_MODES[int(mode)]
    else:
        raise ValueError(f"embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    out = _F().embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=m,
                             sparse=sparse, per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding_idx)
    idx = np.asarray(as_input(indices, "embedding_bag").data).astype(np.int64)
    B = out.shape[0]
    n_off = B                     # (torch's sum-mode zeros: one per offset, include_last_offset's last one too)
    if idx.ndim == 2:
        o2b = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
        idx = idx.ravel()
    else:
        off = np.asarray(as_input(offsets, "embedding_bag").data).astype(np.int64).ravel()
        starts = off[:B]
        n_off = off.size
        o2b = np.searchsorted(starts, np.arange(idx.size), side="right") - 1
    sizes = np.bincount(o2b, minlength=B).astype(np.int64)[:B] if idx.size else np.zeros(B, np.int64)
    if m == "sum":
        return out, Tensor(o2b.astype(np.int64)), Tensor(np.zeros(n_off, np.int64)), Tensor(np.zeros(n_off, np.int64))
    if m == "mean":
        return out, Tensor(o2b.astype(np.int64)), Tensor(sizes), Tensor(sizes.copy())
    w = as_input(weight, "embedding_bag").data
    mx = np.zeros((B, w.shape[1]), np.int64)
    for b in range(B):
        rows = idx[o2b == b]
        if rows.size:
            mx[b] = rows[np.argmax(w[rows], axis=0)]
    return out, Tensor(o2b.astype(np.int64)), Tensor(sizes), Tensor(mx)


# ------------------------------------------------------------------------------------------- normalization
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled=False):
    """``torch.instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
    cudnn_enabled)`` (``cudnn_enabled`` is ignored)."""
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=False):
    """``torch.batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
    cudnn_enabled)`` (``cudnn_enabled`` is ignored)."""
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


# ------------------------------------------------------------------------------------------- losses
def kl_div(input, target, reduction=1, *, log_target=False):
    """``torch.kl_div(input, target, reduction=1, *, log_target=False)``: aten's 'mean' is the element mean
    (no warning; ``F.kl_div``'s advice to use 'batchmean' is for the nn.functional API)."""
    r = _reduction(reduction, "kl_div")
    out = _F().kl_div(input, target, reduction="none" if r == "mean" else r, log_target=log_target)
    return out.mean() if r == "mean" else out


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """``torch.poisson_nll_loss(input, target, log_input, full, eps, reduction)``."""
    return _F().poisson_nll_loss(input, target, log_input=log_input, full=full, eps=eps,
                                 reduction=_reduction(reduction, "poisson_nll_loss"))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    """``torch.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1,
    zero_infinity=False)``."""
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank,
                         reduction=_reduction(reduction, "ctc_loss"), zero_infinity=zero_infinity)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return _F().cosine_embedding_loss(input1, input2, target, margin=margin,
                                      reduction=_reduction(reduction, "cosine_embedding_loss"))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    return _F().hinge_embedding_loss(input, target, margin=margin,
                                     reduction=_reduction(reduction, "hinge_embedding_loss"))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return _F().margin_ranking_loss(input1, input2, target, margin=margin,
                                    reduction=_reduction(reduction, "margin_ranking_loss"))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=1):
    return _F().triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, eps=eps, swap=swap,
                                    reduction=_reduction(reduction, "triplet_margin_loss"))


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    """``torch.binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1)``
    (``pos_weight`` before ``reduction``, unlike F's)."""
    return _F().binary_cross_entropy_with_logits(input, target, weight=weight, pos_weight=pos_weight,
                                                 reduction=_reduction(reduction, "binary_cross_entropy_with_logits"))


# ------------------------------------------------------------------------------------------- activations, pools
def rrelu(input, lower=0.125, upper=1.0 / 3.0, training=False, generator=None):
    """``torch.rrelu(input, lower, upper, training, generator=None)`` (npgrad's random state: a generator is
    refused)."""
    if generator is not None:
        raise ValueError("rrelu: generator= is not supported: npgrad draws from its global state "
                         "(npg.manual_seed / npg.set_rng_state)")
    return _F().rrelu(input, lower, upper, training)


def adaptive_max_pool1d(input, output_size):
    """``torch.adaptive_max_pool1d(input, output_size)``: ``(values, indices)``."""
    return _F().adaptive_max_pool1d(input, output_size, return_indices=True)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """``torch.max_pool1d_with_indices``: ``(values, indices)``; an empty ``stride`` is ``kernel_size``."""
    s = None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride
    return _F().max_pool1d(input, kernel_size, s, padding, dilation, ceil_mode, return_indices=True)


def constant_pad_nd(input, pad, value=0):
    """``torch.constant_pad_nd(input, pad, value=0)``: ``F.pad(input, pad, 'constant', value)`` (negative pads
    crop)."""
    return _F().pad(input, list(pad), "constant", value)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """``torch.convolution``: ``conv{1,2,3}d`` or ``conv_transpose{1,2,3}d`` by ``weight``'s rank and
    ``transposed``."""
    w = as_input(weight, "convolution")
    nd = w.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"convolution: weight of shape {w.shape}: expected 3, 4 or 5 dims (1-3 spatial)")
    if transposed:
        return getattr(_F(), f"conv_transpose{nd}d")(input, w, bias, stride, padding, output_padding, groups,
                                                     dilation)
    if any(int(p) for p in np.atleast_1d(output_padding)):
        raise ValueError(f"convolution: output_padding {output_padding} is only for a transposed convolution")
    return getattr(_F(), f"conv{nd}d")(input, w, bias, stride, padding, dilation, groups)


_INTERP, _PADDING = ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection")


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    """``torch.grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)`` with aten's ints
    (interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection)."""
    for v, names, what in ((interpolation_mode, _INTERP, "interpolation_mode"), (padding_mode, _PADDING,
                                                                                 "padding_mode")):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < len(names):
            raise ValueError(f"grid_sampler: {what} must be an int in 0..{len(names) - 1} "
                             f"({', '.join(f'{i} {n}' for i, n in enumerate(names))}), got {v!r}")
    return _F().grid_sample(input, grid, mode=_INTERP[interpolation_mode], padding_mode=_PADDING[padding_mode],
                            align_corners=bool(align_corners))


def affine_grid_generator(theta, size, align_corners):
    """``torch.affine_grid_generator(theta, size, align_corners)``."""
    return _F().affine_grid(theta, list(size), align_corners=bool(align_corners))


# ------------------------------------------------------------------------------------------- dropouts
def dropout_(input, p, train):
    """``torch.dropout_(input, p, train)``: dropout written into ``input``."""
    return _F().dropout(input, p, training=train, inplace=True)


def alpha_dropout_(input, p, train):
    return _F().alpha_dropout(input, p, training=train, inplace=True)


def feature_alpha_dropout_(input, p, train):
    return _F().feature_alpha_dropout(input, p, training=train, inplace=True)


def feature_dropout(input, p, train):
    """``torch.feature_dropout(input, p, train)``: whole channels of an (N, C, ...) input zeroed (any rank >= 2,
    no warning)."""
    from ..nn.functional.dropout import _apply
    return _apply(input, p, train, False, True, False, "feature_dropout")


def feature_dropout_(input, p, train):
    from ..nn.functional.dropout import _apply
    return _apply(input, p, train, True, True, False, "feature_dropout")


# ------------------------------------------------------------------------------------------- cells, misc
def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """``torch.lstm_cell(input, (h, c), w_ih, w_hh, b_ih=None, b_hh=None)``: ``(h', c')``."""
    return _F().lstm_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _F().gru_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _F().rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _F().rnn_relu_cell(input, hx, w_ih, w_hh, b_ih, b_hh)


def split_with_sizes(input, split_sizes, dim=0):
    """``torch.split_with_sizes(input, split_sizes, dim=0)``: views of those sizes (they must sum to the
    dim's size)."""
    x = as_input(input, "split_with_sizes")
    sizes = [int(s) for s in split_sizes]
    from ._util import normalize_one_axis
    d = normalize_one_axis(dim, x.ndim, "split_with_sizes")
    if sum(sizes) != x.shape[d] or any(s < 0 for s in sizes):
        raise ValueError(f"split_with_sizes: split_sizes {sizes} must be non-negative and sum to the size "
                         f"{x.shape[d]} of dim {dim} (input shape {x.shape})")
    return x.split(sizes, d)


def mvlgamma(input, p):
    """``torch.mvlgamma(input, p)``: the log multivariate gamma function (``special.multigammaln``)."""
    from .. import special
    return special.multigammaln(input, p)


# ------------------------------------------------------------------------------------------- methods
_INDEX_REDUCE = ("prod", "mean", "amax", "amin")


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``torch.index_reduce``: ``input`` with ``source``'s slices ``i`` along ``dim`` reduced into its slices
    ``index[i]`` (prod mean amax amin; ``include_self=False`` leaves out ``input``'s own values where
    something is reduced in). Built on ``scatter_reduce`` (its gradients: torch's)."""
    x, src = as_input(input, "index_reduce"), as_input(source, "index_reduce")
    if reduce not in _INDEX_REDUCE:
        raise ValueError(f"index_reduce: reduce must be one of {', '.join(map(repr, _INDEX_REDUCE))}, got "
                         f"{reduce!r}")
    from ._util import normalize_one_axis
    if x.ndim == 0:
        normalize_one_axis(dim, 1, "index_reduce")
        return index_reduce(x.reshape(1), 0, index, src.reshape(-1), reduce, include_self=include_self
                            ).reshape(())
    d = normalize_one_axis(dim, x.ndim, "index_reduce")
    idx = np.asarray(index.data if isinstance(index, Tensor) else index)
    if idx.ndim > 1 or idx.dtype not in (np.int32, np.int64):
        raise TypeError(f"index_reduce: index must be a 1-D int32 / int64 tensor, got shape {idx.shape} dtype "
                        f"{idx.dtype}")
    idx = idx.reshape(-1).astype(np.int64)
    s_shape = tuple(src.shape) if src.ndim else (1,)
    if src.ndim == 0:
        src = src.reshape(1)
    want = x.shape[:d] + (idx.size,) + x.shape[d + 1:]
    if s_shape != want:
        raise ValueError(f"index_reduce: source of shape {tuple(src.shape)} does not fit input of shape {x.shape} "
                         f"with {idx.size} indices along dim {dim} (expected {want})")
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[d]):   # (torch takes no negative index here)
        raise IndexError(f"index_reduce: index out of range in self: indices in [{idx.min()}, {idx.max()}] for "
                         f"dim {dim} of size {x.shape[d]}")
    full = np.broadcast_to(idx.reshape((1,) * d + (-1,) + (1,) * (x.ndim - d - 1)), want)
    return x.scatter_reduce(d, full, src, reduce, include_self=include_self)


def _put(self, index, source, accumulate=False):
    """torch's ``put``: ``source`` written (or added, ``accumulate=True``) at the flat positions ``index`` of
    ``self`` taken as 1-D (negative indices count from the end)."""
    x = as_input(self, "put_")
    src = as_input(source, "put_")
    idx = np.asarray(index.data if isinstance(index, Tensor) else index)
    if idx.size and idx.dtype.kind not in "iu":
        raise TypeError(f"put_: index must be an integer tensor, got dtype {idx.dtype}")
    idx = idx.reshape(-1).astype(np.int64)
    if idx.size != src.size:
        raise ValueError(f"put_: index has {idx.size} elements but source has {src.size} (shape "
                         f"{tuple(src.shape)}); they must match")
    n = x.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"put_: index out of range for a tensor of {n} elements (shape {x.shape}): "
                         f"min {idx.min()}, max {idx.max()}")
    idx = np.where(idx < 0, idx + n, idx)
    flat = x.reshape(-1)
    out = flat.index_put((idx,), src.reshape(-1), accumulate=bool(accumulate))
    return out.reshape(x.shape)


Histogram = _collections.namedtuple("histogram", ["hist", "bin_edges"])


def _histogram(self, bins=100, *, range=None, weight=None, density=False):
    """torch's ``x.histogram(bins=100, *, range=None, weight=None, density=False)``: ``(hist, bin_edges)`` in
    the input's float dtype (``bins``: a count or the edges). The counts are constant; the edges and ``density``
    values move with the data as ``npg.histogram``'s (torch raises in backward); a ``weight`` that requires grad
    is refused."""
    from .nondiff import _tracked
    from .nondiff import histogram as np_histogram
    x = as_input(self, "histogram")
    if x.dtype.kind != "f":
        raise TypeError(f"histogram: expected a floating point tensor, got {x.dtype}")
    b = np.asarray(bins.data) if isinstance(bins, Tensor) else bins
    if isinstance(b, np.ndarray) and b.ndim == 0:
        b = int(b)
    if isinstance(b, (int, np.integer)) and b < 1:
        raise ValueError(f"histogram: bins must be at least 1, got {b}")
    if _tracked(weight):
        raise TypeError("histogram: not differentiable in weight; pass weight.detach()")
    w = None if weight is None else np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w is not None and w.shape != x.shape:
        raise ValueError(f"histogram: weight of shape {w.shape} must have the input's shape {x.shape}")
    rng = None if range is None else tuple(float(r) for r in range)
    try:
        hist, edges = np_histogram(x, bins if isinstance(bins, Tensor) and bins.ndim else b, range=rng,
                                   weights=w, density=density)
    except ValueError as e:  # NaN / inf values with no range, range min > max, decreasing edges
        raise ValueError(f"histogram: {e} (input of shape {x.shape}, bins {bins!r}, range {range!r})") from None
    return Histogram(hist.astype(x.dtype), edges.astype(x.dtype))


def attach(T):
    from . import inplace
    T.index_reduce = index_reduce
    T.index_reduce_ = inplace.method("index_reduce_", index_reduce)
    T.put_ = inplace.method("put_", _put)
    T.histogram = _histogram
