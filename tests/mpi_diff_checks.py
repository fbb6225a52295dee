"""Checks of npgrad.distributed.nn.functional (differentiable collectives) under ``mpiexec -n 3`` (the protocol of
tests/mpi_checks.py). The oracle is PyTorch's autograd on the whole computation, which every process builds
locally from every process's inputs (they derive from one seed): process ``r``'s loss ``L_r`` uses what the
collective gives process ``r``; each process backpropagates its own ``L_r``, and the gradients it gets for its
inputs must be those of ``sum_r L_r`` (the collectives in backward carry the other processes' terms)."""
import sys

import numpy as np
import torch

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
import npgrad.distributed as dist
import npgrad.distributed.nn.functional as DF
from tests.mpi_checks import main as _main
from tests.mpi_review_dist_checks import _refused


def _x(rank, shape, seed=0, ties=False):
    rng = np.random.default_rng([seed, rank])
    return rng.integers(0, 3, shape).astype(float) if ties else rng.standard_normal(shape)


def _w(rank, k, shape):
    return np.random.default_rng([99, rank, k]).standard_normal(shape)


def _check(name, inputs, npg_fn, torch_fn):
    """``inputs(r)``: process r's input arrays; ``npg_fn(tensors)``: this process's outputs; ``torch_fn(r,
    all_tensors)``: process r's outputs from every process's inputs. Compares values and gradients of this
    process's inputs with torch's for the loss sum_r sum_k sum(w_rk * out_rk ** 2)."""
    rank, size = dist.get_rank(), dist.get_world_size()
    mine = [npg.tensor(a) for a in inputs(rank)]
    outs = npg_fn(mine)
    loss = sum(npg.sum(npg.tensor(_w(rank, k, o.shape)) * o ** 2) for k, o in enumerate(outs))
    loss.backward()
    every = [[torch.tensor(a, requires_grad=True) for a in inputs(r)] for r in range(size)]
    total = 0
    for r in range(size):
        for k, o in enumerate(torch_fn(r, every)):
            total = total + (torch.tensor(_w(r, k, tuple(o.shape))) * o ** 2).sum()
            if r == rank:
                np.testing.assert_allclose(outs[k].data, o.detach().numpy(), rtol=1e-12, atol=1e-12,
                                           err_msg=f"{name}: output {k}")
    total.backward()
    for i, (t, ref) in enumerate(zip(mine, every[rank])):
        want = np.zeros(ref.shape) if ref.grad is None else ref.grad.numpy()   # (None: unused by every loss)
        np.testing.assert_allclose(t.grad.data, want, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {i} on rank {rank}")


def case_all_reduce():
    for op, fn in (("sum", lambda s: s.sum(0)), ("mean", lambda s: s.mean(0)), ("max", lambda s: s.amax(0)),
                   ("min", lambda s: s.amin(0))):
        ties = op in ("max", "min")   # small integers: extremes shared by several processes
        _check(f"all_reduce {op}", lambda r: [_x(r, (3, 4), ties=ties)], lambda ts: [DF.all_reduce(ts[0], op)],
               lambda r, every: [fn(torch.stack([e[0] for e in every]))])


def case_all_gather_and_reduce_scatter():
    size = dist.get_world_size()
    _check("all_gather", lambda r: [_x(r, (2, 3))], lambda ts: list(DF.all_gather(ts[0])),
           lambda r, every: [e[0] for e in every])
    _check("reduce_scatter", lambda r: [_x(r, (size, 2))],
           lambda ts: [DF.reduce_scatter(np.zeros(2), [ts[0][i] for i in range(size)])],
           lambda r, every: [sum(e[0][r] for e in every)])


def case_broadcast_reduce_gather_scatter():
    size = dist.get_world_size()
    _check("broadcast", lambda r: [_x(r, (4,))], lambda ts: [DF.broadcast(ts[0], 1)],
           lambda r, every: [every[1][0] * 1])
    _check("reduce", lambda r: [_x(r, (4,))], lambda ts: [DF.reduce(ts[0], 1)],
           lambda r, every: [sum(e[0] for e in every) if r == 1 else every[r][0] * 1])
    _check("gather", lambda r: [_x(r, (2,))], lambda ts: list(DF.gather(ts[0], dst=2)),
           lambda r, every: [e[0] * (r == 2) for e in every])
    _check("scatter", lambda r: [_x(r, (size, 3))], lambda ts: [DF.scatter([ts[0][i] for i in range(size)], src=0)],
           lambda r, every: [every[0][0][r] * 1])


def case_all_to_all():
    size = dist.get_world_size()
    rows = lambda i, j: i + j + 1   # noqa: E731  (process i sends rows(i, j) rows to process j)
    _check("all_to_all_single", lambda r: [_x(r, (sum(rows(r, j) for j in range(size)), 2))],
           lambda ts: [DF.all_to_all_single(np.zeros((sum(rows(i, dist.get_rank()) for i in range(size)), 2)),
                                            ts[0], [rows(i, dist.get_rank()) for i in range(size)],
                                            [rows(dist.get_rank(), j) for j in range(size)])],
           lambda r, every: [torch.cat([e[0][sum(rows(i, j) for j in range(r)):][:rows(i, r)]
                                        for i, e in enumerate(every)])])
    _check("all_to_all", lambda r: [_x(r, (j + 1, r + 1)) for j in range(size)],
           lambda ts: list(DF.all_to_all([np.zeros((dist.get_rank() + 1, i + 1)) for i in range(size)], ts)),
           lambda r, every: [every[i][r] * 1 for i in range(size)])


def case_second_order_and_forward_mode():
    """grad of grad through all_reduce and all_gather (the VJPs record the collectives), and jvp."""
    rank, size = dist.get_rank(), dist.get_world_size()
    x = npg.tensor(_x(rank, (3,)))
    v = _w(rank, 7, (3,))
    loss = npg.sum(npg.tensor(_w(rank, 0, (3,))) * DF.all_reduce(x) ** 3) + \
        npg.sum(npg.stack(DF.all_gather(x)) ** 2 * npg.tensor(_w(rank, 1, (size, 3))))
    (g,) = npg.autograd.grad(loss, [x], create_graph=True)
    npg.sum(g * npg.tensor(v)).backward()
    xs = [torch.tensor(_x(r, (3,)), requires_grad=True) for r in range(size)]
    s = sum(xs)
    total = sum((torch.tensor(_w(r, 0, (3,))) * s ** 3).sum() +
                (torch.stack(xs) ** 2 * torch.tensor(_w(r, 1, (size, 3)))).sum() for r in range(size))
    gs = torch.autograd.grad(total, xs, create_graph=True)
    sum((gi * torch.tensor(_w(r, 7, (3,)))).sum() for r, gi in enumerate(gs)).backward()
    np.testing.assert_allclose(g.data, gs[rank].detach().numpy(), rtol=1e-10, err_msg="first-order gradient")
    np.testing.assert_allclose(x.grad.data, xs[rank].grad.numpy(), rtol=1e-10, err_msg="second-order gradient")
    with fwAD.dual_level():
        d = fwAD.make_dual(npg.tensor(_x(rank, (3,))), npg.tensor(_w(rank, 5, (3,))))
        y = DF.all_reduce(d, "max")
        _, tangent = fwAD.unpack_dual(y)
    stack = np.stack([_x(r, (3,)) for r in range(size)])
    winner = stack.argmax(0)
    expect = np.array([_w(winner[j], 5, (3,))[j] for j in range(3)])
    np.testing.assert_allclose(tangent.data, expect, rtol=1e-12, err_msg="jvp of all_reduce max")


def case_gather_of_an_inf_gives_zeros_elsewhere():
    """gather off the destination gives zeros (as torch) even when a process's tensor holds an inf (zeros as
    ``stacked * 0`` were NaN there); the destination's gradient still reaches every process."""
    rank, size = dist.get_rank(), dist.get_world_size()
    x = npg.tensor(np.array([np.inf if rank == 1 else 1.0, 2.0]))
    outs = DF.gather(x, dst=0)
    loss = npg.sum(npg.stack([o[1] for o in outs]) * (rank + 1.0))
    loss.backward()
    if rank != 0 and not all(np.array_equal(o.data, np.zeros(2)) for o in outs):
        raise AssertionError(f"gather off the destination: {[o.data for o in outs]}")
    np.testing.assert_array_equal(x.grad, [0.0, 1.0], err_msg=f"gradient on rank {rank}")


def case_refusals():
    _refused(lambda: DF.all_reduce(npg.tensor([1.0]), "product"), ValueError, ["all_reduce", "product"])
    _refused(lambda: DF.all_reduce(np.ones(2)), TypeError, ["all_reduce", "Tensor"])
    x = npg.tensor([1.0, 2.0])
    y = DF.all_reduce(x)
    if not np.array_equal(x.data, [1.0, 2.0]) or y is x:
        raise AssertionError("the differentiable all_reduce wrote into its input")


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}

if __name__ == "__main__":
    import tests.mpi_checks as base
    base.CASES = CASES
    _main(sys.argv[1:])
