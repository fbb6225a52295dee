"""Distances and similarities: ``cosine_similarity``, ``pairwise_distance``, ``pdist``; also the vector
p-norm they share (gradient 0 at a zero vector, as ``torch.linalg.vector_norm``)."""
import math

import numpy as np

from ...ops import elementwise as _ew
from ...ops.complex import conj as _conj, real as _real
from ...ops.norms import vector_norm as _ord_norm
from ...ops._util import as_input, is_batched, normalize_one_axis, number_arg
from ...ops.reduce import any_out_of_range
from ._common import _data, _with_value

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _vector_norm(v, p, axis, keepdims=False):
    """The ``p``-norm of ``v`` along ``axis``: differentiable, with a zero gradient at a zero vector. Where the
    sum of powers leaves the normal range (see npgrad/ops/reduce.py ``out_of_range``: float32 [3e-30, 4e-30] gave
    0 and [3e20, 4e20] inf, not 5e-30 and 5e20; torch's too), ``m * norm(v / m)`` with m the slice's largest
    ``|v|``, a constant (so the gradient is the norm's; the whole norm rescaled, not a select of the two: the
    unscaled branch's gradient would be 0 * inf = NaN)."""
    if p in (0, 1) or math.isinf(p):
        return _unscaled_norm(v, p, axis, keepdims)
    if p < 0:  # one zero entry makes the norm 0, with gradient 0 (torch's); composed of powers it was 0 * inf = NaN
        return _ord_norm(v, axis=axis, keepdims=keepdims, ord=p)
    if is_batched(v):  # inside vmap, where no value can be looked at: rescaled always, for every sample at once
        m = _ew.abs(v).max(axis=axis, keepdims=True).detach()
        ms = _ew.where((m > 0) & (m < math.inf), m, 1)
        return _unscaled_norm(v / ms, p, axis, keepdims) * (ms if keepdims else ms.squeeze(axis))
    n = _unscaled_norm(v, p, axis, keepdims)
    if _data(v).size == 0 or not any_out_of_range(_data(n), p):  # (two reductions of the result)
        return n
    m = np.max(np.abs(_data(v)), axis=axis, keepdims=True)
    ms = np.where(np.isfinite(m) & (m > 0), m, 1).astype(m.dtype)  # (zeros, inf, NaN: 1, unscaled; real: |v|'s)
    return _unscaled_norm(v / ms, p, axis, keepdims) * (ms if keepdims else np.squeeze(ms, axis=axis))


def _unscaled_norm(v, p, axis, keepdims):
    if p == 2:   # |v|^2: v * conj(v) for complex v (v * v sums complex squares)
        sq = _real(v * _conj(v)) if np.dtype(v.dtype).kind == "c" else v * v
        s = sq.sum(axis=axis, keepdims=keepdims)
        if is_batched(s):  # inside vmap: the masked form, for every sample at once
            zero = s == 0
            return _ew.where(zero, 0, _ew.sqrt(_ew.where(zero, 1, s)))
        zero = _data(s) == 0
        if not zero.any():
            return _ew.sqrt(s)
        return _ew.where(zero, 0, _ew.sqrt(_ew.where(zero, 1, s)))
    a = _ew.abs(v)
    if p == 1:
        return a.sum(axis=axis, keepdims=keepdims)
    if p == math.inf:
        return a.max(axis=axis, keepdims=keepdims)
    if p == -math.inf:
        return a.min(axis=axis, keepdims=keepdims)
    if p == 0:
        count = (v != 0).sum(axis=axis, keepdims=keepdims).astype(v.dtype).detach()
        # the count is piecewise constant: PyTorch gives it a zero gradient (the result requires grad, its
        # backward fills zeros); selecting it over a sum of |v| gives that, with no 0 * inf for an infinite entry
        # (count >= 0 always holds: a mask that is also batched inside vmap)
        return _ew.where(count >= 0, count, a.sum(axis=axis, keepdims=keepdims))
    if 0 < p < 1:  # |v|^p has an infinite derivative at 0: a zero entry gets a zero gradient, as torch
        za = (a == 0) if is_batched(a) else (_data(a) == 0)
        s = _ew.where(za, 0, _ew.where(za, 1, a) ** p).sum(axis=axis, keepdims=keepdims)
    else:
        s = (a ** p).sum(axis=axis, keepdims=keepdims)
    if is_batched(s):
        zero = s == 0
        return _ew.where(zero, 0, _ew.where(zero, 1, s) ** (1.0 / p))
    zero = _data(s) == 0
    if not zero.any():
        return s ** (1.0 / p)
    return _ew.where(zero, 0, _ew.where(zero, 1, s) ** (1.0 / p))


def _pair(x1, x2, name):
    a, b = as_input(x1, name), as_input(x2, name)
    for t in (a, b):
        if np.dtype(t.dtype).kind != "f":
            raise TypeError(f"{name}: expected floating point inputs, got {t.dtype}")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: inputs of shapes {a.shape} and {b.shape} do not broadcast") from None
    return a, b, shape


def _clamped(n, eps):
    """``n`` with its value clamped below at ``eps``, its gradient unchanged (inside vmap: ``n`` plus a
    detached correction, for every sample at once)."""
    if is_batched(n):
        return n + (_ew.maximum(n, eps) - n).detach()
    return _with_value(n, np.maximum(n.data, eps))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps))``, broadcasting ``x1`` and ``x2``. As
    PyTorch, each input is divided by its norm first, and the norms are clamped at ``eps`` for the value
    only (the gradient is the unclamped norm's)."""
    eps = number_arg(eps, "cosine_similarity", "eps")
    a, b, shape = _pair(x1, x2, "cosine_similarity")
    ax = normalize_one_axis(dim, max(len(shape), 1), "cosine_similarity")
    if a.shape != shape:
        a = a * np.ones(shape, a.dtype)
    if b.shape != shape:
        b = b * np.ones(shape, b.dtype)
    n1 = _vector_norm(a, 2, ax, keepdims=True)
    n2 = _vector_norm(b, 2, ax, keepdims=True)
    n1, n2 = _clamped(n1, eps), _clamped(n2, eps)
    return ((a / n1) * (b / n2)).sum(axis=ax)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dim (the inputs broadcast), as ``F.pairwise_distance``."""
    a, b, shape = _pair(x1, x2, "pairwise_distance")
    if not shape:  # 0-d inputs: the norm of the one difference, 0-d (PyTorch's norm over dim -1 of a scalar)
        return _vector_norm((a - b + eps).reshape(1), p, 0)
    return _vector_norm(a - b + eps, p, len(shape) - 1, keepdims=keepdim)


def pdist(input, p=2):
    """The ``p``-norm distances between the rows of an (N, M) input: the upper triangle of the distance
    matrix, row by row (N (N - 1) / 2 values)."""
    x = as_input(input, "pdist")
    if np.dtype(x.dtype).kind != "f":   # (complex ones too, as torch: they gave complex "distances")
        raise TypeError(f"pdist: only supports floating-point dtypes, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"pdist: only supports 2D tensors, got {x.ndim}D input of shape {x.shape}")
    if not p >= 0:   # (a negative p is no norm: torch refuses it rather than return a harmonic-like mean)
        raise ValueError(f"pdist: only supports non-negative p values, got p={p}")
    n = x.shape[0]
    i, j = np.triu_indices(n, 1)
    return _vector_norm(x[i] - x[j], p, 1)
