"""npgrad.memory.keep_freed_memory: freed blocks stay mapped (no page fault when the next step allocates
them again), and glibc's defaults come back when it is turned off."""
import resource
import sys

import numpy as np
import pytest

from npgrad import memory


def _faults_per_step(steps=20, nbytes=8 << 20):
    """Minor page faults per allocate-touch-free step of an 8 MiB array (as a training step's temporaries)."""
    a = np.ones(nbytes // 8)   # warm up
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        a = np.ones(nbytes // 8)
        del a
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_memory_is_reused_without_page_faults():
    try:
        assert memory.keep_freed_memory(False)
        default = _faults_per_step()
        assert memory.keep_freed_memory()
        kept = _faults_per_step()
    finally:
        memory.keep_freed_memory(False)
    assert default > 100           # an 8 MiB block is unmapped at free and faulted in again (516 here)
    assert kept < default / 20     # kept mapped: reused as it is


@pytest.mark.parametrize("bad", [dict(mmap_mb=-1), dict(trim_mb="big"), dict(top_pad_mb=True), dict(mmap_mb=4096)])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="keep_freed_memory"):
        memory.keep_freed_memory(**bad)
