"""Review of the in-place writes computed into the tensor's memory (unary ``x.tanh_()``-style methods and
``x.masked_fill_``): cases where npgrad differed from PyTorch 2.13, each checked against torch."""
import numpy as np
import pytest
import torch

import npgrad as npg


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("value", ["number", "tensor"])
def test_masked_fill_into_a_complex_tensor_with_grad_is_differentiated_as_torch(dtype, value):
    # the in-place form records a "masked_fill" node, which was not declared for complex values: the write was
    # refused with a TypeError where torch (and npgrad's out-of-place masked_fill) differentiate it
    rng = np.random.default_rng(3)
    x0 = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(dtype)
    w0 = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(dtype)
    m0 = np.array([[True, False, False, True]])
    x = npg.tensor(x0, requires_grad=True)
    v = npg.tensor(np.array(0.5 - 2j, dtype), requires_grad=True) if value == "tensor" else 0.5 - 2j
    h = x * 1.0
    assert h.masked_fill_(npg.tensor(m0), v) is h
    npg.real(npg.sum(h * npg.tensor(w0))).backward()
    tx = torch.tensor(x0, requires_grad=True)
    tv = torch.tensor(np.array(0.5 - 2j, dtype), requires_grad=True) if value == "tensor" else 0.5 - 2j
    th = tx * 1.0
    th.masked_fill_(torch.tensor(m0), tv)
    (th * torch.tensor(w0)).sum().real.backward()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.complex64 else dict(rtol=1e-12, atol=1e-14)
    assert h.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(h.data, th.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **tol)
    if value == "tensor":
        np.testing.assert_allclose(v.grad, tv.grad.numpy(), **tol)
