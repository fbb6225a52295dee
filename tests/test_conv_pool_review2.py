"""Convolution and pooling review, round 2: divergences from PyTorch 2.13 found by adversarial probing
(values and gradients compared against torch.nn.functional / torch.nn)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg

F = npg.nn.functional
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _check(npg_fn, torch_fn, arrays, dtype):
    """Value (shape, dtype) and the gradient of sum(out * v) of every argument, against torch."""
    arrays = [np.asarray(a, dtype) for a in arrays]
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(tout.shape)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **TOL[dtype])
    v = _rand(out.shape, 7, dtype)
    npg.sum(out * npg.tensor(v)).backward()
    (tout * torch.tensor(v)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), **TOL[dtype])


# ---------------------------------------------------------------- lp_pool with norm_type = +-inf
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [float("inf"), -float("inf")])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_lp_pool_infinite_norm_is_max_of_abs(nd, p, dtype):
    # torch: p = inf is max_pool(|x|), p = -inf is -max_pool(-|x|) (min of |x|); x ** inf then ** (1/inf)
    # gave 1 everywhere
    fn, tfn = getattr(F, f"lp_pool{nd}d"), getattr(TF, f"lp_pool{nd}d")
    x = _rand((2, 2) + (5,) * nd, nd)
    _check(lambda a: fn(a, p, 2, None, True), lambda a: tfn(a, p, 2, None, True), [x], dtype)
    _check(lambda a: fn(a, p, 3, 1), lambda a: tfn(a, p, 3, 1), [x], dtype)
