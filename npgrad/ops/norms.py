"""Norms: ``vector_norm`` (one op, with PyTorch's gradient for every ``ord``), ``matrix_norm`` and
``norm`` (every ``ord`` / ``axis`` form of ``np.linalg.norm``), built on it and on ``svdvals``; and
``cond`` (composed of them) and the values-only ``matrix_rank``.

Gradients at the non-smooth points are PyTorch's (``norm_backward`` in FunctionsManual.cpp): the
2-norm of a zero vector has gradient 0 (a subgradient), ``ord=1`` uses ``sign(x)`` (0 at 0), the
max/min norms split the gradient evenly between tied entries, ``ord=0`` has gradient 0.
"""
import math

import numpy as np

from ..tensor import Tensor, _make, _wrap
from ._matrix import lapack, matrix_arg
from ._util import (all_values, as_input, batching_rule, data_of, in_graph, normalize_axis, normalize_one_axis,
                    number_arg, unreduce)
from .decomp import svdvals
from .elementwise import abs as _abs, where
from .reduce import _weighted_sum_jvp, any_out_of_range, max as _max, min as _min, out_of_range, sum as _sum
from .shape import expand_dims, moveaxis


def _sgn(x):
    """sign(x), and x / |x| (0 at 0) for complex x (PyTorch's sgn; npgrad's sign is real-only)."""
    if np.dtype(x.dtype).kind != "c":
        return np.sign(x)
    a = np.abs(x)
    return x / np.where(a == 0, 1, a)


def _vector_norm_vjp(ord, axes, keepdims):
    def vjp(g, y, x):
        g = unreduce(g, x.shape, axes, keepdims)
        n = unreduce(y, x.shape, axes, keepdims)
        if ord == 0:
            return np.zeros(x.shape, dtype=g.dtype)
        if ord == 1:
            return _sgn(x) * g
        if ord == 2:   # x / n, and 0 for a zero vector (where x is 0 too); the ratio first: 1 / n overflows
            return x / np.where(n == 0, 1, n) * g   # for a subnormal n (float32 x = [3e-45, 4e-45] gave inf)
        if math.isinf(ord):  # the entries that attain the max (min) share the gradient
            mask = np.abs(x) == n
            count = np.sum(mask, axis=axes, keepdims=True)
            return _sgn(x) * g * mask / count
        # sign(x) (|x| / n)^(p-1): the ratio first, as |x|^(p-1) and n^(p-1) apart overflow or underflow where
        # the gradient is finite (float32 p = 3, x = [3e-20, 4e-20] gave [9e-40, 1.6e-39] instead of [0.44, 0.79])
        if ord < 1:    # 0 where x == 0 (its ratio replaced by 1: 0^(p-1) is inf), and 0 for a zero norm: with
            # ord < 0 one zero entry makes it 0 whatever the others, and PyTorch's factor n^(1-p) is 0 there (the
            # ratio alone gave the other entries |x|^(p-1): [3, 0, 2] with ord -2 had gradient [-0.037, 0, -0.125])
            safe = np.where(x == 0, 1, np.abs(x))
            return np.where(n == 0, 0, _sgn(x) * (safe / np.where(n == 0, 1, n)) ** (ord - 1) * g)
        return _sgn(x) * (np.abs(x) / np.where(n == 0, 1, n)) ** (ord - 1) * g
    return vjp


def _rescaled(xd, out, ord, axes):
    """``out``, the ``ord``-norm NumPy computed, recomputed as ``m * norm(x / m)`` (m the largest ``|x|`` of the
    slice) where it is out of range for a slice of finite, not all zero entries: the powers ``|x|^p`` NumPy
    sums underflow or overflow where the norm is finite (float32 x = [3e-30, 4e-30] gave 0, not 5e-30; [3e20,
    4e20] gave inf, not 5e20; float64 [3e-160, 4e-160] lost 6 digits; torch.linalg.vector_norm too). A single
    pass over the result when nothing is out of range."""
    if xd.size == 0 or not any_out_of_range(out, ord):
        return out
    bad = out_of_range(out, ord)
    m = np.max(np.abs(xd), axis=axes, keepdims=True)
    fine = np.isfinite(m) & (m > 0)   # (all zeros: 0 is right; an inf or NaN entry: NumPy's inf or NaN is)
    ms = np.where(fine, m, 1)
    scaled = np.linalg.vector_norm(xd / ms, axis=axes, keepdims=True, ord=ord) * ms
    return np.where(bad & fine.reshape(np.shape(out)), scaled.reshape(np.shape(out)), out)


@batching_rule("axis_all")
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector ``ord``-norm over ``axis`` (all axes when None, any tuple of axes), as
    ``np.linalg.vector_norm``: ``ord`` is any number, ``inf`` or ``-inf`` (0 counts non-zeros). ``ord`` may
    be a 0-d Tensor that requires grad (finite and positive): the norm is then differentiable in it."""
    if ord.__class__ is not int and ord.__class__ is not float and isinstance(ord, Tensor):
        if in_graph(ord):
            return _tensor_ord_norm(x, ord, axis, keepdims)
        ord = number_arg(ord, "vector_norm", "ord")
    xd = np.asarray(data_of(x, "vector_norm"))
    if isinstance(ord, str) or ord is None:
        raise ValueError(f"vector_norm: ord must be a number, inf or -inf, not {ord!r}")
    ord = float(ord)
    axes = normalize_axis(axis, xd.ndim, "vector_norm")
    # float16 in float32, as torch: NumPy sums float16 powers in float16 (along a strided axis of 70,000 normals
    # the 2-norm was 48% off)
    xw = xd.astype(np.float32) if xd.dtype == np.float16 else xd
    out = np.linalg.vector_norm(xw, axis=axes if axis is not None else None, keepdims=keepdims, ord=ord)
    if ord > 0 and ord != 1 and not math.isinf(ord):   # (ord 1 and inf: no powers to overflow)
        out = _rescaled(xw, np.asarray(out), ord, axes)
    if xw is not xd:
        out = np.asarray(out).astype(xd.dtype)
    vjp = _vector_norm_vjp(ord, axes, keepdims)
    return _make(np.asarray(out), "vector_norm", (x,), (xd,), (vjp,), _weighted_sum_jvp(vjp, axes, keepdims))


def _tensor_ord_norm(x, ord, axis, keepdims):
    """vector_norm with a Tensor ``ord`` (``p``) in a graph, composed of npgrad ops so the gradient reaches
    it: ``m * sum((|x| / m)^p)^(1/p)``, exact for any constant ``m > 0``; ``m`` is the largest ``|x|`` (no
    overflow of the powers), 1 for a zero vector."""
    if ord.ndim != 0:
        raise TypeError(f"vector_norm: ord must be a number or a 0-d Tensor, got a Tensor of shape {ord.shape}")
    p = all_values(ord)
    if not np.all(np.isfinite(p) & (p > 0)):
        raise ValueError(f"vector_norm: an ord that requires grad must be finite and positive (where the norm is "
                         f"differentiable in it), got {ord}; pass a number for inf, 0 or negative orders")
    x = as_input(x, "vector_norm")
    if np.dtype(x.dtype).kind not in "fc":
        x = x.astype(np.float64)
    axes = normalize_axis(axis, x.ndim, "vector_norm")
    a = _abs(x)
    p = ord.astype(a.dtype)
    if any(x.shape[i] == 0 for i in axes):  # an empty sum: the norm is 0 (and so is its gradient in p)
        out = _sum(a, axis=axes, keepdims=True) * p
    else:
        m = _max(a, axis=axes, keepdims=True).detach()
        m = where(m > 0, m, 1.0)
        t = _sum((a / m) ** p, axis=axes, keepdims=True)
        nz = t > 0  # a zero vector: norm 0 with gradient 0 (PyTorch's subgradient), not 0^(1/p)'s inf * 0
        out = m * where(nz, where(nz, t, 1.0) ** (1.0 / p), 0.0)
    return out if keepdims else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


_MATRIX_ORDS = ("fro", "f", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def _matrix_norm(x, ord, row, col, keepdims, op):
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"{op}: invalid norm order {ord!r} for matrices (use one of 'fro', 'nuc', 1, -1, 2, -2, "
                         f"inf, -inf)")
    x = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    if np.dtype(x.dtype).kind not in "fc":   # integers and bools: float64, as NumPy (not sums in the int dtype)
        x = x.astype(np.float64)
    if ord in ("fro", "f"):
        out = vector_norm(x, axis=(row, col), ord=2)
    else:
        m = moveaxis(x, (row, col), (-2, -1))
        if ord == "nuc":
            out = _sum(svdvals(m), axis=-1)
        else:
            if ord in (2, -2):
                v = svdvals(m)
            elif ord in (1, -1):    # max / min column sum
                v = _sum(_abs(m), axis=-2)
            else:                   # max / min row sum
                v = _sum(_abs(m), axis=-1)
            # the max norms of an empty matrix are 0 (NumPy's initial=0, PyTorch's too); the min norms raise
            reduce = _max if ord > 0 else _min
            out = _sum(v, axis=-1) if ord > 0 and v.shape[-1] == 0 else reduce(v, axis=-1)
    return expand_dims(out, (row, col)) if keepdims else out


@batching_rule("leading")
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm of the last two axes, as ``np.linalg.matrix_norm``: ``ord`` 'fro', 'nuc',
    1, -1, 2, -2, inf, -inf (2 / -2 / 'nuc' through the singular values)."""
    nd = matrix_arg(x, "matrix_norm", complex_ok=True).ndim
    return _matrix_norm(x, ord, nd - 2, nd - 1, keepdims, "matrix_norm")


@batching_rule("norm")
def norm(x, ord=None, axis=None, keepdims=False):
    """Matrix or vector norm, as ``np.linalg.norm``: ``axis`` None (the whole array: the 2-norm of
    its elements when ``ord`` is None, else a vector norm of a 1-D or a matrix norm of a 2-D
    input), an int (vector norms) or a pair of axes (matrix norms)."""
    xd = np.asarray(data_of(x, "norm"))
    nd = xd.ndim
    if axis is None:
        if ord is None:
            return vector_norm(x, axis=None, keepdims=keepdims, ord=2)
        if nd not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, got shape {xd.shape}")
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (int(axis),)
        except TypeError:
            raise TypeError(f"norm: axis must be an int or a tuple of ints, got {axis!r}") from None
    axes = tuple(normalize_one_axis(a, nd, "norm") for a in axis)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
        return vector_norm(x, axis=axes, keepdims=keepdims, ord=2 if ord is None else ord)
    if len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError(f"norm: duplicate axes {axis}")
        return _matrix_norm(x, "fro" if ord is None else ord, axes[0], axes[1], keepdims, "norm")
    raise ValueError(f"norm: axis must name one or two axes, got {axis!r}")


@batching_rule("leading")
def cond(x, p=None):
    """Condition number, as ``np.linalg.cond``, differentiable as ``torch.linalg.cond``: the ratio of the
    extreme singular values for ``p`` None / 2 / -2, else ``norm(x, p) * norm(inv(x), p)``. Where NumPy's
    value is not that composition's (a singular matrix: NumPy's inf), the value is NumPy's, a constant (for that
    matrix alone: the others of a batch keep their gradients)."""
    xd = matrix_arg(x, "cond", complex_ok=True)
    with lapack("cond", xd.shape):
        ref = np.asarray(np.linalg.cond(xd, p))
    finite = np.isfinite(ref)
    if not np.any(finite):
        return _wrap(ref)
    x = x if isinstance(x, Tensor) else _wrap(xd)
    if not np.all(finite):  # the singular matrices replaced by identities (their values: NumPy's, below)
        x = where(finite[..., None, None], x, np.eye(xd.shape[-1], dtype=xd.dtype))
    if p in (None, 2, -2):
        s = svdvals(x)
        out = s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    else:
        from .linalg import inv
        out = norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))
    if not np.all(finite):
        out = where(finite, out, ref)
    return out.astype(ref.dtype) if out.dtype != ref.dtype else out


@batching_rule("leading")
def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """Rank by the SVD, as ``np.linalg.matrix_rank``: an integer tensor (no gradient)."""
    Ad = np.asarray(data_of(A, "matrix_rank"))
    with lapack("matrix_rank", Ad.shape):
        return _wrap(np.asarray(np.linalg.matrix_rank(Ad, tol, hermitian, rtol=rtol)))
