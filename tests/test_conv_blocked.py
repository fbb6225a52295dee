"""The cache-blocked im2col + GEMM path of the convolution (npgrad/ops/conv_blocked.py) against PyTorch.

The blocks are forced down to one output row (BLOCK_BYTES = 1) and the weight gradient is blocked for
any column matrix (WEIGHT_MAX_ROWS), so that every case of test_conv's tables runs blocked: values and
gradients of input, weight and bias in float32 and float64, second derivatives, conv1d/conv3d and the
transposed convolution (whose stride-1 input gradient is itself a convolution). A spy checks that the
blocked kernels really ran.
"""
import numpy as np
import pytest
import torch.nn.functional as F

import npgrad as npg
from npgrad.ops import _conv_geometry as CG, conv as C
from npgrad.ops import conv_blocked as B
from tests.test_conv import CONV1D, CONV2D, CONVT2D, DTYPES, _double_backward, _rand, check


@pytest.fixture
def blocked(monkeypatch):
    """Blocks of one output row, the weight gradient blocked too; yields the calls that took the blocks."""
    monkeypatch.setattr(B, "BLOCK_BYTES", 1)
    monkeypatch.setattr(B, "WEIGHT_MAX_ROWS", 10 ** 9)
    monkeypatch.setattr(B, "blas_threads", lambda: 1)   # (blocks are used only when BLAS runs one thread)
    return _spies(monkeypatch, ((B, "conv_gemm"), (B, "weight_gemm")))


def _spies(monkeypatch, targets):
    """Wrap each (module, function) so that a call which took blocks (returned something) is logged by name."""
    ran = []
    for mod, name in targets:
        real = getattr(mod, name)

        def spy(*a, _real=real, _name=name):
            out = _real(*a)
            if out is not None:
                ran.append(_name)
            return out
        monkeypatch.setattr(mod, name, spy)
    return ran


def _arrays(xs, ws, bias, dtype):
    return [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[0],), dtype, 2)] if bias else [])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D)
def test_conv2d_blocked(blocked, xs, ws, bias, kw, dtype):
    check(lambda *a: C.conv2d(*a, **kw), lambda *a: F.conv2d(*a, **kw), _arrays(xs, ws, bias, dtype), dtype,
          f"blocked conv2d {xs} {ws} {kw}")


def test_blocked_path_runs(blocked):
    """A 3x3 padded convolution over several output rows takes both blocked kernels."""
    check(lambda *a: C.conv2d(*a, padding=1), lambda *a: F.conv2d(*a, padding=1),
          _arrays((3, 5, 7, 6), (4, 5, 3, 3), True, np.float32), np.float32, "blocked")
    assert "conv_gemm" in blocked and "weight_gemm" in blocked


def test_unblocked_when_columns_are_a_view(blocked):
    """An unpadded 1x1 stride-1 convolution of a batch-last input multiplies a view: no blocks, no copy."""
    x = npg.tensor(_rand((4, 3, 5, 5), np.float64, 0))
    y = C.conv2d(x, npg.tensor(_rand((6, 3, 3, 3), np.float64, 1)), padding=1)   # batch-last output
    blocked.clear()
    assert CG._is_batch_last(y.data)
    check(lambda h, w: C.conv2d(h, w), lambda h, w: F.conv2d(h, w),
          [np.asarray(y.data), _rand((2, 6, 1, 1), np.float64, 2)], np.float64, "1x1")
    assert "conv_gemm" not in blocked


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONV1D)
def test_conv1d_blocked(blocked, xs, ws, bias, kw, dtype):
    check(lambda *a: C.conv1d(*a, **kw), lambda *a: F.conv1d(*a, **kw), _arrays(xs, ws, bias, dtype), dtype,
          f"blocked conv1d {xs} {ws} {kw}")


@pytest.mark.parametrize("kw", [dict(), dict(stride=(1, 2, 2), padding=1, dilation=(2, 1, 1)),
                                dict(groups=2, padding="same")])
def test_conv3d_blocked(blocked, kw):
    arrays = [_rand((2, 4, 5, 6, 5), np.float64, 0), _rand((2, 2 if kw.get("groups") else 4, 2, 3, 2),
                                                            np.float64, 1), _rand((2,), np.float64, 2)]
    check(lambda *a: C.conv3d(*a, **kw), lambda *a: F.conv3d(*a, **kw), arrays, np.float64, f"blocked conv3d {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONVT2D)
def test_conv_transpose2d_blocked(blocked, xs, ws, bias, kw, dtype):
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[1] * kw.get("groups", 1),), dtype, 2)]
                                                            if bias else [])
    check(lambda *a: C.conv_transpose2d(*a, **kw), lambda *a: F.conv_transpose2d(*a, **kw), arrays, dtype,
          f"blocked conv_transpose2d {xs} {ws} {kw}")


def test_conv_second_order_blocked(blocked):
    _double_backward(lambda x, w, b: npg.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)),
                     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)),
                     [_rand(s, np.float64, i) for i, s in enumerate([(2, 4, 7, 8), (6, 4, 3, 2), (6,)])])


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_equals_one_gemm_at_a_workload_size(monkeypatch, dtype):
    """At the resnet workload's first-stage shape (the default blocks), the same values and gradients as
    the one-GEMM path, within the dtype's rounding."""
    x = npg.tensor(_rand((8, 16, 32, 32), dtype, 0))
    w = npg.tensor(_rand((16, 16, 3, 3), dtype, 1))
    v = _rand((8, 16, 32, 32), dtype, 2)
    results = []
    monkeypatch.setattr(B, "blas_threads", lambda: 1)
    for block in (B.BLOCK_BYTES, 1 << 60):
        monkeypatch.setattr(B, "BLOCK_BYTES", block)
        monkeypatch.setattr(B, "WEIGHT_MAX_ROWS", 10 ** 9)
        x.grad = w.grad = None
        y = C.conv2d(x, w, padding=1)
        npg.sum(y * v).backward()
        results.append([np.array(y.data), np.array(x.grad), np.array(w.grad)])
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **tol)


def test_several_blas_threads_take_the_one_gemm_path(blocked, monkeypatch):
    """With BLAS on several threads the blocks are not used (OpenBLAS threads one large GEMM, not the small
    ones), and the result is the same."""
    monkeypatch.setattr(B, "blas_threads", lambda: 2)
    check(lambda *a: C.conv2d(*a, padding=1), lambda *a: F.conv2d(*a, padding=1),
          _arrays((3, 5, 7, 6), (4, 5, 3, 3), True, np.float32), np.float32, "two BLAS threads")
    assert blocked == []


@pytest.mark.parametrize("threads", [1, 2])
def test_blas_threads_reads_openblas_in_a_fresh_process(threads):
    import os
    import subprocess
    import sys
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", "from npgrad.ops._blas import blas_threads, _lookup\n"
                          "print(blas_threads(), bool(_lookup()))"], capture_output=True, text=True, env=env, check=True)
    n, found = out.stdout.split()
    assert int(n) == threads
    if sys.platform.startswith("linux"):
        assert found == "True"   # NumPy's wheels bundle OpenBLAS: asked directly


# ------------------------------------------------------------------ memory-bounded blocks (any thread count)
@pytest.fixture
def bounded(monkeypatch):
    """Memory-bounded blocks of one output row at two BLAS threads (BOUND_BYTES = 1); yields the kernels that
    took blocks: the forward's and weight gradient's GEMMs and conv_transpose's col2im."""
    from npgrad.ops import _conv_kernels as K
    monkeypatch.setattr(B, "BOUND_BYTES", 1)
    monkeypatch.setattr(B, "blas_threads", lambda: 2)
    return _spies(monkeypatch, ((B, "conv_gemm"), (B, "weight_gemm"), (K, "_col2im_blocks")))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D)
def test_conv2d_memory_bounded(bounded, xs, ws, bias, kw, dtype):
    check(lambda *a: C.conv2d(*a, **kw), lambda *a: F.conv2d(*a, **kw), _arrays(xs, ws, bias, dtype), dtype,
          f"bounded conv2d {xs} {ws} {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONVT2D)
def test_conv_transpose2d_memory_bounded(bounded, xs, ws, bias, kw, dtype):
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[1] * kw.get("groups", 1),), dtype, 2)]
                                                            if bias else [])
    check(lambda *a: C.conv_transpose2d(*a, **kw), lambda *a: F.conv_transpose2d(*a, **kw), arrays, dtype,
          f"bounded conv_transpose2d {xs} {ws} {kw}")


@pytest.mark.parametrize("xs, ws, bias, kw", CONV1D)
def test_conv1d_memory_bounded(bounded, xs, ws, bias, kw):
    check(lambda *a: C.conv1d(*a, **kw), lambda *a: F.conv1d(*a, **kw), _arrays(xs, ws, bias, np.float64),
          np.float64, f"bounded conv1d {xs} {ws} {kw}")


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=(2, 1, 2), padding=(1, 0, 2), dilation=(1, 2, 1)),
                                dict(groups=2, padding="same")])
def test_conv3d_memory_bounded(bounded, kw):
    arrays = [_rand((2, 4, 6, 5, 6), np.float64, 0), _rand((4, 2 if kw.get("groups") else 4, 3, 2, 3),
                                                            np.float64, 1), _rand((4,), np.float64, 2)]
    check(lambda *a: C.conv3d(*a, **kw), lambda *a: F.conv3d(*a, **kw), arrays, np.float64, f"bounded conv3d {kw}")
    if not isinstance(kw.get("padding"), str):   # (no string padding for the transposed convolution)
        check(lambda *a: C.conv_transpose3d(*a, **kw), lambda *a: F.conv_transpose3d(*a, **kw), arrays, np.float64,
              f"bounded conv_transpose3d {kw}")


def test_memory_bounded_second_order_and_all_kernels_ran(bounded):
    _double_backward(lambda x, w, b: npg.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)),
                     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)),
                     [_rand(s, np.float64, i) for i, s in enumerate([(2, 4, 7, 8), (6, 4, 3, 2), (6,)])])
    assert {"conv_gemm", "weight_gemm", "_col2im_blocks"} <= set(bounded)


def test_a_large_column_matrix_is_not_held_whole_under_a_column_limit(monkeypatch):
    """The digits CNN's second convolution (64x16x14x14 -> 32, 3x3, pad 1) has a 7.2 MB column matrix (and
    column gradient): with npg.memory.set_conv_column_limit(2 MiB) neither the forward nor the backward holds
    one whole (tracemalloc peak above what was live before each, float32), at two BLAS threads as at one; the
    values are the one-GEMM path's."""
    x = npg.tensor(_rand((64, 16, 14, 14), np.float32, 0))
    w = npg.tensor(_rand((32, 16, 3, 3), np.float32, 1))
    v = _rand((64, 32, 14, 14), np.float32, 2)
    cols = 16 * 9 * 14 * 14 * 64 * 4
    results = []
    prev = npg.memory.set_conv_column_limit(2 << 20)
    try:
        assert npg.memory.get_conv_column_limit() == 2 << 20
        for threads, limit in ((2, 2 << 20), (1, 2 << 20), (2, None)):
            monkeypatch.setattr(B, "blas_threads", lambda: threads)
            npg.memory.set_conv_column_limit(limit)
            results.append(_peaks(x, w, v, cols, limit))
    finally:
        npg.memory.set_conv_column_limit(prev)
    for a, b in zip(results[0], results[2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _peaks(x, w, v, cols, limit):
    """conv2d(x, w, padding=1) forward and backward under tracemalloc, their peaks checked against ``cols``
    (below it under a limit, above it without); returns y, x.grad, w.grad."""
    import tracemalloc
    x.grad = w.grad = None
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        y = C.conv2d(x, w, padding=1)
        forward = tracemalloc.get_traced_memory()[1] - before
        loss = npg.sum(y * v)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        loss.backward()
        backward = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    if limit is None:
        assert forward > cols and backward > cols   # (the one-GEMM path does hold them: the test can fail)
    else:
        assert forward < cols and backward < cols, (limit, forward, backward, cols)
    return [np.array(y.data), np.array(x.grad), np.array(w.grad)]


def test_conv_column_limit_default_and_errors():
    """The default limit (32 MiB) blocks only matrices over 64 MiB, in rows of about 32 MiB; bad limits raise."""
    assert npg.memory.get_conv_column_limit() == 32 << 20
    assert B.bound_rows(100, 600_000) is None                  # 60 MB: whole
    assert B.bound_rows(1000, 600_000) == (32 << 20) // 600_000   # 600 MB: blocks of 55 rows
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="set_conv_column_limit"):
            npg.memory.set_conv_column_limit(bad)
