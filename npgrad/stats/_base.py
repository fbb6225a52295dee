"""npg.stats' shared pieces: method arguments, result dtypes, the masks of a support, the parameter domains,
the base class."""
import functools
import inspect

import numpy as np

from ..ops import elementwise as _ew
from ..tensor import Tensor, _wrap


def _arg(v, where):
    """A method argument: Tensors and Python numbers as they are, anything else as a constant tensor."""
    if isinstance(v, (Tensor, int, float)) and not isinstance(v, bool):
        return v
    arr = np.asarray(v)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"npgrad.stats.{where}: unsupported argument of dtype {arr.dtype}")
    return _wrap(arr)


def _fn(op, *args):
    """``op(*args)``, a Python float when every argument is a Python number (so it stays weak, as the number
    was: a float32 value with ``scale=1.0`` gives a float32 result)."""
    out = op(*args)
    if all(isinstance(a, (int, float)) for a in args):
        return float(out.data)
    return out


def _ratio(num, scale):
    """``num / scale``; of Python numbers with ``scale == 0``, NumPy's inf or NaN (which the domain check then
    makes NaN, as SciPy's result) rather than Python's ZeroDivisionError."""
    if isinstance(num, (int, float)) and isinstance(scale, (int, float)) and scale == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(num) / np.float64(scale))
    return num / scale


def _data(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _float_dtype(*vals):
    """The floating dtype of a result from these arguments (weak Python numbers; integers give float64)."""
    dt = np.result_type(*(v.data if isinstance(v, Tensor) else v for v in vals))
    return dt if dt.kind == "f" else np.dtype(np.float64)


def _outside(mask, value, logp):
    """``logp`` with ``value`` where ``mask`` holds (no gradient flows there, and none from there)."""
    mask = np.asarray(mask)
    if not mask.any():
        return logp
    return _ew.where(mask, value, logp)


def _safe(v, mask, fill):
    """``v`` with ``fill`` where ``mask``: the second where of the double-where idiom (a branch that is
    thrown away must not produce NaN gradients)."""
    mask = np.asarray(mask)
    if not mask.any():
        return v
    return _ew.where(mask, fill, v)


def _nan_where(bad, out):
    """``out`` with NaN where ``bad`` holds (broadcasting), keeping its dtype; no gradient flows from there."""
    bad = np.asarray(bad)
    if not bad.any():
        return out
    if not isinstance(out, Tensor):
        out = _wrap(np.asarray(out, dtype=np.float64))
    return _ew.where(bad, np.array(np.nan, dtype=out.dtype), out)


def _domain(check):
    """Method decorator: the result is NaN wherever ``check`` (given the method's arguments by name, as arrays)
    says the parameters lie outside their domain (``scale <= 0``, a negative shape...), as SciPy's, rather than
    a number computed from formulas that do not hold there."""
    def decorate(method):
        sig = inspect.signature(method)

        @functools.wraps(method)
        def checked(self, *args, **kwargs):
            out = method(self, *args, **kwargs)
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            values = {k: _data(v) for k, v in bound.arguments.items() if k != "self"}
            with np.errstate(invalid="ignore"):
                bad = check(**values)
            return _nan_where(bad, out)
        return checked
    return decorate


def _params_domain(check):
    """Class decorator: ``_domain(check)`` on each of the distribution's public methods."""
    def decorate(cls):
        for name in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "logpmf", "pmf"):
            if name in cls.__dict__:
                setattr(cls, name, _domain(check)(cls.__dict__[name]))
        return cls
    return decorate


def _not_positive(*vals):
    """Where any of ``vals`` is not > 0 (NaN included)."""
    bad = np.asarray(False)
    for v in vals:
        bad = bad | ~(np.asarray(v, dtype=np.float64) > 0)
    return bad


class _Distribution:
    name = ""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"npgrad.stats.{self.name} has no frozen form: pass the parameters to each method, "
                        f"e.g. npg.stats.{self.name}.logpdf(x, ...)")

    def __repr__(self):
        return f"<npgrad.stats.{self.name}>"



def _log_prob(p, q):
    """``log(p)`` for a probability ``p = 1 - q`` given both (each computed on its own): ``log(p)`` where
    p <= 1/2, ``log1p(-q)`` above (where p is rounded next to 1). Each branch at a safe value where it is
    not taken."""
    low = np.asarray(_data(p) <= 0.5)
    with np.errstate(divide="ignore"):    # (log 0 = -inf outside the support, as SciPy, without a warning)
        return _ew.where(low, _ew.log(_safe(p, ~low, 0.5)), _ew.log1p(-_safe(q, low, 0.5)))
