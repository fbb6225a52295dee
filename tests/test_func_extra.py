"""npg.func.linearize, stack_module_state, replace_all_batch_norm_modules_ and functionalize against
torch.func."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.func as TFN

import npgrad as npg
import npgrad.nn as nn
from tests.helpers import assert_close


def test_linearize_vs_torch():
    r = np.random.default_rng(0)
    x0, y0 = r.standard_normal(3), r.standard_normal((2, 3))
    out, fn = npg.func.linearize(lambda x, y: npg.sin(x) * npg.exp(y), npg.tensor(x0), npg.tensor(y0))
    t_out, t_fn = TFN.linearize(lambda x, y: torch.sin(x) * torch.exp(y), torch.tensor(x0), torch.tensor(y0))
    assert_close(out.data, t_out.numpy())
    for _ in range(3):      # the same linearization applied to several tangents
        tx, ty = r.standard_normal(3), r.standard_normal((2, 3))
        assert_close(fn(npg.tensor(tx), npg.tensor(ty)).data, t_fn(torch.tensor(tx), torch.tensor(ty)).numpy())
    with pytest.raises(RuntimeError, match="linearize: expected tangent 0 of shape"):
        fn(npg.tensor(np.ones(4)), npg.tensor(ty))


def test_linearize_output_keeps_its_graph_as_torch():
    # torch.func.linearize's primal output is differentiable in the primals that require grad; npgrad's was
    # detached, so a loss using it silently lost that term
    r = np.random.default_rng(1)
    x0, w = r.standard_normal(4), r.standard_normal(4)
    x, tx = npg.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    out, fn = npg.func.linearize(lambda a: npg.sin(a) * a, x)
    t_out, t_fn = TFN.linearize(lambda a: torch.sin(a) * a, tx)
    assert out.requires_grad and t_out.requires_grad
    (out * npg.tensor(w, requires_grad=False)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    plain, _ = npg.func.linearize(npg.sin, x0)       # a NumPy primal: a constant, as torch.tensor's
    assert not plain.requires_grad


def _ensemble(n=4, seed=0):
    torch.manual_seed(seed)
    t_models = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
                for _ in range(n)]
    models = []
    for tm in t_models:
        m = nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.Tanh(), nn.Linear(3, 2, dtype=np.float64))
        m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
        models.append(m)
    return models, t_models


def test_stack_module_state_ensembling_vs_torch():
    models, t_models = _ensemble()
    params, buffers = npg.func.stack_module_state(models)
    t_params, t_buffers = TFN.stack_module_state(t_models)
    assert sorted(params) == sorted(t_params) and sorted(buffers) == sorted(t_buffers)
    for k in params:
        assert params[k].requires_grad and params[k].grad is None
        assert_close(params[k].data, t_params[k].detach().numpy())
    x = np.random.default_rng(1).standard_normal((7, 4))
    base, t_base = models[0], copy.deepcopy(t_models[0]).to("meta")
    out = npg.func.vmap(lambda p, b, xx: npg.func.functional_call(base, (p, b), (xx,)), in_dims=(0, 0, None))(
        params, buffers, npg.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = torch.vmap(lambda p, b, xx: TFN.functional_call(t_base, (p, b), (xx,)), in_dims=(0, 0, None))(
            t_params, t_buffers, torch.tensor(x))
    assert_close(out.data, t_out.detach().numpy())
    (out ** 2).sum().backward()
    (t_out ** 2).sum().backward()
    for k in params:
        assert_close(params[k].grad, t_params[k].grad.numpy())
    for m, p in zip(models, params.values()):      # the models' own parameters are left alone
        assert all(q.grad is None for q in m.parameters())


def test_stack_module_state_errors_like_torch():
    models, t_models = _ensemble(2)
    for stack, ms in ((npg.func.stack_module_state, []), (TFN.stack_module_state, [])):
        with pytest.raises(RuntimeError, match="at least one model"):
            stack(ms)
    models[1].eval()
    t_models[1].eval()
    for stack, ms in ((npg.func.stack_module_state, models), (TFN.stack_module_state, t_models)):
        with pytest.raises(RuntimeError, match="same training/eval mode"):
            stack(ms)
    with pytest.raises(RuntimeError, match="same class"):
        npg.func.stack_module_state([nn.Linear(2, 2), nn.Tanh()])


def test_replace_all_batch_norm_modules_then_vmap_in_training_mode():
    m = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert npg.func.replace_all_batch_norm_modules_(m) is m
    TFN.replace_all_batch_norm_modules_(tm)
    bn = m[1]
    assert bn.running_mean is None and bn.running_var is None and not bn.track_running_stats
    x = np.random.default_rng(2).standard_normal((3, 5, 3))     # 3 groups of 5 samples, each its own batch
    out = npg.func.vmap(m)(npg.tensor(x))
    t_out = torch.func.vmap(tm)(torch.tensor(x))
    assert_close(out.data, t_out.detach().numpy())


def test_functionalize_keeps_the_values():
    def f(x):
        y = x * 1.0
        y += 2.0
        return y * y
    x = npg.tensor(np.arange(3.0))
    assert_close(npg.func.functionalize(f)(x).data, TFN.functionalize(lambda t: (t + 2.0) ** 2)(
        torch.arange(3.0, dtype=torch.float64)).numpy())
    with pytest.raises(RuntimeError, match="invalid argument for remove"):
        npg.func.functionalize(f, remove="views")
