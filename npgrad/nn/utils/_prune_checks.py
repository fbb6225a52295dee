"""The checks and norms of npgrad/nn/utils/prune.py (PyTorch's ``_validate_*`` / ``_compute_*`` helpers of
``torch.nn.utils.prune``, with its error messages)."""
import numbers

import numpy as np


def _validate_pruning_amount_init(amount):
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_pruning_amount(amount, tensor_size):
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")


def _validate_structured_pruning(t):
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {tuple(t.shape)} with {t.ndim} dims")


def _compute_nparams_toprune(amount, tensor_size):
    return int(amount) if isinstance(amount, numbers.Integral) else round(amount * tensor_size)


def _validate_pruning_dim(t, dim):
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _compute_norm(t, n, dim):
    """The ``n``-norm of ``t`` over every axis but ``dim`` (``torch.norm(t, p=n, dim=...)``)."""
    axes = tuple(d for d in range(t.ndim) if d != dim % t.ndim)
    a = np.abs(t)
    if n == "fro":
        n = 2
    if n == "nuc":
        if len(axes) != 2:
            raise RuntimeError(f"ln_structured: the nuclear norm needs a 3-d tensor (2 axes to reduce), got shape "
                               f"{tuple(t.shape)}")
        return np.linalg.norm(t, ord="nuc", axis=axes)
    if not isinstance(n, numbers.Real) or isinstance(n, bool):
        raise ValueError(f"ln_structured: n must be a number, inf, -inf, 'fro' or 'nuc', got {n!r}")
    n = float(n)
    if n == np.inf:
        return a.max(axis=axes)
    if n == -np.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(t.dtype)
    with np.errstate(divide="ignore"):
        return (a ** n).sum(axis=axes) ** (1.0 / n)
