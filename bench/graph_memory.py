"""Benchmark: bytes held per recorded op while a graph is alive, for every backend, measured one way.

    python bench/graph_memory.py [--ops 30000]

bench/run.py measures peak memory with tracemalloc, which cannot see PyTorch's allocations. This
script measures what all backends hold the same way: each backend runs in a fresh process with
``PYTHONMALLOC=malloc`` (so Python objects, NumPy arrays and PyTorch's C++ graph all go through glibc
malloc) and reports the growth of malloc's bytes in use (``mallinfo2``: ``uordblks + hblkhd``, malloc's
own chunk headers included) between before the forward pass and after it, with the graph still alive.
The workload is the ``overhead`` chain (``h = h * a + b``, ``h = tanh(h)`` on a (16,) float32 tensor,
bench/workloads/overhead.py). ``npgrad-free-all`` frees the outputs no backward reads whatever their size
(``npgrad.memory.set_free_unread_min(0)``; by default only those of 1,024 elements or more are). ``numpy`` is
the hand-written forward keeping only the arrays its backward reads (one per 3 ops). HIPS autograd builds its graph inside ``grad`` and cannot be held open
after a forward pass: not measured. Needs glibc (Linux).
"""
import argparse
import ctypes
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.workloads import inplace, overhead  # noqa: E402

BACKENDS = ("npgrad", "npgrad-free-all", "numpy", "torch", "mygrad")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]


def _malloc_in_use():
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def _forward(backend, n_ops):
    """Run the chain's forward pass; return what must stay alive for its backward."""
    inp = overhead.make("full", np.random.default_rng(0))
    x, a, b = inp["x"], inp["a"], inp["b"]
    if backend == "numpy":
        kept, h = [], x                  # the hand-written backward reads each cycle's tanh output
        for _ in range(n_ops // 3):
            h = np.tanh(h * a + b)
            kept.append(h)
        return kept
    if backend.startswith("npgrad"):
        import npgrad as lib
        if backend == "npgrad-free-all":  # outputs no backward reads freed whatever their size (16 elements
            lib.memory.set_free_unread_min(0)  # here; by default from 1,024: npgrad.memory.set_free_unread_min)
        x, a, b = (lib.tensor(v) for v in (x, a, b))
    elif backend == "torch":
        import torch as lib
        x, a, b = (lib.tensor(v, requires_grad=True) for v in (x, a, b))
    else:
        import mygrad as lib
        x, a, b = (lib.tensor(v) for v in (x, a, b))
    return overhead._chain(x, a, b, n_ops, lib.tanh), (x, a, b)


def _fill_loop(backend, n):
    """The ``inplace`` workload's forward (bench/workloads/inplace.py): y[i] = tanh(x[i]) into a graph
    tensor, then y * y; returns (loss, backward function, x) with the graph alive."""
    x = inplace.make("full", np.random.default_rng(0))["x"][:n]
    if backend == "numpy":
        y = inplace.fill(np.empty_like(x), x, np.tanh)
        return y, lambda: [2 * y * (1 - y * y)], x
    if backend == "npgrad":
        import npgrad as lib
        x = lib.tensor(x)
        loss = lib.sum(inplace.fill(x * 0, x, lib.tanh) ** 2)
    else:
        import torch as lib
        x = lib.tensor(x, requires_grad=True)
        loss = (inplace.fill(x * 0, x, lib.tanh) ** 2).sum()
    return loss, loss.backward, x


def _measure_inplace(backend, n):
    """Malloc bytes in use with the fill loop's graph alive, and after backward (x and its gradient)."""
    _fill_loop(backend, 50)[1]()                      # imports and first-call caches
    before = _malloc_in_use()
    loss, backward, x = _fill_loop(backend, n)
    alive = _malloc_in_use() - before
    grads = backward()
    del loss, backward
    after = _malloc_in_use() - before
    del grads, x
    return alive, after


def _measure(backend, n_ops):
    _forward(backend, 300)               # imports and first-call caches, outside the measurement
    before = _malloc_in_use()
    graph = _forward(backend, n_ops)
    after = _malloc_in_use()
    del graph
    return (after - before) / n_ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", type=int, default=30000, help="ops in the chain")
    ap.add_argument("--inplace", type=int, metavar="ROWS", help="instead: the inplace workload's fill loop of "
                    "ROWS rows of 64 (bytes held with its graph alive, and after backward)")
    ap.add_argument("--backend", help=argparse.SUPPRESS)  # internal: measure one backend in this process
    args = ap.parse_args()
    if args.backend:
        print(*(_measure_inplace(args.backend, args.inplace) if args.inplace else (_measure(args.backend, args.ops),)))
        return
    if args.inplace:
        return main_inplace(args.inplace)
    if not sys.platform.startswith("linux"):
        sys.exit("graph_memory.py needs glibc's mallinfo2 (Linux)")
    env = dict(os.environ, PYTHONMALLOC="malloc")
    results = {}
    for backend in BACKENDS:
        proc = subprocess.run([sys.executable, __file__, "--backend", backend, "--ops", str(args.ops)],
                              env=env, capture_output=True, text=True)
        if proc.returncode:
            last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            print(f"{backend:8s} skipped: {last}")
            continue
        results[backend] = float(proc.stdout.split()[-1])
    ref = results.get("numpy")
    print(f"\nmemory held per op while the graph of a {args.ops:,}-op overhead chain is alive "
          f"(malloc bytes in use, PYTHONMALLOC=malloc)\n")
    print("| backend | bytes/op | / numpy | / torch |")
    print("|---|---|---|---|")
    for backend, v in results.items():
        r_np = f"{v / ref:.1f}x" if ref else "n/a"
        r_t = f"{v / results['torch']:.2f}x" if "torch" in results else "n/a"
        print(f"| {backend} | {v:.0f} | {r_np} | {r_t} |")


def main_inplace(rows):
    env = dict(os.environ, PYTHONMALLOC="malloc")
    print(f"\nmemory held by the inplace workload's fill loop ({rows:,} rows of 64 float32: the data x is "
          f"{rows * 256 / 2**20:.2f} MiB), malloc bytes in use (PYTHONMALLOC=malloc)\n")
    print("| backend | graph alive (MiB) | after backward (MiB) | graph / torch |")
    print("|---|---|---|---|")
    results = {}
    for backend in ("npgrad", "numpy", "torch"):
        proc = subprocess.run([sys.executable, __file__, "--backend", backend, "--inplace", str(rows)],
                              env=env, capture_output=True, text=True)
        if proc.returncode:
            print(f"| {backend} | skipped: {(proc.stderr.strip().splitlines() or ['failed'])[-1]} | | |")
            continue
        results[backend] = [int(v) for v in proc.stdout.split()[-2:]]
    for backend, (alive, after) in results.items():
        ratio = f"{alive / results['torch'][0]:.2f}x" if "torch" in results else "n/a"
        print(f"| {backend} | {alive / 2**20:.2f} | {after / 2**20:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
