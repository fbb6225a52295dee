"""The regularized incomplete beta function in NumPy, to float64 precision, with its derivatives in a and b.

``I_x(a, b) = int_0^x t^(a-1) (1-t)^(b-1) dt / B(a, b)`` (scipy.special.betainc), for a, b >= 0 and
0 <= x <= 1. Kernels only (float64 arrays in and out); the differentiable op is in npgrad/ops/incomplete.py.

Method (from the definition): the continued fraction
``I_x(a, b) = x^a (1-x)^b / (a B(a, b)) / (1 + d_1 / (1 + d_2 / (1 + ...)))``,
``d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))``, ``d_2m = m (b - m) x / ((a + 2m - 1)(a + 2m))``,
evaluated by the modified Lentz method where it converges fast, ``x <= (a + 1) / (a + b + 2)``, and
``1 - I_{1-x}(b, a)`` beyond. The partial numerators are differentiated in a and b alongside (so the
derivatives have the value's accuracy), and the prefactor's log-derivatives are
``log x - 1/a - psi(a) + psi(a + b)`` and ``log(1 - x) - psi(b) + psi(a + b)`` (the digamma
differences by :func:`psi_diff`, accurate when one parameter is much smaller than the other).

The prefactor ``x^a (1-x)^b / B(a, b)`` is written, for a, b >= 13, around the mean ``x0 = a / (a + b)``:
``a log1pmx(u) + b log1pmx(v) + log(a b / (2 pi (a + b))) / 2 - T(a) - T(b) + T(a + b)``, with
``u = (x - x0) / x0``, ``v = (x0 - x) / (1 - x0)`` and T Stirling's tail: no cancellation of large terms.

Accuracy: about 1e-13 relative (against mpmath) over a, b in [0.05, 1e4]. The complement ``1 - I`` is
formed by subtraction where I is computed directly, so where I is close to 1 below the switch point
(a small, b large, x below the mean) ``1 - I`` (and so ``betainc(b, a, 1 - x)``) loses
``-log10(1 - I)`` digits.
"""
import math

import numpy as np

from . import _gamma
from ._incgamma import _CF_EPS, _TINY, log1pmx, max_terms, not_converged, retire, stirling_tail

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _lr(u, ratio):
    """``log(1 + u) - u`` where ``1 + u = ratio`` (accurate near 0, and near -1 through ``ratio``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(u) < 0.5, log1pmx(np.where(np.abs(u) < 0.5, u, 0.0)), np.log(ratio) - u)


def log_power(a, b, x):
    """``log(x^a (1-x)^b / B(a, b))`` for a, b > 0, 0 < x < 1 (the mode form when a, b >= 13)."""
    big = (a >= _gamma._STIRLING_MIN) & (b >= _gamma._STIRLING_MIN)
    ab = np.where(big, a, 13.0)
    bb = np.where(big, b, 13.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = ab + bb
        x0, y0 = ab / s, bb / s
        delta = x - x0
        mode = (ab * _lr(delta / x0, x / x0) + bb * _lr(-delta / y0, (1.0 - x) / y0)
                + 0.5 * np.log(ab * bb / s) - _HALF_LOG_2PI - stirling_tail(ab) - stirling_tail(bb)
                + stirling_tail(s))
        direct = a * np.log(x) + b * np.log1p(-x) - _gamma.betaln(a, b)
    return np.where(big, mode, direct)


def _cf(a, b, x, deriv):
    """The continued fraction ``F = 1 + d_1 / (1 + d_2 / ...)`` (modified Lentz), with d log F / da and
    d log F / db; and the mask of the converged elements."""
    n_el = x.shape[0]
    outs = tuple(np.full(n_el, np.nan) for _ in range(3))
    idx = np.arange(n_el)
    one, zero = np.ones_like(x), np.zeros_like(x)
    state = (a, b, x, one, one, zero, zero, zero, zero, zero, zero, zero, zero, zero)
    for j in range(1, 2 * max_terms(max(np.max(a, initial=0.0), np.max(b, initial=0.0))) + 1):
        aa, bb, xx, f, c, dinv, dlf_a, dlf_b, dc_a, dc_b, dd_a, dd_b, sc_a, sc_b = state
        m = j // 2
        if j % 2:   # d_2m+1 and its derivatives
            den = (aa + 2 * m) * (aa + 2 * m + 1.0)
            d = -(aa + m) * (aa + bb + m) * xx / den
            if deriv:
                d_a = (d * (1.0 / (aa + m) + 1.0 / (aa + bb + m) - 1.0 / (aa + 2 * m) - 1.0 / (aa + 2 * m + 1.0))
                       if m else (bb - 1.0) * xx / ((aa + 1.0) * (aa + 1.0)))    # (d_1 = -(a + b) x / (a + 1))
                d_b = -(aa + m) * xx / den
        else:       # d_2m
            den = (aa + 2 * m - 1.0) * (aa + 2 * m)
            d = m * (bb - m) * xx / den
            if deriv:
                d_a = -d * (1.0 / (aa + 2 * m - 1.0) + 1.0 / (aa + 2 * m))
                d_b = m * xx / den
        dp = 1.0 + d * dinv
        dp = np.where(dp == 0, _TINY, dp)
        cn = 1.0 + d / c
        cn = np.where(cn == 0, _TINY, cn)
        if deriv:
            ddp_a = d_a * dinv + d * dd_a
            ddp_b = d_b * dinv + d * dd_b
            dcn_a = d_a / c - d * dc_a / (c * c)
            dcn_b = d_b / c - d * dc_b / (c * c)
            sc_a, sc_b = dcn_a / cn, dcn_b / cn
            step_a, step_b = sc_a - ddp_a / dp, sc_b - ddp_b / dp
            dlf_a, dlf_b = dlf_a + step_a, dlf_b + step_b
            dd_a, dd_b = -ddp_a / (dp * dp), -ddp_b / (dp * dp)
            dc_a, dc_b = dcn_a, dcn_b
        dinv = 1.0 / dp
        c = cn
        delta = c * dinv
        f = f * delta
        state = (aa, bb, xx, f, c, dinv, dlf_a, dlf_b, dc_a, dc_b, dd_a, dd_b, sc_a, sc_b)
        if j % 16 == 0:
            ok = np.abs(delta - 1.0) <= _CF_EPS
            if deriv:   # (and the derivatives, on their own: they go on where the fraction stops)
                ok &= ((np.abs(step_a) <= _CF_EPS * (np.abs(dlf_a) + np.abs(sc_a)))
                       & (np.abs(step_b) <= _CF_EPS * (np.abs(dlf_b) + np.abs(sc_b))))
            if ok.any():
                idx, state = retire(ok, idx, outs, (f, dlf_a, dlf_b), state)
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


def _direct(a, b, x, deriv):
    """I_x(a, b) by the continued fraction, with dI/da and dI/db."""
    f, dlf_a, dlf_b, ok = _cf(a, b, x, deriv)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        i = np.exp(log_power(a, b, x) - np.log(a)) / f
        if not deriv:
            return i, None, None, ok
        di_a = i * (np.log(x) - 1.0 / a + psi_diff(a, b) - dlf_a)
        di_b = i * (np.log1p(-x) + psi_diff(b, a) - dlf_b)
    return i, di_a, di_b, ok


def betainc(a, b, x, deriv=False, name="betainc"):
    """``(I, dI/da, dI/db)`` for float64 arrays ``a``, ``b``, ``x`` (broadcast); the derivatives are None
    unless ``deriv``. NaN outside a, b >= 0, 0 <= x <= 1 and for a = b = 0; as SciPy, I = 1 for a = 0 and
    I = 0 for b = 0 (x inside), I_0 = 0, I_1 = 1."""
    a, b, x = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x)))
    shape = a.shape
    a, b, x = a.ravel(), b.ravel(), x.ravel()
    i = np.full(a.shape, np.nan)
    di_a = np.full(a.shape, np.nan) if deriv else None
    di_b = np.full(a.shape, np.nan) if deriv else None
    valid = (a >= 0) & (b >= 0) & ~((a == 0) & (b == 0)) & (x >= 0) & (x <= 1)
    ends = valid & ((x == 0) | (x == 1))
    i[ends] = x[ends]
    deg_a = valid & ~ends & ((a == 0) | (b == np.inf))
    deg_b = valid & ~ends & ~deg_a & ((b == 0) | (a == np.inf))
    i[deg_a], i[deg_b] = 1.0, 0.0
    rest = valid & ~ends & ~deg_a & ~deg_b
    if deriv:
        for arr in (di_a, di_b):   # (at the ends and the degenerate limits the value is constant)
            arr[valid & ~rest] = 0.0
    swap = rest & (x * (a + b + 2.0) > a + 1.0)
    for mask, flip in ((rest & ~swap, False), (swap, True)):
        if not mask.any():
            continue
        am, bm, xm = a[mask], b[mask], x[mask]
        if flip:
            v, dv_b, dv_a, ok = _direct(bm, am, 1.0 - xm, deriv)
            v = 1.0 - v
            if deriv:
                dv_a, dv_b = -dv_a, -dv_b
        else:
            v, dv_a, dv_b, ok = _direct(am, bm, xm, deriv)
        if not ok.all():
            raise not_converged(name, ~ok, am, xm)
        i[mask] = v
        if deriv:
            di_a[mask], di_b[mask] = dv_a, dv_b
    out = i.reshape(shape)
    if not deriv:
        return out, None, None
    return out, di_a.reshape(shape), di_b.reshape(shape)


def log_density(a, b, x):
    """``log(x^(a-1) (1-x)^(b-1) / B(a, b))``, the derivative of I in x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = log_power(a, b, x) - np.log(x) - np.log1p(-x)
        edge = (a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - _gamma.betaln(a, b)
        edge = np.where((a == 1) & (x == 0) | (b == 1) & (x == 1),
                        np.where(x == 0, (b - 1.0) * np.log1p(-x), (a - 1.0) * np.log(x)) - _gamma.betaln(a, b),
                        edge)
    return np.where((x > 0) & (x < 1), inner, edge)
