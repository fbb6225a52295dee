"""Batching rules of small op families: ``*_like`` constructors, ops elementwise in their first argument
(``digitize``, ``isin``), ``lexsort``, ``searchsorted``, ``bucketize``, ``histc``, ``masked_fill``, and the
contractions ``dot`` / ``inner`` / ``tensordot`` (spelled as einsum). Registered by ``_vmap_rules.py``."""
import math
import string

import numpy as np

from ._vmap_rules import (_batched_at, _bind, _first_alone, _flat, _lifted, _name, _only_batched, _ops, _sample_error,
                          _size, loop_rule, peel)
from .func_vmap import _batched, _shift_one
from .tensor import Tensor, _wrap


def like_rule(op, level, args, kwargs):
    """zeros_like / full_like...: a constant of the per-sample shape (unbatched), as torch.func."""
    alone = _first_alone(op, level, args, kwargs)
    if alone is None:
        return loop_rule(op, level, args, kwargs)
    ba, first, x = alone
    ba.arguments[first] = np.zeros(x.shape, x.dtype)
    return op(*ba.args, **ba.kwargs)


def first_only_rule(op, level, args, kwargs):
    """Ops elementwise in their first argument (digitize, isin, searchsorted's ``v``): the op on its inner
    values; isin with batched test elements compares every element with every test element of its sample;
    another batched argument runs per sample."""
    ba = _bind(op, args, kwargs)
    first = next(iter(ba.arguments))
    if _name(op) == "isin" and _batched_at(ba.arguments["test_elements"], level) and _only_batched(
            level, ba, ("element", "test_elements")):
        return _isin_batched(ba, level)
    if not _batched_at(ba.arguments[first], level) or not _only_batched(level, ba, (first,)):
        return loop_rule(op, level, args, kwargs)
    ba.arguments[first] = ba.arguments[first]._inner
    return _batched(op(*ba.args, **ba.kwargs), level)


def _isin_batched(ba, level):
    ops = _ops()
    e, t = ba.arguments["element"], ba.arguments["test_elements"]
    size = _size([e, t], level)
    ei = _lifted(e if isinstance(e, Tensor) else _wrap(np.asarray(e)), level, size)
    hit = ops.any(ops.expand_dims(_flat(ei), 2) == ops.expand_dims(_flat(t._inner), 1), axis=-1)
    hit = ops.reshape(hit, ei.shape)
    return _batched(ops.logical_not(hit) if ba.arguments["invert"] else hit, level)


def lexsort_rule(op, level, args, kwargs):
    """lexsort(keys): the keys (a batched (k, ...) tensor, or a sequence of tensors, stacked) with the batch
    axis moved behind the key axis; NumPy then sorts every sample along the shifted axis at once."""
    keys = args[0] if args else kwargs["keys"]        # (np.lexsort has no Python signature to bind)
    axis = args[1] if len(args) > 1 else kwargs.get("axis", -1)
    if not isinstance(axis, (int, np.integer)):
        return loop_rule(op, level, args, kwargs)
    ops = _ops()
    if isinstance(keys, (list, tuple)):
        keys = ops.stack([k if isinstance(k, Tensor) else _wrap(np.asarray(k)) for k in keys])
    if not _batched_at(keys, level) or keys.ndim < 2:
        return _sample_error(op, level, args, kwargs)
    inner = ops.moveaxis(keys._inner, 0, 1)                    # (k, B, ...)
    return _batched(op(inner, axis=_shift_one(axis, keys.ndim - 1)), level)


def searchsorted_rule(op, level, args, kwargs):
    """searchsorted(a, v): elementwise in ``v``; a batched ``a`` (sorted per sample) is searched by counting
    its values below each ``v`` (a comparison against all of them, vectorized; NaN sorts last)."""
    ba = _bind(op, args, kwargs)
    a, v, side = ba.arguments["a"], ba.arguments["v"], ba.arguments["side"]
    if not _batched_at(a, level):
        if not _only_batched(level, ba, ("v",)):
            return loop_rule(op, level, args, kwargs)
        ba.arguments["v"] = v._inner
        return _batched(op(*ba.args, **ba.kwargs), level)
    if ba.arguments["sorter"] is not None or a.ndim != 1 or side not in ("left", "right"):
        return loop_rule(op, level, args, kwargs)
    ops = _ops()
    size = _size([a, v], level)
    vi = _lifted(v if isinstance(v, Tensor) else _wrap(np.asarray(v)), level, size)
    vf = ops.expand_dims(_flat(vi), 2)                        # (B, m, 1)
    af = ops.expand_dims(a._inner, 1)                          # (B, 1, n)
    return _batched(ops.reshape(ops.sum(_below(af, vf, side == "right"), axis=-1), vi.shape), level)


def _below(a, v, right):
    """``a < v`` (``a <= v`` if ``right``) in NumPy's sort order, where NaN comes after every number: the count of
    such ``a`` is ``np.searchsorted``'s index."""
    ops = _ops()
    below = (a <= v) if right else (a < v)
    if np.dtype(a.dtype).kind not in "fc" and np.dtype(v.dtype).kind not in "fc":
        return below
    nan_v = ops.isnan(v)
    return below | (nan_v if right else nan_v & ops.logical_not(ops.isnan(a)))


def bucketize_rule(op, level, args, kwargs):
    """bucketize(input, boundaries): elementwise in ``input``; batched boundaries (sorted per sample) are searched
    by counting, as searchsorted's rule."""
    ba = _bind(op, args, kwargs)
    x, b, right = ba.arguments["input"], ba.arguments["boundaries"], ba.arguments["right"]
    if not _batched_at(b, level):
        ba.arguments["input"] = x._inner
        return _batched(op(*ba.args, **ba.kwargs), level)
    if b.ndim != 1:
        raise ValueError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    ops = _ops()
    size = _size([x, b], level)
    xi = _lifted(x if isinstance(x, Tensor) else _wrap(np.asarray(x)), level, size)
    xf = ops.expand_dims(_flat(xi), 2)                        # (B, m, 1)
    bf = ops.expand_dims(b._inner, 1)                          # (B, 1, n)
    count = ops.sum(_below(bf, xf, right), axis=-1)
    dt = np.int32 if ba.arguments["out_int32"] else np.int64
    return _batched(ops.reshape(count, xi.shape).astype(dt), level)


def histc_rule(op, level, args, kwargs):
    """histc(input, bins, min, max): every sample's histogram in one bincount over (sample, bin) pairs; with
    ``min == max`` each sample takes its own data range, as the unbatched op does. Under nested vmap the input's
    levels are peeled down to its plain values (every batch axis in front) and re-wrapped on the counts."""
    ba = _bind(op, args, kwargs)
    x = ba.arguments["input"]
    if not _batched_at(x, level) or not _only_batched(level, ba, ("input",)):
        return loop_rule(op, level, args, kwargs)
    levels, base = peel(x)
    if type(base) is not Tensor or base.dtype.kind != "f":
        return loop_rule(op, level, args, kwargs)
    xd = np.asarray(base.data)
    nb = len(levels)
    bshape, B = xd.shape[:nb], math.prod(xd.shape[:nb])
    bins = ba.arguments["bins"]
    if B == 0:
        op(_wrap(np.zeros(xd.shape[nb:], xd.dtype)), bins, ba.arguments["min"], ba.arguments["max"])
        return _rewrap(_wrap(np.zeros(bshape + (bins,), xd.dtype)), levels)
    flat = xd.reshape(B, -1)
    op(_wrap(flat[0]), bins, ba.arguments["min"], ba.arguments["max"])  # the argument checks (and their errors)
    dt = flat.dtype.type
    lo, hi = np.full(B, dt(ba.arguments["min"])), np.full(B, dt(ba.arguments["max"]))
    if lo[0] == hi[0] and flat.shape[1]:
        lo, hi = flat.min(axis=1), flat.max(axis=1)
    point = lo == hi
    lo, hi = np.where(point, lo - dt(1), lo), np.where(point, hi + dt(1), hi)
    bad = ~(np.isfinite(lo) & np.isfinite(hi))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"torch.histc: range of [{lo[i]}, {hi[i]}] is not finite (sample "
                         f"{np.unravel_index(i, bshape) if nb > 1 else i} of the vmap batch)")
    lo, hi = lo[:, None], hi[:, None]
    inside = (flat >= lo) & (flat <= hi)
    with np.errstate(invalid="ignore"):
        pos = np.where(inside, (flat - lo) * bins / (hi - lo), 0).astype(np.int64)
    pos[pos >= bins] = bins - 1
    pos += np.arange(B)[:, None] * bins
    counts = np.bincount(pos[inside], minlength=B * bins).reshape(bshape + (bins,))
    return _rewrap(_wrap(counts.astype(xd.dtype)), levels)


def _rewrap(inner, levels):
    """``inner`` (every batch axis of ``levels``, outermost wrapper first, in front) wrapped back level by level."""
    for lv in reversed(levels):
        inner = _batched(inner, lv)
    return inner


def masked_fill_rule(op, level, args, kwargs):
    """masked_fill(x, mask, value): a ``where`` with the per-sample shapes checked first."""
    ba = _bind(op, args, kwargs)
    x, mask, value = ba.arguments["x"], ba.arguments["mask"], ba.arguments["value"]
    mask = mask if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: the mask must be boolean, not {mask.dtype}")
    xs = tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)
    try:
        fits = np.broadcast_shapes(tuple(mask.shape), xs) == xs
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the tensor's shape "
                         f"{x.shape}")
    return _ops().where(mask, value, x)


def contraction_rule(op, level, args, kwargs):
    """dot / inner / tensordot: spelled as einsum (or matmul, mul), which batch."""
    ops = _ops()
    name = _name(op)
    a, b = args[:2]
    a, b = (x if isinstance(x, Tensor) or np.ndim(x) == 0 else _wrap(np.asarray(x)) for x in (a, b))  # (lists)
    na, nb = np.ndim(a) if not isinstance(a, Tensor) else a.ndim, np.ndim(b) if not isinstance(b, Tensor) else b.ndim
    if na == 0 or nb == 0:
        return ops.multiply(a, b)
    if name == "dot":
        if na <= 2 and nb <= 2:
            return ops.matmul(a, b)
        axes = ([na - 1], [nb - 2 if nb > 1 else 0])
    elif name == "inner":
        axes = ([na - 1], [nb - 1])
    else:
        axes = args[2] if len(args) > 2 else kwargs.get("axes", 2)
    if isinstance(axes, (int, np.integer)):
        axes = (list(range(na - axes, na)), list(range(axes)))
    ax_a, ax_b = ([axes_i] if isinstance(axes_i, (int, np.integer)) else list(axes_i) for axes_i in axes)
    if len(ax_a) != len(ax_b):
        return _sample_error(op, level, args, kwargs)
    ax_a, ax_b = [x % na for x in ax_a], [x % nb for x in ax_b]
    letters = iter(string.ascii_letters)
    la = [next(letters) for _ in range(na)]
    lb = [la[ax_a[ax_b.index(i)]] if i in ax_b else next(letters) for i in range(nb)]
    out = [c for i, c in enumerate(la) if i not in ax_a] + [c for i, c in enumerate(lb) if i not in ax_b]
    return ops.einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


RULES = {"lexsort": lexsort_rule, "like": like_rule, "first_only": first_only_rule, "searchsorted": searchsorted_rule,
         "masked_fill": masked_fill_rule, "contraction": contraction_rule, "bucketize": bucketize_rule,
         "histc": histc_rule}
