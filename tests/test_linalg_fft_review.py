"""Adversarial differential review of ``npg.linalg`` and ``npg.fft``: values and errors against NumPy /
SciPy, gradients (and forward mode) against PyTorch, in float32, float64 and complex128."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

L = npg.linalg


def _rand(rng, shape, dtype):
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _tol(dtype):
    return dict(rtol=3e-4, atol=3e-4) if np.dtype(dtype) in (np.float32, np.complex64) else dict(rtol=1e-7,
                                                                                                  atol=1e-9)


def check_vs_torch(npg_fn, torch_fn, arrays, seed=0, what=""):
    """Values, dtypes and gradients of the real loss ``sum(Re(conj(w) * out))`` (complex-aware: torch's
    conjugate Wirtinger convention) of npg_fn against torch_fn, for each output."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs, touts = npg_fn(*xs), torch_fn(*ts)
    outs = outs if isinstance(outs, tuple) else (outs,)
    touts = touts if isinstance(touts, tuple) else (touts,)
    rng = np.random.default_rng(seed)
    loss, tloss = 0, 0
    for o, t in zip(outs, touts):
        ref = t.detach().numpy()
        assert o.shape == ref.shape and o.dtype == ref.dtype, f"{what}: {o.shape} {o.dtype} vs {ref.shape} {ref.dtype}"
        np.testing.assert_allclose(o.data, ref, err_msg=f"{what} value", **_tol(ref.dtype))
        w = np.asarray(_rand(rng, o.shape, o.dtype))
        loss = loss + npg.sum(npg.real(o * npg.tensor(w)))
        tloss = tloss + (t * torch.tensor(w)).real.sum()
    loss.backward()
    tloss.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        tg = t.grad.numpy() if t.grad is not None else np.zeros_like(arrays[i])
        assert x.grad is not None and x.grad.dtype == tg.dtype, f"{what}: grad {i} dtype"
        np.testing.assert_allclose(x.grad, tg, err_msg=f"{what} grad {i}", **_tol(tg.dtype))


def _hermitian_pd(rng, shape, dtype):
    a = _rand(rng, shape, dtype)
    return a @ np.swapaxes(a, -1, -2).conj() + shape[-1] * np.eye(shape[-1], dtype=dtype)


# ----------------------------------------------------------------------------------------- cholesky
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_the_documented_triangle(dtype, upper):
    # NumPy and PyTorch read the upper triangle when upper=True (LAPACK's 'U'), the lower one otherwise
    rng = np.random.default_rng(0)
    a = _hermitian_pd(rng, (2, 4, 4), dtype)
    a = a + (np.tril if upper else np.triu)(_rand(rng, (4, 4), dtype), -1 if upper else 1)  # noise in the unread part
    out = L.cholesky(npg.tensor(a), upper=upper)
    np.testing.assert_allclose(out.data, np.linalg.cholesky(a, upper=upper), **_tol(dtype))
    check_vs_torch(lambda x: L.cholesky(x, upper=upper), lambda x: torch.linalg.cholesky(x, upper=upper), [a],
                   what=f"cholesky upper={upper}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_and_cho_solve_read_the_named_triangle_as_scipy(dtype, lower):
    import scipy.linalg as sl
    rng = np.random.default_rng(2)
    a = _hermitian_pd(rng, (4, 4), dtype) + (np.triu if lower else np.tril)(_rand(rng, (4, 4), dtype), 1 if lower else -1)
    b = _rand(rng, (4, 2), dtype)
    c, low = L.cho_factor(npg.tensor(a), lower=lower)
    c_ref, low_ref = sl.cho_factor(a, lower=lower)
    tri = np.tril if lower else np.triu
    assert low == low_ref
    np.testing.assert_allclose(tri(c.data), tri(c_ref), **_tol(dtype))
    np.testing.assert_allclose(L.cho_solve((c, low), npg.tensor(b)).data, sl.cho_solve((c_ref, low_ref), b), **_tol(dtype))
    check_vs_torch(lambda x: L.cho_factor(x, lower=lower)[0], lambda x: torch.linalg.cholesky(x, upper=not lower),
                   [a], what="cho_factor")


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_forward_mode_and_vmap(upper):
    rng = np.random.default_rng(1)
    a = _hermitian_pd(rng, (3, 3), np.float64) + np.triu(rng.standard_normal((3, 3)), 1)
    t = rng.standard_normal((3, 3))
    _, jv = npg.func.jvp(lambda x: L.cholesky(x, upper=upper), (npg.tensor(a),), (npg.tensor(t),))
    _, tjv = torch.func.jvp(lambda x: torch.linalg.cholesky(x, upper=upper), (torch.tensor(a),), (torch.tensor(t),))
    np.testing.assert_allclose(jv.data, tjv.numpy(), rtol=1e-7, atol=1e-9)
    b = np.stack([a, _hermitian_pd(rng, (3, 3), np.float64)])
    out = npg.func.vmap(lambda x: L.cholesky(x, upper=upper))(npg.tensor(b))
    np.testing.assert_allclose(out.data, np.linalg.cholesky(b, upper=upper), rtol=1e-7, atol=1e-9)


# -------------------------------------------------------------------------------------------- norms
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (2, 0, 3)])
def test_matrix_norm_of_empty_matrices_as_numpy(ord, shape):
    # NumPy gives 0 for the max norms (initial=0) of an empty matrix and raises for a min over an empty axis
    try:
        expected = np.linalg.matrix_norm(np.zeros(shape), ord=ord)
    except ValueError:
        with pytest.raises(ValueError):
            L.matrix_norm(npg.zeros(shape), ord=ord)
        return
    x = npg.zeros(shape, requires_grad=True)
    out = L.matrix_norm(x, ord=ord)
    np.testing.assert_array_equal(out.data, expected)
    assert out.dtype == expected.dtype
    npg.sum(out).backward()
    assert x.grad.shape == shape
    np.testing.assert_array_equal(L.norm(npg.zeros(shape), ord=ord, axis=(-2, -1)).data, expected)


def test_norm_accepts_numpys_f_alias_for_frobenius():
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(L.norm(npg.tensor(a[0]), "f").data, np.linalg.norm(a[0], "f"))
    np.testing.assert_allclose(L.norm(npg.tensor(a), "f", axis=(0, 2)).data, np.linalg.norm(a, "f", axis=(0, 2)))
    np.testing.assert_allclose(L.matrix_norm(npg.tensor(a), ord="f").data, np.linalg.matrix_norm(a, ord="f"))


# --------------------------------------------------------------------------------------------- expm
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_expm_of_empty_matrices_differentiates_as_torch(shape, dtype):
    a = np.zeros(shape, dtype)
    check_vs_torch(L.expm, torch.linalg.matrix_exp, [a], what="expm empty")
    _, jv = npg.func.jvp(L.expm, (npg.tensor(a),), (npg.tensor(a),))
    assert jv.shape == shape and jv.dtype == dtype


# --------------------------------------------------------------------------------------------- LU
@pytest.mark.parametrize("a_shape,b_shape", [((0, 0), (0, 2)), ((0, 0), (0,)), ((2, 0, 0), (2, 0, 3))])
def test_lu_solve_of_empty_matrices_as_scipy(a_shape, b_shape):
    import scipy.linalg as sl
    a = npg.zeros(a_shape, requires_grad=True)
    b = npg.zeros(b_shape, requires_grad=True)
    out = L.lu_solve(L.lu_factor(a), b)
    if len(a_shape) == 2:
        expected = sl.lu_solve(sl.lu_factor(np.zeros(a_shape)), np.zeros(b_shape))
        assert out.shape == expected.shape and out.dtype == expected.dtype
    assert out.shape == b_shape
    npg.sum(out).backward()
    assert a.grad.shape == a_shape and b.grad.shape == b_shape


# ---------------------------------------------------------------------- jacrev / jacfwd of complex values
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_refuse_complex_outputs_and_inputs_as_torch_func(transform):
    # jacrev of a real -> complex fft gave only d Re(fft) / dx (and of f(z) = 1j z, -1j instead of 1j): torch.func
    # raises for both
    x = np.random.default_rng(3).standard_normal(4)
    z = x + 1j
    for fn, tfn, arg in ((npg.fft.fft, torch.fft.fft, x), (npg.fft.rfft, torch.fft.rfft, x),
                         (lambda a: 1j * a, lambda a: 1j * a, z),
                         (lambda a: npg.abs(a), lambda a: a.abs(), z)):
        with pytest.raises(RuntimeError, match="real"):
            getattr(torch.func, transform)(tfn)(torch.tensor(arg))
        with pytest.raises(RuntimeError, match=f"{transform}: Expected all (outputs|inputs) to be real"):
            getattr(npg.func, transform)(fn)(npg.tensor(arg))
    # a real loss of a real input through complex intermediates is fine, and matches torch
    got = getattr(npg.func, transform)(lambda a: npg.abs(npg.fft.fft(a, n=6)))(npg.tensor(x))
    ref = getattr(torch.func, transform)(lambda a: torch.fft.fft(a, n=6).abs())(torch.tensor(x))
    np.testing.assert_allclose(got.data, ref.numpy(), rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------------------------- eigh
@pytest.mark.parametrize("uplo", ["l", "u", "L", "U"])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_eigh_and_eigvalsh_take_uplo_in_either_case_as_numpy(uplo, requires_grad):
    a = np.random.default_rng(4).standard_normal((2, 4, 4))   # not symmetric: the triangle read matters
    x = npg.tensor(a, requires_grad=requires_grad)
    np.testing.assert_allclose(L.eigvalsh(x, UPLO=uplo).data, np.linalg.eigvalsh(a, UPLO=uplo), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L.eigh(x, UPLO=uplo).eigenvalues.data, np.linalg.eigh(a, UPLO=uplo).eigenvalues,
                               rtol=1e-10, atol=1e-12)
    for bad in ("X", "lower"):
        with pytest.raises(ValueError):
            np.linalg.eigvalsh(a, UPLO=bad)
        with pytest.raises(ValueError, match="UPLO"):
            L.eigvalsh(x, UPLO=bad)


# -------------------------------------------------------------------------------------------- lstsq
def _lstsq_case(kind, dtype):
    rng = np.random.default_rng(5)
    if kind == "full":     # singular values 1 .. 1e-3: every rcond >= 1 (LAPACK: machine precision) keeps them all
        u, v = np.linalg.qr(_rand(rng, (5, 4), dtype))[0], np.linalg.qr(_rand(rng, (4, 4), dtype))[0]
        return (u * np.array([1.0, 0.5, 0.1, 1e-3])) @ v
    return _rand(rng, (6, 2), dtype) @ _rand(rng, (2, 4), dtype)   # rank 2, two singular values ~1e-16


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("kind,rcond", [("full", 1), ("full", 1.5), ("full", 100.0), ("full", None),
                                        ("deficient", -1), ("deficient", 0), ("deficient", None)])
def test_lstsq_derivatives_keep_the_singular_values_lapack_kept(kind, rcond, dtype):
    # gelsd reads rcond <= 0 and rcond >= 1 as machine precision; the derivatives used pinv(a, rcond) as given,
    # so rcond=1 gave zero gradients and rcond=-1 on a rank-deficient matrix gradients of 1e32
    a = _lstsq_case(kind, dtype)
    b = _rand(np.random.default_rng(6), (a.shape[0], 2), dtype)
    rank = np.linalg.lstsq(a, b, rcond=rcond)[2]
    s = np.linalg.svd(a, compute_uv=False)
    rtol = 0.0 if rank == len(s) else float(np.sqrt(s[rank - 1] * s[rank]) / s[0])
    np.testing.assert_allclose(L.lstsq(npg.tensor(a), npg.tensor(b), rcond=rcond)[0].data,
                               np.linalg.lstsq(a, b, rcond=rcond)[0], rtol=1e-7, atol=1e-9)
    check_vs_torch(lambda x, y: L.lstsq(x, y, rcond=rcond)[0],
                   lambda x, y: torch.linalg.pinv(x, rtol=rtol) @ y, [a, b], what=f"lstsq rcond={rcond}")
    rng = np.random.default_rng(7)
    da, db = _rand(rng, a.shape, dtype), _rand(rng, b.shape, dtype)
    _, jv = npg.func.jvp(lambda x, y: L.lstsq(x, y, rcond=rcond)[0], (npg.tensor(a), npg.tensor(b)),
                         (npg.tensor(da), npg.tensor(db)))
    _, tjv = torch.func.jvp(lambda x, y: torch.linalg.pinv(x, rtol=rtol) @ y, (torch.tensor(a), torch.tensor(b)),
                            (torch.tensor(da), torch.tensor(db)))
    np.testing.assert_allclose(jv.data, tjv.numpy(), rtol=1e-6, atol=1e-8)
