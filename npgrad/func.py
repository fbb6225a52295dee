"""Functional transforms, named as in ``torch.func``: ``grad``, ``grad_and_value``, ``value_and_grad``,
``vjp``, ``jvp``, ``jacrev`` / ``jacfwd`` / ``jacobian`` and ``hessian``.

Each transform takes a function of tensors (or NumPy arrays, or Python floats) and returns a function.
Arguments may also be lists, tuples or dicts of tensors (e.g. a dict of parameters). The transforms
compose: ``grad(grad(f))`` is the second derivative of a scalar function.

How they compose (there are no "levels" as in functorch): each transform runs ``f`` on fresh tensors
that stand for its inputs. When one of them stands for a tensor that an enclosing computation is
differentiating (it requires grad while grad mode is on), or ``f`` reads such a tensor from a closure,
the transform's own backward pass is recorded (``create_graph=True``), so the enclosing computation can
differentiate through it; otherwise the backward pass is plain NumPy and its results carry no graph.
A gradient is a NumPy array for an input given as a NumPy array or number, and a Tensor for a Tensor
input (or whenever it carries a graph for an enclosing transform).

``jvp``, ``jacfwd`` and ``hessian`` (= ``jacfwd(jacrev(f))``) use forward-mode AD; they live in
npgrad/func_forward.py. A reverse-mode level whose inputs (or outputs) carry tangents of an active dual level
records its backward pass, so that the tangents flow through it (forward over reverse).
"""
import importlib
import operator
import weakref

import numpy as np

from .autograd import engine
from .autograd import forward_ad as _fwd
from .autograd.versions import inputs_as_of
from .autograd.grad_mode import _state, enable_grad
from ._handover import handover
from ._pytree import _build, _count_leaves, _flatten, _spec_str, _tree_map, _unflatten  # noqa: F401  (others import them here)
from .dtypes import get_default_dtype
from .ops.shape import reshape, stack
from .tensor import Tensor, _leaf, _record, _wrap

_tensor_mod = importlib.import_module(".tensor", __package__)  # the module (npgrad.tensor is also a function)

__all__ = ["grad", "grad_and_value", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "jacobian",
           "hessian", "functional_call", "vmap", "linearize", "stack_module_state", "replace_all_batch_norm_modules_",
           "functionalize"]


# ---------------------------------------------------------------------- one transform level
def _identity_vjp(g, y, x):
    return g


def _normalize_argnums(argnums, nargs, where):
    single = not isinstance(argnums, (tuple, list))
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{where}: argnums must not be empty")
    out = []
    for a in nums:
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(f"{where}: argnums must be an int or a tuple of ints, got {argnums!r}") from None
        if not -nargs <= a < nargs:
            raise ValueError(f"{where}: argnums {a} is out of range for a function called with {nargs} "
                             f"positional argument(s)")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: repeated argnums {argnums!r}")
    return single, tuple(out)


class _Level:
    """One application of a transform: fresh tensors for the differentiated inputs, ``f`` run on
    them, and the decision whether the backward passes must be recorded for an enclosing level."""

    def __init__(self, where, args, argnums):
        self.where = where
        self.outer = _state.enabled
        self.args = list(args)
        self.argnums = argnums
        self.specs = []
        self.user = []      # the caller's leaves (for types, shapes, dtypes)
        self.inner = []     # the fresh tensors standing for them
        self.aliased = False
        self.dual = False   # an input carries a tangent of an active dual level
        for a in argnums:
            leaves, spec = _flatten(self.args[a])
            entered = [self._enter(v, a) for v in leaves]
            self.specs.append(spec)
            self.user += leaves
            self.inner += entered
            self.args[a] = _unflatten(entered, spec)
        self.numpy_mode = not any(isinstance(v, Tensor) for v in self.user)
        self._need = None

    def _enter(self, x, argnum):
        if isinstance(x, Tensor):
            if x.data.dtype.kind not in "fc":
                raise TypeError(f"{self.where}: argument {argnum} has dtype {x.dtype}; only floating and complex "
                                f"inputs can be differentiated")
            dual = _tensor_mod._FW and _fwd.is_dual(x)
            self.dual = self.dual or dual
            if self.outer and x._requires_grad:
                # An identity node: the gradient of this level stops here, an enclosing level's goes on.
                t = _record(x.data, "input", (x,), (x.data,), (_identity_vjp,), (_identity_vjp,))
                self.aliased = True
                return t
            if dual:  # a fresh leaf that keeps the tangents (forward over reverse)
                t = _leaf(x.data, True)
                _fwd.copy_tangents(t, x)
                return t
            data = x.data
        else:
            data = np.asarray(x)
            if data.dtype.kind not in "fc":
                raise TypeError(f"{self.where}: argument {argnum} has dtype {data.dtype}; only floating and complex "
                                f"inputs can be differentiated (pass e.g. 2.0 instead of 2)")
            if isinstance(x, float):
                data = data.astype(get_default_dtype())
            else:
                data = data.copy()
        return _leaf(data, True)

    def call(self, f, has_aux):
        with enable_grad():
            res = f(*self.args)
        for t in self.inner:  # f has run: no enclosing level can differentiate through these any more
            if t._vjps is None:
                _FINISHED[id(t)] = t
        if has_aux:
            if not (isinstance(res, tuple) and len(res) == 2):
                raise TypeError(f"{self.where}(has_aux=True): f must return a pair (output, aux), got "
                                f"{type(res).__name__}")
            return res
        return res, None

    def need_graph(self, outputs, extra=()):
        """Whether this level's backward must be recorded: an enclosing level differentiates
        through one of the inputs, through a tensor ``f`` closed over, or through a cotangent; or tangents of
        an active dual level must flow through the backward pass."""
        if self.dual or (_tensor_mod._FW and any(_fwd.is_dual(t) for t in (*outputs, *extra)
                                                  if isinstance(t, Tensor))):
            return True
        if not self.outer:
            return False
        if self.aliased or any(isinstance(e, Tensor) and e._requires_grad for e in extra):
            return True
        if self._need is None:
            self._need = _reaches_outside(outputs, self.inner)
        return self._need

    def gradients(self, outputs, cotangents, create_graph):
        """Flat gradients of ``sum(<outputs, cotangents>)`` for ``self.inner`` (None where unused)."""
        pairs = [(o, c) for o, c in zip(outputs, cotangents) if isinstance(o, Tensor) and o._requires_grad]
        if not pairs or not self.inner:  # (engine.grad refuses empty inputs, as torch)
            return [None] * len(self.inner)
        outs = [o for o, _ in pairs]
        cts = [c for _, c in pairs]
        with enable_grad():
            return list(engine.grad(outs, self.inner, grad_outputs=cts, retain_graph=True,
                                    create_graph=create_graph, allow_unused=True))

    def export(self, g, i, graph):
        """Gradient ``g`` (or None) for flat input ``i`` in the caller's type."""
        user = self.user[i]
        inner = self.inner[i]
        if g is None:
            z = np.zeros(inner.data.shape, dtype=inner.data.dtype)
            return _wrap(z) if (graph or isinstance(user, Tensor)) else z
        if graph:
            return g if isinstance(g, Tensor) else _wrap(np.asarray(g))
        d = handover(g)  # never aliases a cotangent, an input, a live graph or another result (npgrad/_handover.py)
        return _wrap(d) if isinstance(user, Tensor) else d

    def unflatten_per_argnum(self, flat, single):
        out = []
        pos = 0
        for spec in self.specs:
            count = _count_leaves(spec)
            out.append(_unflatten(flat[pos:pos + count], spec))
            pos += count
        return out[0] if single else tuple(out)

    def value(self, v, graph):
        """A forward result handed back to the caller: detached unless it carries a graph outward."""
        def conv(x):
            if not isinstance(x, Tensor):
                return x
            if graph:
                return x
            return x.data if self.numpy_mode else _wrap(x.data)
        return _tree_map(conv, v)


# The fresh leaves of levels whose ``f`` has returned. A vjp_fn called later (inside another transform)
# records its backward pass down to them, but only their own level differentiates with respect to them:
# reaching one says nothing about an enclosing computation, so NumPy inputs still give NumPy results.
_FINISHED = weakref.WeakValueDictionary()  # id -> tensor (a WeakSet would compare tensors with __eq__)


def _reaches_outside(outputs, inner):
    """True if the graph behind ``outputs`` reaches a tensor requiring grad other than ``inner`` (and
    other than the leaves of finished levels)."""
    stop = {id(t) for t in inner}
    if _tensor_mod._STALE:  # (an output view a write left on its base's earlier node: from its current one)
        _tensor_mod._refresh_inputs(outputs)
    stack = [o for o in outputs if isinstance(o, Tensor) and o._requires_grad]
    seen = set()
    while stack:
        t = stack.pop()
        i = id(t)
        if i in seen:
            continue
        seen.add(i)
        if i in stop:
            continue
        if t._vjps is None or t._parents is None:
            if _FINISHED.get(i) is t:
                continue
            return True  # a leaf (or a released node) from outside this level
        parents = inputs_as_of(t)
        for p in parents:
            if isinstance(p, Tensor) and p._requires_grad and id(p) not in seen:
                stack.append(p)
    return False


def _as_output(x, where, integers=False):
    """A function's result as a Tensor (constants allowed), checked to be floating or complex (or, with
    ``integers``, integer or bool: forward mode gives those a zero tangent, as torch.func.jvp / jacfwd)."""
    if isinstance(x, Tensor):
        t = x
    else:
        try:
            t = _wrap(np.asarray(x))
        except Exception:
            raise TypeError(f"{where}: f must return tensors or arrays, got {type(x).__name__}") from None
    if t.data.dtype.kind not in ("fcbiu" if integers else "fc"):
        raise TypeError(f"{where}: f returned a {t.data.dtype} result; only floating and complex outputs can be "
                        f"differentiated")
    return t


def _cotangent(c, out, where):
    """A cotangent as an array (plain) or Tensor (kept as given when it is one), shaped like ``out``."""
    cd = None if isinstance(c, Tensor) else np.asarray(c)
    shape = tuple(c.shape) if cd is None else cd.shape  # (a Tensor's own shape: per sample inside vmap)
    if shape != out.data.shape:
        raise ValueError(f"{where}: cotangent of shape {shape} for an output of shape {out.data.shape}")
    if cd is None:
        return c if c.dtype == out.dtype else c.astype(out.dtype)
    return cd.astype(out.data.dtype, copy=False)


# ----------------------------------------------------------------------------- transforms
def grad_and_value(f, argnums=0, has_aux=False):
    """``torch.func.grad_and_value``: a function returning ``(gradient, value)`` (``(gradient, (value, aux))``
    with ``has_aux``). ``f`` must return a one-element tensor."""
    def wrapper(*args, **kwargs):
        if _tensor_mod._VMAP:
            lv = _vm.batched_level(args)
            if lv:
                return _vm.lifted("grad", f, argnums, has_aux, args, kwargs, lv)
        single, nums = _normalize_argnums(argnums, len(args), "grad")
        g_f = (lambda *a: f(*a, **kwargs)) if kwargs else f
        level = _Level("grad", args, nums)
        out, aux = level.call(g_f, has_aux)
        out_t = _as_output(out, "grad")
        if out_t.data.dtype.kind == "c":
            raise RuntimeError(f"grad: f must return a real scalar (a loss), got a {out_t.dtype} one; take e.g. "
                               f"abs(z) ** 2 or z.real")
        if out_t.data.size != 1:
            raise RuntimeError(f"grad: f must return a one-element tensor (a scalar loss), got shape "
                               f"{out_t.data.shape}; use vjp or jacrev for other outputs")
        graph = level.need_graph([out_t])
        seed = np.ones_like(out_t.data)
        flat = level.gradients([out_t], [_wrap(seed) if graph else seed], graph)
        flat = [level.export(g, i, graph) for i, g in enumerate(flat)]
        grads = level.unflatten_per_argnum(flat, single)
        value = level.value(out, graph)
        if has_aux:
            return grads, (value, level.value(aux, graph))
        return grads, value
    wrapper.__name__ = f"grad_and_value({getattr(f, '__name__', 'f')})"
    return wrapper


def value_and_grad(f, argnums=0, has_aux=False):
    """JAX's ordering of :func:`grad_and_value`: ``(value, gradient)``, or ``((value, aux), gradient)``."""
    gv = grad_and_value(f, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return v, g
    wrapper.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapper


def grad(f, argnums=0, has_aux=False):
    """``torch.func.grad``: a function computing the gradient of the scalar ``f`` with respect to the
    argument(s) ``argnums`` (an int, or a tuple giving a tuple of gradients). With ``has_aux=True``,
    ``f`` returns ``(loss, aux)`` and the result is ``(gradient, aux)``.

    >>> d2 = npg.func.grad(npg.func.grad(lambda x: npg.sin(x)))   # -sin(x)
    """
    gv = grad_and_value(f, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        if has_aux:
            return g, v[1]
        return g
    wrapper.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return wrapper


def vjp(f, *primals, has_aux=False):
    """``torch.func.vjp``: returns ``(output, vjp_fn)`` (and ``aux``), where ``vjp_fn(cotangents)``
    gives a tuple with the gradient of ``<output, cotangents>`` for each primal. ``vjp_fn`` may be
    called many times. Inside ``vmap`` it runs as one batched VJP (npgrad/_vmap_transforms.py)."""
    if _tensor_mod._VMAP:
        from . import _vmap_transforms
        r = _vmap_transforms.vjp(f, primals, has_aux)
        if r is not None:
            return r
    level = _Level("vjp", primals, tuple(range(len(primals))))
    out, aux = level.call(f, has_aux)
    out_leaves, out_spec = _flatten(out)
    outs = [_as_output(o, "vjp") for o in out_leaves]
    graph_fwd = level.need_graph(outs)

    def vjp_fn(cotangents):
        ct_leaves, ct_spec = _flatten(cotangents)
        if ct_spec != out_spec:   # (as torch: leaves are matched by position, so a reordered dict would mix them)
            raise RuntimeError(f"vjp: expected the cotangents to have the structure of the outputs of f; "
                               f"cotangents: {_spec_str(ct_spec)}, outputs: {_spec_str(out_spec)}")
        cts = [_cotangent(c, o, "vjp") for c, o in zip(ct_leaves, outs)]
        # batched cotangents inside vmap (vmap(vjp_fn)): a recorded backward pass, whose ops batch
        graph = graph_fwd or level.need_graph(outs, cts) or any(type(c) is _vm.BatchedTensor for c in cts)
        if graph:
            cts = [c if isinstance(c, Tensor) else _wrap(c) for c in cts]
        else:
            cts = [c.data if isinstance(c, Tensor) else c for c in cts]
        flat = level.gradients(outs, cts, graph)
        flat = [level.export(g, i, graph) for i, g in enumerate(flat)]
        return level.unflatten_per_argnum(flat, False)

    value = level.value(out, graph_fwd)
    if has_aux:
        return value, vjp_fn, level.value(aux, graph_fwd)
    return value, vjp_fn


def _stack(parts, graph, shape):
    """Stack per-element results (Tensors or arrays) into an array of ``shape``."""
    if graph:
        if not parts:
            return _wrap(np.zeros(shape))
        return reshape(stack(parts, axis=0), shape)
    arrs = [p.data if isinstance(p, Tensor) else np.asarray(p) for p in parts]
    if not arrs:
        return np.zeros(shape)
    return np.stack(arrs, axis=0).reshape(shape)


def _jacobian_result(level, blocks, graph, single, out_spec):
    """``blocks[k][i]``: the Jacobian of flat output k w.r.t. flat input i. Rebuild the structure:
    per output (as f returned them), per argnum (tuple unless ``single``)."""
    given = []

    def conv(j, i):
        if graph:
            return j if isinstance(j, Tensor) else _wrap(np.asarray(j))
        d = j.data if isinstance(j, Tensor) else np.asarray(j)
        # the caller's own arrays: no read-only broadcast (an unused input's zeros), no block shared by two inputs
        if not d.flags.writeable or any(np.may_share_memory(d, e) for e in given):
            d = np.array(d)
        given.append(d)
        return _wrap(d) if isinstance(level.user[i], Tensor) else d
    per_out = []
    for row in blocks:
        flat = [conv(j, i) for i, j in enumerate(row)]
        per_out.append(level.unflatten_per_argnum(flat, single))
    return _unflatten(per_out, out_spec)


def _check_real(where, tensors, what):
    """jacrev / jacfwd take real inputs and outputs only, as torch.func: a complex one has no single Jacobian
    (reverse mode would give the conjugate of a holomorphic derivative, or the real part's Jacobian only)."""
    for i, t in enumerate(tensors):
        if np.dtype(t.dtype).kind == "c":   # (t.dtype, t.shape: a batched tensor's own, inside vmap)
            raise RuntimeError(f"{where}: Expected all {what} to be real but received complex tensor at flattened "
                               f"input idx: {i} (dtype {t.dtype}, shape {t.shape}); differentiate the real and "
                               f"imaginary parts apart (npg.view_as_real) instead")


def _jacobian_setup(where, f, args, kwargs, argnums, has_aux):
    """Run ``f`` at a new level: (single, level, flat outputs, output spec, aux, whether to record)."""
    single, nums = _normalize_argnums(argnums, len(args), where)
    g_f = (lambda *a: f(*a, **kwargs)) if kwargs else f
    level = _Level(where, args, nums)
    _check_real(where, level.inner, "inputs")
    out, aux = level.call(g_f, has_aux)
    out_leaves, out_spec = _flatten(out)
    outs = [_as_output(o, where) for o in out_leaves]
    _check_real(where, outs, "outputs")
    return single, level, outs, out_spec, aux, level.need_graph(outs)


def _basis(tensors, k, e):
    """Zero arrays shaped like ``tensors``, with a 1 at flat element ``e`` of the ``k``-th."""
    arrays = [np.zeros(t.data.shape, dtype=t.data.dtype) for t in tensors]
    arrays[k].reshape(-1)[e] = 1
    return arrays


def _check_chunk_size(where, chunk_size):
    """torch.func.jacrev's check (done when the transform is made): None or a positive int."""
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(f"{where}: `chunk_size` must be None or an int, got {type(chunk_size).__name__}")
    if chunk_size <= 0:
        raise ValueError(f"{where}: `chunk_size` should be greater than 0, got {chunk_size}")


def jacrev(f, argnums=0, has_aux=False, *, chunk_size=None):
    """``torch.func.jacrev``: the Jacobian of ``f`` by reverse mode: one backward pass vectorized by
    :func:`vmap` over the basis cotangents (``chunk_size`` of them at a time), or one backward pass per output
    element when an op of ``f`` has no batching rule; its shape is ``output.shape + input.shape``."""
    _check_chunk_size("jacrev", chunk_size)
    def wrapper(*args, **kwargs):
        if _tensor_mod._VMAP:
            lv = _vm.batched_level(args)
            if lv:
                return _vm.lifted("jacrev", f, argnums, has_aux, args, kwargs, lv)
        single, level, outs, out_spec, aux, graph = _jacobian_setup("jacrev", f, args, kwargs, argnums, has_aux)
        blocks = None
        if all(o.data.size for o in outs):
            blocks = _vm.try_vectorized(lambda: _jacrev_blocks_vmap(level, outs, chunk_size, graph))
        if blocks is None:
            blocks = _jacrev_blocks_loop(level, outs, graph)
        jac = _jacobian_result(level, blocks, graph, single, out_spec)
        if has_aux:
            return jac, level.value(aux, graph)
        return jac
    wrapper.__name__ = f"jacrev({getattr(f, '__name__', 'f')})"
    return wrapper


def _jacrev_blocks_vmap(level, outs, chunk_size, graph):
    """The Jacobian blocks by one batched backward pass per output (vmap over the basis cotangents)."""
    blocks = []
    for k, o in enumerate(outs):
        n = o.data.size
        cts = [_wrap(np.eye(n, dtype=u.data.dtype).reshape((n,) + u.data.shape)) if j == k
               else _wrap(np.zeros((n,) + u.data.shape, dtype=u.data.dtype)) for j, u in enumerate(outs)]

        def one(*c):
            gs = level.gradients(outs, list(c), True)
            return tuple(_wrap(np.zeros(t.data.shape, t.data.dtype)) if g is None else g
                         for g, t in zip(gs, level.inner))
        rows = _vm.vmap(one, chunk_size=chunk_size)(*cts)
        blocks.append([reshape(r, o.data.shape + t.data.shape) if graph else r.data.reshape(o.data.shape + t.data.shape)
                       for r, t in zip(rows, level.inner)])
    return blocks


def _jacrev_blocks_loop(level, outs, graph):
    blocks = []
    if True:
        for k, o in enumerate(outs):
            rows = [[] for _ in level.inner]
            n = o.data.size
            for e in range(n):
                cts = [_wrap(c) if graph else c for c in _basis(outs, k, e)]
                grads = level.gradients(outs, cts, graph)
                for i, g in enumerate(grads):
                    rows[i].append(level.export(g, i, graph) if g is None else g)
            blocks.append([_stack(rows[i], graph, o.data.shape + level.inner[i].data.shape)
                           for i in range(len(level.inner))])
    return blocks


jacobian = jacrev


from .func_forward import hessian, jacfwd, jvp  # noqa: E402  (forward mode: npgrad/func_forward.py)
from . import func_vmap as _vm  # noqa: E402
from .func_vmap import vmap  # noqa: E402  (npgrad/func_vmap.py)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the named parameters and buffers replaced, as ``torch.func.functional_call``
    (see npgrad/nn/utils/stateless.py); composes with the transforms above."""
    from .nn.utils.stateless import functional_call as call
    return call(module, parameter_and_buffer_dicts, args, kwargs, tie_weights=tie_weights, strict=strict)


from .func_extra import (functionalize, linearize, replace_all_batch_norm_modules_,  # noqa: E402,F401
                         stack_module_state)
