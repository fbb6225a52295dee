"""Cache-blocked im2col + GEMM for the convolution and its weight gradient (used by ``ops/conv.py``).

The plain algorithm copies the whole column matrix (C/G * prod(K), prod(out) * N) and multiplies it once:
for a 32x16x32x32 input and a 3x3 kernel that matrix is 19 MB, nine times the input, written to freshly
mapped memory and read back from main memory by a GEMM with only 16 output rows, which is then bound by
memory bandwidth (and by the page faults of the fresh buffer), not by arithmetic. Here the column matrix is
built a few output rows at a time (along the first spatial axis) in one small buffer that stays in the
cache (``BLOCK_BYTES``), and each block is multiplied straight into its slice of the result (``out=``);
the weight gradient adds up one product per block. The products are the same, only summed per block (the
weight gradient's float rounding differs from the one-GEMM sum as much as any two GEMM blockings do).

Measured on the 2-core EPYC VM (forward conv, 3x3, pad 1, float32; min of 60, in one process, one-GEMM path
-> blocked, two alternations each): 32x16x32x32 -> 16 (the resnet workload's first stage, a 19 MB column
matrix): 7.3 / 9.0 -> 6.1 / 6.5 ms at one thread, 8.5 / 8.2 -> 5.0 / 4.6 ms at two; 32x32x16x16 -> 32:
3.5 / 4.6 -> 3.2 / 4.0 (one thread), 3.2 / 2.9 -> 2.9 / 3.1 (two); 32x64x8x8 -> 64 and 64x16x14x14 -> 32
within +-5% either way. The weight gradient blocked lost 5-30% except for few rows (a first layer's 9:
0.70 -> 0.33 ms), hence WEIGHT_MAX_ROWS.

Only when BLAS runs on one thread: on several, OpenBLAS splits one large GEMM over its threads but not the
blocks' small ones, and the plain path measured faster for every shape (two threads, forward + weight
gradient, medians of three interleaved rounds, 128 KiB blocks -> plain: 64x32x8x8 -> 32 2.24 -> 1.70 ms,
64x16x14x14 -> 32 3.85 -> 2.64, 32x16x32x32 -> 16 8.60 -> 7.16, 32x64x8x8 -> 64 3.76 -> 2.51; at one thread
the blocks still win: 32x16x32x32 -> 16 forward 7.6 -> 4.1 ms).

At any thread count a column matrix larger than twice BOUND_BYTES (and conv_transpose's column gradient,
ops/_conv_kernels.py: _col2im_blocks) is built in blocks of about BOUND_BYTES, so that no step holds a whole
one (npgrad.memory.set_conv_column_limit; 32 MiB by default). 2 MiB blocks took the cnn benchmark's peak
from 19.7 to 14.8 MiB and its step from 1.11-1.14x to 1.17-1.22x the hand-written NumPy (three alternating
runs of bench/run.py each): not the default.
"""
import math

import numpy as np

from ._blas import blas_threads

BLOCK_BYTES = 1 << 17   # the column block's size at one thread (128 KiB; at least one output row per block)
WEIGHT_MAX_ROWS = 32    # ... where the weight gradient is blocked only for column matrices of at most this many rows
BOUND_BYTES = 32 << 20  # at any thread count, a column matrix (or its gradient) over twice this size is built in
# blocks of about this size, so that no step holds a whole one (None: never; npgrad.memory.set_conv_column_limit)


def bound_rows(rows, per_row):
    """Rows per memory-bounded block for a matrix of ``rows`` rows of ``per_row`` bytes, or None when the
    whole matrix is small enough (at most 2 * BOUND_BYTES)."""
    if BOUND_BYTES is None or rows * per_row <= 2 * BOUND_BYTES:
        return None
    return max(1, BOUND_BYTES // max(per_row, 1))


def _rows_per_block(win, itemsize, weight=False):
    """Output rows (along the first spatial axis) per block, or None when one block would hold them all.
    ``win`` is the window view (G, C/G, *K, *out, N). At one BLAS thread the blocks are cache-sized (for the
    weight gradient only with few rows: see WEIGHT_MAX_ROWS); on several, OpenBLAS splits one large GEMM over
    its threads but not small ones, so only a large column matrix is split, into BOUND_BYTES blocks."""
    nd = (win.ndim - 3) // 2
    out = win.shape[2 + nd:-1]
    per_row = math.prod(win.shape[:2 + nd]) * math.prod(out[1:]) * win.shape[-1] * itemsize
    if blas_threads() > 1 or (weight and math.prod(win.shape[1:2 + nd]) > WEIGHT_MAX_ROWS):
        r = bound_rows(out[0], per_row)
    else:
        r = max(1, BLOCK_BYTES // max(per_row, 1))
    return None if r is None or r >= out[0] else r


def _view(a, shape):
    """``a`` reshaped to ``shape`` as a view; raises rather than copying (a product written with
    ``out=`` into a copy would be lost)."""
    v = a.view()
    v.shape = shape
    return v


def _blocks(win, r):
    """(first output row, number of rows, the window view of those rows) of each block."""
    nd = (win.ndim - 3) // 2
    n0 = win.shape[2 + nd]
    for r0 in range(0, n0, r):
        k = min(r, n0 - r0)
        yield r0, k, win[(slice(None),) * (2 + nd) + (slice(r0, r0 + k),)]


def conv_gemm(win, w3, dtype):
    """The convolution's GEMM over the window view ``win`` (G, C/G, *K, *out, N) with the weight ``w3``
    (G, O/G, C/G * prod(K)): (G, O/G, *out, N), or None when the plain one-GEMM path should run (a
    single block, or a column matrix that is a view of the input and needs no copy)."""
    r = _rows_per_block(win, win.dtype.itemsize)
    if r is None:
        return None
    nd = (win.ndim - 3) // 2
    G, rk = w3.shape[0], w3.shape[2]
    out = win.shape[2 + nd:]
    y = np.empty(w3.shape[:2] + out, dtype=dtype)
    buf = np.empty(math.prod(win.shape[:2 + nd]) * r * math.prod(out[1:]), dtype=win.dtype)
    for r0, k, wk in _blocks(win, r):
        b = _view(buf[:wk.size], wk.shape)
        np.copyto(b, wk)
        np.matmul(w3, _view(b, (G, rk, -1)), out=_view(y[:, :, r0:r0 + k], y.shape[:2] + (-1,)))
    return y


def weight_gemm(win, g4):
    """The weight gradient's GEMM: ``g4`` (G, O/G, out_0, rest) (rest = prod(out[1:]) * N) against the
    column matrix of ``win`` (G, C/G, *K, *out, N), summed block by block: (G, O/G, C/G * prod(K)), or
    None when the plain path should run."""
    nd = (win.ndim - 3) // 2
    G = win.shape[0]
    rk = math.prod(win.shape[1:2 + nd])
    r = _rows_per_block(win, win.dtype.itemsize, weight=True)
    if r is None:
        return None
    buf = np.empty(math.prod(win.shape[:2 + nd]) * r * math.prod(win.shape[3 + nd:]), dtype=win.dtype)
    dw = tmp = None
    for r0, k, wk in _blocks(win, r):
        b = _view(buf[:wk.size], wk.shape)
        np.copyto(b, wk)
        gk = _view(g4[:, :, r0:r0 + k], g4.shape[:2] + (-1,))
        cols = _view(b, (G, rk, -1)).transpose(0, 2, 1)
        if dw is None:
            dw = np.matmul(gk, cols)
            tmp = np.empty_like(dw)
        else:
            dw += np.matmul(gk, cols, out=tmp)
    return dw
