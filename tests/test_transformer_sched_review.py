"""Adversarial review of the Transformer modules, MultiheadAttention, scaled_dot_product_attention and the LR
schedulers against torch 2.13 (the oracle): argument errors and values that earlier diverged."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.optim as optim

S, TS = optim.lr_scheduler, torch.optim.lr_scheduler


def make_optimizers(n_groups=3):
    ps = [nn.Parameter(npg.tensor(np.ones(2))) for _ in range(n_groups)]
    tps = [torch.ones(2, requires_grad=True) for _ in range(n_groups)]
    lrs = [0.1, 0.05, 0.3][:n_groups]
    opt = optim.SGD([dict(params=[p], lr=lr) for p, lr in zip(ps, lrs)], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([dict(params=[p], lr=lr) for p, lr in zip(tps, lrs)], lr=0.1, momentum=0.9)
    return opt, topt


ONECYCLE_BAD = [
    ("max_lr_short", dict(max_lr=[0.5, 0.1], total_steps=10)),
    ("max_lr_long", dict(max_lr=[0.5, 0.1, 0.2, 0.3], total_steps=10)),
    ("max_momentum_short", dict(max_lr=0.5, total_steps=10, max_momentum=[0.9, 0.95])),
    ("base_momentum_long", dict(max_lr=0.5, total_steps=10, base_momentum=[0.8, 0.8, 0.8, 0.8])),
    ("epochs_zero", dict(max_lr=0.5, epochs=0, steps_per_epoch=3)),
    ("epochs_float", dict(max_lr=0.5, epochs=2.5, steps_per_epoch=3)),
    ("steps_per_epoch_negative", dict(max_lr=0.5, epochs=2, steps_per_epoch=-3)),
]


@pytest.mark.parametrize("name,kw", ONECYCLE_BAD, ids=[c[0] for c in ONECYCLE_BAD])
def test_onecycle_bad_arguments_raise_torchs_value_error(name, kw):
    # before: a max_lr / momentum list of the wrong length was cut short by zip (a bare KeyError 'max_lr' in the
    # first step, or the extra values silently dropped), epochs=0 a ZeroDivisionError and epochs=2.5 a schedule
    # of 7.5 steps; torch raises a ValueError naming the argument
    opt, topt = make_optimizers()
    with pytest.raises(ValueError) as texc:
        TS.OneCycleLR(topt, **kw)
    with pytest.raises(ValueError) as exc:
        S.OneCycleLR(opt, **kw)
    assert str(exc.value) == str(texc.value)


GROUP_ADDED = [
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 0.9 ** e)),
    ("CosineAnnealingWarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3)),
    ("CyclicLR", lambda m, o: m.CyclicLR(o, 0.01, 0.1, cycle_momentum=False)),
]


@pytest.mark.parametrize("name,factory", GROUP_ADDED, ids=[c[0] for c in GROUP_ADDED])
def test_param_group_added_after_the_scheduler_raises(name, factory):
    # before: a group added to the optimizer after the scheduler was built silently kept its lr (0.7 for ever)
    # while the others followed the schedule; torch raises a ValueError at the next step (zip strict)
    opt, topt = make_optimizers()
    s, ts = factory(S, opt), factory(TS, topt)
    opt.add_param_group(dict(params=[nn.Parameter(npg.tensor(np.ones(2)))], lr=0.7))
    topt.add_param_group(dict(params=[torch.ones(2, requires_grad=True)], lr=0.7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.step()
        topt.step()
        with pytest.raises(ValueError):
            ts.step()
        with pytest.raises(ValueError, match=f"{name}.*4 parameter groups.*3"):
            s.step()
