"""A hunt for silent wrong answers in npg.special over wide argument grids (huge and tiny magnitudes, subnormals,
just beside poles), against mpmath and SciPy: each test is a case npgrad got wrong."""
import mpmath as mp
import numpy as np
import scipy.special as sp

import npgrad as npg
from tests.helpers import assert_close

S = npg.special
INF = np.inf


# ------------------------------------------------ the scaled Bessel functions' derivatives at a large argument
def _scaled(name, n, x):
    """e^-x I_n(x) (i0e, i1e) or e^x K_n(x) (k0e, k1e) in mpmath, x > 0."""
    return mp.besseli(n, x) * mp.exp(-x) if name[0] == "i" else mp.besselk(n, x) * mp.exp(x)


def _scaled_prime(name, x):
    """The exact derivative of ``name`` at x > 0 from its closed form, in enough digits not to cancel."""
    f = lambda n: _scaled(name, n, x)   # noqa: E731
    return {"i0e": lambda: f(1) - f(0), "i1e": lambda: f(0) - f(1) * (1 + 1 / x),
            "k0e": lambda: f(0) - f(1), "k1e": lambda: f(1) * (1 - 1 / x) - f(0)}[name]()


def _ref_prime(name, xs):
    """``_scaled_prime`` at each x, in float64, with the digits the cancellation needs (mpmath is slow at
    many digits for a moderate x)."""
    out = []
    for x in xs:
        with mp.workdps(40 + int(np.log10(x))):
            out.append(float(_scaled_prime(name, mp.mpf(float(x)))))
    return np.array(out)


def _grad(name, x, dtype):
    t = npg.tensor(np.asarray(x, dtype), requires_grad=True)
    getattr(S, name)(t).sum().backward()
    assert t.grad.dtype == dtype
    return np.asarray(t.grad, np.float64)


def test_scaled_bessel_derivatives_do_not_cancel_at_large_arguments():
    # i1e - i0e (k0e - k1e) subtracts two numbers ~ (2 pi x)^-1/2 whose difference is 1/(2x) of them: npgrad's
    # gradient of i0e was 1e-8 off at x = 1e8 and 5% at 1e15 in float64; in float32 7e-5 off at x = 1e3 and 0
    # (or twice the value) at 1e8. (torch.special's i0e/i1e backward cancels the same way.)
    xs = np.array([20.0, 29.9, 30.0, 45.0, 100.0, 1e3, 1e4, 1e8, 1e15, 1e100])
    for name in ("i0e", "i1e", "k0e", "k1e"):
        ref = _ref_prime(name, xs)
        assert_close(_grad(name, xs, np.float64), ref, rtol=1e-13, what=name)
        # i0e is even (its derivative odd), i1e odd (its derivative even)
        if name[0] == "i":
            assert_close(_grad(name, -xs, np.float64), -ref if name == "i0e" else ref, rtol=1e-13, what=name)
        x32 = xs[xs < 1e30].astype(np.float32)
        assert_close(_grad(name, x32, np.float32), _ref_prime(name, x32), rtol=1e-5, what=name + " float32")
    # the limits at +inf are 0, as before
    for name in ("i0e", "i1e", "k0e", "k1e"):
        assert _grad(name, [INF], np.float64)[0] == 0.0


def test_scaled_bessel_second_derivatives_at_large_arguments():
    # the asymptotic form of the derivative is written with differentiable arithmetic: create_graph works
    xs = np.array([35.0, 5e3])
    with mp.workdps(30):
        for name in ("i0e", "i1e", "k0e", "k1e"):
            t = npg.tensor(xs, requires_grad=True)
            (g,) = npg.autograd.grad(getattr(S, name)(t).sum(), t, create_graph=True)
            (g2,) = npg.autograd.grad(g.sum(), t)
            ref = [float(mp.diff(lambda v: _scaled_prime(name, v), mp.mpf(x))) for x in xs]
            assert_close(g2, ref, rtol=1e-11, what=name)


# ----------------------------------------------------------------------------------- subnormals and poles
def test_y0_at_the_smallest_subnormals_is_finite():
    # log(x / 2) was log(0) = -inf for x = 5e-324 (x / 2 rounds to 0): Y0(5e-324) = -474.0 (SciPy, mpmath)
    x = np.array([5e-324, 1e-323, 2.5e-323, 1e-310, 1e-300])
    ref = [float(mp.bessely(0, mp.mpf(v))) for v in x]
    assert_close(S.y0(x), ref, rtol=1e-14)
    assert_close(S.yn(0, x), sp.yn(0, x), rtol=1e-14)
    x32 = np.array([1e-45, 1e-40, 1e-30], np.float32)   # (float32's subnormals)
    assert_close(S.y0(x32), np.array([float(mp.bessely(0, mp.mpf(float(v)))) for v in x32], np.float32), rtol=1e-6)


def test_gammaln_just_left_of_zero_is_finite():
    # pi / sin(pi x) overflowed for -6e-309 < x < 0: gammaln(-1e-310) gave inf (SciPy too), and sin(pi x) is
    # subnormal and inexact there (gammaln(-5e-324) would be 744.49, not 744.44)
    x = np.array([-5e-324, -1e-320, -1e-310, -1e-305, -1e-300, -1e-200, -1e-20])
    with mp.workdps(50):
        ref = [float(mp.log(abs(mp.gamma(mp.mpf(v))))) for v in x]
    assert_close(S.gammaln(x), ref, rtol=1e-15)
    assert_close(S.multigammaln(np.array([1e-300, 0.5]), 1), sp.multigammaln(np.array([1e-300, 0.5]), 1), rtol=1e-15)


def test_beta_at_a_pole_beside_a_tiny_parameter_is_infinite():
    # B(1e-30, -1): Gamma(-1) is a pole and Gamma(-1 + 1e-30) is finite, so B = inf (SciPy, mpmath); -1 + 1e-30
    # rounds to -1, and npgrad took the limit of a quotient of two poles, (m - 1)! ... at the non-integer m = 1e-30:
    # B = 1e30, betaln = 69.08
    a = np.array([1e-30, -1.0, 1e-17, -3.0, 1e-300, 2.0, -1.0, -3.0])
    b = np.array([-1.0, 1e-30, -3.0, 1e-17, -2.0, -3.0, 1.0, 2.0])
    with np.errstate(all="ignore"):
        assert_close(S.beta(a, b), sp.beta(a, b), rtol=1e-14)
        assert_close(S.betaln(a, b), sp.betaln(a, b), rtol=1e-14)
    assert (S.beta(a[:5], b[:5]).data == INF).all()
