"""PyTorch's ``torch.autograd.graph``: graph nodes (``t.grad_fn``), saved tensor hooks, multi-tensor hooks.

* ``t.grad_fn`` is a :class:`Node` made on access (npgrad's tensors are their own graph nodes, so recording
  costs nothing more). It is a ``str`` equal to the op's npgrad name (``y.grad_fn == "mul"``), and has
  PyTorch's ``name()`` (that same name: npgrad's op names, not PyTorch's ``MulBackward0``), ``next_functions``,
  ``register_hook``, ``register_prehook`` and ``metadata``.
* ``saved_tensors_hooks(pack, unpack)``: while on in a thread, the arrays an op saves for backward go through
  ``pack`` when recorded and ``unpack`` when backward reads them. Off, it costs nothing: turning it on swaps the
  recording function (record_layers.py), and backward tests one class per node.
* ``register_multi_grad_hook(tensors, fn, mode="all" | "any")``.
"""
import threading

import numpy as np

from ..tensor import Tensor, _wrap, passthrough
from .engine import _tls as _engine_tls, queue_callback, sum_to, cast_grad
from .lazy_grads import NoGrad
from .record_layers import Packed, set_layer
from .versions import inputs_as_of

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "register_multi_grad_hook"]


# ---------------------------------------------------------------------------------------- nodes
class Node(str):
    """The node of the op that made a tensor (``t.grad_fn``). A ``str`` equal to the op's npgrad name, so
    ``y.grad_fn == "mul"`` holds; two nodes are equal when they belong to the same tensor."""

    def __new__(cls, tensor, name=None):
        self = str.__new__(cls, (tensor._op or "") if name is None else name)
        self._tensor = tensor
        return self

    def name(self):
        """The op's npgrad name ("mul", "matmul", "sum"...; PyTorch's would be "MulBackward0"...)."""
        return str(self)

    def __eq__(self, other):
        if isinstance(other, Node):
            return self._tensor is other._tensor and str.__eq__(self, other)
        return str.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __repr__(self):
        return f"<{type(self).__name__} {str(self)!r} of a {self._tensor.dtype} tensor of shape {self._tensor.shape}>"

    @property
    def next_functions(self):
        """``((node or None, 0), ...)``, one per input of the op, as PyTorch: an input that requires grad has its
        own ``grad_fn``, or (a leaf) an :class:`AccumulateGrad` node whose ``variable`` is the leaf; None for
        inputs without a gradient. Empty once backward has freed the graph (npgrad forgets the inputs then)."""
        t = self._tensor
        parents = inputs_as_of(t) if t._parents is not None else ()
        return tuple((_node_of(p), 0) for p in parents)

    @property
    def metadata(self):
        """A dict kept with the node (for the user's notes; npgrad does not read it)."""
        extra = self._tensor._extra
        if extra is None:
            extra = self._tensor._extra = {}
        return extra.setdefault("metadata", {})

    def register_prehook(self, fn):
        """Call ``fn(grad_outputs)`` (a 1-tuple) before the node's backward; a returned tuple replaces the
        gradients (a None in it drops the gradient: zeros reach the inputs, where PyTorch's is undefined). Returns a
        handle with ``remove()``."""
        def hook(g):
            r = fn((g,))
            if r is None:
                return None
            r = _one_gradient(r, fn)
            if r is None:   # (None,): the gradient dropped (PyTorch's undefined gradient; npgrad's zeros)
                z = np.zeros(np.shape(g), dtype=g.dtype)
                return _wrap(z) if isinstance(g, Tensor) else z
            return r
        hook._node_prehook = fn
        return _add_hook(self._tensor, "hooks", hook)

    def register_hook(self, fn):
        """Call ``fn(grad_inputs, grad_outputs)`` after the node's backward (one gradient per input, None for
        inputs that need none); a returned tuple replaces ``grad_inputs`` (a None in it: that input gets no
        gradient from this node, as PyTorch's undefined one). Returns a handle with ``remove()``."""
        return _add_hook(self._tensor, "node_hooks", fn)

    def _register_hook_dict(self, *args):
        raise NotImplementedError("npgrad's nodes have no _register_hook_dict")


class AccumulateGrad(Node):
    """The node PyTorch puts in ``next_functions`` for a leaf that requires grad: ``variable`` is the leaf."""

    def __new__(cls, tensor):
        return Node.__new__(cls, tensor, "AccumulateGrad")

    variable = property(lambda self: self._tensor)
    next_functions = ()

    def name(self):
        return "torch::autograd::AccumulateGrad"   # (PyTorch's)

    def register_prehook(self, fn):
        """Call ``fn((grad,))`` before the gradient is accumulated into ``variable.grad``; a returned tuple
        replaces it (a tensor hook on the leaf)."""
        return Node.register_prehook(self, fn)

    def register_hook(self, fn):
        raise RuntimeError("register_hook on an AccumulateGrad node is not supported by npgrad: use "
                           "variable.register_post_accumulate_grad_hook(fn) to run code after a leaf's .grad is "
                           "updated, or register_prehook to see / replace its gradient")


def node_of(t):
    """``t.grad_fn``: the tensor's Node, or None for a leaf."""
    return None if t._vjps is None else Node(t)


def _node_of(p):
    if not isinstance(p, Tensor) or not p._requires_grad:
        return None
    return AccumulateGrad(p) if p._vjps is None else Node(p)


def _one_gradient(r, fn):
    r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
    if len(r) != 1:
        raise RuntimeError(f"prehook {getattr(fn, '__name__', fn)!r} returned {len(r)} gradients for a node with "
                           f"one output")
    return r[0]


def _add_hook(t, key, hook):
    from .handles import _HookHandle
    extra = t._extra
    if extra is None:
        extra = t._extra = {}
    hooks = extra.setdefault(key, [])
    hooks.append(hook)
    return _HookHandle(hooks, hook)


class _Hooked(tuple):
    """A node's VJPs for one backward pass when it has post hooks (Node.register_hook)."""

    __slots__ = ()


def hooked_vjps(t, vjps, hooks):
    """VJPs for ``t`` that compute every input's gradient at the first call, pass them through ``hooks``
    (``hook(grad_inputs, grad_outputs)``) and then hand each input its (possibly replaced) gradient."""
    parents = t._parents
    done = []

    def compute(g, out, args):
        plain = not isinstance(g, Tensor)
        grads = []
        for i, p in enumerate(parents):
            vjp = vjps[i] if i < len(vjps) else None
            if vjp is None or not isinstance(p, Tensor) or not p._requires_grad:
                grads.append(None)
                continue
            gp = g if vjp is passthrough else vjp(g, out, *args)
            if gp.shape != p.shape:
                gp = sum_to(gp, p.shape)
            if gp.dtype != p.dtype:
                gp = cast_grad(gp, p.dtype)
            grads.append(_wrap(gp) if plain else gp)
        grads = tuple(grads)
        outs = (_wrap(g) if plain else g,)
        for hook in list(hooks):
            r = hook(grads, outs)
            if r is None:
                continue
            r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
            if len(r) != len(grads):
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} of node '{t._op}' returned {len(r)} "
                                   f"gradients for an op with {len(grads)} inputs")
            for i, (new, p) in enumerate(zip(r, parents)):
                if new is not None and grads[i] is not None and tuple(np.shape(new)) != p.shape:
                    raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} of node '{t._op}' returned a "
                                       f"gradient of shape {np.shape(new)} for input {i} of shape {p.shape}")
            grads = tuple(None if grads[i] is None else r[i] for i in range(len(grads)))
        res = []
        for gp, p in zip(grads, parents):
            if gp is None:  # no gradient (PyTorch's undefined one): a leaf's .grad is left as it is, as PyTorch;
                if not isinstance(p, Tensor):  # zeros with create_graph (as a Function's None there)
                    res.append(None)
                elif plain:
                    res.append(NoGrad(p.shape, p.dtype))
                else:
                    res.append(_wrap(np.zeros(p.shape, p.dtype)))
            elif plain:
                a = gp.data if isinstance(gp, Tensor) else np.asarray(gp)
                res.append(a.astype(p.dtype) if a.dtype != p.dtype else a)
            else:
                res.append(gp if isinstance(gp, Tensor) else _wrap(np.asarray(gp, p.dtype)))
        done.append(res)

    def make(i):
        def vjp(g, out, *args):
            if not done:
                compute(g, out, args)
            return done[0][i]
        return vjp

    return _Hooked(make(i) for i in range(len(parents)))


# ------------------------------------------------------------------------------ saved tensor hooks
_tls = threading.local()   # .stack: this thread's active (pack, unpack) pairs; .disabled: the message or None
_active = 0                # saved_tensors_hooks contexts active in any thread (the packing layer is on while > 0)
_lock = threading.Lock()


def _packing(inner):
    def _record(data, op, parents, saved, vjps, jvps=None):
        stack = getattr(_tls, "stack", None)
        if stack and saved is not None:
            pack, unpack = stack[-1]
            _tls.stack = None   # ops run by pack itself are not packed
            try:
                saved = Packed(saved, pack, unpack, op, _wrap)
            finally:
                _tls.stack = stack
            for p in parents:  # (a pack may drop the array, which backward(create_graph=True) reads from the input
                # itself: an _extra dict keeps the input's array from being freed, tensor.release)
                if isinstance(p, Tensor) and p._vjps is not None and p._extra is None:
                    p._extra = {}
        return inner(data, op, parents, saved, vjps, jvps)
    return _record


class saved_tensors_hooks:
    """Context manager: while active in this thread, every array an op saves for backward is passed (as a
    Tensor without gradient) to ``pack`` when the op is recorded, and what ``pack`` returned to ``unpack``
    when backward needs the value (PyTorch's ``torch.autograd.graph.saved_tensors_hooks``; thread-local, and
    only the innermost hooks apply). ``unpack`` must give back a Tensor or array of the saved shape (its dtype is
    cast back to the saved one). Differences from PyTorch: npgrad saves different values (an op's output is
    never saved: the node is the output), and ``create_graph=True`` backward reads the inputs themselves, so
    there ``unpack``'s values are not used."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        global _active
        msg = getattr(_tls, "disabled", None)
        if msg is not None:
            raise RuntimeError(msg)
        stack = getattr(_tls, "stack", None)
        if stack is None:
            stack = _tls.stack = []
        stack.append((self.pack_hook, self.unpack_hook))
        with _lock:
            _active += 1
            if _active == 1:
                set_layer("saved", _packing)
        return self

    def __exit__(self, *exc):
        global _active
        _tls.stack.pop()
        with _lock:
            _active -= 1
            if _active == 0:
                set_layer("saved", None)
        return False


class save_on_cpu:
    """PyTorch's ``save_on_cpu(pin_memory=False, device_type="cuda")``: saved values are kept on the CPU. npgrad
    only runs on the CPU, so this does nothing (but refuses, as PyTorch, inside ``disable_saved_tensors_hooks``)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        self.pin_memory, self.device_type = pin_memory, device_type

    def __enter__(self):
        msg = getattr(_tls, "disabled", None)
        if msg is not None:
            raise RuntimeError(msg)
        return self

    def __exit__(self, *exc):
        return False


class disable_saved_tensors_hooks:
    """Context manager (or decorator): inside it (in this thread), entering ``saved_tensors_hooks`` raises
    RuntimeError(``error_message``); entering it while saved tensor hooks are active raises too (as PyTorch's)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        if getattr(_tls, "stack", None):
            raise RuntimeError(self.error_message)   # (as PyTorch: saved tensor hooks are active)
        self._prev = getattr(_tls, "disabled", None)
        _tls.disabled = self.error_message
        return self

    def __exit__(self, *exc):
        _tls.disabled = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with disable_saved_tensors_hooks(self.error_message):
                return fn(*args, **kwargs)
        return wrapper


# --------------------------------------------------------------------------------- multi-grad hooks
class _MultiHandle:
    __slots__ = ("handles",)

    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """PyTorch's ``register_multi_grad_hook``. ``mode="all"``: once per backward pass that computes a gradient for
    any of ``tensors``, ``fn(grads)`` gets a tuple with one gradient per tensor (None for those this pass gives
    none), after the pass's gradients are all computed. ``mode="any"``: ``fn(grad)`` with the first gradient the
    pass computes for any of them. ``fn``'s return value is ignored. Returns a handle with ``remove()``."""
    if mode not in ("all", "any"):
        raise ValueError(f"register_multi_grad_hook: mode must be 'all' or 'any', got {mode!r}")
    tensors = tuple(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"register_multi_grad_hook: tensor {i} must be a Tensor that requires grad, got "
                               f"{type(t).__name__}" + (" that does not require grad" if isinstance(t, Tensor) else ""))
    state = {"pass": None}
    lock = threading.Lock()

    def make(i):
        if mode == "any":
            def hook(g):
                this = getattr(_engine_tls, "callbacks", None)
                with lock:
                    if state["pass"] is this:
                        return None
                    state["pass"] = this
                fn(g)
                return None
        else:
            def hook(g):
                this = getattr(_engine_tls, "callbacks", None)
                with lock:
                    if state["pass"] is not this:
                        state["pass"] = this
                        grads = state["grads"] = [None] * len(tensors)
                        queue_callback(lambda: fn(tuple(grads)))
                    state["grads"][i] = g
                return None
        return hook

    return _MultiHandle([t.register_hook(make(i)) for i, t in enumerate(tensors)])
