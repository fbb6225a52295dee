"""The API around the graph (torch.func transforms, module state) at sizes the old code could not reach in
reasonable time: the size itself is the test (no timing is asserted), values and gradients against PyTorch.

found: vmap of ``W @ x`` with only ``x`` batched (every jacfwd / hessian through a matrix product: the basis
tangents are the batch) ran np.matmul's broadcast of ``W`` over B matrix-vector products, not one GEMM (jacfwd of
tanh(W @ x) at n = 1,000: 0.06-8 s, as B matrix-vector products reread W from memory under
cache contention, torch 25-60 ms; now one GEMM, 65-80 ms)."""
import numpy as np
import pytest

import npgrad as npg
from npgrad import func as nf
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

RNG = np.random.RandomState(19)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def test_jacfwd_through_a_matrix_product_at_n_1500():
    """The Jacobian of tanh(W @ x), 1,500 x 1,500 (float32) by forward mode, against torch.func.jacfwd. Before
    the fix: 0.15-3 s (B = 1,500 matrix-vector products: how long depends on the cache), now one GEMM."""
    n, dt = 1500, np.float32
    w, x = (RNG.standard_normal((n, n)) / n ** 0.5).astype(dt), RNG.standard_normal(n).astype(dt)
    W, tW = npg.tensor(w), torch.tensor(w)
    J = nf.jacfwd(lambda v: npg.tanh(W @ v))(npg.tensor(x))
    tJ = torch.func.jacfwd(lambda v: torch.tanh(tW @ v))(torch.tensor(x))
    assert J.dtype == dt
    np.testing.assert_allclose(J.data, tJ.numpy(), **TOL[dt])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("xshape,wshape", [((5, 4), (3, 4)), ((5, 4, 2), (3, 4)), ((5, 2, 4, 2), (3, 4))])
def test_vmap_of_a_shared_matrix_times_batched_operand(dt, xshape, wshape):
    """``W @ x`` under vmap with only x batched (x a vector, a matrix, a stack): values, the gradients of W and x
    through the vmapped function, and the same inside an outer vmap over W (nested levels), against torch."""
    w, x = RNG.standard_normal(wshape).astype(dt), RNG.standard_normal(xshape).astype(dt)
    W, X = npg.tensor(w, requires_grad=True), npg.tensor(x, requires_grad=True)
    tW, tX = torch.tensor(w, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = nf.vmap(lambda v: W @ v)(X), torch.func.vmap(lambda v: tW @ v)(tX)
    assert y.dtype == dt and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[dt])
    g = RNG.standard_normal(y.shape).astype(dt)
    y.backward(npg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(W.grad, tW.grad.numpy(), **TOL[dt])
    np.testing.assert_allclose(X.grad, tX.grad.numpy(), **TOL[dt])
    ws = RNG.standard_normal((2,) + wshape).astype(dt)
    yy = nf.vmap(lambda m: nf.vmap(lambda v: m @ v)(X))(npg.tensor(ws))
    tyy = torch.func.vmap(lambda m: torch.func.vmap(lambda v: m @ v)(tX))(torch.tensor(ws))
    np.testing.assert_allclose(yy.data, tyy.detach().numpy(), **TOL[dt])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_jacfwd_and_hessian_through_a_matrix_product(dt):
    """Small sizes, float32 and float64: jacfwd of W @ x and the Hessian of sum(tanh(W @ x)^2) (jacfwd over
    jacrev) against torch.func's."""
    w, x = RNG.standard_normal((6, 5)).astype(dt), RNG.standard_normal(5).astype(dt)
    W, tW = npg.tensor(w), torch.tensor(w)
    np.testing.assert_allclose(nf.jacfwd(lambda v: W @ v)(npg.tensor(x)).data,
                               torch.func.jacfwd(lambda v: tW @ v)(torch.tensor(x)).numpy(), **TOL[dt])
    H = nf.hessian(lambda v: (npg.tanh(W @ v) ** 2).sum())(npg.tensor(x))
    tH = torch.func.hessian(lambda v: (torch.tanh(tW @ v) ** 2).sum())(torch.tensor(x))
    assert H.dtype == dt
    np.testing.assert_allclose(H.data, tH.numpy(), **TOL[dt])
