"""Folding an eval-mode batch norm into the preceding convolution or linear layer, as
``torch.nn.utils.fusion``: ``fuse_conv_bn_eval(conv, bn)(x)`` equals ``bn(conv(x))`` in eval mode.

The fused weight and bias are new leaf Parameters in the layer's dtypes (the arithmetic runs in the promoted
dtype of the layer and the batch norm, as PyTorch's); as in PyTorch, a bias made up for a layer without one does
not require grad.
"""
import copy

import numpy as np

from ...tensor import Tensor
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _a(t):
    return None if t is None else (t.data if isinstance(t, Tensor) else np.asarray(t))


def _rg(t):
    return bool(getattr(t, "requires_grad", False)) if isinstance(t, Tensor) else False


def _check_bn(bn, where):
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError(f"{where}: bn.running_mean and bn.running_var must not be None (a batch norm with "
                             f"track_running_stats=False cannot be fused)")


def _bn_params(rm, rv, eps, w, b, n, where):
    rm, rv, w, b = _a(rm), _a(rv), _a(w), _a(b)
    for label, v in (("bn_rv", rv), ("bn_w", w), ("bn_b", b)):
        if v is not None and v.shape != rm.shape:
            raise ValueError(f"{where}: {label} has shape {v.shape}, bn_rm {rm.shape}")
    if rm.ndim != 1 or rm.shape[0] not in (n, 1):
        raise ValueError(f"{where}: the batch norm has {rm.shape} statistics, the layer {n} output features (a "
                         f"grouped transposed convolution, whose weight holds out_channels / groups, cannot be "
                         f"fused, as in PyTorch)")
    w = np.ones_like(rm) if w is None else w
    b = np.zeros_like(rm) if b is None else b
    rsqrt = 1 / np.sqrt(rv + np.asarray(eps, rv.dtype))
    return rm, w, b, rsqrt


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The weight and bias ``(Parameter, Parameter)`` of a convolution equal to ``conv`` followed by the eval-mode
    batch norm of running mean ``bn_rm``, running variance ``bn_rv``, ``bn_eps``, weight ``bn_w`` and bias
    ``bn_b`` (None: 1 and 0). ``transpose``: the weight of a transposed convolution (output channels on axis 1)."""
    w = _a(conv_w)
    if w.ndim < 2:
        raise ValueError(f"fuse_conv_bn_weights: a convolution weight has at least 2 dims, got shape {w.shape}")
    out = w.shape[1] if transpose else w.shape[0]
    rm, bw, bb, rsqrt = _bn_params(bn_rm, bn_rv, bn_eps, bn_w, bn_b, out, "fuse_conv_bn_weights")
    b_dtype = w.dtype if conv_b is None else _a(conv_b).dtype
    b = np.zeros_like(rm) if conv_b is None else _a(conv_b)
    shape = [1, -1] if transpose else [-1, 1]
    fused_w = (w * (bw * rsqrt).reshape(shape + [1] * (w.ndim - 2))).astype(w.dtype)
    fused_b = ((b - rm) * rsqrt * bw + bb).astype(b_dtype)
    return (Parameter(Tensor(fused_w), requires_grad=_rg(conv_w)),
            Parameter(Tensor(fused_b), requires_grad=_rg(conv_b)))


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of the eval-mode convolution ``conv`` with the eval-mode batch norm ``bn`` folded in
    (``transpose=True`` for a ``ConvTranspose``)."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused = copy.deepcopy(conv)
    _check_bn(bn, "fuse_conv_bn_eval")
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The weight and bias ``(Parameter, Parameter)`` of a linear layer equal to ``linear`` followed by the
    eval-mode batch norm (see :func:`fuse_conv_bn_weights`)."""
    w = _a(linear_w)
    if w.ndim != 2:
        raise ValueError(f"fuse_linear_bn_weights: a linear weight has 2 dims, got shape {w.shape}")
    rm, bw, bb, rsqrt = _bn_params(bn_rm, bn_rv, bn_eps, bn_w, bn_b, w.shape[0], "fuse_linear_bn_weights")
    scale = bw * rsqrt  # (as PyTorch's bn_w * rsqrt(bn_rv + bn_eps), rounding included)
    b_dtype = w.dtype if linear_b is None else _a(linear_b).dtype
    b = np.zeros_like(rm) if linear_b is None else _a(linear_b)
    fused_w = w * scale[:, None].astype(w.dtype)
    fused_b = ((b - rm) * scale + bb).astype(b_dtype)
    return (Parameter(Tensor(fused_w), requires_grad=_rg(linear_w)),
            Parameter(Tensor(fused_b), requires_grad=_rg(linear_b)))


def fuse_linear_bn_eval(linear, bn):
    """A copy of the eval-mode ``linear`` with the eval-mode batch norm ``bn`` (``num_features`` equal to
    ``out_features``, or 1) folded in."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused = copy.deepcopy(linear)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    _check_bn(bn, "fuse_linear_bn_eval")
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused
