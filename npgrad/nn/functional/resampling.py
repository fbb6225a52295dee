"""``interpolate`` (and ``upsample``, ``upsample_nearest``, ``upsample_bilinear``), as PyTorch's.

Every mode but ``area`` is separable: along each spatial axis, output position ``j`` is a weighted sum of
a few input positions ``idx[j, k]`` (1 for nearest, 2 for linear, 4 for cubic, more with ``antialias``).
Each axis is one op, a sparse weighted gather; its VJP is the matching scatter, itself an op whose VJP is
the gather again, so the pair is differentiable to any order. The scatter sums by ``np.add.reduceat``
over runs of equal indices (the indices never decrease along an axis), never ``np.add.at``. Source
positions are computed in the input's precision, as PyTorch's kernels do, so nearest neighbours and
weights match PyTorch's exactly. ``area`` is adaptive average pooling, as in PyTorch.
"""
import math
import operator

import numpy as np

from ...autograd import versions as _versions
from ...ops._util import as_input, number_arg
from ...ops._util import batching_rule as _batching_rule
from ...ops.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d
from ...tensor import Tensor, _make

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_LINEAR_DIM = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


# --------------------------------------------------------------------------- the gather / scatter pair
def _gather_raw(x, axis, idx, w, pad=None):
    """``out[..., j, ...] = sum_k w[j, k] * x[..., idx[j, k], ...]`` along ``axis``, leaving out the taps where
    ``pad`` (antialiasing's padding taps, of weight 0) is set: they add nothing, not 0 * inf = NaN. Their products
    are summed first, and masked only when that sum is not finite (an input holding inf or NaN)."""
    out = _taps(x, axis, idx, w, None)
    if pad is not None and not np.isfinite(out).all():
        out = _taps(x, axis, idx, w, pad)
    return out


def _taps(x, axis, idx, w, pad):
    shape = (-1,) + (1,) * (x.ndim - axis - 1)
    out = None
    for k in range(idx.shape[1]):
        t = np.take(x, idx[:, k], axis=axis)
        if w is not None:
            t *= w[:, k].reshape(shape)
        if pad is not None and pad[:, k].any():
            np.copyto(t, 0, where=pad[:, k].reshape(shape))
        if out is None:
            out = t
        else:
            out += t
    return out


def _scatter_raw(g, axis, idx, w, n_in, pad=None):
    """The transpose of :func:`_gather_raw`: ``out[..., i, ...] = sum over idx[j, k] == i of w[j, k] g[..., j, ...]``
    (runs of equal indices summed by ``np.add.reduceat``; ``idx[:, k]`` never decreases); ``pad`` as there."""
    out = _scatter_taps(g, axis, idx, w, n_in, None)
    if pad is not None and not np.isfinite(out).all():
        out = _scatter_taps(g, axis, idx, w, n_in, pad)
    return out


def _scatter_taps(g, axis, idx, w, n_in, pad):
    gm = np.moveaxis(g, axis, 0)
    out = np.zeros((n_in,) + gm.shape[1:], dtype=g.dtype)
    shape = (-1,) + (1,) * (gm.ndim - 1)
    for k in range(idx.shape[1]):
        ik = idx[:, k]
        c = gm if w is None else gm * w[:, k].reshape(shape)
        if pad is not None and pad[:, k].any():
            np.copyto(c, 0, where=pad[:, k].reshape(shape))
        if ik.size and np.array_equal(ik, np.arange(n_in)):
            out += c
            continue
        starts = np.flatnonzero(np.concatenate(([True], ik[1:] != ik[:-1])))
        out[ik[starts]] += np.add.reduceat(c, starts, axis=0)
    return np.moveaxis(out, 0, axis)


def _resample(x, axis, idx, w, n_in, pad=None):
    """The gather along ``axis``: raw NumPy on arrays, a recorded op on Tensors."""
    if isinstance(x, Tensor):
        return _make(_gather_raw(x.data, axis, idx, w, pad), "interpolate", (x,), (x.data,),
                     (lambda g, y, x: _resample_t(g, axis, idx, w, n_in, pad),),
                     (lambda t, y, x: _resample(t, axis, idx, w, n_in, pad),))  # linear: JVP = the gather of t
    return _gather_raw(x, axis, idx, w, pad)


def _resample_t(g, axis, idx, w, n_in, pad=None):
    """The scatter along ``axis`` (the gather's VJP; its own VJP is the gather)."""
    if isinstance(g, Tensor):
        return _make(_scatter_raw(g.data, axis, idx, w, n_in, pad), "interpolate_backward", (g,), (g.data,),
                     (lambda h, y, g: _resample(h, axis, idx, w, n_in, pad),),
                     (lambda t, y, g: _resample_t(t, axis, idx, w, n_in, pad),))  # linear: the scatter of t
    return _scatter_raw(g, axis, idx, w, n_in, pad)


_versions.reads("interpolate", "")            # the VJPs read only the fixed indices and weights
_versions.reads("interpolate_backward", "")


# --------------------------------------------------------------------------- indices and weights per axis
def _scale(n_in, n_out, align_corners, scale, ft):
    """PyTorch's ``area_pixel_compute_scale`` in the compute type ``ft``."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _source(n_in, n_out, align_corners, scale, ft, cubic):
    """Source coordinates of the output positions (PyTorch's ``area_pixel_compute_source_index``)."""
    s = _scale(n_in, n_out, align_corners, scale, ft)
    j = np.arange(n_out, dtype=ft)
    if align_corners:
        return s * j
    src = s * (j + ft(0.5)) - ft(0.5)
    return src if cubic else np.maximum(src, ft(0))


def _nearest(n_in, n_out, scale, exact, special, ft=np.float32, two_d=True):
    """Nearest source indices. PyTorch's vectorized 2-D kernel computes them in float32 whatever the dtype; its
    generic kernels (1-D, 3-D, larger 2-D outputs) take the scale and the product ``(j [+ 0.5]) * scale`` in
    the input's precision ``ft`` and round that to float32 before the floor (so a float64 input can pick
    another neighbour than a float32 one)."""
    if special and n_out == n_in:      # PyTorch's 2-D nearest kernel copies, or halves, whatever the scale
        return np.arange(n_out)[:, None], None
    if special and n_out == 2 * n_in:
        return (np.arange(n_out) >> 1)[:, None], None
    if two_d or ft == np.float32:
        s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out)
        j = np.arange(n_out, dtype=np.float32)
        src = np.floor((j + np.float32(0.5)) * s if exact else j * s)
    else:
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        j = np.arange(n_out, dtype=np.float64)
        src = np.floor(((j + 0.5) * s if exact else j * s).astype(np.float32))
    return np.minimum(src.astype(np.intp), n_in - 1)[:, None], None


def _linear(n_in, n_out, align_corners, scale, ft):
    if n_out == n_in:
        return np.arange(n_out)[:, None], None
    src = _source(n_in, n_out, align_corners, scale, ft, cubic=False)
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    lam1 = np.clip(src - i0.astype(ft), 0, 1).astype(ft)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1], axis=1), np.stack([ft(1) - lam1, lam1], axis=1)


def _cubic_coeffs(t, A):
    def conv1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def conv2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    one = t.dtype.type(1)
    return np.stack([conv2(t + one), conv1(t), conv1(one - t), conv2(one - t + one)], axis=1)


def _cubic(n_in, n_out, align_corners, scale, ft):
    src = _source(n_in, n_out, align_corners, scale, ft, cubic=True)
    i = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    t = np.clip(src - i.astype(ft), 0, 1).astype(ft)
    idx = np.clip(i[:, None] + np.arange(-1, 3), 0, n_in - 1)
    return idx, _cubic_coeffs(t, ft(-0.75)).astype(ft)


def _antialias(n_in, n_out, align_corners, scale, ft, cubic):
    """PyTorch's antialiased weights (PIL's): the filter widened by the downscaling factor, normalized; and the
    padding taps (past each output's window, weight 0), which PyTorch's kernel never reads."""
    sf = _scale(n_in, n_out, align_corners, scale, ft)
    s = float(sf)
    size = 4 if cubic else 2
    support = ft(size * 0.5 * sf if s >= 1.0 else size * 0.5)
    invscale = 1.0 / s if s >= 1.0 else 1.0
    center = (s * (np.arange(n_out) + 0.5)).astype(ft)   # window bounds in the input's precision, as PyTorch's
    xmin = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xsize = np.minimum(((center + support).astype(np.float64) + 0.5).astype(np.int64), n_in) - xmin
    center = center.astype(np.float64)
    K = max(int(xsize.max()), 1)
    j = np.arange(K)
    x = np.abs((j[None, :] + xmin[:, None] - center[:, None] + 0.5) * invscale)
    if cubic:
        a = -0.5
        f = np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                     np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    else:
        f = np.where(x < 1, 1 - x, 0.0)
    f = np.where(j[None, :] < xsize[:, None], f, 0.0)
    total = f.sum(axis=1, keepdims=True)
    f = np.divide(f, total, out=np.zeros_like(f), where=total != 0)
    idx = xmin[:, None] + np.minimum(j[None, :], np.maximum(xsize[:, None] - 1, 0))
    pad = j[None, :] >= xsize[:, None]
    return np.minimum(idx, n_in - 1).astype(np.intp), f.astype(ft), (pad if pad.any() else None)


def _axis_map(mode, n_in, n_out, align_corners, scale, ft, antialias, dim, small_2d=True):
    """Per-axis ``(idx, w, pad)``: the taps' indices, their weights (None: one tap, weight 1), and the
    antialiasing padding taps to leave out (None: none)."""
    if mode in ("nearest", "nearest-exact"):
        # PyTorch's vectorized 2-D kernel (float32 indices, its copy / halve shortcuts) serves outputs with
        # H + W <= 128; larger ones go to its generic kernel, the 1-D and 3-D rule
        two_d = dim == 2 and small_2d
        return _nearest(n_in, n_out, scale, mode == "nearest-exact", mode == "nearest" and two_d, ft, two_d) + (None,)
    if antialias:
        if n_out == n_in:    # PyTorch's antialiased kernels skip an axis whose size does not change
            return np.arange(n_out)[:, None], None, None
        return _antialias(n_in, n_out, align_corners, scale, ft, mode == "bicubic")
    if mode == "bicubic":
        return _cubic(n_in, n_out, align_corners, scale, ft) + (None,)
    return _linear(n_in, n_out, align_corners, scale, ft) + (None,)


# --------------------------------------------------------------------------- interpolate
def _output_size(where, spatial, size, scale_factor, dim):
    if size is not None and scale_factor is not None:
        raise ValueError(f"{where}: only one of size or scale_factor should be defined")
    if size is not None:
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(sizes) != dim:
            raise ValueError(f"{where}: input with spatial dimensions of {list(spatial)} and output size of "
                             f"{size} must have the same number of spatial dimensions")
        try:
            return [operator.index(s) for s in sizes], None
        except TypeError:
            raise TypeError(f"{where}: size must be an int or a tuple of ints, got {size!r}") from None
    if scale_factor is None:
        raise ValueError(f"{where}: either size or scale_factor should be defined")
    scales = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
    if len(scales) != dim:
        raise ValueError(f"{where}: input with spatial dimensions of {list(spatial)} and scale_factor of "
                         f"{scale_factor} must have the same number of spatial dimensions")
    scales = [float(number_arg(s, where, "scale_factor")) for s in scales]
    return [int(math.floor(n * s)) for n, s in zip(spatial, scales)], scales


@_batching_rule("merge_n_interpolate")
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of an (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as
    ``torch.nn.functional.interpolate``: to ``size``, or by ``scale_factor`` (output size
    ``floor(in * scale_factor)``; the interpolation then uses ``1 / scale_factor`` unless
    ``recompute_scale_factor=True``, as PyTorch).

    ``mode``: ``nearest`` (PyTorch's legacy rule ``floor(j * in / out)``), ``nearest-exact``
    (``floor((j + 0.5) * in / out)``), ``linear`` (3-D), ``bilinear`` / ``bicubic`` (4-D), ``trilinear``
    (5-D), ``area`` (adaptive average pooling). ``align_corners`` (interpolating modes only, default False)
    maps the corner pixels' centers onto each other. ``antialias=True`` (bilinear / bicubic, 4-D) filters
    when downsampling, as PyTorch (and PIL). Differentiable to any order."""
    where = "interpolate"
    x = as_input(input, where)
    if mode not in _MODES:
        raise NotImplementedError(f"{where}: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{where}: align_corners option can only be set with the interpolating modes: "
                             f"linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(f"{where}: expected a 3-D, 4-D or 5-D (N, C, *spatial) input, got shape {x.shape}")
    dim = x.ndim - 2
    if mode in _LINEAR_DIM and _LINEAR_DIM[mode] != dim:
        raise NotImplementedError(f"{where}: got {x.ndim}D input of shape {x.shape}, but {mode} mode needs "
                                  f"{_LINEAR_DIM[mode] + 2}D input")
    if antialias and not (mode in ("bilinear", "bicubic") and x.ndim == 4):
        raise ValueError(f"{where}: anti-alias option is restricted to bilinear and bicubic modes and requires "
                         f"a 4-D tensor as input, got mode {mode!r} and shape {x.shape}")
    spatial = x.shape[2:]
    out_size, scales = _output_size(where, spatial, size, scale_factor, dim)
    if recompute_scale_factor and size is not None:
        raise ValueError(f"{where}: recompute_scale_factor is not meaningful with an explicit size")
    if recompute_scale_factor or mode == "area":
        scales = None
    if mode == "area" and min(spatial) > 0 and min(out_size) == 0 and x.shape[1] > 0:
        return x.reshape(-1)[:0].reshape(x.shape[:2] + tuple(out_size))   # adaptive pooling to nothing
    if min(spatial) <= 0 or min(out_size) <= 0:
        raise ValueError(f"{where}: input and output sizes should be greater than 0, got input {tuple(spatial)} "
                         f"and output {tuple(out_size)}")
    if x.shape[1] == 0 and (mode != "area" or dim == 3):   # torch's 1-D / 2-D adaptive pooling takes C = 0
        raise ValueError(f"{where}: non-empty channel dimension expected, got input of shape {x.shape}")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1](x, tuple(out_size))
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating input, got {x.dtype}")
    ft = np.float32 if x.dtype == np.float32 else np.float64
    # float16: the weights and the taps' sums in float32, the output rounded once, as torch accumulates (the weights
    # rounded to float16 and each axis's sums too left bicubic 2e-3 off, torch 9e-4; bilinear 1.4e-3, torch 4e-4)
    wt = np.float32 if x.dtype == np.float16 else x.dtype
    maps = []
    for d in range(dim):
        idx, w, pad = _axis_map(mode, spatial[d], out_size[d], align_corners, None if scales is None else scales[d],
                           ft, antialias, dim, dim != 2 or out_size[0] + out_size[1] <= 128)
        if w is None and out_size[d] == spatial[d] and np.array_equal(idx[:, 0], np.arange(spatial[d])):
            continue  # identity along this axis
        if w is not None:
            w = w.astype(wt, copy=False)
        maps.append((out_size[d] / spatial[d], d + 2, idx, w, spatial[d], pad))
    half = wt != x.dtype and any(m[3] is not None for m in maps)
    out = x.astype(np.float32) if half else x
    for _, axis, idx, w, n_in, pad in sorted(maps, key=lambda m: m[0]):   # shrinking axes first: smaller temporaries
        out = _resample(out, axis, idx, w, n_in, pad)
    if half:
        out = out.astype(np.float16)
    if out is x:
        out = x * 1 if x._requires_grad else as_input(x.data.copy(), where)
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`, as ``torch.nn.functional.upsample``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(..., mode='nearest')``, as ``torch.nn.functional.upsample_nearest``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(..., mode='bilinear', align_corners=True)``, as ``torch.nn.functional.upsample_bilinear``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]
