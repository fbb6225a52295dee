"""Adafactor: PyTorch's ``torch.optim.Adafactor`` (single-tensor update), operation by operation.

Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost", ICML 2018
(https://arxiv.org/abs/1804.04235), in the form PyTorch implements (no first moment, relative step size,
update clipping ``d``, decoupled weight decay). For a gradient ``G`` at step ``t``::

    beta2_hat = 1 - t ** beta2_decay                      (so 1 - beta2_hat = t ** beta2_decay)
    rho_t     = min(lr, 1 / sqrt(t))
    alpha_t   = max(eps2, RMS(p)) * rho_t
    p        *= 1 - lr * weight_decay
    # p with 2 or more dimensions: second moment factored over the last two dimensions
    R = lerp(R, mean(G**2, dim=-1), t ** beta2_decay);  C = lerp(C, mean(G**2, dim=-2), t ** beta2_decay)
    V = R @ C / max(mean(R, dim=-2), eps1)
    # p with fewer dimensions: V = lerp(V, G**2, t ** beta2_decay)
    U = G / sqrt(max(V, eps1**2))
    p -= alpha_t / max(1, RMS(U) / d) * U

``eps1=None`` is the machine epsilon of the parameter's dtype (PyTorch takes it from the first parameter with
a gradient in the group and keeps it for the rest of the group; so does npgrad). Complex parameters and sparse
gradients raise PyTorch's errors.
"""
import numpy as np

from ..autograd import versions as _versions
from .adam_variants import lerp_
from .optimizer import Optimizer


class Adafactor(Optimizer):
    """Adafactor (torch.optim.Adafactor; Shazeer & Stern 2018): factored second moments for parameters of two
    or more dimensions, relative step size ``min(lr, 1/sqrt(t)) * max(eps2, RMS(p))``, update clipping at
    ``RMS(U) <= d``, decoupled weight decay. See the module docstring for the formulas."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def step(self, closure=None):
        """One Adafactor update of every parameter with a gradient; ``closure`` re-evaluates the loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            todo = []
            for p, g, state in self._with_grads(group, complex_ok=False, sparse_ok=False):
                if not state:
                    state["step"] = 0.0
                    g = np.asarray(g)
                    if g.ndim > 1:
                        state["row_var"] = np.zeros(g.shape[:-1] + (1,), dtype=p.data.dtype)
                        state["col_var"] = np.zeros(g.shape[:-2] + (1, g.shape[-1]), dtype=p.data.dtype)
                    else:
                        state["variance"] = np.zeros(g.shape, dtype=p.data.dtype)
                todo.append((p, g, state))
            eps1, eps2 = group["eps"]
            for p, g, state in todo:
                if eps1 is None:  # PyTorch: set by the first parameter, kept for the rest of the group
                    eps1 = float(np.finfo(p.data.dtype).eps)
                self._update_one(p, np.asarray(g), group, state, eps1, eps2)
                _versions.bump(p.data, "Adafactor.step")
        return loss

    @staticmethod
    def _update_one(p, grad, group, state, eps1, eps2):
        lr, wd, d = group["lr"], group["weight_decay"], group["d"]
        dtype = p.data.dtype
        grad = -grad if group["maximize"] else grad
        state["step"] += 1
        step = float(state["step"])
        one_minus_beta2_t = step ** group["beta2_decay"]
        rho_t = min(lr, 1 / (step ** 0.5))
        alpha = max(eps2, float(np.linalg.norm(p.data.ravel())) / (p.data.size ** 0.5)) * rho_t
        if wd != 0:
            p.data *= 1 - lr * wd
        if grad.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_mean = np.sqrt(np.sum(grad * grad, axis=-1, keepdims=True)) ** 2 / grad.shape[-1]
            lerp_(row_var, row_mean.astype(dtype, copy=False), one_minus_beta2_t)
            col_mean = np.sqrt(np.sum(grad * grad, axis=-2, keepdims=True)) ** 2 / grad.shape[-2]
            lerp_(col_var, col_mean.astype(dtype, copy=False), one_minus_beta2_t)
            var_estimate = row_var @ col_var
            var_estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]
            if not isinstance(variance, np.ndarray):  # a 0-d state loaded as a number
                variance = state["variance"] = np.asarray(variance, dtype=dtype)
            lerp_(variance, grad * grad, one_minus_beta2_t)
            var_estimate = variance.copy()
        update = 1 / np.sqrt(np.maximum(var_estimate, eps1 * eps1))
        update = (update * grad).astype(dtype, copy=False)
        denom = max(1.0, float(np.linalg.norm(update.ravel())) / ((update.size ** 0.5) * d))
        p.data += update * (-alpha / denom)
