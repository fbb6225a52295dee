"""Tensor.register_post_accumulate_grad_hook and engine.queue_callback, against PyTorch: a hooked leaf's
gradient is accumulated (and its hook called) as soon as it is complete, not at the end of backward."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F
from npgrad.autograd.engine import queue_callback


def _mlp(lib, params, x, y):
    W1, b1, W2, b2, W3 = params
    if lib is npg:
        h = F.relu(x @ W1 + b1)
        h = npg.tanh(h @ W2 + b2)
        h = h @ W3 + h @ W3 * 0.5          # W3 used twice: its hook runs once, with the sum
        return F.cross_entropy(h, y)
    h = torch.relu(x @ W1 + b1)
    h = torch.tanh(h @ W2 + b2)
    h = h @ W3 + h @ W3 * 0.5
    return torch.nn.functional.cross_entropy(h, torch.tensor(y))


def _params(rng):
    return [rng.standard_normal(s) for s in ((6, 8), (8,), (8, 5), (5,), (5, 3))]


def _run(lib, arrays, x, y, steps=2):
    """Backward twice (gradients accumulate), recording at each post hook which parameters had a .grad and
    the .grad the hook saw."""
    if lib is npg:
        params = [npg.tensor(a) for a in arrays]
        xx = npg.tensor(x, requires_grad=False)
    else:
        params = [torch.tensor(a, requires_grad=True) for a in arrays]
        xx = torch.tensor(x)
    log = []
    arr = (lambda g: np.array(g)) if lib is npg else (lambda g: g.detach().numpy().copy())

    def hook_for(i):
        def hook(p):
            assert p is params[i]
            log.append((i, tuple(q.grad is not None for q in params), arr(p.grad)))
        return hook

    handles = [p.register_post_accumulate_grad_hook(hook_for(i)) for i, p in enumerate(params)]
    for _ in range(steps):
        _mlp(lib, params, xx, y).backward()
    return log, [arr(p.grad) for p in params], handles, params


def test_post_accumulate_hooks_match_torch_in_order_timing_and_values():
    rng = np.random.default_rng(0)
    arrays, x, y = _params(rng), rng.standard_normal((4, 6)), np.array([0, 2, 1, 2])
    log, grads, handles, params = _run(npg, arrays, x, y)
    tlog, tgrads, _, _ = _run(torch, arrays, x, y)
    assert [e[0] for e in log] == [e[0] for e in tlog]           # the same order: output layer first
    assert [e[1] for e in log] == [e[1] for e in tlog]           # W1 had no .grad yet when W3's hook ran
    assert log[0][1] == (False, False, False, False, True)
    for (_, _, g), (_, _, tg) in zip(log, tlog):
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-14)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-14)
    for h in handles:          # removed: backward takes the default path again, with the same result
        h.remove()
    for p in params:
        p.grad = None
    _mlp(npg, params, npg.tensor(x, requires_grad=False), y).backward()
    assert len(log) == 10
    np.testing.assert_allclose(params[0].grad, tgrads[0] / 2, rtol=1e-12, atol=1e-14)


def test_a_hooked_leaf_is_accumulated_before_backward_reaches_the_first_layer():
    """The output layer's weight is finished (and its hook called) while backward still has the earlier layers
    to go: a tensor hook on the first layer's output runs after it, as in PyTorch."""
    for lib in (npg, torch):
        events = []
        if lib is npg:
            x, W1, W2 = npg.tensor(np.ones((2, 3)), requires_grad=False), npg.randn(3, 4), npg.randn(4, 2)
        else:
            x, W1, W2 = torch.ones(2, 3), torch.randn(3, 4, requires_grad=True), torch.randn(4, 2, requires_grad=True)
        W2.register_post_accumulate_grad_hook(lambda t: events.append("W2 accumulated"))
        W1.register_post_accumulate_grad_hook(lambda t: events.append("W1 accumulated"))
        h = lib.tanh(x @ W1)
        h.register_hook(lambda g: events.append("first layer's output"))
        (h @ W2).sum().backward()
        assert events == ["W2 accumulated", "first layer's output", "W1 accumulated"], (lib.__name__, events)


def test_hooked_leaf_gets_the_same_gradient_as_without_hooks_when_used_many_times():
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal(16)

    def grad_of(hooked):
        a = npg.tensor(a0)
        seen = []
        if hooked:
            a.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.copy()))
        h = npg.tensor(np.ones(16), requires_grad=False)
        for _ in range(200):            # a small leaf used 200 times (the batched-sum path without hooks)
            h = npg.tanh(h * a + 0.1)
        npg.sum(h).backward()
        return a.grad, seen

    plain, _ = grad_of(False)
    hooked, seen = grad_of(True)
    assert len(seen) == 1
    np.testing.assert_array_equal(hooked, plain)
    np.testing.assert_array_equal(seen[0], plain)


def test_register_hook_runs_before_accumulation_and_root_leaf_and_inputs():
    x = npg.tensor([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.copy()))
    npg.sum(x * x).backward()
    np.testing.assert_array_equal(seen[0], [20.0, 40.0])
    x.backward(np.ones(2))              # the leaf itself is the root
    np.testing.assert_array_equal(seen[1], [30.0, 50.0])
    w = npg.tensor([3.0])
    npg.sum(x * w).backward(inputs=[x])  # backward(inputs=...) accumulates into x, so its hook runs
    assert len(seen) == 3 and w.grad is None
    npg.autograd.grad(npg.sum(x * w), [x])   # grad() accumulates nothing: no hook
    assert len(seen) == 3


def test_post_hook_refused_on_non_leaf_and_constant():
    x = npg.tensor([1.0])
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        npg.tensor([1.0], requires_grad=False).register_post_accumulate_grad_hook(lambda t: None)


def test_queue_callback_runs_after_every_leaf_is_accumulated():
    a, b = npg.tensor([1.0, 2.0]), npg.tensor([3.0, 4.0])
    events = []

    def hook(t):
        events.append("hook")
        queue_callback(lambda: events.append(("callback", a.grad.copy(), b.grad.copy())))

    b.register_post_accumulate_grad_hook(hook)
    npg.sum(npg.exp(a) * b).backward()
    assert events[0] == "hook" and events[1][0] == "callback" and len(events) == 2
    np.testing.assert_allclose(events[1][1], np.exp([1.0, 2.0]) * [3.0, 4.0])
    with pytest.raises(RuntimeError, match="no backward pass running"):
        queue_callback(lambda: None)


def test_a_failing_backward_forgets_its_queued_callbacks():
    a = npg.tensor([1.0, 2.0])
    calls = []

    def hook(g):
        queue_callback(lambda: calls.append(1))
        raise ValueError("boom")

    y = a * 2
    y.register_hook(hook)
    with pytest.raises(ValueError, match="boom"):
        npg.sum(y * 3).backward()
    npg.sum(a * 3).backward()
    assert calls == []
