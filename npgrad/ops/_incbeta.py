"""The regularized incomplete beta function in NumPy, to float64 precision, with its derivatives in a and b.

``I_x(a, b) = int_0^x t^(a-1) (1-t)^(b-1) dt / B(a, b)`` (scipy.special.betainc), for a, b >= 0 and
0 <= x <= 1. Kernels only (float64 arrays in and out); the differentiable op is in npgrad/ops/incomplete.py.

Method (from the definition): the continued fraction
``I_x(a, b) = x^a (1-x)^b / (a B(a, b)) / (1 + d_1 / (1 + d_2 / (1 + ...)))``,
``d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))``, ``d_2m = m (b - m) x / ((a + 2m - 1)(a + 2m))``,
evaluated by the modified Lentz method where it converges fast, ``x <= (a + 1) / (a + b + 2)``, and
``1 - I_{1-x}(b, a)`` beyond (with a margin, so that the fraction's argument is the smaller of x and 1 - x
near that point, see :func:`betainc`). The partial numerators are differentiated in a and b alongside (so the
derivatives have the value's accuracy), and the prefactor's log-derivatives are
``log x - 1/a - psi(a) + psi(a + b)`` and ``log(1 - x) - psi(b) + psi(a + b)`` (the digamma
differences by :func:`psi_diff`, accurate when one parameter is much smaller than the other).

The prefactor ``x^a (1-x)^b / B(a, b)`` is written, for a, b >= 13, around the mean ``x0 = a / (a + b)``:
``a log1pmx(u) + b log1pmx(v) + log(a b / (2 pi (a + b))) / 2 - T(a) - T(b) + T(a + b)``, with
``u = (x - x0) / x0``, ``v = (x0 - x) / (1 - x0)`` and T Stirling's tail: no cancellation of large terms.

Accuracy (measured against mpmath at 60 digits, a, b in [0.05, 5000], x near 0, near the mean and in both
tails): values and both derivatives within 2e-13 relative. With one parameter near 1e5-1e6 and the other
below 1, x just beyond the switch point, up to ~1e-11. The complement ``1 - I`` is formed by subtraction
where I is computed directly, so where I is close to 1 below the switch point (a small, b large, x below
the mean) ``1 - I`` (and so ``betainc(b, a, 1 - x)``) loses ``-log10(1 - I)`` digits. For a tiny b
(``b <= 1e-3 min(a, 1)``) beyond the switch point, where ``1 - I_{1-x}(b, a)`` would cancel (I ~ b), I and its
derivatives come from the power series of ``I_{1-x}(b, a)`` written as ``e^L (1 + S)`` (:func:`_small_b`)."""
import math

import numpy as np

from . import _gamma
from ._incgamma import _CF_EPS, _TINY, log1pmx, max_terms, not_converged, retire, stirling_tail

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_MARGIN = (0.2, 0.5)   # (min(20%, half a standard deviation): see betainc)


def _lr(u, ratio):
    """``log(1 + u) - u`` where ``1 + u = ratio`` (accurate near 0, and near -1 through ``ratio``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(u) < 0.5, log1pmx(np.where(np.abs(u) < 0.5, u, 0.0)), np.log(ratio) - u)


def logs(x, y):
    """``(log x, log(1 - x))`` given ``x`` and ``y = 1 - x``, each from the smaller of the two (so a ``y``
    known more precisely than ``1 - x`` is used)."""
    low = x <= 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(low, np.log(x), np.log1p(-y)), np.where(low, np.log1p(-x), np.log(y))


def log_power(a, b, x, y):
    """``log(x^a (1-x)^b / B(a, b))`` for a, b > 0, 0 < x < 1, ``y = 1 - x`` (the mode form when a, b >= 13)."""
    big = (a >= _gamma._STIRLING_MIN) & (b >= _gamma._STIRLING_MIN)
    ab = np.where(big, a, 13.0)
    bb = np.where(big, b, 13.0)
    lx, ly = logs(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = ab + bb
        x0, y0 = ab / s, bb / s
        delta = np.where(x <= 0.5, x - x0, y0 - y)
        mode = (ab * _lr(delta / x0, x / x0) + bb * _lr(-delta / y0, y / y0)
                + 0.5 * np.log(ab * bb / s) - _HALF_LOG_2PI - stirling_tail(ab) - stirling_tail(bb)
                + stirling_tail(s))
        direct = a * lx + b * ly - _gamma.betaln(a, b)
    return np.where(big, mode, direct)


def _partial(j, a, b, x, y, deriv):
    """The partial numerator ``d_j``, ``1 + d_j`` (precise from y for odd j and x > 1/2: for x next to 1 and
    a large, d_2m+1 is next to -1), and with ``deriv`` d d_j / da, d d_j / db."""
    m = j // 2
    if j % 2:   # d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        den = (a + 2 * m) * (a + 2 * m + 1.0)
        d = -(a + m) * (a + b + m) * x / den
        # (1 + d) den = a (2m + 1 - b) + 3m^2 + 2m - m b + (a + m)(a + b + m) y: the a^2 terms cancelled by hand
        opd = np.where(x > 0.5, (a * (2 * m + 1.0 - b) + (3 * m * m + 2 * m) - m * b
                                 + (a + m) * (a + b + m) * y) / den, 1.0 + d)
        if not deriv:
            return d, opd, None, None
        d_a = (d * (1.0 / (a + m) + 1.0 / (a + b + m) - 1.0 / (a + 2 * m) - 1.0 / (a + 2 * m + 1.0))
               if m else (b - 1.0) * x / ((a + 1.0) * (a + 1.0)))    # (d_1 = -(a + b) x / (a + 1))
        return d, opd, d_a, -(a + m) * x / den
    den = (a + 2 * m - 1.0) * (a + 2 * m)   # d_2m = m (b - m) x / ((a + 2m - 1)(a + 2m))
    d = m * (b - m) * x / den
    if not deriv:
        return d, 1.0 + d, None, None
    return d, 1.0 + d, -d * (1.0 / (a + 2 * m - 1.0) + 1.0 / (a + 2 * m)), m * x / den


def _convergents(j, d, opd, dd, dprev, ddprev, r):
    """One step of ``A_j = A_j-1 + d_j A_j-2`` (and B), for odd j > 1 as ``(1 + d_j) A_j-2 + d_j-1 A_j-3``,
    with the derivatives (``dd``, ``ddprev``: those of d_j, d_j-1 in a and b); ``r`` holds (A_j-1, A_j-2,
    A_j-3) for A and B, then their derivatives in a and in b. Returns the shifted and rescaled ``r``."""
    (a1, a2, a3, b1, b2, b3), (da, db) = r[:6], (r[6:12], r[12:18])
    if j == 1:   # A_1 = 1 + d_1 (A_0 = A_-1 = 1), B_1 = 1 (B_0 = 1, B_-1 = 0)
        an, bn = opd, np.ones_like(opd)
        dan = (dd[0], dd[1])
        dbn = (np.zeros_like(opd), np.zeros_like(opd))
    elif j % 2:
        an, bn = opd * a2 + dprev * a3, opd * b2 + dprev * b3
        dan = tuple(e * a2 + opd * t[1] + ep * a3 + dprev * t[2] for e, ep, t in zip((dd[0], dd[1]), ddprev,
                                                                                          (da, db)))
        dbn = tuple(e * b2 + opd * t[4] + ep * b3 + dprev * t[5] for e, ep, t in zip((dd[0], dd[1]), ddprev,
                                                                                          (da, db)))
    else:
        an, bn = a1 + d * a2, b1 + d * b2
        dan = tuple(t[0] + e * a2 + d * t[1] for e, t in zip(dd, (da, db)))
        dbn = tuple(t[3] + e * b2 + d * t[4] for e, t in zip(dd, (da, db)))
    s = 1.0 / np.maximum(np.maximum(np.abs(an), np.abs(bn)), _TINY)
    out = [an, a1, a2, bn, b1, b2]
    for k in range(2):
        t = (da, db)[k]
        out += [dan[k], t[0], t[1], dbn[k], t[3], t[4]]
    return tuple(v * s for v in out)


def _cf(a, b, x, deriv, y=None):
    """The continued fraction ``F = 1 + d_1 / (1 + d_2 / ...)``, with d log F / da and d log F / db; and the
    mask of the converged elements.

    F by the modified Lentz method; for x next to 1 its ``1 + d_2m+1 / C`` and ``1 + d_2m+1 D`` are formed
    from the precise ``1 + d_2m+1`` (:func:`_partial`) and the previous step's ``C - 1`` and ``D - 1``
    (quotients, exact). The derivatives from the convergents' numerators and denominators
    (:func:`_convergents`), differentiated term by term and rescaled at each step:
    ``d log F = A'/A - B'/B``. (Lentz's own quotients, differentiated, would do too, but where a convergent
    comes next to 0 their large terms cancel.)"""
    n_el = x.shape[0]
    outs = tuple(np.full(n_el, np.nan) for _ in range(3))
    idx = np.arange(n_el)
    one, zero = np.ones_like(x), np.zeros_like(x)
    y = 1.0 - x if y is None else y
    # (a, b, x, y), Lentz's (f, C, 1/D, C - 1, D - 1), then with deriv: d_j-1 and its derivatives, the
    # convergents (_convergents), the derivative estimates
    state = (a, b, x, y, one, one, zero, zero, -one)
    if deriv:
        state += (zero, zero, zero) + (one, one, zero, one, zero, zero) + (zero,) * 12 + (zero, zero)
    for j in range(1, 2 * max_terms(max(np.max(a, initial=0.0), np.max(b, initial=0.0))) + 1):
        aa, bb, xx, yy, f, c, dinv, cm1, dm1 = state[:9]
        d, opd, d_a, d_b = _partial(j, aa, bb, xx, yy, deriv)
        if j % 2:
            dp = opd + d * dm1
            cn = (opd + cm1) / (1.0 + cm1)
        else:
            cm1 = d / c
            dp = 1.0 + d * dinv
            dm1 = -d * dinv / dp
            cn = 1.0 + cm1
        dp = np.where(dp == 0, _TINY, dp)
        cn = np.where(cn == 0, _TINY, cn)
        dinv = 1.0 / dp
        c = cn
        delta = c * dinv
        f = f * delta
        new = (aa, bb, xx, yy, f, c, dinv, cm1, dm1)
        if deriv:
            dprev, dprev_a, dprev_b = state[9:12]
            r = _convergents(j, d, opd, (d_a, d_b), dprev, (dprev_a, dprev_b), state[12:30])
            g_old_a, g_old_b = state[30:32]   # (the previous step's)
            with np.errstate(divide="ignore", invalid="ignore"):
                ta, tb = r[6] / r[0], r[9] / r[3]      # A'/A, B'/B in a
                ua, ub = r[12] / r[0], r[15] / r[3]    # ... in b
            g_a, g_b = ta - tb, ua - ub
            new += (d, d_a, d_b) + r + (g_a, g_b)
        state = new
        if j % 16 == 0:
            ok = np.abs(delta - 1.0) <= _CF_EPS
            if deriv:   # (the derivatives converge on their own: where the fraction stops, they go on)
                ok &= ((np.abs(g_a - g_old_a) <= 16 * _CF_EPS * (np.abs(ta) + np.abs(tb)))
                       & (np.abs(g_b - g_old_b) <= 16 * _CF_EPS * (np.abs(ua) + np.abs(ub))))
            if ok.any():
                finals = (f, g_a, g_b) if deriv else (f, f, f)
                idx, state = retire(ok, idx, outs, finals, state)
                if not idx.size:
                    break
    ok = np.ones(n_el, bool)
    ok[idx] = False
    return outs + (ok,)


def psi_diff(b, a):
    """``psi(b + a) - psi(b)`` for b > 0, a >= 0, accurate when a << b (where the difference of the two
    digammas would cancel): ``sum_{k<n} a / ((b + k)(b + k + a))`` shifts b up to B = b + n >= 10, then the
    difference of the asymptotic series at B and B + a, each of its terms as ``B^-2k expm1(-2k log1p(a / B))``."""
    n = np.maximum(np.ceil(10.0 - b), 0.0)
    acc = np.zeros(np.broadcast(a, b).shape)
    for k in range(10):
        bk = b + k
        acc = acc + np.where(k < n, a / (bk * (bk + a)), 0.0)
    big = b + n
    l1p = np.log1p(a / big)
    r2 = 1.0 / (big * big)
    tail = np.zeros_like(acc)
    for k, c in enumerate(_gamma._PSI_ASYM, 1):
        tail = tail + c * r2 ** k * np.expm1(-2.0 * k * l1p)
    return acc + l1p + a / (2.0 * big * (big + a)) - tail


def _direct(a, b, x, y, deriv):
    """I_x(a, b) by the continued fraction (``y = 1 - x``), with dI/da and dI/db; the mask of the converged
    elements."""
    f, dlf_a, dlf_b, ok = _cf(a, b, x, deriv, y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        i = np.exp(log_power(a, b, x, y) - np.log(a)) / f
        if not deriv:
            return i, None, None, ok
        lx, ly = logs(x, y)
        di_a = i * (lx - 1.0 / a + psi_diff(a, b) - dlf_a)
        di_b = i * (ly + psi_diff(b, a) - dlf_b)
    return i, di_a, di_b, ok


def _branch(a, b, x, y, flip, deriv):
    """``_direct`` at (a, b, x), or with ``flip`` as ``1 - I_{1-x}(b, a)``: (I, dI/da, dI/db, ok)."""
    if not flip:
        return _direct(a, b, x, y, deriv)
    v, dv_b, dv_a, ok = _direct(b, a, y, x, deriv)
    if deriv:
        dv_a, dv_b = -dv_a, -dv_b
    # (clipped: where v rounds to just above 1, as for b tiny and x near 1, 1 - v would be a negative I)
    return np.maximum(1.0 - v, 0.0), dv_a, dv_b, ok


def _lgamma_shift(a, b):
    """``(gammaln(a + b) - gammaln(a), its derivative in a)`` for ``b <= 1e-3 min(a, 1)``, by Taylor's series
    ``sum_k b^k psi^(k-1)(a) / k!`` (its terms fall by b / a: six reach 1e-18; the difference of gammaln's
    would lose every digit of its ~b psi(a))."""
    val, dval, bk, fact = 0.0, 0.0, 1.0, 1.0
    for k in range(1, 7):
        bk, fact = bk * b, fact * k
        val = val + bk * _gamma.polygamma(k - 1, a) / fact
        dval = dval + bk * _gamma.polygamma(k, a) / fact
    return val, dval


def _small_b(a, b, y, deriv):
    """``I_x(a, b) = 1 - I_y(b, a)`` for a tiny ``b`` (``b <= 1e-3 min(a, 1)``) and ``y = 1 - x <= 0.7``, where
    the subtraction cancels (I ~ b): with ``I_y(b, a) = e^L (1 + S)``, ``L = b log y + gammaln(a + b) -
    gammaln(a) - gammaln(1 + b)`` and ``S = b sum_n>=1 T_n y^n / (b + n)``, ``T_n = (1 - a)_n / n!``,
    ``I = -expm1(L) - e^L S``, both terms O(b). Returns ``(I, dI/da, dI/db, converged)``."""
    with np.errstate(all="ignore"):
        shift, dshift = _lgamma_shift(a, b)
        ly = np.log(y)
        big_l = b * ly + shift - _lgamma_shift(np.ones_like(b), b)[0]   # (gammaln(1 + b): 1 + b rounds)
        t, dt = np.ones_like(a), np.zeros_like(a)      # T_n y^n and its derivative in a
        s0 = s1 = s_a = np.zeros_like(a)               # sum T_n y^n / (b + n), sum T_n y^n n / (b + n)^2, d/da
        ok = np.zeros(a.shape, bool)
        for n in range(1, 2000):
            dt = (dt * (n - a) - t) * y / n
            t = t * (n - a) * y / n
            s0 = s0 + t / (b + n)
            s1 = s1 + t * n / ((b + n) * (b + n))
            s_a = s_a + dt / (b + n)
            ok = np.abs(t) + np.abs(dt) <= 1e-17 * (np.abs(s0) + np.abs(s_a) + _TINY)
            if n > 3 and ok.all():
                break
        e = np.exp(big_l)
        sum_s = b * s0
        i = -np.expm1(big_l) - e * sum_s
        if not deriv:
            return i, None, None, ok
        l_a = dshift
        l_b = ly + (_gamma.digamma(a) + dshift) - _gamma.digamma(1.0 + b)   # log y + psi(a + b) - psi(1 + b)
        di_a = -e * (l_a * (1.0 + sum_s) + b * s_a)
        di_b = -e * (l_b * (1.0 + sum_s) + s1)
    return i, di_a, di_b, ok


def betainc(a, b, x, deriv=False, name="betainc", y=None):
    """``(I, dI/da, dI/db)`` for float64 arrays ``a``, ``b``, ``x`` (broadcast); the derivatives are None
    unless ``deriv``. ``y``: ``1 - x`` when the caller knows it more precisely than ``1 - x`` is rounded
    (``x`` is then ``1 - y``). NaN outside a, b >= 0, 0 <= x <= 1 and for a = b = 0; as SciPy, I = 1 for
    a = 0 and I = 0 for b = 0 (x inside), I_0 = 0, I_1 = 1."""
    if y is None:
        y = 1.0 - np.asarray(x, dtype=np.float64)
    a, b, x, y = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x, y)))
    shape = a.shape
    a, b, x, y = a.ravel(), b.ravel(), x.ravel(), y.ravel()
    i = np.full(a.shape, np.nan)
    di_a = np.full(a.shape, np.nan) if deriv else None
    di_b = np.full(a.shape, np.nan) if deriv else None
    valid = (a >= 0) & (b >= 0) & ~((a == 0) & (b == 0)) & (x >= 0) & (x <= 1)
    ends = valid & ((x == 0) | (y == 0))   # (given y, x may be rounded to 1 where y = 1 - x is not 0)
    i[ends] = np.where(y[ends] == 0, 1.0, 0.0)
    deg_a = valid & ~ends & ((a == 0) | (b == np.inf))
    deg_b = valid & ~ends & ~deg_a & ((b == 0) | (a == np.inf))
    i[deg_a], i[deg_b] = 1.0, 0.0
    rest = valid & ~ends & ~deg_a & ~deg_b
    if deriv:
        for arr in (di_a, di_b):   # (at the ends and the degenerate limits the value is constant)
            arr[valid & ~rest] = 0.0
    # the fraction is taken at whichever of x and 1 - x is at most 1/2 (known exactly: 1 - x may be rounded,
    # and the fraction at u next to 1 loses eps / (1 - u)) unless that is beyond its fast-convergence point
    # (a + 1) / (a + b + 2) by more than min(20%, half a standard deviation) (where it is still as
    # accurate: I is not yet close to 1); else at the other one
    with np.errstate(all="ignore"):
        s = a + b
        sd = np.sqrt(a * b / (s * s * (s + 1.0)))
        thr_a, thr_b = (a + 1.0) / (s + 2.0), (b + 1.0) / (s + 2.0)
        swap = rest & np.where(x <= 0.5, x > thr_a + np.minimum(_MARGIN[0] * thr_a, _MARGIN[1] * sd),
                               y <= thr_b + np.minimum(_MARGIN[0] * thr_b, _MARGIN[1] * sd))
    small_b = swap & (b <= 1e-3 * np.minimum(a, 1.0)) & (y <= 0.7)
    if small_b.any():
        v, dv_a, dv_b, ok = _small_b(a[small_b], b[small_b], y[small_b], deriv)
        if not ok.all():
            raise not_converged(name, ~ok, a[small_b], x[small_b])
        i[small_b] = v
        if deriv:
            di_a[small_b], di_b[small_b] = dv_a, dv_b
        swap &= ~small_b
    for mask, flip in ((rest & ~swap & ~small_b, False), (swap, True)):
        if not mask.any():
            continue
        am, bm, xm, ym = a[mask], b[mask], x[mask], y[mask]
        v, dv_a, dv_b, ok = _branch(am, bm, xm, ym, flip, deriv)
        if not ok.all():
            raise not_converged(name, ~ok, am, xm)
        i[mask] = v
        if deriv:
            di_a[mask], di_b[mask] = dv_a, dv_b
    out = i.reshape(shape)
    if not deriv:
        return out, None, None
    return out, di_a.reshape(shape), di_b.reshape(shape)


def log_density(a, b, x, y=None):
    """``log(x^(a-1) (1-x)^(b-1) / B(a, b))``, the derivative of I in x (``y = 1 - x`` as in betainc)."""
    if y is None:
        y = 1.0 - x
    lx, ly = logs(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = log_power(a, b, x, y) - lx - ly
        edge = np.where((a == 1) & (x == 0), 0.0, (a - 1.0) * lx) + np.where((b == 1) & (y == 0), 0.0, (b - 1.0) * ly)
        edge = edge - _gamma.betaln(a, b)
    return np.where((x > 0) & (y > 0), inner, edge)
