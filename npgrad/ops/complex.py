"""Complex numbers: real and imaginary parts, conjugate, angle, views as pairs of reals, polar form.

Gradients follow PyTorch's convention (npgrad/autograd/complex_rules.py): for a real loss ``L`` and a
complex ``z = x + iy``, ``z.grad = dL/dx + i dL/dy``. None of these ops is holomorphic, so each declares
its complex VJP and its JVP (R-linear in the tangent) beside its forward:

=================  =======================================  ===============================
op                 VJP (``g``: the output's gradient)        JVP (``t``: the input's tangent)
=================  =======================================  ===============================
``real(z)``        ``g + 0i``                                ``real(t)``
``imag(z)``        ``i g``                                   ``imag(t)``
``conj(z)``        ``conj(g)``                               ``conj(t)``
``angle(z)``       ``g i z / |z|^2`` (0 at 0)                ``Im(conj(z) t) / |z|^2``
``view_as_real``   ``g[..., 0] + i g[..., 1]``               ``view_as_real(t)``
=================  =======================================  ===============================
"""
import importlib

import numpy as np

from ..autograd import versions as _versions
from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._util import as_input, batching_rule

_tm = importlib.import_module("..tensor", __package__)

__all__ = ["real", "imag", "conj", "conjugate", "angle", "view_as_real", "view_as_complex", "polar",
           "iscomplex", "isreal", "iscomplexobj", "isrealobj", "real_if_close"]

declare(OWN, "conj", "view_as_complex")
_versions.reads("real", "")
_versions.reads("imag", "")
_versions.reads("conj", "")
_versions.reads("angle", "x")
_versions.reads("view_as_real", "")
_versions.reads("view_as_complex", "")


def _is_complex(d):
    return d.dtype.kind == "c"


def _vmapped(op, x, kwargs=None):
    return _tm._vmap_call("unary", op, (x,), kwargs) if _tm._VMAP else NotImplemented


def real(x):
    """The real part, as ``np.real`` (a real tensor is returned as it is). Gradient: ``g`` as a complex
    number with zero imaginary part."""
    r = _vmapped(real, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "real")
    xd = x.data
    if not _is_complex(xd):
        return x
    return _make(xd.real.copy(), "real", (x,), (xd,), _REAL_VJPS, _REAL_JVPS)


def _to_complex(g, like):
    return g.astype(like.dtype)  # (a real array; on Tensors the differentiable astype)


_REAL_VJPS = (lambda g, y, x: _to_complex(g, x),)
_REAL_JVPS = (lambda t, y, x: real(t),)


def imag(x):
    """The imaginary part, as ``np.imag`` (zeros for a real tensor, with a zero gradient). Gradient:
    ``i g``."""
    r = _vmapped(imag, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "imag")
    xd = x.data
    if not _is_complex(xd):
        return _make(np.zeros_like(xd), "imag", (x,), (xd,), _ZERO, _ZERO)
    return _make(xd.imag.copy(), "imag", (x,), (xd,), _IMAG_VJPS, _IMAG_JVPS)


def _zero(g, y, x):
    return np.zeros(np.shape(x), dtype=x.dtype)


_ZERO = (_zero,)
_IMAG_VJPS = (lambda g, y, x: _to_complex(g, x) * 1j,)
_IMAG_JVPS = (lambda t, y, x: imag(t),)


def conj(x):
    """The complex conjugate, as ``np.conj`` (a real tensor is returned as it is). Gradient:
    ``conj(g)``."""
    r = _vmapped(conj, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "conj")
    xd = x.data
    if not _is_complex(xd):
        return x
    return _make(np.conj(xd), "conj", (x,), (xd,), _CONJ, _CONJ)


_CONJ = (lambda g, y, x: np.conj(g),)  # (on Tensors, np.conj dispatches to conj)
conjugate = conj


def angle(x, deg=False):
    """The argument (phase) of complex numbers, as ``np.angle`` (0 or pi for real numbers, with a zero
    gradient). Gradient for complex ``z``: ``g * i z / |z|^2``, and 0 at ``z = 0`` (as PyTorch)."""
    r = _vmapped(angle, x, dict(deg=deg))
    if r is not NotImplemented:
        return r
    x = as_input(x, "angle")
    xd = x.data
    if not _is_complex(xd):
        out = np.angle(xd, deg=deg)
        out = out.astype(xd.dtype) if xd.dtype.kind == "f" else out
        return _make(out, "angle", (x,), (xd,), _ZERO, _ZERO)
    scale = 180.0 / np.pi if deg else 1.0
    return _make(np.angle(xd, deg=deg), "angle", (x,), (xd,),
                 (lambda g, y, z: g * _dangle(z) * scale,),
                 (lambda t, y, z: np.real(np.conj(_dangle(z)) * t) * scale,))


def _dangle(z):
    """``i z / |z|^2`` (0 at 0): the gradient of ``angle(z)`` (arrays or Tensors)."""
    a2 = np.real(z) ** 2 + np.imag(z) ** 2
    return np.where(a2 == 0, 0, z * 1j / np.where(a2 == 0, 1, a2))


def view_as_real(x):
    """A complex tensor as real pairs: a trailing axis of 2 (real, imaginary), as ``torch.view_as_real``
    (here a copy, not a view). Gradient: ``g[..., 0] + i g[..., 1]``."""
    r = _vmapped(view_as_real, x)  # (trailing axes only: the batch axis, in front, is untouched)
    if r is not NotImplemented:
        return r
    x = as_input(x, "view_as_real")
    xd = x.data
    if not _is_complex(xd):
        raise TypeError(f"view_as_real: expected a complex tensor, got {xd.dtype}")
    return _make(_pairs(xd), "view_as_real", (x,), (xd,),
                 (lambda g, y, x: view_as_complex(g) if isinstance(g, Tensor) else _from_pairs(g),),
                 (lambda t, y, x: view_as_real(t),))


def _pairs(z):
    return np.stack([z.real, z.imag], axis=-1)


def _from_pairs(x):
    out = np.empty(x.shape[:-1], np.complex64 if x.dtype == np.float32 else np.complex128)
    out.real, out.imag = x[..., 0], x[..., 1]
    return out


def view_as_complex(x):
    """Real pairs as complex numbers: the last axis (of size 2) holds real and imaginary parts, as
    ``torch.view_as_complex`` (here a copy, not a view); float32 gives complex64, float64 complex128.
    Gradient: ``view_as_real(g)``."""
    r = _vmapped(view_as_complex, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "view_as_complex")
    xd = x.data
    if xd.dtype not in (np.float32, np.float64):
        raise TypeError(f"view_as_complex: expected a float32 or float64 tensor, got {xd.dtype}")
    if xd.ndim == 0 or xd.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last dimension must have size 2 (real, imaginary), got shape "
                         f"{xd.shape}")
    return _make(_from_pairs(xd), "view_as_complex", (x,), (xd,),
                 (lambda g, y, x: view_as_real(g) if isinstance(g, Tensor) else _pairs(g),),
                 (lambda t, y, x: view_as_complex(t),))


def polar(abs, angle):
    """``abs * (cos(angle) + i sin(angle))``, as ``torch.polar`` (real tensors of one dtype; float32 gives
    complex64). Differentiable in both."""
    from .elementwise import add, cos, mul, sin
    a, t = as_input(abs, "polar"), as_input(angle, "polar")
    for name, v in (("abs", a), ("angle", t)):
        if v.dtype.kind != "f":
            raise TypeError(f"polar: {name} must be a float32 or float64 tensor, got {v.dtype}")
    return mul(a, add(cos(t), mul(sin(t), 1j)))


@batching_rule("unary")
def iscomplex(x):
    """Elementwise: whether the imaginary part is nonzero, as ``np.iscomplex`` (a bool tensor)."""
    return _wrap(np.iscomplex(as_input(x, "iscomplex").data))


@batching_rule("unary")
def isreal(x):
    """Elementwise: whether the imaginary part is zero, as ``np.isreal`` (a bool tensor)."""
    return _wrap(np.isreal(as_input(x, "isreal").data))


def iscomplexobj(x):
    """Whether ``x`` has a complex dtype, as ``np.iscomplexobj``."""
    return np.dtype((x if isinstance(x, Tensor) else as_input(x, "iscomplexobj")).dtype).kind == "c"


def isrealobj(x):
    """Whether ``x`` does not have a complex dtype, as ``np.isrealobj``."""
    return not iscomplexobj(x)


@batching_rule("loop")  # whether to drop the imaginary part depends on each sample's values
def real_if_close(x, tol=100):
    """The real part if every imaginary part is below ``tol`` machine epsilons (``tol`` itself when below 1),
    else ``x`` unchanged, as ``np.real_if_close``; differentiable either way."""
    x = as_input(x, "real_if_close")
    xd = x.data
    if not _is_complex(xd):
        return x
    if tol > 1:
        tol = tol * np.finfo(xd.dtype).eps
    return real(x) if np.all(np.abs(xd.imag) < tol) else x
