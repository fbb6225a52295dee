"""Regression tests from a hunt for silent wrong answers across npgrad's NumPy surface: each checks values and
dtypes against NumPy 2 on the same arrays, and gradients against PyTorch or central finite differences."""
import warnings

import numpy as np
import pytest

import npgrad as npg


def const(a):
    """A tensor that does not require grad (npg.tensor of float data does by default)."""
    return npg.tensor(np.asarray(a), requires_grad=False)


def assert_same(out, expected):
    """npgrad's result has NumPy's dtype, shape and values."""
    out = out.data if isinstance(out, npg.Tensor) else np.asarray(out)
    expected = np.asarray(expected)
    assert out.dtype == expected.dtype, (out.dtype, expected.dtype)
    assert out.shape == expected.shape, (out.shape, expected.shape)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors are deprecated:DeprecationWarning")
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("sizes", [(2, 3), (3, 2)])
def test_cross_of_a_2_vector_and_a_3_vector_keeps_the_dtype(dtype, sizes):
    """The missing z of a 2-vector was the Python float 0.0, so int input came out float64 (NumPy: int64)."""
    a = np.arange(12).reshape(4, 3)[:, :sizes[0]].astype(dtype)
    b = (np.arange(12).reshape(4, 3)[:, :sizes[1]] * 2 - 5).astype(dtype)
    assert_same(npg.cross(const(a), const(b)), np.cross(a, b))
    assert_same(npg.cross(const(a.T), const(b), axisa=0, axisc=0), np.cross(a.T, b, axisa=0, axisc=0))


@pytest.mark.parametrize("start, stop", [(-1.5, 2.7), ([-1.2, 0.3], [3.5, -4.6]), (-3.7, 2.2)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_linspace_with_tensor_endpoints_and_an_integer_dtype_rounds_down(start, stop, dtype):
    """NumPy 2 floors an integer-dtype linspace; with tensor endpoints npgrad truncated (-1.5 gave -1, not -2)."""
    expected = np.linspace(np.array(start), np.array(stop), 5, dtype=dtype)
    assert_same(npg.linspace(const(start), const(stop), 5, dtype=dtype), expected)
    assert_same(npg.linspace(start, const(stop), 5, dtype=dtype, endpoint=False),
                np.linspace(np.array(start), np.array(stop), 5, dtype=dtype, endpoint=False))


NAN_ROWS = np.array([[1.5, np.nan, 2.5], [np.nan, 3.7, -1.2]])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["nansum", "nanprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool, np.float32])
@pytest.mark.parametrize("axis", [None, 1, -2])
def test_nan_reductions_replace_nan_before_casting_to_dtype(name, dtype, axis):
    """With an integer dtype= the NaNs were cast first (to -2**63) and only then replaced, so np.nansum(x,
    axis=1, dtype=int) gave -9223372036854775805; and int32 / bool came out int64."""
    expected = getattr(np, name)(NAN_ROWS, axis=axis, dtype=dtype)
    assert_same(getattr(npg, name)(const(NAN_ROWS), axis=axis, dtype=dtype), expected)


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("dtype", [np.int32, bool, np.int16])
@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative_sum_and_prod_give_the_dtype_asked_for(name, dtype, include_initial):
    """NumPy 2's cumulative_sum(x, dtype=np.int32 / bool) accumulates in and returns that dtype; npgrad cast
    the input only, and the scan promoted it to int64 (bool: counts, not logical or)."""
    a = np.array([[1, 0, 3], [0, 0, 2]])
    for axis in (0, -1):
        expected = getattr(np, name)(a, axis=axis, dtype=dtype, include_initial=include_initial)
        assert_same(getattr(npg, name)(const(a), axis=axis, dtype=dtype, include_initial=include_initial), expected)


@pytest.mark.parametrize("name, torch_name", [("nancumsum", "cumsum"), ("nancumprod", "cumprod")])
def test_nan_scans_with_a_float_dtype_keep_their_gradient(name, torch_name):
    import torch
    a = np.array([[1.5, np.nan, 2.5], [np.nan, 3.7, -1.2]], np.float32)
    x = npg.tensor(a)
    y = getattr(npg, name)(x, axis=1, dtype=np.float64)
    assert y.dtype == np.float64
    (y * npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)).sum().backward()
    t = torch.tensor(np.nan_to_num(a, nan=0.0 if name == "nancumsum" else 1.0), dtype=torch.float32,
                     requires_grad=True)
    (getattr(torch, torch_name)(t, 1, dtype=torch.float64) * torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
     ).sum().backward()
    expected = np.where(np.isnan(a), 0, t.grad.numpy())
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6)


NUMPY_POSITIONAL_CALLS = [
    ("sum", (0, None, None, True)), ("mean", (0, None, None, True)), ("std", (0, None, None, 1)),
    ("var", (1, None, None, 1, True)), ("max", (0, None, True)), ("amin", (1, None, True, 100.0)),
    ("prod", (0, None, None, True, 2.0)), ("any", (0, None, True)), ("all", (1, None, True)),
    ("cumsum", (0, np.int32)), ("cumprod", (1, np.float32, None)), ("round", (1, None)), ("around", (-1, None)),
    ("broadcast_to", ((2, 3, 4), False)), ("argmax", (0, None)), ("trace", (1, 0, 1, np.float32)),
]


@pytest.mark.parametrize("name, args", NUMPY_POSITIONAL_CALLS)
def test_numpy_functions_on_tensors_bind_positional_arguments_as_numpy(name, args):
    """np.X(t, ...) hands the call to npgrad with NumPy's positional arguments, whose order differs from
    npgrad's own (NumPy's third parameter of sum is dtype, npgrad's keepdims): np.sum(t, 0, None, None, True),
    np.std(t, 0, None, None, 1), np.max(t, 0, None, True), np.cumsum(t, 0, np.int32) raised TypeErrors."""
    a = np.arange(12.0).reshape(3, 4) - 5.3
    expected = getattr(np, name)(a, *args)
    assert_same(getattr(np, name)(const(a), *args), expected)


def test_numpy_positional_keepdims_and_ddof_keep_the_gradient():
    import torch
    a = np.arange(12.0).reshape(3, 4) ** 1.5
    x = npg.tensor(a)
    y = np.std(x, 0, None, None, 1) + np.sum(np.max(x, 1, None, True) * x, 0, None, None, True)
    npg.sum(y * npg.tensor(np.arange(4.0), requires_grad=False)).backward()
    t = torch.tensor(a, requires_grad=True)
    ty = torch.std(t, 0, correction=1) + torch.sum(torch.amax(t, 1, keepdim=True) * t, 0, keepdim=True)
    (ty * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_numpy_positional_out_is_refused_rather_than_read_as_keepdims():
    """np.argmax(t, 0, out) put the out array in npgrad's keepdims place (truthy: a silent keepdims=True)."""
    with pytest.raises(TypeError, match="out"):
        np.argmax(const(np.arange(6.0).reshape(2, 3)), 0, np.zeros(3, np.int64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int8, np.int32, bool])
@pytest.mark.parametrize("ufunc", [np.logaddexp, np.logaddexp2])
def test_logaddexp_reduce_keeps_numpys_dtype(dtype, ufunc):
    """np.logaddexp2.reduce of a float32 tensor came out float64 (ln 2 was a NumPy float64 scalar, which is not
    weak under NEP 50); of a bool tensor float64 where NumPy's loop gives float16."""
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    for kw in ({}, dict(axis=1, keepdims=True), dict(axis=None), dict(axis=0, dtype=np.float32)):
        expected = ufunc.reduce(a, **kw)
        out = ufunc.reduce(const(a), **kw).data
        assert out.dtype == expected.dtype and out.shape == expected.shape
        np.testing.assert_allclose(out.astype(float), expected.astype(float), rtol=2e-3 if
                                   np.float16 in (out.dtype, dtype) or dtype is bool else 1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logaddexp2_reduce_gradient_matches_torch(dtype):
    import torch
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    x = npg.tensor(a)
    y = np.logaddexp2.reduce(x, axis=1)
    assert y.dtype == dtype
    npg.sum(y * npg.tensor(np.arange(3.0, dtype=dtype), requires_grad=False)).backward()
    t = torch.tensor(a, requires_grad=True)
    ln2 = float(np.log(2.0))
    ((torch.logsumexp(t * ln2, 1) / ln2) * torch.arange(3.0, dtype=t.dtype)).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("name", ["nanmean", "nanvar", "nanstd"])
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_nan_moments_of_a_0d_input_take_axis_0_as_numpy(name, axis, keepdims):
    """NumPy's nan-moments take axis 0 / -1 of a 0-d array as the whole array (as np.sum does); npgrad raised
    AxisError. The gradient is the whole array's (finite differences: 1 for the mean, 0 for var and std)."""
    a = np.array(3.0)
    x = npg.tensor(a)
    r = getattr(npg, name)(x, axis=axis, keepdims=keepdims)
    e = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert r.shape == np.shape(e)
    np.testing.assert_allclose(r.data, e)
    r.sum().backward()
    h = 1e-6
    fd = (getattr(np, name)(a + h) - getattr(np, name)(a - h)) / (2 * h)
    np.testing.assert_allclose(x.grad.data, fd, atol=1e-8)
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        getattr(npg, name)(x, axis=1)
