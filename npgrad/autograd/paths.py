"""Which tensors of a graph lie on a path to the tensors ``grad()`` / ``backward(inputs=...)`` asks for.

PyTorch runs only the part of the graph that leads from the outputs to the requested inputs: the other
branches' backward functions are not called, and neither are the hooks of tensors on them. The engine
(``run_backward``) does the same when given this set: a gradient is handed only to a parent in it. This
also saves the work of those branches, e.g. the weight gradients of a network differentiated with respect
to its input.
"""
from ..tensor import Tensor
from . import versions as _versions


def on_paths_to(roots, targets, recompute):
    """The ids of the tensors through which gradient flows from ``roots`` to a tensor of ``targets`` (which
    are included), or None when the graph holds an activation checkpoint (``recompute``: its nodes' ``_vjps``
    class), whose recomputed nodes are only made during the backward pass, or a node whose inputs were
    overwritten beyond recovery: the whole graph is then run, as without pruning."""
    horizon = _versions.horizon
    seen, nodes = set(), []
    stack = [r for r in roots if isinstance(r, Tensor) and r._requires_grad]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        vjps = t._vjps
        if vjps is None or t._parents is None:  # a leaf, or a node freed by an earlier backward
            continue
        if vjps.__class__ is recompute:
            return None
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
        if id(t) not in needed and any(id(p) in needed for p in parents):
            needed.add(id(t))
    return needed
