"""``npgrad.distributed``: data-parallel training over MPI (``mpi4py``), as ``torch.distributed``.

Optional: ``pip install mpi4py mpich`` (or ``pip install -e ".[mpi]"``). Importing npgrad (or this module)
never imports mpi4py; :func:`init` does.

>>> import npgrad.distributed as dist
>>> dist.init()                                   # MPI.COMM_WORLD, or init(comm) for another communicator
>>> dist.init_process_group("gloo")                # the same, under torch's name (a torch script's first line)
>>> dist.get_rank(), dist.get_world_size()
>>> dist.all_reduce(t, op="mean")                 # in place, on a Tensor or a NumPy array
>>> model = dist.DistributedDataParallel(model)   # gradients averaged over the processes in backward

Run with ``mpiexec -n 2 python train.py``. The collectives (``all_reduce`` sum / mean / max / min / product /
bitwise, ``broadcast``, ``all_gather``, ``reduce_scatter`` and their ``_tensor`` forms, ``reduce``, ``gather``,
``scatter``, ``all_to_all``, ``all_to_all_single``, ``barrier``) and the point-to-point ``send`` / ``recv`` /
``isend`` / ``irecv`` wrap mpi4py's buffer-based calls on the arrays' memory, without pickling; the ``_object``
collectives pickle Python objects. Every process must call the same collectives in the same order. Each takes
torch's ``group=``: a communicator from ``new_group(ranks)`` (or any mpi4py communicator).
"""
from ._comm import (ReduceOp, Work, all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast,
                    destroy_process_group, get_comm, get_rank, get_world_size, init, is_initialized,
                    reduce_scatter, reduce_scatter_tensor)
from ._groups import get_backend, init_process_group, is_available, is_mpi_available, new_group
from ._objects import all_gather_object, broadcast_object_list, gather_object, scatter_object_list
from ._p2p import P2POp, batch_isend_irecv, irecv, isend, recv, send
from ._rooted import all_to_all, all_to_all_single, gather, reduce, scatter
from .ddp import DDP, DistributedDataParallel

__all__ = ["init", "init_process_group", "new_group", "get_backend", "is_available", "is_mpi_available",
           "is_initialized", "destroy_process_group", "get_comm", "get_rank", "get_world_size", "barrier",
           "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "reduce", "gather", "scatter", "all_to_all", "all_to_all_single", "send", "recv",
           "isend", "irecv", "P2POp", "batch_isend_irecv", "all_gather_object", "broadcast_object_list",
           "gather_object", "scatter_object_list",
           "ReduceOp", "Work", "DistributedDataParallel", "DDP", "is_main_process"]


def is_main_process():
    """True on rank 0, or when not running distributed: the process that logs and saves checkpoints."""
    return not is_initialized() or get_rank() == 0
