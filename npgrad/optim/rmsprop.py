"""RMSprop and Adagrad, PyTorch's single-tensor updates."""
import numpy as np

from ..sparse import RowSparseGrad
from .optimizer import Optimizer, _warn_f16_eps, check_impl_flags


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g**2``; ``p -= lr * g / (sqrt(v) + eps)`` (centered: ``v - mean(g)**2``),
    with optional momentum and weight decay (Hinton's lecture 6e; torch.optim.RMSprop). ``capturable`` and
    ``foreach`` are recorded as PyTorch records them and do not change the update."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        for name, value in (("learning rate", lr), ("epsilon value", eps), ("momentum value", momentum),
                            ("weight_decay value", weight_decay), ("alpha value", alpha)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))
        check_impl_flags("RMSprop", foreach, None, differentiable)

    def _update(self, p, grad, group, state):
        alpha, lr, eps, momentum = group["alpha"], group["lr"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0.0
            state["square_avg"] = np.zeros_like(p.data)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)
            avg = np.sqrt(square_avg + (-1) * grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            p.data += (-lr) * buf
        else:
            p.data += (-lr) * grad / avg


class Adagrad(Optimizer):
    """``s += g**2``; ``p -= clr * g / (sqrt(s) + eps)`` with ``clr = lr / (1 + (step - 1) * lr_decay)``
    (Duchi et al., 2011; torch.optim.Adagrad). ``foreach`` and ``fused`` are recorded as PyTorch records them
    and do not change the update."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay), ("weight_decay value", weight_decay),
                            ("initial_accumulator_value value", initial_accumulator_value), ("epsilon value", eps)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        check_impl_flags("Adagrad", foreach, fused, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._initial_state(p)

    def _initial_state(self, p):
        """PyTorch's: the accumulator starts at the constructor's ``initial_accumulator_value`` (at construction
        for the groups given then, at the first step for a group added later), never at a group's own value; for
        a complex ``p``, in both parts (PyTorch's ``complex(v, v)``)."""
        init = self.defaults["initial_accumulator_value"]
        return {"step": 0.0, "sum": np.full_like(p.data, complex(init, init) if p.data.dtype.kind == "c" else init)}

    _fused_sparse_error = "`fused` does not support sparse grad or complex param"

    def _sparse_rows(self, group):
        return group["weight_decay"] == 0

    def _update(self, p, grad, group, state):
        if not state:  # a parameter of a group added by add_param_group (of a complex one, its real view)
            state.update(self._initial_state(p))
        if not state["step"] and p.data.dtype == np.float16:   # (its state exists from the start: a first step)
            _warn_f16_eps("Adagrad", group, p, 5)
        state["step"] += 1
        step = state["step"]
        if isinstance(grad, RowSparseGrad):  # PyTorch's sparse Adagrad: the accumulator and rows present only
            clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
            c = grad.coalesce()
            s = state["sum"]
            s[c.indices] += c.values * c.values
            std = np.sqrt(s[c.indices])
            std += group["eps"]
            p.data[c.indices] += (-clr) * c.values / std
            return
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        std = np.sqrt(s)
        std += group["eps"]
        p.data += (-clr) * grad / std
