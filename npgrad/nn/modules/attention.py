"""``MultiheadAttention``, with PyTorch's parameters (``in_proj_weight``, ``in_proj_bias``, ``out_proj``)."""
import math

import numpy as np

from ...ops.shape import swapaxes
from .. import functional as F
from .. import init
from ..module import Module
from ._util import new_param
from .linear import Linear


class MultiheadAttention(Module):
    """Multi-head attention as ``torch.nn.MultiheadAttention`` (same parameter names and init, so a
    PyTorch state_dict loads as is).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights or None)``. As in PyTorch, a
    boolean ``attn_mask`` / ``key_padding_mask`` marks positions that may NOT be attended (True), a float
    one is added to the scores. ``is_causal=True`` without a mask applies the causal mask. Pass
    ``need_weights=False`` for the fused (faster) path.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if add_bias_kv or add_zero_attn or (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim != embed_dim "
                                      "are not supported")
        self.embed_dim = embed_dim
        self.kdim = self.vdim = embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = new_param(3 * embed_dim, embed_dim, dtype=dtype)
        if bias:
            self.in_proj_bias = new_param(3 * embed_dim, dtype=dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query, key, value):
        E = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:
            qkv = F.linear(query, w, b)
            N, L = qkv.shape[:2]
            qkv = qkv.reshape(N, L, 3, self.num_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
            return qkv[0], qkv[1], qkv[2]
        outs = []
        for i, x in enumerate((query, key, value)):
            y = F.linear(x, w[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E])
            outs.append(y.reshape(y.shape[0], y.shape[1], self.num_heads, self.head_dim).transpose(0, 2, 1, 3))
        return tuple(outs)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.reshape((1,) + t.shape) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))[None]
        elif not self.batch_first:
            same_kv = key is value
            same_q = query is key
            query = swapaxes(query, 0, 1)
            key = query if same_q else swapaxes(key, 0, 1)
            value = key if same_kv else swapaxes(value, 0, 1)
        N, L, E = query.shape
        S = key.shape[1]
        if E != self.embed_dim:
            raise ValueError(f"MultiheadAttention: query has embedding size {E}, expected {self.embed_dim}")
        q, k, v = self._project(query, key, value)
        mask = self._mask(attn_mask, key_padding_mask, is_causal, N, L, S, q.dtype)
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
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
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
            m = np.asarray(getattr(attn_mask, "data", attn_mask))
            m = np.where(m, -np.inf, 0).astype(dtype) if m.dtype == bool else m.astype(dtype)
            if m.ndim == 3:  # (N * num_heads, L, S)
                m = m.reshape(N, self.num_heads, L, S)
            elif m.shape != (L, S):
                raise ValueError(f"MultiheadAttention: attn_mask of shape {m.shape}, expected {(L, S)} or "
                                 f"{(N * self.num_heads, L, S)}")
            mask = m
        if key_padding_mask is not None:
            kp = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))
            if kp.shape != (N, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask of shape {kp.shape}, expected {(N, S)}")
            kp = np.where(kp, -np.inf, 0).astype(dtype) if kp.dtype == bool else kp.astype(dtype)
            kp = kp.reshape(N, 1, 1, S)
            mask = kp if mask is None else mask + kp
        return mask

    def extra_repr(self):
        return ""
