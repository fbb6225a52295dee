"""The backward pass: topological order, gradient accumulation, graph release.

Two paths share one set of VJP formulas (the ``_vjps`` stored on each tensor):

* plain (``create_graph=False``): VJPs get NumPy arrays and run under no_grad, so the
  backward pass is raw NumPy;
* differentiable (``create_graph=True``): VJPs get Tensors (the op's inputs and output),
  so the NumPy calls inside them dispatch to npgrad ops through ``__array_ufunc__`` /
  ``__array_function__`` and the backward pass records a graph of its own.
"""
import numpy as np

from ..tensor import Tensor, _wrap
from .grad_mode import _state


class _Released(tuple):
    """Marker stored in ``_vjps`` once a tensor's graph has been freed by backward."""


RELEASED = _Released()


def sum_to(g, shape):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting. Works on arrays and Tensors."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead:
        g = g.reshape(shape)
    return g


def toposort(roots):
    """Tensors reachable from ``roots`` that need a gradient, inputs before their results."""
    order = []
    seen = set()
    stack = [(r, False) for r in roots if r.requires_grad]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if t in seen:
            continue
        seen.add(t)
        stack.append((t, True))
        parents = t._parents
        if parents:
            for p in parents:
                if isinstance(p, Tensor) and p.requires_grad and p not in seen:
                    stack.append((p, False))
    return order


def _seed(root, grad, create_graph):
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for one-element outputs; backward() was called on "
                f"a tensor of shape {root.shape}: pass a gradient of that shape, e.g. t.backward(np.ones_like(t.data))")
        g = np.ones_like(root.data)
    else:
        g = grad.data if isinstance(grad, Tensor) and not create_graph else grad
        if isinstance(g, Tensor):
            if g.shape != root.shape:
                raise ValueError(f"backward: gradient has shape {g.shape} but the tensor has shape {root.shape}")
            return g if g.dtype == root.dtype else g.astype(root.dtype)
        g = np.asarray(g)
        if g.shape != root.shape:
            raise ValueError(f"backward: gradient has shape {g.shape} but the tensor has shape {root.shape}")
        if g.dtype != root.dtype:
            g = g.astype(root.dtype)
    return _wrap(g) if create_graph else g


def _accumulate_leaf(t, g, owned, create_graph):
    """Add ``g`` into ``t.grad`` without ever aliasing an array held elsewhere."""
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if isinstance(t.grad, Tensor):  # left over from a create_graph pass
        t.grad = t.grad.data
    if t.grad is None:
        # A VJP may hand the same array to several inputs (add), or a view of one: copy then.
        if g.base is not None or id(g) in owned or not g.flags.writeable:
            g = g.copy()
        owned.add(id(g))
        t.grad = g
    else:
        t.grad = t.grad + g


def run_backward(roots, grads, retain_graph, create_graph, capture=None):
    """Propagate ``grads`` from ``roots``. Leaves accumulate into ``.grad`` unless ``capture``
    (a dict tensor -> None) is given, in which case their gradients are returned in it."""
    pending = {}
    for r, g in zip(roots, grads):
        if r.requires_grad:
            pending[r] = pending[r] + g if r in pending else g
    order = toposort(roots)
    owned = set()
    prev_mode = _state.enabled
    _state.enabled = bool(create_graph)
    try:
        for t in reversed(order):
            g = pending.pop(t, None)
            vjps = t._vjps
            if g is None:
                if not retain_graph and vjps is not None:
                    _release(t)
                continue
            extra = t._extra
            if extra is not None:
                for hook in extra.get("hooks", ()):
                    out = hook(g)
                    if out is not None:
                        g = out
            if capture is not None and t in capture:
                capture[t] = g if capture[t] is None else capture[t] + g
                if vjps is None:
                    continue
            if vjps is None:  # a leaf
                if capture is None:
                    _accumulate_leaf(t, g, owned, create_graph)
                continue
            if vjps is RELEASED:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time (through '{t._op}'): its saved values "
                    f"were freed by the first backward. Pass retain_graph=True to the first backward() if you "
                    f"need to call it twice.")
            if extra is not None and extra.get("retain") and capture is None:
                _accumulate_leaf(t, g, owned, create_graph)
            parents = t._parents
            if create_graph:
                args, out = parents, t
            else:
                args, out = t._saved, t.data
            for p, vjp in zip(parents, vjps):
                if isinstance(p, Tensor) and p.requires_grad:
                    gp = vjp(g, out, *args)
                    if gp.shape != p.data.shape:
                        gp = sum_to(gp, p.data.shape)
                    if gp.dtype != p.data.dtype:
                        gp = gp.astype(p.data.dtype)
                    prev = pending.get(p)
                    pending[p] = gp if prev is None else prev + gp
            if not retain_graph:
                _release(t)
    finally:
        _state.enabled = prev_mode


def _release(t):
    t._parents = None
    t._saved = None
    t._vjps = RELEASED


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute gradients of ``tensors`` and accumulate them into the leaves' ``.grad``."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, (Tensor, np.ndarray)):
        grad_tensors = (grad_tensors,)
    if retain_graph is None:
        retain_graph = create_graph
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError(
                "backward: the tensor does not require grad and has no graph (was it computed under no_grad, "
                "or only from constants / requires_grad=False tensors?)")
    seeds = [_seed(t, g, create_graph) for t, g in zip(tensors, grad_tensors)]
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        capture = dict.fromkeys(inputs)
        run_backward(tensors, seeds, retain_graph, create_graph, capture)
        for t in inputs:
            if capture[t] is not None:
                _accumulate_leaf(t, capture[t], set(), create_graph)
        return
    run_backward(tensors, seeds, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated (as in PyTorch).

    With ``create_graph=True`` the returned gradients are Tensors with a graph of their own,
    so they can be differentiated again.
    """
    single = isinstance(inputs, Tensor)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,)
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad: an output does not require grad (no input it depends on requires grad)")
    seeds = [_seed(t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    capture = dict.fromkeys(inputs)
    run_backward(outputs, seeds, retain_graph, create_graph, capture)
    result = []
    for t in inputs:
        g = capture[t]
        if g is None and not allow_unused:
            raise RuntimeError("grad: one of the inputs was not used to compute the outputs; pass allow_unused=True "
                               "to get None for it")
        if g is not None and not isinstance(g, Tensor):
            g = _wrap(g)
        result.append(g)
    return tuple(result)
