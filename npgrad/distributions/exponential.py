"""Exponential distribution (torch.distributions.Exponential's formulas)."""
from . import constraints
from .distribution import ExponentialFamily
from .utils import _as_value, _draw, _full, _param_batch_shape, broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Exponential distribution with rate ``rate`` (mean ``1 / rate``)."""
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(_param_batch_shape((rate,), self.rate), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Exponential, batch_shape, ("rate",), _instance)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return _full(self.rate.shape, 0, self.rate.dtype)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        e = _draw(lambda g, s: g.standard_exponential(s), self._extended_shape(sample_shape), self.rate.dtype)
        return e / self.rate

    def log_prob(self, value):
        value = self._value(value, self.rate)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        value = self._value(value, self.rate)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-_as_value(value, self.rate)).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -(-x).log()
