"""The rest of ``torch.func``: ``linearize``, ``stack_module_state`` (model ensembling with ``vmap`` and
``functional_call``), ``replace_all_batch_norm_modules_`` and ``functionalize``. Exported from ``npg.func``."""
import numpy as np

from .tensor import Tensor, tensor

__all__ = ["linearize", "stack_module_state", "replace_all_batch_norm_modules_", "functionalize"]


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``, as ``torch.func.linearize``: ``jvp_fn(*tangents)`` is the Jacobian of
    ``func`` at ``primals`` applied to ``tangents`` (forward mode, ``npg.func.jvp``), for tangents of the
    primals' structure (a primal may be a tuple, list or dict of tensors), shapes and dtypes."""
    from .func import jvp
    from ._pytree import _flatten, _spec_str, _unflatten
    if not primals:
        raise ValueError("linearize: expected at least one primal")
    leaves, spec = _flatten(primals)
    primals = _unflatten([p if isinstance(p, Tensor) else tensor(p, requires_grad=False) for p in leaves], spec)
    leaves = _flatten(primals)[0]
    out = func(*primals)  # (with its graph, as torch's: a primal that requires grad is differentiated through it)

    def jvp_fn(*tangents):
        t_leaves, t_spec = _flatten(tangents)
        if t_spec != spec:
            raise RuntimeError(f"linearize: expected the tangents to have the structure of the primals; tangents: "
                               f"{_spec_str(t_spec)}, primals: {_spec_str(spec)}")
        ts = []
        for i, (p, t) in enumerate(zip(leaves, t_leaves)):
            t = t if isinstance(t, Tensor) else tensor(np.asarray(t), requires_grad=False)
            if t.shape != p.shape or t.dtype != p.dtype:
                raise RuntimeError(f"linearize: expected tangent {i} of shape {p.shape} and dtype {p.dtype} (the "
                                   f"primal's), got shape {t.shape} and dtype {t.dtype}")
            ts.append(t)
        return jvp(func, primals, _unflatten(ts, t_spec))[1]
    return out, jvp_fn


def stack_module_state(models):
    """``(params, buffers)``: each of the models' parameters and buffers stacked along a new first axis, as
    ``torch.func.stack_module_state`` — new leaves (a parameter stack requires grad when all of its
    parameters do), for ``vmap(functional_call(...), in_dims=(0, 0, None))`` over an ensemble of models of
    one class."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(name, leaves):
        grads = {bool(t._requires_grad) for t in leaves}
        if len(grads) > 1:
            raise RuntimeError(f"stack_module_state: Expected {name} from each model to have the same ._requires_grad")
        return tensor(np.stack([t.data for t in leaves]), requires_grad=grads.pop())
    params = [dict(m.named_parameters()) for m in models]
    buffers = [dict(m.named_buffers()) for m in models]
    return ({k: stacked(k, [p[k] for p in params]) for k in params[0]},
            {k: stacked(k, [b[k] for b in buffers]) for k in buffers[0]})


def replace_all_batch_norm_modules_(root):
    """Make every BatchNorm module in ``root`` use batch statistics only (running_mean, running_var and
    num_batches_tracked set to None, track_running_stats False), in place, as
    ``torch.func.replace_all_batch_norm_modules_``: what vmap needs to run BatchNorm in training mode per
    sample. Returns ``root``."""
    from .nn.modules.norm import _BatchNorm
    for m in root.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def functionalize(func, *, remove="mutations"):
    """``func`` itself, as ``torch.func.functionalize`` would give a function with the same values: npgrad's
    transforms already differentiate and batch code that writes in place (npgrad/ops/inplace.py), so there
    is nothing to rewrite. ``remove`` is checked as PyTorch's ("mutations" or "mutations_and_views")."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           f"Valid options are: remove='mutations', remove='mutations_and_views'")
    return func
