"""Cauchy and HalfCauchy (torch.distributions' formulas; HalfCauchy built directly on a ``base_dist`` Cauchy)."""
import math

from .. import ops
from . import constraints
from ._folded import _Folded
from .distribution import Distribution
from .utils import _as_value, _full, _param_batch_shape, _uniform, broadcast_all

__all__ = ["Cauchy", "HalfCauchy"]


class Cauchy(Distribution):
    """Cauchy (Lorentz) distribution with location ``loc`` and half width ``scale``."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(_param_batch_shape((loc, scale), self.loc), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Cauchy, batch_shape, ("loc", "scale"), _instance)

    @property
    def mean(self):
        return _full(self._extended_shape(), math.nan, self.loc.dtype)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return _full(self._extended_shape(), math.inf, self.loc.dtype)

    def rsample(self, sample_shape=()):
        u = _uniform(self._extended_shape(sample_shape), self.loc.dtype)
        eps = ops.tan(math.pi * (u - 0.5))  # standard Cauchy noise
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = self._value(value, self.loc)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        value = self._value(value, self.loc)
        return ops.arctan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        value = _as_value(value, self.loc)
        return ops.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class HalfCauchy(_Folded):
    """``|X|`` for ``X ~ Cauchy(0, scale)``."""
    _base = Cauchy

    @property
    def mean(self):
        return _full(self._extended_shape(), math.inf, self.scale.dtype)

    @property
    def variance(self):
        return self.base_dist.variance
