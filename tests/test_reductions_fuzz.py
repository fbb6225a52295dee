"""NumPy's reductions, scans and order statistics on random inputs and arguments: npgrad's result must equal
NumPy's in value, shape and dtype, or both must raise.

Drawn: the function, a shape (0-d, size-0 axes), a dtype (float32/64, int32/64, bool, complex64), NaNs for
the nan-functions, ``axis`` (None, negative, a tuple), ``keepdims``, ``ddof``, ``dtype=``, q. Found this way
and fixed: ``out=`` silently ignored by the nan-functions and cumulative_sum/prod, ``dtype=`` ignored by the
nan-functions and missing on mean/prod/std/var/cumsum/cumprod, nanvar's infinity where NumPy gives NaN for
degrees of freedom <= 0, a complex median returned as complex128, quantiles of complex input not refused,
the median of booleans failing inside NumPy's interpolation.

Left to NumPy (not compared): a real ``dtype=`` for complex input, its IndexError / ZeroDivisionError on some empty inputs (quantile, average),
its integer result type for a quantile that falls exactly on an element, and the branch of the imaginary part
of a complex logsumexp.
"""
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import npgrad as npg

FUNCS = ["sum", "prod", "mean", "std", "var", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
         "cumsum", "cumprod", "nansum", "nanmean", "nanmax", "nanmin", "nanstd", "nanvar", "nanprod", "nancumsum",
         "nancumprod", "nanargmax", "median", "nanmedian", "ptp", "count_nonzero", "average", "percentile",
         "quantile", "sort", "argsort", "logsumexp"]
SCAN_OR_ONE_AXIS = {"cumsum", "cumprod", "nancumsum", "nancumprod", "argmax", "argmin", "nanargmax", "sort",
                    "argsort"}
NO_KEEPDIMS = SCAN_OR_ONE_AXIS | {"average", "median", "nanmedian", "percentile", "quantile", "logsumexp",
                                  "count_nonzero", "sort", "argsort"}
DTYPES = [np.float32, np.float64, np.int64, np.int32, np.bool_, np.complex64]


@st.composite
def calls(draw):
    name = draw(st.sampled_from(FUNCS))
    nd = draw(st.integers(0, 3))
    shape = tuple(draw(st.sampled_from([0, 1, 2, 3])) for _ in range(nd))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    kw = {}
    if draw(st.booleans()) and name != "logsumexp":
        if nd and draw(st.booleans()):
            ax = draw(st.integers(-nd, nd - 1))
            kw["axis"] = ax if name in SCAN_OR_ONE_AXIS or draw(st.booleans()) else (ax,)
        else:
            kw["axis"] = None
    if name not in NO_KEEPDIMS and draw(st.booleans()):
        kw["keepdims"] = True
    if name in ("std", "var", "nanstd", "nanvar") and draw(st.booleans()):
        kw["ddof"] = draw(st.integers(0, 2))
    if name in ("sum", "prod", "mean", "cumsum", "cumprod", "std", "var", "nansum", "nanmean", "nanprod",
                "nancumsum", "nanvar") and draw(st.booleans()):
        kw["dtype"] = draw(st.sampled_from([np.float64, np.float32] + (
            [np.complex128] if name not in ("std", "var", "nanvar") else [])))
    extra = ()
    if name == "percentile":
        extra = (draw(st.sampled_from([0.0, 37.5, 50.0, 100.0])),)
    elif name == "quantile":
        extra = (draw(st.sampled_from([0.0, 0.25, 0.5, 1.0])),)
    return name, shape, dtype, seed, kw, extra


def _array(shape, dtype, seed, nans):
    r = np.random.default_rng(seed)
    if dtype == np.bool_:
        return r.random(shape) < 0.5
    if dtype == np.complex64:
        return (r.standard_normal(shape) + 1j * r.standard_normal(shape)).astype(dtype)
    a = (r.standard_normal(shape) * 3).astype(dtype)
    if nans and a.dtype.kind == "f" and a.size:
        a.flat[r.integers(a.size)] = np.nan
    return a


def _skip(name, a, kw, ref_error):
    """NumPy behaviours npgrad does not copy (see the module docstring)."""
    if ref_error is not None and a.size == 0 and name in ("quantile", "percentile", "average", "logsumexp"):
        return True
    if name == "logsumexp" and a.dtype.kind == "c":
        return True
    # complex input with a real dtype=: NumPy drops the imaginary part of the mean only (std/var come out
    # as |imag|), a lossy cast either way
    return a.dtype.kind == "c" and kw.get("dtype") in (np.float32, np.float64)


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(call=calls())
def test_reductions_match_numpy(call):
    name, shape, dtype, seed, kw, extra = call
    a = _array(shape, dtype, seed, name.startswith("nan"))
    ref_fn = scipy.special.logsumexp if name == "logsumexp" else getattr(np, name)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            ref, ref_error = ref_fn(a, *extra, **kw), None
        except (TypeError, ValueError, IndexError, ZeroDivisionError) as e:
            ref, ref_error = None, e
        if _skip(name, a, kw, ref_error):
            return
        try:
            out, error = getattr(npg, name)(npg.tensor(a, requires_grad=False), *extra, **kw), None
        except (TypeError, ValueError, IndexError) as e:
            out, error = None, e
    if ref_error is not None or error is not None:
        assert ref_error is not None and error is not None, (
            f"{name}{shape} {a.dtype} {kw} {extra}: NumPy raised {ref_error!r}, npgrad {error!r}")
        return
    got = np.asarray(out.data if isinstance(out, npg.Tensor) else out)
    ref = np.asarray(ref)
    where = f"{name}{shape} {a.dtype} {kw} {extra}"
    assert got.shape == ref.shape, where
    if not (name in ("quantile", "percentile") and a.dtype.kind in "iu"):   # (NumPy's integer quirk)
        assert got.dtype == ref.dtype, f"{where}: NumPy {ref.dtype}, npgrad {got.dtype}"
    low = np.float32 in (a.dtype, kw.get("dtype")) or a.dtype == np.complex64
    np.testing.assert_allclose(got, ref, rtol=1e-5 if low else 1e-11, atol=1e-5 if low else 1e-12, equal_nan=True,
                               err_msg=where)


OUT_FUNCS = ["nansum", "nanmean", "nanvar", "nanstd", "nanprod", "nanmax", "nanmin", "nancumsum", "nancumprod",
             "mean", "prod", "std", "var", "cumsum", "cumprod", "median", "ptp"]


@pytest.mark.parametrize("name", OUT_FUNCS + ["cumulative_sum", "cumulative_prod"])
def test_out_is_refused_never_ignored(name):
    x = npg.tensor(np.arange(1.0, 7.0).reshape(2, 3))
    out = np.zeros(3)
    with pytest.raises(TypeError, match=f"{name}: out= is not supported"):
        getattr(npg, name)(x, axis=0, out=out)
    with pytest.raises(TypeError, match="out= is not supported"):   # the same through NumPy's dispatch
        getattr(np, name)(x, axis=0, out=out)


@pytest.mark.parametrize("name", ["mean", "prod", "std", "var", "cumsum", "cumprod", "nansum", "nanmean", "nanvar",
                                  "nanstd", "nanprod", "nancumsum", "nancumprod"])
def test_dtype_is_the_accumulation_type_and_gradients_flow(name):
    a = np.random.default_rng(0).uniform(0.5, 1.5, (3, 4)).astype(np.float32)
    x = npg.tensor(a)
    y = getattr(npg, name)(x, axis=1, dtype=np.float64)
    ref = getattr(np, name)(a, axis=1, dtype=np.float64)
    assert y.dtype == ref.dtype == np.float64
    # (NumPy's nanvar keeps the deviations in the input's float32 even with dtype=float64; npgrad casts first)
    np.testing.assert_allclose(y.data, ref, rtol=1e-12 if name not in ("nanvar", "nanstd") else 1e-6)
    y.sum().backward()
    assert x.grad.dtype == np.float32     # the gradient comes back through the cast, in the input's dtype
    z = npg.tensor(a)
    getattr(npg, name)(z.astype(np.float64), axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, z.grad, rtol=1e-6)


@pytest.mark.parametrize("name", ["mean", "prod", "sum", "std", "var"])
def test_a_dtype_in_keepdims_position_is_an_error(name):
    """NumPy's third positional argument is dtype; npgrad's is keepdims (a dtype there would keep dims)."""
    with pytest.raises(TypeError, match="(keepdims must be a bool|ddof must be a number).*pass dtype= by keyword"):
        getattr(npg, name)(npg.tensor(np.ones((2, 3))), 0, np.float64)


def test_nanvar_is_nan_where_the_degrees_of_freedom_run_out():
    a = np.array([[1.0, 2.0, 3.0], [np.nan, 5.0, np.nan]])
    for kw in (dict(axis=1, ddof=2), dict(ddof=6)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_array_equal(npg.nanvar(npg.tensor(a), **kw).data, np.nanvar(a, **kw))
