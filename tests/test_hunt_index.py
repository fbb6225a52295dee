"""Hunt for silent wrong answers in the gathers, scatters and indexed writes: values against PyTorch (torch's
names) or NumPy (NumPy's names), gradients against ``torch.autograd`` or central differences of NumPy's own
computation (so that a gradient is checked against the value npgrad computed, duplicates included).

The tests marked "found" failed before the fix they name; the others pin down behaviour at the edges the earlier
suites did not reach (repeated indices, ties, index dtypes, 0-d and empty operands, vmap). NumPy's writers and
selections: tests/test_hunt_index_numpy.py."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad.func import vmap
from tests.helpers import check_finite_difference, compare_with_torch, torch_or_stand_in

torch = torch_or_stand_in()

FLOATS = [np.float64, np.float32]


def _const(x):
    return npg.tensor(np.asarray(x), requires_grad=False)


# ----------------------------------------------------------------------- index_reduce: no negative index (found)
def test_index_reduce_refuses_a_negative_index_as_torch():
    # index_reduce read -1 as the last slot (index_add / index_copy / index_select refuse it, and so does torch)
    x, src = np.arange(6.).reshape(2, 3), np.arange(1., 7.).reshape(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch: index_reduce is in beta)
        with pytest.raises(IndexError):
            torch.index_reduce(torch.tensor(x), 1, torch.tensor([-1, 1, 0]), torch.tensor(src), "prod")
    for reduce in ("prod", "mean", "amax", "amin"):
        with pytest.raises(IndexError, match=r"index_reduce: index out of range in self: indices in \[-1, 1\]"):
            npg.index_reduce(_const(x), 1, np.array([-1, 1, 0]), _const(src), reduce)


# ---------------------------------------------------------- a refused in-place write leaves a clear error (found)
def test_masked_scatter_into_a_smaller_tensor_names_the_op_and_keeps_the_hooks():
    # the refused write raised AttributeError ('NoneType' object has no attribute 'update') from inplace.write:
    # the broadcast view of the snapshot made its _extra non-empty while the tensor's was None
    m = np.array([[True, False, True], [False, True, True]])
    x = _const(np.arange(3.))
    with pytest.raises(ValueError, match=r"masked_scatter_: in-place operation would change the tensor's shape "
                                         r"from \(3,\) to \(2, 3\)"):
        x.masked_scatter_(m, npg.tensor(np.arange(1., 9.)))
    np.testing.assert_array_equal(x.data, np.arange(3.))
    with pytest.raises(RuntimeError):   # (torch refuses it too)
        torch.arange(3.).masked_scatter_(torch.tensor(m), torch.arange(1., 9.))
    a = npg.tensor(np.arange(3.))
    h = a * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(np.array(g)))
    with pytest.raises(ValueError, match="masked_scatter_"):
        h.masked_scatter_(m, npg.tensor(np.arange(1., 9.)))
    (h * _const([1., 2., 3.])).sum().backward()
    np.testing.assert_array_equal(seen[0], [1., 2., 3.])   # the hook is still on h
    np.testing.assert_array_equal(a.grad, [2., 4., 6.])


# ------------------------------------------------------ 0-d and empty index / src, as torch (found: they raised)
_ZERO_D = [  # (input shape, dim, index shape, src shape)
    ((), 0, (), ()), ((), -1, (1,), (1,)), ((), 0, (1,), ()), ((4,), 0, (), ()), ((4,), -1, (), (1,)),
    ((4,), 0, (1,), ()),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("xs,dim,ish,ss", _ZERO_D)
@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add", "amax", "sum"])
def test_zero_d_input_index_or_src_count_as_one_element_as_torch(op, xs, dim, ish, ss, dtype):
    # torch reads a 0-d input, index or src as 1-d of size 1; scatter_add of three 0-d tensors raised a bare
    # "tuple index out of range", and a 1-d input with a 0-d index was refused
    rng = np.random.default_rng(3)
    x, s = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ss).astype(dtype)
    idx = np.full(ish, 2 if xs == (4,) else 0)
    ti = torch.tensor(idx)
    if op == "gather":
        compare_with_torch(lambda a: npg.gather(a, dim, idx), lambda a: torch.gather(a, dim, ti), [x], what=op)
    elif ish == () and ss != ():   # torch's backward fails here (a 0-d src gradient for a 1-d src): its values,
        def f(a, b):               # and the gradients by central differences
            return getattr(npg, op)(a, dim, idx, b) if "scatter" in op else npg.scatter_reduce(a, dim, idx, b, op)

        def tf(a, b):
            return getattr(torch, op)(a, dim, ti, b) if "scatter" in op else torch.scatter_reduce(a, dim, ti, b, op)
        np.testing.assert_array_equal(f(_const(x), _const(s)).data, tf(torch.tensor(x), torch.tensor(s)).numpy())
        check_finite_difference(f, [x, s], what=op)
    elif op in ("scatter", "scatter_add"):
        compare_with_torch(lambda a, b: getattr(npg, op)(a, dim, idx, b),
                           lambda a, b: getattr(torch, op)(a, dim, ti, b), [x, s], what=op)
    else:
        compare_with_torch(lambda a, b: npg.scatter_reduce(a, dim, idx, b, op),
                           lambda a, b: torch.scatter_reduce(a, dim, ti, b, op), [x, s], what=op)


@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add", "scatter_value", "scatter_reduce"])
@pytest.mark.parametrize("ish", [(3, 0), (0, 7), (0,), (0, 0, 0)])
def test_an_empty_index_skips_the_shape_checks_as_torch(op, ish):
    # torch returns at once for an empty index (the input copied, or an empty gather of the index's shape), any
    # rank or size; npgrad refused (3, 0) for a (2, 3) input
    x, s = np.arange(6.).reshape(2, 3), np.arange(1., 6.)
    idx = np.zeros(ish, np.int64)
    ti = torch.tensor(idx)
    calls = {"gather": (lambda a, b: npg.gather(a, 1, idx), lambda a, b: torch.gather(a, 1, ti)),
             "scatter": (lambda a, b: npg.scatter(a, 1, idx, b), lambda a, b: torch.scatter(a, 1, ti, b)),
             "scatter_add": (lambda a, b: npg.scatter_add(a, 1, idx, b), lambda a, b: torch.scatter_add(a, 1, ti, b)),
             "scatter_value": (lambda a, b: npg.scatter(a, 1, idx, value=2.0),
                               lambda a, b: torch.scatter(a, 1, ti, value=2.0)),
             "scatter_reduce": (lambda a, b: npg.scatter_reduce(a, 1, idx, b, "amax"),
                                lambda a, b: torch.scatter_reduce(a, 1, ti, b, "amax"))}
    fn, tfn = calls[op]
    a, b = npg.tensor(x), npg.tensor(s)
    out, tout = fn(a, b), tfn(torch.tensor(x), torch.tensor(s))
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(out.data, tout.numpy())
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out * _const(w)).sum().backward()
    np.testing.assert_array_equal(a.grad, np.zeros(x.shape) if op == "gather" else w)
    if op in ("scatter", "scatter_add", "scatter_reduce"):
        np.testing.assert_array_equal(b.grad, np.zeros(s.shape))   # none of src is read
    with pytest.raises(np.exceptions.AxisError, match="gather"):   # the dim is still checked (torch: IndexError)
        npg.gather(_const(x), 2, idx)
    with pytest.raises(IndexError):
        torch.gather(torch.tensor(x), 2, ti)


# ---------------------------------------------------------------- index dtypes: int32 / int64 only, as torch
_INDEX_OPS = {
    "gather": (lambda m, x, i: m.gather(x, 1, i.reshape(1, -1)), None),
    "scatter": (lambda m, x, i: m.scatter(x, 1, i.reshape(1, -1), x[:1, :2] * 1), None),
    "scatter_add": (lambda m, x, i: m.scatter_add(x, 1, i.reshape(1, -1), x[:1, :2] * 1), None),
    "scatter_reduce": (lambda m, x, i: m.scatter_reduce(x, 1, i.reshape(1, -1), x[:1, :2] * 1, "amin"), None),
    "index_select": (lambda m, x, i: m.index_select(x, 1, i), None),
    "index_add": (lambda m, x, i: m.index_add(x, 1, i, x[:, :2] * 1), None),
    "index_reduce": (lambda m, x, i: m.index_reduce(x, 1, i, x[:, :2] * 1, "amax"), None),
    "index_copy": (lambda m, x, i: m.index_copy(x, 1, i, x[:, :2] * 1), "int64"),
    "index_fill": (lambda m, x, i: m.index_fill(x, 1, i, 2.0), "int64"),
}


@pytest.mark.parametrize("op", list(_INDEX_OPS))
@pytest.mark.parametrize("dt", ["int32", "int64", "uint8", "int16", "bool", "uint64"])
def test_index_dtypes_as_torch(op, dt):
    # a uint8 / int16 / uint64 index was read as positions where torch refuses it (a uint8 index is a mask in
    # torch's own indexing); the error named int64 alone. (torch's index_copy / index_fill take int64 only:
    # npgrad takes int32 there too.)
    fn, only = _INDEX_OPS[op]
    x = np.arange(1., 7.).reshape(2, 3)
    idx = np.array([1, 0]).astype(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch: index_reduce is in beta)
        if dt in ("int32", "int64"):
            out = fn(npg, _const(x), idx)
            if only is None or dt == only:
                np.testing.assert_array_equal(out.data, fn(torch, torch.tensor(x), torch.tensor(idx)).numpy())
            else:
                with pytest.raises((RuntimeError, IndexError)):
                    fn(torch, torch.tensor(x), torch.tensor(idx))
            return
        with pytest.raises((RuntimeError, TypeError), match=f"{op}.*(int32/int64|int32 / int64).*{dt}"):
            fn(npg, _const(x), idx)
        if dt != "uint64":   # (torch has no uint64 index_* kernels to ask)
            with pytest.raises((RuntimeError, IndexError)):
                fn(torch, torch.tensor(x), torch.tensor(idx))


# ------------------------------------------------------------------------------ repeated indices, against torch
@pytest.mark.parametrize("dtype", FLOATS)
def test_repeated_indices_accumulate_in_values_and_gradients_of_self_and_src(dtype):
    rng = np.random.default_rng(0)
    x, src = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    i = np.array([[0, 0, 0, 3], [2, 2, 1, 2], [1, 1, 1, 1]])
    compare_with_torch(lambda a, s: npg.scatter_add(a, 1, i, s),
                       lambda a, s: torch.scatter_add(a, 1, torch.tensor(i), s), [x, src], what="scatter_add")
    compare_with_torch(lambda a, s: npg.scatter_add(a, -2, i % 3, s),
                       lambda a, s: torch.scatter_add(a, -2, torch.tensor(i % 3), s), [x, src],
                       what="scatter_add dim -2")
    j = np.array([3, 3, 0, 3])
    for alpha in (1, -2.5):
        compare_with_torch(lambda a, s: npg.index_add(a, 1, j, s, alpha=alpha),
                           lambda a, s: torch.index_add(a, 1, torch.tensor(j), s, alpha=alpha), [x, src],
                           what="index_add")
    keys = (np.array([0, 2, 0, 0]), np.array([1, 3, 1, -3]))
    compare_with_torch(lambda a, s: npg.index_put(a, keys, s, accumulate=True),
                       lambda a, s: torch.index_put(a, tuple(map(torch.tensor, keys)), s, accumulate=True),
                       [x, src[0]], what="index_put accumulate")
    flat = np.array([[1, -11], [1, 5]])
    compare_with_torch(lambda a, s: (a * 1).put_(flat, s, accumulate=True),
                       lambda a, s: (a * 1).put_(torch.tensor(flat), s, accumulate=True), [x, src[:2, :2]],
                       what="put_ accumulate")


def test_index_smaller_than_src_reads_only_its_part():
    # torch allows index.size(d) < src.size(d) (its backward then fails on the src gradient's shape): the value
    # is torch's, and src's gradient is the gradient of the part read, zeros elsewhere
    rng = np.random.default_rng(1)
    x, src = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    i = np.array([[2, 2], [0, 1]])
    for op in ("scatter_add", "sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            if op == "scatter_add" and not include_self:
                continue
            f = (lambda a, s: npg.scatter_add(a, 1, i, s)) if op == "scatter_add" else \
                (lambda a, s: npg.scatter_reduce(a, 1, i, s, op, include_self=include_self))
            tf = (lambda a, s: torch.scatter_add(a, 1, torch.tensor(i), s)) if op == "scatter_add" else \
                (lambda a, s: torch.scatter_reduce(a, 1, torch.tensor(i), s, op, include_self=include_self))
            a, s = npg.tensor(x), npg.tensor(src)
            out = f(a, s)
            ta, ts = torch.tensor(x, requires_grad=True), torch.tensor(src[:2, :2].copy(), requires_grad=True)
            tout = tf(ta, ts)
            np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
            w = rng.standard_normal(out.shape)
            (out * _const(w)).sum().backward()
            (tout * torch.tensor(w)).sum().backward()
            np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-15)
            expected = np.zeros(src.shape)
            expected[:2, :2] = ts.grad.numpy()
            np.testing.assert_allclose(s.grad, expected, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- scatter_reduce / index_reduce modes and ties
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_every_mode_with_ties_and_an_untouched_position(reduce, include_self, dtype):
    # ties among the sources and (with include_self) with the input: the gradient is split evenly among them, as
    # torch's; position (0, 2) receives nothing (mean with include_self=False keeps the input there, grad 1)
    x = np.array([[1., 5., 3.], [2., 2., 7.]], dtype)
    src = np.array([[5., 5., 1., 3.], [2., 9., 2., -2.]], dtype)
    if not include_self:   # (npgrad leaves an input equal to the result out of a tie it takes no part in; torch's
        x = x + 0.5        # backward counts it: see npgrad/ops/scatter_reduce.py)
    i = np.array([[1, 1, 0, 0], [0, 2, 0, 1]])
    compare_with_torch(lambda a, s: npg.scatter_reduce(a, 1, i, s, reduce, include_self=include_self),
                       lambda a, s: torch.scatter_reduce(a, 1, torch.tensor(i), s, reduce, include_self=include_self),
                       [x, src], what=f"scatter_reduce {reduce}")
    j = np.array([1, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch: index_reduce is in beta)
        if reduce != "sum":
            compare_with_torch(lambda a, s: npg.index_reduce(a, 1, j, s, reduce, include_self=include_self),
                               lambda a, s: torch.index_reduce(a, 1, torch.tensor(j), s, reduce,
                                                               include_self=include_self),
                               [x, src], what=f"index_reduce {reduce}")


@pytest.mark.parametrize("dtype", FLOATS)
def test_select_slice_diagonal_scatter_gradients_as_torch(dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(dtype)
    for dim, index in ((0, 1), (1, -1), (-1, 2)):
        sh = list(x.shape)
        del sh[dim]
        compare_with_torch(lambda a, s: npg.select_scatter(a, s, dim, index),
                           lambda a, s: torch.select_scatter(a, s, dim, index), [x, np.ones(sh, dtype)])
    for dim, start, end, step in ((2, 0, 4, 2), (-1, 1, 10, 2), (2, -3, -1, 1), (1, -10, 2, 1), (2, 3, 1, 1)):
        sl = [slice(None)] * 3
        sl[dim] = slice(start, end, step)
        compare_with_torch(lambda a, s: npg.slice_scatter(a, s, dim, start, end, step),
                           lambda a, s: torch.slice_scatter(a, s, dim, start, end, step),
                           [x, np.ones(x[tuple(sl)].shape, dtype)])
    for off, d1, d2 in ((1, 1, 2), (-1, 2, 0), (2, -1, -2), (5, 1, 2)):
        compare_with_torch(lambda a, s: npg.diagonal_scatter(a, s, off, d1, d2),
                           lambda a, s: torch.diagonal_scatter(a, s, off, d1, d2),
                           [x, np.ones(np.diagonal(x, off, d1, d2).shape, dtype)])


# ------------------------------------------------------------------------------------- vmap against a Python loop
def _vmap_vs_loop(f, args, dims):
    args = [a if d == 0 else a[0] for a, d in zip(args, dims)]
    wrap = [(lambda a: npg.tensor(a)) if a.dtype.kind == "f" else (lambda a: a) for a in args]
    out = vmap(f, in_dims=dims)(*[w(a) for w, a in zip(wrap, args)])
    n = next(a.shape[0] for a, d in zip(args, dims) if d == 0)
    ref = np.stack([f(*[w(a[b] if d == 0 else a) for w, a, d in zip(wrap, args, dims)]).data for b in range(n)])
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dims", [(0, 0, 0), (None, 0, 0), (0, None, 0), (0, 0, None), (None, 0, None)])
def test_vmap_of_gathers_and_scatters_with_batched_index_or_src(dims):
    rng = np.random.default_rng(0)
    B = 3
    X, I, S = rng.standard_normal((B, 2, 4)), rng.integers(0, 4, (B, 2, 3)), rng.standard_normal((B, 2, 3))
    J, T = rng.integers(0, 2, (B, 5)), rng.standard_normal((B, 5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _vmap_vs_loop(lambda x, i, s: npg.gather(x, 1, i) * s, [X, I, S], dims)
        _vmap_vs_loop(lambda x, i, s: npg.scatter_add(x, 1, i, s), [X, I, S], dims)
        _vmap_vs_loop(lambda x, i, s: npg.scatter_add(x, -2, i % 2, s), [X, I, S], dims)
        _vmap_vs_loop(lambda x, i, s: npg.scatter_add(x, 1, i[:1, :2], s), [X, I, S], dims)   # index smaller
        _vmap_vs_loop(lambda x, i, s: npg.scatter_reduce(x, 1, i, s, "amax", include_self=False), [X, I, S], dims)
        _vmap_vs_loop(lambda x, j, t: npg.index_add(x, 0, j, t, alpha=2.0), [X, J, T], dims)


@pytest.mark.parametrize("dims", [(0, 0, 0), (None, 0, 0), (0, None, 0), (0, 0, None)])
@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add", "scatter_reduce"])
def test_vmap_with_zero_d_samples(op, dims):
    # found: a 1-d sample with a 0-d index (torch's 1-element index) was lifted to a (B, n) input and a (B,)
    # index, refused for their ranks
    rng = np.random.default_rng(1)
    X, I, S = rng.standard_normal((3, 4)), rng.integers(0, 4, (3,)), rng.standard_normal((3,))
    f = {"gather": lambda x, i, s: npg.gather(x, 0, i) * s,
         "scatter": lambda x, i, s: npg.scatter(x, 0, i, s),
         "scatter_add": lambda x, i, s: npg.scatter_add(x, 0, i, s),
         "scatter_reduce": lambda x, i, s: npg.scatter_reduce(x, 0, i, s, "amin")}[op]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _vmap_vs_loop(f, [X, I, S], dims)
