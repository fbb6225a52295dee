"""Reductions: each forward beside its VJP. ``axis`` is None, an int (negative allowed) or a tuple."""
import builtins
import math

import numpy as np

from ..autograd import versions as _versions
import importlib

from ..tensor import _F16, _F32, _F64, Tensor, _make, _wrap
from .._rowsum import add_reduce
from . import _cumprod_grad
from .reduce_where import ddof_or_correction, masked
from ._util import (as_input, batching_rule, div_count, named_error, normalize_axis, normalize_one_axis, number_arg,
                    numpy_dtype_out, unreduce, zero_d_axis)

_tm = importlib.import_module("..tensor", __package__)
_NOVALUE = np._NoValue
_HALF = np.float16  # tested as dtype.type: an unpickled array's float16 dtype is equal to _F16 but another object
_add_reduce = add_reduce   # np.add.reduce, a long first axis summed in blocks (npgrad/_rowsum.py)


def sum(x, axis=None, keepdims=False, dtype=None, *, where=True, initial=_NOVALUE):
    """Sum over ``axis`` (all axes by default), as ``np.sum`` (``where=``, ``initial=``: reduce_where.py); float16
    accumulates in float32, as torch (NumPy's float16 sum along a strided axis drifts)."""
    if where is not True or initial is not _NOVALUE:
        return masked("sum", "sum", sum, x, where, initial, dict(axis=axis, keepdims=keepdims, dtype=dtype))
    if isinstance(keepdims, (type, np.dtype, str)):
        raise TypeError(f"sum: keepdims must be a bool, got {keepdims!r} (NumPy's third positional argument is "
                        f"dtype, npgrad's is keepdims: pass dtype= by keyword)")
    if _tm._VMAP:
        axis = zero_d_axis(axis, np.ndim(x))  # (before the rule shifts it past the batch axis)
        r = _tm._vmap_call("reduce", sum, (x,), dict(axis=axis, keepdims=keepdims, dtype=dtype))
        if r is not NotImplemented:
            return r
    x = as_input(x, "sum")
    axes = normalize_axis(zero_d_axis(axis, x.ndim), x.ndim, "sum")
    xd = x.data
    if dtype is None and xd.dtype.type is _HALF:  # float16 accumulated in float32, as torch: NumPy adds float16 rows in
        out = _add_reduce(xd, axis=axes, dtype=_F32, keepdims=keepdims).astype(_F16)   # float16 (5% off past 1e4)
    else:
        out = _add_reduce(xd, axis=axes, dtype=dtype, keepdims=keepdims)  # (np.sum's own work, without its ~1 us
    #                                                                        of Python dispatch)
    return _make(out, "sum", (x,), (x.data,),
                 (lambda g, y, x: unreduce(g, x.shape, axes, keepdims),),
                 (lambda t, y, x: sum(t, axes, keepdims),))  # linear


@numpy_dtype_out
def mean(x, axis=None, keepdims=False, *, where=True):
    """Arithmetic mean over ``axis``, as ``np.mean`` (``where=``: reduce_where.py)."""
    if where is not True:
        return masked("mean", "mean", mean, x, where, _NOVALUE, dict(axis=axis, keepdims=keepdims))
    if _tm._VMAP:
        r = _tm._vmap_call("reduce", mean, (x,), dict(axis=axis, keepdims=keepdims))
        if r is not NotImplemented:
            return r
    x = as_input(x, "mean")
    axes = normalize_axis(axis, x.ndim, "mean")
    n = _count(x.shape, axes)
    xd = x.data
    if n and (xd.dtype is _F32 or xd.dtype is _F64):  # np.mean's sum and division, without its ~3 us of dispatch
        out = _add_reduce(xd, axis=axes, keepdims=keepdims) / n
    else:  # (float16 summed in float32, integers in float64, and the empty mean's warning: NumPy's own)
        out = np.mean(xd, axis=axes, keepdims=keepdims)
    return _make(out, "mean", (x,), (x.data,),
                 (lambda g, y, x: unreduce(div_count(g, n) if n else g, x.shape, axes, keepdims),),
                 (lambda t, y, x: mean(t, axes, keepdims),))  # linear


def _in_f32(fn, xd, **kw):
    """``fn(xd, **kw)`` computed in float32 and cast back when ``xd`` is float16 (NumPy accumulates float16 sums
    of squares and running sums in float16: they overflow past 65504 or drift; torch accumulates in float32)."""
    if xd.dtype.type is _HALF:
        return np.asarray(fn(xd.astype(_F32), **kw)).astype(_F16)
    return fn(xd, **kw)


def _weighted_sum_jvp(vjp, axes, keepdims):
    """The JVP of a reduction whose VJP is ``unreduce(g) * w(x)`` (an elementwise weight per input element):
    ``sum(w(x) * t)`` over the reduced axes, with ``w`` read off the VJP at ``g = 1``."""
    def jvp(t, y, x):
        w = vjp(np.ones(y.shape, y.dtype), y, x)
        if x.dtype.kind == "c" and y.dtype.kind != "c":  # a real function of complex x (var): Re(conj(w) t)
            return sum(np.real(np.conj(w) * t), axes, keepdims)
        return sum(w * t, axes, keepdims)
    return (jvp,)


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


def _extreme(name, npfn):
    def op(x, axis=None, keepdims=False, *, where=True, initial=_NOVALUE):
        if where is not True or initial is not _NOVALUE:
            return masked(name, name, op, x, where, initial, dict(axis=axis, keepdims=keepdims))
        if _tm._VMAP:
            axis = zero_d_axis(axis, np.ndim(x))
            r = _tm._vmap_call("reduce", op, (x,), dict(axis=axis, keepdims=keepdims))
            if r is not NotImplemented:
                return r
        x = as_input(x, name)
        axes = normalize_axis(zero_d_axis(axis, x.ndim), x.ndim, name)
        if x.size == 0 and builtins.any(x.shape[a] == 0 for a in axes):  # (any is shadowed here)
            raise ValueError(f"{name}: zero-size reduction over axis {axis} of a tensor of shape {x.shape} "
                             f"(the operation has no identity)")
        out = npfn(x.data, axis=axes, keepdims=keepdims)

        def vjp(g, y, x):  # ties share the gradient evenly, as torch.amax / torch.amin
            yk = unreduce(y, x.shape, axes, keepdims)
            mask = x == yk
            count = mask.sum(axis=axes, keepdims=True)
            return unreduce(g, x.shape, axes, keepdims) * mask / count
        return _make(out, name, (x,), (x.data,), (vjp,), _weighted_sum_jvp(vjp, axes, keepdims))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{name} over ``axis`` as ``np.{name}``; tied extremes share the gradient evenly "
                  f"(as ``torch.a{name}``).")
    return op


max = amax = _extreme("max", np.maximum.reduce)  # (np.max's and np.min's own work, without their dispatch)
min = amin = _extreme("min", np.minimum.reduce)


@numpy_dtype_out
def prod(x, axis=None, keepdims=False, *, where=True, initial=_NOVALUE):
    """Product over ``axis``; its gradient is exact when the input holds zeros (``where=``, ``initial=``:
    reduce_where.py). Float16 is computed in float32 and cast back."""
    if where is not True or initial is not _NOVALUE:
        return masked("prod", "prod", prod, x, where, initial, dict(axis=axis, keepdims=keepdims))
    if _tm._VMAP:
        axis = zero_d_axis(axis, np.ndim(x))
        r = _tm._vmap_call("reduce", prod, (x,), dict(axis=axis, keepdims=keepdims))
        if r is not NotImplemented:
            return r
    x = as_input(x, "prod")
    axes = normalize_axis(zero_d_axis(axis, x.ndim), x.ndim, "prod")
    out = _in_f32(np.prod, x.data, axis=axes, keepdims=keepdims)  # (float16: NumPy's product along a strided axis
    #                                                                 drifts in float16; 4.3 for 6.0 over 35,000)
    n = _count(x.shape, axes)

    def vjp(g, y, x):
        # d prod / d x_i = product of all the other elements: an exclusive cumulative product
        # from each side, so zeros need no division.
        if x.dtype.type is _HALF:   # (in float32: float16 cumulative products drift, the gradient was 60% off)
            return vjp(g.astype(_F32), y, x.astype(_F32)).astype(_F16)
        if n == 0:  # an empty product: nothing to differentiate
            return np.zeros(x.shape, dtype=g.dtype)
        moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0))) if axes else x
        lead = moved.shape[:moved.ndim - len(axes)]
        flat = moved.reshape(lead + (n,))  # n, not -1: lead may hold a 0
        ones = np.ones(lead + (1,), dtype=flat.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, axis=-1)[..., :-1]], axis=-1), axis=-1),
                        axis=-1)
        others = (left * right).reshape(moved.shape)
        if axes:
            others = np.moveaxis(others, tuple(range(-len(axes), 0)), axes)
        return unreduce(g, x.shape, axes, keepdims) * others
    return _make(out, "prod", (x,), (x.data,), (vjp,), _weighted_sum_jvp(vjp, axes, keepdims))


@numpy_dtype_out
def var(x, axis=None, ddof=0, keepdims=False, *, where=True, correction=_NOVALUE):
    """Variance over ``axis`` with ``ddof`` (0 by default, as NumPy; PyTorch's default is 1; ``correction`` is
    NumPy 2's and PyTorch's name for it); ``where=``: reduce_where.py. Float16 is computed in float32, as torch
    (NumPy's float16 sum of squares overflows past 65504: np.var of 70,000 float16 ones is inf, not 0)."""
    if ddof.__class__ is not int:
        ddof = number_arg(ddof, "var", "ddof")
    if correction.__class__ is not int and correction is not _NOVALUE:
        correction = number_arg(correction, "var", "correction")
    if correction is not _NOVALUE:
        ddof = ddof_or_correction("var", ddof, correction)
    if where is not True:
        return masked("var", "var", var, x, where, _NOVALUE, dict(axis=axis, ddof=ddof, keepdims=keepdims))
    if _tm._VMAP:
        r = _tm._vmap_call("reduce", var, (x,), dict(axis=axis, ddof=ddof, keepdims=keepdims))
        if r is not NotImplemented:
            return r
    x = as_input(x, "var")
    full = axis is None or x.ndim == 0  # PyTorch's two backward formulas differ once ddof >= n (below)
    axes = normalize_axis(axis, x.ndim, "var")
    out = _in_f32(np.var, x.data, axis=axes, ddof=ddof, keepdims=keepdims)  # (np.var of float16 overflows)
    n = _count(x.shape, axes)
    vjp = _var_vjp(n, ddof, axes, keepdims, full)
    vjps = (lambda g, y, x: vjp(g, x),)
    return _make(out, "var", (x,), (x.data,), vjps, _weighted_sum_jvp(vjps[0], axes, keepdims))


def _var_vjp(n, ddof, axes, keepdims, full):
    """The VJP of var as PyTorch's ``var_backward``: ``2 / (n - ddof) * g * (x - mean)``. With no fewer
    degrees of freedom than ``ddof`` (n - ddof <= 0, where the variance is inf or nan) a full reduction
    gives nan where x equals its mean and inf elsewhere; a reduction over given axes keeps the formula
    (inf times the centred value when n == ddof, a finite value when n < ddof), as PyTorch does."""
    dof = n - ddof
    if full and dof <= 0:
        return lambda g, x: unreduce(g, x.shape, axes, keepdims) * np.where(x == x.mean(), np.nan, np.inf)
    scale = 2.0 / dof if dof else math.inf

    def vjp(g, x):
        if x.dtype.type is _HALF:  # (in float32: 2 / dof is subnormal in float16 past 32768 elements, 0 past 3e7)
            return vjp(g.astype(_F32), x.astype(_F32)).astype(_F16)
        centered = x - x.mean(axis=axes, keepdims=True)
        return unreduce(g, x.shape, axes, keepdims) * centered * scale
    return vjp


@numpy_dtype_out
def std(x, axis=None, ddof=0, keepdims=False, *, where=True, correction=_NOVALUE):
    """Standard deviation over ``axis`` with ``ddof`` (0 by default, as NumPy; or ``correction``). Where the std
    is 0 (a constant slice) its gradient is 0, as in PyTorch and HIPS autograd (sqrt's derivative there is inf);
    ``where=``: reduce_where.py. Float16 is computed in float32, as torch (np.std of float16 overflows as np.var)."""
    if ddof.__class__ is not int:
        ddof = number_arg(ddof, "std", "ddof")
    if correction.__class__ is not int and correction is not _NOVALUE:
        correction = number_arg(correction, "std", "correction")
    if correction is not _NOVALUE:
        ddof = ddof_or_correction("std", ddof, correction)
    if where is not True:
        return masked("std", "std", std, x, where, _NOVALUE, dict(axis=axis, ddof=ddof, keepdims=keepdims))
    if _tm._VMAP:
        r = _tm._vmap_call("reduce", std, (x,), dict(axis=axis, ddof=ddof, keepdims=keepdims))
        if r is not NotImplemented:
            return r
    x = as_input(x, "std")
    full = axis is None or x.ndim == 0
    axes = normalize_axis(axis, x.ndim, "std")
    out = _in_f32(lambda xd: _std_in_range(xd, np.std(xd, axis=axes, ddof=ddof, keepdims=keepdims), axes, ddof,
                                           keepdims), x.data)
    var_vjp = _var_vjp(_count(x.shape, axes), ddof, axes, keepdims, full)

    def vjp(g, y, x):  # d std = d var / (2 std), and 0 where std == 0 (y is 1 there: no 0/0 to differentiate)
        zero = y == 0
        return var_vjp(np.where(zero, 0, g / (2 * np.where(zero, 1, y))), x)
    return _make(out, "std", (x,), (x.data,), (vjp,), _weighted_sum_jvp(vjp, axes, keepdims))


_versions.reads("var", "x")   # var's VJP reads its input (2 g (x - mean) / dof), std's its output too
_versions.reads("std", "xy")


def out_of_range(out, ord):
    """Where a result computed from a sum of powers ``|x|^ord`` NumPy did not scale (a norm, a std) may be wrong:
    inf, or so small that the powers summed were subnormal (precision lost) or 0. (A zero vector or a constant
    slice is among them: rescaling keeps its 0.)"""
    return (out < _lower_bound(out.dtype, ord)) | np.isinf(out)


def any_out_of_range(out, ord):
    """Whether ``out_of_range`` holds anywhere in ``out`` (or it has a NaN), cheaply: no temporary array."""
    if out.size == 1:
        v = float(out.reshape(()))
        return not _lower_bound(out.dtype, ord) <= v < math.inf
    return out.size > 0 and not (out.min() >= _lower_bound(out.dtype, ord) and out.max() < math.inf)


_LOWER = {}


def _lower_bound(dtype, ord):
    b = _LOWER.get((dtype, ord))
    if b is None:
        fi = np.finfo(dtype)
        b = _LOWER[dtype, ord] = float(fi.smallest_normal / fi.eps) ** (1.0 / ord)
    return b


def _std_in_range(xd, out, axes, ddof, keepdims):
    """``out``, NumPy's std, recomputed as ``m * std(c / m)`` (c = x - mean, m its largest ``|c|``) where it is inf or
    so small that the squares NumPy summed were subnormal or 0: they overflow or underflow where the std is finite
    (float32 [3e20, 4e20] gave inf, [3e-30, 4e-30] gave 0 with gradient 0, not 5e19, 5e-31 and -+0.5; torch
    accumulates float32 in float64 and is right). Two reductions of the result when it is in range."""
    out = np.asarray(out)
    if out.dtype.kind != "f" or xd.size == 0 or not any_out_of_range(out, 2):
        return out
    with np.errstate(invalid="ignore", over="ignore"):
        c = xd - np.mean(xd, axis=axes, keepdims=True)
        m = np.max(np.abs(c), axis=axes, keepdims=True)
        fine = np.isfinite(m) & (m > 0)   # (a constant slice: 0 is right; inf or NaN entries: NumPy's value is)
        ms = np.where(fine, m, 1)
        scaled = np.std(c / ms, axis=axes, ddof=ddof, keepdims=True) * ms
    bad = out_of_range(out, 2) & fine.reshape(out.shape)
    return np.where(bad, scaled.reshape(out.shape), out).astype(out.dtype)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably (finite for large inputs)."""
    if _tm._VMAP:
        axis = zero_d_axis(axis, np.ndim(x))
        r = _tm._vmap_call("reduce", logsumexp, (x,), dict(axis=axis, keepdims=keepdims))
        if r is not NotImplemented:
            return r
    x = as_input(x, "logsumexp")
    axes = normalize_axis(zero_d_axis(axis, x.ndim), x.ndim, "logsumexp")  # (dim 0 of a 0-d tensor, as torch)
    xd = x.data
    m = np.max(xd, axis=axes, keepdims=True) if xd.size else np.zeros((1,) * xd.ndim, xd.dtype)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(xd - m)   # (float16 summed in float32, as torch: NumPy's float16 sum drifted 11% over 70,000 rows)
    out = (np.log(_add_reduce(e, axis=axes, dtype=_F32, keepdims=True)) + m).astype(_F16) if xd.dtype == _F16 else \
        np.log(np.sum(e, axis=axes, keepdims=True)) + m
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(xd.shape) if i not in axes))
    vjps = (lambda g, y, x: unreduce(g, x.shape, axes, keepdims) * np.exp(x - unreduce(y, x.shape, axes, keepdims)),)

    def jvp(t, y, x):  # sum(e t) / sum(e), e = exp(x - y): sum(e) is 1, and 0 / 0 = nan for an empty slice (torch)
        e = np.exp(x - unreduce(y, x.shape, axes, keepdims))
        with np.errstate(invalid="ignore"):
            return sum(e * t, axes, keepdims) / sum(e, axes, keepdims)
    return _make(out, "logsumexp", (x,), (xd,), vjps, (jvp,))


@numpy_dtype_out
def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (the flattened tensor when None), as ``np.cumsum``; float16 accumulates in
    float32, as torch (NumPy's running float16 sum drifts: 7.4 for a sum of 70,000 normals that is 8.8)."""
    x = as_input(x, "cumsum")
    axis = zero_d_axis(axis, x.ndim)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    if _tm._VMAP:
        r = _tm._vmap_call("reduce", cumsum, (x, axis), None)
        if r is not NotImplemented:
            return r
    ax = normalize_one_axis(axis, x.ndim, "cumsum")
    out = _in_f32(np.cumsum, x.data, axis=ax)  # (float16 in float32, as torch: NumPy's running float16 sum drifts)
    return _make(out, "cumsum", (x,), (x.data,),
                 (lambda g, y, x: np.flip(_in_f32(np.cumsum, np.flip(g, axis=ax), axis=ax), axis=ax),),
                 (lambda t, y, x: cumsum(t, ax),))  # linear


@numpy_dtype_out
def cumprod(x, axis=None):
    """Cumulative product along ``axis`` (the flattened tensor when None), as ``np.cumprod``; float16 is computed in
    float32 and cast back, as torch accumulates."""
    x = as_input(x, "cumprod")
    axis = zero_d_axis(axis, x.ndim)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    if _tm._VMAP:
        r = _tm._vmap_call("reduce", cumprod, (x, axis), None)
        if r is not NotImplemented:
            return r
    ax = normalize_one_axis(axis, x.ndim, "cumprod")
    out = _in_f32(np.cumprod, x.data, axis=ax)  # (float16 accumulated in float32, as torch)

    # O(n): reverse_cumsum(g * y) / x, split at the first zero (npgrad/ops/_cumprod_grad.py)
    return _make(out, "cumprod", (x,), (x.data,), (lambda g, y, x: _cumprod_grad.vjp(g, y, x, ax),),
                 (lambda t, y, x: _cumprod_grad.jvp(t, y, x, ax),))


def _value(x):
    """The NumPy value of an argument of an op without gradient (argmax, any, ...)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _arg(name, npfn):
    @batching_rule("axis_flatten")
    def op(x, axis=None, keepdims=False):
        xd = _value(x)
        axis = zero_d_axis(axis, xd.ndim)
        if axis is not None:
            axis = normalize_one_axis(axis, xd.ndim, name)
        return _wrap(npfn(xd, axis=axis, keepdims=keepdims))
    op.__name__ = op.__qualname__ = name
    op.zero_d_axis = True  # (the vmap rule applies zero_d_axis before shifting the axis)
    op.__doc__ = f"Indices of the {name[3:]}imum along ``axis`` (flattened when None); no gradient."
    return op


argmax = _arg("argmax", np.argmax)
argmin = _arg("argmin", np.argmin)


@batching_rule("axis_all")
def any(x, axis=None, keepdims=False):
    xd = _value(x)
    try:
        return _wrap(np.any(xd, axis=axis, keepdims=keepdims))
    except (TypeError, ValueError) as e:  # (an axis out of range, not an int: NumPy's message, named)
        raise named_error("any", e) from None


@batching_rule("axis_all")
def all(x, axis=None, keepdims=False):
    xd = _value(x)
    try:
        return _wrap(np.all(xd, axis=axis, keepdims=keepdims))
    except (TypeError, ValueError) as e:  # (an axis out of range, not an int: NumPy's message, named)
        raise named_error("all", e) from None


any.zero_d_axis = all.zero_d_axis = True  # (np.any / np.all take axis 0 or -1 of a 0-d input)


for _op in ("sum", "mean", "cumsum"):  # their VJPs read only shapes (npgrad/autograd/versions.py)
    _versions.reads(_op, "")

