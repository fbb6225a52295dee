"""Benchmark: peak memory of one training step, for every backend, measured one way (the kernel's).

    python bench/peak_memory.py [--only inplace,cnn] [--size full]

bench/run.py measures peak memory with tracemalloc, which cannot see PyTorch's allocations. Here each
backend runs in a fresh process: one untimed step (imports, caches, allocator warm-up), then the peak
resident set size is reset (``/proc/self/clear_refs``, Linux) and one more step runs. Reported:

* peak: the process's peak resident memory during the step above what was resident before it
  (``VmHWM`` after the step minus ``VmRSS`` before it);
* held: resident memory after the step (its outputs and gradients still referenced) minus before.

Page-granular and allocator-dependent (freed memory a malloc keeps counts as resident), the same for
every backend. Needs Linux.
"""
import argparse
import gc
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

BACKENDS = ("npgrad", "numpy", "torch")


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure(workload, backend, size):
    import numpy as np
    from bench.workloads import WORKLOADS
    w = WORKLOADS[workload]
    runner = w.backends[backend](w.make(size, np.random.default_rng(0)))
    runner.step()  # warm-up: imports, caches, first-touch pages
    if runner.reset:
        runner.reset()
    gc.collect()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    out = runner.step()
    peak = _status("VmHWM") - before
    gc.collect()
    held = _status("VmRSS") - before
    del out
    return peak, held


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="inplace", help="comma-separated workloads (default: inplace)")
    ap.add_argument("--size", default="full", choices=["full", "quick", "tiny"])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # internal: workload backend
    args = ap.parse_args()
    if args.child:
        peak, held = _measure(args.child[0], args.child[1], args.size)
        print(peak, held)
        return
    if not sys.platform.startswith("linux"):
        sys.exit("peak_memory.py needs Linux (/proc/self/status, clear_refs)")
    from bench.workloads import WORKLOADS
    print("| workload | backend | peak MiB | held after step MiB | peak / torch |")
    print("|---|---|---|---|---|")
    for workload in args.only.split(","):
        results = {}
        for backend in BACKENDS:
            if backend not in WORKLOADS[workload].backends:
                print(f"| {workload} | {backend} | not applicable | | |")
                continue
            proc = subprocess.run([sys.executable, __file__, "--child", workload, backend, "--size", args.size],
                                  capture_output=True, text=True)
            if proc.returncode:
                last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                print(f"| {workload} | {backend} | skipped: {last} | | |")
                continue
            results[backend] = tuple(int(v) for v in proc.stdout.split()[-2:])
        for backend, (peak, held) in results.items():
            ratio = f"{peak / results['torch'][0]:.2f}x" if "torch" in results and results["torch"][0] else "n/a"
            print(f"| {workload} | {backend} | {peak / 2**20:.1f} | {held / 2**20:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
