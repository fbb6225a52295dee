"""The rooted collectives (``reduce``, ``gather``, ``scatter``) and the all-to-all exchanges, as
``torch.distributed``'s, on mpi4py's buffer-based calls. As in _comm.py, every process first checks its own
arguments, then one small all-gather (``_agree``, or ``_agree_counts`` for all-to-all) tells every process
whether all of them can go on, so that a bad argument on one process is an error on each, never a hang, an
abort or another process's memory."""
import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor
from ._comm import (_OPS, ReduceOp, Work, _agree, _buffer, _group, _local, _member, _op, _rank_in, _written)


def _copy_into(entries, parts, where):
    """Write ``parts`` (arrays) into ``entries`` (Tensors or arrays of their shapes), counting the writes."""
    for t, part in zip(entries, parts):
        arr = t.data if isinstance(t, Tensor) else t
        arr[...] = part.reshape(arr.shape)
        if isinstance(t, Tensor):
            _versions.bump(arr, where)


def _entries(entries, like, where, name, write, size):
    """The arrays of the list ``entries`` (one per process, ``size``, each of ``like``'s shape and dtype)."""
    if not isinstance(entries, (list, tuple)) or len(entries) != size:
        got = f"{len(entries)} entries" if isinstance(entries, (list, tuple)) else type(entries).__name__
        raise ValueError(f"{where}: {name} must be a list of one tensor per process ({size}), got {got}")
    arrays = []
    for t in entries:
        arr, buf = _buffer(t, where, write=write)
        if arr.shape != like.shape or arr.dtype != like.dtype:
            raise ValueError(f"{where}: an entry of {name} has shape {arr.shape} and dtype {arr.dtype}, expected "
                             f"{like.shape} and {like.dtype}")
        arrays.append(buf)
    return arrays


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` (a Tensor or NumPy array) over all processes into ``tensor`` of process ``dst``, in
    place, with ``op`` (as :func:`all_reduce`); the other processes' tensors are left as they were. Returns the
    tensor, or a :class:`Work` with ``async_op``."""
    comm = _member(group, "reduce")
    if comm is None:
        return None
    rank, size = comm.Get_rank(), comm.Get_size()

    def check():
        d = _rank_in(comm, dst, "dst", "reduce")
        arr, buf = _buffer(tensor, "reduce", write=rank == d)
        return arr, buf, _op(op, "reduce", arr.dtype), d
    got, err = _local(check)
    _agree(comm, "reduce", None if got is None else got[1], err,
           None if got is None else (("dst", got[3]), ("op", _OPS.index(got[2][0]))))
    arr, buf, (key, mpi_op), d = got
    MPI = _group["MPI"]
    send, recv = (MPI.IN_PLACE, buf) if rank == d else (buf, None)

    def finish():
        if rank == d:
            if key == "mean":
                buf[...] /= size
            _written(tensor, arr, buf, "reduce")

    if async_op:
        return Work(comm.Ireduce(send, recv, op=mpi_op, root=d), finish)
    comm.Reduce(send, recv, op=mpi_op, root=d)
    finish()
    return tensor


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Gather every process's ``tensor`` into ``gather_list`` of process ``dst`` (one Tensor or array per
    process, each of ``tensor``'s shape and dtype, filled in rank order), as ``torch.distributed.gather``: the
    other processes pass no list. Returns None, or a :class:`Work` with ``async_op``."""
    comm = _member(group, "gather")
    if comm is None:
        return None
    rank, size = comm.Get_rank(), comm.Get_size()

    def check():
        d = _rank_in(comm, dst, "dst", "gather")
        _, src = _buffer(tensor, "gather", write=False)
        if rank == d:
            if not gather_list:
                raise ValueError("gather: gather_list must be given on the destination process (dst)")
            _entries(gather_list, src, "gather", "gather_list", True, size)
        elif gather_list:
            raise ValueError(f"gather: gather_list must not be given on process {rank}, which is not the "
                             f"destination (dst={d})")
        return src, d
    got, err = _local(check)
    _agree(comm, "gather", None if got is None else got[0], err, None if got is None else ("dst", got[1]))
    src, d = got
    out = np.empty((size,) + src.shape, src.dtype) if rank == d else None

    def finish():
        if rank == d:
            _copy_into(gather_list, out, "gather")

    if async_op:
        return Work(comm.Igather(src, out, root=d), finish)
    comm.Gather(src, out, root=d)
    finish()


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Give process ``r`` entry ``r`` of ``scatter_list`` of process ``src`` (one Tensor or array per process,
    each of ``tensor``'s shape and dtype), written into its ``tensor``, as ``torch.distributed.scatter``: the
    other processes pass no list. Returns None, or a :class:`Work` with ``async_op``."""
    comm = _member(group, "scatter")
    if comm is None:
        return None
    rank = comm.Get_rank()

    def check():
        s = _rank_in(comm, src, "src", "scatter")
        arr, buf = _buffer(tensor, "scatter")
        send = None
        if rank == s:
            if not scatter_list:
                raise ValueError("scatter: scatter_list must be given on the source process (src)")
            send = np.stack(_entries(scatter_list, arr, "scatter", "scatter_list", False, comm.Get_size()))
        elif scatter_list:
            raise ValueError(f"scatter: scatter_list must not be given on process {rank}, which is not the "
                             f"source (src={s})")
        return arr, buf, send, s
    got, err = _local(check)
    _agree(comm, "scatter", None if got is None else got[1], err, None if got is None else ("src", got[3]))
    arr, buf, send, s = got

    def finish():
        _written(tensor, arr, buf, "scatter")

    if async_op:
        return Work(comm.Iscatter(send, buf, root=s), finish)
    comm.Scatter(send, buf, root=s)
    finish()


def _agree_counts(comm, where, dtype, send_counts, recv_counts, error):
    """The all-to-all's check, on every process: none refused its arguments, all pass one dtype, and what each
    process sends to another is as many elements as that one expects from it."""
    size = comm.Get_size()
    row = np.full(3 + 2 * size, -1, np.int64)
    row[0] = error is not None
    if error is None:
        row[1:3] = ord(dtype.kind), dtype.itemsize
        row[3:3 + size], row[3 + size:] = send_counts, recv_counts
    every = np.empty((size, row.size), np.int64)
    comm.Allgather(row, every)
    if error is not None:
        raise error
    refused = np.flatnonzero(every[:, 0]).tolist()
    if refused:
        raise ValueError(f"{where}: process {refused[0]} refused its arguments (see its error), so no process "
                         f"communicated")
    if (every[:, 1:3] != every[0, 1:3]).any():
        names = [np.dtype(chr(k) + str(int(n))).name for k, n in every[:, 1:3]]
        raise ValueError(f"{where}: every process must pass one dtype; got {names} (in rank order)")
    sends, recvs = every[:, 3:3 + size], every[:, 3 + size:]
    bad = np.argwhere(sends != recvs.T)
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"{where}: process {i} sends {sends[i, j]} elements to process {j}, which expects "
                         f"{recvs[j, i]} from it")


def _alltoallv(comm, where, send, send_counts, recv, recv_counts, async_op, finish, error=None):
    """Check the counts on every process (``_agree_counts``), then exchange: block ``j`` of the flat
    ``send`` goes to process ``j``, block ``i`` of ``recv`` comes from process ``i``."""
    _agree_counts(comm, where, None if error else send.dtype, send_counts, recv_counts, error)
    offsets = lambda counts: np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()  # noqa: E731
    s = [send, (list(send_counts), offsets(send_counts))]
    r = [recv, (list(recv_counts), offsets(recv_counts))]
    if async_op:
        return Work(comm.Ialltoallv(s, r), finish)
    comm.Alltoallv(s, r)
    return finish()


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Send ``input_tensor_list[j]`` to process ``j`` and receive process ``i``'s into
    ``output_tensor_list[i]``, as ``torch.distributed.all_to_all`` (the sizes may differ between pairs of
    processes; one dtype throughout). Returns ``output_tensor_list``, or a :class:`Work` with ``async_op``."""
    comm = _member(group, "all_to_all")
    if comm is None:
        return None
    size = comm.Get_size()

    def check():
        for name, lst in (("input_tensor_list", input_tensor_list), ("output_tensor_list", output_tensor_list)):
            if not isinstance(lst, (list, tuple)) or len(lst) != size:
                got = f"{len(lst)} entries" if isinstance(lst, (list, tuple)) else type(lst).__name__
                raise ValueError(f"all_to_all: {name} must be a list of one tensor per process ({size}), got {got}")
        ins = [_buffer(t, "all_to_all", write=False)[1] for t in input_tensor_list]
        outs = [_buffer(t, "all_to_all")[0] for t in output_tensor_list]
        dts = {a.dtype for a in ins + outs}
        if len(dts) > 1:
            raise ValueError(f"all_to_all: every tensor must have one dtype, got {sorted(d.name for d in dts)}")
        send = np.concatenate([a.reshape(-1) for a in ins]) if ins else np.empty(0)
        return send, [a.size for a in ins], [a.size for a in outs]
    got, err = _local(check)
    if err is not None:
        return _alltoallv(comm, "all_to_all", None, None, None, None, False, None, err)
    send, send_counts, recv_counts = got
    recv = np.empty(sum(recv_counts), send.dtype)

    def finish():
        _copy_into(output_tensor_list, np.split(recv, np.cumsum(recv_counts)[:-1]), "all_to_all")
        return output_tensor_list
    return _alltoallv(comm, "all_to_all", send, send_counts, recv, recv_counts, async_op, finish)


def _splits(sizes, rows, name, where, size):
    """Rows per process along the first axis: ``sizes`` (one per process, summing to ``rows``), or equal."""
    if sizes is None or len(sizes) == 0:
        if rows % size:
            raise ValueError(f"all_to_all_single: the first dimension of {where} ({rows}) cannot be split equally "
                             f"over {size} processes; pass {name}")
        return [rows // size] * size
    sizes = list(sizes)
    if len(sizes) != size or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0
                                 for n in sizes) or sum(sizes) != rows:
        raise ValueError(f"all_to_all_single: {name} must be {size} counts >= 0 summing to the first dimension of "
                         f"{where} ({rows}), got {sizes}")
    return sizes


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Split ``input`` along its first axis into one block per process (``input_split_sizes`` rows each, or
    equal blocks), send block ``j`` to process ``j``, and write the blocks received, in rank order, into
    ``output`` (split by ``output_split_sizes``), as ``torch.distributed.all_to_all_single``. Returns
    ``output``, or a :class:`Work` with ``async_op``."""
    comm = _member(group, "all_to_all_single")
    if comm is None:
        return None
    size = comm.Get_size()

    def check():
        _, src = _buffer(input, "all_to_all_single", write=False)
        arr, buf = _buffer(output, "all_to_all_single")
        if src.ndim == 0 or arr.ndim == 0:
            raise ValueError("all_to_all_single: input and output need at least one dimension, got shapes "
                             f"{src.shape} and {arr.shape}")
        if src.dtype != arr.dtype or src.shape[1:] != arr.shape[1:]:
            raise ValueError(f"all_to_all_single: input {src.shape} ({src.dtype}) and output {arr.shape} "
                             f"({arr.dtype}) must have one dtype and the same shape past the first dimension")
        row = int(np.prod(src.shape[1:]))
        ins = _splits(input_split_sizes, src.shape[0], "input_split_sizes", "input", size)
        outs = _splits(output_split_sizes, arr.shape[0], "output_split_sizes", "output", size)
        return src, arr, buf, [n * row for n in ins], [n * row for n in outs]
    got, err = _local(check)
    if err is not None:
        return _alltoallv(comm, "all_to_all_single", None, None, None, None, False, None, err)
    src, arr, buf, send_counts, recv_counts = got

    def finish():
        return _written(output, arr, buf, "all_to_all_single")
    return _alltoallv(comm, "all_to_all_single", src.reshape(-1), send_counts, buf.reshape(-1), recv_counts, async_op,
                      finish)
