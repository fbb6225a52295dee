"""``scipy.signal``'s convolutions, differentiable in both inputs: ``convolve``, ``correlate``, ``fftconvolve``
(``oaconvolve``), ``convolve2d``, ``correlate2d``. The public namespace is npgrad/signal.py.

Everything here is a composite of differentiable ops, so VJPs, JVPs (forward mode), higher derivatives and
vmap come from those ops:

* ``method="direct"``: the input is zero-padded (``pad``; for the 2-d functions with their boundary: ``fill``
  = constant, ``wrap``, ``symm`` = NumPy's ``symmetric``) so that the wanted output is the *valid*
  cross-correlation of the padded input with the kernel (flipped for a convolution, conjugated for a
  complex correlation). That valid cross-correlation of 1 to 3 dimensions is ``nn.functional.conv1d/2d/3d``
  on one batch and one channel (npgrad's im2col + GEMM convolution, whose VJPs are again convolutions); of 4
  or more dimensions an ``unfold`` (sliding windows, a view) per axis contracted with ``tensordot``. Complex
  operands go through their real and imaginary parts (4 real products, 2 when one operand is real).
* ``method="fft"``: ``rfftn`` / ``irfftn`` (``fftn`` / ``ifftn`` for complex operands) of npg.fft over the
  full size (rounded up to a 5-smooth length), then the slice the mode keeps, as ``scipy.signal.fftconvolve``.

Modes, output shapes, the swap of the operands in "valid" mode when ``in2`` is the larger one in every
dimension (and SciPy's error when neither is), the centring of "same" (``correlate2d``'s differs from
``correlate``'s for even kernels, as in SciPy), the conjugation of ``in2`` by ``correlate`` and the dtypes
(float32 stays float32; integers: computed in float64 and rounded back, as SciPy's FFT path) are SciPy's.
Empty inputs: SciPy 1.17's results differ by method and path (several raise IndexError); here "same" with an
empty ``in1`` gives an empty result of ``in1``'s shape, "full" with a kernel of ones in every dimension the
input's shape, and anything else with an empty operand raises a ValueError naming the op and the shapes.
"""
import math
import warnings

import numpy as np

from ..tensor import Tensor
from ._util import as_input
from .complex import conj, imag, real
from .contract import tensordot
from .conv import conv1d, conv2d, conv3d
from .elementwise_more import round as _round
from .fft import fftn, ifftn, irfftn, rfftn
from .shape import flip, reshape
from .padding import pad

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d"]

_MODES = ("full", "same", "valid")
_BOUNDARIES = {"fill": "constant", "pad": "constant", "wrap": "wrap", "circular": "wrap", "symm": "symmetric",
               "symmetric": "symmetric"}


# ------------------------------------------------------------------------------------------ arguments
def _operands(in1, in2, where):
    return as_input(in1, where), as_input(in2, where)    # (refuses non-numeric data, naming the op)


def _check_mode(mode, where):
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{where}: acceptable mode flags are 'valid', 'same', or 'full', not {mode!r}")


def _same_ndim(a, b, where):
    if a.ndim != b.ndim:
        raise ValueError(f"{where}: in1 and in2 should have the same dimensionality, got shapes {a.shape} and "
                         f"{b.shape}")


def _swap_needed(mode, s1, s2, axes, where):
    """SciPy's ``_inputs_swap_needed``: in "valid" mode one operand must be at least as large as the other
    along every axis in ``axes``; True when it is ``in2``."""
    if mode != "valid" or not s1:
        return False
    ok1 = all(s1[i] >= s2[i] for i in axes)
    ok2 = all(s2[i] >= s1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError(f"{where}: for 'valid' mode, one must be at least as large as the other in every "
                         f"dimension, got shapes {s1} and {s2}")
    return not ok1


def _compute_dtype(a, b):
    """(the dtype the result has, the floating dtype it is computed in)."""
    dt = np.result_type(a.dtype, b.dtype)
    if dt.kind in "biu":
        return dt, np.dtype(np.float64)
    return dt, (np.dtype(np.float32) if dt == np.float16 else dt)


def _as(x, dt):
    return x if x.dtype == dt else x.astype(dt)


def _finish(out, dt):
    """The float result back in the integer or float16 dtype of the operands (integers rounded, as SciPy)."""
    if out.dtype == dt:
        return out
    if dt.kind in "biu":
        out = _round(out)
    return out.astype(dt)


def _empty_result(a, b, mode, where):
    """The result when an operand is empty (see the module docstring), or a ValueError."""
    dt = np.result_type(a.dtype, b.dtype)
    if a.size == 0 and b.size and (mode == "same" or mode == "full" and all(n == 1 for n in b.shape)):
        return _as(a * 0, dt)
    if b.size == 0 and a.size and mode == "full" and all(n == 1 for n in a.shape):
        return _as(b * 0, dt)
    raise ValueError(f"{where}: inputs cannot be empty in mode {mode!r}, got shapes {a.shape} and {b.shape}")


# ------------------------------------------------------------------------------------- direct products
def _real_valid(x, k):
    """The valid cross-correlation ``out[i] = sum_m x[i + m] k[m]`` of real float tensors of one ndim."""
    d = x.ndim
    out_shape = tuple(n - m + 1 for n, m in zip(x.shape, k.shape))
    if d == 0:
        return x * k
    if d <= 3:
        fn = (conv1d, conv2d, conv3d)[d - 1]
        return reshape(fn(reshape(x, (1, 1) + x.shape), reshape(k, (1, 1) + k.shape)), out_shape)
    w = x
    for ax in range(d):                         # (*out, *k): the windows, a strided view
        w = w.unfold(ax, k.shape[ax], 1)
    return tensordot(w, k, axes=d)


def _valid_xcorr(x, k):
    """``_real_valid`` of any float or complex operands (through their real and imaginary parts)."""
    xc, kc = x.dtype.kind == "c", k.dtype.kind == "c"
    if not xc and not kc:
        return _real_valid(x, k)
    if xc and kc:
        xr, xi, kr, ki = real(x), imag(x), real(k), imag(k)
        re = _real_valid(xr, kr) - _real_valid(xi, ki)
        im = _real_valid(xr, ki) + _real_valid(xi, kr)
    elif xc:
        re, im = _real_valid(real(x), k), _real_valid(imag(x), k)
    else:
        re, im = _real_valid(x, real(k)), _real_valid(x, imag(k))
    return re + 1j * im


def _padded_xcorr(x, k, starts, lengths, boundary="constant", fillvalue=0):
    """The slice [starts, starts + lengths) of the *full* cross-correlation of ``x`` (extended beyond its
    ends by ``boundary``) with ``k``: the valid cross-correlation of ``x`` padded by exactly what it needs.
    A Tensor ``fillvalue`` (``boundary`` "constant") gets the gradient of the padded samples."""
    widths = []
    for n, m, s, L in zip(x.shape, k.shape, starts, lengths):
        lo = m - 1 - s
        widths.append((lo, L + m - 1 - lo - n))
    if any(w != (0, 0) for w in widths):
        if isinstance(fillvalue, Tensor):          # a fill that requires grad: the padding is fill * mask
            mask = np.pad(np.zeros(x.shape, np.empty(0, x.dtype).real.dtype), widths, constant_values=1)
            x = pad(x, widths, mode="constant") + fillvalue * mask
        elif boundary == "constant":
            x = pad(x, widths, mode="constant", constant_values=fillvalue)
        else:
            x = pad(x, widths, mode=boundary)
    return _valid_xcorr(x, k)


def _direct(a, k, mode, same_start):
    """Mode ``mode`` of the full cross-correlation of ``a`` with ``k`` (``a`` at least as large as ``k``
    along every axis for "valid"); "same" starts at ``same_start(m)`` for a kernel of length m."""
    if mode == "full":
        starts, lengths = (0,) * a.ndim, tuple(n + m - 1 for n, m in zip(a.shape, k.shape))
    elif mode == "valid":
        starts, lengths = tuple(m - 1 for m in k.shape), tuple(n - m + 1 for n, m in zip(a.shape, k.shape))
    else:
        starts, lengths = tuple(same_start(m) for m in k.shape), a.shape
    return _padded_xcorr(a, k, starts, lengths)


# ------------------------------------------------------------------------------------------ FFT products
def _next_fast_len(n):
    """The smallest 5-smooth integer >= n (a fast FFT length)."""
    if n <= 6:
        return max(n, 1)
    best = 2 ** math.ceil(math.log2(n))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            q = p35
            while q < n:
                q *= 2
            best = min(best, q)
            p35 *= 3
        p5 *= 5
    return best


def _freq_conv(a, b, axes, shape):
    """The convolution of ``a`` and ``b`` over ``axes`` (a product over the others, broadcast), cut to
    ``shape``; through npg.fft."""
    if not axes:
        return a * b
    fshape = [_next_fast_len(shape[ax]) for ax in axes]
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        ret = ifftn(fftn(a, s=fshape, axes=axes) * fftn(b, s=fshape, axes=axes), s=fshape, axes=axes)
    else:
        ret = irfftn(rfftn(a, s=fshape, axes=axes) * rfftn(b, s=fshape, axes=axes), s=fshape, axes=axes)
    if tuple(ret.shape) != tuple(shape):
        ret = ret[tuple(slice(0, n) for n in shape)]
    return ret


def _centered(x, shape):
    starts = [(n - m) // 2 for n, m in zip(x.shape, shape)]
    if tuple(x.shape) == tuple(shape):
        return x
    return x[tuple(slice(s, s + m) for s, m in zip(starts, shape))]


def _fft_axes(a, b, axes, mode, where):
    """SciPy's ``_init_freq_conv_axes``: the checked axes (without the ones of length 1 in either operand,
    which broadcast) and the operands, swapped for "valid" when ``in2`` is the larger."""
    s1, s2 = a.shape, b.shape
    if axes is None:
        axes = list(range(a.ndim))
    else:
        given = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
        if not given:
            raise ValueError(f"{where}: when provided, axes cannot be empty")
        axes = []
        for ax in given:
            if not isinstance(ax, (int, np.integer)) or not -a.ndim <= ax < a.ndim:
                raise ValueError(f"{where}: axes {given} out of range for inputs of dimension {a.ndim}")
            axes.append(int(ax) % a.ndim)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{where}: all axes must be unique, got {given}")
    axes = [ax for ax in axes if s1[ax] != 1 and s2[ax] != 1]
    if not all(s1[i] == s2[i] or s1[i] == 1 or s2[i] == 1 for i in range(a.ndim) if i not in axes):
        raise ValueError(f"{where}: incompatible shapes for in1 and in2: {s1} and {s2}")
    if _swap_needed(mode, s1, s2, axes, where):
        a, b = b, a
    return a, b, axes


def _fft(a, b, mode, axes, where):
    a, b, axes = _fft_axes(a, b, axes, mode, where)
    s1, s2 = a.shape, b.shape
    shape = [s1[i] + s2[i] - 1 if i in axes else max(s1[i], s2[i]) for i in range(a.ndim)]
    ret = _freq_conv(a, b, axes, shape)
    if mode == "full":
        return ret
    if mode == "same":
        return _centered(ret, s1)
    return _centered(ret, [s1[i] - s2[i] + 1 if i in axes else ret.shape[i] for i in range(a.ndim)])


# ---------------------------------------------------------------------------------------- public functions
def _prefer_fft(a, b, mode):
    """``method="auto"``: the FFT when its ~3 n log n operations (three transforms of the full size n) are
    fewer than the direct sum's (outputs times kernel size); small products are always direct."""
    if a.size * b.size < 4096:
        return False
    full = [n + m - 1 for n, m in zip(a.shape, b.shape)]
    if mode == "full":
        out = full
    elif mode == "same":
        out = a.shape
    else:
        out = [abs(n - m) + 1 for n, m in zip(a.shape, b.shape)]
    direct = math.prod(out) * min(a.size, b.size)
    n = math.prod(_next_fast_len(f) for f in full)
    return direct > 3 * n * max(math.log2(n), 1.0)


def _convolve(a, b, mode, method, where, kernel):
    """Convolution (``kernel`` = flip) or correlation (``kernel`` = flip of conj, undone) of ``a`` and ``b``."""
    _check_mode(mode, where)
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"{where}: acceptable method flags are 'auto', 'direct', or 'fft', not {method!r}")
    _same_ndim(a, b, where)
    if a.size == 0 or b.size == 0:
        return _empty_result(a, b, mode, where)
    dt, cdt = _compute_dtype(a, b)
    a, b = _as(a, cdt if a.dtype.kind != "c" else a.dtype), _as(b, cdt if b.dtype.kind != "c" else b.dtype)
    b = kernel(b)                                          # the kernel of a convolution
    if method == "auto":
        method = "fft" if dt.kind in "fc" and _prefer_fft(a, b, mode) else "direct"
    if a.ndim == 0:
        return _finish(a * b, dt)
    if _swap_needed(mode, a.shape, b.shape, range(a.ndim), where):    # over every axis, for both methods
        a, b = b, a
    if method == "fft":
        return _finish(_fft(a, b, mode, None, where), dt)
    return _finish(_direct(a, flip(b), mode, lambda m: (m - 1) // 2), dt)


def convolve(in1, in2, mode="full", method="auto"):
    """N-dimensional convolution of ``in1`` and ``in2``, as ``scipy.signal.convolve``: ``mode`` "full" (every
    overlap, shape ``s1 + s2 - 1``), "same" (``in1``'s shape, centred on the full output) or "valid" (the
    complete overlaps; the operands are swapped when ``in2`` is larger than ``in1`` in every dimension, and
    neither being at least as large as the other in every dimension is an error); ``method`` "direct"
    (sums: npgrad's convolution), "fft" (npg.fft) or "auto" (picked by size; they agree to rounding).
    Both inputs must have the same number of dimensions. Differentiable in both inputs (real or complex)."""
    a, b = _operands(in1, in2, "convolve")
    return _convolve(a, b, mode, method, "convolve", lambda k: k)


def correlate(in1, in2, mode="full", method="auto"):
    """N-dimensional cross-correlation ``z[k] = sum_l in1[l] conj(in2[l - k + N - 1])``, as
    ``scipy.signal.correlate``: the convolution of ``in1`` with ``in2`` reversed and conjugated, with
    ``convolve``'s modes, methods and swap rule. Differentiable in both inputs (real or complex)."""
    a, b = _operands(in1, in2, "correlate")

    def kernel(k):
        k = conj(k) if k.dtype.kind == "c" else k
        return flip(k) if k.ndim else k
    return _convolve(a, b, mode, method, "correlate", kernel)


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolution through the FFT, as ``scipy.signal.fftconvolve``: over ``axes`` (all by default; an int
    or a sequence), broadcasting along the other axes (where the shapes must be equal or 1), with
    ``convolve``'s modes (the valid-mode swap judged on ``axes``). Integer inputs give float64.
    Differentiable in both inputs (real or complex), through npg.fft's rfftn / irfftn (fftn / ifftn)."""
    a, b = _operands(in1, in2, "fftconvolve")
    _check_mode(mode, "fftconvolve")
    _same_ndim(a, b, "fftconvolve")
    if a.ndim == 0:
        return a * b
    if a.size == 0 or b.size == 0:
        return _empty_result(a, b, mode, "fftconvolve")
    dt = np.result_type(a.dtype, b.dtype)
    cdt = dt if dt.kind in "fc" and dt != np.float16 else np.dtype(np.float64 if dt.kind in "biu" else np.float32)
    a = _as(a, cdt if a.dtype.kind != "c" else a.dtype)
    b = _as(b, cdt if b.dtype.kind != "c" else b.dtype)
    return _fft(a, b, mode, axes, "fftconvolve")


def oaconvolve(in1, in2, mode="full", axes=None):
    """``scipy.signal.oaconvolve`` (overlap-add convolution): here the same values through one FFT, as
    ``fftconvolve`` (equal to rounding). Differentiable in both inputs."""
    try:
        return fftconvolve(in1, in2, mode, axes)
    except ValueError as e:
        raise ValueError(str(e).replace("fftconvolve", "oaconvolve", 1)) from None


# ------------------------------------------------------------------------------------------------- 2-d
def _two_d(in1, in2, mode, boundary, fillvalue, where):
    a, b = _operands(in1, in2, where)
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{where}: inputs must both be 2-D arrays, got shapes {a.shape} and {b.shape}")
    _check_mode(mode, where)
    if boundary not in _BOUNDARIES:
        raise ValueError(f"{where}: acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
                         f"'symmetric' (or 'symm'), not {boundary!r}")
    fv = np.asarray(fillvalue.data if isinstance(fillvalue, Tensor) else fillvalue)
    if fv.size != 1:
        raise ValueError(f"{where}: fillvalue must be scalar or an array with one element, got shape {fv.shape}")
    if a.size == 0 or b.size == 0:
        return _empty_result(a, b, mode, where)
    dt, cdt = _compute_dtype(a, b)
    fv = _fill_in(fillvalue, dt, where)
    a, b = _as(a, cdt if a.dtype.kind != "c" else a.dtype), _as(b, cdt if b.dtype.kind != "c" else b.dtype)
    fill = fv.reshape(()).item()
    if isinstance(fillvalue, Tensor) and fillvalue.requires_grad and boundary in ("fill", "pad"):
        fill = reshape(fillvalue, ()).astype(dt)        # (its value is ``fv``: _fill_in casts only safely)
    return a, b, dt, fill, _BOUNDARIES[boundary]


def _fill_in(fillvalue, dt, where):
    """``fillvalue`` in the inputs' dtype ``dt``, converted as SciPy's C code does: an array (or Tensor) must
    cast safely; a (NumPy or Python) scalar or list is converted as ``np.array(v, dtype)``, so a float is
    truncated into an integer dtype; what cannot be converted (NaN or out of range for an integer dtype, a
    complex number for a real dtype) is a ValueError."""
    v = fillvalue.data if isinstance(fillvalue, Tensor) else fillvalue
    try:
        if isinstance(v, np.ndarray):
            if not np.can_cast(v.dtype, dt, "safe"):
                raise TypeError
            return v.astype(dt)
        if isinstance(v, np.complexfloating) and dt.kind != "c" and v.imag == 0:
            v = v.real                                 # SciPy takes it (a nonzero imaginary part: refused here)
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return np.array(v, dtype=dt)
    except (TypeError, ValueError, OverflowError, np.exceptions.ComplexWarning):
        raise ValueError(f"{where}: could not cast fillvalue {fillvalue!r} to the inputs' dtype {dt}") from None


def _boundary_xcorr(a, k, mode, bmode, fill, same_start):
    if mode == "full":
        starts, lengths = (0, 0), tuple(n + m - 1 for n, m in zip(a.shape, k.shape))
    elif mode == "valid":
        starts, lengths = tuple(m - 1 for m in k.shape), tuple(n - m + 1 for n, m in zip(a.shape, k.shape))
    else:
        starts, lengths = tuple(same_start(m) for m in k.shape), a.shape
    return _padded_xcorr(a, k, starts, lengths, bmode, fill)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """2-D convolution, as ``scipy.signal.convolve2d``: ``convolve``'s modes, with ``in1`` extended beyond
    its edges by ``boundary``: "fill" (``fillvalue``, default 0), "wrap" (periodic) or "symm" (mirrored,
    the edge repeated; NumPy's "symmetric"). In "valid" mode the operands are swapped when ``in2`` is the
    larger. Differentiable in both inputs (real or complex) and in a Tensor ``fillvalue``."""
    r = _two_d(in1, in2, mode, boundary, fillvalue, "convolve2d")
    if not isinstance(r, tuple):
        return r
    a, b, dt, fill, bmode = r
    if _swap_needed(mode, a.shape, b.shape, (0, 1), "convolve2d"):
        a, b = b, a
    return _finish(_boundary_xcorr(a, flip(b), mode, bmode, fill, lambda m: (m - 1) // 2), dt)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """2-D cross-correlation (``in2`` conjugated), as ``scipy.signal.correlate2d``, with ``convolve2d``'s
    modes and boundaries. As SciPy, its "same" output is centred like ``convolve2d``'s of the flipped kernel
    only for odd kernel sizes: for an even size it starts half a kernel later than ``correlate``'s; and in
    "valid" mode with ``in2`` the larger, the result of the swapped operands is reversed (not conjugated).
    Differentiable in both inputs (real or complex)."""
    r = _two_d(in1, in2, mode, boundary, fillvalue, "correlate2d")
    if not isinstance(r, tuple):
        return r
    a, b, dt, fill, bmode = r
    swapped = _swap_needed(mode, a.shape, b.shape, (0, 1), "correlate2d")
    if swapped:
        a, b = b, a
    k = conj(b) if b.dtype.kind == "c" else b
    out = _boundary_xcorr(a, k, mode, bmode, fill, lambda m: m // 2)
    if swapped:
        out = flip(out)
    return _finish(out, dt)
