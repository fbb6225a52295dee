"""The rest of PyTorch's commonly used names (a systematic sweep of ``dir(torch.Tensor)`` and ``torch``), each
composed from npgrad's differentiable ops, so its VJP, JVP and vmap rules are those ops':

* Tensor methods for npgrad functions NumPy has no method of (``x.atan2(y) x.hypot(y) x.outer(v) x.diff(dim=)
  x.isclose(y) x.cov() x.nanmean(dim=) x.logit(eps) x.xlogy(y) x.det() x.logdet() ...``) and their in-place
  forms (``x.acos_() x.cumsum_(dim) x.nan_to_num_() x.trunc_() x.frac_() x.round_() x.index_copy_(...)``);
* torch's functions NumPy has no name for: ``frac sgn logit xlogy erf erfc erfinv lgamma digamma polygamma
  aminmax std_mean var_mean`` (torch's unbiased default: NumPy has no such name) ``logdet det slogdet inverse
  pinverse matrix_exp matrix_power block_diag mv dist addmv addr addbmm rsub msort unbind t numel
  broadcast_tensors broadcast_shapes is_floating_point is_complex is_nonzero``;
* facts and casts: ``ndimension is_signed is_cpu is_cuda get_device is_inference is_conj is_neg resolve_conj
  resolve_neg itemsize nbytes byte char short cfloat cdouble is_nonzero is_same_size split_with_sizes
  sum_to_size fill_diagonal_``;
* (in ops/torch_select.py) ``x.sort(dim=, descending=, stable=)``, ``x.argsort(dim=, descending=)``, ``x.unique``
  as ``torch.unique``, ``mode``."""
import collections as _collections

import numpy as np

from ..tensor import Tensor
from . import elementwise as _ew, elementwise_more as _em
from ._util import normalize_one_axis

__all__ = ["frac", "sgn", "logit", "xlogy", "erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "aminmax",
           "std_mean", "var_mean", "logdet", "det", "slogdet", "inverse", "pinverse", "matrix_exp", "matrix_power",
           "block_diag", "mv", "dist", "addmv", "addr", "addbmm", "rsub", "msort", "unbind", "t", "numel",
           "broadcast_tensors", "broadcast_shapes", "is_floating_point", "is_complex", "is_nonzero", "clamp_min",
           "clamp_max", "promote_types"]


def _npg():
    import npgrad
    return npgrad


def _F():
    from ..nn import functional
    return functional


def _special():
    from .. import special
    return special


def _linalg():
    from .. import linalg
    return linalg


def _shape(v):
    return tuple(v.shape) if isinstance(v, (Tensor, np.ndarray)) else np.shape(v)


# ------------------------------------------------------------------------------------------- pointwise
def frac(input):
    """``input - trunc(input)`` (the sign of ``input``), as ``torch.frac``; gradient 1."""
    return _ew.sub(input, _em.trunc(input))


def sgn(input):
    """``torch.sgn``: ``sign`` of a real tensor, ``x / |x|`` (0 at 0) of a complex one."""
    if isinstance(input, Tensor) and input.dtype.kind == "c":
        a = _ew.abs(input)
        safe = _ew.where(_ew.equal(a, 0), 1, a)
        return _ew.where(_ew.equal(a, 0), 0, _ew.div(input, safe)).astype(input.dtype)
    return _ew.sign(input)


def logit(input, eps=None):
    """``log(p / (1 - p))``, as ``torch.logit``; with ``eps``, ``p`` first clamped to ``[eps, 1 - eps]`` (the
    gradient 0 outside it, as torch)."""
    if eps is not None:
        e = float(eps)
        input = _ew.clip(input, e, 1 - e)
    return _special().logit(input)


def xlogy(input, other):
    """``input * log(other)``, 0 where ``input == 0`` (also at ``other == 0``), as ``torch.xlogy``."""
    return _special().xlogy(input, other)


def erf(input):
    return _special().erf(input)


def erfc(input):
    return _special().erfc(input)


def erfinv(input):
    return _special().erfinv(input)


def lgamma(input):
    """``log|Gamma(input)|``, as ``torch.lgamma`` (``scipy.special.gammaln``)."""
    return _special().gammaln(input)


def digamma(input):
    return _special().digamma(input)


def polygamma(n, input):
    """The ``n``-th derivative of digamma, as ``torch.polygamma(n, input)``."""
    return _special().polygamma(n, input)


def _mvlgamma(self, p):
    return _special().multigammaln(self, p)


# ------------------------------------------------------------------------------------------- reductions
MinMax = _collections.namedtuple("aminmax", ["min", "max"])


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (every dim when None), as ``torch.aminmax``: named ``.min`` / ``.max``; the
    gradient of each is ``amin``'s / ``amax``'s (ties share it evenly, as torch)."""
    npg = _npg()
    if isinstance(input, Tensor) and input.size == 0 and (dim is None or input.ndim == 0
                                                          or input.shape[normalize_one_axis(dim, input.ndim,
                                                                                            "aminmax")] == 0):
        raise RuntimeError(f"aminmax: cannot compute the min and max over an empty dim {dim} of a tensor of shape "
                           f"{input.shape}")   # a non-empty reduced dim of an empty tensor gives empty results
    return MinMax(npg.amin(input, dim=dim, keepdim=keepdim), npg.amax(input, dim=dim, keepdim=keepdim))


def _correction(name, dim, unbiased, correction):
    if isinstance(dim, bool):   # torch.std_mean(x, True): the old positional ``unbiased``
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{name}: got both unbiased= and correction=")
        correction = 1 if unbiased else 0
    return dim, 1 if correction is None else correction


def _stat_mean(name, stat, input, dim, unbiased, keepdim, correction):
    npg = _npg()
    dim, ddof = _correction(name, dim, unbiased, correction)
    if isinstance(dim, list):
        dim = tuple(dim)
    if dim == ():   # torch: an empty dim list reduces every dim (NumPy's axis=() reduces none)
        dim = None
    if dim is not None and np.ndim(input) == 0:   # torch's dims 0 / -1 of a 0-d tensor: the whole tensor
        for d in (dim if isinstance(dim, tuple) else (dim,)):
            normalize_one_axis(d, 1, name)
        dim = None
    s = getattr(npg, stat)(input, axis=dim, ddof=ddof, keepdims=keepdim)
    return s, npg.mean(input, axis=dim, keepdims=keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` as ``torch.std_mean``: PyTorch's unbiased default (``correction=1``; NumPy has no
    ``std_mean``, so PyTorch's meaning), ``unbiased=`` / ``correction=`` / ``keepdim=``."""
    return _stat_mean("std_mean", "std", input, dim, unbiased, keepdim, correction)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` as ``torch.var_mean`` (``correction=1`` by default, as PyTorch)."""
    return _stat_mean("var_mean", "var", input, dim, unbiased, keepdim, correction)


def msort(input):
    """``input`` sorted along dim 0, as ``torch.msort`` (real input only, as torch's)."""
    dt = np.dtype(input.dtype) if hasattr(input, "dtype") else np.asarray(input).dtype
    if dt.kind == "c":  # (NumPy's order of complex numbers would be lexicographic)
        raise _ew.real_only_error("msort", dt)
    if len(_shape(input)) == 0:   # torch: a 0-d tensor sorted along its dim 0 is itself (a copy)
        from .arrays import copy
        return copy(input)
    return _npg().sort(input, axis=0)


# ------------------------------------------------------------------------------------------- linear algebra
def _square_check(name, a):
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise RuntimeError(f"{name}: expected a (batch of) square matrices, got shape {s}")


def logdet(input):
    """``log(det(input))``, as ``torch.logdet``: NaN where a real determinant is negative, -inf where it is 0; of a
    complex matrix the complex ``log|det| + i arg(det)``."""
    _square_check("logdet", input)
    sign, logabs = _linalg().slogdet(input)
    if np.dtype(sign.dtype).kind == "c":   # sign = e^(i arg det): its log is i arg(det), with its gradient
        return _ew.add(logabs, _ew.log(sign))
    return _ew.where(_ew.less(sign, 0), np.nan, logabs)


def det(input):
    return _linalg().det(input)


def slogdet(input):
    return _linalg().slogdet(input)


def inverse(input):
    return _linalg().inv(input)


def pinverse(input, rcond=1e-15):
    """The pseudo-inverse, singular values below ``rcond * largest`` dropped, as ``torch.pinverse``."""
    return _linalg().pinv(input, rcond=rcond)


def matrix_exp(input):
    return _linalg().matrix_exp(input)


def matrix_power(input, n):
    return _linalg().matrix_power(input, n)


def block_diag(*tensors):
    """The tensors (0-d as 1x1, 1-D as one row, 2-D) on the diagonal of a zero matrix, as ``torch.block_diag``."""
    npg = _npg()
    ts = [t if isinstance(t, Tensor) else npg.tensor(np.asarray(t), requires_grad=False) for t in tensors]
    for i, t in enumerate(ts):
        if t.ndim > 2:
            raise RuntimeError(f"block_diag: input {i} has {t.ndim} dims (shape {t.shape}); each must have 2 or "
                               "fewer")
    if not ts:
        return npg.zeros((1, 0), requires_grad=False)
    ts = [t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t for t in ts]
    dtype = np.result_type(*[t.dtype for t in ts])
    cols = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        r, c = t.shape
        parts = [npg.zeros((r, left), dtype=dtype, requires_grad=False), t.astype(dtype),
                 npg.zeros((r, cols - left - c), dtype=dtype, requires_grad=False)]
        rows.append(npg.concatenate(parts, axis=1))
        left += c
    return npg.concatenate(rows, axis=0)


def mv(input, vec):
    """Matrix (n, m) times vector (m,), as ``torch.mv``."""
    a, v = _shape(input), _shape(vec)
    if len(a) != 2 or len(v) != 1 or a[1] != v[0]:
        raise RuntimeError(f"mv: expected a matrix (n, m) and a vector (m,), got shapes {a} and {v}")
    return _npg().matmul(input, vec)


def dist(input, other, p=2):
    """The ``p``-norm of ``input - other`` (broadcast), as ``torch.dist`` (gradient 0 where they are equal)."""
    from .torch_fns import _vector_norm
    from .torch_math import _broadcast_check
    _broadcast_check("dist", input, other)
    return _vector_norm(_ew.sub(input, other), p, None)


def _add_scaled(name, input, product, beta, alpha):
    from .torch_math import _add_scaled as f
    return f(name, input, product, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``, as ``torch.addmv``."""
    return _add_scaled("addmv", input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``, as ``torch.addr``."""
    a, b = _shape(vec1), _shape(vec2)
    if len(a) != 1 or len(b) != 1:
        raise RuntimeError(f"addr: expected 1-D vectors, got shapes {a} and {b}")
    return _add_scaled("addr", input, _npg().outer(vec1, vec2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``, as ``torch.addbmm``."""
    from .torch_aliases import bmm
    return _add_scaled("addbmm", input, _npg().sum(bmm(batch1, batch2), axis=0), beta, alpha)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``, as ``torch.rsub``."""
    return _ew.sub(other, input if alpha == 1 else _ew.mul(input, alpha))


# ------------------------------------------------------------------------------------------- shapes and facts
def unbind(input, dim=0):
    return input.unbind(dim)


def t(input):
    return input.t()


def numel(input):
    return int(np.prod(_shape(input), dtype=np.int64))


def broadcast_tensors(*tensors):
    """The tensors broadcast to one shape (views), as ``torch.broadcast_tensors``."""
    try:
        shape = np.broadcast_shapes(*[_shape(t) for t in tensors])
    except ValueError:
        raise ValueError("broadcast_tensors: shapes " + ", ".join(str(_shape(t)) for t in tensors)
                         + " do not broadcast") from None
    return tuple(_npg().broadcast_to(t, shape) for t in tensors)


broadcast_shapes, promote_types = np.broadcast_shapes, np.promote_types   # (NumPy's functions)


def clamp_min(input, min):
    """``torch.clamp_min``: ``input`` limited below by ``min``."""
    from .torch_methods import _clamp
    return _clamp(input, min, None)


def clamp_max(input, max):
    """``torch.clamp_max``: ``input`` limited above by ``max``."""
    from .torch_methods import _clamp
    return _clamp(input, None, max)


def is_floating_point(input):
    return np.dtype(input.dtype).kind == "f"


def is_complex(input):
    return np.dtype(input.dtype).kind == "c"


def is_nonzero(input):
    """``bool`` of a one-element tensor, as ``torch.is_nonzero`` (an error for any other size)."""
    n = numel(input)
    if n != 1:
        raise RuntimeError(f"is_nonzero: a tensor with {n} elements (shape {_shape(input)}) is ambiguous; "
                           "expected exactly one element")
    return bool(input.reshape(())) if isinstance(input, Tensor) else bool(np.asarray(input).reshape(()))


def _sum_to_size(self, *size):
    """``self`` summed down to ``size`` (which must broadcast to ``self``'s shape), as ``Tensor.sum_to_size``."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    shape = tuple(self.shape)
    if len(size) > len(shape) or any(s not in (1, d) for s, d in zip(size[::-1], shape[::-1])):
        raise RuntimeError(f"sum_to_size: size {size} is not expandable to the tensor's shape {shape}")
    lead = len(shape) - len(size)
    out = self.sum(axis=tuple(range(lead))) if lead else self
    axes = tuple(i for i, (s, d) in enumerate(zip(size, shape[lead:])) if s == 1 and d != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


def _fill_diagonal_(self, fill_value, wrap=False):
    """``self``'s main diagonal set to ``fill_value`` in place, as ``Tensor.fill_diagonal_`` (``np.fill_diagonal``'s
    positions, ``wrap`` for tall matrices)."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise RuntimeError(f"fill_diagonal_: expected a 2-D tensor or one with all dims equal, got shape "
                           f"{self.shape}")
    mask = np.zeros(self.shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    return self.masked_fill_(mask, fill_value)


def _is_nonzero_m(self):
    return is_nonzero(self)


def _cast(dtype):
    return lambda self, memory_format=None: self.to(dtype)


# ------------------------------------------------------------------------------------------- attaching
def _alias_methods():
    """Tensor methods that are npgrad's function of the same (or PyTorch's) name applied to the tensor."""
    npg = _npg()
    from .torch_math import _div, _ldexp
    from .torch_methods import _torch_keywords
    same = ("absolute acos acosh asin asinh atan atan2 atanh arccosh arcsinh arctanh arctan2 deg2rad rad2deg exp2 "
            "hypot logaddexp logaddexp2 copysign fmax fmin float_power heaviside sinc i0 isfinite isinf isneginf "
            "isposinf isreal signbit logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor "
            "bitwise_not bitwise_left_shift bitwise_right_shift negative positive multiply floor_divide greater "
            "greater_equal less less_equal not_equal gcd lcm nextafter fix outer inner kron vdot isclose "
            "allclose frexp bincount argwhere").split()
    m = {n: getattr(npg, n) for n in same}
    m.update(ger=npg.outer, ldexp=_ldexp, true_divide=_div, divide=_div,
             subtract=lambda self, other, *, alpha=1: _ew.sub(self, other if alpha == 1 else _ew.mul(other, alpha)),
             diff=_torch_keywords(npg.diff, "diff"), diag=lambda self, diagonal=0: npg.diag(self, diagonal),
             frac=frac, sgn=sgn, logit=logit, xlogy=xlogy, erfc=erfc, erfinv=erfinv, lgamma=lgamma, digamma=digamma,
             polygamma=lambda self, n: polygamma(n, self), mvlgamma=_mvlgamma,
             det=det, logdet=logdet, slogdet=slogdet, inverse=inverse, pinverse=pinverse, matrix_exp=matrix_exp,
             matrix_power=matrix_power, mv=mv, dist=dist, msort=msort,
             addmv=lambda self, mat, vec, *, beta=1, alpha=1: addmv(self, mat, vec, beta=beta, alpha=alpha),
             addr=lambda self, v1, v2, *, beta=1, alpha=1: addr(self, v1, v2, beta=beta, alpha=alpha),
             addbmm=lambda self, b1, b2, *, beta=1, alpha=1: addbmm(self, b1, b2, beta=beta, alpha=alpha),
             cov=lambda self, *, correction=1, fweights=None, aweights=None: npg.cov(
                 self, ddof=correction, fweights=fweights, aweights=aweights),
             corrcoef=lambda self: npg.corrcoef(self),
             nansum=_torch_keywords(npg.nansum, "nansum"), nanmean=_torch_keywords(npg.nanmean, "nanmean"),
             nanmedian=npg.nanmedian, median=npg.median,
             quantile=_quantile("quantile"), nanquantile=_quantile("nanquantile"))
    return m


def _quantile(name):
    def f(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """PyTorch's ``quantile(q, dim=None, keepdim=False, *, interpolation='linear')`` (NumPy's function)."""
        if dim is not None and np.ndim(self) == 0:   # torch's dims 0 / -1 of a 0-d tensor: its value
            normalize_one_axis(dim, 1, name)
            dim = None
        return getattr(_npg(), name)(self, q, axis=dim, keepdims=keepdim, method=interpolation)
    f.__name__ = name
    return f


# in-place forms: name -> the out-of-place method they write back
_INPLACE = ("absolute acos acosh asin asinh atan atan2 atanh arccos arcsin arctan arccosh arcsinh arctanh arctan2 "
            "cosh sinh deg2rad rad2deg exp2 sinc i0 fix trunc frac sgn round negative hypot copysign float_power "
            "heaviside ldexp nextafter gcd lcm floor_divide divide multiply subtract true_divide xlogy logit lgamma "
            "digamma erfc erfinv polygamma mvlgamma cumsum cumprod nan_to_num logical_and logical_or logical_xor "
            "logical_not eq ne lt le gt ge greater greater_equal less less_equal not_equal bitwise_and bitwise_or "
            "bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift index_copy masked_scatter renorm tril "
            "triu").split()


def _method_of(T, name):
    npg = _npg()
    if name in ("cumsum", "cumprod"):
        return lambda self, dim, *, dtype=None: getattr(npg, name)(self, axis=dim, dtype=dtype)
    if name == "nan_to_num":
        return lambda self, nan=0.0, posinf=None, neginf=None: npg.nan_to_num(self, nan=nan, posinf=posinf,
                                                                               neginf=neginf)
    if name == "round":
        return lambda self, *, decimals=0: npg.round(self, decimals)
    for src in (T.__dict__, ):
        if name in src:
            return src[name]
    return getattr(npg, name)


def attach(T):
    """Give ``Tensor`` the methods, in-place forms, facts and casts listed in the module docstring."""
    from . import inplace
    for name, fn in _alias_methods().items():
        setattr(T, name, fn)
    for name in _INPLACE:
        setattr(T, name + "_", inplace.method(name + "_", _method_of(T, name)))
    from .torch_select import _argsort, _sort_method, _unique_method, index_put, mode
    T.index_put, T.index_put_ = index_put, inplace.method("index_put_", index_put)
    T.sort, T.argsort, T.unique, T.mode = _sort_method, _argsort, _unique_method, mode
    T.sum_to_size, T.fill_diagonal_ = _sum_to_size, _fill_diagonal_
    T.split_with_sizes = lambda self, split_sizes, dim=0: self.split(list(split_sizes), dim)
    T.ndimension = lambda self: self.ndim
    T.is_signed = lambda self: np.dtype(self.dtype).kind in "ifc"
    T.is_cpu = property(lambda self: True)
    T.is_cuda = property(lambda self: False)
    T.get_device = lambda self: -1
    T.is_inference = T.is_conj = T.is_neg = lambda self: False
    T.resolve_conj = T.resolve_neg = lambda self: self
    T.itemsize = property(lambda self: self.data.itemsize)
    T.nbytes = property(lambda self: self.data.nbytes)
    T.is_nonzero = _is_nonzero_m
    T.aminmax = lambda self, *, dim=None, keepdim=False: aminmax(self, dim=dim, keepdim=keepdim)
    T.diagflat = lambda self, offset=0: _npg().diagflat(self, offset)
    T.hardshrink = lambda self, lambd=0.5: _F().hardshrink(self, lambd)
    T.prelu = lambda self, weight: _F().prelu(self, weight)
    T.is_same_size = lambda self, other: tuple(self.shape) == tuple(_shape(other))
    for name, dt in (("byte", np.uint8), ("char", np.int8), ("short", np.int16), ("cfloat", np.complex64),
                     ("cdouble", np.complex128)):
        setattr(T, name, _cast(dt))


# torch's top-level names of nn.functional ops whose torch.X signature is F.X's (npgrad/__init__.py exports them)
SAME_AS_F = ("conv1d conv3d conv_transpose1d conv_transpose2d conv_transpose3d pixel_shuffle pixel_unshuffle selu "
             "celu hardshrink prelu threshold bilinear adaptive_avg_pool1d avg_pool1d max_pool1d max_pool3d "
             "channel_shuffle layer_norm group_norm rms_norm").split()


def functional_names():
    """``{name: function}``: ``SAME_AS_F`` from nn.functional, and the dropouts with torch.X's ``train`` argument
    (``torch.dropout(input, p, train)``, where F's is ``training``)."""
    from ..nn import functional as F
    names = {n: getattr(F, n) for n in SAME_AS_F}
    for n in ("dropout", "alpha_dropout", "feature_alpha_dropout"):
        def f(input, p, train, _f=getattr(F, n)):
            return _f(input, p, training=train)
        f.__name__, f.__doc__ = n, f"``torch.{n}(input, p, train)``: ``nn.functional.{n}(input, p, training=train)``."
        names[n] = f
    return names
