"""``unfold`` / ``fold`` (im2col and col2im) and ``pixel_shuffle`` / ``pixel_unshuffle``, as PyTorch's.

``unfold`` and ``fold`` are each other's transpose, so each is the other's VJP: a pair of linear ops
closed under differentiation. ``unfold`` copies one strided slice per kernel offset; ``fold`` adds them
back, one slice-add per kernel offset (the positions of one slice never repeat, so no ``np.add.at``).
The pixel shuffles are a reshape, a transpose and a reshape (views where NumPy allows).
"""
import operator

import numpy as np

from ...autograd import versions as _versions
from ...autograd.complex_rules import LINEAR, declare
from ...ops._util import as_input
from ...ops._util import batching_rule as _batching_rule
from ...tensor import Tensor, _make
from ._common import _own


def _pair(v, name, where):
    try:
        t = tuple(operator.index(a) for a in v) if isinstance(v, (tuple, list)) else (operator.index(v),) * 2
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int or a pair of ints, got {v!r}") from None
    if len(t) != 2:
        raise ValueError(f"{where}: {name} must be an int or a pair of ints, got {v!r}")
    return t


def _geometry(where, size, kernel_size, dilation, padding, stride):
    K, d = _pair(kernel_size, "kernel_size", where), _pair(dilation, "dilation", where)
    p, s = _pair(padding, "padding", where), _pair(stride, "stride", where)
    if min(K) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ValueError(f"{where}: kernel_size {K}, dilation {d} and stride {s} must be positive and padding {p} "
                         f"non-negative")
    out = tuple((size[i] + 2 * p[i] - d[i] * (K[i] - 1) - 1) // s[i] + 1 for i in range(2))
    if min(out) < 1:
        raise ValueError(f"{where}: given input with spatial size {tuple(size)}, kernel_size={K}, dilation={d}, "
                         f"padding={p}, the calculated shape of the array of sliding blocks is {out}, but its "
                         f"components must be at least one")
    return K, d, p, s, out


def _slices(i, j, d, s, out):
    return (slice(None), slice(None), slice(i * d[0], i * d[0] + s[0] * (out[0] - 1) + 1, s[0]),
            slice(j * d[1], j * d[1] + s[1] * (out[1] - 1) + 1, s[1]))


def _unfold_raw(x, geom):
    (K, d, p, s, out), size = geom
    N, C = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))) if any(p) else x
    cols = np.empty((N, C, K[0], K[1]) + out, dtype=x.dtype)
    for i in range(K[0]):
        for j in range(K[1]):
            cols[:, :, i, j] = xp[_slices(i, j, d, s, out)]
    return cols.reshape(N, C * K[0] * K[1], out[0] * out[1])


def _fold_raw(cols, geom):
    (K, d, p, s, out), size = geom
    N = cols.shape[0]
    C = cols.shape[1] // (K[0] * K[1])
    c6 = cols.reshape((N, C, K[0], K[1]) + out)
    full = np.zeros((N, C, size[0] + 2 * p[0], size[1] + 2 * p[1]), dtype=cols.dtype)
    for i in range(K[0]):
        for j in range(K[1]):
            full[_slices(i, j, d, s, out)] += c6[:, :, i, j]
    return full[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def _unfold_op(x, geom):
    if isinstance(x, Tensor):
        return _make(_unfold_raw(x.data, geom), "unfold", (x,), (x.data,), (lambda g, y, x: _fold_op(g, geom),),
                     (lambda t, y, x: _unfold_op(t, geom),))  # linear: JVP = the unfold of t
    return _unfold_raw(x, geom)


def _fold_op(c, geom):
    if isinstance(c, Tensor):
        return _make(_fold_raw(c.data, geom), "fold", (c,), (c.data,), (lambda g, y, c: _unfold_op(g, geom),),
                     (lambda t, y, c: _fold_op(t, geom),))  # linear: JVP = the fold of t
    return _fold_raw(c, geom)


_versions.reads("unfold", "")   # linear: the VJPs read nothing but the geometry
_versions.reads("fold", "")
declare(LINEAR, "unfold", "fold")  # (copies and sums with coefficient 1: complex gradients as they are)


@_batching_rule("merge_n_unfold")
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col), as ``torch.nn.functional.unfold``: (N, C, H, W) -> (N, C * kh * kw, L)
    (or unbatched (C, H, W) -> (C * kh * kw, L)), column ``l`` holding block ``l`` in row-major order, rows
    ordered channel, then kernel row, then kernel column. Differentiable to any order (its VJP is ``fold``)."""
    where = "unfold"
    x = as_input(input, where)
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    if 0 in x.shape[x.ndim - 3:]:
        raise ValueError(f"{where}: expected a 3-D or 4-D (batch mode) input with possibly 0 batch size and other "
                         f"non-zero dimensions, got shape {x.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    geom = (_geometry(where, x.shape[2:], kernel_size, dilation, padding, stride), x.shape[2:])
    out = _unfold_op(x, geom)
    return out.reshape(out.shape[1:]) if unbatched else out


@_batching_rule("merge_n_fold")
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an image (col2im), as ``torch.nn.functional.fold``: (N, C * kh * kw, L)
    -> (N, C, H, W) with ``(H, W) = output_size`` (or unbatched); overlapping blocks add up. The
    transpose of :func:`unfold`, and its VJP is ``unfold``."""
    where = "fold"
    c = as_input(input, where)
    if c.ndim not in (2, 3):
        raise ValueError(f"{where}: expected a 2-D (C * kh * kw, L) or 3-D (N, C * kh * kw, L) input, got shape "
                         f"{c.shape}")
    if 0 in c.shape[c.ndim - 2:]:
        raise ValueError(f"{where}: expected a 2-D or 3-D (batch mode) input with possibly 0 batch size and "
                         f"non-zero dimensions otherwise, got shape {c.shape}")
    unbatched = c.ndim == 2
    if unbatched:
        c = c.reshape((1,) + c.shape)
    size = _pair(output_size, "output_size", where)
    geom = (_geometry(where, size, kernel_size, dilation, padding, stride), size)
    K, out = geom[0][0], geom[0][4]
    if c.shape[1] % (K[0] * K[1]):
        raise ValueError(f"{where}: expected size of input's dimension 1 to be divisible by the product of "
                         f"kernel_size {K}, but got input of shape {c.shape}")
    if c.shape[2] != out[0] * out[1]:
        raise ValueError(f"{where}: given output_size={size}, kernel_size={K}, dilation={geom[0][1]}, "
                         f"padding={geom[0][2]}, stride={geom[0][3]}, expected size of input's dimension 2 to "
                         f"match the calculated number of sliding blocks {out[0]} * {out[1]} = {out[0] * out[1]}, "
                         f"but got input of shape {c.shape}")
    res = _fold_op(c, geom)
    return res.reshape(res.shape[1:]) if unbatched else res


def pixel_shuffle(input, upscale_factor):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r), as ``torch.nn.functional.pixel_shuffle``."""
    x = as_input(input, "pixel_shuffle")
    r = operator.index(upscale_factor)
    if x.ndim < 3 or r <= 0 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected an input of shape (*, C * r^2, H, W) with r = upscale_factor "
                         f"= {r} > 0, got shape {x.shape}")
    *lead, C, H, W = x.shape
    n = len(lead)
    y = x.reshape(tuple(lead) + (C // (r * r), r, r, H, W))
    y = y.transpose(tuple(range(n)) + tuple(n + a for a in (0, 3, 1, 4, 2)))
    return _own(y.reshape(tuple(lead) + (C // (r * r), H * r, W * r)), x)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W), as ``torch.nn.functional.pixel_unshuffle``."""
    x = as_input(input, "pixel_unshuffle")
    r = operator.index(downscale_factor)
    if x.ndim < 3 or r <= 0 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle: expected an input of shape (*, C, H * r, W * r) with r = "
                         f"downscale_factor = {r} > 0, got shape {x.shape}")
    *lead, C, H, W = x.shape
    n = len(lead)
    y = x.reshape(tuple(lead) + (C, H // r, r, W // r, r))
    y = y.transpose(tuple(range(n)) + tuple(n + a for a in (0, 2, 4, 1, 3)))
    return _own(y.reshape(tuple(lead) + (C * r * r, H // r, W // r)), x)


__all__ = ["unfold", "fold", "pixel_shuffle", "pixel_unshuffle"]
