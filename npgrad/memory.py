"""Keeping freed memory mapped between training steps (glibc on Linux), the size limit of a convolution's
column matrix (``set_conv_column_limit``), and the size from which the graph frees the outputs no backward
reads (``set_free_unread_min``).

A training step allocates the same large arrays every time (activations, gradients, the temporaries of
each op) and frees them again. glibc's malloc gives large freed blocks back to the operating system (blocks
above its mmap threshold are unmapped at once; the top of the heap is trimmed past its trim threshold), so
the next step maps them in again, and the kernel zero-fills every 4 KiB page on first touch: a minor page
fault per page. Measured on the 2-core VM of the README's benchmarks, npgrad alone in its process, one
thread, CPU time per step with glibc's defaults -> with the settings below: cnn 17.6 -> 11.4 ms (2,535 -> 1
faults per step), attention 31.9 -> 19.3 ms, the MobileNet block 21.8 -> 9.6 ms, resnet 196 -> 160 ms, the
DP CNN's per-sample gradients 19.1 -> 14.2 ms, ``(x * x).mean().backward()`` on a 3 MiB x 8.0 -> 0.6 ms.

So npgrad applies ``keep_freed_memory()`` when it is imported: glibc's thresholds are raised (``mallopt``)
so that freed blocks stay mapped and are reused, the same effect as a per-shape buffer pool for every array
NumPy allocates, without copying. The price: the process keeps up to ``trim_mb`` of freed memory beyond what
it uses (its resident size does not shrink after a peak), and arrays below ``mmap_mb`` come from the heap.
It affects the whole process (every library's mallocs). To keep glibc's own behaviour, set
``NPGRAD_KEEP_FREED_MEMORY=0`` in the environment before importing npgrad, or call
``npgrad.memory.keep_freed_memory(False)``, which puts glibc's default values back (128 KiB thresholds;
glibc's dynamic threshold adjustment stays off once mallopt has been called).

On other platforms (macOS, Windows, musl) it does nothing and returns False.
"""
import ctypes
import os
import sys

from . import _freeing

__all__ = ["keep_freed_memory", "is_keeping_freed_memory", "set_conv_column_limit", "get_conv_column_limit",
           "set_free_unread_min", "get_free_unread_min"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_GLIBC_DEFAULT = 128 * 1024
_libc = None
_kept = False   # whether the settings of keep_freed_memory() are in force


def _mallopt():
    global _libc
    if not sys.platform.startswith("linux"):
        return None
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")   # (not ctypes.util.find_library: it runs ldconfig)
            _libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
            _libc.mallopt.restype = ctypes.c_int
            _libc.gnu_get_libc_version   # (glibc only: musl has no mallopt thresholds)
        except (OSError, AttributeError):
            _libc = False
    return _libc.mallopt if _libc else None


def keep_freed_memory(enabled=True, mmap_mb=256, trim_mb=512, top_pad_mb=64):
    """Keep freed memory mapped for reuse (see the module docstring): allocations below ``mmap_mb`` come
    from the heap, up to ``trim_mb`` of free heap top is kept, and the heap grows ``top_pad_mb`` at a time.
    ``enabled=False`` restores glibc's defaults. Returns True if the settings were applied (glibc), False
    elsewhere."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    for name, v in (("mmap_mb", mmap_mb), ("trim_mb", trim_mb), ("top_pad_mb", top_pad_mb)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 2048:
            raise ValueError(f"keep_freed_memory: {name} must be a number of MiB in [0, 2048), got {v!r}")
    global _kept
    if enabled:
        settings = ((_M_MMAP_THRESHOLD, int(mmap_mb * 2**20)), (_M_TRIM_THRESHOLD, int(trim_mb * 2**20)),
                    (_M_TOP_PAD, int(top_pad_mb * 2**20)))
    else:
        settings = ((_M_MMAP_THRESHOLD, _GLIBC_DEFAULT), (_M_TRIM_THRESHOLD, _GLIBC_DEFAULT), (_M_TOP_PAD, 0))
    ok = all(mallopt(param, value) == 1 for param, value in settings)
    _kept = bool(enabled and ok)
    return ok


def is_keeping_freed_memory():
    """Whether the settings of ``keep_freed_memory()`` are in force (by default after ``import npgrad`` on
    glibc, unless ``NPGRAD_KEEP_FREED_MEMORY=0``)."""
    return _kept


def set_conv_column_limit(nbytes):
    """Build a convolution's column matrix (im2col: input channels x kernel size rows, one column per output
    position and sample), and the column gradient of its input gradient, in blocks of about ``nbytes`` when
    it would be larger than twice that, so that no step holds a whole one; ``None``: never. Returns the
    previous limit. The default, 32 MiB, leaves the benchmarks' matrices whole (7-19 MB) and keeps a large
    image model's (a 3x3 convolution of 64 channels on 56x56 maps at batch 32 has a 231 MB one) from holding
    hundreds of MB per layer. Smaller blocks lower the peak memory at some speed: 2 MiB took the cnn
    benchmark's peak from 19.7 to 14.8 MiB and made its step 3-10% slower (two BLAS threads; OpenBLAS runs
    small GEMMs on fewer threads). At one BLAS thread the convolution also uses cache-sized blocks."""
    from .ops import conv_blocked
    if nbytes is not None and (not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1):
        raise ValueError(f"set_conv_column_limit: nbytes must be a positive int or None, got {nbytes!r}")
    prev, conv_blocked.BOUND_BYTES = conv_blocked.BOUND_BYTES, nbytes
    return prev


def get_conv_column_limit():
    """The limit set by :func:`set_conv_column_limit` (bytes, or None)."""
    from .ops import conv_blocked
    return conv_blocked.BOUND_BYTES


def set_free_unread_min(elements):
    """Free the values of intermediate tensors that no backward reads as soon as nothing else refers to them,
    for ops whose output has at least ``elements`` elements; ``None``: never. Returns the previous setting.

    A recorded tensor is its own graph node, so the graph holds it. PyTorch's graph keeps only the values its
    backward reads, and frees an output such as a convolution's before ReLU (ReLU's backward reads its own
    output) once the user's code has dropped it. npgrad does the same (npgrad/_freeing.py): when an op is
    recorded, the inputs of its inputs that are held by nothing but the graph (no name, container, hook, view or
    weak reference), whose own backward does not read their value and whose array no op saved, give their array
    back; the tensor stays in the graph with its shape and dtype. One still held by a name is checked again a
    few ops later and when backward starts. The checks cost ~0.3 us per op, more than freeing gains on small
    arrays; from about 1,000 elements freeing is faster (the freed memory is reused while it is in the cache).
    With the default, 1024, the benchmarks' peak memory per step went from 19.1 to 14.5 MiB (cnn), 21.3 to
    16.5 MiB (attention) and 81.0 to 57.5 MiB (resnet); 0 frees small arrays too (the graph memory of
    bench/graph_memory.py's chain of (16,) tensors: 467 -> 318 bytes per op)."""
    if elements is not None and (not isinstance(elements, int) or isinstance(elements, bool) or elements < 0):
        raise ValueError(f"set_free_unread_min: elements must be an int >= 0 or None, got {elements!r}")
    prev = get_free_unread_min()
    _freeing.min_size = float("inf") if elements is None else elements
    return prev


def get_free_unread_min():
    """The setting of :func:`set_free_unread_min` (elements, or None)."""
    m = _freeing.min_size
    return None if m == float("inf") else m


_env = os.environ.get("NPGRAD_KEEP_FREED_MEMORY", "1").strip().lower()
if _env not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
    raise ValueError(f"NPGRAD_KEEP_FREED_MEMORY must be 1 or 0, got {_env!r}")
if _env not in ("0", "false", "no", "off"):
    keep_freed_memory()
