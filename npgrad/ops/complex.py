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

Views. As in PyTorch (and NumPy, for ``real``/``imag``), ``real``, ``imag``, ``view_as_real`` and
``view_as_complex`` return views of their input's memory, not copies: a write through them (``z.real[0] = 1``,
``npg.view_as_real(z)[..., 1] *= 2``, ``z.imag = v``) reaches ``z``, and in a graph it rewrites ``z``'s
history as any write through a view does (npgrad/ops/inplace.py). Such a view changes the dtype, so the
function that reaches it from its base, applied to the base's gradient, is the same view of the gradient
(``g.real``: PyTorch's convention ``z.grad = dL/dx + i dL/dy`` makes the real view's gradient the real part
of the complex gradient). ``view_as_complex`` needs PyTorch's layout (last axis of size 2 and stride 1,
other strides and the offset even, in elements) and raises otherwise, as PyTorch. ``imag`` of a real tensor
is a read-only array of zeros, as NumPy's.
"""
import importlib

import numpy as np

from ..autograd import versions as _versions
from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from . import inplace
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
    """The real part, as ``np.real`` (a real tensor is returned as it is): a view, as ``z.real`` in NumPy
    and PyTorch. Gradient: ``g`` as a complex number with zero imaginary part."""
    r = _vmapped(real, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "real")
    xd = x.data
    if not _is_complex(xd):
        return x
    return inplace.view_of(_make(xd.real, "real", (x,), (xd,), _REAL_VJPS, _REAL_JVPS), x, _real_of)


def _real_of(a):
    """The real view of an array or a Tensor (how a view made by ``real`` is reached from its base)."""
    return real(a) if isinstance(a, Tensor) else a.real


def _imag_of(a):
    return imag(a) if isinstance(a, Tensor) else a.imag


def _to_complex(g, like):
    return g.astype(like.dtype)  # (a real array; on Tensors the differentiable astype)


_REAL_VJPS = (lambda g, y, x: _to_complex(g, x),)
_REAL_JVPS = (lambda t, y, x: real(t),)


def imag(x):
    """The imaginary part, as ``np.imag``: a view (for a real tensor, read-only zeros with a zero gradient,
    as NumPy's). Gradient: ``i g``."""
    r = _vmapped(imag, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "imag")
    xd = x.data
    if not _is_complex(xd):
        zeros = np.zeros_like(xd)
        zeros.flags.writeable = False  # as NumPy's: writing into it could not reach x
        return _make(zeros, "imag", (x,), (xd,), _ZERO, _ZERO)
    return inplace.view_of(_make(xd.imag, "imag", (x,), (xd,), _IMAG_VJPS, _IMAG_JVPS), x, _imag_of)


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


_CONJ = (lambda g, y, x: np.conj(g),)  # (on Tensors, np.conj dispatches to conj_copy)
conjugate = conj


def conj_copy(x):
    """``np.conjugate(t)`` / ``np.conj(t)``: as NumPy, always a new tensor (``conj`` returns a real tensor
    itself, as ``torch.conj`` does; writing into NumPy's result must leave the input alone). Integer and bool
    tensors get NumPy's result (bool conjugates to int8), without gradient."""
    x = as_input(x, "conjugate")
    kind = x.data.dtype.kind
    if kind == "c":
        return conj(x)
    if kind == "f":
        from .arrays import copy
        return copy(x)
    return _wrap(np.conjugate(x.data))


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
    """A complex tensor as real pairs: a trailing axis of 2 (real, imaginary), as ``torch.view_as_real``; a
    view of ``x``'s memory. Gradient: ``g[..., 0] + i g[..., 1]``."""
    r = _vmapped(view_as_real, x)  # (trailing axes only: the batch axis, in front, is untouched)
    if r is not NotImplemented:
        return r
    x = as_input(x, "view_as_real")
    xd = x.data
    if not _is_complex(xd):
        raise TypeError(f"view_as_real: expected a complex tensor, got {xd.dtype} (PyTorch: view_as_real is only "
                        f"supported for complex tensors)")
    out = _make(_pairs(xd), "view_as_real", (x,), (xd,), (lambda g, y, x: _complex_of(g),),
                (lambda t, y, x: view_as_real(t),))
    return inplace.view_of(out, x, _real_pairs_of)


def _pairs(z):
    """The real view of a complex array (any layout): a trailing axis of 2, real then imaginary part."""
    return z[..., None].view(z.real.dtype)


def _real_pairs_of(a):
    return view_as_real(a) if isinstance(a, Tensor) else _pairs(a)


def _complex_of(a):
    """Pairs as complex numbers (an array or a Tensor): a view when the layout allows it, else a copy (for
    gradients and tangents, whose layout is not the user's)."""
    return _view_as_complex(a, strict=False) if isinstance(a, Tensor) else _from_pairs(a)


def _from_pairs(x):
    cdt = np.complex64 if x.dtype == np.float32 else np.complex128
    if x.size and _layout_error(x) is None:
        return x.view(cdt)[..., 0]
    out = np.empty(x.shape[:-1], cdt)
    out.real, out.imag = x[..., 0], x[..., 1]
    return out


def _layout_error(x, origin=None):
    """Why the pairs ``x`` have no complex view (PyTorch's rules, in elements: last stride 1, the others and
    the offset from ``origin``, the memory of the tensor ``x`` is a view of, even; axes of size 1 have no
    stride to speak of), or None."""
    item = x.itemsize
    if x.size == 0:
        return None
    if x.strides[-1] != item:
        return f"the last dimension must have stride 1, got strides {tuple(s // item for s in x.strides)}"
    if any(n > 1 and s % (2 * item) for n, s in zip(x.shape[:-1], x.strides[:-1])):
        return (f"every stride but the last must be divisible by 2, got strides "
                f"{tuple(s // item for s in x.strides)}")
    if origin is None:
        return None
    offset = x.__array_interface__["data"][0] - origin.__array_interface__["data"][0]
    if offset % (2 * item):
        return f"the storage offset must be divisible by 2, got {offset // item}"
    return None


def view_as_complex(x):
    """Real pairs as complex numbers: the last axis (of size 2) holds real and imaginary parts, as
    ``torch.view_as_complex``; a view of ``x``'s memory, so it needs PyTorch's layout (last axis of stride 1,
    the other strides even: take ``x.contiguous()`` first otherwise). float32 gives complex64,
    float64 complex128. Gradient: ``view_as_real(g)``."""
    return _view_as_complex(x, strict=True)


def _view_as_complex(x, strict):
    r = _vmapped(view_as_complex if strict else _complex_of, x)
    if r is not NotImplemented:
        return r
    x = as_input(x, "view_as_complex")
    xd = x.data
    if xd.dtype not in (np.float32, np.float64):
        raise TypeError(f"view_as_complex: expected a float32 or float64 tensor, got {xd.dtype}")
    if xd.ndim == 0 or xd.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last dimension must have size 2 (real, imaginary), got shape "
                         f"{xd.shape}")
    info = inplace._view_of(x)  # PyTorch's storage offset: from the memory of the tensor x is a view of
    why = _layout_error(xd, xd if info is None else info[0].data) if strict else None
    if why is not None:
        raise ValueError(f"view_as_complex: a tensor of shape {xd.shape} ({xd.dtype}) has no complex view: {why} "
                         f"(as in PyTorch; x.contiguous() gives a layout that has one, x.clone() a fresh offset)")
    out = _make(_from_pairs(xd), "view_as_complex", (x,), (xd,), (lambda g, y, x: _real_pairs_of(g),),
                (lambda t, y, x: _complex_of(t),))
    return inplace.view_of(out, x, _complex_of)


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
