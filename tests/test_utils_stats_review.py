"""Adversarial review of nn.utils, nn.init, parametrizations, LR schedulers and npg.stats against PyTorch,
SciPy and finite differences."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn


def _sgd_pair():
    p1, p2 = nn.Parameter(npg.tensor(np.ones(2))), nn.Parameter(npg.tensor(np.ones(3)))
    t1, t2 = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    o = npg.optim.SGD([{"params": [p1]}, {"params": [p2], "lr": 0.05}], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([{"params": [t1]}, {"params": [t2], "lr": 0.05}], lr=0.1, momentum=0.9)
    return o, to


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


_RESUMED = {
    "StepLR": lambda L, o, e: L.StepLR(o, 3, gamma=0.5, last_epoch=e),
    "MultiStepLR": lambda L, o, e: L.MultiStepLR(o, [2, 5, 9], gamma=0.5, last_epoch=e),
    "LinearLR": lambda L, o, e: L.LinearLR(o, start_factor=0.25, total_iters=7, last_epoch=e),
    "MultiplicativeLR": lambda L, o, e: L.MultiplicativeLR(o, lambda k: 0.9, last_epoch=e),
}


@pytest.mark.parametrize("name", sorted(_RESUMED))
@pytest.mark.parametrize("last_epoch", [0, 1, 2, 4, 5, 8])
def test_scheduler_resumed_from_last_epoch_matches_torch(name, last_epoch):
    # building a scheduler with last_epoch=k (resuming) makes PyTorch's initial step from epoch k to k + 1
    o, to = _sgd_pair()
    for g in o.param_groups + to.param_groups:
        g["initial_lr"] = g["lr"]
    s = _RESUMED[name](npg.optim.lr_scheduler, o, last_epoch)
    ts = _RESUMED[name](torch.optim.lr_scheduler, to, last_epoch)
    for _ in range(12):
        assert _lrs(o) == _lrs(to)
        assert s.get_last_lr() == ts.get_last_lr()
        s.step()
        ts.step()


def test_multiplicative_lr_step_with_epoch_zero_matches_torch():
    o, to = _sgd_pair()
    s = npg.optim.lr_scheduler.MultiplicativeLR(o, lambda k: 0.9)
    ts = torch.optim.lr_scheduler.MultiplicativeLR(to, lambda k: 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 0, 1, 0, 2]:
            s.step(epoch)
            ts.step(epoch)
            assert _lrs(o) == _lrs(to)
