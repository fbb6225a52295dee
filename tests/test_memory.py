"""npgrad.memory.keep_freed_memory: freed blocks stay mapped (no page fault when the next step allocates
them again), and glibc's defaults come back when it is turned off. Measured in a fresh interpreter: in a long
test session earlier frees leave large free chunks in the heap that serve the allocation either way; and 2 MiB
arrays, because NumPy asks for transparent huge pages from 4 MiB up (a few faults per array, machine-dependent)."""
import subprocess
import sys

import pytest

from npgrad import memory

_MEASURE = """
import resource, sys
import numpy as np
from npgrad import memory
assert memory.keep_freed_memory({enabled})
a = np.ones(1 << 18)   # 2 MiB (below the 4 MiB where NumPy asks for huge pages): allocate, touch, free
del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    a = np.ones(1 << 18)
    del a
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(enabled):
    out = subprocess.run([sys.executable, "-c", _MEASURE.format(enabled=enabled)], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_memory_is_reused_without_page_faults():
    default, kept = _faults_per_step(False), _faults_per_step(True)
    assert default > 100           # a 2 MiB block is unmapped at free and faulted in again (512 pages of 4 KiB)
    assert kept < default / 20     # kept mapped: reused as it is


@pytest.mark.parametrize("bad", [dict(mmap_mb=-1), dict(trim_mb="big"), dict(top_pad_mb=True), dict(mmap_mb=4096)])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="keep_freed_memory"):
        memory.keep_freed_memory(**bad)
