"""Gradients backward keeps in a cheaper form than a dense array until it must hand one on (engine.py):
``Scatter`` (zero but at one basic index), ``_Owned`` (a buffer backward allocated, added into in place) and
``NoGrad`` (no gradient at all)."""
import heapq
import math

import numpy as np


class Scatter:
    """A gradient that is zero except ``values`` at ``key`` (a basic index): what the VJP of ``x[key]``
    returns on the plain path when ``x`` is large. Added into a buffer that backward owns, it costs the
    size of ``values``: a loop reading ``x[i]`` row by row then costs O(rows) in backward, not
    O(rows * x.size). Backward turns it into an array before any VJP, hook or ``.grad`` sees it."""

    __slots__ = ("shape", "dtype", "size", "key", "values")
    __array_ufunc__ = None  # ndarray + Scatter -> Scatter.__radd__

    def __init__(self, shape, key, values):
        self.shape, self.dtype, self.size, self.key, self.values = shape, values.dtype, math.prod(shape), key, values

    def dense(self):
        out = np.zeros(self.shape, self.dtype)
        out[self.key] = self.values
        return out

    def astype(self, dtype):
        return Scatter(self.shape, self.key, self.values.astype(dtype))

    def __add__(self, other):
        return _Owned(self.dense()) + other

    __radd__ = __add__


class _Owned:
    """A gradient buffer that backward allocated itself and nothing else holds: adding into it in place
    is safe."""

    __slots__ = ("array",)
    __array_ufunc__ = None

    def __init__(self, array):
        self.array = array

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    size = property(lambda self: self.array.size)

    def dense(self):
        return self.array

    def __add__(self, other):
        if other.__class__ is Scatter:
            self.array[other.key] += other.values
        else:
            self.array += other.array if other.__class__ is _Owned else other
        return self

    __radd__ = __add__


class NoGrad:
    """No gradient: what a custom Function's backward returned None for (on the plain path), PyTorch's undefined
    gradient. It adds as zero; a leaf or input of grad() / backward(inputs=) that gets nothing else gets no
    gradient (grad() then reports it unused; ``.grad`` is left as it is); a non-leaf that gets nothing else
    passes no gradient on (_pass_on_no_grad). ``size`` is 0 so that backward never batches it (engine.py:
    _batched_sum)."""

    __slots__ = ("shape", "dtype")
    __array_ufunc__ = None
    size = 0

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype

    def dense(self):
        return np.zeros(self.shape, self.dtype)

    def astype(self, dtype):
        return NoGrad(self.shape, np.dtype(dtype))

    def __add__(self, other):
        return other

    __radd__ = __add__


_LAZY = frozenset((Scatter, _Owned, NoGrad))


def _pass_on_no_grad(t, leaves, heap, tensor_type, is_tensor):
    """A non-leaf whose gradient is only Functions' None (PyTorch's undefined gradient): as in PyTorch, its hooks
    are called with None (their results ignored), retain_grad and grad() get nothing for it, and its inputs get
    no gradient from it in turn; its VJPs are not called. (``tensor_type``, ``is_tensor``: run_backward's test
    of which parents get a gradient.)"""
    extra = t._extra
    if extra is not None:
        for hook in list(extra.get("hooks", ())):
            hook(None)
    for p, _ in zip(t._parents, t._vjps):
        if (p.__class__ is tensor_type or is_tensor(p, tensor_type)) and p._requires_grad:
            hand_on(p, NoGrad(p.data.shape, p.data.dtype), leaves, heap)


def hand_on(p, g, leaves, heap):
    """Give ``p`` the gradient ``g`` outside run_backward's loop (which inlines this): a leaf's goes into
    ``leaves`` (through ``leaves[p] = ...``, so that _EarlyLeaves counts the edge), a recorded tensor's is added
    to its ``_pending`` and the tensor queued on ``heap`` if it had none."""
    if p._vjps is None:
        prev = leaves.get(p)
        if prev is None:
            leaves[p] = g
        elif prev.__class__ is list:   # (a small leaf's batched gradients: see _batched_sum)
            prev.append(g)
        else:
            leaves[p] = prev + g
    elif p._pending is not None:
        p._pending = p._pending + g
    else:
        p._pending = g
        heapq.heappush(heap, (-p._seq, id(p), p))


# A leaf used many times (a weight shared along a chain) gets many small gradients: adding each one
# as it comes costs a NumPy call (~0.3 us) per use; collected in a list, _BATCH of them are summed
# in one call. Only for leaves of 2 to _BATCH_MAX_SIZE elements: NumPy's reduction over the first
# axis then adds them in the same order, ((g0 + g1) + g2) + ..., with the same rounding (for one
# element it would sum pairwise); larger gradients gain nothing and would hold memory.
_BATCH, _BATCH_MAX_SIZE = 64, 1024


def _batched_sum(grads):
    if len(grads) == 1:
        return grads[0]
    kept = [g for g in grads if g.__class__ is not NoGrad]  # (a Function's None, which adds as zero)
    if len(kept) < 2:
        return kept[0] if kept else grads[0]
    return np.add.reduce(np.array(kept), axis=0)


def zero_grad_(t):
    """Zero ``t.grad`` in place, as PyTorch's ``zero_grad(set_to_none=False)``: a reference taken to it stays current."""
    g = t._grad
    if g.__class__ is np.ndarray and g.flags.writeable:
        g.fill(0)
    elif getattr(g, "is_sparse", False):  # a sparse gradient stays sparse, with no rows (as PyTorch's zero_())
        t._grad = g.__class__(g.indices[:0], g.values[:0], g.shape)
    else:  # a create_graph pass's Tensor or a read-only gradient: replaced
        t._grad = np.zeros_like(t.data)
