"""The process group and the collectives, on mpi4py's buffer-based (uppercase) calls: NumPy arrays go to MPI
as memory, never pickled. mpi4py is imported by :func:`init`, not before.

Each collective first checks, with one small all-gather (:func:`_agree`), that every process passes an array
of the same size and dtype and that none refused its arguments: MPI itself does not check (it hands a process
uninitialized memory, or aborts them all). The check blocks until every process has reached the call, also
with ``async_op=True``; the data then moves without blocking."""
import os
import warnings

import numpy as np

from ..autograd import versions as _versions
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

_group = {"comm": None, "MPI": None}


class ReduceOp:
    """Reduction operations, as ``torch.distributed.ReduceOp`` (the strings ``"sum"``, ``"mean"`` / ``"avg"``,
    ``"max"``, ``"min"``, ``"product"``, ``"band"``, ``"bor"``, ``"bxor"`` work as well). The bitwise ones take
    integer or bool arrays only."""
    SUM = "sum"
    AVG = "mean"
    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError("npgrad.distributed needs mpi4py and an MPI implementation: pip install mpi4py mpich "
                          "(or the project's extra: pip install -e \".[mpi]\")") from e
    return MPI


def init(comm=None):
    """Set up the process group: ``MPI.COMM_WORLD``, or the mpi4py communicator ``comm`` (e.g. a
    ``Split`` of it). Call it once in every process, before anything else in this module. Returns the
    communicator. Run the script with ``mpiexec -n N python script.py``."""
    MPI = _mpi()
    if comm is None:
        comm = MPI.COMM_WORLD
    elif not isinstance(comm, MPI.Comm):
        raise TypeError(f"init: comm must be an mpi4py communicator (MPI.Comm), not {type(comm).__name__}")
    _group["comm"], _group["MPI"] = comm, MPI
    return comm


def is_initialized():
    """True once :func:`init` has been called in this process."""
    return _group["comm"] is not None


def destroy_process_group():
    """Forget the communicator set by :func:`init` (MPI itself is finalized by mpi4py at exit)."""
    _group["comm"] = None


def get_comm(group=None):
    """The mpi4py communicator of the default process group (an error before :func:`init`), or of ``group``
    (a communicator from :func:`new_group`, or any mpi4py communicator, such as a ``Split`` of the default)."""
    comm = _group["comm"]
    if comm is None:
        raise RuntimeError("npgrad.distributed is not initialized: call npgrad.distributed.init() first "
                           "(and start the processes with mpiexec -n N python ...)")
    if group is None:
        return comm
    if not isinstance(group, _group["MPI"].Comm):
        raise TypeError(f"group must be an mpi4py communicator (npgrad.distributed.new_group(ranks) gives one), "
                        f"not {type(group).__name__}")
    return group


def _member(group, where):
    """The communicator of ``group`` for the call ``where``; None on a process outside it (the group is
    MPI.COMM_NULL there, as :func:`new_group` gives), after a warning: as in torch.distributed, the call then
    does nothing and returns None."""
    comm = get_comm(group)
    if comm == _group["MPI"].COMM_NULL:
        warnings.warn(f"{where}: this process is not in the group, so the call does nothing", UserWarning,
                      stacklevel=_caller_level())
        return None
    return comm


def _rank_in(comm, rank, name, where):
    """The rank in ``comm`` of the process whose rank in the default group is ``rank``: as in torch, ``src`` and
    ``dst`` name processes by their rank in the default group whatever the group."""
    default, MPI = _group["comm"], _group["MPI"]
    size = default.Get_size()
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < size:
        raise ValueError(f"{where}: {name}={rank!r} is not a rank of a group of {size} processes")
    if comm == default:
        return int(rank)
    there = _translate(default, comm, int(rank))
    if there == MPI.UNDEFINED:
        members = [_translate(comm, default, r) for r in range(comm.Get_size())]
        raise ValueError(f"{where}: {name}={rank} is not in the group (its processes' ranks: {members})")
    return there


def _translate(comm_a, comm_b, rank):
    """The rank in ``comm_b`` of process ``rank`` of ``comm_a`` (MPI.UNDEFINED if it is not in ``comm_b``)."""
    ga, gb = comm_a.Get_group(), comm_b.Get_group()
    try:
        return _group["MPI"].Group.Translate_ranks(ga, [rank], gb)[0]
    finally:
        ga.Free()
        gb.Free()


def get_rank(group=None):
    """This process's rank in the default group (or in ``group``; -1 outside it), 0 to world_size - 1."""
    comm = get_comm(group)
    return -1 if comm == _group["MPI"].COMM_NULL else comm.Get_rank()


def get_world_size(group=None):
    """The number of processes in the default group (or in ``group``; -1 on a process outside it)."""
    comm = get_comm(group)
    return -1 if comm == _group["MPI"].COMM_NULL else comm.Get_size()


def barrier(group=None):
    """Block until every process of the group has reached this call."""
    comm = _member(group, "barrier")
    if comm is not None:
        comm.Barrier()


def _op(op, where, dtype):
    """The op's name and MPI op for arrays of ``dtype``. MPI reduces booleans only with logical ops: as in
    torch.distributed, a bool sum or max is a logical or, a min or product a logical and (band / bor / bxor
    the logical and / or / xor); a mean needs floats, the bitwise ops integers or bools (MPI would abort)."""
    key = str(op).lower()
    key = {"avg": "mean", "prod": "product"}.get(key, key)
    if key not in _OPS:
        raise ValueError(f"{where}: op must be one of {', '.join(map(repr, _OPS))} (ReduceOp), got {op!r}")
    if key == "mean" and dtype.kind != "f":
        raise TypeError(f"{where}: op='mean' needs a floating array, got {dtype}")
    if key in ("band", "bor", "bxor") and dtype.kind not in "biu":
        raise TypeError(f"{where}: op={key!r} needs an integer or bool array, got {dtype}")
    MPI = _group["MPI"]
    if dtype.kind == "b":
        return key, {"sum": MPI.LOR, "max": MPI.LOR, "min": MPI.LAND, "product": MPI.LAND, "band": MPI.LAND,
                     "bor": MPI.LOR, "bxor": MPI.LXOR}[key]
    return key, {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "product": MPI.PROD,
                 "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}[key]


_MPI_KINDS = "biuf"
_OPS = ("sum", "mean", "max", "min", "product", "band", "bor", "bxor")


def _buffer(x, where, write=True):
    """``x``'s NumPy array (a Tensor's data) and a C-contiguous array MPI can use in its place."""
    arr = x.data if isinstance(x, Tensor) else x
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{where}: expected an npgrad Tensor or a NumPy array, got {type(x).__name__}")
    dt = arr.dtype
    if (dt.kind not in _MPI_KINDS or dt.itemsize > 8 or (dt.kind == "f" and dt.itemsize < 4)
            or not dt.isnative):
        raise TypeError(f"{where}: MPI cannot reduce arrays of dtype {arr.dtype}; use a native bool, integer "
                        f"or float32/float64 array")
    if write and not arr.flags.writeable:
        raise ValueError(f"{where}: the array is read-only, and this collective writes into it")
    if write and isinstance(x, Tensor) and x._requires_grad and is_grad_enabled():
        # (PyTorch warns alike: its c10d collectives have no autograd kernel, "silently incorrect behavior")
        warnings.warn(f"{where}: the tensor requires grad, but collectives are not differentiated: a gradient "
                      f"through its new values treats the {where} as the identity. Pass tensor.detach() (or run "
                      f"it under npg.no_grad()) to say that is meant", UserWarning, stacklevel=_caller_level())
    buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
    return arr, buf


def _caller_level():
    """The stacklevel of the first frame outside npgrad/distributed (the user's call of the collective)."""
    f, level, here = __import__("sys")._getframe(1), 1, os.path.dirname(__file__)
    while f is not None and os.path.dirname(f.f_code.co_filename) == here:
        f, level = f.f_back, level + 1
    return level


_ARR = 12   # an array's signature: dtype kind, itemsize, size, ndim, up to 8 dimensions
_SIG = 3 + _ARR   # _agree's row: refused?, the call's arguments (src, op: up to 2), the array's signature


def array_signature(arr):
    """``arr``'s dtype, size and shape as ``_ARR`` integers (what _agree compares between processes, and what a
    point-to-point message's header carries, npgrad/distributed/_p2p.py); the first 3 decide whether MPI can
    move one array into another."""
    sig = np.full(_ARR, -1, np.int64)
    sig[:4] = ord(arr.dtype.kind), arr.dtype.itemsize, arr.size, arr.ndim
    dims = arr.shape[:_ARR - 4]
    sig[4:4 + len(dims)] = dims
    return sig


def describe_signature(sig):
    """The shape and dtype an :func:`array_signature` describes, for an error message."""
    ndim = int(sig[3])
    shape = tuple(int(d) for d in sig[4:4 + ndim]) if ndim <= _ARR - 4 else f"{int(sig[2])} elements"
    return f"{shape} {np.dtype(chr(sig[0]) + str(int(sig[1]))).name}"


def _agree(comm, where, arr, error=None, arg=None):
    """Check, with one small collective, that every process passes an array of the same size and dtype (what
    MPI needs: with others it hands the larger process uninitialized memory, or aborts every process), the same
    ``arg`` (a name and an integer value, such as the op or the source rank, or a tuple of up to two such pairs)
    and that no process refused its arguments; raise on every process if not, so that none is left waiting.
    ``error``: this process's own refusal (raised here, after the others have been told)."""
    args = () if arg is None else (arg,) if isinstance(arg[0], str) else tuple(arg)
    sig = np.full(_SIG, -1, np.int64)
    sig[0] = error is not None
    for i, (_, value) in enumerate(args):
        sig[1 + i] = value
    if arr is not None:
        sig[3:] = array_signature(arr)
    every = np.empty((comm.Get_size(), _SIG), np.int64)
    comm.Allgather(sig, every)
    if error is not None:
        raise error
    refused = np.flatnonzero(every[:, 0]).tolist()
    if refused:
        raise ValueError(f"{where}: process {refused[0]} refused its arguments (see its error), so no process "
                         f"communicated")
    for i, (name, _) in enumerate(args):
        col = every[:, 1 + i]
        if (col != col[0]).any():
            values = col.tolist() if name != "op" else [_OPS[v] for v in col]
            raise ValueError(f"{where}: every process must pass the same {name}; got {values} (in rank order)")
    if arr is not None and (every[:, 3:6] != every[0, 3:6]).any():
        desc = ", ".join(f"process {r}: {describe_signature(row[3:])}" for r, row in enumerate(every))
        raise ValueError(f"{where}: every process must pass an array of the same size and dtype; got {desc}")


def _local(fn):
    """``fn()``'s result and None, or None and the TypeError / ValueError it raised (to be raised by
    :func:`_agree` once the other processes know)."""
    try:
        return fn(), None
    except (TypeError, ValueError) as e:
        return None, e


def _written(x, arr, buf, where):
    if buf is not arr:
        arr[...] = buf
    if isinstance(x, Tensor):
        _versions.bump(arr, where)
    return x


def wait_all(requests):
    """Complete MPI ``requests``, polling with ``Testall`` and giving the core away between polls
    (``sched_yield``) rather than spinning inside ``Waitall``: where the processes share cores with other work,
    a spinning process would take CPU time from the one it waits for."""
    MPI = _group["MPI"]
    test = MPI.Request.Testall
    while not test(requests):
        _yield()


_yield = getattr(__import__("os"), "sched_yield", lambda: None)


class Work:
    """A collective started with ``async_op=True``: ``wait()`` completes it (as torch.distributed's Work)."""

    def __init__(self, request, finish):
        self._request, self._finish = request, finish

    def is_completed(self):
        """True once the collective has completed; its result is then in the tensor or array (as
        torch.distributed's ``Work.is_completed``: a loop polling it needs no ``wait()``)."""
        if self._finish is not None and self._request.Test():
            finish, self._finish = self._finish, None
            finish()
        return self._finish is None

    def wait(self):
        """Block until the collective has completed; the result is then in the tensor or array."""
        if self._finish is not None:
            self._request.Wait()
            finish, self._finish = self._finish, None
            finish()
        return True


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` (a Tensor or NumPy array) over all processes, in place: every process gets the
    elementwise sum / mean / max / min / product / bitwise and, or, xor (``op``). Returns the tensor, or a
    :class:`Work` with ``async_op``."""
    comm = _member(group, "all_reduce")
    if comm is None:
        return None

    def check():
        arr, buf = _buffer(tensor, "all_reduce")
        return arr, buf, _op(op, "all_reduce", arr.dtype)
    got, err = _local(check)
    _agree(comm, "all_reduce", None if got is None else got[1], err,
           None if got is None else ("op", _OPS.index(got[2][0])))
    arr, buf, (key, mpi_op) = got
    size = comm.Get_size()

    def finish():
        if key == "mean":
            buf[...] /= size
        _written(tensor, arr, buf, "all_reduce")

    if async_op:
        return Work(comm.Iallreduce(_group["MPI"].IN_PLACE, buf, op=mpi_op), finish)
    comm.Allreduce(_group["MPI"].IN_PLACE, buf, op=mpi_op)
    finish()
    return tensor


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy ``tensor`` of process ``src`` into ``tensor`` of every process, in place (the shapes and
    dtypes must agree). Returns the tensor, or a :class:`Work` with ``async_op``."""
    comm = _member(group, "broadcast")
    if comm is None:
        return None

    def check():
        s = _rank_in(comm, src, "src", "broadcast")
        # (the source only reads its array: it may be read-only)
        return _buffer(tensor, "broadcast", write=comm.Get_rank() != s) + (s,)
    got, err = _local(check)
    _agree(comm, "broadcast", None if got is None else got[1], err, None if got is None else ("src", got[2]))
    arr, buf, src = got
    sending = comm.Get_rank() == src

    def finish():
        if not sending:
            _written(tensor, arr, buf, "broadcast")

    if async_op:
        return Work(comm.Ibcast(buf, root=src), finish)
    comm.Bcast(buf, root=src)
    finish()
    return tensor


def all_gather_into_tensor(output, input, group=None):
    """Concatenate every process's ``input`` along a new first axis into ``output`` (shape
    ``(world_size, *input.shape)``, or ``(world_size * input.shape[0], ...)``), in rank order."""
    comm = _member(group, "all_gather_into_tensor")
    if comm is None:
        return None

    def check():
        _, src = _buffer(input, "all_gather", write=False)
        arr, buf = _buffer(output, "all_gather")
        if buf.size != src.size * comm.Get_size() or buf.dtype != src.dtype:
            raise ValueError(f"all_gather: output of shape {arr.shape} ({arr.dtype}) cannot hold "
                             f"{comm.Get_size()} inputs of shape {src.shape} ({src.dtype})")
        return src, arr, buf
    got, err = _local(check)
    _agree(comm, "all_gather", None if got is None else got[0], err)
    src, arr, buf = got
    comm.Allgather(src, buf)
    return _written(output, arr, buf, "all_gather")


def all_gather(tensor_list, tensor, group=None):
    """Fill ``tensor_list`` (one Tensor or array per process, each of ``tensor``'s shape) with every
    process's ``tensor``, in rank order, as ``torch.distributed.all_gather``. With ``tensor_list=None``,
    return a new array (or Tensor) of shape ``(world_size, *tensor.shape)`` instead."""
    comm = _member(group, "all_gather")
    if comm is None:
        return None
    size = comm.Get_size()

    def check():   # before communicating (as torch, a dtype mismatch is an error)
        _, src = _buffer(tensor, "all_gather", write=False)
        if tensor_list is not None:
            if len(tensor_list) != size:
                raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries for {size} processes")
            for t in tensor_list:
                arr, _ = _buffer(t, "all_gather")
                if arr.shape != src.shape or arr.dtype != src.dtype:
                    raise ValueError(f"all_gather: an entry of tensor_list has shape {arr.shape} and dtype "
                                     f"{arr.dtype}, expected the input's {src.shape} and {src.dtype}")
        return src
    src, err = _local(check)
    _agree(comm, "all_gather", src, err)
    out = np.empty((size,) + src.shape, src.dtype)
    comm.Allgather(src, out)
    if tensor_list is None:
        return Tensor(out, requires_grad=False) if isinstance(tensor, Tensor) else out
    for t, part in zip(tensor_list, out):
        arr = t.data if isinstance(t, Tensor) else t
        arr[...] = part
        if isinstance(t, Tensor):
            _versions.bump(arr, "all_gather")
    return tensor_list


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None):
    """Reduce ``input`` (``world_size`` equal blocks along its first axis) over all processes and give
    process ``r`` block ``r`` of the result, in ``output``, as ``torch.distributed.reduce_scatter_tensor``."""
    comm = _member(group, "reduce_scatter_tensor")
    if comm is None:
        return None
    size = comm.Get_size()

    def check():
        _, src = _buffer(input, "reduce_scatter", write=False)
        arr, buf = _buffer(output, "reduce_scatter")
        if src.size != buf.size * size or src.dtype != buf.dtype:
            raise ValueError(f"reduce_scatter: input of shape {src.shape} ({src.dtype}) is not {size} blocks of "
                             f"the output's shape {arr.shape} ({arr.dtype})")
        return src, arr, buf, _op(op, "reduce_scatter", buf.dtype)
    got, err = _local(check)
    _agree(comm, "reduce_scatter", None if got is None else got[0], err,
           None if got is None else ("op", _OPS.index(got[3][0])))
    src, arr, buf, (key, mpi_op) = got
    comm.Reduce_scatter_block(src, buf, op=mpi_op)
    if key == "mean":
        buf[...] /= size
    return _written(output, arr, buf, "reduce_scatter")


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None):
    """Reduce ``input_list[r]`` over all processes into ``output`` of process ``r`` (one entry per
    process, each of ``output``'s shape), as ``torch.distributed.reduce_scatter``."""
    comm = _member(group, "reduce_scatter")
    if comm is None:
        return None
    size = comm.Get_size()

    def check():
        if len(input_list) != size:
            raise ValueError(f"reduce_scatter: input_list has {len(input_list)} entries for {size} processes")
        return np.stack([t.data if isinstance(t, Tensor) else np.asarray(t) for t in input_list])
    stacked, err = _local(check)
    if err is not None:
        _agree(comm, "reduce_scatter", None, err)   # (the others raise in theirs)
    return reduce_scatter_tensor(output, stacked, op, comm)
