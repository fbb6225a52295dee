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
