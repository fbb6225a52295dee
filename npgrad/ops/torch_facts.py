"""PyTorch's facts about a tensor and its ``new_*`` constructors: ``is_floating_point element_size is_contiguous
stride type device new_zeros new_ones new_full new_empty new_tensor detach_``, and ``npg.from_numpy`` (the
array's memory, shared) and ``npg.is_tensor``. ``stride()`` counts elements (NumPy's ``strides`` count bytes);
``device`` is a read-only marker of the CPU that equals ``"cpu"`` (``ndarray.device``'s value) and has PyTorch's
``.type`` and ``.index``."""
import importlib

import numpy as np

from ..autograd import versions as _versions
from ..dtypes import canonical
from ..tensor import Tensor, _next_seq, _wrap
from . import inplace as _inplace
from ._util import normalize_one_axis

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)

__all__ = ["from_numpy", "is_tensor"]


class Device:
    """The CPU, the only device npgrad runs on: ``x.device`` (``str`` is ``'cpu'``, ``.type`` ``'cpu'``, ``.index``
    None), equal to ``'cpu'`` as NumPy's ``ndarray.device`` and to another CPU marker or ``torch.device('cpu')``."""
    __slots__ = ()
    type = "cpu"
    index = None

    def __str__(self):
        return "cpu"

    def __repr__(self):
        return "device(type='cpu')"

    def __eq__(self, other):
        return str(other) in ("cpu", "cpu:0")

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash("cpu")


CPU = Device()

# PyTorch's legacy tensor type names (``x.type()``), by dtype
_TYPE_NAMES = {np.dtype(k): "torch." + v for k, v in (
    ("float32", "FloatTensor"), ("float64", "DoubleTensor"), ("float16", "HalfTensor"), ("int64", "LongTensor"),
    ("int32", "IntTensor"), ("int16", "ShortTensor"), ("int8", "CharTensor"), ("uint8", "ByteTensor"),
    ("bool", "BoolTensor"), ("complex64", "ComplexFloatTensor"), ("complex128", "ComplexDoubleTensor"),
    ("uint16", "UInt16Tensor"), ("uint32", "UInt32Tensor"), ("uint64", "UInt64Tensor"))}
_TYPES_BY_NAME = {v: k for k, v in _TYPE_NAMES.items()}


def _inner(x):
    """A batched tensor's tensor of the whole batch (its memory), as ``contiguous`` reads it."""
    while type(x) is not Tensor and hasattr(x, "_inner"):
        x = x._inner
    return x


def _stride(self, dim=None):
    """The step in elements between neighbours along each dimension (``dim``: along that one), as PyTorch's
    ``stride()``; NumPy's ``strides`` are the same in bytes."""
    a = _inner(self).data
    if a.ndim != self.ndim:  # under vmap: the sample's dims are the trailing ones
        strides = a.strides[a.ndim - self.ndim:]
    else:
        strides = a.strides
    out = tuple(s // a.itemsize for s in strides)
    if dim is None:
        return out
    if self.ndim == 0:
        raise IndexError(f"stride: dimension specified as {dim} but tensor has no dimensions")
    try:
        return out[normalize_one_axis(dim, self.ndim, "stride")]
    except np.exceptions.AxisError:
        raise IndexError(f"stride: dimension out of range (expected to be in range of [{-self.ndim}, "
                         f"{self.ndim - 1}], but got {dim})") from None


def _type(self, dtype=None, non_blocking=False, **kwargs):
    """Without ``dtype``: PyTorch's type name (``'torch.FloatTensor'`` for float32...). With one (a NumPy dtype or
    a name such as ``'torch.DoubleTensor'``): the tensor cast to it (itself if it has it already), as
    ``x.type(dtype)``, differentiable."""
    if dtype is None:
        try:
            return _TYPE_NAMES[self.dtype]
        except KeyError:
            raise TypeError(f"type(): PyTorch has no tensor type for dtype {self.dtype}") from None
    if isinstance(dtype, str) and dtype in _TYPES_BY_NAME:
        dt = _TYPES_BY_NAME[dtype]
    else:
        try:
            dt = np.dtype(str(dtype).replace("torch.", "")) if not isinstance(dtype, (type, np.dtype)) \
                else np.dtype(dtype)
        except TypeError:
            raise ValueError(f"type(): invalid type: {dtype!r}") from None
    return self if dt == self.dtype else self.astype(dt)


def _size_args(size, where):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        return tuple(int(n) for n in size)
    except TypeError:
        raise TypeError(f"{where}: size must be ints, got {size!r}") from None


def _new_leaf(self, arr, dtype, requires_grad, where):
    arr = np.asarray(arr, dtype=self.dtype if dtype is None else np.dtype(dtype))
    out = _wrap(arr)
    if requires_grad:
        out.requires_grad = True
    return out


def _new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with this tensor's dtype (or ``dtype``), not requiring grad unless asked, as PyTorch's
    ``new_zeros``."""
    return _new_leaf(self, np.zeros(_size_args(size, "new_zeros")), dtype, requires_grad, "new_zeros")


def _new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    """Ones of ``size``, as PyTorch's ``new_ones``."""
    return _new_leaf(self, np.ones(_size_args(size, "new_ones")), dtype, requires_grad, "new_ones")


def _new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``size``, as PyTorch's ``new_empty``."""
    shape = _size_args(size, "new_empty")
    return _new_leaf(self, np.empty(shape, self.dtype if dtype is None else dtype), dtype, requires_grad,
                     "new_empty")


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``size`` filled with ``fill_value``, cast to this tensor's dtype (or ``dtype``), as PyTorch's ``new_full``."""
    shape = _size_args((size,) if isinstance(size, (int, np.integer)) else (size,), "new_full")
    dt = np.dtype(self.dtype if dtype is None else dtype)
    v = fill_value.data if isinstance(fill_value, Tensor) else fill_value
    if np.ndim(v) == 0 and np.asarray(v).dtype.kind in "fiu" and dt.kind in "fiu":
        with np.errstate(all="ignore"):
            cast = np.asarray(v).astype(dt) if dt.kind == "f" else None
        if (dt.kind == "f" and np.isfinite(v) and not np.isfinite(cast)) or (dt.kind in "iu" and not np.isfinite(v)):
            raise OverflowError(f"new_full: fill value {v!r} cannot be converted to dtype {dt} without overflow")
    return _new_leaf(self, np.full(shape, fill_value, dt), dtype, requires_grad, "new_full")


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` (a tensor's values are copied and cut from the graph) with this tensor's dtype (or
    ``dtype``), as PyTorch's ``new_tensor``."""
    data = data.data if isinstance(data, Tensor) else data
    return _new_leaf(self, np.array(data, dtype=self.dtype if dtype is None else dtype), dtype, requires_grad,
                     "new_tensor")


def _detach_(self):
    """Cut this tensor from the graph in place (it becomes a leaf that does not require grad), as PyTorch's
    ``detach_``; ops that used it before still differentiate through its earlier node. A view cannot be
    detached in place (PyTorch's error)."""
    if _inplace._view_of(self) is not None:
        raise RuntimeError(f"detach_: can't detach views in-place (this tensor of shape {self.shape} is a view); "
                           f"use detach() instead")
    if self._vjps is not None:
        if _tensor_mod._STALE:  # (its views a write left behind follow that write first: then it loses its node)
            _inplace.refresh_views(self)
        old = _inplace.snapshot(self)
        _inplace._move_hooks(self, old)
        self._parents = self._saved = self._vjps = self._op = self._pending = None
        self._seq = _next_seq()  # newer than every op that used it: they reach ``old`` (versions.inputs_as_of)
        extra = self._extra
        if extra is None:
            self._extra = extra = {}
        extra["prev"] = old
        extra.pop("retain", None)
        _versions.moved()
        if extra.get("views"):  # (a write into it from now on leaves its views off the graph: inplace_views._is_stale)
            _inplace.may_be_stale(self)
    self._requires_grad = False
    if self._extra:
        self._extra.pop("fw", None)  # (no tangent either, as detach(); ops that used it kept theirs)
    return self


def from_numpy(ndarray):
    """A tensor sharing ``ndarray``'s memory (a write through either is seen by the other), not requiring grad,
    as ``torch.from_numpy`` (which also refuses an array not in the machine's byte order)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {ndarray.dtype}: the supported types are "
                        f"bool, integers, floating and complex")
    if not ndarray.dtype.isnative:  # (a copy in the native order could not share the memory)
        raise ValueError(f"from_numpy: the array's byte order ({ndarray.dtype}) is not the machine's; "
                         f"tensors hold native data: pass arr.astype(arr.dtype.newbyteorder('=')) (a copy)")
    return _wrap(canonical(ndarray))


def is_tensor(obj):
    """Whether ``obj`` is a Tensor, as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def attach(T):
    """Give ``Tensor`` these methods and properties."""
    for name, fn in dict(
            is_floating_point=lambda self: self.dtype.kind == "f", element_size=lambda self: self.dtype.itemsize,
            is_contiguous=lambda self, memory_format=None: bool(_inner(self).data.flags.c_contiguous),
            stride=_stride, type=_type, new_zeros=_new_zeros, new_ones=_new_ones, new_empty=_new_empty,
            new_full=_new_full, new_tensor=_new_tensor, detach_=_detach_).items():
        setattr(T, name, fn)
    T.device = property(lambda self: CPU, doc="The device: npgrad's tensors live on the CPU (``'cpu'``).")
