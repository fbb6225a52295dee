"""Adversarial review of npgrad.optim, lr_scheduler, data and serialization against PyTorch: each test pins a
divergence that was found by differential testing (torch is the oracle)."""
import collections
import copy

import numpy as np
import pytest
import torch

import npgrad as npg
from tests import helpers
import npgrad.optim as optim

torch_default_float64 = helpers.torch_default_float64    # a fixture


def _steps(t_opt, n_opt, t_params, n_params, rng, steps):
    for _ in range(steps):
        for a, b in zip(t_params, n_params):
            g = np.asarray(rng.standard_normal(a.shape))
            a.grad = torch.tensor(g)
            b.grad = g.copy()
        t_opt.step()
        n_opt.step()


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("RMSprop", dict(momentum=0.5, centered=True)), ("Rprop", {})])
@pytest.mark.usefixtures("torch_default_float64")
def test_loaded_state_of_a_0d_parameter_stays_an_array(name, kw):
    """A 0-d parameter's buffers (momentum_buffer, exp_avg, ...) are 0-d tensors in PyTorch: loading a state dict
    (PyTorch's or npgrad's own) must keep them arrays, updated in place, not turn them into Python floats."""
    rng = np.random.default_rng(0)
    init = [np.asarray(1.5), rng.standard_normal(3)]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    npp = [npg.tensor(a.copy(), requires_grad=True) for a in init]
    t_opt, n_opt = getattr(torch.optim, name)(tp, **kw), getattr(optim, name)(npp, **kw)
    _steps(t_opt, n_opt, tp, npp, rng, 3)
    t_saved = copy.deepcopy(t_opt.state_dict())
    for source in (t_saved, n_opt.state_dict()):
        tp2 = [torch.tensor(a.detach().numpy(), requires_grad=True) for a in tp]
        npp2 = [npg.tensor(a.detach().numpy().copy(), requires_grad=True) for a in tp]
        t2, n2 = getattr(torch.optim, name)(tp2, **kw), getattr(optim, name)(npp2, **kw)
        t2.load_state_dict(copy.deepcopy(t_saved))
        n2.load_state_dict(source)
        _steps(t2, n2, tp2, npp2, np.random.default_rng(1), 5)
        for a, b in zip(tp2, npp2):
            np.testing.assert_allclose(b.data, a.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.usefixtures("torch_default_float64")
def test_adagrad_accumulator_starts_at_the_constructors_value(dtype):
    """PyTorch's Adagrad starts every accumulator at the constructor's initial_accumulator_value (a group's own
    value is ignored), and a group added by add_param_group gets its state at its first step."""
    rng = np.random.default_rng(0)
    init = [(rng.standard_normal(3) + (1j if dtype == np.complex128 else 0) * rng.standard_normal(3)).astype(dtype)
            for _ in range(3)]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    npp = [npg.tensor(a.copy(), requires_grad=True) for a in init]
    make = [lambda ps, lib=lib: lib.optim.Adagrad([{"params": ps[:1], "initial_accumulator_value": 2.0}],
                                                  lr=0.1, initial_accumulator_value=0.25) for lib in (torch, npg)]
    t_opt, n_opt = make[0](tp), make[1](npp)
    for i in range(12):
        if i == 4:
            t_opt.add_param_group({"params": tp[1:], "initial_accumulator_value": 3.0, "lr_decay": 0.1})
            n_opt.add_param_group({"params": npp[1:], "initial_accumulator_value": 3.0, "lr_decay": 0.1})
        for a, b in zip(tp, npp):
            g = (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(dtype) if dtype == np.complex128 \
                else rng.standard_normal(3)
            a.grad = torch.tensor(g)
            b.grad = g.copy()
        t_opt.step()
        n_opt.step()
    for a, b in zip(tp, npp):
        np.testing.assert_allclose(b.data, a.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(tp, npp):
        np.testing.assert_allclose(n_opt.state[b]["sum"], t_opt.state[a]["sum"].numpy(), rtol=1e-12)


class _Row(list):
    pass


def _structure(x):
    """A batch as nested plain values, with the container types and the tensors' dtypes and values."""
    if isinstance(x, (torch.Tensor, npg.Tensor)):
        arr = x.numpy() if isinstance(x, torch.Tensor) else x.data
        return ("tensor", str(arr.dtype), arr.tolist())
    if isinstance(x, collections.abc.Mapping):
        return (type(x).__name__, {k: _structure(x[k]) for k in x})
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_structure(v) for v in x])
    return (type(x).__name__, x)


@pytest.mark.parametrize("batch", [
    [{"x": 1, "y": (1.0, "s")}, {"x": 2, "y": (2.0, "t")}],                    # a string field of tuples
    [[("a", 1)], [("b", 2)]],
    [collections.OrderedDict(b=1, a=2.5), collections.OrderedDict(b=3, a=4.5)],  # the mapping type is kept
    [collections.defaultdict(int, a=1), collections.defaultdict(int, a=2)],
    [_Row([1, 2.0]), _Row([3, 4.0])],                                           # so is a list subclass
    [range(2), range(2)],                                                      # a sequence: field by field
], ids=["str-in-tuple", "str-in-list", "OrderedDict", "defaultdict", "list-subclass", "range"])
def test_default_collate_keeps_pytorchs_containers(batch):
    import torch.utils.data as td
    from npgrad import data
    assert _structure(data.default_collate(batch)) == _structure(td.default_collate(batch))


def test_subset_keeps_its_indices_and_takes_list_indices_as_pytorch():
    import torch.utils.data as td
    from npgrad import data
    x = np.arange(10.0)
    ours = data.Subset(data.TensorDataset(x), [3, 1, 4])
    theirs = td.Subset(td.TensorDataset(torch.tensor(x)), [3, 1, 4])
    assert _structure(ours[[0, 2]]) == _structure(theirs[[0, 2]])
    assert _structure(ours.__getitems__([2, 0])) == _structure(theirs.__getitems__([2, 0]))
    assert ours.indices == [3, 1, 4]
    keyed = {"a": 1.0, "b": 2.0}                      # any keys of the dataset, not only integers
    assert data.Subset(keyed, ["b"])[0] == td.Subset(keyed, ["b"])[0]
    split = data.random_split(range(10), [0.3, 0.7], seed=0)
    assert [type(s.indices) for s in split] == [type(s.indices) for s in td.random_split(range(10), [0.3, 0.7])]
    assert all(type(i) is int for s in split for i in s.indices)
    assert sorted(split[0].indices + split[1].indices) == list(range(10))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "Adamax", "Rprop"])
def test_a_one_element_tensor_lr_trains_as_torch(name):
    p = npg.tensor(np.array([1.0, -2.0, 0.5]))
    tp = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    opt = getattr(npg.optim, name)([p], lr=npg.tensor(np.array(0.05)))
    topt = getattr(torch.optim, name)([tp], lr=torch.tensor(0.05, dtype=torch.float64))
    for _ in range(4):
        opt.zero_grad()
        (p * p * p).sum().backward()
        opt.step()
        topt.zero_grad()
        (tp * tp * tp).sum().backward()
        topt.step()
    # (torch keeps NAdam's step count and mu product as float32 tensors: 1e-9 apart from float64 arithmetic)
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-8 if name == "NAdam" else 1e-12)
    with pytest.raises(ValueError):   # (as torch: a tensor lr holds one value)
        getattr(npg.optim, name)([npg.tensor(np.ones(2))], lr=npg.tensor(np.array([0.1, 0.2])))
