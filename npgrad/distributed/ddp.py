"""``DistributedDataParallel``: data-parallel training over MPI, as ``torch.nn.parallel.DistributedDataParallel``.

Each process runs the same model on its own part of the batch; during backward the gradients are averaged
over the processes, so after ``optimizer.step()`` every process holds the same parameters, those one process
would have after a step on the whole batch.

How the averaging overlaps backward: the parameters are grouped into buckets (flat arrays of at most
``bucket_mb`` MiB; the first one at most 1 MiB, so that communication starts early) in reverse registration
order, roughly the order backward produces their gradients, and after the first backward in the order it did
produce them (rank 0's, as PyTorch's reducer). A post-accumulate-grad hook on each parameter
copies its gradient into its bucket as soon as backward has accumulated it; when every gradient of a bucket
is in, the bucket's non-blocking ``Iallreduce`` starts while backward goes on with the earlier layers.
Buckets start strictly in order (as PyTorch's reducer does), so every process issues the same sequence of
collectives. A callback queued on the engine waits for them at the end of backward and writes the averages
back into ``.grad``.
"""
import contextlib
import time
import warnings

import numpy as np

from ..autograd.engine import queue_callback
from ..autograd.grad_mode import is_grad_enabled
from ..nn.module import Module
from ..tensor import Tensor
from . import _comm

_FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    __slots__ = ("params", "offsets", "buffer", "pending", "request")

    def __init__(self, params, dtype):
        self.params = params
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype)
        self.pending = len(params)
        self.request = None


def _graph_params(outputs, params):
    """ids of the parameters (among ``params``) that the graph behind ``outputs`` reaches."""
    wanted = {id(p) for p in params}
    found, seen = set(), set()
    stack = [t for t in _tensors(outputs) if t._requires_grad]
    while stack:
        t = stack.pop()
        if t._vjps is None:
            if id(t) in wanted:
                found.add(id(t))
            continue
        if id(t) in seen or t._parents is None:
            continue
        seen.add(id(t))
        stack.extend(p for p in t._parents if isinstance(p, Tensor) and p._requires_grad)
    return found


def _tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)


class DistributedDataParallel(Module):
    """Wrap ``module`` so that backward averages its gradients over the processes of the group.

    >>> npg.distributed.init()
    >>> model = DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(Net()))
    >>> loss = F.cross_entropy(model(x_local), y_local)    # each process: its own part of the batch
    >>> loss.backward()                                    # .grad: the average over the processes
    >>> opt.step()

    At construction rank 0's parameters and buffers are broadcast to every process. ``broadcast_buffers``
    broadcasts rank 0's buffers again before each forward in training mode (BatchNorm's running statistics).
    ``no_sync()`` skips the averaging for gradient accumulation. As PyTorch's reducer, each forward (under grad
    mode, outside ``no_sync``) prepares one averaged backward: a second backward of the same graph
    (``retain_graph=True``) or a backward of a graph built by ``.module`` directly accumulates locally (with a
    warning after an averaged one), so a process may run one alone without the others waiting. A parameter
    that gets no gradient in a backward pass is averaged as zero on that process, never waited for; with
    ``find_unused_parameters=True`` the graph is searched in forward for parameters it does not reach (their
    buckets then start without waiting for the end of backward), and a parameter no process used keeps its
    ``.grad`` untouched, as in PyTorch.
    With ``gradient_as_bucket_view=True`` each ``.grad`` is a view of its bucket (a copy less per step; the next
    synchronized backward overwrites it, so copy a gradient you want to keep). ``comm_stats`` counts the bytes
    all-reduced, the buckets started while backward was running (overlapped)
    or at its end, and the seconds spent at the end of backward waiting for them.
    The wrapped module is ``.module``; ``state_dict()`` keys start with ``"module."`` as in PyTorch (save
    ``ddp.module.state_dict()`` for keys that load into the bare model). PyTorch's ``device_ids`` and
    ``output_device`` (None, as torch requires for a CPU module), ``dim=0`` and ``static_graph`` are accepted as
    keywords; npgrad's second positional argument is ``bucket_mb``, so torch's ``DDP(model, [rank])`` is refused
    with an error saying so.
    """

    def __init__(self, module, bucket_mb=25, find_unused_parameters=False, broadcast_buffers=True, *,
                 process_group=None, bucket_cap_mb=None, gradient_as_bucket_view=False, device_ids=None,
                 output_device=None, dim=0, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an npgrad.nn.Module, not {type(module).__name__}")
        if isinstance(bucket_mb, (list, tuple)) or device_ids is not None or output_device is not None:
            # (torch's second positional argument is device_ids; for a CPU module torch requires None as well)
            raise ValueError(f"DistributedDataParallel: device_ids and output_device must be None for a CPU module, "
                             f"as in PyTorch, got {device_ids if device_ids is not None else bucket_mb!r} (npgrad's "
                             f"second positional argument is bucket_mb)")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim must be 0 (the batch is split by the data loader), "
                             f"got {dim!r}")
        # static_graph: accepted as a hint (torch's optimisation for a graph that never changes; npgrad's
        # buckets already follow the order gradients arrived in the first step)
        group = process_group if process_group is not None else _comm.get_comm()
        self.module = module
        cap = bucket_cap_mb if bucket_cap_mb is not None else bucket_mb
        if not cap > 0:
            raise ValueError(f"DistributedDataParallel: bucket_mb must be positive, got {cap!r}")
        object.__setattr__(self, "_comm", group.Dup())  # gradients travel on their own communicator
        self.world_size = group.Get_size()
        self.rank = group.Get_rank()
        self.find_unused_parameters = bool(find_unused_parameters)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.require_backward_grad_sync = True
        # armed by a forward under grad mode outside no_sync, disarmed when its backward has averaged: only then
        # do the gradient hooks average (PyTorch's reducer: prepare_for_backward / finalize_backward)
        self._armed = False
        self._spent = False   # a backward has averaged since the last forward
        # bytes all-reduced, buckets started during backward (overlapping it) and at its end, seconds waited
        self.comm_stats = {"steps": 0, "bytes": 0, "buckets_overlapped": 0, "buckets_at_end": 0, "wait_seconds": 0.0}
        self._ending = False
        self._params = [p for p in module.parameters() if p._requires_grad]
        self._names = {id(p): n for n, p in module.named_parameters()}
        self._check_same_model()
        self._broadcast_state(list(module.parameters()) + list(module.buffers()))
        self._cap = int(cap * (1 << 20))
        self._buckets, self._where = self._make_buckets(list(reversed(self._params)))
        self._order = []   # the order gradients become ready in the first synchronized backward
        self._rebuilt = False
        self._active = False
        self._unused = ()
        self._warned = False
        self._handles = [p.register_post_accumulate_grad_hook(self._hook) for p in self._params]

    # ------------------------------------------------------------------ construction
    def _check_same_model(self):
        """Every process must wrap the same model: compare the parameters' count, sizes and dtypes (one
        all-reduce; on a mismatch every process raises, none hangs)."""
        sig = np.array([len(self._params), sum(p.data.size for p in self._params),
                        sum((i + 1) * p.data.size * p.data.dtype.itemsize for i, p in enumerate(self._params))],
                       np.int64)
        lo, hi = sig.copy(), sig.copy()
        MPI = _comm._group["MPI"]
        self._comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
        self._comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
        if (lo != hi).any():
            raise RuntimeError(f"DistributedDataParallel: the processes wrap different models (rank {self.rank}: "
                               f"{sig[0]} parameters of {sig[1]} elements); every process must build the same "
                               f"model before wrapping it")

    def _broadcast_state(self, tensors):
        """Copy rank 0's values of ``tensors`` into every process, one Bcast per dtype."""
        if self.world_size == 1:
            return
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t.data.dtype, []).append(t)
        for dtype, group in by_dtype.items():
            flat = np.concatenate([t.data.reshape(-1) for t in group]) if group else np.zeros(0, dtype)
            self._comm.Bcast(flat, root=0)
            if self.rank != 0:
                start = 0
                for t in group:
                    n = t.data.size
                    t.data[...] = flat[start:start + n].reshape(t.data.shape)
                    start += n

    def _make_buckets(self, params):
        """Buckets of consecutive ``params`` (of one dtype, the first of at most 1 MiB, the others ``bucket_mb``)."""
        cap = self._cap
        buckets, where, current, size = [], {}, [], 0
        limit = min(_FIRST_BUCKET_BYTES, cap)
        for p in params:
            nbytes = p.data.nbytes
            if current and (size + nbytes > limit or p.data.dtype != current[0].data.dtype):
                buckets.append(_Bucket(current, current[0].data.dtype))
                current, size, limit = [], 0, cap
            current.append(p)
            size += nbytes
        if current:
            buckets.append(_Bucket(current, current[0].data.dtype))
        for b, bucket in enumerate(buckets):
            for k, p in enumerate(bucket.params):
                where[id(p)] = (b, k)
        return buckets, where

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.module.training and self.world_size > 1:
            self._broadcast_state(list(self.module.buffers()))
        out = self.module(*args, **kwargs)
        if is_grad_enabled():   # as PyTorch's reducer: the forward decides whether its backward averages
            self._armed, self._spent = self.require_backward_grad_sync, False
        if self.find_unused_parameters and self.require_backward_grad_sync and is_grad_enabled():
            reached = _graph_params(out, self._params)
            self._unused = [p for p in self._params if id(p) not in reached]
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context backward only accumulates gradients locally; the first backward after it
        averages the accumulated gradients (gradient accumulation over several micro-batches). As in PyTorch,
        the forward decides: a backward averages when its forward ran outside ``no_sync``, wherever it runs."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------ backward
    def _hook(self, p):
        if not self._armed:
            if self._spent:
                self._spent = False
                warnings.warn(f"DistributedDataParallel (rank {self.rank}): a backward pass reached the parameters "
                              f"after their averaged backward without a new forward through the "
                              f"DistributedDataParallel module (a second backward with retain_graph=True, or a graph "
                              f"built by .module directly): as in PyTorch its gradients are accumulated locally, "
                              f"not averaged", RuntimeWarning, stacklevel=2)
            return
        if not self._active:  # the first gradient of this backward pass
            self._active = True
            self._ready = set()
            self._hooked = set()
            self._next = 0
            for b in self._buckets:
                b.pending = len(b.params)
                b.request = None
            queue_callback(self._finish)
            for q in self._unused:  # found in forward: counted in now, so their buckets need not wait
                self._mark_ready(q)
            self._unused = ()
        self._hooked.add(id(p))
        if not self._rebuilt:
            self._order.append(p)
        self._mark_ready(p)
        if self._next:  # MPI progresses a non-blocking collective only inside MPI calls: poke the started ones
            _comm._group["MPI"].Request.Testall([b.request for b in self._buckets[:self._next]])

    def _mark_ready(self, p):
        if id(p) in self._ready:
            raise RuntimeError(f"DistributedDataParallel: parameter {self._names.get(id(p), '?')!r} got its "
                               f"gradient twice in one backward pass")
        self._ready.add(id(p))
        b, k = self._where[id(p)]
        bucket = self._buckets[b]
        start, stop = bucket.offsets[k], bucket.offsets[k + 1]
        g = p.grad
        if g is None:
            bucket.buffer[start:stop] = 0
        else:  # (np.asarray: a RowSparseGrad, e.g. from Embedding(sparse=True), is averaged dense)
            bucket.buffer[start:stop] = np.asarray(g.data if isinstance(g, Tensor) else g).reshape(-1)
        bucket.pending -= 1
        MPI = _comm._group["MPI"]
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            nb = self._buckets[self._next]
            nb.request = self._comm.Iallreduce(MPI.IN_PLACE, nb.buffer, op=MPI.SUM)
            self.comm_stats["bytes"] += nb.buffer.nbytes
            self.comm_stats["buckets_at_end" if self._ending else "buckets_overlapped"] += 1
            self._next += 1

    def _finish(self):
        """End of backward: count in the parameters that got no gradient, wait for every bucket, and write the
        averages into ``.grad``."""
        self._active = self._armed = False
        self._spent = True
        t0 = time.perf_counter()
        missing = [p for p in self._params if id(p) not in self._ready]
        self._ending = True
        try:
            for p in missing:
                self._mark_ready(p)
        finally:
            self._ending = False
        missing = [p for p in missing if p._requires_grad]   # (one frozen since wrapping only adds zeros)
        if missing and not self.find_unused_parameters and not self._warned:
            self._warned = True
            names = ", ".join(self._names.get(id(p), "?") for p in missing[:5])
            warnings.warn(f"DistributedDataParallel (rank {self.rank}): {len(missing)} parameter(s) got no gradient "
                          f"in this backward pass ({names}...); they were averaged as zero here. Pass "
                          f"find_unused_parameters=True to keep the .grad of parameters no process uses",
                          RuntimeWarning, stacklevel=2)
        MPI = _comm._group["MPI"]
        _comm.wait_all([b.request for b in self._buckets])
        used = None
        if self.find_unused_parameters:
            # used here: got a gradient in this pass, or holds one accumulated under no_sync
            used = np.array([id(p) in self._hooked or p.grad is not None for p in self._params], np.int32)
            self._comm.Allreduce(MPI.IN_PLACE, used, op=MPI.SUM)
            self.comm_stats["bytes"] += used.nbytes
        if self.gradient_as_bucket_view:
            for b in self._buckets:
                b.buffer /= self.world_size
        for i, p in enumerate(self._params):
            if (used is not None and used[i] == 0) or not p._requires_grad:
                continue  # no process used it, or frozen since wrapping: .grad stays as it was (None)
            b, k = self._where[id(p)]
            bucket = self._buckets[b]
            total = bucket.buffer[bucket.offsets[k]:bucket.offsets[k + 1]].reshape(p.data.shape)
            if self.gradient_as_bucket_view:
                p.grad = total                    # a view of the averaged bucket
                continue
            g = p._grad
            if g.__class__ is np.ndarray and g.shape == total.shape and g.dtype == total.dtype and g.flags.writeable:
                np.divide(total, self.world_size, out=g)   # in place, as PyTorch copies the bucket back
            else:  # no gradient of its own (None, sparse, read-only): an array of its own
                p.grad = total / self.world_size
        self.comm_stats["steps"] += 1
        self.comm_stats["wait_seconds"] += time.perf_counter() - t0
        if not self._rebuilt:
            self._rebuild_buckets()

    def _rebuild_buckets(self):
        """Regroup the parameters into buckets in the order backward made their gradients ready (rank 0's
        order, broadcast so that every process has the same buckets), as PyTorch's reducer does after its
        first iteration: registration order can put a parameter whose gradient comes last (a first layer's
        bias) in the first bucket, which then waits for the end of backward."""
        self._rebuilt = True
        index = {id(p): i for i, p in enumerate(self._params)}
        seen = [index[id(p)] for p in self._order]
        rest = set(seen)
        order = np.array(seen + [i for i in reversed(range(len(self._params))) if i not in rest], np.int64)
        self._order = []
        self._comm.Bcast(order, root=0)
        self._buckets, self._where = self._make_buckets([self._params[i] for i in order])

    def remove_hooks(self):
        """Unregister the gradient hooks from the parameters (the model can then be wrapped again)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def extra_repr(self):
        return f"world_size={self.world_size}, buckets={len(self._buckets)}"


DDP = DistributedDataParallel
