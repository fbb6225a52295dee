"""Torch-named arithmetic methods follow PyTorch, checked against torch: ``x.add(other, alpha=)`` / ``sub`` /
``add_`` / ``sub_`` take its rules for alpha (alpha takes the result's dtype: a bool result scales by
bool(alpha); float alphas are refused for integral tensors, complex ones for real tensors, bool ones for non-bool
results; the same values and dtype, or both raise), and ``x.reciprocal()`` of integers gives floats."""
import numpy as np
import pytest
import torch

import npgrad as npg

OPERANDS = {
    "bool": np.array([True, False, True]), "bool2": np.array([True, True, False]),
    "int": np.array([1, 2, -3]), "float32": np.array([1.5, -2.0, 0.25], np.float32),
    "float64": np.array([1.5, -2.0, 0.25]), "complex": np.array([1 + 1j, 2, -1j]),
}
PAIRS = [("bool", "bool2"), ("bool", "int"), ("int", "int"), ("int", "bool"), ("float32", "float32"),
         ("float64", "int"), ("complex", "float64"), ("bool", 1), ("bool", True), ("int", 2), ("float32", 2.5)]
ALPHAS = [1, 0, 2, -1, True, False, 0.5, 2.0, 1j]


def _run(lib, make, a, b, method, alpha):
    x = make(OPERANDS[a])
    o = make(OPERANDS[b]) if isinstance(b, str) else b
    return getattr(x, method)(o, alpha=alpha)


@pytest.mark.parametrize("method", ["add", "sub", "add_", "sub_"])
@pytest.mark.parametrize("alpha", ALPHAS, ids=repr)
@pytest.mark.parametrize("a,b", PAIRS, ids=lambda v: repr(v))
def test_alpha_as_torch(a, b, method, alpha):
    try:
        want = _run(torch, lambda v: torch.tensor(v), a, b, method, alpha).numpy()
    except RuntimeError:
        with pytest.raises((RuntimeError, TypeError)):
            _run(npg, lambda v: npg.tensor(v, requires_grad=False), a, b, method, alpha)
        return
    got = _run(npg, lambda v: npg.tensor(v, requires_grad=False), a, b, method, alpha)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got.data, want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gradient_of_a_scaled_add_is_torchs(dtype):
    x0, o0 = np.array([1.0, -2.0, 3.0], dtype), np.array([0.5, 0.25, -1.0], dtype)
    x, o = npg.tensor(x0), npg.tensor(o0)
    (x.add(o, alpha=-2.5) * x.sub(o, alpha=0.5)).sum().backward()
    tx, to = torch.tensor(x0, requires_grad=True), torch.tensor(o0, requires_grad=True)
    (tx.add(to, alpha=-2.5) * tx.sub(to, alpha=0.5)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(o.grad, to.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("values", [[1, 2, 4], [True, False], [0.5, 2.0, -4.0]], ids=["int", "bool", "float"])
def test_the_reciprocal_method_of_integers_gives_floats_as_torch(values):
    # (npg.reciprocal keeps NumPy's meaning: np.reciprocal of integers is 1 // x)
    with np.errstate(divide="ignore"):
        got = npg.tensor(np.array(values), requires_grad=False).reciprocal()
    want = torch.tensor(values).reciprocal().numpy()
    assert got.dtype.kind == "f"
    np.testing.assert_allclose(got.data, want, rtol=1e-7)
    np.testing.assert_array_equal(npg.reciprocal(npg.tensor(np.array([1, 2, 4]))).data,
                                  np.reciprocal(np.array([1, 2, 4])))
