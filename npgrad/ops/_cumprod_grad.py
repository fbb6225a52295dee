"""The derivative rules of ``cumprod`` along one axis, in O(n) (O(n log n) on the differentiable path with zeros).

``y_j = prod_{k <= j} x_k``, so the gradient is ``grad_i = sum_{j >= i} g_j prod_{k <= j, k != i} x_k`` and the
tangent ``dy_j = sum_{i <= j} t_i prod_{k <= j, k != i} x_k``.

* Without a zero along the axis (PyTorch's formulas): ``grad = reverse_cumsum(g * y) / x`` and
  ``dy = y * cumsum(t / x)``.
* With zeros, on the plain backward path (NumPy arrays; PyTorch's split at the first zero ``z``): before ``z``
  the formula above over the entries before ``z``; at ``z``, ``prod_{k < z} x_k * sum_{z <= j < z2} g_j
  prod_{z < k <= j} x_k`` (``z2`` the second zero); after ``z`` nothing (every product holds ``x_z = 0``).
* With zeros, on the differentiable path (Tensors: create_graph, forward mode): that split is exact in value but
  not in derivative (the gradient after ``z`` is 0, its derivative in ``x_z`` is not), so the products are
  written without division as first-order linear recurrences, ``grad_i = L_i R_i`` with ``L_i = prod_{k < i}
  x_k`` and ``R_i = g_i + x_{i+1} R_{i+1}``, ``dy_j = x_j dy_{j-1} + t_j L_j``, each solved by a log-depth scan
  of npgrad ops: exact derivatives of every order, as PyTorch's O(n^2) loop for the same case.
"""
import numpy as np

from ..tensor import _F16, _F32
from ._util import all_values


def _along(ax, ndim, sl):
    """The index tuple taking slice ``sl`` along axis ``ax`` of an ``ndim``-d value."""
    return (slice(None),) * ax + (sl,)


def _rev_cumsum(a, ax):
    """``sum_{j >= i} a_j`` along ``ax`` (an array or a Tensor)."""
    return np.flip(np.cumsum(np.flip(a, ax), ax), ax)


def _shifted(y, ax):
    """``y`` shifted one step along ``ax`` with a 1 in front (``prod_{k < i} x_k`` for ``y = cumprod(x)``)."""
    shape = list(y.shape)
    shape[ax] = 1
    head = np.ones(shape, dtype=y.dtype)
    return np.concatenate([head, y[_along(ax, y.ndim, slice(None, -1))]], axis=ax)


def _scan(a, b, ax):
    """``h_j = a_j h_{j-1} + b_j`` along ``ax`` (``h_{-1} = 0``; ``a_0`` unused) by doubling steps: each step
    folds in the segment ``s`` entries back, so ``log2(n)`` steps of npgrad ops (differentiable in ``a`` and
    ``b``, no division)."""
    n = b.shape[ax]
    s = 1
    while s < n:
        head, hi, lo = (_along(ax, b.ndim, sl) for sl in (slice(None, s), slice(s, None), slice(None, n - s)))
        a_hi = a[hi]
        b = np.concatenate([b[head], b[hi] + a_hi * b[lo]], axis=ax)
        if 2 * s < n:
            a = np.concatenate([a[head], a_hi * a[lo]], axis=ax)
        s *= 2
    return b


def _has_zero(x):
    return bool((all_values(x) == 0).any())


def vjp(g, y, x, ax):
    """The gradient of ``cumprod(x, ax)`` for the output gradient ``g`` (``y`` the output)."""
    if isinstance(g, np.ndarray) and isinstance(x, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):   # (inf / inf, inf * 0: NaN, as torch's)
            return _vjp_arrays(g, y, x, ax)
    if not _has_zero(x):
        return _rev_cumsum(g * y, ax) / x
    a = _shifted(np.flip(x, ax), ax)                                      # x_{i+1}, counted from the end
    r = np.flip(_scan(a, np.flip(g, ax), ax), ax)                         # R_i = g_i + x_{i+1} R_{i+1}
    return _shifted(y, ax) * r


def _vjp_arrays(g, y, x, ax):
    """The plain backward path: PyTorch's O(n) formula, split at the first zero."""
    if x.dtype == _F16:   # (in float32: float16 running products drift, 3% off over 3,000 elements)
        x32 = x.astype(_F32)
        return _vjp_arrays(g.astype(_F32), np.cumprod(x32, axis=ax), x32, ax).astype(_F16)
    if x.shape[ax] == 1:
        return g.copy()   # (as PyTorch: the gradient itself, even at an infinite or NaN x)
    zero = x == 0
    w = g * y
    if not zero.any():
        return _rev_cumsum(w, ax) / x
    count = np.cumsum(zero, axis=ax)
    before = count == 0
    out = np.where(before, _rev_cumsum(np.where(before, w, 0), ax) / np.where(before, x, 1), 0)
    on = count == 1                        # from the first zero z to the second
    first = zero & on
    inner = np.cumprod(np.where(on & ~first, x, 1), axis=ax)                # prod_{z < k <= j} x_k
    tail = np.sum(np.where(on, g, 0) * inner, axis=ax, keepdims=True)      # (an inf between the zeros: NaN, as torch)
    return np.where(first, _shifted(y, ax) * tail, out)


def jvp(t, y, x, ax):
    """The tangent of ``cumprod(x, ax)`` for the input tangent ``t``."""
    if not _has_zero(x):
        return y * np.cumsum(t / x, ax)
    return _scan(x, t * _shifted(y, ax), ax)                            # dy_j = x_j dy_{j-1} + t_j L_j
