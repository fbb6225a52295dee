"""PyTorch's sorting and selection spellings (attached by ops/torch_more.py): the keywords ``x.sort(dim=,
descending=, stable=)`` (then torch's ``(values, indices)``, as ``x.max(dim=)``) and ``x.argsort(dim=, descending=,
stable=)`` / ``npg.argsort(x, dim=, descending=)``; ``x.unique(...)`` as ``torch.unique`` (``npg.unique`` stays
NumPy's); ``npg.mode`` / ``x.mode`` as ``torch.mode``."""
import collections as _collections

import numpy as np

from ._util import as_input, batching_rule, normalize_one_axis

__all__ = ["mode"]


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
    ax = -1 if dim is None else dim
    if self.ndim == 0:   # PyTorch's dims 0 / -1 of a 0-d tensor
        if ax not in (0, -1):
            raise np.exceptions.AxisError(f"sort: dim {ax} is out of range for a 0-d tensor (dims 0 and -1)")
        return ValuesIndices(self * 1, _npg().zeros((), dtype=np.int64, requires_grad=False))
    idx = argsort_stable(self, ax, descending=bool(descending))
    return ValuesIndices(_npg().take_along_axis(self, idx.data, ax), idx)


def _unique_method(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """``torch.unique`` of the tensor: the sorted unique values (rows along ``dim``), and ``inverse`` (the input's
    shape when ``dim`` is None) and ``counts`` when asked (``npg.unique`` stays NumPy's)."""
    from .nondiff import unique
    out = unique(self, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
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
