"""How many threads NumPy's BLAS runs a product on: OpenBLAS's own count (the library NumPy's wheels bundle,
found among the process's loaded libraries and asked through ctypes; threadpoolctl's limits are seen), else
the environment (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS), else the CPUs this process may use.
ops/conv_blocked.py picks its algorithm by it."""
import ctypes
import os

_NAMES = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
          "openblas_get_num_threads")
_get = None   # OpenBLAS's get_num_threads, or False when no OpenBLAS is loaded


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
            if fn is not None:
                fn.restype, fn.argtypes = ctypes.c_int, ()
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
