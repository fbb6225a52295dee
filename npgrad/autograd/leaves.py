"""What backward does at the leaves: accumulating into ``.grad`` (as PyTorch's AccumulateGrad), a tensor's
hooks, and finishing a leaf early for its post-accumulate hooks (``_EarlyLeaves``). Used by engine.py."""
import sys
import threading

import numpy as np

from ..tensor import Tensor, _wrap
from . import versions as _versions
from .lazy_grads import _LAZY, NoGrad

_leaf_lock = threading.Lock()   # two threads' backward passes may share a leaf
# One backward pass at a time (engine.run_backward): a pass keeps a node's pending gradient in its ``_pending``
# slot, which two threads' passes through a shared part of a graph (retain_graph=True) would mix (one pass
# getting both seeds' gradients, the other none). Reentrant: a hook or a checkpoint's recomputation runs a pass.
_graph_lock = threading.RLock()


def _recompute():
    from .engine import Recompute   # (engine imports this module)
    return Recompute


def _base_refs_when_alone():
    """``sys.getrefcount(g.base)`` in _accumulate's expression for a view ``g`` whose base nothing else holds."""
    base = np.empty(2)
    view = base[1:]
    del base
    return (lambda g: sys.getrefcount(g.base))(view)


_BASE_ALONE = _base_refs_when_alone()


def _accumulate(t, g, owned, create_graph):
    """Add ``g`` into ``t.grad`` without ever aliasing an array held elsewhere (and always as an ndarray:
    NumPy returns scalars from ufuncs on 0-d arrays). A ``.grad`` that is a Tensor (the user's, or left by a
    create_graph pass) is added into in place, as PyTorch's AccumulateGrad does: a reference to it stays current."""
    if create_graph:
        if t._grad is None:  # a copy (through the graph), as PyTorch clones: the same gradient may reach several
            from ..ops.arrays import copy  # leaves (add) or be the seed a user passed, and a later pass adds into
            t._grad = copy(g)              # this .grad in place
        else:
            t._grad = t._grad + g
        return
    prev = t._grad
    if isinstance(prev, Tensor):   # (a non-leaf's retained .grad is replaced, as PyTorch's retain_grad does)
        data = prev.data
        if t._vjps is None and data.__class__ is np.ndarray and data.flags.writeable and isinstance(g, np.ndarray) and \
                g.shape == data.shape and g.dtype == data.dtype:
            np.add(data, g, out=data)
            _versions.bump(data, "backward's accumulation into .grad")  # (a graph may have saved it)
            return
        prev = data
    if prev is None:
        # A VJP may hand the same array to several inputs (add), or a view of one: copy then. A view whose
        # base nothing else refers to (a convolution's input gradient, a transposed view of its own buffer)
        # aliases nothing and is kept as it is.
        if isinstance(g, np.generic):
            g = np.array(g)
        elif id(g) in owned or not g.flags.writeable or (g.base is not None and (
                g.base.__class__ is not np.ndarray or sys.getrefcount(g.base) > _BASE_ALONE)):
            g = g.copy()
        owned.add(id(g))
        t._grad = g
    elif prev is t._grad and isinstance(prev, np.ndarray) and prev.flags.writeable and isinstance(g, np.ndarray):
        # Into the existing .grad, as PyTorch's AccumulateGrad: a reference a user took to it stays current.
        np.add(prev, g, out=prev)
    else:
        s = prev + g
        t._grad = np.array(s) if isinstance(s, np.generic) else s


def _no_grad_leaf(leaf, capture):
    """A leaf that got no gradient but Functions' None: as PyTorch, its hooks are called with None (their
    results ignored here) and, when backward accumulates, its post-accumulate hooks; its .grad is left as it is."""
    extra = leaf._extra
    if capture is not None and leaf not in capture:
        return
    for hook in list(extra.get("hooks", ())):
        hook(None)
    if capture is None and "post_hooks" in extra:
        _post_accumulate(leaf)


def _post_accumulate(leaf):
    for hook in list(leaf._extra["post_hooks"]):
        hook(leaf)


class _EarlyLeaves(dict):
    """The ``leaves`` dict of a backward pass through a graph in which some leaf has a post-accumulate hook.

    Such a leaf's gradient is stored into ``.grad`` (and its hooks called) as soon as it is complete, not at
    the end of the pass, so that ``DistributedDataParallel`` can start communicating it while backward goes on.
    A pre-pass over the graph counts the edges through which each hooked leaf gets a gradient (the same edges
    run_backward follows: parents that are Tensors requiring grad); every ``leaves[p] = g`` counts one down,
    and at zero the leaf is finished here instead of being stored. run_backward then adds every leaf gradient
    with ``leaves[p] = ...`` (never through a list), so each edge is counted exactly once."""

    __slots__ = ("remaining", "owned", "create_graph")

    @classmethod
    def for_graph(cls, roots, owned, create_graph):
        """An _EarlyLeaves for the graph behind ``roots``, or None if none of its leaves has a post hook."""
        remaining = {}
        seen = set()
        stack = []
        for r in roots:
            if r._requires_grad:
                stack.append(r)
        while stack:
            t = stack.pop()
            if t._vjps is None:  # a leaf: one edge (or a root)
                extra = t._extra
                if extra is not None and "post_hooks" in extra:
                    remaining[t] = remaining.get(t, 0) + 1
                continue
            if id(t) in seen or t._parents is None:
                continue
            if t._vjps.__class__ is _recompute():  # a checkpoint: its edges are only known once it is recomputed,
                return None                       # so leaves are accumulated at the end (no early hooks)
            seen.add(id(t))
            # the inputs backward will follow (as_of(t) in run_backward) when t's inputs changed in place since
            for p in (t._parents if t._seq > _versions.horizon else _versions.inputs_as_of(t)):
                if isinstance(p, Tensor) and p._requires_grad:
                    stack.append(p)
        if not remaining:
            return None
        self = cls()
        self.remaining, self.owned, self.create_graph = remaining, owned, create_graph
        return self

    def __setitem__(self, leaf, g):
        left = self.remaining.get(leaf)
        if left is None:
            dict.__setitem__(self, leaf, g)
        elif left > 1:
            self.remaining[leaf] = left - 1
            dict.__setitem__(self, leaf, g)
        else:  # the last edge: finish the leaf now, as the end of run_backward would
            del self.remaining[leaf]
            self.pop(leaf, None)
            if g.__class__ in _LAZY:
                if g.__class__ is NoGrad:
                    _no_grad_leaf(leaf, None)
                    return
                g = g.dense()
            g = _apply_hooks(leaf._extra, g)
            with _leaf_lock:
                _accumulate(leaf, g, self.owned, self.create_graph)
            _post_accumulate(leaf)


def _apply_hooks(extra, g):
    hooks = extra.get("hooks")
    if not hooks:
        return g
    plain = not isinstance(g, Tensor)  # hooks get a Tensor on either path, as in PyTorch
    given = g
    refs = sys.getrefcount(given) if plain else 0
    for hook in list(hooks):  # (a snapshot: a hook may remove itself or another one, which still runs this pass)
        out = hook(_wrap(g) if plain else g)
        if out is not None:
            if plain:
                out = out.data if isinstance(out, Tensor) else np.asarray(out)
                if out is not g:  # it may be held elsewhere (another tensor's data): a .grad, which backward adds
                    out = out.copy()  # into in place, must not alias it (PyTorch clones it too)
            if out.shape != g.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                                   f"{out.shape} for a tensor of shape {g.shape}")
            if out.dtype != g.dtype:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} changed the gradient's dtype from "
                                   f"{g.dtype} to {out.dtype}; return it as {g.dtype}")
            g = out
    out = None
    if plain and g is given and sys.getrefcount(g) > refs:
        # A hook kept the gradient (or the Tensor over it): what goes on must be a copy, as PyTorch's
        # AccumulateGrad clones a gradient used elsewhere. It may become a .grad that the next backward adds
        # into in place (a small reduction's gradient is a new array: unreduce), changing the kept one.
        g = g.copy()
    return g
