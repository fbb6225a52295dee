"""PyTorch's arithmetic under its names, composed from npgrad's differentiable ops (so their VJP, JVP and vmap
rules are those ops'): ``rsqrt lerp addcmul addcdiv addmm baddbmm`` (also ``npg.`` functions), and the Tensor
methods ``add sub mul div neg sin cos tan reciprocal sign floor ceil square log1p expm1 log2 log10 erf rsqrt lerp
addcmul addcdiv isnan logical_not where fmod remainder count_nonzero``. A method whose name is also a NumPy
function (``x.sin()``, ``x.reciprocal()``, ``x.count_nonzero()``...) is that function of the tensor, as
``npg.sin(x)``; ``x.where(condition, y)`` is PyTorch's ``where(condition, x, y)``."""
import numpy as np

from ..tensor import Tensor
from . import elementwise as _ew, elementwise_more as _em
from .contract import matmul
from .nondiff import count_nonzero as _count_nonzero

__all__ = ["rsqrt", "lerp", "addcmul", "addcdiv", "addmm", "baddbmm"]


def _shape(v):
    return tuple(v.shape) if isinstance(v, (Tensor, np.ndarray)) else np.shape(v)


def _broadcast_check(name, *operands):
    """PyTorch's error for operands that do not broadcast, naming the op and their shapes."""
    shapes = [_shape(v) for v in operands]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{name}: shapes {', '.join(map(str, shapes))} do not broadcast") from None


def _scaled(v, s):
    return v if isinstance(s, (int, float)) and s == 1 else _ew.mul(v, s)


def alpha_scaled(x, other, alpha, where):
    """``alpha * other`` for PyTorch's ``x.add(other, alpha=)`` / ``sub``, with its rules: alpha takes the
    result's dtype, so a bool result scales by ``bool(alpha)`` (``True + True * 2`` is True, as torch's, not 3);
    an integral or bool result refuses a float alpha, a real one a complex alpha, a non-bool one a bool alpha."""
    # (dtypes only: no values read, so vmap's batched tensors pass; Python numbers stay weak, as torch's scalars)
    result = np.result_type(*(v.dtype if hasattr(v, "dtype") else v if isinstance(v, (int, float, complex)) else
                              np.asarray(v).dtype for v in (x, other)))
    kind = result.kind
    if isinstance(alpha, (bool, np.bool_)):
        if kind != "b":
            raise RuntimeError(f"{where}: a bool alpha is only supported for a bool result (as PyTorch), got a "
                               f"{result} one")
        return _ew.mul(other, bool(alpha))
    if isinstance(alpha, (complex, np.complexfloating)) and kind != "c":
        raise RuntimeError(f"{where}: for non-complex input tensors, alpha must not be a complex number (as "
                           f"PyTorch), got {alpha!r}")
    if isinstance(alpha, (float, np.floating)) and kind in "biu":
        raise RuntimeError(f"{where}: for integral input tensors, alpha must not be a floating point number (as "
                           f"PyTorch), got {alpha!r}")
    if isinstance(other, (bool, int, float, complex)):  # (a Python number stays one: weak, as torch's scalars)
        return bool(other and alpha) if kind == "b" else other * alpha
    if kind == "b":
        return _ew.mul(other, bool(alpha))
    return other if alpha == 1 else _ew.mul(other, alpha)


def _reciprocal_method(self):
    """``x.reciprocal()``, as torch's: an integer or bool tensor gives floats of the default dtype (NumPy's
    ``np.reciprocal``, which ``npg.reciprocal`` follows, keeps the integer dtype: 1 // x)."""
    if self.dtype.kind in "biu":
        from ..dtypes import get_default_dtype
        self = self.astype(get_default_dtype())
    return _ew.reciprocal(self)


# x.reciprocal_(): a floating or complex tensor computed into its memory; an integer or bool one gets the float
# result, which the write refuses (NumPy's integer reciprocal, 1 // x, would fit and be written)
_reciprocal_method.into = lambda x: (_ew.reciprocal.into if x.dtype.kind in "fc" else _reciprocal_method)(x)


def _refuse_bool_sub(x, other, where):
    """torch's ``sub`` refuses bool operands (NumPy's ``-``, which npgrad's operator follows, allows them)."""
    for v in (x, other):
        if (v.dtype if isinstance(v, (Tensor, np.ndarray, np.generic)) else np.asarray(v).dtype).kind == "b":
            raise RuntimeError(f"{where}: subtraction with a bool tensor or bool number is not supported (as "
                               f"PyTorch); to invert a mask use ~ or logical_not()")


def with_alpha(op, where):
    """PyTorch's ``x.add(other, alpha=)`` / ``x.sub`` (``op``: npgrad's add or sub; ``where``: the name errors
    give): ``f(x, other, alpha=1)`` is ``op(x, alpha * other)`` under torch's rules (``alpha_scaled``; ``sub``
    refuses bool operands), and ``f.into`` the same computed into ``x`` (the in-place form: ops/inplace.py's
    method)."""
    def operand(x, other, alpha):
        if op is _ew.sub:
            _refuse_bool_sub(x, other, where)
        return alpha_scaled(x, other, alpha, where)
    fn = lambda x, other, alpha=1: op(x, operand(x, other, alpha))  # noqa: E731
    fn.into = lambda x, other, alpha=1: op.into(x, operand(x, other, alpha))
    return fn


_ADD, _SUB = with_alpha(_ew.add, "add"), with_alpha(_ew.sub, "sub")


def rsqrt(input):
    """``1 / sqrt(input)``, as ``torch.rsqrt``."""
    return _ew.reciprocal(_ew.sqrt(input))


def lerp(input, end, weight):
    """``input + weight * (end - input)``, as ``torch.lerp`` (differentiable in all three); as torch's kernel,
    ``end - (end - input) * (1 - weight)`` where ``|weight| >= 0.5``, so ``lerp(a, b, 1)`` is ``b`` exactly (the
    two forms have the same derivatives)."""
    _broadcast_check("lerp", input, end, weight)
    diff = _ew.sub(end, input)
    if isinstance(weight, (int, float)):
        if abs(weight) < 0.5:
            return _ew.add(input, _ew.mul(weight, diff))
        return _ew.sub(end, _ew.mul(diff, 1.0 - weight))
    from .comparison import less
    from .nondiff import where
    low = _ew.add(input, _ew.mul(weight, diff))
    high = _ew.sub(end, _ew.mul(diff, _ew.sub(1.0, weight)))
    return where(less(_ew.abs(weight), 0.5), low, high)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``, as ``torch.addcmul``."""
    _broadcast_check("addcmul", input, tensor1, tensor2)
    return _ew.add(input, _scaled(_ew.mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``, as ``torch.addcdiv``."""
    _broadcast_check("addcdiv", input, tensor1, tensor2)
    kinds = [t.dtype.kind if isinstance(t, Tensor) else np.result_type(t).kind for t in (tensor1, tensor2)]
    if all(k in "biu" for k in kinds):   # (np.result_type of a Tensor would dispatch: under vmap, a loop)
        raise TypeError("addcdiv: integer division of tensors is not supported (as torch.addcdiv): give a "
                        f"floating-point tensor1 / tensor2, got {[getattr(t, 'dtype', type(t)) for t in (tensor1, tensor2)]}")
    return _ew.add(input, _scaled(_ew.div(tensor1, tensor2), value))


def _add_scaled(name, input, product, beta, alpha):
    """``beta * input + alpha * product``, as PyTorch's addmm family: ``beta=0`` ignores the values of ``input``
    (NaN and inf in it do not propagate) and gives it a zero gradient."""
    out_shape = tuple(product.shape)
    if not _broadcasts(input, out_shape):
        raise RuntimeError(f"{name}: input of shape {_shape(input)} does not broadcast to the product's shape "
                           f"{out_shape}")
    product = _scaled(product, alpha)
    if isinstance(beta, (int, float)) and beta == 0:
        return _ew.add(product, _ew.where(False, input, 0))
    return _ew.add(_scaled(input, beta), product)


def _broadcasts(input, shape):
    try:
        return np.broadcast_shapes(_shape(input), shape) == shape
    except ValueError:
        return False


def _mats_error(name, a, b, what):
    return RuntimeError(f"{name}: {what}, got shapes {_shape(a)} and {_shape(b)}")


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for (n, m) and (m, p) matrices, as ``torch.addmm`` (``input``
    broadcast to (n, p))."""
    if len(_shape(mat1)) != 2 or len(_shape(mat2)) != 2:
        raise _mats_error("addmm", mat1, mat2, "mat1 and mat2 must be 2-D")
    if _shape(mat1)[1] != _shape(mat2)[0]:
        raise _mats_error("addmm", mat1, mat2, "mat1 and mat2 shapes cannot be multiplied: expected (n, m) and "
                                               "(m, p)")
    return _add_scaled("addmm", input, matmul(mat1, mat2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` for (b, n, m) and (b, m, p) batches, as ``torch.baddbmm``
    (``input`` broadcast to (b, n, p))."""
    if len(_shape(batch1)) != 3 or len(_shape(batch2)) != 3:
        raise _mats_error("baddbmm", batch1, batch2, "batch1 and batch2 must be 3-D")
    if _shape(batch1)[0] != _shape(batch2)[0] or _shape(batch1)[2] != _shape(batch2)[1]:
        raise _mats_error("baddbmm", batch1, batch2, "expected (b, n, m) and (b, m, p)")
    return _add_scaled("baddbmm", input, matmul(batch1, batch2), beta, alpha)


def _div(self, other, *, rounding_mode=None):
    """``torch.div``: true division, or ``rounding_mode`` 'trunc' / 'floor' (an integer result for integer
    operands, as PyTorch's)."""
    if rounding_mode is None:
        return _ew.div(self, other)
    if rounding_mode == "floor":
        return _ew.floor_divide(self, other)
    if rounding_mode != "trunc":
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"{rounding_mode!r}")
    kinds = {np.dtype(getattr(v, "dtype", np.result_type(v))).kind for v in (self, other)}
    if kinds <= set("biu"):  # |a| // |b| with the sign of a * b: exact in integers
        q = _ew.floor_divide(_ew.abs(self), _ew.abs(other))
        return _ew.where(_ew.less(_ew.mul(_ew.sign(self), _ew.sign(other)), 0), _ew.neg(q), q)
    return _em.trunc(_ew.div(self, other))


def _ldexp(self, other):
    """PyTorch's ``x.ldexp(other)``: ``x * 2**other``, differentiable in both, a float exponent allowed (an integer
    one: ``npg.ldexp``, NumPy's, exact). ``npg.ldexp`` itself stays NumPy's (integer exponents only)."""
    from .numeric import ldexp
    od = other.dtype if isinstance(other, (Tensor, np.ndarray)) else np.result_type(other)
    if np.dtype(od).kind in "biu" and np.dtype(self.dtype).kind in "biuf":
        return ldexp(self, other)
    if not isinstance(other, (Tensor, np.ndarray)):  # a Python number: weak, keeps x's dtype
        return _ew.mul(self, 2.0 ** other)
    return _ew.mul(self, _em.exp2(other))


def _erf(self):
    from ..special import erf
    return erf(self)


def _count_nonzero_method(self, dim=None, *, axis=None):
    if dim is not None and axis is not None:
        raise TypeError("count_nonzero(): got both axis= and its PyTorch spelling dim=")
    if isinstance(dim, (list, tuple)):   # torch: a list of dims; () / [] counts over every dim
        dim = tuple(dim) or None
    return _count_nonzero(self, dim if axis is None else axis)


METHODS = dict(
    add=lambda self, other, *, alpha=1: _ADD(self, other, alpha),
    sub=lambda self, other, *, alpha=1: _SUB(self, other, alpha),
    mul=_ew.mul, div=_div, neg=_ew.neg, sin=_ew.sin, cos=_ew.cos, tan=_ew.tan, reciprocal=_reciprocal_method,
    sign=_ew.sign, floor=_ew.floor, ceil=_ew.ceil, square=_ew.square, log1p=_ew.log1p, expm1=_ew.expm1,
    log2=_ew.log2, log10=_ew.log10, erf=_erf, rsqrt=rsqrt, lerp=lerp, addcmul=addcmul, addcdiv=addcdiv,
    isnan=_ew.isnan, logical_not=_ew.logical_not, where=lambda self, condition, other: _ew.where(condition, self, other),
    fmod=_em.fmod, remainder=_ew.remainder, count_nonzero=_count_nonzero_method,
    addmm=lambda self, mat1, mat2, *, beta=1, alpha=1: addmm(self, mat1, mat2, beta=beta, alpha=alpha),
    baddbmm=lambda self, batch1, batch2, *, beta=1, alpha=1: baddbmm(self, batch1, batch2, beta=beta, alpha=alpha))


# their in-place forms (ops/inplace.py's ``method``: the out-of-place result written into the tensor)
INPLACE = {name: (METHODS[name], op) for name, op in (
    ("sin", "sin"), ("cos", "cos"), ("tan", "tan"), ("reciprocal", "reciprocal"), ("sign", "sign"),
    ("floor", "floor"), ("ceil", "ceil"), ("square", "square"), ("log1p", "log1p"), ("expm1", "expm1"),
    ("log2", "log2"), ("log10", "log10"), ("erf", None), ("rsqrt", None), ("lerp", None), ("addcmul", None),
    ("addcdiv", None), ("fmod", "fmod"), ("remainder", "remainder"), ("addmm", None), ("baddbmm", None))}


def attach(T):
    """Give ``Tensor`` these methods and their in-place forms ``sin_``, ``lerp_``, ``addcmul_``..."""
    from . import inplace
    for name, fn in METHODS.items():
        setattr(T, name, fn)
    for name, (fn, op) in INPLACE.items():
        setattr(T, name + "_", inplace.method(name + "_", fn, op))
