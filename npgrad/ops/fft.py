"""``np.fft`` ops: every transform is one NumPy call forward, with its VJP and JVP beside it.

The primitives are the 1-D transforms (``fft``, ``ifft``, ``rfft``, ``irfft``, ``hfft``, ``ihfft``) and
``fftshift``/``ifftshift``; the n-D transforms are sequences of 1-D ones over their axes, in exactly the order
``numpy.fft`` applies them (so values are NumPy's, bit for bit), and get their gradients by the chain rule.

Every transform is linear, so its JVP is the transform applied to the tangent. Its VJP is the adjoint
(conjugate transpose) with PyTorch's convention for complex gradients (``g = dL/dRe y + i dL/dIm y``):

* ``fft``/``ifft`` with ``norm``: the other-direction transform with the *dual* norm (``backward`` <->
  ``forward``, ``ortho`` stays), so that its scale is the same; ``n`` crops or zero-pads the input, and the
  adjoint pads or crops the gradient back. A real input takes the real part.
* ``rfft`` (``x`` real, the first ``n//2+1`` bins of ``fft``): ``Re(F^H [g, 0])``, computed as ``irfft`` of
  ``g`` with its bins strictly between 0 and the Nyquist bin halved (``irfft`` counts them twice).
* ``irfft`` (the Hermitian extension of ``x``, then ``ifft``): ``rfft(g)`` with the bins that have a mirror
  image doubled (``1 .. n - (n//2+1)``), as ``torch.fft``'s backward; bin 0 and the Nyquist bin are used
  through their real parts only, and their gradients are real.
* ``hfft(x) = irfft(conj(x))`` and ``ihfft(x) = conj(rfft(x))`` with the dual norm, so their adjoints are
  the two above with conjugations.

VJPs are written with ``np.fft`` calls, which dispatch to these ops on Tensors, so the backward pass is
differentiable again (``create_graph``). Batching under vmap: the batch axis goes in front and the
``axis``/``axes`` arguments shift by one (``npgrad/func_vmap_fft.py``).
"""
import operator
import warnings

import numpy as np

from ..autograd import versions as _versions
from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._util import normalize_one_axis

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# ------------------------------------------------------------------------------ arguments
def _input(x, where):
    """The NumPy value of ``x``: bool, integer, float and complex data are accepted, as by numpy.fft."""
    xd = x.data if isinstance(x, Tensor) else np.asarray(x)
    if xd.dtype.kind not in "biufc":
        raise TypeError(f"{where}: unsupported dtype {xd.dtype} (the FFT takes numeric data)")
    return xd


def _norm(norm, where):
    if norm is None:
        return "backward"
    if norm not in _DUAL:
        raise ValueError(f'{where}: invalid norm {norm!r}; should be "backward", "ortho" or "forward" (or None)')
    return norm


def _no_out(out, where):
    if out is not None:
        raise TypeError(f"{where}: out= is not supported (npgrad ops return new tensors, so the graph stays intact)")


def _points(n, where, shape, axis):
    try:
        if isinstance(n, (bool, np.bool_)):  # (NumPy and torch refuse a bool, operator.index takes it)
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{where}: the number of points n must be an int, got {n!r}") from None
    if n < 1:
        raise ValueError(f"{where}: invalid number of data points n={n} (axis {axis} of a tensor of shape "
                         f"{tuple(shape)}); it must be at least 1")
    return n


def _stand_in(xd):
    """What a node saves of its input: its shape and dtype only (the VJPs read no values), without keeping the
    input's memory alive."""
    return np.broadcast_to(np.zeros((), xd.dtype), xd.shape)


def _fit(a, axis, size):
    """Crop or zero-pad ``a`` (array or Tensor) along ``axis`` to ``size``."""
    have = a.shape[axis]
    if have > size:
        return a[(slice(None),) * axis + (slice(0, size),)]
    if have < size:
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, size - have)
        return np.pad(a, widths)
    return a


def _along(values, axis, ndim, dtype):
    """A 1-D weight vector shaped to broadcast along ``axis`` of an ``ndim``-D array."""
    return np.asarray(values, dtype=dtype).reshape((-1,) + (1,) * (ndim - 1 - axis))


def _real_dtype(dtype):
    return np.empty(0, dtype).real.dtype


def _as_input_grad(gx, x):
    """A gradient computed in complex arithmetic, given the dtype of the input it belongs to (the real part for a
    real input, as PyTorch's gradient of a real leaf)."""
    if x.dtype.kind != "c" and gx.dtype.kind == "c":
        gx = np.real(gx)
    return gx if gx.dtype == x.dtype else gx.astype(x.dtype)


def _half_inner(n, m, dtype, axis, ndim):
    """Weights 1, 1/2, ..., 1/2, 1 (the last 1 only for even ``n``) over the ``m = n//2+1`` bins of ``rfft``."""
    w = np.full(m, 0.5)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return _along(w, axis, ndim, dtype)


def _double_mirrored(n, m, dtype, axis, ndim):
    """Weights 2 on the bins ``1 .. n - m`` of ``rfft`` (those whose mirror image lies beyond the half), else 1."""
    w = np.ones(m)
    w[1:n - m + 1] = 2.0
    return _along(w, axis, ndim, dtype)


# ------------------------------------------------------------------------------ the 1-D primitives
def _vmapped(op, x, kwargs):
    return _tm._vmap_call("fft", op, (x,), kwargs) if _tm._VMAP else NotImplemented


def _transform(where, np_fn, x, n, axis, norm, out, real_in, n_default, vjp, jvp):
    """Run ``np_fn`` on ``x`` and record it with ``vjp(g, n, axis, norm, x)`` and ``jvp``."""
    _no_out(out, where)
    norm = _norm(norm, where)
    xd = _input(x, where)
    if real_in and xd.dtype.kind == "c":
        raise TypeError(f"{where}: the input must be real, got a {xd.dtype} tensor (use fft for complex input)")
    if xd.ndim == 0:
        raise ValueError(f"{where}: the input must have at least one dimension, got a 0-d tensor")
    ax = normalize_one_axis(axis, xd.ndim, where)
    n = _points(n_default(xd.shape[ax]) if n is None else n, where, xd.shape, axis)
    y = np_fn(xd, n, ax, norm)
    return _make(y, where, (x,), (_stand_in(xd),),
                 (lambda g, y, x: _as_input_grad(vjp(g, n, ax, norm, x), x),),
                 (lambda t, y, x: jvp(t, n=n, axis=ax, norm=norm),))


def _same(m):
    return m


def _hermitian(m):
    return 2 * (m - 1)


def _c2c_vjp(inverse):
    def vjp(g, n, axis, norm, x):
        gx = (np.fft.fft if inverse else np.fft.ifft)(g, axis=axis, norm=_DUAL[norm])
        return _fit(gx, axis, x.shape[axis])
    return vjp


def _r2c_adjoint(g, n, axis, norm):
    """Adjoint of ``rfft(., n, axis, norm)``: ``Re(F^H [g, 0])`` scaled as the forward, as a length-n array."""
    w = _half_inner(n, g.shape[axis], _real_dtype(g.dtype), axis, g.ndim)
    return np.fft.irfft(g * w, n=n, axis=axis, norm=_DUAL[norm])


def _c2r_adjoint(g, n, axis, norm):
    """Adjoint of ``irfft(., n, axis, norm)`` (real ``g`` of length n): ``rfft(g)`` with mirrored bins doubled."""
    gx = np.fft.rfft(g, axis=axis, norm=_DUAL[norm])
    return gx * _double_mirrored(n, gx.shape[axis], _real_dtype(g.dtype), axis, g.ndim)


def _rfft_vjp(g, n, axis, norm, x):
    return _fit(_r2c_adjoint(g, n, axis, norm), axis, x.shape[axis])


def _irfft_vjp(g, n, axis, norm, x):
    return _fit(_c2r_adjoint(g, n, axis, norm), axis, x.shape[axis])


def _hfft_vjp(g, n, axis, norm, x):  # hfft(x) = irfft(conj(x), norm=dual)
    return _fit(np.conj(_c2r_adjoint(g, n, axis, _DUAL[norm])), axis, x.shape[axis])


def _ihfft_vjp(g, n, axis, norm, x):  # ihfft(x) = conj(rfft(x, norm=dual))
    return _fit(_r2c_adjoint(np.conj(g), n, axis, _DUAL[norm]), axis, x.shape[axis])


def fft(a, n=None, axis=-1, norm=None, out=None):
    """1-D discrete Fourier transform, as ``np.fft.fft``: ``n`` points along ``axis`` (the input is cropped or
    zero-padded to ``n``), scaled by ``norm`` ("backward": none, "ortho": 1/sqrt(n), "forward": 1/n). Real or
    complex input; float32 gives complex64. Gradients are ``torch.fft.fft``'s."""
    r = _vmapped(fft, a, dict(n=n, axis=axis, norm=norm, out=out))
    if r is not NotImplemented:
        return r
    return _transform("fft", np.fft.fft, a, n, axis, norm, out, False, _same, _c2c_vjp(False), fft)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """1-D inverse discrete Fourier transform, as ``np.fft.ifft`` (``norm`` "backward" scales by 1/n)."""
    r = _vmapped(ifft, a, dict(n=n, axis=axis, norm=norm, out=out))
    if r is not NotImplemented:
        return r
    return _transform("ifft", np.fft.ifft, a, n, axis, norm, out, False, _same, _c2c_vjp(True), ifft)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """1-D FFT of real input, as ``np.fft.rfft``: the ``n//2 + 1`` non-negative frequency bins. Its gradient
    accounts for the bins it leaves out (the complex conjugates of those it returns), as ``torch.fft.rfft``'s."""
    r = _vmapped(rfft, a, dict(n=n, axis=axis, norm=norm, out=out))
    if r is not NotImplemented:
        return r
    return _transform("rfft", np.fft.rfft, a, n, axis, norm, out, True, _same, _rfft_vjp, rfft)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of ``rfft``, as ``np.fft.irfft``: a real signal of ``n`` points (default ``2 * (m - 1)`` for
    ``m`` input bins) from its non-negative frequency bins. The imaginary parts of bin 0 (and of the Nyquist bin
    for even ``n``) are ignored, so their gradients are zero, as in ``torch.fft.irfft``."""
    r = _vmapped(irfft, a, dict(n=n, axis=axis, norm=norm, out=out))
    if r is not NotImplemented:
        return r
    return _transform("irfft", np.fft.irfft, a, n, axis, norm, out, False, _hermitian, _irfft_vjp, irfft)


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """FFT of a signal with Hermitian symmetry given by its first half, as ``np.fft.hfft``: a real spectrum of
    ``n`` points (default ``2 * (m - 1)``)."""
    r = _vmapped(hfft, a, dict(n=n, axis=axis, norm=norm, out=out))
    if r is not NotImplemented:
        return r
    return _transform("hfft", np.fft.hfft, a, n, axis, norm, out, False, _hermitian, _hfft_vjp, hfft)


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of ``hfft``, as ``np.fft.ihfft``: the ``n//2 + 1`` first bins of the inverse FFT of a real
    signal."""
    r = _vmapped(ihfft, a, dict(n=n, axis=axis, norm=norm, out=out))
    if r is not NotImplemented:
        return r
    return _transform("ihfft", np.fft.ihfft, a, n, axis, norm, out, True, _same, _ihfft_vjp, ihfft)


# ------------------------------------------------------------------------------ n-D transforms
# NumPy 2's deprecations of two forms of ``s`` (their meaning will change), with its words
_S_WITHOUT_AXES = ("`axes` should not be `None` if `s` is not `None` (Deprecated in NumPy 2.0). In a future version "
                   "of NumPy, this will raise an error and `s[i]` will correspond to the size along the transformed "
                   "axis specified by `axes[i]`. To retain current behaviour, pass a sequence [0, ..., k-1] to `axes` "
                   "for an array of dimension k.")
_NONE_IN_S = ("Passing an array containing `None` values to `s` is deprecated in NumPy 2.0 and will raise an error "
              "in a future version of NumPy. To use the default behaviour of the corresponding 1-D transform, pass "
              "the value matching the default for its `n` parameter. To use the default behaviour for every axis, "
              "the `s` argument can be omitted.")


def _cook(where, x, s, axes, hermitian_last=False):
    """NumPy's ``(s, axes)`` defaults: every axis (or the last ``len(s)``), sizes from the input (for the
    inverse real transforms, ``2 * (m - 1)`` on the last axis); -1 in ``s`` is the input's size along that axis,
    None the 1-D transform's default."""
    shape = np.shape(x) if not isinstance(x, Tensor) else x.shape
    nd = len(shape)
    if s is not None and axes is None:
        warnings.warn(_S_WITHOUT_AXES, DeprecationWarning, stacklevel=3)
    if s is not None and not isinstance(s, (int, np.integer)) and any(n is None for n in s):
        warnings.warn(_NONE_IN_S, DeprecationWarning, stacklevel=3)
    if axes is None:
        axes = list(range(nd)) if s is None else list(range(-len(s), 0))
    else:
        axes = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    axes = [normalize_one_axis(a, nd, where) for a in axes]
    if s is None:
        s = [None] * len(axes)
    else:
        s = [s] if isinstance(s, (int, np.integer)) else list(s)
        if len(s) != len(axes):
            raise ValueError(f"{where}: s={tuple(s)} and axes={tuple(axes)} have different lengths")
    sizes = []
    for i, (n, a) in enumerate(zip(s, axes)):
        if isinstance(n, (int, np.integer)) and n == -1:  # the whole input axis (NumPy 2), even for irfftn
            n = shape[a]
        elif n is None:  # the 1-D transform's default (deprecated in NumPy 2)
            n = 2 * (shape[a] - 1) if hermitian_last and i == len(axes) - 1 else shape[a]
        if isinstance(n, (int, np.integer)) and n < 1:
            raise ValueError(f"{where}: invalid number of data points s[{i}]={n} (axis {a} of a tensor of shape "
                             f"{tuple(shape)}); it must be at least 1")
        sizes.append(n)  # (its type checked by the 1-D transform)
    return sizes, axes


def fftn(a, s=None, axes=None, norm=None, out=None):
    """N-D FFT over ``axes`` (all by default; the last ``len(s)`` when only ``s`` is given), as ``np.fft.fftn``:
    one 1-D ``fft`` per axis, with ``s`` points along each."""
    _no_out(out, "fftn")
    s, axes = _cook("fftn", a, s, axes)
    for n, ax in reversed(list(zip(s, axes))):
        a = fft(a, n, ax, norm)
    return a if axes else _as_tensor(a, "fftn")


def ifftn(a, s=None, axes=None, norm=None, out=None):
    """N-D inverse FFT, as ``np.fft.ifftn``."""
    _no_out(out, "ifftn")
    s, axes = _cook("ifftn", a, s, axes)
    for n, ax in reversed(list(zip(s, axes))):
        a = ifft(a, n, ax, norm)
    return a if axes else _as_tensor(a, "ifftn")


def rfftn(a, s=None, axes=None, norm=None, out=None):
    """N-D FFT of real input, as ``np.fft.rfftn``: ``rfft`` over the last of ``axes``, then ``fft`` over the
    others."""
    _no_out(out, "rfftn")
    s, axes = _cook("rfftn", a, s, axes)
    if not axes:
        raise ValueError("rfftn: at least one axis must be transformed")
    a = rfft(a, s[-1], axes[-1], norm)
    for n, ax in reversed(list(zip(s[:-1], axes[:-1]))):
        a = fft(a, n, ax, norm)
    return a


def irfftn(a, s=None, axes=None, norm=None, out=None):
    """Inverse of ``rfftn``, as ``np.fft.irfftn``: ``ifft`` over all but the last of ``axes``, then ``irfft``
    over the last (``s[-1]`` points, default ``2 * (m - 1)``)."""
    _no_out(out, "irfftn")
    s, axes = _cook("irfftn", a, s, axes, hermitian_last=True)
    if not axes:
        raise ValueError("irfftn: at least one axis must be transformed")
    for n, ax in zip(s[:-1], axes[:-1]):
        a = ifft(a, n, ax, norm)
    return irfft(a, s[-1], axes[-1], norm)


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """2-D FFT over ``axes`` (the last two), as ``np.fft.fft2``."""
    return fftn(a, s, axes, norm, out)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """2-D inverse FFT, as ``np.fft.ifft2``."""
    return ifftn(a, s, axes, norm, out)


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """2-D FFT of real input, as ``np.fft.rfft2``."""
    return rfftn(a, s, axes, norm, out)


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Inverse of ``rfft2``, as ``np.fft.irfft2``."""
    return irfftn(a, s, axes, norm, out)


def _as_tensor(a, where):
    """No axis transformed: NumPy returns the input itself."""
    return a if isinstance(a, Tensor) else _wrap(_input(a, where))


# ------------------------------------------------------------------------------ shifts and frequencies
def _shift(where, np_fn, x, axes):
    r = _vmapped(_SHIFTS[where], x, dict(axes=axes))
    if r is not NotImplemented:
        return r
    xd = _input(x, where)
    if xd.ndim == 0:  # (NumPy fails inside np.roll)
        raise ValueError(f"{where}: the input must have at least one dimension, got a 0-d tensor")
    if axes is not None:
        for a in ([axes] if isinstance(axes, (int, np.integer)) else axes):
            normalize_one_axis(a, xd.ndim, where)
    again = _SHIFTS[where]
    back = np.fft.ifftshift if where == "fftshift" else np.fft.fftshift  # a permutation: its inverse
    return _make(np_fn(xd, axes), where, (x,), (_stand_in(xd),), (lambda g, y, x: back(g, axes),),
                 (lambda t, y, x: again(t, axes),))


def fftshift(x, axes=None):
    """Move the zero-frequency bin to the centre (a roll by ``n // 2`` along each of ``axes``, all by default),
    as ``np.fft.fftshift``. Its gradient is ``ifftshift`` of the gradient."""
    return _shift("fftshift", np.fft.fftshift, x, axes)


def ifftshift(x, axes=None):
    """The inverse of ``fftshift`` (they differ for odd lengths), as ``np.fft.ifftshift``."""
    return _shift("ifftshift", np.fft.ifftshift, x, axes)


_SHIFTS = {"fftshift": fftshift, "ifftshift": ifftshift}


def _freq(where, np_fn, n, d, device):
    if device not in (None, "cpu"):
        raise ValueError(f"{where}: device must be None or 'cpu', got {device!r}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise ValueError(f"{where}: n should be an integer, got {n!r}")
    if n < 1:
        raise ValueError(f"{where}: n must be positive, got {n}")
    if isinstance(d, Tensor):  # differentiable in the sample spacing
        return _wrap(np_fn(n).astype(d.dtype if d.dtype.kind == "f" else np.float64)) / d
    return _wrap(np_fn(n, d))


def fftfreq(n, d=1.0, device=None):
    """The sample frequencies of ``fft`` for ``n`` points spaced ``d`` apart, as ``np.fft.fftfreq``: ``[0, 1,
    ..., -(n//2), ..., -1] / (n * d)``. A Tensor ``d`` gives a result differentiable in it."""
    return _freq("fftfreq", np.fft.fftfreq, n, d, device)


def rfftfreq(n, d=1.0, device=None):
    """The sample frequencies of ``rfft``, as ``np.fft.rfftfreq``: ``[0, 1, ..., n//2] / (n * d)``."""
    return _freq("rfftfreq", np.fft.rfftfreq, n, d, device)


# The VJPs read only shapes and dtypes (npgrad/autograd/versions.py), and give PyTorch's complex gradients
# themselves (npgrad/autograd/complex_rules.py).
for _op in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftshift", "ifftshift"):
    _versions.reads(_op, "")
declare(OWN, "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftshift", "ifftshift")

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]
