"""Views and in-place writes, with NumPy's values and PyTorch's gradients.

Views. A view op (basic indexing, ``reshape`` where NumPy gives a view, ``transpose``, ``swapaxes``,
``squeeze``/``expand_dims``, ``flip``...) returns a tensor whose data is a NumPy view of its input's:
they share memory, so a write through either is seen through the other, with or without a graph. The
view remembers its root base and how to reach itself from it (``_extra["view"] = (base, fn)``, where ``fn``
applies the view ops to an array or a Tensor), and the base keeps weak references to its live views.

Writes. ``x += v``, ``x[key] = v`` and the other in-place ops write into ``x``'s memory: the cost is what
is written. Every write counts in the memory's version counter (npgrad/autograd/versions.py), so backward
refuses to use a value an op saved and that was overwritten since. In a graph, the written tensor gets a
new node, the in-place op's, whose first input is a snapshot of the tensor's previous node (data shared,
or copied when the op's own gradient reads the overwritten value, as ``x *= w`` does for ``w``). Ops that
used the tensor before the write keep reaching its previous node through ``_extra["prev"]``.

A write through a view of a tensor in a graph rewrites the base's history, as PyTorch's CopySlices does:
the base's new node (``copy_slices``) passes the gradient outside the view to the base's previous node
and the gradient inside it to the in-place op's node. A view read after a write (through the base or another
view) differentiates the value it reads: the view is made a view of the base's new node (``_refresh``) when it
is next recorded as an op's input (``tensor._record`` calls ``_refresh_inputs`` while ``tensor._STALE`` is set)
or its node is asked for (grad_fn, hooks, backward, another write), as PyTorch regenerates a view's grad_fn when
it is next used. So a write costs what it writes, however many views of the base live: refreshing every view at
each write made a loop such as ``y[i + 1] = y[i] * 0.5 + 1`` (each ``y[i]`` a view the graph keeps) quadratic.
A view is stale when its base's node is newer than its own (``_is_stale``). The base's first write in a graph
(a buffer that did not require grad) and any write under forward AD refresh every view at once instead, and
views made under no_grad (which are not recorded, so never pass through ``_record``) are refreshed at each write.
Writing into a leaf that requires grad, or into a view of one, raises, as in PyTorch.

Forward AD. A write also replaces the written tensor's tangent by the in-place op's JVP (a new tangent
tensor: the old one, which the caller may hold, is never modified), and a write through a view gives the base
the ``copy_slices`` JVP (the view's new tangent inside the view, its old tangent outside). Every live view of
the written memory then gets the view of the new tangent, as in PyTorch, where a view's tangent is a view of
its base's. Without a graph (grad mode off, or nothing requiring grad) only the tangents are rewritten.
"""
import importlib
import sys

import numpy as np

from ..autograd import forward_ad as _fwd
from ..autograd import versions as _versions
from ..autograd.grad_mode import _state, no_grad
from ..tensor import Tensor, _leaf, _make, _next_seq, _wrap
# The view registry, the tensors' versions (snapshot, _become) and the views' refresh after a write live in
# inplace_views.py; its functions are also reached as inplace.view_of etc. (the view ops, inplace_shape.py)
from .inplace_views import (_after_write, _become, _compose, _move_hooks, _refresh, _view_of, mark_view,  # noqa: F401
                            may_be_stale, refresh, refresh_views, snapshot, view_of)

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


# ------------------------------------------------------------------------ writes
def _refcount_when_alone():
    """``sys.getrefcount`` of an array held only by the engine's local variable, as a VJP sees it when it
    calls ``alone(g, sys.getrefcount(g))`` (the same expression: ``g`` is then also on the VJP's stack)."""
    def vjp(g):
        return (lambda g, refs: refs)(g, sys.getrefcount(g))
    return (lambda g: vjp(g))(np.empty(1))


_ALONE_REFS = _refcount_when_alone()


def _base_refcount_when_alone():
    """``sys.getrefcount(base)`` in ``alone`` for a view whose base array nothing but the view holds."""
    base = np.empty(2)
    view = base[1:]
    del base
    return alone(view, _ALONE_REFS, _calibrating=True)


def alone(g, refs, _calibrating=False):
    """Whether backward may write into the gradient ``g`` it handed a VJP: an array that nothing else refers
    to (no retained .grad, hook, capture or other view of it) and that owns its memory, or is a view (a
    convolution's batch-last gradient is a transposed one) of an array that only it refers to. PyTorch steals
    a gradient under the same condition (use count 1)."""
    if refs > _ALONE_REFS or not g.flags.writeable:
        return False
    base = g.base
    if base is None:
        return True
    if _calibrating:
        return sys.getrefcount(base)
    return base.__class__ is np.ndarray and base.base is None and sys.getrefcount(base) <= _BASE_ALONE_REFS


_BASE_ALONE_REFS = _base_refcount_when_alone()


def read_only(x, op):
    """The error for a write into a read-only tensor (NumPy's read-only views: broadcast_to, diagonal, the
    imaginary part of a real tensor): NumPy refuses these writes too, which could not reach the base."""
    return ValueError(f"{op}: the tensor (shape {x.shape}, {x.dtype}) is read-only: a read-only view (broadcast_to, "
                      f"diagonal, the imag of a real tensor, as in NumPy; unfold with overlapping windows; H / mH of "
                      f"a complex tensor, a copy) or a read-only NumPy array's memory; copy it first (x.copy())")


def check_leaf(x, op, values=True):
    """An in-place op on a leaf that requires grad (or a view of one) is an error while recording. ``values=False``:
    an op that changes only the shape (unsqueeze_, t_, ...): no buffer hint and no read-only check."""
    if x._requires_grad and x._vjps is None:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad is being used in an in-place operation; "
                           f"do it under npg.no_grad(), or on a copy (x.clone()) / a non-leaf tensor."
                           + (f" (A buffer to fill, as torch.zeros gives: make it with requires_grad=False, e.g. "
                              f"npg.zeros({', '.join(map(str, x.shape))}, requires_grad=False): npgrad's floating "
                              f"tensors require grad by default)" if values else ""))
    info = _view_of(x)
    if info is not None:
        base = info[0]
        if base._requires_grad and base._vjps is None:
            raise RuntimeError(f"{op}: a view of a leaf tensor that requires grad is being used in an in-place "
                               f"operation; do it under npg.no_grad(), or on a copy (x.clone())")
        if base._requires_grad and not x._requires_grad:
            raise RuntimeError(f"{op}: this view was created under no_grad and is being modified in place with "
                               f"grad mode on: the gradient could not reach its base. Create the view with grad "
                               f"mode on, or do the in-place operation under npg.no_grad()")
    _fwd.check_alias_write(x if info is None else info[0], op)
    if values and not x.data.flags.writeable:
        raise read_only(x, op)


def is_recording(x, other):
    """Whether an in-place write into ``x`` with operand ``other`` must be recorded in the graph (or, with
    forward AD, must update tangents)."""
    if _tensor_mod._FW and carries_tangent(x, other):
        return True
    if not _state.enabled:
        return False
    if x._requires_grad or (isinstance(other, Tensor) and other._requires_grad):
        return True
    info = _view_of(x)
    return info is not None and info[0]._requires_grad


def carries_tangent(x, *others):
    """Whether a write into ``x`` involves tangents of an active dual level (of ``x``, its base or an operand)."""
    info = _view_of(x)
    return (_fwd.is_dual(x) or (info is not None and _fwd.is_dual(info[0]))
            or any(isinstance(o, Tensor) and _fwd.is_dual(o) for o in others))


def unaliased(x, other):
    """``other`` as the operand of a write into ``x``: itself, or a copy when it may share ``x``'s memory
    (``z *= z``, ``z *= z.T``, ``z[1:] += z[:-1]``). The op saves its operands for backward, and the write
    would change an aliasing one under it: its gradient would read the new values. The copy is recorded
    (npgrad's ``copy``), so the gradient still reaches ``other``'s current version; PyTorch raises here
    ("modified by an inplace operation") where npgrad differentiates the values NumPy computed."""
    od = other.data if isinstance(other, Tensor) else other
    if isinstance(od, np.ndarray) and od.size and np.may_share_memory(od, x.data):
        if isinstance(other, Tensor):
            from .arrays import copy
            return copy(other)
        return od.copy()
    return other


def write(x, op, apply, copy_old=False, counted=False):
    """Write into ``x`` in graph mode. ``apply(old)`` gets a snapshot of ``x``'s current version and returns
    a Tensor node for the new values: either computed out of place (they are then copied into ``x``'s
    memory, cast to its dtype) or already written into ``x.data`` (its data is then ``x.data``).
    ``copy_old``: the node's gradient reads the overwritten value, so the snapshot keeps a copy of it.
    ``counted``: the write was counted in the memory's version already, before ``apply`` recorded the node (a
    custom Function's forward wrote into its input: autograd/function.py)."""
    if _tensor_mod._STALE:
        refresh(x)
    if _state.enabled:
        check_leaf(x, op)
    elif not x.data.flags.writeable:
        raise read_only(x, op)
    old = snapshot(x, copy=copy_old)
    _move_hooks(x, old)
    start = _next_seq()
    try:
        node = apply(old)
        if not node._requires_grad and _state.enabled and old._requires_grad:
            # new values that do not depend on a recorded old value: the old one gets a zero gradient, as in
            # PyTorch (keeping x's node instead would differentiate the values the write replaced)
            from .elementwise import where
            node = where(True, node, old)
        if node.data is not x.data:
            if node.data.shape != x.data.shape:
                raise ValueError(f"{op}: in-place operation would change the tensor's shape from {x.data.shape} to "
                                 f"{node.data.shape} (the other operand must broadcast to the tensor's shape)")
            if not np.can_cast(node.data.dtype, x.data.dtype, "same_kind"):
                raise TypeError(f"{op}: in-place result of dtype {node.data.dtype} cannot be stored in a tensor of "
                                f"dtype {x.data.dtype}")
    except BaseException:  # a refused write leaves x as it was: the hooks _move_hooks took go back to it
        moved = {k: v for k, v in (old._extra or {}).items() if k in ("hooks", "node_hooks", "metadata")}
        x._extra = dict(x._extra or {}, **moved) if moved else x._extra   # (old may hold views apply took)
        raise
    if node.data is not x.data:
        np.copyto(x.data, node.data, casting="same_kind")
        node.data = x.data  # the graph keeps no second copy of the values
    fresh = node._vjps is not None and node._seq > start
    if not counted:
        # the write comes just before the node apply recorded (the ops apply recorded before it may have saved the
        # overwritten values), so that the node and the ops recorded after it, such as those of its tangent under
        # forward AD, which may read the values written, are newer than the write
        _versions.bump(x.data, op, at=node._seq - 0.5 if fresh else None)
    if not node._requires_grad:  # forward AD without a graph: only the tangents change
        _write_tangents(x, node)
        return x
    if node._vjps is not None and not fresh:
        node._seq = _next_seq()  # newer than the write: its VJPs may read the value just written
    info = _view_of(x)
    if info is None:
        _become(x, node, old)
        _after_write(x, first=not old._requires_grad)
    else:
        base, fn = info
        base_old = snapshot(base)
        _move_hooks(base, base_old)  # (a write through a view is a write into the base: PyTorch's CopySlices)
        cs = _make(base.data, "copy_slices", (node, base_old), (node.data, base.data), _copy_slices_vjps(fn),
                   _copy_slices_jvp(fn))
        _become(base, cs, base_old)
        _refresh(x, base, old)  # (the view written: its previous version is the snapshot the op used)
        _after_write(base, first=not base_old._requires_grad)
    _versions.moved()  # nodes recorded before hold x (and the views) and must reach their earlier versions
    return x


def _write_tangents(x, node):
    """After a write without a graph: ``x`` gets ``node``'s tangents (through ``copy_slices`` for its base when
    ``x`` is a view), and every live view of the memory the view of the new tangent."""
    info = _view_of(x)
    if info is None:
        _fwd.copy_tangents(x, node)
        base = x
    else:
        base, fn = info
        base_old = _leaf(base.data)
        _fwd.copy_tangents(base_old, base)
        with no_grad():
            cs = _make(base.data, "copy_slices", (node, base_old), (node.data, base.data), _copy_slices_vjps(fn),
                       _copy_slices_jvp(fn))
        _fwd.copy_tangents(base, cs)
    views = base._extra.get("views") if base._extra else None
    for ref in list(views or ()):
        w = ref()
        if w is not None and w._extra["view"][0] is base:
            with no_grad():
                _fwd.copy_tangents(w, w._extra["view"][1](base))


def _copy_slices_jvp(fn):
    """The JVP of a base rewritten through the view ``fn(base)`` (parents ``(value written, base's previous
    contents)``): the written value's tangent inside the view, the previous tangent outside it (in the base's
    real components: a view may change the dtype, as ``real`` or ``view_as_real`` do)."""
    def jvp(tans, y, view, base):
        from .complex import _complex_of, _real_pairs_of
        from .index import _assign
        tv, tb = tans
        cplx = y.dtype.kind == "c"
        cshape = y.shape + (2,) if cplx else y.shape
        pos = _covered(fn, y)  # the base's real components the view covers
        n = int(np.prod(cshape))
        inside = np.zeros(n, dtype=bool)
        inside[pos] = True
        inside = inside.reshape(cshape)
        rdt = y.real.dtype
        out = _wrap(np.zeros(cshape, rdt)) if tb is None else np.where(inside, 0, _real_pairs_of(tb) if cplx else tb)
        if tv is not None:
            tvc = _real_pairs_of(tv) if np.dtype(tv.dtype).kind == "c" else tv
            placed = _assign(_wrap(np.zeros(n, rdt)), (pos,), np.reshape(tvc, (-1,)))
            out = out + np.reshape(placed, cshape)
        return _complex_of(out) if cplx else out
    return jvp


_versions.reads("copy_slices", "")  # its VJPs read no values (only the shape and layout of the base)


def _copy_slices_vjps(fn):
    """The VJPs of a base rewritten through the view ``fn(base)``, for the parents ``(value written, base's
    previous contents)``: inside the view the gradient goes to the value written (copied out of ``g``
    first), outside it to the base's previous contents (``g`` zeroed inside the view: in place when
    nothing else holds ``g``, as setitem does)."""
    def vjp_view(g, y, view, base):
        r = fn(g)
        return r if isinstance(r, Tensor) else np.array(r)

    def vjp_base(g, y, view, base):
        if isinstance(g, Tensor):  # create_graph: a mask, so the result is differentiable in g
            cplx = base.dtype.kind == "c"
            mask = np.ones(base.size * (2 if cplx else 1), dtype=bool)
            mask[_covered(fn, base)] = False
            if not cplx:
                return np.where(mask.reshape(base.shape), g, 0)
            from .complex import _complex_of, _real_pairs_of
            return _complex_of(np.where(mask.reshape(base.shape + (2,)), _real_pairs_of(g), 0))
        if alone(g, sys.getrefcount(g)) and g.strides == base.strides:
            out = g
        else:
            out = np.empty_like(base)  # base's memory layout, so fn(out) is a view as fn(base) was
            out[...] = g
        _region(out, fn)[...] = 0
        return out
    return (vjp_view, vjp_base)


def _region(a, fn):
    """``fn(a)`` as a view of ``a`` (so writing into it writes into ``a``)."""
    r = fn(a)
    if np.may_share_memory(r, a):
        return r
    # a layout where fn copies (a reshape of another stride order): go through flat positions instead
    return _FlatRegion(a, _covered(fn, a))


def _covered(fn, base):
    """The real components of ``base`` that the view ``fn(base)`` covers, in the view's order (flattened):
    component ``k`` is element ``k`` of a real base, the real (``k`` even) or imaginary (``k`` odd) part of
    element ``k // 2`` of a complex one, counted in C order. A view may change the dtype (``real``,
    ``view_as_real``, ``view_as_complex``), so positions are counted in components, not elements."""
    cplx = base.dtype.kind == "c"
    ids = np.empty_like(base, dtype=np.complex128 if cplx else np.float64)  # base's layout: fn views it as base
    k = np.arange(base.size * (2 if cplx else 1), dtype=np.float64)
    ids[...] = (k[0::2] + 1j * k[1::2] if cplx else k).reshape(base.shape)
    v = fn(ids)
    v = np.asarray(v.data if isinstance(v, Tensor) else v)
    if v.dtype.kind == "c":
        v = np.stack([v.real, v.imag], axis=-1)
    return v.reshape(-1).astype(np.intp)


class _FlatRegion:
    """``region[...] = value`` writes ``value`` at the real components ``pos`` (see _covered) of ``a``."""
    __slots__ = ("a", "pos")

    def __init__(self, a, pos):
        self.a, self.pos = a, pos

    def __setitem__(self, key, value):
        if self.a.dtype.kind != "c":
            self.a.flat[self.pos] = value
            return
        re, im = self.pos[self.pos % 2 == 0] // 2, self.pos[self.pos % 2 == 1] // 2
        self.a.real.flat[re] = value
        self.a.imag.flat[im] = value


# ------------------------------------------------------------------------ PyTorch's ``x.op_(...)`` methods
def method(name, fn, op=None):
    """A Tensor method ``x.name(*args)`` that writes ``fn(x, *args)`` into ``x`` and returns ``x``, as
    PyTorch's in-place methods do. ``fn`` computes out of place (any npgrad op or composition); ``op``
    names the npgrad op it records, whose declared reads say whether the overwritten value must be kept
    (unknown: kept, which costs a copy of what is written, never a wrong gradient). An ``fn`` with an ``into``
    (relu, add, sub, mul, div: ops/elementwise.py) is computed straight into ``x``'s memory when the write's VJPs
    do not read the overwritten value (``into`` falls back to out of place when the result does not fit)."""
    def m(self, *args, **kwargs):
        if _tensor_mod._VMAP:  # a batched tensor written in place: npgrad/_vmap_losses.py's inplace rule
            r = _tensor_mod._vmap_call("inplace", m, (self,) + args, kwargs)
            if r is not NotImplemented:
                return r
        if not isinstance(self, Tensor):  # (F.relu_(None): not an AttributeError from deep inside)
            raise TypeError(f"{name}: expected a Tensor to write into, got {type(self).__name__}")
        tensors = [a for a in args if isinstance(a, Tensor)] + [a for a in kwargs.values() if isinstance(a, Tensor)]
        if not (_state.enabled and (self._requires_grad or any(t._requires_grad for t in tensors)
                                    or (_view_of(self) is not None and _view_of(self)[0]._requires_grad))) \
                and not (_tensor_mod._FW and carries_tangent(self, *tensors)):
            from ..autograd.grad_mode import no_grad
            if not self.data.flags.writeable:
                raise read_only(self, name)
            with no_grad():
                out = (fn.into if hasattr(fn, "into") else fn)(self, *args, **kwargs)
            if isinstance(out, Tensor) and out.data is self.data:  # computed into the memory (fn.into)
                _versions.bump(self.data, name)
                return self
            od = out.data if isinstance(out, Tensor) else np.asarray(out)
            if np.broadcast_shapes(od.shape, self.shape) != self.shape:
                raise ValueError(f"{name}: in-place operation would change the tensor's shape from {self.shape} "
                                 f"to {od.shape}")
            if not np.can_cast(od.dtype, self.dtype, "same_kind"):
                raise TypeError(f"{name}: in-place result of dtype {od.dtype} cannot be stored in a tensor of dtype "
                                f"{self.dtype}")
            np.copyto(self.data, od, casting="same_kind")
            _versions.bump(self.data, name)
            return self
        grads = [0] if self._requires_grad else []
        args = tuple(unaliased(self, a) for a in args)
        kwargs = {k: unaliased(self, v) for k, v in kwargs.items()}
        if hasattr(fn, "into") and not _versions.reads_input(
                op, 0, grads + ([1] if any(t._requires_grad for t in tensors) else [])):
            # recorded on the snapshot of x, its values computed into x's memory (when they fit it)
            return write(self, name, lambda old: fn.into(old, *args, **kwargs))
        copy_old = True if op is None else _versions.reads_input(op, 0, grads + [1])
        return write(self, name, lambda old: _full(fn(old, *args, **kwargs), self), copy_old=copy_old)
    m.__name__ = name
    m._inplace = (fn, op)
    m.__doc__ = f"In place: ``x.{name}(...)`` writes the result into ``x`` and returns it (PyTorch's ``{name}``)."
    return m


def _full(out, like):
    """``out`` as a Tensor of ``like``'s shape (a constant or a smaller result broadcast to it)."""
    if not isinstance(out, Tensor):
        from ..tensor import _wrap
        out = _wrap(np.asarray(out, dtype=like.dtype))
    if out.shape != like.shape:
        out = out * np.ones(like.shape, like.dtype) if out.size else out
    return out
