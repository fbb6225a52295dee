"""The batching rules of the core op families (``func_vmap.py`` dispatches to them through ``RULES``):

* elementwise unary ops: the op on the inner tensor;
* elementwise binary ops: singleton axes inserted after the batch axis so both operands right-align;
* reductions: axis arguments shifted by one (``None`` becomes every per-sample axis);
* shape ops (reshape, transpose, swapaxes, basic indexing, broadcast_to, concatenate/stack) and matmul: axes
  shifted, shapes prefixed; a weight shared by every sample runs one GEMM (``_vmap_nn.try_shared_matmul``).
"""
import math

import numpy as np

from . import func_vmap as fv
from .func_vmap import BatchedTensor, _at, _basic, _batched, _ndim, _pad, _shift_axes, _shift_one, _tm
from .tensor import Tensor


def _unary_rule(op, level, args, kwargs):
    """The op on the inner values of its (batched) first argument; a batched other argument (``nan=`` of
    nan_to_num, a tensor dtype...) runs per sample."""
    if not args or any(type(a) is BatchedTensor and a._level == level for a in (*args[1:], *kwargs.values())):
        return fv._vmap_rules.loop_rule(op, level, args, kwargs)
    inner, _ = _at(args[0], level)
    return _batched(op(inner, *args[1:], **kwargs), level)


def _elementwise_rule(op, level, args, kwargs):
    """Broadcasting elementwise ops: batched operands get singleton axes after the batch axis so that every
    operand right-aligns with the others' per-sample shapes."""
    nd = max(_ndim(a) for a in args if a is not None)
    new = []
    for a in args:
        inner, b = _at(a, level)
        new.append(_pad(inner, nd - a.ndim) if b else inner)
    return _batched(op(*new, **kwargs), level)


def _reduce_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    nd = x.ndim
    kwargs = dict(kwargs)
    if len(args) > 1:
        rest = list(args[1:])
        rest[0] = _shift_axes(rest[0], nd)
        return _batched(op(inner, *rest, **kwargs), level)
    for key in ("axis", "dim"):
        if key in kwargs:
            kwargs[key] = _shift_axes(kwargs[key], nd)
            break
    else:
        kwargs["axis"] = _shift_axes(None, nd)
    out = op(inner, **kwargs)
    return _batched(out, level)


def _matmul_rule(op, level, args, kwargs):
    a, b = args[:2]
    ia, ba = _at(a, level)
    ib, bb = _at(b, level)
    ra, rb = a.ndim, b.ndim
    if ra == 0 or rb == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    squeeze = []
    if ba and ra == 1:
        ia = _pad(ia, 1)            # (B, 1, n)
        ra = 2
        squeeze.append(-1 if (not bb and rb == 1) else -2)  # (.., 1, n) @ (n,) already drops the last axis
    if bb and rb == 1:
        ib = ib.reshape(ib.shape + (1,))  # (B, n, 1)
        rb = 2
        squeeze.append(-1)
    r = max(ra, rb)
    if ba:
        ia = _pad(ia, r - ra)
    if bb:
        ib = _pad(ib, r - rb)
    out = None
    if ba and bb and not args[2:] and not kwargs:  # a weight shared by every sample: one GEMM (see _vmap_nn)
        out = fv._vmap_nn.try_shared_matmul(ia, ib)
    if bb and not ba and ra == 2 and not args[2:] and not kwargs and isinstance(ia, (Tensor, np.ndarray)):
        # one matrix for every sample (W @ x, x batched): one GEMM of the samples' columns, (B, .., m, k) @
        # (k, n), transposed back. np.matmul broadcasts the matrix through a loop of B small products
        # (jacfwd of W @ x at n = 1,000: ~30x torch's time)
        out = op(ib.swapaxes(-1, -2), ia.swapaxes(-1, -2)).swapaxes(-1, -2)
    if out is None:
        out = op(ia, ib, *args[2:], **kwargs)
    for ax in squeeze:
        out = out.reshape(out.shape[:ax] + out.shape[ax:][1:]) if ax == -2 else out.reshape(out.shape[:-1])
    return _batched(out, level)


def _reshape_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    dims = args[1:]
    kwargs = dict(kwargs)
    shape = kwargs.pop("shape", None)
    newshape = kwargs.pop("newshape", None)
    if shape is None:
        shape = newshape
    if shape is None:
        shape = dims[0] if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)) else dims
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if shape.count(-1) == 1:
        known = math.prod(s for s in shape if s != -1)
        size = x.size
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    return _batched(op(inner, (inner.shape[0],) + shape, **kwargs), level)


def _transpose_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    nd = x.ndim
    axes = args[1] if len(args) > 1 else kwargs.get("axes")
    if axes is None:
        axes = tuple(range(nd))[::-1]
    return _batched(op(inner, (0,) + tuple(_shift_one(a, nd) for a in axes)), level)


def _swapaxes_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    nd = x.ndim
    return _batched(op(inner, _shift_one(args[1], nd), _shift_one(args[2], nd)), level)


def _getitem_rule(op, level, args, kwargs):
    x, key = args[:2]
    inner, bx = _at(x, level)
    keys = key if isinstance(key, tuple) else (key,)
    if not bx or not all(_basic(k) and type(k) is not bool for k in keys):
        return NotImplemented  # advanced indexing: the loop fallback
    return _batched(op(inner, (slice(None),) + keys), level)


def _broadcast_to_rule(op, level, args, kwargs):
    x, shape = args[:2]
    inner, _ = _at(x, level)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _batched(op(_pad(inner, len(shape) - x.ndim), (inner.shape[0],) + shape), level)


def _join(op, level, args, kwargs, new_axis):
    """concatenate / stack: unbatched operands repeated along the batch, the axis shifted past it."""
    size = next(a._inner.shape[0] for a in args if type(a) is BatchedTensor and a._level == level)
    axis = kwargs.get("axis", 0)
    inners = []
    for a in args:
        inner, b = _at(a, level)
        if not b:
            inner = fv._expand(inner if isinstance(inner, Tensor) else _tm._wrap(np.asarray(inner)), size)
        if axis is None:
            inner = inner.reshape((size, math.prod(inner.shape[1:])))
        inners.append(inner)
    nd = args[0].ndim + (1 if new_axis else 0)
    ax = 1 if axis is None else _shift_one(axis, nd)
    return _batched(op(inners, axis=ax), level)


def _composite_rule(op, level, args, kwargs):
    """An op spelled with ops that have rules: ``op`` is that spelling, run on the batched arguments."""
    return op(*args, **kwargs)


RULES = {"broadcast_to": _broadcast_to_rule, "composite": _composite_rule,
         "concatenate": lambda op, lv, a, k: _join(op, lv, a, k, False),
         "stack": lambda op, lv, a, k: _join(op, lv, a, k, True),
         "unary": _unary_rule, "elementwise": _elementwise_rule, "reduce": _reduce_rule, "matmul": _matmul_rule,
         "reshape": _reshape_rule, "transpose": _transpose_rule, "swapaxes": _swapaxes_rule,
         "getitem": _getitem_rule}
