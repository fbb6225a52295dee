"""NumPy's protocols for Tensors: ``np.add(t, 1)`` or ``np.mean(t)`` run the npgrad op of that name (the
tables UFUNCS and FUNCTIONS, filled by ``npgrad/ops/__init__.py`` family by family); anything else raises a
TypeError naming the NumPy function, never a silent conversion that would drop the gradient."""
import sys

UFUNCS = {}       # NumPy ufunc -> npgrad op
FUNCTIONS = {}    # NumPy function -> npgrad op
UFUNC_KWARGS = {}  # NumPy ufunc -> the keywords its npgrad op takes (np.vecdot's axis=); others are refused
UFUNC_METHODS = {}  # "outer" / "reduce" / "accumulate" / "at" -> fn(ufunc, *inputs, **kwargs) (ops/ufunc_methods.py)


def _ufunc_module(ufunc):
    """The module that exports ``ufunc`` (SciPy's ufuncs have no ``__module__``): the shortest such name."""
    if getattr(ufunc, "__module__", None):
        return ufunc.__module__
    found = [m for m, mod in list(sys.modules.items()) if getattr(mod, "__dict__", {}).get(ufunc.__name__) is ufunc]
    return (sorted(found, key=len) or ["numpy"])[0]  # (min is npgrad's here)


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    fn = UFUNCS.get(ufunc)
    if method != "__call__" and method in UFUNC_METHODS:
        r = UFUNC_METHODS[method](ufunc, *inputs, **kwargs)
        if r is not NotImplemented:
            return r
    if method != "__call__" or fn is None or not kwargs.keys() <= UFUNC_KWARGS.get(ufunc, set()):
        what = f"{_ufunc_module(ufunc)}.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        why = f" with {sorted(kwargs)}" if kwargs and fn is not None else ""
        raise TypeError(f"npgrad does not implement {what}{why} for Tensors; use np.asarray(t) (or t.data) "
                        f"for a result without gradient")
    return fn(*inputs, **kwargs)


def _qualified(func):
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{func.__name__}" if module.startswith("numpy") else f"numpy.{func.__name__}"


def array_function(self, func, types, args, kwargs):
    fn = FUNCTIONS.get(func)
    if fn is None:
        raise TypeError(f"npgrad does not implement {_qualified(func)} for Tensors; use np.asarray(t) "
                        f"(or t.data) for a result without gradient")
    if len(args) > 1:
        args, kwargs = _as_numpy_binds(func, fn, args, kwargs)
    return fn(*args, **kwargs)


_SHARED = {}  # NumPy function -> (how many leading positional parameters npgrad's op shares, NumPy's parameters)


def _positional(f):
    import inspect
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _as_numpy_binds(func, fn, args, kwargs):
    """``np.X(t, *args)`` binds ``args`` as NumPy's ``X`` does. Past the leading parameters npgrad's op shares
    with NumPy (required ones, or the same names in the same places) they go as keywords by NumPy's names:
    ``np.sum(t, 0, None, None, True)`` is ``keepdims=True`` (npgrad's third parameter is keepdims, NumPy's
    dtype). A NumPy default left in place (``out=None``) is dropped; a keyword npgrad's op lacks is its
    TypeError."""
    if func not in _SHARED:
        ours, theirs = _positional(fn), _positional(func)
        if ours is None or theirs is None:
            _SHARED[func] = None
        else:
            k = 1
            while k < min(len(ours), len(theirs)) and (ours[k].name == theirs[k].name  # required ones: by place
                                                         or theirs[k].default is theirs[k].empty):
                k += 1
            _SHARED[func] = (k, theirs)
    shared = _SHARED[func]
    if shared is None or len(args) <= shared[0]:
        return args, kwargs
    k, theirs = shared
    kwargs = dict(kwargs)
    for p, v in zip(theirs[k:], args[k:]):
        if p.name in kwargs:
            raise TypeError(f"{func.__name__}() got multiple values for argument '{p.name}'")
        if v is not p.default:
            kwargs[p.name] = v
    return args[:k], kwargs
