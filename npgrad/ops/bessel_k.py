"""Differentiable ``npg.special.k0 k0e k1 k1e`` (``scipy.special``'s modified Bessel functions of the second
kind), ``airy_ai`` and ``spherical_bessel_j0`` (``torch.special``'s), declared like the ops of
npgrad/ops/special.py: a NumPy forward (the float64 kernels of npgrad/ops/_bessel_k.py and _airy.py, which say
how each is computed) and its derivative side by side; their JVP is the VJP's formula (DIAG), their vmap rule
the elementwise one.

Derivatives (DLMF 10.29.3, 9.2.1): ``K0' = -K1``, ``K1' = -K0 - K1/x``, ``(e^x K0)' = k0e - k1e``,
``(e^x K1)' = k1e - k0e - k1e/x``, ``Ai'' = x Ai`` (Ai' is an op of its own, so every derivative can be taken
again); above x = 30 the derivatives of k0e and k1e are summed from the asymptotic series instead, where the
closed forms cancel (npgrad/ops/_bessel_scaled_deriv.py). ``torch.special.modified_bessel_k0/k1``,
``scaled_modified_bessel_k0/k1`` and ``airy_ai`` have no derivative in torch 2.13 (their output has no grad_fn);
npgrad's are these identities, checked against finite differences and SciPy (tests/test_special_torch_names.py).
"""
import numpy as np

from . import _airy, _bessel_k, _bessel_scaled_deriv as _scaled
from .elementwise import DIAG, unary, where
from .elementwise import sin as _sin
from ._util import as_input, batching_rule
from .special import _duals, _real

_RAW = {name: _real(getattr(_bessel_k, name), name) for name in ("k0", "k0e", "k1", "k1e")}
_RAW["airy_ai"] = _real(_airy.airy_ai, "airy_ai")
_RAW["_airy_ai_prime"] = _real(_airy.airy_aip, "airy_ai")


_dual = _duals(globals(), _RAW)   # (see npgrad/ops/special.py)
_k0, _k1, _k0e, _k1e, _aip, _ai = (_dual(n) for n in ("k0", "k1", "k0e", "k1e", "_airy_ai_prime", "airy_ai"))


def _doc(text):
    return (text + " Differentiable; NumPy-only (float64 kernels, the input's float dtype kept, integers give "
            "float64), to about 1e-14 relative of scipy.special; methods: npgrad/ops/_bessel_k.py.")


def _quiet(vjp):
    def quiet(*args):
        with np.errstate(all="ignore"):
            return vjp(*args)
    return quiet


def _k1_vjp(g, y, x):   # K1' = -K0 - K1 / x (-inf at 0, NaN below 0, as K1)
    return g * (-_k0(x) - y / x)


def _k1e_vjp(g, y, x):  # (e^x K1)' = k1e - k0e - k1e / x (from the asymptotic series at x >= 30: no cancellation)
    return g * np.where(_scaled.far(x), _scaled.large_x("k1e", _scaled.far_x(x)), y - _k0e(x) - y / x)


def _k0e_vjp(g, y, x):  # (e^x K0)' = k0e - k1e (from the asymptotic series at x >= 30: no cancellation)
    return g * np.where(_scaled.far(x), _scaled.large_x("k0e", _scaled.far_x(x)), y - _k1e(x))


#            name      forward         d/dx (g: output grad, y: output, x: input)         jvp  reads
k0 = unary("k0", _RAW["k0"], _quiet(lambda g, y, x: -g * _k1(x)), DIAG, "x",
           _doc("The modified Bessel function of the second kind of order 0, ``K0(x)``: +inf at 0, NaN for x < 0."))
k1 = unary("k1", _RAW["k1"], _quiet(_k1_vjp), DIAG, "xy",
           _doc("The modified Bessel function of the second kind of order 1, ``K1(x)``: +inf at 0, NaN for x < 0."))
k0e = unary("k0e", _RAW["k0e"], _quiet(_k0e_vjp), DIAG, "xy",
            _doc("The exponentially scaled ``exp(x) K0(x)``."))
k1e = unary("k1e", _RAW["k1e"], _quiet(_k1e_vjp), DIAG, "xy",
            _doc("The exponentially scaled ``exp(x) K1(x)``."))
_airy_ai_prime = unary("_airy_ai_prime", _RAW["_airy_ai_prime"], _quiet(lambda g, y, x: g * x * _ai(x)), DIAG, "x",
                       "The derivative Ai'(x) of the Airy function (the derivative of ``airy_ai``; Ai'' = x Ai).")
airy_ai = unary("airy_ai", _RAW["airy_ai"], _quiet(lambda g, y, x: g * _aip(x)), DIAG, "x",
                "The Airy function ``Ai(x)``, as ``torch.special.airy_ai`` and ``scipy.special.airy(x)[0]`` (NaN at "
                "+-inf, as both). Differentiable: d/dx Ai = Ai' (torch 2.13 gives no gradient; npgrad's is Ai', "
                "with Ai'' = x Ai). NumPy-only, to about 1e-15 (relative where Ai decays, absolute where it "
                "oscillates); "
                "methods: npgrad/ops/_airy.py.")

# sin(x) / x as torch.special.spherical_bessel_j0 computes it: its Taylor polynomial below 0.5 (through x^12),
# sin(x) / x above, 0 at +-inf; written with npgrad's ops, so its derivatives (stable at 0: the polynomial's),
# forward mode and vmap come from theirs.
_SPH_COEFS = (1.0, -1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0, -1.0 / 39916800.0, 1.0 / 6227020800.0)


@batching_rule("unary")
def spherical_bessel_j0(x):
    """The spherical Bessel function of the first kind of order 0, ``sin(x) / x`` (1 at 0, 0 at +-inf), as
    ``torch.special.spherical_bessel_j0`` (its Taylor polynomial for |x| < 0.5). Differentiable (torch 2.13 gives
    no gradient): d/dx = (x cos x - sin x) / x^2, stable near 0. float32 stays float32, integers give float64."""
    x = as_input(x, "spherical_bessel_j0")
    if x.dtype.kind == "c":
        raise TypeError("npgrad.special.spherical_bessel_j0: complex arguments are not supported yet")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    small = np.abs(x.data) < 0.5
    xs = where(small, x, 0.0)
    x2 = xs * xs
    poly = _SPH_COEFS[-1]
    for c in _SPH_COEFS[-2::-1]:
        poly = poly * x2 + c
    inf = np.isinf(x.data)
    big = where(small | inf, 1.0, x)
    with np.errstate(invalid="ignore"):
        out = where(small, poly, _sin(big) / big)
    return where(inf, 0.0, out)


__all__ = ["airy_ai", "k0", "k0e", "k1", "k1e", "spherical_bessel_j0"]
