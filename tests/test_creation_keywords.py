"""NumPy's keyword arguments on npgrad's constructors: ``order=``, ``like=``, ``device=`` on ``zeros ones empty
full eye identity arange``; ``order=`` / ``copy=`` / ``like=`` on ``array`` and ``asarray``; ``shape=`` / ``order=`` /
``subok=`` on the ``*_like`` forms; ``linspace`` / ``logspace`` argument checks; npg.stats' result types.

Oracles: NumPy 2 (values, dtype, shape, memory layout, and the same exception type), SciPy for npg.stats, central
differences for gradients; PyTorch for its ``size=`` keyword."""
import numpy as np
import pytest
import torch

import npgrad as npg


def _same(t, ref, layout=True):
    """``t`` is a tensor equal to NumPy's ``ref`` in values, shape, dtype (and memory layout)."""
    assert isinstance(t, npg.Tensor)
    assert t.shape == ref.shape and t.dtype == ref.dtype
    if ref.dtype.kind == "f" and not np.isfinite(ref).all():
        np.testing.assert_array_equal(np.isnan(t.data), np.isnan(ref))
    else:
        np.testing.assert_array_equal(t.data, ref)
    if layout and ref.size > 1:
        assert t.data.flags.c_contiguous == ref.flags.c_contiguous
        assert t.data.flags.f_contiguous == ref.flags.f_contiguous


# ------------------------------------------------------------------ order= / like= / device= on the constructors
CONSTRUCTORS = {  # name -> (npgrad call, NumPy call), each given the keyword arguments
    "zeros": (lambda **kw: npg.zeros((2, 3), **kw), lambda **kw: np.zeros((2, 3), **kw)),
    "ones": (lambda **kw: npg.ones((3, 2), **kw), lambda **kw: np.ones((3, 2), **kw)),
    "full": (lambda **kw: npg.full((2, 3), 1.5, **kw), lambda **kw: np.full((2, 3), 1.5, **kw)),
    "eye": (lambda **kw: npg.eye(3, 4, 1, **kw), lambda **kw: np.eye(3, 4, 1, **kw)),
}


@pytest.mark.parametrize("name", CONSTRUCTORS)
@pytest.mark.parametrize("order", ["C", "F"])
def test_constructor_order(name, order):
    make, ref = CONSTRUCTORS[name]
    t = make(order=order)
    _same(t, ref(order=order))
    assert t.requires_grad
    # an F-ordered tensor computes as a C-ordered one: values and gradients
    w = np.arange(float(t.size)).reshape(t.shape[::-1]).T * 0.5  # (an F-ordered constant)
    loss = (t.reshape(-1) ** 2).sum() + (t * w).sum() + (t.T @ np.ones(t.shape[0])).sum()
    loss.backward()
    np.testing.assert_allclose(t.grad, 2 * ref() + w + 1.0)
    assert t.grad.shape == t.shape


def test_empty_order_and_bad_order():
    assert npg.empty((2, 3), order="F").data.flags.f_contiguous
    assert npg.empty(2, 3, order="C").data.flags.c_contiguous
    for bad in ("A", "K", "X"):  # NumPy: only 'C' or 'F' for these
        with pytest.raises(ValueError):
            np.zeros((2, 3), order=bad)
        for name in ("zeros", "ones", "empty"):
            with pytest.raises(ValueError, match=name):
                getattr(npg, name)((2, 3), order=bad)
        with pytest.raises(ValueError, match="full"):
            npg.full((2, 3), 1.0, order=bad)


@pytest.mark.parametrize("like", [None, np.ones(2), npg.ones(2)])
def test_constructor_like(like):
    for name, (make, ref) in CONSTRUCTORS.items():
        _same(make(like=like), ref())
    _same(npg.empty(2, like=like) * 0, np.zeros(2))
    _same(npg.arange(1, 7, 2, like=like), np.arange(1, 7, 2))
    _same(npg.identity(3, like=like), np.identity(3))


@pytest.mark.parametrize("bad", [[1, 2], 3, "C"])
def test_constructor_like_must_implement_array_function(bad):
    with pytest.raises(TypeError, match="like"):
        np.zeros(2, like=bad)  # NumPy's rule
    for call in (lambda: npg.zeros(2, like=bad), lambda: npg.full(2, 1.0, like=bad), lambda: npg.eye(2, like=bad),
                 lambda: npg.arange(3, like=bad), lambda: npg.identity(2, like=bad)):
        with pytest.raises(TypeError, match="like"):
            call()


def test_constructor_device():
    _same(npg.zeros(2, device="cpu"), np.zeros(2, device="cpu"))
    _same(npg.arange(3, device="cpu"), np.arange(3, device="cpu"))
    _same(npg.eye(2, device="cpu"), np.eye(2, device="cpu"))
    with pytest.raises(ValueError):
        np.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="zeros"):
        npg.zeros(2, device="cuda")


@pytest.mark.parametrize("dtype", [None, "float32", "int64"])
def test_identity(dtype):
    t = npg.identity(4, dtype=dtype)
    ref = np.identity(4, dtype=npg.get_default_dtype() if dtype is None else dtype)
    _same(t, ref)
    assert t.requires_grad == (ref.dtype.kind == "f")
    assert npg.identity(3, requires_grad=False).requires_grad is False
    _same(npg.identity(0), np.identity(0))


# ------------------------------------------------------------------ npg.array / npg.asarray: order=, copy=, like=
NESTED = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


@pytest.mark.parametrize("order", ["K", "A", "C", "F"])
def test_array_order(order):
    _same(npg.array(NESTED, order=order), np.array(NESTED, order=order))
    a = np.asfortranarray(np.array(NESTED))
    _same(npg.array(a, order=order), np.array(a, order=order))
    _same(npg.asarray(a, order=order), np.asarray(a, order=order))
    _same(npg.array(NESTED, like=np.ones(1), subok=True), np.array(NESTED))
    _same(npg.asarray(NESTED, like=npg.ones(1)), np.asarray(NESTED))


@pytest.mark.parametrize("order", ["C", "F"])
def test_array_of_a_tensor_order_is_differentiable(order):
    x = npg.tensor(NESTED)
    y = npg.array(x, order=order)
    assert y is not x and y.requires_grad and not np.shares_memory(y.data, x.data)
    _same(y, np.array(np.array(NESTED), order=order))
    (y * np.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(6.0).reshape(2, 3))
    z = npg.asarray(x, order=order)  # a copy only where the layout differs, as np.asarray
    assert (z is x) == (order == "C")
    _same(z, np.asarray(np.array(NESTED), order=order))


def test_array_copy_false_raises_where_a_copy_is_needed():
    for obj, kw in ((NESTED, {}), ((1.0, 2.0), {}), (np.ones(2), {"dtype": "float32"}),
                    (np.ones((2, 2)), {"order": "F"})):
        with pytest.raises(ValueError, match="copy"):
            np.array(obj, copy=False, **kw)  # NumPy 2's rule
        with pytest.raises(ValueError, match="array.*copy"):
            npg.array(obj, copy=False, **kw)
        with pytest.raises(ValueError, match="asarray.*copy"):
            npg.asarray(obj, copy=False, **kw)
    x = npg.tensor(NESTED)
    for call in (lambda: npg.array([x[0], x[1]], copy=False), lambda: npg.array(x, copy=False, dtype="float32"),
                 lambda: npg.asarray(x, copy=False, order="F")):
        with pytest.raises(ValueError, match="copy"):
            call()
    a = np.ones(3)
    assert np.shares_memory(npg.array(a, copy=False).data, a)  # no copy needed: none made, as NumPy
    assert npg.array(x, copy=False) is x and npg.asarray(x, copy=False) is x


@pytest.mark.parametrize("copy", [None, True, False])
def test_asarray_copy(copy):
    a = np.arange(4.0)
    t = npg.asarray(a, copy=copy)
    _same(t, np.asarray(a, copy=copy))
    assert np.shares_memory(t.data, a) == np.shares_memory(np.asarray(a, copy=copy), a)
    x = npg.tensor([1.0, 2.0])
    y = npg.asarray(x, copy=copy)
    assert (y is x) == (not copy) and y.requires_grad
    if copy:
        assert not np.shares_memory(y.data, x.data)
        (y * 3.0).sum().backward()
        np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_array_like_must_implement_array_function():
    for fn in (npg.array, npg.asarray):
        with pytest.raises(TypeError, match="like"):
            fn([1.0], like=[1.0])


# ------------------------------------------------------------------ the *_like forms: shape=, order=, subok=
PROTO = np.asfortranarray(np.arange(6.0, dtype=np.float32).reshape(2, 3))
LIKE = {"zeros_like": (), "ones_like": (), "empty_like": (), "full_like": (2.5,)}


@pytest.mark.parametrize("name", LIKE)
@pytest.mark.parametrize("kw", [{}, {"shape": (4, 5)}, {"shape": 3}, {"shape": ()}, {"order": "C"}, {"order": "F"},
                                {"order": "A"}, {"order": "K"}, {"subok": False}, {"dtype": "float64", "order": "C"},
                                {"shape": (2, 4), "order": "F"}, {"device": "cpu"}])
def test_like_forms_keywords(name, kw):
    extra = LIKE[name]
    for proto in (PROTO, npg.tensor(PROTO, requires_grad=False)):
        t = getattr(npg, name)(proto, *extra, **kw)
        # (npg.tensor lays its copy out in C order: the oracle is NumPy on that data)
        ref = getattr(np, name)(proto.data if isinstance(proto, npg.Tensor) else proto, *extra, **kw)
        if name == "empty_like":  # (uninitialised: shape, dtype and layout only)
            assert t.shape == ref.shape and t.dtype == ref.dtype
            assert t.data.flags.f_contiguous == ref.flags.f_contiguous
        else:
            _same(t.detach(), ref)
        assert t.requires_grad  # a float leaf, as npg's other constructors
        # the np.* forms on a tensor agree in value, shape and dtype (a constant there, as NumPy's)
        u = getattr(np, name)(npg.tensor(proto) if not isinstance(proto, npg.Tensor) else proto, *extra, **kw)
        assert u.shape == t.shape and u.dtype == t.dtype and not u.requires_grad


def test_like_forms_bad_keywords():
    for name, extra in LIKE.items():
        with pytest.raises(ValueError):
            getattr(np, name)(PROTO, *extra, order="X")
        with pytest.raises(ValueError, match=name):
            getattr(npg, name)(PROTO, *extra, order="X")
        with pytest.raises(ValueError, match=name):
            getattr(npg, name)(PROTO, *extra, shape=(-1, 2))


@pytest.mark.parametrize("kw", [{"shape": (4, 3)}, {"shape": 5, "dtype": "float64"}, {"order": "F"}])
def test_full_like_tensor_fill_with_shape_and_order(kw):
    v = npg.tensor(np.float32(2.0))
    out = npg.full_like(PROTO, v, **kw)
    _same(out.detach(), np.full_like(PROTO, 2.0, **kw))
    assert out.requires_grad
    out.sum().backward()
    assert v.grad == out.size
    w = npg.tensor(np.float32(2.0))
    u = np.full_like(npg.tensor(PROTO), w, **kw)  # np.full_like on a tensor: the same shape
    assert u.shape == out.shape and u.dtype == out.dtype
    full = npg.full((2, 3), w, order=kw.get("order", "C"))
    _same(full.detach(), np.full((2, 3), np.float32(2.0), order=kw.get("order", "C")))


# ------------------------------------------------------------------ linspace / logspace with tensor endpoints
def _fd(f, x, eps=1e-6):
    """Central differences of the scalar ``f`` at the float64 array ``x``."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("num", [2.0, np.float64(3.0), "3", None])
def test_linspace_num_must_be_an_integer(num):
    with pytest.raises(TypeError):
        np.linspace(0.0, 1.0, num)
    for start in (0.0, npg.tensor(0.0)):
        with pytest.raises(TypeError, match="linspace"):
            npg.linspace(start, 1.0, num)
        with pytest.raises(TypeError, match="logspace"):
            npg.logspace(start, 1.0, num)
    _same(npg.linspace(npg.tensor(0.0), 1.0, np.int64(3)).detach(), np.linspace(0.0, 1.0, np.int64(3)))


LOGSPACE = [  # start, stop, base, axis
    ([0.0, 1.0], [1.0, 2.0], [2.0, 3.0], 1),
    ([0.0, 1.0], [1.0, 2.0], [2.0, 3.0], -1),
    ([0.0, 1.0], [1.0, 2.0], [2.0, 3.0], 0),
    (0.5, 1.5, [2.0, 3.0], 1),
    (0.5, 1.5, [2.0, 3.0], 0),
    (0.5, 1.5, [2.0, 3.0], -1),
    ([0.0, 1.0], 2.0, [[2.0], [3.0]], 1),
    (0.5, [1.0, 2.0], 2.5, 0),
]


@pytest.mark.parametrize("start, stop, base, axis", LOGSPACE)
@pytest.mark.parametrize("tensors", ["start", "stop", "base", "all"])
def test_logspace_array_base_and_axis(start, stop, base, axis, tensors):
    vals = [np.asarray(v, dtype=np.float64) for v in (start, stop, base)]
    ref = np.logspace(vals[0], vals[1], 4, base=vals[2], axis=axis)
    which = {"start": [0], "stop": [1], "base": [2], "all": [0, 1, 2]}[tensors]
    args = [npg.tensor(v) if i in which else v for i, v in enumerate(vals)]
    out = npg.logspace(args[0], args[1], 4, base=args[2], axis=axis)
    assert out.shape == ref.shape and out.dtype == ref.dtype
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    w = np.cos(np.arange(ref.size)).reshape(ref.shape)
    (out * w).sum().backward()
    for i in which:
        def f(v, i=i):
            vs = list(vals)
            vs[i] = v
            return float((np.logspace(vs[0], vs[1], 4, base=vs[2], axis=axis) * w).sum())
        np.testing.assert_allclose(args[i].grad, _fd(f, vals[i]), rtol=1e-6, atol=1e-8)


def test_logspace_float32_keeps_its_dtype():
    s = npg.tensor(np.float32([0.0, 1.0]))
    out = npg.logspace(s, 2.0, 3, base=np.float32([2.0, 3.0]), axis=1)
    ref = np.logspace(np.float32([0.0, 1.0]), 2.0, 3, base=np.float32([2.0, 3.0]), axis=1)
    assert out.shape == ref.shape == (2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref, rtol=1e-6)


# ------------------------------------------------------------------ npg.stats: Python numbers in, a 0-d tensor out
STATS = {  # distribution -> (Python-number arguments, methods)
    "norm": ((0.5, 0.2, 1.3), ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "t": ((0.5, 3.0, 0.2, 1.3), ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "gamma": ((0.5, 2.0, 0.0, 1.3), ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "chi2": ((0.5, 3.0, 0.0, 1.3), ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "beta": ((0.5, 2.0, 3.0, 0.0, 1.0), ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "poisson": ((2, 3.0), ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")),
    "binom": ((2, 5, 0.3), ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")),
    "bernoulli": ((1, 0.3), ("logpmf", "pmf")),
}


@pytest.mark.parametrize("dist", STATS)
def test_stats_python_numbers_give_a_0d_tensor(dist):
    import scipy.stats as ss
    args, methods = STATS[dist]
    for m in methods + (("ppf", "isf") if dist == "norm" else ()):
        a = (0.3,) + args[1:] if m in ("ppf", "isf") else args
        out = getattr(getattr(npg.stats, dist), m)(*a)
        ref = np.asarray(getattr(getattr(ss, dist), m)(*a))
        assert isinstance(out, npg.Tensor), (dist, m, type(out))
        assert out.shape == () and out.dtype == ref.dtype == np.float64, (dist, m)
        np.testing.assert_allclose(out.data, ref, rtol=1e-12, err_msg=f"{dist}.{m}")
        ints = tuple(int(v) if float(v).is_integer() else v for v in a)  # (Python ints as well)
        assert isinstance(getattr(getattr(npg.stats, dist), m)(*ints), npg.Tensor)


@pytest.mark.parametrize("dist", ["norm", "t", "gamma", "chi2", "beta"])
def test_python_zero_scale_is_nan_as_scipy(dist):
    """scale=0.0 (a Python float): SciPy's NaN, not Python's ZeroDivisionError."""
    import scipy.stats as ss
    args = STATS[dist][0][:-1] + (0.0,)
    for m in STATS[dist][1] + (("ppf", "isf") if dist == "norm" else ()):
        with np.errstate(all="ignore"):
            ref = getattr(getattr(ss, dist), m)(*args)
            out = getattr(getattr(npg.stats, dist), m)(*args)
        assert np.isnan(ref) and isinstance(out, npg.Tensor) and np.isnan(out.data), (dist, m)


def test_norm_logpdf_keeps_float32_with_python_parameters():
    x = npg.tensor(np.float32([0.5, -1.0]))
    out = npg.stats.norm.logpdf(x, 0.0, 2.0)
    assert out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_allclose(x.grad, -np.float32([0.5, -1.0]) / 4.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "randn", "rand"])
@pytest.mark.parametrize("size", [(2, 3), [4], 5, ()])
def test_size_keyword_as_torch(name, size):
    got = getattr(npg, name)(size=size)
    tsize = (size,) if isinstance(size, int) else size   # (torch's keyword takes a sequence only)
    assert got.shape == tuple(getattr(torch, name)(size=tsize).shape)
    assert got.dtype == npg.get_default_dtype()
    if name in ("randn", "rand"):   # the same draws as the positional form
        npg.manual_seed(3)
        a = getattr(npg, name)(size=size)
        npg.manual_seed(3)
        b = getattr(npg, name)(*np.atleast_1d(size).tolist()) if size != () else getattr(npg, name)()
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(TypeError, match=f"{name}: got both a shape"):
        getattr(npg, name)(2, size=size)
