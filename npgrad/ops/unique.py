"""Unique values and the 1-D set operations, differentiable in their values.

``np.unique`` (NumPy 2's ``unique_all`` / ``unique_counts`` / ``unique_inverse`` / ``unique_values``), the set
operations ``union1d`` / ``intersect1d`` / ``setdiff1d`` / ``setxor1d`` and ``torch.unique_consecutive`` return
values that are elements (or slices) of their inputs. Each value is recorded as the mean of the group of input
elements equal to it (``grouped``): its gradient goes to those elements, split evenly among equal ones (ties
split, as ``torch.amax``'s), and the values themselves are NumPy's, exactly. Away from ties that is the exact
derivative (a unique value is then one element); before, these functions returned constants, and a loss that
read them lost that part of its gradient without a word. (PyTorch records ``torch.unique`` and raises when
backward reaches it.) Indices, inverse indices and counts stay constant integer tensors.
"""
import numpy as np

from ..autograd import versions as _versions
from ..dtypes import check_numeric
from ..tensor import Tensor, _make, _wrap
from ._util import batching_rule, in_graph, named_error

_versions.reads("unique", "")  # the VJP reads neither the input nor the values


def grouped(x, values, inverse, counts, axis=None):
    """``values`` (an array: a unique-values result computed from ``x``'s data) as a tensor recorded from
    ``x``: value ``j`` is the mean of the elements of ``x`` (flattened, or its slices along ``axis``) whose
    ``inverse`` entry is ``j`` (``counts[j]`` of them, all equal to it)."""
    inv = np.asarray(inverse).reshape(-1)
    shape = x.shape
    k = len(counts)
    bshape = (k,) if axis is None else tuple(k if d == axis % len(shape) else 1 for d in range(len(shape)))
    cnt = np.asarray(counts).reshape(bshape)

    def vjp(g, y, xd):
        share = g / cnt.astype(g.dtype)
        if axis is None:
            return share[inv].reshape(shape)
        return np.take(share, inv, axis=axis)

    def jvp(t, y, xd):   # the transpose: each value's tangent is its group's mean tangent
        from .dim_index import index_add
        from .shape import moveaxis, reshape
        ax = 0 if axis is None else axis % len(shape)
        tm = reshape(t, (-1,)) if axis is None else moveaxis(t, ax, 0)
        total = index_add(_wrap(np.zeros((k,) + tuple(tm.shape[1:]), t.dtype)), 0, inv, tm)
        total = total / cnt.astype(t.dtype).reshape((k,) + (1,) * (len(tm.shape) - 1))
        return total if axis is None else moveaxis(total, 0, ax)

    return _make(values, "unique", (x,), (None,), (vjp,), (jvp,))


def _np_unique(name, data, **kw):
    try:
        return np.unique(data, return_index=True, return_inverse=True, return_counts=True, **kw)
    except (TypeError, ValueError, IndexError) as e:  # (NumPy's message, named: never a bare one)
        raise named_error(name, e) from None


def _constant(npfn, args, kwargs):
    """NumPy's result on the tensors' data, its arrays as constant tensors (numeric only: never strings)."""
    from .nondiff import _raw, _wrapped
    try:
        r = npfn(*[_raw(a) for a in args], **{k: _raw(v) for k, v in kwargs.items()})
        for a in (r if isinstance(r, tuple) else (r,)):
            check_numeric(np.asarray(a), npfn.__name__)
    except (TypeError, ValueError, IndexError) as e:
        raise named_error(npfn.__name__, e) from None
    return _wrapped(r)


def _values_grouped(name, x, axis=None, **kw):
    """(values recorded from ``x``, index, inverse, counts) of ``np.unique(x, axis=axis, **kw)``."""
    vals, idx, inv, cnt = _np_unique(name, x.data, axis=axis, **kw)
    return grouped(x, vals, inv, cnt, axis), idx, inv, cnt


def _npfn(fn, npfn):
    fn.__wrapped__ = npfn  # (its signature, for the batching rules)
    return batching_rule("loop")(fn)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           sorted=True):
    """The sorted unique elements of ``ar`` (or its unique slices along ``axis``), and with ``return_index``,
    ``return_inverse``, ``return_counts`` the first indices, the inverse indices and the counts (constant int
    tensors), as ``np.unique``. The values are differentiable: each one's gradient goes to the elements equal
    to it, split evenly among them."""
    kw = dict(equal_nan=equal_nan) if sorted is True else dict(equal_nan=equal_nan, sorted=sorted)  # (NumPy 2.3+)
    if not in_graph(ar):
        return _constant(np.unique, (ar, return_index, return_inverse, return_counts, axis), kw)
    vals, idx, inv, cnt = _values_grouped("unique", ar, axis, **kw)
    extra = [_wrap(a) for a, asked in ((idx, return_index), (inv, return_inverse), (cnt, return_counts)) if asked]
    return (vals, *extra) if extra else vals


unique = _npfn(unique, np.unique)


def _array_api(name, fields):
    """NumPy 2's ``np.<name>``: the named tuple of ``fields`` of ``np.unique_all`` (values differentiable)."""
    npfn = getattr(np, name)
    result = None if name == "unique_values" else type(npfn(np.zeros(1)))   # (NumPy's named tuple type)

    def fn(x):
        if not in_graph(x):
            return _constant(npfn, (x,), {})
        allr = np.unique_all(x.data)   # (every field the others return, and the groups the values need)
        vals = grouped(x, allr.values, allr.inverse_indices, allr.counts)
        if result is None:
            return vals
        return result(vals, *(_wrap(getattr(allr, f)) for f in result._fields[1:]))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"NumPy 2's ``np.{name}``: {fields}; the values are differentiable (each one's gradient split "
                  f"evenly among the elements equal to it), the rest constant int tensors.")
    return _npfn(fn, npfn)


unique_all = _array_api("unique_all", "the named tuple ``(values, indices, inverse_indices, counts)``")
unique_counts = _array_api("unique_counts", "the named tuple ``(values, counts)``")
unique_inverse = _array_api("unique_inverse", "the named tuple ``(values, inverse_indices)``")
unique_values = _array_api("unique_values", "the unique elements")


# ------------------------------------------------------------------------------ 1-D set operations
def _flat(a):
    from .shape import reshape
    return reshape(a, (-1,)) if isinstance(a, Tensor) else _wrap(np.asarray(a).reshape(-1))


def _concat(a, b):
    from .shape import concatenate
    return concatenate([_flat(a), _flat(b)])


def union1d(ar1, ar2):
    """The sorted unique values in either input (flattened), as ``np.union1d``; differentiable in both (a value
    in both splits its gradient among its copies)."""
    r = _constant(np.union1d, (ar1, ar2), {})   # (NumPy checks the inputs and gives the values)
    if not (in_graph(ar1) or in_graph(ar2)):
        return r
    return _values_grouped("union1d", _concat(ar1, ar2))[0]


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """The sorted unique values in both inputs, as ``np.intersect1d`` (with ``return_indices``: also the
    indices of their first occurrences in each, as int tensors). Differentiable: a value's gradient is split
    among its copies in both inputs."""
    r = _constant(np.intersect1d, (ar1, ar2, assume_unique, return_indices), {})
    if not (in_graph(ar1) or in_graph(ar2)):
        return r
    common = (r[0] if return_indices else r).data
    vals = _values_grouped("intersect1d", _concat(ar1, ar2))[0]
    kept = vals[np.isin(vals.data, common)]
    return (kept, *r[1:]) if return_indices else kept


def setdiff1d(ar1, ar2, assume_unique=False):
    """The sorted unique values of ``ar1`` not in ``ar2`` (``ar1``'s values in order when ``assume_unique``),
    as ``np.setdiff1d``; differentiable in ``ar1`` (its values do not move with ``ar2``'s)."""
    r = _constant(np.setdiff1d, (ar1, ar2, assume_unique), {})
    if not in_graph(ar1):
        return r
    other = ar2.data if isinstance(ar2, Tensor) else np.asarray(ar2)
    vals = _flat(ar1) if assume_unique else _values_grouped("setdiff1d", _flat(ar1))[0]
    return vals[np.isin(vals.data, other, invert=True)]


def setxor1d(ar1, ar2, assume_unique=False):
    """The sorted unique values in exactly one input, as ``np.setxor1d``; differentiable in both."""
    r = _constant(np.setxor1d, (ar1, ar2, assume_unique), {})
    if not (in_graph(ar1) or in_graph(ar2)):
        return r
    from .shape import concatenate
    parts = [_flat(a) if assume_unique else _values_grouped("setxor1d", _flat(a))[0] for a in (ar1, ar2)]
    vals, _, _, cnt = _values_grouped("setxor1d", concatenate(parts))
    return vals[cnt == 1]


union1d, intersect1d, setdiff1d, setxor1d = (_npfn(f, getattr(np, f.__name__))
                                             for f in (union1d, intersect1d, setdiff1d, setxor1d))
