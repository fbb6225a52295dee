"""Adversarial review of the autograd and nn.utils features added together (path pruning, in-place .grad
accumulation, mark_dirty, MHA, prune, fusion, orthogonal, hook-based norms), against PyTorch."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()


def test_hook_returning_another_tensor_is_not_aliased_by_grad():
    # the hook's tensor became x.grad itself, and the next backward added into it in place
    w = npg.tensor(np.full(3, 5.0), requires_grad=False)
    x = npg.tensor(np.arange(3.0), requires_grad=True)
    x.register_hook(lambda g: w)
    for _ in range(2):
        (x * 2).sum().backward()
    assert_close(w, np.full(3, 5.0))
    assert_close(x.grad, np.full(3, 10.0))


def test_hook_on_non_leaf_returning_another_tensor_is_not_aliased_by_grad():
    w = npg.tensor(np.full(3, 5.0), requires_grad=False)
    x = npg.tensor(np.arange(3.0), requires_grad=True)
    for _ in range(2):
        y = x + 1.0
        y.register_hook(lambda g: w)
        (y * 2).sum().backward()
    assert_close(w, np.full(3, 5.0))
    assert_close(x.grad, np.full(3, 10.0))


def test_function_backward_returning_a_saved_tensor_is_not_aliased_by_grad():
    class F(npg.autograd.Function):
        @staticmethod
        def forward(ctx, a, c):
            ctx.save_for_backward(c)
            return a * 1

        @staticmethod
        def backward(ctx, g):
            c, = ctx.saved_tensors
            return c, None

    c = npg.tensor(np.full(3, 7.0), requires_grad=False)
    a = npg.tensor(np.zeros(3), requires_grad=True)
    for _ in range(2):
        F.apply(a, c).sum().backward()
    assert_close(c, np.full(3, 7.0))
    assert_close(a.grad, np.full(3, 14.0))


def test_grad_of_a_retained_non_leaf_is_not_its_grad_array():
    # grad() stored the returned gradient itself as y.grad: the next backward added into the returned one
    def run(lib, T):
        x = T(np.arange(3.0) + 1)
        y = x * 2
        y.retain_grad()
        grad = torch.autograd.grad if lib is torch else npg.autograd.grad
        r, = grad((y * y).sum(), y, retain_graph=True)
        (y * y).sum().backward()
        return np.array(r.detach() if lib is torch else r.data), np.array(y.grad)

    expected = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    got = run(npg, lambda a: npg.tensor(a, requires_grad=True))
    for g, e in zip(got, expected):
        assert_close(g, e)
