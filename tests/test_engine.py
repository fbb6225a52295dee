"""The autograd engine: accumulation, deep graphs, grad mode, graph release, errors."""
import gc
import threading
import warnings
import weakref

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close


def test_diamond_accumulates():
    a = np.array([0.3, -1.2, 2.0])
    x = npg.tensor(a)
    y = npg.exp(x)
    z = y * y + npg.sin(y) * 3 - y   # y is used three times
    npg.sum(z).backward()
    t = torch.tensor(a, requires_grad=True)
    ty = torch.exp(t)
    (ty * ty + torch.sin(ty) * 3 - ty).sum().backward()
    assert_close(x.grad, t.grad.numpy())


def test_same_tensor_both_operands():
    x = npg.tensor([1.0, 2.0, -3.0])
    npg.sum(x * x + x / x).backward()
    assert_close(x.grad, 2 * x.data)
    x.grad = None
    npg.sum(x + x + x).backward()
    assert_close(x.grad, np.full(3, 3.0))


def test_long_chain_backpropagates():
    x = npg.tensor([0.5])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert y.item() == pytest.approx(100_000.5)
    assert x.grad.tolist() == [1.0]


def test_long_chain_alternating_ops():
    x = npg.tensor([2.0])
    y = x
    for _ in range(20_000):
        y = y * 1.0001 - 0.0001
    y.backward()
    assert_close(x.grad, [1.0001 ** 20_000], rtol=1e-9)


@pytest.mark.parametrize("shape", [(), (1,), (2,), (16,), (4, 3), (5, 1), (40, 40)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaf_used_many_times_sums_in_order(shape, dtype):
    """A leaf used n times gets n gradients; the engine may sum small ones in batches, but the result
    must round exactly as adding them one by one in the order backward visits the uses (newest first)."""
    rng = np.random.default_rng(0)
    n = 150
    cs = [(rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3)).astype(dtype) for _ in range(n)]
    w = rng.standard_normal((n,) + shape).astype(dtype)
    x = npg.tensor(rng.standard_normal(shape).astype(dtype))
    npg.sum(npg.stack([x * c for c in cs]) * w).backward()
    expected = w[n - 1] * cs[n - 1]
    for i in range(n - 2, -1, -1):
        expected = expected + w[i] * cs[i]
    assert x.grad.dtype == dtype and x.grad.shape == shape
    np.testing.assert_array_equal(x.grad, expected)


# ----------------------------------------------------------------------- grad mode
def test_no_grad_context_records_nothing():
    x = npg.randn(3)
    with npg.no_grad():
        y = x * 2 + 1
        z = npg.sum(npg.exp(y))
        assert not npg.is_grad_enabled()
    assert npg.is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t.is_leaf and t.grad_fn is None
    with pytest.raises(RuntimeError):
        z.backward()
    assert x.grad is None


def test_no_grad_decorator():
    x = npg.randn(3)

    @npg.no_grad()
    def f(t):
        assert not npg.is_grad_enabled()
        return t * 3

    y = f(x)
    assert not y.requires_grad and npg.is_grad_enabled()
    assert f.__name__ == "f"


def test_no_grad_restores_on_exception():
    with pytest.raises(ZeroDivisionError):
        with npg.no_grad():
            1 / 0
    assert npg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = npg.randn(3)
    with npg.no_grad():
        with npg.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled():
    x = npg.randn(3)
    with npg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with npg.set_grad_enabled(True):
            assert (x * 2).requires_grad
    assert npg.is_grad_enabled()
    npg.set_grad_enabled(False)
    try:
        assert not npg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        npg.set_grad_enabled(True)
    assert (x * 2).requires_grad

    @npg.set_grad_enabled(False)
    def f(t):
        return t + 1
    assert npg.is_grad_enabled()  # decorating does not switch the mode
    assert not f(x).requires_grad and npg.is_grad_enabled()


def test_grad_mode_is_thread_local():
    x = npg.randn(3)
    ready, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        ready.wait(5)  # the main thread is inside no_grad now
        seen["enabled"] = npg.is_grad_enabled()
        seen["records"] = (x * 2).requires_grad
        done.set()

    th = threading.Thread(target=other)
    th.start()
    with npg.no_grad():
        ready.set()
        done.wait(5)
        assert not (x * 2).requires_grad
    th.join(5)
    assert seen == {"enabled": True, "records": True}

    def off():
        with npg.no_grad():
            seen["inner"] = npg.is_grad_enabled()
    th = threading.Thread(target=off)
    th.start()
    th.join(5)
    assert seen["inner"] is False and npg.is_grad_enabled()


def test_requires_grad_false_inputs_record_nothing():
    x = npg.randn(3, requires_grad=False)
    y = npg.exp(x) * np.ones(3)
    assert not y.requires_grad and y.is_leaf
    w = npg.randn(3)
    z = npg.sum(x * w)
    z.backward()
    assert x.grad is None
    assert_close(w.grad, x.data)


# ------------------------------------------------------------------ memory and release
def test_intermediates_freed_after_backward():
    x = npg.randn(100)
    y = npg.exp(x)
    z = npg.tanh(y) * 2
    refs = [weakref.ref(y), weakref.ref(y.data), weakref.ref(z)]
    out = npg.sum(z)
    del y, z
    gc.disable()  # freed by reference counting alone, no cycle collector needed
    try:
        assert all(r() is not None for r in refs)  # the graph holds them until backward
        out.backward()
        assert all(r() is None for r in refs), [r() is None for r in refs]
    finally:
        gc.enable()
    assert x.grad is not None


def test_graph_freed_without_backward():
    x = npg.randn(50)
    gc.disable()
    try:
        y = npg.sin(x) * x
        r = weakref.ref(y)
        out = npg.sum(y)
        del y, out
        assert r() is None  # no reference cycle keeps a dropped graph alive
    finally:
        gc.enable()


def test_intermediate_has_no_grad():
    x = npg.randn(3)
    y = x * 2
    npg.sum(y * y).backward()
    with pytest.warns(UserWarning, match="not a leaf"):   # as PyTorch, reading it warns
        assert y.grad is None
    assert x.grad is not None


def test_second_backward_raises():
    x = npg.randn(3)
    y = npg.sum(npg.exp(x) * 2)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_second_backward_through_shared_part_raises():
    x = npg.randn(3)
    h = npg.exp(x)
    npg.sum(h).backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        npg.sum(h * 2).backward()  # h's graph was released by the first backward


def test_retain_graph_accumulates():
    a = np.array([0.1, 0.7, -0.4])
    x = npg.tensor(a)
    y = npg.sum(npg.exp(x) * x)
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward(retain_graph=True)
    assert_close(x.grad, 2 * first)
    y.backward()
    assert_close(x.grad, 3 * first)
    t = torch.tensor(a, requires_grad=True)
    (torch.exp(t) * t).sum().backward()
    assert_close(first, t.grad.numpy())
    with pytest.raises(RuntimeError):
        y.backward()


# ------------------------------------------------------------------------ backward args
def test_non_scalar_backward_without_grad_raises():
    x = npg.randn(3)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"\(3,\)"):
        y.backward()
    assert x.grad is None


def test_one_element_backward_any_shape():
    x = npg.randn(1, 1)
    (x * 3).backward()
    assert_close(x.grad, [[3.0]])


def test_backward_with_grad():
    x = npg.randn(2, 3)
    y = x * 2
    g = np.arange(6.0).reshape(2, 3)
    y.backward(g)
    assert_close(x.grad, 2 * g)
    x2 = npg.randn(2, 3)
    (x2 * 2).backward(npg.tensor(g))
    assert_close(x2.grad, 2 * g)


def test_backward_with_wrong_shape_grad_raises():
    x = npg.randn(2, 3)
    y = x * 2
    for g in (np.ones(3), np.ones((3, 2)), np.ones((1, 2, 3))):
        with pytest.raises((ValueError, RuntimeError), match=r"\(2, 3\)"):
            y.backward(g)
    with pytest.raises((ValueError, RuntimeError)):
        npg.sum(x).backward(np.ones(2))


def test_backward_grad_dtype_follows_tensor():
    x = npg.randn(3, dtype="float32")
    (x * 2).backward(np.ones(3))  # a float64 seed
    assert x.grad.dtype == np.float32


def test_backward_on_tensor_without_graph_raises():
    x = npg.randn(3, requires_grad=False)
    with pytest.raises(RuntimeError):
        npg.sum(x).backward()


def test_backward_on_leaf():
    x = npg.tensor(2.0)
    x.backward()
    assert x.grad == 1.0


def test_grads_accumulate_across_calls_and_clear():
    x = npg.tensor([1.0, 2.0])
    npg.sum(x * 3).backward()
    npg.sum(x * x).backward()
    assert_close(x.grad, 3 + 2 * x.data)
    x.grad = None
    npg.sum(x * 5).backward()
    assert_close(x.grad, [5.0, 5.0])


def test_leaf_grads_never_alias():
    x = npg.tensor([1.0, 2.0])
    y = npg.tensor([3.0, 4.0])
    npg.sum(x + y).backward()
    assert not np.shares_memory(x.grad, y.grad)
    x.grad += 10
    assert_close(y.grad, [1.0, 1.0])


def test_leaf_grad_never_aliases_the_seed():
    a = npg.tensor([1.0, 2.0])
    b = npg.tensor([3.0, 4.0])
    g = np.ones(2)
    (a + b).backward(g)
    assert not np.shares_memory(a.grad, g) and not np.shares_memory(b.grad, g)
    a.grad *= 7
    assert_close(b.grad, [1.0, 1.0])
    assert_close(g, [1.0, 1.0])
    x = npg.tensor([1.0, 2.0])
    x.backward(g)  # backward on a leaf
    assert not np.shares_memory(x.grad, g)


def test_leaf_grad_not_a_view_of_another_array():
    x = npg.randn(4)
    y = npg.randn(2, 4)
    z = npg.broadcast_to(x, (2, 4)) + y  # x's grad is a sum; y's is g itself
    z.backward(np.ones((2, 4)))
    y.grad[0, 0] = 100.0
    assert_close(x.grad, np.full(4, 2.0))
    r = npg.randn(2, 3)
    r.reshape(-1).backward(np.arange(6.0))  # reshape's VJP gives a view of the seed
    assert r.grad.flags.writeable
    r.grad[0, 0] = 5.0
    assert_close(r.grad.reshape(-1)[1:], np.arange(1.0, 6.0))


def test_constants_get_no_grad():
    x = npg.randn(3)
    c = np.ones(3)
    npg.sum(x * c).backward()
    assert isinstance(x.grad, np.ndarray)


def test_backward_mixed_branches_only_needed():
    """A branch that does not require grad is never differentiated."""
    x = npg.randn(3)
    k = npg.randn(3, requires_grad=False)
    y = npg.sum(x * npg.exp(k))
    y.backward()
    assert k.grad is None
    assert_close(x.grad, np.exp(k.data))


# ------------------------------------------------------------------ .grad is always a well-formed array
ZERO_D = {
    "mul": lambda x: x * x,
    "unary": lambda x: npg.exp(npg.sin(x)),
    "with_0d_constant": lambda x: x * np.float64(3.0) + np.array(2.0),
    "max": lambda x: npg.max(x),
    "prod": lambda x: npg.prod(x),
    "broadcast_to": lambda x: npg.sum(npg.broadcast_to(x, (2, 3))),
    "binary_0d_pair": lambda x: npg.maximum(x, x * 0.5) / x,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(ZERO_D))
def test_zero_d_grad_is_an_ndarray(name, dtype):
    x = npg.tensor(np.array(2.0, dtype=dtype))
    ZERO_D[name](x).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad.dtype == dtype
    npg.sum(ZERO_D[name](x)).backward()            # accumulating keeps it an array too
    assert type(x.grad) is np.ndarray and x.grad.shape == ()


def test_hook_changing_the_dtype_raises_like_torch():
    x = npg.tensor([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g.astype(np.float32))
    with pytest.raises(RuntimeError, match="dtype"):
        npg.sum(y).backward()
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ty = tx * 2
    ty.register_hook(lambda g: g.float())
    with pytest.raises(RuntimeError):
        ty.sum().backward()


def test_assigning_grad_checks_shape_and_dtype_like_torch():
    x = npg.tensor([1.0, 2.0])
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for bad, tbad in ((np.zeros(3), torch.zeros(3, dtype=torch.float64)),
                      (np.zeros(2, np.float32), torch.zeros(2, dtype=torch.float32))):
        with pytest.raises(RuntimeError, match="assigned grad"):
            x.grad = bad
        with pytest.raises(RuntimeError):
            tx.grad = tbad
    with pytest.raises(TypeError):
        x.grad = [0.0, 0.0]
    x.grad = np.ones(2)
    x.grad = None
    assert x.grad is None


def test_backward_with_create_graph_warns_about_the_cycle():
    x = npg.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="reference cycle"):
        npg.sum(x ** 3).backward(create_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        npg.autograd.grad(npg.sum(x ** 3), x, create_graph=True)   # the recommended way: no warning


def test_reassigned_data_after_forward_keeps_the_values_the_ops_read():
    # add and tanh save none of their inputs (their VJPs do not read them), mul saves both: replacing .data
    # between forward and backward must not change the gradient (the values read are those of the forward pass)
    xv, wv, bv = np.array([0.5, -1.0, 2.0]), np.array([1.5, 2.0, -0.5]), np.array([0.1, 0.2, -0.3])
    x, w, b = npg.tensor(xv), npg.tensor(wv), npg.tensor(bv)
    h = x
    for _ in range(3):
        h = npg.tanh(h * w + b) - x
    loss = npg.sum(h * h)
    for t in (x, w, b):
        t.data = np.full(3, 7.0)
    loss.backward()
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (xv, wv, bv))
    th = tx
    for _ in range(3):
        th = torch.tanh(th * tw + tb) - tx
    (th * th).sum().backward()
    for t, tt in ((x, tx), (w, tw), (b, tb)):
        assert_close(t.grad, tt.grad.numpy())


def test_unread_inputs_are_not_saved():
    x, w = npg.tensor([0.5, -1.0]), npg.tensor([2.0, 3.0])
    assert (x + w)._saved == (None, None) and npg.tanh(x)._saved == (None,)   # VJPs read nothing / only y
    m = x * w
    assert m._saved[0] is x.data and m._saved[1] is w.data


def test_backward_takes_pytorchs_gradient_keyword():
    """``y.backward(gradient=g)``: PyTorch's keyword (it was a TypeError)."""
    import torch
    x0 = np.arange(3.0)
    x, tx = npg.tensor(x0), torch.tensor(x0, requires_grad=True)
    g = np.array([1.0, -2.0, 0.5])
    (x * x).backward(gradient=g)
    (tx * tx).backward(gradient=torch.tensor(g))
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    with pytest.raises(TypeError, match="gradient="):
        (x * 2).backward(g, gradient=g)


def test_a_leaf_gradient_that_views_a_private_buffer_is_kept_and_aliases_nothing():
    """A convolution's input gradient is a transposed view of a buffer nothing else holds: .grad keeps it (no
    copy), with torch's values, sharing memory with no other array the user can reach."""
    import torch
    rng = np.random.default_rng(0)
    xd, wd = rng.standard_normal((4, 3, 6, 6)), rng.standard_normal((5, 3, 3, 3))
    x, w = npg.tensor(xd), npg.tensor(wd)
    npg.sum(npg.conv2d(x, w, padding=1) ** 2).backward()
    xt, wt = torch.tensor(xd, requires_grad=True), torch.tensor(wd, requires_grad=True)
    (torch.nn.functional.conv2d(xt, wt, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert x.grad.base is not None                      # the view itself, not a copy
    for other in (w.grad, x.data, w.data):
        assert not np.shares_memory(x.grad, other)


def test_a_leaf_gradient_that_views_memory_held_elsewhere_is_copied():
    """stack's gradient for each input is a view of the incoming gradient; when that gradient is also kept
    (retain_grad, a hook), each leaf's .grad must be a copy: writing one must not change the other."""
    a, b = npg.tensor(np.arange(3.0)), npg.tensor(np.arange(3.0) + 5)
    z = npg.stack([a, b])
    z.retain_grad()
    seen = []
    z.register_hook(lambda g: seen.append(g))
    (z * npg.tensor(np.array([[1.0, 2, 3], [4, 5, 6]]), requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 2, 3])
    np.testing.assert_array_equal(b.grad, [4, 5, 6])
    for held in (z.grad, seen[0]):
        held = np.asarray(getattr(held, "data", held))
        assert not np.shares_memory(a.grad, held) and not np.shares_memory(b.grad, held)
    np.asarray(z.grad)[...] = -1
    np.testing.assert_array_equal(a.grad, [1, 2, 3])


def test_backward_keeps_no_array_of_a_visited_node_alive():
    """Once backward has passed a node, nothing of the engine's keeps its arrays: the cnn's peak memory held
    a ReLU output through a stale local (the last broadcast parent's data) during the next convolution's
    backward. Here a custom op's backward, run after ``u``'s node was visited, checks that ``u``'s array died."""
    import weakref
    alive = []

    class Probe(npg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            alive.append(ref() is not None)
            return g

    rng = np.random.default_rng(0)
    x, b = npg.tensor(rng.standard_normal((4, 256))), npg.tensor(rng.standard_normal(256))
    u = npg.tanh(Probe.apply(x))
    ref = weakref.ref(u.data)
    loss = npg.sum(b + u)          # broadcast: b + u's node un-broadcasts, its last parent is u
    del u
    loss.backward()
    assert alive == [False]
    np.testing.assert_allclose(x.grad, 1 - np.tanh(x.data) ** 2)


def test_a_complex_gradient_for_a_real_output_is_refused_as_torch():
    """backward(gradient=complex) on a real output dropped the imaginary part with only NumPy's ComplexWarning;
    torch refuses it, and a real gradient for a complex output."""
    import torch
    x, tx = npg.tensor(np.ones(3)), torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError):
        tx.sum().backward(torch.tensor(1 + 1j))
    with pytest.raises(RuntimeError, match="backward.*real.*complex128"):
        npg.sum(x).backward(np.array(1 + 1j))
    z = npg.tensor(np.ones(2) * (1 + 2j))
    with pytest.raises(RuntimeError, match="must be complex"):
        npg.sum(z * 2).backward(np.array(1.0))
    with pytest.raises(RuntimeError, match="must be real"):
        npg.autograd.grad(npg.sum(x * 2), x, np.array(2j))
    npg.sum(x * 2).backward(np.float32(1.0))     # another real dtype is cast, as torch does
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
