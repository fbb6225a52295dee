"""The rest of NumPy's array manipulation: grids and broadcasting (meshgrid, broadcast_arrays, block),
selection (choose, compress, extract, delete, insert, trim_zeros), resize and sort_complex.

Each is a composite of differentiable ops (reshape, broadcast_to, concatenate, where, take, slicing, sort),
so its VJP, JVP and vmap batching come from theirs, exactly. Which positions are kept or where values go is
worked out with NumPy on the (constant) index arguments, NumPy's own function applied to an index array
where that gives its exact semantics and errors (compress, extract, delete); only the data of ``trim_zeros``
decides a shape (under vmap it runs per sample, as any data-dependent shape must).
"""
import operator

import numpy as np

from ..tensor import Tensor, _wrap
from ._util import all_values, as_input, is_batched, normalize_axis, normalize_one_axis, refuse_out
from .arrays import copy
from .comparison import equal
from .elementwise import clip, remainder, where
from .index import take
from .shape import astype, broadcast_to, concatenate, moveaxis, pad, ravel, reshape, tile
from .sorting import sort

__all__ = ["block", "broadcast_arrays", "choose", "compress", "delete", "extract", "insert", "meshgrid", "resize",
           "sort_complex", "trim_zeros"]


def _index_data(x):
    """An index-like argument's NumPy value (a Tensor's data; lists and scalars as they are)."""
    return x.data if isinstance(x, Tensor) else x


def _sl(ax, start=None, stop=None):
    return (slice(None),) * ax + (slice(start, stop),)


def _along(ndim, ax, n):
    return (1,) * ax + (n,) + (1,) * (ndim - ax - 1)


def _reraised(name, e):
    """NumPy's error ``e`` (raised on an index array) again, naming ``name``."""
    return type(e)(f"{name}: {e}")


# ----------------------------------------------------------------------- grids and broadcasting
def broadcast_arrays(*args, subok=False):
    """The inputs broadcast against each other, as ``np.broadcast_arrays`` (a tuple, as NumPy 2): each a
    read-only broadcast view (an input already of the common shape comes back as it is); the gradient of a
    broadcast input is summed back to its shape."""
    ts = [as_input(a, "broadcast_arrays") for a in args]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in ts))
    except ValueError:
        raise ValueError(f"broadcast_arrays: shape mismatch: objects cannot be broadcast to a single shape "
                         f"(shapes {[t.shape for t in ts]})") from None
    return tuple(t if t.shape == shape else broadcast_to(t, shape) for t in ts)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors, as ``np.meshgrid`` (a tuple, as NumPy 2): each input is
    flattened and laid along its own axis, the first two swapped for ``indexing='xy'`` (Cartesian), then all
    broadcast to the full grid unless ``sparse``; ``copy=False`` returns views (a list when also sparse, as
    NumPy's). Differentiable in every input (a grid's gradient is summed back along the axes it was repeated
    over)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: Valid values for `indexing` are 'xy' and 'ij', got {indexing!r}")
    nd = len(xi)
    ones = (1,) * nd
    out = [reshape(as_input(x, "meshgrid"), ones[:i] + (-1,) + ones[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + ones[2:])
        out[1] = reshape(out[1], (-1, 1) + ones[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
    if copy:
        out = [_copy(o) for o in out]
    return tuple(out) if copy or not sparse else out  # (NumPy's own sparse views come in a list)


_copy = copy


def _block_index(index):
    return "arrays" + "".join(f"[{i}]" for i in index if i is not None)


def _block_depths(arrays, index=()):
    """(index of the first leaf, largest leaf ndim) of a block layout, checked as ``np.block`` checks it: only
    lists arrange blocks, every leaf at the same depth, no empty list. A leaf's index ends in None when it is
    an empty list."""
    if type(arrays) is tuple:
        raise TypeError(f"block: {_block_index(index)} is a tuple. Only lists can be used to arrange blocks, and "
                        f"np.block does not allow implicit conversion from tuple to ndarray.")
    if type(arrays) is list:
        if not arrays:
            return index + (None,), 0
        first, nd = _block_depths(arrays[0], index + (0,))
        for i, arr in enumerate(arrays[1:], 1):
            at, ndim = _block_depths(arr, index + (i,))
            nd = max(nd, ndim)
            if len(at) != len(first):
                raise ValueError(f"block: List depths are mismatched. First element was at depth {len(first)}, "
                                 f"but there is an element at depth {len(at)} ({_block_index(at)})")
            if at[-1] is None:
                first = at
        return first, nd
    return index, (arrays.ndim if isinstance(arrays, Tensor) else np.ndim(arrays))


def _block(arrays, depth, max_depth, ndim):
    if depth < max_depth:
        parts = [_block(a, depth + 1, max_depth, ndim) for a in arrays]
        try:
            return concatenate(parts, axis=-(max_depth - depth))
        except ValueError as e:
            raise ValueError(f"block: the blocks at depth {depth} do not fit together ({e})") from None
    a = as_input(arrays, "block")
    return reshape(a, (1,) * (ndim - a.ndim) + a.shape) if a.ndim < ndim else a


def block(arrays):
    """Assemble a tensor from nested lists of blocks, as ``np.block``: the innermost lists are joined along
    the last axis, the next level along the second-to-last, and so on; every block is first given the
    result's number of dimensions (leading size-1 axes). A new tensor, differentiable in every block."""
    first, nd = _block_depths(arrays)
    if first and first[-1] is None:
        raise ValueError(f"block: List at {_block_index(first)} cannot be empty")
    depth = len(first)
    out = _block(arrays, 0, depth, max(nd, depth))
    return _copy(out) if depth == 0 else out


# ------------------------------------------------------------------------------------ selection
def choose(a, choices, out=None, mode="raise"):
    """Build a tensor from an index array ``a`` and a sequence of choices, as ``np.choose``:
    ``out[i] = choices[a[i]][i]`` with ``a`` and every choice broadcast together. ``mode`` handles indices
    outside ``[0, n)``: 'raise' (an error), 'wrap' (modulo n) or 'clip'. Differentiable in the choices (each
    gets the gradient where it was chosen); ``a`` is an integer (or bool) index."""
    refuse_out("choose", out)
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"choose: clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    if isinstance(choices, (Tensor, np.ndarray)) and choices.ndim == 0:
        raise ValueError("choose: choices must be a sequence (or an array whose first axis indexes them), not 0-d")
    choices = [c if isinstance(c, (Tensor, int, float, complex)) else as_input(c, "choose")
               for c in choices]  # (a tensor's rows: views; under vmap, batched rows; Python numbers stay weak)
    n = len(choices)
    if n == 0:
        raise ValueError("choose: 0-length sequence of choices")
    values = np.asarray(all_values(a) if isinstance(a, Tensor) else a)
    if not np.can_cast(values.dtype, np.intp, "safe"):
        raise TypeError(f"choose: Cannot cast array data from {values.dtype!r} to {np.dtype(np.intp)!r} according "
                        f"to the rule 'safe'")
    if mode == "raise" and values.size and (values.min() < 0 or values.max() >= n):
        raise ValueError(f"choose: invalid entry in choice array (indices must lie in [0, {n}) with mode='raise')")
    if is_batched(a):  # per-sample indices: npgrad ops, which batch
        sel = remainder(a, n) if mode == "wrap" else (clip(a, 0, n - 1) if mode == "clip" else a)
    else:
        sel = values.astype(np.intp)
        sel = sel % n if mode == "wrap" else (np.clip(sel, 0, n - 1) if mode == "clip" else sel)
    shapes = [tuple(sel.shape)] + [tuple(c.shape) if isinstance(c, Tensor) else np.shape(c) for c in choices]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"choose: shape mismatch: the index array and the choices cannot be broadcast to a single "
                         f"shape (shapes {shapes})") from None
    if n == 1:
        return _copy(broadcast_to(as_input(choices[0], "choose"), shape))
    result = choices[-1]
    for i in range(n - 2, -1, -1):
        result = where(equal(sel, i) if is_batched(sel) else sel == i, choices[i], result)
    return result


def compress(condition, a, axis=None, out=None):
    """The slices of ``a`` along ``axis`` (of the flattened ``a`` when None) where the 1-D ``condition`` is
    true, as ``np.compress`` (a shorter condition leaves the rest out). A copy, differentiable in ``a``."""
    refuse_out("compress", out)
    a = as_input(a, "compress")
    if axis is None:
        a, ax = ravel(a), 0
    else:
        ax = normalize_one_axis(axis, a.ndim, "compress")
    # a range along ax (size 1 elsewhere: NumPy's error names ax); NumPy checks no index of an empty a
    probe = np.arange(a.shape[ax]).reshape(_along(a.ndim, ax, a.shape[ax])) if a.size else np.empty(a.shape, bool)
    try:
        keep = np.compress(_index_data(condition), probe, axis=ax)
    except (ValueError, IndexError) as e:
        raise _reraised("compress", e) from None
    if a.size:
        keep = keep.reshape(-1)
    return take(a, keep, axis=ax) if a.size else reshape(ravel(a), keep.shape)


def extract(condition, arr):
    """The elements of ``arr`` where ``condition`` is non-zero, both flattened, as ``np.extract`` (1-D)."""
    arr = as_input(arr, "extract")
    try:
        keep = np.extract(_index_data(condition), np.arange(arr.size))
    except IndexError as e:
        raise _reraised("extract", e) from None
    return take(ravel(arr), keep)


def delete(arr, obj, axis=None):
    """``arr`` without the sub-arrays ``obj`` (an int, a slice, int indices or a boolean mask) along
    ``axis`` (of the flattened ``arr`` when None), as ``np.delete``. A copy, differentiable in ``arr``."""
    arr = as_input(arr, "delete")
    if axis is None:
        arr, ax = ravel(arr), 0
    else:
        ax = normalize_one_axis(axis, arr.ndim, "delete")
    n = arr.shape[ax]
    probe = np.arange(n).reshape((1,) * ax + (n,) + (1,) * (arr.ndim - ax - 1))  # NumPy's errors name the axis
    try:
        keep = np.delete(probe, _index_data(obj), axis=ax).reshape(-1)
    except (ValueError, IndexError) as e:
        raise _reraised("delete", e) from None
    return take(arr, keep, axis=ax)


def _fit(v, shape, name):
    """``v`` broadcast to ``shape`` by NumPy's assignment rule (``new[slot] = v``): leading size-1 axes of ``v``
    may be dropped."""
    while v.ndim > len(shape) and v.shape[0] == 1:
        v = reshape(v, v.shape[1:])
    try:
        if v.ndim > len(shape) or np.broadcast_shapes(v.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{name}: could not broadcast input array from shape {v.shape} into shape "
                         f"{tuple(shape)}") from None
    return v if v.shape == tuple(shape) else broadcast_to(v, shape)


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the index or indices ``obj`` along ``axis`` (of the
    flattened ``arr`` when None), as ``np.insert``, with its rules: a scalar ``obj`` inserts ``values`` as one
    slice (``values`` laid along ``axis``), a sequence inserts one slice per index (``values`` broadcast to
    them). The result has ``arr``'s dtype (values cast to it); differentiable in ``arr`` and ``values``."""
    arr = as_input(arr, "insert")
    if axis is None:
        arr, ax = (ravel(arr) if arr.ndim != 1 else arr), 0
    else:
        ax = normalize_one_axis(axis, arr.ndim, "insert")
    nd, n = arr.ndim, arr.shape[ax]
    objd = _index_data(obj)
    if isinstance(objd, slice):
        indices = np.arange(*objd.indices(n), dtype=np.intp)
    else:
        indices = np.array(objd)
        if indices.dtype == bool:
            if indices.ndim != 1:
                raise ValueError("insert: boolean array argument obj to insert must be one dimensional")
            indices = np.flatnonzero(indices)
        elif indices.ndim > 1:
            raise ValueError("insert: index array argument obj to insert must be one dimensional or scalar")
    values = as_input(values, "insert")
    if values.dtype != arr.dtype:
        values = astype(values, arr.dtype)  # NumPy casts the values to arr's dtype (unsafe, as assignment does)
    if indices.size == 1:
        index = operator.index(indices.item())
        if index < -n or index > n:
            raise IndexError(f"insert: index {objd} is out of bounds for axis {ax} with size {n}")
        index += n if index < 0 else 0
        v = reshape(values, (1,) * (nd - values.ndim) + values.shape) if values.ndim < nd else values
        if indices.ndim == 0:  # one slice: values laid along axis (a[:, 0:1] = v, not a[:, 0] = v)
            v = moveaxis(v, 0, ax)
        slot = arr.shape[:ax] + (v.shape[ax],) + arr.shape[ax + 1:]
        return concatenate([arr[_sl(ax, None, index)], _fit(v, slot, "insert"), arr[_sl(ax, index)]], axis=ax)
    if indices.size == 0 and not isinstance(objd, np.ndarray):
        indices = indices.astype(np.intp)
    if indices.dtype.kind not in "iu":
        raise IndexError("insert: arrays used as indices must be of integer (or boolean) type")
    indices = indices.astype(np.intp)
    indices[indices < 0] += n
    numnew = len(indices)
    order = indices.argsort(kind="mergesort")  # stable: equal indices keep the values' order
    indices[order] += np.arange(numnew)
    old = np.ones(n + numnew, dtype=bool)
    try:
        old[indices] = False
    except IndexError as e:
        raise _reraised("insert", e) from None
    slot = arr.shape[:ax] + (numnew,) + arr.shape[ax + 1:]
    try:
        values = _fit(values, slot, "insert")
    except ValueError:  # nothing is written into an empty slot: NumPy also takes empty values whose last axes fit
        tail = values.shape[max(0, values.ndim - len(slot)):]
        if not (0 in slot and values.size == 0 and all(t == s or (t == 1 and s) for t, s in zip(tail[::-1],
                                                                                                slot[::-1]))):
            raise
        values = _wrap(np.zeros(slot, arr.dtype))
    joined = concatenate([arr, values], axis=ax)
    perm = np.empty(n + numnew, dtype=np.intp)  # each new position's source in arr + values
    perm[old] = np.arange(n)
    perm[indices] = n + np.arange(numnew)
    return take(joined, perm, axis=ax)


def resize(a, new_shape):
    """A new tensor of ``new_shape`` filled with ``a``'s elements (flattened) repeated cyclically, as
    ``np.resize`` (zeros if ``a`` is empty). Differentiable: a repeated element gets the summed gradient.
    (``ndarray.resize`` is in place and not a Tensor method.)"""
    if isinstance(new_shape, (int, np.integer)):
        new_shape = (new_shape,)
    try:
        new_shape = tuple(operator.index(d) for d in new_shape)
    except TypeError:
        raise TypeError(f"resize: new_shape must be an int or a sequence of ints, got {new_shape!r}") from None
    a = ravel(as_input(a, "resize"))
    new_size = 1
    for d in new_shape:
        new_size *= d
        if d < 0:
            raise ValueError("resize: all elements of `new_shape` must be non-negative")
    if a.size == 0:  # zeros (still in a's graph, as a zero-padded a would be)
        return reshape(pad(a, ((0, new_size),)), new_shape)
    repeats = -(-new_size // a.size)
    flat = tile(a, repeats)[:new_size] if repeats > 1 else _copy(a[:new_size])
    return reshape(flat, new_shape)


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading (``'f'``) and/or trailing (``'b'``) zeros, as NumPy 2's
    ``np.trim_zeros``: along every axis, or the ones in ``axis``, each trimmed to the box around the non-zero
    elements (all-zero input: empty). A view, differentiable in ``filt``; its shape depends on the data."""
    x = as_input(filt, "trim_zeros")
    trim = trim.lower()
    if trim not in ("fb", "bf", "f", "b"):
        raise ValueError(f"trim_zeros: unexpected character(s) in `trim`: {trim!r}")
    axes = tuple(range(x.ndim)) if axis is None else normalize_axis(axis, x.ndim, "trim_zeros")
    if not axes:
        return filt
    nonzero = np.argwhere(x.data)
    if nonzero.size == 0:
        start = stop = [0] * x.ndim
    else:
        start, stop = nonzero.min(axis=0).tolist(), (nonzero.max(axis=0) + 1).tolist()
        start = start if "f" in trim else [None] * x.ndim
        stop = stop if "b" in trim else [None] * x.ndim
    return x[tuple(slice(start[i], stop[i]) if i in axes else slice(None) for i in range(x.ndim))]


def sort_complex(a):
    """``a`` sorted along its last axis by real part, then imaginary part, as ``np.sort_complex``, always
    complex (complex64 for int8/int16/uint8/uint16 input, else complex128, or ``a``'s own complex dtype).
    Differentiable: the gradient goes back to each value's position (real input gets its real part)."""
    a = as_input(a, "sort_complex")
    if a.ndim == 0:
        raise np.exceptions.AxisError("sort_complex: axis -1 is out of bounds for array of dimension 0")
    b = sort(a, axis=-1)
    if b.dtype.kind == "c":
        return b
    return astype(b, np.complex64 if b.dtype.char in "bhBH" else np.clongdouble if b.dtype.char == "g"
                  else np.complex128)


def numpy_functions():
    """The ``np.X -> npg.X`` entries for ``__array_function__``."""
    return {getattr(np, name): globals()[name] for name in __all__}


def attach(T):
    """ndarray's methods of this family: ``t.choose(choices)``, ``t.compress(condition)``."""
    T.choose = lambda self, choices, out=None, mode="raise": choose(self, choices, out=out, mode=mode)
    T.choose.__doc__ = "``np.choose(self, choices)``: ``self`` is the index array."
    T.compress = lambda self, condition, axis=None, out=None: compress(condition, self, axis=axis, out=out)
    T.compress.__doc__ = "``np.compress(condition, self, axis)``."
