"""MultivariateNormal (torch.distributions' API and formulas): a Gaussian over vectors, parameterized by exactly
one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``. Everything is computed from the Cholesky
factor ``L`` of the covariance (``Sigma = L L^T``) with npgrad's linear algebra, so gradients flow to every
parameter; batch dimensions of ``loc`` and of the matrix broadcast as torch's."""
import math

import numpy as np

from .. import ops
from ..dtypes import get_default_dtype
from ..linalg import cholesky, solve_triangular
from ..ops.torch_linalg_names import cholesky_inverse
from ..tensor import Tensor, as_tensor
from . import constraints
from .distribution import Distribution, _size
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _as_tensors(owner, **values):
    """The non-None ``values`` as tensors: arrays and numbers take the dtype of the first floating tensor given
    (npgrad's default dtype when there is none); tensors of two different float dtypes raise TypeError."""
    given = {k: v for k, v in values.items() if v is not None}
    dtypes = {k: v.dtype for k, v in given.items() if isinstance(v, Tensor) and v.dtype.kind == "f"}
    if len(set(dtypes.values())) > 1:
        raise TypeError(f"{owner}: parameters have different dtypes "
                        + ", ".join(f"{k}={d}" for k, d in dtypes.items()))
    dtype = next(iter(dtypes.values()), np.dtype(get_default_dtype()))
    out = {}
    for k, v in given.items():
        if isinstance(v, Tensor):
            out[k] = v
        else:
            try:
                out[k] = as_tensor(np.asarray(v, dtype=dtype))
            except (TypeError, ValueError):
                raise TypeError(f"{owner}: {k} must be a Tensor or an array of numbers, "
                                f"got {type(v).__name__}") from None
    return out


def batch_mv(bmat, bvec):
    """``bmat @ bvec`` for stacks of (n, n) matrices and (n,) vectors whose batch shapes broadcast."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def batch_mahalanobis(bL, bx):
    """``x^T (L L^T)^-1 x`` = ``|L^-1 x|^2`` for stacks of lower-triangular ``L`` (..., n, n) and vectors ``x``
    (..., n) whose batch shapes broadcast: one triangular solve, differentiable in both."""
    z = solve_triangular(bL, bx.unsqueeze(-1), lower=True).squeeze(-1)
    return (z * z).sum(-1)


def half_log_det(L):
    """``log det(L)`` = ``log sqrt(det(L L^T))`` for lower-triangular ``L`` with a positive diagonal."""
    return L.diagonal(axis1=-2, axis2=-1).log().sum(-1)


def _eye(n, like):
    return as_tensor(np.eye(n, dtype=like.dtype))


def precision_to_scale_tril(P):
    """The lower Cholesky factor ``L`` of ``P^-1`` without inverting ``P``: with ``J`` the exchange matrix,
    ``J P J = Lf Lf^T`` makes ``U = J Lf J`` upper triangular with ``P = U U^T``, so ``L = U^-T``, found by one
    triangular solve against the identity."""
    Lf = cholesky(ops.flip(P, (-2, -1)))
    L_inv = ops.flip(Lf, (-2, -1)).mT                    # U^T, lower triangular
    return solve_triangular(L_inv, _eye(P.shape[-1], P), lower=True)


class MultivariateNormal(Distribution):
    """Multivariate normal distribution with mean vector ``loc`` and covariance given by exactly one of
    ``covariance_matrix`` (positive definite), ``precision_matrix`` (its positive-definite inverse) or
    ``scale_tril`` (lower-triangular ``L`` with a positive diagonal, covariance ``L @ L.mT``), as
    ``torch.distributions.MultivariateNormal``. ``loc`` is (..., n), the matrix (..., n, n); their batch
    dimensions broadcast to ``batch_shape`` and ``event_shape`` is ``(n,)``. A covariance or precision matrix is
    only used to compute ``scale_tril`` (by Cholesky), on which ``log_prob``, ``entropy`` and ``rsample`` are
    built."""
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        name = "MultivariateNormal"
        if (covariance_matrix is not None) + (precision_matrix is not None) + (scale_tril is not None) != 1:
            raise ValueError(f"{name}: exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                             "specified")
        t = _as_tensors(name, loc=loc, covariance_matrix=covariance_matrix, precision_matrix=precision_matrix,
                        scale_tril=scale_tril)
        loc = t.pop("loc")
        (mat_name, mat), = t.items()
        if loc.ndim < 1:
            raise ValueError(f"{name}: loc must be at least one-dimensional, got shape {tuple(loc.shape)}")
        n = loc.shape[-1]
        if mat.ndim < 2:
            raise ValueError(f"{name}: {mat_name} must be at least two-dimensional, with optional leading batch "
                             f"dimensions, got shape {tuple(mat.shape)}")
        if tuple(mat.shape[-2:]) != (n, n):
            raise ValueError(f"{name}: {mat_name} must be (..., n, n) with n = loc.shape[-1] = {n}, got shape "
                             f"{tuple(mat.shape)}")
        try:
            batch_shape = tuple(np.broadcast_shapes(tuple(mat.shape[:-2]), tuple(loc.shape[:-1])))
        except ValueError:
            raise ValueError(f"{name}: batch shapes of loc {tuple(loc.shape)} and {mat_name} "
                             f"{tuple(mat.shape)} do not broadcast") from None
        setattr(self, mat_name, mat.expand(*(batch_shape + (n, n))))
        self.loc = loc.expand(*(batch_shape + (n,)))
        super().__init__(batch_shape, (n,), validate_args=validate_args)
        if mat_name == "scale_tril":
            self._unbroadcasted_scale_tril = mat
        elif mat_name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(mat)
        else:
            self._unbroadcasted_scale_tril = precision_to_scale_tril(mat)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = _size(batch_shape, "MultivariateNormal.expand")
        n = self._event_shape[0]
        new.loc = self.loc.expand(*(batch_shape + (n,)))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*(batch_shape + (n, n))))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(*self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(*self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # torch.cholesky_inverse's gradient (that of (L L^T)^-1 in the whole of L, as torch's)
        return cholesky_inverse(self._unbroadcasted_scale_tril).expand(*self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(*(self._batch_shape + self._event_shape))

    def rsample(self, sample_shape=()):
        eps = _standard_normal(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        value = self._value(value, self.loc)
        M = batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + M) - half_log_det(self._unbroadcasted_scale_tril)

    def entropy(self):
        n = self._event_shape[0]
        H = 0.5 * n * (1.0 + math.log(2 * math.pi)) + half_log_det(self._unbroadcasted_scale_tril)
        return H if len(self._batch_shape) == 0 else H.expand(*self._batch_shape)
