"""Unique values and the 1-D set operations are differentiable in their values (npgrad/ops/unique.py): their
values are NumPy's exactly; away from ties the gradient is central differences'; at ties each value's gradient
is split evenly over the input elements equal to it (the oracle: NumPy's own inverse indices and counts).
Before, the values were constants, and a loss that read them silently lost that part of its gradient."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.autograd.forward_ad as fwd

RNG = np.random.default_rng(7)
TIES = np.array([[3.0, 1.0, 3.0, 2.5], [2.0, 1.0, 5.0, 3.0]])


def _fd(f, x0, w, eps=1e-6):
    g = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (np.sum(f(xp) * w) - np.sum(f(xm) * w)) / (2 * eps)
    return g


FUNCS = {
    "unique": lambda m, x: m.unique(x),
    "unique_axis1": lambda m, x: m.unique(x, axis=1),
    "unique_all": lambda m, x: m.unique_all(x).values,
    "unique_counts": lambda m, x: m.unique_counts(x).values,
    "unique_inverse": lambda m, x: m.unique_inverse(x).values,
    "unique_values": lambda m, x: m.unique_values(x),
    "union1d": lambda m, x: m.union1d(x[0], x[1:]),
    "intersect1d": lambda m, x: m.intersect1d(x[0], x[1:] if m is np else x[1:]),
    "setdiff1d": lambda m, x: m.setdiff1d(x[0], x[1]),
    "setdiff1d_assume_unique": lambda m, x: m.setdiff1d(x[0], x[1], assume_unique=True),
    "setxor1d": lambda m, x: m.setxor1d(x[0], x[1:]),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_are_numpys_and_gradient_is_finite_differences(name, dtype):
    f = FUNCS[name]
    x0 = RNG.standard_normal((3, 4))
    if name == "intersect1d":
        x0[1, 2], x0[2, 0] = x0[0, 1], x0[0, 3]   # (a common value must exist to have a gradient at all)
    x = npg.tensor(x0.astype(dtype))
    out = f(npg, x)
    expected = f(np, x0.astype(dtype))
    assert out.dtype == expected.dtype and out.requires_grad
    np.testing.assert_array_equal(out.data, expected)
    w = RNG.standard_normal(out.shape)
    npg.sum(out * w.astype(dtype)).backward()
    if name == "intersect1d":   # each common value: half to each copy (a tie by construction)
        want = np.zeros_like(x0)
        for v, wv in zip(expected, w):
            want[x0.astype(dtype) == v] += wv / 2
    else:
        want = _fd(lambda v: f(np, v), x0, w)
    np.testing.assert_allclose(x.grad, want, rtol=1e-4 if dtype == np.float32 else 1e-6, atol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_ties_split_the_gradient_evenly(axis):
    x = npg.tensor(TIES if axis != 0 else TIES.T)
    vals, inv, cnt = npg.unique(x, return_inverse=True, return_counts=True, axis=axis)
    w = RNG.standard_normal(vals.shape)
    npg.sum(vals * w).backward()
    share = w / (cnt.data if axis is None else np.expand_dims(cnt.data, 1 - axis))
    want = share[inv.data.reshape(-1)].reshape(x.shape) if axis is None else np.take(share, inv.data, axis=axis)
    np.testing.assert_allclose(x.grad, want)


def test_unique_consecutive_against_torch_values_and_run_split():
    a = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 3.0])
    x = npg.tensor(a)
    out, inv, cnt = npg.unique_consecutive(x, return_inverse=True, return_counts=True)
    t_out, t_inv, t_cnt = torch.unique_consecutive(torch.tensor(a), return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(out.data, t_out.numpy())
    np.testing.assert_array_equal(inv.data, t_inv.numpy())
    np.testing.assert_array_equal(cnt.data, t_cnt.numpy())
    w = np.arange(1.0, out.size + 1)
    npg.sum(out * w).backward()
    np.testing.assert_allclose(x.grad, (w / cnt.data)[inv.data])


def test_torch_style_unique_method():
    a = np.array([[2.0, 1.0], [2.0, 1.0], [0.5, 4.0]])
    x = npg.tensor(a)
    rows = x.unique(dim=0)
    np.testing.assert_array_equal(rows.data, torch.tensor(a).unique(dim=0).numpy())
    npg.sum(rows * np.array([[1.0, 2.0], [3.0, 4.0]])).backward()
    np.testing.assert_allclose(x.grad, [[1.5, 2.0], [1.5, 2.0], [1.0, 2.0]])


def test_forward_mode_is_the_transpose_of_backward():
    x0 = TIES.copy()
    for f in (lambda v: npg.unique(v), lambda v: npg.unique(v, axis=1)):
        jr = npg.func.jacrev(f)(npg.tensor(x0))
        jf = npg.func.jacfwd(f)(npg.tensor(x0))
        np.testing.assert_allclose(jf.data, jr.data)
    with fwd.dual_level():
        d = fwd.make_dual(npg.tensor([3.0, 1.0, 3.0, 2.0]), npg.tensor([1.0, 10.0, 100.0, 1000.0]))
        np.testing.assert_allclose(fwd.unpack_dual(npg.unique(d)).tangent.data, [10.0, 1000.0, 50.5])


def test_second_order_through_unique():
    x = npg.tensor(np.array([0.3, -1.2, 0.3, 2.0]))
    (g,) = npg.autograd.grad(npg.sum(npg.unique(x) ** 3), x, create_graph=True)
    (h,) = npg.autograd.grad(npg.sum(g), x)
    # sum(g) = sum over values of 3 u^2 (each group's count shares adding up); u is its group's mean: 6 u / count
    np.testing.assert_allclose(h, [6 * 0.3 / 2, 6 * -1.2, 6 * 0.3 / 2, 12.0])


def test_constants_stay_constants():
    ints = npg.tensor(np.array([3, 1, 3]))
    assert not npg.unique(ints).requires_grad
    x = npg.tensor([3.0, 1.0], requires_grad=False)
    assert not npg.union1d(x, [2.0]).requires_grad
    with npg.no_grad():
        assert not npg.unique(npg.tensor([1.0, 1.0])).requires_grad
    with pytest.raises(TypeError, match="union1d"):
        npg.union1d(npg.ones(2), "a")
