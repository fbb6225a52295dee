"""NumPy's ufunc methods on tensors, spelled with npgrad's ops (so differentiable, to any order, with forward mode):

- ``np.subtract.outer(a, b)`` (any binary ufunc npgrad has): the ufunc of ``a`` reshaped to ``a.shape + (1,) *
  b.ndim`` and ``b``, NumPy's ``a.shape + b.shape`` result;
- ``np.add.reduce(a, axis=0, keepdims=, dtype=, initial=, where=)`` for ``add multiply maximum minimum fmax fmin
  logaddexp logaddexp2 logical_and logical_or`` (``sum prod max min nanmax nanmin logsumexp all any``; NumPy's
  ``axis`` defaults to 0 here, not None);
- ``np.add.accumulate(a, axis=0, dtype=)`` for ``add multiply maximum minimum logaddexp`` (``cumsum cumprod``,
  ``cummax``/``cummin``'s values, ``logcumsumexp``);
- ``np.add.at(a, indices, b)`` / ``np.subtract.at``: ``b`` (broadcast to ``a[indices]``) scatter-added into
  ``a`` in place, repeated indices accumulating as in NumPy; the in-place rules of ``a[key] += v`` (a leaf that
  requires grad refuses).

Any other method or ufunc, or ``out=``, is the TypeError of ``_dispatch.array_ufunc`` naming it. Argument errors
(an axis out of range) are NumPy's own: the call is first made by NumPy on a stand-in of the tensor's shape and
dtype.
"""
import numpy as np

from ..tensor import Tensor
from . import _dispatch
from ._util import as_input

_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min", "fmax": "nanmax",
           "fmin": "nanmin", "logaddexp": "logsumexp", "logaddexp2": "logsumexp", "logical_and": "all",
           "logical_or": "any"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod", "maximum": "cummax", "minimum": "cummin",
               "logaddexp": "logcumsumexp"}
_AT = {"add": 1, "subtract": -1}
_LN2 = float(np.log(2.0))  # a Python float: weak, so float32 stays float32 (NEP 50)


def _npg():
    import npgrad
    return npgrad


def _stand_in(x):
    """Zeros of ``x``'s shape and dtype without memory of that size (NumPy's argument checks run on it)."""
    d = x if isinstance(x, Tensor) else np.asarray(x)   # (a batched tensor: its per-sample shape, data unread)
    return np.broadcast_to(np.zeros((), d.dtype), d.shape)


def outer(ufunc, a, b, **kwargs):
    fn = _dispatch.UFUNCS.get(ufunc)
    if fn is None or ufunc.nin != 2 or kwargs:
        return NotImplemented
    a = as_input(a, f"{ufunc.__name__}.outer")
    return fn(a.reshape(a.shape + (1,) * np.ndim(b)), b)


def reduce(ufunc, a, axis=0, dtype=None, out=None, keepdims=False, **kwargs):
    name = _REDUCE.get(ufunc.__name__)
    if name is None or out is not None or not kwargs.keys() <= {"initial", "where"}:
        return NotImplemented
    where = kwargs.get("where", True)
    np_kw = dict(kwargs, where=where.data if isinstance(where, Tensor) else where)
    ref = ufunc.reduce(_stand_in(a), axis=axis, dtype=dtype, keepdims=keepdims, **np_kw)  # NumPy's errors, dtype
    a = as_input(a, f"{ufunc.__name__}.reduce")
    if dtype is not None and np.dtype(dtype) != a.dtype:
        a = a.astype(dtype)
    if a.ndim == 0:  # (npgrad's reductions take dim 0 of a 0-d tensor; NumPy's ufunc.reduce gives a copy here)
        return a * 1 if name not in ("all", "any") else (a != 0)
    fn = getattr(_npg(), name)
    if name == "logsumexp":
        if kwargs:
            return NotImplemented
        if a.dtype.kind not in "fc":   # NumPy's loop for integers and bool (bool, int8: float16)
            a = a.astype(np.result_type(ref))
        scale = _LN2 if ufunc.__name__ == "logaddexp2" else None
        return fn(a * scale, axis=axis, keepdims=keepdims) / scale if scale else fn(a, axis=axis, keepdims=keepdims)
    return fn(a, axis=axis, keepdims=keepdims, **kwargs)


def accumulate(ufunc, a, axis=0, dtype=None, out=None):
    name = _ACCUMULATE.get(ufunc.__name__)
    if name is None or out is not None:
        return NotImplemented
    ufunc.accumulate(_stand_in(a), axis=axis, dtype=dtype)  # NumPy's errors (a 0-d input, an axis out of range)
    a = as_input(a, f"{ufunc.__name__}.accumulate")
    if dtype is not None and np.dtype(dtype) != a.dtype:
        a = a.astype(dtype)
    if name in ("cumsum", "cumprod"):
        return getattr(_npg(), name)(a, axis=axis)
    r = getattr(_npg(), name)(a, axis)
    return r.values if name != "logcumsumexp" else r


def at(ufunc, a, indices, b=None):
    sign = _AT.get(ufunc.__name__)
    if sign is None or b is None:
        return NotImplemented
    what = f"{ufunc.__name__}.at"
    if not isinstance(a, Tensor):  # an ndarray destination: NumPy's own (a b that requires grad is refused)
        return ufunc.at(a, indices, np.asarray(b))
    from .index import normalize_key, scatter_add
    from .putting import _check_writable
    _check_writable(a, b, what)
    key = normalize_key(indices.data if isinstance(indices, Tensor) else indices)
    bd = b.data if isinstance(b, Tensor) else np.asarray(b)
    probe = np.zeros(a.shape, a.dtype)
    try:
        ufunc.at(probe, indices.data if isinstance(indices, Tensor) else indices, np.zeros_like(bd))
    except (IndexError, ValueError, TypeError) as e:
        raise type(e)(f"{what}: {e} (tensor of shape {a.shape}, values of shape {bd.shape})") from None
    target = _stand_in(a)[key].shape
    b = as_input(b, what)
    if b.dtype != a.dtype:
        b = b.astype(a.dtype)
    delta = scatter_add(a.shape, key, _npg().broadcast_to(b, target))
    if sign > 0:
        a += delta
    else:
        a -= delta


METHODS = {"outer": outer, "reduce": reduce, "accumulate": accumulate, "at": at}
