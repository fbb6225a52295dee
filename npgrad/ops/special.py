"""Differentiable special functions (the elementwise ones of ``npg.special``), declared like the ops of
npgrad/ops/elementwise.py: a NumPy forward and one VJP per input, side by side.

The forwards are NumPy-only kernels (npgrad/ops/_gamma.py, _erf.py, _bessel.py) computed in float64; a
float32 (or float16) input gives a result of its own dtype, an integer or bool input a float64 one, as
SciPy does. Each VJP is written with these same ops (``digamma``'s derivative is ``polygamma(1, x)``,
``i0``'s is ``i1(x)``...), called through :func:`_dual`: on the plain backward path they run on NumPy
arrays, with ``create_graph=True`` on Tensors, so every derivative can be differentiated again.

Complex inputs are refused with a TypeError for now (real-valued functions only); a complex kernel can be
added per function in ``_real`` without changing the ops.
"""
import math

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap, const
from ._util import batching_rule, number_arg, zeros_grad
from . import _bessel, _bessel_scaled_deriv as _scaled, _erf, _gamma
from .elementwise import DIAG, binary, unary
from .elementwise_more import sinc  # noqa: F401

_SQRT_PI = math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT1_2 = math.sqrt(0.5)


def _out_dtype(*arrays, name=""):
    """The result dtype of the special function ``name`` of ``arrays`` (weak Python numbers, as NumPy's NEP 50):
    a floating dtype is kept, anything else gives float64."""
    dt = np.result_type(*arrays)
    where = f"npgrad.special.{name}" if name else "npgrad.special"
    if dt.kind == "c":
        raise TypeError(f"{where}: complex arguments are not supported yet (real-valued functions only)")
    if dt.kind not in "biuf":
        raise TypeError(f"{where}: unsupported argument dtype {dt}")
    return dt if dt.kind == "f" else np.dtype(np.float64)


def _real(kernel, name):
    """A NumPy forward of the function ``name`` from a float64 ``kernel``: computes in float64, returns the
    arguments' dtype."""
    def forward(*args):
        dt = _out_dtype(*args, name=name)
        out = kernel(*(np.asarray(a, dtype=np.float64) for a in args))
        with np.errstate(over="ignore"):   # (a float32 result beyond float32's range is inf, without a warning)
            return np.asarray(out).astype(dt, copy=False)
    forward.__name__ = getattr(kernel, "__name__", "forward")
    return forward


def _duals(namespace, raw):
    """``dual(name)``: the op ``name`` of ``namespace`` (a module's globals) on Tensors (differentiable), its
    kernel ``raw[name]`` on NumPy arrays: how the VJPs of a module of special functions call one another on
    both backward paths (this one's, bessel_jy.py's, bessel_k.py's)."""
    def dual(name):
        def call(*args):
            if any(isinstance(a, Tensor) for a in args):
                return namespace[name](*args)
            return raw[name](*args)
        return call
    return dual


def _dual(name):
    """This module's ``_duals`` (its _RAW is defined below)."""
    return _duals(globals(), _RAW)(name)


def _quiet(vjp):
    """``vjp`` with NumPy's floating-point warnings off: the infinities and NaNs of these derivatives at the
    poles and edges (xlogy's d/dy at x = y = 0, erf's at 1e300...) are their values (PyTorch's), not
    accidents, and backward should not warn about them."""
    def quiet(*args):
        with np.errstate(all="ignore"):
            return vjp(*args)
    return quiet


def _unary(name, forward, vjp, jvp, reads, doc=None):
    return unary(name, forward, _quiet(vjp), jvp, reads, doc)


def _binary(name, forward, vjp_a, vjp_b, jvp, reads, doc=None):
    return binary(name, forward, _quiet(vjp_a), _quiet(vjp_b), jvp, reads, doc)


def _safe_x(x):
    """``x`` with 0 and tiny values replaced by 1 (for a division whose result is replaced there)."""
    return np.where(abs(x) < 1e-20, 1.0, x)


# ----------------------------------------------------------------------------- the kernels
def _erfc_kernel(x):
    return _erf.erfc(x)


def _erfcx_kernel(x):  # exp(x^2) erfc(x); below 0 as 2 exp(x^2) - erfcx(-x)
    with np.errstate(over="ignore"):
        return np.where(x >= 0, _erf.erfcx_nonneg(np.abs(x)), 2.0 * np.exp(x * x) - _erf.erfcx_nonneg(np.abs(x)))


def _ndtr_kernel(x):
    return _erf.normal_cdf(x)


def _logit_kernel(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        mid = (p >= 0.25) & (p <= 0.75)
        return np.where(mid, 2.0 * np.arctanh(2.0 * p - 1.0), np.log(p / (1.0 - p)))


def _entr_kernel(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)),
                        np.where(x == 0, 0.0, np.where(np.isnan(x), np.nan, -np.inf)))


def _expit_kernel(x):  # 1 / (1 + e^-x), as e^x / (1 + e^x) below 0: correctly rounded up to a few ulps
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _xlogy_kernel(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log(y))


def _xlog1py_kernel(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log1p(y))


def _rgamma_kernel(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        g = _gamma.gamma(x)
        # (1 / Gamma(x) = x + euler x^2 + ...: x itself below 1e-150, where Gamma(x) overflows)
        return np.where((x <= 0) & (x == np.floor(x)), 0.0, np.where(np.abs(x) < 1e-150, x, 1.0 / g))


def _gammasgn_kernel(x):
    """SciPy's ``gammasgn``: 1 for x > 0 and +0, -1 for -0, alternating between the poles below 0 (Gamma is
    negative on (-1, 0), (-3, -2), ...), NaN at the negative integers (every float below -2^52 is one), -inf
    and NaN."""
    fl = np.floor(x)
    with np.errstate(invalid="ignore"):
        sgn = np.where(x > 0, 1.0, np.where(np.fmod(fl, 2.0) == 0, 1.0, -1.0))
    sgn = np.where(x == 0, np.where(np.signbit(x), -1.0, 1.0), sgn)
    return np.where((x < 0) & (x == fl) | np.isnan(x), np.nan, sgn)


_RAW = {name: _real(k, name) for name, k in dict(
    erf=_erf.erf, erfc=_erfc_kernel, erfcx=_erfcx_kernel, erfinv=_erf.erfinv, erfcinv=_erf.erfcinv,
    ndtr=_ndtr_kernel, log_ndtr=_erf.log_ndtr, ndtri=_erf.ndtri,
    gammaln=_gamma.gammaln, gamma=_gamma.gamma, rgamma=_rgamma_kernel, digamma=_gamma.digamma,
    i0=_bessel.i0, i0e=_bessel.i0e, i1=_bessel.i1, i1e=_bessel.i1e,
    expit=_expit_kernel, logit=_logit_kernel, entr=_entr_kernel, xlogy=_xlogy_kernel, xlog1py=_xlog1py_kernel,
    betaln=_gamma.betaln, beta=_gamma.beta, gammasgn=_gammasgn_kernel).items()}
_RAW["polygamma"] = lambda n, x: _polygamma_forward(n, x)
_RAW["zeta"] = lambda s, q: _zeta_forward(s, q)

_digamma, _polygamma, _i0, _i1, _i0e, _i1e, _erfcx = (
    _dual("digamma"), _dual("polygamma"), _dual("i0"), _dual("i1"), _dual("i0e"), _dual("i1e"), _dual("erfcx"))
_xlogy, _xlog1py, _zeta = _dual("xlogy"), _dual("xlog1py"), _dual("zeta")


def _doc(text):
    return text + " Differentiable; NumPy-only (float64 kernels, the input's float dtype kept)."


# ------------------------------------------------------------------------------- unary ops
def _logit_vjp(g, y, p):  # NaN outside [0, 1], as torch.special.logit
    return np.where((p < 0) | (p > 1), math.nan, g / (p * (1.0 - p) + 0.0))   # (+ 0.0: +inf at p = -0.0)


def _i1_vjp(g, y, x):  # I1' = I0 - I1 / x, 1/2 + 3 x^2 / 16 + ... near 0 (where I1 underflows: I1 / x was 0)
    zero = abs(x) < 1e-20
    return g * np.where(zero, 0.5, _i0(x) - y / _safe_x(x))


def _i1e_vjp(g, y, x):  # (e^-|x| I1)' = i0e - i1e (sign(x) + 1/x), 1/2 - |x| + ... near 0
    zero = abs(x) < 1e-20
    near = np.where(zero, 0.5, _i0e(x) - y * np.sign(x) - y / _safe_x(x))
    return g * np.where(_scaled.far(x), _scaled.large_x("i1e", _scaled.far_x(x)), near)   # (even)


def _i0e_vjp(g, y, x):  # (e^-|x| I0)' = i1e - sign(x) i0e (odd)
    near = _i1e(x) - np.sign(x) * y
    return g * np.where(_scaled.far(x), np.sign(x) * _scaled.large_x("i0e", _scaled.far_x(x)), near)


def _erfcx_vjp(g, y, x):
    # erfcx' = 2 x erfcx(x) - 2/sqrt(pi) cancels (relative error ~ eps x^2: all digits lost in float32 near
    # x = 1e3); for large x the asymptotic series 2/sqrt(pi) sum_{k>=1} (-1)^k (2k-1)!! / (2 x^2)^k instead
    big = x > (27.0 if x.dtype == np.float64 else 6.0)   # (truncated after 12 terms: below eps there)
    xb = np.where(big, x, 27.0)
    u = 0.5 / (xb * xb)
    term = -u
    series = term
    for k in range(2, 13):
        term = term * (-(2 * k - 1) * u)
        series = series + term
    return g * np.where(big, _TWO_OVER_SQRT_PI * series, 2.0 * x * y - _TWO_OVER_SQRT_PI)


def _log_ndtr_vjp(g, y, x):
    # phi / Phi: as PyTorch, exp(-(log Phi + x^2 / 2)) / sqrt(2 pi) above 0; below, sqrt(2 / pi) / erfcx(-x / sqrt 2),
    # where PyTorch's form cancels (relative error ~1e-16 x^2). (xs: no overflow in the branch not taken.)
    xs = np.where(x < 0, x, 0.0)
    return g * np.where(x < 0, (_TWO_OVER_SQRT_PI * _SQRT1_2) / _erfcx(xs * -_SQRT1_2),
                        _INV_SQRT_2PI * np.exp(-(y + 0.5 * (x * x))))


#            name                   forward          d/dx (g: output grad, y: output, x: input)        reads
erf     = _unary("erf",      _RAW["erf"],      lambda g, y, x: g * _TWO_OVER_SQRT_PI * np.exp(-(x * x)), DIAG, "x",
                 _doc("The error function ``2/sqrt(pi) int_0^x exp(-t^2) dt``."))
erfc    = _unary("erfc",     _RAW["erfc"],     lambda g, y, x: -g * _TWO_OVER_SQRT_PI * np.exp(-(x * x)), DIAG, "x",
                 _doc("The complementary error function ``1 - erf(x)``, accurate where it is tiny."))
erfcx   = _unary("erfcx",    _RAW["erfcx"],    _erfcx_vjp, DIAG, "xy",
                 _doc("The scaled complementary error function ``exp(x^2) erfc(x)``."))
erfinv  = _unary("erfinv",   _RAW["erfinv"],   lambda g, y, x: g * (0.5 * _SQRT_PI) * np.exp(y * y), DIAG, "y",
                 _doc("The inverse of ``erf`` on [-1, 1]."))
erfcinv = _unary("erfcinv",  _RAW["erfcinv"],  lambda g, y, x: -g * (0.5 * _SQRT_PI) * np.exp(y * y), DIAG, "y",
                 _doc("The inverse of ``erfc`` on [0, 2]."))
ndtr    = _unary("ndtr",     _RAW["ndtr"],     lambda g, y, x: g * _INV_SQRT_2PI * np.exp(-0.5 * (x * x)), DIAG, "x",
                 _doc("The standard normal CDF ``Phi(x)``."))
log_ndtr = _unary("log_ndtr", _RAW["log_ndtr"], _log_ndtr_vjp, DIAG, "xy",
                 _doc("``log(Phi(x))``, finite far into the lower tail."))
ndtri   = _unary("ndtri",    _RAW["ndtri"],    lambda g, y, x: g * _SQRT_2PI * np.exp(0.5 * (y * y)), DIAG, "y",
                 _doc("The inverse of the standard normal CDF (the normal quantile)."))
gammaln = _unary("gammaln",  _RAW["gammaln"],  lambda g, y, x: g * _digamma(x), DIAG, "x",
                 _doc("``log|Gamma(x)|``."))
gamma   = _unary("gamma",    _RAW["gamma"],    lambda g, y, x: g * y * _digamma(x), DIAG, "xy",
                 _doc("The gamma function."))
rgamma  = _unary("rgamma",   _RAW["rgamma"],   lambda g, y, x: -g * y * _digamma(x), DIAG, "xy",
                 _doc("``1 / Gamma(x)`` (0 at the poles of Gamma; its gradient there is NaN)."))
digamma = _unary("digamma",  _RAW["digamma"],  lambda g, y, x: g * _polygamma(1, x), DIAG, "x",
                 _doc("The digamma function ``psi(x) = d log Gamma(x) / dx``."))
i0      = _unary("i0",       _RAW["i0"],       lambda g, y, x: g * _i1(x), DIAG, "x",
                 _doc("The modified Bessel function of the first kind of order 0."))
i0e     = _unary("i0e",      _RAW["i0e"],      _i0e_vjp, DIAG, "xy",
                 _doc("The exponentially scaled ``exp(-|x|) i0(x)``."))
i1      = _unary("i1",       _RAW["i1"],       _i1_vjp, DIAG, "xy",
                 _doc("The modified Bessel function of the first kind of order 1."))
i1e     = _unary("i1e",      _RAW["i1e"],      _i1e_vjp, DIAG, "xy",
                 _doc("The exponentially scaled ``exp(-|x|) i1(x)``."))
logit   = _unary("logit",    _RAW["logit"],    _logit_vjp, DIAG, "x",
                 _doc("``log(p / (1 - p))``, the inverse of ``expit``."))
entr    = _unary("entr",     _RAW["entr"],     lambda g, y, x: -g * (1.0 + np.log(x)), DIAG, "x",
                 _doc("``-x log x`` for x > 0, 0 at 0, -inf below (the gradient is torch.special.entr's)."))
expit   = _unary("expit",    _RAW["expit"],    lambda g, y, x: g * y * (1.0 - y), DIAG, "y",
                 _doc("The logistic sigmoid ``1 / (1 + exp(-x))``."))
gammasgn = _unary("gammasgn", _RAW["gammasgn"], lambda g, y, x: zeros_grad(g), DIAG, "",
                 "The sign of the gamma function, as ``scipy.special.gammasgn``: 1 for x > 0, alternating "
                 "between the poles below 0 (-1 on (-1, 0)), -1 at -0.0, NaN at the poles (the negative integers), "
                 "-inf and NaN. Piecewise constant: its gradient is zero (SciPy and PyTorch define none). "
                 "NumPy-only; the input's float dtype kept, integers give float64.")
psi = digamma

# ------------------------------------------------------------------------------ binary ops
def _xlogy_vjp_x(g, y, a, b):  # as PyTorch: xlogy(g, y), and 0 where x == 0 and y <= 0
    return np.where((a == 0) & (b <= 0), 0.0, _xlogy(g, b))


def _xlog1py_vjp_x(g, y, a, b):  # as PyTorch: xlog1py(g, y), and 0 where x == 0 and y <= -1
    return np.where((a == 0) & (b <= -1), 0.0, _xlog1py(g, b))


#            name                   forward            d/da                                     d/db   reads
xlogy   = _binary("xlogy",   _RAW["xlogy"],
                  _xlogy_vjp_x, lambda g, y, a, b: g * (a / b), DIAG, ("ab", "ab"),
                  _doc("``x * log(y)``, 0 where x == 0 (unless y is NaN)."))
xlog1py = _binary("xlog1py", _RAW["xlog1py"],
                  _xlog1py_vjp_x, lambda g, y, a, b: g * (a / (b + 1.0)), DIAG, ("ab", "ab"),
                  _doc("``x * log1p(y)``, 0 where x == 0 (unless y is NaN)."))
betaln  = _binary("betaln",  _RAW["betaln"],
                  lambda g, y, a, b: g * (_digamma(a) - _digamma(a + b)),
                  lambda g, y, a, b: g * (_digamma(b) - _digamma(a + b)), DIAG, "ab",
                  _doc("``log|B(a, b)|``, accurate when a or b is large (no cancellation of gammaln's)."))
beta    = _binary("beta",    _RAW["beta"],
                  lambda g, y, a, b: g * y * (_digamma(a) - _digamma(a + b)),
                  lambda g, y, a, b: g * y * (_digamma(b) - _digamma(a + b)), DIAG, "aby",
                  _doc("The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``."))


# --------------------------------------------------------------- ops with a constant argument
def _constant(value, name, what):
    """The NumPy value of an argument that takes no gradient (an order, a count)."""
    if isinstance(value, Tensor):
        if value._requires_grad:
            raise TypeError(f"npgrad.special.{name}: {what} takes no gradient; pass a constant (or .detach())")
        return value.data
    return np.asarray(const(value, name))


def _polygamma_forward(n, x):
    dt = _out_dtype(x.data if isinstance(x, Tensor) else x, name="polygamma")
    return np.asarray(_gamma.polygamma(n, np.asarray(x, dtype=np.float64))).astype(dt, copy=False)


@batching_rule("bound_elementwise")
def polygamma(n, x):
    """The n-th derivative of the digamma function (``polygamma(0, x)`` is ``digamma(x)``), for an integer
    order ``n >= 0`` (array or number, broadcasting with ``x``). Differentiable in ``x``:
    d/dx polygamma(n, x) = polygamma(n + 1, x)."""
    nd = _constant(n, "polygamma", "the order n")
    if isinstance(x, Tensor):
        out = _polygamma_forward(nd, x.data)
        d = (_quiet(lambda g, y, x: g * _polygamma(nd + 1, x)),)
        return _make(out, "polygamma", (x,), (x.data,), d, d)  # elementwise: JVP = the VJP's formula
    return _wrap(_polygamma_forward(nd, np.asarray(const(x, "polygamma"))))


_versions.reads("polygamma", "x")


def _zeta_forward(s, q, weak=None):
    # (a Python number exponent stays weak: float32 q gives float32)
    dt = _out_dtype(s if weak is None else weak, q, name="zeta")
    return np.asarray(_gamma.zeta(s, q)).astype(dt, copy=False)


@batching_rule("bound_elementwise")
def zeta(x, q=1.0):
    """The Hurwitz zeta function ``sum_k (q + k)^-x`` for x > 1 (the Riemann zeta function for q = 1), as
    ``scipy.special.zeta(x, q)``. Differentiable in ``q``: d/dq zeta(x, q) = -x zeta(x + 1, q); the exponent
    ``x`` takes no gradient."""
    sd = _constant(x, "zeta", "the exponent x")
    weak = x if isinstance(x, (int, float)) else None
    if isinstance(q, Tensor):
        out = _zeta_forward(sd, q.data, weak)
        d = (_quiet(lambda g, y, q: -g * sd * _zeta(sd + 1.0, q)),)
        return _make(out, "zeta", (q,), (q.data,), d, d)  # elementwise: JVP = the VJP's formula
    return _wrap(_zeta_forward(sd, np.asarray(const(q, "zeta")), weak))


_versions.reads("zeta", "x")


@batching_rule("unary")
def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d``:
    ``d (d - 1) / 4 log(pi) + sum_{j<d} gammaln(a - j / 2)`` (``scipy.special.multigammaln``; every
    ``a`` must exceed ``(d - 1) / 2``). Differentiable in ``a``."""
    d = number_arg(d, "multigammaln", "d")
    if not float(d) == int(d) or int(d) < 1:
        raise ValueError(f"multigammaln: the dimension d must be a positive integer, got {d!r}")
    d = int(d)
    ad = a.data if isinstance(a, Tensor) else np.asarray(const(a, "multigammaln"))
    if np.any(ad <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: condition a > (d - 1) / 2 = {0.5 * (d - 1)} not met "
                         f"(min a = {np.min(ad)})")
    if not isinstance(a, Tensor):
        a = _wrap(ad)
    out = gammaln(a)
    for j in range(1, d):
        out = out + gammaln(a - 0.5 * j)
    return out + d * (d - 1) / 4.0 * math.log(math.pi)


__all__ = ["beta", "betaln", "digamma", "entr", "erf", "erfc", "erfcinv", "erfcx", "erfinv", "expit", "gamma",
           "gammaln", "gammasgn", "i0", "i0e", "i1", "i1e", "log_ndtr", "logit", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "rgamma", "sinc", "xlog1py", "xlogy", "zeta"]
