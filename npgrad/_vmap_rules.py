"""Batching rules for the op families beyond elementwise / reduce / shape ops (``func_vmap.py``), and the per-op
loop for an op without a rule.

An op declares its rule beside itself with ``@batching_rule(kind)`` (``ops/_util.py``); the rules here run the
op ONCE on the inner values (batch axis in front), so autograd records ordinary ops and nested vmap levels
dispatch again:

* ``axis_flatten`` / ``axis_all``: ops along ``axis`` (sort, partition, nan-reductions...): the axis shifted past
  the batch axis; ``axis=None`` flattens each sample (sort-like) or names every per-sample axis (reductions);
* ``topk``, ``quantile``: the same for ``dim`` (and 0-d samples) / with ``q``'s axes in front of the result;
* ``leading``: ops that already broadcast over leading axes (``np.linalg``): the op on the inner values;
* ``pad``, ``tile``, ``repeat``, ``einsum``, ``solve``, ``norm``, ``average``: their own rules;
* gathers (``getitem`` with advanced keys or batched index arrays, ``take``, ``take_along_axis``,
  ``put_along_axis``, ``interp``): ``_vmap_gather.py``; writes (setitem, ``_assign``): ``_vmap_write.py``;
* ``*_like``, ``searchsorted``, ``digitize`` / ``isin``, ``masked_fill``, ``dot`` / ``inner`` / ``tensordot``:
  ``_vmap_small.py``;
* ``nn.functional``'s pointwise activations and elementwise losses: ``_vmap_pointwise.py``.

An op declared with ``loop`` (or a rule that cannot batch a call) runs per sample: each sample selected, the op
called, the results stacked, with a one-time :class:`VmapFallbackWarning` naming the op. The rest of the
function stays vectorized.
"""
import functools
import inspect
import math
import string
import warnings

import numpy as np

from . import _vmap_state
from . import func_vmap as fv
from .func_vmap import BatchedTensor, _at, _batched, _expand, _pad, _shift_axes, _shift_one
from .tensor import Tensor, _wrap


class VmapFallbackWarning(RuntimeWarning):
    """An op without a batching rule ran as a per-sample loop inside ``vmap`` (correct, slow)."""


def _ops():
    from . import ops
    return ops


@functools.lru_cache(maxsize=None)
def _signature(op):
    return inspect.signature(inspect.unwrap(op))


def _bind(op, args, kwargs):
    ba = _signature(op).bind(*args, **kwargs)
    ba.apply_defaults()
    return ba


def _name(op):
    return getattr(op, "__name__", repr(op))


def _leaves(args, kwargs):
    return fv._flatten((list(args), dict(kwargs)))


def _size(leaves, level):
    return next(x._inner.shape[0] for x in leaves if type(x) is BatchedTensor and x._level == level)


def _batched_at(x, level):
    return type(x) is BatchedTensor and x._level == level


def peel(x):
    """``(levels, raw)``: the vmap levels ``x`` is batched at (its outermost wrapper's first) and the tensor inside
    every wrapper, all its batch axes in front (``x`` itself, and no levels, if it is not batched)."""
    levels = []
    while type(x) is BatchedTensor:
        levels.append(x._level)
        x = x._inner
    return levels, x


def _wrap_tree(out, level):
    leaves, spec = fv._flatten(out)
    return fv._unflatten([_batched(x, level) if isinstance(x, Tensor) else x for x in leaves], spec)


def _lifted(x, level, size):
    """``x`` at ``level`` with the batch in front: a batched value's inner, else ``x`` repeated (a view)."""
    inner, b = _at(x, level)
    if b:
        return inner
    x = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    return _expand(x, size)


def _flat(inner):
    """Each sample flattened: (B, n) (explicit sizes: a batch of size 0 has no -1 to infer)."""
    return _ops().reshape(inner, (inner.shape[0], math.prod(inner.shape[1:])))


# ------------------------------------------------------------------------ the per-op loop
_warned = fv._warned  # one set with the whole-function fallback: each op warns once


def warn_fallback(name):
    if fv._STRICT[0]:
        raise fv._NoRule(name)
    if name not in _warned:
        _warned.add(name)
        warnings.warn(f"vmap: there is no batching rule for {name}; vmap runs this op as a Python loop over the "
                      f"batch (correct, slow); the rest of the function stays vectorized", VmapFallbackWarning,
                      stacklevel=4)


def loop_rule(op, level, args, kwargs, warn=True):
    """``op`` per sample: each batched argument's sample selected, ``op`` called, the results stacked."""
    if warn:
        warn_fallback(_name(op))
    leaves, spec = _leaves(args, kwargs)
    size = _size(leaves, level)
    if size == 0:
        return _empty_loop(op, level, leaves, spec)
    outs = []
    with _vmap_state.per_sample(level) as replay:   # randomness='same': every sample the same draws
        for i in range(size):
            replay()
            a, k = fv._unflatten([x._inner[i] if _batched_at(x, level) else x for x in leaves], spec)
            outs.append(op(*a, **k))
    first, ospec = fv._flatten(outs[0])
    flats = [fv._flatten(o)[0] for o in outs]
    res = []
    for j, v in enumerate(first):
        if isinstance(v, (Tensor, np.ndarray, np.generic)):
            parts = [f[j] if isinstance(f[j], Tensor) else _wrap(np.asarray(f[j])) for f in flats]
            shapes = {tuple(p.shape) for p in parts}
            if len(shapes) > 1:
                raise RuntimeError(f"vmap: {_name(op)} gives results of different shapes across the batch "
                                   f"({sorted(shapes)}): its output shape depends on each sample's values, which "
                                   f"cannot be batched (torch.func.vmap refuses such ops too)")
            res.append(_batched(_ops().stack(parts, axis=0), level))
        elif all(f[j] == v for f in flats):
            res.append(v)
        else:
            raise RuntimeError(f"vmap: {_name(op)} returns a Python value that differs across the batch")
    return fv._unflatten(res, ospec)


def _empty_loop(op, level, leaves, spec):
    """A batch of size 0: the op run once on a zero sample gives the result's per-sample shapes."""
    samples = [_wrap(np.zeros(x.shape, x.dtype)) if _batched_at(x, level) else x for x in leaves]
    a, k = fv._unflatten(samples, spec)
    try:
        out = op(*a, **k)
    except Exception as e:
        raise RuntimeError(f"vmap: {_name(op)} has no batching rule and its per-sample loop cannot find its "
                           f"result's shape on a batch of size 0 ({type(e).__name__}: {e})") from None
    leaves_o, ospec = fv._flatten(out)
    return fv._unflatten([_batched(_wrap(np.zeros((0,) + np.shape(v), np.asarray(v.data if isinstance(
        v, Tensor) else v).dtype)), level) if isinstance(v, (Tensor, np.ndarray)) else v for v in leaves_o], ospec)


def _sample_error(op, level, args, kwargs):
    """Raise the error the op raises on one sample (a call the rule refuses: bad shapes); if that sample goes
    through, the per-sample loop computes the call."""
    leaves, spec = _leaves(args, kwargs)
    size = _size(leaves, level)
    samples = [(x._inner[0] if size else _wrap(np.zeros(x.shape, x.dtype))) if _batched_at(x, level) else x
               for x in leaves]
    a, k = fv._unflatten(samples, spec)
    op(*a, **k)
    return loop_rule(op, level, args, kwargs)


def _only_batched(level, ba, names):
    """True when no argument outside ``names`` is batched at ``level``."""
    leaves, _ = fv._flatten([v for k, v in ba.arguments.items() if k not in names])
    return not any(_batched_at(x, level) for x in leaves)


def _first_alone(op, level, args, kwargs):
    """``(bound arguments, name of the first, its value)`` when the op's first argument is the only one batched at
    ``level``, else None (the rule then runs per sample)."""
    ba = _bind(op, args, kwargs)
    first = next(iter(ba.arguments))
    x = ba.arguments[first]
    if not _batched_at(x, level) or not _only_batched(level, ba, (first,)):
        return None
    return ba, first, x


# ------------------------------------------------------------------------ ops along an axis
def _axis_rule(none_mode, param="axis", lead=None):
    def rule(op, level, args, kwargs):
        alone = _first_alone(op, level, args, kwargs)
        if alone is None:
            return loop_rule(op, level, args, kwargs)
        ba, first, x = alone
        inner, nd, axis = x._inner, x.ndim, ba.arguments[param]
        if getattr(op, "zero_d_axis", False):  # argmax, any...: axis 0 / -1 of a 0-d sample is the whole sample
            from .ops._util import zero_d_axis
            axis = zero_d_axis(axis, nd)
        none = axis is None
        if none:
            if none_mode == "flatten":
                inner, axis = _flat(inner), 1
            else:
                axis = tuple(range(1, nd + 1))
        else:
            axis = _shift_axes(axis, nd)
        ba.arguments[first], ba.arguments[param] = inner, axis
        out = op(*ba.args, **ba.kwargs)
        keepdims = ba.arguments.get("keepdims", False)
        if none and none_mode == "flatten" and keepdims is not np._NoValue and keepdims and nd != 1:
            out = _ops().reshape(out, (inner.shape[0],) + (1,) * nd)   # argmax(axis=None, keepdims=True)
        if lead is not None:
            n = np.ndim(ba.arguments[lead])
            out = _ops().moveaxis(out, n, 0) if n else out
        return _wrap_tree(out, level)
    return rule


def _topk_rule(op, level, args, kwargs):
    """topk / kthvalue: ``dim`` shifted; a 0-d sample (its own top element) runs as a 1-element axis."""
    ba = _bind(op, args, kwargs)
    x = ba.arguments["x"]
    if not _batched_at(x, level) or not _only_batched(level, ba, ("x",)):
        return loop_rule(op, level, args, kwargs)
    inner = x._inner
    if x.ndim == 0:
        ba.arguments["x"], ba.arguments["dim"] = _ops().reshape(inner, (inner.shape[0], 1)), 1
        if "keepdim" in ba.arguments:
            ba.arguments["keepdim"] = True
        out = op(*ba.args, **ba.kwargs)
        return _wrap_tree(tuple(_ops().reshape(o, (inner.shape[0],)) for o in out), level)
    ba.arguments["x"], ba.arguments["dim"] = inner, _shift_one(ba.arguments["dim"], x.ndim)
    return _wrap_tree(op(*ba.args, **ba.kwargs), level)


def _dim_rule(op, level, args, kwargs):
    """Ops along one ``dim`` whose output has the input's shape (logcumsumexp): ``dim`` shifted; a 0-d sample
    runs as a 1-element axis."""
    alone = _first_alone(op, level, args, kwargs)
    if alone is None:
        return loop_rule(op, level, args, kwargs)
    ba, first, x = alone
    inner = x._inner
    ba.arguments["dim"] = _shift_one(ba.arguments["dim"], x.ndim)
    ba.arguments[first] = _ops().reshape(inner, inner.shape + (1,)) if x.ndim == 0 else inner
    out = op(*ba.args, **ba.kwargs)
    return _wrap_tree(_ops().reshape(out, inner.shape) if x.ndim == 0 else out, level)


def _leading_rule(op, level, args, kwargs):
    """Ops that treat leading axes as a batch already (``np.linalg``): the op on the inner values."""
    x = args[0]
    if not _batched_at(x, level) or any(_batched_at(v, level) for v in fv._flatten((list(args[1:]), kwargs))[0]):
        return loop_rule(op, level, args, kwargs)
    if x.ndim < 2:  # the op's own error, for the per-sample shape
        return _sample_error(op, level, args, kwargs)
    return _wrap_tree(op(x._inner, *args[1:], **kwargs), level)


# ------------------------------------------------------------------------ shape-building ops
def pad_rule(op, level, args, kwargs):
    """``pad``: no padding on the batch axis; per-axis widths / values / lengths get an entry for it."""
    from .ops.padding import _pairs
    alone = _first_alone(op, level, args, kwargs)
    if alone is None:
        return loop_rule(op, level, args, kwargs)
    ba, first, x = alone
    nd = x.ndim
    ba.arguments[first] = x._inner
    ba.arguments["pad_width"] = [(0, 0)] + _pairs(ba.arguments["pad_width"], nd, "pad", as_index=True)
    extra = ba.arguments.get("kwargs", ba.arguments)
    for key, fill in (("constant_values", (0, 0)), ("end_values", (0, 0)), ("stat_length", (1, 1))):
        v = extra.get(key)
        if v is not None and np.ndim(v) > 0:
            extra[key] = [fill] + _pairs(v, nd, "pad", as_index=key == "stat_length")
    return _batched(op(*ba.args, **ba.kwargs), level)


def tile_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    x, reps = ba.arguments["x"], ba.arguments["reps"]
    if not _batched_at(x, level) or _batched_at(reps, level):
        return loop_rule(op, level, args, kwargs)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    n = max(x.ndim, len(reps))
    inner = x._inner
    inner = _ops().reshape(inner, (inner.shape[0],) + (1,) * (n - x.ndim) + tuple(x.shape))
    return _batched(op(inner, (1,) + (1,) * (n - len(reps)) + reps), level)


def repeat_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    x, axis = ba.arguments["x"], ba.arguments["axis"]
    if not _batched_at(x, level) or not _only_batched(level, ba, ("x",)):
        return loop_rule(op, level, args, kwargs)
    inner = x._inner
    if axis is None or x.ndim == 0:
        if axis is not None and axis not in (0, -1):
            return _sample_error(op, level, args, kwargs)
        inner, axis = _flat(inner), 1
    else:
        axis = _shift_one(axis, x.ndim)
    return _batched(op(inner, ba.arguments["repeats"], axis), level)


# ------------------------------------------------------------------------ contractions, linalg
def einsum_rule(op, level, args, kwargs):
    """einsum: one fresh subscript letter for the batch, in front of each batched operand and of the output."""
    spec, operands = args[0], args[1:]
    if not isinstance(spec, str):
        return loop_rule(op, level, args, kwargs)
    spec = spec.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    terms = lhs.split(",")
    if not arrow:
        letters = lhs.replace(".", "").replace(",", "")
        out = ("..." if "..." in lhs else "") + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    free = next(c for c in string.ascii_letters if c not in spec)
    new_ops, new_terms = [], []
    for t, o in zip(terms, operands):
        inner, b = _at(o, level)
        new_ops.append(inner)
        new_terms.append(free + t if b else t)
    if len(terms) != len(operands):
        return loop_rule(op, level, args, kwargs)
    return _batched(op(",".join(new_terms) + "->" + free + out, *new_ops, **kwargs), level)


def solve_rule(op, level, args, kwargs):
    """solve(a, b): ``b`` a vector per sample (1-D) becomes a column; batched operands get singleton axes so
    the per-sample stack dimensions of ``a`` and ``b`` broadcast."""
    ba = _bind(op, args, kwargs)
    a, b = ba.arguments["a"], ba.arguments["b"]
    if a.ndim < 2 or b.ndim < 1:
        return _sample_error(op, level, args, kwargs)
    ia, bat_a = _at(a, level)
    ib, bat_b = _at(b, level)
    ops = _ops()
    vec = b.ndim == 1
    if vec:
        ib = ops.expand_dims(ib if isinstance(ib, Tensor) else _wrap(np.asarray(ib)), -1)
    ka, kb = a.ndim - 2, (2 if vec else b.ndim) - 2
    k = max(ka, kb)
    ia = _pad(ia, k - ka) if bat_a else ia
    ib = _pad(ib, k - kb) if bat_b else ib
    out = op(ia, ib)
    return _batched(ops.reshape(out, out.shape[:-1]) if vec else out, level)


def norm_rule(op, level, args, kwargs):
    """np.linalg.norm: ``axis=None`` means every per-sample axis (flattened for the default 2-norm)."""
    ba = _bind(op, args, kwargs)
    x, ord, axis, keepdims = (ba.arguments[k] for k in ("x", "ord", "axis", "keepdims"))
    if not _batched_at(x, level) or not _only_batched(level, ba, ("x",)):
        return loop_rule(op, level, args, kwargs)
    inner, nd = x._inner, x.ndim
    if axis is None:
        if ord is None:
            out = op(_flat(inner), None, 1, False)
            return _batched(_ops().reshape(out, (inner.shape[0],) + (1,) * nd) if keepdims else out, level)
        if nd not in (1, 2):
            return _sample_error(op, level, args, kwargs)
        axis = tuple(range(nd))
    axis = _shift_axes(axis if isinstance(axis, (tuple, list)) else (axis,), nd)
    return _batched(op(inner, ord, axis, keepdims), level)


# ------------------------------------------------------------------------ statistics
def average_rule(op, level, args, kwargs):
    """average: ``a`` and ``weights`` lifted to the batch (1-D weights along ``axis`` broadcast to ``a``'s
    per-sample shape), the axis shifted."""
    ba = _bind(op, args, kwargs)
    a, axis, w = ba.arguments["a"], ba.arguments["axis"], ba.arguments["weights"]
    size = _size(fv._flatten([a, w])[0], level)
    ops = _ops()
    ai = _lifted(a, level, size)
    if w is not None:
        ws = tuple(np.shape(w)) if not isinstance(w, Tensor) else tuple(w.shape)
        if ws != tuple(a.shape):
            if axis is None or isinstance(axis, (tuple, list)) or len(ws) != 1 or not (
                    -a.ndim <= axis < a.ndim) or ws[0] != a.shape[axis]:
                return _sample_error(op, level, args, kwargs)
            wi = _lifted(w, level, size)
            ax = axis % a.ndim
            wi = ops.reshape(wi, (size,) + (1,) * ax + (ws[0],) + (1,) * (a.ndim - ax - 1))
            w = ops.broadcast_to(wi, (size,) + tuple(a.shape))
        else:
            w = _lifted(w, level, size)
    ba.arguments["a"], ba.arguments["weights"] = ai, w
    ba.arguments["axis"] = _shift_axes(axis, a.ndim) if axis is not None else tuple(range(1, a.ndim + 1))
    return _wrap_tree(op(*ba.args, **ba.kwargs), level)


RULES = {"axis_flatten": _axis_rule("flatten"), "axis_all": _axis_rule("all"),
         "quantile": _axis_rule("all", lead="q"), "topk": _topk_rule, "dim": _dim_rule,
         "leading": _leading_rule,
         "pad": pad_rule, "tile": tile_rule, "repeat": repeat_rule, "einsum": einsum_rule, "solve": solve_rule,
         "norm": norm_rule, "average": average_rule, "loop": loop_rule}

from ._vmap_gather import RULES as _GATHER  # noqa: E402  (they use the helpers above)
from ._vmap_write import RULES as _WRITE  # noqa: E402
from ._vmap_losses import RULES as _LOSSES  # noqa: E402
from ._vmap_layers import RULES as _LAYERS  # noqa: E402
from ._vmap_conv import RULES as _CONV  # noqa: E402
from ._vmap_linalg import RULES as _LINALG  # noqa: E402
from ._vmap_pointwise import RULES as _POINTWISE  # noqa: E402
from ._vmap_small import RULES as _SMALL  # noqa: E402

RULES.update(_GATHER)
RULES.update(_WRITE)
RULES.update(_SMALL)
RULES.update(_POINTWISE)
RULES.update(_LOSSES)
RULES.update(_LAYERS)
RULES.update(_CONV)
RULES.update(_LINALG)
