"""``np.pad`` in every NumPy mode, and ``einsum``'s operand-list (sublist) form.

Padding goes axis by axis, as NumPy's does (a later axis pads the already padded earlier ones, which
fills the corners), each axis by concatenating differentiable pieces: slices of the tensor (reversed
for ``reflect`` / ``symmetric``), broadcast edges, ramps, or statistics of the edge regions.
"""
import operator

import numpy as np

from ..autograd import forward_ad as _fwd
from ..autograd.grad_mode import _state
from ..tensor import _wrap
from ._util import as_input, batching_rule
from .index import getitem
from .reduce import max as _max, mean as _mean, min as _min
from .shape import broadcast_to, concatenate, pad as _pad_constant

_MODES = {"constant": ("constant_values",), "edge": (), "wrap": (), "linear_ramp": ("end_values",),
          "maximum": ("stat_length",), "minimum": ("stat_length",), "mean": ("stat_length",),
          "median": ("stat_length",), "reflect": ("reflect_type",), "symmetric": ("reflect_type",), "empty": ()}


def _sl(ax, start=None, stop=None, step=None):
    return (slice(None),) * ax + (slice(start, stop, step),)


def _pairs(value, ndim, where, as_index=False):
    """``value`` as one (before, after) pair per axis, as NumPy's ``_as_pairs``."""
    if value is None:
        return [(None, None)] * ndim
    arr = np.asarray(value)
    if as_index:
        arr = np.round(arr).astype(np.intp)
        if (arr < 0).any():
            raise ValueError(f"{where}: index can't contain negative values")
    try:
        return [tuple(p) for p in np.broadcast_to(arr, (ndim, 2)).tolist()]
    except ValueError:
        raise ValueError(f"{where}: {value!r} cannot be broadcast to one (before, after) pair per axis "
                         f"({ndim} axes)") from None


@batching_rule("pad")
def pad(array, pad_width, mode="constant", **kwargs):
    """Pad a tensor as ``np.pad``, differentiably, in every mode NumPy has: ``constant``
    (``constant_values``), ``edge``, ``wrap``, ``reflect`` and ``symmetric`` (``reflect_type`` 'even'
    or 'odd'), ``linear_ramp`` (``end_values``), ``maximum`` / ``minimum`` / ``mean`` / ``median``
    (``stat_length``) and ``empty`` (zeros here). Tied maxima/minima share the gradient evenly."""
    x = as_input(array, "pad")
    if callable(mode):
        raise NotImplementedError("pad: a callable mode is not supported for Tensors")
    if mode not in _MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported (one of {sorted(_MODES)})")
    unsupported = set(kwargs) - set(_MODES[mode])
    if unsupported:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: {sorted(unsupported)}")
    if mode == "constant":
        return _pad_constant(x, pad_width, constant_values=kwargs.get("constant_values", 0))
    if not (x._requires_grad and _state.enabled) and not _fwd.is_dual(x):  # nothing to record: NumPy's own result
        return _wrap(np.pad(x.data, pad_width, mode=mode, **kwargs))
    if mode == "empty":
        return _pad_constant(x, pad_width)
    widths = _pairs(pad_width, x.ndim, "pad", as_index=True)
    for ax, (b, a) in enumerate(widths):
        if x.shape[ax] == 0 and (b or a):
            raise ValueError(f"pad: can't extend empty axis {ax} using modes other than 'constant' or 'empty'")
    if x.size == 0:
        return _pad_constant(x, pad_width)
    end_values = _pairs(kwargs.get("end_values", 0), x.ndim, "pad")
    stat_length = _pairs(kwargs.get("stat_length"), x.ndim, "pad", as_index=True)
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"pad: reflect_type must be 'even' or 'odd', not {reflect_type!r}")
    out = x
    for ax, (before, after) in enumerate(widths):
        if not (before or after):
            continue
        if mode == "edge" or (mode in ("reflect", "symmetric") and out.shape[ax] == 1):
            out = _edge(out, ax, before, after)
        elif mode == "wrap":
            n = out.shape[ax]
            out = getitem(out, _sl(ax)[:-1] + (np.arange(-before, n + after) % n,))
        elif mode in ("reflect", "symmetric"):
            out = _reflect(out, ax, before, after, reflect_type == "odd", mode == "symmetric")
        elif mode == "linear_ramp":
            out = _ramp(out, ax, before, after, end_values[ax])
        else:
            out = _stat(out, ax, before, after, stat_length[ax], mode)
    return out


def _shape_with(x, ax, n):
    return x.shape[:ax] + (n,) + x.shape[ax + 1:]


def _edge(x, ax, before, after):
    parts = [broadcast_to(x[_sl(ax, 0, 1)], _shape_with(x, ax, before)), x,
             broadcast_to(x[_sl(ax, -1, None)], _shape_with(x, ax, after))]
    return concatenate(parts, axis=ax)


def _reflect(x, ax, before, after, odd, include_edge):
    """NumPy's ``_set_reflect_both``, repeated until both sides are filled: each round reflects at most
    one period of the values so far (for ``odd``, reflected through the edge value)."""
    period = x.shape[ax]
    cur = x
    while before > 0 or after > 0:
        length = cur.shape[ax]
        if include_edge:
            old, off = length // period * period, 1
        else:
            old, off = (length - 1) // (period - 1) * (period - 1), 0
        left = right = None
        if before > 0:
            chunk = min(old, before)
            left = cur[_sl(ax, chunk - off, None if off else 0, -1)]  # cur[chunk-off], ..., cur[1-off]
            if odd:
                left = 2.0 * cur[_sl(ax, 0, 1)] - left
            before -= chunk
        if after > 0:
            chunk = min(old, after)
            start = length - 2 + off            # the last value is at length - 1
            stop = start - chunk
            right = cur[_sl(ax, start, stop if stop >= 0 else None, -1)]
            if odd:
                right = 2.0 * cur[_sl(ax, -1, None)] - right
            after -= chunk
        cur = concatenate([p for p in (left, cur, right) if p is not None], axis=ax)
    return cur


def _ramp(x, ax, before, after, ends):
    """Ramps from the end values to the edge values, as ``np.linspace(end, edge, width, endpoint=False)``."""
    parts = [x]
    trail = (1,) * (x.ndim - ax - 1)
    for width, end, edge, first in ((before, ends[0], x[_sl(ax, 0, 1)], True),
                                    (after, ends[1], x[_sl(ax, -1, None)], False)):
        if not width:
            continue
        step = (edge - end) / float(width)
        i = np.arange(width, dtype=x.dtype).reshape((width,) + trail)
        ramp = i * step + end
        ramp = ramp.astype(x.dtype)
        if first:
            parts.insert(0, ramp)
        else:
            parts.append(ramp[_sl(ax, None, None, -1)])
    return concatenate(parts, axis=ax)


def _stat(x, ax, before, after, lengths, mode):
    n = x.shape[ax]
    left_len, right_len = (n if L is None or L > n else L for L in lengths)
    if mode in ("maximum", "minimum") and (left_len == 0 or right_len == 0):
        raise ValueError("pad: stat_length of 0 yields no value for padding")
    if mode == "median":
        from .sorting import median as fn
    else:
        fn = {"maximum": _max, "minimum": _min, "mean": _mean}[mode]
    left = fn(x[_sl(ax, 0, left_len)], axis=ax, keepdims=True)
    right = left if left_len == right_len == n else fn(x[_sl(ax, n - right_len, n)], axis=ax, keepdims=True)
    parts = [broadcast_to(left, _shape_with(x, ax, before)), x, broadcast_to(right, _shape_with(x, ax, after))]
    return concatenate(parts, axis=ax)


# --------------------------------------------------------------------- einsum's sublist form
def _letters(sublist, where):
    out = []
    for s in sublist:
        if s is Ellipsis:
            out.append("...")
            continue
        try:
            k = operator.index(s)
        except TypeError:
            raise TypeError(f"{where}: a subscript list holds ints (0-51) or Ellipsis, got {s!r}") from None
        if not 0 <= k < 52:
            raise ValueError(f"{where}: subscript {k} is not in range [0, 52)")
        out.append(chr(ord("a") + k) if k < 26 else chr(ord("A") + k - 26))
    return "".join(out)


def sublist_to_subscripts(args):
    """``(op0, sub0, op1, sub1, ..., [sub_out])`` as ``(subscripts, operands)`` for ``einsum``."""
    args = list(args)
    operands = args[0::2][:len(args) // 2]
    subs = [_letters(s, "einsum") for s in args[1::2]]
    spec = ",".join(subs)
    if len(args) % 2:
        spec += "->" + _letters(args[-1], "einsum")
    return spec, operands


def with_sublists(einsum):
    """``einsum`` (the subscripts-string form) extended to NumPy's operand-list form as well:
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` means ``einsum('ab,bc->ac', a, b)`` (ints 0-51 name the
    axes, ``...`` allowed)."""
    def einsum_any(*args, **kwargs):
        if args and isinstance(args[0], str):
            return einsum(*args, **kwargs)
        if not args:
            raise TypeError("einsum: no operands given")
        spec, operands = sublist_to_subscripts(args)
        return einsum(spec, *operands, **kwargs)
    einsum_any.__name__ = einsum_any.__qualname__ = "einsum"
    einsum_any.__doc__ = (einsum.__doc__ or "") + (
        "\n\n    Also NumPy's operand-list form: ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (ints 0-51 name the axes, "
        "``...`` allowed).\n")
    return einsum_any
