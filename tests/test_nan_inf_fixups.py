"""Infinite inputs against torch 2.13, values and gradients in float32 and float64: binary_cross_entropy_with_logits
whose pos_weight / weight require grad (its composed path) at infinite and large logits, and antialiased
bilinear / bicubic interpolation of an input with inf at edge pixels."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
INF = np.inf

X = np.array([-INF, -INF, -INF, -INF, -100.0, -20.0, 0.0, 0.7, 20.0, 100.0, INF, INF, -3e38, 1e4])
T = np.array([0.0, 1.0, 0.5, 0.3, 0.3, 1.0, 0.5, 0.0, 1.0, 0.2, 0.7, 1.0, 0.5, 0.0])
PW = np.array([0.5, 1.0, 0.25, 2.0, 1.0, 2.0, 0.01, 3.0, 1e-8, 3.0, 1.0, 2.0, 1.0, 1.0])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("which", ["pos_weight", "weight", "both"])
def test_bce_with_logits_whose_weights_require_grad_at_infinite_logits(dt, reduction, which):
    """The values and the input / target gradients of torch's loss (whose weights are constants: torch cannot
    differentiate them); pos_weight's gradient is torch's -t log_sigmoid(x) (0 at t = 0), weight's torch's
    unweighted loss (NaN where torch's value is)."""
    x, t, pw = X.astype(dt), T.astype(dt), PW.astype(dt)
    w = np.linspace(0.5, 2.0, x.size).astype(dt)
    r = np.random.default_rng(0).standard_normal(() if reduction != "none" else x.shape).astype(dt)
    n_w, n_pw = npg.tensor(w, requires_grad=which != "pos_weight"), npg.tensor(pw, requires_grad=which != "weight")
    nx, nt = npg.tensor(x), npg.tensor(t)
    tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.binary_cross_entropy_with_logits(nx, nt, n_w, pos_weight=n_pw, reduction=reduction)
        ref = TF.binary_cross_entropy_with_logits(tx, tt, torch.tensor(w), pos_weight=torch.tensor(pw),
                                                  reduction=reduction)
        assert out.dtype == dt
        assert_close(out, ref.detach().numpy(), what="value")
        leaves = [nx, nt] + [p for p in (n_w, n_pw) if p.requires_grad]
        grads = npg.autograd.grad((out * npg.tensor(r)).sum(), leaves)
        tg = torch.autograd.grad((ref * torch.tensor(r)).sum(), [tx, tt])
        g_full = torch.tensor(r).expand(x.shape) / (x.size if reduction == "mean" else 1)
        elem = TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t), pos_weight=torch.tensor(pw),
                                                   reduction="none")
        tx_ = torch.tensor(x)
        dpw = torch.where(torch.tensor(t) == 0, 0, -torch.tensor(t) * TF.logsigmoid(tx_))
        expected = {"weight": (g_full * elem).numpy(), "pos_weight": (g_full * torch.tensor(w) * dpw).numpy()}
    for i, (g, e) in enumerate(zip(grads[:2], tg)):
        assert g.dtype == dt and not np.isnan(g.data[~np.isnan(e.numpy())]).any()
        assert_close(g, e.numpy(), what=f"grad {i}", atol=1e-6)   # (torch's dx at x = 20, t = 1: rounding, 1e-8)
    for name, g in zip([p for p, q in (("weight", n_w), ("pos_weight", n_pw)) if q.requires_grad], grads[2:]):
        assert g.dtype == dt
        assert_close(g, expected[name], what=f"grad of {name}")


def test_bce_with_logits_pos_weight_gradient_by_central_differences():
    """Finite logits, float64: pos_weight's gradient is the loss's derivative (central differences of torch's
    elementwise loss: each pos_weight reaches only its own element)."""
    x, t, pw = X[4:10].copy(), T[4:10].copy(), PW[4:10].copy()

    def loss(p):
        return TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t), pos_weight=torch.tensor(p),
                                                   reduction="none").numpy()
    P = npg.tensor(pw)
    F.binary_cross_entropy_with_logits(npg.tensor(x), npg.tensor(t), pos_weight=P, reduction="sum").backward()
    h = np.full(pw.size, 1e-6)
    fd = np.array([(loss(pw + h[i] * e) - loss(pw - h[i] * e))[i] / (2 * h[i]) for i, e in enumerate(np.eye(pw.size))])
    np.testing.assert_allclose(P.grad, fd, rtol=1e-6, atol=1e-12)


def _edge_infs(dt):
    x = np.arange(2 * 2 * 9 * 8, dtype=dt).reshape(2, 2, 9, 8) / 10
    x[0, 0, 0, 0], x[0, 1, -1, 3], x[1, 0, 4, 0], x[1, 1, 0, 7] = INF, -INF, INF, INF
    return x


@pytest.mark.parametrize("dt, mode", [(np.float32, "bilinear"), (np.float64, "bilinear"), (np.float64, "bicubic")])
@pytest.mark.parametrize("size", [(3, 3), (5, 2), (9, 3), (4, 8), (13, 5), (3, 12)])
def test_antialiased_interpolate_keeps_inf_at_edge_pixels(dt, mode, size):
    """Padding taps (weight 0, past an output's window) add nothing: inf stays inf, as torch's. (float32 bicubic
    is left out: its far taps' weights are rounding-level, and npgrad computes them in float64, torch in float32,
    so an inf there can take the other sign.)"""
    x = _edge_infs(dt)
    nx, tx = npg.tensor(x), torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.interpolate(nx, size=size, mode=mode, antialias=True)
        ref = TF.interpolate(tx, size=size, mode=mode, antialias=True)
    assert out.dtype == dt
    assert np.isinf(ref.detach().numpy()).any()
    assert_close(out, ref.detach().numpy(), what="value")
    r = np.random.default_rng(1).standard_normal(ref.shape).astype(dt)
    (g,) = npg.autograd.grad((out * npg.tensor(r)).sum(), [nx])
    (tg,) = torch.autograd.grad((ref * torch.tensor(r)).sum(), [tx])
    assert g.dtype == dt
    assert_close(g, tg.numpy(), what="grad")
