"""npgrad.optim against torch.optim: 20 steps of every optimizer (and option) agree to float64 precision;
param groups, zero_grad, state_dict save/load/resume; learning-rate schedules give PyTorch's floats."""
import math

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.optim as optim


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(5).astype(dtype),
              rng.standard_normal((2, 2, 2)).astype(dtype)]
    return ([nn.Parameter(npg.tensor(a.copy())) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def grad_of(p, step, i):
    """A gradient that depends on the current parameter values and on the step."""
    noise = np.random.default_rng(100 * step + i).standard_normal(p.shape)
    return np.tanh(p) + 0.3 * p ** 2 - 0.2 + 0.5 * noise


def run_both(make, tmake, steps=20, groups=None, skip_grad=None, dtype=np.float64, sched=None):
    ps, tps = make_params(dtype=dtype)
    if groups:
        opt = make([dict(params=[ps[i] for i in g], **kw) for g, kw in groups])
        topt = tmake([dict(params=[tps[i] for i in g], **kw) for g, kw in groups])
    else:
        opt, topt = make(ps), tmake(tps)
    scheds = (sched[0](opt), sched[1](topt)) if sched else None
    for step in range(steps):
        for i, (p, tp) in enumerate(zip(ps, tps)):
            if skip_grad and (step, i) in skip_grad:
                p.grad, tp.grad = None, None
                continue
            p.grad = grad_of(p.data, step, i).astype(dtype)
            tp.grad = torch.tensor(grad_of(tp.detach().numpy(), step, i).astype(dtype))
        opt.step()
        topt.step()
        if scheds:
            scheds[0].step()
            scheds[1].step()
    return ps, tps, opt, topt


def assert_params_equal(ps, tps, rtol=1e-12, atol=1e-14):
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=rtol, atol=atol)


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), maximize=True)),  # 1 - beta1 >= 0.5: the other lerp branch
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, betas=(0.95, 0.9), eps=1e-4)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_optimizer_matches_torch_float64(name, kw):
    ps, tps, _, _ = run_both(lambda p: getattr(optim, name)(p, **kw),
                             lambda p: getattr(torch.optim, name)(p, foreach=False, **kw))
    assert_params_equal(ps, tps)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_float32(name):
    kw = dict(lr=0.01, momentum=0.9) if name == "SGD" else dict(lr=0.01)
    ps, tps, _, _ = run_both(lambda p: getattr(optim, name)(p, **kw),
                             lambda p: getattr(torch.optim, name)(p, foreach=False, **kw), dtype=np.float32)
    for p in ps:
        assert p.dtype == np.float32
    assert_params_equal(ps, tps, rtol=1e-5, atol=1e-6)


def test_param_groups_and_missing_gradients():
    groups = [([0, 2], dict(lr=0.05, weight_decay=0.2)), ([1], dict())]
    skip = {(3, 0), (4, 0), (5, 1)}  # parameters without a gradient at some steps are left alone
    ps, tps, opt, _ = run_both(lambda g: optim.AdamW(g, lr=0.01), lambda g: torch.optim.AdamW(g, lr=0.01, foreach=False),
                               groups=groups, skip_grad=skip)
    assert_params_equal(ps, tps)
    assert opt.param_groups[0]["lr"] == 0.05 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["weight_decay"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([dict(params=[ps[0]]), dict(params=[ps[0]])], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)


def test_zero_grad():
    ps, _ = make_params()
    opt = optim.SGD(ps, lr=0.1)
    for p in ps:
        p.grad = np.ones_like(p.data)
    opt.zero_grad(set_to_none=False)
    assert all((p.grad == 0).all() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("RMSprop", dict(centered=True, momentum=0.3)), ("Adagrad", dict())])
def test_state_dict_save_load_resume(name, kw, tmp_path):
    """10 steps, save model+optimizer with npg.save, load into fresh objects, 10 more steps == 20 straight."""
    ps_ref, tps, _, _ = run_both(lambda p: getattr(optim, name)(p, **kw),
                                 lambda p: getattr(torch.optim, name)(p, foreach=False, **kw), steps=20)
    ps, _ = make_params()
    opt = getattr(optim, name)(ps, **kw)
    for step in range(10):
        for i, p in enumerate(ps):
            p.grad = grad_of(p.data, step, i)
        opt.step()
    npg.save({"params": [p.data for p in ps], "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    ck = npg.load(tmp_path / "ckpt.npz")
    ps2 = [nn.Parameter(npg.tensor(a)) for a in ck["params"]]
    opt2 = getattr(optim, name)(ps2, lr=123.0)
    opt2.load_state_dict(ck["optim"])
    assert opt2.param_groups[0]["lr"] == kw.get("lr", opt.defaults["lr"])
    for step in range(10, 20):
        for i, p in enumerate(ps2):
            p.grad = grad_of(p.data, step, i)
        opt2.step()
    assert_params_equal(ps2, tps)
    assert_params_equal(ps2, [torch.tensor(p.data) for p in ps_ref], rtol=0, atol=0)


def test_state_dict_layout_matches_torch():
    ps, tps, opt, topt = run_both(lambda p: optim.Adam(p, amsgrad=True), lambda p: torch.optim.Adam(p, amsgrad=True,
                                                                                                      foreach=False),
                                  steps=2)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"]
    assert set(sd["state"]) == set(tsd["state"])
    assert set(sd["state"][0]) == set(tsd["state"][0])
    for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        np.testing.assert_allclose(sd["state"][0][k], tsd["state"][0][k].numpy(), rtol=1e-12)
    assert float(sd["state"][0]["step"]) == float(tsd["state"][0]["step"])


def test_closure_and_maximize_direction():
    p = nn.Parameter(npg.tensor([1.0, -2.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.data, [0.8, -1.6])


# -------------------------------------------------------------------------- schedulers
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5), 20),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), 15),
    ("ExponentialLR", dict(gamma=0.9), 10),
    ("LinearLR", dict(start_factor=0.2, total_iters=6), 12),
    ("CosineAnnealingLR", dict(T_max=10), 35),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), 30),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e)), 10),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=25), 25),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=7, anneal_strategy="linear",
                        three_phase=True), 21),
]


@pytest.mark.parametrize("name,kw,steps", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULERS)])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_scheduler_matches_torch(name, kw, steps, opt_name):
    ps, tps = make_params()
    okw = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1)
    opt = getattr(optim, opt_name)([dict(params=ps[:2]), dict(params=ps[2:], lr=0.05)], **okw)
    topt = getattr(torch.optim, opt_name)([dict(params=tps[:2]), dict(params=tps[2:], lr=0.05)], **okw)
    if name == "OneCycleLR" and not isinstance(kw["max_lr"], list):
        kw = dict(kw)
    s = getattr(optim.lr_scheduler, name)(opt, **kw)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for _ in range(steps):
        assert s.get_last_lr() == ts.get_last_lr()
        for g, tg in zip(opt.param_groups, topt.param_groups):
            assert g["lr"] == tg["lr"]
            if "betas" in g:
                assert g["betas"] == tuple(tg["betas"])
            if "momentum" in g:
                assert g["momentum"] == tg["momentum"]
        opt.step()
        topt.step()
        s.step()
        ts.step()


def test_scheduled_training_matches_torch():
    ps, tps, _, _ = run_both(lambda p: optim.AdamW(p, lr=0.02), lambda p: torch.optim.AdamW(p, lr=0.02, foreach=False),
                             sched=(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=20),
                                    lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20)))
    assert_params_equal(ps, tps)


def test_bad_hyperparameters():
    ps, _ = make_params()
    with pytest.raises(ValueError):
        optim.SGD(ps, lr=-1)
    with pytest.raises(ValueError):
        optim.Adam(ps, betas=(1.0, 0.9))
    with pytest.raises(ValueError):
        optim.SGD(ps, lr=0.1, nesterov=True)
    with pytest.raises(TypeError):
        optim.SGD(ps[0], lr=0.1)
    assert math.isclose(optim.AdamW(ps).defaults["weight_decay"], 0.01)
