"""Point-to-point messages, as ``torch.distributed``'s ``send`` / ``recv`` / ``isend`` / ``irecv``.

MPI does not say what a message holds: a receiver whose buffer is larger than the message gets part of it,
one whose dtype differs gets the bytes reinterpreted. So each message is sent as two, with the same tag: a
header (dtype, size, shape) and the array's memory. MPI delivers the messages of one sender and tag in order,
so a receiver reads a header, checks it against its own tensor, and takes the data from the same sender; on
a mismatch it still takes the data (so the next message is read correctly) and raises an error naming both."""
import numpy as np

from ._comm import (_ARR, Work, _buffer, _group, _member, _rank_in, _translate, _written, array_signature,
                    describe_signature, wait_all)


def _bytes(arr):
    """A C-contiguous array's memory as bytes: the payloads travel untyped, so that a receiver expecting
    another dtype gets a size it can check rather than an MPI type mismatch (MPICH aborts on some)."""
    return arr.reshape(-1).view(np.uint8)


def _peer(comm, rank, name, where, optional=False):
    """The rank in ``comm`` of another process, named by its rank in the default group (as in torch; or None
    where ``optional``: any process)."""
    if rank is None and optional:
        return None
    there = _rank_in(comm, rank, name, where)
    if there == comm.Get_rank():
        raise ValueError(f"{where}: {name}={rank} is this process's own rank; a process cannot {where} to itself")
    return there


def _global(comm, rank):
    """The rank in the default group of process ``rank`` of ``comm`` (what recv returns, as torch)."""
    default = _group["comm"]
    return rank if comm == default else _translate(comm, default, rank)


def _tag(tag, where):
    if isinstance(tag, bool) or not isinstance(tag, (int, np.integer)) or not 0 <= tag <= 32767:
        raise ValueError(f"{where}: tag must be an int from 0 to 32767 (MPI's smallest upper bound), got {tag!r}")
    return int(tag)


class _Requests:
    """Several MPI requests as one (what :class:`Work` polls and waits on)."""

    def __init__(self, requests, keep=()):
        self._requests, self._keep = requests, keep   # (keep: buffers that must live until completion)

    def Test(self):
        return _group["MPI"].Request.Testall(self._requests)

    def Wait(self):
        wait_all(self._requests)


def send(tensor, dst, group=None, tag=0):
    """Send ``tensor`` (a Tensor or NumPy array) to process ``dst``; returns once it is sent (the matching
    :func:`recv` may still be reading it). The receiver's tensor must have the same shape and dtype."""
    comm = _member(group, "send")
    if comm is None:
        return None
    dst, tag = _peer(comm, dst, "dst", "send"), _tag(tag, "send")
    _, buf = _buffer(tensor, "send", write=False)
    comm.Send(array_signature(buf), dest=dst, tag=tag)
    comm.Send(_bytes(buf), dest=dst, tag=tag)


def isend(tensor, dst, group=None, tag=0):
    """Start sending ``tensor`` to process ``dst``; returns a :class:`Work` whose ``wait()`` completes it.
    Do not write into the tensor before then."""
    comm = _member(group, "isend")
    if comm is None:
        return None
    dst, tag = _peer(comm, dst, "dst", "isend"), _tag(tag, "isend")
    _, buf = _buffer(tensor, "isend", write=False)
    head = array_signature(buf)
    reqs = [comm.Isend(head, dest=dst, tag=tag), comm.Isend(_bytes(buf), dest=dst, tag=tag)]
    return Work(_Requests(reqs, (head, buf)), lambda: None)


def _mismatch(where, sender, head, arr):
    return ValueError(f"{where}: process {sender} sent an array of {describe_signature(head)}, but this process's "
                      f"tensor is {arr.shape} {arr.dtype.name} (the message was read and discarded)")


def _take(comm, where, tensor, arr, buf, sender, head, tag):
    """Receive the data whose header ``head`` came from ``sender``: into ``buf`` if it fits, else into a
    scratch buffer and an error."""
    if (head[:3] != array_signature(arr)[:3]).any():
        comm.Recv(np.empty(int(head[1]) * int(head[2]), np.uint8), source=sender, tag=tag)
        raise _mismatch(where, sender, head, arr)
    comm.Recv(_bytes(buf), source=sender, tag=tag)
    _written(tensor, arr, buf, where)
    return sender


def recv(tensor, src=None, group=None, tag=0):
    """Receive into ``tensor`` (written in place) a message sent to this process by process ``src`` (None: by
    any process) with ``tag``; returns the sender's rank. The message must have the tensor's shape and dtype."""
    comm = _member(group, "recv")
    if comm is None:
        return None
    src, tag = _peer(comm, src, "src", "recv", optional=True), _tag(tag, "recv")
    arr, buf = _buffer(tensor, "recv")
    MPI = _group["MPI"]
    head, status = np.empty(_ARR, np.int64), MPI.Status()
    comm.Recv(head, source=MPI.ANY_SOURCE if src is None else src, tag=tag, status=status)
    return _global(comm, _take(comm, "recv", tensor, arr, buf, status.Get_source(), head, tag))


class _Receive:
    """An :func:`irecv`. Its header's and data's receives are posted together, from a given process at once
    (MPI then matches them, in posting order, with that process's next two messages of the tag), from any
    process once a header has arrived (its sender's next two messages). The data goes into a buffer of the
    tensor's size and is copied into the tensor only once the header has been checked: a mismatch leaves the
    tensor as it was."""

    def __init__(self, comm, tensor, src, tag):
        self.comm, self.tensor, self.src, self.tag = comm, tensor, src, tag
        self.arr, buf = _buffer(tensor, "irecv")
        self.head, self.data = np.empty(_ARR, np.int64), np.empty_like(buf)
        self.reqs = None if src is None else self._post()

    def _post(self):
        return [self.comm.Irecv(self.head, source=self.src, tag=self.tag),
                self.comm.Irecv(_bytes(self.data), source=self.src, tag=self.tag)]

    def _from_any(self, blocking):
        """Post the receives once a header from any process is there (None: not yet)."""
        MPI, status = _group["MPI"], _group["MPI"].Status()
        if blocking:
            self.comm.Probe(source=MPI.ANY_SOURCE, tag=self.tag, status=status)
        elif not self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=self.tag, status=status):
            return None
        self.src = status.Get_source()
        return self._post()

    def Test(self):
        if self.reqs is None:
            self.reqs = self._from_any(blocking=False)
            if self.reqs is None:
                return False
        try:
            done = _group["MPI"].Request.Testall(self.reqs)
        except Exception:   # (MPI's truncation error: the message was larger than the tensor)
            done = True
        if done:
            self.Wait()
        return done

    def Wait(self):
        if self.reqs is None:
            self.reqs = self._from_any(blocking=True)
        try:
            wait_all(self.reqs)
        except Exception:
            if (self.head[:3] == array_signature(self.arr)[:3]).all():
                raise
        if (self.head[:3] != array_signature(self.arr)[:3]).any():
            raise _mismatch("irecv", self.src, self.head, self.arr)
        self.arr[...] = self.data
        _written(self.tensor, self.arr, self.arr, "irecv")


def irecv(tensor, src=None, group=None, tag=0):
    """Start receiving into ``tensor`` a message from process ``src`` (None: any process) with ``tag``;
    returns a :class:`Work` whose ``wait()`` completes it (the tensor then holds the message)."""
    comm = _member(group, "irecv")
    if comm is None:
        return None
    src, tag = _peer(comm, src, "src", "irecv", optional=True), _tag(tag, "irecv")
    return Work(_Receive(comm, tensor, src, tag), lambda: None)


class P2POp:
    """One send or receive of a :func:`batch_isend_irecv`, as ``torch.distributed.P2POp``: ``op`` is
    :func:`isend` or :func:`irecv`, ``peer`` the other process's rank in the default group."""

    def __init__(self, op, tensor, peer, group=None, tag=0):
        if op is not isend and op is not irecv:
            raise ValueError(f"P2POp: op must be npgrad.distributed.isend or irecv, got {op!r}")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag

    def __repr__(self):
        return f"P2POp({self.op.__name__}, peer={self.peer}, tag={self.tag})"


def batch_isend_irecv(p2p_op_list):
    """Start every send and receive of ``p2p_op_list`` (:class:`P2POp`) and return their :class:`Work` s, in
    order. Each is posted without waiting, so the order of sends and receives in the list cannot deadlock;
    messages between one pair of processes in one direction match in list order."""
    if not isinstance(p2p_op_list, (list, tuple)) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise TypeError("batch_isend_irecv: p2p_op_list must be a list of P2POp")
    return [p.op(p.tensor, p.peer, p.group, p.tag) for p in p2p_op_list]
