"""The error function in NumPy (which has none), to float64 precision.

Two approximations, fitted by least squares at 40 digits with mpmath (``_fit_coefficients`` below
shows how; it is not run by npgrad):

* ``erfc(z)`` for ``z >= 0`` as ``t * exp(-z**2 + P(t))`` with ``t = 2 / (2 + z)`` (the form of
  Numerical Recipes' ``erfcc``, refitted): one formula for the whole range, no branches, relative
  error <= 7e-16 with the degree-24 ``P`` (float64) and <= 2e-9 with the degree-12 one (enough for
  float32 results);
* ``erf(x)`` for ``|x| < 1`` as ``x * A(x**2)`` (degree 11), so small arguments keep full relative
  precision (``1 - erfc`` would cancel).

``exp(-z**2)`` is computed as ``exp(-hi**2) * exp((hi - z) * (hi + z))`` with ``hi`` = z rounded to
float32, so ``z**2`` is not rounded. Everything is computed in float64.
"""
import math

import numpy as np

# erf(x) / x as a polynomial in x**2 on [0, 1]
_A = (
    1.1283791670955126, -0.37612638903183515, 0.1128379167094405,
    -0.026866170643090832, 0.005223977605955977, -0.0008548325921832884,
    0.00012055293361789941, -1.4924708324571507e-05, 1.6447084274239356e-06,
    -1.6205964194101388e-07, 1.3709519207384055e-08, -7.77682913736281e-10,
)
# P(t) on t in [2/29, 1] (z in [0, 27]; beyond, erfc underflows), variable u = (2t - (1 + t0)) / (1 - t0)
_P64 = (
    -0.625195311888113, 0.6316996845897359, 0.032409287681125144,
    -0.039698260230598394, -0.005057692508161486, 0.0065183198845449744,
    0.000407071670564941, -0.0014044548987039993, 0.00013733781688310813,
    0.00029909633541713314, -9.848998586460469e-05, -4.8742806717764844e-05,
    3.696628831670315e-05, 1.598667265989016e-06, -9.518584956996737e-06,
    2.5662661151439536e-06, 1.4533827623826707e-06, -1.0971438473644266e-06,
    3.275812184382316e-08, 2.4757791628363677e-07, -8.564646694737572e-08,
    -3.035411728202875e-08, 2.2004699379531655e-08, 1.3484304224768646e-09,
    -2.224351632591732e-09,
)
_P32 = (
    -0.6251953124551716, 0.6316996688351569, 0.03240934425862953,
    -0.03969782054460487, -0.0050586195947827884, 0.006514825190917439,
    0.00041282182662445005, -0.0013926396636631695, 0.00012008183383456807,
    0.00028007886038764114, -7.108574866370227e-05, -3.518465244178067e-05,
    1.384114884790523e-05,
)
_T0 = 2.0 / 29.0
_U_SCALE = 2.0 / (1.0 - _T0)
_U_SHIFT = (1.0 + _T0) / (1.0 - _T0)


def _horner(coefs, u):
    r = u * coefs[-1]
    r += coefs[-2]
    for c in coefs[-3::-1]:
        r *= u
        r += c
    return r


def erfc_nonneg(z, single=False):
    """``erfc(z)`` for an array ``z >= 0``: float64 (relative error ~1e-15), or with ``single=True`` in
    float32 arithmetic on a float32 ``z`` (relative error ~1e-6 or better where ``erfc(z) > 1e-30``: enough
    for float32 results, and about 3x faster)."""
    if np.ndim(z) == 0:  # (NumPy turns 0-d results into scalars, which the in-place steps below cannot use)
        return erfc_nonneg(np.reshape(z, 1), single).reshape(())
    if single:
        return _erfc_single(z)
    # erfc(z) underflows to 0 beyond z ~ 27.3: clamp there (NaN stays NaN), else for z >~ 1e19 the float32
    # split below overflows (exp(big) * exp(-inf) = inf * 0 = NaN instead of 0)
    z = np.minimum(z, 40.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        t = 2.0 / (2.0 + z)
        u = t * _U_SCALE
        u -= _U_SHIFT
        p = _horner(_P64, u)
        hi = z.astype(np.float32).astype(np.float64)
        p += (hi - z) * (hi + z)
        out = np.exp(p, out=p)  # -hi**2 (exact, large) is kept out of the rounded sum
        out *= np.exp(-(hi * hi))
        out *= t
    if not np.isfinite(z).all():
        out = np.where(z == np.inf, 0.0, out)
    return out


_P32_F = tuple(np.float32(c) for c in _P32)


def _erfc_single(z):
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        t = z + np.float32(2.0)
        np.divide(np.float32(2.0), t, out=t)
        u = t * np.float32(_U_SCALE)
        u -= np.float32(_U_SHIFT)
        p = _horner(_P32_F, u)
        np.multiply(z, z, out=u)
        p -= u
        np.exp(p, out=p)
        p *= t
    if not np.isfinite(z).all():
        p = np.where(z == np.inf, np.float32(0.0), p)
    return p


def erf(x):
    """Elementwise error function (float64 result); NaN gives NaN."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    with np.errstate(over="ignore", invalid="ignore"):   # (the series overflows where |x| is huge: not taken)
        small = x * _horner(_A, x * x)
        big = np.copysign(1.0 - erfc_nonneg(ax), x)
    return np.where(ax < 1.0, small, big)


def erfc(x):
    """Elementwise complementary error function ``1 - erf(x)``, accurate in the right tail."""
    x = np.asarray(x, dtype=np.float64)
    c = erfc_nonneg(np.abs(x))
    return np.where(x < 0, 2.0 - c, np.where(np.abs(x) < 0.25, 1.0 - erf(x), c))


def normal_cdf(x, single=False):
    """``Phi(x) = (1 + erf(x / sqrt(2))) / 2``, accurate in both tails: float64 for a float64 ``x``, or
    float32 arithmetic (``single=True``, ``x`` float32)."""
    if np.ndim(x) == 0:  # (the in-place steps below need arrays; NumPy makes 0-d results scalars)
        return normal_cdf(np.reshape(x, 1), single).reshape(())
    if single:
        z = np.abs(x)
        z *= np.float32(0.7071067811865476)
        c = _erfc_single(z)
        c *= np.float32(0.5)
        np.subtract(np.float32(1.0), c, out=c, where=x >= 0)
        return c
    c = erfc_nonneg(np.abs(x) * 0.7071067811865476)
    c *= 0.5
    np.subtract(1.0, c, out=c, where=x >= 0)
    return c


# ------------------------------------------------------- logs, scaled forms and inverses (npg.special)
_SQRT_PI = math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_LOG_2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_Z_MAX = 27.0  # the range of the P(t) fit


def erfcx_nonneg(z):
    """``exp(z**2) erfc(z)`` for an array ``z >= 0`` (float64): ``t exp(P(t))`` (no exp(-z**2) to
    underflow), and its asymptotic series ``1 / (z sqrt(pi)) sum (-1)^k (2k-1)!! / (2 z^2)^k`` above 27."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(all="ignore"):
        t = 2.0 / (2.0 + z)
        small = t * np.exp(_horner(_P64, t * _U_SCALE - _U_SHIFT))
        zz = np.maximum(z, _Z_MAX)
        u = 1.0 / (2.0 * zz * zz)
        series = np.ones_like(zz)
        term = np.ones_like(zz)
        for k in range(1, 9):
            term = term * (-(2 * k - 1) * u)
            series = series + term
        big = series / (zz * _SQRT_PI)
    return np.where(z <= _Z_MAX, small, np.where(z == np.inf, 0.0, big))


def log_erfc_nonneg(z):
    """``log(erfc(z))`` for an array ``z >= 0`` (float64), finite where erfc underflows."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.log(erfcx_nonneg(z)) - z * z


def log_ndtr(x):
    """``log(Phi(x))``, the log of the standard normal CDF, accurate in both tails (float64)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        upper = np.log1p(-0.5 * erfc_nonneg(np.abs(x) * _SQRT1_2))
        lower = log_erfc_nonneg(-x * _SQRT1_2) - _LOG_2
    return np.where(x >= 0, upper, lower)


def _erf_small(x):
    """erf(x) for |x| < 1, to full relative precision."""
    return x * _horner(_A, x * x)


def _erfinv_central(y):
    """erfinv(y) for |y| <= 1/2: a Taylor start, then Halley's method on erf(x) = y (cubic convergence)."""
    y2 = y * y
    x = y * (0.5 * _SQRT_PI) * (1.0 + y2 * (math.pi / 12 + y2 * (7 * math.pi ** 2 / 480
                                                                 + y2 * 127 * math.pi ** 3 / 40320)))
    for _ in range(3):
        u = (_erf_small(x) - y) * (0.5 * _SQRT_PI) * np.exp(x * x)    # f / f'
        x = x - u / (1.0 + x * u)                                      # f'' / f' = -2x
    return x


def _ndtri_lower(p):
    """ndtri(p) for 0 < p <= 1/4: a rational start (Abramowitz & Stegun 26.2.23, error < 4.5e-4), then
    Halley's method on Phi(x) = p, with Phi / phi (Mills' ratio, through erfcx) and p / phi(x) taken in
    logs, so the tail down to the smallest subnormal p is solved without underflow."""
    logp = np.log(p)
    r = np.sqrt(-2.0 * logp)
    x = -(r - (2.515517 + r * (0.802853 + r * 0.010328))
          / (1.0 + r * (1.432788 + r * (0.189269 + r * 0.001308))))
    for _ in range(3):
        mills = erfcx_nonneg(-x * _SQRT1_2) * (0.5 * math.sqrt(2.0 * math.pi))  # Phi(x) / phi(x)
        u = mills - np.exp(logp + 0.5 * x * x + _LOG_SQRT_2PI)              # (Phi(x) - p) / phi(x)
        x = x - u / (1.0 + 0.5 * x * u)                                     # f'' / f' = -x
    return x


def ndtri(p):
    """The inverse of the standard normal CDF (float64): -inf at 0, inf at 1, NaN outside [0, 1]."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    with np.errstate(all="ignore"):
        lo = (p > 0) & (p < 0.25)
        mid = (p >= 0.25) & (p <= 0.75)
        hi = (p > 0.75) & (p < 1)
        if lo.any():
            out[lo] = _ndtri_lower(p[lo])
        if mid.any():
            out[mid] = math.sqrt(2.0) * _erfinv_central(2.0 * p[mid] - 1.0)   # 2p - 1 is exact here
        if hi.any():
            out[hi] = -_ndtri_lower(1.0 - p[hi])                                  # 1 - p is exact here
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


def erfcinv(y):
    """The inverse of erfc on [0, 2] (float64): inf at 0, -inf at 2, NaN outside."""
    y = np.asarray(y, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    with np.errstate(all="ignore"):
        tail = ((y > 0) & (y < 0.5)) | ((y > 1.5) & (y < 2))
        mid = (y >= 0.5) & (y <= 1.5)
        if tail.any():
            out[tail] = -_SQRT1_2 * ndtri(0.5 * y[tail])
        if mid.any():
            out[mid] = _erfinv_central(1.0 - y[mid])                             # 1 - y is exact here
    out[y == 0] = np.inf
    out[y == 2] = -np.inf
    return out


def erfinv(y):
    """The inverse of erf on [-1, 1] (float64): +-inf at +-1, NaN outside."""
    y = np.asarray(y, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    with np.errstate(all="ignore"):
        mid = np.abs(y) <= 0.5
        up = (y > 0.5) & (y <= 1)
        down = (y < -0.5) & (y >= -1)
        if mid.any():
            out[mid] = _erfinv_central(y[mid])
        if up.any():
            out[up] = erfcinv(1.0 - y[up])
        if down.any():
            out[down] = -erfcinv(1.0 + y[down])
    return out


def _fit_coefficients():  # pragma: no cover - how the tables above were made (needs mpmath)
    import mpmath as mp
    mp.mp.dps = 40

    def fit(f, a, b, deg, var, relative):
        n = 4 * (deg + 1)
        xs = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (k + 0.5) / n) for k in range(n)]
        A = mp.matrix(n, deg + 1)
        y = mp.matrix(n, 1)
        for i, x in enumerate(xs):
            fx = f(x)
            for j in range(deg + 1):
                A[i, j] = var(x) ** j / (fx if relative else 1)
            y[i] = 1 if relative else fx
        c = mp.qr_solve(A, y)[0]
        return tuple(float(c[j]) for j in range(deg + 1))

    def P(t):
        z = 2 / t - 2
        return mp.log(mp.erfc(z) / t) + z * z
    t0 = mp.mpf(2) / 29
    u = lambda t: (2 * t - (1 + t0)) / (1 - t0)  # noqa: E731
    return {"_A": fit(lambda s: mp.erf(mp.sqrt(s)) / mp.sqrt(s) if s > 0 else 2 / mp.sqrt(mp.pi),
                      mp.mpf(0), mp.mpf(1), 11, lambda s: s, True),
            "_P64": fit(P, t0, mp.mpf(1), 24, u, False),
            "_P32": fit(P, t0, mp.mpf(1), 12, u, False)}


if __name__ == "__main__":  # pragma: no cover
    for k, v in _fit_coefficients().items():
        print(k, v)
