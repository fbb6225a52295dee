"""Benchmark: the GEMMs of a workload's step alone, NumPy (its BLAS) against PyTorch, on the same shapes.

    python bench/gemm_bound.py [--only mlp,attention] [--threads N] [--repeats 30]

npgrad computes each workload's step as NumPy GEMMs plus elementwise work, so the time of those GEMMs
alone in NumPy is a floor under npgrad's step (and under the hand-written NumPy one). This script times,
for each of mlp, mlp64, attention, cnn and resnet, the sum of the matrix products one training step does
(forward and backward, at the shapes npgrad and the NumPy floor use: im2col GEMMs for the convolutions),
once with ``np.matmul`` and once with ``torch.matmul`` on the same arrays, interleaved, at the same thread
count (default: NumPy's BLAS thread count for both). Where NumPy's GEMM floor alone exceeds PyTorch's whole
step (bench/run.py), no NumPy-only implementation of that algorithm can reach the step-time target; the
"torch mm / numpy mm" ratio shows how much of the gap is the BLAS itself. (PyTorch's convolutions do not
run these GEMMs: oneDNN's direct kernels never build the column matrix.)
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _linear(n, fi, fo, need_dx=True):
    """(a, b) operand shapes of a linear layer's forward, weight-gradient and input-gradient GEMMs."""
    out = [((n, fi), (fi, fo)), ((fi, n), (n, fo))]
    return out + ([((n, fo), (fo, fi))] if need_dx else [])


def _conv(n, c, o, hw, k=3, stride=1, need_dx=True):
    """The im2col GEMMs of a k x k convolution (c -> o channels, hw x hw input, 'same' padding)."""
    p = (hw // stride) ** 2 * n
    ck = c * k * k
    out = [((o, ck), (ck, p)), ((o, p), (p, ck))]
    return out + ([((ck, o), (o, p))] if need_dx else [])


def shapes(name):
    """The (a, b) shapes of every GEMM of one training step of workload ``name`` at its full size."""
    if name in ("mlp", "mlp64"):
        return _linear(128, 784, 512, need_dx=False) + _linear(128, 512, 256) + _linear(128, 256, 10)
    if name == "attention":
        B, T, d = 16, 64, 128
        lin = _linear(B * T, d, d) * 4 + _linear(B * T, d, 4 * d) + _linear(B * T, 4 * d, d)
        bat = [((B, T, d), (B, d, T)), ((B, T, T), (B, T, d)),     # scores, att @ v
               ((B, T, T), (B, T, d)), ((B, T, T), (B, T, d)),     # d q, d k
               ((B, T, d), (B, d, T)), ((B, T, T), (B, T, d))]     # d att, d v
        return lin + bat
    if name == "cnn":
        return (_conv(64, 1, 16, 28, need_dx=False) + _conv(64, 16, 32, 14)
                + _linear(64, 32 * 7 * 7, 10))
    if name == "resnet":
        out = _conv(32, 3, 16, 32, need_dx=False)
        for c, o, hw in ((16, 16, 32), (16, 32, 32), (32, 64, 16)):
            stride = 1 if c == o else 2
            out += _conv(32, c, o, hw, stride=stride)              # first block, conv1
            out += _conv(32, o, o, hw // stride) * 3                # its conv2, the second block's two
            if stride == 2:
                out += _conv(32, c, o, hw, k=1, stride=2)           # the 1x1 projection shortcut
        return out + _linear(32, 64, 10)
    raise KeyError(name)


def measure(name, repeats, dtype, clock=time.perf_counter):
    import torch
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal(a).astype(dtype), rng.standard_normal(b).astype(dtype)) for a, b in shapes(name)]
    tpairs = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in pairs]

    def np_step():
        for a, b in pairs:
            np.matmul(a, b)

    def torch_step():
        for a, b in tpairs:
            torch.matmul(a, b)

    for f in (np_step, torch_step, np_step, torch_step):
        f()
    times = {"numpy": [], "torch": []}
    for r in range(repeats):
        for label, f in ((("numpy", np_step), ("torch", torch_step)) if r % 2 else
                         (("torch", torch_step), ("numpy", np_step))):
            f()                          # settle: the other library's threads go idle
            t0 = clock()
            f()
            times[label].append(clock() - t0)
    flops = sum(2 * np.prod(a.shape) * b.shape[-1] for a, b in pairs)
    return len(pairs), flops, {k: (statistics.median(v), min(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="mlp,mlp64,attention,cnn,resnet")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--cpu", action="store_true",
                    help="time with the process's CPU time instead of the wall clock: with --threads 1, robust to "
                         "other jobs sharing the machine (with more threads it sums them)")
    args = ap.parse_args(argv)
    if __name__ == "__main__" and "OPENBLAS_THREAD_TIMEOUT" not in os.environ:
        # as bench/run.py: idle OpenBLAS threads must sleep at once, not spin while PyTorch's threads run
        # (the variable is read when the library loads: start afresh with it)
        env = dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + list(sys.argv[1:]), env)
    from bench.run import blas_info, machine_report, set_threads, set_threads_torch_only
    keep = set_threads(args.threads)
    if args.threads is None:
        _, n = blas_info()
        if n:
            set_threads_torch_only(n)
    print(machine_report())
    print(f"clock   : {'CPU time (all threads summed)' if args.cpu else 'wall clock'}")
    print()
    print("| workload | GEMMs/step | GFLOP/step | numpy mm median (min) | torch mm median (min) | torch / numpy |")
    print("|---|---|---|---|---|---|")
    for name in args.only.split(","):
        dtype = np.float64 if name == "mlp64" else np.float32
        n, flops, t = measure(name, args.repeats, dtype, time.process_time if args.cpu else time.perf_counter)
        (nm, nmin), (tm, tmin) = t["numpy"], t["torch"]
        print(f"| {name} | {n} | {flops / 1e9:.3f} | {nm * 1e3:.3f} ms ({nmin * 1e3:.3f}) | "
              f"{tm * 1e3:.3f} ms ({tmin * 1e3:.3f}) | {tm / nm:.2f}x |", flush=True)
    del keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
