"""``torch.nn.attention.bias``: causal masks for ``F.scaled_dot_product_attention`` given as ``attn_mask``.

``causal_upper_left(L, S)`` is ``is_causal=True``: query i sees keys 0..i. ``causal_lower_right(L, S)`` aligns
the triangle to the bottom-right corner: query i sees keys 0..i + S - L (the last query sees every key; when
L > S the first L - S queries see none, and their output is 0 in npgrad as in torch's MATH backend)."""
import enum
import warnings

import numpy as np

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(enum.IntEnum):
    """Where the causal triangle is anchored: ``UPPER_LEFT`` (``tril``) or ``LOWER_RIGHT``
    (``tril(diagonal=S - L)``)."""
    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias:
    """A causal mask of ``seq_len_q`` x ``seq_len_kv`` to pass as ``attn_mask`` (not with ``is_causal=True``);
    ``_materialize()`` is its boolean (L, S) array (True: may attend)."""

    def __init__(self, variant, seq_len_q, seq_len_kv):
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")
        self.variant, self.seq_len_q, self.seq_len_kv = variant, int(seq_len_q), int(seq_len_kv)
        if self.seq_len_q > self.seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warnings.warn("Lower right causal bias will produce NaNs in the output when seq_len_q > seq_len_kv!"
                          " (npgrad gives 0 for the queries that see no key, as torch's MATH backend)",
                          stacklevel=2)

    def _materialize(self, device=None):
        offset = self.seq_len_kv - self.seq_len_q if self.variant == CausalVariant.LOWER_RIGHT else 0
        return np.tril(np.ones((self.seq_len_q, self.seq_len_kv), dtype=bool), k=offset)

    @property
    def shape(self):
        return (self.seq_len_q, self.seq_len_kv)

    def __repr__(self):
        return f"CausalBias({self.variant.name}, {self.seq_len_q}, {self.seq_len_kv}):\n{self._materialize()!r}"


def causal_upper_left(*size):
    """The causal mask with the triangle at the top-left (``is_causal=True``'s), for (L, S) = ``size``."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    return CausalBias(CausalVariant.UPPER_LEFT, *size)


def causal_lower_right(*size):
    """The causal mask with the triangle at the bottom-right, for (L, S) = ``size``."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    return CausalBias(CausalVariant.LOWER_RIGHT, *size)
