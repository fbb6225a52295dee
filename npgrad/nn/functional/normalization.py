"""Normalization: layer_norm, batch_norm, group_norm, as one fused op each (``_normalize``)."""
import math
import operator
import warnings

import numpy as np

from ...autograd import forward_ad as _fw, versions as _versions
from ...autograd.grad_mode import is_grad_enabled
from ...ops._util import as_input, batching_rule, number_arg
from ...ops.contract import _np_einsum
from ...tensor import _F16, Tensor, _make
from . import _half
from ._common import _data, _is_graph, _no_complex

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)


# ----------------------------------------------------------------------- normalization
def _rstd_overflowed(xc, var, rstd, axes, eps):
    """``rstd`` where the variance of finite centred values ``xc`` overflowed (float32 |x - mean| above ~1.8e19):
    ``1 / (m sqrt(mean((xc / m)^2) + eps / m^2))``, m the largest ``|xc|``, instead of 1 / sqrt(inf) = 0, which made
    the output silently 0 (float32 layer_norm of [3e20, 4e20] gave [0, 0], not [-1, 1]; torch gives NaN)."""
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.max(np.abs(xc), axis=axes, keepdims=True)
        fine = np.isinf(var) & np.isfinite(m) & (m > 0)
        ms = np.where(fine, m, 1).astype(xc.dtype)
        u = xc / ms
        r = 1.0 / (ms * np.sqrt(np.mean(u * u, axis=axes, keepdims=True) + eps / ms / ms))
    return np.where(fine, r, rstd).astype(rstd.dtype)


def centered(xd, axes):
    """``(x - mean, s, m)`` over ``axes`` (keepdims; the mean is ``s + m``): ``m`` the mean of ``x - s``, ``s`` each
    slice's first element, so the sum's rounding scales with the spread of x, not its size (float32 x = 100 +- 1,
    batch norm: x_hat was 2e-5 off, the weight's gradient 1.5e-2; torch 3e-4). Shared with SyncBatchNorm's local
    statistics. An empty slice: ``s`` is 0."""
    if not all(xd.shape[a] for a in axes):
        m = xd.mean(axis=axes, keepdims=True)
        return xd - m, np.zeros_like(m), m
    s = xd[tuple(slice(0, 1) if a in axes else slice(None) for a in range(xd.ndim))]
    xc = xd - s
    m = xc.mean(axis=axes, keepdims=True)
    xc -= m
    return xc, s, m


def _normalize(name, x, axes, eps, weight, bias):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over ``axes`` (weight/bias broadcast to x),
    as one op. Returns (output tensor, mean, biased var) — the statistics as NumPy arrays."""
    xd = x.data
    # (a Python float: an np.float64 eps would upcast a float32 input's statistics, NEP 50)
    eps = float(number_arg(eps, name, "eps"))
    wd = None if weight is None else _data(weight)
    bd = None if bias is None else _data(bias)
    xc, s, m = centered(xd, axes)
    mu = s + m
    sq = np.multiply(xc, xc)
    var = np.mean(sq, axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    if np.isinf(var).any():   # (a pass over the statistics only)
        rstd = _rstd_overflowed(xc, var, rstd, axes, eps)
    xhat = xc
    xhat *= rstd
    if wd is None:
        out = xhat
    elif np.result_type(xhat, wd) == sq.dtype and np.broadcast_shapes(xhat.shape, wd.shape) == sq.shape:
        out = np.multiply(xhat, wd, out=sq)   # the squares' buffer, done with, holds the output
    else:
        out = xhat * wd
    if bd is not None:
        if out is not xhat and np.result_type(out, bd) == out.dtype and \
                np.broadcast_shapes(out.shape, bd.shape) == out.shape:
            out += bd
        else:
            out = out + bd
    sq = None
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
        if _is_graph(g) or _is_graph(xh) or (wb and _is_graph(wb[0])):
            dxh = g if wd is None else g * wb[0]
            return r * (dxh - dxh.mean(axis=axes, keepdims=True) - xh * (dxh * xh).mean(axis=axes, keepdims=True))
        # r (dxh - mean(dxh) - xh mean(dxh xh)) in two buffers of x's size, written in place: g itself is
        # not written (the weight's and bias's VJPs read it after this one)
        dxh = g if wd is None else g * wb[0]
        tmp = np.multiply(dxh, xh)
        if tmp.shape != xh.shape or tmp.dtype != np.result_type(dxh, xh, r):
            return r * (dxh - dxh.mean(axis=axes, keepdims=True) - xh * (dxh * xh).mean(axis=axes, keepdims=True))
        m2 = tmp.mean(axis=axes, keepdims=True)
        m1 = dxh.mean(axis=axes, keepdims=True)
        np.multiply(xh, m2, out=tmp)
        tmp += m1
        if dxh is g or dxh.dtype != tmp.dtype or dxh.shape != tmp.shape:
            np.subtract(dxh, tmp, out=tmp)
            tmp *= r
            return tmp
        dxh -= tmp
        dxh *= r
        return dxh

    def vjp_w(g, y, x, w, *b):
        xh = stats(x)[0]
        k = np.ndim(w)
        if (k and not _is_graph(g) and not _is_graph(xh) and g.shape == xh.shape
                and np.shape(w) == xh.shape[xh.ndim - k:]):
            # the sum over the leading axes of g * xhat, without the product's x-sized temporary
            m = math.prod(np.shape(w))
            if m == 0:  # (an empty normalized shape: an empty gradient)
                return np.zeros(np.shape(w), np.result_type(g, xh))
            # (contract.py's einsum: float16 contracts in float32, as torch; NumPy's adds float16 in float16)
            return _np_einsum("ij,ij->j", (g.reshape(-1, m), xh.reshape(-1, m)), False).reshape(np.shape(w))
        return g * xh

    def vjp_b(g, y, x, *wb):
        return g

    def jvp_x(t, y, x, *wb):  # d xhat = r (dc - xhat mean(xhat dc)), dc = t - mean(t)
        xh, r = stats(x)
        dc = t - t.mean(axis=axes, keepdims=True)
        d = r * (dc - xh * (xh * dc).mean(axis=axes, keepdims=True))
        return d if wd is None else d * wb[0]

    def jvp_w(t, y, x, w, *b):
        return t * stats(x)[0]

    parents, saved, vjps, jvps = [x], [xd], [vjp_x], [jvp_x]
    if weight is not None:
        parents.append(weight)
        saved.append(wd)
        vjps.append(vjp_w)
        jvps.append(jvp_w)
    if bias is not None:
        parents.append(bias)
        saved.append(bd)
        vjps.append(vjp_b)
        jvps.append(vjp_b)  # the identity
    return _make(out, name, tuple(parents), tuple(saved), tuple(vjps), tuple(jvps)), mu, var, n


def _normalized_shape(normalized_shape, where, empty_ok=False):
    """``normalized_shape`` (an int, NumPy's included, or a sequence of ints) as a tuple; an empty one is refused
    unless ``empty_ok`` (LayerNorm's and RMSNorm's constructors: their forward refuses it), as PyTorch (it would
    normalize each element over itself and give the bias, or 0, whatever the input)."""
    try:
        shape = ((operator.index(normalized_shape),) if isinstance(normalized_shape, (int, np.integer))
                 else tuple(operator.index(d) for d in normalized_shape))
    except TypeError:
        raise TypeError(f"{where}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    if not shape and not empty_ok:
        raise ValueError(f"{where}: normalized_shape must have at least one element (the trailing dims to "
                         f"normalize over), got {normalized_shape!r}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dims, then scale by ``weight`` and shift by ``bias``."""
    if _tm._VMAP:
        r = _tm._vmap_call("layer_norm", layer_norm, (input, weight, bias),
                           dict(normalized_shape=normalized_shape, eps=eps))
        if r is not NotImplemented:
            return r
    x = as_input(input, "layer_norm")
    _no_complex("layer_norm", x, weight, bias)
    shape = _normalized_shape(normalized_shape, "layer_norm")
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape {shape}")
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and _data(v).shape != shape:
            raise ValueError(f"layer_norm: {name} of shape {_data(v).shape} must have normalized_shape {shape}")
    if x.data.dtype == _F16:
        return _half.in_float32(lambda x, w, b: layer_norm(x, shape, w, b, eps), x, weight, bias)
    axes = tuple(range(x.ndim - k, x.ndim))
    return _normalize("layer_norm", x, axes, eps, weight, bias)[0]


def _check_momentum(momentum, where):
    """``momentum`` as a number: the functional forms take a number (PyTorch: TypeError for None; the modules turn their
    ``momentum=None``, the cumulative average, into a number before calling them)."""
    if momentum is None or isinstance(momentum, (str, bytes)):
        raise TypeError(f"{where}: momentum must be a float, not {type(momentum).__name__}")
    return number_arg(momentum, where, "momentum")


def _check_running_pair(running_mean, running_var, where):
    """In training both running statistics are updated, or neither: one alone would leave the other stale
    (PyTorch refuses it too)."""
    if (running_mean is None) != (running_var is None):
        missing = "running_var" if running_var is None else "running_mean"
        raise ValueError(f"{where}: running_mean and running_var must both be given or both be None, got "
                         f"{missing}=None")


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
    momentum = _check_momentum(momentum, "batch_norm")
    eps = number_arg(eps, "batch_norm", "eps")
    if _tm._VMAP:
        r = _tm._vmap_call("batch_norm", batch_norm, (input, running_mean, running_var, weight, bias),
                           dict(training=training, momentum=momentum, eps=eps))
        if r is not NotImplemented:
            return r
    x = as_input(input, "batch_norm")
    _no_complex("batch_norm", x, running_mean, running_var, weight, bias)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be at least 2-D (N, C, ...), got shape {x.shape}")
    C = x.shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if v is not None and _data(v).shape != (C,):
            raise ValueError(f"batch_norm: {name} of shape {_data(v).shape} for an input with {C} channels")
    for name, v in (("running_mean", running_mean), ("running_var", running_var)):
        # it would be a constant (under no_grad nothing is recorded, and torch computes)
        if isinstance(v, Tensor) and ((v._requires_grad and is_grad_enabled()) or _fw.visible_levels(v)):
            raise RuntimeError(f"batch_norm: {name} is not differentiable (it is a buffer, read as a constant); "
                               f"it cannot require grad or carry a forward-mode tangent (pass it detached), as in "
                               f"PyTorch")
    if x.data.dtype == _F16:
        return _half.with_running_stats(lambda x, rm, rv, w, b: batch_norm(x, rm, rv, w, b, training, momentum, eps),
                                        x, running_mean, running_var, (weight, bias), training and x.size > 0,
                                        "batch_norm")
    axes = (0,) + tuple(range(2, x.ndim))
    w = _channel_view(weight, x.ndim)
    b = _channel_view(bias, x.ndim)
    if training:
        n = x.shape[0] * math.prod(x.shape[2:])
        if n == 1:  # (PyTorch's check: an empty batch passes, and leaves the running statistics alone)
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {x.shape}")
        if not eps > 0:   # (a constant channel would give 0 / 0)
            raise ValueError(f"batch_norm: eps must be positive during training, got {eps}")
        _check_running_pair(running_mean, running_var, "batch_norm")
        if n == 0:
            with warnings.catch_warnings():  # (NumPy's "mean of empty slice": the statistics are unused)
                warnings.simplefilter("ignore", RuntimeWarning)
                return _normalize("batch_norm", x, axes, eps, w, b)[0]
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
    if eps < 0:
        raise ValueError(f"batch_norm: eps must be non-negative, got {eps}")
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
    if _tm._VMAP:
        r = _tm._vmap_call("group_norm", group_norm, (input, weight, bias), dict(num_groups=num_groups, eps=eps))
        if r is not NotImplemented:
            return r
    x = as_input(input, "group_norm")
    _no_complex("group_norm", x, weight, bias)
    if not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"group_norm: num_groups must be an int, got {num_groups!r}")
    if num_groups <= 0:
        raise ValueError(f"group_norm: num_groups must be positive, got {num_groups}")
    num_groups = int(num_groups)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: {x.shape[1] if x.ndim > 1 else '?'} channels (input {x.shape}) do not "
                         f"divide into {num_groups} groups")
    N, C = x.shape[:2]
    for name, v in (("weight", weight), ("bias", bias)):    # one per channel: a (1,) one would broadcast
        if v is not None and _data(v).shape != (C,):
            raise ValueError(f"group_norm: {name} of shape {_data(v).shape} for an input of shape {x.shape} "
                             f"with {C} channels (expected ({C},))")
    if N * C // num_groups * math.prod(x.shape[2:]) == 1:   # PyTorch's check (_verify_batch_size)
        raise ValueError(f"group_norm: expected more than 1 value per channel when training, got input of shape "
                         f"{x.shape} with {num_groups} groups (each group normalizes a single value to 0)")
    if x.data.dtype == _F16:
        return _half.in_float32(lambda x, w, b: group_norm(x, num_groups, w, b, eps), x, weight, bias)
    grouped = x.reshape(N, num_groups, C // num_groups * math.prod(x.shape[2:]))   # (not -1: N may be 0)
    y = _normalize("group_norm", grouped, (2,), eps, None, None)[0].reshape(x.shape)
    if weight is not None:
        y = y * _channel_view(weight, x.ndim)
    if bias is not None:
        y = y + _channel_view(bias, x.ndim)
    return y


@batching_rule("merge_instance_norm")
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial dims (N, C, ...), then a per-channel affine.

    With ``use_input_stats`` the statistics are the instance's own, and running statistics (if given) are
    updated in place with their batch average (the unbiased variance), as PyTorch; otherwise the running
    statistics normalize."""
    momentum = _check_momentum(momentum, "instance_norm")
    x = as_input(input, "instance_norm")
    _no_complex("instance_norm", x, running_mean, running_var, weight, bias)
    if x.ndim < 2 or (x.ndim == 2 and use_input_stats):  # (N, C) with the running statistics: batch_norm's eval
        raise ValueError(f"instance_norm: expected an input of at least 3 dims (N, C, ...), or (N, C) with "
                         f"use_input_stats=False, got shape {x.shape}")
    C = x.shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if v is not None and _data(v).shape != (C,):
            raise ValueError(f"instance_norm: {name} of shape {_data(v).shape} for an input with {C} channels")
    if x.data.dtype == _F16:
        return _half.with_running_stats(
            lambda x, rm, rv, w, b: instance_norm(x, rm, rv, w, b, use_input_stats, momentum, eps), x,
            running_mean, running_var, (weight, bias), use_input_stats and x.size > 0, "instance_norm")
    w = _channel_view(weight, x.ndim)
    b = _channel_view(bias, x.ndim)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: expected running_mean and running_var when use_input_stats=False")
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    axes = tuple(range(2, x.ndim))
    n = math.prod(x.shape[2:])
    if n <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input of shape "
                         f"{x.shape}")
    _check_running_pair(running_mean, running_var, "instance_norm")
    out, mu, var, n = _normalize("instance_norm", x, axes, eps, w, b)
    if running_mean is not None:
        rm = _data(running_mean)
        rm *= 1 - momentum
        rm += momentum * mu.reshape(x.shape[:2]).mean(axis=0).astype(rm.dtype)
        _versions.bump(rm, "instance_norm")
    if running_var is not None:
        rv = _data(running_var)
        rv *= 1 - momentum
        rv += momentum * (var.reshape(x.shape[:2]) * (n / (n - 1))).mean(axis=0).astype(rv.dtype)
        _versions.bump(rv, "instance_norm")
    return out


@batching_rule("rms_norm")
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last ``len(normalized_shape)`` dims; ``eps`` defaults
    to the machine epsilon of the input's dtype, as PyTorch (of float32 for a float16 input: PyTorch computes
    float16 in float32 and takes that type's epsilon). One op with a hand-written VJP."""
    x = as_input(input, "rms_norm")
    shape = _normalized_shape(normalized_shape, "rms_norm")
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"rms_norm: input of shape {x.shape} does not end with normalized_shape {shape}")
    if weight is not None and _data(weight).shape != shape:
        raise ValueError(f"rms_norm: weight of shape {_data(weight).shape} must have normalized_shape {shape}")
    xd = x.data
    if xd.dtype == _F16:   # (eps None: float32's there; float16's 1e-3 was 2.7% off torch on rows of small norm)
        return _half.in_float32(lambda x, w: rms_norm(x, shape, w, eps), x, weight)
    if eps is None:
        eps = float(np.finfo(xd.dtype).eps) if xd.dtype.kind in "fc" else float(np.finfo(np.float32).eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    rstd = 1.0 / np.sqrt(np.mean(xd * xd, axis=axes, keepdims=True) + eps)
    xhat = xd * rstd
    wd = None if weight is None else _data(weight)
    out = xhat if wd is None else xhat * wd

    def stats(x):
        if _is_graph(x):
            r = 1.0 / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
            return x * r, r
        return xhat, rstd

    def vjp_x(g, y, x, *w):
        xh, r = stats(x)
        gw = g if wd is None else g * w[0]
        return r * (gw - xh * (gw * xh).mean(axis=axes, keepdims=True))

    def vjp_w(g, y, x, w):
        return g * stats(x)[0]

    def jvp_x(t, y, x, *w):  # d xhat = r (t - xhat mean(xhat t)): the Jacobian is symmetric
        xh, r = stats(x)
        d = r * (t - xh * (xh * t).mean(axis=axes, keepdims=True))
        return d if wd is None else d * w[0]
    if weight is None:
        return _make(out, "rms_norm", (x,), (xd,), (vjp_x,), (jvp_x,))
    return _make(out, "rms_norm", (x, weight), (xd, wd), (vjp_x, vjp_w), (jvp_x, vjp_w))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha * mean of x**2 over a window of size channels) ** beta``: the window is centred on
    each channel (``size // 2`` before, ``(size - 1) // 2`` after, zero-padded), as ``F.local_response_norm``."""
    x = as_input(input, "local_response_norm")
    _no_complex("local_response_norm", x)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: Expected 3D or higher dimensionality input (got {x.ndim} "
                         f"dimensions, shape {x.shape})")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"local_response_norm: size (the number of neighbouring channels) must be a positive "
                         f"integer, got {size!r}")
    if x.size == 0:
        return x
    if x.data.dtype == _F16:   # (float16 squares overflow past |x| = 256)
        return _half.in_float32(lambda x: local_response_norm(x, size, alpha, beta, k), x)
    from ...ops.shape import pad as _pad
    C = x.shape[1]
    sq = x * x
    widths = [(0, 0)] * x.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    padded = _pad(sq, widths)
    total = padded[:, 0:C]
    for j in range(1, size):
        total = total + padded[:, j:j + C]
    div = (total * (alpha / size) + k) ** beta
    return x / div


# What the VJPs above read (npgrad/autograd/versions.py): never the output, so ``out = bn(x); out += r`` is fine.
for _name in ("layer_norm", "batch_norm", "group_norm", "instance_norm"):
    _versions.reads(_name, "ab", "a", "")
_versions.reads("rms_norm", "ab", "a")
