"""Adversarial differential review of the recurrent, attention, convolution and pooling layers against PyTorch:
outputs and gradients (inputs and parameters) in float32 and float64 for the less common configurations, plus
a few under vmap (against a loop) and forward mode (against torch.func.jvp)."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}


def _flat(o):
    if isinstance(o, (tuple, list)):
        return [y for x in o for y in _flat(x)]
    return [] if o is None else [o]


def differential(npg_fn, torch_fn, inputs, dtype, seed=0):
    """Same outputs and same input gradients of ``sum(out * w)`` (random ``w``) for npgrad and torch."""
    inputs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in inputs]
    xs = [npg.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    outs, touts = _flat(npg_fn(*xs)), _flat(torch_fn(*ts))
    assert len(outs) == len(touts)
    rng = np.random.default_rng(seed)
    loss, tloss = 0, 0
    for o, t in zip(outs, touts):
        assert_close(o, t.detach().numpy(), what="output")
        if t.requires_grad:
            w = rng.standard_normal(t.shape).astype(dtype)
            loss = loss + npg.sum(o * npg.tensor(w))
            tloss = tloss + (t * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is not None:
            assert x.grad is not None, f"input {i}: npgrad gives no gradient, PyTorch does"
            assert_close(x.grad, t.grad.numpy(), what=f"gradient of input {i}")


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2, 3, 1.5])
def test_lp_pool_gradient_on_zero_windows(dtype, p):
    """A window of zeros (say after a ReLU) has PyTorch gradient 0; ``relu``'s backward got ``inf * 0 = nan``."""
    x = rnd(2, 3, 8)
    x[0, 0, :4] = 0
    x[1, 2, 2:6] = 0
    differential(lambda x: F.lp_pool1d(x, p, 2), lambda x: TF.lp_pool1d(x, p, 2), [x], dtype)
    x2 = np.maximum(rnd(2, 3, 6, 6, seed=1), 0)
    x2[:, :, :2, :3] = 0
    differential(lambda x: F.lp_pool2d(x, p, (2, 3)), lambda x: TF.lp_pool2d(x, p, (2, 3)), [x2], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_passes_inf_and_nan_as_threshold_backward(dtype):
    x = np.array([-1.0, 0.0, 2.0, np.nan], dtype)
    g = np.array([np.inf, np.inf, 1.0, 1.0], dtype)
    for f, tf in [(F.relu, TF.relu), (nn.ReLU(), tnn.ReLU()), (lambda a: a.clone().relu_(), lambda a: a.clone().relu_())]:
        a, t = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        npg.sum(f(a) * npg.tensor(g)).backward()
        (tf(t) * torch.tensor(g)).sum().backward()
        assert_close(a.grad, t.grad.numpy(), what="relu gradient")
    out, tan = npg.func.jvp(F.relu, (npg.tensor(x),), (npg.tensor(g),))
    tout, ttan = torch.func.jvp(TF.relu, (torch.tensor(x),), (torch.tensor(g),))
    assert_close(tan, ttan.numpy(), what="relu tangent")

