"""npgrad.optim.swa_utils against torch.optim.swa_utils: AveragedModel (default running mean, use_buffers,
avg_fn, multi_avg_fn with the EMA and SWA helpers) after several updates of a model with BatchNorm: every
entry of the state dict; update_bn's running statistics; SWALR's learning rates step by step and its state
dict; the errors."""
import numpy as np
import pytest
import torch
import torch.optim.swa_utils as TS

import npgrad as npg
from tests.helpers import torch_default_float64  # noqa: F401  (a fixture)
import npgrad.nn as nn
import npgrad.optim as optim
from npgrad.optim import swa_utils as S


def _models():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).double()
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    m.load_state_dict({k: v.numpy().copy() for k, v in tm.state_dict().items()})
    return m, tm


def _perturb(m, tm, rng):
    for p, tp in zip(m.parameters(), tm.parameters()):
        d = rng.standard_normal(p.shape)
        p.data += d
        with torch.no_grad():
            tp += torch.tensor(d)
    x = rng.standard_normal((5, 3))
    m(x)                        # training mode: the BatchNorm buffers move
    tm(torch.tensor(x))



AVERAGING = [
    ("mean", lambda mod: {}),
    ("use_buffers", lambda mod: dict(use_buffers=True)),
    ("ema-multi", lambda mod: dict(multi_avg_fn=mod.get_ema_multi_avg_fn(0.9))),
    ("swa-multi", lambda mod: dict(multi_avg_fn=mod.get_swa_multi_avg_fn())),
    ("ema-multi-buffers", lambda mod: dict(multi_avg_fn=mod.get_ema_multi_avg_fn(0.7), use_buffers=True)),
    ("ema", lambda mod: dict(avg_fn=mod.get_ema_avg_fn(0.8))),
    ("swa", lambda mod: dict(avg_fn=mod.get_swa_avg_fn())),
]


@pytest.mark.parametrize("name,kw", AVERAGING, ids=[a[0] for a in AVERAGING])
def test_averaged_model_matches_torch(name, kw, torch_default_float64):
    m, tm = _models()
    a, ta = S.AveragedModel(m, **kw(S)), TS.AveragedModel(tm, **kw(TS))
    rng = np.random.default_rng(0)
    for _ in range(5):
        _perturb(m, tm, rng)
        a.update_parameters(m)
        ta.update_parameters(tm)
        sd, tsd = a.state_dict(), ta.state_dict()
        assert list(sd) == list(tsd)
        for k in sd:
            v = np.asarray(sd[k].data if isinstance(sd[k], npg.Tensor) else sd[k])
            assert v.dtype == tsd[k].numpy().dtype, k
            np.testing.assert_allclose(v, tsd[k].numpy(), rtol=1e-12, atol=1e-12, err_msg=k)
    x = rng.standard_normal((4, 3))
    a.eval()
    ta.eval()
    np.testing.assert_allclose(a(x).data, ta(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    assert int(a.n_averaged.data) == 5


def test_update_bn_matches_torch():
    m, tm = _models()
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((6, 3)) for _ in range(4)]
    m.eval()
    tm.eval()
    S.update_bn([(b, 0) for b in batches], m)
    TS.update_bn([(torch.tensor(b), 0) for b in batches], tm)
    assert not m.training and not tm.training
    assert m[1].momentum == tm[1].momentum == 0.1
    for k, v in m.state_dict().items():
        np.testing.assert_allclose(np.asarray(v.data if isinstance(v, npg.Tensor) else v),
                                   tm.state_dict()[k].numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    S.update_bn(batches, nn.Linear(3, 2))  # no BatchNorm: nothing to do


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.2], anneal_epochs=3, anneal_strategy="linear"),
                                dict(swa_lr=0.01, anneal_epochs=0)], ids=["cos", "linear-groups", "no-anneal"])
def test_swalr_matches_torch(kw):
    p, tp = nn.Parameter(npg.zeros(2)), torch.zeros(2, requires_grad=True)
    q, tq = nn.Parameter(npg.zeros(2)), torch.zeros(2, requires_grad=True)
    opt = optim.SGD([dict(params=[p]), dict(params=[q], lr=0.3)], lr=0.5)
    topt = torch.optim.SGD([dict(params=[tp]), dict(params=[tq], lr=0.3)], lr=0.5)
    s, ts = S.SWALR(opt, **kw), TS.SWALR(topt, **kw)
    for _ in range(14):
        assert s.get_last_lr() == ts.get_last_lr()
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
        assert [g["swa_lr"] for g in opt.param_groups] == [g["swa_lr"] for g in topt.param_groups]
        opt.step()
        topt.step()
        s.step()
        ts.step()
    sd, tsd = s.state_dict(), ts.state_dict()
    private = {"_get_lr_called_within_step", "_is_initial"}  # PyTorch's bookkeeping of when get_lr runs
    assert set(sd) - private == set(tsd) - private
    assert all(sd[k] == tsd[k] for k in ("base_lrs", "last_epoch", "_step_count", "_last_lr", "anneal_epochs",
                                         "_anneal_strategy"))
    s2 = S.SWALR(optim.SGD([dict(params=[p]), dict(params=[q], lr=0.3)], lr=0.5), swa_lr=kw["swa_lr"])
    s2.load_state_dict(sd)
    assert s2.anneal_func.__name__ == ts.anneal_func.__name__ and s2.anneal_epochs == ts.anneal_epochs


def test_errors_as_torch():
    for mod, make in ((TS, lambda: torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)),
                      (S, lambda: optim.SGD([nn.Parameter(npg.zeros(1))], lr=0.1))):
        with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
            mod.SWALR(make(), swa_lr=0.1, anneal_strategy="exp")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            mod.SWALR(make(), swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="swa_lr must have the same length as optimizer.param_groups"):
            mod.SWALR(make(), swa_lr=[0.1, 0.2])
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
            mod.get_ema_multi_avg_fn(1.5)
        with pytest.raises(ValueError, match=r"Invalid decay value -1 provided"):
            mod.get_ema_avg_fn(-1)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        S.AveragedModel(nn.Linear(2, 2), avg_fn=S.get_swa_avg_fn(), multi_avg_fn=S.get_swa_multi_avg_fn())
