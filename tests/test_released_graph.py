"""A graph freed by backward() (retain_graph=False) and then reused by grad() / backward(inputs=): a correct
gradient or PyTorch's "backward through the graph a second time" error, never a silent zero.

npgrad's backward frees a node's inputs with its saved values; grad() used to take such a node as a dead end,
so the gradient of an input behind it was silently left out (npg [1, 1] where torch gives [10, 10] below).
"""
import numpy as np
import pytest
import torch

import npgrad as npg

SECOND_TIME = "backward through the graph a second time"


def _x(lib):
    v = [0.3, -0.2]
    return npg.tensor(np.array(v), requires_grad=True) if lib is npg else torch.tensor(v, dtype=torch.float64,
                                                                                         requires_grad=True)


def _expand_reused(lib, retain):
    """The reported case: an expanded view, differentiated once, reused in a second loss."""
    x = _x(lib)
    e = x.expand(3, 2) if lib is torch else npg.broadcast_to(x, (3, 2))
    (e * e).sum().backward(retain_graph=retain)
    return x, (e * 3).sum() + x.sum()


def _saved_reused(lib, retain):
    x = _x(lib)
    e = x * x
    (e * e).sum().backward(retain_graph=retain)
    return x, (e * 3).sum() + x.sum()


@pytest.mark.parametrize("make", [_expand_reused, _saved_reused])
def test_grad_through_a_freed_node_raises_instead_of_dropping_its_gradient(make):
    x, loss = make(npg, False)
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        npg.autograd.grad(loss, [x])
    x, loss = make(npg, False)
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        loss.backward(inputs=[x])
    x, loss = make(npg, False)
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        npg.autograd.grad(loss, [x], allow_unused=True)


@pytest.mark.parametrize("make", [_expand_reused, _saved_reused])
def test_with_retain_graph_the_gradient_through_the_reused_node_is_torchs(make):
    x, loss = make(npg, True)
    tx, tloss = make(torch, True)
    expected = torch.autograd.grad(tloss, [tx])[0].numpy()
    np.testing.assert_allclose(npg.autograd.grad(loss, [x])[0].data, expected, rtol=1e-12)
    x, loss = make(npg, True)
    x.grad = None  # (the first backward's)
    loss.backward(inputs=[x])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


def test_the_freed_node_itself_as_the_one_input_gets_its_gradient_as_torch():
    """Nothing behind the freed node is asked for: its gradient is captured there, as PyTorch's."""
    out = {}
    for lib in (npg, torch):
        x = _x(lib)
        h = x * x
        h.sum().backward()
        out[lib] = (lib.autograd.grad((h * 3).sum() + (h * h).sum(), [h])[0])
    np.testing.assert_allclose(out[npg].data, out[torch].detach().numpy(), rtol=1e-12)


def test_a_distributions_mean_after_backward_through_its_log_prob():
    """The hunt's second report: Binomial(total_count (3, 1), logits (4,)) - after log_prob(v).sum().backward(),
    grad(d.mean.sum() + l.sum(), [l]) left out the mean's part (the broadcast logits' node was freed)."""
    n = np.array([[2.0], [3.0], [5.0]])
    logits = npg.tensor(np.array([0.1, -0.4, 0.7, 0.2]), requires_grad=True)
    d = npg.distributions.Binomial(total_count=npg.tensor(n, requires_grad=False), logits=logits)
    d.log_prob(npg.tensor(np.ones((3, 4)), requires_grad=False)).sum().backward()
    try:
        g, = npg.autograd.grad(d.mean.sum() + logits.sum(), [logits])
    except RuntimeError as e:
        assert SECOND_TIME in str(e)
        return
    tl = torch.tensor([0.1, -0.4, 0.7, 0.2], dtype=torch.float64, requires_grad=True)
    td = torch.distributions.Binomial(total_count=torch.tensor(n), logits=tl)
    expected, = torch.autograd.grad(td.mean.sum() + tl.sum(), [tl])
    np.testing.assert_allclose(g.data, expected.numpy(), rtol=1e-12)


def test_pruning_still_runs_only_the_paths_to_the_inputs():
    """A graph with no freed node: grad() still skips the branches that do not lead to the inputs (a hook on
    such a branch is not called, as in PyTorch)."""
    x, w = _x(npg), npg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    called = []
    h = x * x
    h.register_hook(lambda g: called.append(g))
    g, = npg.autograd.grad((h * w).sum(), [w])
    np.testing.assert_allclose(g.data, np.array([0.09, 0.04]), rtol=1e-12)  # h's values: x * x
    assert called == []
