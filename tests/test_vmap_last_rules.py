"""Batching rules that ran as a per-sample loop: histc under nested vmap, cross_entropy with an unbatched input
and a batched probability target, setitem of an unbatched value into a batched tensor, scatter / scatter_add
with a batched index. The fallback warning is an error here; every result against a Python loop of the
unbatched npgrad call and, where torch has the op, torch.func."""

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from npgrad import func_vmap as fv
from tests.helpers import assert_close
from tests import helpers

F, TF = npg.nn.functional, torch.nn.functional
Fallback = fv._vmap_rules.VmapFallbackWarning
RNG = np.random.default_rng(53)


vmap_without_fallback = helpers.vmap_without_fallback   # a fixture: every test here runs without the fallback
pytestmark = pytest.mark.usefixtures("vmap_without_fallback")


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


# ------------------------------------------------------------------------ setitem: x[key] = value
_I, _J = np.array([0, 2, 1]), np.array([1, 0, 1])   # (no repeated (i, j): torch leaves which write wins open)
SET_KEYS = [
    ((slice(1, 3),), (2, 5, 2)),                             # basic: value of the full selection shape
    ((slice(1, 3),), (5, 2)),                                # broadcast along the selection
    ((1, slice(None), 0), (5,)),
    ((slice(None), slice(None), 1), (4, 5)),
    ((_I,), (3, 5, 2)),                                      # one index array
    ((slice(None), np.array([3, 0, 1])), (4, 3, 2)),         # an index array behind a slice
    ((_I, slice(None), _J), (3, 5)),                         # index arrays apart: NumPy puts them in front
    ((_I, slice(1, 4), _J), (1, 3, 3)),                      # (a leading size-1 dim dropped)
    ((_I, slice(None), _J), (5,)),
]


def _tkey(key):
    return tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in key)


def _apart(key):
    pos = [i for i, k in enumerate(key) if isinstance(k, np.ndarray)]
    return bool(pos) and pos != list(range(pos[0], pos[-1] + 1))


def _torch_vmap_or_loop(fn, key, dims, *arrays):
    """torch.func.vmap, or a loop of torch calls for index arrays apart (torch.func's setitem puts the batch
    axis of the selection in the wrong place there: a wrong value in torch 2.x)."""
    ts = [torch.tensor(a) for a in arrays]
    if not _apart(key):
        return tf.vmap(fn, in_dims=dims)(*ts)
    n = next(a.shape[d] for a, d in zip(ts, dims) if d is not None)
    outs = [fn(*(t if d is None else t[i] for t, d in zip(ts, dims))) for i in range(n)]
    return tuple(torch.stack(o) for o in zip(*outs)) if isinstance(outs[0], tuple) else torch.stack(outs)


def _set_fn(lib, key):
    def f(a, b):
        a = a * 2
        a[key] = b * 3
        return lib.sin(a) * a
    return f


@pytest.mark.parametrize("key,vshape", SET_KEYS)
@pytest.mark.parametrize("batched_value", [False, True])
def test_setitem_on_a_batched_tensor(key, vshape, batched_value):
    B, xs = 3, (4, 5, 2)
    x, v = _n(B, *xs), _n(*((B,) if batched_value else ()), *vshape)
    dims = (0, 0 if batched_value else None)
    f, tf_ = _set_fn(npg, key), _set_fn(torch, _tkey(key))
    out = npg.func.vmap(f, in_dims=dims)(npg.tensor(x), npg.tensor(v))
    vi = (lambda i: v[i]) if batched_value else (lambda i: v)  # noqa: E731
    loop = npg.stack([f(npg.tensor(x[i]), npg.tensor(vi(i))) for i in range(B)])
    assert_close(out, loop, np.float64)
    assert_close(out, _torch_vmap_or_loop(tf_, key, dims, x, v).numpy(), np.float64)

    def s(lib, fn):
        return lambda a, b: fn(a, b).sum()
    g = npg.func.vmap(npg.func.grad(s(npg, f), argnums=(0, 1)), in_dims=dims)(npg.tensor(x), npg.tensor(v))
    tg = _torch_vmap_or_loop(tf.grad(s(torch, tf_), argnums=(0, 1)), key, dims, x, v)
    gl = [npg.func.grad(s(npg, f), argnums=(0, 1))(npg.tensor(x[i]), npg.tensor(vi(i))) for i in range(B)]
    for k in range(2):
        assert_close(g[k], tg[k].numpy(), np.float64)
        assert_close(g[k], npg.stack([gi[k] for gi in gl]), np.float64)
    # the gradient through the vmap: an unbatched value's summed over the batch
    gv = npg.func.grad(lambda a, b: npg.func.vmap(f, in_dims=dims)(a, b).sum(), argnums=1)(npg.tensor(x),
                                                                                          npg.tensor(v))
    expect = npg.stack([gi[1] for gi in gl])
    assert_close(gv, expect if batched_value else expect.data.sum(0), np.float64)


def test_assign_apart_index_arrays_with_an_unbatched_value():
    """_assign's rule wrote an unbatched value of the full selection shape against the batch axis when the key's
    index arrays were apart (NumPy puts them in front): a silently wrong value when the sizes matched."""
    from npgrad.ops.index import _assign
    key = (np.array([0, 1]), slice(None), np.array([1, 0]))
    x, v = _n(2, 2, 2, 2), _n(2, 2)
    out = npg.func.vmap(lambda a, b: _assign(a, key, b), in_dims=(0, None))(npg.tensor(x), npg.tensor(v))
    loop = npg.stack([_assign(npg.tensor(x[i]), key, npg.tensor(v)) for i in range(2)])
    assert_close(out, loop, np.float64)


def test_setitem_of_a_batched_value_into_an_unbatched_tensor_raises_as_torch():
    def f(a, b):
        a = a * 1
        a[1:3] = b
        return a
    with pytest.raises(RuntimeError, match="unbatched x"):
        npg.func.vmap(f, in_dims=(None, 0))(npg.tensor(_n(4, 5)), npg.tensor(_n(3, 2, 5)))
    with pytest.raises(RuntimeError):
        tf.vmap(f, in_dims=(None, 0))(torch.tensor(_n(4, 5)), torch.tensor(_n(3, 2, 5)))


def test_setitem_under_nested_vmap():
    key = (_I, slice(None), _J)
    x, v, w = _n(2, 3, 4, 5, 2), _n(3, 5), _n(3, 3, 5)
    f = _set_fn(npg, key)
    out = npg.func.vmap(npg.func.vmap(f, in_dims=(0, None)), in_dims=(0, None))(npg.tensor(x), npg.tensor(v))
    loop = npg.stack([npg.stack([f(npg.tensor(x[i, j]), npg.tensor(v)) for j in range(3)]) for i in range(2)])
    assert_close(out, loop, np.float64)
    out = npg.func.vmap(npg.func.vmap(f), in_dims=(0, None))(npg.tensor(x), npg.tensor(w))   # value: inner level
    loop = npg.stack([npg.stack([f(npg.tensor(x[i, j]), npg.tensor(w[j])) for j in range(3)]) for i in range(2)])
    assert_close(out, loop, np.float64)


# ------------------------------------------------------------------------ gather / scatter / scatter_add, batched index
def _unique_index(B, n, shape, dim):
    """Per sample, an index of ``shape`` whose entries along ``dim`` are distinct (a scatter writes each position
    once: torch leaves which write wins open)."""
    shape = list(shape)
    k = shape.pop(dim)
    rows = np.stack([RNG.permutation(n)[:k] for _ in range(B * int(np.prod(shape)))])
    return np.moveaxis(rows.reshape([B] + shape + [k]), -1, dim + 1 if dim >= 0 else dim)


DIM_OPS = {
    "gather": (lambda a, d, i, s: npg.gather(a, d, i) * s, lambda a, d, i, s: torch.gather(a, d, i) * s),
    "scatter": (lambda a, d, i, s: npg.scatter(a, d, i, s), lambda a, d, i, s: torch.scatter(a, d, i, s)),
    "scatter_value": (lambda a, d, i, s: npg.scatter(a, d, i, value=1.5) * s[0].sum(),
                      lambda a, d, i, s: torch.scatter(a, d, i, value=1.5) * s[0].sum()),
    "scatter_reduce_add": (lambda a, d, i, s: npg.scatter(a, d, i, s, reduce="add"),
                           lambda a, d, i, s: torch.scatter_add(a, d, i, s)),
    "scatter_add": (lambda a, d, i, s: npg.scatter_add(a, d, i, s), lambda a, d, i, s: torch.scatter_add(a, d, i, s)),
}


@pytest.mark.parametrize("name", list(DIM_OPS))
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dims", [(0, 0, 0), (None, 0, None), (0, 0, None), (None, 0, 0), (1, 2, 0)])
@pytest.mark.parametrize("src_larger", [False, True])
def test_dim_indexed_ops_with_a_batched_index(name, dim, dims, src_larger):
    B, xs, ishape = 3, (4, 5, 3), (3, 4, 2)             # the index smaller than input and src off dim
    f, tfn = DIM_OPS[name]
    x = _n(B, *xs)
    idx = _unique_index(B, xs[dim], ishape, dim) if name != "scatter_add" else RNG.integers(
        0, xs[dim], (B,) + ishape)
    src = _n(B, *xs) if src_larger and name != "gather" else _n(B, *ishape)   # torch reads src[:index.shape]
    arrays = [np.moveaxis(a, 0, d) if d is not None else a[0] for a, d in zip((x, idx, src), dims)]
    sample = [(lambda i, a=a: a) if d is None else (lambda i, a=a, d=d: np.take(a, i, axis=d))
              for a, d in zip(arrays, dims)]
    g = lambda a, i, s: f(a, dim, i, s)  # noqa: E731
    tg = lambda a, i, s: tfn(a, dim, i, s)  # noqa: E731
    out = npg.func.vmap(g, in_dims=dims)(*map(npg.tensor, arrays))
    loop = npg.stack([g(*(npg.tensor(sm(b)) for sm in sample)) for b in range(B)])
    assert_close(out, loop, np.float64)
    assert_close(out, tf.vmap(tg, in_dims=dims)(*map(torch.tensor, arrays)).numpy(), np.float64)
    # per-sample gradients in the input and src
    gs = npg.func.vmap(npg.func.grad(lambda a, i, s: npg.sin(g(a, i, s)).sum(), argnums=(0, 2)), in_dims=dims)(
        *map(npg.tensor, arrays))
    if not src_larger:
        tgs = tf.vmap(tf.grad(lambda a, i, s: torch.sin(tg(a, i, s)).sum(), argnums=(0, 2)), in_dims=dims)(
            *map(torch.tensor, arrays))
    gl = [npg.func.grad(lambda a, i, s: npg.sin(g(a, i, s)).sum(), argnums=(0, 2))(
        *(npg.tensor(sm(b)) for sm in sample)) for b in range(B)]
    for k in range(2):
        assert_close(gs[k], npg.stack([gb[k] for gb in gl]), np.float64)
        if not src_larger:    # (torch's scatter backward under vmap fails for a src larger than the index)
            assert_close(gs[k], tgs[k].numpy(), np.float64)


def test_dim_indexed_ops_with_a_batched_index_under_nested_vmap():
    x, idx, src = _n(2, 4, 5), RNG.integers(0, 4, (2, 3, 2, 5)), _n(3, 2, 5)
    f = lambda a, i, s: npg.scatter_add(a, 0, i, s)  # noqa: E731   x: outer level, src: inner, index: both
    out = npg.func.vmap(npg.func.vmap(f, in_dims=(None, 0, 0)), in_dims=(0, 0, None))(
        npg.tensor(x), npg.tensor(idx), npg.tensor(src))
    loop = npg.stack([npg.stack([f(npg.tensor(x[i]), npg.tensor(idx[i, j]), npg.tensor(src[j])) for j in range(3)])
                      for i in range(2)])
    assert_close(out, loop, np.float64)
    ref = tf.vmap(tf.vmap(lambda a, i, s: torch.scatter_add(a, 0, i, s), in_dims=(None, 0, 0)), in_dims=(0, 0, None))(
        torch.tensor(x), torch.tensor(idx), torch.tensor(src))
    assert_close(out, ref.numpy(), np.float64)


def test_dim_indexed_ops_with_a_batched_index_keep_their_errors_and_empty_batches():
    x, idx = _n(3, 4), RNG.integers(0, 4, (3, 2))
    idx[2, 1] = 4                                          # out of range in the last sample only
    with pytest.raises(IndexError, match="out of bounds"):
        npg.func.vmap(lambda a, i: npg.gather(a, 0, i))(npg.tensor(x), npg.tensor(idx))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        npg.func.vmap(lambda a, i: npg.gather(a, 0, i))(npg.tensor(x), npg.tensor(idx[:, :, None] * 0))
    out = npg.func.vmap(lambda a, i: npg.scatter_add(a, 0, i, a))(npg.tensor(np.zeros((0, 4))),
                                                                  npg.tensor(np.zeros((0, 2), np.int64)))
    assert out.shape == (0, 4)
