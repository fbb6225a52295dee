"""Helpers shared by the functional modules."""
import numpy as np

from ...tensor import Tensor


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _is_graph(x):
    """True on the create_graph backward path (VJPs then receive Tensors)."""
    return isinstance(x, Tensor)
