"""The deprecated hook-based nn.utils.weight_norm / spectral_norm (and remove_*) against PyTorch's: parameter and
buffer layout, state-dict keys and metadata, forward values, gradients, power iteration and removal."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import npgrad as npg
import npgrad.nn as nn
from npgrad.nn.utils import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}
LAYERS = [(lambda: nn.Linear(4, 3), lambda: tnn.Linear(4, 3), (2, 4)),
          (lambda: nn.Conv2d(2, 3, 2), lambda: tnn.Conv2d(2, 3, 2), (2, 2, 4, 4)),
          (lambda: nn.ConvTranspose1d(2, 3, 2), lambda: tnn.ConvTranspose1d(2, 3, 2), (2, 2, 5))]


def pair(make, tmake, dtype, seed=0):
    torch.manual_seed(seed)
    t = tmake().to(TDT[dtype])
    m = make()
    m = m.double() if dtype == np.float64 else m.float()
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m, t


def same_state(m, t, dtype):
    sd, tsd = m.state_dict(), t.state_dict()
    assert list(sd) == list(tsd)
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert [k for k, _ in m.named_buffers()] == [k for k, _ in t.named_buffers()]
    for k in tsd:
        assert sd[k].dtype == dtype and sd[k].shape == tuple(tsd[k].shape), k
        assert_close(sd[k].data, tsd[k].numpy(), dtype, what=k)


def run(m, t, shape, dtype, seed=1):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    y, ty = m(npg.tensor(x)), t(torch.tensor(x))
    assert_close(y.data, ty.detach().numpy(), dtype)
    assert_close(m.weight.data, t.weight.detach().numpy(), dtype, what="weight")
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    tp = dict(t.named_parameters())
    for k, p in m.named_parameters():
        assert_close(p.grad, tp[k].grad.numpy(), dtype, what=k)
        p.grad = None
        tp[k].grad = None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(LAYERS)))
@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_weight_norm(dtype, case, dim):
    make, tmake, shape = LAYERS[case]
    m, t = pair(make, tmake, dtype)
    with pytest.warns(FutureWarning, match="deprecated"):
        assert weight_norm(m, dim=dim) is m
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tnn.utils.weight_norm(t, dim=dim)
    same_state(m, t, dtype)
    assert isinstance(m.weight_g, nn.Parameter) and isinstance(m.weight_v, nn.Parameter)
    assert "weight" not in m._parameters
    run(m, t, shape, dtype)
    with torch.no_grad():      # a step on g and v: the hook recomputes the weight
        t.weight_g.mul_(1.5)
        t.weight_v.add_(0.1)
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    run(m, t, shape, dtype)
    assert remove_weight_norm(m) is m
    tnn.utils.remove_weight_norm(t)
    same_state(m, t, dtype)
    assert isinstance(m.weight, nn.Parameter) and not m._forward_pre_hooks
    run(m, t, shape, dtype)


def test_weight_norm_errors():
    m = nn.Linear(3, 2)
    with pytest.warns(FutureWarning):
        weight_norm(m)
    with pytest.raises(RuntimeError, match="two weight_norm hooks"), pytest.warns(FutureWarning):
        weight_norm(m)
    remove_weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        remove_weight_norm(m)
    with pytest.raises(ValueError, match="uninitialized"), pytest.warns(FutureWarning):
        weight_norm(nn.LazyLinear(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(LAYERS)))
@pytest.mark.parametrize("n_iter", [1, 3])
def test_spectral_norm(dtype, case, n_iter):
    make, tmake, shape = LAYERS[case]
    m, t = pair(make, tmake, dtype)
    assert spectral_norm(m, n_power_iterations=n_iter) is m
    tnn.utils.spectral_norm(t, n_power_iterations=n_iter)
    assert [k for k in m.state_dict()] == [k for k in t.state_dict()]
    assert m._forward_pre_hooks[next(iter(m._forward_pre_hooks))].dim == t._forward_pre_hooks[
        next(iter(t._forward_pre_hooks))].dim
    assert m.state_dict()._metadata[""]["spectral_norm"] == t.state_dict()._metadata[""]["spectral_norm"]
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})   # PyTorch's random u and v
    same_state(m, t, dtype)
    for _ in range(2):      # training: the power iteration refines u and v at each call
        run(m, t, shape, dtype)
        same_state(m, t, dtype)
    m.eval()
    t.eval()
    run(m, t, shape, dtype)
    same_state(m, t, dtype)
    assert remove_spectral_norm(m) is m
    tnn.utils.remove_spectral_norm(t)
    same_state(m, t, dtype)
    assert isinstance(m.weight, nn.Parameter) and not m._forward_pre_hooks and not m._state_dict_hooks
    assert "spectral_norm" not in m.state_dict()._metadata[""]
    run(m, t, shape, dtype)


def test_spectral_norm_loads_a_version_0_state_dict():
    m, t = pair(lambda: nn.Linear(4, 3), lambda: tnn.Linear(4, 3), np.float64)
    spectral_norm(m)
    tnn.utils.spectral_norm(t)
    t(torch.randn(2, 4, dtype=torch.float64))
    sd = t.state_dict()
    old = {k: v for k, v in sd.items() if k != "weight_v"}
    old["weight"] = t.weight.detach()
    m.load_state_dict({k: v.numpy() for k, v in old.items()})
    t2 = tnn.utils.spectral_norm(tnn.Linear(4, 3).double())
    t2.load_state_dict(old)
    np.testing.assert_allclose(m.weight_v.data, t2.weight_v.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="weight_u"):
        m.load_state_dict({k: v.numpy() for k, v in old.items() if k != "weight_u"})


def test_spectral_norm_errors():
    m = spectral_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        spectral_norm(m)
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_norm(nn.Linear(3, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="is None"):
        spectral_norm(nn.Linear(3, 2, bias=False), name="bias")
    with pytest.raises(KeyError, match="not a parameter"):
        spectral_norm(nn.Linear(3, 2), name="nothing")
    with pytest.raises(IndexError, match="out of range"):
        spectral_norm(nn.Linear(3, 2), dim=2)
    remove_spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        remove_spectral_norm(m)
