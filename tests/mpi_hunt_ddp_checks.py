"""Checks under ``mpiexec -n 2`` for tests/test_hunt_ddp.py (the protocol of tests/mpi_checks.py: one line
``RESULTS {case: "ok" or the failure}`` from rank 0). Oracles: the same model run by one process on every
process's data, and PyTorch's DistributedDataParallel semantics (checked under gloo with 2 processes)."""
import sys
import warnings

import numpy as np

import npgrad as npg
import npgrad.distributed as dist
import npgrad.nn as nn
from tests.mpi_checks import main as _main


def _x(rank):
    return np.random.default_rng([5, rank]).standard_normal((4, 3))


def _model(seed):
    npg.random.seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def _grads_of(model, xs, scale=1.0):
    """Each parameter's gradient of ``scale * sum over xs of sum(model(x) ** 2)``, on a copy of ``model``."""
    copy = _model(0)
    copy.load_state_dict(model.state_dict())
    for x in xs:
        ((copy(npg.tensor(x)) ** 2).sum() * scale).backward()
    return [p.grad.copy() for p in copy.parameters()]


def case_backward_through_module_alone_is_local_and_does_not_hang():
    """PyTorch's reducer averages only the backward its DDP forward prepared. npgrad averaged any backward
    reaching the parameters after a first DDP forward: a backward through ``ddp.module`` on every process was
    averaged (PyTorch: local), and one on rank 0 alone (e.g. a saliency map for logging) left rank 0 waiting
    in an all-reduce no other process joined: a hang."""
    rank, size = dist.get_rank(), dist.get_world_size()
    model = _model(rank)
    ddp = dist.DistributedDataParallel(model)
    (ddp(npg.tensor(_x(rank))) ** 2).sum().backward()
    averaged = [p.grad.copy() for p in model.parameters()]
    want_avg = _grads_of(model, [_x(r) for r in range(size)], 1.0 / size)
    failures = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.zero_grad()
        (model(npg.tensor(_x(rank) * 2)) ** 2).sum().backward()          # every process, not through ddp
        local = [p.grad.copy() for p in model.parameters()]
        if rank == 0:                                                    # one process alone
            model.zero_grad()
            (model(npg.tensor(_x(rank) * 3)) ** 2).sum().backward()
            alone = [p.grad.copy() for p in model.parameters()]
    check = np.array([1.0 + rank])
    dist.all_reduce(check)                   # the processes are still in step
    if check[0] != sum(1.0 + r for r in range(size)):
        failures.append(f"out of step: {check}")
    if not all(np.allclose(a, b) for a, b in zip(averaged, want_avg)):
        failures.append("the DDP backward is not the average")
    if not all(np.allclose(a, b) for a, b in zip(local, _grads_of(model, [_x(rank) * 2]))):
        failures.append("a backward through .module was averaged (PyTorch: local)")
    if rank == 0 and not all(np.allclose(a, b) for a, b in zip(alone, _grads_of(model, [_x(rank) * 3]))):
        failures.append("rank 0's lone backward is not local")
    if not any("accumulated locally, not averaged" in str(w.message) for w in caught):
        failures.append("no warning that the backward after an averaged one is local")
    (ddp(npg.tensor(_x(rank))) ** 2).sum().backward()   # the next DDP forward averages again
    model.zero_grad()
    (ddp(npg.tensor(_x(rank))) ** 2).sum().backward()
    if not all(np.allclose(p.grad, b) for p, b in zip(model.parameters(), want_avg)):
        failures.append("a DDP step after the local backward is not averaged")
    ddp.remove_hooks()
    if failures:
        raise AssertionError("; ".join(failures))


def case_parameter_frozen_after_wrapping_gets_no_grad():
    """A parameter frozen (requires_grad_(False)) after wrapping got a zero ``.grad`` written by DDP's
    averaging: a tensor that does not require grad must keep ``.grad`` None (as PyTorch; an optimizer with
    momentum or weight decay would otherwise move a frozen weight). The others are still the average."""
    rank, size = dist.get_rank(), dist.get_world_size()
    model = _model(rank)
    ddp = dist.DistributedDataParallel(model)
    model[0].weight.requires_grad_(False)
    want = _grads_of(model, [_x(r) for r in range(size)], 1.0 / size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (ddp(npg.tensor(_x(rank))) ** 2).sum().backward()
    failures = []
    if model[0].weight.grad is not None:
        failures.append(f"frozen weight got .grad {model[0].weight.grad}")
    for (name, p), w in zip(model.named_parameters(), want):
        if name != "0.weight" and not np.allclose(p.grad, w):
            failures.append(f"{name}.grad is not the average")
    if [w for w in caught if "got no gradient" in str(w.message)]:
        failures.append("warned that a frozen parameter got no gradient")
    ddp.remove_hooks()
    if failures:
        raise AssertionError("; ".join(failures))


def case_product_and_bitwise_reduce_ops():
    """torch.distributed's ReduceOp.PRODUCT / BAND / BOR / BXOR (missing before) against NumPy's reductions
    over every process's array: ints (all_reduce, async, reduce_scatter_tensor), floats (PRODUCT), bools (as
    torch's gloo: product and band a logical and, bor an or, bxor a xor); BAND on floats refused on every
    process before communicating (MPI would abort), as torch refuses it."""
    rank, size = dist.get_rank(), dist.get_world_size()
    ints = [np.random.default_rng([7, r]).integers(-50, 50, (3, 4)) for r in range(size)]
    flts = [np.random.default_rng([8, r]).standard_normal((2, 3)).astype(np.float32) for r in range(size)]
    bools = [np.random.default_rng([9, r]).random(6) < 0.5 for r in range(size)]
    refs = {"product": (np.prod, np.logical_and), "band": (np.bitwise_and, np.logical_and),
            "bor": (np.bitwise_or, np.logical_or), "bxor": (np.bitwise_xor, np.logical_xor)}
    out = {}
    for name, (ref, logical) in refs.items():
        want = np.prod(ints, axis=0) if name == "product" else ref.reduce(ints)
        a = ints[rank].copy()
        dist.all_reduce(a, op=getattr(dist.ReduceOp, name.upper()))
        out[name + " int"] = (a, want)
        t = npg.tensor(ints[rank].T, requires_grad=False)   # non-contiguous, a Tensor
        dist.all_reduce(t, op=name, async_op=True).wait()
        out[name + " int async"] = (t.data, want.T)
        b = bools[rank].copy()
        dist.all_reduce(b, op=name)
        out[name + " bool"] = (b, logical.reduce(bools))
        rs = np.empty(2, np.int64)
        dist.reduce_scatter_tensor(rs, np.arange(2 * size) + 3 * rank + 1, op=name)
        every = np.stack([np.arange(2 * size) + 3 * r + 1 for r in range(size)])
        out[name + " reduce_scatter"] = (rs, (np.prod(every, 0) if name == "product" else ref.reduce(every))
                                         [2 * rank:2 * rank + 2])
    f = flts[rank].copy()
    dist.all_reduce(f, op="product")
    out["product float32"] = (f, np.prod(flts, axis=0))
    refused = ""
    try:
        dist.all_reduce(np.ones(3), op=dist.ReduceOp.BAND)
    except TypeError as e:
        refused = str(e)
    check = np.array([1.0 + rank])
    dist.all_reduce(check)
    failures = [k for k, (got, want) in out.items()
                if got.dtype != want.dtype or not np.allclose(got, want, rtol=1e-6)]
    if not ("all_reduce" in refused and "band" in refused and "float64" in refused):
        failures.append(f"band on floats: {refused!r}")
    if check[0] != sum(1.0 + r for r in range(size)):
        failures.append(f"out of step: {check}")
    if failures:
        raise AssertionError("; ".join(failures))


def case_async_result_is_in_place_once_is_completed():
    """torch's ``Work.is_completed()`` returning True means the result is in the tensor; npgrad's finished
    only in ``wait()``: a loop polling is_completed read, in a non-contiguous tensor, its old values, and for
    op="mean" a contiguous one held the sum. Against NumPy's mean over every process's array."""
    import time
    rank, size = dist.get_rank(), dist.get_world_size()
    every = np.stack([np.random.default_rng([11, r]).standard_normal((3, 2)) for r in range(size)])
    got = {}
    for name, t in (("contiguous", npg.tensor(every[rank].copy())),
                    ("transposed", npg.tensor(every[rank].T.copy()).t())):
        work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
        deadline = time.monotonic() + 30
        while not work.is_completed() and time.monotonic() < deadline:
            time.sleep(0.001)
        got[name] = t.data.copy()
        work.wait()   # (a no-op now)
        got[name + " after wait"] = t.data.copy()
    failures = [k for k, v in got.items() if not np.allclose(v, every.mean(0), rtol=1e-12)]
    if failures:
        raise AssertionError(f"not the mean: {failures}")


if __name__ == "__main__":
    import tests.mpi_checks as checks
    checks.CASES = {name[5:]: fn for name, fn in list(globals().items()) if name.startswith("case_")}
    _main(sys.argv[1:])
