"""Adversarial review of the torch-named linear algebra (``npg.linalg.*_ex``, ``ldl_factor``, the older top-level
names) against torch 2.13 as the oracle."""
import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.linalg import LinAlgError

RNG = np.random.default_rng(7)


def _np(t):
    return t.detach().resolve_conj().numpy()


# ------------------------------------------------------------------------- solve_ex: info has A's batch shape
@pytest.mark.parametrize("ashape,bshape,left", [((2, 1, 3, 3), (4, 3, 2), True), ((2, 1, 3, 3), (4, 2, 3), False),
                                               ((3, 3), (4, 3, 2), True), ((1, 3, 3), (4, 3, 2), True),
                                               ((2, 1, 3, 3), (2, 5, 3, 2), True)])
def test_solve_ex_info_has_the_batch_shape_of_A(ashape, bshape, left):
    A, B = RNG.standard_normal(ashape), RNG.standard_normal(bshape)
    X, info = npg.linalg.solve_ex(npg.tensor(A), npg.tensor(B), left=left)
    Xt, it = torch.linalg.solve_ex(torch.tensor(A), torch.tensor(B), left=left)
    np.testing.assert_allclose(X.data, _np(Xt), rtol=1e-10, atol=1e-10)
    assert info.shape == tuple(it.shape) and info.dtype == np.int32


def test_solve_ex_check_errors_names_the_batch_element_of_A():
    A = RNG.standard_normal((2, 1, 3, 3))
    A[1, 0] = [[1, 2, 3], [2, 4, 6], [0, 0, 1]]
    B = RNG.standard_normal((4, 3, 2))
    _, it = torch.linalg.solve_ex(torch.tensor(A), torch.tensor(B))
    _, info = npg.linalg.solve_ex(npg.tensor(A), npg.tensor(B))
    assert info.tolist() == it.tolist()
    with pytest.raises(torch.linalg.LinAlgError, match=r"Batch element 1\)"):
        torch.linalg.solve_ex(torch.tensor(A), torch.tensor(B), check_errors=True)
    with pytest.raises(LinAlgError, match=r"solve_ex: \(Batch element 1\).*\(2, 1, 3, 3\)"):
        npg.linalg.solve_ex(npg.tensor(A), npg.tensor(B), check_errors=True)


# --------------------------------------------------------------------- the *_ex functions on 0 x 0 matrices
@pytest.mark.parametrize("name", ["cholesky_ex", "inv_ex", "lu_factor_ex"])
def test_ex_functions_on_a_batch_of_empty_matrices(name):
    A = np.zeros((2, 0, 0))
    got = getattr(npg.linalg, name)(npg.tensor(A))
    want = getattr(torch.linalg, name)(torch.tensor(A))
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape) and g.data.dtype == _np(w).dtype
        np.testing.assert_array_equal(g.data, _np(w))


def test_solve_ex_on_empty_matrices():
    A, B = np.zeros((2, 0, 0)), np.zeros((2, 0, 3))
    X, info = npg.linalg.solve_ex(npg.tensor(A), npg.tensor(B))
    Xt, it = torch.linalg.solve_ex(torch.tensor(A), torch.tensor(B))
    assert X.shape == tuple(Xt.shape) and info.shape == tuple(it.shape) and info.tolist() == it.tolist()


# ------------------------------------------------------------ ldl_factor(hermitian=True): the diagonal's real part
def test_ldl_factor_hermitian_ignores_the_imaginary_part_of_the_diagonal():
    """LAPACK's hetrf reads only the real part of A's diagonal (DBLE(A(k, k))), also of an entry it swaps in."""
    A = np.random.default_rng(5).standard_normal((3, 4, 4, 2)) @ np.array([1, 1j])   # general complex
    LD, piv = npg.linalg.ldl_factor(npg.tensor(A), hermitian=True)
    LDt, pt = torch.linalg.ldl_factor(torch.tensor(A), hermitian=True)
    assert piv.tolist() == pt.tolist()
    np.testing.assert_allclose(LD.data, _np(LDt), rtol=1e-12, atol=1e-12)
    B = RNG.standard_normal((4, 2)) + 1j * RNG.standard_normal((4, 2))
    Ah = np.tril(A) + np.swapaxes(np.tril(A, -1), -1, -2).conj()
    Ah[..., np.arange(4), np.arange(4)] = Ah[..., np.arange(4), np.arange(4)].real
    X = npg.linalg.ldl_solve(LD, piv, npg.tensor(B), hermitian=True)
    np.testing.assert_allclose(Ah @ X.data, np.broadcast_to(B, (3, 4, 2)), atol=1e-10)


# ------------------------------------------------------------------------- frobenius_norm(dim=()): all dims
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [(), []])
def test_frobenius_norm_empty_dim_reduces_everything(dim, keepdim):
    X = RNG.standard_normal((2, 3, 4))
    x, xt = npg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    y, yt = npg.frobenius_norm(x, dim, keepdim=keepdim), torch.frobenius_norm(xt, dim, keepdim=keepdim)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.data, _np(yt), rtol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad.data, _np(xt.grad), rtol=1e-12)


# ------------------------------------------------------------------------- chain_matmul: its own errors
def test_chain_matmul_mismatch_names_chain_matmul_and_the_shapes():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    with pytest.raises(RuntimeError, match=r"tensors 0 and 1 with shapes \[3, 4\] and \[3, 4\] cannot be"):
        torch.chain_matmul(torch.tensor(a), torch.tensor(b))
    with pytest.raises(ValueError, match=r"chain_matmul\(\): tensors 0 and 1 with shapes \(3, 4\) and \(3, 4\) "
                                         r"cannot be multiplied"):
        npg.chain_matmul(npg.tensor(a), npg.tensor(b))
    with pytest.raises(RuntimeError, match="Expected one or more matrices"):
        torch.chain_matmul()
    with pytest.raises(ValueError, match="Expected one or more matrices"):
        npg.chain_matmul()
    one = npg.tensor(a, requires_grad=True)
    y = npg.chain_matmul(one)
    y.sum().backward()
    assert y.data is not a and np.array_equal(y.data, a) and np.array_equal(one.grad.data, np.ones((3, 4)))
