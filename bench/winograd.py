"""Benchmark: would Winograd F(2x2, 3x3) make npgrad's 3x3 convolutions faster? (issue #17's first direction)

    python bench/winograd.py [--rounds 5] [--repeats 15] [--threads N]

For each stride-1, pad-1 3x3 convolution of the cnn and resnet workloads, this times the forward three ways on
the same arrays, interleaved (medians of ``--repeats`` calls, median over ``--rounds`` rounds):
- npgrad's kernel (``ops/_conv_kernels._conv_raw``: batch-last im2col + one GEMM, or cache-blocked);
- Winograd F(2x2, 3x3) written with NumPy: one strided copy of the padded input into the 16 tile offsets' blocks,
  the input transform B^T d B as 8 array adds, 16 batched GEMMs (O x C) @ (C x tiles*N) (2.25x fewer
  multiplications than im2col's), the output transform A^T m A as 8 adds; verified against npgrad's kernel first;
- PyTorch's ``conv2d`` (oneDNN's direct convolution).
npgrad's figure includes its threaded path for column matrices of 8 MiB or more (ops/conv_blocked.py).
It also prints the Winograd forward's stages and its GEMM against im2col's GEMM alone. (The input gradient of
these convolutions is itself such a convolution, so the forward's figures stand for it too.)
"""
import argparse
import math
import os
import statistics
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import as_strided

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# (N, C, H, O): batch, in channels, height = width, out channels
SHAPES = {"cnn conv2": (64, 16, 14, 32), "resnet stage 1": (32, 16, 32, 16),
          "resnet stage 2": (32, 32, 16, 32), "resnet stage 3": (32, 64, 8, 64), "cnn conv1": (64, 1, 28, 16)}

G_MAT = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def _bt(src, dst):
    """dst[k] = (B^T src)[k] along the first axis, B^T = [[1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]]."""
    np.subtract(src[0], src[2], out=dst[0])
    np.add(src[1], src[2], out=dst[1])
    np.subtract(src[2], src[1], out=dst[2])
    np.subtract(src[1], src[3], out=dst[3])


def _at(src, dst):
    """dst[k] = (A^T src)[k] along the first axis, A^T = [[1,1,1,0], [0,1,-1,-1]]."""
    np.add(src[0], src[1], out=dst[0])
    dst[0] += src[2]
    np.subtract(src[1], src[2], out=dst[1])
    dst[1] -= src[3]


def winograd_stages(x, w):
    """Winograd F(2x2, 3x3) of x (N, C, H, W) with w (O, C, 3, 3), stride 1, padding 1, as a list of
    (stage name, callable); the last callable returns y (N, O, H, W) as a batch-last view."""
    from npgrad.ops._conv_geometry import _batch_last, _from_batch_last
    N, C, H, W = x.shape
    O = w.shape[0]
    th, tw = -(-H // 2), -(-W // 2)
    dt = np.result_type(x, w)
    st = {}

    def pad():
        st["xp"] = _batch_last(x, (1, 1), (2 * th + 2, 2 * tw + 2))        # (C, Hs, Ws, N)

    def tiles():
        xp = st["xp"]
        sC, sH, sW, sN = xp.strides
        d = as_strided(xp, (4, 4, C, th, tw, N), (sH, sW, sC, 2 * sH, 2 * sW, sN), writeable=False)
        st["D"] = np.empty(d.shape, dtype=dt)
        np.copyto(st["D"], d)                                               # D[i, j]: tile offset (i, j)

    def transform_in():
        D = st["D"]
        T = np.empty_like(D)
        _bt(D, T)                                                           # rows
        _bt(T.swapaxes(0, 1), D.swapaxes(0, 1))                             # columns: V, in D's buffer

    def gemm():
        U = np.einsum("ik,ockl,jl->ijoc", G_MAT, w, G_MAT).astype(dt).reshape(16, O, C)
        st["M"] = np.matmul(U, st["D"].reshape(16, C, -1)).reshape(4, 4, O, th, tw, N)

    def transform_out():
        R = np.empty((2, 4, O, th, tw, N), dtype=dt)
        _at(st["M"], R)                                                     # rows
        y = np.empty((O, th, 2, tw, 2, N), dtype=dt)
        _at(R.swapaxes(0, 1), y.transpose(4, 2, 0, 1, 3, 5))                # columns, into the 2x2 outputs
        return _from_batch_last(y.reshape(O, 2 * th, 2 * tw, N)[:, :H, :W])

    return [("pad", pad), ("tile copy", tiles), ("input transform", transform_in), ("16 GEMMs", gemm),
            ("output transform", transform_out)]


def winograd(x, w):
    for _, f in winograd_stages(x, w):
        y = f()
    return y


def _median_ms(f, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None, help="threads for PyTorch (default: NumPy's BLAS count)")
    args = ap.parse_args()
    if "OPENBLAS_THREAD_TIMEOUT" not in os.environ:   # idle OpenBLAS threads sleep at once (as bench/run.py)
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                  dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4"))
    import npgrad  # noqa: F401  (its malloc setting, as in bench/run.py)
    from npgrad.ops._blas import blas_threads
    from npgrad.ops._conv_kernels import _conv_raw, _im2col
    try:
        import torch
        torch.set_num_threads(args.threads or blas_threads())
    except ImportError:
        torch = None
    print(f"BLAS threads: {blas_threads()}; medians of {args.repeats} calls, median of {args.rounds} interleaved "
          f"rounds; float32, 3x3, stride 1, padding 1; forward only\n")
    print("| convolution | npgrad (im2col) | Winograd F(2x2,3x3) | PyTorch | Winograd / npgrad | "
          "im2col GEMM | Winograd GEMMs | Winograd stages: pad, tiles, in-transform, GEMMs, out-transform |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    geom = ((1, 1), (1, 1), (1, 1), (1, 1), 1)
    for name, (N, C, H, O) in SHAPES.items():
        x = rng.standard_normal((N, C, H, H)).astype(np.float32)
        w = (rng.standard_normal((O, C, 3, 3)) / math.sqrt(9 * C)).astype(np.float32)
        ref = _conv_raw(x, w, None, geom)
        err = np.abs(winograd(x, w) - ref).max() / np.abs(ref).max()
        assert err < 1e-5, f"{name}: Winograd disagrees with npgrad's convolution (relative error {err:.1e})"
        cols = _im2col(x, (3, 3), (H, H), geom)
        w3 = w.reshape(1, O, 9 * C)
        tx, tw_ = (torch.from_numpy(x), torch.from_numpy(w)) if torch else (None, None)
        rows = {k: [] for k in ("npgrad", "wino", "torch", "gemm")}
        stage_rows = []
        for _ in range(args.rounds):
            rows["npgrad"].append(_median_ms(lambda: _conv_raw(x, w, None, geom), args.repeats))
            rows["wino"].append(_median_ms(lambda: winograd(x, w), args.repeats))
            if torch:
                with torch.no_grad():
                    rows["torch"].append(_median_ms(lambda: torch.nn.functional.conv2d(tx, tw_, padding=1),
                                                    args.repeats))
            rows["gemm"].append(_median_ms(lambda: np.matmul(w3, cols), args.repeats))
            stages, times = winograd_stages(x, w), []
            for _, f in stages:
                times.append(_median_ms(f, args.repeats))
            stage_rows.append(times)
        m = {k: statistics.median(v) if v else float("nan") for k, v in rows.items()}
        st = [statistics.median(col) for col in zip(*stage_rows)]
        print(f"| {name}: {N}x{C}x{H}x{H} -> {O} | {m['npgrad']:.2f} ms | {m['wino']:.2f} ms | {m['torch']:.2f} ms | "
              f"{m['wino'] / m['npgrad']:.2f}x | {m['gemm']:.2f} ms | {st[3]:.2f} ms | "
              + ", ".join(f"{t:.2f}" for t in st) + " |")


if __name__ == "__main__":
    main()
