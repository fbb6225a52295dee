"""``|X|`` for ``X`` of a symmetric location-0 distribution (HalfNormal, HalfCauchy): what the folded
distributions share, as torch's ``TransformedDistribution(base, AbsTransform())`` subclasses do."""
import math

from .. import ops
from . import constraints
from .distribution import Distribution
from .utils import _as_value, _full


class _Folded(Distribution):
    """The distribution of ``|X|``, ``X ~ _base(0, scale)``; subclasses set ``_base`` and give mean and
    variance."""
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base = None

    def __init__(self, scale, validate_args=None):
        self.base_dist = self._base(0.0, scale, validate_args=False)
        super().__init__(self.base_dist.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_base(type(self), batch_shape, _instance)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mode(self):
        return _full(self.scale.shape, 0, self.scale.dtype)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value):
        value = self._value(value, self.scale)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return ops.where(value >= 0, lp, -math.inf)

    def cdf(self, value):
        value = self._value(value, self.scale)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((_as_value(prob, self.scale) + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)

    def __repr__(self):
        s = self.scale
        return f"{type(self).__name__}(scale: {s if s.size == 1 else tuple(s.shape)})"
