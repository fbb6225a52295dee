"""Lazy modules, as torch.nn's: ``LazyLinear``, ``LazyConv1d/2d/3d``, ``LazyConvTranspose1d/2d/3d``,
``LazyBatchNorm1d/2d/3d``, ``LazyInstanceNorm1d/2d/3d``, on ``LazyModuleMixin``.

A lazy module holds ``UninitializedParameter`` / ``UninitializedBuffer`` placeholders until its first forward,
which reads the input's feature size, materializes them with the right shapes (in place: an optimizer built on
the placeholders keeps working, as in PyTorch), initializes them as the ordinary layer does (``reset_parameters``)
and turns the module into that layer (``cls_to_become``: ``LazyLinear`` becomes ``Linear``). ``state_dict`` lists
the placeholders under the ordinary layer's keys; ``load_state_dict`` of initialized values materializes them to
the checkpoint's shapes (the class changes at the next forward, as in PyTorch)."""
import itertools

import numpy as np

from ...tensor import _wrap
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .norm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                   _reset_affine)

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """The machinery of lazy modules, as ``torch.nn.modules.lazy.LazyModuleMixin``: a forward pre-hook calls
    ``initialize_parameters(*args, **kwargs)`` on the first call, then removes itself and turns the module into
    ``cls_to_become``; a load-state-dict pre-hook materializes placeholders to the shapes of loaded values."""

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if (is_lazy(p) or keep_vars) else _wrap(p.data)
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if (is_lazy(b) or keep_vars) else _wrap(b.data)

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                        error_msgs):
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            value = state_dict.get(key)
            if value is not None and param is not None and is_lazy(param) and not is_lazy(value):
                param.materialize(tuple(value.shape) if hasattr(value, "shape") else np.shape(value))

    def initialize_parameters(self, *args, **kwargs):
        """Materialize and initialize the parameters from the first input (each lazy module defines it)."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self):
        """Whether a parameter or buffer of this module is still a placeholder."""
        return any(is_lazy(p) for p in itertools.chain(self._parameters.values(), self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with `DataParallel`. Run a dummy "
                           "forward pass to correctly initialize the modules")


def _factory(device, dtype):
    return dict(device=device, dtype=dtype)


# ------------------------------------------------------------------------------------------------------- Linear
class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is read from the first input's last dimension, as ``torch.nn.LazyLinear``
    (it then becomes a ``Linear``, initialized as one)."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False, device=device)
        self.weight = UninitializedParameter(**_factory(device, dtype))
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**_factory(device, dtype))

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        """Materialize ``weight`` (out_features, input.shape[-1]) and ``bias`` and initialize them as Linear."""
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:     # loaded from a state dict: in_features from the loaded weight, as torch
            if input.shape[-1] != self.weight.shape[-1]:
                raise RuntimeError(f"LazyLinear: the in_features inferred from input: {input.shape[-1]} is not equal "
                                   f"to in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


# ---------------------------------------------------------------------------------------------- convolutions
class _LazyConvXdMixin(LazyModuleMixin):
    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        """Materialize the weight and bias from the input's channel count and initialize them as the layer."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError(f"{type(self).__name__}: in_channels ({self.in_channels}) must be divisible by "
                                 f"groups ({self.groups})")
            if self.transposed:
                self.weight.materialize((self.in_channels, self.out_channels // self.groups, *self.kernel_size))
            else:
                self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _get_in_channels(self, input):
        nb = self._n + 1
        if input.ndim not in (nb, nb + 1):
            raise RuntimeError(f"Expected {nb}D (unbatched) or {nb + 1}D (batched) input to {type(self).__name__}, "
                               f"but got input of size: {tuple(input.shape)}")
        return input.shape[1] if input.ndim == nb + 1 else input.shape[0]

    def _lazy_conv_init(self, out_channels, bias, device, dtype):
        self.weight = UninitializedParameter(**_factory(device, dtype))
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(**_factory(device, dtype))


def _lazy_conv(base, doc):
    class LazyConv(_LazyConvXdMixin, base):
        cls_to_become = base

        def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                     padding_mode="zeros", device=None, dtype=None):
            super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                             device=device)
            self._lazy_conv_init(out_channels, bias, device, dtype)
    LazyConv.__name__ = LazyConv.__qualname__ = "Lazy" + base.__name__
    LazyConv.__doc__ = doc
    return LazyConv


def _lazy_conv_transpose(base, doc):
    class LazyConvTranspose(_LazyConvXdMixin, base):
        cls_to_become = base

        def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                     dilation=1, padding_mode="zeros", device=None, dtype=None):
            super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
                             padding_mode, device=device)
            self._lazy_conv_init(out_channels, bias, device, dtype)
    LazyConvTranspose.__name__ = LazyConvTranspose.__qualname__ = "Lazy" + base.__name__
    LazyConvTranspose.__doc__ = doc
    return LazyConvTranspose


_CONV_DOC = ("``{0}`` whose ``in_channels`` is read from the first input (dim 1, or 0 unbatched), as "
             "``torch.nn.Lazy{0}``; it then becomes a ``{0}``, initialized as one.")
LazyConv1d = _lazy_conv(Conv1d, _CONV_DOC.format("Conv1d"))
LazyConv2d = _lazy_conv(Conv2d, _CONV_DOC.format("Conv2d"))
LazyConv3d = _lazy_conv(Conv3d, _CONV_DOC.format("Conv3d"))
LazyConvTranspose1d = _lazy_conv_transpose(ConvTranspose1d, _CONV_DOC.format("ConvTranspose1d"))
LazyConvTranspose2d = _lazy_conv_transpose(ConvTranspose2d, _CONV_DOC.format("ConvTranspose2d"))
LazyConvTranspose3d = _lazy_conv_transpose(ConvTranspose3d, _CONV_DOC.format("ConvTranspose3d"))
for _cls in (LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d):
    _cls.__module__ = __name__


# ------------------------------------------------------------------------------------------------ normalization
class _LazyNormBase(LazyModuleMixin):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__(0, eps, momentum, False, False, device=device, dtype=dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(**_factory(device, dtype))
            if bias:
                self.bias = UninitializedParameter(**_factory(device, dtype))
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**_factory(device, dtype))
            self.running_var = UninitializedBuffer(**_factory(device, dtype))
            self.num_batches_tracked = _wrap(np.array(0, dtype=np.int64))

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            self.reset_running_stats()
            _reset_affine(self)

    def initialize_parameters(self, input):
        """Materialize the affine parameters and running statistics with ``num_features = input.shape[1]`` and
        initialize them (ones, zeros; running mean 0 and variance 1), as PyTorch."""
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                if self.bias is not None:
                    self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


def _lazy_norm(base, doc):
    cls = type("Lazy" + base.__name__, (_LazyNormBase, base), {"cls_to_become": base, "__doc__": doc,
                                                               "__module__": __name__})
    return cls


_NORM_DOC = ("``{0}`` whose ``num_features`` is read from the first input's dim 1, as ``torch.nn.Lazy{0}`` "
             "(``affine`` and ``track_running_stats`` default to True, as there); it then becomes a ``{0}``.")
LazyBatchNorm1d = _lazy_norm(BatchNorm1d, _NORM_DOC.format("BatchNorm1d"))
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, _NORM_DOC.format("BatchNorm2d"))
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, _NORM_DOC.format("BatchNorm3d"))
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, _NORM_DOC.format("InstanceNorm1d"))
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, _NORM_DOC.format("InstanceNorm2d"))
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, _NORM_DOC.format("InstanceNorm3d"))
