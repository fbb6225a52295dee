"""Tensor methods under PyTorch's names and PyTorch's keyword spellings (attached in npgrad/ops/__init__.py, in
its issue-14 block): ``dim=`` / ``keepdim=`` aliases, named ``(values, indices)`` results, ``chunk``, ``expand``,
``norm``, softmax methods, ``clamp``, and ``gather`` / ``scatter_add`` accepting both their NumPy-era and their
PyTorch signatures."""
import builtins as _b
import collections as _collections
import functools as _functools

import numpy as np

from ..tensor import _wrap
from ._util import normalize_one_axis
from .elementwise import clip
from .index import scatter_add as _index_scatter_add, take_along_axis
from .norms import norm as _np_norm, vector_norm as _vector_norm
from .dim_index import gather as _gather_dim, scatter_add as _scatter_add_dim
from .shape import astype, broadcast_to


# PyTorch's reductions whose ``dim=()`` / ``dim=[]`` reduces every dim (NumPy's ``axis=()`` reduces none)
_EMPTY_DIM_REDUCES_ALL = {"sum", "mean", "std", "var", "amax", "amin", "nansum", "nanmean"}


def _torch_keywords(fn, name=None):
    """``fn`` also accepting ``dim=`` for ``axis=`` and ``keepdim=`` for ``keepdims=`` (PyTorch's spellings;
    an empty ``dim`` means every dim where PyTorch's reduction takes it so), and std / var ``unbiased=``."""
    where = name or fn.__name__
    empty_is_all = where in _EMPTY_DIM_REDUCES_ALL

    @_functools.wraps(fn)
    def f(*args, **kwargs):
        if "unbiased" in kwargs and where in ("std", "var"):   # PyTorch's older spelling of correction=1 / 0
            if "correction" in kwargs or "ddof" in kwargs:
                raise TypeError(f"{where}(): got both unbiased= and correction= (or ddof=); pass one")
            kwargs["correction"] = 1 if kwargs.pop("unbiased") else 0
        if kwargs and ("dim" in kwargs or "keepdim" in kwargs):
            for torch_kw, np_kw in (("dim", "axis"), ("keepdim", "keepdims")):
                if torch_kw in kwargs:
                    if np_kw in kwargs:
                        raise TypeError(f"{where}(): got both {np_kw}= and its PyTorch spelling {torch_kw}=")
                    value = kwargs.pop(torch_kw)
                    if torch_kw == "dim" and isinstance(value, (tuple, list)):  # PyTorch takes a list as a tuple
                        value = None if empty_is_all and len(value) == 0 else tuple(value)
                    kwargs[np_kw] = value
            if args and kwargs.get("axis") is not None and getattr(args[0], "ndim", None) == 0:
                return _on_0d(fn, where, args, kwargs)
        return fn(*args, **kwargs)
    return f


def _zero_d_dims(dim, where):
    """PyTorch's dims of a 0-d tensor: 0 and -1 (as a 1-D tensor's), as dim 0 of the tensor seen as 1-D."""
    for d in dim if isinstance(dim, tuple) else (dim,):
        if isinstance(d, (int, np.integer)) and d not in (0, -1):
            raise np.exceptions.AxisError(f"{where}: dim {d} is out of range for a 0-d tensor (dims 0 and -1)")
    return tuple(0 if d in (0, -1) else d for d in dim) if isinstance(dim, tuple) else 0


def _on_0d(fn, where, args, kwargs):
    """``fn`` over PyTorch's dim 0 / -1 of a 0-d tensor: over the tensor seen as 1-D, the result back to 0-d."""
    kwargs["axis"] = _zero_d_dims(kwargs["axis"], where)
    out = fn(args[0].reshape(1), *args[1:], **kwargs)
    if isinstance(out, tuple):
        return type(out)(*(o.reshape(()) for o in out)) if hasattr(out, "_fields") else tuple(
            o.reshape(()) for o in out)
    if where in ("quantile", "nanquantile"):   # (one value per q in front: q's shape stays)
        return out.reshape(out.shape[:-1] if kwargs.get("keepdims") else out.shape)
    return out.reshape(())


_ValuesIndices = _collections.namedtuple("values_indices", ["values", "indices"])


def _named_result(fn):
    """``fn`` returning PyTorch's ``(values, indices)`` named tuple (``out.values``, ``out.indices``)."""
    @_functools.wraps(fn)
    def f(*args, **kwargs):
        return _ValuesIndices(*fn(*args, **kwargs))
    return f


def _torch_extreme(fn, arg_fn, take_along_axis, squeeze):
    """``max``/``min`` with NumPy's meaning, except that PyTorch's keyword ``dim=`` gives PyTorch's result: the
    ``(values, indices)`` named tuple, the gradient going to the selected element (``amax`` splits ties).
    So ported code ``v, i = x.max(dim=1)`` is right, never a silent unpacking of the values."""
    @_functools.wraps(fn)
    def f(*args, **kwargs):
        if "dim" not in kwargs:
            return fn(*args, **kwargs)
        if "axis" in kwargs:
            raise TypeError(f"{fn.__name__}(): got both axis= and its PyTorch spelling dim=")
        dim, keepdim = kwargs.pop("dim"), kwargs.pop("keepdim", False)
        if kwargs or len(args) != 1:
            raise TypeError(f"{fn.__name__}(dim=...): PyTorch's form takes the tensor, dim and keepdim only "
                            f"(NumPy's form: axis=, keepdims=)")
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{fn.__name__}(dim={dim!r}): PyTorch's form reduces one dim; for several, use "
                            f"npg.amax / npg.amin (or axis=)")
        x = args[0]
        if x.ndim == 0:  # PyTorch's dim 0 / -1 of a 0-d tensor: the tensor seen as 1-D, the results back to 0-d
            _zero_d_dims(dim, fn.__name__)
            idx = arg_fn(x.reshape(1), axis=0, keepdims=True)
            return _ValuesIndices(take_along_axis(x.reshape(1), idx, 0).reshape(()), idx.reshape(()))
        idx = arg_fn(x, axis=dim, keepdims=True)
        values = take_along_axis(x, idx, dim)
        if not keepdim:
            values, idx = squeeze(values, dim), squeeze(idx, dim)
        return _ValuesIndices(values, idx)
    return f


def gather(x, *args, **kwargs):
    """``gather(input, dim, index)`` as ``torch.gather``; ``gather(x, indices, axis)`` (an index array second)
    is ``take_along_axis``, npgrad's older spelling."""
    if args and not isinstance(args[0], (int, np.integer)):
        return take_along_axis(x, *args, **kwargs)
    return _gather_dim(x, *args, **kwargs)


def scatter_add(x, *args, **kwargs):
    """``scatter_add(input, dim, index, src)`` as ``torch.scatter_add``; ``scatter_add(shape, key, g)`` (a shape
    first) is npgrad's internal helper (zeros of ``shape`` with ``g`` added at ``key``)."""
    if isinstance(x, tuple):
        return _index_scatter_add(x, *args, **kwargs)
    return _scatter_add_dim(x, *args, **kwargs)


def _chunk(self, chunks, dim=0):
    """``chunks`` pieces of (nearly) equal size along ``dim``, as ``torch.chunk``: each ``ceil(n / chunks)``
    long but the last (so there may be fewer than ``chunks``)."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    ax = normalize_one_axis(dim, self.ndim, "chunk")
    n = self.shape[ax]
    size = -(-n // chunks)
    if size == 0:  # an empty dimension: ``chunks`` empty pieces, as PyTorch
        return tuple(self[(slice(None),) * ax + (slice(0, 0),)] for _ in range(chunks))
    lead = (slice(None),) * ax
    return tuple(self[lead + (slice(i, _b.min(i + size, n)),)] for i in range(0, n, size))


def _expand(self, *sizes):
    """Broadcast to ``sizes`` (``-1`` keeps a dimension; new dimensions go in front), as ``torch.expand``: a
    read-only view, no copy."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({self.ndim})")
    target = tuple(s if s != -1 or i < lead else self.shape[i - lead] for i, s in enumerate(sizes))
    if _b.any(s == -1 for s in target):
        raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension ({sizes})")
    return broadcast_to(self, target)


def _norm_method(self, p="fro", dim=None, keepdim=False, dtype=None):
    """PyTorch's ``Tensor.norm``: the ``p``-norm of all elements, or over ``dim`` (``'fro'`` is the 2-norm of
    the elements, ``'nuc'`` the nuclear norm of the matrices in the last two dims or ``dim``)."""
    x = astype(self, dtype) if dtype is not None else self
    if p == "nuc":
        return _np_norm(x, "nuc", axis=tuple(dim) if dim is not None else (-2, -1), keepdims=keepdim)
    if isinstance(p, str) and p != "fro":
        raise RuntimeError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:  # every dim, as PyTorch's
        dim = None
    if x.ndim == 0 and dim is not None:  # PyTorch's dim 0 / -1 of a 0-d tensor: its one element
        _zero_d_dims(tuple(dim) if isinstance(dim, list) else dim, "norm")
        dim = None
    if not isinstance(p, str) and (p < 0 or p == np.inf) and 0 in x.shape:
        _no_identity_norm(p, x.shape, dim)
    return _vector_norm(x, axis=dim, keepdims=keepdim, ord=2 if p == "fro" else p)


def _no_identity_norm(p, shape, dim):
    """PyTorch's error for a max / min norm (``p`` inf, -inf or negative) over no elements: no identity."""
    if dim is None:
        raise RuntimeError(f"norm: cannot compute the {p} norm of an empty tensor (shape {shape}): the operation "
                           f"has no identity")
    for d in (dim,) if isinstance(dim, (int, np.integer)) else dim:
        if shape[normalize_one_axis(d, len(shape), "norm")] == 0:
            raise RuntimeError(f"norm: cannot compute the {p} norm over dim {d}, empty in shape {shape}: the "
                               f"operation has no identity")


def _softmax_method(name):
    def m(self, dim=None, dtype=None):
        from ..nn import functional as F
        return getattr(F, name)(self, dim, dtype=dtype)
    m.__name__ = name
    m.__doc__ = f"``nn.functional.{name}(self, dim)`` (PyTorch's Tensor method)."
    return m


def _clamp(self, min=None, max=None):
    """``clip(self, min, max)`` with PyTorch's keywords; either bound may be None."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return clip(self, min, max)


def _torch_median(fn, ignore_nan):
    """``median`` / ``nanmedian`` with NumPy's meaning, except that PyTorch's keyword ``dim=`` gives PyTorch's
    result: the ``(values, indices)`` named tuple of the lower median along ``dim`` (the ((n + 1) // 2)-th
    smallest; a slice holding a NaN gives NaN for ``median``, and ``nanmedian`` leaves NaNs out), the gradient
    going to the selected element. So ported code ``v, i = npg.median(x, dim=1)`` is right, never a silent
    unpacking of the values (as ``max``/``min``)."""
    name = "nanmedian" if ignore_nan else "median"

    @_functools.wraps(fn)
    def f(*args, **kwargs):
        if "dim" not in kwargs:
            return fn(*args, **kwargs)
        dim = kwargs.pop("dim")
        keepdim = kwargs.pop("keepdim", False)
        if len(args) != 1 or kwargs:
            raise TypeError(f"{name}(dim=...): PyTorch's form takes the tensor, dim and keepdim only")
        from ._util import as_input
        x = as_input(args[0], name)
        if x.ndim == 0:
            _zero_d_dims(dim, name)
            from .arrays import copy   # (a copy, as torch's and as 0-d topk / cummax)
            return _ValuesIndices(copy(x), _wrap(np.zeros((), np.int64)))
        ax = normalize_one_axis(dim, x.ndim, name)
        n = x.shape[ax]
        if n == 0:
            raise IndexError(f"{name}(): cannot compute the median of dimension {dim} of size 0 (shape {x.shape})")
        d = x.data
        order = np.argsort(d, axis=ax, kind="stable")              # NaNs last, in their order
        nan = np.isnan(d) if d.dtype.kind in "fc" else np.zeros(d.shape, bool)
        count = n - nan.sum(axis=ax, keepdims=True)                 # the non-NaN elements of each slice
        if ignore_nan:
            k = np.maximum(count - 1, 0) // 2                       # (all NaN: k = 0, the first NaN)
        else:
            k = np.where(count < n, count, (n - 1) // 2)            # a NaN: the first one
        idx = np.take_along_axis(order, k, axis=ax).astype(np.int64)
        values = take_along_axis(x, idx, ax)
        if not keepdim:
            values, idx = values.squeeze(axis=ax), np.squeeze(idx, axis=ax)
        return _ValuesIndices(values, _wrap(idx))
    return f
