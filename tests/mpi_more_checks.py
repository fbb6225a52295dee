"""Checks of the rooted collectives, all-to-all, point-to-point messages and object collectives under
``mpiexec -n 3`` (the protocol of tests/mpi_checks.py: one line ``RESULTS {case: "ok" or the failure}`` from rank
0). Oracles: NumPy references each process computes locally (every process knows every process's data, which
derives from one seed)."""
import sys

import numpy as np

import npgrad as npg
import npgrad.distributed as dist
from tests.mpi_checks import _close, _data_of as _data, main as _main
from tests.mpi_review_dist_checks import _refused


def _same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
        raise AssertionError(f"{what}: got {a!r}, expected {b!r}")


def case_reduce():
    rank, size = dist.get_rank(), dist.get_world_size()
    every = [_data(r, (3, 4)) for r in range(size)]
    got = {}
    for op, ref in (("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min)):
        t = npg.tensor(_data(rank, (3, 4)), requires_grad=False)
        before = t.data.copy()
        assert dist.reduce(t, dst=1, op=op) is t
        got[op] = (t.data.copy(), before, ref(np.stack(every), axis=0))
    # a non-contiguous array as the destination's buffer, and the asynchronous form
    a = np.asfortranarray(_data(rank, (4, 3)))
    work = dist.reduce(a, dst=size - 1, async_op=True)
    work.wait()
    for op, (value, before, ref) in got.items():
        _close(value, ref if rank == 1 else before, f"reduce {op} on rank {rank}", rtol=1e-12)
    _close(a, np.sum([_data(r, (4, 3)) for r in range(size)], axis=0) if rank == size - 1 else _data(rank, (4, 3)),
           "async reduce into a Fortran-ordered array", rtol=1e-12)


def case_gather_and_scatter():
    rank, size = dist.get_rank(), dist.get_world_size()
    mine = npg.tensor(_data(rank, (2, 3)), requires_grad=False)
    out = [npg.zeros((2, 3), requires_grad=False) for _ in range(size)] if rank == 0 else None
    dist.gather(mine, out, dst=0)
    out_last = [np.zeros((2, 3)) for _ in range(size)] if rank == size - 1 else None
    dist.gather(mine.data, out_last, dst=size - 1, async_op=True).wait()
    recv = npg.zeros(5, dtype="int64", requires_grad=False)
    lst = [np.arange(5) + 10 * r for r in range(size)] if rank == 1 else None
    dist.scatter(recv, lst, src=1)
    recv2 = np.zeros((2, 2), np.float32).T    # a transposed view as the output
    lst2 = [np.full((2, 2), r, np.float32) for r in range(size)] if rank == 0 else None
    dist.scatter(recv2, lst2, src=0, async_op=True).wait()
    if rank == 0:
        for r in range(size):
            _same(out[r].data, _data(r, (2, 3)), f"gather entry {r}")
    if rank == size - 1:
        for r in range(size):
            _same(out_last[r], _data(r, (2, 3)), f"async gather entry {r}")
    _same(recv.data, np.arange(5) + 10 * rank, "scatter")
    _same(recv2, np.full((2, 2), rank, np.float32), "async scatter into a view")


def _block(i, j):
    """What process i sends process j in the all-to-all cases: a block of i + j + 1 rows."""
    return np.arange((i + j + 1) * 2, dtype=np.float64).reshape(-1, 2) + 100 * i + 10 * j


def case_all_to_all():
    rank, size = dist.get_rank(), dist.get_world_size()
    ins = [npg.tensor(_block(rank, j), requires_grad=False) for j in range(size)]
    outs = [npg.zeros(_block(i, rank).shape, requires_grad=False) for i in range(size)]
    assert dist.all_to_all(outs, ins) is outs
    outs2 = [np.zeros(_block(i, rank).shape) for i in range(size)]
    dist.all_to_all(outs2, [t.data for t in ins], async_op=True).wait()
    # all_to_all_single: equal blocks, then uneven ones (rank i sends i + j + 1 rows to j)
    x = np.arange(size * 2 * 3, dtype=np.int32).reshape(size * 2, 3) + 1000 * rank
    y = np.zeros_like(x)
    dist.all_to_all_single(y, x)
    ux = np.concatenate([_block(rank, j) for j in range(size)])
    uy = npg.zeros((sum(i + rank + 1 for i in range(size)), 2), requires_grad=False)
    dist.all_to_all_single(uy, ux, output_split_sizes=[i + rank + 1 for i in range(size)],
                           input_split_sizes=[rank + j + 1 for j in range(size)])
    for i in range(size):
        _same(outs[i].data, _block(i, rank), f"all_to_all from {i}")
        _same(outs2[i], _block(i, rank), f"async all_to_all from {i}")
    ref = np.concatenate([(np.arange(size * 2 * 3, dtype=np.int32).reshape(size * 2, 3) + 1000 * i)[2 * rank:2 * rank + 2]
                          for i in range(size)])
    _same(y, ref, "all_to_all_single, equal blocks")
    _same(uy.data, np.concatenate([_block(i, rank) for i in range(size)]), "all_to_all_single, uneven blocks")


def case_send_recv():
    rank, size = dist.get_rank(), dist.get_world_size()
    nxt, prv = (rank + 1) % size, (rank - 1) % size
    # a ring: everyone sends to the next and receives from the previous (isend first: no deadlock)
    work = dist.isend(npg.tensor(_data(rank, (3,)), requires_grad=False), nxt)
    got = npg.zeros(3, requires_grad=False)
    sender = dist.recv(got, src=prv)
    work.wait()
    # two messages with different tags, received in the other order; then two with one tag, by irecv
    if rank == 0:
        dist.send(np.full(2, 1.0), 1, tag=7)
        dist.send(np.full(2, 2.0), 1, tag=8)
        dist.send(np.arange(4.0), 1, tag=3)
        dist.send(np.arange(4.0) + 10, 1, tag=3)
    elif rank == 1:
        a, b = np.zeros(2), np.zeros(2)
        dist.recv(b, src=0, tag=8)
        dist.recv(a, src=0, tag=7)
        c, d = npg.zeros(4, requires_grad=False), np.zeros(4)
        wc, wd = dist.irecv(c, src=0, tag=3), dist.irecv(d, src=0, tag=3)
        wd.wait()
        wc.wait()
    # from any process: rank 0 collects one message from each of the others
    if rank == 0:
        senders = set()
        for _ in range(size - 1):
            buf = np.zeros(1, np.int64)
            s = dist.recv(buf, tag=5)
            senders.add(s)
            _same(buf, np.array([s * 11]), f"recv from any process (sender {s})")
        w = dist.irecv(np.zeros(1, np.int64), tag=6) if size > 1 else None
        w.wait()
    else:
        dist.send(np.array([rank * 11]), 0, tag=5)
        if rank == 1:
            dist.send(np.array([5]), 0, tag=6)
    # batch_isend_irecv: receives listed before sends, around the ring the other way
    back = np.zeros(2)
    ops = [dist.P2POp(dist.irecv, back, nxt, tag=9), dist.P2POp(dist.isend, np.full(2, float(rank)), prv, tag=9)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    _same(back, np.full(2, float(nxt)), "batch_isend_irecv")
    _same(got.data, _data(prv, (3,)), "ring recv")
    if sender != prv:
        raise AssertionError(f"recv returned sender {sender}, expected {prv}")
    if rank == 1:
        _same(a, np.full(2, 1.0), "tag 7")
        _same(b, np.full(2, 2.0), "tag 8")
        _same(c.data, np.arange(4.0), "first irecv of one tag")
        _same(d, np.arange(4.0) + 10, "second irecv of one tag")
    if rank == 0 and senders != set(range(1, size)):
        raise AssertionError(f"senders {senders}")


def case_objects():
    rank, size = dist.get_rank(), dist.get_world_size()
    lst = [None] * size
    dist.all_gather_object(lst, {"rank": rank, "loss": 0.5 * rank})
    b = [f"from {rank}", rank, None]
    dist.broadcast_object_list(b, src=1)
    g = [None] * size if rank == 2 % size else None
    dist.gather_object(("r", rank), g, dst=2 % size)
    out = [None]
    dist.scatter_object_list(out, [{"i": i} for i in range(size)] if rank == 0 else None, src=0)
    t = [None] * size
    dist.all_gather_object(t, npg.tensor([float(rank)]))
    if lst != [{"rank": r, "loss": 0.5 * r} for r in range(size)]:
        raise AssertionError(f"all_gather_object: {lst}")
    if b != ["from 1", 1, None]:
        raise AssertionError(f"broadcast_object_list: {b}")
    if rank == 2 % size and g != [("r", r) for r in range(size)]:
        raise AssertionError(f"gather_object: {g}")
    if out != [{"i": rank}]:
        raise AssertionError(f"scatter_object_list: {out}")
    for r in range(size):
        _same(t[r].data, np.array([float(r)]), "a Tensor through all_gather_object")


def case_errors_leave_every_process_in_step():
    """A bad argument on one process is an error on every process (none waits for the others), and the
    processes can go on communicating afterwards."""
    rank, size = dist.get_rank(), dist.get_world_size()
    _refused(lambda: dist.gather(np.zeros(2), [np.zeros(2)] * size, dst=0), ValueError,
             ["gather"] + (["refused"] if rank == 0 else ["must not be given", "dst=0"]))
    _refused(lambda: dist.gather(np.zeros(2 + rank), [np.zeros(2)] * size if rank == 0 else None), ValueError,
             ["gather", "(3,)"])
    _refused(lambda: dist.scatter(np.zeros(2), None, src=0), ValueError,
             ["scatter"] + (["must be given on the source"] if rank == 0 else ["refused"]))
    _refused(lambda: dist.reduce(np.zeros(2), dst=rank), ValueError, ["reduce", "same dst"])
    _refused(lambda: dist.reduce(np.zeros(2), dst=size), ValueError, ["reduce", f"dst={size}"])
    # all-to-all: process 0 sends one element too many to process 1
    ins = [np.zeros(2 + (rank == 0 and j == 1)) for j in range(size)]
    _refused(lambda: dist.all_to_all([np.zeros(2) for _ in range(size)], ins), ValueError,
             ["all_to_all", "process 0 sends 3 elements to process 1, which expects 2"])
    _refused(lambda: dist.all_to_all_single(np.zeros(size * 2), np.zeros(size * 2 + 1)), ValueError,
             ["all_to_all_single"])
    _refused(lambda: dist.send(np.zeros(2), rank), ValueError, ["send", "own rank"])
    # a message of another dtype or size: the receiver raises, naming both, and reads the next one correctly
    if rank == 0:
        dist.send(np.zeros(3, np.float32), 1)
        dist.send(np.arange(4), 1)
        dist.send(np.ones(3, np.float32), 1, tag=2)
        dist.send(np.arange(3.0), 1, tag=2)
        dist.send(np.arange(5.0), 1, tag=4)       # larger than the receiver's tensor
        dist.send(np.arange(3.0) + 1, 1, tag=4)
    elif rank == 1:
        keep = np.full(3, 9.0)
        _refused(lambda: dist.recv(keep, 0), ValueError, ["recv", "(3,) float32", "(3,) float64"])
        nxt = np.zeros(4, np.int64)
        dist.recv(nxt, 0)
        _same(nxt, np.arange(4), "the message after a refused one")
        w = dist.irecv(keep, 0, tag=2)
        _refused(w.wait, ValueError, ["irecv", "float32"])
        _same(keep, np.full(3, 9.0), "a tensor whose irecv was refused is left as it was")
        dist.recv(keep, 0, tag=2)
        _same(keep, np.arange(3.0), "the message after a refused irecv")
        w = dist.irecv(keep, tag=4)           # from any process, polled until complete
        _refused(lambda: [None for _ in iter(lambda: w.is_completed(), True)], ValueError, ["irecv", "(5,) float64"])
        _same(keep, np.arange(3.0), "a tensor whose irecv was refused is left as it was")
        w = dist.irecv(keep, 0, tag=4)
        while not w.is_completed():
            pass
        _same(keep, np.arange(3.0) + 1, "the message after a larger one")
    # objects: one that cannot be pickled, lists of different lengths
    lam = (lambda: 0) if rank == 1 else 0
    _refused(lambda: dist.all_gather_object([None] * size, lam), (TypeError if rank == 1 else ValueError),
             ["all_gather_object"])
    _refused(lambda: dist.broadcast_object_list([0] * (1 + rank), src=0), ValueError,
             ["broadcast_object_list", "length of object_list"])
    after = np.full(1, float(rank))
    dist.all_reduce(after)
    _same(after, np.array([float(sum(range(size)))]), "an all_reduce after the refusals")


def case_groups_and_init_process_group():
    """new_group's communicator as every call's ``group=`` (src / dst and recv's result are default ranks, as
    in torch; outside the group a call warns and does nothing), torch's positional order, and
    init_process_group."""
    import warnings
    rank, size = dist.get_rank(), dist.get_world_size()
    g = dist.new_group([size - 1, 0])            # ranks 0 and size-1: group ranks 0 and 1
    inside = rank in (0, size - 1)
    x = np.full(2, float(rank + 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = dist.all_reduce(x, "sum", g)
    b = np.full(3, float(rank))
    dist.broadcast(b, size - 1, g)
    red = np.full(1, float(rank))
    dist.reduce(red, size - 1, "max", g)
    got_from = None
    if rank == size - 1:
        dist.send(np.array([7.0]), 0, g)
    elif rank == 0:
        buf = np.zeros(1)
        got_from = dist.recv(buf, None, g)
    msg = None
    if inside:
        try:
            dist.broadcast(np.zeros(1), 1, g)   # rank 1 is not in the group
        except ValueError as e:
            msg = str(e)
    work = dist.all_reduce(np.ones(2), "sum", None, True)   # torch's order: op, group, async_op
    work.wait()
    expect = float(1 + size) if inside else float(rank + 1)
    _same(x, np.full(2, expect), f"all_reduce over new_group on rank {rank}")
    if inside != (r is not None):
        raise AssertionError(f"all_reduce returned {r!r} on rank {rank}")
    if inside == any("not in the group" in str(w.message) for w in caught):
        raise AssertionError(f"warnings on rank {rank}: {[str(w.message) for w in caught]}")
    _same(b, np.full(3, float(size - 1) if inside else float(rank)), "broadcast from a default rank in a group")
    _same(red, np.full(1, float(size - 1) if rank == size - 1 else float(rank)), "reduce to a default rank")
    if rank == 0:
        _same(buf, np.array([7.0]), "recv in a group")
        if got_from != size - 1:
            raise AssertionError(f"recv in a group returned {got_from}, expected the default rank {size - 1}")
    if inside and (msg is None or "src=1 is not in the group" not in msg):
        raise AssertionError(f"no clear error for a src outside the group: {msg}")
    want = (1 if rank else 0, 2) if inside else (-1, -1)
    if (dist.get_rank(g), dist.get_world_size(g)) != want:
        raise AssertionError(f"get_rank / get_world_size of the group on rank {rank}")
    # init_process_group: refused while initialized, and MPI's world size and rank
    _refused(lambda: dist.init_process_group("gloo"), RuntimeError, ["already initialized"])
    comm = dist.get_comm()
    dist.destroy_process_group()
    _refused(lambda: dist.init_process_group("nccl"), ValueError, ["nccl", "CPU"])
    _refused(lambda: dist.init_process_group(rank=rank + 1), ValueError, ["rank", str(rank)])
    dist.init_process_group("gloo", world_size=size, rank=rank)
    if dist.get_comm() != comm or dist.get_backend() != "mpi":
        raise AssertionError("init_process_group did not set up the default group")


def case_zero_redundancy_optimizer():
    """ZeroRedundancyOptimizer against the plain optimizer in one process on the same gradients: the same
    parameters after every step (bit for bit: each update is the plain one's, then broadcast), with a learning-rate
    scheduler changing the global param_groups, a second parameter group, mixed dtypes; its consolidated state dict
    is the plain optimizer's, and loading the plain one's state dict continues identically."""
    from npgrad.distributed.optim import ZeroRedundancyOptimizer
    rank = dist.get_rank()
    shapes = [(5, 4), (7,), (3, 3, 2), (1,), (6, 2), (4,)]
    init = [np.random.default_rng([5, i]).standard_normal(s).astype(np.float32 if i % 2 else np.float64)
            for i, s in enumerate(shapes)]

    def make(cls):
        ps = [npg.tensor(a.copy()) for a in init]
        groups = [{"params": ps[:4]}, {"params": ps[4:], "lr": 0.05}]
        opt = cls(groups)
        return ps, opt, npg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    zps, zero, zsched = make(lambda g: ZeroRedundancyOptimizer(g, npg.optim.AdamW, lr=0.1, weight_decay=0.01))
    pps, plain, psched = make(lambda g: npg.optim.AdamW(g, lr=0.1, weight_decay=0.01))
    owned = sum(len(s) > 0 for s in zero.optim.state.values())

    def run(steps, k0=0):
        for k in range(k0, k0 + steps):
            for i, (a, b) in enumerate(zip(zps, pps)):
                grad = np.random.default_rng([7, k, i]).standard_normal(a.shape).astype(a.dtype)
                a.grad, b.grad = grad.copy(), grad.copy()
            zero.step()
            plain.step()
            zsched.step()
            psched.step()
            for i, (a, b) in enumerate(zip(zps, pps)):
                _same(a.data, b.data, f"parameter {i} after step {k}")
    run(5)
    zero.consolidate_state_dict(to=1)
    sd = zero.state_dict() if rank == 1 else None
    if rank != 1:
        _refused(zero.state_dict, RuntimeError, ["consolidate_state_dict"])
    else:
        ref = plain.state_dict()
        if sd["param_groups"] != ref["param_groups"] or sorted(sd["state"]) != sorted(ref["state"]):
            raise AssertionError(f"consolidated state dict: {sd['param_groups']} vs {ref['param_groups']}")
        for i in ref["state"]:
            for key, v in ref["state"][i].items():
                _same(np.asarray(sd["state"][i][key]), np.asarray(v), f"state {i} {key}")
    # each process keeps only its own parameters' state
    if owned == len(shapes) and dist.get_world_size() > 1:
        raise AssertionError("every parameter's state is on one process")
    # a plain optimizer's state dict loaded on every process: the next steps continue as the plain one's
    zero.load_state_dict(plain.state_dict())
    run(2, k0=5)


def case_syncbn_float32_far_from_zero():
    """SyncBatchNorm of float32 inputs around 100 (raw pixel values): its local mean is taken of x - s, as
    F.batch_norm's, so the output is as accurate as torch's float32 BatchNorm on the whole batch (oracle: float64)."""
    rank, size = dist.get_rank(), dist.get_world_size()
    xs = [(100 + _data(r, (2000, 3, 4), 3)).astype(np.float32) for r in range(size)]
    bn = npg.nn.SyncBatchNorm(3, dtype=np.float32)
    y = bn(npg.tensor(xs[rank], requires_grad=False))
    import torch
    whole = np.concatenate(xs)
    exact = torch.nn.functional.batch_norm(torch.tensor(whole, dtype=torch.float64), None, None, training=True).numpy()
    t32 = torch.nn.functional.batch_norm(torch.tensor(whole), None, None, training=True).numpy()
    part = slice(2000 * rank, 2000 * (rank + 1))
    err, torch_err = np.abs(y.data - exact[part]).max(), np.abs(t32 - exact).max()
    if err > max(2 * torch_err, 3e-5):
        raise AssertionError(f"SyncBatchNorm float32 around 100: error {err}, torch's {torch_err}")


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}

if __name__ == "__main__":
    import tests.mpi_checks as base
    base.CASES = CASES
    _main(sys.argv[1:])
