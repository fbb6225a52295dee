"""Batching rules for writes: ``x[key] = value`` (setitem, into the batched tensor's inner tensor by the in-place
machinery) and ``_assign(x, key, value)`` (the functional write of scatter, index_fill and setitem's JVP).

A key of ints, slices, integer arrays, bool mask arrays (their ``nonzero()`` arrays), 0-d integer arrays (ints)
and an Ellipsis (slices) is written at ``(:,) + key``: slices stay slices. A key with ``None`` or a scalar bool,
or with a batched index tensor, is written at the flat positions it selects in each sample (NumPy's reading of
the key on ``arange(n)``, batched as getitem reads it), unravelled, with ``arange(B)`` for the batch axis: the
selection is then ``(B,) + selection`` of one sample, whatever NumPy's rules put where. An index tensor batched
at another vmap level (too) stays a tensor in the write at ``(arange(B),) + key``: that level's rule writes it
(scalar bools beside it: into a view with their new axes, indexed by ``zeros(1)`` / ``zeros(0)``, ``_bool_split``).
A batched bool mask selects a different number of elements per sample: refused, as torch.func.vmap refuses it.
Registered by ``_vmap_rules.py``."""
import math

import numpy as np

from . import func_vmap as fv
from ._vmap_gather import _adv_items, _batched_key, _bool_split
from ._vmap_rules import _batched_at, _bind, _lifted, _only_batched, _ops, _size, loop_rule
from .func_vmap import _at, _batched, _pad
from .tensor import Tensor


def assign_rule(op, level, args, kwargs):
    """``_assign(x, key, value)`` with a batched ``x``, ``value`` or index in ``key``: one write into ``x``
    lifted to the batch."""
    ba = _bind(op, args, kwargs)
    x, key, value = ba.arguments["x"], ba.arguments["key"], ba.arguments["value"]
    parts = _write_parts(level, x, key, value) if _only_batched(level, ba, ("x", "key", "value")) else None
    if parts is None:
        return loop_rule(op, level, args, kwargs)
    wkey, vi, size, first = parts
    xl = _lifted(x, level, size)
    if first is None:
        return _batched(op(xl, wkey, vi), level)
    ops = _ops()                                         # the new axes of scalar bools: written, then dropped
    return _batched(ops.reshape(op(ops.getitem(xl, (slice(None),) + first), wkey, vi), tuple(xl.shape)), level)


def setitem_rule(op, level, args, kwargs):
    """``x[key] = value`` on a batched ``x``: the same write into ``x``'s inner tensor. An unbatched ``x``
    cannot hold a batched value or key (torch.func.vmap refuses too)."""
    x, key, value = args
    if not _batched_at(x, level):
        raise RuntimeError("vmap: x[key] = value with a batched value (or key) and an unbatched x is not possible: "
                           "the result would need a batch dimension x does not have (torch.func.vmap refuses this "
                           "too); write into a batched copy (e.g. x + zeros of the batch) or use index_put / scatter")
    wkey, vi, _, first = _write_parts(level, x, key, value)
    op(x._inner if first is None else _ops().getitem(x._inner, (slice(None),) + first), wkey, vi)  # (a view)


def _write_parts(level, x, key, value):
    """The key of the batched write into ``x`` lifted to the batch, the value aligned with its selection, the
    batch size, and None or the basic key (after the batch axis) of the view the write goes into (the new axes of
    scalar bools beside index tensors batched at another level). A key or value that does not fit a sample raises
    the op's own error for the first sample it does not fit."""
    keys = key if isinstance(key, tuple) else (key,)
    size = _size(fv._flatten([x, list(keys), value])[0], level)
    if any(type(k) is fv.BatchedTensor and (not _batched_at(k, level) or type(k._inner) is fv.BatchedTensor)
           for k in keys):
        split = _bool_split(keys)
        if split is None:
            return _nested_index_parts(level, tuple(x.shape), keys, value, size) + (None,)
        shape = np.broadcast_to(np.empty((), np.int8), tuple(x.shape))[split[0]].shape
        return _nested_index_parts(level, shape, split[1], value, size) + (split[0],)
    shape = tuple(x.shape)
    if any(_batched_at(k, level) for k in keys):
        return _batched_index_parts(level, x, keys, value, size) + (None,)
    from .ops.index import normalize_key
    nkey = normalize_key(keys)
    try:
        sel = np.broadcast_to(np.empty((), np.int8), shape)[nkey].shape
    except (IndexError, ValueError, TypeError):
        _first_bad_sample(level, keys, shape, value, size)
    if any(isinstance(k, np.ndarray) and k.dtype == bool and k.ndim for k in nkey):
        _probe(nkey, shape, value)
    items = _plain_items(nkey, len(shape))
    if items is None:                                   # None or a scalar bool: the flat positions
        grid = np.arange(math.prod(shape)).reshape(shape)[nkey]
        return _grid_key(grid, shape, size, sel), _aligned(level, keys, shape, value, size, sel, 0), size, None
    pos = [i for i, k in enumerate(items) if isinstance(k, np.ndarray)]
    apart = bool(pos) and pos != list(range(pos[0], pos[-1] + 1))
    lead = len(np.broadcast_shapes(*(items[i].shape for i in pos))) if apart else 0
    return (slice(None),) + items, _aligned(level, keys, shape, value, size, sel, lead), size, None


def _plain_items(nkey, nd):
    """A normalized key as ints, slices and integer arrays (masks as their ``nonzero()``, 0-d integer arrays as
    ints, the Ellipsis as slices): NumPy's meaning of the key, which has been checked against the shape. None when
    the key has ``None`` or a scalar bool."""
    items = []
    for k in nkey:
        if k is None or isinstance(k, (bool, np.bool_)) or (isinstance(k, np.ndarray) and k.dtype == bool
                                                           and k.ndim == 0):
            return None
        if isinstance(k, np.ndarray) and k.dtype == bool:
            items += list(np.nonzero(k))
        elif isinstance(k, np.ndarray) and k.ndim == 0:
            items.append(int(k))
        else:
            items.append(k)
    ell = [i for i, k in enumerate(items) if k is Ellipsis]
    if ell:
        items[ell[0]:ell[0] + 1] = [slice(None)] * (nd - len(items) + 1)
    if any(isinstance(k, np.ndarray) for k in items):  # integers among index arrays are index arrays too
        items = [np.asarray(k, np.intp) if isinstance(k, (int, np.integer)) else k for k in items]
    return tuple(items)


def _batched_index_parts(level, x, keys, value, size):
    """A key with a batched index tensor: each sample's flat positions, read as getitem reads a batched key."""
    if any(_batched_at(k, level) and k._inner.dtype == bool for k in keys):
        _mask_error()
    shape = tuple(x.shape)
    flat = np.arange(math.prod(shape)).reshape(shape)
    split = _bool_split(keys)                           # scalar bools: new axes of the positions, indexed
    try:
        if split is not None:
            flat = flat[split[0]]
        key_b, _, _, pre, _ = _batched_key(_adv_items(level, split[1] if split else keys), flat.ndim, size, keys)
        grid = flat[tuple(key_b)]
    except (IndexError, ValueError, TypeError):
        _first_bad_sample(level, keys, shape, value, size)
    if pre:
        grid = np.moveaxis(grid, pre, 0)
    sel = grid.shape[1:]
    return _grid_key(grid, shape, size, sel), _aligned(level, keys, shape, value, size, sel, 0), size


def _nested_index_parts(level, shape, keys, value, size):
    """A key with an index tensor batched at another vmap level (too): the write at ``(arange(B),) + key`` with
    the index arrays kept as tensors (the other level's rule writes them), as getitem reads a batched key; the
    batch index in front puts the index arrays' axes in front of the selection, so the value's move there."""
    from .ops.index import normalize_key
    items = []
    for k in keys:
        if type(k) is fv.BatchedTensor:
            if k.dtype == bool:
                _mask_error()
            items.append((k._inner, True) if _batched_at(k, level) else (k, False))
        elif k is None or k is Ellipsis or isinstance(k, slice):
            items.append((k, False))
        else:
            v = normalize_key((k,))[0]                   # (no scalar bool: _bool_split took them)
            items += [(a, False) for a in np.nonzero(v)] if isinstance(v, np.ndarray) and v.dtype == bool \
                else [(v, False)]
    zkey = tuple(np.zeros(v.shape[1:] if b else v.shape, np.intp) if isinstance(v, Tensor) else v for v, b in items)
    vs = tuple(value.shape) if isinstance(value, Tensor) else np.shape(value)
    try:
        sel = np.broadcast_to(np.empty((), np.int8), shape)[zkey].shape
    except (IndexError, ValueError, TypeError):
        from .ops.index import _write
        _write(np.zeros(shape), zkey, np.zeros(vs))    # the op's own error (shapes only)
        raise
    key_b, adjacent, first, pre, n = _batched_key(items, len(shape), size, keys)
    vi = _aligned(level, zkey, shape, value, size, sel, 0, symbolic=True)
    if adjacent and pre:                                 # (B, before, index axes, after) -> (B, index axes, ...)
        ops = _ops()
        if not _at(value, level)[1]:
            full = (1,) + (1,) * (len(sel) - len(vi.shape if isinstance(vi, Tensor) else np.shape(vi))) + \
                tuple(vi.shape if isinstance(vi, Tensor) else np.shape(vi))
            vi = ops.reshape(vi, full) if isinstance(vi, Tensor) else np.reshape(vi, full)
        perm = (0,) + tuple(range(1 + pre, 1 + pre + n)) + tuple(range(1, 1 + pre)) + tuple(
            range(1 + pre + n, 1 + len(sel)))
        vi = ops.transpose(vi, perm) if isinstance(vi, Tensor) else np.transpose(vi, perm)
    return (np.arange(size).reshape((size,) + (1,) * n),) + tuple(key_b), vi, size


def _mask_error():
    raise RuntimeError("vmap: setitem (x[mask] = value) with a batched boolean mask selects a different number of "
                       "elements in each sample; this is not supported inside vmap (as in torch.func). Use "
                       "npg.where(mask, value, x) instead")


def _grid_key(grid, shape, size, sel):
    """The key of the write at the flat positions ``grid`` (per sample ``sel``, or batched ``(size,) + sel``)
    of samples of ``shape``: its selection is ``(size,) + sel``."""
    if grid.ndim == len(sel) and shape:
        return (slice(None),) + np.unravel_index(grid, shape)
    grid = np.broadcast_to(grid, (size,) + sel)
    b = np.broadcast_to(np.arange(size).reshape((size,) + (1,) * len(sel)), grid.shape)
    return (b,) + (np.unravel_index(grid, shape) if shape else ())


def _aligned(level, keys, shape, value, size, sel, lead, symbolic=False):
    """The value shaped to broadcast against the batched selection ``sel[:lead] + (size,) + sel[lead:]`` (the
    batch axis behind index arrays that are apart: NumPy puts them in front). NumPy drops a value's leading
    size-1 dims beyond the selection's."""
    vs = tuple(value.shape) if isinstance(value, Tensor) else np.shape(value)
    extra = len(vs) - len(sel)
    core = vs[max(extra, 0):]
    try:
        fits = np.broadcast_shapes(core, sel) == tuple(sel) and not any(n != 1 for n in vs[:max(extra, 0)])
    except ValueError:
        fits = False
    if not fits and symbolic:                            # keys: the per-sample key of zero index arrays
        from .ops.index import _write
        _write(np.zeros(shape), keys, np.zeros(vs))
    if not fits:
        _first_bad_sample(level, keys, shape, value, size)
    ops = _ops()
    vi, bv = _at(value, level)
    if bv:
        vi = _pad(ops.reshape(vi, (size,) + core) if extra > 0 else vi, len(sel) - len(core))
        return ops.moveaxis(vi, 0, lead) if lead else vi
    full = (1,) * (len(sel) - len(core)) + core
    want = full[:lead] + (1,) + full[lead:] if lead else core
    if want == vs:
        return vi
    return ops.reshape(vi, want) if isinstance(vi, Tensor) else np.reshape(vi, want)


def _probe(nkey, shape, value):
    """A key with a bool mask: the write once on one sample's shape (int8 zeros), for NumPy's own errors (a key of
    one mask of the sample's rank takes only a 0-d or 1-d value, where ``nonzero()``'s arrays would take more)."""
    from .ops.index import _write
    vs = tuple(value.shape) if isinstance(value, Tensor) else np.shape(value)
    _write(np.zeros(shape, np.int8), nkey, np.broadcast_to(np.zeros((), np.int8), vs))


def _first_bad_sample(level, keys, shape, value, size):
    """Raise the write's own error for the first sample whose key or value does not fit (the write on zeros)."""
    from .ops.index import _write, normalize_key
    vs = tuple(value.shape) if isinstance(value, Tensor) else np.shape(value)
    for s in range(max(size, 1)):
        ks = tuple(k._inner.data[s] if _batched_at(k, level) else k for k in keys)
        _write(np.zeros(shape), normalize_key(ks), np.zeros(vs))
    raise IndexError(f"setitem: index {keys!r} does not fit a tensor of shape {shape} with a value of shape {vs}")


RULES = {"assign": assign_rule, "setitem": setitem_rule}
