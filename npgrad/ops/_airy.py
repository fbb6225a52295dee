"""The Airy function Ai and its derivative Ai' in NumPy, to about 1e-15 relative (absolute near the zeros of
the oscillating side): kernels only, the differentiable op is ``npg.special.airy_ai`` (npgrad/ops/bessel_k.py).

* ``-2.5 <= x <= 1.5``: the Maclaurin series ``Ai = c1 f(x) - c2 g(x)`` (A&S 10.4.2-3), with
  ``f = sum_k 3^k (1/3)_k x^3k / (3k)!`` and ``g = sum_k 3^k (2/3)_k x^(3k+1) / (3k+1)!``;
* ``-21.5 <= x < -2.5``: the Taylor series about the nearest integer c (|x - c| <= 1/2), from Ai(c) and Ai'(c)
  (tabulated to 20 digits) and Ai'' = x Ai: ``a_{k+2} = (c a_k + a_{k-1}) / ((k+1)(k+2))``;
* ``x > 1.5``: ``Ai(x) = sqrt(x/3) / pi K_{1/3}(zeta)``, ``Ai'(x) = -x / (pi sqrt 3) K_{2/3}(zeta)``,
  zeta = 2/3 x^(3/2) (DLMF 9.6.1), the scaled K by the trapezoidal rule of npgrad/ops/_bessel_k.py;
* ``x < -21.5`` (zeta > 66): the asymptotic expansions DLMF 9.7.9-10 in cos and sin of ``zeta - pi/4``, whose
  smallest term, e^(-2 zeta), is below 1e-15.
"""
import math

import numpy as np

from ._bessel_k import kv_scaled_big

_C1 = 0.355028053887817239260       # Ai(0)
_C2 = 0.258819403792806798405       # -Ai'(0)
_LOW, _HIGH, _TAYLOR_END = -2.5, 1.5, -21.5
_TAYLOR_TERMS = 34
_CENTERS = np.array([  # (c, Ai(c), Ai'(c)) for c = -3 .. -21 (mpmath, 20 digits)
    (-3.0, -0.37881429367765807435, 0.31458376921659881365),
    (-4.0, -0.070265532949289515099, -0.7906285753685813803),
    (-5.0, 0.35076100902411431979, 0.32719281855444313679),
    (-6.0, -0.32914517362982310523, 0.34593548728134289493),
    (-7.0, 0.18428083525050563728, -0.77100816841012654773),
    (-8.0, -0.052705050356386202622, 0.93556093819830655103),
    (-9.0, -0.022133721547341403674, -0.97566398092633159471),
    (-10.0, 0.040241238486443190689, 0.9962650441327900559),
    (-11.0, -0.00875958925570238129, -1.0273278736645794215),
    (-12.0, -0.066555175054373129474, 1.0231104533679707299),
    (-13.0, 0.17151043937053704463, -0.87151967787995336672),
    (-14.0, -0.26598348278407779838, 0.44302487700284364117),
    (-15.0, 0.27821749087082892953, 0.27237420430864202083),
    (-16.0, -0.14305793166909969778, -0.97476444162127271796),
    (-17.0, -0.10526230029095239023, 1.0586845766446600774),
    (-18.0, 0.27120454080441422158, -0.15903891520496801577),
    (-19.0, -0.14166127688042265637, -1.0049611250051395935),
    (-20.0, -0.17640612707798468959, 0.8928628567364712384),
    (-21.0, 0.22635849367898896625, 0.62129444990892707241),
])
_SERIES_TERMS = 60
_ASYM_TERMS = 40
_SQRT_PI = math.sqrt(math.pi)


def _u_v():
    u, v = [1.0], [1.0]
    for k in range(1, _ASYM_TERMS):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216.0 * k))
        v.append(-(6 * k + 1) / (6 * k - 1) * u[-1])
    return u, v


_U, _V = _u_v()


def _series(x, derivative):
    x3 = x * x * x
    if not derivative:   # f, g and their terms' ratios x^3 / ((3k+2)(3k+3)), x^3 / ((3k+3)(3k+4))
        tf, tg = np.ones_like(x), x.copy()
        f, g = tf.copy(), tg.copy()
        for k in range(_SERIES_TERMS):
            tf = tf * (x3 / ((3 * k + 2) * (3 * k + 3)))
            tg = tg * (x3 / ((3 * k + 3) * (3 * k + 4)))
            f += tf
            g += tg
        return _C1 * f - _C2 * g
    tf, tg = 0.5 * x * x, np.ones_like(x)     # f' = sum_{k>=1} 3k a_k x^(3k-1), g' = sum (3k+1) b_k x^3k
    f, g = tf.copy(), tg.copy()
    for k in range(1, _SERIES_TERMS):
        tf = tf * (x3 / (3 * k * (3 * k + 2)))
        tg = tg * (x3 / ((3 * k - 2) * (3 * k)))
        f += tf
        g += tg
    return _C1 * f - _C2 * g


def _asym_negative(x, derivative):
    z = -x
    zeta = (2.0 / 3.0) * z * np.sqrt(z)
    coef = _V if derivative else _U
    even, odd = np.zeros_like(z), np.zeros_like(z)
    w = 1.0 / (zeta * zeta)
    for k in range(_ASYM_TERMS // 2 - 1, -1, -1):   # sum (-1)^k c_2k zeta^-2k, sum (-1)^k c_2k+1 zeta^-2k-1
        even = even * w + (-1) ** k * coef[2 * k]
        odd = odd * w + (-1) ** k * coef[2 * k + 1]
    odd = odd / zeta
    c, s = np.cos(zeta - 0.25 * math.pi), np.sin(zeta - 0.25 * math.pi)
    if derivative:
        return np.sqrt(np.sqrt(z)) / _SQRT_PI * (s * even - c * odd)
    return (c * even + s * odd) / (_SQRT_PI * np.sqrt(np.sqrt(z)))


def _positive(x, derivative):
    zeta = (2.0 / 3.0) * x * np.sqrt(x)
    with np.errstate(under="ignore"):
        e = np.exp(-zeta)
    if derivative:
        return -x / (math.pi * math.sqrt(3.0)) * kv_scaled_big(2.0 / 3.0, zeta) * e
    return np.sqrt(x / 3.0) / math.pi * kv_scaled_big(1.0 / 3.0, zeta) * e


def _taylor(x, derivative):
    c = np.clip(np.round(x), -21.0, -3.0)   # (round half to even: -21.5 would round to -22, past the table)
    row = (-3 - c).astype(np.intp)
    d = x - c
    a_prev, a = _CENTERS[row, 1], _CENTERS[row, 2]          # a_0, a_1
    a_next = 0.5 * c * a_prev                                # a_2
    coefs = [a_prev, a, a_next]
    for k in range(1, _TAYLOR_TERMS - 2):
        coefs.append((c * coefs[k] + coefs[k - 1]) / ((k + 1) * (k + 2)))
    out = np.zeros_like(x)
    if derivative:
        for k in range(_TAYLOR_TERMS - 1, 0, -1):
            out = out * d + k * coefs[k]
        return out
    for k in range(_TAYLOR_TERMS - 1, -1, -1):
        out = out * d + coefs[k]
    return out


def _evaluate(x, derivative):
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        mid = (x >= _LOW) & (x <= _HIGH)
        pos = (x > _HIGH) & (x < np.inf)
        near = (x < _LOW) & (x >= _TAYLOR_END)
        neg = (x < _TAYLOR_END) & (x > -np.inf)
        for mask, fn in ((mid, _series), (pos, _positive), (near, _taylor), (neg, _asym_negative)):
            if mask.any():
                out[mask] = fn(x[mask], derivative)
    return out


def airy_ai(x):
    """Ai(x) (float64); NaN at +-inf, as SciPy and torch."""
    return _evaluate(x, False)


def airy_aip(x):
    """Ai'(x) (float64)."""
    return _evaluate(x, True)
