"""NumPy's differences: ``diff`` (with ``prepend``/``append``), ``ediff1d`` and ``gradient`` (uniform and
non-uniform spacing, ``edge_order`` 1 and 2), composed from slicing, concatenation and arithmetic, so each
gradient, and its own gradient, comes from those ops' VJPs.
"""
import numpy as np

from ..tensor import Tensor
from ._util import as_input, axis_key as _sl, is_batched, normalize_axis, normalize_one_axis, \
    one_or_tuple as _one_or_tuple
from .shape import broadcast_to, concatenate, ravel, reshape

_NO = object()  # "argument not given" (None can be a value)


def _edge_piece(value, a, ax, where):
    if isinstance(value, float) and a.dtype.kind == "f":
        value = np.asarray(value, dtype=a.dtype)  # a Python float is weak (NEP 50): it keeps a's dtype
    value = as_input(value, where)
    if value.ndim == 0:
        shape = a.shape[:ax] + (1,) + a.shape[ax + 1:]
        value = broadcast_to(value, shape)
    return value


def diff(a, n=1, axis=-1, prepend=_NO, append=_NO):
    """The ``n``-th discrete difference along ``axis``, as ``np.diff`` (with ``prepend``/``append``)."""
    a = as_input(a, "diff")
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got {n}")
    if a.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = normalize_one_axis(axis, a.ndim, "diff")
    if prepend is not _NO or append is not _NO:
        parts = [a]
        if prepend is not _NO:
            parts.insert(0, _edge_piece(prepend, a, ax, "diff"))
        if append is not _NO:
            parts.append(_edge_piece(append, a, ax, "diff"))
        a = concatenate(parts, axis=ax)
    for _ in range(n):
        hi, lo = a[_sl(ax, 1)], a[_sl(ax, None, -1)]
        a = hi != lo if a.dtype == bool else hi - lo
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened ``ary``, with optional
    ``to_begin`` / ``to_end`` values, as ``np.ediff1d``."""
    flat = ravel(as_input(ary, "ediff1d"))
    parts = [flat[1:] - flat[:-1]]
    for name, end in (("to_begin", to_begin), ("to_end", to_end)):
        if end is None:
            continue
        end = ravel(as_input(end, "ediff1d"))
        if not np.can_cast(end.dtype, flat.dtype, casting="same_kind"):   # NumPy's rule; the result has ary's dtype
            raise TypeError(f"ediff1d: dtype of {name} ({end.dtype}) must be compatible with input ary's "
                            f"({flat.dtype}) under the 'same_kind' rule")
        end = end.astype(flat.dtype) if end.dtype != flat.dtype else end
        parts.insert(0 if name == "to_begin" else len(parts), end)
    return concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def _spacing(d, n, where):
    """One axis's spacing for ``gradient``: a scalar, or the differences of 1-D coordinates (a scalar
    again when uniform, as NumPy)."""
    if (d.ndim if isinstance(d, Tensor) else np.ndim(d)) == 0:
        return d, True
    d = as_input(d, where)
    if d.ndim != 1:
        raise ValueError(f"{where}: distances must be either scalars or 1-D, got shape {d.shape}")
    if d.shape[0] != n:
        raise ValueError(f"{where}: when 1-D, distances must match the length of the corresponding dimension "
                         f"({d.shape[0]} vs {n})")
    if d.dtype.kind in "iu":
        d = d.astype(np.float64)
    dx = d[1:] - d[:-1]
    if not d._requires_grad and not is_batched(d) and dx.size and (dx.data == dx.data[0]).all():
        return dx.data[0], True
    return dx, False


def gradient(f, *varargs, axis=None, edge_order=1):
    """The gradient of sampled values ``f`` by second-order central differences inside and first- or
    second-order one-sided differences at the edges, as ``np.gradient`` (spacings may be scalars or
    coordinate arrays; differentiable in ``f`` and in tensor spacings). Returns one tensor per axis
    (a tuple when there are several)."""
    f = as_input(f, "gradient")
    if f.dtype == bool:
        raise TypeError("gradient: boolean values have no differences (NumPy's boolean subtract is not supported); "
                        "convert them to a number type first")
    if f.dtype.kind in "iu":
        f = f.astype(np.float64)
    axes = normalize_axis(axis, f.ndim, "gradient") if axis is None else \
        tuple(normalize_one_axis(a, f.ndim, "gradient") for a in ((axis,) if isinstance(axis, int) else axis))
    if len(set(axes)) != len(axes):
        raise ValueError(f"gradient: repeated axis in {axis!r}")
    if edge_order > 2:
        raise ValueError(f"gradient: 'edge_order' greater than 2 not supported, got {edge_order!r}")
    order = 1 if edge_order == 1 else 2        # NumPy: any other edge_order up to 2 (0, 1.5...) is second order
    if not varargs:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and (varargs[0].ndim if isinstance(varargs[0], Tensor) else np.ndim(varargs[0])) == 0:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError(f"gradient: invalid number of arguments ({len(varargs)} spacings for {len(axes)} axes)")
    out = []
    for ax, d in zip(axes, spacings):
        n = f.shape[ax]
        if n < order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                             f"(edge_order + 1) elements are required (axis {ax} has {n})")
        dx, uniform = _spacing(d, n, "gradient")
        g = _gradient_axis(f, ax, dx, uniform, order)
        if g.dtype != f.dtype and g.dtype.kind == f.dtype.kind:   # NumPy's result has f's dtype (float32 stays)
            g = g.astype(f.dtype)
        out.append(g)
    return _one_or_tuple(out)


def _gradient_axis(f, ax, dx, uniform, edge_order):
    def at(i, j=None):
        return f[_sl(ax, i, j)]

    def along(v):  # 1-D coefficients broadcast along axis ax
        return reshape(v, (-1,) + (1,) * (f.ndim - ax - 1))
    if uniform:
        inner = (at(2, None) - at(None, -2)) / (2.0 * dx)
    else:
        dx1, dx2 = dx[:-1], dx[1:]
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        inner = along(a) * at(None, -2) + along(b) * at(1, -1) + along(c) * at(2, None)
    if edge_order == 1:
        d0, dn = (dx, dx) if uniform else (dx[0], dx[-1])
        first = (at(1, 2) - at(0, 1)) / d0
        last = (at(-1, None) - at(-2, -1)) / dn
    else:
        if uniform:
            a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
        else:
            dx1, dx2 = dx[0], dx[1]
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
        first = a * at(0, 1) + b * at(1, 2) + c * at(2, 3)
        if uniform:
            a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
        else:
            dx1, dx2 = dx[-2], dx[-1]
            a = dx2 / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * at(-3, -2) + b * at(-2, -1) + c * at(-1, None)
    return concatenate([first, inner, last], axis=ax)
