"""Adversarial review of reductions, sorting, order statistics, statistics and contractions: randomized
differential tests against NumPy (values, dtypes, shapes, errors) and PyTorch (gradients).

Each test here was written to catch a divergence that was found and fixed (see each test's docstring)."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import npgrad as npg
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()

FLOATS = [np.float64, np.float32]


def _np(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def _npg(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


# ----------------------------------------------------------------------------- median with infinities
@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([-np.inf, np.inf, -2.0, -1.0, 0.0, 0.5, 1.0, 3.0]), min_size=1, max_size=7),
       st.sampled_from(FLOATS), st.booleans())
def test_median_with_infinities_matches_numpy(vals, dtype, with_nan):
    """np.median is the mean of the middle value(s), so median([1, 2, inf]) is 2 and median([1, 2, inf, inf])
    is inf; npgrad interpolated as quantile(0.5) (inf * 0 = nan) and gave nan."""
    a = np.array(vals, dtype)
    b = np.stack([a, a[::-1]])
    assert_close(npg.median(npg.tensor(a)), _np(np.median, a), what="median")
    assert_close(npg.median(npg.tensor(b), axis=1), _np(np.median, b, axis=1), what="median axis=1")
    if with_nan:
        b = b.copy()
        b[0, 0] = np.nan
    r = _npg(npg.nanmedian, npg.tensor(b), axis=1)
    e = _np(np.nanmedian, b, axis=1)
    assert r.dtype == e.dtype
    assert_close(r, e, what="nanmedian")


@pytest.mark.parametrize("dtype", FLOATS)
def test_median_gradient_matches_torch_quantile(dtype):
    """The median's gradient is shared by the two middle values (an even count), as torch.quantile(0.5)."""
    rng = np.random.default_rng(0)
    for shape, axis in [((6,), None), ((3, 4), 1), ((5, 3), 0), ((3, 5), 1)]:
        x = np.round(rng.standard_normal(shape), 1).astype(dtype)
        t = torch.tensor(x, requires_grad=True)
        tq = torch.quantile(t.flatten() if axis is None else t, 0.5, dim=axis)
        T = npg.tensor(x, requires_grad=True)
        m = npg.median(T, axis=axis)
        assert_close(m, tq.detach().numpy())
        g = rng.standard_normal(m.shape).astype(dtype)
        npg.sum(m * g).backward()
        (tq * torch.tensor(g)).sum().backward()
        assert_close(T.grad, t.grad.numpy())


# ----------------------------------------------------------------------------- quantile of an empty slice
@pytest.mark.parametrize("shape,axis", [((0, 3), 0), ((0, 0), 0), ((0,), None), ((3, 0), 1), ((2, 0), None),
                                        ((0, 3), 1)])
@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile", "median",
                                  "nanmedian"])
def test_order_statistics_of_empty_slices_as_numpy(shape, axis, name):
    """np.quantile / np.percentile raise on an empty reduced axis (as torch.quantile); npgrad returned nan.
    The median and the nan-functions give nan (with a warning), as NumPy."""
    a = np.zeros(shape)
    args = () if "median" in name else ((30.0,) if "percentile" in name else (0.3,))
    try:
        expected = _np(getattr(np, name), a, *args, axis=axis)
    except IndexError:
        with pytest.raises(IndexError, match=name):
            _npg(getattr(npg, name), npg.tensor(a), *args, axis=axis)
        return
    r = _npg(getattr(npg, name), npg.tensor(a), *args, axis=axis)
    assert r.shape == np.shape(expected) and r.dtype == np.asarray(expected).dtype
    assert_close(r, expected)


# ----------------------------------------------------------------------------- moments in an integer dtype
@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["var", "std", "nanvar", "nanstd", "nanmean", "mean", "sum", "nansum", "prod"]),
       st.sampled_from([np.int32, np.int64, np.bool_, np.float32]),
       st.sampled_from([np.float64, np.float32, np.int64]), st.sampled_from([None, 0, 1, -1, (0, 1)]),
       st.booleans(), st.integers(0, 2**31 - 1))
def test_moments_with_an_integer_dtype_as_numpy(name, dtype, in_dtype, axis, keepdims, seed):
    """var / std / nanvar / nanstd / nanmean with dtype=int or bool: npgrad cast the input and returned a
    number where NumPy raises (std, and the nan-functions of float input) or computes another value (np.var
    truncates each square into the integer type)."""
    x = (np.random.default_rng(seed).standard_normal((3, 4)) * 3).astype(in_dtype)
    kw = dict(axis=axis, keepdims=keepdims, dtype=dtype)
    if name in ("var", "std", "nanvar", "nanstd"):
        kw["ddof"] = 1
    try:
        expected = _np(getattr(np, name), x, **kw)
    except TypeError:
        with pytest.raises(TypeError, match=name):
            _npg(getattr(npg, name), npg.tensor(x), **kw)
        return
    r = _npg(getattr(npg, name), npg.tensor(x), **kw)
    assert r.dtype == np.asarray(expected).dtype and r.shape == np.shape(expected)
    assert_close(r, expected)


# ----------------------------------------------------------------------------- where= and initial=
_AXES = [None, 0, 1, -1, (0, 2), (), (2, 0, 1)]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["sum", "prod", "max", "min", "amax", "amin", "mean", "var", "std"]),
       st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.complex128]),
       st.sampled_from([(2, 3, 4), (0, 3, 2), (2, 1, 3)]), st.sampled_from(_AXES), st.booleans(),
       st.sampled_from(["none", "full", "row", "scalar"]), st.sampled_from([None, 0.5, -2.0, 3]),
       st.integers(0, 2**31 - 1))
def test_where_and_initial_as_numpy(name, dtype, shape, axis, keepdims, where_kind, initial, seed):
    """NumPy's where= (sum, prod, max, min, mean, var, std) and initial= (sum, prod, max, min) were refused
    with a TypeError; their values, dtypes, shapes and errors are NumPy's."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    if dtype == np.complex128:
        x = x + 1j * rng.standard_normal(shape)
    if name in ("max", "min", "amax", "amin") and dtype == np.complex128:
        return
    kw = dict(axis=axis, keepdims=keepdims)
    if where_kind != "none":
        kw["where"] = {"full": rng.random(shape) > 0.4, "row": rng.random(shape[-1:]) > 0.3,
                       "scalar": np.bool_(rng.random() > 0.5)}[where_kind]
    if initial is not None and name in ("sum", "prod", "max", "min", "amax", "amin"):
        kw["initial"] = initial
    if name in ("var", "std") and rng.random() > 0.5:
        kw["ddof"] = 1
    try:
        expected = _np(getattr(np, name), x, **kw)
    except (ValueError, TypeError) as e:
        with pytest.raises(type(e), match=name.replace("amax", "max").replace("amin", "min")):
            _npg(getattr(npg, name), npg.tensor(x), **kw)
        return
    for call in (lambda: getattr(npg, name)(npg.tensor(x), **kw), lambda: getattr(np, name)(npg.tensor(x), **kw)):
        r = _npg(call)
        assert r.shape == np.shape(expected) and r.dtype == np.asarray(expected).dtype, (r.shape, r.dtype)
        assert_close(r, expected, rtol=1e-5 if np.asarray(expected).dtype == np.float32 else 1e-9)


def _torch_masked(name, t, m, axis, initial, ddof):
    dims = tuple(range(t.dim())) if axis is None else axis
    if name == "sum":
        return torch.where(m, t, 0).sum(dims) + (initial or 0)
    if name == "prod":
        r = torch.where(m, t, 1)
        for d in sorted(dims, reverse=True):
            r = r.prod(d)
        return r * (1 if initial is None else initial)
    if name == "max":
        return torch.maximum(torch.where(m, t, -torch.inf).amax(dims), torch.tensor(initial, dtype=t.dtype))
    n = m.sum(dims, keepdim=True).to(t.dtype)
    mean = torch.where(m, t, 0).sum(dims, keepdim=True) / n
    if name == "mean":
        return mean.squeeze(dims) if dims else mean
    var = (torch.where(m, t - mean, 0) ** 2).sum(dims) / (n.squeeze(dims) - ddof)
    return var if name == "var" else var.sqrt()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["sum", "prod", "max", "mean", "var", "std"]), st.sampled_from(FLOATS),
       st.sampled_from([None, 0, (1, 2), 2]), st.integers(0, 2**31 - 1))
def test_where_and_initial_gradients_match_torch(name, dtype, axis, seed):
    """The gradient of a masked reduction is torch's for the same masked computation (no gradient to the
    elements left out), in float32 and float64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 4)).astype(dtype)
    m = rng.random((2, 3, 4)) > 0.3
    m[..., 0] = True  # every slice keeps an element, and (var, std) two
    m[..., 1] = True
    initial = {"sum": 1.5, "prod": -2.0, "max": 0.25}.get(name)
    ddof = 1 if name in ("var", "std") else 0
    if ddof and axis == 0:  # (a slice along axis 0 may keep one element: 0 / 0)
        axis = 2
    kw = dict(axis=axis, where=m)
    if initial is not None:
        kw["initial"] = initial
    if ddof:
        kw["ddof"] = ddof
    T = npg.tensor(x, requires_grad=True)
    r = getattr(npg, name)(T, **kw)
    t = torch.tensor(x, requires_grad=True)
    tr = _torch_masked(name, t, torch.tensor(m), axis if not isinstance(axis, int) else (axis,), initial, ddof)
    assert_close(r, tr.detach().numpy())
    g = rng.standard_normal(r.shape).astype(dtype)
    npg.sum(r * g).backward()
    (tr * torch.tensor(g)).sum().backward()
    assert T.grad.dtype == dtype
    assert_close(T.grad, t.grad.numpy())
    assert not np.any(T.grad[~m]), "an element outside where= got a gradient"


def test_where_under_vmap_and_forward_mode():
    """where= under vmap equals the loop, and its forward-mode derivative equals finite differences."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 4))
    m = rng.random((3, 4)) > 0.3
    m[:, :2] = True
    for f in (lambda t: npg.sum(t, axis=1, where=m, initial=2.0), lambda t: npg.mean(t, axis=0, where=m),
              lambda t: npg.std(t, axis=1, where=m, ddof=1), lambda t: npg.max(t, axis=1, where=m, initial=-1.0)):
        v = npg.func.vmap(f)(npg.tensor(x))
        assert_close(v, np.stack([f(npg.tensor(xi)).data for xi in x]))
        tan = rng.standard_normal(x[0].shape)
        _, jv = npg.func.jvp(f, (npg.tensor(x[0]),), (npg.tensor(tan),))
        eps = 1e-6
        fd = (f(npg.tensor(x[0] + eps * tan)).data - f(npg.tensor(x[0] - eps * tan)).data) / (2 * eps)
        assert_close(jv, fd, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- quantile methods (H&F)
_ALL_METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
                "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
                "normal_unbiased"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_ALL_METHODS), st.sampled_from(["quantile", "nanquantile", "percentile", "nanpercentile"]),
       st.integers(1, 9), st.sampled_from([np.float64, np.int64]),
       st.one_of(st.floats(0, 1), st.lists(st.floats(0, 1), min_size=1, max_size=3)), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_every_quantile_method_as_numpy(method, name, n, dtype, q, with_nan, seed):
    """np.quantile's nine H&F methods besides the five classic ones (inverted_cdf, averaged_inverted_cdf,
    closest_observation, interpolated_inverted_cdf, hazen, weibull, median_unbiased, normal_unbiased) were
    refused; their values and dtypes are NumPy's, with NaNs and for the nan-functions too."""
    rng = np.random.default_rng(seed)
    a = np.round(rng.standard_normal((3, n)) * 4, 1 if dtype == np.float64 else 0).astype(dtype)
    if with_nan:
        a = a.astype(np.float64)
        a[0, 0] = np.nan
        a[1, : n // 2] = np.nan
    if "percentile" in name:
        q = np.multiply(q, 100.0).tolist()
    expected = _np(getattr(np, name), a, q, axis=1, method=method)
    r = _npg(getattr(npg, name), npg.tensor(a), q, axis=1, method=method)
    assert r.shape == expected.shape and r.dtype == expected.dtype, (r.dtype, expected.dtype)
    assert_close(r, expected)


@pytest.mark.parametrize("method", _ALL_METHODS)
def test_quantile_method_gradients(method):
    """Each method's gradient goes to the order statistics it reads, with its weights: torch.quantile's for the
    five methods PyTorch has, central differences (away from ties) for all."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7))
    q = np.array([0.0, 0.13, 0.5, 0.77, 1.0])
    g = rng.standard_normal((5, 3))
    T = npg.tensor(x, requires_grad=True)
    npg.sum(npg.quantile(T, q, axis=1, method=method) * g).backward()
    f = lambda v: float(np.sum(npg.quantile(npg.tensor(v), q, axis=1, method=method).data * g))
    d = rng.standard_normal(x.shape)
    eps = 1e-7
    assert np.isclose(np.sum(T.grad * d), (f(x + eps * d) - f(x - eps * d)) / (2 * eps), rtol=1e-6, atol=1e-8)
    if method in ("linear", "lower", "higher", "nearest", "midpoint"):
        for dtype in FLOATS:
            t = torch.tensor(x.astype(dtype), requires_grad=True)
            (torch.quantile(t, torch.tensor(q, dtype=t.dtype), dim=1, interpolation=method)
             * torch.tensor(g.astype(dtype))).sum().backward()
            T = npg.tensor(x.astype(dtype), requires_grad=True)
            npg.sum(npg.quantile(T, q, axis=1, method=method) * g.astype(dtype)).backward()
            assert_close(T.grad, t.grad.numpy())


def test_quantile_methods_under_vmap_and_jvp():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 6))
    for method in ("hazen", "averaged_inverted_cdf", "closest_observation"):
        f = lambda t: npg.quantile(t, [0.2, 0.6], axis=-1, method=method)
        assert_close(npg.func.vmap(f)(npg.tensor(x)), np.stack([f(npg.tensor(xi)).data for xi in x]))
        tan = rng.standard_normal(x[0].shape)
        _, jv = npg.func.jvp(f, (npg.tensor(x[0]),), (npg.tensor(tan),))
        fd = (f(npg.tensor(x[0] + 1e-6 * tan)).data - f(npg.tensor(x[0] - 1e-6 * tan)).data) / 2e-6
        assert_close(jv, fd, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- average
@settings(max_examples=80, deadline=None)
@given(st.sampled_from([None, 0, 1, -1, (0, 2), (2, 0), (1, 2, 0), (-1, 1)]), st.booleans(), st.booleans(),
       st.sampled_from(["full", "along", "wrong"]), st.integers(0, 2**31 - 1))
def test_average_weights_along_axes_as_numpy(axis, keepdims, returned, wkind, seed):
    """NumPy 2's average takes weights of a's shape along a tuple of axes (in the axes' order); npgrad refused
    any but 1-D weights. Values, shapes and errors as NumPy; the gradient in a and in the weights as torch's."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((2, 3, 4))
    axes = (axis,) if isinstance(axis, int) else axis
    wshape = {"full": a.shape, "along": tuple(a.shape[i] for i in axes) if axes else (), "wrong": (5,)}[wkind]
    w = rng.random(wshape) + 0.1
    kw = dict(axis=axis, weights=w, returned=returned, keepdims=keepdims)
    try:
        expected = _np(np.average, a, **kw)
    except (ValueError, TypeError) as e:
        with pytest.raises(type(e), match="average"):
            npg.average(npg.tensor(a), **{**kw, "weights": npg.tensor(w)})
        return
    A, W = npg.tensor(a, requires_grad=True), npg.tensor(w, requires_grad=True)
    r = npg.average(A, **{**kw, "weights": W})
    for got, exp in zip(r if returned else (r,), expected if returned else (expected,)):
        assert got.shape == np.shape(exp)
        assert_close(got, exp)
    avg = r[0] if returned else r
    ta, tw = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    order = [i % 3 for i in axes] if axes else []
    twb = tw if wkind == "full" or not axes else tw.permute(*np.argsort(order).tolist()).reshape(
        [s if i in order else 1 for i, s in enumerate(a.shape)])
    dims = tuple(range(3)) if axis is None else tuple(order)
    tavg = (ta * twb).sum(dims, keepdim=keepdims) / (twb * torch.ones_like(ta)).sum(dims, keepdim=keepdims)
    g = rng.standard_normal(avg.shape)
    npg.sum(avg * g).backward()
    (tavg * torch.tensor(g)).sum().backward()
    assert_close(A.grad, ta.grad.numpy())
    assert_close(W.grad, tw.grad.numpy())


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd"]),
       st.sampled_from([np.float64, np.float32, np.int64]), st.sampled_from(_AXES), st.booleans(),
       st.sampled_from(["none", "full", "row"]), st.sampled_from([None, 0.5, -2.0]), st.integers(0, 2**31 - 1))
def test_nan_reductions_where_and_initial_as_numpy(name, dtype, axis, keepdims, where_kind, initial, seed):
    """The nan-functions' where= (and initial= of nansum, nanprod, nanmax, nanmin) were refused; values as
    NumPy's, NaNs (and all-NaN slices) included."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((2, 3, 4)) * 2).astype(dtype)
    if dtype != np.int64:
        x[rng.random(x.shape) > 0.6] = np.nan
        x[0, 0, :] = np.nan
    kw = dict(axis=axis, keepdims=keepdims)
    if where_kind != "none":
        kw["where"] = rng.random((2, 3, 4) if where_kind == "full" else (4,)) > 0.4
    if initial is not None and name in ("nansum", "nanprod", "nanmax", "nanmin"):
        kw["initial"] = initial
    if "where" not in kw and "initial" not in kw:
        kw["where"] = np.ones(4, bool)
    try:
        expected = _np(getattr(np, name), x, **kw)
    except (ValueError, TypeError) as e:
        with pytest.raises(type(e), match=name[3:]):
            _npg(getattr(npg, name), npg.tensor(x), **kw)
        return
    r = _npg(getattr(npg, name), npg.tensor(x), **kw)
    assert r.shape == np.shape(expected) and r.dtype == np.asarray(expected).dtype, (r.shape, r.dtype)
    assert_close(r, expected, rtol=1e-5 if np.asarray(expected).dtype == np.float32 else 1e-9)
    T = npg.tensor(x.astype(np.float64), requires_grad=True)   # no gradient reaches a NaN or a masked element
    npg.sum(npg.nan_to_num(_npg(getattr(npg, name), T, **kw), nan=0.0, posinf=0.0, neginf=0.0)).backward()
    if T.grad is not None:
        assert np.all(np.isfinite(T.grad))
        assert not np.any(T.grad[np.isnan(x)])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["median", "quantile", "nanmedian", "nanquantile"])
def test_order_statistics_with_nan_gradients_match_torch(name, dtype):
    """A slice holding a NaN (all-NaN for the nan-functions) has a NaN quantile; torch.quantile reads it from a
    NaN element (the last sorted; torch.nanquantile: the first), which gets the gradient. npgrad gave none."""
    x = np.array([[np.nan, 1, 2, 0.5], [np.nan, np.nan, np.nan, np.nan], [3, np.nan, 3, np.nan],
                  [1, 2, 3, 4]], dtype)
    q = [0.3, 0.5, 0.9] if "quantile" in name else 0.5
    tfn = torch.nanquantile if name.startswith("nan") else torch.quantile
    t = torch.tensor(x, requires_grad=True)
    tr = tfn(t, torch.tensor(q, dtype=t.dtype), dim=1)
    T = npg.tensor(x, requires_grad=True)
    r = _npg(getattr(npg, name), T, *(() if "median" in name else (q,)), axis=1)
    assert_close(r, tr.detach().numpy())
    g = np.random.default_rng(0).standard_normal(r.shape).astype(dtype)
    npg.sum(r * g).backward()
    (tr * torch.tensor(g)).sum().backward()
    assert_close(T.grad, t.grad.numpy())


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_of_a_0d_tensor_as_torch(dtype, axis, keepdims):
    """torch.logsumexp(x, 0) of a 0-d tensor is x (as np.sum's axis 0 of a 0-d array); npgrad raised AxisError."""
    x = np.array(0.7, dtype)
    t = torch.tensor(x, requires_grad=True)
    tr = torch.logsumexp(t, 0 if axis is None else axis, keepdim=keepdims)
    T = npg.tensor(x, requires_grad=True)
    r = npg.logsumexp(T, axis=axis, keepdims=keepdims)
    assert r.dtype == dtype
    assert_close(r, tr.detach().numpy())
    r.backward()
    tr.backward()
    assert_close(T.grad, t.grad.numpy())
    v = npg.func.vmap(lambda s: npg.logsumexp(s, axis=axis, keepdims=keepdims))(npg.tensor(np.array([0.7, -1.0], dtype)))
    assert_close(v, np.array([0.7, -1.0], dtype))


@pytest.mark.parametrize("kw", [dict(kind="bogus"), dict(kind="quicksort", stable=True), dict(kind="heapsort"),
                                dict(stable=False), dict(kind="stable"), dict(kind="mergesort"), dict(stable=True)])
def test_sort_kind_and_stable_checked_as_numpy(kw):
    """np.sort refuses an unknown kind, and kind together with stable; npgrad's sort ignored both."""
    x = np.array([[3.0, 1.0, 2.0, 1.0]])
    try:
        expected = np.sort(x, **kw)
    except ValueError:
        with pytest.raises(ValueError, match="sort"):
            npg.sort(npg.tensor(x), **kw)
        return
    assert_close(npg.sort(npg.tensor(x), **kw), expected)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["var", "std", "nanvar", "nanstd"]), st.sampled_from([0, 1, 2]), st.sampled_from([0, 1, 3]),
       st.sampled_from([None, 1, (0, 1)]), st.booleans(), st.integers(0, 2**31 - 1))
def test_var_std_correction_as_numpy(name, correction, ddof, axis, positional, seed):
    """NumPy 2's correction= (PyTorch's name for ddof) was refused by var / std / nanvar / nanstd; with a
    nonzero ddof too NumPy raises."""
    x = np.random.default_rng(seed).standard_normal((3, 4))
    args = (axis,) if positional else ()
    kw = dict(correction=correction) if positional else dict(axis=axis, correction=correction)
    if ddof:
        kw["ddof"] = ddof
    try:
        expected = _np(getattr(np, name), x, *args, **kw)
    except ValueError:
        with pytest.raises(ValueError, match=name):
            getattr(npg, name)(npg.tensor(x), *args, **kw)
        return
    T = npg.tensor(x, requires_grad=True)
    r = _npg(getattr(npg, name), T, *args, **kw)
    assert_close(r, expected)
    if name in ("var", "std"):
        t = torch.tensor(x, requires_grad=True)
        tr = getattr(torch, name)(t, dim=axis, correction=correction)
        if np.all(np.isfinite(tr.detach().numpy())):
            npg.sum(r).backward()
            tr.sum().backward()
            assert_close(T.grad, t.grad.numpy())
