"""Global module hooks (``torch.nn.modules.module.register_module_*``) against PyTorch: called for every module,
before the module's own hooks, with the same arguments, and their returns used the same way."""
import numpy as np
import pytest
import torch
import torch.nn.modules.module as tmod

import npgrad as npg
import npgrad.nn.modules.module as nmod
from npgrad.nn import hooks as nhooks


@pytest.fixture(autouse=True)
def no_leftover_global_hooks():
    """Every test removes what it registered (a leftover global hook would run in every later test)."""
    yield
    assert nhooks.GLOBAL_CALL_HOOKS[0] == 0


def _pair(seed=0):
    """The same two-layer net in npgrad and torch."""
    rng = np.random.default_rng(seed)
    w1, b1, w2, b2 = (rng.standard_normal(s) for s in ((4, 3), (4,), (2, 4), (2,)))
    n = npg.nn.Sequential(npg.nn.Linear(3, 4), npg.nn.Tanh(), npg.nn.Linear(4, 2))
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    n.load_state_dict({"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2})
    t.load_state_dict({k: torch.tensor(v) for k, v in (("0.weight", w1), ("0.bias", b1), ("2.weight", w2),
                                                        ("2.bias", b2))})
    x = rng.standard_normal((5, 3))
    return n, t, x


def _run(lib, mod, net, x, register):
    """Register hooks through ``register(lib_module_namespace, log)``, run forward and backward, remove them;
    returns the log and the input gradient."""
    log = []
    handles = register(mod, log)
    try:
        xt = npg.tensor(x) if lib is npg else torch.tensor(x, requires_grad=True)
        out = net(xt)
        (out * out).sum().backward()
    finally:
        for h in handles:
            h.remove()
    grad = xt.grad if lib is npg else xt.grad.numpy()
    return log, np.asarray(grad)


def test_global_forward_pre_and_forward_hooks_run_for_every_module_before_local_ones():
    n, t, x = _pair()

    def register(mod, log):
        def local(name):
            return lambda m, *a: log.append(("local", name))
        return [mod.register_module_forward_pre_hook(lambda m, a: log.append(("pre", type(m).__name__))),
                mod.register_module_forward_hook(lambda m, a, o: log.append(("fwd", type(m).__name__, o.shape[-1]))),
                (n if mod is nmod else t)[2].register_forward_pre_hook(local("pre2")),
                (n if mod is nmod else t)[2].register_forward_hook(local("fwd2"))]
    ln, gn = _run(npg, nmod, n, x, register)
    lt, gt = _run(torch, tmod, t, x, register)
    assert ln == lt and len(ln) == 10
    np.testing.assert_allclose(gn, gt, rtol=1e-12)


def test_global_hooks_replace_inputs_and_outputs_as_torch():
    n, t, x = _pair(1)

    def register(mod, log):
        lin = npg.nn.Linear if mod is nmod else torch.nn.Linear

        def pre(m, args):
            return (args[0] * 2,) if isinstance(m, lin) else None

        def fwd(m, args, out):
            return out + 1 if isinstance(m, lin) else None
        return [mod.register_module_forward_pre_hook(pre), mod.register_module_forward_hook(fwd)]
    _, gn = _run(npg, nmod, n, x, register)
    _, gt = _run(torch, tmod, t, x, register)
    np.testing.assert_allclose(gn, gt, rtol=1e-12)


def test_global_forward_hook_with_kwargs_and_always_call():
    class Boom(npg.nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative")
            return x * scale

    class TBoom(torch.nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative")
            return x * scale
    for mod, m, lib in ((nmod, Boom(), npg), (tmod, TBoom(), torch)):
        log = []
        h1 = mod.register_module_forward_hook(lambda m, a, k, o: log.append(("kw", dict(k))), with_kwargs=True)
        h2 = mod.register_module_forward_hook(lambda m, a, o: log.append(("always", o is None)), always_call=True)
        try:
            m(lib.ones(2), scale=3.0)
            with pytest.raises(ValueError, match="negative"):
                m(lib.ones(2), scale=-1.0)
        finally:
            h1.remove()
            h2.remove()
        if lib is npg:
            expected = log
        else:
            assert log == expected == [("kw", {"scale": 3.0}), ("always", False), ("always", True)]


def test_global_full_backward_hooks_see_torchs_gradients_and_replace_them():
    n, t, x = _pair(2)

    def register(mod, log):
        lin = npg.nn.Linear if mod is nmod else torch.nn.Linear

        def as_np(g):
            return None if g is None else np.array(g.detach().numpy() if hasattr(g, "detach") else g)

        def pre(m, grad_out):
            log.append(("pre", type(m).__name__, as_np(grad_out[0])))
            return (grad_out[0] * 3,) if isinstance(m, lin) else None

        def full(m, grad_in, grad_out):
            log.append(("full", type(m).__name__, as_np(grad_in[0]), as_np(grad_out[0])))
        return [mod.register_module_full_backward_pre_hook(pre), mod.register_module_full_backward_hook(full)]
    ln, gn = _run(npg, nmod, n, x, register)
    lt, gt = _run(torch, tmod, t, x, register)
    assert [e[:2] for e in ln] == [e[:2] for e in lt]
    for a, b in zip(ln, lt):
        for u, v in zip(a[2:], b[2:]):
            assert (u is None) == (v is None)
            if u is not None:
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gn, gt, rtol=1e-12)


def test_removed_global_hooks_stop_and_modules_take_the_fast_path_again():
    m = npg.nn.Linear(2, 2)
    log = []
    with nmod.register_module_forward_hook(lambda *a: log.append(1)):
        assert nhooks.GLOBAL_CALL_HOOKS[0] == 1
        m(npg.ones(2))
    m(npg.ones(2))
    assert log == [1] and nhooks.GLOBAL_CALL_HOOKS[0] == 0
    h = nmod.register_module_forward_pre_hook(lambda *a: None)
    h.remove()
    h.remove()   # (a second remove does nothing, as torch's)
    with pytest.raises(TypeError, match="callable"):
        nmod.register_module_forward_hook(3)
    assert nmod.Module is npg.nn.Module


def test_the_global_hook_counter_follows_every_way_of_emptying_a_table():
    """Module.__call__ tests one counter: clear(), popitem() and del keep it right, as remove() does."""
    tables = (nhooks._global_forward_pre_hooks, nhooks._global_forward_hooks)
    nmod.register_module_forward_pre_hook(lambda *a: None)
    nmod.register_module_forward_pre_hook(lambda *a: None)
    h = nmod.register_module_forward_hook(lambda *a: None)
    assert nhooks.GLOBAL_CALL_HOOKS[0] == 3
    tables[0].popitem()
    assert nhooks.GLOBAL_CALL_HOOKS[0] == 2
    del tables[1][h.id]
    with pytest.raises(KeyError):
        del tables[1][h.id]
    assert nhooks.GLOBAL_CALL_HOOKS[0] == 1
    tables[0].clear()
    assert nhooks.GLOBAL_CALL_HOOKS[0] == 0 and not tables[0] and not tables[1]
