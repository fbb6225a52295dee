"""A custom Function with several outputs whose backward reads saved outputs, differentiated twice: the
second-order gradient that flows through a saved output reaches that output's hooks and retained .grad, as
in PyTorch (the outputs are views of one packed node: autograd/function.py's _output_view)."""
import numpy as np
import pytest
import torch

import npgrad as npg


def _function(lib):
    class TwoOut(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x * 2, x * x * x
            ctx.save_for_backward(x, a, b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            x, a, b = ctx.saved_tensors
            return ga * a / x + gb * 3 * b / x
    return TwoOut


def _run(lib, x0, dtype, retain):
    if lib is torch:
        x = torch.tensor(x0.astype(dtype), requires_grad=True)
    else:
        x = npg.tensor(x0.astype(dtype))
    a, b = _function(lib).apply(x)
    seen = {"a": [], "b": []}
    for name, t in (("a", a), ("b", b)):
        if retain:
            t.retain_grad()
        else:
            t.register_hook(lambda g, name=name: seen[name].append(
                g.detach().numpy().copy() if lib is torch else np.array(g.data)))
    (gx,) = lib.autograd.grad((a * a + b).sum(), x, create_graph=True)
    (gx * gx).sum().backward()
    grads = [np.asarray(x.grad)]
    if retain:
        grads += [np.asarray(a.grad), np.asarray(b.grad)]
    else:
        grads += [np.stack(seen["a"]), np.stack(seen["b"])]
    return grads


@pytest.mark.parametrize("retain", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_second_order_gradient_reaches_saved_outputs(retain, dtype):
    x0 = np.array([1.5, -0.7, 2.0])
    ours = _run(npg, x0, dtype, retain)
    theirs = _run(torch, x0, dtype, retain)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_saved_output_written_in_place_is_refused():
    x = npg.tensor([1.5, -0.7])
    a, b = _function(npg).apply(x)
    b.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        npg.autograd.grad((a * a + b).sum(), x, create_graph=True)
    tx = torch.tensor([1.5, -0.7], dtype=torch.float64, requires_grad=True)
    ta, tb = _function(torch).apply(tx)
    tb.mul_(2)
    with pytest.raises(RuntimeError, match="inplace"):
        torch.autograd.grad((ta * ta + tb).sum(), tx, create_graph=True)
