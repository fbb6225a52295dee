"""The closed-form KL divergences torch registers for MultivariateNormal, LowRankMultivariateNormal and
Independent pairs (registered with ``register_kl`` when npgrad.distributions is imported)."""
import numpy as np

from .. import ops
from ..linalg import solve_triangular
from .independent import Independent
from .kl import kl_divergence, register_kl
from .lowrank_multivariate_normal import LowRankMultivariateNormal, lowrank_mahalanobis
from .multivariate_normal import MultivariateNormal, batch_mahalanobis, half_log_det
from .utils import _sum_rightmost

__all__ = []


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p, q):
    """``log det Lq - log det Lp + (|Lq^-1 Lp|_F^2 + |Lq^-1 (mu_q - mu_p)|^2 - n) / 2``."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         f"computed: {p.event_shape} vs {q.event_shape}")
    n = p.event_shape[0]
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    batch = tuple(np.broadcast_shapes(tuple(Lq.shape[:-2]), tuple(Lp.shape[:-2])))
    X = solve_triangular(Lq.expand(*(batch + (n, n))), Lp.expand(*(batch + (n, n))), lower=True)
    term2 = (X * X).sum((-2, -1))
    term3 = batch_mahalanobis(Lq, q.loc - p.loc)
    return half_log_det(Lq) - half_log_det(Lp) + 0.5 * (term2 + term3 - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    """The base distributions' KL summed over the reinterpreted dimensions (the same number for p and q)."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independent distributions with different reinterpreted_batch_ndims "
                                  f"({p.reinterpreted_batch_ndims} vs {q.reinterpreted_batch_ndims}) is not "
                                  "implemented")
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


# Pairs with a LowRankMultivariateNormal: KL = (log det Sq - log det Sp + tr(Sq^-1 Sp) + Mahalanobis_q - n) / 2,
# Sp written as a sum of F F^T over its factors F, each term of the trace taken without forming Sq^-1

def _logdet(d):
    if isinstance(d, LowRankMultivariateNormal):
        return d._logdet()
    return 2 * half_log_det(d._unbroadcasted_scale_tril)


def _mahalanobis(d, x):
    if isinstance(d, LowRankMultivariateNormal):
        return lowrank_mahalanobis(d._unbroadcasted_cov_factor, d._unbroadcasted_cov_diag, x, d._capacitance_tril)
    return batch_mahalanobis(d._unbroadcasted_scale_tril, x)


def _factors(d):
    """Matrices F with ``d``'s covariance = the sum of F F^T."""
    if isinstance(d, LowRankMultivariateNormal):
        return [d._unbroadcasted_cov_factor, ops.diag_embed(d._unbroadcasted_cov_diag.sqrt())]
    return [d._unbroadcasted_scale_tril]


def _sq_norm(X):
    return (X * X).sum((-2, -1))


def _trace_inv_cov_times(q, F):
    """``tr(Sq^-1 F F^T)``: ``|Lq^-1 F|^2``, or by Woodbury ``|D^-1/2 F|^2 - |A F|^2``, A = Lc^-1 W^T D^-1."""
    if isinstance(q, LowRankMultivariateNormal):
        W, D = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag
        A = solve_triangular(q._capacitance_tril, W.mT / D.unsqueeze(-2), lower=True)
        return _sq_norm(F / D.sqrt().unsqueeze(-1)) - _sq_norm(A @ F)
    return _sq_norm(solve_triangular(q._unbroadcasted_scale_tril, F, lower=True))


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
@register_kl(MultivariateNormal, LowRankMultivariateNormal)
@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_gaussians(p, q):
    """KL between two Gaussians at least one of which is a LowRankMultivariateNormal."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with different event shapes "
                         f"cannot be computed: {p.event_shape} vs {q.event_shape}")
    trace = sum(_trace_inv_cov_times(q, F) for F in _factors(p))
    return 0.5 * (_logdet(q) - _logdet(p) + trace + _mahalanobis(q, q.loc - p.loc) - p.event_shape[0])
