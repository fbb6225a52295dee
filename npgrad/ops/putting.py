"""NumPy's in-place writers on tensors: ``copyto``, ``fill_diagonal``, ``put``, ``putmask``, ``place``.

Each works out, with NumPy's rules, which positions of the destination it writes and which values go there
(values repeated cyclically where NumPy repeats them, cast to the destination's dtype), then writes them with
``x[key] = values`` (``ops/index.py`` setitem). So they have PyTorch's in-place semantics exactly as a
subscript assignment has: the write goes into the tensor's memory (and its views'), the gradient flows to
the values written and to the untouched part of the destination, an index written twice keeps (and
differentiates) the last value, a leaf that requires grad refuses the write while grad mode is on, and
backward refuses values an op saved before they were overwritten. A destination that is a NumPy array (a
tensor only among the values) gets NumPy's own function, on the values' data (a tensor that requires
grad cannot be written into an array: that would cut it from the graph).
"""
import numpy as np

from ..tensor import Tensor
from . import inplace
from ._util import as_input
from .index import setitem, take
from .shape import astype, broadcast_to, ravel

__all__ = ["copyto", "fill_diagonal", "place", "put", "putmask"]

_CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")


def _array(x):
    """A value for NumPy's own function (a destination that is not a tensor): a tensor's array (refused, with
    npgrad's error, for one that requires grad)."""
    return np.asarray(x) if isinstance(x, Tensor) else x


def _values(v, n, dtype, name):
    """The first ``n`` elements of ``v`` flattened and repeated cyclically, as ``dtype`` (NumPy's flat
    assignment: ``a.flat[idx] = v``)."""
    v = ravel(as_input(v, name))
    if v.dtype != dtype:
        v = astype(v, dtype)
    if v.size == n:
        return v
    return take(v, np.arange(n) % v.size) if v.size else v


def _check_writable(a, values, name):
    """The leaf and read-only checks naming ``name``, made before anything is worked out: as in PyTorch (a leaf
    that requires grad) and NumPy (a read-only array), a write that turns out to touch no element is refused
    too."""
    if inplace.is_recording(a, values):
        inplace.check_leaf(a, name)
    if not a.data.flags.writeable:
        raise inplace.read_only(a, name)


def _write(a, key, values, name):
    """``a[key] = values``, with the leaf and read-only checks naming ``name``."""
    _check_writable(a, values, name)
    setitem(a, key, values)


def _flat_key(a, flat):
    """The key of ``a.flat[flat]`` (C order of ``a``'s shape, whatever its memory layout)."""
    return np.unravel_index(flat, a.shape)


def copyto(dst, src, casting="same_kind", where=True):
    """Copy ``src`` (broadcast) into ``dst`` where ``where`` holds, as ``np.copyto``, refusing a dtype cast
    that ``casting`` does not allow. In place; the gradient flows to ``src`` where it was copied and to
    ``dst``'s previous values elsewhere."""
    if casting not in _CASTINGS:
        raise ValueError(f"copyto: casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe' "
                         f"(got {casting!r})")
    wd = where.data if isinstance(where, Tensor) else np.asarray(where)
    if not isinstance(dst, Tensor):
        return np.copyto(dst, _array(src), casting=casting, where=wd)
    _check_writable(dst, src, "copyto")
    try:
        wd = wd.astype(bool, casting="safe")
    except TypeError as e:
        raise TypeError(f"copyto: {e}") from None
    probe = np.empty((), (src.data if isinstance(src, Tensor) else np.asarray(src)).dtype) \
        if isinstance(src, Tensor) or not isinstance(src, (int, float, complex)) else src
    try:
        np.copyto(np.empty((), dst.dtype), probe, casting=casting)  # NumPy's verdict on the dtypes (weak scalars)
    except TypeError as e:
        raise TypeError(f"copyto: {e}") from None
    src = as_input(src, "copyto")
    while src.ndim > dst.ndim and src.shape[0] == 1:  # (NumPy's assignment drops leading size-1 axes)
        src = src.reshape(src.shape[1:])
    for what, shape in (("input array", src.shape), ("where mask", wd.shape)):
        try:
            ok = np.broadcast_shapes(shape, dst.shape) == dst.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"copyto: could not broadcast {what} from shape {shape} into shape {dst.shape}")
    if src.dtype != dst.dtype:
        src = astype(src, dst.dtype)
    if wd.all():
        _write(dst, Ellipsis, src, "copyto")
    elif wd.any():
        mask = np.broadcast_to(wd, dst.shape)
        _write(dst, mask, broadcast_to(src, dst.shape)[mask], "copyto")


def fill_diagonal(a, val, wrap=False):
    """Write ``val`` (flattened, repeated as needed) on the main diagonal of ``a``, as ``np.fill_diagonal``:
    ``a[i, i]`` for 2-D ``a`` (a tall matrix's diagonal starts again below the square with ``wrap=True``),
    ``a[i, ..., i]`` for equal-length dims. In place; differentiable in ``val`` and the rest of ``a``."""
    if not isinstance(a, Tensor):
        return np.fill_diagonal(a, _array(val), wrap=wrap)
    _check_writable(a, val, "fill_diagonal")
    if a.ndim < 2:
        raise ValueError(f"fill_diagonal: array must be at least 2-d, got shape {a.shape}")
    end = None
    if a.ndim == 2:
        step = a.shape[1] + 1
        if not wrap:
            end = a.shape[1] * a.shape[1]  # a tall matrix's diagonal does not wrap around
    else:
        if len(set(a.shape)) != 1:
            raise ValueError(f"fill_diagonal: All dimensions of input must be of equal length, got shape {a.shape}")
        step = 1 + int(np.cumprod(a.shape[:-1]).sum())
    flat = np.arange(a.size)[:end:step]
    vals = _values(val, flat.size, a.dtype, "fill_diagonal")
    if flat.size and vals.size:
        _write(a, _flat_key(a, flat), vals, "fill_diagonal")


def put(a, ind, v, mode="raise"):
    """``a.flat[ind] = v`` (``v`` repeated as needed), as ``np.put``; ``mode`` handles indices out of range:
    'raise', 'wrap' (modulo the size) or 'clip' (to the ends; no negative indexing). Where an index repeats,
    the last value wins and gets the gradient. In place; differentiable in ``v`` and the rest of ``a``."""
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"put: clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    if not isinstance(a, Tensor):
        return np.put(a, _array(ind), _array(v), mode=mode)
    _check_writable(a, v, "put")
    idx = np.asarray(ind.data if isinstance(ind, Tensor) else ind)
    if idx.dtype.kind not in "biu":
        idx = idx.astype(np.intp)  # (NumPy casts float indices too)
    idx = idx.astype(np.intp).reshape(-1)
    n = a.size
    if idx.size and n == 0:
        raise IndexError("put: cannot replace elements of an empty array")
    v = as_input(v, "put")
    if not v.size:  # nothing to write (NumPy checks no index then)
        return
    if mode == "raise":
        bad = idx[(idx < -n) | (idx >= n)]
        if bad.size:
            raise IndexError(f"put: index {bad[0]} is out of bounds for axis 0 with size {n}")
        idx = idx % n if n else idx
    else:
        idx = idx % n if mode == "wrap" else np.clip(idx, 0, n - 1)
    if not idx.size:
        return
    vals = _values(v, idx.size, a.dtype, "put")
    if a.ndim == 0:  # one element: the last write wins
        _write(a, (), vals[-1], "put")
        return
    _write(a, _flat_key(a, idx), vals, "put")


def _safe_values(values, a, name):
    """The values of ``putmask`` / ``place``: an array or tensor must cast safely to ``a``'s dtype (NumPy's rule
    for these two), while Python numbers and lists are converted to it."""
    if isinstance(values, (Tensor, np.ndarray)):
        if not np.can_cast(values.dtype, a.dtype, "safe"):
            raise TypeError(f"{name}: Cannot cast array data from {values.dtype!r} to {a.dtype!r} according to the "
                            f"rule 'safe'")
        return ravel(as_input(values, name))
    return ravel(as_input(np.asarray(values, dtype=a.dtype), name))


def _mask_of(mask, a, name):
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.size != a.size:
        raise ValueError(f"{name}: mask and data must be the same size (mask {m.shape}, data {a.shape})")
    return m.astype(bool).reshape(a.shape)


def putmask(a, mask, values):
    """``a.flat[n] = values.flat[n % values.size]`` wherever ``mask.flat[n]`` is true, as ``np.putmask`` (the
    values are matched to positions, not to the true entries; ``place`` takes them in order). Array or tensor
    values must cast safely to ``a``'s dtype, as in NumPy. In place; differentiable in ``values`` and the rest
    of ``a``."""
    if not isinstance(a, Tensor):
        return np.putmask(a, _array(mask), _array(values))
    _check_writable(a, values, "putmask")
    m = _mask_of(mask, a, "putmask")
    pos = np.flatnonzero(m)
    values = _safe_values(values, a, "putmask")
    if not pos.size or not values.size:
        return
    vals = take(values, pos % values.size)
    _write(a, m, vals if vals.dtype == a.dtype else astype(vals, a.dtype), "putmask")


def place(arr, mask, vals):
    """Write the first N elements of ``vals`` (repeated as needed) where ``mask`` is true, N being the number of
    true entries, as ``np.place`` (array or tensor values must cast safely to ``arr``'s dtype). In place;
    differentiable in ``vals`` and the rest of ``arr``."""
    if not isinstance(arr, Tensor):
        return np.place(arr, _array(mask), _array(vals))
    _check_writable(arr, vals, "place")
    m = _mask_of(mask, arr, "place")
    count = int(m.sum())
    v = _safe_values(vals, arr, "place")
    if count and not v.size:
        raise ValueError("place: Cannot insert from an empty array!")
    if count:
        _write(arr, m, _values(v, count, arr.dtype, "place"), "place")


def numpy_functions():
    """The ``np.X -> npg.X`` entries for ``__array_function__``."""
    return {getattr(np, name): globals()[name] for name in __all__}


def attach(T):
    """ndarray's ``t.put(indices, values, mode='raise')`` (NumPy's, in place; not PyTorch's ``put``)."""
    T.put = lambda self, indices, values, mode="raise": put(self, indices, values, mode=mode)
    T.put.__doc__ = "``np.put(self, indices, values, mode)``: in place, as ``ndarray.put``."
