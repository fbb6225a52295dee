"""Top-level functions no other test exercised, against PyTorch (and NumPy, whose semantics npgrad follows
where the two differ): all, any, argmin, as_tensor, empty_like, full_like, isfinite, isinf,
logical_and / or / xor / not, permute, randint."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import compare_with_torch

SPECIAL = np.array([[0.0, -1.5, np.inf, 2.0], [np.nan, -np.inf, 0.0, 3.0], [1.0, 1.0, -0.0, np.nan]])


def _np(t):
    return np.asarray(t.data)


# ---------------------------------------------------------------------------------------- all / any
@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("a", [
    np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]]), np.ones((2, 3)), np.zeros((2, 3)), np.array([[True, False]]),
    np.array([[1, 0], [2, 3]]), np.array(0.0), np.array(2.0), np.zeros((0, 3)), np.array([np.nan, 0.0])],
    ids=["mixed", "ones", "zeros", "bool", "int", "0d-zero", "0d", "empty", "nan"])
def test_all_any_against_torch(name, a):
    fn, tfn = getattr(npg, name), getattr(torch, name)
    x, t = npg.tensor(a), torch.tensor(a)
    for axis in [None] + list(range(-a.ndim, a.ndim)):
        for keepdims in (False, True):
            out = fn(x, axis=axis, keepdims=keepdims)
            tout = tfn(t) if axis is None else tfn(t, dim=axis, keepdim=keepdims)
            if axis is None and keepdims:
                tout = tout.reshape((1,) * a.ndim)
            assert out.dtype == np.bool_ and not out.requires_grad
            np.testing.assert_array_equal(_np(out), tout.numpy(), err_msg=f"{name} axis={axis}")
    if a.ndim == 2:
        np.testing.assert_array_equal(_np(fn(x, axis=(0, 1))), tfn(t, dim=(0, 1)).numpy())
        assert _np(getattr(x, name)(axis=1)).tolist() == tfn(t, dim=1).tolist()  # the method


# ---------------------------------------------------------------------------------------- argmin
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_argmin_argmax_against_torch(dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(-3, 3, (4, 5, 3)).astype(dtype)  # many ties: both return the first extreme
    x, t = npg.tensor(a), torch.tensor(a)
    for name in ("argmin", "argmax"):
        fn, tfn = getattr(npg, name), getattr(torch, name)
        out = fn(x)
        assert out.dtype == np.int64 and out.shape == () and not out.requires_grad
        assert int(_np(out)) == int(tfn(t))
        for axis in (0, 1, 2, -1):
            for keepdims in (False, True):
                np.testing.assert_array_equal(_np(fn(x, axis=axis, keepdims=keepdims)),
                                              tfn(t, dim=axis, keepdim=keepdims).numpy())
        np.testing.assert_array_equal(_np(getattr(x, name)(axis=1)), tfn(t, dim=1).numpy())


def test_argmin_with_nan_and_inf_against_torch():
    for axis in (None, 0, 1):
        for name in ("argmin", "argmax"):
            out = getattr(npg, name)(npg.tensor(SPECIAL), axis=axis)
            tout = getattr(torch, name)(torch.tensor(SPECIAL), **({} if axis is None else {"dim": axis}))
            np.testing.assert_array_equal(_np(out), tout.numpy(), err_msg=f"{name} axis={axis}")


def test_argmin_bad_axis_and_empty_are_errors():
    with pytest.raises(ValueError, match="argmin"):
        npg.argmin(npg.zeros((2, 3)), axis=2)
    with pytest.raises(IndexError):
        torch.argmin(torch.zeros((2, 3)), dim=2)
    with pytest.raises(ValueError):
        npg.argmin(npg.zeros((0,)))
    with pytest.raises((RuntimeError, IndexError)):
        torch.argmin(torch.zeros((0,)))


# ---------------------------------------------------------------------------------------- as_tensor
def test_as_tensor_shares_memory_with_arrays_as_torch():
    a, ta = np.arange(3.0), np.arange(3.0)
    x, t = npg.as_tensor(a), torch.as_tensor(ta)
    a[0] = ta[0] = 9.0
    np.testing.assert_array_equal(_np(x), t.numpy())  # both see the change
    assert not x.requires_grad and not t.requires_grad
    y, u = npg.as_tensor(a, dtype=np.float32), torch.as_tensor(ta, dtype=torch.float32)  # a copy
    a[1] = ta[1] = -1.0
    np.testing.assert_array_equal(_np(y), u.numpy())
    assert y.dtype == np.float32
    z = npg.as_tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal(_np(z), torch.as_tensor([[1, 2], [3, 4]]).numpy())
    assert z.dtype == np.int64


def test_as_tensor_returns_the_same_tensor_as_torch():
    x = npg.tensor([1.0, 2.0])
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert (npg.as_tensor(x) is x) == (torch.as_tensor(t) is t) is True
    assert (npg.as_tensor(x, dtype=np.float64) is x) == (torch.as_tensor(t, dtype=torch.float64) is t) is True


def test_as_tensor_dtype_change_keeps_the_gradient_as_torch():
    x = npg.tensor([1.0, 2.0], dtype=np.float32)
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    y, u = npg.as_tensor(x, dtype=np.float64), torch.as_tensor(t, dtype=torch.float64)
    assert y.requires_grad == u.requires_grad is True
    npg.sum(y * y).backward()
    (u * u).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy())


# ---------------------------------------------------------------------------------------- _like constructors
@pytest.mark.parametrize("a", [np.ones((2, 3), np.float32), np.ones(4), np.arange(6).reshape(3, 2),
                               np.array(True), np.zeros((0, 2))], ids=["f32", "f64", "int", "bool-0d", "empty"])
def test_empty_like_and_full_like_against_torch(a):
    x, t = npg.tensor(a), torch.tensor(a)
    for fill in (2, 2.5, -1, True):
        out, tout = npg.full_like(x, fill), torch.full_like(t, fill)
        assert out.shape == tuple(tout.shape) and out.dtype == a.dtype
        np.testing.assert_array_equal(_np(out), tout.numpy())
    e = npg.empty_like(x)
    assert e.shape == a.shape and e.dtype == a.dtype
    for dtype, tdtype in ((np.float32, torch.float32), (np.int32, torch.int32)):
        out, tout = npg.full_like(x, 3, dtype=dtype), torch.full_like(t, 3, dtype=tdtype)
        assert out.dtype == dtype
        np.testing.assert_array_equal(_np(out), tout.numpy())
        assert npg.empty_like(x, dtype=dtype).dtype == dtype
    np.testing.assert_array_equal(_np(npg.full_like(a, 7)), np.full_like(a, 7))  # arrays too


def test_like_constructors_are_leaves_following_npgrad_s_rule():
    """As npgrad's other constructors (README): float tensors require grad unless told, others never."""
    x = npg.ones(3)
    for make in (lambda **kw: npg.full_like(x, 1.5, **kw), lambda **kw: npg.empty_like(x, **kw)):
        assert make().requires_grad and make().is_leaf and not make(requires_grad=False).requires_grad
        assert not make(dtype=np.int64).requires_grad
        with pytest.raises(TypeError):
            make(dtype=np.int64, requires_grad=True)


# ---------------------------------------------------------------------------------------- isfinite / isinf
@pytest.mark.parametrize("name", ["isfinite", "isinf", "isnan"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_isfinite_isinf_against_torch(name, dtype):
    a = SPECIAL.astype(dtype)
    out = getattr(npg, name)(npg.tensor(a))
    assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(_np(out), getattr(torch, name)(torch.tensor(a)).numpy())
    ints = np.arange(-2, 3)
    np.testing.assert_array_equal(_np(getattr(npg, name)(npg.tensor(ints))),
                                  getattr(torch, name)(torch.tensor(ints)).numpy())
    assert _np(getattr(npg, name)(npg.tensor(np.inf))) == bool(getattr(torch, name)(torch.tensor(np.inf)))


# ---------------------------------------------------------------------------------------- logical_*
@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("sa, sb", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((0, 2), (2,))])
def test_logical_binary_against_torch(name, sa, sb):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, sa) * rng.standard_normal(sa)      # floats, exactly zero in places
    b = rng.integers(-1, 2, sb)                               # ints
    for u, v in ((a, b), (b, a), (a > 0, b), (a, a)):
        out = getattr(npg, name)(npg.tensor(u), npg.tensor(v))
        tout = getattr(torch, name)(torch.tensor(u), torch.tensor(v))
        assert out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(_np(out), tout.numpy())
    out = getattr(npg, name)(npg.tensor(a), 0.0)  # a Python number on one side
    np.testing.assert_array_equal(_np(out), getattr(torch, name)(torch.tensor(a), torch.tensor(0.0)).numpy())


def test_logical_not_against_torch():
    for a in (SPECIAL, np.array([0, 3, -1]), np.array([True, False]), np.array(0.0)):
        out = npg.logical_not(npg.tensor(a))
        assert out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(_np(out), torch.logical_not(torch.tensor(a)).numpy())


# ---------------------------------------------------------------------------------------- permute
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, dims", [((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 0, -2)), ((2, 3), (1, 0)),
                                         ((5,), (0,)), ((), ()), ((2, 0, 3), (1, 2, 0)), ((1, 2, 3, 4), (3, 1, 0, 2))])
def test_permute_against_torch(dtype, shape, dims):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    compare_with_torch(lambda x: npg.permute(x, dims), lambda t: torch.permute(t, dims), [a], what=f"permute {dims}")
    if dims:  # torch's t.permute() takes no empty argument list
        compare_with_torch(lambda x: npg.permute(x, *dims), lambda t: t.permute(*dims), [a], what="permute(*dims)")
        compare_with_torch(lambda x: x.permute(*dims), lambda t: t.permute(*dims), [a], what="Tensor.permute")
    compare_with_torch(lambda x: x.permute(dims), lambda t: t.permute(dims), [a], what="Tensor.permute(tuple)")


@pytest.mark.parametrize("dims", [(0, 1), (0, 0, 1), (0, 1, 3), (0, 1, 2, 0)])
def test_permute_bad_dims_are_errors_as_torch(dims):
    with pytest.raises((RuntimeError, IndexError)):
        torch.ones(2, 3, 4).permute(dims)
    with pytest.raises(ValueError, match=r"axes|axis") as e:  # AxisError is a ValueError
        npg.permute(npg.ones(2, 3, 4), dims)
    assert "(2, 3, 4)" in str(e.value) or "dimension 3" in str(e.value)


# ---------------------------------------------------------------------------------------- randint
def test_randint_range_dtype_and_shape_as_torch():
    npg.random.seed(0)
    for args, size in [((5,), (1000,)), ((3, 7), (20, 50)), ((-4, 2), (4000,))]:
        out = npg.randint(*args, size=size)
        tout = torch.randint(*args, size)
        low, high = (0, args[0]) if len(args) == 1 else args
        assert out.shape == tuple(tout.shape) and out.dtype == np.int64 == np.dtype(str(tout.dtype)[6:])
        assert not out.requires_grad
        assert sorted(np.unique(_np(out))) == sorted(np.unique(tout.numpy())) == list(range(low, high))
    assert npg.randint(0, 3, size=(4,), dtype=np.int32).dtype == np.int32
    assert npg.randint(10).shape == ()


def test_randint_is_uniform_and_seeded():
    npg.random.seed(3)
    a = _np(npg.randint(0, 6, size=60_000))
    counts = np.bincount(a, minlength=6)
    chi2 = ((counts - 10_000) ** 2 / 10_000).sum()
    assert chi2 < 20.5  # the 0.999 quantile of chi-square with 5 degrees of freedom
    npg.random.seed(3)
    np.testing.assert_array_equal(_np(npg.randint(0, 6, size=60_000)), a)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(_np(npg.randint(0, 100, size=10, generator=g1)),
                                  _np(npg.randint(0, 100, size=10, generator=g2)))
