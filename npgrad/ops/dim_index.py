"""PyTorch's dim-indexed gathers and scatters: ``gather``, ``scatter``, ``scatter_add``, ``index_select``,
``index_add``, ``index_fill``, with PyTorch's signatures (``x.gather(dim, index)``).

Each is a composition of npgrad's differentiable indexing ops (npgrad/ops/index.py: ``getitem``, the functional
``setitem`` and the bincount-based ``scatter_add``), so gradients, second derivatives and the version checks come
with them. Gradients follow PyTorch's formulas: ``gather`` scatter-adds back; ``scatter_add`` / ``index_add``
pass ``g`` to the input and gather it for the source. Where ``scatter`` writes one position twice, NumPy's last
write wins and gets the gradient (PyTorch leaves the winner unspecified).
"""
import numpy as np

from ..dtypes import canonical
from ..tensor import Tensor, _wrap
from . import index as _index
from ._util import as_input, batching_rule, normalize_one_axis
from .shape import moveaxis

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_fill"]


_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _int_index(index, where):
    """The index as an array, of one of the dtypes torch takes for it (int32 / int64: not bool, not uint8, which
    torch's indexing reads as a mask elsewhere)."""
    idx = index.data if isinstance(index, Tensor) else canonical(np.asarray(index))  # ('>i8': native int64)
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{where}(): Expected dtype int32/int64 for index, got {idx.dtype}")
    return idx


def _check_bounds(idx, size, where, dim):
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{where}(): index {bad} is out of bounds for dimension {dim} with size {size}")


def _dim_key(x, dim, index, where, src=None):
    """The NumPy key selecting ``x[..., index[i, j, k], ...]`` at every position of ``index`` (along ``dim``),
    after PyTorch's checks: same rank, ``index.size(d) <= x.size(d)`` for ``d != dim`` (and ``<= src.size(d)``).
    As in torch, a 0-d input, index or src counts as 1-d of size 1 (the key then indexes ``x.reshape(1)``; the
    index is returned 1-d), and an empty index skips every check but the dim's: it selects nothing."""
    idx = _int_index(index, where)
    x_shape = tuple(x.shape) or (1,)
    idx = idx.reshape(1) if idx.ndim == 0 else idx
    ax = normalize_one_axis(dim, len(x_shape), where)
    if idx.size == 0:
        return tuple(np.zeros(idx.shape, np.intp) for _ in x_shape), idx
    src_shape = None if src is None else (tuple(src.shape) or (1,))
    if idx.ndim != len(x_shape):
        raise RuntimeError(f"{where}(): Index tensor must have the same number of dimensions as input tensor "
                           f"(index {np.ndim(_data(index))}-d, input {x.ndim}-d)")
    if src_shape is not None and idx.ndim != len(src_shape):
        raise RuntimeError(f"{where}(): Index tensor must have the same number of dimensions as src tensor "
                           f"(index {np.ndim(_data(index))}-d, src {len(src.shape)}-d)")
    for d in range(idx.ndim):
        if d != ax and idx.shape[d] > x_shape[d]:
            raise RuntimeError(f"{where}(): Size does not match at dimension {d} expected index {idx.shape} to be "
                               f"no larger than self {tuple(x.shape)} apart from dimension {ax}")
        if src_shape is not None and idx.shape[d] > src_shape[d]:
            raise RuntimeError(f"{where}(): Expected index {idx.shape} to be no larger than src {tuple(src.shape)} "
                               f"in dimension {d}")
    _check_bounds(idx, x_shape[ax], where, dim)
    return _index._along_axis_key(idx.shape, idx, ax), idx


def _data(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _flat1(x):
    """``x`` itself, or a 0-d tensor as 1-d of size 1 (the shape ``_dim_key``'s key indexes)."""
    return x.reshape(1) if x.ndim == 0 else x


@batching_rule("dim_index")   # a batched index: _vmap_gather.dim_index_rule
def gather(input, dim, index):
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` for ``dim=1`` (and so on), as ``torch.gather``. The result
    has ``index``'s shape; the gradient scatter-adds back into ``input``'s shape."""
    x = as_input(input, "gather")
    key, idx = _dim_key(x, dim, index, "gather")
    out = _index.getitem(_flat1(x), key)
    shape = np.shape(_data(index))
    return out if out.shape == shape else out.reshape(shape)


def _same_dtype(x, src, where, what="src"):
    """PyTorch's rule for the torch-named writes: a ``src`` tensor (or array) of another dtype than the input is
    an error, not a silent cast or promotion."""
    if isinstance(src, (Tensor, np.ndarray)) and src.dtype != x.dtype:
        raise RuntimeError(f"{where}(): expected {what} to have the input's dtype {x.dtype}, got {src.dtype} "
                           f"(cast it: {what}.astype({x.dtype}))")


def _src_part(src, idx, like, where):
    """The first ``index.shape`` entries of ``src`` (PyTorch reads only those; a 0-d src counts as 1-d, none of
    it for an empty index), or a scalar ``value``."""
    if isinstance(src, Tensor) or (isinstance(src, np.ndarray) and src.ndim):
        s = src if isinstance(src, Tensor) else _wrap(src)
        if idx.size == 0:
            return s.reshape(-1)[:0].reshape(idx.shape)
        s = _flat1(s)
        if s.ndim != idx.ndim:
            raise RuntimeError(f"{where}(): Index tensor must have the same number of dimensions as src tensor")
        part = tuple(slice(0, n) for n in idx.shape)
        return s if s.shape == idx.shape else s[part]
    return np.broadcast_to(np.asarray(src, dtype=like.dtype), idx.shape)


@batching_rule("dim_index")
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``src[i][j][k]`` (or the scalar ``value``) written at
    ``[i][index[i][j][k]][k]`` for ``dim=1``, as ``torch.scatter``; ``reduce="add"`` adds instead and
    ``reduce="multiply"`` multiplies (``scatter_reduce`` with 'sum' / 'prod')."""
    if (src is None) == (value is None):
        raise TypeError("scatter(): give src (a tensor) or value (a number): one of them, not "
                        + ("neither" if src is None else "both"))
    x = as_input(input, "scatter")
    s = src if src is not None else value
    _same_dtype(x, src, "scatter")
    key, idx = _dim_key(x, dim, index, "scatter", s if isinstance(s, Tensor) or (isinstance(s, np.ndarray) and s.ndim)
                        else None)
    part = _src_part(s, idx, x, "scatter")
    if reduce == "add":
        added = _index.scatter_add(_flat1(x).shape, key, part if isinstance(part, Tensor) else np.asarray(part))
        return x + (added.reshape(()) if x.ndim == 0 else added)
    if reduce == "multiply":   # torch's scatter_reduce(..., 'prod'), with its gradient (torch has none here)
        from .scatter_reduce import scatter_reduce
        return scatter_reduce(x, dim, index, part if isinstance(part, Tensor) else np.array(part), "prod")
    if reduce is not None:
        raise RuntimeError(f"scatter(): reduce argument must be either 'add' or 'multiply' (or None), got "
                           f"{reduce!r}; for 'mean', 'amax', 'amin' use scatter_reduce")
    out = _index._assign(_flat1(x), key, part)
    return out.reshape(()) if x.ndim == 0 else out


@batching_rule("dim_index")
def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src[i][j][k]`` added at ``[i][index[i][j][k]][k]`` for ``dim=1`` (repeated
    positions accumulate), as ``torch.scatter_add``."""
    x = as_input(input, "scatter_add")
    _same_dtype(x, src, "scatter_add")
    s = src if isinstance(src, Tensor) else _wrap(np.asarray(src, dtype=x.dtype))
    key, idx = _dim_key(x, dim, index, "scatter_add", s)
    part = _src_part(s, idx, x, "scatter_add")
    added = _index.scatter_add(_flat1(x).shape, key, part)
    return x + (added.reshape(()) if x.ndim == 0 else added)


def _index_1d(index, x, dim, where):
    idx = _int_index(index, where)
    if idx.ndim > 1:
        raise IndexError(f"{where}(): Index is supposed to be a vector, got shape {idx.shape}")
    idx = idx.reshape(-1)
    ax = normalize_one_axis(dim, max(x.ndim, 1), where)
    size = x.shape[ax] if x.ndim else 1
    if where == "index_fill" and idx.size and idx.min() < 0 and idx.min() >= -size:
        idx = np.where(idx < 0, idx + size, idx)   # torch's index_fill alone takes [-size, size), as Python does
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise IndexError(f"{where}(): index out of range in self (indices in [{idx.min()}, {idx.max()}], "
                         f"dimension {dim} of size {size})")
    if x.ndim == 0 and where != "index_fill" and idx.size != 1:
        raise RuntimeError(f"{where}(): a 0-d input takes one index (as PyTorch's), got {idx.size}")
    return idx, ax


@batching_rule("index_dim")   # a batched index: _vmap_gather.index_dim_rule
def index_select(input, dim, index):
    """The slices ``index`` (a vector) of ``input`` along ``dim``, as ``torch.index_select``."""
    x = as_input(input, "index_select")
    idx, ax = _index_1d(index, x, dim, "index_select")
    if x.ndim == 0:
        return _index.getitem(x.reshape(1), (idx,)).reshape(())
    return _index.getitem(x, (slice(None),) * ax + (idx,))


@batching_rule("index_dim")   # a batched index: _vmap_gather.index_dim_rule
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at the slices ``index`` along ``dim`` (repeated indices
    accumulate), as ``torch.index_add``."""
    x = as_input(input, "index_add")
    idx, ax = _index_1d(index, x, dim, "index_add")
    _same_dtype(x, source, "index_add", "source")
    s = source if isinstance(source, Tensor) else _wrap(np.asarray(source, dtype=x.dtype))
    expected = x.shape[:ax] + (idx.size,) + x.shape[ax + 1:] if x.ndim else ()
    if s.shape != expected:
        raise RuntimeError(f"index_add(): source of shape {s.shape} does not fit: expected {expected} (input "
                           f"{x.shape} with dimension {dim} of the index's length {idx.size})")
    if alpha != 1:
        s = s * alpha
    if x.ndim == 0:
        return x + _index.scatter_add((1,), (idx,), s.reshape(1)).reshape(())
    moved_shape = (x.shape[ax],) + x.shape[:ax] + x.shape[ax + 1:]
    rows = _index.scatter_add(moved_shape, (idx,), moveaxis(s, ax, 0) if ax else s)  # bincount / reduceat rows
    return x + (moveaxis(rows, 0, ax) if ax else rows)


@batching_rule("index_dim")   # a batched index: _vmap_gather.index_dim_rule
def index_fill(input, dim, index, value):
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor),
    as ``torch.index_fill``."""
    x = as_input(input, "index_fill")
    idx, ax = _index_1d(index, x, dim, "index_fill")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill(): only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    v = value if isinstance(value, Tensor) else np.asarray(value, dtype=x.dtype)
    if x.ndim == 0:
        return _index._assign(x.reshape(1), (idx,), v).reshape(())
    return _index._assign(x, (slice(None),) * ax + (idx,), v)
