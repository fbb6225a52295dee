"""Pooling (N-d, channels first), exact against torch.nn.functional: max, average and adaptive (average and
max) pooling, on the batch-last layout and window helpers of ``ops/_conv_geometry.py``.

* max pooling takes the max over the kernel offsets with ``np.maximum``; which element of a window is its
  max (PyTorch's rule: the first max in row-major order; a NaN wins, the last one) is found only when
  needed. Windows that tile the input (2x2, stride 2) scatter the gradient with masks and never build that
  index; scatter and gather are each other's VJP. Average pooling is a window sum and its transpose,
  likewise.
"""
import math
import operator

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap
from .contract import einsum
from .index import take_along_axis
from .shape import reshape
from ._pool_nonfinite import adaptive_avg_gathered
from ._conv_geometry import (_NONE, _name, _alloc, _array, _batched, _gather_slices, _ints, _linear_pair, _padded,
                             _positive, _same_layout, _scatter_slices, _span, _unbatch)

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]


# ============================================================================ pooling geometry
def _pool_geom(where, nd, xd, kernel_size, stride, padding, dilation, ceil_mode):
    """(K, s, d, lo, out, L) for a pooling window, with PyTorch's checks and output size rule."""
    K = _positive(_ints(kernel_size, nd, "kernel_size", where), "kernel_size", where)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        s = K
    else:
        s = _positive(_ints(stride, nd, "stride", where), "stride", where)
    p = _positive(_ints(padding, nd, "padding", where), "padding", where, minimum=0)
    d = _positive(_ints(dilation, nd, "dilation", where), "dilation", where)
    if any(a > k // 2 for a, k in zip(p, K)):
        raise ValueError(f"{where}: padding {p} must be at most half of kernel_size {K}, as in PyTorch")
    L = xd.shape[2:]
    out = []
    for n, k, si, a, di in zip(L, K, s, p, d):
        num = n + 2 * a - di * (k - 1) - 1
        o = (num + (si - 1 if ceil_mode else 0)) // si + 1
        if ceil_mode and (o - 1) * si >= n + a:      # the last window must start inside the input or left pad
            o -= 1
        out.append(o)
    out = tuple(out)
    if any(o < 1 for o in out):
        raise ValueError(f"{where}: input of shape {xd.shape} is too small for kernel_size {K} "
                         f"(stride {s}, padding {p}, dilation {d}): the output size would be {out}")
    return K, s, d, p, out, L


# ============================================================================ max pooling
def _max_scan(candidates, has_nan):
    """Running max over ``candidates`` (equal-shape arrays) with PyTorch's rule: a later value replaces the
    max only if it is strictly greater, or NaN. Returns (max, index of the chosen candidate)."""
    m = np.array(candidates[0], copy=True)                      # (these keep the candidates' memory order)
    idx = np.zeros_like(m, dtype=np.uint8 if len(candidates) < 256 else np.int32)
    upd = np.empty_like(m, dtype=bool)
    for i in range(1, len(candidates)):
        v = candidates[i]
        np.greater(v, m, out=upd)
        if has_nan:
            upd |= np.isnan(v)
        np.maximum(m, v, out=m)               # the value: NaN wins, as in PyTorch (masked copies are slow)
        idx += upd * (i - idx)                # idx = where(upd, i, idx), in modular integer arithmetic
    return m, idx


class _Argmax:
    """Which element of each max-pool window is its max, as PyTorch chooses it (the first maximum in the
    window's row-major order, or the last NaN): the window's kernel offset, an integer array like the
    output. Found when first asked for, from the (padded) input ``xp`` and the max ``m``: the backward of a
    pool whose windows tile the input (2x2, stride 2) never asks (see :func:`_max_scatter_raw`)."""
    __slots__ = ("xp", "m", "idx")

    def __init__(self, xp, m, idx=None):
        self.xp, self.m, self.idx = xp, m, idx

    def views(self, geom):
        K, s, d, lo, out, L = geom
        return [self.xp[(Ellipsis,) + sl] for sl in _gather_slices(K, out, s, d)]

    def index(self, geom):
        if self.idx is None:
            views = self.views(geom)
            idx = np.zeros_like(self.m, dtype=np.uint8 if len(views) < 256 else np.int32)
            eq = np.empty_like(self.m, dtype=bool)
            for i in range(len(views) - 1, -1, -1):    # the last write wins: the first offset holding the max
                np.equal(views[i], self.m, out=eq)
                np.copyto(idx, idx.dtype.type(i), where=eq)
            self.idx = idx
        return self.idx


def _max_pool_raw(xd, geom):
    """(the max of each window, its :class:`_Argmax`)."""
    K, s, d, lo, out, L = geom
    xp = _padded(xd, lo, _span(out, K, s, d), -np.inf)
    views = [xp[(Ellipsis,) + sl] for sl in _gather_slices(K, out, s, d)]
    m = np.maximum(views[0], views[1]) if len(views) > 1 else np.array(views[0], copy=True)
    for v in views[2:]:
        np.maximum(m, v, out=m)               # NaN wins, as in PyTorch
    idx = None
    mmin = m.min() if m.size else 0.0         # NaN if a window holds a NaN, -inf if a window is all -inf
    if np.isnan(mmin) or np.isneginf(mmin):   # rare: the offsets by a scan with PyTorch's rules
        _, idx = _max_scan(views, np.isnan(mmin))
        neg = np.isneginf(m)                  # a window of -inf: PyTorch keeps its first element in the input
        if neg.any():
            np.copyto(idx, np.broadcast_to(_first_valid(geom), idx.shape), where=neg, casting="unsafe")
    return m, _Argmax(xp, m, idx)


def _first_valid(geom):
    """Per window, the flat kernel offset of its first element inside the input."""
    K, s, d, lo, out, L = geom
    flat = 0
    for i, (k, o, si, di, a) in enumerate(zip(K, out, s, d, lo)):
        start = np.arange(o) * si - a
        first = np.clip(np.where(start < 0, -(start // di), 0), 0, k - 1)
        shape = [1] * len(K)
        shape[i] = o
        flat = flat * k + first.reshape(shape)
    return flat


def _indices(idx, geom):
    """Flat indices into each channel of the input (PyTorch's return_indices) from kernel offsets."""
    K, s, d, lo, out, L = geom
    nd = len(K)
    flat = np.zeros(idx.shape, dtype=np.int64)
    rem = idx.astype(np.int64)
    strides_k = [math.prod(K[i + 1:]) for i in range(nd)]
    for i in range(nd):
        k_i = rem // strides_k[i]
        rem = rem - k_i * strides_k[i]
        shape = [1] * nd
        shape[i] = out[i]
        pos = (np.arange(out[i]) * s[i] - lo[i]).reshape(shape) + k_i * d[i]
        flat = flat * L[i] + pos
    return flat


def _max_scatter_raw(gd, am, geom):
    """The max pool's input gradient: each window's gradient added at its chosen element (``am``, an
    :class:`_Argmax`). Laid out as the pool's input."""
    K, s, d, lo, out, L = geom
    gd = _same_layout(gd, am.m)
    finite = np.isfinite(gd.sum())           # g * mask is exact (and fast) unless g holds inf or NaN

    def pick(g, hit, out=None):
        if finite:
            return np.multiply(g, hit, out=out)
        if out is None:
            return np.where(hit, g, 0)
        np.copyto(out, np.where(hit, g, 0))
    shape = gd.shape[:2] + tuple(L)
    if all(si == k and di == 1 and a == 0 and o * k == n for si, k, di, a, o, n in zip(s, K, d, lo, out, L)):
        # the windows tile the input exactly (e.g. 2x2, stride 2, even sizes): each element is written once
        buf = _alloc(am.m, shape, gd.dtype)
        slices = [(Ellipsis,) + sl for sl in _gather_slices(K, out, s, d)]
        if am.idx is not None or len(slices) == 1:
            idx = am.index(geom)
            for i, sl in enumerate(slices):
                pick(gd, idx == i, out=buf[sl])
            return buf
        # no NaN and no all -inf window (else the forward found idx): an element gets its window's
        # gradient if it equals the max and no earlier one in the window did; the last one if none did
        taken = None
        for i, (v, sl) in enumerate(zip(am.views(geom), slices)):
            if i == len(slices) - 1:
                hit = np.logical_not(taken, out=taken)
            else:
                hit = np.equal(v, am.m)
                if taken is None:
                    taken = hit
                else:
                    np.greater(hit, taken, out=hit)          # hit and not taken
                    np.logical_or(taken, hit, out=taken)
            pick(gd, hit, out=buf[sl])
        return buf
    idx = am.index(geom)
    buf = _alloc(am.m, shape, gd.dtype, 0)
    for i, sl in enumerate(_scatter_slices(K, L, out, s, d, lo)):
        if sl is not None:
            dst, src = sl
            src = (Ellipsis,) + src
            buf[(Ellipsis,) + dst] += pick(gd[src], idx[src] == i)
    return buf


def _max_gather_raw(hd, am, geom):
    """The transpose of the scatter: each window reads ``h`` at its chosen element."""
    K, s, d, lo, out, L = geom
    idx = am.index(geom)
    hp = _padded(hd, lo, _span(out, K, s, d))
    res = _alloc(am.m, hd.shape[:2] + tuple(out), hd.dtype, 0)
    for i, sl in enumerate(_gather_slices(K, out, s, d)):
        np.copyto(res, hp[(Ellipsis,) + sl], where=(idx == i))
    return res


_max_scatter_any, _max_gather_any = _linear_pair("max_pool_backward", _max_scatter_raw,
                                                "max_pool_gather", _max_gather_raw)


# What average pooling's VJP reads: no value (only the divisors): nothing is saved, and a write into its input or
# output is allowed, as PyTorch's (autograd/versions.py). Max pooling's VJP reads both: its maxima's positions
# are found lazily (_Argmax) by comparing the (padded) input with the output, so it saves the input and, declaring
# nothing, is checked on both.
for _nd in (1, 2, 3):
    _versions.reads(f"avg_pool{_nd}d", "")


def _pool_input(kind, nd, input):
    """A pool's name for messages, its input, the input's batched data, and whether it came unbatched."""
    where = _name(kind, nd)
    xd = _array(input, where)
    x, xd, unbatched = _batched(input, xd, nd, where)
    if xd.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating input, got dtype {xd.dtype}")
    return where, x, xd, unbatched


def _max_pool_nd(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    if _tm._VMAP:
        r = _tm._vmap_call("fold", lambda t: _max_pool_nd(nd, t, kernel_size, stride, padding, dilation,
                                                          ceil_mode, return_indices), (input,), dict(nd=nd))
        if r is not NotImplemented:
            return r
    where, x, xd, unbatched = _pool_input("max_pool", nd, input)
    geom = _pool_geom(where, nd, xd, kernel_size, stride, padding, dilation, ceil_mode)
    m, am = _max_pool_raw(xd, geom)
    out = _make(m, where, (x,), (xd,), (lambda g, y, x: _max_scatter_any(g, am, geom),),
                (lambda t, y, x: _max_gather_any(t, am, geom),))  # the tangent at each window's maximum
    out = _unbatch(out, unbatched)
    if return_indices:
        ind = _indices(am.index(geom), geom)
        return out, _wrap(ind[0] if unbatched else ind)
    return out


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L), as ``torch.nn.functional.max_pool1d``."""
    return _max_pool_nd(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W), as ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size``; the input is padded with -inf (``padding`` at most half the
    kernel); ``ceil_mode`` rounds the output size up (the last window must start inside the input or the
    left padding). Each window's gradient goes to one element: the first maximum in row-major order (or
    the last NaN), as PyTorch. ``return_indices=True`` also returns those elements' flat indices (int64)."""
    return _max_pool_nd(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.functional.max_pool3d``."""
    return _max_pool_nd(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ============================================================================ average pooling
def _window_sum_raw(xd, geom, div):
    K, s, d, lo, out, L = geom
    xp = _padded(xd, lo, _span(out, K, s, d))
    slices = _gather_slices(K, out, s, d)
    half = xd.dtype == np.float16   # (float16 in float32, as torch: a float16 divisor past 65504 is inf: 0)
    acc = np.array(xp[(Ellipsis,) + slices[0]], dtype=np.float32 if half else None, copy=True)
    for sl in slices[1:]:
        acc += xp[(Ellipsis,) + sl]
    acc /= div if np.ndim(div) == 0 else div.astype(acc.dtype)
    return acc.astype(np.float16) if half else acc


def _window_sum_t_raw(gd, geom, div):
    K, s, d, lo, out, L = geom
    half = gd.dtype == np.float16   # (in float32, as the forward: g / 90000 was g / inf = 0)
    gd = (gd.astype(np.float32) if half else gd) / (div if np.ndim(div) == 0 else div.astype(np.float32 if half
                                                                                              else gd.dtype))
    buf = np.zeros(gd.shape[:2] + tuple(L), dtype=gd.dtype)
    for sl in _scatter_slices(K, L, out, s, d, lo):
        if sl is not None:
            dst, src = sl
            buf[(Ellipsis,) + dst] += gd[(Ellipsis,) + src]
    return buf.astype(np.float16) if half else buf


_window_sum_any, _window_sum_t_any = _linear_pair("avg_pool", _window_sum_raw,
                                                  "avg_pool_backward", _window_sum_t_raw)


def _avg_divisor(geom, count_include_pad, divisor_override):
    """PyTorch's divisor per window: the window clipped to the padded input (count_include_pad) or to the
    input; a scalar when it is the same for every window."""
    if divisor_override is not None:
        div = operator.index(divisor_override)
        if div == 0:
            raise ValueError("avg_pool: divisor_override must not be zero")
        return div
    K, s, d, lo, out, L = geom
    div = 1
    for i, (k, o, si, a, n) in enumerate(zip(K, out, s, lo, L)):
        start = np.arange(o) * si - a
        end = np.minimum(start + k, n + a)
        size = (end - start) if count_include_pad else (np.minimum(end, n) - np.maximum(start, 0))
        shape = [1] * len(K)
        shape[i] = o
        div = div * size.reshape(shape)
    if np.all(div == div.flat[0]):
        return int(div.flat[0])
    return div


def _avg_pool_nd(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if _tm._VMAP:
        r = _tm._vmap_call("fold", lambda t: _avg_pool_nd(nd, t, kernel_size, stride, padding, ceil_mode,
                                                          count_include_pad, divisor_override), (input,), dict(nd=nd))
        if r is not NotImplemented:
            return r
    where, x, xd, unbatched = _pool_input("avg_pool", nd, input)
    geom = _pool_geom(where, nd, xd, kernel_size, stride, padding, 1, ceil_mode)
    if nd == 3 and any(n < k for n, k in zip(geom[5], geom[0])):  # avg_pool3d alone ignores the padding here
        raise ValueError(f"{where}: input of shape {xd.shape} is smaller than kernel_size {geom[0]}, as PyTorch")
    div = _avg_divisor(geom, count_include_pad, divisor_override)
    if isinstance(x, Tensor):
        out = _make(_window_sum_raw(xd, geom, div), where, (x,), _NONE,
                    (lambda g, y, x: _window_sum_t_any(g, geom, div),),
                    (lambda t, y, x: _window_sum_any(t, geom, div),))  # linear
    else:
        out = _wrap(_window_sum_raw(xd, geom, div))
    return _unbatch(out, unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L), as ``torch.nn.functional.avg_pool1d``."""
    return _avg_pool_nd(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W), as ``torch.nn.functional.avg_pool2d``.

    ``stride`` defaults to ``kernel_size``; zero padding is counted in the divisor unless
    ``count_include_pad=False``; with ``ceil_mode`` the windows past the padded input are clipped;
    ``divisor_override`` replaces the divisor."""
    return _avg_pool_nd(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.functional.avg_pool3d``."""
    return _avg_pool_nd(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


# ============================================================================ adaptive pooling
def _adaptive_sizes(where, nd, xd, output_size):
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != nd:
            raise ValueError(f"{where}: output_size must be an int or a sequence of {nd}, got {output_size!r}")
        sizes = tuple(n if o is None else operator.index(o) for o, n in zip(output_size, xd.shape[2:]))
    else:
        sizes = _ints(output_size, nd, "output_size", where)
    if any(o < 1 for o in sizes):
        raise ValueError(f"{where}: output_size must be positive, got {sizes}")
    if any(n < 1 for n in xd.shape[2:]):
        raise ValueError(f"{where}: input of shape {xd.shape} has an empty spatial dimension")
    return sizes


def _adaptive_bounds(n, o):
    """PyTorch's adaptive windows: [floor(i*n/o), ceil((i+1)*n/o)) for output i."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_avg_nd(nd, input, output_size):
    if _tm._VMAP:
        r = _tm._vmap_call("fold", lambda t: _adaptive_avg_nd(nd, t, output_size), (input,), dict(nd=nd))
        if r is not NotImplemented:
            return r
    where, x, xd, unbatched = _pool_input("adaptive_avg_pool", nd, input)
    sizes, L = _adaptive_sizes(where, nd, xd, output_size), xd.shape[2:]
    if all(n % o == 0 for n, o in zip(L, sizes)):          # equal windows: a plain average pool
        K = tuple(n // o for n, o in zip(L, sizes))
        geom = (K, K, (1,) * nd, (0,) * nd, tuple(sizes), L)
        div = math.prod(K)
        out = _window_sum_any(x if isinstance(x, Tensor) else xd, geom, div)
        if not isinstance(out, Tensor):
            out = _wrap(out)
        return _unbatch(out, unbatched)
    if not np.isfinite(xd).all():   # (a matrix's zero weight times an inf or NaN would reach every cell)
        return _unbatch(adaptive_avg_gathered(x if isinstance(x, Tensor) else _wrap(xd), L, sizes), unbatched)
    # unequal windows: average along each axis with an (out, in) averaging matrix, one contraction
    letters = "dhw"[3 - nd:]
    mats, specs = [], []
    for i, (n, o) in enumerate(zip(L, sizes)):
        start, end = _adaptive_bounds(n, o)
        pos = np.arange(n)
        inside = (pos >= start[:, None]) & (pos < end[:, None])
        mats.append((inside / (end - start)[:, None]).astype(xd.dtype))
        specs.append(letters[i].upper() + letters[i])
    spec = "nc" + letters + "," + ",".join(specs) + "->nc" + letters.upper()
    out = einsum(spec, x if isinstance(x, Tensor) else xd, *mats)
    return _unbatch(out, unbatched)


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool1d``."""
    return _adaptive_avg_nd(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``: output cell ``i`` averages
    input rows ``floor(i*H/oh)`` to ``ceil((i+1)*H/oh)``. ``output_size`` is an int or a pair (None keeps
    that input size)."""
    return _adaptive_avg_nd(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """3-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool3d``."""
    return _adaptive_avg_nd(3, input, output_size)


def _adaptive_max_nd(nd, input, output_size, return_indices):
    if _tm._VMAP:
        r = _tm._vmap_call("fold", lambda t: _adaptive_max_nd(nd, t, output_size, return_indices), (input,), dict(nd=nd))
        if r is not NotImplemented:
            return r
    where, x, xd, unbatched = _pool_input("adaptive_max_pool", nd, input)
    sizes, L = _adaptive_sizes(where, nd, xd, output_size), xd.shape[2:]
    # per axis an (out, kmax) table of input positions; short windows repeat their last position
    tables = []
    for n, o in zip(L, sizes):
        start, end = _adaptive_bounds(n, o)
        kmax = int((end - start).max())
        tables.append(np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1))
    key = []
    for i, t in enumerate(tables):
        shape = [1] * (2 * nd)
        shape[2 * i], shape[2 * i + 1] = t.shape
        key.append(t.reshape(shape))
    vals = xd[(slice(None), slice(None)) + tuple(key)]       # (N, C, o1, k1, o2, k2, ...)
    perm = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))
    vals = vals.transpose(perm).reshape(xd.shape[:2] + tuple(sizes) + (math.prod(t.shape[1] for t in tables),))
    xmin = xd.min() if xd.size else 0.0
    m, idx = _max_scan([vals[..., j] for j in range(vals.shape[-1])], np.isnan(xmin))
    # flat input index of the chosen element
    kshape = tuple(t.shape[1] for t in tables)
    sub = np.unravel_index(idx.astype(np.int64), kshape)
    flat = np.zeros(idx.shape, dtype=np.int64)
    for i, (t, k_i) in enumerate(zip(tables, sub)):
        shape = [1] * nd
        shape[i] = sizes[i]
        rows = np.arange(sizes[i]).reshape(shape)
        flat = flat * L[i] + t[rows, k_i]
    N, C = xd.shape[:2]
    xin = x if isinstance(x, Tensor) else xd
    out = reshape(take_along_axis(reshape(xin, (N, C, math.prod(L))), flat.reshape(N, C, math.prod(sizes)), 2),
                  (N, C) + tuple(sizes))
    out = _unbatch(out, unbatched)
    if return_indices:
        return out, _wrap(flat[0] if unbatched else flat)
    return out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool1d``."""
    return _adaptive_max_nd(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d`` (windows as in
    ``adaptive_avg_pool2d``; the gradient goes to the first maximum of each window)."""
    return _adaptive_max_nd(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool3d``."""
    return _adaptive_max_nd(3, input, output_size, return_indices)
