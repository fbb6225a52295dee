"""``grid_sample`` and ``affine_grid``, as PyTorch's (spatial transformer networks, warping).

Both are compositions of differentiable npgrad ops, so gradients reach the input and the grid (or
``theta``) and are differentiable again. ``grid_sample`` turns the grid into source coordinates
(unnormalize, then clip or reflect for the ``border`` / ``reflection`` padding modes, with PyTorch's
gradients: 0 where a coordinate is clipped), gathers the input at the 2^d neighbouring pixels in one row
lookup (whose gradient is a ``bincount`` / ``reduceat`` scatter, never ``np.add.at``), and sums them with
the interpolation weights, which carry the grid's gradient.
"""
import itertools
import warnings

import numpy as np

from ...ops import elementwise as _ew
from ...ops._util import as_input, batching_rule
from ...ops.contract import matmul
from ...ops.shape import moveaxis, stack

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


def _align(align_corners):
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


# ----------------------------------------------------------------------------- source coordinates
def _unnormalize(c, size, align_corners):
    """[-1, 1] to pixel coordinates: -1 and 1 are the corner pixels' centers (``align_corners``) or edges."""
    if align_corners:
        return ((c + 1) / 2) * (size - 1)
    return ((c + 1) * size - 1) / 2


def _clip(c, size):
    """``c`` clipped to [0, size - 1]; the gradient passes only strictly inside, as PyTorch's. A NaN
    coordinate (a NaN grid point, or an infinite one reflected) clips to 0, as PyTorch's clamp does."""
    d = c.data
    hi = size - 1
    inside = (d > 0) & (d < hi)
    if inside.all():
        return c
    return _ew.where(inside, c, np.clip(np.nan_to_num(d, nan=0.0), 0, hi).astype(d.dtype))


def _reflect(c, twice_low, twice_high):
    """``c`` reflected into [twice_low / 2, twice_high / 2] (PyTorch's ``reflect_coordinates``)."""
    if twice_low == twice_high:
        return c * 0
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    u = c - lo
    a = _ew.where(u.data < 0, -u, u)
    flips = np.floor(a.data / span)
    extra = _ew.fmod(a, span)
    return _ew.where(flips % 2 == 0, extra + lo, (span - extra) + lo)


def _source(c, size, padding_mode, align_corners):
    c = _unnormalize(c, size, align_corners)
    if padding_mode == "border":
        return _clip(c, size)
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        return _clip(c, size)
    return c


# ----------------------------------------------------------------------------- grid_sample
def _gather(xr, sizes, n_idx, idx):
    """Rows of ``xr`` ((N * prod(sizes), C)) at the (clipped) integer positions ``idx`` (one array per axis),
    and where those positions lie inside the input."""
    valid = np.ones(idx[0].shape, dtype=bool)
    flat = n_idx
    for a, (i, n) in enumerate(zip(idx, sizes)):
        valid &= (i >= 0) & (i < n)
        flat = flat * n + np.clip(i, 0, n - 1)
    return xr[flat], valid


def _masked(vals, valid):
    """The gathered rows ``vals`` zeroed where the tap lies outside the input: a weight made NaN by a NaN grid
    point still makes the output NaN, as PyTorch's, but sends no NaN gradient to the pixel read in its place."""
    if valid.all():
        return vals
    return _ew.where(valid[..., None], vals, 0)


@batching_rule("merge_grid_sample")
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) at ``grid`` (N, Ho, Wo, 2) locations, or (N, C, D, H, W) at
    (N, Do, Ho, Wo, 3), as ``torch.nn.functional.grid_sample``: ``grid[..., 0]`` is x (width), ``[..., 1]``
    y, ``[..., 2]`` z, in [-1, 1] (the corner pixels' centers with ``align_corners=True``, their outer edges
    otherwise). ``mode``: ``bilinear`` (trilinear for 5-D), ``nearest`` (round half to even) or ``bicubic``
    (4-D, PyTorch's cubic convolution with A = -0.75);
    ``padding_mode``: ``zeros``, ``border`` or ``reflection``. Gradients reach both ``input`` and ``grid``
    (zero for the grid in ``nearest`` mode, as PyTorch), and are differentiable again."""
    where = "grid_sample"
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"{where}: expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"{where}: expected padding_mode to be 'zeros', 'border', or 'reflection', "
                         f"but got: {padding_mode!r}")
    align_corners = _align(align_corners)
    x, g = as_input(input, where), as_input(grid, where)
    nd = x.ndim - 2
    if x.ndim not in (4, 5) or g.ndim != x.ndim or g.shape[0] != x.shape[0] or g.shape[-1] != nd:
        raise ValueError(f"{where}: expected input (N, C, H, W) with grid (N, Ho, Wo, 2), or input (N, C, D, H, W) "
                         f"with grid (N, Do, Ho, Wo, 3), got input of shape {x.shape} and grid of shape {g.shape}")
    if mode == "bicubic" and nd != 2:
        raise ValueError(f"{where}: bicubic interpolation only supports 4-D input, got shape {x.shape}")
    if x.dtype != g.dtype or x.dtype.kind != "f":
        raise TypeError(f"{where}: expected input and grid of the same floating dtype, got {x.dtype} and {g.dtype}")
    N, C = x.shape[:2]
    sizes = x.shape[2:]
    if min(sizes) <= 0:
        raise ValueError(f"{where}: expected an input with non-empty spatial dimensions, got shape {x.shape}")
    out_sp = g.shape[1:-1]
    xr = moveaxis(x, 1, -1).reshape(N * int(np.prod(sizes)), C)
    n_idx = np.arange(N).reshape((N,) + (1,) * len(out_sp))
    if mode == "bicubic":
        return moveaxis(_bicubic(xr, g, sizes, n_idx, padding_mode, align_corners), -1, 1)
    # source coordinates per input axis (D, H, W order): grid's last component is x, i.e. the last axis
    coords = [_source(g[..., nd - 1 - a], sizes[a], padding_mode, align_corners) for a in range(nd)]
    if mode == "nearest":
        # a non-finite or far-off location reads nothing (PyTorch's zeros padding); clipped before the cast
        idx = [np.nan_to_num(np.clip(np.rint(c.data), -1, n), nan=-1).astype(np.intp) for c, n in zip(coords, sizes)]
        vals, valid = _gather(xr, sizes, n_idx, idx)
        w = valid.astype(x.dtype)
        if any(c._requires_grad for c in coords):   # the grid's gradient is zero, not missing (as PyTorch),
            w = w + _ew.where(np.zeros(w.shape, bool), sum(coords[1:], coords[0]), 0)   # and keeps NaN out
        out = vals * w[..., None]
    else:
        lo = [np.floor(c.data) for c in coords]
        # the taps' indices (far-off or NaN locations clipped first: they read nothing but must not overflow)
        base = [np.nan_to_num(np.clip(f, -2, n), nan=-2.0).astype(np.intp) for f, n in zip(lo, sizes)]
        idx = [np.stack([b, b + 1], axis=-1) for b in base]
        dist = [(c - f, (f + 1) - c) for c, f in zip(coords, lo)]     # (weight of the upper, of the lower)
        corners, weights = [], []
        for bits in itertools.product((0, 1), repeat=nd):
            corners.append([idx[a][..., b] for a, b in enumerate(bits)])
            w = None
            for a in reversed(range(nd)):                              # x first, as PyTorch multiplies
                f = dist[a][0] if bits[a] else dist[a][1]
                w = f if w is None else w * f
            weights.append(w)
        stacked = [np.stack([c[a] for c in corners], axis=-1) for a in range(nd)]
        vals, valid = _gather(xr, sizes, n_idx[..., None], stacked)    # (N, *out, 2^nd, C)
        out = (_masked(vals, valid) * stack(weights, axis=-1)[..., None]).sum(axis=-2)
    out = moveaxis(out, -1, 1)
    return out


def _tap_index(i, size, padding_mode, align_corners):
    """Where the integer tap ``i`` (a float array) reads, after the padding mode (PyTorch's
    ``compute_coordinates`` on a tap of the bicubic kernel); out-of-range positions are masked later."""
    if padding_mode == "reflection":
        lo2, hi2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo2 == hi2:
            i = np.zeros_like(i)
        else:
            lo, span = lo2 / 2, (hi2 - lo2) / 2
            a = np.abs(i - lo)
            extra, flips = np.fmod(a, span), np.floor(a / span)
            i = np.where(flips % 2 == 0, extra + lo, span - extra + lo)
    if padding_mode in ("border", "reflection"):
        i = np.clip(np.nan_to_num(i, nan=0.0), 0, size - 1)      # a NaN tap reads pixel 0, as PyTorch's clamp
    else:                                                          # far off or NaN: outside, masked later
        i = np.nan_to_num(np.clip(i, -1, size), nan=-1.0)
    return np.trunc(i).astype(np.intp)


def _cubic_weights(t):
    """PyTorch's cubic convolution coefficients (A = -0.75) for the taps at -1, 0, 1, 2 of offset ``t``."""
    A = -0.75

    def near(u):
        return ((A + 2) * u - (A + 3)) * u * u + 1

    def far(u):
        return ((A * u - 5 * A) * u + 8 * A) * u - 4 * A
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _bicubic(xr, g, sizes, n_idx, padding_mode, align_corners):
    """Bicubic sampling over the 4 x 4 taps around each location (4-D input), as PyTorch: the taps, not the
    location, go through the padding mode; the weights carry the grid's gradient."""
    H, W = sizes
    ix = _unnormalize(g[..., 0], W, align_corners)
    iy = _unnormalize(g[..., 1], H, align_corners)
    fx, fy = np.floor(ix.data), np.floor(iy.data)
    wx, wy = _cubic_weights(ix - fx), _cubic_weights(iy - fy)
    taps = np.arange(-1, 3)
    rows = _tap_index(fy[..., None] + taps, H, padding_mode, align_corners)
    cols = _tap_index(fx[..., None] + taps, W, padding_mode, align_corners)
    yy = np.repeat(rows, 4, axis=-1)               # tap (j, i) at j * 4 + i: row j, column i
    xx = np.tile(cols, 4)
    vals, valid = _gather(xr, sizes, n_idx[..., None], [yy, xx])
    w = stack([wy[j] * wx[i] for j in range(4) for i in range(4)], axis=-1)
    return (_masked(vals, valid) * w[..., None]).sum(axis=-2)


# ----------------------------------------------------------------------------- affine_grid
def _linspace_from_neg_one(n, align_corners, dtype):
    if n <= 1:
        return np.zeros(1, dtype=dtype)
    r = np.linspace(-1, 1, n, dtype=dtype)
    return r if align_corners else (r * (n - 1) / n).astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps, as ``torch.nn.functional.affine_grid``: ``theta``
    (N, 2, 3) and ``size`` (N, C, H, W) give an (N, H, W, 2) grid; ``theta`` (N, 3, 4) and ``size``
    (N, C, D, H, W) an (N, D, H, W, 3) one. Differentiable in ``theta``."""
    where = "affine_grid"
    align_corners = _align(align_corners)
    t = as_input(theta, where)
    size = tuple(int(s) for s in size)
    if t.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating theta, got {t.dtype}")
    if len(size) == 4:
        nd = 2
    elif len(size) == 5:
        nd = 3
    else:
        raise NotImplementedError(f"{where}: only 2D and 3D affine grids are supported (size of length 4 or 5), "
                                  f"got size {size}")
    if t.ndim != 3 or t.shape != (size[0], nd, nd + 1):
        raise ValueError(f"{where}: expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for size "
                         f"{size}, got theta of shape {t.shape}")
    if min(size) <= 0:    # the batch and channel sizes too, as PyTorch
        raise ValueError(f"{where}: expected non-zero, positive output size, got {size}")
    sp = size[2:]
    if align_corners and min(sp) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", UserWarning, stacklevel=2)
    dt = t.dtype
    axes = [_linspace_from_neg_one(n, align_corners, dt) for n in sp]       # (D,) H, W
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([m for m in reversed(mesh)] + [np.ones(sp, dtype=dt)], axis=-1)   # x, y, (z), 1
    base = base.reshape(1, -1, nd + 1)
    grid = matmul(base, t.transpose(0, 2, 1))                              # (N, prod(sp), nd)
    return grid.reshape((size[0],) + sp + (nd,))


__all__ = ["grid_sample", "affine_grid"]
