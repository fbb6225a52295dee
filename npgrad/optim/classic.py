"""Adadelta, ASGD and Rprop: PyTorch's single-tensor updates, operation by operation (same floats)."""
import numpy as np

from .adam_variants import as_scalar, check_common
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """``v = rho v + (1 - rho) g**2``; ``dx = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho u + (1 - rho) dx**2``; ``p -= lr * dx``."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_common(lr, eps, weight_decay=weight_decay, name="Adadelta", foreach=foreach,
                     differentiable=differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _update(self, p, grad, group, state):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0.0
            state["square_avg"] = np.zeros_like(p.data)
            state["acc_delta"] = np.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        p.data += (-group["lr"]) * delta


class ASGD(Optimizer):
    """Averaged SGD: ``p = p (1 - lambd eta) - eta g``, with the running average ``ax`` of the iterates
    (from step ``t0`` on), ``eta = lr / (1 + lambd lr t)**alpha``. ``eta`` and ``mu`` are rounded to the
    scalar dtype as PyTorch's 0-d state tensors are (see npgrad/optim/adam_variants.py)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_common(lr, weight_decay=weight_decay, name="ASGD", foreach=foreach, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, p, grad, group, state):
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            state["step"] = 0.0
            state["eta"] = as_scalar(lr)
            state["mu"] = 1.0
            state["ax"] = np.zeros_like(p.data)
        state["step"] += 1
        step = state["step"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        eta = state["eta"]
        p.data *= 1 - lambd * eta
        p.data += (-eta) * grad
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (p.data - ax) * state["mu"]
        else:
            ax[...] = p.data
        state["eta"] = as_scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = as_scalar(1 / max(1, step - group["t0"]))


class Rprop(Optimizer):
    """Resilient backpropagation: each weight's step size grows by ``etas[1]`` while its gradient keeps its
    sign and shrinks by ``etas[0]`` when it flips (clamped to ``step_sizes``); ``p -= sign(g) * step``."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        check_common(lr, name="Rprop", foreach=foreach, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, p, grad, group, state):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        if not state:
            state["step"] = 0.0
            state["prev"] = np.zeros_like(p.data)
            state["step_size"] = np.full_like(p.data, group["lr"])
        state["step"] += 1
        prev, step_size = state["prev"], state["step_size"]
        sign = np.sign(grad * prev)
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1)).astype(p.data.dtype, copy=False)
        step_size *= factor
        np.clip(step_size, step_size_min, step_size_max, out=step_size)
        grad = np.where(factor == etaminus, 0, grad).astype(p.data.dtype, copy=False)
        p.data -= np.sign(grad) * step_size
        prev[...] = grad
