"""float32 normalization of inputs far from zero (raw pixel values, a layer with a large bias): the mean is taken of
``x - s``, ``s`` a sample of each slice, so its rounding scales with the spread of ``x``, not its magnitude. Before,
a float32 batch norm of ``100 + N(0, 1)`` had its output 2e-5 off and its weight gradient 1.5e-2 off (torch: 7e-7
and 3e-4). Oracle: torch in float64; npgrad in float32 within twice torch's float32 error (or 3e-5)."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F


def _run(lib, kind, arrays, g, dtype):
    mk = (lambda a: npg.tensor(a.astype(dtype))) if lib is npg else \
        (lambda a: torch.tensor(a.astype(dtype), requires_grad=True))
    fn = F if lib is npg else torch.nn.functional
    x, w, b = (mk(a) for a in arrays)
    if kind == "batch_norm":
        y = fn.batch_norm(x, None, None, w, b, training=True)
    elif kind == "layer_norm":
        y = fn.layer_norm(x, (x.shape[-1],), w, b)
    else:
        y = fn.group_norm(x, 4, w, b)
    if lib is npg:
        y.backward(npg.tensor(g.astype(dtype)))
        return [y.data, x.grad, w.grad, b.grad]
    y.backward(torch.tensor(g.astype(dtype)))
    return [t.detach().numpy() for t in (y, x.grad, w.grad, b.grad)]


@pytest.mark.parametrize("kind, shape", [("batch_norm", (7000, 3, 4, 4)), ("batch_norm", (64, 16, 14, 14)),
                                         ("layer_norm", (64, 512)), ("group_norm", (32, 16, 8, 8))])
@pytest.mark.parametrize("offset", [0.0, 100.0, -3000.0])
def test_float32_normalization_as_accurate_as_torch(kind, shape, offset):
    rng = np.random.default_rng(0)
    C = shape[-1] if kind == "layer_norm" else shape[1]
    arrays = [offset + rng.standard_normal(shape), rng.uniform(0.5, 1.5, C), rng.standard_normal(C)]
    g = 0.3 + rng.standard_normal(shape)
    exact = _run(torch, kind, arrays, g, np.float64)
    ours, theirs = _run(npg, kind, arrays, g, np.float32), _run(torch, kind, arrays, g, np.float32)
    for name, a, t, e in zip(("output", "input grad", "weight grad", "bias grad"), ours, theirs, exact):
        scale = np.abs(e).max()
        err, torch_err = np.abs(a - e).max() / scale, np.abs(t - e).max() / scale
        assert a.dtype == np.float32
        assert err <= max(2 * torch_err, 3e-5), (name, err, torch_err)   # (3e-5: NumPy sums float32 naively
        # along strided axes, so a weight gradient over 112,000 elements is ~1e-5 off at any offset; torch ~1e-6)
