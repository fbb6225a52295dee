"""Accumulation into a ``.grad`` that is a Tensor (assigned by the user, or left by ``backward(create_graph=True)``),
against PyTorch's AccumulateGrad: backward adds into it in place, so a reference to it stays current, and no two
leaves (nor a leaf and the seed a user passed) share one gradient Tensor."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # (create_graph=True into .grad warns in both)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_assigned_tensor_grad_is_added_into(dtype):
    x0 = np.array([1.0, -2.0, 0.5], dtype=dtype)
    x = npg.tensor(x0)
    x.grad = npg.tensor(np.full(3, 0.25, dtype=dtype), requires_grad=False)
    held = x.grad
    (x * x).sum().backward()
    (x * 3).sum().backward()
    tx = torch.tensor(x0, requires_grad=True)
    tx.grad = torch.full((3,), 0.25, dtype=tx.dtype)
    theld = tx.grad
    (tx * tx).sum().backward()
    (tx * 3).sum().backward()
    assert x.grad is held and tx.grad is theld
    np.testing.assert_allclose(held.data, theld.numpy(), rtol=1e-6)
    assert held.data.dtype == dtype


def test_leaves_of_one_gradient_do_not_share_it():
    x, y = npg.tensor([1.0, 2.0]), npg.tensor([3.0, 4.0])
    (x + y).sum().backward(create_graph=True)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ty = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    (tx + ty).sum().backward(create_graph=True)
    held, theld = x.grad, tx.grad
    (x * 3).sum().backward()
    (tx * 3).sum().backward()
    assert x.grad is held and tx.grad is theld
    np.testing.assert_allclose(held.data, theld.numpy())
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy())   # y's own gradient: not changed by x's


@pytest.mark.parametrize("through_op", [False, True])
def test_seed_is_not_changed_by_a_later_pass(through_op):
    v0 = np.array([1.0, 2.0])
    v, tv = npg.tensor(v0, requires_grad=False), torch.tensor(v0)
    x = npg.tensor([5.0, 6.0])
    tx = torch.tensor([5.0, 6.0], dtype=torch.float64, requires_grad=True)
    (x * 1 if through_op else x).backward(v, create_graph=True)
    (tx * 1 if through_op else tx).backward(tv, create_graph=True)
    x.sum().backward()
    tx.sum().backward()
    np.testing.assert_allclose(v.data, tv.numpy())
    np.testing.assert_allclose(v.data, v0)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


def test_create_graph_grad_still_differentiable():
    x0 = np.array([0.3, -1.2])
    x = npg.tensor(x0)
    (x ** 3).sum().backward(create_graph=True)
    (hx,) = npg.autograd.grad(x.grad.sum(), x)
    tx = torch.tensor(x0, requires_grad=True)
    (tx ** 3).sum().backward(create_graph=True)
    (thx,) = torch.autograd.grad(tx.grad.sum(), tx)
    np.testing.assert_allclose(np.asarray(hx.data if isinstance(hx, npg.Tensor) else hx), thx.numpy())


def test_write_into_a_saved_grad_is_caught():
    x = npg.tensor([1.0, 2.0])
    (x * x).sum().backward(create_graph=True)
    g = x.grad
    z = (g * g).sum()          # saves g's values
    (x * 3).sum().backward()   # adds into g in place, as PyTorch
    with pytest.raises(RuntimeError, match="modified by an in-place|in-place"):
        z.backward()
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (tx * tx).sum().backward(create_graph=True)
    tz = (tx.grad * tx.grad).sum()
    (tx * 3).sum().backward()
    with pytest.raises(RuntimeError, match="inplace"):
        tz.backward()


def test_readonly_tensor_grad_is_replaced():
    data = np.zeros(2)
    data.flags.writeable = False
    x = npg.tensor([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.grad = npg.tensor(data, requires_grad=False)
    (x * 2).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad.data if isinstance(x.grad, npg.Tensor) else x.grad), [2.0, 2.0])
    np.testing.assert_allclose(data, [0.0, 0.0])
