"""The threaded im2col + GEMM path of the convolution (npgrad/ops/conv_blocked.py: _parts, _run) against PyTorch.

On several BLAS threads a large column matrix is built and multiplied in parts, one per thread, with OpenBLAS on
one thread meanwhile. Here every column matrix takes that path (THREAD_MIN_BYTES = 1, blocks of one output row),
so test_conv's tables run threaded: values and gradients of input, weight and bias in float32 and float64,
conv1d/conv3d, the transposed convolution and second derivatives. Also: more parts than output rows, an error
inside a part, OpenBLAS's thread count restored, two user threads at once, and a forked child (which has none of
the parent's worker threads).
"""
import multiprocessing
import sys
import threading

import numpy as np
import pytest
import torch.nn.functional as F

import npgrad as npg
from npgrad.ops import _blas, conv as C
from npgrad.ops import conv_blocked as B
from tests.test_conv import CONV1D, CONV2D, CONVT2D, DTYPES, _double_backward, _rand, check


def _threaded(monkeypatch, threads):
    """Every column matrix split over ``threads`` parts in blocks of one output row; returns the list the
    part counts of the threaded calls are appended to."""
    monkeypatch.setattr(B, "THREAD_MIN_BYTES", 1)
    monkeypatch.setattr(B, "THREAD_BLOCK_BYTES", 1)
    monkeypatch.setattr(B, "blas_threads", lambda: threads)
    ran = []
    real = B._run

    def spy(parts, rows, fn):
        if parts > 1:
            ran.append(parts)
        return real(parts, rows, fn)
    monkeypatch.setattr(B, "_run", spy)
    return ran


@pytest.fixture
def threaded(monkeypatch):
    return _threaded(monkeypatch, 2)


def _arrays(xs, ws, bias, dtype):
    return [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[0],), dtype, 2)] if bias else [])


def test_openblas_thread_count_can_be_set_here():
    """The threaded path needs OpenBLAS's set_num_threads, found in NumPy's wheels on Linux (else it is off)."""
    if sys.platform.startswith("linux"):
        assert _blas.can_set_threads()
    before = _blas.blas_threads()
    with _blas.single_threaded() as on:
        assert _blas.blas_threads() == (1 if on else before)
    assert _blas.blas_threads() == before


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D)
def test_conv2d_threaded(threaded, xs, ws, bias, kw, dtype):
    check(lambda *a: C.conv2d(*a, **kw), lambda *a: F.conv2d(*a, **kw), _arrays(xs, ws, bias, dtype), dtype,
          f"threaded conv2d {xs} {ws} {kw}")


def test_threaded_path_runs_for_forward_input_and_weight_gradient(threaded):
    before = _blas.blas_threads()
    check(lambda *a: C.conv2d(*a, padding=1), lambda *a: F.conv2d(*a, padding=1),
          _arrays((3, 5, 7, 6), (4, 5, 3, 3), True, np.float32), np.float32, "threaded")
    assert len(threaded) >= 3          # the forward, the input gradient (a convolution) and the weight gradient
    assert _blas.blas_threads() == before


@pytest.mark.parametrize("xs, ws, bias, kw", CONV1D)
def test_conv1d_threaded(threaded, xs, ws, bias, kw):
    check(lambda *a: C.conv1d(*a, **kw), lambda *a: F.conv1d(*a, **kw), _arrays(xs, ws, bias, np.float64),
          np.float64, f"threaded conv1d {xs} {ws} {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONVT2D)
def test_conv_transpose2d_threaded(threaded, xs, ws, bias, kw, dtype):
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[1] * kw.get("groups", 1),), dtype, 2)]
                                                            if bias else [])
    check(lambda *a: C.conv_transpose2d(*a, **kw), lambda *a: F.conv_transpose2d(*a, **kw), arrays, dtype,
          f"threaded conv_transpose2d {xs} {ws} {kw}")


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=(2, 1, 2), padding=(1, 0, 2), dilation=(1, 2, 1)),
                                dict(groups=2, padding="same")])
def test_conv3d_threaded(threaded, kw):
    arrays = [_rand((2, 4, 6, 5, 6), np.float64, 0), _rand((4, 2 if kw.get("groups") else 4, 3, 2, 3),
                                                            np.float64, 1), _rand((4,), np.float64, 2)]
    check(lambda *a: C.conv3d(*a, **kw), lambda *a: F.conv3d(*a, **kw), arrays, np.float64, f"threaded conv3d {kw}")


def test_threaded_second_order(threaded):
    _double_backward(lambda x, w, b: npg.conv2d(x, w, b, padding=1, dilation=(1, 2)),
                     lambda x, w, b: F.conv2d(x, w, b, padding=1, dilation=(1, 2)),
                     [_rand(s, np.float64, i) for i, s in enumerate([(2, 4, 7, 8), (6, 4, 3, 2), (6,)])])
    assert threaded


@pytest.mark.parametrize("threads", [3, 8])
def test_more_threads_than_output_rows(monkeypatch, threads):
    """Three output rows split over 3 or 8 threads: at most one part per row, the same result."""
    ran = _threaded(monkeypatch, threads)
    check(lambda *a: C.conv2d(*a, padding=(0, 1)), lambda *a: F.conv2d(*a, padding=(0, 1)),
          _arrays((2, 3, 5, 6), (4, 3, 3, 3), True, np.float64), np.float64, f"{threads} threads")
    assert ran and max(ran) == min(threads, 3)


def test_an_error_in_a_part_propagates_and_restores_blas_threads(threaded, monkeypatch):
    before = _blas.blas_threads()
    calls = []

    def failing(win, w3, y, a, b, r):
        calls.append(a)
        if a > 0:
            raise MemoryError("part failed")
    monkeypatch.setattr(B, "_gemm_rows", failing)
    x, w = npg.tensor(_rand((2, 3, 6, 6), np.float32, 0)), npg.tensor(_rand((4, 3, 3, 3), np.float32, 1))
    with pytest.raises(MemoryError, match="part failed"):
        C.conv2d(x, w, padding=1)
    assert sorted(calls) == [0, 3] and _blas.blas_threads() == before


def test_two_user_threads_at_once(threaded):
    """Two threads running threaded convolutions at the same time get torch's results, and OpenBLAS's
    thread count is the same afterwards."""
    import torch
    before = _blas.blas_threads()
    x, w = _rand((4, 6, 12, 10), np.float64, 0), _rand((5, 6, 3, 3), np.float64, 1)
    want = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    errors = []

    def work():
        try:
            for _ in range(20):
                np.testing.assert_allclose(C.conv2d(npg.tensor(x), npg.tensor(w), padding=1).data, want,
                                           rtol=1e-12, atol=1e-12)
        except BaseException as e:   # (reported by the main thread)
            errors.append(e)
    ts = [threading.Thread(target=work) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[0]
    assert _blas.blas_threads() == before


def _child(q):
    from npgrad.ops import conv_blocked
    conv_blocked.THREAD_MIN_BYTES, conv_blocked.THREAD_BLOCK_BYTES = 1, 1
    conv_blocked.blas_threads = lambda: 2
    x, w = _rand((2, 3, 6, 6), np.float64, 0), _rand((4, 3, 3, 3), np.float64, 1)
    q.put(np.asarray(C.conv2d(npg.tensor(x), npg.tensor(w), padding=1).data))


@pytest.mark.skipif(not hasattr(multiprocessing, "get_context") or sys.platform != "linux", reason="fork: Linux")
def test_a_forked_child_runs_threaded_convolutions(threaded):
    """A child forked after the parent used its worker threads has none of them: it makes its own (a pool
    inherited across fork would wait forever for threads that do not exist)."""
    import torch
    x, w = _rand((2, 3, 6, 6), np.float64, 0), _rand((4, 3, 3, 3), np.float64, 1)
    C.conv2d(npg.tensor(x), npg.tensor(w), padding=1)
    assert threaded and B._pool is not None
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    np.testing.assert_allclose(got, F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy(), rtol=1e-12)


def test_set_num_threads_inside_a_threaded_call_holds_afterwards():
    """npg.set_num_threads(n) while a threaded convolution holds OpenBLAS at one thread takes effect when it
    ends (instead of being undone by the convolution's restore)."""
    before = _blas.blas_threads()
    try:
        with _blas.single_threaded():
            npg.set_num_threads(3)
            assert _blas.blas_threads() == 1
        assert npg.get_num_threads() == 3
    finally:
        npg.set_num_threads(before)
    assert _blas.blas_threads() == before


def _child_threads(q):
    q.put((_blas._depth, _blas.blas_threads()))


def test_a_child_forked_during_a_threaded_call_gets_blas_threads_back():
    """Forked while another thread holds OpenBLAS at one thread (a threaded convolution running), the child
    starts with the parent's count and no open context."""
    before = _blas.blas_threads()
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with _blas.single_threaded() as on:
        p = ctx.Process(target=_child_threads, args=(q,))
        p.start()
    depth, threads = q.get(timeout=60)
    p.join(timeout=60)
    assert on and depth == 0 and threads == before
