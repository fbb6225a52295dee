"""Convolution and pooling (N-d, channels first: NCL / NCHW / NCDHW), exact against torch.nn.functional.

Names, argument order and defaults are PyTorch's (``conv2d(input, weight, bias=None, stride=1, padding=0,
dilation=1, groups=1)``, pool stride defaulting to the kernel size, ...). Every function takes a batched
input or an unbatched one (no leading batch axis), as PyTorch does.

How it is computed
------------------
* layout: the kernels work on batch-last arrays (C, *L, N), as the benchmark's hand-written NumPy floor
  does, and a convolution returns its (N, C, *L) result as a transposed view of one (the memory order
  differs from C order, the values and shape do not; see "memory layout" below). The ops that follow
  keep that order, so consecutive layers pass arrays without transposing them.
* convolution: the zero-padded batch-last input is viewed as its windows with ``as_strided`` (no copy),
  the view is reshaped into one column matrix (C/G * prod(K), prod(out) * N) (the one copy, of long
  rows, freed when the op returns) and multiplied by the weight in ONE ``matmul`` per group for the
  whole batch; when that matrix is larger than a cache-sized block, it is built and multiplied a few
  output rows at a time instead (ops/conv_blocked.py). Only the op's inputs are kept for backward; the
  weight gradient rebuilds the columns.
* three ops close the family under differentiation: ``conv`` y = B(x, w), its input gradient
  ``conv_transpose`` B_x^T(g, w) and its weight gradient B_w^T(x, g). Each is bilinear and each one's VJPs
  are the other two, so a VJP calls these functions again: on the plain backward path with NumPy arrays
  (raw NumPy), with ``create_graph=True`` with Tensors (recorded ops), so conv has derivatives of any order.
* the transposed product (input gradient) is, for stride 1 and out channels <= in channels, itself a
  convolution (of g with the flipped kernel); otherwise one ``matmul`` followed by a col2im that loops
  over the kernel offsets adding strided slices (no ``np.add.at``). The weight gradient is one ``matmul``
  of g's rows with the column matrix.
* depthwise convolutions (groups == in channels == out channels, stride 1) skip the GEMMs, whose per-group
  matrices would be one row: a sum over the kernel offsets (one einsum over a strided view of every offset's
  slice), computed on the padded input's grid so that each offset reads one contiguous slice per channel;
  the weight gradient is one batched dot
  per offset, the input gradient the same convolution with the flipped kernel (see "depthwise kernels").
* max pooling takes the max over the kernel offsets with ``np.maximum``; which element of a window is its
  max (PyTorch's rule: the first max in row-major order; a NaN wins, the last one) is found only when
  needed. Windows that tile the input (2x2, stride 2) scatter the gradient with masks and never build that
  index; scatter and gather are each other's VJP. Average pooling is a window sum and its transpose,
  likewise.
"""
import itertools
import math
import operator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap
from . import conv_blocked as _blocked
from .index import take_along_axis
from ._util import batching_rule
from .contract import einsum
from .shape import expand_dims, reshape

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]


# ============================================================================ argument checking
def _ints(value, nd, name, where):
    """``value`` (an int, or a sequence of ``nd`` ints) as a tuple of ``nd`` ints."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1 and nd != 1:
            value = tuple(value) * nd
        if len(value) != nd:
            raise ValueError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}")
        try:
            return tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}") from None
    if isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}")
    try:
        return (operator.index(value),) * nd
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}") from None


def _positive(values, name, where, minimum=1):
    if any(v < minimum for v in values):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{where}: {name} must be {what}, got {values}")
    return values


def _array(x, where):
    """The NumPy value of an argument (Tensor data or a constant)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (np.ndarray, np.generic, list, tuple, float, int)):
        return np.asarray(x)
    raise TypeError(f"{where}: expected a Tensor or an array, got {type(x).__name__}")


def _float_dtype(where, *arrays):
    dt = np.result_type(*arrays)
    if dt.kind != "f":
        raise TypeError(f"{where}: expected floating inputs, got dtypes {[str(a.dtype) for a in arrays]}")
    return dt


def _batched(x, xd, nd, where, what="input"):
    """``(x, xd, unbatched)`` with a batch axis added when the input has none (as PyTorch accepts)."""
    if xd.ndim == nd + 2:
        return x, xd, False
    if xd.ndim == nd + 1:
        return (expand_dims(x, 0) if isinstance(x, Tensor) else xd[None]), xd[None], True
    axes = ("L", "H, W", "D, H, W")[nd - 1]
    raise ValueError(f"{where}: expected a {nd + 2}-D (N, C, {axes}) or {nd + 1}-D (C, {axes}) {what}, "
                     f"got shape {xd.shape}")


def _unbatch(out, unbatched):
    if not unbatched:
        return out
    return reshape(out, out.shape[1:])


def _is_tensor(*xs):
    return any(isinstance(x, Tensor) for x in xs)


# ============================================================================ window geometry
def _linear_pair(name, raw, name_t, raw_t):
    """A linear map and its transpose, each the other's VJP: raw NumPy on arrays, a recorded op on
    Tensors (the create_graph path), so the pair is closed under differentiation to any order."""
    def apply(x, *args):
        if isinstance(x, Tensor):
            return _make(raw(x.data, *args), name, (x,), (x.data,), (lambda g, y, x: transpose(g, *args),),
                         (lambda t, y, x: apply(t, *args),))  # linear: the JVP is the map itself
        return raw(x, *args)

    def transpose(g, *args):
        if isinstance(g, Tensor):
            return _make(raw_t(g.data, *args), name_t, (g,), (g.data,), (lambda h, y, g: apply(h, *args),),
                         (lambda t, y, g: transpose(t, *args),))
        return raw_t(g, *args)
    return apply, transpose


def _span(out, K, s, d):
    """Extent of the input that ``out`` windows of size ``K`` (stride ``s``, dilation ``d``) cover."""
    return tuple((o - 1) * si + di * (k - 1) + 1 for o, k, si, di in zip(out, K, s, d))


def _padded(xd, lo, span, fill=0.0):
    """``xd`` (N, C, *L) placed at offset ``lo`` in a ``fill`` buffer of spatial size ``span`` (cropped
    where it reaches past it), in ``xd``'s memory order (batch-last or C order). Returns ``xd`` itself
    when no padding is needed."""
    L = xd.shape[2:]
    if not any(lo) and all(sp <= n for sp, n in zip(span, L)):
        return xd
    if _is_batch_last(xd):
        return _from_batch_last(_batch_last(xd, lo, span, fill))
    buf = np.full(xd.shape[:2] + tuple(span), fill, dtype=xd.dtype)
    dst, src = _placement(lo, L, span)
    buf[(Ellipsis,) + dst] = xd[(Ellipsis,) + src]
    return buf


def _placement(lo, L, span):
    """(destination slices in the buffer, source slices in the input) of an input of size ``L`` put at
    offset ``lo`` in a buffer of size ``span``."""
    dst = tuple(slice(a, max(a, min(a + n, sp))) for a, n, sp in zip(lo, L, span))
    src = tuple(slice(0, max(0, min(n, sp - a))) for a, n, sp in zip(lo, L, span))
    return dst, src


# ============================================================================ memory layout
# The convolution kernels work in the batch-last layout (C, *L, N), as the hand-written NumPy floor of
# the benchmark does (bench/workloads/_common.py): im2col is then one strided copy whose rows are
# out_w * N contiguous elements, the whole batch is ONE GEMM per group, and col2im adds long rows.
# A convolution returns its (N, C, *L) result as a transposed view of that batch-last array (the same
# values and shape, another memory order, as PyTorch's channels_last). NumPy's ufuncs keep the memory
# order of their inputs, so the ReLU, batch norm, pooling and the gradients that follow stay batch-last
# and the next convolution (or this one's backward) finds its operand already in place: no transposes
# between layers, only where an NCHW array comes in (the network's input, a reshape).

def _is_batch_last(a):
    """Whether ``a`` (N, C, *L) is laid out as a C-contiguous (C, *L, N) array (and N > 1)."""
    return a.shape[0] > 1 and a.strides[0] == a.itemsize and a.transpose(_to_last(a.ndim)).flags.c_contiguous


def _to_last(ndim):
    return tuple(range(1, ndim)) + (0,)


def _from_batch_last(t):
    """The (N, C, *L) view of a batch-last array (C, *L, N)."""
    return t.transpose((t.ndim - 1,) + tuple(range(t.ndim - 1)))


def _batch_last(a, lo=None, span=None, fill=0.0):
    """``a`` (N, C, *L) as a C-contiguous batch-last array (C, *L, N): a view if ``a`` is laid out so,
    else one copy. With ``lo``/``span``: placed at offset ``lo`` in a ``fill`` buffer (C, *span, N),
    cropped where it reaches past it (without padding, the spatial size may exceed ``span``)."""
    t = a.transpose(_to_last(a.ndim))
    L = a.shape[2:]
    if lo is not None and (any(lo) or any(sp > n for sp, n in zip(span, L))):
        buf = np.full(t.shape[:1] + tuple(span) + t.shape[-1:], fill, dtype=a.dtype)
        dst, src = _placement(lo, L, span)
        c = (slice(None),)
        buf[c + dst] = _gentle(a, t)[c + src]
        return buf
    if t.flags.c_contiguous:
        return t
    return np.ascontiguousarray(_gentle(a, t))


def _gentle(a, t):
    """``t``, the batch-last view of ``a``, or of a copy of ``a`` whose images are 16 elements apart: a copy
    to batch-last order reads one element per image in its inner loop, and when images are a multiple of
    1 KiB apart (8x8 maps of 32 float32 channels, say) those reads fall into a few cache sets and the
    copy runs about 6 times slower than through the extra contiguous copy."""
    n = a.shape[0]
    if n < 8 or not a.flags.c_contiguous or a.strides[0] % 1024:
        return t
    m = a.size // n
    tmp = np.empty((n, m + 16), dtype=a.dtype)
    tmp[:, :m] = a.reshape(n, m)
    return tmp[:, :m].reshape(a.shape).transpose(_to_last(a.ndim))


def _same_layout(a, like):
    """``a`` in ``like``'s memory order (batch-last or C order), copied if needed: elementwise ops between
    arrays of different memory orders run several times slower than between arrays of one."""
    if _is_batch_last(like):
        return a if _is_batch_last(a) else _from_batch_last(_batch_last(a))
    return np.ascontiguousarray(a)


def _alloc(like, shape, dtype, fill=None):
    """A new (N, C, *L) array of ``shape`` in ``like``'s memory order (batch-last or C order), filled with
    ``fill`` (uninitialised if None)."""
    if _is_batch_last(like):
        bl = shape[1:] + shape[:1]
        buf = np.empty(bl, dtype) if fill is None else np.full(bl, fill, dtype)
        return _from_batch_last(buf)
    return np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)


def _gather_slices(K, out, s, d):
    """For each kernel offset (row-major), the slices of the padded input it reads for every window."""
    return [tuple(slice(k * di, k * di + (o - 1) * si + 1, si) for k, o, si, di in zip(kk, out, s, d))
            for kk in itertools.product(*map(range, K))]


def _scatter_slices(K, L, out, s, d, lo):
    """For each kernel offset (row-major): (slices into the unpadded input of size L, slices into the
    output grid) of the windows whose element at that offset falls inside the input; None if none do."""
    result = []
    for kk in itertools.product(*map(range, K)):
        dst, src = [], []
        for k, n, o, si, di, a in zip(kk, L, out, s, d, lo):
            off = k * di - a                       # input position of window 0's element at this offset
            first = max(0, -(off // si) if off < 0 else 0)
            last = min(o - 1, (n - 1 - off) // si)
            if first > last:
                break
            dst.append(slice(first * si + off, last * si + off + 1, si))
            src.append(slice(first, last + 1))
        else:
            result.append((tuple(dst), tuple(src)))
            continue
        result.append(None)
    return result


def _conv_out(L, K, s, d, lo, hi):
    return tuple((n + a + b - di * (k - 1) - 1) // si + 1 for n, k, si, di, a, b in zip(L, K, s, d, lo, hi))


# ============================================================================ raw convolution kernels
# geom = (stride, dilation, pad_lo, pad_hi, groups); pad_hi may be negative (input cropped on the right).
# All three work in the batch-last layout (see "memory layout"): columns are indexed (*out, n), so one
# GEMM per group covers the whole batch.

def _windows(xd, K, out, geom):
    """The windows of x (N, C, *L) as a strided view (G, C/G, *K, *out, N) of its zero-padded batch-last
    copy (no copy at all for unpadded inputs already batch-last)."""
    s, d, lo, hi, G = geom
    xp = _batch_last(xd, lo, _span(out, K, s, d))          # (C, *span, N)
    C, N = xp.shape[0], xp.shape[-1]
    sC, sS, sN = xp.strides[0], xp.strides[1:-1], xp.strides[-1]
    return as_strided(xp, (G, C // G) + tuple(K) + tuple(out) + (N,),
                      (C // G * sC, sC) + tuple(a * di for a, di in zip(sS, d))
                      + tuple(a * si for a, si in zip(sS, s)) + (sN,), writeable=False)


def _im2col(xd, K, out, geom, win=None):
    """The column matrix of x (N, C, *L): (G, C/G * prod(K), prod(out) * N), rows (c, *k), columns
    (*out, n). One strided copy of the zero-padded batch-last input (a view for unpadded 1x1 kernels)."""
    if win is None:
        win = _windows(xd, K, out, geom)
    G = win.shape[0]
    return win.reshape(G, math.prod(win.shape[1:2 + len(K)]), -1)


def _cols_copied(win):
    """Whether the column matrix of the window view ``win`` needs a copy (it is no view of the input):
    only then does the cache-blocked path (conv_blocked) pay off."""
    try:
        _blocked._view(win, (win.shape[0], -1))
    except AttributeError:
        return True
    return False


def _conv_raw(xd, wd, bd, geom):
    """y = B(x, w) (+ b): x (N, C, *L), w (O, C/G, *K) -> (N, O, *out), a view of an (O, *out, N) array."""
    s, d, lo, hi, G = geom
    if _depthwise(wd, G, s):
        return _dw_conv_raw(xd, wd, bd, geom)
    N = xd.shape[0]
    O, Cg = wd.shape[:2]
    K = wd.shape[2:]
    out = _conv_out(xd.shape[2:], K, s, d, lo, hi)
    win = _windows(xd, K, out, geom)
    w3 = wd.reshape(G, O // G, Cg * math.prod(K))
    y = _blocked.conv_gemm(win, w3, np.result_type(xd, wd)) if _cols_copied(win) else None
    if y is None:
        y = np.matmul(w3, _im2col(xd, K, out, geom, win))     # (G, O/G, P*N): one GEMM per group
    y = y.reshape((O,) + out + (N,))
    if bd is not None:
        y += bd.reshape((O,) + (1,) * (len(K) + 1))
    return _from_batch_last(y)


def _conv_transpose_raw(gd, wd, bd, geom, L):
    """B_x^T(g, w) (+ b): the adjoint of conv in x. g (N, O, *out), w (O, C/G, *K) -> (N, C, *L), a view
    of a (C, *L, N) array.

    One GEMM per group gives every window's contribution (the column matrix's gradient), then col2im adds
    them into the input by looping over the kernel offsets: strided adds of whole (C, *out, N) blocks,
    whose rows are out_w * N contiguous elements."""
    s, d, lo, hi, G = geom
    if _dw_transposable(wd, geom):
        return _dw_conv_transpose_raw(gd, wd, bd, geom, L)
    N, O = gd.shape[:2]
    out = gd.shape[2:]
    Cg = wd.shape[1]
    K = wd.shape[2:]
    C, Og = Cg * G, O // G
    full = tuple(di * (k - 1) for di, k in zip(d, K))
    if _transpose_by_conv(s, lo, full, Cg, Og):
        # stride 1: the adjoint is itself a convolution, of g zero-padded by dilation * (k - 1) - padding
        # with the kernel flipped and its in/out channels swapped (per group): one im2col copy of long
        # rows and one GEMM whose result is already dx, where col2im would add up nine GEMM outputs
        wf = wd.reshape((G, Og, Cg) + tuple(K)).swapaxes(1, 2)[(Ellipsis,) + (slice(None, None, -1),) * len(K)]
        gf = ((1,) * len(K), d, tuple(f - a for f, a in zip(full, lo)), tuple(f - b for f, b in zip(full, hi)), G)
        return _conv_raw(gd, wf.reshape((C, Og) + tuple(K)), bd, gf)
    gT = _batch_last(gd).reshape(G, Og, math.prod(out) * N)
    wT = wd.reshape(G, Og, Cg * math.prod(K)).transpose(0, 2, 1)             # (G, Cg*K, O/G)
    # (G, Cg*K, P*N): one GEMM per group (a broadcast product when each group has one output channel)
    dcols = wT * gT if Og == 1 else np.matmul(wT, gT)
    dcols = dcols.reshape((C,) + tuple(K) + tuple(out) + (N,))
    c, n = (slice(None),), (slice(None),)
    pieces = [(kk, sl) for kk, sl in zip(itertools.product(*map(range, K)), _scatter_slices(K, L, out, s, d, lo))
              if sl is not None]
    # an offset whose windows cover the whole input (the centre of a 'same' kernel) starts the sum as a copy
    whole = [i for i, (kk, (dst, src)) in enumerate(pieces)
             if all(sl.start == 0 and sl.stop == n_ and sl.step == 1 for sl, n_ in zip(dst, L))]
    if whole:
        kk, (dst, src) = pieces.pop(whole[0])
        buf = np.array(dcols[c + kk + src + n], order="C")
    else:
        buf = np.zeros((C,) + tuple(L) + (N,), dtype=dcols.dtype)
    for kk, (dst, src) in pieces:
        buf[c + dst + n] += dcols[c + kk + src + n]
    if bd is not None:
        buf += bd.reshape((C,) + (1,) * (len(K) + 1))
    return _from_batch_last(buf)


def _transpose_by_conv(s, lo, full, Cg, Og):
    """Whether conv_transpose runs as a convolution (stride 1, padding at most dilation * (k - 1)):
    measured faster when the column matrix it copies (out channels * kernel rows) is no larger than the
    one col2im would add up (in channels * kernel rows)."""
    return all(si == 1 for si in s) and all(f >= a for f, a in zip(full, lo)) and Og <= Cg


def _conv_weight_raw(xd, gd, geom, K):
    """B_w^T(x, g): the adjoint of conv in w. x (N, C, *L), g (N, O, *out) -> (O, C/G, *K): one GEMM per
    group of g's rows with x's column matrix, rebuilt here. Keeping the forward's instead was slower in
    whole runs (train benchmark, 3 runs each: 1.74-2.17 s kept vs 1.57-2.10 s rebuilt with bench/run.py
    --malloc-tuned, 2.90-3.23 vs 2.46-2.65 s with glibc's defaults, where the late frees of kept
    matrices made each step fault in ~11 MB of fresh pages; cnn: 9.6-10.2 vs 9.3-9.8 ms); a rebuilt
    matrix is in cache for the GEMM, and a kept one holds k*k times the input per layer until backward."""
    s, d, lo, hi, G = geom
    if xd.shape[1] == gd.shape[1] == G > 1 and all(si == 1 for si in s):   # depthwise (see _depthwise)
        return _dw_conv_weight_raw(xd, gd, geom, K)
    N, C = xd.shape[:2]
    O = gd.shape[1]
    out = gd.shape[2:]
    gT = _batch_last(gd).reshape(G, O // G, math.prod(out) * N)
    win = _windows(xd, K, out, geom)
    dw = _blocked.weight_gemm(win, gT.reshape(G, O // G, out[0], -1)) if _cols_copied(win) else None
    if dw is not None:
        return dw.reshape((O, C // G) + tuple(K))
    cols = _im2col(xd, K, out, geom, win)
    if cols.shape[1] >= gT.shape[1]:
        # the same product as (dw^T = cols @ g^T): OpenBLAS runs it faster when Cg*K >= O/G (64x32x8x8,
        # 3x3 -> 32 channels: 0.58 vs 0.92 ms) and slower otherwise (a first layer's 9 rows)
        dw = np.matmul(cols, gT.transpose(0, 2, 1)).transpose(0, 2, 1)
    else:
        dw = np.matmul(gT, cols.transpose(0, 2, 1))             # (G, O/G, Cg*K)
    return dw.reshape((O, C // G) + tuple(K))


# ============================================================================ depthwise kernels
# groups == in_channels == out_channels, stride 1: no GEMM, whose per-group matrices would be one row by
# k*k. Each map is a multiply-accumulate over the kernel offsets, computed on the input's grid (see
# _dw_grid) so that every offset reads ONE contiguous slice of each channel's row of the batch-last array:
# the forward adds w[:, k] * x[slice k]; the weight gradient is per offset one batched dot product of g
# with x[slice k]; the input gradient (the transposed accumulation) is the same forward applied to g with
# the flipped kernel. Measured on 64x32x14x14, 3x3, pad 1 (one thread, medians of 25): forward 1.0-1.3 vs
# 1.33-1.37 ms through the per-group GEMMs (0.57 ms since the forward's per-offset multiply and add became one
# einsum over the view of all offsets' slices, _dw_slices), input gradient 1.04-1.07 vs 2.7-6.4 ms (0.59 ms
# with the einsum), weight gradient
# 0.66-0.78 vs 1.6-1.7 ms. Strided or channel-multiplied depthwise convolutions stay on the GEMMs: done
# this way (strided views whose rows are N elements, a multiplier axis broadcast) they measured 1.5-2.5x
# slower.

def _depthwise(wd, G, s):
    """Whether (O, C/G, *K) ``wd`` with ``G`` groups and stride ``s`` takes the depthwise kernels."""
    return wd.shape[1] == 1 and wd.shape[0] == G > 1 and all(si == 1 for si in s)


def _dw_grid(K, d, out, span, N):
    """Stride 1: the windows of a C-contiguous (C, *span, N) array flattened per channel to (C, S). The
    output is computed on the input's grid (output position (*o, n) at flat index sum(o_j * st_j) + n, st
    the input's strides): kernel offset k then reads the contiguous slice [off_k, off_k + Lg) of each
    channel's row, at the cost of the grid positions past the output's extent (cropped afterwards).
    Returns (offsets, Lg, grid shape (out_0, *span[1:], N))."""
    st = [math.prod(span[j + 1:]) * N for j in range(len(span))]
    offs = [sum(k * di * s_ for k, di, s_ in zip(kk, d, st)) for kk in itertools.product(*map(range, K))]
    Lg = min(span[0] * st[0] - offs[-1], out[0] * st[0])   # the last offset's slice ends at the row's end
    return offs, Lg, (out[0],) + tuple(span[1:]) + (N,)


def _dw_slices(xf, K, d, span, N, Lg):
    """The (G, *K, Lg) view of the rows ``xf`` (G, S) of a C-contiguous (C, *span, N) array whose
    [:, *k] is kernel offset k's slice [off_k, off_k + Lg) (see _dw_grid), without copying; and the
    einsum subscripts of its kernel axes."""
    st = [math.prod(span[j + 1:]) * N for j in range(len(span))]
    it = xf.itemsize
    view = as_strided(xf, (xf.shape[0],) + tuple(K) + (Lg,),
                      (xf.strides[0],) + tuple(di * s_ * it for di, s_ in zip(d, st)) + (it,), writeable=False)
    return view, "ijkmnopqrstuvw"[:len(K)]


def _dw_conv_raw(xd, wd, bd, geom):
    """Depthwise y = B(x, w) (+ b), stride 1: x (N, C, *L), w (C, 1, *K) -> (N, C, *out), a view of a
    (C, *out, N) array."""
    s, d, lo, hi, G = geom
    N, K = xd.shape[0], wd.shape[2:]
    out = _conv_out(xd.shape[2:], K, s, d, lo, hi)
    dt = np.result_type(xd, wd)
    xp = _batch_last(xd, lo, _span(out, K, s, d))          # (C, *span, N), C-contiguous
    offs, Lg, grid = _dw_grid(K, d, out, xp.shape[1:-1], N)
    xf = xp.reshape(G, -1)
    ye = np.empty((G, math.prod(grid)), dtype=dt)
    # one einsum over the view of every offset's slice: each output element is read and written once
    # (64x32x14x14, 3x3, one thread: 0.41 ms, against 0.75 ms for a multiply and an add per offset)
    view, k = _dw_slices(xf, K, d, xp.shape[1:-1], N, Lg)
    np.einsum(f"g{k},g{k}l->gl", wd.reshape((G,) + tuple(K)), view, out=ye[:, :Lg], dtype=dt, casting="same_kind")
    ye = ye.reshape((G,) + grid)
    if ye.shape[1:] == tuple(out) + (N,) and bd is None:
        return _from_batch_last(ye)
    crop = ye[(Ellipsis,) + tuple(slice(0, o) for o in out[1:]) + (slice(None),)]
    y = np.empty((G,) + tuple(out) + (N,), dtype=dt)
    if bd is None:
        np.copyto(y, crop)
    else:
        np.add(crop, bd.reshape((G,) + (1,) * (len(K) + 1)), out=y)
    return _from_batch_last(y)


def _dw_transposable(wd, geom):
    """Whether conv_transpose takes the depthwise kernels: the input gradient of a depthwise convolution
    with padding at most dilation * (k - 1) is a depthwise convolution (with the flipped kernel)."""
    s, d, lo, hi, G = geom
    return _depthwise(wd, G, s) and all(di * (k - 1) >= a for di, k, a in zip(d, wd.shape[2:], lo))


def _dw_conv_transpose_raw(gd, wd, bd, geom, L):
    """Depthwise B_x^T(g, w) (+ b) (see _dw_transposable): the convolution of g zero-padded by
    dilation * (k - 1) - padding with the flipped kernel."""
    s, d, lo, hi, G = geom
    K = wd.shape[2:]
    full = tuple(di * (k - 1) for di, k in zip(d, K))
    wf = wd[(Ellipsis,) + (slice(None, None, -1),) * len(K)]
    gf = (s, d, tuple(f - a for f, a in zip(full, lo)), tuple(f - b for f, b in zip(full, hi)), G)
    return _dw_conv_raw(gd, wf, bd, gf)


def _dw_conv_weight_raw(xd, gd, geom, K):
    """Depthwise B_w^T(x, g), stride 1: x (N, C, *L), g (N, C, *out) -> (C, 1, *K): per kernel offset one
    batched dot product of each channel's g (zero on the grid positions past out) with its x slice."""
    s, d, lo, hi, G = geom
    N, out = gd.shape[0], gd.shape[2:]
    dt = np.result_type(xd, gd)
    xp = _batch_last(xd, lo, _span(out, K, s, d))          # (C, *span, N)
    gT = _batch_last(gd)                                    # (C, *out, N)
    offs, Lg, grid = _dw_grid(K, d, out, xp.shape[1:-1], N)
    if gT.shape[1:] == grid:
        ge = gT.reshape(G, 1, -1)
    else:
        ge = np.zeros((G,) + grid, dtype=dt)
        ge[(Ellipsis,) + tuple(slice(0, o) for o in out[1:]) + (slice(None),)] = gT
        ge = ge.reshape(G, 1, -1)
    ge, xf = ge[:, :, :Lg], xp.reshape(G, -1)
    dw = np.empty((G, len(offs)), dtype=dt)
    for i, off in enumerate(offs):
        dw[:, i] = np.matmul(ge, xf[:, off:off + Lg, None].astype(dt, copy=False))[:, 0, 0]
    return dw.reshape((G, 1) + tuple(K))


# ============================================================================ the three conv ops
def _name(base, nd):
    return f"{base}{nd}d"


def _conv_any(x, w, b, geom):
    if _is_tensor(x, w, b):
        return _conv_op(x, w, b, geom)
    return _conv_raw(x, w, b, geom)


def _conv_transpose_any(g, w, b, geom, L):
    if _is_tensor(g, w, b):
        return _conv_transpose_op(g, w, b, geom, L)
    return _conv_transpose_raw(g, w, b, geom, L)


def _conv_weight_any(x, g, geom, K):
    if _is_tensor(x, g):
        return _conv_weight_op(x, g, geom, K)
    return _conv_weight_raw(x, g, geom, K)


def _bias_vjp(nd):
    axes = (0,) + tuple(range(2, nd + 2))
    return lambda g, y, x, w, b: g.sum(axis=axes)


def _bias_jvp(nd):  # the bias's tangent per channel, broadcast over the batch and the spatial dims
    return lambda t, y, x, w, b: t.reshape((1, -1) + (1,) * nd)


def _cast(dt, *arrays):
    return tuple(None if a is None else (a if a.dtype == dt else a.astype(dt)) for a in arrays)


def _conv_op(x, w, b, geom):
    xd, wd = _array(x, "conv"), _array(w, "conv")
    bd = None if b is None else _array(b, "conv")
    dt = _float_dtype("conv", *(a for a in (xd, wd, bd) if a is not None))
    xd, wd, bd = _cast(dt, xd, wd, bd)
    out = _conv_raw(xd, wd, bd, geom)
    L, K = xd.shape[2:], wd.shape[2:]
    vjps = (lambda g, y, x, w, *b: _conv_transpose_any(g, w, None, geom, L),
            lambda g, y, x, w, *b: _conv_weight_any(x, g, geom, K))
    jvps = (lambda t, y, x, w, *b: _conv_any(t, w, None, geom),  # bilinear in (x, w)
            lambda t, y, x, w, *b: _conv_any(x, t, None, geom))
    if b is None:
        return _make(out, _name("conv", len(K)), (x, w), (xd, wd), vjps, jvps)
    return _make(out, _name("conv", len(K)), (x, w, b), (xd, wd, bd), vjps + (_bias_vjp(len(K)),),
                 jvps + (_bias_jvp(len(K)),))


def _conv_transpose_op(g, w, b, geom, L):
    gd, wd = _array(g, "conv_transpose"), _array(w, "conv_transpose")
    bd = None if b is None else _array(b, "conv_transpose")
    dt = _float_dtype("conv_transpose", *(a for a in (gd, wd, bd) if a is not None))
    gd, wd, bd = _cast(dt, gd, wd, bd)
    out = _conv_transpose_raw(gd, wd, bd, geom, L)
    K = wd.shape[2:]
    vjps = (lambda h, y, g, w, *b: _conv_any(h, w, None, geom),
            lambda h, y, g, w, *b: _conv_weight_any(h, g, geom, K))
    jvps = (lambda t, y, g, w, *b: _conv_transpose_any(t, w, None, geom, L),  # bilinear in (g, w)
            lambda t, y, g, w, *b: _conv_transpose_any(g, t, None, geom, L))
    if b is None:
        return _make(out, _name("conv_transpose", len(K)), (g, w), (gd, wd), vjps, jvps)
    return _make(out, _name("conv_transpose", len(K)), (g, w, b), (gd, wd, bd), vjps + (_bias_vjp(len(K)),),
                 jvps + (_bias_jvp(len(K)),))


def _conv_weight_op(x, g, geom, K):
    xd, gd = _array(x, "conv_weight"), _array(g, "conv_weight")
    dt = _float_dtype("conv_weight", xd, gd)
    xd, gd = _cast(dt, xd, gd)
    out = _conv_weight_raw(xd, gd, geom, K)
    L = xd.shape[2:]
    vjps = (lambda h, y, x, g: _conv_transpose_any(g, h, None, geom, L),
            lambda h, y, x, g: _conv_any(x, h, None, geom))
    jvps = (lambda t, y, x, g: _conv_weight_any(t, g, geom, K),  # bilinear in (x, g)
            lambda t, y, x, g: _conv_weight_any(x, t, geom, K))
    return _make(out, _name("conv_weight_grad", len(K)), (x, g), (xd, gd), vjps, jvps)


# ============================================================================ public convolutions
def _groups(groups, where):
    try:
        groups = operator.index(groups)
    except TypeError:
        raise TypeError(f"{where}: groups must be an int, got {groups!r}") from None
    if groups < 1:
        raise ValueError(f"{where}: groups must be positive, got {groups}")
    return groups


def _check_kernel(where, wd):
    """A kernel with a size-0 axis would give an output of zeros; PyTorch refuses it."""
    if 0 in wd.shape[2:]:
        raise ValueError(f"{where}: kernel size must be greater than zero, got {wd.shape[2:]} (weight shape "
                         f"{wd.shape})")


def _check_weight(where, nd, xd, wd, bd, groups):
    if wd.ndim != nd + 2:
        raise ValueError(f"{where}: weight must be {nd + 2}-D (out_channels, in_channels/groups, *kernel), "
                         f"got shape {wd.shape}")
    _check_kernel(where, wd)
    groups = _groups(groups, where)
    if bd is not None and bd.shape != (wd.shape[0],):
        raise ValueError(f"{where}: bias must have shape ({wd.shape[0]},) for weight of shape {wd.shape}, "
                         f"got {bd.shape}")
    return groups


def _conv_nd(nd, input, weight, bias, stride, padding, dilation, groups):
    if _tm._VMAP:
        r = _tm._vmap_call("conv", _conv_nd, (input, weight, bias),
                           dict(nd=nd, stride=stride, padding=padding, dilation=dilation, groups=groups))
        if r is not NotImplemented:
            return r
    where = _name("conv", nd)
    xd = _array(input, where)
    wd = _array(weight, where)
    bd = None if bias is None else _array(bias, where)
    x, xd, unbatched = _batched(input, xd, nd, where)
    geom = _conv_geom(where, nd, xd, wd, bd, stride, padding, dilation, groups)
    out = _conv_op(x, weight, bias, geom)
    return _unbatch(out, unbatched)


def _conv_geom(where, nd, xd, wd, bd, stride, padding, dilation, groups):
    """The checked geometry ``(stride, dilation, pad_lo, pad_hi, groups)`` of a convolution of the batched
    input ``xd`` (N, C, *L) with ``wd``; raises naming the shapes at fault."""
    groups = _check_weight(where, nd, xd, wd, bd, groups)
    C, O, Cg = xd.shape[1], wd.shape[0], wd.shape[1]
    if C != Cg * groups:
        raise ValueError(f"{where}: input of shape {xd.shape} has {C} channels but weight of shape {wd.shape} "
                         f"with groups={groups} expects {Cg * groups} (= weight.shape[1] * groups)")
    if O % groups:
        raise ValueError(f"{where}: out_channels {O} (weight shape {wd.shape}) is not divisible by groups={groups}")
    K = wd.shape[2:]
    s = _positive(_ints(stride, nd, "stride", where), "stride", where)
    d = _positive(_ints(dilation, nd, "dilation", where), "dilation", where)
    if isinstance(padding, str):
        if padding == "valid":
            lo = hi = (0,) * nd
        elif padding == "same":
            if any(si != 1 for si in s):
                raise ValueError(f"{where}: padding='same' is not supported for strided convolutions "
                                 f"(stride={s}), as in PyTorch")
            total = tuple(di * (k - 1) for di, k in zip(d, K))
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - a for t, a in zip(total, lo))   # the odd one goes right / bottom, as PyTorch
        else:
            raise ValueError(f"{where}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
    else:
        lo = hi = _positive(_ints(padding, nd, "padding", where), "padding", where, minimum=0)
    L = xd.shape[2:]
    if any(n + a + b < di * (k - 1) + 1 for n, a, b, di, k in zip(L, lo, hi, d, K)):
        raise ValueError(f"{where}: kernel of size {K} (dilation {d}) is larger than the padded input: input "
                         f"shape {xd.shape}, padding {lo}/{hi}, weight shape {wd.shape}")
    return s, d, lo, hi, groups


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) over (N, C, L) or (C, L), as ``torch.nn.functional.conv1d``.

    ``weight`` is (out_channels, in_channels/groups, k); ``padding`` an int, a 1-tuple, 'valid' or 'same'."""
    return _conv_nd(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over (N, C, H, W) or (C, H, W), as ``torch.nn.functional.conv2d``.

    ``weight`` is (out_channels, in_channels/groups, kH, kW), ``bias`` (out_channels,) or None. ``stride``,
    ``padding``, ``dilation`` are ints or pairs; ``padding`` may also be 'valid' or 'same' (stride 1; an odd
    total padding puts the extra row/column at the bottom/right, as PyTorch). ``groups`` splits the
    channels (``groups == in_channels`` is a depthwise convolution)."""
    return _conv_nd(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.functional.conv3d``."""
    return _conv_nd(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose_nd(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    where = _name("conv_transpose", nd)
    xd = _array(input, where)
    wd = _array(weight, where)
    bd = None if bias is None else _array(bias, where)
    x, xd, unbatched = _batched(input, xd, nd, where)
    if wd.ndim != nd + 2:
        raise ValueError(f"{where}: weight must be {nd + 2}-D (in_channels, out_channels/groups, *kernel), "
                         f"got shape {wd.shape}")
    _check_kernel(where, wd)
    groups = _groups(groups, where)
    Cin, Cout = wd.shape[0], wd.shape[1] * groups
    if xd.shape[1] != Cin:
        raise ValueError(f"{where}: input of shape {xd.shape} has {xd.shape[1]} channels but weight of shape "
                         f"{wd.shape} expects {Cin} (= weight.shape[0])")
    if Cin % groups:
        raise ValueError(f"{where}: in_channels {Cin} (weight shape {wd.shape}) is not divisible by "
                         f"groups={groups}")
    if bd is not None and bd.shape != (Cout,):
        raise ValueError(f"{where}: bias must have shape ({Cout},) for weight of shape {wd.shape} and "
                         f"groups={groups}, got {bd.shape}")
    K = wd.shape[2:]
    s = _positive(_ints(stride, nd, "stride", where), "stride", where)
    d = _positive(_ints(dilation, nd, "dilation", where), "dilation", where)
    if isinstance(padding, str):
        raise ValueError(f"{where}: padding must be an int or a tuple (PyTorch has no string padding for "
                         f"transposed convolutions), got {padding!r}")
    p = _positive(_ints(padding, nd, "padding", where), "padding", where, minimum=0)
    op = _positive(_ints(output_padding, nd, "output_padding", where), "output_padding", where, minimum=0)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"{where}: output_padding {op} must be smaller than either stride {s} or dilation {d}")
    L = tuple((n - 1) * si - 2 * a + di * (k - 1) + o + 1
              for n, si, a, di, k, o in zip(xd.shape[2:], s, p, d, K, op))
    if any(n < 1 for n in L):
        raise ValueError(f"{where}: the output would have size {L} (input shape {xd.shape}, weight shape "
                         f"{wd.shape}, stride {s}, padding {p}, dilation {d}): padding is too large")
    hi = tuple(a - o for a, o in zip(p, op))
    out = _conv_transpose_op(x, weight, bias, (s, d, p, hi, groups), L)
    return _unbatch(out, unbatched)


@batching_rule("merge_conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``; ``weight`` is
    (in_channels, out_channels/groups, k)."""
    return _conv_transpose_nd(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


@batching_rule("merge_conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input), as
    ``torch.nn.functional.conv_transpose2d``; ``weight`` is (in_channels, out_channels/groups, kH, kW).
    The output size is ``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``."""
    return _conv_transpose_nd(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


@batching_rule("merge_conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d``."""
    return _conv_transpose_nd(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


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
    acc = np.array(xp[(Ellipsis,) + slices[0]], copy=True)
    for sl in slices[1:]:
        acc += xp[(Ellipsis,) + sl]
    acc /= div if np.ndim(div) == 0 else div.astype(acc.dtype)
    return acc


def _window_sum_t_raw(gd, geom, div):
    K, s, d, lo, out, L = geom
    gd = gd / (div if np.ndim(div) == 0 else div.astype(gd.dtype))
    buf = np.zeros(gd.shape[:2] + tuple(L), dtype=gd.dtype)
    for sl in _scatter_slices(K, L, out, s, d, lo):
        if sl is not None:
            dst, src = sl
            buf[(Ellipsis,) + dst] += gd[(Ellipsis,) + src]
    return buf


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
    div = _avg_divisor(geom, count_include_pad, divisor_override)
    if isinstance(x, Tensor):
        out = _make(_window_sum_raw(xd, geom, div), where, (x,), (xd,),
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


# What the conv VJPs read (npgrad/autograd/versions.py): the other operand, never the output.
for _k in (1, 2, 3):
    _versions.reads(_name("conv", _k), "b", "a", "")
    _versions.reads(_name("conv_transpose", _k), "b", "a", "")
