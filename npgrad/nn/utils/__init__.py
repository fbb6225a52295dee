"""``clip_grad_norm_``, ``clip_grad_value_`` and parameter/vector conversion, as ``torch.nn.utils``; the
submodules ``parametrize``, ``parametrizations`` (``weight_norm``, ``spectral_norm``), ``stateless``
(``functional_call``) and ``rnn`` (packing of variable-length sequences)."""
import math

import numpy as np

from ...autograd import versions as _versions
from ...tensor import Tensor, _wrap
from . import rnn  # noqa: F401


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients in place so that their combined ``norm_type``-norm is at most ``max_norm``.

    As PyTorch: ``coef = min(max_norm / (total_norm + 1e-6), 1)`` multiplies every gradient. Returns the
    total norm (before clipping) as a 0-d Tensor."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not grads:
        return _wrap(np.array(0.0))
    dtype = np.result_type(*grads)
    if norm_type == math.inf:
        norms = [np.max(np.abs(g)) if g.size else np.zeros((), g.dtype) for g in grads]
        total = np.max(np.stack([np.asarray(n, dtype) for n in norms]))
    else:
        norms = [np.sum(np.abs(g) ** norm_type) ** (1.0 / norm_type) if norm_type != 2.0
                 else np.sqrt(np.sum(g * g)) for g in grads]
        total = np.sum(np.stack([np.asarray(n, dtype) for n in norms]) ** norm_type) ** (1.0 / norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           f"so it cannot be clipped. To disable this error and scale the gradients by the "
                           f"non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(max_norm / (float(total) + 1e-6), 1.0)
    for p in _params(parameters):
        if p.grad is not None:
            p.grad = p.grad * np.asarray(coef, dtype=p.grad.dtype)
    return _wrap(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient to ``[-clip_value, clip_value]`` in place."""
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one vector, differentiable in them (as PyTorch's)."""
    from ...ops.shape import concatenate, reshape
    return concatenate([reshape(p, (-1,)) for p in _params(parameters)])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters (in place, outside the graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected npgrad.Tensor, but got: {type(vec).__name__}")
    v = vec.data
    parameters = _params(parameters)  # (once: it may be a generator)
    n_total = sum(p.data.size for p in parameters)
    if v.ndim != 1 or v.size != n_total:
        raise ValueError(f"vector_to_parameters: a vector of {n_total} elements is needed, got shape {v.shape}")
    i = 0
    for p in parameters:
        n = p.data.size
        p.data[...] = v[i:i + n].reshape(p.data.shape)
        _versions.bump(p.data, "vector_to_parameters")
        i += n


from . import parametrizations, parametrize, stateless  # noqa: E402,F401
