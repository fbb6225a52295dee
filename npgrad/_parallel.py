"""Intra-op parallelism: the heavy loops that split into independent pieces run on a few threads.

NumPy's kernels (copies, ufuncs, reductions, BLAS calls) release the GIL, so two Python threads that each
run NumPy over their own part of an array run on two cores. BLAS already uses every core inside one large
GEMM; what it leaves on one core are the copies, elementwise passes and small GEMMs around it (an im2col
copy, a convolution built block by block, pooling, a softmax). PyTorch runs those on its intra-op thread
pool; here the few kernels that measured faster split their work with ``parallel_for`` (the callers name
their measurements). The split is static (piece i always goes to the same range), so results do not depend
on which thread finishes first: a sum of partial results is added in range order.

``npg.set_num_threads(n)`` sets the number of threads (1 turns this off: every kernel runs in the calling
thread, as before); the default is the ``NPGRAD_NUM_THREADS``, then ``OMP_NUM_THREADS`` environment
variable, else the CPUs this process may run on, at most 8. A call made while the pool is busy (from a
worker, or from a second user thread) runs serially in its own thread.
"""
import os
import queue
import threading

import numpy as np

__all__ = ["get_num_threads", "set_num_threads", "parallel_for", "threads_for", "parallel_copyto"]

_MAX_DEFAULT = 8
_num_threads = None
_workers = []          # (thread, task queue) per worker; started on first use
_busy = threading.Lock()


def _default_threads():
    for var in ("NPGRAD_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v:
            try:
                return max(1, int(v.split(",")[0]))
            except ValueError:
                if var == "NPGRAD_NUM_THREADS":   # (an OMP_NUM_THREADS meant for another library is skipped)
                    raise ValueError(f"{var}={v!r}: expected a positive integer number of threads") from None
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, _MAX_DEFAULT))


def get_num_threads():
    """The number of threads npgrad's parallel kernels use (PyTorch's ``torch.get_num_threads``)."""
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_threads()
    return _num_threads


def set_num_threads(n):
    """Use ``n`` threads in npgrad's parallel kernels (convolution, pooling, ...); 1 runs everything in the
    calling thread. NumPy's BLAS keeps its own thread count (``OPENBLAS_NUM_THREADS`` or threadpoolctl)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _num_threads = n


def _worker(tasks):
    while True:
        fn, lo, hi, out, i, done = tasks.get()
        try:
            out[i] = (True, fn(lo, hi))
        except BaseException as e:   # re-raised in the calling thread
            out[i] = (False, e)
        done.put(None)


def _ensure_workers(n):
    while len(_workers) < n:
        tasks = queue.SimpleQueue()
        t = threading.Thread(target=_worker, args=(tasks,), name=f"npgrad-worker-{len(_workers)}", daemon=True)
        t.start()
        _workers.append((t, tasks))


def _after_fork():
    # a forked child (DataLoader workers, multiprocessing) has none of the parent's threads
    global _busy
    _workers.clear()
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def threads_for(work, min_work):
    """How many threads a kernel should split ``work`` units over: 1 when it is smaller than ``min_work``
    per thread (the hand-off costs ~20-60 us), else up to ``get_num_threads()``."""
    n = get_num_threads()
    if n <= 1 or work < 2 * min_work:
        return 1
    return int(min(n, work // min_work))


def parallel_for(fn, n, threads=None):
    """``[fn(lo, hi) for each range]`` over ``range(n)`` split into ``threads`` contiguous ranges (default
    ``get_num_threads()``, at most ``n``), the first ones on worker threads and the last in this one. The
    results come back in range order. ``fn`` must only run NumPy on its own part of the data (no npgrad
    ops: grad mode and the graph belong to the calling thread)."""
    t = min(get_num_threads() if threads is None else threads, n)
    if t <= 1 or not _busy.acquire(blocking=False):
        return [fn(0, n)]
    try:
        _ensure_workers(t - 1)
        bounds = [n * i // t for i in range(t + 1)]
        out = [None] * t
        done = queue.SimpleQueue()
        for i in range(t - 1):
            _workers[i][1].put((fn, bounds[i], bounds[i + 1], out, i, done))
        try:
            out[t - 1] = (True, fn(bounds[t - 1], bounds[t]))
        except BaseException as e:
            out[t - 1] = (False, e)
        for _ in range(t - 1):
            done.get()
    finally:
        _busy.release()
    for ok, v in out:
        if not ok:
            raise v
    return [v for _, v in out]


COPY_MIN = 1 << 21     # elements per thread below which a copy runs in one thread


def parallel_copyto(dst, src):
    """``np.copyto(dst, src)`` (same shapes), split along the first axis longer than 1 over threads when it
    is large (a strided copy of an im2col window view: 32x16x32x32, 3x3, 1.7 -> 1.0 ms on 2 cores; copies
    of fewer than ``COPY_MIN`` elements per thread measured no faster)."""
    t = threads_for(dst.size, COPY_MIN)
    ax = next((i for i, n in enumerate(dst.shape) if n > 1), None)
    if t == 1 or ax is None:
        np.copyto(dst, src)
        return
    lead = (slice(None),) * ax

    def copy(lo, hi):
        np.copyto(dst[lead + (slice(lo, hi),)], src[lead + (slice(lo, hi),)])

    parallel_for(copy, dst.shape[ax], t)
