"""nn.utils.prune against torch.nn.utils.prune: the same masks (weights without ties), parameters, buffers,
state-dict keys, forward outputs and gradients; random methods checked by counts and structure."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.utils.prune as tprune

import npgrad as npg
import npgrad.nn as nn
from npgrad.nn.utils import prune
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}


def pair(make_npg, make_torch, dtype=np.float64, seed=0):
    torch.manual_seed(seed)
    t = make_torch().to(TDT[dtype])
    m = make_npg()
    m = m.double() if dtype == np.float64 else m.float()
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m, t


def linears(dtype=np.float64, seed=0):
    return pair(lambda: nn.Linear(6, 5), lambda: tnn.Linear(6, 5), dtype, seed)


def convs(dtype=np.float64, seed=0):
    return pair(lambda: nn.Conv2d(3, 4, 3), lambda: tnn.Conv2d(3, 4, 3), dtype, seed)


def same_state(m, t, dtype, exact=True):
    """The same state-dict keys (in order), dtypes and values (masks always exactly), parameter and buffer names."""
    sd, tsd = m.state_dict(), t.state_dict()
    assert list(sd) == list(tsd)
    for k in tsd:
        assert np.asarray(sd[k]).dtype == dtype, k
        if exact or k.endswith("_mask"):
            np.testing.assert_array_equal(np.asarray(sd[k]), tsd[k].detach().numpy(), err_msg=k)
        else:
            assert_close(np.asarray(sd[k]), tsd[k].detach().numpy(), dtype, what=k)
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert [k for k, _ in m.named_buffers()] == [k for k, _ in t.named_buffers()]


def same_forward_backward(m, t, shape, dtype, seed=1):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    y = m(npg.tensor(x))
    ty = t(torch.tensor(x))
    assert_close(y.data, ty.detach().numpy(), dtype)
    np.testing.assert_array_equal(getattr(m, "weight").data, t.weight.detach().numpy())
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    tparams = dict(t.named_parameters())
    for k, p in m.named_parameters():
        assert_close(p.grad, tparams[k].grad.numpy(), dtype, what=k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("amount", [0, 7, 0.3, 1.0, 30])
def test_l1_unstructured(dtype, amount):
    m, t = linears(dtype)
    w_orig = m.weight
    assert prune.l1_unstructured(m, "weight", amount=amount) is m
    tprune.l1_unstructured(t, "weight", amount=amount)
    same_state(m, t, dtype)
    assert m.weight_orig is w_orig and isinstance(m.weight_orig, nn.Parameter)
    assert "weight" not in m._parameters and not m.weight_mask.requires_grad
    assert prune.is_pruned(m) and prune.is_pruned(nn.Sequential(m))
    same_forward_backward(m, t, (3, 6), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_iterative_pruning_combines_masks(dtype):
    m, t = convs(dtype)
    steps = [(prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.2)),
             (prune.ln_structured, tprune.ln_structured, dict(amount=1, n=2, dim=0)),
             (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=10)),
             (prune.ln_structured, tprune.ln_structured, dict(amount=0.5, n=1, dim=1)),
             (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.25))]
    for f, tf, kw in steps:
        f(m, "weight", **kw)
        tf(t, "weight", **kw)
        same_state(m, t, dtype)
    hooks = [h for h in m._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 5
    assert [type(h).__name__ for h in hooks[0]] == [type(h).__name__ for h in
                                                    next(iter(t._forward_pre_hooks.values()))]
    same_forward_backward(m, t, (2, 3, 6, 6), dtype)


@pytest.mark.parametrize("n", [1, 2, 3, np.inf, -np.inf, "fro", "nuc", 0.5])
@pytest.mark.parametrize("dim", [0, 1, -1, -3])
def test_ln_structured_norms_and_dims(n, dim):
    m, t = convs(np.float64, seed=3)
    if n == "nuc":
        with pytest.raises(RuntimeError):
            torch.norm(torch.ones(2, 2, 2, 2), p="nuc", dim=[0, 1, 2])
        with pytest.raises(RuntimeError, match="nuclear"):
            prune.ln_structured(m, "weight", amount=1, n=n, dim=dim)
    if n in ("fro", "nuc"):   # PyTorch's matrix norms need exactly 2 reduced axes: a Conv1d weight
        m, t = pair(lambda: nn.Conv1d(3, 4, 3), lambda: tnn.Conv1d(3, 4, 3), seed=3)
    prune.ln_structured(m, "weight", amount=2, n=n, dim=dim)
    tprune.ln_structured(t, "weight", amount=2, n=n, dim=dim)
    same_state(m, t, np.float64)


def test_ln_structured_fro_on_4d_is_the_2_norm():
    """PyTorch's torch.norm(p='fro') raises for more than 2 reduced axes; here it is the 2-norm over them."""
    m, t = convs(np.float64, seed=3)
    prune.ln_structured(m, "weight", amount=2, n="fro", dim=1)
    tprune.ln_structured(t, "weight", amount=2, n=2, dim=1)
    same_state(m, t, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_importance_scores(dtype):
    m, t = convs(dtype)
    scores = np.random.default_rng(5).standard_normal(t.weight.shape).astype(dtype)
    prune.l1_unstructured(m, "weight", amount=0.4, importance_scores=npg.tensor(scores))
    tprune.l1_unstructured(t, "weight", amount=0.4, importance_scores=torch.tensor(scores))
    same_state(m, t, dtype)
    prune.ln_structured(m, "weight", amount=1, n=2, dim=0, importance_scores=scores)   # an array works too
    tprune.ln_structured(t, "weight", amount=1, n=2, dim=0, importance_scores=torch.tensor(scores))
    same_state(m, t, dtype)
    with pytest.raises(AssertionError, match="same shape"):
        prune.l1_unstructured(m, "bias", amount=1, importance_scores=np.ones(3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_unstructured(dtype):
    (m1, t1), (m2, t2) = linears(dtype, 0), convs(dtype, 1)
    prune.l1_unstructured(m2, "weight", amount=5)     # an already pruned tensor takes part with its mask
    tprune.l1_unstructured(t2, "weight", amount=5)
    params = [(m1, "weight"), (m1, "bias"), (m2, "weight")]
    tparams = [(t1, "weight"), (t1, "bias"), (t2, "weight")]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.4)
    tprune.global_unstructured(tparams, pruning_method=tprune.L1Unstructured, amount=0.4)
    same_state(m1, t1, dtype)
    same_state(m2, t2, dtype)
    scores = np.random.default_rng(2).standard_normal(t1.weight.shape).astype(dtype)
    prune.global_unstructured(params, prune.L1Unstructured, importance_scores={(m1, "weight"): npg.tensor(scores)},
                              amount=7)
    tprune.global_unstructured(tparams, tprune.L1Unstructured,
                               importance_scores={(t1, "weight"): torch.tensor(scores)}, amount=7)
    same_state(m1, t1, dtype)
    same_state(m2, t2, dtype)
    same_forward_backward(m1, t1, (3, 6), dtype)
    with pytest.raises(TypeError, match="unstructured"):
        prune.global_unstructured(params, prune.LnStructured, amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="dict"):
        prune.global_unstructured(params, prune.L1Unstructured, importance_scores=[1], amount=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_custom_from_mask_identity_and_remove(dtype):
    m, t = linears(dtype)
    mask = np.random.default_rng(0).random((5, 6)) > 0.5
    prune.custom_from_mask(m, "weight", mask=npg.tensor(mask))
    tprune.custom_from_mask(t, "weight", mask=torch.tensor(mask))
    prune.identity(m, "bias")
    tprune.identity(t, "bias")
    same_state(m, t, dtype)
    same_forward_backward(m, t, (4, 6), dtype)
    prune.remove(m, "weight")
    tprune.remove(t, "weight")
    same_state(m, t, dtype)
    assert isinstance(m.weight, nn.Parameter) and prune.is_pruned(m)
    prune.remove(m, "bias")
    tprune.remove(t, "bias")
    same_state(m, t, dtype)
    assert not prune.is_pruned(m) and not m._forward_pre_hooks
    with pytest.raises(ValueError, match="has to be pruned"):
        prune.remove(m, "weight")


def test_forward_pre_hook_recomputes_after_an_optimizer_step():
    m, t = convs(np.float64)
    prune.ln_structured(m, "weight", amount=2, n=1, dim=0)
    tprune.ln_structured(t, "weight", amount=2, n=1, dim=0)
    opt, topt = npg.optim.SGD(m.parameters(), lr=0.1), torch.optim.SGD(t.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    for _ in range(2):
        opt.zero_grad()
        topt.zero_grad()
        m(npg.tensor(x)).sum().backward()
        t(torch.tensor(x)).sum().backward()
        opt.step()
        topt.step()
    same_state(m, t, np.float64, exact=False)
    assert np.all(m.weight.data[m.weight_mask.data == 0] == 0)
    assert_close(m(npg.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), np.float64)


def test_load_state_dict_from_torch_pruned_module():
    m, t = linears(np.float64)
    tprune.l1_unstructured(t, "weight", amount=0.5)
    prune.identity(m, "weight")
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 6))
    assert_close(m(npg.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), np.float64)


@pytest.mark.parametrize("amount", [4, 0.3])
def test_random_unstructured_counts(amount):
    npg.random.seed(0)
    m, _ = convs(np.float32)
    n = m.weight.data.size
    k = amount if isinstance(amount, int) else round(amount * n)
    prune.random_unstructured(m, "weight", amount=amount)
    assert m.weight_mask.dtype == np.float32 and (m.weight_mask.data == 0).sum() == k
    first = m.weight_mask.data.copy()
    prune.random_unstructured(m, "weight", amount=amount)    # only still-unpruned entries: k more
    k2 = amount if isinstance(amount, int) else round(amount * (n - k))
    assert (m.weight_mask.data == 0).sum() == k + k2 and np.all(m.weight_mask.data <= first)
    np.testing.assert_array_equal(m.weight.data, m.weight_orig.data * m.weight_mask.data)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_channels(dim):
    npg.random.seed(1)
    m, _ = convs(np.float64)
    prune.random_structured(m, "weight", amount=1, dim=dim)
    mask = m.weight_mask.data
    axes = tuple(d for d in range(4) if d != dim % 4)
    per_channel = mask.sum(axis=axes)
    full = mask.size // mask.shape[dim]
    assert sorted(per_channel.tolist()) == [0.0] + [float(full)] * (mask.shape[dim] - 1)
    prune.random_structured(m, "weight", amount=1, dim=dim)   # another, still-unpruned channel
    assert sorted(m.weight_mask.data.sum(axis=axes).tolist()) == [0.0] * 2 + [float(full)] * (mask.shape[dim] - 2)


def test_methods_prune_and_container():
    w = np.random.default_rng(0).standard_normal((4, 5))
    out = prune.L1Unstructured(amount=3).prune(npg.tensor(w))
    tout = tprune.L1Unstructured(amount=3).prune(torch.tensor(w))
    np.testing.assert_array_equal(out.data, tout.numpy())
    out = prune.LnStructured(amount=2, n=2, dim=0).prune(npg.tensor(w), importance_scores=npg.tensor(-w[::-1]))
    tout = tprune.LnStructured(amount=2, n=2, dim=0).prune(torch.tensor(w),
                                                           importance_scores=torch.tensor(-w[::-1].copy()))
    np.testing.assert_array_equal(out.data, tout.numpy())
    a, b = prune.L1Unstructured(1), prune.Identity()
    a._tensor_name, b._tensor_name = "weight", "bias"
    c = prune.PruningContainer(a)
    assert len(c) == 1 and c[0] is a and list(c) == [a]
    with pytest.raises(ValueError, match="'weight'"):
        c.add_pruning_method(b)
    with pytest.raises(TypeError, match="BasePruningMethod"):
        c.add_pruning_method(3)


def test_errors():
    m, _ = linears()
    with pytest.raises(TypeError, match="amount"):
        prune.l1_unstructured(m, "weight", amount="1")
    for bad in (-1, 1.5, -0.1):
        with pytest.raises(ValueError, match="amount"):
            prune.l1_unstructured(m, "weight", amount=bad)
    with pytest.raises(ValueError, match="smaller than"):
        prune.l1_unstructured(m, "weight", amount=31)
    # a failed pruning leaves the module as it was
    assert "weight" in m._parameters and "weight_orig" not in m._parameters and not prune.is_pruned(m)
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(m, "bias", amount=1, n=2, dim=0)
    with pytest.raises(IndexError, match="Invalid index"):
        prune.ln_structured(m, "weight", amount=1, n=2, dim=2)
    with pytest.raises(ValueError, match="n must be"):
        prune.ln_structured(m, "weight", amount=1, n="max", dim=0)
    assert "weight" in m._parameters and "bias" in m._parameters and not prune.is_pruned(m)
    with pytest.raises(AttributeError):
        prune.l1_unstructured(m, "nothing", amount=1)


def test_functional_call_on_a_pruned_module():
    m, t = linears(np.float64)
    prune.l1_unstructured(m, "weight", amount=12)
    tprune.l1_unstructured(t, "weight", amount=12)
    ones = {k: np.ones(tuple(v.shape)) for k, v in t.named_parameters()}
    x = np.random.default_rng(0).standard_normal((2, 6))
    y = npg.func.functional_call(m, {k: npg.tensor(v) for k, v in ones.items()}, (npg.tensor(x),))
    ty = torch.func.functional_call(t, {k: torch.tensor(v) for k, v in ones.items()}, (torch.tensor(x),))
    assert_close(y.data, ty.detach().numpy(), np.float64)
    assert_close(m(npg.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), np.float64)   # restored after
