"""Adamax, NAdam and RAdam: PyTorch's single-tensor updates, operation by operation (same floats).

Scalar state that PyTorch keeps in a 0-d tensor of its *scalar dtype* (NAdam's ``mu_product``, ASGD's
``eta`` and ``mu``) is rounded the same way here: float64 when npgrad's default dtype is float64, float32
otherwise (PyTorch's ``_get_scalar_dtype``, which follows ``torch.get_default_dtype()``). So npgrad with
the default dtype D matches PyTorch with the default dtype D. The scalar state is stored as Python floats.
"""
import numpy as np

from ..dtypes import get_default_dtype
from .optimizer import Optimizer, check_impl_flags


def scalar_dtype():
    """The dtype PyTorch keeps scalar optimizer state in: float64 iff the default dtype is float64."""
    return np.float64 if get_default_dtype() == np.float64 else np.float32


def as_scalar(value):
    """``value`` rounded to the scalar dtype, as a Python float."""
    return float(scalar_dtype()(value))


def lerp_(a, b, w):
    """``a.lerp_(b, w)`` in place, with PyTorch's two formulas (chosen by ``w < 0.5``)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


def check_common(lr, eps=0.0, betas=(0.0, 0.0), weight_decay=0.0, name="Optimizer", foreach=None, fused=None,
                 differentiable=False):
    """PyTorch's argument checks, then its implementation flags (see ``check_impl_flags``)."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    check_impl_flags(name, foreach, fused, differentiable)


class Adamax(Optimizer):
    """Adam with the infinity norm: ``u = max(beta2 u, |g| + eps)``; ``p -= lr / (1 - beta1**t) * m / u``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_common(lr, eps, betas, weight_decay, "Adamax", foreach, None, differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, p, grad, group, state):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_inf"] = np.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(grad) + group["eps"], out=exp_inf)
        clr = group["lr"] / (1 - beta1 ** state["step"])
        upd = exp_avg * (-clr)
        upd /= exp_inf
        p.data += upd


class NAdam(Optimizer):
    """Adam with Nesterov momentum and the momentum schedule ``mu_t = beta1 (1 - 0.96**(t psi) / 2)``
    (``psi = momentum_decay``); ``decoupled_weight_decay=True`` decays the weights as AdamW (NAdamW)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        check_common(lr, eps, betas, weight_decay, "NAdam", foreach, None, differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    def _update(self, p, grad, group, state):
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0.0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        step = state["step"]
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        sdt = scalar_dtype()
        mu_product = state["mu_product"] = float(sdt(state["mu_product"]) * sdt(mu))  # a 0-d tensor in PyTorch
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq / bias_correction2)
        denom += group["eps"]
        mu_product_next = mu_product * mu_next
        upd = grad * (-lr * (1.0 - mu) / (1.0 - mu_product))
        upd /= denom
        p.data += upd
        upd = exp_avg * ((-lr * mu_next) / (1.0 - mu_product_next))
        upd /= denom
        p.data += upd


class RAdam(Optimizer):
    """Rectified Adam: an SGD-with-momentum step while the variance estimate is unreliable (``rho_t <= 5``),
    then Adam's step scaled by the rectification term. ``decoupled_weight_decay=True`` decays as AdamW."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        check_common(lr, eps, betas, weight_decay, "RAdam", foreach, None, differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, grad, group, state):
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        step = state["step"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = np.sqrt(exp_avg_sq)
            adaptive_lr += group["eps"]
            adaptive_lr = (bias_correction2 ** 0.5) / adaptive_lr
            p.data -= bias_corrected_exp_avg * lr * adaptive_lr * rect
        else:
            p.data -= bias_corrected_exp_avg * lr
