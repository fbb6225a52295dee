"""Adversarial review of npg.special, part 2 (part 1: tests/test_special_review.py): limits SciPy and mpmath
agree on where npgrad gave NaN, large exponents, warnings from backward, subnormal and signed-zero edges,
the incomplete gamma and beta functions at the edges of their parameters, forward mode and vmap."""
import math
import time
import warnings

import mpmath as mp
import numpy as np
import scipy.special as sp

import npgrad as npg
from tests.helpers import assert_close

S = npg.special
INF = np.inf


def _mp(f, *args, dps=50):
    with mp.workdps(dps):
        return float(f(*(mp.mpf(float(a)) for a in args)))


def test_zeta_with_a_large_exponent_is_fast_and_right():
    # the direct sum ran ceil(10 + s - q) steps: zeta(1e10, 0.5) never finished, zeta(1e6, 1) took seconds
    s = np.array([1e10, 1e6, 1e6, 5e3, 300.0, 1e4, 80.0])
    q = np.array([1.0, 1.0, 1.5, 0.9, 0.7, 1e3, 2.5])
    t0 = time.perf_counter()
    out = S.zeta(s, q)
    assert time.perf_counter() - t0 < 2.0
    with np.errstate(over="ignore"):
        assert_close(out, sp.zeta(s, q), rtol=1e-13)
    ref = [_mp(mp.zeta, *v) for v in [(300.0, 0.7), (80.0, 2.5)]]
    assert_close(out[[4, 6]], ref, rtol=1e-13)
    assert S.zeta(1e10, 0.5).item() == INF
    # s = inf: the sum is its first term's limit, inf for 0 < q < 1 (SciPy's; npgrad gave NaN)
    assert_close(S.zeta(INF, np.array([1e-5, 0.5, 1.0, 2.0])), [INF, INF, 1.0, 0.0], rtol=0)


def test_beta_and_betaln_take_their_limits_where_mpmath_and_scipy_agree():
    # npgrad gave NaN at all of these: a pole of Gamma(a + b) alone (B = 0), of Gamma(a) alone (B = inf), of
    # both with a positive integer b (a finite rational limit), an infinite parameter, a + b overflowing
    a = np.array([1.0, -1.0, 2.0, -3.0, -1.5, 0.0, 1.0, 0.0, -1.0, -2.0, -0.5, 0.5, -1.0, 3.0, INF, 1.0, INF, 1e-10,
                  INF, INF, 1e308, 7.0])
    b = np.array([-1.0, 1.0, -3.0, 2.0, 1.0, 1.0, 0.0, 0.0, 1e-10, -1.0, -0.5, -0.5, 2.0, -1.0, 1e-10, INF, INF, INF,
                  -1.5, -0.5, 1e308, -4.0])
    ref = []
    with mp.workdps(30):
        for u, v in zip(a, b):
            ref.append(float(mp.beta(u, v)) if u < 1e300 and v < 1e300 else (0.0 if u > 0 and v > 0 else math.nan))
    ref = np.array(ref)
    ref[-4:-2] = [INF, -INF]                  # B(inf, b < 0) = sign(Gamma(b)) inf (mpmath and SciPy)
    with np.errstate(all="ignore"):
        assert_close(S.beta(a, b), ref, rtol=1e-13)
        ref_ln = np.log(np.abs(ref))
        ref_ln[-2] = -(1e308 * math.log(2)) * 2   # log B(x, x) = -2x log 2 + O(log x): finite
        assert_close(S.betaln(a, b), ref_ln, rtol=1e-13)
        assert_close(S.betaln(a[:16], b[:16]), sp.betaln(a[:16], b[:16]), rtol=1e-13)   # (SciPy: NaN at inf, inf)
    # where the limit depends on the path, or mpmath has none: NaN
    assert np.isnan(S.beta(np.array([INF, -INF, 0.0, INF]), np.array([0.0, 2.0, INF, -2.0])).data).all()


_EDGES = np.array([0.0, -0.0, 1.0, -1.0, -2.0, 0.5, -0.5, 1e-300, 5e-324, 1e300, -1e300, 1e5, -1e5, INF, -INF, np.nan])
_UNARY = ("erf erfc erfcx erfinv erfcinv ndtr log_ndtr ndtri gammaln gamma rgamma digamma i0 i0e i1 i1e logit entr "
          "expit gammasgn").split()


def _backward_warnings(f, *args):
    ts = [npg.tensor(a, requires_grad=True) for a in args]
    with np.errstate(all="ignore"):
        out = f(*ts).sum()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out.backward()
    return [str(m.message) for m in w], [t.grad.data for t in ts]


def test_backward_at_poles_and_edges_gives_its_inf_or_nan_without_numpy_warnings():
    # the derivatives' infinities and NaNs there are their values (PyTorch's), not accidents: backward warned
    # "invalid value encountered in divide" for xlogy's d/dy at x = y = 0 (torch: NaN), "overflow encountered in
    # multiply" for erf's at 1e300, "invalid value in subtract" for i1's at 1e5 (torch: NaN)...
    for dt in (np.float64, np.float32):
        with np.errstate(all="ignore"):
            x = _EDGES.astype(dt)
        for name in _UNARY:
            msgs, _ = _backward_warnings(getattr(S, name), x)
            assert not msgs, (name, dt, msgs)
        a, b = np.meshgrid(x, x)
        for name in ("xlogy", "xlog1py", "beta", "betaln"):
            msgs, _ = _backward_warnings(getattr(S, name), a, b)
            assert not msgs, (name, dt, msgs)
        msgs, _ = _backward_warnings(lambda t: S.polygamma(1, t) + S.zeta(3.0, t), x)
        assert not msgs, ("polygamma/zeta", dt, msgs)
        pos = np.array([0.0, 1e-300, 1e-3, 0.5, 1.0, 2.0, 1e5], dt)
        with np.errstate(over="ignore"):
            a, xx = np.meshgrid(pos, np.concatenate([pos, [1e300, INF]]).astype(dt))
        for name in ("gammainc", "gammaincc"):
            msgs, _ = _backward_warnings(getattr(S, name), a, xx)
            assert not msgs, (name, dt, msgs)
    msgs, (gx, gy) = _backward_warnings(S.xlogy, np.zeros(1), np.zeros(1))
    assert not msgs
    assert gx[0] == 0.0 and np.isnan(gy[0])          # torch.special.xlogy's gradients at (0, 0)


def test_subnormal_and_signed_zero_edges():
    import torch
    # i1'(x) = i0(x) - i1(x) / x was 1 - 0 / x = 1 at x = 5e-324 (i1 underflows): the derivative is 1/2 there
    for name in ("i1", "i1e"):
        x = npg.tensor(np.array([5e-324, -5e-324, 1e-310, 1e-30, 0.0]), requires_grad=True)
        getattr(S, name)(x).sum().backward()
        tx = torch.tensor(x.data, requires_grad=True)
        getattr(torch.special, name)(tx).sum().backward()
        assert_close(x.grad, tx.grad.numpy(), rtol=1e-15, atol=0)
    # rgamma(x) = x + euler x^2 + ... near 0 was 0 below 5.6e-309 (1 / Gamma(x) with Gamma(x) = inf)
    x = np.array([5e-324, -1e-310, 1e-308, 3e-300])
    assert_close(S.rgamma(x), [_mp(mp.rgamma, v) for v in x], rtol=1e-15, atol=0)   # (SciPy: -0.0 at -1e-310)
    # logit'(p) = 1 / (p (1 - p)) is +inf at p = 0, -0.0 included (it was -inf there; torch: +inf)
    p = npg.tensor(np.array([-0.0, 0.0, 1.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        S.logit(p).sum().backward()
    assert (np.asarray(p.grad.data) == INF).all(), p.grad


def test_complex_arguments_are_refused_naming_the_function():
    # (the message named no function; gammainc/betainc computed on the real parts first, with a ComplexWarning)
    z = np.array([0.5 + 1j])
    calls = {name: (lambda f: lambda: f(z))(getattr(S, name)) for name in _UNARY}
    calls.update({name: (lambda f: lambda: f(z, 0.5))(getattr(S, name))
                  for name in ("xlogy", "xlog1py", "beta", "betaln", "gammainc", "gammaincc")})
    calls.update(betainc=lambda: S.betainc(0.5, z, 0.3), polygamma=lambda: S.polygamma(1, z),
                 zeta=lambda: S.zeta(3.0, z))
    for name, call in calls.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                call()
            except TypeError as e:
                assert f"npgrad.special.{name}: complex arguments are not supported" in str(e), (name, str(e))
            else:
                raise AssertionError(f"{name} accepted a complex argument")


def test_betainc_with_a_tiny_b_beyond_the_switch_point_keeps_its_relative_precision():
    # I = 1 - I_{1-x}(b, a) cancelled: I ~ b is tiny there and came out as rounding noise (betainc(1, 1e-20, 0.9)
    # gave 1.6e-15 for 2.3e-20), and its derivative in b was off by 17 orders (1e-17 for 2.30)
    pts = [(1.0, 1e-20, 0.9), (0.5, 1e-8, 0.95), (2.0, 1e-5, 0.99), (0.1, 1e-100, 0.9999999999), (7.5, 1e-12, 0.3),
           (300.0, 1e-6, 0.999), (0.01, 1e-7, 0.8)]
    a, b, x = (np.array(v) for v in zip(*pts))
    ta, tb = npg.tensor(a, requires_grad=True), npg.tensor(b, requires_grad=True)
    out = S.betainc(ta, tb, x)
    out.sum().backward()
    with mp.workdps(60):
        def f(u, v, w):
            return mp.betainc(u, v, 0, w, regularized=True)
        ref = [float(f(*map(mp.mpf, p))) for p in pts]
        ref_a = [float(mp.diff(lambda t: f(t, mp.mpf(v), mp.mpf(w)), mp.mpf(u))) for u, v, w in pts]
        ref_b = [float(mp.diff(lambda t: f(mp.mpf(u), t, mp.mpf(w)), mp.mpf(v))) for u, v, w in pts]
    assert_close(out, ref, rtol=1e-13, atol=0)
    assert_close(ta.grad, ref_a, rtol=1e-12, atol=0)
    assert_close(tb.grad, ref_b, rtol=1e-12, atol=0)


def test_digamma_near_its_negative_zeros_keeps_its_relative_precision():
    # psi(1 - x) - pi cot(pi x) cancels there to ~1e-16 absolute: psi(-0.5040830081644554) was 2e-7 relative off
    xs = [-0.5040830081644554]
    with mp.workdps(40):
        for k in range(6):
            r = float(mp.findroot(mp.digamma, -k - 0.5 - (0.1 if k else 0.0)))
            xs += [r, np.nextafter(r, 0), r + 1e-12, r - 3e-9, r + 1e-5, r - 2e-3, r + 0.029, r - 0.029]
    xs = np.array(xs)
    ref = np.array([_mp(mp.digamma, v) for v in xs])
    assert_close(S.digamma(xs), ref, rtol=2e-14, atol=0)
    x = npg.tensor(xs, requires_grad=True)
    S.digamma(x).sum().backward()
    assert_close(x.grad, [_mp(lambda v: mp.polygamma(1, v), v) for v in xs], rtol=1e-13, atol=0)
