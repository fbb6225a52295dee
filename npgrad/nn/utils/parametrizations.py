"""``orthogonal``, ``weight_norm`` and ``spectral_norm`` in their parametrization form, as
``torch.nn.utils.parametrizations``.

``weight_norm(m)`` stores ``m.parametrizations.weight.original0`` (the norms ``g``) and ``original1`` (the
directions ``v``); ``spectral_norm(m)`` stores ``m.parametrizations.weight.original`` and the power-iteration
vectors ``m.parametrizations.weight.0._u`` / ``_v`` as buffers: the state dicts have PyTorch's keys, so weights
move both ways. (PyTorch draws the initial ``u``, ``v`` from its own generator; load its state dict to get the
same ones.) ``orthogonal(m)`` stores ``m.parametrizations.weight.original`` and, with ``use_trivialization``,
the buffer ``m.parametrizations.weight.0.base``.
"""
import numpy as np

from ...autograd import versions as _versions
from ...ops import elementwise as _ew
from ...linalg import matrix_exp, solve
from ...ops.contract import matmul
from ...ops.shape import concatenate, permute, reshape
from ...tensor import Tensor, _wrap
from .. import functional as F
from ..module import Module
from . import parametrize

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]

_MAPS = ("matrix_exp", "cayley", "householder")


def _const(a):
    return Tensor(np.ascontiguousarray(a), requires_grad=False)


def _householder_product(A, tau):
    """``npg.linalg.householder_product`` (torch.linalg's), differentiable in ``A`` and ``tau``."""
    from ...linalg import householder_product
    return householder_product(A, tau)


def _make_orthogonal(A):
    """The Q of the QR decomposition of ``A`` whose R has a positive diagonal (an array)."""
    Q, R = np.linalg.qr(A)
    d = np.diagonal(R, axis1=-2, axis2=-1)
    sgn = np.where(d == 0, 0, d / np.where(d == 0, 1, np.abs(d)))
    return Q * sgn[..., None, :]


def _is_orthogonal(Q):
    n, k = Q.shape[-2], Q.shape[-1]
    return np.allclose(np.swapaxes(Q, -1, -2).conj() @ Q, np.eye(k, dtype=Q.dtype), rtol=1e-5,
                       atol=10.0 * n * np.finfo(Q.dtype).eps)


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if np.dtype(weight.dtype).kind == "c" and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                X = concatenate([X, _const(np.zeros((*X.shape[:-2], n, n - k), X.dtype))], axis=-1)
            A = X - X.mH
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                Id = _const(np.eye(n, dtype=A.dtype))
                Q = solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(axis=-2))
            Q = _householder_product(A, tau)
            diag = np.trunc(np.diagonal(X.data, axis1=-2, axis2=-1)).astype(X.dtype)   # PyTorch's .int()
            Q = Q * _const(diag[..., None, :])
        if "base" in self._buffers:
            if self.base is None:
                raise RuntimeError("orthogonal: the base of the trivialization is not set (right_inverse was not "
                                   "run)")
            Q = matmul(self.base, Q)
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        """The ``original`` giving ``Q`` (which must be orthogonal up to its QR's signs)."""
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                             f"{tuple(Q.shape)}.")
        Qa = np.array(Q.data if isinstance(Q, Tensor) else Q)
        shape, dtype = Qa.shape, Qa.dtype
        n, k = Qa.shape[-2], Qa.shape[-1]
        transpose = n < k
        if transpose:
            Qa = np.swapaxes(Qa, -1, -2)
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in ("cayley", "matrix_exp"):
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            h, tau = np.linalg.qr(Qa, mode="raw")       # LAPACK's geqrf, transposed
            A = np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(dtype)
            d = np.sign(np.diagonal(A, axis1=-2, axis2=-1))
            d = np.where(tau == 0.0, -d, d)
            idx = np.arange(k)
            A[..., idx, idx] = d
            return Tensor(np.swapaxes(A, -1, -2).copy() if transpose else A, requires_grad=False)
        if n == k:
            Qa = Qa.copy() if _is_orthogonal(Qa) else _make_orthogonal(Qa)
        else:
            from ... import random as _random
            N = _random.get_generator().standard_normal((*Qa.shape[:-2], n, n - k)).astype(dtype)
            Qa = _make_orthogonal(np.concatenate([Qa, N], axis=-1))
        self.base = Tensor(np.ascontiguousarray(Qa.astype(dtype)), requires_grad=False)
        neg_id = np.zeros(shape, dtype)
        neg_id[..., np.arange(min(shape[-2:])), np.arange(min(shape[-2:]))] = -1.0
        return Tensor(neg_id, requires_grad=False)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix or a batch of them) to be orthogonal (its columns, or rows when it
    is wide, orthonormal), as PyTorch's: ``orthogonal_map`` is ``"matrix_exp"`` (the default for square
    matrices), ``"cayley"`` or ``"householder"`` (the default for other shapes). With ``use_trivialization`` the
    map is applied around a ``base`` buffer (the current orthogonalized weight; for a non-square weight completed
    with random columns from npgrad's generator, so that one differs from PyTorch's), and assigning
    ``module.<name> = Q`` works for every map. Complex weights are not supported (npgrad parameters are real)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.shape[-2] == weight.shape[-1] or np.dtype(weight.dtype).kind == "c"
                          else "householder")
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: '
                         f"{orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


def _norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every axis but ``dim`` (kept with size 1); over all axes when ``dim == -1``
    (PyTorch's ``norm_except_dim``: any other negative ``dim`` counts from the end)."""
    if dim == -1:
        return _ew.sqrt((v * v).sum())
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"weight_norm: Dimension out of range (expected to be in range of [-{v.ndim}, "
                         f"{v.ndim - 1}], but got {dim}) for a weight of shape {v.shape}")
    dim %= v.ndim
    axes = tuple(i for i in range(v.ndim) if i != dim)
    return _ew.sqrt((v * v).sum(axis=axes, keepdims=True))


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (the norm over every axis but ``dim``; over all of
    them for ``dim=None``)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got "
                             f"{dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            from ... import random as _random
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.data)
            h, w = weight_mat.shape
            gen = _random.get_generator()
            u = gen.normal(0, 1, h).astype(weight.dtype)
            v = gen.normal(0, 1, w).astype(weight.dtype)
            self.register_buffer("_u", Tensor(self._normalize(u), requires_grad=False))
            self.register_buffer("_v", Tensor(self._normalize(v), requires_grad=False))
            self._power_method(weight_mat, 15)

    def _normalize(self, a):
        return a / max(np.sqrt(np.sum(a * a)), self.eps)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            order = (self.dim, *(d for d in range(weight.ndim) if d != self.dim))
            weight = permute(weight, order) if isinstance(weight, Tensor) else weight.transpose(order)
        return reshape(weight, (weight.shape[0], -1)) if isinstance(weight, Tensor) else weight.reshape(
            weight.shape[0], -1)

    def _power_method(self, weight_mat, n_power_iterations):
        """Refine ``_u`` and ``_v`` in place (no gradient), as PyTorch's."""
        W = weight_mat.data if isinstance(weight_mat, Tensor) else weight_mat
        u, v = self._u.data, self._v.data
        for _ in range(n_power_iterations):
            u[...] = self._normalize(W @ v)
            v[...] = self._normalize(W.conj().T @ u)
        _versions.bump(u, "spectral_norm")
        _versions.bump(v, "spectral_norm")

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = _wrap(self._u.data.copy()), _wrap(self._v.data.copy())
        sigma = (u * matmul(weight_mat, v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize ``module.<name>`` as ``W / sigma(W)``, ``sigma`` the largest singular value estimated by
    ``n_power_iterations`` of power iteration per forward in training mode (``dim``: the output axis, 1 for
    transposed convolutions)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        classes = parametrize.type_before_parametrizations(module).__mro__
        dim = 1 if any(c.__name__.startswith("ConvTranspose") for c in classes) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
