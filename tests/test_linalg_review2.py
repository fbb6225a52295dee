"""Adversarial review of ``npg.linalg``, round 2: size-0, batched, complex, float32, integer and degenerate
inputs; values, dtypes and errors against NumPy, gradients and forward mode against PyTorch."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

L = npg.linalg


# ------------------------------------------------------------------------------------- matrix norms
@pytest.mark.parametrize("ord", [1, -1, np.inf, -np.inf, "fro", "nuc", 2, -2])
@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.bool_])
def test_matrix_norms_of_integer_matrices_are_float64_as_numpy(ord, dtype):
    # ord 1 / -1 / inf / -inf summed |x| in the input's integer dtype: NumPy casts to float64 first
    a = (np.arange(12).reshape(2, 2, 3) % 5 - 2).astype(dtype)
    for got, ref in ((L.matrix_norm(npg.tensor(a), ord=ord), np.linalg.matrix_norm(a, ord=ord)),
                     (L.norm(npg.tensor(a[0]), ord=ord), np.linalg.norm(a[0], ord=ord)),
                     (L.norm(npg.tensor(a), ord=ord, axis=(0, 2)), np.linalg.norm(a, ord=ord, axis=(0, 2)))):
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_allclose(got.data, ref, rtol=1e-12)


# --------------------------------------------------------------------------------------------- cond
@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, np.inf, -np.inf, "fro"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_cond_of_a_batch_with_one_singular_matrix_keeps_the_others_gradients(p, dtype):
    # one singular matrix made the whole batch's cond a constant: the regular matrices' gradients were silently 0
    rng = np.random.default_rng(0)
    good = (np.eye(3) * 3 + rng.standard_normal((2, 3, 3))).astype(dtype)
    a = np.concatenate([good[:1], np.zeros((1, 3, 3), dtype), good[1:]])
    x = npg.tensor(a, requires_grad=True)
    out = L.cond(x, p)
    expected = np.linalg.cond(a, p)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10)
    assert out.dtype == expected.dtype
    w = np.array([0.7, 0.0, -1.3])
    npg.sum(npg.where(npg.tensor(np.isfinite(expected)), out, 0) * npg.tensor(w)).backward()
    t = torch.tensor(good, requires_grad=True)
    # (torch.linalg.cond's own backward fails for these p in torch 2.13 -- an in-place write to inv's output --;
    # its definition, spelled out, is the oracle)
    tc = torch.linalg.cond(t, p) if p in (None, 2, -2) else (torch.linalg.matrix_norm(t, p)
                                                             * torch.linalg.matrix_norm(torch.linalg.inv(t), p))
    (tc * torch.tensor(w[[0, 2]])).sum().backward()
    np.testing.assert_allclose(x.grad[[0, 2]], t.grad.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(x.grad[1], 0)


def test_cond_nuc_of_a_singular_matrix_raises_as_numpy():
    a = np.stack([np.eye(2), np.zeros((2, 2))])
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cond(a, "nuc")
    with pytest.raises(np.linalg.LinAlgError, match="cond"):
        L.cond(npg.tensor(a, requires_grad=True), "nuc")


# ------------------------------------------------------------------------------------------ slogdet
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_slogdet_derivatives_at_a_singular_matrix_raise_naming_slogdet(dtype):
    # logabsdet is -inf there and its gradient infinite (torch: inf / nan entries); the bare LAPACK error
    # "Singular matrix" named no op
    a = np.array([[1, 2], [2, 4]], dtype)
    assert np.linalg.slogdet(a)[1] == -np.inf
    x = npg.tensor(a, requires_grad=True)
    sign, logabs = L.slogdet(x)
    with pytest.raises(np.linalg.LinAlgError, match="slogdet"):
        logabs.backward()
    if dtype == np.complex128:
        with pytest.raises(np.linalg.LinAlgError, match="slogdet"):
            npg.real(L.slogdet(x).sign).backward()
    for out in ((0, 1) if dtype == np.complex128 else (1,)):   # (a real sign has no derivative)
        with pytest.raises(np.linalg.LinAlgError, match="slogdet"):
            npg.func.jvp(lambda m: L.slogdet(m)[out], (npg.tensor(a),), (npg.tensor(np.ones_like(a)),))


# ---------------------------------------------------------------------------------- svd hermitian=True
def _rand(rng, shape, dtype):
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_svd_hermitian_true_gives_numpys_values(dtype, requires_grad):
    # hermitian=True was ignored: NumPy reads the lower triangle only (by eigh), so a matrix that is not exactly
    # Hermitian gave other singular values, silently; and U / Vh are eigh's vectors (other signs than the general
    # SVD's) for a Hermitian matrix too
    rng = np.random.default_rng(1)
    a = _rand(rng, (2, 4, 4), dtype)
    h = a + np.swapaxes(a, -1, -2).conj()
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for m in (a, h):
        x = npg.tensor(m, requires_grad=requires_grad)
        for got, ref in zip(L.svd(x, hermitian=True), np.linalg.svd(m, hermitian=True)):
            assert got.dtype == ref.dtype
            np.testing.assert_allclose(got.data, ref, **tol)
        got, ref = L.svd(x, compute_uv=False, hermitian=True), np.linalg.svd(m, compute_uv=False, hermitian=True)
        assert got.dtype == ref.dtype
        np.testing.assert_allclose(got.data, ref, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_svd_hermitian_true_gradients_of_a_hermitian_matrix_as_torch(dtype):
    rng = np.random.default_rng(2)
    a = _rand(rng, (3, 3), dtype)
    h = a + a.T.conj()
    w = rng.standard_normal(3)
    x, t = npg.tensor(h, requires_grad=True), torch.tensor(h, requires_grad=True)
    U, S, Vh = L.svd(x, hermitian=True)
    tU, tS, tVh = torch.linalg.svd(t)
    # gauge-invariant: the singular values and the projectors U_k U_k^H
    loss = npg.sum(S * npg.tensor(w)) + npg.sum(npg.abs(U[:, :2] @ U[:, :2].conj().T * npg.tensor(a)))
    tloss = (tS * torch.tensor(w)).sum() + (tU[:, :2] @ tU[:, :2].conj().T * torch.tensor(a)).abs().sum()
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-7, atol=1e-9)
    ds = _rand(rng, (3, 3), dtype)
    ds = ds + ds.T.conj()
    _, jv = npg.func.jvp(lambda m: L.svd(m, hermitian=True).S, (npg.tensor(h),), (npg.tensor(ds),))
    _, tjv = torch.func.jvp(torch.linalg.svdvals, (torch.tensor(h),), (torch.tensor(ds),))
    np.testing.assert_allclose(jv.data, tjv.numpy(), rtol=1e-7, atol=1e-9)


# --------------------------------------------------------- vectors used with an exactly zero gradient
def _recon(lib, kind, x):
    la = npg.linalg if lib is npg else torch.linalg
    if kind == "svd":
        U, S, Vh = la.svd(x, full_matrices=False)
        return (U * S[..., None, :]) @ Vh
    if kind == "eigh":
        w, V = la.eigh(x)
        return (V * w[..., None, :]) @ V.mT if lib is torch else (V * w[..., None, :]) @ npg.linalg.matrix_transpose(V)
    w, V = la.eig(x)
    return (V * w[..., None, :]) @ la.inv(V)


@pytest.mark.parametrize("kind", ["svd", "eigh", "eig"])
def test_vectors_used_with_a_zero_gradient_are_not_taken_for_unused(kind):
    # at the zero matrix, the vectors' gradient of the reconstruction is exactly 0 (it carries a factor of the
    # values): the VJP took that for "vectors unused" and returned the values-only gradient, finite and wrong
    # (the identity for sum(A), whose gradient is all ones); PyTorch gives nan there (0 / 0: a repeated spectrum)
    a = np.zeros((2, 3, 3))
    x = npg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "eig":   # (reconstructing through inv(V) gives V a non-zero gradient): the vectors times the values
            npg.sum(npg.real(L.eig(x)[1] * L.eig(x)[0][..., None, :])).backward()
            (torch.linalg.eig(t)[1] * torch.linalg.eig(t)[0][..., None, :]).real.sum().backward()
        else:
            npg.sum(_recon(npg, kind, x)).backward()
            _recon(torch, kind, t).sum().backward()
    assert np.isnan(t.grad.numpy()).all()
    assert not np.isfinite(x.grad).any(), x.grad
    # away from degenerate spectra the reconstruction's gradient is that of sum(A)
    b = np.random.default_rng(3).standard_normal((2, 3, 3))
    b = b + np.swapaxes(b, -1, -2) if kind == "eigh" else b
    y = npg.tensor(b, requires_grad=True)
    npg.sum(npg.real(_recon(npg, kind, y))).backward()
    np.testing.assert_allclose(y.grad, np.ones_like(b), rtol=1e-8, atol=1e-8)


# ------------------------------------------------------------------------------------- matrix_power
@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.float32, np.complex64])
@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_matrix_power_keeps_numpys_dtype(dtype, n):
    # n = 1 computed a * 1: a bool matrix came back int64 (NumPy: a bool copy)
    a = np.array([[1, 0], [1, 1]]).astype(dtype)
    ref = np.linalg.matrix_power(a, n)
    for got in (L.matrix_power(npg.tensor(a), n),
                npg.func.vmap(lambda m: L.matrix_power(m, n))(npg.tensor(np.stack([a, a])))[0]):
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got.data, ref)
    if dtype in (np.float32, np.complex64):
        x = npg.tensor(a, requires_grad=True)
        out = L.matrix_power(x, n)
        assert out is not x
        npg.sum(npg.real(out)).backward()
        t = torch.tensor(a, requires_grad=True)
        torch.linalg.matrix_power(t, n).real.sum().backward()
        np.testing.assert_allclose(x.grad, t.grad.resolve_conj().numpy(), rtol=1e-6)
