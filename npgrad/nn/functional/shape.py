"""``pad`` (PyTorch's pad order and modes), ``normalize``, ``flatten``."""
import math
import numbers
import operator

import numpy as np

from ...ops import elementwise as _ew
from ...ops.norms import vector_norm
from ...ops._util import as_input, normalize_axis, number_arg
from ._common import _own


# ------------------------------------------------------------------------------ pad
_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode="constant", value=None):
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) widths starting from the last dim.

    ``mode='constant'`` pads any number of trailing dims with ``value`` (default 0); ``'reflect'`` (mirror
    without repeating the edge), ``'replicate'`` (repeat the edge) and ``'circular'`` (wrap around) pad the
    last 1, 2 or 3 dims of a (C, *) or (N, C, *) input, as PyTorch. A negative width crops, as in PyTorch.
    Differentiable (it reuses ``npgrad.pad``'s NumPy modes ``reflect``, ``edge``, ``wrap``)."""
    from ...ops.padding import pad as _np_pad
    x = source = as_input(input, "pad")
    try:
        pad = [operator.index(p) for p in pad]
    except TypeError:
        raise TypeError(f"pad: padding must be a sequence of ints, got {pad!r}") from None
    n = len(pad) // 2
    if len(pad) % 2 or n > x.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} must have an even length of at most 2 * {x.ndim} for an input "
                         f"of shape {x.shape}")
    axes = [x.ndim - 1 - i for i in range(n)]
    before = {ax: pad[2 * i] for i, ax in enumerate(axes)}
    after = {ax: pad[2 * i + 1] for i, ax in enumerate(axes)}
    # PyTorch refuses a negative output size, 'constant' a negative cropped size too, 'reflect' / 'replicate'
    # an output empty along every padded dim
    all_empty = all(x.shape[ax] + before[ax] + after[ax] == 0 for ax in axes)
    for ax in axes:
        out_n = x.shape[ax] + before[ax] + after[ax]
        cropped = x.shape[ax] + min(before[ax], 0) + min(after[ax], 0)
        if out_n < 0 or (mode == "constant" and cropped < 0) or (all_empty and mode in ("reflect", "replicate")):
            raise ValueError(f"pad: padding ({before[ax]}, {after[ax]}) of dim {ax} of the input of shape {x.shape} "
                             f"gives an output size of {out_n}")
    if mode == "constant":
        if value is not None:
            value = number_arg(value, "pad", "value")
            _check_fill(value, x.dtype)
        x = _crop(x, before, after)
        widths = [(max(before.get(a, 0), 0), max(after.get(a, 0), 0)) for a in range(x.ndim)]
        return _np_pad(x, widths, mode="constant", constant_values=0.0 if value is None else value)
    if mode not in _NUMPY_MODE:
        raise NotImplementedError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value is not None and value != 0:
        raise ValueError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    if not 1 <= n <= 3 or x.ndim not in (n + 1, n + 2):
        raise NotImplementedError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of a (C, *) or (N, C, *) input "
                                  f"(2 * dims values): got padding {tuple(pad)} for an input of shape {x.shape}")
    if mode != "circular" and 0 in x.shape[x.ndim - n - 1:]:
        raise ValueError(f"pad: mode {mode!r} expects an input with possibly 0 batch size and other non-zero "
                         f"dimensions, got shape {x.shape}")
    out_shape = tuple(x.shape[a] + before.get(a, 0) + after.get(a, 0) for a in range(x.ndim))
    empty = 0 in out_shape  # PyTorch copies nothing then, whatever the widths (within the checks below)
    for ax in axes:
        size, lo, hi = x.shape[ax], before[ax], after[ax]
        left = size + min(lo, 0) + min(hi, 0)     # what a crop leaves, which circular padding wraps
        if mode == "circular" and not empty and max(lo, hi, 0) > left:
            raise ValueError(f"pad: circular padding ({lo}, {hi}) of dim {ax} (size {size}) of the input of shape "
                             f"{x.shape} would wrap around the {max(left, 0)} entries left after the crop more "
                             f"than once")
        if mode == "reflect" and (lo >= size or hi >= size):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be less than the size {size} of dim {ax} of "
                             f"the input of shape {x.shape}")
        if mode == "circular" and (lo > size or hi > size):
            raise ValueError(f"pad: circular padding ({lo}, {hi}) of dim {ax} (size {size}) of the input of shape "
                             f"{x.shape} would wrap around more than once")
        if mode == "replicate" and size == 0 and (lo > 0 or hi > 0):
            raise ValueError(f"pad: cannot replicate-pad the empty dim {ax} of the input of shape {x.shape}")
    if mode == "circular":   # PyTorch crops first, then wraps what is left
        if empty:
            return x.reshape(-1)[:0].reshape(out_shape)
        x = _crop(x, before, after)
    widths = [(max(before.get(a, 0), 0), max(after.get(a, 0), 0)) for a in range(x.ndim)]
    if any(lo or hi for lo, hi in widths):
        x = _np_pad(x, widths, mode=_NUMPY_MODE[mode])
    if mode != "circular":   # reflect / replicate about the original edges, then crop
        x = _crop(x, before, after)
    return _own(x, source)     # a crop or no padding at all: still a new tensor, as PyTorch's


def _check_fill(value, dtype):
    """PyTorch's checked conversion of the fill ``value`` to ``dtype`` (NumPy would wrap or overflow to inf)."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        v = float(value)
        bad = not math.isfinite(v) or (dtype.itemsize < 8 and not info.min <= v <= info.max)
    elif dtype.kind == "f":
        v = float(value)
        bad = math.isfinite(v) and abs(v) > float(np.finfo(dtype).max)
    else:
        return
    if bad:
        raise ValueError(f"pad: value {value!r} cannot be converted to {dtype} without overflow")


def _crop(x, before, after):
    """``x`` without the negative widths of ``before`` / ``after`` (dicts axis -> width)."""
    if all(v >= 0 for v in before.values()) and all(v >= 0 for v in after.values()):
        return x
    key = tuple(slice(-min(before.get(a, 0), 0), x.shape[a] + min(after.get(a, 0), 0)) for a in range(x.ndim))
    return x[key]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``x / max(||x||_p, eps)`` along ``dim``, as ``F.normalize`` (any ``p``, ``inf`` included; a zero vector
    has PyTorch's zero subgradient). ``out=`` is refused (the result is a new tensor)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported (the result is a new tensor); assign the result instead")
    x = as_input(input, "normalize")
    if x.ndim == 0:  # torch wraps dim 0 / -1 of a 0-d tensor: x / max(|x|_p, eps)
        if dim not in (0, -1):
            raise IndexError(f"normalize: dim {dim} is out of range for a 0-d tensor (expected 0 or -1)")
        return normalize(x.reshape(1), p, 0, eps).reshape(())
    if isinstance(p, numbers.Real) and math.isinf(p):  # max / min over an empty dim: no identity (torch raises)
        for ax in normalize_axis(dim, x.ndim, "normalize"):
            if x.shape[ax] == 0:
                raise RuntimeError(f"normalize: cannot compute the {p} norm over dim {ax} of an input of shape "
                                   f"{x.shape}: the dim is empty and max / min have no identity")
    norm = vector_norm(x, ord=p, axis=dim, keepdims=True)
    # clip, not maximum: at norm == eps the gradient goes through the norm, as torch's clamp_min (maximum
    # would split it between the two)
    return x / _ew.clip(norm, eps, None)


def flatten(input, start_dim=0, end_dim=-1):
    from ...ops.shape import flatten as _flatten
    return _flatten(input, start_dim, end_dim)
