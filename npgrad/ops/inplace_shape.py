"""PyTorch's in-place shape methods ``x.unsqueeze_(dim) squeeze_(dim=None) t_() transpose_(d0, d1) swapdims_(d0, d1)
swapaxes_(a0, a1)``: ``x`` (the same object, returned) takes the new shape; its memory is untouched.

As in PyTorch they are in-place ops on the graph (npgrad/ops/inplace.py): a leaf that requires grad (or a view of
one) raises while grad mode is on; a tensor in a graph gets a new node, the view op applied to its previous node
(a snapshot), so the gradient flows back through the shape change; the memory's version counter counts the change,
so a value an op saved before it is refused in backward ("modified by an inplace operation"), as in PyTorch.
Under ``no_grad`` a leaf just takes the new shape; a tensor that is in a graph still records the shape change
(its node must give gradients of its new shape: PyTorch keeps the old node and then fails, or sums, in backward).

Views. A view of ``x`` keeps seeing the same memory (NumPy's view, as PyTorch's view keeps its strides); what
npgrad remembers of how to reach it from ``x`` (``_extra["view"]``) is updated: when ``x`` itself is a view, its
path from its base gains the shape op; when ``x`` is a base, its views' paths start with the inverse shape op
(so a later write through a view, or into ``x``, still reaches the right elements and gradients).
"""
import numpy as np

from ..autograd import forward_ad as _fwd
from ..autograd import versions as _versions
from ..autograd.grad_mode import _state, enable_grad, no_grad
from ..tensor import Tensor
from . import inplace as _inplace
from .inplace import _become, _move_hooks, _view_of, snapshot

_tensor_mod = _inplace._tensor_mod


def _dim(d, n, op):
    """``d`` as a dimension in ``[0, n)`` (PyTorch's 0-d tensors have the dims 0 and -1), or PyTorch's IndexError."""
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(d).__name__} {d!r}")
    m = max(n, 1)
    if not -m <= d < m:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-m}, {m - 1}], but got {d})")
    return int(d) % m


def _reshaper(shape):
    return lambda a: a.reshape(shape)


def _swapper(a, b):
    return lambda t: t.swapaxes(a, b)


def _unsqueeze(x, dim):
    n = x.ndim
    d = _dim(dim, n + 1, "unsqueeze_")
    new = x.shape[:d] + (1,) + x.shape[d:]
    return _reshaper(new), _reshaper(x.shape)


def _squeeze(x, dim=None):
    n = x.ndim
    if dim is None:
        dims = range(n)
    else:
        given = [_dim(d, n, "squeeze_") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        dims = set(given)
        if len(dims) < len(given):
            raise RuntimeError(f"squeeze_: dim {next(d for d in given if given.count(d) > 1)} appears multiple "
                               f"times in the list of dims {tuple(dim)} (tensor of shape {x.shape})")
    new = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))  # (torch skips other sizes)
    return _reshaper(new), _reshaper(x.shape)


def _transpose(op):
    def make(x, dim0, dim1):
        a, b = _dim(dim0, x.ndim, op), _dim(dim1, x.ndim, op)
        if x.ndim == 0:
            return _reshaper(()), _reshaper(())
        return _swapper(a, b), _swapper(a, b)

    if op == "swapaxes_":  # torch's keywords for swapaxes_ are axis0 / axis1
        def make_axes(x, axis0, axis1):
            return make(x, axis0, axis1)
        return make_axes
    return make


def _t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t_: expects a tensor with <= 2 dimensions, but this one has shape {x.shape} "
                           f"({x.ndim}-D); use transpose_(dim0, dim1) / swapaxes_")
    if x.ndim < 2:
        return _reshaper(x.shape), _reshaper(x.shape)
    return _swapper(0, 1), _swapper(0, 1)


def _compose(first, then):
    return lambda a: then(first(a))


def shape_method(name, make):
    """The Tensor method ``x.name(*args)``: ``make(x, *args)`` checks the arguments and gives ``(step, inverse)``,
    functions of an array or Tensor applying the shape change and undoing it (both views)."""
    def m(self, *args, **kwargs):
        if not isinstance(self, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(self).__name__}")
        if type(self) is not Tensor and hasattr(self, "_inner"):  # a batched tensor under vmap
            raise NotImplementedError(f"{name}: in-place shape changes are not supported under vmap; use the "
                                      f"out-of-place {name[:-1]}")
        step, inverse = make(self, *args, **kwargs)
        _inplace.refresh(self)  # (a view a write left on its base's earlier node: the change is on its current one)
        if _state.enabled:
            _inplace.check_leaf(self, name, values=False)
        new = step(self.data)
        if new.size and not np.may_share_memory(new, self.data):  # (NumPy gives views for these: never reached)
            raise RuntimeError(f"{name}: the shape change of {self.shape} would copy the memory")
        _versions.bump(self.data, name)  # before the new node: nodes older than the change check what they saved
        recorded = self._requires_grad and self._vjps is not None
        if recorded:
            old = snapshot(self)
            _move_hooks(self, old)
            with enable_grad():
                node = step(old)
            _become(self, node, old)
            self.data = node.data
            _versions.moved()  # ops that used this tensor before reach its previous node (versions.inputs_as_of)
        else:
            if _fwd.is_dual(self):
                with no_grad():
                    _fwd.copy_tangents(self, step(self))
            self.data = new
        info = _view_of(self)
        if info is not None:  # a view: its path from the base gains the shape change
            base, fn = info
            self._extra["view"] = (base, _compose(fn, step))
        else:  # a base: its views are reached through the inverse change first
            views = self._extra.get("views") if self._extra else None
            for ref in list(views or ()):
                w = ref()
                if w is not None and w._extra["view"][0] is self:
                    w._extra["view"] = (self, _compose(inverse, w._extra["view"][1]))
        return self
    m.__name__ = name
    m.__doc__ = (f"In place, as PyTorch's ``{name}``: this tensor takes the shape of ``{name[:-1]}`` (same memory) and "
                 f"is returned; recorded in the graph and counted in the version counter (npgrad/ops/inplace_shape.py).")
    return m


def attach(T):
    for name, make in dict(unsqueeze_=_unsqueeze, squeeze_=_squeeze, t_=_t, transpose_=_transpose("transpose_"),
                           swapdims_=_transpose("swapdims_"), swapaxes_=_transpose("swapaxes_")).items():
        setattr(T, name, shape_method(name, make))
