"""The closed-form KL divergences torch.distributions.kl registers for Gamma (and Chi2), Beta and Dirichlet,
with one another and with the distributions of kl.py (importing this module registers them)."""
import math

from .. import ops
from .beta import Beta, Dirichlet
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .kl import _infinite_like, _kl_real_line_infinity, _set, register_kl
from .laplace import Laplace
from .normal import Normal
from .uniform import Uniform
from .utils import euler_constant

__all__ = []


def _xlogx(t):
    """``t log t``, 0 at t = 0 (its limit; torch's ``_x_log_x`` is NaN there)."""
    return ops.xlogy(t, t)


# Same families

@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    a_p, b_p, a_q, b_q = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    s_p, s_q = a_p + b_p, a_q + b_q
    log_beta_ratio = a_q.lgamma() + b_q.lgamma() + s_p.lgamma() - (a_p.lgamma() + b_p.lgamma() + s_q.lgamma())
    return (log_beta_ratio + (a_p - a_q) * a_p.digamma() + (b_p - b_q) * b_p.digamma()
            + (s_q - s_p) * s_p.digamma())


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    s_p, s_q = p.concentration.sum(-1), q.concentration.sum(-1)
    t1 = s_p.lgamma() - s_q.lgamma()
    t2 = (p.concentration.lgamma() - q.concentration.lgamma()).sum(-1)
    e_log = p.concentration.digamma() - s_p.digamma().unsqueeze(-1)   # E_p[log x_i]
    return t1 - t2 + ((p.concentration - q.concentration) * e_log).sum(-1)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = q.concentration.lgamma() - p.concentration.lgamma()
    t3 = (p.concentration - q.concentration) * p.concentration.digamma()
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


# Different families

@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    a, b = p.concentration1, p.concentration0
    t2 = q.concentration.lgamma() - q.concentration * q.rate.log()
    t3 = (q.concentration - 1) * (a.digamma() - (a + b).digamma())
    return -p.entropy() + t2 - t3 + q.rate * a / (a + b)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    a, b = p.concentration1, p.concentration0
    mean = a / (a + b)
    var_normal = q.scale.pow(2)
    second_moment = mean * (1 - mean) / (a + b + 1) + mean.pow(2)
    t2 = 0.5 * (var_normal * 2 * math.pi).log()
    return -p.entropy() + t2 + (0.5 * second_moment - q.loc * mean + 0.5 * q.loc.pow(2)) / var_normal


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _set(result, (q.low.data > 0) | (q.high.data < 1), math.inf)


@register_kl(Exponential, Beta)
@register_kl(Gamma, Beta)
@register_kl(Gamma, Uniform)
def _kl_support_mismatch(p, q):
    """p's support (half-line) is not inside q's (bounded): infinite, as torch."""
    return _infinite_like(p.mean)


for _p in (Gumbel, Laplace, Normal):   # the whole real line against a part of it: infinite, as torch
    for _q in (Beta, Gamma):
        register_kl(_p, _q)(_kl_real_line_infinity)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    return (-q.concentration * ratio.log() + ratio + q.concentration.lgamma() + q.concentration * euler_constant
            - (1 + euler_constant))


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    c = p.concentration
    rate_scale = p.rate * q.scale
    loc_scale = q.loc / q.scale
    t1 = (c - 1) * c.digamma() - c.lgamma() - c
    t2 = rate_scale.log() + c / rate_scale
    t3 = loc_scale.exp() * (1 + rate_scale.reciprocal()).pow(-c) - loc_scale
    return t1 + t2 + t3


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    c = p.concentration
    var_normal = q.scale.pow(2)
    rate_sq = p.rate.pow(2)
    t1 = 0.5 * (rate_sq * var_normal * 2 * math.pi).log() - c - c.lgamma()
    t2 = 0.5 * (c.pow(2) + c) / rate_sq   # E[x^2] / 2
    t3 = q.loc * c / p.rate
    return t1 + (c - 1) * c.digamma() + (t2 - t3 + 0.5 * q.loc.pow(2)) / var_normal


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    t1 = width.log()
    t2 = (q.concentration1 - 1) * (_xlogx(p.high) - _xlogx(p.low) - width) / width
    t3 = (q.concentration0 - 1) * (_xlogx(1 - p.high) - _xlogx(1 - p.low) + width) / width
    t4 = q.concentration1.lgamma() + q.concentration0.lgamma() - (q.concentration1 + q.concentration0).lgamma()
    result = t3 + t4 - t1 - t2
    return _set(result, (p.high.data > 1) | (p.low.data < 0), math.inf)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    width = p.high - p.low
    t2 = q.concentration.lgamma() - q.concentration * q.rate.log()
    t3 = (1 - q.concentration) * (_xlogx(p.high) - _xlogx(p.low) - width) / width
    result = -width.log() + t2 + t3 + q.rate * (p.high + p.low) / 2
    return _set(result, p.low.data < 0, math.inf)
