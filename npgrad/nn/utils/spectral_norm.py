"""The hook-based ``spectral_norm``, as ``torch.nn.utils.spectral_norm``: ``module.weight`` becomes the plain
tensor ``weight_orig / sigma``, ``sigma`` the largest singular value of ``weight_orig`` (as a matrix with ``dim``
first) estimated by power iteration with the buffers ``weight_u`` and ``weight_v``, refined in place at each
forward in training mode (PyTorch's state-dict keys and ``spectral_norm`` version metadata, so state dicts move
both ways). The initial ``u``, ``v`` are drawn from npgrad's generator: load PyTorch's state dict to get its
ones. Prefer ``nn.utils.parametrizations.spectral_norm``."""
import numpy as np

from ...autograd import versions as _versions
from ...ops.contract import matmul
from ...ops.shape import permute, reshape
from ...tensor import Tensor
from .. import hooks as _hooks
from ..parameter import Parameter, UninitializedParameter

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook", "spectral_norm",
           "remove_spectral_norm"]


def _const(a):
    return Tensor(np.ascontiguousarray(a), requires_grad=False)


class SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm` on ``module.<name>``."""

    _version = 1

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        """``weight`` with ``dim`` moved first, flattened to ``(size(dim), -1)`` (a Tensor or an array)."""
        order = (self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        if isinstance(weight, Tensor):
            w = permute(weight, order) if self.dim != 0 else weight
            return reshape(w, (w.shape[0], -1))
        w = np.transpose(weight, order) if self.dim != 0 else weight
        return w.reshape(w.shape[0], -1)

    def _normalize(self, a):
        return a / max(np.sqrt(np.sum(a * a)), self.eps)

    def compute_weight(self, module, do_power_iteration):
        """``<name>_orig / sigma`` (differentiable in ``<name>_orig``), after ``n_power_iterations`` refining
        ``<name>_u`` and ``<name>_v`` in place if ``do_power_iteration``."""
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            W = weight_mat.data
            for _ in range(self.n_power_iterations):
                v.data[...] = self._normalize(W.T @ u.data)
                u.data[...] = self._normalize(W @ v.data)
            _versions.bump(u.data, "spectral_norm")
            _versions.bump(v.data, "spectral_norm")
        u, v = _const(u.data.copy()), _const(v.data.copy())
        sigma = (u * matmul(weight_mat, v)).sum()
        return weight / sigma

    def remove(self, module):
        """Put back ``module.<name>`` as a Parameter holding the current normalized weight."""
        weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(np.array(weight.data, copy=True)))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat, u, target_sigma):
        v = np.linalg.pinv(weight_mat.T @ weight_mat) @ weight_mat.T @ u
        return v * (target_sigma / (u @ (weight_mat @ v)))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        """Move the parameter ``module.<name>`` to ``<name>_orig``, add the buffers ``<name>_u`` and ``<name>_v``
        and register the hooks."""
        from ... import random as _random
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        if name not in module._parameters:
            raise KeyError(f"spectral_norm: '{name}' is not a parameter of {type(module).__name__}")
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized parameters. Make sure to "
                             "run the dummy forward before applying spectral normalization")
        if not -weight.ndim <= dim < max(weight.ndim, 1):
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of shape {tuple(weight.shape)}")
        fn.dim = dim % max(weight.ndim, 1)
        h, w = fn.reshape_weight_to_matrix(weight.data).shape
        gen = _random.get_generator()
        u = fn._normalize(gen.normal(0, 1, h).astype(weight.dtype))
        v = fn._normalize(gen.normal(0, 1, w).astype(weight.dtype))
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, _const(weight.data))
        module.register_buffer(fn.name + "_u", _const(u))
        module.register_buffer(fn.name + "_v", _const(v))
        module.register_forward_pre_hook(fn)
        _hooks.register(module._state_dict_hooks, SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Converts a state dict of a version-0 spectral norm (``weight`` stored, no ``weight_v``), as PyTorch's."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is None or version < 1:
            weight_key = prefix + fn.name
            if version is None and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v")) and \
                    weight_key not in state_dict:
                return
            has_missing_keys = False
            for suffix in ("_orig", "", "_u"):
                key = weight_key + suffix
                if key not in state_dict:
                    has_missing_keys = True
                    if strict:
                        missing_keys.append(key)
            if has_missing_keys:
                return
            weight_orig = np.asarray(state_dict[weight_key + "_orig"])
            weight = np.asarray(state_dict.pop(weight_key))
            sigma = (weight_orig / weight).mean()
            weight_mat = fn.reshape_weight_to_matrix(weight_orig)
            u = np.asarray(state_dict[weight_key + "_u"])
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, u, sigma)


class SpectralNormStateDictHook:
    """Records ``{"<name>.version": 1}`` in the state dict's ``spectral_norm`` metadata, as PyTorch's."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata):
        if "spectral_norm" not in local_metadata:
            local_metadata["spectral_norm"] = {}
        key = self.fn.name + ".version"
        if key in local_metadata["spectral_norm"]:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        local_metadata["spectral_norm"][key] = self.fn._version


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Normalize ``module.<name>`` by its largest singular value, estimated by ``n_power_iterations`` of power
    iteration per forward in training mode (``dim``: the output axis, by default 1 for transposed convolutions
    and 0 otherwise). Returns ``module``."""
    if dim is None:
        from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` is a Parameter again (holding the normalized weight)."""
    if not _hooks.remove_pre_hook(module, lambda h: isinstance(h, SpectralNorm) and h.name == name):
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    for k, hook in module._state_dict_hooks.items():
        if isinstance(hook, SpectralNormStateDictHook) and hook.fn.name == name:
            del module._state_dict_hooks[k]
            break
    for k, hook in module._load_state_dict_pre_hooks.items():
        if isinstance(hook, SpectralNormLoadStateDictPreHook) and hook.fn.name == name:
            del module._load_state_dict_pre_hooks[k]
            break
    return module
