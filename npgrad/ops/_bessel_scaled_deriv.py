"""The derivatives of the exponentially scaled Bessel functions ``i0e i1e k0e k1e`` for a large argument,
without the cancellation of their closed forms.

``d/dx i0e = i1e - i0e`` (x > 0) and ``d/dx k0e = k0e - k1e`` subtract two nearly equal numbers: both are
``~ (2 pi x)^-1/2`` (``(pi / 2x)^1/2``) while their difference is ``~ 1/(2x)`` of that, so the closed forms
lose ``log10(2x)`` digits (1e-8 relative at x = 1e8 in float64, everything by x = 1e15; in float32 already
7e-5 at x = 1e3). Above ``SWITCH`` the derivative is summed instead from the difference of the two
asymptotic series (DLMF 10.40.1, 10.40.2)::

    I_nu(x) e^-x ~ (2 pi x)^-1/2 sum_k (-1)^k a_k(nu) / x^k,    K_nu(x) e^x ~ (pi / 2x)^1/2 sum_k a_k(nu) / x^k,
    a_k(nu) = prod_{j=1..k} (4 nu^2 - (2j - 1)^2) / (k! 8^k),

term by term (``(e^-x I1)' = e^-x I0 - e^-x I1 (1 + 1/x)``, ``(e^x K1)' = e^x K1 (1 - 1/x) - e^x K0``), whose
coefficients are exact rationals here. At x >= 30, TERMS terms reach float64 precision (the terms fall by
about k / 2x each). The functions take NumPy arrays or Tensors (arithmetic only), so the derivatives taken
with ``create_graph=True`` are differentiable again.
"""
import math
from fractions import Fraction

import numpy as np

SWITCH = 30.0
TERMS = 24


def _a(nu, k):
    """a_k(nu) of the asymptotic series, as an exact fraction."""
    num = Fraction(1)
    for j in range(1, k + 1):
        num *= 4 * nu * nu - (2 * j - 1) ** 2
    return num / (math.factorial(k) * 8 ** k)


def _coefficients():
    a0 = [_a(0, k) for k in range(TERMS + 1)]
    a1 = [_a(1, k) for k in range(TERMS + 1)]
    sgn = [(-1) ** k for k in range(TERMS + 1)]
    i0e = [sgn[k] * (a1[k] - a0[k]) for k in range(TERMS + 1)]
    i1e = [sgn[k] * (a0[k] - a1[k]) - (sgn[k - 1] * a1[k - 1] if k else 0) for k in range(TERMS + 1)]
    k0e = [a0[k] - a1[k] for k in range(TERMS + 1)]
    k1e = [a1[k] - a0[k] - (a1[k - 1] if k else 0) for k in range(TERMS + 1)]
    return {name: [float(c) for c in cs] for name, cs in
            dict(i0e=i0e, i1e=i1e, k0e=k0e, k1e=k1e).items()}


_COEFS = _coefficients()
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_PI_2 = math.sqrt(0.5 * math.pi)


def far(x):
    """Where the closed forms cancel (|x| >= SWITCH): the derivatives are summed from the series there."""
    return abs(x) >= SWITCH


def far_x(x):
    """|x| where ``far(x)``, else the switch point (no overflow, no NaN in the branch ``np.where`` drops)."""
    return np.where(far(x), abs(x), SWITCH)


def large_x(name, x):
    """The derivative of ``name`` (``i0e i1e k0e k1e``) at ``x >= SWITCH`` (an array or Tensor; the caller
    picks the values there, and the sign for a negative argument of i0e / i1e)."""
    u = 1.0 / x
    cs = _COEFS[name]
    acc = cs[-1]
    for c in cs[-2::-1]:
        acc = acc * u + c
    scale = _INV_SQRT_2PI if name[0] == "i" else _SQRT_PI_2
    return acc * scale * x ** -0.5
