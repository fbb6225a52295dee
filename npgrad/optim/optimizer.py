"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``state_dict``, as PyTorch.

Updates run on the NumPy arrays directly (``p.data``, ``p.grad``), in place, with no graph recorded.

Sparse gradients (:class:`npgrad.sparse.RowSparseGrad`, from ``Embedding(sparse=True)``): an optimizer
whose ``_sparse_rows(group)`` says so gets the sparse gradient and updates only its rows (SGD without
momentum or weight decay, Adagrad without weight decay: exact, since the dense update leaves the other
rows unchanged). Every other optimizer or setting gets the gradient densified and does the dense math:
where PyTorch refuses sparse gradients (Adam, AdamW, RMSprop; its SparseAdam is a different, lazy
algorithm) npgrad gives the result of the same model with ``sparse=False``.

Complex parameters: as PyTorch, a complex parameter is its real view (``torch.view_as_real``), the real and
imaginary parts being independent real parameters. ``_update_complex`` hands ``_update`` float views of shape
``(..., 2)`` of the parameter, its gradient and its (complex) state, sharing their memory, so each optimizer's
real-valued update math applies unchanged and writes into the parameter's own array (LBFGS, which keeps flat
vectors, flattens the real views).
"""
import copy
import functools
from collections import OrderedDict
from itertools import chain

import warnings

import numpy as np

from ..autograd import versions as _versions
from ..autograd.grad_mode import enable_grad
from ..sparse import RowSparseGrad
from ..autograd.lazy_grads import zero_grad_
from ..tensor import _F16, Tensor


def check_impl_flags(name, foreach=None, fused=None, differentiable=False):
    """PyTorch's implementation flags. ``foreach``, ``fused`` and ``capturable`` choose among PyTorch's kernels
    (for-loop, multi-tensor, fused; CUDA-graph capture) and not the update rule, so npgrad records them in the
    parameter groups as PyTorch does (its state dicts keep them) and runs its one NumPy update. PyTorch's
    conflicts between them raise its errors. ``differentiable=True`` (the step recorded in the graph, so that
    one can differentiate through it) is not available: npgrad's steps update the arrays in place."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise NotImplementedError(f"{name}(differentiable=True) is not supported: npgrad's optimizer steps update "
                                  f"the parameters in place, outside the autograd graph, so one cannot "
                                  f"differentiate through {name}.step()")


def _warn_f16_eps(name, group, p, stacklevel):
    """Warn, at a float16 parameter's first step, when the group's ``eps`` is 0 in float16 (Adam's default 1e-8 is:
    float16's smallest subnormal is 6e-8). The update then divides by ``sqrt(v) + 0``: NaN or inf where a gradient is
    0 or below ~1e-4 (its square is 0 in float16). PyTorch computes the same NaN silently; npgrad keeps its values
    and says so."""
    eps = group.get("eps")
    if isinstance(eps, (int, float)) and eps > 0 and np.float16(eps) == 0:
        warnings.warn(f"{name}: eps={eps} is 0 in float16, the dtype of a parameter of shape {p.data.shape}: where "
                      f"its gradient is 0 or below ~1e-4 the update divides by 0 (NaN or inf parameters, as in "
                      f"PyTorch); pass eps >= 6e-8 (float16's smallest subnormal; 1e-4 is common) or keep the "
                      f"parameters in float32", RuntimeWarning, stacklevel=stacklevel)


_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


def _handle(table):
    from ..nn.hooks import RemovableHandle
    return RemovableHandle(table)


def register_optimizer_step_pre_hook(hook):
    """A step pre-hook for every optimizer (``torch.optim.optimizer.register_optimizer_step_pre_hook``):
    ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``. Returns a removable handle."""
    handle = _handle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """A step post-hook for every optimizer: ``hook(optimizer, args, kwargs) -> None``."""
    handle = _handle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _hooked_step(func):
    """``step`` with the global and the optimizer's step hooks around it (PyTorch's ``profile_hook_step``: the
    hooks see ``args`` with the optimizer first)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        self = args[0]
        if self.__dict__.get("_step_tracked_by_lr_sched"):  # a scheduler watches for step() (lr_scheduler.py)
            self._opt_called = True
        for pre_hook in chain(_global_optimizer_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{func} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
        _check_writeable(self)
        out = func(*args, **kwargs)
        for post_hook in chain(self._optimizer_step_post_hooks.values(), _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out
    wrapper.hooked = True
    return wrapper


def _check_writeable(opt):
    """Refuse, before any update, a parameter whose memory is read-only (a Parameter sharing a read-only NumPy
    array, or np.broadcast_to's): step writes into every parameter that requires grad."""
    for i, group in enumerate(opt.param_groups):
        for j, p in enumerate(group["params"]):
            if p._requires_grad and not p.data.flags.writeable:
                raise ValueError(f"{type(opt).__name__}.step: parameter {j} of param group {i} (shape {p.shape}, "
                                 f"{p.dtype}) is read-only (it shares a read-only array's memory, np.broadcast_to's "
                                 f"say), and step writes into it: make it from a copy (nn.Parameter(arr.copy()))")


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class _RealParam:
    """What ``_update`` sees of a complex parameter: ``data``, its real view."""
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def as_real(arr):
    """The float view of shape ``(..., 2)`` of a complex array, sharing its memory (``torch.view_as_real``)."""
    return arr[..., None].view(arr.real.dtype)


def _complex_of(arr):
    """The complex array whose real view is ``arr`` (shape ``(..., 2)``), sharing its memory when it can."""
    if arr.strides[-1] != arr.itemsize:
        arr = np.ascontiguousarray(arr)
    return arr.view(np.result_type(arr.dtype, np.complex64))[..., 0]


class Optimizer:
    """Base class. ``params`` is an iterable of Tensors or of dicts (parameter groups, each with a
    ``"params"`` list and optional per-group hyper-parameters overriding ``defaults``)."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                     "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            setattr(self, name, OrderedDict())
        if not getattr(type(self).step, "hooked", False):  # as PyTorch's _patch_step_function
            type(self).step = _hooked_step(type(self).step)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``"params"``) with its own hyper-parameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]  # named_parameters(): PyTorch keeps the names
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param names are missing")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        if names:
            group["param_names"] = names
        if any(("param_names" in group) != ("param_names" in g) for g in self.param_groups):
            raise ValueError("all optimizer param groups should be with/without names. cannot add param group "
                             f"{'with' if 'param_names' in group else 'without'} names to the optimizer")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        if isinstance(group.get("lr"), Tensor):  # PyTorch takes a 1-element tensor lr: here, its value
            if group["lr"].size != 1:
                raise ValueError(f"Tensor lr must be 1-element, got shape {group['lr'].shape}")
            group["lr"] = float(group["lr"].item())
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Clear the gradients: set them to None (the default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        zero_grad_(p)  # in place, as PyTorch

    @staticmethod
    def _closure_loss(closure):
        """The loss that ``closure`` re-evaluates (with grad mode on), or None without one."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _with_grads(self, group, complex_ok=True, sparse_ok=True):
        """``(p, gradient array, state)`` for each parameter of ``group`` that has a gradient, in order, with
        PyTorch's errors for a complex parameter or a sparse gradient where the optimizer takes none (the
        optimizers whose ``step`` works a group at a time: Adafactor, Muon, SparseAdam)."""
        name = type(self).__name__
        for p in group["params"]:
            if p.grad is None:
                continue
            if not complex_ok and p.data.dtype.kind == "c":
                raise RuntimeError(f"{name} does not support complex parameters")
            g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
            if not sparse_ok and isinstance(g, RowSparseGrad):
                raise RuntimeError(f"{name} does not support sparse gradients")
            state = self.state.setdefault(p, {})
            if not state and p.data.dtype == _F16:
                _warn_f16_eps(name, group, p, 5)   # (at the caller of step: through it and its hook wrapper)
            yield p, g, state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            if group.get("fused"):  # PyTorch's fused kernels refuse complex parameters and sparse gradients
                for p in group["params"]:
                    if p.grad is not None and p.data.dtype.kind != "f":
                        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of "
                                           f"supported devices: ['cpu'] but {p.data.dtype} and cpu")
                    if p.grad is not None and p.grad.__class__ is RowSparseGrad:
                        raise RuntimeError(self._fused_sparse_error)
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
                complex_p = p.data.dtype.kind == "c"
                if g.__class__ is RowSparseGrad and (complex_p or not self._sparse_rows(group)):
                    g = g.to_dense()
                if group.get("maximize", False):
                    g = -g
                state = self.state.setdefault(p, {})
                if not state and p.data.dtype == _F16:   # (a first step only)
                    _warn_f16_eps(type(self).__name__, group, p, 4)
                if complex_p:
                    self._update_complex(p, g, group, state)
                else:
                    self._update(p, g, group, state)
                _versions.bump(p.data, f"{type(self).__name__}.step")  # a graph that saved p must not use it
        return loss

    _fused_sparse_error = "`fused` does not support sparse gradients"

    def _update(self, p, grad, group, state):
        raise NotImplementedError

    def _update_complex(self, p, grad, group, state):
        """``_update`` on the real view of a complex parameter (PyTorch's ``view_as_real``): the real and
        imaginary parts are independent real parameters. The parameter, gradient and array state are seen as
        float arrays of shape ``(..., 2)`` sharing their memory, so every write lands in the parameter's own
        array; the state is kept complex (as PyTorch keeps it)."""
        data = as_real(p.data)
        grad = np.asarray(grad)
        if grad.dtype.kind != "c":
            grad = grad.astype(p.data.dtype)
        handed = {}
        real_state = {}
        for key, value in state.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "c":
                real_state[key] = as_real(value)
                handed[key] = (value, real_state[key])
            else:
                real_state[key] = value
        view = _RealParam(data)
        self._update(view, as_real(grad), group, real_state)
        if view.data is not data:  # an update that rebinds p.data: its result goes into the parameter's memory
            data[...] = view.data
        state.clear()
        for key, value in real_state.items():
            if key in handed and value is handed[key][1]:
                value = handed[key][0]          # updated in place through its view
            elif isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.shape == data.shape:
                value = _complex_of(value)
            state[key] = value

    def _sparse_rows(self, group):
        """Whether ``_update`` takes a RowSparseGrad as it is (else it gets the dense gradient)."""
        return False

    # ------------------------------------------------------------------- state dicts
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``, called before each ``step``."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None``, called after each ``step``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer) -> None``, called before ``state_dict`` builds the dict."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None`` (a returned dict replaces it)."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None``, before loading (a returned dict is loaded)."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer) -> None``, after loading."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    @staticmethod
    def _register(table, hook, prepend=False):
        handle = _handle(table)
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as PyTorch (with the
        ``param_names`` of groups built from named parameters); arrays are copies, so the dict is a snapshot.
        The state-dict hooks run as PyTorch's."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        state_dict = self._state_dict()
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _state_dict(self):
        index = {}
        groups = []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            g["params"] = ids
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and per-parameter state saved by ``state_dict`` (matched by position),
        between the load-state-dict hooks as PyTorch."""
        state_dict = dict(state_dict)
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        self._load_state_dict(state_dict)
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    def _load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for own, saved in zip(self.param_groups, groups):
            if len(own["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        self.state = {}
        for own, saved in zip(self.param_groups, groups):
            for key, value in saved.items():
                if key != "params":
                    own[key] = tuple(value) if isinstance(own.get(key), tuple) else copy.deepcopy(value)
            for p, idx in zip(own["params"], saved["params"]):
                if int(idx) in saved_state:
                    self.state[p] = {k: self._load_value(k, v, p) for k, v in saved_state[int(idx)].items()}

    # the per-parameter state kept as Python scalars (0-d tensors in PyTorch); the rest is arrays, 0-d for a 0-d
    # parameter (its momentum_buffer, exp_avg, ... are updated in place)
    _scalar_state = frozenset({"step", "mu_product", "eta", "mu"})

    def _load_value(self, key, value, p):
        if isinstance(value, Tensor):
            value = value.data
        if hasattr(value, "__array__") and not isinstance(value, (int, float)):
            arr = np.array(np.asarray(value), copy=True)  # (asarray: no copy= for torch's __array__)
            if key in self._scalar_state or (arr.ndim == 0 and p.data.ndim != 0):
                return arr.item()
            if p.data.dtype.kind == "c":  # complex state, as PyTorch keeps it (or its real view)
                if arr.dtype.kind == "c":
                    return arr.astype(p.data.dtype)
                if arr.dtype.kind == "f":
                    if arr.shape != tuple(p.data.shape) + (2,):
                        raise ValueError(f"loaded state {key!r} is real with shape {arr.shape} for a complex "
                                         f"parameter of shape {tuple(p.data.shape)}")
                    return _complex_of(arr.astype(as_real(p.data).dtype))
                return arr
            return arr.astype(p.data.dtype) if arr.dtype.kind == "f" else arr
        return value

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
