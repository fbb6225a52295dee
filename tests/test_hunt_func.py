"""Hunt for silent differences between npgrad.func and torch.func (2.13): regression tests for what was found,
each against torch.func (values and gradients, float32 and float64)."""
import numpy as np
import pytest
import torch
import torch.func as TF

import npgrad as npg
from npgrad import func as F


def _n(a, grad=False):
    return npg.tensor(a, requires_grad=grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vmap_put_along_axis_only_values_batched(dtype):
    # only `values` batched (x and indices shared): the rule looked for the batch size in x and indices only
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(dtype)
    idx = np.array([[1], [2], [0]])
    vals = rng.standard_normal((5, 3, 1)).astype(dtype)
    x_n, v_n = _n(a, True), _n(vals, True)
    out = F.vmap(lambda x, i, v: npg.put_along_axis(x, i, v, axis=1), in_dims=(None, None, 0))(x_n, _n(idx), v_n)
    x_t, v_t = torch.tensor(a, requires_grad=True), torch.tensor(vals, requires_grad=True)
    ref = TF.vmap(lambda x, i, v: torch.scatter(x, 1, i, v), in_dims=(None, None, 0))(x_t, torch.tensor(idx), v_t)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6)
    w = rng.standard_normal(ref.shape).astype(dtype)
    (out * _n(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x_n.grad.data, x_t.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(v_n.grad.data, v_t.grad.numpy(), rtol=1e-5)
