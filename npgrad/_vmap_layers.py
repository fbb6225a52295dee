"""Batching rules of in-place methods and of layers on an (N, ...) batch. Registered by ``_vmap_rules.py``.

* ``inplace``: ``x.add_(y)``, ``F.relu_(x)``... on a batched ``x``: the out-of-place value (computed by the ops'
  own rules) written into ``x``'s inner tensor by the in-place machinery;
* ``merge_*`` (conv_transpose, grid_sample, instance_norm, 2-D embedding_bag): the vmap batch merged into N;
  per-sample weights (the per-sample-gradient case: ``vmap(grad)`` hands every sample its own parameters) are
  applied after the unweighted op (norms), merged into the channels as groups (conv_transpose) or into one
  offset table (embedding_bag);
* ``rms_norm``: the op on the inner value; ``bound_elementwise`` (zeta, polygamma): the elementwise rule.
"""
import numpy as np

from . import _vmap_basic, func_vmap as fv
from ._vmap_losses import _shape
from ._vmap_rules import _batched_at, _bind, _leaves, _lifted, _ops, _sample_error, _size, loop_rule, peel
from .func_vmap import _batched
from .tensor import Tensor, _wrap


# ------------------------------------------------------------------------ in-place methods
def inplace_rule(op, level, args, kwargs):
    """``x.name_(...)`` (and ``F.relu_``...) on a batched ``x``: the in-place machinery writes into ``x``'s inner
    tensor the out-of-place result computed on the batched value (every op's own rule); an unbatched ``x``
    with a batched argument cannot hold the batched result, which raises, as in torch.func.vmap."""
    from .ops.inplace import method
    self = args[0]
    name = getattr(op, "_inplace_name", op.__name__)   # (x += v: add_)
    if not _batched_at(self, level):
        raise RuntimeError(f"vmap: {name}(self, ...) is not possible here: an argument is batched but self "
                           f"is not, so the result would need a batch dimension self does not have (torch.func.vmap "
                           f"refuses this too); use the out-of-place op instead")
    fn, opname = op._inplace
    leaves, spec = _leaves(args[1:], kwargs)
    marks = [_batched_at(x, level) for x in leaves]
    size = self._inner.shape[0]

    def fn_b(old, *a, **k):   # the other arguments batched at this level come in as their inner tensors
        got, sp = _leaves(a, k)
        a, k = fv._unflatten([_batched(x, level) if m else x for x, m in zip(got, marks)], sp)
        out = fn(_batched(old, level), *a, **k)
        return out._inner if _batched_at(out, level) else _lifted(out, level, size)
    a, k = fv._unflatten([x._inner if m else x for x, m in zip(leaves, marks)], spec)
    method(name, fn_b, opname)(self._inner, *a, **k)   # (their requires_grad seen by the write)
    return self


# ------------------------------------------------------------------------ layers on an (N, ...) batch
def _merge_rule(carry, with_n, without_n=None, loop_if=None):
    """Ops whose arguments ``carry`` hold the op's own batch N in front (conv_transpose, grid_sample,
    instance_norm, embedding_bag): the vmap batch merged into N (one call on B * N items, split back); a
    per-sample input in the op's unbatched form (``without_n(per-sample ndim)``) takes the vmap batch as N.
    Other arguments batched (a per-sample weight), or ``loop_if(bound arguments)``: the per-op loop."""
    def rule(op, level, args, kwargs):
        ba = _bind(op, args, kwargs)
        names = [c for c in carry if ba.arguments.get(c) is not None]
        others = _leaves([v for k, v in ba.arguments.items() if k not in names], {})[0]
        if any(_batched_at(x, level) for x in others) or (loop_if is not None and loop_if(ba)):
            return loop_rule(op, level, args, kwargs)
        size = _size(_leaves([ba.arguments[c] for c in names], {})[0], level)
        ops = _ops()
        first = _shape(ba.arguments[names[0]])
        if without_n is not None and without_n(len(first)):
            for c in names:
                ba.arguments[c] = _lifted(ba.arguments[c], level, size)
            return _batched(op(*ba.args, **ba.kwargs), level)
        if not with_n(len(first)):
            return _sample_error(op, level, args, kwargs)
        n = first[0]
        for c in names:
            sh = _shape(ba.arguments[c])
            if not sh or sh[0] != n:
                return _sample_error(op, level, args, kwargs)
            ba.arguments[c] = ops.reshape(_lifted(ba.arguments[c], level, size), (size * n,) + sh[1:])
        out = op(*ba.args, **ba.kwargs)
        return _batched(ops.reshape(out, (size, n) + tuple(out.shape[1:])), level)
    return rule


def rms_norm_rule(op, level, args, kwargs):
    """rms_norm normalizes trailing dims: the op on the inner value (the batch one more leading dim); a
    per-sample weight multiplies the unweighted result."""
    ba = _bind(op, args, kwargs)
    x, w, eps = ba.arguments["input"], ba.arguments["weight"], ba.arguments["eps"]
    if eps is not None and _batched_at(eps, level):
        return loop_rule(op, level, args, kwargs)
    shape = ba.arguments["normalized_shape"]
    k = 1 if isinstance(shape, (int, np.integer)) else len(tuple(shape))
    if x.ndim < k or (w is not None and _shape(w) != tuple(x.shape[x.ndim - k:])):
        return _sample_error(op, level, args, kwargs)
    wb = _batched_at(w, level)
    ba.arguments["input"] = _lifted(x, level, _size(_leaves(args, kwargs)[0], level))
    if wb:
        ba.arguments["weight"] = None
    out = _batched(op(*ba.args, **ba.kwargs), level)
    return out * w if wb else out


def instance_norm_rule(op, level, args, kwargs):
    """instance_norm: the batch merged into N; a per-sample weight / bias applied after the unweighted op."""
    ba = _bind(op, args, kwargs)
    w, b, x = ba.arguments["weight"], ba.arguments["bias"], ba.arguments["input"]
    if not (_batched_at(w, level) or _batched_at(b, level)) or x.ndim < 3 or any(
            _shape(v) != (x.shape[1],) for v in (w, b) if v is not None):
        return (_INSTANCE if ba.arguments["use_input_stats"] else _INSTANCE_EVAL)(op, level, args, kwargs)
    ba.arguments["weight"] = ba.arguments["bias"] = None
    y = _INSTANCE(op, level, ba.args, ba.kwargs)
    lead = (-1,) + (1,) * (x.ndim - 2)
    y = y if w is None else y * _ops().reshape(w, lead)
    return y if b is None else y + _ops().reshape(b, lead)


def conv_transpose_rule(nd):
    """conv_transpose: an unbatched weight merges the batch into N; a per-sample weight (or bias) merges it into
    the channels instead, as ``groups * B`` groups (one call: each sample convolved with its own weight)."""
    merge = _merge_rule(("input",), lambda d: d == nd + 2, lambda d: d == nd + 1)

    def rule(op, level, args, kwargs):
        ba = _bind(op, args, kwargs)
        x, w, bias = ba.arguments["input"], ba.arguments["weight"], ba.arguments["bias"]
        if not (_batched_at(w, level) or _batched_at(bias, level)):
            return merge(op, level, args, kwargs)
        ops = _ops()
        size = _size(_leaves(args, kwargs)[0], level)
        xs, ws = _shape(x), _shape(w)
        others = _leaves([v for k, v in ba.arguments.items() if k not in ("input", "weight", "bias")], {})[0]
        if size == 0 or any(_batched_at(v, level) for v in others) or not isinstance(ba.arguments["groups"], int):
            return loop_rule(op, level, args, kwargs)
        if len(xs) not in (nd + 1, nd + 2) or len(ws) != nd + 2 or ws[0] != xs[-nd - 1]:
            return _sample_error(op, level, args, kwargs)
        unb = len(xs) == nd + 1
        ix = _lifted(x, level, size)
        if unb:
            ix = ops.reshape(ix, (size, 1) + xs)
        n, cin, sp = ix.shape[1], xs[-nd - 1], xs[len(xs) - nd:]
        xm = ops.reshape(ops.moveaxis(ix, 0, 1), (n, size * cin) + tuple(sp))
        wm = ops.reshape(_lifted(w, level, size), (size * cin,) + ws[1:])
        g = ba.arguments["groups"]
        cout = ws[1] * g
        bm = None if bias is None else ops.reshape(_lifted(bias, level, size), (size * cout,))
        ba.arguments.update(input=xm, weight=wm, bias=bm, groups=size * g)
        out = op(*ba.args, **ba.kwargs)                                   # (N, B * Cout, *Lout)
        out = ops.moveaxis(ops.reshape(out, (n, size, cout) + tuple(out.shape[2:])), 1, 0)
        return _batched(ops.reshape(out, (size, cout) + tuple(out.shape[3:])) if unb else out, level)
    return rule


def _raw_values(x):
    x = peel(x)[1]
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def embedding_bag_rule(op, level, args, kwargs):
    """embedding_bag of 2-D bags: the batch merged into the bags; a per-sample table is one (B * V, D) table with
    each sample's indices offset by b * V (indices checked in range first)."""
    ba = _bind(op, args, kwargs)
    w = ba.arguments["weight"]
    if not _batched_at(w, level):
        return _EMBEDDING_BAG(op, level, args, kwargs)
    idx, psw = ba.arguments["input"], ba.arguments["per_sample_weights"]
    plain = all(ba.arguments[k] is None for k in ("offsets", "max_norm", "padding_idx")) and not ba.arguments[
        "scale_grad_by_freq"]
    v_, d_ = w.shape
    vals = _raw_values(idx)
    if not plain or len(_shape(idx)) != 2 or vals.dtype.kind not in "iu" or (vals.size and (
            vals.min() < 0 or vals.max() >= v_)) or (psw is not None and _shape(psw) != _shape(idx)):
        return loop_rule(op, level, args, kwargs)
    ops = _ops()
    size = w._inner.shape[0]
    bags, n = _shape(idx)
    ii = _lifted(idx, level, size) + _wrap((np.arange(size) * v_).reshape(size, 1, 1))
    ba.arguments.update(input=ops.reshape(ii, (size * bags, n)),
                        weight=ops.reshape(w._inner, (size * v_, d_)))
    if psw is not None:
        ba.arguments["per_sample_weights"] = ops.reshape(_lifted(psw, level, size), (size * bags, n))
    return _batched(ops.reshape(op(*ba.args, **ba.kwargs), (size, bags, d_)), level)


def bound_elementwise_rule(op, level, args, kwargs):
    """Broadcasting elementwise ops with keyword operands (zeta's ``q``, polygamma's ``n``): bound to
    positions, then the elementwise rule."""
    return _vmap_basic._elementwise_rule(op, level, tuple(_bind(op, args, kwargs).arguments.values()), {})


_UNPOOL = {nd: _merge_rule(("input", "indices"), lambda d, nd=nd: d == nd + 2, lambda d, nd=nd: d == nd + 1)
           for nd in (1, 2, 3)}


def max_unpool_rule(op, level, args, kwargs):
    """max_unpool: the per-plane indices stay valid with the batch merged into N (input and indices alike);
    indices of another shape than the input: the op's own error, on one sample."""
    ba = _bind(op, args, kwargs)
    nd, x, idx = ba.arguments["nd"], ba.arguments["input"], ba.arguments["indices"]
    if nd not in _UNPOOL or _shape(x) != _shape(idx):
        return _sample_error(op, level, args, kwargs)
    return _UNPOOL[nd](op, level, args, kwargs)


def unpool_scatter_rule(op, level, args, kwargs):
    """max_unpool's scatter ``(x (N, C, M), idx, P)`` on a batched ``x`` (its JVP under jacfwd / hessian): the
    batch merged into N, the (constant) indices repeated for every sample."""
    x, idx, P = args
    if not _batched_at(x, level) or kwargs:
        return loop_rule(op, level, args, kwargs)
    ops, inner = _ops(), x._inner
    B, lead = inner.shape[0], tuple(inner.shape[1:-1])
    idx_b = np.broadcast_to(idx, (B,) + idx.shape).reshape((B * lead[0],) + idx.shape[1:])
    out = op(ops.reshape(inner, (B * lead[0],) + tuple(inner.shape[2:])), idx_b, P)
    return _batched(ops.reshape(out, (B,) + lead + (P,)), level)


_INSTANCE = _merge_rule(("input",), lambda d: d >= 3, loop_if=lambda ba: ba.arguments["use_input_stats"] and (
    ba.arguments["running_mean"] is not None or ba.arguments["running_var"] is not None))  # (updated per sample)
_INSTANCE_EVAL = _merge_rule(("input",), lambda d: d >= 2)  # the running statistics: an (N, C) input too
_EMBEDDING_BAG = _merge_rule(("input", "per_sample_weights"), lambda d: d == 2, loop_if=lambda ba: (
    ba.arguments["offsets"] is not None or ba.arguments["max_norm"] is not None
    or ba.arguments["scale_grad_by_freq"]))   # (index frequencies are counted per sample)

RULES = {"bound_elementwise": bound_elementwise_rule, "rms_norm": rms_norm_rule,
         "merge_conv_transpose1d": conv_transpose_rule(1), "merge_conv_transpose2d": conv_transpose_rule(2),
         "merge_conv_transpose3d": conv_transpose_rule(3),
         "merge_grid_sample": _merge_rule(("input", "grid"), lambda d: d in (4, 5)),
         "merge_instance_norm": instance_norm_rule, "merge_max_unpool": max_unpool_rule,
         "unpool_scatter": unpool_scatter_rule, "merge_embedding_bag": embedding_bag_rule,
         "inplace": inplace_rule}
