"""Graph control: register_hook (leaves and non-leaves, replacement gradients), retain_grad,
detach, requires_grad_, grad w.r.t. non-leaf tensors, and thread-local grad mode."""
import threading

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close


def test_hook_gets_a_tensor_and_can_replace_the_gradient_vs_torch():
    a = np.array([0.5, -1.0, 2.0])
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    seen = []

    def hook(g):
        seen.append(g)
        return g * 3
    y = npg.tanh(x)
    ty = torch.tanh(tx)
    y.register_hook(hook)
    ty.register_hook(lambda g: g * 3)
    x.register_hook(lambda g: g + 1)
    tx.register_hook(lambda g: g + 1)
    npg.sum(y * y).backward()
    (ty * ty).sum().backward()
    assert isinstance(seen[0], npg.Tensor) and not seen[0].requires_grad
    assert_close(seen[0], 2 * np.tanh(a))
    assert_close(x.grad, tx.grad.numpy())


def test_hooks_run_in_order_and_none_keeps_the_gradient():
    x = npg.tensor([1.0, 2.0])
    order = []
    x.register_hook(lambda g: order.append("a"))          # returns None: gradient unchanged
    x.register_hook(lambda g: (order.append("b"), g * 10)[1])
    npg.sum(x * 2).backward()
    assert order == ["a", "b"]
    assert_close(x.grad, [20.0, 20.0])


def test_hook_on_a_shared_intermediate_sees_the_total_gradient():
    x = npg.tensor([1.0, 2.0])
    y = x * 3
    got = []
    y.register_hook(lambda g: got.append(g.data.copy()))
    npg.sum(y * 2 + y * y).backward()     # y used twice: the hook fires once, with the sum
    assert len(got) == 1
    assert_close(got[0], 2 + 2 * y.data)


def test_hook_with_create_graph_gets_a_differentiable_tensor():
    x = npg.tensor([0.3, 0.7])
    y = npg.sin(x)
    y.register_hook(lambda g: g * npg.cos(x))   # the replacement involves x itself
    g, = npg.autograd.grad(npg.sum(y), x, create_graph=True)
    assert_close(g, np.cos(x.data) ** 2)
    h, = npg.autograd.grad(npg.sum(g), x)
    assert_close(h, -2 * np.cos(x.data) * np.sin(x.data))


def test_hook_returning_a_wrong_shape_is_an_error():
    x = npg.tensor([1.0, 2.0])
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        npg.sum(x * 2).backward()


def test_register_hook_on_tensor_without_grad_refuses():
    with pytest.raises(RuntimeError):
        npg.tensor([1.0], requires_grad=False).register_hook(lambda g: g)


def test_retain_grad_vs_torch():
    a = np.array([[0.5, -1.0], [2.0, 0.1]])
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    y, ty = x @ x, tx @ tx
    z, tz = npg.exp(y), torch.exp(ty)
    y.retain_grad()
    ty.retain_grad()
    with pytest.warns(UserWarning, match="not a leaf"):   # (PyTorch warns too)
        assert z.grad is None
    npg.sum(z).backward()
    tz.sum().backward()
    assert_close(y.grad, ty.grad.numpy())
    with pytest.warns(UserWarning, match="not a leaf"):
        assert z.grad is None        # not retained: freed
    assert_close(x.grad, tx.grad.numpy())


def test_retain_grad_after_hook_sees_the_replacement():
    x = npg.tensor([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 5)
    y.retain_grad()
    npg.sum(y).backward()
    assert_close(y.grad, [5.0, 5.0])
    assert_close(x.grad, [10.0, 10.0])


def test_grad_with_respect_to_a_non_leaf():
    x = npg.tensor([1.0, -2.0])
    y = x * 3
    z = npg.sum(y * y)
    gy, gx = npg.autograd.grad(z, [y, x], retain_graph=True)
    assert_close(gy, 2 * y.data)
    assert_close(gx, 6 * y.data)
    z.backward(inputs=[y])
    assert_close(y.grad, 2 * y.data)
    assert x.grad is None


def test_detach_and_requires_grad_():
    x = npg.tensor([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    y = npg.sum(x * d)
    y.backward()
    assert_close(x.grad, x.data)    # d is a constant
    c = npg.tensor([3.0], requires_grad=False)
    assert c.requires_grad_() is c and c.requires_grad
    npg.sum(c * c).backward()
    assert_close(c.grad, [6.0])
    with pytest.raises(RuntimeError):
        npg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError):
        (x * 2).requires_grad_(False)


def test_grad_mode_is_thread_local():
    x = npg.tensor([1.0, 2.0])
    started, release = threading.Event(), threading.Event()
    results = {}

    def in_no_grad():
        with npg.no_grad():
            started.set()
            release.wait(5)
            results["other"] = (x * 2).requires_grad
            results["other_mode"] = npg.is_grad_enabled()

    t = threading.Thread(target=in_no_grad)
    t.start()
    started.wait(5)
    results["main_mode"] = npg.is_grad_enabled()   # the other thread is inside no_grad now
    results["main"] = (x * 2).requires_grad
    release.set()
    t.join()
    assert results == {"main_mode": True, "main": True, "other": False, "other_mode": False}


def test_set_grad_enabled_and_enable_grad_inside_no_grad():
    x = npg.tensor([1.0])
    with npg.no_grad():
        assert not (x * 2).requires_grad
        with npg.enable_grad():
            assert (x * 2).requires_grad
    with npg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
