"""Small helpers shared by the op families."""
import math
import operator

import numpy as np

from .. import _batching
from ..autograd import engine as _engine
from ..autograd.grad_mode import _state
from ..dtypes import canonical
from ..tensor import _F16, Tensor, _wrap, const

batching_rule = _batching.batching_rule  # (the ops import it from here)


def data_of(x, where):
    """The NumPy value of an op argument (a Tensor's data, or a checked constant)."""
    return x.data if isinstance(x, Tensor) else const(x, where)


def as_input(x, where):
    """A Tensor for a unary op's argument: Tensors pass through, anything else becomes a constant."""
    if isinstance(x, Tensor):
        return x
    return _wrap(canonical(np.asarray(const(x, where))))


def normalize_axis(axis, ndim, where):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if axis.__class__ is int and -ndim <= axis < ndim:  # the common case, without the general path's ~1 us
        return (axis + ndim if axis < 0 else axis,)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    try:
        out = [normalize_one_axis(a, ndim, where) for a in axes]
    except TypeError:
        raise TypeError(f"{where}: axis must be an int or a tuple of ints, got {axis!r}") from None
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def zero_d_axis(axis, ndim):
    """NumPy's leniency for a 0-d input of sum, prod, max, min, argmax, argmin, cumsum, cumprod, squeeze and
    take: an int ``axis`` of 0 or -1 means the whole one-element array (None), as in
    ``np.sum(np.array(1.5), axis=0)`` (PyTorch's ``dim=0`` on a 0-d tensor too). Anything else is returned as
    it is (and checked by the op)."""
    if ndim == 0 and axis is not None and not isinstance(axis, (bool, np.bool_, tuple, list)):
        try:
            if operator.index(axis) in (0, -1):
                return None
        except TypeError:
            pass
    return axis


def normalize_one_axis(axis, ndim, where):
    """One ``axis`` (negatives allowed) as a non-negative int, checked against ``ndim``. A bool is refused, as
    NumPy does (``np.sum(x, True)``: a keepdims passed in axis's place)."""
    try:
        if isinstance(axis, (bool, np.bool_)):
            raise TypeError
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{where}: axis must be an int, got {axis!r}") from None
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(f"{where}: axis {a} is out of bounds for a tensor of dimension {ndim}")
    return a % ndim


def named_error(name, e):
    """NumPy's exception ``e`` (raised by a NumPy call an op makes on the user's input) re-made to name the op
    ``name`` in front of NumPy's message, of the same type (a NumPy-private subclass such as UFuncTypeError as
    its builtin base, whose constructor takes a message); raise it ``from None``."""
    if str(e).startswith(f"{name}:"):
        return e
    cls = type(e)
    if cls is not np.exceptions.AxisError and cls.__module__ != "builtins":
        cls = next(c for c in cls.__mro__ if c.__module__ == "builtins")
    return cls(f"{name}: {e}")


def zeros_grad(g):
    """A zero gradient shaped like ``g`` (a constant in either backward mode)."""
    return np.zeros(g.shape, dtype=g.dtype)


def unreduce(g, shape, axes, keepdims):
    """Broadcast a reduction's gradient ``g`` back to the input ``shape`` (arrays or Tensors): a read-only
    broadcast view, or for a small array (up to _SMALL elements) a new array, which costs less than
    ``np.broadcast_to``'s ~2.5 us and is one that backward may take (no copy into a leaf's ``.grad``)."""
    if not keepdims:
        g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    if g.__class__ is np.ndarray and math.prod(shape) <= _SMALL:
        out = np.empty(shape, g.dtype)
        np.copyto(out, g)
        return out
    return np.broadcast_to(g, shape)


_SMALL = 2048


def is_batched(x):
    """True for a batched tensor inside ``vmap`` (its values differ per sample)."""
    return hasattr(x, "_inner")


def all_values(x):
    """The values of ``x`` for every sample at once (a batched tensor's inner values inside vmap): for checks
    that raise on a bad value anywhere, never for the result itself."""
    while hasattr(x, "_inner"):
        x = x._inner
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def refuse_out(name, out):
    """NumPy's ``out=``, which a Tensor result cannot honour (it is a new tensor, in the graph): an error,
    never silently ignored."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported for Tensors (the result is a new tensor); assign the "
                        f"result instead")


def cast_for(name, x, dtype):
    """``x`` (a Tensor or array) as ``dtype`` for NumPy's ``dtype=`` of a reduction (the accumulation type:
    ``np.mean(x, dtype=np.float64)`` on float32 works in float64); differentiable."""
    if dtype is None:
        return x
    from .shape import astype
    return astype(x if isinstance(x, Tensor) else as_input(x, name), dtype)


def integer_dtype_moment(name, x, dtype, **kwargs):
    """NumPy's own result of the moment ``name`` (var, std, nanmean, nanvar, nanstd) asked for in an integer or
    bool ``dtype`` (np.var truncates each square into it, np.std and the nan-functions of float input refuse: a
    TypeError naming the op), without a gradient; None for no dtype or an inexact one (the differentiable path)."""
    if dtype is None or np.dtype(dtype).kind in "fc":
        return None
    import importlib
    if importlib.import_module("..tensor", __package__)._VMAP:
        raise NotImplementedError(f"{name}: dtype={np.dtype(dtype)} (an integer or bool result) is not supported "
                                  f"under vmap")
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    try:
        return _wrap(np.asarray(getattr(np, name)(data, dtype=dtype, **kwargs)))
    except TypeError as e:
        raise TypeError(f"{name}: dtype={np.dtype(dtype)} is refused for {data.dtype} input, as NumPy: {e}") from e


def numpy_dtype_out(fn):
    """A reduction or scan ``fn(x, axis, ...)`` written without NumPy's ``dtype=``/``out=`` given them as
    keyword arguments: ``dtype`` casts the input first and the result to it, as NumPy; ``out`` raises
    (refuse_out). The third positional argument must not be a type: NumPy's is ``dtype``
    (``np.mean(x, 0, np.float64)``), npgrad's ``keepdims`` (or ``ddof``), and a dtype there would silently keep
    dims."""
    import functools
    import inspect
    name = fn.__name__
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    third = names[2] if len(names) > 2 else None    # keepdims or ddof here; dtype in NumPy
    extra = [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, default=None) for p in ("dtype", "out")]

    @functools.wraps(fn)
    def f(x, *args, dtype=None, out=None, **kwargs):
        if out is not None:
            refuse_out(name, out)
        if len(args) >= 2 and isinstance(args[1], (type, np.dtype, str)):
            raise TypeError(f"{name}: {third} must be a {'bool' if third == 'keepdims' else 'number'}, got "
                            f"{args[1]!r} (NumPy's third positional argument is dtype, npgrad's is {third}: pass "
                            f"dtype= by keyword)")
        if dtype is None:
            return fn(x, *args, **kwargs)
        if name in ("var", "std") and np.dtype(dtype).kind not in "fc":
            bound = sig.bind(x, *args, **kwargs)
            bound.apply_defaults()
            return integer_dtype_moment(name, x, dtype, **{k: v for k, v in bound.arguments.items() if k != names[0]})
        r = fn(cast_for(name, x, dtype), *args, **kwargs)
        if r.dtype != np.dtype(dtype):
            from .shape import astype
            r = astype(r, dtype)
        return r
    f.__signature__ = sig.replace(parameters=list(sig.parameters.values()) + extra)
    return f


def cast_all(arrs, dtype, casting, name):
    """The inputs cast to ``dtype`` where NumPy's ``casting`` rule allows it, else NumPy's TypeError (a float
    stacked as int under the default 'same_kind' is refused, not truncated)."""
    if dtype is None:
        return arrs
    dtype = np.dtype(dtype)
    for a in arrs:
        if not np.can_cast(a.dtype, dtype, casting):
            raise TypeError(f"{name}: Cannot cast array data from {a.dtype!r} to {dtype!r} according to the rule "
                            f"{casting!r}")
    return [a if a.dtype == dtype else as_input(a, name).astype(dtype) for a in arrs]


def check_fits(value, dtype, name):
    """Refuse a scalar fill ``value`` (a number or 0-d array) that ``dtype`` cannot hold, as PyTorch's checked
    conversion does ("value cannot be converted to type ... without overflow") where NumPy's cast would wrap or
    give inf silently: into an integer dtype NaN, inf and values beyond its range (a negative integer may wrap
    into an unsigned dtype, down to minus its largest value, as in torch); into a floating dtype finite values
    beyond its largest (NaN and inf pass). Booleans always fit; other dtypes are not checked here."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf" or np.ndim(value) != 0:
        return
    v = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    top = float(info.max) if dtype.kind == "f" else int(info.max)  # (Python numbers: exact comparisons)
    if isinstance(v, float) and not math.isfinite(v):
        bad = dtype.kind != "f"
    else:
        lo = -top if dtype.kind == "f" or dtype.kind == "u" and isinstance(v, int) else int(info.min)
        bad = v < lo or v > top
    if bad:
        raise OverflowError(f"{name}: the value {v!r} cannot be converted to {dtype.name} without overflow "
                            f"(its range is [{info.min}, {info.max}])")


def axis_key(ax, start=None, stop=None, step=None):
    """An indexing key that slices axis ``ax`` (``x[axis_key(1, 0, 3)]`` is ``x[:, 0:3]``)."""
    return (slice(None),) * ax + (slice(start, stop, step),)


def one_or_tuple(results):
    """The one result of a NumPy function taking several arrays (atleast_1d, gradient...), or the tuple of all."""
    return results[0] if len(results) == 1 else tuple(results)


def in_graph(v):
    """True for a Tensor a result must be differentiable in: it requires grad while gradients are recorded,
    carries a forward-mode tangent, or is batched inside vmap (its value differs per sample)."""
    if not isinstance(v, Tensor):
        return False
    ex = v._extra
    return bool(v._requires_grad and _state.enabled or ex is not None and ex.get("fw") or is_batched(v))


def number_arg(value, name, arg):
    """A parameter that only a number can be (a hyperparameter of ``name``, such as a slope, a bound or an
    integer order): a Tensor outside any graph gives its value (a 0-d one, as PyTorch's Scalar arguments
    take), a Tensor that takes part in a graph (requires grad, carries a tangent, or is batched by vmap) is
    refused with a TypeError naming ``name`` and ``arg``, since the result would get no gradient through it.
    Anything else is returned unchanged (and checked by the caller)."""
    if not isinstance(value, Tensor):
        return value
    if in_graph(value):
        why = ("its values differ per sample inside vmap" if is_batched(value) else
               "a Tensor that requires grad would get no gradient through it")
        raise TypeError(f"{name}: {arg} must be a number ({why}); pass a Python number or {arg}.detach()")
    if value.data.ndim != 0:
        raise TypeError(f"{name}: {arg} must be a number or a 0-d Tensor, got a Tensor of shape {value.shape}")
    return value.data.item()


def acc_sum(a, axis=None, keepdims=False):
    """``a.sum(axis)`` of an ndarray for a mean's numerator or denominator, or a softmax's: float16 is accumulated and
    returned in float32, as torch accumulates (a float16 total overflows past 65504 where the mean is finite, and
    drifts along a strided axis); other dtypes as ``a.sum``."""
    if a.dtype == _F16:
        return np.add.reduce(a, axis=axis, dtype=np.float32, keepdims=keepdims)
    return np.add.reduce(a, axis=axis, keepdims=keepdims)


def div_count(v, n):
    """``v / n`` for a mean over ``n`` elements (or a sum of weights): a float16 ``v`` (array or Tensor) is divided in
    float32 and cast back (n cast to float16 is inf past 65504: the mean or its gradient was 0 or NaN)."""
    if v.dtype == _F16:
        return (v.astype(np.float32) / n).astype(_F16)
    return v / n


grad_sum = _engine.grad_sum  # (a float16 gradient summed in float32: autograd/engine.py)
