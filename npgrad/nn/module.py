"""``Module``: the base class of layers and models, as PyTorch's ``nn.Module``.

Assigning a :class:`Parameter` or a ``Module`` to an attribute registers it; ``register_buffer`` registers
a non-trainable Tensor (running statistics) that is saved in the ``state_dict``. A ``state_dict`` has
exactly the keys the PyTorch counterpart has, so weights move between the two with ``.numpy()`` /
``torch.from_numpy``.
"""
import warnings
from collections import OrderedDict

import numpy as np

from ..autograd.lazy_grads import zero_grad_
from ..tensor import Tensor
from . import _module_convert as _convert
from . import hooks as _hooks
from .hooks import GLOBAL_CALL_HOOKS as _GLOBAL_CALL_HOOKS
from ._module_state import StateDictMixin, _IncompatibleKeys  # noqa: F401  (re-exported)
from .parameter import Buffer, Parameter

_REGISTRATION = {"_parameters": _hooks._global_parameter_registration_hooks,   # (the stores' registration hooks)
                 "_modules": _hooks._global_module_registration_hooks}


def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class Module(StateDictMixin):
    """Base class for all layers and models. Subclasses call ``super().__init__()`` first, assign
    parameters and submodules as attributes, and define ``forward``; call the module to run it."""

    training: bool
    dump_patches = False    # PyTorch's class attributes (always False here)
    call_super_init = False

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        _hooks.hook_tables(self)

    def forward(self, *args, **kwargs):
        """The computation of the module: define it in every subclass (call the module, not ``forward``)."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if (d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"] or d["_backward_pre_hooks"]
                or _GLOBAL_CALL_HOOKS[0]):
            return _hooks.call_with_hooks(self, args, kwargs)  # npgrad/nn/hooks.py
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        for key, cls, what, plural in (("_parameters", Parameter, "parameter", "parameters"),
                                       ("_modules", Module, "child module", "module")):
            store = d.get(key)
            if isinstance(value, cls):
                if store is None:
                    raise AttributeError(f"cannot assign {plural} before Module.__init__() call")
                self._forget(name, keep=key)
                if cls is Parameter:    # PyTorch goes through register_parameter: the name is checked
                    _check_name(self, name, what, key)
                store[name] = _hooks.registered(_REGISTRATION[key], self, name, value)
                return
            if store is not None and name in store:
                if value is not None:
                    raise TypeError(f"cannot assign '{type(value).__name__}' as {what} '{name}' "
                                    f"(npgrad.nn.{cls.__name__} or None expected)")
                # (PyTorch runs the module registration hooks on None too, not the parameter ones)
                store[name] = None if cls is Parameter else _hooks.registered(_REGISTRATION[key], self, name, None)
                return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer):      # torch 2.x: ``self.x = nn.Buffer(t)`` registers a buffer
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self.register_buffer(name, value, value.persistent)
            return
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(npgrad.Tensor or None expected)")
            buffers[name] = _hooks.registered(_hooks._global_buffer_registration_hooks, self, name, value)
            return
        object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Drop ``name`` from the instance dict and from every store but ``keep``: a name assigned again in its
        own store keeps its place, as in PyTorch (the order of state_dict keys and of a Sequential's layers)."""
        self.__dict__.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                self.__dict__[key].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            group = d.get(key)
            if group is not None and name in group:
                return group[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):   # as PyTorch, names that are not identifiers (a Sequential's "0") are left out
        keys = set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(k for k in keys if not k[:1].isdigit())

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, name, "parameter", "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(npgrad.nn.Parameter or None required)")
        self._forget(name, keep="_parameters")
        self._parameters[name] = param if param is None else _hooks.registered(
            _hooks._global_parameter_registration_hooks, self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-trainable Tensor (e.g. running statistics) saved in the state_dict unless
        ``persistent=False``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, name, "buffer", "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            f"(npgrad.Tensor or None required)")
        if isinstance(tensor, Buffer):
            tensor = tensor._as_tensor()
        self._forget(name, keep="_buffers")
        self._buffers[name] = _hooks.registered(_hooks._global_buffer_registration_hooks, self, name, tensor)
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, name, "module", "_modules")
        self._forget(name, keep="_modules")
        self._modules[name] = _hooks.registered(_hooks._global_module_registration_hooks, self, name, module)

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at a dotted path such as ``"encoder.layers.0"`` (``""``: this module)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(type(mod).__name__ + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at the dotted path ``target`` (replacing a submodule, or adding one to an existing
        parent); with ``strict`` only an existing submodule may be replaced. Errors as PyTorch's: ValueError for
        an empty target or a non-Module, AttributeError for a missing parent or a non-Module attribute."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        atoms = target.split(".")
        if not isinstance(module, Module):
            raise ValueError("`module` is not an nn.Module, found " + str(type(module)))
        parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
        if strict and not hasattr(parent, atoms[-1]):
            raise AttributeError(type(parent).__name__ + " has no attribute `" + atoms[-1] + "`")
        if hasattr(parent, atoms[-1]) and not isinstance(getattr(parent, atoms[-1]), Module):
            raise AttributeError("`" + atoms[-1] + "` is not an nn.Module")
        setattr(parent, atoms[-1], module)

    def get_parameter(self, target):
        """The parameter at a dotted path such as ``"encoder.layers.0.weight"`` (errors as PyTorch's)."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer at a dotted path such as ``"bn.running_mean"`` (errors as PyTorch's)."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return mod._buffers[name]

    def _get_name(self):
        return type(self).__name__

    # ------------------------------------------------------------------- iteration
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(name, module)`` for this module and every descendant, each once (depth first)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self, remove_duplicate=True):
        """This module and every descendant (depth first), each once unless ``remove_duplicate=False``."""
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self):
        """``(name, module)`` for each direct child, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        """The direct child modules, each once."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, attr, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, attr).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted name, Parameter)`` pairs; a parameter shared by two modules appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """The parameters of this module (and its descendants with ``recurse``), each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted name, buffer)`` pairs; a buffer shared by two modules appears once unless
        ``remove_duplicate=False``."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """The buffers of this module (and its descendants with ``recurse``), each once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------------ modes
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for m in self.children():   # each child's own train(), which a subclass may override (as PyTorch)
            m.train(mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all parameters (set them to None, or fill with zeros)."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    zero_grad_(p)  # in place, as PyTorch

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_data(self, fn, recurse=True):
        """Replace the data (and gradient) of every parameter and buffer by ``fn(data)``, in place: the
        Parameter and buffer objects stay, as with PyTorch's ``Module._apply``."""
        for m in (self.modules() if recurse else [self]):
            for p in m._parameters.values():
                if p is not None:
                    p.data = fn(p.data)
                    if p.grad is not None:
                        p.grad = fn(p.grad)
            for name, b in m._buffers.items():
                if b is not None:
                    b.data = fn(b.data)
        return self

    def to(self, *args, **kwargs):
        """Convert floating (and complex) parameters and buffers to a dtype, in place (the Parameter objects
        stay), as PyTorch's ``Module.to``: ``to(device)``, ``to(dtype)``, ``to(tensor)`` (its dtype),
        ``to(device, dtype)``, each with ``non_blocking`` (ignored) and keyword ``memory_format`` (accepted and
        ignored: NumPy arrays have no memory format). Only floating or complex dtypes are accepted. The CPU
        (``"cpu"``, ``"cpu:0"``, None) is the only device: another one is a ValueError."""
        device, dtype, _non_blocking, _memory_format = _convert.parse_to(args, kwargs)
        _convert.check_device(device, "Module.to")
        if dtype is None:
            return self
        if dtype.kind not in "fc":
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                            f"dtype={dtype}")
        if dtype.kind == "c":
            warnings.warn("Complex modules are a new feature under active development whose design may change, "
                          "and some modules might not work as expected when using complex tensors as parameters "
                          "or buffers.", stacklevel=2)
        return self._apply_data(lambda a: a.astype(dtype) if a.dtype.kind in "fc" else a)

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too) to ``dst_type``: a NumPy dtype, or PyTorch's
        tensor type names such as ``"torch.DoubleTensor"``. A parameter that requires grad cannot become
        non-floating (RuntimeError, as PyTorch; checked before anything is cast)."""
        dt = _convert.dtype_of(dst_type, "Module.type")
        if dt.kind not in "fc" and any(p._requires_grad for p in self.parameters()):
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex "
                               "dtype")
        return self._apply_data(lambda a: a.astype(dt))

    def _float_cast(self, dtype):
        return self._apply_data(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def float(self):
        """Cast floating parameters and buffers to float32 (in place); returns self."""
        return self._float_cast(np.float32)

    def double(self):
        """Cast floating parameters and buffers to float64 (in place); returns self."""
        return self._float_cast(np.float64)

    def half(self):
        """Cast floating parameters and buffers to float16 (in place); returns self."""
        return self._float_cast(np.float16)

    def bfloat16(self):
        """Not available: NumPy has no bfloat16 dtype (TypeError)."""
        raise TypeError("Module.bfloat16: NumPy has no bfloat16 dtype, so npgrad cannot hold bfloat16 parameters "
                        "(use half() for float16, or float())")

    def cpu(self):
        """Returns self: npgrad's parameters are always in CPU memory."""
        return self

    def cuda(self, device=None):
        """Not available: npgrad runs on the CPU only (ValueError)."""
        _convert.no_accelerator("cuda")

    def xpu(self, device=None):
        """Not available: npgrad runs on the CPU only (ValueError)."""
        _convert.no_accelerator("xpu")

    def ipu(self, device=None):
        """Not available: npgrad runs on the CPU only (ValueError)."""
        _convert.no_accelerator("ipu")

    def mtia(self, device=None):
        """Not available: npgrad runs on the CPU only (ValueError)."""
        _convert.no_accelerator("mtia")

    def to_empty(self, *, device, recurse=True):
        """Give every parameter and buffer (of this module only unless ``recurse``) new uninitialized memory of
        the same shape and dtype, as PyTorch's ``to_empty`` on the CPU (the values are not copied); ``device``
        must be the CPU or None. Returns self."""
        _convert.check_device(device, "Module.to_empty")
        return self._apply_data(np.empty_like, recurse=recurse)

    def share_memory(self):
        """Returns self. PyTorch moves the tensors to shared memory for ``torch.multiprocessing``; npgrad's
        parameters are plain NumPy arrays in process memory, which forked DataLoader workers share copy-on-write
        but which are not shared for writing between processes."""
        return self

    def compile(self, *args, **kwargs):
        """A no-op returning None: PyTorch compiles the module's forward in place with ``torch.compile``;
        npgrad has no compiler, so the module runs as before (the arguments are ignored)."""
        return None

    # ------------------------------------------------------------------- hooks (npgrad/nn/hooks.py)
    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with ``with_kwargs``) after each
        forward; a non-None return replaces the output. ``prepend`` runs it before the hooks already registered;
        ``always_call`` runs it even when forward raises. Returns a handle: ``handle.remove()``."""
        flags = ([self._forward_hooks_with_kwargs] if with_kwargs else []) + (
            [self._forward_hooks_always_called] if always_call else [])
        return _hooks.register(self._forward_hooks, hook, prepend, flags)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` before each forward; a non-None return replaces the arguments (a non-tuple is
        wrapped in one). With ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``."""
        flags = [self._forward_pre_hooks_with_kwargs] if with_kwargs else []
        return _hooks.register(self._forward_pre_hooks, hook, prepend, flags)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` once the gradients with respect to the module's positional
        inputs are computed (tuples, None for non-tensors and tensors without gradient); a non-None return (a
        tuple of the same length) replaces ``grad_input``."""
        if self.__dict__.get("_is_full_backward_hook") is False:
            raise RuntimeError(_MIXED_BACKWARD_HOOKS)
        object.__setattr__(self, "_is_full_backward_hook", True)
        return _hooks.register(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook):
        """PyTorch's deprecated backward hook, ``hook(module, grad_input, grad_output)``, run here as a full
        backward hook (:meth:`register_full_backward_hook`) with a FutureWarning at registration. PyTorch hands
        it the gradients of the last autograd node of the forward instead of the module's inputs; the two agree
        for a module whose forward is one operation on one input (e.g. activations), and differ otherwise (for
        Linear PyTorch's grad_input also holds the bias and weight gradients). Mixing it with full backward hooks
        on one module is a RuntimeError, as in PyTorch."""
        if self.__dict__.get("_is_full_backward_hook") is True:
            raise RuntimeError(_MIXED_BACKWARD_HOOKS)
        warnings.warn("register_backward_hook is deprecated in favour of register_full_backward_hook; npgrad runs "
                      "the hook as a full backward hook (grad_input: the gradients with respect to the module's "
                      "inputs), which differs from PyTorch's when the forward is more than one operation on one "
                      "input.", FutureWarning, stacklevel=2)
        object.__setattr__(self, "_is_full_backward_hook", False)
        return _hooks.register(self._backward_hooks, hook)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` when the gradients with respect to the module's outputs are computed; a
        non-None return replaces ``grad_output``."""
        return _hooks.register(self._backward_pre_hooks, hook, prepend)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        """The module's own settings for its repr (one line or several): override it in a subclass."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            lines.append("(" + name + "): " + _addindent(repr(module), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


_MIXED_BACKWARD_HOOKS = ("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                         "Please use only one of them.")


def _check_name(module, name, what, store):
    """PyTorch's checks of ``register_parameter`` / ``register_buffer`` / ``add_module``: a string, without dots,
    not empty, and not already an attribute (a method, a plain attribute, or a member of another store) unless it
    is in ``store`` (registering again under the same name replaces the entry)."""
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
    taken = hasattr(module, name) and name not in module.__dict__[store]
    if what == "module" and taken:
        raise KeyError(f"attribute '{name}' already exists")
    if "." in name:
        raise KeyError(f"{what} name can't contain \".\"" + (f", got: {name}" if what == "module" else ""))
    if name == "":
        raise KeyError(f"{what} name can't be empty string \"\"")
    if taken:
        raise KeyError(f"attribute '{name}' already exists")
