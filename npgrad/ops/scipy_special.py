"""``scipy.special``'s ufuncs applied to tensors (``scipy.special.gammaln(t)``), through ``__array_ufunc__``.

npgrad never imports SciPy: :func:`lookup` recognizes a ufunc as SciPy's by finding it in the already
imported ``scipy.special`` module, under its own name (or an alias: ``jn`` is the ufunc named ``jv``).

* The functions npgrad implements itself (npgrad/ops/special.py, incomplete.py) run npgrad's NumPy kernels:
  ``erf``, ``gammaln``, ``psi``, ``ndtri``, ``i0``, ``xlogy``..., and ``gammainc``/``gammaincc``/``betainc``
  (differentiable in every argument, the parameters a and b included).
* The others listed in ``_DERIVATIVES`` take their values from SciPy (it is there: the user called it)
  and their derivatives from the known formulas, written with these same functions, so they are
  differentiable again: the Bessel functions by their recurrences (``j0' = -j1``,
  ``iv' = (iv(v-1) + iv(v+1)) / 2``...). Orders (v, n) take no gradient: a tensor that requires one there
  is an error naming the function.
* Any other SciPy ufunc is refused by ``__array_ufunc__`` with an error naming ``scipy.special.X``.
"""
import sys

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from . import elementwise as _ew, incomplete as _inc, special as _sp

# SciPy ufunc name -> npgrad's own op
NATIVE = {
    "erf": _sp.erf, "erfc": _sp.erfc, "erfcx": _sp.erfcx, "erfinv": _sp.erfinv, "erfcinv": _sp.erfcinv,
    "ndtr": _sp.ndtr, "log_ndtr": _sp.log_ndtr, "ndtri": _sp.ndtri,
    "gammaln": _sp.gammaln, "gamma": _sp.gamma, "rgamma": _sp.rgamma, "psi": _sp.digamma, "gammasgn": _sp.gammasgn,
    "beta": _sp.beta, "betaln": _sp.betaln,
    "i0": _sp.i0, "i0e": _sp.i0e, "i1": _sp.i1, "i1e": _sp.i1e,
    "expit": _sp.expit, "logit": _sp.logit, "log_expit": lambda x: -_ew.logaddexp(0.0, -x),
    "entr": _sp.entr, "xlogy": _sp.xlogy, "xlog1py": _sp.xlog1py,
    "expm1": _ew.expm1, "log1p": _ew.log1p, "cbrt": _ew.cbrt, "exp2": _ew.exp2,
    "exp10": lambda x: _ew.power(10.0, x),
    "gammainc": _inc.gammainc, "gammaincc": _inc.gammaincc, "betainc": _inc.betainc,
}


def _half(a, b, s=1.0):
    return 0.5 * (a + s * b)


def _over_x(x):
    return 1.0 / np.where(x == 0, 1.0, x)


# SciPy ufunc name -> (names of its constant leading arguments, d/dx as f(call, consts, x, y)), where
# ``call(name, *args)`` evaluates another of these functions (differentiably on Tensors)
_DERIVATIVES = {
    "j0": ((), lambda f, c, x, y: -f("j1", x)),
    "j1": ((), lambda f, c, x, y: np.where(x == 0, 0.5, f("j0", x) - y * _over_x(x))),
    "y0": ((), lambda f, c, x, y: -f("y1", x)),
    "y1": ((), lambda f, c, x, y: f("y0", x) - y * _over_x(x)),
    "k0": ((), lambda f, c, x, y: -f("k1", x)),
    "k1": ((), lambda f, c, x, y: -f("k0", x) - y * _over_x(x)),
    "k0e": ((), lambda f, c, x, y: y - f("k1e", x)),
    "k1e": ((), lambda f, c, x, y: y - f("k0e", x) - y * _over_x(x)),
    "jv": (("v",), lambda f, c, x, y: _half(f("jv", c[0] - 1, x), f("jv", c[0] + 1, x), -1.0)),
    "yv": (("v",), lambda f, c, x, y: _half(f("yv", c[0] - 1, x), f("yv", c[0] + 1, x), -1.0)),
    "yn": (("n",), lambda f, c, x, y: _half(f("yn", c[0] - 1, x), f("yn", c[0] + 1, x), -1.0)),
    "iv": (("v",), lambda f, c, x, y: _half(f("iv", c[0] - 1, x), f("iv", c[0] + 1, x))),
    "ive": (("v",), lambda f, c, x, y: _half(f("ive", c[0] - 1, x), f("ive", c[0] + 1, x)) - np.sign(x) * y),
    "kv": (("v",), lambda f, c, x, y: -_half(f("kv", c[0] - 1, x), f("kv", c[0] + 1, x))),
    "kn": (("n",), lambda f, c, x, y: -_half(f("kn", c[0] - 1, x), f("kn", c[0] + 1, x))),
    "kve": (("v",), lambda f, c, x, y: y - _half(f("kve", c[0] - 1, x), f("kve", c[0] + 1, x))),
}


def _ufunc(name):
    return getattr(sys.modules["scipy.special"], name)


def _values(name, consts, xd):
    """SciPy's ``name(*consts, x)`` in the dtype npgrad gives (the float dtype of the arguments)."""
    dt = _sp._out_dtype(xd, *(c for c in consts if np.asarray(c).dtype.kind not in "biu"))  # (orders: no)
    with np.errstate(all="ignore"):
        out = _ufunc(name)(*consts, xd)
    return np.asarray(out).astype(dt, copy=False)


def _call(name, *args):
    """``scipy.special.name(*args)``: differentiable if the last argument is a Tensor, else SciPy's values."""
    if isinstance(args[-1], Tensor):
        return _OPS[name](*args)
    return _values(name, args[:-1], np.asarray(args[-1]))


def _scipy_op(name):
    argnames, deriv = _DERIVATIVES[name]
    _versions.reads(name, "xy")

    def op(*args):
        if len(args) != len(argnames) + 1:
            raise TypeError(f"scipy.special.{name} takes {len(argnames) + 1} arguments, got {len(args)}")
        consts = []
        for argname, c in zip(argnames, args[:-1]):
            if isinstance(c, Tensor):
                if c._requires_grad:
                    raise TypeError(f"npgrad differentiates scipy.special.{name} only in its last argument (x), "
                                    f"not in {argname}: pass {argname} as a constant (or .detach() it)")
                c = c.data
            consts.append(const(c, name))
        x = args[-1]
        if not isinstance(x, Tensor):
            return _wrap(_values(name, consts, np.asarray(const(x, name))))
        out = _values(name, consts, x.data)
        d = (lambda g, y, x: g * deriv(_call, consts, x, y),)
        return _make(out, name, (x,), (x.data,), d, d)  # elementwise: JVP = the VJP's formula
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``scipy.special.{name}`` on a tensor: SciPy's values, differentiable in the last argument "
                  f"(npgrad/ops/scipy_special.py).")
    return op


_OPS = {name: _scipy_op(name) for name in _DERIVATIVES}


def lookup(ufunc):
    """npgrad's function for a ``scipy.special`` ufunc, or None (not SciPy's, or not differentiated)."""
    module = sys.modules.get("scipy.special")
    name = getattr(ufunc, "__name__", None)
    if module is None or name is None:
        return None
    if getattr(module, name, None) is not ufunc:   # (jn is the ufunc named jv: found as jv)
        return None
    return NATIVE.get(name) or _OPS.get(name)

