"""Sorting and selection: sort, partition, topk, kthvalue, and the order statistics median,
quantile and percentile (with their NaN-ignoring forms).

Each is a permutation or selection of the input, so each is written as a NumPy ``argsort`` /
``argpartition`` (no gradient) followed by a differentiable gather (``take_along_axis``): the
gradient goes to the elements chosen, exactly as in PyTorch, and is itself differentiable. Ties
are ordered stably (by position), as ``torch.sort(stable=True)``; NaN sorts last, as the largest
value (PyTorch's convention too).
"""
import math
import operator

import numpy as np

from ..tensor import Tensor, _wrap
from ._util import as_input, batching_rule, named_error, normalize_axis, normalize_one_axis
from .elementwise import real_only_error, where
from .index import take_along_axis
from .shape import moveaxis, reshape


def _argsort(xd, axis, descending=False):
    """Stable ascending order along ``axis``; descending keeps tied elements in their original
    order too (and puts NaN first), as ``torch.sort(descending=True, stable=True)``."""
    if not descending:
        return np.argsort(xd, axis=axis, kind="stable")
    n = xd.shape[axis]
    rev = np.argsort(np.flip(xd, axis), axis=axis, kind="stable")
    return np.flip(n - 1 - rev, axis)


@batching_rule("axis_flatten")
def sort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """Sorted copy of ``a`` along ``axis`` (the flattened tensor when None), as ``np.sort``; the
    gradient goes back to each value's original position. ``descending=True`` as ``torch.sort``."""
    if order is not None:
        raise ValueError("sort: order= (structured arrays) is not supported for Tensors")
    if kind is not None or stable is not None:   # (the sort is always stable; the arguments are checked as NumPy)
        try:
            np.sort(np.zeros(0), kind=kind, stable=stable)
        except ValueError as e:
            raise ValueError(f"sort: {e}") from None
    a = as_input(a, "sort")
    if axis is None:
        a, axis = reshape(a, -1), 0
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"sort: axis {axis} is out of bounds for a 0-d tensor")
    ax = normalize_one_axis(axis, a.ndim, "sort")
    return take_along_axis(a, _argsort(a.data, ax, descending), ax)


@batching_rule("axis_flatten")
def argsort_stable(a, axis=-1, descending=False):
    """The (stable) sorting permutation of ``a`` along ``axis``, as an int64 tensor."""
    a = as_input(a, "argsort")
    if axis is None:
        return _wrap(_argsort(a.data.reshape(-1), 0, descending))
    ax = normalize_one_axis(axis, a.ndim, "argsort")
    return _wrap(_argsort(a.data, ax, descending))


@batching_rule("axis_flatten")
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``a`` rearranged so the element at each ``kth`` position is the one a sort would put there,
    smaller ones before it and larger ones after, as ``np.partition``; differentiable."""
    if order is not None:
        raise ValueError("partition: order= (structured arrays) is not supported for Tensors")
    a = as_input(a, "partition")
    if axis is None:
        a, axis = reshape(a, -1), 0
    ax = normalize_one_axis(axis, a.ndim, "partition")
    try:
        idx = np.argpartition(a.data, kth, axis=ax, kind=kind)
    except (TypeError, ValueError) as e:   # (a kth out of range or not an int: NumPy's message, named)
        raise named_error("partition", e) from None
    return take_along_axis(a, idx, ax)


def _int_k(k, name):
    """``k`` of topk / kthvalue as an int; a float or a bool is refused, as torch (never truncated)."""
    try:
        if isinstance(k, (bool, np.bool_)):
            raise TypeError
        return operator.index(k)
    except TypeError:
        raise TypeError(f"{name}: k must be an int, got {k!r}") from None


@batching_rule("topk")
def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, as ``torch.topk``:
    ``(values, indices)``, values differentiable, indices an int64 tensor. Tied elements are taken
    in order of position (PyTorch leaves their order unspecified); the result is always in sorted
    order (``sorted=False`` allows any order, so it gives the same)."""
    x = as_input(x, "topk")
    if np.dtype(x.dtype).kind == "c":  # (torch: not implemented for complex; NumPy's order would be lexicographic)
        raise real_only_error("topk", x.dtype)
    k = _int_k(k, "topk")
    if x.ndim == 0:  # as torch: a 0-d tensor is its own top-1 (dims 0 and -1)
        normalize_one_axis(dim, 1, "topk")
        if k != 1:
            raise ValueError(f"topk: k ({k}) is out of range for a 0-d tensor")
        from .arrays import copy   # (a copy, as torch's: not a view that a write would carry back into x)
        return copy(x), _wrap(np.zeros((), np.int64))
    ax = normalize_one_axis(dim, x.ndim, "topk")
    n = x.shape[ax]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k}) is out of range for dimension {dim} of size {n} (shape {x.shape})")
    order = _argsort(x.data, ax, descending=largest)
    idx = np.take(order, np.arange(k), axis=ax).astype(np.int64)
    return take_along_axis(x, idx, ax), _wrap(idx)


@batching_rule("topk")
def kthvalue(x, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index, as ``torch.kthvalue``:
    ``(values, indices)``; the gradient goes to that element. Among ties, the first by position."""
    x = as_input(x, "kthvalue")
    if np.dtype(x.dtype).kind == "c":  # (torch: not implemented for complex; NumPy's order would be lexicographic)
        raise real_only_error("kthvalue", x.dtype)
    k = _int_k(k, "kthvalue")
    if x.ndim == 0:   # (dims 0 and -1, as torch)
        normalize_one_axis(dim, 1, "kthvalue")
        x1 = reshape(x, (1,))
        v, i = kthvalue(x1, k, 0, keepdim=True)
        return reshape(v, ()), _wrap(i.data.reshape(()))
    ax = normalize_one_axis(dim, x.ndim, "kthvalue")
    n = x.shape[ax]
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k ({k}) is out of range for dimension {dim} of size {n} (shape {x.shape})")
    idx = np.take(_argsort(x.data, ax), [k - 1], axis=ax).astype(np.int64)
    values = take_along_axis(x, idx, ax)
    if not keepdim:
        values, idx = reshape(values, values.shape[:ax] + values.shape[ax + 1:]), np.squeeze(idx, ax)
    return values, _wrap(idx)


# ----------------------------------------------------------------------- order statistics
_METHODS = ("linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
            "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
            "normal_unbiased")
_DISCRETE = ("lower", "higher", "nearest", "inverted_cdf", "closest_observation")   # a gather, no interpolation
_HF = _METHODS[5:]
_ALPHA_BETA = dict(interpolated_inverted_cdf=(0.0, 1.0), hazen=(0.5, 0.5), weibull=(0.0, 0.0),
                   median_unbiased=(1 / 3, 1 / 3), normal_unbiased=(3 / 8, 3 / 8))


def _hyndman_fan(method, qf, count, last):
    """``(lo, hi, t)`` of NumPy's H&F methods other than the five classic ones, as its ``_quantile``: the
    discontinuous ones pick an order statistic, the others interpolate at a virtual index clipped to the ends."""
    if method in ("inverted_cdf", "closest_observation"):
        idx = count * qf - (1.0 if method == "inverted_cdf" else 1.5)
        prev = np.floor(idx)
        exact = idx == prev
        if method == "closest_observation":   # (the nearest even order statistic, 1-based, at a tie)
            exact &= prev % 2 == 1
        lo = np.clip(np.where(exact, prev, prev + 1), 0, last)
        return lo, lo, np.zeros_like(idx)
    if method == "averaged_inverted_cdf":
        virtual = count * qf - 1.0
    else:
        alpha, beta = _ALPHA_BETA[method]
        virtual = count * qf + (alpha + qf * (1.0 - alpha - beta)) - 1.0
    prev = np.floor(virtual)
    t = virtual - prev
    if method == "averaged_inverted_cdf":
        t = np.where(t == 0, 0.5, 1.0)
    lo = np.where(virtual >= last, last, np.where(virtual < 0, 0, prev))
    hi = np.where(virtual >= last, last, np.where(virtual < 0, 0, prev + 1))
    return lo, hi, t


def _q_array(q, name, scale=1.0):
    if isinstance(q, Tensor):
        if q._requires_grad:
            raise TypeError(f"{name}: not differentiable in q (PyTorch's quantile is not either); pass "
                            f"q.detach() or plain numbers")
        q = q.data
    qd = np.asarray(q, dtype=np.float64) / scale
    if not np.all((qd >= 0) & (qd <= 1)):
        raise ValueError(f"{name}: {'percentiles' if scale != 1.0 else 'quantiles'} must be in the range "
                         f"[0, {'100' if scale != 1.0 else '1'}], got {np.asarray(q).tolist()}")
    return qd


def _method(method, interpolation, name):
    """The quantile method: ``method=`` or PyTorch's spelling ``interpolation=``; both, differing, are refused
    (never one of them silently ignored)."""
    if interpolation is None:
        return method
    if method != "linear" and method != interpolation:
        raise TypeError(f"{name}: got both method={method!r} and interpolation={interpolation!r} (PyTorch's "
                        f"spelling of method=); pass one")
    return interpolation


def _order_stat(a, qd, axis, method, keepdims, ignore_nan, name):
    """Quantiles ``qd`` of ``a`` over ``axis`` by NumPy's rules, as a gather from the sorted values
    plus a linear interpolation: the result has shape ``qd.shape + reduced shape``."""
    if method not in _METHODS:
        raise ValueError(f"{name}: method {method!r} is not supported (one of {_METHODS})")
    a = as_input(a, name)
    if a.dtype.kind == "c" and "median" not in name:    # NumPy sorts complex values for a median only
        raise TypeError(f"{name}: a must be an array of real numbers, got {a.dtype}")
    if a.dtype == bool:
        if "median" not in name:    # (NumPy's own interpolation fails on bools, or not, depending on q)
            raise TypeError(f"{name}: boolean input is not supported; convert it to a number type first")
        a = a.astype(np.float64)     # np.median of booleans: the float64 mean of the middle values
    axes = normalize_axis(axis, a.ndim, name)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    n = math.prod(a.shape[i] for i in axes)
    if n == 0 and not ignore_nan and "median" not in name:   # as NumPy (and torch.quantile): no value to read
        raise IndexError(f"{name}: cannot take a quantile over an empty axis (shape {a.shape}, axis {axis})")
    lead = tuple(a.shape[i] for i in kept)
    flat = reshape(moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim))) if axes else a, lead + (n,))
    srt = sort(flat, axis=-1) if n else flat
    nq = qd.size
    qf = qd.reshape(-1)
    if ignore_nan:
        count = (~np.isnan(flat.data)).sum(axis=-1, keepdims=True)      # lead + (1,)
    else:
        count = np.full(lead + (1,), n)
    last = np.maximum(count - 1, 0)
    virtual = qf * last                                                 # lead + (nq,)
    if method == "lower":
        lo = hi = np.floor(virtual)
    elif method == "higher":
        lo = hi = np.ceil(virtual)
    elif method == "nearest":
        lo = hi = np.around(virtual)
    elif method in _HF:
        lo, hi, t = _hyndman_fan(method, qf, count, last)
    else:
        lo, hi = np.floor(virtual), np.minimum(np.floor(virtual) + 1, last)
    if method not in _HF:
        t = virtual - lo
    if method == "midpoint":
        t = np.where(t > 0, 0.5, 0.0)
    lo, hi = lo.astype(np.intp), hi.astype(np.intp)
    if n == 0:
        out = _wrap(np.full(lead + (nq,), np.nan, dtype=a.dtype if a.dtype.kind in "fc" else np.float64))
    else:
        below = take_along_axis(srt, lo, -1)
        if method in _DISCRETE:
            out = below
        elif "median" in name:   # NumPy's median is the mean of the middle value(s), not an interpolation
            if srt.dtype.kind not in "fc":  # (inf * 0 would make median([1, 2, inf]) nan); ints average in float64
                below = below.astype(np.float64)
            # (float16 sums in float32, as NumPy's mean: median([6e4, 6.5e4]) is not inf)
            wide = np.float32 if below.dtype == np.float16 else below.dtype
            mid = (below.astype(wide) + take_along_axis(srt, hi, -1).astype(wide)) * 0.5
            out = where(t > 0, mid.astype(below.dtype), below)
        else:
            above = take_along_axis(srt, hi, -1)
            if srt.dtype.kind == "i" and srt.dtype.itemsize < 8:   # the difference in int64: NumPy's int8
                below, above = below.astype(np.int64), above.astype(np.int64)   # 127 - (-128) wraps to -1
            if srt.dtype.kind in "fc":   # (complex64 interpolates in float32, as NumPy: the result stays complex64)
                t = t.astype(np.finfo(srt.dtype).dtype)
            d = above - below
            out = where(t >= 0.5, above - d * (1.0 - t), below + d * t)   # NumPy's _lerp, exactly
        empty = count == 0 if ignore_nan else np.isnan(srt.data[..., -1:])  # an all-NaN / any-NaN slice
        if empty.any():  # NaN, read from a NaN element so the gradient reaches it, as torch.(nan)quantile: the
            nan_at = np.full(lead + (1,), 0 if ignore_nan else n - 1, np.intp)   # last sorted, or the first
            out = where(empty, take_along_axis(srt, nan_at, -1).astype(out.dtype), out)
    if keepdims:
        lead = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
    out = reshape(moveaxis(out, -1, 0), qd.shape + lead)
    return out


@batching_rule("quantile")
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
             interpolation=None):
    """The ``q``-th quantiles of ``a`` over ``axis``, as ``np.quantile`` (methods 'linear' (the
    default), 'lower', 'higher', 'nearest', 'midpoint', as ``torch.quantile``, and NumPy's other H&F methods
    'inverted_cdf' ... 'normal_unbiased'); differentiable in ``a``: the gradient goes to the one or two order
    statistics each quantile reads."""
    if out is not None:
        raise TypeError("quantile: out= is not supported for Tensors")
    method = _method(method, interpolation, "quantile")
    return _order_stat(a, _q_array(q, "quantile"), axis, method, keepdims, False, "quantile")


@batching_rule("quantile")
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
               interpolation=None):
    """The ``q``-th percentiles (0-100) of ``a`` over ``axis``, as ``np.percentile``; differentiable."""
    if out is not None:
        raise TypeError("percentile: out= is not supported for Tensors")
    method = _method(method, interpolation, "percentile")
    return _order_stat(a, _q_array(q, "percentile", 100.0), axis, method, keepdims, False, "percentile")


@batching_rule("axis_all")
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median over ``axis``, as ``np.median`` (the mean of the two middle values for an even count;
    NaN if the slice holds a NaN); differentiable."""
    if out is not None:
        raise TypeError("median: out= is not supported for Tensors")
    return _order_stat(a, np.asarray(0.5), axis, "linear", keepdims, False, "median")


@batching_rule("quantile")
def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                interpolation=None):
    """``quantile`` ignoring NaNs (NaN for an all-NaN slice), as ``np.nanquantile``; differentiable."""
    if out is not None:
        raise TypeError("nanquantile: out= is not supported for Tensors")
    method = _method(method, interpolation, "nanquantile")
    return _order_stat(a, _q_array(q, "nanquantile"), axis, method, keepdims, True, "nanquantile")


@batching_rule("quantile")
def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                  interpolation=None):
    """``percentile`` ignoring NaNs, as ``np.nanpercentile``; differentiable."""
    if out is not None:
        raise TypeError("nanpercentile: out= is not supported for Tensors")
    method = _method(method, interpolation, "nanpercentile")
    return _order_stat(a, _q_array(q, "nanpercentile", 100.0), axis, method, keepdims, True, "nanpercentile")


@batching_rule("axis_all")
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``median`` ignoring NaNs (NaN for an all-NaN slice), as ``np.nanmedian``; differentiable."""
    if out is not None:
        raise TypeError("nanmedian: out= is not supported for Tensors")
    return _order_stat(a, np.asarray(0.5), axis, "linear", keepdims, True, "nanmedian")

