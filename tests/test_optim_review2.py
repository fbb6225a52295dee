"""Optimizers and LR schedulers against torch 2.13, review round 2: what round 1 (test_optim_review.py) and the
parity tests (test_optim*.py, test_schedulers.py) leave out."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.optim as optim

S, TS = optim.lr_scheduler, torch.optim.lr_scheduler
BEFORE = "before `optimizer.step()`"


def _messages(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


def _pair():
    return (optim.SGD([npg.zeros(2, requires_grad=True)], lr=0.1),
            torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1))


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, 2),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, 1.0, total_steps=5),
    "CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.StepLR(o, 2), m.ExponentialLR(o, 0.9)]),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), m.ExponentialLR(o, 0.9)], [3]),
    "ReduceLROnPlateau": None,
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 2),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("order", ["scheduler_first", "optimizer_first", "optimizer_stepped_before_scheduler"])
def test_scheduler_step_before_optimizer_step_warns_as_torch(name, order):
    """PyTorch warns ("Detected call of `lr_scheduler.step()` before `optimizer.step()`") when the first
    scheduler step comes before any optimizer step made since the scheduler was attached."""
    counts = []
    for mod, smod in ((npg, S), (torch, TS)):
        opt = _pair()[0 if mod is npg else 1]
        if order == "optimizer_stepped_before_scheduler":
            opt.step()
        if name == "ReduceLROnPlateau":
            sched = smod.ReduceLROnPlateau(opt)
            step = lambda: sched.step(1.0)  # noqa: E731
        else:
            sched = SCHEDULES[name](smod, opt)
            step = sched.step

        def run():
            if order == "optimizer_first":
                opt.step()
            step()
            opt.step()
            step()
        counts.append(sum(BEFORE in m for m in _messages(run)))
    assert counts[0] == counts[1]


def test_overridden_optimizer_step_warns_as_torch():
    for opt, smod in zip(_pair(), (S, TS)):
        sched = smod.StepLR(opt, 2)
        opt.step = lambda *a, **k: None
        assert any("overridden" in m for m in _messages(sched.step))


GET_LR = {
    "StepLR": lambda m, o: m.StepLR(o, 2), "MultiStepLR": lambda m, o: m.MultiStepLR(o, [2]),
    "ConstantLR": lambda m, o: m.ConstantLR(o), "LinearLR": lambda m, o: m.LinearLR(o),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.9), "PolynomialLR": lambda m, o: m.PolynomialLR(o),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 5),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1.0),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 1.0),
    "CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, 1.0, total_steps=5),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 2),
    "SWALR": lambda m, o: (optim.swa_utils if m is S else torch.optim.swa_utils).SWALR(o, 0.05),
}


@pytest.mark.parametrize("name", list(GET_LR))
def test_get_lr_outside_step_warns_as_torch(name):
    """PyTorch's built-in schedulers warn "please use `get_last_lr()`" when get_lr() is called by the user (and
    only then: not from step()); the state dict then holds ``_get_lr_called_within_step`` as PyTorch's."""
    for opt, smod in zip(_pair(), (S, TS)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = GET_LR[name](smod, opt)
        opt.step()
        assert not any("get_last_lr" in m for m in _messages(sched.step)), smod
        assert any("please use `get_last_lr()`" in m for m in _messages(sched.get_lr)), smod
        assert sched.state_dict()["_get_lr_called_within_step"] is False


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_tensor_lr_with_foreach_and_not_capturable_raises_as_torch(name):
    for mod in (torch, npg):
        p = [mod.zeros(2, requires_grad=True)]
        with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable=False and foreach=True"):
            getattr(mod.optim, name)(p, lr=mod.tensor(0.1), foreach=True)
        getattr(mod.optim, name)(p, lr=mod.tensor(0.1), foreach=True, capturable=True)  # accepted
        getattr(mod.optim, name)(p, lr=mod.tensor(0.1), foreach=False)
