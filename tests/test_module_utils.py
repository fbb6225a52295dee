"""Module hooks, module utilities, functional_call and nn.utils (parametrize, weight_norm, spectral_norm) against
PyTorch: the same hook calls in the same order with the same arguments, the same gradients, the same names and
state-dict keys, weights loaded from PyTorch giving PyTorch's values."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import npgrad as npg
import npgrad.nn as nn
from npgrad.nn.utils import parametrize
from tests.helpers import assert_close


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(make_npg, make_torch, seed=0):
    """The same architecture in both libraries, with PyTorch's weights loaded into npgrad's."""
    torch.manual_seed(seed)
    t = make_torch().double()
    m = make_npg()
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m, t


def describe(x):
    """A comparable summary of a hook argument: shapes of tensors, recursively; other values as they are."""
    if isinstance(x, (npg.Tensor, torch.Tensor)):
        return ("T", tuple(x.shape))
    if isinstance(x, (tuple, list)):
        return tuple(describe(v) for v in x)
    if isinstance(x, dict):
        return {k: describe(v) for k, v in x.items()}
    return x


class TwoIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x, y, scale=1.0, *, shift=0.0):
        return self.lin(x) * scale + y.sum() + shift


class TTwoIn(tnn.Module):
    def __init__(self):
        super().__init__()
        self.lin = tnn.Linear(3, 2)

    def forward(self, x, y, scale=1.0, *, shift=0.0):
        return self.lin(x) * scale + y.sum() + shift


def add_forward_hooks(m, log, lib):
    handles = [
        m.register_forward_pre_hook(lambda mod, args: log.append(("pre", describe(args)))),
        m.register_forward_pre_hook(lambda mod, args, kw: log.append(("pre-kw", describe(args), describe(kw))),
                                    with_kwargs=True),
        m.register_forward_pre_hook(lambda mod, args: log.append(("pre-first", describe(args))), prepend=True),
        m.register_forward_hook(lambda mod, args, out: log.append(("fwd", describe(args), describe(out)))),
        m.register_forward_hook(lambda mod, args, kw, out: log.append(("fwd-kw", describe(kw), describe(out))),
                                with_kwargs=True, prepend=True),
        m.register_forward_hook(lambda mod, args, out: log.append(("always", describe(out))), always_call=True),
    ]
    return handles


def test_forward_hooks_order_arguments_and_handles():
    logs = {}
    for lib, m in (("npg", TwoIn()), ("torch", TTwoIn().double())):
        log = logs[lib] = []
        handles = add_forward_hooks(m, log, lib)
        T = npg.tensor if lib == "npg" else torch.tensor
        m(T(rnd(4, 3)), T(rnd(2)), 2.0, shift=1.0)
        handles[0].remove()
        handles[4].remove()
        with handles[1]:  # a handle is a context manager that removes the hook
            pass
        m(T(rnd(4, 3)), T(rnd(2)))
        handles[5].remove()
        try:
            m(T(rnd(4, 4)), T(rnd(2)))   # forward raises: only the always_call hook runs
        except Exception as e:
            log.append(("raised", type(e).__name__ in ("ValueError", "RuntimeError")))
        m.register_forward_hook(lambda mod, args, out: log.append("late-always"), always_call=True)
        try:
            m(T(rnd(4, 4)), T(rnd(2)))
        except Exception:
            log.append("raised")
    assert logs["npg"] == logs["torch"]
    assert logs["npg"][0][0] == "pre-first" and ("raised", True) in logs["npg"] and "late-always" in logs["npg"]


@pytest.mark.parametrize("lib", ["npg", "torch"])
def test_hook_return_values_replace(lib):
    m = TwoIn() if lib == "npg" else TTwoIn().double()
    T = npg.tensor if lib == "npg" else torch.tensor
    x, y = T(rnd(4, 3)), T(rnd(2))
    ref = m(x, y).detach().numpy().copy()
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2, args[1]))
    h2 = m.register_forward_pre_hook(lambda mod, args, kw: (args, {"shift": 5.0}), with_kwargs=True)
    h3 = m.register_forward_hook(lambda mod, args, out: out + 1)
    out = m(x, y).detach().numpy()
    expected = m.lin(x * 2).detach().numpy() + float(y.sum()) + 5.0 + 1
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    for h in (h1, h2, h3):
        h.remove()
    np.testing.assert_allclose(m(x, y).detach().numpy(), ref)
    m.register_forward_pre_hook(lambda mod, args, kw: args[0], with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_args, new_kwargs"):
        m(x, y)


def _backward_log(lib, module, inputs, with_pre=False, replace_in=False, scale_out=None):
    log = []

    def hook(mod, gin, gout):
        log.append(("full", type(mod).__name__.replace("TTwo", "Two"), [None if g is None else np.array(g.detach().numpy() if
                                                 isinstance(g, torch.Tensor) else g.data) for g in gin],
                     [None if g is None else np.array(g.detach().numpy() if isinstance(g, torch.Tensor) else g.data)
                      for g in gout]))
        if replace_in:
            return tuple(None if g is None else g * 3 for g in gin)

    def pre(mod, gout):
        log.append(("pre", type(mod).__name__, len(gout)))
        if scale_out is not None:
            return tuple(g * scale_out for g in gout)
    mods = list(module.modules())
    for mod in mods:
        mod.register_full_backward_hook(hook)
        if with_pre:
            mod.register_full_backward_pre_hook(pre)
    out = module(*inputs)
    (out * (npg.tensor(rnd(*out.shape, seed=9)) if lib == "npg" else torch.tensor(rnd(*out.shape, seed=9)))).sum() \
        .backward()
    return log


def _same_log(a, b):
    assert len(a) == len(b)
    for ea, eb in zip(a, b):
        assert ea[:2] == eb[:2]
        if ea[0] == "full":
            for ga, gb in zip(ea[2] + ea[3], eb[2] + eb[3]):
                assert (ga is None) == (gb is None)
                if ga is not None:
                    assert_close(ga, gb)
        else:
            assert ea == eb


@pytest.mark.parametrize("opts", [dict(), dict(with_pre=True), dict(with_pre=True, scale_out=2.0),
                                  dict(replace_in=True)], ids=["full", "pre", "pre-replaces", "full-replaces"])
def test_full_backward_hooks_match_torch(opts):
    m, t = pair(lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)),
                lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.Tanh(), tnn.Linear(4, 2)))
    x, tx = npg.tensor(rnd(5, 3)), torch.tensor(rnd(5, 3), requires_grad=True)
    log = _backward_log("npg", m, (x,), **opts)
    tlog = _backward_log("torch", t, (tx,), **opts)
    _same_log(log, tlog)
    assert_close(x.grad, tx.grad.numpy())
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p.grad, tp.grad.numpy())


def test_backward_hook_inputs_without_gradient():
    """Non-tensor and no-grad inputs get None; with no input requiring grad the hook fires at the outputs."""
    m, t = pair(TwoIn, TTwoIn)
    x, tx = npg.tensor(rnd(4, 3)), torch.tensor(rnd(4, 3), requires_grad=True)
    y, ty = npg.tensor(rnd(2), requires_grad=False), torch.tensor(rnd(2))
    _same_log(_backward_log("npg", m, (x, y, 2.0)), _backward_log("torch", t, (tx, ty, 2.0)))
    assert_close(x.grad, tx.grad.numpy())
    x.requires_grad_(False)
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        log = _backward_log("npg", m, (x, y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tlog = _backward_log("torch", t, (tx.detach(), ty))
    _same_log(log, tlog)
    assert [e[2] for e in log if e[1] == "TwoIn"] == [[None, None]]
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p.grad, tp.grad.numpy())


def test_backward_hook_errors_and_removal():
    m = nn.Linear(3, 2)
    h = m.register_full_backward_hook(lambda mod, gin, gout: (gin[0], gin[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input"):
        m(npg.tensor(rnd(2, 3))).sum().backward()
    h.remove()
    calls = []
    h = m.register_full_backward_pre_hook(lambda mod, gout: calls.append(1))
    m(npg.tensor(rnd(2, 3))).sum().backward()
    h.remove()
    m(npg.tensor(rnd(2, 3))).sum().backward()
    assert calls == [1] and not m._backward_pre_hooks
    with npg.no_grad():  # no graph: nothing to hook, the output is the forward's
        m.register_full_backward_hook(lambda *a: None)
        assert not m(npg.tensor(rnd(2, 3))).requires_grad


# ------------------------------------------------------------------------------------ module utilities
def _nets():
    return pair(lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2))),
                lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.Sequential(tnn.ReLU(),
                                                                                              tnn.Linear(4, 2))))


def test_module_traversal_and_lookup_match_torch():
    m, t = _nets()
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_modules(prefix="net")] == [n for n, _ in t.named_modules(prefix="net")]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_buffers(recurse=False)] == [n for n, _ in t.named_buffers(recurse=False)]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    seen, tseen = [], []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    t.apply(lambda mod: tseen.append(type(mod).__name__))
    assert seen == tseen
    assert type(m.get_submodule("2.1")).__name__ == "Linear" and m.get_submodule("") is m
    assert m.get_parameter("2.1.bias") is m[2][1].bias
    assert m.get_buffer("1.running_var") is m[1].running_var
    for bad in ("3", "2.5", "0.weight.x"):
        with pytest.raises(AttributeError):
            m.get_submodule(bad)
        with pytest.raises(AttributeError):
            t.get_submodule(bad)
    with pytest.raises(AttributeError):
        m.get_parameter("1.running_var")


def test_requires_grad_zero_grad_and_load_state_dict_non_strict():
    m, t = _nets()
    assert m.requires_grad_(False) is m and not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    x = npg.tensor(rnd(5, 3))
    m(x).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    sd = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    del sd["2.1.bias"]
    sd["extra.weight"] = np.zeros(2)
    res = m.load_state_dict(sd, strict=False)
    tres = t.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert res.missing_keys == tres.missing_keys and res.unexpected_keys == tres.unexpected_keys
    missing, unexpected = res
    assert missing == ["2.1.bias"] and unexpected == ["extra.weight"]
    with pytest.raises(RuntimeError, match="Missing key"):
        m.load_state_dict(sd)
