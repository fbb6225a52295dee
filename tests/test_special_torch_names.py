"""torch.special's names in npg.special: every function of ``dir(torch.special)`` exists; the new ones (K0, K1,
k0e, k1e, airy_ai, spherical_bessel_j0, the orthogonal polynomials) against torch 2.13, SciPy and mpmath in
values, and against SciPy, NumPy's polynomial classes and finite differences in their derivatives (torch gives
none of them a gradient)."""
import math

import numpy as np
import numpy.polynomial as P
import pytest
import scipy.special as sp
import torch

import npgrad as npg

POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p"]
_TDT = {np.float32: torch.float32, np.float64: torch.float64}


def test_every_torch_special_function_is_there():
    missing = [n for n in dir(torch.special) if not n.startswith("_") and callable(getattr(torch.special, n))
               and n not in ("Tensor",) and not hasattr(npg.special, n)]
    assert missing == []
    assert npg.special.modified_bessel_k0 is npg.special.k0 and npg.special.bessel_y1 is npg.special.y1


@pytest.mark.parametrize("name", ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
                                  "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                                  "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
                                  "airy_ai", "exp2", "expm1", "log1p", "round"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_values_as_torch(name, dtype):
    x = np.array([0.0, 1e-3, 0.1, 0.4, 0.6, 1.0, 2.5, 7.0, 12.0, 30.0, -0.3, -4.5, -15.0, np.inf, np.nan], dtype)
    if name == "round":
        x = x * 3.3
    with np.errstate(invalid="ignore"):   # (log1p below -1: NumPy's warning)
        out = getattr(npg.special, name)(npg.tensor(x, requires_grad=False))
    expected = getattr(torch.special, name)(torch.tensor(x)).numpy()
    assert out.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    if name == "airy_ai":   # (torch's is off by up to 5e-12 relative; npgrad's against mpmath: below)
        rtol = max(rtol, 1e-10)
    if name.startswith("bessel_"):   # (torch's J and Y are off by up to 1e-8 relative: npgrad's are SciPy's)
        rtol = max(rtol, 1e-7) * 1000   # (absolute 3e-8 near the zeros: atol = rtol / 100)
        np.testing.assert_allclose(out.data, getattr(sp, name[-2:])(x.astype(np.float64)).astype(dtype),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12, equal_nan=True)
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=rtol * 1e-2, equal_nan=True)


X_WIDE = np.concatenate([np.geomspace(1e-300, 1e-2, 60), np.linspace(0.01, 30, 3001), np.geomspace(30, 1e300, 60)])


@pytest.mark.parametrize("name", ["k0", "k1", "k0e", "k1e"])
def test_k_values_as_scipy(name):
    got = getattr(npg.special, name)(X_WIDE).data
    ref = getattr(sp, name)(X_WIDE)
    nz = ref != 0
    assert np.max(np.abs(got[nz] / ref[nz] - 1)) < 1e-14
    assert (got[~nz] == 0).all()
    edge = getattr(npg.special, name)(np.array([0.0, -1.0, np.nan, np.inf])).data
    np.testing.assert_array_equal(edge, getattr(sp, name)(np.array([0.0, -1.0, np.nan, np.inf])))


@pytest.mark.parametrize("name,order", [("k0", 0), ("k1", 1)])
def test_k_derivatives_as_scipy(name, order):
    x = npg.tensor(np.geomspace(1e-3, 80, 200))
    f = getattr(npg.special, name)
    (g,) = npg.autograd.grad(f(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, sp.kvp(order, x.data), rtol=1e-13)
    (h,) = npg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, sp.kvp(order, x.data, n=2), rtol=1e-12)
    fe = getattr(npg.special, name + "e")   # (e^x K)' = e^x (K + K')
    (ge,) = npg.autograd.grad(fe(x).sum(), x)
    np.testing.assert_allclose(ge.data, np.exp(x.data) * (sp.kv(order, x.data) + sp.kvp(order, x.data)), rtol=1e-13)


def test_torch_gives_these_no_gradient():   # (why npgrad's derivatives are checked against SciPy here)
    t = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    assert torch.special.modified_bessel_k0(t).grad_fn is None
    assert torch.special.airy_ai(t).grad_fn is None
    assert torch.special.chebyshev_polynomial_t(t, 3).grad_fn is None


def test_airy_ai_values_and_derivatives():
    x = np.concatenate([np.linspace(-60, 12, 4001), [50.0, 100.0]])
    ai, aip, _, _ = sp.airy(x)
    t = npg.tensor(x)
    y = npg.special.airy_ai(t)
    scale = np.maximum(np.abs(ai), np.where(x < 0, np.abs(x) ** -0.25, 0.0))  # absolute where Ai oscillates
    assert np.max(np.abs(y.data - ai) / np.where(scale > 0, scale, 1e-300)) < 2e-13
    (g,) = npg.autograd.grad(y.sum(), t, create_graph=True)
    scale = np.maximum(np.abs(aip), np.where(x < 0, np.abs(x) ** 0.25, 0.0))
    assert np.max(np.abs(g.data - aip) / np.where(scale > 0, scale, 1e-300)) < 5e-13
    (h,) = npg.autograd.grad(g.sum(), t)    # Ai'' = x Ai
    np.testing.assert_allclose(h.data, x * ai, rtol=1e-9, atol=1e-11)
    import mpmath
    for v in (-7.3, -2.6, 0.4, 3.3):
        assert abs(npg.special.airy_ai(v).item() - float(mpmath.airyai(v))) < 1e-15
    # (far out the phase 2/3 |x|^1.5 carries its rounding: relative ~ |x|^1.5 eps, as SciPy's)
    assert abs(npg.special.airy_ai(-1e4).item() - float(mpmath.airyai(-1e4))) < 1e-10
    assert np.isnan(npg.special.airy_ai(np.array([np.inf, -np.inf, np.nan])).data).all()   # as torch and SciPy


def test_spherical_bessel_j0_derivative_stable_near_zero():
    x = npg.tensor(np.array([0.0, 1e-8, 1e-3, 0.2, 0.49, 0.5, 0.51, 3.0, 40.0]))
    y = npg.special.spherical_bessel_j0(x)
    (g,) = npg.autograd.grad(y.sum(), x, create_graph=True)
    xd = x.data
    ref = np.where(xd == 0, 0.0, sp.spherical_jn(0, xd, derivative=True))
    np.testing.assert_allclose(g.data, ref, rtol=1e-13, atol=1e-18)
    (h,) = npg.autograd.grad(g.sum(), x)
    assert abs(h.data[0] + 1.0 / 3.0) < 1e-15      # j0''(0) = -1/3
    with np.errstate(divide="ignore", invalid="ignore"):  # j0'' = -j0 - 2 j0' / x
        ref2 = -sp.spherical_jn(0, xd) - 2 * sp.spherical_jn(0, xd, derivative=True) / xd
    np.testing.assert_allclose(h.data[1:], ref2[1:], rtol=1e-7)


# ------------------------------------------------------------------------ the polynomials
XS = np.concatenate([np.linspace(-1.6, 1.6, 41), [-1.0, 1.0, 0.0, 0.5, 1e-20, -np.inf, np.inf]])
NS = np.array([-3, -0.5, 0, 0.7, 1, 2, 3, 5, 6.9, 7, 8, 9, 12, 25, 130, 600, np.nan, np.inf, -np.inf, 1e30])


@pytest.mark.parametrize("name", POLYS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_polynomial_values_as_torch(name, dtype):
    x, n = XS[:, None].astype(dtype), NS[None, :].astype(dtype)
    got = getattr(npg.special, name)(x, n)
    expected = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n)).numpy()
    assert got.dtype == dtype and got.shape == expected.shape
    g = got.data
    finite = np.isfinite(expected) & np.isfinite(g)
    rtol = 2e-4 if dtype == np.float32 else 1e-11
    degree = np.broadcast_to(np.nan_to_num(np.minimum(np.abs(n), 1000.0), nan=0.0) + 1.0, g.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        scale = np.maximum(np.abs(expected), 1.0) * degree   # (absolute near the zeros, rounding grows with n)
        bad = finite & ~(np.abs(g - expected) <= rtol * scale)
    assert not bad.any(), (x.ravel()[np.nonzero(bad)[0]], n.ravel()[np.nonzero(bad)[1]], g[bad], expected[bad])
    # torch's special cases hold exactly: negative / NaN / infinite degrees, the closed values at the ends
    ends = ((x == 0) | (x == 1) if name.startswith("shifted") else np.abs(x) == 1 if name[-1] in "tuvwp"
            else x == 0 if name.endswith("_l") else np.zeros(x.shape, bool))
    exact = (n < 0) | ~np.isfinite(n) | (n >= 1e30) | ends
    exact = np.broadcast_to(exact, g.shape) & ~np.isnan(expected) & np.isfinite(expected)
    np.testing.assert_array_equal(g[exact], expected[exact])
    if dtype == np.float64:   # float32: torch's own recurrence overflows to NaN where the value is +-inf
        np.testing.assert_array_equal(np.isnan(g), np.isnan(expected) & ~np.isnan(x).repeat(len(NS), 1))


_NUMPY_CLASS = {"chebyshev_polynomial_t": (P.Chebyshev, 1.0), "hermite_polynomial_h": (P.Hermite, 1.0),
                "hermite_polynomial_he": (P.HermiteE, 1.0), "laguerre_polynomial_l": (P.Laguerre, 1.0),
                "legendre_polynomial_p": (P.Legendre, 1.0)}


def _reference(name, x, n, m):
    """The m-th derivative of the degree-n polynomial ``name`` (NumPy's polynomial classes; U, V, W from
    U_n = (T_{n+2} - T_n) / (2 (x^2 - 1))... as Chebyshev series: U_n = 2 sum_{odd/even k <= n} T_k - [n even])."""
    shifted = name.startswith("shifted_")
    kind = name[-1]
    if name in _NUMPY_CLASS:
        cls = _NUMPY_CLASS[name][0]
        return cls.basis(n).deriv(m)(x) if m else cls.basis(n)(x)
    def u(k):   # U_k as a Chebyshev series
        c = np.zeros(max(k, 0) + 1)
        if k < 0:
            return P.Chebyshev([0.0])
        c[k % 2::2] = 2.0
        if k % 2 == 0:
            c[0] = 1.0
        return P.Chebyshev(c)
    series = {"t": P.Chebyshev.basis(n), "u": u(n), "v": u(n) - u(n - 1), "w": u(n) + u(n - 1)}[kind]
    y = 2 * x - 1 if shifted else x
    return (2.0 ** m if shifted else 1.0) * (series.deriv(m)(y) if m else series(y))


@pytest.mark.parametrize("name", POLYS)
def test_polynomial_derivatives(name):
    x = np.linspace(-1.3, 1.3, 27) if not name.startswith("shifted") else np.linspace(-0.2, 1.2, 27)
    for n in (0, 1, 2, 5, 9, 14):
        t = npg.tensor(x)
        y = getattr(npg.special, name)(t, n)
        np.testing.assert_allclose(y.data, _reference(name, x, n, 0), rtol=1e-11, atol=1e-11)
        (g,) = npg.autograd.grad(y.sum(), t, create_graph=True)
        ref1 = _reference(name, x, n, 1) if n else np.zeros_like(x)
        np.testing.assert_allclose(g.data, ref1, rtol=1e-11, atol=1e-10 * max(1, n) ** 3)
        (h,) = npg.autograd.grad(g.sum(), t)
        ref2 = _reference(name, x, n, 2) if n > 1 else np.zeros_like(x)
        np.testing.assert_allclose(h.data, ref2, rtol=1e-10, atol=1e-9 * max(1, n) ** 5)
    # central finite differences of torch's own values (degree 7, float64)
    tx = torch.tensor(x)
    e = 1e-6
    fd = (getattr(torch.special, name)(tx + e, 7) - getattr(torch.special, name)(tx - e, 7)).numpy() / (2 * e)
    t = npg.tensor(x)
    (g,) = npg.autograd.grad(getattr(npg.special, name)(t, 7).sum(), t)
    np.testing.assert_allclose(g.data, fd, rtol=1e-6, atol=1e-5)


def test_polynomial_degree_takes_no_gradient():
    x = npg.tensor([0.2, 0.4])
    with pytest.raises(TypeError, match="legendre_polynomial_p: the degree n takes no gradient"):
        npg.special.legendre_polynomial_p(x, npg.tensor(3.0, requires_grad=True))
    y = npg.special.legendre_polynomial_p(x, npg.tensor(3.0, requires_grad=False))
    np.testing.assert_allclose(y.data, P.Legendre.basis(3)(x.data))


def test_polynomial_broadcasting_dtypes_and_shapes():
    out = npg.special.hermite_polynomial_he(npg.tensor(np.float32([0.5, 2.0])), np.array([[0], [3]]))
    assert out.shape == (2, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, [[1, 1], [0.125 - 1.5, 8 - 6]])
    assert npg.special.chebyshev_polynomial_t(np.array([1, 2]), 3).dtype == np.float64   # integer input
    assert npg.special.chebyshev_polynomial_t(np.float32([0.5]), np.array([3.0])).dtype == np.float64   # as torch
    assert npg.special.chebyshev_polynomial_t(np.float32([0.5]), np.float64(3.0)).dtype == np.float32
    assert npg.special.laguerre_polynomial_l(npg.tensor(0.5), 2).shape == ()
    empty = npg.special.legendre_polynomial_p(npg.tensor(np.zeros((0, 3), np.float32)), 4)
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    x = npg.tensor(np.zeros((0, 3)))
    (g,) = npg.autograd.grad(npg.special.chebyshev_polynomial_u(x, 4).sum(), x)
    assert g.shape == (0, 3)


@pytest.mark.parametrize("name", ["k0", "k1e", "airy_ai", "spherical_bessel_j0", "laguerre_polynomial_l"])
def test_forward_mode_and_vmap(name):
    f = getattr(npg.special, name)
    if name.endswith("_l"):
        f = lambda x, _f=f: _f(x, 4)   # noqa: E731
    x = np.linspace(0.3, 2.7, 6).reshape(2, 3)
    jac = npg.func.jacfwd(lambda v: f(v).sum())(x)
    grad = npg.func.grad(lambda v: f(v).sum())(x)
    np.testing.assert_allclose(np.asarray(jac), np.asarray(grad), rtol=1e-13)
    batched = npg.func.vmap(f)(x)
    np.testing.assert_allclose(np.asarray(batched), f(x).data, rtol=1e-15)


def test_float32_zero_d_and_integer_inputs():
    for name in ["k0", "k1", "k0e", "k1e", "airy_ai", "spherical_bessel_j0"]:
        f = getattr(npg.special, name)
        x32 = npg.tensor(np.float32(0.7))
        y = f(x32)
        assert y.dtype == np.float32 and y.shape == ()
        (g,) = npg.autograd.grad(y, x32)
        assert g.dtype == np.float32
        assert f(np.array([1, 2])).dtype == np.float64
        assert f(np.zeros((0, 2), np.float32)).shape == (0, 2)
    tx = torch.tensor([1, 2])
    np.testing.assert_allclose(npg.special.modified_bessel_k1(np.array([1, 2])).data,
                               torch.special.modified_bessel_k1(tx).double().numpy(), rtol=1e-6)
    assert math.isinf(npg.special.k0(0.0).item())
