"""npg.stats' continuous distributions: norm, multivariate_normal, t, gamma, chi2, beta, dirichlet."""
import math

import numpy as np

from .. import linalg as _linalg
from ..ops import elementwise as _ew, reduce as _reduce
from ..ops.shape import concatenate as _concatenate, moveaxis as _moveaxis
from ..ops.incomplete import betainc_complement
from ..special import betainc, betaln, gammainc, gammaincc, gammaln, log_ndtr, ndtr, ndtri, xlog1py, xlogy
from ..tensor import Tensor, _wrap
from ._base import (_Distribution, _arg, _data, _float_dtype, _fn, _log_prob, _not_positive, _outside, _params_domain,
                    _ratio, _safe)

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)


def _edge_power(edge, a, logp):
    """``logp`` plus ``(a - 1) log 0`` where ``edge`` holds (the base of the power is 0 there, and the power's
    term was computed at a safe base): nothing where ``a == 1``, ``-inf`` where ``a > 1``, ``+inf`` where
    ``a < 1``, these as constants (no gradient, as outside the support). ``a == 1`` keeps the gradient in
    ``a`` of PyTorch's ``xlogy`` (none from this term)."""
    edge = np.asarray(edge)
    if not edge.any():
        return logp
    ad = np.asarray(_data(a), dtype=np.float64)
    logp = _outside(edge & (ad > 1), -np.inf, logp)
    return _outside(edge & (ad < 1), np.inf, logp)


# ----------------------------------------------------------------------------------- norm
@_params_domain(lambda scale, **_: _not_positive(scale))
class _Norm(_Distribution):
    """The normal distribution ``N(loc, scale^2)`` (``scipy.stats.norm``)."""
    name = "norm"

    @staticmethod
    def _z(x, loc, scale):
        x, loc, scale = (_arg(v, "norm") for v in (x, loc, scale))
        if not any(isinstance(v, Tensor) for v in (x, loc, scale)):
            # all Python numbers: a 0-d float64 tensor, as every method of every distribution returns (and
            # scale=0.0 a NaN from the domain check, as SciPy's, not Python's ZeroDivisionError)
            x = _wrap(np.asarray(x, dtype=np.float64))
        return (x - loc) / scale

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
        if d == 1 and x.ndim <= 1:
            x = x.reshape(x.shape + (1,))          # (as SciPy: in one dimension, a 0-d or 1-d x holds points)
        if x.shape[-1] != d:
            raise ValueError(f"multivariate_normal.logpdf: x has {x.shape[-1]} components along its last axis, "
                             f"the distribution {d}")
        diff = x if mean is None else x - mean
        var, L, half_logdet = self._factor(cov, d, "logpdf")
        if L is None:
            maha = _reduce.sum(diff * diff / var, axis=-1)
        else:
            flat = diff.reshape(-1, d)
            z = _linalg.solve(L, _moveaxis(flat, -1, 0))          # L z = (x - mean)^T, one column per point
            maha = _reduce.sum(z * z, axis=0).reshape(diff.shape[:-1])
        return -0.5 * maha - half_logdet - d * _LOG_SQRT_2PI

    def _factor(self, cov, d, where):
        """``(var, None, log det(cov) / 2)`` for a number or a diagonal ``cov`` (no factorization needed), else
        ``(None, L, log det(cov) / 2)`` with ``L`` its Cholesky factor."""
        cd = _data(cov)
        if not np.all(np.isfinite(cd)):     # (as SciPy: an error, not a NaN or -inf log-density)
            raise ValueError(f"multivariate_normal.{where}: cov must be finite, got "
                             f"{np.array2string(np.asarray(cd), threshold=36)}")
        if cd.ndim < 2:
            if not np.all(cd > 0):
                raise ValueError(f"multivariate_normal.{where}: cov must be positive definite: "
                                 f"{'its diagonal' if cd.ndim else 'the variance'} must be > 0, got {cd.tolist()}")
            var = cov if cd.ndim == 1 else cov * np.ones(d, dtype=_float_dtype(cov))
            if not isinstance(var, Tensor):
                var = _wrap(np.asarray(var))
            return var, None, 0.5 * _reduce.sum(_ew.log(var))
        if cd.shape != (d, d):
            raise ValueError(f"multivariate_normal.{where}: cov must be ({d}, {d}), got {cd.shape}")
        try:
            L = _linalg.cholesky(cov)
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError(f"multivariate_normal.{where}: cov must be symmetric positive definite "
                                        f"(allow_singular=False), got {np.array2string(cd, threshold=36)} "
                                        f"({err})") from None
        return None, L, _reduce.sum(_ew.log(_linalg.diagonal(L)))

    def entropy(self, mean=None, cov=1.0, allow_singular=False):
        """``log det(2 pi e cov) / 2``, as ``scipy.stats.multivariate_normal.entropy`` (``mean`` only sets the
        dimension; differentiable in ``cov``, through its Cholesky factor as the log-density)."""
        if allow_singular:
            raise NotImplementedError("npgrad.stats.multivariate_normal: allow_singular=True is not supported")
        cov = _arg(cov, self.name)
        cd = _data(cov)
        d = (np.shape(_data(mean))[-1] if mean is not None and np.ndim(_data(mean)) else cd.shape[-1] if cd.ndim
             else 1)
        return self._factor(cov, d, "entropy")[2] + d * (0.5 + _LOG_SQRT_2PI)

    def pdf(self, x, mean=None, cov=1.0, allow_singular=False):
        return _ew.exp(self.logpdf(x, mean, cov, allow_singular))


# ------------------------------------------------------------------------------------------ t
@_params_domain(lambda df, scale, **_: _not_positive(df, scale))
class _T(_Distribution):
    """Student's t distribution with ``df`` degrees of freedom (``scipy.stats.t``)."""
    name = "t"

    @staticmethod
    def _log_norm(df):
        """``gammaln((df+1)/2) - gammaln(df/2) - log(df pi)/2``: directly below df = 100; above, where the two
        large gammaln values would cancel (1e-7 relative error at df = 1e10), as ``-log(2 pi)/2`` plus the
        asymptotic series of ``gammaln(v + 1/2) - gammaln(v) - log(v)/2`` at v = df/2 (relative error 4e-16
        at the switch; 0 at df = inf, the normal's)."""
        def series(v):
            w = 1.0 / (v * v)
            return (((17.0 / 14336.0 * w - 1.0 / 640.0) * w + 1.0 / 192.0) * w - 0.125) / v - _LOG_SQRT_2PI

        def direct(d):
            return (_fn(gammaln, (d + 1.0) * 0.5) - _fn(gammaln, d * 0.5) - 0.5 * (_fn(_ew.log, d) + _LOG_PI))
        if isinstance(df, (int, float)):
            return series(df * 0.5) if df >= 100 else direct(df)
        big = np.asarray(_data(df) >= 100)
        if not big.any():
            return direct(df)
        return _ew.where(big, series(_safe(df, ~big, 100.0) * 0.5), direct(_safe(df, big, 1.0)))

    @staticmethod
    def _log_kernel(z, df):
        """``-(df + 1)/2 log1p(z^2 / df)``, ``-z^2 / 2`` where df is infinite."""
        inf = np.asarray(np.isposinf(_data(df)))
        if not inf.any():
            return -((df + 1.0) * 0.5) * _ew.log1p(z * z / df)
        dfs = _safe(df, inf, 1.0)
        return _ew.where(inf, -0.5 * (z * z), -((dfs + 1.0) * 0.5) * _ew.log1p(z * z / dfs))

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        df, scale = _arg(df, "t"), _arg(scale, "t")
        z = _ratio(_arg(x, "t") - _arg(loc, "t"), scale)
        return self._log_norm(df) - _fn(_ew.log, scale) + self._log_kernel(z, df)

    def pdf(self, x, df, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, df, loc, scale))

    @staticmethod
    def _cdf(z, df):
        """``P(T <= z)`` for the standard t: ``1/2 + sign(z)/2 I_{z^2/(df+z^2)}(1/2, df/2)`` where
        ``z^2 < 3 df / (df + 2)`` (< 3: the tails are 0.04 at least there), ``I_{df/(df+z^2)}(df/2, 1/2) / 2``
        (or 1 minus it) beyond: on both sides of that boundary betainc takes its continued fraction at
        the argument given, never at a complement rounded next to 1; the tail form is given
        ``x = df/(df+z^2)`` or, where that is above 1/2, ``1 - x = z^2/(df+z^2)`` (``betainc_complement``):
        for a large df the rounding of x next to 1 would be amplified df/2 times. ``1/2 + z pdf(0)`` where
        z^2 <= 1e-30 df (there the first form's derivative would be inf * 0). Every branch is evaluated at
        safe values where it is not taken."""
        zd = np.asarray(_data(z), dtype=np.float64)
        dfd = np.asarray(_data(df), dtype=np.float64)
        dt = _float_dtype(z, df)
        z2 = zd * zd
        tiny = z2 <= dfd * 1e-30
        central = z2 * (dfd + 2.0) < 3.0 * dfd
        zc = _safe(z, tiny | ~central, np.minimum(0.5 * np.sqrt(dfd), 0.5).astype(dt))
        zc2 = zc * zc
        cen = 0.5 + (0.5 * np.sign(_data(zc))).astype(dt) * betainc(0.5, df * 0.5, zc2 / (df + zc2))
        zt = _safe(z, central, np.full(dfd.shape, 2.0, dt))
        zt2 = zt * zt
        big = np.asarray(_data(zt2) > dfd)      # x = df / (df + z^2) below 1/2: given as x, else as 1 - x
        zx2, zy2 = _safe(zt2, ~big, (dfd + 1.0).astype(dt)), _safe(zt2, big, (dfd * 0.5).astype(dt))
        tail = 0.5 * _ew.where(big, betainc(df * 0.5, 0.5, df / (df + zx2)),
                               betainc_complement(df * 0.5, 0.5, zy2 / (df + zy2)))
        far = _ew.where(zd < 0, tail, 1.0 - tail)
        pdf0 = _fn(_ew.exp, _T._log_norm(df))
        return _outside(tiny, 0.5 + z * pdf0, _ew.where(central, cen, far))

    @staticmethod
    def _cdf_any_df(z, df):
        """``_cdf``, and the normal's ``ndtr(z)`` where df is infinite."""
        inf = np.asarray(np.isposinf(_data(df)))
        if not inf.any():
            return _T._cdf(z, df)
        return _ew.where(inf, ndtr(z), _T._cdf(z, _safe(df, inf, 1.0)))

    def cdf(self, x, df, loc=0.0, scale=1.0):
        """``P(X <= x)`` through the incomplete beta function (differentiable in x, df, loc, scale)."""
        df, scale = _arg(df, "t"), _arg(scale, "t")
        return self._cdf_any_df(_ratio(_arg(x, "t") - _arg(loc, "t"), scale), df)

    def sf(self, x, df, loc=0.0, scale=1.0):
        """``P(X > x)``, computed as the lower tail at -x (so it keeps its precision where it is tiny)."""
        df, scale = _arg(df, "t"), _arg(scale, "t")
        return self._cdf_any_df(_ratio(_arg(loc, "t") - _arg(x, "t"), scale), df)

    def logcdf(self, x, df, loc=0.0, scale=1.0):
        return _log_prob(self.cdf(x, df, loc, scale), self.sf(x, df, loc, scale))

    def logsf(self, x, df, loc=0.0, scale=1.0):
        return _log_prob(self.sf(x, df, loc, scale), self.cdf(x, df, loc, scale))


# -------------------------------------------------------------------------------------- gamma
@_params_domain(lambda a, scale, **_: _not_positive(a, scale))
class _Gamma(_Distribution):
    """The gamma distribution with shape ``a`` and ``scale`` (``scipy.stats.gamma``; rate = 1 / scale)."""
    name = "gamma"

    def logpdf(self, x, a, loc=0.0, scale=1.0):
        a, scale = _arg(a, "gamma"), _arg(scale, "gamma")
        z = _ratio(_arg(x, "gamma") - _arg(loc, "gamma"), scale)
        zd = _data(z)
        out, edge = zd < 0, zd == 0
        # at z = 0 the term (a - 1) log z is 0 for a = 1 (the density is finite there) and -inf / +inf for
        # a > 1 / a < 1: its value set apart, so that its 0/0 derivative in z does not make the gradients
        # in scale and loc NaN (nor the a > 1 one, where the log-density is -inf as outside the support)
        logp = (xlogy(a - 1.0, _safe(z, out | edge, 1.0)) - _safe(z, out, 1.0) - _fn(gammaln, a)
                - _fn(_ew.log, scale))
        return _outside(out, -np.inf, _edge_power(edge, a, logp))

    def pdf(self, x, a, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, a, loc, scale))

    @staticmethod
    def _z(x, a, loc, scale):
        a, scale = _arg(a, "gamma"), _arg(scale, "gamma")
        z = _ratio(_arg(x, "gamma") - _arg(loc, "gamma"), scale)
        below = _data(z) < 0
        return a, _safe(z, below, 1.0), below

    def cdf(self, x, a, loc=0.0, scale=1.0):
        """``P(X <= x) = gammainc(a, (x - loc) / scale)`` (0 below loc)."""
        a, z, below = self._z(x, a, loc, scale)
        return _outside(below, 0.0, gammainc(a, z))

    def sf(self, x, a, loc=0.0, scale=1.0):
        """``P(X > x) = gammaincc(a, (x - loc) / scale)``, accurate where it is tiny."""
        a, z, below = self._z(x, a, loc, scale)
        return _outside(below, 1.0, gammaincc(a, z))

    def logcdf(self, x, a, loc=0.0, scale=1.0):
        return _log_prob(self.cdf(x, a, loc, scale), self.sf(x, a, loc, scale))

    def logsf(self, x, a, loc=0.0, scale=1.0):
        return _log_prob(self.sf(x, a, loc, scale), self.cdf(x, a, loc, scale))



# --------------------------------------------------------------------------------------- chi2
@_params_domain(lambda df, scale, **_: _not_positive(df, scale))
class _Chi2(_Distribution):
    """The chi-squared distribution with ``df`` degrees of freedom (``scipy.stats.chi2``): ``gamma`` with shape
    ``df / 2`` and ``scale * 2``, so differentiable in ``x``, ``df``, ``loc`` and ``scale`` as ``gamma`` is."""
    name = "chi2"

    @staticmethod
    def _gamma_args(x, df, loc, scale):
        return (_arg(x, "chi2"), _arg(df, "chi2") * 0.5, _arg(loc, "chi2"), _arg(scale, "chi2") * 2.0)

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        """``xlogy(df/2 - 1, z) - z/2 - gammaln(df/2) - (df/2) log 2 - log(scale)``, z = (x - loc) / scale
        (``-inf`` below loc)."""
        return gamma.logpdf(*self._gamma_args(x, df, loc, scale))

    def pdf(self, x, df, loc=0.0, scale=1.0):
        return gamma.pdf(*self._gamma_args(x, df, loc, scale))

    def cdf(self, x, df, loc=0.0, scale=1.0):
        """``gammainc(df / 2, z / 2)`` (0 below loc)."""
        return gamma.cdf(*self._gamma_args(x, df, loc, scale))

    def sf(self, x, df, loc=0.0, scale=1.0):
        """``gammaincc(df / 2, z / 2)``, accurate where it is tiny (1 below loc)."""
        return gamma.sf(*self._gamma_args(x, df, loc, scale))

    def logcdf(self, x, df, loc=0.0, scale=1.0):
        return gamma.logcdf(*self._gamma_args(x, df, loc, scale))

    def logsf(self, x, df, loc=0.0, scale=1.0):
        return gamma.logsf(*self._gamma_args(x, df, loc, scale))


# --------------------------------------------------------------------------------------- beta
@_params_domain(lambda a, b, scale, **_: _not_positive(a, b, scale))
class _Beta(_Distribution):
    """The beta distribution on [loc, loc + scale] (``scipy.stats.beta``)."""
    name = "beta"

    def logpdf(self, x, a, b, loc=0.0, scale=1.0):
        a, b, scale = _arg(a, "beta"), _arg(b, "beta"), _arg(scale, "beta")
        z = _ratio(_arg(x, "beta") - _arg(loc, "beta"), scale)
        zd = _data(z)
        out, low, high = (zd < 0) | (zd > 1), zd == 0, zd == 1
        # the two ends as gamma's z = 0 (each power's value set apart where its base is 0, the power computed
        # at a base of 1 there: no gradient in a or b from it, as PyTorch's xlogy at a = 1)
        logp = (xlogy(a - 1.0, _safe(z, out | low, 1.0)) + xlog1py(b - 1.0, -_safe(z, out | high, 0.0))
                - _fn(betaln, a, b) - _fn(_ew.log, scale))
        return _outside(out, -np.inf, _edge_power(high, b, _edge_power(low, a, logp)))

    def pdf(self, x, a, b, loc=0.0, scale=1.0):
        return _ew.exp(self.logpdf(x, a, b, loc, scale))

    @staticmethod
    def _z(x, a, b, loc, scale):
        a, b, scale = _arg(a, "beta"), _arg(b, "beta"), _arg(scale, "beta")
        z = _ratio(_arg(x, "beta") - _arg(loc, "beta"), scale)
        zd = _data(z)
        below, above = zd < 0, zd > 1
        return a, b, _safe(z, below | above, 0.5), below, above

    def cdf(self, x, a, b, loc=0.0, scale=1.0):
        """``P(X <= x) = betainc(a, b, (x - loc) / scale)`` (0 below the support, 1 above)."""
        a, b, z, below, above = self._z(x, a, b, loc, scale)
        return _outside(below, 0.0, _outside(above, 1.0, betainc(a, b, z)))

    def sf(self, x, a, b, loc=0.0, scale=1.0):
        """``P(X > x) = I_{1-z}(b, a)``, computed on its own and given z itself (``betainc_complement``), not
        ``1 - z``, which rounds to 1 for a tiny z."""
        a, b, z, below, above = self._z(x, a, b, loc, scale)
        return _outside(below, 1.0, _outside(above, 0.0, betainc_complement(b, a, z)))

    def logcdf(self, x, a, b, loc=0.0, scale=1.0):
        return _log_prob(self.cdf(x, a, b, loc, scale), self.sf(x, a, b, loc, scale))

    def logsf(self, x, a, b, loc=0.0, scale=1.0):
        return _log_prob(self.sf(x, a, b, loc, scale), self.cdf(x, a, b, loc, scale))


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
        if x.ndim == 0:
            raise ValueError(f"dirichlet: x must have {k} (or {k - 1}) components along its first axis, got a "
                             f"0-d value")
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


norm = _Norm()
multivariate_normal = _MultivariateNormal()
t = _T()
gamma = _Gamma()
chi2 = _Chi2()
beta = _Beta()
dirichlet = _Dirichlet()
