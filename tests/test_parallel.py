"""npgrad/_parallel.py: the thread pool of the parallel kernels. Results must not depend on the thread
count, errors in a worker must surface in the caller, and a busy pool must not deadlock."""
import os
import threading

import numpy as np
import pytest

import npgrad as npg
from npgrad import _parallel


@pytest.fixture
def threads():
    old = npg.get_num_threads()
    yield
    npg.set_num_threads(old)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
@pytest.mark.parametrize("t", [1, 2, 3, 8])
def test_ranges_cover_in_order(threads, n, t):
    npg.set_num_threads(t)
    parts = _parallel.parallel_for(lambda lo, hi: list(range(lo, hi)), n)
    assert len(parts) == min(t, n)
    assert sum(parts, []) == list(range(n))


def test_workers_run_on_other_threads(threads):
    npg.set_num_threads(2)
    names = _parallel.parallel_for(lambda lo, hi: threading.current_thread().name, 2)
    assert names[1] == threading.current_thread().name and names[0] != names[1]


def test_a_workers_error_is_raised_in_the_caller(threads):
    npg.set_num_threads(2)

    def f(lo, hi):
        if lo == 0:
            raise ValueError("piece 0 failed")
        return hi

    with pytest.raises(ValueError, match="piece 0 failed"):
        _parallel.parallel_for(f, 4)
    assert _parallel.parallel_for(lambda lo, hi: hi - lo, 4) == [2, 2]   # the pool still works


def test_nested_calls_run_serially(threads):
    npg.set_num_threads(2)
    inner = _parallel.parallel_for(lambda lo, hi: _parallel.parallel_for(lambda a, b: (a, b), 4), 2)
    # the outer call holds the pool: each inner call runs its whole range in its own thread
    assert inner == [[(0, 4)], [(0, 4)]]


@pytest.mark.parametrize("shape", [(1, 5, 7), (6, 5), (0, 3), (3,)])
def test_parallel_copyto_equals_copyto(threads, monkeypatch, shape):
    npg.set_num_threads(2)
    monkeypatch.setattr(_parallel, "COPY_MIN", 1)
    src = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)[..., ::-1]
    dst = np.zeros(shape, np.float32)
    _parallel.parallel_copyto(dst, src)
    np.testing.assert_array_equal(dst, src)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects(bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        npg.set_num_threads(bad)


def test_default_from_environment(monkeypatch):
    monkeypatch.setenv("NPGRAD_NUM_THREADS", "3")
    assert _parallel._default_threads() == 3
    monkeypatch.delenv("NPGRAD_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _parallel._default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "many")      # not ours to reject: the CPU count is used
    assert _parallel._default_threads() >= 1
    monkeypatch.setenv("NPGRAD_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="NPGRAD_NUM_THREADS"):
        _parallel._default_threads()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pool_works_in_a_forked_child(threads):
    npg.set_num_threads(2)
    _parallel.parallel_for(lambda lo, hi: None, 2)    # workers started in the parent
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: the parent's worker threads do not exist here
        try:
            ok = _parallel.parallel_for(lambda lo, hi: hi - lo, 4) == [2, 2]
        except BaseException:
            ok = False
        os.write(w, b"1" if ok else b"0")
        os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.waitpid(pid, 0)
    assert got == b"1"
