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

On several BLAS threads a column matrix of at least THREAD_MIN_BYTES is instead built and multiplied in parts,
one per thread, each in blocks (see "several threads" below).

At any thread count a column matrix larger than twice BOUND_BYTES (and conv_transpose's column gradient,
ops/_conv_kernels.py: _col2im_blocks) is built in blocks of about BOUND_BYTES, so that no step holds a whole
one (npgrad.memory.set_conv_column_limit; 32 MiB by default). 2 MiB blocks took the cnn benchmark's peak
from 19.7 to 14.8 MiB and its step from 1.11-1.14x to 1.17-1.22x the hand-written NumPy (three alternating
runs of bench/run.py each): not the default.
"""
import math
import os
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ._blas import blas_threads, can_set_threads, single_threaded

BLOCK_BYTES = 1 << 17   # the column block's size at one thread (128 KiB; at least one output row per block)
WEIGHT_MAX_ROWS = 32    # ... where the weight gradient is blocked only for column matrices of at most this many rows
BOUND_BYTES = 32 << 20  # at any thread count, a column matrix (or its gradient) over twice this size is built in
# blocks of about this size, so that no step holds a whole one (None: never; npgrad.memory.set_conv_column_limit)


THREAD_MIN_BYTES = 8 << 20     # on several BLAS threads, a column matrix at least this large is built and multiplied
THREAD_BLOCK_BYTES = 2 << 20    # in parts, one per thread, each in blocks of about this size (see _parts)


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


def _blocks(win, r, a=0, b=None):
    """(first output row, number of rows, the window view of those rows) of each block of output rows [a, b)."""
    nd = (win.ndim - 3) // 2
    b = win.shape[2 + nd] if b is None else b
    for r0 in range(a, b, r):
        k = min(r, b - r0)
        yield r0, k, win[(slice(None),) * (2 + nd) + (slice(r0, r0 + k),)]


def _gemm_rows(win, w3, y, a, b, r):
    """The convolution's GEMM for output rows [a, b), ``r`` rows at a time through one buffer, into ``y``."""
    nd = (win.ndim - 3) // 2
    G, rk = w3.shape[0], w3.shape[2]
    out = win.shape[2 + nd:]
    buf = np.empty(math.prod(win.shape[:2 + nd]) * min(r, b - a) * math.prod(out[1:]), dtype=win.dtype)
    for r0, k, wk in _blocks(win, r, a, b):
        v = _view(buf[:wk.size], wk.shape)
        np.copyto(v, wk)
        np.matmul(w3, _view(v, (G, rk, -1)), out=_view(y[:, :, r0:r0 + k], y.shape[:2] + (-1,)))


def conv_gemm(win, w3, dtype):
    """The convolution's GEMM over the window view ``win`` (G, C/G, *K, *out, N) with the weight ``w3``
    (G, O/G, C/G * prod(K)): (G, O/G, *out, N), or None when the plain one-GEMM path should run (a
    single block, or a column matrix that is a view of the input and needs no copy)."""
    nd = (win.ndim - 3) // 2
    out = win.shape[2 + nd:]
    parts, r = _parts(win)
    if parts == 1:
        r = _rows_per_block(win, win.dtype.itemsize)
        if r is None:
            return None
    y = np.empty(w3.shape[:2] + out, dtype=dtype)
    _run(parts, out[0], lambda a, b: _gemm_rows(win, w3, y, a, b, r))
    return y


def _weight_rows(win, g4, a, b, r):
    """The weight gradient's GEMMs for output rows [a, b), ``r`` rows at a time, summed."""
    nd = (win.ndim - 3) // 2
    G = win.shape[0]
    rk = math.prod(win.shape[1:2 + nd])
    buf = np.empty(math.prod(win.shape[:2 + nd]) * min(r, b - a) * math.prod(win.shape[3 + nd:]), dtype=win.dtype)
    dw = tmp = None
    for r0, k, wk in _blocks(win, r, a, b):
        v = _view(buf[:wk.size], wk.shape)
        np.copyto(v, wk)
        gk = _view(g4[:, :, r0:r0 + k], g4.shape[:2] + (-1,))
        cols = _view(v, (G, rk, -1)).transpose(0, 2, 1)
        if dw is None:
            dw = np.matmul(gk, cols)
            tmp = np.empty_like(dw)
        else:
            dw += np.matmul(gk, cols, out=tmp)
    return dw


def weight_gemm(win, g4):
    """The weight gradient's GEMM: ``g4`` (G, O/G, out_0, rest) (rest = prod(out[1:]) * N) against the
    column matrix of ``win`` (G, C/G, *K, *out, N), summed block by block: (G, O/G, C/G * prod(K)), or
    None when the plain path should run."""
    nd = (win.ndim - 3) // 2
    parts, r = _parts(win)
    if parts == 1:
        r = _rows_per_block(win, win.dtype.itemsize, weight=True)
        if r is None:
            return None
    dws = _run(parts, win.shape[2 + nd], lambda a, b: _weight_rows(win, g4, a, b, r))
    dw = dws[0]
    for d in dws[1:]:
        dw += d
    return dw


# ---------------------------------------------------------------------------- several threads
# OpenBLAS splits one GEMM over its threads, but the column matrix's copy runs on one, and a GEMM with few
# output rows (16-32 channels) spends its time packing that matrix, not multiplying. So on several BLAS
# threads a large column matrix (at least THREAD_MIN_BYTES) is built and multiplied in parts, one per thread
# (npgrad's own threads, OpenBLAS on one thread meanwhile: NumPy's copies and products release the GIL), each
# part in cache-sized blocks. Measured on the 2-core VM (2 threads, float32, 3x3, pad 1, OPENBLAS_THREAD_TIMEOUT=4;
# medians of 9 calls, median of 5 interleaved rounds; forward / weight gradient, plain one-GEMM path -> parts):
# 32x16x32x32 -> 16 (resnet's first stage, an 18 MiB column matrix) 4.57 -> 2.52 / 4.37 -> 4.12 ms, 32x32x16x16
# -> 32 (9 MiB) 2.26 -> 1.64 / 2.54 -> 2.47, 16x64x56x56 -> 64 (110 MiB) 37.6 -> 26.4 / 43.9 -> 34.2; smaller
# matrices won or lost by shape (32x64x8x8 -> 64, 4.5 MiB: 0.74x / 0.78x; 64x16x14x14 -> 32, 6.9 MiB: 0.94x / 1.02-
# 1.09x, and the cnn workload's step 9.8 -> 10.5 ms with it threaded; 64x1x28x28 -> 16, 1.7 MiB: 1.19x / 1.27x),
# hence THREAD_MIN_BYTES. The resnet workload's step: 121 -> 97 ms (medians of 7 interleaved rounds of 7 steps).

_pool = None    # the worker threads (created on first use; forgotten in a forked child, which has none)


def _forget_pool():
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _parts(win):
    """(number of threads to split the column matrix of ``win`` over, output rows per block), or (1, None)."""
    n = blas_threads()
    nd = (win.ndim - 3) // 2
    if n < 2 or win.size * win.dtype.itemsize < THREAD_MIN_BYTES or not can_set_threads():
        return 1, None
    rows = win.shape[2 + nd]
    per_row = win.size // rows * win.dtype.itemsize
    block = THREAD_BLOCK_BYTES if BOUND_BYTES is None else min(THREAD_BLOCK_BYTES, BOUND_BYTES)
    return min(n, rows), max(1, block // per_row)


def _run(parts, rows, fn):
    """[fn(a, b) for each of ``parts`` consecutive ranges [a, b) of ``rows``], the first in this thread and
    the others in the pool's threads at the same time, with OpenBLAS on one thread meanwhile."""
    if parts == 1:
        return [fn(0, rows)]
    global _pool
    if _pool is None or _pool._max_workers < parts - 1:   # (first use, or more BLAS threads than before)
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="npgrad-conv")
    cuts = [rows * i // parts for i in range(parts + 1)]
    with single_threaded():
        futures = [_pool.submit(fn, cuts[i], cuts[i + 1]) for i in range(1, parts)]
        try:
            first = fn(cuts[0], cuts[1])
        finally:
            wait(futures)     # (also when this thread's part raised: no worker outlives the call)
        return [first] + [f.result() for f in futures]
