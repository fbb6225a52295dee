"""Review of the freeing of outputs no backward reads (npgrad/_freeing.py): cases where it freed, or where the
in-place checks of npgrad/autograd/versions.py judged, a node by a built-in op's declaration it does not follow.
PyTorch is the oracle."""
import numpy as np
import pytest
import torch

import npgrad as npg


@pytest.fixture(autouse=True)
def free_all(free_min):
    """Every output that no backward reads is freed, whatever its size (the suite's setting, made explicit)."""
    free_min(0)


def _saves_output(lib, name):
    """A Function named ``name`` computing exp(x) whose backward reads its saved output, as PyTorch's docs' Exp."""
    def forward(ctx, x):
        y = lib.exp(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y
    base = npg.autograd.Function if lib is npg else torch.autograd.Function
    return type(name, (base,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _saves_input(lib, name):
    """A Function named ``name`` computing x * x whose backward reads its saved input."""
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2 * g * x
    base = npg.autograd.Function if lib is npg else torch.autograd.Function
    return type(name, (base,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


# names of built-in ops whose VJPs read no output (versions.reads) and a name no op has
NAMES = ["add", "linear", "sum", "copy", "checkpoint", "Exp"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_function_named_as_a_builtin_op_keeps_the_output_its_backward_reads(name, dtype):
    # The Function's output is held only by the graph (``+ 0.0``'s inputs), the case that frees a built-in
    # op's output of that name; its backward reads it.
    x0 = np.array([[0.1, 0.5, -0.3], [1.2, -0.7, 0.0]], dtype)
    w = np.array([[1.0, -2.0, 0.5], [0.3, 3.0, -1.0]], dtype)
    x, c = npg.tensor(x0), npg.tensor(np.zeros((), dtype))
    ((_saves_output(npg, name).apply(x + c) + 0.0) * npg.tensor(w)).sum().backward()
    tx = torch.tensor(x0, requires_grad=True)
    ((_saves_output(torch, name).apply(tx + 0) + 0.0) * torch.tensor(w)).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["add", "sum", "Square"])
def test_a_function_named_as_a_builtin_op_refuses_a_saved_input_modified_in_place(name):
    # PyTorch refuses the backward: the saved input was overwritten. The declaration of the built-in op of the
    # same name (its VJPs read nothing) must not make npgrad use the new values silently.
    x0 = np.array([0.1, 0.5, -0.3])
    tx = torch.tensor(x0, requires_grad=True)
    th = tx * 1.0
    ty = _saves_input(torch, name).apply(th)
    th.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()
    x = npg.tensor(x0)
    h = x * 1.0
    y = _saves_input(npg, name).apply(h)
    h.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_intermediate_reached_by_a_weakref_proxy_is_recorded_on_and_keeps_its_values(dtype):
    # A weakref.proxy has no __callback__ of its own (reading it reads the tensor's): the check of which weak
    # references are the freeing's own raised AttributeError while the next op was recorded. (In PyTorch the
    # graph does not keep p's Python object, so its proxy dies with the name; npgrad's graph keeps it alive, and
    # a proxy that still reaches it must read its values.)
    import weakref
    x0 = np.array([1.0, -2.0, 0.5], dtype)
    x = npg.tensor(x0)
    p = x * 2.0 + 0.5
    proxy = weakref.proxy(p)
    y = npg.sin(p + 1.0)
    del p
    z = (y * 3.0).sum()
    np.testing.assert_array_equal(np.asarray(proxy.data), x0 * dtype(2.0) + dtype(0.5))
    z.backward()
    tx = torch.tensor(x0, requires_grad=True)
    (torch.sin(tx * 2.0 + 0.5 + 1.0) * 3.0).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6)
