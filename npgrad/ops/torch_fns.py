"""PyTorch's top-level functions that NumPy has no name for, with torch's signatures, values, dtypes, gradients
and errors, composed from npgrad's ops (so their gradients, JVPs and batching rules are those ops'):

* ``cdist`` (batched p-norm distances, gradient 0 where a distance is 0, as torch);
* ``cummax`` / ``cummin`` (torch's ``(values, indices)`` named tuples; the gradient goes to the index chosen,
  the last of equal values, a NaN once seen propagates) and ``logcumsumexp`` (stable);
* ``cartesian_prod`` and ``combinations`` (differentiable gathers);
* ``renorm`` (differentiable as torch's);
* ``histc`` and ``bucketize`` (no gradient; ``bucketize``'s ``right`` is ``np.searchsorted``'s side="right").

``torch.pdist`` / ``cosine_similarity`` / ``pairwise_distance`` are npgrad.nn.functional's, exported at the top
level by npgrad/__init__.py. :func:`attach` gives ``Tensor`` the methods torch has of these."""
import collections as _collections
import itertools as _itertools
import math

import numpy as np

from .._batching import batching_rule
from ..tensor import Tensor, _make, _wrap
from . import elementwise as _ew
from ._util import as_input, in_graph, is_batched, normalize_one_axis, number_arg
from .index import take_along_axis
from .reduce import logsumexp
from .shape import moveaxis, reshape, stack

__all__ = ["bucketize", "cartesian_prod", "cdist", "combinations", "cummax", "cummin", "histc",
           "logcumsumexp", "renorm"]

_COMPUTE_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


def _vector_norm(v, p, axis, keepdims=False):
    from ..nn.functional.distance import _vector_norm as vn  # nn imports ops: here at call time
    return vn(v, p, axis, keepdims)


def _is_float(t):
    return np.dtype(t.dtype).kind == "f"


# ------------------------------------------------------------------------------ distances
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The ``p``-norm distances between the rows of ``x1`` (..., P, M) and of ``x2`` (..., R, M): (..., P, R),
    the batch dimensions broadcast, as ``torch.cdist``. ``p`` is any non-negative number or ``inf`` (0 counts the
    differing coordinates, with a zero gradient); the gradient is 0 where a distance is 0. ``compute_mode`` is
    checked and otherwise ignored: the distances are always computed directly (torch's matrix-product form for
    ``p=2`` differs only by rounding)."""
    a, b = as_input(x1, "cdist"), as_input(x2, "cdist")
    for name, t in (("X1", a), ("X2", b)):
        if t.ndim < 2:
            raise ValueError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    for name, t in (("X1", a), ("X2", b)):
        if not _is_float(t):
            raise TypeError(f"cdist only supports floating-point dtypes, {name} got: {t.dtype}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}")
    if a.dtype != b.dtype:
        raise TypeError(f"cdist: expected both inputs of one dtype, got {a.dtype} and {b.dtype}")
    p = number_arg(p, "cdist", "p")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or math.isnan(p):
        raise TypeError(f"cdist: p must be a number, got {p!r}")
    if p < 0:
        raise ValueError("cdist only supports non-negative p values")
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"cdist: the batch dimensions of shapes {a.shape} and {b.shape} do not broadcast") from None
    d = reshape(a, a.shape[:-1] + (1, a.shape[-1])) - reshape(b, b.shape[:-2] + (1,) + b.shape[-2:])
    if a.shape[-1] == 0:
        return d.sum(axis=-1)
    if p == 0:  # a count: no gradient, as torch's zero one
        counts = _vector_norm(d, 0, -1)
        return counts + (d - d.detach()).sum(axis=-1) * 0
    return _vector_norm(d, float(p), -1)


# ------------------------------------------------------------------------------ cumulative
CummaxResult = _collections.namedtuple("cummax", ["values", "indices"])
CumminResult = _collections.namedtuple("cummin", ["values", "indices"])


def _cum_indices(xd, ax, larger):
    """For every position along ``ax``, torch's index of the running extreme: the last of equal values, and
    once a NaN is seen, the last NaN. Vectorized: position ``i`` takes over when its value reaches the running
    extreme of the positions before it (or is NaN); the index is the running maximum of those positions."""
    v = np.moveaxis(np.asarray(xd), ax, -1)
    n = v.shape[-1]
    if n == 0 or v.size == 0:
        return np.moveaxis(np.zeros(v.shape, np.int64), -1, ax)
    run = (np.maximum if larger else np.minimum).accumulate(v, axis=-1)   # (NaN propagates: torch's values)
    take = np.ones(v.shape, bool)
    with np.errstate(invalid="ignore"):
        take[..., 1:] = (v[..., 1:] >= run[..., :-1]) if larger else (v[..., 1:] <= run[..., :-1])
    if v.dtype.kind == "f":
        take |= np.isnan(v)
    idx = np.maximum.accumulate(np.where(take, np.arange(n, dtype=np.int64), 0), axis=-1)
    return np.moveaxis(idx, -1, ax)


def _cum_extreme(x, dim, larger, name):
    x = as_input(x, name)
    if np.dtype(x.dtype).kind == "c":  # (torch: not implemented for complex; NumPy's order would be lexicographic)
        raise _ew.real_only_error(name, x.dtype)
    if x.ndim == 0:
        normalize_one_axis(dim, 1, name)
        from .arrays import copy   # (a copy, as torch's: not a view that a write would carry back into x)
        return copy(x), _wrap(np.zeros((), np.int64))
    ax = normalize_one_axis(dim, x.ndim, name)
    idx = _cum_indices(x.data, ax, larger)   # (bool too, False < True, as torch's)
    return take_along_axis(x, idx, ax), _wrap(idx)


@batching_rule("topk")
def _cummax(x, dim):
    return _cum_extreme(x, dim, True, "cummax")


@batching_rule("topk")
def _cummin(x, dim):
    return _cum_extreme(x, dim, False, "cummin")


def cummax(input, dim):
    """The running maximum along ``dim`` and its indices, as ``torch.cummax``: a ``(values, indices)`` named
    tuple, values differentiable (the gradient goes to the index chosen), indices int64. Among equal values the
    last is chosen; a NaN propagates (its index the last NaN's), as torch."""
    return CummaxResult(*_cummax(input, dim))


def cummin(input, dim):
    """The running minimum along ``dim`` and its indices, as ``torch.cummin`` (see :func:`cummax`)."""
    return CumminResult(*_cummin(input, dim))


@batching_rule("dim")
def logcumsumexp(input, dim):
    """``log(cumsum(exp(input), dim))`` computed stably, as ``torch.logcumsumexp``: a running ``logaddexp``
    (O(n); float16 accumulated in float32). Gradient: ``exp(x_j + revcumlogsumexp(log g - y)_j)``, the positive
    and negative parts of ``g`` apart, so nothing overflows (torch's formula; the same NaNs at -inf inputs).
    Complex inputs take each prefix's ``logsumexp`` (memory the square of the length along ``dim``)."""
    x = as_input(input, "logcumsumexp")
    if not (_is_float(x) or np.dtype(x.dtype).kind == "c"):
        raise TypeError(f"logcumsumexp: expected a floating point input, got {x.dtype}")
    if x.ndim == 0:
        normalize_one_axis(dim, 1, "logcumsumexp")
        return reshape(logcumsumexp(reshape(x, (1,)), 0), ())
    ax = normalize_one_axis(dim, x.ndim, "logcumsumexp")
    n = x.shape[ax]
    if n == 0 or x.size == 0:
        return x * 1
    if np.dtype(x.dtype).kind == "c":
        xm = moveaxis(x, ax, -1)
        prefix = np.tril(np.ones((n, n), bool))               # row k: the entries j <= k
        rows = _ew.where(prefix, reshape(xm, xm.shape[:-1] + (1, n)), -np.inf)
        return moveaxis(logsumexp(rows, axis=-1), -1, ax)

    def vjp(g, y, x):   # (float32: the running sums and x + them in float64, see _lcse)
        lg = np.log(np.abs(g))
        pos = _rev_lcse(np.where(g > 0, lg - y, -np.inf), ax)
        neg = _rev_lcse(np.where(g < 0, lg - y, -np.inf), ax)
        return _as_dtype(np.exp(x + pos) - np.exp(x + neg), x)

    def jvp(t, y, x):   # a -inf input adds exp(-inf) = 0 whatever its tangent, and a -inf output (all its
        lt = np.log(np.abs(t))   # inputs -inf) has tangent 0, as torch's (not -inf - -inf = NaN: the VJP
        live = x > -np.inf       # above feeds its masked -inf entries through here in forward-over-reverse)
        pos = _lcse(np.where((t > 0) & live, x + lt, -np.inf), ax)
        neg = _lcse(np.where((t < 0) & live, x + lt, -np.inf), ax)
        y = np.where(y == -np.inf, 0.0, y)   # (there pos = neg = -inf: exp(-inf - 0) = 0)
        return _as_dtype(np.exp(pos - y) - np.exp(neg - y), x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _as_dtype(_lcse(x.data, ax), x.data)
    return _make(out, "logcumsumexp", (x,), (x.data,), (_quiet(vjp),), (_quiet(jvp),))


def _lcse(a, ax):
    """The running logaddexp of ``a`` along ``ax``: NumPy's accumulate for an array, float16 in float32 (cast
    back) and float32 in float64 (left float64 for the caller to round once), as torch accumulates: each step of
    a float32 running sum rounds at the scale of the sum, so 2,000 inputs near 1e4 gave values 8e-6 and a
    gradient 1.5e-2 off (torch: 9e-8 and 5e-4). The recorded op for a Tensor (create_graph, forward mode)."""
    if isinstance(a, Tensor):
        return logcumsumexp(a, ax)
    if a.dtype == np.float16:
        return np.logaddexp.accumulate(a.astype(np.float32), axis=ax).astype(np.float16)
    if a.dtype == np.float32:
        return np.logaddexp.accumulate(a, axis=ax, dtype=np.float64)
    return np.logaddexp.accumulate(a, axis=ax)


def _as_dtype(r, like):
    """``r`` in the dtype of ``like`` when both are arrays (a float64 result of float32 inputs rounded once);
    Tensors (create_graph, forward mode) as they are."""
    if isinstance(r, Tensor) or isinstance(like, Tensor) or r.dtype == like.dtype:
        return r
    return r.astype(like.dtype)


def _rev_lcse(a, ax):
    """The running logaddexp of ``a`` along ``ax`` from the end."""
    return np.flip(_lcse(np.flip(a, ax), ax), ax)


def _quiet(rule):
    """``rule`` without NumPy's warnings for log(0) and -inf - -inf (their zeros and NaNs are the gradient's)."""
    def quiet(*args):
        with np.errstate(divide="ignore", invalid="ignore"):
            return rule(*args)
    return quiet


# ------------------------------------------------------------------------------ gathers
def cartesian_prod(*tensors):
    """The Cartesian product of 1-D tensors, as ``torch.cartesian_prod``: (N1 * N2 * ..., k), row by row in
    ``itertools.product``'s order (one tensor: itself)."""
    if not tensors:
        raise ValueError("cartesian_prod: expects a non-empty list of tensors")
    xs = [as_input(t, "cartesian_prod") for t in tensors]
    for t in xs:
        if t.ndim != 1:
            raise ValueError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len({np.dtype(t.dtype) for t in xs}) > 1:
        raise TypeError("cartesian_prod: expects all tensors to have the same dtype")
    if len(xs) == 1:
        return xs[0]
    grids = np.meshgrid(*[np.arange(t.shape[0]) for t in xs], indexing="ij")
    return stack([t[g.reshape(-1)] for t, g in zip(xs, grids)], axis=1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements, as ``torch.combinations`` (``itertools``'
    ``combinations`` / ``combinations_with_replacement`` order): (C, r), or (0,) for ``r=0``."""
    x = as_input(input, "combinations")
    if x.ndim != 1:
        raise ValueError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)):
        raise TypeError(f"combinations: r must be an int, got {r!r}")
    if r < 0:
        raise ValueError(f"Expect a non-negative number, but got {r}")
    if r == 0:  # torch's empty constant, not a gather
        return _wrap(np.zeros(0, x.dtype))
    make = _itertools.combinations_with_replacement if with_replacement else _itertools.combinations
    idx = np.array(list(make(range(x.shape[0]), r)), dtype=np.intp).reshape(-1, r)
    return x[idx]


# ------------------------------------------------------------------------------ renorm
def renorm(input, p, dim, maxnorm):
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled to norm ``maxnorm`` (by
    ``maxnorm / (norm + 1e-7)``), as ``torch.renorm``; differentiable through the norm as torch's (and in
    ``p`` and ``maxnorm`` given as 0-d Tensors that require grad)."""
    if not in_graph(p):
        p = number_arg(p, "renorm", "p")
    x = as_input(input, "renorm")
    if x.ndim < 2:
        raise ValueError(f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions")
    if not (_is_float(x) or np.dtype(x.dtype).kind == "c"):
        raise TypeError(f"renorm: expected a floating point input, got {x.dtype}")
    if not p > 0:
        raise ValueError("renorm: non-positive-norm not supported")
    if not maxnorm >= 0:
        raise ValueError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    ax = normalize_one_axis(dim, x.ndim, "renorm")
    others = tuple(i for i in range(x.ndim) if i != ax)
    norm = _vector_norm(x, p if isinstance(p, Tensor) else float(p), others, keepdims=True)
    over = (norm > maxnorm) if is_batched(norm) else (norm.data > maxnorm)
    return x * _ew.where(over, maxnorm / (norm + 1e-7), 1.0)


# ------------------------------------------------------------------------------ no gradient
@batching_rule("histc")
def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal bins over ``[min, max]`` (the data's range when both are equal, widened by
    1 each way if that is a point), as ``torch.histc``: the input's dtype, no gradient; values outside the
    range (and NaN) are left out, a value equal to ``max`` counts in the last bin."""
    x = as_input(input, "histc")
    xd = np.asarray(x.data)
    if not _is_float(x):
        raise TypeError(f"histc: not implemented for {x.dtype} (a floating point input is needed)")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise TypeError(f"histc: bins must be an int, got {bins!r}")
    if bins <= 0:
        raise ValueError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    dt = xd.dtype.type
    lo, hi = dt(min), dt(max)
    if lo > hi:
        raise ValueError("torch.histc: max must be larger than min")
    if lo == hi and xd.size:
        lo, hi = xd.min(), xd.max()
    if lo == hi:
        lo, hi = lo - dt(1), hi + dt(1)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    flat = xd.reshape(-1)
    inside = flat[(flat >= lo) & (flat <= hi)]
    pos = ((inside - lo) * bins / (hi - lo)).astype(np.int64)
    pos[pos >= bins] = bins - 1
    return _wrap(np.bincount(pos, minlength=bins).astype(xd.dtype))


@batching_rule("bucketize")
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The index of the bucket of each value among the sorted 1-D ``boundaries``, as ``torch.bucketize``:
    ``right=False`` gives the ``i`` with ``boundaries[i-1] < v <= boundaries[i]`` (``np.searchsorted``'s
    side="left"), ``right=True`` the ``i`` with ``boundaries[i-1] <= v < boundaries[i]`` (side="right"). int64
    (int32 with ``out_int32``), no gradient; a Python number gives a 0-d tensor."""
    xd = np.asarray(input.data if isinstance(input, Tensor) else input)
    bd = np.asarray(boundaries.data if isinstance(boundaries, Tensor) else boundaries)
    if bd.ndim != 1:
        raise ValueError(f"boundaries tensor must be 1 dimension, but got dim({bd.ndim})")
    out = np.searchsorted(bd, xd, side="right" if right else "left")
    return _wrap(np.asarray(out, np.int32 if out_int32 else np.int64))


def attach(T):
    """Give ``Tensor`` the methods torch has of these: ``x.cummax(dim)``, ``cummin``, ``logcumsumexp``,
    ``renorm``, ``histc``."""
    for name, fn in dict(cummax=cummax, cummin=cummin, logcumsumexp=logcumsumexp, renorm=renorm,
                         histc=histc).items():
        if not hasattr(T, name):
            setattr(T, name, fn)

