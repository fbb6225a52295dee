"""Gradients backward keeps in a cheaper form than a dense array until it must hand one on (engine.py):
``Scatter`` (zero but at one basic index) and ``_Owned`` (a buffer backward allocated, added into in place)."""
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


_LAZY = frozenset((Scatter, _Owned))


def zero_grad_(t):
    """Zero ``t.grad`` in place, as PyTorch's ``zero_grad(set_to_none=False)``: a reference taken to it stays current."""
    g = t._grad
    if g.__class__ is np.ndarray and g.flags.writeable:
        g.fill(0)
    else:  # a create_graph pass's Tensor, a read-only or sparse gradient: replaced
        t._grad = np.zeros_like(t.data)
