"""The VJPs of joining tensors (concatenate, stack), and what their nodes save.

Few inputs (up to ``MANY``): VJPs shared by every call with the same count and axis (cached), reading the inputs'
shapes for their offsets, and the inputs' values saved (their shapes). Many inputs: the engine hands every VJP
the node's saved values unpacked, and each VJP of concatenate summed the lengths before its input, so joining
``n`` pieces cost O(n^2) in backward (50,000 rows split and concatenated back took minutes); such a node saves
nothing (``NOTHING``, which tells the engine not to hand its VJPs the inputs under create_graph either) and its
VJPs hold their input's offsets, so each costs O(1)."""
import functools

import numpy as np

from ..tensor import SavesNothing

MANY = 16


NOTHING = SavesNothing()  # (what a join of more than MANY inputs saves)


def _slicer(axis, start, stop):
    return (slice(None),) * axis + (slice(start, stop),)


def concat_vjps(datas, axis):
    """``(saved, vjps)`` for the concatenation of the arrays ``datas`` along ``axis``."""
    n = len(datas)
    if n <= MANY:
        return tuple(datas), _concat_vjps(n, axis)
    vjps, start = [], 0
    for d in datas:
        stop = start + d.shape[axis]
        vjps.append(_slice_vjp(_slicer(axis, start, stop)))
        start = stop
    return NOTHING, tuple(vjps)


def _slice_vjp(key):
    return lambda g, y, *inputs: g[key]


@functools.lru_cache(maxsize=256)
def _concat_vjps(n, axis):
    """The VJPs of joining ``n`` inputs along ``axis``: input ``i`` gets its slice of ``g`` (the offsets come from
    the inputs' shapes, so nothing is computed for a call that records nothing)."""
    def vjp_of(i):
        def vjp(g, y, *inputs):
            start = sum(np.shape(inputs[j])[axis] for j in range(i))
            return g[_slicer(axis, start, start + np.shape(inputs[i])[axis])]
        return vjp
    return tuple(vjp_of(i) for i in range(n))


def stack_vjps(datas, axis):
    """``(saved, vjps)`` for stacking the arrays ``datas`` along a new ``axis``."""
    n = len(datas)
    return (tuple(datas) if n <= MANY else NOTHING), _stack_vjps(n, axis)


@functools.lru_cache(maxsize=256)
def _stack_vjps(n, axis):
    """The VJPs of stacking ``n`` inputs along a new ``axis``: input ``i`` gets ``g``'s slice ``i`` there (one op:
    recording an expand_dims per input and a concatenate cost ~5x more)."""
    def vjp_of(i):
        key = (slice(None),) * axis + (i,)
        return lambda g, y, *inputs: g[key]
    return tuple(vjp_of(i) for i in range(n))
