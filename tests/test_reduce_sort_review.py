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
