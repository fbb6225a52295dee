"""More losses, as ``torch.nn.functional``: ``kl_div``, ``huber_loss``, ``poisson_nll_loss``,
``gaussian_nll_loss``, ``soft_margin_loss``, ``multilabel_soft_margin_loss``.

Each is composed from differentiable npgrad ops (a handful per loss, run once per step), so gradients
of every order come with them; PyTorch's formulas are followed term by term, including where it clamps
a value without clamping its gradient (``gaussian_nll_loss``'s ``var``).
"""
import math
import warnings

import numpy as np

from ...ops import elementwise as _ew
from ...ops._util import all_values, as_input, batching_rule, div_count, is_batched, number_arg
from ...tensor import Tensor
from .activation_more import logsigmoid
from .loss import _check_reduction, _reduce, _square_branch, _warn_target_size
from ._common import _data, _float_target, _legacy_reduction, _pointwise_target, _target, _with_value

__all__ = ["kl_div", "huber_loss", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss"]


def _float_input(input, name):
    x = as_input(input, name)
    if np.dtype(x.dtype).kind != "f":  # (the dtype, not the values: a batched tensor inside vmap passes)
        raise TypeError(f"{name}: expected a floating point input, got {x.dtype}")
    return x


def _wants_grad(t):
    return isinstance(t, Tensor) and (t._requires_grad or t._extra)


def _xlogx(t):
    """``t * log(t)``, 0 where ``t == 0`` (``torch.xlogy(t, t)``; a target that takes a gradient goes through
    ``xlogy`` itself, whose derivative at 0 is PyTorch's nan, not a finite value)."""
    if _wants_grad(t):
        from ...ops.special import xlogy
        return xlogy(t, t)
    td = _data(t)
    zero = td == 0
    if not zero.any():
        return t * np.log(t)
    return _ew.where(zero, 0, t * _ew.log(_ew.where(zero, 1, t)))


@batching_rule("pointwise_loss")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence ``target * (log(target) - input)`` for log-probabilities ``input``
    (``exp(target) * (target - input)`` with ``log_target=True``). ``reduction='batchmean'`` divides the
    sum by the batch size (the true KL divergence); ``'mean'`` divides by every element, with
    PyTorch's warning."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction, "kl_div")
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=3)  # (the caller's line: past the vmap dispatch wrapper)
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    x = _float_input(input, "kl_div")
    _target(target, x.shape, "kl_div")
    t = target if isinstance(target, Tensor) else np.asarray(target)
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = _xlogx(t) - t * x
    if reduction == "batchmean":   # (float16 sums in float32: a total past 65504 gave inf / inf = NaN)
        half = loss.dtype == np.float16
        total = (loss.astype(np.float32) if half else loss).sum()
        total = total / x.shape[0] if x.ndim else total
        return total.astype(np.float16) if half else total
    return _reduce(loss, reduction)


@batching_rule("pointwise_loss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``, for ``d = input - target``;
    an optional elementwise ``weight`` (of the input's shape) scales each term."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x = _float_input(input, "huber_loss")
    target = _pointwise_target(target, x, "huber_loss")
    _warn_target_size(x.data, _data(target), "huber_loss")
    d = x - target
    ad = _ew.abs(d)
    near, dq = _square_branch(d, ad, delta)
    loss = _ew.where(near, 0.5 * dq * dq, delta * (ad - 0.5 * delta))
    if weight is not None:
        if np.shape(_data(weight)) != x.shape:
            raise ValueError(f"huber_loss: Weights and input must have the same size: weight of shape "
                             f"{np.shape(_data(weight))}, input of shape {x.shape}")
        loss = loss * weight
    return _reduce(loss, reduction)


@batching_rule("pointwise_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of ``target ~ Poisson(rate)``: ``exp(input) - target * input`` for a log rate
    (``log_input=True``), else ``input - target * log(input + eps)``; ``full`` adds the Stirling term
    ``t log t - t + 0.5 log(2 pi t)`` where ``t > 1``."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "poisson_nll_loss")
    _check_reduction(reduction, "poisson_nll_loss")
    x = _float_input(input, "poisson_nll_loss")
    target = _pointwise_target(target, x, "poisson_nll_loss")
    if log_input:
        loss = _ew.exp(x) - target * x
    else:
        loss = x - target * _ew.log(x + eps)
    if full:
        td = _data(target)
        big = td > 1
        # a safe value where the term is masked out; a target that takes a gradient goes in as it is, as in
        # torch, whose gradient is then nan at target == 0 (0 * log 0), not a finite value
        ts = target if _wants_grad(target) else _ew.where(big, target, 2.0)
        with np.errstate(divide="ignore", invalid="ignore"):  # (log 0 where the term is masked out)
            stirling = ts * _ew.log(ts) - ts + 0.5 * _ew.log((2 * math.pi) * ts)
        loss = loss + _ew.where(big, stirling, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target ~ N(input, var)``: ``0.5 (log(var) + (input - target)**2 / var)``
    (+ ``0.5 log(2 pi)`` if ``full``). ``var`` has the input's shape, or one dim less / one dim of size 1
    (homoscedastic), or is a float; it is clamped to ``eps`` for the value, not for the gradient, as PyTorch."""
    eps = number_arg(eps, "gaussian_nll_loss", "eps")
    x = _float_input(input, "gaussian_nll_loss")
    target = _pointwise_target(target, x, "gaussian_nll_loss")
    _target(var, None, "gaussian_nll_loss", "var")
    if isinstance(var, (float, int)):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        var = np.full(x.shape, float(var), dtype=x.dtype)
    if not isinstance(var, Tensor):
        var = np.asarray(var)
    vals = all_values(var)  # (every sample's values inside vmap: the check is on values, the rest on shapes)
    if vals.size and np.any(vals < 0):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    vshape = tuple(var.shape)
    if vshape != x.shape:
        if x.shape[:-1] == vshape:
            var = var.reshape(vshape + (1,))
        elif not (x.ndim == len(vshape) and sum(b for a, b in zip(x.shape, vshape) if a != b) == 1):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size: {vshape} for input of shape {x.shape} "
                             f"(expected the input's shape, the input's shape without its last dim, or one dim "
                             f"of size 1)")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"gaussian_nll_loss: {reduction} is not valid")
    if is_batched(var):  # the value clamped at eps, the gradient var's own (as _with_value)
        v = var + (_ew.maximum(var, eps) - var).detach()
    else:
        v = _with_value(var, np.maximum(_data(var), eps)) if isinstance(var, Tensor) else np.maximum(var, eps)
    d = x - target
    loss = 0.5 * (_ew.log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@batching_rule("pointwise_loss")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for targets in {1, -1}."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "soft_margin_loss")
    _check_reduction(reduction, "soft_margin_loss")
    x = _float_input(input, "soft_margin_loss")
    target = _pointwise_target(target, x, "soft_margin_loss")
    return _reduce(-logsigmoid(x * target), reduction)


@batching_rule("pointwise_loss")
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """One-vs-all logistic loss for multi-label targets in {0, 1}: the per-class binary cross-entropies of
    ``sigmoid(input)``, (optionally weighted,) averaged over the classes (the last dim)."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "multilabel_soft_margin_loss")
    _check_reduction(reduction, "multilabel_soft_margin_loss")
    x = _float_input(input, "multilabel_soft_margin_loss")
    target = _float_target(target, x)
    if x.ndim == 0:
        raise ValueError("multilabel_soft_margin_loss: input must have at least 1 dimension (the classes)")
    if np.shape(_data(target)) != x.shape:
        raise ValueError(f"multilabel_soft_margin_loss: target of shape {np.shape(_data(target))} must match "
                         f"input of shape {x.shape}")
    if weight is not None:  # (checked here, so a bad shape is reported by this loss, not by the product below)
        _target(weight, x.shape, "multilabel_soft_margin_loss", "weight")
    loss = -(target * logsigmoid(x) + (1 - target) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    # torch's class dim is input.dim() - 1 counted from the front: the last dim, unless a weight of more dims
    # than the input broadcast the loss up (then torch sums that dim of the larger loss, and so does this)
    C = x.shape[-1]
    loss = div_count(loss.sum(axis=x.ndim - 1), C)   # (float16: C past 65504 is inf in float16)
    return _reduce(loss, reduction)
