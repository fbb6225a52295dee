"""Hunt for silent wrong answers in sorting, selection, order statistics and scans: values against NumPy
(NumPy's names) or PyTorch (torch's names), gradients and second derivatives against
``torch.autograd.grad(create_graph=True)``.

The tests marked "found" failed before the fix they name; the others pin down behaviour at the edges the
earlier suites did not reach (zeros in cumprod, -inf in logcumsumexp, NaN in nanquantile, ties in cummax)."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

FLOATS = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _const(x):
    return npg.tensor(np.asarray(x), requires_grad=False)


def _torch_dtype(dt):
    return {np.float64: torch.float64, np.float32: torch.float32}[dt]


# ----------------------------------------------------------------------------- k of topk / kthvalue (found)
@pytest.mark.parametrize("fn", ["topk", "kthvalue"])
@pytest.mark.parametrize("k", [2.0, 1.5, True])
def test_non_int_k_is_refused(fn, k):
    """found: kthvalue(x, 2.5) silently used k=2 (the float went into np.take), topk(x, 2.0) raised NumPy's bare
    casting error and topk(x, True) read True as 1; torch refuses a float or bool k."""
    x = _const([[3., 1., 2.], [0., 5., 4.]])
    with pytest.raises(TypeError, match=f"{fn}: k must be an int"):
        getattr(npg, fn)(x, k)
    with pytest.raises(TypeError):
        getattr(torch, fn)(torch.tensor(x.data), k)


@pytest.mark.parametrize("fn", ["topk", "kthvalue"])
def test_numpy_int_k_is_taken(fn):
    x = np.array([[3., 1., 2.], [0., 5., 4.]])
    v, i = getattr(npg, fn)(_const(x), np.int64(2))
    tv, ti = getattr(torch, fn)(torch.tensor(x), 2)
    np.testing.assert_array_equal(v.data, tv.numpy())
    np.testing.assert_array_equal(i.data, ti.numpy())


@pytest.mark.parametrize("fn", ["topk", "kthvalue"])
@pytest.mark.parametrize("dim", [1, -2, 2])
def test_zero_d_dim_out_of_range(fn, dim):
    """found: a 0-d tensor's topk / kthvalue took any dim; torch allows 0 and -1 only."""
    with pytest.raises(IndexError):
        getattr(torch, fn)(torch.tensor(1.), 1, dim)
    with pytest.raises(np.exceptions.AxisError, match=fn):
        getattr(npg, fn)(_const(1.), 1, dim)


@pytest.mark.parametrize("fn", ["topk", "kthvalue"])
@pytest.mark.parametrize("dim", [0, -1])
def test_zero_d_dims_0_and_minus_1(fn, dim):
    a = npg.tensor(np.float32(2.5), requires_grad=True)
    v, i = getattr(npg, fn)(a, 1, dim)
    b = torch.tensor(2.5, requires_grad=True)
    tv, ti = getattr(torch, fn)(b, 1, dim)
    assert v.shape == () and v.dtype == np.float32 and int(i.data) == int(ti)
    (v * 3).backward()
    (tv * 3).backward()
    assert float(a.grad) == float(b.grad)


# ----------------------------------------------------------------------------- quantile's method (found)
@pytest.mark.parametrize("fn", ["quantile", "nanquantile", "percentile", "nanpercentile"])
def test_method_and_interpolation_disagreeing_is_refused(fn):
    """found: quantile(x, q, method='lower', interpolation='higher') silently used 'higher'."""
    x = _const([3., 1., 2., 0.])
    q = 40 if "percentile" in fn else 0.4
    with pytest.raises(TypeError, match=f"{fn}: got both method='lower' and interpolation='higher'"):
        getattr(npg, fn)(x, q, method="lower", interpolation="higher")
    expect = np.quantile(x.data, 0.4, method="higher")
    assert float(getattr(npg, fn)(x, q, method="higher", interpolation="higher").data) == expect
    assert float(getattr(npg, fn)(x, q, interpolation="higher").data) == expect


@pytest.mark.parametrize("m", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dt", FLOATS)
def test_quantile_interpolation_keyword_matches_torch(m, dt):
    x = np.random.RandomState(3).randn(3, 5).astype(dt)
    q = [0.1, 0.5, 0.85]
    a = npg.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    r = npg.quantile(a, q, dim=1, keepdim=True, interpolation=m)
    t = torch.quantile(b, torch.tensor(q, dtype=_torch_dtype(dt)), dim=1, keepdim=True, interpolation=m)
    assert r.dtype == dt and r.shape == tuple(t.shape)
    np.testing.assert_allclose(r.data, t.detach().numpy(), **TOL[dt])
    g = np.random.RandomState(4).rand(*r.shape).astype(dt)
    r.backward(npg.tensor(g))
    t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL[dt])


# ----------------------------------------------------------------------------- torch keywords of nanquantile
@pytest.mark.parametrize("keepdim", [False, True])
def test_nanquantile_takes_torch_dim(keepdim):
    """found: npg.nanquantile(x, q, dim=1) raised (only quantile took torch's dim= / keepdim=)."""
    x = np.array([[1., np.nan, 2., 0.5], [np.nan] * 4, [0., 3., 1., np.nan]])
    a = npg.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    r = npg.nanquantile(a, [0.3, 0.5], dim=1, keepdim=keepdim)
    t = torch.nanquantile(b, torch.tensor([0.3, 0.5], dtype=torch.float64), dim=1, keepdim=keepdim)
    assert r.shape == tuple(t.shape)
    np.testing.assert_allclose(r.data, t.detach().numpy(), equal_nan=True)
    g = np.arange(1., r.size + 1).reshape(r.shape)
    r.backward(npg.tensor(g))
    t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad, b.grad.numpy(), equal_nan=True)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("kw", [dict(dim=0), dict(dim=-1, keepdim=True), dict(dim=0, keepdim=True), {}])
@pytest.mark.parametrize("q", [0.3, [0.3, 0.6]])
def test_quantile_of_0d_with_torch_dim(name, kw, q):
    """found: npg.quantile(0-d, [q1, q2], dim=0) failed reshaping the two quantiles to a 0-d result."""
    r = getattr(npg, name)(_const(2.), q, **kw)
    t = getattr(torch, name)(torch.tensor(2., dtype=torch.float64), torch.tensor(q, dtype=torch.float64), **kw)
    assert r.shape == tuple(t.shape)
    np.testing.assert_array_equal(r.data, t.numpy())


# ----------------------------------------------------------------------------- integer / float16 overflow (found)
@pytest.mark.parametrize("dt", [np.int8, np.int16, np.int32])
@pytest.mark.parametrize("m", ["linear", "midpoint", "hazen", "weibull", "averaged_inverted_cdf", "lower"])
@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
def test_signed_int_quantile_does_not_wrap(dt, m, fn):
    """found: quantile(int8 [-128, 127], 0.5) was 127.5 (NumPy's too: the difference 127 - (-128) wraps to -1 in
    int8); the exact quantile is -0.5. The oracle: NumPy on the values as float64."""
    info = np.iinfo(dt)
    x = np.array([[info.min, -5, info.max, 3], [info.max, info.min, info.min, 0]], dt)
    q = [0.3, 0.5, 0.9]
    r = getattr(npg, fn)(_const(x), q, axis=1, method=m)
    expect = getattr(np, fn)(x.astype(np.float64), q, axis=1, method=m)
    np.testing.assert_allclose(r.data, expect, rtol=1e-12)
    assert r.dtype == np.quantile(x, q, axis=1, method=m).dtype   # float64, or the input's for 'lower'


@pytest.mark.parametrize("fn", ["median", "nanmedian"])
def test_float16_median_does_not_overflow(fn):
    """found: median(float16 [6e4, 6.5e4, 6.2e4, 1]) was inf: the two middle values were summed in float16;
    NumPy's median (a mean) sums float16 in float32, giving 61000."""
    x = np.array([[6e4, 6.5e4, 6.2e4, 1.], [-6.5e4, -6e4, -6.2e4, 7.]], np.float16)
    for axis in (None, 1):   # (no NaN, so np.median is nanmedian's oracle: np.nanmedian sums in float16 here)
        r = getattr(npg, fn)(_const(x), axis=axis)
        assert r.dtype == np.float16
        np.testing.assert_array_equal(r.data, np.median(x, axis=axis))
    rnd = (np.random.RandomState(0).randn(30, 6) * 1.5e4).astype(np.float16)
    np.testing.assert_array_equal(getattr(npg, fn)(_const(rnd), axis=1).data, np.median(rnd, axis=1))
    a = npg.tensor(x[0], requires_grad=True)
    getattr(npg, fn)(a).backward()
    np.testing.assert_array_equal(a.grad, np.array([0.5, 0., 0.5, 0.], np.float16))


# ----------------------------------------------------------------------------- msort / unique_consecutive / cummax (found)
def test_msort_of_0d():
    """found: msort of a 0-d tensor raised an AxisError; torch returns it (a copy)."""
    a = npg.tensor(np.float32(3.), requires_grad=True)
    r = npg.msort(a)
    assert r.shape == () and r.dtype == np.float32 and float(r.data) == float(torch.msort(torch.tensor(3.)))
    (r * 2).backward()
    assert float(a.grad) == 2.0


@pytest.mark.parametrize("shape,dim", [((0, 2), 0), ((0, 3, 2), 0), ((2, 0), 1), ((0,), 0)])
def test_unique_consecutive_empty_along_dim(shape, dim):
    """found: unique_consecutive of a (0, 2) tensor along dim 0 raised NumPy's bare reshape error."""
    r = npg.unique_consecutive(npg.zeros(shape), dim=dim, return_inverse=True, return_counts=True)
    t = torch.unique_consecutive(torch.zeros(shape), dim=dim, return_inverse=True, return_counts=True)
    for u, v in zip(r, t):
        assert u.shape == tuple(v.shape)
        np.testing.assert_array_equal(u.data, v.numpy())


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cum_extreme_of_bool(fn, dim):
    """found: cummax / cummin refused bool tensors; torch takes them (False < True, the last of equal values)."""
    rng = np.random.RandomState(1)
    for _ in range(5):
        x = rng.rand(3, 6) > 0.5
        v, i = getattr(npg, fn)(_const(x), dim)
        tv, ti = getattr(torch, fn)(torch.tensor(x), dim)
        assert v.dtype == np.bool_
        np.testing.assert_array_equal(v.data, tv.numpy())
        np.testing.assert_array_equal(i.data, ti.numpy())


# ----------------------------------------------------------------------------- edges that hold (regression)
@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("x", [[2., 0., 3., 4.], [0., 2., 0., 3.], [0., 0., 0.], [1.5, -2., 0.5, 0.]])
def test_cumprod_zeros_first_and_second_derivative(dt, x):
    """cumprod with one, two or only zeros: gradient and second derivative as torch's."""
    _second_order(lambda a: npg.cumprod(a, axis=0), lambda b: torch.cumprod(b, 0), np.array(x, dt), dt)


@pytest.mark.parametrize("dt", FLOATS)
def test_logcumsumexp_with_minus_inf(dt):
    """-inf entries after a finite one, and a row of a large value: values and gradient as torch's (a NaN where
    torch's is: the -inf prefix)."""
    x = np.array([[0., -np.inf, 1.], [-np.inf, 2., 1.], [80., 80., -80.]], dt)
    a = npg.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    r, t = npg.logcumsumexp(a, 1), torch.logcumsumexp(b, 1)
    assert r.dtype == dt
    np.testing.assert_allclose(r.data, t.detach().numpy(), **TOL[dt])
    g = np.arange(1., 10.).reshape(3, 3).astype(dt)
    r.backward(npg.tensor(g))
    t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad, b.grad.numpy(), equal_nan=True, **TOL[dt])


def _second_order(fn, tfn, x, dt):
    """fn's gradient (with create_graph) and the gradient of a function of it, in x and in the cotangent, as
    torch's."""
    rng = np.random.RandomState(7)
    a, b = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = fn(a), tfn(b)
    gw = np.asarray(rng.rand(*ty.shape) + 0.5, dtype=dt)
    g, tg = npg.tensor(gw, requires_grad=True), torch.tensor(gw, requires_grad=True)
    (da,) = npg.autograd.grad(y, a, g, create_graph=True)
    (db,) = torch.autograd.grad(ty, b, tg, create_graph=True)
    assert da.dtype == dt
    np.testing.assert_allclose(da.data, db.detach().numpy(), **TOL[dt])
    w = rng.rand(*x.shape).astype(dt)
    s = (da * da * npg.tensor(w)).sum() + (npg.sin(a) * da).sum()
    ts = (db * db * torch.tensor(w)).sum() + (torch.sin(b) * db).sum()
    ga, gg = npg.autograd.grad(s, [a, g])
    tga, tgg = torch.autograd.grad(ts, [b, tg])
    np.testing.assert_allclose(ga.data, tga.numpy(), **TOL[dt])
    np.testing.assert_allclose(gg.data, tgg.numpy(), **TOL[dt])


_X = np.array([[0.3, -1.2, 2.0, 0.7], [1.1, 0.4, -0.5, 2.2], [0.0, 1.5, -2.0, 0.9]])
_SECOND = {
    "sort_desc": (lambda a: a.sort(dim=1, descending=True, stable=True)[0],
                  lambda b: b.sort(dim=1, descending=True, stable=True)[0]),
    "topk": (lambda a: npg.topk(a, 2, dim=1)[0], lambda b: torch.topk(b, 2, dim=1)[0]),
    "cumprod": (lambda a: npg.cumprod(a, axis=1), lambda b: torch.cumprod(b, 1)),
    "logcumsumexp": (lambda a: npg.logcumsumexp(a, 1), lambda b: torch.logcumsumexp(b, 1)),
    "cummax": (lambda a: npg.cummax(a, 0)[0], lambda b: torch.cummax(b, 0)[0]),
    "quantile": (lambda a: npg.quantile(a, [0.3, 0.5], axis=1),
                 lambda b: torch.quantile(b, torch.tensor([0.3, 0.5], dtype=b.dtype), dim=1)),
    "median_dim": (lambda a: npg.median(a, dim=0)[0], lambda b: torch.median(b, dim=0)[0]),
}


@pytest.mark.parametrize("name", sorted(_SECOND))
@pytest.mark.parametrize("dt", FLOATS)
def test_second_derivatives(name, dt):
    fn, tfn = _SECOND[name]
    _second_order(fn, tfn, _X.astype(dt), dt)


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
def test_cum_extreme_ties_and_nan_against_torch(fn):
    """Ties (torch: the last of equal values) and NaN (propagates, the last NaN's index): indices and gradient."""
    x = np.array([[2., 2., 1., 2., 3., 3.], [1., np.nan, 0., np.nan, 5., 1.]])
    a, b = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (v, i), (tv, ti) = getattr(npg, fn)(a, 1), getattr(torch, fn)(b, 1)
    np.testing.assert_array_equal(i.data, ti.numpy())
    np.testing.assert_array_equal(v.data, tv.detach().numpy())
    g = np.arange(1., 13.).reshape(2, 6)
    v.backward(npg.tensor(g))
    tv.backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad, b.grad.numpy())


@pytest.mark.parametrize("m", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_ties_and_nan_gradient_against_torch(m):
    """Ties and a NaN in a row: torch.(nan)quantile's values and gradients (which tied element gets it)."""
    x = np.array([[1., 2., 2., 2., 0.5], [3., np.nan, 3., 1., 3.], [1., 1., 1., 1., 1.]])
    for fn in ("quantile", "nanquantile"):
        a, b = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        r = getattr(npg, fn)(a, [0.25, 0.5, 0.8], axis=1, method=m)
        t = getattr(torch, fn)(b, torch.tensor([0.25, 0.5, 0.8], dtype=torch.float64), dim=1, interpolation=m)
        np.testing.assert_allclose(r.data, t.detach().numpy(), equal_nan=True)
        g = np.arange(1., 10.).reshape(3, 3)
        r.backward(npg.tensor(g))
        t.backward(torch.tensor(g))
        np.testing.assert_allclose(a.grad, b.grad.numpy(), equal_nan=True)


def test_numpy_sort_and_quantile_of_nan_inf_match_numpy():
    """NaN sorts last, +-inf in place; quantile / median of a slice holding NaN is NaN, as NumPy."""
    x = np.array([[np.nan, 1., -np.inf, np.inf, 0.], [2., np.inf, np.inf, 1., -1.]])
    np.testing.assert_array_equal(npg.sort(_const(x), axis=1).data, np.sort(x, axis=1))
    np.testing.assert_array_equal(npg.sort(_const(x), axis=None).data, np.sort(x, axis=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for q in (0.0, 0.3, 0.5, 1.0):
            for m in ("linear", "midpoint", "nearest", "hazen"):
                np.testing.assert_array_equal(npg.quantile(_const(x), q, axis=1, method=m).data,
                                              np.quantile(x, q, axis=1, method=m))
                np.testing.assert_array_equal(npg.nanquantile(_const(x), q, axis=-1, method=m).data,
                                              np.nanquantile(x, q, axis=-1, method=m))
        np.testing.assert_array_equal(npg.median(_const(x), axis=1, keepdims=True).data,
                                      np.median(x, axis=1, keepdims=True))


@pytest.mark.parametrize("kth,err", [(5, ValueError), ([0, 7], ValueError), (1.5, TypeError), (-4, ValueError)])
def test_partition_bad_kth_names_the_op(kth, err):
    """found: partition's out-of-range / non-int kth raised NumPy's bare message (no op named)."""
    with pytest.raises(err):
        np.partition(np.array([3., 1., 2.]), kth)
    with pytest.raises(err, match="^partition: "):
        npg.partition(_const([3., 1., 2.]), kth)


@pytest.mark.parametrize("kth", [1, [0, 2], -1, (0, 1)])
@pytest.mark.parametrize("axis", [0, -1, None])
def test_partition_kth_values_and_gradient(kth, axis):
    """The kth positions hold NumPy's values; the gradient goes back to the chosen elements (a permutation)."""
    x = np.array([[3., 1., 2.], [0.5, 4., -1.], [2., 2., 7.]])
    a = npg.tensor(x, requires_grad=True)
    r = npg.partition(a, kth, axis=axis)
    e = np.partition(x, kth, axis=axis)
    idx = (slice(None),) * (r.ndim - 1) + (np.asarray(kth),)
    np.testing.assert_array_equal(np.moveaxis(r.data, 0 if axis == 0 else -1, -1)[idx],
                                  np.moveaxis(e, 0 if axis == 0 else -1, -1)[idx])
    np.testing.assert_array_equal(np.sort(r.data, axis=axis), np.sort(x, axis=axis))
    g = np.arange(1., r.size + 1).reshape(r.shape)
    r.backward(npg.tensor(g))
    np.testing.assert_array_equal(np.sort(np.asarray(a.grad).reshape(-1)), np.sort(g.reshape(-1)))
