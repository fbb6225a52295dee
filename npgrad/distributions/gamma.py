"""Gamma and Chi2 (torch.distributions' formulas); rsample through ``standard_gamma``, whose gradient in the
concentration is the implicit reparameterization one (npgrad/distributions/_gamma_sample.py)."""
import numpy as np

from .. import ops
from ..ops.incomplete import gammainc
from . import constraints
from ._gamma_sample import standard_gamma
from .distribution import ExponentialFamily
from .utils import _param_batch_shape, broadcast_all

__all__ = ["Gamma", "Chi2"]


class Gamma(ExponentialFamily):
    """Gamma distribution with shape ``concentration`` (alpha) and ``rate`` (beta, 1 / scale): density
    ``rate^alpha x^(alpha-1) e^(-rate x) / Gamma(alpha)`` on x >= 0."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(_param_batch_shape((concentration, rate), self.concentration), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Gamma, batch_shape, ("concentration", "rate"), _instance)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(*shape)) / self.rate.expand(*shape)
        np.maximum(value.data, np.finfo(value.dtype).tiny, out=value.data)   # (as torch: not in the graph)
        return value

    def log_prob(self, value):
        value = self._value(value, self.rate)
        if value.dtype != self.rate.dtype:   # torch casts the value to the parameters' dtype here (only here)
            value = value.astype(self.rate.dtype)
        c = self.concentration
        return ops.xlogy(c, self.rate) + ops.xlogy(c - 1, value) - self.rate * value - c.lgamma()

    def cdf(self, value):
        value = self._value(value, self.rate)
        return gammainc(self.concentration, self.rate * value)

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + c.lgamma() + (1.0 - c) * c.digamma()

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()


class Chi2(Gamma):
    """Chi-squared distribution with ``df`` degrees of freedom: exactly ``Gamma(df / 2, 1 / 2)``."""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self):
        return self.concentration * 2

    def __repr__(self):
        df = self.df
        return f"Chi2(df: {df if df.size == 1 else tuple(df.shape)})"
