"""Forward-mode transforms (``jvp``'s plain path, ``jacfwd``, ``hessian``) on arguments batched by an enclosing
``vmap``: the dual values live on the innermost (unbatched) tensors.

A BatchedTensor carries no tangent itself: ops on it run their batching rule, which calls the same op on its
inner tensor, so the tangents are carried (and the JVP rules run) one level down, on the tensors with the
batch axes in front. A batched primal is therefore made dual on its innermost tensor, with the per-sample
tangent broadcast along the batch axes (stride 0): ONE tangent per basis vector serves every sample, as in
torch.func (``vmap(jacfwd(f))`` costs p tangents, p the per-sample input size, not B * p). An output's
tangent is read on its innermost tensor too: its shape is the batch sizes (innermost level first) followed by
the per-sample output shape; :func:`rewrap` puts a value of that layout back under its vmap levels.
"""
import numpy as np

from .autograd.forward_ad import make_dual, unpack_dual
from .func_vmap import BatchedTensor, _NoRule, _batched
from ._vmap_rules import peel  # (after func_vmap, which loads _vmap_rules at its end)
from .tensor import Tensor, _wrap


unwrap = peel   # (levels, innermost tensor): see _vmap_rules.peel


def rewrap(raw, levels):
    """``raw`` (batch axes in front, as :func:`unwrap` gives) batched again at ``levels``."""
    for lv in reversed(levels):
        raw = _batched(raw, lv)
    return raw


def _front(t, n):
    """Tangent ``t`` shared by the ``n`` samples of a batch: a stride-0 broadcast along a new front axis
    (``t`` may itself be batched by jacfwd's basis vmap: the ops dispatch to its level)."""
    from .ops import broadcast_to, expand_dims
    return broadcast_to(expand_dims(t, 0), (n,) + tuple(t.shape))


def dual(p, t):
    """``make_dual(p, t)`` for a primal ``p`` that may be batched (its per-sample shape is ``t``'s)."""
    if type(p) is BatchedTensor:
        return _batched(dual(p._inner, _front(t, p._inner.shape[0])), p._level)
    return make_dual(p, t)


def raw_of(x):
    return unwrap(x)[1]


def unpack_output(o, level, outer, where):
    """An output of ``f`` at dual ``level``: ``(primal, tangent, lead)``; the primal as ``f`` returned it (batched
    at its vmap levels), the tangent on the innermost tensor (batch axes in front; zeros where there is none)
    and ``lead = (levels, batch sizes)`` to put a block of that layout back under the levels. A value batched
    at a level above ``outer`` (by jacfwd's own basis vmap: a random draw) has no per-basis tangent here:
    raised as a missing rule, so the caller takes its one-basis-vector-at-a-time path."""
    from . import func as fn
    levels, raw = unwrap(o)
    if levels and levels[0] > outer:
        raise _NoRule("_as_output")
    raw = fn._as_output(raw, where, integers=True)
    p, t = unpack_dual(raw, level=level)
    if t is None:
        # (an integer or bool output gets a zero tangent of its dtype, as in torch.func)
        t = _wrap(np.zeros(p.data.shape, p.data.dtype))
    return rewrap(p, levels), t, (levels, tuple(raw.shape[:len(levels)]))


def primal_at(v, level):
    """``v`` without its tangent at dual ``level`` (``aux``), batched as it was."""
    if not isinstance(v, Tensor):
        return v
    levels, raw = unwrap(v)
    return rewrap(unpack_dual(raw, level=level).primal, levels)


def block(c, lead, out, primal, carries):
    """A Jacobian block from its columns ``c`` (basis axis in front, then the batch axes, then the output):
    shape ``out.shape + primal.shape`` per sample, batched at ``lead``'s levels. ``c`` None: zeros."""
    from .ops import moveaxis, reshape
    levels, bshape = lead
    shape = bshape + tuple(out.shape) + tuple(primal.shape)
    if c is None:
        j = np.zeros(shape, dtype=out.dtype)
    elif type(c) is BatchedTensor or carries(c):
        j = reshape(moveaxis(c, 0, -1), shape)
    else:
        j = np.moveaxis(c.data, 0, -1).reshape(shape)
    if not levels:
        return j
    return rewrap(j if isinstance(j, Tensor) else _wrap(j), levels)
