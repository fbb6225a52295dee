"""In-place ops and views: values against NumPy, gradients against PyTorch.

Views share memory with their base; ``x op= v`` and ``x[key] = v`` write into that memory (so a write
through a view reaches its base, and the other way round) and, in a graph, rewrite the history of the
base as PyTorch does. Every write bumps the memory's version counter; backward refuses a value an op
saved and that was overwritten since, naming the op (PyTorch's error).
"""
import threading
import tracemalloc

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, check_finite_difference

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


# ------------------------------------------------------------- the view x in-place op table
# Each view kind: how to make it in NumPy (also used for npgrad), and in PyTorch. (NumPy gives a scalar,
# not a view, for a full integer index: ``y[1, 2, ...]`` is its 0-d view.)
VIEWS = {
    "slice": (lambda y: y[1:3], lambda y: y[1:3]),
    "step_slice": (lambda y: y[::2, 1::2], lambda y: y[::2, 1::2]),
    "int_index": (lambda y: y[1], lambda y: y[1]),
    "element": (lambda y: y[1, 2, ...] if isinstance(y, np.ndarray) else y[1, 2], lambda y: y[1, 2]),
    "reshape": (lambda y: y.reshape(3, 8), lambda y: y.reshape(3, 8)),
    "transpose": (lambda y: y.T, lambda y: y.T),
    "swapaxes": (lambda y: np.swapaxes(y, 0, 1), lambda y: torch.swapaxes(y, 0, 1)),
    "expand_dims": (lambda y: np.expand_dims(y, 0), lambda y: y.unsqueeze(0)),
    "squeeze": (lambda y: np.squeeze(y[:1], 0), lambda y: y[:1].squeeze(0)),
    "view_of_view": (lambda y: y[1:][:, ::2].T, lambda y: y[1:][:, ::2].T),
}
OPS = ["+=", "-=", "*=", "/=", "setitem"]


def _apply(target, op, operand):
    if op == "setitem":
        target[...] = operand
    elif op == "+=":
        target += operand
    elif op == "-=":
        target -= operand
    elif op == "*=":
        target *= operand
    else:
        target /= operand


def _script(lib, view, op, x, w, direction, cy, cv):
    """y = 1.5 x; v = view(y); write into v (or into y); return y, v and the loss sum(y cy) + sum(v cv)."""
    y = x * 1.5
    v = view(y)
    if direction == "through_view":
        _apply(v, op, w)
    else:
        _apply(y, op, w)
    if lib is np:
        return y, v, None
    mul = (lambda a, c: a * torch.tensor(c)) if lib is torch else (lambda a, c: a * c)
    loss = (mul(y, cy)).sum() + (mul(v, cv)).sum()
    return y, v, loss


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("direction", ["through_view", "through_base"])
@pytest.mark.parametrize("operand", ["tensor", "number"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kind", list(VIEWS))
def test_view_inplace_table(kind, op, operand, direction, dtype):
    np_view, t_view = VIEWS[kind]
    rng = np.random.default_rng(0)
    xa = rng.uniform(0.5, 2.0, (4, 6)).astype(dtype)
    vshape = np_view(xa).shape
    wshape = vshape if direction == "through_view" else xa.shape
    wa = rng.uniform(0.5, 2.0, wshape).astype(dtype)
    cy = rng.standard_normal(xa.shape).astype(dtype)
    cv = rng.standard_normal(vshape).astype(dtype)
    number = 1.75

    # values: NumPy
    ny, nv, _ = _script(np, np_view, op, xa.copy(), wa if operand == "tensor" else number, direction, cy, cv)
    # npgrad
    x = npg.tensor(xa)
    w = npg.tensor(wa) if operand == "tensor" else number
    y, v, loss = _script(npg, np_view, op, x, w, direction, cy, cv)
    assert y.dtype == dtype and v.dtype == dtype
    assert_close(y, ny, **TOL[dtype], what="base value")
    assert_close(v, nv, **TOL[dtype], what="view value")
    # gradients: PyTorch
    tx = torch.tensor(xa, requires_grad=True)
    tw = torch.tensor(wa, requires_grad=True) if operand == "tensor" else number
    _, _, tloss = _script(torch, t_view, op, tx, tw, direction, cy, cv)
    loss.backward()
    tloss.backward()
    assert_close(loss, tloss.detach().numpy(), **TOL[dtype], what="loss")
    assert_close(x.grad, tx.grad.numpy(), **TOL[dtype], what="grad x")
    assert x.grad.dtype == dtype
    if operand == "tensor":
        assert_close(w.grad, tw.grad.numpy(), **TOL[dtype], what="grad w")


@pytest.mark.parametrize("kind", ["slice", "step_slice", "transpose", "view_of_view"])
def test_view_write_second_order_vs_torch(kind):
    np_view, t_view = VIEWS[kind]
    rng = np.random.default_rng(1)
    xa = rng.uniform(0.5, 2.0, (4, 6))
    cv = rng.standard_normal(np_view(xa).shape)

    def body(lib, view, x):
        y = x * x
        v = view(y)
        v *= view(x)          # a write into y's memory through v: y's history is rewritten
        y += 1.0
        c = torch.tensor(cv) if lib is torch else cv
        return (y * y).sum() + (view(y) * c).sum()
    x = npg.tensor(xa)
    g, = npg.autograd.grad(body(npg, np_view, x), x, create_graph=True)
    tx = torch.tensor(xa, requires_grad=True)
    tg, = torch.autograd.grad(body(torch, t_view, tx), tx, create_graph=True)
    assert_close(g, tg.detach().numpy(), what="first order")
    npg.sum(g * g).backward()
    (tg * tg).sum().backward()
    assert_close(x.grad, tx.grad.numpy(), what="second order")


def test_issue_examples():
    x = npg.tensor([1., 2, 3, 4])
    y = x * 1
    v = y[0:2]
    v += 10
    assert_close(y, [11., 12, 3, 4])
    npg.sum(y * y).backward()
    assert_close(x.grad, [22., 24, 6, 8])
    x = npg.tensor([1., 2, 3, 4])
    y = x * 1
    v = y[0:2]
    y += 10
    assert_close(v, [11., 12])


def test_views_share_memory_with_and_without_graph():
    for grad in (True, False):
        x = npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=grad)
        y = x * 1
        for v in (y[0], y.T, y.reshape(6), npg.swapaxes(y, 0, 1), npg.expand_dims(y, 1), y[:, ::2]):
            assert np.shares_memory(v.data, y.data)
        assert not np.shares_memory((y + 0).data, y.data)


# ------------------------------------------------------------------ in-place writes in a graph
def run_both(body, shapes, seed=0, torch_body=None):
    """``body(lib, *inputs)`` with npgrad and torch (or ``torch_body``); compare value and gradients of
    sum(out * w)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = body(npg, *xs)
    tout = (torch_body or body)(torch, *ts)
    assert_close(out, tout.detach().numpy(), what="value")
    w = rng.standard_normal(out.shape)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert (x.grad is None) == (t.grad is None), f"input {i}: gradient presence differs from torch"
        if t.grad is not None:
            assert_close(x.grad, t.grad.numpy(), what=f"grad {i}")


def _idx(lib, a):
    return torch.tensor(a) if lib is torch else a


def _set(y, key, v):
    y[key] = v
    return y


SETITEM_CASES = {
    "slice_tensor": (lambda lib, x, v: _set(x * 2, (slice(1, 3),), v), [(5,), (2,)]),
    "slice_broadcast": (lambda lib, x, v: _set(x * 1.5, (slice(None), 0), v), [(3, 4), ()]),
    "int_row": (lambda lib, x, v: _set(lib.sin(x), (1,), v), [(3, 4), (4,)]),
    "constant_value": (lambda lib, x: _set(x * 3, (0, slice(None)), 7.0), [(2, 3)]),
    "advanced": (lambda lib, x, v: _set(x + 0, (_idx(lib, np.array([0, 2])), _idx(lib, np.array([1, 3]))), v),
                 [(3, 4), (2,)]),
    "mask": (lambda lib, x, v: _set(x * x, (_idx(lib, np.array([[True, False, True], [False, True, False]])),), v),
             [(2, 3), (3,)]),
    "ellipsis_newaxis": (lambda lib, x, v: _set(x - 1, (Ellipsis, 1), v), [(2, 3, 2), (2, 3)]),
    "twice_overlapping": (lambda lib, x, v: _set(_set(x * 2, (slice(0, 3),), v), (slice(2, 4),), v[:2] * 3),
                          [(5,), (3,)]),
    "value_used_again": (lambda lib, x, v: _set(x * 1, (slice(0, 2),), v) * v.sum(), [(4,), (2,)]),
}


@pytest.mark.parametrize("name", list(SETITEM_CASES))
def test_setitem_gradients_vs_torch(name):
    body, shapes = SETITEM_CASES[name]
    run_both(body, shapes)


def _chain(lib, x, a, b):
    y = x * 1.0
    y += a
    y *= b
    y -= 0.5
    y /= (b * b + 1)
    y[0] *= 3.0        # getitem (a view), in-place multiply on it, setitem back
    y[:, 1] += a[1]
    return y


def test_augmented_assignment_chain_vs_torch():
    run_both(_chain, [(2, 3), (3,), (2, 3)])


def test_fill_loop_vs_torch():
    def body(lib, x):
        y = x * 0
        for i in range(x.shape[0]):
            y[i] = lib.tanh(x[i]) * 2
        return y
    run_both(body, [(6, 3)])


def test_write_into_a_constant_joins_the_graph():
    c = npg.tensor(np.zeros(3), requires_grad=False)
    v = npg.tensor([2.0])
    c[1:2] = v
    assert c.requires_grad and c.grad_fn == "setitem"
    npg.sum(c * 5).backward()
    assert_close(v.grad, [5.0])


def test_write_into_a_view_of_a_constant_reaches_the_base():
    c = npg.tensor(np.zeros((2, 3)), requires_grad=False)
    row = c[1]
    v = npg.tensor([1.0, 2.0, 3.0])
    row += v
    assert c.requires_grad and row.requires_grad
    npg.sum(c * c).backward()
    assert_close(v.grad, 2 * v.data)


def test_inplace_gradient_to_old_contents_and_value_float32():
    x = npg.tensor(np.ones((2, 3), dtype=np.float32))
    v = npg.tensor(np.full(3, 2.0, dtype=np.float32))
    y = x * 2
    y[1] = v
    assert y.dtype == np.float32 and y.grad_fn == "setitem"
    npg.sum(y * y).backward()
    assert x.grad.dtype == np.float32 and v.grad.dtype == np.float32
    assert_close(x.grad, [[8.0] * 3, [0.0] * 3])
    assert_close(v.grad, [4.0] * 3)


def test_repeated_indices_last_write_wins():
    # NumPy keeps the last write at a repeated index; only that write receives the gradient
    x = npg.tensor(np.zeros(4))
    v = npg.tensor([1.0, 2.0, 3.0])
    y = x * 1
    y[np.array([1, 1, 2])] = v
    assert_close(y, [0.0, 2.0, 3.0, 0.0])
    npg.sum(y * np.array([1.0, 10.0, 100.0, 1000.0])).backward()
    assert_close(v.grad, [0.0, 10.0, 100.0])
    assert_close(x.grad, [1.0, 0.0, 0.0, 1000.0])


def test_ops_that_read_no_value_survive_a_later_write():
    # add, reshape, getitem and setitem read no saved value: writing afterwards is fine (as in PyTorch)
    def body(lib, x, r):
        h = x * 2
        out = h + r            # reads nothing
        flat = h.reshape(-1)   # a view
        out += r * 3           # a residual added in place
        h[0] = 0.0
        return out.sum() * flat
    run_both(body, [(2, 3), (2, 3)])


def test_write_via_a_multiplying_op_keeps_the_old_value_it_needs():
    # y *= w needs the old y for w's gradient: it keeps a copy of what it overwrites
    def body(lib, x, w):
        y = x * 1
        y *= w
        y *= w
        return y
    run_both(body, [(3,), (3,)])


@pytest.mark.parametrize("op", ["setitem", "+=", "-=", "*=", "/="])
def test_leaf_requiring_grad_refuses_in_place(op):
    x = npg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf"):
        if op == "setitem":
            x[0] = 5.0
        else:
            exec(f"x {op} 2.0")
    assert_close(x, [1.0, 2.0])
    with npg.no_grad():  # allowed, and truly in place (as torch)
        data = x.data
        x += 1.0
        x[1] = 7.0
    assert x.data is data
    assert_close(x, [2.0, 7.0])


def test_view_of_a_leaf_requiring_grad_refuses_in_place():
    x = npg.tensor([1.0, 2.0, 3.0])
    v = x[:2]
    with pytest.raises(RuntimeError, match="view of a leaf"):
        v += 1
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        tv = tx[:2]
        tv += 1


def test_view_made_under_no_grad_refuses_in_place_in_graph():
    x = npg.tensor([1.0, 2.0, 3.0])
    y = x * 2
    with npg.no_grad():
        v = y[:2]
    with pytest.raises(RuntimeError, match="no_grad"):
        v += npg.tensor([1.0, 1.0])


def test_in_place_outside_graph_writes_in_place():
    c = npg.tensor([1.0, 2.0, 3.0], requires_grad=False)
    data = c.data
    c *= 2
    c[0] = -1.0
    assert c.data is data and not c.requires_grad
    assert_close(data, [-1.0, 4.0, 6.0])


# ------------------------------------------------------------------ shape and dtype are kept
@pytest.mark.parametrize("graph", [True, False])
def test_in_place_never_changes_shape(graph):
    y = npg.randn(1, 4) * 1 if graph else npg.randn(1, 4, requires_grad=False)
    with pytest.raises(ValueError, match=r"\(1, 4\)"):
        y += npg.randn(3, 4)
    assert y.shape == (1, 4)


@pytest.mark.parametrize("graph", [True, False])
def test_in_place_keeps_dtype(graph):
    y = npg.randn(3, dtype=np.float32, requires_grad=graph) * 1
    y += np.ones(3)             # a float64 operand: cast back, as NumPy (same_kind) and PyTorch
    y *= npg.tensor(np.full(3, 2.0))
    assert y.dtype == np.float32
    i = npg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="int64"):
        i += 0.5                # NumPy and PyTorch refuse float into int
    a = np.array([1, 2, 3])
    with pytest.raises(TypeError):
        a += 0.5


def test_write_into_broadcast_view_refuses():
    y = npg.randn(3) * 1
    b = npg.broadcast_to(y, (2, 3))
    with pytest.raises(ValueError, match="read-only"):
        b += 1


# ------------------------------------------------------------------ the version counter
def _mul_graph(w):
    return npg.sum(w * np.array([3.0, 4.0]) * w)


def _assert_both_raise(npg_backward, torch_backward, match):
    with pytest.raises(RuntimeError, match=match):
        npg_backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch_backward()


def test_issue_optimizer_example_raises_like_torch():
    w = npg.tensor([1., 2])
    y = _mul_graph(w)
    y.backward(retain_graph=True)
    npg.optim.SGD([w], lr=.1).step()
    w.grad = None
    tw = torch.tensor([1., 2], dtype=torch.float64, requires_grad=True)
    ty = (tw * torch.tensor([3., 4], dtype=torch.float64) * tw).sum()
    ty.backward(retain_graph=True)
    torch.optim.SGD([tw], lr=.1).step()
    _assert_both_raise(y.backward, ty.backward, r"'mul'.*'SGD.step'.*version 1.*version 0")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_every_optimizer_bumps_the_version(name):
    w = npg.tensor([1., 2])
    y = _mul_graph(w)
    y.backward(retain_graph=True)
    getattr(npg.optim, name)([w], lr=.1).step()
    with pytest.raises(RuntimeError, match=f"{name}.step"):
        y.backward()


WRITERS = {
    "nn.init.uniform_": lambda p: npg.nn.init.uniform_(p),
    "nn.init.normal_": lambda p: npg.nn.init.normal_(p),
    "nn.init.constant_": lambda p: npg.nn.init.constant_(p, 0.3),
    "nn.init.zeros_": lambda p: npg.nn.init.zeros_(p),
    "nn.init.ones_": lambda p: npg.nn.init.ones_(p),
    "vector_to_parameters": lambda p: npg.nn.utils.vector_to_parameters(npg.tensor([5.0, 6.0]), [p]),
    "no_grad +=": lambda p: _no_grad(lambda: p.__iadd__(1.0)),
    "no_grad setitem": lambda p: _no_grad(lambda: p.__setitem__(0, 1.0)),
    "no_grad view *=": lambda p: _no_grad(lambda: p[1:].__imul__(2.0)),
}


def _no_grad(f):
    with npg.no_grad():
        f()


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_write_path_bumps_the_version(name):
    w = npg.tensor([1., 2])
    y = _mul_graph(w)
    before = w._version
    WRITERS[name](w)
    assert w._version > before
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_load_state_dict_bumps_the_version():
    lin = npg.nn.Linear(2, 2)
    y = npg.sum(lin(npg.ones((1, 2))) ** 2)   # linear's backward reads the weight
    lin.load_state_dict({k: v.data * 2 for k, v in lin.state_dict().items()})
    with pytest.raises(RuntimeError, match="load_state_dict"):
        y.backward()


def test_output_modified_in_place_in_graph_raises_like_torch():
    x = npg.tensor([0.1, 0.2])
    y = npg.exp(x)                # exp's backward reads its output
    out = npg.sum(y * 1.0)
    y += 1.0
    tx = torch.tensor([0.1, 0.2], requires_grad=True)
    ty = torch.exp(tx)
    tout = (ty * 1.0).sum()
    ty += 1.0
    _assert_both_raise(out.backward, tout.backward, r"'exp' \(its output.*'add_'")


def test_constant_modified_through_a_view_raises():
    c = npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)
    x = npg.tensor(np.ones((2, 3)))
    y = npg.sum(x * c)
    row = c[0]                    # a view of c's memory
    row *= 2                      # outside any graph: in place
    with pytest.raises(RuntimeError, match="'mul' .*'mul_'"):
        y.backward()


def test_saved_value_modified_in_graph_raises_like_torch():
    def body(lib, x):
        y = x * 1
        z = y * y                 # saves y
        y[0] = 5.0
        return z, y
    x, tx = npg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0], requires_grad=True)
    z, _ = body(npg, x)
    tz, _ = body(torch, tx)
    _assert_both_raise(lambda: npg.sum(z).backward(), lambda: tz.sum().backward(), "'mul'.*'setitem'")


def test_in_place_before_use_or_after_backward_is_fine():
    w = npg.tensor([1.0, 2.0])
    with npg.no_grad():
        w += 1.0                  # before the forward pass: fine
    y = npg.sum(w * w)
    y.backward()
    assert_close(w.grad, 2 * w.data)
    with npg.no_grad():
        w -= 0.1 * w.grad         # an optimizer step after backward
    w.grad = None
    npg.sum(w * w).backward()
    assert_close(w.grad, 2 * w.data)


# ------------------------------------------------------------------ backward details
def test_create_graph_retains_the_graph_by_default():
    # the gradient-penalty idiom: backward(create_graph=True), then backward through x.grad
    a = np.array([0.5, -1.0, 2.0])
    x = npg.tensor(a)
    npg.sum(x ** 3).backward(create_graph=True)
    g = x.grad
    x.grad = None
    npg.sum(g * g).backward()
    tx = torch.tensor(a, requires_grad=True)
    (tx ** 3).sum().backward(create_graph=True)
    tg = tx.grad
    tx.grad = None
    (tg * tg).sum().backward()
    assert_close(x.grad, tx.grad.numpy())


def test_threads_sharing_a_leaf_lose_no_update():
    n, rounds = 200_000, 20
    w = npg.tensor(np.ones(n))
    coeffs = [np.full(n, 1.0), np.full(n, 2.0)]

    def work(c):
        for _ in range(rounds):
            npg.sum(w * c).backward()
    threads = [threading.Thread(target=work, args=(c,)) for c in coeffs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert_close(w.grad, np.full(n, rounds * 3.0))


def test_fill_loop_graph_keeps_no_copy_per_write():
    n, d = 1000, 64
    x = npg.tensor(np.random.default_rng(0).standard_normal((n, d)).astype(np.float32))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = x * 0
        for i in range(n):
            y[i] = x[i] * 2
        held = tracemalloc.get_traced_memory()[0] - base
        npg.sum(y).backward()
        del y
        after = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    data = n * d * 4
    # copy-on-write would hold n copies of y (n * data = 256 MB here); what is needed is y, the values
    # written (x[i] * 2, one row each) and a small node per op
    assert held < 2 * data + n * 3000, held
    assert after < data + n * 1000, after          # x.grad, and the graph gone
    assert_close(x.grad, np.full((n, d), 2.0, np.float32))


def test_backward_reuses_a_gradient_only_when_nothing_else_holds_it():
    # setitem / copy_slices zero the written region of the incoming gradient in place when they alone hold
    # it; a retained .grad, a hook's copy or a gradient shared by add's two inputs must stay intact
    c = np.arange(1.0, 7.0)

    def body(lib, x, v, kept):
        y = x * 1
        y2 = x * 2
        if lib is npg:
            y.register_hook(lambda g: kept.append(g))
        else:
            y.register_hook(lambda g: kept.append(g.clone()))
        y.retain_grad()
        y[1:3] = v
        z = y + y2                    # add hands the same gradient to y and y2
        row = z[0:2]
        row *= 3                      # a view write: copy_slices on z
        return z, y
    kx, tk = [], []
    x, v = npg.tensor(np.ones(6)), npg.tensor([5.0, 6.0])
    tx, tv = torch.ones(6, dtype=torch.float64, requires_grad=True), torch.tensor([5.0, 6.0], requires_grad=True)
    z, y = body(npg, x, v, kx)
    tz, ty = body(torch, tx, tv, tk)
    npg.sum(z * c).backward()
    (tz * torch.tensor(c)).sum().backward()
    assert_close(y.grad, ty.grad.numpy(), what="retained grad")
    assert_close(kx[0], tk[0].numpy(), what="hook's gradient")
    assert_close(x.grad, tx.grad.numpy(), what="x")
    assert_close(v.grad, tv.grad.numpy(), what="v")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_op_whose_output_shares_memory_tracks_it_as_a_view():
    # an output sharing its input's memory must be a tracked view (so a later write into the input is
    # followed by its gradient); anything else would silently differentiate a stale version
    from tests.test_ops_table import CASES, make_inputs
    untracked = set()
    for case in CASES:
        arrays = make_inputs(case, np.float64)
        xs = [npg.tensor(a) for a in arrays]
        try:
            out = case.fn(*xs, **case.kwargs)
        except Exception:
            continue
        outs = out if isinstance(out, (tuple, list)) else [out]
        for o in outs:
            if isinstance(o, npg.Tensor) and o.size and (o._extra or {}).get("view") is None \
                    and any(o is not x and np.shares_memory(o.data, x.data) for x in xs):
                untracked.add(case.name)
    assert not untracked, sorted(untracked)


# ------------------------------------------------------------------ PyTorch's in-place methods
INPLACE_METHODS = {
    "add_": lambda y, w: y.add_(w, alpha=2.0),
    "sub_": lambda y, w: y.sub_(w),
    "mul_": lambda y, w: y.mul_(w),
    "div_": lambda y, w: y.div_(w),
    "clamp_": lambda y, w: y.clamp_(-0.5, 0.5),
    "clip_": lambda y, w: y.clip_(-0.5, 0.5),
    "relu_": lambda y, w: y.relu_(),
    "sigmoid_": lambda y, w: y.sigmoid_(),
    "tanh_": lambda y, w: y.tanh_(),
    "exp_": lambda y, w: y.exp_(),
    "neg_": lambda y, w: y.neg_(),
    "abs_": lambda y, w: y.abs_(),
    "masked_fill_": lambda y, w: y.masked_fill_(_idx_like(y, np.array([[True, False, True], [False, False, True]])),
                                               0.25),
    "copy_": lambda y, w: y.copy_(w * 3),
    "fill_": lambda y, w: y.fill_(0.75),
    "zero_": lambda y, w: y.zero_(),
}


def _idx_like(y, a):
    return torch.tensor(a) if isinstance(y, torch.Tensor) else a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(INPLACE_METHODS))
def test_inplace_methods_vs_torch(name, dtype):
    rng = np.random.default_rng(3)
    xa, wa = rng.uniform(-1, 1, (2, 3)).astype(dtype), rng.uniform(0.5, 1.5, (2, 3)).astype(dtype)
    c = rng.standard_normal((2, 3)).astype(dtype)
    x, w = npg.tensor(xa), npg.tensor(wa)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    y, ty = x * 1.5, tx * 1.5
    out, tout = INPLACE_METHODS[name](y, w), INPLACE_METHODS[name](ty, tw)
    assert out is y and y.dtype == dtype
    assert_close(y, ty.detach().numpy(), **TOL[dtype])
    v = y[0] * 2           # reads the written values through a view
    tv = ty[0] * 2
    npg.sum(y * c + npg.sum(v)).backward()
    try:
        (ty * torch.tensor(c) + tv.sum()).sum().backward()
    except RuntimeError as e:    # torch refuses where its op saved its own output (relu_, sigmoid_...):
        assert "inplace" in str(e)   # npgrad keeps what it needs and must still match the math
        tx2 = torch.tensor(xa, requires_grad=True)
        tw2 = torch.tensor(wa, requires_grad=True)
        ty2 = INPLACE_METHODS[name](tx2 * 1.5 + 0, tw2).clone()
        (ty2 * torch.tensor(c) + (ty2[0] * 2).sum()).sum().backward()
        tx, tw = tx2, tw2
    # (an overwrite such as copy_ or fill_ leaves no path to x: npgrad gives None where torch gives zeros)
    zeros = np.zeros((2, 3), dtype)
    assert_close(zeros if x.grad is None else x.grad, zeros if tx.grad is None else tx.grad.numpy(), **TOL[dtype])
    assert_close(zeros if w.grad is None else w.grad, zeros if tw.grad is None else tw.grad.numpy(), **TOL[dtype])


def test_inplace_methods_without_graph_and_on_leaves():
    w = npg.zeros(3)
    with pytest.raises(RuntimeError, match="leaf"):
        w.normal_()
    with npg.no_grad():
        data = w.data
        w.normal_(generator=np.random.default_rng(0))
        assert w.data is data and np.all(w.data != 0)
        w.uniform_(2.0, 3.0)
        assert np.all((w.data >= 2) & (w.data < 3))
        w.fill_(1.5)
        assert_close(w, [1.5] * 3)
        w.zero_()
        assert_close(w, [0.0] * 3)
    assert w._version >= 4


# ------------------------------------------------------------- an operand that aliases the written memory
# Found by tests/test_inplace_fuzz.py: ``z *= w`` with ``w`` a view of ``z`` recorded mul with ``w``'s memory
# as its saved operand, which the write then overwrote: the gradient read the new values (a silent wrong
# gradient); ``z *= z`` raised a misleading "backward through the graph a second time". The operand is now
# copied (a recorded copy) when it may share the written memory. PyTorch raises for the first (its saved
# operand was modified) and runs the others: npgrad is checked against PyTorch where it runs and against
# finite differences where it raises.
ALIASED_WRITES = {
    "z *= z": lambda z: z.__imul__(z),
    "z *= z.T": lambda z: z.__imul__(z.T),
    "z.T *= z.T (two views)": lambda z: z.T.__imul__(z.T),
    "z.mul_(z)": lambda z: z.mul_(z),
    "z.mul_(z.T)": lambda z: z.mul_(z.T),
    "z.div_(z.T + 3)": lambda z: z.div_(z.T + 3),
    "z[1:] = z[:-1] * 2": lambda z: z.__setitem__(slice(1, None), z[:-1] * 2),
}


def _aliased_loss(lib, write, a):
    z = a * 1.0
    r = write(z)
    z = z if r is None else r
    return (z * (lib.arange(9.0) if lib is npg else torch.arange(9.0, dtype=torch.float64)).reshape(3, 3)).sum()


@pytest.mark.parametrize("name", sorted(ALIASED_WRITES))
def test_write_with_an_operand_aliasing_the_target(name):
    write = ALIASED_WRITES[name]
    a0 = np.random.default_rng(3).uniform(0.5, 1.5, (3, 3))
    a = npg.tensor(a0)
    loss = _aliased_loss(npg, write, a)
    loss.backward()
    ta = torch.tensor(a0, requires_grad=True)
    try:
        t_loss = _aliased_loss(torch, write, ta)
        t_loss.backward()
    except RuntimeError:     # PyTorch: "modified by an inplace operation"; npgrad must be right instead
        check_finite_difference(lambda x: _aliased_loss(npg, write, x), [a0], what=name)
        return
    assert_close(loss.item(), t_loss.item(), rtol=1e-12, atol=1e-12)
    assert_close(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_write_with_an_ndarray_operand_aliasing_the_target():
    a0 = np.random.default_rng(4).uniform(0.5, 1.5, (3, 3))
    a = npg.tensor(a0)
    z = a * 1.0
    z *= z.data            # a constant operand: the gradient is the operand's value before the write
    z.sum().backward()
    assert_close(a.grad, a0, rtol=1e-12, atol=0)


def test_write_with_a_broadcast_operand_aliasing_the_target():
    """``z += z[:, 1:2]``: NumPy reads the operand whole before writing (PyTorch's result depends on its loop
    order here, so it is no oracle): the value against NumPy, the gradient against finite differences."""
    a0 = np.random.default_rng(5).uniform(0.5, 1.5, (3, 3))
    c = np.arange(9.0).reshape(3, 3)

    def f(a):
        z = a * 1.0
        z += z[:, 1:2]
        return z, (z * c).sum()

    expected = a0.copy()
    expected += expected[:, 1:2]
    a = npg.tensor(a0)
    z, loss = f(a)
    loss.backward()
    assert_close(z.data, expected, rtol=1e-15, atol=0)
    check_finite_difference(lambda x: f(x)[1], [a0], what="z += z[:, 1:2]")


def test_write_into_a_leaf_that_requires_grad_says_how_to_make_a_buffer():
    """npg.zeros requires grad by default (torch.zeros does not): the error for filling it names the fix, and the
    fix works: a buffer made with requires_grad=False takes the write and passes the gradient on."""
    buf = npg.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"npg\.zeros\(4, 3, requires_grad=False\)"):
        buf[1] = npg.ones(3)
    buf = npg.zeros(4, 3, requires_grad=False)
    x = npg.tensor([1.0, 2.0, 3.0])
    buf[1] = x * 2
    buf.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_alone_takes_a_view_only_when_nothing_else_holds_its_base():
    """Backward may write into a gradient that is a view (a convolution's batch-last gradient is a transposed
    view of its buffer) only when the view is the base's sole holder."""
    import sys
    from npgrad.ops.inplace import alone

    def check(g):   # the expression a VJP evaluates
        return alone(g, sys.getrefcount(g))

    def fresh_view():
        return np.empty((3, 4)).T
    # (each result taken into a variable first: pytest's assert rewriting would hold the argument too)
    taken = (lambda g: check(g))(fresh_view())
    assert taken
    base = np.empty((3, 4))
    held = (lambda g: check(g))(base.T)                 # the base is held here
    other = fresh_view()
    shared = (lambda g: check(g))(other[1:])            # another view (``other``) holds the base
    ro = fresh_view()
    ro.flags.writeable = False
    read_only = (lambda g: check(g))(ro)
    assert not held and not shared and not read_only


def test_relu_backward_into_a_batch_last_gradient_matches_torch_with_hooks_and_retained_grads():
    """conv -> relu -> pool: the gradient reaching relu is a view of a buffer only it holds, so relu's
    backward writes into it; with the pool's input gradient retained or hooked it must not."""
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    for mode in ("plain", "retain", "hook"):
        x, w = npg.tensor(x0), npg.tensor(w0)
        tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
        seen, tseen = [], []
        z = npg.nn.functional.relu(npg.nn.functional.conv2d(x, w, padding=1))
        tz = torch.relu(torch.nn.functional.conv2d(tx, tw, padding=1))
        if mode == "retain":
            z.retain_grad()
            tz.retain_grad()
        if mode == "hook":
            z.register_hook(lambda g: seen.append(np.array(g)))
            tz.register_hook(lambda g: tseen.append(g.detach().numpy().copy()))
        npg.nn.functional.max_pool2d(z, 2).sum().backward()
        torch.nn.functional.max_pool2d(tz, 2).sum().backward()
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
        if mode == "retain":
            np.testing.assert_array_equal(z.grad, tz.grad.numpy())
        if mode == "hook":
            np.testing.assert_array_equal(seen[0], tseen[0])
