"""Statistics: weighted averages, covariance and correlation, peak-to-peak, the NaN-ignoring
reductions, 1-D convolution/correlation, linear interpolation and ``cumulative_sum``.

All are compositions of differentiable ops (arithmetic, ``where``, reductions, gathers), following
NumPy's own formulas step by step, so values match NumPy and gradients (of any order) come from
the VJPs of those ops. A NaN the ``nan*`` functions ignore gets a zero gradient.
"""
import warnings

import numpy as np

from ..tensor import _F16, Tensor, _wrap
from ._util import (all_values, as_input, batching_rule, cast_for, integer_dtype_moment, normalize_axis,
                    normalize_one_axis, refuse_out, zero_d_axis)
from .complex import conj, imag, real
from .elementwise import clip, sqrt, where
from .index import getitem
from .reduce import cumprod, cumsum, max as _max, min as _min, prod, sum as _sum
from .shape import concatenate, pad as _pad, reshape, squeeze, transpose


def _float(x):
    """Integer and bool inputs compute in float64, as NumPy's statistics do."""
    return x.astype(np.float64) if x.dtype.kind in "biu" else x


def _wide(x):
    """``_float(x)``, with float16 computed in float32, as torch's reductions: a float16 count, sum of weights or
    sum of squares overflows past 65504 (nanmean of 70,000 float16 numbers was 0, nanvar NaN, cov's diagonal inf)."""
    return x.astype(np.float32) if x.dtype == _F16 else _float(x)


def _narrow(r, half):
    """A result computed by ``_wide`` in float32, cast back to float16 when the inputs were."""
    return r.astype(_F16) if half and r.dtype != _F16 else r


# ------------------------------------------------------------------------------ averages
@batching_rule("average")
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted average over ``axis``, as ``np.average``; ``weights`` have ``a``'s shape, or its shape
    along ``axis`` (an int or a tuple, as NumPy 2). With ``returned=True``, also the sum of the weights. Differentiable in
    ``a`` and in tensor weights; float16 is computed in float32 (a float16 sum of weights overflows past 65504)."""
    a = as_input(a, "average")
    if weights is not None and a.dtype == _F16:
        w = as_input(weights, "average")
        if w.dtype == _F16 or w.dtype.kind in "biu":
            r = average(a.astype(np.float32), axis, w.astype(np.float32) if w.dtype == _F16 else w, returned,
                        keepdims=keepdims)
            return tuple(_narrow(t, True) for t in r) if returned else _narrow(r, True)
    a = _float(a)
    axes = normalize_axis(axis, a.ndim, "average")
    if weights is None:
        avg = a.mean(axis=axes, keepdims=keepdims)
        scl = np.full(avg.shape, float(np.prod([a.shape[i] for i in axes])), dtype=avg.dtype)
        return (avg, _wrap(scl)) if returned else avg
    w = as_input(weights, "average")
    if w.shape != a.shape:
        if axis is None:
            raise TypeError("average: axis must be specified when shapes of a and weights differ")
        given = tuple(int(i) % a.ndim for i in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        if w.shape != tuple(a.shape[i] for i in given):   # (NumPy 2: weights along the axes, in their order)
            raise ValueError(f"average: weights of shape {w.shape} differ from a's shape {a.shape} and are not "
                             f"its shape along axis {axis}")
        w = transpose(w, tuple(np.argsort(given))) if w.ndim > 1 else w
        w = reshape(w, tuple(s if i in given else 1 for i, s in enumerate(a.shape)))
    scl = _sum(w * np.ones(a.shape, dtype=np.result_type(a.dtype, w.dtype)), axis=axes, keepdims=keepdims)
    if np.any(all_values(scl) == 0.0):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = _sum(a * w, axis=axes, keepdims=keepdims) / scl
    return (avg, scl) if returned else avg


def ptp(a, axis=None, out=None, keepdims=False):
    """Range (maximum minus minimum) over ``axis``, as ``np.ptp``; tied extremes share the gradient."""
    if out is not None:
        raise TypeError("ptp: out= is not supported for Tensors")
    a = as_input(a, "ptp")
    return _max(a, axis=axis, keepdims=keepdims) - _min(a, axis=axis, keepdims=keepdims)


# ------------------------------------------------------------------- covariance, correlation
def _rows(x, rowvar, dtype, name, is_y=False):
    """``x`` as a 2-D tensor with one variable per row. With ``rowvar=False`` NumPy transposes ``m`` unless
    it is 1-D (so a (1, N) ``m`` holds N variables of one observation each), but ``y`` unless its 2-D form
    has a single row."""
    x = as_input(x, name)
    if x.ndim > 2:
        raise ValueError(f"{name}: {'y' if is_y else 'm'} has more than 2 dimensions (shape {x.shape})")
    flip = not rowvar and (x.ndim != 1 if not is_y else x.ndim == 2 and x.shape[0] != 1)
    x = reshape(x, (1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x
    x = x.astype(dtype) if dtype is not None else _wide(x)
    return transpose(x) if flip else x


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """Covariance matrix of the variables in the rows (columns if ``rowvar=False``) of ``m`` (and
    ``y``), with optional frequency and analytic weights, as ``np.cov``; differentiable. Float16 data gives float16,
    as torch.cov (NumPy's is float64), computed in float32 (torch's own float16 diagonal overflows to inf)."""
    if ddof is not None and ddof != int(ddof):
        raise ValueError("cov: ddof must be integer")
    half = dtype is None and np.dtype(getattr(m, "dtype", None) or np.asarray(m).dtype) == _F16 and (
        y is None or np.dtype(getattr(y, "dtype", None) or np.asarray(y).dtype) == _F16)
    X = _rows(m, rowvar, dtype, "cov")
    if X.shape[0] == 0:
        return _wrap(np.zeros((0, 0), dtype=X.dtype))
    if y is not None:
        X = concatenate([X, _rows(y, rowvar, dtype, "cov", is_y=True)], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        fw = np.asarray(fweights.data if isinstance(fweights, Tensor) else fweights)  # (a batched one: the loop)
        if fw.ndim > 1 or fw.shape[0] != X.shape[1] or not np.all(fw == np.around(fw)) or np.any(fw < 0):
            raise ValueError("cov: fweights must be a 1-D array of non-negative integers, one per observation")
        w = fw.astype(X.dtype)  # (NumPy computes in float64 here; a float32 tensor stays float32)
    if aweights is not None:
        aw = as_input(aweights, "cov")
        if aw.ndim > 1 or aw.shape[0] != X.shape[1] or np.any(all_values(aw) < 0):
            raise ValueError("cov: aweights must be a 1-D array of non-negative values, one per observation")
        w = aw if w is None else aw * w
    if w is None:
        avg = X.mean(axis=1)
        fact = X.shape[1] - ddof
    else:
        avg, w_sum = average(X, axis=1, weights=w, returned=True)
        w_sum = w_sum[0]
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * _sum(w * aweights) / w_sum
    if np.any(all_values(fact) <= 0):
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = np.float64(0.0)  # as NumPy: the result is inf / nan
    Xc = X - reshape(avg, (-1, 1))
    Xw = Xc * w if w is not None else Xc
    c = Xc @ transpose(conj(Xw))   # (conj: complex data, as NumPy; the operator: no import of the contraction module, which may move)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c * (1.0 / fact) if not isinstance(fact, Tensor) else c / fact
    return _narrow(squeeze(c), half)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients, as ``np.corrcoef`` (and ``torch.corrcoef``: the covariance
    scaled by the standard deviations, clipped to [-1, 1]); differentiable."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = sqrt(real(getitem(c, (np.arange(c.shape[0]), np.arange(c.shape[0])))))
    c = c / reshape(d, (-1, 1))
    c = c / reshape(d, (1, -1))
    if c.dtype.kind == "c":  # NumPy clips the real and imaginary parts apart
        return clip(real(c), -1.0, 1.0) + clip(imag(c), -1.0, 1.0) * 1j
    return clip(c, -1.0, 1.0)


# -------------------------------------------------------------------- NaN-ignoring reductions
def _nan_mask(a):
    return np.isnan(a.data) if a.dtype.kind in "fc" else np.zeros(a.shape, bool)


def _filled(a, value, name):
    a = as_input(a, name)
    mask = _nan_mask(a)
    return (where(mask, value, a) if mask.any() else a), mask


@batching_rule("axis_all")
def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    """Sum treating NaN as zero, as ``np.nansum``; NaNs get a zero gradient."""
    refuse_out("nansum", out)
    filled, _ = _filled(a, 0.0, "nansum")    # before any cast: NaN cast to an integer dtype is garbage
    return _sum(filled, axis=axis, keepdims=keepdims, dtype=dtype)


def _count(mask, axis, keepdims, dtype):
    return (~mask).sum(axis=axis, keepdims=keepdims).astype(dtype)


@batching_rule("axis_all")
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """Mean ignoring NaNs (NaN for an all-NaN slice), as ``np.nanmean``; differentiable; float16 is computed in
    float32 (its count overflows past 65504)."""
    refuse_out("nanmean", out)
    axis = zero_d_axis(axis, np.ndim(getattr(a, "data", a)))  # (NumPy's: axis 0 or -1 of a 0-d input)
    r = integer_dtype_moment("nanmean", a, dtype, axis=axis, keepdims=keepdims)
    if r is not None:
        return r
    a = cast_for("nanmean", a, dtype)
    a = as_input(a, "nanmean")
    filled, mask = _filled(_wide(a), 0.0, "nanmean")
    axes = normalize_axis(axis, filled.ndim, "nanmean")
    cnt = _count(mask, axes, keepdims, filled.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _narrow(_sum(filled, axis=axes, keepdims=keepdims) / cnt, a.dtype == _F16)


@batching_rule("axis_all")
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Variance ignoring NaNs, with ``ddof``, as ``np.nanvar``; differentiable; float16 is computed in float32 (its
    count and sum of squares overflow past 65504)."""
    refuse_out("nanvar", out)
    axis = zero_d_axis(axis, np.ndim(getattr(a, "data", a)))  # (NumPy's: axis 0 or -1 of a 0-d input)
    r = integer_dtype_moment("nanvar", a, dtype, axis=axis, ddof=ddof, keepdims=keepdims)
    if r is not None:
        return r
    a = cast_for("nanvar", a, dtype)
    inexact = np.asarray(getattr(a, "data", a)).dtype.kind in "fc"
    a = as_input(a, "nanvar")
    half = a.dtype == _F16
    a = _wide(a)
    axes = normalize_axis(axis, a.ndim, "nanvar")
    filled, mask = _filled(a, 0.0, "nanvar")
    cnt = _count(mask, axes, True, a.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _sum(filled, axis=axes, keepdims=True) / cnt
        dev = where(mask, 0.0, a - mean) if mask.any() else a - mean
        sq = dev * dev if dev.dtype.kind != "c" else real(dev * conj(dev))   # |dev|^2, real (as NumPy)
        dof = cnt.real - ddof
        var = _sum(sq, axis=axes, keepdims=True) / np.maximum(dof, 0)
        if np.any(dof <= 0) and inexact:  # NumPy: NaN where the degrees of freedom are <= 0 (ints: np.var's inf)
            warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=2)
            var = where(dof <= 0, np.nan, var)
    return _narrow(var if keepdims else squeeze(var, axis=axes) if axes else var, half)


@batching_rule("axis_all")
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Standard deviation ignoring NaNs, as ``np.nanstd``; differentiable. Where it is 0 (the slice's numbers
    are all equal) its gradient is 0, as ``std``'s and PyTorch's (sqrt's derivative there is inf: it gave NaN)."""
    refuse_out("nanstd", out)
    r = integer_dtype_moment("nanstd", a, dtype, axis=axis, ddof=ddof, keepdims=keepdims)
    if r is not None:
        return r
    var = nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    zero = var == 0
    return where(zero, 0, sqrt(where(zero, 1, var)))


def _nan_extreme(name, reduce, fill):
    @batching_rule("axis_all")
    def fn(a, axis=None, out=None, keepdims=False):
        refuse_out(name, out)
        filled, mask = _filled(a, fill, name)
        result = reduce(filled, axis=axis, keepdims=keepdims)
        all_nan = np.all(mask, axis=axis, keepdims=keepdims) if mask.size else np.zeros(result.shape, bool)
        if np.any(all_nan):
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=2)
            result = where(all_nan, np.nan, result)
        return result
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"``np.{name}``: the {name[3:]}imum ignoring NaNs (NaN for an all-NaN slice); tied extremes share "
                  f"the gradient evenly, NaNs get none.")
    return fn


nanmax = _nan_extreme("nanmax", _max, -np.inf)
nanmin = _nan_extreme("nanmin", _min, np.inf)


@batching_rule("axis_all")
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False):
    """Product treating NaN as one, as ``np.nanprod``; differentiable."""
    refuse_out("nanprod", out)
    filled, _ = _filled(a, 1.0, "nanprod")   # NaN first, then NumPy's dtype= (the accumulation and result type)
    return prod(filled, axis=axis, keepdims=keepdims, dtype=dtype)


@batching_rule("axis_flatten")
def nancumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum treating NaN as zero, as ``np.nancumsum``; differentiable."""
    refuse_out("nancumsum", out)
    filled, _ = _filled(a, 0.0, "nancumsum")
    return cumsum(filled, axis=axis, dtype=dtype)


@batching_rule("axis_flatten")
def nancumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product treating NaN as one, as ``np.nancumprod``; differentiable."""
    refuse_out("nancumprod", out)
    filled, _ = _filled(a, 1.0, "nancumprod")
    return cumprod(filled, axis=axis, dtype=dtype)


def _cumulative(name, op, identity):
    def fn(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        refuse_out(name, out)
        x = as_input(x, name)
        if axis is None:
            if x.ndim > 1:
                raise ValueError(f"{name}: axis must be given for a tensor of more than one dimension "
                                 f"(shape {x.shape})")
            axis = 0
        if x.ndim == 0:
            x = reshape(x, (1,))  # as NumPy: a 0-d input is one element
        ax = normalize_one_axis(axis, x.ndim, name)
        res = op(x, axis=ax, dtype=dtype)  # dtype is the result's too (bool, int32: not int64)
        if include_initial:
            first = np.full(x.shape[:ax] + (1,) + x.shape[ax + 1:], identity, dtype=res.dtype)
            res = concatenate([first, res], axis=ax)
        return res
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``np.{name}`` (NumPy 2.1's array-API name): ``include_initial`` prepends the identity."
    return fn


cumulative_sum = _cumulative("cumulative_sum", cumsum, 0)
cumulative_prod = _cumulative("cumulative_prod", cumprod, 1)


# ----------------------------------------------------------- 1-D convolution, interpolation
def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D sequences, ``c[k] = sum_n a[n + k] * v[n]``, as
    ``np.correlate`` (modes 'valid', 'same', 'full'; ``v`` conjugated when complex); differentiable in both."""
    return _correlate(as_input(a, "correlate"), conj(as_input(v, "correlate")), mode, "correlate")


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences, as ``np.convolve`` (modes 'full', 'same',
    'valid'); differentiable in both."""
    a, v = as_input(a, "convolve"), as_input(v, "convolve")
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError(f"convolve: inputs must be 1-D, got shapes {a.shape} and {v.shape}")
    a, v = reshape(a, (-1,)), reshape(v, (-1,))
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    return _correlate(a, v[::-1], mode, "convolve")


def _correlate(a, v, mode, name):
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError(f"{name}: inputs must be 1-D, got shapes {a.shape} and {v.shape}")
    a, v = reshape(a, (-1,)), reshape(v, (-1,))
    n, m = a.shape[0], v.shape[0]
    if n == 0 or m == 0:
        raise ValueError(f"{name}: inputs cannot be empty (shapes {a.shape} and {v.shape})")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"{name}: mode must be one of 'valid', 'same', 'full', not {mode!r}")
    padded = _pad(a, ((m - 1, m - 1),))
    windows = getitem(padded, (np.arange(n + m - 1)[:, None] + np.arange(m),))   # (n + m - 1, m)
    full = windows @ v
    if mode == "full":
        return full
    if mode == "valid":
        lo, length = (m - 1, n - m + 1) if n >= m else (n - 1, m - n + 1)
    else:  # 'same': NumPy centres the max(n, m) values in the full output this way
        lo, length = ((m - 1) // 2 if n >= m else n // 2), max(n, m)
    return full[lo:lo + length]


@batching_rule("interp")
def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the points (``xp``, ``fp``) at ``x``, as ``np.interp``
    (``left``/``right`` beyond the ends, ``period`` for periodic ``xp``); differentiable in ``x``,
    ``xp`` and ``fp`` (and in tensor ``left``/``right``)."""
    x, xp, fp = as_input(x, "interp"), as_input(xp, "interp"), as_input(fp, "interp")
    if xp.ndim != 1 or fp.ndim != 1 or xp.shape != fp.shape:
        raise ValueError(f"interp: xp and fp must be 1-D sequences of the same length, got shapes {xp.shape} "
                         f"and {fp.shape}")
    if xp.shape[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    for name, v in (("x", x), ("xp", xp)):
        if v.dtype.kind == "c":
            raise TypeError(f"interp: {name} must be real (NumPy casts it to float64), got {v.dtype}")
    for name, v in (("left", left), ("right", right)):
        if v is not None and (v.ndim if isinstance(v, Tensor) else np.ndim(v)):
            raise TypeError(f"interp: {name} must be a scalar, got shape "
                            f"{np.shape(v.data if isinstance(v, Tensor) else v)}")
        if v is not None and fp.dtype.kind != "c" and np.iscomplexobj(v.data if isinstance(v, Tensor) else v):
            raise TypeError(f"interp: {name} = {v!r} is complex but fp is real ({fp.dtype})")
    x, xp, fp = _float(x), _float(xp), _float(fp)
    if period is not None:
        if period == 0:
            raise ValueError("interp: period must be a non-zero value")
        period = abs(period)
        x = x % period
        xp = xp % period
        order = np.argsort(xp.data, kind="stable")
        xp, fp = xp[order], fp[order]
        xp = concatenate([xp[-1:] - period, xp, xp[0:1] + period])
        fp = concatenate([fp[-1:], fp, fp[0:1]])
        left = right = None
    k = xp.shape[0]
    if k == 1:
        res = fp[0] + x * 0.0
        if np.isnan(x.data).any():             # NumPy: neither below nor above the one point, so fp[0]
            res = where(np.isnan(x.data), fp[0], res)
    else:
        j = np.clip(np.searchsorted(xp.data, x.data, side="right") - 1, 0, k - 2)
        x0, x1, f0, f1 = xp[j], xp[j + 1], fp[j], fp[j + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (f1 - f0) / (x1 - x0)
            res = slope * (x - x0) + f0
            bad = np.isnan(res.data) & ~np.isnan(x.data)
            if bad.any():                      # NumPy's fallbacks for infinite fp: from the right end, then fp[j]
                res = where(bad, slope * (x - x1) + f1, res)
                res = where(bad & np.isnan(res.data) & (f0.data == f1.data), f0, res)
        at0 = (x.data == x0.data) & (res.data != f0.data)     # NumPy returns fp[i] exactly at xp[i]
        if at0.any():
            res = where(at0, f0, res)
        res = where(x.data == x1.data, f1, res)
    below = x.data < xp.data[0]
    above = x.data > xp.data[-1]
    if below.any():
        res = where(below, fp[0] if left is None else left, res)
    if above.any():
        res = where(above, fp[-1] if right is None else right, res)
    return res


# NumPy's where= (and initial= for nansum nanprod nanmax nanmin), as wrappers (npgrad/ops/reduce_where.py)
from .reduce_where import with_where_initial as _wwi  # noqa: E402

nansum, nanprod, nanmax, nanmin = (_wwi(nansum, "nansum", "sum"), _wwi(nanprod, "nanprod", "prod"),
                                   _wwi(nanmax, "nanmax", "max"), _wwi(nanmin, "nanmin", "min"))
nanmean, nanvar, nanstd = (_wwi(nanmean, "nanmean", "mean"), _wwi(nanvar, "nanvar", "var"),
                           _wwi(nanstd, "nanstd", "std"))
