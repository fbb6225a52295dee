"""Adversarial review of indexing, setitem, einsum and shape ops against NumPy (values) and an exact
oracle for the gradients (these ops are linear: the VJP is NumPy's op applied to the cotangent, inverted)."""
import numpy as np
import pytest

import npgrad as npg


@pytest.mark.parametrize("order", ["C", "F", "A"])
@pytest.mark.parametrize("shape", [(-1,), (4, -1), (6, 4), (2, 2, 2, 3)])
def test_reshape_order_matches_numpy(order, shape):
    a = np.arange(24.0).reshape(2, 3, 4)
    g = np.random.default_rng(0).standard_normal(np.reshape(a, shape).shape)
    for src, x in ((a, npg.tensor(a, requires_grad=True)), (a.T, None)):
        leaf = x if x is not None else npg.tensor(a, requires_grad=True)
        t = leaf if x is not None else npg.transpose(leaf)  # an F-contiguous view: order='A' reads it in F order
        y = npg.reshape(t, shape, order=order)
        np.testing.assert_array_equal(y.data, np.reshape(src, shape, order=order))
        np.testing.assert_array_equal(t.reshape(shape, order=order).data, np.reshape(src, shape, order=order))
        (y * npg.tensor(g)).sum().backward()
        expected = np.reshape(g, src.shape, order="F" if order == "F" or src is not a and order == "A" else "C")
        np.testing.assert_array_equal(leaf.grad.data, expected if src is a else expected.T)


def test_reshape_bad_order_raises_like_numpy():
    with pytest.raises(ValueError):
        np.reshape(np.zeros(4), (2, 2), order="X")
    with pytest.raises(ValueError):
        npg.reshape(npg.tensor(np.zeros(4)), (2, 2), order="X")
