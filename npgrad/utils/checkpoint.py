"""Activation checkpointing, as ``torch.utils.checkpoint``: ``checkpoint(function, *args)`` keeps only the
inputs and outputs of ``function``, not its intermediate activations, and runs it again during backward, with the
random generator's state of the first run (dropout draws the same masks), to get the gradients of its inputs and
of the parameters it uses. Memory for compute: one more forward pass of each checkpointed segment. Both of
PyTorch's variants exist; ``use_reentrant`` should be passed explicitly (without it: PyTorch 2.13's warning and
the reentrant variant, as PyTorch does).

``use_reentrant=False`` (the variant PyTorch recommends): the checkpoint records one node whose inputs are the
tensor arguments. When backward reaches it, the engine runs ``function`` again on the same input tensors with
grad mode on and continues through the recomputed graph within the same pass (autograd/engine.py: Recompute).
Hence ``npg.autograd.grad``, ``backward(inputs=...)``, hooks, ``retain_graph=True`` (each backward recomputes)
and ``create_graph=True`` (double backward, gradient penalties) work through it, with exact gradients; so do
nested checkpoints, keyword arguments for ``function``, and inputs that do not require grad (the parameters
still get gradients). As in PyTorch, outputs that do not depend on anything requiring grad, and tensors that
existed before the call (an input returned as it is), are returned as they are. Differences from PyTorch:

* the first run records ``function``'s graph (so that an output requires grad exactly when PyTorch's does) and
  drops it when ``function`` returns (PyTorch drops each saved tensor as it is saved): a segment's intermediates
  are alive until its end in forward, as they are during its recomputation in backward, so the peak memory is
  the same; after forward only the inputs and outputs are kept;
* the recomputation is checked on ``function``'s outputs (``determinism_check="default"``: their number,
  shapes and dtypes; PyTorch compares the tensors the ops save) and an input modified in place since the
  checkpoint is an error (as PyTorch's), and so is a tensor ``function`` reads without taking it as an argument
  (a closure, a parameter) modified in place between the forward pass and the recomputation (PyTorch
  differentiates the new values: a wrong gradient); only tensors in (nested) lists, tuples, namedtuples and dicts are
  checkpointed: one inside another object keeps the graph of the first run (right gradients, no memory saved);
* under forward-mode AD (dual tensors) and ``vmap``, ``function`` just runs, its graph kept (no memory saved);
* ``context_fn()`` returns two context managers, entered around the first run and around every
  recomputation (there are no dispatch modes: selective checkpointing's contexts do not exist); ``debug``
  is accepted and adds nothing to the errors; ``early_stop`` is accepted (the whole function is recomputed);
* post-accumulate hooks (``DistributedDataParallel``) through a checkpoint run at the end of backward, not as
  soon as each gradient is complete;
* a ``function`` that overwrites a value its own backward reads (``h = relu(x); h += 1``: ReLU reads its output)
  raises, as it does without the checkpoint; PyTorch 2.13 raises only without it, and with it differentiates the
  overwritten value (a wrong gradient).

``use_reentrant=True``: PyTorch's reentrant variant. ``function`` runs under no_grad and, in backward, its
recomputation runs a backward pass of its own, which accumulates the parameters' gradients into ``.grad``.
Hence, as in PyTorch's reentrant variant:

* ``npg.autograd.grad`` and ``backward(inputs=...)`` through a checkpoint raise (they return gradients
  instead of accumulating them); so does ``create_graph=True``; keyword arguments for ``function``,
  ``context_fn`` and ``debug`` are refused;
* with no input that requires grad, PyTorch's reentrant variant returns outputs without a graph (the
  parameters get no gradient, with a warning). npgrad then runs ``function`` normally instead, recording its
  graph: the gradients are right and only the memory is not saved.
"""
import contextlib
import copy
import sys
import warnings
import weakref

import numpy as np

from .._pytree import _flatten, _unflatten
from ..autograd import engine as _engine
from ..autograd import versions as _versions
from ..autograd.lazy_grads import hand_on
from ..autograd.function import Function
from ..autograd.grad_mode import _state, enable_grad
from ..random import get_generator
from ..tensor import Exact, Tensor, _next_seq

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "noop_context_fn"]

_CAPTURE_ERROR = ("Checkpointing is not compatible with .grad() or when an `inputs` parameter is passed to .backward(). "
                  "Please use .backward() and do not pass its `inputs` argument.")
_NO_USE_REENTRANT = (   # PyTorch 2.13's words; it then runs the reentrant variant, and so does npgrad
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch 2.9, "
    "calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is recommended, but if "
    "you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants.")
_NO_USE_REENTRANT_SEQ = (
    "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed explicitly. In "
    "version 2.9 we will raise an exception if use_reentrant is not passed. use_reentrant=False is recommended, but "
    "if you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants.")


class CheckpointError(RuntimeError):
    """The recomputation of a checkpointed function differs from its first run (PyTorch's CheckpointError)."""


def noop_context_fn():
    """``context_fn``'s default: no context around the first run nor around the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def _saved_rng_state(preserve):
    """The random generator's state at the first run (dropout's masks), or None when it is not preserved."""
    return copy.deepcopy(get_generator().bit_generator.state) if preserve else None


@contextlib.contextmanager
def _rng_state(state):
    """Run the recomputation with the generator at ``state`` (None: as it is), and put it back afterwards."""
    if state is None:
        yield
        return
    gen = get_generator()
    current = gen.bit_generator.state
    gen.bit_generator.state = state
    try:
        yield
    finally:
        gen.bit_generator.state = current


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, function, preserve_rng_state, kwargs, *args):
        ctx.function, ctx.kwargs, ctx.args = function, kwargs, args
        ctx.rng_state = _saved_rng_state(preserve_rng_state)
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])   # (version-checked in backward)
        return function(*args, **kwargs)

    @staticmethod
    def backward(ctx, *grads):
        if getattr(_engine._tls, "capturing", False):
            raise RuntimeError(_CAPTURE_ERROR)
        if _state.enabled:
            raise RuntimeError("checkpoint: differentiating the gradients (create_graph=True) through a checkpoint is "
                               "not supported; call backward() without create_graph")
        saved = iter(ctx.saved_tensors)
        inputs = []
        for a in ctx.args:
            if isinstance(a, Tensor):
                s = next(saved)
                leaf = Tensor(s.data, requires_grad=a._requires_grad)
                inputs.append(leaf)
            else:
                inputs.append(a)
        with _rng_state(ctx.rng_state), enable_grad():
            outputs = ctx.function(*inputs, **ctx.kwargs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o._requires_grad and g is not None]
        if pairs:
            _engine.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, None) + tuple(x.grad if isinstance(x, Tensor) and x._requires_grad else None
                                          for x in inputs)


# ------------------------------------------------------------------ use_reentrant=False
_NODE_DATA = np.empty(0)   # the checkpoint node's own value (its outputs are separate nodes)
_versions.reads("checkpoint", "")   # an output's VJP reads nothing: modifying the output in place is fine


class _Grads:
    """The gradients of a checkpoint's outputs on their way to its node: output position -> gradient. (Shape
    and dtype are the node's, for the engine's checks when anomaly mode has replaced the outputs' VJPs.)"""

    __slots__ = ("grads",)
    __array_ufunc__ = None
    shape, dtype = _NODE_DATA.shape, _NODE_DATA.dtype

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        merged = dict(self.grads)
        for k, g in other.grads.items():
            merged[k] = g if k not in merged else merged[k] + g
        return _Grads(merged)


def _output_vjp(k):
    def vjp(g, y, node):
        return _Grads({k: g})
    return vjp


def _node(data, op, parents, saved, vjps):
    """A recorded tensor, built as tensor._record builds one (not through it: anomaly mode wraps _record's VJPs
    and forward AD's tangents, neither of which applies to these nodes)."""
    tensor_module = sys.modules["npgrad.tensor"]
    if tensor_module._STALE:  # (as _record: an input view a write left on its base's earlier node is refreshed)
        tensor_module._refresh_inputs(parents)
    t = object.__new__(Tensor)
    t.data, t._grad, t._requires_grad, t._parents, t._saved, t._vjps, t._op = data, None, True, parents, saved, vjps, op
    t._seq = _next_seq()
    t._pending = t._extra = None
    return t


def _meta(flat):
    return [(k, o.shape, o.dtype) for k, o in enumerate(flat) if isinstance(o, Tensor)]


class _Recomputation:
    """What a checkpoint node keeps to run ``function`` again in backward."""

    __slots__ = ("function", "args", "kwargs", "rng_state", "context", "check", "meta", "inputs", "versions", "read")

    def __init__(self, function, args, kwargs, rng_state, context, check, flat, versions):
        self.function, self.args, self.kwargs, self.rng_state, self.context = function, args, kwargs, rng_state, context
        self.check, self.meta = check, _meta(flat)
        self.inputs = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.versions = versions   # the inputs' versions before the first run (function may write into them)
        self.read = ()   # (weak reference, version after the first run) of the other tensors read: _read_from_outside

    def run(self, node, g, create_graph, retain_graph, leaves, heap):
        """Visit the checkpoint's ``node`` in a backward pass (engine.Recompute): recompute ``function`` and hand
        the recomputed outputs the gradients of the first run's (``g``). Returns those outputs."""
        pairs = self._recompute(g.grads)
        for p, gp in pairs:   # (a leaf, an input or a parameter, may stand in place of an output made by function)
            hand_on(p, gp, leaves, heap)
        if not retain_graph:
            node._parents = node._saved = None
            node._vjps = _engine.RELEASED
        return [p for p, _ in pairs]

    def _recompute(self, grads):
        watched = [(a, v, i) for (i, a), v in zip(self.inputs, self.versions)]
        watched += [(t, v, None) for r, v in self.read if (t := r()) is not None]   # (one gone cannot be written)
        for t, v, i in watched:
            now = _versions.version(t.data)
            if now != v:
                raise _modified(t, i, now, v)
        with _rng_state(self.rng_state), enable_grad(), self.context:
            out = self.function(*self.args, **self.kwargs)
        flat, _ = _flatten(out)
        if self.check == "default" and _meta(flat) != self.meta:
            raise CheckpointError(_mismatch(self.meta, _meta(flat)))
        pairs = []
        for k, g in grads.items():
            o = flat[k] if k < len(flat) else None
            if not isinstance(o, Tensor) or o.shape != g.shape:
                raise CheckpointError(_mismatch(self.meta, _meta(flat)))
            if o._requires_grad:
                if o.dtype != g.dtype:   # (determinism_check="none")
                    g = _engine.cast_grad(g, o.dtype)
                pairs.append((o, g))
        return pairs


def _modified(t, i, now, v):
    """The error for a tensor the recomputation would read, modified in place since: argument ``i`` of the checkpoint,
    or (``i`` None) one its function reads from outside (a closure, a parameter), since the forward pass."""
    entry = _versions._entry(t.data)
    op = entry.op if entry else "?"
    if i is not None:
        return RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"argument {i} of a checkpoint ({t.dtype} of shape {t.shape}), written by '{op}', is at version {now}; "
            f"expected version {v} instead. The checkpoint runs its function again on its inputs in backward (so a "
            f"function may not write into its own inputs either): do the in-place operation on a copy (x = "
            f"x.clone()), or after backward.")
    return RuntimeError(
        f"checkpoint: a tensor its function reads without taking it as an argument (a closure, a module's parameter "
        f"or buffer; {t.dtype} of shape {t.shape}) was modified by an inplace operation ('{op}') after the forward "
        f"pass: it is at version {now}; expected version {v} instead. The recomputation in backward would read the "
        f"new values (a wrong gradient): do the in-place operation after backward, or on a copy.")


def _mismatch(before, after):
    if len(before) != len(after) or [k for k, _, _ in before] != [k for k, _, _ in after]:
        return (f"torch.utils.checkpoint: the recomputation returned other outputs than the forward pass: "
                f"{len(before)} tensor(s) at positions {[k for k, _, _ in before]} in forward, {len(after)} at "
                f"positions {[k for k, _, _ in after]} in the recomputation (the function must compute the same "
                f"thing again: see determinism_check).")
    lines = "".join(f"tensor at position {k}:\nsaved metadata: {{'shape': {s}, 'dtype': {d}}}\n"
                    f"recomputed metadata: {{'shape': {s2}, 'dtype': {d2}}}\n"
                    for (k, s, d), (_, s2, d2) in zip(before, after) if (s, d) != (s2, d2))
    return ("torch.utils.checkpoint: Recomputed values for the following tensors have different metadata than "
            f"during the forward pass.\n{lines}")


def _read_from_outside(outputs, start, args):
    """``(weak reference, version)`` for each tensor that the first run's graph behind ``outputs`` read and that
    existed before it (creation number below ``start``, or a leaf), other than ``args`` (checked apart): a closure or
    a parameter written in place between the forward pass and the recomputation would be read with its new values.
    Weak: a constant the run made itself (a leaf too) goes with the run's graph, as checkpointing means it to."""
    skip = {id(a) for a in args if isinstance(a, Tensor)}
    seen, found, stack = set(skip), [], list(outputs)
    while stack:
        t = stack.pop()
        for p in t._parents or ():
            if not isinstance(p, Tensor) or id(p) in seen:
                continue
            seen.add(id(p))
            if p._vjps is None or p._seq < start:
                found.append((weakref.ref(p), _versions.version(p.data)))
            else:
                stack.append(p)
    return found


def _checkpoint_without_reentrant(function, args, kwargs, preserve_rng_state, context_fn, determinism_check):
    tensor_module = sys.modules["npgrad.tensor"]
    if not _state.enabled or tensor_module._FW or tensor_module._VMAP:
        return function(*args, **kwargs)   # no graph wanted; or tangents / batching, which flow through as they are
    contexts = context_fn()
    if not (isinstance(contexts, tuple) and len(contexts) == 2):
        raise ValueError(f"checkpoint: context_fn must return a pair of context managers (one around the forward "
                         f"pass, one around the recomputation), not {contexts!r}")
    forward_context, recompute_context = contexts
    rng_state = _saved_rng_state(preserve_rng_state)
    versions = [_versions.version(a.data) for a in args if isinstance(a, Tensor)]
    start = _next_seq()
    with forward_context:
        out = function(*args, **kwargs)
    flat, spec = _flatten(out)
    picked = [k for k, o in enumerate(flat) if isinstance(o, Tensor) and o._requires_grad and o._vjps is not None
              and o._seq > start]   # made by function with a graph (not an input or a parameter returned as it is)
    if not picked:
        return out
    rec = _Recomputation(function, args, kwargs, rng_state, recompute_context, determinism_check, flat, versions)
    rec.read = _read_from_outside([flat[k] for k in picked], start, args)
    node = _node(_NODE_DATA, "checkpoint_recompute", tuple(a for a in args if isinstance(a, Tensor)), (),
                 _engine.Recompute(rec.run))
    for k in picked:   # each output: a node of its own, whose gradient goes to slot k of the checkpoint node's
        flat[k] = _node(flat[k].data, "checkpoint", (node,), (None,), Exact((_output_vjp(k),)))
    return _unflatten(flat, spec)   # (function's graph, and its intermediates, go with ``out``)


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept (see the module
    docstring for the two variants). ``use_reentrant`` should be passed, as PyTorch asks (without it: PyTorch's
    warning, and the reentrant variant). ``kwargs``, ``context_fn`` and ``debug``: only with
    ``use_reentrant=False``, as in PyTorch; ``determinism_check`` is "default" or "none"."""
    if use_reentrant is None:
        warnings.warn(_NO_USE_REENTRANT, UserWarning, stacklevel=2)
        use_reentrant = True
    if context_fn is None:   # (npgrad's earlier default)
        context_fn = noop_context_fn
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    elif debug and context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if not use_reentrant:
        return _checkpoint_without_reentrant(function, args, kwargs, preserve_rng_state, context_fn,
                                             determinism_check)
    if not _state.enabled or not any(isinstance(a, Tensor) and a._requires_grad for a in args):
        return function(*args)   # (nothing to save, or a graph is needed for the parameters)
    return _Checkpoint.apply(function, preserve_rng_state, {}, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list, or an ``nn.Sequential``) in ``segments`` chunks, each but the last
    checkpointed, as PyTorch's ``checkpoint_sequential`` (its only keyword argument: ``preserve_rng_state``)."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if use_reentrant is None:
        warnings.warn(_NO_USE_REENTRANT_SEQ, UserWarning, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    size = len(functions) // segments

    def run(start, end):
        def forward(x):
            for f in functions[start:end + 1]:
                x = f(x)
            return x
        return forward
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
