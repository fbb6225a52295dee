"""Multi-head attention with explicit weights: ``multi_head_attention_forward``, as PyTorch's functional, and the
computation ``nn.MultiheadAttention`` runs (``attend``, on batch-first tensors)."""
import math

import numpy as np

from ...ops.shape import broadcast_to, concatenate, swapaxes
from ...tensor import Tensor
from .activation import softmax
from .attention import scaled_dot_product_attention
from .linear import dropout as _dropout
from .linear import linear
from .shape import pad

__all__ = ["multi_head_attention_forward"]


def _mask_array(mask, name, dtype, where):
    """A bool or float mask as an additive float array of ``dtype`` (True / -inf = may not attend). A float
    Tensor stays one (cast to ``dtype``), so a mask that requires grad gets its gradient, as in PyTorch."""
    if isinstance(mask, Tensor) and mask.dtype.kind == "f":
        return mask if mask.dtype == dtype else mask.astype(dtype)
    m = np.asarray(getattr(mask, "data", mask))
    if m.dtype == bool:
        return np.where(m, -np.inf, 0).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"{where}: only bool and floating {name} are supported, got {m.dtype}")
    return m.astype(dtype, copy=False)


def _combined_mask(attn_mask, key_padding_mask, is_causal, N, H, L, S, dtype, where):
    """One additive float mask broadcastable to (N, H, L, S), or None."""
    mask = None
    if attn_mask is None and is_causal:
        mask = np.where(np.tril(np.ones((L, S), dtype=bool)), 0, -np.inf).astype(dtype)
    elif attn_mask is not None:
        m = _mask_array(attn_mask, "attn_mask", dtype, where)
        if m.ndim == 3 and m.shape == (N * H, L, S):
            m = m.reshape(N, H, L, S)
        elif m.shape != (L, S):
            raise ValueError(f"{where}: attn_mask of shape {m.shape}, expected {(L, S)} or {(N * H, L, S)}")
        mask = m
    if key_padding_mask is not None:
        kp = _mask_array(key_padding_mask, "key_padding_mask", dtype, where)
        if kp.shape != (N, S):
            raise ValueError(f"{where}: key_padding_mask of shape {kp.shape}, expected {(N, S)}")
        kp = kp.reshape(N, 1, 1, S)
        mask = kp if mask is None else mask + kp
    return mask


def _heads(y, H):
    """(N, L, E) -> (N, H, L, E // H)."""
    return y.reshape(y.shape[0], y.shape[1], H, y.shape[2] // H).transpose(0, 2, 1, 3)


def _project(query, key, value, H, in_proj_weight, in_proj_bias, separate, static_k=None, static_v=None):
    """The projected heads (N, H, L or S, head_dim); a key or value given as static is not projected (None)."""
    E = query.shape[-1]
    b = in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if separate is not None:
        wq, wk, wv = separate
    else:
        w = in_proj_weight
        if query is key and key is value and static_k is None and static_v is None:  # self-attention: one GEMM
            qkv = linear(query, w, b)
            N, L = qkv.shape[:2]
            qkv = qkv.reshape(N, L, 3, H, E // H).transpose(2, 0, 3, 1, 4)
            return qkv[0], qkv[1], qkv[2]
        wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
    return (_heads(linear(query, wq, bq), H), None if static_k is not None else _heads(linear(key, wk, bk), H),
            None if static_v is not None else _heads(linear(value, wv, bv), H))


def _static(t, name, N, H, hd, where):
    """A given ``static_k`` / ``static_v`` of shape (N * H, S, head_dim), as (N, H, S, head_dim)."""
    if t.ndim != 3 or t.shape[0] != N * H or t.shape[2] != hd:
        raise ValueError(f"{where}: expecting {name} of shape ({N * H}, S, {hd}), but got {tuple(t.shape)}")
    return t.reshape(N, H, t.shape[1], hd)


def attend(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
           out_proj_weight, out_proj_bias, key_padding_mask=None, need_weights=True, attn_mask=None,
           separate=None, static_k=None, static_v=None, average_attn_weights=True, is_causal=False,
           where="multi_head_attention_forward"):
    """Multi-head attention on batch-first (N, L, E) query and (N, S, kdim / vdim) key and value; ``separate``:
    ``(q_proj_weight, k_proj_weight, v_proj_weight)`` or None for the packed ``in_proj_weight``. Returns
    ``(output (N, L, E), weights or None)``."""
    N, L, E = query.shape
    H = num_heads
    hd = E // H
    q, k, v = _project(query, key, value, H, in_proj_weight, in_proj_bias, separate, static_k, static_v)
    if static_k is not None:
        k = _static(static_k, "static_k", N, H, hd, where)
    if static_v is not None:
        v = _static(static_v, "static_v", N, H, hd, where)
    S = k.shape[2]
    if v.shape[2] != S:
        raise ValueError(f"{where}: the keys ({S}) and the values ({v.shape[2]}) must be as many (static_k / "
                         f"static_v of shape (N * num_heads, S, head_dim) with the same S as each other and as "
                         f"key / value)")
    extra = 0
    if bias_k is not None:
        k = concatenate([k, broadcast_to(bias_k.reshape(1, H, 1, hd), (N, H, 1, hd))], axis=2)
        v = concatenate([v, broadcast_to(bias_v.reshape(1, H, 1, hd), (N, H, 1, hd))], axis=2)
        extra += 1
    if add_zero_attn:
        zeros = np.zeros(k.shape[:2] + (1, hd), dtype=k.dtype)
        k = concatenate([k, zeros], axis=2)
        v = concatenate([v, zeros], axis=2)
        extra += 1
    # PyTorch: without key_padding_mask and weights, is_causal is a hint passed on to the fused attention
    # in place of attn_mask, and the causal mask then spans the added bias_k / zero keys too
    causal_hint = is_causal and key_padding_mask is None and not need_weights
    mask = None if causal_hint else _combined_mask(attn_mask, key_padding_mask, is_causal, N, H, L, S, q.dtype,
                                                   where)
    if mask is not None and extra:
        mask = pad(mask, (0, extra)) if isinstance(mask, Tensor) else np.pad(mask, [(0, 0)] * (mask.ndim - 1)
                                                                             + [(0, extra)])
    weights = None
    if need_weights:
        scores = (q * (1.0 / math.sqrt(hd))) @ swapaxes(k, -1, -2)
        if mask is not None:
            scores = scores + mask
        attn = softmax(scores, dim=-1)
        if dropout_p > 0:
            attn = _dropout(attn, dropout_p)
        out = attn @ v
        weights = attn.mean(axis=1) if average_attn_weights else attn
    else:
        out = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal_hint)
    out = out.transpose(0, 2, 1, 3).reshape(N, L, E)
    return linear(out, out_proj_weight, out_proj_bias), weights


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention with the weights passed in, as ``torch.nn.functional.multi_head_attention_forward``:
    query (L, N, E), key and value (S, N, kdim / vdim), sequence first (or unbatched (L, E), (S, E)); returns
    ``(output (L, N, E), weights (N, L, S) or (N, num_heads, L, S) or None)``. The arguments are PyTorch's:
    the packed ``in_proj_weight`` (3E, E) or, with ``use_separate_proj_weight=True``, ``q/k/v_proj_weight``;
    ``bias_k`` / ``bias_v`` (1, 1, E) appended to the keys and values; ``static_k`` / ``static_v``
    (N * num_heads, S, E // num_heads) in place of the projected keys / values; masks as
    :class:`~npgrad.nn.MultiheadAttention`'s (a bool True, or -inf, may not be attended); dropout on the
    attention weights when ``training``."""
    where = "multi_head_attention_forward"
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{where}: query, key and value must all be 3-D (batched) or all 2-D (unbatched), got "
                         f"shapes {query.shape}, {key.shape}, {value.shape}")
    unbatched = query.ndim == 2
    E = query.shape[-1]
    if E != embed_dim_to_check:
        raise ValueError(f"{where}: was expecting embedding dimension of {embed_dim_to_check}, but got {E}")
    if num_heads <= 0 or E % num_heads:
        raise ValueError(f"{where}: embed_dim {E} not divisible by num_heads {num_heads}")
    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{where}: bias_k and bias_v must be given together, got bias_k "
                         f"{None if bias_k is None else tuple(bias_k.shape)} and bias_v "
                         f"{None if bias_v is None else tuple(bias_v.shape)}")
    for name, b in (("bias_k", bias_k), ("bias_v", bias_v)):
        if b is not None and (b.ndim > 3 or b.shape[-1:] != (E,) or any(d != 1 for d in b.shape[:-1])):
            raise ValueError(f"{where}: {name} must be of shape (1, 1, {E}), got {tuple(b.shape)}")
    if (static_k is not None or static_v is not None) and bias_k is not None:
        raise ValueError(f"{where}: bias_k / bias_v cannot be added to a static key / value")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{where}: use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                             f"v_proj_weight is None")
        separate = (q_proj_weight, k_proj_weight, v_proj_weight)
        for name, w, t in zip(("q_proj_weight", "k_proj_weight", "v_proj_weight"), separate, (query, key, value)):
            if tuple(w.shape) != (E, t.shape[-1]):
                raise ValueError(f"{where}: {name} of shape {tuple(w.shape)}, expected {(E, t.shape[-1])} "
                                 f"(embed_dim, the feature size of its input)")
    else:
        if in_proj_weight is None:
            raise ValueError(f"{where}: use_separate_proj_weight is False but in_proj_weight is None")
        if key.shape[-1] != E or value.shape[-1] != E:
            raise ValueError(f"{where}: key and value feature sizes {key.shape[-1]}, {value.shape[-1]} must be "
                             f"the embedding dimension {E} with the packed in_proj_weight")
        if tuple(in_proj_weight.shape) != (3 * E, E):
            raise ValueError(f"{where}: in_proj_weight of shape {tuple(in_proj_weight.shape)}, expected "
                             f"{(3 * E, E)}")
        separate = None
    if in_proj_bias is not None and tuple(in_proj_bias.shape) != (3 * E,):
        raise ValueError(f"{where}: in_proj_bias of shape {tuple(in_proj_bias.shape)}, expected {(3 * E,)}")
    if unbatched:
        query, key, value = (t.reshape((1,) + t.shape) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = _mask_array(key_padding_mask, "key_padding_mask", query.dtype, where)[None]
    else:
        same_kv, same_q = key is value, query is key
        query = swapaxes(query, 0, 1)
        key = query if same_q else swapaxes(key, 0, 1)
        value = key if same_kv else swapaxes(value, 0, 1)
    if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
        raise ValueError(f"{where}: key {key.shape} and value {value.shape} must have the same batch and sequence "
                         f"sizes, and the batch size of query {query.shape}")
    out, weights = attend(query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
                          add_zero_attn, dropout_p if training else 0.0, out_proj_weight, out_proj_bias,
                          key_padding_mask, need_weights, attn_mask, separate, static_k, static_v,
                          average_attn_weights, is_causal, where)
    if unbatched:
        return out[0], None if weights is None else weights[0]
    return swapaxes(out, 0, 1), weights
