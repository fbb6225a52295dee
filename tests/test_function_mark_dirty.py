"""Custom Functions that write into an input (``ctx.mark_dirty``), against PyTorch: the input is returned as
itself with the Function as its node, views and the version counter see the write, and leaves refuse."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close


def _mul_inplace(lib):
    class MulInplace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            ctx.x_before = x.detach().clone()
            if lib is npg:
                x.data[...] *= w.data       # a raw NumPy write: mark_dirty counts it in the version
            else:
                x.mul_(w)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            w, = ctx.saved_tensors
            return g * w, (g * ctx.x_before).sum(0)
    return MulInplace


def _run(lib, program):
    a = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    w = lib.tensor(np.array([2.0, 3.0, 4.0]), requires_grad=True)
    out = program(lib, _mul_inplace(lib), a, w)
    out.backward()
    return out.detach().numpy() if lib is torch else out.data, a.grad, w.grad


@pytest.mark.parametrize("name", ["plain", "returns_input", "through_a_view", "base_read_after_view_write",
                                  "two_outputs_of_the_graph"])
def test_mark_dirty_matches_torch(name):
    def program(lib, F, a, w):
        y = a * 1.5
        if name == "plain":
            return (F.apply(y, w) ** 2).sum()
        if name == "returns_input":
            out = F.apply(y, w)
            assert out is y
            return (y ** 2).sum()
        if name == "through_a_view":
            v = y[1:]
            F.apply(v, w)
            return (y * y).sum()                 # the base sees the write and differentiates through it
        if name == "base_read_after_view_write":
            v = y[:, 1:]
            F.apply(v, w[1:])
            return (y.exp() * a).sum() + v.sum()
        z = y.exp()                              # recorded before the write: reaches y's previous version
        F.apply(y, w)
        return (z * y).sum()
    ours, theirs = _run(npg, program), _run(torch, program)
    for o, t in zip(ours, theirs):
        assert_close(o, t.numpy() if isinstance(t, torch.Tensor) else t)


def test_mark_dirty_refuses_leaves_and_catches_saved_values_overwritten():
    for lib in (npg, torch):
        F = _mul_inplace(lib)
        a = lib.tensor(np.ones((2, 3)), requires_grad=True)
        w = lib.tensor(np.array([2.0, 3.0, 4.0]), requires_grad=True)
        with pytest.raises(RuntimeError):
            F.apply(a, w)                        # a leaf that requires grad
        y = a * 1.0
        s = y * y                                # saves y
        F.apply(y, w)
        with pytest.raises(RuntimeError):
            s.sum().backward()                   # y was modified since: both refuse


def test_mark_dirty_checks_what_forward_returns_and_marks():
    class NotReturned(npg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    class NotAnInput(npg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.mark_dirty(y)
            return y

        @staticmethod
        def backward(ctx, g):
            return g

    x = npg.tensor([1.0, 2.0]) * 1.0
    with pytest.raises(RuntimeError, match="NotReturned.*returned"):
        NotReturned.apply(x)
    with pytest.raises(RuntimeError, match="NotAnInput.*not an input"):
        NotAnInput.apply(x)


def test_mark_dirty_without_a_graph_counts_the_write_and_returns_the_input():
    F = _mul_inplace(npg)
    y = npg.tensor([[1.0, 2.0, 3.0]], requires_grad=False)
    before = y._version
    with npg.no_grad():
        out = F.apply(y, npg.tensor([2.0, 3.0, 4.0]))
    assert out is y and y._version > before
    assert_close(y.data, [[2.0, 6.0, 12.0]])


@pytest.mark.parametrize("requires_grad", [False, True])
def test_mark_dirty_in_forward_mode_gives_the_input_and_its_views_the_new_tangent(requires_grad):
    # torch.func refuses Functions without setup_context, so the oracle is the op's own derivative: d(x * w) = t * w
    fa = npg.autograd.forward_ad
    F = _mul_inplace(npg)
    x, t, w = np.arange(1.0, 7.0).reshape(2, 3), np.linspace(-1, 1, 6).reshape(2, 3), np.array([2.0, 3.0, 4.0])
    with fa.dual_level():
        y = fa.make_dual(npg.tensor(x, requires_grad=requires_grad), npg.tensor(t)) * 1.0
        v = y[1]
        assert F.apply(y, npg.tensor(w, requires_grad=False)) is y
        assert_close(fa.unpack_dual(y).primal.data, x * w)
        assert_close(fa.unpack_dual(y).tangent.data, t * w)
        assert_close(fa.unpack_dual(v).tangent.data, (t * w)[1])


def test_mark_dirty_with_a_second_output_matches_torch():
    def fn(lib):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                if lib is npg:
                    x.data[...] *= 2.0
                else:
                    x.mul_(2.0)
                ctx.mark_dirty(x)
                return x, x * 3.0

            @staticmethod
            def backward(ctx, gx, gs):
                return gx * 2.0 + gs * 6.0
        return Twice

    grads = {}
    for lib in (npg, torch):
        a = lib.tensor(np.arange(1.0, 4.0), requires_grad=True)
        y = a * 1.0
        v = y[1:]
        out, s = fn(lib).apply(y)
        assert out is y
        ((out * out).sum() + (s * 1.5).sum() + (v * v).sum()).backward()
        grads[lib] = a.grad
    assert_close(grads[npg], grads[torch].numpy())
