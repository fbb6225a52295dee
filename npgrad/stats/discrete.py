"""npg.stats' discrete distributions: poisson, binom, bernoulli, categorical."""
import numpy as np

from ..ops import elementwise as _ew, reduce as _reduce
from ..ops.index import take_along_axis as _take_along_axis
from ..ops.shape import broadcast_to as _broadcast_to
from ..special import betainc, gammainc, gammaincc, gammaln, log_softmax, xlog1py, xlogy
from ..tensor import Tensor, _wrap
from ._base import _Distribution, _arg, _data, _float_dtype, _log_prob, _outside, _params_domain, _safe


def _count(k, loc, where, *params):
    """The count ``k - loc`` as a constant tensor of the parameters' float dtype (so float32 parameters give
    a float32 result), and the mask where it is not a non-negative integer (outside the support)."""
    if isinstance(k, Tensor) and k._requires_grad:
        raise TypeError(f"npgrad.stats.{where}: the count k takes no gradient; pass it as a constant")
    kd = np.asarray(_data(k), dtype=np.float64) - np.asarray(_data(loc), dtype=np.float64)
    bad = ~((kd >= 0) & (kd == np.floor(kd)))
    return _wrap(kd.astype(_float_dtype(*params))), bad


def _floor_count(k, loc, where):
    """``floor(k - loc)`` (float64), for a CDF: the count takes no gradient."""
    if isinstance(k, Tensor) and k._requires_grad:
        raise TypeError(f"npgrad.stats.{where}: the count k takes no gradient; pass it as a constant")
    return np.floor(np.asarray(_data(k), dtype=np.float64) - np.asarray(_data(loc), dtype=np.float64))


def _not_probability(p):
    p = np.asarray(p, dtype=np.float64)
    return ~((p >= 0) & (p <= 1))


def _nan_count(k, loc):
    return np.isnan(np.asarray(k, dtype=np.float64) - np.asarray(loc, dtype=np.float64))


# parameters outside their domain (and a NaN count) give NaN, as SciPy's
@_params_domain(lambda k, mu, loc: ~(np.asarray(mu, dtype=np.float64) >= 0) | _nan_count(k, loc))
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

    @staticmethod
    def _k1(k, mu, loc):
        mu = _arg(mu, "poisson")
        kd = _floor_count(k, loc, "poisson")
        neg = kd < 0
        return mu, _wrap((np.where(neg, 0.0, kd) + 1.0).astype(_float_dtype(mu))), neg

    def cdf(self, k, mu, loc=0):
        """``P(K <= k) = gammaincc(floor(k) + 1, mu)``; differentiable in mu."""
        mu, k1, neg = self._k1(k, mu, loc)
        return _outside(neg, 0.0, gammaincc(k1, mu))

    def sf(self, k, mu, loc=0):
        """``P(K > k) = gammainc(floor(k) + 1, mu)``, accurate where it is tiny."""
        mu, k1, neg = self._k1(k, mu, loc)
        return _outside(neg, 1.0, gammainc(k1, mu))

    def logcdf(self, k, mu, loc=0):
        return _log_prob(self.cdf(k, mu, loc), self.sf(k, mu, loc))

    def logsf(self, k, mu, loc=0):
        return _log_prob(self.sf(k, mu, loc), self.cdf(k, mu, loc))


def _not_trials(n):
    """Where ``n`` is not a finite number >= 0 (a non-integer n is kept: the continuation, for a gradient in n)."""
    n = np.asarray(n, dtype=np.float64)
    return ~((n >= 0) & np.isfinite(n))


@_params_domain(lambda k, n, p, loc: _not_trials(n) | _not_probability(p) | _nan_count(k, loc))
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

    @staticmethod
    def _parts(k, n, p, loc):
        p, n = _arg(p, "binom"), _arg(n, "binom")
        kd = _floor_count(k, loc, "binom")
        neg, full = kd < 0, kd >= _data(n)
        dt = _float_dtype(p)
        if not (isinstance(n, Tensor) and n.dtype.kind == "f"):
            n = _wrap(np.asarray(_data(n), dtype=dt))
        return n, p, _wrap(np.where(neg | full, 0.0, kd).astype(dt)), neg, full

    def cdf(self, k, n, p, loc=0):
        """``P(K <= k) = betainc(n - k, k + 1, 1 - p)`` (k = floor(k)); differentiable in p (and in a float
        n)."""
        n, p, k, neg, full = self._parts(k, n, p, loc)
        return _outside(neg, 0.0, _outside(full, 1.0, betainc(n - k, k + 1.0, 1.0 - p)))

    def sf(self, k, n, p, loc=0):
        """``P(K > k) = betainc(k + 1, n - k, p)``, computed on its own."""
        n, p, k, neg, full = self._parts(k, n, p, loc)
        return _outside(neg, 1.0, _outside(full, 0.0, betainc(k + 1.0, n - k, p)))

    def logcdf(self, k, n, p, loc=0):
        return _log_prob(self.cdf(k, n, p, loc), self.sf(k, n, p, loc))

    def logsf(self, k, n, p, loc=0):
        return _log_prob(self.sf(k, n, p, loc), self.cdf(k, n, p, loc))


@_params_domain(lambda k, p, loc: _not_probability(p) | _nan_count(k, loc))
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
        if np.ndim(_data(probs if probs is not None else logits)) == 0:
            raise ValueError(f"categorical: {'probs' if probs is not None else 'logits'} must have the categories "
                             f"along a last axis, got a 0-d value")
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
        if kd.dtype.kind == "b":    # (as torch's long(): False, True are categories 0, 1)
            kd = kd.astype(np.int64)
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


poisson = _Poisson()
binom = _Binom()
bernoulli = _Bernoulli()
categorical = _Categorical()
