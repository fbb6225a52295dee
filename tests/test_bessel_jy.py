"""npg.special.j0 j1 y0 y1 jn yn: values against scipy.special over [-100, 100] and spot checks (1e3, 1e5, tiny
x, the zeros of J0), and against mpmath (tighter than SciPy's own error); float32 staying float32, integers
giving float64; edge cases (0-d, size 0, broadcasting of n and x, negative n and x, 0, inf, NaN); gradients
and second derivatives against PyTorch's torch.special.bessel_* values put in the textbook derivative formulas
(torch has no gradient for them), and against central differences; forward mode and vmap."""
import math

import mpmath
import numpy as np
import pytest
import scipy.special as sp
import torch

import npgrad as npg
from npgrad import special as S
from npgrad.autograd import forward_ad as fwAD
from tests.helpers import assert_close, check_finite_difference

RNG = np.random.default_rng(2024)
_LOGU = np.exp(RNG.uniform(math.log(1e-300), math.log(1e5), 400))
X_REAL = np.r_[RNG.uniform(-100, 100, 4000), RNG.uniform(-2, 2, 500), _LOGU, -_LOGU, 1.0, -1.0, 25.0, -25.0,
               1e3, 1e5, 1e-300, 0.0]
X_POS = np.abs(X_REAL[X_REAL != 0])
ORDERS = [0, 1, 2, 3, 5, 10, 24, 40, -1, -2, -7]


def _check_values(got, ref, x, n, rtol, atol, scipy_phase=False):
    """|got - ref| <= rtol |ref| + atol * amplitude, where the amplitude sqrt(2 / (pi |x|)) of the oscillation
    bounds the absolute error near the zeros (only where |x| > |n|: below, J_n and Y_n have no zeros).
    ``scipy_phase``: the absolute part grows as |x| / 100 above 100, for SciPy's own error there (its j0(1e5)
    is 1.4e-12 relative from mpmath's, npgrad's exact: test_values_match_mpmath)."""
    x, n = np.broadcast_arrays(np.abs(x), np.abs(n))
    amp = np.where(x > n, np.sqrt(2.0 / (np.pi * np.maximum(x, 1.0))), 0.0)
    if scipy_phase:
        amp = amp * np.maximum(1.0, x / 100.0)
    flushed = (ref == 0) & (x != 0)    # (SciPy flushes J_n below about 1e-280 to 0: npgrad's are in the mpmath test)
    assert np.all(np.abs(got[flushed]) < 1e-270)
    finite = np.isfinite(ref) & ~flushed
    np.testing.assert_array_equal(got[~np.isfinite(ref)], ref[~np.isfinite(ref)])
    err = np.abs(got[finite] - ref[finite])
    bound = rtol * np.abs(ref[finite]) + atol * amp[finite]
    worst = np.argmax(err / np.maximum(bound, 1e-300))
    assert np.all(err <= bound), (f"x = {x[finite][worst]!r}, n = {n[finite][worst]}: {got[finite][worst]!r} vs "
                                  f"{ref[finite][worst]!r}")


@pytest.mark.parametrize("name", ["j0", "j1", "y0", "y1"])
def test_values_match_scipy(name):
    x = X_REAL if name[0] == "j" else X_POS
    got = getattr(S, name)(x)
    assert isinstance(got, npg.Tensor) and got.dtype == np.float64
    _check_values(got.data, getattr(sp, name)(x), x, int(name[1]), 1e-13, 1e-13, scipy_phase=True)


@pytest.mark.parametrize("name", ["jn", "yn"])
def test_orders_match_scipy(name):
    x = X_REAL if name == "jn" else X_POS
    x = x[np.abs(x) > 1e-20]   # (SciPy's jn loses digits below, 5e-14 relative at 5e-125: see test_tiny_x...)
    for n in ORDERS:
        _check_values(getattr(S, name)(n, x).data, getattr(sp, name)(n, x), x, n, 1e-13, 1e-13, scipy_phase=True)


def test_values_match_mpmath():
    """Tighter than against SciPy, whose own error reaches 4e-13 relative here."""
    x = np.r_[RNG.uniform(0.01, 100, 25), 1e-8, 1e-100, 24.99, 25.01]
    big = np.array([1e3, 1234.5, 1e5, 98765.4321])
    for n in (0, 1, 7, 50, 120):
        for f, mf in ((S.jn, mpmath.besselj), (S.yn, mpmath.bessely)):
            xs = np.r_[x, big] if n < 10 else x
            with mpmath.workdps(30):
                ref = np.array([float(mf(n, mpmath.mpf(v))) for v in xs])
            _check_values(f(n, xs).data, ref, xs, n, 2e-14, 2e-15)


def test_large_orders_match_mpmath_and_huge_ones_underflow():
    for n, x in [(150, 1.0), (300, 20.0), (400, 60.0), (1000, 600.0), (1000, 1500.0)]:
        with mpmath.workdps(30):
            jref, yref = float(mpmath.besselj(n, x)), float(mpmath.bessely(n, x))
        assert_close(S.jn(n, x), jref, rtol=1e-13, atol=0, what=f"jn({n}, {x})")   # (SciPy's: 0 below 1e-300)
        assert_close(S.yn(n, x), yref, rtol=1e-13, atol=0, what=f"yn({n}, {x})")
    assert_close(S.jn(2 ** 40, [1.0, -3.0, 0.0, 1e3]), [0.0, 0.0, 0.0, 0.0], rtol=0, atol=0)  # (below 1e-347)
    assert_close(S.yn(2 ** 40, [1.0, 0.0, -1.0]), [-np.inf, -np.inf, np.nan], rtol=0, atol=0)
    assert_close(S.yn(-(2 ** 40) - 1, [1.0]), [np.inf], rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"jn: orders n above 10000 are not implemented \(got 20000, at x = 100000\)"):
        S.jn(20000, 1e5)


def test_zeros_of_j0_absolute_accuracy():
    with mpmath.workdps(40):
        zeros = [mpmath.besseljzero(0, k) for k in range(1, 32)]
        x = np.array([float(z) for z in zeros])
        ref = np.array([float(mpmath.besselj(0, mpmath.mpf(v))) for v in x])
    assert np.max(np.abs(S.j0(x).data - ref)) < 1e-15
    assert np.max(np.abs(S.j0(-x).data - ref)) < 1e-15


def test_tiny_x_and_large_orders():
    x = np.array([1e-8, 0.3, 0.999, 1.0, 1.001, 5.0, 24.9, 25.1, 60.0])
    for n in (0, 1, 2, 7, 30, 60, 120):
        _check_values(S.jn(n, x).data, sp.jn(n, x), x, n, 1e-13, 1e-13)
        _check_values(S.yn(n, x).data, sp.yn(n, x), x, n, 1e-13, 1e-13)
    tiny = np.array([1e-300, -3e-200, 5.321856248883949e-125, 1e-40, -1e-21])
    for n in (0, 1, 2, -3, 7):   # the leading term (x/2)^n / n! of the series (the next is x^2/4 smaller)
        m = abs(n)
        lead = (-1.0) ** (n if n < 0 else 0) * np.array([math.prod([v / 2 / k for k in range(1, m + 1)]) for v in tiny])
        assert_close(S.jn(n, tiny), lead, rtol=4e-16, atol=0, what=f"jn({n})")
    assert_close(S.y0(1e-300), 2 / np.pi * (np.log(0.5e-300) + np.euler_gamma), rtol=1e-15)
    assert_close(S.y1(1e-300), -2 / (np.pi * 1e-300), rtol=1e-15)
    assert S.yn(2, 1e-300).item() == -np.inf
    assert S.yn(-3, 1e-200).item() == np.inf


# ---------------------------------------------------------------------------------- dtypes and edges
@pytest.mark.parametrize("name", ["j0", "j1", "y0", "y1"])
def test_float32_in_float32_out_and_integers_give_float64(name):
    x = np.abs(RNG.uniform(-30, 30, 200)).astype(np.float32)
    got = getattr(S, name)(npg.tensor(x))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.data, getattr(S, name)(x.astype(np.float64)).data.astype(np.float32))
    assert_close(got, getattr(sp, name)(x.astype(np.float64)), rtol=1e-6, atol=1e-7)
    ints = np.arange(1, 6)
    assert getattr(S, name)(ints).dtype == np.float64
    assert_close(getattr(S, name)(ints), getattr(sp, name)(ints.astype(np.float64)), rtol=1e-14, atol=1e-15)
    assert getattr(S, "jn" if name[0] == "j" else "yn")(3, x).dtype == np.float32


def test_edge_values_as_scipy():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.5, 1e-300, -1e-300])
    for name in ("j0", "j1", "y0", "y1"):
        with np.errstate(all="ignore"):
            assert_close(getattr(S, name)(x), getattr(sp, name)(x), rtol=1e-15, what=name)
    for n in (0, 1, 2, 3, -1, -2, -3):
        with np.errstate(all="ignore"):
            assert_close(S.jn(n, x), sp.jn(n, x), rtol=1e-15, what=f"jn {n}")
            assert_close(S.yn(n, x), sp.yn(n, x), rtol=1e-15, what=f"yn {n}")


def test_shapes_and_broadcasting_of_the_order():
    assert S.j0(npg.tensor(2.0)).shape == ()
    assert S.y1(np.zeros((0, 3))).shape == (0, 3)
    assert S.jn(np.zeros((2, 0), np.int64), np.ones(3)[:0]).shape == (2, 0)
    n = np.array([[0], [1], [-4], [9]])
    x = RNG.uniform(0.1, 40, 5)
    assert_close(S.jn(n, x), sp.jn(n, x), rtol=1e-12, atol=1e-14)
    assert_close(S.yn(n, x), sp.yn(n, x), rtol=1e-12, atol=1e-14)
    assert_close(S.jn(2.0, x), sp.jn(2, x), rtol=1e-12, atol=1e-14)     # an integer-valued float order
    assert_close(S.yn(npg.tensor(3), x), sp.yn(3, x), rtol=1e-12, atol=1e-14)


def test_bad_orders_are_errors():
    with pytest.raises(ValueError, match=r"jn: the order n must be an integer \(got 1.5\)"):
        S.jn(1.5, np.ones(2))
    with pytest.raises(ValueError, match="yn: the order n must be an integer"):
        S.yn(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(TypeError, match="jn: the order n takes no gradient"):
        S.jn(npg.tensor(2.0), npg.tensor([1.0]))
    with pytest.raises(ValueError, match=r"jn: the order n of shape \(3,\) and x of shape \(2,\) could not be"):
        S.jn(np.arange(3), np.ones(2))


# ---------------------------------------------------------------------------------- derivatives
def _derivatives(name, t, lib):
    """d/dx and d2/dx2 of bessel ``name`` at ``t`` from the recurrences (A&S 9.1.27-28), in the values of
    torch.special.bessel_* (lib torch) or scipy.special (lib sp): C0' = -C1, C1' = C0 - C1/x,
    C0'' = -C1', C1'' = -C0/x - (1 - 2/x^2) C1."""
    if lib is torch:
        c0, c1 = ((torch.special.bessel_j0(t), torch.special.bessel_j1(t)) if name[0] == "j"
                  else (torch.special.bessel_y0(t), torch.special.bessel_y1(t)))
    else:
        c0, c1 = (sp.j0(t), sp.j1(t)) if name[0] == "j" else (sp.y0(t), sp.y1(t))
    d1 = c0 - c1 / t
    if name[1] == "0":
        return -c1, -d1
    return d1, -c0 / t - (1.0 - 2.0 / (t * t)) * c1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["j0", "j1", "y0", "y1"])
def test_gradients_and_second_derivatives_match_torch(name, dtype):
    """torch.special.bessel_* have no gradient: their values in the derivative formulas. (torch's are accurate
    to about 1e-7 only, in float64 too: SciPy's values in the same formulas check the last digits.)"""
    x = (RNG.uniform(-12, 12, 60) if name[0] == "j" else RNG.uniform(0.2, 12, 60)).astype(dtype)
    xt = npg.tensor(x)
    out = getattr(S, name)(xt)
    (g,) = npg.autograd.grad(out.sum(), [xt], create_graph=True)
    (h,) = npg.autograd.grad(g.sum(), [xt])
    assert out.dtype == g.dtype == h.dtype == dtype
    t = torch.tensor(x)
    d1, d2 = _derivatives(name, t, torch)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-6)
    assert_close(out, getattr(torch.special, f"bessel_{name}")(t).numpy(), what="value", **tol)
    assert_close(g, d1.numpy(), what="gradient", **tol)
    assert_close(h, d2.numpy(), what="second derivative", **tol)
    if dtype == np.float64:
        d1, d2 = _derivatives(name, x, sp)
        assert_close(g, d1, what="gradient", rtol=1e-12, atol=1e-14)
        assert_close(h, d2, what="second derivative", rtol=1e-11, atol=1e-13)


def test_gradients_at_zero():
    x = npg.tensor([0.0, 0.0])
    S.j0(x[:1]).sum().backward()
    S.j1(x[1:]).sum().backward()
    assert_close(x.grad, [0.0, 0.5], rtol=0, atol=0)
    x = npg.tensor([0.0])
    S.jn(np.array([1, -1, 2]), x).sum().backward()   # J_1'(0) = 1/2, J_{-1}'(0) = -1/2, J_2'(0) = 0
    assert_close(x.grad, [0.0], rtol=0, atol=0)
    x = npg.tensor([0.0])
    S.jn(-1, x).sum().backward()
    assert_close(x.grad, [-0.5], rtol=0, atol=0)
    # Y_n -> -inf at 0+ (+inf for odd negative n) from below: the derivative's limit is +inf (-inf); x < 0: NaN
    x = npg.tensor([0.0, -1.0])
    for fn, limit in ((S.y0, np.inf), (S.y1, np.inf), (lambda a: S.yn(2, a), np.inf),
                      (lambda a: S.yn(-1, a), -np.inf), (lambda a: S.yn(-4, a), np.inf)):
        with np.errstate(all="raise"):   # (and no warning)
            (g,) = npg.autograd.grad(fn(x).sum(), [x])
        assert_close(g, [limit, np.nan], rtol=0, atol=0)


FD_CASES = [
    ("jn2", lambda x: S.jn(2, x), RNG.uniform(-30, 30, 8)),
    ("jn-3", lambda x: S.jn(-3, x), RNG.uniform(-30, 30, 8)),
    ("jn_bcast", lambda x: S.jn(np.array([[0], [4], [11]]), x), RNG.uniform(0.5, 40, 5)),
    ("yn3", lambda x: S.yn(3, x), RNG.uniform(0.7, 40, 8)),
    ("yn-2", lambda x: S.yn(-2, x), RNG.uniform(0.7, 40, 8)),
    ("yn_bcast", lambda x: S.yn(np.array([[0], [1], [6]]), x), RNG.uniform(1.0, 40, 5)),
    ("j1_large", S.j1, np.array([30.0, 150.0, -700.0])),
    ("y1_small", S.y1, np.array([0.3, 0.9, 1.2])),
]


@pytest.mark.parametrize("name,fn,x", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_match_finite_differences(name, fn, x):
    check_finite_difference(fn, [x], eps=1e-6, rtol=1e-6, atol=1e-9, what=name)


@pytest.mark.parametrize("name,fn,x", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_second_derivatives_match_finite_differences(name, fn, x):
    v = np.random.default_rng(3).standard_normal(fn(npg.tensor(x)).shape)

    def grad(at):
        xt = npg.tensor(at)
        (g,) = npg.autograd.grad((fn(xt) * v).sum(), [xt])
        return g.data
    xt = npg.tensor(x)
    (g,) = npg.autograd.grad((fn(xt) * v).sum(), [xt], create_graph=True)
    (h,) = npg.autograd.grad(g.sum(), [xt])
    eps = 1e-5
    numeric = (grad(x + eps) - grad(x - eps)) / (2 * eps)
    assert_close(h, numeric, rtol=1e-6, atol=1e-8, what=name)


def test_jvp_matches_torch_formulas_and_vjp():
    x = RNG.uniform(0.3, 15, 7)
    tangent = RNG.standard_normal(7)
    for name in ("j0", "j1", "y0", "y1"):
        with fwAD.dual_level():
            out = getattr(S, name)(fwAD.make_dual(npg.tensor(x, requires_grad=False), npg.tensor(tangent)))
            _, jv = fwAD.unpack_dual(out)
        assert_close(jv, tangent * _derivatives(name, torch.tensor(x), torch)[0].numpy(), rtol=1e-6, atol=1e-6)
        assert_close(jv, tangent * _derivatives(name, x, sp)[0], rtol=1e-12, atol=1e-14)
        _, jv = npg.func.jvp(getattr(S, name), (npg.tensor(x),), (npg.tensor(tangent),))
        assert_close(jv, tangent * _derivatives(name, x, sp)[0], rtol=1e-12, atol=1e-14)
    for f in (lambda a: S.jn(4, a), lambda a: S.yn(np.array([[2], [-5]]), a)):
        _, jv = npg.func.jvp(f, (npg.tensor(x),), (npg.tensor(tangent),))
        jac = npg.func.jacrev(lambda a: f(a).sum(axis=0) if f(a).ndim > 1 else f(a))(npg.tensor(x))
        assert_close(jv.sum(axis=0) if jv.ndim > 1 else jv, jac.data @ tangent, rtol=1e-12, atol=1e-14)


def test_vmap_matches_a_loop():
    x = RNG.uniform(0.2, 30, (4, 6))
    n = np.array([0, 3, -2, 7])
    for f in (S.j0, S.j1, S.y0, S.y1, lambda a: S.jn(3, a), lambda a: S.yn(-4, a)):
        got = npg.func.vmap(f)(npg.tensor(x))
        assert_close(got, np.stack([f(npg.tensor(r)).data for r in x]), rtol=1e-15, atol=0)
        g = npg.func.vmap(npg.func.grad(lambda a: f(a).sum()))(npg.tensor(x))
        assert_close(g, np.stack([npg.func.grad(lambda a: f(a).sum())(npg.tensor(r)).data for r in x]),
                     rtol=1e-15, atol=0)
    for f in (S.jn, S.yn):   # a batched order
        got = npg.func.vmap(f)(npg.tensor(n), npg.tensor(x))
        assert_close(got, np.stack([f(k, r).data for k, r in zip(n, x)]), rtol=1e-15, atol=0)
