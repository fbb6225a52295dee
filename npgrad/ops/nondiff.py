"""NumPy functions without a gradient (indices, counts, tests, set operations), on tensors.

Each runs NumPy on the tensors' data and returns NumPy's result with every array wrapped as a
constant tensor (integer indices as int64/intp tensors, masks as bool tensors, which index tensors
and arrays alike); Python scalars (``allclose``, ``count_nonzero()``, ``ndim``) stay Python scalars.
Only ``bincount``'s ``weights`` carry a gradient: the counts are a sum of the weights. (``unique``, whose values
are elements of its input, is differentiable: ops/unique.py; it is exported from here with the others.)
"""
import numpy as np

from ..autograd import forward_ad as _fwd
from ..autograd.grad_mode import _state
from ..tensor import Tensor, _wrap
from . import elementwise as _elementwise
from .index import scatter_add
from ._util import batching_rule, named_error
from .shape import broadcast_to
from .unique import unique  # noqa: F401  (differentiable values; exported with these)

_NO = object()


def _raw(x):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        return type(x)(_raw(v) for v in x)
    return x


def _wrapped(result):
    if isinstance(result, (np.ndarray, np.generic)):
        return _wrap(np.asarray(result))
    if isinstance(result, tuple):
        return type(result)(*(_wrapped(r) for r in result)) if hasattr(result, "_fields") else \
            tuple(_wrapped(r) for r in result)
    if isinstance(result, list):
        return [_wrapped(r) for r in result]
    return result


def _passthrough(npfn, doc=None, vmap="loop"):
    """``npfn`` applied to the tensors' data, its arrays returned as constant tensors; ``vmap`` names its
    batching rule (``npgrad/_vmap_rules.py``; "loop": per sample, e.g. results whose shape depends on the data)."""
    def fn(*args, **kwargs):
        args, kwargs = [_raw(a) for a in args], {k: _raw(v) for k, v in kwargs.items()}
        try:
            r = npfn(*args, **kwargs)
        except (TypeError, ValueError, IndexError) as e:  # (NumPy's message, named: never a bare one)
            raise named_error(fn.__name__, e) from None
        return _wrapped(r)
    fn.__name__ = fn.__qualname__ = npfn.__name__
    fn.__doc__ = doc
    fn.__wrapped__ = npfn  # (its signature, for the batching rules)
    return batching_rule(vmap)(fn)


argsort = _passthrough(np.argsort, "Indices that sort ``a`` along ``axis``, as ``np.argsort`` (an int tensor).",
                       vmap="axis_flatten")
argpartition = _passthrough(np.argpartition, "Indices that partition ``a`` around ``kth``, as ``np.argpartition``.",
                            vmap="axis_flatten")
lexsort = _passthrough(np.lexsort, "Indirect stable sort on several keys (the last is primary), as ``np.lexsort``.",
                       vmap="lexsort")
nonzero = _passthrough(np.nonzero, "Indices of the non-zero elements, one int tensor per axis, as ``np.nonzero``.")
argwhere = _passthrough(np.argwhere, "Indices of the non-zero elements, one row each, as ``np.argwhere``.")
flatnonzero = _passthrough(np.flatnonzero, "Indices of the non-zero elements of the flattened input.")
count_nonzero = _passthrough(np.count_nonzero, "Number of non-zero elements (along ``axis``), as ``np.count_nonzero``.",
                             vmap="axis_all")
searchsorted = _passthrough(np.searchsorted, "Insertion indices of ``v`` into the sorted ``a``, as "
                                             "``np.searchsorted``.", vmap="searchsorted")
digitize = _passthrough(np.digitize, "Bin indices of ``x`` for ``bins``, as ``np.digitize``.", vmap="first_only")
isin = _passthrough(np.isin, "Whether each element is in ``test_elements``, as ``np.isin`` (a bool tensor).",
                    vmap="first_only")
isclose = _passthrough(np.isclose, "Elementwise closeness within tolerances, as ``np.isclose`` (a bool tensor).",
                       vmap="elementwise")
allclose = _passthrough(np.allclose, "Whether all elements are close within tolerances, as ``np.allclose``.")
array_equal = _passthrough(np.array_equal, "Whether two arrays have the same shape and elements (a Python bool).")
array_equiv = _passthrough(np.array_equiv, "Whether two arrays are broadcast-equal (a Python bool).")
nanargmax = _passthrough(np.nanargmax, "Indices of the maximum ignoring NaNs, as ``np.nanargmax``.",
                         vmap="axis_flatten")
nanargmin = _passthrough(np.nanargmin, "Indices of the minimum ignoring NaNs, as ``np.nanargmin``.",
                         vmap="axis_flatten")


def _tracked(t):
    """Whether ``t`` is differentiated: it requires grad (in grad mode) or carries a forward-mode tangent."""
    return isinstance(t, Tensor) and ((t._requires_grad and _state.enabled) or _fwd.is_dual(t))


@batching_rule("loop")
def histogram(a, bins=10, range=None, density=None, weights=None):
    """Histogram counts and bin edges, as ``np.histogram``. The counts are constant; the edges move with the
    data's min and max when NumPy derives them from those (``bin_edges``), and with ``bins`` when it is a tensor
    of edges; ``density=True`` values follow the edges' widths. Not differentiable in ``weights`` (an error)."""
    if _tracked(weights):
        raise TypeError("histogram: not differentiable in weights; pass weights.detach(), or use npg.bincount "
                        "with npg.digitize for a histogram differentiable in its weights")
    try:
        hist, edges = np.histogram(_raw(a), bins=_raw(bins), range=range, density=density, weights=_raw(weights))
    except (TypeError, ValueError) as e:
        raise named_error("histogram", e) from None
    edges_t = bin_edges(a, edges, bins, range)
    if not density or not isinstance(edges_t, Tensor) or not edges_t._requires_grad:
        return _wrap(hist), edges_t
    counts = np.histogram(_raw(a), bins=edges, weights=_raw(weights))[0]
    from .differences import diff
    dens = counts / diff(edges_t) / counts.sum()   # (NumPy's formula, recorded; its values are NumPy's below)
    return _wrap(hist) + (dens - dens.detach()), edges_t


def bin_edges(a, edges, bins, range):
    """NumPy's histogram ``edges`` as a tensor that moves with what they came from: ``bins`` itself when it is
    a tensor of edges, else (no ``range``) the min and max of ``a``: edge k = min + (max - min) k / n (ties at
    the min or max split their share, as ``min`` / ``max``). The values stay NumPy's, exactly."""
    if isinstance(bins, Tensor) and bins.ndim == 1 and _tracked(bins):
        from .arrays import copy
        return copy(bins) if bins.dtype == edges.dtype else _wrap(edges)
    derived = isinstance(bins, (str, int, np.integer)) and not isinstance(bins, bool)   # (else: edges given)
    if not derived or range is not None or not _tracked(a) or np.size(_raw(a)) == 0 or edges.dtype.kind != "f":
        return _wrap(edges)
    flat = a.reshape(-1)
    frac = np.linspace(0.0, 1.0, len(edges)).astype(edges.dtype)
    moved = flat.min() * (1 - frac) + flat.max() * frac
    return _wrap(edges) + (moved - moved.detach())


@batching_rule("loop")
def bincount(x, weights=None, minlength=0):
    """Occurrences of each non-negative integer in ``x`` (summed ``weights`` if given), as
    ``np.bincount``; differentiable in tensor ``weights`` (each count's gradient goes to its weights)."""
    xd = np.asarray(_raw(x))
    out = np.bincount(xd, weights=_raw(weights), minlength=minlength)
    if _tracked(weights):
        w = weights if weights.dtype.kind == "f" else weights.astype(np.float64)
        return scatter_add(out.shape, (xd,), w.astype(out.dtype) if w.dtype != out.dtype else w)
    return _wrap(out)


def where(condition, x=_NO, y=_NO):
    """``np.where``: with ``x`` and ``y``, elements of ``x`` where ``condition`` holds, else of ``y``
    (differentiable in both); with the condition alone, ``nonzero(condition)``."""
    if x is _NO and y is _NO:
        return nonzero(condition)
    if x is _NO or y is _NO:
        raise ValueError("where: either both or neither of x and y should be given")
    return _elementwise.where(condition, x, y)


@batching_rule("like")
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """``np.full_like`` on a tensor: a constant tensor; a tensor ``fill_value`` that requires grad is
    broadcast differentiably."""
    ad = _raw(a)
    if _tracked(fill_value):
        target = np.shape(ad) if shape is None else ((shape,) if isinstance(shape, int) else tuple(shape))
        dt = np.dtype(dtype) if dtype is not None else np.asarray(ad).dtype
        return broadcast_to(fill_value.astype(dt) if fill_value.dtype != dt else fill_value, target)
    return _wrap(np.full_like(ad, _raw(fill_value), dtype=dtype, order=order, shape=shape))


@batching_rule("like")
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """``np.empty_like`` on a tensor: an uninitialised constant tensor."""
    return _wrap(np.empty_like(_raw(prototype), dtype=dtype, order=order, shape=shape))


@batching_rule("like")
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """``np.zeros_like`` on a tensor: a constant tensor (a buffer that ``u[1:-1] = ...`` may then fill with
    values that require grad, as ``np.empty_like``'s and ``np.full_like``'s)."""
    return _wrap(np.zeros_like(_raw(a), dtype=dtype, order=order, shape=shape))


@batching_rule("like")
def ones_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """``np.ones_like`` on a tensor: a constant tensor."""
    return _wrap(np.ones_like(_raw(a), dtype=dtype, order=order, shape=shape))


def shape(a):
    """The shape of ``a``, as ``np.shape``."""
    return tuple(a.shape) if isinstance(a, Tensor) else np.shape(_raw(a))  # (a batched tensor: per sample)


def ndim(a):
    """The number of dimensions of ``a``, as ``np.ndim``."""
    return a.ndim if isinstance(a, Tensor) else np.ndim(_raw(a))


def size(a, axis=None):
    """The number of elements of ``a`` (along ``axis``), as ``np.size``."""
    if isinstance(a, Tensor):  # its shape only (a batched tensor: the per-sample one)
        return a.size if axis is None else np.size(np.broadcast_to(np.empty((), bool), a.shape), axis)
    return np.size(_raw(a), axis)
