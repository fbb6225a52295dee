"""NumPy's numeric helpers on tensors: ``piecewise``, ``apply_along_axis``, ``trapezoid``, ``unwrap``; the ufuncs
with several outputs or an integer part (``ldexp``, ``frexp``, ``modf``, ``divmod``); ``i0`` and the function
form of ``astype``.

They are composites of differentiable ops, so their VJPs, JVPs and vmap batching are those ops', except three
elementwise primitives declared with ``elementwise.unary`` / ``binary`` (forward, VJP and JVP side by side, which
gives them the elementwise batching rules): ``ldexp`` (``x1 * 2**x2``, exact, for an integer ``x2``), the mantissa
of ``frexp`` and the fractional part of ``modf`` (NumPy's exact values, also at infinities and signed zeros).
"""
import builtins
import math

import numpy as np

from ..tensor import Tensor, _wrap
from ._util import as_input, normalize_one_axis
from .arrays import diff
from .comparison import _no_grad_unary
from .elementwise import DIAG, abs, binary, floor_divide, remainder, unary, where
from .elementwise_more import trunc
from .index import getitem, scatter_add
from .reduce import cumsum, sum
from .shape import astype as _astype, broadcast_to, concatenate, moveaxis, reshape, stack, transpose
from .special import i0 as _special_i0

__all__ = ["apply_along_axis", "astype", "divmod", "frexp", "i0", "ldexp", "modf", "piecewise", "trapezoid",
           "unwrap"]


def _sl(ax, start=None, stop=None):
    return (slice(None),) * ax + (slice(start, stop),)


# ------------------------------------------------------------------------------ piecewise functions
def _cond_data(condlist):
    """``condlist`` with Tensors replaced by their data (a list of tensors is a list of conditions)."""
    if isinstance(condlist, Tensor):
        return condlist.data
    if isinstance(condlist, (list, tuple)):
        return [c.data if isinstance(c, Tensor) else c for c in condlist]
    return condlist


def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: where ``condlist[i]`` holds, the result is ``funclist[i](x[condlist[i]], *args, **kw)``
    (the function gets the selected elements as a 1-D tensor) or the constant ``funclist[i]``; a later condition
    overrides an earlier one; one extra function is the value where no condition holds; elsewhere 0. The
    result has ``x``'s dtype. Differentiable in ``x`` through the functions (each only sees, and so only
    differentiates, the elements it is applied to) and in tensor constants."""
    x = as_input(x, "piecewise")
    n2 = len(funclist)
    conds = _cond_data(condlist)
    if np.isscalar(conds) or (not isinstance(conds[0], (list, np.ndarray)) and x.ndim != 0):
        conds = [conds]  # a single condition (NumPy's undocumented promotion)
    conds = np.asarray(conds, dtype=bool)
    n = len(conds)
    if n == n2 - 1:  # the "otherwise" condition
        conds = np.concatenate([conds, ~np.any(conds, axis=0, keepdims=True)], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(f"piecewise: with {n} condition(s), either {n} or {n + 1} functions are expected")
    if x.ndim == 0:  # (as one element: a 0-d boolean index has no batching rule)
        return reshape(_pieces(reshape(x, (1,)), conds.reshape(n, 1), funclist, args, kw), ())
    return _pieces(x, conds, funclist, args, kw)


def _pieces(x, conds, funclist, args, kw):
    y = _wrap(np.zeros(x.shape, x.dtype))
    for cond, func in zip(conds, funclist):
        if cond.shape != x.shape:
            raise IndexError(f"piecewise: a condition of shape {cond.shape} does not match x of shape {x.shape}")
        if callable(func):
            vals = getitem(x, (cond,))
            if vals.size == 0:
                continue
            vals = func(vals, *args, **kw)
        else:
            vals = func
        vals = as_input(vals, "piecewise")
        if vals.dtype != x.dtype:
            vals = _astype(vals, x.dtype)  # y[cond] = vals casts to x's dtype
        if vals.ndim == 0:
            y = where(cond, vals, y)
            continue
        count = int(cond.sum())
        while vals.ndim > 1 and vals.shape[0] == 1:
            vals = reshape(vals, vals.shape[1:])
        if vals.ndim > 1 or vals.shape[0] not in (1, count):
            raise ValueError(f"piecewise: a function's result of shape {vals.shape} does not fit the {count} "
                             f"elements of its condition")
        if vals.shape[0] != count:
            vals = broadcast_to(vals, (count,))
        y = where(cond, scatter_add(x.shape, (cond,), vals), y)
    return y


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d(v, *args, **kwargs)`` on every 1-D slice ``v`` of ``arr`` along ``axis``, as
    ``np.apply_along_axis``: the results (all of the first one's shape; later ones cast to its dtype) take
    ``axis``'s place in the output. A Python loop over the slices, then a stack; differentiable wherever
    ``func1d`` is."""
    arr = as_input(arr, "apply_along_axis")
    ax = normalize_one_axis(axis, arr.ndim, "apply_along_axis")
    moved = moveaxis(arr, ax, -1)
    lead = moved.shape[:-1]
    if 0 in lead:
        raise ValueError("apply_along_axis: Cannot apply_along_axis when any iteration dimensions are 0")
    results = [as_input(func1d(moved[ind], *args, **kwargs), "apply_along_axis") for ind in np.ndindex(*lead)]
    shape, dtype = results[0].shape, results[0].dtype
    for i, r in enumerate(results):
        if r.dtype != dtype:
            r = _astype(r, dtype)
        if r.shape != shape:
            try:
                r = broadcast_to(r, shape)
            except ValueError:
                raise ValueError(f"apply_along_axis: func1d returned shape {r.shape} for one slice and "
                                 f"{shape} for the first") from None
        results[i] = r
    buff = reshape(stack(results), lead + shape)
    k = len(lead)
    return transpose(buff, tuple(range(ax)) + tuple(range(k, k + len(shape))) + tuple(range(ax, k)))


# ---------------------------------------------------------------------------- integration, phases
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, as ``np.trapezoid``: at sample points
    ``x`` (1-D along ``axis``, or ``y``'s shape) or spacing ``dx``. Differentiable in ``y``, ``x`` and a tensor
    ``dx``."""
    y = as_input(y, "trapezoid")
    ax = normalize_one_axis(axis, y.ndim, "trapezoid")
    if x is None:
        d = dx
    else:
        x = as_input(x, "trapezoid")
        if x.ndim == 1:
            d = diff(x)
            d = reshape(d, (1,) * ax + (d.shape[0],) + (1,) * (y.ndim - ax - 1))
        else:
            d = diff(x, axis=axis)
    try:
        return sum(d * (y[_sl(ax, 1)] + y[_sl(ax, None, -1)]) / 2.0, axis=ax)
    except ValueError as e:
        raise ValueError(f"trapezoid: the spacing does not match y of shape {y.shape} along axis {axis} "
                         f"({e})") from None


def unwrap(p, discont=None, axis=-1, *, period=2 * math.pi):
    """``p`` with its jumps of more than ``max(discont, period/2)`` between neighbours along ``axis`` taken
    back by multiples of ``period``, as ``np.unwrap`` (NumPy's dtype: ``p``'s float dtype, or the type of
    ``period`` for integer ``p``). The correction is piecewise constant, so the gradient is 1 in ``p``."""
    p = as_input(p, "unwrap")
    ax = normalize_one_axis(axis, p.ndim, "unwrap")
    dd = diff(p, axis=ax)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(dd.dtype, period)
    if np.issubdtype(dtype, np.integer):
        high, rem = builtins.divmod(period, 2)
        ambiguous = rem == 0
    else:
        high, ambiguous = period / 2, True
    low = -high
    ddmod = remainder(dd - low, period) + low
    if ambiguous:  # a jump of exactly period/2 keeps its sign
        ddmod = where((ddmod == low) & (dd > 0), high, ddmod)
    correction = where(abs(dd) < discont, 0, ddmod - dd)
    up = p if p.dtype == dtype else _astype(p, dtype)
    rest = p[_sl(ax, 1)] + cumsum(correction, axis=ax)
    if rest.dtype != dtype:
        rest = _astype(rest, dtype)
    return concatenate([up[_sl(ax, None, 1)], rest], axis=ax)


# ------------------------------------------------------------------- ufuncs with integer parts
def _float_like(x, ufunc, name):
    """``x`` as the float dtype ``ufunc`` computes in (integer and bool inputs are cast, as NumPy casts them)."""
    x = as_input(x, name)
    dt = ufunc(np.zeros(0, x.dtype))[0].dtype
    return x if x.dtype == dt else _astype(x, dt)


#                forward      VJP (g: output grad, y: output, inputs)                  JVP  values read
def _ldexp_forward(x1, x2):
    """``np.ldexp``, with a clear error for the exponents NumPy refuses (float, complex)."""
    k1, k2 = np.result_type(x1).kind, np.result_type(x2).kind
    if k2 not in "biu" or k1 == "c":
        raise TypeError(f"npg.ldexp: x2 must be an integer exponent (as np.ldexp), got x1 of dtype "
                        f"{np.result_type(x1)} and x2 of dtype {np.result_type(x2)}; for a float exponent use "
                        f"x1 * npg.exp2(x2), or the Tensor method x1.ldexp(x2) (PyTorch's)")
    return np.ldexp(x1, x2)


ldexp = binary("ldexp", _ldexp_forward, lambda g, y, a, b: np.ldexp(g, b), lambda g, y, a, b: g * 0, DIAG, ("b", ""),
               doc="``x1 * 2**x2`` for an integer ``x2``, exactly, as ``np.ldexp`` (``x1``'s float dtype; int "
                   "``x1`` gives float64). Differentiable in ``x1`` (``d/dx1 = 2**x2``); ``x2`` is an integer.")
_mantissa = unary("frexp", lambda x: np.frexp(x)[0], lambda g, y, x: np.ldexp(g, -np.frexp(x)[1]), DIAG, "x")
_exponent = _no_grad_unary("frexp_exponent", lambda x: np.frexp(x)[1], "The exponent of ``np.frexp`` (int32).")
_fraction = unary("modf", lambda x: np.modf(x)[0], lambda g, y, x: g, DIAG, "")


def frexp(x):
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent`` and ``0.5 <= |mantissa| < 1`` (0 for 0), as
    ``np.frexp``. The mantissa is differentiable (``d/dx = 2**-exponent``); the exponent is an int32 tensor
    without gradient (as ``torch.frexp``)."""
    x = _float_like(x, np.frexp, "frexp")
    return _mantissa(x), _exponent(x)


def modf(x):
    """``(fractional part, integral part)``, both with ``x``'s sign, as ``np.modf``: gradient 1 for the
    fractional part and 0 for the integral part (as ``torch.frac`` / ``torch.trunc``)."""
    x = _float_like(x, np.modf, "modf")
    return _fraction(x), trunc(x)


def divmod(x1, x2):
    """``(floor_divide(x1, x2), remainder(x1, x2))``, as ``np.divmod``: the quotient has no gradient, the
    remainder that of ``npg.remainder`` (1 in ``x1``, ``-floor(x1 / x2)`` in ``x2``)."""
    return floor_divide(x1, x2), remainder(x1, x2)


def i0(x):
    """The modified Bessel function of the first kind of order 0, as ``np.i0`` (float input keeps its dtype,
    integer input gives float64; complex input is refused). Differentiable (``i0' = i1``)."""
    x = as_input(x, "i0")
    if x.dtype.kind == "c":
        raise TypeError("i0: i0 not supported for complex values")
    return _special_i0(x if x.dtype.kind == "f" else _astype(x, np.float64))


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` as ``dtype``, NumPy 2's ``np.astype``: a new tensor (``x`` itself when ``copy=False`` and it has
    that dtype already). Differentiable to float and complex dtypes (the gradient is cast back)."""
    if device not in (None, "cpu"):
        raise ValueError(f"astype: npgrad tensors live on the CPU, got device={device!r}")
    x = as_input(x, "astype")
    if not copy and x.dtype == np.dtype(dtype):
        return x
    return _astype(x, dtype)


def numpy_functions():
    """The ``np.X -> npg.X`` entries for ``__array_function__``."""
    names = ["apply_along_axis", "i0", "piecewise", "trapezoid", "unwrap"] + (["astype"] if hasattr(np, "astype")
                                                                           else [])
    return {getattr(np, name): globals()[name] for name in names if hasattr(np, name)}


def numpy_ufuncs():
    """The ``np.X -> npg.X`` entries for ``__array_ufunc__``."""
    return {np.ldexp: ldexp, np.frexp: frexp, np.modf: modf, np.divmod: divmod}


def attach(T):
    """``divmod(t, other)`` and ``divmod(other, t)``, as for ndarray."""
    T.__divmod__ = lambda self, other: divmod(self, other)
    T.__rdivmod__ = lambda self, other: divmod(other, self)
