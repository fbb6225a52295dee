"""NumPy's ``where=`` (sum, prod, max, min, mean, var, std) and ``initial=`` (sum, prod, max, min) for the
reductions of reduce.py, as wrappers around them: elements outside the mask are replaced by the reduction's
identity (so they get a zero gradient), and ``initial`` joins the result as one more element. Without either
keyword the wrapped reduction is called as it was."""
import functools
import inspect

import numpy as np

from ..tensor import Tensor, _wrap
from ._util import as_input, normalize_axis, refuse_out, zero_d_axis

_NOVALUE = np._NoValue


def _VMAP():
    import importlib
    return importlib.import_module("..tensor", __package__)._VMAP


def _mask(name, where, x):
    m = np.asarray(where.data if isinstance(where, Tensor) else where)
    if m.dtype != bool:
        raise TypeError(f"{name}: where= must be a boolean mask, got dtype {m.dtype}")
    try:
        return np.broadcast_to(m, x.shape)
    except ValueError:
        raise ValueError(f"{name}: where= of shape {m.shape} does not broadcast to the input's shape "
                         f"{x.shape}") from None


def _lowest(dtype, largest):
    """The element that never wins a max (``largest``: a min): -inf / +inf, or the integer type's bound."""
    if dtype == bool:
        return np.array(largest, bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array(info.max if largest else info.min, dtype)
    return np.array(np.inf if largest else -np.inf, dtype)


def ddof_or_correction(name, ddof, correction):
    """``correction`` (NumPy 2's and PyTorch's name for ``ddof``) given to var / std."""
    if ddof != 0:
        raise ValueError(f"{name}: ddof and correction can't be provided simultaneously")
    return correction


def masked(name, kind, fn, x, where, initial, a):
    """The reduction ``fn(x, **a)`` (``kind`` "sum", "prod", "max", "min", "mean", "var" or "std"; a ``name``
    starting with "nan" is the NaN-ignoring form) with NumPy's ``where=`` mask and, for sum, prod, max and min,
    ``initial=`` (``np._NoValue``: none). The reductions call it only when one of the two is given."""
    from .elementwise import maximum, minimum, sqrt, where as _where
    from .elementwise_more import fmax, fmin
    ignore_nan = name.startswith("nan")
    if initial is not _NOVALUE and kind not in ("sum", "prod", "max", "min"):
        raise TypeError(f"{name}() got an unexpected keyword argument 'initial'")
    x = as_input(x, name)
    if a.get("out") is not None:
        refuse_out(name, a["out"])
    dtype = a.get("dtype")
    if dtype is not None and kind in ("sum", "prod"):
        x, a["dtype"] = x.astype(dtype), None
    axis = a["axis"]
    keepdims = a.get("keepdims", False)
    mask = None if where is True else _mask(name, where, x)
    if kind in ("sum", "prod"):
        if mask is not None:
            x = _where(mask, x, np.zeros((), x.dtype) if kind == "sum" else np.ones((), x.dtype))
        r = fn(x, **a)
        if initial is not _NOVALUE:
            init = np.asarray(initial).astype(r.dtype)
            r = r + init if kind == "sum" else r * init
        return r
    if kind in ("max", "min"):
        if initial is _NOVALUE:
            raise ValueError(f"{name}: the reduction has no identity, so where= needs initial= (as NumPy's "
                             f"'reduction operation ... does not have an identity')")
        axes = normalize_axis(zero_d_axis(axis, x.ndim), x.ndim, name)
        if x.size == 0 or any(x.shape[i] == 0 for i in axes):  # every slice empty: initial only (as NumPy)
            return _wrap(np.asarray((np.max if kind == "max" else np.min)(
                x.data, axis=axes, keepdims=keepdims, initial=initial,
                where=True if mask is None else mask)))
        if mask is not None:
            x = _where(mask, x, _lowest(x.dtype, largest=kind == "min"))
        r = fn(x, axis=axis, keepdims=keepdims)
        init = np.asarray(initial).astype(r.dtype)
        if ignore_nan:   # (an all-NaN slice gives initial, as np.fmax.reduce)
            return fmax(r, init) if kind == "max" else fmin(r, init)
        return maximum(r, init) if kind == "max" else minimum(r, init)
    # mean, var, std: over the masked elements (their count), as NumPy
    axes = normalize_axis(axis, x.ndim, name)
    if dtype is not None:
        x = x.astype(dtype)
    elif x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    half = x.dtype == np.float16   # (in float32 and cast back, as torch: float16's count and sums overflow past 65504)
    if half:
        x = x.astype(np.float32)
    real = np.finfo(x.dtype).dtype
    if ignore_nan and x.dtype.kind in "fc":
        if _VMAP():
            raise NotImplementedError(f"{name}: where= is not supported under vmap")
        mask = ~np.isnan(x.data) & (True if mask is None else mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = mask.sum(axis=axes, keepdims=True).astype(real)
        xm = _where(mask, x, np.zeros((), x.dtype))
        mean = xm.sum(axis=axes, keepdims=True) / n
        if kind == "mean":
            out = mean if keepdims else mean.reshape(np.sum(n, axis=axes).shape)
            return out.astype(np.float16) if half else out
        ddof = a.get("ddof", 0)
        d = _where(mask, x - mean, np.zeros((), x.dtype))
        sq = d * d if x.dtype.kind != "c" else (d * d.conj()).real
        dof = np.maximum(n - ddof, 0)
        if np.any(dof <= 0):
            import warnings
            warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        out = sq.sum(axis=axes, keepdims=True) / dof
        if kind == "std":  # (a zero gradient where the std is 0, as npgrad's std)
            zero = out.data == 0
            out = sqrt(_where(zero, np.ones((), out.dtype), out)) * (~zero).astype(out.dtype)
    out = out if keepdims else out.reshape(np.sum(n, axis=axes).shape)
    return out.astype(np.float16) if half else out


def with_where_initial(fn, name, kind):
    """``fn`` (a reduction ``fn(x, axis, ...)``: the nan-reductions of stats.py) taking NumPy's ``where=`` and,
    for kind "sum" / "prod" / "max" / "min", ``initial=``, as a wrapper (``masked``); kind "mean", "var" and
    "std" take ``where=`` only, as NumPy, and var / std ``correction=``."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    extra = [inspect.Parameter("where", inspect.Parameter.KEYWORD_ONLY, default=True)]
    if kind in ("sum", "prod", "max", "min"):
        extra.append(inspect.Parameter("initial", inspect.Parameter.KEYWORD_ONLY, default=_NOVALUE))
    if kind in ("var", "std"):
        extra.append(inspect.Parameter("correction", inspect.Parameter.KEYWORD_ONLY, default=_NOVALUE))

    @functools.wraps(fn)
    def f(x, *args, where=True, initial=_NOVALUE, **kwargs):
        if kind in ("var", "std") and kwargs.get("correction", _NOVALUE) is not _NOVALUE:
            b = sig.bind_partial(x, *args, **{k: v for k, v in kwargs.items() if k != "correction"})
            b.arguments["ddof"] = ddof_or_correction(name, b.arguments.get("ddof", 0), kwargs["correction"])
            args, kwargs = b.args[1:], b.kwargs
        kwargs.pop("correction", None)
        if where is True and initial is _NOVALUE:
            return fn(x, *args, **kwargs)
        bound = sig.bind(x, *args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        return masked(name, kind, fn, a.pop(params[0].name), where, initial, a)

    f.__signature__ = sig.replace(parameters=params + extra)
    return f
