"""In-place methods whose backward does not read the overwritten values compute straight into the tensor's
memory, with PyTorch's values and gradients: the one-argument ones whose backward reads only the result
(``x.tanh_()``, ``x.exp_()``, ``x.sigmoid_()``...: npgrad/ops/elementwise.py, unary's ``into``) and
``x.masked_fill_(mask, value)`` (npgrad/ops/shape.py)."""
import tracemalloc

import numpy as np
import pytest
import torch

import npgrad as npg

METHODS = ["neg_", "exp_", "expm1_", "sqrt_", "reciprocal_", "tan_", "tanh_", "sigmoid_", "sign_", "floor_",
           "ceil_", "trunc_", "exp2_", "rad2deg_", "deg2rad_"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", METHODS)
def test_written_into_the_tensors_memory_with_torchs_values_and_gradients(name, dtype):
    rng = np.random.default_rng(METHODS.index(name))
    x0 = rng.uniform(0.3, 1.2, (5, 4)).astype(dtype)   # (a domain every method is smooth on)
    w0 = rng.standard_normal((5, 4)).astype(dtype)
    x = npg.tensor(x0)
    h = x * 1.5
    before = h.data
    out = getattr(h, name)()
    assert out is h and h.data is before    # the same array, written in place
    tx = torch.tensor(x0, requires_grad=True)
    th = tx * 1.5
    getattr(th, name)()
    tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.data, th.detach().numpy(), **tol)
    assert h.dtype == dtype
    (h * npg.tensor(w0)).sum().backward()
    (th * torch.tensor(w0)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **tol)


@pytest.mark.parametrize("name", ["tanh_", "sigmoid_", "exp_"])
def test_a_value_saved_before_the_write_is_refused_as_in_torch(name):
    x = npg.tensor(np.linspace(0.1, 1.0, 6))
    h = x * 1.0
    y = h * h            # saves h, which the write overwrites
    getattr(h, name)()
    with pytest.raises(RuntimeError, match=f"modified by an in-place operation \\('{name}'\\)"):
        (y + h).sum().backward()
    tx = torch.tensor(np.linspace(0.1, 1.0, 6), requires_grad=True)
    th = tx * 1.0
    ty = th * th
    getattr(th, name)()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (ty + th).sum().backward()


@pytest.mark.parametrize("name", ["tanh_", "sigmoid_", "exp_", "sqrt_"])
def test_an_integer_tensor_is_refused_with_the_methods_name(name):
    t = torch.arange(3)
    with pytest.raises(RuntimeError):
        getattr(t, name)()
    with pytest.raises(TypeError, match=name):
        getattr(npg.tensor(np.arange(3)), name)()


def test_under_no_grad_and_on_a_view_of_a_leaf():
    x = npg.tensor(np.linspace(-1.0, 1.0, 8).reshape(2, 4), requires_grad=False)
    before = x.data
    with npg.no_grad():
        x.tanh_()
    assert x.data is before
    np.testing.assert_allclose(x.data, np.tanh(np.linspace(-1.0, 1.0, 8).reshape(2, 4)), rtol=1e-15)
    w = npg.tensor(np.linspace(-1.0, 1.0, 8).reshape(2, 4))
    base = w * 1.0
    base[1].sigmoid_()   # through a view: the base's gradient as torch's CopySlices gives it
    (base * base).sum().backward()
    tw = torch.tensor(np.linspace(-1.0, 1.0, 8).reshape(2, 4), requires_grad=True)
    tb = tw * 1.0
    tb[1].sigmoid_()
    (tb * tb).sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["tanh_", "sigmoid_", "exp_", "sqrt_", "neg_"])
def test_no_array_of_the_tensors_size_is_allocated(name):
    # computed into the memory: the write's peak is far below one array of the tensor's size (out of place and
    # copied in, it was one array more)
    x = npg.tensor(np.linspace(0.5, 1.5, 100_000))
    h = x * 1.0
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    getattr(h, name)()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    assert peak < h.data.nbytes / 4, (peak, h.data.nbytes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", ["number", "0-d tensor"])  # (torch takes no other value tensor)
@pytest.mark.parametrize("mask_shape", [(5, 4), (1, 4)])
def test_masked_fill_into_the_memory_with_torchs_values_and_gradients(dtype, value, mask_shape):
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((5, 4)).astype(dtype)
    m = rng.random(mask_shape) > 0.5
    v0 = -3.5 if value == "number" else np.array(2.0, dtype)
    x = npg.tensor(x0)
    v = v0 if value == "number" else npg.tensor(v0)
    h = x * 2.0
    before = h.data
    assert h.masked_fill_(npg.tensor(m), v) is h and h.data is before
    (h * h).sum().backward()
    tx = torch.tensor(x0, requires_grad=True)
    tv = v0 if value == "number" else torch.tensor(v0, requires_grad=True)
    th = tx * 2.0
    th.masked_fill_(torch.tensor(m), tv)
    (th * th).sum().backward()
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.data, th.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **tol)
    if value != "number":
        np.testing.assert_allclose(v.grad, tv.grad.numpy(), **tol)


def test_masked_fill_allocates_no_array_of_the_tensors_size_and_refuses_as_before():
    x = npg.tensor(np.linspace(-1, 1, 100_000))
    h = x * 1.0
    m = npg.tensor(np.arange(100_000) % 3 == 0)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    h.masked_fill_(m, 0.0)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    assert peak < h.data.nbytes / 4, (peak, h.data.nbytes)
    t = torch.arange(4)
    t.masked_fill_(torch.tensor([True, False, True, False]), 2.5)
    n = npg.tensor(np.arange(4))
    n.masked_fill_(npg.tensor(np.array([True, False, True, False])), 2.5)
    np.testing.assert_array_equal(n.data, t.numpy())
    with pytest.raises(TypeError, match="masked_fill: the mask must be boolean"):
        (x * 1.0).masked_fill_(npg.tensor(np.ones(100_000)), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(3,\)"):
        (x * 1.0).masked_fill_(npg.tensor(np.ones(3, bool)), 0.0)
    with pytest.raises(ValueError, match=r"where: .*shapes \(100000,\), \(3,\)"):  # (not NumPy's bare message)
        (x * 1.0).masked_fill_(m, npg.tensor(np.ones(3)))
    with pytest.raises(RuntimeError):  # (torch takes only a 0-d value tensor)
        torch.zeros(100_000).masked_fill_(torch.tensor(np.arange(100_000) % 3 == 0), torch.ones(3))
