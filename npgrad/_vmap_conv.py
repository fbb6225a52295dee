"""Batching rules of the three internal convolution ops (``ops/conv.py``): ``_conv_op`` y = B(x, w) + b, its input
gradient ``_conv_transpose_op`` and its weight gradient ``_conv_weight_op``. Registered by ``_vmap_rules.py``.

The public ``conv*d`` rule (``_vmap_nn._conv_rule``) sees the user's call; these rules see the calls the conv
VJPs and JVPs make on batched cotangents / tangents (``jacrev(jacfwd(f))``, per-sample Hessians,
``vmap(jvp)``...). Each op works on an (N, C, *L) batch with its geometry ``(stride, dilation, pad_lo, pad_hi,
groups)`` already resolved, so the vmap batch B is folded in the way functorch does for ``convolution``:

* only the operand carrying N batched (x of conv, g of conv_transpose; the bias too): B merged into N, one call
  on B * N items;
* only the weight batched: the samples become more output channels of each group (no copy of the input);
* otherwise (both batched, or either operand of the weight gradient, which sums over N): the samples become
  groups: each operand (B, N, C, *L) -> (N, B * C, *L), each weight (B, O, ...) -> (B * O, ...), ``groups * B``
  groups; the result is split back. A bias is added after, batched or not.
"""
from ._vmap_rules import _batched_at, _bind, _leaves, _lifted, _ops, _size
from .func_vmap import _batched


def _to_groups(v, B):
    """(B, N, C, *L) -> (N, B * C, *L): sample b's channels are b * C .. b * C + C - 1."""
    ops = _ops()
    return ops.reshape(ops.moveaxis(v, 0, 1), (v.shape[1], B * v.shape[2]) + tuple(v.shape[3:]))


def _from_groups(o, B):
    """(N, B * C, *L) -> (B, N, C, *L)."""
    ops = _ops()
    return ops.moveaxis(ops.reshape(o, (o.shape[0], B, o.shape[1] // B) + tuple(o.shape[2:])), 1, 0)


def _merge_n(v, B):
    return _ops().reshape(v, (B * v.shape[1],) + tuple(v.shape[2:]))


def _split_n(o, B):
    return _ops().reshape(o, (B, o.shape[0] // B) + tuple(o.shape[1:]))


def _grouped(geom, B):
    s, d, lo, hi, G = geom
    return s, d, lo, hi, G * B


def _with_bias(out, b, level, nd, add):
    res = _batched(out, level)
    if add and b is not None:
        res = res + _ops().reshape(b, (-1,) + (1,) * nd)
    return res


def _weight_only(op, ba, first, a, iw, B):
    """Only the weight batched: the samples become more output channels of each group (no copy of the input).
    conv's weight (B, O, C/G, *K) -> (G * B * O/G, C/G, *K); conv_transpose's (B, C, O/G, *K) ->
    (C, B * O/G, *K); the output (N, G * B * O/G, *L) is split back to (B, N, O, *L)."""
    ops = _ops()
    s, d, lo, hi, G = ba.arguments["geom"]
    K = tuple(iw.shape[3:])
    if first == "x":
        O, Cg = iw.shape[1], iw.shape[2]
        wm = ops.moveaxis(ops.reshape(iw, (B, G, O // G, Cg) + K), 0, 1)       # (G, B, O/G, C/G, *K)
        ba.arguments["w"] = ops.reshape(wm, (O * B, Cg) + K)
        Og = O // G
    else:
        C, Og = iw.shape[1], iw.shape[2]
        wm = ops.moveaxis(ops.reshape(iw, (B, G, C // G, Og) + K), 0, 2)       # (G, C/G, B, O/G, *K)
        ba.arguments["w"] = ops.reshape(wm, (C, B * Og) + K)
    ba.arguments["b"] = None
    out = op(*ba.args, **ba.kwargs)                                            # (N, G * B * O/G, *L)
    n, L = out.shape[0], tuple(out.shape[2:])
    out = ops.moveaxis(ops.reshape(out, (n, G, B, Og) + L), 2, 0)              # (B, N, G, O/G, *L)
    return ops.reshape(out, (B, n, G * Og) + L)


def _apply_rule(first, second):
    """The rule of conv (``first`` = x, ``second`` = w) and of conv_transpose (g, w): bilinear in (first,
    weight) plus a bias over the output channels; the first operand carries N."""
    def rule(op, level, args, kwargs):
        ba = _bind(op, args, kwargs)
        a, w, b = ba.arguments[first], ba.arguments[second], ba.arguments["b"]
        B = _size(_leaves(args, kwargs)[0], level)
        if B == 0 or a.ndim < 3:
            return NotImplemented
        nd = a.ndim - 2
        ba_, bw, bb = _batched_at(a, level), _batched_at(w, level), _batched_at(b, level)
        if not bw:
            if not ba_:   # the bias alone is batched
                ba.arguments["b"] = None
                return op(*ba.args, **ba.kwargs) + _ops().reshape(b, (-1,) + (1,) * nd)
            ba.arguments[first] = _merge_n(a._inner, B)
            ba.arguments["b"] = None if bb else b
            return _with_bias(_split_n(op(*ba.args, **ba.kwargs), B), b, level, nd, bb)
        iw = w._inner
        if not ba_:
            out = _weight_only(op, ba, first, a, iw, B)
            return _with_bias(out, b, level, nd, True)
        ba.arguments[first] = _to_groups(_lifted(a, level, B), B)
        ba.arguments[second] = _ops().reshape(iw, (B * iw.shape[1],) + tuple(iw.shape[2:]))
        ba.arguments["b"] = None
        ba.arguments["geom"] = _grouped(ba.arguments["geom"], B)
        return _with_bias(_from_groups(op(*ba.args, **ba.kwargs), B), b, level, nd, True)
    return rule


def _conv_weight_rule(op, level, args, kwargs):
    """The weight gradient sums over N, so the batch cannot merge into it: both operands become groups."""
    ba = _bind(op, args, kwargs)
    x, g = ba.arguments["x"], ba.arguments["g"]
    B = _size(_leaves(args, kwargs)[0], level)
    if B == 0 or x.ndim < 3:
        return NotImplemented
    ba.arguments["x"] = _to_groups(_lifted(x, level, B), B)
    ba.arguments["g"] = _to_groups(_lifted(g, level, B), B)
    ba.arguments["geom"] = _grouped(ba.arguments["geom"], B)
    out = op(*ba.args, **ba.kwargs)                          # (B * O, C/G, *K)
    return _batched(_ops().reshape(out, (B, out.shape[0] // B) + tuple(out.shape[1:])), level)


RULES = {"conv_op": _apply_rule("x", "w"), "conv_transpose_op": _apply_rule("g", "w"),
         "conv_weight_op": _conv_weight_rule}
