"""``Module``'s state dict as PyTorch's: ``state_dict`` / ``load_state_dict`` with their hooks and a module's
extra state (``get_extra_state`` / ``set_extra_state``), step by step as ``torch.nn.Module``.

``state_dict`` runs, for each module (parents before children): the state-dict pre-hooks
``hook(module, prefix, keep_vars)``, ``_save_to_state_dict`` (parameters, persistent buffers, then
``prefix + "_extra_state"`` if the class defines ``get_extra_state``), the children, then the post-hooks
``hook(module, state_dict, prefix, local_metadata)`` (which modify the dict in place and return None).

``load_state_dict`` runs, for each module: the load pre-hooks ``hook(module, state_dict, prefix, local_metadata,
strict, missing_keys, unexpected_keys, error_msgs)``, ``_load_from_state_dict`` (copies this module's entries,
calls ``set_extra_state``, records missing and unexpected keys), the children, then the load post-hooks
``hook(module, incompatible_keys)`` (which may edit ``incompatible_keys.missing_keys`` / ``unexpected_keys`` in
place, and so change whether a strict load fails). As in PyTorch, the entries are copied as they are reached: a
load that fails has already copied the entries before the error.
"""
import warnings
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..autograd import versions as _versions
from ..autograd.grad_mode import no_grad
from ..dtypes import canonical
from ..tensor import Tensor, _wrap
from . import hooks as _hooks
from .parameter import Parameter

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the missing and the unexpected keys (lists)."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _WrappedHook:
    """A hook called with its module first (PyTorch's ``_WrappedHook``): the module is held weakly, and a deepcopy
    or a pickle of the module gets a hook bound to the copy, not to the original."""

    def __init__(self, hook, module):
        self.hook = hook
        self.module = weakref.ref(module)

    def __call__(self, *args):
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, *args)

    def __getstate__(self):
        return {"hook": self.hook, "module": self.module()}

    def __setstate__(self, state):
        self.hook = state["hook"]
        self.module = weakref.ref(state["module"])


class _PrivateStateDictHook:
    """A hook registered with ``_register_state_dict_hook`` (its return may replace the state dict)."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, *args):
        return self.hook(*args)


def _table(module, name):
    return module.__dict__.get(name) or {}


def _by_child(state_dict, prefix):
    """The entries of ``state_dict`` under ``prefix`` that belong to a child module, grouped by that child's name
    (the key's next dotted component), each group in the dict's order: one pass for all the children, where a
    filter per child cost O(children x keys) (a Sequential of 10,000 layers: a minute)."""
    groups, n = {}, len(prefix)
    for k, v in state_dict.items():
        if k.startswith(prefix):
            head, dot, _ = k[n:].partition(".")
            if dot:
                groups.setdefault(head, {})[k] = v
    return groups


def _as_array(value):
    """The array of a state-dict entry (a Tensor, an ndarray, or anything ``np.asarray`` takes, e.g. a PyTorch
    tensor), or None if it is not numeric data."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor, maybe requiring grad
        value = value.detach().cpu()
        try:
            value = value.numpy()
        except TypeError:   # bfloat16, float8, complex32: no NumPy dtype; widened exactly, as PyTorch's copy_
            if callable(getattr(value, "is_complex", None)) and value.is_complex():
                value = value.cfloat().numpy()
            elif callable(getattr(value, "is_floating_point", None)) and value.is_floating_point():
                value = value.float().numpy()
            else:
                return None
    try:
        arr = np.asarray(value)
    except Exception:  # e.g. a PyTorch tensor that requires grad
        return None
    return arr if arr.dtype.kind in "biufc" else None


class StateDictMixin:
    """The state-dict half of :class:`npgrad.nn.Module` (see this module's docstring)."""

    _version = 1

    # ----------------------------------------------------------------------------- extra state
    def get_extra_state(self):
        """Extra state to put in the module's ``state_dict`` under ``prefix + "_extra_state"``: define it (with
        :meth:`set_extra_state`) in a subclass. For ``npgrad.save`` it must be Tensors, arrays, numbers,
        strings, None, or dicts / lists / tuples of them (no pickle)."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state):
        """Restore what :meth:`get_extra_state` returned, from a loaded state dict: define it in a subclass."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called.")

    # ------------------------------------------------------------------------------------ hooks
    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` before this module's ``state_dict`` entries are made.
        Returns a handle: ``handle.remove()``."""
        return _hooks.register(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)`` after this module's entries (and its children's)
        are in ``state_dict``; it may modify the dict in place and must return None (else RuntimeError)."""
        return _hooks.register(self._state_dict_hooks, hook)

    def _register_state_dict_hook(self, hook):
        """PyTorch's private form of the state-dict post-hook, ``hook(module, state_dict, prefix, local_metadata)``:
        a non-None return replaces the state dict (the parent's, when given to a child)."""
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        return _hooks.register(self._state_dict_hooks, _PrivateStateDictHook(hook))

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)``
        before this module's entries are loaded (``state_dict`` is a copy that may be modified)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """PyTorch's private form: without ``with_module`` the hook does not get the module first."""
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        handle = _hooks.RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = _WrappedHook(hook, self) if with_module else hook
        return handle

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)`` after this module and its children are loaded;
        ``incompatible_keys.missing_keys`` / ``unexpected_keys`` may be modified in place (a strict load fails
        on what they hold afterwards). The hook must return None (else AssertionError)."""
        return _hooks.register(self._load_state_dict_post_hooks, hook)

    # -------------------------------------------------------------------------------- state_dict
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Put this module's parameters, persistent buffers and extra state (not its children's) in
        ``destination``."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else _wrap(p.data)
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else _wrap(b.data)
        if getattr(type(self), "get_extra_state", StateDictMixin.get_extra_state) is not StateDictMixin.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names to parameters, persistent buffers and extra states, as PyTorch's.

        Values are Tensors sharing memory with the module (detached unless ``keep_vars``): copy them
        (``{k: v.numpy().copy() ...}``) to keep a snapshot while training goes on. The positional form
        ``state_dict(destination, prefix, keep_vars)`` works with PyTorch's FutureWarning."""
        if args:
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
                          " for details.", FutureWarning, stacklevel=2)
            if len(args) > 3:
                raise TypeError(f"state_dict() takes at most 3 positional arguments ({len(args)} given)")
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = dict(version=self._version)
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in list(_table(self, "_state_dict_pre_hooks").values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in list(_table(self, "_state_dict_hooks").values()):
            result = hook(self, destination, prefix, local_metadata)
            if isinstance(hook, _PrivateStateDictHook):
                if result is not None:
                    destination = result
            elif result is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return destination

    # --------------------------------------------------------------------------- load_state_dict
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        """Load this module's entries (not its children's) from ``state_dict``, recording missing and unexpected
        keys and error messages in the given lists (PyTorch's ``_load_from_state_dict``)."""
        for hook in list(_table(self, "_load_state_dict_pre_hooks").values()):
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        local_state = {k: v for k, v in self._parameters.items() if v is not None}
        local_state.update((k, v) for k, v in self._buffers.items()
                           if v is not None and k not in self._non_persistent_buffers)
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, target in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            arr = _as_array(value)
            if arr is None:
                error_msgs.append(f'While copying the parameter named "{key}", expected a Tensor, an array or '
                                  f'array-like numbers from checkpoint but received {type(value)}')
                continue
            if target.data.ndim == 0 and arr.ndim == 1 and arr.shape[0] == 1:  # PyTorch 0.3's 1-element form
                arr = arr[0]
            if arr.shape != target.data.shape:
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {arr.shape} from checkpoint, "
                                  f"the shape in current model is {target.data.shape}.")
                continue
            try:
                with no_grad():
                    if assign:   # PyTorch: the module adopts the checkpoint's tensor (its memory and dtype)
                        if target._requires_grad and arr.dtype.kind not in "fc":
                            raise RuntimeError(f"only floating and complex tensors can require gradients, not "
                                               f"{arr.dtype}")
                        target.data = canonical(arr) if arr.flags.writeable else canonical(arr.copy())
                        if isinstance(target, Parameter):   # PyTorch's module then holds the checkpoint's
                            # Parameter (its gradient) or a new one (no gradient): never the old gradient
                            target.grad = value.grad if isinstance(value, Parameter) else None
                    else:
                        target.data[...] = arr
                        _versions.bump(target.data, "load_state_dict")
            except Exception as ex:
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in the model are '
                                  f'{target.data.shape} and whose dimensions in the checkpoint are {arr.shape}, '
                                  f'an exception occurred : {ex.args}.')
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if getattr(type(self), "set_extra_state", StateDictMixin.set_extra_state) is not StateDictMixin.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    first = key[len(prefix):].split(".", 1)
                    if len(first) > 1:
                        if first[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif first[0] not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` (Tensors, NumPy arrays, or anything ``np.asarray`` accepts, e.g.
        PyTorch tensors) into the parameters and buffers, in place, and hand each module's ``_extra_state`` entry
        to its ``set_extra_state``. A shape mismatch is always an error; with ``strict`` missing or unexpected
        keys are too. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``. Runs the load hooks (see the
        ``npgrad.nn._module_state`` docstring) as PyTorch does."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys, unexpected_keys, error_msgs = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module, local_state_dict, prefix=""):
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True, missing_keys,
                                         unexpected_keys, error_msgs)
            children = [(name, child) for name, child in module._modules.items() if child is not None]
            groups = _by_child(local_state_dict, prefix) if children else {}
            for name, child in children:
                child_prefix = prefix + name + "."
                if "." in name:   # (put into _modules by hand: add_module refuses it)
                    sub = {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)}
                else:
                    sub = groups.get(name) or {}
                load(child, sub, child_prefix)
            incompatible_keys = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in list(_table(module, "_load_state_dict_post_hooks").values()):
                if hook(module, incompatible_keys) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys need to be modified, "
                                         "it should be done inplace.")

        load(self, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected_keys)))
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing_keys)))
        if error_msgs:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(error_msgs)))
        return _IncompatibleKeys(missing_keys, unexpected_keys)
