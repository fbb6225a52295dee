"""Batching rules for the neural-network layers, and the fast per-sample gradients of ``vmap(grad)``.

``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` differentiates with respect to parameters that
are the same for every sample. ``func_vmap.lifted`` gives each sample its own copy of them so that the
gradient comes out per sample, but the copy is a stride-0 broadcast (no memory, and a mark: every slice
along the batch axis is the same array). The rules here detect such a *shared* operand and run the layer
ONCE over the whole batch with the one weight (one GEMM, one convolution), recorded as an op whose VJPs
still give the per-sample weight gradients: a batched outer product / GEMM of the saved input and the
output gradient per sample (for a convolution: the unfolded input of each sample times its output
gradient). On the ``create_graph`` path (higher-order derivatives) those VJPs switch to per-sample
formulas built from differentiable ops, so every order stays exact: for a matmul again a shared matmul, for
a convolution one grouped convolution whose groups are the samples (no loop over the batch).

Layers whose per-sample input carries its own batch axis (N, C, ...) fold the vmap batch into N
(convolution, pooling, normalization, cross-entropy); their per-channel affine parameters are applied as
batched elementwise ops, whose gradients are per sample by construction.
"""
import math

import numpy as np

from ._batching import batching_rule
from .func_vmap import RULES, BatchedTensor, _at, _batched, _expand, _pad
from .tensor import Tensor, _make, _wrap

__all__ = ["shared", "shared_matmul"]


def shared(t):
    """Whether ``t`` (a plain tensor, batch axis in front) holds the same values for every sample: a stride-0
    broadcast along the batch axis (or a batch of one)."""
    if type(t) is BatchedTensor or not isinstance(t, Tensor):
        return False
    d = t.data
    return d.ndim > 0 and d.shape[0] > 0 and (d.shape[0] == 1 or d.strides[0] == 0)


def _size(args, level):
    for a in args:
        if type(a) is BatchedTensor and a._level == level:
            return a._inner.shape[0]


# ----------------------------------------------------------------------------------- matmul
@batching_rule("shared_matmul")
def shared_matmul(a, b):
    """``a @ b`` for ``a`` (B, ..., k) and a shared ``b`` (B, 1, ..., 1, k, m): one GEMM with ``b[0]`` over
    every row of ``a``; the gradient for ``b`` is per sample (B, 1, ..., k, m). Its VJPs work on arrays (plain
    backward) and on Tensors (create_graph: the input gradient is again a shared matmul, so derivatives of
    any order stay per sample)."""
    from .ops.contract import _MM_JVPS
    ad, bd = a.data, b.data
    B, k, m = bd.shape[0], bd.shape[-2], bd.shape[-1]
    w = bd[(0,) * (bd.ndim - 2)]
    lead = ad.shape[:-1]
    out = np.matmul(ad.reshape(math.prod(lead), k), w).reshape(lead + (m,))   # (not -1: k may be 0)
    rows = math.prod(lead) // B if B else 0

    def vjp_a(g, y, a, b):
        if isinstance(b, Tensor):
            return shared_matmul(g, b.swapaxes(-1, -2))
        return np.matmul(g.reshape(math.prod(g.shape[:-1]), m), b[(0,) * (b.ndim - 2)].T).reshape(a.shape)

    def vjp_b(g, y, a, b):
        if rows == 1:  # one row per sample: the outer products (einsum: 15.3 ms against 17.5 for a broadcast
            gw = np.einsum("bi,bj->bij", a.reshape(B, k), g.reshape(B, m))   # multiply at 64 x 784 x 512)
        else:
            gw = np.matmul(a.reshape(B, rows, k).swapaxes(1, 2), g.reshape(B, rows, m))
        return gw.reshape(b.shape)

    return _make(out, "matmul", (a, b), (ad, bd), (vjp_a, vjp_b), _MM_JVPS)


def _shared_matmul_rule(op, level, args, kwargs):
    """shared_matmul inside a further vmap (its create_graph VJP under jacrev / hessian, batched cotangents):
    that vmap's batch L goes after the sample axis, (B, L, ..., k) against the shared (B, 1, 1, ..., k, m),
    still one GEMM with per-sample weight gradients; a ``b`` batched at this level is an ordinary matmul."""
    from .ops import expand_dims, matmul, moveaxis
    a, b = args
    if _at(b, level)[1] or not _at(a, level)[1]:
        return matmul(a, b)
    return _batched(moveaxis(op(moveaxis(a._inner, 0, 1), expand_dims(b, 1)), 1, 0), level)


def try_shared_matmul(ia, ib):
    """The shared fast path of the matmul rule for padded operands ``ia`` (B, ..., n, k) and ``ib``
    (B, ..., k, m), or None when neither operand is a shared weight."""
    def ok(a, w):
        return (isinstance(a, Tensor) and type(a) is not BatchedTensor and shared(w) and w.ndim == a.ndim
                and all(s == 1 for s in w.shape[1:-2]) and a.shape[0] == w.shape[0] and a.shape[-1] == w.shape[-2])
    if ok(ia, ib):
        return shared_matmul(ia, ib)
    if ok(ib.swapaxes(-1, -2) if isinstance(ib, Tensor) and type(ib) is not BatchedTensor else None,
          ia.swapaxes(-1, -2) if shared(ia) else None):
        return shared_matmul(ib.swapaxes(-1, -2), ia.swapaxes(-1, -2)).swapaxes(-1, -2)
    return None


# ------------------------------------------------------------------------------ convolution
def _shared_conv(x, w, B, geom):
    """Convolution of ``x`` (B*n, C, *L) (sample b owns rows b*n .. b*n+n-1) with a shared weight ``w``
    (B, O, C/G, *K): one convolution with ``w[0]``; the weight gradient is per sample. The VJPs on Tensors
    (create_graph) and the JVPs keep every sample's own weight (its derivative is per sample) as the groups
    of one grouped convolution, so nothing loops over the samples."""
    from .ops import conv as cv
    xd, wd = x.data, w.data
    n = xd.shape[0] // B
    out = cv._conv_raw(xd, wd[0], None, geom)
    L, K = xd.shape[2:], wd.shape[3:]

    def vjp_x(g, y, x, w):   # (an array weight takes no gradient: its one sample w[0] for every row)
        if isinstance(w, np.ndarray):
            return cv._conv_transpose_any(g, w[0], None, geom, L)
        return _grouped_conv_transpose(g, w, B, n, geom, L)

    def vjp_w(g, y, x, w):
        if isinstance(x, np.ndarray) and isinstance(g, np.ndarray):
            return _per_sample_conv_weight(x, g, geom, K, B)
        return _grouped_conv_weight(x, g, B, n, geom, K)

    def jvp_x(t, y, x, w):
        if isinstance(w, np.ndarray):
            return cv._conv_any(t, w[0], None, geom)
        return _grouped_conv(t, w, B, n, geom)

    jvps = (jvp_x, lambda t, y, x, w: _grouped_conv(x, t, B, n, geom))
    return _make(out, cv._name("conv", len(K)), (x, w), (xd, wd), (vjp_x, vjp_w), jvps)


# The B samples of a folded batch (B*n, C, *L) as the groups of one grouped convolution: each operand
# (B*n, C, *L) -> (n, B*C, *L) (sample b's channels are b*C .. b*C+C-1), the weights (B, O, C/G, *K) ->
# (B*O, C/G, *K), groups G*B; NumPy on arrays, npgrad's differentiable ops on Tensors (any order).
def _to_groups(v, B, n):
    shape = (B, n) + tuple(v.shape[1:])
    flat = (n, B * v.shape[1]) + tuple(v.shape[2:])
    if isinstance(v, Tensor):
        from .ops import moveaxis
        return moveaxis(v.reshape(shape), 0, 1).reshape(flat)
    return np.moveaxis(np.reshape(v, shape), 0, 1).reshape(flat)


def _from_groups(o, B, n):
    """(n, B*O, *out) -> (B*n, O, *out)."""
    shape = (n, B, o.shape[1] // B) + tuple(o.shape[2:])
    flat = (B * n, o.shape[1] // B) + tuple(o.shape[2:])
    if isinstance(o, Tensor):
        from .ops import moveaxis
        return moveaxis(o.reshape(shape), 1, 0).reshape(flat)
    return np.moveaxis(np.reshape(o, shape), 1, 0).reshape(flat)


def _merge_w(w):
    return w.reshape((w.shape[0] * w.shape[1],) + tuple(w.shape[2:]))


def _by_groups(geom, B):
    s, d, lo, hi, G = geom
    return s, d, lo, hi, G * B


def _grouped_conv(x, w, B, n, geom):
    """Sample b's rows of ``x`` (B*n, C, *L) convolved with its own weight ``w[b]``: (B*n, O, *out)."""
    from .ops import conv as cv
    return _from_groups(cv._conv_any(_to_groups(x, B, n), _merge_w(w), None, _by_groups(geom, B)), B, n)


def _grouped_conv_transpose(g, w, B, n, geom, L):
    """The input gradient of ``_grouped_conv``: ``g`` (B*n, O, *out) -> (B*n, C, *L)."""
    from .ops import conv as cv
    return _from_groups(cv._conv_transpose_any(_to_groups(g, B, n), _merge_w(w), None, _by_groups(geom, B), L),
                        B, n)


def _grouped_conv_weight(x, g, B, n, geom, K):
    """The weight gradient of ``_grouped_conv``, per sample: (B, O, C/G, *K)."""
    from .ops import conv as cv
    dw = cv._conv_weight_any(_to_groups(x, B, n), _to_groups(g, B, n), _by_groups(geom, B), K)
    return dw.reshape((B, dw.shape[0] // B) + tuple(dw.shape[1:]))


def _per_sample_conv_weight(xd, gd, geom, K, B):
    """The weight gradient of each sample: x (B*n, C, *L), g (B*n, O, *out) -> (B, O, C/G, *K): each sample's
    unfolded input (one strided copy, sample-major) times its output gradient, one batched GEMM.

    The GEMM is dw^T = cols @ g^T with both operands C-contiguous, and dw is returned as a transposed view
    of it: NumPy's stacked matmul is 2-3x slower when an operand is a transposed view (and slower still on
    a batch-last one, which is not BLAS-able at all). The DP digits CNN's 32 -> 32 channel 8x8 layer, batch
    64, two threads: 1.86 ms for g (a batch-last view) @ cols^T -> 0.29 ms to copy g^T + 0.67 ms."""
    from numpy.lib.stride_tricks import as_strided
    from .ops import _conv_geometry as cg
    s, d, lo, hi, G = geom
    N, C = xd.shape[:2]
    n, Cg = N // B, C // G
    O = gd.shape[1]
    out = tuple(gd.shape[2:])
    P, CK = math.prod(out), Cg * math.prod(K)
    xp = cg._padded(xd, lo, cg._span(out, K, s, d))
    st = xp.strides
    win = as_strided(xp, (N, G, Cg) + tuple(K) + out,
                     (st[0], Cg * st[1], st[1]) + tuple(a * di for a, di in zip(st[2:], d))
                     + tuple(a * si for a, si in zip(st[2:], s)), writeable=False)
    cols = win.reshape(B, n, G, CK, P)
    gg = gd.reshape((B, n, G, O // G) + out)
    gg = gg.transpose((0, 2) + tuple(range(4, 4 + len(out))) + (1, 3))     # (B, G, *out, n, O/G)
    if n > 1:   # a sample's own rows side by side with its positions
        cols = cols.transpose(0, 2, 3, 4, 1).reshape(B, G, CK, P * n)
    else:
        cols = cols.reshape(B, G, CK, P)
    ggT = np.ascontiguousarray(gg).reshape(B, G, P * n, O // G)
    dwT = np.matmul(cols, ggT)                                  # (B, G, Cg*K, O/G)
    return dwT.swapaxes(-1, -2).reshape((B, O, Cg) + tuple(K))  # (a view: merging G, O/G and splitting Cg*K)


def _fold(ix, per_ndim, nd, B):
    """The batched input (B, *per) as one convolution batch: (B*N, C, *L) for a per-sample (N, C, *L), or
    (B, C, *L) for a per-sample (C, *L); returns (folded, N or None)."""
    if per_ndim == nd + 2:
        N = ix.shape[1]
        return ix.reshape((B * N,) + tuple(ix.shape[2:])), N
    return ix, None


def _unfold(out, B, N):
    if N is None:
        return out
    return out.reshape((B, N) + tuple(out.shape[1:]))


def _conv_rule(op, level, args, kwargs):
    x, w, b = args
    kw = dict(kwargs)
    nd = kw.pop("nd")
    if x.ndim not in (nd + 1, nd + 2) or w.ndim != nd + 2:
        return NotImplemented        # the op itself reports the bad shapes (in the loop fallback)
    B = _size(args, level)
    ix, bx = _at(x, level)
    iw, bw = _at(w, level)
    ib, bb = _at(b, level)
    if not bx:
        ix = _expand(ix, B)
    xf, N = _fold(ix, x.ndim, nd, B)
    if not bw:
        out = op(nd, xf, iw, None if bb else ib, **kw)
    elif shared(iw) and type(xf) is not BatchedTensor:
        from .ops import conv as cv
        geom = cv._conv_geom(cv._name("conv", nd), nd, xf.data, iw.data[0], None, kw["stride"], kw["padding"],
                             kw["dilation"], kw["groups"])
        out = _shared_conv(xf, iw, B, geom)
    else:  # a weight per sample: the samples become groups of one grouped convolution
        n = 1 if N is None else N
        out = _from_groups(op(nd, _to_groups(xf, B, n), _merge_w(iw), None, **dict(kw, groups=kw["groups"] * B)),
                           B, n)
    out = _unfold(out, B, N)
    res = _batched(out, level)
    if bb or (bw and b is not None):  # a batched weight's branches above leave the bias out, batched or not
        res = res + b.reshape((-1,) + (1,) * nd)
    return res


# ---------------------------------------------------------------------- pooling and friends
def _fold_rule(op, level, args, kwargs):
    """A parameter-free op over (N, C, *L) or (C, *L): the vmap batch folded into N."""
    x = args[0]
    nd = kwargs["nd"]
    if x.ndim not in (nd + 1, nd + 2):
        return NotImplemented
    B = x._inner.shape[0]
    xf, N = _fold(x._inner, x.ndim, nd, B)
    out = op(xf)
    if isinstance(out, tuple):
        return tuple(_batched(_unfold(o, B, N), level) for o in out)
    return _batched(_unfold(out, B, N), level)


# --------------------------------------------------------------------------------- losses
def _cross_entropy_rule(op, level, args, kwargs):
    x, target = args
    weight = kwargs.get("weight")
    reduction = kwargs.get("reduction", "mean")
    ix, bx = _at(x, level)
    it, bt = _at(target, level)
    if (type(weight) is BatchedTensor or reduction not in ("mean", "sum", "none") or np.ndim(x) == 0
            or not (bx or bt)):
        return NotImplemented
    B = ix.shape[0] if bx else it.shape[0]
    if not bx:                               # one input for every sample's target: repeated (a view)
        ix = _expand(x if isinstance(x, Tensor) else _wrap(np.asarray(x)), B)
    td = it.data if isinstance(it, Tensor) and type(it) is not BatchedTensor else it
    if type(td) is BatchedTensor:
        return NotImplemented
    td = np.asarray(td)
    if not bt:
        td = np.broadcast_to(td, (B,) + td.shape)
    prob = td.dtype.kind == "f"
    tsrc = td
    if prob and type(it) is not BatchedTensor and isinstance(it, Tensor) and it._requires_grad:
        from .ops.shape import broadcast_to   # a differentiable probability target: kept in the graph
        tsrc = it if bt else broadcast_to(it, td.shape)
    if x.ndim == 1:                          # per-sample (C,): the batch is the loss's N
        xf, tf, N = ix, tsrc, 1
    else:
        N = x.shape[0]
        xf = ix.reshape((B * N,) + tuple(x.shape[1:]))
        tf = tsrc.reshape((B * N,) + td.shape[2:])
    kw = dict(kwargs, reduction="none")
    loss = op(xf, tf, **kw)                  # per element
    loss = loss.reshape((B, -1))
    if reduction == "none":
        out = loss.reshape((B,) + (() if x.ndim == 1 else tuple(td.shape[1:]) if not prob
                                   else (x.shape[0],) + tuple(x.shape[2:])))
        return _batched(out, level)
    total = loss.sum(axis=1)
    if reduction == "sum":
        return _batched(total, level)
    if prob:
        denom = np.full(B, loss.shape[1], dtype=loss.dtype)
    else:
        from .nn.functional._common import _data
        ignore = kwargs.get("ignore_index", -100)
        valid = td != ignore
        if isinstance(weight, Tensor) and weight._requires_grad:   # its gradient through the mean's divisor too
            denom = (weight[np.where(valid, td, 0)] * valid).reshape((B, -1)).sum(axis=1).astype(loss.dtype)
        else:
            wd = None if weight is None else _data(weight)
            w_t = valid.astype(loss.dtype) if wd is None else np.where(valid, wd[np.where(valid, td, 0)], 0)
            denom = w_t.reshape(B, -1).sum(axis=1).astype(loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _batched(total / denom, level)


# --------------------------------------------------------------------------- normalization
def _affine(y, weight, bias, ndim_lead):
    """``y * weight + bias`` on the batched result, the (C,) or normalized-shape parameters reshaped by
    ``ndim_lead`` (how many trailing singleton axes they need)."""
    if weight is not None:
        y = y * (weight.reshape((-1,) + (1,) * ndim_lead) if ndim_lead else weight)
    if bias is not None:
        y = y + (bias.reshape((-1,) + (1,) * ndim_lead) if ndim_lead else bias)
    return y


def _batched_at(v, level):
    return type(v) is BatchedTensor and v._level == level


_BN_TRAIN = ("vmap: batch_norm in training mode with running statistics got a batched input: it would update "
             "the running_mean / running_var buffers in place with the statistics of the whole vmap batch, "
             "which vmap cannot do per sample (torch.func raises here too). Use GroupNorm (or LayerNorm) "
             "instead, put the model in eval mode (model.eval()) to normalize with the running statistics, or "
             "replace the batch norms by ones without running statistics (track_running_stats=False, as "
             "torch.func.replace_all_batch_norm_modules_ does).")


def _batch_norm_rule(op, level, args, kwargs):
    x, rm, rv, weight, bias = args
    training = kwargs.get("training", False)
    eps = kwargs.get("eps", 1e-5)
    if _batched_at(rm, level) or _batched_at(rv, level) or x.ndim < 2:
        return NotImplemented
    if training and (rm is not None or rv is not None):
        raise RuntimeError(_BN_TRAIN)
    ix, bx = _at(x, level)
    if not bx:
        ix = _expand(ix, _size(args, level))
    B = ix.shape[0]
    affine_batched = _batched_at(weight, level) or _batched_at(bias, level)
    w0, b0 = (None, None) if affine_batched else (weight, bias)
    if training:  # each sample's own batch statistics, over its (N, *L)
        xb = _batched(ix, level)
        axes = (0,) + tuple(range(2, x.ndim))
        mu = xb.mean(axis=axes, keepdims=True)
        xc = xb - mu
        y = xc / ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** 0.5
    else:
        N = x.shape[0]
        out = op(ix.reshape((B * N,) + tuple(x.shape[1:])), rm, rv, w0, b0, training=False, eps=eps)
        y = _batched(out.reshape(ix.shape), level)
        if not affine_batched:
            return y
    return _affine(y, weight, bias, x.ndim - 2)


def _group_norm_rule(op, level, args, kwargs):
    x, weight, bias = args
    if x.ndim < 2 or not _batched_at(x, level):
        return NotImplemented
    ix = x._inner
    B, N = ix.shape[:2]
    affine_batched = _batched_at(weight, level) or _batched_at(bias, level)
    w0, b0 = (None, None) if affine_batched else (weight, bias)
    out = op(ix.reshape((B * N,) + tuple(x.shape[1:])), kwargs["num_groups"], w0, b0, kwargs.get("eps", 1e-5))
    y = _batched(out.reshape(ix.shape), level)
    return _affine(y, weight, bias, x.ndim - 2) if affine_batched else y


def _layer_norm_rule(op, level, args, kwargs):
    x, weight, bias = args
    if not _batched_at(x, level):
        return NotImplemented
    affine_batched = _batched_at(weight, level) or _batched_at(bias, level)
    w0, b0 = (None, None) if affine_batched else (weight, bias)
    y = _batched(op(x._inner, kwargs["normalized_shape"], w0, b0, kwargs.get("eps", 1e-5)), level)
    return _affine(y, weight, bias, 0) if affine_batched else y


RULES.update({"shared_matmul": _shared_matmul_rule, "conv": _conv_rule, "fold": _fold_rule,
              "cross_entropy": _cross_entropy_rule,
              "batch_norm": _batch_norm_rule, "group_norm": _group_norm_rule, "layer_norm": _layer_norm_rule})


# ------------------------------------------------------------------- softmax, attention, embedding
def _softmax_rule(op, level, args, kwargs):
    """softmax / log_softmax: the per-sample ``dim`` shifted past the batch axis."""
    from .nn.functional.activation import _softmax_dim
    x = args[0]
    if not _batched_at(x, level) or x.ndim == 0:
        return NotImplemented
    ax = _softmax_dim(x.ndim, kwargs.get("dim"), op.__name__)
    return _batched(op(x._inner, dim=ax + 1, dtype=kwargs.get("dtype")), level)


def _sdpa_rule(op, level, args, kwargs):
    """scaled_dot_product_attention over (..., L, E) samples: the batch is one more leading dim; unbatched
    operands are broadcast, a batched mask gets singleton axes after the batch axis."""
    q, k, v, mask = args
    B = _size(args, level)
    nd = max(t.ndim for t in (q, k, v))
    inner = []
    for t in (q, k, v):
        it, bt = _at(t, level)
        inner.append(_pad(it if bt else _expand(it, B), nd - t.ndim))
    im, bm = _at(mask, level)
    if bm:
        im = _pad(im, nd - mask.ndim)
    return _batched(op(*inner, attn_mask=im, **kwargs), level)


def _embedding_rule(op, level, args, kwargs):
    idx, weight = args
    if kwargs.get("max_norm") is not None or kwargs.get("scale_grad_by_freq") or kwargs.get("sparse"):
        return NotImplemented
    ii, bi = _at(idx, level)
    iw, bw = _at(weight, level)
    if not bw:
        return _batched(op(ii, iw, padding_idx=kwargs.get("padding_idx")), level)
    from .ops import where
    B = iw.shape[0]
    V = iw.shape[1]
    idd = np.asarray(ii.data if isinstance(ii, Tensor) else ii)
    if type(ii) is BatchedTensor or idd.dtype.kind not in "iu":
        return NotImplemented
    if not bi:
        idd = np.broadcast_to(idd, (B,) + idd.shape)
    if idd.size and (idd.min() < 0 or idd.max() >= V):
        return NotImplemented   # the op reports the index out of range
    rows = np.arange(B).reshape((B,) + (1,) * (idd.ndim - 1))
    out = iw[rows, idd]                        # (B, ..., D): each sample reads its own table
    pad = kwargs.get("padding_idx")
    if pad is not None:                        # the padding row gets no gradient
        keep = np.expand_dims(idd != (pad % V), -1)
        out = where(keep, out, out.detach())
    return _batched(out, level)


RULES.update({"softmax": _softmax_rule, "sdpa": _sdpa_rule, "embedding": _embedding_rule})
