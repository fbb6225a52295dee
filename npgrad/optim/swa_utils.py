"""Stochastic weight averaging and EMA of a model: PyTorch's ``torch.optim.swa_utils`` (``AveragedModel``,
``update_bn``, ``SWALR``, ``get_ema_multi_avg_fn``, ``get_swa_multi_avg_fn``, ``get_ema_avg_fn``,
``get_swa_avg_fn``), the same arithmetic.

Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization", UAI 2018
(https://arxiv.org/abs/1803.05407). ``AveragedModel.update_parameters(model)`` copies the model's parameters at
the first call and then averages: by default the running mean ``avg + (p - avg) / (n + 1)`` (PyTorch's CPU
path), with ``avg_fn(avg, p, n)`` any function returning the new average, or ``multi_avg_fn(avgs, ps, n)`` one
that updates lists in place (``get_ema_multi_avg_fn(decay)``: ``lerp(avg, p, 1 - decay)``;
``get_swa_multi_avg_fn()``: ``lerp(avg, p, 1 / (n + 1))``, the weight rounded to the scalar dtype as PyTorch's
``1 / (n_averaged + 1)`` is rounded to its default dtype). ``n`` is the ``n_averaged`` buffer (0-d int64).
``SWALR`` anneals each group's learning rate to ``swa_lr`` over ``anneal_epochs`` (cosine or linear).
"""
import itertools
import math
from copy import deepcopy

import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from ._schedules import _per_group
from .adam_variants import as_scalar, lerp_
from .lr_scheduler import LRScheduler, _warn_get_lr_called_within_step

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _arr(t):
    return t.data if isinstance(t, Tensor) else t


def get_ema_multi_avg_fn(decay=0.999):
    """In place over lists: ``avg = lerp(avg, p, 1 - decay)`` (floating), ``avg * decay + p * (1 - decay)``
    (other dtypes)."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        floating = _arr(ema_param_list[0]).dtype.kind in "fc"
        for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
            a, b = _arr(p_ema), _arr(p_model)
            if floating:
                lerp_(a, b, 1 - decay)
            else:
                a[...] = a * decay + b * (1 - decay)
    return ema_update


def get_swa_multi_avg_fn():
    """In place over lists: ``avg = lerp(avg, p, 1 / (n + 1))`` (floating), ``avg + (p - avg) / (n + 1)``."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = int(_arr(num_averaged)) if not isinstance(num_averaged, int) else num_averaged
        floating = _arr(averaged_param_list[0]).dtype.kind in "fc"
        for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
            a, b = _arr(p_avg), _arr(p_model)
            if floating:
                lerp_(a, b, as_scalar(1 / (n + 1)))
            else:
                a[...] = a + (b - a) / (n + 1)
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """``decay * avg + (1 - decay) * p``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """``avg + (p - avg) / (n + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and, with ``use_buffers=True``, buffers) are the average of the
    model's over the calls of ``update_parameters``; calling it runs the copy. Its state dict holds
    ``n_averaged`` and ``module.*``, as PyTorch's."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device=device)
        self.register_buffer("n_averaged", Tensor(np.array(0, dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Copy (first call) or average ``model``'s parameters into this one's, then count the call."""
        with no_grad():
            if self.use_buffers:
                self_params = list(itertools.chain(self.module.parameters(), self.module.buffers()))
                model_params = list(itertools.chain(model.parameters(), model.buffers()))
            else:
                self_params, model_params = list(self.parameters()), list(model.parameters())
            pairs = list(zip(self_params, model_params))
            n = int(self.n_averaged.data)
            if n == 0:
                for p_avg, p_model in pairs:
                    p_avg.data[...] = p_model.data
            else:
                if self.multi_avg_fn is not None:
                    for avgs, cur in self._by_dtype(pairs):
                        self.multi_avg_fn(avgs, cur, Tensor(np.array(n, dtype=np.int64)))
                elif self.avg_fn is None:
                    for p_avg, p_model in pairs:
                        p_avg.data[...] = p_avg.data + (p_model.data - p_avg.data) / (n + 1)
                else:
                    for p_avg, p_model in pairs:
                        out = self.avg_fn(p_avg.detach(), p_model.detach(), Tensor(np.array(n, dtype=np.int64)))
                        p_avg.data[...] = _arr(out)
            if not self.use_buffers:
                own, theirs = list(self.module.buffers()), list(model.buffers())
                for b_swa, b_model in zip(own, theirs, strict=True):
                    b_swa.data[...] = b_model.data
            self.n_averaged.data[...] = n + 1

    @staticmethod
    def _by_dtype(pairs):
        """The pairs grouped by dtype, as PyTorch's ``_group_tensors_by_device_and_dtype``."""
        groups = {}
        for p_avg, p_model in pairs:
            a, c = groups.setdefault(p_avg.data.dtype, ([], []))
            a.append(p_avg.detach())
            c.append(p_model.detach())
        return list(groups.values())


def update_bn(loader, model, device=None):
    """Recompute the BatchNorm running statistics of ``model`` over ``loader`` (one pass, cumulative averages:
    ``momentum=None``); the first element of a list or tuple batch is the input."""
    from ..nn.modules.norm import _BatchNorm
    with no_grad():
        momenta = {}
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None
        for inp in loader:
            if isinstance(inp, (list, tuple)):
                inp = inp[0]
            model(inp)
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's learning rate from its value to ``swa_lr`` over ``anneal_epochs`` steps (``"cos"``:
    ``alpha = (1 - cos(pi t)) / 2``, ``"linear"``: ``alpha = t``), then keeps it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = _per_group("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self):
        """Everything but the optimizer and the annealing function, as PyTorch's."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
