"""Each backend alone in its own process, as a user runs it: the workloads of bench/run.py, timed per backend in
a fresh interpreter with that library's default settings.

    python bench/alone.py                          # cnn, attention, depthwise, mlp, psg_cnn, psg_mlp, train
    python bench/alone.py --only cnn,mlp --threads 1 --rounds 5

bench/run.py times every backend in ONE process, so that they share the machine's state; but they then also
share the C library's allocator state. Since importing npgrad keeps freed memory mapped (glibc ``mallopt``,
npgrad/memory.py), PyTorch and the hand-written NumPy in run.py's process get that setting too, and before
it, their allocations kept the heap mapped for npgrad. Here each backend runs in its own process: npgrad
with its default (freed memory kept mapped), PyTorch and the hand-written NumPy with glibc's defaults
(``NPGRAD_KEEP_FREED_MEMORY=0`` in their processes, which matters only where the workload imports npgrad
too: the ``train`` workload's PyTorch twin starts from npgrad's initial weights). The minor page faults per
step are reported beside the times.

Each round starts one process per backend (in rotating order); a process warms up, then times ``--steps``
steps (``time.perf_counter``) and reports their median. The figure is the median over the rounds. BLAS
threads: ``--threads`` (OPENBLAS/OMP/MKL_NUM_THREADS and torch.set_num_threads), 2 by default. No gradient
check here: bench/run.py checks every backend against the reference before timing it.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = "cnn,attention,depthwise,mlp,psg_cnn,psg_mlp,train"
BACKENDS = ("npgrad", "torch", "numpy")


def worker(name, backend, steps, threads, size="full"):
    sys.path.insert(0, ROOT)
    import numpy as np
    from bench._harness import Skip
    from bench.workloads import WORKLOADS
    if backend == "torch":
        import torch
        torch.set_num_threads(threads)
    wl = WORKLOADS[name]
    out = dict(workload=name, backend=backend)
    if backend not in wl.backends:
        out["skip"] = "no such backend"
        return out
    inputs = wl.make(size, np.random.default_rng(0))
    try:
        if wl.kind == "e2e":
            if backend != "npgrad" and "npgrad" in wl.backends:
                wl.backends["npgrad"](dict(inputs, n_steps=1))   # (the PyTorch twin starts from npgrad's weights)
            fn = wl.backends[backend]
            fn(dict(inputs, n_steps=3))
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            seconds, losses = fn(inputs)
            out.update(seconds=seconds, faults=resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0,
                       unit="run", loss=float(np.mean(losses[-10:])))
            return out
        runner = wl.backends[backend](inputs)
    except Skip as e:
        out["skip"] = str(e)
        return out
    for _ in range(5):
        loss, _ = runner.step()
    times = []
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        t = time.perf_counter()
        runner.step()
        times.append(time.perf_counter() - t)
    out.update(seconds=float(np.median(times)), unit="step", loss=float(loss),
               faults=(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / steps,
               npgrad_imported="npgrad" in sys.modules)
    return out


def run_one(name, backend, steps, threads, size="full"):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    if backend != "npgrad":
        env["NPGRAD_KEEP_FREED_MEMORY"] = "0"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, backend, str(steps), str(threads), size]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return json.loads(lines[0][len("RESULT "):])


def _fmt(seconds, unit):
    if unit == "run":
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=DEFAULT, help=f"comma-separated workloads (default {DEFAULT})")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=40, help="timed steps per process (train: one whole run)")
    ap.add_argument("--size", default="full", choices=("full", "quick", "tiny"), help="the workloads' size")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        name, backend, steps, threads, size = args.worker
        print("RESULT " + json.dumps(worker(name, backend, int(steps), int(threads), size)), flush=True)
        return
    names = [n for n in args.only.split(",") if n]
    print(f"each backend alone in its own process; {args.threads} BLAS thread(s); median of {args.rounds} round(s) "
          f"of {args.steps} steps; load average {os.getloadavg()[0]:.1f} at the start\n")
    print("| workload | npgrad | PyTorch | hand-written NumPy | npgrad / PyTorch | npgrad / NumPy | "
          "faults/step npgrad, PyTorch, NumPy |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        runs = {b: [] for b in BACKENDS}
        for r in range(args.rounds):
            order = BACKENDS[r % 3:] + BACKENDS[:r % 3]
            for b in order:
                runs[b].append(run_one(name, b, args.steps, args.threads, args.size))
        med, faults, unit = {}, {}, "step"
        for b, rs in runs.items():
            ok = [x for x in rs if "skip" not in x]
            if ok:
                ok.sort(key=lambda x: x["seconds"])
                mid = ok[len(ok) // 2]
                med[b], faults[b], unit = mid["seconds"], mid["faults"], mid["unit"]

        def cell(b):
            return _fmt(med[b], unit) if b in med else "-"

        def ratio(b):
            return f"{med['npgrad'] / med[b]:.2f}x" if b in med and "npgrad" in med else "-"
        fl = ", ".join(f"{faults[b]:.0f}" if b in faults else "-" for b in BACKENDS)
        print(f"| {name} | {cell('npgrad')} | {cell('torch')} | {cell('numpy')} | {ratio('torch')} | "
              f"{ratio('numpy')} | {fl} |", flush=True)


if __name__ == "__main__":
    main()
