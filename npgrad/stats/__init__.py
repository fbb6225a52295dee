"""``npg.stats``: log-densities, densities and CDFs of the distributions a Bayesian model starts with, with
``scipy.stats``' names and parameters, differentiable in the value and in every parameter.

>>> import npgrad as npg
>>> mu, sigma = npg.tensor(0.3), npg.tensor(1.2)
>>> npg.stats.norm.logpdf(npg.tensor([0.1, 2.0]), loc=mu, scale=sigma).sum().backward()

``norm`` (logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf), ``multivariate_normal`` (logpdf, pdf: through a
Cholesky factor of ``cov``), ``t``, ``gamma``, ``chi2``, ``beta`` (logpdf, pdf), ``dirichlet`` (logpdf, pdf; as in
SciPy the components lie along the *first* axis of x), ``poisson``, ``binom``, ``bernoulli`` (logpmf, pmf)
and ``categorical`` (PyTorch's name; logpmf/pmf from ``probs`` or ``logits`` along the last axis).

Outside a distribution's support the log-density is ``-inf`` (and its gradient 0), as in SciPy; a
parameter outside its domain gives NaN. The objects are not callable (no frozen distributions): pass the
parameters to each method. Everything is built from npgrad ops (npg.special's among them), so a
gradient or a second derivative needs nothing more.

Layout: ``_base.py`` (argument handling, the support masks), ``continuous.py`` (norm, multivariate_normal,
t, gamma, chi2, beta, dirichlet), ``discrete.py`` (poisson, binom, bernoulli, categorical).
"""
from .continuous import beta, chi2, dirichlet, gamma, multivariate_normal, norm, t
from .discrete import bernoulli, binom, categorical, poisson

__all__ = ["bernoulli", "beta", "binom", "categorical", "chi2", "dirichlet", "gamma", "multivariate_normal", "norm",
           "poisson", "t"]
