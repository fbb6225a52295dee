"""The Tensor: a NumPy array that remembers how it was computed.

A Tensor is also its own graph node (as in micrograd): a result of an op keeps the op's
inputs (``_parents``), the NumPy values its VJPs read (``_saved``: None for an input they do not
read, see npgrad/ops/elementwise.py), one vector-Jacobian product per input (``_vjps``) and its
creation number (``_seq``, a float: backward's order and the in-place checks of autograd/versions.py). A tensor
points only at its inputs, never at its results, so a graph holds no reference cycles and is freed by reference
counting alone; except after an in-place write into a tensor whose views the graph read (``y[i + 1] = y[i] * 2``):
the base's new node reaches those views, which point back at the base. Backward releases those links; a graph
dropped without one is freed by Python's cyclic collector. A result that nothing but the
graph refers to any more, whose value no VJP reads, gives its array back and keeps only its shape and dtype
(npgrad/_freeing.py), as PyTorch's graph keeps only the values its backward reads.

Every arithmetic dunder only delegates to a function in ``npgrad.ops``; they are attached
at the bottom of ``npgrad/ops/__init__.py``.
"""
import itertools
import warnings

import numpy as np

from . import _freeing
from .autograd.grad_mode import _state
from .autograd.complex_rules import complex_vjps
from .autograd.handles import _HookHandle, _PostHookHandle
from ._graph_cut import graph_cut_error as _graph_cut_error
from .dtypes import canonical, check_numeric, default_complex_dtype, get_default_dtype, plain_array

_new = object.__new__
_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)  # (NumPy's dtypes of native arrays are these objects)
_F16 = np.dtype(np.float16)   # (tested with ==: an unpickled array's float16 dtype is equal, another object)
_next_seq = itertools.count(0.0, 1.0).__next__  # creation order of recorded tensors = a topological order (floats:
# exact integers up to 2**53, and 32 bytes each where an int above 256 takes 48)

# Forward-mode AD (npgrad/autograd/forward_ad.py): the number of active dual levels (in any thread), and the
# function that gives an op's output its tangents. ``_make`` / ``_record`` check ``_FW`` and nothing else.
_FW = 0
_propagate = None  # set by npgrad.autograd.forward_ad
# vmap (npgrad/func_vmap.py): the number of vectorized vmap calls open in all threads (0: none; the calling
# thread's own level is npgrad/_vmap_state.py: depth()), and its dispatcher. An op with a batching rule checks
# ``_VMAP`` at entry and nothing else; ``_vmap_call(kind, op, args, kwargs)`` returns the batched result, or
# NotImplemented when no argument is batched (at this thread's level).
_VMAP = 0
_vmap_call = None
# Views a write left on their base's earlier node (npgrad/ops/inplace.py): while ``_STALE`` is set, ``_record``
# first hands its inputs to ``_refresh_inputs``, which makes such a view a view of its base's current node.
_STALE = False
_refresh_inputs = None  # set by npgrad.ops.inplace
# npgrad.autograd.engine.backward, which Tensor.backward calls: set by that module, which imports this one (an
# import inside the method cost ~0.7 us per backward call)
_engine_backward = None


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Build one with :func:`npgrad.tensor` or a constructor (``npg.randn(3, 4)``). Floating
    tensors track gradients unless made with ``requires_grad=False``; integer and bool
    tensors never do.
    """

    __slots__ = ("data", "_grad", "_requires_grad", "_parents", "_saved", "_vjps", "_op", "_seq",
                 "_pending", "_extra", "__weakref__")
    __array_priority__ = 1000.0

    def __init__(self, data, dtype=None, requires_grad=None):
        arr = _to_array(data, dtype, "Tensor")
        self.data = arr
        self._grad = None
        self._requires_grad = _default_requires_grad(arr, requires_grad, "Tensor")
        self._parents = None
        self._vjps = None
        self._extra = None

    # ---------------------------------------------------------------- attributes
    shape = property(lambda self: self.data.shape, doc="Tuple of array dimensions.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="NumPy dtype of the data.")

    @property
    def grad(self):
        """The gradient accumulated by backward (an ndarray of this tensor's shape and dtype; a Tensor after
        ``backward(create_graph=True)``), or None. Read on a non-leaf that did not ``retain_grad()`` and has none,
        it warns as PyTorch does (backward never fills it)."""
        g = self._grad
        if g is None and self._vjps is not None and not (self._extra and self._extra.get("retain")):
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                "won't be populated during backward. If you want the gradient of a non-leaf Tensor, call "
                ".retain_grad() on it before backward, or use npg.autograd.grad.", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            g = value.data if isinstance(value, Tensor) else value
            if not isinstance(g, np.ndarray) and not getattr(g, "is_sparse", False):
                raise TypeError(f"assigned grad must be a NumPy array, a Tensor or None, not {type(value).__name__}")
            if type(g) is not np.ndarray and isinstance(g, np.ndarray):  # (an np.matrix: Adam's g * g was g @ g)
                value = g = plain_array(g, "assigned grad", operand=False)
            if g.shape != self.data.shape:
                raise RuntimeError(f"assigned grad has shape {g.shape}, but the tensor has shape {self.data.shape}")
            if g.dtype != self.data.dtype:
                raise RuntimeError(f"assigned grad has dtype {g.dtype}, but the tensor has dtype {self.data.dtype}")
        self._grad = value

    @property
    def retains_grad(self):
        """True for a non-leaf on which ``retain_grad()`` was called (PyTorch's ``Tensor.retains_grad``)."""
        return self._vjps is not None and bool(self._extra and self._extra.get("retain"))

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by an op that records a graph."""
        return self._vjps is None

    @property
    def grad_fn(self):
        """The op's node (a str equal to the op's name, with PyTorch's Node API: autograd/graph.py), or None."""
        from .autograd.graph import Node
        if _STALE:
            _refresh_inputs((self,))
        return None if self._vjps is None else Node(self)

    def __reduce_ex__(self, protocol):
        """Pickling and ``copy.copy``: a tensor an op made is rebuilt as a new leaf with its values and
        ``requires_grad``, as PyTorch's (its graph, which holds functions, stays behind); others as they are."""
        if self._vjps is None or type(self) is not Tensor:
            return object.__reduce_ex__(self, protocol)
        return (Tensor, (self.data, None, self._requires_grad))

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    __hash__ = object.__hash__  # identity, so tensors can sit in sets and dicts despite __eq__

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = []
        if self.data.dtype != get_default_dtype() and self.data.dtype.kind == "f" or (
                self.data.dtype.kind == "c" and self.data.dtype != default_complex_dtype()):
            extra.append(f"dtype={self.data.dtype}")
        if self._vjps is not None and self._op is not None:
            extra.append(f"grad_fn=<{self._op}>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    def item(self, *args):
        """The value of a one-element tensor as a Python number; with arguments, the element at that flat
        index or index tuple, as ``ndarray.item``."""
        if args:
            try:
                return self.data.item(*args)
            except (IndexError, ValueError, TypeError) as e:
                raise type(e)(f"item(): {e} (tensor of shape {self.data.shape})") from None
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, got shape {self.data.shape}")
        return self.data.item()

    def numpy(self):
        """The underlying NumPy array (shares memory; no gradient)."""
        return self.data

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """A tensor sharing this one's data, cut from the graph (``requires_grad=False``)."""
        return _wrap(self.data)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return the tensor.

        As in PyTorch, a non-leaf (the output of a recorded op) accepts ``True``, which it
        already is, and refuses ``False``, which would silently cut it from the graph.
        """
        if self._vjps is None or not requires_grad:
            self.requires_grad = requires_grad
        return self

    @property
    def requires_grad(self):
        """Whether gradients are tracked through this tensor; assignable on leaves only, as in PyTorch."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad):
        if self._vjps is not None:
            raise RuntimeError("requires_grad can only be changed on a leaf tensor, not on the output of a "
                               "recorded op (turning it off would cut the graph): use detach() for a tensor "
                               "without a gradient")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only floating and complex tensors can require gradients, not {self.data.dtype}")
        self._requires_grad = bool(requires_grad)

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.data.dtype}")
        return self.data.__index__()

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad and _state.enabled:
            raise _graph_cut_error(self)
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        if copy:
            return self.data.copy()
        return self.data

    def __dlpack__(self, *args, **kwargs):  # the array-exchange protocol torch.tensor / torch.as_tensor use
        if self._requires_grad and _state.enabled:
            raise _graph_cut_error(self)
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def __format__(self, spec):
        if self.data.ndim == 0:
            return format(self.data.item(), spec)  # f"{loss:.4f}", as NumPy scalars and PyTorch
        return object.__format__(self, spec)

    @property
    def _version(self):
        """How many in-place writes were counted into this tensor's memory (shared with its views), as
        PyTorch's ``Tensor._version``."""
        from .autograd.versions import version
        return version(self.data)

    def backward(self, grad=None, retain_graph=None, create_graph=False, inputs=None, *, gradient=None):
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``.

        ``grad`` (PyTorch's keyword ``gradient=`` also works) may be omitted only for a one-element tensor;
        otherwise it is the gradient of some scalar with respect to ``self`` and must have ``self``'s shape.
        The graph is released afterwards unless ``retain_graph=True`` (which defaults to ``create_graph``, as
        in PyTorch); ``create_graph=True`` records the backward pass itself so it can be differentiated
        again (``.grad`` then holds a Tensor).
        """
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward(): got both grad and its PyTorch spelling gradient=")
            grad = gradient
        _engine_backward((self,), None if grad is None else (grad,), retain_graph=retain_graph,
                         create_graph=create_graph, inputs=inputs)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor during backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that has requires_grad=False")
        if _STALE:
            _refresh_inputs((self,))
        if self._vjps is None:
            return
        extra = self._extra or {}
        extra["retain"] = True
        self._extra = extra

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return replaces it.
        Returns a handle whose ``remove()`` unregisters the hook (as PyTorch's)."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if _STALE:
            _refresh_inputs((self,))
        extra = self._extra or {}
        hooks = extra.setdefault("hooks", [])
        hooks.append(hook)
        self._extra = extra
        return _HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` on this leaf right after backward has accumulated its gradient into ``.grad``
        (PyTorch's hook of that name; its return value is ignored). The leaf's gradient is then accumulated as
        soon as it is complete, before the rest of backward runs (see ``autograd/leaves.py``: _EarlyLeaves).
        Returns a handle whose ``remove()`` unregisters the hook."""
        if self._vjps is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        from .autograd.engine import _post_hooked
        extra = self._extra or {}
        hooks = extra.setdefault("post_hooks", [])
        hooks.append(hook)
        self._extra = extra
        _post_hooked[id(self)] = self
        return _PostHookHandle(self, hook)


ndarray = Tensor  # the original npgrad's name for the class


# -------------------------------------------------------------------- creating tensors
def _leaf(data, requires_grad=False):
    """A tensor with no graph behind it: a user's leaf, a constant, or an op result under no_grad."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    t = _new(Tensor)
    t.data = data
    t._grad = None
    t._requires_grad = requires_grad
    t._parents = None
    t._vjps = None
    t._extra = None
    return t


_wrap = _leaf  # a constant: _wrap(data) records nothing and requires no grad


def _record(data, op, parents, saved, vjps, jvps=None):
    """A tensor that remembers it was made by ``op`` from ``parents``.

    ``saved`` are the NumPy values the op was computed from (passed to the VJPs on the plain
    backward path; None in place of an input no VJP reads); ``vjps[i](g, out, *inputs)`` gives the gradient
    for ``parents[i]``. (npgrad/ops/elementwise.py inlines this body for its real results: keep them alike.) ``jvps`` is the
    op's forward-mode rule (see npgrad/autograd/forward_ad.py), used only while a dual level is active.
    """
    if _STALE:
        _refresh_inputs(parents)
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    t = _new(Tensor)
    t.data = data
    t._grad = None
    t._requires_grad = True
    t._parents = parents
    t._saved = saved
    t._vjps = vjps
    t._op = op
    dt = data.dtype  # complex values: the op's rule for PyTorch's convention (autograd/complex_rules.py); the
    if dt is not _F64 and dt is not _F32 and dt.kind == "c":  # identity tests first: cheaper than dt.kind
        t._vjps = complex_vjps(op, vjps)
    t._seq = _next_seq()
    t._pending = None
    t._extra = None
    if data.size >= _freeing.min_size:
        _freeing.recorded(parents)
    if _FW:
        return _propagate(t, op, parents, vjps, jvps)
    return t


class Exact(tuple):
    """VJPs declared to return gradients of exactly their input's shape and dtype (elementwise ops on
    same-shape, same-dtype inputs): backward then skips its per-input un-broadcasting and dtype checks."""

    __slots__ = ()


class SavesNothing(tuple):
    """An empty ``_saved`` whose VJPs read no input on either backward path: the engine then hands them none under
    ``create_graph=True`` either (a join of many inputs, npgrad/ops/_join_vjps.py: its n inputs, unpacked into each
    of its n VJP calls, made that backward O(n^2))."""

    __slots__ = ()


def passthrough(g, y, *inputs):
    """The VJP (and JVP) that passes the gradient through unchanged (add, sub's first input...): backward
    recognises it and skips the call."""
    return g


def _make(data, op, parents, saved, vjps, jvps=None):
    """Record ``op`` if grad mode is on and any Tensor parent requires grad; else a constant. ``jvps``: the
    op's forward-mode rule, declared beside ``vjps`` (npgrad/autograd/forward_ad.py). Batching rules for vmap
    are dispatched at an op's entry instead, by family (npgrad/func_vmap.py)."""
    if _state.enabled:
        for p in parents:
            if isinstance(p, Tensor) and p._requires_grad:
                return _record(data, op, parents, saved, vjps, jvps)
    if _FW:
        if _STALE:
            _refresh_inputs(parents)
        return _propagate(_wrap(data), op, parents, vjps, jvps)
    return _wrap(data)


def _to_array(data, dtype, where):
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray):
        arr = data if type(data) is np.ndarray else plain_array(data, where, operand=False)
    else:
        arr = np.asarray(data)
        if dtype is None and arr.dtype.kind == "f" and not isinstance(data, np.generic):
            arr = arr.astype(get_default_dtype(), copy=False)  # Python floats take the default dtype
        elif dtype is None and arr.dtype.kind == "c" and not isinstance(data, np.generic):
            arr = arr.astype(default_complex_dtype(), copy=False)  # Python complex numbers: its complex dtype
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return canonical(check_numeric(arr, where))


def is_complex_value(v):
    """Whether ``v`` (an array, a NumPy or Python number) is complex; cheap for float64 and float32 arrays."""
    dt = getattr(v, "dtype", None)
    if dt is None:
        return v.__class__ is complex
    return dt is not _F64 and dt is not _F32 and dt.kind == "c"


def _default_requires_grad(arr, requires_grad, where):
    if requires_grad is None:
        return arr.dtype.kind in "fc"
    if requires_grad and arr.dtype.kind not in "fc":
        raise TypeError(f"{where}: only floating and complex tensors can require gradients, not {arr.dtype}")
    return bool(requires_grad)


def tensor(data, dtype=None, requires_grad=None):
    """Build a tensor from a list, scalar, NumPy array or tensor (the data is copied).

    Floating tensors require grad unless ``requires_grad=False``; integer and bool never do.
    """
    if _VMAP:  # of a batched tensor (or lists holding one): the batched copy (npgrad/_vmap_losses.py)
        r = _vmap_call("tensor", tensor, (data,), dict(dtype=dtype, requires_grad=requires_grad))
        if r is not NotImplemented:
            return r
    arr = _to_array(data, dtype, "tensor")
    src = data.data if isinstance(data, Tensor) else data
    if isinstance(src, np.ndarray) and np.may_share_memory(arr, src):
        arr = arr.copy()  # never share memory with the caller's array (nor a view of it: _to_array's may be)
    return _leaf(arr, _default_requires_grad(arr, requires_grad, "tensor"))


def as_tensor(data, dtype=None):
    """Return ``data`` if it is already a Tensor (of ``dtype``), else a constant Tensor of it."""
    if _VMAP and not isinstance(data, Tensor):  # lists holding batched tensors: their stack
        r = _vmap_call("tensor", as_tensor, (data,), dict(dtype=dtype))
        if r is not NotImplemented:
            return r
    if isinstance(data, Tensor):
        if dtype is None or data.dtype == dtype:
            return data
        return data.astype(dtype)  # differentiable, as torch.as_tensor's copy
    return _wrap(_to_array(data, dtype, "as_tensor"))


def const(value, where):
    """The NumPy value of an op's non-Tensor operand: Python numbers stay weak (NEP 50)."""
    if isinstance(value, (float, int, complex, np.ndarray, np.generic)):
        if isinstance(value, (np.ndarray, np.generic)):
            if type(value) is not np.ndarray and isinstance(value, np.ndarray):
                value = plain_array(value, where)
            check_numeric(np.asarray(value), where)
        return value
    if isinstance(value, (list, tuple)):
        return check_numeric(np.asarray(value), where)
    raise TypeError(f"{where}: unsupported operand of type {type(value).__name__}")


_freeing.bind(Tensor, _leaf)
