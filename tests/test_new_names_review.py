"""Edge cases of the PyTorch-named functions added in npgrad/ops/torch_*.py, against torch 2.13 as the oracle."""
import numpy as np
import pytest
import torch

import npgrad as npg


def _t(a):
    return npg.tensor(np.asarray(a), requires_grad=False)


def test_trapz_refuses_x_of_the_wrong_length():
    # torch.trapz raises when x has not one value per sample along dim; it must not broadcast a 1-element diff(x)
    y = np.array([[1., 2, 4], [3, 5, 9]])
    xs = np.array([0., 1.])
    with pytest.raises(RuntimeError):
        torch.trapz(torch.tensor(y), torch.tensor(xs))
    with pytest.raises(ValueError, match="trapz"):
        npg.trapz(_t(y), _t(xs))
    # the right length still matches torch
    xs = np.array([0., 1., 3.])
    np.testing.assert_allclose(npg.trapz(_t(y), _t(xs)).data, torch.trapz(torch.tensor(y), torch.tensor(xs)).numpy())


def test_tensor_unique_keeps_nans_apart_as_torch():
    # torch.unique treats every NaN as distinct (NaN != NaN); NumPy 2's np.unique merges them by default
    a = np.array([np.nan, 1., np.nan, 2.])
    ref = torch.tensor(a).unique(return_inverse=True, return_counts=True)
    out = _t(a).unique(return_inverse=True, return_counts=True)
    for o, r in zip(out, ref):
        np.testing.assert_array_equal(np.asarray(o.data if hasattr(o, "data") else o), r.numpy())
    np.testing.assert_array_equal(np.asarray(_t(a).unique().data), torch.tensor(a).unique().numpy())


@pytest.mark.parametrize("name", ["uniform_", "normal_"])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_uniform_normal_fill_refuse_integer_and_bool_tensors(name, dtype):
    # torch raises (not implemented for Long / Bool); casting U(0, 1) draws to int64 silently wrote all zeros
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(torch.zeros(5, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype), name)()
    x = npg.zeros(5, dtype=dtype, requires_grad=False)
    with pytest.raises(TypeError, match=name):
        getattr(x, name)()
    y = npg.zeros(5, dtype=np.float32, requires_grad=False)
    assert getattr(y, name)().dtype == np.float32


@pytest.mark.parametrize("dim", [1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_aminmax_of_an_empty_tensor_along_a_nonempty_dim(dim, keepdim):
    # torch reduces the size-3 dim of a (0, 3) tensor to two empty (0,) results; only an empty reduced dim is an error
    ref = torch.aminmax(torch.zeros(0, 3), dim=dim, keepdim=keepdim)
    out = npg.aminmax(npg.zeros((0, 3), dtype=np.float32, requires_grad=False), dim=dim, keepdim=keepdim)
    for o, r in zip(out, ref):
        assert o.shape == tuple(r.shape) and o.dtype == np.float32
    with pytest.raises((RuntimeError, IndexError)):
        torch.aminmax(torch.zeros(0, 3), dim=0)
    with pytest.raises((RuntimeError, ValueError), match="(?i)min"):
        npg.aminmax(npg.zeros((0, 3), requires_grad=False), dim=0)
    with pytest.raises(RuntimeError, match="aminmax"):
        npg.aminmax(npg.zeros((0, 3), requires_grad=False))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lerp_is_exact_at_weight_one(dtype):
    # torch.lerp uses end - (end - start) * (1 - w) for |w| >= 0.5, so lerp(start, end, 1) == end exactly;
    # start + w * (end - start) gave 0 for start=1e20, end=1, w=1
    start, end = np.array([1e20, 1., -3e9], dtype), np.array([1., 3., 2.], dtype)
    w = np.array([1.0, 0.75, 0.25], dtype)
    for weight in (1.0, w):
        tw = weight if isinstance(weight, float) else torch.tensor(weight)
        nw = weight if isinstance(weight, float) else _t(weight)
        ref = torch.lerp(torch.tensor(start), torch.tensor(end), tw).numpy()
        out = npg.lerp(_t(start), _t(end), nw)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.data, ref)


def test_lerp_gradients_match_torch_on_both_branches():
    rng = np.random.RandomState(0)
    a, b, w = rng.randn(3, 4), rng.randn(3, 4), rng.uniform(-1, 2, (3, 4))
    g = rng.randn(3, 4)
    ta, tb, tw = (torch.tensor(v, requires_grad=True) for v in (a, b, w))
    na, nb, nw = (npg.tensor(v, requires_grad=True) for v in (a, b, w))
    ref = torch.autograd.grad((torch.lerp(ta, tb, tw) * torch.tensor(g)).sum(), (ta, tb, tw))
    out = npg.autograd.grad((npg.lerp(na, nb, nw) * npg.tensor(g)).sum(), (na, nb, nw))
    for o, r in zip(out, ref):
        np.testing.assert_allclose(o.data, r.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["std_mean", "var_mean"])
@pytest.mark.parametrize("dim", [0, -1, [0]])
@pytest.mark.parametrize("correction", [0, 1])
def test_std_var_mean_of_a_0d_tensor_along_dim_0(name, dim, correction):
    # torch accepts dim 0 / -1 of a 0-d tensor (as every torch reduction) and keeps the result 0-d
    ref = getattr(torch, name)(torch.tensor(1.5, dtype=torch.float64), dim=dim, correction=correction, keepdim=True)
    out = getattr(npg, name)(npg.tensor(np.array(1.5), requires_grad=False), dim=dim, correction=correction,
                             keepdim=True)
    for o, r in zip(out, ref):
        assert o.shape == ()
        np.testing.assert_array_equal(o.data, r.numpy())
    with pytest.raises(IndexError):
        getattr(torch, name)(torch.tensor(1.5), dim=1)
    with pytest.raises((IndexError, ValueError), match=name[:3]):
        getattr(npg, name)(npg.tensor(np.array(1.5), requires_grad=False), dim=1)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("q", [0.3, [0.2, 0.5]])
@pytest.mark.parametrize("keepdim", [False, True])
def test_tensor_quantile_of_a_0d_tensor_along_dim_0(name, q, keepdim):
    # x.quantile(q, dim=0) of a 0-d tensor is its value in torch (0-d tensors take dims 0 / -1)
    tq = q if isinstance(q, float) else torch.tensor(q, dtype=torch.float64)
    ref = getattr(torch.tensor(1.5, dtype=torch.float64), name)(tq, dim=0, keepdim=keepdim)
    out = getattr(npg.tensor(np.array(1.5), requires_grad=False), name)(q, dim=0, keepdim=keepdim)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.data, ref.numpy())
    with pytest.raises((IndexError, ValueError), match="quantile"):
        getattr(npg.tensor(np.array(1.5), requires_grad=False), name)(q, dim=1)


@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cumulative_trapezoid_of_an_empty_dim(dim):
    # torch returns an empty result (one value fewer than none: still 0) along a size-0 dim
    shape = (2, 0) if dim != 0 else (0, 3)
    ref = torch.cumulative_trapezoid(torch.zeros(shape, dtype=torch.float32), dim=dim)
    out = npg.cumulative_trapezoid(npg.zeros(shape, dtype=np.float32, requires_grad=False), dim=dim)
    assert out.shape == tuple(ref.shape) and out.dtype == np.float32


@pytest.mark.parametrize("value, dtype", [(1e40, np.float32), (1e40, np.float16), (float("nan"), np.int64),
                                          (float("inf"), np.int32)])
def test_new_full_refuses_a_value_the_dtype_cannot_hold(value, dtype):
    # torch: "value cannot be converted to type ... without overflow"; it was inf / -2**63 silently
    with pytest.raises(RuntimeError):
        torch.zeros(1, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype).new_full((2,), value)
    with pytest.raises((OverflowError, ValueError), match="new_full"):
        npg.zeros(1, dtype=dtype, requires_grad=False).new_full((2,), value)
    # representable values (inf into a float tensor, 2.7 into int64 truncated) still work as torch
    np.testing.assert_array_equal(npg.zeros(1, dtype=np.float32, requires_grad=False).new_full((2,), float("inf")).data,
                                  torch.zeros(1).new_full((2,), float("inf")).numpy())
    np.testing.assert_array_equal(npg.zeros(1, dtype=np.int64, requires_grad=False).new_full((2,), 2.7).data,
                                  torch.zeros(1, dtype=torch.int64).new_full((2,), 2.7).numpy())


@pytest.mark.parametrize("dtype, args", [(np.bool_, (5,)), (np.bool_, (0, 2 ** 40)), (np.bool_, (-3, 2)),
                                         (np.float16, (0, 2 ** 20)), (np.float16, (70000,))])
def test_random_fill_refuses_a_range_the_dtype_cannot_hold(dtype, args):
    # torch: "to - 1 is out of bounds for bool / c10::Half"; the draws were cast (all True, or inf) silently
    with pytest.raises(RuntimeError):
        torch.zeros(4, dtype=torch.from_numpy(np.zeros(0, dtype)).dtype).random_(*args)
    with pytest.raises(RuntimeError, match="random_"):
        npg.zeros(4, dtype=dtype, requires_grad=False).random_(*args)
    ok = npg.zeros(1000, dtype=np.bool_, requires_grad=False).random_(0, 2)
    assert ok.dtype == np.bool_ and 0 < int(np.asarray(ok.data).sum()) < 1000


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_refuses_uint8_indices(accumulate):
    # torch reads a uint8 index as a (deprecated) mask (or refuses it); npgrad read it as integer positions, so
    # [1, 0] wrote rows 1 and 0 where torch's mask touches row 0 only
    a = np.arange(6.).reshape(2, 3)
    idx = np.array([1, 0], np.uint8)
    try:
        ref = torch.index_put(torch.tensor(a), (torch.tensor(idx),), torch.tensor(9.), accumulate=accumulate).numpy()
    except RuntimeError:
        ref = None
    if ref is not None:
        np.testing.assert_array_equal(ref[1], a[1])   # torch's mask leaves row 1 alone
    with pytest.raises(IndexError, match="index_put.*uint8"):
        npg.index_put(_t(a), (_t(idx),), _t(np.array(9.)), accumulate=accumulate)


@pytest.mark.parametrize("name", ["std_mean", "var_mean"])
@pytest.mark.parametrize("dim", [(), []])
@pytest.mark.parametrize("keepdim", [False, True])
def test_std_var_mean_with_an_empty_dim_list_reduce_everything(name, dim, keepdim):
    # torch reads dim=() / [] as every dim; it reduced none (std nan everywhere, mean = x) silently
    x = np.arange(6.).reshape(2, 3)
    ref = getattr(torch, name)(torch.tensor(x), dim=dim, keepdim=keepdim)
    out = getattr(npg, name)(_t(x), dim=dim, keepdim=keepdim)
    for o, r in zip(out, ref):
        assert o.shape == tuple(r.shape)
        np.testing.assert_allclose(o.data, r.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dim", [(), [], [0, 1], [-1], (0,)])
def test_count_nonzero_method_dim_lists_as_torch(dim):
    # torch: dim=() / [] counts over every dim (it counted per element: an array of 0/1), and takes a list of dims
    x = np.array([[0., 1., 2.], [3., 0., 5.]])
    ref = torch.tensor(x).count_nonzero(dim=dim).numpy()
    out = _t(x).count_nonzero(dim=dim)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out.data, ref)
