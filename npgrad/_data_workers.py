"""``DataLoader(num_workers=K)``: K worker processes load and collate batches in parallel, as PyTorch's.

The main process draws the order (sampler or shuffle) exactly as with ``num_workers=0`` and sends batch
``i``'s indices to worker ``i % K``, keeping ``prefetch_factor * K`` batches in flight; batches come back in
order. (An IterableDataset is different: every worker iterates its own copy; requests go to the workers in
turn, skipping those used up, as PyTorch's.) A worker seeds ``npg.random`` and Python's ``random`` with
``base_seed + worker_id`` (``base_seed`` is drawn once per set of workers, from the loader's seed or generator
when it has one) and NumPy's global ``np.random`` with ``_numpy_seed(base_seed, worker_id)`` (as PyTorch: so
that forked workers do not all repeat the parent's ``np.random`` draws), then runs
``worker_init_fn(worker_id)``; ``get_worker_info()`` tells it who it is. An exception in a worker is raised
again in the main process with the worker's traceback in its message.

Arrays of a batch larger than ``SHM_MIN_BYTES`` travel through shared memory
(``multiprocessing.shared_memory``): the worker writes the array into a new segment and sends its name; the
main process maps it and uses it in place (no copy, no pickling), and unlinks it at once so nothing is left
behind (the mapping lives as long as the array). Smaller arrays are pickled through the queue.
"""
import copy
import itertools
import os
import queue
import random as _pyrandom
import sys
import traceback
import weakref
from collections import namedtuple

import numpy as np

SHM_MIN_BYTES = 1 << 16
_POLL_SECONDS = 1.0

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_worker_info = None


class _End:
    """What a fetch returns once an iterable dataset is used up (pickled by name: stays the one object)."""

    def __reduce__(self):
        return "END"

    def __repr__(self):
        return "END"


END = _End()


def get_worker_info():
    """In a DataLoader worker process: ``WorkerInfo(id, num_workers, seed, dataset)`` (``dataset`` is that
    process's copy); in the main process: None. As ``torch.utils.data.get_worker_info``."""
    return _worker_info


# ------------------------------------------------------------------------ moving batches
class _Shm:
    __slots__ = ("name", "shape", "dtype")

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, shape, dtype


class _AsTensor:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _pack(obj, made):
    """The batch with its large arrays moved into shared memory (names appended to ``made``)."""
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return _AsTensor(_pack(obj.data, made))
    if isinstance(obj, np.ndarray):
        if obj.nbytes < SHM_MIN_BYTES or obj.dtype.hasobject:
            return obj
        from multiprocessing import resource_tracker, shared_memory
        shm = shared_memory.SharedMemory(create=True, size=obj.nbytes)
        try:
            np.ndarray(obj.shape, obj.dtype, buffer=shm.buf)[...] = obj
            made.append(shm.name)
            # the main process unlinks it: this process's resource tracker must not (nor warn of a leak)
            resource_tracker.unregister(shm._name, "shared_memory")
        finally:
            shm.close()
        return _Shm(shm.name, obj.shape, obj.dtype.str)
    return _map_container(obj, lambda o: _pack(o, made))


def _attach(ref):
    """The array in shared-memory segment ``ref``, mapped in place; the segment's name is removed at once."""
    from multiprocessing import shared_memory
    shm = shared_memory.SharedMemory(name=ref.name)
    try:
        dtype = np.dtype(ref.dtype)
        count = int(np.prod(ref.shape, dtype=np.int64))
        mm = getattr(shm, "_mmap", None)
        if mm is not None and getattr(shm, "_buf", None) is not None:
            # the array keeps the mapping alive by itself; the SharedMemory object lets go of it
            arr = np.frombuffer(mm, dtype, count).reshape(ref.shape)
            shm._buf.release()
            shm._buf, shm._mmap = None, None
        else:  # another implementation of SharedMemory: copy out
            arr = np.frombuffer(shm.buf, dtype, count).reshape(ref.shape).copy()
    finally:
        shm.unlink()
        shm.close()
    return arr


def _unpack(obj):
    from .tensor import _wrap
    if isinstance(obj, _AsTensor):
        return _wrap(_unpack(obj.value))
    if isinstance(obj, _Shm):
        return _attach(obj)
    return _map_container(obj, _unpack)


def _map_container(obj, fn):
    """``obj`` with ``fn`` applied to the items of its tuples, lists and dicts, keeping their types (an
    OrderedDict, a defaultdict or a list subclass stays one, as a pickled batch does in PyTorch)."""
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(fn(o) for o in obj))
    if isinstance(obj, tuple):
        return type(obj)(fn(o) for o in obj)
    if isinstance(obj, list):
        values = [fn(o) for o in obj]
        if type(obj) is list:
            return values
        try:
            clone = copy.copy(obj)
            clone[:] = values
            return clone
        except Exception:   # a subclass that cannot be copied and refilled: a plain list
            return values
    if isinstance(obj, dict):
        values = {k: fn(v) for k, v in obj.items()}
        if type(obj) is dict:
            return values
        try:
            clone = copy.copy(obj)
            clone.update(values)
            return clone
        except Exception:
            return values
    return obj


def _discard(obj):
    """Unlink the shared memory of a batch that will never be used."""
    if isinstance(obj, _Shm):
        try:
            _attach(obj)
        except OSError:
            pass
    elif isinstance(obj, _AsTensor):
        _discard(obj.value)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _discard(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            _discard(o)


class _Failure:
    """An exception raised in a worker, carried to the main process with its traceback as text."""

    def __init__(self, worker_id, where):
        exc_type, exc, _ = sys.exc_info()
        self.exc_type, self.worker_id = exc_type, worker_id
        self.text = (f"Caught {exc_type.__name__} in DataLoader worker process {worker_id}{where}.\nOriginal "
                     + "".join(traceback.format_exception(exc_type, exc, exc.__traceback__)))

    def reraise(self):
        # KeyError's str() is the repr of its argument: as PyTorch, give it a text whose repr is itself
        text = _KeyErrorMessage(self.text) if issubclass(self.exc_type, KeyError) else self.text
        try:
            err = self.exc_type(text)
        except Exception:
            err = RuntimeError(self.text)
        raise err


class _KeyErrorMessage(str):
    """A message that ``KeyError`` shows as it is (its str() is the repr of its argument)."""

    def __repr__(self):
        return self


# ------------------------------------------------------------------------ the worker process
def _numpy_seed(base_seed, worker_id):
    """The 4 uint32 words a worker seeds ``np.random`` with: PyTorch's ``_generate_state`` (NumPy's
    ``SeedSequence`` hash of ``[worker_id, base_seed low and high 32 bits, 0]``), so the states are PyTorch's."""
    mask, xshift, hash_const = 0xFFFFFFFF, 16, [0x43B0D7E5]

    def hash_(value):
        value = (value ^ hash_const[0]) & mask
        hash_const[0] = (hash_const[0] * 0x931E8875) & mask
        value = (value * hash_const[0]) & mask
        return (value ^ (value >> xshift)) & mask

    def mix(x, y):
        result = (((0xCA01F9DD * x) & mask) - ((0x4973F715 * y) & mask)) & mask
        return (result ^ (result >> xshift)) & mask

    pool = [hash_(e) for e in (worker_id, base_seed & mask, base_seed >> 32, 0)]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    hash_const[0], state = 0x8B51F9DD, []
    for i_dst in range(4):
        data_val = pool[i_dst]
        data_val = (data_val ^ hash_const[0]) & mask
        hash_const[0] = (hash_const[0] * 0x58F38DED) & mask
        data_val = (data_val * hash_const[0]) & mask
        state.append((data_val ^ (data_val >> xshift)) & mask)
    return state


def _worker_loop(fetch, dataset, index_queue, result_queue, worker_id, num_workers, seed, init_fn):
    global _worker_info
    from . import random as npg_random
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    npg_random.seed(seed)
    _pyrandom.seed(seed)
    np.random.seed(_numpy_seed((seed - worker_id) % (1 << 64), worker_id))
    init_failure = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception:
            init_failure = _Failure(worker_id, " (in worker_init_fn)")
    while True:
        try:
            task = index_queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if os.getppid() == 1:  # the main process is gone
                return
            continue
        if task is None:
            return
        tag, i, indices = task
        if init_failure is not None:
            result_queue.put((tag, i, init_failure))
            continue
        made = []
        try:
            payload = _pack(fetch(indices, tag), made)
        except Exception:
            for name in made:
                _discard(_Shm(name, (0,), "u1"))
            payload = _Failure(worker_id, "")
        result_queue.put((tag, i, payload))


# ------------------------------------------------------------------------ the main process
class _WorkerPool:
    """``num_workers`` processes with their queues; kept across epochs with ``persistent_workers``."""

    _tags = itertools.count()

    def __init__(self, loader, fetch, base_seed):
        ctx = loader.multiprocessing_context
        if ctx is None or isinstance(ctx, str):
            import multiprocessing
            ctx = multiprocessing.get_context(ctx)
        self.num_workers = loader.num_workers
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        for w in range(self.num_workers):
            iq = ctx.Queue()
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(fetch, loader.dataset, iq, self.result_queue, w, self.num_workers,
                                  (base_seed + w) % (1 << 64), loader.worker_init_fn))
            p.start()
            self.index_queues.append(iq)
            self.workers.append(p)
        self.mailbox = {}        # (tag, batch) -> payload received before it was asked for
        self.forgotten = set()   # tags of passes that ended early: their batches are discarded on arrival
        self._finalizer = weakref.finalize(self, _shutdown, self.workers, self.index_queues, self.result_queue,
                                           self.mailbox)

    def send(self, tag, i, indices, worker=None):
        self.index_queues[i % self.num_workers if worker is None else worker].put((tag, i, indices))

    def get(self, tag, i, timeout):
        """Batch ``i`` of pass ``tag`` (payload as the worker sent it)."""
        key = (tag, i)
        while key not in self.mailbox:
            t, j, payload = self._receive(timeout)
            if t in self.forgotten:
                _discard(payload)
            else:
                self.mailbox[(t, j)] = payload
        return self.mailbox.pop(key)

    def forget(self, tag):
        """Pass ``tag`` ended early: discard its batches, those received and those still to come."""
        self.forgotten.add(tag)
        for key in [k for k in self.mailbox if k[0] == tag]:
            _discard(self.mailbox.pop(key))

    def _receive(self, timeout):
        """The next (tag, batch, payload) from any worker; a dead worker or ``timeout`` is an error."""
        step = min(_POLL_SECONDS, timeout) if timeout else _POLL_SECONDS
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=step)
            except queue.Empty:
                waited += step
                dead = [p for p in self.workers if not p.is_alive()]
                if dead:
                    self.shutdown(grace=0.0)
                    raise RuntimeError(f"DataLoader worker (pid {dead[0].pid}) exited unexpectedly with exit code "
                                       f"{dead[0].exitcode}") from None
                if timeout and waited >= timeout:
                    self.shutdown(grace=0.0)   # (no waiting for the batches that timed out: as torch, at once)
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch") from None

    def shutdown(self, grace=5.0):
        """Stop the workers, giving them ``grace`` seconds to finish the batches they were sent (0: at once)."""
        if grace == 5.0:
            self._finalizer()
        elif self._finalizer.detach() is not None:
            _shutdown(self.workers, self.index_queues, self.result_queue, self.mailbox, grace=grace)


def _shutdown(workers, index_queues, result_queue, mailbox, grace=5.0):
    """Stop the workers (each finishes the batches it was sent, whose shared memory is freed here)."""
    import time
    for payload in mailbox.values():
        _discard(payload)
    mailbox.clear()
    for iq in index_queues:
        try:
            iq.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + grace
    while any(p.is_alive() for p in workers) and time.monotonic() < deadline:
        try:  # keep reading, or a worker blocked on a full pipe never exits
            _discard(result_queue.get(timeout=0.05)[2])
        except (queue.Empty, OSError, ValueError, EOFError):
            pass
    for p in workers:
        if p.is_alive():
            p.terminate()
        p.join(timeout=max(grace, 1.0))
    try:
        while True:
            _discard(result_queue.get(timeout=0.01)[2])
    except (queue.Empty, OSError, ValueError, EOFError):
        pass
    for q in index_queues + [result_queue]:
        q.close()
        q.cancel_join_thread()


def _get_pool(loader, fetch):
    pool = loader._pool if loader.persistent_workers else None
    if pool is None or not pool._finalizer.alive:   # (a pool that failed was shut down)
        pool = _WorkerPool(loader, fetch, loader._base_seed())
        if loader.persistent_workers:
            loader._pool = pool
    return pool


class _PoolIterator:
    """What the two worker iterators share: at the end of a pass (or when dropped) the pool is shut down, or,
    with persistent workers, only told to forget this pass's batches that were requested and never read."""

    def _unfinished(self):
        raise NotImplementedError

    def _close(self):
        pool, self.pool = self.pool, None
        if pool is None:
            return
        if self.loader.persistent_workers and self._unfinished():
            pool.forget(self.tag)
        elif not self.loader.persistent_workers:
            pool.shutdown()

    def __del__(self):
        try:
            self._close()
        except Exception:
            pass


class MultiWorkerIterator(_PoolIterator):
    """One pass over the loader with worker processes."""

    def __init__(self, loader, tasks, fetch):
        self.loader = loader
        self.pool = _get_pool(loader, fetch)
        self.tag = next(_WorkerPool._tags)
        self.tasks = iter(tasks)   # what each batch is loaded from (its indices), drawn as they are sent, so
        self.exhausted = False     # that an endless sampler works, as in PyTorch
        self.sent = self.next = 0
        for _ in range(loader.prefetch_factor * loader.num_workers):
            self._send_one()

    def _send_one(self):
        if self.exhausted:
            return
        try:
            indices = next(self.tasks)
        except StopIteration:
            self.exhausted = True
            return
        self.pool.send(self.tag, self.sent, indices)
        self.sent += 1

    def __iter__(self):
        return self

    def __len__(self):
        return len(self.loader)

    def __next__(self):
        # while tasks remain, prefetch_factor * num_workers >= 1 batches are in flight: next == sent means done
        if self.pool is None or self.next >= self.sent:
            self._close()
            raise StopIteration
        payload = self.pool.get(self.tag, self.next, self.loader.timeout)
        self.next += 1
        self._send_one()
        if isinstance(payload, _Failure):
            self._close()
            payload.reraise()
        return _unpack(payload)

    def _unfinished(self):
        return self.next < self.sent or not self.exhausted


class IterableWorkerIterator(_PoolIterator):
    """One pass over a loader of an IterableDataset with worker processes, as PyTorch's: every worker iterates
    its own copy of the dataset; batch requests go to the workers in turn (skipping those that are used up)
    and the batches are yielded in the order requested, so the workers' batches alternate; the pass ends when
    every worker is used up."""

    def __init__(self, loader, fetch):
        self.loader = loader
        self.pool = _get_pool(loader, fetch)
        self.tag = next(_WorkerPool._tags)
        self.active = [True] * loader.num_workers
        self.cycle = itertools.cycle(range(loader.num_workers))
        self.sent = self.next = 0
        self._workers = []   # the worker each request went to
        for _ in range(loader.prefetch_factor * loader.num_workers):
            self._send_one()

    def _send_one(self):
        for _ in range(len(self.active)):
            w = next(self.cycle)
            if self.active[w]:
                self.pool.send(self.tag, self.sent, self.loader.batch_size, worker=w)
                self._workers.append(w)
                self.sent += 1
                return

    def __iter__(self):
        return self

    def __next__(self):
        while self.pool is not None and self.next < self.sent:
            payload = self.pool.get(self.tag, self.next, self.loader.timeout)
            self.next += 1
            if isinstance(payload, _Failure):
                self._close()
                payload.reraise()
            if isinstance(payload, _End):   # that worker is used up: it gets no more requests
                self.active[self._workers[self.next - 1]] = False
                self._send_one()
                continue
            self._send_one()
            return _unpack(payload)
        self._close()
        raise StopIteration

    def _unfinished(self):
        return self.next < self.sent
