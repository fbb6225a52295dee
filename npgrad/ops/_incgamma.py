"""The regularized incomplete gamma functions in NumPy, to float64 precision, with their derivative in a.

``P(a, x) = gamma(a, x) / Gamma(a)`` (scipy.special.gammainc) and ``Q(a, x) = 1 - P(a, x)``
(gammaincc), for a >= 0, x >= 0. Kernels only (float64 arrays in and out); the differentiable ops are
in npgrad/ops/incomplete.py.

Methods (from the definitions; each is a sum or a continued fraction whose terms are differentiated in a
alongside, so ``dP/da`` is as accurate as P itself, to a few ulps times the number of terms' growth):

* ``x < a + 1``: the power series ``P = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1)...(a + n))``
  (positive terms) and ``Q = 1 - P`` (then Q >= ~0.1);
* ``a < 1, x < 1.5``: there Q can be tiny (Q ~ a E1(x)), so it is computed on its own from the
  alternating series of the lower function:
  ``Q = -expm1(u) - e^u a sum_{n>=1} (-x)^n / (n! (a + n))``, ``u = a log x - log Gamma(1 + a)``;
* otherwise Legendre's continued fraction
  ``Q = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x + 5 - a - ...)))``,
  evaluated by the modified Lentz method, and ``P = 1 - Q``.

The prefactor ``x^a e^-x / Gamma(a + 1)`` is written, for a >= 13, as
``exp(a log1pmx((x - a) / a) - log(2 pi a) / 2 - stirling_tail(a))`` (``log1pmx(u) = log(1 + u) - u``):
no cancellation between ``a log x``, ``x`` and ``lgamma(a + 1)``, so it keeps its relative precision for
large a. The number of terms grows like ``sqrt(a)`` where x is near a (about ``9 sqrt(a)``): the
loops stop when every element has converged, and an element that has not after the bound (a up to about
1e7) raises.

Accuracy (against mpmath, a in [1e-3, 1e6], x from 1e-10 to the far tails): P and Q within 1e-13
relative (5e-14 typically), dP/da within 2e-13. (SciPy's own values are off by up to 4e-12 in the far
tails for a in the thousands, and by 1e-5 near x = a - 4.5 sqrt(a) for a = 1e6.)
"""
import math

import numpy as np

from . import _gamma

_EPS = 1e-17          # (relative) stopping tolerance of the sums and continued fractions
_CF_EPS = 4e-16      # ... and of the continued fractions (|delta - 1|: a few ulps)
_TINY = 1e-300        # Lentz's guard against a zero denominator
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def max_terms(big):
    """The bound on the number of terms for parameters up to ``big``."""
    return int(min(200 + 12.0 * math.sqrt(max(float(big), 1.0)), 40000.0))   # (a, b up to ~1e7)


def not_converged(name, where, a, x):
    """The error for elements whose series or continued fraction did not converge."""
    i = np.flatnonzero(where)[0]
    return ArithmeticError(f"npgrad.special.{name}: no convergence at a={float(a[i]):g}, x={float(x[i]):g} "
                           f"(the parameters are too large for npgrad's incomplete gamma/beta)")


def log1pmx(u):
    """``log(1 + u) - u`` for u > -1, accurate near 0 (through ``t = u / (2 + u)``:
    ``log(1 + u) = 2 atanh(t)`` and ``u - 2t = u t``)."""
    u = np.asarray(u, dtype=np.float64)
    near = np.abs(u) < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.log1p(u) - u
    un = np.where(near, u, 0.0)
    t = un / (2.0 + un)
    t2 = t * t
    s = np.zeros_like(t)
    for k in range(37, 1, -2):   # sum_{k>=3, odd} t^k / k, |t| <= 1/3: 18 terms reach 1e-17
        s = (s + 1.0 / k) * t2
    return np.where(near, 2.0 * t * s - un * t, far)


def stirling_tail(a):
    """``lgamma(a) - ((a - 1/2) log a - a + log(2 pi) / 2)`` for a >= 13."""
    return _gamma._stirling_tail(a)


def log_prefactor(a, x):
    """``log(x^a e^-x / Gamma(a + 1))`` for a > 0, x > 0 (the mode form above 13, see the module doc)."""
    big = a >= _gamma._STIRLING_MIN
    ab = np.where(big, a, 13.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (x - a) / ab
        lr = np.where(np.abs(u) < 0.5, log1pmx(u), np.log(x / ab) - u)   # (log1p(u) would round 1 + u)
        mode = a * lr - 0.5 * np.log(ab) - _HALF_LOG_2PI - stirling_tail(ab)
        direct = a * np.log(x) - x - _gamma.gammaln(a + 1.0)
    return np.where(big, mode, direct)


def _lgamma1p(a):
    """``lgamma(1 + a)`` for 0 <= a < 1, without rounding 1 + a: ``lgamma(2 + a) - log(1 + a)`` below 1/2,
    ``lgamma(2 + (a - 1))`` above (the series of lgamma about 2 holds for |e| <= 1/2)."""
    low = a < 0.5
    return np.where(low, _gamma._l2(np.where(low, a, 0.0)) - np.log1p(a), _gamma._l2(np.where(low, 0.0, a - 1.0)))


def retire(ok, idx, results, finals, state):
    """Move the elements where ``ok`` (converged) out of an iteration: their ``finals`` go to ``results`` at
    ``idx``; returns the indices and the ``state`` arrays of the others (so a converged element is not
    iterated further: no drift, and the arrays shrink)."""
    for r, v in zip(results, finals):
        r[idx[ok]] = v[ok]
    keep = ~ok
    return idx[keep], tuple(v[keep] for v in state)


def _series(a, x, deriv):
    """P by the power series, and dP/da; and the mask of the converged elements."""
    n_el = x.shape[0]
    s_out, ds_out = np.full(n_el, np.nan), np.full(n_el, np.nan)
    idx = np.arange(n_el)
    aa, xx = a, x
    t, s, d, ds = np.ones_like(x), np.ones_like(x), np.zeros_like(x), np.zeros_like(x)  # d = -sum 1/(a+k)
    for n in range(1, max_terms(np.max(a, initial=0.0)) + 1):
        r = 1.0 / (aa + n)
        t = t * (xx * r)
        s = s + t
        if deriv:
            d = d - r
            ds = ds + t * d
        if n % 8 == 0:
            ok = (t <= _EPS * s) & (n > xx - aa)
            if deriv:
                ok &= -t * d <= -_EPS * ds
            if ok.any():
                idx, (aa, xx, t, s, d, ds) = retire(ok, idx, (s_out, ds_out), (s, ds), (aa, xx, t, s, d, ds))
                if not idx.size:
                    break
    ok = np.ones(n_el, bool)
    ok[idx] = False
    lp = log_prefactor(a, x)
    p = np.exp(lp) * s_out
    if not deriv:
        return p, None, ok
    return p, np.exp(lp) * ((np.log(x) - _gamma.digamma(a + 1.0)) * s_out + ds_out), ok


def _small_a_q(a, x, deriv):
    """Q for a < 1, x < 1.5 (module doc), and dQ/da."""
    t = np.ones_like(x)           # (-x)^n / n!
    s = np.zeros_like(x)          # sum_{n>=1} (-x)^n / (n! (a + n))
    ds = np.zeros_like(x)         # d/da of it
    for n in range(1, 40):        # |x| < 1.5: 1.5^40 / 40! / 40 < 1e-37
        t = t * (-x / n)
        r = 1.0 / (a + n)
        s = s + t * r
        ds = ds - t * r * r
    with np.errstate(divide="ignore", invalid="ignore"):
        u = a * np.log(x) - _lgamma1p(a)
        eu = np.exp(u)
        q = -np.expm1(u) - eu * a * s
        if not deriv:
            return q, None
        du = np.log(x) - _gamma.digamma(a + 1.0)
        return q, -eu * du * (1.0 + a * s) - eu * (s + a * ds)


def _legendre_cf(a, x, deriv):
    """Q by Legendre's continued fraction (modified Lentz), and dQ/da; and the mask of the converged ones."""
    n_el = x.shape[0]
    f_out, dl_out = np.full(n_el, np.nan), np.full(n_el, np.nan)
    idx = np.arange(n_el)
    b = x + 1.0 - a                # b_0 > 0 here (x >= a + 1 or x >= 1.5 > a + 0.5)
    aa, f, c = a, b.copy(), b.copy()
    dlogf = -1.0 / b               # d log f / da (db_j / da = -1)
    dc = -np.ones_like(x)
    dinv, ddinv = np.zeros_like(x), np.zeros_like(x)   # D (already inverted) and dD/da
    step = scale = dlogf
    for j in range(1, max_terms(np.max(a, initial=0.0)) + 1):
        aj = -j * (j - aa)         # the partial numerator, d aj / da = j
        b = b + 2.0
        dp = b + aj * dinv
        dp = np.where(dp == 0, _TINY, dp)
        cn = b + aj / c
        cn = np.where(cn == 0, _TINY, cn)
        if deriv:
            ddp = -1.0 + j * dinv + aj * ddinv
            dcn = -1.0 + j / c - aj * dc / (c * c)
            scale = dcn / cn
            step = scale - ddp / dp
            dlogf = dlogf + step
            ddinv = -ddp / (dp * dp)
            dc = dcn
        dinv = 1.0 / dp
        c = cn
        delta = c * dinv
        f = f * delta
        if j % 8 == 0:
            ok = np.abs(delta - 1.0) <= _CF_EPS
            if deriv:   # (the derivative converges on its own: at a = 1, 2... the fraction stops, it does not)
                ok &= np.abs(step) <= _CF_EPS * (np.abs(dlogf) + np.abs(scale))
            if ok.any():
                idx, (aa, b, f, c, dlogf, dc, dinv, ddinv, step, scale) = retire(
                    ok, idx, (f_out, dl_out), (f, dlogf), (aa, b, f, c, dlogf, dc, dinv, ddinv, step, scale))
                if not idx.size:
                    break
    ok = np.ones(n_el, bool)
    ok[idx] = False
    f, dlogf = f_out, dl_out
    # Q = x^a e^-x / Gamma(a) / f = a * prefactor / f
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = log_prefactor(a, x) + np.log(a)
        q = np.exp(lp) / f
        if not deriv:
            return q, None, ok
        # d/da of a x^a e^-x / Gamma(a + 1) = x^a e^-x (log x rgamma(a) + rgamma'(a)); at a = 0 it is e^-x
        dq = np.where(a == 0, np.exp(-x) / f, q * (np.log(x) - _gamma.digamma(a) - dlogf))
    return q, dq, ok


def gammainc_pq(a, x, deriv=False, name="gammainc"):
    """``(P, Q, dP/da)`` for float64 arrays ``a``, ``x`` (broadcast); ``dP/da`` is None unless ``deriv``
    (and ``dQ/da = -dP/da``). As SciPy: NaN for a < 0, x < 0, NaN arguments, a = x = 0 and a = x = inf;
    P(0, x > 0) = 1, P(inf, x < inf) = 0."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    p = np.full(a.shape, np.nan)
    q = np.full(a.shape, np.nan)
    dp = np.full(a.shape, np.nan) if deriv else None
    valid = (a >= 0) & (x >= 0) & ~((a == 0) & (x == 0)) & ~((a == np.inf) & (x == np.inf))
    zero_x = valid & ((x == 0) | (a == np.inf))
    p[zero_x], q[zero_x] = 0.0, 1.0
    inf_x = valid & (x == np.inf)
    p[inf_x], q[inf_x] = 1.0, 0.0
    if deriv:
        dp[zero_x | inf_x] = 0.0
    rest = valid & ~zero_x & ~inf_x & (a < np.inf)
    small = rest & (a < 1.0) & (x < 1.5)
    series = rest & ~small & (x < a + 1.0)
    cf = rest & ~small & ~series
    if small.any():
        qs, dqs = _small_a_q(a[small], x[small], deriv)
        ps = _series(np.maximum(a[small], 0.0), x[small], False)[0]
        p[small], q[small] = np.where(a[small] == 0, 1.0, ps), qs
        if deriv:
            dp[small] = -dqs
    for mask, method, is_p in ((series, _series, True), (cf, _legendre_cf, False)):
        if mask.any():
            v, dv, ok = method(a[mask], x[mask], deriv)
            if not ok.all():
                raise not_converged(name, ~ok, a[mask], x[mask])
            if is_p:
                p[mask], q[mask] = v, 1.0 - v
            else:
                p[mask], q[mask] = 1.0 - v, v
            if deriv:
                dp[mask] = dv if is_p else -dv
    return p.reshape(shape), q.reshape(shape), (dp.reshape(shape) if deriv else None)


def log_density(a, x):
    """``log(x^(a-1) e^-x / Gamma(a))``, the derivative of P in x (the mode form for large a; at x = 0 the direct
    form, -inf for a > 1: the mode form's log(x) terms gave -inf + inf = NaN there)."""
    big = (a >= _gamma._STIRLING_MIN) & (x > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.where((a == 1) & (x == 0), 0.0, (a - 1.0) * np.log(x)) - x - _gamma.gammaln(a)
        return np.where(big, log_prefactor(a, x) + np.log(a) - np.log(x), direct)
