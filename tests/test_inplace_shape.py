"""torch's in-place shape methods (unsqueeze_ squeeze_ t_ transpose_ swapdims_ swapaxes_), the top-level in-place
aliases (npg.abs_ ...), small tensor facts and npg.sort(dim=): checked against torch 2.13."""
import numpy as np
import pytest
import torch

import npgrad as npg

SHAPE_CASES = [((2, 3), "unsqueeze_", (0,)), ((2, 3), "unsqueeze_", (-1,)), ((2, 3), "unsqueeze_", (2,)),
               ((), "unsqueeze_", (0,)), ((1, 3, 1), "squeeze_", ()), ((1, 3, 1), "squeeze_", (0,)),
               ((1, 3, 1), "squeeze_", (1,)), ((1, 3, 1), "squeeze_", (-1,)), ((2, 3), "t_", ()), ((3,), "t_", ()),
               ((2, 3, 4), "transpose_", (0, 2)), ((2, 3, 4), "swapdims_", (-1, 1)),
               ((2, 3, 4), "swapaxes_", (1, 1)), ((0, 3), "unsqueeze_", (1,)), ((0, 3), "t_", ())]


def _pair(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return npg.tensor(a), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("shape,name,args", SHAPE_CASES)
def test_shape_values_and_grads(shape, name, args):
    a, ta = _pair(shape)
    x, tx = a * 2, ta * 2
    assert getattr(x, name)(*args) is x
    getattr(tx, name)(*args)
    assert x.shape == tuple(tx.shape)
    np.testing.assert_allclose(x.data, tx.detach().numpy())
    w = np.random.default_rng(1).standard_normal(x.shape)
    (x * npg.tensor(w, requires_grad=False)).sum().backward()
    (tx * torch.tensor(w)).sum().backward()
    assert a.grad.shape == shape
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())


def test_float32_kept_and_version_bumped():
    x = npg.ones((2, 3), dtype=np.float32, requires_grad=False)
    v = x._version
    x.unsqueeze_(0)
    assert x.dtype == np.float32 and x._version == v + 1


@pytest.mark.parametrize("name,args", [("unsqueeze_", (0,)), ("t_", ()), ("transpose_", (0, 1)), ("squeeze_", ())])
def test_leaf_error_and_no_grad(name, args):
    a = npg.ones((2, 3))
    ta = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        getattr(ta, name)(*args)
    with pytest.raises(RuntimeError, match=f"{name}.*leaf tensor that requires grad"):
        getattr(a, name)(*args)
    with pytest.raises(RuntimeError, match=f"{name}.*view of a leaf"):
        getattr(a[0:1], name)(*args)
    assert a.shape == (2, 3)
    with npg.no_grad(), torch.no_grad():
        assert getattr(a, name)(*args) is a
        getattr(ta, name)(*args)
    assert a.shape == tuple(ta.shape) and a.is_leaf and a.requires_grad
    np.testing.assert_allclose(a.data, ta.detach().numpy())


def test_view_made_under_no_grad_raises():
    a = npg.ones((2, 3))
    x = a * 1
    with npg.no_grad():
        v = x[0]
    with pytest.raises(RuntimeError, match="unsqueeze_.*no_grad"):
        v.unsqueeze_(0)


def test_saved_value_then_shape_change_raises():
    a, ta = _pair((2, 3))
    x, tx = a * 2, ta * 2
    b, tb = _pair((2, 3), 5)
    y, ty = x * b, tx * tb   # saves x for b's gradient
    x.t_()
    tx.t_()
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        ty.sum().backward()
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*t_"):
        y.sum().backward()


def test_chain_returns_self():
    a, ta = _pair((2, 3))
    x, tx = a * 1, ta * 1
    assert x.unsqueeze_(0).transpose_(0, 1) is x
    tx.unsqueeze_(0).transpose_(0, 1)
    assert x.shape == tuple(tx.shape) == (2, 1, 3)
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())


def test_view_changes_shape_then_written():
    a, ta = _pair((2, 3))
    x, tx = a * 1, ta * 1
    v, tv = x[:, 1:], tx[:, 1:]
    v.t_()
    tv.t_()
    v.mul_(npg.tensor([[2.0, 3.0], [4.0, 5.0]], requires_grad=False))
    tv.mul_(torch.tensor([[2.0, 3.0], [4.0, 5.0]], dtype=torch.float64))
    np.testing.assert_allclose(x.data, tx.detach().numpy())
    np.testing.assert_allclose(v.data, tv.detach().numpy())
    w = np.arange(6.0).reshape(2, 3)
    (x * npg.tensor(w, requires_grad=False)).sum().backward()
    (tx * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())


def test_view_taken_before_base_changes_shape():
    a, ta = _pair((2, 3))
    x, tx = a * 1, ta * 1
    v, tv = x[:, 1:], tx[:, 1:]
    x.t_()
    tx.t_()
    np.testing.assert_allclose(v.data, tv.detach().numpy())
    v.mul_(2.0)     # a write through the old view, after the base's shape changed
    tv.mul_(2.0)
    np.testing.assert_allclose(x.data, tx.detach().numpy())
    x[1, 0] = 7.0   # a write into the base: the view sees it
    tx[1, 0] = 7.0
    np.testing.assert_allclose(v.data, tv.detach().numpy())
    w = np.arange(4.0).reshape(2, 2)
    (x.sum() + (v * npg.tensor(w, requires_grad=False)).sum()).backward()
    (tx.sum() + (tv * torch.tensor(w)).sum()).backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())


def test_view_of_plain_tensor():
    b = npg.arange(6.0, requires_grad=False).reshape(2, 3)
    tb = torch.arange(6.0).reshape(2, 3)
    v, tv = b[0], tb[0]
    v.unsqueeze_(0)
    tv.unsqueeze_(0)
    b[0, 0] = 5.0
    tb[0, 0] = 5.0
    np.testing.assert_allclose(v.data, tv.numpy())
    v[0, 2] = -1.0
    tv[0, 2] = -1.0
    np.testing.assert_allclose(b.data, tb.numpy())


def test_errors_name_the_op():
    x = npg.zeros((2, 3, 4), requires_grad=False)
    with pytest.raises(RuntimeError, match="t_.*<= 2"):
        x.t_()
    with pytest.raises(IndexError, match="unsqueeze_.*out of range"):
        x.unsqueeze_(4)
    with pytest.raises(IndexError, match="transpose_.*out of range"):
        x.transpose_(0, 3)
    assert x.shape == (2, 3, 4)


def test_forward_ad_tangent_follows():
    import npgrad.autograd.forward_ad as fwAD
    p = np.random.default_rng(0).standard_normal((2, 3))
    t = np.random.default_rng(1).standard_normal((2, 3))
    with fwAD.dual_level():
        x = fwAD.make_dual(npg.tensor(p, requires_grad=False), npg.tensor(t, requires_grad=False)) * 1
        x.t_().unsqueeze_(0)
        y = x * 3
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.data, 3 * t.T[None])


# ---------------------------------------------------------------- sort: torch's keywords
def test_sort_method_positional_dim_with_descending():
    a = np.array([[3.0, 1, 2], [0, 5, 4]])
    for kw in (dict(descending=True), dict(stable=True), dict(descending=False)):
        v, i = npg.tensor(a).sort(0, **kw)
        tv, ti = torch.tensor(a).sort(dim=0, **kw)
        np.testing.assert_array_equal(v.data, tv.numpy())
        np.testing.assert_array_equal(i.data, ti.numpy())
    with pytest.raises(TypeError, match="sort.*axis.*dim"):
        npg.tensor(a).sort(0, dim=1)
