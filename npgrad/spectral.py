"""``npg.stft`` / ``npg.istft`` (and ``x.stft(...)`` / ``x.istft(...)``): PyTorch's short-time Fourier transform
and its inverse, with ``torch.stft`` / ``torch.istft``'s arguments, defaults, checks and values.

Both are compositions of differentiable npgrad ops, so gradients (PyTorch's convention for complex values), JVPs,
higher derivatives and vmap come with them:

* ``stft``: ``center`` pads ``n_fft // 2`` on each side with ``nn.functional.pad`` (``pad_mode``), ``unfold``
  cuts the frames (``hop_length`` apart), they are multiplied by the window (zero-padded to ``n_fft``, centred),
  and ``rfft`` (``onesided``) or ``fft`` transforms them (norm "ortho" when ``normalized``).
* ``istft``: ``irfft`` (or ``ifft`` for ``return_complex=True``) of the frames, times the window, overlap-added
  by ``nn.functional.fold``; divided by the overlap-add of the squared window (torch's envelope, also
  differentiated in the window), after trimming the ``center`` padding. Where that envelope is below 1e-11 the
  signal cannot be recovered (the NOLA condition fails) and ``istft`` raises, as torch.
"""
import operator
import warnings

import numpy as np

from .nn.functional.patches import fold
from .nn.functional.shape import pad as _torch_pad
from .ops import fft as _fft
from .ops._util import as_input
from .ops.complex import view_as_real
from .ops.padding import pad as _np_pad
from .ops.shape import broadcast_to, reshape, swapaxes
from .ops.torch_views import _unfold

_NO_WINDOW = ("A window was not provided. A rectangular window will be applied, which is known to cause spectral "
              "leakage. Other windows such as npg.hann_window or npg.hamming_window are recommended to reduce "
              "spectral leakage. To suppress this warning and use a rectangular window, explicitly set "
              "`window=npg.ones(n_fft)`.")


def _int(v, name, where):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be an int, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int, got {v!r}") from None


def _flag(v, name, where, optional=False):
    """A bool argument (None too when ``optional``), as torch's argument parser: an int, a string or None for a
    flag is refused rather than read as its truth value (``normalized="window"`` is not "ortho")."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if optional and v is None:
        return None
    raise TypeError(f"{where}: argument '{name}' must be a bool{' or None' if optional else ''}, not "
                    f"{type(v).__name__} ({v!r})")


def _sizes(where, n_fft, hop_length, win_length):
    n_fft = _int(n_fft, "n_fft", where)
    hop = n_fft // 4 if hop_length is None else _int(hop_length, "hop_length", where)
    win = n_fft if win_length is None else _int(win_length, "win_length", where)
    if n_fft <= 0:
        raise RuntimeError(f"{where}: expected n_fft > 0, but got n_fft={n_fft}")
    if hop <= 0:
        raise RuntimeError(f"{where}: expected hop_length > 0, but got hop_length={hop} (n_fft={n_fft}; the "
                           f"default is n_fft // 4)")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"{where}: expected 0 < win_length <= n_fft, but got win_length={win} (n_fft={n_fft})")
    return n_fft, hop, win


def _window(where, window, win, n_fft, real_dtype):
    """The window zero-padded to ``n_fft`` (centred, as torch), or ones when None (with torch's warning)."""
    if window is None:
        warnings.warn(_NO_WINDOW, UserWarning, stacklevel=3)
        w = np.zeros(n_fft, real_dtype)
        left = (n_fft - win) // 2
        w[left:left + win] = 1
        return as_input(w, where)
    w = as_input(window, where)
    if w.ndim != 1 or w.shape[0] != win:
        raise RuntimeError(f"{where}: expected a 1-D window of size win_length={win}, but got a window of shape "
                           f"{tuple(w.shape)} (n_fft={n_fft})")
    if w.dtype.kind not in "biufc":
        raise TypeError(f"{where}: the window must be numeric, got dtype {w.dtype}")
    if win < n_fft:
        left = (n_fft - win) // 2
        w = _np_pad(w, (left, n_fft - win - left))
    return w


def _real_dtype(dtype):
    return np.empty(0, dtype).real.dtype


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    """Short-time Fourier transform, as ``torch.stft``: a (L,) or (B, L) signal gives (B?, N, T) complex frames,
    ``N = n_fft // 2 + 1`` (``onesided``, the default for a real input and window) or ``n_fft``, ``T`` frames
    ``hop_length`` (default ``n_fft // 4``) apart; ``window`` (size ``win_length``, default ``n_fft``; ones
    when None, with torch's warning) is zero-padded to ``n_fft``, centred. ``center`` pads ``n_fft // 2`` on both
    sides with ``pad_mode`` ('reflect', 'constant', 'replicate', 'circular'); ``normalized`` scales by
    ``n_fft ** -0.5``. As torch, ``return_complex`` must be given for a real input and window;
    ``return_complex=False`` (deprecated by torch) gives ``view_as_real`` of the result. ``align_to_window``
    (``center=False`` only) starts each window, rather than each ``n_fft`` frame, at a multiple of
    ``hop_length``."""
    where = "stft"
    x = as_input(input, where)
    if x.dtype.kind not in "fc":
        raise TypeError(f"{where}: expected a tensor of floating point or complex values, got dtype {x.dtype} "
                        f"(shape {tuple(x.shape)})")
    if x.ndim not in (1, 2):
        raise RuntimeError(f"{where}: expected a 1-D (L,) or 2-D (B, L) input, got shape {tuple(x.shape)}")
    n_fft, hop, win = _sizes(where, n_fft, hop_length, win_length)
    normalized, onesided = _flag(normalized, "normalized", where), _flag(onesided, "onesided", where, True)
    return_complex = _flag(return_complex, "return_complex", where, True)
    align_to_window = _flag(align_to_window, "align_to_window", where, True)
    w = _window(where, window, win, n_fft, _real_dtype(x.dtype))
    complex_in = x.dtype.kind == "c" or w.dtype.kind == "c"
    if return_complex is None:
        if not complex_in:
            raise RuntimeError(f"{where}: return_complex must be given for real inputs (return_complex=True "
                               f"returns the complex frames; return_complex=False, deprecated by torch, their "
                               f"view_as_real)")
        return_complex = True
    onesided = not complex_in if onesided is None else onesided
    if onesided and complex_in:
        raise RuntimeError(f"{where}: cannot have onesided output if the window or the input is complex (input "
                           f"{x.dtype}, window {w.dtype})")
    if center:
        if align_to_window is not None:
            raise RuntimeError(f"{where}: align_to_window should only be set when center=False")
        x = _center(x, n_fft // 2, pad_mode)
    elif align_to_window and win < n_fft:  # the window (not the frame) starts at t * hop_length
        left = (n_fft - win) // 2
        x = _torch_pad(x, (left, n_fft - win - left))
    length = x.shape[-1]
    if n_fft > length:
        raise RuntimeError(f"{where}: expected 0 < n_fft <= {length} (the length of the "
                           f"{'padded ' if center else ''}input of shape {tuple(x.shape)}), but got n_fft={n_fft}")
    frames = _unfold(x, -1, n_fft, hop) * w  # (B?, T, n_fft)
    norm = "ortho" if normalized else "backward"
    spec = _fft.rfft(frames, axis=-1, norm=norm) if onesided else _fft.fft(frames, axis=-1, norm=norm)
    spec = swapaxes(spec, -1, -2)  # (B?, N, T)
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated (by torch): use return_complex=True and "
                      "view_as_real on the result", UserWarning, stacklevel=2)
        return view_as_real(spec)
    return spec


def _center(x, pad, pad_mode):
    """``x`` padded by ``pad`` on both sides of its last axis with ``nn.functional.pad``'s ``pad_mode``."""
    modes = ("constant", "reflect", "replicate", "circular")
    if pad_mode not in modes:
        raise NotImplementedError(f"stft: unrecognised padding mode {pad_mode!r} (one of {modes})")
    n = x.shape[-1]
    if pad_mode == "reflect" and pad >= n:
        raise RuntimeError(f"stft: reflect padding of n_fft // 2 = {pad} on each side needs an input longer than "
                           f"{pad}, got length {n} (shape {tuple(x.shape)}); use pad_mode='constant' or a "
                           f"smaller n_fft")
    if pad_mode == "circular" and pad > n:
        raise RuntimeError(f"stft: circular padding of n_fft // 2 = {pad} on each side wraps around more than "
                           f"once an input of length {n} (shape {tuple(x.shape)})")
    if pad_mode in ("replicate", "circular") and n == 0 and pad:
        raise RuntimeError(f"stft: {pad_mode} padding of an empty input (shape {tuple(x.shape)})")
    if not pad:
        return x
    x3 = reshape(x, (1,) * (3 - x.ndim) + tuple(x.shape))  # (as torch: a (B, L) input pads as (1, B, L))
    try:
        padded = _torch_pad(x3, (pad, pad), mode=pad_mode)
    except ValueError as e:
        raise RuntimeError(f"stft: centre padding of the input of shape {tuple(x.shape)} failed: {e}") from None
    return reshape(padded, tuple(x.shape[:-1]) + (n + 2 * pad,))


def _overlap_add(frames, hop, length):
    """Frames (..., T, n) added at multiples of ``hop`` into (..., length) (``fold``, as torch's col2im)."""
    lead, (count, n) = tuple(frames.shape[:-2]), tuple(frames.shape[-2:])
    cols = swapaxes(reshape(frames, (-1, count, n)), -1, -2)  # (B, n, T)
    out = fold(cols, (1, length), (1, n), stride=(1, hop))  # (B, 1, 1, length)
    return reshape(out, lead + (length,))


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """Inverse short-time Fourier transform, as ``torch.istft``: the least-squares signal (B?, length) whose
    ``stft`` (same ``n_fft``, ``hop_length``, ``win_length``, ``window``, ``center``, ``normalized``,
    ``onesided``) is the complex (B?, N, T) ``input``. ``onesided`` defaults to ``N != n_fft``. ``length``
    defaults to ``(T - 1) * hop_length`` when ``center`` (else ``n_fft + (T - 1) * hop_length``); a longer one
    is zero-padded, with a warning. ``return_complex=True`` (two-sided input only) gives a complex signal.
    Raises where the overlap-added squared window falls below 1e-11 (torch's NOLA check)."""
    where = "istft"
    z = as_input(input, where)
    if z.dtype.kind != "c":
        raise RuntimeError(f"{where}: requires a complex-valued input (the output of stft(..., "
                           f"return_complex=True)), got dtype {z.dtype} (shape {tuple(z.shape)})")
    if z.ndim not in (2, 3):
        raise RuntimeError(f"{where}: expected a 2-D (N, T) or 3-D (B, N, T) input, got shape {tuple(z.shape)}")
    if z.size == 0:
        raise RuntimeError(f"{where}: the input cannot be empty, got shape {tuple(z.shape)}")
    n_fft, hop, win = _sizes(where, n_fft, hop_length, win_length)
    center, normalized = _flag(center, "center", where), _flag(normalized, "normalized", where)
    onesided = _flag(onesided, "onesided", where, True)
    return_complex = _flag(return_complex, "return_complex", where)
    if hop > win:
        raise RuntimeError(f"{where}: expected 0 < hop_length <= win_length, but got hop_length={hop}, "
                           f"win_length={win}")
    n_freq, count = z.shape[-2:]
    onesided = n_freq != n_fft if onesided is None else onesided
    want = n_fft // 2 + 1 if onesided else n_fft
    if n_freq != want:
        raise RuntimeError(f"{where}: expected the frequency dimension (second to last) of the input of shape "
                           f"{tuple(z.shape)} to be {'n_fft // 2 + 1' if onesided else 'n_fft'} = {want} "
                           f"(n_fft={n_fft}, onesided={onesided}), but got {n_freq}")
    w = _window(where, window, win, n_fft, _real_dtype(z.dtype))
    if return_complex:
        if onesided:
            raise RuntimeError(f"{where}: cannot have onesided input with return_complex=True (give the "
                               f"two-sided stft, onesided=False: {n_fft} frequencies)")
    elif w.dtype.kind == "c":
        raise RuntimeError(f"{where}: a complex window is incompatible with return_complex=False")
    if length is not None:
        length = _int(length, "length", where)
        if length <= 0:
            raise RuntimeError(f"{where}: expected length > 0, but got length={length}")
    norm = "ortho" if normalized else "backward"
    spec = swapaxes(z, -1, -2)  # (B?, T, N)
    if return_complex:
        frames = _fft.ifft(spec, n=n_fft, axis=-1, norm=norm)
    else:
        if not onesided:
            spec = spec[..., :n_fft // 2 + 1]
        frames = _fft.irfft(spec, n=n_fft, axis=-1, norm=norm)
    full = n_fft + hop * (count - 1)
    y = _overlap_add(frames * w, hop, full)
    envelope = _overlap_add(broadcast_to(w ** 2, (count, n_fft)), hop, full)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (full - n_fft // 2 if center else full)
    y, envelope = y[..., start:end], envelope[start:end]
    if envelope.shape[-1] == 0:
        raise RuntimeError(f"{where}: no sample left after trimming the centre padding (n_fft={n_fft}, "
                           f"{count} frames, hop_length={hop}, center={center}, length={length})")
    lowest = float(np.abs(envelope.data).min())
    if lowest < 1e-11:
        raise RuntimeError(f"{where}: window overlap add min: {lowest:g} < 1e-11 (the sum of the squared windows "
                           f"vanishes somewhere: the signal cannot be recovered; n_fft={n_fft}, hop_length={hop}, "
                           f"win_length={win}, center={center})")
    y = y / envelope
    if end > full:
        warnings.warn(f"{where}: the signal is shorter than length={length}; the result is padded with zeros in "
                      f"the tail. Check center and hop_length.", UserWarning, stacklevel=2)
        y = _torch_pad(y, (0, end - full))
    return y


__all__ = ["stft", "istft"]
