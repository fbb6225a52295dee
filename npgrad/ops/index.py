"""Indexing, gathering and scattering. ``x[key]`` accepts every key NumPy accepts.

The gradient of a read ``x[key]`` is a scatter-add of ``g`` into zeros of ``x``'s shape:
a plain assignment when no position can repeat (basic keys, boolean masks); when integer
arrays may repeat an index, repeated positions accumulate: row lookups ``x[idx]`` (embeddings)
use ``bincount`` (float64) or sort + ``np.add.reduceat`` (float32), whichever measured faster,
and other keys a ``bincount`` over flat positions (``np.add.at`` measured slower).
"""
import importlib
import sys

import numpy as np

from ..autograd import versions as _versions
from ..autograd.lazy_grads import Scatter
from ..autograd.grad_mode import _state
from ..tensor import Tensor, _make, _record, _wrap
from . import inplace
from ._util import as_input, batching_rule, normalize_one_axis, zero_d_axis

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


def normalize_key(key):
    """A key NumPy understands: Tensors become arrays, lists and tuples inside a key become arrays
    (NumPy's rule), so that every integer array in the key is visible to the backward pass."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            k = k.data
        elif isinstance(k, (list, tuple)):
            k = _sequence_index(k)
        out.append(k)
    return tuple(out)


def _sequence_index(k):
    try:
        arr = np.asarray([a.data if isinstance(a, Tensor) else a for a in k])
    except (ValueError, TypeError):
        raise IndexError(f"index {k!r}: a list used as an index must be rectangular (all rows the same "
                         f"length) and hold only integers or booleans") from None
    if arr.size == 0 and arr.dtype.kind not in "biu":
        return arr.astype(np.intp)
    if arr.dtype.kind not in "biu":
        raise IndexError(f"index {k!r}: only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) "
                         f"and integer or boolean arrays are valid indices, not a list of {arr.dtype}")
    return arr


def _has_int_array(key):
    return any(isinstance(k, np.ndarray) and k.dtype.kind in "iu" and k.ndim > 0 for k in key)


@batching_rule("scatter_add")
def scatter_add(shape, key, g):
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated positions accumulate).

    Works on arrays and on Tensors (then it is itself differentiable: its VJP is ``gg[key]``).
    """
    if isinstance(g, Tensor):
        return _make(_scatter_add_raw(shape, key, g.data), "scatter_add", (g,), (g.data,),
                     (lambda gg, y, g: gg[key],), (lambda t, y, g: scatter_add(shape, key, t),))
    return _scatter_add_raw(shape, key, g)


def _scatter_add_raw(shape, key, g):
    g = np.asarray(g)
    if not _has_int_array(key):          # basic keys and boolean masks: no position repeats
        out = np.zeros(shape, dtype=g.dtype)
        out[key] = g
        return out
    if _is_row_lookup(key, len(shape)):  # x[idx] / x[idx, :] / x[idx, ...]: embedding lookups
        return _scatter_rows(shape, key[0], g)
    size = int(np.prod(shape, dtype=np.int64))
    flat = np.arange(size).reshape(shape)[key].ravel()
    if g.dtype.kind == "c":  # bincount weights are real: the real and imaginary parts apart
        out = np.bincount(flat, weights=g.real.ravel(), minlength=size) + 1j * np.bincount(
            flat, weights=g.imag.ravel(), minlength=size)
    else:
        out = np.bincount(flat, weights=g.ravel(), minlength=size)
    return out.astype(g.dtype, copy=False).reshape(shape)


def _is_row_lookup(key, ndim):
    k0 = key[0]
    if not (isinstance(k0, np.ndarray) and k0.dtype.kind in "iu" and ndim >= 1):
        return False
    return all(k is Ellipsis or (isinstance(k, slice) and k == slice(None)) for k in key[1:])


def _scatter_rows(shape, idx, g):
    """Zeros of ``shape`` with the rows of ``g`` added at rows ``idx`` of the first axis.

    Measured on W (V, D), idx (B, T) (bincount over flat positions vs ``np.add.at`` vs sort +
    ``np.add.reduceat``; e.g. V=50000, D=128, B=32, T=128: float64 6.3 / 10.3 / 10.5 ms, float32
    10.3 / 6.4 / 4.8 ms; V=65, D=384, B=64, T=256: float64 18.7 / 54 / 33 ms, float32 26 / 54 / 18 ms):
    bincount wins in float64 (its native accumulator), sort + reduceat in float32, where bincount
    pays for a float64 copy of the whole (V, D) result.
    """
    n_rows = shape[0]
    row = int(np.prod(shape[1:], dtype=np.int64))
    rows = idx.ravel().astype(np.intp, copy=False)
    if rows.size == 0 or row == 0:
        return np.zeros(shape, dtype=g.dtype)
    rows = np.where(rows < 0, rows + n_rows, rows)
    g2 = g.reshape(rows.size, row)
    if rows.size <= 64 and len(set(rows.tolist())) == rows.size:  # a few distinct rows: one assignment (the
        out = np.zeros((n_rows, row), dtype=g.dtype)                 # paths below take ~10 NumPy calls)
        out[rows] = g2
        return out.reshape(shape)
    if g.dtype == np.float64:
        flat = (rows[:, None] * row + np.arange(row)).ravel()
        return np.bincount(flat, weights=g2.ravel(), minlength=n_rows * row).reshape(shape)
    order = np.argsort(rows, kind="stable")
    srt = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], srt[1:] != srt[:-1])))
    out = np.zeros((n_rows, row), dtype=g.dtype)
    out[srt[starts]] = np.add.reduceat(g2[order], starts, axis=0)
    return out.reshape(shape)


def getitem(x, key):
    """``x[key]`` for any NumPy key; the result is a view for basic keys, as in NumPy (and a 0-d view, as
    in PyTorch, where NumPy would give a scalar)."""
    if _tm._VMAP:
        r = _tm._vmap_call("getitem", getitem, (x, key), None)
        if r is not NotImplemented:
            return r
    x = as_input(x, "getitem")
    key = normalize_key(key)
    basic = not _has_advanced(key)
    if basic and Ellipsis not in key and sum(k is not None for k in key) >= x.ndim:
        key = key + (Ellipsis,)  # every axis indexed by an int: x.data[key] would be a copied NumPy scalar
    try:
        out = x.data[key]
    except IndexError as e:
        raise IndexError(f"index {key if len(key) > 1 else key[0]!r} is invalid for a tensor of shape "
                         f"{x.shape}: {e}") from None
    if x._requires_grad and _state.enabled:
        if basic and x.data.size > _SCATTER_MIN and not any(isinstance(k, np.ndarray) for k in key):
            vjp = (lambda g, y, x: scatter_add(x.shape, key, g) if isinstance(g, Tensor) else Scatter(x.shape, key, g))
        else:
            vjp = (lambda g, y, x: scatter_add(x.shape, key, g))
        t = _record(out, "getitem", (x,), (x.data,), (vjp,), _getitem_jvps(key))
    elif _tensor_mod._FW:  # forward AD: the tangent of x[key] is (a view of) the tangent's [key]
        t = _tensor_mod._propagate(_wrap(out), "getitem", (x,), None, _getitem_jvps(key))
    else:
        t = _wrap(out)
    return inplace.view_of(t, x, lambda a: a[key]) if basic else t


def _getitem_jvps(key):
    return (lambda t, y, x: getitem(t, key),)


_versions.reads("getitem", "")
_SCATTER_MIN = 1024  # a basic read of a larger tensor passes its gradient on as a Scatter (autograd/engine.py)


def _has_advanced(key):
    return any(isinstance(k, np.ndarray) or isinstance(k, (bool, np.bool_)) for k in key)


def setitem(x, key, value):
    """``x[key] = value``, written into ``x``'s memory (and so into its base's and views', as in NumPy).
    In a graph the gradient flows to the old contents outside ``key`` and to ``value`` inside it (where
    an index repeats, to the last write, which NumPy keeps). A leaf that requires grad refuses, as in
    PyTorch."""
    if _tm._VMAP:   # a batched tensor written: _vmap_write.setitem_rule
        r = _tm._vmap_call("setitem", setitem, (x, key, value), None)
        if r is not NotImplemented:
            return
    key = normalize_key(key)
    vd = value.data if isinstance(value, Tensor) else value
    if not inplace.is_recording(x, value):
        if not x.data.flags.writeable:
            raise inplace.read_only(x, "setitem")
        _write(x.data, key, vd)
        _versions.bump(x.data, "setitem")  # ops that saved this memory must not use it in backward
        return
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"setitem: cannot assign a tensor that requires grad into a {x.dtype} tensor")

    def apply(old):
        _write(x.data, key, vd)
        return _make(x.data, "setitem", (value, old), (vd, x.data), _SETITEM_VJPS[_has_int_array(key)](key),
                     _setitem_jvps(key))
    inplace.write(x, "setitem", apply)


def _write(a, key, vd):
    try:
        a[key] = vd
    except (IndexError, ValueError, TypeError) as e:
        raise type(e)(f"setitem: cannot assign a value of shape {np.shape(vd)} to index {key!r} of a tensor of "
                      f"shape {a.shape}: {e}") from None


def _setitem_vjps(last_write):
    """The VJPs of ``x[key] = value``, for the parents ``(value, old contents)`` in that order: the value's
    gradient is copied out of ``g`` first, so that the old contents' VJP may then zero ``key`` in ``g``
    itself when nothing else holds ``g`` (a fill loop then costs what it writes in backward too)."""
    def make(key):
        def vjp_value(g, y, value, old):
            gv = _last_write(g, key, old.shape) if last_write else g[key]
            if gv.ndim < np.ndim(value):           # NumPy drops leading size-1 dims of the value
                gv = gv.reshape((1,) * (np.ndim(value) - gv.ndim) + gv.shape)
            return gv if isinstance(gv, Tensor) else np.array(gv)  # a copy: g may be zeroed next

        def vjp_old(g, y, value, old):
            if isinstance(g, Tensor):  # create_graph: a constant mask keeps the result differentiable in g
                mask = np.ones(g.shape, dtype=bool)
                mask[key] = False
                return np.where(mask, g, 0)
            if g.__class__ is not np.ndarray:  # a NumPy scalar (0-d arithmetic gives them): not writable
                out = np.array(g)
            else:
                out = g if inplace.alone(g, sys.getrefcount(g)) else g.copy()
            out[key] = 0
            return out
        return (vjp_value, vjp_old)
    return make


_SETITEM_VJPS = (_setitem_vjps(False), _setitem_vjps(True))


def _setitem_jvps(key):
    """The JVP of ``x[key] = value`` (parents ``(value, old contents)``): the same write, on the tangents."""
    def jvp(tans, y, value, old):
        tv, to = tans
        return _assign(_wrap(np.zeros(y.shape, y.dtype)) if to is None else to, key, 0.0 if tv is None else tv)
    return jvp
_versions.reads("setitem", "")  # shapes only: the old contents and the value are not read


def _last_write(g, key, shape):
    """The gradient of the value written by ``out[key] = v``: ``g[key]``, except that a position
    written several times (repeated indices) passes its gradient only to the last write, as NumPy
    keeps only the last one."""
    ids = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)[key]
    flat = ids.ravel()
    last = np.zeros(flat.shape, dtype=bool)
    _, first_in_reversed = np.unique(flat[::-1], return_index=True)
    last[flat.size - 1 - first_in_reversed] = True
    return np.where(last.reshape(ids.shape), g[key], 0)


@batching_rule("assign")
def _assign(x, key, value):
    """A copy of ``x`` with ``value`` written at ``key`` (functional; for put_along_axis)."""
    vd = value.data if isinstance(value, Tensor) else np.asarray(value)
    out = x.data.copy()
    _write(out, key, vd)
    return _make(out, "setitem", (value, x), (vd, x.data), _SETITEM_VJPS[_has_int_array(key)](key),
                 _setitem_jvps(key))


@batching_rule("take")
def take(x, indices, axis=None, out=None, mode="raise"):
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when None), as ``np.take`` (``mode``
    'raise', 'wrap' or 'clip'; boolean indices are the integers 0 and 1, as NumPy casts them)."""
    if out is not None:
        raise TypeError("take: out= is not supported (npgrad's ops return new tensors)")
    x = as_input(x, "take")
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    axis = zero_d_axis(axis, x.ndim)
    if axis is None:
        return getitem(x.reshape(-1), (take_indices(idx, x.size, mode),))
    ax = normalize_one_axis(axis, x.ndim, "take")
    return getitem(x, (slice(None),) * ax + (take_indices(idx, x.shape[ax], mode),))


def take_indices(idx, n, mode="raise"):
    """``np.take``'s indices as an integer array for an axis of length ``n``: booleans cast to 0 / 1, an empty
    list's float64 array to integers (NumPy's ``same_kind`` cast), out-of-range ones wrapped or clipped by
    ``mode``."""
    if idx.dtype.kind == "b" or (idx.size == 0 and idx.dtype.kind not in "iu"):
        idx = idx.astype(np.intp)
    elif idx.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, not {idx.dtype}")
    if mode == "raise":
        if idx.size and (idx.max() >= n or idx.min() < -n):
            bad = idx.max() if idx.max() >= n else idx.min()
            raise IndexError(f"take: index {bad} is out of bounds for an axis of size {n}")
        return idx
    if mode not in ("wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    if n == 0 and idx.size:
        raise IndexError("take: cannot do a non-empty take from an empty axis")
    return idx % n if mode == "wrap" else np.clip(idx, 0, max(n - 1, 0))


@batching_rule("take_along_axis")
def take_along_axis(x, indices, axis=-1):
    """Gather values along ``axis`` with an index array of the same rank, as ``np.take_along_axis`` (``axis=-1``
    by default, as in NumPy 2.3+)."""
    x = as_input(x, "take_along_axis")
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise IndexError(f"take_along_axis: indices must be integers, not {idx.dtype}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None the indices must be 1-D, got shape {idx.shape}")
        return take_along_axis(x.reshape(-1), idx, 0)
    ax = normalize_one_axis(axis, x.ndim, "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of rank {idx.ndim} for a tensor of rank {x.ndim}")
    return getitem(x, _along_axis_key(x.shape, idx, ax))


def _along_axis_key(shape, idx, ax):
    key = []
    for i in range(len(shape)):
        if i == ax:
            key.append(idx)
        else:
            s = [1] * len(shape)
            s[i] = shape[i]
            key.append(np.arange(shape[i]).reshape(s))
    return tuple(key)


gather = take_along_axis


@batching_rule("put_along_axis")
def put_along_axis(x, indices, values, axis):
    """A copy of ``x`` with ``values`` (broadcast to ``indices``) written at ``indices`` along
    ``axis``, or into the flattened tensor when ``axis`` is None: a functional
    ``np.put_along_axis``, differentiable in ``x`` and ``values``. Where an index repeats, the
    last write wins (as in NumPy) and only it gets the gradient."""
    x = as_input(x, "put_along_axis")
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise IndexError(f"put_along_axis: indices must be integers, not {idx.dtype}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"put_along_axis: with axis=None the indices must be 1-D, got shape {idx.shape}")
        return _assign(x.reshape(-1), (idx,), values).reshape(x.shape)
    ax = normalize_one_axis(axis, x.ndim, "put_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(f"put_along_axis: indices of rank {idx.ndim} for a tensor of rank {x.ndim}")
    return _assign(x, _along_axis_key(x.shape, idx, ax), values)
