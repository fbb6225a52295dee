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


# --------------------------------------------------------------------------------------------- functional_call
class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)
        self.b.weight = self.a.weight

    def forward(self, x, scale=1.0):
        return self.b(self.a(x).tanh()) * scale


class TTied(tnn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = tnn.Linear(3, 3), tnn.Linear(3, 3)
        self.b.weight = self.a.weight

    def forward(self, x, scale=1.0):
        return self.b(self.a(x).tanh()) * scale


@pytest.mark.parametrize("tie_weights", [True, False])
def test_functional_call_matches_torch(tie_weights):
    m, t = pair(Tied, TTied)
    given = {"a.weight": rnd(3, 3, seed=1), "b.bias": rnd(3, seed=2)}
    p = {k: npg.tensor(v) for k, v in given.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in given.items()}
    x = rnd(4, 3, seed=3)
    out = npg.func.functional_call(m, p, (npg.tensor(x),), {"scale": 2.0}, tie_weights=tie_weights)
    tout = torch.func.functional_call(t, tp, (torch.tensor(x),), {"scale": 2.0}, tie_weights=tie_weights)
    assert_close(out, tout.detach().numpy())
    w = rnd(4, 3, seed=4)
    (out * w).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for k in given:
        assert_close(p[k].grad, tp[k].grad.numpy())
    assert (m.a.weight.grad is None) == tie_weights  # untied: b still uses the module's own weight
    assert m.b.weight is m.a.weight  # the module's own tensors are back
    assert_close(m(npg.tensor(x)), t(torch.tensor(x)).detach().numpy())


def test_functional_call_options_and_errors():
    m, t = pair(Tied, TTied)
    x = npg.tensor(rnd(2, 3))
    full = {k: npg.tensor(v.data) for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match="tied"):  # two tensors for one tied weight
        npg.func.functional_call(m, full, (x,))
    del full["b.weight"]  # tie_weights fills it in, so strict finds nothing missing
    assert_close(npg.func.functional_call(m, full, x, strict=True), m(x).data)  # a single tensor as args
    with pytest.raises(RuntimeError, match="Missing key"):
        npg.func.functional_call(m, full, x, strict=True, tie_weights=False)
    with pytest.raises(RuntimeError, match="Missing key"):
        npg.func.functional_call(m, {"a.bias": npg.zeros(3)}, (x,), strict=True)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        npg.func.functional_call(m, {**full, "c": npg.zeros(1)}, (x,), strict=True)
    with pytest.raises(ValueError, match="tied"):
        npg.func.functional_call(m, {"a.weight": npg.eye(3), "b.weight": 2 * npg.eye(3)}, (x,))
    with pytest.raises(ValueError, match="multiple dictionaries"):
        npg.func.functional_call(m, ({"a.bias": npg.zeros(3)}, {"a.bias": npg.ones(3)}), (x,))
    with pytest.raises(AttributeError):
        npg.func.functional_call(m, {"z.weight": npg.zeros(1)}, (x,))
    out = npg.func.functional_call(m, ({"a.bias": npg.zeros(3)}, {"b.bias": npg.ones(3)}), (x,))
    tout = torch.func.functional_call(t, ({"a.bias": torch.zeros(3, dtype=torch.float64)},
                                          {"b.bias": torch.ones(3, dtype=torch.float64)}), (torch.tensor(x.data),))
    assert_close(out, tout.detach().numpy())


def test_functional_call_composes_with_grad():
    """Per-example gradients of a loss w.r.t. a dict of parameters, as with torch.func."""
    m, t = pair(lambda: nn.Linear(3, 2), lambda: tnn.Linear(3, 2))
    params = {k: v.detach() for k, v in m.named_parameters()}
    tparams = {k: v.detach() for k, v in t.named_parameters()}
    x, y = rnd(3, seed=5), rnd(2, seed=6)

    def loss(p, xx):
        return ((npg.func.functional_call(m, p, (xx,)) - y) ** 2).sum()

    def tloss(p, xx):
        return ((torch.func.functional_call(t, p, (xx,)) - torch.tensor(y)) ** 2).sum()
    g = npg.func.grad(loss)(params, npg.tensor(x))
    tg = torch.func.grad(tloss)(tparams, torch.tensor(x))
    for k in tg:
        assert_close(g[k], tg[k].numpy())


# -------------------------------------------------------------------------------------------------- nn.utils
def test_parameters_vector_and_clip_value_match_torch():
    m, t = pair(lambda: nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)),
                lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.Linear(4, 2)))
    v, tv = nn.utils.parameters_to_vector(m.parameters()), tnn.utils.parameters_to_vector(t.parameters())
    assert_close(v, tv.detach().numpy())
    w = rnd(v.shape[0], seed=7)
    (v * w).sum().backward()  # differentiable, as PyTorch's
    (tv * torch.tensor(w)).sum().backward()
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p.grad, tp.grad.numpy())
    for p, tp in zip(m.parameters(), t.parameters()):
        g = rnd(*p.shape, seed=8) * 2
        p.grad, tp.grad = g.copy(), torch.tensor(g)
    nn.utils.clip_grad_value_(m.parameters(), 0.5)
    tnn.utils.clip_grad_value_(t.parameters(), 0.5)
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p.grad, tp.grad.numpy())
    new = rnd(v.shape[0], seed=9)
    nn.utils.vector_to_parameters(npg.tensor(new), m.parameters())
    tnn.utils.vector_to_parameters(torch.tensor(new), t.parameters())
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p, tp.detach().numpy())
    with pytest.raises(TypeError, match="Tensor"):
        nn.utils.vector_to_parameters(new, m.parameters())
    with pytest.raises(ValueError, match="elements"):
        nn.utils.vector_to_parameters(npg.tensor(new[:-1]), m.parameters())


class Symmetric(nn.Module):
    def forward(self, X):
        return npg.triu(X) + npg.triu(X, 1).mT

    def right_inverse(self, A):
        return npg.triu(A)


class TSymmetric(tnn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Scale(nn.Module):
    def forward(self, X):
        return X * 2.0


class TScale(tnn.Module):
    def forward(self, X):
        return X * 2.0


def test_parametrize_matches_torch():
    m, t = pair(lambda: nn.Linear(3, 3), lambda: tnn.Linear(3, 3))
    parametrize.register_parametrization(m, "weight", Symmetric())
    tnn.utils.parametrize.register_parametrization(t, "weight", TSymmetric())
    parametrize.register_parametrization(m, "weight", Scale())  # a chain
    tnn.utils.parametrize.register_parametrization(t, "weight", TScale())
    assert type(m).__name__ == "ParametrizedLinear" and parametrize.type_before_parametrizations(m) is nn.Linear
    assert parametrize.is_parametrized(m) and parametrize.is_parametrized(m, "weight")
    assert not parametrize.is_parametrized(m, "bias")
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    for k, v in t.state_dict().items():
        assert_close(m.state_dict()[k], v.numpy())
    assert_close(m.weight, t.weight.detach().numpy())
    x = rnd(4, 3, seed=1)
    out, tout = m(npg.tensor(x)), t(torch.tensor(x))
    assert_close(out, tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    for p, (n, tp) in zip(m.parameters(), t.named_parameters()):
        assert_close(p.grad, tp.grad.numpy(), what=n)
    with parametrize.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    A = rnd(3, 3, seed=2)
    with pytest.raises(RuntimeError, match="right_inverse"):  # Scale has no right_inverse
        m.weight = npg.tensor(A)
    parametrize.remove_parametrizations(m, "weight")
    tnn.utils.parametrize.remove_parametrizations(t, "weight")
    assert type(m) is nn.Linear and list(m.state_dict()) == list(t.state_dict())
    assert_close(m.weight, t.weight.detach().numpy())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(m, "weight")
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(m, "nope", Scale())


def test_parametrize_assignment_and_shape_checks():
    m = nn.Linear(3, 3)
    p_before = m.weight
    parametrize.register_parametrization(m, "weight", Symmetric())
    assert m.parametrizations.weight.original is p_before  # the same Parameter object (optimizers keep it)
    A = rnd(3, 3, seed=3)
    m.weight = npg.tensor(A)  # right_inverse sets the original
    assert_close(m.weight, np.triu(A) + np.triu(A, 1).T)

    class Bad(nn.Module):
        def forward(self, X):
            return X[:2]
    with pytest.raises(ValueError, match="shape"):
        parametrize.register_parametrization(nn.Linear(3, 3), "weight", Bad())
    parametrize.register_parametrization(nn.Linear(3, 3), "weight", Bad(), unsafe=True)


@pytest.mark.parametrize("make,tmake,dim", [
    (lambda: nn.Linear(4, 3), lambda: tnn.Linear(4, 3), 0),
    (lambda: nn.Linear(4, 3), lambda: tnn.Linear(4, 3), 1),
    (lambda: nn.Linear(4, 3), lambda: tnn.Linear(4, 3), None),
    (lambda: nn.Conv2d(2, 3, 3), lambda: tnn.Conv2d(2, 3, 3), 0)], ids=["linear", "dim1", "dimNone", "conv"])
def test_weight_norm_matches_torch(make, tmake, dim):
    torch.manual_seed(0)
    t = tnn.utils.parametrizations.weight_norm(tmake().double(), dim=dim)
    m = nn.utils.parametrizations.weight_norm(make(), dim=dim)
    assert list(m.state_dict()) == list(t.state_dict())
    for k, v in m.state_dict().items():
        assert v.shape == tuple(t.state_dict()[k].shape), k
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    assert_close(m.weight, t.weight.detach().numpy())
    x = rnd(2, 4, seed=1) if isinstance(m, nn.Linear) else rnd(2, 2, 5, 5, seed=1)
    out, tout = m(npg.tensor(x)), t(torch.tensor(x))
    assert_close(out, tout.detach().numpy())
    w = rnd(*out.shape, seed=2)
    (out * w).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for (n, p), (tn, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert n == tn
        assert_close(p.grad, tp.grad.numpy(), what=n)
    # the norm g of a fresh weight_norm is the weight's, so the weight is unchanged
    fresh, tfresh = pair(make, tmake, seed=3)
    before = fresh.weight.data.copy()
    nn.utils.parametrizations.weight_norm(fresh, dim=dim)
    assert_close(fresh.weight, before)


def test_spectral_norm_matches_torch_after_loading_its_vectors():
    torch.manual_seed(0)
    t = tnn.utils.parametrizations.spectral_norm(tnn.Linear(5, 4).double(), n_power_iterations=2)
    npg.random.seed(0)
    m = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 4), n_power_iterations=2)
    assert list(m.state_dict()) == list(t.state_dict())
    s = np.linalg.svd(m.parametrizations.weight.original.data, compute_uv=False)[0]
    assert_close(m.weight, m.parametrizations.weight.original.data / s, rtol=1e-4)  # 15 warm-up iterations
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    for step in range(4):  # training mode: each forward runs power iterations on the buffers
        x = rnd(3, 5, seed=step)
        out, tout = m(npg.tensor(x)), t(torch.tensor(x))
        assert_close(out, tout.detach().numpy())
        w = rnd(3, 4, seed=10 + step)
        (out * w).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        for (n, p), tp in zip(m.named_parameters(), t.parameters()):
            assert_close(p.grad, tp.grad.numpy(), what=n)
    for k, v in t.state_dict().items():
        assert_close(m.state_dict()[k], v.numpy(), what=k)
    m.eval()
    t.eval()
    u = m.parametrizations.weight[0]._u.data.copy()
    assert_close(m(npg.tensor(x)), t(torch.tensor(x)).detach().numpy())
    assert np.array_equal(u, m.parametrizations.weight[0]._u.data)  # eval: no power iteration
    conv = nn.utils.parametrizations.spectral_norm(nn.ConvTranspose2d(2, 3, 3))
    assert conv.parametrizations.weight[0].dim == 1
    with pytest.raises(ValueError, match="no parameter or buffer"):
        nn.utils.parametrizations.spectral_norm(nn.ReLU())


# ------------------------------------------------ clip_grad_norm_ in place; get_total_norm, clip_grads_with_norm_
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, np.inf, -np.inf, 0.0, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_vs_torch(dtype, norm_type, max_norm):
    r = np.random.default_rng(0)
    grads = [r.standard_normal(s).astype(dtype) for s in [(3, 4), (5,), ()]]
    ps = [npg.tensor(np.zeros_like(g)) for g in grads]
    tps = [torch.zeros(g.shape, dtype=torch.float32 if dtype == np.float32 else torch.float64) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad, tp.grad = g.copy(), torch.tensor(g)
    held = ps[0].grad
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    t_total = tnn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    tol = dict(rtol=1e-6, atol=0) if dtype == np.float32 else dict(rtol=1e-14, atol=0)
    assert_close(total.data, t_total.numpy(), **tol)
    for p, tp in zip(ps, tps):
        assert_close(p.grad, tp.grad.numpy(), **tol)
    assert ps[0].grad is held          # scaled in place, as PyTorch's grad.mul_ (a bucket view stays a view)


def test_get_total_norm_and_clip_grads_with_norm_vs_torch():
    r = np.random.default_rng(1)
    grads = [r.standard_normal(s) for s in [(4, 2), (3,)]]
    total = nn.utils.get_total_norm(grads, 3.0)
    t_total = tnn.utils.get_total_norm([torch.tensor(g) for g in grads], 3.0)
    assert_close(total.data, t_total.numpy(), rtol=1e-14)
    ps = [npg.tensor(np.zeros_like(g)) for g in grads]
    tps = [torch.zeros(g.shape, dtype=torch.float64) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad, tp.grad = g.copy(), torch.tensor(g)
    nn.utils.clip_grads_with_norm_(ps, 1.0, total)
    tnn.utils.clip_grads_with_norm_(tps, 1.0, t_total)
    for p, tp in zip(ps, tps):
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-14)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.get_total_norm([np.array([np.inf])], error_if_nonfinite=True)


@pytest.mark.parametrize("shape,groups", [((6, 3, 3, 3), 1), ((6, 3, 3, 3), 2), ((6, 2, 5), 3), ((4, 4, 3, 3, 3), 2),
                                          ((2, 5, 3, 3), 1)])
def test_dirac_vs_torch(shape, groups):
    w, tw = npg.tensor(np.ones(shape)), torch.ones(shape, dtype=torch.float64)
    nn.init.dirac_(w, groups)
    torch.nn.init.dirac_(tw, groups)
    np.testing.assert_array_equal(w.data, tw.numpy())


def test_dirac_and_sparse_errors_like_torch():
    for fn, tfn, args in [(nn.init.dirac_, torch.nn.init.dirac_, ((2, 3),)), (nn.init.sparse_, torch.nn.init.sparse_,
                                                                            ((2, 3, 4), 0.5))]:
        with pytest.raises(ValueError, match="dimensions are supported"):
            tfn(torch.ones(args[0]), *args[1:])
        with pytest.raises(ValueError, match="dimensions are supported"):
            fn(npg.tensor(np.ones(args[0])), *args[1:])
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.init.dirac_(npg.tensor(np.ones((5, 2, 3))), 2)


def test_sparse_zeros_per_column_like_torch():
    w, tw = npg.tensor(np.empty((10, 40))), torch.empty(10, 40)
    nn.init.sparse_(w, 0.3, std=0.5)
    torch.nn.init.sparse_(tw, 0.3, std=0.5)
    np.testing.assert_array_equal((w.data == 0).sum(axis=0), (tw == 0).sum(dim=0).numpy())   # ceil(0.3 * 10)
    nonzero = w.data[w.data != 0]
    assert 0.35 < nonzero.std() < 0.65    # N(0, 0.5^2) on the kept entries


@pytest.mark.parametrize("norm_type", [2.0, 1.0, np.inf])
def test_clip_grad_norm_of_complex_gradients_vs_torch(norm_type):
    """The norm of complex gradients is that of their magnitudes (a real number); it was a complex number,
    and the clipping coefficient with it."""
    g0 = [np.array([1 + 2j, 3 - 1j]), np.array([[0.5j, -2.0]])]
    ps = [npg.tensor(np.zeros_like(g)) for g in g0]
    tps = [torch.zeros(g.shape, dtype=torch.complex128) for g in g0]
    for p, tp, g in zip(ps, tps, g0):
        p.grad, tp.grad = g.copy(), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ps, 1.0, norm_type)
    t_total = tnn.utils.clip_grad_norm_(tps, 1.0, norm_type)
    assert total.dtype == np.float64
    assert_close(total.data, t_total.numpy(), rtol=1e-14)
    for p, tp in zip(ps, tps):
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-14)


def test_clip_grad_value_refuses_complex_gradients_like_torch():
    p = npg.tensor(np.zeros(2, complex))
    p.grad = np.array([1 + 2j, 3 - 1j])
    with pytest.raises(RuntimeError, match="not supported for complex"):
        nn.utils.clip_grad_value_(iter([p]), 0.5)
    tp = torch.zeros(2, dtype=torch.complex128)
    tp.grad = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex128)
    with pytest.raises(RuntimeError, match="not supported for complex"):
        tnn.utils.clip_grad_value_([tp], 0.5)
