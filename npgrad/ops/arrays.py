"""NumPy's array helpers (stacking, splitting, rolling, triangles and diagonals, differences, kron,
cross, select, copy; the differences live in differences.py), composed from differentiable ops (slicing, concatenation, ``where``,
arithmetic), so each gradient, and its own gradient, comes from those ops' VJPs.
"""
import builtins
import operator

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap
from . import inplace
from ._util import as_input, axis_key as _sl, cast_all, normalize_one_axis, one_or_tuple as _one_or_tuple
from .elementwise import where
from .index import getitem
from .shape import broadcast_to, concatenate, flip, moveaxis, pad as _pad_constant, ravel, reshape, split, \
    transpose

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)


def _inputs(arrays, where):
    if isinstance(arrays, (Tensor, np.ndarray)) and arrays.ndim >= 1:
        arrays = list(arrays)  # as NumPy: an array is the sequence of its rows
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{where}: expected a sequence of tensors/arrays, got {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{where}: need at least one array")
    return [as_input(a, where) for a in arrays]


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


# The differences (diff, ediff1d, gradient): npgrad/ops/differences.py, importable from here as before.
from .differences import diff, ediff1d, gradient  # noqa: E402,F401


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
    # a 2-vector's missing z is a zero of its own dtype, as NumPy's (a Python 0.0 made int input float64)
    a2 = a[..., 2] if a.shape[-1] == 3 else _wrap(np.zeros((), a.dtype))
    b2 = b[..., 2] if b.shape[-1] == 3 else _wrap(np.zeros((), b.dtype))
    parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0]
    shape = np.broadcast_shapes(*(p.shape for p in parts))
    out = concatenate([reshape(broadcast_to(p, shape), shape + (1,)) for p in parts], axis=-1)
    return moveaxis(out, -1, normalize_one_axis(axisc, out.ndim, "cross"))


def select(condlist, choicelist, default=0):
    """From ``choicelist``, the element of the first choice whose condition holds (``default`` where
    none does), as ``np.select``; an array or tensor of conditions or choices is a list of its rows, as NumPy
    takes it."""
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if len(choicelist) == 0:
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
