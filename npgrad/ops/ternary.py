"""The elementwise ops with three inputs: ``where(condition, x, y)`` and ``clip(x, a_min, a_max)``, each with its
VJPs (one per input) beside it; their JVPs are the same formulas (an elementwise op's Jacobian is diagonal).
"""
import builtins

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from ._util import as_input
from .elementwise import _tm, real_only_error


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y`` (broadcasting); the gradient goes to the chosen one."""
    if _tm._VMAP:
        r = _tm._vmap_call("elementwise", where, (condition, x, y), None)
        if r is not NotImplemented:
            return r
    cd = condition.data if isinstance(condition, Tensor) else np.asarray(const(condition, "where"))
    if cd.dtype != bool:
        cd = cd.astype(bool)
    xd = x.data if isinstance(x, Tensor) else const(x, "where")
    yd = y.data if isinstance(y, Tensor) else const(y, "where")
    try:
        out = np.where(cd, xd, yd)
    except ValueError:
        raise ValueError(f"where: condition, x and y could not be broadcast together with shapes "
                         f"{cd.shape}, {np.shape(xd)} and {np.shape(yd)}") from None
    return _make(out, "where", (cd, x, y), (cd, xd, yd), _WHERE_VJPS, _WHERE_VJPS)  # JVP: DIAG


_versions.reads("where", "", "a", "a")  # the condition (a) picks where the gradient goes
_WHERE_VJPS = (None,
               lambda g, out, c, x, y: np.where(c, g, 0),
               lambda g, out, c, x, y: np.where(c, 0, g))


def clip(x, a_min=None, a_max=None, out=None, *, min=None, max=None):
    """Limit ``x`` to ``[a_min, a_max]`` (either may be None; or NumPy 2.1's keywords ``min``, ``max``). As
    torch.clamp, the gradient passes to ``x`` where ``a_min <= x <= a_max`` and to a bound where it is the one
    chosen. With neither bound, a copy of ``x``, as NumPy 2 (``torch.clamp`` raises)."""
    if out is not None or (min is not None or max is not None) and (a_min is not None or a_max is not None):
        raise (TypeError("clip: out= is not supported for Tensors (use the result)") if out is not None else
               ValueError("clip: passing min or max together with a_min or a_max is forbidden (as in NumPy)"))
    a_min, a_max = (a_min, a_max) if min is None and max is None else (min, max)
    if a_min is None and a_max is None:
        from .arrays import copy
        return copy(as_input(x, "clip"))
    if _tm._VMAP:
        r = _tm._vmap_call("elementwise", clip, (x, a_min, a_max), None)
        if r is not NotImplemented:
            return r
    xd = x.data if isinstance(x, Tensor) else np.asarray(const(x, "clip"))
    if xd.dtype.kind == "c":
        raise real_only_error("clip", xd)
    if xd.dtype.kind in "biu" and builtins.all(v.dtype.kind in "biu" for v in (a_min, a_max) if isinstance(v, Tensor)):
        # integers (by integer bounds) keep their dtype, as NumPy's clip (the infinite default bounds below would
        # make them float); nothing here can carry a gradient
        return _wrap(np.clip(xd, *(v if v is None else v.data if isinstance(v, Tensor) else const(v, "clip")
                                   for v in (a_min, a_max))))
    lo = -np.inf if a_min is None else a_min
    hi = np.inf if a_max is None else a_max
    lod = lo.data if isinstance(lo, Tensor) else const(lo, "clip")
    hid = hi.data if isinstance(hi, Tensor) else const(hi, "clip")
    out = np.minimum(np.maximum(xd, lod), hid)
    return _make(out, "clip", (x, lo, hi), (xd, lod, hid), _CLIP_VJPS, _CLIP_VJPS)  # JVP: DIAG


_versions.reads("clip", "abc")
_CLIP_VJPS = (lambda g, y, x, lo, hi: np.where((x >= lo) & (x <= hi), g, 0),
              lambda g, y, x, lo, hi: np.where((x < lo) & (lo <= hi), g, 0),
              lambda g, y, x, lo, hi: np.where((x > hi) | (lo > hi), g, 0))
