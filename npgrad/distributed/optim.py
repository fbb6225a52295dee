"""``ZeroRedundancyOptimizer``, as ``torch.distributed.optim.ZeroRedundancyOptimizer`` (ZeRO stage 1): the
optimizer's state is split over the processes. Each parameter belongs to one process (its parameters of each
group sorted by size, each given to the process holding the fewest elements so far, as torch); each process
keeps the state of its own parameters only (Adam's two moments: a 1/N share of their memory), updates them in
``step``, and then every process broadcasts the values of its parameters to the others, so that all hold the
same model after each step, as with a plain optimizer. The gradients must already agree (DistributedDataParallel
averages them)."""
import numpy as np

from ..autograd import versions as _versions
from ..optim.optimizer import Optimizer
from . import _comm
from ._objects import gather_object


class ZeroRedundancyOptimizer(Optimizer):
    """``optimizer_class`` (e.g. ``npgrad.optim.AdamW``) over ``params``, its state split over the processes of
    ``process_group`` (an mpi4py communicator; the default group if None); ``**defaults`` are the optimizer's
    arguments. ``param_groups`` lists every parameter with the group's hyper-parameters (what learning-rate
    schedulers change, copied to the local optimizer before each step); ``optim`` is this process's optimizer over
    its own parameters. ``state_dict()`` needs ``consolidate_state_dict(to)`` first, on every process, and gives,
    on process ``to``, the state dict a plain ``optimizer_class`` over the same parameters would have, which
    ``load_state_dict`` (on every process) accepts back, as a plain optimizer's does.
    ``parameters_as_bucket_view`` (a memory layout) is accepted and has no effect; ``overlap_with_ddp`` is not
    available."""

    def __init__(self, params, optimizer_class, process_group=None, parameters_as_bucket_view=False,
                 overlap_with_ddp=False, **defaults):
        if overlap_with_ddp:
            raise NotImplementedError("ZeroRedundancyOptimizer: overlap_with_ddp=True (steps overlapped with "
                                      "DistributedDataParallel's gradient buckets) is not available")
        self._comm = _comm.get_comm(process_group)
        self._ready = False
        super().__init__(params, defaults)
        self._owner = self._partition()
        rank = self._comm.Get_rank()
        local = [dict({k: v for k, v in g.items() if k != "params"},
                      params=[p for p in g["params"] if self._owner[id(p)] == rank]) for g in self.param_groups]
        self.optim = optimizer_class(local, **defaults)
        for glob, loc in zip(self.param_groups, self.optim.param_groups):  # the local optimizer's own defaults
            for k, v in loc.items():
                glob.setdefault(k, v)
        self.optimizer_class, self._ready = optimizer_class, True

    state = property(lambda self: self.optim.state if self._ready else {}, lambda self, value: None,
                     doc="This process's optimizer state (of its own parameters).")

    def _partition(self):
        """``{id(p): rank}``: per group, the parameters by decreasing size, each to the process holding the
        fewest elements so far (torch's partition)."""
        sizes, owner = [0] * self._comm.Get_size(), {}
        for g in self.param_groups:
            for p in sorted(g["params"], key=lambda t: t.data.size, reverse=True):
                r = int(np.argmin(sizes))
                owner[id(p)] = r
                sizes[r] += p.data.size
        return owner

    def add_param_group(self, param_group):
        """Add a group (its parameters split over the processes as the first ones were)."""
        super().add_param_group(param_group)
        if self._ready:
            self._owner = self._partition()   # (the earlier groups' parameters keep their owners: same order)
            g = self.param_groups[-1]
            rank = self._comm.Get_rank()
            self.optim.add_param_group(dict({k: v for k, v in g.items() if k != "params"},
                                            params=[p for p in g["params"] if self._owner[id(p)] == rank]))
            for k, v in self.optim.param_groups[-1].items():
                g.setdefault(k, v)

    def step(self, closure=None):
        """Update this process's parameters with the local optimizer, then give every process the new values of
        every parameter (one broadcast per process). Returns the closure's loss, if any."""
        for glob, loc in zip(self.param_groups, self.optim.param_groups):   # (a scheduler changed glob's lr)
            for k, v in glob.items():
                if k != "params":
                    loc[k] = v
        loss = self.optim.step(closure)
        self._sync_parameters()
        return loss

    def _sync_parameters(self):
        default = _comm.get_comm()
        by_rank = [[] for _ in range(self._comm.Get_size())]
        for g in self.param_groups:
            for p in g["params"]:
                by_rank[self._owner[id(p)]].append(p)
        for r, params in enumerate(by_rank):
            if not params:
                continue
            mine = r == self._comm.Get_rank()
            flat = np.empty(sum(p.data.nbytes for p in params), np.uint8)   # the owner's bytes, packed once
            at = 0
            for p in params if mine else ():
                n = p.data.nbytes
                flat[at:at + n].view(p.data.dtype).reshape(p.data.shape)[...] = p.data
                at += n
            src = r if self._comm == default else _comm._translate(self._comm, default, r)
            _comm.broadcast(flat, src, self._comm)
            if mine:
                continue
            at = 0
            for p in params:
                n = p.data.nbytes
                p.data[...] = flat[at:at + n].view(p.data.dtype).reshape(p.data.shape)
                _versions.bump(p.data, "ZeroRedundancyOptimizer.step")
                at += n

    def consolidate_state_dict(self, to=0):
        """Gather every process's optimizer state on process ``to`` (call it on every process), for
        :meth:`state_dict` there."""
        mine = {self._index()[id(p)]: s for p, s in self.optim.state.items() if s}
        every = [None] * self._comm.Get_size() if self._comm.Get_rank() == _rank_in_group(self._comm, to) else None
        gather_object(mine, every, to, self._comm)
        self._consolidated = None if every is None else {k: v for part in every for k, v in part.items()}

    def state_dict(self):
        """The whole optimizer's state dict, as a plain ``optimizer_class``'s (after
        :meth:`consolidate_state_dict`, on the process it gathered to)."""
        if getattr(self, "_consolidated", None) is None:
            raise RuntimeError("ZeroRedundancyOptimizer.state_dict: call consolidate_state_dict(to) on every "
                               "process first; the state dict is then on process `to`")
        index = self._index()
        groups = [dict({k: v for k, v in g.items() if k != "params"}, params=[index[id(p)] for p in g["params"]])
                  for g in self.param_groups]
        state = {k: {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in s.items()}
                 for k, s in sorted(self._consolidated.items())}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a whole optimizer's state dict (from :meth:`state_dict`, or a plain ``optimizer_class``'s), on
        every process: each keeps the state of its own parameters."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        rank = self._comm.Get_rank()
        saved = {int(k): v for k, v in state_dict["state"].items()}
        local_groups = []
        for own, g in zip(self.param_groups, groups):
            if len(g["params"]) != len(own["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
            for k, v in g.items():
                if k != "params":
                    own[k] = v
            mine = [i for p, i in zip(own["params"], g["params"]) if self._owner[id(p)] == rank]
            local_groups.append(dict({k: v for k, v in g.items() if k != "params"}, params=mine))
        local_index = {}
        for lg in local_groups:
            for i in lg["params"]:
                local_index[i] = len(local_index)
        self.optim.load_state_dict({
            "state": {local_index[i]: s for i, s in saved.items() if i in local_index},
            "param_groups": [dict(lg, params=[local_index[i] for i in lg["params"]]) for lg in local_groups]})

    def _index(self):
        """``{id(p): its position}`` over every group's parameters, in order (the state dict's numbering)."""
        return {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}


def _rank_in_group(comm, rank):
    """The rank in ``comm`` of the process whose default rank is ``rank``."""
    return _comm._rank_in(comm, rank, "to", "consolidate_state_dict")
