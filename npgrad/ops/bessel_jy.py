"""Differentiable Bessel functions of the first and second kind, ``npg.special.j0 j1 y0 y1 jn yn``
(``scipy.special``'s names, values and argument order), declared like the ops of npgrad/ops/special.py: a
NumPy forward (the float64 kernels of npgrad/ops/_bessel_jy.py, which say how each is computed) and its
derivative side by side. The elementwise ops' JVP is their VJP's formula (DIAG) and their vmap rule the
elementwise one; ``jn`` and ``yn`` take the ``bound_elementwise`` rule, as ``polygamma``.

Derivatives (A&S 9.1.27-28, DLMF 10.6.2): ``J0' = -J1``, ``Y0' = -Y1``, ``J1' = J0 - J1/x`` (1/2 at 0),
``Y1' = Y0 - Y1/x``, ``C_n' = (C_{n-1} - C_{n+1}) / 2`` for C = J, Y; each written with these same ops, so
they can be differentiated again. The integer order n takes no gradient.
"""
import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from ._util import batching_rule
from . import _bessel_jy as _k
from .elementwise import DIAG, unary
from .special import _constant, _duals, _out_dtype, _real, _safe_x

_RAW = {name: _real(getattr(_k, name), name) for name in ("j0", "j1", "y0", "y1")}


def _order_forward(kernel, n, x, name):
    """``kernel(n, x)`` in float64, returned in x's float dtype (integer x: float64; the order is an integer
    and does not take part)."""
    dt = _out_dtype(x, name=name)
    return np.asarray(kernel(n, np.asarray(x, dtype=np.float64))).astype(dt, copy=False)


_RAW["jn"] = lambda n, x: _order_forward(_k.jn, n, x, "jn")
_RAW["yn"] = lambda n, x: _order_forward(_k.yn, n, x, "yn")


_dual = _duals(globals(), _RAW)   # (see npgrad/ops/special.py)
_j0, _j1, _y0, _y1, _jn, _yn = (_dual(n) for n in ("j0", "j1", "y0", "y1", "jn", "yn"))


def _doc(text):
    return (text + " Differentiable (not in an integer order); NumPy-only (float64 kernels, the input's float "
            "dtype kept, integers give float64), to about 1e-13 relative of scipy.special (absolute near the "
            "zeros); methods: npgrad/ops/_bessel_jy.py.")


def _j1_vjp(g, y, x):  # J1' = J0 - J1 / x, 1/2 at 0
    return g * np.where(x == 0, 0.5, _j0(x) - y / _safe_x(x))


def _y1_vjp(g, y, x):  # Y1' = Y0 - Y1 / x, +inf at 0 (Y1 ~ -2 / (pi x)); NaN below 0, as Y1
    with np.errstate(invalid="ignore"):   # (-inf - -inf at 0: replaced)
        return g * np.where(x == 0, np.inf, _y0(x) - y / _safe_x(x))


#            name          forward        d/dx (g: output grad, y: output, x: input)   jvp   reads
j0 = unary("j0", _RAW["j0"], lambda g, y, x: -g * _j1(x), DIAG, "x",
           _doc("The Bessel function of the first kind of order 0, ``J0(x)``."))
j1 = unary("j1", _RAW["j1"], _j1_vjp, DIAG, "xy",
           _doc("The Bessel function of the first kind of order 1, ``J1(x)`` (odd)."))
y0 = unary("y0", _RAW["y0"], lambda g, y, x: -g * _y1(x), DIAG, "x",
           _doc("The Bessel function of the second kind of order 0, ``Y0(x)``: NaN for x < 0, -inf at 0."))
y1 = unary("y1", _RAW["y1"], _y1_vjp, DIAG, "xy",
           _doc("The Bessel function of the second kind of order 1, ``Y1(x)``: NaN for x < 0, -inf at 0."))


def _yn_derivative(n, y, x, yn):
    with np.errstate(invalid="ignore"):   # (-inf - -inf at 0: replaced)
        return np.where(x == 0, -y, 0.5 * (yn(n - 1, x) - yn(n + 1, x)))


def _with_order(name, doc):
    raw = _RAW[name]
    other = _dual(name)

    def op(n, x):
        nd = _k._order(_constant(n, name, "the order n"), name)
        if isinstance(x, Tensor):
            out = raw(nd, x.data)
            if name == "jn":
                d = (lambda g, y, x: g * (0.5 * (other(nd - 1, x) - other(nd + 1, x))),)
            else:   # at 0, Y_n = -inf (or +inf): its derivative is -Y_n there (+inf, or -inf)
                d = (lambda g, y, x: g * _yn_derivative(nd, y, x, other),)
            return _make(out, name, (x,), (x.data,), d, d)  # elementwise: JVP = the VJP's formula
        return _wrap(raw(nd, np.asarray(const(x, name))))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    _versions.reads(name, "x" if name == "jn" else "xy")
    return batching_rule("bound_elementwise")(op)


jn = _with_order("jn", _doc(
    "The Bessel function of the first kind of integer order n, ``J_n(x)`` (as ``scipy.special.jn(n, x)``; n "
    "an integer array or number broadcasting with x, ``J_{-n} = (-1)^n J_n``; a non-integer n is an error: "
    "SciPy's jn(v, x) is then jv). d/dx J_n = (J_{n-1} - J_{n+1}) / 2."))
yn = _with_order("yn", _doc(
    "The Bessel function of the second kind of integer order n, ``Y_n(x)`` (as ``scipy.special.yn(n, x)``; n "
    "an integer array or number broadcasting with x, ``Y_{-n} = (-1)^n Y_n``; NaN for x < 0, -inf at 0). "
    "d/dx Y_n = (Y_{n-1} - Y_{n+1}) / 2."))

__all__ = ["j0", "j1", "jn", "y0", "y1", "yn"]
