"""``clip_grad_norm_``, ``clip_grad_value_`` and parameter/vector conversion, as ``torch.nn.utils``; the
batch-norm fusions (``fuse_conv_bn_eval`` ...), ``skip_init``, the deprecated hook-based ``weight_norm`` and
``spectral_norm`` (and their ``remove_*``); the submodules ``parametrize``,
``parametrizations`` (``weight_norm``, ``spectral_norm``), ``prune``, ``stateless`` (``functional_call``) and
``rnn`` (packing of variable-length sequences)."""
import math
import warnings

import numpy as np

from ...autograd import versions as _versions
from ...ops.inplace import read_only as _read_only
from ...tensor import Tensor, _wrap
from . import rnn  # noqa: F401


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors`` (gradients: arrays or Tensors), as a 0-d Tensor, as
    PyTorch's ``get_total_norm``: ``inf`` is the largest absolute value, ``0`` the count of non-zeros."""
    arrays = [np.asarray(t.data if isinstance(t, Tensor) else t) for t in _params(tensors) if t is not None]
    norm_type = float(norm_type)
    if not arrays:
        return _wrap(np.array(0.0))
    dtype = np.result_type(*arrays)
    if dtype.kind == "c":    # the norm of complex gradients is real: of their magnitudes, as PyTorch's
        dtype = np.finfo(dtype).dtype
    elif dtype.kind != "f":
        dtype = np.dtype(np.float64)
    norms = np.stack([np.asarray(_vector_norm(a.ravel(), norm_type), dtype) for a in arrays])
    total = np.asarray(_vector_norm(norms, norm_type), dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           f"so it cannot be clipped. To disable this error and scale the gradients by the "
                           f"non-finite norm anyway, set `error_if_nonfinite=False`")
    return _wrap(total)


def _vector_norm(v, p):
    if v.size == 0:
        if p < 0 or p == math.inf:  # a max or a negative power of |v|: no value for no entries
            raise RuntimeError(f"get_total_norm: cannot compute the {p} norm of an empty gradient (shape "
                               f"{v.shape}): the operation has no identity (PyTorch raises too)")
        return 0.0
    if v.dtype.kind == "c":
        v = np.abs(v)
    if p == 2.0:
        return np.sqrt(np.sum(v * v))
    return np.linalg.norm(v, p)


def _grad_array(p):
    """``p.grad``'s array, to update in place as PyTorch's no-grad in-place ops do: a Tensor gradient (from
    ``backward(create_graph=True)`` or assigned) keeps its identity and its graph; its version is bumped."""
    g = p.grad
    if isinstance(g, Tensor):
        _versions.bump(g.data, "gradient clipping")
        return g.data
    return g


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient in place by ``min(max_norm / (total_norm + 1e-6), 1)`` (computed in the norm's
    dtype, as PyTorch's ``clip_grads_with_norm_``)."""
    total = np.asarray(total_norm.data if isinstance(total_norm, Tensor) else total_norm)
    dt = total.dtype if total.dtype.kind == "f" else np.dtype(np.float64)
    coef = np.minimum(dt.type(float(max_norm)) / (total.astype(dt) + dt.type(1e-6)), dt.type(1.0))
    for p in _params(parameters):
        g = _grad_array(p)
        if g is None:
            continue
        if isinstance(g, np.ndarray) and g.flags.writeable:
            np.multiply(g, coef.astype(g.dtype), out=g)    # in place, as PyTorch's grad.mul_: a view stays one
        else:
            p.grad = g * np.asarray(coef, dtype=g.dtype)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients in place so that their combined ``norm_type``-norm is at most ``max_norm``.

    As PyTorch: ``coef = min(max_norm / (total_norm + 1e-6), 1)`` multiplies every gradient (in place: an
    array held elsewhere, e.g. a DistributedDataParallel bucket view, is scaled too). Returns the total norm
    (before clipping) as a 0-d Tensor: ``get_total_norm`` then ``clip_grads_with_norm_``."""
    parameters = _params(parameters)
    total = get_total_norm([p.grad for p in parameters if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_` (it warns, as PyTorch's)."""
    warnings.warn("`npgrad.nn.utils.clip_grad_norm` is now deprecated in favor of `npgrad.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient to ``[-clip_value, clip_value]`` in place (complex gradients raise, as PyTorch's
    clamp: NumPy would order them lexicographically)."""
    parameters = _params(parameters)   # (once: it may be a generator)
    for p in parameters:
        if p.grad is not None and p.grad.dtype.kind == "c":
            raise RuntimeError("clip_grad_value_: clamp is not supported for complex types")
    for p in parameters:
        g = _grad_array(p)
        if g is None:
            continue
        if getattr(g, "is_sparse", False):  # a RowSparseGrad: clip the rows' sums (repeated rows summed first),
            if clip_value >= 0:             # as the dense gradient it stands for; it stays sparse
                c = g.coalesce()
                p.grad = c.__class__(c.indices, np.clip(c.values, -clip_value, clip_value), c.shape)
            else:                           # (the rows not stored would not stay 0)
                p.grad = np.clip(g.to_dense(), -clip_value, clip_value)
        else:
            np.clip(g, -clip_value, clip_value, out=g)


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
    for k, p in enumerate(parameters):  # (before writing any)
        if not p.data.flags.writeable:
            raise _read_only(p, f"vector_to_parameters (parameter {k})")
    i = 0
    for p in parameters:
        n = p.data.size
        p.data[...] = v[i:i + n].reshape(p.data.shape)
        _versions.bump(p.data, "vector_to_parameters")
        i += n


from . import clip_grad, convert_parameters  # noqa: E402,F401
from . import parametrizations, parametrize, prune, stateless  # noqa: E402,F401
from .fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval,  # noqa: E402,F401
                     fuse_linear_bn_weights)
from .init import skip_init  # noqa: E402,F401
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: E402,F401
from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402,F401
