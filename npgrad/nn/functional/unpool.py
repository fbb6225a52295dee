"""Max unpooling (``max_unpool1d/2d/3d``: the partial inverse of max pooling with ``return_indices=True``), the
``*_with_indices`` aliases of max and adaptive max pooling, and ``channel_shuffle``, as torch.nn.functional.

``max_unpool`` is its own op: a scatter of the input into a zero plane at PyTorch's flat per-plane indices (where
an index repeats, the last write wins, as PyTorch's CPU loop), whose VJP is PyTorch's gather of the gradient at the
indices (every input element gets the gradient of its position, repeats included) and whose JVP is the same
scatter of the tangent. The gather is npgrad's ``take_along_axis`` on the create_graph path (its VJP: a scatter-add).
"""
import math

import numpy as np

from ..._batching import batching_rule
from ...autograd import versions as _versions
from ...ops import pooling as _pool
from ...ops._util import as_input
from ...ops.index import take_along_axis
from ...ops.shape import reshape, swapaxes
from ...tensor import Tensor, _make
from ._common import _own

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "channel_shuffle", "native_channel_shuffle"]


def _ints(v, nd, what, where):
    if isinstance(v, (tuple, list)):
        if len(v) == 1 and nd > 1:
            v = tuple(v) * nd
        if len(v) != nd or not all(isinstance(a, (int, np.integer)) for a in v):
            raise ValueError(f"{where}: {what} must be an int or a tuple of {nd} ints, got {v!r}")
        return tuple(int(a) for a in v)
    if not isinstance(v, (int, np.integer)):
        raise TypeError(f"{where}: {what} must be an int or a tuple of {nd} ints, got {v!r}")
    return (int(v),) * nd


def _unpool_output_size(where, in_sizes, K, s, p, output_size):
    """PyTorch's ``_unpool_output_size``: ``(in - 1) * stride + kernel - 2 * padding`` per axis, or ``output_size``
    (its last ``nd`` entries) when it lies strictly within one stride of that default."""
    nd = len(K)
    default = [(n - 1) * si + k - 2 * pi for n, k, si, pi in zip(in_sizes, K, s, p)]
    if output_size is None:
        out = default
    else:
        size = [int(o) for o in (output_size if isinstance(output_size, (tuple, list)) else (output_size,))]
        if len(size) == nd + 2:
            size = size[2:]
        if len(size) != nd:
            raise ValueError(f"{where}: output_size should be a sequence containing {nd} or {nd + 2} elements, but "
                             f"it has a length of '{len(size)}'")
        for d in range(nd):
            lo, hi = default[d] - s[d], default[d] + s[d]
            if not lo < size[d] < hi:
                raise ValueError(f'{where}: invalid output_size "{tuple(size)}" (dim {d} must be between '
                                 f'{lo} and {hi})')
        out = size
    if any(o < 0 for o in out):
        raise ValueError(f"{where}: output_size must contain non-negative spatial dimensions, got {tuple(out)}")
    return tuple(out)


def _gather(g, idx):
    if isinstance(g, Tensor):
        return take_along_axis(g, idx, 2)
    return np.take_along_axis(g, idx, 2)


@batching_rule("unpool_scatter")
def _scatter(x, idx, P):
    """``out[n, c, idx[n, c, m]] = x[n, c, m]`` into a zero (N, C, P) plane; differentiable in ``x``."""
    xd = x.data if isinstance(x, Tensor) else np.asarray(x)
    out = np.zeros(xd.shape[:2] + (P,), dtype=xd.dtype)
    np.put_along_axis(out, idx, xd, axis=2)
    if not isinstance(x, Tensor):
        return out
    return _make(out, "max_unpool", (x,), (xd,), (lambda g, y, x: _gather(g, idx),),
                 (lambda t, y, x: _scatter(t, idx, P),))


_versions.reads("max_unpool", "")   # the VJP reads only the indices (kept by the closure)


@batching_rule("merge_max_unpool")   # the vmap batch merged into N (input and indices)
def _max_unpool_nd(nd, input, indices, kernel_size, stride, padding, output_size):
    where = f"max_unpool{nd}d"
    x = as_input(input, where)
    if x.ndim not in (nd + 1, nd + 2):
        axes = ("L", "H, W", "D, H, W")[nd - 1]
        raise RuntimeError(f"{where}: expected a {nd + 2}-D (N, C, {axes}) or {nd + 1}-D (C, {axes}) input, "
                         f"got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating input, got dtype {x.dtype}")
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype != np.int64:
        raise RuntimeError(f"{where}: elements in indices should be type int64 but got: {idx.dtype}")
    if idx.shape != x.shape:
        raise RuntimeError(f"{where}: Expected shape of indices to be same as that of the input tensor "
                         f"({x.shape}) but got indices tensor with shape: {idx.shape}")
    K = _ints(kernel_size, nd, "kernel_size", where)
    s = K if stride is None else _ints(stride, nd, "stride", where)
    p = _ints(padding, nd, "padding", where)
    out = _unpool_output_size(where, x.shape[-nd:], K, s, p, output_size)
    unbatched = x.ndim == nd + 1
    lead = ((1,) if unbatched else ()) + tuple(x.shape[:-nd])
    P = math.prod(out)
    flat_idx = idx.reshape(lead + (-1,))
    if flat_idx.size and (flat_idx.min() < 0 or flat_idx.max() >= P):
        bad = flat_idx.min() if flat_idx.min() < 0 else flat_idx.max()
        raise RuntimeError(f"{where}: Found an invalid max index: {bad} (output volumes are of size "
                         f"{'x'.join(map(str, out))})")
    y = _scatter(reshape(x, lead + (-1,)), flat_idx, P)
    return reshape(y, tuple(x.shape[:-nd]) + out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool1d``: ``input`` (N, C, L) or (C, L) written at ``indices`` (the flat
    per-plane indices ``max_pool1d(..., return_indices=True)`` gives) into zeros of length
    ``(L - 1) * stride + kernel_size - 2 * padding`` (or ``output_size``), as ``torch.nn.functional.max_unpool1d``.
    The gradient of ``input`` is the output's gradient gathered at ``indices``."""
    return _max_unpool_nd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d`` over (N, C, H, W) or (C, H, W), as
    ``torch.nn.functional.max_unpool2d`` (see ``max_unpool1d``)."""
    return _max_unpool_nd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d`` over (N, C, D, H, W) or (C, D, H, W), as
    ``torch.nn.functional.max_unpool3d`` (see ``max_unpool1d``)."""
    return _max_unpool_nd(3, input, indices, kernel_size, stride, padding, output_size)


# ------------------------------------------------------------------------------------- the *_with_indices aliases
def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool1d`` returning ``(output, indices)`` whatever ``return_indices`` says, as torch's alias."""
    return _pool.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool2d`` returning ``(output, indices)`` whatever ``return_indices`` says, as torch's alias."""
    return _pool.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool3d`` returning ``(output, indices)`` whatever ``return_indices`` says, as torch's alias."""
    return _pool.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool1d`` returning ``(output, indices)``, as torch's alias."""
    return _pool.adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` returning ``(output, indices)``, as torch's alias."""
    return _pool.adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool3d`` returning ``(output, indices)``, as torch's alias."""
    return _pool.adaptive_max_pool3d(input, output_size, True)


# ------------------------------------------------------------------------------------------------ channel shuffle
def channel_shuffle(input, groups):
    """Rearrange the channels of (N, C, *) as (N, groups, C / groups, *) -> (N, C / groups, groups, *), as
    ``torch.nn.functional.channel_shuffle`` (ShuffleNet): a reshape, a transpose and a reshape."""
    x = as_input(input, "channel_shuffle")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"channel_shuffle: groups must be an int, got {groups!r}")
    if x.ndim <= 2:
        raise RuntimeError(f"channel_shuffle: expects input with > 2 dims (N, C, *), but got input of shape "
                           f"{x.shape}")
    if groups <= 0:
        raise RuntimeError(f"channel_shuffle: Number of groups to divide channels in must be positive. Value "
                           f"of groups:{groups}")
    N, C = x.shape[:2]
    if C % groups:
        raise RuntimeError(f"channel_shuffle: Number of channels must be divisible by groups. Got {C} "
                           f"channels and {groups} groups.")
    rest = tuple(x.shape[2:])
    y = swapaxes(reshape(x, (N, int(groups), C // groups) + rest), 1, 2)
    return _own(reshape(y, (N, C) + rest), x)


def native_channel_shuffle(input, groups):
    """``channel_shuffle`` (torch's native kernel of the same op)."""
    return channel_shuffle(input, groups)
