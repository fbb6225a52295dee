"""Fractional max pooling (Graham, 2014): ``fractional_max_pool2d`` / ``fractional_max_pool3d`` and their
``*_with_indices`` forms, as torch.nn.functional, with PyTorch's pseudo-random window sequence.

Per plane (sample, channel) and axis, one sample ``u`` in [0, 1) (``_random_samples[n, c, a]``; for 2-D, entry 0
drives the width and entry 1 the height, for 3-D entries 0, 1, 2 drive time, height, width) gives the window
starts ``int((i + u) * alpha) - int(u * alpha)`` for ``i < out - 1`` and ``in - kernel`` for the last, with
``alpha = (in - kernel) / (out - 1)``, computed in the input's dtype as ATen does; each window of ``kernel_size``
gives its maximum (the first in row-major order; a NaN wins, the last one) and that element's flat per-plane
index. The output is a gather of the input at those indices (npgrad's ``take_along_axis``: its VJP scatter-adds the
gradient back, as PyTorch's backward does). Without ``_random_samples`` the samples come from npgrad's generator.
"""
import math

import numpy as np

from ... import random as _random
from ...ops._util import as_input
from ...ops.index import take_along_axis
from ...ops.pooling import _max_scan
from ...ops.shape import reshape
from ...tensor import Tensor, _wrap

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]

_AXES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _tuple(v, nd, what, where):
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = tuple(v) * nd
        if len(v) != nd:
            raise ValueError(f"{where}: {what} must be a single number or a tuple of {nd}, got {v!r}")
        return tuple(v)
    return (v,) * nd


def _intervals(u, n, o, k, dt):
    """Window starts (..., o) along one axis for samples ``u`` (...), in ATen's arithmetic (dtype ``dt``)."""
    starts = np.empty(u.shape + (o,), dtype=np.int64)
    if o > 1:
        alpha = dt.type(n - k) / dt.type(o - 1)
        i = np.arange(o - 1, dtype=dt)
        first = ((i + u[..., None]) * alpha).astype(np.int64)
        starts[..., :o - 1] = first - (u[..., None] * alpha).astype(np.int64)
    if o > 0:
        starts[..., o - 1] = n - k
    return starts


def _fractional(nd, input, kernel_size, output_size, output_ratio, _random_samples):
    where = f"fractional_max_pool{nd}d"
    x = as_input(input, where)
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{where}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating input, got dtype {x.dtype}")
    L = tuple(x.shape[-nd:])
    if output_size is None and output_ratio is None:
        raise ValueError(f"{where} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = _tuple(output_ratio, nd, "output_ratio", where)
        output_size = tuple(int(n * r) for n, r in zip(L, ratio))
    out = tuple(int(o) for o in _tuple(output_size, nd, "output_size", where))
    K = tuple(int(k) for k in _tuple(kernel_size, nd, "kernel_size", where))
    if any(k <= 0 for k in K):
        raise RuntimeError(f"{where}(): kernel_size must be greater than zero, got {K}")
    for name, n, o, k in zip(_AXES[nd], L, out, K):
        if o < 0:
            raise RuntimeError(f"{where}(): output_size must be non-negative, got {out}")
        if o + k - 1 > n - (nd == 3):      # (ATen's 3-D check is strict: out + kernel - 1 < in)
            raise RuntimeError(f"{where}(): pool {name} {k} too large relative to input {name} {n}")
    unbatched = x.ndim == nd + 1
    xb = reshape(x, (1,) + x.shape) if unbatched else x
    N, C = xb.shape[:2]
    dt = x.dtype
    if _random_samples is None:
        u = _random.get_generator().random((N, C, nd)).astype(dt)
    else:
        u = _random_samples.data if isinstance(_random_samples, Tensor) else np.asarray(_random_samples)
        if u.dtype != dt:
            raise RuntimeError(f"{where}(): Expect _random_samples to have the same dtype as input ({u.dtype} vs "
                               f"{dt})")
        if u.ndim != 3 or u.shape[2] != nd:
            raise RuntimeError(f"{where}(): Expect _random_samples of shape (N, C, {nd}); got {u.shape}")
        if u.shape[0] < N:
            raise RuntimeError(f"{where}(): Expect _random_samples.size(0) no less then input batch size "
                               f"({u.shape[0]} < {N})")
        if u.shape[1] != C:
            raise RuntimeError(f"{where}(): Expect _random_samples.size(1) equals to the number of planes "
                               f"({u.shape[1]} != {C})")
        u = u[:N]
    order = (1, 0) if nd == 2 else (0, 1, 2)        # the sample entry of each axis (2-D: entry 0 is the width)
    strides = [math.prod(L[a + 1:]) for a in range(nd)]
    flat = np.zeros((N, C) + out + (1,) * nd, dtype=np.int64)
    for a in range(nd):
        st = _intervals(u[..., order[a]], L[a], out[a], K[a], dt)          # (N, C, out_a)
        pos = st[..., :, None] + np.arange(K[a])                           # (N, C, out_a, K_a)
        shape = [N, C] + [1] * (2 * nd)
        shape[2 + a], shape[2 + nd + a] = out[a], K[a]
        flat = flat + pos.reshape(shape) * strides[a]
    flat = flat.reshape((N, C) + out + (math.prod(K),))
    P = math.prod(L)
    xf = reshape(xb, (N, C, P))
    vals = np.take_along_axis(xf.data, flat.reshape(N, C, -1), 2).reshape(flat.shape)
    if flat.shape[-1] and vals.size:
        _, j = _max_scan([vals[..., i] for i in range(vals.shape[-1])], bool(np.isnan(vals).any()))
        ind = np.take_along_axis(flat, j.astype(np.int64)[..., None], -1)[..., 0]
    else:
        ind = np.zeros((N, C) + out, dtype=np.int64)
    y = reshape(take_along_axis(xf, ind.reshape(N, C, -1), 2), (N, C) + out)
    if unbatched:
        return reshape(y, y.shape[1:]), _wrap(ind[0])
    return y, _wrap(ind)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool2d`` returning ``(output, indices)``, as torch's ``*_with_indices`` form."""
    return _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool3d`` returning ``(output, indices)``, as torch's ``*_with_indices`` form."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """2-D fractional max pooling over (N, C, H, W) or (C, H, W), as ``torch.nn.functional.fractional_max_pool2d``:
    windows of ``kernel_size`` at pseudo-random steps giving an output of ``output_size`` (or of
    ``int(in * output_ratio)``); ``_random_samples`` (N, C, 2) in [0, 1), of the input's dtype, fixes the steps
    (npgrad then gives PyTorch's output and indices exactly); ``return_indices`` also returns the flat per-plane
    indices of the maxima (for ``max_unpool2d``)."""
    out = _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """3-D fractional max pooling over (N, C, T, H, W) or (C, T, H, W), as
    ``torch.nn.functional.fractional_max_pool3d`` (``_random_samples``: (N, C, 3)); see ``fractional_max_pool2d``."""
    out = _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)
    return out if return_indices else out[0]
