"""npgrad.nn and npgrad.optim pieces no other test exercised, against their PyTorch definitions:
nn.init.trunc_normal_ / orthogonal_ / eye_ (statistical and structural checks), the containers' insert and
delete paths, forward pre-hooks, and learning-rate schedulers' state_dict (through npg.save / npg.load)."""
import io
import math

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
from tests.helpers import assert_close


def _ks_statistic(a, b):
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    grid = np.sort(np.concatenate([a, b]))
    return np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                         - np.searchsorted(np.sort(b), grid, "right") / len(b)))


def _ks_critical(n, m, alpha=0.001):
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def _truncnorm_moments(mean, std, a, b):
    """Mean and variance of N(mean, std**2) truncated to [a, b]."""
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))         # noqa: E731
    al, be = (a - mean) / std, (b - mean) / std
    Z = cdf(be) - cdf(al)
    m = mean + std * (phi(al) - phi(be)) / Z
    v = std ** 2 * (1 + (al * phi(al) - be * phi(be)) / Z - ((phi(al) - phi(be)) / Z) ** 2)
    return m, v


# ------------------------------------------------------------------------------------------ nn.init
@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.0, 2.0), (0.0, 2.0, -1.0, 3.0),
                                             (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_against_torch(mean, std, a, b):
    npg.random.seed(0)
    torch.manual_seed(0)
    w = nn.Parameter(npg.zeros(200, 100, dtype=np.float32))
    out = nn.init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
    tw = torch.nn.init.trunc_normal_(torch.empty(200, 100, dtype=torch.float64), mean=mean, std=std, a=a, b=b)
    assert out is w and w.dtype == np.float32  # in place, dtype kept
    x, tx = w.data.ravel().astype(np.float64), tw.numpy().ravel()
    assert x.min() >= a and x.max() <= b
    m, v = _truncnorm_moments(mean, std, a, b)
    n = x.size
    assert abs(x.mean() - m) < 5 * math.sqrt(v / n) and abs(tx.mean() - m) < 5 * math.sqrt(v / n)
    assert abs(x.var() / v - 1) < 0.05 and abs(tx.var() / v - 1) < 0.05
    assert _ks_statistic(x, tx) < _ks_critical(n, n)  # the same distribution as torch's


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (2, 3, 4), (6, 2, 2), (1, 7)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_against_torch(shape, gain):
    npg.random.seed(1)
    w = npg.zeros(*shape, requires_grad=False)
    nn.init.orthogonal_(w, gain=gain)
    tw = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain)
    for m in (w.data.reshape(shape[0], -1), tw.numpy().reshape(shape[0], -1)):
        gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m  # (semi-)orthogonal, scaled by gain
        np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-12)


def test_orthogonal_is_haar_distributed_as_torch():
    """QR with the signs of R's diagonal fixed gives Haar matrices: an entry's distribution matches torch's."""
    npg.random.seed(2)
    torch.manual_seed(2)
    ours, theirs = [], []
    for _ in range(1500):
        w = npg.zeros(3, 3, requires_grad=False)
        nn.init.orthogonal_(w)
        ours.append(w.data[0, 0])
        theirs.append(torch.nn.init.orthogonal_(torch.empty(3, 3, dtype=torch.float64))[0, 0].item())
    assert _ks_statistic(np.array(ours), np.array(theirs)) < _ks_critical(1500, 1500)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 1)])
def test_eye_against_torch(shape):
    w = nn.Parameter(npg.randn(*shape).astype(np.float32).data)
    out = nn.init.eye_(w)
    assert out is w and w.dtype == np.float32
    np.testing.assert_array_equal(w.data, torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize("name, shape", [("eye_", (2, 3, 4)), ("eye_", (3,)), ("orthogonal_", (3,)),
                                         ("orthogonal_", ())])
def test_init_wrong_dims_are_errors_as_torch(name, shape):
    with pytest.raises(ValueError):
        getattr(torch.nn.init, name)(torch.empty(shape))
    with pytest.raises(ValueError, match="dimensions"):
        getattr(nn.init, name)(npg.zeros(*shape))


# ------------------------------------------------------------------------------------------ containers
def _linears(n, seed=0):
    """n npgrad Linear(3, 3) layers and torch twins with the same weights."""
    npg.random.seed(seed)
    ours = [nn.Linear(3, 3) for _ in range(n)]
    theirs = [torch.nn.Linear(3, 3).double() for _ in range(n)]
    for m, tm in zip(ours, theirs):
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(m.weight.data))
            tm.bias.copy_(torch.tensor(m.bias.data))
    return ours, theirs


def _same(container, tcontainer, call=True):
    assert len(container) == len(tcontainer)
    assert list(container.state_dict()) == list(tcontainer.state_dict())
    for k, v in tcontainer.state_dict().items():
        np.testing.assert_array_equal(container.state_dict()[k].data, v.numpy())
    if call:
        x = np.random.default_rng(0).standard_normal((2, 3))
        assert_close(container(npg.tensor(x)), tcontainer(torch.tensor(x)).detach().numpy())


def test_sequential_insert_delete_and_slices_as_torch():
    ours, theirs = _linears(7)
    s, ts = nn.Sequential(*ours[:3]), torch.nn.Sequential(*theirs[:3])
    for op in [lambda s, m: s.insert(1, m[3]), lambda s, m: s.insert(-1, m[4]), lambda s, m: s.insert(len(s), m[5]),
               lambda s, m: s.append(m[6]), lambda s, m: s.__delitem__(0), lambda s, m: s.__delitem__(-1),
               lambda s, m: s.__delitem__(slice(1, 3)), lambda s, m: s.extend([m[0]]),
               lambda s, m: s.__setitem__(1, m[2]), lambda s, m: s.insert(0, m[1])]:
        op(s, ours)
        op(ts, theirs)
        _same(s, ts)
    _same(s[1:], ts[1:])
    _same(s[::-1], ts[::-1])
    assert type(s[1:]) is nn.Sequential and isinstance(s[-1], nn.Linear)


@pytest.mark.parametrize("index", [4, -5, 10])
def test_sequential_insert_out_of_range_is_an_error_as_torch(index):
    ours, theirs = _linears(4)
    with pytest.raises(IndexError):
        torch.nn.Sequential(*theirs[:3]).insert(index, theirs[3])
    with pytest.raises(IndexError, match=str(index)):
        nn.Sequential(*ours[:3]).insert(index, ours[3])


def test_sequential_of_named_modules_renumbers_on_delete_as_torch():
    from collections import OrderedDict
    ours, theirs = _linears(3)
    s = nn.Sequential(OrderedDict(a=ours[0], b=ours[1], c=ours[2]))
    ts = torch.nn.Sequential(OrderedDict(a=theirs[0], b=theirs[1], c=theirs[2]))
    _same(s, ts)
    del s[1]
    del ts[1]
    _same(s, ts)


def test_module_list_insert_delete_as_torch():
    ours, theirs = _linears(6)
    ml, tml = nn.ModuleList(ours[:2]), torch.nn.ModuleList(theirs[:2])
    for op in [lambda l, m: l.insert(0, m[2]), lambda l, m: l.insert(2, m[3]), lambda l, m: l.insert(len(l), m[4]),
               lambda l, m: l.__delitem__(1), lambda l, m: l.__delitem__(-1), lambda l, m: l.__iadd__([m[5]]),
               lambda l, m: l.__delitem__(slice(0, 2)), lambda l, m: l.extend(m[:2]), lambda l, m: l.append(m[3]),
               lambda l, m: l.__setitem__(-1, m[4])]:
        r, tr = op(ml, ours), op(tml, theirs)
        assert (r is None) == (tr is None)  # insert returns None in both, append / extend the list
        _same(ml, tml, call=False)
    _same(ml[1:], tml[1:], call=False)


def test_module_dict_insert_delete_as_torch():
    ours, theirs = _linears(5)
    md, tmd = nn.ModuleDict({"a": ours[0], "b": ours[1]}), torch.nn.ModuleDict({"a": theirs[0], "b": theirs[1]})
    for op in [lambda d, m: d.__setitem__("c", m[2]), lambda d, m: d.__delitem__("a"),
               lambda d, m: d.update({"d": m[3], "b": m[4]}), lambda d, m: d.update([("a", m[0])]),
               lambda d, m: d.pop("d"), lambda d, m: d.__setitem__("b", m[1])]:
        r, tr = op(md, ours), op(tmd, theirs)
        if isinstance(tr, torch.nn.Module):
            assert r is ours[theirs.index(tr)]
        _same(md, tmd, call=False)
        assert list(md.keys()) == list(tmd.keys()) and ("a" in md) == ("a" in tmd)
    md.clear()
    tmd.clear()
    _same(md, tmd, call=False)
    with pytest.raises(KeyError):
        tmd.pop("zz")
    with pytest.raises(KeyError):
        md.pop("zz")


def test_assigning_a_registered_name_again_keeps_its_place_as_torch():
    """Re-assigning a parameter, buffer or child keeps its position: state_dict order, a layer's order."""
    (m,), (tm,) = _linears(1)
    m.weight = nn.Parameter(npg.zeros(3, 3))
    tm.weight = torch.nn.Parameter(torch.zeros(3, 3, dtype=torch.float64))
    m.register_parameter("weight", nn.Parameter(npg.ones(3, 3)))
    tm.register_parameter("weight", torch.nn.Parameter(torch.ones(3, 3, dtype=torch.float64)))
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight", "bias"]
    bn, tbn = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    bn.register_buffer("running_mean", npg.ones(3))
    tbn.register_buffer("running_mean", torch.ones(3))
    assert list(bn.state_dict()) == list(tbn.state_dict())
    ours, theirs = _linears(4)
    s, ts = nn.Sequential(*ours[:3]), torch.nn.Sequential(*theirs[:3])
    s[0], ts[0] = ours[3], theirs[3]  # stays the first layer (npgrad moved it to the end)
    s.add_module("1", ours[0])
    ts.add_module("1", theirs[0])
    _same(s, ts)


# ------------------------------------------------------------------------------------------ forward pre-hooks
def test_forward_pre_hooks_as_torch():
    (m,), (tm,) = _linears(1)
    x = np.random.default_rng(1).standard_normal((2, 3))
    seen, tseen = [], []

    def observe(store):
        return lambda mod, args: store.append((type(mod).__name__, len(args), tuple(args[0].shape)))
    h1, th1 = m.register_forward_pre_hook(observe(seen)), tm.register_forward_pre_hook(observe(tseen))
    h2 = m.register_forward_pre_hook(lambda mod, args: args[0] * 2)                  # one value: becomes (value,)
    th2 = tm.register_forward_pre_hook(lambda mod, args: args[0] * 2)
    h3 = m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))              # a tuple replaces args
    th3 = tm.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
    out, tout = m(npg.tensor(x)), tm(torch.tensor(x))
    assert_close(out, tout.detach().numpy())
    assert seen == [("Linear", 1, (2, 3))] and len(tseen) == 1
    h2.remove()
    th2.remove()
    assert_close(m(npg.tensor(x)), tm(torch.tensor(x)).detach().numpy())  # the others still run, in order
    for h, th in ((h1, th1), (h3, th3)):
        h.remove()
        th.remove()
    assert_close(m(npg.tensor(x)), tm(torch.tensor(x)).detach().numpy())
    assert len(seen) == 2


def test_forward_pre_hook_gradient_flows_as_torch():
    (m,), (tm,) = _linears(1, seed=3)
    m.register_forward_pre_hook(lambda mod, args: npg.tanh(args[0]))
    tm.register_forward_pre_hook(lambda mod, args: torch.tanh(args[0]))
    x = np.random.default_rng(2).standard_normal((4, 3))
    xt, tt = npg.tensor(x), torch.tensor(x, requires_grad=True)
    npg.sum(m(xt) ** 2).backward()
    (tm(tt) ** 2).sum().backward()
    assert_close(xt.grad, tt.grad.numpy())
    assert_close(m.weight.grad, tm.weight.grad.numpy())


# ------------------------------------------------------------------------------------------ scheduler state_dict
SCHEDULERS = {
    "StepLR": (dict(step_size=3, gamma=0.5), {}),
    "MultiStepLR": (dict(milestones=[2, 5, 7], gamma=0.3), {}),
    "ExponentialLR": (dict(gamma=0.9), {}),
    "LinearLR": (dict(start_factor=0.2, end_factor=0.9, total_iters=6), {}),
    "CosineAnnealingLR": (dict(T_max=7, eta_min=0.01), {}),
    "LambdaLR": (dict(lr_lambda=lambda e: 1.0 / (1 + e)), {}),
    "OneCycleLR": (dict(max_lr=0.5, total_steps=12, pct_start=0.25), {}),
}


def _run(lib, name, params, pause, through_file):
    """12 steps of SGD + scheduler; at ``pause`` both are rebuilt from their state_dicts. The lr after each step."""
    sched_mod = npg.optim.lr_scheduler if lib is npg else torch.optim.lr_scheduler
    make_opt = (lambda: npg.optim.SGD(params, lr=0.1, momentum=0.9)) if lib is npg else \
        (lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9))
    kwargs = SCHEDULERS[name][0]
    opt = make_opt()
    sched = getattr(sched_mod, name)(opt, **kwargs)
    lrs = []
    for step in range(12):
        if step == pause:
            osd, ssd = opt.state_dict(), sched.state_dict()
            if through_file:
                buf = io.BytesIO()
                npg.save({"optim": osd, "sched": ssd}, buf)
                buf.seek(0)
                loaded = npg.load(buf)
                osd, ssd = loaded["optim"], loaded["sched"]
            opt = make_opt()
            sched = getattr(sched_mod, name)(opt, **kwargs)
            opt.load_state_dict(osd)
            sched.load_state_dict(ssd)
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        assert lrs[-1] == opt.param_groups[0]["lr"]
    return lrs


@pytest.mark.filterwarnings("ignore:.*lr_scheduler:UserWarning")
@pytest.mark.parametrize("name", list(SCHEDULERS))
@pytest.mark.parametrize("pause", [1, 4, 9])
def test_scheduler_state_dict_resumes_the_schedule_as_torch(name, pause):
    ps = [nn.Parameter(npg.ones(2))]
    tps = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64))]
    straight = _run(npg, name, ps, None, False)
    expected = _run(torch, name, tps, None, False)
    np.testing.assert_allclose(straight, expected, rtol=1e-12)
    np.testing.assert_allclose(_run(torch, name, tps, pause, False), expected, rtol=1e-12)  # torch's resume
    np.testing.assert_allclose(_run(npg, name, ps, pause, False), expected, rtol=1e-12)
    np.testing.assert_allclose(_run(npg, name, ps, pause, True), expected, rtol=1e-12)  # via an .npz file


def test_scheduler_state_dict_is_a_snapshot_without_the_optimizer():
    opt = npg.optim.SGD([nn.Parameter(npg.ones(2))], lr=0.1)
    sched = npg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    sd = sched.state_dict()
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    tsd = torch.optim.lr_scheduler.StepLR(topt, step_size=1, gamma=0.5).state_dict()
    assert "optimizer" not in sd and "optimizer" not in tsd
    assert {"base_lrs", "last_epoch", "step_size", "gamma"} <= set(sd) & set(tsd)
    before = dict(sd, base_lrs=list(sd["base_lrs"]))
    opt.step()
    sched.step()
    assert sd["last_epoch"] == before["last_epoch"] and sd["base_lrs"] == before["base_lrs"]
