"""npg.special.gammainc / gammaincc / betainc: values against scipy.special over a broad grid (small and large
parameters; x near 0, near the mean, in both tails) to ~1e-12 relative, float32 kept, gradients in x
against torch.special (values too), gradients in a and b against finite differences of SciPy's values
(float64), second derivatives against finite differences of the first, forward mode against reverse mode,
edge values and errors; scipy.special's ufuncs on tensors run the same ops."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad import func
from npgrad import special as S
from tests.helpers import assert_close

import scipy.special as sp  # noqa: E402 (the test extra installs SciPy)

RNG = np.random.default_rng(16)
PARAMS = [1e-3, 0.05, 0.1, 0.5, 1.0, 2.5, 7.0, 13.0, 30.0, 100.0, 1e3, 1e4]


def _gamma_grid():
    a_s, x_s = [], []
    for a in PARAMS:
        sd = np.sqrt(a)
        xs = np.concatenate([a * np.array([1e-6, 1e-3, 0.1, 0.5, 0.9, 0.99, 1, 1.01, 1.1, 1.5, 2, 5]),
                             a + sd * np.linspace(-8, 8, 17), [1e-10, 1e-5, 0.01, 0.5, 1, 1.4, 1.6, 3, 10, 30, 100]])
        xs = xs[xs > 0]
        a_s.append(np.full(xs.shape, a))
        x_s.append(xs)
    return np.concatenate(a_s), np.concatenate(x_s)


def _beta_grid(values=(0.05, 0.5, 1.0, 2.5, 13.0, 40.0, 300.0, 5000.0)):
    a_s, b_s, x_s = [], [], []
    for a in values:
        for b in values:
            m = a / (a + b)
            sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
            xs = np.concatenate([[1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-6],
                                 m + sd * np.array([-6, -3, -1, -0.3, 0, 0.3, 1, 3, 6]),
                                 m * np.array([1e-3, 0.1, 0.5]), 1 - (1 - m) * np.array([1e-3, 0.1, 0.5])])
            xs = xs[(xs > 0) & (xs < 1)]
            a_s.append(np.full(xs.shape, a))
            b_s.append(np.full(xs.shape, b))
            x_s.append(xs)
    return np.concatenate(a_s), np.concatenate(b_s), np.concatenate(x_s)


def _rel_err(v, ref):
    m = ref > 1e-300
    return np.max(np.abs(v[m] - ref[m]) / ref[m])


# ------------------------------------------------------------------------------------ values
def test_gammainc_gammaincc_match_scipy_on_a_broad_grid():
    a, x = _gamma_grid()
    assert _rel_err(S.gammainc(a, x).data, sp.gammainc(a, x)) < 1e-12
    assert _rel_err(S.gammaincc(a, x).data, sp.gammaincc(a, x)) < 1e-12


def test_betainc_matches_scipy_on_a_broad_grid():
    a, b, x = _beta_grid()
    # (2e-12: near (5000, 1, 0.9996) I = x^5000 has condition number 5000 in x, so 1 ulp of x is 1e-12)
    assert _rel_err(S.betainc(a, b, x).data, sp.betainc(a, b, x)) < 2e-12


def test_random_arguments_match_scipy():
    # (2e-12: in the far tails for a in the hundreds SciPy itself is off by up to 1e-12 against mpmath, where
    # npgrad is within 5e-14; a below 500: beyond, SciPy's error there reaches 4e-12)
    a = np.exp(RNG.uniform(np.log(1e-2), np.log(500), 3000))
    x = a * np.exp(RNG.normal(0, 0.5, 3000))
    assert _rel_err(S.gammainc(a, x).data, sp.gammainc(a, x)) < 2e-12
    assert _rel_err(S.gammaincc(a, x).data, sp.gammaincc(a, x)) < 2e-12
    b = np.exp(RNG.uniform(np.log(1e-2), np.log(3e3), 3000))
    xb = RNG.beta(a, b)
    ok = (xb > 0) & (xb < 1)
    assert _rel_err(S.betainc(a[ok], b[ok], xb[ok]).data, sp.betainc(a[ok], b[ok], xb[ok])) < 2e-12


def test_edge_values_match_scipy():
    a = np.array([0.0, 0.0, 1.0, 2.0, 2.0, -1.0, 2.0, np.nan, 2.0, np.inf, 0.5])
    x = np.array([0.0, 1.0, 0.0, np.inf, -1.0, 1.0, np.nan, 1.0, 1e-300, 1.0, 1e300])
    with np.errstate(all="ignore"):
        assert_close(S.gammainc(a, x), sp.gammainc(a, x), rtol=1e-14, atol=0)
        assert_close(S.gammaincc(a, x), sp.gammaincc(a, x), rtol=1e-14, atol=0)
    a = np.array([0.0, 1.0, 0.0, 2.0, 2.0, 2.0, -1.0, 2.0, np.inf, 2.0, 1.0])
    b = np.array([1.0, 0.0, 0.0, 3.0, 3.0, 3.0, 1.0, np.nan, 3.0, np.inf, 1.0])
    x = np.array([0.5, 0.5, 0.5, 0.0, 1.0, 1.5, 0.5, 0.5, 0.5, 0.5, 0.25])
    with np.errstate(all="ignore"):
        assert_close(S.betainc(a, b, x), sp.betainc(a, b, x), rtol=1e-14, atol=0)


def test_float32_stays_float32_and_broadcasts():
    a32 = np.array([0.5, 2.0, 9.0], np.float32)
    x32 = np.array([[0.3], [4.0]], np.float32)
    out = S.gammainc(npg.tensor(a32), npg.tensor(x32))
    assert out.dtype == np.float32 and out.shape == (2, 3)
    assert_close(out, sp.gammainc(a32.astype(float), x32.astype(float)), rtol=1e-6)
    assert S.gammaincc(a32, 1.5).dtype == np.float32            # (a Python number stays weak)
    out = S.betainc(npg.tensor(a32), 2.0, npg.tensor(np.float32(0.4)))
    assert out.dtype == np.float32 and out.shape == (3,)
    assert S.gammainc(2, 3).dtype == np.float64                 # integers give float64, as SciPy
    with pytest.raises(ValueError, match="betainc: a, b and x could not be broadcast"):
        S.betainc(np.ones(2), np.ones(3), 0.5)


def test_no_convergence_is_an_error_naming_the_function_and_the_value():
    with pytest.raises(ArithmeticError, match=r"npgrad\.special\.gammainc: no convergence at a=1e\+12"):
        S.gammainc(1e12, 1e12)


# --------------------------------------------------------------------------- gradients in x
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gamma_values_and_gradient_in_x_match_torch(name, dtype):
    a = np.array([0.05, 0.5, 1.0, 2.5, 7.0, 30.0, 150.0, 0.3, 4.0], dtype)
    x = np.array([0.01, 0.7, 2.0, 1.5, 9.0, 26.0, 160.0, 3.0, 0.2], dtype)
    xt = npg.tensor(x)
    out = getattr(S, name)(a, xt)
    tx = torch.tensor(x, requires_grad=True)
    tout = getattr(torch.special, name)(torch.tensor(a), tx)
    assert out.dtype == dtype
    assert_close(out, tout.detach().numpy())
    w = RNG.standard_normal(x.shape).astype(dtype)
    (out * w).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    assert xt.grad.dtype == dtype
    assert_close(xt.grad, tx.grad.numpy())


# --------------------------------------------------------------- gradients in the parameters
def _d(f, p, h):
    """d f / dp by a fourth-order central difference (float64)."""
    return (8.0 * (f(p + h) - f(p - h)) - (f(p + 2 * h) - f(p - 2 * h))) / (12.0 * h)


def test_gammainc_gradient_in_a_matches_finite_differences_of_scipy():
    a = np.array([0.01, 0.05, 0.3, 0.5, 1.0, 1.0, 2.5, 7.0, 13.0, 30.0, 150.0, 1000.0, 0.3, 4.0])
    x = np.array([0.5, 3.0, 0.1, 1.4, 2.0, 0.5, 1.5, 9.0, 13.5, 26.0, 160.0, 980.0, 8.0, 0.2])
    h = 1e-4 * np.minimum(a, np.sqrt(a))
    for name, sign in (("gammainc", 1.0), ("gammaincc", -1.0)):
        at = npg.tensor(a)
        getattr(S, name)(at, x).sum().backward()
        assert_close(at.grad, _d(lambda p: getattr(sp, name)(p, x), a, h), rtol=1e-8, atol=0, what=name)
    at = npg.tensor(a)
    S.gammainc(at, x).sum().backward()
    ac = npg.tensor(a)
    S.gammaincc(ac, x).sum().backward()
    assert_close(ac.grad, -at.grad, rtol=1e-15, atol=0)


def test_betainc_gradients_match_finite_differences_of_scipy():
    a = np.array([0.05, 0.5, 1.0, 2.5, 13.0, 40.0, 300.0, 0.7, 3.0, 20.0, 1.0, 5000.0])
    b = np.array([0.5, 0.05, 1.0, 7.0, 13.0, 300.0, 40.0, 0.9, 3.0, 2.0, 5000.0, 1.0])
    x = np.array([0.3, 0.9, 0.5, 0.2, 0.52, 0.13, 0.86, 0.01, 0.97, 0.95, 4e-4, 0.9996])
    at, bt, xt = npg.tensor(a), npg.tensor(b), npg.tensor(x)
    S.betainc(at, bt, xt).sum().backward()
    ha, hb = 1e-4 * np.minimum(a, np.sqrt(a)), 1e-4 * np.minimum(b, np.sqrt(b))
    hx = 1e-4 * np.minimum(x, 1 - x)
    assert_close(at.grad, _d(lambda p: sp.betainc(p, b, x), a, ha), rtol=1e-8, atol=0, what="d/da")
    assert_close(bt.grad, _d(lambda p: sp.betainc(a, p, x), b, hb), rtol=1e-8, atol=0, what="d/db")
    assert_close(xt.grad, _d(lambda p: sp.betainc(a, b, p), x, hx), rtol=1e-8, atol=0, what="d/dx")


def test_parameter_gradients_agree_with_finite_differences_of_npgrad_itself():
    """The kernels' derivatives (term by term) against differences of npgrad's own values, elsewhere."""
    a = np.exp(RNG.uniform(np.log(0.05), np.log(500), 40))
    x = a * np.exp(RNG.normal(0, 0.3, 40))
    at = npg.tensor(a)
    S.gammaincc(at, x).sum().backward()
    h = 1e-4 * np.minimum(a, np.sqrt(a))
    assert_close(at.grad, _d(lambda p: S.gammaincc(p, x).data, a, h), rtol=1e-7, atol=1e-300)
    b = np.exp(RNG.uniform(np.log(0.05), np.log(500), 40))
    xb = np.clip(RNG.beta(a, b), 1e-6, 1 - 1e-6)
    bt = npg.tensor(b)
    S.betainc(a, bt, xb).sum().backward()
    hb = 1e-4 * np.minimum(b, np.sqrt(b))
    assert_close(bt.grad, _d(lambda p: S.betainc(a, p, xb).data, b, hb), rtol=1e-7, atol=1e-300)


# ------------------------------------------------------------------------- second derivatives
def test_second_derivatives_of_gammainc_match_finite_differences():
    a = np.array([0.5, 2.0, 7.0, 30.0, 400.0])
    x = np.array([0.3, 2.5, 5.0, 28.0, 420.0])
    at, xt = npg.tensor(a), npg.tensor(x)
    ga, gx = npg.autograd.grad(S.gammainc(at, xt).sum(), [at, xt], create_graph=True)
    haa, hax = npg.autograd.grad(ga.sum(), [at, xt])
    hxa, hxx = npg.autograd.grad(gx.sum(), [at, xt])
    ha, hx = 1e-4 * np.minimum(a, np.sqrt(a)), 1e-4 * x

    def da(p, q):
        return _d(lambda s: sp.gammainc(s, q), p, 1e-3 * np.minimum(p, np.sqrt(p)))
    assert_close(haa, _d(lambda s: da(s, x), a, ha), rtol=1e-5, atol=0, what="d2/da2")
    assert_close(hax, _d(lambda s: da(a, s), x, hx), rtol=1e-5, atol=0, what="d2/dadx")
    assert_close(hxa, hax, rtol=1e-13, atol=0, what="symmetry")
    dens = np.exp((a - 1) * np.log(x) - x - sp.gammaln(a))
    assert_close(hxx, dens * ((a - 1) / x - 1), rtol=1e-11, atol=0, what="d2/dx2")


def test_second_derivatives_of_betainc_are_symmetric_and_match_finite_differences():
    a, b, x = np.array([0.7, 3.0, 40.0]), np.array([1.5, 0.6, 25.0]), np.array([0.3, 0.8, 0.6])
    ts = [npg.tensor(v) for v in (a, b, x)]
    g = npg.autograd.grad(S.betainc(*ts).sum(), ts, create_graph=True)
    hess = [npg.autograd.grad(gi.sum(), ts) for gi in g]
    args = [a, b, x]
    for i in range(3):
        for j in range(3):
            if j > i:
                assert_close(hess[i][j], hess[j][i], rtol=1e-9, atol=0, what=f"symmetry {i}{j}")
            # d/dj of the analytic first derivative i, by differences of npgrad's first derivative
            def first(v, i=i, j=j):
                t = [npg.tensor(arg) for arg in args]
                t[j] = npg.tensor(v)
                return npg.autograd.grad(S.betainc(*t).sum(), [t[i]])[0].data
            h = 1e-4 * np.minimum(args[j], np.sqrt(args[j])) if j < 2 else 1e-4 * np.minimum(x, 1 - x)
            assert_close(hess[i][j], _d(first, args[j], h), rtol=1e-6, atol=0, what=f"d2/d{i}d{j}")


def test_third_derivative_in_a_parameter_raises():
    a = npg.tensor([2.0, 3.0])
    (g,) = npg.autograd.grad(S.gammainc(a, 2.5).sum(), [a], create_graph=True)
    (g2,) = npg.autograd.grad(g.sum(), [a], create_graph=True)
    with pytest.raises(NotImplementedError, match="npgrad.special.gammainc: derivatives of third order in a"):
        npg.autograd.grad(g2.sum(), [a])


# ------------------------------------------------------------------------------ forward mode
@pytest.mark.parametrize("name", ["gammainc", "gammaincc", "betainc"])
def test_forward_mode_matches_reverse_mode(name):
    f = getattr(S, name)
    args = ([RNG.uniform(0.5, 5, 4), RNG.uniform(0.2, 6, 4)] if name != "betainc"
            else [RNG.uniform(0.5, 5, 4), RNG.uniform(0.5, 5, 4), RNG.uniform(0.05, 0.95, 4)])
    tangents = [RNG.standard_normal(4) for _ in args]
    fwAD.FALLBACK_OPS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)      # a fallback warns: fail loudly
        out, jv = func.jvp(f, tuple(npg.tensor(v, requires_grad=False) for v in args),
                           tuple(npg.tensor(t, requires_grad=False) for t in tangents))
    assert not fwAD.FALLBACK_OPS
    ts = [npg.tensor(v) for v in args]
    grads = npg.autograd.grad(f(*ts).sum(), ts)
    assert_close(out, f(*args))
    assert_close(jv, sum(gr.data * t for gr, t in zip(grads, tangents)), rtol=1e-13, atol=0)


# ------------------------------------------------------------------------ scipy.special ufuncs
def test_scipy_special_ufuncs_on_tensors_run_npgrad_and_differentiate_in_every_argument():
    a, b, x = npg.tensor([0.5, 3.0]), npg.tensor([2.0, 0.4]), npg.tensor([0.2, 0.7])
    out = sp.betainc(a, b, x)
    assert isinstance(out, npg.Tensor)
    grads = npg.autograd.grad(out.sum(), [a, b, x])
    a2, b2, x2 = npg.tensor([0.5, 3.0]), npg.tensor([2.0, 0.4]), npg.tensor([0.2, 0.7])
    expected = npg.autograd.grad(S.betainc(a2, b2, x2).sum(), [a2, b2, x2])
    for g, e in zip(grads, expected):
        assert_close(g, e, rtol=0, atol=0)
    a, x = npg.tensor([0.5, 3.0]), npg.tensor([0.2, 4.0])
    (ga,) = npg.autograd.grad(sp.gammaincc(a, x).sum(), [a])
    h = 1e-4 * np.minimum(a.data, np.sqrt(a.data))
    assert_close(ga, _d(lambda p: sp.gammaincc(p, x.data), a.data, h), rtol=1e-8, atol=0)
