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


@pytest.mark.parametrize("key", [slice(None, None, -1), Ellipsis, slice(None), [5, 4, 3, 2, 1, 0]])
def test_setitem_value_is_the_tensor_written(key):
    # y[key] = y: NumPy copies the overlapping value first; the gradient is that of the permutation (backward
    # used to find y itself as its own input and fail with "backward through the graph a second time")
    g = np.arange(1.0, 7.0)
    x = npg.tensor(np.arange(1.0, 7.0), requires_grad=True)
    y = x * x
    y[key] = y
    expected = np.arange(1.0, 7.0) ** 2
    expected[key] = expected.copy()
    np.testing.assert_array_equal(y.data, expected)
    (y * npg.tensor(g)).sum().backward()
    perm = np.arange(6)
    perm[key] = np.arange(6)
    np.testing.assert_allclose(np.asarray(x.grad), 2 * np.arange(1.0, 7.0) * _transpose_apply(perm, g))


def _transpose_apply(perm, g):
    out = np.zeros_like(g)
    np.add.at(out, perm, g)  # y_new[i] = y_old[perm[i]]: the cotangent of y_old[j] sums g[i] over perm[i] == j
    return out


def test_setitem_value_is_the_tensor_written_second_order():
    x = npg.tensor(np.arange(1.0, 5.0), requires_grad=True)
    y = x ** 3
    y[::-1] = y
    (gx,) = npg.autograd.grad((y * npg.tensor(np.arange(1.0, 5.0))).sum(), [x], create_graph=True)
    gx.sum().backward()
    w = np.arange(1.0, 5.0)[::-1]  # d/dx sum(w * x**3) = 3 w x**2; its sum's derivative is 6 w x
    np.testing.assert_allclose(gx.data, 3 * w * np.arange(1.0, 5.0) ** 2)
    np.testing.assert_allclose(np.asarray(x.grad), 6 * w * np.arange(1.0, 5.0))


@pytest.mark.parametrize("optimize", [("greedy", 10), ("optimal", 1e9), ("greedy", 1)])
def test_einsum_optimize_with_memory_limit(optimize):
    # np.einsum accepts optimize=(strategy, maximum intermediate size); npgrad raised ValueError
    rng = np.random.default_rng(0)
    ops = [rng.standard_normal(s) for s in [(2, 3), (3, 4), (4, 5), (5, 2)]]
    xs = [npg.tensor(o, requires_grad=True) for o in ops]
    out = npg.einsum("ij,jk,kl,li->", *xs, optimize=optimize)
    np.testing.assert_allclose(out.data, np.einsum("ij,jk,kl,li->", *ops, optimize=optimize))
    out.backward()
    np.testing.assert_allclose(np.asarray(xs[0].grad), (ops[1] @ ops[2] @ ops[3]).T)


@pytest.mark.parametrize("order", ["C", "F", "A", "K"])
def test_ravel_order_matches_numpy(order):
    # np.ravel(tensor, order=...) raised TypeError (npgrad's ravel took no order)
    a = np.arange(6.0).reshape(2, 3)
    for src, t in ((a, npg.tensor(a)), (a.T, npg.transpose(npg.tensor(a)))):
        np.testing.assert_array_equal(npg.ravel(t, order=order).data, np.ravel(src, order=order))
        np.testing.assert_array_equal(np.ravel(t, order=order).data, np.ravel(src, order=order))
    x = npg.tensor(a, requires_grad=True)
    (npg.ravel(x, order) * npg.tensor(np.arange(6.0))).sum().backward()
    expected = np.reshape(np.arange(6.0), (2, 3), order="F" if order == "F" else "C")
    np.testing.assert_array_equal(np.asarray(x.grad), expected)


# x[idx]'s gradient for a few rows (ops/index.py: _scatter_rows): distinct rows are one assignment, repeated rows
# accumulate (the sorted reduceat / bincount paths), negative rows count from the end; against torch.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [[1, 3, 5], [5, -1, 0], [1, 3, 1, -1, 15], [[2, 0], [0, 7]], [4] * 65,
                                  list(range(16)) * 4 + [3]], ids=["distinct", "negative", "repeated", "2-d",
                                                                  "65 repeated", "65 mixed"])
def test_row_lookup_gradient_few_rows_matches_torch(rows, dtype):
    import torch
    rng = np.random.default_rng(0)
    a, c = rng.standard_normal((16, 3)).astype(dtype), rng.standard_normal(np.shape(rows) + (3,)).astype(dtype)
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    npg.sum(x[np.array(rows)] * c).backward()
    (tx[torch.tensor(rows)] * torch.tensor(c)).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6, atol=1e-6)
