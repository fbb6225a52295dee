"""Datasets, samplers and a batch iterator with ``torch.utils.data``'s names, arguments and behaviour
(``DataLoader``, ``TensorDataset``, ``Subset``, ``random_split``, ``default_collate``, ``default_convert``;
the other datasets are in ``_datasets.py``, the samplers in ``_samplers.py``, the collate functions in
``_collate.py``, the worker processes in ``_data_workers.py``).

>>> loader = npg.data.DataLoader(npg.data.TensorDataset(X, y), batch_size=64, shuffle=True, seed=0)
>>> for xb, yb in loader:      # npgrad Tensors (no gradient), the last batch smaller unless drop_last
...     ...
"""
import math
import warnings

import numpy as np

from . import random as _random
from ._collate import _array, default_collate, default_convert  # noqa: F401
from ._data_workers import get_worker_info  # noqa: F401
from ._datasets import ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset  # noqa: F401
from ._samplers import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                        SubsetRandomSampler, WeightedRandomSampler, _check_generator)
from .autograd.grad_mode import is_grad_enabled
from .tensor import Tensor, _wrap


class TensorDataset(Dataset):
    """Arrays (or Tensors) of the same length, indexed together: ``ds[i] == (a[i], b[i], ...)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(_array(t) for t in tensors)
        # (a Tensor that requires grad is indexed as a Tensor, so its items stay in its graph, as PyTorch's)
        self._grad_tensors = tuple(t if isinstance(t, Tensor) and t.requires_grad else None for t in tensors)
        if any(t.ndim == 0 for t in self.tensors):
            raise ValueError(f"TensorDataset: arrays of shapes {[t.shape for t in self.tensors]}: a 0-d array has "
                             f"no first dimension to index samples along")
        n = len(self.tensors[0])
        for t in self.tensors:
            if len(t) != n:
                raise ValueError(f"TensorDataset: size mismatch between arrays: "
                                 f"{[t.shape for t in self.tensors]} (all need the same first dimension)")

    def __getitem__(self, index):
        grads = self.__dict__.get("_grad_tensors") or (None,) * len(self.tensors)
        return tuple(_wrap(t[index]) if g is None or not is_grad_enabled() else g[index]
                     for t, g in zip(self.tensors, grads))

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    """The items of ``dataset`` at ``indices`` (kept as given, as PyTorch: any keys of ``dataset``); a list
    ``index`` asks ``dataset`` for the list of its keys at once, ``__getitems__`` for a batch."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths (or fractions), as
    ``torch.utils.data.random_split`` (same argument order; ``generator`` a ``numpy.random.Generator``, else one
    seeded with npgrad's keyword-only ``seed``, else ``npg.random``'s)."""
    n = len(dataset)
    # (a Tensor or array of lengths, as torch takes one: its 0-d elements as Python numbers)
    lengths = [v.item() if getattr(v, "ndim", None) == 0 else v for v in lengths]
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:   # fractions (PyTorch's test: also [1] or [0, 1])
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        sizes = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    for i, length in enumerate(lengths):   # (PyTorch slices with a negative or fractional length silently)
        if not isinstance(length, (int, np.integer)) or isinstance(length, (bool, np.bool_)) or length < 0:
            raise ValueError(f"random_split: length at index {i} is {length!r}; lengths must be non-negative "
                             f"integers, or fractions summing to 1")
    _check_generator(generator, "random_split")   # (an int generator was falsy: silently npg.random's)
    rng = generator if generator is not None else (
        np.random.default_rng(seed) if seed is not None else _random.get_generator())
    perm = rng.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k].tolist()))
        start += k
    return out


class _ArrayDataset(TensorDataset):
    """``DataLoader(array)``: the rows of one array (items are rows, not 1-tuples)."""

    def __getitem__(self, index):
        return TensorDataset.__getitem__(self, index)[0]


class _Fetch:
    """Load one batch of a map-style dataset from its indices (``auto``: a list of indices, collated), or one
    sample from its index (``batch_size=None``); a picklable object, so that spawned workers can run it."""

    def __init__(self, dataset, collate_fn, auto):
        self.dataset, self.collate_fn, self.auto = dataset, collate_fn, auto
        # (only when the items are what TensorDataset's own __getitem__ gives: not a subclass's override)
        self.fast = (auto and collate_fn is default_collate and isinstance(dataset, TensorDataset)
                     and type(dataset).__getitem__ in (TensorDataset.__getitem__, _ArrayDataset.__getitem__)
                     and getattr(dataset, "__getitems__", None) is None
                     and not any(g is not None for g in getattr(dataset, "_grad_tensors", ())))

    def __call__(self, idx, tag=None):
        if not self.auto:
            return self.collate_fn(self.dataset[int(idx) if isinstance(idx, np.integer) else idx])
        if self.fast:  # a TensorDataset: index its arrays at once (what collating its items gives)
            order = np.asarray(idx)
            # (integer indices only: floats or bools from a user's sampler go item by item, to the error (or
            # the items) that indexing each gives, never truncated or turned into 0 / 1)
            if order.dtype.kind in "iu" and order.ndim == 1:
                batch = [_wrap(t[order]) for t in self.dataset.tensors]
                return batch[0] if isinstance(self.dataset, _ArrayDataset) else batch
        getitems = getattr(self.dataset, "__getitems__", None)
        idx = [int(i) if isinstance(i, np.integer) else i for i in idx]
        return self.collate_fn(getitems(idx) if callable(getitems) else [self.dataset[i] for i in idx])


class _IterFetch:
    """The next batch (``n`` samples, collated) or sample (``n`` None) of an iterable dataset: one iterator
    per pass (``tag``); ``_data_workers.END`` once it is used up (or, with ``drop_last``, when a batch would be
    short)."""

    def __init__(self, dataset, collate_fn, drop_last):
        self.dataset, self.collate_fn, self.drop_last = dataset, collate_fn, drop_last
        self.iterator, self.tag, self.ended = None, None, False

    def __call__(self, n, tag=None):
        from ._data_workers import END
        if self.iterator is None or tag != self.tag:
            self.iterator, self.tag, self.ended = iter(self.dataset), tag, False
        if self.ended:
            return END
        if n is None:
            try:
                return self.collate_fn(next(self.iterator))
            except StopIteration:
                self.ended = True
                return END
        data = []
        for _ in range(n):
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < n):
            return END
        return self.collate_fn(data)


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader`` (same arguments in the same
    order, same errors for conflicting ones); ``seed`` (keyword only) is npgrad's own.

    The indices come from ``sampler`` (e.g. a :class:`DistributedSampler`), else, with ``shuffle=True``, from
    a :class:`RandomSampler` drawing a new permutation each epoch from ``generator`` (a
    ``numpy.random.Generator``), else from a generator seeded with ``seed``, else from ``npg.random``'s; else
    in order. They are grouped into batches of ``batch_size`` (the last one dropped if smaller with
    ``drop_last=True``), or by ``batch_sampler`` (which excludes ``batch_size``, ``shuffle``, ``sampler`` and
    ``drop_last``), and each batch's samples are merged by ``collate_fn`` (default :func:`default_collate`).
    ``batch_size=None`` turns batching off: every sample is passed alone through ``collate_fn`` (default
    :func:`default_convert`). A ``TensorDataset`` (or a bare array) is batched by indexing its arrays at once.
    An :class:`IterableDataset` is read in its own order (``sampler``, ``batch_sampler`` and ``shuffle`` are
    errors), ``batch_size`` samples at a time. Batches are npgrad Tensors (without gradient, unless the
    samples require grad: then, as in PyTorch, in their graph).

    ``num_workers=K`` loads and collates batches in K worker processes (see ``npgrad/_data_workers.py``) and
    yields the same batches as ``num_workers=0``, in the same order; an IterableDataset is iterated by every
    worker (each its own copy, sharded with ``get_worker_info()``) and the workers' batches are taken in turn,
    as PyTorch does. ``prefetch_factor`` batches per worker are in flight (default 2);
    ``persistent_workers=True`` keeps the workers across epochs; ``worker_init_fn(id)`` runs in each worker
    after it is seeded; ``timeout`` (s) bounds the wait for a batch; ``multiprocessing_context`` chooses the
    start method ("fork", "spawn", "forkserver", or a context; only with workers). ``pin_memory`` and
    ``pin_memory_device`` are accepted and do nothing (there is no GPU). ``in_order=False`` is accepted; npgrad
    still yields the batches in order (PyTorch then may yield them as they arrive, an order it does not
    specify). As in PyTorch, ``batch_size``,
    ``batch_sampler``, ``sampler``, ``drop_last``, ``dataset`` and ``persistent_workers`` cannot be changed
    after construction (ValueError)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None):
        if isinstance(dataset, (np.ndarray, Tensor)):
            dataset = _ArrayDataset(dataset)
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers "
                             "> 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, (int, np.integer)) or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor should be a positive integer, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.iterable = isinstance(dataset, IterableDataset)
        if self.iterable:
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        _check_generator(generator, "DataLoader")
        self.generator = generator if generator is not None else (
            np.random.default_rng(seed) if seed is not None else None)
        self._own_order = sampler is None and not self.iterable   # the loader's own sequential/random order
        if sampler is None and not self.iterable:
            sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        self._own_batches = batch_sampler is None and batch_size is not None
        if self._own_batches:
            batch_sampler = BatchSampler(sampler if sampler is not None else _Endless(), batch_size, drop_last)
            batch_size, drop_last = batch_sampler.batch_size, batch_sampler.drop_last
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto = batch_sampler is not None
        self.collate_fn = collate_fn if collate_fn is not None else (default_collate if self._auto else default_convert)
        self.num_workers = int(num_workers)
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = (2 if num_workers else None) if prefetch_factor is None else int(prefetch_factor)
        self.persistent_workers = bool(persistent_workers)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.in_order = bool(in_order)
        self.timeout = timeout
        self.multiprocessing_context = multiprocessing_context
        self._pool = None
        self._initialized = True

    @property
    def multiprocessing_context(self):
        """The workers' start method: None (the platform's default) or a ``multiprocessing`` context (a start
        method's name, "fork", "spawn" or "forkserver", is turned into its context, as PyTorch does); checked
        when set, with PyTorch's errors (it needs ``num_workers > 0``)."""
        return self.__dict__.get("_multiprocessing_context")

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        import multiprocessing
        if context is not None:
            if not self.num_workers > 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid start method in "
                                     f"{methods!r}, but got multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context object or a string "
                                f"specifying the start method, but got multiprocessing_context={context}")
        self.__dict__["_multiprocessing_context"] = context

    def __setattr__(self, name, value):
        if self.__dict__.get("_initialized") and name in (
                "batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    def __len__(self):
        if self.iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self.batch_sampler if self._auto else self.sampler)

    def _tasks(self):
        """What each batch is loaded from (one pass): index arrays or lists, or single indices."""
        if self._own_batches and self._own_order:   # the sampler's order cut into slices (fast)
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            n, bs = len(order), self.batch_size
            stop = n - n % bs if self.drop_last else n
            return (order[s:s + bs] for s in range(0, stop, bs))
        return iter(self.batch_sampler if self._auto else self.sampler)

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
        from . import _data_workers
        if self.iterable:
            fetch = _IterFetch(self.dataset, self.collate_fn, self.drop_last)
            if self.num_workers:
                return _data_workers.IterableWorkerIterator(self, fetch)
            return self._single_process_iterable(fetch)
        fetch = _Fetch(self.dataset, self.collate_fn, self._auto)
        if self.num_workers:
            return _data_workers.MultiWorkerIterator(self, self._tasks(), fetch)
        return (fetch(task) for task in self._tasks())

    def _single_process_iterable(self, fetch):
        from ._data_workers import END
        while True:
            batch = fetch(self.batch_size)
            if batch is END:
                return
            yield batch

    def __del__(self):
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown()


class _Endless(Sampler):
    """The indices of an IterableDataset (ignored: the dataset gives its samples in its own order)."""

    def __iter__(self):
        while True:
            yield None


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
