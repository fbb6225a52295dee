"""``npg.stats``: log-densities, densities and CDFs of the distributions a Bayesian model starts with, with
``scipy.stats``' names and parameters, differentiable in the value and in every parameter.

>>> import npgrad as npg
>>> mu, sigma = npg.tensor(0.3), npg.tensor(1.2)
>>> npg.stats.norm.logpdf(npg.tensor([0.1, 2.0]), loc=mu, scale=sigma).sum().backward()

``norm`` (logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf), ``multivariate_normal`` (logpdf, pdf: through a
Cholesky factor of ``cov``), ``t``, ``gamma``, ``beta`` (logpdf, pdf), ``dirichlet`` (logpdf, pdf; as in
SciPy the components lie along the *first* axis of x), ``poisson``, ``binom``, ``bernoulli`` (logpmf, pmf)
and ``categorical`` (PyTorch's name; logpmf/pmf from ``probs`` or ``logits`` along the last axis).

Outside a distribution's support the log-density is ``-inf`` (and its gradient 0), as in SciPy; a
parameter outside its domain gives NaN. The objects are not callable (no frozen distributions): pass the
parameters to each method. Everything is built from npgrad ops (npg.special's among them), so a
gradient or a second derivative needs nothing more.
"""
import math

import numpy as np

from . import linalg as _linalg
from .ops import elementwise as _ew, reduce as _reduce
from .ops.index import take_along_axis as _take_along_axis
from .ops.shape import broadcast_to as _broadcast_to, concatenate as _concatenate, moveaxis as _moveaxis
from .special import betaln, gammaln, log_ndtr, log_softmax, ndtr, ndtri, xlog1py, xlogy
from .tensor import Tensor, _wrap

__all__ = ["bernoulli", "beta", "binom", "categorical", "dirichlet", "gamma", "multivariate_normal", "norm",
           "poisson", "t"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)


def _arg(v, where):
    """A method argument: Tensors and Python numbers as they are, anything else as a constant tensor."""
    if isinstance(v, (Tensor, int, float)) and not isinstance(v, bool):
        return v
    arr = np.asarray(v)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"npgrad.stats.{where}: unsupported argument of dtype {arr.dtype}")
    return _wrap(arr)


def _fn(op, *args):
    """``op(*args)``, a Python float when every argument is a Python number (so it stays weak, as the number
    was: a float32 value with ``scale=1.0`` gives a float32 result)."""
    out = op(*args)
    if all(isinstance(a, (int, float)) for a in args):
        return float(out.data)
    return out


def _data(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _float_dtype(*vals):
    """The floating dtype of a result from these arguments (weak Python numbers; integers give float64)."""
    dt = np.result_type(*(v.data if isinstance(v, Tensor) else v for v in vals))
    return dt if dt.kind == "f" else np.dtype(np.float64)


def _outside(mask, value, logp):
    """``logp`` with ``value`` where ``mask`` holds (no gradient flows there, and none from there)."""
    mask = np.asarray(mask)
    if not mask.any():
        return logp
    return _ew.where(mask, value, logp)


def _safe(v, mask, fill):
    """``v`` with ``fill`` where ``mask``: the second where of the double-where idiom (a branch that is
    thrown away must not produce NaN gradients)."""
    mask = np.asarray(mask)
    if not mask.any():
        return v
    return _ew.where(mask, fill, v)


class _Distribution:
    name = ""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"npgrad.stats.{self.name} has no frozen form: pass the parameters to each method, "
                        f"e.g. npg.stats.{self.name}.logpdf(x, ...)")

    def __repr__(self):
        return f"<npgrad.stats.{self.name}>"


# ----------------------------------------------------------------------------------- norm
class _Norm(_Distribution):
    """The normal distribution ``N(loc, scale^2)`` (``scipy.stats.norm``)."""
    name = "norm"

    @staticmethod
    def _z(x, loc, scale):
        return (_arg(x, "norm") - _arg(loc, "norm")) / _arg(scale, "norm")

    def logpdf(self, x, loc=0.0, scale=1.0):
        z = self._z(x, loc, scale)
        return -0.5 * (z * z) - _fn(_ew.log, _arg(scale, "norm")) - _LOG_SQRT_2PI

    def pdf(self, x, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, loc, scale))

    def cdf(self, x, loc=0.0, scale=1.0):
        return ndtr(self._z(x, loc, scale))

    def logcdf(self, x, loc=0.0, scale=1.0):
        return log_ndtr(self._z(x, loc, scale))

    def sf(self, x, loc=0.0, scale=1.0):
        return ndtr(-self._z(x, loc, scale))

    def logsf(self, x, loc=0.0, scale=1.0):
        return log_ndtr(-self._z(x, loc, scale))

    def ppf(self, q, loc=0.0, scale=1.0):
        return _arg(loc, "norm") + _arg(scale, "norm") * ndtri(_arg(q, "norm"))

    def isf(self, q, loc=0.0, scale=1.0):
        return _arg(loc, "norm") - _arg(scale, "norm") * ndtri(_arg(q, "norm"))


# ------------------------------------------------------------------------ multivariate_normal
class _MultivariateNormal(_Distribution):
    """The multivariate normal ``N(mean, cov)`` (``scipy.stats.multivariate_normal``): ``x`` has the
    components along its last axis; ``cov`` is a matrix, a vector (its diagonal) or a number (times the
    identity). The log-density goes through the Cholesky factor ``L`` of ``cov``:
    ``-|L^-1 (x - mean)|^2 / 2 - sum(log diag L) - d/2 log(2 pi)``."""
    name = "multivariate_normal"

    def logpdf(self, x, mean=None, cov=1.0, allow_singular=False):
        if allow_singular:
            raise NotImplementedError("npgrad.stats.multivariate_normal: allow_singular=True is not supported")
        x = _arg(x, self.name)
        if not isinstance(x, Tensor):
            x = _wrap(np.asarray(x, dtype=np.float64))
        cov = _arg(cov, self.name)
        cd = _data(cov)
        if mean is not None:
            mean = _arg(mean, self.name)
        # the dimension, as SciPy infers it: from the mean, else from cov (a number: one dimension)
        d = (_data(mean).shape[-1] if mean is not None and _data(mean).ndim else cd.shape[-1] if cd.ndim else 1)
        if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
            x = x.reshape(x.shape + (1,))          # (as SciPy: in one dimension, x holds points)
        if x.shape[-1] != d:
            raise ValueError(f"multivariate_normal.logpdf: x has {x.shape[-1]} components along its last axis, "
                             f"the distribution {d}")
        diff = x if mean is None else x - mean
        if cd.ndim < 2:   # a number or a diagonal: no factorization needed
            var = cov if cd.ndim == 1 else cov * np.ones(d, dtype=_float_dtype(cov))
            if not isinstance(var, Tensor):
                var = _wrap(np.asarray(var))
            maha = _reduce.sum(diff * diff / var, axis=-1)
            half_logdet = 0.5 * _reduce.sum(_ew.log(var))
        else:
            if cd.shape != (d, d):
                raise ValueError(f"multivariate_normal.logpdf: cov must be ({d}, {d}), got {cd.shape}")
            L = _linalg.cholesky(cov)
            flat = diff.reshape(-1, d)
            z = _linalg.solve(L, _moveaxis(flat, -1, 0))          # L z = (x - mean)^T, one column per point
            maha = _reduce.sum(z * z, axis=0).reshape(diff.shape[:-1])
            half_logdet = _reduce.sum(_ew.log(_linalg.diagonal(L)))
        return -0.5 * maha - half_logdet - d * _LOG_SQRT_2PI

    def pdf(self, x, mean=None, cov=1.0, allow_singular=False):
        return _ew.exp(self.logpdf(x, mean, cov, allow_singular))


# ------------------------------------------------------------------------------------------ t
class _T(_Distribution):
    """Student's t distribution with ``df`` degrees of freedom (``scipy.stats.t``)."""
    name = "t"

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        df, scale = _arg(df, "t"), _arg(scale, "t")
        z = (_arg(x, "t") - _arg(loc, "t")) / scale
        half = (df + 1.0) * 0.5
        return (_fn(gammaln, half) - _fn(gammaln, df * 0.5) - 0.5 * (_fn(_ew.log, df) + _LOG_PI) - _fn(_ew.log, scale)
                - half * _ew.log1p(z * z / df))

    def pdf(self, x, df, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, df, loc, scale))


# -------------------------------------------------------------------------------------- gamma
class _Gamma(_Distribution):
    """The gamma distribution with shape ``a`` and ``scale`` (``scipy.stats.gamma``; rate = 1 / scale)."""
    name = "gamma"

    def logpdf(self, x, a, loc=0.0, scale=1.0):
        a, scale = _arg(a, "gamma"), _arg(scale, "gamma")
        z = (_arg(x, "gamma") - _arg(loc, "gamma")) / scale
        out = _data(z) < 0
        z = _safe(z, out, 1.0)
        logp = xlogy(a - 1.0, z) - z - _fn(gammaln, a) - _fn(_ew.log, scale)
        return _outside(out, -np.inf, logp)

    def pdf(self, x, a, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, a, loc, scale))


# --------------------------------------------------------------------------------------- beta
class _Beta(_Distribution):
    """The beta distribution on [loc, loc + scale] (``scipy.stats.beta``)."""
    name = "beta"

    def logpdf(self, x, a, b, loc=0.0, scale=1.0):
        a, b, scale = _arg(a, "beta"), _arg(b, "beta"), _arg(scale, "beta")
        z = (_arg(x, "beta") - _arg(loc, "beta")) / scale
        zd = _data(z)
        out = (zd < 0) | (zd > 1)
        z = _safe(z, out, 0.5)
        logp = xlogy(a - 1.0, z) + xlog1py(b - 1.0, -z) - _fn(betaln, a, b) - _fn(_ew.log, scale)
        return _outside(out, -np.inf, logp)

    def pdf(self, x, a, b, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, a, b, loc, scale))


# ---------------------------------------------------------------------------------- dirichlet
class _Dirichlet(_Distribution):
    """The Dirichlet distribution with concentrations ``alpha`` (K,) (``scipy.stats.dirichlet``): ``x``
    has shape (K,) or (K, N), the components along the first axis (or K - 1 components, the last one
    being 1 minus their sum), each point on the simplex."""
    name = "dirichlet"

    def logpdf(self, x, alpha):
        alpha = _arg(alpha, self.name)
        if not isinstance(alpha, Tensor):
            alpha = _wrap(np.asarray(alpha, dtype=np.float64))
        if alpha.ndim != 1:
            raise ValueError(f"dirichlet: alpha must be one-dimensional, got shape {alpha.shape}")
        if np.any(alpha.data <= 0):
            raise ValueError("dirichlet: all concentration parameters alpha must be > 0")
        x = _arg(x, self.name)
        if not isinstance(x, Tensor):
            x = _wrap(np.asarray(x, dtype=np.float64))
        k = alpha.shape[0]
        if x.shape[0] == k - 1:   # (as SciPy: the last component completes the simplex)
            x = _concatenate([x, 1.0 - _reduce.sum(x, axis=0, keepdims=True)], axis=0)
        if x.shape[0] != k:
            raise ValueError(f"dirichlet: x must have {k} (or {k - 1}) components along its first axis, "
                             f"got shape {x.shape}")
        xd = x.data
        if np.any(xd < 0) or np.any(xd > 1):
            raise ValueError("dirichlet: each entry of x must lie in [0, 1]")
        if np.any(np.abs(np.sum(xd, axis=0) - 1.0) > 1e-9):
            raise ValueError(f"dirichlet: the points x must lie on the simplex (sum to 1 along the first axis), "
                             f"but their sums are {np.sum(xd, axis=0)}")
        a = alpha.reshape((k,) + (1,) * (x.ndim - 1))
        return (_reduce.sum(xlogy(a - 1.0, x), axis=0) + gammaln(_reduce.sum(alpha))
                - _reduce.sum(gammaln(alpha)))

    def pdf(self, x, alpha):
        return _ew.exp(self.logpdf(x, alpha))


# ----------------------------------------------------------------------- discrete distributions
def _count(k, loc, where, *params):
    """The count ``k - loc`` as a constant tensor of the parameters' float dtype (so float32 parameters give
    a float32 result), and the mask where it is not a non-negative integer (outside the support)."""
    if isinstance(k, Tensor) and k.requires_grad:
        raise TypeError(f"npgrad.stats.{where}: the count k takes no gradient; pass it as a constant")
    kd = np.asarray(_data(k), dtype=np.float64) - np.asarray(_data(loc), dtype=np.float64)
    bad = ~((kd >= 0) & (kd == np.floor(kd)))
    return _wrap(kd.astype(_float_dtype(*params))), bad


class _Poisson(_Distribution):
    """The Poisson distribution with mean ``mu`` (``scipy.stats.poisson``): ``k log(mu) - mu - log(k!)``."""
    name = "poisson"

    def logpmf(self, k, mu, loc=0):
        mu = _arg(mu, "poisson")
        k, bad = _count(k, loc, "poisson", mu)
        k = _safe(k, bad, 0.0)
        return _outside(bad, -np.inf, xlogy(k, mu) - mu - gammaln(k + 1.0))

    def pmf(self, k, mu, loc=0):
        return _ew.exp(self.logpmf(k, mu, loc))


class _Binom(_Distribution):
    """The binomial distribution of ``n`` trials with success probability ``p`` (``scipy.stats.binom``)."""
    name = "binom"

    def logpmf(self, k, n, p, loc=0):
        p = _arg(p, "binom")
        n = _arg(n, "binom")
        k, bad = _count(k, loc, "binom", p)
        nd = _data(n)
        bad = bad | (np.asarray(_data(k)) > nd)
        k = _safe(k, bad, 0.0)
        if not (isinstance(n, Tensor) and n.dtype.kind == "f"):
            n = _wrap(np.asarray(nd, dtype=_float_dtype(p)))
        logc = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
        return _outside(bad, -np.inf, logc + xlogy(k, p) + xlog1py(n - k, -p))

    def pmf(self, k, n, p, loc=0):
        return _ew.exp(self.logpmf(k, n, p, loc))


class _Bernoulli(_Distribution):
    """The Bernoulli distribution with success probability ``p`` (``scipy.stats.bernoulli``)."""
    name = "bernoulli"

    def logpmf(self, k, p, loc=0):
        p = _arg(p, "bernoulli")
        k, bad = _count(k, loc, "bernoulli", p)
        bad = bad | (np.asarray(_data(k)) > 1)
        k = _safe(k, bad, 0.0)
        return _outside(bad, -np.inf, xlogy(k, p) + xlog1py(1.0 - k, -p))

    def pmf(self, k, p, loc=0):
        return _ew.exp(self.logpmf(k, p, loc))


class _Categorical(_Distribution):
    """The categorical distribution over the last axis of ``probs`` (normalized to sum to 1, as PyTorch) or
    of ``logits`` (``torch.distributions.Categorical``; SciPy has none): ``logpmf(k)`` is the log-probability
    of category ``k`` (integers, broadcasting against the other axes)."""
    name = "categorical"

    def logpmf(self, k, probs=None, logits=None):
        if (probs is None) == (logits is None):
            raise ValueError("categorical: pass exactly one of probs and logits")
        if probs is not None:
            probs = _arg(probs, self.name)
            if not isinstance(probs, Tensor):
                probs = _wrap(np.asarray(probs, dtype=np.float64))
            logp = _ew.log(probs / _reduce.sum(probs, axis=-1, keepdims=True))
        else:
            logits = _arg(logits, self.name)
            if not isinstance(logits, Tensor):
                logits = _wrap(np.asarray(logits, dtype=np.float64))
            logp = log_softmax(logits, axis=-1)
        kd = np.asarray(_data(k))
        if kd.dtype.kind not in "biu":
            if np.any(kd != np.floor(kd)):
                raise ValueError("categorical: the categories k must be integers")
            kd = kd.astype(np.int64)
        ncat = logp.shape[-1]
        if np.any((kd < 0) | (kd >= ncat)):
            raise ValueError(f"categorical: the categories k must lie in [0, {ncat})")
        shape = np.broadcast_shapes(kd.shape, logp.shape[:-1])
        if logp.shape != shape + (ncat,):
            logp = _broadcast_to(logp, shape + (ncat,))
        idx = np.broadcast_to(kd, shape)[..., None]
        return _take_along_axis(logp, idx, axis=-1).reshape(shape)

    def pmf(self, k, probs=None, logits=None):
        return _ew.exp(self.logpmf(k, probs, logits))


norm = _Norm()
multivariate_normal = _MultivariateNormal()
t = _T()
gamma = _Gamma()
beta = _Beta()
dirichlet = _Dirichlet()
poisson = _Poisson()
binom = _Binom()
bernoulli = _Bernoulli()
categorical = _Categorical()
