"""The seven loss modules of npgrad.nn against torch.nn's: values, dtypes and gradients (input, and target
where it is differentiable) for every reduction, with class weights, ignore_index, label smoothing,
probability targets, extra dims, beta and pos_weight; and their state_dict keys (weights are buffers).
Also the functional losses' deprecated size_average/reduce arguments, and weighted l1_loss/mse_loss."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


def rnd(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def uniform(shape, dtype, seed=0, lo=0.05, hi=0.95):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


def classes(shape, n, seed=0, ignore=None):
    t = np.random.default_rng(seed).integers(0, n, shape)
    if ignore is not None:
        t.flat[::3] = ignore
    return t


def check_loss(module, tmodule, arrays, what):
    """Call the npgrad module on npgrad tensors and the torch module on torch tensors of the same arrays."""
    compare_with_torch(lambda *xs: module(*xs), lambda *ts: tmodule(*ts), arrays, what=what)


def _weight(dtype, n, seed=5):
    return np.random.default_rng(seed).uniform(0.2, 2.0, n).astype(dtype)


# ---------------------------------------------------------------------------------- CrossEntropyLoss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 5), (4,)])
def test_cross_entropy_loss_class_targets(dtype, reduction, weighted, smoothing, shape):
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    w = _weight(dtype, C) if weighted else None
    module = nn.CrossEntropyLoss(weight=None if w is None else npg.tensor(w, requires_grad=False),
                                 reduction=reduction, label_smoothing=smoothing)
    tmodule = torch.nn.CrossEntropyLoss(weight=None if w is None else torch.tensor(w), reduction=reduction,
                                        label_smoothing=smoothing)
    check_loss(module, tmodule, [rnd(shape, dtype), classes(tshape, C)], f"CrossEntropyLoss {shape}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_common_case_second_order_forward_mode_and_vmap_vs_torch(dtype, reduction):
    """2-D logits with valid class indices (cross_entropy's fast path): the Hessian-vector product through
    create_graph, forward mode and vmap(grad) against torch."""
    x, v, t = rnd((7, 5), dtype), rnd((7, 5), dtype, seed=1), classes((7,), 5)
    xn, xt, tt = npg.tensor(x), torch.tensor(x, requires_grad=True), torch.tensor(t)
    (gn,) = npg.autograd.grad(F.cross_entropy(xn, t, reduction=reduction).sum(), xn, create_graph=True)
    (gt,) = torch.autograd.grad(TF.cross_entropy(xt, tt, reduction=reduction).sum(), xt, create_graph=True)
    (hn,) = npg.autograd.grad((gn * npg.tensor(v)).sum(), xn)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), xt)
    assert_close(gn.data, gt.detach().numpy(), what="gradient")
    assert_close(hn.data, ht.numpy(), what="Hessian-vector product")
    _, tn = npg.func.jvp(lambda a: F.cross_entropy(a, t, reduction=reduction), (npg.tensor(x),), (npg.tensor(v),))
    _, tj = torch.func.jvp(lambda a: TF.cross_entropy(a, tt, reduction=reduction), (torch.tensor(x),),
                           (torch.tensor(v),))
    assert_close(tn.data, tj.numpy(), what="forward-mode tangent")
    pn = npg.func.vmap(npg.func.grad(lambda a, c: F.cross_entropy(a[None], c[None])))(npg.tensor(x), npg.tensor(t))
    pt = torch.func.vmap(torch.func.grad(lambda a, c: TF.cross_entropy(a[None], c[None])))(torch.tensor(x), tt)
    assert_close(pn.data, pt.numpy(), what="per-sample gradients")


def test_cross_entropy_out_of_range_or_ignored_targets_vs_torch():
    """Targets that leave the common case: one out of range raises, ignore_index among the classes."""
    x = rnd((6, 4), np.float64)
    with pytest.raises(IndexError, match="cross_entropy: target 4 is out of bounds for 4 classes"):
        F.cross_entropy(npg.tensor(x), np.array([0, 1, 4, 2, 3, 0]))
    t = np.array([0, 1, 2, 2, 3, 0])
    check_loss(nn.CrossEntropyLoss(ignore_index=2), torch.nn.CrossEntropyLoss(ignore_index=2), [x, t],
               "CrossEntropyLoss ignore_index=2")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_loss_ignore_index(dtype, reduction):
    w = _weight(dtype, 5)
    for ignore in (-100, 2):
        kw = dict(ignore_index=ignore, reduction=reduction)
        module = nn.CrossEntropyLoss(weight=npg.tensor(w, requires_grad=False), **kw)
        tmodule = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), **kw)
        check_loss(module, tmodule, [rnd((7, 5), dtype), classes((7,), 5, ignore=ignore)],
                   f"CrossEntropyLoss ignore_index={ignore}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_loss_probability_targets(dtype, reduction, smoothing):
    p = np.ascontiguousarray(np.random.default_rng(3).dirichlet(np.ones(4), size=(5, 3)).transpose(0, 2, 1), dtype)
    w = _weight(dtype, 4)
    module = nn.CrossEntropyLoss(weight=npg.tensor(w, requires_grad=False), reduction=reduction,
                                 label_smoothing=smoothing)
    tmodule = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), reduction=reduction, label_smoothing=smoothing)
    check_loss(module, tmodule, [rnd((5, 4, 3), dtype), p], "CrossEntropyLoss probabilities")  # target grad too


# ---------------------------------------------------------------------------------- NLLLoss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 3, 2)])
def test_nll_loss(dtype, reduction, weighted, shape):
    w = _weight(dtype, 4) if weighted else None
    logp = np.log(np.random.default_rng(1).dirichlet(np.ones(4), size=shape[:1] + shape[2:])).astype(dtype)
    logp = np.ascontiguousarray(np.moveaxis(logp, -1, 1))  # torch needs it contiguous
    for ignore in (-100, 1):
        module = nn.NLLLoss(weight=None if w is None else npg.tensor(w, requires_grad=False), ignore_index=ignore,
                            reduction=reduction)
        tmodule = torch.nn.NLLLoss(weight=None if w is None else torch.tensor(w), ignore_index=ignore,
                                   reduction=reduction)
        check_loss(module, tmodule, [logp, classes(shape[:1] + shape[2:], 4, ignore=ignore)],
                   f"NLLLoss {shape} ignore_index={ignore}")


# ---------------------------------------------------------------------------------- regression losses
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 4, 2)])
def test_mse_and_l1_loss(dtype, reduction, name, shape):
    x, t = rnd(shape, dtype, 0), rnd(shape, dtype, 1)  # both differentiable
    check_loss(getattr(nn, name)(reduction=reduction), getattr(torch.nn, name)(reduction=reduction), [x, t],
               f"{name} {shape}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.3, 2.5])
def test_smooth_l1_loss(dtype, reduction, beta):
    x = rnd((4, 6), dtype, 0) * 2
    t = rnd((4, 6), dtype, 1)  # |x - t| on both sides of beta
    check_loss(nn.SmoothL1Loss(reduction=reduction, beta=beta), torch.nn.SmoothL1Loss(reduction=reduction, beta=beta),
               [x, t], f"SmoothL1Loss beta={beta}")


# ---------------------------------------------------------------------------------- binary cross-entropies
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (5,), (3, 1)])
def test_bce_loss(dtype, reduction, weight_shape):
    w = None if weight_shape is None else _weight(dtype, int(np.prod(weight_shape))).reshape(weight_shape)
    module = nn.BCELoss(weight=None if w is None else npg.tensor(w, requires_grad=False), reduction=reduction)
    tmodule = torch.nn.BCELoss(weight=None if w is None else torch.tensor(w), reduction=reduction)
    check_loss(module, tmodule, [uniform((3, 5), dtype, 0), uniform((3, 5), dtype, 1, 0.0, 1.0)],
               f"BCELoss weight {weight_shape}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_bce_with_logits_loss(dtype, reduction, weighted, pos_weighted):
    w = _weight(dtype, 5) if weighted else None
    pw = _weight(dtype, 5, seed=9) * 2 if pos_weighted else None
    module = nn.BCEWithLogitsLoss(weight=None if w is None else npg.tensor(w, requires_grad=False),
                                  reduction=reduction,
                                  pos_weight=None if pw is None else npg.tensor(pw, requires_grad=False))
    tmodule = torch.nn.BCEWithLogitsLoss(weight=None if w is None else torch.tensor(w), reduction=reduction,
                                         pos_weight=None if pw is None else torch.tensor(pw))
    x = rnd((3, 5), dtype, 0) * 4  # large logits too
    check_loss(module, tmodule, [x, uniform((3, 5), dtype, 1, 0.0, 1.0)], "BCEWithLogitsLoss")


# ---------------------------------------------------------------------------------- module machinery
def test_loss_modules_train_a_model_like_torch():
    """A loss module inside a training step: the parameter gradients are torch's."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 3)), rng.integers(0, 4, 8)
    model, tmodel = nn.Linear(3, 4), torch.nn.Linear(3, 4).double()
    model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    nn.CrossEntropyLoss()(model(npg.tensor(X)), y).backward()
    torch.nn.CrossEntropyLoss()(tmodel(torch.tensor(X)), torch.tensor(y)).backward()
    np.testing.assert_allclose(model.weight.grad, tmodel.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.bias.grad, tmodel.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kwargs", [
    ("CrossEntropyLoss", {}), ("CrossEntropyLoss", {"weight": [1.0, 2.0]}), ("NLLLoss", {"weight": [1.0, 2.0]}),
    ("BCELoss", {"weight": [1.0, 2.0]}), ("BCEWithLogitsLoss", {"weight": [1.0, 2.0], "pos_weight": [3.0, 1.0]}),
    ("BCEWithLogitsLoss", {"pos_weight": [3.0, 1.0]}), ("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
])
def test_loss_state_dict_keys_are_torch_s(name, kwargs):
    """Class weights are buffers, as in torch (_WeightedLoss): a model's state_dict keys match."""
    module = getattr(nn, name)(**{k: npg.tensor(v, requires_grad=False) for k, v in kwargs.items()})
    tmodule = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kwargs.items()})
    assert list(module.state_dict()) == list(tmodule.state_dict())
    for k, v in tmodule.state_dict().items():
        np.testing.assert_array_equal(module.state_dict()[k].data, v.numpy())


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
                                  "CrossEntropyLoss", "NLLLoss"])
def test_bad_reduction_is_an_error_as_torch(name):
    x = np.full((2, 3), 0.5)
    t = np.zeros(2, dtype=np.int64) if name in ("CrossEntropyLoss", "NLLLoss") else np.full((2, 3), 0.5)
    with pytest.raises(ValueError):
        getattr(torch.nn, name)(reduction="avg")(torch.tensor(x), torch.tensor(t))
    with pytest.raises(ValueError, match="avg"):
        getattr(nn, name)(reduction="avg")(npg.tensor(x), t)


def test_weights_given_as_arrays_or_lists_work_as_tensors():
    x, t = rnd((6, 3), np.float64), classes((6,), 3)
    w = [0.5, 1.0, 2.0]
    tloss = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float64))
    expected = tloss(torch.tensor(x), torch.tensor(t)).item()
    for weight in (w, np.array(w), npg.tensor(w, requires_grad=False)):
        module = nn.CrossEntropyLoss(weight=weight)
        assert isinstance(module.weight, npg.Tensor)
        np.testing.assert_allclose(module(npg.tensor(x), t).item(), expected, rtol=1e-12)


# --------------------------------------------------------------- the deprecated size_average / reduce
# mse_loss, l1_loss, smooth_l1_loss and the binary cross-entropies took these arguments and ignored them
# (reduce=False gave the mean, not the per-element losses: a silent wrong answer); cross_entropy and
# nll_loss refused them. All follow PyTorch's mapping now, with its deprecation warning.
def _legacy_cases():
    r = np.random.default_rng(0)
    x, t = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    tb, tc = (r.random((3, 4)) > 0.5) * 1.0, np.array([0, 2, 1])
    return {
        "mse_loss": (x, t), "l1_loss": (x, t), "smooth_l1_loss": (x, t),
        "binary_cross_entropy": (1 / (1 + np.exp(-x)), tb), "binary_cross_entropy_with_logits": (x, tb),
        "cross_entropy": (x, tc), "nll_loss": (x, tc), "kl_div": (x, np.abs(t)), "soft_margin_loss": (x, np.sign(t)),
        "hinge_embedding_loss": (x, np.sign(t)), "multilabel_soft_margin_loss": (x, tb),
        "multi_margin_loss": (x, tc), "poisson_nll_loss": (x, np.abs(t)),
        "multilabel_margin_loss": (x, np.array([[0, 1, -1, 0]] * 3)), "margin_ranking_loss": (x, t, np.sign(t)),
        "cosine_embedding_loss": (x, t, np.array([1.0, -1.0, 1.0])), "triplet_margin_loss": (x, t, t[::-1].copy()),
    }


@pytest.mark.parametrize("legacy", [(None, False), (False, None), (False, True), (True, False), (True, None),
                                    (None, True)], ids=str)
@pytest.mark.parametrize("name", sorted(_legacy_cases()))
def test_deprecated_size_average_and_reduce_vs_torch(name, legacy):
    sa, red = legacy
    args = _legacy_cases()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_args = [torch.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0) for i, a in enumerate(args)]
        expected = getattr(TF, name)(*t_args, size_average=sa, reduce=red)
        x = npg.tensor(args[0])
        got = getattr(F, name)(x, *args[1:], size_average=sa, reduce=red)
    assert got.shape == tuple(expected.shape)
    assert_close(got.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(got.shape)
    (got * g).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    assert_close(x.grad, t_args[0].grad.numpy(), rtol=1e-12, atol=1e-12)


def test_deprecated_reduce_warns_like_torch():
    with pytest.warns(UserWarning, match="reduction='none'"):
        F.mse_loss(np.ones(3), np.zeros(3), reduce=False)


# --------------------------------------------------------------- weighted l1_loss / mse_loss (PyTorch 2.13)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_l1_and_mse_vs_torch(name, reduction, dtype):
    r = np.random.default_rng(2)
    x, t, w = (r.standard_normal((4, 5)).astype(dtype), r.standard_normal((4, 5)).astype(dtype),
               r.random((4, 5)).astype(dtype))
    arrays = [x, t, w]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ns = [npg.tensor(a) for a in arrays]
    expected = getattr(TF, name)(ts[0], ts[1], reduction=reduction, weight=ts[2])
    got = getattr(F, name)(ns[0], ns[1], reduction=reduction, weight=ns[2])
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert got.dtype == dtype
    assert_close(got.data, expected.detach().numpy(), **tol)
    g = r.standard_normal(got.shape).astype(dtype)
    (got * g).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    for n, t_ in zip(ns, ts):
        assert_close(n.grad, t_.grad.numpy(), **tol)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_weighted_l1_and_mse_shape_error_like_torch(name):
    with pytest.raises(ValueError, match=f"{name}: Weights and input must have the same size"):
        getattr(F, name)(np.ones((3, 4)), np.zeros((3, 4)), weight=np.ones(4))
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        getattr(TF, name)(torch.ones(3, 4), torch.zeros(3, 4), weight=torch.ones(4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("weight_batched", [True, False])
def test_weighted_l1_and_mse_under_vmap_vs_torch_func(name, reduction, weight_batched):
    r = np.random.default_rng(3)
    x, t, w = r.standard_normal((5, 3, 4)), r.standard_normal((5, 3, 4)), r.random((5, 3, 4))
    w = w if weight_batched else w[0]
    dims = (0, 0, 0 if weight_batched else None)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    expected = torch.func.vmap(lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c),
                               in_dims=dims)(tx, torch.tensor(t), tw)
    nx, nw = npg.tensor(x), npg.tensor(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error", npg.func_vmap._vmap_rules.VmapFallbackWarning)   # one batched call
        got = npg.func.vmap(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c), in_dims=dims)(
            nx, t, nw)
    assert_close(got.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = r.standard_normal(got.shape)
    (got * g).sum().backward()
    (expected * torch.tensor(g)).sum().backward()
    assert_close(nx.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert_close(nw.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
