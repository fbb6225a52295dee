"""The backward pass: topological order, gradient accumulation, graph release.

Two paths share one set of VJP formulas (the ``_vjps`` stored on each tensor):

* plain (``create_graph=False``): VJPs get NumPy arrays and run under no_grad, so the
  backward pass is raw NumPy;
* differentiable (``create_graph=True``): VJPs get Tensors (the op's inputs and output),
  so the NumPy calls inside them dispatch to npgrad ops through ``__array_ufunc__`` /
  ``__array_function__`` and the backward pass records a graph of its own.
"""
import heapq
import importlib
import threading
import warnings
import weakref

import numpy as np

from .._freeing import before_backward
from .._rowsum import add_reduce
from ..tensor import _F16, Exact, SavesNothing, Tensor, _wrap, passthrough
from . import versions as _versions
from .grad_mode import _state
from .lazy_grads import _BATCH, _BATCH_MAX_SIZE, _LAZY, NoGrad, _batched_sum, _pass_on_no_grad
from .leaves import _EarlyLeaves, _accumulate, _apply_hooks, _graph_lock, _leaf_lock, _no_grad_leaf, _post_accumulate
from .paths import RELEASED, extend_paths, on_paths_to
from .record_layers import Packed

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


def sum_to(g, shape):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting. Works on arrays and Tensors."""
    lead = g.ndim - len(shape)
    if lead:
        g = grad_sum(g, tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = grad_sum(g, axes, True)
    return g


def grad_sum(g, axis, keepdims=False):
    """``g.sum(axis)`` for a gradient (here, and in VJPs: ops/_util.py re-exports it): a float16 array is summed in
    float32 and cast back, as torch (NumPy adds float16 rows one at a time in float16 outside its contiguous pairwise
    loop: a bias's gradient over 70,000 rows was 5% off, tile's over 14,000 copies 2.5%); a Tensor ``g``
    (create_graph) through its ``sum``."""
    if isinstance(g, np.ndarray):  # (a long first axis summed in blocks: npgrad/_rowsum.py)
        if g.dtype == _F16:
            return add_reduce(g, axis, dtype=np.float32, keepdims=keepdims).astype(_F16)
        return add_reduce(g, axis, keepdims=keepdims)
    return g.sum(axis=axis, keepdims=keepdims)


def cast_grad(g, dtype):
    """The gradient ``g`` (an array or a Tensor) as one for an input of ``dtype``. The one place where a
    complex gradient reaching a real input becomes real: its real part (PyTorch's convention, see
    autograd/complex_rules.py)."""
    if g.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
        if g.dtype == dtype:
            return g
    return g.astype(dtype)


def _seed(root, grad, create_graph):
    if grad is None:
        if root.data.dtype.kind == "c":
            raise RuntimeError(f"grad can be implicitly created only for real scalar outputs; backward() was "
                               f"called on a {root.dtype} tensor: take a real loss (e.g. abs(z) ** 2 or z.real) "
                               f"or pass a gradient")
        if root.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for one-element outputs; backward() was called on "
                f"a tensor of shape {root.shape}: pass a gradient of that shape, e.g. t.backward(np.ones_like(t.data))")
        g = np.empty(root.data.shape, root.data.dtype)  # (np.ones / np.ones_like: ~1-2 us more, the same array)
        g.fill(1)
    else:
        g = grad.data if isinstance(grad, Tensor) and not create_graph else grad
        gdt = g.dtype if isinstance(g, (Tensor, np.ndarray, np.generic)) else np.asarray(g).dtype
        if (gdt.kind == "c") != (root.data.dtype.kind == "c"):  # (a cast would drop an imaginary part or invent one)
            raise RuntimeError(f"backward: the gradient of a {root.data.dtype} tensor must be "
                               f"{'complex' if root.data.dtype.kind == 'c' else 'real'}, got {gdt}, as in PyTorch "
                               f"(casting it would drop or invent an imaginary part)")
        if isinstance(g, Tensor):
            if g.shape != root.shape:
                raise ValueError(f"backward: gradient has shape {g.shape} but the tensor has shape {root.shape}")
            # a new node over g (a view) for the same reason as the copy below, g still reached by the graph
            prev, _state.enabled = _state.enabled, True
            try:
                return g.view_as(g) if g.dtype == root.dtype else g.astype(root.dtype)
            finally:
                _state.enabled = prev
        # a copy: the caller may change the array in place and pass it again (retain_graph), and VJPs that
        # share work between a node's inputs key it on the gradient's identity (sdpa, the recurrent steps,
        # autograd.Function), so a new pass must never hand them the same array
        g = np.array(g, dtype=root.dtype)
        if g.shape != root.shape:
            raise ValueError(f"backward: gradient has shape {g.shape} but the tensor has shape {root.shape}")
    return _wrap(g) if create_graph else g


def run_backward(roots, grads, retain_graph, create_graph, capture=None):
    """_run_backward, one pass at a time in the process (leaves.py: _graph_lock)."""
    with _graph_lock:
        _run_backward(roots, grads, retain_graph, create_graph, capture)


def _run_backward(roots, grads, retain_graph, create_graph, capture=None):
    """Propagate ``grads`` from ``roots`` to the leaves.

    Recorded tensors are visited newest first (a heap on their creation number), so a tensor's
    gradient is complete when it is visited; it is then taken from the tensor's ``_pending``
    slot (a slot is cheaper than a dict keyed by tensor), handed to the op's VJPs and dropped. Leaves
    accumulate into ``.grad`` at the end (a leaf with a post-accumulate hook as soon as its gradient is
    complete: see leaves.py: _EarlyLeaves), unless ``capture`` (a dict tensor -> None) asks for the gradients of some
    tensors to be returned in it instead. Callbacks queued during the pass (queue_callback) run last.
    """
    before_backward(roots)  # (npgrad/_freeing.py: the arrays of the roots' inputs that no backward reads)
    # (before any per-thread state is set: nothing to undo if it raises)
    on_path = None if capture is None else on_paths_to(roots, capture, Recompute)
    # ids of arrays a .grad must not alias: the caller's seeds, and arrays already stored in a .grad
    owned = set(map(id, grads))
    leaves = {}    # leaf -> gradient so far
    if _post_hooked.data and capture is None:  # (.data, its dict: a WeakValueDictionary's len() is Python code)  # a leaf of some graph has a post-accumulate hook: leaves.py, _EarlyLeaves
        early = _EarlyLeaves.for_graph(roots, owned, create_graph)
        if early is not None:  # (not ``or``: an empty _EarlyLeaves is falsy)
            leaves = early
    heap = []   # (-creation number, id, tensor): the id breaks ties (an in-place write's node and the tensor
    #             written share a number), so that two Tensors are never compared
    outer_callbacks = getattr(_tls, "callbacks", None)   # those of a backward pass this one runs inside
    _tls.callbacks = callbacks = []   # queue_callback appends here
    outer_capturing = getattr(_tls, "capturing", False)
    _tls.capturing = capture is not None   # (a checkpoint's recomputation refuses it: npgrad/utils/checkpoint.py)
    for r, g in zip(roots, grads):
        if not r._requires_grad:
            continue
        if r._vjps is None:
            leaves[r] = leaves[r] + g if r in leaves else g
        elif r._pending is not None:
            r._pending = r._pending + g
        else:
            r._pending = g
            heapq.heappush(heap, (-r._seq, id(r), r))
    leaf_get = leaves.get
    # (with _EarlyLeaves every leaf gradient must go through leaves[p] = ..., never through a list)
    batch_small = not create_graph and leaves.__class__ is dict
    batch = _BATCH
    push, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
    is_tensor, tensor_type, unbroadcast, exact, ident, ndarray, recompute, packed = isinstance, Tensor, sum_to, \
        Exact, passthrough, np.ndarray, Recompute, Packed  # locals: faster
    saves_nothing = SavesNothing
    if on_path is not None:
        # Only a parent on a path to a requested input gets a gradient (autograd/paths.py): the loop's type
        # test then asks that instead (no tensor is of class _Unmatched, so every parent reaches is_tensor).
        tensor_type = _Unmatched
        is_tensor = lambda p, _: id(p) in on_path  # noqa: E731 (ids of live tensors only)
    horizon = _versions.horizon  # nodes older than the latest in-place op are checked (one test per node)
    prev_mode = _state.enabled
    _state.enabled = bool(create_graph)
    # ``nxt``: a node that became pending while visiting the previous one, kept off the heap. In a
    # chain (the common case) every node has one such input, so the heap is never touched.
    nxt = heappop(heap)[2] if heap else None
    t = None
    try:
        while nxt is not None or heap:
            if nxt is None:
                t = heappop(heap)[2]
            elif heap and heap[0][0] < -nxt._seq:   # a newer node waits on the heap: visit it first
                t = heapreplace(heap, (-nxt._seq, id(nxt), nxt))[2]
                nxt = None
            else:
                t, nxt = nxt, None
            g = t._pending
            t._pending = None
            if g.__class__ is not ndarray and g.__class__ in _LAZY:
                if g.__class__ is NoGrad and t._vjps.__class__ is not recompute:
                    _pass_on_no_grad(t, leaves, heap, tensor_type, is_tensor)
                    if not retain_graph:
                        t._parents = t._saved = None
                        t._vjps = RELEASED
                    continue
                g = g.dense()
            extra = t._extra
            vjps = t._vjps
            if extra is not None:
                g = _apply_hooks(extra, g)
                if capture is not None and t in capture:
                    capture[t] = g if capture[t] is None else capture[t] + g
                    if vjps is RELEASED and on_path is not None:  # the one target, freed by an earlier backward:
                        continue                                  # nothing behind it is asked for (paths.py)
                elif extra.get("retain"):
                    _accumulate(t, g, owned, create_graph)
                if "node_hooks" in extra and vjps.__class__ is not recompute:  # grad_fn.register_hook (graph.py)
                    vjps = _node_hooked(t, vjps, extra["node_hooks"])
            if vjps.__class__ is recompute:  # an activation checkpoint: its graph, recomputed, joins this pass
                outs = vjps.run(t, g, create_graph, retain_graph, leaves, heap)
                horizon = _versions.horizon  # (the recomputation may have written in place)
                if on_path is not None and not extend_paths(on_path, outs, capture, recompute):
                    is_tensor, tensor_type = isinstance, Tensor  # (a node replaced beyond recovery: no more pruning)
                continue
            saved = t._saved
            if saved.__class__ is packed:  # its values went through saved_tensors_hooks' pack (graph.py)
                saved = saved.unpack()
            # inputs modified in place since t was recorded: their versions as of t (or an error)
            parents = t._parents if t._seq > horizon else _versions.as_of(t, saved)
            if create_graph:  # (a join of many inputs reads none of them: ops/_join_vjps.py)
                args, out = (saved if saved.__class__ is saves_nothing else parents), t
            else:
                args, out = saved, t.data
            nargs = len(args)  # (a TypeError on a released node: see below)
            checked = vjps.__class__ is not exact
            n = len(parents)
            if len(vjps) < n:
                n = len(vjps)
            i = 0
            while i < n:  # (for p, vjp in zip(parents, vjps), without zip's ~0.1 us per node)
                p = parents[i]
                vjp = vjps[i]
                i += 1
                if (p.__class__ is tensor_type or is_tensor(p, tensor_type)) and p._requires_grad:
                    if vjp is ident:  # (add's): no call
                        gp = g
                    elif nargs == 2:  # most ops: calling without *args unpacking saves ~0.1 us per VJP
                        gp = vjp(g, out, args[0], args[1])
                    elif nargs == 1:
                        gp = vjp(g, out, args[0])
                    else:
                        gp = vjp(g, out, *args)
                    if checked:  # undo broadcasting and type promotion
                        pd = p.data
                        if gp.shape != pd.shape:
                            gp = unbroadcast(gp, pd.shape)
                        dt = pd.dtype
                        if gp.dtype is not dt and gp.dtype != dt:
                            gp = cast_grad(gp, dt)
                    if p._vjps is None:
                        prev = leaf_get(p)
                        if prev is None:
                            leaves[p] = gp
                        elif prev.__class__ is list:  # a small leaf used many times: see _batched_sum
                            prev.append(gp)
                            if len(prev) == batch:
                                leaves[p] = [_batched_sum(prev)]
                        elif batch_small and 1 < gp.size <= _BATCH_MAX_SIZE:
                            leaves[p] = [prev, gp]
                        else:
                            leaves[p] = prev + gp
                    else:
                        prev = p._pending
                        if prev is not None:
                            p._pending = prev + gp
                        else:
                            p._pending = gp
                            if nxt is None:
                                nxt = p
                            else:
                                push(heap, (-p._seq, id(p), p))
            gp = pd = None  # no stale references: a VJP may reuse a gradient nothing else holds (see inplace.alone),
            #                 and the last parent's array (pd) must not outlive its node (the cnn's peak: ReLU's output)
            if not retain_graph:
                t._parents = t._saved = None
                t._vjps = RELEASED
        t = None  # done (t is not None in ``finally``: a VJP or hook raised)
    except TypeError:
        if t is not None and t._vjps is RELEASED:  # its saved values are gone (_saved is None)
            raise RuntimeError(
                f"Trying to backward through the graph a second time (through '{t._op}'): its saved values "
                f"were freed by the first backward. Pass retain_graph=True to the first backward() if you "
                f"need to call it twice, or .detach() a tensor reused from that graph if no gradient is wanted "
                f"through it (npgrad does not keep a freed node's inputs, so grad() cannot prune that branch "
                f"the way PyTorch does).") from None
        raise
    finally:
        _state.enabled = prev_mode
        _tls.capturing = outer_capturing
        if t is not None:  # a VJP or hook raised: forget what this pass queued
            _tls.callbacks = outer_callbacks
        for _, _, p in heap:  # left over only if a VJP or hook raised
            p._pending = None
        if nxt is not None:
            nxt._pending = None
    try:
        for leaf, g in leaves.items():
            extra = leaf._extra
            if g.__class__ is list:
                g = _batched_sum(g)
            if g.__class__ in _LAZY:
                if g.__class__ is NoGrad:  # (only Functions' None: no gradient, as PyTorch's undefined one)
                    if extra is not None:
                        _no_grad_leaf(leaf, capture)
                    continue
                g = g.dense()
            if capture is not None:
                if leaf in capture:  # (a leaf that is not an input is not reached: its hooks are not called)
                    if extra is not None:
                        g = _apply_hooks(extra, g)
                    capture[leaf] = g if capture[leaf] is None else capture[leaf] + g
            else:
                if extra is not None:
                    g = _apply_hooks(extra, g)
                with _leaf_lock:  # two threads' backward passes may share a leaf: no lost update
                    _accumulate(leaf, g, owned, create_graph)
                if extra is not None and "post_hooks" in extra:
                    _post_accumulate(leaf)
        while callbacks:  # queued by hooks during this pass (queue_callback), in order
            callbacks.pop(0)()
    finally:
        _tls.callbacks = outer_callbacks


def _node_hooked(t, vjps, hooks):
    from .graph import hooked_vjps   # (graph imports this module)
    return hooked_vjps(t, vjps, hooks)


class _Unmatched:
    """A class no tensor has (see run_backward's pruning)."""


class Recompute:
    """The ``_vjps`` of an activation checkpoint's node (``use_reentrant=False``: npgrad/utils/checkpoint.py).
    Visiting the node calls ``run(node, gradient, create_graph, retain_graph, leaves, heap)``, which runs the
    forward again with grad mode on and hands the recomputed outputs their gradients (``_pending`` and the heap,
    or ``leaves``). Their graph is newer than every node still waiting, so the pass goes on through it, newest
    first, into the real inputs and parameters: grad(), inputs=, hooks and create_graph work through it."""

    __slots__ = ("run",)

    def __init__(self, run):
        self.run = run


_tls = threading.local()   # .callbacks: the queue_callback list of the backward pass running in this thread;
#                            .capturing: whether that pass returns gradients (grad, backward(inputs=)) instead of
#                            accumulating into .grad

# Leaves with a post-accumulate hook (Tensor.register_post_accumulate_grad_hook). While none is alive,
# run_backward takes its default path, untouched: leaf gradients are summed in ``leaves`` and stored in
# ``.grad`` after the whole graph has been visited.
_post_hooked = weakref.WeakValueDictionary()   # id(leaf) -> leaf (a WeakSet would compare tensors with ==)


def queue_callback(callback):
    """Run ``callback()`` (no arguments) once the current backward pass has finished: every leaf's ``.grad``
    accumulated and every hook called (PyTorch's ``Variable._execution_engine.queue_callback``). Only callable
    from inside a backward pass (a hook); ``DistributedDataParallel`` waits for its last all-reduce there."""
    stack = getattr(_tls, "callbacks", None)
    if stack is None:
        raise RuntimeError("queue_callback: there is no backward pass running in this thread; call it from a "
                           "hook during backward")
    stack.append(callback)


def _capturing(inputs):
    """The capture dict for ``inputs``; a non-leaf input gets an ``_extra`` dict, as run_backward
    looks for captured tensors only there (so the loop needs no test for them)."""
    if _tensor_mod._STALE:  # (an input view left on its base's earlier node: its current one, as PyTorch's)
        _tensor_mod._refresh_inputs(inputs)
    for t in inputs:
        if isinstance(t, Tensor) and t._vjps is not None and t._extra is None:
            t._extra = {}
    return dict.fromkeys(inputs)


def _roots_and_seeds(outputs, grad_outputs, retain_graph, create_graph, where):
    """``outputs`` as a tuple, their seed gradients, and retain_graph's default (create_graph)."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,)
    else:
        grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) < len(outputs):  # (extra ones are ignored, as PyTorch does)
        raise RuntimeError(f"{where}: got {len(outputs)} tensors and {len(grad_outputs)} gradients (pass one gradient, "
                           f"or None, per output)")
    if _tensor_mod._STALE:  # (a root view left on its base's earlier node: its current one, as PyTorch's)
        _tensor_mod._refresh_inputs(outputs)
    for t in outputs:
        if not t._requires_grad:
            raise RuntimeError(
                f"{where}: the tensor does not require grad and has no graph (was it computed under no_grad, "
                f"or only from constants / requires_grad=False tensors?)")
    seeds = [_seed(t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    return outputs, seeds, create_graph if retain_graph is None else retain_graph


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute gradients of ``tensors`` and accumulate them into the leaves' ``.grad``
    (only into ``inputs``, leaves or not, when given)."""
    tensors, seeds, retain_graph = _roots_and_seeds(tensors, grad_tensors, retain_graph, create_graph, "backward")
    if create_graph:
        warnings.warn(
            "backward(create_graph=True) stores gradients that are Tensors with a graph in .grad: each leaf then "
            "refers to its gradient and the gradient's graph back to the leaf (a reference cycle that holds the "
            "graph's memory until the garbage collector runs). Prefer npg.autograd.grad(..., create_graph=True), "
            "or set the leaves' .grad to None when done.", UserWarning, stacklevel=3)
    if inputs is None:
        run_backward(tensors, seeds, retain_graph, create_graph)
        return
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError("backward: the inputs= argument cannot be empty (leave it out, or None, to accumulate "
                           "into every leaf)")
    capture = _capturing(inputs)
    run_backward(tensors, seeds, retain_graph, create_graph, capture)
    owned = {id(g) for g in seeds}
    for t in capture:  # (each tensor once, even if given twice, as PyTorch)
        if capture[t] is not None:
            with _leaf_lock:  # (another thread's pass may accumulate into the same leaf)
                _accumulate(t, capture[t], owned, create_graph)
            if t._vjps is None and t._extra is not None and "post_hooks" in t._extra:
                _post_accumulate(t)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated (as in PyTorch).

    With ``create_graph=True`` the returned gradients are Tensors with a graph of their own,
    so they can be differentiated again. An input the outputs do not depend on raises, unless
    ``allow_unused=True`` (its gradient is then None) or ``materialize_grads=True`` (zeros). A non-leaf input
    on which ``retain_grad()`` was called also gets its gradient accumulated into ``.grad``, as in PyTorch.
    With ``is_grads_batched=True`` the first dimension of each of ``grad_outputs`` is a batch: one
    vector-Jacobian product per entry, stacked (as PyTorch's; here a loop over the batch).
    """
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: materialize_grads=True cannot be combined with allow_unused=False (it implies "
                         "allow_unused=True)")
    allow_unused = bool(allow_unused or materialize_grads)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if not inputs:
        raise RuntimeError("grad: the inputs argument cannot be empty (pass the tensors to differentiate with "
                           "respect to)")
    for t in inputs:
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    outputs, seeds, retain_graph = _roots_and_seeds(outputs, grad_outputs, retain_graph, create_graph, "grad")
    capture = _capturing(inputs)
    run_backward(outputs, seeds, retain_graph, create_graph, capture)
    result = []
    owned = {id(g) for g in seeds}
    retained = set()
    for t in inputs:
        g = capture[t]
        if g is None:
            if not allow_unused:
                raise RuntimeError("grad: one of the inputs was not used to compute the outputs; pass "
                                   "allow_unused=True to get None for it")
            if materialize_grads:
                g = np.zeros_like(t.data)
        elif t._extra is not None and t._extra.get("retain") and t._vjps is not None and t not in retained:
            retained.add(t)  # (once per tensor, even if it is given twice)
            owned.add(id(g))  # (returned too: the .grad, which later passes add into in place, is a copy)
            with _leaf_lock:
                _accumulate(t, g, owned, create_graph)  # (run_backward only captures the gradient of an input)
        if g is not None and not isinstance(g, Tensor):
            g = _wrap(g)
        result.append(g)
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    """``grad(..., is_grads_batched=True)``: one ``grad`` call per entry of the grad_outputs' first dimension."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    gos = (grad_outputs,) if isinstance(grad_outputs, (Tensor, np.ndarray)) else tuple(grad_outputs or ())
    if len(gos) < len(outputs) or any(g is None for g in gos[:len(outputs)]):
        raise RuntimeError("grad: is_grads_batched=True needs a batched gradient (not None) for every output")
    sizes = {np.shape(g)[0] if np.ndim(g) else None for g in gos[:len(outputs)]}
    if len(sizes) != 1 or None in sizes:
        raise RuntimeError(f"grad: is_grads_batched=True needs grad_outputs whose first dimensions (the batch) are "
                           f"equal, got shapes {[np.shape(g) for g in gos]}")
    n, = sizes
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if n == 0:
        return tuple(_wrap(np.zeros((0,) + t.shape, t.dtype)) for t in inputs)
    keep = create_graph if retain_graph is None else retain_graph
    rows = [grad(outputs, inputs, [g[b] for g in gos], True if b < n - 1 else keep, create_graph, allow_unused,
                 materialize_grads=materialize_grads) for b in range(n)]
    from ..ops import stack
    return tuple(None if rows[0][k] is None else stack([r[k] for r in rows]) for k in range(len(inputs)))


# Tensor.backward's entry (see npgrad/tensor.py; the module by importlib: npgrad.tensor is also a function)
_tensor_mod._engine_backward = backward
