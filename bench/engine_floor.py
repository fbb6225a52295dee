"""Benchmark: how fast and how small a reverse-mode engine in Python over NumPy can be, on the overhead chain.

    python bench/engine_floor.py [--ops 1000] [--rounds 30] [--mem-ops 30000]

Issue #17 asks for npgrad's per-op time at most 0.4x PyTorch's and its graph at most 400 bytes per op. This script
bounds what those targets ask of a Python engine: it runs the ``overhead`` chain (``h = h * a + b``,
``h = tanh(h)`` on a (16,) float32 tensor, then sum and backward; bench/workloads/overhead.py) on

* ``numpy``: the hand-written forward and backward (bench/workloads/overhead.py), the NumPy calls alone;
* ``floor-node``: the smallest engine of npgrad's design written here (a tensor is its own graph node: data,
  grad, parents, saved values, VJPs, creation number, pending gradient; backward visits nodes newest first, a
  chain without a heap), with none of npgrad's features (no broadcasting, dtype, complex, hook, in-place, view,
  forward-mode or vmap checks);
* ``floor-split``: the same with graph nodes apart from tensors (PyTorch's design): a result tensor holds its
  data and its node, a node its parents' nodes, saved values, VJPs and creation number, so an intermediate array
  that no VJP reads is freed with its tensor;
* ``npgrad`` and ``torch``.

Every backend's gradients are checked against the hand-written NumPy's before timing; the timed rounds are
interleaved and their medians compared. Bytes per op are measured as bench/graph_memory.py does (each backend in
a fresh process under ``PYTHONMALLOC=malloc``, malloc's bytes in use with the graph of a ``--mem-ops`` chain alive).
"""
import argparse
import heapq
import itertools
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.workloads import overhead  # noqa: E402

BACKENDS = ("numpy", "floor-node", "floor-split", "npgrad", "torch")
_new = object.__new__


# ------------------------------------------------------------------ floor-node: a tensor is its own node
class NodeTensor:
    """The minimal tensor-as-node: every recorded result keeps its parents, the values its VJPs read, its VJPs
    and a creation number (backward's order), as npgrad's Tensor does."""

    __slots__ = ("data", "grad", "parents", "saved", "vjps", "seq", "pending")

    def __init__(self, data):
        self.data, self.grad, self.parents, self.vjps, self.pending = data, None, None, None, None

    def __mul__(self, other):  # (the recording inlined, as npgrad's elementwise ops: a call is ~10% of an op)
        t = _new(NodeTensor)
        t.data, t.grad, t.parents, t.saved, t.vjps, t.seq, t.pending = \
            self.data * other.data, None, (self, other), (self.data, other.data), _MUL, _next(), None
        return t

    def __add__(self, other):
        t = _new(NodeTensor)
        t.data, t.grad, t.parents, t.saved, t.vjps, t.seq, t.pending = \
            self.data + other.data, None, (self, other), _NONE2, _ADD, _next(), None
        return t


_next = itertools.count(0.0, 1.0).__next__
_NONE1, _NONE2 = (None,), (None, None)
_MUL = (lambda g, y, a, b: g * b, lambda g, y, a, b: g * a)
_ADD = (lambda g, y, a, b: g, lambda g, y, a, b: g)
_TANH = (lambda g, y, x: g - g * y * y,)


def _node_result(data, parents, saved, vjps):
    t = _new(NodeTensor)
    t.data, t.grad, t.parents, t.saved, t.vjps, t.seq, t.pending = data, None, parents, saved, vjps, _next(), None
    return t


def node_tanh(x):
    t = _new(NodeTensor)
    t.data, t.grad, t.parents, t.saved, t.vjps, t.seq, t.pending = np.tanh(x.data), None, (x,), _NONE1, _TANH, \
        _next(), None
    return t


def node_backward(root):
    """Visit recorded tensors newest first (a heap on the creation number; a chain's next node skips it)."""
    root.pending = np.ones_like(root.data)
    heap, nxt = [], root
    while nxt is not None or heap:
        if nxt is None:
            t = heapq.heappop(heap)[1]
        elif heap and heap[0][0] < -nxt.seq:
            t = heapq.heapreplace(heap, (-nxt.seq, nxt))[1]
            nxt = None
        else:
            t, nxt = nxt, None
        g, t.pending = t.pending, None
        saved, out, vjps, parents = t.saved, t.data, t.vjps, t.parents
        i, n, two = 0, len(parents), len(saved) == 2
        while i < n:                                 # (no zip, no *saved: as npgrad's engine)
            p, vjp = parents[i], vjps[i]
            i += 1
            gp = vjp(g, out, saved[0], saved[1]) if two else vjp(g, out, saved[0])
            if p.vjps is None:                       # a leaf
                p.grad = gp if p.grad is None else p.grad + gp
            elif p.pending is None:
                p.pending = gp
                if nxt is None:
                    nxt = p
                else:
                    heapq.heappush(heap, (-p.seq, p))
            else:
                p.pending = p.pending + gp
        t.parents = t.saved = None


def node_sum(x):
    return _node_result(np.sum(x.data), (x,), _NONE1, (lambda g, y, x: np.broadcast_to(g, _SHAPE),))


_SHAPE = (16,)


# ------------------------------------------------------------------ floor-split: nodes apart from tensors
class Node:
    """A recorded op: its parents (Nodes, or leaf tensors), saved values, VJPs, creation number, pending gradient.
    Unlike NodeTensor, it does not hold its result's array: only the values its VJPs read (``out`` when they
    read the result: tanh)."""

    __slots__ = ("parents", "saved", "vjps", "seq", "pending", "out")


class SplitTensor:
    __slots__ = ("data", "grad", "node")

    def __init__(self, data):
        self.data, self.grad, self.node = data, None, None

    def __mul__(self, other):
        n = _new(Node)
        n.parents = (self if self.node is None else self.node, other if other.node is None else other.node)
        n.saved, n.vjps, n.seq, n.pending, n.out = (self.data, other.data), _MUL, _next(), None, None
        t = _new(SplitTensor)
        t.data, t.grad, t.node = self.data * other.data, None, n
        return t

    def __add__(self, other):
        n = _new(Node)
        n.parents = (self if self.node is None else self.node, other if other.node is None else other.node)
        n.saved, n.vjps, n.seq, n.pending, n.out = _NONE2, _ADD, _next(), None, None
        t = _new(SplitTensor)
        t.data, t.grad, t.node = self.data + other.data, None, n
        return t


def _split_result(data, inputs, saved, vjps, reads_out):
    n = _new(Node)
    if len(inputs) == 2:                                                  # leaves stand for themselves
        a, b = inputs
        n.parents = (a if a.node is None else a.node, b if b.node is None else b.node)
    else:
        a, = inputs
        n.parents = (a if a.node is None else a.node,)
    n.saved, n.vjps, n.seq, n.pending, n.out = saved, vjps, _next(), None, data if reads_out else None
    t = _new(SplitTensor)
    t.data, t.grad, t.node = data, None, n
    return t


def split_tanh(x):
    n = _new(Node)
    y = np.tanh(x.data)
    n.parents, n.saved, n.vjps, n.seq, n.pending, n.out = (x if x.node is None else x.node,), _NONE1, _TANH, \
        _next(), None, y
    t = _new(SplitTensor)
    t.data, t.grad, t.node = y, None, n
    return t


def split_sum(x):
    return _split_result(np.sum(x.data), (x,), _NONE1, (lambda g, y, x: np.broadcast_to(g, _SHAPE),), False)


def split_backward(root):
    """node_backward, written again for Node objects (the leaf test and the output's place differ): each floor
    engine stays a standalone loop, as a shared one with a hook for the difference would time that hook too."""
    node = root.node
    node.pending = np.ones_like(root.data)
    heap, nxt = [], node
    while nxt is not None or heap:
        if nxt is None:
            t = heapq.heappop(heap)[1]
        elif heap and heap[0][0] < -nxt.seq:
            t = heapq.heapreplace(heap, (-nxt.seq, nxt))[1]
            nxt = None
        else:
            t, nxt = nxt, None
        g, t.pending = t.pending, None
        saved, out, vjps, parents = t.saved, t.out, t.vjps, t.parents
        i, n, two = 0, len(parents), len(saved) == 2
        while i < n:
            p, vjp = parents[i], vjps[i]
            i += 1
            gp = vjp(g, out, saved[0], saved[1]) if two else vjp(g, out, saved[0])
            if p.__class__ is SplitTensor:           # a leaf
                p.grad = gp if p.grad is None else p.grad + gp
            elif p.pending is None:
                p.pending = gp
                if nxt is None:
                    nxt = p
                else:
                    heapq.heappush(heap, (-p.seq, p))
            else:
                p.pending = p.pending + gp
        t.parents = t.saved = t.out = None


# ------------------------------------------------------------------ one step of each backend
def _step_fn(backend, inp):
    """(step() -> gradients of x, a, b as arrays, forward(n_ops) -> what keeps the graph alive)."""
    x, a, b, n_ops = inp["x"], inp["a"], inp["b"], inp["n_ops"]
    if backend == "numpy":
        runner = overhead.setup_numpy(inp)
        return (lambda: runner.step()[1]), None
    if backend in ("floor-node", "floor-split"):
        cls, tanh, total, backward = ((NodeTensor, node_tanh, node_sum, node_backward) if backend == "floor-node"
                                      else (SplitTensor, split_tanh, split_sum, split_backward))
        params = [cls(v) for v in (x, a, b)]

        def step():
            for p in params:
                p.grad = None
            backward(total(overhead._chain(*params, n_ops, tanh)))
            return [p.grad for p in params]
        return step, lambda n: (overhead._chain(*params, n, tanh), params)
    if backend == "npgrad":
        import npgrad as npg
        params = [npg.tensor(v) for v in (x, a, b)]

        def step():
            for p in params:
                p.grad = None
            npg.sum(overhead._chain(*params, n_ops, npg.tanh)).backward()
            return [p.grad for p in params]
        return step, lambda n: (overhead._chain(*params, n, npg.tanh), params)
    import torch
    params = [torch.tensor(v, requires_grad=True) for v in (x, a, b)]

    def step():
        for p in params:
            p.grad = None
        overhead._chain(*params, n_ops, torch.tanh).sum().backward()
        return [p.grad.numpy() for p in params]
    return step, lambda n: (overhead._chain(*params, n, torch.tanh), params)


def _bytes_per_op(backend, n_ops):
    """Malloc bytes in use per op with the chain's graph alive (run under PYTHONMALLOC=malloc)."""
    from bench.graph_memory import _malloc_in_use
    inp = overhead.make("full", np.random.default_rng(0))
    if backend == "numpy":
        from bench.graph_memory import _forward
        _forward("numpy", 300)
        before = _malloc_in_use()
        kept = _forward("numpy", n_ops)
        return (_malloc_in_use() - before) / n_ops if kept is not None else 0.0
    _, forward = _step_fn(backend, inp)
    forward(300)
    before = _malloc_in_use()
    graph = forward(n_ops)
    used = _malloc_in_use() - before
    del graph
    return used / n_ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--mem-ops", type=int, default=30000)
    ap.add_argument("--memory-of", help=argparse.SUPPRESS)   # internal: one backend's bytes/op, this process
    args = ap.parse_args()
    if args.memory_of:
        print(_bytes_per_op(args.memory_of, args.mem_ops))
        return
    inp = overhead.make("full", np.random.default_rng(0))
    inp["n_ops"] = args.ops
    steps, available = {}, []
    for backend in BACKENDS:
        try:
            steps[backend] = _step_fn(backend, inp)[0]
            available.append(backend)
        except ImportError as e:
            print(f"{backend}: not run ({e})")
    ref = steps["numpy"]()
    for backend in available:   # same gradients as the hand-written NumPy before anything is timed
        for got, want in zip(steps[backend](), ref):
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-4, atol=1e-5, err_msg=backend)
    times = {b: [] for b in available}
    for _ in range(args.rounds):
        for backend in available:
            t0 = time.perf_counter()
            steps[backend]()
            times[backend].append((time.perf_counter() - t0) / args.ops)
    env = dict(os.environ, PYTHONMALLOC="malloc")
    mem = {}
    for backend in available:
        proc = subprocess.run([sys.executable, __file__, "--memory-of", backend, "--mem-ops", str(args.mem_ops)],
                              env=env, capture_output=True, text=True)
        mem[backend] = float(proc.stdout.split()[-1]) if proc.returncode == 0 else float("nan")
    med = {b: float(np.median(v)) for b, v in times.items()}
    print(f"\nthe overhead chain ({args.ops:,} ops on a (16,) float32 tensor, forward + backward), medians of "
          f"{args.rounds} interleaved rounds; bytes per op with a {args.mem_ops:,}-op graph alive\n")
    print("| backend | us/op | / torch | / numpy | bytes/op |")
    print("|---|---|---|---|---|")
    for b in available:
        rt = f"{med[b] / med['torch']:.2f}x" if "torch" in med else "n/a"
        print(f"| {b} | {med[b] * 1e6:.2f} | {rt} | {med[b] / med['numpy']:.2f}x | {mem[b]:.0f} |")


if __name__ == "__main__":
    main()
