"""The samplers of ``torch.utils.data`` (re-exported by ``npgrad.data``): ``Sampler``, ``SequentialSampler``,
``RandomSampler``, ``SubsetRandomSampler``, ``WeightedRandomSampler``, ``BatchSampler``, ``DistributedSampler``.
Random ones draw from their ``generator`` (a ``numpy.random.Generator``), else from ``npg.random``'s."""
import numpy as np

from . import random as _random
from .tensor import Tensor


_check_generator = _random.check_generator  # (the name data.py and the samplers use)


class Sampler:
    """An iterable of dataset indices, as ``torch.utils.data.Sampler``: subclasses define ``__iter__`` and may
    define ``__len__`` (the base class has none, as PyTorch's: ``len()`` of one without it is a TypeError, what
    ``len(loader)``'s callers such as tqdm catch)."""

    def __iter__(self):
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
    """Random indices from ``generator`` (or ``npg.random``'s generator), as PyTorch's: a new permutation each
    pass; with ``num_samples`` larger than the dataset, as many permutations as fit then the start of one more;
    with ``replacement=True``, ``num_samples`` (default the dataset's length) independent uniform draws."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _check_generator(generator, "RandomSampler")
        if not isinstance(replacement, (bool, np.bool_)):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, (int, np.integer)) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        """How many indices a pass yields (the dataset's length unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        rng = self.generator if self.generator is not None else _random.get_generator()
        n, k = len(self.data_source), int(self.num_samples)
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[:k % n])
        return iter(np.concatenate(parts).tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order each pass (from ``generator``, or ``npg.random``'s)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        rng = self.generator if self.generator is not None else _random.get_generator()
        for i in rng.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``, as PyTorch's (whose
    ``torch.multinomial`` draws other random values: the distribution is the same, not the numbers).

    With ``replacement=True`` the draws are independent. Without it, each index is drawn at most once, as
    successive draws among those left (proportional to their weights); once the indices of positive weight
    are used up, those of weight zero follow (as ``torch.multinomial``). Errors as PyTorch's: ``num_samples``
    must be a positive int, ``replacement`` a bool, ``weights`` 1-d (ValueError); negative, infinite or NaN
    weights, an all-zero sum, or more samples than weights without replacement raise RuntimeError when
    iterated."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, (bool, np.bool_)) \
                or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, (bool, np.bool_)):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = bool(replacement)
        self.generator = _check_generator(generator, "WeightedRandomSampler")

    def __iter__(self):
        w, n = self.weights, self.num_samples
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and n > len(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        rng = self.generator if self.generator is not None else _random.get_generator()
        if self.replacement:
            out = rng.choice(len(w), size=n, replace=True, p=w / w.sum())
        else:   # successive draws without replacement = sorting by w / Exp(1) (the exponential race)
            positive = np.flatnonzero(w > 0)
            keys = w[positive] / rng.standard_exponential(len(positive))
            out = np.concatenate([positive[np.argsort(-keys, kind="stable")], np.flatnonzero(w == 0)])[:n]
        return iter(out.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``), as ``torch.utils.data.BatchSampler``; a ``DataLoader`` takes one as ``batch_sampler``."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, (bool, np.bool_)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), bool(drop_last)

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


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
            # (any integer, as torch's generator: a negative seed + epoch wraps around 2**64)
            indices = np.random.default_rng((self.seed + self.epoch) % (1 << 64)).permutation(n)
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
