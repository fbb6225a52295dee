"""Checks under ``mpiexec -n 2`` for tests/test_distributed_review.py (the protocol of tests/mpi_checks.py: one
line ``RESULTS {case: "ok" or the failure}`` from rank 0). Oracles: NumPy references each process computes
locally, PyTorch's BatchNorm on the whole batch, and one process's model on the whole batch."""
import sys
import warnings

import numpy as np

import npgrad as npg
import npgrad.distributed as dist
import npgrad.nn as nn
from tests.mpi_checks import main as _main


def _data(rank, shape, seed=0):
    return np.random.default_rng([seed, rank]).standard_normal(shape)


def _refused(call, kind, words):
    """``call()`` must raise ``kind`` naming ``words`` (on every process: none is left waiting)."""
    try:
        call()
    except kind as e:
        missing = [w for w in words if w not in str(e)]
        if missing:
            raise AssertionError(f"unclear error (without {missing}): {e}") from None
        return str(e)
    raise AssertionError(f"no {kind.__name__} for {words}")


def case_collectives_refuse_arrays_that_differ_between_processes():
    """MPI needs the same element count and dtype on every process: with others, all_reduce gave the larger
    process uninitialized memory as its 'sum' ([0, 0, 0, 6.9e-310]) or MPI aborted every process ('Message
    truncated'); all_gather, broadcast and reduce_scatter aborted. Now every process raises a ValueError
    naming the collective and each process's array, and they stay in step."""
    rank, size = dist.get_rank(), dist.get_world_size()
    msgs = [
        _refused(lambda: dist.all_reduce(np.zeros(3 + rank)), ValueError, ["all_reduce", "(3,)", "float64"]),
        _refused(lambda: dist.all_reduce(np.zeros(3, np.float32 if rank else np.float64)), ValueError,
                 ["all_reduce", "float32", "float64"]),
        _refused(lambda: dist.broadcast(npg.zeros(3 - rank, requires_grad=False), src=1), ValueError, ["broadcast", "(2,)"]),
        _refused(lambda: dist.all_gather(None, np.zeros(2 + rank)), ValueError, ["all_gather", "(3,)"]),
        _refused(lambda: dist.all_gather_into_tensor(np.zeros((size, 2 + rank)), np.zeros(2 + rank)), ValueError,
                 ["all_gather"]),
        _refused(lambda: dist.reduce_scatter_tensor(np.zeros(1 + rank), np.zeros(size * (1 + rank))), ValueError,
                 ["reduce_scatter"]),
    ]
    # the op or the source rank differing between processes (MPI: undefined, a hang or wrong values)
    msgs.append(_refused(lambda: dist.all_reduce(np.ones(2), op="max" if rank else "sum"), ValueError,
                         ["all_reduce", "same op", "'sum', 'max'"]))
    msgs.append(_refused(lambda: dist.broadcast(np.ones(2), src=rank), ValueError, ["broadcast", "same src"]))
    msgs.append(_refused(lambda: dist.broadcast(np.ones(2), src=size if rank == 0 else 0), ValueError,
                         ["broadcast"]))
    # an argument only one process refuses: every process raises (the others name that process)
    bad_list = [np.zeros(3)] * (size + (1 if rank == 0 else 0))
    msgs.append(_refused(lambda: dist.all_gather(bad_list, np.zeros(3)), ValueError, ["all_gather"]))
    a = np.array([1.0 + rank])   # the processes are still in step
    dist.all_reduce(a)
    if a[0] != sum(1.0 + r for r in range(size)):
        raise AssertionError(f"sum after the refusals: {a}")
    # the same count in another shape is what MPI needs (as a flat buffer), as torch's gloo accepts it
    b = np.arange(6.0).reshape((2, 3) if rank else (3, 2)) + rank
    dist.all_reduce(b)
    want = sum(np.arange(6.0) + r for r in range(size))
    if not np.array_equal(b.ravel(), want):
        raise AssertionError(f"all_reduce over shapes (2, 3) and (3, 2): {b}")


def case_syncbn_matches_torch_batchnorm_on_the_whole_batch():
    """SyncBatchNorm on each process's part (uneven, one empty) against torch's BatchNorm on the concatenated
    batch: outputs, input gradients, summed weight/bias gradients, running statistics, eval mode; 3-D and 5-D
    inputs, float32, affine=False, momentum=None."""
    import torch
    rank, size = dist.get_rank(), dist.get_world_size()
    configs = [((5,), (3, 4), np.float64, True, 0.1, 2), ((3, 2, 2), (2, 3), np.float32, False, None, 3),
               ((2, 3), (0, 4), np.float64, True, None, 2), ((2,), (1, 1), np.float64, True, 0.3, 2)]
    C = 3
    failures = []
    for tail, ns, dt, affine, momentum, steps in configs:
        ns = tuple(ns[r % len(ns)] for r in range(size))
        xs = [(_data(r, (ns[r], C) + tail, 1) * (r + 1) + r).astype(dt) for r in range(size)]
        gs = [_data(r, (ns[r], C) + tail, 2).astype(dt) for r in range(size)]
        xa, ga = np.concatenate(xs), np.concatenate(gs)
        TB = {3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d, 5: torch.nn.BatchNorm3d}[xa.ndim]
        tdt = torch.float64 if dt == np.float64 else torch.float32
        tb = TB(C, affine=affine, momentum=momentum).to(tdt)
        bn = nn.SyncBatchNorm(C, affine=affine, momentum=momentum, dtype=dt)
        if affine:
            with torch.no_grad():
                tb.weight[:] = torch.tensor([1.5, -0.5, 2.0], dtype=tdt)
                tb.bias[:] = torch.tensor([0.1, 0.2, 0.3], dtype=tdt)
            bn.weight.data[:] = [1.5, -0.5, 2.0]
            bn.bias.data[:] = [0.1, 0.2, 0.3]
        for _ in range(steps):
            xt = torch.tensor(xa, requires_grad=True)
            yt = tb(xt)
            (yt * torch.tensor(ga)).sum().backward()
            x = npg.tensor(xs[rank], requires_grad=True)
            y = bn(x)
            (y * npg.tensor(gs[rank], requires_grad=False)).sum().backward()
        part = slice(sum(ns[:rank]), sum(ns[:rank + 1]))
        got = {"y": y.data, "dx": x.grad, "running_mean": bn.running_mean.data, "running_var": bn.running_var.data}
        want = {"y": yt.detach().numpy()[part], "dx": xt.grad.numpy()[part], "running_mean": tb.running_mean.numpy(),
                "running_var": tb.running_var.numpy()}
        if affine:
            got["weight.grad"] = dist.all_reduce(bn.weight.grad.copy())
            got["bias.grad"] = dist.all_reduce(bn.bias.grad.copy())
            want["weight.grad"], want["bias.grad"] = tb.weight.grad.numpy(), tb.bias.grad.numpy()
        bn.eval()
        tb.eval()
        got["eval"] = bn(npg.tensor(xs[rank])).data
        want["eval"] = tb(torch.tensor(xs[rank])).detach().numpy()
        tol = dict(rtol=2e-4, atol=2e-4) if dt == np.float32 else dict(rtol=1e-9, atol=1e-10)
        for k in want:
            if got[k].dtype != dt or got[k].shape != want[k].shape or not np.allclose(got[k], want[k], **tol):
                failures.append(f"{xa.ndim}-D {np.dtype(dt).name} sizes {ns} {k}")
    if failures:
        raise AssertionError("; ".join(failures))


class _Tied(nn.Module):
    """Sparse embedding, tied weights, frozen parameters, float32 and float64 parameters, a dict output."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4, sparse=True)
        self.l1 = nn.Linear(4, 4)
        self.l2 = nn.Linear(4, 4)
        self.l2.weight = self.l1.weight
        self.frozen = nn.Linear(4, 4)
        for p in self.frozen.parameters():
            p.requires_grad_(False)
        self.l32 = nn.Linear(4, 3, dtype=np.float32)

    def forward(self, idx):
        h = self.emb(idx).sum(1)
        h = self.l2(npg.tanh(self.l1(h))) + self.frozen(h)
        return {"out": self.l32(h.astype(np.float32)), "aux": (h,)}


def _tied_loss(model, idx):
    o = model(npg.tensor(idx, requires_grad=False))
    return (o["out"] ** 2).sum().astype(np.float64) + (o["aux"][0] ** 2).sum()


def case_ddp_tied_frozen_mixed_dtypes_sparse_dict_output():
    """Against one process on every process's batch (the mean of the losses): default and one-parameter
    buckets, one and two backward passes (the second, with no forward before it, local as in PyTorch); frozen parameters broadcast and without gradient; "module." keys."""
    rank, size = dist.get_rank(), dist.get_world_size()
    idx = [np.random.default_rng([1, r]).integers(0, 10, (3, 2)) for r in range(size)]
    failures = []
    for cap in (25, 1e-6):
        for twice in (False, True):
            npg.random.seed(0)
            ref = _Tied()
            for r in range(size):
                (_tied_loss(ref, idx[r]) / size).backward()
            if twice:   # as PyTorch's (checked under gloo): the second backward, without a forward, is local
                _tied_loss(ref, idx[rank]).backward()
            npg.random.seed(0 if rank == 0 else 7)   # DDP copies rank 0's values everywhere
            model = _Tied()
            ddp = dist.DistributedDataParallel(model, bucket_mb=cap)
            loss = _tied_loss(ddp, idx[rank])
            loss.backward(retain_graph=twice)
            if twice:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    loss.backward()
                if not any("accumulated locally, not averaged" in str(w.message) for w in caught):
                    failures.append("no warning for a second backward without a forward")
            for (name, p), q in zip(model.named_parameters(), ref.parameters()):
                if not np.allclose(p.data, q.data):
                    failures.append(f"{name} not rank 0's")
                if p.requires_grad and not np.allclose(np.asarray(p.grad), np.asarray(q.grad), rtol=1e-5, atol=1e-6):
                    failures.append(f"bucket_mb={cap} twice={twice}: {name}.grad")
                if not p.requires_grad and p.grad is not None:
                    failures.append(f"frozen {name} got a gradient")
            if sorted(ddp.state_dict()) != sorted("module." + k for k in model.state_dict()):
                failures.append(f"state_dict keys {sorted(ddp.state_dict())}")
            ddp.remove_hooks()
    if failures:
        raise AssertionError("; ".join(failures))


def case_no_sync_is_decided_by_the_forward():
    """PyTorch's reducer is prepared in forward: a forward inside no_sync gives a local backward even outside
    it, and a forward outside gives an averaged backward even inside it."""
    rank, size = dist.get_rank(), dist.get_world_size()
    xs = [np.random.default_rng([2, r]).standard_normal((4, 3)) for r in range(size)]
    failures = []
    for forward_inside in (True, False):
        npg.random.seed(0)
        model = npg.nn.Linear(3, 2).double()
        ddp = dist.DistributedDataParallel(model)
        local = []
        for r in range(size):   # each process's own gradient, computed on a copy
            m = npg.nn.Linear(3, 2).double()
            m.load_state_dict(model.state_dict())
            (m(npg.tensor(xs[r])) ** 2).sum().backward()
            local.append(m.weight.grad.copy())
        if forward_inside:
            with ddp.no_sync():
                loss = (ddp(npg.tensor(xs[rank])) ** 2).sum()
            loss.backward()
            want = local[rank]
        else:
            loss = (ddp(npg.tensor(xs[rank])) ** 2).sum()
            with ddp.no_sync():
                loss.backward()
            want = sum(local) / size
        if not np.allclose(model.weight.grad, want):
            failures.append(f"forward {'inside' if forward_inside else 'outside'} no_sync: not "
                            f"{'local' if forward_inside else 'averaged'}")
        ddp.remove_hooks()
    if failures:
        raise AssertionError("; ".join(failures))


def case_collectives_warn_for_a_tensor_that_requires_grad():
    """PyTorch warns when a c10d collective writes a tensor that requires grad (no autograd kernel): so does
    npgrad, pointing at the caller's line (broadcast: on the processes it writes to, not on the source); not
    under no_grad, nor for a detached tensor or an array. (Every collective runs before any check: a process
    that failed early would leave the other waiting.)"""
    import warnings
    rank, size = dist.get_rank(), dist.get_world_size()
    x = npg.ones(3, requires_grad=True) * 1.0
    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        dist.all_reduce(x)
        dist.broadcast(x, src=0)
    with warnings.catch_warnings(record=True) as second:
        warnings.simplefilter("always")
        with npg.no_grad():
            dist.all_reduce(x)
        dist.all_reduce(x.detach())
        dist.all_reduce(np.ones(3))
    msgs = [w for w in first if "collectives are not differentiated" in str(w.message)]
    want = ["all_reduce"] + (["broadcast"] if rank != 0 else [])
    assert [str(w.message).split(":")[0] for w in msgs] == want, [str(w.message) for w in first]
    assert all(w.filename == __file__ for w in msgs), [w.filename for w in msgs]
    assert not [w for w in second if "collectives are not differentiated" in str(w.message)]
    np.testing.assert_allclose(x.data, size ** 3)   # (1 -> size -> size -> size**2 -> size**3)


if __name__ == "__main__":
    import tests.mpi_checks as checks
    checks.CASES = {name[5:]: fn for name, fn in list(globals().items()) if name.startswith("case_")}
    _main(sys.argv[1:])
