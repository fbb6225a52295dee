"""Adversarial review of indexing, gather/scatter and masking, round 2: values and errors against NumPy (NumPy-named
ops) and PyTorch (torch-named ops), gradients against PyTorch in float64."""
import numpy as np
import pytest
import torch

import npgrad as npg


def _t(a):
    return npg.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("idx, axis", [(np.array([True, False, True]), 0), ([True, False, True], None),
                                       ([], 0), (np.array([], dtype=np.int64), 1), ([], None),
                                       (np.array([[1, 0], [2, 2]], dtype=np.uint8), 1)])
def test_take_index_dtypes_like_numpy(idx, axis, dtype):
    # np.take casts a boolean index to integers (True = 1, False = 0: rows 1, 0, 1), it is not a mask: npgrad
    # took it as a mask and returned rows 0 and 2, shape (2, 4) where NumPy gives (3, 4); an empty list (a float64
    # array) was an IndexError where NumPy gives an empty result
    a = np.arange(12.0, dtype=dtype).reshape(3, 4)
    expected = np.take(a, idx, axis=axis)
    x = _t(a)
    y = npg.take(x, idx, axis=axis)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(np.take(x, idx, axis=axis).data, expected)
    g = np.random.default_rng(0).standard_normal(expected.shape).astype(dtype)
    (y * npg.tensor(g)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ti = torch.as_tensor(np.asarray(idx, dtype=np.int64).reshape(-1))
    src = tx.reshape(-1) if axis is None else tx
    ty = src.index_select(0 if axis is None else axis, ti).reshape(expected.shape)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), tx.grad.numpy())


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
@pytest.mark.parametrize("idx, axis", [([3, -1], 1), ([5, -7, 0], 1), ([13, -20], None), (np.array(-5), 0)])
def test_take_mode_like_numpy(idx, axis, mode):
    a = np.arange(12.0).reshape(3, 4)
    try:
        expected = np.take(a, idx, axis=axis, mode=mode)
    except IndexError:
        with pytest.raises(IndexError, match="take"):
            npg.take(_t(a), idx, axis=axis, mode=mode)
        return
    x = _t(a)
    y = npg.take(x, idx, axis=axis, mode=mode)
    np.testing.assert_array_equal(y.data, expected)
    y.sum().backward()
    flat = np.arange(a.size).reshape(a.shape)
    ref = np.zeros(a.size)
    np.add.at(ref, np.take(flat, idx, axis=axis, mode=mode).ravel(), 1.0)
    np.testing.assert_array_equal(np.asarray(x.grad), ref.reshape(a.shape))


def test_take_float_indices_raise_naming_take():
    with pytest.raises(TypeError):
        np.take(np.zeros(3), np.array([1.0]))
    with pytest.raises(TypeError, match="take"):
        npg.take(_t(np.zeros(3)), np.array([1.0]))


def test_take_bool_and_mode_under_vmap():
    a = np.arange(24.0).reshape(2, 3, 4)
    out = npg.func.vmap(lambda s: npg.take(s, np.array([True, False, True]), axis=0))(npg.tensor(a))
    np.testing.assert_array_equal(out.data, np.stack([np.take(s, [1, 0, 1], axis=0) for s in a]))
    idx = np.array([[5, -1], [0, 9]])
    out = npg.func.vmap(lambda s, i: npg.take(s, i, axis=1, mode="wrap"))(npg.tensor(a), npg.tensor(idx))
    np.testing.assert_array_equal(out.data, np.stack([np.take(s, i, axis=1, mode="wrap") for s, i in zip(a, idx)]))


@pytest.mark.parametrize("axis", [1, -1, 2])
def test_compress_too_long_condition_names_numpys_axis(axis):
    # the error said "axis 0" (npgrad probed a 1-D range) where NumPy names the axis compressed
    a = np.zeros((2, 3, 4))
    cond = [1, 0, 0, 0, 1]
    with pytest.raises(IndexError) as e:
        np.compress(cond, a, axis=axis)
    with pytest.raises(IndexError, match="compress") as got:
        npg.compress(cond, _t(a), axis=axis)
    assert str(e.value) in str(got.value)
