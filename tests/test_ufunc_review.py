"""Elementwise ops at their domain edges (NaN, infinities, zeros, ties) against PyTorch: the gradient (VJP) and the
forward-mode tangent (JVP, against torch.func.jvp) in float64 and float32, where PyTorch has a convention."""

import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from tests.helpers import assert_close

DTYPES = [np.float64, np.float32]


def _torch_vjp_jvp(fn, arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    grads = torch.autograd.grad(y.sum(), ts, allow_unused=True)
    grads = [np.zeros_like(a) if g is None else g.numpy() for a, g in zip(arrays, grads)]
    tangents = tuple(torch.tensor(np.full_like(a, 1.0 + 9.0 * i)) for i, a in enumerate(arrays))
    jv = torch.func.jvp(fn, tuple(torch.tensor(a) for a in arrays), tangents)[1].numpy()
    return y.detach().numpy(), grads, jv


def _npg_vjp_jvp(fn, arrays):
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    y.sum().backward()
    grads = [np.zeros_like(a) if x.grad is None else x.grad for a, x in zip(arrays, xs)]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(npg.tensor(a), npg.tensor(np.full_like(a, 1.0 + 9.0 * i))) for i, a in enumerate(arrays)]
        tangent = fwAD.unpack_dual(fn(*duals)).tangent
    return y.data, grads, tangent.data


def check_against_torch(npg_fn, torch_fn, *arrays, what=""):
    """Values, gradients of ``sum(out)`` and the JVP with tangents 1 (and 10 for a second input) against torch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, tgrads, tjvp = _torch_vjp_jvp(torch_fn, arrays)
        ny, ngrads, njvp = _npg_vjp_jvp(npg_fn, arrays)
    assert_close(ny, ty, what=f"{what} value", rtol=1e-6, atol=0)
    for i, (g, tg) in enumerate(zip(ngrads, tgrads)):
        assert g.dtype == arrays[i].dtype, f"{what}: grad dtype {g.dtype}"
        assert_close(g, tg, what=f"{what} grad of input {i}", rtol=1e-6, atol=0)
    assert_close(njvp, tjvp, what=f"{what} jvp", rtol=1e-6, atol=0)


def _pairs(points, dtype):
    a = np.array([p for p in points for _ in points], dtype)
    b = np.array([q for _ in points for q in points], dtype)
    return a, b


EDGE = [0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_nan_pass_the_gradient_as_torch(name, dtype):
    # a NaN operand makes the output NaN: PyTorch sends the gradient to both inputs (and the tangent of the
    # second), where npgrad sent none (a zero gradient for an input whose output is NaN)
    a, b = _pairs(EDGE, dtype)
    check_against_torch(getattr(npg, name), getattr(torch, name), a, b, what=name)
    check_against_torch(lambda x: getattr(npg, name)(x, np.nan), lambda x: getattr(torch, name)(
        x, torch.tensor(np.nan, dtype=x.dtype)), a, what=f"{name}(x, nan)")
