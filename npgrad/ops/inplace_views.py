"""The view registry of npgrad/ops/inplace.py (whose docstring describes views and writes): which tensor is a
view of which base and how to reach it, and each base's list of its live views."""
import itertools
import threading
import weakref

import numpy as np

from ..autograd.grad_mode import _state


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
    # The base's live views, as weak references in a list (a write into the base refreshes them: _refresh_views).
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
            if views is None:
                extra["views"] = [_weakref(out)]
                return _catch_up(base, out)
    views.append(_weakref(out))
    n = len(views)
    if n >= 8 and not n & (n - 1):
        _prune(views)
    return _catch_up(base, out)


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
        from .inplace import _refresh_views  # (inplace imports this module)
        _refresh_views(base, only=out)
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
    return lambda a: step(first(a))


def view_of(out, x, step):
    """``out``, marked as a view of ``x`` if NumPy gave a view (shared memory) rather than a copy."""
    od = out.data
    base = od.base
    if base is not None:
        xd = x.data
        if base is xd or base is xd.base or np.may_share_memory(od, xd):  # (identity first:
            mark_view(out, x, step)  # NumPy points a view at the array that owns the memory; may_share_memory ~0.2 us)
    return out
