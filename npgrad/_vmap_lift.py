"""Reverse-mode transforms inside ``vmap`` (``vmap(grad(f))``, ``vmap(jacrev(f))``): one batched transform
instead of one per sample. (``jacfwd`` runs its own path on the batched arguments instead, whose basis is the
per-sample input's: npgrad/_fwd_batched.py.)

The batched inputs are unwrapped at the vmap level (batch axis in front); the differentiated unbatched inputs
(a model's parameters in per-sample gradients) become stride-0 broadcasts along the batch, so each sample owns
its gradient while the layers' rules (``_vmap_nn.py``) still run one op over the batch with the shared value;
the transform then runs once on the summed per-sample outputs, whose gradient is every sample's own.
"""
import numpy as np

from .func_vmap import BatchedTensor, _batched, _expand, _flatten, _moveaxis, _tm, _unflatten
from .tensor import Tensor


def batched_level(args):
    """The innermost vmap level at which a leaf of ``args`` is batched (0 if none)."""
    lv = 0
    for x in _flatten(list(args))[0]:
        if type(x) is BatchedTensor and x._level > lv:
            lv = x._level
    return lv


def _size_at(args, level):
    for x in _flatten(list(args))[0]:
        if type(x) is BatchedTensor and x._level == level:
            return x._inner.shape[0]


def _lift_args(args, nums, level, size):
    """The inner arguments of a transform run under vmap: batched leaves unwrapped (batch in front),
    differentiated unbatched tensors repeated along the batch (so each sample gets its own gradient)."""
    inner_args, flags = [], []
    for i, a in enumerate(args):
        leaves, spec = _flatten(a)
        il, fl = [], []
        for x in leaves:
            if type(x) is BatchedTensor and x._level == level:
                il.append(x._inner)
                fl.append(True)
            elif i in nums and (isinstance(x, (Tensor, np.ndarray)) or isinstance(x, float)):
                x = x if isinstance(x, Tensor) else _tm._wrap(np.asarray(x, dtype=np.result_type(x, np.float32)
                                                                         if isinstance(x, float) else None))
                il.append(_expand(x, size) + 0 if type(x) is BatchedTensor else _copy_expand(x, size))
                fl.append(True)
            else:
                il.append(x)
                fl.append(False)
        inner_args.append(_unflatten(il, spec))
        flags.append(fl)
    return inner_args, flags


def _copy_expand(x, size):
    """``x`` as every sample's own copy: a stride-0 broadcast along a new front axis (no memory). Each sample
    still gets its own gradient (the differentiated leaf is this (size, ...) tensor); the layers' batching
    rules recognise the broadcast as a weight shared by the batch and run one big op (npgrad/_vmap_nn.py)."""
    from .ops import broadcast_to, expand_dims
    return broadcast_to(expand_dims(x, 0), (size,) + x.shape)


def _rewrap(inner_args, flags, level):
    out = []
    for a, fl in zip(inner_args, flags):
        leaves, spec = _flatten(a)
        out.append(_unflatten([_batched(x, level) if f else x for x, f in zip(leaves, fl)], spec))
    return out


def _unwrap_out(out, level, size):
    def conv(x):
        if type(x) is BatchedTensor and x._level == level:
            return x._inner
        if isinstance(x, Tensor):
            return _expand(x, size)
        return x
    leaves, spec = _flatten(out)
    return _unflatten([conv(x) for x in leaves], spec)


def _wrap_out(out, level):
    leaves, spec = _flatten(out)
    return _unflatten([_batched(x, level) if isinstance(x, Tensor) else x for x in leaves], spec)


def lifted(kind, f, argnums, has_aux, args, kwargs, level):
    """``grad_and_value`` / ``jacrev`` of ``f`` at ``args`` batched at vmap ``level``, as one
    batched transform: samples are independent inside vmap, so the gradient of the sum of the per-sample
    outputs with respect to the batched inputs is every sample's own gradient."""
    from . import func as fn
    from .ops import sum as npsum
    size = _size_at(args, level)
    single, nums = fn._normalize_argnums(argnums, len(args), kind)
    inner_args, flags = _lift_args(args, nums, level, size)
    out_ndims = []

    def g(*ia):
        res = f(*_rewrap(ia, flags, level), **kwargs)
        out, aux = (res if has_aux else (res, None))
        if kind == "grad":
            if not isinstance(out, Tensor) or out.size != 1:
                raise RuntimeError(f"grad: f must return a one-element tensor (a scalar loss), got shape "
                                   f"{getattr(out, 'shape', None)}; use vjp or jacrev for other outputs")
            o = _unwrap_out(out, level, size)
            return npsum(o), (o, _unwrap_out(aux, level, size))
        o = _unwrap_out(out, level, size)
        out_ndims.append([t.ndim - 1 if isinstance(t, Tensor) else 0 for t in _flatten(o)[0]])
        summed = fn._tree_map(lambda t: npsum(t, axis=0) if isinstance(t, Tensor) else t, o)
        return summed, _unwrap_out(aux, level, size)

    if kind == "grad":
        grads, (_, (value, aux)) = fn.grad_and_value(g, argnums, has_aux=True)(*inner_args)
        grads = _wrap_out(grads, level)
        value = _batched(value, level) if isinstance(value, Tensor) else value
        return grads, ((value, _wrap_out(aux, level)) if has_aux else value)
    jac, aux = fn.jacrev(g, argnums, has_aux=True)(*inner_args)
    # each Jacobian leaf has shape out.shape + (B,) + in.shape (per-sample shapes): the batch axis goes in front
    ond = out_ndims[-1]
    n_in = sum(len(_flatten(args[i])[0]) for i in nums)
    leaves, spec = _flatten(jac)
    fixed = []
    for j, x in enumerate(leaves):
        x = x if isinstance(x, Tensor) else _tm._wrap(np.asarray(x))
        d = ond[j // n_in] if n_in else 0
        fixed.append(_batched(x if d == 0 else _moveaxis(x, d, 0), level))
    jac = _unflatten(fixed, spec)
    return (jac, _wrap_out(aux, level)) if has_aux else jac
