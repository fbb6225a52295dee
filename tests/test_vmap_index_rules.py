"""Batching rules for torch's ``index_select`` / ``index_add`` / ``index_fill`` with a batched (1-D) index (they ran
the whole function as a per-sample loop). The fallback warning is an error here; every result against a Python
loop of the unbatched npgrad call and torch (values by a loop and by torch.func.vmap, per-sample gradients by a loop of torch.func.grad:
torch's index_fill backward takes ``unique(index)``, which its vmap cannot stack)."""

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from npgrad import func_vmap as fv
from tests.helpers import assert_close
from tests import helpers

Fallback = fv._vmap_rules.VmapFallbackWarning
RNG = np.random.default_rng(71)


vmap_without_fallback = helpers.vmap_without_fallback   # a fixture: every test here runs without the fallback
pytestmark = pytest.mark.usefixtures("vmap_without_fallback")


def _n(*shape):
    return RNG.standard_normal(shape)


# op(lib, a, dim, i, s): s the source (index_add), the value (index_fill) or a factor
OPS = {
    "index_select": lambda L, a, d, i, s: L.index_select(a, d, i) * s,
    "index_select_method": lambda L, a, d, i, s: a.index_select(d, i) * s,
    "index_add": lambda L, a, d, i, s: L.index_add(a, d, i, s),
    "index_add_method_alpha": lambda L, a, d, i, s: a.index_add(d, i, s, alpha=-1.5),
    "index_fill": lambda L, a, d, i, s: L.index_fill(a, d, i, s),
    "index_fill_method": lambda L, a, d, i, s: a.index_fill(d, i, s),
    "index_fill_number": lambda L, a, d, i, s: a.index_fill(d, i, 0.75) * s,
}
INPLACE = {
    "index_add_inplace": lambda L, a, d, i, s: (a * 1).index_add_(d, i, s, alpha=2),
    "index_fill_inplace": lambda L, a, d, i, s: (a * 1).index_fill_(d, i, s),
}
OPS.update(INPLACE)
DIMS = [(None, 0, None), (0, 0, None), (None, 0, 0), (0, 0, 0), (2, 1, 0)]


def _arrays(name, dim, dims, B=3, xs=(4, 5, 3), k=4):
    x = _n(B, *xs)
    idx = RNG.integers(0, xs[dim], (B, k))  # (B, k): 1-d per sample
    idx[0, :2] = idx[0, 2]                                          # repeated indices (they accumulate / fill once)
    if "add" in name:
        ss = list(xs)
        ss[dim] = k
        s = _n(B, *ss)
    else:
        s = _n(B)                                                   # index_fill: a 0-d value per sample
    arrays = [np.moveaxis(a, 0, d) if d is not None else a[0] for a, d in zip((x, idx, s), dims)]
    return arrays


def _sample(arrays, dims, b):
    return [a if d is None else np.take(a, b, axis=d) for a, d in zip(arrays, dims)]


def _run(name, dim, dims, arrays, torch_vmap=True):
    B = next(np.shape(a)[d] for a, d in zip(arrays, dims) if d is not None)
    op = OPS[name]
    g = lambda a, i, s: op(npg, a, dim, i, s)  # noqa: E731
    tg = lambda a, i, s: op(torch, a, dim, i, s)  # noqa: E731
    out = npg.func.vmap(g, in_dims=dims)(*map(npg.tensor, arrays))
    loop = npg.stack([g(*map(npg.tensor, _sample(arrays, dims, b))) for b in range(B)])
    assert out.shape == loop.shape and out.dtype == loop.dtype
    assert_close(out, loop, np.float64)
    assert_close(out, torch.stack([tg(*map(torch.tensor, _sample(arrays, dims, b))) for b in range(B)]).numpy(),
                 np.float64)
    if torch_vmap and not ("fill" in name and dims[0] is None and dims[2] is not None):   # (torch.func.vmap's index_fill with an
        ref = tf.vmap(tg, in_dims=dims)(*map(torch.tensor, arrays))        # unbatched input and a batched value
        assert_close(out, ref.numpy(), np.float64)                         # fills every sample's slices: wrong)
    # per-sample gradients in the input and the source / value
    grad = npg.func.grad(lambda a, i, s: npg.sin(g(a, i, s)).sum(), argnums=(0, 2))
    tgrad = tf.grad(lambda a, i, s: torch.sin(tg(a, i, s)).sum(), argnums=(0, 2))
    gs = npg.func.vmap(grad, in_dims=dims)(*map(npg.tensor, arrays))
    gl = [grad(*map(npg.tensor, _sample(arrays, dims, b))) for b in range(B)]
    tl = [tgrad(*map(torch.tensor, _sample(arrays, dims, b))) for b in range(B)]
    for k in range(2):
        assert_close(gs[k], npg.stack([gb[k] for gb in gl]), np.float64)
        assert_close(gs[k], np.stack([tb[k].numpy() for tb in tl]), np.float64)
    # the gradient through the vmap: an unbatched argument's summed over the batch
    gv = npg.func.grad(lambda a, i, s: npg.sin(npg.func.vmap(g, in_dims=dims)(a, i, s)).sum(), argnums=(0, 2))(
        *map(npg.tensor, arrays))
    for k, a in ((0, 0), (1, 2)):
        per = np.stack([gb[k].data for gb in gl])
        expect = per.sum(0) if dims[a] is None else np.moveaxis(per, 0, dims[a])
        assert_close(gv[k], expect, np.float64)


@pytest.mark.parametrize("name", [n for n in OPS if n not in INPLACE])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dims", DIMS)
def test_index_ops_with_a_batched_index(name, dim, dims):
    _run(name, dim, dims, _arrays(name, dim, dims))


@pytest.mark.parametrize("name", list(INPLACE))
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dims", [d for d in DIMS if d[0] is not None])
def test_inplace_index_ops_with_a_batched_index(name, dim, dims):
    _run(name, dim, dims, _arrays(name, dim, dims))


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_index_ops_into_an_unbatched_tensor_raise_as_torch(name):
    dims = (None, 0, 0)
    arrays = _arrays(name, 0, dims)
    f = lambda a, i, s: OPS[name](npg, a, 0, i, s)  # noqa: E731
    with pytest.raises(RuntimeError, match="self is not"):
        npg.func.vmap(f, in_dims=dims)(*map(npg.tensor, arrays))
    with pytest.raises(RuntimeError):
        tf.vmap(lambda a, i, s: OPS[name](torch, a, 0, i, s), in_dims=dims)(*map(torch.tensor, arrays))


@pytest.mark.parametrize("name", ["index_select", "index_add", "index_fill"])
def test_index_ops_with_a_batched_0d_index_and_a_1d_input(name):
    """A 0-d index per sample (one slice, kept as a size-1 dim) and a 1-d input (torch.func.vmap's index_select
    returns the whole input there: against the loops only)."""
    B, dims = 4, (None, 0, 0)
    x, idx = _n(5), RNG.integers(0, 5, (B,))
    s = _n(B, 1) if name == "index_add" else _n(B)
    _run(name, -1, dims, [x, idx, s], torch_vmap=False)


def test_index_ops_float32_keep_their_dtype():
    x, idx, s = _n(3, 4, 5).astype(np.float32), RNG.integers(0, 5, (3, 2)), _n(3, 4, 2).astype(np.float32)
    for f in (lambda a, i: a.index_select(1, i), lambda a, i: a.index_add(1, i, npg.tensor(s[0])),
              lambda a, i: a.index_fill(1, i, 2.5), lambda a, i: a.index_fill(1, i, npg.tensor(np.float64(2.5)))):
        out = npg.func.vmap(f)(npg.tensor(x), npg.tensor(idx))
        loop = npg.stack([f(npg.tensor(x[b]), npg.tensor(idx[b])) for b in range(3)])
        assert out.dtype == loop.dtype == np.float32
        np.testing.assert_allclose(out.data, loop.data, rtol=1e-6)


def test_index_ops_with_a_batched_index_under_nested_vmap():
    x, idx, src = _n(2, 4, 5), RNG.integers(0, 5, (2, 3, 2)), _n(3, 4, 2)
    f = lambda a, i, s: npg.index_add(a, 1, i, s)  # noqa: E731   x: outer level, src: inner, index: both
    out = npg.func.vmap(npg.func.vmap(f, in_dims=(None, 0, 0)), in_dims=(0, 0, None))(
        npg.tensor(x), npg.tensor(idx), npg.tensor(src))
    loop = npg.stack([npg.stack([f(npg.tensor(x[i]), npg.tensor(idx[i, j]), npg.tensor(src[j])) for j in range(3)])
                      for i in range(2)])
    assert_close(out, loop, np.float64)
    ref = tf.vmap(tf.vmap(lambda a, i, s: torch.index_add(a, 1, i, s), in_dims=(None, 0, 0)), in_dims=(0, 0, None))(
        torch.tensor(x), torch.tensor(idx), torch.tensor(src))
    assert_close(out, ref.numpy(), np.float64)
    for f in (lambda a, i, s: npg.index_select(a, -1, i) * s.sum(), lambda a, i, s: npg.index_fill(a, 0, i, s[0, 0])):
        out = npg.func.vmap(npg.func.vmap(f, in_dims=(None, 0, 0)), in_dims=(0, 0, None))(
            npg.tensor(x), npg.tensor(idx % 4), npg.tensor(src))
        loop = npg.stack([npg.stack([f(npg.tensor(x[i]), npg.tensor(idx[i, j] % 4), npg.tensor(src[j]))
                                     for j in range(3)]) for i in range(2)])
        assert_close(out, loop, np.float64)


@pytest.mark.parametrize("name", ["index_select", "index_add", "index_fill"])
@pytest.mark.parametrize("dim", [0, -1])
def test_index_ops_with_an_index_batched_at_both_levels(name, dim):
    """Nested vmap, the index batched at both levels, the input at the outer one and the source / value at the
    inner one: values and per-sample gradients against a double loop; an out-of-range index still raises."""
    op = OPS[name]
    x, idx = _n(2, 4, 5), RNG.integers(0, (4, 5)[dim], (2, 3, 3))
    s = _n(3, 4, 3) if dim == -1 else _n(3, 3, 5)
    s = s if name == "index_add" else _n(3)
    f = lambda a, i, v: npg.sin(op(npg, a, dim, i, v)).sum()  # noqa: E731
    g = npg.func.grad(f, argnums=(0, 2))
    dims_in, dims_out = (None, 0, 0), (0, 0, None)
    out = npg.func.vmap(npg.func.vmap(g, in_dims=dims_in), in_dims=dims_out)(*map(npg.tensor, (x, idx, s)))
    loop = [[g(npg.tensor(x[i]), npg.tensor(idx[i, j]), npg.tensor(s[j])) for j in range(3)] for i in range(2)]
    for k in range(2):
        assert_close(out[k], np.stack([[lp[k].data for lp in row] for row in loop]), np.float64)
    bad = idx.copy()
    bad[1, 2, 0] = (4, 5)[dim]
    with pytest.raises(IndexError, match=f"{name}.*out of range"):
        npg.func.vmap(npg.func.vmap(f, in_dims=dims_in), in_dims=dims_out)(*map(npg.tensor, (x, bad, s)))


def test_index_ops_with_the_index_at_the_outer_level_and_the_input_at_the_inner():
    x, idx, src = _n(3, 4, 5), RNG.integers(0, 5, (2, 3)), _n(4, 3)
    for f in (lambda a, i: npg.index_select(a, 1, i), lambda a, i: npg.index_add(a, -1, i, npg.tensor(src)),
              lambda a, i: npg.index_fill(a, 1, i, -2.0)):
        out = npg.func.vmap(npg.func.vmap(f, in_dims=(0, None)), in_dims=(None, 0))(npg.tensor(x), npg.tensor(idx))
        loop = npg.stack([npg.stack([f(npg.tensor(x[j]), npg.tensor(idx[i])) for j in range(3)]) for i in range(2)])
        assert_close(out, loop, np.float64)
        g = npg.func.grad(lambda a, i: npg.sin(f(a, i)).sum())
        out = npg.func.vmap(npg.func.vmap(g, in_dims=(0, None)), in_dims=(None, 0))(npg.tensor(x), npg.tensor(idx))
        loop = npg.stack([npg.stack([g(npg.tensor(x[j]), npg.tensor(idx[i])) for j in range(3)]) for i in range(2)])
        assert_close(out, loop, np.float64)


def test_index_ops_on_0d_samples_loop_with_the_warning():
    """A 0-d input per sample (dim 0 / -1, one element): the per-sample loop, with the one-time warning."""
    x, idx = _n(3), np.zeros((3, 1), np.int64)  # one index per sample: a 0-d input takes one, as PyTorch's
    f = lambda a, i: npg.index_select(a, 0, i)  # noqa: E731
    with pytest.warns(Fallback, match="index_select"):
        out = npg.func.vmap(f)(npg.tensor(x), npg.tensor(idx))
    assert_close(out, npg.stack([f(npg.tensor(x[b]), npg.tensor(idx[b])) for b in range(3)]), np.float64)


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("name", ["index_select", "index_add_method_alpha", "index_fill"])
def test_index_ops_with_a_batched_index_under_vmap_of_jacobians(name, jac):
    dims = (0, 0, 0)
    arrays = _arrays(name, 1, dims)
    f = lambda a, i, s: npg.sin(OPS[name](npg, a, 1, i, s))  # noqa: E731
    J = getattr(npg.func, jac)(f, argnums=(0, 2))
    out = npg.func.vmap(J)(*map(npg.tensor, arrays))
    loop = [J(*map(npg.tensor, _sample(arrays, dims, b))) for b in range(3)]
    for k in range(2):
        assert_close(out[k], npg.stack([lp[k] for lp in loop]), np.float64)


def test_index_ops_with_a_batched_index_keep_their_errors_and_empty_batches():
    x, idx = _n(3, 4), RNG.integers(0, 4, (3, 2))
    idx[2, 1] = 4                                          # out of range in the last sample only
    for f in (lambda a, i: npg.index_select(a, 0, i), lambda a, i: npg.index_add(a, 0, i, a[:2]),
              lambda a, i: npg.index_fill(a, 0, i, 1.0)):
        with pytest.raises(IndexError, match="out of range"):
            npg.func.vmap(f)(npg.tensor(x), npg.tensor(idx))
        with pytest.raises(IndexError, match="out of range"):   # below -size (index_fill takes [-size, 0))
            npg.func.vmap(f)(npg.tensor(x), npg.tensor(-idx - 5))
        with pytest.raises(IndexError, match="vector"):
            npg.func.vmap(f)(npg.tensor(x), npg.tensor(idx[:, :, None] * 0))
        with pytest.raises(RuntimeError, match="int64"):
            npg.func.vmap(f)(npg.tensor(x), npg.tensor(idx * 0.0))
    with pytest.raises(RuntimeError, match="does not fit"):
        npg.func.vmap(lambda a, i: npg.index_add(a, 0, i, a))(npg.tensor(x), npg.tensor(idx % 4))
    with pytest.raises(RuntimeError, match="0-dimensional value"):
        npg.func.vmap(lambda a, i: npg.index_fill(a, 0, i, a[:1]))(npg.tensor(x), npg.tensor(idx % 4))
    out = npg.func.vmap(lambda a, i: npg.index_add(a, 0, i, a[:2]))(npg.tensor(np.zeros((0, 4))),
                                                                   npg.tensor(np.zeros((0, 2), np.int64)))
    assert out.shape == (0, 4)
