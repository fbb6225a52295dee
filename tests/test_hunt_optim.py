"""Regression tests from a hunt for silent wrong answers in npgrad.optim and npgrad.nn.utils, each against
PyTorch: the same gradients and the same clipping, including Tensor gradients and empty gradients."""
import math
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg


def _create_graph_grads(lib, values, dtype):
    """Leaves whose ``.grad`` is a Tensor with a graph (``backward(create_graph=True)``): 3 x**2."""
    ps = [lib.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sum((p ** 3).sum() for p in ps).backward(create_graph=True)
    return ps


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value_of_tensor_gradients_clamps_them_in_place_as_torch(dtype):
    values = [[1.0, -2.0, 0.3], [[0.5, -0.1], [1.5, 0.2]]]
    ps, tps = _create_graph_grads(npg, values, dtype), _create_graph_grads(torch, values, dtype)
    held = [p.grad for p in ps]
    npg.nn.utils.clip_grad_value_(ps, 1.0)
    torch.nn.utils.clip_grad_value_(tps, 1.0)
    for p, tp, g in zip(ps, tps, held):
        assert p.grad is g                         # in place: the same gradient Tensor, as PyTorch's clamp_
        assert p.grad.data.dtype == dtype
        np.testing.assert_array_equal(p.grad.data, tp.grad.detach().numpy())
    p = npg.tensor(np.array([5.0, -6.0, 0.5]))      # an assigned Tensor gradient
    p.grad = npg.tensor(np.array([5.0, -6.0, 0.5]))
    npg.nn.utils.clip_grad_value_(p, 2.0)
    np.testing.assert_array_equal(p.grad.data, [2.0, -2.0, 0.5])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_of_tensor_gradients_scales_them_in_place_as_torch(dtype):
    values = [[1.0, -2.0, 0.3], [[0.5, -0.1], [1.5, 0.2]]]
    ps, tps = _create_graph_grads(npg, values, dtype), _create_graph_grads(torch, values, dtype)
    held = [p.grad for p in ps]
    total = npg.nn.utils.clip_grad_norm_(ps, 1.0)
    t_total = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(total.data, t_total.detach().numpy(), rtol=tol)
    for p, tp, g in zip(ps, tps, held):
        assert p.grad is g
        assert p.grad.data.dtype == dtype
        np.testing.assert_allclose(p.grad.data, tp.grad.detach().numpy(), rtol=tol)


@pytest.mark.parametrize("norm_type", [math.inf, -math.inf, -1.0])
def test_total_norm_of_an_empty_gradient_without_identity_raises_as_torch(norm_type):
    grads = [np.zeros((0,)), np.array([1.0, -2.0])]
    with pytest.raises(RuntimeError):
        torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type)
    with pytest.raises(RuntimeError, match=f"{norm_type} norm of an empty gradient"):
        npg.nn.utils.get_total_norm(grads, norm_type)


@pytest.mark.parametrize("norm_type", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_total_norm_with_an_empty_gradient_matches_torch(norm_type):
    grads = [np.zeros((0,)), np.array([1.0, -2.0, 0.0])]
    total = npg.nn.utils.get_total_norm(grads, norm_type)
    t_total = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type)
    np.testing.assert_allclose(total.data, t_total.numpy(), rtol=1e-14)
