"""vdot / vecdot / matvec / vecmat, the np.poly* functions and np.linalg.eig / eigvals beyond the op tables
(tests/table_poly_eig.py rows in test_ops_table.py; eig in test_linalg.py and test_complex_linalg.py): complex
inputs against PyTorch, NumPy's dispatch, NumPy's edge cases and dtypes (checked against NumPy itself), errors."""

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.autograd import gradcheck
from tests.complex_helpers import CDTYPES, compare, crandn
from tests.helpers import check_finite_difference


# ------------------------------------------------------------------------------------ vector products
def _t_vecmat(v, m):
    return torch.matmul(v.conj().unsqueeze(-2), m).squeeze(-2)


PRODUCTS = [
    ("vdot", npg.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), (2, 3), (6,)),
    ("np.vdot", np.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), (4,), (2, 2)),
    ("vecdot", npg.vecdot, torch.linalg.vecdot, (4, 1, 3), (2, 3)),
    ("np.vecdot", lambda a, b: np.vecdot(a, b, axis=0), lambda a, b: torch.linalg.vecdot(a, b, dim=0), (3, 2), (3, 2)),
    ("matvec", npg.matvec, lambda m, v: torch.matmul(m, v.unsqueeze(-1)).squeeze(-1), (4, 1, 2, 3), (5, 3)),
    ("np.matvec", np.matvec, lambda m, v: torch.matmul(m, v.unsqueeze(-1)).squeeze(-1), (2, 3), (3,)),
    ("vecmat", npg.vecmat, _t_vecmat, (2, 1, 3), (4, 3, 2)),
    ("np.vecmat", np.vecmat, _t_vecmat, (3,), (3, 2)),
]


@pytest.mark.parametrize("kinds", ["cc", "cf", "fc"])
@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf,sa,sb", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products_of_complex_tensors_match_torch(name, f, tf, sa, sb, dtype, kinds):
    rng = np.random.default_rng(0)
    real = np.float32 if dtype == np.complex64 else np.float64
    a, b = (crandn(rng, s, dtype if k == "c" else real) for s, k in zip((sa, sb), kinds))
    promoted = lambda x, y: tf(*(t.to(torch.promote_types(x.dtype, y.dtype)) for t in (x, y)))  # noqa: E731
    compare(f, promoted, [a, b], f"{name} {kinds}")


@pytest.mark.parametrize("name,f,tf,sa,sb", PRODUCTS[::2], ids=[p[0] for p in PRODUCTS[::2]])
def test_products_gradcheck_complex128(name, f, tf, sa, sb):
    rng = np.random.default_rng(1)
    assert gradcheck(f, (npg.tensor(crandn(rng, sa, np.complex128)), npg.tensor(crandn(rng, sb, np.complex128))))


def test_products_conjugate_as_numpy():
    rng = np.random.default_rng(2)
    a, b = crandn(rng, (2, 3), np.complex128), crandn(rng, (2, 3), np.complex128)
    m = crandn(rng, (2, 3, 3), np.complex128)
    for got, want in [(npg.vdot(a, b), np.vdot(a, b)), (npg.vecdot(a, b), np.vecdot(a, b)),
                      (np.vecdot(npg.tensor(a), npg.tensor(b)), np.vecdot(a, b)),
                      (npg.matvec(m, b), np.matvec(m, b)), (npg.vecmat(a, m), np.vecmat(a, m)),
                      (np.vecmat(npg.tensor(a), npg.tensor(m)), np.vecmat(a, m))]:
        assert isinstance(got, npg.Tensor)
        np.testing.assert_allclose(got.data, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.float32, np.complex64])
def test_products_keep_numpys_dtype(dtype):
    a = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
    m = (np.arange(18).reshape(2, 3, 3) % 3).astype(dtype)
    for f, args in [("vdot", (a, a)), ("vecdot", (a, a)), ("matvec", (m, a)), ("vecmat", (a, m))]:
        got, want = getattr(npg, f)(*args), getattr(np, f)(*args)
        assert got.dtype == np.asarray(want).dtype, (f, dtype)
        np.testing.assert_array_equal(got.data, want)
        assert not got.requires_grad   # (arrays in, a constant out)
        got = getattr(npg, f)(*(npg.tensor(x, requires_grad=np.dtype(dtype).kind in "fc") for x in args))
        assert got.dtype == np.asarray(want).dtype and got.requires_grad == (np.dtype(dtype).kind in "fc")


def test_vdot_of_python_and_0d_values():
    assert npg.vdot(npg.tensor(2.0), 3.0).item() == np.vdot(2.0, 3.0)
    assert npg.vdot(np.ones(0), np.ones(0)).item() == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda: npg.vdot(npg.ones(3), npg.ones(4)), r"vdot: a of shape \(3,\) and b of shape \(4,\) have different "),
    (lambda: npg.vecdot(npg.ones(3), npg.ones(4)), r"vecdot: shapes \(3,\) and \(4,\) differ"),
    (lambda: npg.vecdot(npg.tensor(1.0), npg.tensor(2.0)), r"vecdot: axis -1 is out of range"),
    (lambda: npg.matvec(npg.ones(3), npg.ones(3)), r"matvec: Input operand 0 does not have enough dimensions"),
    (lambda: npg.matvec(npg.ones((2, 3)), npg.ones(4)), r"matvec: Input operand 1 has a mismatch .* \(size 4 is "),
    (lambda: npg.vecmat(npg.ones(3), npg.ones((4, 2))), r"vecmat: Input operand 1 has a mismatch"),
    (lambda: npg.vecmat(npg.ones(3), npg.ones(3)), r"vecmat: Input operand 1 does not have enough dimensions"),
    (lambda: np.matvec(npg.ones((2, 2, 3)), npg.ones((5, 3))), r"matvec: shapes .* do not broadcast"),
])
def test_product_errors_name_the_op(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_gufunc_keywords_other_than_vecdots_axis_are_refused():
    x = npg.ones((2, 3))
    with pytest.raises(TypeError, match=r"numpy.vecdot with \['keepdims'\]"):
        np.vecdot(x, x, keepdims=True)
    with pytest.raises(TypeError, match=r"numpy.matvec with \['axes'\]"):
        np.matvec(npg.ones((3, 3)), x, axes=[(0, 1), 0, 0])


# ------------------------------------------------------------------------------------ polynomials
def _same(got, want, what):
    gs, ws = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    assert len(gs) == len(ws), what
    for g, w in zip(gs, ws):
        g = getattr(g, "data", g)
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype, (what, g, w)
        single = np.asarray(w).dtype in (np.float32, np.complex64)   # (summation orders differ)
        np.testing.assert_allclose(g, w, rtol=1e-5 if single else 1e-9, atol=1e-6 if single else 1e-12, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.complex64, np.complex128])
def test_polynomials_match_numpy_values_and_dtypes(dtype):
    rng = np.random.default_rng(3)
    p, x = (rng.standard_normal(4) * 3).astype(dtype), (rng.standard_normal(5) * 3).astype(dtype)
    calls = [("polyval", (p, x)), ("polyval", (p, x[0])), ("polyval", (p.reshape(2, 2), x[:2])),
             ("polyval", (p[:0], x)), ("polyadd", (p, x)), ("polysub", (x, p)), ("polysub", (p[:1], p)),
             ("polymul", (p, x)), ("polydiv", (x, p)), ("polydiv", (p, x)), ("polydiv", (x, p[:1])),
             ("polyder", (p,)), ("polyder", (p, 3)), ("polyder", (p, 0)), ("polyder", (p[:1],)),
             ("polyint", (p,)), ("polyint", (p, 2, [1, 2])), ("polyint", (p, 3, 2.5)), ("polyint", (p, 0)),
             ("vander", (x,)), ("vander", (x, 3, True)), ("vander", (x, 0)), ("vander", (x[:0],))]
    if np.dtype(dtype).kind != "c":
        calls += [("roots", (p,)), ("roots", (np.r_[0, 0, p, 0].astype(dtype),)), ("roots", (p[:1],)),
                  ("poly", (p,)), ("poly", (p.reshape(2, 2),)), ("polyfit", (x, 2 * x + 1, 2))]
    for name, args in calls:
        _same(getattr(npg, name)(*[npg.tensor(a) if isinstance(a, np.ndarray) else a for a in args]),
              getattr(np, name)(*args), f"{name}{[np.shape(a) for a in args]}")


def test_polynomial_special_values_as_numpy():
    _same(npg.poly(np.array([1 + 1j, 1 - 1j, 2.0])), np.poly(np.array([1 + 1j, 1 - 1j, 2.0])), "poly pairs")
    _same(npg.poly(np.array([1 + 1j, 2.0])), np.poly(np.array([1 + 1j, 2.0])), "poly complex")
    _same(npg.poly(np.arange(9.0).reshape(3, 3)), np.poly(np.arange(9.0).reshape(3, 3)), "poly matrix")
    assert npg.poly([]) == np.poly([]) == 1.0
    _same(npg.roots([0, 0]), np.roots([0, 0]), "roots of zeros")
    _same(npg.roots([3.0]), np.roots([3.0]), "roots of a constant")
    _same(npg.roots([1, 0]), np.roots([1, 0]), "roots x")
    _same(npg.polydiv([1.0, 3, 2], [1.0, 1]), np.polydiv([1.0, 3, 2], [1.0, 1]), "exact division")
    _same(npg.polydiv([1.0, 2], [1.0, 2, 3]), np.polydiv([1.0, 2], [1.0, 2, 3]), "u shorter than v")
    _same(npg.polyval(np.ones(3, np.float32), 2.0), np.polyval(np.ones(3, np.float32), 2.0), "python x")
    _same(npg.polyval([1, 2], np.array([1.5])), np.polyval([1, 2], np.array([1.5])), "int p")


@pytest.mark.parametrize("a1,a2", [([0.0, 1.0], [1.0, 1.0]), ([0.0, 0.0, 2.0, 3.0], [0.0, 4.0]),
                                   ([0.0, 0.0], [1.0, 3.0]), ([], [1.0, 2.0]), (np.array([], np.int64), [1, 2]),
                                   ([0, 2], 3), (2.0, [0.0, 3.0])])
def test_polymul_drops_leading_zeros_as_numpys_poly1d(a1, a2):
    """np.polymul multiplies poly1d(a1) and poly1d(a2), whose leading zeros are dropped (an empty or all-zero
    polynomial is [0]): npgrad convolved the raw coefficients, a longer result with leading zeros."""
    t1, t2 = npg.tensor(np.asarray(a1), requires_grad=False), npg.tensor(np.asarray(a2), requires_grad=False)
    _same(npg.polymul(t1, t2), np.polymul(a1, a2), f"polymul({a1}, {a2})")
    _same(np.polymul(t1, t2), np.polymul(a1, a2), f"np.polymul({a1}, {a2}) on tensors")


def test_polymul_with_leading_zeros_is_differentiable_in_the_kept_coefficients():
    a = np.array([0.0, 0.5, -1.0, 2.0])
    b = np.array([0.0, 1.5, 0.3])

    def f(x, y):  # the leading zeros stay zero: perturb only the coefficients poly1d keeps
        return npg.polymul(npg.concatenate([npg.zeros(1, requires_grad=False), x]),
                           npg.concatenate([npg.zeros(1, requires_grad=False), y]))
    check_finite_difference(f, [a[1:], b[1:]], what="polymul after leading zeros")


def test_polyfit_full_cov_and_rank_as_numpy():
    rng = np.random.default_rng(4)
    x, y, w = rng.standard_normal(8), rng.standard_normal((8, 2)), rng.uniform(0.5, 2, 8)
    for kw in [dict(w=w), dict(full=True), dict(cov=True), dict(cov="unscaled"), dict(w=w, full=True)]:
        for yy in (y, y[:, 0]):
            got, want = npg.polyfit(x, yy, 3, **kw), np.polyfit(x, yy, 3, **kw)
            if kw.get("full"):
                _same(got[:2], want[:2], f"polyfit {kw}")
                assert got[2] == want[2] and type(got[2]) is type(want[2])
                np.testing.assert_allclose(got[3].data, want[3], rtol=1e-12)
                assert got[4] == want[4] and not got[3].requires_grad
            else:
                _same(got, want, f"polyfit {kw}")
    with pytest.warns(np.exceptions.RankWarning, match="Polyfit may be poorly conditioned"):
        npg.polyfit(x[:3], y[:3, 0], 5)
    with pytest.raises(ValueError, match="polyfit: the number of data points"):
        npg.polyfit(x[:4], y[:4, 0], 3, cov=True)


def test_polyfit_residuals_and_covariance_are_differentiable():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal(9), rng.standard_normal(9)
    check_finite_difference(lambda x, y: npg.polyfit(x, y, 2, full=True)[1], [x, y], what="polyfit residuals")
    check_finite_difference(lambda x, y: npg.polyfit(x, y, 2, cov=True)[1], [x, y], what="polyfit cov")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_roots_with_zero_coefficients_and_polydiv_short_match_torch(dtype):
    rng = np.random.default_rng(6)
    p = crandn(rng, (4,), dtype) + 2

    def t_roots(q):
        n = q.shape[0]
        comp = torch.cat([(-q[1:] / q[0]).reshape(1, n - 1), torch.eye(n - 2, n - 1, dtype=q.dtype)])
        return torch.cat([torch.linalg.eigvals(comp), torch.zeros(2, dtype=torch.linalg.eigvals(comp).dtype)])
    z = np.zeros(2, dtype)
    compare(lambda q: npg.roots(npg.concatenate([z, q, z])) + 0j, t_roots, [p], "roots with zeros")
    u, v = crandn(rng, (2,), dtype), crandn(rng, (3,), dtype)   # u shorter: q = 0, r = u
    q, r = npg.polydiv(npg.tensor(u), npg.tensor(v))
    np.testing.assert_array_equal(q.data, np.zeros(1))
    np.testing.assert_array_equal(r.data, u)
    assert not q.requires_grad and r.requires_grad


def test_polynomials_of_complex_tensors_match_torch():
    rng = np.random.default_rng(7)
    p, x = crandn(rng, (4,), np.complex128), crandn(rng, (3,), np.complex128)

    def horner(p, x):
        y = x * 0
        for i in range(p.shape[0]):
            y = y * x + p[i]
        return y
    compare(npg.polyval, horner, [p, x], "polyval complex")
    compare(lambda a: npg.poly(a), lambda a: _t_poly(torch.linalg.eigvals(a)), [crandn(rng, (3, 3), np.complex128)],
            "poly of a complex matrix")
    assert gradcheck(lambda p, v: npg.concatenate(npg.polydiv(p, v)), (npg.tensor(p), npg.tensor(x + 2)))


def _t_poly(z):
    a = torch.ones(1, dtype=z.dtype)
    for i in range(z.shape[0]):
        a = torch.cat([a, torch.zeros(1, dtype=z.dtype)]) - torch.cat([torch.zeros(1, dtype=z.dtype), a]) * z[i]
    return a


def test_polynomial_functions_dispatch_from_numpy():
    p, x = npg.tensor([1.0, -2.0, 0.5]), npg.tensor([0.3, 1.2])
    for name, args in [("polyval", (p, x)), ("polyadd", (p, x)), ("polysub", (p, x)), ("polymul", (p, x)),
                       ("polydiv", (p, x)), ("polyder", (p,)), ("polyint", (p,)), ("polyfit", (x, x, 1)),
                       ("vander", (p,)), ("poly", (p,)), ("roots", (p,))]:
        got = getattr(np, name)(*args)
        outs = got if isinstance(got, tuple) else (got,)
        assert all(isinstance(o, npg.Tensor) for o in outs) and outs[0].requires_grad, name
        _same(got, getattr(np, name)(*[a.data if isinstance(a, npg.Tensor) else a for a in args]), name)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: npg.polyval(npg.tensor(1.0), 2.0), TypeError, "polyval: a 0-d array"),
    (lambda: npg.polyder([1.0, 2.0], -1), ValueError, "polyder: order of derivative must be positive"),
    (lambda: npg.polyint([1.0, 2.0], -1), ValueError, "polyint: order of integral must be positive"),
    (lambda: npg.polyint([1.0, 2.0], 3, k=[1, 2]), ValueError, "polyint: k must be a scalar or a rank-1 array"),
    (lambda: npg.polydiv([], [1.0]), ValueError, "polydiv: u and v must be non-empty 1-D"),
    (lambda: npg.polymul(npg.ones((2, 2)), [1.0]), ValueError, "polymul: the coefficients must be non-empty 1-D"),
    (lambda: npg.vander(npg.ones((2, 2))), ValueError, "vander: x must be a one-dimensional"),
    (lambda: npg.vander(npg.ones(2), -1), ValueError, "vander: negative dimensions"),
    (lambda: npg.roots(npg.ones((2, 2))), ValueError, "roots: input must be a rank-1 array"),
    (lambda: npg.poly(npg.ones((2, 3))), ValueError, "poly: input must be 1d or non-empty square 2d array"),
    (lambda: npg.polyfit(npg.ones(3), npg.ones(4), 1), TypeError, "polyfit: expected x and y to have same length"),
    (lambda: npg.polyfit(npg.ones((3, 1)), npg.ones(3), 1), TypeError, "polyfit: expected 1D vector for x"),
    (lambda: npg.polyfit(npg.ones(3), npg.ones(3), -1), ValueError, "polyfit: expected deg >= 0"),
    (lambda: npg.polyfit(npg.ones(3), npg.ones(3), 1, w=npg.ones(2)), TypeError, "polyfit: expected w and y"),
])
def test_polynomial_errors_name_the_op(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_value_dependent_trimming_under_vmap_must_agree_across_samples():
    p = npg.tensor([[1.0, 2.0, 3.0], [0.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="roots: the samples of this vmap differ in the positions of their zero"):
        npg.func.vmap(npg.roots)(p)
    out = npg.func.vmap(npg.roots)(npg.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, -2.0]]))
    for o, row in zip(out.data, ([1.0, 2.0, 3.0], [1.0, 1.0, -2.0])):
        np.testing.assert_allclose(o, np.roots(row).astype(complex))


# ------------------------------------------------------------------------------------ eig / eigvals
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128, np.int64])
def test_eig_values_and_dtypes_follow_numpy(dtype):
    rng = np.random.default_rng(8)
    mats = [np.array([[2, 1], [1, 3]]), np.array([[0, -1], [1, 0]]), (rng.standard_normal((2, 3, 3)) * 4)]
    for a in mats:
        a = a.astype(dtype)
        L, V = npg.linalg.eig(npg.tensor(a, requires_grad=False))
        nL, nV = np.linalg.eig(a)
        assert L.dtype == nL.dtype and V.dtype == nV.dtype, (dtype, a.shape)
        _same((L, V), (nL, nV), f"eig {dtype}")
        _same(npg.linalg.eigvals(a), np.linalg.eigvals(a), f"eigvals {dtype}")
        if np.dtype(dtype).kind in "fc":   # recording a graph gives the same values and dtypes
            t = npg.tensor(a)
            r = np.linalg.eig(t)
            assert type(r).__name__ == "EigResult" and r.eigenvalues.requires_grad and r.eigenvectors.requires_grad
            _same(tuple(r), (nL, nV), f"eig graph {dtype}")
            _same(np.linalg.eigvals(t), np.linalg.eigvals(a), f"eigvals graph {dtype}")


def test_eig_of_a_batch_is_complex_if_any_matrix_needs_it_as_numpy():
    a = np.stack([np.diag([1.0, 2.0]), np.array([[0.0, -1.0], [1.0, 0.0]])])
    L = npg.linalg.eigvals(npg.tensor(a))
    assert L.dtype == np.linalg.eigvals(a).dtype == np.complex128
    for shape in [(0, 3, 3), (2, 0, 0)]:
        _same(tuple(npg.linalg.eig(np.zeros(shape))), tuple(np.linalg.eig(np.zeros(shape))), f"eig {shape}")


def test_real_input_gradient_is_real_and_matches_torch_on_a_real_spectrum():
    rng = np.random.default_rng(9)
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    a0 = q @ np.diag([1.0, 2.5, 4.0]) @ np.linalg.inv(q) + 0.1 * rng.standard_normal((3, 3))
    a, t = npg.tensor(a0), torch.tensor(a0, requires_grad=True)
    L, V = npg.linalg.eig(a)
    assert L.dtype == V.dtype == np.float64
    tL, tV = torch.linalg.eig(t)
    w = rng.standard_normal((3, 3))
    (npg.sum(V ** 2 * w) + npg.sum(L ** 3)).backward()
    (torch.sum(tV.abs() ** 2 * torch.tensor(w)) + torch.sum(tL.real ** 3)).backward()
    assert a.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_eigvals_gradient_is_finite_at_repeated_eigenvalues_of_a_diagonalizable_matrix():
    a0 = np.diag([2.0, 2.0, 5.0])
    a, t = npg.tensor(a0), torch.tensor(a0, requires_grad=True)
    npg.sum(npg.linalg.eigvals(a) * np.array([1.0, 2.0, 3.0])).backward()
    (torch.linalg.eigvals(t).real * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert np.all(np.isfinite(a.grad))
    np.testing.assert_allclose(a.grad, t.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: npg.linalg.eig(npg.ones(3)), np.linalg.LinAlgError, r"eig: 1-dimensional array given"),
    (lambda: npg.linalg.eig(npg.ones((2, 3))), np.linalg.LinAlgError, r"eig: .*square.*\(2, 3\)"),
    (lambda: npg.linalg.eigvals(npg.ones((2, 3))), np.linalg.LinAlgError, r"eigvals: .*square.*\(2, 3\)"),
    (lambda: npg.linalg.eig(npg.tensor([[np.nan, 1.0], [0.0, 1.0]])), np.linalg.LinAlgError,
     r"eig: Array must not contain infs or NaNs \(input shape \(2, 2\)\)"),
    (lambda: np.linalg.eigvals(npg.tensor([[np.inf, 1.0], [0.0, 1.0]])), np.linalg.LinAlgError,
     r"eigvals: Array must not contain infs or NaNs"),
])
def test_eig_errors_name_the_op(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("name", ["polyder", "polyint"])
def test_polyder_polyint_of_a_matrix_raise_as_numpy(name):
    p = np.ones((2, 3))
    with pytest.raises(ValueError):
        getattr(np, name)(p)
    with pytest.raises(ValueError, match=name):
        getattr(np, name)(npg.tensor(p))
