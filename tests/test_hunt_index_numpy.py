"""Hunt for silent wrong answers in NumPy's indexed writes and selections on tensors (the torch-named ones:
tests/test_hunt_index.py): subscript writes with repeated indices (``x[idx] = v``, ``x[idx] += v``: NumPy's
values, gradients by central differences of NumPy's own computation, so that they match the value npgrad
computed), ``take`` / ``put`` in every mode, ``choose``, ``compress`` / ``extract`` / ``place``,
``put_along_axis``, and torch's ``masked_scatter`` with a larger source."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import compare_with_torch, torch_or_stand_in

torch = torch_or_stand_in()

FLOATS = [np.float64, np.float32]


def _const(x):
    return npg.tensor(np.asarray(x), requires_grad=False)


def _fd_grad(f, a, eps=1e-6):
    """The gradient of the scalar ``f`` (NumPy in, float out) at ``a`` by central differences."""
    a = np.asarray(a, np.float64)
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        d = np.zeros_like(a)
        d[i] = eps
        g[i] = (f(a + d) - f(a - d)) / (2 * eps)
    return g


# ------------------------------------------------------------------ subscript writes: NumPy's values, consistent grads
_KEYS = [(np.array([1, 3, 1]),), (np.array([1, -4, 2]),), (np.array([0, 0, 1]), np.array([1, 1, 2])),
         (np.array([True, False, True, False, True]),)]


@pytest.mark.parametrize("key", range(len(_KEYS)))
@pytest.mark.parametrize("form", ["set", "iadd", "imul", "isub"])
def test_setitem_with_repeated_indices_matches_numpy_and_its_own_gradient(key, form):
    # NumPy: the last of repeated writes wins, and x[idx] += v is buffered (a repeated index adds once); the
    # gradients are those of that very computation (central differences of NumPy's), not torch's (which gives
    # every repeated value a gradient though only one is kept)
    k = _KEYS[key]
    shape = (5,) if len(k) == 1 else (2, 3)
    rng = np.random.default_rng(key)
    x0, v0, w = rng.standard_normal(shape), rng.standard_normal(3), rng.standard_normal(shape)

    def numpy_f(a, v):
        a = a.copy()
        if form == "set":
            a[k] = v
        elif form == "iadd":
            a[k] += v
        elif form == "isub":
            a[k] -= v
        else:
            a[k] *= v
        return a

    a, v = npg.tensor(x0), npg.tensor(v0)
    b = a * 1.0
    if form == "set":
        b[k] = v
    elif form == "iadd":
        b[k] += v
    elif form == "isub":
        b[k] -= v
    else:
        b[k] *= v
    np.testing.assert_array_equal(b.data, numpy_f(x0, v0))
    (b * _const(w)).sum().backward()
    np.testing.assert_allclose(a.grad, _fd_grad(lambda q: (numpy_f(q, v0) * w).sum(), x0), atol=1e-8)
    np.testing.assert_allclose(v.grad, _fd_grad(lambda q: (numpy_f(x0, q) * w).sum(), v0), atol=1e-8)


def test_setitem_broadcast_value_with_repeated_rows_sums_only_the_kept_writes():
    x0, w = np.arange(12.).reshape(3, 4), np.arange(12.).reshape(3, 4) + 1
    for key, vshape in ((np.array([0, 0, 1]), (4,)), (np.array([2, 2]), ()), (np.array([1, -2, 0]), (1, 4))):
        a, v = npg.tensor(x0), npg.tensor(np.ones(vshape))
        b = a * 1.0
        b[key] = v

        def numpy_f(q, key=key):
            r = x0.copy()
            r[key] = q
            return (r * w).sum()
        (b * _const(w)).sum().backward()
        np.testing.assert_allclose(v.grad, _fd_grad(numpy_f, np.ones(vshape)), atol=1e-8)


# --------------------------------------------------------------------------- NumPy's take / put / choose / place
@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
@pytest.mark.parametrize("ind", [[0, -1, 5], [7, -8, 2, 7], [[1, 2], [1, 1]], 3, [], [True, False]])
def test_take_and_put_modes_as_numpy(mode, ind):
    x0 = np.arange(6.).reshape(2, 3)
    for axis in (None, 1, -2):
        try:
            expected = np.take(x0, ind, axis=axis, mode=mode)
        except IndexError:
            with pytest.raises(IndexError, match="take"):
                npg.take(_const(x0), ind, axis=axis, mode=mode)
            continue
        np.testing.assert_array_equal(npg.take(_const(x0), ind, axis=axis, mode=mode).data, expected)
    for v0 in ([9.], [9., 8., 7.], [1., 2., 3., 4., 5.]):
        r = x0.copy()
        try:
            np.put(r, ind, v0, mode=mode)
        except IndexError:
            with pytest.raises(IndexError, match="put"):
                npg.put(npg.tensor(x0.copy(), requires_grad=False), ind, v0, mode=mode)
            continue
        a, v = npg.tensor(x0), npg.tensor(np.array(v0))
        b = a * 1.0
        npg.put(b, ind, v, mode=mode)
        np.testing.assert_array_equal(b.data, r)
        w = np.arange(1., 7.).reshape(2, 3)
        (b * _const(w)).sum().backward()

        def numpy_f(q):
            rr = x0.copy()
            np.put(rr, ind, q, mode=mode)
            return (rr * w).sum()
        gv = np.zeros(len(v0)) if v.grad is None else v.grad   # (an empty index reads none of v)
        np.testing.assert_allclose(gv, _fd_grad(numpy_f, v0), atol=1e-8)   # (the last write wins)


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_choose_compress_extract_place_as_numpy(mode):
    ch = [np.array([0., 1, 2]), np.array([10., 11, 12]), np.array([[20.], [21.]])]
    w = np.random.default_rng(0).standard_normal((2, 3))
    for a_ in ([[0, 2, 1], [1, 1, 0]], [[5, -4, 1], [2, 2, 2]]):
        try:
            expected = np.choose(a_, ch, mode=mode)
        except ValueError:
            with pytest.raises(ValueError):
                npg.choose(a_, [npg.tensor(c) for c in ch], mode=mode)
            continue
        cs = [npg.tensor(c) for c in ch]
        out = npg.choose(a_, cs, mode=mode)
        np.testing.assert_array_equal(out.data, expected)
        (out * _const(w)).sum().backward()
        for k in range(3):
            def f(q, k=k):
                c2 = list(ch)
                c2[k] = q
                return (np.choose(a_, c2, mode=mode) * w).sum()
            np.testing.assert_allclose(cs[k].grad, _fd_grad(f, ch[k]), atol=1e-8)
    x0 = np.arange(6.).reshape(2, 3)
    for cond in ([True, False], [False, True, True], [1, 0, 2], [], [True, False, True, True]):
        for axis in (None, 1, -2):
            try:
                expected = np.compress(cond, x0, axis=axis)
            except (IndexError, ValueError) as e:
                with pytest.raises(type(e)):
                    npg.compress(cond, _const(x0), axis=axis)
                continue
            np.testing.assert_array_equal(npg.compress(cond, _const(x0), axis=axis).data, expected)
    for cond in (x0 > 2, (x0 % 2).astype(int), [[1, 0, 1]]):
        np.testing.assert_array_equal(npg.extract(cond, _const(x0)).data, np.extract(cond, x0))
    for vals in ([9.], [1., 2.], [1., 2., 3., 4., 5., 6., 7.]):
        r = x0.copy()
        np.place(r, x0 > 1, vals)
        t = npg.tensor(x0, requires_grad=False)
        npg.place(t, x0 > 1, vals)
        np.testing.assert_array_equal(t.data, r)


# -------------------------------------------------------------------- put_along_axis (NumPy 2), masked_scatter
def test_put_along_axis_and_masked_scatter_with_a_larger_source():
    x0 = np.arange(12.).reshape(3, 4)
    for idx, v0, axis in ((np.array([[0], [3], [-1]]), np.array([[1.], [2.], [3.]]), 1),
                          (np.array([[1, 1]]), np.array([[1., 2.]]), 1),
                          (np.array([1, 1, 3]), np.array([7., 8, 9]), None),
                          (np.array([[0, 2, 0, 2]]), np.array([[5., 6., 7., 8.]]), 0)):
        r = x0.copy()
        np.put_along_axis(r, idx, v0, axis)
        a, v = npg.tensor(x0), npg.tensor(v0)
        out = npg.put_along_axis(a, idx, v, axis)
        np.testing.assert_array_equal(out.data, r)
        w = np.arange(12.).reshape(3, 4) - 5
        (out * _const(w)).sum().backward()

        def numpy_f(xq, vq, idx=idx, axis=axis):
            rr = xq.copy()
            np.put_along_axis(rr, idx, vq, axis)
            return (rr * w).sum()
        np.testing.assert_allclose(v.grad, _fd_grad(lambda q: numpy_f(x0, q), v0), atol=1e-8)
        np.testing.assert_allclose(a.grad, _fd_grad(lambda q: numpy_f(q, v0), x0), atol=1e-8)
    m = np.array([[True, False, True], [False, True, True]])
    for src in (np.arange(1., 9.).reshape(2, 4), np.arange(1., 13.).reshape(3, 4), np.arange(1., 5.)):
        for dtype in FLOATS:
            compare_with_torch(lambda a, s: npg.masked_scatter(a, m, s),
                               lambda a, s: torch.masked_scatter(a, torch.tensor(m), s),
                               [np.arange(6., dtype=dtype).reshape(2, 3), src.astype(dtype)], what="masked_scatter")
