"""Muon: PyTorch's ``torch.optim.Muon``, with its Newton-Schulz orthogonalization in bfloat16.

K. Jordan et al., "Muon: An optimizer for hidden layers in neural networks" (2024,
https://kellerjordan.github.io/posts/muon/); the "match_rms_adamw" learning-rate adjustment is from J. Liu et al.,
"Muon is Scalable for LLM Training" (2025, https://arxiv.org/abs/2502.16982). For a 2-D parameter ``p``
with gradient ``G``::

    B = lerp(B, G, 1 - momentum)                          (B = 0 at first)
    M = lerp(G, B, momentum) if nesterov else B
    O = NS(M)                                             (Newton-Schulz, in bfloat16)
    p *= 1 - lr * weight_decay
    p -= adjust(lr, shape) * O
    adjust: sqrt(max(1, A / B)) * lr (None, "original") or 0.2 * sqrt(max(A, B)) * lr ("match_rms_adamw")

``NS`` rounds ``M`` to bfloat16, transposes it if it has more rows than columns, divides it by
``max(||M||_F, eps)`` and runs ``ns_steps`` iterations ``A = X X^T``, ``X = a X + (b A + c A A) X`` with
``(a, b, c) = ns_coefficients``. PyTorch runs this in bfloat16 whatever the parameter's dtype; npgrad does the
same arithmetic in float32 and rounds every result to bfloat16 (round to nearest even) where PyTorch's
bfloat16 tensors are rounded, so the update is PyTorch's: bit for bit on small matrices; on larger ones
PyTorch's bfloat16 GEMM sums its float32 products in another order than NumPy's, and a few percent of the
entries round to the neighbouring bfloat16 (one unit, 2**-8 relative).
"""
import math

import numpy as np

from ..autograd import versions as _versions
from .adam_variants import lerp_
from .optimizer import Optimizer


def to_bfloat16(x):
    """``x`` rounded to bfloat16 (nearest, ties to even) and returned as float32, as ``Tensor.bfloat16()``
    rounds: a float64 goes through float32 first (so it is rounded twice, as PyTorch does)."""
    x = np.asarray(x, dtype=np.float32)
    u = np.ascontiguousarray(x).view(np.uint32)
    r = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    out = r.view(np.float32)
    nan = np.isnan(x)
    if nan.any():
        out = np.where(nan, np.float32(np.nan), out)
    return out


def zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """PyTorch's ``_zeropower_via_newtonschulz`` in emulated bfloat16; returns float32 (bfloat16 values)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in ns_coefficients)
    x = to_bfloat16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:
        x = x.T
    norm = to_bfloat16(np.sqrt(np.sum(x * x, dtype=np.float32)))
    x = to_bfloat16(x / max(norm, to_bfloat16(np.float32(eps))))
    for _ in range(ns_steps):
        gram = to_bfloat16(x @ x.T)
        gram_update = to_bfloat16(b * gram + c * (gram @ gram))   # addmm(gram, gram, gram, beta=b, alpha=c)
        x = to_bfloat16(a * x + gram_update @ x)                  # addmm(x, gram_update, x, beta=a)
    return x.T if tall else x


def adjust_lr(lr, adjust_lr_fn, shape):
    """The learning rate scaled for the update's RMS (PyTorch's ``_adjust_lr``)."""
    A, B = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon (torch.optim.Muon; Jordan et al. 2024): momentum (Nesterov by default), then the update
    orthogonalized by a Newton-Schulz iteration in bfloat16, decoupled weight decay and a shape-dependent
    learning rate. For 2-D parameters only; see the module docstring for the formulas."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.data.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{tuple(p.data.shape)}")

    def step(self, closure=None):
        """One Muon update of every parameter with a gradient; ``closure`` re-evaluates the loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            todo = []
            for p, g, state in self._with_grads(group, complex_ok=False, sparse_ok=False):
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = np.zeros(np.shape(g), dtype=p.data.dtype)
                todo.append((p, np.asarray(g), state))
            lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
            for p, grad, state in todo:
                if grad.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
                buf = state["momentum_buffer"]
                lerp_(buf, grad, 1 - momentum)
                if group["nesterov"]:
                    update = np.array(grad, dtype=p.data.dtype, copy=True)
                    lerp_(update, buf, momentum)
                else:
                    update = buf
                ortho = zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"],
                                                   group["eps"])
                adjusted_lr = adjust_lr(lr, group["adjust_lr_fn"], p.data.shape)
                p.data *= 1 - lr * wd
                p.data += ortho.astype(p.data.dtype) * (-adjusted_lr)
                _versions.bump(p.data, "Muon.step")
        return loss
