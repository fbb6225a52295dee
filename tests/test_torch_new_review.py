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


@pytest.mark.parametrize("via", ["module", "optimizer"])
def test_zero_grad_set_to_none_false_zeros_in_place(via):
    # zero_grad(set_to_none=False) replaced .grad by a new array: a reference taken to it (as DDP-like code
    # keeps) went stale, holding the old gradient through the next backward
    w = np.random.default_rng(0).standard_normal((2, 3))
    def run(lib):
        if lib is torch:
            m = torch.nn.Linear(3, 2, dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(torch.tensor(w))
                m.bias.zero_()
            x = torch.ones(4, 3, dtype=torch.float64)
        else:
            m = npg.nn.Linear(3, 2)
            m.weight.data[...] = w
            m.bias.data[...] = 0
            x = npg.tensor(np.ones((4, 3)), requires_grad=False)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        m(x).sum().backward()
        ref = m.weight.grad
        (m if via == "module" else opt).zero_grad(set_to_none=False)
        zeroed = np.array(ref).copy()
        (m(x) ** 2).sum().backward()
        return zeroed, np.array(ref), np.array(m.weight.grad)
    for g, e in zip(run(npg), run(torch)):
        assert_close(g, e)


def _np(t):
    return None if t is None else np.array(t.detach() if isinstance(t, torch.Tensor) else t.data)


def test_grad_skips_a_node_off_the_paths_whose_saved_input_was_overwritten():
    # the path pre-pass checked every node's saved values: a node off the paths to the inputs, which PyTorch
    # never runs, made grad() fall back to the whole graph and raise there
    def run(lib, T):
        x = T(np.array([1.0, 2.0, 3.0]))
        y = x * 1
        a = y * y  # saves y
        y.mul_(3)
        grad = torch.autograd.grad if lib is torch else npg.autograd.grad
        return [_np(g) for g in grad((a + y).sum(), [y])]

    expected = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    got = run(npg, lambda a: npg.tensor(a, requires_grad=True))
    assert_close(got[0], expected[0])
    # on the paths, it still raises
    x = npg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1
    a = y * y
    y.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        npg.autograd.grad((a + y).sum(), [x])
