"""Review round 2 of ``npg.nn.utils`` against ``torch.nn.utils``."""
import importlib

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.utils as U
import torch.nn.utils as TU


def _params_with_grads():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in [(3, 4), (5,), ()]]
    grads = [rng.standard_normal(a.shape) for a in arrays]
    ps = [npg.nn.Parameter(npg.tensor(a.copy())) for a in arrays]
    ts = [torch.nn.Parameter(torch.tensor(a.copy())) for a in arrays]
    for p, t, g in zip(ps, ts, grads):
        p.grad = g.copy()
        t.grad = torch.tensor(g.copy())
    return ps, ts


def test_convert_parameters_and_clip_grad_submodules_exist_as_torch():
    # torch.nn.utils.convert_parameters / torch.nn.utils.clip_grad are importable submodules
    cp = importlib.import_module("npgrad.nn.utils.convert_parameters")
    cg = importlib.import_module("npgrad.nn.utils.clip_grad")
    assert cp.parameters_to_vector is U.parameters_to_vector
    assert cp.vector_to_parameters is U.vector_to_parameters
    for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_"):
        assert hasattr(TU.clip_grad, name)
        assert getattr(cg, name) is getattr(U, name)


def test_deprecated_clip_grad_norm_alias_warns_and_clips_as_torch():
    ps, ts = _params_with_grads()
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = U.clip_grad_norm(ps, 0.5, norm_type=3.0)
    with pytest.warns(FutureWarning):
        total_t = TU.clip_grad_norm(ts, 0.5, norm_type=3.0)
    np.testing.assert_allclose(np.asarray(total.data), total_t.numpy(), rtol=1e-12)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)
