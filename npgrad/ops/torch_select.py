"""PyTorch's sorting and selection spellings (attached by ops/torch_more.py): the keywords ``x.sort(dim=,
descending=, stable=)`` (then torch's ``(values, indices)``, as ``x.max(dim=)``) and ``x.argsort(dim=, descending=,
stable=)`` / ``npg.argsort(x, dim=, descending=)``; ``x.unique(...)`` as ``torch.unique`` (``npg.unique`` stays
NumPy's); ``npg.mode`` / ``x.mode`` as ``torch.mode``; ``index_put`` / ``x.index_put_``."""
import collections as _collections

import numpy as np

from ._util import as_input, batching_rule, normalize_one_axis

__all__ = ["mode", "index_put"]


def _npg():
    import npgrad
    return npgrad


def _argsort(a, axis=-1, kind=None, order=None, *, dim=None, descending=False, stable=None):
    """``np.argsort``, also with PyTorch's keywords ``dim=`` / ``descending=`` / ``stable=`` (the order is stable
    then, ties in their original order, as ``torch.argsort(stable=True)``)."""
    from .nondiff import argsort as np_argsort
    from .sorting import argsort_stable
    if dim is None and not descending and stable is None:
        return np_argsort(a, axis, kind=kind, order=order)
    if kind is not None or order is not None:
        raise TypeError("argsort: kind= / order= (NumPy's) cannot be combined with PyTorch's dim= / descending= / "
                        "stable=")
    if dim is not None and axis != -1:
        raise TypeError("argsort(): got both axis= and its PyTorch spelling dim=")
    return argsort_stable(a, axis if dim is None else dim, descending=bool(descending))


ValuesIndices = _collections.namedtuple("sort", ["values", "indices"])


def _sort_method(self, axis=-1, kind=None, order=None, *, dim=None, descending=None, stable=None):
    """NumPy's ``sort`` (the sorted values); with PyTorch's keyword ``dim=``, ``descending=`` or ``stable=``,
    PyTorch's ``(values, indices)`` named tuple (so ``v, i = x.sort(descending=True)`` is right, never a silent
    unpacking of the values), the gradient going to each value's original position."""
    from .sorting import argsort_stable, sort
    if dim is None and descending is None and stable is None:
        return sort(self, axis=axis, kind=kind, order=order)
    if kind is not None or order is not None:
        raise TypeError("sort: kind= / order= (NumPy's) cannot be combined with PyTorch's dim= / descending= / "
                        "stable=")
    if dim is not None and axis != -1:
        raise TypeError("sort(): got both axis= and its PyTorch spelling dim=")
    ax = axis if dim is None else dim   # (x.sort(0, descending=True): torch's dim given by position)
    if self.ndim == 0:   # PyTorch's dims 0 / -1 of a 0-d tensor
        if ax not in (0, -1):
            raise np.exceptions.AxisError(f"sort: dim {ax} is out of range for a 0-d tensor (dims 0 and -1)")
        return ValuesIndices(self * 1, _npg().zeros((), dtype=np.int64, requires_grad=False))
    # (two batchable ops, vmap-safe: the values are the stable sort's, whose permutation is ``indices``)
    return ValuesIndices(sort(self, axis=ax, descending=bool(descending)),
                         argsort_stable(self, ax, descending=bool(descending)))


def _unique_method(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """``torch.unique`` of the tensor: the sorted unique values (rows along ``dim``), and ``inverse`` (the input's
    shape when ``dim`` is None) and ``counts`` when asked (``npg.unique`` stays NumPy's)."""
    from .nondiff import unique
    kw = {} if dim is not None else {"equal_nan": False}   # torch keeps every NaN apart (NaN != NaN)
    out = unique(self, return_inverse=return_inverse, return_counts=return_counts, axis=dim, **kw)
    if not (return_inverse or return_counts):
        return out
    out = list(out)
    if return_inverse:
        inv = out[1]
        out[1] = inv.reshape(self.shape) if dim is None else inv.reshape(-1)
    return tuple(out)


Mode = _collections.namedtuple("mode", ["values", "indices"])


def _mode_indices(rows):
    """Per row: the index of the last occurrence of the most frequent value (the smallest among equally frequent
    ones), as torch.mode on the CPU."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    for r, row in enumerate(rows):
        values, counts = np.unique(row, return_counts=True)
        v = values[np.argmax(counts)]     # the first (smallest) value of the largest count
        out[r] = row.shape[0] - 1 - np.flatnonzero(row[::-1] == v)[0] if v == v else np.flatnonzero(row != row)[0]
    return out


@batching_rule("topk")
def mode(x, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the index of its last
    occurrence, as ``torch.mode``: ``(values, indices)``; the gradient goes to that element."""
    npg = _npg()
    x = as_input(x, "mode")
    if x.ndim == 0:
        normalize_one_axis(dim, 1, "mode")
        return Mode(x * 1, npg.zeros((), dtype=np.int64, requires_grad=False))
    ax = normalize_one_axis(dim, x.ndim, "mode")
    if x.shape[ax] == 0:
        raise IndexError(f"mode: expected a non-empty dim {dim}, got shape {x.shape}")
    moved = np.moveaxis(x.data, ax, -1)
    idx = _mode_indices(moved.reshape(-1, moved.shape[-1])).reshape(moved.shape[:-1])
    idx = np.expand_dims(idx, ax)
    values = npg.take_along_axis(x, idx, ax)
    if not keepdim:
        values, idx = npg.squeeze(values, ax), np.squeeze(idx, ax)
    return Mode(values, npg.tensor(idx, requires_grad=False))


def index_put(self, indices, values, accumulate=False):
    """``self`` with ``values`` written at the index tuple ``indices`` (integer or bool index tensors over the
    leading dims, broadcast together), added there with ``accumulate=True`` (repeated indices add up), as
    ``torch.index_put``: an ``index_copy`` / ``index_add`` on the indexed dims flattened, so differentiable in both."""
    from ..tensor import Tensor
    npg = _npg()
    idx = []
    for i in (indices if isinstance(indices, (tuple, list)) else (indices,)):
        arr = np.asarray(i.data if isinstance(i, Tensor) else i)
        if arr.dtype == bool:
            idx.extend(np.nonzero(arr))
        elif arr.dtype == np.uint8:   # torch reads it as a deprecated mask, never as positions
            raise IndexError("index_put: a uint8 index tensor is ambiguous (torch treats it as a deprecated mask); "
                             "give a bool mask or int64 indices")
        elif arr.dtype.kind in "iu":
            idx.append(arr.astype(np.int64))
        else:
            raise IndexError(f"index_put: indices must be integer or bool tensors, got dtype {arr.dtype}")
    shape = tuple(self.shape)
    if not idx or len(idx) > len(shape):
        raise IndexError(f"index_put: {len(idx)} index tensors for a tensor of shape {shape} (1 to {len(shape)})")
    lead, rest = shape[:len(idx)], shape[len(idx):]
    try:
        idx = np.broadcast_arrays(*idx)
    except ValueError:
        raise IndexError("index_put: index shapes " + ", ".join(str(i.shape) for i in idx) + " do not broadcast") \
            from None
    for d, (i, n) in enumerate(zip(idx, lead)):
        if i.size and (i.min() < -n or i.max() >= n):
            raise IndexError(f"index_put: index {int(i.min() if i.min() < -n else i.max())} is out of bounds for "
                             f"dim {d} of size {n} (shape {shape})")
    flat = np.ravel_multi_index(tuple(i % n for i, n in zip(idx, lead)), lead).reshape(-1)
    if isinstance(values, Tensor):
        if values.dtype != self.dtype:
            raise TypeError(f"index_put: values of dtype {values.dtype} into a tensor of dtype {self.dtype}; "
                            "index_put requires the two dtypes to match (as torch)")
    else:
        values = npg.tensor(np.asarray(values, dtype=self.dtype), requires_grad=False)
    target = idx[0].shape + rest
    try:
        np.broadcast_shapes(tuple(values.shape), target)
    except ValueError:
        raise ValueError(f"index_put: values of shape {tuple(values.shape)} do not broadcast to the indexed shape "
                         f"{target}") from None
    vals = npg.broadcast_to(values, target).reshape((flat.size,) + rest)
    base = self.reshape((int(np.prod(lead, dtype=np.int64)),) + rest)
    out = base.index_add(0, flat, vals) if accumulate else base.index_copy(0, flat, vals)
    return out.reshape(shape)
