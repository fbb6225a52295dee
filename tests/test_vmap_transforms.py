"""vmap over vjp and jvp, vectorized (no per-sample fallback), against torch.func.vmap of torch.func.vjp / jvp; and
scatter_add (getitem's VJP) under vmap against a loop of the unbatched op."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad import func_vmap as fv
from npgrad.ops.index import scatter_add
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()
vmap = npg.func.vmap
Fallback = fv._vmap_rules.VmapFallbackWarning
RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 4))


def _f(lib, w):
    """A small nonlinear function of two inputs with indexing (advanced and basic), a matmul and reductions."""
    def f(x, y):
        h = lib.tanh(x @ w) * y[..., [0, 2, 2, 1]]
        return h[1:] * (x ** 2).sum(), (h[0] - y[1]).sum()
    return f


def _t(a):
    return torch.tensor(a)


def _vectorized(run):
    """``run()`` with any fallback to a per-sample loop raising."""
    fv._warned.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        return run()


def _close(a, b):
    np.testing.assert_allclose(a.data if isinstance(a, npg.Tensor) else a, b.detach().numpy(), rtol=1e-10,
                               atol=1e-12)


DIMS = [(0, 0, 0, 0), (None, 0, 0, None), (0, None, None, 0), (-1, 1, 0, -1), (None, None, 0, 0),
        (1, None, None, None)]


@pytest.mark.parametrize("dims", DIMS)
def test_vmap_of_vjp_vs_torch_func(dims):
    """vmap(lambda x, y, cx, cy: vjp(f, x, y)[1]((cx, cy))) with every combination of batched arguments."""
    B = 3
    shapes = [(2, 3), (2, 4), (1, 4), ()]
    arrays = [RNG.standard_normal(s if d is None else s[:d % (len(s) + 1)] + (B,) + s[d % (len(s) + 1):])
              if d is not None else RNG.standard_normal(s) for s, d in zip(shapes, dims)]

    def run(lib, vjp, vm, w):
        def g(x, y, cx, cy):
            out, fn = vjp(_f(lib, w), x, y)
            gx, gy = fn((cx, cy))
            return out[0], out[1], gx, gy
        return vm(g, in_dims=dims)
    out = _vectorized(lambda: run(npg, npg.func.vjp, vmap, npg.tensor(W))(*map(npg.tensor, arrays)))
    ref = run(torch, torch.func.vjp, torch.func.vmap, _t(W))(*map(_t, arrays))
    for a, b in zip(out, ref):
        _close(a, b)


@pytest.mark.parametrize("dims", DIMS)
def test_vmap_of_jvp_vs_torch_func(dims):
    B = 3
    shapes = [(2, 3), (2, 4), (2, 3), (2, 4)]
    arrays = []
    for s, d in zip(shapes, dims):
        a = RNG.standard_normal((B,) + s)
        arrays.append(a[0] if d is None else np.moveaxis(a, 0, d))

    def run(lib, jvp, vm, w):
        def g(x, y, tx, ty):
            (o1, o2), (t1, t2) = jvp(_f(lib, w), (x, y), (tx, ty))
            return o1, o2, t1, t2
        return vm(g, in_dims=dims)
    out = _vectorized(lambda: run(npg, npg.func.jvp, vmap, npg.tensor(W))(*map(npg.tensor, arrays)))
    ref = run(torch, torch.func.jvp, torch.func.vmap, _t(W))(*map(_t, arrays))
    for a, b in zip(out, ref):
        _close(a, b)


def test_vjp_and_jvp_with_aux_under_vmap():
    x = RNG.standard_normal((4, 3))

    def f(lib):
        return lambda a: (lib.sin(a) * a.sum(), lib.cos(a).mean())

    def vj(lib, vjp):
        def g(a):
            out, fn, aux = vjp(f(lib), a, has_aux=True)
            return out, fn(lib.ones_like(out))[0], aux
        return g

    def jv(lib, jvp):
        return lambda a: jvp(f(lib), (a,), (a * 2,), has_aux=True)
    out = _vectorized(lambda: vmap(vj(npg, npg.func.vjp))(npg.tensor(x)))
    ref = torch.func.vmap(vj(torch, torch.func.vjp))(_t(x))
    for a, b in zip(out, ref):
        _close(a, b)
    out = _vectorized(lambda: vmap(jv(npg, npg.func.jvp))(npg.tensor(x)))
    ref = torch.func.vmap(jv(torch, torch.func.jvp))(_t(x))
    for a, b in zip(out, ref):
        _close(a, b)


def test_vmap_of_a_vjp_fn_made_outside():
    """The Jacobian pattern: vjp once, its vjp_fn vmapped over the basis cotangents (a recorded backward pass
    whose ops batch, getitem's VJP included)."""
    x = RNG.standard_normal((2, 3))
    y = RNG.standard_normal((2, 4))
    out, fn = npg.func.vjp(_f(npg, npg.tensor(W)), npg.tensor(x), npg.tensor(y))
    tout, tfn = torch.func.vjp(_f(torch, _t(W)), _t(x), _t(y))
    c0 = np.eye(4).reshape(4, 1, 4)
    c1 = np.arange(4.0)
    jac = _vectorized(lambda: vmap(fn)((npg.tensor(c0), npg.tensor(c1))))
    tjac = torch.func.vmap(tfn)((_t(c0), _t(c1)))
    for a, b in zip(jac, tjac):
        _close(a, b)


def test_nested_vmap_of_vjp_and_grad_through_it():
    x = RNG.standard_normal((2, 3, 2, 3))
    c = RNG.standard_normal((3, 2, 4))

    def inner(lib, vjp, w):
        def g(a, ct):
            out, fn = vjp(lambda t: lib.tanh(t @ w)[:, [3, 1]] * t[:, :2].sum(), a)
            return fn(ct[:, [3, 1]])[0]
        return g

    def total(lib, vjp, vm, w):
        return lambda a: vm(vm(inner(lib, vjp, w), in_dims=(0, 0)), in_dims=(0, None))(a, cc).sum()
    cc = npg.tensor(c)
    xs = npg.tensor(x)
    val = _vectorized(lambda: total(npg, npg.func.vjp, vmap, npg.tensor(W))(xs))
    g = npg.func.grad(total(npg, npg.func.vjp, vmap, npg.tensor(W)))(xs)
    cc = _t(c)
    tval = total(torch, torch.func.vjp, torch.func.vmap, _t(W))(_t(x))
    tg = torch.func.grad(total(torch, torch.func.vjp, torch.func.vmap, _t(W)))(_t(x))
    _close(val, tval)
    _close(g, tg)


SHAPE = (4, 5, 6)
MASK = RNG.random((4, 5)) > 0.5
KEYS = [(1,), (slice(1, 3), 2), (Ellipsis, 0), (None, 1), (np.array([0, 2, 2]),), (slice(None), np.array([1, 1, 3])),
        (np.array([0, 1]), slice(None), np.array([2, 3])), (np.array([[0], [1]]), np.array([1, 2, 4])), (MASK,),
        (slice(None), np.array([False, True, True, False, True]), np.array([0, 5, 1])),
        (1, slice(None), np.array([0, 2])), (np.array([3, 0]), Ellipsis, np.array([[1], [5]]))]


@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_scatter_add_under_vmap(key):
    """Zeros with a batch of ``g`` added at ``key`` (repeats accumulate): against a loop of the unbatched op,
    values and the gradient with respect to ``g``."""
    gshape = np.zeros(SHAPE)[key].shape
    g = RNG.standard_normal((3,) + gshape)
    gt = npg.tensor(g, requires_grad=True)
    out = _vectorized(lambda: vmap(lambda t: scatter_add(SHAPE, key, t))(gt))
    ref = np.stack([scatter_add(SHAPE, key, g[i]) for i in range(3)])
    np.testing.assert_allclose(out.data, ref, rtol=0, atol=1e-14)
    w = RNG.standard_normal(out.shape)
    (out * w).sum().backward()
    np.testing.assert_allclose(gt.grad, np.stack([w[i][key] for i in range(3)]), rtol=0, atol=1e-14)
