"""The regularized incomplete gamma and beta functions as differentiable ops: ``gammainc(a, x)``,
``gammaincc(a, x)``, ``betainc(a, b, x)`` (SciPy's names and argument orders), differentiable in every
argument. ``scipy.special.gammainc/gammaincc/betainc`` applied to tensors run these same ops
(npgrad/ops/scipy_special.py).

Derivatives:

* in x, the integrands (closed form): ``dP/dx = x^(a-1) e^-x / Gamma(a)`` and
  ``dI/dx = x^(a-1) (1-x)^(b-1) / B(a, b)``, themselves ops (``_gamma_density``, ``_beta_density``) whose
  derivatives are written with npgrad ops, so they can be differentiated again to any order;
* in a (and b), which have no closed form: the kernels (npgrad/ops/_incgamma.py, _incbeta.py)
  differentiate their series and continued fractions term by term, so these first derivatives have the
  values' accuracy (about 1e-13 relative against mpmath). Their derivatives in x are closed form again
  (``d/da`` of the integrand); their derivatives in a and b (the second derivatives in the parameters) are
  fourth-order central differences of those accurate first derivatives, with steps ``1e-3 * min(p, sqrt(p))``
  (p the parameter; the scale on which these functions vary), so truncation (~(1e-3)^4) and rounding
  (~1e-16 / 1e-3) errors stay near 1e-11 relative (1e-10 at worst against mpmath in the tests' points); a
  third derivative in a parameter raises.

The forwards compute in float64 and return the arguments' float dtype (float32 stays float32; integers
give float64), as the other special functions (npgrad/ops/special.py).
"""
import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from . import _incbeta, _incgamma
from .elementwise import DIAG, log as _log, log1p as _log1p
from .special import _binary as binary, _digamma, _out_dtype, _quiet

_tm = __import__("npgrad.tensor", fromlist=["_VMAP"])


def _f64(v):
    return np.asarray(v, dtype=np.float64)


def _cast(out, *args):
    with np.errstate(over="ignore", under="ignore"):
        return np.asarray(out).astype(_out_dtype(*args), copy=False)


def _is_tensor(*args):
    return any(isinstance(v, Tensor) for v in args)


def _log_of(v):
    return _log(v) if isinstance(v, Tensor) else np.log(v)


def _log1p_of(v):
    return _log1p(v) if isinstance(v, Tensor) else np.log1p(v)


def _fd_step(p):
    """The central-difference step for a parameter p (module doc): ``1e-3 * min(p, sqrt(p))``."""
    return 1e-3 * np.minimum(p, np.sqrt(p))


def _central(f, p):
    """``df/dp`` by the fourth-order central difference ``(8 (f(p+h) - f(p-h)) - (f(p+2h) - f(p-2h))) / 12h``."""
    h = _fd_step(p)
    return (8.0 * (f(p + h) - f(p - h)) - (f(p + 2.0 * h) - f(p - 2.0 * h))) / (12.0 * h)


def _no_third(name, what):
    def vjp(g, y, *args):
        raise NotImplementedError(f"npgrad.special.{name}: derivatives of third order in {what} are not "
                                  f"implemented (the second is a central difference of the first)")
    return vjp


def _fd_op(name, kernel, which, nargs):
    """The op ``d/d(args[which]) kernel(*args)`` by a central difference, and itself not differentiable."""
    what = "a" if which == 0 else "b"

    def forward(*args):
        def f(p):
            return kernel(*(p if i == which else _f64(v) for i, v in enumerate(args)))
        return _cast(_central(f, _f64(args[which])), *args)
    vjps = tuple(_no_third(name, what) for _ in range(nargs))

    def op(*args):   # (on NumPy arrays, on the plain backward path, a NumPy array)
        data = tuple(v.data if isinstance(v, Tensor) else const(v, name) for v in args)
        if not _is_tensor(*args):
            return forward(*data)
        return _make(forward(*data), name, args, data, vjps, vjps)
    return op


# --------------------------------------------------------------------------- incomplete gamma
def _gamma_density_fwd(a, x):
    return _cast(np.exp(_incgamma.log_density(_f64(a), _f64(x))), a, x)


def _gammainc_da_kernel(a, x):
    return _incgamma.gammainc_pq(a, x, deriv=True)[2]


def _gammainc_da_fwd(a, x):
    return _cast(_gammainc_da_kernel(_f64(a), _f64(x)), a, x)


_gammainc_da2 = _fd_op("gammainc", _gammainc_da_kernel, 0, 2)


def _dual2(op, fwd):
    def call(a, x):
        return op(a, x) if _is_tensor(a, x) else fwd(a, x)
    return call


def _gamma_density_da(g, y, a, x):   # d/da of x^(a-1) e^-x / Gamma(a)
    return g * y * (_log_of(x) - _digamma(a))


_gamma_density = binary(
    "_gamma_density", _gamma_density_fwd, _gamma_density_da,
    lambda g, y, a, x: g * y * ((a - 1.0) / x - 1.0), DIAG, "aby",
    "``x^(a-1) e^-x / Gamma(a)``: the derivative of ``gammainc`` in x.")
_gammainc_da = binary(
    "_gammainc_da", _gammainc_da_fwd,
    lambda g, y, a, x: g * _gammainc_da2(a, x),
    lambda g, y, a, x: _gamma_density_da(g, _density_g(a, x), a, x), DIAG, "ab",
    "``d gammainc(a, x) / da`` (npgrad/ops/_incgamma.py).")
_density_g = _dual2(_gamma_density, _gamma_density_fwd)
_da_g = _dual2(_gammainc_da, _gammainc_da_fwd)


def _gammainc_fwd(a, x):
    _out_dtype(a, x, name="gammainc")   # (refuses complex arguments before computing)
    return _cast(_incgamma.gammainc_pq(_f64(a), _f64(x))[0], a, x)


def _gammaincc_fwd(a, x):
    _out_dtype(a, x, name="gammaincc")
    return _cast(_incgamma.gammainc_pq(_f64(a), _f64(x), name="gammaincc")[1], a, x)


gammainc = binary(
    "gammainc", _gammainc_fwd,
    lambda g, y, a, x: g * _da_g(a, x), lambda g, y, a, x: g * _density_g(a, x), DIAG, "ab",
    "The regularized lower incomplete gamma function ``P(a, x) = int_0^x t^(a-1) e^-t dt / Gamma(a)``, "
    "as ``scipy.special.gammainc`` (a >= 0, x >= 0; NaN outside). Differentiable in a and x; NumPy-only "
    "(npgrad/ops/_incgamma.py).")
gammaincc = binary(
    "gammaincc", _gammaincc_fwd,
    lambda g, y, a, x: -g * _da_g(a, x), lambda g, y, a, x: -g * _density_g(a, x), DIAG, "ab",
    "The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, computed on its own (so it "
    "keeps its relative precision where it is tiny), as ``scipy.special.gammaincc``. Differentiable in a "
    "and x; NumPy-only (npgrad/ops/_incgamma.py).")


# ---------------------------------------------------------------------------- incomplete beta
def _ternary(name, forward, vjps, reads, doc):
    """A broadcasting three-argument elementwise op (JVPs: the VJPs' formulas, as an elementwise op's)."""
    _versions.reads(name, *reads)
    vjps = tuple(_quiet(v) for v in vjps)   # (no NumPy warnings from backward: see npgrad/ops/special.py)

    def op(a, b, x):
        if _tm._VMAP:
            r = _tm._vmap_call("elementwise", op, (a, b, x), None)
            if r is not NotImplemented:
                return r
        args = (a, b, x)
        data = tuple(v.data if isinstance(v, Tensor) else const(v, name) for v in args)
        try:
            out = forward(*data)
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            raise ValueError(f"{name}: a, b and x could not be broadcast together with shapes "
                             f"{', '.join(str(np.shape(d)) for d in data)}") from None
        if not _is_tensor(*args):
            return _wrap(out)
        return _make(out, name, args, data, vjps, vjps)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


class _BetaForm:
    """The ops of ``I_x(a, b)`` as a function of ``(a, b, v)``: ``v = x`` (``betainc``), or ``v = 1 - x``
    (``betainc_complement``: ``I_{1-v}(a, b)``, for a caller that knows 1 - x more precisely than x).
    ``s`` is dx/dv (+1 or -1); ``lx(v)``, ``ly(v)`` are log x and log(1 - x)."""

    def __init__(self, suffix, s):
        self.s = s
        self.ops = {}
        self.lx = (lambda v: _log_of(v)) if s > 0 else (lambda v: _log1p_of(-v))
        self.ly = (lambda v: _log1p_of(-v)) if s > 0 else (lambda v: _log_of(v))
        self.xy = (lambda v: (v, 1.0 - v)) if s > 0 else (lambda v: (1.0 - v, v))
        self.suffix = suffix
        self._build()

    def kernel(self, a, b, v, deriv=False):
        x, y = self.xy(v)
        return _incbeta.betainc(a, b, x, deriv=deriv, y=y)

    def dual(self, name, fwd):
        def call(a, b, v):
            return self.ops[name](a, b, v) if _is_tensor(a, b, v) else fwd(a, b, v)
        return call

    def _build(self):
        s, sfx = self.s, self.suffix

        def density_fwd(a, b, v):
            x, y = self.xy(_f64(v))
            return _cast(np.exp(_incbeta.log_density(_f64(a), _f64(b), x, y)), a, b, v)

        def density_dp(which):   # d/da (which 0) or d/db (1) of the density, times g
            def vjp(g, y, a, b, v):
                lx = self.lx(v) if which == 0 else self.ly(v)
                return g * y * (lx - _digamma(a if which == 0 else b) + _digamma(a + b))
            return vjp

        def density_dv(g, y, a, b, v):
            x, one_minus_x = self.xy(v)
            return g * y * (s * ((a - 1.0) / x - (b - 1.0) / one_minus_x))

        def d_kernel(which):
            def kernel(a, b, v):
                return self.kernel(a, b, v, deriv=True)[1 + which]
            return kernel

        def d_fwd(which):
            kernel = d_kernel(which)

            def fwd(a, b, v):
                return _cast(kernel(_f64(a), _f64(b), _f64(v)), a, b, v)
            return fwd

        density = self.dual("density", density_fwd)

        def d_vjps(which):
            """The VJPs of ``d I / d(a or b)``: central differences in a and b (of this accurate first
            derivative), closed form in v (d/dv of it is s times d/d(a or b) of the density)."""
            da2 = _fd_op("betainc", d_kernel(which), 0, 3)
            db2 = _fd_op("betainc", d_kernel(which), 1, 3)
            dv = density_dp(which)
            return (lambda g, y, a, b, v: g * da2(a, b, v), lambda g, y, a, b, v: g * db2(a, b, v),
                    lambda g, y, a, b, v: dv(s * g, density(a, b, v), a, b, v))

        self.ops["density"] = _ternary(f"_beta_density{sfx}", density_fwd,
                                       (density_dp(0), density_dp(1), density_dv), ("abcy",),
                                       "The beta density ``x^(a-1) (1-x)^(b-1) / B(a, b)``.")
        self.ops["da"] = _ternary(f"_betainc_da{sfx}", d_fwd(0), d_vjps(0), ("abc",),
                                  "``d betainc / da`` (npgrad/ops/_incbeta.py).")
        self.ops["db"] = _ternary(f"_betainc_db{sfx}", d_fwd(1), d_vjps(1), ("abc",),
                                  "``d betainc / db`` (npgrad/ops/_incbeta.py).")
        da, db = self.dual("da", d_fwd(0)), self.dual("db", d_fwd(1))

        def fwd(a, b, v):
            _out_dtype(a, b, v, name="betainc")
            return _cast(self.kernel(_f64(a), _f64(b), _f64(v))[0], a, b, v)
        self.vjps = (lambda g, y, a, b, v: g * da(a, b, v), lambda g, y, a, b, v: g * db(a, b, v),
                     lambda g, y, a, b, v: (s * g) * density(a, b, v))
        self.forward = fwd


_X_FORM, _Y_FORM = _BetaForm("", 1.0), _BetaForm("_complement", -1.0)

betainc = _ternary(
    "betainc", _X_FORM.forward, _X_FORM.vjps, ("abc",),
    "The regularized incomplete beta function ``I_x(a, b) = int_0^x t^(a-1) (1-t)^(b-1) dt / B(a, b)``, as "
    "``scipy.special.betainc(a, b, x)`` (a, b >= 0, 0 <= x <= 1; NaN outside). Differentiable in a, b and x; "
    "NumPy-only (npgrad/ops/_incbeta.py).")
betainc_complement = _ternary(
    "betainc_complement", _Y_FORM.forward, _Y_FORM.vjps, ("abc",),
    "``I_{1-y}(a, b)``, that is ``betainc(a, b, 1 - y)`` for a ``y`` known more precisely than ``1 - x`` (the "
    "t distribution's ``z^2 / (df + z^2)``): where x is next to 1, ``betainc(a, b, x)`` for a large ``a`` "
    "amplifies the rounding of x by a. Differentiable in a, b and y.")

__all__ = ["betainc", "betainc_complement", "gammainc", "gammaincc"]
