"""torch.special's orthogonal polynomials as differentiable ops: ``chebyshev_polynomial_t u v w``,
``shifted_chebyshev_polynomial_t u v w``, ``hermite_polynomial_h he``, ``laguerre_polynomial_l``,
``legendre_polynomial_p``, each ``f(input, n)`` with torch's argument order and values (npgrad/ops/_orthopoly.py
says how they are computed and which of torch's special cases they keep).

torch 2.13 gives none of them a gradient (its output has no grad_fn). npgrad differentiates them in ``input``
(the exact derivative of the polynomial of degree int(n), from the recurrence: any order, forward mode and vmap
included); the degree ``n`` takes no gradient: an ``n`` that requires one is a TypeError, naming the function.
"""
import functools

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from ._util import batching_rule
from . import _orthopoly
from .special import _constant

NAMES = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p")


def _result_dtype(x, n, name):
    """torch's promotion: x's float dtype (an integer or bool x gives float64, npgrad's default float), promoted
    with a floating n of at least one dimension (a 0-d or Python-number n does not change it)."""
    for v, what in ((x, "input"), (n, "n")):
        if np.asarray(v).dtype.kind not in "biuf":
            raise TypeError(f"npgrad.special.{name}: {what} must be real (got dtype {np.asarray(v).dtype})")
    xd = np.asarray(x).dtype
    dt = xd if xd.kind == "f" else np.dtype(np.float64)
    if isinstance(n, np.ndarray) and n.ndim and n.dtype.kind == "f":
        dt = np.promote_types(dt, n.dtype)
    return dt


def _compute(name, m, x, nd, dt):
    with np.errstate(all="ignore"):
        if m == 0:
            out = _orthopoly.values(name, x, nd, dt)
        else:
            out = _orthopoly.derivative(name, x, nd, m, dt)
        return np.asarray(out).astype(dt)


@functools.lru_cache(maxsize=None)
def _derivative_op(name, m):
    """The m-th derivative in x of ``name`` as an op ``(x, nd, dt)`` (nd: int64 degrees), differentiable again."""
    opname = name if m == 0 else f"{name}_d{m}"
    _versions.reads(opname, "x")

    def op(x, nd, dt):
        if isinstance(x, Tensor):
            out = _compute(name, m, x.data, nd, dt)
            nxt = _derivative_op(name, m + 1)

            def vjp(g, y, xv):
                return g * (nxt(xv, nd, dt) if isinstance(xv, Tensor) else _compute(name, m + 1, xv, nd, dt))
            d = (vjp,)
            return _make(out, opname, (x,), (x.data,), d, d)   # elementwise: JVP = the VJP's formula
        return _wrap(_compute(name, m, np.asarray(x), nd, dt))
    return op


def _polynomial(name, doc):
    def op(input, n):
        nval = _constant(n, name, "the degree n")
        xval = input.data if isinstance(input, Tensor) else np.asarray(const(input, name))
        dt = _result_dtype(xval, nval, name)
        nd = _orthopoly.degree(nval)
        x = input
        if isinstance(x, Tensor) and x.dtype != dt:
            x = x.astype(dt)
        elif not isinstance(x, Tensor):
            x = np.asarray(xval, dtype=dt)
        out = _derivative_op(name, 0)(x, nd, dt)
        shape = np.broadcast_shapes(np.shape(xval), nd.shape)
        if out.shape != shape:   # (a degree array of more dimensions: the values broadcast, as the gradient)
            out = out + np.zeros(shape, dt)
        return out
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return batching_rule("bound_elementwise")(op)


_COMMON = (" ``n`` is a number or an array/tensor broadcasting with ``input``, truncated toward zero; a negative, "
           "NaN or infinite degree gives 0, as torch. Differentiable in ``input`` (torch 2.13 is not: its result "
           "has no grad_fn): the exact derivative of the polynomial, any order; ``n`` takes no gradient (a TypeError "
           "if it requires one). float32 stays float32; NumPy-only, computed in float64 (npgrad/ops/_orthopoly.py).")
_DOCS = {
    "chebyshev_polynomial_t": "The Chebyshev polynomial of the first kind T_n(input), as torch.special's.",
    "chebyshev_polynomial_u": "The Chebyshev polynomial of the second kind U_n(input), as torch.special's.",
    "chebyshev_polynomial_v": "The Chebyshev polynomial of the third kind V_n(input), as torch.special's.",
    "chebyshev_polynomial_w": "The Chebyshev polynomial of the fourth kind W_n(input), as torch.special's.",
    "shifted_chebyshev_polynomial_t": ("The shifted Chebyshev polynomial T*_n(input) = T_n(2 input - 1), "
                                       "as torch.special's."),
    "shifted_chebyshev_polynomial_u": ("The shifted Chebyshev polynomial U*_n(input) = U_n(2 input - 1), "
                                       "as torch.special's."),
    "shifted_chebyshev_polynomial_v": ("The shifted Chebyshev polynomial V*_n(input) = V_n(2 input - 1), "
                                       "as torch.special's."),
    "shifted_chebyshev_polynomial_w": ("The shifted Chebyshev polynomial W*_n(input) = W_n(2 input - 1), "
                                       "as torch.special's."),
    "hermite_polynomial_h": ("The physicists' Hermite polynomial H_n(input), as torch.special's (NaN above degree "
                             "512, 128 in float32, as torch)."),
    "hermite_polynomial_he": ("The probabilists' Hermite polynomial He_n(input), as torch.special's (NaN above "
                              "degree 512, 128 in float32, as torch)."),
    "laguerre_polynomial_l": "The Laguerre polynomial L_n(input), as torch.special's.",
    "legendre_polynomial_p": "The Legendre polynomial P_n(input), as torch.special's.",
}
for _name in NAMES:
    globals()[_name] = _polynomial(_name, _DOCS[_name] + _COMMON)

__all__ = list(NAMES)
