"""Dirichlet and Beta (torch.distributions' formulas; Beta built on a two-component Dirichlet, as torch's).

rsample normalizes independent ``standard_gamma`` draws, ``x_i = G_i / sum_j G_j`` with
``G_i ~ Gamma(concentration_i, 1)``, so its gradient is the composition of the Gammas' exact implicit
reparameterization gradients (npgrad/distributions/_gamma_sample.py). torch's ``_dirichlet_grad`` instead
differentiates each coordinate's Beta marginal CDF: another coupling of the same distribution, so a single
sample's gradient differs from torch's while both are unbiased for the gradient of any expectation."""
import numpy as np

from .. import ops
from ..tensor import Tensor
from . import constraints
from ._gamma_sample import standard_gamma
from .distribution import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Dirichlet", "Beta"]


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution on the probability simplex with ``concentration`` (alpha, at least one-dimensional:
    the last dimension is the event)."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if not isinstance(concentration, (Tensor, np.ndarray)):
            raise ValueError(f"Dirichlet: concentration must be a Tensor (or array) of at least one dimension, "
                             f"got {type(concentration).__name__}")
        (concentration,) = broadcast_all(concentration)
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = tuple(concentration.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Dirichlet, batch_shape, ("concentration",), _instance)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        gammas = standard_gamma(self.concentration.expand(*shape))
        value = gammas / gammas.sum(-1, keepdim=True)
        np.maximum(value.data, np.finfo(value.dtype).tiny, out=value.data)   # (as torch: not in the graph)
        return value

    def log_prob(self, value):
        value = self._value(value, self.concentration)
        c = self.concentration
        return ops.xlogy(c - 1.0, value).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        cm1 = (self.concentration - 1).clamp(min=0.0)
        # where every concentration is below 1, torch's mode is the one-hot of the first component (the argmax
        # of its 0/0 row); the division there is by 1 instead, so no NaN reaches the gradient
        mask = (self.concentration.data < 1).all(-1)[..., None]
        total = cm1.sum(-1, keepdim=True)
        if not mask.any():
            return cm1 / total
        first = np.zeros(cm1.shape, dtype=cm1.dtype)
        first[..., 0] = 1
        return ops.where(mask, first, cm1 / ops.where(mask, 1.0, total))

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        a0 = c.sum(-1)
        return c.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((c - 1.0) * c.digamma()).sum(-1)

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()


class Beta(ExponentialFamily):
    """Beta distribution on [0, 1] with ``concentration1`` (alpha) and ``concentration0`` (beta): density
    ``x^(alpha-1) (1-x)^(beta-1) / B(alpha, beta)``."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        c1, c0 = broadcast_all(concentration1, concentration0)
        # (the Dirichlet is not validated itself: Beta checks concentration1 / concentration0 by name, and its
        # values in [0, 1], which makes the stacked (x, 1 - x) a point of the simplex)
        self._dirichlet = Dirichlet(ops.stack([c1, c0], -1), validate_args=False)
        super().__init__(self._dirichlet.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        ExponentialFamily.__init__(new, new._dirichlet.batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        value = self._value(value, self.concentration1)
        return self._dirichlet.log_prob(ops.stack([value, 1.0 - value], -1))

    def entropy(self):
        return self._dirichlet.entropy()

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return x.lgamma() + y.lgamma() - (x + y).lgamma()

    def __repr__(self):
        p = [(n, getattr(self, n)) for n in ("concentration1", "concentration0")]
        return "Beta(" + ", ".join(f"{n}: {v if v.size == 1 else tuple(v.shape)}" for n, v in p) + ")"

