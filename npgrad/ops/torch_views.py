"""PyTorch's view methods that NumPy has no other meaning for: ``narrow``, ``select``, ``movedim``, ``t``,
``H`` / ``mH`` / ``adjoint``, ``swapdims``, ``unflatten``, ``reshape_as``, ``unfold`` and the splits with
PyTorch's signatures (``split``, ``tensor_split``, ``hsplit`` / ``vsplit`` / ``dsplit`` as methods).

Each returns a view registered with the view machinery (npgrad/ops/inplace.py), as PyTorch's does, so a write
through it reaches the base and is differentiated as PyTorch's CopySlices. All but ``unfold`` are compositions
of basic indexing, ``swapaxes``, ``moveaxis`` and ``reshape`` (their gradients, JVPs and batching rules come
with them); ``unfold`` (sliding windows) is a primitive here, beside its VJP (``fold``: windows added back),
its JVP and its batching rule. Two differences from PyTorch, both refusing where PyTorch's result is
ill-defined or not a view in npgrad:

* ``unfold`` with overlapping windows (``step < size``) is a read-only view (as NumPy's
  ``sliding_window_view``): a write would reach one memory location through several elements, and PyTorch's
  result then depends on its loop order.
* ``H`` / ``mH`` / ``adjoint`` of a complex tensor are read-only copies: PyTorch's are lazily conjugated views,
  and npgrad's ``conj`` is a copy (NumPy's); writing into them raises rather than silently missing the base.
"""
import builtins as _b
import math
import operator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import versions as _versions
from ..autograd.complex_rules import LINEAR, declare
from ..tensor import Tensor, _make
from . import inplace
from ._util import as_input, batching_rule, normalize_one_axis
from .shape import moveaxis, reshape, swapaxes

__all__ = ["adjoint", "movedim", "narrow", "swapdims", "tensor_split", "unflatten"]


def _dim(dim, ndim, where):
    """``dim`` normalized against ``ndim``, with PyTorch's error for a tensor without dimensions."""
    if ndim == 0:
        raise IndexError(f"{where}(): Dimension specified as {dim} but tensor has no dimensions")
    return normalize_one_axis(dim, ndim, where)


def _index(v, where, what):
    if isinstance(v, Tensor):
        if v.ndim != 0 or v.dtype.kind not in "iu":
            raise TypeError(f"{where}(): {what} must be an int or a 0-d integer tensor, got shape {v.shape}, "
                            f"{v.dtype}")
        return int(v.data)
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{where}(): {what} must be an int, got {v!r}") from None


def _lead(ax):
    return (slice(None),) * ax


# ------------------------------------------------------------------------------------- narrow / select
def narrow(x, dim, start, length):
    """``x[..., start:start + length, ...]`` along ``dim``, as ``torch.narrow``: a view. ``start`` may be
    negative (counted from the end) or a 0-d integer tensor; the slice must lie inside the dimension."""
    x = as_input(x, "narrow")
    if x.ndim == 0:
        raise RuntimeError("narrow(): cannot be applied to a 0-dim tensor")
    ax = normalize_one_axis(dim, x.ndim, "narrow")
    n = x.shape[ax]
    start, length = _index(start, "narrow", "start"), _index(length, "narrow", "length")
    if not -n <= start <= n:
        raise IndexError(f"narrow(): start out of range (expected to be in range of [{-n}, {n}], but got {start}) "
                         f"for dimension {ax} of shape {x.shape}")
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}")
    start = start + n if start < 0 else start
    if start + length > n:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n}) of "
                           f"dimension {ax} (shape {x.shape})")
    return x[_lead(ax) + (slice(start, start + length),)]


def _select(x, dim, index):
    """The slice at ``index`` along ``dim`` (that dimension removed), as ``torch.select``: a view."""
    x = as_input(x, "select")
    if x.ndim == 0:
        raise IndexError("select(): cannot be applied to a 0-dim tensor")
    ax = normalize_one_axis(dim, x.ndim, "select")
    i, n = _index(index, "select", "index"), x.shape[ax]
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(x.shape)} at dimension {ax}")
    return x[_lead(ax) + (i,)]


# ------------------------------------------------------------------------------------- transposes
def movedim(x, source, destination):
    """PyTorch's name for ``np.moveaxis``: a view."""
    return moveaxis(x, source, destination)


def swapdims(x, dim0, dim1):
    """PyTorch's name for ``np.swapaxes``: a view."""
    return swapaxes(x, dim0, dim1)


def _t(x):
    """The transpose of a matrix; a 0-d or 1-D tensor as it is, as ``torch.t``: a view."""
    x = as_input(x, "t")
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D (shape {x.shape}); "
                           f"use x.mT or x.swapaxes(-1, -2)")
    return swapaxes(x, 0, 1) if x.ndim == 2 else x[...]


def _conj_transpose(x):
    out = swapaxes(x, -1, -2)
    if out.dtype.kind != "c":
        return out
    from .complex import conj
    out = conj(out)
    if type(out) is Tensor:  # (not a batched tensor under vmap) a copy: refuse writes that would miss the base
        out.data.flags.writeable = False
    return out


def adjoint(x):
    """The conjugate transpose of the last two dimensions, as ``torch.adjoint`` (``x.mH``): a view of a real
    tensor; of a complex one a read-only copy (npgrad's ``conj`` copies, as NumPy's)."""
    x = as_input(x, "adjoint")
    if x.ndim < 2:
        raise RuntimeError(f"adjoint(): tensor.mH is only supported on matrices or batches of matrices. Got "
                           f"{x.ndim}-D tensor (shape {x.shape})")
    return _conj_transpose(x)


def _H(x):
    """PyTorch's ``x.H``: the conjugate transpose of a matrix (of a 0-d tensor, its conjugate)."""
    x = as_input(x, "H")
    if x.ndim == 0:  # (PyTorch: the conjugate, with a deprecation warning)
        return x[...] if x.dtype.kind != "c" else _conj_transpose(x[None, None])[0, 0]
    if x.ndim != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {x.ndim}-D tensor (shape "
                           f"{x.shape}); for batches of matrices use tensor.mH")
    return _conj_transpose(x)


def _mH(x):
    """PyTorch's ``x.mH``: the conjugate transpose of the last two dimensions."""
    x = as_input(x, "mH")
    if x.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {x.ndim}-D "
                           f"tensor (shape {x.shape})")
    return _conj_transpose(x)


# ------------------------------------------------------------------------------------- reshapes
def unflatten(x, dim, sizes):
    """Dimension ``dim`` expanded into ``sizes`` (one of them may be -1), as ``torch.unflatten``: a view."""
    x = as_input(x, "unflatten")
    ax = _dim(dim, x.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n, free = x.shape[ax], [i for i, s in enumerate(sizes) if s == -1]
    known = math.prod(s for s in sizes if s != -1)
    if len(free) > 1 or _b.any(s < -1 for s in sizes) or (free and known == 0):
        raise RuntimeError(f"unflatten: sizes {list(sizes)} must be non-negative, with at most one -1 (and no "
                           f"-1 beside a 0)")
    if free:
        sizes = sizes[:free[0]] + (n // known,) + sizes[free[0] + 1:]
    if math.prod(sizes) != n:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {ax} "
                           f"({n}) in the input tensor of shape {x.shape}")
    return reshape(x, x.shape[:ax] + sizes + x.shape[ax + 1:])


def _reshape_as(x, other):
    """``x.reshape(other.shape)``, as ``torch.Tensor.reshape_as``: a view where NumPy gives one."""
    return reshape(x, tuple(other.shape))


# ------------------------------------------------------------------------------------- unfold (primitive)
def _windows(a, ax, size, step):
    """The windows of the array ``a`` along ``ax`` as a strided view (the window as a new last axis); read-only
    when windows overlap."""
    count = (a.shape[ax] - size) // step + 1
    shape = a.shape[:ax] + (count,) + a.shape[ax + 1:] + (size,)
    strides = a.strides[:ax] + (a.strides[ax] * step,) + a.strides[ax + 1:] + (a.strides[ax],)
    buffer = _dense(a)
    if buffer is None:  # memory NumPy cannot address as one buffer (foreign, with gaps): a read-only view
        return as_strided(a, shape, strides, writeable=False)
    offset = a.__array_interface__["data"][0] - buffer.__array_interface__["data"][0]
    out = np.ndarray(shape, a.dtype, buffer=buffer, offset=offset, strides=strides)
    if out.flags.writeable and (not a.flags.writeable or (step < size and count > 1)):
        out.flags.writeable = False
    return out


def _dense(a):
    """A C-contiguous array over the memory of ``a``'s owner whose ``base`` chain reaches that owner (so a view
    made on it shares the owner's version counter, npgrad/autograd/versions.py: ``as_strided`` would hide the
    owner behind a DummyArray), or None. NumPy's own allocations are dense in some axis order."""
    owner = a
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not owner.flags.c_contiguous:
        owner = owner.transpose(np.argsort([-_b.abs(s) for s in owner.strides], kind="stable"))
        flips = tuple(i for i, s in enumerate(owner.strides) if s < 0)
        owner = np.flip(owner, flips) if flips else owner
    return owner if owner.flags.c_contiguous else None


def _fold_raw(g, shape, ax, size, step):
    """The windows ``g`` added back into an array of ``shape`` (the transpose of ``_windows``)."""
    out = np.zeros(shape, dtype=g.dtype)
    count = g.shape[ax]
    if size <= count:
        for k in range(size):
            out[_lead(ax) + (slice(k, k + step * (count - 1) + 1, step),)] += g[..., k]
    else:
        for j in range(count):
            out[_lead(ax) + (slice(j * step, j * step + size),)] += np.moveaxis(np.take(g, j, axis=ax), -1, ax)
    return out


def _fold_op(g, shape, ax, size, step):
    if isinstance(g, Tensor):
        return _make(_fold_raw(g.data, shape, ax, size, step), "unfold_dim_backward", (g,), (g.data,),
                     (lambda gg, y, g: _unfold_op(gg, ax, size, step),),
                     (lambda t, y, g: _fold_op(t, shape, ax, size, step),))  # linear: the JVP is the op on t
    return _fold_raw(g, shape, ax, size, step)


@batching_rule("axis_all")  # (the batch axis in front: ``axis`` shifted by one, the windows stay last)
def _unfold_op(x, axis, size, step):
    """The windows of ``x`` along ``axis`` (int, normalized), as ``torch.Tensor.unfold``."""
    if not isinstance(x, Tensor):
        return _windows(x, axis, size, step)
    out = _make(_windows(x.data, axis, size, step), "unfold_dim", (x,), (x.data,),
                (lambda g, y, x: _fold_op(g, x.shape, axis, size, step),),
                (lambda t, y, x: _unfold_op(t, axis, size, step),))
    return inplace.view_of(out, x, lambda a: _unfold_op(a, axis, size, step))


_versions.reads("unfold_dim", "")           # linear: the VJPs read nothing but shapes
_versions.reads("unfold_dim_backward", "")
declare(LINEAR, "unfold_dim", "unfold_dim_backward")  # (a strided view and its sum: complex-safe as they are)


def _unfold(x, dimension, size, step):
    """The windows of length ``size`` every ``step`` along ``dimension``, as PyTorch's ``Tensor.unfold``: a view
    with ``dimension`` replaced by the number of windows and the window as a new last dimension
    (``(n - size) // step + 1`` windows; a 0-d tensor counts as 1-D). A read-only view when windows overlap
    (``step < size``), as NumPy's ``sliding_window_view``. Its VJP adds the windows back (``fold``)."""
    x = as_input(x, "unfold")
    size, step = _index(size, "unfold", "size"), _index(step, "unfold", "step")
    if x.ndim == 0:
        normalize_one_axis(dimension, 1, "unfold")
        flat = reshape(x, (1,))
        return reshape(_unfold(flat, 0, size, step), (size,))
    ax = normalize_one_axis(dimension, x.ndim, "unfold")
    if step <= 0:
        raise RuntimeError(f"unfold(): step is {step} but must be > 0")
    if size < 0 or size > x.shape[ax]:
        raise RuntimeError(f"unfold(): maximum size for tensor at dimension {ax} is {x.shape[ax]} but size is "
                           f"{size} (shape {x.shape})")
    return _unfold_op(x, ax, size, step)


# ------------------------------------------------------------------------------------- splits (PyTorch's)
def _pieces(x, ax, cuts):
    return tuple(x[_lead(ax) + (slice(a, b),)] for a, b in zip(cuts[:-1], cuts[1:]))


def _split(x, split_size_or_sections, dim=0):
    """PyTorch's ``Tensor.split``: pieces of ``split_size_or_sections`` elements along ``dim`` (the last one
    shorter), or of the given sizes (which must add up to the dimension): a tuple of views. (``npg.split`` is
    NumPy's: an int there is a number of equal sections.)"""
    x = as_input(x, "split")
    if x.ndim == 0:
        raise RuntimeError("split(): expects at least a 1-dimensional tensor")
    ax = normalize_one_axis(dim, x.ndim, "split")
    n = x.shape[ax]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0:
            raise RuntimeError(f"split(): expects split_size be non-negative, but got split_size={size}")
        if size == 0:
            if n:
                raise RuntimeError(f"split(): split_size can only be 0 if dimension size is 0, but got dimension "
                                   f"size of {n} (dimension {ax} of shape {x.shape})")
            return (x[...],)
        cuts = list(range(0, n, size)) + [n] if n else [0, 0]
        return _pieces(x, ax, cuts)
    sizes = [_index(s, "split", "a split size") for s in split_size_or_sections]
    if _b.any(s < 0 for s in sizes) or _b.sum(sizes) != n:
        raise RuntimeError(f"split(): split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                           f"size at dimension {ax}, shape {x.shape}), but got split_sizes={sizes}")
    return _pieces(x, ax, np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist())


def tensor_split(x, indices_or_sections, dim=0):
    """``indices_or_sections`` pieces along ``dim`` (the first ``n % sections`` one element longer), or the
    pieces between the given indices, as ``torch.tensor_split`` (``np.array_split``'s rule): a tuple of views.
    ``indices_or_sections`` may also be a 0-d (sections) or 1-D (indices) integer tensor or array."""
    x = as_input(x, "tensor_split")
    if x.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    ax = normalize_one_axis(dim, x.ndim, "tensor_split")
    spec = indices_or_sections.data if isinstance(indices_or_sections, Tensor) else indices_or_sections
    arr = np.asarray(spec)
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"tensor_split(): indices_or_sections must be an int or integers, got {spec!r}")
    if arr.ndim > 1:
        raise RuntimeError(f"tensor_split(): expected indices_or_sections to be 0-d or 1-d, got shape {arr.shape}")
    n = x.shape[ax]
    if arr.ndim == 0:
        sections = int(arr)
        if sections <= 0:
            raise RuntimeError(f"tensor_split(): number of sections must be larger than 0, got {sections}")
        each, extra = divmod(n, sections)
        cuts = np.cumsum([0] + [each + 1] * extra + [each] * (sections - extra)).tolist()
        return _pieces(x, ax, cuts)
    bounds = [0] + [range(n)[slice(int(i), None)].start if int(i) < n else n for i in arr.tolist()] + [n]
    return tuple(x[_lead(ax) + (slice(a, _b.max(a, b)),)] for a, b in zip(bounds[:-1], bounds[1:]))


def _torch_split_on(name, min_ndim, axis_of):
    def method(self, indices_or_sections):
        x = as_input(self, name)
        if x.ndim < min_ndim:
            raise RuntimeError(f"{name}(): requires a tensor with at least {min_ndim} dimension, but got a tensor "
                               f"with {x.ndim} dimensions (shape {x.shape})")
        ax = axis_of(x.ndim)
        if isinstance(indices_or_sections, (int, np.integer)):
            k = int(indices_or_sections)
            if k <= 0 or x.shape[ax] % k:
                raise RuntimeError(f"{name}(): attempted to split along dimension {ax}, but the size of the "
                                   f"dimension {x.shape[ax]} is not divisible by the split_size {k}")
        return tensor_split(x, indices_or_sections, ax)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"PyTorch's ``Tensor.{name}``: ``tensor_split`` along dimension {axis_of(3)} (an int must "
                      f"divide it into equal sections; a list gives indices): a tuple of views.")
    return method


_hsplit = _torch_split_on("hsplit", 1, lambda nd: 1 if nd > 1 else 0)
_vsplit = _torch_split_on("vsplit", 2, lambda nd: 0)
_dsplit = _torch_split_on("dsplit", 3, lambda nd: 2)
