"""How a custom Function's saved values and outputs are laid out (npgrad/autograd/function.py): which saved
tensors are inputs or outputs of the op, and several outputs packed in one flat array so that one graph node
carries them all."""
import numpy as np

from ..tensor import _wrap


class _Saved:
    """A saved tensor that is an input (``kind='in'``) or an output (``'out'``) of the op, resolved to
    the values the engine hands the VJP (arrays on the plain path, graph Tensors with create_graph)."""

    __slots__ = ("kind", "index")

    def __init__(self, kind, index):
        self.kind = kind
        self.index = index


def _saved_spec(to_save, args, outs, diff):
    spec = []
    for t in to_save:
        if t is None:
            spec.append(None)
            continue
        for i, a in enumerate(args):
            if a is t:
                spec.append(_Saved("in", i))
                break
        else:
            for k, i in enumerate(diff):
                if outs[i] is t:
                    spec.append(_Saved("out", k))
                    break
            else:  # an intermediate (or a non-differentiable output): a constant for backward
                spec.append(_wrap(t.data))
    return tuple(spec)


def _pack(arrays):
    """Several outputs in one flat array (so that one graph node carries them all)."""
    dtype = np.result_type(*arrays)
    layout = []
    start = 0
    for a in arrays:
        layout.append((start, start + a.size, a.shape, a.dtype))
        start += a.size
    flat = np.concatenate([a.astype(dtype, copy=False).reshape(-1) for a in arrays]) if arrays else np.zeros(0)
    return flat, layout


def _unpack(packed, layout, k):
    """Part ``k`` of a packed flat array (values or their gradients), back in its shape and dtype."""
    start, stop, shape, dtype = layout[k]
    part = packed[start:stop].reshape(shape)
    if part.dtype != dtype:
        part = part.astype(dtype)
    return part
