"""npgrad.utils.checkpoint (activation checkpointing) against torch.utils.checkpoint: values, input and
parameter gradients, the random state replayed for dropout, the memory not held between forward and
backward, and PyTorch's errors where it refuses."""
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as TC

import npgrad as npg
import npgrad.nn as nn
from npgrad.utils.checkpoint import checkpoint, checkpoint_sequential
from tests.helpers import assert_close


def _models():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
                             torch.nn.Linear(8, 2)).double()
    m = nn.Sequential(nn.Linear(4, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 8, dtype=np.float64), nn.ReLU(),
                      nn.Linear(8, 2, dtype=np.float64))
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _same_param_grads(m, tm):
    for (name, p), (_, tp) in zip(sorted(m.named_parameters()), sorted(tm.named_parameters())):
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-12, atol=1e-12, what=name)


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_values_and_gradients_vs_torch(use_reentrant, input_requires_grad):
    m, tm = _models()
    x0 = np.random.default_rng(0).standard_normal((5, 4))
    x, tx = npg.tensor(x0, requires_grad=input_requires_grad), torch.tensor(x0, requires_grad=input_requires_grad)

    def segment(model):
        return lambda h: model[2](model[1](model[0](h)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # (torch's reentrant variant warns when no input requires grad)
        y = m[4](m[3](checkpoint(segment(m), x, use_reentrant=use_reentrant)))
        ty = tm[4](tm[3](TC.checkpoint(segment(tm), tx, use_reentrant=False)))
    assert_close(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    _same_param_grads(m, tm)      # (the parameters inside the segment get their gradients in both cases)
    if input_requires_grad:
        assert_close(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_the_recomputation_replays_the_random_state():
    x0 = np.random.default_rng(1).standard_normal((50, 20))

    def f(h):
        return npg.nn.functional.dropout(h * 2.0, 0.5, True)
    a = npg.tensor(x0)
    npg.random.seed(3)
    y = checkpoint(f, a, use_reentrant=True)
    after = npg.random.get_generator().random()
    y.sum().backward()
    b = npg.tensor(x0)
    npg.random.seed(3)
    z = f(b)
    assert npg.random.get_generator().random() == after      # backward left the generator where it was
    z.sum().backward()
    np.testing.assert_array_equal(y.data, z.data)
    np.testing.assert_array_equal(a.grad, b.grad)            # the same mask in the recomputation


def test_the_segment_holds_no_activation_until_backward():
    x0 = np.random.default_rng(2).standard_normal((256, 256))

    def deep(h):
        for _ in range(20):
            h = npg.tanh(h * 1.01)
        return h

    def held(use_checkpoint):
        x = npg.tensor(x0)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        y = checkpoint(deep, x, use_reentrant=True) if use_checkpoint else deep(x)
        during = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        y.sum().backward()
        return during, x.grad
    kept, grad_kept = held(False)
    saved, grad_saved = held(True)
    assert saved < kept / 5                  # one output against 20 layers' saved activations
    assert_close(grad_saved, grad_kept, rtol=1e-12, atol=1e-12)


def test_checkpoint_sequential_vs_torch():
    m, tm = _models()
    x0 = np.random.default_rng(3).standard_normal((5, 4))
    x, tx = npg.tensor(x0), torch.tensor(x0, requires_grad=True)
    y = checkpoint_sequential(m, 2, x, use_reentrant=True)
    ty = TC.checkpoint_sequential(tm, 2, tx, use_reentrant=True)
    assert_close(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    assert_close(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    _same_param_grads(m, tm)


def test_errors_where_torch_refuses():
    x0 = np.ones(3)
    x, tx = npg.tensor(x0), torch.tensor(x0, requires_grad=True)
    with pytest.raises(RuntimeError, match="incompatible with .grad"):
        torch.autograd.grad(TC.checkpoint(lambda h: h * h, tx, use_reentrant=True).sum(), tx)
    with pytest.raises(RuntimeError, match="not compatible with .grad"):
        npg.autograd.grad(checkpoint(lambda h: h * h, x, use_reentrant=True).sum(), x)
    with pytest.raises(RuntimeError, match="not compatible with .grad"):
        checkpoint(lambda h: h * h, x, use_reentrant=True).sum().backward(inputs=[x])
    with pytest.raises(RuntimeError, match="create_graph"):
        checkpoint(lambda h: h * h, x, use_reentrant=True).sum().backward(create_graph=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(lambda h: h * 2, x)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        TC.checkpoint(lambda h: h, tx, use_reentrant=True, context_fn=lambda: None)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(lambda h: h, x, use_reentrant=True, context_fn=lambda: None)
    with pytest.raises(ValueError, match="context_fn must return a pair"):
        checkpoint(lambda h: h, x, use_reentrant=False, context_fn=lambda: None)


def test_an_input_modified_in_place_before_backward_is_an_error():
    y0 = npg.tensor(np.ones(3))
    y = y0 * 1.0
    out = checkpoint(lambda h: npg.sin(h), y, use_reentrant=True)
    y += 1.0      # the saved input changes: the recomputation would differentiate other values
    with pytest.raises(RuntimeError, match="modified by an inplace operation|modified"):
        out.sum().backward()
