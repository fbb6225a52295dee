"""``MultiheadAttention``, with PyTorch's parameters (``in_proj_weight`` or ``q/k/v_proj_weight``,
``in_proj_bias``, ``bias_k``, ``bias_v``, ``out_proj``), so state dicts load both ways."""
from ...ops.shape import swapaxes
from .. import init
from ..functional.mha import _mask_array, attend
from ..module import Module
from ._util import check_device, new_param
from .linear import Linear


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

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: query, key and value must all be 3-D (batched) or all 2-D "
                             f"(unbatched), got shapes {query.shape}, {key.shape}, {value.shape}")
        if unbatched:
            query, key, value = (t.reshape((1,) + t.shape) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _mask_array(key_padding_mask, "key_padding_mask", query.dtype,
                                               "MultiheadAttention")[None]
        elif not self.batch_first:
            same_kv = key is value
            same_q = query is key
            query = swapaxes(query, 0, 1)
            key = query if same_q else swapaxes(key, 0, 1)
            value = key if same_kv else swapaxes(value, 0, 1)
        N, L, E = query.shape
        if E != self.embed_dim or key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise ValueError(f"MultiheadAttention: query, key, value have feature sizes {E}, {key.shape[-1]}, "
                             f"{value.shape[-1]}; expected embed_dim {self.embed_dim}, kdim {self.kdim}, "
                             f"vdim {self.vdim}")
        if key.shape[:2] != value.shape[:2] or key.shape[0] != N:
            raise ValueError(f"MultiheadAttention: key {key.shape} and value {value.shape} must have the same "
                             f"batch and sequence sizes, and the batch size of query {query.shape}")
        separate = None if self._qkv_same_embed_dim else (self.q_proj_weight, self.k_proj_weight,
                                                           self.v_proj_weight)
        out, weights = attend(query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias, self.bias_k,
                              self.bias_v, self.add_zero_attn, self.dropout if self.training else 0.0,
                              self.out_proj.weight, self.out_proj.bias, key_padding_mask, need_weights, attn_mask,
                              separate, average_attn_weights=average_attn_weights, is_causal=is_causal,
                              where="MultiheadAttention")
        if unbatched:
            out = out.reshape(L, E)
            weights = None if weights is None else weights[0]
        elif not self.batch_first:
            out = swapaxes(out, 0, 1)
        return out, weights

    def extra_repr(self):
        return ""
