"""Adversarial review of the losses and normalizations, round 2: a pinned test per divergence from PyTorch
found (values, dtypes, errors), each checked against torch.nn.functional."""
import warnings

import numpy as np
import pytest

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()


def _torch_raises(fn):
    try:
        fn()
    except (RuntimeError, ValueError, IndexError):
        return True
    return False


# ------------------------------------------------------------------ binary cross-entropies: weight shapes
@pytest.mark.parametrize("name,arg,shape", [
    ("binary_cross_entropy", "weight", (2, 4, 3)),
    ("binary_cross_entropy", "weight", (5, 1, 1)),
    ("binary_cross_entropy_with_logits", "weight", (2, 4, 3)),
    ("binary_cross_entropy_with_logits", "pos_weight", (2, 4, 3)),
    ("binary_cross_entropy_with_logits", "pos_weight", (3, 1, 3)),
])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_refuses_a_weight_that_would_grow_the_output(name, arg, shape, reduction):
    # torch: "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]"; npgrad broadcast the loss
    # to the weight's shape and returned a (2, 4, 3) loss (a different mean / sum), silently
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 1.5, shape)
    assert _torch_raises(lambda: getattr(torch.nn.functional, name)(
        torch.tensor(x), torch.tensor(t), reduction=reduction, **{arg: torch.tensor(w)}))
    for wt in (npg.tensor(w, requires_grad=False), npg.tensor(w)):   # the fused path and the differentiable one
        with pytest.raises(ValueError, match=rf"{name}: {arg} of shape \({shape[0]}, .*input of shape \(4, 3\)"):
            getattr(F, name)(npg.tensor(x), npg.tensor(t), reduction=reduction, **{arg: wt})


@pytest.mark.parametrize("name,arg,shape", [
    ("binary_cross_entropy", "weight", (3,)), ("binary_cross_entropy", "weight", (4, 1)),
    ("binary_cross_entropy", "weight", ()), ("binary_cross_entropy_with_logits", "weight", (1, 3)),
    ("binary_cross_entropy_with_logits", "pos_weight", (3,)), ("binary_cross_entropy_with_logits", "pos_weight", (4, 1)),
])
def test_binary_cross_entropy_weights_that_broadcast_to_the_input(name, arg, shape):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 1.5, shape)
    for reduction in ("mean", "none"):
        want = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(t), reduction=reduction,
                                                  **{arg: torch.tensor(w)})
        got = getattr(F, name)(npg.tensor(x), npg.tensor(t), reduction=reduction,
                               **{arg: npg.tensor(w, requires_grad=False)})
        assert_close(got, want.numpy(), what=f"{name} {arg} {shape} {reduction}")


def test_binary_cross_entropy_weight_that_does_not_broadcast_names_the_op():
    x = npg.tensor(np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(5,\)"):
        F.binary_cross_entropy(x, x, weight=npg.tensor(np.ones(5), requires_grad=False))


# ------------------------------------------------------------------ integer targets keep a float32 loss
_INT_TARGET_CASES = [
    ("mse_loss", lambda x, t: (x, t), {}),
    ("l1_loss", lambda x, t: (x, t), {}),
    ("smooth_l1_loss", lambda x, t: (x, t), dict(beta=0.5)),
    ("huber_loss", lambda x, t: (x, t), dict(delta=0.5)),
    ("poisson_nll_loss", lambda x, t: (x, t), dict(full=True)),
    ("soft_margin_loss", lambda x, t: (x, 2 * t - 1), {}),
    ("multilabel_soft_margin_loss", lambda x, t: (x, t), {}),
    ("margin_ranking_loss", lambda x, t: (x, x[::-1].copy(), 2 * t - 1), dict(margin=0.2)),
    ("gaussian_nll_loss", lambda x, t: (x, t, np.abs(x).astype(x.dtype) + 0.5), {}),
]


@pytest.mark.parametrize("name,make,kw", _INT_TARGET_CASES, ids=[c[0] for c in _INT_TARGET_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_an_integer_target_keeps_the_input_dtype(name, make, kw, dtype, reduction):
    # torch: a float32 input with an int64 target gives a float32 loss; npgrad followed NumPy's promotion
    # (float32 - int64 -> float64) and returned a float64 loss for a float32 model
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3)).astype(dtype)
    t = rng.integers(0, 2, (4, 3))
    args = make(x, t)
    ta = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in args]
    na = [npg.tensor(a, requires_grad=a.dtype.kind == "f") for a in args]
    want = getattr(torch.nn.functional, name)(*ta, reduction=reduction, **kw)
    got = getattr(F, name)(*na, reduction=reduction, **kw)
    assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    assert_close(got, want.detach().numpy(), what=f"{name} value")
    # (the gradient: against torch with the target as floats, the same function; torch's huber_loss backward
    # refuses an integer target, "Found dtype Long but expected Double")
    tf = [torch.tensor(a.astype(dtype), requires_grad=a.dtype.kind == "f") for a in args]
    tg = torch.autograd.grad(getattr(torch.nn.functional, name)(*tf, reduction=reduction, **kw).sum(),
                             [a for a in tf if a.requires_grad])
    ng = npg.autograd.grad(got.sum(), [a for a in na if a.requires_grad])
    for a, b in zip(ng, tg):
        assert a.dtype == dtype
        assert_close(a, b.numpy(), what=f"{name} gradient")


# ------------------------------------------------------------------ multilabel_soft_margin_loss: the class dim
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_soft_margin_loss_sums_the_input_s_class_dim_under_a_broadcasting_weight(reduction):
    # torch sums dim input.dim() - 1 (counted from the front) of the weighted loss; with a weight of more dims
    # than the input that is not the last dim: torch 1.001274 for the (4, 3) input and (2, 4, 3) ones weight
    # below, npgrad 0.750956 (it summed the last dim)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    t = (rng.random((4, 3)) > 0.5).astype(np.float64)
    w = rng.uniform(0.5, 1.5, (2, 4, 3))
    tx = torch.tensor(x, requires_grad=True)
    want = torch.nn.functional.multilabel_soft_margin_loss(tx, torch.tensor(t), weight=torch.tensor(w),
                                                           reduction=reduction)
    nx = npg.tensor(x)
    got = F.multilabel_soft_margin_loss(nx, npg.tensor(t), weight=npg.tensor(w, requires_grad=False),
                                        reduction=reduction)
    assert_close(got, want.detach().numpy(), what="value")
    r = rng.standard_normal(want.shape)
    assert_close(npg.autograd.grad((got * npg.tensor(r)).sum(), [nx])[0],
                 torch.autograd.grad((want * torch.tensor(r)).sum(), [tx])[0].numpy(), what="gradient")


# ------------------------------------------------------------------ normalize of a 0-d tensor
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("value", [-2.0, 0.5, 0.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_of_a_0d_tensor(p, dim, value, dtype):
    # torch wraps dim 0 / -1 of a 0-d tensor (x / max(|x|, eps)); npgrad raised AxisError "vector_norm: axis 0 is
    # out of bounds for a tensor of dimension 0"
    tx = torch.tensor(np.array(value, dtype), requires_grad=True)
    want = torch.nn.functional.normalize(tx, p=p, dim=dim)
    nx = npg.tensor(np.array(value, dtype))
    got = F.normalize(nx, p=p, dim=dim)
    assert got.shape == () and got.dtype == dtype
    assert_close(got, want.detach().numpy(), what="value")
    assert_close(npg.autograd.grad(got, [nx])[0], torch.autograd.grad(want, [tx])[0].numpy(), what="gradient")


def test_normalize_of_a_0d_tensor_refuses_dim_1():
    assert _torch_raises(lambda: torch.nn.functional.normalize(torch.tensor(2.0), dim=1))
    with pytest.raises((IndexError, ValueError), match="normalize"):
        F.normalize(npg.tensor(2.0), dim=1)
