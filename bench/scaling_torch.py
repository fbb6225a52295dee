"""PyTorch's own data-parallel scaling on this machine, for comparison with bench/scaling.py.

    python bench/scaling_torch.py                # the mlp at 1 and 2 processes, best of 3 rounds of 40 steps

The same protocol as bench/scaling.py's ``mlp`` workload: bench/workloads/mlp.py's 784-512-256-10 MLP, batch 128
per process (weak scaling), SGD with momentum, float32, one thread per process (``torch.set_num_threads(1)`` and
OPENBLAS/OMP/MKL_NUM_THREADS=1). One process trains the bare model; 2 processes wrap it in
``torch.nn.parallel.DistributedDataParallel`` over the gloo backend (PyTorch's CPU backend, its default bucket
size of 25 MB), and 2 processes also train alone without communication, the ceiling of any data-parallel scheme on
this machine. The step time reported is the slowest process's median. Needs the test or bench extra (PyTorch).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
BATCH = 128


def worker(steps, warmup, independent):
    import numpy as np
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    if world > 1:
        dist.init_process_group("gloo", rank=rank, world_size=world)
    ddp = world > 1 and not independent
    net = nn.parallel.DistributedDataParallel(model) if ddp else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(rank)
    data = [(torch.randn(BATCH, 784, generator=gen), torch.randint(0, 10, (BATCH,), generator=gen)) for _ in range(8)]
    times = []
    for i in range(warmup + steps):
        if i == warmup and world > 1:
            dist.barrier()
        xb, yb = data[i % len(data)]
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    step = torch.tensor([float(np.median(times[warmup:]))])
    if world > 1:
        dist.all_reduce(step, op=dist.ReduceOp.MAX)   # the slowest process sets the pace
        dist.barrier()
    if rank == 0:
        print("RESULT " + json.dumps(dict(procs=world, independent=independent, step_ms=1e3 * step.item(),
                                          samples_per_s=world * BATCH / step.item())), flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # gloo's threads sometimes abort the process at interpreter exit ("terminate called without an active
    # exception", seen once in CI after the result was printed): the measurement is done, so leave without
    # running the C++ destructors.
    os._exit(0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(procs, steps, warmup, independent):
    port = str(_free_port())
    procs_ = []
    for rank in range(procs):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(procs), MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                   **ONE_THREAD)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(steps), "--warmup", str(warmup)]
        procs_.append(subprocess.Popen(cmd + (["--independent"] if independent else []), env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL))
    outs = [p.communicate(timeout=600) for p in procs_]
    if any(p.returncode for p in procs_):
        raise RuntimeError("a worker failed:\n" + "\n".join(o + e for o, e in outs))
    line = next(ln for ln in outs[0][0].splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=40, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="runs per configuration, interleaved; the best is kept")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--independent", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.steps, args.warmup, args.independent)
    configs = [(1, False), (2, False), (2, True)]
    best = {}
    for _ in range(args.rounds):   # interleaved: a noisy moment hurts every configuration alike
        for procs, independent in configs:
            r = run(procs, args.steps, args.warmup, independent)
            if (procs, independent) not in best or r["samples_per_s"] > best[(procs, independent)]["samples_per_s"]:
                best[(procs, independent)] = r
    base = best[(1, False)]["samples_per_s"]
    print(f"PyTorch DDP (gloo), mlp batch {BATCH}/process, 1 thread per process, best of {args.rounds} runs of "
          f"{args.steps} steps; load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| processes | step | samples/s | speed-up |")
    print("|---|---|---|---|")
    for (procs, independent), r in best.items():
        name = f"{procs}" + (" without communication" if independent else (" (DDP)" if procs > 1 else ""))
        print(f"| {name} | {r['step_ms']:.2f} ms | {r['samples_per_s']:.0f} | {r['samples_per_s'] / base:.2f}x |")
    return best


if __name__ == "__main__":
    main()
