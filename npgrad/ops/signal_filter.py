"""``scipy.signal.lfilter``, differentiable in ``b``, ``a``, ``x`` and ``zi``; the public name is
``npg.signal.lfilter`` (npgrad/signal.py).

A composite of differentiable ops (so VJPs, JVPs, higher derivatives and vmap come with them):

* FIR (``len(a) == 1``): the full convolution of ``x`` with ``b / a[0]`` along ``axis`` (``conv1d``, every
  other axis a batch; complex operands through their real and imaginary parts), its first ``len(x)`` samples;
  ``zi`` is added to the first ``len(b) - 1`` outputs and the final state is the convolution's tail (SciPy's
  own FIR path).
* IIR: the direct form II transposed recursion SciPy's ``_linear_filter`` runs, one step per sample with the
  state vector of the ``max(len(a), len(b)) - 1`` delays of every filtered line at once:
  ``y[n] = b0 x[n] + z0``, ``z_i <- b_{i+1} x[n] + z_{i+1} - a_{i+1} y[n]``. The graph grows with the
  number of samples (a few ops per sample), as a Python loop of torch ops would.
"""
import numpy as np

from ._util import all_values, as_input, normalize_one_axis
from .complex import imag, real
from .conv import conv1d
from .shape import concatenate, flip, moveaxis, pad, reshape, stack

__all__ = ["lfilter"]


def _coefficients(v, name):
    v = as_input(v, "lfilter")
    if v.ndim == 0:
        v = reshape(v, (1,))
    if v.ndim != 1 or v.shape[0] == 0:
        raise ValueError(f"lfilter: parameter {name} is not a non-empty 1d array, since {name}.shape={v.shape}")
    return v


def _zi(zi, x_shape, axis, K, dt):
    """``zi`` checked against the expected shape (``x``'s with ``K - 1`` along ``axis``; other axes of
    length 1 broadcast, as SciPy), cast to ``dt``, with the delays on the last axis."""
    expected = list(x_shape)
    expected[axis] = K - 1
    if zi.ndim != len(x_shape) or any(z != e and (k == axis or z != 1)
                                      for k, (z, e) in enumerate(zip(zi.shape, expected))):
        raise ValueError(f"lfilter: unexpected shape for zi: expected {tuple(expected)}, found {zi.shape}")
    zi = zi.astype(dt) if zi.dtype != dt else zi
    zi = zi * np.ones(tuple(expected), dt) if tuple(zi.shape) != tuple(expected) else zi
    return moveaxis(zi, axis, -1)


def lfilter(b, a, x, axis=-1, zi=None):
    """Filter ``x`` along ``axis`` with the rational transfer function ``b(z) / a(z)``, as
    ``scipy.signal.lfilter``: ``a[0] y[n] = sum_k b[k] x[n-k] - sum_{k>=1} a[k] y[n-k]`` (coefficients
    normalized by ``a[0]``, which must not be 0). ``zi`` (shape: ``x``'s with ``max(len(a), len(b)) - 1``
    along ``axis``) gives the initial delays of the direct form II transposed structure; with it the result is
    ``(y, zf)``, the final delays. Integers compute in float64; float32 stays float32. Differentiable in
    ``b``, ``a``, ``x`` and ``zi`` (FIR as a convolution, IIR by a loop over the samples)."""
    b, a = _coefficients(b, "b"), _coefficients(a, "a")
    x = as_input(x, "lfilter")
    if x.ndim == 0:
        raise ValueError("lfilter: x must be at least 1-D (selected axis is out of range)")
    axis = normalize_one_axis(axis, x.ndim, "lfilter")
    zi = None if zi is None else as_input(zi, "lfilter")
    dt = np.result_type(b.dtype, a.dtype, x.dtype, *(() if zi is None else (zi.dtype,)))
    dt = np.dtype(np.float64) if dt.kind in "biu" else dt
    b, a, x = (v.astype(dt) if v.dtype != dt else v for v in (b, a, x))
    a0 = a[0]
    if np.any(all_values(a0) == 0):
        raise ValueError("lfilter: filter coefficient a[0] == 0 is not supported (the filter is normalized by it)")
    b, a = b / a0, a / a0
    K = max(a.shape[0], b.shape[0])
    z = None if zi is None else _zi(zi, x.shape, axis, b.shape[0] if a.shape[0] == 1 else K, dt)
    xl = moveaxis(x, axis, -1)                         # (..., N): the lines to filter
    lead, N = xl.shape[:-1], xl.shape[-1]
    if a.shape[0] == 1:
        y, zf = _fir(b, xl, z, lead, N)
    else:
        y, zf = _iir(pad(b, (0, K - b.shape[0])), pad(a, (0, K - a.shape[0])), xl, z, lead, N, dt)
    y = moveaxis(y, -1, axis)
    return y if zi is None else (y, moveaxis(zf, -1, axis))


def _fir(b, xl, z, lead, N):
    M = b.shape[0]
    if N == 0:
        return xl, z
    rows = reshape(xl, (-1, 1, N))                       # every line a batch of conv1d
    # the full convolution: cross-correlation of the zero-padded lines with the reversed taps
    full = _conv1d(pad(rows, ((0, 0), (0, 0), (M - 1, M - 1))), reshape(flip(b), (1, 1, M)))
    full = reshape(full, lead + (N + M - 1,))
    if z is not None:
        full = full + pad(z, [(0, 0)] * len(lead) + [(0, N)])
    return full[..., :N], full[..., N:]


def _conv1d(x, w):
    """``conv1d`` of real or complex operands (conv1d takes real ones: complex through real and imaginary
    parts)."""
    if x.dtype.kind != "c" and w.dtype.kind != "c":
        return conv1d(x, w)
    parts = [(real(v), imag(v)) if v.dtype.kind == "c" else (v, None) for v in (x, w)]
    (xr, xi), (wr, wi) = parts
    re = conv1d(xr, wr) - (conv1d(xi, wi) if xi is not None and wi is not None else 0)
    im = sum(conv1d(p, q) for p, q in ((xr, wi), (xi, wr)) if p is not None and q is not None)
    return re + 1j * im


def _iir(b, a, xl, z, lead, N, dt):
    K = b.shape[0]
    if z is None:
        z = np.zeros(lead + (K - 1,), dt)
    bt, at = b[1:], a[1:]
    zero = np.zeros(lead + (1,), dt)
    ys = []
    for n in range(N):
        xn = xl[..., n]
        yn = b[0] * xn + z[..., 0]
        step = xn[..., None] * bt - yn[..., None] * at                  # (..., K - 1)
        z = step + concatenate([z[..., 1:], zero], axis=-1)
        ys.append(yn)
    y = stack(ys, axis=-1) if ys else xl
    return y, z
