"""Batching rules of the small op families (non-differentiable index ops, ``*_like``, searchsorted, masked_fill,
dot / inner / tensordot, astype): vmap against a Python loop of the unbatched op, values and gradients, with
any fallback to a per-sample loop turned into an error."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad import func_vmap as fv

vmap = npg.func.vmap
Fallback = fv._vmap_rules.VmapFallbackWarning


def _check(fn, arrays, in_dims, grad=False, fallback_ok=False):
    """vmap(fn) over ``arrays`` (None in ``in_dims``: unbatched) against a loop of ``fn`` per sample: values,
    dtypes, shapes and (``grad``) the gradients of a random weighting of the outputs."""
    fv._warned.clear()
    ts = [npg.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    with warnings.catch_warnings():
        if not fallback_ok:
            warnings.simplefilter("error", Fallback)
        out = vmap(fn, in_dims=in_dims)(*ts)
    refs_t = [npg.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    size = next(a.shape[d] for a, d in zip(arrays, in_dims) if d is not None)
    per = [fn(*[t if d is None else npg.moveaxis(t, d, 0)[i] for t, d in zip(refs_t, in_dims)])
           for i in range(size)]
    outs = out if isinstance(out, tuple) else (out,)
    pers = [p if isinstance(p, tuple) else (p,) for p in per]
    loss, ref_loss = 0, 0
    for k, o in enumerate(outs):
        expect = np.stack([p[k].data for p in pers])
        assert o.shape == expect.shape and o.dtype == expect.dtype, (o.shape, expect.shape, o.dtype, expect.dtype)
        np.testing.assert_allclose(o.data, expect, rtol=1e-12, atol=1e-12)
        assert o.requires_grad == pers[0][k].requires_grad
        if grad and o.requires_grad:
            w = np.random.default_rng(k).standard_normal(expect.shape)
            loss = loss + (o * w).sum()
            ref_loss = ref_loss + (npg.stack([p[k] for p in pers]) * w).sum()
    if isinstance(loss, npg.Tensor):
        loss.backward()
        ref_loss.backward()
        for t, r in zip(ts, refs_t):
            if r.grad is not None:
                np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-12)
    return out


RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3, 5))
TIES = RNG.integers(0, 3, (4, 3, 5)).astype(np.float64)
NANS = np.where(np.arange(60).reshape(4, 3, 5) % 7 == 2, np.nan, X)


@pytest.mark.parametrize("fn,x", [
    (lambda a: npg.argsort(a), X), (lambda a: npg.argsort(a, axis=0), X), (lambda a: npg.argsort(a, axis=None), X),
    (lambda a: npg.argsort(a, axis=-2, kind="stable"), TIES),
    (lambda a: npg.argpartition(a, 2, axis=None), X), (lambda a: npg.argpartition(a, 1, axis=0), X),
    (lambda a: npg.argmax(a), X), (lambda a: npg.argmax(a, axis=None, keepdims=True), X),
    (lambda a: npg.argmin(a, axis=-1, keepdims=True), TIES), (lambda a: npg.argmin(a, 0), X),
    (lambda a: npg.nanargmax(a, axis=1), NANS), (lambda a: npg.nanargmin(a), NANS),
    (lambda a: npg.count_nonzero(a), TIES), (lambda a: npg.count_nonzero(a, axis=(0, 1)), TIES),
    (lambda a: npg.any(a > 1.5), X), (lambda a: npg.all(a > -1, axis=1, keepdims=True), X),
    (lambda a: npg.any(a == 2, axis=-1), TIES),
    (lambda a: npg.digitize(a, np.array([-1.0, 0.0, 0.5])), X), (lambda a: npg.isin(a, [0.0, 2.0]), TIES),
    (lambda a: npg.isclose(a, 1.0), TIES), (lambda a: npg.isclose(a, a[0] * 1.0), TIES),
])
@pytest.mark.parametrize("dim", [0, -1])
def test_index_valued_ops(fn, x, dim):
    _check(fn, [np.moveaxis(x, 0, dim)], (dim,))


def test_argmax_on_one_d_samples_with_keepdims():
    _check(lambda a: npg.argmax(a, axis=None, keepdims=True), [X[:, 0]], (0,))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(side):
    sorted_rows = np.sort(TIES[:, 0], axis=-1)           # (4, 5) with ties, one sorted row per sample
    v = np.array([[0.0, 1.0, 2.5], [-1.0, 2.0, 1.0]])     # (2, 3)
    vb = np.stack([v + 0.5 * i for i in range(4)])        # (4, 2, 3)
    _check(lambda a, q: npg.searchsorted(a, q, side=side), [sorted_rows[0], vb], (None, 0))
    _check(lambda a, q: npg.searchsorted(a, q, side=side), [sorted_rows, v], (0, None))
    _check(lambda a, q: npg.searchsorted(a, q, side=side), [sorted_rows, vb], (0, 0))
    _check(lambda a: npg.searchsorted(a, 1.0, side=side), [sorted_rows], (0,))


@pytest.mark.parametrize("like", ["zeros_like", "ones_like", "empty_like"])
def test_like_ops(like):
    f = getattr(npg, like)
    out = _check(lambda a: f(a) if like != "empty_like" else f(a) * 0 + a, [X], (1,), grad=True)
    assert out.shape == (3, 4, 5)
    _check(lambda a: f(a, dtype=np.int64) if like != "empty_like" else f(a, dtype=np.int64).shape[0] + a, [X], (0,))


def test_full_like():
    _check(lambda a: npg.full_like(a, 2.5) * a, [X], (0,), grad=True)
    _check(lambda a: npg.full_like(a, 3, dtype=np.int32), [X], (-1,))


@pytest.mark.parametrize("dims", [(0, 0, None), (0, None, 0), (None, 0, 0), (-1, 0, None)])
def test_masked_fill(dims):
    x = np.moveaxis(X, 0, dims[0]) if dims[0] is not None else X[0]
    mask = TIES[:, 0] > 0                                  # (4, 5): broadcasts against (3, 5) samples
    mask = mask if dims[1] is not None else mask[0]
    value = np.array([1.0, -2.0, 3.0, 0.5])
    value = value if dims[2] is not None else np.array(7.0)
    _check(lambda a, m, v: npg.masked_fill(a, m, v), [x, mask, value], dims, grad=True)


def test_masked_fill_errors_name_the_shapes():
    x = npg.tensor(X)
    with pytest.raises(ValueError, match="masked_fill: mask of shape"):
        vmap(lambda a: npg.masked_fill(a, np.ones((4,), bool), 0.0))(x)
    with pytest.raises(TypeError, match="boolean"):
        vmap(lambda a: npg.masked_fill(a, np.ones((5,)), 0.0))(x)


CONTRACT = [
    ("dot", (5,), (5,)), ("dot", (3, 5), (5,)), ("dot", (5,), (5, 2)), ("dot", (3, 5), (5, 2)),
    ("dot", (2, 3, 5), (4, 5, 2)), ("dot", (), (3,)), ("dot", (2, 3, 5), (5,)),
    ("inner", (5,), (5,)), ("inner", (3, 5), (2, 5)), ("inner", (2, 3, 5), (5,)), ("inner", (3,), ()),
    ("tensordot", (3, 5), (3, 5)), ("tensordot", (2, 3, 5), (3, 5, 4)),
    ("tensordot", (3, 5), (5, 2), 1), ("tensordot", (3, 5), (2, 3), ([0], [1])),
    ("tensordot", (2, 3, 5), (5, 2), ((2, 0), (0, 1))), ("tensordot", (3,), (2,), 0),
]


@pytest.mark.parametrize("case", CONTRACT, ids=[f"{c[0]}{c[1]}{c[2]}" + (str(c[3]) if len(c) > 3 else "")
                                                for c in CONTRACT])
@pytest.mark.parametrize("dims", [(0, 0), (0, None), (None, 0), (-1, 0)])
def test_contractions(case, dims):
    name, sa, sb = case[:3]
    rest = case[3:]
    f = getattr(npg, name)
    rng = np.random.default_rng(1)
    arrays = []
    for s, d in zip((sa, sb), dims):
        a = rng.standard_normal(s)
        if d is not None:
            a = np.moveaxis(rng.standard_normal((3,) + s), 0, d)
        arrays.append(a)
    _check(lambda a, b: f(a, b, *rest), arrays, dims, grad=True)


def test_contraction_errors_are_the_ops_own():
    a, b = npg.tensor(np.ones((3, 4, 5))), npg.tensor(np.ones((4, 5)))
    with pytest.raises(Exception) as e:
        vmap(lambda x: npg.tensordot(x, b, ([0, 1], [0])))(a)
    with pytest.raises(type(e.value)):
        npg.tensordot(a[0], b, ([0, 1], [0]))


def test_astype():
    out = _check(lambda a: npg.astype(a, np.float32) * 2, [X], (1,), grad=True)
    assert out.dtype == np.float32
    _check(lambda a: npg.astype(a, np.int64), [X * 10], (0,))


def test_loop_ops_warn_and_stack():
    """histogram / bincount have no rule: they run per sample, with a warning naming the op."""
    counts = np.array([[0, 1, 1, 3], [2, 2, 0, 1], [3, 3, 3, 0]])
    fv._warned.clear()
    with pytest.warns(Fallback, match="no batching rule for bincount"):
        _check(lambda c: npg.bincount(c, minlength=5), [counts], (0,), fallback_ok=True)
    with pytest.warns(Fallback, match="no batching rule for histogram"):
        _check(lambda a: npg.histogram(a, bins=4, range=(-2.0, 2.0))[0], [X[:, 0]], (0,), fallback_ok=True)


def test_data_dependent_output_shapes_raise():
    """unique / nonzero give results whose shape depends on each sample's values: a clear error, as torch."""
    x = npg.tensor(np.array([[1.0, 1.0, 2.0], [1.0, 2.0, 3.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Fallback)
        with pytest.raises(RuntimeError, match="unique gives results of different shapes"):
            vmap(npg.unique)(x)
        out = vmap(npg.unique)(npg.tensor(np.array([[1.0, 2.0, 2.0], [3.0, 4.0, 3.0]])))  # equal shapes: fine
    np.testing.assert_allclose(out.data, [[1.0, 2.0], [3.0, 4.0]])


LINALG = [
    (lambda a: npg.linalg.diagonal(a), (3, 4)), (lambda a: npg.linalg.diagonal(a, offset=-1), (2, 4, 3)),
    (lambda a: npg.linalg.trace(a, offset=1), (4, 4)), (lambda a: npg.linalg.matrix_transpose(a), (2, 3, 4)),
    (lambda a: npg.linalg.vecdot(a, a[::-1]), (3, 4)), (lambda a: npg.linalg.vecdot(a, a, axis=0), (3, 4)),
    (lambda a: npg.linalg.outer(a[0], a[1]), (2, 4)), (lambda a: npg.linalg.multi_dot([a, a.T, a]), (3, 4)),
    (lambda a: npg.linalg.multi_dot(a[:, :, :3]), (3, 3, 4)), (lambda a: npg.stack(list(a)) * 2, (3, 4)),
    (lambda a: npg.concatenate(a), (3, 4)),
]


@pytest.mark.parametrize("k", range(len(LINALG)))
@pytest.mark.parametrize("dim", [0, -1])
def test_linalg_composites_and_iteration(k, dim):
    """np.linalg's composites (their checks read shapes only) and iterating a batched tensor (its rows)."""
    fn, shape = LINALG[k]
    x = np.moveaxis(np.random.default_rng(k).standard_normal((3,) + shape), 0, dim)
    _check(fn, [x], (dim,), grad=True)


def test_linalg_composite_errors_name_the_shapes():
    x = npg.tensor(np.ones((3, 4)))
    with pytest.raises(npg.linalg.LinAlgError, match="at least two-dimensional"):
        vmap(npg.linalg.diagonal)(x)
    with pytest.raises(ValueError, match="1-D vectors"):
        vmap(lambda a: npg.linalg.outer(a, np.ones((2, 2))))(x)


F = npg.nn.functional
SIZES = [
    (lambda a: npg.argsort(a, axis=None), (3, 4)), (lambda a: npg.count_nonzero(a > 0, axis=0), (3, 4)),
    (lambda a: npg.searchsorted(np.array([-1.0, 0.0, 1.0]), a), (3, 4)), (lambda a: npg.dot(a, a.T), (3, 4)),
    (lambda a: npg.tensordot(a, a, 2), (3, 4)), (lambda a: npg.zeros_like(a) + a, (3, 4)),
    (lambda a: npg.masked_fill(a, np.array([True, False, True, False]), 1.0), (3, 4)),
    (lambda a: npg.linalg.diagonal(a), (3, 4)), (lambda a: F.gelu(a), (3, 4)), (lambda a: F.glu(a), (3, 4)),
    (lambda a: F.mse_loss(a, a * 2), (3, 4)), (lambda a: F.kl_div(a, a.exp(), reduction="batchmean"), (3, 4)),
    (lambda a: F.cosine_similarity(a, a + 1), (3, 4)), (lambda a: F.interpolate(a[None], scale_factor=2), (3, 4)),
    (lambda a: F.one_hot((a > 0).astype(np.int64), 2), (3, 4)),
    (lambda a: npg.func.vjp(lambda t: npg.sin(t)[[0, 2]], a)[1](a[:2])[0], (3, 4)),
    (lambda a: npg.func.jvp(lambda t: npg.sin(t).sum(0), (a,), (a,))[1], (3, 4)),
]


@pytest.mark.parametrize("k", range(len(SIZES)))
@pytest.mark.parametrize("size", [0, 1])
def test_batches_of_size_0_and_1(k, size):
    """A batch of one sample gives that sample's result (values and gradients); a batch of none gives the
    per-sample result's shape with 0 in front, without falling back to a loop."""
    fn, shape = SIZES[k]
    x = np.random.default_rng(k).standard_normal((size,) + shape)
    if size:
        _check(fn, [x], (0,), grad=True)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div / mean of nothing
        warnings.simplefilter("error", Fallback)
        out = vmap(fn)(npg.tensor(x))
    ref = fn(npg.tensor(np.ones(shape)))
    assert out.shape == (0,) + ref.shape and out.dtype == ref.dtype


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("dims", [(0, 0), (None, 0), (-1, 1)])
def test_isin_with_batched_test_elements(invert, dims):
    e = TIES[:, :2]                                   # (4, 2, 5) values in {0, 1, 2}
    t = np.array([[0.0, 7.0], [2.0, 1.0], [5.0, 5.0], [1.0, 1.0]])
    arrays = [e[0] if dims[0] is None else np.moveaxis(e, 0, dims[0]),
              np.moveaxis(t, 0, dims[1]) if dims[1] is not None else t[0]]
    _check(lambda a, b: npg.isin(a, b, invert=invert), arrays, dims)


@pytest.mark.parametrize("form", ["tensor", "tuple", "tuple_half"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_lexsort(form, axis):
    keys = TIES[:, :2]                                # (4, 2, 5): 2 keys with ties per sample
    if form == "tensor":
        _check(lambda k: npg.lexsort(k, axis=axis), [keys], (0,))
    elif form == "tuple":
        _check(lambda a, b: npg.lexsort((a, b), axis=axis), [keys[:, 0], keys[:, 1]], (0, 0))
    else:
        _check(lambda a, b: npg.lexsort((a, b), axis=axis), [keys[0, 0], keys[:, 1]], (None, 0))
