"""Version counters: every write into a tensor's memory is counted, and backward refuses to use a value
that was overwritten after an op saved it (PyTorch's "modified by an inplace operation" error).

A counter belongs to a block of memory, not to a Tensor: views share their base's memory, so a write
through any of them counts for all of them, and so does a write from outside the graph (an optimizer
step, ``nn.init``, ``load_state_dict``, an in-place op under ``no_grad``). Every npgrad code path that
writes into an existing array calls :func:`bump`; a write through ``t.data`` made by the user is not
seen (as writes through ``.data`` are not seen by PyTorch's counter).

Backward checks only what it must, in one comparison per node: each write takes a creation number, and
``horizon`` is the newest one. A node older than the horizon may have lost a saved value; for it,
:func:`as_of` compares the creation number of the last write into each value the op's VJPs *read*
(declared with :func:`reads`, beside the op) with the node's own. A node newer than every write is
never checked.

The same creation numbers resolve a tensor that was modified in place after an op used it: the op holds
the tensor, whose node is now the in-place op's; ``_extra["prev"]`` chains back through the earlier
versions (see npgrad/ops/inplace.py), and :func:`inputs_as_of` picks the one the op used.
"""
import bisect
import weakref

import numpy as np

from .._freeing import NO_OUTPUT_READ
from .complex_rules import OwnComplex
from ..tensor import Tensor, _next_seq

horizon = -1   # creation number of the latest write (nodes older than it are checked)
_writes = {}   # id(memory owner) -> _Writes
_HISTORY = 256  # creation numbers of the last writes kept per block (older ones are only counted)


class _Writes:
    __slots__ = ("ref", "seqs", "dropped", "op")

    def __init__(self, ref):
        self.ref, self.seqs, self.dropped, self.op = ref, [], 0, None

    def version_at(self, seq):
        """How many writes happened before creation number ``seq`` (a lower bound if they are no longer
        all remembered)."""
        return self.dropped + bisect.bisect_left(self.seqs, seq)


_NONE = _Writes(None)


def _owner(a):
    """The array that owns ``a``'s memory (views share their base's)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def bump(array, op, at=None):
    """Count a write into ``array``'s memory by ``op`` (a name for error messages). ``at``: the creation number
    the write takes, when it must come before nodes already recorded (npgrad/ops/inplace.py's ``write``: just
    before the in-place op's node, whose VJPs and tangents read the values written); else a new one."""
    global horizon
    if isinstance(array, Tensor):
        array = array.data
    seq = _next_seq() if at is None else at
    horizon = max(horizon, seq)
    owner = _owner(array)
    entry = _writes.get(id(owner))
    if entry is None or entry.ref() is not owner:
        key = id(owner)
        try:  # the entry goes with the memory
            entry = _Writes(weakref.ref(owner, lambda ref, key=key: _writes.get(key, _NONE).ref is ref
                                        and _writes.pop(key)))
        except TypeError:  # not weak-referenceable: nothing to check later
            return
        _writes[key] = entry
    if at is None or not entry.seqs or entry.seqs[-1] < seq:
        entry.seqs.append(seq)
    else:
        bisect.insort(entry.seqs, seq)
    entry.op = op
    if len(entry.seqs) > 2 * _HISTORY:
        entry.dropped += len(entry.seqs) - _HISTORY
        del entry.seqs[:-_HISTORY]


def moved():
    """A tensor took a new node (an in-place write, or a view following its base): nodes recorded before
    now may hold it as an input, and backward resolves their inputs (:func:`inputs_as_of`)."""
    global horizon
    horizon = _next_seq()


def version(array):
    """The number of writes counted into ``array``'s memory (``Tensor._version``)."""
    entry = _entry(array)
    return 0 if entry is None else entry.dropped + len(entry.seqs)


def _entry(a):
    if not isinstance(a, np.ndarray) or not _writes:
        return None
    owner = _owner(a)
    entry = _writes.get(id(owner))
    if entry is None or entry.ref() is not owner:
        return None
    return entry


# ------------------------------------------------------------------ what each op's VJPs read
_OUTPUT_READ_ONCE = set()  # op names declared at least once with a VJP that reads the output
_READS_BY = {}  # op name -> per VJP, the positions whose values it reads: 0 the output, i + 1 input i
_LETTERS = "abcdefghijklmnopqrstuvw"


def reads(op, *grads):
    """Declare what the VJPs of ``op`` read: ``grads[i]`` names the values the VJP of input ``i`` reads, as
    letters: ``y`` the output, ``a``, ``b``, ``c``... the inputs in order (``x`` is ``a``); one string
    stands for every VJP. Only values count, not shapes or dtypes. Backward then refuses only a node whose
    read values were overwritten in place, as PyTorch does; an op that declares nothing is checked on its
    output and everything it saved (at worst an error PyTorch would not give, never a wrong gradient), and
    so is an input past those declared (a variable number of operands: einsum)."""
    if not grads:
        raise ValueError(f"reads({op!r}): name what the VJPs read ('' for nothing)")
    by = tuple(tuple(sorted({0 if c == "y" else _LETTERS.index(c) + 1 for c in names.replace("x", "a")}))
               for names in grads)
    _READS_BY[op] = by
    if any(0 in v for v in by) or op in _OUTPUT_READ_ONCE:  # (a name declared twice keeps the stricter reading)
        _OUTPUT_READ_ONCE.add(op)
        NO_OUTPUT_READ.discard(op)
    else:
        NO_OUTPUT_READ.add(op)


def reads_input(op, i, grads):
    """Whether one of the VJPs ``grads`` (input positions) of ``op`` reads the value of input ``i``: an
    in-place op then saves a copy of the value it overwrites."""
    by = _READS_BY.get(op)
    if by is None:
        return True
    return any(j >= len(by) > 1 or i + 1 in by[j if len(by) > 1 else 0] for j in grads)


def as_of(t, saved=None):
    """``t``'s inputs as they were when ``t`` was recorded (earlier versions of tensors modified in
    place since). Raises if a value ``t``'s VJPs read was overwritten since ``t`` was recorded. ``saved``:
    ``t``'s saved values if not ``t._saved`` (those unpacked by saved_tensors_hooks: a hook that gave back the
    array itself is checked as the array is)."""
    seq = t._seq
    if saved is None:
        saved = t._saved
    by = None if t._vjps.__class__ is OwnComplex else _READS_BY.get(t._op)  # (a Function's: op names are not its)
    if by is None:
        positions = range(1 + len(saved or ()))
    elif len(by) == 1:
        positions = by[0]
    else:  # what the VJPs of the inputs that need a gradient read
        positions = ()
        for j, p in enumerate(t._parents):
            if isinstance(p, Tensor) and p._requires_grad:
                positions += by[j] if j < len(by) else tuple(range(1 + len(saved or ())))
    if positions:
        values = (t.data,) + tuple(saved or ())
        for i in positions:
            entry = _entry(values[i]) if i < len(values) else None
            if entry is not None and entry.seqs and entry.seqs[-1] > seq:
                a = values[i]
                what = "its output" if i == 0 else f"its input {i - 1}"
                raise RuntimeError(
                    f"backward: one of the values needed for the gradient of '{t._op}' ({what}, {a.dtype} of "
                    f"shape {a.shape}) was modified by an in-place operation ('{entry.op}') after the op saved it: "
                    f"its memory is at version {entry.dropped + len(entry.seqs)}; the op saved it at version "
                    f"{entry.version_at(seq)}. Do the in-place operation on a copy (x = x.clone() or x = x * 1), "
                    f"do it before the value is used, or recompute the forward pass.")
    return inputs_as_of(t)


def _replaced(q, seq):
    """Whether tensor ``q`` got a new node at or after creation number ``seq``: by a write (its node is newer), or
    by ``detach_`` (a leaf now, stamped when detached; its earlier node is in ``_extra["prev"]``)."""
    if q._vjps is not None:
        return q._seq >= seq
    extra = q._extra
    return extra is not None and "prev" in extra and q._seq >= seq


def inputs_as_of(t):
    """``t._parents`` with each tensor modified in place after ``t`` was recorded replaced by the
    version it had then (for tools walking a graph: viz, func)."""
    parents = t._parents
    if parents is None or t._vjps is None:
        return parents
    seq = t._seq
    out = None
    for i, p in enumerate(parents):
        if isinstance(p, Tensor) and _replaced(p, seq):  # (== : t itself, `y[k] = y`)
            q = p
            steps = 0
            while _replaced(q, seq):
                prev = q._extra.get("prev") if q._extra else None
                if prev is None:
                    raise RuntimeError(f"backward: input {i} of op '{t._op}' was replaced after the op was "
                                       f"recorded and its earlier version is unknown")
                q = prev
                steps += 1
                if steps == _WALK:  # a long history: look the version up in p's index of it instead
                    q = _version_before(p, seq, i, t)
                    break
            if out is None:
                out = list(parents)
            out[i] = q
    return parents if out is None else tuple(out)


# A tensor written in place n times has a history of n earlier versions (``_extra["prev"]``, newest first). Each op
# that used it reaches the version it used (inputs_as_of): walking the history cost O(n) per op, so a graph that read
# a tensor between each of n writes (``s = s + y.sum(); y.mul_(c)``, or ``y[k] *= c``, whose getitem nodes hold y)
# took O(n^2) in backward (20,000 writes: 2.5 s). Past _WALK steps, the walk uses an index of the history kept in
# ``_extra["history"]``: its versions oldest first and the creation numbers at which each was replaced, searched by
# bisection and extended by the writes made since it was built (O(1) each, amortized).
_WALK = 8


def _replaced_at(q):
    """The creation number ``k`` such that ``_replaced(q, seq)`` is ``seq <= k`` (None: never replaced)."""
    if q._vjps is not None:
        return q._seq
    extra = q._extra
    return q._seq if extra is not None and "prev" in extra else None


def _history(p):
    """``(versions, keys)``: p's earlier versions oldest first and their ``_replaced_at``, increasing; None if they
    are not increasing (then the history is walked)."""
    extra = p._extra
    cached = extra.get("history")
    newest = extra["prev"]
    if cached is not None and cached[0] and cached[0][-1] is newest:
        return cached
    known = cached[0][-1] if cached is not None and cached[0] else None
    new = []
    q = newest
    while q is not None and q is not known:
        new.append(q)
        q = q._extra.get("prev") if q._extra else None
    if q is None:  # not an extension of the cached history: built anew
        versions, keys = [], []
    else:
        versions, keys = cached
    for q in reversed(new):
        k = _replaced_at(q)
        if k is None:
            if versions:  # a version never replaced, past the oldest: not a history this index describes
                extra.pop("history", None)
                return None
            k = -float("inf")
        elif keys and k <= keys[-1]:
            extra.pop("history", None)
            return None
        versions.append(q)
        keys.append(k)
    extra["history"] = (versions, keys)
    return versions, keys


def _version_before(p, seq, i, t):
    """The version of ``p`` (replaced at or after ``seq``) that op ``t`` used as its input ``i``: the newest one not
    replaced before ``seq``, as inputs_as_of's walk finds it."""
    index = _history(p)
    if index is None:
        q = p
        while _replaced(q, seq):
            q = q._extra.get("prev") if q._extra else None
            if q is None:
                break
    else:
        versions, keys = index
        j = bisect.bisect_left(keys, seq) - 1
        q = versions[j] if j >= 0 else None
    if q is None:
        raise RuntimeError(f"backward: input {i} of op '{t._op}' was replaced after the op was "
                           f"recorded and its earlier version is unknown")
    return q
