"""npgrad.distributions: probability distributions with torch.distributions' API and formulas.

>>> import npgrad.distributions as D
>>> q = D.Normal(mu, sigma)              # mu, sigma: tensors
>>> z = q.rsample()                      # differentiable in mu and sigma
>>> kl = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum()
>>> logp = D.Categorical(logits=logits).log_prob(actions)
"""
from . import constraints
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
from .kl import kl_divergence, register_kl
from . import kl_gamma  # noqa: F401  (registers the KL pairs of Gamma, Beta and Dirichlet)
from .laplace import Laplace
from .normal import HalfNormal, LogNormal, Normal
from .poisson import Poisson
from .studentt import FisherSnedecor, StudentT
from .uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet", "Distribution", "Exponential",
           "ExponentialFamily", "FisherSnedecor", "Gamma", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal",
           "Laplace", "LogNormal", "Multinomial", "Normal", "OneHotCategorical", "Poisson", "StudentT", "Uniform",
           "constraints", "kl_divergence", "register_kl"]
