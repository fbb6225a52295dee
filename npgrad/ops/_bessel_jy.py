"""Bessel functions of the first and second kind of integer order, J_n(x) and Y_n(x), in NumPy to float64
precision (kernels only; the differentiable ops are in npgrad/ops/bessel_jy.py).

Methods, by |x| (the references are Abramowitz & Stegun, "Handbook of Mathematical Functions", 1964, and
the NIST DLMF, chapter 10):

* |x| <= 1: the power series ``J_n(x) = (x/2)^n sum_k (-x^2/4)^k / (k! (n+k)!)`` (A&S 9.1.10, DLMF 10.2.2)
  and, for Y0 and Y1, the series with the logarithm (A&S 9.1.11 and 9.1.13, DLMF 10.8.1-2), whose terms
  fall by x^2/4 <= 1/4 at least.
* 1 < |x| < 25, and |x| >= 25 with n >= |x|: Miller's backward recurrence
  ``J_{k-1} = (2k/x) J_k - J_{k+1}`` (A&S 9.1.27, DLMF 10.6.1; started at zero far above max(n, |x|), where
  the minimal solution J dominates), normalized by ``J_0 + 2 sum_k J_{2k} = 1`` (A&S 9.1.46, DLMF 10.12.4).
  Y0 and Y1 come from the same J_k's by Neumann's series (A&S 9.1.88-89):
  ``pi/2 Y0 = (log(x/2) + gamma) J0 - 2 sum_{k>=1} (-1)^k J_{2k} / k`` and
  ``pi/2 Y1 = -J0/x + (log(x/2) - psi(2)) J1 - sum_{k>=1} (-1)^k (2k+1) J_{2k+1} / (k (k+1))``.
* |x| >= 25: Hankel's asymptotic expansion for orders 0 and 1 (A&S 9.2.5-10, DLMF 10.17.3-4):
  ``J = sqrt(2/(pi x)) (P cos chi - Q sin chi)``, ``Y = sqrt(2/(pi x)) (P sin chi + Q cos chi)`` with
  ``chi = x - (n/2 + 1/4) pi``; its terms fall by about k / (2x) each, so 50 terms reach below 1e-20 at
  x = 25. cos chi and sin chi are formed from NumPy's cos x and sin x (no rounding of x - pi/4 for large x).
  J_n for 1 < n < |x| then by the forward recurrence (stable while n < |x|).
* Orders so large that ``|J_n(x)| <= (|x|/2)^n / n! < e^-800`` (A&S 9.1.62) give 0 for J_n and -inf for
  Y_n without a recurrence; other orders above 10000 are an error.
* Y_n for n >= 2 always by the forward recurrence ``Y_{k+1} = (2k/x) Y_k - Y_{k-1}`` (Y is the dominant
  solution: stable upward).

Symmetries: ``J_n(-x) = (-1)^n J_n(x)``, ``J_{-n} = (-1)^n J_n``, ``Y_{-n} = (-1)^n Y_n`` (A&S 9.1.5, DLMF
10.4.1). As SciPy: Y_n(x) is NaN for x < 0 and -inf at 0 (+inf for odd negative n); J and Y are NaN at
+-inf.
"""
import math

import numpy as np

_EULER = 0.57721566490153286061   # Euler's constant gamma
_TWO_OVER_PI = 2.0 / math.pi
_SERIES_MAX = 1.0     # |x| <= 1: power series
_ASYM_MIN = 25.0      # |x| >= 25: Hankel's expansion for orders 0 and 1
_ASYM_TERMS = 50
_SERIES_TERMS = 16    # (x^2/4)^16 / 16!^2 < 1e-36 for |x| <= 1
_RESCALE = 1e200      # the backward recurrence is rescaled by 1e-200 above this
_MAX_ORDER = 10000    # (orders at which J_n underflows and Y_n overflows excepted: no recurrence needed)


def _order(n, where):
    """The integer orders as an int64 array (an integer-valued float order is accepted, as SciPy's)."""
    n = np.asarray(n)
    if n.dtype.kind in "biu":
        return n.astype(np.int64)
    if n.dtype.kind != "f":
        raise TypeError(f"npgrad.special.{where}: the order n must be an integer, got dtype {n.dtype}")
    bad = ~np.isfinite(n) | (n != np.round(n))
    if bad.any():
        raise ValueError(f"npgrad.special.{where}: the order n must be an integer (got {float(n[bad].ravel()[0])!r}); "
                         f"only integer orders are implemented")
    if n.size and np.abs(n).max() > 2 ** 31:
        raise ValueError(f"npgrad.special.{where}: the order n = {np.abs(n).max():g} is too large")
    return n.astype(np.int64)


def _negligible(m, a, where):
    """Where J_m(a) is 0 in float64 and Y_m(a) overflows: |J_m(a)| <= (a/2)^m / m! (A&S 9.1.62), whose log is at
    most m (log(a / 2m) + 1) (as m! >= (m/e)^m), below -800 (e^-800 < 1e-347); there m >> a, and
    Y_m ~ -1 / (pi m J_m) (the Wronskian, A&S 9.1.16, with J_{m+1} << J_m) is beyond 1e300. The other orders
    must not exceed 10000 (each takes a step of a recurrence)."""
    finite = (a > 0) & (a < np.inf)
    with np.errstate(all="ignore"):
        mf = np.maximum(m, 1).astype(np.float64)
        tiny = finite & (m > 0) & (mf * (np.log(a / (2.0 * mf)) + 1.0) < -800.0)
    rest = m[finite & ~tiny]
    if rest.size and rest.max() > _MAX_ORDER:
        raise ValueError(f"npgrad.special.{where}: orders n above {_MAX_ORDER} are not implemented (got "
                         f"{int(rest.max())}, at x = {a[finite & ~tiny][np.argmax(rest)]:g})")
    return tiny


# ---------------------------------------------------------------------------- |x| <= 1: power series
def _series_j(a, n):
    """J_n(a), 0 < a <= 1, n >= 0 (arrays of one shape): A&S 9.1.10 by Horner's rule."""
    y = 0.25 * a * a
    r = np.ones_like(a)
    for k in range(_SERIES_TERMS, 0, -1):
        r = 1.0 - y / (k * (n + k)) * r
    pref = np.ones_like(a)   # (a/2)^n / n!, one factor at a time (no overflow of n!)
    half = 0.5 * a
    for j in range(1, int(n.max(initial=0)) + 1):
        pref = np.where(j <= n, pref * (half / j), pref)
    return pref * r


def _series_y01(a):
    """Y0(a) and Y1(a) for 0 < a <= 1: A&S 9.1.13 and 9.1.11 (n = 1), with psi(k+1) = -gamma + H_k."""
    y = 0.25 * a * a
    j0 = _series_j(a, np.zeros(a.shape, np.int64))
    j1 = _series_j(a, np.ones(a.shape, np.int64))
    # (log(a) - log 2 for the smallest subnormals, where a / 2 rounds to 0: Y0(5e-324) is -474, not -inf)
    log_half = np.where(a < 1e-300, np.log(a) - math.log(2.0), np.log(0.5 * a))
    s0 = np.zeros_like(a)           # sum_{k>=1} (-1)^(k+1) H_k y^k / k!^2
    s1 = np.zeros_like(a)           # sum_{k>=0} (psi(k+1) + psi(k+2)) (-y)^k / (k! (k+1)!)
    t0 = np.ones_like(a)            # y^k / k!^2
    t1 = np.ones_like(a)            # (-y)^k / (k! (k+1)!)
    h = 0.0                          # H_k
    for k in range(0, _SERIES_TERMS + 1):
        if k > 0:
            h += 1.0 / k
            t0 = t0 * (y / (k * k))
            t1 = t1 * (-y / (k * (k + 1)))
            s0 += (t0 if k % 2 else -t0) * h
        s1 += t1 * (2.0 * (h - _EULER) + 1.0 / (k + 1))
    y0 = _TWO_OVER_PI * ((log_half + _EULER) * j0 + s0)
    y1 = -_TWO_OVER_PI / a + _TWO_OVER_PI * log_half * j1 - (0.5 / math.pi) * a * s1
    return y0, y1


# --------------------------------------------------------------------- Miller's backward recurrence
def _miller(a, n, want_y):
    """J_n(a) for a > 1 (and, with ``want_y``, Y0(a) and Y1(a) by Neumann's series), n >= 0."""
    top = np.maximum(n, np.floor(a)).astype(np.int64)
    starts = 2 * ((top + 36 + np.floor(np.sqrt(40.0 * top)).astype(np.int64)) // 2)   # even; J_start/J_top < 1e-20
    start = int(starts.max(initial=0))   # (each element starts at its own: its value does not depend on the others)
    f_next = np.zeros_like(a)       # f_{k+1}
    f = np.where(starts == start, 1e-30, 0.0)   # f_k (an unnormalized J_k)
    total = np.zeros_like(a)        # 2 sum_{j>=1} f_{2j}
    s0 = np.zeros_like(a)           # sum_{j>=1} (-1)^j f_{2j} / j
    s1 = np.zeros_like(a)           # sum_{j>=1} (-1)^j (2j+1) f_{2j+1} / (j (j+1))
    saved = np.zeros_like(a)
    f1 = np.zeros_like(a)
    two_over_a = 2.0 / a
    for k in range(start, 0, -1):
        if k < start:
            f = np.where(starts == k, 1e-30, f)
        if k % 2 == 0:
            total += 2.0 * f
            if want_y:
                s0 += f * ((1.0 if k % 4 == 0 else -1.0) / (k // 2))
        elif want_y and k > 1:
            j = k // 2
            s1 += f * ((1.0 if j % 2 == 0 else -1.0) * k / (j * (j + 1)))
        f_next, f = f, (k * two_over_a) * f - f_next     # f_{k-1}
        saved = np.where(n == k - 1, f, saved)
        if k == 2:
            f1 = f
        big = np.abs(f) > _RESCALE
        if big.any():
            scale = np.where(big, 1.0 / _RESCALE, 1.0)
            f, f_next, total, s0, s1, saved = (v * scale for v in (f, f_next, total, s0, s1, saved))
            if k <= 2:
                f1 = f1 * scale
    norm = total + f                 # J_0 + 2 sum J_{2j}, unnormalized
    jn = saved / norm
    if not want_y:
        return jn, None, None
    j0, j1 = f / norm, f1 / norm
    log_half = np.log(0.5 * a)
    y0 = _TWO_OVER_PI * ((log_half + _EULER) * j0 - 2.0 * s0 / norm)
    y1 = _TWO_OVER_PI * (-j0 / a + (log_half - (1.0 - _EULER)) * j1 - s1 / norm)
    return jn, y0, y1


# ------------------------------------------------------------------------ |x| >= 25: Hankel's expansion
def _hankel(a, nu):
    """J_nu(a) and Y_nu(a) for nu in (0, 1) and a >= 25 (A&S 9.2.5-6 with 9.2.9-10)."""
    mu = 4.0 * nu * nu
    p = np.ones_like(a)
    q = np.zeros_like(a)
    term = np.ones_like(a)          # a_k(nu) / a^k with the sign (-1)^floor(k/2)
    for k in range(1, _ASYM_TERMS + 1):
        term = term * ((mu - (2 * k - 1) ** 2) / (8.0 * k * a))
        if k % 2:
            q += term if k % 4 == 1 else -term
        else:
            p += term if k % 4 == 0 else -term
    c, s = np.cos(a), np.sin(a)
    r = math.sqrt(0.5)
    if nu == 0:   # chi = a - pi/4
        cchi, schi = r * (c + s), r * (s - c)
    else:         # chi = a - 3 pi/4
        cchi, schi = r * (s - c), -r * (s + c)
    amp = np.sqrt(_TWO_OVER_PI / a)
    return amp * (p * cchi - q * schi), amp * (p * schi + q * cchi)


def _forward(v0, v1, a, n):
    """The n-th term (n >= 0) of the recurrence ``v_{k+1} = (2k/a) v_k - v_{k-1}`` from v0 and v1."""
    out = np.where(n == 0, v0, v1)
    prev, cur = v0, v1
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, int(n.max(initial=0))):
            prev, cur = cur, np.where(np.isinf(cur), cur, (2.0 * k / a) * cur - prev)   # (overflow: Y_n = -inf)
            out = np.where(n == k + 1, cur, out)
    return out


# ------------------------------------------------------------------------------------- J_n and Y_n
def _broadcast(n, x, where):
    n, x = _order(n, where), np.asarray(x, dtype=np.float64)
    try:
        return np.broadcast_arrays(n, x)
    except ValueError:
        raise ValueError(f"npgrad.special.{where}: the order n of shape {n.shape} and x of shape {x.shape} could "
                         f"not be broadcast together") from None


def jn(n, x):
    """J_n(x) for integer orders n (arrays broadcasting together; float64)."""
    n, x = _broadcast(n, x, "jn")
    shape = x.shape
    n, x = n.ravel(), x.ravel()
    sign = np.where((n < 0) & (n % 2 == 1), -1.0, 1.0)
    m = np.abs(n)
    sign = np.where((x < 0) & (m % 2 == 1), -sign, sign)
    a = np.abs(x)
    tiny = _negligible(m, a, "jn")
    m = np.where(tiny, 0, m)
    out = np.where(m == 0, 1.0, 0.0)           # x = 0
    out = np.where(np.isnan(a) | (a == np.inf), np.nan, out)
    with np.errstate(all="ignore"):
        small = (a > 0) & (a <= _SERIES_MAX)
        if small.any():
            out[small] = _series_j(a[small], m[small])
        big = (a >= _ASYM_MIN) & (a < np.inf) & (m < a)
        if big.any():
            ab = a[big]
            j0, _ = _hankel(ab, 0)
            j1, _ = _hankel(ab, 1)
            out[big] = _forward(j0, j1, ab, m[big])
        mid = (a > _SERIES_MAX) & (a < np.inf) & ~big
        if mid.any():
            out[mid] = _miller(a[mid], m[mid], False)[0]
    out[tiny] = 0.0
    return (sign * out).reshape(shape)


def _y01(a):
    """Y0(a) and Y1(a) for finite a > 0."""
    y0, y1 = np.empty_like(a), np.empty_like(a)
    with np.errstate(all="ignore"):
        for region, fn in (((a <= _SERIES_MAX), _series_y01),
                           ((a > _SERIES_MAX) & (a < _ASYM_MIN),
                            lambda v: _miller(v, np.zeros(v.shape, np.int64), True)[1:]),
                           ((a >= _ASYM_MIN), lambda v: (_hankel(v, 0)[1], _hankel(v, 1)[1]))):
            if region.any():
                y0[region], y1[region] = fn(a[region])
    return y0, y1


def yn(n, x):
    """Y_n(x) for integer orders n (arrays broadcasting together; float64)."""
    n, x = _broadcast(n, x, "yn")
    shape = x.shape
    n, x = n.ravel(), x.ravel()
    m = np.abs(n)
    sign = np.where((n < 0) & (m % 2 == 1), -1.0, 1.0)
    out = np.where(x == 0, -np.inf, np.nan)     # (x < 0, +-inf and NaN: NaN)
    tiny = _negligible(m, x, "yn")
    m = np.where(tiny, 0, m)
    ok = (x > 0) & (x < np.inf)
    if ok.any():
        a = x[ok]
        y0, y1 = _y01(a)
        out[ok] = _forward(y0, y1, a, m[ok])
    out[tiny] = -np.inf
    return (sign * out).reshape(shape)


def j0(x):
    """J0(x) (float64)."""
    return jn(0, x)


def j1(x):
    """J1(x) (float64)."""
    return jn(1, x)


def y0(x):
    """Y0(x) (float64): NaN below 0, -inf at 0."""
    return yn(0, x)


def y1(x):
    """Y1(x) (float64): NaN below 0, -inf at 0."""
    return yn(1, x)
