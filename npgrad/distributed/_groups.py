"""torch.distributed's set-up calls on MPI: ``init_process_group`` (so that a PyTorch training script's first
line works), ``new_group`` (a communicator of some of the processes, the ``group=`` of every collective),
``get_backend``, ``is_available``."""
from ._comm import _group, _mpi, _rank_in, get_comm, init, is_initialized

_BACKENDS = ("mpi", "gloo", "cpu:gloo", "cpu:mpi")


def is_available():
    """True: npgrad.distributed is part of npgrad (it needs mpi4py only once :func:`init` runs)."""
    return True


def is_mpi_available():
    """Whether mpi4py (and so an MPI library) can be imported."""
    try:
        _mpi()
    except ImportError:
        return False
    return True


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """:func:`init` under torch's name. The processes and their ranks are MPI's (``mpiexec -n N``), so
    ``init_method``, ``timeout`` and ``store`` are not needed and ignored; a ``world_size`` or ``rank`` given
    must be MPI's, and ``backend`` one that runs on the CPU ("mpi", "gloo" or None; "nccl" needs GPUs).
    Returns None, as torch."""
    if backend is not None and str(backend).lower() not in _BACKENDS:
        raise ValueError(f"init_process_group: backend={backend!r} is not available: npgrad runs on the CPU over "
                         f"MPI (backend 'mpi', or 'gloo' and None, which mean the same here)")
    if is_initialized():
        raise RuntimeError("init_process_group: the default process group is already initialized (call "
                           "destroy_process_group() first)")
    comm = init()
    for name, given, real in (("world_size", world_size, comm.Get_size()), ("rank", rank, comm.Get_rank())):
        if given is not None and given != -1 and given != real:
            _group["comm"] = None
            raise ValueError(f"init_process_group: {name}={given}, but MPI started this process as {name} {real} "
                             f"(mpiexec -n N sets both; leave them out)")


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A communicator of the processes ``ranks`` (their ranks in the default group; None: all of them), to
    pass as ``group=`` to the collectives: there the group's own ranks run from 0, and ``src`` / ``dst`` still
    name processes by their default ranks, as in torch. Every process of the default group must call it (as in
    torch); a process outside ``ranks`` gets ``MPI.COMM_NULL``, on which the collectives do nothing (with a
    warning)."""
    comm = get_comm()
    if ranks is None:
        ranks = range(comm.Get_size())
    ranks = [_rank_in(comm, r, "ranks", "new_group") for r in ranks]
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks has repeated entries: {ranks}")
    whole = comm.Get_group()
    part = whole.Incl(sorted(ranks))
    try:
        return comm.Create(part)
    finally:
        part.Free()
        whole.Free()


def get_backend(group=None):
    """"mpi": the backend of every npgrad process group."""
    get_comm(group)
    return "mpi"
