"""Losses: cross-entropy, NLL, MSE, L1, smooth L1, with PyTorch's reductions and warnings (the binary
cross-entropies: loss_binary.py)."""
import warnings

import numpy as np

from ...ops import elementwise as _ew
from ...ops._util import acc_sum, as_input, div_count, in_graph, number_arg
from ...ops._util import batching_rule as _batching_rule
from ...autograd import versions as _versions
from ...tensor import Tensor, _make
from .activation import log_softmax, softmax
from . import loss_weighted as _lw
from ._common import _data, _is_graph, _legacy_reduction, _no_complex, _pointwise_target

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)


# -------------------------------------------------------------------------------- losses
def _check_reduction(reduction, name):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _class_targets(td, n_classes, ignore_index, name):
    valid = td != ignore_index
    tc = np.where(valid, td, 0)
    if tc.size and (tc.min() < 0 or tc.max() >= n_classes):
        bad = tc[(tc < 0) | (tc >= n_classes)].flat[0]
        raise IndexError(f"{name}: target {bad} is out of bounds for {n_classes} classes")
    return valid, tc


def _at_targets(a, tc):
    """The entries of classes-last ``a`` (N, ..., C) at the target classes ``tc`` (N, ...)."""
    if a.ndim == 2:  # plain fancy indexing: several times faster than take_along_axis for small batches
        return a[np.arange(a.shape[0]), tc]
    return np.take_along_axis(a, tc[..., None], axis=-1)[..., 0]


def _set_at_targets(a, tc, v):
    """Write ``v`` (shaped like ``tc``) into classes-last ``a`` at the target classes."""
    if a.ndim == 2:
        a[np.arange(a.shape[0]), tc] = v
    else:
        np.put_along_axis(a, tc[..., None], np.asarray(v)[..., None], axis=-1)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy between logits ``input`` (N, C) / (N, C, d1, ...) / (C,) and ``target``:
    class indices (N, d1, ...) or class probabilities (same shape as ``input``), as ``F.cross_entropy``
    (``weight``, ``ignore_index``, ``label_smoothing``, ``reduction``). Finite for logits of any size.
    ``label_smoothing`` may be a 0-d Tensor that requires grad: the result is then differentiable in it."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "cross_entropy")
    if label_smoothing.__class__ is not float and isinstance(label_smoothing, Tensor):
        if in_graph(label_smoothing):
            return _lw.smoothing_tensor(cross_entropy, input, target, weight, ignore_index, reduction,
                                       label_smoothing)
        label_smoothing = number_arg(label_smoothing, "cross_entropy", "label_smoothing")
    if _tm._VMAP:
        r = _tm._vmap_call("cross_entropy", cross_entropy, (input, target),
                           dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                                label_smoothing=label_smoothing))
        if r is not NotImplemented:
            return r
    _check_reduction(reduction, "cross_entropy")
    x = as_input(input, "cross_entropy")
    xd = x.data
    if xd.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input must be floating point, not {xd.dtype}")
    td = _data(target)
    prob = td.dtype.kind == "f"
    if xd.ndim == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension (the classes)")
    if xd.ndim == 1:  # unbatched
        if (prob and td.shape != xd.shape) or (not prob and td.ndim != 0):
            raise ValueError(f"cross_entropy: unbatched input of shape {xd.shape} needs a target of shape "
                             f"{'(C,)' if prob else '()'}, got {td.shape}")
        out = cross_entropy(x.reshape(1, -1), target.reshape(1, -1) if isinstance(target, Tensor) and prob
                            else td.reshape(1, -1) if prob else td.reshape(1), weight, None, ignore_index, None,
                            reduction, label_smoothing)
        return out.reshape(()) if reduction == "none" else out
    C = xd.shape[1]
    if C == 0:  # (no softmax over no classes; torch: "target out of bounds", or nan / -0 for probabilities)
        raise ValueError(f"cross_entropy: the input of shape {xd.shape} has no classes (its dimension 1 is 0)")
    if prob:
        if td.shape != xd.shape:
            raise ValueError(f"cross_entropy: probability target of shape {td.shape} must match input {xd.shape}")
        if ignore_index >= 0:  # (PyTorch's refusal: no class index to compare it with; negative ones pass)
            raise ValueError(f"cross_entropy: ignore_index is not supported for probability (floating point) "
                             f"targets, got ignore_index={ignore_index}")
    elif td.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: class-index targets must be integers, not {td.dtype}")
    elif td.shape != (xd.shape[0],) + xd.shape[2:]:
        raise ValueError(f"cross_entropy: target of shape {td.shape} does not match input of shape {xd.shape} "
                         f"(expected {(xd.shape[0],) + xd.shape[2:]})")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    eps = float(label_smoothing)
    if _lw.needs_grad(weight):
        # class weights that require grad get their gradient (PyTorch has none for index targets: it raises)
        return _lw.cross_entropy_weighted(x, target, td, prob, weight, C, eps, ignore_index, reduction)
    if xd.ndim == 2 and not prob and weight is None and not eps and _plain_targets(td, C, ignore_index):
        return _cross_entropy_plain(x, xd, td, reduction)
    dt = xd.dtype
    wd = None if weight is None else _data(weight).astype(dt, copy=False)
    if wd is not None and wd.shape != (C,):
        raise ValueError(f"cross_entropy: weight of shape {wd.shape} for {C} classes")

    # classes last, as a view
    xm = xd if xd.ndim == 2 else np.moveaxis(xd, 1, -1)
    z, p, s = _softmax_parts(xm)
    log_s = np.log(s)
    if prob:
        tm = td if td.ndim == 2 else np.moveaxis(td, 1, -1)
        q = tm.astype(dt, copy=False)
        if eps:
            q = q * (1 - eps) + eps / C
        a = q if wd is None else q * wd          # per-class coefficients a_ic, loss_i = -sum_c a_ic logp_ic
        loss = -((z - log_s) * a).sum(axis=-1)
        A = a.sum(axis=-1, keepdims=True)
        denom = loss.size
    else:
        valid, tc = _class_targets(td, C, ignore_index, "cross_entropy")
        w_t = valid.astype(dt) if wd is None else np.where(valid, wd[tc], 0).astype(dt)
        z_t = _at_targets(z, tc)
        # an ignored target contributes exactly 0, as torch's kernel skips it (0 * inf would be nan where its
        # row's class-0 logit, read in its place, is -inf: masked logits)
        with np.errstate(invalid="ignore"):  # (the nan computed for an ignored target is dropped)
            loss = np.where(valid, (1 - eps) * w_t * (log_s[..., 0] - z_t), 0)
        if eps:
            sum_w = C if wd is None else wd.sum()
            zw = z.sum(axis=-1) if wd is None else z @ wd
            smooth = np.where(valid, sum_w * log_s[..., 0] - zw, 0)
            loss = loss + (eps / C) * smooth
            A = ((1 - eps) * w_t + np.where(valid, eps / C * sum_w, 0))[..., None]
        else:
            A = w_t[..., None]
        denom = acc_sum(w_t)   # (float16: in float32, as the sum below, past 65504)
    loss = loss.astype(dt, copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == "mean":
            out = np.asarray(acc_sum(loss) / denom, dtype=dt)
        elif reduction == "sum":
            out = np.asarray(loss.sum(), dtype=dt)
        else:
            out = loss

    def coef(g, axis):  # the output gradient per sample, broadcast over the class axis
        if reduction == "none":
            return np.expand_dims(g, axis)
        return div_count(g, denom) if reduction == "mean" else g

    def dense_a():  # a_ic for index targets, classes last
        a = np.zeros(z.shape, dtype=dt)
        _set_at_targets(a, tc, (1 - eps) * w_t)
        if eps:
            a += np.where(valid[..., None], (eps / C) * (1 if wd is None else wd), 0).astype(dt)
        return a

    def last(v):  # input layout -> classes last
        return v if xd.ndim == 2 else np.moveaxis(v, 1, -1)

    def first(v):  # classes last -> input layout
        return v if xd.ndim == 2 else np.moveaxis(v, -1, 1)

    def vjp_x(g, y, x, t):
        if _is_graph(x):  # create_graph: everything recomputed with differentiable ops
            pm = last(softmax(x, dim=1))
            if not prob:
                am = dense_a()
            else:
                am = last(t) * (1 - eps) + eps / C if eps else last(t)
                am = am if wd is None else am * wd
            return first((pm * am.sum(axis=-1, keepdims=True) - am) * coef(g, -1))
        gm = p * A
        if prob or eps:
            gm -= a if prob else dense_a()
        else:
            _set_at_targets(gm, tc, _at_targets(gm, tc) - w_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = coef(g, -1)
            gm *= c
        if not prob and not np.isfinite(c).all():  # (a 0 denominator, an infinite g): ignored rows get 0, as torch
            gm = np.where(valid[..., None], gm, 0)
        return first(gm)

    def vjp_t(g, y, x, t):  # probability targets: d loss / d t_ic = -(1 - eps) w_c logp_ic
        logp = log_softmax(x, dim=1) if _is_graph(x) else first(z - log_s)
        w = 1.0 if wd is None else wd.reshape((C,) + (1,) * (xd.ndim - 2))
        return (-(1 - eps) * w) * logp * coef(g, 1)

    if prob:
        return _make(out, "cross_entropy", (x, target), (xd, td), (vjp_x, vjp_t),
                     _loss_jvps((vjp_x, vjp_t), reduction, 1))
    return _make(out, "cross_entropy", (x, td), (xd, td), (vjp_x, None), _loss_jvps((vjp_x, None), reduction, 1))


# What the VJPs read (npgrad/autograd/versions.py): the input and target (the create_graph path recomputes from
# them), never the output, so a loss of reduction 'none' may be scaled in place (``loss *= mask``) as in torch
_versions.reads("cross_entropy", "ab", "ab")


def _softmax_parts(xm):
    """Of classes-last logits ``xm``: z (the logits minus their maximum), the softmax (kept for the backward
    pass) and the sums of exp(z), so that log-softmax = z - log(s), finite for logits of any size."""
    z = xm - np.maximum.reduce(xm, axis=-1, keepdims=True)  # (the ufuncs' reductions: no ndarray.max/.sum dispatch)
    p = np.exp(z)
    s = np.add.reduce(p, axis=-1, keepdims=True)
    p /= s
    return z, p, s


def _plain_targets(td, n_classes, ignore_index):
    """Whether every class index in ``td`` is a valid class and none can be ``ignore_index``."""
    return (td.size > 0 and not 0 <= ignore_index < n_classes and np.minimum.reduce(td, axis=None) >= 0
            and np.maximum.reduce(td, axis=None) < n_classes)


def _cross_entropy_plain(x, xd, td, reduction):
    """cross_entropy's common case in fewer NumPy passes: logits (N, C), valid class indices, no weight, no
    label smoothing. loss_i = log(sum_c exp z_ic) - z_i,target (z: the logits minus their row maximum);
    d loss_i / d x_ic = softmax_ic - [c == target_i]."""
    rows = np.arange(xd.shape[0])
    z, p, s = _softmax_parts(xd)
    loss = np.log(s[:, 0]) - z[rows, td]
    n = xd.shape[0]
    total = None if reduction == "none" else acc_sum(loss, axis=None)   # (float16: in float32)
    out = loss if total is None else np.asarray(total / n if reduction == "mean" else total, dtype=xd.dtype)

    def vjp_x(g, y, x, t):
        c = _coef(g, reduction, n)
        if _is_graph(x):  # create_graph: softmax recomputed with differentiable ops
            return (softmax(x, dim=1) - np.eye(x.shape[1], dtype=xd.dtype)[td]) * c
        gm = p * c
        gm[rows, td] -= c if np.ndim(c) == 0 else c[:, 0]
        return gm

    return _make(out, "cross_entropy", (x, td), (xd, td), (vjp_x, None), _loss_jvps((vjp_x, None), reduction, 1))


def _coef(g, reduction, n):
    """The output gradient per sample, (N, 1) for reduction 'none'."""
    if reduction == "none":
        return g[:, None]
    return div_count(g, n) if reduction == "mean" else g


@_batching_rule("nll_loss")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "nll_loss")
    _check_reduction(reduction, "nll_loss")
    x = as_input(input, "nll_loss")
    _no_complex("nll_loss", x, weight)
    xd = x.data
    td = _data(target)
    if xd.ndim == 1:
        if td.ndim != 0:  # (torch computes a (1,) target's value, then its backward raises "size mismatch")
            raise ValueError(f"nll_loss: unbatched input of shape {xd.shape} needs a target of shape (), "
                             f"got {td.shape}")
        out = nll_loss(x.reshape(1, -1), td.reshape(1), weight, None, ignore_index, None, reduction)
        return out.reshape(()) if reduction == "none" else out
    if td.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: targets must be integers, not {td.dtype}")
    if xd.ndim < 2 or td.shape != (xd.shape[0],) + xd.shape[2:]:
        raise ValueError(f"nll_loss: target of shape {td.shape} does not match input of shape {xd.shape}")
    C = xd.shape[1]
    dt = xd.dtype
    if weight is not None and np.shape(_data(weight)) != (C,):
        raise ValueError(f"nll_loss: weight of shape {np.shape(_data(weight))} for {C} classes (expected ({C},))")
    valid, tc = _class_targets(td, C, ignore_index, "nll_loss")
    if _lw.needs_grad(weight):
        return _lw.nll_loss_weighted(x, valid, tc, weight, C, reduction)
    wd = None if weight is None else _data(weight).astype(dt, copy=False)
    w_t = valid.astype(dt) if wd is None else np.where(valid, wd[tc], 0).astype(dt)
    xm = xd if xd.ndim == 2 else np.moveaxis(xd, 1, -1)  # classes last, as a view
    picked = _at_targets(xm, tc)
    with np.errstate(invalid="ignore"):  # an ignored target: exactly 0, even where it reads a -inf (0 * -inf)
        loss = np.where(valid, -w_t * picked, 0)
    denom = acc_sum(w_t)   # (float16: numerator and denominator in float32, past 65504)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (np.asarray(acc_sum(loss) / denom, dtype=dt) if reduction == "mean" else
               np.asarray(loss.sum(), dtype=dt) if reduction == "sum" else loss.astype(dt, copy=False))
    a = np.zeros(xm.shape, dtype=dt)
    _set_at_targets(a, tc, w_t)
    if xd.ndim > 2:
        a = np.moveaxis(a, -1, 1)

    def vjp(g, y, x, t):
        if reduction == "none":
            g = np.expand_dims(g, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if reduction == "mean":
                g = div_count(g, denom)
            out = -a * g
        if not isinstance(g, Tensor) and not np.isfinite(g).all():
            # torch writes the gradient only at each non-ignored target (a 0 denominator, an infinite g: no nan
            # spreads to the other entries)
            sel = np.zeros(xm.shape, dtype=bool)
            _set_at_targets(sel, tc, valid)
            out = np.where(np.moveaxis(sel, -1, 1) if xd.ndim > 2 else sel, out, 0).astype(dt, copy=False)
        return out
    return _make(out, "nll_loss", (x, td), (xd, td), (vjp, None), _loss_jvps((vjp, None), reduction, 1))


_versions.reads("nll_loss", "", "")  # its VJP scatters the class weights it kept: it reads no value


def _warn_target_size(xd, td, name):
    """PyTorch's warning for a regression loss whose target would broadcast against its input."""
    if np.shape(td) != xd.shape:
        warnings.warn(f"{name}: using a target size {np.shape(td)} that is different to the input size {xd.shape}. "
                      f"This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                      f"the same size.", UserWarning, stacklevel=4)  # (caller > loss > its vmap dispatch)


@_batching_rule("pointwise_loss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target) ** 2``, reduced; differentiable in both arguments (one op).
    ``weight`` (of the input's shape, as PyTorch's) scales each term, and "mean" is then the weighted mean
    ``sum(w (input - target)**2) / sum(w)``."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "mse_loss")
    _check_reduction(reduction, "mse_loss")
    _no_complex("mse_loss", input, target)  # (torch: "mse_cpu" not implemented for 'ComplexFloat')
    if weight is not None:
        return _weighted_pointwise(input, target, weight, reduction, "mse_loss", lambda d: d * d)
    x = as_input(input, "mse_loss")
    target = _pointwise_target(target, x, "mse_loss")
    xd, td = x.data, _data(target)
    if np.result_type(xd, td).kind != "f":  # (a mean of integer squares would be truncated; torch raises)
        raise TypeError(f"mse_loss: expected a floating point input or target, got {xd.dtype} and {td.dtype}")
    _warn_target_size(xd, td, "mse_loss")
    try:
        diff = xd - td
    except ValueError:
        raise ValueError(f"mse_loss: input of shape {xd.shape} and target of shape {td.shape} do not broadcast") \
            from None
    sq = diff * diff
    n = sq.size
    if reduction == "none":
        out = sq
    else:
        with np.errstate(invalid="ignore"):  # (the mean of no elements: nan, without a warning)
            out = np.asarray(acc_sum(sq) / n if reduction == "mean" else sq.sum(), dtype=sq.dtype)
    del sq

    def scale(g):  # (no elements: the mean is nan and the gradient empty, as torch's)
        if reduction == "mean" and n and g.dtype == np.float16:   # (2 / n is subnormal in float16, n inf)
            return div_count(g, n / 2.0)
        return g * (2.0 / n if n else np.nan) if reduction == "mean" else g * 2.0

    def vjp_x(g, y, x, t):
        d = x - t if _is_graph(x) or _is_graph(t) else diff
        return scale(g) * d

    def vjp_t(g, y, x, t):
        d = x - t if _is_graph(x) or _is_graph(t) else diff
        return -(scale(g) * d)
    return _make(out, "mse_loss", (x, target), (xd, td), (vjp_x, vjp_t), _loss_jvps((vjp_x, vjp_t), reduction))


_versions.reads("mse_loss", "ab", "ab")  # (the difference it kept, recomputed from both under create_graph)


@_batching_rule("pointwise_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``, reduced; with ``weight`` (of the input's shape) each term is
    scaled and "mean" is ``sum(w |input - target|) / sum(w)``, as PyTorch's."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "l1_loss")
    _check_reduction(reduction, "l1_loss")
    if weight is not None:
        return _weighted_pointwise(input, target, weight, reduction, "l1_loss", _ew.abs)
    x = as_input(input, "l1_loss")
    target = _pointwise_target(target, x, "l1_loss")
    _warn_target_size(x.data, _data(target), "l1_loss")
    return _reduce(_ew.abs(x - target), reduction)


def _weighted_pointwise(input, target, weight, reduction, name, f):
    """PyTorch's weighted l1_loss / mse_loss: ``f(input - target) * weight``; "mean" divides the sum by the
    weights' sum (not by the element count, as huber_loss's weighted mean does). Differentiable in all three."""
    x = as_input(input, name)
    target = _pointwise_target(target, x, name)
    _warn_target_size(x.data, _data(target), name)
    if np.shape(_data(weight)) != x.shape:
        raise ValueError(f"{name}: Weights and input must have the same size: weight of shape "
                         f"{np.shape(_data(weight))}, input of shape {x.shape}")
    loss = f(x - target) * weight
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (weight.sum() if isinstance(weight, Tensor) else np.sum(weight))


@_batching_rule("pointwise_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Huber-like loss: ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "smooth_l1_loss")
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    x = as_input(input, "smooth_l1_loss")
    _no_complex("smooth_l1_loss", x, target)
    target = _pointwise_target(target, x, "smooth_l1_loss")
    _warn_target_size(x.data, _data(target), "smooth_l1_loss")
    d = x - target
    ad = _ew.abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    near, dq = _square_branch(d, ad, beta)
    return _reduce(_ew.where(near, 0.5 * dq * dq / beta, ad - 0.5 * beta), reduction)


def _square_branch(d, ad, limit):
    """smooth_l1's and huber's quadratic branch: where ``|d| < limit`` (NaN included: its gradient stays NaN, as
    PyTorch's), and ``d`` there, 0 elsewhere. The square reads only that, so the branch not taken adds no 0 * d to
    the gradient (NaN where ``d`` overflowed to inf)."""
    near = ~(ad.data >= limit)
    return near, _ew.where(near, d, 0)


def _loss_jvps(vjps, reduction, class_axis=None):
    """The JVPs of a loss from its VJPs: a loss's VJP is ``g`` (per output element, spread over the input
    elements it reads: the class axis) times a weight ``w(x, target)``, so the JVP is ``sum(w * t)`` over the
    class axis (``reduction='none'``) or over everything (``'mean'`` / ``'sum'``), ``w`` read off at ``g = 1``."""
    def make(vjp):
        def jvp(t, y, *inputs):
            p = vjp(np.ones(y.shape, y.dtype), y, *inputs) * t
            if reduction != "none":
                return p.sum()
            return p if class_axis is None else p.sum(axis=class_axis)
        return jvp
    return tuple(None if v is None else make(v) for v in vjps)


# The binary cross-entropies: npgrad/nn/functional/loss_binary.py, importable from here as before.
from .loss_binary import binary_cross_entropy, binary_cross_entropy_with_logits  # noqa: E402,F401
