"""``Parameter``: a leaf Tensor that a Module registers as one of its parameters."""
import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor, _to_array


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning one to a Module attribute registers it.

    ``Parameter(data)`` shares ``data``'s memory when it is a Tensor or a NumPy array of a floating
    dtype in native byte order (as PyTorch's ``nn.Parameter`` shares its tensor's storage; an array of another
    byte order is copied) and requires grad by default.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=get_default_dtype())
        else:
            arr = _to_array(data, None, "Parameter")
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"Parameter: only floating and complex tensors can require gradients, not {arr.dtype}")
        self.data = arr
        self.grad = None
        self._requires_grad = bool(requires_grad)
        self._parents = None
        self._vjps = None
        self._extra = None

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.data, self._requires_grad))

    def __deepcopy__(self, memo):
        """A new Parameter with a copy of the data and no gradient, as PyTorch's ``Parameter.__deepcopy__`` (a copied
        model's next backward gives its own gradient, not one added to the original's)."""
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(self.data.copy(), self._requires_grad)
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """A Tensor that is a module buffer, as ``torch.nn.Buffer``: ``module.x = Buffer(t)`` registers ``t`` as the
    buffer ``x`` (in the state_dict unless ``persistent=False``), as ``module.register_buffer("x", t, persistent)``.
    ``Buffer(data)`` shares ``data``'s memory, cut from the graph, and does not require grad (npgrad's float
    tensors require grad by default, so that flag says nothing about a buffer); the module stores a plain Tensor
    sharing the memory."""

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent=True):
        arr = np.empty((0,), dtype=get_default_dtype()) if data is None else _to_array(data, None, "Buffer")
        super().__init__(arr, requires_grad=False)   # a leaf on arr itself (Tensor() keeps an ndarray as it is)
        self.persistent = bool(persistent)

    def _as_tensor(self):
        t = Tensor(self.data, requires_grad=False)
        t.data = self.data          # (the same memory, whatever Tensor() does with it)
        return t

    def __reduce_ex__(self, protocol):
        return (_rebuild_buffer, (self.data, self.persistent))


def _rebuild_buffer(data, persistent):
    return Buffer(data, persistent=persistent)


_UNINIT = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
           "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call `forward` "
           "to initialize the parameters before accessing their attributes.")


def _uninitialized(self):
    raise RuntimeError(_UNINIT)


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: no shape until ``materialize(shape)``,
    which gives them their memory (uninitialized values) and turns them into ``cls_to_become``."""

    __slots__ = ()
    cls_to_become = None
    shape = property(_uninitialized)
    ndim = property(_uninitialized)
    size = property(_uninitialized)

    def materialize(self, shape, device=None, dtype=None):
        """Create this tensor's memory with ``shape`` (``dtype``: the one given at construction unless given), in
        place: the object becomes a ``Parameter`` (a Tensor for a buffer), so references to it (an optimizer's)
        stay valid."""
        if device is not None and str(device) not in ("cpu", "cpu:0"):
            raise ValueError(f"{type(self).__name__}.materialize: npgrad runs on the CPU only, got device={device!r}")
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
        dt = np.dtype(dtype) if dtype is not None else self.data.dtype
        self.data = np.empty(shape, dtype=dt)
        self.__class__ = self.cls_to_become

    def numel(self):
        _uninitialized(self)

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad, None, self.data.dtype))

    def __deepcopy__(self, memo):
        p = type(self)(self._requires_grad, None, self.data.dtype)
        memo[id(self)] = p
        return p


def _empty(where, requires_grad, device, dtype):
    if device is not None and str(device) not in ("cpu", "cpu:0"):
        raise ValueError(f"{where}: npgrad runs on the CPU only, got device={device!r}")
    dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
    if requires_grad and dt.kind not in "fc":
        raise TypeError(f"{where}: only floating tensors can require gradients, not {dt}")
    return np.empty((0,), dtype=dt)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy module's, until its first forward), as
    ``torch.nn.UninitializedParameter``: using it is an error; ``materialize(shape)`` makes it a ``Parameter``."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        Parameter.__init__(self, _empty("UninitializedParameter", requires_grad, device, dtype), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy module's running statistics), as
    ``torch.nn.UninitializedBuffer``; ``materialize(shape)`` makes it a plain Tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        Tensor.__init__(self, _empty("UninitializedBuffer", requires_grad, device, dtype), requires_grad=requires_grad)

    def __deepcopy__(self, memo):
        p = UninitializedBuffer(self._requires_grad, None, self.data.dtype)
        memo[id(self)] = p
        return p


def is_lazy(param):
    """Whether ``param`` is an uninitialized parameter or buffer (a lazy module's, before its first forward)."""
    return isinstance(param, UninitializedTensorMixin)
