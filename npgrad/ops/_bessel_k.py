"""Modified Bessel functions of the second kind in NumPy, to float64 precision: k0, k0e, k1, k1e, and the
scaled ``K_nu(z) e^z`` of any real order for z >= 1 (used by the Airy function, npgrad/ops/_airy.py).
Kernels only; the differentiable ops are in npgrad/ops/bessel_k.py.

For x <= 1 the series (A&S 9.6.11, 9.6.13)
``K0(x) = -log(x/2) I0(x) + sum_k psi(k+1) t^k / k!^2`` and
``K1(x) = 1/x + log(x/2) I1(x) - x/4 sum_k (psi(k+1) + psi(k+2)) t^k / (k! (k+1)!)``, t = x^2/4
(18 terms: t <= 1/4). Above, the integral ``K_nu(x) e^x = int_0^inf exp(-x (cosh u - 1)) cosh(nu u) du``
by the trapezoidal rule: its integrand is analytic in the strip |Im u| < pi/2 and decays double
exponentially, so a step h = min(1/5, 0.5/sqrt(x)) (the integrand's width is about 1/sqrt(x)) reaches float64
precision with about 25 points for every x >= 1 (the terms are positive: no cancellation).
"""
import math

import numpy as np

_EULER = 0.57721566490153286061
_SERIES_TERMS = 18
_NODES = 28           # trapezoid points: u = j h, j = 0 .. _NODES - 1
_TAIL = 46.0          # the integrand exp(-x (cosh u - 1)) is below exp(-46) past the last node


def _psi_int(k):
    """psi(k + 1) = -euler + H_k."""
    return -_EULER + sum(1.0 / j for j in range(1, k + 1))


_PSI = [_psi_int(k) for k in range(_SERIES_TERMS + 2)]


def _series_k0(x):
    t = 0.25 * x * x
    s0 = np.zeros_like(x)
    s1 = np.zeros_like(x)
    for k in range(_SERIES_TERMS, -1, -1):   # Horner from the last term: c_k = 1 / k!^2
        c = 1.0 / math.factorial(k) ** 2
        s0 = s0 * t + c
        s1 = s1 * t + c * _PSI[k]
    return -np.log(0.5 * x) * s0 + s1


def _series_k1(x):
    t = 0.25 * x * x
    s0 = np.zeros_like(x)
    s1 = np.zeros_like(x)
    for k in range(_SERIES_TERMS, -1, -1):   # c_k = 1 / (k! (k+1)!)
        c = 1.0 / (math.factorial(k) * math.factorial(k + 1))
        s0 = s0 * t + c
        s1 = s1 * t + c * (_PSI[k] + _PSI[k + 1])
    return 1.0 / x + np.log(0.5 * x) * (0.5 * x) * s0 - 0.25 * x * s1


def kv_scaled_big(nu, x):
    """``K_nu(x) e^x`` for x >= 1 (finite x), by the trapezoidal rule on the integral above."""
    x = np.asarray(x, dtype=np.float64)
    h = np.minimum(0.2, 0.5 / np.sqrt(x))
    top = np.arccosh(1.0 + _TAIL / x)          # where the integrand falls below exp(-_TAIL)
    h = np.maximum(h, top / (_NODES - 1))      # (so that the nodes reach it)
    j = np.arange(_NODES, dtype=np.float64).reshape((_NODES,) + (1,) * x.ndim)
    u = j * h
    # cosh u - 1 = 2 sinh(u/2)^2, without cancellation near 0
    f = np.exp(-x * (2.0 * np.sinh(0.5 * u) ** 2))
    if nu != 0:
        f = f * np.cosh(nu * u)
    return h * (f.sum(axis=0) - 0.5 * f[0])


def _evaluate(x, order, scaled):
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        small = (x > 0) & (x <= 1.0)
        big = (x > 1.0) & (x < np.inf)
        if small.any():
            a = x[small]
            v = _series_k0(a) if order == 0 else _series_k1(a)
            out[small] = v * np.exp(a) if scaled else v
        if big.any():
            a = x[big]
            v = kv_scaled_big(order, a)
            out[big] = v if scaled else v * np.exp(-a)
        out[x == 0] = np.inf
        out[x == np.inf] = 0.0
    return out   # NaN below 0 and at NaN, as SciPy


def k0(x):
    """The modified Bessel function K0 (float64): +inf at 0, NaN below."""
    return _evaluate(x, 0, False)


def k0e(x):
    """``exp(x) K0(x)`` (float64)."""
    return _evaluate(x, 0, True)


def k1(x):
    """The modified Bessel function K1 (float64): +inf at 0, NaN below."""
    return _evaluate(x, 1, False)


def k1e(x):
    """``exp(x) K1(x)`` (float64)."""
    return _evaluate(x, 1, True)
