"""The view registry of npgrad/ops/inplace.py (whose docstring describes views and writes): which tensor is a
view of which base and how to reach it, and each base's list of its live views; a tensor's earlier versions
(``snapshot``, ``_become``); and how the views follow a write into their base (refreshed when next used)."""
import importlib
import itertools
import threading
import weakref

import numpy as np

from ..autograd import versions as _versions
from ..autograd.grad_mode import _state, enable_grad
from ..tensor import Tensor, _new

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


def _view_of(x):
    """``(base, fn)`` if ``x`` is a view marked by mark_view (kept in ``_extra["view"]``: no slot per tensor),
    else None."""
    extra = x._extra
    return None if extra is None else extra.get("view")


def mark_view(out, x, step):
    """Record that ``out`` is a view of ``x``'s memory, reached from ``x`` by ``step`` (a function of one
    array or Tensor that applies the view op). Called by the view ops when NumPy returned a view."""
    info = _view_of(x)
    if info is None:
        base, fn = x, step
    else:
        base, first = info
        fn = _compose(first, step)
    if out._extra is None:
        out._extra = {"view": (base, fn)}
    else:
        out._extra["view"] = (base, fn)
    # The base's live views, as weak references in a list (a write into the base leaves them on its earlier node:
    # npgrad/ops/inplace.py refreshes one when it is next used, or all of them when the write is the base's first).
    # Dead ones are dropped when the list reaches 8, 16, 32... entries and at least half of them are dead (else
    # it grows to the next power of two first: a base keeping ~2^k live views would otherwise scan them all for
    # every short-lived view): amortized O(1) per view, and no callback per view (a weakref callback and a dict
    # entry per view cost ~0.5 us of a ~2.5 us reshape).
    extra = base._extra
    views = None if extra is None else extra.get("views")
    if views is None:  # the base's first view: its list is made under the lock (two threads' first views both kept)
        with _prune_lock:
            extra = base._extra
            if extra is None:
                base._extra = extra = {}
            views = extra.get("views")
            first = views is None
            if first:
                extra["views"] = [_weakref(out)]
        if first:
            if out._vjps is None and base._requires_grad:
                _loose(base, out)
            return _catch_up(base, out)
    views.append(_weakref(out))
    n = len(views)
    if n >= 8 and not n & (n - 1):
        _prune(views)
    if out._vjps is None and base._requires_grad:
        _loose(base, out)
    return _catch_up(base, out)


def _loose(base, out):
    """Keep ``out``, a view not recorded of a base that requires grad (made under no_grad), in the base's list of
    such views: a write into the base then refreshes them at once (npgrad/ops/inplace.py: _after_write). The
    recorded views are refreshed when next used instead; these would not be, as they do not require grad."""
    loose = base._extra.get("loose")
    if loose is None:
        with _prune_lock:
            loose = base._extra.setdefault("loose", [])
    loose.append(_weakref(out))
    n = len(loose)
    if n >= 8 and not n & (n - 1):
        _prune(loose)


def _catch_up(base, out):
    """``out`` refreshed if another thread wrote into its base after ``out`` was made and before it was in the
    base's list (that write's refresh missed it, and the view would stay on the base's old node, or off the graph:
    backward would then miss the write, a silent wrong gradient). Only threads can interleave there. A recorded
    view is stale if the base's node is newer than its own; one not recorded, if the base now requires grad with
    grad mode on (the view op would have been recorded on such a base)."""
    if out._vjps is not None:
        stale = base._vjps is not None and base._seq > out._seq
    else:
        stale = base._requires_grad and _state.enabled
    if stale:
        _refresh(out, base)
    return out


_weakref = weakref.ref
_prune_lock = threading.Lock()


def _prune(views):
    """Drop the dead references from a base's list of views if at least half of it is dead. Only the part
    scanned is replaced, under a lock: a view another thread appends meanwhile is kept (replacing the whole
    list lost it, and a write into the base then left that view on its old node)."""
    with _prune_lock:
        n = len(views)
        live = [r for r in itertools.islice(views, n) if r() is not None]
        if len(live) <= n >> 1:
            views[:n] = live


def _compose(first, step):
    return _Chain(first, step)


class _Chain:
    """The path to a view of a view: ``first``, then ``step``. A chain of chains is applied in a loop, not by
    nested calls: ``y = y[:]`` repeated 1,000 times made 1,000 nested closures, and a write through the last view
    (which applies its path to the base) raised RecursionError."""
    __slots__ = ("first", "step")

    def __init__(self, first, step):
        self.first, self.step = first, step

    def __call__(self, a):
        steps = []
        f = self
        while f.__class__ is _Chain:
            steps.append(f.step)
            f = f.first
        a = f(a)
        for step in reversed(steps):
            a = step(a)
        return a


def view_of(out, x, step):
    """``out``, marked as a view of ``x`` if NumPy gave a view (shared memory) rather than a copy."""
    od = out.data
    base = od.base
    if base is not None:
        xd = x.data
        if base is xd or base is xd.base or np.may_share_memory(od, xd):  # (identity first:
            mark_view(out, x, step)  # NumPy points a view at the array that owns the memory; may_share_memory ~0.2 us)
    return out


# ------------------------------------------------------------------------ a tensor's versions
def snapshot(x, copy=False):
    """A new tensor object holding ``x``'s current node (and data: a copy if ``copy``)."""
    old = _new(Tensor)
    old.data = x.data.copy() if copy else x.data
    old._grad = None
    old._requires_grad = x._requires_grad
    old._parents = x._parents
    old._vjps = x._vjps
    if x._vjps is not None:
        old._saved, old._op, old._seq, old._pending = x._saved, x._op, x._seq, None
    prev = x._extra.get("prev") if x._extra else None
    old._extra = None if prev is None else {"prev": prev}
    if prev is not None and x._vjps is None:  # a leaf made by detach_: its stamp (versions._replaced)
        old._seq = x._seq
    fw = x._extra.get("fw") if x._extra else None
    if fw:  # the old version keeps the old tangents
        old._extra = dict(old._extra or {}, fw=fw)
    return old


def _move_hooks(x, old):
    """Hooks registered on ``x`` before a write see the gradient of the value they were registered on: they move
    to ``old``, the snapshot of that value (as in PyTorch, where they stay on the earlier grad_fn)."""
    for key in ("hooks", "node_hooks", "metadata"):  # (the last two: its grad_fn's, autograd/graph.py)
        hooks = x._extra.pop(key, None) if x._extra else None
        if hooks:
            old._extra = dict(old._extra or {}, **{key: hooks})


def _become(x, node, prev):
    """Give ``x`` the graph node of tensor ``node`` (its data stays ``x``'s memory) and ``prev`` as its
    previous version."""
    x._requires_grad = node._requires_grad
    x._parents = node._parents
    x._vjps = node._vjps
    if node._vjps is not None:
        x._saved, x._op, x._seq, x._pending = node._saved, node._op, node._seq, None
    extra = x._extra
    if extra is None:
        x._extra = extra = {"prev": prev}
    else:
        extra["prev"] = prev
    fw = node._extra.get("fw") if node._extra else None
    if fw:
        extra["fw"] = fw
    else:
        extra.pop("fw", None)


# ------------------------------------------------------------------------ views after a write
def _refresh(w, base, prev=None):
    """Make the view ``w`` a view of ``base``'s current node (the view ops again, recorded), with ``prev`` (default:
    a snapshot of its node) as its previous version."""
    if prev is None:
        prev = snapshot(w)
        _move_hooks(w, prev)
    if _state.enabled:
        fresh = w._extra["view"][1](base)
    else:  # (a view used under no_grad where its node is needed: forward AD, grad_fn)
        with enable_grad():
            fresh = w._extra["view"][1](base)
    _become(w, fresh, prev)


def _refresh_views(base, refs, unrecorded=True):
    """Make every live view of ``base`` in ``refs`` (weak references) that is stale (``_is_stale``), or not recorded
    if ``unrecorded``, a view of the base's current node."""
    for ref in list(refs):
        w = ref()
        if w is not None and w._extra["view"][0] is base and (_is_stale(w) or unrecorded and w._vjps is None):
            _refresh(w, base)


def _after_write(base, first):
    """After ``base`` took a new node in a write (``first``: it did not require grad before): refresh all its views
    now if ``first`` or under forward AD (their tangents), else only those made under no_grad, and let the others be
    refreshed when next used."""
    extra = base._extra
    views = extra.get("views") if extra else None
    if not views:
        return
    if first or _tensor_mod._FW:
        _refresh_views(base, views)
        return
    loose = extra.get("loose")
    if loose:  # (refreshed, they are recorded views as the others: the list keeps only those still unrecorded)
        with _prune_lock:  # (only the part scanned is replaced, as in _prune: a view appended meanwhile stays)
            n = len(loose)
            loose[:n] = [r for r in itertools.islice(loose, n) if (w := r()) is not None and w._vjps is None]
        _refresh_views(base, loose)
    may_be_stale(base)


def may_be_stale(base):
    """List ``base`` among the bases whose views may be stale (``_is_stale``) and set ``tensor._STALE``."""
    with _stale_lock:  # (set after the base is listed: _sweep clears the flag only when no base is listed)
        _stale_bases[id(base)] = weakref.ref(base)
        _tensor_mod._STALE = True


_stale_bases = {}   # id(base) -> weak reference: the bases whose views a write may have left on an earlier node
_stale_lock = threading.Lock()
_SWEEP = 4096   # _refresh_inputs calls between two sweeps of _stale_bases, at least
_SWEEP_PER_VIEW = 2   # and at least this many per view the last sweep looked at (a base with 100,000 live views
_calls = [0, 0]       # scanned every 4,096 ops cost them 12 us each): [calls since the last sweep, its views]


def _is_stale(w):
    """Whether ``w`` is a recorded view of a base that took a newer node (in a write) than ``w``'s; or of a base that
    no longer requires grad (``detach_``) and was written since ``w``'s node was made: ``w`` then reads values its
    node does not describe (PyTorch rebuilds it from the detached base, off the graph)."""
    extra = w._extra
    info = None if extra is None else extra.get("view")
    if info is None or w._vjps is None:
        return False
    base = info[0]
    if base._vjps is not None:
        return base._seq > w._seq
    if base._requires_grad:  # (a leaf: written only under no_grad, which leaves its views' nodes, as PyTorch's)
        return False
    entry = _versions._entry(base.data)
    return entry is not None and bool(entry.seqs) and entry.seqs[-1] > w._seq


def refresh(w):
    """``w``, made a view of its base's current node if a write left it on an earlier one (see the module's
    docstring); any other tensor as it is."""
    if _is_stale(w):
        _refresh(w, w._extra["view"][0])
        _versions.moved()  # nodes recorded before hold w and must reach its earlier version
    return w


def refresh_views(base):
    """Refresh every live view of ``base`` a write left on its earlier node, before ``base`` loses that node's successor
    (``detach_``): afterwards ``_is_stale`` could no longer tell them apart, and they would keep differentiating the
    values the write replaced."""
    views = base._extra.get("views") if base._extra else None
    if views:
        _refresh_views(base, views, unrecorded=False)   # (detach_ then marks the versions moved)


def _refresh_inputs(parents):
    """``tensor._record``'s hook while ``tensor._STALE`` is set: refresh the stale views among an op's inputs
    before the op records them. Every _SWEEP calls, the flag is cleared if no stale view is left."""
    for p in parents:
        if isinstance(p, Tensor) and p._extra is not None:
            refresh(p)
    _calls[0] += 1
    if _calls[0] >= _SWEEP and _calls[0] >= _SWEEP_PER_VIEW * _calls[1]:
        _calls[0] = 0
        _calls[1] = _sweep()


def _sweep():
    """Drop the bases none of whose live views is stale from _stale_bases; clear ``tensor._STALE`` if none is left.
    Returns the number of views looked at."""
    seen = 0
    with _stale_lock:  # (a write lists its base under the lock after it made the views stale)
        for key, ref in list(_stale_bases.items()):
            base = ref()
            views = () if base is None else base._extra.get("views") or ()
            seen += len(views)
            if not any(w is not None and w._extra["view"][0] is base and _is_stale(w)
                       for w in [r() for r in list(views)]):
                del _stale_bases[key]
        if not _stale_bases:
            _tensor_mod._STALE = False
    return seen


_tensor_mod._refresh_inputs = _refresh_inputs
