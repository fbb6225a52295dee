"""Helpers shared by the distributions, as torch.distributions.utils: ``broadcast_all``, ``logits_to_probs``,
``probs_to_logits``, ``clamp_probs``, ``lazy_property``, ``_sum_rightmost``, ``_standard_normal``, ``_draw``."""
import numbers
from functools import update_wrapper

import numpy as np

from .. import random as _random
from ..autograd.grad_mode import enable_grad
from ..dtypes import get_default_dtype
from ..tensor import Tensor, as_tensor

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def broadcast_all(*values):
    """Tensors broadcast to one shape, as torch's ``broadcast_all``: Python numbers (and NumPy arrays/scalars)
    become tensors of the first tensor argument's dtype (npgrad's default dtype when there is none); tensors keep
    their graph. Anything else raises ValueError."""
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number, np.ndarray, np.generic)):
            raise ValueError("Input arguments must all be instances of Number, npgrad.Tensor or numpy.ndarray, "
                             f"got {type(v).__name__}")
    dtype = next((v.dtype for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), None)
    if dtype is None:
        dtype = next((v.dtype for v in values if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind == "f"),
                     np.dtype(get_default_dtype()))
    tensors = [v if isinstance(v, Tensor) else as_tensor(np.asarray(v, dtype=dtype)) for v in values]
    shapes = [t.shape for t in tensors]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"broadcast_all: shapes {', '.join(map(str, shapes))} do not broadcast") from None
    return tuple(t if t.shape == shape else t.expand(*shape) for t in tensors)


def _as_value(value, like):
    """``value`` (a log_prob/cdf/icdf argument) as a tensor; numbers and arrays get ``like``'s dtype (kept as
    they are when ``like`` is None)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        arr = np.asarray(value)
        return as_tensor(arr.astype(like.dtype) if like is not None and arr.dtype.kind in "biuf" else arr)
    raise ValueError(f"The value argument must be a Tensor, number or array, got {type(value).__name__}")


def _draw(fn, shape, dtype):
    """``fn(generator, shape)`` (a NumPy draw) from npgrad's random state, as a tensor of ``dtype`` (no grad)."""
    out = np.asarray(fn(_random.get_generator(), tuple(shape)))
    return as_tensor(out.astype(dtype, copy=False))


def _standard_normal(shape, dtype):
    return _draw(lambda g, s: g.standard_normal(s), shape, dtype)


def _uniform(shape, dtype, low=0.0, high=1.0):
    """Uniform in [low, high) of ``dtype``, also after rounding: a float64 draw just below ``high`` rounded up to
    ``high`` in float32 (one in ~3e7 draws), which made Laplace.rsample inf, Uniform's sample its excluded upper
    bound (log_prob -inf) and Cauchy's a draw from the wrong tail."""
    dtype = np.dtype(dtype)
    lo, hi = dtype.type(low), np.nextafter(dtype.type(high), dtype.type(-np.inf))
    return _draw(lambda g, s: np.clip(g.uniform(low, high, s).astype(dtype), lo, hi), shape, dtype)


def _sum_rightmost(value, dim):
    """Sum out ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(*(tuple(value.shape[:-dim]) + (-1,))).sum(-1)


def logits_to_probs(logits, is_binary=False):
    from .. import ops
    if is_binary:
        return ops.sigmoid(logits)
    return ops.softmax(logits, axis=-1)


def clamp_probs(probs):
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    from .. import ops
    ps = clamp_probs(probs)
    if is_binary:
        return ops.log(ps) - ops.log1p(-ps)
    return ops.log(ps)


def _clamp_by_zero(x):
    # max(x, 0) with gradient 1/2 at 0, as torch's Binomial
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class lazy_property:
    """A property computed once (with grad enabled) and then stored on the instance, as torch's."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def _full(shape, fill, dtype):
    """A constant tensor (no grad), as torch.full."""
    return as_tensor(np.full(tuple(shape), fill, dtype=dtype))


def _param_batch_shape(params, tensor):
    """``()`` when every parameter was a Python number, else the broadcast shape (as torch's constructors)."""
    return () if all(isinstance(p, numbers.Number) for p in params) else tuple(tensor.shape)
