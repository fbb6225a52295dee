"""Adam and AdamW (with amsgrad), PyTorch's single-tensor update step by step."""
import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_impl_flags


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015; torch.optim.Adam): ``m = beta1 m + (1 - beta1) g``,
    ``v = beta2 v + (1 - beta2) g**2``, ``p -= lr / (1 - beta1**t) * m / (sqrt(v / (1 - beta2**t)) + eps)``
    (amsgrad: the running maximum of ``v``). ``weight_decay`` adds ``wd * p`` to the gradient (L2);
    ``decoupled_weight_decay=True`` (PyTorch 2.6+) decays the weights instead, ``p *= 1 - lr * wd``: AdamW
    (Loshchilov & Hutter, 2019). ``foreach``, ``capturable``, ``fused`` are recorded as PyTorch records them
    and do not change the update (``optimizer.check_impl_flags``)."""

    _name = "Adam"
    _fused_sparse_error = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if isinstance(lr, Tensor) and foreach and not capturable:  # PyTorch's multi-tensor kernel takes no Tensor lr
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))
        check_impl_flags(self._name, foreach, fused, differentiable)

    def _update(self, p, grad, group, state):
        beta1, beta2 = group["betas"]
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        w = 1 - beta1                       # exp_avg.lerp_(grad, 1 - beta1)
        if w < 0.5:
            exp_avg += w * (grad - exp_avg)
        else:
            exp_avg[...] = grad - (grad - exp_avg) * (1 - w)
        exp_avg_sq *= beta2                 # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = np.sqrt(state["max_exp_avg_sq"])
        else:
            denom = np.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += eps
        upd = exp_avg * (-step_size)        # param.addcdiv_(exp_avg, denom, value=-step_size)
        upd /= denom
        p.data += upd


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    _name = "AdamW"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        """As Adam's; the groups stay decoupled (PyTorch's AdamW sets ``decoupled_weight_decay=True`` on load)."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
