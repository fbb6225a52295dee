"""The deprecated hook-based ``weight_norm``, as ``torch.nn.utils.weight_norm``: ``module.weight`` becomes the
plain tensor ``weight_v * weight_g / ||weight_v||`` (the norm over every axis but ``dim``), recomputed by a forward
pre-hook from the Parameters ``weight_g`` and ``weight_v`` (PyTorch's state-dict keys). Prefer
``nn.utils.parametrizations.weight_norm``."""
import warnings

import numpy as np

from ...tensor import Tensor
from .. import hooks as _hooks
from ..parameter import Parameter, UninitializedParameter
from .parametrizations import _norm_except_dim

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


class WeightNorm:
    """The forward pre-hook of :func:`weight_norm` on ``module.<name>``."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        """``<name>_v * <name>_g / ||<name>_v||`` (differentiable in both)."""
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module, name, dim):
        """Replace the parameter ``module.<name>`` by ``<name>_g`` and ``<name>_v`` and register the hook."""
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `WeightNorm` can't have uninitialized parameters. Make sure to "
                             "run the dummy forward before applying weight normalization")
        if name not in module._parameters:
            raise TypeError(f"weight_norm: '{name}' of {type(module).__name__} is not a parameter")
        g = _norm_except_dim(Tensor(weight.data, requires_grad=False), fn.dim).data
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(np.array(g, dtype=weight.dtype)))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        """Put back ``module.<name>`` as a Parameter holding the current normalized weight."""
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(np.array(weight.data, copy=True)))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` with the Parameters ``<name>_g`` (the norms over every
    axis but ``dim``; over all axes for ``dim=None``) and ``<name>_v`` (deprecated, with PyTorch's
    FutureWarning: see ``parametrizations.weight_norm``). Returns ``module``."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo :func:`weight_norm`: ``module.<name>`` is a Parameter again (holding the normalized weight)."""
    if not _hooks.remove_pre_hook(module, lambda h: isinstance(h, WeightNorm) and h.name == name):
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    return module
