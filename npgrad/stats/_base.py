"""npg.stats' shared pieces: method arguments, result dtypes, the masks of a support, the base class."""
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
    return _ew.where(low, _ew.log(_safe(p, ~low, 0.5)), _ew.log1p(-_safe(q, low, 0.5)))
