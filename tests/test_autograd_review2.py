"""Autograd machinery against PyTorch, round 2: custom Functions' gradient counts and keyword arguments, grad()'s
options, detach_().

Each test runs the same program in npgrad and in PyTorch (float64) and compares what they do."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close

X = np.array([1.0, 2.0, 3.0])


def _function(lib, backward):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return backward(g)
    return Double


def test_function_backward_may_return_extra_trailing_nones_as_torch():
    """torch accepts a backward returning more gradients than inputs when the extra ones are None (and raises
    when one is not); npgrad raised for the Nones too."""
    for extra, ok in [((None,), True), ((None, None), True), ((1.0,), False)]:
        results = []
        for lib, make in [(npg, npg.tensor), (torch, torch.tensor)]:
            x = make(X.copy(), requires_grad=True)
            F = _function(lib, lambda g: (g * 2,) + extra)
            if ok:
                F.apply(x).sum().backward()
                results.append(np.asarray(x.grad))
            else:
                with pytest.raises(RuntimeError, match="incorrect number of gradients"):
                    F.apply(x).sum().backward()
        if ok:
            assert_close(results[0], results[1])


def _mul(lib):
    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y=None, scale=2.0):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return x * y * scale

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y * ctx.scale, g * x * ctx.scale, None
    return Mul


@pytest.mark.parametrize("call", [lambda F, x, y: F.apply(x, y=y), lambda F, x, y: F.apply(y=y, x=x),
                                  lambda F, x, y: F.apply(x, y, scale=3.0)])
def test_function_tensors_given_by_keyword_are_inputs_as_torch(call):
    """torch binds apply()'s keyword arguments to forward's parameters, so a Tensor given by keyword is an input
    and gets its gradient. npgrad passed it to forward as a constant: the output did not require grad (x given
    by keyword) or the backward's gradient count no longer matched."""
    Y = np.array([4.0, 5.0, 6.0])
    out = []
    for lib in (npg, torch):
        x, y = lib.tensor(X.copy(), requires_grad=True), lib.tensor(Y.copy(), requires_grad=True)
        z = call(_mul(lib), x, y)
        assert z.requires_grad
        z.sum().backward()
        out.append((np.asarray(z.detach()), np.asarray(x.grad), np.asarray(y.grad)))
    for a, b in zip(*out):
        assert_close(a, b)


def test_function_keyword_that_is_not_a_parameter_raises_as_torch():
    for lib in (npg, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        with pytest.raises(TypeError, match="bogus"):
            _mul(lib).apply(x, x, bogus=1)


def test_function_keyword_only_tensor_that_requires_grad_raises():
    """torch refuses keyword-only arguments; npgrad passes plain values through but refuses a Tensor that requires
    grad there (it would silently get no gradient)."""
    class K(npg.autograd.Function):
        @staticmethod
        def forward(ctx, x, *, w):
            return x * w

        @staticmethod
        def backward(ctx, g):
            return g
    x = npg.tensor(X.copy(), requires_grad=True)
    assert_close(K.apply(x, w=2.0).data, 2 * X)
    with pytest.raises(TypeError, match="K.apply: keyword argument 'w'"):
        K.apply(x, w=npg.tensor(X.copy(), requires_grad=True))


def test_grad_with_no_inputs_raises_as_torch():
    """torch.autograd.grad(y, []) raises; npgrad returned () (an empty result where a gradient was expected)."""
    for lib in (npg, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        with pytest.raises(RuntimeError, match="cannot be empty"):
            lib.autograd.grad((x * 2).sum(), [])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_is_grads_batched_as_torch(dtype):
    """grad(..., is_grads_batched=True): the first dimension of each grad_output is a batch of vectors, one
    vector-Jacobian product each (torch's keyword; npgrad did not have it)."""
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=dtype)
    V = np.arange(8, dtype=dtype).reshape(4, 2) / 3
    W = np.linspace(-1, 1, 4, dtype=dtype)
    res = []
    for lib in (npg, torch):
        x = lib.tensor(X.astype(dtype), requires_grad=True)
        a = lib.tensor(A)
        y1 = lib.sin(a @ x)
        y2 = (x ** 2).sum()
        gx, = lib.autograd.grad([y1, y2], x, grad_outputs=[lib.tensor(V), lib.tensor(W)], is_grads_batched=True,
                                create_graph=True)
        assert gx.shape == (4, 3)
        hx, = lib.autograd.grad(gx.sum(), x)
        res.append((gx.detach(), hx))
    for a, b in zip(*res):
        assert a.dtype == np.dtype(dtype)
        assert_close(np.asarray(a), b.numpy(), rtol=1e-5)


def _not_reentrant(lib):
    class Drift(lib.autograd.Function):
        calls = [0]

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):  # a gradient that changes from one backward call to the next
            Drift.calls[0] += 1
            return g * (2 + 1e-4 * Drift.calls[0])
    return Drift


def test_gradcheck_takes_torchs_nondet_tol_and_fast_mode():
    """gradcheck(nondet_tol=, fast_mode=) were TypeErrors. torch also checks that backward is reentrant (two
    calls on the same gradient agree within nondet_tol): a backward that drifts fails with nondet_tol=0 and
    passes with a tolerance that covers the drift."""
    for lib in (npg, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        assert lib.autograd.gradcheck(lambda a: a * 2, (x,), eps=1e-6, atol=1e-5, nondet_tol=0.0, fast_mode=True)
        assert lib.autograd.gradgradcheck(lambda a: a ** 3, (x,), nondet_tol=1e-12, fast_mode=True)
        assert not lib.autograd.gradcheck(_not_reentrant(lib).apply, (x,), raise_exception=False)
        assert lib.autograd.gradcheck(_not_reentrant(lib).apply, (x,), atol=1e-2, nondet_tol=1e-1)
        with pytest.raises(Exception, match="not reentrant"):
            lib.autograd.gradcheck(_not_reentrant(lib).apply, (x,), atol=1e-2)
