"""Which tensors of a graph lie on a path to the tensors ``grad()`` / ``backward(inputs=...)`` asks for.

PyTorch runs only the part of the graph that leads from the outputs to the requested inputs: the other
branches' backward functions are not called, and neither are the hooks of tensors on them. The engine
(``run_backward``) does the same when given this set: a gradient is handed only to a parent in it. This
also saves the work of those branches, e.g. the weight gradients of a network differentiated with respect
to its input.
"""
from ..tensor import Tensor
from . import versions as _versions


class _Released(tuple):
    """The class of ``RELEASED``."""


# What a node's ``_vjps`` holds once a backward pass without retain_graph has freed it (its ``_parents`` and
# ``_saved`` are None): what lay behind it is no longer known (engine.py)
RELEASED = _Released()


def on_paths_to(roots, targets, recompute, seen=None):
    """The ids of the tensors through which gradient flows from ``roots`` to a tensor of ``targets`` (which
    are included), or None when the graph holds a node whose inputs were replaced beyond recovery, or a node an
    earlier backward freed (``RELEASED``) other than the one target: the whole graph is then run, as without
    pruning, and the pass reports such a node when it reaches it. (Taken as a dead end, a freed node would lose
    the gradient of every target behind it without a word: PyTorch keeps a freed node's edges.) An activation
    checkpoint's node (``recompute``: its ``_vjps`` class) counts as on a path: its recomputed graph, only made
    during the backward pass, may use any earlier tensor; run_backward adds the paths through that graph once it
    is recomputed. ``seen``, if given, is a set that receives the ids of every tensor walked (those the pass may
    still test: see run_backward)."""
    horizon = _versions.horizon
    seen = set() if seen is None else seen
    nodes = []
    stack = [r for r in roots if isinstance(r, Tensor) and r._requires_grad]
    freed_target = len(targets) == 1 and next(iter(targets))  # (the one freed node the pass may stop at)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        vjps = t._vjps
        if vjps is None:  # a leaf
            continue
        if t._parents is None:  # freed by an earlier backward: the one target is captured there; any other
            if t is freed_target:  # node may lead to a target (run_backward raises if the pass reaches it)
                continue
            return None
        if vjps.__class__ is recompute:
            nodes.append((t._seq, t, None))
            continue
        if t._seq > horizon:
            parents = t._parents
        else:  # (as run_backward reads them; whether the values its VJPs read were overwritten is only checked
            try:  # if the pass gets there: a node off the paths may have lost them, as in PyTorch)
                parents = _versions.inputs_as_of(t)
            except RuntimeError:  # replaced beyond recovery: the pass itself reports it if it gets there
                return None
        nodes.append((t._seq, t, parents))
        for p in parents:
            if isinstance(p, Tensor) and p._requires_grad and id(p) not in seen:
                stack.append(p)
    needed = {id(t) for t in targets}
    nodes.sort(key=lambda node: node[0])  # oldest first: a node's parents are older than it
    for _, t, parents in nodes:
        if id(t) not in needed and (parents is None or any(id(p) in needed for p in parents)):
            needed.add(id(t))
    return needed


def extend_paths(on_path, outs, targets, recompute):
    """Add to ``on_path`` the paths to ``targets`` through the graph a checkpoint has just recomputed (from its
    outputs ``outs``); False if that graph holds a node replaced beyond recovery. An id of on_path that was a
    tensor freed since may now be one of the recomputed graph's (ids are reused): every id walked is reset."""
    walked = set()
    more = on_paths_to(outs, targets, recompute, walked)
    if more is None:
        return False
    on_path -= walked
    on_path |= more
    return True
