"""``default_collate`` and ``default_convert`` of ``torch.utils.data`` (re-exported by ``npgrad.data``): how a
``DataLoader`` merges samples into a batch, or converts one sample when batching is off."""
import collections.abc
import copy

import numpy as np

from .autograd.grad_mode import is_grad_enabled
from .tensor import Tensor, _wrap


def _array(x):
    """``x``'s array: a Tensor's data, else ``np.asarray(x)``."""
    if isinstance(x, Tensor):
        return x.data
    return np.asarray(x)


def default_collate(items):
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``: arrays, Tensors and
    numbers into one Tensor (Python floats float64, ints int64; in the samples' graph when some require grad, as
    ``torch.stack``); mappings key by key and mutable sequences
    (lists) element by element, keeping their type as PyTorch does (a copy of the first sample, filled in);
    named tuples field by field (same type), other tuples into a list of batched fields; strings left as they
    come (the batch itself, so a string field of tuples or lists comes back as a tuple, as in PyTorch)."""
    first = items[0]
    if isinstance(first, (str, bytes)):
        return items
    if isinstance(first, collections.abc.Mapping):
        try:
            if isinstance(first, collections.abc.MutableMapping):
                clone = copy.copy(first)
                clone.update({k: default_collate([it[k] for it in items]) for k in first})
                return clone
            return type(first)({k: default_collate([it[k] for it in items]) for k in first})
        except TypeError:  # (a mapping type that cannot be built from a dict, as PyTorch)
            return {k: default_collate([it[k] for it in items]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):     # a namedtuple keeps its type
        return type(first)(*(default_collate(field) for field in zip(*items)))
    if isinstance(first, collections.abc.Sequence):
        if any(len(it) != len(first) for it in items):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*items))
        if isinstance(first, tuple):
            return [default_collate(field) for field in transposed]     # (PyTorch: a list for tuples)
        return _like_sequence(first, [default_collate(field) for field in transposed])
    arrays = [_array(it) for it in items]
    for a in arrays:   # (every sample's: a string or datetime among numbers would make a Tensor of them)
        if a.dtype.kind not in "biufc":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                            f"found {a.dtype}")
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(a.shape)} at entry {i}")
    if any(isinstance(it, Tensor) and it.requires_grad for it in items) and is_grad_enabled():
        from .ops.shape import stack   # (as torch.stack: the batch stays in the samples' graph)
        return stack([it if isinstance(it, Tensor) else _wrap(a) for it, a in zip(items, arrays)])
    return _wrap(np.stack(arrays))


def _like_sequence(seq, values):
    """``values`` in a sequence of ``seq``'s type, as PyTorch's collate and convert rebuild one: a mutable
    sequence is copied and refilled (a list subclass keeps its attributes), another type is built from the
    list, and a type that cannot be (``range``) gives a plain list."""
    try:
        if isinstance(seq, collections.abc.MutableSequence):
            clone = copy.copy(seq)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(seq)(values)
    except TypeError:
        return values


def default_convert(data):
    """Convert one sample without batching, as ``torch.utils.data.default_convert`` (the ``collate_fn`` of a
    ``DataLoader`` with ``batch_size=None``): NumPy arrays and NumPy scalars become Tensors (arrays of strings
    or objects stay), Tensors and Python numbers are left, dicts, named tuples and lists are converted element
    by element keeping their type, other tuples become lists."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and data.dtype.kind in "USO":
            return data
        arr = np.asarray(data)
        if arr.dtype.kind not in "biufc":   # (datetime64, timedelta64, structured: as PyTorch's as_tensor)
            raise TypeError(f"default_convert: can't convert np.ndarray of type {arr.dtype}: only bool, integer, "
                            f"float and complex arrays become Tensors")
        return _wrap(arr)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):     # a named tuple keeps its type
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _like_sequence(data, [default_convert(d) for d in data])
    return data
