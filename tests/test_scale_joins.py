"""Joining many pieces (concatenate, stack) at counts the old backward could not reach: the count itself is the
test (no timing is asserted), values and gradients against PyTorch.

found: every VJP of concatenate summed the lengths of the inputs before its own, and the engine hands each VJP
the node's saved values unpacked (one per input): n pieces cost O(n^2) in backward (x.split(1) of 10,000 rows
concatenated back took 7.1 s, torch 27 ms; 20,000 pieces 89 s)."""
import numpy as np
import pytest

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad.ops._join_vjps import MANY
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

RNG = np.random.RandomState(5)


def test_split_and_concatenate_20000_pieces():
    """Rows split one by one and joined back in reverse order (float32): each piece's gradient is its own row of
    g. Before the fix: 89 s."""
    dt = np.float32
    x, g = RNG.standard_normal((20_000, 3)).astype(dt), RNG.standard_normal((20_000, 3)).astype(dt)
    a, b = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = npg.concatenate(npg.split(a, 20_000)[::-1]), torch.cat(torch.split(b, 1)[::-1])
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    y.backward(npg.tensor(g))
    ty.backward(torch.tensor(g))
    assert a.grad.dtype == dt
    np.testing.assert_array_equal(a.grad, b.grad.numpy())


def test_concatenate_pieces_of_different_lengths_along_axis_1():
    """5,000 pieces of 1 to 4 columns joined along axis 1, each used twice (gradients add)."""
    widths = RNG.randint(1, 5, 5_000)
    xs = [RNG.standard_normal((2, w)) for w in widths]
    a = [npg.tensor(v, requires_grad=True) for v in xs]
    b = [torch.tensor(v, requires_grad=True) for v in xs]
    w = RNG.standard_normal((2, 2 * int(widths.sum())))
    (npg.concatenate(a + a[::-1], axis=1) * npg.tensor(w)).sum().backward()
    (torch.cat(b + b[::-1], 1) * torch.tensor(w)).sum().backward()
    for p, q in zip(a, b):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_stack_of_20000_rows():
    """Along a new axis 1 (before the fix: 6.9 s, from handing each VJP the 20,000 saved inputs)."""
    axis = 1
    x, g = RNG.standard_normal((20_000, 3)), RNG.standard_normal((3, 20_000) if axis else (20_000, 3))
    a, b = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = npg.stack(npg.unbind(a)[::-1], axis=axis), torch.stack(torch.unbind(b)[::-1], dim=axis)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    y.backward(npg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad, b.grad.numpy())


@pytest.mark.parametrize("join", ["concatenate", "stack"])
def test_many_pieces_create_graph_and_forward_mode(join):
    """Past the many-inputs threshold: create_graph (a gradient of the gradient, in the pieces and in the
    cotangent) and forward mode, as torch."""
    n = MANY + 9
    xs = [RNG.standard_normal(3) for _ in range(n)]
    nj, tj = (npg.concatenate, torch.cat) if join == "concatenate" else (npg.stack, torch.stack)
    a = [npg.tensor(v, requires_grad=True) for v in xs]
    b = [torch.tensor(v, requires_grad=True) for v in xs]
    y, ty = nj(a[::-1]), tj(b[::-1])
    gw = RNG.standard_normal(ty.shape)
    g, tg = npg.tensor(gw, requires_grad=True), torch.tensor(gw, requires_grad=True)
    da = npg.autograd.grad(y * y, a, g, create_graph=True)
    db = torch.autograd.grad(ty * ty, b, tg, create_graph=True)
    s = sum((d * d).sum() for d in da)
    ts = sum((d * d).sum() for d in db)
    got, want = npg.autograd.grad(s, a + [g]), torch.autograd.grad(ts, b + [tg])
    for u, v in zip(got, want):
        np.testing.assert_allclose(u.data, v.numpy(), rtol=1e-12, atol=1e-12)
    ts_ = [RNG.standard_normal(3) for _ in range(n)]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(npg.tensor(v), npg.tensor(t)) for v, t in zip(xs, ts_)]
        jv = fwAD.unpack_dual(nj(duals[::-1])).tangent
    np.testing.assert_array_equal(jv.data, tj([torch.tensor(t) for t in ts_][::-1]).numpy())


@pytest.mark.parametrize("n", [3, MANY + 4])
def test_join_of_a_nonfinite_piece_under_detect_anomaly(n):
    """A join of many inputs saves nothing: detect_anomaly's forward check must still see its inputs (it raised
    'concatenate produced nan values from finite inputs' for a NaN piece), as for a join of few."""
    xs = [npg.tensor(np.ones(2), requires_grad=True) for _ in range(n)]
    w = npg.tensor(np.array([1.0, np.inf]), requires_grad=True)
    with npg.autograd.detect_anomaly():
        y = npg.concatenate(xs + [w * 0.0])          # (inf * 0: NaN from a non-finite input, no anomaly)
        assert np.isnan(y.data[-1])
        (y * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, 0.0])
    np.testing.assert_array_equal(xs[0].grad, [2.0, 2.0])
