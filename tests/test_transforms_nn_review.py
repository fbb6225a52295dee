"""Compositions of the function transforms on nn.functional ops, found wrong by an adversarial review against
torch.func / finite differences: each test is the minimal case of one bug."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F
from npgrad.func import grad, jvp, vmap
from tests.helpers import assert_close


def _fd(fn, args, i, eps=1e-6):
    """Central finite differences of the scalar ``fn(*args)`` in ``args[i]`` (float64 arrays)."""
    out = np.zeros_like(args[i])
    for idx in np.ndindex(args[i].shape):
        ap = [a.copy() for a in args]
        am = [a.copy() for a in args]
        ap[i][idx] += eps
        am[i][idx] -= eps
        out[idx] = (fn(*ap) - fn(*am)) / (2 * eps)
    return out


# ---------------------------------------------------------------- class weights that are differentiated
_T = np.array([1, 0, 3, 2])
_P = np.exp(np.cos(np.arange(16.0)).reshape(4, 4))
_P /= _P.sum(axis=1, keepdims=True)
_LOSSES = {
    # probability targets: torch's cross_entropy is differentiable in weight (the torch oracle)
    "ce_prob": lambda lib, F_, x, w: F_.cross_entropy(x, lib.tensor(_P), weight=w),
    "ce_prob_ls_sum": lambda lib, F_, x, w: F_.cross_entropy(x, lib.tensor(_P), weight=w,
                                                             label_smoothing=0.2, reduction="sum"),
    # class indices: torch's nll_loss refuses a weight requiring grad (finite differences are the oracle)
    "ce_index": lambda lib, F_, x, w: F_.cross_entropy(x, lib.tensor(np.array([1, -100, 3, 2])), weight=w),
    "ce_index_ls": lambda lib, F_, x, w: F_.cross_entropy(x, lib.tensor(_T), weight=w, label_smoothing=0.3),
    "nll": lambda lib, F_, x, w: F_.nll_loss(x, lib.tensor(_T), weight=w, ignore_index=3),
}


@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_loss_weight_gradient(name):
    """The gradient and the tangent in a differentiated class ``weight`` (they were silently 0: the fused
    loss held the weight constant)."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(4, 4)), rng.uniform(0.5, 2.0, 4)
    f = _LOSSES[name]

    def loss(x, w):
        return f(npg, F, x, w)

    def value(x, w):
        return float(loss(npg.tensor(x), npg.tensor(w)).data)

    gx, gw = grad(loss, argnums=(0, 1))(npg.tensor(x), npg.tensor(w))
    assert_close(gw, _fd(value, [x, w], 1), np.float64, rtol=1e-6, atol=1e-8)
    assert_close(gx, _fd(value, [x, w], 0), np.float64, rtol=1e-6, atol=1e-8)
    if name.startswith("ce_prob"):
        tw = torch.func.grad(lambda w: f(torch, torch.nn.functional, torch.tensor(x), w))(torch.tensor(w))
        assert_close(gw, tw.numpy(), np.float64)
    tw_ = np.cos(np.arange(4.0))
    _, t = jvp(lambda w: loss(npg.tensor(x), w), (npg.tensor(w),), (npg.tensor(tw_),))
    expect = (value(x, w + 1e-6 * tw_) - value(x, w - 1e-6 * tw_)) / 2e-6
    assert_close(t, expect, np.float64, rtol=1e-6, atol=1e-8)


@pytest.mark.filterwarnings("ignore::npgrad._vmap_rules.VmapFallbackWarning")  # (a batched weight: a loop)
@pytest.mark.parametrize("name", ["ce_index", "nll"])
def test_loss_weight_gradient_under_vmap(name):
    """Per-sample gradients in a batched class weight, and the gradient of a shared weight through vmap (the
    nll_loss batching rule detached the weight; cross_entropy's divided by a constant sum of weights)."""
    rng = np.random.default_rng(1)
    X, W = rng.normal(size=(3, 4, 4)), rng.uniform(0.5, 2.0, (3, 4))
    f = _LOSSES[name]

    def loss(x, w):
        return npg.sin(f(npg, F, x, w))

    def value(x, w):
        return float(loss(npg.tensor(x), npg.tensor(w)).data)

    gx, gw = vmap(grad(loss, argnums=(0, 1)))(npg.tensor(X), npg.tensor(W))
    for b in range(3):
        assert_close(gw.data[b], _fd(value, [X[b], W[b]], 1), np.float64, rtol=1e-6, atol=1e-8)
        assert_close(gx.data[b], _fd(value, [X[b], W[b]], 0), np.float64, rtol=1e-6, atol=1e-8)

    def shared(w):
        return vmap(lambda x: loss(x, w))(npg.tensor(X)).sum()

    expect = _fd(lambda w: float(shared(npg.tensor(w)).data), [W[0]], 0)
    assert_close(grad(shared)(npg.tensor(W[0])), expect, np.float64, rtol=1e-6, atol=1e-8)


def test_bilinear_per_sample_grads_stay_vectorized():
    """vmap(grad) of F.bilinear in its (shared) weight and bias: no per-sample loop of the whole function (the
    shape checks read a batched weight's values), and torch.func's per-sample gradients."""
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=(5, 4, 4)), rng.normal(size=5)

    def loss(x, w, b, lib, F_):
        return lib.sin(F_.bilinear(x, x * 2, w, b)).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = vmap(grad(lambda *a: loss(*a, npg, F), argnums=(0, 1, 2)), in_dims=(0, None, None))(
            npg.tensor(x), npg.tensor(w), npg.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch's own fallback for aten::_trilinear)
        want = torch.func.vmap(torch.func.grad(lambda *a: loss(*a, torch, torch.nn.functional),
                                               argnums=(0, 1, 2)),
                               in_dims=(0, None, None))(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    for g, t in zip(got, want):
        assert_close(g, t.detach().numpy(), np.float64)


def test_loss_weight_tangent_without_requires_grad():
    """A class weight that carries a forward-mode tangent but does not require grad: jvp against central
    differences (the fused losses treat a plain weight as a constant, so the tangent must take the other path)."""
    rng = np.random.default_rng(4)
    x, t, w, v = rng.standard_normal((4, 3)), rng.integers(0, 3, 4), rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    probs = rng.dirichlet(np.ones(3), size=4)
    t01 = rng.uniform(0, 1, (4, 3)).round()
    for f in (lambda w_: F.cross_entropy(npg.tensor(x), t, weight=w_),
              lambda w_: F.cross_entropy(npg.tensor(x), probs, weight=w_),
              lambda w_: F.nll_loss(F.log_softmax(npg.tensor(x), 1), t, weight=w_),
              lambda w_: F.binary_cross_entropy_with_logits(npg.tensor(x), t01, pos_weight=w_)):
        _, tangent = jvp(f, (npg.tensor(w, requires_grad=False),), (npg.tensor(v),))
        fd = (f(npg.tensor(w + 1e-6 * v)).item() - f(npg.tensor(w - 1e-6 * v)).item()) / 2e-6
        np.testing.assert_allclose(tangent.item(), fd, rtol=1e-6)
