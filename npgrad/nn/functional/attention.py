"""Scaled dot-product attention as one fused op."""
import math

import numpy as np

from ... import random as _random
from ...autograd import versions as _versions
from ...ops._util import as_input, in_graph, number_arg
from ...tensor import _F16, Tensor, _make
from .activation import softmax
from ._common import _data, _is_graph

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)


# --------------------------------------------------------------------------- attention
_SDPA_BACKENDS = None   # the backends npgrad.nn.attention.sdpa_kernel enabled (None: all; empty: none)


def _attn_bias(attn_mask, is_causal, L, S, dtype):
    """The additive mask (or None): bool masks mark positions that take part (True), as in PyTorch SDPA."""
    bias = None
    if is_causal:
        bias = np.where(np.tril(np.ones((L, S), dtype=bool)), 0, -np.inf).astype(dtype)
    if attn_mask is not None:
        md = _data(attn_mask)
        # (a float array is copied: the create_graph path reads the bias again, and the caller may change the
        # array after the call; a Tensor is an input of the op, which the version counters guard)
        m = np.where(md, 0, -np.inf).astype(dtype) if md.dtype == bool else \
            md.astype(dtype, copy=not isinstance(attn_mask, Tensor))
        bias = m if bias is None else bias + m
    return bias


def check_sdpa_args(q_shape, k_shape, v_shape, attn_mask, is_causal, enable_gqa):
    """scaled_dot_product_attention's argument errors (shared with its vmap form, npgrad/_vmap_losses.py)."""
    if (len(q_shape) < 2 or len(k_shape) < 2 or len(v_shape) < 2 or q_shape[-1] != k_shape[-1]
            or k_shape[-2] != v_shape[-2]):
        raise ValueError(f"scaled_dot_product_attention: query {tuple(q_shape)}, key {tuple(k_shape)} and value "
                         f"{tuple(v_shape)} do not fit (need (..., L, E), (..., S, E), (..., S, Ev))")
    try:
        scores = np.broadcast_shapes(tuple(q_shape[:-2]), tuple(k_shape[:-2])) + (q_shape[-2], k_shape[-2])
        np.broadcast_shapes(tuple(k_shape[:-2]), tuple(v_shape[:-2]))
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: the batch dims of query {tuple(q_shape)}, key "
                         f"{tuple(k_shape)} and value {tuple(v_shape)} do not broadcast") from None
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal, not both")
    if attn_mask is not None:
        m_dtype, m_shape = np.dtype(attn_mask.dtype), tuple(np.shape(attn_mask))
        if m_dtype != bool and m_dtype.kind != "f":
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be boolean or floating, got {m_dtype}")
        try:  # the mask broadcasts to the scores' shape, never beyond it (PyTorch adds it in place)
            ok = np.broadcast_shapes(m_shape, scores) == scores
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {m_shape} does not broadcast to "
                             f"the attention scores' shape {scores} (query {tuple(q_shape)}, key {tuple(k_shape)})")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """``softmax(q k^T * scale + mask) v`` over the last two dims, as ``F.scaled_dot_product_attention``:
    ``attn_mask`` is boolean (True = may attend) or additive float, broadcast to (..., L, S);
    ``is_causal`` masks the upper triangle; ``scale`` defaults to ``1 / sqrt(E)``. One fused op.
    ``enable_gqa=True`` (grouped-query attention): key and value may have fewer heads (dim -3) than the
    query, a divisor of its count; each of their heads then serves that many consecutive query heads.
    ``attn_mask`` may be a ``npgrad.nn.attention.bias`` causal mask (``causal_lower_right(L, S)``...); inside
    ``npgrad.nn.attention.sdpa_kernel([])`` (no backend enabled) this raises RuntimeError, as torch's.
    ``scale`` may be a 0-d Tensor that requires grad: the result is then differentiable in it."""
    if scale is not None and scale.__class__ is not float and isinstance(scale, Tensor):
        if in_graph(scale):  # the scores are linear in scale: (q * scale) k^T with a unit scale
            if scale.ndim != 0:
                raise TypeError(f"scaled_dot_product_attention: scale must be a number or a 0-d Tensor, got a "
                                f"Tensor of shape {scale.shape}")
            q = as_input(query, "scaled_dot_product_attention")
            return scaled_dot_product_attention(q * scale.astype(q.dtype), key, value, attn_mask, dropout_p,
                                                is_causal, 1.0, enable_gqa)
        scale = number_arg(scale, "scaled_dot_product_attention", "scale")
    if dropout_p.__class__ is not float:
        dropout_p = number_arg(dropout_p, "scaled_dot_product_attention", "dropout_p")
    if _SDPA_BACKENDS is not None and not _SDPA_BACKENDS:
        raise RuntimeError("scaled_dot_product_attention: No viable backend for scaled_dot_product_attention was "
                           "found: npgrad.nn.attention.sdpa_kernel enabled no backend (any of them, e.g. "
                           "SDPBackend.MATH, runs npgrad's one implementation)")
    if attn_mask is not None and not isinstance(attn_mask, (Tensor, np.ndarray)):
        from ..attention.bias import CausalBias
        if isinstance(attn_mask, CausalBias):
            if is_causal:
                raise ValueError("scaled_dot_product_attention: CausalBias should not be used with causal=True")
            attn_mask = attn_mask._materialize()
    if enable_gqa:
        key, value = _gqa_expand(query, key, value)
        enable_gqa = False
    if dropout_p > 0.0 and _random._vmap_state._LEVELS:  # inside vmap: the dropout mask under its randomness
        from ..._vmap_losses import sdpa_dropout
        return sdpa_dropout(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    if _tm._VMAP:
        r = _tm._vmap_call("sdpa", scaled_dot_product_attention, (query, key, value, attn_mask),
                           dict(dropout_p=dropout_p, is_causal=is_causal, scale=scale, enable_gqa=enable_gqa))
        if r is not NotImplemented:
            return r
    q, k, v = (as_input(t, "scaled_dot_product_attention") for t in (query, key, value))
    qd, kd, vd = q.data, k.data, v.data
    if np.result_type(qd, kd, vd) == _F16:   # float16: the scores, softmax and sums in float32, the output rounded
        # once, as torch's CPU kernel accumulates (in float16 the output was ~5e-3 off, torch's ~5e-4)
        f32 = [t.astype(np.float32) if t.dtype == _F16 else t for t in (q, k, v)]
        return scaled_dot_product_attention(*f32, attn_mask, dropout_p, is_causal, scale, enable_gqa).astype(_F16)
    check_sdpa_args(qd.shape, kd.shape, vd.shape, attn_mask, is_causal, enable_gqa)
    L, S = qd.shape[-2], kd.shape[-2]
    sc = 1.0 / math.sqrt(qd.shape[-1]) if scale is None else float(scale)
    bias = _attn_bias(attn_mask, is_causal, L, S, qd.dtype)
    # a float mask that requires grad (a learned position bias) is a fourth input: its gradient is the scores'
    mask_in = attn_mask if _is_float_tensor(attn_mask) else None
    s = np.matmul(qd, np.swapaxes(kd, -1, -2))
    s *= sc
    if bias is not None:
        s = s + bias
    # A row whose every score is masked (-inf), or a query with no keys (S = 0), attends to nothing: its
    # weights, output and gradients are 0, as PyTorch's (a plain softmax would give 0 / 0 = nan).
    m = s.max(axis=-1, keepdims=True) if S else np.zeros(s.shape[:-1] + (1,), s.dtype)
    dead = m == -np.inf
    if dead.any():
        m[dead] = 0
    else:
        dead = None
    with np.errstate(invalid="ignore"):
        s -= m
        p = np.exp(s, out=s)
        total = p.sum(axis=-1, keepdims=True)
        p /= total if dead is None else np.where(dead, 1, total)
    if dropout_p > 0.0:
        keep = (_random.get_generator().random(p.shape) >= dropout_p).astype(p.dtype)
        if dropout_p < 1.0:  # (p = 1 drops every weight: zeros, as PyTorch, not 0 / 0)
            keep /= 1.0 - dropout_p
        pd = p * keep
    else:
        keep = None
        pd = p
    out = np.matmul(pd, vd)
    cache = {}

    def probs(q, k, m=None):
        if _is_graph(q) or _is_graph(k) or _is_graph(m):
            sg = np.matmul(q, np.swapaxes(k, -1, -2)) * sc
            if _is_graph(m):
                sg = sg + (m if m.dtype == sg.dtype else m.astype(sg.dtype))
            elif bias is not None:
                sg = sg + bias
            if dead is None:
                return softmax(sg, dim=-1)
            return np.where(dead, 0, softmax(np.where(dead, 0, sg), dim=-1))  # no nan in the unused branch
        return p

    def dscores(g, q, k, v, m=None):
        if not _is_graph(g) and cache.get("g") is g:
            return cache["ds"]
        pp = probs(q, k, m)
        dp = np.matmul(g, np.swapaxes(v, -1, -2))
        if keep is not None:
            dp = dp * keep
        ds = pp * (dp - (dp * pp).sum(axis=-1, keepdims=True))
        if not _is_graph(g):
            cache["g"], cache["ds"] = g, ds
        return ds

    def vjp_q(g, y, q, k, v, m=None):
        return np.matmul(dscores(g, q, k, v, m), k) * sc

    def vjp_k(g, y, q, k, v, m=None):
        return np.matmul(np.swapaxes(dscores(g, q, k, v, m), -1, -2), q) * sc

    def vjp_v(g, y, q, k, v, m=None):
        pp = probs(q, k, m)
        if keep is not None:
            pp = pp * keep
        return np.matmul(np.swapaxes(pp, -1, -2), g)

    def vjp_m(g, y, q, k, v, m):  # the engine sums it down to the mask's shape
        return dscores(g, q, k, v, m)

    def jvp(tans, y, q, k, v, m=None):  # d out = dP v + P dv, dP = P (ds - sum(P ds)),
        #                                   ds = (dq k^T + q dk^T) * scale + dm
        tq, tk, tv = tans[:3]
        tm = tans[3] if len(tans) > 3 else None
        pp = probs(q, k, m)
        res = None
        if tq is not None or tk is not None or tm is not None:
            ds = 0
            if tq is not None:
                ds = np.matmul(tq, np.swapaxes(k, -1, -2))
            if tk is not None:
                ds = ds + np.matmul(q, np.swapaxes(tk, -1, -2))
            ds = ds * sc
            if tm is not None:
                ds = ds + tm
            dp = pp * (ds - (ds * pp).sum(axis=-1, keepdims=True))
            res = np.matmul(dp if keep is None else dp * keep, v)
        if tv is not None:
            r = np.matmul(pp if keep is None else pp * keep, tv)
            res = r if res is None else res + r
        return res
    if mask_in is not None:
        return _make(out, "scaled_dot_product_attention", (q, k, v, mask_in), (qd, kd, vd, mask_in.data),
                     (vjp_q, vjp_k, vjp_v, vjp_m), jvp)
    return _make(out, "scaled_dot_product_attention", (q, k, v), (qd, kd, vd), (vjp_q, vjp_k, vjp_v), jvp)


# What the VJPs read (npgrad/autograd/versions.py): q, k and the mask only under create_graph (the kept attention
# weights otherwise), v for the scores' gradient; never the output, which may be written in place as in torch
_versions.reads("scaled_dot_product_attention", "abcd", "abcd", "abd", "abcd")


def _gqa_expand(query, key, value):
    """Key and value with their heads repeated to the query's count, as PyTorch's ``enable_gqa``."""
    from ...ops.shape import repeat
    q, k, v = (as_input(t, "scaled_dot_product_attention") for t in (query, key, value))
    if q.ndim < 3 or k.ndim < 3 or v.ndim < 3:
        raise ValueError(f"scaled_dot_product_attention: enable_gqa needs a heads dim (-3) in query {q.shape}, "
                         f"key {k.shape} and value {v.shape}")
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hk == 0 or hv == 0 or hq % hk or hq % hv:
        raise ValueError(f"scaled_dot_product_attention: with enable_gqa, the number of heads in key ({hk}) and "
                         f"value ({hv}) must divide the number of heads in query ({hq})")
    return (k if hk == hq else repeat(k, hq // hk, axis=-3)), (v if hv == hq else repeat(v, hq // hv, axis=-3))


def _is_float_tensor(m):
    return isinstance(m, Tensor) and m.dtype.kind == "f"
