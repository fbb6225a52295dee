"""A review of this session's reduction speedups against NumPy and PyTorch: sum / mean / max / min through the
ufuncs' reduce, and unreduce's new array for a small input's gradient (values, dtypes, shapes, errors, gradients,
accumulation, and no gradient array shared with another or with one a hook kept)."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()

FLOATS = [np.float32, np.float64]


def _t(a):
    return torch.tensor(a, requires_grad=np.asarray(a).dtype.kind in "fc")


def _arr(v):
    """A copy of a torch tensor's, an npgrad Tensor's or an array's values."""
    if isinstance(v, torch.Tensor):
        return v.detach().numpy().copy()
    return np.array(v.data if isinstance(v, npg.Tensor) else v)


# ----------------------------------------------------------------------------- reductions
_REDUCTIONS = [(npg.sum, np.sum), (npg.mean, np.mean), (npg.max, np.max), (npg.min, np.min)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int64, bool,
                                   np.complex64, np.complex128])
def test_reduction_values_dtypes_and_shapes_match_numpy(dtype):
    """sum of int8 -> int64, mean of ints -> float64, float16's mean accumulated in float32, as NumPy."""
    a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    t = npg.tensor(a, requires_grad=False)
    for f, nf in _REDUCTIONS:
        for axis in (None, 0, -1, 2, (0, 2), (-1, 0), (), [1]):
            for keepdims in (False, True):
                got, want = f(t, axis=axis, keepdims=keepdims), nf(a, axis=tuple(axis) if isinstance(
                    axis, list) else axis, keepdims=keepdims)
                assert got.dtype == np.asarray(want).dtype and got.shape == np.shape(want), (f, axis)
                np.testing.assert_array_equal(got.data, want)
    big = np.full(10000, 10.0, np.float16)  # NumPy's float16 mean (float32 accumulation) and overflowing sum
    assert npg.mean(npg.tensor(big)).data == np.mean(big)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert npg.sum(npg.tensor(big)).data == np.sum(big) == np.inf
    assert npg.sum(npg.tensor(np.arange(3, dtype=np.int8)), dtype=np.float32).dtype == np.float32
    assert npg.mean(npg.tensor(np.ones(3, np.float32)), dtype=np.float64).dtype == np.float64


def test_reductions_of_0d_empty_nan_and_bad_axes():
    z = npg.tensor(np.float32(2.5))
    for f, nf in ((npg.sum, np.sum), (npg.max, np.max), (npg.min, np.min)):
        for axis in (0, -1, ()):
            got = f(z, axis=axis)
            assert got.dtype == np.float32 and got.shape == () and got.data == nf(np.float32(2.5), axis=axis)
        with pytest.raises(np.exceptions.AxisError, match=f"{f.__name__}: axis 1 is out of bounds"):
            f(z, axis=1)
    with pytest.raises(np.exceptions.AxisError, match="mean: axis 0"):  # NumPy's mean refuses it too
        npg.mean(z, axis=0)
    e = np.zeros((0, 3), np.float32)
    assert npg.sum(npg.tensor(e)).data == 0 and npg.sum(npg.tensor(e)).dtype == np.float32
    assert npg.sum(npg.tensor(e), axis=1).shape == (0,)
    for axis in (None, 0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m, want = npg.mean(npg.tensor(e), axis=axis), np.mean(e, axis=axis)
        assert any("Mean of empty slice" in str(w.message) for w in caught)
        assert m.dtype == np.float32 and np.isnan(m.data).all() and m.shape == want.shape
        for f in (npg.max, npg.min):
            with pytest.raises(ValueError, match=f"{f.__name__}: zero-size reduction"):
                f(npg.tensor(e), axis=axis)
    assert npg.max(npg.tensor(e), axis=1).shape == (0,)
    v = np.array([1.0, np.nan, np.inf, -np.inf])
    for f, nf in _REDUCTIONS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_array_equal(f(npg.tensor(v)).data, nf(v))
            np.testing.assert_array_equal(f(npg.tensor(v[[0, 2]])).data, nf(v[[0, 2]]))
    x = npg.tensor(np.arange(6.0).reshape(2, 3))
    for f, _ in _REDUCTIONS:
        with pytest.raises(ValueError, match=f"{f.__name__}: repeated axis"):
            f(x, axis=(0, -2))
        with pytest.raises(np.exceptions.AxisError, match=f"{f.__name__}: axis -3"):
            f(x, axis=-3)
        with pytest.raises(TypeError, match=f"{f.__name__}: axis must be an int"):
            f(x, axis=1.0)
    w = np.array([True, False, True])  # where= / initial= (the masked path)
    np.testing.assert_array_equal(npg.sum(x, axis=1, where=w, initial=1.0).data,
                                  np.sum(x.data, axis=1, where=w, initial=1.0))
    np.testing.assert_array_equal(npg.mean(x, axis=1, where=w).data, np.mean(x.data, axis=1, where=w))
    np.testing.assert_array_equal(npg.max(x, axis=0, where=w, initial=-5.0).data,
                                  np.max(x.data, axis=0, where=w, initial=-5.0))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [2048, 2049])
def test_reduction_gradients_at_unreduce_threshold_match_torch(dtype, n):
    """Gradients of sum / mean / max / min over an input of exactly 2048 (a new array) and 2049 elements (a
    broadcast view), with ties, keepdims and negative axes; retain_graph and a second backward accumulate."""
    rng = np.random.default_rng(6)
    a = np.round(rng.standard_normal(n) * 2).astype(dtype)  # ties for max / min
    shape = (2, 1024) if n == 2048 else (n,)
    a = a.reshape(shape)
    for f, tf in ((npg.sum, torch.sum), (npg.mean, torch.mean), (npg.max, torch.amax), (npg.min, torch.amin)):
        for axis, keep in ((None, False), (-1, True), (0, False)):
            x, xt = npg.tensor(a, requires_grad=True), _t(a)
            y = f(x, axis=axis, keepdims=keep)
            yt = tf(xt) if axis is None else tf(xt, axis, keepdim=keep)
            w = rng.standard_normal(y.shape).astype(dtype)
            loss, loss_t = npg.sum(y * w), (yt * torch.tensor(w)).sum()
            loss.backward(retain_graph=True)
            first = x.grad
            loss_t.backward(retain_graph=True)
            assert x.grad.dtype == dtype and x.grad.shape == shape
            assert_close(x.grad, xt.grad.numpy())
            loss.backward()
            loss_t.backward()
            assert x.grad is first  # accumulated into the first .grad, in place
            assert_close(x.grad, xt.grad.numpy())


def test_a_small_reduction_gradient_is_never_shared():
    """unreduce's new array goes to two leaves (add passes it on), a retained .grad and a captured gradient:
    none of them shares memory with another, and writing into one changes no other."""
    a = np.arange(6.0).reshape(2, 3)
    x1, x2 = npg.tensor(a, requires_grad=True), npg.tensor(a, requires_grad=True)
    y = x1 + x2
    y.retain_grad()
    s = npg.sum(y)
    s.backward(retain_graph=True)
    grads = [x1.grad, x2.grad, y.grad]
    for i in range(3):
        for j in range(i):
            assert not np.shares_memory(grads[i], grads[j])
    s.backward()
    for g in grads:
        np.testing.assert_array_equal(g, np.full((2, 3), 2.0))
    g1, = npg.autograd.grad(npg.mean(x1 * 1), [x1])
    g2, = npg.autograd.grad(npg.mean(x1 * 1), [x1])
    assert not np.shares_memory(g1, g2) and not np.shares_memory(g1, x1.grad)
    x = npg.tensor(a, requires_grad=True)  # the same leaf twice
    (npg.sum(x) + npg.mean(x) + npg.max(x)).backward()
    xt = _t(a)
    (xt.sum() + xt.mean() + xt.amax()).backward()
    assert_close(x.grad, xt.grad.numpy())


@pytest.mark.parametrize("through", ["leaf", "non-leaf"])
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "mul-sum"])
def test_a_gradient_kept_by_a_hook_is_not_changed_by_the_next_backward(through, reduction):
    """A hook that keeps its gradient: npgrad stored that same array as the leaf's .grad (a reduction's gradient
    on a small input is a new array since this session: npg.sum(x); any op's before), and the next backward
    added into it in place, changing the kept gradient. PyTorch clones a gradient used elsewhere."""
    a = np.arange(6.0).reshape(2, 3)
    f = {"sum": lambda v: v.sum(), "mean": lambda v: v.mean(), "max": lambda v: v.amax() if hasattr(v, "amax")
         else npg.max(v), "mul-sum": lambda v: (v * 2).sum()}[reduction]
    results = []
    for x in (npg.tensor(a, requires_grad=True), _t(a)):
        h = x if through == "leaf" else x + 0
        kept = []
        h.register_hook(lambda g: kept.append(g))
        y = f(h)
        y.backward(retain_graph=True)
        y.backward()
        results.append((_arr(kept[0]), _arr(x.grad)))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


def test_hooks_that_modify_the_gradient_match_torch():
    a = np.arange(6.0).reshape(2, 3)
    results = []
    for x in (npg.tensor(a, requires_grad=True), _t(a)):
        x.register_hook(lambda g: g * 3)
        y = (x + 0)
        y.register_hook(lambda g: g + 1)
        (y.sum() if isinstance(x, torch.Tensor) else npg.sum(y)).backward()
        results.append(_arr(x.grad))
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
def test_a_bool_axis_is_refused_as_numpy_does(name):
    """np.sum(x, True) raises (a keepdims passed in axis's place); npgrad took True for axis 1."""
    a = np.ones((2, 3))
    with pytest.raises(TypeError):
        getattr(np, name)(a, True)
    with pytest.raises(TypeError, match=name):
        getattr(npg, name)(npg.tensor(a), True)
    with pytest.raises(TypeError, match=name):
        getattr(npg, name)(npg.tensor(a), np.bool_(False))


def test_log_softmax_along_an_empty_dim_warns_nothing_as_torch():
    import warnings
    x, tx = npg.tensor(np.ones((3, 0))), torch.ones((3, 0), dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = npg.nn.functional.log_softmax(x, -1)
    assert y.shape == tuple(torch.log_softmax(tx, -1).shape)
