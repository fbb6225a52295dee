"""More of NumPy's elementwise ufuncs (hyperbolic and inverse trigonometric functions, ``fmax``/``fmin``, ``hypot``,
``logaddexp``, ``copysign``, rounding, ``nan_to_num``...), declared in the same two tables as
npgrad/ops/elementwise.py, whose ``unary`` / ``binary`` make them: forward, one VJP per input, the JVP (``DIAG``:
the VJP's formula) and the values the VJPs read.
"""
import functools
import math

import numpy as np

from . import _edge_rules as _er
from ..autograd import versions as _versions
from ._util import as_input, zeros_grad
from ..tensor import is_complex_value
from .elementwise import _LN2, DIAG, Exact, _make, _tm, binary, unary

_PI = math.pi
_D2R, _R2D = math.pi / 180.0, 180.0 / math.pi


def _zero(g, y, *inputs):  # piecewise-constant ops: a zero gradient, as PyTorch
    return zeros_grad(g)


def _sinc_vjp(g, y, x):   # d sinc(x)/dx = (cos(pi x) - sinc(x)) / x, and 0 at x = 0 (as torch.sinc)
    # (sinc recomputed from x, not read from y: torch's reads only x, so the output may be written in place)
    # Below |x| = 0.1 its Taylor series pi^2 x sum_k c_k (pi x)^(2k-2): the quotient cancels there (its
    # derivative at x = 1e-9 came out -pi^2, not -pi^2/3)
    small = np.abs(x) < 0.1
    xs = np.where(small, 1.0, x)
    u = x * x * (_PI * _PI)
    series = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = series * u + c
    return g * np.where(small, series * (_PI * _PI) * x, (np.cos(xs * _PI) - np.sinc(xs)) / xs)


_SINC_SERIES = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 7))


def _sinc_complex(z):
    """sinc of a complex tensor, ``sin(pi z) / (pi z)`` and 1 at 0, from holomorphic ops (as torch.sinc: its
    gradient at 0 is 0)."""
    from .elementwise import div, mul, sin, where
    zero = z == 0
    zs = where(zero, 1.0, z)
    pz = mul(zs, _PI)
    return where(zero, 1.0, div(sin(pz), pz))


def _arctan_vjp(g, y, x):
    # 1 / (1 + x^2) as (g / h) / h with h = hypot(x, 1): x * x overflows where the gradient is finite (float32
    # x = 2e19 gave 0 instead of 2.5e-39, float64 x = 1e160 gave 0 instead of 1e-320; torch too). arcsinh's
    # 1 / sqrt(1 + x^2) is 1 / hypot(x, 1) for the same reason (float32 x = 2e19 gave 0 instead of 5e-20).
    # (Complex x: the plain formulas, hypot being real-only.)
    if is_complex_value(x):
        return g / (1.0 + x * x)
    h = np.hypot(x, 1.0)
    return (g / h) / h


def _arcsinh_vjp(g, y, x):
    return g / np.sqrt(x * x + 1.0) if is_complex_value(x) else g / np.hypot(x, 1.0)   # (see _arctan_vjp)


def _cbrt_vjp(g, y, x):   # 1 / (3 cbrt(x)^2): inf at 0, as x ** (1/3) in PyTorch
    return g / (3.0 * y * y)


#            name        forward          VJP: d/dx (g: output grad, y: output, x: input)  JVP  values read
sinh       = unary("sinh",       np.sinh,        lambda g, y, x: g * np.cosh(x), DIAG, "x")
cosh       = unary("cosh",       np.cosh,        lambda g, y, x: g * np.sinh(x), DIAG, "x")
arcsin     = unary("arcsin",     np.arcsin,      lambda g, y, x: g / np.sqrt(1.0 - x * x), DIAG, "x")
arccos     = unary("arccos",     np.arccos,      lambda g, y, x: -g / np.sqrt(1.0 - x * x), DIAG, "x")
arctan     = unary("arctan",     np.arctan,      _arctan_vjp, DIAG, "x")
arcsinh    = unary("arcsinh",    np.arcsinh,     _arcsinh_vjp, DIAG, "x")
arccosh    = unary("arccosh",    np.arccosh,     lambda g, y, x: g / (np.sqrt(x - 1.0) * np.sqrt(x + 1.0)), DIAG, "x")
arctanh    = unary("arctanh",    np.arctanh,     lambda g, y, x: g / (1.0 - x * x), DIAG, "x")
exp2       = unary("exp2",       np.exp2,        lambda g, y, x: g * y * _LN2, DIAG, "y")
cbrt       = unary("cbrt",       np.cbrt,        _cbrt_vjp, DIAG, "y")
sinc       = unary("sinc",       np.sinc,        _sinc_vjp, DIAG, "x", complex_op=lambda z: _sinc_complex(z))
deg2rad    = unary("deg2rad",    np.deg2rad,     lambda g, y, x: g * _D2R, DIAG, "")
rad2deg    = unary("rad2deg",    np.rad2deg,     lambda g, y, x: g * _R2D, DIAG, "")
trunc      = unary("trunc",      np.trunc,       _zero, DIAG, "")
fix        = unary("fix",        np.fix,         _zero, DIAG, "")
rint       = unary("rint",       np.rint,        _zero, DIAG, "")
radians, degrees = deg2rad, rad2deg
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh


def _fmax_a(g, y, a, b):  # torch.fmax: ties (and a NaN b) send the gradient to a
    return np.where((a >= b) | np.isnan(b), g, 0.0)


def _fmax_b(g, y, a, b):
    return np.where((a >= b) | np.isnan(b), 0.0, g)


def _fmin_a(g, y, a, b):
    return np.where((a <= b) | np.isnan(b), g, 0.0)


def _fmin_b(g, y, a, b):
    return np.where((a <= b) | np.isnan(b), 0.0, g)


def _copysign_a(g, y, a, b):  # d/da = sign(a) sign(y) (= y / a), 0 at a = 0, as torch.copysign
    return g * np.sign(a) * np.sign(y)


#            name            forward          VJP d/da                       VJP d/db      JVP  values read
arctan2    = binary("arctan2",    np.arctan2,      _er.atan2_a,                   _er.atan2_b, DIAG, "ab")
hypot      = binary("hypot",      np.hypot,        lambda g, y, a, b: g * (a / y),  # (a / y first: g * a
                    lambda g, y, a, b: g * (b / y), DIAG, ("ay", "by"))  # overflows for a large g and a)
logaddexp  = binary("logaddexp",  np.logaddexp,    _er.logaddexp_a,               _er.logaddexp_b, DIAG, "ab")
logaddexp2 = binary("logaddexp2", np.logaddexp2,   _er.logaddexp2_a,              _er.logaddexp2_b, DIAG, "ab")
fmax       = binary("fmax",       np.fmax,         _fmax_a,                       _fmax_b, DIAG, "ab")
fmin       = binary("fmin",       np.fmin,         _fmin_a,                       _fmin_b, DIAG, "ab")
fmod       = binary("fmod",       np.fmod,         lambda g, y, a, b: g,
                    lambda g, y, a, b: -g * np.trunc(a / b), DIAG, ("", "ab"))
copysign   = binary("copysign",   np.copysign,     _copysign_a,                   _zero, DIAG, ("ay", ""))
nextafter  = binary("nextafter",  np.nextafter,    lambda g, y, a, b: g,  # one ulp from a: d/da = 1, as torch
                    _zero, DIAG, ("", ""))
heaviside  = binary("heaviside",  np.heaviside,    _zero,  # d/d(values) = 1 where x == 0
                    lambda g, y, a, b: np.where(a == 0, g, 0.0), DIAG, ("", "a"))
atan2 = arctan2
nextafter.__doc__ = ("The next float after ``x1`` towards ``x2``, as ``np.nextafter`` (float32 stays float32). The "
                     "gradient passes to ``x1`` (the result is ``x1`` moved by one ulp) and is zero in ``x2``, as "
                     "``torch.nextafter``'s.")
heaviside.__doc__ = ("``np.heaviside(x, values)``: 0 for x < 0, ``values`` at x == 0, 1 for x > 0. The gradient "
                     "is zero in ``x`` and passes to ``values`` where x == 0 (PyTorch has no derivative here).")


def round(x, decimals=0):
    """Round to ``decimals`` decimal places (half to even), as ``np.round``; the gradient is zero
    almost everywhere, as in PyTorch."""
    if not isinstance(decimals, (int, np.integer)):  # (NumPy raises for 2.5 or "2"; int() would take them)
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}")
    return _rounder(int(decimals))(x)


def _round_decimals(decimals):
    return unary("round", lambda d: np.round(d, decimals), _zero, DIAG, "")


_rounder = functools.lru_cache(maxsize=32)(_round_decimals)
around = round


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan`` and infinities by ``posinf`` / ``neginf`` (the dtype's largest finite
    values by default), as ``np.nan_to_num``; the gradient passes where ``x`` is finite (as PyTorch)."""
    if _tm._VMAP:
        r = _tm._vmap_call("unary", nan_to_num, (x,), dict(copy=copy, nan=nan, posinf=posinf, neginf=neginf))
        if r is not NotImplemented:
            return r
    x = as_input(x, "nan_to_num")
    out = np.nan_to_num(x.data, copy=True, nan=nan, posinf=posinf, neginf=neginf)
    return _make(out, "nan_to_num", (x,), (x.data,), _NAN_TO_NUM_VJPS, _NAN_TO_NUM_VJPS)  # JVP: DIAG


_versions.reads("nan_to_num", "x")  # (where x is finite: npgrad/autograd/versions.py)


_NAN_TO_NUM_VJPS = Exact((lambda g, y, x: np.where(np.isfinite(x), g, 0.0),))
