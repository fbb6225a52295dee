"""torch's ``scatter_reduce`` (sum, prod, mean, amax, amin; ``include_self``), its in-place form and
``scatter(..., reduce='add' | 'multiply')``: values (float and int dtypes), gradients (the zeros of prod, the ties
of amax / amin), second derivatives, forward mode and vmap, all against torch 2.13."""
import warnings

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from tests import helpers
from tests.helpers import assert_close, check_finite_difference, compare_with_torch

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
RNG = np.random.default_rng(7)
T = torch.tensor


def _index(xs, ishape, dim, rng=RNG):
    return rng.integers(0, xs[dim], ishape)


def _case(dtype, dim, xs=(4, 5, 3), ishape=(3, 4, 2), src_shape=None):
    x = RNG.standard_normal(xs).astype(dtype)
    idx = _index(xs, ishape, dim)
    src = RNG.standard_normal(src_shape or ishape).astype(dtype)
    return x, idx, src


# ------------------------------------------------------------------------------------------ values and gradients
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_values_and_gradients_as_torch(reduce, include_self, dtype, dim):
    x, idx, src = _case(dtype, dim)              # repeated indices; positions no index touches
    ti = T(idx)
    compare_with_torch(lambda a, s: npg.scatter_reduce(a, dim, idx, s, reduce, include_self=include_self),
                       lambda a, s: torch.scatter_reduce(a, dim, ti, s, reduce, include_self=include_self), [x, src],
                       what=f"{reduce} {include_self}")
    compare_with_torch(lambda a, s: a.scatter_reduce(dim, idx, s, reduce, include_self=include_self),
                       lambda a, s: a.scatter_reduce(dim, ti, s, reduce, include_self=include_self), [x, src])


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_gradients_match_finite_differences(reduce, include_self):
    x, idx, src = _case(np.float64, 1, xs=(3, 5), ishape=(3, 6))     # no ties, no zeros: differentiable
    check_finite_difference(lambda a, s: npg.scatter_reduce(a, 1, idx, s, reduce, include_self=include_self),
                            [x, src], what=f"{reduce} {include_self}")


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_src_larger_than_index_reads_only_the_index_extent(reduce, include_self):
    x, idx, src = _case(np.float64, 1, src_shape=(5, 6, 3))
    out = npg.scatter_reduce(npg.tensor(x), 1, idx, npg.tensor(src), reduce, include_self=include_self)
    ref = torch.scatter_reduce(T(x), 1, T(idx), T(src), reduce, include_self=include_self)
    assert_close(out, ref.numpy())
    # the gradient of src is the one of src[:3, :4, :2], zero elsewhere (torch's backward refuses this case)
    s = npg.tensor(src)
    npg.scatter_reduce(npg.tensor(x), 1, idx, s, reduce, include_self=include_self).sum().backward()
    ts = T(src[:3, :4, :2], requires_grad=True)
    torch.scatter_reduce(T(x), 1, T(idx), ts, reduce, include_self=include_self).sum().backward()
    expected = np.zeros_like(src)
    expected[:3, :4, :2] = ts.grad.numpy()
    assert_close(s.grad, expected)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prod_gradient_with_zeros_as_torch(include_self, dtype):
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0, 1.5], dtype)
    idx = np.array([0, 0, 1, 1, 1, 2, 2, 3, 4, 4, 4])
    src = np.array([0.0, 4.0, 0.0, 2.0, 3.0, 0.0, 0.0, 7.0, 0.0, 0.0, 2.0], dtype)
    # position 0: one zero in src; 1: self and src zero; 2: two zeros in src; 3: self zero; 4: two zeros; 5: none
    compare_with_torch(lambda a, s: npg.scatter_reduce(a, 0, idx, s, "prod", include_self=include_self),
                       lambda a, s: torch.scatter_reduce(a, 0, T(idx), s, "prod", include_self=include_self),
                       [x, src])


def test_amax_amin_ties_split_the_gradient_as_torch():
    rng = np.random.default_rng(3)
    for reduce in ("amax", "amin"):
        for dim in (0, 1):
            x = rng.integers(0, 3, (4, 5)).astype(np.float64)   # many exact ties between input and src
            idx = rng.integers(0, x.shape[dim], (6, 5) if dim == 0 else (4, 7))
            src = rng.integers(0, 3, idx.shape).astype(np.float64)
            compare_with_torch(lambda a, s: npg.scatter_reduce(a, dim, idx, s, reduce),
                               lambda a, s: torch.scatter_reduce(a, dim, T(idx), s, reduce), [x, src])


def test_amax_without_self_ignores_the_input_in_ties():
    """With include_self=False the input takes no part where an index writes: src's ties share the gradient among
    themselves (torch's JVP does so; its backward also counts an input equal to the result, which splits src's
    gradient with an element that is not reduced: the oracle is torch with such inputs moved off the tie)."""
    x = np.array([1.0, 5.0, 3.0, 7.0])
    idx = np.array([1, 1, 1, 2])
    src = np.array([5.0, 2.0, 5.0, 9.0])
    far = x.copy()
    far[[1, 2]] = 100.5                         # the touched inputs: excluded, so their value does not matter
    for reduce in ("amax", "amin"):
        xs, ss = npg.tensor(x), npg.tensor(src)
        out = npg.scatter_reduce(xs, 0, idx, ss, reduce, include_self=False)
        w = np.array([1.0, 2.0, 3.0, 4.0])
        (out * w).sum().backward()
        tx, ts = T(far, requires_grad=True), T(src, requires_grad=True)
        tout = torch.scatter_reduce(tx, 0, T(idx), ts, reduce, include_self=False)
        (tout * T(w)).sum().backward()
        assert_close(out, tout.detach().numpy())
        assert_close(xs.grad, tx.grad.numpy())
        assert_close(ss.grad, ts.grad.numpy())
        # and the VJP is the transpose of torch's JVP (torch.func.jacfwd, which leaves the input out)
        jx, js = tf.jacfwd(lambda a, s: torch.scatter_reduce(a, 0, T(idx), s, reduce, include_self=False),
                           argnums=(0, 1))(T(x), T(src))
        assert_close(xs.grad, (T(w) @ jx).numpy())
        assert_close(ss.grad, (T(w) @ js).numpy())


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_int_values_as_torch(reduce, include_self, dtype):
    x = RNG.integers(-9, 10, (4, 5)).astype(dtype)
    idx = RNG.integers(0, 4, (6, 3))
    src = RNG.integers(-9, 10, (6, 3)).astype(dtype)  # mean: torch rounds toward -inf (floor)
    out = npg.scatter_reduce(npg.tensor(x), 0, idx, npg.tensor(src), reduce, include_self=include_self)
    ref = torch.scatter_reduce(T(x), 0, T(idx), T(src), reduce, include_self=include_self).numpy()
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out.data, ref)


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_edge_shapes_as_torch(reduce, include_self):
    kw = dict(include_self=include_self)
    cases = [  # (input, dim, index, src)
        (np.array(2.0), 0, np.array(0), np.array(3.0)),                          # 0-d
        (np.array(2.0), -1, np.array([0, 0]), np.array([3.0, -4.0])),            # 0-d, a 1-d index
        (np.zeros((0, 3)), 1, np.zeros((0, 2), np.int64), np.ones((0, 2))),      # size-0 input
        (RNG.standard_normal((3, 4)), -2, np.zeros((0, 4), np.int64), np.ones((0, 4))),   # size-0 index
        (RNG.standard_normal((3, 4)), -1, np.array([[3, 3, 0]]), RNG.standard_normal((2, 5))),  # negative dim
    ]
    for x, dim, idx, src in cases:
        out = npg.scatter_reduce(npg.tensor(x), dim, idx, npg.tensor(src), reduce, **kw)
        ref = torch.scatter_reduce(T(x), dim, T(idx), T(src), reduce, **kw)
        assert out.shape == tuple(ref.shape)
        assert_close(out, ref.numpy())
    x, src = np.array(2.0), np.array(3.0)
    compare_with_torch(lambda a, s: npg.scatter_reduce(a, 0, np.array(0), s, reduce, **kw),
                       lambda a, s: torch.scatter_reduce(a, 0, T(0), s, reduce, **kw), [x, src])


def test_errors_name_the_op():
    x = npg.tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"scatter_reduce\(\).*index 3 is out of bounds"):
        npg.scatter_reduce(x, 0, np.array([[3]]), npg.ones((1, 1)), "sum")
    with pytest.raises(IndexError, match=r"scatter_reduce\(\)"):
        npg.scatter_reduce(x, 1, np.array([[-1]]), npg.ones((1, 1)), "sum")
    with pytest.raises(RuntimeError, match=r"scatter_reduce\(\).*dtype"):
        npg.scatter_reduce(x, 0, np.array([[1]]), npg.ones((1, 1), dtype=np.float32), "sum")
    with pytest.raises(RuntimeError, match=r"scatter_reduce\(\).*'sum', 'prod', 'mean', 'amax' or 'amin'"):
        npg.scatter_reduce(x, 0, np.array([[1]]), npg.ones((1, 1)), "max")
    with pytest.raises(RuntimeError, match=r"scatter_reduce\(\).*int64 for index"):
        npg.scatter_reduce(x, 0, np.array([[1.0]]), npg.ones((1, 1)), "sum")
    with pytest.raises(RuntimeError, match=r"scatter_reduce\(\).*same number of dimensions"):
        npg.scatter_reduce(x, 0, np.array([1]), npg.ones((1,)), "sum")
    with pytest.raises(IndexError, match=r"scatter_reduce.*axis 2 is out of bounds"):
        npg.scatter_reduce(x, 2, np.array([[1]]), npg.ones((1, 1)), "sum")
    with pytest.raises(RuntimeError, match=r"scatter\(\).*'add' or 'multiply'"):
        npg.scatter(x, 0, np.array([[1]]), npg.ones((1, 1)), reduce="mean")


# ------------------------------------------------------------------------------------------ scatter(reduce=...)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_as_torch(dtype, reduce):
    x = RNG.integers(-3, 4, (4, 5)).astype(dtype)
    idx = RNG.integers(0, 5, (3, 4))
    src = RNG.integers(-3, 4, (4, 6)).astype(dtype)
    for call, tcall in [(lambda a: npg.scatter(a, 1, idx, npg.tensor(src), reduce=reduce),
                         lambda a: torch.scatter(a, 1, T(idx), T(src), reduce=reduce)),
                        (lambda a: a.scatter(-1, idx, value=2, reduce=reduce),
                         lambda a: a.scatter(-1, T(idx), 2, reduce=reduce))]:
        out = call(npg.tensor(x))
        with warnings.catch_warnings():       # torch: "The reduce argument of torch.scatter ... is deprecated"
            warnings.simplefilter("ignore", UserWarning)
            ref = tcall(T(x)).numpy()
        assert out.dtype == ref.dtype
        assert_close(out, ref)
    if dtype != np.int64:  # torch has no derivative for scatter(reduce=): its scatter_reduce's is the oracle
        tr = "sum" if reduce == "add" else "prod"
        compare_with_torch(lambda a, s: a.scatter(1, idx, s, reduce=reduce),
                           lambda a, s: a.scatter_reduce(1, T(idx), s, tr), [x, src[:3, :4].copy()])


def test_inplace_scatter_reduce_and_scatter_multiply_as_torch():
    x, idx, src = _case(np.float64, 0, xs=(4, 3), ishape=(5, 3))
    for reduce in REDUCES:
        a, s = npg.tensor(x), npg.tensor(src)
        b = a * 1
        r = b.scatter_reduce_(0, idx, s, reduce, include_self=False)
        assert r is b
        (b * b).sum().backward()
        ta, ts = T(x, requires_grad=True), T(src, requires_grad=True)
        tb = ta * 1
        tb.scatter_reduce_(0, T(idx), ts, reduce, include_self=False)
        (tb * tb).sum().backward()
        assert_close(b, tb.detach().numpy())
        assert_close(a.grad, ta.grad.numpy())
        assert_close(s.grad, ts.grad.numpy())
    y = npg.tensor(x.copy(), requires_grad=False)
    y.scatter_(0, idx, npg.tensor(src), reduce="multiply")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert_close(y, T(x).scatter_(0, T(idx), T(src), reduce="multiply").numpy())


# ------------------------------------------------------------------------------------------ higher order, forward
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_second_derivatives_as_torch(reduce, include_self):
    x, idx, src = _case(np.float64, 1, xs=(3, 4), ishape=(3, 5))
    if reduce == "prod":   # a zero in src and one in the input: torch's special cases
        x[0, 1], src[1, 2] = 0.0, 0.0
    w = RNG.standard_normal(x.shape)

    def run(lib, a, s, i):
        y = lib.scatter_reduce(a, 1, i, s, reduce, include_self=include_self)
        return (y * y * lib_tensor(lib, w)).sum()

    def lib_tensor(lib, v):
        return npg.tensor(v) if lib is npg else T(v)
    a, s = npg.tensor(x), npg.tensor(src)
    ga, gs = npg.autograd.grad(run(npg, a, s, idx), (a, s), create_graph=True)
    (ga.sum() + (gs * gs).sum()).backward()
    ta, ts = T(x, requires_grad=True), T(src, requires_grad=True)
    tga, tgs = torch.autograd.grad(run(torch, ta, ts, T(idx)), (ta, ts), create_graph=True)
    (tga.sum() + (tgs * tgs).sum()).backward()
    assert_close(ga, tga.detach().numpy())
    assert_close(gs, tgs.detach().numpy())
    assert_close(a.grad, ta.grad.numpy())
    assert_close(s.grad, ts.grad.numpy())


def test_prod_second_derivative_with_two_zeros_refuses_as_torch():
    x, src, idx = np.array([2.0, 3.0]), np.array([0.0, 0.0, 4.0]), np.array([0, 0, 1])
    a, s = npg.tensor(x), npg.tensor(src)
    ga, gs = npg.autograd.grad(npg.scatter_reduce(a, 0, idx, s, "prod").sum(), (a, s), create_graph=True)
    ts = T(src, requires_grad=True)
    (tgs,) = torch.autograd.grad(torch.scatter_reduce(T(x), 0, T(idx), ts, "prod").sum(), (ts,), create_graph=True)
    assert_close(gs, tgs.detach().numpy())       # the first derivative is right (zero)
    with pytest.raises(RuntimeError):
        tgs.sum().backward()
    with pytest.raises(NotImplementedError, match="scatter_reduce.*more than one zero"):
        gs.sum().backward()


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_mode_as_torch(reduce, include_self, dtype):
    x, idx, src = _case(dtype, 0, xs=(4, 3), ishape=(6, 3))
    if reduce in ("amax", "amin"):   # ties: tangents averaged over the tied elements
        x, src = np.round(x).astype(dtype), np.round(src).astype(dtype)
    if reduce == "prod":
        x[0, 0] = src[1, 1] = src[2, 2] = src[4, 2] = 0.0
    tx, ts = RNG.standard_normal(x.shape).astype(dtype), RNG.standard_normal(src.shape).astype(dtype)
    out, jv = npg.func.jvp(lambda a, s: npg.scatter_reduce(a, 0, idx, s, reduce, include_self=include_self),
                           (npg.tensor(x), npg.tensor(src)), (npg.tensor(tx), npg.tensor(ts)))
    tfn = lambda a, s: torch.scatter_reduce(a, 0, T(idx), s, reduce, include_self=include_self)  # noqa: E731
    if reduce == "prod":   # torch.func.jvp gives zeros here (no forward formula): J t from torch's reverse mode
        jx, js = torch.autograd.functional.jacobian(tfn, (T(x), T(src)))   # (a loop: torch's vmap refuses)
        ref = (torch.einsum("ijkl,kl->ij", jx, T(tx)) + torch.einsum("ijkl,kl->ij", js, T(ts))).numpy()
    else:
        ref = tf.jvp(tfn, (T(x), T(src)), (T(tx), T(ts)))[1].numpy()
    assert jv.dtype == dtype
    assert_close(jv, ref)


# ------------------------------------------------------------------------------------------ vmap
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("dims", [(0, None, 0), (None, None, 0), (0, None, None), (0, 0, 0), (None, 0, None),
                                  (1, 0, 2)])
def test_vmap_without_fallback_as_torch(reduce, dims):
    B, dim = 3, -1
    x = RNG.standard_normal((B, 4, 5))
    idx = RNG.integers(0, 5, (B, 3, 4))
    src = RNG.standard_normal((B, 4, 6))          # src larger than the index off dim
    arrays = [np.moveaxis(a, 0, d) if d is not None else a[0] for a, d in zip((x, idx, src), dims)]
    f = lambda a, i, s: npg.scatter_reduce(a, dim, i, s, reduce, include_self=False)  # noqa: E731
    tfn = lambda a, i, s: torch.scatter_reduce(a, dim, i, s, reduce, include_self=False)  # noqa: E731
    with helpers.no_vmap_fallback():
        out = npg.func.vmap(f, in_dims=dims)(*map(npg.tensor, arrays))
        gs = npg.func.vmap(npg.func.grad(lambda a, i, s: npg.sin(f(a, i, s)).sum(), argnums=(0, 2)), in_dims=dims)(
            *map(npg.tensor, arrays))
    ref = tf.vmap(tfn, in_dims=dims)(*map(T, arrays))
    assert_close(out, ref.numpy())
    take = [(lambda b, a=a: a) if d is None else (lambda b, a=a, d=d: np.take(a, b, axis=d))
            for a, d in zip(arrays, dims)]
    for b in range(B):
        ga, gsrc = npg.func.grad(lambda a, i, s: npg.sin(f(a, i, s)).sum(), argnums=(0, 2))(
            *(npg.tensor(t(b)) for t in take))
        assert_close(gs[0][b], ga)
        assert_close(gs[1][b], gsrc)
