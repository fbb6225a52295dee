"""Normalization layers over random configurations, against torch.nn: three steps of forward and backward
with the layer's state carried over (running statistics with momentum, momentum=None's cumulative average,
track_running_stats, affine, eval mode), checking outputs, input gradients, parameter gradients and the
whole state_dict after each step; where PyTorch raises, npgrad must raise too."""
import warnings

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import npgrad as npg
import npgrad.nn as nn

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
                                 "InstanceNorm3d", "GroupNorm", "LayerNorm", "RMSNorm", "LocalResponseNorm"]))
    C, N = draw(st.sampled_from([1, 2, 4, 6])), draw(st.sampled_from([1, 2, 5]))
    spatial = lambda k: tuple(draw(st.sampled_from([1, 3])) for _ in range(k))   # noqa: E731
    if kind.startswith(("BatchNorm", "InstanceNorm")):
        kw = dict(eps=draw(st.sampled_from([1e-5, 1e-3])), momentum=draw(st.sampled_from([0.1, None, 0.5])),
                  affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
        nd = {"1d": draw(st.sampled_from([2, 3])), "2d": 4, "3d": 5}[kind[-2:]]
        return kind, (C,), kw, (N, C) + spatial(nd - 2)
    if kind == "GroupNorm":
        G = draw(st.sampled_from([g for g in (1, 2, 3) if C % g == 0]))
        return kind, (G, C), dict(affine=draw(st.booleans())), (N, C) + spatial(draw(st.integers(0, 2)))
    if kind == "LocalResponseNorm":
        kw = dict(alpha=draw(st.sampled_from([1e-4, 0.5])), beta=0.75, k=draw(st.sampled_from([1.0, 2.0])))
        return kind, (draw(st.integers(1, 3)),), kw, (N, C) + spatial(draw(st.integers(1, 2)))
    norm_shape = tuple(draw(st.sampled_from([2, 3])) for _ in range(draw(st.integers(1, 2))))
    kw = dict(elementwise_affine=draw(st.booleans()))
    if kind == "LayerNorm" and kw["elementwise_affine"]:
        kw["bias"] = draw(st.booleans())
    if kind == "RMSNorm":
        kw["eps"] = draw(st.sampled_from([1e-5, None]))
    return kind, (norm_shape,), kw, (N,) + norm_shape


@settings(max_examples=250, **SETTINGS)
@given(config=configs(), train=st.booleans(), seed=st.integers(0, 2**16))
def test_normalization_layers_random_configs(config, train, seed):
    kind, args, kw, shape = config
    tm = getattr(torch.nn, kind)(*args, **kw).double()
    nm = getattr(nn, kind)(*args, **kw) if kind == "LocalResponseNorm" else getattr(nn, kind)(*args, dtype=np.float64,
                                                                                            **kw)
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(0.5, 1.5)
    nm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    tm.train(train)
    nm.train(train)
    rng = np.random.default_rng(seed)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ty = tm(tx)
        except (RuntimeError, ValueError):
            try:
                nm(nx)
            except (RuntimeError, ValueError):
                return
            raise AssertionError(f"PyTorch raised, npgrad did not: {config}")
        ny = nm(nx)
        np.testing.assert_allclose(ny.data, ty.detach().numpy(), rtol=1e-9, atol=1e-10, err_msg=f"step {step}")
        g = rng.standard_normal(tuple(ty.shape))
        (ty * torch.tensor(g)).sum().backward()
        (ny * g).sum().backward()
        np.testing.assert_allclose(nx.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=f"step {step}")
        t_state, n_state = tm.state_dict(), nm.state_dict()
        assert sorted(t_state) == sorted(n_state)
        for k, v in t_state.items():
            nv = n_state[k]
            np.testing.assert_allclose(np.asarray(getattr(nv, "data", nv), dtype=float), v.numpy().astype(float),
                                       rtol=1e-10, atol=1e-12, err_msg=f"{k} after step {step}")
        for (k, tp), (_, np_) in zip(sorted(tm.named_parameters()), sorted(nm.named_parameters())):
            np.testing.assert_allclose(np_.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=f"{k}.grad")
