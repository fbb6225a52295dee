"""npgrad's side-by-side benchmark: npgrad, hand-written NumPy, PyTorch, MyGrad, HIPS autograd.

    python bench/run.py                      # every workload, 20 interleaved repeats
    python bench/run.py --quick              # smaller sizes, 5 repeats
    python bench/run.py --only mlp,cnn --repeats 50 --threads 1
    python bench/run.py --only cnn --profile # + where npgrad's time goes (cProfile, top functions)

For each workload every backend runs in this one process: first each backend's loss and
gradients are checked against the hand-written NumPy reference (a disagreement is reported loudly
and that backend is not timed), then after warm-up each repeat runs every backend once in a
rotating order, and the table shows the median (and min) per step, ratios to NumPy and PyTorch,
and the peak extra memory of one step (tracemalloc; PyTorch's own allocator is invisible to it).
The garbage collector stays on, as in a training loop. Peers come from the ``bench`` extra:
``pip install -e ".[bench]"``; a backend that is missing or cannot express a workload is skipped.
"""
import argparse
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from bench._harness import BACKENDS, run_workload, table, target_lines  # noqa: E402
from bench.workloads import GROUPS, WORKLOADS  # noqa: E402


# glibc: serve every allocation from the heap and never give freed memory back, so that a step reuses
# pages the previous step already faulted in (the default returns large blocks to the kernel on free)
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**31),
                "MALLOC_TOP_PAD_": str(2**26)}


_KEEP = []


def bench_env(args):
    """The environment this run needs, or None if the current one will do (or we are not __main__).

    OpenBLAS's idle worker threads busy-wait for about 2**28 cycles (~0.1 s) after each call before
    sleeping; in one process that interleaves NumPy and PyTorch, they then hold a core while PyTorch's
    OpenMP threads need both (measured here: PyTorch's mlp step 2.3 ms alone, 6.5 ms interleaved with
    NumPy). OPENBLAS_THREAD_TIMEOUT=4 (2**4 cycles) lets them sleep at once; it does not slow NumPy.
    (libgomp's workers spin for a few ms, within the untimed --settle step.)
    """
    if __name__ != "__main__" or os.environ.get("_NPGRAD_BENCH_CHILD"):
        return None
    extra = {}
    if not args.keep_env and "OPENBLAS_THREAD_TIMEOUT" not in os.environ:
        extra["OPENBLAS_THREAD_TIMEOUT"] = "4"
    if args.malloc_tuned:
        extra.update({k: v for k, v in MALLOC_TUNED.items() if k not in os.environ})
    if not extra:
        return None
    return dict(os.environ, _NPGRAD_BENCH_CHILD="1", **extra)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """(description, thread count) of the BLAS NumPy uses."""
    try:
        import threadpoolctl
        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                desc = f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture', '?')}, " \
                       f"{info.get('threading_layer', '?')})"
                return desc, info.get("num_threads")
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}", None
    except Exception:
        return "unknown", None


def set_threads(n):
    """Give NumPy's BLAS and PyTorch the same number of threads; returns the threadpoolctl limiter."""
    limiter = None
    if n is not None:
        try:
            import threadpoolctl
            limiter = threadpoolctl.threadpool_limits(limits=n, user_api="blas")
        except ImportError:
            print("warning: threadpoolctl is not installed; NumPy's BLAS thread count is left alone")
    try:
        import torch
        if n is not None:
            torch.set_num_threads(n)
    except ImportError:
        pass
    return limiter


def machine_report():
    lines = []
    try:
        ncores = len(os.sched_getaffinity(0))
    except AttributeError:
        ncores = os.cpu_count()
    lines.append(f"machine : {cpu_model()}, {ncores} cores available ({os.cpu_count()} online), "
                 f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    lines.append(f"python  : {platform.python_version()} ({platform.system()} {platform.machine()})")
    desc, nthreads = blas_info()
    lines.append(f"numpy   : {np.__version__}, BLAS {desc}, {nthreads} threads")
    try:
        import torch
        lines.append(f"torch   : {torch.__version__}, {torch.get_num_threads()} threads (intra-op)")
    except ImportError:
        lines.append("torch   : not installed")
    for mod in ("npgrad", "mygrad", "autograd"):
        try:
            m = __import__(mod)
            version = getattr(m, "__version__", None)
            if version is None:
                from importlib.metadata import version as _v
                version = _v(mod)
            lines.append(f"{mod:8s}: {version}")
        except Exception:
            lines.append(f"{mod:8s}: not installed")
    return "\n".join(lines)


def profile_npgrad(wl, size, steps, top):
    """cProfile npgrad's step on ``wl``; returns the report text (top functions by own time)."""
    import cProfile
    import pstats

    rng = np.random.default_rng(0)
    inputs = wl.make(size, rng)
    if "npgrad" not in wl.backends:
        return f"{wl.name}: npgrad does not run this workload"
    from bench._harness import Skip
    if wl.kind == "e2e":
        fn = wl.backends["npgrad"]
        try:
            fn(dict(inputs, n_steps=3))
        except Skip as e:
            return f"{wl.name}: skipped ({e})"
        prof = cProfile.Profile()
        prof.runcall(fn, inputs)
    else:
        try:
            runner = wl.backends["npgrad"](inputs)
        except Skip as e:
            return f"{wl.name}: skipped ({e})"
        for _ in range(2):
            runner.step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(steps):
            runner.step()
        prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    entries = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.stats.items():
        entries.append((tt, ct, nc, _short(file, line, func)))
    entries.sort(reverse=True)
    n = 1 if wl.kind == "e2e" else steps
    # the backward pass: Tensor.backward's cumulative time (its callees: the engine and the VJPs)
    bwd = sum(ct for (file, _, func), (_, _, _, ct, _) in st.stats.items()
              if func == "backward" and file.replace("\\", "/").endswith("npgrad/tensor.py"))
    out = [f"--- {wl.name}: npgrad, {n} step(s) profiled, {total / n * 1e3:.2f} ms/step under cProfile "
           f"(profiling inflates Python-level costs); backward() {100 * bwd / total:.0f}% of it, "
           f"forward + the rest {100 - 100 * bwd / total:.0f}%",
           f"{'own %':>6} {'own ms/step':>11} {'cum ms/step':>11} {'calls/step':>10}  function"]
    for tt, ct, nc, name in entries[:top]:
        out.append(f"{100 * tt / total:6.1f} {tt / n * 1e3:11.3f} {ct / n * 1e3:11.3f} {nc / n:10.0f}  {name}")
    return "\n".join(out)


def _short(file, line, func):
    if file == "~":
        return func  # a builtin, e.g. <built-in method numpy...>
    for marker in ("/npgrad/", "/bench/", "/site-packages/"):
        i = file.rfind(marker)
        if i >= 0:
            file = file[i + 1:]
            break
    return f"{file}:{line}({func})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes and 5 repeats")
    ap.add_argument("--only", default=None, help="comma-separated workloads: " + ",".join(WORKLOADS)
                    + " (or groups: " + ",".join(GROUPS) + ")")
    ap.add_argument("--backends", default=None, help="comma-separated backends: " + ",".join(BACKENDS))
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed repeats per backend (default: 20, or more for fast workloads, as many as fit in "
                         "--budget seconds, at most 200; quick: 5)")
    ap.add_argument("--budget", type=float, default=4.0,
                    help="seconds of timing per workload that decide the default number of repeats (default 4)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per backend before timing")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for NumPy's BLAS and PyTorch (default: PyTorch gets NumPy's BLAS thread count)")
    ap.add_argument("--settle", type=int, default=1,
                    help="untimed steps of a backend right before each of its timed steps (default 1), so that "
                         "the thread pool of the backend run before has gone idle (libgomp and OpenBLAS workers "
                         "busy-wait after a parallel region and would hold one of the cores)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    ap.add_argument("--cpu", action="store_true",
                    help="time steps with the process's CPU time instead of the wall clock: with --threads 1 it is "
                         "robust to other jobs sharing the machine (with more threads it sums them; train keeps the wall clock)")
    ap.add_argument("--keep-env", action="store_true",
                    help="do not set OPENBLAS_THREAD_TIMEOUT (see bench_env); idle BLAS threads then spin and slow "
                         "down the backend timed after NumPy when BLAS and PyTorch both use several threads")
    ap.add_argument("--malloc-tuned", action="store_true",
                    help="re-run under glibc malloc settings that keep freed memory mapped (MALLOC_MMAP_THRESHOLD_, "
                         "MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_) from the process's start. Importing npgrad "
                         "already does this (npgrad/memory.py); run with NPGRAD_KEEP_FREED_MEMORY=0 to see what the "
                         "page faults of fresh allocations cost under glibc's defaults (the faults/step column)")
    ap.add_argument("--profile", action="store_true", help="also cProfile npgrad on each workload")
    ap.add_argument("--profile-top", type=int, default=20, help="functions shown per profile")
    args = ap.parse_args(argv)
    env = bench_env(args)
    if env is not None:  # settings read once, when the libraries load: start afresh with them
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + list(sys.argv[1:]), env)

    names = list(WORKLOADS) if not args.only else [m for n in args.only.split(",") if n.strip()
                                                   for m in GROUPS.get(n.strip(), [n.strip()])]
    for n in names:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
    backends = list(BACKENDS) if not args.backends else [b.strip() for b in args.backends.split(",")]
    for b in backends:
        if b not in BACKENDS:
            ap.error(f"unknown backend {b!r}; choose from {', '.join(BACKENDS)}")
    size = "quick" if args.quick else "full"
    repeats = args.repeats or (5 if args.quick else 20)

    _KEEP.append(set_threads(args.threads))  # the threadpoolctl limit lasts while its object lives
    if args.threads is None:
        _, nthreads = blas_info()
        if nthreads:
            set_threads_torch_only(nthreads)
    print(machine_report())
    tuned = " ".join(f"{k}={os.environ[k]}" for k in MALLOC_TUNED if k in os.environ)
    try:   # npgrad keeps freed memory mapped from its import on (npgrad/memory.py), for every backend here
        from npgrad.memory import is_keeping_freed_memory
        if is_keeping_freed_memory():
            tuned = (tuned + "; " if tuned else "") + "npgrad's keep_freed_memory() (NPGRAD_KEEP_FREED_MEMORY=0: glibc's defaults)"
    except ImportError:
        pass
    reps_note = f"{repeats}" if args.repeats or args.quick else f"{repeats}-200 (as fit in {args.budget:g} s)"
    print(f"run     : size={size}, repeats={reps_note} (interleaved, rotating order), warm-up={args.warmup}, "
          f"{args.settle} untimed settle step(s) before each timed one, gc enabled, {'time.process_time (CPU)' if args.cpu else 'time.perf_counter'}; malloc: {tuned or 'glibc defaults'}; "
          f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}")
    print()

    results, units = {}, {}
    for n in names:
        wl = WORKLOADS[n]
        print(f"{n}: {wl.description} ...", flush=True)
        reps = repeats if wl.kind == "step" else max(1, min(repeats, 3))
        budget = args.budget if wl.kind == "step" and not args.repeats and not args.quick else None
        results[n] = run_workload(wl, size, backends, reps, warmup=args.warmup, memory=not args.no_memory,
                                  settle=args.settle, budget=budget,
                                  clock=time.process_time if args.cpu else time.perf_counter)
        timed = [len(r.times) for r in results[n] if r.times]
        if timed and wl.kind == "step":
            print(f"  {max(timed)} timed repeats per backend", flush=True)
        units[n] = wl.unit
    print()
    print(table(results, units, {n: WORKLOADS[n].targets for n in names}))
    targets = target_lines(results, WORKLOADS)
    if targets:
        print()
        print("targets:")
        for line in targets:
            print(f"  {line}")
    print()
    print("median/min: per step (overhead: per op = step / 1,000 ops; train: one whole run, data loading "
          "included, median of up to 3 runs); / numpy, / torch: ratio of medians; peak mem/step: tracemalloc peak "
          "above the memory live before the step (PyTorch allocates outside tracemalloc's view: n/a); faults/step: "
          "median minor page faults per step (memory freshly mapped by the kernel, costly in a VM). "
          "The garbage collector stays on: MyGrad's and HIPS autograd's graphs hold reference cycles, so part "
          "of their time is the cyclic collector.")
    failed = [(n, r.backend, r.note) for n, rows in results.items() for r in rows if r.status == "FAIL"]
    if failed:
        print()
        print("FAILURES (not timed):")
        for n, b, note in failed:
            print(f"  {n}/{b}: {note}")
    if args.profile:
        for n in names:
            print()
            print(profile_npgrad(WORKLOADS[n], size, steps=min(repeats, 10), top=args.profile_top))
    return 1 if failed else 0


def set_threads_torch_only(n):
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


if __name__ == "__main__":
    sys.exit(main())
