"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``state_dict``, as PyTorch.

Updates run on the NumPy arrays directly (``p.data``, ``p.grad``), in place, with no graph recorded.

Sparse gradients (:class:`npgrad.sparse.RowSparseGrad`, from ``Embedding(sparse=True)``): an optimizer
whose ``_sparse_rows(group)`` says so gets the sparse gradient and updates only its rows (SGD without
momentum or weight decay, Adagrad without weight decay: exact, since the dense update leaves the other
rows unchanged). Every other optimizer or setting gets the gradient densified and does the dense math:
where PyTorch refuses sparse gradients (Adam, AdamW, RMSprop; its SparseAdam is a different, lazy
algorithm) npgrad gives the result of the same model with ``sparse=False``.
"""
import copy

import numpy as np

from ..autograd import versions as _versions
from ..autograd.grad_mode import enable_grad
from ..sparse import RowSparseGrad
from ..tensor import Tensor


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class. ``params`` is an iterable of Tensors or of dicts (parameter groups, each with a
    ``"params"`` list and optional per-group hyper-parameters overriding ``defaults``)."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
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
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if p.data.dtype.kind == "c":  # (the updates' squares and norms are written for real numbers)
                raise TypeError(f"{type(self).__name__}: complex parameters ({p.dtype}, shape {p.shape}) are not "
                                f"supported; optimize their real and imaginary parts as real tensors (e.g. a real "
                                f"parameter of shape (..., 2) and npg.view_as_complex(p))")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
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
                        p.grad = np.zeros_like(p.data)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
                if g.__class__ is RowSparseGrad and not self._sparse_rows(group):
                    g = g.to_dense()
                if group.get("maximize", False):
                    g = -g
                self._update(p, g, group, self.state.setdefault(p, {}))
                _versions.bump(p.data, f"{type(self).__name__}.step")  # a graph that saved p must not use it
        return loss

    def _update(self, p, grad, group, state):
        raise NotImplementedError

    def _sparse_rows(self, group):
        """Whether ``_update`` takes a RowSparseGrad as it is (else it gets the dense gradient)."""
        return False

    # ------------------------------------------------------------------- state dicts
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as PyTorch; arrays
        are copies, so the dict is a snapshot."""
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
        """Restore hyper-parameters and per-parameter state saved by ``state_dict`` (matched by position)."""
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

    @staticmethod
    def _load_value(key, value, p):
        if isinstance(value, Tensor):
            value = value.data
        if hasattr(value, "__array__") and not isinstance(value, (int, float)):
            arr = np.array(value, copy=True)
            if key == "step" or arr.ndim == 0:
                return arr.item()
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
