"""PyTorch's remaining Tensor methods and top-level names against PyTorch: the math methods (``x.add(y,
alpha=)``, ``x.sin()``, ``x.lerp(end, w)``, ``x.addcmul(a, b, value=)``...), tensor facts and constructors
(``new_zeros``, ``stride``, ``type``, ``device``, ``detach_``), the top-level functions (``npg.softmax``,
``npg.clamp``, ``npg.addmm``...), ``from_numpy`` sharing memory, and the random draws (``multinomial``,
``bernoulli``, ``randperm``) under vmap's randomness. Values, gradients in float32 and float64, dtypes, errors;
``vmap`` / ``jvp`` of the composed names."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def pos(*shape, seed=0, dtype=np.float64):
    return (np.random.default_rng(seed).uniform(0.5, 2.0, shape)).astype(dtype)


# --------------------------------------------------------------------------------- math methods
UNARY = ["neg", "sin", "cos", "tan", "square", "expm1", "erf", "sign", "floor", "ceil"]
UNARY_POS = ["reciprocal", "log1p", "log2", "log10", "rsqrt"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY + UNARY_POS)
def test_unary_methods(name, dtype):
    a = (pos if name in UNARY_POS else rnd)(3, 4, dtype=dtype)
    compare_with_torch(lambda x: getattr(x, name)(), lambda t: getattr(t, name)(), [a], what=f"x.{name}()")


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_methods(dtype):
    a, b = rnd(3, 4, dtype=dtype), pos(4, seed=1, dtype=dtype)
    for name, kw in (("add", {}), ("add", {"alpha": 2.5}), ("sub", {}), ("sub", {"alpha": -0.5}), ("mul", {}),
                     ("div", {}), ("fmod", {}), ("remainder", {})):
        compare_with_torch(lambda x, y: getattr(x, name)(y, **kw), lambda t, u: getattr(t, name)(u, **kw), [a, b],
                           what=f"x.{name}(y, **{kw})")
    for mode in ("trunc", "floor"):  # (no gradient through the rounding: PyTorch's is zero)
        x, t = npg.tensor(a * 3), torch.tensor(a * 3)
        got, exp = x.div(npg.tensor(b), rounding_mode=mode), t.div(torch.tensor(b), rounding_mode=mode)
        assert got.dtype == dtype
        assert_close(got, exp.numpy())
    x = npg.tensor(a)
    assert x.add(2).dtype == dtype and x.mul(2.0).dtype == dtype  # a Python number keeps float32
    with pytest.raises(ValueError, match="rounding_mode"):
        x.div(2, rounding_mode="round")


@pytest.mark.parametrize("dtype", DTYPES)
def test_lerp_addcmul_addcdiv(dtype):
    a, b, w = rnd(3, 4, dtype=dtype), rnd(3, 4, seed=1, dtype=dtype), pos(4, seed=2, dtype=dtype) / 2
    compare_with_torch(lambda x, y: x.lerp(y, 0.3), lambda t, u: t.lerp(u, 0.3), [a, b], what="lerp scalar")
    compare_with_torch(lambda x, y, z: x.lerp(y, z), lambda t, u, v: t.lerp(u, v), [a, b, w], what="lerp tensor")
    compare_with_torch(lambda x, y, z: npg.lerp(x, y, z), lambda t, u, v: torch.lerp(t, u, v), [a, b, w])
    c = pos(3, 1, seed=3, dtype=dtype)
    compare_with_torch(lambda x, y, z: x.addcmul(y, z, value=0.5), lambda t, u, v: t.addcmul(u, v, value=0.5),
                       [a, b, c], what="addcmul")
    compare_with_torch(lambda x, y, z: x.addcdiv(y, z, value=-2), lambda t, u, v: t.addcdiv(u, v, value=-2),
                       [a, b, c], what="addcdiv")
    compare_with_torch(lambda x, y, z: npg.addcmul(x, y, z), lambda t, u, v: torch.addcmul(t, u, v), [a, b, c])
    compare_with_torch(lambda x, y, z: npg.addcdiv(x, y, z, value=3), lambda t, u, v: torch.addcdiv(t, u, v, value=3),
                       [a, b, c])
    compare_with_torch(lambda x: npg.rsqrt(x), lambda t: torch.rsqrt(t), [pos(5, dtype=dtype)])
    with pytest.raises(ValueError, match="addcmul.*(3, 4).*(5,)"):
        npg.addcmul(npg.tensor(a), npg.tensor(b), npg.tensor(rnd(5)))


def test_where_isnan_logical_not_count_nonzero():
    a, b = rnd(3, 4), rnd(4, seed=1)
    a[0, 1] = np.nan
    cond = a > 0
    compare_with_torch(lambda x, y: x.where(cond, y), lambda t, u: t.where(torch.tensor(cond), u),
                       [np.nan_to_num(a), b], what="x.where(cond, y)")
    x, t = npg.tensor(a), torch.tensor(a)
    assert np.array_equal(x.isnan().data, t.isnan().numpy()) and x.isnan().dtype == np.bool_
    assert np.array_equal((x > 0).logical_not().data, (t > 0).logical_not().numpy())
    i = np.array([[0, 1, 2], [0, 0, 3]])
    for kw in ({}, {"dim": 1}, {"dim": 0}, {"dim": -1}):
        got, exp = npg.tensor(i).count_nonzero(**kw), torch.tensor(i).count_nonzero(**kw)
        assert np.array_equal(got.data, exp.numpy()) and got.shape == tuple(exp.shape), kw


def test_math_methods_under_vmap_and_jvp():
    a, b = rnd(2, 3), rnd(2, 3, seed=1)
    f = lambda x, y: x.lerp(y, 0.25).addcmul(x, y, value=2).add(y, alpha=3).rsqrt().sin()  # noqa: E731
    g = lambda x, y: npg.sum(f(npg.abs(x) + 1, npg.abs(y) + 1))  # noqa: E731
    ft = lambda x, y: (x.abs() + 1).lerp(y.abs() + 1, 0.25).addcmul(x.abs() + 1, y.abs() + 1, value=2).add(  # noqa
        y.abs() + 1, alpha=3).rsqrt().sin().sum()
    got = npg.func.vmap(g)(npg.tensor(a), npg.tensor(b))
    assert_close(got, torch.func.vmap(ft)(torch.tensor(a), torch.tensor(b)).numpy())
    v = rnd(2, 3, seed=2)
    _, tang = npg.func.jvp(lambda x: g(x, npg.tensor(b)), (npg.tensor(a),), (npg.tensor(v),))
    _, ttang = torch.func.jvp(lambda x: ft(x, torch.tensor(b)), (torch.tensor(a),), (torch.tensor(v),))
    assert_close(tang, ttang.numpy())


def test_div_rounding_of_integers():
    a, b = np.array([7, -7, 7, -7, 0]), np.array([2, 2, -2, -2, 3])
    for mode in ("trunc", "floor"):
        got, exp = npg.tensor(a).div(b, rounding_mode=mode), torch.tensor(a).div(torch.tensor(b), rounding_mode=mode)
        assert got.dtype == np.int64 and np.array_equal(got.data, exp.numpy()), mode
    assert_close(npg.tensor(a).div(b), torch.tensor(a).div(torch.tensor(b)).numpy())  # true division


@pytest.mark.parametrize("dtype", DTYPES)
def test_addmm_baddbmm(dtype):
    m1, m2, inp = rnd(3, 4, dtype=dtype), rnd(4, 5, seed=1, dtype=dtype), rnd(5, seed=2, dtype=dtype)
    for kw in ({}, {"beta": 0.5, "alpha": -2.0}, {"beta": 0}):
        compare_with_torch(lambda i, a, b: npg.addmm(i, a, b, **kw), lambda i, a, b: torch.addmm(i, a, b, **kw),
                           [inp, m1, m2], what=f"addmm {kw}")
        compare_with_torch(lambda i, a, b: i.addmm(a, b, **kw), lambda i, a, b: i.addmm(a, b, **kw),
                           [rnd(3, 5, dtype=dtype), m1, m2], what=f"x.addmm {kw}")
    b1, b2 = rnd(2, 3, 4, dtype=dtype), rnd(2, 4, 5, seed=1, dtype=dtype)
    for kw in ({}, {"beta": 2.0, "alpha": 0.5}):
        compare_with_torch(lambda i, a, b: npg.baddbmm(i, a, b, **kw), lambda i, a, b: torch.baddbmm(i, a, b, **kw),
                           [rnd(3, 1, dtype=dtype), b1, b2], what=f"baddbmm {kw}")
    nan_in = np.full((3, 5), np.nan, dtype)  # beta=0: the input's values are ignored, as PyTorch's
    assert_close(npg.addmm(npg.tensor(nan_in), npg.tensor(m1), npg.tensor(m2), beta=0),
                 torch.addmm(torch.tensor(nan_in), torch.tensor(m1), torch.tensor(m2), beta=0).numpy())
    with pytest.raises(RuntimeError, match=r"addmm.*\(3, 4\) and \(5, 4\)"):
        npg.addmm(npg.tensor(inp), npg.tensor(m1), npg.tensor(rnd(5, 4)))
    with pytest.raises(RuntimeError, match=r"addmm.*\(4,\) does not broadcast"):
        npg.addmm(npg.tensor(rnd(4)), npg.tensor(m1), npg.tensor(m2))
    with pytest.raises(RuntimeError, match=r"baddbmm.*\(2, 3, 4\) and \(3, 4, 5\)"):
        npg.baddbmm(npg.tensor(inp), npg.tensor(b1), npg.tensor(rnd(3, 4, 5)))
    i, a = rnd(2, 5, dtype=dtype), rnd(2, 3, 4, seed=3, dtype=dtype)
    got = npg.func.vmap(lambda i, a: npg.addmm(i, a, npg.tensor(m2), beta=0.5))(npg.tensor(i), npg.tensor(a))
    exp = torch.func.vmap(lambda i, a: torch.addmm(i, a, torch.tensor(m2), beta=0.5))(torch.tensor(i), torch.tensor(a))
    assert got.dtype == dtype
    assert_close(got, exp.numpy())


# --------------------------------------------------------------------------------- facts and new_* constructors
DTYPE_PAIRS = [(np.float32, torch.float32), (np.float64, torch.float64), (np.float16, torch.float16),
               (np.int64, torch.int64), (np.int32, torch.int32), (np.int16, torch.int16), (np.int8, torch.int8),
               (np.uint8, torch.uint8), (np.bool_, torch.bool), (np.complex64, torch.complex64),
               (np.complex128, torch.complex128)]


@pytest.mark.parametrize("nd,td", DTYPE_PAIRS, ids=[str(p[1]) for p in DTYPE_PAIRS])
def test_type_element_size_is_floating_point(nd, td):
    x, t = npg.tensor(np.zeros((2, 3), nd), requires_grad=False), torch.zeros(2, 3, dtype=td)
    assert x.type() == t.type()
    assert x.element_size() == t.element_size()
    assert x.is_floating_point() == t.is_floating_point()
    assert x.type(t.type()).dtype == nd and x.type(nd) is x  # the type name round-trips; the same dtype: itself


def test_type_cast_is_differentiable():
    a = rnd(3)
    compare_with_torch(lambda x: x.type(np.float32) * 2, lambda t: t.type(torch.float32) * 2, [a])
    compare_with_torch(lambda x: x.type("torch.FloatTensor") * 2, lambda t: t.type("torch.FloatTensor") * 2, [a])
    with pytest.raises(ValueError, match="invalid type"):
        npg.tensor(a).type("foo")


def test_stride_and_is_contiguous():
    a = np.zeros((3, 4, 5))
    for f in (lambda x: x, lambda x: x.permute(2, 0, 1), lambda x: x[:, ::2], lambda x: x[1], lambda x: x[0, 0, 0],
              lambda x: x.expand(2, 3, 4, 5), lambda x: x[:0]):
        x, t = f(npg.tensor(a, requires_grad=False)), f(torch.tensor(a))
        assert x.stride() == t.stride() and x.is_contiguous() == t.is_contiguous(), t.shape
        for d in range(-t.dim(), t.dim()):
            assert x.stride(d) == t.stride(d)
    x = npg.tensor(a)
    with pytest.raises(IndexError, match=r"stride.*\[-3, 2\], but got 3"):
        x.stride(3)
    assert npg.func.vmap(lambda r: npg.tensor(r.stride()))(npg.tensor(a)).data.tolist() == [[5, 1]] * 3


def test_device_marker():
    x, t = npg.randn(3), torch.randn(3)
    assert x.device.type == t.device.type == "cpu" and x.device.index is None and str(x.device) == str(t.device)
    assert x.device == "cpu" == np.zeros(3).device and x.device == t.device and x.device == npg.zeros(2).device
    assert x.to(x.device) is x and x.to(t.device) is x and repr(x.device) == repr(t.device)
    with pytest.raises(AttributeError):
        x.device = "cuda"


@pytest.mark.parametrize("dtype", DTYPES)
def test_new_constructors(dtype):
    base = npg.tensor(rnd(2, dtype=dtype))
    tb = torch.tensor(rnd(2, dtype=dtype))
    for name, args in (("new_zeros", ((2, 3),)), ("new_zeros", (2, 3)), ("new_ones", ([4],)), ("new_ones", ((),)),
                       ("new_full", ((2, 2), 3.5)), ("new_full", ([3], 2)), ("new_empty", ((0, 2),)),
                       ("new_tensor", ([1, 2, 3],)), ("new_tensor", (3,))):
        x, t = getattr(base, name)(*args), getattr(tb, name)(*args)
        assert x.shape == tuple(t.shape) and x.dtype == dtype and x.requires_grad is t.requires_grad is False, name
        if name != "new_empty":
            assert_close(x, t.numpy())
    for name, args in (("new_zeros", ((2,),)), ("new_full", ((2,), 7.9)), ("new_tensor", ([1.5, 2.5],))):
        x, t = getattr(base, name)(*args, dtype=np.int64), getattr(tb, name)(*args, dtype=torch.int64)
        assert x.dtype == np.int64 and np.array_equal(x.data, t.numpy()), name
        assert getattr(base, name)(*args, requires_grad=True).requires_grad
    src = npg.tensor(rnd(2, dtype=dtype))
    copy = base.new_tensor(src)
    copy.data[0] = 99  # a copy, cut from the graph
    assert src.data[0] != 99 and not copy.requires_grad


def test_detach_in_place():
    a, ta = npg.tensor(rnd(3)), torch.tensor(rnd(3), requires_grad=True)
    x, tx = a * 3, ta * 3
    c = rnd(3, seed=5)
    y, ty = x * c, tx * torch.tensor(c)  # (torch refuses a use that saved x: x * x; npgrad differentiates it)
    yy = x * x
    assert x.detach_() is x and tx.detach_() is tx
    assert (x.requires_grad, x.is_leaf, x.grad_fn) == (tx.requires_grad, tx.is_leaf, tx.grad_fn) == (False, True,
                                                                                                  None)
    z, tz = x * 5 + y, tx * 5 + ty  # a use after detach_ is cut; the use before still reaches a
    npg.sum(z + yy).backward()
    tz.sum().backward()
    assert_close(a.grad, ta.grad.numpy() + 18 * a.data)  # d/da sum((3a)^2) = 18 a
    b, tb = npg.tensor(rnd(3)), torch.tensor(rnd(3), requires_grad=True)  # a leaf: earlier uses get no gradient
    w, tw = b * 2, tb * 2
    b.detach_()
    tb.detach_()
    assert not b.requires_grad and not tb.requires_grad
    assert not w.requires_grad or w.sum().backward() is None
    assert b.grad is None and tb.grad is None
    c = npg.tensor(rnd(3, 4)) * 1
    with pytest.raises(RuntimeError, match="can't detach views in-place"):
        c[0].detach_()
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        (torch.tensor(rnd(3, 4), requires_grad=True) * 1)[0].detach_()
    f, e, c = npg.tensor(rnd(3)), npg.tensor(rnd(3, seed=1)), rnd(3, seed=2)
    d = f * 2  # written in place after detach_: the earlier use still reaches f, the write reaches e
    u = d * c
    d.detach_()
    d.mul_(e)
    npg.sum(u + d).backward()
    assert_close(f.grad, 2 * c)
    assert_close(e.grad, 2 * f.data)
    tf, te = torch.tensor(rnd(3), requires_grad=True), torch.tensor(rnd(3, seed=1), requires_grad=True)
    td = tf * 2
    tu = td * torch.tensor(c)
    td.detach_()
    td.mul_(te)
    (tu + td).sum().backward()
    assert_close(tf.grad.numpy(), 2 * c)
    assert_close(te.grad.numpy(), 2 * f.data)


def test_from_numpy_and_is_tensor():
    for arr in (np.arange(6.0).reshape(2, 3), np.arange(4, dtype=np.int32), np.array([True, False]),
                np.zeros((0, 2), np.float32), np.array(2.5)):
        x, t = npg.from_numpy(arr), torch.from_numpy(arr.copy())
        assert x.dtype == arr.dtype and x.shape == arr.shape and x.requires_grad == t.requires_grad == False  # noqa
        assert np.shares_memory(x.data, arr) or arr.size == 0
    arr = np.zeros(3)
    x = npg.from_numpy(arr)
    arr[0] = 5
    x.add_(1)
    assert arr.tolist() == [6, 1, 1] and x.data.tolist() == [6, 1, 1]  # writes go both ways, as torch's
    with pytest.raises(TypeError, match="expected np.ndarray"):
        npg.from_numpy([1, 2])
    with pytest.raises(TypeError, match="from_numpy.*object"):
        npg.from_numpy(np.array([None]))
    assert npg.is_tensor(x) and not npg.is_tensor(arr) and not npg.is_tensor(1.0)
    assert torch.is_tensor(torch.zeros(1)) and not torch.is_tensor(arr)


# --------------------------------------------------------------------------------- top-level functions
@pytest.mark.parametrize("dtype", DTYPES)
def test_top_level_softmax_clamp_chunk_comparisons(dtype):
    a, lo, hi = rnd(3, 4, dtype=dtype), rnd(3, 4, seed=1, dtype=dtype) - 0.5, rnd(4, seed=2, dtype=dtype) + 0.5
    for dim in (0, 1, -1):
        compare_with_torch(lambda x: npg.softmax(x, dim), lambda t: torch.softmax(t, dim), [a])
        compare_with_torch(lambda x: npg.log_softmax(x, dim=dim), lambda t: torch.log_softmax(t, dim=dim), [a])
    compare_with_torch(lambda x: npg.clamp(x, -0.5, 0.5), lambda t: torch.clamp(t, -0.5, 0.5), [a])
    compare_with_torch(lambda x: npg.clamp(x, max=0.2), lambda t: torch.clamp(t, max=0.2), [a])
    compare_with_torch(lambda x, m, n: npg.clamp(x, m, n), lambda t, m, n: torch.clamp(t, m, n), [a, lo, hi],
                       what="clamp with tensor bounds")
    compare_with_torch(lambda x, m: npg.clamp(x, min=m), lambda t, m: torch.clamp(t, min=m), [a, lo])
    with pytest.raises(RuntimeError, match="clamp.*min.*max"):
        npg.clamp(npg.tensor(a))
    for n, dim in ((2, 0), (3, 1), (5, -1)):
        got, exp = npg.chunk(npg.tensor(a), n, dim), torch.chunk(torch.tensor(a), n, dim)
        assert [g.shape for g in got] == [tuple(e.shape) for e in exp]
        compare_with_torch(lambda x: npg.concatenate([c * (i + 1) for i, c in enumerate(npg.chunk(x, n, dim))], dim),
                           lambda t: torch.cat([c * (i + 1) for i, c in enumerate(torch.chunk(t, n, dim))], dim), [a])
    b = np.round(a)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        got, exp = getattr(npg, name)(npg.tensor(b), 0.0), getattr(torch, name)(torch.tensor(b), 0.0)
        assert got.dtype == np.bool_ and np.array_equal(got.data, exp.numpy()), name
        got = getattr(npg, name)(npg.tensor(b), npg.tensor(b[0]))
        assert np.array_equal(got.data, getattr(torch, name)(torch.tensor(b), torch.tensor(b[0])).numpy()), name
    got = npg.func.vmap(lambda x: npg.softmax(npg.clamp(x, -1, 1), 0))(npg.tensor(a))
    assert_close(got, torch.func.vmap(lambda t: torch.softmax(torch.clamp(t, -1, 1), 0))(torch.tensor(a)).numpy())


# --------------------------------------------------------------------------------- random draws
def test_multinomial_with_replacement_frequencies():
    npg.manual_seed(0)
    p = np.array([0.0, 1.0, 3.0, 0.0, 4.0])  # unnormalised, zero weights at the ends and inside
    draws = npg.multinomial(npg.tensor(p), 40000, replacement=True)
    assert draws.dtype == np.int64 and draws.shape == (40000,)
    freq = np.bincount(draws.data, minlength=5) / 40000
    np.testing.assert_allclose(freq, p / p.sum(), atol=0.01)
    assert freq[0] == freq[3] == 0
    npg.manual_seed(3)
    first = npg.multinomial(npg.tensor(np.tile(p, (2, 1))), 7, True)
    npg.manual_seed(3)
    assert np.array_equal(first.data, npg.multinomial(npg.tensor(np.tile(p, (2, 1))), 7, True).data)
    assert first.shape == tuple(torch.multinomial(torch.tensor(np.tile(p, (2, 1))), 7, True).shape)
    x = npg.tensor(p.astype(np.float32))
    assert x.multinomial(3).shape == (3,)  # the method


def test_multinomial_without_replacement():
    npg.manual_seed(1)
    p = np.array([1.0, 2.0, 0.0, 5.0, 2.0])
    rows = npg.multinomial(npg.tensor(np.tile(p, (4000, 1))), 4)
    assert rows.shape == (4000, 4) and rows.dtype == np.int64
    r = rows.data
    assert all(len(set(row)) == 4 for row in r) and not (r == 2).any()  # distinct, never the zero weight
    np.testing.assert_allclose(np.bincount(r[:, 0], minlength=5) / 4000, p / p.sum(), atol=0.02)  # first draw ~ p
    for bad, kw, msg in ((np.array([1.0, -1.0]), {}, "probabilities"), (np.array([1.0, np.nan]), {}, "probabilit"),
                         (np.zeros(3), {"replacement": True}, "sum of probabilities"),
                         (np.array([1.0, 0.0, 0.0]), {}, "fewer non-zero"), (np.ones((2, 2, 2)), {}, "1 or 2 dim")):
        with pytest.raises(RuntimeError, match=msg):
            npg.multinomial(npg.tensor(bad), 2, **kw)
        if msg != "fewer non-zero":  # (torch's documented precondition, which it no longer checks: it draws a
            with pytest.raises(RuntimeError):  # zero weight)
                torch.multinomial(torch.tensor(bad), 2, **kw)
    with pytest.raises(RuntimeError, match="n_sample"):
        npg.multinomial(npg.tensor(p), 6)


def test_bernoulli_and_randperm():
    npg.manual_seed(2)
    for dtype in DTYPES:
        p = np.array([0.0, 0.25, 0.5, 0.9, 1.0], dtype)
        draws = npg.bernoulli(npg.tensor(np.tile(p, (20000, 1))))
        assert draws.dtype == dtype and draws.dtype == torch.bernoulli(torch.tensor(p)).numpy().dtype
        np.testing.assert_allclose(draws.data.mean(0), p, atol=0.015)
        assert set(np.unique(draws.data)) <= {0, 1} and not draws.requires_grad
    assert abs(npg.bernoulli(npg.zeros(20000), 0.3).data.mean() - 0.3) < 0.015
    assert npg.tensor(np.full(3, 1.0)).bernoulli().data.tolist() == [1, 1, 1]
    with pytest.raises(RuntimeError, match=r"bernoulli.*\[0, 1\].*1\.5"):
        npg.bernoulli(npg.tensor([0.5, 1.5]))
    for n in (0, 1, 7):
        perm = npg.randperm(n)
        assert perm.dtype == np.int64 and sorted(perm.data.tolist()) == list(range(n))
    assert npg.randperm(4, dtype=np.float32).dtype == np.float32
    with pytest.raises(RuntimeError, match="randperm"):
        npg.randperm(-1)


def test_random_draws_follow_vmap_randomness():
    p = npg.tensor(np.tile([1.0, 1.0, 1.0, 1.0], (6, 1)), requires_grad=False)
    f = lambda q: npg.multinomial(q, 4)  # noqa: E731
    with pytest.raises(RuntimeError, match="randomness"):
        npg.func.vmap(f)(p)
    different = npg.func.vmap(f, randomness="different")(p).data
    same = npg.func.vmap(f, randomness="same")(p).data
    assert len({tuple(r) for r in different}) > 1 and len({tuple(r) for r in same}) == 1
    assert all(sorted(r) == [0, 1, 2, 3] for r in different)
    perms = npg.func.vmap(lambda q: npg.randperm(5), randomness="different")(p).data
    assert perms.shape == (6, 5) and len({tuple(r) for r in perms}) > 1
    b = npg.func.vmap(lambda q: npg.bernoulli(q * 0.5), randomness="same")(p).data
    assert b.shape == (6, 4) and (b == b[0]).all()
    with pytest.raises(RuntimeError, match="randomness"):
        npg.func.vmap(lambda q: npg.bernoulli(q * 0.5))(p)


# --------------------------------------------------------------------------------- in-place forms
INPLACE = [("sin_", ()), ("cos_", ()), ("tan_", ()), ("reciprocal_", ()), ("sign_", ()), ("floor_", ()),
           ("ceil_", ()), ("square_", ()), ("log1p_", ()), ("expm1_", ()), ("log2_", ()), ("log10_", ()),
           ("erf_", ()), ("rsqrt_", ()), ("lerp_", ("end", 0.3)), ("addcmul_", ("end", "end")),
           ("addcdiv_", ("end", "end")), ("fmod_", (0.7,)), ("remainder_", (0.7,))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_forms(name, args, dtype):
    a, e = pos(3, 4, dtype=dtype), pos(4, seed=1, dtype=dtype)

    def run(x, *y):
        z = x * 1
        out = getattr(z, name)(*(y[0] if v == "end" else v for v in args))
        assert out is z
        return z
    arrays = [a, e] if "end" in args else [a]
    compare_with_torch(run, run, arrays, what=name)


def test_softmax_takes_numpy_axis_for_dim():
    """npg.softmax / log_softmax are torch's (dim=), and take scipy.special.softmax's axis= too; both is an error."""
    import scipy.special
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = npg.tensor(a)
    np.testing.assert_allclose(npg.softmax(x, axis=0).data, scipy.special.softmax(a, axis=0), rtol=1e-12)
    np.testing.assert_allclose(npg.log_softmax(x, axis=-1).data, scipy.special.log_softmax(a, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(npg.softmax(x, 1).data, torch.softmax(torch.tensor(a), 1).numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="both dim"):
        npg.softmax(x, dim=0, axis=0)


def test_addcdiv_refuses_only_two_integer_operands_and_stays_batched_under_vmap():
    """torch.addcdiv refuses integer / integer only (an int tensor1 over a float tensor2 is fine); the check
    must not call np.result_type on a batched tensor (a per-sample loop under vmap)."""
    import warnings
    from npgrad._vmap_rules import VmapFallbackWarning
    z, i, f = np.zeros(2), np.array([1, 2]), np.array([3.0, 4.0])
    for a, b in ((i, f), (f, i)):
        np.testing.assert_allclose(npg.addcdiv(npg.tensor(z), npg.tensor(a), npg.tensor(b)).data,
                                   torch.addcdiv(torch.tensor(z), torch.tensor(a), torch.tensor(b)).numpy())
    with pytest.raises(TypeError, match="addcdiv"):
        npg.addcdiv(npg.tensor(z), npg.tensor(i), npg.tensor(i))
    x = npg.tensor(np.random.default_rng(0).standard_normal((3, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", VmapFallbackWarning)
        out = npg.func.vmap(lambda t: npg.addcdiv(t, t, t + 3.0, value=0.5))(x)
    np.testing.assert_allclose(out.data, x.data + 0.5 * x.data / (x.data + 3.0))
