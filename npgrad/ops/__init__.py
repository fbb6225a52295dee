"""npgrad's operations, by family. Importing this module also gives ``Tensor`` its operators and methods
(ops/_tensor_api.py, and each family's methods below: each only delegates to a function here) and its NumPy
protocols (the UFUNCS / FUNCTIONS tables of ops/_dispatch.py, filled family by family)."""

import numpy as np

from ..tensor import Tensor
from . import _dispatch, contract, elementwise, elementwise_more, index, inplace, reduce, shape
from .elementwise import *  # noqa: F401,F403
from .elementwise import (abs, add, bitwise_and, bitwise_or, bitwise_xor, clip, div, equal, exp,
                          floor_divide, greater, greater_equal, invert, less, less_equal, log, maximum,
                          minimum, mul, neg, not_equal, power, relu, remainder, sigmoid, sqrt, sub, tanh, where)
from .index import getitem, put_along_axis, scatter_add, setitem, take, take_along_axis, gather  # noqa: F401
from .contract import dot, einsum, inner, matmul, outer, tensordot  # noqa: F401
from .reduce import (all, any, argmax, argmin, cumprod, cumsum, logsumexp, max, mean, min, prod, std, sum,  # noqa
                     var, amax, amin)
from .arrays import clone, copy  # noqa: F401
from .shape import (astype, broadcast_to, concat, concatenate, expand_dims, flatten, flip,  # noqa
                    masked_fill, moveaxis, pad, permute, ravel, repeat, reshape, split, squeeze, stack, swapaxes, tile,
                    transpose, unsqueeze)


# The op functions npgrad exports (``from npgrad.ops import *`` and the top-level namespace).
__all__ = [
    'abs', 'absolute', 'add', 'all', 'amax', 'amin', 'any', 'argmax', 'argmin', 'astype', 'bitwise_and',
    'bitwise_or', 'bitwise_xor', 'broadcast_to', 'ceil', 'clip', 'clone', 'concat', 'concatenate', 'copy', 'cos',
    'cumprod',
    'cumsum', 'div', 'divide', 'dot', 'einsum', 'equal', 'exp', 'expand_dims', 'expm1', 'flatten', 'flip',
    'floor', 'floor_divide', 'gather', 'getitem', 'greater', 'greater_equal', 'inner', 'invert', 'isfinite',
    'isinf', 'isnan', 'less', 'less_equal', 'log', 'log10', 'log1p', 'log2', 'logical_and', 'logical_not',
    'logical_or', 'logical_xor', 'logsumexp', 'masked_fill', 'matmul', 'max', 'maximum', 'mean', 'min',
    'minimum', 'mod', 'moveaxis', 'mul', 'multiply', 'neg', 'negative', 'not_equal', 'outer', 'pad',
    'permute', 'pow', 'power', 'prod', 'put_along_axis', 'ravel', 'reciprocal', 'relu', 'remainder', 'repeat',
    'reshape', 'round', 'scatter_add', 'setitem', 'sigmoid', 'sign', 'sin', 'split', 'sqrt', 'square',
    'squeeze', 'stack', 'std', 'sub', 'subtract', 'sum', 'swapaxes', 'take', 'take_along_axis', 'tan', 'tanh',
    'tensordot', 'tile', 'transpose', 'true_divide', 'unsqueeze', 'var', 'where',
]


from . import _tensor_api  # noqa: E402  (Tensor's operators and methods)
from ._tensor_api import _cast_method, _inplace, _reflected  # noqa: E402  (for the families' operators below)

T = Tensor


# ------------------------------------------------------------------- NumPy protocols
def float_power(x1, x2):
    """``x1 ** x2`` computed in float64, or in complex128 when either input is complex, as ``np.float_power``
    (whatever the inputs' precision); differentiable in both."""
    kinds = [(v.dtype if isinstance(v, Tensor) else np.result_type(v)).kind for v in (x1, x2)]
    dt = np.complex128 if "c" in kinds else np.float64  # (not any(): npgrad's any is in scope here)
    return power(*(astype(v, dt) if isinstance(v, Tensor) else np.asarray(v, dtype=dt) for v in (x1, x2)))


UFUNCS = _dispatch.UFUNCS   # (filled here and by the family blocks below; read by ops/_dispatch.py)
FUNCTIONS = _dispatch.FUNCTIONS
UFUNCS.update({
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.divide: div,
    np.power: power, np.negative: neg, np.positive: arrays.positive, np.matmul: matmul,
    np.float_power: float_power,
    np.floor_divide: floor_divide, np.remainder: remainder, np.maximum: maximum, np.minimum: minimum,
    np.equal: equal, np.not_equal: not_equal, np.less: less, np.less_equal: less_equal,
    np.greater: greater, np.greater_equal: greater_equal,
    np.logical_and: elementwise.logical_and, np.logical_or: elementwise.logical_or,
    np.logical_xor: elementwise.logical_xor, np.logical_not: elementwise.logical_not,
    np.bitwise_and: bitwise_and, np.bitwise_or: bitwise_or, np.bitwise_xor: bitwise_xor, np.invert: invert,
    np.isnan: elementwise.isnan, np.isinf: elementwise.isinf, np.isfinite: elementwise.isfinite,
    np.exp: exp, np.expm1: elementwise.expm1, np.log: log, np.log1p: elementwise.log1p,
    np.log2: elementwise.log2, np.log10: elementwise.log10, np.sqrt: sqrt, np.square: elementwise.square,
    np.reciprocal: elementwise.reciprocal, np.sin: elementwise.sin, np.cos: elementwise.cos,
    np.tan: elementwise.tan, np.tanh: tanh, np.absolute: abs, np.fabs: arrays.fabs, np.sign: elementwise.sign,
    np.floor: elementwise.floor, np.ceil: elementwise.ceil, np.rint: elementwise_more.round,
})

FUNCTIONS.update({
    np.sum: sum, np.mean: mean, np.max: max, np.amax: max, np.min: min, np.amin: min, np.prod: prod,
    np.var: var, np.std: std, np.argmax: argmax, np.argmin: argmin, np.cumsum: cumsum, np.cumprod: cumprod,
    np.any: any, np.all: all,
    np.reshape: reshape, np.ravel: ravel, np.transpose: transpose, np.swapaxes: swapaxes,
    np.moveaxis: moveaxis, np.squeeze: squeeze, np.expand_dims: expand_dims, np.broadcast_to: broadcast_to,
    np.concatenate: concatenate, np.stack: stack, np.copy: copy, np.split: split, np.flip: flip, np.pad: pad,
    np.repeat: repeat, np.tile: tile, np.where: where, np.clip: clip,
    np.matmul: matmul, np.dot: dot, np.inner: inner, np.outer: outer, np.tensordot: tensordot,
    np.einsum: einsum, np.take: take, np.take_along_axis: take_along_axis,
    np.shape: lambda x: x.shape, np.ndim: lambda x: x.ndim, np.size: lambda x: x.size,
    np.round: elementwise_more.round, np.around: elementwise_more.round,
})


T.__array_ufunc__ = _dispatch.array_ufunc
T.__array_function__ = _dispatch.array_function
from . import ufunc_methods as _ufunc_methods  # noqa: E402  (np.subtract.outer, np.add.reduce, np.add.at...)

_dispatch.UFUNC_METHODS.update(_ufunc_methods.METHODS)


# ------------------------------------------------------------------- np.linalg (npg.linalg)
# np.linalg.X(tensor) dispatches to the npgrad op of the same name (ops/linalg.py, lstsq.py, decomp.py, norms.py).
from . import decomp as _decomp, linalg as _linalg, lstsq as _lstsq, norms as _norms  # noqa: E402

FUNCTIONS.update({getattr(np.linalg, name): getattr(module, name) for module, names in (
    (_linalg, ("det", "slogdet", "inv", "solve", "cholesky", "matrix_power", "multi_dot",
               "tensorinv", "tensorsolve", "matrix_transpose", "diagonal", "trace", "outer", "vecdot", "cross")),
    (_lstsq, ("pinv", "lstsq")),
    (_decomp, ("eigh", "eigvalsh", "svd", "svdvals", "qr")),
    (_norms, ("norm", "vector_norm", "matrix_norm", "cond", "matrix_rank")),
) for name in names if hasattr(np.linalg, name)})
FUNCTIONS.update({np.linalg.matmul: matmul, np.linalg.tensordot: tensordot})

# ============================================================ the wider NumPy surface
# (numpy-surface branch: each family's names, its NumPy dispatch entries and Tensor methods, kept in
# one block per family so concurrent edits above merge cleanly)

# ---- elementwise: more ufuncs, rounding, nan_to_num
from .elementwise_more import (arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, around, cbrt,  # noqa: E402
                          copysign,
                          cosh, deg2rad, degrees, exp2, fix, fmax, fmin, fmod, heaviside, hypot, logaddexp,
                          logaddexp2, nan_to_num, rad2deg, radians, rint, round, sinc, sinh, trunc)

__all__ += [
    'arccos', 'arccosh', 'arcsin', 'arcsinh', 'arctan', 'arctan2', 'arctanh', 'around', 'cbrt', 'copysign',
    'cosh', 'deg2rad', 'degrees', 'exp2', 'fix', 'fmax', 'fmin', 'fmod', 'heaviside', 'hypot', 'logaddexp',
    'logaddexp2', 'nan_to_num', 'rad2deg', 'radians', 'rint', 'sinc', 'sinh', 'trunc',
]
UFUNCS.update({
    np.sinh: sinh, np.cosh: cosh, np.arcsin: arcsin, np.arccos: arccos, np.arctan: arctan,
    np.arcsinh: arcsinh, np.arccosh: arccosh, np.arctanh: arctanh, np.arctan2: arctan2, np.hypot: hypot,
    np.logaddexp: logaddexp, np.logaddexp2: logaddexp2, np.exp2: exp2, np.cbrt: cbrt,
    np.deg2rad: deg2rad, np.rad2deg: rad2deg, np.radians: radians, np.degrees: degrees,
    np.fmax: fmax, np.fmin: fmin, np.fmod: fmod, np.trunc: trunc, np.rint: rint, np.copysign: copysign,
    np.heaviside: heaviside,
})
FUNCTIONS.update({
    np.sinc: sinc, np.fix: fix, np.nan_to_num: nan_to_num,
    np.round: round, np.around: round,
})
for _name, _fn in dict(round=round, sinh=sinh, cosh=cosh, arcsin=arcsin, arccos=arccos, arctan=arctan,
                       trunc=trunc, nan_to_num=nan_to_num).items():
    setattr(T, _name, _fn)

# ---- array helpers: stacking, splitting, rolling, triangles/diagonals, differences, pad modes, einsum sublists
from . import arrays, padding as _padding  # noqa: E402
from .arrays import (append, array_split, atleast_1d, atleast_2d, atleast_3d, column_stack, copy, cross,  # noqa
                     dsplit, dstack, diag, diagflat, diagonal, diff, ediff1d, fliplr, flipud, gradient, hsplit,
                     hstack, kron, roll, rollaxis, rot90, row_stack, select, trace, tril, triu, vsplit, vstack,
                     fabs, positive)
pad = _padding.pad
einsum = _padding.with_sublists(einsum)  # the string form, wherever it is defined

__all__ += [
    'append', 'array_split', 'atleast_1d', 'atleast_2d', 'atleast_3d', 'column_stack', 'copy', 'cross',
    'dsplit', 'dstack', 'diag', 'diagflat', 'diagonal', 'diff', 'ediff1d', 'fliplr', 'flipud', 'gradient',
    'hsplit', 'hstack', 'kron', 'roll', 'rollaxis', 'rot90', 'row_stack', 'select', 'trace', 'tril', 'triu',
    'vsplit', 'vstack', 'fabs', 'positive', 'float_power',
]
FUNCTIONS.update({
    np.append: append, np.array_split: array_split, np.atleast_1d: atleast_1d, np.atleast_2d: atleast_2d,
    np.atleast_3d: atleast_3d, np.column_stack: column_stack, np.copy: copy, np.cross: cross, np.dsplit: dsplit,
    np.dstack: dstack, np.diag: diag, np.diagflat: diagflat, np.diagonal: diagonal, np.diff: diff,
    np.ediff1d: ediff1d, np.fliplr: fliplr, np.flipud: flipud, np.gradient: gradient, np.hsplit: hsplit,
    np.hstack: hstack, np.kron: kron, np.roll: roll, np.rollaxis: rollaxis, np.rot90: rot90, np.select: select,
    np.trace: trace, np.tril: tril, np.triu: triu, np.vsplit: vsplit, np.vstack: vstack,
    np.pad: pad, np.einsum: einsum,
})
if hasattr(np, "row_stack"):  # deprecated in NumPy 2.0
    FUNCTIONS[np.row_stack] = row_stack
for _name, _fn in dict(copy=copy, diagonal=diagonal, trace=trace).items():
    setattr(T, _name, _fn)

# ---- views NumPy 2 added: np.unstack (PyTorch's unbind) and np.matrix_transpose
from .shape import unstack  # noqa: E402

__all__ += ['unstack']
FUNCTIONS.update({getattr(np, _name): _fn for _name, _fn in (("unstack", unstack),
                                                             ("matrix_transpose", _linalg.matrix_transpose))
                  if hasattr(np, _name)})
T.unbind = lambda self, dim=0: unstack(self, axis=dim)
T.unbind.__doc__ = "The slices along ``dim``, as PyTorch's ``unbind`` (``np.unstack``): views."

# ---- sorting and selection: sort, partition, topk, kthvalue, median / quantile / percentile (+ nan forms)
from . import sorting as _sorting  # noqa: E402
from .sorting import (kthvalue, median, nanmedian, nanpercentile, nanquantile, partition, percentile,  # noqa: E402
                      quantile, topk)
sort = _sorting.sort

__all__ += ['kthvalue', 'median', 'nanmedian', 'nanpercentile', 'nanquantile', 'partition', 'percentile',
            'quantile', 'sort', 'topk']
FUNCTIONS.update({
    np.sort: sort, np.partition: partition, np.median: median, np.nanmedian: nanmedian,
    np.quantile: quantile, np.percentile: percentile, np.nanquantile: nanquantile,
    np.nanpercentile: nanpercentile,
})


def _sort_method(self, axis=-1, kind=None, order=None):
    """Sorted copy (npgrad tensors are not sorted in place: a tensor in a graph keeps its values)."""
    return sort(self, axis=axis, kind=kind, order=order)


T.sort = _sort_method
T.topk, T.kthvalue, T.partition = topk, kthvalue, partition

# ---- statistics: average, cov, corrcoef, ptp, nan-reductions, convolve/correlate, interp, cumulative_sum
from .stats import (average, convolve, corrcoef, correlate, cov, cumulative_prod, cumulative_sum, interp,  # noqa
                    nancumprod, nancumsum, nanmax, nanmean, nanmin, nanprod, nanstd, nansum, nanvar, ptp)

__all__ += ['average', 'convolve', 'corrcoef', 'correlate', 'cov', 'cumulative_prod', 'cumulative_sum', 'interp',
            'nancumprod', 'nancumsum', 'nanmax', 'nanmean', 'nanmin', 'nanprod', 'nanstd', 'nansum', 'nanvar',
            'ptp']
FUNCTIONS.update({
    np.average: average, np.convolve: convolve, np.corrcoef: corrcoef, np.correlate: correlate, np.cov: cov,
    np.interp: interp, np.nancumprod: nancumprod, np.nancumsum: nancumsum, np.nanmax: nanmax,
    np.nanmean: nanmean, np.nanmin: nanmin, np.nanprod: nanprod, np.nanstd: nanstd, np.nansum: nansum,
    np.nanvar: nanvar, np.ptp: ptp,
})
if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1
    FUNCTIONS.update({np.cumulative_sum: cumulative_sum, np.cumulative_prod: cumulative_prod})
T.ptp = ptp

# ---- NumPy functions without a gradient: NumPy's result, arrays as constant (int / bool) tensors
from . import nondiff as _nondiff  # noqa: E402
from .nondiff import (allclose, argpartition, argsort, argwhere, array_equal, array_equiv, bincount,  # noqa: E402
                      count_nonzero, digitize, flatnonzero, histogram, isclose, isin, lexsort, nanargmax, nanargmin,
                      ndim, nonzero, searchsorted, size, unique)
where = _nondiff.where

__all__ += ['allclose', 'argpartition', 'argsort', 'argwhere', 'array_equal', 'array_equiv', 'bincount',
            'count_nonzero', 'digitize', 'flatnonzero', 'histogram', 'isclose', 'isin', 'lexsort', 'nanargmax',
            'nanargmin', 'ndim', 'nonzero', 'searchsorted', 'size', 'unique']  # (npg.shape: npgrad/__init__.py;
#                                     here ``shape`` stays the ops.shape module)
FUNCTIONS.update({
    np.allclose: allclose, np.argpartition: argpartition, np.argsort: argsort, np.argwhere: argwhere,
    np.array_equal: array_equal, np.array_equiv: array_equiv, np.bincount: bincount,
    np.count_nonzero: count_nonzero, np.digitize: digitize, np.flatnonzero: flatnonzero,
    np.histogram: histogram, np.isclose: isclose, np.isin: isin, np.lexsort: lexsort, np.nanargmax: nanargmax,
    np.nanargmin: nanargmin, np.ndim: ndim, np.nonzero: nonzero, np.searchsorted: searchsorted,
    np.shape: _nondiff.shape, np.size: size, np.unique: unique, np.where: where,
    np.full_like: _nondiff.full_like, np.empty_like: _nondiff.empty_like, np.zeros_like: _nondiff.zeros_like,
    np.ones_like: _nondiff.ones_like,
})
for _name, _fn in dict(argsort=argsort, argpartition=argpartition, nonzero=nonzero,
                       searchsorted=searchsorted).items():
    setattr(T, _name, _fn)

# ---- linspace / logspace / geomspace with tensor endpoints (differentiable in them)
from .. import creation as _creation  # noqa: E402

FUNCTIONS.update({np.linspace: _creation.linspace, np.logspace: _creation.logspace,
                  np.geomspace: _creation.geomspace})

# ============================================================ special functions
# npg.special's elementwise ops (npgrad/ops/special.py); scipy.special's ufuncs on tensors dispatch to them,
# or to SciPy-valued ops with known derivatives (npgrad/ops/scipy_special.py), looked up on first use and
# then kept in UFUNCS. npgrad never imports SciPy: a ufunc is recognized in an already imported scipy.special.
from . import scipy_special as _scipy_special, special as _special  # noqa: E402,F401

_array_ufunc_numpy = _dispatch.array_ufunc


def _array_ufunc_with_scipy(self, ufunc, method, *inputs, **kwargs):
    if method == "__call__" and not kwargs and ufunc not in UFUNCS:
        fn = _scipy_special.lookup(ufunc)
        if fn is not None:
            UFUNCS[ufunc] = fn
            return fn(*inputs)
    return _array_ufunc_numpy(self, ufunc, method, *inputs, **kwargs)


T.__array_ufunc__ = _array_ufunc_with_scipy


# ============================================================ PyTorch's names
# Tensor methods under PyTorch names NumPy does not use for something else, the dim-indexed gathers and
# scatters with PyTorch's signatures (ops/dim_index.py), and PyTorch's ``dim=`` / ``keepdim=`` keywords accepted
# as aliases of ``axis=`` / ``keepdims=`` in reductions. Where a name means different things in NumPy and
# PyTorch (transpose, repeat, std, max(axis), size, split...), NumPy's meaning stays (README "Coming from PyTorch").
from . import dim_index as _scatter  # noqa: E402
from .dim_index import index_add, index_fill, index_select, scatter  # noqa: E402
from .torch_methods import (_chunk, _clamp, _expand, _named_result, _norm_method, _softmax_method,  # noqa: E402
                            _torch_extreme, _torch_keywords, _torch_median, gather, scatter_add)


(sum, mean, max, min, prod, var, std, argmax, argmin, any, all, logsumexp, cumsum, cumprod, amax, amin, squeeze,
 median, quantile, nanquantile, nansum, nanmean, nanmax, nanmin, stack, concatenate, concat) = (
    _torch_keywords(f, n) for f, n in zip(
        (sum, mean, max, min, prod, var, std, argmax, argmin, any, all, logsumexp, cumsum, cumprod, amax, amin,
         squeeze, median, quantile, nanquantile, nansum, nanmean, nanmax, nanmin, stack, concatenate, concat),
        ("sum mean max min prod var std argmax argmin any all logsumexp cumsum cumprod amax amin squeeze median "
         "quantile nanquantile nansum nanmean nanmax nanmin stack concatenate concat").split()))
for _name, _fn in dict(sum=sum, mean=mean, max=max, min=min, prod=prod, var=var, std=std, argmax=argmax,
                       argmin=argmin, any=any, all=all, logsumexp=logsumexp, cumsum=cumsum, cumprod=cumprod,
                       squeeze=squeeze, amax=amax, amin=amin).items():
    setattr(T, _name, _fn)
_np_flip = flip


def flip(x, axis=None, *, dims=None):
    """``np.flip`` (``axis``), also accepting PyTorch's ``dims=``."""
    if dims is not None and axis is not None:
        raise TypeError("flip(): got both axis= and its PyTorch spelling dims=")
    return _np_flip(x, axis if dims is None else dims)


max, min = (_torch_extreme(max, argmax, take_along_axis, squeeze), _torch_extreme(min, argmin, take_along_axis,
                                                                                squeeze))
T.max, T.min = max, min
topk, kthvalue = _named_result(topk), _named_result(kthvalue)
T.topk, T.kthvalue = topk, kthvalue
median, nanmedian = _torch_median(median, False), _torch_median(nanmedian, True)



def _contiguous(self):
    """``self`` if its memory is C-contiguous, else a C-ordered copy, as PyTorch's ``contiguous``; inside vmap, the
    memory of the whole batch (a batched tensor's values are not read: no per-sample loop)."""
    inner = self
    while type(inner) is not Tensor and hasattr(inner, "_inner"):
        inner = inner._inner
    return self if inner.data.flags.c_contiguous else copy(self, order="C")


for _name, _fn in dict(
        dim=lambda self: self.ndim, numel=lambda self: self.size, nelement=lambda self: self.size,
        gather=lambda self, dim, index: _scatter.gather(self, dim, index),
        scatter=lambda self, dim, index, src=None, value=None, *, reduce=None:
            scatter(self, dim, index, src, value, reduce=reduce),
        scatter_add=lambda self, dim, index, src: _scatter.scatter_add(self, dim, index, src),
        index_select=index_select, index_add=index_add, index_fill=index_fill,
        chunk=_chunk, expand=_expand, expand_as=lambda self, other: broadcast_to(self, other.shape),
        view_as=lambda self, other: reshape(self, other.shape),
        type_as=lambda self, other: self if self.dtype == other.dtype else astype(self, other.dtype),
        norm=_norm_method, softmax=_softmax_method("softmax"), log_softmax=_softmax_method("log_softmax"),
        clamp=_clamp, clamp_min=lambda self, min: clip(self, min, None),
        clamp_max=lambda self, max: clip(self, None, max),
        contiguous=_contiguous,
        long=_cast_method(np.int64), int=_cast_method(np.int32), bool=_cast_method(np.bool_),
        half=_cast_method(np.float16)).items():
    setattr(T, _name, _fn)
T.dim.__doc__ = "The number of dimensions (PyTorch's ``dim()``; NumPy's ``ndim``)."
T.numel.__doc__ = "The number of elements (PyTorch's ``numel()``; NumPy's ``size``)."

for _name, _fn, _op in (
        ("scatter_", lambda x, dim, index, src=None, value=None, *, reduce=None:
            scatter(x, dim, index, src, value, reduce=reduce), "setitem"),
        ("scatter_add_", lambda x, dim, index, src: _scatter.scatter_add(x, dim, index, src), "add"),
        ("index_add_", lambda x, dim, index, source, *, alpha=1: index_add(x, dim, index, source, alpha=alpha),
         "add"),
        ("index_fill_", index_fill, "setitem"),
        ("clamp_min_", lambda x, min: clip(x, min, None), "clip"),
        ("clamp_max_", lambda x, max: clip(x, None, max), "clip")):
    setattr(T, _name, inplace.method(_name, _fn, _op))

__all__ += ['index_add', 'index_fill', 'index_select', 'scatter', 'scatter_reduce']
from . import scatter_reduce as _scatter_reduce  # noqa: E402  (torch's scatter_reduce: ops/scatter_reduce.py)
scatter_reduce = _scatter_reduce.scatter_reduce
_scatter_reduce.attach(T, inplace)

# ============================================================ complex numbers
# real / imag / conj / angle / view_as_real / view_as_complex / polar (ops/complex.py); the rules for complex
# values in the other ops: autograd/complex_rules.py.
from . import complex as _complex  # noqa: E402
from .complex import (angle, conj, conjugate, imag, iscomplex, iscomplexobj, isreal, isrealobj, polar,  # noqa
                      real, real_if_close, view_as_complex, view_as_real)

__all__ += ['angle', 'conj', 'conjugate', 'imag', 'iscomplex', 'iscomplexobj', 'isreal', 'isrealobj', 'polar',
            'real', 'real_if_close', 'view_as_complex', 'view_as_real']
UFUNCS[np.conjugate] = _complex.conj_copy  # (NumPy's: always a new array)
FUNCTIONS.update({np.real: real, np.imag: imag, np.angle: angle, np.iscomplex: iscomplex, np.isreal: isreal,
                  np.iscomplexobj: iscomplexobj, np.isrealobj: isrealobj, np.real_if_close: real_if_close})


def _set_real(self, value):
    """``z.real = v`` writes ``v`` into the real parts of ``z``, as in NumPy and PyTorch."""
    real(self)[...] = value


def _set_imag(self, value):
    if self.dtype.kind != "c":
        raise TypeError(f"imag: a tensor of dtype {self.dtype} has no imaginary part to set (as in NumPy and "
                        f"PyTorch)")
    imag(self)[...] = value


T.real = property(real, _set_real, doc="The real part (``np.real``), a view: a real tensor is its own real part.")
T.imag = property(imag, _set_imag, doc="The imaginary part (``np.imag``), a view: read-only zeros for a real "
                                       "tensor.")
T.conj = T.conjugate = conj
T.angle = angle
T.is_complex = lambda self: self.data.dtype.kind == "c"

# ============================================================ np.fft
# np.fft.X(tensor) dispatches to npg.fft.X (npgrad/ops/fft.py).
from . import fft as _fft  # noqa: E402

FUNCTIONS.update({getattr(np.fft, _name): getattr(_fft, _name) for _name in _fft.__all__
                  if _name not in ("fftfreq", "rfftfreq")})

# ============================================================ PyTorch's names
# torch's view/copy methods, index extras, functions, aliases, arithmetic methods, facts, in-place shape methods
# and the dir(torch) sweeps: ops/_torch_surface.py (each family's block: its names, __all__ and Tensor methods)
from . import _torch_surface  # noqa: E402
from ._torch_surface import *  # noqa: E402,F401,F403
from ._torch_surface import _torch_linalg_names, _torch_more, _torch_more2  # noqa: E402,F401  (npgrad/__init__)
__all__ += [_name for _name in _torch_surface.__all__ if _name not in __all__]

# ============================================================ more NumPy functions without a gradient
from . import nondiff_extra as _nondiff_extra  # noqa: E402  (registers its np.X in UFUNCS / FUNCTIONS itself)
from .nondiff_extra import *  # noqa: E402,F401,F403
__all__ += _nondiff_extra.__all__

# ============================================================ vector products, polynomials, eig
from . import vecprod as _vecprod  # noqa: E402
from .vecprod import matvec, vdot, vecdot, vecmat  # noqa: E402,F401

__all__ += _vecprod.__all__
_vecprod.register(FUNCTIONS, UFUNCS, _dispatch.UFUNC_KWARGS)

# numpy's legacy polynomials (ops/poly.py; ``npg.poly`` is exported from npgrad/__init__.py: here ``poly`` stays
# the module, as ``shape``) and np.linalg.eig / eigvals (ops/eig.py)
from . import eig as _eig_module, poly as _poly_module  # noqa: E402
from .poly import (polyadd, polyder, polydiv, polyfit, polyint, polymul, polysub, polyval, roots,  # noqa: E402,F401
                   vander)

__all__ += [n for n in _poly_module.__all__ if n != "poly"]
_poly_module.register(FUNCTIONS)
FUNCTIONS.update({np.linalg.eig: _eig_module.eig, np.linalg.eigvals: _eig_module.eigvals})

# shifts (integers; ops/nondiff_extra.py), with their in-place forms as for & | ^ above
T.__lshift__, T.__rlshift__, T.__ilshift__ = (_nondiff_extra.left_shift, _reflected(_nondiff_extra.left_shift),
                                              _inplace(_nondiff_extra.left_shift, "__ilshift__"))
T.__rshift__, T.__rrshift__, T.__irshift__ = (_nondiff_extra.right_shift, _reflected(_nondiff_extra.right_shift),
                                              _inplace(_nondiff_extra.right_shift, "__irshift__"))

# ============================================================ the rest of NumPy's array functions
# meshgrid broadcast_arrays block choose compress extract delete insert resize trim_zeros sort_complex
# (ops/manipulation.py); piecewise apply_along_axis trapezoid unwrap ldexp frexp modf divmod i0 astype
# (ops/numeric.py); the in-place copyto fill_diagonal put putmask place, built on setitem (ops/putting.py).
from . import manipulation as _manipulation, numeric as _numeric, putting as _putting  # noqa: E402
from .manipulation import *  # noqa: F401,F403,E402
from .numeric import *  # noqa: F401,F403,E402
from .putting import *  # noqa: F401,F403,E402

for _module in (_manipulation, _numeric, _putting):
    __all__ += [_name for _name in _module.__all__ if _name not in __all__]
    FUNCTIONS.update(_module.numpy_functions())
    _module.attach(T)
UFUNCS.update(_numeric.numpy_ufuncs())

# torch's top-level in-place names (npg.abs_(x) is x.abs_()), npg.fill, is_same_size is_signed ... scalar_tensor,
# x.storage_offset() data_ptr() is_set_to() new(), and npg.sort with torch's dim= / descending= / stable=
# (ops/torch_inplace_names.py; np.sort(t) stays sorting.sort)
from . import torch_inplace_names as _torch_inplace_names  # noqa: E402
from .torch_inplace_names import *  # noqa: E402,F401,F403
from .torch_inplace_names import sort  # noqa: E402,F811

__all__ += _torch_inplace_names.__all__
_torch_inplace_names.attach(T)
