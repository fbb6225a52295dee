"""``weight_norm`` and ``spectral_norm`` in their parametrization form, as ``torch.nn.utils.parametrizations``.

``weight_norm(m)`` stores ``m.parametrizations.weight.original0`` (the norms ``g``) and ``original1`` (the
directions ``v``); ``spectral_norm(m)`` stores ``m.parametrizations.weight.original`` and the power-iteration
vectors ``m.parametrizations.weight.0._u`` / ``_v`` as buffers: the state dicts have PyTorch's keys, so weights
move both ways. (PyTorch draws the initial ``u``, ``v`` from its own generator; load its state dict to get the
same ones.)
"""
import numpy as np

from ...autograd import versions as _versions
from ...ops import elementwise as _ew
from ...ops.contract import matmul
from ...ops.shape import permute, reshape
from ...tensor import Tensor, _wrap
from .. import functional as F
from ..module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm"]


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
