"""Batching rules that gather: ``x[key]`` with advanced keys (integer arrays, boolean masks, batched index
tensors), ``take``, ``take_along_axis`` / ``put_along_axis``, ``interp`` (a search, then gathers), and
``scatter_add`` (getitem's VJP) and torch's dim-indexed ``gather`` / ``scatter`` / ``scatter_add`` with a
batched index. Writes (``_assign``, setitem): ``_vmap_write.py``. Registered by ``_vmap_rules.py``."""
import inspect

import numpy as np

from . import _vmap_basic, func_vmap as fv
from ._vmap_rules import (_batched_at, _bind, _flat, _lifted, _name, _only_batched, _ops, _sample_error, _size,
                          loop_rule)
from .ops._util import normalize_one_axis
from .func_vmap import _at, _batched, _pad
from .tensor import Tensor


def _mask_read_error():
    raise RuntimeError("vmap: indexing with a batched boolean mask gives a result whose shape depends on the data "
                       "of each sample; this is not supported inside vmap (as in torch.func). Use "
                       "npg.where(mask, x, 0) instead")


def _index_item(k, level):
    """One key item as (value, batched): a batched index's inner values, a Tensor's data, lists as arrays. An
    index tensor batched at another vmap level (too) stays a tensor (its inner one when batched at ``level``):
    the other level's rule reads it."""
    if type(k) is fv.BatchedTensor:
        if k.dtype == bool:
            _mask_read_error()
        if not _batched_at(k, level):
            return k, False
        return (k._inner, True) if type(k._inner) is fv.BatchedTensor else (k._inner.data, True)
    if isinstance(k, Tensor) or isinstance(k, (list, tuple)):
        from .ops.index import normalize_key
        return normalize_key((k,))[0], False
    return k, False


def _adv_items(level, keys):
    """A key's items as (value, batched) with bool masks as their ``nonzero()`` arrays, or None when the key has
    no index array or a scalar bool (the callers loop)."""
    items = []
    for k in keys:
        if k is None or k is Ellipsis or isinstance(k, slice):
            items.append((k, False))
            continue
        if isinstance(k, (bool, np.bool_)):
            return None
        v, b = _index_item(k, level)
        if isinstance(v, np.ndarray) and v.dtype == bool:
            if v.ndim == 0:
                return None
            items += [(a, False) for a in np.nonzero(v)]
        else:
            items.append((v, b))
    return items if any(isinstance(v, (np.ndarray, Tensor)) for v, _ in items) else None


def _bool_split(keys):
    """A key with scalar bools as two keys read one after the other, or None when it has none: NumPy reads a
    scalar bool as an index array of shape (1,) (True) or (0,) (False) into a new axis of size 1, so the first
    key (``None`` for each scalar bool, the rest slices) inserts those axes and the second indexes them with
    ``zeros(1)`` / ``zeros(0)``, the ``None``s of the key becoming slices; each item keeps its place, so NumPy
    puts the axes where it puts them for the key itself."""
    from .ops.index import normalize_key
    items = [k if type(k) is fv.BatchedTensor or k is None or k is Ellipsis or isinstance(k, slice)
             else normalize_key((k,))[0] for k in keys]

    def scalar_bool(k):
        return isinstance(k, (bool, np.bool_)) or (isinstance(k, np.ndarray) and k.dtype == bool and k.ndim == 0)
    if not any(scalar_bool(k) for k in items):
        return None
    first, second = [], []
    for k in items:
        if scalar_bool(k):
            first.append(None)
            second.append(np.zeros(1 if k else 0, np.intp))
        elif k is None or k is Ellipsis:
            first.append(k)
            second.append(slice(None) if k is None else k)
        else:
            nd = k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1
            first += [slice(None)] * nd
            second.append(k)
    return tuple(first), tuple(second)


def _batched_key(items, nd, size, key):
    """The items of a per-sample key of ``nd`` dims (from ``_adv_items``; index arrays may be Tensors batched at
    another vmap level, for the writes of ``_vmap_write.py``) with each batched index array shaped to
    broadcast as the batch axis in front of the others; also whether the arrays are adjacent, the number of
    (one-dim) items in front of them, and the number of their broadcast dims."""
    used = sum(1 for v, _ in items if v is not None and v is not Ellipsis)
    if used > nd:
        raise IndexError(f"too many indices for a tensor of {nd} dimensions: {key!r}")
    if any(v is Ellipsis for v, _ in items):
        e = next(i for i, (v, _) in enumerate(items) if v is Ellipsis)
        items = items[:e] + [(slice(None), False)] * (nd - used) + items[e + 1:]
    else:
        items = items + [(slice(None), False)] * (nd - used)
    items = [(np.asarray(v, dtype=np.intp), False) if isinstance(v, (int, np.integer)) else (v, b) for v, b in items]
    pos = [i for i, (v, _) in enumerate(items) if isinstance(v, (np.ndarray, Tensor))]
    shapes = [v.shape[1:] if b else v.shape for v, b in (items[i] for i in pos)]
    try:
        adv = np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes "
                         f"{shapes}") from None
    key_b = []
    for v, b in items:
        if b:
            v = v.reshape((size,) + (1,) * (len(adv) - (v.ndim - 1)) + v.shape[1:])
        key_b.append(v)
    adjacent = pos == list(range(pos[0], pos[-1] + 1))
    pre = sum(1 for v, _ in items[:pos[0]] if not isinstance(v, (np.ndarray, Tensor))) if adjacent else 0
    return key_b, adjacent, pos[0], pre, len(adv)


def getitem_rule(op, level, args, kwargs):
    """``x[key]`` with any NumPy key: basic keys shift past the batch axis; advanced keys (integer arrays,
    boolean masks, batched index tensors) get the batch as one more advanced index in front."""
    basic = _vmap_basic._getitem_rule(op, level, args, kwargs)
    if basic is not NotImplemented:
        return basic
    x, key = args[:2]
    keys = key if isinstance(key, tuple) else (key,)
    split = _bool_split(keys)
    if split is not None:                                   # scalar bools: new axes, then index arrays into them
        return op(op(x, split[0]), split[1])
    items = _adv_items(level, keys)
    if items is None:
        return loop_rule(op, level, args, kwargs)
    if sum(1 for v, _ in items if v is not None and v is not Ellipsis) > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {x.shape}: {key!r}")
    size = _size(fv._flatten([x, list(keys)])[0], level)
    key_b, adjacent, first, pre, n = _batched_key(items, x.ndim, size, key)
    if _batched_at(x, level):
        out = op(x._inner, (np.arange(size).reshape((size,) + (1,) * n),) + tuple(key_b))
        if adjacent and first > 0 and pre:  # the batched key's arrays are apart: NumPy put them first
            perm = (0,) + tuple(range(1 + n, 1 + n + pre)) + tuple(range(1, 1 + n)) + tuple(range(1 + n + pre,
                                                                                                 out.ndim))
            out = _ops().transpose(out, perm)
    else:
        out = op(x, tuple(key_b))
        if pre:
            out = _ops().moveaxis(out, pre, 0)
    return _batched(out, level)


def take_rule(op, level, args, kwargs):
    """``take``: an index into each sample's (flattened) axis, as a getitem (batched indices allowed)."""
    ba = _bind(op, args, kwargs)
    x, idx, axis = ba.arguments["x"], ba.arguments["indices"], ba.arguments["axis"]
    mode = ba.arguments.get("mode", "raise")
    ops = _ops()
    from .ops._util import normalize_one_axis, zero_d_axis
    from .ops.index import take_indices
    axis = zero_d_axis(axis, x.ndim)  # (axis 0 / -1 of a 0-d sample: the sample flattened, as take's)
    n = x.size if axis is None else x.shape[normalize_one_axis(axis, x.ndim, "take")]
    if type(idx) is fv.BatchedTensor:  # batched indices: cast / wrap / clip the samples' data
        if _batched_at(idx, level) and type(idx._inner) is not fv.BatchedTensor:
            from .tensor import _wrap
            idx = _batched(_wrap(take_indices(idx._inner.data, n, mode)), level)
    else:
        idx = take_indices(idx.data if isinstance(idx, Tensor) else np.asarray(idx), n, mode)
    if axis is None:
        return ops.reshape(x, (-1,))[(idx,)]
    ax = normalize_one_axis(axis, x.ndim, "take")
    return ops.getitem(x, (slice(None),) * ax + (idx,))


def _along_axis(op, level, x, idx, axis, name, values=None):
    """The batched ``x`` and ``indices`` of take/put_along_axis, and the shifted axis (the batch size from any
    batched one of ``x``, ``indices`` and put_along_axis's ``values``)."""
    size = _size([x, idx, values], level)
    idx_d, bi = (idx._inner.data, True) if _batched_at(idx, level) else (
        idx.data if isinstance(idx, Tensor) else np.asarray(idx), False)
    xi = _lifted(x, level, size)
    if axis is None:
        xi = _flat(xi)
        axis, nd = 0, 1
    else:
        nd = x.ndim
    if not bi:
        idx_d = np.broadcast_to(idx_d, (size,) + idx_d.shape)
    if idx_d.ndim - 1 != nd:
        raise ValueError(f"{name}: indices of rank {idx_d.ndim - 1} for a tensor of rank {nd}")
    from .ops._util import normalize_one_axis
    return xi, idx_d, normalize_one_axis(axis, nd, name) + 1, size


def take_along_axis_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    xi, idx, ax, _ = _along_axis(op, level, ba.arguments["x"], ba.arguments["indices"], ba.arguments["axis"],
                                 "take_along_axis")
    return _batched(op(xi, idx, ax), level)


def put_along_axis_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    x, values, axis = ba.arguments["x"], ba.arguments["values"], ba.arguments["axis"]
    xi, idx, ax, size = _along_axis(op, level, x, ba.arguments["indices"], axis, "put_along_axis", values)
    vi, bv = _at(values, level)
    if bv:
        vi = _pad(vi, idx.ndim - 1 - values.ndim)
    out = op(xi, idx, vi, ax)
    if axis is None:
        out = _ops().reshape(out, (size,) + tuple(x.shape))
    return _batched(out, level)


def _nd(v):
    return v.ndim if isinstance(v, Tensor) else np.ndim(v)


def interp_rule(op, level, args, kwargs):
    """interp: elementwise in ``x``; with batched sample points, one search of every sample's ``x`` in its own
    ``xp`` (a comparison against all points), then the same gathers and formula as ``interp``."""
    ba = _bind(op, args, kwargs)
    x, xp, fp, left, right = (ba.arguments[k] for k in ("x", "xp", "fp", "left", "right"))
    if not (_batched_at(xp, level) or _batched_at(fp, level)):
        if _batched_at(left, level) or _batched_at(right, level):
            return loop_rule(op, level, args, kwargs)
        ba.arguments["x"] = _lifted(x, level, _size([x], level))
        return _batched(op(*ba.args, **ba.kwargs), level)
    def cplx(v):
        return v.dtype.kind == "c" if isinstance(v, Tensor) else np.iscomplexobj(v)
    if cplx(x) or cplx(xp) or (not cplx(fp) and (cplx(left) or cplx(right))):
        return _sample_error(op, level, args, kwargs)       # interp's TypeError, raised on one sample
    if ba.arguments["period"] is not None or _nd(left) or _nd(right) or xp.ndim != 1 or fp.ndim != 1 \
            or xp.shape != fp.shape or xp.shape[0] < 2:
        if xp.ndim != 1 or fp.ndim != 1 or xp.shape != fp.shape or xp.shape[0] == 0:
            return _sample_error(op, level, args, kwargs)
        return loop_rule(op, level, args, kwargs)
    ops = _ops()
    size = _size([x, xp, fp], level)
    X, XP, FP = (_lifted(v, level, size) for v in (x, xp, fp))
    X, XP, FP = (v.astype(np.float64) if v.dtype.kind in "biu" else v for v in (X, XP, FP))
    k = XP.shape[1]
    Xf = _flat(X)
    XPs, Xs = ops.expand_dims(XP, 1), ops.expand_dims(Xf, 2)      # (B, 1, k) and (B, m, 1)
    j = ops.clip(ops.sum(XPs <= Xs, axis=-1) - 1, 0, k - 2)           # searchsorted(side='right') - 1
    x0, x1 = ops.take_along_axis(XP, j, 1), ops.take_along_axis(XP, j + 1, 1)
    f0, f1 = ops.take_along_axis(FP, j, 1), ops.take_along_axis(FP, j + 1, 1)
    slope = (f1 - f0) / (x1 - x0)
    res = slope * (Xf - x0) + f0
    nan = ops.isnan(res) & ~ops.isnan(Xf)            # NumPy's fallbacks for infinite fp (see interp)
    res = ops.where(nan, slope * (Xf - x1) + f1, res)
    res = ops.where(nan & ops.isnan(res) & (f0 == f1), f0, res)
    res = ops.where((Xf == x0) & (res != f0), f0, res)
    res = ops.where(Xf == x1, f1, res)   # comparisons of tensors: no values read, so nested levels batch too
    res = ops.where(Xf < XP[:, :1], FP[:, :1] if left is None else left, res)
    res = ops.where(Xf > XP[:, -1:], FP[:, -1:] if right is None else right, res)
    return _batched(ops.reshape(res, X.shape), level)


def scatter_add_rule(op, level, args, kwargs):
    """``scatter_add(shape, key, g)`` (the VJP of ``x[key]``) with a batched ``g``: zeros of the batched shape
    with ``g`` added at ``(:,) + key``. NumPy keeps adjacent advanced indices in place (after the batch axis);
    apart, their axes go first, so the batch axis of ``g`` moves behind them."""
    ba = _bind(op, args, kwargs)
    shape, key, g = ba.arguments["shape"], ba.arguments["key"], ba.arguments["g"]
    if not _batched_at(g, level) or not _only_batched(level, ba, ("g",)):
        return loop_rule(op, level, args, kwargs)
    from .ops.index import normalize_key
    split = _bool_split(normalize_key(key))
    if split is not None:                                   # scalar bools: the two reads' scatters, in turn
        mid = np.broadcast_to(np.empty((), np.int8), tuple(shape))[split[0]].shape
        return op(shape, split[0], op(mid, split[1], g))
    items = []
    for k in normalize_key(key):
        if isinstance(k, np.ndarray) and k.dtype == bool and k.ndim > 0:
            items += list(np.nonzero(k))
        elif isinstance(k, np.ndarray) and k.ndim == 0:   # a 0-d integer array: NumPy reads it as an int
            items.append(int(k))
        else:
            items.append(k)
    if any(isinstance(k, np.ndarray) for k in items):  # integers among index arrays are index arrays too
        items = [np.asarray(k, np.intp) if isinstance(k, (int, np.integer)) else k for k in items]
    pos = [i for i, k in enumerate(items) if isinstance(k, np.ndarray)]
    inner = g._inner
    if pos and pos != list(range(pos[0], pos[-1] + 1)):
        inner = _ops().moveaxis(inner, 0, len(np.broadcast_shapes(*(items[i].shape for i in pos))))
    return _batched(op((g._inner.shape[0],) + tuple(shape), (slice(None),) + tuple(items), inner), level)


def _size_checked(op, level, ba, names):
    """The batch size of the arguments ``names``; unless 0, ``op`` first runs once on the first sample's values,
    so that its own checks raise its own errors, as the unbatched call would."""
    size = _size(fv._flatten([ba.arguments[n] for n in names])[0], level)
    if size:
        first = ba.arguments.copy()
        for n in names:
            first[n] = first[n]._inner[0] if _batched_at(first[n], level) else first[n]
        op(**first)
    return size


def dim_index_rule(op, level, args, kwargs):
    """torch's dim-indexed ``gather`` / ``scatter`` / ``scatter_add`` with a batched ``index`` (read as data):
    input, index and src lifted to the batch (an unbatched one repeated, a view) and ``dim`` shifted past the
    batch axis: position ``b`` of the batch axis indexes itself, so one call is every sample's op. An
    unbatched index keeps the op's own composition (its indexing ops batch)."""
    plain = inspect.unwrap(op)
    ba = _bind(op, args, kwargs)
    x, dim = ba.arguments["input"], ba.arguments["dim"]
    names = [n for n in ("input", "index", "src") if n in ba.arguments and ba.arguments[n] is not None
             and (n != "src" or np.ndim(ba.arguments[n]))]
    if (not _batched_at(ba.arguments["index"], level) or not _only_batched(level, ba, names) or np.ndim(x) == 0
            or isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
        return plain(*args, **kwargs)
    if any(np.ndim(ba.arguments[n]) == 0 for n in names):   # (a 0-d sample counts as 1-d: lifted, it would not)
        return loop_rule(op, level, args, kwargs)
    return _lifted_call(op, level, args, kwargs, ba, names)


def _lifted_call(op, level, args, kwargs, ba, names):
    """One call of ``op`` on its ``names`` arguments lifted to the batch and ``dim`` shifted past the batch axis
    (a batch of no sample runs nothing: the loop, which returns the empty result)."""
    size = _size_checked(op, level, ba, names)
    if size == 0:
        return loop_rule(op, level, args, kwargs, warn=False)
    x, dim = ba.arguments["input"], ba.arguments["dim"]
    for n in names:
        ba.arguments[n] = _lifted(ba.arguments[n], level, size)
    ba.arguments["dim"] = normalize_one_axis(dim, np.ndim(x), _name(op)) + 1
    return _batched(op(*ba.args, **ba.kwargs), level)


def scatter_reduce_rule(op, level, args, kwargs):
    """torch's ``scatter_reduce``: input, index and src lifted to the batch (an unbatched one repeated, a view)
    and ``dim`` shifted past the batch axis, batched index or not (the op is one primitive). 0-d samples loop."""
    ba = _bind(op, args, kwargs)
    x, dim = ba.arguments["input"], ba.arguments["dim"]
    names = ["input", "index", "src"]
    if (not _only_batched(level, ba, names) or any(np.ndim(ba.arguments[n]) == 0 for n in names)
            or isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
        return loop_rule(op, level, args, kwargs)
    return _lifted_call(op, level, args, kwargs, ba, names)


def _first_bad_sample(op, level, ba, names, idx, n):
    """Run ``op`` on the first sample whose index is out of ``[0, n)`` (its own error); None when all are in."""
    flat = idx.reshape(idx.shape[0], -1)
    bad = np.nonzero(((flat < 0) | (flat >= n)).any(axis=1))[0]
    if bad.size:
        one = ba.arguments.copy()
        for k in names:
            one[k] = one[k]._inner[int(bad[0])] if _batched_at(one[k], level) else one[k]
        op(**one)
        raise IndexError(f"{_name(op)}(): index out of range in self (sample {int(bad[0])}, dimension of size {n})")


def _index_dim_nested(op, name, ba, level, xi, idx, ax, n, size, bidx):
    """The op at dim 0 of the samples' rows ``(B * n, ...)`` with the flat rows ``b * n + index[b]`` (an index
    batched at an outer level too: that level's rule runs it). An out-of-range index becomes row -1: the op's
    own IndexError."""
    ops = _ops()
    idx = ops.reshape(idx, (size, -1))
    if name == "index_fill":                                        # (its index may count from the end)
        idx = ops.where((idx < 0) & (idx >= -n), idx + n, idx)
    k = idx.shape[1]
    flat = ops.reshape(ops.where((idx >= 0) & (idx < n), idx + bidx * n, -1), (size * k,))
    rest = tuple(xi.shape[1:ax + 1]) + tuple(xi.shape[ax + 2:])
    xm = ops.reshape(ops.moveaxis(xi, ax + 1, 1) if ax else xi, (size * n,) + rest)
    if name == "index_select":
        out = ops.reshape(op(xm, 0, flat), (size, k) + rest)
        return ops.moveaxis(out, 1, ax + 1) if ax else out
    if name == "index_add":
        s = ba.arguments["source"]
        si = _lifted(s if isinstance(s, Tensor) else np.asarray(s, dtype=xi.dtype), level, size)
        rows = ops.reshape(ops.moveaxis(si, ax + 1, 1) if ax else si, (size * k,) + rest)
        out = ops.reshape(op(xm, 0, flat, rows, alpha=ba.arguments["alpha"]), (size, n) + rest)
        return ops.moveaxis(out, 1, ax + 1) if ax else out
    from .ops import index_add                                      # index_fill: a mask from index_add's counts
    hits = index_add(np.zeros(size * n), 0, flat, np.ones(size * k))
    mask = ops.reshape(hits > 0, (size,) + (1,) * ax + (n,) + (1,) * (xi.ndim - ax - 2))
    return ops.where(mask, _fill_value(ba.arguments["value"], level, size, xi), xi)


def _fill_value(v, level, size, xi):
    if isinstance(v, Tensor):
        vi = _lifted(v, level, size)
        return _ops().reshape(vi if vi.dtype == xi.dtype else vi.astype(xi.dtype), (size,) + (1,) * (xi.ndim - 1))
    return np.asarray(v, dtype=xi.dtype)


def index_dim_rule(op, level, args, kwargs):
    """torch's ``index_select`` / ``index_add`` / ``index_fill`` with a batched (1-D) ``index``: the batch axis
    indexes itself. index_select is one getitem with ``arange(B)`` beside the index; index_add one scatter_add
    of the source's rows at the flat rows ``b * n + index[b]``; index_fill a mask of the filled slices (built
    from the index) and one ``where``. An index batched at an outer level (only or too) goes to the flat rows of
    ``_index_dim_nested``; an unbatched index keeps the op's own composition (its ops batch)."""
    plain = inspect.unwrap(op)
    name = _name(op)
    ba = _bind(op, args, kwargs)
    x, dim, index = ba.arguments["input"], ba.arguments["dim"], ba.arguments["index"]
    other = {"index_add": "source", "index_fill": "value"}.get(name)
    names = ["input", "index"] + ([other] if other else [])
    outer = type(index) is fv.BatchedTensor and not _batched_at(index, level)   # batched at an outer level only
    if not (_batched_at(index, level) or outer) or not _only_batched(level, ba, names):
        return plain(*args, **kwargs)
    if np.ndim(x) == 0 or isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        return loop_rule(op, level, args, kwargs)
    size = _size_checked(op, level, ba, names)
    if size == 0:
        return loop_rule(op, level, args, kwargs, warn=False)      # no sample: nothing runs
    ax = normalize_one_axis(dim, np.ndim(x), name)
    n = x.shape[ax]
    ops = _ops()
    xi = _lifted(x, level, size)
    bidx = np.arange(size).reshape(size, 1)
    if outer or type(index._inner) is not Tensor:                   # the index batched at another level (too)
        idx = ops.broadcast_to(ops.reshape(index, (1, -1)), (size, index.size)) if outer else index._inner
        try:
            return _batched(_index_dim_nested(op, name, ba, level, xi, idx, ax, n, size, bidx), level)
        except IndexError as e:                                     # (raised by the flat rows' op: this op's name)
            raise IndexError(f"{name}(): index out of range in self (dimension {dim} of size {n})") from e
    idx = index._inner.data.reshape(size, -1).astype(np.intp, copy=False)
    if name == "index_fill":                                        # (its index may count from the end)
        idx = np.where((idx < 0) & (idx >= -n), idx + n, idx)
    _first_bad_sample(op, level, ba, names, idx, n)
    k = idx.shape[1]
    if name == "index_select":
        out = ops.getitem(xi, (bidx,) + (slice(None),) * ax + (idx,))  # (B, k, ...): the index arrays apart
        return _batched(ops.moveaxis(out, 1, ax + 1) if ax else out, level)
    if name == "index_add":
        s = ba.arguments["source"]
        if not isinstance(s, Tensor):
            s = np.asarray(s, dtype=x.dtype)
        si = _lifted(s, level, size)
        alpha = ba.arguments["alpha"]
        if alpha != 1:
            si = si * alpha
        rest = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1:])
        rows = ops.reshape(ops.moveaxis(si, ax + 1, 1) if ax else si, (size * k,) + rest)
        from .ops import index as _index
        added = _index.scatter_add((size * n,) + rest, ((bidx * n + idx).reshape(-1),), rows)
        added = ops.reshape(added, (size, n) + rest)
        return _batched(xi + (ops.moveaxis(added, 1, ax + 1) if ax else added), level)
    mask = np.zeros((size, n), dtype=bool)                          # index_fill
    mask[bidx, idx] = True
    mask = mask.reshape((size,) + (1,) * ax + (n,) + (1,) * (x.ndim - ax - 1))
    return _batched(ops.where(mask, _fill_value(ba.arguments["value"], level, size, xi), xi), level)


RULES = {"index_dim": index_dim_rule, "dim_index": dim_index_rule, "scatter_reduce": scatter_reduce_rule, "getitem": getitem_rule,
         "scatter_add": scatter_add_rule, "take": take_rule, "take_along_axis": take_along_axis_rule,
         "put_along_axis": put_along_axis_rule, "interp": interp_rule}
