"""Collectives of picklable Python objects (metrics, configurations, lists of file names), as
``torch.distributed``'s ``all_gather_object``, ``broadcast_object_list``, ``gather_object`` and
``scatter_object_list``. Each process pickles its objects before anything is sent, and one small all-gather
(``_agree``) tells every process whether all of them could: an object that cannot be pickled is an error
on every process, not a hang of the others. Unpickling runs arbitrary code: use them only between processes
that trust each other (as torch warns)."""
import pickle

from ._comm import _agree, _member, _rank_in


def _list_arg(lst, n, name, where):
    if not isinstance(lst, list) or len(lst) != n:
        got = f"{len(lst)} entries" if isinstance(lst, list) else type(lst).__name__
        raise ValueError(f"{where}: {name} must be a list of {n} entries, got {got}")


def all_gather_object(object_list, obj, group=None):
    """Fill ``object_list`` (a list of ``world_size`` entries) with every process's ``obj``, in rank order."""
    comm = _member(group, "all_gather_object")
    if comm is None:
        return None

    def check():
        _list_arg(object_list, comm.Get_size(), "object_list", "all_gather_object")
        return pickle.dumps(obj)
    data, err = _local(check, "all_gather_object")
    _agree(comm, "all_gather_object", None, err)
    object_list[:] = [pickle.loads(b) for b in comm.allgather(data)]


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace the entries of ``object_list`` on every process by those of process ``src`` (the lists must have
    the same length everywhere). ``device`` is accepted for torch's signature and ignored (CPU only)."""
    comm = _member(group, "broadcast_object_list")
    if comm is None:
        return None

    def check():
        s = _rank_in(comm, src, "src", "broadcast_object_list")
        if not isinstance(object_list, list):
            raise ValueError(f"broadcast_object_list: object_list must be a list, got {type(object_list).__name__}")
        return (pickle.dumps(object_list) if comm.Get_rank() == s else None), s
    got, err = _local(check, "broadcast_object_list")
    _agree(comm, "broadcast_object_list", None, err,
           None if got is None else (("src", got[1]), ("length of object_list", len(object_list))))
    data, s = got
    data = comm.bcast(data, root=s)
    if comm.Get_rank() != s:
        object_list[:] = pickle.loads(data)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    """Gather every process's ``obj`` into ``object_gather_list`` of process ``dst`` (a list of
    ``world_size`` entries, filled in rank order); the other processes pass None."""
    comm = _member(group, "gather_object")
    if comm is None:
        return None

    def check():
        d = _rank_in(comm, dst, "dst", "gather_object")
        if comm.Get_rank() == d:
            _list_arg(object_gather_list, comm.Get_size(), "object_gather_list", "gather_object")
        elif object_gather_list is not None:
            raise ValueError(f"gather_object: object_gather_list must be None on process {comm.Get_rank()}, which "
                             f"is not the destination (dst={d})")
        return pickle.dumps(obj), d
    got, err = _local(check, "gather_object")
    _agree(comm, "gather_object", None, err, None if got is None else ("dst", got[1]))
    data, d = got
    every = comm.gather(data, root=d)
    if comm.Get_rank() == d:
        object_gather_list[:] = [pickle.loads(b) for b in every]


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=0, group=None):
    """Give process ``r`` entry ``r`` of ``scatter_object_input_list`` of process ``src`` (a list of
    ``world_size`` objects; None elsewhere), written into ``scatter_object_output_list[0]``."""
    comm = _member(group, "scatter_object_list")
    if comm is None:
        return None

    def check():
        s = _rank_in(comm, src, "src", "scatter_object_list")
        if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
            raise ValueError("scatter_object_list: scatter_object_output_list must be a non-empty list (its first "
                             "entry receives the object)")
        if comm.Get_rank() == s:
            _list_arg(scatter_object_input_list, comm.Get_size(), "scatter_object_input_list", "scatter_object_list")
            return [pickle.dumps(o) for o in scatter_object_input_list], s
        return None, s
    got, err = _local(check, "scatter_object_list")
    _agree(comm, "scatter_object_list", None, err,
           None if got is None else ("src", got[1]))
    data, s = got
    scatter_object_output_list[0] = pickle.loads(comm.scatter(data, root=s))


def _local(fn, where):
    """``fn()``'s result and None, or None and its error (raised by ``_agree`` once the others know): a
    TypeError or ValueError as it is, a failure to pickle (PicklingError, AttributeError...) as a TypeError
    naming the collective."""
    try:
        return fn(), None
    except (TypeError, ValueError) as e:
        return None, e
    except (pickle.PicklingError, AttributeError, RecursionError) as e:
        return None, TypeError(f"{where}: cannot pickle the object: {type(e).__name__}: {e}")
