"""Variable-length batches for the recurrent layers, as ``torch.nn.utils.rnn``: ``PackedSequence``,
``pack_padded_sequence`` / ``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence`` and their inverses.

A packed batch stores the time steps one after the other, each holding only the sequences still running:
``data`` is ``(sum(lengths), *)``, ``batch_sizes[t]`` the number of sequences at step ``t`` (non-increasing).
Sequences are ordered by decreasing length; ``sorted_indices`` (None if the input was sorted) gives that
order in terms of the original batch and ``unsorted_indices`` undoes it. Every function here is
differentiable in its data (each is one or two indexing ops).
"""
from collections import namedtuple

import numpy as np

from ...ops.shape import concatenate
from ...tensor import Tensor, _wrap, as_tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence", "invert_permutation"]


def _ints(v, what):
    a = np.asarray(v.data if isinstance(v, Tensor) else v)
    if a.dtype.kind not in "iu" and a.size:
        raise TypeError(f"{what} must hold integers, got {a.dtype}")
    return a.astype(np.int64, copy=False)


def _check_permutation(p, what, n=None):
    """``p`` (int64, 1-D) must hold each of 0..len(p)-1 once (and have ``n`` entries when given)."""
    if p.ndim != 1 or (n is not None and p.size != n) or not np.array_equal(np.sort(p), np.arange(p.size)):
        want = f"of 0..{(p.size if n is None else n) - 1}" if (p.size if n is None else n) else "(empty)"
        raise ValueError(f"{what} must be a permutation {want}, got {p.tolist()}")


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    p = _ints(permutation, "permutation")
    _check_permutation(p, "invert_permutation: permutation")
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=np.int64)
    return _wrap(inv)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A packed batch of sequences: ``data`` (``sum(lengths)``, ``*``), ``batch_sizes`` (int64, one per time
    step), ``sorted_indices`` / ``unsorted_indices`` (int64 or None). Build one with
    :func:`pack_padded_sequence` or :func:`pack_sequence`; the recurrent layers accept and return them."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ValueError("PackedSequence: batch_sizes is required (build packed batches with "
                             "pack_padded_sequence or pack_sequence)")
        bs = _ints(batch_sizes, "PackedSequence: batch_sizes")
        _check_batch_sizes(bs, getattr(data, "shape", None))
        B = int(bs[0]) if bs.size else 0
        si = ui = None
        if sorted_indices is not None:
            si = _ints(sorted_indices, "PackedSequence: sorted_indices")
            _check_permutation(si, "PackedSequence: sorted_indices", B)
        if unsorted_indices is not None:
            ui = _ints(unsorted_indices, "PackedSequence: unsorted_indices")
            _check_permutation(ui, "PackedSequence: unsorted_indices", B)
            if si is None or not np.array_equal(si[ui], np.arange(B)):
                raise ValueError(f"PackedSequence: unsorted_indices {ui.tolist()} must undo sorted_indices "
                                 f"{None if si is None else si.tolist()}")
        si = None if si is None else _wrap(si)
        ui = invert_permutation(si) if ui is None else _wrap(ui)
        return super().__new__(cls, data, _wrap(bs), si, ui)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False

    def _with_data(self, convert):
        data = convert(self.data)
        return self if data is self.data else type(self)(data, self.batch_sizes, self.sorted_indices,
                                                         self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        """This PackedSequence (everything lives on the CPU)."""
        return self

    def to(self, *args, **kwargs):
        """A PackedSequence with ``data.to(...)`` (only dtype conversions exist here)."""
        return self._with_data(lambda d: d.to(*args, **kwargs) if hasattr(d, "to") else d)


def _cast_method(name, dtype):
    """PackedSequence's ``name()`` (torch's dtype conversions: ``double``, ``long``...): the data's own ``name()``."""
    def method(self):
        return self._with_data(lambda d: getattr(d, name)())
    method.__name__, method.__qualname__ = name, f"PackedSequence.{name}"
    method.__doc__ = f"A PackedSequence with {dtype} data."
    return method


for _name, _dtype in (("double", "float64"), ("float", "float32"), ("half", "float16"), ("long", "int64"),
                      ("int", "int32"), ("short", "int16"), ("char", "int8"), ("byte", "uint8")):
    setattr(PackedSequence, _name, _cast_method(_name, _dtype))


def _check_batch_sizes(bs, data_shape, where="PackedSequence"):
    """``batch_sizes`` must be 1-D, non-negative, non-increasing and add up to the rows of the data."""
    if bs.ndim != 1:
        raise ValueError(f"{where}: batch_sizes must be 1-D, got shape {bs.shape}")
    if bs.size and (bs.min() < 0 or np.any(np.diff(bs) > 0)):
        raise ValueError(f"{where}: batch_sizes must be non-negative and non-increasing (the number of "
                         f"sequences still running at each step), got {bs.tolist()}")
    if data_shape is not None and (len(data_shape) == 0 or data_shape[0] != int(bs.sum())):
        raise ValueError(f"{where}: data of shape {tuple(data_shape)} does not fit batch_sizes {bs.tolist()}: "
                         f"expected {int(bs.sum())} rows (their sum)")


def _batch_sizes(lengths, T):
    """batch_sizes[t] = how many of the (sorted, decreasing) ``lengths`` exceed t."""
    return (lengths[None, :] > np.arange(T)[:, None]).sum(axis=1).astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``input`` (``(T, B, *)``, or ``(B, T, *)`` with ``batch_first``) of sequences of the
    given ``lengths``. With ``enforce_sorted`` the lengths must be non-increasing; otherwise the batch is
    sorted here and the permutation recorded in the result."""
    x = as_tensor(input)
    lens = _ints(lengths, "pack_padded_sequence: lengths")
    if lens.ndim != 1:
        raise ValueError(f"pack_padded_sequence: lengths must be 1-D (one per sequence), got shape {lens.shape}")
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must be at least 2-D (T, B, *), got shape {x.shape}")
    T, B = (x.shape[1], x.shape[0]) if batch_first else x.shape[:2]
    if lens.size != B:
        raise ValueError(f"pack_padded_sequence: expected {B} lengths for a batch of {B} (input of shape "
                         f"{x.shape}{', batch_first' if batch_first else ''}), got {lens.size}")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if lens.size and lens.max() > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {lens.max()} exceeds the {T} time steps of input "
                           f"of shape {x.shape}")
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
        order, sorted_indices = np.arange(B), None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = order
        lens = lens[order]
    bsz = _batch_sizes(lens, T if B else 0)
    bsz = bsz[bsz > 0]
    t_idx = np.repeat(np.arange(bsz.size), bsz)
    b_idx = order[np.concatenate([np.arange(n) for n in bsz])] if bsz.size else np.zeros(0, np.int64)
    flat = b_idx * T + t_idx if batch_first else t_idx * B + b_idx
    data = x.reshape((T * B,) + x.shape[2:])[flat]
    return PackedSequence(data, bsz, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: returns ``(padded, lengths)`` with ``padded`` of shape
    ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``), in the original batch order, and ``lengths`` int64."""
    data, batch_sizes, _, unsorted = sequence
    data = as_tensor(data)
    bsz = _ints(batch_sizes, "pad_packed_sequence: batch_sizes")
    _check_batch_sizes(bsz, data.shape, "pad_packed_sequence")
    T = bsz.size
    B = int(bsz[0]) if T else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
        T_out = int(total_length)
    else:
        T_out = T
    lens = (bsz[None, :] > np.arange(B)[:, None]).sum(axis=1).astype(np.int64)  # sorted order
    offsets = np.concatenate([[0], np.cumsum(bsz)[:-1]]).astype(np.int64)
    N = data.shape[0]
    idx = np.full((T_out, B), N, np.int64)  # row N: the padding row
    for t in range(T):
        idx[t, :bsz[t]] = offsets[t] + np.arange(bsz[t])
    if unsorted is not None:
        perm = _ints(unsorted, "pad_packed_sequence: unsorted_indices")
        idx, lens = idx[:, perm], lens[perm]
    if batch_first:
        idx = idx.T
    pad = _wrap(np.full((1,) + data.shape[1:], padding_value, dtype=data.dtype))
    return concatenate([data, pad], axis=0)[idx], _wrap(lens)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with ``batch_first``),
    padding with ``padding_value`` on the ``padding_side`` ('right' or 'left')."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = [as_tensor(s) for s in sequences]
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trail = seqs[0].shape[1:]
    for k, s in enumerate(seqs):
        if s.ndim < 1 or s.shape[1:] != trail:
            raise ValueError(f"pad_sequence: sequence {k} has shape {s.shape}; every sequence must be "
                             f"(length, *{trail}) like the first")
    lens = [s.shape[0] for s in seqs]
    L, B, N = max(lens), len(seqs), sum(lens)
    idx = np.full((L, B), N, np.int64)
    start = 0
    for b, n in enumerate(lens):
        rows = start + np.arange(n)
        if padding_side == "right":
            idx[:n, b] = rows
        else:
            idx[L - n:, b] = rows
        start += n
    if batch_first:
        idx = idx.T
    pad = _wrap(np.full((1,) + trail, padding_value, dtype=seqs[0].dtype))
    return concatenate(seqs + [pad], axis=0)[idx]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences ``(L_i, *)`` (decreasing lengths unless ``enforce_sorted=False``)."""
    lengths = [as_tensor(s).shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences ``padded[:length_i, i]`` (inverse of :func:`pad_sequence`)."""
    x = as_tensor(padded_sequences)
    lens = _ints(lengths, "unpad_sequence: lengths")
    if x.ndim < 2:
        raise ValueError(f"unpad_sequence: padded_sequences must be at least 2-D, got shape {x.shape}")
    shape = x.shape
    if not batch_first:
        x = x.swapaxes(0, 1)
    if lens.ndim != 1 or lens.size != x.shape[0]:
        raise ValueError(f"unpad_sequence: expected {x.shape[0]} lengths (one per sequence of the batch of shape "
                         f"{shape}{', batch_first' if batch_first else ''}), got shape {lens.shape}")
    return [x[i, :int(n)] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
