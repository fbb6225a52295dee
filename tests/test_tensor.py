"""The Tensor and its constructors: dtypes, requires_grad, interop with Python and NumPy, errors.

Oracles: NumPy itself (the same expression evaluated on the tensor's data gives the expected
value and dtype) and central differences in float64 for gradients.
"""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import assert_close


@pytest.fixture
def default_dtype():
    """Restore the default dtype whatever the test does to it."""
    prev = npg.get_default_dtype()
    yield
    npg.set_default_dtype(prev)


# ------------------------------------------------------------------------ constructors
SHAPED = {  # name -> (npgrad call, NumPy oracle for the value, or None when random)
    "zeros": (lambda **kw: npg.zeros(2, 3, **kw), lambda: np.zeros((2, 3))),
    "zeros_tuple": (lambda **kw: npg.zeros((2, 3), **kw), lambda: np.zeros((2, 3))),
    "ones": (lambda **kw: npg.ones(4, **kw), lambda: np.ones(4)),
    "ones_0d": (lambda **kw: npg.ones((), **kw), lambda: np.ones(())),
    "full": (lambda **kw: npg.full((2, 2), 1.5, **kw), lambda: np.full((2, 2), 1.5)),
    "zeros_like": (lambda **kw: npg.zeros_like(npg.ones(3, 1), **kw), lambda: np.zeros((3, 1))),
    "ones_like": (lambda **kw: npg.ones_like(np.zeros((2, 0)), **kw), lambda: np.ones((2, 0))),
    "empty": (lambda **kw: npg.empty(2, 5, **kw), None),
    "randn": (lambda **kw: npg.randn(3, 4, **kw), None),
    "rand": (lambda **kw: npg.rand((5,), **kw), None),
    "eye": (lambda **kw: npg.eye(3, **kw), lambda: np.eye(3)),
    "eye_rect": (lambda **kw: npg.eye(2, 4, k=1, **kw), lambda: np.eye(2, 4, k=1)),
    # (two values: NumPy's arange(dtype=bool) refuses longer results)
    "arange": (lambda **kw: npg.arange(0.0, 1.0, 0.5, **kw), lambda: np.arange(0.0, 1.0, 0.5)),
    "linspace": (lambda **kw: npg.linspace(-1, 1, 7, **kw), lambda: np.linspace(-1, 1, 7)),
    "tensor": (lambda **kw: npg.tensor([[1.0, 2.0]], **kw), lambda: np.array([[1.0, 2.0]])),
}


@pytest.mark.parametrize("name", SHAPED)
def test_constructor_defaults(name):
    make, oracle = SHAPED[name]
    t = make()
    assert isinstance(t, npg.Tensor) and isinstance(t.data, np.ndarray)
    assert t.dtype == np.float64 and t.requires_grad and t.grad is None and t.is_leaf
    if oracle is not None:
        np.testing.assert_array_equal(t.data, oracle())
        assert t.shape == oracle().shape


@pytest.mark.parametrize("name", SHAPED)
@pytest.mark.parametrize("dtype", ["float32", np.float64, np.dtype("float32")])
def test_constructor_dtype_and_requires_grad(name, dtype):
    make, oracle = SHAPED[name]
    t = make(dtype=dtype)
    assert t.dtype == np.dtype(dtype) and t.requires_grad
    if oracle is not None:
        np.testing.assert_array_equal(t.data, oracle().astype(dtype))
    t = make(dtype=dtype, requires_grad=False)
    assert t.dtype == np.dtype(dtype) and not t.requires_grad


@pytest.mark.parametrize("name", ["zeros", "ones", "full", "eye", "arange", "tensor", "zeros_like"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_constructors_never_require_grad(name, dtype):
    make, _ = SHAPED[name]
    t = make(dtype=dtype)
    assert t.dtype == np.dtype(dtype) and not t.requires_grad
    with pytest.raises((TypeError, RuntimeError), match="float"):
        make(dtype=dtype, requires_grad=True)


def test_integer_data_defaults():
    assert npg.arange(5).dtype.kind == "i" and not npg.arange(5).requires_grad
    np.testing.assert_array_equal(npg.arange(5).data, np.arange(5))
    assert npg.tensor([1, 2]).dtype.kind == "i" and not npg.tensor([1, 2]).requires_grad
    assert npg.tensor([True, False]).dtype == bool and not npg.tensor(True).requires_grad
    assert npg.full((2,), 3).dtype == np.full((2,), 3).dtype  # as NumPy: an int fill makes ints
    with pytest.raises((TypeError, RuntimeError)):
        npg.tensor([1, 2], requires_grad=True)
    with pytest.raises((TypeError, RuntimeError)):
        npg.arange(3).requires_grad_()


def test_tensor_from_various_sources():
    a = np.arange(6.0).reshape(2, 3)
    t = npg.tensor(a)
    assert not np.shares_memory(t.data, a)  # the data is copied
    np.testing.assert_array_equal(t.data, a)
    assert npg.tensor(np.float32(1.5)).dtype == np.float32  # a NumPy scalar keeps its dtype
    assert npg.tensor(1.5).dtype == np.float64 and npg.tensor(1.5).shape == ()
    assert npg.tensor(3).dtype.kind == "i"
    u = npg.tensor(t)
    assert u is not t and not np.shares_memory(u.data, t.data) and u.requires_grad
    assert npg.tensor(a, dtype="float32").dtype == np.float32
    assert npg.tensor(a, requires_grad=False).requires_grad is False
    assert npg.Tensor(a).requires_grad and npg.ndarray is npg.Tensor


def test_rand_and_randn_distribution_and_shapes():
    npg.random.seed(0)
    r = npg.rand(2000)
    assert r.shape == (2000,) and r.data.min() >= 0 and r.data.max() < 1
    n = npg.randn(4000)
    assert abs(n.data.mean()) < 0.1 and abs(n.data.std() - 1) < 0.1
    assert npg.randn().shape == () and npg.randn(2, 0).shape == (2, 0)
    assert npg.randn((2, 3)).shape == (2, 3)


def test_random_seed_reproducible():
    npg.random.seed(1234)
    a, b = npg.randn(3, 4), npg.rand(5)
    npg.random.seed(1234)
    c, d = npg.randn(3, 4), npg.rand(5)
    np.testing.assert_array_equal(a.data, c.data)
    np.testing.assert_array_equal(b.data, d.data)
    npg.random.seed(1235)
    assert not np.array_equal(npg.randn(3, 4).data, a.data)


def test_random_explicit_generator():
    x = npg.randn(3, generator=np.random.default_rng(7))
    y = npg.randn(3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(x.data, y.data)
    np.testing.assert_array_equal(x.data, np.random.default_rng(7).standard_normal(3))


def test_constructor_bad_arguments():
    with pytest.raises(ValueError, match="negative"):
        npg.zeros(-1, 2)
    for bad in ("U3", object, "datetime64[s]", "clongdouble"):
        with pytest.raises(TypeError, match="dtype"):
            npg.zeros(2, dtype=bad)
        with pytest.raises(TypeError, match="dtype"):
            npg.tensor([1, 2], dtype=bad)


# --------------------------------------------------------------------- default dtype
def test_default_dtype_is_float64():
    assert npg.get_default_dtype() == np.float64


def test_set_default_dtype(default_dtype):
    npg.set_default_dtype("float32")
    assert npg.get_default_dtype() == np.float32
    for t in (npg.randn(2), npg.rand(2), npg.zeros(2), npg.ones(2), npg.empty(2), npg.eye(2),
              npg.full((2,), 1.0), npg.arange(0.0, 1.0, 0.5), npg.linspace(0, 1, 3), npg.tensor([1.0, 2.0]),
              npg.tensor(0.5)):
        assert t.dtype == np.float32, t
    assert npg.tensor(np.ones(2)).dtype == np.float64  # an array keeps its own dtype
    assert npg.arange(3).dtype.kind == "i"
    assert npg.zeros(2, dtype="float64").dtype == np.float64
    npg.set_default_dtype(np.float64)
    assert npg.randn(2).dtype == np.float64


def test_set_default_dtype_refuses_non_float(default_dtype):
    for bad in ("int32", bool, "complex64"):
        with pytest.raises(TypeError):
            npg.set_default_dtype(bad)
    assert npg.get_default_dtype() == np.float64


# --------------------------------------------------------------- dtypes (NEP 50)
def test_python_float_does_not_upcast_float32():
    x = npg.randn(3, dtype="float32")
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3, x - 0.1, x ** 2.0, 2.0 ** x, 1 / x, -x, abs(x), npg.exp(x)):
        assert y.dtype == np.float32
    npg.sum(x * 2.5).backward()
    assert x.grad.dtype == np.float32


def test_float32_with_float64_gives_float64_and_float32_grad():
    x = npg.randn(3, dtype="float32")
    y = npg.randn(3)
    for z in (x + np.ones(3), x + y, x * np.float64(2)):
        assert z.dtype == np.float64
    npg.sum((x + np.ones(3)) * y).backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    assert_close(x.grad, y.data.astype(np.float32))
    assert_close(y.grad, x.data.astype(np.float64) + 1)


def test_int_tensor_with_float_tensor():
    i = npg.arange(3)
    x = npg.randn(3, dtype="float32")
    z = i * x
    assert z.dtype == (np.arange(3) * x.data).dtype
    npg.sum(z).backward()
    assert x.grad.dtype == np.float32 and i.grad is None
    assert_close(x.grad, np.arange(3, dtype=np.float32))
    assert (i + 0.5).dtype == np.float64 and not (i + 0.5).requires_grad


def test_grad_has_tensor_dtype_through_broadcast():
    x = npg.randn(1, 3, dtype="float32")
    y = npg.randn(4, 1)
    npg.sum(x * y).backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == (1, 3)
    assert y.grad.dtype == np.float64 and y.grad.shape == (4, 1)


# ------------------------------------------------------- interop with numbers and NumPy
def _pos(rng, dtype):
    return rng.uniform(0.5, 2.0, 3).astype(dtype)


INTEROP = {
    "2*x": lambda x: 2 * x, "x*2": lambda x: x * 2, "x*2.5": lambda x: x * 2.5,
    "1-x": lambda x: 1 - x, "x-1": lambda x: x - 1, "2+x": lambda x: 2 + x, "x+0.5": lambda x: x + 0.5,
    "1/x": lambda x: 1 / x, "x/2": lambda x: x / 2, "3.0/x": lambda x: 3.0 / x,
    "x**0.5": lambda x: x ** 0.5, "x**2": lambda x: x ** 2, "x**-1": lambda x: x ** -1,
    "2**x": lambda x: 2 ** x, "0.5**x": lambda x: 0.5 ** x,
    "ones-x": lambda x: np.ones(3) - x, "x-ones": lambda x: x - np.ones(3),
    "arange*x": lambda x: np.arange(1, 4) * x, "x/arange": lambda x: x / np.arange(1, 4),
    "ones32+x": lambda x: np.ones(3, np.float32) + x,
    "np64*x": lambda x: np.float64(3) * x, "x*np32": lambda x: x * np.float32(3),
    "np32-x": lambda x: np.float32(1) - x, "npint+x": lambda x: np.int64(2) + x,
    "x**arr": lambda x: x ** np.array([1.0, 2.0, 0.5]), "arr**x": lambda x: np.array([2.0, 3.0, 0.5]) ** x,
    "x%2": lambda x: x % 2, "5%x": lambda x: 5 % x, "-x": lambda x: -x, "+x": lambda x: +x,
    "np.exp(x)": lambda x: np.exp(x), "np.maximum(x,1)": lambda x: np.maximum(x, 1.0),
    "list+x": lambda x: [1.0, 2.0, 3.0] + x,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("expr", INTEROP)
def test_interop_value_and_gradient(expr, dtype):
    f = INTEROP[expr]
    a = _pos(np.random.default_rng(0), dtype)
    x = npg.tensor(a)
    out = f(x)
    with np.errstate(all="ignore"):
        expected = f(a.copy()) if expr != "list+x" else np.array([1.0, 2.0, 3.0]) + a  # NumPy: value and dtype
    assert isinstance(out, npg.Tensor), type(out)
    assert out.dtype == np.asarray(expected).dtype, (out.dtype, np.asarray(expected).dtype)
    assert_close(out, expected)
    npg.sum(out).backward()
    assert x.grad.dtype == x.dtype and x.grad.shape == x.shape
    eps = 1e-6  # elementwise, so one central difference with every element moved at once
    a64 = a.astype(np.float64)
    numeric = (np.asarray(f(a64 + eps), np.float64) - np.asarray(f(a64 - eps), np.float64)) / (2 * eps)
    assert_close(x.grad, numeric.astype(dtype), dtype=dtype, rtol=1e-4 if dtype == np.float64 else 1e-3,
                 atol=1e-6)


def test_inplace_array_ops_on_constants_are_tensors():
    x = npg.randn(3)
    a = np.ones(3)
    z = a * x
    assert isinstance(z, npg.Tensor) and z.requires_grad
    assert isinstance(np.float64(2.0) ** x, npg.Tensor)


# ------------------------------------------------------------------------ comparisons
@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_are_bool_tensors_without_grad(op):
    x = npg.tensor([1.0, 2.0, 3.0])
    y = npg.tensor([3.0, 2.0, 1.0])
    f = eval(f"lambda a, b: a {op} b")
    for a, b in [(x, y), (x, 2.0), (2.0, x), (x, np.array([2.0, 2.0, 2.0])), (np.float64(2.0), x)]:
        out = f(a, b)
        ad = a.data if isinstance(a, npg.Tensor) else a
        bd = b.data if isinstance(b, npg.Tensor) else b
        assert isinstance(out, npg.Tensor) and out.dtype == bool
        assert not out.requires_grad and out.is_leaf
        np.testing.assert_array_equal(out.data, f(ad, bd))


def test_logical_ops_on_bool_tensors():
    x = npg.tensor([1.0, -2.0, 3.0])
    m = (x > 0) & (x < 2)
    np.testing.assert_array_equal(m.data, [True, False, False])
    np.testing.assert_array_equal(((x > 0) | (x < -1)).data, [True, True, True])
    np.testing.assert_array_equal((~(x > 0)).data, [False, True, False])
    y = npg.where(x > 0, x, 0.0)
    npg.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])


def test_tensors_hash_by_identity():
    x = npg.tensor([1.0, 2.0])
    y = npg.tensor([1.0, 2.0])
    s = {x, y, x}
    assert len(s) == 2 and x in s and y in s
    d = {x: "x", y: "y"}
    assert d[x] == "x" and d[y] == "y"
    assert hash(x) != hash(y)


# ------------------------------------------------------------------------ attributes
def test_attributes():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = npg.tensor(a)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size == 24 and x.dtype == np.float64 and len(x) == 2
    assert x.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(x.T.data, a.T)
    m = npg.tensor(np.arange(6.0).reshape(2, 3))
    npg.sum(m.T * np.arange(6.0).reshape(3, 2)).backward()
    np.testing.assert_array_equal(m.grad, np.arange(6.0).reshape(3, 2).T)
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.numpy(), a)
    s = npg.tensor(2.5)
    assert s.item() == 2.5 and isinstance(s.item(), float) and float(s) == 2.5
    assert npg.tensor([[7]]).item() == 7 and isinstance(npg.tensor([[7]]).item(), int)
    with pytest.raises(ValueError):
        x.item()
    with pytest.raises(TypeError):
        len(s)


def test_detach():
    x = npg.randn(3)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.data, y.data)
    z = npg.sum(d * x)
    z.backward()
    assert_close(x.grad, y.data)  # no gradient flowed through the detached factor


def test_repr():
    x = npg.tensor([1.0, 2.0])
    r = repr(x)
    assert r.startswith("tensor(") and "1." in r and "2." in r and "requires_grad=True" in r
    assert "grad_fn" in repr(x * 2) and "mul" in repr(x * 2)
    assert "float32" in repr(npg.tensor([1.0], dtype="float32"))
    assert "requires_grad" not in repr(npg.tensor([1, 2]))
    assert repr(npg.tensor(3.0)).startswith("tensor(3")
    assert "tensor(" in repr(npg.zeros(0, 3))


def test_is_leaf_and_grad_fn():
    x = npg.randn(2)
    y = x + 1
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.grad_fn is not None


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("name, op", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                      ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                                      ("maximum", npg.maximum), ("pow", lambda a, b: a ** b)])
def test_mismatched_shapes_name_op_and_shapes(name, op):
    x = npg.randn(2, 3)
    y = npg.randn(4)
    with pytest.raises(ValueError) as e:
        op(x, y)
    msg = str(e.value)
    assert name in msg and "(2, 3)" in msg and "(4,)" in msg, msg
    with pytest.raises(ValueError) as e:
        op(x, np.ones(4))
    assert name in str(e.value) and "(4,)" in str(e.value)


def test_where_and_masked_fill_shape_errors():
    x = npg.randn(2, 3)
    with pytest.raises(ValueError, match=r"where.*\(2,\).*\(2, 3\)|where.*\(2, 3\).*\(2,\)"):
        npg.where(np.ones(2, bool), x, 0.0)
    with pytest.raises(ValueError, match="masked_fill"):
        npg.masked_fill(x, np.ones(4, bool), 0.0)
    with pytest.raises(ValueError, match="masked_fill"):  # the mask may not enlarge the tensor
        npg.masked_fill(x, np.ones((5, 2, 3), bool), 0.0)
    with pytest.raises(TypeError, match="masked_fill"):
        npg.masked_fill(x, np.ones(3), 0.0)


@pytest.mark.parametrize("call, name", [
    (lambda x: npg.sum(x, axis=2), "sum"), (lambda x: npg.mean(x, axis=-3), "mean"),
    (lambda x: npg.max(x, axis=5), "max"), (lambda x: x.var(axis=(0, 2)), "var"),
    (lambda x: npg.logsumexp(x, axis=2), "logsumexp"), (lambda x: npg.cumsum(x, axis=2), "cumsum"),
    (lambda x: npg.squeeze(x, axis=3), "squeeze"), (lambda x: npg.swapaxes(x, 0, 2), "swapaxes"),
    (lambda x: npg.flip(x, axis=-3), "flip"), (lambda x: npg.expand_dims(x, 4), "expand_dims"),
    (lambda x: npg.concatenate([x, x], axis=2), "concatenate"), (lambda x: npg.stack([x, x], axis=4), "stack"),
])
def test_invalid_axis(call, name):
    x = npg.randn(2, 3)
    with pytest.raises((ValueError, IndexError)) as e:  # np.exceptions.AxisError is both
        call(x)
    assert name in str(e.value) and "axis" in str(e.value), str(e.value)


def test_repeated_axis():
    with pytest.raises(ValueError, match="repeated"):
        npg.sum(npg.randn(2, 3), axis=(0, -2))


def test_axis_must_be_int():
    with pytest.raises(TypeError, match="axis"):
        npg.sum(npg.randn(2, 3), axis=1.0)


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), 1], dtype=object), ["a"],
                                 np.array([1 + 2j], dtype=np.clongdouble)])
def test_non_numeric_data_refused(bad):
    with pytest.raises(TypeError, match="dtype"):
        npg.tensor(bad)
    x = npg.randn(2)
    with pytest.raises(TypeError):
        x + bad


@pytest.mark.parametrize("bad", ["a", None, object(), {"a": 1}, b"1"])
def test_non_numeric_operand_refused(bad):
    x = npg.randn(3)
    for op, name in [(lambda a, b: a + b, "add"), (lambda a, b: b * a, "mul"), (lambda a, b: a ** b, "pow")]:
        with pytest.raises(TypeError) as e:
            op(x, bad)
        assert name in str(e.value) or type(bad).__name__ in str(e.value), str(e.value)
    with pytest.raises(TypeError):
        npg.exp(bad)


def test_reshape_and_transpose_errors_name_shapes():
    x = npg.randn(2, 3)
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="transpose"):
        x.transpose(0, 0)
    with pytest.raises(ValueError, match="broadcast_to"):
        npg.broadcast_to(x, (3, 3))
    with pytest.raises(ValueError, match="concatenate"):
        npg.concatenate([x, npg.randn(2, 4)], axis=0)
    with pytest.raises(ValueError, match="stack"):
        npg.stack([x, npg.randn(3, 2)])
    with pytest.raises(ValueError, match="split"):
        npg.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="squeeze"):
        npg.squeeze(x, 0)
    with pytest.raises(ValueError, match=r"repeat.*\(2, 3\)"):
        npg.repeat(x, [1, 2], axis=1)
    with pytest.raises(ValueError, match="tile"):
        npg.tile(x, (2, -1))
    with pytest.raises(ValueError, match="moveaxis"):
        npg.moveaxis(x, (0, 0), (1, 0))
    with pytest.raises(ValueError, match="flatten"):
        npg.flatten(x, 1, 0)
