"""Constructors, as in NumPy (shapes as ``*dims`` or a tuple), each with ``dtype=`` and ``requires_grad=``."""
import numpy as np

from . import random as _random
from .dtypes import check_numeric, get_default_dtype
from .tensor import Tensor, _default_requires_grad
from .tensor import _leaf as _new_leaf


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"shape must be ints, got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"negative dimensions are not allowed: {shape}")
    return shape


def _leaf(arr, requires_grad, where):
    check_numeric(arr, where)  # dtype="U3" or object: refused here as by npg.tensor
    return _new_leaf(arr, _default_requires_grad(arr, requires_grad, where))


def _dtype(dtype):
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad=None):
    """A tensor of zeros."""
    return _leaf(np.zeros(_shape(shape), _dtype(dtype)), requires_grad, "zeros")


def ones(*shape, dtype=None, requires_grad=None):
    """A tensor of ones."""
    return _leaf(np.ones(_shape(shape), _dtype(dtype)), requires_grad, "ones")


def empty(*shape, dtype=None, requires_grad=None):
    """An uninitialised tensor."""
    return _leaf(np.empty(_shape(shape), _dtype(dtype)), requires_grad, "empty")


def full(shape, fill_value, dtype=None, requires_grad=None):
    """A tensor filled with ``fill_value`` (``np.full``'s argument order)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None:
        dtype = get_default_dtype() if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _leaf(np.full(_shape(shape), fill_value, dtype), requires_grad, "full")


def _like(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def zeros_like(x, dtype=None, requires_grad=None):
    """Zeros with the shape (and dtype) of ``x``."""
    return _leaf(np.zeros_like(_like(x), dtype=dtype), requires_grad, "zeros_like")


def ones_like(x, dtype=None, requires_grad=None):
    """Ones with the shape (and dtype) of ``x``."""
    return _leaf(np.ones_like(_like(x), dtype=dtype), requires_grad, "ones_like")


def full_like(x, fill_value, dtype=None, requires_grad=None):
    return _leaf(np.full_like(_like(x), fill_value, dtype=dtype), requires_grad, "full_like")


def empty_like(x, dtype=None, requires_grad=None):
    return _leaf(np.empty_like(_like(x), dtype=dtype), requires_grad, "empty_like")


def eye(N, M=None, k=0, dtype=None, requires_grad=None):
    """A 2-D tensor with ones on the ``k``-th diagonal."""
    return _leaf(np.eye(N, M, k, dtype=_dtype(dtype)), requires_grad, "eye")


def arange(start, stop=None, step=1, dtype=None, requires_grad=None):
    """Evenly spaced values in ``[start, stop)``, as ``np.arange`` (integers stay integers)."""
    if step == 0:  # NumPy raises a bare ZeroDivisionError ("division by zero"); Python's range a ValueError
        raise ValueError(f"arange: step must not be zero (start={start!r}, stop={stop!r}, step={step!r})")
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start, step=step)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(get_default_dtype())
    return _leaf(arr, requires_grad, "arange")


def linspace(start, stop, num=50, endpoint=True, dtype=None, requires_grad=None):
    """``num`` evenly spaced values from ``start`` to ``stop``, as ``np.linspace``."""
    return _leaf(np.linspace(start, stop, num, endpoint=endpoint, dtype=_dtype(dtype)), requires_grad, "linspace")


def randn(*shape, dtype=None, requires_grad=None, generator=None):
    """Standard normal samples from ``npg.random`` (or an explicit ``numpy.random.Generator``)."""
    rng = generator or _random.get_generator()
    return _leaf(rng.standard_normal(_shape(shape)).astype(_dtype(dtype), copy=False), requires_grad, "randn")


def rand(*shape, dtype=None, requires_grad=None, generator=None):
    """Uniform samples in ``[0, 1)``."""
    rng = generator or _random.get_generator()
    return _leaf(rng.random(_shape(shape)).astype(_dtype(dtype), copy=False), requires_grad, "rand")


def randint(low, high=None, size=(), dtype=np.int64, generator=None):
    """Random integers in ``[low, high)``, as ``Generator.integers``."""
    rng = generator or _random.get_generator()
    return _leaf(rng.integers(low, high, size=size, dtype=dtype), False, "randint")
