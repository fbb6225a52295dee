"""Handing a gradient computed by the plain backward pass to the caller of a transform (npgrad/func.py), without
the copy when the copy would protect nothing.

A VJP may return an array that something else still refers to: the user's cotangent, the seed, a saved value
of a graph that stays alive (``vjp_fn`` keeps its graph), the data of an input, a ``.grad``, an array shared by
two results (``add`` hands the same gradient to both operands), or a read-only broadcast view. Those must be
copied: a result the caller writes into must not change anything else. A gradient that backward allocated
itself and that nothing else refers to any more (the usual case: the per-sample weight gradients of
``vmap(grad)``, 137 MB per step for the psg_mlp benchmark) is handed over as it is.

"Nothing else refers to it" is decided by reference counts, as PyTorch steals a gradient whose use count is 1
(and as ``ops/inplace.alone`` decides that backward may write into a gradient): the array is held only by the
Tensor that ``engine.grad`` just wrapped it in, and it owns its memory, or it is a view covering the whole of an
array that owns its memory and that only this view refers to. NumPy points every view at the array that owns
the memory, so any other view of that memory would be one more reference to the owner. The counts this code
sees when nothing else holds the array are measured at import with the same expressions (so they do not
depend on how a Python version counts references on its stack).
"""
import sys

import numpy as np

from .tensor import _wrap


def _data_refs(t):
    return sys.getrefcount(t.data)


def _base_refs(d):
    return sys.getrefcount(d.base)


_ALONE = _data_refs(_wrap(np.empty(2)))        # an array held by its Tensor only
_BASE_ALONE = _base_refs(np.empty(4)[:])       # an owner held by its one view only


def _dense(d):
    """Whether ``d``'s elements fill ``d.nbytes`` bytes without gaps or overlap, in some order of its axes (C or
    Fortran order, or a transpose of either: a Linear layer's weight gradient reaches its weight transposed)."""
    step = d.itemsize
    for st, n in sorted((abs(st), n) for st, n in zip(d.strides, d.shape) if n != 1):
        if st != step:
            return False
        step *= n
    return True


def _sole(t):
    """Whether nothing but the Tensor ``t`` refers to the memory of ``t.data``, which is writeable and free of
    internal overlap."""
    if _data_refs(t) > _ALONE:
        return False
    d = t.data
    if type(d) is not np.ndarray or not d.flags.writeable or not _dense(d):
        return False
    if d.base is None:
        return d.flags.owndata
    if _base_refs(d) > _BASE_ALONE:
        return False
    b = d.base
    return type(b) is np.ndarray and b.base is None and b.flags.owndata and b.nbytes == d.nbytes


def handover(g):
    """The array of gradient ``g`` (a Tensor that ``engine.grad`` returned on the plain path, or an array) to
    give to the caller: the array itself when nothing else refers to its memory, else a copy."""
    from .tensor import Tensor
    if isinstance(g, Tensor):
        if _sole(g):
            return g.data
        return np.array(g.data)
    return np.array(g)
