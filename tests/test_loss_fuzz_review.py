"""Adversarial review of npgrad.nn.functional's losses, normalizations and activations against
torch.nn.functional: a bounded hypothesis differential fuzzer (values and gradients, float32 and float64,
reductions, weights, ignore_index, ties, kinks, large logits, empty batches) plus a pinned regression test
for each divergence found."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()


def _both(name, arrays, kw=None, grad=None, nkw=None, w_seed=0):
    """Run F.<name> in npgrad and torch on the same arrays (numbers and non-float arrays are passed as they
    are); float arrays whose index is in ``grad`` (all float arrays when None) require grad. Compares the
    values and the gradients of sum(out * r) for a random r; returns the npgrad output."""
    import torch.nn.functional as T
    kw = kw or {}
    nkw = kw if nkw is None else nkw

    def wants(i, a):
        return isinstance(a, np.ndarray) and a.dtype.kind == "f" and (grad is None or i in grad)
    ta = [torch.tensor(a.copy(), requires_grad=wants(i, a)) if isinstance(a, np.ndarray) else a
          for i, a in enumerate(arrays)]
    na = [npg.tensor(a.copy(), requires_grad=wants(i, a)) if isinstance(a, np.ndarray) else a
          for i, a in enumerate(arrays)]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    nkw = {k: npg.tensor(v, requires_grad=False) if isinstance(v, np.ndarray) else v for k, v in nkw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = getattr(T, name)(*ta, **tkw)
        nout = getattr(F, name)(*na, **nkw)
    what = f"{name} {[np.shape(a) for a in arrays]} {kw}"
    assert_close(nout, tout.detach().numpy(), what=what + " value")
    tl = [a for a in ta if isinstance(a, torch.Tensor) and a.requires_grad]
    nl = [a for a in na if isinstance(a, npg.Tensor) and a.requires_grad]
    if tl and tout.requires_grad:
        r = np.random.default_rng(w_seed).standard_normal(tout.shape).astype(tout.detach().numpy().dtype)
        tg = torch.autograd.grad((tout * torch.tensor(r)).sum(), tl, allow_unused=True)
        ng = npg.autograd.grad((nout * npg.tensor(r)).sum(), nl, allow_unused=True)
        for i, (a, b) in enumerate(zip(ng, tg)):
            b = np.zeros(tl[i].shape, tl[i].detach().numpy().dtype) if b is None else b.numpy()
            a = np.zeros_like(b) if a is None else np.asarray(getattr(a, "data", a))
            assert_close(a, b, what=f"{what} grad of argument {i}")
    return nout


# ------------------------------------------------------------------------------------------ pinned regressions
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_gradient_when_the_norm_equals_eps(p, dtype):
    # torch clamps the norm with clamp_min, whose gradient passes at norm == eps (the norm is differentiated)
    x = np.array([[0.5, 0.0], [0.0, 0.0]], dtype=dtype)
    _both("normalize", [x], dict(p=p, dim=1, eps=0.5))
    _both("normalize", [np.array([0.25, -0.25], dtype=dtype)], dict(p=p, dim=0, eps=float(np.linalg.norm(
        [0.25, -0.25], ord=p))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_mse_loss_mean_of_an_empty_input_has_an_empty_gradient(dtype, shape):
    # torch: nan, and an empty gradient (npgrad's backward divided by the 0 element count: ZeroDivisionError)
    x = np.zeros(shape, dtype)
    _both("mse_loss", [x, x + 1], dict(reduction="mean"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,target", [("multi_margin_loss", np.zeros(0, np.int64)),
                                         ("multilabel_margin_loss", np.zeros((0, 3), np.int64))])
def test_margin_losses_of_an_empty_batch(dtype, name, target):
    # torch gives an empty loss for reduction="none"; npgrad raised ValueError reshaping the empty target
    x = np.zeros((0, 3), dtype)
    _both(name, [x, target], dict(reduction="none"))
    # (torch's "sum" and "mean" of an empty batch read uninitialized memory: the sum of no terms is 0, their
    # mean nan, as NumPy's, and the gradient is empty)
    xt = npg.tensor(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's "mean of empty slice")
        total = getattr(F, name)(xt, target, reduction="sum")
        mean = getattr(F, name)(npg.tensor(x), target, reduction="mean")
    assert total.shape == () and total.item() == 0
    assert mean.shape == () and np.isnan(mean.data)
    total.backward()
    assert xt.grad.shape == (0, 3)


@pytest.mark.parametrize("margin", [0.0, -1.0])
def test_triplet_margin_loss_refuses_a_margin_that_is_not_positive(margin):
    a, p, n = (np.random.default_rng(i).standard_normal((2, 3)) for i in range(3))
    with pytest.raises(ValueError, match="margin"):
        torch.nn.functional.triplet_margin_loss(*map(torch.tensor, (a, p, n)), margin=margin)
    with pytest.raises(ValueError, match="triplet_margin_loss: margin must be greater than 0"):
        F.triplet_margin_loss(a, p, n, margin=margin)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape,dim", [((0, 3), 0), ((2, 0), 1), ((0,), 0), ((2, 0, 3), 1), ((0, 3), -2)])
def test_softmaxes_along_an_empty_dim(name, shape, dim):
    # torch gives an empty result and gradient; npgrad raised ValueError (max of an empty axis)
    for dtype in (np.float32, np.float64):
        _both(name, [np.zeros(shape, dtype)], dict(dim=dim))
    _both(name, [np.zeros(shape, np.float32)], dict(dim=dim, dtype=torch.float64), nkw=dict(dim=dim, dtype=np.float64))


@pytest.mark.parametrize("shape,k", [((0, 3), 2), ((2, 0), 1), ((3, 2, 0), 2)])
def test_layer_norm_over_an_empty_normalized_shape(shape, k):
    # the weight's gradient raised ValueError (reshape(-1, 0)); torch gives an empty gradient
    ns = shape[len(shape) - k:]
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        w, b = rng.standard_normal(ns).astype(dtype), rng.standard_normal(ns).astype(dtype)
        _both("layer_norm", [np.zeros(shape, dtype), ns, w, b], dict(eps=1e-3))
        _both("rms_norm", [np.zeros(shape, dtype), ns, w], dict(eps=1e-3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_binary_cross_entropy_target_gradient_is_torch_s_unclamped_logit(dtype, reduction):
    # d loss / d target is torch's -logit(input), whose log is not clamped at -100 as the value's is (npgrad
    # clamped it: 100 instead of 115.13 at input 1e-50, finite instead of +-inf at 0 and 1)
    x = np.array([0.0, 1.0, 1e-50, 1e-44, 1 - 1e-7, 0.25, 0.5, 0.9], dtype)
    t = np.array([0.5, 0.5, 0.3, 0.0, 1.0, 0.75, 0.5, 0.1], dtype)
    _both("binary_cross_entropy", [x, t], dict(reduction=reduction), grad=[1])
    _both("binary_cross_entropy", [x[2:], t[2:]], dict(reduction=reduction, weight=np.linspace(0.5, 2, 6,
                                                                                                dtype=dtype)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_loss_full_target_gradient_at_small_targets(dtype, log_input):
    # torch's Stirling term is computed everywhere and masked where target <= 1, so its target gradient at
    # target == 0 is nan (0 * log 0); npgrad substituted a safe value there and gave a finite gradient
    x = np.array([0.5, 1.5, 0.25, 2.0, 0.75, 1.0], dtype)
    t = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 0.0], dtype)
    for reduction in ("none", "mean", "sum"):
        _both("poisson_nll_loss", [x, t], dict(log_input=log_input, full=True, reduction=reduction))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0, 3), (2, 3, 0), (0, 3, 4, 4)])
def test_batch_norm_training_on_an_empty_batch(dtype, shape):
    # torch: an empty output and gradient, running statistics unchanged; npgrad raised "expected more than 1
    # value per channel" (torch raises only for exactly 1)
    rng = np.random.default_rng(0)
    rm, rv = rng.standard_normal(3).astype(dtype), rng.random(3).astype(dtype) + 0.5
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    trm, trv, nrm, nrv = torch.tensor(rm), torch.tensor(rv), rm.copy(), rv.copy()
    import torch.nn.functional as T
    x = np.zeros(shape, dtype)
    tx, tw, nx, nw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True), npg.tensor(x), \
        npg.tensor(w)
    tout = T.batch_norm(tx, trm, trv, tw, torch.tensor(b), training=True, momentum=0.1)
    nout = F.batch_norm(nx, nrm, nrv, nw, b, training=True, momentum=0.1)
    assert_close(nout, tout.detach().numpy())
    assert_close(nrm, trm.numpy())
    assert_close(nrv, trv.numpy())
    tout.sum().backward()
    nout.sum().backward()
    assert_close(nx.grad, tx.grad.numpy())
    assert_close(nw.grad, tw.grad.numpy())


def _both_raise(name, arrays, kw, exc, match):
    """torch raises for these arguments: npgrad must raise ``exc`` naming the op, never return a value."""
    import torch.nn.functional as T
    with pytest.raises((RuntimeError, ValueError)):
        getattr(T, name)(*[torch.tensor(a) for a in arrays],
                         **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    with pytest.raises(exc, match=match):
        getattr(F, name)(*arrays, **kw)


def test_cross_entropy_refuses_ignore_index_with_probability_targets():
    x = np.random.default_rng(0).standard_normal((3, 4))
    q = np.full((3, 4), 0.25)
    for ignore_index in (0, 2, 4):
        _both_raise("cross_entropy", [x, q], dict(ignore_index=ignore_index), ValueError,
                    "cross_entropy: ignore_index is not supported for probability")
    for ignore_index in (-1, -5):  # (torch accepts a negative one, and ignores it)
        _both("cross_entropy", [x, q], dict(ignore_index=ignore_index))


def test_nll_loss_refuses_a_weight_of_the_wrong_size():
    # the targets all fall inside the short weight, so npgrad gave a value
    x = np.random.default_rng(0).standard_normal((3, 4))
    for w in (np.ones(3), np.ones(5), np.ones((4, 1))):
        _both_raise("nll_loss", [x, np.array([0, 1, 2])], dict(weight=w), ValueError, "nll_loss: weight of shape")
        with pytest.raises(ValueError, match="nll_loss: weight of shape"):
            F.nll_loss(npg.tensor(x), np.array([0, 1, 2]), weight=npg.tensor(w))  # (a weight that takes a grad)


def test_smooth_l1_loss_refuses_a_negative_beta():
    x = np.random.default_rng(0).standard_normal((3, 4))
    _both_raise("smooth_l1_loss", [x, x + 1], dict(beta=-1.0), ValueError, "smooth_l1_loss: beta")
