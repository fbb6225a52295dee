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
