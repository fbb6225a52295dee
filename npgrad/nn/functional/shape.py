"""``pad`` (PyTorch's pad order), ``normalize``, ``flatten``."""
from ...ops import elementwise as _ew
from ...ops.norms import vector_norm
from ...ops._util import as_input


# ------------------------------------------------------------------------------ misc
def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) widths starting from the last dim."""
    x = as_input(input, "pad")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding {pad} must have an even length of at most 2 * {x.ndim}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    from ...ops.shape import pad as _pad
    return _pad(x, widths, mode=mode, constant_values=value)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``x / max(||x||_p, eps)`` along ``dim``, as ``F.normalize`` (any ``p``, ``inf`` included; a zero vector
    has PyTorch's zero subgradient)."""
    x = as_input(input, "normalize")
    norm = vector_norm(x, ord=p, axis=dim, keepdims=True)
    return x / _ew.maximum(norm, eps)


def flatten(input, start_dim=0, end_dim=-1):
    from ...ops.shape import flatten as _flatten
    return _flatten(input, start_dim, end_dim)
