"""Every learning-rate scheduler against torch.optim.lr_scheduler: the same floats (exact ==) for 30+ steps, the
optimizer's momentum / betas where a scheduler cycles them, state dicts with PyTorch's keys and values, resuming
from npgrad's and from PyTorch's state dicts, and ``step(epoch)``'s closed forms."""
import copy
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.optim as optim

S, TS = optim.lr_scheduler, torch.optim.lr_scheduler
TORCH_ONLY = set()  # keys only PyTorch's scheduler state dicts hold (none now)


def make_optimizers(opt_name="SGD"):
    arrays = [np.ones((2, 2)), np.ones(3)]
    ps = [nn.Parameter(npg.tensor(a)) for a in arrays]
    tps = [torch.tensor(a, requires_grad=True) for a in arrays]
    kw = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1, betas=(0.9, 0.99))
    opt = getattr(optim, opt_name)([dict(params=ps[:1]), dict(params=ps[1:], lr=0.05)], **kw)
    topt = getattr(torch.optim, opt_name)([dict(params=tps[:1]), dict(params=tps[1:], lr=0.05)], **kw)
    return opt, topt


def plain(sd):
    """A scheduler state dict with its numbers as Python values (PyTorch's may hold tuples / Counters)."""
    return {k: (plain(v) if isinstance(v, dict) else [plain(x) if isinstance(x, dict) else x for x in v]
                if isinstance(v, list) else v) for k, v in sd.items() if k not in TORCH_ONLY}


def assert_same_groups(opt, topt):
    for g, tg in zip(opt.param_groups, topt.param_groups):
        for k in ("lr", "momentum", "betas", "initial_lr", "max_momentum", "base_momentum"):
            if k in tg:
                assert (tuple(g[k]) if k == "betas" else g[k]) == (tuple(tg[k]) if k == "betas" else tg[k]), k


def metric(step):
    """A validation loss that improves, stalls, and improves again (drives ReduceLROnPlateau)."""
    return [1.0, 0.9, 0.85, 0.85, 0.86, 0.84, 0.84, 0.84, 0.84, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8][step % 15] - step // 15


def step_both(s, ts, opt, topt, i):
    opt.step()
    topt.step()
    if isinstance(s, S.ReduceLROnPlateau):
        s.step(metric(i))
        ts.step(metric(i))
    else:
        s.step()
        ts.step()


def _seq(m, o):
    return m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.CosineAnnealingLR(o, T_max=8),
                              m.ExponentialLR(o, 0.9)], milestones=[5, 15])


CASES = [  # name, factory(module, optimizer), optimizer
    ("StepLR", lambda m, o: m.StepLR(o, 4, 0.5), "SGD"),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, [3, 7, 7, 20], 0.3), "SGD"),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, 0.93), "SGD"),
    ("LinearLR", lambda m, o: m.LinearLR(o, 0.25, 0.9, total_iters=10), "SGD"),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, 9, eta_min=0.001), "SGD"),
    ("LambdaLR", lambda m, o: m.LambdaLR(o, [lambda e: 0.97 ** e, lambda e: 1 / (1 + e)]), "SGD"),
    ("MultiplicativeLR", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95), "SGD"),
    ("ConstantLR", lambda m, o: m.ConstantLR(o, factor=0.4, total_iters=6), "SGD"),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0), "SGD"),
    ("PolynomialLR-linear", lambda m, o: m.PolynomialLR(o, total_iters=7), "Adam"),
    ("SequentialLR", _seq, "SGD"),
    ("SequentialLR-one", lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.5, 3)], milestones=[]), "Adam"),
    ("ChainedScheduler", lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.2, 5), m.ExponentialLR(o, 0.9),
                                                          m.StepLR(o, 6, 0.5)]), "SGD"),
    ("ReduceLROnPlateau", lambda m, o: m.ReduceLROnPlateau(o, patience=2, factor=0.5, min_lr=[0.01, 0.02]), "SGD"),
    ("ReduceLROnPlateau-max-abs", lambda m, o: m.ReduceLROnPlateau(o, mode="max", patience=1, threshold=0.02,
                                                                   threshold_mode="abs", cooldown=2), "Adam"),
    ("ReduceLROnPlateau-cooldown", lambda m, o: m.ReduceLROnPlateau(o, patience=0, cooldown=3, eps=1e-3), "SGD"),
    ("CyclicLR", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5), "SGD"),
    ("CyclicLR-triangular2", lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.2, step_size_up=3, step_size_down=6,
                                                     mode="triangular2"), "Adam"),
    ("CyclicLR-exp_range", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.97,
                                                   cycle_momentum=False), "SGD"),
    ("CyclicLR-scale_fn", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 0.9 ** x,
                                                  scale_mode="iterations", base_momentum=[0.7, 0.75]), "SGD"),
    ("CosineAnnealingWarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001), "SGD"),
    ("CosineAnnealingWarmRestarts-mult", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), "Adam"),
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=40), "Adam"),
]


@pytest.mark.parametrize("name,factory,opt_name", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_35_steps_with_state_dicts(name, factory, opt_name):
    opt, topt = make_optimizers(opt_name)
    s, ts = factory(S, opt), factory(TS, topt)
    for i in range(35):
        assert s.get_last_lr() == ts.get_last_lr(), i
        assert_same_groups(opt, topt)
        step_both(s, ts, opt, topt, i)
        if i == 12:
            saved, tsaved = copy.deepcopy(s.state_dict()), copy.deepcopy(ts.state_dict())
            assert plain(saved) == plain(tsaved)
            saved_groups = copy.deepcopy([{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups])
    assert plain(s.state_dict()) == plain(ts.state_dict())
    # resume at step 13 from npgrad's and from PyTorch's state dict: the same 22 steps follow
    for source in (saved, tsaved):
        opt2, topt2 = make_optimizers(opt_name)
        s2, ts2 = factory(S, opt2), factory(TS, topt2)
        for g, sg in zip(opt2.param_groups, saved_groups):
            g.update(sg)
        for g, sg in zip(topt2.param_groups, saved_groups):
            g.update(sg)
        s2.load_state_dict(copy.deepcopy(source))
        ts2.load_state_dict(copy.deepcopy(tsaved))
        for i in range(13, 35):
            step_both(s2, ts2, opt2, topt2, i)
            assert s2.get_last_lr() == ts2.get_last_lr(), i
            assert_same_groups(opt2, topt2)
        assert s2.get_last_lr() == s.get_last_lr()


def test_step_with_epoch_uses_closed_form_and_warns():
    for factory in (lambda m, o: m.StepLR(o, 3, 0.5), lambda m, o: m.MultiStepLR(o, [2, 4, 4]),
                    lambda m, o: m.CosineAnnealingLR(o, 10), lambda m, o: m.LinearLR(o, 0.5, total_iters=4),
                    lambda m, o: m.PolynomialLR(o, 6, 1.5), lambda m, o: m.ConstantLR(o, 0.5, 3),
                    lambda m, o: m.ExponentialLR(o, 0.8)):
        opt, topt = make_optimizers()
        s, ts = factory(S, opt), factory(TS, topt)
        for epoch in (5, 2, 9, 0, 3):
            with pytest.warns(UserWarning, match="epoch parameter"):
                s.step(epoch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ts.step(epoch)
            assert s.get_last_lr() == ts.get_last_lr()


def test_warm_restarts_fractional_epochs():
    opt, topt = make_optimizers()
    s = S.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.01)
    ts = TS.CosineAnnealingWarmRestarts(topt, T_0=4, T_mult=2, eta_min=0.01)
    for epoch in range(20):
        for i in range(3):
            s.step(epoch + i / 3)
            ts.step(epoch + i / 3)
            assert s.get_last_lr() == ts.get_last_lr()
    assert plain(s.state_dict()) == plain(ts.state_dict())
    with pytest.raises(ValueError, match="non-negative"):
        s.step(-1)


def test_errors_as_torch():
    opt, topt = make_optimizers()
    other, _ = make_optimizers()
    for m, o, o2 in ((S, opt, other), (TS, topt, make_optimizers()[1])):
        with pytest.raises(ValueError, match="one more"):
            m.SequentialLR(o, [m.StepLR(o, 2), m.StepLR(o, 3)], milestones=[1, 2])
        with pytest.raises(ValueError, match="ReduceLROnPlateau"):
            m.ChainedScheduler([m.ReduceLROnPlateau(o)])
        with pytest.raises(ValueError, match="same optimizer"):
            m.ChainedScheduler([m.StepLR(o, 2), m.StepLR(o2, 2)])
        with pytest.raises(ValueError, match="Factor"):
            m.ReduceLROnPlateau(o, factor=1.5)
        with pytest.raises(ValueError, match="unknown"):
            m.ReduceLROnPlateau(o, mode="best")
        with pytest.raises(ValueError, match="min_lrs"):
            m.ReduceLROnPlateau(o, min_lr=[0.1])
        with pytest.raises(ValueError, match="mode is invalid"):
            m.CyclicLR(o, 0.01, 0.1, mode="square")
        with pytest.raises(ValueError, match="T_0"):
            m.CosineAnnealingWarmRestarts(o, T_0=0)
        with pytest.raises(ValueError, match="between 0 and 1"):
            m.ConstantLR(o, factor=2)
    with pytest.raises(ValueError, match="momentum"):
        S.CyclicLR(optim.Adagrad([nn.Parameter(npg.zeros(2))]), 0.01, 0.1)
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.ReduceLROnPlateau("sgd")


def test_plateau_reduces_and_training_follows_torch():
    """An Adam model trained with ReduceLROnPlateau stepping on its own loss follows PyTorch's."""
    rng = np.random.default_rng(0)
    X, y, W0 = rng.standard_normal((16, 3)), rng.standard_normal(16), rng.standard_normal(3)
    W, tW = nn.Parameter(npg.tensor(W0)), torch.tensor(W0, requires_grad=True)
    opt, topt = optim.Adam([W], lr=0.3), torch.optim.Adam([tW], lr=0.3)
    s, ts = S.ReduceLROnPlateau(opt, patience=1, factor=0.3), TS.ReduceLROnPlateau(topt, patience=1, factor=0.3)
    for _ in range(40):
        opt.zero_grad()
        topt.zero_grad()
        loss = ((X @ W - y) ** 2).mean()
        tloss = ((torch.tensor(X) @ tW - torch.tensor(y)) ** 2).mean()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        s.step(loss.item())
        ts.step(tloss.item())
        assert s.get_last_lr() == ts.get_last_lr()
    assert s.get_last_lr()[0] < 0.3
    np.testing.assert_allclose(W.data, tW.detach().numpy(), rtol=1e-10)
