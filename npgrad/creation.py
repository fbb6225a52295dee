"""Constructors, as in NumPy (shapes as ``*dims`` or a tuple), each with ``dtype=`` and ``requires_grad=``."""
import operator

import numpy as np

from . import random as _random
from .dtypes import canonical, check_numeric, default_complex_dtype, get_default_dtype, plain_array
from .tensor import Tensor, _default_requires_grad
from .tensor import _leaf as _new_leaf
from ._batching import batching_rule as _batching_rule


def _shape(shape, where="shape"):
    """A shape from ``*dims`` or one tuple / list / integer array, as NumPy's: each size an integer
    (``operator.index``: NumPy integers too; a float such as 3.7 is refused, not truncated)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, np.ndarray)):
        shape = shape[0]
        if isinstance(shape, np.ndarray):
            shape = np.atleast_1d(shape).tolist()
    try:
        shape = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"{where}: the sizes of a shape must be integers, got {tuple(shape)!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{where}: negative dimensions are not allowed: {shape}")
    return shape


def _dims(shape, size, where):
    """The shape of ``zeros`` / ``ones`` / ``empty`` / ``randn`` / ``rand``: ``*dims`` or one sequence (NumPy's,
    ``_shape``), or PyTorch's ``size=`` keyword (not both)."""
    if size is None:
        return _shape(shape, where)
    if shape:
        raise TypeError(f"{where}: got both a shape {shape!r} and size={size!r}; pass one")
    return _size(size, where)


def _size(size, where):
    """``shape`` / ``size=`` given as one argument: None (0-d), an integer, or a sequence of integers."""
    return () if size is None else _shape((size,), where)


def _leaf(arr, requires_grad, where):
    check_numeric(arr, where)  # dtype="U3" or object: refused here as by npg.tensor
    return _new_leaf(arr, _default_requires_grad(arr, requires_grad, where))


def _dtype(dtype):
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def _num(num, where):
    """``num`` samples: an integer (NumPy's ``operator.index``: ``num=2.0`` is a TypeError), not negative."""
    try:
        num = operator.index(num)
    except TypeError:
        raise TypeError(f"{where}: num must be an integer, got {type(num).__name__} {num!r}") from None
    if num < 0:
        raise ValueError(f"{where}: number of samples, {num}, must be non-negative")
    return num


def _space_dtype(dtype, *values):
    """linspace / logspace / geomspace: ``dtype``, else the default float dtype, or its complex counterpart
    for complex endpoints (NumPy infers complex from them)."""
    if dtype is None and any(np.iscomplexobj(v) for v in values):
        return default_complex_dtype()
    return _dtype(dtype)


def _check_like(like, where):
    """``like=``: NumPy's dispatch reference. None, or an array-like implementing ``__array_function__`` (an array
    or a tensor, for which the result is a tensor anyway); anything else is NumPy's TypeError."""
    if like is not None and not hasattr(type(like), "__array_function__"):
        raise TypeError(f"{where}: the `like` argument must be an array-like that implements the "
                        f"`__array_function__` protocol (an array or a tensor), got {type(like).__name__}")


def _numpy(where, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, NumPy's ValueError (a bad ``order`` or ``device``) naming the constructor."""
    try:
        return fn(*args, **kwargs)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def zeros(*shape, dtype=None, order="C", device=None, like=None, requires_grad=None, size=None):
    """A tensor of zeros (``order='F'`` lays it out as NumPy's does; ``device`` only ``'cpu'``; the shape as
    ``*dims``, one sequence, or PyTorch's ``size=``)."""
    _check_like(like, "zeros")
    return _leaf(_numpy("zeros", np.zeros, _dims(shape, size, "zeros"), _dtype(dtype), order, device=device),
                 requires_grad, "zeros")


def ones(*shape, dtype=None, order="C", device=None, like=None, requires_grad=None, size=None):
    """A tensor of ones."""
    _check_like(like, "ones")
    return _leaf(_numpy("ones", np.ones, _dims(shape, size, "ones"), _dtype(dtype), order, device=device),
                 requires_grad, "ones")


def empty(*shape, dtype=None, order="C", device=None, like=None, requires_grad=None, size=None):
    """An uninitialised tensor."""
    _check_like(like, "empty")
    return _leaf(_numpy("empty", np.empty, _dims(shape, size, "empty"), _dtype(dtype), order, device=device),
                 requires_grad, "empty")


def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None, requires_grad=None):
    """A tensor filled with ``fill_value`` (``np.full``'s argument order)."""
    _check_like(like, "full")
    shape = _size(shape, "full")
    if isinstance(fill_value, Tensor) and requires_grad is None:
        _numpy("full", np.empty, (), order=order, device=device)  # (the same checks of order and device)
        return _full_of_tensor(shape, fill_value, dtype, order)
    if dtype is None:
        dtype = get_default_dtype() if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _leaf(_numpy("full", np.full, shape, fill_value, dtype, order, device=device), requires_grad, "full")


def _full_of_tensor(shape, fill_value, dtype, order="C"):
    """``np.full(shape, t)`` for a tensor ``t``: ``t`` broadcast to ``shape`` and copied, so that the result is
    differentiable in ``t`` (as HIPS autograd's ``np.full``; a VJP written with it then has a derivative)."""
    from .ops import broadcast_to, copy  # (the ops package imports this module's siblings)
    if dtype is not None and np.dtype(dtype) != fill_value.dtype:
        fill_value = fill_value.astype(dtype)
    return copy(broadcast_to(fill_value, shape), order=order)


def _like(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _like_call(fn, where, x, *args, dtype, order, subok, shape, device, requires_grad):
    """``np.<fn>(x, ...)`` with NumPy's keywords (``subok`` has no effect: the result is a tensor), as a leaf."""
    if shape is not None:
        shape = _size(shape, where)
    return _leaf(_numpy(where, fn, _like(x), *args, dtype=dtype, order=order, shape=shape, device=device),
                 requires_grad, where)


@_batching_rule("like")
def zeros_like(x, dtype=None, order="K", subok=True, shape=None, *, device=None, requires_grad=None):
    """Zeros with the shape (and dtype) of ``x``, as ``np.zeros_like`` (its ``shape``, ``order`` keywords)."""
    return _like_call(np.zeros_like, "zeros_like", x, dtype=dtype, order=order, subok=subok, shape=shape,
                      device=device, requires_grad=requires_grad)


@_batching_rule("like")
def ones_like(x, dtype=None, order="K", subok=True, shape=None, *, device=None, requires_grad=None):
    """Ones with the shape (and dtype) of ``x``."""
    return _like_call(np.ones_like, "ones_like", x, dtype=dtype, order=order, subok=subok, shape=shape,
                      device=device, requires_grad=requires_grad)


@_batching_rule("like")
def full_like(x, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None, requires_grad=None):
    """``fill_value`` with the shape (and dtype) of ``x``; a tensor ``fill_value`` broadcast differentiably."""
    if isinstance(fill_value, Tensor) and requires_grad is None:
        like = _numpy("full_like", np.empty_like, _like(x), dtype=dtype, order=order,  # (NumPy's shape and layout)
                      shape=None if shape is None else _size(shape, "full_like"), device=device)
        return _full_of_tensor(like.shape, fill_value, like.dtype,
                               "F" if like.flags.f_contiguous and not like.flags.c_contiguous else "C")
    return _like_call(np.full_like, "full_like", x, fill_value, dtype=dtype, order=order, subok=subok, shape=shape,
                      device=device, requires_grad=requires_grad)


@_batching_rule("like")
def empty_like(x, dtype=None, order="K", subok=True, shape=None, *, device=None, requires_grad=None):
    """An uninitialised tensor with the shape (and dtype) of ``x``."""
    return _like_call(np.empty_like, "empty_like", x, dtype=dtype, order=order, subok=subok, shape=shape,
                      device=device, requires_grad=requires_grad)


def eye(N, M=None, k=0, dtype=None, order="C", *, device=None, like=None, requires_grad=None):
    """A 2-D tensor with ones on the ``k``-th diagonal."""
    _check_like(like, "eye")
    return _leaf(_numpy("eye", np.eye, N, M, k, dtype=_dtype(dtype), order=order, device=device), requires_grad,
                 "eye")


def identity(n, dtype=None, *, like=None, requires_grad=None):
    """The ``n x n`` identity, as ``np.identity`` (the default float dtype unless ``dtype``)."""
    _check_like(like, "identity")
    return _leaf(np.identity(operator.index(n), dtype=_dtype(dtype)), requires_grad, "identity")


def tri(N, M=None, k=0, dtype=None, requires_grad=None):
    """Ones at and below the ``k``-th diagonal of an ``N x M`` tensor, as ``np.tri``."""
    return _leaf(np.tri(N, M, k, dtype=_dtype(dtype)), requires_grad, "tri")


def indices(dimensions, dtype=int, sparse=False, requires_grad=None):
    """The index grids of a shape, as ``np.indices`` (one ``(len(dimensions), *dimensions)`` tensor, or with
    ``sparse=True`` a tuple of broadcastable ones); integer (constant) tensors unless ``dtype`` is floating."""
    out = np.indices(_size(dimensions, "indices"), dtype=dtype, sparse=sparse)
    if sparse:
        return tuple(_leaf(a, requires_grad, "indices") for a in out)
    return _leaf(out, requires_grad, "indices")


def fromfunction(function, shape, *, dtype=None, **kwargs):
    """``function(*index_grids, **kwargs)``, as ``np.fromfunction``: each grid a constant tensor of ``dtype``
    (the default float dtype unless given), so ``function`` may use npgrad's ops (its result is returned as
    it is, as NumPy's)."""
    grids = np.indices(_size(shape, "fromfunction"), dtype=_dtype(dtype))
    return function(*(_leaf(g, False, "fromfunction") for g in grids), **kwargs)


def frombuffer(buffer, dtype=float, count=-1, offset=0, requires_grad=None):
    """The bytes of ``buffer`` read as a 1-D tensor of ``dtype``, as ``np.frombuffer`` (float64 by default, as
    NumPy: the bytes' meaning, not the default dtype); the tensor holds a copy, so it is writable."""
    return _leaf(np.frombuffer(buffer, dtype=dtype, count=count, offset=offset).copy(), requires_grad, "frombuffer")


def arange(start=None, stop=None, step=1, dtype=None, *, device=None, like=None, requires_grad=None):
    """Evenly spaced values in ``[start, stop)``, as ``np.arange`` (integers stay integers; with ``dtype=``
    computed as NumPy does, in that dtype; ``arange(stop=5)`` too)."""
    _check_like(like, "arange")
    if start is None and stop is None:
        raise TypeError("arange: needs at least stop (arange(stop), arange(start, stop[, step]))")
    if step == 0:  # NumPy raises a bare ZeroDivisionError ("division by zero"); Python's range a ValueError
        raise ValueError(f"arange: step must not be zero (start={start!r}, stop={stop!r}, step={step!r})")
    if start is None or stop is None:
        start, stop = 0, (stop if start is None else start)
    try:
        arr = np.arange(start, stop, step, dtype=None if dtype is None else np.dtype(dtype), device=device)
    except (TypeError, ValueError) as e:   # (dtype=bool for more than 2 values, a NaN or infinite length...)
        raise type(e)(f"arange(start={start!r}, stop={stop!r}, step={step!r}, dtype={dtype!r}): {e}") from None
    if dtype is None and arr.dtype.kind == "f":
        arr = arr.astype(get_default_dtype())
    return _leaf(arr, requires_grad, "arange")


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, requires_grad=None):
    """``num`` evenly spaced values from ``start`` to ``stop``, as ``np.linspace`` (array endpoints
    give one sequence per element, along ``axis``). With tensor endpoints the result is
    differentiable in them: ``start + i * (stop - start) / div``, ending exactly at ``stop``."""
    num = _num(num, "linspace")
    if isinstance(start, Tensor) or isinstance(stop, Tensor):
        return _linspace_tensor(start, stop, num, endpoint, retstep, dtype, axis)
    out = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=_space_dtype(dtype, start, stop),
                      axis=axis)
    if retstep:
        return _leaf(out[0], requires_grad, "linspace"), out[1]
    return _leaf(out, requires_grad, "linspace")


def _linspace_tensor(start, stop, num, endpoint, retstep, dtype, axis):
    from .ops import moveaxis, where  # (the ops package imports this module's siblings)
    s, e = _endpoints(start, stop)
    div = num - 1 if endpoint else num
    shape = np.broadcast_shapes(s.shape, e.shape)
    i = np.arange(num, dtype=s.dtype).reshape((-1,) + (1,) * len(shape))
    delta = e - s
    step = delta / float(div) if div > 0 else delta * np.nan
    y = i * (step if div > 0 else delta) + s
    if endpoint and num > 1:
        y = where(np.arange(num).reshape(i.shape) == num - 1, e, y)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None:
        if np.issubdtype(dtype, np.integer):
            from .ops import floor
            y = floor(y)  # NumPy 2 rounds an integer linspace down (astype alone truncated negatives towards 0)
        y = y.astype(dtype)
    return (y, step) if retstep else y


def _endpoints(*values):
    """Endpoints as tensors of one float dtype: the tensors' (the default one for integer tensors);
    numbers and arrays take it too (weak, as Python numbers under NEP 50)."""
    dt = np.result_type(*[v.dtype for v in values if isinstance(v, Tensor)])
    dt = dt if dt.kind in "fc" else get_default_dtype()
    if dt.kind == "f" and any(np.iscomplexobj(v) for v in values if not isinstance(v, Tensor)):
        dt = np.result_type(dt, np.complex64)  # a complex number or array endpoint: the complex counterpart
    return tuple((v if v.dtype == dt else v.astype(dt)) if isinstance(v, Tensor) else _new_leaf(np.asarray(v, dt))
                 for v in values)


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0, requires_grad=None):
    """``base ** linspace(start, stop)``, as ``np.logspace``; differentiable in tensor endpoints."""
    num = _num(num, "logspace")
    if isinstance(start, Tensor) or isinstance(stop, Tensor) or isinstance(base, Tensor):
        from .ops import expand_dims, power
        shapes = [v.shape if isinstance(v, Tensor) else np.shape(v) for v in (start, stop, base)]
        if not isinstance(base, (float, int)) and len(shapes[2]):
            # as NumPy: a non-scalar base is broadcast with the endpoints (all to the same ndim), which sets
            # what ``axis`` means, and gets the new axis itself
            ndmax = len(np.broadcast_shapes(*shapes))
            start, stop, base = (v.reshape((1,) * (ndmax - len(sh)) + tuple(sh)) if isinstance(v, Tensor)
                                 else np.array(v, ndmin=ndmax) for v, sh in zip((start, stop, base), shapes))
            base = expand_dims(base, axis) if isinstance(base, Tensor) else np.expand_dims(base, axis)
        y = linspace(start, stop, num, endpoint=endpoint, axis=axis, requires_grad=False)
        out = power(base, y)
        return out if dtype is None else out.astype(dtype)
    out = np.logspace(start, stop, num, endpoint=endpoint, base=base, axis=axis,
                      dtype=_space_dtype(dtype, start, stop, base))
    return _leaf(out, requires_grad, "logspace")


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0, requires_grad=None):
    """A geometric sequence from ``start`` to ``stop``, as ``np.geomspace`` (the ends exact, the sign
    of ``start`` kept); differentiable in tensor endpoints."""
    num = _num(num, "geomspace")
    if not (isinstance(start, Tensor) or isinstance(stop, Tensor)):
        out = np.geomspace(start, stop, num, endpoint=endpoint, axis=axis, dtype=_space_dtype(dtype, start, stop))
        return _leaf(out, requires_grad, "geomspace")
    from .ops import log10, moveaxis, sign as _sign, where
    from .ops._util import all_values
    s, e = _endpoints(start, stop)
    if s.dtype.kind == "c":
        raise TypeError("geomspace: complex tensor endpoints are not supported (complex numbers or arrays are)")
    if np.any(all_values(s) == 0) or np.any(all_values(e) == 0):
        raise ValueError("geomspace: geometric sequence cannot include zero")
    sign = _sign(s).detach()  # (a tensor: under vmap each sample its own sign)
    y = linspace(log10(s * sign), log10(e * sign), num, endpoint=endpoint)
    y = 10.0 ** y
    shape = y.shape
    first = np.arange(num).reshape((-1,) + (1,) * (len(shape) - 1))
    if num > 0:
        y = where(first == 0, s * sign, y)
    if num > 1 and endpoint:
        y = where(first == num - 1, e * sign, y)
    y = y * sign
    if axis != 0:
        y = moveaxis(y, 0, axis)
    return y if dtype is None else y.astype(dtype)


def _random_dtype(dtype, where):
    """The dtype of ``randn`` / ``rand``: the default float dtype, or a floating or complex one (an integer dtype
    is torch's error: casting the draws would truncate them, all zeros for ``rand``)."""
    dt = _dtype(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"{where}: needs a floating-point or complex dtype, got {dt} (use npg.randint for integers)")
    return dt


def randn(*shape, dtype=None, requires_grad=None, generator=None, size=None):
    """Standard normal samples from ``npg.random`` (or an explicit ``numpy.random.Generator``); complex
    ones for a complex ``dtype``, as ``torch.randn`` (``E|z|^2 = 1``); under ``vmap`` as its ``randomness`` says."""
    rng = _random.generator_for(generator, "randn")
    dt = _random_dtype(dtype, "randn")

    def draw(shape):  # (complex: as torch.randn, real and imaginary parts independent, each of variance 1/2)
        out = _random.normal_draws(rng, 0.0, 1.0, shape, dt) if dt.kind == "c" else rng.standard_normal(shape)
        return _leaf(out.astype(dt, copy=False), requires_grad, "randn")
    return _random.vmap_draw(draw, _dims(shape, size, "randn"), "randn")


def rand(*shape, dtype=None, requires_grad=None, generator=None, size=None):
    """Uniform samples in ``[0, 1)`` (real and imaginary parts each, for a complex ``dtype``, as ``torch.rand``);
    under ``vmap`` as its ``randomness`` says."""
    rng = _random.generator_for(generator, "rand")
    dt = _random_dtype(dtype, "rand")

    def draw(shape):  # (on the dtype's grid: no float16 / float32 draw rounds up to 1; complex: each part so)
        return _leaf(_random.uniform_between(rng, 0.0, 1.0, shape, dt), requires_grad, "rand")
    return _random.vmap_draw(draw, _dims(shape, size, "rand"), "rand")


def _random_like(draw, name, x, dtype, requires_grad, generator):
    """``draw`` (randn or rand) with ``x``'s shape and, unless ``dtype`` is given, its dtype, as torch's ``*_like``
    (a float or complex dtype: torch refuses an integer one too)."""
    dt = np.dtype(dtype) if dtype is not None else (x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype)
    if dt.kind not in "fc":
        raise TypeError(f"{name}: needs a floating-point or complex dtype, got {dt} (pass dtype=)")
    return draw(*np.shape(x) if not isinstance(x, Tensor) else x.shape, dtype=dt, requires_grad=requires_grad,
                generator=generator)


def randn_like(x, dtype=None, requires_grad=None, generator=None):
    """Standard normal samples with the shape and dtype of ``x``, as ``torch.randn_like`` (``npg.randn``'s draws)."""
    return _random_like(randn, "randn_like", x, dtype, requires_grad, generator)


def rand_like(x, dtype=None, requires_grad=None, generator=None):
    """Uniform samples in ``[0, 1)`` with the shape and dtype of ``x``, as ``torch.rand_like``."""
    return _random_like(rand, "rand_like", x, dtype, requires_grad, generator)


def randint(low, high=None, size=(), dtype=np.int64, generator=None):
    """Random integers in ``[low, high)``, as ``Generator.integers``; under ``vmap`` as its ``randomness``
    says."""
    rng = _random.generator_for(generator, "randint")
    size = _size(size, "randint")

    def draw(s):
        try:
            return _leaf(rng.integers(low, high, size=s, dtype=dtype), False, "randint")
        except (TypeError, ValueError) as e:   # (NumPy's bare "low >= high": name the op and the arguments)
            hint = (" (npg.randint is NumPy's randint(low, high, size): torch's randint(high, size) is "
                    "npg.randint(0, high, size))" if isinstance(high, (tuple, list)) else "")
            raise type(e)(f"randint(low={low!r}, high={high!r}, dtype={dtype!r}): {e}{hint}") from None
    return _random.vmap_draw(draw, size, "randint")


def _holds_tensor(obj):
    if isinstance(obj, Tensor):
        return True
    return isinstance(obj, (list, tuple)) and any(_holds_tensor(e) for e in obj)


def _stack_nested(obj):
    from .ops import stack  # (the ops package imports this module's siblings)
    if isinstance(obj, (list, tuple)) and _holds_tensor(obj):
        return stack([_stack_nested(e) for e in obj])
    return obj if isinstance(obj, Tensor) else np.asarray(obj)


def _as_array(obj, dtype, ndmin, copy, order, like, where):
    """``array`` / ``asarray``: a tensor, or (nested) lists holding tensors, stay in the graph (stacked, as HIPS
    autograd's ``np.array([a, b])``); other data becomes a constant tensor, as NumPy arrays are in npgrad's ops.
    ``copy`` as NumPy 2's: True always copies, None where needed, False never (a ValueError where one is needed)."""
    _check_like(like, where)
    order = "K" if order is None else order
    if not _holds_tensor(obj):
        if isinstance(obj, np.ndarray) and type(obj) is not np.ndarray:
            plain_array(obj, where, operand=False)  # (a MaskedArray: refused, not stripped of its mask)
        arr = _numpy(where, np.array, obj, dtype=dtype, ndmin=ndmin, copy=copy, order=order)
        arr = canonical(check_numeric(arr, where), where, copy)
        from .tensor import _wrap
        return _wrap(arr)
    t = _stack_nested(obj)
    if not isinstance(t, Tensor):  # (an empty list of lists, say)
        return _as_array(t, dtype, ndmin, copy, order, None, where)
    if order not in ("K", "A", "C", "F"):
        raise ValueError(f"{where}: order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    if t is not obj:
        copied = "stacking a list of tensors"
    elif dtype is not None and np.dtype(dtype) != t.dtype:
        copied = f"casting from {t.dtype} to {np.dtype(dtype)}"
    elif (order == "C" and not t.data.flags.c_contiguous) or (order == "F" and not t.data.flags.f_contiguous):
        copied = f"laying the tensor out in order {order!r}"
    else:
        copied = "the copy asked for" if copy else ""
    if copied and copy is False:
        raise ValueError(f"{where}: unable to avoid a copy ({copied}) with copy=False; "
                         f"use copy=None (npg.asarray) to allow one where needed")
    if dtype is not None and np.dtype(dtype) != t.dtype:
        t = t.astype(dtype)
    if copied and (t is obj or (order == "C" and not t.data.flags.c_contiguous)
                   or (order == "F" and not t.data.flags.f_contiguous)):
        from .ops import copy as _copy
        t = _copy(t, order=order)
    if t.ndim < ndmin:
        t = t.reshape((1,) * (ndmin - t.ndim) + t.shape)
    return t


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """``np.array``: a new tensor. Of a tensor, or of (nested) lists and tuples holding tensors, it is
    differentiable (a copy, or their stack, as HIPS autograd's ``np.array``); other data gives a constant tensor
    (no gradient, as a NumPy array mixed into npgrad's ops; ``npg.tensor`` makes a leaf that requires grad).
    ``copy=False`` raises a ValueError where a copy cannot be avoided, as NumPy 2 does; ``subok`` has no effect."""
    return _as_array(object, dtype, ndmin, copy, order, like, "array")


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``np.asarray``: ``a`` itself if it is a tensor of ``dtype`` (and ``order``); else as ``npg.array``, copying
    only where needed (``copy=True`` always, ``copy=False`` never: a ValueError where it would be needed)."""
    _numpy("asarray", np.empty, (), device=device)  # (NumPy's check of device)
    return _as_array(a, dtype, 0, copy, order, like, "asarray")
