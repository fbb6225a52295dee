"""Benchmark: the cost of one recorded op on a small tensor, op by op, npgrad against PyTorch and NumPy.

    python bench/op_overhead.py [--only sum,reshape] [--number 5000] [--repeats 7]

bench/run.py's ``overhead`` workload times a chain of elementwise ops; models also call reductions, view ops,
indexing, softmax and losses, each with its own Python path. Here each op runs on (16, 16) float32 tensors
that require grad, in one process: ``forward`` is the recorded op alone (its result dropped: recording,
graph and deallocation), ``backward`` the forward then ``backward()`` of the sum of its result. The hand-written
NumPy column is the op's NumPy forward alone, the floor for ``forward``. Every op's npgrad value and
gradient are checked against PyTorch's first. Times are the minimum over ``--repeats`` of the mean of
``--number`` calls, backends interleaved per op (the minimum: the machine's noise only adds).
"""
import argparse
import os
import sys
import timeit

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _cases(npg, F, torch, TF):
    """name -> (npgrad function, PyTorch function, NumPy function) of one tensor (two-input ops use ``w``)."""
    idx = np.array([1, 3, 5])
    tidx = torch.tensor(idx)
    y = np.arange(16) % 10
    ty = torch.tensor(y)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    nw, tw = npg.tensor(w), torch.tensor(w, requires_grad=True)

    def np_softmax(a):
        e = np.exp(a - a.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def np_log_softmax(a):
        s = a - a.max(-1, keepdims=True)
        return s - np.log(np.exp(s).sum(-1, keepdims=True))

    return {
        "mul": (lambda x: x * nw, lambda x: x * tw, lambda a: a * w),
        "add scalar": (lambda x: x + 1.0, lambda x: x + 1.0, lambda a: a + 1.0),
        "exp": (npg.exp, torch.exp, np.exp),
        "matmul": (lambda x: x @ nw, lambda x: x @ tw, lambda a: a @ w),
        "sum": (npg.sum, torch.sum, np.sum),
        "sum(axis=0)": (lambda x: npg.sum(x, axis=0), lambda x: x.sum(0), lambda a: a.sum(0)),
        "mean": (npg.mean, torch.mean, np.mean),
        "max(axis=1)": (lambda x: npg.max(x, axis=1), lambda x: x.amax(1), lambda a: a.max(1)),
        "reshape": (lambda x: x.reshape(256), lambda x: x.reshape(256), lambda a: a.reshape(256)),
        "transpose (.T)": (lambda x: x.T, lambda x: x.T, lambda a: a.T),
        "slice x[1:3]": (lambda x: x[1:3], lambda x: x[1:3], lambda a: a[1:3]),
        "index x[idx]": (lambda x: x[idx], lambda x: x[tidx], lambda a: a[idx]),
        "concatenate": (lambda x: npg.concatenate([x, nw]), lambda x: torch.cat([x, tw]),
                        lambda a: np.concatenate([a, w])),
        "stack": (lambda x: npg.stack([x, nw]), lambda x: torch.stack([x, tw]), lambda a: np.stack([a, w])),
        "softmax": (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), np_softmax),
        "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1), np_log_softmax),
        "linear": (lambda x: F.linear(x, nw), lambda x: TF.linear(x, tw), lambda a: a @ w.T),
        "cross_entropy": (lambda x: F.cross_entropy(x, y), lambda x: TF.cross_entropy(x, ty),
                          lambda a: -np_log_softmax(a)[np.arange(16), y].mean()),
        "mse_loss": (lambda x: F.mse_loss(x, nw), lambda x: TF.mse_loss(x, tw), lambda a: ((a - w) ** 2).mean()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated op names")
    ap.add_argument("--number", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import torch
    import torch.nn.functional as TF

    import npgrad as npg
    import npgrad.nn.functional as F
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # small tensors: PyTorch's intra-op threads only add overhead here
    try:
        return _run(args, npg, F, torch, TF)
    finally:
        torch.set_num_threads(threads)   # (main is also called from the tests: leave torch as it was)


def _run(args, npg, F, torch, TF):
    a = np.random.default_rng(1).standard_normal((16, 16)).astype(np.float32)
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    cases = _cases(npg, F, torch, TF)
    names = args.only.split(",") if args.only else list(cases)
    unknown = set(names) - set(cases)
    if unknown:
        raise SystemExit(f"unknown ops: {', '.join(sorted(unknown))}; known: {', '.join(cases)}")

    def best(fn):
        return min(timeit.repeat(fn, number=args.number, repeat=args.repeats)) / args.number * 1e6

    print(f"one recorded op on (16, 16) float32 tensors; µs, min over {args.repeats} repeats of {args.number} calls\n")
    print("| op | npgrad forward | PyTorch forward | NumPy | forward / PyTorch | npgrad fwd+bwd | PyTorch fwd+bwd "
          "| fwd+bwd / PyTorch |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        ours, theirs, floor = cases[name]
        r, tr = ours(x), theirs(tx)   # the check: values, then the gradient of the sum
        np.testing.assert_allclose(np.asarray(r.data), tr.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        x.grad = None
        tx.grad = None
        npg.sum(ours(x)).backward()
        theirs(tx).sum().backward()
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)

        def fb_ours():
            x.grad = None
            npg.sum(ours(x)).backward()

        def fb_theirs():
            tx.grad = None
            theirs(tx).sum().backward()
        f_o, f_t, f_n = best(lambda: ours(x)), best(lambda: theirs(tx)), best(lambda: floor(a))
        b_o, b_t = best(fb_ours), best(fb_theirs)
        print(f"| {name} | {f_o:.2f} | {f_t:.2f} | {f_n:.2f} | {f_o / f_t:.2f}x | {b_o:.2f} | {b_t:.2f} | "
              f"{b_o / b_t:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
