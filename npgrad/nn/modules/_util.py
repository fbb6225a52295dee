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


def check_device(device, where):
    """PyTorch's ``device=`` factory argument: the CPU (None, "cpu", "cpu:0") is accepted, anything else is an
    error (npgrad runs on the CPU only), never silently ignored."""
    if device is None or str(device) in ("cpu", "cpu:0"):
        return
    raise ValueError(f"{where}: npgrad runs on the CPU only, got device={device!r}")
