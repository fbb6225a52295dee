"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's update)."""
import numpy as np

from ..sparse import RowSparseGrad
from .optimizer import Optimizer, check_impl_flags


class SGD(Optimizer):
    """``buf = momentum * buf + (1 - dampening) * g`` (the first step takes ``buf = g``);
    ``p -= lr * (g + momentum * buf if nesterov else buf)``; ``g`` includes ``weight_decay * p``
    (torch.optim.SGD; Nesterov momentum after Sutskever et al., 2013). ``foreach`` and ``fused`` are recorded
    as PyTorch records them and do not change the update (``optimizer.check_impl_flags``)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)
        check_impl_flags("SGD", foreach, fused, differentiable)

    _fused_sparse_error = "`_fused_sgd` does not support sparse gradients"

    def _sparse_rows(self, group):
        return group["momentum"] == 0 and group["weight_decay"] == 0

    def _update(self, p, grad, group, state):
        wd, momentum, lr = group["weight_decay"], group["momentum"], group["lr"]
        if isinstance(grad, RowSparseGrad):  # only the rows present move (lr * 0 leaves the others as they are)
            c = grad.coalesce()
            p.data[c.indices] += (-lr) * c.values
            return
        if wd != 0:
            grad = grad + wd * p.data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, dtype=p.data.dtype, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data += (-lr) * grad
