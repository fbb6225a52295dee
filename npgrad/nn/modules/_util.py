"""Helpers shared by the layer modules."""
import numpy as np

from ...dtypes import get_default_dtype
from ..parameter import Parameter


def new_param(*shape, dtype=None):
    """An uninitialised Parameter in ``dtype`` (the default dtype unless given)."""
    return Parameter(np.empty(shape, dtype=np.dtype(dtype) if dtype is not None else get_default_dtype()))


def ntuple(v, n, name="argument"):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(v)
    return (v,) * n
