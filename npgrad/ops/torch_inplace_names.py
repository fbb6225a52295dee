"""torch's top-level in-place functions (``npg.abs_(x)`` is ``x.abs_()``: the same tensor, returned), one table of
them; ``npg.fill(x, value)`` (torch.fill: out of place); the facts ``npg.is_same_size is_signed is_conj is_neg
resolve_conj resolve_neg`` (the Tensor methods, ops/torch_more.py), ``npg.scalar_tensor``; the methods
``x.storage_offset() data_ptr() is_set_to(y) new(...)``; and ``npg.sort`` taking torch's ``dim= / descending= /
stable=`` as ``x.sort`` does (ops/torch_select.py)."""
import numpy as np

from ..tensor import Tensor, _wrap

# torch.X_(x, ...) == x.X_(...): the method's name, or (for the activations npgrad keeps in nn.functional) F's.
METHOD_ALIASES = tuple((
    "abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_ clamp_ "
    "clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ erf_ erfc_ exp2_ exp_ expm1_ fix_ floor_ frac_ gcd_ i0_ lcm_ "
    "ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ relu_ round_ rsqrt_ "
    "sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_ zero_ fill_").split())
FUNCTIONAL_ALIASES = ("selu_", "celu_", "threshold_")  # torch.selu_(x) == F.selu_(x) (no such Tensor method)

__all__ = list(METHOD_ALIASES + FUNCTIONAL_ALIASES) + [
    "fill", "is_same_size", "is_signed", "is_conj", "is_neg", "resolve_conj", "resolve_neg", "scalar_tensor"]


def _tensor_arg(x, op, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{what}' must be a Tensor, not {type(x).__name__}")
    return x


def _method_alias(name):
    def f(input, *args, **kwargs):
        return getattr(_tensor_arg(input, name), name)(*args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``x.{name}(*args)``: in place, returns ``x`` (``torch.{name}``)."
    return f


def _functional_alias(name):
    def f(input, *args, **kwargs):
        from ..nn import functional as F
        return getattr(F, name)(_tensor_arg(input, name), *args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``npg.nn.functional.{name}(x, *args)``: in place, returns ``x`` (``torch.{name}``)."
    return f


globals().update({n: _method_alias(n) for n in METHOD_ALIASES})
globals().update({n: _functional_alias(n) for n in FUNCTIONAL_ALIASES})


def fill(input, value):
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (a number or a 0-d tensor, whose gradient
    is the sum of the output's), as ``torch.fill`` (out of place; ``x.fill_`` writes into ``x``)."""
    _tensor_arg(input, "fill")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"fill: only supports a 0-dimension value tensor, but got one of shape {value.shape}")
    return input.clone().fill_(value)


def _fact(name, doc):
    def f(input, *args):
        return getattr(_tensor_arg(input, name), name)(*args)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


is_signed = _fact("is_signed", "Whether the dtype is signed (floating, complex or signed integer), as "
                               "``torch.is_signed``.")
is_conj = _fact("is_conj", "False: npgrad has no lazy conjugation (``conj`` computes), as ``torch.is_conj`` of a "
                           "resolved tensor.")
is_neg = _fact("is_neg", "False: npgrad has no lazy negation, as ``torch.is_neg`` of a resolved tensor.")
resolve_conj = _fact("resolve_conj", "The tensor itself (nothing lazy to resolve), as ``torch.resolve_conj``.")
resolve_neg = _fact("resolve_neg", "The tensor itself (nothing lazy to resolve), as ``torch.resolve_neg``.")


def is_same_size(input, other):
    """Whether the two tensors have the same shape, as ``torch.is_same_size``."""
    _tensor_arg(input, "is_same_size")
    _tensor_arg(other, "is_same_size", "other")
    return input.shape == other.shape


def scalar_tensor(s, dtype=None, requires_grad=None):
    """A 0-d tensor holding ``s``, of npgrad's default floating dtype unless ``dtype`` is given (also for an int or
    bool ``s``), as ``torch.scalar_tensor``; a floating one requires grad unless ``requires_grad=False``, as
    npgrad's other constructors."""
    from ..creation import full
    from ..dtypes import get_default_dtype
    v = s.item() if isinstance(s, Tensor) else s
    if np.ndim(v) != 0:
        raise TypeError(f"scalar_tensor: expected a number, got {type(s).__name__} of shape {np.shape(v)}")
    dt = np.dtype(get_default_dtype() if dtype is None else dtype)
    if np.iscomplexobj(v) and dt.kind != "c":
        raise TypeError(f"scalar_tensor: the complex value {v!r} cannot be converted to {dt}")
    _check_fits(v, dt)
    return full((), v, dtype=dt, requires_grad=requires_grad)


def _check_fits(v, dt):
    """torch's "value cannot be converted to type ... without overflow": NaN / inf / out-of-range values for an
    integer dtype, finite values beyond a floating dtype's range (NumPy would wrap, or give inf, silently)."""
    import math
    if isinstance(v, (bool, np.bool_)) or dt.kind in "bc" or np.iscomplexobj(v):
        return
    bad = False
    if dt.kind in "iu":
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            bad = True
        else:
            info = np.iinfo(dt)
            bad = not info.min <= math.trunc(v) <= info.max
    elif dt.kind == "f" and math.isfinite(v):
        bad = abs(float(v)) > float(np.finfo(dt).max)
    if bad:
        raise OverflowError(f"scalar_tensor: the value {v!r} cannot be converted to {dt.name} without overflow "
                            f"(as torch.scalar_tensor)")


# ------------------------------------------------------------------ Tensor methods
def _owner(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _storage_offset(self):
    """The position of the first element in the memory block, in elements (PyTorch's ``storage_offset()``)."""
    a = self.data
    return (a.__array_interface__["data"][0] - _owner(a).__array_interface__["data"][0]) // max(a.itemsize, 1)


def _data_ptr(self):
    """The address of the first element (the array's data pointer), as PyTorch's ``data_ptr()``."""
    return self.data.__array_interface__["data"][0]


def _is_set_to(self, tensor):
    """Whether both tensors view the same memory in the same way (same block, first element, shape, strides and
    dtype), as PyTorch's ``is_set_to``."""
    _tensor_arg(tensor, "is_set_to", "tensor")
    a, b = self.data, tensor.data
    return (_owner(a) is _owner(b) and _data_ptr(self) == _data_ptr(tensor) and a.shape == b.shape
            and a.strides == b.strides and a.dtype == b.dtype)


def _new(self, *args):
    """PyTorch's legacy constructor: ``x.new()`` an empty 1-D tensor, ``x.new(2, 3)`` an uninitialised one of that
    size, ``x.new(data)`` a list's values (a tensor or array of the same dtype: its memory, shared), all of this
    tensor's dtype and not requiring grad."""
    if not args:
        return _wrap(np.empty(0, self.dtype))
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in args):
        if any(n < 0 for n in args):
            raise RuntimeError(f"new(): negative dimension in size {args}")
        return _wrap(np.empty(tuple(int(n) for n in args), self.dtype))
    if len(args) != 1:
        raise TypeError(f"new(): expected ints (a size) or one sequence of data, got {args!r}")
    data = args[0]
    if isinstance(data, (Tensor, np.ndarray)):
        arr = data.data if isinstance(data, Tensor) else data
        if arr.dtype != self.dtype:
            raise TypeError(f"new(): the data's dtype {arr.dtype} differs from this tensor's {self.dtype} (cast it "
                            f"first: x.new(data.astype(x.dtype)))")
        return _wrap(arr)
    if not isinstance(data, (list, tuple)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    if isinstance(data, tuple) and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in data):
        # torch reads x.new(x.shape) (a torch.Size) as a size and x.new((2, 3)) as data; npgrad's shapes are
        # plain tuples, so either reading could be silently wrong for a port
        raise ValueError(f"new(): a tuple of ints {data!r} is ambiguous: PyTorch reads x.new(x.shape) (a "
                         f"torch.Size) as a size and x.new((2, 3)) as data, and npgrad's shapes are plain tuples; "
                         f"write x.new(*shape) or x.new_empty(shape) for a size, x.new(list(values)) for data")
    return _wrap(np.array(data, dtype=self.dtype))


def sort(a, axis=-1, kind=None, order=None, *, dim=None, descending=None, stable=None):
    """``np.sort`` (the sorted values along ``axis``; ``stable=`` is NumPy's keyword too); with PyTorch's keyword
    ``dim=`` or ``descending=``, ``torch.sort``'s ``(values, indices)`` named tuple, as ``x.sort``. Differentiable:
    the gradient goes to each value's original position."""
    from .torch_select import _sort_method
    from .sorting import sort as np_sort
    if dim is None and descending is None:
        return np_sort(a, axis=axis, kind=kind, order=order, stable=stable)
    if not isinstance(a, Tensor):
        from ._util import as_input
        a = as_input(a, "sort")
    if dim is not None and axis != -1:
        raise TypeError("sort(): got both axis= and its PyTorch spelling dim=")
    return _sort_method(a, axis, kind, order, dim=dim, descending=descending, stable=stable)


def attach(T):
    T.storage_offset, T.data_ptr, T.is_set_to, T.new = _storage_offset, _data_ptr, _is_set_to, _new
