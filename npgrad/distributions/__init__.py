"""npgrad.distributions: probability distributions with torch.distributions' API and formulas.

>>> import npgrad.distributions as D
>>> q = D.Normal(mu, sigma)              # mu, sigma: tensors
>>> z = q.rsample()                      # differentiable in mu and sigma
>>> kl = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum()
>>> logp = D.Categorical(logits=logits).log_prob(actions)
"""
from . import constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta, Dirichlet
from .binomial import Binomial, Multinomial
from .categorical import Categorical, OneHotCategorical
from .cauchy import Cauchy, HalfCauchy
from .distribution import Distribution, ExponentialFamily
from .exponential import Exponential
from .gamma import Chi2, Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .independent import Independent
from .kl import kl_divergence, register_kl
from . import kl_gamma  # noqa: F401  (registers the KL pairs of Gamma, Beta and Dirichlet)
from .laplace import Laplace
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .normal import HalfNormal, LogNormal, Normal
from .poisson import Poisson
from .studentt import FisherSnedecor, StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform, TanhTransform,
                         Transform)
from .uniform import Uniform
from . import kl_multivariate  # noqa: F401  (registers the (LowRank)MultivariateNormal and Independent KLs)

__all__ = ["AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ComposeTransform",
           "Dirichlet", "Distribution", "ExpTransform", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
           "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "Laplace", "LogNormal",
           "LowRankMultivariateNormal", "Multinomial", "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson",
           "SigmoidTransform", "StudentT", "TanhTransform", "Transform", "TransformedDistribution", "Uniform",
           "constraints", "kl_divergence", "register_kl", "transforms"]
