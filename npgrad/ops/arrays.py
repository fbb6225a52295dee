"""NumPy's array helpers (stacking, splitting, rolling, triangles and diagonals, differences, kron,
cross, select, copy), composed from differentiable ops (slicing, concatenation, ``where``,
arithmetic), so each gradient, and its own gradient, comes from those ops' VJPs.
"""
import builtins
import operator

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap
from . import inplace
from ._util import as_input, cast_all, is_batched, normalize_axis, normalize_one_axis
from .elementwise import where
from .index import getitem
from .shape import broadcast_to, concatenate, flip, moveaxis, pad as _pad_constant, ravel, reshape, split, \
    transpose

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

_NO = object()  # "argument not given" (None can be a value)


def _sl(ax, start=None, stop=None, step=None):
    """A key slicing axis ``ax``."""
    return (slice(None),) * ax + (slice(start, stop, step),)


def _inputs(arrays, where):
    if isinstance(arrays, (Tensor, np.ndarray)) and arrays.ndim >= 1:
        arrays = list(arrays)  # as NumPy: an array is the sequence of its rows
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{where}: expected a sequence of tensors/arrays, got {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{where}: need at least one array")
    return [as_input(a, where) for a in arrays]


def _one_or_tuple(results):
    return results[0] if len(results) == 1 else tuple(results)


# --------------------------------------------------------------------------- at least n-D
def atleast_1d(*arys):
    """Each input with at least one dimension (a 0-d tensor becomes shape (1,)), as ``np.atleast_1d``."""
    out = [reshape(a, (1,)) if a.ndim == 0 else a for a in (as_input(a, "atleast_1d") for a in arys)]
    return _one_or_tuple(out)


def atleast_2d(*arys):
    """Each input with at least two dimensions ((n,) becomes (1, n)), as ``np.atleast_2d``."""
    out = [reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a
           for a in (as_input(a, "atleast_2d") for a in arys)]
    return _one_or_tuple(out)


def atleast_3d(*arys):
    """Each input with at least three dimensions ((n,) becomes (1, n, 1), (m, n) becomes (m, n, 1))."""
    out = []
    for a in (as_input(a, "atleast_3d") for a in arys):
        shape = {0: (1, 1, 1), 1: (1,) + a.shape + (1,), 2: a.shape + (1,)}.get(a.ndim, a.shape)
        out.append(reshape(a, shape) if a.ndim < 3 else a)
    return _one_or_tuple(out)


# -------------------------------------------------------------------------------- stacking
def vstack(tup, dtype=None, casting="same_kind"):
    """Stack row-wise (1-D inputs become rows), as ``np.vstack`` (``dtype`` under NumPy's ``casting`` rule)."""
    arrs = cast_all([atleast_2d(a) for a in _inputs(tup, "vstack")], dtype, casting, "vstack")
    return concatenate(arrs, axis=0)


row_stack = vstack


def hstack(tup, dtype=None, casting="same_kind"):
    """Stack column-wise (along axis 1; axis 0 for 1-D inputs), as ``np.hstack`` (``dtype`` under NumPy's
    ``casting`` rule)."""
    arrs = cast_all([atleast_1d(a) for a in _inputs(tup, "hstack")], dtype, casting, "hstack")
    return concatenate(arrs, axis=0 if arrs[0].ndim == 1 else 1)



def dstack(tup):
    """Stack along the third axis (inputs made at least 3-D first), as ``np.dstack``."""
    return concatenate([atleast_3d(a) for a in _inputs(tup, "dstack")], axis=2)


def column_stack(tup):
    """Stack 1-D inputs as columns of a 2-D result (2-D inputs as they are), as ``np.column_stack``."""
    arrs = [reshape(a, (-1, 1)) if a.ndim < 2 else a for a in _inputs(tup, "column_stack")]
    return concatenate(arrs, axis=1)


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended along ``axis`` (both flattened when None), as ``np.append``."""
    arr, values = as_input(arr, "append"), as_input(values, "append")
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


# ------------------------------------------------------------------------------- splitting
def array_split(ary, indices_or_sections, axis=0):
    """Split into a list of tensors, as ``np.array_split``: ``n`` sections need not divide the axis
    (the first ones get one element more), or split at the given indices."""
    ary = as_input(ary, "array_split")
    ax = normalize_one_axis(axis, ary.ndim, "array_split")
    total = ary.shape[ax]
    try:
        sections = operator.index(indices_or_sections)
    except TypeError:
        return split(ary, indices_or_sections, axis=ax)
    if sections <= 0:
        raise ValueError(f"array_split: the number of sections must be larger than 0, got {sections}")
    each, extras = divmod(total, sections)
    sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
    cuts = np.cumsum(sizes).tolist()
    return [ary[_sl(ax, a, b)] for a, b in zip(cuts[:-1], cuts[1:])]


def _split_on(name, axis_of, min_ndim):
    def fn(ary, indices_or_sections):
        ary = as_input(ary, name)
        if ary.ndim < min_ndim:
            raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions, got shape {ary.shape}")
        return split(ary, indices_or_sections, axis=axis_of(ary.ndim))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``np.{name}``: ``split`` along axis {axis_of(3)} (sections must divide it evenly)."
    return fn


hsplit = _split_on("hsplit", lambda nd: 1 if nd > 1 else 0, 1)
vsplit = _split_on("vsplit", lambda nd: 0, 2)
dsplit = _split_on("dsplit", lambda nd: 2, 3)


# ------------------------------------------------------------------------- rolling, rotating
def roll(a, shift, axis=None):
    """Roll elements along ``axis`` (the flattened tensor when None), as ``np.roll``."""
    a = as_input(a, "roll")
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    if shifts.ndim > 1:
        raise ValueError("roll: shift and axis must be ints or 1-D sequences")
    total = {}
    for s, ax in zip(shifts.reshape(-1).tolist(), axes.reshape(-1).tolist()):
        ax = normalize_one_axis(ax, a.ndim, "roll")
        total[ax] = total.get(ax, 0) + s
    out = a
    for ax, s in total.items():
        n = a.shape[ax]
        if n == 0 or s % n == 0:
            continue
        s %= n
        out = concatenate([out[_sl(ax, n - s)], out[_sl(ax, None, n - s)]], axis=ax)
    return copy(out) if out is a else out  # a copy even when nothing moves, as np.roll's (never ``a`` itself)


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start``, as ``np.rollaxis`` (prefer moveaxis)."""
    a = as_input(a, "rollaxis")
    n = a.ndim
    axis = normalize_one_axis(axis, n, "rollaxis")
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"rollaxis: start {start} is out of bounds for a tensor of dimension {n}")
    start = start + n if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return transpose(a, axes)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, as ``np.rot90``."""
    m = as_input(m, "rot90")
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2")
    if m.ndim < 2:
        raise ValueError(f"rot90: the tensor must be at least 2-D, got shape {m.shape}")
    a0, a1 = (normalize_one_axis(a, m.ndim, "rot90") for a in axes)
    if a0 == a1:
        raise ValueError(f"rot90: axes must be different, got {axes}")
    k %= 4
    if k == 0:
        return m[...]
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return transpose(flip(m, a1), perm) if k == 1 else flip(transpose(m, perm), a1)


def fliplr(m):
    """Reverse the order along axis 1, as ``np.fliplr``."""
    m = as_input(m, "fliplr")
    if m.ndim < 2:
        raise ValueError(f"fliplr: the tensor must be at least 2-D, got shape {m.shape}")
    return flip(m, 1)


def flipud(m):
    """Reverse the order along axis 0, as ``np.flipud``."""
    m = as_input(m, "flipud")
    if m.ndim < 1:
        raise ValueError("flipud: the tensor must be at least 1-D")
    return flip(m, 0)


# ------------------------------------------------------------------- triangles and diagonals
def tril(m, k=0):
    """Lower triangle of the last two axes (zeros above the ``k``-th diagonal), as ``np.tril``."""
    m = as_input(m, "tril")
    return where(np.tri(*m.shape[-2:], k=k, dtype=bool), m, np.zeros((), m.dtype))  # (a bool m stays bool)


def triu(m, k=0):
    """Upper triangle of the last two axes (zeros below the ``k``-th diagonal), as ``np.triu``."""
    m = as_input(m, "triu")
    return where(np.tri(*m.shape[-2:], k=k - 1, dtype=bool), np.zeros((), m.dtype), m)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the ``(axis1, axis2)`` planes, appended as the last axis, as
    ``np.diagonal``: NumPy's read-only view of ``a``'s memory (a later write into ``a`` shows through it, and
    its gradient follows, as for every view; writing through it raises, as in NumPy)."""
    a = as_input(a, "diagonal")
    if a.ndim < 2:
        raise ValueError(f"diagonal: the tensor must be at least 2-D, got shape {a.shape}")
    ax1 = normalize_one_axis(axis1, a.ndim, "diagonal")
    ax2 = normalize_one_axis(axis2, a.ndim, "diagonal")
    if ax1 == ax2:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same ({axis1}, {axis2})")
    moved = moveaxis(a, (ax1, ax2), (-2, -1))
    n, m = moved.shape[-2:]
    length = builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else builtins.min(n + offset, m))
    rows = np.arange(length) + builtins.max(0, -offset)
    out = getitem(moved, (Ellipsis, rows, rows + offset))  # the gradient, JVP and batching rule: getitem's
    if type(out) is Tensor:  # (not a batched tensor under vmap)
        out.data = np.diagonal(a.data, offset, ax1, ax2)   # the same values, as NumPy's read-only view
        inplace.view_of(out, a, lambda b: np.diagonal(b, offset, ax1, ax2))
    return out


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """Sum along a diagonal, as ``np.trace``."""
    d = diagonal(a, offset, axis1, axis2)
    out = d.sum(axis=-1)
    return out if dtype is None else out.astype(dtype)


def diag(v, k=0):
    """A 2-D tensor with the 1-D ``v`` on its ``k``-th diagonal, or the ``k``-th diagonal of a 2-D
    ``v``, as ``np.diag``."""
    v = as_input(v, "diag")
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {v.shape}")
    m = v.shape[0] + builtins.abs(k)
    padded = _pad_constant(v, ((0, builtins.abs(k)),))
    col = reshape(padded, (m, 1) if k >= 0 else (1, m))  # row i holds v[i] (k >= 0), column j v[j] (k < 0)
    return where(np.eye(m, m, k, dtype=bool), col, np.zeros((), v.dtype))


def diagflat(v, k=0):
    """A 2-D tensor with the flattened ``v`` on its ``k``-th diagonal, as ``np.diagflat``."""
    return diag(ravel(as_input(v, "diagflat")), k)


# ----------------------------------------------------------------------------- differences
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


# ------------------------------------------------------------------------ products, choices
def kron(a, b):
    """Kronecker product, as ``np.kron``: blocks of ``b`` scaled by the elements of ``a``."""
    a, b = as_input(a, "kron"), as_input(b, "kron")
    nd = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    prod = reshape(a, tuple(v for n in sa for v in (n, 1))) * reshape(b, tuple(v for n in sb for v in (1, n)))
    return reshape(prod, tuple(x * y for x, y in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, giving the z component) along the given axes,
    broadcasting the others, as ``np.cross``."""
    a, b = as_input(a, "cross"), as_input(b, "cross")
    if axis is not None:
        axisa = axisb = axisc = axis
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("cross: inputs must be at least 1-D")
    a = moveaxis(a, normalize_one_axis(axisa, a.ndim, "cross"), -1)
    b = moveaxis(b, normalize_one_axis(axisb, b.ndim, "cross"), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), "
                         f"got shapes {a.shape} and {b.shape} along the vector axis")
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    a2 = a[..., 2] if a.shape[-1] == 3 else 0.0
    b2 = b[..., 2] if b.shape[-1] == 3 else 0.0
    parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0]
    shape = np.broadcast_shapes(*(p.shape for p in parts))
    out = concatenate([reshape(broadcast_to(p, shape), shape + (1,)) for p in parts], axis=-1)
    return moveaxis(out, -1, normalize_one_axis(axisc, out.ndim, "cross"))


def select(condlist, choicelist, default=0):
    """From ``choicelist``, the element of the first choice whose condition holds (``default`` where
    none does), as ``np.select``."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if not choicelist:
        raise ValueError("select with an empty condition list is not possible")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
        if c.dtype != bool:
            raise TypeError(f"select: invalid entry in condlist: should be boolean ndarray, got {c.dtype}")
        out = where(c, choice, out)
    return out


def copy(a, order="K", subok=False):
    """A copy of ``a`` with its own memory, as ``np.copy``; the gradient passes through."""
    if _tm._VMAP:
        r = _tm._vmap_call("unary", copy, (a,), dict(order=order, subok=subok))
        if r is not NotImplemented:
            return r
    a = as_input(a, "copy")
    return _make(a.data.copy(order=order), "copy", (a,), (a.data,), _COPY_VJPS, _COPY_JVPS)


_COPY_VJPS = (lambda g, y, x: g,)
_COPY_JVPS = (lambda t, y, x: copy(t),)  # the copy's tangent has its own memory too
_versions.reads("copy", "")  # write into the copy to leave a value an op saved intact
clone = copy  # PyTorch's name


def positive(x):
    """``+x`` as ``np.positive``: a new tensor with ``x``'s values (NumPy returns a copy, so writing into the
    result leaves ``x`` alone; PyTorch's ``torch.positive`` returns ``x`` itself). Bool input is a TypeError, as
    in NumPy."""
    x = as_input(x, "positive")
    if x.dtype == np.bool_:
        raise TypeError("positive: not defined for bool tensors (as np.positive)")
    return copy(x)


def fabs(x):
    """Absolute value of a real tensor, as ``np.fabs`` (complex input is a TypeError, as in NumPy: use
    ``abs``)."""
    x = as_input(x, "fabs")
    if x.dtype.kind == "c":
        raise TypeError(f"fabs: not defined for complex tensors (got {x.dtype}); use npg.abs for the modulus")
    if x.dtype.kind not in "f":  # NumPy's float result for integers and bools (float16 for the small ones)
        return _wrap(np.fabs(x.data))
    from .elementwise import abs as _abs
    return _abs(x)
