"""Pruning, as ``torch.nn.utils.prune``: zero out parts of a parameter through a mask.

``prune.l1_unstructured(module, "weight", amount=0.3)`` moves the parameter to ``module.weight_orig`` (the same
Parameter object, so optimizers keep it), adds the buffer ``module.weight_mask`` (0 where pruned, 1 elsewhere, in
the parameter's dtype) and makes ``module.weight`` the plain tensor ``weight_orig * weight_mask``, recomputed by a
forward pre-hook before each call (so the gradient reaches ``weight_orig`` through the mask). State dicts hold
``weight_orig`` and ``weight_mask``: PyTorch's keys. Pruning the same tensor again combines the masks in a
:class:`PruningContainer`: the new method only sees the entries (or channels) still unpruned, and ``amount``
(an int: a count; a float in [0, 1]: a fraction, ``round(amount * n)``) counts among those.
:func:`remove` makes the pruning permanent (``weight`` a Parameter holding the pruned values again).

Ties: PyTorch picks the ``amount`` smallest magnitudes (or norms) with ``torch.topk``, whose choice among equal
values depends on its selection algorithm; here ties are broken by position (the first ones in flattened order
are pruned first, or kept first for structured pruning). Without ties the masks are PyTorch's exactly. The random
methods draw from npgrad's generator (``npg.random.seed``), so their picks differ from PyTorch's; the counts and
the structure are the same.
"""
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ...tensor import Tensor
from .. import hooks as _hooks
from ._prune_checks import (_compute_nparams_toprune, _compute_norm, _validate_pruning_amount,  # noqa: F401
                            _validate_pruning_amount_init, _validate_pruning_dim, _validate_structured_pruning)

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]


def _arr(t):
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def _mask_tensor(a):
    return Tensor(np.ascontiguousarray(a), requires_grad=False)


class BasePruningMethod(ABC):
    """The base of the pruning methods: ``compute_mask`` gives the new mask, ``apply`` prunes a module's tensor
    (and registers the method as the module's forward pre-hook that recomputes it)."""

    _tensor_name = None

    def __call__(self, module, inputs):
        """The forward pre-hook: recompute ``module.<name>`` as ``<name>_orig * <name>_mask``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask (a Tensor of ``t``'s shape) for the tensor ``t``, starting from ``default_mask``."""

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask`` (differentiable in ``<name>_orig``)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        if mask.dtype != orig.dtype:
            mask = _mask_tensor(mask.data.astype(orig.dtype))
        return mask * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)`` (combined with the earlier pruning of that name
        in a :class:`PruningContainer`); the magnitudes are ``importance_scores`` if given (same shape as the
        tensor). Returns the method registered as the forward pre-hook."""
        old_method, hooks_to_remove = None, []
        for k, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old_method = hook
                hooks_to_remove.append(k)
        if len(hooks_to_remove) > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module "
                                 f"{module}. Use a PruningContainer.")
        for k in hooks_to_remove:
            del module._forward_pre_hooks[k]
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old_method is not None:
            if isinstance(old_method, PruningContainer):
                old_method.add_pruning_method(method)
                method = old_method
            else:
                container = PruningContainer(old_method)
                container.add_pruning_method(method)
                method = container

        orig = getattr(module, name)
        if not isinstance(orig, Tensor):
            raise TypeError(f"prune: module.{name} is a {type(orig).__name__}, not a tensor")
        if importance_scores is not None:
            if tuple(np.shape(_arr(importance_scores))) != tuple(orig.shape):
                raise AssertionError(f"importance_scores should have the same shape as parameter {name} of "
                                     f"{module}, got {tuple(np.shape(_arr(importance_scores)))} vs "
                                     f"{tuple(orig.shape)}")
        else:
            importance_scores = orig
        if not isinstance(method, PruningContainer):
            if name not in module._parameters:
                raise TypeError(f"prune: '{name}' of {type(module).__name__} is not a parameter (only parameters "
                                f"can be pruned)")
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _mask_tensor(np.ones(orig.shape, orig.dtype))
        else:
            default_mask = _mask_tensor(np.array(getattr(module, name + "_mask").data, copy=True))
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if not isinstance(method, PruningContainer):
                orig = getattr(module, name + "_orig")
                module.__dict__.pop(name, None)
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask computed from ``importance_scores`` (``t`` if None) and ``default_mask``."""
        if importance_scores is not None:
            if tuple(np.shape(_arr(importance_scores))) != tuple(np.shape(_arr(t))):
                raise AssertionError(f"importance_scores should have the same shape as tensor t, got "
                                     f"{tuple(np.shape(_arr(importance_scores)))} vs {tuple(np.shape(_arr(t)))}")
        else:
            importance_scores = t
        if default_mask is None:
            default_mask = _mask_tensor(np.ones(np.shape(_arr(t)), _arr(t).dtype))
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruning permanent: ``module.<name>`` becomes the ``<name>_orig`` Parameter holding the pruned
        values; ``<name>_orig`` and ``<name>_mask`` are removed."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        module.__dict__.pop(self._tensor_name, None)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = np.array(weight.data, dtype=orig.dtype, copy=True)
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """The successive pruning methods applied to one tensor; its mask is the last method's applied to the
    entries (channels, for structured methods) the earlier ones left."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and isinstance(args[0], BasePruningMethod):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method):
        """Append ``method`` (acting on the same tensor name)."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named '{self._tensor_name}' "
                             f"to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask computed on the part of ``t`` that ``default_mask`` leaves unpruned."""
        method = self._pruning_methods[-1]
        ta, mask = _arr(t), _arr(default_mask)
        new_mask = np.array(mask, dtype=ta.dtype, copy=True)
        kind = getattr(method, "PRUNING_TYPE", None)
        if kind == "unstructured":
            slc = mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute '
                                     '`dim` defined.')
            n_dims = ta.ndim
            dim = method.dim + n_dims if method.dim < 0 else method.dim
            if not 0 <= dim < n_dims:
                raise IndexError(f"Index {method.dim} is out of bounds for tensor with dimensions {n_dims}")
            keep_channel = mask.sum(axis=tuple(d for d in range(n_dims) if d != dim)) != 0
            slc = [slice(None)] * n_dims
            slc[dim] = keep_channel
            slc = tuple(slc)
        elif kind == "global":
            slc = (slice(None),) * ta.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        partial = method.compute_mask(_mask_tensor(ta[slc]), default_mask=_mask_tensor(mask[slc]))
        new_mask[slc] = _arr(partial).astype(new_mask.dtype)
        return _mask_tensor(new_mask)


class Identity(BasePruningMethod):
    """Prunes nothing (the mask is all ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        """Reparametrize ``module.<name>`` with a mask of ones."""
        return super().apply(module, name)


def _unstructured(t, default_mask, amount, scores_fn):
    ta = _arr(t)
    n = _compute_nparams_toprune(amount, ta.size)
    _validate_pruning_amount(n, ta.size)
    mask = np.array(_arr(default_mask), copy=True)
    if n != 0:
        idx = np.argsort(scores_fn(ta).ravel(), kind="stable")[:n]
        mask.reshape(-1)[idx] = 0
    return _mask_tensor(mask)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen at random (npgrad's generator)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        from ... import random as _random
        return _unstructured(t, default_mask, self.amount, lambda a: _random.get_generator().random(a.shape))

    @classmethod
    def apply(cls, module, name, amount):
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest magnitude."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        return _unstructured(t, default_mask, self.amount, np.abs)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        """Prune the ``amount`` entries of ``module.<name>`` of smallest ``|importance_scores|``."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _channel_mask(t, dim, keep):
    ta = _arr(t)
    mask = np.zeros(ta.shape, ta.dtype)
    slc = [slice(None)] * ta.ndim
    slc[dim] = keep
    mask[tuple(slc)] = 1
    return mask


def _structured_count(ta, amount, dim):
    """(channels along ``dim``, how many of them ``amount`` prunes), after the structured methods' checks."""
    _validate_structured_pruning(ta)
    _validate_pruning_dim(ta, dim)
    size = ta.shape[dim]
    n = _compute_nparams_toprune(amount, size)
    _validate_pruning_amount(n, size)
    return size, n


def _channels_kept(ta, dim, keep, default_mask):
    """The mask keeping the channels ``keep`` (a bool mask or indices) along ``dim``, within ``default_mask``."""
    mask = _channel_mask(ta, dim, keep)
    mask *= _arr(default_mask).astype(mask.dtype)
    return _mask_tensor(mask)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` channels along ``dim`` chosen at random (npgrad's generator)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        from ... import random as _random
        ta = _arr(t)
        size, n = _structured_count(ta, self.amount, self.dim)
        if n == 0:
            return default_mask
        prob = _random.get_generator().random(size)
        keep = np.ones(size, bool)
        keep[np.argsort(prob, kind="stable")[:n]] = False
        return _channels_kept(ta, self.dim, keep, default_mask)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm (``n``: a number, ``inf``, ``-inf``,
    ``'fro'``, or ``'nuc'`` for a 3-d tensor, as ``torch.norm``'s ``p``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        ta = _arr(t)
        size, n_prune = _structured_count(ta, self.amount, self.dim)
        norm = _compute_norm(ta, self.n, self.dim)
        if n_prune == 0:
            return default_mask
        keep = np.argsort(-norm, kind="stable")[:size - n_prune]
        return _channels_kept(ta, self.dim, keep, default_mask)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest ``n``-norm (of
        ``importance_scores`` if given)."""
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        dm, m = _arr(default_mask), _arr(self.mask)
        if dm.shape != m.shape:
            raise AssertionError(f"default_mask shape {dm.shape} must match self.mask shape {m.shape}")
        return _mask_tensor(dm * m.astype(dm.dtype))

    @classmethod
    def apply(cls, module, name, mask):
        """Prune ``module.<name>`` where ``mask`` is 0."""
        return super().apply(module, name, mask=mask)


def identity(module, name):
    """Reparametrize ``module.<name>`` with a mask of ones (nothing pruned). Returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` (int: a count, float: a fraction) random entries of ``module.<name>``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` (int: a count, float: a fraction) entries of ``module.<name>`` of smallest magnitude
    (of ``importance_scores``, if given)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest ``n``-norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the ``(module, name)`` pairs of ``parameters`` together: ``pruning_method(**kwargs)`` (an
    unstructured method class, e.g. ``L1Unstructured`` with ``amount``) chooses among all their still-unpruned
    entries at once; ``importance_scores`` maps ``(module, name)`` to scores replacing the tensor's values."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    tensors = [getattr(module, name) for module, name in parameters]
    scores = np.concatenate([np.ravel(_arr(importance_scores.get((m, n), t)))
                             for (m, n), t in zip(parameters, tensors)])
    default_mask = np.concatenate([np.ravel(_arr(getattr(m, n + "_mask", None) if hasattr(m, n + "_mask")
                                                 else np.ones(t.shape, t.dtype)))
                                   for (m, n), t in zip(parameters, tensors)])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = _arr(container.compute_mask(_mask_tensor(scores), _mask_tensor(default_mask)))
    pointer = 0
    for (module, name), t in zip(parameters, tensors):
        size = int(np.prod(t.shape))
        custom_from_mask(module, name, mask=_mask_tensor(final_mask[pointer:pointer + size].reshape(t.shape)))
        pointer += size


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` (same shape) is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent and drop its hook, ``<name>_orig`` and ``<name>_mask``."""
    if not _hooks.remove_pre_hook(module, lambda h: isinstance(h, BasePruningMethod) and h._tensor_name == name):
        raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")
    return module


def is_pruned(module):
    """Whether ``module`` or one of its submodules has a pruning hook."""
    for _, submodule in module.named_modules():
        for hook in submodule._forward_pre_hooks.values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False
