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
    return fn(*args, **kwargs)
