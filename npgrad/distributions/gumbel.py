"""Gumbel distribution (torch.distributions.Gumbel's formulas; sampled as torch's transformed Uniform)."""
import math

import numpy as np

from . import constraints
from .distribution import Distribution
from .utils import _as_value, _param_batch_shape, _uniform, broadcast_all, euler_constant

__all__ = ["Gumbel"]


class Gumbel(Distribution):
    """Gumbel (type-I extreme value) distribution with location ``loc`` and scale ``scale``."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(_param_batch_shape((loc, scale), self.loc), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Gumbel, batch_shape, ("loc", "scale"), _instance)

    def rsample(self, sample_shape=()):
        fi = np.finfo(self.loc.dtype)  # torch's base: Uniform(tiny, 1 - eps)
        u = _uniform(self._extended_shape(sample_shape), self.loc.dtype, float(fi.tiny), float(1 - fi.eps))
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value):
        value = self._value(value, self.loc)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def _base_bounds(self):
        """torch's base Uniform(tiny, 1 - eps) of this dtype: its low and its width."""
        fi = np.finfo(self.loc.dtype)
        low, high = fi.dtype.type(fi.tiny), fi.dtype.type(1 - fi.eps)
        return float(low), float(high - low)

    def cdf(self, value):
        """As torch (a transformed Uniform(tiny, 1 - eps)): ``exp(-exp(-(value - loc) / scale))`` mapped affinely
        from [tiny, 1 - eps] onto [0, 1] and clamped (within an ulp or two of the exact cdf)."""
        value = self._value(value, self.loc)
        low, width = self._base_bounds()
        u = (-(-(value - self.loc) / self.scale).exp()).exp()
        return ((u - low) / width).clamp(min=0, max=1)

    def icdf(self, value):
        """As torch: ``value`` mapped affinely onto [tiny, 1 - eps] first, so icdf(0) and icdf(1) are finite."""
        low, width = self._base_bounds()
        u = _as_value(value, self.loc) * width + low
        return self.loc - self.scale * (-u.log()).log()

    @property
    def mean(self):
        return self.loc + self.scale * euler_constant

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        return self.scale.log() + (1 + euler_constant)
