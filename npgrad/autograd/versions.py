"""In-place operations and backward: routing through earlier versions, and a check that no value an
op saved was overwritten.

Two kinds of in-place op exist (npgrad/ops/__init__.py ``_inplace``, npgrad/ops/index.py ``setitem``):

* on a tensor in a graph, ``x += v`` / ``x[k] = v`` *rebase* ``x`` on a copy: ``x`` becomes a new node
  and its previous node moves to a new object kept in ``x._extra["prev"]``. Ops that used ``x`` before
  still hold ``x`` as their input, so backward routes their gradient to the version ``x`` had when
  they ran (:func:`as_of`): the one whose creation number is older than theirs.
* outside a graph (under ``no_grad``, or on tensors that do not require grad) they write into the
  array itself, as NumPy and PyTorch do. If an op recorded earlier saved that array (or a view of the
  same memory), its backward would read the new values: backward raises instead, naming the op and
  the in-place write (PyTorch's version-counter error).

Both are found with one comparison per node in backward: every in-place op takes a creation number
(``horizon``); only nodes older than the latest in-place op are checked. Writes through ``t.data``
are invisible to npgrad (as writes through ``.data`` are to PyTorch's version counter).
"""
import weakref

import numpy as np

from ..tensor import Tensor, _next_seq

horizon = -1   # creation number of the latest in-place op (nodes older than it are checked)
_writes = {}   # id(memory owner) -> (weakref to it, creation number of the write, op name)


def _owner(a):
    """The array that owns ``a``'s memory (views share their base's)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def note_rebase():
    """Called by ``rebase_inplace``: a tensor in a graph now has a new node."""
    global horizon
    horizon = _next_seq()


def note_write(array, op):
    """Called by an in-place op that writes into ``array`` itself (outside a graph)."""
    global horizon
    seq = _next_seq()
    horizon = seq
    owner = _owner(array)
    if len(_writes) > 1024:
        for k in [k for k, (ref, _, _) in _writes.items() if ref() is None]:
            del _writes[k]
    try:
        _writes[id(owner)] = (weakref.ref(owner), seq, op)
    except TypeError:  # not weak-referenceable: nothing to check later
        pass


def _written_after(a, seq):
    if not isinstance(a, np.ndarray) or not _writes:
        return None
    owner = _owner(a)
    entry = _writes.get(id(owner))
    if entry is None or entry[0]() is not owner or entry[1] < seq:
        return None
    return entry[2]


def as_of(t):
    """``t``'s inputs as they were when ``t`` was recorded (earlier versions of tensors modified in
    place since). Raises if a value ``t`` saved for backward was overwritten in place since."""
    seq = t._seq
    for a in (t.data,) + tuple(t._saved or ()):
        op = _written_after(a, seq)
        if op is not None:
            raise RuntimeError(
                f"backward: a value saved by op '{t._op}' (an input or its output) was modified by an in-place "
                f"'{op}' after the op was recorded, so its gradient would be wrong. Modify a copy, do the in-place "
                f"op before using the tensor, or recompute the forward pass.")
    return inputs_as_of(t)


def inputs_as_of(t):
    """``t._parents`` with each tensor modified in place after ``t`` was recorded replaced by the
    version it had then (for tools walking a graph: viz, func)."""
    parents = t._parents
    if parents is None or t._vjps is None:
        return parents
    seq = t._seq
    out = None
    for i, p in enumerate(parents):
        if isinstance(p, Tensor) and p._vjps is not None and p._seq > seq:
            q = p
            while q._vjps is not None and q._seq > seq:
                prev = q._extra.get("prev") if q._extra else None
                if prev is None:
                    raise RuntimeError(f"backward: input {i} of op '{t._op}' was replaced after the op was "
                                       f"recorded and its earlier version is unknown")
                q = prev
            if out is None:
                out = list(parents)
            out[i] = q
    return parents if out is None else tuple(out)
