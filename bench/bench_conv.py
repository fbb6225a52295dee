"""Benchmark: conv2d and max_pool2d forward + backward on one CNN layer, float32.

    python bench/bench_conv.py [--layer lenet|digits] [--repeats 30] [--batch 64] [--malloc-tuned]

Layers: ``lenet`` 16 -> 32 channels on 14x14 (the cnn workload's second conv), ``digits`` 32 -> 32 on 8x8
(the train workload's second conv); 3x3, padding 1, then a 2x2 max pool. Implementations of the same
step, run interleaved in one process (each timed call right after an untimed one, as bench/run.py does):
  * npgrad            npg.conv2d(x, w, b, padding=1) -> npg.max_pool2d(., 2) -> backward, NCHW in and out
                       (npgrad computes in the batch-last layout and transposes at the NCHW boundary)
  * numpy (NCHW)      hand-written NumPy on NCHW arrays: strided im2col + one BLAS matmul, the column
                       matrix kept for the weight gradient, offset-loop col2im (batch axis innermost); 2x2
                       max pool by a running max over the 4 window offsets, its gradient written through
                       the same offsets (argmax over a reshaped copy + put_along_axis was 5x slower)
  * floor (CHWN)      the benchmark suite's NumPy floor (bench/workloads/_common.py): activations kept as
                       (C, H, W, N) from end to end, so it never transposes (its inputs are converted
                       once, outside the timed step); its pool sends a tied gradient to every maximum
  * PyTorch CPU       torch.set_num_threads = NumPy's BLAS threads
All are checked to agree on values and gradients before timing. Prints the median and minimum of the
repeats (after warm-up), the ratios, and the peak extra memory of one step (tracemalloc). Like bench/run.py
it sets OPENBLAS_THREAD_TIMEOUT=4 (idle BLAS threads otherwise spin and hold a core) unless --keep-env.
"""
import argparse
import math
import os
import sys
import time
import tracemalloc

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import npgrad as npg  # noqa: E402
from bench.workloads._common import (conv2d_chwn, conv2d_chwn_backward, maxpool2_chwn,  # noqa: E402
                                     maxpool2_chwn_backward)

LAYERS = {"lenet": (16, 32, 14), "digits": (32, 32, 8)}   # (in channels, out channels, height = width)
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**31),
                "MALLOC_TOP_PAD_": str(2**26)}             # as bench/run.py --malloc-tuned

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
except ImportError:   # the benchmark still compares npgrad with NumPy
    torch = None


def blas_threads():
    """The number of threads NumPy's BLAS uses (torch is given the same)."""
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return info["num_threads"]
    except ImportError:
        pass
    return 1


# ------------------------------------------------------------------------ hand-written NumPy
class NumpyConvPool:
    """conv2d (3x3, stride 1, padding p) + 2x2 max pool, forward and backward, in plain NumPy."""

    def __init__(self, pad):
        self.p = pad

    def conv_forward(self, x, w, b):
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        p = self.p
        OH, OW = H + 2 * p - kh + 1, W + 2 * p - kw + 1
        xp = np.zeros((N, C, H + 2 * p, W + 2 * p), x.dtype)
        xp[:, :, p:p + H, p:p + W] = x
        sN, sC, sH, sW = xp.strides
        # columns as (C*kh*kw, N*OH*OW): one GEMM forward, one for each gradient, no extra transposes
        cols = as_strided(xp, (C, kh, kw, N, OH, OW), (sC, sH, sW, sN, sH, sW)).reshape(C * kh * kw, -1)
        y = (w.reshape(O, -1) @ cols).reshape(O, N, OH, OW)
        y += b[:, None, None, None]
        self.cache = (x.shape, w, cols, OH, OW)
        return y.transpose(1, 0, 2, 3)

    def conv_backward(self, g):
        (N, C, H, W), w, cols, OH, OW = self.cache
        O, _, kh, kw = w.shape
        p = self.p
        gT = g.transpose(1, 0, 2, 3).reshape(O, -1)
        dw = (gT @ cols.T).reshape(w.shape)
        db = gT.sum(axis=1)
        # input gradient: columns with the batch axis innermost, so the col2im adds run over long rows
        gTn = g.transpose(1, 2, 3, 0).reshape(O, -1)
        dcols = (w.reshape(O, -1).T @ gTn).reshape(C, kh, kw, OH, OW, N)
        dxp = np.zeros((C, H + 2 * p, W + 2 * p, N), g.dtype)
        for i in range(kh):
            for j in range(kw):
                dxp[:, i:i + OH, j:j + OW] += dcols[:, i, j]
        self.cache = None
        return np.ascontiguousarray(dxp[:, p:p + H, p:p + W].transpose(3, 0, 1, 2)), dw, db

    def pool_forward(self, y):
        # running max over the 4 offsets of each 2x2 window, remembering the first maximum (PyTorch's choice)
        views = [y[:, :, i::2, j::2] for i in range(2) for j in range(2)]
        m = views[0].copy()
        idx = np.zeros(m.shape, np.uint8)
        for o in range(1, 4):
            upd = views[o] > m
            np.maximum(m, views[o], out=m)
            idx += upd * (o - idx)
        self.pool_cache = (y.shape, idx)
        return m

    def pool_backward(self, g):
        shape, idx = self.pool_cache
        dy = np.empty(shape, g.dtype)
        for o in range(4):
            dy[:, :, o // 2::2, o % 2::2] = g * (idx == o)
        return dy


# ----------------------------------------------------------------------------------- the steps
def make_steps(x, w, b, gz, gy, pad):
    hand = NumpyConvPool(pad)

    def numpy_conv():
        y = hand.conv_forward(x, w, b)
        return (y,) + hand.conv_backward(gy)

    def numpy_pool():
        y = x_pool
        z = hand.pool_forward(y)
        return z, hand.pool_backward(gz)

    def numpy_step():
        y = hand.conv_forward(x, w, b)
        z = hand.pool_forward(y)
        gyy = hand.pool_backward(gz)
        return (z,) + hand.conv_backward(gyy)

    # the suite's floor: CHWN arrays, converted once here (it never transposes inside a step)
    to_chwn = lambda a: np.ascontiguousarray(a.transpose(1, 2, 3, 0))      # noqa: E731
    from_chwn = lambda a: np.ascontiguousarray(a.transpose(3, 0, 1, 2))    # noqa: E731
    xc, gyc, gzc, pc = to_chwn(x), to_chwn(gy), to_chwn(gz), to_chwn(x_pool)

    def floor_conv():
        y, cols = conv2d_chwn(xc, w, b, pad)
        dw, db, dx = conv2d_chwn_backward(gyc, cols, w, xc.shape, pad)
        return y, dx, dw, db

    def floor_pool():
        z, r = maxpool2_chwn(pc)
        return z, maxpool2_chwn_backward(gzc, z, r)

    def floor_step():
        y, cols = conv2d_chwn(xc, w, b, pad)
        z, r = maxpool2_chwn(y)
        dw, db, dx = conv2d_chwn_backward(maxpool2_chwn_backward(gzc, z, r), cols, w, xc.shape, pad)
        return z, dx, dw, db

    def nchw(fn):
        """The floor's results in NCHW for the agreement check (not timed)."""
        return lambda: [from_chwn(a) if a.ndim == 4 and a.shape[-1] == x.shape[0] else a for a in fn()]

    xt, wt, bt = npg.tensor(x), npg.tensor(w), npg.tensor(b)
    pt = npg.tensor(x_pool)

    def npgrad_conv():
        xt.grad = wt.grad = bt.grad = None
        y = npg.conv2d(xt, wt, bt, padding=pad)
        y.backward(gy)
        return y.data, xt.grad, wt.grad, bt.grad

    def npgrad_pool():
        pt.grad = None
        z = npg.max_pool2d(pt, 2)
        z.backward(gz)
        return z.data, pt.grad

    def npgrad_step():
        xt.grad = wt.grad = bt.grad = None
        z = npg.max_pool2d(npg.conv2d(xt, wt, bt, padding=pad), 2)
        z.backward(gz)
        return z.data, xt.grad, wt.grad, bt.grad

    steps = {"npgrad": (npgrad_conv, npgrad_pool, npgrad_step), "numpy": (numpy_conv, numpy_pool, numpy_step),
             "floor": (floor_conv, floor_pool, floor_step)}
    checks = {"floor": tuple(nchw(f) for f in steps["floor"])}
    if torch is not None:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        tp = torch.tensor(x_pool, requires_grad=True)
        tgy, tgz = torch.tensor(gy), torch.tensor(gz)

        def torch_conv():
            tx.grad = tw.grad = tb.grad = None
            y = F.conv2d(tx, tw, tb, padding=pad)
            y.backward(tgy)
            return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()

        def torch_pool():
            tp.grad = None
            z = F.max_pool2d(tp, 2)
            z.backward(tgz)
            return z.detach().numpy(), tp.grad.numpy()

        def torch_step():
            tx.grad = tw.grad = tb.grad = None
            z = F.max_pool2d(F.conv2d(tx, tw, tb, padding=pad), 2)
            z.backward(tgz)
            return z.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()

        steps["torch"] = (torch_conv, torch_pool, torch_step)
    return steps, checks


def check_agree(steps, checks):
    names = ["conv", "pool", "conv+pool"]
    for k in range(3):
        ref = [np.asarray(a) for a in steps["numpy"][k]()]
        for impl, fns in steps.items():
            got = [np.asarray(a) for a in checks.get(impl, fns)[k]()]
            for i, (a, r) in enumerate(zip(got, ref)):
                assert a.shape == r.shape and a.dtype == r.dtype, (impl, names[k], i, a.shape, r.shape, a.dtype)
                scale = max(1.0, float(np.abs(r).max()))
                err = float(np.abs(a - r).max()) / scale
                assert err < 1e-4, f"{impl} {names[k]} output {i} differs from the hand-written NumPy: {err:.2e}"
    print("values and gradients agree (" + ", ".join(steps) + ")")


def peak_memory(fn):
    fn()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main():
    global x_pool
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--layer", choices=sorted(LAYERS), default="lenet",
                    help="lenet: 16 -> 32 channels, 14x14 (default); digits: 32 -> 32 channels, 8x8")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS and torch threads (default: NumPy's BLAS threads as found)")
    ap.add_argument("--malloc-tuned", action="store_true", help="glibc malloc settings of bench/run.py --malloc-tuned")
    ap.add_argument("--keep-env", action="store_true", help="do not set OPENBLAS_THREAD_TIMEOUT=4")
    args = ap.parse_args()
    extra = {} if args.keep_env or "OPENBLAS_THREAD_TIMEOUT" in os.environ else {"OPENBLAS_THREAD_TIMEOUT": "4"}
    if args.malloc_tuned:
        extra.update({k: v for k, v in MALLOC_TUNED.items() if k not in os.environ})
    if extra and not os.environ.get("_NPGRAD_BENCH_CHILD"):   # read when the libraries load: start afresh
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                  dict(os.environ, _NPGRAD_BENCH_CHILD="1", **extra))
    if args.threads is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)

    Cin, Cout, H = LAYERS[args.layer]
    N, W, k, pad = args.batch, H, 3, 1
    threads = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    dt = np.float32
    x = rng.standard_normal((N, Cin, H, W)).astype(dt)
    w = (rng.standard_normal((Cout, Cin, k, k)) / math.sqrt(Cin * k * k)).astype(dt)
    b = rng.standard_normal(Cout).astype(dt)
    gy = rng.standard_normal((N, Cout, H, W)).astype(dt)
    gz = rng.standard_normal((N, Cout, H // 2, W // 2)).astype(dt)
    x_pool = rng.standard_normal((N, Cout, H, W)).astype(dt)

    print(f"conv2d {N}x{Cin}x{H}x{W} -> {Cout} channels, {k}x{k}, padding {pad}; max_pool2d(2); float32; "
          f"BLAS threads {threads}" + (f", torch threads {torch.get_num_threads()}" if torch is not None else ""))
    steps, checks = make_steps(x, w, b, gz, gy, pad)
    check_agree(steps, checks)

    impls = list(steps)
    times = {(i, k): [] for i in impls for k in range(3)}
    for r in range(args.warmup + args.repeats):
        for k in range(3):
            for impl in impls[r % len(impls):] + impls[:r % len(impls)]:   # rotate: no one always goes first
                fn = steps[impl][k]
                fn()                                   # settle: the previous one's threads go idle
                t0 = time.perf_counter()
                fn()
                t = time.perf_counter() - t0
                if r >= args.warmup:
                    times[impl, k].append(t)

    header = (f"{'':22s}" + "".join(f"{i:>12s}" for i in impls) + f"{'npgrad/numpy':>14s}"
              + f"{'npgrad/floor':>14s}" + (f"{'npgrad/torch':>14s}" if torch is not None else ""))
    # the median, and the minimum: the machine may be shared, the minimum is the least disturbed run
    for label, stat in (("median", np.median), ("minimum", np.min)):
        ms = {key: 1e3 * float(stat(v)) for key, v in times.items()}
        print(f"\n{label} of {args.repeats} repeats (ms), forward + backward")
        print(header)
        for j, name in enumerate(["conv2d", "max_pool2d(2)", "conv2d + max_pool2d"]):
            row = f"{name:22s}" + "".join(f"{ms[i, j]:12.3f}" for i in impls)
            row += f"{ms['npgrad', j] / ms['numpy', j]:14.2f}{ms['npgrad', j] / ms['floor', j]:14.2f}"
            if torch is not None:
                row += f"{ms['npgrad', j] / ms['torch', j]:14.2f}"
            print(row)

    cols_bytes = N * H * W * Cin * 3 * 3 * 4
    print(f"\npeak extra memory of one step (tracemalloc), im2col matrix = {cols_bytes / 2**20:.1f} MiB:")
    for impl in ("npgrad", "numpy", "floor"):
        print(f"  {impl:8s} {peak_memory(steps[impl][2]) / 2**20:6.1f} MiB")


x_pool = None

if __name__ == "__main__":
    main()
