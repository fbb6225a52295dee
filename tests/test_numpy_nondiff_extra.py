"""NumPy's functions without a gradient added in npgrad/ops/nondiff_extra.py, beyond the NONDIFF table of
tests/test_numpy_surface.py (which checks each one's result against NumPy's, through ``np.X(tensor)`` and
``npg.X``): PyTorch parity of the ufuncs under PyTorch's names, vmap, errors naming the function, memory
tests, ``np.save`` of tensors, and the two differentiable helpers NumPy dispatches (``apply_over_axes``, the
in-place ``np.put_along_axis``)."""
import io

import numpy as np
import pytest
import torch

import npgrad as npg

F = np.array([1.0, -0.0, 0.0, -2.5, np.inf, -np.inf, np.nan, 1e-310])
G, H = np.array([12, -18, 0, 7, 35, -4]), np.array([8, 12, 0, -21, 14, 6])


@pytest.mark.parametrize("name,args", [
    ("signbit", (F,)), ("isposinf", (F,)), ("isneginf", (F,)), ("nextafter", (F, F[::-1].copy())),
    ("nextafter", (F.astype(np.float32), np.zeros(8, np.float32))), ("gcd", (G, H)), ("lcm", (G, H)),
    ("gcd", (G.astype(np.int32), H.astype(np.int32))), ("bitwise_left_shift", (G, G % 5)),
    ("bitwise_right_shift", (G, G % 5)), ("bitwise_not", (G,)), ("bitwise_not", (F > 0,))], ids=str)
def test_ufuncs_match_torch(name, args):
    got = getattr(npg, name)(*(npg.tensor(a) for a in args))
    expected = getattr(torch, name)(*(torch.tensor(a) for a in args)).numpy()
    assert got.dtype == expected.dtype   # (nextafter is differentiable in x1, as torch's: the op table checks it)
    assert got.requires_grad == (name == "nextafter")
    np.testing.assert_array_equal(got.data, expected)


def test_numpy_2_short_names_are_the_same_ops():
    for short, long in (("acos", "arccos"), ("acosh", "arccosh"), ("asin", "arcsin"), ("asinh", "arcsinh"),
                        ("atan", "arctan"), ("atan2", "arctan2"), ("atanh", "arctanh"),
                        ("bitwise_left_shift", "left_shift"), ("bitwise_right_shift", "right_shift"),
                        ("bitwise_invert", "invert"), ("bitwise_not", "invert")):
        assert getattr(npg, short) is getattr(npg, long), short
    x = npg.tensor([0.1, -0.5])
    npg.acos(x).sum().backward()  # (differentiable, as arccos)
    np.testing.assert_allclose(x.grad, -1 / np.sqrt(1 - x.data ** 2))


def test_vmap_of_the_ufuncs():
    x, a, b = np.stack([F, -F]), np.stack([G, H]), np.stack([H, G])
    np.testing.assert_array_equal(npg.func.vmap(npg.signbit)(npg.tensor(x)).data, np.signbit(x))
    np.testing.assert_array_equal(npg.func.vmap(npg.gcd)(npg.tensor(a), npg.tensor(b)).data, np.gcd(a, b))
    np.testing.assert_array_equal(npg.func.vmap(npg.isposinf)(npg.tensor(x)).data, np.isposinf(x))


def test_results_are_constants_even_from_tensors_that_require_grad():
    x = npg.tensor(np.array([1.0, 2.0, 2.0, 5.0]), requires_grad=True)
    for out in (np.spacing(x), *np.unique_all(x)[1:], np.histogram2d(x, x, range=[[0, 5], [0, 5]])[1]):
        # (unique values and histogram edges are differentiable: tests/test_unique_grad.py, test_histogram_grad.py)
        assert isinstance(out, npg.Tensor) and not out.requires_grad, out
    assert type(np.unique_counts(x)) is type(np.unique_counts(x.data))


@pytest.mark.parametrize("call,match", [
    (lambda: np.diag_indices_from(npg.ones(3)), "diag_indices_from: input array must be at least 2-d"),
    (lambda: np.tril_indices_from(npg.ones(3)), "tril_indices_from"),
    (lambda: np.ix_(npg.ones((2, 2), dtype=np.int64)), "ix_: Cross index must be 1 dimensional"),
    (lambda: np.isposinf(npg.tensor([1j])), "isposinf"),
    (lambda: npg.isneginf(npg.ones(2), out=np.empty(2, bool)), "isneginf: out= is not supported"),
    (lambda: np.histogram2d(npg.ones(3), npg.ones(4)), "histogram2d: x and y must have the same length"),
    (lambda: np.histogram2d(npg.ones(3), npg.ones(3), weights=npg.ones(3)), "histogram2d: not differentiable"),
    (lambda: np.histogramdd(npg.ones((3, 2)), weights=npg.ones(3)), "histogramdd: not differentiable"),
    (lambda: np.packbits(npg.ones(2)), "packbits"), (lambda: np.unpackbits(npg.ones(2, dtype=np.int64)), "unpack"),
    (lambda: np.unravel_index(npg.tensor([20]), (4, 5)), "unravel_index: index 20 is out of bounds"),
    (lambda: np.ravel_multi_index((npg.tensor([5]),), (3,)), "ravel_multi_index"),
    (lambda: np.nextafter(npg.ones(2), npg.ones(3)), r"nextafter.*\(2,\).*\(3,\)"),
    (lambda: np.gcd(npg.ones(2), 2), "gcd"), (lambda: np.signbit(npg.tensor([1j])), "signbit"),
    (lambda: np.union1d(npg.ones(2), "a"), "union1d: unsupported dtype"),
    (lambda: np.einsum_path("ij,jk", npg.ones(2, 3), npg.ones(2, 3)), "einsum_path"),
    (lambda: np.apply_over_axes(lambda a, ax: npg.sum(a), npg.ones(2, 3), [1]), "apply_over_axes"),
    (lambda: np.put_along_axis(npg.ones(2, 3), np.zeros((2, 1), int), 1.0, 1), "put_along_axis: a leaf"),
])
def test_errors_name_the_function(call, match):
    with pytest.raises((ValueError, TypeError, RuntimeError), match=match):
        call()


def test_memory_overlap_of_tensors():
    t = npg.tensor(np.arange(12.0).reshape(3, 4))
    assert np.shares_memory(t[1:], t) and np.may_share_memory(t.T, t) and npg.shares_memory(t[:, 0], t)
    assert not np.shares_memory(t, npg.tensor(t.data)) and not np.shares_memory(t + 0, t)
    assert np.shares_memory(t, t.data) and not npg.may_share_memory(t[0], t[1])


def test_numpy_save_writes_the_tensors_values():
    t, i = npg.tensor(np.arange(6.0).reshape(2, 3)), npg.tensor(np.array([3, 1]))
    buf = io.BytesIO()
    np.save(buf, t)
    buf.seek(0)
    np.testing.assert_array_equal(np.load(buf), t.data)
    for save in (np.savez, np.savez_compressed):
        buf = io.BytesIO()
        save(buf, t, idx=i)
        buf.seek(0)
        with np.load(buf) as z:
            assert z["arr_0"].tolist() == t.data.tolist() and z["idx"].dtype == i.dtype
    got, expected = io.StringIO(), io.StringIO()
    np.savetxt(got, t, fmt="%.3f")
    np.savetxt(expected, t.data, fmt="%.3f")
    assert got.getvalue() == expected.getvalue()


@pytest.mark.parametrize("func,axes", [(np.sum, [0, 2]), (np.mean, -1), (np.max, (1, -3)), (np.sum, [])])
def test_apply_over_axes_matches_numpy_and_differentiates(func, axes):
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    t = npg.tensor(a)
    out = np.apply_over_axes(func, t, axes)
    np.testing.assert_allclose(out.data, np.apply_over_axes(func, a, axes))
    ta = torch.tensor(a, requires_grad=True)
    tout = ta
    for ax in ([axes] if np.ndim(axes) == 0 else axes):
        tout = getattr(torch, func.__name__)(tout, dim=ax, keepdim=True)
        tout = tout.values if func is np.max else tout
    w = np.random.default_rng(2).standard_normal(out.shape)
    (out * npg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad, ta.grad.numpy())
    assert np.apply_over_axes(np.sum, npg.tensor(a, requires_grad=False), 1).shape == (2, 1, 4)


@pytest.mark.parametrize("axis", [1, 0, -1])
def test_numpy_put_along_axis_writes_in_place_as_numpy_and_torch(axis):
    rng = np.random.default_rng(3)
    base, idx = rng.standard_normal((3, 4)), np.argsort(rng.standard_normal((3, 4)), axis=axis)[:2] if axis == 0 \
        else np.argsort(rng.standard_normal((3, 4)), axis=axis)[:, :2]
    vals, w = rng.standard_normal(idx.shape), rng.standard_normal((3, 4))
    expected = base.copy()
    assert np.put_along_axis(expected, idx, vals, axis) is None
    x0, v = npg.tensor(base), npg.tensor(vals)
    x = x0 * 1.0
    assert np.put_along_axis(x, npg.tensor(idx), v, axis) is None  # in place, returns None as NumPy does
    np.testing.assert_array_equal(x.data, expected)
    (x * npg.tensor(w)).sum().backward()
    tx0, tv = torch.tensor(base, requires_grad=True), torch.tensor(vals, requires_grad=True)
    tx = tx0 * 1.0
    tx.scatter_(axis % 2, torch.tensor(idx), tv)
    (tx * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x0.grad, tx0.grad.numpy())
    np.testing.assert_allclose(v.grad, tv.grad.numpy())


def test_numpy_put_along_axis_forms():
    flat = npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)
    np.put_along_axis(flat, np.array([0, 5]), -1.0, axis=None)
    assert flat.data.tolist() == [[-1.0, 1.0, 2.0], [3.0, 4.0, -1.0]]
    a = np.zeros((2, 3))
    np.put_along_axis(a, npg.tensor([[2], [0]]), npg.tensor([[1.0], [2.0]], requires_grad=False), 1)
    assert a.tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match="requires grad"):  # into an array: the gradient would be lost
        np.put_along_axis(a, np.zeros((2, 1), int), npg.tensor([[1.0], [2.0]]), 1)


@pytest.mark.parametrize("name,args,kwargs", [
    ("tril_indices", (4,), {}), ("tril_indices", (3,), {"k": -1, "m": 5}), ("tril_indices", (0,), {}),
    ("triu_indices", (4, 1), {}), ("triu_indices", (3,), {"k": 2, "m": 2}), ("diag_indices", (3, 2), {}),
    ("diag_indices", (0,), {})])
def test_index_constructors_as_numpy(name, args, kwargs):
    """np.tril_indices / triu_indices / diag_indices (only the ``_from`` forms existed): int tensors as NumPy's."""
    got, expected = getattr(npg, name)(*args, **kwargs), getattr(np, name)(*args, **kwargs)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert np.asarray(g.data).dtype == e.dtype
        np.testing.assert_array_equal(np.asarray(g.data), e)


def test_triu_indices_select_with_torchs_gradient():
    import torch
    a = np.random.default_rng(0).standard_normal((4, 4))
    x = npg.tensor(a)
    (x[npg.triu_indices(4, 1)] ** 2).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    i = torch.triu_indices(4, 4, 1)
    (t[i[0], i[1]] ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12)
