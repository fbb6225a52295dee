"""Datasets and a batch iterator, as ``torch.utils.data`` (``TensorDataset``, ``DataLoader``).

>>> loader = npg.data.DataLoader(npg.data.TensorDataset(X, y), batch_size=64, shuffle=True, seed=0)
>>> for xb, yb in loader:      # npgrad Tensors (no gradient), the last batch smaller unless drop_last
...     ...
"""
import numpy as np

from . import random as _random
from ._data_workers import get_worker_info  # noqa: F401
from .tensor import Tensor, _wrap


class Dataset:
    """Anything with ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


def _array(x):
    if isinstance(x, Tensor):
        return x.data
    return np.asarray(x)


class TensorDataset(Dataset):
    """Arrays (or Tensors) of the same length, indexed together: ``ds[i] == (a[i], b[i], ...)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(_array(t) for t in tensors)
        n = len(self.tensors[0])
        for t in self.tensors:
            if t.ndim == 0 or len(t) != n:
                raise ValueError(f"TensorDataset: size mismatch between arrays: "
                                 f"{[t.shape for t in self.tensors]} (all need the same first dimension)")

    def __getitem__(self, index):
        return tuple(_wrap(t[index]) for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, seed=None, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (or fractions)."""
    n = len(dataset)
    lengths = list(lengths)
    if all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-9 and sum(lengths) != n:
        sizes = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    rng = generator or (np.random.default_rng(seed) if seed is not None else _random.get_generator())
    perm = rng.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out


def default_collate(items):
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``: arrays, Tensors and
    numbers into one Tensor (Python floats float64, ints int64), dicts key by key, named tuples field by
    field (same type), other tuples and lists into a list of batched fields, strings left as a list."""
    first = items[0]
    if isinstance(first, (str, bytes)):
        return list(items)
    if isinstance(first, dict):
        return {k: default_collate([it[k] for it in items]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):     # a namedtuple keeps its type
        return type(first)(*(default_collate(list(field)) for field in zip(*items)))
    if isinstance(first, (tuple, list)):
        if any(len(it) != len(first) for it in items):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*items)]     # (PyTorch: a list, also for tuples)
    arrays = [_array(it) for it in items]
    if arrays[0].dtype.kind in "USO":
        raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                        f"found {arrays[0].dtype}")
    return _wrap(np.stack(arrays))


class Sampler:
    """An iterable of dataset indices with a length, as ``torch.utils.data.Sampler``."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new permutation of the indices each pass, from ``generator`` (or ``npg.random``'s generator)."""

    def __init__(self, data_source, generator=None):
        self.data_source = data_source
        self.generator = generator

    def __iter__(self):
        rng = self.generator if self.generator is not None else _random.get_generator()
        return iter(rng.permutation(len(self.data_source)).tolist())

    def __len__(self):
        return len(self.data_source)


class DistributedSampler(Sampler):
    """The part of ``dataset`` that process ``rank`` of ``num_replicas`` reads, as PyTorch's.

    Every epoch the indices are shuffled (``shuffle=True``) with a generator seeded with ``seed + epoch``, the
    same in every process (call ``set_epoch(epoch)`` before each epoch for a new order); then padded by
    repeating the first indices up to a multiple of ``num_replicas`` (or, with ``drop_last=True``, cut down to
    one), and process ``rank`` takes every ``num_replicas``-th index from position ``rank``. The parts are
    disjoint and cover the dataset (up to the padding). ``num_replicas`` and ``rank`` default to
    ``npgrad.distributed``'s world size and rank."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from . import distributed
            if not distributed.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "npgrad.distributed.init() first")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = -(-(n - self.num_replicas) // self.num_replicas)
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                indices = np.concatenate([indices, np.tile(indices, -(-pad // max(n, 1)))[:pad]])
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use ``seed + epoch`` for the next pass's shuffle: call it at the start of every epoch."""
        self.epoch = int(epoch)


class _Fetch:
    """Load one batch from the indices (a picklable object, so that spawned workers can run it)."""

    def __init__(self, dataset, collate_fn, single):
        self.dataset, self.collate_fn, self.single = dataset, collate_fn, single
        self.fast = isinstance(dataset, TensorDataset) and collate_fn is default_collate

    def __call__(self, idx):
        if self.fast:  # a TensorDataset: index its arrays at once
            batch = tuple(_wrap(t[idx]) for t in self.dataset.tensors)
            return batch[0] if self.single else batch
        return self.collate_fn([self.dataset[int(i)] for i in idx])


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    ``shuffle=True`` draws a new permutation each epoch from ``generator`` (a ``numpy.random.Generator``),
    else from a generator seeded with ``seed``, else from ``npg.random``'s; or ``sampler`` (e.g. a
    :class:`DistributedSampler`) gives the indices. The last, smaller batch is dropped with ``drop_last=True``.
    Batches are npgrad Tensors (no gradient); a ``TensorDataset`` is batched by indexing its arrays at once
    (fast), any other dataset item by item with ``collate_fn``.

    ``num_workers=K`` loads and collates batches in K worker processes (see ``npgrad/_data_workers.py``), in
    the same order and with the same contents as ``num_workers=0``; ``prefetch_factor`` batches per worker are
    in flight (default 2); ``persistent_workers=True`` keeps the workers across epochs; ``worker_init_fn(id)``
    runs in each worker after it is seeded; ``get_worker_info()`` tells a worker who it is; ``timeout`` (s)
    bounds the wait for a batch; ``multiprocessing_context`` chooses the start method ("fork", "spawn",
    "forkserver"); ``pin_memory`` is accepted and does nothing (there is no GPU)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, generator=None,
                 collate_fn=None, sampler=None, num_workers=0, worker_init_fn=None, prefetch_factor=None,
                 persistent_workers=False, pin_memory=False, timeout=0, multiprocessing_context=None):
        if isinstance(dataset, (np.ndarray, Tensor)):
            dataset = TensorDataset(dataset)
            self._single = True
        else:
            self._single = False
        if (not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, (bool, np.bool_))
                or batch_size <= 0):  # as PyTorch: 2.5, True, "2" are errors, not 2, 1, 2
            raise ValueError(f"DataLoader: batch_size should be a positive integer, got {batch_size!r} "
                             f"({type(batch_size).__name__})")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"DataLoader: drop_last should be True or False, got {drop_last!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, got {num_workers!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor should be a positive integer, got {prefetch_factor!r}")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.sampler = sampler
        self.collate_fn = collate_fn or default_collate
        self.generator = generator if generator is not None else (
            np.random.default_rng(seed) if seed is not None else None)
        self.num_workers = int(num_workers)
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = (2 if num_workers else None) if prefetch_factor is None else prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.pin_memory = bool(pin_memory)
        self.timeout = timeout
        self.multiprocessing_context = multiprocessing_context
        self._pool = None

    def __len__(self):
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self.generator if self.generator is not None else _random.get_generator()
        return rng.permutation(n)

    def _base_seed(self):
        """The workers' base seed: from the loader's generator without disturbing the order it draws (a
        spawned child generator), else from npg.random's."""
        rng = self.generator if self.generator is not None else _random.get_generator()
        try:
            rng = rng.spawn(1)[0]
        except (AttributeError, TypeError, ValueError):   # a generator built without a SeedSequence
            pass
        return int(rng.integers(0, 2**63))

    def __iter__(self):
        order = self._order()
        fetch = _Fetch(self.dataset, self.collate_fn, self._single)
        if self.num_workers:
            from ._data_workers import MultiWorkerIterator
            return MultiWorkerIterator(self, order, fetch)
        return self._single_process(order, fetch)

    def _single_process(self, order, fetch):
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield fetch(order[start:start + self.batch_size])

    def __del__(self):
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown()


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (the format of MNIST's ``train-images-idx3-ubyte`` etc.), optionally gzipped, into a
    NumPy array: a magic number ``0x0000TTNN`` (TT the element type, NN the number of dimensions), NN
    big-endian uint32 sizes, then the data."""
    import gzip
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} has unknown element type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated (header)")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"read_idx: {path} holds {len(raw) - header} data bytes, expected {count * dtype.itemsize} "
                         f"for shape {shape}")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
