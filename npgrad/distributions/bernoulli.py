"""Bernoulli distribution (torch.distributions.Bernoulli's formulas), parameterized by ``probs`` or ``logits``."""
import numpy as np

from .. import ops
from ..tensor import as_tensor
from . import constraints
from .distribution import ExponentialFamily
from .utils import _draw, _param_batch_shape, broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


def _bce_with_logits(logits, target):
    """``binary_cross_entropy_with_logits(logits, target, reduction='none')`` (torch's stable form)."""
    from ..nn.functional import binary_cross_entropy_with_logits
    return binary_cross_entropy_with_logits(logits, target, reduction="none")


def _probs_or_logits(cls, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{cls}: Either `probs` or `logits` must be specified, but not both.")


class Bernoulli(ExponentialFamily):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), else 0."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        _probs_or_logits("Bernoulli", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(_param_batch_shape((probs if probs is not None else logits,), self._param),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(Bernoulli, batch_shape, ("probs", "logits"), _instance)
        new._param = new.__dict__["probs"] if "probs" in self.__dict__ else new.__dict__["logits"]
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs.data
        return as_tensor(np.where(p == 0.5, np.nan, (p >= 0.5)).astype(p.dtype))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs.data, shape)
        return _draw(lambda g, s: g.random(s) < p, shape, self.probs.dtype)

    def log_prob(self, value):
        value = self._value(value, self._param)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        values = as_tensor(np.arange(2, dtype=self._param.dtype))
        values = values.reshape(*((-1,) + (1,) * len(self._batch_shape)))
        return values.expand(*((2,) + self._batch_shape)) if expand else values

    @property
    def _natural_params(self):
        return (ops.logit(self.probs),)

    def _log_normalizer(self, x):
        return x.exp().log1p()

