"""Helpers shared by the functional modules."""
import warnings

import numpy as np

from ...autograd import versions as _versions
from ...ops._util import as_input
from ...ops.elementwise import real_only_error
from ...tensor import Tensor, _make

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _own(y, x):
    """``y``, copied when it is a view of ``x``: for ops that return a new tensor in PyTorch (a reshape or a
    crop can be a view), so that writing into the result leaves the input alone."""
    if _tm._VMAP:     # batched tensors: their values are not to be read here (vmap would fall back to a loop)
        return y
    if isinstance(y, Tensor) and isinstance(x, Tensor) and np.may_share_memory(y.data, x.data):
        from ...ops.arrays import copy
        return copy(y)
    return y


def _float_target(t, x):
    """An integer or bool ``t`` (a target, a label) in the floating input ``x``'s dtype, as PyTorch's promotion
    (a float32 input with an int64 target: a float32 loss, where NumPy's would be float64); anything else as is
    (a Python number is weak already, a float target keeps its own dtype, as in torch)."""
    if isinstance(t, (bool, int, float, complex)):
        return t
    if np.dtype(t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype).kind not in "biu" or \
            np.dtype(x.dtype).kind != "f":
        return t
    return t.astype(x.dtype) if isinstance(t, Tensor) else np.asarray(t, dtype=x.dtype)


def _no_complex(name, *xs):
    """Refuse complex values for ``name``, an op PyTorch does not define on complex tensors (its kernels raise
    "not implemented for 'ComplexFloat'"): the real-only ops' TypeError (ops/elementwise.py: real_only_error),
    where NumPy would compare complex numbers lexicographically or drop their imaginary parts. ``xs``: Tensors,
    arrays or numbers (None is skipped); their dtype is read, never their values (a batched tensor passes inside
    vmap)."""
    for x in xs:
        if x is None:
            continue
        dt = np.dtype(x.dtype) if hasattr(x, "dtype") else np.asarray(x).dtype
        if dt.kind == "c":
            raise real_only_error(name, dt)


def _float_input(input, name):
    """``input`` as a Tensor, refused (a TypeError naming ``name``) unless its dtype is floating: an op whose
    values are not integers (gelu, softplus...) would otherwise truncate them to the integer dtype (PyTorch's
    kernels raise "not implemented for 'Long'"). The dtype is read, not the values (a batched tensor passes)."""
    x = as_input(input, name)
    if np.dtype(x.dtype).kind != "f":
        raise TypeError(f"{name}: expected a floating point input, got {x.dtype}")
    return x


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


def _target(t, shape, name, what="target"):
    """A loss's ``target`` (or another tensor argument, ``what``), checked up front so that bad input
    is reported by the loss, not by an op deep inside it: a Tensor, array, number or list of numbers (else a
    TypeError, as torch's "must be Tensor"), broadcasting against the input's ``shape`` (else a ValueError;
    ``shape=None`` skips this, for a loss that checks its own shape rule). Returns ``t``."""
    if not isinstance(t, (Tensor, np.ndarray, np.generic, int, float, list, tuple)):
        raise TypeError(f"{name}: {what} must be a tensor, got {type(t).__name__}")
    # (a Tensor's dtype and shape, not its values: inside vmap a batched tensor's values are not to be read)
    dtype, tshape = (np.dtype(t.dtype), tuple(t.shape)) if isinstance(t, Tensor) else (_data(t).dtype, np.shape(t))
    if dtype.kind not in "biufc":
        raise TypeError(f"{name}: {what} must hold numbers, got dtype {dtype}")
    if shape is not None:
        try:
            np.broadcast_shapes(tuple(shape), tshape)
        except ValueError:
            raise ValueError(f"{name}: input of shape {tuple(shape)} and {what} of shape {tshape} do not "
                             f"broadcast") from None
    return t


def _pointwise_target(t, x, name):
    """A pointwise loss's target: checked against the input ``x`` (:func:`_target`), then an integer or bool one
    taken in ``x``'s dtype (:func:`_float_target`)."""
    return _float_target(_target(t, x.shape, name), x)
