"""More NumPy functions without a gradient, on tensors: float and integer predicates (signbit, spacing,
isposinf / isneginf, gcd / lcm, shifts, bitwise_count), 2-D and N-D histograms, index helpers
(ix_, the *_indices_from, ravel_multi_index / unravel_index), bit packing, the dtype queries (result_type, common_type, min_scalar_type, can_cast), formatting
(array2string, array_repr, array_str), einsum_path, memory overlap tests and np.save / savez / savetxt (the
unique_* and set operations, differentiable in their values, are ops/unique.py's; registered here).

Each runs NumPy on the tensors' data (``npgrad/ops/nondiff.py``'s rule): arrays come back as constant
tensors (requires_grad False, float results included), Python scalars, dtypes and strings as NumPy returns
them. This module registers its NumPy entry points in ``_dispatch.UFUNCS`` / ``FUNCTIONS`` itself; it also
gives npgrad NumPy 2's (and PyTorch's) short ufunc names (acos, atan2, bitwise_not, bitwise_left_shift...)
and two differentiable helpers NumPy dispatches: ``apply_over_axes`` and the in-place ``np.put_along_axis``
(``nextafter``, differentiable in its first argument, is elementwise_more.py's; registered here).
"""
import builtins
import functools

import numpy as np

from ..autograd.grad_mode import _state
from ..dtypes import check_numeric
from ..tensor import Tensor, _wrap
from . import inplace as _inplace
from ._dispatch import FUNCTIONS, UFUNCS
from .comparison import _no_grad_binary, _no_grad_unary, invert
from .elementwise_more import arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, nextafter
from .index import put_along_axis as _put_along_axis
from ._util import batching_rule
from .nondiff import _raw, _tracked, _wrapped
from .shape import expand_dims
from .unique import (intersect1d, setdiff1d, setxor1d, union1d, unique_all, unique_counts, unique_inverse,
                     unique_values)

__all__ = [
    'signbit', 'spacing', 'nextafter', 'isposinf', 'isneginf', 'gcd', 'lcm', 'left_shift', 'right_shift',
    'bitwise_left_shift', 'bitwise_right_shift', 'bitwise_invert', 'bitwise_not',
    'acos', 'acosh', 'asin', 'asinh', 'atan', 'atan2', 'atanh',
    'histogram2d', 'histogramdd', 'histogram_bin_edges', 'diag_indices', 'diag_indices_from', 'tril_indices',
    'tril_indices_from', 'triu_indices', 'triu_indices_from', 'ix_', 'ravel_multi_index', 'unravel_index', 'union1d', 'intersect1d', 'setdiff1d',
    'setxor1d', 'packbits', 'unpackbits', 'result_type', 'common_type', 'min_scalar_type', 'can_cast',
    'array2string', 'array_repr', 'array_str', 'einsum_path', 'may_share_memory', 'shares_memory',
    'apply_over_axes',
]



def _named_errors(name, fn):
    """``fn`` whose ValueError / TypeError messages (NumPy's, which rarely name the function) start with
    ``name``, keeping their type."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError) as e:
            if str(e).startswith(name):
                raise
            try:
                err = type(e)(f"{name}: {e}")
            except Exception:  # an exception type with another constructor: NumPy's message as it is
                raise e from None
            raise err from None
    return op


def _numeric(name, out):
    """``out`` (NumPy's result), its arrays refused unless numeric: a tensor never holds strings or objects."""
    if isinstance(out, (np.ndarray, np.generic)):
        check_numeric(np.asarray(out), name)
    elif isinstance(out, (tuple, list)):
        for r in out:
            _numeric(name, r)
    return out


def _passthrough(npfn, doc, vmap="loop"):
    """As ``nondiff._passthrough`` (NumPy on the tensors' data, arrays back as constant tensors; ``vmap``: the
    batching rule), its errors naming the function; a non-numeric array result (a tensor mixed with strings)
    is refused."""
    name = npfn.__name__

    def fn(*args, **kwargs):
        return _wrapped(_numeric(name, npfn(*(_raw(a) for a in args), **{k: _raw(v) for k, v in kwargs.items()})))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__wrapped__ = npfn  # (its signature)
    return _named_errors(name, batching_rule(vmap)(fn))


# ---------------------------------------------------------------- ufuncs (elementwise, broadcasting; vmap-able)
signbit = _no_grad_unary("signbit", np.signbit, "Where the sign bit is set (``-0.0`` and NaNs with the sign "
                                                "bit included), as ``np.signbit`` (a bool tensor).")
spacing = _no_grad_unary("spacing", np.spacing, "The distance to the next larger-magnitude float, as "
                                                "``np.spacing`` (a float tensor of ``x``'s dtype; no gradient).")
gcd = _no_grad_binary("gcd", np.gcd)
gcd.__doc__ = "Elementwise greatest common divisor of integers, as ``np.gcd`` (non-negative)."
lcm = _no_grad_binary("lcm", np.lcm)
lcm.__doc__ = "Elementwise least common multiple of integers, as ``np.lcm`` (non-negative)."
left_shift = _no_grad_binary("left_shift", np.left_shift)
left_shift.__doc__ = "Integers shifted left by ``x2`` bits, ``x1 << x2``, as ``np.left_shift``."
right_shift = _no_grad_binary("right_shift", np.right_shift)
right_shift.__doc__ = "Integers shifted right by ``x2`` bits (arithmetic for signed), as ``np.right_shift``."
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift  # NumPy 2's (and PyTorch's) names
bitwise_invert = bitwise_not = invert
acos, acosh, asin, asinh, atan, atan2, atanh = arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh

UFUNCS.update({np.signbit: signbit, np.spacing: spacing, np.nextafter: nextafter, np.gcd: gcd, np.lcm: lcm,
               np.left_shift: left_shift, np.right_shift: right_shift})
if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
    bitwise_count = _no_grad_unary("bitwise_count", np.bitwise_count, "The number of 1 bits in the absolute "
                                   "value of each integer, as ``np.bitwise_count`` (a uint8 tensor).")
    UFUNCS[np.bitwise_count] = bitwise_count
    __all__.append('bitwise_count')


def _no_out(name, fn, doc):
    """``fn(x, out=None)``: NumPy's function with an ``out=``, which a tensor result does not take."""
    def op(x, out=None):
        if out is not None:
            raise TypeError(f"{name}: out= is not supported with Tensors (the result is a new bool tensor)")
        return fn(x)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


isposinf = _no_out("isposinf", _named_errors("isposinf", _no_grad_unary("isposinf", np.isposinf, None)),
                   "Where ``x`` is +inf, as ``np.isposinf`` (a bool tensor; complex input is an error, as in NumPy).")
isneginf = _no_out("isneginf", _named_errors("isneginf", _no_grad_unary("isneginf", np.isneginf, None)),
                   "Where ``x`` is -inf, as ``np.isneginf`` (a bool tensor; complex input is an error, as in NumPy).")


# ---------------------------------------------------------------- histograms
def _refuse_grad_weights(name, weights):
    if _tracked(weights):
        raise TypeError(f"{name}: not differentiable in weights; pass weights.detach(), or use npg.bincount with "
                        f"npg.digitize for a histogram differentiable in its weights")


@functools.partial(_named_errors, "histogram2d")
def histogram2d(x, y, bins=10, range=None, density=None, weights=None):
    """2-D histogram of the points ``(x, y)``: ``(H, xedges, yedges)`` as ``np.histogram2d``; the edges (and
    ``density`` values) move with the data as ``npg.histogram``'s; tensor ``weights`` that require grad are
    refused, as in ``npg.histogram``."""
    _refuse_grad_weights("histogram2d", weights)
    h, xe, ye = np.histogram2d(_raw(x), _raw(y), bins=_raw(bins), range=range, density=density,
                               weights=_raw(weights))
    h, (xe, ye) = _moving_edges((x, y), h, (xe, ye), bins, range, density, weights)
    return h, xe, ye


@functools.partial(_named_errors, "histogramdd")
def histogramdd(sample, bins=10, range=None, density=None, weights=None):
    """N-D histogram of ``sample`` ((N, D) points, or a sequence of D coordinate arrays): ``(H, edges)`` as
    ``np.histogramdd``, ``edges`` a list of D tensors that move with the data as ``npg.histogram``'s."""
    _refuse_grad_weights("histogramdd", weights)
    h, edges = np.histogramdd(_raw(sample), bins=_raw(bins), range=range, density=density, weights=_raw(weights))
    if isinstance(sample, Tensor):   # ((N, D) points; a 1-D sample is N points in one dimension, as NumPy's)
        coords = [sample.reshape(-1)] if sample.ndim <= 1 else [sample[:, d] for d in builtins.range(len(edges))]
    else:
        coords = list(sample) if isinstance(sample, (list, tuple)) else [None] * len(edges)
    return _moving_edges(coords, h, edges, bins, range, density, weights)



def _moving_edges(coords, h, edges, bins, range, density, weights):
    """The histogram ``h`` and its per-axis ``edges`` as tensors: each axis's edges from ``nondiff.bin_edges`` (its
    coordinates' min and max), ``density`` values from the edges' widths (NumPy's values, exactly)."""
    from .nondiff import bin_edges
    n = len(edges)
    per_axis = bins if isinstance(bins, (list, tuple)) and len(bins) == n else [bins] * n
    ranges = range if range is not None else [None] * n
    out = [_wrap(e) if c is None else bin_edges(c, e, b, r) for c, e, b, r in zip(coords, edges, per_axis, ranges)]
    if not density or not any(isinstance(e, Tensor) and e._requires_grad for e in out):
        return _wrap(h), out
    from .differences import diff
    counts = np.histogramdd(np.stack([np.asarray(_raw(c)) for c in coords], -1), bins=list(edges),
                            weights=_raw(weights))[0]
    dens = _wrap(counts / counts.sum())
    for d, e in enumerate(out):
        dens = dens / diff(e).reshape(tuple(-1 if k == d else 1 for k in builtins.range(n)))
    return _wrap(h) + (dens - dens.detach()), out


@batching_rule("loop")
def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The bin edges ``np.histogram`` would use, as ``np.histogram_bin_edges``: a float tensor that moves with
    the data's min and max when NumPy derives the edges from them (``nondiff.bin_edges``)."""
    from .nondiff import bin_edges
    try:
        edges = np.histogram_bin_edges(_raw(a), bins=_raw(bins), range=range, weights=_raw(weights))
    except (TypeError, ValueError) as e:
        raise TypeError(f"histogram_bin_edges: {e}") if isinstance(e, TypeError) else \
            ValueError(f"histogram_bin_edges: {e}") from None
    return bin_edges(a, edges, bins, range)

# ---------------------------------------------------------------- indices
diag_indices = _passthrough(np.diag_indices, "Indices of the main diagonal of an ``(n,) * ndim`` array, as "
                                             "``np.diag_indices`` (one int tensor per axis).")
tril_indices = _passthrough(np.tril_indices, "Indices of the lower triangle of an ``(n, m)`` array (diagonal offset "
                                             "``k``; ``m`` defaults to ``n``), as ``np.tril_indices``.")
triu_indices = _passthrough(np.triu_indices, "Indices of the upper triangle of an ``(n, m)`` array (diagonal offset "
                                             "``k``; ``m`` defaults to ``n``), as ``np.triu_indices``.")
diag_indices_from = _passthrough(np.diag_indices_from, "Indices of the main diagonal of a square ``arr``, as "
                                                       "``np.diag_indices_from`` (one int tensor per axis).")
tril_indices_from = _passthrough(np.tril_indices_from, "Indices of the lower triangle of a 2-D ``arr`` (diagonal "
                                                       "offset ``k``), as ``np.tril_indices_from``.")
triu_indices_from = _passthrough(np.triu_indices_from, "Indices of the upper triangle of a 2-D ``arr`` (diagonal "
                                                       "offset ``k``), as ``np.triu_indices_from``.")
_ix = _passthrough(np.ix_, "")


def ix_(*args):
    """An open mesh of index tensors from 1-D integer or bool sequences, as ``np.ix_`` (``x[npg.ix_(rows,
    cols)]`` selects a sub-grid). A float tensor that requires grad (NumPy takes floats too) comes back
    reshaped, so its gradient passes."""
    out = _ix(*args)
    return tuple(a.reshape(o.shape) if isinstance(a, Tensor) and a._requires_grad and _state.enabled and
                 a.dtype.kind in "fc" else o for a, o in zip(args, out))


ix_.__wrapped__ = np.ix_  # (its signature)
ravel_multi_index = _passthrough(np.ravel_multi_index, "Flat indices of a tuple of index arrays into an array of "
                                                       "shape ``dims``, as ``np.ravel_multi_index``.")
unravel_index = _passthrough(np.unravel_index, "The index arrays (one per axis) of flat ``indices`` into an array "
                                               "of ``shape``, as ``np.unravel_index``.")

# ---------------------------------------------------------------- NumPy 2's unique_*, 1-D set operations, bits
# (the unique values and set operations are differentiable in their values: ops/unique.py)
__all__ += ['unique_all', 'unique_counts', 'unique_inverse', 'unique_values']
packbits = _passthrough(np.packbits, "Bool / integer elements packed as bits into uint8, as ``np.packbits``.")
unpackbits = _passthrough(np.unpackbits, "The bits of a uint8 tensor unpacked, as ``np.unpackbits``.")

# ---------------------------------------------------------------- dtype queries (a tensor counts as its array)
result_type = _passthrough(np.result_type, "The dtype NumPy's promotion gives its arguments (tensors count as "
                                           "their arrays: a 0-d tensor is not a weak Python scalar), as "
                                           "``np.result_type``.")
common_type = _passthrough(np.common_type, "The inexact scalar type common to the inputs (integers count as "
                                           "float64), as ``np.common_type``.")
min_scalar_type = _passthrough(np.min_scalar_type, "The smallest dtype holding the value (of a 0-d tensor) or else "
                                                   "the tensor's own dtype, as ``np.min_scalar_type``.")
can_cast = _passthrough(np.can_cast, "Whether a cast from ``from_`` (a tensor: its dtype) to ``to`` is allowed "
                                     "under ``casting``, as ``np.can_cast`` (a Python bool).")
may_share_memory = _passthrough(np.may_share_memory, "Whether two tensors' (or arrays') memory bounds overlap, "
                                                     "as ``np.may_share_memory`` on their data.")
shares_memory = _passthrough(np.shares_memory, "Whether two tensors (or arrays) share memory, as "
                                               "``np.shares_memory`` on their data (a view and its base do).")

# ---------------------------------------------------------------- strings
array2string = _passthrough(np.array2string, "The tensor's data formatted as ``np.array2string`` does (same "
                                             "options; no ``tensor(...)`` wrapper, no grad flag).")
array_repr = _passthrough(np.array_repr, "NumPy's repr of the tensor's data, as ``np.array_repr``: "
                                         "``array([...])`` (with ``dtype=`` when not the default), not the "
                                         "tensor's own ``tensor(..., requires_grad=True)`` repr.")
array_str = _passthrough(np.array_str, "The tensor's data as ``str`` of its array, as ``np.array_str``.")
einsum_path = _passthrough(np.einsum_path, "NumPy's contraction order for ``einsum`` on the operands' shapes: "
                                           "``(path, report)`` as ``np.einsum_path``.")
_saves = {name: _passthrough(getattr(np, name), f"``np.{name}`` of the tensors' data (np.{name}(f, t) saves "
                                                f"t's values, as for an array).")
          for name in ("save", "savez", "savez_compressed", "savetxt")}  # (no npg names: npg.save is npgrad's own)


# ---------------------------------------------------------------- differentiable helpers NumPy dispatches
def apply_over_axes(func, a, axes):
    """``func(a, axis)`` applied over each of ``axes`` in turn, keeping dimensions, as
    ``np.apply_over_axes``: differentiable when ``func`` is (``np.sum`` on a tensor is ``npg.sum``)."""
    val, n = a, np.ndim(_raw(a))
    for axis in ((axes,) if np.ndim(axes) == 0 else axes):
        axis = axis + n if axis < 0 else axis
        res = func(val, axis)
        nd, want = np.ndim(_raw(res)), np.ndim(_raw(val))
        if nd not in (want, want - 1):
            raise ValueError(f"apply_over_axes: function is not returning an array of the correct shape (its "
                             f"result on axis {axis} of a {want}-d input has {nd} dimensions; {want} or {want - 1} "
                             f"expected)")
        val = res if nd == want else expand_dims(res, axis)
    return val


_put_along_axis_ = _inplace.method("put_along_axis", _put_along_axis, "put_along_axis")


def _np_put_along_axis(arr, indices, values, axis):
    """``np.put_along_axis``: writes ``values`` into ``arr`` at ``indices`` along ``axis`` in place and returns
    None, as NumPy does (differentiable in a tensor ``arr`` and ``values``; ``npg.put_along_axis`` is the
    functional form, which returns the new tensor)."""
    if isinstance(arr, Tensor):
        _put_along_axis_(arr, indices, values, axis)
        return None
    return np.put_along_axis(arr, _raw(indices), np.asarray(values), axis)  # (a tensor that requires grad: error)


FUNCTIONS.update({getattr(np, name): fn for name, fn in (
    ("isposinf", isposinf), ("isneginf", isneginf), ("histogram2d", histogram2d), ("histogramdd", histogramdd),
    ("histogram_bin_edges", histogram_bin_edges), ("diag_indices_from", diag_indices_from),
    ("tril_indices_from", tril_indices_from), ("triu_indices_from", triu_indices_from), ("ix_", ix_),
    ("ravel_multi_index", ravel_multi_index), ("unravel_index", unravel_index),
    ("unique_all", unique_all), ("unique_counts", unique_counts), ("unique_inverse", unique_inverse),
    ("unique_values", unique_values),
    ("union1d", union1d), ("intersect1d", intersect1d), ("setdiff1d", setdiff1d), ("setxor1d", setxor1d),
    ("packbits", packbits), ("unpackbits", unpackbits), ("result_type", result_type),
    ("common_type", common_type), ("min_scalar_type", min_scalar_type), ("can_cast", can_cast),
    ("array2string", array2string), ("array_repr", array_repr), ("array_str", array_str),
    ("einsum_path", einsum_path), ("may_share_memory", may_share_memory), ("shares_memory", shares_memory),
    ("apply_over_axes", apply_over_axes), ("put_along_axis", _np_put_along_axis), *_saves.items(),
) if fn is not None})
