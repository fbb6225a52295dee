"""Cumulative ops at lengths their old quadratic algorithms could not reach: the length itself is the test (no
timing is asserted), values and gradients against PyTorch.

found: cumprod's backward and forward mode formed an (n, n) matrix of partial products (n = 8,000 took 22 s and
8.7 GB; torch 0.6 ms); at n = 200,000 that matrix alone would be 320 GB."""
import numpy as np
import pytest

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-3, atol=1e-5)}
RNG = np.random.RandomState(11)


def _steps(n, dt, zeros=()):
    """``n`` factors near 1 (their running product stays within e^+-5) with zeros at ``zeros``."""
    x = np.exp(RNG.standard_normal(n) * 0.01)
    x[list(zeros)] = 0
    return x.astype(dt)


def _cumprod_grad(x, g, ax):
    a = npg.tensor(x, requires_grad=True)
    y = npg.cumprod(a, axis=ax)
    y.backward(npg.tensor(g))
    b = torch.tensor(x, requires_grad=True)
    ty = torch.cumprod(b, ax)
    ty.backward(torch.tensor(g))
    return y.data, ty.detach().numpy(), a.grad, b.grad.numpy()


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("zeros", [(), (0,), (77_000,), (5, 90_000, 90_001, 199_999), (199_999,)])
def test_cumprod_backward_at_200000(dt, zeros):
    """No zero, a zero first, one in the middle, several (two adjacent, one last), a zero last."""
    n = 200_000
    x, g = _steps(n, dt, zeros), RNG.standard_normal(n).astype(dt)
    y, ty, grad, tgrad = _cumprod_grad(x, g, 0)
    assert grad.dtype == dt
    np.testing.assert_allclose(y, ty, **TOL[dt])
    scale = np.abs(tgrad).max()
    np.testing.assert_allclose(grad, tgrad, rtol=TOL[dt]["rtol"], atol=TOL[dt]["rtol"] * scale)


def test_cumprod_backward_rows_along_the_last_axis():
    """Rows with no, one and several zeros, along axis 1 of a (4, 50,000) input."""
    x = np.stack([_steps(50_000, np.float64, z) for z in [(), (10,), (3, 4, 40_000), (0, 49_999)]])
    g = RNG.standard_normal(x.shape)
    y, ty, grad, tgrad = _cumprod_grad(x, g, 1)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-9, atol=1e-9 * np.abs(tgrad).max())


def test_cumprod_backward_float16():
    """float16 in float32 inside: as close to torch's float64 gradient as torch's own float16 one."""
    x, g = _steps(30_000, np.float16, (7, 20_000)), RNG.standard_normal(30_000).astype(np.float16)
    _, _, grad, tgrad16 = _cumprod_grad(x, g, 0)
    _, _, _, exact = _cumprod_grad(x.astype(np.float64), g.astype(np.float64), 0)
    assert grad.dtype == np.float16
    err, terr = np.abs(grad - exact).max(), np.abs(tgrad16.astype(np.float64) - exact).max()
    assert err <= max(terr, 1e-3 * np.abs(exact).max())


@pytest.mark.parametrize("zeros", [(), (1_000, 30_000), (0, 59_999)])
def test_cumprod_second_order_at_60000(zeros):
    """create_graph: d/dx of sum(w * grad) is H w (H the Hessian of g . cumprod(x), symmetric): central
    differences of torch's gradient along w; d/dg of it is J w, torch's forward mode of cumprod."""
    n = 60_000
    x, g, w = _steps(n, np.float64, zeros), RNG.standard_normal(n), RNG.standard_normal(n)
    a, gt = npg.tensor(x, requires_grad=True), npg.tensor(g, requires_grad=True)
    (da,) = npg.autograd.grad(npg.cumprod(a, axis=0), a, gt, create_graph=True)
    hx, hg = npg.autograd.grad((da * npg.tensor(w)).sum(), [a, gt])

    def grad_at(v):
        b = torch.tensor(v, requires_grad=True)
        torch.cumprod(b, 0).backward(torch.tensor(g))
        return b.grad.numpy()
    eps = 1e-6
    hw = (grad_at(x + eps * w) - grad_at(x - eps * w)) / (2 * eps)
    np.testing.assert_allclose(hx.data, hw, rtol=1e-5, atol=1e-5 * np.abs(hw).max())
    _, jw = torch.func.jvp(lambda v: torch.cumprod(v, 0), (torch.tensor(x),), (torch.tensor(w),))
    np.testing.assert_allclose(hg.data, jw.numpy(), rtol=1e-9, atol=1e-9 * np.abs(jw.numpy()).max())


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("zeros", [(), (3,), (100, 100_000, 199_999)])
def test_cumprod_forward_mode_at_200000(dt, zeros):
    n = 200_000
    x, t = _steps(n, dt, zeros), RNG.standard_normal(n).astype(dt)
    with fwAD.dual_level():
        jv = fwAD.unpack_dual(npg.cumprod(fwAD.make_dual(npg.tensor(x), npg.tensor(t)), axis=0)).tangent
    _, tj = torch.func.jvp(lambda v: torch.cumprod(v, 0), (torch.tensor(x),), (torch.tensor(t),))
    assert jv.dtype == dt
    tj = tj.numpy()
    np.testing.assert_allclose(jv.data, tj, rtol=TOL[dt]["rtol"], atol=TOL[dt]["rtol"] * np.abs(tj).max())


@pytest.mark.parametrize("x", [[2., 0., 3., 4.], [0., 2., 0., 3.], [0., 0., 0.], [1.5, 0., -2., 0., 0.5, 3., 0., 2.],
                               [0., 1.2, 1.3, 0.7, 0.], [3.], [0.], [1., np.inf, 2.], [2., 0., np.inf, 0.],
                               [np.nan, 0., 1.], [np.inf, 0., 2.]])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_cumprod_small_edges_like_torch(x, dt):
    """Zeros first, last, adjacent, alone; one element; infinities and NaN: gradient (NaN where torch's is),
    second derivatives in x and g (finite inputs) and forward mode, as torch."""
    x = np.array(x, dt)
    g = np.linspace(0.5, 2.0, x.size).astype(dt)
    _, _, grad, tgrad = _cumprod_grad(x, g, 0)
    np.testing.assert_allclose(grad, tgrad, equal_nan=True, **TOL[dt])
    if not np.isfinite(x).all():
        return
    a, gt = npg.tensor(x, requires_grad=True), npg.tensor(g, requires_grad=True)
    b, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    (da,) = npg.autograd.grad(npg.cumprod(a, axis=0), a, gt, create_graph=True)
    (db,) = torch.autograd.grad(torch.cumprod(b, 0), b, tg, create_graph=True)
    w = np.linspace(-1.0, 1.0, x.size).astype(dt)
    got = npg.autograd.grad((da * da * npg.tensor(w)).sum() + (npg.sin(a) * da).sum(), [a, gt])
    want = torch.autograd.grad((db * db * torch.tensor(w)).sum() + (torch.sin(b) * db).sum(), [b, tg])
    for u, v in zip(got, want):
        np.testing.assert_allclose(u.data, v.numpy(), **TOL[dt])
    with fwAD.dual_level():
        jv = fwAD.unpack_dual(npg.cumprod(fwAD.make_dual(npg.tensor(x), npg.tensor(w)), axis=0)).tangent
    _, tj = torch.func.jvp(lambda v: torch.cumprod(v, 0), (torch.tensor(x),), (torch.tensor(w),))
    np.testing.assert_allclose(jv.data, tj.numpy(), **TOL[dt])


def test_cumprod_hessian_through_zeros_forward_over_reverse():
    """jacfwd(jacrev) at zeros: the forward rule is exact to second order there (the tangent past the first zero
    still depends on that zero), as torch's reverse-over-reverse Hessian."""
    x, w = np.array([1.5, 0., -2., 0., 0.5, 3.]), np.linspace(-1.0, 2.0, 6)
    f = lambda v: (npg.cumprod(v, axis=0) * npg.tensor(w)).sum()      # noqa: E731
    h = npg.func.jacfwd(npg.func.jacrev(f))(npg.tensor(x))
    th = torch.autograd.functional.hessian(lambda v: (torch.cumprod(v, 0) * torch.tensor(w)).sum(), torch.tensor(x))
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_cummax_cummin_at_5000000(fn, dt):
    """found: the indices came from a Python loop over the axis with NumPy calls inside (~5 us a step: this length
    took ~25 s, torch 0.1 s). Ties (the last of equal values), NaN (the last NaN's index
    from the first one on), infinities, along axis 1: values, indices and gradient as torch's."""
    x = np.round(RNG.standard_normal((1, 5_000_000)) * 3).astype(dt)
    x[0, [7, 3_000_000]] = [np.inf, -np.inf]
    x[0, [4_000_000, 4_500_000, 4_900_000]] = np.nan
    g = RNG.standard_normal(x.shape).astype(dt)
    a, b = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (v, i), (tv, ti) = getattr(npg, fn)(a, 1), getattr(torch, fn)(b, 1)
    np.testing.assert_array_equal(i.data, ti.numpy())
    np.testing.assert_array_equal(v.data, tv.detach().numpy())
    v.backward(npg.tensor(g))
    tv.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL[dt])
