"""``torch.fft``'s n-D Hermitian transforms ``hfft2``, ``hfftn``, ``ihfft2``, ``ihfftn`` (NumPy 2 has only the
1-D ``hfft`` / ``ihfft``), with torch's meaning and its ``s`` / norm conventions (``axes`` is torch's ``dim``):

* ``hfftn(x, s, axes, norm)``: ``x`` is the one-sided half of a signal Hermitian in the last of ``axes``; the
  result is real, ``irfftn(conj(x), s, axes)`` with the dual norm. Computed as ``fft`` over all but the last axis
  (same norm) followed by ``hfft`` over the last, which is the same map.
* ``ihfftn(x, s, axes, norm)``: ``x`` real; ``conj(rfftn(x, s, axes))`` with the dual norm, computed as ``ihfft``
  over the last axis followed by ``ifft`` over the others (same norm).

Both are compositions of the 1-D primitives of ``npgrad/ops/fft.py``, so gradients (PyTorch's convention for
complex inputs), JVPs, higher derivatives and vmap come with them. Unlike NumPy's ``fftn`` family (and as
torch), an axis may appear only once, at least one axis is transformed, and ``-1`` in ``s`` means the default
size (``2 * (m - 1)`` on the last axis of ``hfftn``, the input's size elsewhere).
"""
import operator

from ..tensor import Tensor
from ._util import normalize_one_axis
from .fft import _input, _no_out, fft, hfft, ifft, ihfft


def _meta(a, where):
    """The shape and dtype of ``a`` (a Tensor's without reading its values: vmap's batched tensors)."""
    if isinstance(a, Tensor):
        if a.dtype.kind not in "biufc":
            raise TypeError(f"{where}: unsupported dtype {a.dtype} (the FFT takes numeric data)")
        return tuple(a.shape), a.dtype
    xd = _input(a, where)
    return xd.shape, xd.dtype


def _plan(where, x, s, axes, hermitian_out):
    """torch's ``(s, dim)``: the sizes and (normalized, distinct) axes of the transform."""
    shape = _meta(x, where)[0]
    nd = len(shape)
    if s is not None:
        s = [s] if not isinstance(s, (tuple, list)) else list(s)
        try:
            s = [operator.index(n) for n in s]
        except TypeError:
            raise TypeError(f"{where}: s must be a sequence of ints, got {s!r}") from None
    if axes is None:
        axes = list(range(nd)) if s is None else list(range(nd - len(s), nd))
        if s is not None and len(s) > nd:
            raise ValueError(f"{where}: s={tuple(s)} has more entries than the input has dimensions (shape "
                             f"{tuple(shape)})")
    else:
        axes = [axes] if not isinstance(axes, (tuple, list)) else list(axes)
    axes = [normalize_one_axis(a, nd, where) for a in axes]
    if not axes:
        raise ValueError(f"{where}: must transform at least one axis (input of shape {tuple(shape)}, axes="
                         f"{tuple(axes)})")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{where}: the axes must be unique, got {tuple(axes)}")
    if s is not None and len(s) != len(axes):
        raise ValueError(f"{where}: s={tuple(s)} and axes={tuple(axes)} must have the same length")
    sizes = []
    for i, ax in enumerate(axes):
        n = -1 if s is None else s[i]
        if n == -1:
            n = 2 * (shape[ax] - 1) if hermitian_out and i == len(axes) - 1 else shape[ax]
        if n < 1:
            raise ValueError(f"{where}: invalid number of data points {n} for axis {ax} (input of shape "
                             f"{tuple(shape)}, s={None if s is None else tuple(s)}); it must be at least 1")
        sizes.append(n)
    return sizes, axes


def hfftn(a, s=None, axes=None, norm=None, out=None):
    """N-D FFT of a signal whose last axis (of ``axes``) is the one-sided half of a Hermitian signal, as
    ``torch.fft.hfftn`` (``axes`` is its ``dim``): a real result with ``s[-1]`` points along the last axis
    (default ``2 * (m - 1)``) and ``s[i]`` along the others (default: their size). Gradients are torch's."""
    where = "hfftn"
    _no_out(out, where)
    sizes, axes = _plan(where, a, s, axes, True)
    for n, ax in reversed(list(zip(sizes[:-1], axes[:-1]))):
        a = fft(a, n, ax, norm)
    return hfft(a, sizes[-1], axes[-1], norm)


def ihfftn(a, s=None, axes=None, norm=None, out=None):
    """Inverse of ``hfftn`` for a real input, as ``torch.fft.ihfftn``: the ``s[-1] // 2 + 1`` first bins along
    the last of ``axes`` of the inverse N-D FFT (``s`` crops or zero-pads the input first)."""
    where = "ihfftn"
    _no_out(out, where)
    shape, dtype = _meta(a, where)
    if dtype.kind == "c":
        raise TypeError(f"{where}: the input must be real, got a {dtype} tensor of shape {shape}")
    sizes, axes = _plan(where, a, s, axes, False)
    a = ihfft(a, sizes[-1], axes[-1], norm)
    for n, ax in zip(sizes[:-1], axes[:-1]):
        a = ifft(a, n, ax, norm)
    return a


def hfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """2-D ``hfftn`` over ``axes`` (the last two), as ``torch.fft.hfft2``."""
    return hfftn(a, s, axes, norm, out)


def ihfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """2-D ``ihfftn`` over ``axes`` (the last two), as ``torch.fft.ihfft2``."""
    return ihfftn(a, s, axes, norm, out)


__all__ = ["hfft2", "hfftn", "ihfft2", "ihfftn"]
