"""StudentT and FisherSnedecor (torch.distributions' formulas), sampled from Normal and Chi2/Gamma draws as
torch does, so rsample is differentiable in every parameter (the degrees of freedom through the Gammas'
implicit reparameterization gradient, npgrad/distributions/_gamma_sample.py)."""
import math

import numpy as np

from .. import ops
from . import constraints
from .distribution import Distribution
from .gamma import Chi2, Gamma
from .utils import _param_batch_shape, _standard_normal, broadcast_all

__all__ = ["StudentT", "FisherSnedecor"]


def _nan_where(mask, t):
    """``t`` with NaN where ``mask`` (NumPy bool) is set (torch's ``t[mask] = nan``)."""
    return ops.where(mask, math.nan, t) if mask.any() else t


def _log1p_square(t):
    """``log(1 + t^2)`` without squaring a large ``|t|``: ``2 log hypot(1, t)`` above 1 (torch's
    ``log1p(y^2 / df)`` overflows to inf beyond sqrt of the dtype's largest value, 1.8e19 in float32 and 1.3e154
    in float64, making log_prob -inf and its gradients NaN where the density is finite), ``log1p(t^2)`` below;
    each branch sees only the values it is used for, so neither puts a NaN into the gradient."""
    big = np.abs(t.data) > 1
    if not big.any():
        return t.pow(2).log1p()
    one = np.ones((), dtype=t.dtype)
    small = ops.where(big, 0.0, t).pow(2).log1p()
    return ops.where(big, 2.0 * ops.hypot(one, ops.where(big, t, 2.0)).log(), small)


class StudentT(Distribution):
    """Student's t-distribution with ``df`` degrees of freedom, location ``loc`` and scale ``scale``."""
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df, validate_args=False)   # (df is validated by name below)
        super().__init__(tuple(self.df.shape), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(StudentT, batch_shape, ("df", "loc", "scale"), _instance)
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    @property
    def mean(self):
        return _nan_where(self.df.data <= 1, self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        d = self.df.data
        big = d > 2
        safe_df = ops.where(big, self.df, 3.0)   # (the formula only where it is used: no NaN gradient elsewhere)
        var = self.scale.pow(2) * safe_df / (safe_df - 2)
        return ops.where(big, var, np.where(d > 1, math.inf, math.nan).astype(d.dtype))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = _standard_normal(shape, self.df.dtype)
        z = self._chi2.rsample(sample_shape)
        y = x * (z / self.df).rsqrt()
        return self.loc + self.scale * y

    def log_prob(self, value):
        value = self._value(value, self.df)
        y = (value - self.loc) / self.scale
        norm = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
                + (0.5 * self.df).lgamma() - (0.5 * (self.df + 1.0)).lgamma())
        return -0.5 * (self.df + 1.0) * _log1p_square(y / self.df.sqrt()) - norm

    def entropy(self):
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (self.scale.log() + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
                + 0.5 * df.log() + lbeta)


class FisherSnedecor(Distribution):
    """Fisher-Snedecor (F) distribution with ``df1`` and ``df2`` degrees of freedom: the ratio of two independent
    chi-squared variables, each divided by its degrees of freedom."""
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)   # (df1, df2 validated by name)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(_param_batch_shape((df1, df2), self.df1), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(FisherSnedecor, batch_shape, ("df1", "df2"), _instance)
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self):
        d2 = self.df2.data
        df2 = ops.where(d2 > 2, self.df2, math.nan)
        return df2 / (df2 - 2)

    @property
    def mode(self):
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return _nan_where(self.df1.data <= 2, mode)

    @property
    def variance(self):
        df2 = ops.where(self.df2.data > 4, self.df2, math.nan)
        return 2 * df2.pow(2) * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2).pow(2) * (df2 - 4))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x1 = self._gamma1.rsample(sample_shape).reshape(shape)
        x2 = self._gamma2.rsample(sample_shape).reshape(shape)
        y = x1 / x2
        np.maximum(y.data, np.finfo(y.dtype).tiny, out=y.data)   # (as torch: not in the graph)
        return y

    def log_prob(self, value):
        value = self._value(value, self.df1)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = (ct1 + ct2).lgamma() - ct1.lgamma() - ct2.lgamma()
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3
