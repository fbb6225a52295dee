"""Freeing the values of graph tensors that no backward reads.

A Tensor is its own graph node (npgrad/tensor.py), so the graph holds every intermediate output it records.
PyTorch's graph keeps only the values its backward reads: the output of a convolution that only a ReLU used
(ReLU's backward reads its own output) is freed once the user's code drops it. npgrad does the same here. When an
op is recorded, the inputs of its inputs are checked (``recorded``): a tensor held by nothing but one graph tuple,
whose own VJPs do not read its value (declared with autograd/versions.py: ``reads``) and whose array no op saved,
gives its array back; the tensor stays in the graph as a node, with its shape and dtype (``Freed``). A tensor held
by nothing is found by its reference count, calibrated at import on the functions below (``_calibrate``).

The checks cost ~0.3 us per op, so they run only for outputs of ``min_size`` elements or more
(npgrad.memory.set_free_unread_min); the test suite sets it to 0 (tests/conftest.py).
"""
import collections
import itertools
import math
import sys
import weakref

import numpy as np

# npgrad/tensor.py's Tensor and _leaf, and the class of a custom Function's VJPs (autograd/complex_rules.py), set
# by bind() (tensor.py imports this module)
Tensor = _leaf = _OwnComplex = None


class Freed:
    """The ``.data`` of a recorded tensor that nothing can read any more: no Python reference to the tensor is
    left but its graph's, its own VJPs do not read their output, and no VJP saved its array (``release``).
    It keeps the shape and dtype backward reads (un-broadcasting); reading its values raises."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def _error(self, kind=RuntimeError):
        return kind(f"npgrad: internal error: the values of an intermediate {self.dtype} tensor of shape {self.shape} "
                    f"were read after its memory was freed (nothing referred to it but its graph); please report it")

    def __array__(self, *args, **kwargs):
        raise self._error()

    def __getattr__(self, name):  # (an AttributeError: getattr(d, name, default) probes see a plain object)
        raise self._error(AttributeError)

    def __repr__(self):
        return f"Freed(shape={self.shape}, dtype={self.dtype})"


# Op names whose VJPs do not read their output (npgrad/autograd/versions.py: reads fills it)
NO_OUTPUT_READ = set()
# An op whose output has at least this many elements frees the arrays of its inputs' inputs that nothing can
# read (``recorded``; npgrad.memory.set_free_unread_min, which says what it costs and gains)
min_size = 1024
_FREED = {}  # dtype -> shape -> its Freed (one shared by every freed array of that shape and dtype)
_records = 0   # calls of recorded so far
_deferred = collections.deque()  # (record count when due, weak reference to a tensor whose inputs to check again)
_DEFER_RECORDS = 3  # (a loop body of three ops rebinds its names: m = h @ w; h = relu(m + b))
# sys.getrefcount of a tensor held by one graph tuple alone, and of its array held by the tensor alone, as
# release and _free see them (-1: never free): set by _calibrate
_HELD_BY_GRAPH = _DATA_HELD_BY_TENSOR = -1
_refcount, _weakrefcount, _weakref, _ndarray_cls = sys.getrefcount, weakref.getweakrefcount, weakref.ref, np.ndarray


def recorded(parents):
    """Called with the inputs of each op recorded: frees the arrays of *their* inputs that nothing can read
    (``release``). When those were recorded, their inputs were still the caller's arguments; by now a chain
    (``h = f(h)``) has dropped them. Then checks again the inputs of a tensor ``release`` deferred a few records
    ago."""
    global _records
    _records += 1
    for q in parents:
        if q.__class__ is Tensor:
            grand = q._parents
            if grand:
                release(grand, q)
    if _deferred and _deferred[0][0] <= _records:
        recheck_deferred(_records)


def release(parents, child=None, smallest=0):
    """Free the arrays of the recorded tensors in ``parents`` (the inputs of ``child``, an op recorded earlier)
    that nothing can read: the tensor is held only by that ``_parents`` tuple (no name, container, view, hook or
    weak reference reaches it), its own VJPs do not read its value, and no op saved its array. Backward still
    reaches the tensor as a node, and reads only its shape and dtype (``Freed``). PyTorch frees such an output
    the same way: its graph keeps only the values backward reads. When one would qualify but for something else
    holding it, such as a name (``m = h @ w; h = relu(m + b)``: ``m`` is rebound only by the next layer),
    ``child``'s inputs are checked once more a few records later (``_deferred``), and when backward starts.
    ``smallest``: only arrays of at least that many elements."""
    for p in parents:
        if p.__class__ is Tensor and p._extra is None and p._vjps is not None and p._op in NO_OUTPUT_READ and \
                p._vjps.__class__ is not _OwnComplex:  # (a custom Function's node, named as a built-in op may be)
            n = _refcount(p)
            if n == _HELD_BY_GRAPH:
                if (not _weakrefcount(p) or _only_ours(p)) and p.data.size >= smallest:
                    _free(p)
            elif child is not None and n > _HELD_BY_GRAPH and p.data.__class__ is _ndarray_cls and \
                    (not _weakrefcount(child) or not _only_ours(child)):
                # (a weak reference with a callback: one of its own, never the one a user's weakref.ref shares)
                _deferred.append((_records + _DEFER_RECORDS, _weakref(child, _ignore)))
                child = None  # (once per tuple)


def _recheck(ref):
    """``release`` on the inputs of the tensor ``ref`` refers to, if it is alive and still has them."""
    child = ref()
    if child is not None:
        parents = child._parents
        del child
        if parents:
            release(parents)


def recheck_deferred(due=None):
    """Check again the inputs ``release`` deferred: those due by record count ``due``, or all."""
    while _deferred and (due is None or _deferred[0][0] <= due):
        try:
            _, ref = _deferred.popleft()
        except IndexError:  # (another thread emptied it)
            return
        _recheck(ref)


def before_backward(roots):
    """What backward calls as it starts: the inputs of ``roots`` (the loss's, usually: their own inputs were checked
    as they were used) of ``min_size`` elements or more, and every deferred check."""
    for r in roots:
        if r._parents:
            release(r._parents, smallest=min_size)
    recheck_deferred()


def _only_ours(t):
    """Whether every weak reference to ``t`` is one of ``_deferred``'s."""
    # (a weakref.proxy is the user's: it has no __callback__, reading one reads the referent's)
    return all(r.__class__ is weakref.ReferenceType and r.__callback__ is _ignore for r in weakref.getweakrefs(t))


def _free(p):
    """Replace ``p``'s array by the shared ``Freed`` of its shape and dtype, unless something else holds the array
    (an op's saved values, a NumPy view of it)."""
    d = p.data
    if d.__class__ is _ndarray_cls and _refcount(d) == _DATA_HELD_BY_TENSOR:
        shape, dt = d.shape, d.dtype
        freed = _FREED.get(dt)
        if freed is None:
            freed = _FREED[dt] = {}
        f = freed.get(shape)
        if f is None:
            if len(freed) > 256:
                freed.clear()
            f = freed[shape] = Freed(shape, dt)
        p.data = f


def _ignore(ref):
    pass


def _calibrate():
    """The reference counts ``release`` sees for a tensor held only by one ``_parents`` tuple, and ``_free`` for
    its array held only by the tensor: found by running them on a probe (they depend on the interpreter's
    handling of temporaries). Never freeing if they cannot be found."""
    global _HELD_BY_GRAPH, _DATA_HELD_BY_TENSOR
    NO_OUTPUT_READ.add("(release probe)")
    try:
        for held, data_held in itertools.product(range(1, 8), range(1, 8)):
            _HELD_BY_GRAPH, _DATA_HELD_BY_TENSOR = held, data_held
            probe = _leaf(np.empty(1))
            probe._vjps, probe._op = (), "(release probe)"
            parents = (probe,)
            del probe
            release(parents)
            if parents[0].data.__class__ is Freed:
                return
        _HELD_BY_GRAPH = _DATA_HELD_BY_TENSOR = -1
    finally:
        NO_OUTPUT_READ.discard("(release probe)")


def bind(tensor_class, leaf):
    """Called by npgrad/tensor.py once Tensor exists: the class ``release`` looks for, and the calibration."""
    global Tensor, _leaf, _OwnComplex
    from .autograd.complex_rules import OwnComplex  # (loaded by tensor.py by now)
    Tensor, _leaf, _OwnComplex = tensor_class, leaf, OwnComplex
    _calibrate()
