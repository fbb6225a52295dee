"""``MultiheadAttention``, with PyTorch's parameters (``in_proj_weight`` or ``q/k/v_proj_weight``,
``in_proj_bias``, ``bias_k``, ``bias_v``, ``out_proj``), so state dicts load both ways."""
import math

import numpy as np

from ...ops.shape import broadcast_to, concatenate, swapaxes
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ._util import check_device, new_param
from .linear import Linear


def _mask_array(mask, name, dtype):
    """A bool or float mask as an additive float array of ``dtype`` (True / -inf = may not attend). A float
    Tensor stays one (cast to ``dtype``), so a mask that requires grad gets its gradient, as in PyTorch."""
    if isinstance(mask, Tensor) and mask.dtype.kind == "f":
        return mask if mask.dtype == dtype else mask.astype(dtype)
    m = np.asarray(getattr(mask, "data", mask))
    if m.dtype == bool:
        return np.where(m, -np.inf, 0).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: only bool and floating {name} are supported, got {m.dtype}")
    return m.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Multi-head attention as ``torch.nn.MultiheadAttention`` (same parameter names and init, so a
    PyTorch state_dict loads as is).

    ``kdim`` / ``vdim`` other than ``embed_dim`` give separate ``q_proj_weight``, ``k_proj_weight``,
    ``v_proj_weight`` (as PyTorch); ``add_bias_kv`` appends the learned ``bias_k`` / ``bias_v`` to the keys
    and values, ``add_zero_attn`` a zero key and value (both widen the masks with a column that may attend).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights or None)``. As in PyTorch, a
    boolean ``attn_mask`` / ``key_padding_mask`` marks positions that may NOT be attended (True), a float
    one is added to the scores; ``attn_mask`` is (L, S) or (N * num_heads, L, S). ``is_causal=True`` with a
    mask uses the mask (PyTorch's hint); without one it applies the causal mask (PyTorch raises). Pass
    ``need_weights=False`` for the fused (faster) path.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_param(3 * embed_dim, embed_dim, dtype=dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = new_param(embed_dim, embed_dim, dtype=dtype)
            self.k_proj_weight = new_param(embed_dim, self.kdim, dtype=dtype)
            self.v_proj_weight = new_param(embed_dim, self.vdim, dtype=dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = new_param(3 * embed_dim, dtype=dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = new_param(1, 1, embed_dim, dtype=dtype)
            self.bias_v = new_param(1, 1, embed_dim, dtype=dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _heads(self, y):
        """(N, L, E) -> (N, H, L, head_dim)."""
        return y.reshape(y.shape[0], y.shape[1], self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _project(self, query, key, value):
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if not self._qkv_same_embed_dim:
            return (self._heads(F.linear(query, self.q_proj_weight, bq)),
                    self._heads(F.linear(key, self.k_proj_weight, bk)),
                    self._heads(F.linear(value, self.v_proj_weight, bv)))
        w = self.in_proj_weight
        if query is key and key is value:  # self-attention: one projection
            qkv = F.linear(query, w, b)
            N, L = qkv.shape[:2]
            qkv = qkv.reshape(N, L, 3, self.num_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
            return qkv[0], qkv[1], qkv[2]
        return (self._heads(F.linear(query, w[:E], bq)), self._heads(F.linear(key, w[E:2 * E], bk)),
                self._heads(F.linear(value, w[2 * E:], bv)))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: query, key and value must all be 3-D (batched) or all 2-D "
                             f"(unbatched), got shapes {query.shape}, {key.shape}, {value.shape}")
        if unbatched:
            query, key, value = (t.reshape((1,) + t.shape) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _mask_array(key_padding_mask, "key_padding_mask", query.dtype)[None]
        elif not self.batch_first:
            same_kv = key is value
            same_q = query is key
            query = swapaxes(query, 0, 1)
            key = query if same_q else swapaxes(key, 0, 1)
            value = key if same_kv else swapaxes(value, 0, 1)
        N, L, E = query.shape
        S = key.shape[1]
        if E != self.embed_dim or key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise ValueError(f"MultiheadAttention: query, key, value have feature sizes {E}, {key.shape[-1]}, "
                             f"{value.shape[-1]}; expected embed_dim {self.embed_dim}, kdim {self.kdim}, "
                             f"vdim {self.vdim}")
        if key.shape[:2] != value.shape[:2] or key.shape[0] != N:
            raise ValueError(f"MultiheadAttention: key {key.shape} and value {value.shape} must have the same "
                             f"batch and sequence sizes, and the batch size of query {query.shape}")
        q, k, v = self._project(query, key, value)
        extra = 0
        if self.bias_k is not None:
            H, hd = self.num_heads, self.head_dim
            k = concatenate([k, broadcast_to(self.bias_k.reshape(1, H, 1, hd), (N, H, 1, hd))], axis=2)
            v = concatenate([v, broadcast_to(self.bias_v.reshape(1, H, 1, hd), (N, H, 1, hd))], axis=2)
            extra += 1
        if self.add_zero_attn:
            zeros = np.zeros(k.shape[:2] + (1, self.head_dim), dtype=k.dtype)
            k = concatenate([k, zeros], axis=2)
            v = concatenate([v, zeros], axis=2)
            extra += 1
        # PyTorch: without key_padding_mask and weights, is_causal is a hint passed on to the fused attention
        # in place of attn_mask, and the causal mask then spans the added bias_k / zero keys too
        causal_hint = is_causal and key_padding_mask is None and not need_weights
        mask = None if causal_hint else self._mask(attn_mask, key_padding_mask, is_causal, N, L, S, q.dtype)
        if mask is not None and extra:
            mask = F.pad(mask, (0, extra)) if isinstance(mask, Tensor) else np.pad(mask, [(0, 0)] * (mask.ndim - 1)
                                                                                     + [(0, extra)])
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q * (1.0 / math.sqrt(self.head_dim))) @ swapaxes(k, -1, -2)
            if mask is not None:
                scores = scores + mask
            attn = F.softmax(scores, dim=-1)
            if p > 0:
                attn = F.dropout(attn, p)
            out = attn @ v
            weights = attn.mean(axis=1) if average_attn_weights else attn
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal_hint)
        out = out.transpose(0, 2, 1, 3).reshape(N, L, E)
        out = self.out_proj(out)
        if unbatched:
            out = out.reshape(L, E)
            weights = None if weights is None else weights[0]
        elif not self.batch_first:
            out = swapaxes(out, 0, 1)
        return out, weights

    def _mask(self, attn_mask, key_padding_mask, is_causal, N, L, S, dtype):
        """One additive float mask broadcastable to (N, H, L, S), or None."""
        mask = None
        if attn_mask is None and is_causal:
            mask = np.where(np.tril(np.ones((L, S), dtype=bool)), 0, -np.inf).astype(dtype)
        elif attn_mask is not None:
            m = _mask_array(attn_mask, "attn_mask", dtype)
            if m.ndim == 3 and m.shape == (N * self.num_heads, L, S):
                m = m.reshape(N, self.num_heads, L, S)
            elif m.shape != (L, S):
                raise ValueError(f"MultiheadAttention: attn_mask of shape {m.shape}, expected {(L, S)} or "
                                 f"{(N * self.num_heads, L, S)}")
            mask = m
        if key_padding_mask is not None:
            kp = _mask_array(key_padding_mask, "key_padding_mask", dtype)
            if kp.shape != (N, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask of shape {kp.shape}, expected {(N, S)}")
            kp = kp.reshape(N, 1, 1, S)
            mask = kp if mask is None else mask + kp
        return mask

    def extra_repr(self):
        return ""
