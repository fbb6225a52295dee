"""The implementation flags of npgrad.optim against torch.optim (foreach, fused, capturable, differentiable, Adam's
decoupled_weight_decay): every signature is PyTorch's, the parameter groups hold PyTorch's keys and values, the
updates are PyTorch's, the conflicts raise PyTorch's errors; named parameters and the optimizer hooks, side by
side with torch."""
import inspect

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_same_error, torch_default_float64  # noqa: F401  (a fixture)
import npgrad.nn as nn
import npgrad.optim as optim
from tests.test_optim_extra import TOL, _assert_params, _assert_state_dicts, _check_round_trips, _params, _run, \
    _set_dense_grads


# ------------------------------------------------------------------------------------------ flags
def test_every_torch_optimizer_exists_with_torchs_signature():
    names = [n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type)
             and issubclass(getattr(torch.optim, n), torch.optim.Optimizer) and n != "Optimizer"]
    assert len(names) >= 15
    for name in names:
        ours = inspect.signature(getattr(optim, name).__init__).parameters
        theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
        assert list(ours) == list(theirs), name
        for k in theirs:
            assert ours[k].kind == theirs[k].kind, (name, k)
            assert ours[k].default == theirs[k].default, (name, k)


FLAGGED = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta", "ASGD", "Rprop",
           "Adafactor"]


def _flag_options(name):
    sig = inspect.signature(getattr(torch.optim, name).__init__).parameters
    out = [dict(foreach=True), dict(foreach=False)]
    if "fused" in sig:
        out.append(dict(fused=True))
    if "capturable" in sig:
        out.append(dict(capturable=True, foreach=False))
    return out



@pytest.mark.parametrize("name", FLAGGED)
def test_flags_recorded_as_torch_and_update_unchanged(name, torch_default_float64):
    """Every flag combination torch accepts: npgrad's defaults and parameter groups are torch's (keys and values);
    8 steps are torch's single-tensor steps (to float64 precision) and its multi-tensor / fused kernels' steps
    (which round differently: to 1e-7). capturable=True runs on CUDA only in torch, the same update."""
    kw = dict(lr=0.01) if name in ("Adafactor", "Rprop") else dict(lr=0.01, weight_decay=0.1)
    for flags in _flag_options(name):
        ps, tps = _params([(4, 3), (5,)], np.float64)
        _, tps_flagged = _params([(4, 3), (5,)], np.float64)
        opt = getattr(optim, name)([dict(params=ps[:1]), dict(params=ps[1:], lr=0.02)], **kw, **flags)
        topt = getattr(torch.optim, name)([dict(params=tps[:1]), dict(params=tps[1:], lr=0.02)], **kw, **flags)
        assert opt.defaults == topt.defaults, (flags, opt.defaults, topt.defaults)
        for g, tg in zip(opt.param_groups, topt.param_groups):
            assert {k: v for k, v in g.items() if k != "params"} == {k: v for k, v in tg.items() if k != "params"}
        topts = [getattr(torch.optim, name)([dict(params=tps[:1]), dict(params=tps[1:], lr=0.02)], **kw,
                                            foreach=False)]
        if not flags.get("capturable"):
            topts.append(getattr(torch.optim, name)([dict(params=tps_flagged[:1]),
                                                     dict(params=tps_flagged[1:], lr=0.02)], **kw, **flags))
        for step in range(8):
            _set_dense_grads(ps, tps, step, np.float64)
            for p, tp in zip(tps_flagged, tps):
                p.grad = tp.grad.clone()
            opt.step()
            for t in topts:
                t.step()
        for p, tp, tpf in zip(ps, tps, tps_flagged):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[np.float64], err_msg=str(flags))
            if len(topts) == 2:
                np.testing.assert_allclose(p.data, tpf.detach().numpy(), rtol=1e-7, atol=1e-9, err_msg=str(flags))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_conflicts_and_refusals_as_torch(name):
    ps, tps = _params([(3,)], np.float64)
    for kw in [dict(fused=True, foreach=True), dict(fused=True, differentiable=True)]:
        assert_same_error(RuntimeError, lambda: getattr(torch.optim, name)(tps, lr=0.1, **kw),
                          lambda: getattr(optim, name)(ps, lr=0.1, **kw))
    z, tz = npg.tensor(np.ones(2, np.complex128), requires_grad=True), torch.ones(2, dtype=torch.complex128,
                                                                                   requires_grad=True)
    opt, topt = getattr(optim, name)([z], lr=0.1, fused=True), getattr(torch.optim, name)([tz], lr=0.1, fused=True)
    z.grad, tz.grad = np.ones(2, np.complex128), torch.ones(2, dtype=torch.complex128)
    with pytest.raises(RuntimeError, match="fused=True` requires all the params to be floating point"):
        topt.step()
    with pytest.raises(RuntimeError, match="fused=True` requires all the params to be floating point"):
        opt.step()
    emb, temb = nn.Embedding(5, 3, sparse=True), torch.nn.Embedding(5, 3, sparse=True)
    opt = getattr(optim, name)(emb.parameters(), lr=0.1, fused=True)
    topt = getattr(torch.optim, name)(temb.parameters(), lr=0.1, fused=True)
    npg.sum(emb(np.array([1, 2]))).backward()
    temb(torch.tensor([1, 2])).sum().backward()
    assert_same_error(RuntimeError, lambda: topt.step(), lambda: opt.step())


@pytest.mark.parametrize("name", FLAGGED[:-1])
def test_differentiable_true_names_the_optimizer(name):
    ps, _ = _params([(3,)], np.float64)
    getattr(optim, name)(ps, differentiable=False)
    with pytest.raises(NotImplementedError, match=rf"{name}\(differentiable=True\)"):
        getattr(optim, name)(ps, differentiable=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_decoupled_weight_decay_is_adamw(dtype):
    kw = dict(lr=0.02, weight_decay=0.3, amsgrad=True)
    groups = [([0], dict(decoupled_weight_decay=False)), ([1, 2], dict(maximize=True))]
    shapes = [(4, 3), (5,), (2, 2, 2)]
    for tname in ("Adam", "AdamW"):
        tkw = dict(kw, decoupled_weight_decay=True) if tname == "Adam" else kw
        ps, tps, opt, topt = _run(lambda p: optim.Adam(p, decoupled_weight_decay=True, foreach=False, **kw),
                                  lambda p: getattr(torch.optim, tname)(p, foreach=False, **tkw), shapes, dtype, 10,
                                  groups=groups if tname == "Adam" else None)
        _assert_params(ps, tps, dtype)
        if tname == "Adam":
            _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    _check_round_trips(lambda p: optim.Adam(p, decoupled_weight_decay=True, **kw),
                       lambda p: torch.optim.Adam(p, decoupled_weight_decay=True, **kw), shapes, dtype, groups=groups)


def test_adamw_stays_decoupled_when_loading_an_adam_state_dict():
    """PyTorch's AdamW sets decoupled_weight_decay=True on every group it loads; so does npgrad's."""
    ps, tps = _params([(3,)], np.float64)
    sd = optim.Adam(ps, weight_decay=0.1).state_dict()
    opt, topt = optim.AdamW(ps), torch.optim.AdamW(tps)
    opt.load_state_dict(sd)
    topt.load_state_dict(torch.optim.Adam(tps, weight_decay=0.1).state_dict())
    assert opt.param_groups[0]["decoupled_weight_decay"] is topt.param_groups[0]["decoupled_weight_decay"] is True
    assert opt.param_groups[0]["weight_decay"] == topt.param_groups[0]["weight_decay"] == 0.1


# ------------------------------------------------------------------------------------------ named params, hooks
def test_named_parameters_as_torch():
    """``Optimizer(model.named_parameters())``: the names go into the group's ``param_names`` and the state dict,
    as PyTorch's; torch's state dict with names loads, and mixing named and unnamed groups is refused."""
    m = nn.Linear(3, 2)
    tm = torch.nn.Linear(3, 2).double()
    opt, topt = optim.AdamW(m.named_parameters(), lr=0.1), torch.optim.AdamW(tm.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == topt.param_groups[0]["param_names"] == ["weight", "bias"]
    for p, (_, tp) in zip(m.parameters(), tm.named_parameters()):
        p.grad, tp.grad = np.ones(p.shape), torch.ones(tp.shape, dtype=torch.float64)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0]["param_names"] == tsd["param_groups"][0]["param_names"]
    _assert_state_dicts(sd, tsd, np.float64)
    opt2 = optim.AdamW(nn.Linear(3, 2).parameters())
    opt2.load_state_dict(tsd)
    assert opt2.param_groups[0]["param_names"] == ["weight", "bias"]
    named = list(nn.Linear(3, 2).named_parameters())
    tnamed = list(torch.nn.Linear(3, 2).named_parameters())
    for mod, make, params in ((torch.optim, torch.optim.SGD, tnamed), (optim, optim.SGD, named)):
        o = make([params[0]], lr=0.1)
        with pytest.raises(ValueError, match="with/without names") as e1:
            o.add_param_group(dict(params=[params[1][1]]))
        with pytest.raises(ValueError, match="Some param names are missing"):
            make([dict(params=[params[0], params[1][1]])], lr=0.1)
        with pytest.raises(TypeError, match="ordered collections"):
            make([dict(params={p for _, p in params})], lr=0.1)
        assert "cannot add param group without names" in str(e1.value)


def test_step_and_state_dict_hooks_as_torch():
    """Step pre/post hooks (a pre hook may replace args and kwargs), global step hooks, state-dict and
    load-state-dict hooks (prepend, returned dicts, removal): the same calls in the same order as torch."""
    from npgrad.optim import optimizer as npg_optimizer
    from torch.optim import optimizer as torch_optimizer

    def record(mod, make, params):
        calls = []
        opt = make(params, lr=0.1)
        g1 = mod.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global-pre", len(a))))
        g2 = mod.register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global-post", len(a))))
        h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt, type(a).__name__, k)))
        opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), sorted(k))))
        h3 = opt.register_step_pre_hook(lambda o, a, k: ((a[0],), {"closure": lambda: 5.0}))
        try:
            loss = opt.step()
        finally:
            g1.remove()
            g2.remove()
        h1.remove()
        h3.remove()
        opt.step()
        calls.append(("loss", float(loss)))
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd-pre"))
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd-pre-first"), prepend=True)
        opt.register_state_dict_post_hook(lambda o, sd: dict(sd, extra=1))
        sd = opt.state_dict()
        calls.append(("extra", sd.get("extra")))
        opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items() if k != "extra"})
        opt.register_load_state_dict_post_hook(lambda o: calls.append("load-post"))
        opt.load_state_dict(sd)
        return calls

    ps, tps = _params([(3,)], np.float64)
    ps[0].grad, tps[0].grad = np.ones(3), torch.ones(3, dtype=torch.float64)
    ours = record(npg_optimizer, optim.SGD, ps)
    theirs = record(torch_optimizer, torch.optim.SGD, tps)
    assert ours == theirs
    np.testing.assert_allclose(ps[0].data, tps[0].detach().numpy(), rtol=1e-15)
