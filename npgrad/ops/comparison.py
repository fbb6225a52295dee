"""Comparisons, logical and bitwise ops and the isnan/isinf/isfinite tests: elementwise ops whose results
(bool or integer tensors) have no gradient and never join a graph. ``<``, ``<=``, ``>``, ``>=`` refuse
complex operands, as PyTorch does (it does not order complex numbers)."""
import numpy as np

from ..tensor import Tensor, _wrap, const, is_complex_value
from .elementwise import REAL_ONLY, _tm, broadcast_error, real_only_error


def _no_grad_binary(name, forward):
    real_only = name in REAL_ONLY

    def op(a, b):
        if _tm._VMAP:
            r = _tm._vmap_call("elementwise", op, (a, b), None)
            if r is not NotImplemented:
                return r
        ad = a.data if isinstance(a, Tensor) else const(a, name)
        bd = b.data if isinstance(b, Tensor) else const(b, name)
        if real_only and (is_complex_value(ad) or is_complex_value(bd)):
            raise real_only_error(name, ad, bd)
        try:
            return _wrap(forward(ad, bd))
        except ValueError as e:
            raise broadcast_error(name, ad, bd, e) from None
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``; the result is a bool/integer tensor with no gradient."
    return op


def _no_grad_unary(name, forward, doc):
    def op(x):
        if _tm._VMAP:
            r = _tm._vmap_call("unary", op, (x,), None)
            if r is not NotImplemented:
                return r
        return _wrap(forward(x.data if isinstance(x, Tensor) else const(x, name)))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


equal = _no_grad_binary("equal", np.equal)
not_equal = _no_grad_binary("not_equal", np.not_equal)
less = _no_grad_binary("less", np.less)
less_equal = _no_grad_binary("less_equal", np.less_equal)
greater = _no_grad_binary("greater", np.greater)
greater_equal = _no_grad_binary("greater_equal", np.greater_equal)
logical_and = _no_grad_binary("logical_and", np.logical_and)
logical_or = _no_grad_binary("logical_or", np.logical_or)
logical_xor = _no_grad_binary("logical_xor", np.logical_xor)
bitwise_and = _no_grad_binary("bitwise_and", np.bitwise_and)
bitwise_or = _no_grad_binary("bitwise_or", np.bitwise_or)
bitwise_xor = _no_grad_binary("bitwise_xor", np.bitwise_xor)
logical_not = _no_grad_unary("logical_not", np.logical_not, "Elementwise logical not (no gradient).")
invert = _no_grad_unary("invert", np.invert, "Elementwise bitwise / logical inversion, ``~x`` (no gradient).")
isnan = _no_grad_unary("isnan", np.isnan, "Where ``x`` is NaN, as ``np.isnan`` (no gradient).")
isinf = _no_grad_unary("isinf", np.isinf, "Where ``x`` is infinite, as ``np.isinf`` (no gradient).")
isfinite = _no_grad_unary("isfinite", np.isfinite, "Where ``x`` is finite, as ``np.isfinite`` (no gradient).")
