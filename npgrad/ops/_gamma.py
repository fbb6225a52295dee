"""The gamma function family in NumPy, to float64 precision: gammaln, gamma, digamma, the Hurwitz zeta
function (and polygamma from it), betaln. Kernels only (arrays in, float64 arrays out); the
differentiable ops are in npgrad/ops/special.py.

Methods (standard ones; the coefficients are mathematical constants, made with mpmath by
``_coefficients`` below, which npgrad does not run):

* ``gammaln``: Stirling's series for x >= 13; below, the recurrence ``lgamma(x + 1) = lgamma(x) + log x``
  down (or up) to [1.5, 2.5], where the Taylor series of ``lgamma(2 + e)`` (coefficients
  ``(-1)^k (zeta(k) - 1) / k``) keeps full relative precision near the zeros at 1 and 2; the reflection
  formula for x < 0.
* ``gamma``: the same reduction with ``exp`` of the small series value and a product, Stirling's formula
  with ``x**((x - 0.5) / 2)`` taken twice above 13 (no premature overflow), reflection below 0.
* ``digamma``: asymptotic series for x >= 10, the recurrence below, a Taylor series about the positive
  zero 1.46163... (so values near it keep their relative precision), reflection (``pi cot(pi x)``) below 0.
* ``zeta(s, q)`` (Hurwitz): direct sum up to ``q + N >= 10 + s``, then Euler-Maclaurin with 12 Bernoulli
  terms; ``polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x)``.
* ``betaln``: ``gammaln(a) + gammaln(b) - gammaln(a + b)`` for small arguments, and Stirling's series
  written as differences (``log1p``) when one or both are large, where that sum would cancel.
"""
import functools
import math
from fractions import Fraction

import numpy as np

from . import _digamma_roots

# lgamma(2 + e) = sum_k _L2[k] e^k, |e| <= 0.5
_L2 = (
    0.0, 0.42278433509846713, 0.3224670334241132, -0.0673523010531981, 0.020580808427784546,
    -0.007385551028673986, 0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425,
    -0.00022315475845357939, 9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05,
    -9.439488275268397e-06, 4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07,
    -4.492469198764566e-07, 2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08,
    -2.2711094608943164e-08, 1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09,
    -1.1921401405860912e-09, 5.731367241678862e-10, -2.7595228851242334e-10, 1.330476437424449e-10,
    -6.4229645638381e-11, 3.1044247747322276e-11,
)
# the positive zero of digamma, as hi + lo, and digamma(x0 + h) = sum_n _PSI0[n - 1] h^n, |h| <= 0.25
_X0_HI, _X0_LO = 1.4616321449683622, 9.549995429965697e-17
_PSI0 = (
    0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652, 0.10782405069126237,
    -0.07219956125645471, 0.04880428816414311, -0.03316112647484736, 0.022597648232218104,
    -0.01542476590494896, 0.010538791616612175, -0.007204534386356869, 0.004926781395729853,
    -0.003369801655439328, 0.002305126326734928, -0.0015769367714301972, 0.0010788252019162967,
    -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077, 0.00023635601564027053,
    -0.00016170622091974803, 0.0001106337276874741, -7.569179582195066e-05, 5.178575795222081e-05,
    -3.5430070947659604e-05,
)

# Bernoulli numbers B_2, B_4, ..., B_24
_B2K = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
        Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
        Fraction(-174611, 330), Fraction(854513, 138), Fraction(-236364091, 2730))
# Stirling: lgamma(x) = (x - 1/2) log x - x + log(2 pi) / 2 + sum_k B_2k / (2k (2k - 1) x^(2k - 1))
_STIRLING = tuple(float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(_B2K[:9], 1))
# digamma(x) = log x - 1 / (2x) - sum_k B_2k / (2k x^2k)
_PSI_ASYM = tuple(float(b / (2 * k)) for k, b in enumerate(_B2K[:9], 1))
# Euler-Maclaurin for zeta(s, q): B_2j / (2j)!
_EM = tuple(float(b / math.factorial(2 * j)) for j, b in enumerate(_B2K, 1))

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_STIRLING_MIN = 13.0   # Stirling's series above this
_GAMMA_MAX = 171.62437695630272  # gamma overflows float64 above this


def _poly(coefs, u):
    """sum_k coefs[k] u^k (Horner)."""
    r = np.full_like(u, coefs[-1])
    for c in coefs[-2::-1]:
        r *= u
        r += c
    return r


def _l2(e):
    """lgamma(2 + e) for |e| <= 0.5."""
    return _poly(_L2, e)


def _stirling_tail(x):
    """The series part of Stirling's formula, for x >= 13."""
    r = 1.0 / x
    return _poly(_STIRLING, r * r) * r


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _apply(x, pieces):
    """``out[m] = f(x[m])`` for each ``(mask, f)``, on float64 ``x``; the rest stays NaN."""
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        for mask, f in pieces:
            if mask.any():
                out[mask] = f(x[mask])
    return out


def sinpi(x):
    """sin(pi x), exact at integers and accurate near them (argument reduced exactly)."""
    r = x - 2.0 * np.round(x * 0.5)                       # [-1, 1], exact
    r = np.where(r > 0.5, 1.0 - r, np.where(r < -0.5, -1.0 - r, r))
    return np.sin(np.pi * r)


def cotpi(x):
    """cot(pi x), accurate near its zeros (half-integers) and poles (integers)."""
    r = x - np.round(x)                                    # [-0.5, 0.5], exact
    a = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a <= 0.25, 1.0 / np.tan(np.pi * r), np.copysign(np.tan(np.pi * (0.5 - a)), r))


# ----------------------------------------------------------------------------------- gammaln
def _lgamma_small(x):
    """lgamma(x) for 0 < x < 13."""
    def below_half(v):
        return _l2(v) - np.log1p(v) - np.log(v)

    def below_3_2(v):
        e = v - 1.0
        return _l2(e) - np.log1p(e)

    def up_to_13(v):  # lgamma(v) = log((v-1)(v-2)...(v-n)) + lgamma(v - n), v - n in [1.5, 2.5]
        n = np.floor(v - 1.5)
        prod = np.ones_like(v)
        for k in range(1, 12):
            prod = np.where(k <= n, prod * (v - k), prod)
        return np.log(prod) + _l2(v - n - 2.0)
    return _apply(x, ((x < 0.5, below_half), ((x >= 0.5) & (x < 1.5), below_3_2), (x >= 1.5, up_to_13)))


def _lgamma_pos(x):
    """lgamma(x) for x > 0."""
    def stirling(v):
        lv = np.log(v)
        return v * (lv - 1.0) - 0.5 * lv + _HALF_LOG_2PI + _stirling_tail(v)
    return _apply(x, ((x < _STIRLING_MIN, _lgamma_small), (x >= _STIRLING_MIN, stirling)))


def _lgamma_1m(v):
    """lgamma(1 - v) for v < 0: as log(-v) + lgamma(-v) below -1/2, where 1 - v would be rounded."""
    far = v <= -0.5
    w = np.where(far, -v, 1.0 - v)
    return np.where(far, np.log(w), 0.0) + _lgamma_pos(w)


_LOG_PI = math.log(math.pi)


def gammaln(x):
    """log|Gamma(x)| (scipy.special.gammaln): inf at the poles (non-positive integers)."""
    x = _f64(x)

    def negative(v):  # log|Gamma(v)| = log(pi / |sin(pi v)|) - lgamma(1 - v), the quotient as a difference of
        # logs (pi / sin(pi v) overflows for v > -6e-309: gammaln(-1e-310) is 713.8, not inf); -log|v| above
        # -1e-300 (log|Gamma(v)| = -log|v| - euler v + ...), where sin(pi v) is subnormal and inexact
        return np.where(v > -1e-300, -np.log(np.abs(v)), (_LOG_PI - np.log(np.abs(sinpi(v)))) - _lgamma_1m(v))
    out = _apply(x, ((x > 0, _lgamma_pos), (x < 0, negative)))
    out[(x <= 0) & (x == np.floor(x))] = np.inf   # poles, and -0.0
    out[x == np.inf] = np.inf
    out[x == -np.inf] = -np.inf                    # (as SciPy)
    return out


def gammasgn(x):
    """The sign of Gamma(x): 1 for x > 0, alternating between the poles below 0 (NaN at the poles)."""
    x = _f64(x)
    fl = np.floor(x)
    with np.errstate(invalid="ignore"):
        sgn = np.where(x > 0, 1.0, np.where(np.fmod(fl, 2.0) == 0, 1.0, -1.0))
    return np.where((x <= 0) & (x == fl) | np.isnan(x), np.nan, sgn)


# ------------------------------------------------------------------------------------- gamma
def _gamma_pos(x):
    """Gamma(x) for x > 0."""
    def below_half(v):
        return np.exp(_l2(v)) / (v * (1.0 + v))

    def below_3_2(v):
        return np.exp(_l2(v - 1.0)) / v

    def up_to_13(v):
        n = np.floor(v - 1.5)
        prod = np.ones_like(v)
        for k in range(1, 12):
            prod = np.where(k <= n, prod * (v - k), prod)
        return prod * np.exp(_l2(v - n - 2.0))

    def stirling(v):  # sqrt(2 pi) v^(v - 1/2) e^-v e^tail, with the power taken as a square
        p = v ** (0.5 * v - 0.25)
        return _SQRT_2PI * p * (p * np.exp(-v)) * np.exp(_stirling_tail(v))
    return _apply(x, ((x < 0.5, below_half), ((x >= 0.5) & (x < 1.5), below_3_2),
                      ((x >= 1.5) & (x < _STIRLING_MIN), up_to_13),
                      ((x >= _STIRLING_MIN) & (x <= _GAMMA_MAX), stirling), (x > _GAMMA_MAX, lambda v: v * np.inf)))


def gamma(x):
    """Gamma(x) (scipy.special.gamma): inf at +-0 (signed), NaN at the negative integers and at -inf."""
    x = _f64(x)

    def negative(v):  # Gamma(v) = pi / (sin(pi v) Gamma(1 - v)), Gamma(1 - v) = -v Gamma(-v) below -1/2
        s = sinpi(v)
        far = v <= -0.5
        w = np.where(far, -v, 1.0 - v)             # (-v is exact, 1 - v would be rounded)
        direct = w <= _GAMMA_MAX - 1.0
        g1m = _gamma_pos(np.where(direct, w, 1.0)) * np.where(far, w, 1.0)
        return np.where(direct, np.pi / (s * g1m),
                        np.sign(s) * np.exp(np.log(np.pi / np.abs(s)) - _lgamma_1m(v)))
    out = _apply(x, ((x > 0, _gamma_pos), (x < 0, negative)))
    out[x == 0] = np.copysign(np.inf, x[x == 0])
    out[(x < 0) & (x == np.floor(x))] = np.nan
    out[x == np.inf] = np.inf
    return out


# ----------------------------------------------------------------------------------- digamma
def _psi_asym(x):
    """digamma(x) for x >= 10."""
    r = 1.0 / x
    r2 = r * r
    return np.log(x) - 0.5 * r - _poly(_PSI_ASYM, r2) * r2


def _psi_pos(x):
    """digamma(x) for x > 0."""
    def near_zero_of_psi(v):
        h = (v - _X0_HI) - _X0_LO
        return _poly(_PSI0, h) * h

    def recurrence(v):  # psi(v) = psi(v + n) - sum_{k<n} 1 / (v + k), v + n >= 10
        n = np.ceil(10.0 - v)
        acc = np.zeros_like(v)
        for k in range(0, 10):
            acc = np.where(k < n, acc + 1.0 / (v + k), acc)
        return _psi_asym(v + n) - acc
    near = np.abs(x - _X0_HI) < 0.25
    return _apply(x, ((near, near_zero_of_psi), (~near & (x < 10), recurrence), (x >= 10, _psi_asym)))


def digamma(x):
    """The digamma function psi(x) = d lgamma(x) / dx (scipy.special.psi): -inf at +0, inf at -0, NaN at the
    negative integers and at -inf."""
    x = _f64(x)

    def negative(v):  # psi(v) = psi(1 - v) - pi cot(pi v), psi(1 - v) = psi(-v) - 1 / v below -1/2
        far = v <= -0.5
        w = np.where(far, -v, 1.0 - v)
        out = _psi_pos(w) - np.where(far, 1.0 / v, 0.0) - np.pi * cotpi(v)
        # within 0.03 of one of the first six zeros (where that cancels): Taylor's series about the zero
        k = np.clip(np.floor(-v), 0, len(_digamma_roots.ROOTS) - 1).astype(int)
        roots = np.array(_digamma_roots.ROOTS)
        h = (v - roots[k, 0]) - roots[k, 1]
        near = (np.abs(h) < 0.03) & (v > -len(_digamma_roots.ROOTS))
        if near.any():
            coefs = np.array(_digamma_roots.COEFS)[k[near]]
            hn = h[near]
            acc = np.zeros_like(hn)
            for j in range(coefs.shape[1] - 1, -1, -1):
                acc = (acc + coefs[:, j]) * hn
            out[near] = acc
        return out
    out = _apply(x, ((x > 0, _psi_pos), (x < 0, negative)))
    out[x == 0] = np.copysign(np.inf, -x[x == 0])
    out[(x < 0) & (x == np.floor(x))] = np.nan
    out[x == np.inf] = np.inf
    return out


# ------------------------------------------------------------------------- zeta and polygamma
@functools.lru_cache(maxsize=None)
def _cot_derivative(n):
    """The coefficients of ``d^n/dy^n cot(y) / n!`` as a polynomial in ``c = cot(y)``, lowest power first
    (``P_0 = c``, ``P_(k+1) = -(1 + c^2) P_k'``, exact in integers; all of one sign on one parity of powers)."""
    p = [0, 1]
    for _ in range(n):
        d = [k * p[k] for k in range(1, len(p))] + [0, 0]
        p = [-(d[k] + (d[k - 2] if k >= 2 else 0)) for k in range(len(d))]
    f = math.factorial(n)
    return np.array([float(Fraction(c, f)) for c in p])


def _zeta_reflected(s, q):
    """zeta(s, q) for integer s >= 2 and q < 0 (not an integer), by the reflection formula of polygamma:
    zeta(s, q) = (-1)^n (zeta(s, 1 - q) + pi^s P_n(cot(pi q)) / n!), n = s - 1. (Summing the terms (q + k)^-s
    directly cancels, and takes |q| steps.)"""
    out = np.empty(s.shape)
    c = cotpi(q)
    for sv in np.unique(s):
        m = s == sv
        n = int(sv) - 1
        coefs = _cot_derivative(n)
        cm = c[m]
        poly = _poly(coefs[(n + 1) % 2::2], cm * cm) * (cm if n % 2 == 0 else 1.0)  # (one parity of powers)
        out[m] = (-1.0) ** n * (zeta(np.full(cm.shape, sv), 1.0 - q[m]) + np.pi ** sv * poly)
    return out


def zeta(s, q):
    """The Hurwitz zeta function sum_k (q + k)^-s for s > 1 (scipy.special.zeta(s, q)); q < 0 is allowed for
    integer s (by the reflection formula), inf at q a non-positive integer and at s = 1."""
    s, q = np.broadcast_arrays(_f64(s), _f64(q))
    out = np.full(s.shape, np.nan)
    ok = (s > 1) & ((q > 0) | (s == np.floor(s))) & np.isfinite(q) & np.isfinite(s)
    out[(s == np.inf) & (q > 1)] = 0.0
    out[(s == np.inf) & (q == 1)] = 1.0
    out[(s == np.inf) & (q > 0) & (q < 1)] = np.inf   # (the first term's limit, as SciPy's)
    pole = (s > 1) & (q <= 0) & (q == np.floor(q))   # (for any s > 1, integer or not, as SciPy and PyTorch)
    ok &= ~pole
    out[pole] = np.inf
    out[s == 1] = np.inf                                # (the pole of the series in s, whatever q)
    out[(s > 1) & (q == np.inf)] = 0.0
    if not ok.any():
        return out
    neg = ok & (q < 0)
    if neg.any():
        with np.errstate(all="ignore"):
            out[neg] = _zeta_reflected(s[neg], q[neg])
        ok &= ~neg
        if not ok.any():
            return out
    sv, qv = s[ok], q[ok]
    n = np.maximum(0.0, np.ceil(10.0 + sv - qv))   # terms summed directly, then Euler-Maclaurin's tail
    # For a large s the terms fall off fast: beyond k = q expm1(45 / s) (at most ~45 q / s + 1 terms) each is
    # below e^-45 of the first, and all of them together (under s > q + k - 10) below 2e-19 of the sum: those
    # are summed alone, without the tail (whose series diverges for w << s). (n steps took forever for s = 1e10.)
    with np.errstate(over="ignore"):
        cut = np.ceil(qv * np.expm1(45.0 / sv)) + 1.0
    short = cut < n
    n = np.where(short, cut, n)
    acc = np.zeros_like(qv)
    with np.errstate(all="ignore"):
        for k in range(int(n.max())):
            acc = np.where(k < n, acc + (qv + k) ** -sv, acc)
        w = qv + n
        tail = w ** (1.0 - sv) / (sv - 1.0) + 0.5 * w ** -sv
        factor = sv * w ** (-sv - 1.0)              # s (s+1) ... (s+2j-2) w^(-s-2j+1)
        wi2 = 1.0 / (w * w)
        for j, c in enumerate(_EM):
            tail = tail + c * factor
            factor = factor * (sv + 2 * j + 1) * (sv + 2 * j + 2) * wi2
    out[ok] = np.where(short, acc, acc + tail)
    return out


_FACTORIAL = np.array([math.factorial(k) for k in range(171)], dtype=np.float64)


def polygamma(n, x):
    """The n-th derivative of digamma (scipy.special.polygamma), n a non-negative integer (array)."""
    n, x = np.broadcast_arrays(np.asarray(n), _f64(x))
    if n.dtype.kind not in "biu":
        if not np.all((n == np.floor(n)) | np.isnan(n)):
            raise ValueError("polygamma: the order n must be a non-negative integer")
    nf = n.astype(np.float64)
    if np.any(nf < 0):
        raise ValueError("polygamma: the order n must be a non-negative integer")
    out = np.empty(x.shape)
    zero = nf == 0
    if zero.any():
        out[zero] = digamma(x[zero])
    if not zero.all():
        m = ~zero
        nm = nf[m]
        fact = np.where(nm <= 170, _FACTORIAL[np.minimum(nm, 170).astype(np.intp)], np.inf)
        sign = np.where(np.fmod(nm, 2.0) == 0, -1.0, 1.0)   # (-1)^(n+1)
        with np.errstate(all="ignore"):
            out[m] = sign * fact * zeta(nm + 1.0, x[m])
    return out


# ------------------------------------------------------------------------------------ betaln
def _lgamma_ratio(a, b):
    """lgamma(b) - lgamma(a + b) for b >= 13 (a > 0), without the cancellation of the two."""
    return (-a * np.log(b) - (a + b - 0.5) * np.log1p(a / b) + a
            + _stirling_tail(b) - _stirling_tail(a + b))


def betaln(a, b):
    """log|B(a, b)| = log|Gamma(a) Gamma(b) / Gamma(a + b)| (scipy.special.betaln)."""
    a, b = np.broadcast_arrays(_f64(a), _f64(b))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pos = (lo > 0) & np.isfinite(hi)
    out = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        small = pos & (hi < _STIRLING_MIN)
        one_big = pos & (hi >= _STIRLING_MIN) & (lo < _STIRLING_MIN)
        both = pos & (lo >= _STIRLING_MIN)
        other = ~pos
        if small.any():
            u, v = lo[small], hi[small]
            out[small] = gammaln(u) + gammaln(v) - gammaln(u + v)
        if one_big.any():
            u, v = lo[one_big], hi[one_big]
            out[one_big] = gammaln(u) + _lgamma_ratio(u, v)
        if both.any():
            u, v = lo[both], hi[both]
            s = np.minimum(u + v, np.finfo(np.float64).max)   # (log(s) as log(v) + log1p(u / v): u + v may overflow)
            out[both] = (_HALF_LOG_2PI - (u - 0.5) * np.log1p(v / u) - (v - 0.5) * np.log1p(u / v)
                         - 0.5 * (np.log(v) + np.log1p(u / v)) + _stirling_tail(u) + _stirling_tail(v)
                         - _stirling_tail(s))
        if other.any():
            u, v = a[other], b[other]
            out[other] = gammaln(u) + gammaln(v) - gammaln(u + v)
        m, lim = _beta_limits(a, b)
        out[m] = np.log(np.abs(lim[m]))
    return out


def _beta_limits(a, b):
    """Where ``Gamma(a) Gamma(b) / Gamma(a + b)`` is a quotient of poles or has an infinite parameter: the mask
    and B's limit there (mpmath's and SciPy's), with a, b broadcast float64 arrays. B = 0 at a pole of
    Gamma(a + b) alone; inf at a pole of Gamma(a) (or b) alone, or of both; at a = -n and b = m a positive
    integer with m <= n (a + b a pole too) the limit in a, ``(m-1)! / (a (a+1) ... (a+m-1))`` at a = -n,
    ``(-1)^m (m-1)! (n-m)! / n!``; with a = +inf, 0 for b > 0 and ``sign(Gamma(b)) inf`` for b < 0 not a pole.
    Elsewhere at an infinity (a = -inf, b = 0, b a pole) the limit depends on the path: NaN."""
    with np.errstate(all="ignore"):
        fin = np.isfinite(a) & np.isfinite(b)
        pa, pb = (a <= 0) & (a == np.floor(a)), (b <= 0) & (b == np.floor(b))
        ps = ((a + b) <= 0) & ((a + b) == np.floor(a + b))
        out = np.full(a.shape, np.nan)
        out[fin & ~pa & ~pb & ps] = 0.0
        out[fin & (pa | pb) & ~ps] = np.inf
        out[fin & pa & pb] = np.inf
        for n_, m_, where in ((-a, b, fin & pa & ~pb & ps), (-b, a, fin & pb & ~pa & ps)):
            # (a + b is a pole only if m is an integer: with a pole a = -n, a non-integer m (1e-30) makes
            # -n + m round to the pole, but Gamma(a + b) is finite there, and B = inf, as SciPy and mpmath)
            out[where & (m_ != np.floor(m_))] = np.inf
            where = where & (m_ == np.floor(m_))
            n, m = n_[where], m_[where]
            out[where] = (1.0 - 2.0 * np.fmod(m, 2.0)) * np.exp(gammaln(m) + gammaln(n - m + 1.0) - gammaln(n + 1.0))
        for p, q in ((a, b), (b, a)):
            out[(p == np.inf) & (q > 0)] = 0.0
            neg = (p == np.inf) & (q < 0) & np.isfinite(q) & ~((q == np.floor(q)))
            out[neg] = gammasgn(q[neg]) * np.inf
        m = (fin & (pa | pb | ps)) | (a == np.inf) | (b == np.inf)
    return m & ~np.isnan(out), out


def beta(a, b):
    """B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b) (scipy.special.beta)."""
    a, b = np.broadcast_arrays(_f64(a), _f64(b))
    with np.errstate(all="ignore"):
        sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
        sign = np.where(np.isnan(sign) & (a > 0) & (b > 0), 1.0, sign)
        out = sign * np.exp(betaln(a, b))
        m, lim = _beta_limits(a, b)
        return np.where(m, lim, out)


def _coefficients():  # pragma: no cover - how the tables above were made (needs mpmath)
    import mpmath as mp
    mp.mp.dps = 40
    x0 = mp.findroot(mp.digamma, 1.46)
    return {"_L2": [0.0, float(1 - mp.euler)] + [float((-1) ** k * (mp.zeta(k) - 1) / k) for k in range(2, 31)],
            "_X0_HI, _X0_LO": (float(x0), float(x0 - float(x0))),
            "_PSI0": [float((-1) ** (n + 1) * mp.zeta(n + 1, x0)) for n in range(1, 27)]}
