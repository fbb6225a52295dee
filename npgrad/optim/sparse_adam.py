"""SparseAdam: PyTorch's ``torch.optim.SparseAdam``, the lazy Adam for row-sparse gradients.

Only the rows present in the gradient (a :class:`npgrad.sparse.RowSparseGrad`, from ``Embedding(sparse=True)``)
move, and only their moments are updated (Kingma & Ba, "Adam", ICLR 2015, applied lazily; torch.optim.SparseAdam).
For the rows ``r`` of the coalesced gradient ``g`` (repeated rows summed), with ``t`` the step count::

    m[r] += (1 - beta1) (g - m[r]);   v[r] += (1 - beta2) (g**2 - v[r])
    p[r] -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m[r] / (sqrt(v[r]) + eps)

The other rows, and their moments, stay as they are (unlike Adam on the densified gradient). A dense gradient
raises PyTorch's error, as do complex parameters.
"""
import math

import numpy as np

from ..autograd import versions as _versions
from ..sparse import RowSparseGrad
from .optimizer import Optimizer


class SparseAdam(Optimizer):
    """Lazy Adam for sparse gradients (torch.optim.SparseAdam): the moments and parameters of the rows present in
    the gradient only. See the module docstring for the formulas."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, p in enumerate(group["params"]) if p.data.dtype.kind == "c"]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             f"parameters")

    def step(self, closure=None):
        """One lazy Adam update of the rows present in each parameter's sparse gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            todo = []
            for p, g, state in self._with_grads(group):
                if not isinstance(g, RowSparseGrad):
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                state["step"] += 1
                todo.append((p, g, state))
            beta1, beta2 = group["betas"]
            for p, grad, state in todo:
                if group.get("maximize", False):
                    grad = -grad
                grad = grad.coalesce()
                rows, values = grad.indices, np.asarray(grad.values, dtype=p.data.dtype)
                if values.size == 0:
                    continue
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                old_exp_avg = exp_avg[rows]
                exp_avg_update = (values - old_exp_avg) * (1 - beta1)
                exp_avg[rows] += exp_avg_update
                old_exp_avg_sq = exp_avg_sq[rows]
                exp_avg_sq_update = (values ** 2 - old_exp_avg_sq) * (1 - beta2)
                exp_avg_sq[rows] += exp_avg_sq_update
                numer = exp_avg_update + old_exp_avg
                denom = np.sqrt(exp_avg_sq_update + old_exp_avg_sq)
                denom += group["eps"]
                step = state["step"]
                step_size = group["lr"] * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                p.data[rows] += (-step_size) * (numer / denom)
                _versions.bump(p.data, "SparseAdam.step")
        return loss
