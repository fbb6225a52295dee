"""``npgrad.nn.functional``: layers and losses as functions, with PyTorch's names, signatures and defaults.

The ops that dominate a training step (``linear``, ``softmax``, ``log_softmax``, ``cross_entropy``,
``layer_norm``, ``batch_norm``, ``gelu``, ``silu``, ``scaled_dot_product_attention``) are single fused
ops: one NumPy forward and a hand-written VJP per input, so a step costs about what hand-written NumPy
costs. Each VJP has two paths: the plain backward reuses values the forward kept (probabilities,
normalized activations); with ``create_graph=True`` it gets Tensors and recomputes those values with
differentiable npgrad ops, so second derivatives work too.
"""
import math
import warnings

import numpy as np

from .. import random as _random
from ..ops import elementwise as _ew
from ..ops.index import scatter_add as _scatter_add
from ..ops._util import as_input, normalize_axis
from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap
from . import _erf

from ..ops.conv import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,  # noqa: F401 (re-exported)
                        adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d,
                        avg_pool3d, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
                        max_pool1d, max_pool2d, max_pool3d)

relu = _ew.relu
tanh = _ew.tanh
sigmoid = _ew.sigmoid


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _is_graph(x):
    """True on the create_graph backward path (VJPs then receive Tensors)."""
    return isinstance(x, Tensor)


# ------------------------------------------------------------------------------ linear
def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features), as ``F.linear``."""
    x = as_input(input, "linear")
    xd, wd = x.data, _data(weight)
    if wd.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {wd.shape}")
    if xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise ValueError(f"linear: input of shape {xd.shape} does not match weight of shape {wd.shape} "
                         f"(expected input.shape[-1] == {wd.shape[1]})")
    n_out, n_in = wd.shape
    lead = xd.shape[:-1]
    out = np.matmul(xd.reshape(-1, n_in), wd.T)
    if bias is not None:
        bd = _data(bias)
        if bd.shape != (n_out,):
            raise ValueError(f"linear: bias of shape {bd.shape} does not match {n_out} output features")
        if out.dtype == np.result_type(out, bd):
            out += bd
        else:
            out = out + bd
    out = out.reshape(lead + (n_out,))

    def vjp_x(g, y, x, w, b=None):
        return np.matmul(g.reshape(-1, n_out), w).reshape(x.shape)

    def vjp_w(g, y, x, w, b=None):
        return np.matmul(g.reshape(-1, n_out).T, x.reshape(-1, n_in))

    def vjp_b(g, y, x, w, b):
        return g.reshape(-1, n_out).sum(axis=0)

    if bias is None:
        return _make(out, "linear", (x, weight), (xd, wd), (vjp_x, vjp_w))
    return _make(out, "linear", (x, weight, bias), (xd, wd, bd), (vjp_x, vjp_w, vjp_b))


# ------------------------------------------------------------------------- activations
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def erf(input):
    """The error function, differentiable (``d erf / dx = 2 / sqrt(pi) * exp(-x**2)``)."""
    x = as_input(input, "erf")
    xd = x.data
    out = _erf.erf(xd)
    if xd.dtype.kind == "f":
        out = out.astype(xd.dtype, copy=False)

    def vjp(g, y, x):
        return g * (2.0 / math.sqrt(math.pi)) * np.exp(-(x * x))
    return _make(out, "erf", (x,), (xd,), (vjp,))


def _normal_cdf(x):
    """Phi(x) of a Tensor (differentiably, through ``erf``) or of an array (fast path)."""
    if _is_graph(x):
        return 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if x.dtype == np.float32:
        return _erf.normal_cdf(x, single=True)
    return _erf.normal_cdf(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)


def gelu(input, approximate="none"):
    """GELU: ``x * Phi(x)`` (``approximate='none'``, with an erf accurate to float64) or the tanh
    approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))`` (``approximate='tanh'``)."""
    x = as_input(input, "gelu")
    xd = x.data
    if approximate == "none":
        cdf = _normal_cdf(xd)
        out = xd * cdf

        def vjp(g, y, x):
            c = _normal_cdf(x) if _is_graph(x) else cdf
            return g * (c + x * np.exp(-0.5 * (x * x)) * _INV_SQRT_2PI)
        return _make(out, "gelu", (x,), (xd,), (vjp,))
    if approximate == "tanh":
        th = xd * xd                      # tanh(sqrt(2/pi) * (x + 0.044715 x**3)), with one temporary
        th *= 0.044715
        th += 1.0
        th *= xd
        th *= _SQRT_2_OVER_PI
        np.tanh(th, out=th)
        out = th + 1.0
        out *= xd
        out *= 0.5

        def vjp_tanh(g, y, x):
            if _is_graph(x):
                t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
                return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 0.134145 * x * x))
            d = th * th                   # 0.5 (1 + t) + 0.5 sqrt(2/pi) x (1 - t**2) (1 + 3 * 0.044715 x**2)
            np.subtract(1.0, d, out=d)
            d *= x
            d *= 0.5 * _SQRT_2_OVER_PI
            q = x * x
            q *= 0.134145
            q += 1.0
            d *= q
            np.multiply(th, 0.5, out=q)
            d += q
            d += 0.5
            d *= g
            return d
        return _make(out, "gelu", (x,), (xd,), (vjp_tanh,))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _sigmoid_of(x):
    if _is_graph(x):
        return _ew.sigmoid(x)
    return np.exp(-np.logaddexp(0, -x))


def silu(input):
    """SiLU / swish: ``x * sigmoid(x)``."""
    x = as_input(input, "silu")
    xd = x.data
    s = _sigmoid_of(xd)
    out = xd * s

    def vjp(g, y, x):
        sg = _sigmoid_of(x) if _is_graph(x) else s
        return g * (sg * (1.0 + x * (1.0 - sg)))
    return _make(out, "silu", (x,), (xd,), (vjp,))


def leaky_relu(input, negative_slope=0.01):
    """``max(0, x) + negative_slope * min(0, x)``."""
    x = as_input(input, "leaky_relu")
    xd = x.data
    out = np.where(xd > 0, xd, xd * negative_slope)
    return _make(out, "leaky_relu", (x,), (xd,), (lambda g, y, x: np.where(x > 0, g, g * negative_slope),))


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      f"dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    return normalize_axis(dim, max(ndim, 1), name)[0]


def _softmax_input(input, dim, dtype, name):
    """The input tensor (cast to ``dtype`` if given, as a differentiable op), its data and the axis."""
    x = as_input(input, name)
    if dtype is not None:
        x = x.astype(dtype)
    return x, x.data, _softmax_dim(x.ndim, dim, name)


def softmax(input, dim=None, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably."""
    x, xd, ax = _softmax_input(input, dim, dtype, "softmax")
    if xd.ndim == 0:
        return _make(np.ones_like(xd), "softmax", (x,), (xd,), (lambda g, y, x: g * 0,))
    e = xd - xd.max(axis=ax, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=ax, keepdims=True)

    def vjp(g, y, x):
        gy = g * y
        return gy - y * gy.sum(axis=ax, keepdims=True)
    return _make(e, "softmax", (x,), (xd,), (vjp,))


def log_softmax(input, dim=None, dtype=None):
    """``x - logsumexp(x)`` along ``dim``: finite for logits of any magnitude."""
    x, xd, ax = _softmax_input(input, dim, dtype, "log_softmax")
    if xd.ndim == 0:
        return _make(np.zeros_like(xd), "log_softmax", (x,), (xd,), (lambda g, y, x: g * 0,))
    z = xd - xd.max(axis=ax, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=ax, keepdims=True))

    def vjp(g, y, x):
        return g - np.exp(y) * g.sum(axis=ax, keepdims=True)
    return _make(z, "log_softmax", (x,), (xd,), (vjp,))


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
    (``weight``, ``ignore_index``, ``label_smoothing``, ``reduction``). Finite for logits of any size."""
    if size_average is not None or reduce is not None:
        raise TypeError("cross_entropy: size_average and reduce are deprecated; use reduction=")
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
    if prob:
        if td.shape != xd.shape:
            raise ValueError(f"cross_entropy: probability target of shape {td.shape} must match input {xd.shape}")
    elif td.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: class-index targets must be integers, not {td.dtype}")
    elif td.shape != (xd.shape[0],) + xd.shape[2:]:
        raise ValueError(f"cross_entropy: target of shape {td.shape} does not match input of shape {xd.shape} "
                         f"(expected {(xd.shape[0],) + xd.shape[2:]})")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    eps = float(label_smoothing)
    dt = xd.dtype
    wd = None if weight is None else _data(weight).astype(dt, copy=False)
    if wd is not None and wd.shape != (C,):
        raise ValueError(f"cross_entropy: weight of shape {wd.shape} for {C} classes")

    # classes last, as a view
    xm = xd if xd.ndim == 2 else np.moveaxis(xd, 1, -1)
    z = xm - xm.max(axis=-1, keepdims=True)
    p = np.exp(z)
    s = p.sum(axis=-1, keepdims=True)
    log_s = np.log(s)
    p /= s                                      # softmax, kept for the backward pass
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
        loss = (1 - eps) * w_t * (log_s[..., 0] - z_t)
        if eps:
            sum_w = C if wd is None else wd.sum()
            zw = z.sum(axis=-1) if wd is None else z @ wd
            smooth = np.where(valid, sum_w * log_s[..., 0] - zw, 0)
            loss = loss + (eps / C) * smooth
            A = ((1 - eps) * w_t + np.where(valid, eps / C * sum_w, 0))[..., None]
        else:
            A = w_t[..., None]
        denom = w_t.sum()
    loss = loss.astype(dt, copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == "mean":
            out = np.asarray(loss.sum() / denom, dtype=dt)
        elif reduction == "sum":
            out = np.asarray(loss.sum(), dtype=dt)
        else:
            out = loss

    def coef(g, axis):  # the output gradient per sample, broadcast over the class axis
        if reduction == "none":
            return np.expand_dims(g, axis)
        return g / denom if reduction == "mean" else g

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
        gm *= coef(g, -1)
        return first(gm)

    def vjp_t(g, y, x, t):  # probability targets: d loss / d t_ic = -(1 - eps) w_c logp_ic
        logp = log_softmax(x, dim=1) if _is_graph(x) else first(z - log_s)
        w = 1.0 if wd is None else wd.reshape((C,) + (1,) * (xd.ndim - 2))
        return (-(1 - eps) * w) * logp * coef(g, 1)

    if prob:
        return _make(out, "cross_entropy", (x, target), (xd, td), (vjp_x, vjp_t))
    return _make(out, "cross_entropy", (x, td), (xd, td), (vjp_x, None))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices ``target``."""
    if size_average is not None or reduce is not None:
        raise TypeError("nll_loss: size_average and reduce are deprecated; use reduction=")
    _check_reduction(reduction, "nll_loss")
    x = as_input(input, "nll_loss")
    xd = x.data
    td = _data(target)
    if xd.ndim == 1:
        out = nll_loss(x.reshape(1, -1), td.reshape(1), weight, None, ignore_index, None, reduction)
        return out.reshape(()) if reduction == "none" else out
    if td.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: targets must be integers, not {td.dtype}")
    if xd.ndim < 2 or td.shape != (xd.shape[0],) + xd.shape[2:]:
        raise ValueError(f"nll_loss: target of shape {td.shape} does not match input of shape {xd.shape}")
    C = xd.shape[1]
    dt = xd.dtype
    valid, tc = _class_targets(td, C, ignore_index, "nll_loss")
    wd = None if weight is None else _data(weight).astype(dt, copy=False)
    w_t = valid.astype(dt) if wd is None else np.where(valid, wd[tc], 0).astype(dt)
    xm = xd if xd.ndim == 2 else np.moveaxis(xd, 1, -1)  # classes last, as a view
    picked = _at_targets(xm, tc)
    loss = -w_t * picked
    denom = w_t.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (np.asarray(loss.sum() / denom, dtype=dt) if reduction == "mean" else
               np.asarray(loss.sum(), dtype=dt) if reduction == "sum" else loss.astype(dt, copy=False))
    a = np.zeros(xm.shape, dtype=dt)
    _set_at_targets(a, tc, w_t)
    if xd.ndim > 2:
        a = np.moveaxis(a, -1, 1)

    def vjp(g, y, x, t):
        if reduction == "none":
            g = np.expand_dims(g, 1)
        elif reduction == "mean":
            g = g / denom
        return -a * g
    return _make(out, "nll_loss", (x, td), (xd, td), (vjp, None))


def _warn_target_size(xd, td, name):
    """PyTorch's warning for a regression loss whose target would broadcast against its input."""
    if np.shape(td) != xd.shape:
        warnings.warn(f"{name}: using a target size {np.shape(td)} that is different to the input size {xd.shape}. "
                      f"This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                      f"the same size.", UserWarning, stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error ``(input - target) ** 2``, reduced; differentiable in both arguments (one op)."""
    _check_reduction(reduction, "mse_loss")
    x = as_input(input, "mse_loss")
    xd, td = x.data, _data(target)
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
        out = np.asarray(sq.sum() / n if reduction == "mean" else sq.sum(), dtype=sq.dtype)
    del sq

    def scale(g):
        return g * (2.0 / n) if reduction == "mean" else g * 2.0

    def vjp_x(g, y, x, t):
        d = x - t if _is_graph(x) or _is_graph(t) else diff
        return scale(g) * d

    def vjp_t(g, y, x, t):
        d = x - t if _is_graph(x) or _is_graph(t) else diff
        return -(scale(g) * d)
    return _make(out, "mse_loss", (x, target), (xd, td), (vjp_x, vjp_t))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error ``|input - target|``, reduced."""
    _check_reduction(reduction, "l1_loss")
    x = as_input(input, "l1_loss")
    _warn_target_size(x.data, _data(target), "l1_loss")
    return _reduce(_ew.abs(x - target), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Huber-like loss: ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    _check_reduction(reduction, "smooth_l1_loss")
    x = as_input(input, "smooth_l1_loss")
    _warn_target_size(x.data, _data(target), "smooth_l1_loss")
    d = x - target
    ad = _ew.abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    return _reduce(_ew.where(ad.data < beta, 0.5 * d * d / beta, ad - 0.5 * beta), reduction)


def _weighted_loss(loss, wd, dtype, reduction):
    """The binary cross-entropies' output from their elementwise ``loss``: weighted by ``wd`` (or not), in
    ``dtype``, reduced; also the output-gradient scale and the weight their VJPs use."""
    if wd is not None:
        loss = loss * wd
    loss = loss.astype(dtype, copy=False)
    out = np.asarray(loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss,
                     dtype=dtype)
    n = loss.size

    def scale(g):
        return g / n if reduction == "mean" else g
    return out, scale, (1.0 if wd is None else wd)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """``-(t log p + (1 - t) log(1 - p))`` for probabilities ``p`` in [0, 1], logs clamped at -100 as PyTorch."""
    _check_reduction(reduction, "binary_cross_entropy")
    x = as_input(input, "binary_cross_entropy")
    xd, td = x.data, _data(target)
    if td.shape != xd.shape:
        raise ValueError(f"binary_cross_entropy: target of shape {td.shape} must match input of shape {xd.shape}")
    # as PyTorch: a nan fails the check too (min and max propagate it, and nan >= 0 is False)
    if xd.size and not (xd.min() >= 0 and xd.max() <= 1):
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 and 1, got values "
                         f"in [{xd.min()}, {xd.max()}]")
    if td.size and not (td.min() >= 0 and td.max() <= 1):
        raise ValueError(f"binary_cross_entropy: all elements of target should be between 0 and 1, got values "
                         f"in [{td.min()}, {td.max()}]")
    wd = None if weight is None else _data(weight)
    with np.errstate(divide="ignore"):
        loss = -(td * np.maximum(np.log(xd), -100) + (1 - td) * np.maximum(np.log1p(-xd), -100))
    out, scale, w = _weighted_loss(loss, wd, xd.dtype, reduction)

    def vjp_x(g, y, x, t):
        return scale(g) * w * (x - t) / np.maximum((1 - x) * x, 1e-12)

    def vjp_t(g, y, x, t):
        return scale(g) * w * (np.maximum(np.log(1 - x), -100) - np.maximum(np.log(x), -100))
    return _make(out, "binary_cross_entropy", (x, target), (xd, td), (vjp_x, vjp_t))


def _log_sigmoid(x):
    if _is_graph(x):
        return -softplus(-x)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` as PyTorch."""
    x = as_input(input, "softplus")
    xd = x.data
    bx = xd * beta
    out = np.where(bx > threshold, xd, (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta)

    def vjp(g, y, x):
        return np.where(x * beta > threshold, g, g * _sigmoid_of(x * beta))
    return _make(out.astype(xd.dtype, copy=False), "softplus", (x,), (xd,), (vjp,))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula (PyTorch's, with ``pos_weight``)."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x = as_input(input, "binary_cross_entropy_with_logits")
    xd, td = x.data, _data(target)
    if td.shape != xd.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target of shape {td.shape} must match input of "
                         f"shape {xd.shape}")
    wd = None if weight is None else _data(weight)
    pw = None if pos_weight is None else _data(pos_weight)
    ls = _log_sigmoid(xd)
    lw = 1.0 if pw is None else (pw - 1) * td + 1
    loss = (1 - td) * xd - lw * ls
    out, scale, w = _weighted_loss(loss, wd, xd.dtype, reduction)

    def vjp_x(g, y, x, t):  # d/dx: (1 - t) - lw * (1 - sigmoid(x))
        lwx = 1.0 if pw is None else (pw - 1) * t + 1
        return scale(g) * w * ((1 - t) - lwx * _sigmoid_of(-x))

    def vjp_t(g, y, x, t):  # d/dt: -x - (pw - 1) * log_sigmoid(x)
        d = -x if pw is None else -x - (pw - 1) * _log_sigmoid(x)
        return scale(g) * w * d
    return _make(out, "binary_cross_entropy_with_logits", (x, target), (xd, td), (vjp_x, vjp_t))


# --------------------------------------------------------------------------- dropout
def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (when training)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    x = as_input(input, "dropout")
    if not training or p == 0.0:
        return x
    xd = x.data
    rng = generator or _random.get_generator()
    if p == 1.0:
        mask = np.zeros(xd.shape, dtype=xd.dtype)
    else:
        r = rng.random(xd.shape, dtype=np.float32 if xd.dtype == np.float32 else np.float64)
        mask = (r >= p).astype(xd.dtype)
        mask *= 1.0 / (1.0 - p)
    return _make(xd * mask, "dropout", (x,), (xd,), (lambda g, y, x: g * mask,))


# ----------------------------------------------------------------------- normalization
def _normalize(name, x, axes, eps, weight, bias):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over ``axes`` (weight/bias broadcast to x),
    as one op. Returns (output tensor, mean, biased var) — the statistics as NumPy arrays."""
    xd = x.data
    wd = None if weight is None else _data(weight)
    bd = None if bias is None else _data(bias)
    mu = xd.mean(axis=axes, keepdims=True)
    xc = xd - mu
    var = np.mean(xc * xc, axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = xc
    xhat *= rstd
    out = xhat if wd is None else xhat * wd
    if bd is not None:
        out = out + bd
    n = math.prod(xd.shape[a] for a in axes)

    # Without weight and bias the output is xhat itself, which the caller may overwrite in place
    # (``out += identity``): the VJPs then recompute it from the saved input.
    kept = None if out is xhat else xhat

    def stats(x):
        if _is_graph(x):
            m = x.mean(axis=axes, keepdims=True)
            c = x - m
            r = 1.0 / np.sqrt((c * c).mean(axis=axes, keepdims=True) + eps)
            return c * r, r
        return ((x - mu) * rstd if kept is None else kept), rstd

    def vjp_x(g, y, x, *wb):
        xh, r = stats(x)
        dxh = g if wd is None else g * wb[0]
        return r * (dxh - dxh.mean(axis=axes, keepdims=True) - xh * (dxh * xh).mean(axis=axes, keepdims=True))

    def vjp_w(g, y, x, w, *b):
        return g * stats(x)[0]

    def vjp_b(g, y, x, *wb):
        return g

    parents, saved, vjps = [x], [xd], [vjp_x]
    if weight is not None:
        parents.append(weight)
        saved.append(wd)
        vjps.append(vjp_w)
    if bias is not None:
        parents.append(bias)
        saved.append(bd)
        vjps.append(vjp_b)
    return _make(out, name, tuple(parents), tuple(saved), tuple(vjps)), mu, var, n


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dims, then scale by ``weight`` and shift by ``bias``."""
    x = as_input(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape {shape}")
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and _data(v).shape != shape:
            raise ValueError(f"layer_norm: {name} of shape {_data(v).shape} must have normalized_shape {shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    return _normalize("layer_norm", x, axes, eps, weight, bias)[0]


def _channel_view(v, ndim):
    """A (C,) parameter reshaped to broadcast along axis 1 of an ``ndim``-d input."""
    if v is None:
        return None
    shape = (-1,) + (1,) * (ndim - 2)
    return v.reshape(shape) if isinstance(v, Tensor) else np.asarray(v).reshape(shape)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalization over all axes but 1 (the channels), as ``F.batch_norm``.

    In training mode the batch statistics are used and the running statistics (if given) are updated in
    place: ``running = (1 - momentum) * running + momentum * batch`` (the unbiased variance)."""
    x = as_input(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be at least 2-D (N, C, ...), got shape {x.shape}")
    C = x.shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if v is not None and _data(v).shape != (C,):
            raise ValueError(f"batch_norm: {name} of shape {_data(v).shape} for an input with {C} channels")
    axes = (0,) + tuple(range(2, x.ndim))
    w = _channel_view(weight, x.ndim)
    b = _channel_view(bias, x.ndim)
    if training:
        n = x.size // max(C, 1)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {x.shape}")
        out, mu, var, n = _normalize("batch_norm", x, axes, eps, w, b)
        if running_mean is not None:
            rm = _data(running_mean)
            rm *= 1 - momentum
            rm += momentum * mu.reshape(-1).astype(rm.dtype)
            _versions.bump(rm, "batch_norm")
        if running_var is not None:
            rv = _data(running_var)
            rv *= 1 - momentum
            rv += momentum * (var.reshape(-1) * (n / (n - 1))).astype(rv.dtype)
            _versions.bump(rv, "batch_norm")
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    shape = (-1,) + (1,) * (x.ndim - 2)
    rstd = (1.0 / np.sqrt(_data(running_var) + eps)).astype(x.dtype).reshape(shape)
    mean = _data(running_mean).astype(x.dtype).reshape(shape)
    y = (x - mean) * rstd
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each of ``num_groups`` channel groups per sample, then a per-channel affine."""
    x = as_input(input, "group_norm")
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: {x.shape[1] if x.ndim > 1 else '?'} channels (input {x.shape}) do not "
                         f"divide into {num_groups} groups")
    N, C = x.shape[:2]
    y = _normalize("group_norm", x.reshape(N, num_groups, -1), (2,), eps, None, None)[0].reshape(x.shape)
    if weight is not None:
        y = y * _channel_view(weight, x.ndim)
    if bias is not None:
        y = y + _channel_view(bias, x.ndim)
    return y


# --------------------------------------------------------------------------- embedding
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` at the integer indices ``input``; the ``padding_idx`` row gets no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    idx = _data(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, not {idx.dtype}")
    wd = _data(weight)
    V = wd.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        raise IndexError(f"embedding: index out of range for a table of {V} rows")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += V
    out = wd[idx]

    def vjp(g, y, i, w):
        gw = _scatter_add(w.shape, (idx,), g)
        if padding_idx is not None:
            keep = np.ones((V,) + (1,) * (len(w.shape) - 1), dtype=bool)
            keep[padding_idx] = False
            gw = np.where(keep, gw, 0)
        return gw
    return _make(out, "embedding", (idx, weight), (idx, wd), (None, vjp))


def one_hot(tensor, num_classes=-1):
    """Integer indices to a one-hot int64 tensor with a trailing axis of ``num_classes`` (by default one
    more than the largest index). Indices outside ``[0, num_classes)`` are an error, as in PyTorch."""
    idx = _data(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, not {idx.dtype}")
    if num_classes < 0:
        if not idx.size:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        bad = idx[(idx < 0) | (idx >= num_classes)].flat[0]
        raise IndexError(f"one_hot: index {bad} is out of bounds for {num_classes} classes (indices must be in "
                         f"[0, {num_classes}))")
    return _wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


# --------------------------------------------------------------------------- attention
def _attn_bias(attn_mask, is_causal, L, S, dtype):
    """The additive mask (or None): bool masks mark positions that take part (True), as in PyTorch SDPA."""
    bias = None
    if is_causal:
        bias = np.where(np.tril(np.ones((L, S), dtype=bool)), 0, -np.inf).astype(dtype)
    if attn_mask is not None:
        md = _data(attn_mask)
        m = np.where(md, 0, -np.inf).astype(dtype) if md.dtype == bool else md.astype(dtype, copy=False)
        bias = m if bias is None else bias + m
    return bias


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """``softmax(q k^T * scale + mask) v`` over the last two dims, as ``F.scaled_dot_product_attention``:
    ``attn_mask`` is boolean (True = may attend) or additive float, broadcast to (..., L, S);
    ``is_causal`` masks the upper triangle; ``scale`` defaults to ``1 / sqrt(E)``. One fused op."""
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    q, k, v = (as_input(t, "scaled_dot_product_attention") for t in (query, key, value))
    qd, kd, vd = q.data, k.data, v.data
    if qd.ndim < 2 or kd.ndim < 2 or vd.ndim < 2 or qd.shape[-1] != kd.shape[-1] or kd.shape[-2] != vd.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {qd.shape}, key {kd.shape} and value {vd.shape} "
                         f"do not fit (need (..., L, E), (..., S, E), (..., S, Ev))")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal, not both")
    L, S = qd.shape[-2], kd.shape[-2]
    sc = 1.0 / math.sqrt(qd.shape[-1]) if scale is None else float(scale)
    bias = _attn_bias(attn_mask, is_causal, L, S, qd.dtype)
    s = np.matmul(qd, np.swapaxes(kd, -1, -2))
    s *= sc
    if bias is not None:
        s = s + bias
    # A row whose every score is masked (-inf), or a query with no keys (S = 0), attends to nothing: its
    # weights, output and gradients are 0, as PyTorch's (a plain softmax would give 0 / 0 = nan).
    m = s.max(axis=-1, keepdims=True) if S else np.zeros(s.shape[:-1] + (1,), s.dtype)
    dead = m == -np.inf
    if dead.any():
        m[dead] = 0
    else:
        dead = None
    with np.errstate(invalid="ignore"):
        s -= m
        p = np.exp(s, out=s)
        total = p.sum(axis=-1, keepdims=True)
        p /= total if dead is None else np.where(dead, 1, total)
    if dropout_p > 0.0:
        keep = (_random.get_generator().random(p.shape) >= dropout_p).astype(p.dtype) / (1.0 - dropout_p)
        pd = p * keep
    else:
        keep = None
        pd = p
    out = np.matmul(pd, vd)
    cache = {}

    def probs(q, k):
        if _is_graph(q) or _is_graph(k):
            sg = np.matmul(q, np.swapaxes(k, -1, -2)) * sc
            if bias is not None:
                sg = sg + bias
            if dead is None:
                return softmax(sg, dim=-1)
            return np.where(dead, 0, softmax(np.where(dead, 0, sg), dim=-1))  # no nan in the unused branch
        return p

    def dscores(g, q, k, v):
        if not _is_graph(g) and cache.get("g") is g:
            return cache["ds"]
        pp = probs(q, k)
        dp = np.matmul(g, np.swapaxes(v, -1, -2))
        if keep is not None:
            dp = dp * keep
        ds = pp * (dp - (dp * pp).sum(axis=-1, keepdims=True))
        if not _is_graph(g):
            cache["g"], cache["ds"] = g, ds
        return ds

    def vjp_q(g, y, q, k, v):
        return np.matmul(dscores(g, q, k, v), k) * sc

    def vjp_k(g, y, q, k, v):
        return np.matmul(np.swapaxes(dscores(g, q, k, v), -1, -2), q) * sc

    def vjp_v(g, y, q, k, v):
        pp = probs(q, k)
        if keep is not None:
            pp = pp * keep
        return np.matmul(np.swapaxes(pp, -1, -2), g)
    return _make(out, "scaled_dot_product_attention", (q, k, v), (qd, kd, vd), (vjp_q, vjp_k, vjp_v))


# ------------------------------------------------------------------------------ misc
def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) widths starting from the last dim."""
    x = as_input(input, "pad")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding {pad} must have an even length of at most 2 * {x.ndim}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    from ..ops.shape import pad as _pad
    return _pad(x, widths, mode=mode, constant_values=value)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``x / max(||x||_p, eps)`` along ``dim``."""
    x = as_input(input, "normalize")
    total = (_ew.abs(x) ** p).sum(axis=dim, keepdims=True)
    # A zero vector's norm is 0 with a zero gradient, as PyTorch's norm (the root's derivative there is inf,
    # and inf * 0 would be nan): take the root of 1 instead and keep 0.
    zero = total.data == 0
    norm = _ew.where(zero, 0, _ew.where(zero, 1, total) ** (1.0 / p))
    return x / _ew.maximum(norm, eps)


def flatten(input, start_dim=0, end_dim=-1):
    from ..ops.shape import flatten as _flatten
    return _flatten(input, start_dim, end_dim)


# What the VJPs above read (npgrad/autograd/versions.py): undeclared ops are checked on their output
# and every saved value. These never read their output, so ``h = F.linear(x, W, b); h += r`` is fine.
_versions.reads("linear", "b", "a", "")
for _name in ("layer_norm", "batch_norm", "group_norm"):
    _versions.reads(_name, "ab", "a", "")
_versions.reads("dropout", "")
_versions.reads("embedding", "", "a")
