"""Tensor's Python operators and its NumPy-named methods (and a few PyTorch spellings), attached to the class:
each only delegates to an op of ``npgrad.ops``. Augmented assignments (``x += v``, ``x **= v``, ``x &= m``...) and
PyTorch's in-place methods (``add_``, ``copy_``...) write into the tensor's memory, as NumPy's and PyTorch's do
(npgrad/ops/inplace.py). Imported by ``npgrad/ops/__init__.py``, which also attaches the later families'
methods."""
import importlib

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor
from . import inplace
from .arrays import clone, copy, positive
from .contract import dot, matmul
from .elementwise import (abs, add, bitwise_and, bitwise_or, bitwise_xor, clip, div, equal, exp, floor_divide,
                          greater, greater_equal, invert, less, less_equal, log, maximum, minimum, mul, neg,
                          not_equal, power, relu, remainder, sigmoid, sqrt, sub, tanh, where)
from .index import getitem, setitem, take
from .reduce import (all, any, argmax, argmin, cumprod, cumsum, logsumexp, max, mean, min, prod, std, sum,
                     var)
from .torch_math import with_alpha
from .shape import (astype, broadcast_to, expand_dims, flatten, flip, masked_fill, moveaxis, permute, ravel,
                    repeat, reshape, squeeze, swapaxes, tile, transpose, unsqueeze)

_tm = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


def _reflected(op):
    return lambda self, other: op(other, self)


def _inplace(op, name):
    """``x op= other``: NumPy's in-place op on ``x``'s memory (shape and dtype kept); in a graph, ``x``
    gets the op's node and views of the same memory follow (npgrad/ops/inplace.py)."""
    where = op.__name__ + "_"  # PyTorch's name for the in-place op: add_, mul_...

    def iop(self, other):
        if _tm._VMAP:  # a batched tensor written in place, or a batched operand: npgrad/_vmap_layers.py's rule
            r = _tm._vmap_call("inplace", iop, (self, other), {})
            if r is not NotImplemented:
                return r
        if not inplace.is_recording(self, other):
            od = other.data if isinstance(other, Tensor) else other
            if not self.data.flags.writeable:
                raise inplace.read_only(self, where)
            try:
                getattr(self.data, name)(od)  # NumPy's in-place op (same_kind casting)
            except ValueError as e:
                raise ValueError(f"{where}: in-place operation on a tensor of shape {self.shape} with an operand "
                                 f"of shape {np.shape(od)}: {e}") from None
            except TypeError as e:
                raise TypeError(f"{where}: in-place operation on a {self.dtype} tensor with an operand of dtype "
                                f"{np.result_type(od)}: {e}") from None
            _versions.bump(self.data, where)  # ops that saved this memory must not use it in backward
            return self
        other = inplace.unaliased(self, other)
        grads = [i for i, t in enumerate((self, other)) if isinstance(t, Tensor) and t._requires_grad]
        copy_old = _versions.reads_input(op.__name__, 0, grads)
        if not copy_old and hasattr(op, "into"):  # (add, sub, mul, div): computed into x's memory when it fits
            return inplace.write(self, where, lambda old: op.into(old, other))
        return inplace.write(self, where, lambda old: op(old, other), copy_old=copy_old)
    iop.__name__ = name
    iop._inplace, iop._inplace_name = (op, op.__name__), where
    return iop


T = Tensor
T.__add__, T.__radd__, T.__iadd__ = add, _reflected(add), _inplace(add, "__iadd__")
T.__sub__, T.__rsub__, T.__isub__ = sub, _reflected(sub), _inplace(sub, "__isub__")
T.__mul__, T.__rmul__, T.__imul__ = mul, _reflected(mul), _inplace(mul, "__imul__")
T.__truediv__, T.__rtruediv__, T.__itruediv__ = div, _reflected(div), _inplace(div, "__itruediv__")
T.__pow__, T.__rpow__, T.__ipow__ = power, _reflected(power), _inplace(power, "__ipow__")
T.__matmul__, T.__rmatmul__, T.__imatmul__ = matmul, _reflected(matmul), _inplace(matmul, "__imatmul__")
T.__floordiv__, T.__rfloordiv__, T.__ifloordiv__ = (floor_divide, _reflected(floor_divide),
                                                    _inplace(floor_divide, "__ifloordiv__"))
T.__mod__, T.__rmod__, T.__imod__ = remainder, _reflected(remainder), _inplace(remainder, "__imod__")
T.__neg__ = neg
T.__pos__ = positive  # a new tensor, as NumPy's +a (PyTorch returns self)
T.__abs__ = abs


def _comparison(op):
    def compare(self, other):  # a non-numeric operand (None, a string) is not equal, as in PyTorch
        if other is None or isinstance(other, (str, bytes, dict, set)):
            return NotImplemented
        return op(self, other)
    compare.__name__ = op.__name__
    return compare


T.__eq__, T.__ne__ = _comparison(equal), _comparison(not_equal)
T.__lt__, T.__le__, T.__gt__, T.__ge__ = less, less_equal, greater, greater_equal
T.__and__, T.__or__, T.__xor__ = bitwise_and, bitwise_or, bitwise_xor
T.__rand__, T.__ror__, T.__rxor__ = _reflected(bitwise_and), _reflected(bitwise_or), _reflected(bitwise_xor)
# without these, ``x &= m`` (and ``**=``, ``//=``, ``%=``, ``@=``, ``<<=``...) would rebind the name to a new
# tensor where NumPy and PyTorch write into x's memory (seen through its other names and views)
T.__iand__, T.__ior__, T.__ixor__ = (_inplace(bitwise_and, "__iand__"), _inplace(bitwise_or, "__ior__"),
                                     _inplace(bitwise_xor, "__ixor__"))
T.__invert__ = invert
T.__getitem__ = getitem
T.__setitem__ = setitem

# Methods, as NumPy names them (and a few PyTorch spellings).
for _name, _fn in dict(
        sum=sum, mean=mean, max=max, min=min, prod=prod, var=var, std=std, argmax=argmax, argmin=argmin,
        cumsum=cumsum, cumprod=cumprod, any=any, all=all, logsumexp=logsumexp,
        swapaxes=swapaxes, ravel=ravel, flatten=flatten, squeeze=squeeze, expand_dims=expand_dims,
        unsqueeze=unsqueeze, repeat=repeat, masked_fill=masked_fill, astype=astype, flip=flip, copy=copy, clone=clone,
        take=take, dot=dot, clip=clip, exp=exp, log=log, sqrt=sqrt, tanh=tanh, sigmoid=sigmoid, relu=relu,
        abs=abs, permute=permute, broadcast_to=broadcast_to, moveaxis=moveaxis, tile=tile,
        matmul=matmul, maximum=maximum, minimum=minimum, pow=power).items():
    setattr(T, _name, _fn)


def _reshape_method(self, *shape, order="C"):
    return reshape(self, *shape, order=order)


def _view_method(self, *shape):
    return reshape(self, *shape)


def _transpose_method(self, *axes):
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return transpose(self, axes or None)


# PyTorch's in-place methods: each writes the out-of-place op's result into the tensor (ops/inplace.py).
for _name, _fn, _op in (
        ("add_", with_alpha(add, "add_"), "add"),
        ("sub_", with_alpha(sub, "sub_"), "sub"),
        ("mul_", mul, "mul"), ("div_", div, "div"), ("pow_", power, "pow"),
        ("clamp_", lambda x, min=None, max=None: clip(x, min, max), "clip"),
        ("clip_", lambda x, min=None, max=None: clip(x, min, max), "clip"),
        ("relu_", relu, "relu"), ("sigmoid_", sigmoid, "sigmoid"), ("tanh_", tanh, "tanh"),
        ("exp_", exp, "exp"), ("log_", log, "log"), ("sqrt_", sqrt, "sqrt"), ("neg_", neg, "neg"),
        ("abs_", abs, "abs"),
        ("masked_fill_", masked_fill, "masked_fill"),
        ("copy_", lambda x, src: _as_values(src, x), "copy"),
        ("fill_", lambda x, value: _as_values(value, x), "copy"),
        ("zero_", lambda x: _as_values(0, x), "copy"),
        ("normal_", lambda x, mean=0.0, std=1.0, generator=None: _normal_values(x, mean, std, generator), "copy"),
        ("uniform_", lambda x, a=0.0, b=1.0, generator=None: _uniform_values(x, a, b, generator), "copy")):
    setattr(T, _name, inplace.method(_name, _fn, _op))


def _as_values(src, like):
    """``src`` (a tensor or a value) broadcast to ``like``'s shape, cast to its dtype: what copy_/fill_ write
    (differentiable in a tensor ``src``)."""
    if isinstance(src, Tensor):
        src = src if src.dtype == like.dtype else astype(src, like.dtype)
    else:
        src = np.asarray(src, dtype=like.dtype)
    # the tensor keeps requiring grad and its old value gets a zero gradient (PyTorch's CopyBackwards), even
    # when src needs none: else the tensor would keep its old node, differentiating values no longer there
    return where(True, src, like)


def _random_values(like, generator, draw, op):
    """``draw(rng, dtype)`` written into ``like`` (a floating or complex tensor)."""
    from .. import random as _random
    if np.dtype(like.dtype).kind not in "fc":   # as torch; casting the draws would truncate them (all 0s for U(0,1))
        raise TypeError(f"{op}: cannot fill a tensor of dtype {np.dtype(like.dtype)} (shape {tuple(like.shape)}) "
                        "with random real values; use a floating dtype (or random_ for integers)")
    return _as_values(draw(_random.generator_for(generator, op), np.dtype(like.dtype)), like)


def _real_number(v, name, op):
    """A float argument of a random fill (a number or a one-element tensor / array), else torch's TypeError."""
    try:
        return float(v.item() if isinstance(v, (Tensor, np.ndarray)) else v)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a real number, got {type(v).__name__} {v!r:.60}") from None


def _normal_values(x, mean, std, generator):
    """``x.normal_(mean, std)``: N(mean, std**2) draws (std >= 0, as torch: a negative or NaN std was NumPy's bare
    error or a tensor of NaNs); a complex tensor gets torch's complex normal (each part N(mean, std**2 / 2); its
    imaginary part was left 0)."""
    from .. import random as _random
    mean, std = _real_number(mean, "mean", "normal_"), _real_number(std, "std", "normal_")
    if not std >= 0:
        raise RuntimeError(f"normal_: expects std >= 0.0, but found std={std}")
    return _random_values(x, generator, lambda g, dt: _random.normal_draws(g, mean, std, tuple(x.shape), dt),
                          "normal_")


def _uniform_values(x, a, b, generator):
    """``x.uniform_(from, to)``: draws in ``[from, to)`` (as torch: ``from <= to``, both finite; a float16 / float32
    draw no longer rounds up to ``to``); a complex tensor gets each part so (its imaginary part was left 0)."""
    from .. import random as _random
    a, b = _real_number(a, "from", "uniform_"), _real_number(b, "to", "uniform_")
    if not (np.isfinite(a) and np.isfinite(b)):
        raise RuntimeError(f"uniform_: from and to must be finite, got from={a}, to={b}")
    if a > b:
        raise RuntimeError(f"uniform_: expects a [from, to) range with from <= to, but found from={a} > to={b}")
    return _random_values(x, generator, lambda g, dt: _random.uniform_between(g, a, b, tuple(x.shape), dt),
                          "uniform_")


T.reshape = _reshape_method
T.view = _view_method
T.transpose = _transpose_method
T.T = property(lambda self: transpose(self), doc="The tensor with its axes reversed.")
T.mT = property(lambda self: swapaxes(self, -1, -2), doc="Transpose of the last two axes.")


def _cast_method(dtype):
    """PyTorch's cast method (``float()``, ``long()``...): the tensor itself when it has ``dtype`` already (as
    PyTorch's, and ``x.to(dtype)``), else a differentiable cast."""
    dtype = np.dtype(dtype)
    return lambda self: self if self.dtype == dtype else astype(self, dtype)


T.float, T.double = _cast_method(np.float32), _cast_method(np.float64)
