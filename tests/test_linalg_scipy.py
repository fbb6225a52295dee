"""scipy.linalg's functions in npg.linalg (solve_triangular, cho_factor / cho_solve, lu_factor / lu_solve / lu,
expm / matrix_exp, block_diag): values against SciPy (every option, batched against a loop of SciPy's 2-D calls),
gradients against torch in float32 / float64 / complex128 for every trans / lower / unit_diagonal combination,
the triangle-only gradient, higher derivatives, vmap, edge cases (0x0, 1x1, singular, dtypes) and errors.
The op tables (tests/test_linalg.py, tests/test_ops_table.py, tests/test_complex_linalg.py) cover finite
differences, forward mode and vmap of the common calls."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
import torch

import npgrad as npg
from npgrad import func_vmap as fv
from tests.test_higher_order import higher_order

LA = npg.linalg
TOL = {np.float32: 2e-4, np.float64: 1e-10, np.complex128: 1e-10}


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _close(actual, expected, dtype, what=""):
    expected = np.asarray(expected)
    actual = np.asarray(getattr(actual, "data", actual))
    assert actual.shape == expected.shape, what
    scale = max(1.0, float(np.max(np.abs(expected), initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype] * 10, atol=TOL[dtype] * scale, err_msg=what)


def _grads(out, tout, xs, ts, dtype, rng):
    """Gradients of the real loss Re(sum(out * w)) in npgrad and torch."""
    w = _rand(rng, out.shape, dtype)
    npg.sum(npg.real(out * w) if np.dtype(dtype).kind == "c" else out * w).backward()
    (tout * torch.tensor(w)).real.sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        _close(x.grad, t.grad.numpy(), dtype, f"grad of input {i}")
        assert x.grad.dtype == dtype


# ------------------------------------------------------------------------------------ solve_triangular
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("trans,lower,unit", list(itertools.product([0, 1, 2], [False, True], [False, True])))
@pytest.mark.parametrize("bshape", [(4,), (4, 2), (3, 4, 2)])
def test_solve_triangular_against_scipy_and_torch(trans, lower, unit, bshape, dtype):
    rng = np.random.default_rng(0)
    a = _rand(rng, (3, 4, 4), dtype) + 3 * np.eye(4, dtype=dtype)
    b = _rand(rng, bshape, dtype)
    x, y = npg.tensor(a), npg.tensor(b)
    out = LA.solve_triangular(x, y, trans=trans, lower=lower, unit_diagonal=unit)
    assert out.dtype == dtype
    expected = np.stack([sl.solve_triangular(a[i], b if b.ndim < 3 else b[i], trans=trans, lower=lower,
                                             unit_diagonal=unit) for i in range(3)])
    _close(out, expected, dtype, "value")
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    A = [ta, ta.mT, ta.mH][trans]
    tout = torch.linalg.solve_triangular(A, tb[..., None] if b.ndim == 1 else tb, upper=lower == (trans != 0),
                                         unitriangular=unit)
    _grads(out, tout[..., 0] if b.ndim == 1 else tout, [x, y], [ta, tb], dtype, rng)


@pytest.mark.parametrize("lower,unit", list(itertools.product([False, True], [False, True])))
def test_solve_triangular_gradient_is_zero_outside_the_triangle_read(lower, unit):
    rng = np.random.default_rng(1)
    x = npg.tensor(rng.standard_normal((4, 4)) + 3 * np.eye(4))
    npg.sum(LA.solve_triangular(x, np.ones((4, 2)), lower=lower, unit_diagonal=unit) ** 2).backward()
    outside = np.triu(np.ones((4, 4)), 1 - unit) if lower else np.tril(np.ones((4, 4)), unit - 1)
    assert np.all(x.grad[outside == 1] == 0)
    assert np.all(x.grad[outside == 0] != 0)
    # values: the other triangle (and the diagonal with unit_diagonal) is not read
    junk = npg.tensor(x.data + 100 * outside)
    np.testing.assert_array_equal(LA.solve_triangular(junk, np.ones(4), lower=lower, unit_diagonal=unit).data,
                                  LA.solve_triangular(x, np.ones(4), lower=lower, unit_diagonal=unit).data)


def test_solve_triangular_dtypes_and_small_shapes():
    a32 = np.array([[2.0, 1.0], [0.0, 4.0]], np.float32)
    assert LA.solve_triangular(a32, np.ones(2, np.float32)).dtype == np.float32
    assert LA.solve_triangular(a32, np.ones(2)).dtype == np.float64           # as SciPy: the common dtype
    out = LA.solve_triangular(np.array([[2, 1], [0, 4]]), np.array([1, 2]))   # integers: float64
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, sl.solve_triangular(np.array([[2, 1], [0, 4]]), np.array([1, 2])))
    assert LA.solve_triangular(np.zeros((0, 0)), np.zeros(0)).shape == (0,)
    assert LA.solve_triangular(np.zeros((2, 0, 0)), np.zeros((0, 3))).shape == (2, 0, 3)
    x = npg.tensor([[4.0]])
    out = LA.solve_triangular(x, npg.tensor([2.0]))
    out.backward()
    assert out.item() == 0.5 and x.grad[0, 0] == pytest.approx(-2.0 / 16)


def test_solve_triangular_errors_name_the_op():
    a = np.triu(np.ones((3, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="solve_triangular: singular matrix: resolution failed at "
                                                    "diagonal 1"):
        LA.solve_triangular(a - np.diag([0.0, 1.0, 0.0]), np.ones(3))
    np.testing.assert_allclose(LA.solve_triangular(a - np.eye(3), np.ones(3), unit_diagonal=True).data,
                               sl.solve_triangular(a - np.eye(3), np.ones(3), unit_diagonal=True))
    with pytest.raises(np.linalg.LinAlgError, match=r"solve_triangular: .*square.*\(3, 2\)"):
        LA.solve_triangular(np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"solve_triangular: shapes of a \(3, 3\) and b \(4, 3\) are incompatible"):
        LA.solve_triangular(a, np.ones((4, 3)))
    with pytest.raises(ValueError, match="solve_triangular: trans must be"):
        LA.solve_triangular(a, np.ones(3), trans=3)
    with pytest.raises(ValueError, match="solve_triangular: array must not contain infs or NaNs"):
        LA.solve_triangular(a, np.array([1.0, np.nan, 1.0]))
    assert np.isnan(LA.solve_triangular(a, np.array([1.0, np.nan, 1.0]), check_finite=False).data).any()


def test_solve_triangular_vmap_batches_every_operand_without_a_loop():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((5, 2, 3, 3)) + 3 * np.eye(3), rng.standard_normal((5, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", fv._vmap_rules.VmapFallbackWarning)
        out = npg.func.vmap(lambda a, b: LA.solve_triangular(a, b, trans=1, lower=True))(npg.tensor(A), npg.tensor(B))
        out2 = npg.func.vmap(lambda b: LA.solve_triangular(A[0], b), in_dims=1)(npg.tensor(B.T.copy()))
    expected = np.stack([[sl.solve_triangular(A[i, j], B[i], trans=1, lower=True) for j in range(2)] for i in range(5)])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    np.testing.assert_allclose(out2.data, np.stack([[sl.solve_triangular(A[0, j], B[i]) for j in range(2)]
                                                    for i in range(5)]), rtol=1e-12)


# ------------------------------------------------------------------------------------ Cholesky
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_cho_factor_and_cho_solve_against_scipy(lower, dtype):
    rng = np.random.default_rng(3)
    m = _rand(rng, (2, 4, 4), dtype)
    a = m @ np.conj(np.swapaxes(m, -1, -2)) + 4 * np.eye(4, dtype=dtype)
    b = _rand(rng, (4, 3), dtype)
    c, lo = LA.cho_factor(npg.tensor(a), lower=lower)
    assert lo is lower and c.dtype == dtype
    for i in range(2):
        sc, _ = sl.cho_factor(a[i], lower=lower)
        tri = np.tril if lower else np.triu
        _close(c.data[i], tri(sc), dtype, "c")       # SciPy's other triangle holds leftovers: npgrad's is zeros
        _close(LA.cho_solve((c, lo), b).data[i], sl.cho_solve((sc, lower), b), dtype, "cho_solve")
        _close(LA.cho_solve((c, lo), b[:, 0]).data[i], sl.cho_solve((sc, lower), b[:, 0]), dtype, "vector b")
    np.testing.assert_array_equal((np.triu(c.data, 1) if lower else np.tril(c.data, -1)), 0)


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_reads_the_triangle_scipy_reads(lower):
    rng = np.random.default_rng(4)
    m = rng.standard_normal((3, 3))
    a = m @ m.T + 3 * np.eye(3)
    junk = a + (np.triu(np.ones((3, 3)), 1) if lower else np.tril(np.ones((3, 3)), -1)) * 50
    c, _ = LA.cho_factor(junk, lower=lower)
    sc = sl.cho_factor(junk, lower=lower)[0]
    np.testing.assert_allclose(c.data, np.tril(sc) if lower else np.triu(sc), rtol=1e-12)


def test_cho_solve_gradients_against_torch():
    rng = np.random.default_rng(5)
    m, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 2))
    x, y = npg.tensor(m), npg.tensor(b)
    out = LA.cho_solve(LA.cho_factor(x @ x.swapaxes(-1, -2) + 3 * npg.eye(3), lower=True), y)
    tx, ty = torch.tensor(m, requires_grad=True), torch.tensor(b, requires_grad=True)
    tout = torch.cholesky_solve(ty, torch.linalg.cholesky(tx @ tx.mT + 3 * torch.eye(3, dtype=tx.dtype)))
    _close(out, tout.detach().numpy(), np.float64)
    _grads(out, tout, [x, y], [tx, ty], np.float64, rng)


def test_cho_errors():
    with pytest.raises(np.linalg.LinAlgError, match="cho_factor: .*not positive definite"):
        LA.cho_factor(-np.eye(2))
    with pytest.raises(np.linalg.LinAlgError, match=r"cho_factor: .*square.*\(2, 3\)"):
        LA.cho_factor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="cho_solve: the first argument must be the pair"):
        LA.cho_solve(np.eye(2), np.ones(2))
    assert LA.cho_solve(LA.cho_factor(np.zeros((0, 0))), np.zeros(0)).shape == (0,)
    np.testing.assert_allclose(LA.cho_solve(LA.cho_factor(np.array([[4.0]])), np.array([2.0])).data, [0.5])


# ------------------------------------------------------------------------------------ LU
SHAPES = [(4, 4), (2, 3, 3), (3, 5), (5, 3), (2, 2, 4, 6), (1, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("shape", SHAPES)
def test_lu_factor_and_lu_against_scipy(shape, dtype):
    rng = np.random.default_rng(6)
    a = _rand(rng, shape, dtype)
    lu, piv = LA.lu_factor(npg.tensor(a))
    assert lu.dtype == dtype and piv.dtype == np.int32 and not piv.requires_grad
    flat = a.reshape((-1,) + shape[-2:])
    for i, m in enumerate(flat):
        slu, spiv = sl.lu_factor(m)
        _close(lu.data.reshape(flat.shape)[i], slu, dtype, "lu")
        np.testing.assert_array_equal(piv.data.reshape(len(flat), -1)[i], spiv)
        P, L, U = LA.lu(m)
        for k, (got, exp) in enumerate(zip((P, L, U), sl.lu(m))):
            # P is real, as SciPy's (whose P of a 1 x 1 complex matrix alone is complex)
            assert got.dtype == (np.real(exp).dtype if k == 0 and m.shape == (1, 1) else exp.dtype)
            _close(got, exp, dtype, "lu()")
        p, L2, U2 = LA.lu(m, p_indices=True)
        np.testing.assert_array_equal(p.data, sl.lu(m, p_indices=True)[0])
        assert p.dtype == np.int32
        PL, _ = LA.lu(m, permute_l=True)
        _close(PL, sl.lu(m, permute_l=True)[0], dtype, "permute_l")
    _, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    np.testing.assert_array_equal(piv.data, tpiv.numpy() - 1)     # torch's pivots are 1-based


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("shape", SHAPES[:5])
def test_lu_gradients_against_torch_square_wide_and_tall(shape, dtype):
    rng = np.random.default_rng(7)
    a = _rand(rng, shape, dtype)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    lu, tlu = LA.lu_factor(x)[0], torch.linalg.lu_factor(t)[0]
    _grads(lu, tlu, [x], [t], dtype, rng)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    (_, L, U), (_, tL, tU) = LA.lu(x), torch.linalg.lu(t)
    wl, wu = _rand(rng, L.shape, dtype), _rand(rng, U.shape, dtype)
    (npg.sum(npg.real(L * wl)) + npg.sum(npg.real(U * wu))).backward()
    ((tL * torch.tensor(wl)).real.sum() + (tU * torch.tensor(wu)).real.sum()).backward()
    _close(x.grad, t.grad.numpy(), dtype, "lu grad")


@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (5, 3)])
def test_lu_third_derivative(shape):
    a = np.random.default_rng(8).standard_normal(shape)
    higher_order(lambda x: LA.lu_factor(x)[0], lambda x: torch.linalg.lu_factor(x)[0], [a], order=3, what="lu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("trans", [0, 1, 2, "N", "T", "C"])
@pytest.mark.parametrize("bshape", [(4,), (4, 2), (3, 4, 2)])
def test_lu_solve_against_scipy_and_torch(trans, bshape, dtype):
    rng = np.random.default_rng(9)
    a, b = _rand(rng, (3, 4, 4), dtype), _rand(rng, bshape, dtype)
    x, y = npg.tensor(a), npg.tensor(b)
    out = LA.lu_solve(LA.lu_factor(x), y, trans=trans)
    assert out.dtype == dtype
    code = {"N": 0, "T": 1, "C": 2}.get(trans, trans)     # (SciPy's lu_solve takes the integer codes only)
    _close(out, np.stack([sl.lu_solve(sl.lu_factor(a[i]), b if b.ndim < 3 else b[i], trans=code)
                          for i in range(3)]), dtype, "value")
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    A = [ta, ta.mT, ta.mH][code]
    tout = torch.linalg.solve(A, tb[..., None] if b.ndim == 1 else tb)
    _grads(out, tout[..., 0] if b.ndim == 1 else tout, [x, y], [ta, tb], dtype, rng)


def test_lu_solve_vmap_with_batched_pivots():
    rng = np.random.default_rng(10)
    A, B = rng.standard_normal((5, 3, 3)), rng.standard_normal((5, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", fv._vmap_rules.VmapFallbackWarning)
        out = npg.func.vmap(lambda lu, piv, b: LA.lu_solve((lu, piv), b, trans=1))(*LA.lu_factor(A), npg.tensor(B))
    np.testing.assert_allclose(out.data, np.linalg.solve(np.swapaxes(A, 1, 2), B[..., None])[..., 0], rtol=1e-10)


def test_lu_singular_warns_as_scipy_and_edge_cases():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.warns(LA.LinAlgWarning, match="lu_factor: Diagonal number 2 is exactly zero. Singular matrix."):
        lu, piv = LA.lu_factor(a)
    with pytest.warns(sl.LinAlgWarning):
        slu, spiv = sl.lu_factor(a)
    np.testing.assert_array_equal(lu.data, slu)
    np.testing.assert_array_equal(piv.data, spiv)
    assert issubclass(LA.LinAlgWarning, RuntimeWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LA.lu(a)                                     # lu does not warn, as SciPy
    lu, piv = LA.lu_factor(np.zeros((0, 0)))
    assert lu.shape == (0, 0) and piv.shape == (0,) and piv.dtype == np.int32
    assert [t.shape for t in LA.lu(np.zeros((2, 0, 0)))] == [(2, 0, 0)] * 3
    assert LA.lu_factor(np.array([[2, 1], [4, 3]]))[0].dtype == np.float64   # integers: float64, as SciPy
    assert LA.lu_factor(np.ones((1, 1), np.float32))[0].dtype == np.float32
    with pytest.warns(LA.LinAlgWarning, match="Diagonal number 1"):   # a zero column: no interchange, as LAPACK
        zlu, zpiv = LA.lu_factor(np.stack([np.eye(3), np.zeros((3, 3))]))
    with pytest.warns(sl.LinAlgWarning):
        np.testing.assert_array_equal(zpiv.data[1], sl.lu_factor(np.zeros((3, 3)))[1])
    np.testing.assert_array_equal(zlu.data[1], 0)


def test_lu_errors_name_the_op():
    lu, piv = LA.lu_factor(np.eye(3))
    with pytest.raises(np.linalg.LinAlgError, match=r"lu_solve: .*square.*\(3, 4\)"):
        LA.lu_solve((np.ones((3, 4)), piv), np.ones(3))
    with pytest.raises(ValueError, match=r"lu_solve: shapes of lu \(3, 3\) and b \(2,\) are incompatible"):
        LA.lu_solve((lu, piv), np.ones(2))
    with pytest.raises(ValueError, match="lu_solve: piv holds row indices outside"):
        LA.lu_solve((lu, piv.data + 1), np.ones(3))
    with pytest.raises(ValueError, match="lu_solve: piv must be integers of shape"):
        LA.lu_solve((lu, np.zeros(2, np.int32)), np.ones(3))
    with pytest.raises(TypeError, match="lu_solve: the first argument must be the pair"):
        LA.lu_solve(lu, np.ones(3))
    with pytest.raises(ValueError, match="lu_factor: array must not contain infs or NaNs"):
        LA.lu_factor(np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError, match="lu: 1-dimensional array given"):
        LA.lu(np.ones(3))


# ------------------------------------------------------------------------------------ expm
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("scale", [1e-3, 0.1, 0.5, 1.5, 4.0, 20.0])
def test_expm_against_scipy_and_torch_at_every_pade_degree(scale, dtype):
    """1-norms from 1e-3 to ~50: the degrees 3, 5, 7, 9, 13 and scaling by up to 2^4."""
    rng = np.random.default_rng(11)
    a = (_rand(rng, (3, 4, 4), dtype) * scale / 4).astype(dtype)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    out, tout = LA.expm(x), torch.linalg.matrix_exp(t)
    assert out.dtype == dtype
    _close(out, sl.expm(a), dtype, "scipy")
    _close(out, tout.detach().numpy(), dtype, "torch")
    _grads(out, tout, [x], [t], dtype, rng)


def test_expm_exact_cases_and_small_shapes():
    d = np.diag([0.5, -1.0, 2.0])
    np.testing.assert_allclose(LA.expm(d).data, np.diag(np.exp([0.5, -1.0, 2.0])), rtol=1e-14)
    np.testing.assert_allclose(LA.expm(np.array([[0.0, 3.0], [0.0, 0.0]])).data, [[1.0, 3.0], [0.0, 1.0]],
                               rtol=1e-14)   # nilpotent: I + N
    rot = LA.expm(np.array([[0.0, -np.pi / 3], [np.pi / 3, 0.0]])).data
    c, s = np.cos(np.pi / 3), np.sin(np.pi / 3)
    np.testing.assert_allclose(rot, [[c, -s], [s, c]], atol=1e-15)
    assert LA.expm(np.zeros((0, 0))).shape == (0, 0) and LA.expm(np.zeros((2, 0, 0))).shape == (2, 0, 0)
    x = npg.tensor([[0.7]])
    LA.matrix_exp(x).sum().backward()
    assert x.grad[0, 0] == pytest.approx(np.exp(0.7), rel=1e-14)
    assert LA.expm(np.array([[0, 1], [0, 0]])).dtype == np.float64
    assert np.all(np.isnan(LA.expm(np.array([[np.nan, 0.0], [0.0, 1.0]])).data))
    with pytest.raises(np.linalg.LinAlgError, match=r"expm: .*square.*\(2, 3\)"):
        LA.expm(np.ones((2, 3)))


def test_expm_third_derivative_and_vmap():
    a = np.random.default_rng(12).standard_normal((2, 3, 3))
    higher_order(LA.expm, torch.linalg.matrix_exp, [a], order=3, what="expm")
    b = np.random.default_rng(13).standard_normal((3, 2, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", fv._vmap_rules.VmapFallbackWarning)
        out = npg.func.vmap(LA.matrix_exp, in_dims=1)(npg.tensor(b))
    np.testing.assert_allclose(out.data, sl.expm(np.swapaxes(b, 0, 1)), rtol=1e-12)


# ------------------------------------------------------------------------------------ block_diag
def test_block_diag_against_scipy():
    args = [np.float32(1.0), np.array([2, 3]), np.array([[4.0], [5.0]], np.float32), np.zeros((0, 2))]
    out, expected = LA.block_diag(*args), sl.block_diag(*args)
    np.testing.assert_array_equal(out.data, expected)
    assert out.dtype == expected.dtype
    assert LA.block_diag().shape == sl.block_diag().shape == (1, 0)
    assert LA.block_diag(np.ones((2, 3), np.float32)).dtype == np.float32
    z = npg.tensor(np.array([[1 + 2j]]))
    LA.block_diag(z, np.ones((1, 1))).real.sum().backward()
    np.testing.assert_array_equal(z.grad, [[1.0]])
    with pytest.raises(ValueError, match=r"block_diag: .* argument 1 has shape \(1, 2, 2\)"):
        LA.block_diag(np.ones(2), np.ones((1, 2, 2)))


def test_expm_gradient_stays_accurate_when_the_cotangent_dwarfs_the_matrix():
    # the Frechet derivative is linear in E: the block matrix [[A^H, G], [0, A^H]] with a large G needed many
    # squarings and lost accuracy (relative 1e-4 at |G| = 1e12, as torch's); SciPy's expm_frechet at a unit G
    rng = np.random.default_rng(14)
    for sx, sg in [(1e-3, 1e12), (1.0, 1e12), (5.0, 1e8), (1.0, 1e-200)]:
        a, g = sx * rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
        x = npg.tensor(a, requires_grad=True)
        npg.sum(LA.expm(x) * (sg * g)).backward()
        expected = sg * sl.expm_frechet(a.T, g, compute_expm=False)
        np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12, atol=0)
        (_, tangent) = npg.func.jvp(LA.expm, (npg.tensor(a),), (npg.tensor(sg * g),))
        np.testing.assert_allclose(tangent.data, sg * sl.expm_frechet(a, g, compute_expm=False), rtol=1e-12)


@pytest.mark.parametrize("b", [1e4, 1e6, 1e8])
def test_expm_of_a_very_non_normal_matrix_is_exact(b):
    # log(I + N) = N - N^2 / 2 for N nilpotent of index 3, so expm of it is I + N exactly; the 2005 algorithm's
    # scaling (by ||L||, ~b^2) lost up to 12% here, Al-Mohy and Higham's (2009) choice and exact triangle do not
    N = np.array([[0.0, b, 0.0], [0.0, 0.0, b], [0.0, 0.0, 0.0]])
    L = N - N @ N / 2
    got = npg.linalg.expm(npg.tensor(L)).data
    np.testing.assert_allclose(got, np.eye(3) + N, rtol=1e-13, atol=1e-13 * b)
    np.testing.assert_allclose(npg.linalg.expm(npg.tensor(L.T)).data, (np.eye(3) + N).T, rtol=1e-13,
                               atol=1e-13 * b)


def test_expm_of_triangular_matrices_has_the_exact_diagonal_and_superdiagonal():
    rng = np.random.default_rng(5)
    for _ in range(20):
        a, c, t = rng.uniform(-40, 40), rng.uniform(-40, 40), rng.uniform(-50, 50)
        got = npg.linalg.expm(npg.tensor(np.array([[a, t], [0.0, c]]))).data
        exact = np.array([[np.exp(a), t * (np.exp(c) - np.exp(a)) / (c - a)], [0.0, np.exp(c)]])
        np.testing.assert_allclose(got, exact, rtol=1e-13)
