"""PyTorch's ``index_copy``, ``masked_scatter`` and ``take_along_dim``, composed from npgrad's indexing ops
(npgrad/ops/index.py: ``getitem`` and the functional write ``_assign``), so that their gradients, JVPs and batching
rules are those ops'."""
import numpy as np

from ..tensor import Tensor, _wrap
from . import index as _index
from .dim_index import _index_1d, _int_index, _same_dtype
from ._util import as_input
from .shape import broadcast_to, reshape

__all__ = ["index_copy", "masked_scatter", "take_along_dim"]


def index_copy(input, dim, index, source):
    """A copy of ``input`` with its slices ``index`` (a vector) along ``dim`` replaced by those of ``source``, as
    ``torch.index_copy``."""
    x = as_input(input, "index_copy")
    idx, ax = _index_1d(index, x, dim, "index_copy")
    _same_dtype(x, source, "index_copy", "source")
    s = source if isinstance(source, Tensor) else _wrap(np.asarray(source, dtype=x.dtype))
    expected = x.shape[:ax] + (idx.size,) + x.shape[ax + 1:] if x.ndim else ()
    if s.shape != expected and not (x.ndim == 0 and s.size == 1):
        raise RuntimeError(f"index_copy(): source of shape {s.shape} does not fit: expected {expected} (input "
                           f"{x.shape} with dimension {dim} of the index's length {idx.size})")
    if x.ndim == 0:
        return _index._assign(x.reshape(1), (idx,), s.reshape(1)).reshape(())
    return _index._assign(x, (slice(None),) * ax + (idx,), s)


def masked_scatter(input, mask, source):
    """A copy of ``input`` (broadcast with the boolean ``mask``) with the first ``mask.sum()`` elements of
    ``source`` (in row-major order) written where ``mask`` holds, as ``torch.masked_scatter``."""
    x = as_input(input, "masked_scatter")
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter(): expected a boolean mask, got dtype {m.dtype}")
    _same_dtype(x, source, "masked_scatter", "source")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"masked_scatter(): the mask of shape {m.shape} does not broadcast with the tensor of "
                           f"shape {x.shape}") from None
    s = source if isinstance(source, Tensor) else _wrap(np.asarray(source, dtype=x.dtype))
    mb = np.broadcast_to(m, shape)
    n = int(mb.sum())
    if s.size < n:
        raise RuntimeError(f"masked_scatter(): the source has {s.size} elements, fewer than the {n} true entries "
                           f"of the mask")
    xb = x if x.shape == shape else broadcast_to(x, shape)
    return _index._assign(xb, (mb,), reshape(s, (-1,))[:n])


def take_along_dim(input, indices, dim=None):
    """``input``'s values at ``indices`` along ``dim`` (the two broadcast apart from ``dim``), as
    ``torch.take_along_dim``; with ``dim=None``, of the flattened ``input`` at the flattened ``indices``."""
    x = as_input(input, "take_along_dim")
    idx = _int_index(indices, "take_along_dim")
    if dim is None:
        idx = idx.reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= x.size):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(f"take_along_dim(): index {bad} is out of bounds for dimension 0 with size {x.size}")
        return _index.getitem(reshape(x, (-1,)), (idx,))
    if idx.ndim != x.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, but "
                           f"got {x.ndim} dimensions and {idx.ndim} dimensions")
    return _index.take_along_axis(x, idx, dim)


def attach(T):
    T.index_copy = index_copy
    T.masked_scatter = masked_scatter
    T.take_along_dim = take_along_dim
