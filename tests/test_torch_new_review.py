"""Adversarial review of the autograd and nn.utils features added together (path pruning, in-place .grad
accumulation, mark_dirty, MHA, prune, fusion, orthogonal, hook-based norms), against PyTorch."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()


def test_hook_returning_another_tensor_is_not_aliased_by_grad():
    # the hook's tensor became x.grad itself, and the next backward added into it in place
    w = npg.tensor(np.full(3, 5.0), requires_grad=False)
    x = npg.tensor(np.arange(3.0), requires_grad=True)
    x.register_hook(lambda g: w)
    for _ in range(2):
        (x * 2).sum().backward()
    assert_close(w, np.full(3, 5.0))
    assert_close(x.grad, np.full(3, 10.0))


def test_hook_on_non_leaf_returning_another_tensor_is_not_aliased_by_grad():
    w = npg.tensor(np.full(3, 5.0), requires_grad=False)
    x = npg.tensor(np.arange(3.0), requires_grad=True)
    for _ in range(2):
        y = x + 1.0
        y.register_hook(lambda g: w)
        (y * 2).sum().backward()
    assert_close(w, np.full(3, 5.0))
    assert_close(x.grad, np.full(3, 10.0))


def test_function_backward_returning_a_saved_tensor_is_not_aliased_by_grad():
    class F(npg.autograd.Function):
        @staticmethod
        def forward(ctx, a, c):
            ctx.save_for_backward(c)
            return a * 1

        @staticmethod
        def backward(ctx, g):
            c, = ctx.saved_tensors
            return c, None

    c = npg.tensor(np.full(3, 7.0), requires_grad=False)
    a = npg.tensor(np.zeros(3), requires_grad=True)
    for _ in range(2):
        F.apply(a, c).sum().backward()
    assert_close(c, np.full(3, 7.0))
    assert_close(a.grad, np.full(3, 14.0))


def test_grad_of_a_retained_non_leaf_is_not_its_grad_array():
    # grad() stored the returned gradient itself as y.grad: the next backward added into the returned one
    def run(lib, T):
        x = T(np.arange(3.0) + 1)
        y = x * 2
        y.retain_grad()
        grad = torch.autograd.grad if lib is torch else npg.autograd.grad
        r, = grad((y * y).sum(), y, retain_graph=True)
        (y * y).sum().backward()
        return np.array(r.detach() if lib is torch else r.data), np.array(y.grad)

    expected = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    got = run(npg, lambda a: npg.tensor(a, requires_grad=True))
    for g, e in zip(got, expected):
        assert_close(g, e)


@pytest.mark.parametrize("via", ["module", "optimizer"])
def test_zero_grad_set_to_none_false_zeros_in_place(via):
    # zero_grad(set_to_none=False) replaced .grad by a new array: a reference taken to it (as DDP-like code
    # keeps) went stale, holding the old gradient through the next backward
    w = np.random.default_rng(0).standard_normal((2, 3))
    def run(lib):
        if lib is torch:
            m = torch.nn.Linear(3, 2, dtype=torch.float64)
            with torch.no_grad():
                m.weight.copy_(torch.tensor(w))
                m.bias.zero_()
            x = torch.ones(4, 3, dtype=torch.float64)
        else:
            m = npg.nn.Linear(3, 2)
            m.weight.data[...] = w
            m.bias.data[...] = 0
            x = npg.tensor(np.ones((4, 3)), requires_grad=False)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        m(x).sum().backward()
        ref = m.weight.grad
        (m if via == "module" else opt).zero_grad(set_to_none=False)
        zeroed = np.array(ref).copy()
        (m(x) ** 2).sum().backward()
        return zeroed, np.array(ref), np.array(m.weight.grad)
    for g, e in zip(run(npg), run(torch)):
        assert_close(g, e)


def _np(t):
    return None if t is None else (t.detach().numpy().copy() if isinstance(t, torch.Tensor) else np.array(t.data))


def test_grad_skips_a_node_off_the_paths_whose_saved_input_was_overwritten():
    # the path pre-pass checked every node's saved values: a node off the paths to the inputs, which PyTorch
    # never runs, made grad() fall back to the whole graph and raise there
    def run(lib, T):
        x = T(np.array([1.0, 2.0, 3.0]))
        y = x * 1
        a = y * y  # saves y
        y.mul_(3)
        grad = torch.autograd.grad if lib is torch else npg.autograd.grad
        return [_np(g) for g in grad((a + y).sum(), [y])]

    expected = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    got = run(npg, lambda a: npg.tensor(a, requires_grad=True))
    assert_close(got[0], expected[0])
    # on the paths, it still raises
    x = npg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1
    a = y * y
    y.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        npg.autograd.grad((a + y).sum(), [x])


def _checkpoint_program(lib, T, which):
    """Two checkpoints in sequence (the second nested in a third), a closure tensor, hooks on and off the paths."""
    ck = torch.utils.checkpoint.checkpoint if lib is torch else npg.utils.checkpoint.checkpoint
    grad = torch.autograd.grad if lib is torch else npg.autograd.grad
    log = []
    x = T(np.array([0.5, -1.0, 2.0]))
    w = T(np.array([1.5, 0.25, -0.5]))
    b = T(np.array([0.1, 0.2, 0.3]))
    v = w * 3  # used inside a checkpoint only, by closure
    v.register_hook(lambda g: log.append("v"))

    def f1(a):
        h = a * v
        h.register_hook(lambda g: log.append("f1.h"))
        c = b.exp()  # off the paths to x and w
        c.register_hook(lambda g: log.append("f1.c"))
        return ((h.sin() if lib is torch else npg.sin(h)) + c, )

    def inner(a):
        k = a.tanh()
        k.register_hook(lambda g: log.append("inner.k"))
        return k

    def f2(a):
        return ck(inner, a * w, use_reentrant=False) * 2

    off = b * 2
    off.register_hook(lambda g: log.append("off"))
    off.retain_grad()
    h1, = ck(f1, x, use_reentrant=False)
    h2 = ck(f2, h1, use_reentrant=False)
    out = (h2 * off).sum() + (h1 ** 2).sum()
    inputs = {"x": [x], "w": [w], "v": [v], "xw": [x, w]}[which]
    gs = grad(out, inputs)
    return [_np(g) for g in gs], log, off.grad


@pytest.mark.parametrize("which", ["x", "w", "v", "xw"])
def test_grad_through_non_reentrant_checkpoints_runs_only_the_paths(which):
    # a checkpoint in the graph made grad() run the whole graph: hooks off the paths were called and
    # retain_grad() tensors off them got a .grad, which PyTorch's engine never does
    e_grads, e_log, e_off = _checkpoint_program(torch, lambda a: torch.tensor(a, requires_grad=True), which)
    g_grads, g_log, g_off = _checkpoint_program(npg, lambda a: npg.tensor(a, requires_grad=True), which)
    for g, e in zip(g_grads, e_grads):
        assert_close(g, e)
    assert g_log == e_log
    assert e_off is None and g_off is None


def _none_for_b(lib):
    base = torch.autograd.Function if lib is torch else npg.autograd.Function

    class G(base):
        @staticmethod
        def forward(ctx, a, b):
            return a * 2 + b * 0

        @staticmethod
        def backward(ctx, g):
            return g * 2, None
    return G


def test_function_backward_none_is_no_gradient_not_zeros():
    # a Function's backward returning None for an input gave it a zero gradient: grad() returned zeros where
    # PyTorch reports the input unused (raises without allow_unused), and .grad became zeros instead of None
    for lib in (torch, npg):
        T = (lambda a: torch.tensor(a, requires_grad=True)) if lib is torch else \
            (lambda a: npg.tensor(a, requires_grad=True))
        grad = torch.autograd.grad if lib is torch else npg.autograd.grad
        G = _none_for_b(lib)
        a, b = T(np.ones(3)), T(np.ones(3))
        out = G.apply(a, b).sum()
        with pytest.raises(RuntimeError):
            grad(out, [a, b], retain_graph=True)
        ga, gb = grad(out, [a, b], allow_unused=True, retain_graph=True)
        assert gb is None
        assert_close(_np(ga), np.full(3, 2.0))
        _, gb = grad(out, [a, b], materialize_grads=True, retain_graph=True)
        assert_close(_np(gb), np.zeros(3))
        log = []
        b.register_hook(lambda g: log.append(("b", g)))  # called with None, as PyTorch
        b.register_post_accumulate_grad_hook(lambda p: log.append(("post b", p.grad)))
        out.backward(retain_graph=True)
        assert b.grad is None and log == [("b", None), ("post b", None)]
        log.clear()
        grad(out, [b], allow_unused=True, retain_graph=True)
        assert log == [("b", None)]


def test_function_backward_none_through_a_non_leaf_is_no_gradient():
    # None for a non-leaf input became zeros there, and the zeros flowed on: the leaf behind it got a zero .grad
    # and grad() zeros, where PyTorch propagates the undefined gradient (hooks called with None, .grad None)
    def run(lib, T):
        G = _none_for_b(lib)
        grad = torch.autograd.grad if lib is torch else npg.autograd.grad
        x, a = T(np.ones(3)), T(np.arange(3.0))
        b = x.exp()
        c = b * 3
        log = []
        c.register_hook(lambda g: log.append(("c", g)))
        b.retain_grad()
        G.apply(a, c).sum().backward(retain_graph=True)
        res = [x.grad is None, b.grad is None, _np(a.grad), list(log)]
        with pytest.raises(RuntimeError):
            grad(G.apply(a, c).sum(), [x], retain_graph=True)
        res.append(grad(G.apply(a, c).sum(), [x, a], allow_unused=True, retain_graph=True)[0] is None)
        x.grad = None
        (G.apply(a, c) + c).sum().backward()  # a real gradient beside the None: adds as zero
        res.append(_np(x.grad))
        return res

    expected = run(torch, lambda v: torch.tensor(v, requires_grad=True))
    got = run(npg, lambda v: npg.tensor(v, requires_grad=True))
    assert got[:2] == expected[:2] == [True, True]
    assert_close(got[2], expected[2])
    assert got[3] == expected[3] == [("c", None)]
    assert got[4] is expected[4] is True
    assert_close(got[5], expected[5])


def test_function_backward_none_adds_as_zero_to_other_gradients():
    def run(lib, T):
        G = _none_for_b(lib)
        a, b = T(np.arange(4.0)), T(np.arange(4.0) + 1)
        out = sum((G.apply(a, b) * b).sum() for _ in range(70))  # a small leaf used many times (batched sums)
        out = out + G.apply(b, a).sum()
        out.backward()
        return _np(a.grad), _np(b.grad)

    expected = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    got = run(npg, lambda a: npg.tensor(a, requires_grad=True))
    for g, e in zip(got, expected):
        assert_close(g, e)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fuse_linear_bn_weights_bit_exact(dtype):
    # the scale was bn_w / sqrt(var + eps); PyTorch's bn_w * rsqrt(var + eps) rounds differently (1 ulp)
    rng = np.random.default_rng(5)
    w, b = rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal(6).astype(dtype)
    rm, rv = rng.standard_normal(6).astype(dtype), (rng.random(6) + 0.5).astype(dtype)
    bw, bb = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    fw, fb = npg.nn.utils.fuse_linear_bn_weights(w, b, rm, rv, 1e-5, bw, bb)
    ew, eb = torch.nn.utils.fusion.fuse_linear_bn_weights(*(torch.tensor(a) for a in (w, b, rm, rv)), 1e-5,
                                                            torch.tensor(bw), torch.tensor(bb))
    np.testing.assert_array_equal(fw.data, ew.detach().numpy())
    np.testing.assert_array_equal(fb.data, eb.detach().numpy())


def test_backward_inputs_given_twice_accumulate_once():
    # backward(inputs=[x, x]) added x's gradient into .grad twice (and called its post-accumulate hooks twice)
    def run(lib, T):
        log = []
        x = T(np.array([1.0, 2.0]))
        x.register_post_accumulate_grad_hook(lambda p: log.append(_np(p.grad)))
        (x * x).sum().backward(inputs=[x, x])
        y = x * 3
        (y * y).sum().backward(inputs=[y, y, x])
        return [_np(x.grad), _np(y.grad), len(log)]

    expected = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    got = run(npg, lambda a: npg.tensor(a, requires_grad=True))
    assert_close(got[0], expected[0])
    assert_close(got[1], expected[1])
    assert got[2] == expected[2]
