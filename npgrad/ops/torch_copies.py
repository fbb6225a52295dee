"""PyTorch's copying array methods that NumPy has no other meaning for, composed from npgrad's ops (so their
gradients, JVPs and batching rules are those ops'): ``narrow_copy``, ``roll`` / ``repeat_interleave`` /
``tril`` / ``triu`` / ``rot90`` with PyTorch's signatures, ``masked_select``, the out-of-place scatters
``select_scatter`` / ``slice_scatter`` / ``diagonal_scatter`` and ``diag_embed``; and :func:`attach`, which
gives ``Tensor`` these methods and those of npgrad/ops/torch_views.py."""
import builtins as _b

import numpy as np

from ..tensor import Tensor
from . import torch_views as _tv
from ._util import as_input, normalize_one_axis
from .arrays import copy, fliplr, flipud, roll as _np_roll, rot90 as _np_rot90, tril as _np_tril, triu as _np_triu
from .elementwise import where
from .index import take
from .reduce import sum as _sum
from .shape import astype, broadcast_to, expand_dims, moveaxis, repeat, reshape

__all__ = ["cat", "diag_embed", "diagonal_scatter", "masked_select", "narrow_copy", "repeat_interleave",
           "select_scatter", "slice_scatter"]


def narrow_copy(x, dim, start, length):
    """``narrow`` as a copy, as ``torch.narrow_copy``."""
    return copy(_tv.narrow(x, dim, start, length))


def _roll(x, shifts, dims=None):
    """PyTorch's ``Tensor.roll(shifts, dims)``: ``np.roll`` with ``shifts`` and ``dims`` of the same length (the
    flattened tensor when ``dims`` is None). A copy."""
    x = as_input(x, "roll")
    s, d = np.atleast_1d(np.asarray(shifts)), None if dims is None else np.atleast_1d(np.asarray(dims))
    if s.size == 0:
        raise RuntimeError("roll(): `shifts` required")
    if d is None:
        if s.size != 1:
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {s.size}, dims: 0")
        return _np_roll(x, int(s[0]))
    if s.size != d.size:
        raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {s.size}, dims: {d.size}")
    if x.ndim == 0:
        raise IndexError(f"roll(): Dimension specified as {int(d[0])} but tensor has no dimensions")
    return _np_roll(x, s.tolist(), d.tolist())


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """Each element repeated ``repeats`` times along ``dim`` (of the flattened tensor when None), as
    ``torch.repeat_interleave`` (``np.repeat``): ``repeats`` an int, or a 0-d or 1-D integer tensor / array
    (one count per element along ``dim``). With ``repeats`` omitted, ``x`` holds the counts and the result is
    ``0, 1, 2...`` each repeated that many times (PyTorch's one-argument form). A copy."""
    if repeats is None:
        counts = np.asarray(x.data if isinstance(x, Tensor) else x)
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise RuntimeError(f"repeat_interleave(): repeats must be a 1-D integer tensor, got shape {counts.shape},"
                               f" {counts.dtype}")
        return repeat_interleave(Tensor(np.arange(counts.size), requires_grad=False), counts,
                                 output_size=output_size)
    x = as_input(x, "repeat_interleave")
    reps = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if reps.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave(): repeats must be an int or integers, got dtype {reps.dtype}")
    if reps.ndim > 1:
        raise RuntimeError(f"repeat_interleave(): repeats must be 0-dim or 1-dim, got shape {reps.shape}")
    if (reps < 0).any():
        raise RuntimeError("repeat_interleave(): repeats must be non-negative")
    if dim is None:
        x, ax = reshape(x, (-1,)), 0
    else:
        ax = normalize_one_axis(dim, _b.max(x.ndim, 1), "repeat_interleave")
        if x.ndim == 0:
            x = reshape(x, (1,))
    if reps.ndim == 1 and reps.size not in (1, x.shape[ax]):
        raise RuntimeError(f"repeat_interleave(): repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {reps.size} and input.size({ax}) = {x.shape[ax]}")
    reps = reps.reshape(-1)[0] if reps.size == 1 and reps.ndim else reps
    out = repeat(x, reps, axis=ax)
    if output_size is not None and out.shape[ax] != output_size:
        raise RuntimeError(f"repeat_interleave(): output_size {output_size} does not match the repeats' total "
                           f"{out.shape[ax]}")
    return out


def masked_select(x, mask):
    """The elements of ``x`` where the boolean ``mask`` holds (the two broadcast together), as a 1-D copy, as
    ``torch.masked_select``; the gradient goes back to the selected positions."""
    x = as_input(x, "masked_select")
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_select(): expected a boolean mask, got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"masked_select(): the mask of shape {m.shape} does not broadcast with the tensor of "
                           f"shape {x.shape}") from None
    xb = x if x.shape == shape else broadcast_to(x, shape)
    return reshape(xb, (-1,))[np.broadcast_to(m, shape).reshape(-1)]


def _triangle(name, np_fn):
    def method(self, diagonal=0):
        x = as_input(self, name)
        if x.ndim < 2:
            raise RuntimeError(f"{name}(): input tensor must have at least 2 dimensions, got shape {x.shape}")
        return np_fn(x, diagonal)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"PyTorch's ``Tensor.{name}(diagonal=0)``: ``np.{name}`` of the last two dimensions (a "
                      f"tensor of at least 2 dimensions). A copy.")
    return method


def _rot90(x, k=1, dims=(0, 1)):
    """PyTorch's ``Tensor.rot90(k, dims)``: ``np.rot90`` in the plane of ``dims``, a copy as PyTorch's (the
    function ``npg.rot90`` is NumPy's view)."""
    return copy(_np_rot90(x, k, tuple(dims)))


def _flip(x, *dims, axis=None, **kwargs):
    """PyTorch's ``Tensor.flip(dims)`` (``flip(0, 1)``, ``flip((0, 1))``, ``flip(dims=...)``; ``axis=`` or no
    dims: ``np.flip``'s meaning): a copy as PyTorch's (the function ``npg.flip`` is NumPy's view)."""
    from .shape import flip
    if kwargs:
        if set(kwargs) != {"dims"} or dims:
            raise TypeError(f"flip() got unexpected arguments {sorted(kwargs)}; it takes dims (or NumPy's axis=)")
        dims = (kwargs["dims"],)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if axis is not None and dims:
        raise TypeError("flip(): got both axis= and its PyTorch spelling dims=")
    if x.ndim == 0:  # PyTorch's 0-d tensor has the dims 0 and -1: nothing to flip
        for d in dims if axis is None else np.atleast_1d(axis).tolist():
            normalize_one_axis(d, 1, "flip")
        return copy(x)
    return copy(flip(x, axis if axis is not None else (dims or None)))


def _fliplr(x):
    """PyTorch's ``Tensor.fliplr()``: a copy (the function ``npg.fliplr`` is NumPy's view)."""
    return copy(fliplr(x))


def _flipud(x):
    """PyTorch's ``Tensor.flipud()``: a copy (the function ``npg.flipud`` is NumPy's view)."""
    return copy(flipud(x))


# ------------------------------------------------------------------------------------- out-of-place scatters
def _source(x, src, want, where_name):
    src = as_input(src, where_name)
    if tuple(src.shape) != tuple(want):
        raise RuntimeError(f"{where_name}(): expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(want)}")
    return src if src.dtype == x.dtype else astype(src, x.dtype)


def _connected_zeros(src, shape):
    """Zeros of ``shape`` that depend on the empty ``src`` (so ``src`` gets its zero-size gradient)."""
    return broadcast_to(reshape(_sum(src), (1,) * len(shape)), shape)


def select_scatter(x, src, dim, index):
    """A copy of ``x`` with ``src`` written at ``index`` along ``dim``, as ``torch.select_scatter``
    (``src`` has the shape of ``x.select(dim, index)``)."""
    x = as_input(x, "select_scatter")
    view = _tv._select(x, dim, index)  # the checks, and the slice's shape
    ax = normalize_one_axis(dim, x.ndim, "select_scatter")
    src = _source(x, src, view.shape, "select_scatter")
    mask = np.zeros(x.shape[ax], dtype=bool)
    mask[_tv._index(index, "select_scatter", "index")] = True
    mask = mask.reshape((-1,) + (1,) * (x.ndim - ax - 1))
    return where(mask, expand_dims(src, ax), x)


def slice_scatter(x, src, dim=0, start=None, end=None, step=1):
    """A copy of ``x`` with ``src`` written at ``start:end:step`` along ``dim``, as ``torch.slice_scatter``
    (Python's slice rules; ``step`` positive)."""
    x = as_input(x, "slice_scatter")
    if x.ndim == 0:
        raise IndexError("slice_scatter(): slice() cannot be applied to a 0-dim tensor")
    ax = normalize_one_axis(dim, x.ndim, "slice_scatter")
    if step is None:
        step = 1
    if step <= 0:
        raise RuntimeError(f"slice_scatter(): slice step must be positive, got {step}")
    positions = np.arange(x.shape[ax])[slice(start, end, step)]
    want = x.shape[:ax] + (positions.size,) + x.shape[ax + 1:]
    src = _source(x, src, want, "slice_scatter")
    mask = np.zeros(x.shape[ax], dtype=bool)
    mask[positions] = True
    if positions.size == 0:
        return where(False, _connected_zeros(src, x.shape), x)
    spread = np.clip(np.cumsum(mask) - 1, 0, positions.size - 1)  # position j of the axis -> its src index
    return where(mask.reshape((-1,) + (1,) * (x.ndim - ax - 1)), take(src, spread, axis=ax), x)


def _diagonal_plane(x, offset, dim1, dim2, where_name):
    if x.ndim < 2:
        raise RuntimeError(f"{where_name}(): expected a tensor of at least 2 dimensions, got shape {x.shape}")
    d1, d2 = (normalize_one_axis(d, x.ndim, where_name) for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"{where_name}(): diagonal dimensions cannot be identical {dim1}, {dim2}")
    n, m = x.shape[d1], x.shape[d2]
    length = _b.max(0, _b.min(n, m - offset) if offset >= 0 else _b.min(n + offset, m))
    return d1, d2, n, m, length


def diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    """A copy of ``x`` with ``src`` written on its ``offset`` diagonal of the ``(dim1, dim2)`` planes, as
    ``torch.diagonal_scatter`` (``src`` has the shape of ``np.diagonal(x, offset, dim1, dim2)``: the other
    dimensions, then the diagonal)."""
    x = as_input(x, "diagonal_scatter")
    d1, d2, n, m, length = _diagonal_plane(x, offset, dim1, dim2, "diagonal_scatter")
    rest = tuple(s for i, s in enumerate(x.shape) if i not in (d1, d2))
    src = _source(x, src, rest + (length,), "diagonal_scatter")
    rows, cols = np.arange(n)[:, None], np.arange(m)[None, :]
    on = (cols - rows) == offset
    if length == 0:
        return where(False, _connected_zeros(src, x.shape), x)
    k = np.clip(rows - _b.max(0, -offset) + 0 * cols, 0, length - 1)  # the plane's entries -> their diagonal index
    plane = moveaxis(take(src, k.reshape(-1), axis=-1).reshape(rest + (n, m)), (-2, -1), (d1, d2))
    mask = np.moveaxis(on.reshape((1,) * len(rest) + (n, m)), (-2, -1), (d1, d2))
    return where(mask, plane, x)


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """A tensor whose ``offset`` diagonals in the ``(dim1, dim2)`` planes hold the last dimension of ``x``,
    zeros elsewhere, as ``torch.diag_embed`` (the other dimensions of ``x`` fill the remaining ones)."""
    x = as_input(x, "diag_embed")
    nd = x.ndim + 1
    d1, d2 = (normalize_one_axis(d, nd, "diag_embed") for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diag_embed(): diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = x.shape[-1] + _b.abs(offset)
    rest = iter(x.shape[:-1])
    shape = tuple(size if i in (d1, d2) else next(rest) for i in range(nd))
    return diagonal_scatter(np.zeros(shape, dtype=x.dtype), x, offset, d1, d2)


# ------------------------------------------------------------------------------------- Tensor methods
def cat(tensors, dim=0, *, out=None):
    """``torch.cat``: ``concatenate(tensors, axis=dim)`` (NumPy's name is ``npg.concatenate``)."""
    if out is not None:
        raise TypeError("cat: out= is not supported for Tensors (the result is a new tensor); assign the result "
                        "instead")
    from .shape import concatenate
    return concatenate(list(tensors), axis=dim)


def _to(self, *args, **kwargs):
    """PyTorch's ``Tensor.to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its
    dtype), with ``non_blocking`` and ``memory_format`` accepted. The tensor itself when nothing changes, else
    a differentiable cast; ``copy=True`` always gives a new tensor. Devices other than the CPU are an error."""
    from ..nn._module_convert import check_device, parse_to
    copy = bool(kwargs.pop("copy", False))
    device, dtype, _, _ = parse_to(args, kwargs)
    check_device(device, "Tensor.to")
    out = self if dtype is None or dtype == self.dtype else self.astype(dtype)
    if copy and out is self:
        from .arrays import copy as _copy
        out = _copy(self)
    return out


def attach(T):
    """Give ``Tensor`` PyTorch's view and copy methods of this module and of torch_views.py."""
    methods = dict(
        narrow=_tv.narrow, select=_tv._select, movedim=_tv.movedim, swapdims=_tv.swapdims,
        t=_tv._t, adjoint=_tv.adjoint, unflatten=_tv.unflatten, reshape_as=_tv._reshape_as, unfold=_tv._unfold,
        split=_tv._split, tensor_split=_tv.tensor_split, hsplit=_tv._hsplit, vsplit=_tv._vsplit,
        dsplit=_tv._dsplit, narrow_copy=narrow_copy, roll=_roll, repeat_interleave=repeat_interleave,
        masked_select=masked_select, tril=_triangle("tril", _np_tril), triu=_triangle("triu", _np_triu),
        flip=_flip, fliplr=_fliplr, flipud=_flipud, rot90=_rot90, select_scatter=select_scatter, slice_scatter=slice_scatter,
        diagonal_scatter=diagonal_scatter, diag_embed=diag_embed, to=_to)
    for name, fn in methods.items():
        setattr(T, name, fn)
    T.H = property(_tv._H, doc="The conjugate transpose of a matrix (PyTorch's ``H``): a view of a real tensor, "
                               "a read-only copy of a complex one.")
    T.mH = property(_tv._mH, doc="The conjugate transpose of the last two dimensions (PyTorch's ``mH``): a view "
                                 "of a real tensor, a read-only copy of a complex one.")
