"""Custom differentiable operations, as ``torch.autograd.Function``.

>>> class Cube(npg.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, grad):
...         x, = ctx.saved_tensors
...         return 3 * x ** 2 * grad
>>> y = Cube.apply(x)

``forward`` runs under ``no_grad`` on the Tensors it is given and returns a Tensor (or a tuple of
them); ``backward`` gets one gradient per output (Tensors) and returns one gradient per input of
``forward`` (None for inputs that are not Tensors or need none). The op is recorded with the same
``_make`` as npgrad's own ops. With ``create_graph=True``, ``backward`` runs on Tensors that carry
a graph, so a ``backward`` written with npgrad / NumPy calls is itself differentiable.

Forward AD (npgrad/autograd/forward_ad.py): a Function may define ``jvp(ctx, *tangents)`` returning one
tangent per output, with the values it needs saved by ``ctx.save_for_forward(...)`` in ``forward`` (read
back as ``ctx.saved_tensors``), as in PyTorch; inputs without a tangent get zeros (None for non-Tensors).
Without ``jvp``, the tangents come from the transpose of ``backward`` (a one-time warning names the Function).

PyTorch's newer style works too: ``forward(*args)`` without ctx and ``setup_context(ctx, inputs, output)``
(``inputs`` the arguments with forward's defaults filled in), which saves and marks on ctx.
"""
import importlib
import inspect
import weakref

import numpy as np

from .complex_rules import OwnComplex
from .lazy_grads import NoGrad
from . import forward_ad as _fwd
from ..tensor import Tensor, _make, _wrap, passthrough
from .grad_mode import _state, no_grad
from . import versions as _versions
from ._function_saved import _Saved, _pack, _saved_spec, _unpack

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``: save tensors and flags on it."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.to_save = ()
        self._resolved = None
        self._non_differentiable = ()
        self._dirty = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (inputs, outputs or intermediates of forward, or None) for ``backward``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: only Tensors (or None) can be saved, got {type(t).__name__}; "
                                f"store other values as attributes of ctx")
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        """Keep ``tensors`` for ``jvp`` (forward AD), where they are read back as ``ctx.saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_forward: only Tensors (or None) can be saved, got {type(t).__name__}")
        self._saved_forward = tensors

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward``, as Tensors (with a graph under ``create_graph``)."""
        if self._resolved is None:
            raise RuntimeError("saved_tensors is only available inside backward")
        return self._resolved

    def mark_dirty(self, *tensors):
        """Declare inputs that ``forward`` modified in place; it must return each of them as an output. The
        returned tensor is then the input itself, with this op as its new node (as PyTorch's in-place ops)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *outputs):
        """Declare outputs (e.g. indices) that get no gradient."""
        self._non_differentiable = outputs

    def set_materialize_grads(self, value):
        """With False, ``backward`` gets None (instead of zeros) for non-differentiable outputs."""
        self.materialize_grads = bool(value)


class _FunctionMeta(type):
    def __call__(cls, *args, **kwargs):
        if cls.__dict__.get("__init__") is None and args:
            raise RuntimeError(f"{cls.__name__}: call {cls.__name__}.apply(...) to run a Function, "
                               f"not {cls.__name__}(...)")
        return super().__call__(*args, **kwargs)


class Function(metaclass=_FunctionMeta):
    """Base class for custom ops: subclass it with static ``forward(ctx, *args)`` and
    ``backward(ctx, *grads)``, then call ``MyOp.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must implement a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses must implement a static backward(ctx, *grads) to be "
                                  "differentiated")

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("Function subclasses may implement a static jvp(ctx, *tangents) for forward AD")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("Function subclasses may implement a static setup_context(ctx, inputs, output) "
                                  "and a forward without ctx, as in PyTorch")

    @classmethod
    def apply(cls, *args, **kwargs):
        setup = "setup_context" in _own_attrs(cls)
        if setup:  # PyTorch's newer style: forward(*args) and setup_context(ctx, inputs, output)
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        elif kwargs:
            args, kwargs = _keywords_as_inputs(cls, args, kwargs)
        if _tensor_mod._VMAP and _batched_with_graph(args):
            # vmap wraps the values in BatchedTensors, which do not themselves require grad: recorded as they
            # are, the Function would get no node and its gradients would be zeros. Run the vmapped function
            # per sample instead (vmap's loop, correct, with its one-time warning naming the Function).
            from ..func_vmap import _NoRule
            raise _NoRule(f"autograd.Function {cls.__name__}")
        recording = _state.enabled and any(isinstance(a, Tensor) and a._requires_grad for a in args)
        needs = tuple(bool(recording and isinstance(a, Tensor) and a._requires_grad) for a in args)
        ctx = FunctionCtx(needs)
        levels = _dual_levels(args) if _tensor_mod._FW else ()
        tans = {L: _input_tangents(args, L) for L in levels}  # (before forward: it may write into an input)
        # forward runs without forward AD, as in PyTorch: its ops give no tangents (the outputs get cls.jvp's),
        # and a write into a dirty input leaves that input's tangent for cls.jvp to update
        with no_grad(), _fwd.below(1):
            if setup:
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        # NumPy values become Tensors; other objects (None, Python numbers, strings...) are returned as they are
        # and get None as their gradient in backward, as in PyTorch
        outs = tuple(_wrap(np.asarray(o)) if isinstance(o, (np.ndarray, np.generic)) else o for o in outs)
        if not outs:
            raise RuntimeError(f"{cls.__name__}.forward returned no outputs")
        to_save = ctx.to_save
        if ctx._dirty:
            results = _dirty_outputs(cls, ctx, args, outs, needs, recording, to_save, tans)
        else:
            results = _record_node(cls, ctx, args, outs, needs) if recording else list(outs)
            if levels:
                results = _with_tangents(cls, ctx, args, outs, results, recording, to_save, tans)
        return results[0] if single else tuple(results)


def _keywords_as_inputs(cls, args, kwargs):
    """Keywords naming forward's parameters moved to their positions, as PyTorch binds them (a Tensor given
    by keyword is an input: it gets a gradient); others (keyword-only) must not hold a Tensor requiring grad."""
    try:
        bound = inspect.signature(cls.forward).bind(None, *args, **kwargs)  # (None: ctx)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}.apply: {e}") from None
    for k, v in bound.kwargs.items():
        if isinstance(v, Tensor) and v._requires_grad:
            raise TypeError(f"{cls.__name__}.apply: keyword argument {k!r} is a Tensor that requires grad, but not a "
                            f"positional parameter of forward (it would get no gradient): pass it positionally")
    return bound.args[1:], bound.kwargs


def _dirty_outputs(cls, ctx, args, outs, needs, recording, to_save, tans_at):
    """The outputs of a Function whose ``forward`` wrote into the inputs given to ``ctx.mark_dirty``: each
    such input is returned as itself, rewritten as by an in-place op (ops/inplace.py's ``write``: its memory's
    version counts the write, and, while recording, the op's node takes the input's previous version as its
    input and becomes the tensor's new node, through its base when it is a view)."""
    from ..ops import inplace
    name = cls.__name__
    position = {}
    for d in ctx._dirty:
        if not any(a is d for a in args):
            raise RuntimeError(f"{name}.forward: mark_dirty() was given a tensor that is not an input of forward")
        at = [i for i, o in enumerate(outs) if o is d]
        if not at:
            raise RuntimeError(f"{name}.forward: an input marked dirty was not returned as an output; the inputs "
                               f"modified in place must all be outputs of the Function")
        position[id(d)] = at[0]
    for d in ctx._dirty:  # (counted before the node is recorded: it saves the values forward wrote)
        _versions.bump(d.data, name)
    if not recording and not tans_at:
        return list(outs)
    dirty = list(ctx._dirty)
    olds = {}

    def rebase(k):
        if k == len(dirty):  # the op's outputs, with their tangents: write() hands them to the views
            if recording:
                results = _record_node(cls, ctx, tuple(olds.get(id(a), a) for a in args), outs, needs)
            else:
                results = [_wrap(o.data) if isinstance(o, Tensor) else o for o in outs]
            if tans_at:
                results = _with_tangents(cls, ctx, args, outs, results, True, to_save, tans_at)
            return results
        d, box = dirty[k], []

        def apply(old):  # old: d's previous version, the node's input in its place
            olds[id(d)] = old
            box.append(rebase(k + 1))
            return box[0][position[id(d)]]
        inplace.write(d, name, apply, counted=True)
        box[0][position[id(d)]] = d
        return box[0]
    return rebase(0)


def _batched_with_graph(args):
    """Whether an argument is a vmap BatchedTensor whose values (at some level) require grad."""
    if not _state.enabled:
        return False
    for a in args:
        while type(a).__name__ == "BatchedTensor":
            a = a._inner
            if a._requires_grad:
                return True
    return False


def _record_node(cls, ctx, args, outs, needs):
    """The outputs of a recorded call: one graph node for the differentiable outputs (packed when several)."""
    non_diff = {id(t) for t in ctx._non_differentiable}
    diff = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.data.dtype.kind in "fc"
            and id(o) not in non_diff]
    if not diff:
        return list(outs)
    if len(outs) > 1 and any(outs[i].data.dtype.kind == "c" for i in diff):
        raise NotImplementedError(f"{cls.__name__}: a Function with several outputs, some complex, is not supported; "
                                  f"return one complex output (or view_as_real pairs)")
    saved_spec = _saved_spec(ctx.to_save, args, outs, diff)
    ctx.to_save = ()
    arg_data = tuple(a.data if isinstance(a, Tensor) else a for a in args)
    if len(diff) == 1 and len(outs) == 1:
        packed = outs[0].data
        layout = None
    else:
        packed, layout = _pack([outs[i].data for i in diff])
    received = None if ctx.materialize_grads or layout is None else set()
    out_refs = []  # weak references to the outputs (filled below): see _output_view
    vjps = _make_vjps(cls, ctx, args, outs, diff, layout, saved_spec, needs, received, out_refs)
    # (OwnComplex: for a complex output its backward follows PyTorch's convention itself; for any output, it marks
    # the node as a Function's, named by its class, so that no built-in op's declarations of the same name, such as
    # "add" reading no value, apply to it: autograd/versions.py's in-place checks, _freeing.py's release)
    vjps = OwnComplex(vjps)
    node = _make(packed, cls.__name__, tuple(args), arg_data, vjps, _NO_TANGENT)
    if layout is None:
        return [node]
    results = list(outs)
    for k, i in enumerate(diff):
        results[i] = _unpack(node, layout, k)
        out_refs.append(weakref.ref(results[i]))
        if received is not None and results[i]._vjps is not None:  # set_materialize_grads(False): note which
            results[i]._vjps = tuple(_noting(v, received, k) for v in results[i]._vjps)  # outputs get gradients
    for i, o in enumerate(outs):
        if i not in diff and isinstance(o, Tensor):
            results[i] = _wrap(o.data)
    return results


def _NO_TANGENT(tans, y, *inputs):  # a Function's node: its outputs get their tangents in _with_tangents
    return None


def _dual_levels(args):
    levels = set()
    for a in args:
        levels.update(_fwd.visible_levels(a))
    return sorted(levels)


def _input_tangents(args, L):
    """The tangents of ``args`` at level ``L``: zeros for a Tensor without one, None for other values."""
    tans = []
    for a in args:
        t = _fwd.tangent_at(a, L) if isinstance(a, Tensor) else None
        tans.append(_wrap(np.zeros_like(a.data)) if t is None and isinstance(a, Tensor) else t)
    return tans


def _with_tangents(cls, ctx, args, outs, results, recording, to_save, tans_at):
    """The outputs (fresh tensors, or the dirty inputs themselves) with their tangents at each level of
    ``tans_at`` (level -> the inputs' tangents), from ``cls.jvp`` or from the transpose of ``cls.backward``."""
    if not recording:
        dirty = {id(d) for d in ctx._dirty}
        results = [_wrap(o.data) if isinstance(o, Tensor) and id(o) not in dirty else o for o in outs]
    non_diff = {id(t) for t in ctx._non_differentiable}
    diff = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.data.dtype.kind in "fc"
            and id(o) not in non_diff]
    for L, tans in tans_at.items():
        with _fwd.below(L):
            out_t = _function_jvp(cls, ctx, args, outs, diff, tans, to_save)
        for i in diff:
            if out_t[i] is not None:
                _fwd.set_tangent(results[i], L, _fwd.fit(out_t[i], results[i]))
    return results


def _function_jvp(cls, ctx, args, outs, diff, tans, to_save):
    """One tangent per output of ``cls`` (None for none) for the input tangents ``tans``."""
    name = cls.__name__
    if "jvp" in _own_attrs(cls):
        ctx._resolved = tuple(getattr(ctx, "_saved_forward", ()))
        try:
            res = cls.jvp(ctx, *tans)
        finally:
            ctx._resolved = None
        res = res if isinstance(res, tuple) else (res,)
        if len(res) != len(outs):
            raise RuntimeError(f"{name}.jvp returned {len(res)} tangent(s) for {len(outs)} output(s)")
        return [r if r is None or isinstance(r, Tensor) else _wrap(np.asarray(r)) for r in res]
    if not diff:
        return [None] * len(outs)
    # no jvp: the transpose of backward (forward_ad's fallback, which warns once naming the Function)
    fw_needs = tuple(t is not None for t in tans)
    saved_spec = _saved_spec(to_save, args, outs, diff)
    if len(diff) == 1 and len(outs) == 1:
        packed, layout = outs[0].data, None
    else:
        packed, layout = _pack([outs[i].data for i in diff])
    vjps = _make_vjps(cls, ctx, args, outs, diff, layout, saved_spec, fw_needs)
    t = _fwd.transposed(name, vjps, tans, _wrap(packed), tuple(args))
    res = [None] * len(outs)
    for k, i in enumerate(diff):
        res[i] = None if t is None else (t if layout is None else _unpack(t, layout, k))
    return res


def _own_attrs(cls):
    return {k for b in cls.__mro__ if b not in (Function, object) for k in b.__dict__}


def once_differentiable(backward):
    """Decorator for a ``backward`` that cannot itself be differentiated: under ``create_graph`` it runs
    on plain values and its result carries no graph (a second derivative through it is then zero)."""
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    wrapper.__name__ = getattr(backward, "__name__", "backward")
    wrapper.__doc__ = backward.__doc__
    return wrapper


# ------------------------------------------------------------------------- internals
def _noting(vjp, received, k):
    """``vjp`` (of the op that made output ``k`` of a Function), also noting in ``received`` that output ``k``
    got a gradient: backward then gets None, not zeros, for the others (``set_materialize_grads(False)``)."""
    if vjp is None:
        return None

    def noted(g, y, *inputs):
        received.add(k)
        return g if vjp is passthrough else vjp(g, y, *inputs)
    return noted


def _output_view(y, layout, k, out_refs):
    """Output ``k`` of a several-output Function's node ``y`` (a graph Tensor: create_graph), for its backward's
    saved outputs: the user's own output tensor while it is still that view of ``y`` (so its hooks and
    ``retain_grad`` see the second-order gradient that flows through it, as PyTorch's), else a new view."""
    r = out_refs[k]() if k < len(out_refs) else None
    if r is not None and not (r._extra and "prev" in r._extra):   # (not modified in place since)
        p = r
        for _ in range(3):   # (_unpack: a slice, a reshape, maybe a cast)
            p = p._parents[0] if p._parents else None
            if p is y:
                return r
            if p is None:
                break
    return _unpack(y, layout, k)


def _make_vjps(cls, ctx, args, outs, diff, layout, saved_spec, needs, received=None, out_refs=()):
    """One VJP per input of ``forward``; the first one called for a given output gradient runs the
    user's ``backward`` (once) and the others pick their entry from that result."""
    cache = [None, None]   # [gradient object the backward ran for, its results]
    name = cls.__name__
    n_in = len(args)
    last_needed = max((i for i, n in enumerate(needs) if n), default=-1)
    out_meta = [(o.data.shape, o.data.dtype) if isinstance(o, Tensor) else None for o in outs]
    position = {i: k for k, i in enumerate(diff)}
    non_tensor = [i for i, a in enumerate(args) if not isinstance(a, Tensor)]

    def run(g, y, inputs):
        graph = isinstance(g, Tensor)
        wrap = (lambda v: v) if graph else _wrap
        grads = []
        out_vals = []
        for i, meta in enumerate(out_meta):
            k = position.get(i)
            if meta is None:  # an output that is not a Tensor
                grads.append(None)
            elif k is None:  # a non-differentiable output: zeros (or None without materialize_grads)
                grads.append(_wrap(np.zeros(*meta)) if ctx.materialize_grads else None)
            elif layout is None:
                grads.append(wrap(g))
                out_vals.append(wrap(y))
            else:
                grads.append(None if received is not None and k not in received else wrap(_unpack(g, layout, k)))
                out_vals.append(_output_view(y, layout, k, out_refs) if graph else _wrap(_unpack(y, layout, k)))
        if received is not None:
            received.clear()  # (for the next backward pass through a retained graph)
        resolved = []
        for s in saved_spec:
            if isinstance(s, _Saved):
                if s.kind == "in":
                    v = inputs[s.index]
                    resolved.append(v if isinstance(v, Tensor) else _wrap(np.asarray(v)))
                else:
                    resolved.append(out_vals[s.index])
            else:
                resolved.append(s)
        ctx._resolved = tuple(resolved)
        try:
            res = cls.backward(ctx, *grads)
        finally:
            ctx._resolved = None
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) > n_in and all(r is None for r in res[n_in:]):  # extra trailing Nones: ignored, as PyTorch
            res = res[:n_in]
        if len(res) != n_in:
            raise RuntimeError(f"{name}.backward returned {len(res)} gradient(s) but forward took {n_in} input(s) (an "
                               f"incorrect number of gradients): return one per input (None for those without "
                               f"gradient)")
        for i in non_tensor:
            if res[i] is not None:
                raise RuntimeError(f"{name}.backward returned a gradient different than None at position {i + 1}, "
                                   f"but the corresponding forward input was not a Tensor")
        return res

    def make(i):
        def vjp(g, y, *inputs):
            if cache[0] is not g:
                cache[0] = g
                cache[1] = run(g, y, inputs)
            r = cache[1][i]
            if i == last_needed:
                cache[0] = cache[1] = None
            if r is None:  # no gradient (zeros when differentiable: create_graph)
                if isinstance(g, Tensor):
                    return np.zeros(np.shape(args[i].data), dtype=args[i].data.dtype)
                return NoGrad(np.shape(args[i].data), args[i].data.dtype)
            if isinstance(g, Tensor):
                if not isinstance(r, Tensor):
                    r = _wrap(np.asarray(r))
            else:
                r = r.data if isinstance(r, Tensor) else np.asarray(r)
                if r is not g:  # it may be held elsewhere (a saved tensor's data): a .grad, which backward adds
                    r = r.copy()  # into in place, must not alias it (PyTorch clones it too)
            shape = np.shape(args[i].data)
            if r.shape != shape:
                try:
                    if np.broadcast_shapes(r.shape, shape) != r.shape:
                        raise ValueError
                except ValueError:
                    raise RuntimeError(f"{name}.backward returned a gradient of shape {r.shape} for input {i} of "
                                       f"shape {shape}") from None
            return r
        return vjp

    return tuple(make(i) if needs[i] else None for i in range(n_in))

