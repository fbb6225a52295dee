"""Geometric distribution (torch.distributions.Geometric: the number of failures before the first success)."""
import numpy as np

from .. import ops
from ..tensor import as_tensor
from . import constraints
from .bernoulli import _probs_or_logits
from .distribution import Distribution
from .utils import (_clamp_by_zero, _draw, _param_batch_shape, broadcast_all, lazy_property, logits_to_probs,
                    probs_to_logits)

__all__ = ["Geometric"]


class Geometric(Distribution):
    """Number of Bernoulli(``probs``) failures before the first success (support 0, 1, 2, ...)."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _probs_or_logits("Geometric", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        param = self.probs if probs is not None else self.logits
        super().__init__(_param_batch_shape((probs if probs is not None else logits,), param),
                         validate_args=validate_args)
        if self._validate_args and probs is not None:
            value = self.probs
            valid = value.data > 0
            if not valid.all():
                raise ValueError(f"Expected parameter probs ({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {self!r} to be positive but found invalid values:\n"
                                 f"{value.data[~valid]}")

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Geometric, batch_shape, ("probs", "logits"), _instance)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return as_tensor(np.zeros(self.probs.shape, self.probs.dtype))

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = self.probs.data
        tiny = np.finfo(p.dtype).tiny

        def draw(g, s):
            u = np.maximum(g.uniform(tiny, 1, s).astype(p.dtype), tiny)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.floor(np.log(u) / np.log1p(-p))
        return _draw(draw, shape, p.dtype)

    def log_prob(self, value):
        value = self._value(value, self.probs)
        value, probs = broadcast_all(value, self.probs)
        probs = ops.where((probs.data == 1) & (value.data == 0), 0.0, probs)  # 0 * log(0): 0, as torch
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        """``bce_with_logits(logits, probs) / probs`` as torch, with the cross entropy summed in the stable form
        ``max(x, 0) - p x + log1p(exp(-|x|))``: torch's form subtracts ``x`` from ``x`` for negative logits, which
        the division by a small ``probs`` amplifies (float32: at probs 1e-6 the entropy was 7% off and its
        gradient 50%). Same gradient formula as torch's (``sigmoid(x) - p`` in ``x``, ``-x`` in ``p``)."""
        x, p = self.logits, self.probs
        return (_clamp_by_zero(x) - p * x + (-x.abs()).exp().log1p()) / p
