"""How many threads NumPy's BLAS runs a product on: OpenBLAS's own count (the library NumPy's wheels bundle,
found among the process's loaded libraries and asked through ctypes; threadpoolctl's limits are seen), else
the environment (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS), else the CPUs this process may use.
ops/conv_blocked.py picks its algorithm by it, and runs its threaded path under ``single_threaded()``."""
import ctypes
import os
import threading

_NAMES = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
          "openblas_get_num_threads")
_get = None   # OpenBLAS's get_num_threads, or False when no OpenBLAS is loaded
_set = None   # ... and its set_num_threads


def _lookup():
    try:
        with open("/proc/self/maps") as f:   # (Linux) the shared libraries loaded into this process
            paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower() and ".so" in ln})
    except OSError:
        return False
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            fn = getattr(lib, name, None)
            setter = getattr(lib, name.replace("get_num", "set_num"), None)
            if fn is not None:
                fn.restype, fn.argtypes = ctypes.c_int, ()
                if setter is not None:
                    global _set
                    setter.restype, setter.argtypes = None, (ctypes.c_int,)
                    _set = setter
                return fn
    return False


def blas_threads():
    """The number of threads a BLAS product runs on (at least 1)."""
    global _get
    if _get is None:
        _get = _lookup()
    if _get:
        return max(1, _get())
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        try:
            return max(1, int(os.environ[var].split(",")[0]))
        except (KeyError, ValueError):
            continue
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_lock = threading.Lock()
_depth = 0       # single_threaded() contexts open in any thread
_saved = None    # the thread count to restore when the last one closes


class single_threaded:
    """Within this context OpenBLAS runs every product on one thread (for code that splits its work over
    threads itself). Nested or concurrent uses share one setting: the first to enter saves OpenBLAS's count,
    the last to leave restores it. ``enter()`` returns False, and nothing changes, when npgrad cannot set
    OpenBLAS's thread count (another BLAS, or none found)."""

    __slots__ = ("on",)

    def __enter__(self):
        global _depth, _saved
        if _get is None:
            blas_threads()
        self.on = bool(_get) and _set is not None
        if self.on:
            with _lock:
                if _depth == 0:
                    _saved = _get()
                    _set(1)
                _depth += 1
        return self.on

    def __exit__(self, *exc):
        global _depth
        if self.on:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    _set(_saved)
        return False


def _after_fork_in_child():
    """A child forked while another thread of the parent held single_threaded() open: that thread does not
    exist here, so its context never closes; put OpenBLAS's count back and forget the context."""
    global _depth, _lock
    _lock = threading.Lock()
    if _depth:
        _depth = 0
        _set(_saved)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def can_set_threads():
    """Whether ``single_threaded()`` can take effect (OpenBLAS's set_num_threads was found)."""
    if _get is None:
        blas_threads()
    return bool(_get) and _set is not None


def set_blas_threads(n):
    """Set OpenBLAS's thread count to ``n`` (npg.set_num_threads); False when it cannot be set. Inside an open
    ``single_threaded()`` context the count takes effect when the last one closes."""
    global _saved
    if not can_set_threads():
        return False
    with _lock:
        if _depth:
            _saved = n
        else:
            _set(n)
    return True
