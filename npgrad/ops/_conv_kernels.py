"""The raw convolution kernels on NumPy arrays (``ops/conv.py`` records them as ops): the im2col + GEMM
convolution, its transpose (the input gradient) and its weight gradient, and the depthwise kernels."""
import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import conv_blocked as _blocked
from ._conv_geometry import (_batch_last, _conv_out, _from_batch_last, _scatter_slices, _span)


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
    G, n = win.shape[0], 2 + len(K)     # explicit sizes: -1 cannot be inferred when C = 0 (torch allows it)
    return win.reshape(G, math.prod(win.shape[1:n]), math.prod(win.shape[n:]))


def _cols_copied(win):
    """Whether the column matrix of the window view ``win`` needs a copy (it is no view of the input):
    only then does the cache-blocked path (conv_blocked) pay off. Read off the strides: merging the axes
    after the first is a view when each (non-singleton) axis steps exactly over the next one. (Asking NumPy
    by setting ``.shape`` costs ~140 us when it fails, as it does for every padded or k x k window view.)"""
    dims = [(n, st) for n, st in zip(win.shape[1:], win.strides[1:]) if n != 1]
    return win.size > 0 and any(s0 != s1 * n1 for (_, s0), (n1, s1) in zip(dims, dims[1:]))


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
    c, n = (slice(None),), (slice(None),)
    pieces = [(kk, sl) for kk, sl in zip(itertools.product(*map(range, K)), _scatter_slices(K, L, out, s, d, lo))
              if sl is not None]
    rest = math.prod(out[1:]) * N
    rows = _blocked.bound_rows(out[0], C * math.prod(K) * rest * np.result_type(gd, wd).itemsize)
    if rows is not None:   # a large column gradient: computed and added a block of output rows at a time
        return _col2im_blocks(gT.reshape(G, Og, out[0], rest), wT, bd, pieces, (C, K, L, out, N, s[0]), rows)
    # (G, Cg*K, P*N): one GEMM per group (a broadcast product when each group has one output channel)
    dcols = wT * gT if Og == 1 else np.matmul(wT, gT)
    dcols = dcols.reshape((C,) + tuple(K) + tuple(out) + (N,))
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


def _col2im_blocks(g4, wT, bd, pieces, dims, rows):
    """conv_transpose's col2im, ``rows`` output rows (along the first spatial axis) at a time: each block's
    column gradient is one GEMM per group of those rows of ``g4`` (G, O/G, out_0, rest), added into the input
    gradient through the kernel offsets' ``pieces`` cut to the block. The sums are the same as the one-GEMM
    path's; only the column gradient of one block is held at a time."""
    C, K, L, out, N, s0 = dims
    G, Og = g4.shape[:2]
    c, n = (slice(None),), (slice(None),)
    dt = np.result_type(g4, wT)
    buf = np.zeros((C,) + tuple(L) + (N,), dtype=dt)
    block = np.empty((G, wT.shape[1], rows * g4.shape[3]), dtype=dt)   # one block's column gradient, reused
    for r0 in range(0, out[0], rows):
        r1 = min(out[0], r0 + rows)
        gk = g4[:, :, r0:r1].reshape(G, Og, -1)            # (a view: the block's rows are contiguous)
        dk = block[:, :, :gk.shape[2]]
        if Og == 1:
            np.multiply(wT, gk, out=dk)
        else:
            np.matmul(wT, gk, out=dk)
        dk = dk.reshape((C,) + tuple(K) + (r1 - r0,) + tuple(out[1:]) + (N,))
        for kk, (dst, src) in pieces:
            a, b = max(src[0].start, r0), min(src[0].stop, r1)
            if a < b:
                off = dst[0].start - src[0].start * s0      # input row of output row 0 at this offset
                rows_in = slice(a * s0 + off, (b - 1) * s0 + off + 1, s0)
                buf[c + (rows_in,) + dst[1:] + n] += dk[c + kk + (slice(a - r0, b - r0),) + src[1:] + n]
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
