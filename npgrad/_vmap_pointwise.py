"""Batching rules of ``nn.functional``'s pointwise activations and elementwise losses. Registered by
``_vmap_rules.py``.

* ``pointwise``: an activation of one tensor (elu, gelu, hardtanh...): the op on the inner values;
* ``random_pointwise`` (rrelu): the same, except under ``randomness='same'``, where one noise must serve every
  sample: the op then runs per sample with the generator replayed (``_vmap_state.py``);
* ``dim_pointwise`` (glu, gumbel_softmax): the op on the inner values with ``dim`` shifted past the batch axis
  (gumbel_softmax draws noise: as ``random_pointwise`` under 'same');
* ``pointwise_loss`` (mse, l1, smooth-l1, huber, BCE, BCE-with-logits, KL, Poisson NLL, soft-margin,
  hinge-embedding, multilabel soft-margin): the op with ``reduction='none'`` on the lifted operands, then each
  sample's own reduction (the mean / sum of its unreduced terms);
* ``one_hot``: elementwise when ``num_classes`` is given;
* ``interpolate``, ``unfold``, ``fold``: the vmap batch merged into the op's own batch dim N.
"""
import numpy as np

from . import _vmap_state
from ._vmap_rules import _batched_at, _bind, _lifted, _only_batched, _ops, _sample_error, _size, loop_rule
from .func_vmap import _batched, _pad, _shift_one
from .tensor import Tensor


def _first(op, level, args, kwargs):
    """(bound arguments, name of the first parameter) when only that argument is batched, else None."""
    ba = _bind(op, args, kwargs)
    first = next(iter(ba.arguments))
    if not _batched_at(ba.arguments[first], level) or not _only_batched(level, ba, (first,)):
        return None, first
    return ba, first


def _same(level):
    return any(e[0] == level and e[2] == "same" for e in _vmap_state._LEVELS)


def pointwise_rule(op, level, args, kwargs):
    ba, first = _first(op, level, args, kwargs)
    if ba is None:
        return loop_rule(op, level, args, kwargs)
    ba.arguments[first] = ba.arguments[first]._inner
    return _batched(op(*ba.args, **ba.kwargs), level)


def random_pointwise_rule(op, level, args, kwargs):
    if _same(level):
        return loop_rule(op, level, args, kwargs, warn=False)
    return pointwise_rule(op, level, args, kwargs)


def dim_pointwise_rule(op, level, args, kwargs):
    if op.__name__ == "gumbel_softmax" and _same(level):
        return loop_rule(op, level, args, kwargs, warn=False)
    ba, first = _first(op, level, args, kwargs)
    if ba is None:
        return loop_rule(op, level, args, kwargs)
    x = ba.arguments[first]
    if x.ndim == 0:
        return _sample_error(op, level, args, kwargs)
    ba.arguments[first], ba.arguments["dim"] = x._inner, _shift_one(ba.arguments["dim"], x.ndim)
    return _batched(op(*ba.args, **ba.kwargs), level)


_OPERANDS = ("input", "target")       # same per-sample shape (as the ops want)
_WEIGHTS = ("weight", "pos_weight")   # broadcast against them


def pointwise_loss_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    red = ba.arguments["reduction"]
    legacy = [ba.arguments.get(k) for k in ("size_average", "reduce")]
    tensors = [k for k in _OPERANDS + _WEIGHTS if isinstance(ba.arguments.get(k), (Tensor, np.ndarray))]
    if any(v is not None for v in legacy) or red not in ("none", "mean", "sum", "batchmean") or not _only_batched(
            level, ba, tensors):
        return loop_rule(op, level, args, kwargs)
    shapes = {tuple(np.shape(ba.arguments[k])) if not isinstance(ba.arguments[k], Tensor)
              else tuple(ba.arguments[k].shape) for k in _OPERANDS if k in tensors}
    x = ba.arguments["input"]
    if x.ndim == 0 and op.__name__ == "multilabel_soft_margin_loss":  # (it wants a class axis)
        return _sample_error(op, level, args, kwargs)
    if len(shapes) != 1 or (red == "batchmean" and x.ndim == 0):
        return loop_rule(op, level, args, kwargs)  # the op's own warning / error, per sample
    size = _size([ba.arguments[k] for k in tensors], level)
    nd = len(next(iter(shapes)))
    for k in tensors:
        v = ba.arguments[k]
        if k in _OPERANDS or (not _batched_at(v, level) and (v.ndim if isinstance(v, Tensor) else np.ndim(v)) == nd):
            ba.arguments[k] = _lifted(v, level, size)   # (huber_loss wants a weight of the input's own shape)
        elif _batched_at(v, level):
            ba.arguments[k] = _pad(v._inner, nd - v.ndim)  # right-aligned against the per-sample shape
    ba.arguments["reduction"] = "none"
    out = op(*ba.args, **ba.kwargs)
    axes = tuple(range(1, out.ndim))
    ops = _ops()
    if red == "sum":
        out = ops.sum(out, axis=axes)
    elif red == "mean" and op.__name__ in ("mse_loss", "l1_loss") and ba.arguments.get("weight") is not None:
        w = ba.arguments["weight"]           # (a Tensor lifted above: batched like the input)
        out = ops.sum(out, axis=axes) / ops.sum(w, axis=axes)
    elif red == "mean":
        out = ops.mean(out, axis=axes)
    elif red == "batchmean":
        out = ops.sum(out, axis=axes) / x.shape[0]
    return _batched(out, level)


def one_hot_rule(op, level, args, kwargs):
    """one_hot with a given ``num_classes``: elementwise; with -1 the class count comes from each sample's
    values, so it runs per sample (an error if the samples disagree, as torch's vmap refuses it)."""
    ba = _bind(op, args, kwargs)
    if ba.arguments["num_classes"] < 0:
        return loop_rule(op, level, args, kwargs)
    return pointwise_rule(op, level, args, kwargs)


def _merge_n_rule(with_n, without_n):
    """Ops on an (N, ...) batch (interpolate, unfold, fold): a per-sample input with its own N has the vmap
    batch merged into N (one call on B * N items, split back); one in the op's unbatched form (``without_n``
    dims) takes the vmap batch as its N."""
    def rule(op, level, args, kwargs):
        ba, first = _first(op, level, args, kwargs)
        if ba is None:
            return loop_rule(op, level, args, kwargs)
        x = ba.arguments[first]
        inner, ops = x._inner, _ops()
        if x.ndim in without_n:
            ba.arguments[first] = inner
            return _batched(op(*ba.args, **ba.kwargs), level)
        if x.ndim not in with_n:
            return _sample_error(op, level, args, kwargs)
        b, n = inner.shape[:2]
        ba.arguments[first] = ops.reshape(inner, (b * n,) + tuple(inner.shape[2:]))
        out = op(*ba.args, **ba.kwargs)
        return _batched(ops.reshape(out, (b, n) + tuple(out.shape[1:])), level)
    return rule


RULES = {"merge_n_interpolate": _merge_n_rule((3, 4, 5), ()), "merge_n_unfold": _merge_n_rule((4,), (3,)),
         "merge_n_fold": _merge_n_rule((3,), (2,)), "one_hot": one_hot_rule, "pointwise": pointwise_rule,
         "random_pointwise": random_pointwise_rule, "dim_pointwise": dim_pointwise_rule,
         "pointwise_loss": pointwise_loss_rule}
