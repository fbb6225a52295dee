"""Batching rules of the class-index losses, ``tensorinv`` / ``tensorsolve``, the tensor constructors, the
random masks of dropout. Registered by ``_vmap_rules.py``.

* ``nll_loss``, ``margin_loss`` (multi_margin_loss, multilabel_margin_loss), ``ctc_loss``: the vmap batch merged
  into the loss's own batch N (one call with ``reduction='none'`` on B * N items), then each sample's own
  reduction; a batched class ``weight`` multiplies the gathered per-item weights. A call the merged form refuses
  (bad shapes or values) reruns per sample without a warning, so the error is the one a sample raises;
* ``tensorinv``, ``tensorsolve``: one stacked ``inv`` / ``solve`` on the (B, n, n) reshaped systems;
* ``tensor``, ``as_tensor``: of a batched tensor, the batched value (a copy, a new leaf, for ``tensor``; itself
  for ``as_tensor``); of nested lists holding batched tensors, their stack;
* dropout (``dropout``, the feature / alpha dropouts, the attention dropout of
  ``scaled_dot_product_attention``): the mask drawn by ``npgrad.random.vmap_draw``, so one mask serves every
  sample under ``randomness='same'`` and each sample gets its own under 'different' (also for an unbatched
  input, as torch.func), then applied with ops that have batching rules;
(in-place methods and the (N, ...)-batch layers: ``_vmap_layers.py``)
"""
import math

import numpy as np

from ._vmap_rules import _batched_at, _bind, _leaves, _lifted, _ops, _sample_error, _size, loop_rule, peel
from .func_vmap import BatchedTensor, _batched
from .tensor import Tensor, _wrap


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)


def _merged(op, level, args, kwargs, run):
    """``run()``; a call the merged form refuses (a ValueError / IndexError / TypeError) runs per sample,
    unwarned, so the error raised is a sample's own."""
    try:
        return run()
    except (ValueError, IndexError, TypeError):
        return loop_rule(op, level, args, kwargs, warn=False)


def _gather_weight(w, tc, size, lead):
    """``w[b, tc[b, ...]]`` for a batched class weight ``w`` (its inner (B, C)) and targets ``tc`` (B, *lead)."""
    ops = _ops()
    m = math.prod(lead)
    return ops.reshape(ops.take_along_axis(w, ops.reshape(tc, (size, m)), axis=1), (size,) + tuple(lead))


def _sum_lead(v, lead):
    return _ops().sum(v, axis=tuple(range(1, len(lead) + 1))) if lead else v


# ------------------------------------------------------------------------ nll_loss
def nll_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    x, t, w = ba.arguments["input"], ba.arguments["target"], ba.arguments["weight"]
    red, ig = ba.arguments["reduction"], ba.arguments["ignore_index"]
    xs, ts = _shape(x), _shape(t)
    if (ba.arguments["size_average"] is not None or ba.arguments["reduce"] is not None
            or red not in ("mean", "sum", "none") or not xs or (len(xs) == 1 and ts != ())
            or (len(xs) >= 2 and ts != (xs[0],) + xs[2:]) or (w is not None and _shape(w) != (xs[min(1, len(xs) - 1)],))):
        return _sample_error(op, level, args, kwargs)
    ops = _ops()
    size = _size(_leaves(args, kwargs)[0], level)
    ix, it = _lifted(x, level, size), _lifted(t, level, size)
    wb = _batched_at(w, level)

    def run():
        if len(xs) == 1:
            xf, tf = ix, it
        else:
            n = xs[0]
            xf = ops.reshape(ix, (size * n,) + xs[1:])
            tf = ops.reshape(it, (size * n,) + ts[1:])
        loss = ops.reshape(op(xf, tf, None if wb else w, None, ig, None, "none"), (size,) + ts)
        return loss
    loss = _merged(op, level, args, kwargs, run)
    if type(loss) is BatchedTensor and loss._level == level:   # the per-sample rerun
        return loss
    if wb or red == "mean":
        valid = it != ig
        tc = ops.where(valid, it, 0)
        dt = loss.dtype
        if w is None:
            wt = ops.astype(valid, dt)
        elif wb:
            wt = _gather_weight(ops.astype(w._inner, dt), tc, size, ts) * valid   # (a weight may require grad)
        else:
            wv = w if isinstance(w, Tensor) else _wrap(np.asarray(w))
            wt = ops.astype(wv, dt)[tc] * valid
        if wb:
            loss = loss * wt
    if red == "none":
        return _batched(loss, level)
    total = _sum_lead(loss, ts)
    if red == "sum":
        return _batched(total, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _batched(total / _sum_lead(wt, ts), level)


# ------------------------------------------------------------------------ multi(label)_margin_loss
def margin_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    multilabel = op.__name__ == "multilabel_margin_loss"
    x, t, w = ba.arguments["input"], ba.arguments["target"], ba.arguments.get("weight")
    red = ba.arguments["reduction"]
    xs, ts = _shape(x), _shape(t)
    if len(xs) == 2:
        ok, lead = ts == (xs if multilabel else xs[:1]), xs[:1]
    elif len(xs) == 1:
        ok = ts == xs if multilabel else ts in ((), (1,))
        lead = () if multilabel else ts
    else:
        ok = False
    if (not ok or ba.arguments["size_average"] is not None or ba.arguments["reduce"] is not None
            or red not in ("mean", "sum", "none") or (w is not None and _shape(w) != xs[-1:])):
        return _sample_error(op, level, args, kwargs)
    ops = _ops()
    size = _size(_leaves(args, kwargs)[0], level)
    ix, it = _lifted(x, level, size), _lifted(t, level, size)
    wb = _batched_at(w, level)
    m, c = math.prod(lead), xs[-1]
    tf = ops.reshape(it, (size * m,) + ((c,) if multilabel else ()))
    xf = ops.reshape(ix, (size * m, c))
    ba.arguments["input"], ba.arguments["target"], ba.arguments["reduction"] = xf, tf, "none"
    if "weight" in ba.arguments:
        ba.arguments["weight"] = None if wb else w
    loss = _merged(op, level, args, kwargs, lambda: ops.reshape(op(*ba.args, **ba.kwargs), (size,) + lead))
    if type(loss) is BatchedTensor and loss._level == level:
        return loss
    if wb:
        loss = loss * _gather_weight(w._inner, ops.reshape(it, (size,) + lead), size, lead)
    if red == "none" or not lead:
        return _batched(loss, level)
    return _batched(ops.sum(loss, axis=1) if red == "sum" else ops.mean(loss, axis=1), level)


# ------------------------------------------------------------------------ ctc_loss
def _padded(targets, lengths, size, n):
    """Each sample's concatenated 1-D targets (B, L) as padded (B * n, S) rows (from the values: integers)."""
    td = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    ln = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths).reshape(size, n).astype(np.int64)
    s = int(ln.max()) if ln.size else 0
    offs = np.cumsum(ln, axis=1) - ln                                    # (B, n)
    idx = offs[:, :, None] + np.arange(s)                                # (B, n, S)
    used = np.arange(s) < ln[:, :, None]
    if td.shape[1] < (ln.sum(axis=1).max() if ln.size else 0):
        raise ValueError("ctc_loss: concatenated targets shorter than sum(target_lengths)")
    rows = np.arange(size)[:, None, None]
    out = np.where(used, td[rows, np.where(used, idx, 0)] if td.shape[1] else 0, 0)
    return _wrap(out.reshape(size * n, s).astype(np.int64))


def ctc_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    x, t = ba.arguments["log_probs"], ba.arguments["targets"]
    il, tl, red = ba.arguments["input_lengths"], ba.arguments["target_lengths"], ba.arguments["reduction"]
    xs, ts = _shape(x), _shape(t)
    if len(xs) not in (2, 3) or red not in ("mean", "sum", "none") or len(ts) not in (1, 2):
        return _sample_error(op, level, args, kwargs)
    n = xs[1] if len(xs) == 3 else 1
    if math.prod(_shape(il)) != n or math.prod(_shape(tl)) != n or (len(xs) == 2 and len(ts) != 1):
        return _sample_error(op, level, args, kwargs)
    ops = _ops()
    size = _size(_leaves(args, kwargs)[0], level)
    ix, it = _lifted(x, level, size), _lifted(t, level, size)
    iil, itl = _lifted(il, level, size), _lifted(tl, level, size)
    concat = len(xs) == 3 and len(ts) == 1
    if concat and (type(it) is BatchedTensor or type(itl) is BatchedTensor):
        return loop_rule(op, level, args, kwargs)   # batched at an outer level too: the values are not at hand
    xf = ops.reshape(ops.moveaxis(ix, 1, 0), (xs[0], size * n, xs[-1]))

    def run():
        tf = _padded(it, itl, size, n) if concat else ops.reshape(it, (size * n, ts[-1]))
        ba.arguments.update(log_probs=xf, targets=tf, input_lengths=ops.reshape(iil, (size * n,)),
                            target_lengths=ops.reshape(itl, (size * n,)), reduction="none")
        return ops.reshape(op(*ba.args, **ba.kwargs), (size, n))
    loss = _merged(op, level, args, kwargs, run)
    if type(loss) is BatchedTensor and loss._level == level:
        return loss
    if red == "mean":
        tln = ops.astype(ops.reshape(itl, (size, n)), loss.dtype)
        loss = loss / ops.maximum(tln, 1)
    if red == "none":
        return _batched(loss if len(xs) == 3 else ops.reshape(loss, (size,)), level)
    return _batched(ops.sum(loss, axis=1) if red == "sum" else ops.mean(loss, axis=1), level)


# ------------------------------------------------------------------------ tensorinv, tensorsolve
def tensorinv_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    a, ind = ba.arguments["a"], ba.arguments["ind"]
    s = _shape(a)
    if not _batched_at(a, level) or _batched_at(ind, level) or ind <= 0 or math.prod(s[:ind]) != math.prod(s[ind:]):
        return _sample_error(op, level, args, kwargs)
    from .ops.linalg import inv
    ops = _ops()
    inner = a._inner
    rows = math.prod(s[:ind])
    out = inv(ops.reshape(inner, (inner.shape[0], rows, rows)))
    return _batched(ops.reshape(out, (inner.shape[0],) + s[ind:] + s[:ind]), level)


def tensorsolve_rule(op, level, args, kwargs):
    ba = _bind(op, args, kwargs)
    a, b, axes = ba.arguments["a"], ba.arguments["b"], ba.arguments["axes"]
    sa, sb = _shape(a), _shape(b)
    if axes is not None:
        order = [k for k in range(len(sa)) if k not in [ax % len(sa) for ax in axes]]
        order += [ax % len(sa) for ax in axes]
        sa = tuple(sa[k] for k in order)
    x_shape = sa[-(len(sa) - len(sb)):] if len(sa) > len(sb) else ()
    n = math.prod(x_shape)
    if math.prod(sa[:len(sb)]) != n or math.prod(sb) != n:
        return _sample_error(op, level, args, kwargs)
    from .ops.linalg import solve
    ops = _ops()
    size = _size(_leaves(args, kwargs)[0], level)
    ia, ib = _lifted(a, level, size), _lifted(b, level, size)
    if axes is not None:
        ia = ops.transpose(ia, (0,) + tuple(k + 1 for k in order))
    out = solve(ops.reshape(ia, (size, n, n)), ops.reshape(ib, (size, n, 1)))
    return _batched(ops.reshape(out, (size,) + tuple(x_shape)), level)


# ------------------------------------------------------------------------ tensor, as_tensor
def _stack_tree(data, level, size):
    """Nested lists / tuples of tensors and numbers holding a batched tensor: their stack, batch in front."""
    ops = _ops()
    if isinstance(data, (list, tuple)):
        parts = [_stack_tree(d, level, size) for d in data]
        return ops.stack(parts, axis=1) if parts else None
    return _lifted(data, level, size)


def _needs_grad(x):
    x = peel(x)[1]
    return isinstance(x, Tensor) and x._requires_grad


def _grad_on():
    from .autograd import is_grad_enabled
    return is_grad_enabled()


def tensor_rule(op, level, args, kwargs):
    data = args[0]
    if _batched_at(data, level):
        return _batched(op(data._inner, *args[1:], **kwargs), level)
    if not isinstance(data, (list, tuple)):
        return loop_rule(op, level, args, kwargs)
    size = _size(_leaves([data], {})[0], level)
    leaves = [x for x in _leaves([data], {})[0]]
    dtypes = [x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype for x in leaves]
    if any(_needs_grad(x) for x in leaves) and _grad_on():
        return loop_rule(op, level, args, kwargs, warn=False)   # the sample's own error (gradients would be lost)
    stacked = _stack_tree(data, level, size)
    if stacked is None or not all(isinstance(x, (Tensor, np.ndarray, np.generic, int, float, bool, complex))
                                  for x in leaves):
        return loop_rule(op, level, args, kwargs)
    want = np.result_type(*dtypes)   # the stack promotes Python numbers as weak; the array of the list does not
    if stacked.dtype != want:
        stacked = _ops().astype(stacked, want)
    return _batched(op(stacked, *args[1:], **kwargs), level)


# ------------------------------------------------------------------------ dropout masks under vmap
def _mask(shape, p, dtype, generator, where, scaled=True):
    """``keep / (1 - p)`` (``scaled``; else ``keep``, 0 / 1) of ``shape`` drawn under vmap's randomness (batched
    at the 'different' levels)."""
    from . import random as _random
    fdt = np.float32 if dtype == np.float32 else np.float64
    _random.check_generator(generator, where)

    def draw(s):
        rng = generator or _random._generator
        if p == 1.0:
            return _wrap(np.zeros(s, dtype))
        keep = (rng.random(s, dtype=fdt) >= p).astype(dtype)
        return _wrap(keep * np.asarray(1.0 / (1.0 - p), dtype) if scaled else keep)
    return _random.vmap_draw(draw, shape, where)


def dropout(x, p, generator=None):
    """``F.dropout`` (training, 0 < p) inside vmap: ``x * mask``."""
    return x * _mask(tuple(x.shape), p, np.dtype(x.dtype), generator, "dropout")


def feature_dropout(x, p, feature, alpha, name):
    """``_dropout_impl`` of npgrad/nn/functional/dropout.py inside vmap: the keep mask drawn per element or
    per channel, then ``x * mask (+ shift)`` with ops."""
    from .nn.functional.dropout import _ALPHA
    shape = tuple(x.shape)
    if feature and len(shape) < 2:
        raise ValueError(f"{name}: feature dropout requires at least 2 dimensions in the input, got shape {shape}")
    dt = np.dtype(x.dtype)
    mshape = shape[:2] + (1,) * (len(shape) - 2) if feature else shape
    if not alpha:
        return x * _mask(mshape, p, dt, None, name)
    if p == 1.0:
        return x * _wrap(np.zeros((), dt))
    keep = _mask(mshape, p, dt, None, name, scaled=False)
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    shift = ops_astype((keep - 1) * (_ALPHA * a) + _ALPHA * a * p, dt)
    return x * ops_astype(keep * a, dt) + shift


def sdpa_dropout(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    """``scaled_dot_product_attention`` with ``dropout_p > 0`` inside vmap, spelled with ops that have batching
    rules: the attention weights' dropout mask is drawn under vmap's randomness (:func:`dropout`). A row whose
    every score is masked attends to nothing (weights, output and gradients 0), as the fused op."""
    from .nn.functional.activation import softmax
    from .nn.functional.attention import check_sdpa_args
    ops = _ops()
    check_sdpa_args(q.shape, k.shape, v.shape, attn_mask, is_causal, enable_gqa)
    L, S = q.shape[-2], k.shape[-2]
    dt = np.dtype(q.dtype)
    sc = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    s = ops.matmul(q, ops.swapaxes(k, -1, -2)) * np.asarray(sc, dt)
    if is_causal:
        s = s + np.where(np.tril(np.ones((L, S), dtype=bool)), 0, -np.inf).astype(dt)
    if attn_mask is not None:
        m = attn_mask if isinstance(attn_mask, Tensor) else _wrap(np.asarray(attn_mask))
        s = s + (ops.where(m, np.asarray(0, dt), np.asarray(-np.inf, dt)) if m.dtype == bool else ops_astype(m, dt))
    if S:
        dead = ops.max(s, axis=-1, keepdims=True) == -np.inf
        p = ops.where(dead, np.asarray(0, dt), softmax(ops.where(dead, np.asarray(0, dt), s), dim=-1))
    else:
        p = s
    return ops.matmul(dropout(p, dropout_p), v)


def ops_astype(v, dt):
    return v if v.dtype == dt else _ops().astype(v, dt)


RULES = {"nll_loss": nll_rule, "margin_loss": margin_rule, "ctc_loss": ctc_rule, "tensorinv": tensorinv_rule,
         "tensorsolve": tensorsolve_rule, "tensor": tensor_rule}
