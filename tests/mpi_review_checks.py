"""More checks under ``mpiexec -n 2`` (run by tests/test_data_review.py): collectives on bool, 0-d, integer
and non-contiguous arrays against NumPy references each process computes locally. Prints one line
``RESULTS {case: "ok" or the failure}`` from rank 0 (the protocol of tests/mpi_checks.py)."""
import sys

import numpy as np

import npgrad as npg
import npgrad.distributed as dist
from tests.mpi_checks import main as _main


def _eq(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
        raise AssertionError(f"{what}: got {got!r}, expected {want!r}")


def case_bool_reductions():
    """torch.distributed reduces bools with sum/max as a logical or, min as a logical and (MPI refuses
    arithmetic ops on booleans)."""
    rank, size = dist.get_rank(), dist.get_world_size()
    every = np.array([[r == 0, False, True, r == 1] for r in range(size)])
    got = {}
    for op in ("sum", "max", "min"):
        a = every[rank].copy()
        dist.all_reduce(a, op=op)
        got[op] = a
    out = np.zeros(2, bool)
    dist.reduce_scatter_tensor(out, every[rank], op="sum")
    _eq(got["sum"], every.sum(0, dtype=bool), "bool sum")
    _eq(got["max"], every.max(0), "bool max")
    _eq(got["min"], every.min(0), "bool min")
    _eq(out, every.sum(0, dtype=bool)[2 * rank:2 * rank + 2], "bool reduce_scatter")


def case_mean_of_integers_refused_before_communicating():
    for call in (lambda: dist.all_reduce(np.arange(3), op="mean"),
                 lambda: dist.reduce_scatter_tensor(np.zeros(1, np.int64), np.arange(dist.get_world_size()),
                                                    op="avg")):
        try:
            call()
        except TypeError as e:
            if "op='mean' needs a floating array" not in str(e):
                raise AssertionError(f"unclear error: {e}") from None
        else:
            raise AssertionError("a mean of integers did not raise")
    a = np.array([1.0 + dist.get_rank()])   # the processes are still in step
    dist.all_reduce(a)
    _eq(a, np.array([sum(1.0 + r for r in range(dist.get_world_size()))]), "sum after the refusals")


def case_zero_d_and_non_contiguous():
    rank, size = dist.get_rank(), dist.get_world_size()
    z = npg.tensor(np.float64(1.5 + rank))
    dist.all_reduce(z, op="max")
    g = dist.all_gather(None, np.array(rank, np.int32))
    grid = np.zeros((3, 4))
    grid[:, 0::2] = 10 * rank + np.arange(6).reshape(3, 2)
    dist.broadcast(grid[:, 0::2], src=size - 1)
    _eq(z.data, np.array(0.5 + size), "0-d all_reduce max")
    _eq(g, np.arange(size, dtype=np.int32), "0-d all_gather")
    want = np.zeros((3, 4))
    want[:, 0::2] = 10 * (size - 1) + np.arange(6).reshape(3, 2)
    _eq(grid, want, "broadcast into a strided view from the last rank")



def case_all_gather_refuses_a_dtype_mismatch():
    """torch.distributed.all_gather raises ValueError for a tensor_list of another dtype (npgrad cast the
    gathered floats into the integer arrays)."""
    size = dist.get_world_size()
    ints = [np.zeros(3, np.int64) for _ in range(size)]
    try:
        dist.all_gather(ints, np.array([1.5, 2.5, 3.5]))
    except ValueError as e:
        if "dtype int64" not in str(e):
            raise AssertionError(f"unclear error: {e}") from None
    else:
        raise AssertionError(f"all_gather into int64 arrays of float64 data gave {ints}")
    floats = [np.zeros(3) for _ in range(size)]
    dist.all_gather(floats, np.full(3, dist.get_rank() + 0.5))   # the processes are still in step
    _eq(np.stack(floats), np.arange(size)[:, None] + np.full((size, 3), 0.5), "all_gather after the refusal")



def case_ddp_broadcasts_buffers_before_each_training_forward():
    """As torch's DDP: rank 0's buffers are copied everywhere before each forward in training mode (a plain
    BatchNorm's running statistics then move from rank 0's values with this process's batch), not in eval."""
    import npgrad.nn as nn
    rank = dist.get_rank()
    xs = [[_data(r, step) for r in range(dist.get_world_size())] for step in range(3)]
    bn = nn.BatchNorm1d(2, momentum=0.1)
    bn.running_mean.data[:] = rank   # differs until DDP broadcasts rank 0's at construction
    ddp = dist.DistributedDataParallel(bn)
    ddp(npg.tensor(xs[0][rank]))
    ddp(npg.tensor(xs[1][rank]))
    ddp.eval()
    ddp(npg.tensor(xs[2][rank]))
    mean0, var0 = 0.1 * xs[0][0].mean(0), 0.9 + 0.1 * xs[0][0].var(0, ddof=1)   # rank 0 after step 0
    want_mean = 0.9 * mean0 + 0.1 * xs[1][rank].mean(0)
    want_var = 0.9 * var0 + 0.1 * xs[1][rank].var(0, ddof=1)
    if not (np.allclose(bn.running_mean.data, want_mean, rtol=1e-12, atol=1e-14)
            and np.allclose(bn.running_var.data, want_var, rtol=1e-12, atol=1e-14)):
        raise AssertionError(f"running stats {bn.running_mean.data}, {bn.running_var.data}; expected "
                             f"{want_mean}, {want_var}")
    _eq(bn.num_batches_tracked.data, np.array(2, np.int64), "num_batches_tracked")


def case_broadcast_from_a_read_only_array():
    """The source's array is only read: a read-only one (np.frombuffer, a memory map) must not make the source
    raise alone while the other processes wait for it."""
    rank = dist.get_rank()
    src = np.frombuffer(np.arange(6.0).tobytes(), dtype=np.float64)   # read-only
    got = src if rank == 0 else np.zeros(6)
    dist.broadcast(got, src=0)
    t = npg.tensor(np.zeros((2, 3)) + rank)
    dist.broadcast(t, src=1)
    _eq(got, np.arange(6.0), "broadcast of a read-only source")
    _eq(t.data, np.ones((2, 3)), "broadcast from rank 1")


def _data(rank, step):
    return np.random.default_rng([7, rank, step]).standard_normal((4, 2))


if __name__ == "__main__":
    import tests.mpi_checks as checks
    checks.CASES = {name[5:]: fn for name, fn in list(globals().items()) if name.startswith("case_")}
    _main(sys.argv[1:])
