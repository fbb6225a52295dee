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
  (~1e-16 / 1e-3) errors stay near 1e-11 relative; a third derivative in a parameter raises.

The forwards compute in float64 and return the arguments' float dtype (float32 stays float32; integers
give float64), as the other special functions (npgrad/ops/special.py).
"""
import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from . import _incbeta, _incgamma
from .elementwise import DIAG, binary, log as _log, log1p as _log1p
from .special import _digamma, _out_dtype

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
    return _cast(_incgamma.gammainc_pq(_f64(a), _f64(x))[0], a, x)


def _gammaincc_fwd(a, x):
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


def _dual3(name, fwd):
    def call(a, b, x):
        return _OPS3[name](a, b, x) if _is_tensor(a, b, x) else fwd(a, b, x)
    return call


def _beta_density_fwd(a, b, x):
    return _cast(np.exp(_incbeta.log_density(_f64(a), _f64(b), _f64(x))), a, b, x)


def _betainc_d_kernel(which):
    def kernel(a, b, x):
        return _incbeta.betainc(a, b, x, deriv=True)[1 + which]
    return kernel


def _betainc_d_fwd(which):
    kernel = _betainc_d_kernel(which)

    def fwd(a, b, x):
        return _cast(kernel(_f64(a), _f64(b), _f64(x)), a, b, x)
    return fwd


def _beta_density_dp(which):
    """d/da (which 0) or d/db (1) of the beta density, times g."""
    def vjp(g, y, a, b, x):
        lx = _log_of(x) if which == 0 else _log1p_of(-x)
        return g * y * (lx - _digamma(a if which == 0 else b) + _digamma(a + b))
    return vjp


_beta_density_vjps = (_beta_density_dp(0), _beta_density_dp(1),
                      lambda g, y, a, b, x: g * y * ((a - 1.0) / x - (b - 1.0) / (1.0 - x)))
_beta_density_d = _dual3("_beta_density", _beta_density_fwd)


def _betainc_d_vjps(which):
    """The VJPs of ``d betainc / d(a or b)``: central differences in a and b (of this accurate first
    derivative; the mixed one differentiates it in the other parameter), closed form in x."""
    da2 = _fd_op("betainc", _betainc_d_kernel(which), 0, 3)
    db2 = _fd_op("betainc", _betainc_d_kernel(which), 1, 3)
    dx = _beta_density_dp(which)
    return (lambda g, y, a, b, x: g * da2(a, b, x), lambda g, y, a, b, x: g * db2(a, b, x),
            lambda g, y, a, b, x: dx(g, _beta_density_d(a, b, x), a, b, x))


_OPS3 = {
    "_beta_density": _ternary("_beta_density", _beta_density_fwd, _beta_density_vjps, ("abcy",),
                              "``x^(a-1) (1-x)^(b-1) / B(a, b)``: the derivative of ``betainc`` in x."),
    "_betainc_da": _ternary("_betainc_da", _betainc_d_fwd(0), _betainc_d_vjps(0), ("abc",),
                            "``d betainc(a, b, x) / da`` (npgrad/ops/_incbeta.py)."),
    "_betainc_db": _ternary("_betainc_db", _betainc_d_fwd(1), _betainc_d_vjps(1), ("abc",),
                            "``d betainc(a, b, x) / db`` (npgrad/ops/_incbeta.py)."),
}
_betainc_da_d = _dual3("_betainc_da", _betainc_d_fwd(0))
_betainc_db_d = _dual3("_betainc_db", _betainc_d_fwd(1))


def _betainc_fwd(a, b, x):
    return _cast(_incbeta.betainc(_f64(a), _f64(b), _f64(x))[0], a, b, x)


betainc = _ternary(
    "betainc", _betainc_fwd,
    (lambda g, y, a, b, x: g * _betainc_da_d(a, b, x), lambda g, y, a, b, x: g * _betainc_db_d(a, b, x),
     lambda g, y, a, b, x: g * _beta_density_d(a, b, x)), ("abc",),
    "The regularized incomplete beta function ``I_x(a, b) = int_0^x t^(a-1) (1-t)^(b-1) dt / B(a, b)``, as "
    "``scipy.special.betainc(a, b, x)`` (a, b >= 0, 0 <= x <= 1; NaN outside). Differentiable in a, b and x; "
    "NumPy-only (npgrad/ops/_incbeta.py).")

__all__ = ["betainc", "gammainc", "gammaincc"]
