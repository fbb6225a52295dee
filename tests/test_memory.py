"""npgrad.memory.keep_freed_memory: freed blocks stay mapped (no page fault when the next step allocates
them again), by default from ``import npgrad`` on, and glibc's defaults come back when it is turned off
(``keep_freed_memory(False)`` or ``NPGRAD_KEEP_FREED_MEMORY=0``). Measured in a fresh interpreter: in a long
test session earlier frees leave large free chunks in the heap that serve the allocation either way; and 2 MiB
arrays, because NumPy asks for transparent huge pages from 4 MiB up (a few faults per array, machine-dependent);
four of them alive at once, so that glibc's own dynamic thresholds trim the heap's top (one array at a time
stays mapped even with glibc's defaults, which raise the mmap threshold to the size of a freed block)."""
import os
import subprocess
import sys

import pytest

from npgrad import memory

_MEASURE = """
import resource, sys
import numpy as np
{setup}
def step():   # four 2 MiB arrays alive at once, then freed: the heap's top is trimmed with glibc's defaults
    a = [np.ones(1 << 18) for _ in range(4)]
    del a
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(enabled=None, env=None):
    """Page faults per allocate-touch-free of a 2 MiB array in a fresh interpreter that imported npgrad (then
    called keep_freed_memory(enabled) unless ``enabled`` is None), with ``env`` added to the environment."""
    setup = "import npgrad" + ("" if enabled is None else f"\nassert npgrad.memory.keep_freed_memory({enabled})")
    out = subprocess.run([sys.executable, "-c", _MEASURE.format(setup=setup)], capture_output=True, text=True,
                         check=True, env=dict(os.environ, **(env or {})))
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_memory_is_reused_without_page_faults():
    default, kept = _faults_per_step(False), _faults_per_step(True)
    assert default > 1000          # the blocks are unmapped at free and faulted in again (4 x 512 pages of 4 KiB)
    assert kept < default / 20     # kept mapped: reused as it is


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_importing_npgrad_keeps_freed_memory_unless_the_environment_says_0():
    default = _faults_per_step(False)
    assert _faults_per_step() < default / 20                                            # on by default
    assert _faults_per_step(env={"NPGRAD_KEEP_FREED_MEMORY": "0"}) > default / 2        # off: glibc's own
    assert memory.is_keeping_freed_memory()   # (this test session imported npgrad without the variable)


def test_a_bad_environment_value_is_an_error_naming_the_variable():
    out = subprocess.run([sys.executable, "-c", "import npgrad"], capture_output=True, text=True,
                         env=dict(os.environ, NPGRAD_KEEP_FREED_MEMORY="maybe"))
    assert out.returncode != 0 and "NPGRAD_KEEP_FREED_MEMORY must be 1 or 0, got 'maybe'" in out.stderr


@pytest.mark.parametrize("bad", [dict(mmap_mb=-1), dict(trim_mb="big"), dict(top_pad_mb=True), dict(mmap_mb=4096)])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="keep_freed_memory"):
        memory.keep_freed_memory(**bad)
