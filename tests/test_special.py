"""npg.special: values against scipy.special (float64 to ~1e-13, float32 staying float32), gradients and
second derivatives against torch.special (float32 and float64), finite differences in float64 where torch
has no function, the scipy.special ufuncs dispatching to npgrad through __array_ufunc__."""
import math

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import special as S
from tests.helpers import assert_close, check_finite_difference

import scipy.special as sp  # noqa: E402 (the test extra installs SciPy)

RNG = np.random.default_rng(1234)


def _u(lo, hi, n=2000):
    return RNG.uniform(lo, hi, n)


def _logu(lo, hi, n=2000):  # log-uniform magnitudes: many decades
    return np.exp(RNG.uniform(math.log(lo), math.log(hi), n))


# -------------------------------------------------------------------------------- values vs SciPy
# name, npgrad function, scipy function, float64 arguments, relative tolerance (atol for values near 0)
_EDGES = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, np.inf, -np.inf, np.nan, 1e-300, -1e-300])
_FINITE_EDGES = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1e-300, -1e-300, np.nan])


def _off_poles(x):
    """x away from the negative integers by 1e-3 at least (SciPy's digamma loses digits closer to its poles:
    at -19.99956 it is off by 1.6e-13 relative, npgrad by less than 1e-16 there, against mpmath)."""
    return x[np.abs(x - np.round(x)) > 1e-3]
_B_LARGE = _logu(30, 1e7, 500)
VALUE_CASES = [
    ("erf", S.erf, sp.erf, [np.concatenate([_u(-6, 6), _logu(1e-300, 1), _EDGES])], 1e-14),
    ("erfc", S.erfc, sp.erfc, [np.concatenate([_u(-6, 26), _EDGES])], 1e-13),
    ("erfcx", S.erfcx, sp.erfcx, [np.concatenate([_u(-20, 40), _logu(1, 1e200), _EDGES])], 1e-13),
    ("erfinv", S.erfinv, sp.erfinv, [np.concatenate([_u(-1, 1), 1 - _logu(1e-16, 1), _logu(1e-300, 1), _EDGES])],
     1e-14),
    ("erfcinv", S.erfcinv, sp.erfcinv, [np.concatenate([_u(0, 2), _logu(1e-300, 1), 2 - _logu(1e-16, 1), _EDGES])],
     1e-14),
    ("ndtr", S.ndtr, sp.ndtr, [np.concatenate([_u(-37, 9), _EDGES])], 1e-13),
    ("log_ndtr", S.log_ndtr, sp.log_ndtr, [np.concatenate([_u(-40, 10), -_logu(1, 1e150), _EDGES])], 1e-13),
    ("ndtri", S.ndtri, sp.ndtri, [np.concatenate([_u(0, 1), _logu(1e-300, 1), 1 - _logu(1e-16, 1), _EDGES])],
     1e-14),
    ("gammaln", S.gammaln, sp.gammaln, [np.concatenate([_u(0, 20), _logu(1e-300, 1e300), _u(-20, 0), _EDGES])],
     1e-13),
    ("gamma", S.gamma, sp.gamma, [np.concatenate([_u(0, 172), _logu(1e-300, 200), _u(-180, 0), _EDGES])],
     1e-13),
    ("rgamma", S.rgamma, sp.rgamma, [np.concatenate([_u(0, 172), _u(-30, 0), _EDGES[:-3]])], 1e-13),
    ("digamma", S.digamma, sp.psi, [np.concatenate([_u(0, 20), _logu(1e-300, 1e300), _off_poles(_u(-20, 0)), _EDGES])],
     1e-13),
    ("i0", S.i0, sp.i0, [np.concatenate([_u(-50, 50), _logu(1e-300, 700), _FINITE_EDGES])], 1e-14),
    ("i0e", S.i0e, sp.i0e, [np.concatenate([_u(-50, 50), _logu(1e-300, 1e300), _FINITE_EDGES])], 1e-14),
    ("i1", S.i1, sp.i1, [np.concatenate([_u(-50, 50), -_logu(1e-300, 700), _FINITE_EDGES])], 1e-14),
    ("i1e", S.i1e, sp.i1e, [np.concatenate([_u(-50, 50), -_logu(1e-300, 1e300), _FINITE_EDGES])], 1e-14),
    ("expit", S.expit, sp.expit, [np.concatenate([_u(-40, 40), _EDGES])], 1e-15),
    ("logit", S.logit, sp.logit, [np.concatenate([_u(0, 1), _logu(1e-300, 1), _EDGES])], 1e-14),
    ("entr", S.entr, sp.entr, [np.concatenate([_u(-1, 5), _logu(1e-300, 1e300), _EDGES])], 1e-15),
    ("xlogy", S.xlogy, sp.xlogy, [np.r_[_u(-3, 3, 200), 0, 0, 0, 1], np.r_[_u(0, 5, 200), 0, np.nan, 2, 0]], 1e-15),
    ("xlog1py", S.xlog1py, sp.xlog1py, [np.r_[_u(-3, 3, 200), 0, 0, 0], np.r_[_u(-1, 5, 200), -1, np.nan, 1e-20]],
     1e-15),
    # (below 0 SciPy's polygamma loses digits, 1e-5 relative at (12, -2.5): tests/test_special_review.py checks
    # npgrad's against mpmath there)
    ("polygamma", S.polygamma, sp.polygamma, [np.array([1, 2, 3, 4, 7, 12])[:, None],
                                              np.r_[_u(0, 30, 300), _logu(1e-5, 1e10, 100), 0, -1]],
     1e-13),
    ("zeta", S.zeta, sp.zeta, [np.array([1.5, 2.0, 3.0, 7.5, 20.0])[:, None],
                               np.r_[_u(0, 30, 300), _logu(1e-3, 1e8, 50)]],
     1e-13),
    ("beta", S.beta, sp.beta, [_u(0, 30, 1000), _u(0, 30, 1000)], 1e-13),
    # (SciPy's betaln loses digits, up to 1e-8 relative against mpmath, when the arguments are far apart, where
    # npgrad's stays within 1e-15: test_betaln_where_gammaln_sums_would_cancel checks that by identities)
    ("betaln", S.betaln, sp.betaln, [np.r_[_logu(1e-3, 30, 500), _B_LARGE],
                                     np.r_[_logu(1e-3, 30, 500), _B_LARGE * _u(0.3, 3, 500)]], 1e-13),
    ("sinc", S.sinc, sp.sinc, [np.r_[_u(-10, 10), 0.0, 1.0]], 1e-15),
]


@pytest.mark.parametrize("name,fn,ref,args,rtol", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_match_scipy_in_float64(name, fn, ref, args, rtol):
    out = fn(*[npg.tensor(a, requires_grad=False) for a in args])
    expected = ref(*args)
    assert out.dtype == np.float64
    got = out.data
    both_nan = np.isnan(got) & np.isnan(expected)
    same = (got == expected) | both_nan
    finite = np.isfinite(expected) & ~same
    # relative error where the value is normal, absolute where it is tiny
    # (gammaln and digamma: plus an absolute 1e-15 near their zeros on the negative axis, where the
    # reflection formula's two O(1) terms cancel, in SciPy as here)
    atol = 1e-15 if name in ("gammaln", "digamma") else 0.0
    err = np.abs(got[finite] - expected[finite]) / np.maximum(np.abs(expected[finite]) + atol / rtol, 1e-290)
    worst = np.argmax(err) if err.size else None
    assert err.size == 0 or err.max() <= rtol, (
        f"{name}: relative error {err.max():.3g} at {[np.broadcast_to(a, got.shape)[finite][worst] for a in args]}")
    mismatch = ~same & ~np.isfinite(expected)
    assert not mismatch.any(), f"{name}: non-finite values differ: {got[mismatch]} vs {expected[mismatch]}"


def test_gamma_family_near_their_zeros_keeps_relative_precision():
    # lgamma near its zeros 1 and 2, digamma near its positive zero x0, against their Taylor series in the
    # exact offset h (second order: exact to ~1e-15 relative for |h| <= 1e-5)
    euler, zeta3 = 0.5772156649015329, 1.2020569031595942
    for base, c1, c2, c3 in ((1.0, -euler, math.pi ** 2 / 12, -zeta3 / 3),
                             (2.0, 1 - euler, math.pi ** 2 / 12 - 0.5, -(zeta3 - 1) / 3)):
        x = base + np.array([1e-5, -1e-7, 1e-9, -1e-12, 1e-15])
        h = x - base                                   # exact
        assert_close(S.gammaln(npg.tensor(x)), c1 * h + c2 * h * h + c3 * h ** 3, rtol=1e-13, atol=0)
    x0_hi, x0_lo = 1.4616321449683622, 9.549995429965697e-17   # the zero, to 1e-32
    x = x0_hi + np.array([1e-5, -1e-7, 1e-9, -1e-12, 2e-15])
    h = (x - x0_hi) - x0_lo
    assert_close(S.digamma(npg.tensor(x)), 0.9676722454476212 * h - 0.4427631689835921 * h * h,
                 rtol=1e-10, atol=0)


def test_betaln_where_gammaln_sums_would_cancel():
    # B(a, 1) = 1 / a and B(a, 2) = 1 / (a (a + 1)) exactly, for huge a too
    a = _logu(1e-3, 1e15, 500)
    assert_close(S.betaln(npg.tensor(a), 1.0), -np.log(a), rtol=1e-13, atol=1e-15)
    assert_close(S.betaln(npg.tensor(a), 2.0), -np.log(a) - np.log1p(a), rtol=1e-13, atol=1e-15)
    assert_close(S.betaln(2.0, npg.tensor(a)), -np.log(a) - np.log1p(a), rtol=1e-13, atol=1e-15)


def test_inverse_functions_invert():
    x = _u(-37, -0.5, 500)
    assert_close(S.ndtri(S.ndtr(npg.tensor(x))), x, rtol=2e-14, atol=0)
    p = _logu(1e-300, 0.5, 500)
    assert_close(S.ndtr(S.ndtri(npg.tensor(p))), p, rtol=1e-13 * 40, atol=0)  # (conditioning ~ x^2)
    y = _u(-0.999, 0.999)
    assert_close(S.erf(S.erfinv(npg.tensor(y))), y, rtol=1e-14, atol=1e-300)


# --------------------------------------------------------------------------------- float32 stays float32
F32_CASES = [(name, fn, ref, args) for name, fn, ref, args, _ in VALUE_CASES if name not in ("polygamma", "zeta")]


@pytest.mark.parametrize("name,fn,ref,args", F32_CASES, ids=[c[0] for c in F32_CASES])
def test_float32_stays_float32(name, fn, ref, args):
    args32 = [np.asarray(a, dtype=np.float32) for a in args]
    x = [npg.tensor(a) for a in args32]
    out = fn(*x)
    assert out.dtype == np.float32
    with np.errstate(all="ignore"):
        expected = ref(*[a.astype(np.float64) for a in args32]).astype(np.float32)
        out = fn(*x)
    # (sinc is np.sinc, computed in float32 by NumPy: an absolute error ~1e-7 near its zeros)
    np.testing.assert_allclose(out.data, expected, rtol=2e-6, atol=1e-6 if name == "sinc" else 1e-37, equal_nan=True)
    if out.requires_grad:
        with np.errstate(all="ignore"):  # (gradients at the edge values overflow, as they should)
            np.sum(out[np.isfinite(out.data)]).backward()
        for t in x:
            assert t.grad.dtype == np.float32


def test_integer_inputs_give_float64():
    assert S.gammaln(npg.tensor([1, 2, 3])).dtype == np.float64
    assert S.xlogy(npg.tensor([1, 2]), 3).dtype == np.float64
    assert S.polygamma(1, npg.tensor([1, 2])).dtype == np.float64
    assert_close(S.gammaln(np.array([1, 2, 5])), [0.0, 0.0, math.log(24)], atol=1e-15)


# ------------------------------------------------------------------------ gradients vs torch.special
# name, npgrad function, torch function, float64 arguments
TORCH_CASES = [
    ("erf", S.erf, torch.special.erf, [_u(-3, 3, 50)]),
    ("erfc", S.erfc, torch.special.erfc, [_u(-3, 3, 50)]),
    ("erfcx", S.erfcx, torch.special.erfcx, [_u(-3, 8, 50)]),
    ("erfinv", S.erfinv, torch.special.erfinv, [_u(-0.95, 0.95, 50)]),
    ("ndtr", S.ndtr, torch.special.ndtr, [_u(-5, 5, 50)]),
    # (in float32, further into the lower tail, PyTorch's second derivative cancels: tested in float64 below)
    ("log_ndtr", S.log_ndtr, torch.special.log_ndtr, [np.r_[_u(-8, 8, 50)]]),
    ("ndtri", S.ndtri, torch.special.ndtri, [_u(0.02, 0.98, 50)]),
    ("gammaln", S.gammaln, torch.special.gammaln, [np.r_[_u(0.1, 12, 40), _u(-4.9, -0.1, 10)]]),
    ("digamma", S.digamma, torch.special.digamma, [np.r_[_u(0.1, 12, 40), _u(-4.9, -0.1, 10)]]),
    ("psi", S.psi, torch.special.psi, [_u(0.5, 4, 20)]),
    ("polygamma1", lambda x: S.polygamma(1, x), lambda x: torch.special.polygamma(1, x), [_u(0.2, 8, 50)]),
    ("polygamma3", lambda x: S.polygamma(3, x), lambda x: torch.special.polygamma(3, x), [_u(0.5, 8, 50)]),
    ("i0", S.i0, torch.special.i0, [_u(-10, 10, 50)]),
    ("i0e", S.i0e, torch.special.i0e, [_u(-10, 10, 50)]),
    ("i1", S.i1, torch.special.i1, [np.r_[_u(-10, 10, 49), 0.0]]),
    ("i1e", S.i1e, torch.special.i1e, [np.r_[_u(-10, 10, 49), 0.0]]),
    ("expit", S.expit, torch.special.expit, [_u(-8, 8, 50)]),
    ("logit", S.logit, torch.special.logit, [_u(0.05, 0.95, 50)]),
    ("entr", S.entr, torch.special.entr, [_u(0.05, 3, 50)]),
    # (at 0 PyTorch's second derivative is NaN, and 0 at 1e-9: npgrad gives -pi^2/3, tested below)
    ("sinc", S.sinc, torch.special.sinc, [_u(-3, 3, 50)]),
    ("xlogy", S.xlogy, torch.special.xlogy, [np.r_[_u(-2, 2, 45), 0, 0, 0, 0, 0], _u(0.1, 3, 50)]),
    ("xlog1py", S.xlog1py, torch.special.xlog1py, [np.r_[_u(-2, 2, 45), 0, 0, 0, 0, 0], _u(-0.9, 3, 50)]),
    ("xlogy_bcast", S.xlogy, torch.special.xlogy, [_u(-2, 2, 4)[:, None], _u(0.1, 3, 5)]),
    ("multigammaln", lambda a: S.multigammaln(a, 3), lambda a: torch.special.multigammaln(a, 3), [_u(1.5, 6, 20)]),
    ("logsumexp", lambda x: S.logsumexp(x, axis=1), lambda x: torch.special.logsumexp(x, 1),
     [_u(-5, 5, 12).reshape(3, 4)]),
    ("softmax", lambda x: S.softmax(x, axis=0), lambda x: torch.special.softmax(x, 0), [_u(-5, 5, 12).reshape(3, 4)]),
    ("log_softmax", lambda x: S.log_softmax(x, axis=-1), lambda x: torch.special.log_softmax(x, -1),
     [_u(-5, 5, 12).reshape(3, 4)]),
]


def _grads(fn, xs, create_graph, lib):
    """Value, gradient of sum(out * w) and, through it, the gradient of sum(grad * w2) (second order)."""
    out = fn(*xs)
    w = np.random.default_rng(5).standard_normal(tuple(out.shape)).astype(str(out.dtype).replace("torch.", ""))
    if lib == "torch":
        gs = torch.autograd.grad((out * torch.tensor(w)).sum(), xs, create_graph=True)
        second = torch.autograd.grad(sum((g * g).sum() for g in gs), xs, allow_unused=True)
        return out.detach().numpy(), [g.detach().numpy() for g in gs], [
            None if s is None else s.numpy() for s in second]
    gs = npg.autograd.grad((out * w).sum(), xs, create_graph=True)
    second = npg.autograd.grad(sum((g * g).sum() for g in gs), xs, allow_unused=True)
    return out.data, [g.data for g in gs], [None if s is None else s.data for s in second]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,tfn,args", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_gradients_and_second_derivatives_match_torch(name, fn, tfn, args, dtype):
    arrays = [np.asarray(a, dtype=dtype) for a in args]
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    value, grads, second = _grads(fn, xs, True, "npg")
    tvalue, tgrads, tsecond = _grads(tfn, ts, True, "torch")
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert value.dtype == dtype
    np.testing.assert_allclose(value, tvalue, err_msg=f"{name} value", **tol)
    for g, tg in zip(grads, tgrads):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, tg, err_msg=f"{name} gradient", **tol)
    for s, ts_ in zip(second, tsecond):
        np.testing.assert_allclose(s if s is not None else 0, ts_ if ts_ is not None else 0,
                                   err_msg=f"{name} second derivative", **tol)


# ------------------------------------------------------------------- finite differences (no torch)
FD_CASES = [
    ("gamma", S.gamma, [np.r_[_u(0.3, 6, 8), _u(-3.9, -0.1, 4)]]),
    ("rgamma", S.rgamma, [np.r_[_u(0.3, 6, 8), _u(-3.9, -0.1, 4)]]),
    ("beta", S.beta, [_u(0.5, 5, 6), _u(0.5, 5, 6)]),
    ("betaln", S.betaln, [np.r_[_u(0.5, 5, 6), 30.0, 3e3], np.r_[_u(0.5, 5, 6), 2e4, 0.7]]),
    ("erfcinv", S.erfcinv, [_u(0.05, 1.95, 10)]),
    ("zeta_q", lambda q: S.zeta(3.0, q), [_u(0.5, 5, 10)]),
    ("polygamma_neg", lambda x: S.polygamma(2, x), [_u(-2.9, -2.1, 6)]),
    ("multigammaln", lambda a: S.multigammaln(a, 4), [_u(2, 6, 6)]),
    ("logsumexp_b", lambda a, b: S.logsumexp(a, axis=0, b=b),
     [_u(-3, 3, 8).reshape(4, 2), _u(0.5, 2, 8).reshape(4, 2)]),
    ("logsumexp_all", lambda a: S.logsumexp(a), [_u(-3, 3, 8).reshape(4, 2)]),
    ("softmax_none", lambda a: S.softmax(a), [_u(-3, 3, 8).reshape(4, 2)]),
    ("softmax_tuple", lambda a: S.softmax(a, axis=(0, 1)), [_u(-3, 3, 8).reshape(4, 2)]),
    ("log_softmax_none", lambda a: S.log_softmax(a), [_u(-3, 3, 8).reshape(4, 2)]),
    ("ndtri_low", S.ndtri, [_logu(5e-3, 5e-2, 6)]),
    ("log_ndtr_tail", S.log_ndtr, [-_logu(10, 1e3, 6)]),
    ("sinc_near_0", S.sinc, [np.r_[_u(-0.2, 0.2, 6), 0.0]]),
    ("xlogy_at_0", S.xlogy, [np.zeros(4), _u(0.5, 2, 4)]),
]


@pytest.mark.parametrize("name,fn,args", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_match_finite_differences(name, fn, args):
    check_finite_difference(fn, args, eps=1e-6, rtol=1e-6, atol=1e-9, what=name)


@pytest.mark.parametrize("name,fn,args", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_second_derivatives_match_finite_differences_of_the_gradient(name, fn, args):
    """d/dt <v, grad f(x + t u)> by central differences against npgrad's Hessian-vector product."""
    arrays = [np.asarray(a, dtype=np.float64) for a in args]
    rng = np.random.default_rng(7)
    v = [rng.standard_normal(a.shape) for a in arrays]
    u = [rng.standard_normal(a.shape) for a in arrays]

    def grad_dot_v(t):
        xs = [npg.tensor(a + t * d) for a, d in zip(arrays, u)]
        gs = npg.autograd.grad(fn(*xs).sum(), xs)
        return sum(float(np.sum(g.data * w)) for g, w in zip(gs, v))
    eps = 1e-5
    numeric = (grad_dot_v(eps) - grad_dot_v(-eps)) / (2 * eps)
    xs = [npg.tensor(a) for a in arrays]
    gs = npg.autograd.grad(fn(*xs).sum(), xs, create_graph=True)
    hv = npg.autograd.grad(sum((g * w).sum() for g, w in zip(gs, v)), xs)
    analytic = sum(float(np.sum(h.data * d)) for h, d in zip(hv, u))
    assert np.isclose(analytic, numeric, rtol=1e-5, atol=1e-8), f"{name}: {analytic} vs {numeric}"


def test_gradients_at_special_points_match_torch():
    x = npg.tensor([0.0, 1.0])
    S.entr(x).sum().backward()
    t = torch.tensor([0.0, 1.0], requires_grad=True)
    torch.special.entr(t).sum().backward()
    assert_close(x.grad, t.grad.numpy())
    x = npg.tensor([0.0, -0.5, 1.5])   # logit's gradient is NaN outside [0, 1]
    S.logit(x).sum().backward()
    t = torch.tensor([0.0, -0.5, 1.5], requires_grad=True)
    torch.special.logit(t).sum().backward()
    assert_close(x.grad, t.grad.numpy())
    a, b = npg.tensor([0.0, 0.0, 2.0]), npg.tensor([0.0, 3.0, 0.0])   # xlogy(0, y): no gradient to x
    S.xlogy(a, b).sum().backward()
    ta, tb = torch.tensor([0.0, 0.0, 2.0], requires_grad=True), torch.tensor([0.0, 3.0, 0.0], requires_grad=True)
    torch.special.xlogy(ta, tb).sum().backward()
    assert_close(a.grad, ta.grad.numpy())
    assert_close(b.grad, tb.grad.numpy())


# ---------------------------------------------------------------------------------- API details
def test_logsumexp_matches_scipy_options():
    a = _u(-3, 3, 12).reshape(3, 4)
    b = np.array([1.0, -2.0, 0.5, 0.0])
    for kw in (dict(), dict(axis=0), dict(axis=(0, 1), keepdims=True), dict(axis=1, b=b), dict(axis=-1, b=b,
                                                                                           keepdims=True)):
        kwb = dict(kw, b=npg.tensor(kw["b"])) if "b" in kw else kw
        got = S.logsumexp(npg.tensor(a), **kwb)
        assert_close(got, sp.logsumexp(a, **kw), atol=1e-14, rtol=1e-14, what=str(kw))
    out, sign = S.logsumexp(npg.tensor(a), axis=1, b=b, return_sign=True)
    ref, rsign = sp.logsumexp(a, axis=1, b=b, return_sign=True)
    assert_close(out, ref)
    np.testing.assert_array_equal(sign, rsign)
    with np.errstate(invalid="ignore"):
        assert np.isnan(S.logsumexp(npg.tensor([0.0, 1.0]), b=[1.0, -2.0]).data)


def test_softmax_and_log_softmax_match_scipy():
    a = _u(-30, 30, 24).reshape(2, 3, 4)
    for axis in (None, 0, -1, (1, 2)):
        assert_close(S.softmax(npg.tensor(a), axis=axis), sp.softmax(a, axis=axis), rtol=1e-13, atol=1e-300)
        assert_close(S.log_softmax(npg.tensor(a), axis=axis), sp.log_softmax(a, axis=axis), rtol=1e-13,
                     atol=1e-13)


def test_multigammaln_matches_scipy_and_checks_its_domain():
    a = _u(2.5, 30, 20)
    assert_close(S.multigammaln(npg.tensor(a), 4), sp.multigammaln(a, 4), rtol=1e-13)
    with pytest.raises(ValueError, match="a > \\(d - 1\\) / 2"):
        S.multigammaln(npg.tensor([1.0]), 4)
    with pytest.raises(ValueError, match="positive integer"):
        S.multigammaln(npg.tensor([3.0]), 2.5)


def test_orders_take_no_gradient():
    with pytest.raises(TypeError, match="polygamma: the order n takes no gradient"):
        S.polygamma(npg.tensor(1.0, requires_grad=True), npg.tensor([1.0]))
    with pytest.raises(ValueError, match="non-negative integer"):
        S.polygamma(-1, npg.tensor([1.0]))
    with pytest.raises(ValueError, match="non-negative integer"):
        S.polygamma(1.5, npg.tensor([1.0]))
    with pytest.raises(TypeError, match="complex"):
        S.gammaln(npg.tensor(np.array([1 + 1j])) if False else np.array([1 + 1j]))


def test_gammasgn_matches_scipy_and_has_zero_gradient():
    x = np.r_[np.linspace(-30.25, 30, 242), np.linspace(-4.9, 4.9, 99), 0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300,
              -2.0 ** 52 - 0.5, 171.7, -170.5, np.inf, -np.inf, np.nan]
    out = S.gammasgn(npg.tensor(x))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.data, sp.gammasgn(x))
    finite_gamma = np.isfinite(sp.gamma(x)) & (x != 0)
    np.testing.assert_array_equal(out.data[finite_gamma], np.sign(sp.gamma(x[finite_gamma])))
    x32 = npg.tensor(np.array([-2.5, -0.5, -0.0, 0.0, 3.0, -3.0], np.float32))
    out32 = S.gammasgn(x32)
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32.data, sp.gammasgn(x32.data))
    out32.sum().backward()
    assert x32.grad.dtype == np.float32 and not x32.grad.any()
    assert S.gammasgn(np.array([1, -2, 3])).dtype == np.float64
    t = npg.tensor([-1.5, 0.5])
    _, tangent = npg.func.jvp(S.gammasgn, (t,), (npg.tensor([1.0, 1.0]),))
    assert not tangent.data.any()
    on_tensor = sp.gammasgn(npg.tensor([-1.5, -0.5]))      # (SciPy's ufunc on a tensor runs npgrad's)
    assert isinstance(on_tensor, npg.Tensor)
    np.testing.assert_array_equal(on_tensor.data, [1.0, -1.0])


def test_polygamma_broadcasts_its_order():
    n = np.array([[0], [1], [2]])
    x = npg.tensor(_u(0.5, 4, 5))
    out = S.polygamma(n, x)
    assert out.shape == (3, 5)
    assert_close(out, sp.polygamma(n, x.data), rtol=1e-13)
    out.sum().backward()
    assert_close(x.grad, sp.polygamma(n + 1, x.data).sum(axis=0), rtol=1e-12)


def test_bessel_i_at_infinity_and_nan():  # as SciPy and PyTorch: NaN for i0(inf), i1(inf); the scaled ones 0
    values = np.array([np.inf, -np.inf, np.nan, 800.0, -800.0])
    t = torch.tensor(values)
    for name in ("i0", "i0e", "i1", "i1e"):
        got = getattr(S, name)(npg.tensor(values))
        assert_close(got, getattr(sp, name)(values), rtol=1e-14, what=name)
        assert_close(got, getattr(torch.special, name)(t).numpy(), rtol=1e-14, what=name)


def test_sinc_second_derivative_at_0_is_finite():
    x = npg.tensor([0.0, 1e-9])
    (g,) = npg.autograd.grad(S.sinc(x).sum(), [x], create_graph=True)
    (h,) = npg.autograd.grad(g.sum(), [x])
    assert_close(h, [-math.pi ** 2 / 3] * 2, rtol=1e-12)


def test_nn_functional_erf_still_works():  # the kernels moved from npgrad/nn/_erf.py to npgrad/ops/_erf.py
    x = npg.tensor([0.3, -1.2])
    assert_close(npg.nn.functional.erf(x), sp.erf(x.data), rtol=1e-15)


# -------------------------------------------------------------------- scipy.special ufuncs on tensors
NATIVE_UFUNCS = ["erf", "erfc", "erfcx", "erfinv", "erfcinv", "ndtr", "log_ndtr", "ndtri", "gammaln", "gamma",
                 "rgamma", "psi", "i0", "i0e", "i1", "i1e", "expit", "logit", "entr", "log_expit", "expm1", "log1p"]


@pytest.mark.parametrize("name", NATIVE_UFUNCS)
def test_scipy_special_ufuncs_run_npgrad_and_are_differentiable(name):
    x0 = _u(0.1, 0.9, 6)
    x = npg.tensor(x0)
    out = getattr(sp, name)(x)
    assert isinstance(out, npg.Tensor) and out.requires_grad
    assert_close(out, getattr(sp, name)(x0), rtol=1e-13, atol=1e-15)
    out.sum().backward()
    h = 1e-6
    numeric = (getattr(sp, name)(x0 + h) - getattr(sp, name)(x0 - h)) / (2 * h)
    assert_close(x.grad, numeric, rtol=1e-6, atol=1e-8)
    x32 = npg.tensor(x0.astype(np.float32))
    assert getattr(sp, name)(x32).dtype == np.float32


# name, args before x (constants), x values
SCIPY_VALUED = [
    ("j0", (), _u(0.1, 20, 8)), ("j1", (), np.r_[_u(0.1, 20, 7), 0.0]), ("y0", (), _u(0.1, 20, 8)),
    ("y1", (), _u(0.1, 20, 8)), ("k0", (), _u(0.1, 10, 8)), ("k1", (), _u(0.1, 10, 8)),
    ("k0e", (), _u(0.1, 10, 8)), ("k1e", (), _u(0.1, 10, 8)),
    ("jv", (1.5,), _u(0.1, 20, 8)), ("jn", (2,), _u(0.1, 20, 8)), ("yv", (0.7,), _u(0.1, 20, 8)),
    ("yn", (3,), _u(0.5, 20, 8)), ("iv", (2.5,), _u(-10, 10, 8)), ("ive", (1.0,), _u(-10, 10, 8)),
    ("kv", (0.3,), _u(0.1, 10, 8)), ("kn", (2,), _u(0.2, 10, 8)), ("kve", (1.7,), _u(0.1, 10, 8)),
    ("gammainc", (2.5,), _u(0.1, 8, 8)), ("gammaincc", (0.7,), _u(0.1, 8, 8)),
    ("betainc", (2.0, 3.5), _u(0.05, 0.95, 8)),
    ("xlogy", (1.5,), _u(0.1, 3, 8)), ("betaln", (2.5,), _u(0.1, 3, 8)), ("beta", (1.5,), _u(0.1, 3, 8)),
]


@pytest.mark.parametrize("name,consts,x0", SCIPY_VALUED, ids=[c[0] for c in SCIPY_VALUED])
def test_scipy_special_functions_differentiate_in_x_twice(name, consts, x0):
    f = getattr(sp, name)
    x = npg.tensor(x0)
    out = f(*consts, x)
    assert isinstance(out, npg.Tensor) and out.requires_grad, name
    assert_close(out, f(*consts, x0), rtol=1e-13, atol=1e-300)
    (g,) = npg.autograd.grad(out.sum(), [x], create_graph=True)
    h = 1e-5
    numeric = (f(*consts, x0 + h) - f(*consts, x0 - h)) / (2 * h)
    assert_close(g, numeric, rtol=1e-7, atol=1e-9, what=f"{name} gradient")
    (g2,) = npg.autograd.grad(g.sum(), [x])
    numeric2 = (f(*consts, x0 + h) - 2 * f(*consts, x0) + f(*consts, x0 - h)) / (h * h)
    assert_close(g2, numeric2, rtol=1e-4, atol=1e-5, what=f"{name} second derivative")
    assert f(*consts, npg.tensor(x0.astype(np.float32))).dtype == np.float32


def test_scipy_special_in_a_constant_argument_is_an_error_naming_it():
    x = npg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"scipy\.special\.jv only in its last argument \(x\), not in v"):
        sp.jv(npg.tensor(1.0), x)
    assert sp.jv(npg.tensor(1.0, requires_grad=False), x).requires_grad  # a constant order is fine
    with pytest.raises(TypeError, match="npgrad does not implement scipy.special.struve for Tensors"):
        sp.struve(1.0, x)
    with pytest.raises(TypeError, match="npgrad does not implement scipy.special.ellipk for Tensors"):
        sp.ellipk(x)
    with pytest.raises(TypeError, match=r"npgrad does not implement scipy.special.gammaln with \['out'\]"):
        sp.gammaln(x, out=np.empty(2))


def test_scipy_special_on_tensors_without_grad_and_mixed_arguments():
    y = sp.xlogy(np.array([1.0, 2.0]), npg.tensor([3.0, 4.0], requires_grad=False))
    assert isinstance(y, npg.Tensor) and not y.requires_grad
    b = npg.tensor([3.0, 4.0])
    sp.betaln(2.0, b).sum().backward()
    assert_close(b.grad, sp.psi([3.0, 4.0]) - sp.psi([5.0, 6.0]))
