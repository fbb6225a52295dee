"""Shape ops: forward beside VJP. Most forwards return NumPy views; no data is copied."""
import builtins
import math

import numpy as np

from ..autograd import versions as _versions
from ..autograd.complex_rules import LINEAR, declare
from ..dtypes import numeric_dtype
from ..autograd.engine import cast_grad
from ..tensor import Tensor, _make, _wrap
from . import inplace
from ._join_vjps import concat_vjps, stack_vjps
from .elementwise import where
from ._util import (as_input, batching_rule, cast_all, check_fits, grad_sum, normalize_axis, normalize_one_axis,
                    refuse_out, zero_d_axis)

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x, *dims, shape=None, newshape=None, order="C"):
    """Give ``x`` a new shape (one entry may be -1), as ``np.reshape``; a view when possible. The shape is
    given as ints or a tuple, or as ``shape=`` (NumPy 2.1+) or ``newshape=`` (the original npgrad's and
    older NumPy's name)."""
    if _tm._VMAP:
        r = _tm._vmap_call("reshape", reshape, (x,) + dims, dict(shape=shape, newshape=newshape, order=order))
        if r is not NotImplemented:
            return r
    x = as_input(x, "reshape")
    given = (len(dims) > 0) + (shape is not None) + (newshape is not None)
    if given != 1:
        raise TypeError(f"reshape: give the new shape exactly once (positionally, as shape= or as newshape=), got "
                        f"{given or 'none'} of them")
    shape = _shape_arg(dims if dims else (newshape if shape is None else shape,))
    if order not in ("C", "F", "A"):
        raise ValueError(f"reshape: order must be one of 'C', 'F', 'A', not {order!r}")
    if order == "F" or (order == "A" and x.data.flags.f_contiguous and not x.data.flags.c_contiguous):
        # read and write in Fortran order: reverse the axes, reshape in C order to the reversed shape, reverse back
        return transpose(reshape(transpose(x), tuple(reversed(shape))))
    try:
        out = x.data.reshape(shape)
    except (ValueError, TypeError) as e:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into shape {shape} ({e})") from None
    return inplace.view_of(_make(out, "reshape", (x,), (x.data,), _RESHAPE_VJPS, _RESHAPE_JVPS), x,
                           lambda a: a.reshape(shape))


_RESHAPE_VJPS = (lambda g, y, x: g.reshape(x.shape),)
_RESHAPE_JVPS = (lambda t, y, x: reshape(t, y.shape),)  # linear ops: the JVP is the op on the tangent


def ravel(x, order="C"):
    """The flattened tensor (a view when possible), as ``np.ravel``; ``order`` 'C', 'F', 'A', or 'K' (memory
    order: here for a C- or Fortran-contiguous tensor)."""
    if order == "K":
        d = as_input(x, "ravel").data
        if not (d.flags.c_contiguous or d.flags.f_contiguous):
            raise NotImplementedError("ravel: order='K' is supported for a C- or Fortran-contiguous tensor only")
        order = "A"
    return reshape(x, -1, order=order)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (all of them by default, as ``torch.flatten``)."""
    x = as_input(x, "flatten")
    if x.ndim == 0:  # PyTorch's 0-d tensor has the dims 0 and -1: flattened to one element
        for d in (start_dim, end_dim):
            if isinstance(d, (int, np.integer)) and d not in (0, -1):
                raise np.exceptions.AxisError(f"flatten: dim {d} is out of range for a 0-d tensor (dims 0 and -1)")
            normalize_one_axis(d, 1, "flatten")
        return reshape(x, 1)
    s = normalize_one_axis(start_dim, x.ndim, "flatten")
    e = normalize_one_axis(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = math.prod(x.shape[s:e + 1])
    return reshape(x, x.shape[:s] + (merged,) + x.shape[e + 1:])  # not -1: ambiguous when a dim is 0


def transpose(x, axes=None):
    """Permute the axes (reverse them by default), as ``np.transpose``; a view."""
    if _tm._VMAP:
        r = _tm._vmap_call("transpose", transpose, (x, axes), None)
        if r is not NotImplemented:
            return r
    x = as_input(x, "transpose")
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    else:
        axes = tuple(normalize_one_axis(a, x.ndim, "transpose") for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    out = _make(x.data.transpose(axes), "transpose", (x,), (x.data,),
                (lambda g, y, x: g.transpose(tuple(np.argsort(axes))),), (lambda t, y, x: transpose(t, axes),))
    return inplace.view_of(out, x, lambda a: a.transpose(axes))


def permute(x, *dims):
    """PyTorch's name for ``transpose(x, dims)``."""
    return transpose(x, _shape_arg(dims))


def swapaxes(x, axis1, axis2):
    """Interchange two axes, as ``np.swapaxes``; a view."""
    if _tm._VMAP:
        r = _tm._vmap_call("swapaxes", swapaxes, (x, axis1, axis2), None)
        if r is not NotImplemented:
            return r
    x = as_input(x, "swapaxes")
    a = normalize_one_axis(axis1, x.ndim, "swapaxes")
    b = normalize_one_axis(axis2, x.ndim, "swapaxes")
    out = _make(x.data.swapaxes(a, b), "swapaxes", (x,), (x.data,), (lambda g, y, x: g.swapaxes(a, b),),
                (lambda t, y, x: swapaxes(t, a, b),))
    return inplace.view_of(out, x, lambda t: t.swapaxes(a, b))


def moveaxis(x, source, destination):
    """Move axes to new positions, as ``np.moveaxis``; a view."""
    x = as_input(x, "moveaxis")
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    src = [normalize_one_axis(a, x.ndim, "moveaxis") for a in src]
    dst = [normalize_one_axis(a, x.ndim, "moveaxis") for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: repeated axis in source {source!r} or destination {destination!r}")
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``), as ``np.squeeze``."""
    x = as_input(x, "squeeze")
    axis = zero_d_axis(axis, x.ndim)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: cannot select axis {a} of size {x.shape[a]} (shape {x.shape}); "
                                 f"only size-1 axes can be squeezed")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x, axis):
    """Insert size-1 axes at ``axis`` (int or tuple), as ``np.expand_dims``."""
    x = as_input(x, "expand_dims")
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    nd = x.ndim + len(axes)
    axes = normalize_axis(axes, nd, "expand_dims")
    it = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(it) for i in range(nd)))


unsqueeze = expand_dims


def broadcast_to(x, shape):
    """Broadcast to ``shape`` (a read-only view), as ``np.broadcast_to``; the gradient is summed back."""
    if _tm._VMAP:
        r = _tm._vmap_call("broadcast_to", broadcast_to, (x, shape), None)
        if r is not NotImplemented:
            return r
    x = as_input(x, "broadcast_to")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    try:
        out = np.broadcast_to(x.data, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to shape {shape}") from None
    out = _make(out, "broadcast_to", (x,), (x.data,), (lambda g, y, x: g,),  # the engine sums g back
                (lambda t, y, x: broadcast_to(t, shape),))
    return inplace.view_of(out, x, lambda a: np.broadcast_to(a, shape))


@batching_rule("unary")
def astype(x, dtype):
    """``x`` converted to ``dtype``; the gradient is converted back (none for integer and bool results). As
    in NumPy (and PyTorch), complex to real keeps the real part, with a ComplexWarning."""
    x = as_input(x, "astype")
    dtype = numeric_dtype(dtype, "astype")  # not str or object: no Tensor holds those
    out = x.data.astype(dtype)
    if dtype.kind not in "fc":
        return _wrap(out)
    return _make(out, "astype", (x,), (x.data,), (lambda g, y, x: cast_grad(g, x.dtype),),
                 (lambda t, y, x: cast_grad(t, dtype),))


# ------------------------------------------------------------------ joining, splitting
def _slicer(axis, start, stop):
    return (slice(None),) * axis + (slice(start, stop),)


def concatenate(tensors, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join tensors along an existing axis, as ``np.concatenate`` (``axis=None`` flattens first; ``dtype``
    under NumPy's ``casting`` rule)."""
    refuse_out("concatenate", out)
    if dtype is not None:
        tensors = cast_all(list(tensors), dtype, casting, "concatenate")
    if _tm._VMAP:
        r = _tm._vmap_call("concatenate", concatenate, tuple(tensors), dict(axis=axis))
        if r is not NotImplemented:
            return r
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    if axis is None:
        tensors = [ravel(t) for t in tensors]
        axis = 0
    datas = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    try:
        out = np.concatenate(datas, axis=axis)
    except (ValueError, np.exceptions.AxisError) as e:
        raise ValueError(f"concatenate: shapes {[d.shape for d in datas]} cannot be joined along axis {axis} "
                         f"({e})") from None
    ax = normalize_one_axis(axis, out.ndim, "concatenate")
    saved, vjps = concat_vjps(datas, ax)   # (many inputs: O(1) a VJP, npgrad/ops/_join_vjps.py)
    return _make(out, "concatenate", tuple(tensors), saved, vjps, _join_jvp(concatenate, ax))


def _join_jvp(join, axis):
    """The JVP of joining inputs (concatenate, stack): the join of their tangents, zeros for an input without
    one."""
    return lambda ts, y, *inputs: join(
        [np.zeros(np.shape(x), y.dtype) if t is None else t for t, x in zip(ts, inputs)], axis)


concat = concatenate


def stack(tensors, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join tensors along a new axis, as ``np.stack`` (``dtype`` under NumPy's ``casting`` rule)."""
    refuse_out("stack", out)
    if dtype is not None:
        tensors = cast_all(list(tensors), dtype, casting, "stack")
    if _tm._VMAP:
        r = _tm._vmap_call("stack", stack, tuple(tensors), dict(axis=axis))
        if r is not NotImplemented:
            return r
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {np.shape(t.data if isinstance(t, Tensor) else t) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    nd = len(next(iter(shapes))) + 1
    ax = normalize_one_axis(axis, nd, "stack")
    new_axis = (slice(None),) * ax + (None,)
    datas = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    out = np.concatenate([d[new_axis] for d in datas], axis=ax)  # (np.stack's work without its Python checks)
    saved, vjps = stack_vjps(datas, ax)
    return _make(out, "stack", tuple(tensors), saved, vjps, _join_jvp(stack, ax))


def split(x, indices_or_sections, axis=0):
    """Split into a list of tensors, as ``np.split`` (sections must divide evenly) or at indices."""
    x = as_input(x, "split")
    ax = normalize_one_axis(axis, x.ndim, "split")
    n = x.shape[ax]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"split: axis {ax} of size {n} does not divide into {indices_or_sections} equal parts")
        step = n // indices_or_sections
        cuts = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:  # as np.split: consecutive slices x[a:b], with Python's rules for negative / out-of-range cuts
        cuts = [0] + [int(i) for i in indices_or_sections] + [None]
    return [x[_slicer(ax, a, b)] for a, b in zip(cuts[:-1], cuts[1:])]


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as ``np.unstack`` (PyTorch's ``unbind``): a tuple of views."""
    x = as_input(x, "unstack")
    if x.ndim == 0:
        raise ValueError("unstack: the tensor must be at least 1-D, got a 0-d tensor")
    ax = normalize_one_axis(axis, x.ndim, "unstack")
    return tuple(x[(slice(None),) * ax + (i,)] for i in range(x.shape[ax]))


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when None), as ``np.flip``; a view."""
    if _tm._VMAP:
        r = _tm._vmap_call("reduce", flip, (x, axis), None)
        if r is not NotImplemented:
            return r
    x = as_input(x, "flip")
    axes = normalize_axis(axis, x.ndim, "flip")
    out = _make(np.flip(x.data, axes), "flip", (x,), (x.data,), (lambda g, y, x: np.flip(g, axes),),
                (lambda t, y, x: flip(t, axes),))
    return inplace.view_of(out, x, lambda a: np.flip(a, axes))


@batching_rule("pad")
def pad(x, pad_width, mode="constant", constant_values=0):
    """Pad with a constant, as ``np.pad(x, pad_width, constant_values=...)`` (only ``mode='constant'``)."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, not {mode!r}")
    x = as_input(x, "pad")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2)) if x.ndim else np.zeros((0, 2), int)
    if (widths < 0).any():
        raise ValueError(f"pad: negative pad widths {pad_width!r}")
    if x.ndim:
        out = np.pad(x.data, widths, mode="constant", constant_values=constant_values)
    else:  # np.pad fails on a 0-d array with the (0, 2) widths; there is nothing to pad
        out = x.data.copy()
    key = tuple(slice(int(a), int(a) + n) for (a, _), n in zip(widths, x.shape))
    return _make(out, "pad", (x,), (x.data,), (lambda g, y, x: g[key],), (lambda t, y, x: pad(t, widths),))


@batching_rule("repeat")
def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None), as ``np.repeat``."""
    x = as_input(x, "repeat")
    if axis is None or x.ndim == 0:  # a 0-d tensor repeats as a 1-D one along axis 0 (or -1), as in NumPy
        x = ravel(x)
        axis = 0 if axis is None else axis
    ax = normalize_one_axis(axis, x.ndim, "repeat")
    reps = np.asarray(repeats)
    if (reps < 0).any():
        raise ValueError(f"repeat: negative repeats {repeats!r}")
    if reps.size != 1 and reps.shape != (x.shape[ax],):
        raise ValueError(f"repeat: {reps.size} repeat counts for axis {ax} of size {x.shape[ax]} "
                         f"(shape {x.shape})")
    out = np.repeat(x.data, repeats, axis=ax)
    reps = reps.astype(np.intp, copy=False)  # (as NumPy: uint8 counts gave uint64 + int64 = float64 positions)
    if reps.ndim == 0 or reps.size == 1:
        r = int(reps.reshape(-1)[0]) if reps.size else 0

        def vjp(g, y, x):  # sum each run of r copies
            shape = x.shape[:ax] + (x.shape[ax], r) + x.shape[ax + 1:]
            return grad_sum(g.reshape(shape), ax + 1)
    else:
        total = int(reps.sum())
        rmax = int(reps.max()) if reps.size else 0
        starts = np.cumsum(reps) - reps                                 # where each run begins in the output
        valid = np.arange(rmax) < reps[:, None]                         # (n, rmax): j-th copy of element i exists
        idx = np.where(valid, starts[:, None] + np.arange(rmax), 0)     # its position (0 where it does not)
        valid = valid.reshape(valid.shape + (1,) * (x.ndim - ax - 1))
        key = (slice(None),) * ax + (idx,)

        def vjp(g, y, x):  # gather each run into a padded (n, rmax) block, mask, sum: exact, and differentiable
            if total == 0:
                return np.zeros(x.shape, dtype=g.dtype)
            return grad_sum(np.where(valid, g[key], 0), ax + 1)
    return _make(out, "repeat", (x,), (x.data,), (vjp,), (lambda t, y, x: repeat(t, repeats, ax),))


@batching_rule("tile")
def tile(x, reps):
    """Tile ``x`` ``reps`` times per axis, as ``np.tile``."""
    x = as_input(x, "tile")
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetitions {reps}")
    nd = builtins.max(x.ndim, len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - x.ndim) + x.shape
    out = np.tile(x.data, reps)

    def vjp(g, y, x):  # view the output as (r0, n0, r1, n1, ...) and sum the r axes
        split_shape = tuple(v for pair in zip(reps, shape) for v in pair)
        return grad_sum(g.reshape(split_shape), tuple(range(0, 2 * nd, 2))).reshape(x.shape)
    return _make(out, "tile", (x,), (x.data,), (vjp,), (lambda t, y, x: tile(t, reps),))


@batching_rule("masked_fill")
def masked_fill(x, mask, value):
    """A copy of ``x`` with ``value`` where ``mask`` (broadcast to ``x``) is True; the input is untouched.
    The gradient flows to ``x`` where the mask is False (and to ``value`` where True, if it is a Tensor)."""
    x, md, value = _fill_args(x, mask, value)
    return where(md, value, x)


def _fill_args(x, mask, value):
    """masked_fill's arguments checked: ``x`` as a Tensor, the mask as a bool array broadcasting to ``x``'s shape,
    ``value`` in ``x``'s dtype (as PyTorch's: an int tensor filled with 2.5 holds 2, float32 stays float32)."""
    x = as_input(x, "masked_fill")
    md = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if md.dtype != bool:
        raise TypeError(f"masked_fill: the mask must be boolean, not {md.dtype}")
    try:
        shape = np.broadcast_shapes(md.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"masked_fill: mask of shape {md.shape} does not broadcast to the tensor's shape {x.shape}")
    vd = value.dtype if isinstance(value, (Tensor, np.ndarray, np.generic)) else np.asarray(value).dtype
    if vd != x.dtype:
        if vd.kind == "c" and x.dtype.kind != "c":
            raise TypeError(f"masked_fill: a complex value cannot fill a {x.dtype} tensor")
        check_fits(value.data if isinstance(value, Tensor) else value, x.dtype, "masked_fill")
        value = value.astype(x.dtype) if isinstance(value, Tensor) else np.asarray(value).astype(x.dtype)
    return x, md, value


def _masked_fill_into(x, mask, value):
    """``masked_fill`` written into ``x``'s memory (``x.masked_fill_``: ops/inplace.py's method passes the snapshot
    of the tensor written): no copy of it, and no copy of the overwritten values (no VJP reads them)."""
    x, md, value = _fill_args(x, mask, value)
    vd = value.data if isinstance(value, Tensor) else value
    try:
        fits = np.broadcast_shapes(np.shape(vd), x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:  # out of place: where's error names the shapes, or the write refuses a larger result
        return masked_fill(x, md, value)
    np.copyto(x.data, vd, where=md)
    return _make(x.data, "masked_fill", (x, md, value), (None, md, None), _FILL_VJPS, _FILL_VJPS)


masked_fill.into = _masked_fill_into
_versions.reads("masked_fill", "b", "", "b")  # the mask (b) picks where the gradient goes
declare(LINEAR, "masked_fill")  # (a real mask selects: complex gradients pass as they are, as where's)
_FILL_VJPS = (lambda g, out, x, m, v: np.where(m, 0, g), None, lambda g, out, x, m, v: np.where(m, g, 0))


# What the VJPs above read (npgrad/autograd/versions.py): only shapes, so an in-place write into an input
# of one of these ops never invalidates its gradient.
for _op in ("reshape", "transpose", "swapaxes", "broadcast_to", "flip", "astype", "concatenate", "stack", "pad",
            "repeat", "tile"):
    _versions.reads(_op, "")
