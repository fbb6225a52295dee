"""In-place ops (``x[key] = v``, ``+= -= *= /=``): gradients vs PyTorch, the leaf error, and
the error when a value saved for backward was modified in place."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close


R = np.random.default_rng(0)


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
        expected = t.grad.numpy() if t.grad is not None else np.zeros(x.shape)
        assert_close(x.grad if x.grad is not None else np.zeros(x.shape), expected, what=f"grad {i}")


def _idx(lib, a):
    return torch.tensor(a) if lib is torch else a


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


def _set(y, key, v):
    y[key] = v
    return y


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
    y[0] *= 3.0        # getitem, in-place multiply on the row, setitem back
    y[:, 1] += a[1]
    return y


def test_augmented_assignment_chain_vs_torch():
    run_both(_chain, [(2, 3), (3,), (2, 3)])


def test_iadd_after_use_routes_gradients_to_the_old_version():
    # torch refuses this one (exp saved its output, then modified); npgrad rebases y, so z's input
    # stays exp(x): compare with torch on the same function written without in-place ops
    def body(lib, x, a):
        y = lib.exp(x)
        z = y * 2
        y += a
        return y * z

    def torch_body(lib, x, a):
        y = torch.exp(x)
        z = y * 2
        return (y + a) * z
    run_both(body, [(2, 3), (3,)], torch_body=torch_body)


def test_setitem_after_use_and_second_order():
    def body(lib, x, v):
        y = lib.sin(x)
        z = y * y          # uses y before the assignment
        y[0] = v * 3
        y *= z
        return y

    def torch_body(lib, x, v):
        y = torch.sin(x)
        z = y * y
        y2 = torch.cat([(v * 3)[None], y[1:]])
        return y2 * z
    run_both(body, [(4,), ()], torch_body=torch_body)
    # second order: the create_graph path must also see the values of the old version
    a = np.random.default_rng(1).standard_normal(4)
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    g, = npg.autograd.grad(npg.sum(body(npg, x, npg.tensor(0.3))), x, create_graph=True)
    tg, = torch.autograd.grad(torch_body(torch, tx, torch.tensor(0.3, dtype=torch.float64)).sum(), tx,
                              create_graph=True)
    assert_close(g, tg.detach().numpy())
    h, = npg.autograd.grad(npg.sum(g * g), x)
    th, = torch.autograd.grad((tg * tg).sum(), tx)
    assert_close(h, th.numpy())


def test_inplace_gradient_to_old_contents_and_value_float32():
    x = npg.tensor(np.ones((2, 3), dtype=np.float32))
    v = npg.tensor(np.full(3, 2.0, dtype=np.float32))
    y = x * 2
    y[1] = v
    assert y.dtype == np.float32 and y.grad_fn == "setitem"
    npg.sum(y * y).backward()
    assert x.grad.dtype == np.float32 and v.grad.dtype == np.float32
    assert_close(x.grad, [[8.0] * 3, [0.0] * 3])   # d sum(y^2)/dx = 2 y * 2 where y = 2x kept
    assert_close(v.grad, [4.0] * 3)                 # 2 v


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


def test_in_place_outside_graph_writes_in_place():
    c = npg.tensor([1.0, 2.0, 3.0], requires_grad=False)
    data = c.data
    c *= 2
    c[0] = -1.0
    assert c.data is data and not c.requires_grad
    assert_close(data, [-1.0, 4.0, 6.0])


def test_tensor_assigned_into_constant_joins_graph():
    c = npg.tensor(np.zeros(3), requires_grad=False)
    v = npg.tensor([2.0])
    c[1:2] = v
    assert c.requires_grad
    npg.sum(c * 5).backward()
    assert_close(v.grad, [5.0])


def test_grad_of_a_tensor_saved_before_the_in_place_op():
    x = npg.tensor([1.0, 2.0, 3.0])
    y = x * 2
    z = y * y          # saves y = 2x
    y += 100.0         # rebases y: z still sees 2x
    npg.sum(z).backward()
    assert_close(x.grad, 8 * x.data)


def test_constant_used_then_assigned_a_tensor():
    # c was a constant when z used it: z's gradient must not reach v
    c = npg.tensor(np.ones(3), requires_grad=False)
    w = npg.tensor([1.0, 2.0, 3.0])
    v = npg.tensor([5.0])
    z = c * w
    c[0:1] = v
    npg.sum(z + c).backward()
    assert_close(w.grad, np.ones(3))
    assert_close(v.grad, [1.0])


# ---------------------------------------------------------------- the version check
def test_value_saved_then_modified_under_no_grad_raises():
    w = npg.tensor([1.0, 2.0])
    x = npg.tensor([3.0, 4.0])
    y = npg.sum(w * x)            # mul saved w and x
    with npg.no_grad():
        w -= 1.0                  # in place on a saved value
    with pytest.raises(RuntimeError, match=r"saved by op 'mul'.*in-place '__isub__'"):
        y.backward()


def test_output_modified_in_place_raises():
    x = npg.tensor([0.1, 0.2])
    y = npg.exp(x)                # exp's backward reads its output
    out = npg.sum(y * 1.0)
    with npg.no_grad():
        y[0] = 100.0
    with pytest.raises(RuntimeError, match="in-place 'setitem'"):
        out.backward()


def test_constant_modified_through_a_view_raises():
    c = npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)
    x = npg.tensor(np.ones((2, 3)))
    y = npg.sum(x * c)
    row = c[0]                    # a view of c's memory
    row *= 2                      # outside any graph: in place
    with pytest.raises(RuntimeError, match="in-place '__imul__'"):
        y.backward()


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
