"""LowRankMultivariateNormal (torch.distributions' API and formulas): a Gaussian over n-vectors whose covariance
is ``W W^T + diag(D)`` with a (n, m) ``cov_factor`` W and a positive ``cov_diag`` D. log_prob and entropy only
factor the small (m, m) capacitance matrix ``C = I + W^T D^-1 W`` (Woodbury identity and the matrix determinant
lemma), composed from npgrad ops so gradients flow to ``loc``, ``cov_factor`` and ``cov_diag``."""
import math

import numpy as np

from .. import ops
from ..linalg import cholesky, solve_triangular
from ..tensor import as_tensor
from . import constraints
from .distribution import Distribution, _size
from .multivariate_normal import _as_tensors, batch_mahalanobis, batch_mv
from .utils import _standard_normal, lazy_property

__all__ = ["LowRankMultivariateNormal"]


def _plus_identity(K):
    return K + as_tensor(np.eye(K.shape[-1], dtype=K.dtype))


def capacitance_tril(W, D):
    """Lower Cholesky factor of ``C = I + W^T D^-1 W`` (m, m) for stacks of W (..., n, m) and D (..., n)."""
    return cholesky(_plus_identity((W.mT / D.unsqueeze(-2)) @ W))


def lowrank_logdet(W, D, cap_tril):
    """``log det(W W^T + diag(D))`` = ``log det C + sum(log D)`` (matrix determinant lemma)."""
    return 2 * cap_tril.diagonal(axis1=-2, axis2=-1).log().sum(-1) + D.log().sum(-1)


def lowrank_mahalanobis(W, D, x, cap_tril):
    """``x^T (W W^T + diag(D))^-1 x`` by the Woodbury identity: ``sum(x^2 / D) - |Lc^-1 W^T D^-1 x|^2`` with
    ``Lc`` the capacitance's Cholesky factor."""
    return (x * x / D).sum(-1) - batch_mahalanobis(cap_tril, batch_mv(W.mT / D.unsqueeze(-2), x))


class LowRankMultivariateNormal(Distribution):
    """Multivariate normal distribution with mean ``loc`` (..., n) and covariance
    ``cov_factor @ cov_factor.mT + diag(cov_diag)``, ``cov_factor`` (..., n, m) and ``cov_diag`` (..., n)
    positive, as ``torch.distributions.LowRankMultivariateNormal``. The batch dimensions of the three broadcast
    to ``batch_shape``; ``event_shape`` is ``(n,)``. Cheap when m << n: only an (m, m) matrix is factored."""
    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        name = "LowRankMultivariateNormal"
        t = _as_tensors(name, loc=loc, cov_factor=cov_factor, cov_diag=cov_diag)
        loc, W, D = t["loc"], t["cov_factor"], t["cov_diag"]
        if loc.ndim < 1:
            raise ValueError(f"{name}: loc must be at least one-dimensional, got shape {tuple(loc.shape)}")
        n = loc.shape[-1]
        if W.ndim < 2:
            raise ValueError(f"{name}: cov_factor must be at least two-dimensional, with optional leading batch "
                             f"dimensions, got shape {tuple(W.shape)}")
        if W.shape[-2] != n:
            raise ValueError(f"{name}: cov_factor must be a batch of matrices with shape {n} x m "
                             f"(n = loc.shape[-1]), got shape {tuple(W.shape)}")
        if D.ndim < 1 or D.shape[-1] != n:
            raise ValueError(f"{name}: cov_diag must be a batch of vectors with shape ({n},), got shape "
                             f"{tuple(D.shape)}")
        try:
            batch_shape = tuple(np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(W.shape[:-2]),
                                                    tuple(D.shape[:-1])))
        except ValueError:
            raise ValueError(f"{name}: incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(W.shape)}, cov_diag {tuple(D.shape)}") from None
        self.loc = loc.expand(*(batch_shape + (n,)))
        self.cov_factor = W.expand(*(batch_shape + tuple(W.shape[-2:])))
        self.cov_diag = D.expand(*(batch_shape + (n,)))
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = W, D
        super().__init__(batch_shape, (n,), validate_args=validate_args)
        self._capacitance_tril = capacitance_tril(W, D)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = _size(batch_shape, "LowRankMultivariateNormal.expand")
        shape = batch_shape + self._event_shape
        new.loc = self.loc.expand(*shape)
        new.cov_diag = self.cov_diag.expand(*shape)
        new.cov_factor = self.cov_factor.expand(*(shape + (self.cov_factor.shape[-1],)))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(*(self._batch_shape + self._event_shape))

    @lazy_property
    def scale_tril(self):
        # W W^T + D = D^1/2 (I + V V^T) D^1/2 with V = D^-1/2 W; scaling the rows of a lower-triangular Cholesky
        # factor of the middle matrix by D^1/2 keeps it lower triangular with a positive diagonal
        sqrt_d = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        V = self._unbroadcasted_cov_factor / sqrt_d
        return (sqrt_d * cholesky(_plus_identity(V @ V.mT))).expand(*self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W @ W.mT + ops.diag_embed(D)).expand(*self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # Woodbury: D^-1 - A^T A with A = Lc^-1 W^T D^-1
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = solve_triangular(self._capacitance_tril, W.mT / D.unsqueeze(-2), lower=True)
        return (ops.diag_embed(D.reciprocal()) - A.mT @ A).expand(*self._matrix_shape())

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps_w = _standard_normal(shape[:-1] + (self.cov_factor.shape[-1],), self.loc.dtype)
        eps_d = _standard_normal(shape, self.loc.dtype)
        return (self.loc + batch_mv(self._unbroadcasted_cov_factor, eps_w)
                + self._unbroadcasted_cov_diag.sqrt() * eps_d)

    def _logdet(self):
        return lowrank_logdet(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril)

    def log_prob(self, value):
        value = self._value(value, self.loc)
        M = lowrank_mahalanobis(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, value - self.loc,
                                self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._logdet() + M)

    def entropy(self):
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._logdet())
        return H if len(self._batch_shape) == 0 else H.expand(*self._batch_shape)
