"""``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp`` and ``vhp`` of a
function of tensors, with PyTorch's arguments and result structure (a tensor per input when ``inputs`` is
one tensor, tuples otherwise; ``jacobian``'s blocks ``output.shape + input.shape``).

Everything is the engine's reverse mode, as in PyTorch: ``jvp`` is the double-backward trick (a VJP with a
dummy cotangent, differentiated in that cotangent), ``hvp``/``vhp`` differentiate a gradient. With
``create_graph=True`` the results stay in the graph (differentiable in the inputs, and in the inputs'
own graph when they require grad); otherwise they are detached. ``strict=True`` raises where an output does
not depend on an input (PyTorch's check), instead of returning zeros. ``vectorize`` (PyTorch's switch to
batched rows) changes nothing here: the rows are one VJP each either way, the same values; for vectorized
Jacobians use ``npg.func.jacrev`` / ``jacfwd`` / ``hessian``, which batch them with ``vmap``.
"""
import numpy as np

from ..tensor import Tensor, tensor
from .engine import grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x, what, where):
    if isinstance(x, Tensor):
        return (x,), False
    if isinstance(x, tuple) and all(isinstance(t, Tensor) for t in x):
        return x, True
    raise TypeError(f"{where}: the {what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")


def _prepare(inputs, create_graph):
    """Fresh inputs that require grad: connected to the caller's graph (a view) when create_graph and the
    input requires grad, else detached leaves (PyTorch's _grad_preprocess)."""
    out = []
    for x in inputs:
        if create_graph and x._requires_grad:
            out.append(x.reshape(x.shape))
        else:
            out.append(tensor(x.data, requires_grad=x.dtype.kind in "fc"))
    return tuple(out)


def _finish(values, create_graph):
    if create_graph:
        return values
    return tuple(None if v is None else tensor(v.data, requires_grad=False) for v in values)


def _grad(outputs, inputs, grad_outputs, create_graph):
    """``engine.grad`` over the outputs that require grad (paired with their cotangents), None for every input
    when none does: an output that does not depend on the inputs (a constant, a bool mask) contributes nothing,
    as in PyTorch, instead of making the engine raise."""
    pairs = [(o, c) for o, c in zip(outputs, grad_outputs) if o is not None and o._requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    with enable_grad():
        return grad([o for o, _ in pairs], inputs, grad_outputs=[c for _, c in pairs], create_graph=create_graph,
                    allow_unused=True, retain_graph=True)


def _check_requires_grad(values, kind, strict, where):
    """strict mode's checks on the outputs, the first gradients (``kind`` "grad_inputs" for jvp's double-backward
    trick) or the Jacobian of a second-order function: each must depend on the inputs (PyTorch's checks)."""
    if not strict:
        return
    for i, v in enumerate(values):
        if v is None:
            raise RuntimeError(f"{where}: the output of the user-provided function is independent of input {i}. This "
                               f"is not allowed in strict mode.")
        if v._requires_grad:
            continue
        if kind == "outputs":
            raise RuntimeError(f"{where}: output {i} of the user-provided function does not require gradients. The "
                               f"outputs must be computed in a differentiable manner from the input when running in "
                               f"strict mode.")
        if kind == "grad_inputs":
            raise RuntimeError(f"{where}: the gradient with respect to input {i} is independent of the inputs of the "
                               f"user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(f"{where}: while computing the hessian, found that the jacobian of the user-provided "
                           f"function with respect to input {i} is independent of the input. This is not allowed in "
                           f"strict mode (a linear function, for example).")


def _fill_zeros(grads, refs, strict, where, what, create_graph=False):
    """``grads`` with zeros (of ``refs[i]``'s shape and dtype) for None; in strict mode a None raises, and with
    ``create_graph`` so does a result that does not depend on the inputs (PyTorch's checks)."""
    out = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{where}: the {what} of the user-provided function is independent of input {i}. "
                                   f"This is not allowed in strict mode.")
            g = tensor(np.zeros(r.shape, dtype=r.dtype), requires_grad=False)
        elif strict and create_graph and not g._requires_grad:
            kind = "hessian" if where in ("hvp", "vhp") else "jacobian"
            raise RuntimeError(f"{where}: the {kind} of the user-provided function is independent of input {i}. This "
                               f"is not allowed in strict mode when create_graph=True.")
        out.append(g)
    return tuple(out)


def _check_v(v, refs, where, what):
    """``v`` as a tuple matching ``refs`` (the outputs or the inputs) in count and shapes; None is allowed,
    as ones, when ``refs`` is a single one-element tensor (PyTorch's rule)."""
    if v is None:
        if len(refs) != 1 or refs[0].size != 1:
            subject = ("the user-provided function returns a single Tensor" if what == "outputs" else
                       "the input to the user-provided function is a single Tensor")
            raise RuntimeError(f"{where}: the vector v can only be None if {subject} with a single element.")
        return (tensor(np.ones(refs[0].shape, dtype=refs[0].dtype), requires_grad=False),)
    v, _ = _as_tuple(v, "v", where)
    if len(v) != len(refs):
        raise RuntimeError(f"{where}: v has {len(v)} tensors but the {what} {len(refs)}")
    for i, (a, b) in enumerate(zip(v, refs)):
        if a.shape != b.shape:
            raise RuntimeError(f"{where}: entry {i} of v has shape {a.shape}, the {what}' has shape {b.shape}")
    return v


def _call(func, inputs, where):
    with enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "function's output", where)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``, as ``torch.autograd.functional.vjp`` (``v`` may be omitted for a
    one-element output)."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare(inputs, create_graph)
    outs, out_tuple = _call(func, xs, "vjp")
    _check_requires_grad(outs, "outputs", strict, "vjp")
    v = _check_v(v, outs, "vjp", "outputs")
    gs = _fill_zeros(_grad(outs, xs, v, create_graph), xs, strict, "vjp", "output", create_graph)
    outs, gs = _finish(outs, create_graph), _finish(gs, create_graph)
    return (outs if out_tuple else outs[0]), (gs if in_tuple else gs[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``, as ``torch.autograd.functional.jvp`` (the double-backward trick; ``v`` may be
    omitted for a one-element input)."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    xs = _prepare(inputs, create_graph)
    v = _check_v(v, xs, "jvp", "inputs")
    outs, out_tuple = _call(func, xs, "jvp")
    _check_requires_grad(outs, "outputs", strict, "jvp")
    dummies = tuple(tensor(np.zeros(o.shape, dtype=o.dtype)) for o in outs)   # cotangents to differentiate in
    gs = _grad(outs, xs, dummies, True)
    _check_requires_grad(gs, "grad_inputs", strict, "jvp")
    jv = _grad(gs, dummies, v, create_graph)
    jv = _fill_zeros(jv, outs, strict, "jvp", "output", create_graph)
    outs, jv = _finish(outs, create_graph), _finish(jv, create_graph)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``, as ``torch.autograd.functional.jacobian``: for one input and
    one output a tensor of shape ``output.shape + input.shape``; a tuple over inputs, over outputs, or a
    tuple (outputs) of tuples (inputs). Rows by reverse mode ("forward-mode" gives the same values)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('jacobian: expected strategy to be either "forward-mode" or "reverse-mode"')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("jacobian: computing Jacobian in forward-mode is only supported with "
                                  "vectorize=True (as in PyTorch)")
    if strict and vectorize:
        raise RuntimeError("jacobian: `strict=True` and `vectorize=True` are not supported together (as in PyTorch); "
                           "set either one to False")
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare(inputs, create_graph)
    outs, out_tuple = _call(func, xs, "jacobian")
    _check_requires_grad(outs, "outputs", strict, "jacobian")
    blocks = []
    for i, out in enumerate(outs):
        rows = [[] for _ in xs]
        for k in range(out.size):
            e = np.zeros(out.size, dtype=out.dtype)
            e[k] = 1
            gs = _grad((out,), xs, (tensor(e.reshape(out.shape), requires_grad=False),), create_graph)
            for j, g in enumerate(gs):
                if strict and g is None:
                    raise RuntimeError(f"jacobian: output {i} of the user-provided function is independent of input "
                                       f"{j}. This is not allowed in strict mode.")
                if strict and create_graph and not g._requires_grad:
                    raise RuntimeError(f"jacobian: the jacobian of output {i} of the user-provided function is "
                                       f"independent of input {j}. This is not allowed in strict mode when "
                                       f"create_graph=True.")
                rows[j].append(g)
        row_blocks = []
        for j, x in enumerate(xs):
            if out.size == 0 or all(g is None for g in rows[j]):
                block = tensor(np.zeros(out.shape + x.shape, dtype=x.dtype), requires_grad=False)
            else:
                from ..ops.shape import reshape, stack
                filled = [g if g is not None else tensor(np.zeros(x.shape, x.dtype), requires_grad=False)
                          for g in rows[j]]
                block = reshape(stack(filled), out.shape + x.shape)
            row_blocks.append(block if create_graph else tensor(block.data, requires_grad=False))
        blocks.append(tuple(row_blocks))
    if out_tuple:
        return tuple(b if in_tuple else b[0] for b in blocks)
    return blocks[0] if in_tuple else blocks[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``, as ``torch.autograd.functional.hessian``: one input
    gives a tensor ``input.shape + input.shape``, a tuple of inputs a tuple of tuples."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "hessian")

    def first(*xs):
        outs, _ = _call(func, xs, "hessian")
        _check_requires_grad(outs, "outputs", strict, "hessian")
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError("hessian: the function given to hessian should return a single Tensor with a single "
                               "element")
        with enable_grad():
            out = outs[0].reshape(())
            gs = _grad((out,), xs, (tensor(np.ones((), out.dtype), requires_grad=False),), True)
        gs = _fill_zeros(gs, xs, False, "hessian", "output")
        _check_requires_grad(gs, "jacobian", strict, "hessian")
        return gs
    res = jacobian(first, inputs if in_tuple else inputs[0], create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return res if in_tuple else res[0]


def _second(func, inputs, v, create_graph, strict, where, transposed):
    inputs, in_tuple = _as_tuple(inputs, "inputs", where)
    xs = _prepare(inputs, create_graph)
    outs, out_tuple = _call(func, xs, where)
    _check_requires_grad(outs, "outputs", strict, where)
    if out_tuple or outs[0].size != 1:
        raise RuntimeError(f"{where}: the function given to {where} should return a single Tensor with a single "
                           f"element")
    v = _check_v(v, xs, where, "inputs")
    with enable_grad():
        out = outs[0].reshape(())
        gs = _grad((out,), xs, (tensor(np.ones((), out.dtype), requires_grad=False),), True)
        _check_requires_grad(gs, "jacobian", strict, where)
        gs = _fill_zeros(gs, xs, False, where, "output")
        if transposed:    # vhp: v^T H, the gradient of g in the direction v
            res = _grad(gs, xs, v, create_graph)
        else:             # hvp: H v, the gradient of g . v
            live = [(g, vi) for g, vi in zip(gs, v) if g._requires_grad]
            dot = sum(((g * vi).sum() for g, vi in live), 0.0)
            res = _grad((dot,), xs, (tensor(np.ones((), dot.dtype), requires_grad=False),), create_graph) if live \
                else (None,) * len(xs)
    res = _fill_zeros(res, xs, strict, where, "hessian" if transposed else "output", create_graph)
    out, res = _finish(outs, create_graph), _finish(res, create_graph)
    return out[0], (res if in_tuple else res[0])


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)``, as ``torch.autograd.functional.vhp``."""
    return _second(func, inputs, v, create_graph, strict, "vhp", True)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)``, as ``torch.autograd.functional.hvp``."""
    return _second(func, inputs, v, create_graph, strict, "hvp", False)
