"""Datasets and a batch iterator, as ``torch.utils.data`` (``TensorDataset``, ``DataLoader``).

>>> loader = npg.data.DataLoader(npg.data.TensorDataset(X, y), batch_size=64, shuffle=True, seed=0)
>>> for xb, yb in loader:      # npgrad Tensors (no gradient), the last batch smaller unless drop_last
...     ...
"""
import numpy as np

from . import random as _random
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
    """Stack a list of samples: tuples field by field, arrays/Tensors/numbers into one array."""
    first = items[0]
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate([it[i] for it in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([it[k] for it in items]) for k in first}
    return _wrap(np.stack([_array(it) for it in items]))


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``shuffle=True`` draws a new permutation each epoch from ``generator`` (a ``numpy.random.Generator``),
    else from a generator seeded with ``seed``, else from ``npg.random``'s. The last, smaller batch is
    dropped with ``drop_last=True``. Batches are npgrad Tensors (no gradient); a ``TensorDataset`` is
    batched by indexing its arrays at once (fast), any other dataset item by item with ``collate_fn``."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, generator=None,
                 collate_fn=None):
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
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn or default_collate
        self.generator = generator if generator is not None else (
            np.random.default_rng(seed) if seed is not None else None)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self.generator if self.generator is not None else _random.get_generator()
        return rng.permutation(n)

    def __iter__(self):
        order = self._order()
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for start in range(0, stop, self.batch_size):
            idx = order[start:start + self.batch_size]
            if fast:
                batch = tuple(_wrap(t[idx]) for t in self.dataset.tensors)
                yield batch[0] if self._single else batch
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])


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
