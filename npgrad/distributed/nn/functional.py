"""Differentiable collectives, as ``torch.distributed.nn.functional``: each returns new tensors (it never writes
into its arguments) recorded in the graph, and backward runs the collective that is its adjoint.

* ``all_reduce``: the gradient is the all-reduce (sum) of every process's gradient: sum, mean (divided by the
  number of processes) and max / min (to the processes holding the extreme, split evenly between ties: torch
  all-reduces the gradients with the op itself, which is not the derivative of max). Product and the bitwise
  ops are refused: no gradient.
* ``all_gather`` (a tuple, one tensor per process) and ``reduce_scatter`` are each other's adjoints, as are
  ``broadcast`` and a sum to the source process, and ``all_to_all`` / ``all_to_all_single`` and the exchange
  back. ``reduce`` keeps each other process's own tensor (as :func:`npgrad.distributed.reduce` leaves it), so
  its gradient there is that process's own plus the destination's (torch drops the first).
* ``gather`` / ``scatter``: the destination's tuple (zeros elsewhere, as torch) and the source's entries.

As with the forward pass, every process must run backward through the same collectives in the same order.
Gradients of gradients work (``create_graph=True``): the VJPs call these functions on Tensors. Forward mode
(``jvp``) runs the same collective on the tangents.
"""
import numpy as np

from ...ops.shape import concatenate, stack
from ...ops.ternary import where
from ...tensor import Tensor, _make
from .. import _comm
from .. import _rooted

_SUM_LIKE = ("sum", "mean")


def _input(x, where):
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected an npgrad Tensor, got {type(x).__name__}")
    return x


def _c(a):
    """A C-contiguous copy of ``a``'s array for a collective that writes into it (those that only read their
    input get the array itself: the collective copies it only if it is not C-contiguous)."""
    return np.array(a, order="C", copy=True)


def _key(op, where, allowed):
    key = str(op).lower()
    key = {"avg": "mean", "prod": "product"}.get(key, key)
    if key not in allowed:
        raise ValueError(f"{where}: op={op!r} is not differentiable here; use one of {', '.join(allowed)}")
    return key


# ---------------------------------------------------------------- all_reduce
def all_reduce(tensor, op=_comm.ReduceOp.SUM, group=None):
    """The elementwise ``op`` (sum, mean, max, min) of ``tensor`` over all processes, as a new tensor."""
    x = _input(tensor, "all_reduce")
    key = _key(op, "all_reduce", _SUM_LIKE + ("max", "min"))
    y = _c(x.data)
    _comm.all_reduce(y, key, group)
    if key in _SUM_LIKE:
        rule = (lambda g, y_, x_: _all_reduce_of(g, key, group),)
        return _make(y, "all_reduce", (x,), (None,), rule, rule)

    def share(xv, yv):   # this process's share of the extreme: 1 / (the number of processes holding it)
        hit = (_data(xv) == _data(yv)).astype(y.dtype)
        count = _c(hit)
        _comm.all_reduce(count, "sum", group)
        return hit / count
    vjp = (lambda g, y_, x_: _all_reduce_of(g, "sum", group) * share(x_, y_),)
    jvp = (lambda t, y_, x_: _all_reduce_of(t * share(x_, y_), "sum", group),)
    return _make(y, "all_reduce", (x,), (x.data,), vjp, jvp)


def _data(v):
    return v.data if isinstance(v, Tensor) else v


def _all_reduce_of(g, key, group):
    """The all-reduce of a gradient or tangent: recorded for a Tensor (create_graph), raw for an array."""
    if isinstance(g, Tensor):
        return all_reduce(g, key, group)
    out = _c(g)
    _comm.all_reduce(out, key, group)
    return out


# ---------------------------------------------------------------- all_gather and reduce_scatter
def _gather_all(x, group):
    """Every process's ``x`` stacked in rank order: (world_size, *x.shape)."""
    if not isinstance(x, Tensor):
        out = np.empty((_size(group),) + np.shape(x), np.asarray(x).dtype)
        _comm.all_gather_into_tensor(out, np.asarray(x), group)
        return out
    y = np.empty((_size(group),) + x.shape, x.dtype)
    _comm.all_gather_into_tensor(y, x.data, group)
    rule = (lambda g, y_, x_: _scatter_sum(g, group),)
    return _make(y, "all_gather", (x,), (None,), rule, (lambda t, y_, x_: _gather_all(t, group),))


def _scatter_sum(s, group):
    """Entry ``rank`` of the sum over processes of the stacked ``s`` (world_size, ...): a reduce-scatter."""
    if not isinstance(s, Tensor):
        out = np.empty(np.shape(s)[1:], np.asarray(s).dtype)
        _comm.reduce_scatter_tensor(out, np.asarray(s), "sum", group)
        return out
    y = np.empty(s.shape[1:], s.dtype)
    _comm.reduce_scatter_tensor(y, s.data, "sum", group)
    rule = (lambda g, y_, s_: _gather_all(g, group),)
    return _make(y, "reduce_scatter", (s,), (None,), rule, (lambda t, y_, s_: _scatter_sum(t, group),))


def _size(group):
    return _comm.get_comm(group).Get_size()


def all_gather(tensor, group=None):
    """Every process's ``tensor``, in rank order, as a tuple of new tensors (the shapes must agree)."""
    stacked = _gather_all(_input(tensor, "all_gather"), group)
    return tuple(stacked[i] for i in range(stacked.shape[0]))


def reduce_scatter(output, input_list, op=_comm.ReduceOp.SUM, group=None):
    """Entry ``rank`` of the sum (or mean) over processes of ``input_list`` (one tensor per process), as a new
    tensor. ``output`` gives its shape (it is not written, unlike torch's)."""
    key = _key(op, "reduce_scatter", _SUM_LIKE)
    if len(input_list) != _size(group):
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} entries for {_size(group)} processes")
    y = _scatter_sum(stack([_input(t, "reduce_scatter") for t in input_list]), group)
    if tuple(y.shape) != tuple(np.shape(_data(output))):
        raise ValueError(f"reduce_scatter: output has shape {np.shape(_data(output))}, the result {y.shape}")
    return y / _size(group) if key == "mean" else y


# ---------------------------------------------------------------- broadcast, reduce, gather, scatter
def _bcast(x, src, group):
    """Process ``src``'s ``x`` on every process."""
    if not isinstance(x, Tensor):
        out = _c(x)
        _comm.broadcast(out, src, group)
        return out
    y = _c(x.data)
    _comm.broadcast(y, src, group)
    rule = (lambda g, y_, x_: _sum_to(g, src, group),)
    return _make(y, "broadcast", (x,), (None,), rule, (lambda t, y_, x_: _bcast(t, src, group),))


def _sum_to(x, dst, group):
    """The sum over processes of ``x`` on process ``dst``, zeros elsewhere (broadcast's adjoint)."""
    if not isinstance(x, Tensor):
        out = _c(x)
        _rooted.reduce(out, dst, "sum", group)
        if _comm.get_rank() != dst:
            out[...] = 0
        return out
    y = _sum_to(x.data, dst, group)
    rule = (lambda g, y_, x_: _bcast(g, dst, group),)
    return _make(y, "reduce", (x,), (None,), rule, (lambda t, y_, x_: _sum_to(t, dst, group),))


def broadcast(tensor, src, group=None):
    """Process ``src``'s ``tensor`` on every process, as a new tensor."""
    return _bcast(_input(tensor, "broadcast"), src, group)


def reduce(tensor, dst, op=_comm.ReduceOp.SUM, group=None):
    """The sum (or mean) over processes of ``tensor`` on process ``dst``; elsewhere the process's own tensor
    (as :func:`npgrad.distributed.reduce` leaves it). New tensors."""
    x = _input(tensor, "reduce")
    key = _key(op, "reduce", _SUM_LIKE)
    total = _sum_to(x, dst, group)
    if _comm.get_rank() == dst:
        return total / _size(group) if key == "mean" else total
    return total + x


def gather(tensor, dst=0, group=None):
    """On process ``dst``, every process's ``tensor`` in rank order (a tuple of new tensors); elsewhere a tuple of
    zeros of that shape (as torch)."""
    stacked = _gather_all(_input(tensor, "gather"), group)
    if _comm.get_rank() != dst:   # (zeros, still on the graph: the gather's backward must run here too; not
        stacked = where(False, stacked, 0)   # stacked * 0, NaN where another process's tensor holds an inf)
    return tuple(stacked[i] for i in range(stacked.shape[0]))


def scatter(tensors, src=0, group=None):
    """Entry ``rank`` of process ``src``'s ``tensors`` (one per process, of one shape), as a new tensor; the
    other processes pass tensors of that shape too (their values are not used), as in torch."""
    if len(tensors) != _size(group):
        raise ValueError(f"scatter: tensors has {len(tensors)} entries for {_size(group)} processes")
    stacked = _bcast(stack([_input(t, "scatter") for t in tensors]), src, group)
    return stacked[_comm.get_rank(group)]


# ---------------------------------------------------------------- all-to-all
def _exchange(flat, send_counts, recv_counts, group):
    """Block ``j`` of the 1-d ``flat`` (``send_counts[j]`` elements) to process ``j``; the blocks received, in
    rank order (``recv_counts``). Its adjoint is the exchange back, with the counts swapped."""
    if not isinstance(flat, Tensor):
        out = np.empty(sum(recv_counts), np.asarray(flat).dtype)
        _rooted._alltoallv(_comm.get_comm(group), "all_to_all", np.ascontiguousarray(flat), send_counts, out,
                           recv_counts, False, lambda: None)
        return out
    y = _exchange(flat.data, send_counts, recv_counts, group)
    rule = (lambda g, y_, x_: _exchange(g, recv_counts, send_counts, group),)
    return _make(y, "all_to_all", (flat,), (None,), rule,
                 (lambda t, y_, x_: _exchange(t, send_counts, recv_counts, group),))


def all_to_all(output_tensor_list, input_tensor_list, group=None):
    """``input_tensor_list[j]`` to process ``j``; a tuple of new tensors, entry ``i`` from process ``i``, of the
    shapes of ``output_tensor_list`` (which is not written, unlike torch's)."""
    n = _size(group)
    if len(input_tensor_list) != n or len(output_tensor_list) != n:
        raise ValueError(f"all_to_all: input_tensor_list and output_tensor_list need {n} entries each, got "
                         f"{len(input_tensor_list)} and {len(output_tensor_list)}")
    ins = [_input(t, "all_to_all") for t in input_tensor_list]
    shapes = [tuple(np.shape(_data(t))) for t in output_tensor_list]
    recv = [int(np.prod(s)) for s in shapes]
    flat = concatenate([t.reshape(-1) for t in ins])
    out = _exchange(flat, [t.size for t in ins], recv, group)
    bounds = np.cumsum([0] + recv)
    return tuple(out[bounds[i]:bounds[i + 1]].reshape(shapes[i]) for i in range(n))


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None):
    """``input`` split along its first axis (``input_split_sizes`` rows per process, or equal blocks), block
    ``j`` to process ``j``; the blocks received, in rank order, as one new tensor of ``output``'s shape (which
    is not written, unlike torch's)."""
    x = _input(input, "all_to_all_single")
    n = _size(group)
    oshape = tuple(np.shape(_data(output)))
    row_in, row_out = int(np.prod(x.shape[1:])), int(np.prod(oshape[1:]))
    ins = _rooted._splits(input_split_sizes, x.shape[0], "input_split_sizes", "input", n)
    outs = _rooted._splits(output_split_sizes, oshape[0], "output_split_sizes", "output", n)
    out = _exchange(x.reshape(-1), [k * row_in for k in ins], [k * row_out for k in outs], group)
    return out.reshape(oshape)
