"""Outputs that no backward reads give their arrays back once nothing but the graph refers to them
(npgrad/tensor.py: release; npgrad.memory.set_free_unread_min), as PyTorch's graph keeps only the values its
backward reads. Gradients stay PyTorch's, and a tensor the user can still reach keeps its values."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F
from npgrad.autograd.graph import saved_tensors_hooks

N = 128  # (128, 128) activations: 64 KiB in float32, 128 KiB in float64


def _params(dtype, layers=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, N)).astype(dtype)
    ws = [(rng.standard_normal((N, N)) / np.sqrt(N)).astype(dtype) for _ in range(layers)]
    bs = [(0.1 * rng.standard_normal(N)).astype(dtype) for _ in range(layers)]
    return x, ws, bs


def _mlp(lib, relu, x, ws, bs, watch=None):
    """relu(h @ W + b) per layer: the product is read by no backward (the add reads nothing) and nor is the sum
    (ReLU's backward reads its output); ReLU's output is read by the next product's backward. ``watch(m)`` is
    called with each product as it is made."""
    h = x
    for w, b in zip(ws, bs):
        m = h @ w
        if watch is not None:
            watch(m)
        h = relu(m + b)
    return (h * h).sum()


def _npg(x, ws, bs):
    return npg.tensor(x, requires_grad=False), [npg.tensor(w) for w in ws], [npg.tensor(b) for b in bs]


def _torch(x, ws, bs):
    return (torch.tensor(x), [torch.tensor(w, requires_grad=True) for w in ws],
            [torch.tensor(b, requires_grad=True) for b in bs])


def _held_after_forward(x, ws, bs):
    """Bytes tracemalloc sees allocated by the forward pass and still held with the graph alive."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loss = _mlp(npg, F.relu, x, ws, bs)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held, loss


def _assert_grads_like_torch(loss, ws, bs, tloss, tws, tbs, tol):
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=tol)
    for p, tp in zip(ws + bs, tws + tbs):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_graph_holds_only_what_backward_reads_and_gradients_are_torchs(free_min, dtype):
    data = _params(dtype)
    free_min(None)
    held_off, _ = _held_after_forward(*_npg(*data))
    free_min(0)
    x, ws, bs = _npg(*data)
    held_on, loss = _held_after_forward(x, ws, bs)
    # 4 layers x 3 activations are made; freeing gives back the product and the sum of every layer but the
    # last one's sum (still the argument of the last ReLU when it was recorded: freed at backward): 7 arrays
    act = N * N * np.dtype(dtype).itemsize
    assert held_off - held_on >= 6.5 * act, (held_off, held_on, act)
    loss.backward()
    tx, tws, tbs = _torch(*data)
    tloss = _mlp(torch, torch.relu, tx, tws, tbs)
    tloss.backward()
    _assert_grads_like_torch(loss, ws, bs, tloss, tws, tbs, 1e-4 if dtype == np.float32 else 1e-10)


def test_the_default_frees_large_outputs_only(free_min):
    free_min(1024)
    assert npg.memory.get_free_unread_min() == 1024
    held_large, _ = _held_after_forward(*_npg(*_params(np.float64)))
    free_min(None)
    held_none, _ = _held_after_forward(*_npg(*_params(np.float64)))
    assert held_none - held_large >= 6.5 * N * N * 8
    # a (4, 4) chain: nothing freed under the default (the checks would cost more than they give back)
    free_min(1024)
    rng = np.random.default_rng(1)
    small = [npg.tensor(rng.standard_normal((4, 4))) for _ in range(3)]
    h = small[0]
    for _ in range(50):
        h = F.relu(h @ small[1] + small[2])
    node, freed = h, 0
    while node._parents:  # (white-box: walk the graph, count the arrays given back)
        freed += sum(p.data.__class__ is not np.ndarray for p in node._parents if isinstance(p, npg.Tensor))
        node = node._parents[0]
    assert freed == 0


def _graph_tensors(root, op):
    """The tensors made by ``op`` in ``root``'s graph (white-box: a walk over ``_parents``)."""
    found, todo, seen = [], [root], set()
    while todo:
        t = todo.pop()
        if id(t) in seen or not isinstance(t, npg.Tensor) or not t._parents:
            continue
        seen.add(id(t))
        if t._op == op:
            found.append(t)
        todo.extend(t._parents)
    return sorted(found, key=lambda t: t._seq)


@pytest.mark.parametrize("how", ["nothing", "name", "weakref", "hook", "retain_grad"])
def test_a_tensor_the_user_can_reach_keeps_its_values(free_min, how):
    free_min(0)
    data = _params(np.float64, layers=3, seed=2)
    x, ws, bs = _npg(*data)
    names, refs, seen = [], [], []
    watch = {"nothing": lambda m: None, "name": names.append, "weakref": lambda m: refs.append(weakref.ref(m)),
             "hook": lambda m: m.register_hook(lambda g: seen.append(g.copy())),
             "retain_grad": lambda m: m.retain_grad()}[how]
    loss = _mlp(npg, F.relu, x, ws, bs, watch=watch)
    products = _graph_tensors(loss, "matmul")
    assert len(products) == 3
    if how == "nothing":  # nothing reaches them but the name m, rebound by the next layer: freed three records
        # later (release's deferred check), but the last one, freed when backward starts
        assert [p.data.__class__ is np.ndarray for p in products] == [False, False, True]
        return
    tx, tws, tbs = _torch(*data)
    tkept = []
    tloss = _mlp(torch, torch.relu, tx, tws, tbs, watch=tkept.append)
    for m in tkept:
        m.retain_grad()
    for p, tp in zip(products, tkept):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-14)  # values still there
    loss.backward()
    tloss.backward()
    _assert_grads_like_torch(loss, ws, bs, tloss, tws, tbs, 1e-10)
    if how == "hook":
        for g, tm in zip(seen[::-1], tkept):
            np.testing.assert_allclose(g, tm.grad.numpy(), rtol=1e-10, atol=1e-12)
    if how == "retain_grad":
        for m, tm in zip(products, tkept):
            np.testing.assert_allclose(m.grad, tm.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_retain_graph_and_double_backward_through_freed_tensors_are_torchs(free_min):
    free_min(0)
    data = _params(np.float64, layers=3, seed=3)
    x, ws, bs = _npg(*data)
    tx, tws, tbs = _torch(*data)
    sig = lambda lib: (lambda h: lib.tanh(h) * 2)   # noqa: E731 (tanh reads its output; the product does not)
    loss = _mlp(npg, sig(npg), x, ws, bs)
    tloss = _mlp(torch, sig(torch), tx, tws, tbs)
    loss.backward(retain_graph=True)
    loss.backward()   # twice through the same graph: gradients doubled
    tloss.backward(retain_graph=True)
    tloss.backward()
    _assert_grads_like_torch(loss, ws, bs, tloss, tws, tbs, 1e-10)
    # a gradient's own gradient (create_graph), through the same kind of chain
    x, ws, bs = _npg(*data)
    tx, tws, tbs = _torch(*data)
    (g,) = npg.autograd.grad(_mlp(npg, sig(npg), x, ws, bs), [ws[0]], create_graph=True)
    (tg,) = torch.autograd.grad(_mlp(torch, sig(torch), tx, tws, tbs), [tws[0]], create_graph=True)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    _assert_second_order_like_torch(g, tg, ws + bs, tws + tbs)


def test_saved_tensor_hooks_that_drop_the_array_and_create_graph_are_torchs(free_min):
    # the pack hook keeps a copy, not the saved array: the inputs' own arrays must survive for create_graph
    free_min(0)
    data = _params(np.float64, layers=2, seed=4)
    x, ws, bs = _npg(*data)
    tx, tws, tbs = _torch(*data)
    with saved_tensors_hooks(lambda t: t.data.copy(), lambda a: a):
        (g,) = npg.autograd.grad(_mlp(npg, npg.tanh, x, ws, bs), [ws[1]], create_graph=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
        (tg,) = torch.autograd.grad(_mlp(torch, torch.tanh, tx, tws, tbs), [tws[1]], create_graph=True)
    _assert_second_order_like_torch(g, tg, ws + bs, tws + tbs)


def _assert_second_order_like_torch(g, tg, params, tparams):
    """Backward from the gradients' squared norms (a second-order pass through the graph): torch's gradients."""
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_convolution_output_before_relu_is_freed_and_gradients_are_torchs(free_min):
    free_min(0)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 3, 16, 16)).astype(np.float32)
    w1 = (0.2 * rng.standard_normal((8, 3, 3, 3))).astype(np.float32)
    w2 = (0.2 * rng.standard_normal((8, 8, 3, 3))).astype(np.float32)

    def net(lib, fn, x, w1, w2):
        h = fn.relu(fn.conv2d(x, w1, padding=1))
        h = fn.relu(fn.conv2d(h, w2, padding=1))
        return (h * h).mean()
    ps = [npg.tensor(w) for w in (w1, w2)]
    loss = net(npg, F, npg.tensor(x, requires_grad=False), *ps)
    node, freed = loss, []
    while node._parents:  # (white-box: which ops' outputs gave their arrays back)
        freed += [p._op for p in node._parents if isinstance(p, npg.Tensor) and p.data.__class__ is not np.ndarray]
        node = node._parents[0]
    assert "conv2d" in freed   # the first convolution's output: ReLU's backward reads ReLU's output
    loss.backward()
    tps = [torch.tensor(w, requires_grad=True) for w in (w1, w2)]
    tloss = net(torch, torch.nn.functional, torch.tensor(x), *tps)
    tloss.backward()
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_a_freed_tensor_keeps_its_shape_and_dtype_and_refuses_its_values(free_min):
    free_min(0)
    a = npg.tensor(np.ones((3, 4), np.float32))
    h = npg.tanh((a * 2 + 1) + 3)   # the inner sum is read by nothing: freed when the outer one is used
    outer = h.grad_fn.next_functions[0][0]
    inner = outer.next_functions[0][0]
    assert inner == "add" and "shape (3, 4)" in repr(inner) and "float32" in repr(inner)
    freed = inner._tensor.data   # (white-box: the tensor behind the node)
    assert freed.shape == (3, 4) and freed.dtype == np.float32 and freed.ndim == 2 and freed.size == 12
    with pytest.raises(RuntimeError, match=r"float32 tensor of shape \(3, 4\).*freed"):
        np.asarray(freed)
    with pytest.raises(AttributeError, match="freed"):
        freed.sum()
    h.sum().backward()
    ta = torch.ones((3, 4), requires_grad=True)
    torch.tanh((ta * 2 + 1) + 3).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "8"])
def test_set_free_unread_min_refuses_what_is_not_a_count(bad):
    with pytest.raises(ValueError, match="set_free_unread_min"):
        npg.memory.set_free_unread_min(bad)


def test_set_free_unread_min_returns_the_previous_setting(free_min):
    prev = npg.memory.get_free_unread_min()
    assert free_min(None) == prev
    assert npg.memory.get_free_unread_min() is None
    assert free_min(4096) is None
    assert npg.memory.get_free_unread_min() == 4096


def test_a_tensor_held_by_an_object_outlives_the_graph_that_used_it(free_min):
    # held by an attribute when its child was recorded (so its check was deferred), then the child's graph is
    # dropped: what holds it now is the attribute alone, which must keep its values (as a lazy_property's)
    free_min(0)
    x = npg.tensor(np.linspace(-1, 1, 12).reshape(3, 4))

    class Holder:
        pass
    h = Holder()
    h.v = x * 2
    y = (h.v + 1) * 3
    del y
    for _ in range(8):  # records: the deferred check comes due
        x * 1
    np.testing.assert_array_equal(h.v.data, 2 * x.data)
    (h.v * h.v).sum().backward()
    tx = torch.tensor(x.data, requires_grad=True)
    ((tx * 2) * (tx * 2)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_none_frees_nothing_when_backward_starts_either(free_min):
    # set_free_unread_min(None): never, also for the inputs of the outputs backward starts from
    x = npg.tensor(np.linspace(-1, 1, 4096))
    seed = np.ones(4096)
    for setting, freed in ((None, False), (1024, True)):
        free_min(setting)
        out = x * 2 + 1   # the product is read by no backward (the add reads nothing)
        out.backward(seed, retain_graph=True)
        assert (out._parents[0].data.__class__ is not np.ndarray) == freed, setting  # (white-box)
