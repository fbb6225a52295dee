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


_A = np.random.default_rng(3).standard_normal((3, 4))
_S = np.random.default_rng(4).standard_normal((3, 4))
_M = np.array([[True, False, False, True], [False, True, True, False], [True, True, False, False]])
_TORCH_ONLY = [  # torch-named ops npgrad lacked (AttributeError): (name, torch fn, npgrad fn) of (x, s)
    ("index_copy", lambda x, s: x.index_copy(1, torch.tensor([3, 0]), s[:, :2]),
     lambda x, s: x.index_copy(1, np.array([3, 0]), s[:, :2])),
    ("index_copy_neg_dim", lambda x, s: torch.index_copy(x, -2, torch.tensor([2]), s[:1]),
     lambda x, s: npg.index_copy(x, -2, np.array([2]), s[:1])),
    ("masked_scatter", lambda x, s: x.masked_scatter(torch.tensor(_M), s), lambda x, s: x.masked_scatter(_M, s)),
    ("masked_scatter_row_mask", lambda x, s: x.masked_scatter(torch.tensor(_M[0]), s),
     lambda x, s: npg.masked_scatter(x, _M[0], s)),
    ("take_along_dim", lambda x, s: torch.take_along_dim(x, torch.tensor([[0, 3, 3]]), dim=-1) * s[:, :3],
     lambda x, s: npg.take_along_dim(x, np.array([[0, 3, 3]]), dim=-1) * s[:, :3]),
    ("take_along_dim_none", lambda x, s: x.take_along_dim(torch.tensor([[11, 0], [0, 5]])) * s[0],
     lambda x, s: x.take_along_dim(np.array([[11, 0], [0, 5]])) * s[0]),
]


@pytest.mark.filterwarnings("ignore:There is a performance drop")
@pytest.mark.parametrize("name, ft, fn", _TORCH_ONLY, ids=[c[0] for c in _TORCH_ONLY])
def test_torch_index_ops_vs_torch(name, ft, fn):
    xt, st = torch.tensor(_A, requires_grad=True), torch.tensor(_S, requires_grad=True)
    xn, sn = _t(_A), _t(_S)
    yt, yn = ft(xt, st), fn(xn, sn)
    np.testing.assert_allclose(yn.data, yt.detach().numpy())
    g = np.random.default_rng(5).standard_normal(yn.shape)
    (gt,) = torch.autograd.grad((yt * torch.tensor(g)).sum() ** 2, [xt], create_graph=True)
    (gn,) = npg.autograd.grad((yn * npg.tensor(g)).sum() ** 2, [xn], create_graph=True)
    np.testing.assert_allclose(gn.data, gt.detach().numpy())
    (gt * st).sum().backward()
    (gn * sn).sum().backward()
    np.testing.assert_allclose(np.asarray(xn.grad), xt.grad.numpy())
    np.testing.assert_allclose(np.asarray(sn.grad), st.grad.numpy())
    ta, ts = np.ones_like(_A), np.arange(12.0).reshape(3, 4)
    _, tan_t = torch.func.jvp(ft, (torch.tensor(_A), torch.tensor(_S)), (torch.tensor(ta), torch.tensor(ts)))
    _, tan_n = npg.func.jvp(fn, (npg.tensor(_A), npg.tensor(_S)), (npg.tensor(ta), npg.tensor(ts)))
    np.testing.assert_allclose(tan_n.data, tan_t.numpy())
    xb = np.random.default_rng(6).standard_normal((2, 3, 4))
    vt = torch.func.vmap(ft, in_dims=(0, None))(torch.tensor(xb), torch.tensor(_S))
    vn = npg.func.vmap(fn, in_dims=(0, None))(npg.tensor(xb), npg.tensor(_S))
    np.testing.assert_allclose(vn.data, vt.numpy())


@pytest.mark.parametrize("call, exc", [
    (lambda x: x.index_copy(1, np.array([4]), np.ones((3, 1))), IndexError),
    (lambda x: x.index_copy(1, np.array([0]), np.ones((3, 2))), RuntimeError),
    (lambda x: x.index_copy(1, np.array([0]), np.ones((3, 1), np.float32)), RuntimeError),
    (lambda x: x.masked_scatter(np.ones((3, 4), bool), np.ones(5)), RuntimeError),
    (lambda x: x.masked_scatter(np.ones((3, 4), np.int64), np.ones(12)), RuntimeError),
    (lambda x: x.take_along_dim(np.array([12])), IndexError),
    (lambda x: x.take_along_dim(np.array([1]), dim=1), RuntimeError),
])
def test_torch_index_ops_errors_name_the_op(call, exc):
    with pytest.raises(exc, match="index_copy|masked_scatter|take_along_dim"):
        call(_t(_A))


def test_index_copy_and_masked_scatter_0d_and_empty():
    x = torch.tensor(2.0)
    np.testing.assert_array_equal(npg.index_copy(npg.tensor(np.array(2.0)), 0, np.array([0]), np.array(5.0)).data,
                                  x.index_copy(0, torch.tensor([0]), torch.tensor(5.0)).numpy())
    e = npg.tensor(np.zeros((0, 3)))
    assert npg.masked_scatter(e, np.zeros((0, 3), bool), np.zeros(0)).shape == (0, 3)
    assert npg.index_copy(_t(_A), 0, np.array([], np.int64), np.zeros((0, 4))).shape == (3, 4)
