"""x[key] for every kind of key NumPy accepts, on 0-D to 4-D tensors, plus take / take_along_axis /
put_along_axis / where / masked_fill and x[key] = v.

Each key is checked three ways: the value equals NumPy's ``x.data[key]`` exactly; the gradient
equals an independent exact scatter (``np.add.at``, which accumulates repeated indices) in
float32 and float64; and it matches PyTorch (``torch.tensor(x.data, requires_grad=True)[key]``)
where PyTorch can express the key, finite differences otherwise (and for every key in float64).
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import torch

import npgrad as npg
from tests.helpers import assert_close, check_finite_difference, compare_with_torch


DTYPES = [np.float32, np.float64]
_rng = np.random.default_rng(123)
M7 = np.array([True, False, True, True, False, False, True])
M5 = np.array([True, False, False, True, True])
M6 = np.array([False, True, True, False, False, True])
M56 = _rng.random((5, 6)) > 0.5
M45 = _rng.random((4, 5)) > 0.5
M456 = _rng.random((4, 5, 6)) > 0.5
M23 = np.array([[True, False, True], [False, True, True]])
M2345 = _rng.random((2, 3, 4, 5)) > 0.4
IDX1 = np.array([[0, 3], [9, 9], [-1, 4]])      # the seed's shape (3, 2), with a repeat and a negative
IDX2 = np.array([[7, 0], [1, 1], [-8, 3]])


def T(a):
    """An npgrad integer tensor used as an index."""
    return npg.tensor(np.asarray(a))


# (shape, key, oracle): "torch" when torch.tensor(...)[key] means what NumPy means, else "fd"
CASES = [
    # ---- 0-D
    ((), (), "torch"),
    ((), Ellipsis, "torch"),
    ((), None, "torch"),
    ((), True, "torch"),
    ((), np.array(False), "torch"),
    # ---- 1-D
    ((7,), 3, "torch"),
    ((7,), -1, "torch"),
    ((7,), -7, "torch"),
    ((7,), np.int64(2), "torch"),
    ((7,), np.array(2), "torch"),                        # 0-d integer array
    ((7,), slice(None), "torch"),
    ((7,), slice(1, 5), "torch"),
    ((7,), slice(1, 6, 2), "torch"),
    ((7,), slice(-3, None), "torch"),
    ((7,), slice(-100, 100), "torch"),                   # out-of-range bounds are clipped
    ((7,), slice(10, 20), "torch"),                      # ... possibly to nothing
    ((7,), slice(5, 1), "torch"),
    ((7,), slice(None, None, -1), "fd"),                 # negative steps (torch has none)
    ((7,), slice(5, 1, -2), "fd"),
    ((7,), slice(100, -100, -3), "fd"),
    ((7,), Ellipsis, "torch"),
    ((7,), None, "torch"),
    ((7,), (None, slice(2, 5), None), "torch"),
    ((7,), [0, 2, 2, 6], "torch"),                       # a list, with a repeat
    ((7,), np.array([[0, 1], [1, 0]]), "torch"),         # a 2-D index array
    ((7,), np.array([-1, -1, 0, -7]), "torch"),
    ((7,), np.array([], dtype=np.intp), "torch"),        # empty index array
    ((7,), [], "torch"),                                 # empty list
    ((7,), T([3, 3, 1]), "torch"),                       # an npgrad int tensor
    ((7,), np.array([1, 1, 4], dtype=np.uint64), "torch"),
    ((7,), np.array([2, 2], dtype=np.int32), "torch"),
    ((7,), M7, "torch"),                                 # full-shape boolean mask
    ((7,), list(M7), "torch"),                           # as a list of bools
    ((7,), T(M7), "torch"),                              # as an npgrad bool tensor
    ((7,), np.zeros(7, bool), "torch"),                  # selects nothing
    ((7,), True, "torch"),
    ((7,), False, "torch"),
    ((7,), np.array(True), "torch"),                     # 0-d booleans
    ((7,), np.array(False), "torch"),
    ((7,), (Ellipsis, [0, 0]), "torch"),
    # ---- 2-D
    ((5, 6), (1, 2), "torch"),
    ((5, 6), (-1, -6), "torch"),
    ((5, 6), 1, "torch"),
    ((5, 6), (slice(None), 2), "torch"),
    ((5, 6), (slice(1, 4), slice(None, None, 2)), "torch"),
    ((5, 6), (slice(None, None, -2), slice(1, None)), "fd"),
    ((5, 6), (slice(4, 0, -1), [0, 0, 5]), "fd"),
    ((5, 6), (Ellipsis, 1), "torch"),
    ((5, 6), (None, Ellipsis, None), "torch"),
    ((5, 6), ([0, 1, 1], [2, 2, 5]), "torch"),            # paired index arrays, a repeated pair
    ((5, 6), ([[0], [4]], [1, 3, 3]), "torch"),           # index arrays broadcast to (2, 3)
    ((5, 6), (slice(None), [5, 0, 5]), "torch"),
    ((5, 6), ([1, 3], slice(2, 5)), "torch"),
    ((5, 6), (T([[1, 1]]), T([[0], [5]])), "torch"),      # npgrad int tensors, broadcast
    ((5, 6), (1, [0, 0, 3]), "torch"),                    # an int with an array: both advanced
    ((5, 6), M56, "torch"),
    ((5, 6), (M5, slice(None)), "torch"),                 # partial masks
    ((5, 6), (slice(1, None), M6), "torch"),
    ((5, 6), (M5, [2]), "torch"),                         # mask with an index array, broadcast
    ((5, 6), (M5, [0, 5, 5]), "torch"),                   # 3 True against 3 indices
    ((5, 6), (True, 1), "torch"),
    ((5, 6), (np.array([], dtype=np.intp), slice(None)), "torch"),
    ((5, 6), ([], []), "torch"),
    ((5, 6), (None, [4, 4], None), "torch"),
    # ---- 3-D
    ((4, 5, 6), ([0, 3, 3], slice(None), [1, 5, 1]), "torch"),   # advanced split by a slice: dims to front
    ((4, 5, 6), (slice(None), [0, 4, 4], [1, 5, 1]), "torch"),   # adjacent advanced: dims stay in place
    ((4, 5, 6), ([[1], [2]], slice(1, 4), [[0, 5, 5]]), "torch"),
    ((4, 5, 6), ([0, 1], slice(None), 2), "torch"),       # int + array split by a slice: to the front
    ((4, 5, 6), (0, Ellipsis, [1, -1]), "fd"),
    ((4, 5, 6), (Ellipsis, [0, 0, 2]), "torch"),
    ((4, 5, 6), (None, [1, 1], None, slice(1, 3)), "torch"),
    ((4, 5, 6), M456, "torch"),
    ((4, 5, 6), M45, "torch"),                            # a mask over the first two dims
    ((4, 5, 6), (slice(None), M56), "torch"),
    ((4, 5, 6), (Ellipsis, M6), "torch"),
    ((4, 5, 6), (Ellipsis, None), "torch"),
    ((4, 5, 6), (slice(None, None, -1), [0, 2], slice(None, None, -1)), "fd"),
    ((4, 5, 6), np.array(False), "torch"),
    ((4, 5, 6), ([[0, 1], [2, 3]], [[1], [2]], [[0, 5]]), "torch"),   # three broadcast arrays
    ((4, 5, 6), (slice(3, 1), Ellipsis), "torch"),
    ((4, 5, 6), (-1, slice(None), slice(-2, None)), "torch"),
    ((4, 5, 6), (np.array([3, 3]), Ellipsis), "torch"),
    ((4, 5, 6), (M45, slice(None, None, 2)), "torch"),
    # ---- 4-D
    ((2, 3, 4, 5), (1, slice(None), [0, 2], slice(None, None, 2)), "fd"),
    ((2, 3, 4, 5), ([0, 1], slice(None), slice(None), [1, 4]), "torch"),
    ((2, 3, 4, 5), (Ellipsis, [2, 2], [0, 4]), "torch"),
    ((2, 3, 4, 5), (slice(None), [[0], [2]], slice(1, 3), [1, 3]), "torch"),
    ((2, 3, 4, 5), (None, 0, Ellipsis, None, -1), "torch"),
    ((2, 3, 4, 5), M2345, "torch"),
    ((2, 3, 4, 5), (M23, Ellipsis, 1), "torch"),          # mask + int split by '...'
    ((2, 3, 4, 5), (M23, slice(1, 3)), "torch"),
    ((2, 3, 4, 5), (np.array([1, 0, 1]), Ellipsis), "torch"),
    ((2, 3, 4, 5), (0, 0, 0, 0), "torch"),
    ((2, 3, 4, 5), (slice(None), None, [2, 0], [[3], [1]], Ellipsis), "torch"),
    # ---- size-0 tensors
    ((0, 3), slice(None), "torch"),
    ((0, 3), (Ellipsis, 1), "torch"),
    ((0, 3), np.array([], dtype=np.intp), "torch"),
    ((0, 3), np.zeros((0, 3), bool), "torch"),
    ((3, 0), [0, 2, 2], "torch"),
    ((3, 0), (slice(None), []), "torch"),
    ((2, 0, 4), (1, slice(None), [0, 3]), "fd"),
    ((2, 0, 4), (Ellipsis, [3, 3]), "torch"),
    # ---- the seed example (seed shapes)
    ((10, 8, 12), (IDX1, IDX2, slice(2, 8, 2)), "torch"),
    ((10, 8, 12), (IDX1, slice(None), IDX2 % 8), "torch"),
]


def np_key(key):
    """The key as NumPy sees it (npgrad tensors become their arrays)."""
    conv = lambda k: k.data if isinstance(k, npg.Tensor) else k  # noqa: E731
    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


def torch_key(key):
    def conv(k):
        if isinstance(k, npg.Tensor):
            k = k.data
        if isinstance(k, list):
            k = np.asarray(k) if len(k) else np.asarray(k, dtype=np.intp)
        if isinstance(k, np.ndarray):
            return torch.tensor(k.astype(np.int64) if k.dtype.kind in "iu" else k)
        if isinstance(k, np.integer):
            return int(k)
        return k
    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


def _data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


IDS = [f"{i}-{shape}" for i, (shape, _, _) in enumerate(CASES)]


def test_at_least_60_distinct_keys():
    assert len({repr(np_key(k)) + str(s) for s, k, _ in CASES}) >= 60


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,key,oracle", CASES, ids=IDS)
def test_getitem(shape, key, oracle, dtype):
    a = _data(shape, dtype)
    x = npg.tensor(a)
    y = x[key]
    expected = a[np_key(key)]
    assert y.shape == expected.shape and y.dtype == expected.dtype
    np.testing.assert_array_equal(y.data, expected)
    # gradient against an exact scatter-add (repeated positions accumulate)
    w = _data(y.shape, dtype, seed=1)
    npg.sum(y * w).backward()
    scatter = np.zeros(shape, dtype)
    np.add.at(scatter, np_key(key), w)
    assert x.grad.dtype == x.dtype
    assert_close(x.grad, scatter, what="grad vs np.add.at")
    if oracle == "torch":
        compare_with_torch(lambda x: x[key], lambda t: t[torch_key(key)], [a], what=f"x{shape}[{key!r}]")


@pytest.mark.parametrize("shape,key,oracle", CASES, ids=IDS)
def test_getitem_finite_differences(shape, key, oracle):
    check_finite_difference(lambda x: x[key], [_data(shape, np.float64)], what=f"x{shape}[{key!r}]")


def test_fd_cases_really_differ_from_torch_or_use_negative_steps():
    """The keys checked by finite differences only are ones torch cannot express the NumPy way."""
    for shape, key, oracle in CASES:
        if oracle != "fd":
            continue
        k = key if isinstance(key, tuple) else (key,)
        if any(isinstance(s, slice) and (s.step or 1) < 0 for s in k):
            continue
        a = np.arange(np.prod(shape)).reshape(shape)
        got = torch.tensor(a)[torch_key(key)].numpy()
        assert got.shape != a[np_key(key)].shape or not np.array_equal(got, a[np_key(key)])


def test_advanced_indices_split_by_a_slice_move_to_the_front():
    x = npg.randn(4, 5, 6)
    i, j = np.array([[0, 1, 3]]), np.array([[2], [5]])
    assert x[i, :, j].shape == (2, 3, 5)           # broadcast index shape first, then the sliced dim
    assert x[:, i, j].shape == (4, 2, 3)           # adjacent: in place


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("V,D,idx_shape", [(50, 7, (4, 9)), (5, 3, (30,)), (1000, 16, (8, 32)), (6, 1, (2, 3))])
@pytest.mark.parametrize("form", ["plain", "slice", "ellipsis"])
def test_embedding_lookup_vs_torch(V, D, idx_shape, form, dtype):
    """W[idx] (the row-lookup backward path), with repeats and negative indices."""
    idx = np.random.default_rng(0).integers(-V, V, idx_shape)
    key = {"plain": idx, "slice": (idx, slice(None)), "ellipsis": (idx, Ellipsis)}[form]
    tkey = torch.tensor(idx) if form == "plain" else (torch.tensor(idx),) + key[1:]
    compare_with_torch(lambda w: w[key], lambda w: w[tkey], [_data((V, D), dtype)], what=f"embedding {form}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_lookup_on_1d_and_3d(dtype):
    idx = np.array([[2, 2], [0, -1]])
    for shape in [(4,), (4, 2, 3)]:
        compare_with_torch(lambda w: w[idx], lambda w: w[torch.tensor(idx)], [_data(shape, dtype)], what=str(shape))


def test_basic_keys_and_masks_backward_is_a_plain_assignment(monkeypatch):
    """No scatter-add machinery for keys that cannot repeat a position."""
    def boom(*a, **k):
        raise AssertionError("bincount/add.at/reduceat used for a key without integer arrays")
    x = npg.randn(4, 5, 6)
    monkeypatch.setattr(np, "bincount", boom)
    monkeypatch.setattr(np, "argsort", boom)
    for key in [(slice(1, 3), 2), (Ellipsis, None, slice(None, None, -1)), M456, (M45, 1), (np.array(2), 0),
                (True,), (0, M56)]:
        x.grad = None
        npg.sum(x[key]).backward()
        expected = np.zeros((4, 5, 6))
        np.add.at(expected, key, 1.0)
        assert_close(x.grad, expected)


def test_getitem_second_order_vs_torch():
    a = _data((5, 4), np.float64)
    key = (np.array([1, 1, 3]), slice(None, 3))
    x = npg.tensor(a)
    g, = npg.autograd.grad(npg.sum(x[key] ** 3), [x], create_graph=True)
    npg.sum(g * g).backward()
    t = torch.tensor(a, requires_grad=True)
    tg, = torch.autograd.grad((t[torch_key(key)] ** 3).sum(), [t], create_graph=True)
    (tg * tg).sum().backward()
    assert_close(x.grad, t.grad.numpy())


def test_getitem_of_constants_records_nothing():
    x = npg.tensor(np.arange(6.0), requires_grad=False)
    assert not x[[1, 1]].requires_grad
    with npg.no_grad():
        assert not npg.randn(3)[0].requires_grad


# ------------------------------------------------------------------ bad keys
@pytest.mark.parametrize("shape,key,exc,msg", [
    ((5,), 5, IndexError, "out of bounds"),
    ((5,), -6, IndexError, "out of bounds"),
    ((5, 4), (0, 4), IndexError, "out of bounds"),
    ((5, 4), [0, 5], IndexError, "out of bounds"),
    ((5, 4), (slice(None), np.array([[0], [-5]])), IndexError, "out of bounds"),
    ((5, 4), T([7]), IndexError, "out of bounds"),
    ((5,), 1.5, IndexError, "only integers"),
    ((5,), "a", IndexError, "only integers"),
    ((5,), [0.5, 1.0], IndexError, "only integers"),
    ((5,), np.array([1.0]), IndexError, "integer"),
    ((5,), npg.tensor([1.0]), IndexError, "integer"),
    ((5,), [[0], [1, 2]], IndexError, "rectangular"),
    ((5,), (0, 0), IndexError, "too many indices"),
    ((5, 4), (Ellipsis, Ellipsis), IndexError, "ellipsis"),
    ((5, 4), np.ones(4, bool), IndexError, "boolean"),
    ((5, 4), ([0, 1], [0, 1, 2]), IndexError, "broadcast"),
    ((5, 4), (slice(None), [0, slice(1)]), IndexError, "only integers"),
])
def test_bad_keys_raise(shape, key, exc, msg):
    a = np.zeros(shape)
    with pytest.raises((IndexError, TypeError)):        # NumPy refuses the key too
        a[np_key(key)] if not isinstance(key, list) else a[np.array(key, dtype=object)]
    x = npg.zeros(shape)
    with pytest.raises(exc) as e:
        x[key]
    assert msg in str(e.value) and (str(shape) in str(e.value) or "index" in str(e.value)), str(e.value)


def test_index_error_names_the_tensor_shape():
    with pytest.raises(IndexError, match=r"shape \(5, 4\)"):
        npg.zeros((5, 4))[9]


# ------------------------------------------------------------------ take, take_along_axis, put_along_axis
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,idx,axis", [
    ((3, 4), [0, 0, 2], 0), ((3, 4), [[1, 3], [3, -1]], 1), ((3, 4), [5, 5, 0, -1], None), ((2, 3, 4), 1, 2),
    ((2, 3, 4), np.array([], dtype=np.intp), -1), ((5,), [[4, 4], [0, 1]], 0),
])
def test_take(shape, idx, axis, dtype):
    a = _data(shape, dtype)
    x = npg.tensor(a)
    assert_close(npg.take(x, idx, axis=axis), np.take(a, idx, axis=axis))
    assert_close(np.take(x, idx, axis=axis), np.take(a, idx, axis=axis))   # NumPy's function dispatches
    ti = torch.tensor(np.asarray(idx, dtype=np.int64))
    if axis is None:
        tfn = lambda t: torch.take(t, ti)  # noqa: E731
    else:
        tfn = lambda t: t[(slice(None),) * (axis % len(shape)) + (ti,)]  # noqa: E731
    compare_with_torch(lambda x: npg.take(x, idx, axis=axis), tfn, [a], what="take")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,idx_shape,axis", [((3, 4), (3, 6), 1), ((3, 4), (5, 4), 0), ((2, 3, 4), (2, 3, 2), -1),
                                                  ((2, 3, 4), (2, 7, 4), 1), ((5,), (9,), 0), ((4, 3), (0, 3), 0)])
def test_take_along_axis_vs_gather(shape, idx_shape, axis, dtype):
    a = _data(shape, dtype)
    idx = np.random.default_rng(0).integers(-shape[axis], shape[axis], idx_shape)
    x = npg.tensor(a)
    assert_close(npg.take_along_axis(x, idx, axis), np.take_along_axis(a, idx, axis))
    assert_close(np.take_along_axis(x, idx, axis), np.take_along_axis(a, idx, axis))
    pos = idx % shape[axis]                  # torch.gather wants non-negative indices
    compare_with_torch(lambda x: npg.gather(x, idx, axis), lambda t: torch.gather(t, axis, torch.tensor(pos)), [a],
                       what="take_along_axis")


@pytest.mark.parametrize("dtype", DTYPES)
def test_take_along_axis_broadcasts_like_numpy(dtype):
    a = _data((3, 4, 5), dtype)
    idx = np.array([[[0], [2], [4], [4]]])            # (1, 4, 1): broadcast along axes 0 and 2
    assert_close(npg.take_along_axis(npg.tensor(a), idx, 2), np.take_along_axis(a, idx, 2))
    compare_with_torch(lambda x: npg.take_along_axis(x, idx, 2),
                       lambda t: torch.take_along_dim(t, torch.tensor(idx), 2), [a], what="broadcast")
    flat = np.array([0, 59, 59, 3])
    assert_close(npg.take_along_axis(npg.tensor(a), flat, None), np.take_along_axis(a, flat, None))
    check_finite_difference(lambda x: npg.take_along_axis(x, flat, None), [a.astype(np.float64)])


def test_take_along_axis_errors():
    x = npg.zeros((3, 4))
    with pytest.raises(ValueError, match="rank"):
        npg.take_along_axis(x, np.zeros(3, int), 0)
    with pytest.raises(IndexError, match="integers"):
        npg.take_along_axis(x, np.zeros((3, 4)), 0)
    with pytest.raises(IndexError, match="out of bounds"):
        npg.take_along_axis(x, np.full((3, 4), 3), 0)
    with pytest.raises(ValueError, match="1-D"):
        npg.take_along_axis(x, np.zeros((3, 4), int), None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), 2), ((2, 3, 4), -2)])
def test_put_along_axis_vs_torch_scatter(shape, axis, dtype):
    """Distinct indices along the axis (torch.scatter is undefined for repeats)."""
    rng = np.random.default_rng(0)
    idx = np.argsort(rng.random(shape), axis=axis)
    idx = np.take(idx, range(2), axis=axis)           # two distinct positions per line
    a, v = _data(shape, dtype), _data(idx.shape, dtype, seed=5)
    expected = a.copy()
    np.put_along_axis(expected, idx, v, axis)
    assert_close(npg.put_along_axis(npg.tensor(a), idx, npg.tensor(v), axis), expected)
    compare_with_torch(lambda x, v: npg.put_along_axis(x, idx, v, axis),
                       lambda x, v: torch.scatter(x, axis, torch.tensor(idx), v), [a, v], what="put_along_axis")


def test_put_along_axis_repeats_scalars_and_flat():
    a = _data((3, 4), np.float64)
    idx = np.array([[1, 1], [0, 3], [2, 2]])           # repeats: the last write wins, as in NumPy
    v = _data((3, 2), np.float64, seed=4)
    expected = a.copy()
    np.put_along_axis(expected, idx, v, 1)
    assert_close(npg.put_along_axis(a, idx, v, 1), expected)
    check_finite_difference(lambda x, v: npg.put_along_axis(x, idx, v, 1), [a, v])
    check_finite_difference(lambda x, v: npg.put_along_axis(x, idx[:, :1], v, 1), [a, v[:1, :1]])  # broadcast value
    flat = np.array([0, 11, 11])
    expected = a.copy()
    np.put_along_axis(expected, flat, 7.0, None)
    assert_close(npg.put_along_axis(a, flat, 7.0, None), expected)
    check_finite_difference(lambda x, v: npg.put_along_axis(x, flat, v, None), [a, np.array([1.0, 2.0, 3.0])])
    x = npg.tensor(a)
    npg.put_along_axis(x, idx, 0.0, 1)
    np.testing.assert_array_equal(x.data, a)           # functional: the input is untouched


# ------------------------------------------------------------------ where, masked_fill
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cs,xs,ys", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((4,), (2, 3, 4), ()),
                                      ((2, 1, 4), (3, 1), (2, 3, 4)), ((), (3,), (3,)), ((0, 4), (1, 4), (4,))])
def test_where_broadcasting(cs, xs, ys, dtype):
    cond = np.random.default_rng(0).random(cs) > 0.5
    compare_with_torch(lambda a, b: npg.where(cond, a, b), lambda a, b: torch.where(torch.tensor(cond), a, b),
                       [_data(xs, dtype), _data(ys, dtype, seed=1)], what="where")
    compare_with_torch(lambda a: npg.where(npg.tensor(cond), a, 0.5), lambda a: torch.where(torch.tensor(cond), a, 0.5),
                       [_data(xs, dtype)], what="where with a scalar")
    compare_with_torch(lambda a: npg.where(a > 0, a, -a), lambda a: torch.where(a > 0, a, -a),
                       [_data(xs, dtype)], what="where with a tensor condition")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,mshape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (1, 3, 1)),
                                          ((2, 3, 4), ()), ((0, 4), (1, 4))])
def test_masked_fill_broadcasting(shape, mshape, dtype):
    mask = np.random.default_rng(0).random(mshape) > 0.5
    a = _data(shape, dtype)
    compare_with_torch(lambda x: npg.masked_fill(x, mask, -2.5), lambda t: t.masked_fill(torch.tensor(mask), -2.5),
                       [a], what="masked_fill")
    compare_with_torch(lambda x, v: npg.masked_fill(x, npg.tensor(mask), v),
                       lambda t, v: t.masked_fill(torch.tensor(mask), v), [a, np.array(1.5, dtype)],
                       what="masked_fill with a tensor value")
    x = npg.tensor(a)
    x.masked_fill(mask, 0.0)
    np.testing.assert_array_equal(x.data, a)          # the input is untouched
    with pytest.raises(ValueError, match="broadcast"):
        npg.masked_fill(x, np.ones((5,) + shape, bool), 0.0)


# ------------------------------------------------------------------ setitem
def _assign_both(shape, key, vshape, dtype, value_requires_grad=True):
    a = _data(shape, dtype)
    v = _data(vshape, dtype, seed=9)
    x = npg.tensor(a)
    vt = npg.tensor(v, requires_grad=value_requires_grad)
    y = x * 1
    y[key] = vt
    expected = a.copy()
    expected[np_key(key)] = v
    return x, vt, y, expected, a, v


SETITEM_CASES = [
    ((5,), 2, ()), ((5,), slice(1, 4), (3,)), ((5,), slice(1, 4), ()), ((5,), [0, 3], (2,)),
    ((5,), M5, (3,)), ((4, 5), (slice(None), 1), (4,)), ((4, 5), (1, slice(None)), (1, 5)),
    ((4, 5), ([0, 2], [1, 4]), (2,)), ((4, 5), ([[0], [3]], [1, 2, 4]), (1, 3)), ((4, 5), M45, ()),
    ((4, 5), (M45[:, 0], slice(1, 3)), (2,)), ((2, 3, 4), (Ellipsis, [0, 3]), (2, 3, 2)),
    ((2, 3, 4), ([0, 1], slice(None), [2, 3]), (2, 3)), ((2, 3, 4), (None, 1), (1, 3, 4)),
    ((2, 3, 4), (slice(0, 1), slice(None), slice(None, None, 2)), (1, 3, 2)), ((4, 5), (slice(1, 3),), (1, 2, 5)),
    ((3, 0), slice(None), ()),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,key,vshape", SETITEM_CASES)
def test_setitem_vs_torch(shape, key, vshape, dtype):
    x, vt, y, expected, a, v = _assign_both(shape, key, vshape, dtype)
    np.testing.assert_array_equal(y.data, expected)
    w = _data(shape, dtype, seed=3)
    npg.sum(npg.tanh(y) * w).backward()
    tx, tv = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
    ty = tx.clone()
    ty[torch_key(key)] = tv
    (torch.tanh(ty) * torch.tensor(w)).sum().backward()
    assert_close(y, ty.detach().numpy())
    assert_close(x.grad, tx.grad.numpy(), what="grad of the old contents")
    assert_close(vt.grad, tv.grad.numpy(), what="grad of the value")
    assert vt.grad.shape == vt.shape and vt.grad.dtype == vt.dtype


@pytest.mark.parametrize("shape,key,vshape", SETITEM_CASES)
def test_setitem_finite_differences(shape, key, vshape):
    def f(x, v):
        y = x * 1
        y[key] = v
        return npg.tanh(y)
    check_finite_difference(f, [_data(shape, np.float64), _data(vshape, np.float64, seed=9)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,key,vshape", [((5,), [1, 1], (2,)), ((5,), [1, 3, 1], ()), ((4, 3), ([0, 0], [2, 2]), (2,)),
                                              ((4, 3), [2, 0, 2], (3, 3)), ((4, 3), [2, 2], (3,))])
def test_setitem_repeated_indices(shape, key, vshape, dtype):
    """NumPy keeps the last write at a repeated position, so only that write gets the gradient
    (finite differences agree; torch.index_put gives every duplicate the gradient, so for the value
    only the old contents are compared with torch)."""
    x, vt, y, expected, a, v = _assign_both(shape, key, vshape, dtype)
    np.testing.assert_array_equal(y.data, expected)
    w = _data(shape, dtype, seed=3)
    npg.sum(y * w).backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = tx.clone()
    ty[torch_key(key)] = torch.tensor(np.broadcast_to(v, a[np_key(key)].shape).copy())
    (ty * torch.tensor(w)).sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    # the value's gradient: w at each position, given to the last write only
    vb = np.broadcast_to(v, a[np_key(key)].shape)
    expected_g = np.zeros(vb.shape, dtype)
    flat = np.arange(a.size).reshape(shape)[np_key(key)]
    last = {p: i for i, p in enumerate(flat.ravel())}
    for p, i in last.items():
        expected_g.reshape(-1)[i] = w.reshape(-1)[p]
    expected_g = expected_g.reshape((-1,) + v.shape).sum(axis=0) if v.shape != vb.shape else expected_g
    assert_close(vt.grad, expected_g)

    def f(x, v):
        y = x * 1
        y[key] = v
        return y
    check_finite_difference(f, [a.astype(np.float64), v.astype(np.float64)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_setitem_with_a_mask_computed_from_the_tensor(dtype):
    """The ReLU idiom y[y < 0] = 0 (the mask is an npgrad bool tensor)."""
    a = _data((4, 5), dtype)
    x = npg.tensor(a)
    y = x * 2
    y[y < 0] = 0.0
    npg.sum(y * y).backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = tx * 2
    ty[ty < 0] = 0.0
    (ty * ty).sum().backward()
    assert_close(y, ty.detach().numpy())
    assert_close(x.grad, tx.grad.numpy())


def test_setitem_on_a_leaf_that_requires_grad_refuses():
    x = npg.randn(3)
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="leaf"):
        x[[0, 1]] = npg.randn(2)
    with npg.no_grad():                              # allowed without recording, in place
        x[0] = 1.0
    assert x.data[0] == 1.0 and x.is_leaf


def test_setitem_into_a_buffer_makes_it_part_of_the_graph():
    w = npg.randn(2)
    buf = npg.zeros(4, requires_grad=False)
    buf[1:3] = w * 2
    npg.sum(buf * buf).backward()
    tw = torch.tensor(w.data, requires_grad=True)
    tb = torch.zeros(4)
    tb[1:3] = tw * 2
    (tb * tb).sum().backward()
    assert_close(w.grad, tw.grad.numpy())


def test_setitem_after_a_saving_use_raises_like_torch():
    """z = y * y saved y; overwriting y afterwards would change z's gradient: backward refuses (PyTorch's
    version-counter error), in both backward modes. Writing into a copy is the way out."""
    def f(lib, x, copy):
        y = x * 1
        z = y * y
        if copy:
            y = y.clone()
        y[0] = 5.0
        return z + y
    a = _data((3,), np.float64)
    for create_graph in (False, True):
        with pytest.raises(RuntimeError, match="'mul'.*in-place operation"):
            npg.sum(f(npg, npg.tensor(a), False)).backward(create_graph=create_graph)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        f(torch, torch.tensor(a, requires_grad=True), False).sum().backward()
    x = npg.tensor(a)
    npg.sum(f(npg, x, True)).backward()
    assert_close(x.grad, 2 * a + np.array([0.0, 1.0, 1.0]))
    check_finite_difference(lambda x: f(npg, x, True), [a])


def test_buffer_written_after_use_raises_and_a_fresh_buffer_works():
    def f(w, v, fresh):
        buf = npg.zeros(3, requires_grad=False)
        z = buf * w                      # saves buf for w's gradient
        if fresh:
            buf = npg.zeros(3, requires_grad=False)
        buf[0] = v
        return z + buf * w
    w, v = _data((3,), np.float64), np.array(2.0)
    with pytest.raises(RuntimeError, match="'mul'.*'setitem'"):
        npg.sum(f(npg.tensor(w), npg.tensor(v), False)).backward()
    check_finite_difference(lambda w, v: f(w, v, True), [w, v])


def test_setitem_twice_then_second_order():
    a = _data((3,), np.float64)
    x = npg.tensor(a)
    y = x * 1
    z = y * 3                            # saves nothing of y
    y[1] = 0.0
    y[2] = 1.0
    g, = npg.autograd.grad(npg.sum(z * y), [x], create_graph=True)
    tx = torch.tensor(a, requires_grad=True)
    ty = tx * 1
    tz = ty * 3
    ty[1] = 0.0
    ty[2] = 1.0
    tg, = torch.autograd.grad((tz * ty).sum(), [tx], create_graph=True)
    assert_close(g, tg.detach().numpy())
    npg.sum(g * g).backward()
    (tg * tg).sum().backward()
    assert_close(x.grad, tx.grad.numpy())


def test_setitem_without_graph_is_in_place_and_errors_are_clear():
    x = npg.zeros((3, 4), requires_grad=False)
    x[1] = 2.0
    x[:, [0, 0]] = np.array([5.0, 6.0])
    expected = np.zeros((3, 4))
    expected[1] = 2.0
    expected[:, [0, 0]] = [5.0, 6.0]
    np.testing.assert_array_equal(x.data, expected)
    with pytest.raises(IndexError, match="out of bounds"):
        x[3] = 1.0
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        x[0] = np.ones(3)
    y = npg.randn(3, 4) * 1
    with pytest.raises(ValueError, match="setitem"):
        y[0] = npg.randn(3)
    with pytest.raises(IndexError):
        y[5] = 1.0


# ------------------------------------------------------------------ hypothesis
@st.composite
def shapes_and_keys(draw):
    """A shape and a key. A key that selects nothing passes trivially, so only about 1 draw in 6 may
    (size-0 dims, empty slices, all-False masks); the others select at least one element."""
    allow_empty = draw(st.sampled_from([False] * 5 + [True]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0 if allow_empty else 1, max_side=5))
    kind = draw(st.sampled_from(["basic", "int", "int+slice", "mask"]))
    if kind in ("int", "int+slice") and 0 in shape:   # integer_array_indices needs sides > 0
        kind = "mask"
    if kind == "basic":
        key = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int":
        key = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=0, max_dims=2,
                                                                                   max_side=4)))
    elif kind == "int+slice":
        idx = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=4)))
        # replace one axis's index array by a slice (start, stop, step drawn freely, negative too)
        axis = draw(st.integers(0, len(idx) - 1))
        sl = draw(st.slices(shape[axis]))
        key = idx[:axis] + (sl,) + idx[axis + 1:]
    else:
        k = draw(st.integers(1, len(shape)))
        mask = draw(hnp.arrays(bool, shape[:k]))
        if not allow_empty and mask.size:
            mask.flat[draw(st.integers(0, mask.size - 1))] = True
        key = (mask,) + (draw(st.sampled_from([(), (Ellipsis,), (slice(None, None, -1),)])) if k < len(shape) else ())
    assume(allow_empty or np.empty(shape)[key].size > 0)  # an empty slice
    return shape, key


@settings(max_examples=80, deadline=None)
@given(shapes_and_keys())
def test_hypothesis_getitem_vs_numpy_and_finite_differences(shape_key):
    shape, key = shape_key
    a = _data(shape, np.float64)
    x = npg.tensor(a)
    y = x[key]
    expected = a[key]
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    w = _data(y.shape, np.float64, seed=1)
    npg.sum(y * w).backward()
    scatter = np.zeros(shape)
    np.add.at(scatter, key, w)
    assert_close(x.grad, scatter)
    check_finite_difference(lambda x: x[key], [a])


@settings(max_examples=40, deadline=None)
@given(shapes_and_keys(), st.booleans())
def test_hypothesis_setitem_finite_differences(shape_key, scalar_value):
    shape, key = shape_key
    a = _data(shape, np.float64)
    vshape = () if scalar_value else a[key].shape
    v = _data(vshape, np.float64, seed=2)

    def f(x, v):
        y = x * 1
        y[key] = v
        return y
    expected = a.copy()
    expected[key] = v
    np.testing.assert_array_equal(f(npg.tensor(a), npg.tensor(v)).data, expected)
    check_finite_difference(f, [a, v])
