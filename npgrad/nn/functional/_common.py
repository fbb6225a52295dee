"""Helpers shared by the functional modules."""
import warnings

import numpy as np

from ...autograd import versions as _versions
from ...tensor import Tensor, _make


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _is_graph(x):
    """True on the create_graph backward path (VJPs then receive Tensors)."""
    return isinstance(x, Tensor)


def _with_value(x, value):
    """``x`` with its value replaced by ``value`` (same shape) and its gradient passed through unchanged:
    what PyTorch gets by clamping a clone of a tensor in place under ``no_grad`` (``gaussian_nll_loss``'s
    ``var``, ``cosine_similarity``'s norms)."""
    return _make(np.asarray(value, dtype=_data(x).dtype), "with_value", (x,), (_data(x),), (_pass,),
                 (_pass,))  # the tangent passes through unchanged too


def _pass(g, y, *inputs):
    return g


def _legacy_reduction(size_average, reduce, reduction, name):
    """PyTorch's mapping of the deprecated ``size_average`` / ``reduce`` arguments onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(f"{name}: size_average and reduce args will be deprecated, please use reduction='"
                  f"{'none' if reduce is False else 'mean' if size_average is not False else 'sum'}' instead.",
                  UserWarning, stacklevel=3)
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


_versions.reads("with_value", "")
