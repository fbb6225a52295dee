"""Batching rules that ran as a per-sample loop: histc under nested vmap, cross_entropy with an unbatched input
and a batched probability target, setitem of an unbatched value into a batched tensor, scatter / scatter_add
with a batched index. The fallback warning is an error here; every result against a Python loop of the
unbatched npgrad call and, where torch has the op, torch.func."""
import warnings

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from npgrad import func_vmap as fv
from tests.helpers import assert_close

F, TF = npg.nn.functional, torch.nn.functional
Fallback = fv._vmap_rules.VmapFallbackWarning
RNG = np.random.default_rng(53)


@pytest.fixture(autouse=True)
def _no_fallback():
    fv._warned.clear()                     # the warning is one-time: every test sees it again
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        yield


def _n(*shape):
    return RNG.standard_normal(shape)


# ------------------------------------------------------------------------ histc under nested vmap
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bins,lo,hi", [(4, -1.0, 1.0), (5, 0, 0), (1, -3, 3)])
@pytest.mark.parametrize("inner_dim", [0, 1])
def test_histc_under_nested_vmap(bins, lo, hi, dtype, inner_dim):
    x = (_n(3, 4, 2, 5) * 1.5).astype(dtype)
    x[1, 2] = 0.25                                         # one sample a single point: its range widened by 1
    x[2, 1, 0, 3] = np.nan if lo != hi else x[2, 1, 0, 3]  # NaN: left out (with a given range)
    f = lambda a: npg.histc(a, bins=bins, min=lo, max=hi)  # noqa: E731
    out = npg.func.vmap(npg.func.vmap(f, in_dims=inner_dim))(npg.tensor(x))
    n_in = x.shape[1 + inner_dim]
    loop = np.stack([[f(npg.tensor(np.take(x[i], j, axis=inner_dim))).data for j in range(n_in)]
                     for i in range(3)])
    assert out.shape == loop.shape and out.dtype == loop.dtype
    np.testing.assert_array_equal(out.data, loop)
    ref = torch.stack([torch.stack([torch.histc(torch.tensor(np.take(x[i], j, axis=inner_dim)), bins, lo, hi)
                                    for j in range(n_in)]) for i in range(3)])
    np.testing.assert_array_equal(out.data, ref.numpy())


def test_histc_under_triple_vmap_and_levels_from_different_arguments():
    x, s = _n(2, 3, 4, 6), RNG.uniform(0.5, 2, (5,))
    f = lambda a: npg.histc(a, bins=3)  # noqa: E731
    out = npg.func.vmap(npg.func.vmap(npg.func.vmap(f)))(npg.tensor(x))
    loop = np.stack([[[f(npg.tensor(x[i, j, k])).data for k in range(4)] for j in range(3)] for i in range(2)])
    np.testing.assert_array_equal(out.data, loop)
    g = lambda a, b: npg.histc(a * b, bins=4)  # noqa: E731   # a batched by the outer level, b by the inner
    out = npg.func.vmap(npg.func.vmap(g, in_dims=(None, 0)), in_dims=(0, None))(npg.tensor(x[:, 0]), npg.tensor(s))
    loop = np.stack([[g(npg.tensor(x[i, 0]), npg.tensor(s[j])).data for j in range(5)] for i in range(2)])
    np.testing.assert_array_equal(out.data, loop)


def test_histc_under_nested_vmap_keeps_its_errors_and_empty_batches():
    x = _n(2, 3, 5)
    x[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match="not finite"):
        npg.func.vmap(npg.func.vmap(lambda a: npg.histc(a, bins=3)))(npg.tensor(x))
    with pytest.raises(ValueError, match="max must be larger than min"):
        npg.func.vmap(npg.func.vmap(lambda a: npg.histc(a, bins=3, min=1, max=0)))(npg.tensor(x))
    out = npg.func.vmap(npg.func.vmap(lambda a: npg.histc(a, bins=3)))(npg.tensor(np.zeros((2, 0, 5))))
    assert out.shape == (2, 0, 3)


# ------------------------------------------------------------------------ cross_entropy, unbatched input
def _torch_vmap(fn, kind, x, t):
    """torch.func.vmap over the target; a loop for class indices (torch's own rule writes in place into the
    unbatched input's buffer and raises)."""
    if kind == "prob":
        return tf.vmap(fn, in_dims=(None, 0))(torch.tensor(x), torch.tensor(t))
    return torch.stack([fn(torch.tensor(x), torch.tensor(ti)) for ti in t])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("xs,kind", [((4,), "prob"), ((3, 4), "prob"), ((2, 4, 3), "prob"), ((3, 4), "index"),
                                     ((2, 4, 3), "index")])
def test_cross_entropy_with_an_unbatched_input_and_a_batched_target(xs, kind, reduction):
    B, C = 5, 4
    x = _n(*xs)
    if kind == "prob":
        t = np.moveaxis(RNG.dirichlet(np.ones(C), (B,) + xs[:1] + xs[2:] if len(xs) > 1 else (B,)), -1,
                        2 if len(xs) > 1 else 1)
    else:
        t = RNG.integers(0, C, (B,) + xs[:1] + xs[2:])
        t[0].flat[0] = -100                                            # an ignored target
    tt = npg.tensor
    kw = dict(reduction=reduction, label_smoothing=0.1)
    f = lambda a, b: F.cross_entropy(a, b, **kw)  # noqa: E731
    out = npg.func.vmap(f, in_dims=(None, 0))(npg.tensor(x), tt(t))
    loop = npg.stack([f(npg.tensor(x), tt(t[i])) for i in range(B)])
    assert_close(out, loop, np.float64)
    ref = _torch_vmap(lambda a, b: TF.cross_entropy(a, b, **kw), kind, x, t)
    assert_close(out, ref.numpy(), np.float64)
    # per-sample gradients in the input, and the gradient through the vmap (summed over the batch)
    g = npg.func.vmap(npg.func.grad(lambda a, b: f(a, b).sum()), in_dims=(None, 0))(npg.tensor(x), tt(t))
    gl = npg.stack([npg.func.grad(lambda a: f(a, tt(t[i])).sum())(npg.tensor(x)) for i in range(B)])
    assert_close(g, gl, np.float64)
    tg = _torch_vmap(tf.grad(lambda a, b: TF.cross_entropy(a, b, **kw).sum()), kind, x, t)
    assert_close(g, tg.numpy(), np.float64)
    gs = npg.func.grad(lambda a: npg.func.vmap(f, in_dims=(None, 0))(a, tt(t)).sum())(npg.tensor(x))
    assert_close(gs, gl.data.sum(0), np.float64)


def test_cross_entropy_with_an_unbatched_input_and_a_differentiable_batched_target():
    B, x, t = 3, _n(2, 4), RNG.dirichlet(np.ones(4), (3, 2))
    f = lambda a, b: F.cross_entropy(a, b)  # noqa: E731
    ga = npg.func.vmap(npg.func.grad(f, argnums=(0, 1)), in_dims=(None, 0))(npg.tensor(x), npg.tensor(t))
    ta = tf.vmap(tf.grad(lambda a, b: TF.cross_entropy(a, b), argnums=(0, 1)), in_dims=(None, 0))(
        torch.tensor(x), torch.tensor(t))
    for g, r in zip(ga, ta):
        assert_close(g, r.numpy(), np.float64)
    loop = [npg.func.grad(f, argnums=(0, 1))(npg.tensor(x), npg.tensor(t[i])) for i in range(B)]
    for k in range(2):
        assert_close(ga[k], npg.stack([lp[k] for lp in loop]), np.float64)
