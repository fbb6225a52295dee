"""Activation checkpointing, as ``torch.utils.checkpoint``: ``checkpoint(function, *args)`` runs
``function`` without recording its graph (its intermediate activations are freed at once) and runs it again
during backward, with the random generator's state of the first run (dropout draws the same masks), to get
the gradients of its inputs and of the parameters it uses. Memory for compute: one more forward pass of each
checkpointed segment.

This is PyTorch's reentrant variant (``use_reentrant=True``) for both values of ``use_reentrant``: the
recomputation runs its own backward pass, which accumulates the parameters' gradients into ``.grad``. Hence,
as in PyTorch's reentrant variant:

* ``npg.autograd.grad`` and ``backward(inputs=...)`` through a checkpoint raise (they return gradients
  instead of accumulating them); so does ``create_graph=True``;
* with no input that requires grad, PyTorch's reentrant variant returns outputs without a graph (the
  parameters get no gradient, with a warning). npgrad then runs ``function`` normally instead, recording its
  graph: the gradients are right and only the memory is not saved (PyTorch's non-reentrant variant also
  differentiates the parameters in this case).
"""
import copy
import warnings

from ..autograd import engine as _engine
from ..autograd.function import Function
from ..autograd.grad_mode import _state, enable_grad
from ..random import get_generator
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]

_CAPTURE_ERROR = ("Checkpointing is not compatible with .grad() or when an `inputs` parameter is passed to .backward(). "
                  "Please use .backward() and do not pass its `inputs` argument.")


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, function, preserve_rng_state, kwargs, *args):
        ctx.function, ctx.kwargs, ctx.args = function, kwargs, args
        ctx.rng_state = copy.deepcopy(get_generator().bit_generator.state) if preserve_rng_state else None
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])   # (version-checked in backward)
        return function(*args, **kwargs)

    @staticmethod
    def backward(ctx, *grads):
        if getattr(_engine._tls, "capturing", False):
            raise RuntimeError(_CAPTURE_ERROR)
        if _state.enabled:
            raise RuntimeError("checkpoint: differentiating the gradients (create_graph=True) through a checkpoint is "
                               "not supported; call backward() without create_graph")
        saved = iter(ctx.saved_tensors)
        inputs = []
        for a in ctx.args:
            if isinstance(a, Tensor):
                s = next(saved)
                leaf = Tensor(s.data, requires_grad=a.requires_grad)
                inputs.append(leaf)
            else:
                inputs.append(a)
        gen = get_generator()
        current = None
        if ctx.rng_state is not None:
            current = gen.bit_generator.state
            gen.bit_generator.state = ctx.rng_state
        try:
            with enable_grad():
                outputs = ctx.function(*inputs, **ctx.kwargs)
        finally:
            if current is not None:
                gen.bit_generator.state = current
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            _engine.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, None) + tuple(x.grad if isinstance(x, Tensor) and x.requires_grad else None
                                          for x in inputs)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default", debug=False,
               preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept (see the module
    docstring). ``use_reentrant`` should be passed, as PyTorch asks (a warning otherwise); both values behave
    as PyTorch's reentrant variant. ``context_fn`` and ``debug`` are PyTorch's non-reentrant options and are
    refused; ``determinism_check`` accepts "default" and "none"."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly (npgrad: both "
                      "values run the reentrant variant).", UserWarning, stacklevel=2)
    if context_fn is not None or debug:
        raise ValueError("checkpoint: context_fn and debug are options of PyTorch's non-reentrant variant, which "
                         "npgrad does not have")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check!r}")
    if not _state.enabled or not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        return function(*args, **kwargs)   # (nothing to save, or a graph is needed for the parameters)
    return _Checkpoint.apply(function, preserve_rng_state, kwargs, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list, or an ``nn.Sequential``) in ``segments`` chunks, each but the last
    checkpointed, as PyTorch's ``checkpoint_sequential``."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly.", UserWarning, stacklevel=2)
        use_reentrant = True
    size = len(functions) // segments

    def run(start, end):
        def forward(x):
            for f in functions[start:end + 1]:
                x = f(x)
            return x
        return forward
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(functions) - 1)(input)
