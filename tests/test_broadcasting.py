"""Property tests: binary ops on every kind of broadcast-compatible shape pair.

For random shape pairs (0-d and size-1 dims; a size-0 dim in about 1 draw in 6) the value must equal NumPy's
(bit for bit: npgrad runs the same NumPy op), and each input's gradient must have that
input's shape and dtype and equal PyTorch's (float32 and float64) and a central finite
difference (float64).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
import torch

import npgrad as npg
from tests.helpers import assert_close, check_finite_difference


OPS = {
    "add": (lambda a, b: a + b, np.add, torch.add),
    "sub": (lambda a, b: a - b, np.subtract, torch.sub),
    "mul": (lambda a, b: a * b, np.multiply, torch.mul),
    "div": (lambda a, b: a / b, np.true_divide, torch.div),
    "maximum": (npg.maximum, np.maximum, torch.maximum),
    "minimum": (npg.minimum, np.minimum, torch.minimum),
}

SETTINGS = settings(max_examples=40, deadline=None)


def broadcast_shapes(num_shapes, max_dims):
    """Broadcast-compatible shapes (0-d and size-1 dims included). A result with a size-0 dim passes
    trivially, so only about 1 draw in 6 has one (drawn to have one); the others have none."""
    def draw(empty):
        if empty:
            return mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=1, max_dims=max_dims, min_side=0,
                                                 max_side=3).filter(lambda s: 0 in s.result_shape)
        return mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=max_dims, min_side=1,
                                             max_side=3)
    return st.sampled_from([False] * 5 + [True]).flatmap(draw)


pairs = broadcast_shapes(2, 4)


def _inputs(shapes, seed, dtype, name):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes[0])
    b = rng.standard_normal(shapes[1])
    if name == "div":  # keep the denominator away from 0
        b = np.sign(b) * (np.abs(b) + 0.5) + (b == 0)
    return np.asarray(a, dtype), np.asarray(b, dtype)


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(shapes=pairs, seed=st.integers(0, 2 ** 32 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_binary_broadcast(name, shapes, seed, dtype):
    op, np_op, torch_op = OPS[name]
    a, b = _inputs(shapes.input_shapes, seed, dtype, name)
    x, y = npg.tensor(a), npg.tensor(b)
    out = op(x, y)
    expected = np_op(a, b)
    assert out.shape == expected.shape == shapes.result_shape
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out.data, expected)

    w = np.random.default_rng(seed ^ 1).standard_normal(out.shape).astype(dtype)
    npg.sum(out * w).backward()
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (torch_op(ta, tb) * torch.tensor(w)).sum().backward()
    for t, tt in ((x, ta), (y, tb)):
        assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == t.dtype
        assert_close(t.grad, tt.grad.numpy())


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(shapes=pairs, seed=st.integers(0, 2 ** 32 - 1))
def test_binary_broadcast_finite_difference(name, shapes, seed):
    op = OPS[name][0]
    a, b = _inputs(shapes.input_shapes, seed, np.float64, name)
    check_finite_difference(op, [a, b], what=f"{name} {shapes.input_shapes}")


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(shapes=pairs, seed=st.integers(0, 2 ** 32 - 1), const_first=st.booleans())
def test_broadcast_with_constant(name, shapes, seed, const_first):
    """One side a NumPy constant: only the tensor gets a gradient, of its own shape."""
    op, np_op, torch_op = OPS[name]
    a, b = _inputs(shapes.input_shapes, seed, np.float64, name)
    if const_first:
        t = npg.tensor(b)
        out = op(a, t)
        tt = torch.tensor(b, requires_grad=True)
        tout = torch_op(torch.tensor(a), tt)
    else:
        t = npg.tensor(a)
        out = op(t, b)
        tt = torch.tensor(a, requires_grad=True)
        tout = torch_op(tt, torch.tensor(b))
    assert isinstance(out, npg.Tensor)
    np.testing.assert_array_equal(out.data, np_op(a, b))
    out.backward(np.ones(out.shape))
    tout.backward(torch.ones(tout.shape, dtype=tout.dtype))
    assert t.grad.shape == t.shape
    assert_close(t.grad, tt.grad.numpy())


@SETTINGS
@given(shapes=broadcast_shapes(3, 3), seed=st.integers(0, 2 ** 32 - 1))
def test_three_way_broadcast_chain(shapes, seed):
    """A chain mixing three broadcast shapes (where, mul, add): each gradient sums back to its input."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes.input_shapes]
    cond = rng.random(shapes.result_shape) > 0.5
    f_npg = lambda a, b, c: npg.where(cond, a * b, c) + a
    f_torch = lambda a, b, c: torch.where(torch.tensor(cond), a * b, c) + a
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    npg.sum(f_npg(*xs)).backward()
    f_torch(*ts).sum().backward()
    for x, t in zip(xs, ts):
        assert x.grad.shape == x.shape
        assert_close(x.grad, t.grad.numpy())
    check_finite_difference(f_npg, arrays, what=str(shapes.input_shapes))
