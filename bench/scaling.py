"""Data-parallel scaling: training throughput at 1 and 2 processes (npgrad.distributed over MPI).

    python bench/scaling.py                      # digits CNN and mlp, 1 and 2 processes
    python bench/scaling.py --procs 1,2,4 --steps 60 --only mlp

Each configuration runs under ``mpiexec -n N`` with one BLAS thread per process (OPENBLAS/OMP/MKL_NUM_THREADS=1),
so N processes use N cores. Every process trains on its own batch of the workload's size (weak scaling, as
PyTorch's DDP benchmarks: the global batch is N times larger) and the throughput is the samples per second of
all processes together. One process trains the bare model; N > 1 wrap it in DistributedDataParallel (and the
CNN's BatchNorms become SyncBatchNorm). Workloads:

* ``cnn``: examples/train_digits.py's DigitsCNN (3 conv + batch norm, dropout, linear) on 8x8 images, batch 64,
  AdamW, float32 (the main example's training step);
* ``mlp``: bench/workloads/mlp.py's 784-512-256-10 MLP, batch 128, SGD with momentum, float32.

Reported per step: the time, the seconds spent at the end of backward waiting for the gradient all-reduce (the
part communication did not overlap), the same all-reduce done blocking outside backward (what it would cost
without overlap), and the bytes each process all-reduces against the gradient's size (the lower bound: every
gradient element must be reduced once); SyncBatchNorm's statistics are counted apart. To tell the cost of
communication from the machine's own limits (memory bandwidth, other load on a shared machine), N processes
that train alone, without DDP or any communication, are timed too: the speed-up DDP could reach at best.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ----------------------------------------------------------------------------- inside each MPI process
def _model(name, npg, world, independent=False):
    nn = npg.nn
    if name == "cnn":
        spec = importlib.util.spec_from_file_location("train_digits", os.path.join(ROOT, "examples", "train_digits.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        model = mod.DigitsCNN(8)
        if world > 1 and not independent:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        make_opt = lambda p: npg.optim.AdamW(p, lr=3e-3, weight_decay=1e-4)  # noqa: E731
        shape, batch = (1, 8, 8), 64
    else:
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        make_opt = lambda p: npg.optim.SGD(p, lr=0.01, momentum=0.9)  # noqa: E731
        shape, batch = (784,), 128
    return model, make_opt, shape, batch


def _syncbn_bytes(model, npg, world):
    """Bytes SyncBatchNorm moves per process and step: forward all-gathers (1 + 2C) float64 per process,
    backward all-reduces 2C float64, per layer."""
    return sum(8 * ((1 + 2 * m.num_features) * world + 2 * m.num_features)
               for m in model.modules() if isinstance(m, npg.nn.SyncBatchNorm))


def worker(name, steps, warmup, independent=False):
    import numpy as np
    import npgrad as npg
    import npgrad.distributed as dist
    import npgrad.nn.functional as F
    dist.init()
    rank, world = dist.get_rank(), dist.get_world_size()
    npg.set_default_dtype("float32")
    npg.random.seed(0)
    model, make_opt, shape, batch = _model(name, npg, world, independent)
    ddp = world > 1 and not independent   # independent: N processes training alone, the machine's own ceiling
    net = dist.DistributedDataParallel(model, broadcast_buffers=False) if ddp else model
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(rank)
    data = [(npg.tensor(rng.standard_normal((batch,) + shape).astype(np.float32), requires_grad=False),
             rng.integers(0, 10, batch)) for _ in range(8)]
    times = []
    for i in range(warmup + steps):
        if i == warmup and ddp:
            net.comm_stats.update(steps=0, bytes=0, wait_seconds=0.0, buckets_overlapped=0, buckets_at_end=0)
            dist.barrier()
        xb, yb = data[i % len(data)]
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    times = np.array(times[warmup:])
    grad_bytes = sum(p.data.nbytes for p in model.parameters())
    result = dict(workload=name, procs=world, batch_per_process=batch, steps=steps,
                  step_ms_median=1e3 * float(np.median(times)), step_ms_mean=1e3 * float(times.mean()),
                  gradient_bytes=grad_bytes, allreduce_bytes_per_step=0, syncbn_bytes_per_step=0,
                  exposed_wait_ms=0.0, blocking_allreduce_ms=0.0, buckets=0, overlapped_fraction=None)
    if ddp:
        st = net.comm_stats
        flat = np.zeros(grad_bytes // 4, np.float32)
        reps = []
        for _ in range(20):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(flat)
            reps.append(time.perf_counter() - t0)
        result.update(allreduce_bytes_per_step=st["bytes"] // max(st["steps"], 1),
                      syncbn_bytes_per_step=_syncbn_bytes(model, npg, world),
                      exposed_wait_ms=1e3 * st["wait_seconds"] / max(st["steps"], 1),
                      blocking_allreduce_ms=1e3 * float(np.median(reps)), buckets=len(net._buckets),
                      overlapped_fraction=st["buckets_overlapped"] / max(1, st["buckets_overlapped"]
                                                                         + st["buckets_at_end"]))
    # the slowest process sets the pace: report its step time
    slowest = np.array([result["step_ms_median"]])
    dist.all_reduce(slowest, op="max")
    result["step_ms_median"] = float(slowest[0])
    result["samples_per_s"] = world * batch / (result["step_ms_median"] / 1e3)
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------- the driver
def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else "mpiexec"


def run(name, procs, steps, warmup, independent=False):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **ONE_THREAD)
    cmd = [_mpiexec(), "-n", str(procs), sys.executable, os.path.abspath(__file__), "--worker", name,
           "--steps", str(steps), "--warmup", str(warmup)] + (["--independent"] if independent else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[0][len("RESULT "):])


def _kib(n):
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="cnn,mlp", help="comma-separated workloads: cnn, mlp")
    ap.add_argument("--procs", default="1,2", help="comma-separated process counts (default 1,2)")
    ap.add_argument("--steps", type=int, default=40, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="runs per configuration, interleaved; the best is kept")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--independent", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.steps, args.warmup, args.independent)
    names, procs = args.only.split(","), [int(p) for p in args.procs.split(",")]
    best = {}
    for _ in range(args.rounds):   # interleaved rounds: a noisy moment hurts every configuration alike
        for name in names:
            for n in procs:
                for independent in ((False, True) if n > 1 else (False,)):
                    r = run(name, n, args.steps, args.warmup, independent)
                    key = (name, n, independent)
                    if key not in best or r["samples_per_s"] > best[key]["samples_per_s"]:
                        best[key] = r
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.1f} at the end; 1 BLAS thread per process; best of "
          f"{args.rounds} runs of {args.steps} steps\n")
    print("| workload | processes | step | samples/s | speed-up | N processes without communication | exposed "
          "all-reduce wait / step | blocking all-reduce | all-reduced / step (gradient) | SyncBN stats / step | "
          "buckets (overlapped) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        base = best[(name, 1, False)]["samples_per_s"] if 1 in procs else None
        for n in procs:
            r = best[(name, n, False)]
            speed = f"{r['samples_per_s'] / base:.2f}x" if base else "-"
            if n > 1:
                ind = best[(name, n, True)]
                speed += (f" | {ind['samples_per_s']:.0f}/s ({ind['samples_per_s'] / base:.2f}x; DDP reaches "
                          f"{100 * r['samples_per_s'] / ind['samples_per_s']:.0f}%)" if base else " | -")
            else:
                speed += " | -"
            comm = "-" if n == 1 else (f"{r['exposed_wait_ms']:.2f} ms | {r['blocking_allreduce_ms']:.2f} ms | "
                                       f"{_kib(r['allreduce_bytes_per_step'])} ({_kib(r['gradient_bytes'])}) | "
                                       f"{_kib(r['syncbn_bytes_per_step']) if r['syncbn_bytes_per_step'] else '-'} | "
                                       f"{r['buckets']} ({100 * r['overlapped_fraction']:.0f}%)")
            if n == 1:
                comm = "- | - | - | - | -"
            print(f"| {name} (batch {r['batch_per_process']}/process) | {n} | {r['step_ms_median']:.2f} ms | "
                  f"{r['samples_per_s']:.0f} | {speed} | {comm} |")
    return best


if __name__ == "__main__":
    main()
