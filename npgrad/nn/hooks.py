"""Module hooks as PyTorch's: forward pre-hooks, forward hooks (``with_kwargs``, ``prepend``, ``always_call``),
full backward hooks and backward pre-hooks, each with a removable handle; and the global ones registered for every
module (``register_module_forward_hook``...), which run before a module's own.

A module with hooks is called through :func:`call_with_hooks` (PyTorch's ``Module._call_impl``, step by step).
Backward hooks work as PyTorch's ``BackwardHook``: the module's tensor inputs and outputs pass through an
identity op (one graph node each side) whose backward sees all their gradients at once. The output side records
``grad_output`` (after the backward pre-hooks, which may replace it); the input side then calls the full backward
hooks with ``(module, grad_input, grad_output)``, and a hook's non-None return replaces ``grad_input``.

The state-dict and load-state-dict hook tables live here too; npgrad/nn/_module_state.py calls them.
"""
import itertools
import warnings
import weakref
from collections import OrderedDict

from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..tensor import Tensor

_ids = itertools.count()


class RemovableHandle:
    """What ``register_*_hook`` returns: ``handle.remove()`` unregisters the hook (also as a context manager).
    ``extra_dict`` are further tables (e.g. the ``with_kwargs`` flags) the id is removed from."""

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(_ids)
        extra = extra_dict if isinstance(extra_dict, (list, tuple)) else ([extra_dict] if extra_dict is not None
                                                                          else [])
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra)

    def remove(self):
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            table = ref()
            if table is not None:
                table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _Flags(dict):
    """An id -> True table that can be weakly referenced (plain dicts cannot)."""


def hook_tables(module):
    """Create the hook tables on a module (from ``Module.__init__``)."""
    for name, cls in (("_forward_hooks", OrderedDict), ("_forward_pre_hooks", OrderedDict),
                      ("_backward_hooks", OrderedDict), ("_backward_pre_hooks", OrderedDict),
                      ("_state_dict_hooks", OrderedDict), ("_state_dict_pre_hooks", OrderedDict),
                      ("_load_state_dict_pre_hooks", OrderedDict), ("_load_state_dict_post_hooks", OrderedDict),
                      ("_forward_hooks_with_kwargs", _Flags), ("_forward_hooks_always_called", _Flags),
                      ("_forward_pre_hooks_with_kwargs", _Flags)):
        object.__setattr__(module, name, cls())


class _GlobalTable(OrderedDict):
    """A table of global module hooks: keeps GLOBAL_CALL_HOOKS[0], the number of hooks in the call-time tables,
    current, so that ``Module.__call__`` tests one integer to know whether any global hook is registered."""

    def __setitem__(self, key, value):
        if key not in self:
            GLOBAL_CALL_HOOKS[0] += 1
        super().__setitem__(key, value)

    def pop(self, key, *default):
        if key in self:
            GLOBAL_CALL_HOOKS[0] -= 1
        return super().pop(key, *default)

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        self.pop(key)

    def popitem(self, last=True):
        item = super().popitem(last)
        GLOBAL_CALL_HOOKS[0] -= 1
        return item

    def clear(self):
        GLOBAL_CALL_HOOKS[0] -= len(self)
        super().clear()

    def __reduce__(self):   # (a module's hooks are pickled with it; the global tables never are)
        raise TypeError("the global module hook tables cannot be pickled")


# PyTorch's global module hooks (torch.nn.modules.module.register_module_*): called for every module, before
# the module's own hooks of the same kind.
GLOBAL_CALL_HOOKS = [0]
_global_forward_pre_hooks = _GlobalTable()
_global_forward_hooks = _GlobalTable()
_global_forward_hooks_with_kwargs = _Flags()
_global_forward_hooks_always_called = _Flags()
_global_backward_hooks = _GlobalTable()
_global_backward_pre_hooks = _GlobalTable()


def register_module_forward_pre_hook(hook):
    """A forward pre-hook ``hook(module, args)`` for every module, run before each module's own (PyTorch's
    ``torch.nn.modules.module.register_module_forward_pre_hook``); a non-None return replaces ``args``. Returns a
    handle whose ``remove()`` unregisters it."""
    return register(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """A forward hook ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with ``with_kwargs``)
    for every module, run before each module's own; a non-None return replaces the output; ``always_call``: also
    when forward raises."""
    flags = ([_global_forward_hooks_with_kwargs] if with_kwargs else []) + (
        [_global_forward_hooks_always_called] if always_call else [])
    return register(_global_forward_hooks, hook, flags=flags)


def register_module_full_backward_pre_hook(hook):
    """A backward pre-hook ``hook(module, grad_output)`` for every module, run before each module's own."""
    return register(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """A full backward hook ``hook(module, grad_input, grad_output)`` for every module, run before each
    module's own."""
    return register(_global_backward_hooks, hook)


# PyTorch's global registration hooks (torch.nn.modules.module.register_module_{parameter,buffer,module}_
# registration_hook): ``hook(module, name, value)`` runs whenever a module registers a parameter, buffer or child
# module (by assignment or by register_*/add_module); a non-None return is registered instead.
_global_parameter_registration_hooks = OrderedDict()
_global_buffer_registration_hooks = OrderedDict()
_global_module_registration_hooks = OrderedDict()


def register_module_parameter_registration_hook(hook):
    """A hook ``hook(module, name, param)`` run each time any module registers a (non-None) parameter; a
    non-None return is registered in its place. Returns a handle whose ``remove()`` unregisters it."""
    return register(_global_parameter_registration_hooks, hook)


def register_module_buffer_registration_hook(hook):
    """A hook ``hook(module, name, buffer)`` run each time any module registers a buffer (None included); a
    non-None return is registered in its place."""
    return register(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook):
    """A hook ``hook(module, name, submodule)`` run each time any module registers a child module (None
    included); a non-None return is registered in its place."""
    return register(_global_module_registration_hooks, hook)


def registered(table, module, name, value):
    """``value`` as the hooks of the registration ``table`` leave it (each sees the previous one's result)."""
    for hook in tuple(table.values()):
        out = hook(module, name, value)
        if out is not None:
            value = out
    return value


def register(table, hook, prepend=False, flags=()):
    """Put ``hook`` in ``table`` (first if ``prepend``), set the given flag tables, return its handle."""
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(table, extra_dict=list(flags) or None)
    table[handle.id] = hook
    for f in flags:
        f[handle.id] = True
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle


def remove_pre_hook(module, matches):
    """Undo a reparametrization installed as a forward pre-hook (weight_norm, spectral_norm, pruning): the first
    pre-hook for which ``matches(hook)`` is true is asked to ``remove(module)`` and unregistered. Returns whether
    one was found."""
    for k, hook in module._forward_pre_hooks.items():
        if matches(hook):
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return True
    return False


def call_with_hooks(module, args, kwargs):
    """``module(*args, **kwargs)`` running its hooks (PyTorch's ``Module._call_impl``)."""
    result = None
    called_always = set()
    try:
        for hook_id, hook in (*_global_forward_pre_hooks.items(), *module._forward_pre_hooks.items()):
            if hook_id in module._forward_pre_hooks_with_kwargs:
                res = hook(module, args, kwargs)
                if res is not None:
                    if isinstance(res, tuple) and len(res) == 2:
                        args, kwargs = res
                    else:
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {res}.")
            else:
                res = hook(module, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw_hook = None
        if module._backward_hooks or module._backward_pre_hooks or _global_backward_hooks or _global_backward_pre_hooks:
            bw_hook = BackwardHook(module, [*_global_backward_hooks.values(), *module._backward_hooks.values()],
                                   [*_global_backward_pre_hooks.values(), *module._backward_pre_hooks.values()])
            args = bw_hook.setup_input_hook(args)
        result = module.forward(*args, **kwargs)
        for hook_id, hook in (*_global_forward_hooks.items(), *module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called:
                called_always.add(hook_id)
            result = _forward_hook(module, hook_id, hook, args, kwargs, result)
        if bw_hook is not None:
            if not isinstance(result, (Tensor, tuple)):
                warnings.warn(f"For backward hooks to be called, module output should be a Tensor or a tuple of "
                              f"Tensors but received {type(result)}", stacklevel=3)
            result = bw_hook.setup_output_hook(result)
        return result
    except Exception:
        for hook_id, hook in (*_global_forward_hooks.items(), *module._forward_hooks.items()):
            if (hook_id in module._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called) \
                    and hook_id not in called_always:
                try:
                    result = _forward_hook(module, hook_id, hook, args, kwargs, result)
                except Exception as e:
                    warnings.warn(f"module forward hook with ``always_call=True`` raised an exception that was "
                                  f"silenced as another error was raised in forward: {e}", stacklevel=3)
        raise


def _forward_hook(module, hook_id, hook, args, kwargs, result):
    """Call one forward hook (with the keyword arguments if it was registered with_kwargs); its non-None return
    replaces the module's output."""
    if hook_id in module._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs:
        res = hook(module, args, kwargs, result)
    else:
        res = hook(module, args, result)
    return result if res is None else res


class _Identity(Function):
    """Identity on several tensors; its backward hands all their gradients to ``ctx.on_grads`` at once. Without
    ``materialize`` an output that got no gradient (unused, or not differentiable) gives None rather than zeros
    (PyTorch's module outputs: ``grad_output`` holds None there; its inputs get zeros)."""

    @staticmethod
    def forward(ctx, on_grads, materialize, *tensors):
        ctx.on_grads = on_grads
        ctx.set_materialize_grads(materialize)
        outs = tuple(Tensor(t.data, requires_grad=False) for t in tensors)  # new tensors sharing the data
        ctx.mark_non_differentiable(*[o for o, t in zip(outs, tensors) if not t._requires_grad])
        return outs[0] if len(outs) == 1 else outs

    @staticmethod
    def backward(ctx, *grads):
        return (None, None) + tuple(ctx.on_grads(grads))


class BackwardHook:
    """Links the gradients seen at a module's outputs with those at its inputs and calls the user's hooks."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = self.n_inputs = -1
        self.output_tensors_index = self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size):
        res = [None] * size
        for i, v in zip(indices, values):
            res[i] = v
        return tuple(res)

    def _apply_on_tensors(self, on_grads, args, materialize):
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in idx]
        if not (_state.enabled and any(t._requires_grad for t in tensors)):
            return args, None
        new = _Identity.apply(on_grads, materialize, *tensors)
        new = new if isinstance(new, tuple) else (new,)
        out = list(args)
        for i, t in zip(idx, new):
            out[i] = t
        return tuple(out), idx

    def setup_input_hook(self, args):
        def on_grads(grads):
            res = self._pack_with_none(self.input_tensors_index, grads, self.n_inputs)  # zeros for no-grad tensors
            if self.grad_outputs is None:  # the module's outputs got no gradient (not used by the loss)
                return grads
            for hook in self.user_hooks:
                out = hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(out)}, "
                                       f"but expected {len(res)}")
                res = tuple(out)
            self.grad_outputs = None
            return [res[i] for i in self.input_tensors_index]

        res, self.input_tensors_index = self._apply_on_tensors(on_grads, args, True)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result):
        is_tuple = isinstance(result, tuple)
        outs = result if is_tuple else (result,)

        def on_grads(grads):
            self.grad_outputs = self._pack_with_none(self.output_tensors_index, grads, self.n_outputs)
            for pre_hook in self.user_pre_hooks:
                new = pre_hook(self.module, self.grad_outputs)
                if new is None:
                    continue
                if len(new) != len(self.grad_outputs):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(new)}, "
                                       f"but expected {len(self.grad_outputs)}")
                self.grad_outputs = tuple(new)
            local = self.grad_outputs
            if self.input_tensors_index is None:  # no input requires grad: the hooks fire here
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients.", stacklevel=2)
                grad_inputs = self._pack_with_none([], [], self.n_inputs)
                for hook in self.user_hooks:
                    res = hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                           "always return None or None for all gradients.")
                self.grad_outputs = None
            return [local[i] for i in self.output_tensors_index]

        res, self.output_tensors_index = self._apply_on_tensors(on_grads, outs, False)
        self.n_outputs = len(outs)
        return res if is_tuple else res[0]
