"""gradcheck / gradgradcheck, and custom ops (npg.autograd.Function) checked with them and PyTorch."""
import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.autograd import Function, GradcheckError, gradcheck, gradgradcheck, once_differentiable
from tests.helpers import assert_close


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * grad


class WrongCube(Function):
    """Gradient off by a factor 2/3 on every element."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 2 * x ** 2 * grad


class WrongAtOneElement(Function):
    """sin, with the derivative at element (1, 2) scaled by 1.5."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return npg.sin(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        g = np.cos(x.data) * grad.data
        g[1, 2] *= 1.5
        return g


def _x(shape=(2, 3), seed=0):
    return npg.tensor(np.random.default_rng(seed).standard_normal(shape))


def test_right_function_passes():
    assert gradcheck(Cube.apply, (_x(),))
    assert gradgradcheck(Cube.apply, (_x(),))


def test_wrong_function_fails_with_worst_element():
    with pytest.raises(GradcheckError, match=r"input 0") as e:
        gradcheck(WrongCube.apply, (_x(),))
    msg = str(e.value)
    assert "analytic" in msg and "numeric" in msg and "6 mismatching" in msg
    assert gradcheck(WrongCube.apply, (_x(),), raise_exception=False) is False


def test_reports_the_one_wrong_element():
    x = _x((3, 4))
    with pytest.raises(GradcheckError) as e:
        gradcheck(WrongAtOneElement.apply, (x,))
    msg = str(e.value)
    assert "input 0 element (1, 2), output 0 element (1, 2)" in msg
    assert "1 mismatching element" in msg
    analytic = float(msg.split("analytic ")[1].split()[0])
    assert abs(analytic - 1.5 * np.cos(x.data[1, 2])) < 1e-9


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    class DetachedBackward(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 3 * npg.tensor(x.data, requires_grad=False) ** 2 * grad  # cuts the graph to x
    assert gradcheck(DetachedBackward.apply, (_x(),))
    with pytest.raises(GradcheckError):
        gradgradcheck(DetachedBackward.apply, (_x(),))


def test_gradcheck_npgrad_ops_multiple_inputs_outputs():
    a, b = _x((2, 3), 1), _x((3, 2), 2)
    assert gradcheck(lambda a, b: (npg.tanh(a @ b), npg.sum(a, axis=0) * b[:, 0]), (a, b))
    assert gradgradcheck(lambda a, b: (npg.tanh(a @ b), npg.sum(a, axis=0) * b[:, 0]), (a, b))
    # non-tensor and non-differentiable arguments pass through; float NumPy arrays are checked
    assert gradcheck(lambda x, k, c: npg.sum(x ** k, axis=1) * c, (a, 3, np.arange(2)))
    assert gradcheck(lambda x: npg.exp(x), (np.array([0.1, 0.2]),))


def test_gradcheck_input_errors_and_float32_warning():
    with pytest.raises(ValueError, match="no input"):
        gradcheck(lambda x: x * 2, (npg.tensor([1.0], requires_grad=False),))
    x32 = npg.tensor(np.array([0.5, 1.5], dtype=np.float32))
    with pytest.warns(UserWarning, match="float32"):
        gradcheck(lambda x: x * 2, (x32,), eps=1e-2, atol=1e-2, rtol=1e-2)


# ----------------------------------------------------------------------- Function itself
class TorchCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * grad


def test_function_values_grads_and_second_derivative_vs_torch():
    a = np.random.default_rng(3).standard_normal(4)
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    y, ty = Cube.apply(npg.sin(x)), TorchCube.apply(torch.sin(tx))
    assert y.grad_fn == "Cube"
    assert_close(y, ty.detach().numpy())
    g, = npg.autograd.grad(npg.sum(y), x, create_graph=True)
    tg, = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    assert_close(g, tg.detach().numpy())
    h, = npg.autograd.grad(npg.sum(g * g), x)
    th, = torch.autograd.grad((tg * tg).sum(), tx)
    assert_close(h, th.numpy())


class SumDiff(Function):
    """Two outputs, a non-tensor argument, a saved output and an intermediate."""
    @staticmethod
    def forward(ctx, a, b, scale):
        s = (a + b) * scale
        d = a - b
        ctx.save_for_backward(a, s, d * 1.0)
        ctx.scale = scale
        return s, d

    @staticmethod
    def backward(ctx, gs, gd):
        a, s, d = ctx.saved_tensors
        assert isinstance(a, npg.Tensor) and isinstance(s, npg.Tensor)
        return gs * ctx.scale + gd, gs * ctx.scale - gd, None


def test_function_two_outputs_vs_manual():
    a, b = _x((3,), 4), _x((3,), 5)
    s, d = SumDiff.apply(a, b, 2.0)
    assert_close(s, (a.data + b.data) * 2)
    npg.sum(s * s + 3 * d).backward()
    assert_close(a.grad, 2 * s.data * 2 + 3)
    assert_close(b.grad, 2 * s.data * 2 - 3)
    # only one output used: the other one's gradient is zero
    a.grad = b.grad = None
    s, d = SumDiff.apply(a, b, 2.0)
    npg.sum(d).backward()
    assert_close(a.grad, np.ones(3))
    assert_close(b.grad, -np.ones(3))
    assert gradcheck(lambda a, b: SumDiff.apply(a, b, 0.5), (a, b))


def test_backward_runs_once_per_pass_and_needs_input_grad():
    calls = []

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):
            calls.append(ctx.needs_input_grad)
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            calls.append("backward")
            return (g * b if ctx.needs_input_grad[0] else None), (g * a if ctx.needs_input_grad[1] else None)
    a, b = _x((3,), 6), _x((3,), 7)
    npg.sum(Mul.apply(a, b)).backward()
    assert calls == [(True, True), "backward"]
    assert_close(a.grad, b.data)
    assert_close(b.grad, a.data)
    c = npg.tensor(b.data, requires_grad=False)
    calls.clear()
    npg.sum(Mul.apply(a, c)).backward()
    assert calls == [(True, False), "backward"]
    with npg.no_grad():
        out = Mul.apply(a, b)
    assert not out.requires_grad


def test_function_errors():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g
    with pytest.raises(RuntimeError, match="returned 1 gradient"):
        npg.sum(TooFew.apply(_x((2,)), _x((2,)))).backward()

    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return np.ones(5)
    with pytest.raises(RuntimeError, match=r"shape \(5,\)"):
        npg.sum(BadShape.apply(_x((2,)))).backward()
    with pytest.raises(RuntimeError, match="apply"):
        Cube(_x((2,)))


def test_once_differentiable_and_mark_non_differentiable():
    class ArgmaxAndMax(Function):
        @staticmethod
        def forward(ctx, x):
            i = npg.argmax(x)
            ctx.i = int(i.item())
            ctx.n = x.shape[0]
            m = x.max() * 1.0
            ctx.mark_non_differentiable(i)
            return m, i

        @staticmethod
        @once_differentiable
        def backward(ctx, gm, gi):
            out = np.zeros(ctx.n)
            out[ctx.i] = gm.item()
            return out
    x = npg.tensor([0.5, 3.0, -1.0])
    m, i = ArgmaxAndMax.apply(x)
    assert not i.requires_grad and i.item() == 1
    m.backward()
    assert_close(x.grad, [0.0, 1.0, 0.0])


def test_function_backward_written_with_numpy_calls_is_differentiable():
    class Sin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.sin(x)           # dispatches to npgrad (forward runs under no_grad)

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return np.cos(x) * grad    # a Tensor under create_graph: differentiable
    x = _x((2, 2), 9)
    assert gradcheck(Sin.apply, (x,)) and gradgradcheck(Sin.apply, (x,))
    h = npg.func.hessian(lambda x: npg.sum(Sin.apply(x)))(x.data)
    assert_close(h.reshape(4, 4), np.diag(-np.sin(x.data).reshape(-1)))
