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


def test_sort_function_takes_torch_keywords():
    a = np.random.default_rng(0).standard_normal((3, 4))
    for kw in (dict(dim=0), dict(dim=-1, descending=True), dict(dim=1, stable=True), dict(descending=True)):
        x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
        v, i = npg.sort(x, **kw)
        tv, ti = torch.sort(tx, **kw)
        np.testing.assert_array_equal(v.data, tv.detach().numpy())
        np.testing.assert_array_equal(i.data, ti.numpy())
        w = np.arange(12.0).reshape(3, 4)
        (v * npg.tensor(w, requires_grad=False)).sum().backward()
        (tv * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy())
    # NumPy's calls are unchanged: the sorted values
    np.testing.assert_array_equal(npg.sort(npg.tensor(a), 0).data, np.sort(a, 0))
    np.testing.assert_array_equal(npg.sort(npg.tensor(a), axis=None).data, np.sort(a, axis=None))
    np.testing.assert_array_equal(np.sort(npg.tensor(a)).data, np.sort(a))
    with pytest.raises(TypeError, match="sort.*axis.*dim"):
        npg.sort(npg.tensor(a), 0, dim=1)


# ---------------------------------------------------------------- top-level in-place aliases
from npgrad.ops.torch_inplace_names import FUNCTIONAL_ALIASES, METHOD_ALIASES  # noqa: E402

_ARGS = {"clamp_": (-0.5, 0.5), "clamp_max_": (0.3,), "clamp_min_": (-0.3,), "clip_": (-0.5, 0.5), "fill_": (2.5,),
         "gcd_": "int", "lcm_": "int", "ldexp_": "exp", "xlogy_": ("t",), "threshold_": (0.1, 20.0),
         "logit_": (1e-3,)}


def _alias_args(name):
    a = _ARGS.get(name, ())
    if a == "int":
        return npg.tensor([4, 6, 9], requires_grad=False), (npg.tensor([6, 4, 3], requires_grad=False),)
    x = npg.tensor([0.25, -0.5, 0.75], requires_grad=False)
    if a == "exp":
        return x, (npg.tensor([2, 3, -1], requires_grad=False),)
    if a == ("t",):
        return x, (npg.tensor([2.0, 3.0, 0.5], requires_grad=False),)
    return x, a


@pytest.mark.parametrize("name", METHOD_ALIASES + FUNCTIONAL_ALIASES)
def test_every_alias_calls_the_method(name):
    assert name in npg.__all__
    x, args = _alias_args(name)
    ref = x.clone()
    if name in FUNCTIONAL_ALIASES:
        getattr(npg.nn.functional, name)(ref, *args)
    else:
        getattr(ref, name)(*args)
    with np.errstate(all="ignore"):
        out = getattr(npg, name)(x, *args)
    assert out is x
    np.testing.assert_array_equal(x.data, ref.data)
    assert callable(getattr(torch, name))   # a torch name


SAMPLE = [("abs_", ()), ("exp_", ()), ("sin_", ()), ("tanh_", ()), ("sigmoid_", ()), ("clamp_", (-0.3, 0.4)),
          ("clamp_min_", (0.1,)), ("square_", ()), ("reciprocal_", ()), ("neg_", ()), ("expm1_", ()), ("relu_", ()),
          ("selu_", ()), ("celu_", ()), ("threshold_", (0.2, -1.0)), ("xlogy_", ("t",)), ("erf_", ()),
          ("rsqrt_", ()), ("log1p_", ()), ("frac_", ()), ("zero_", ()), ("fill_", (1.5,)), ("logit_", (1e-3,))]


@pytest.mark.parametrize("name,args", SAMPLE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_alias_sample_vs_torch(name, args, dtype):
    p = np.array([[0.25, -0.5, 0.75], [1.5, 0.6, 0.3]], dtype=dtype)
    if name in ("rsqrt_", "log1p_", "logit_", "xlogy_"):
        p = np.abs(p) / 2 + 0.1
    a, ta = npg.tensor(p), torch.tensor(p, requires_grad=True)
    b = np.array([2.0, 3.0, 0.5], dtype=dtype)
    nargs = tuple(npg.tensor(b, requires_grad=False) if v == "t" else v for v in args)
    targs = tuple(torch.tensor(b) if v == "t" else v for v in args)
    x, tx = a * 1.5, ta * 1.5
    assert getattr(npg, name)(x, *nargs) is x
    assert getattr(torch, name)(tx, *targs) is tx
    assert x.dtype == np.dtype(dtype)
    np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=1e-5 if dtype == "float32" else 1e-12)
    w = np.arange(6.0, dtype=dtype).reshape(2, 3)
    (x * npg.tensor(w, requires_grad=False)).sum().backward()
    (tx * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6)


def test_alias_leaf_error_and_type_error():
    with pytest.raises(RuntimeError, match="leaf Variable"):
        torch.exp_(torch.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="exp_.*leaf tensor that requires grad"):
        npg.exp_(npg.ones(2))
    with pytest.raises(TypeError, match="abs_.*Tensor"):
        npg.abs_([1.0, -2.0])


def test_fill_out_of_place():
    p = np.random.default_rng(0).standard_normal((2, 3))
    x, tx = npg.tensor(p), torch.tensor(p, requires_grad=True)
    v, tv = npg.tensor(2.0), torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    y, ty = npg.fill(x, v), torch.fill(tx, tv)
    assert y is not x and np.array_equal(x.data, p)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    w = np.arange(6.0).reshape(2, 3)
    (y * npg.tensor(w, requires_grad=False)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())
    np.testing.assert_allclose(v.grad.data, tv.grad.numpy())
    i = npg.fill(npg.tensor([1, 2]), 2.7)
    np.testing.assert_array_equal(i.data, torch.fill(torch.tensor([1, 2]), 2.7).numpy())
    with pytest.raises(RuntimeError, match="fill.*0-dimension"):
        npg.fill(x, npg.tensor([1.0, 2.0]))


# ---------------------------------------------------------------- small facts
def test_facts_vs_torch():
    for dt in ("float32", "int64", "uint8", "bool", "complex64", "int8"):
        n, t = npg.zeros(2, dtype=dt, requires_grad=False), torch.zeros(2, dtype=getattr(torch, dt))
        assert npg.is_signed(n) == torch.is_signed(t)
        assert npg.is_conj(n) is torch.is_conj(t) is False
        assert npg.is_neg(n) is torch.is_neg(t) is False
        assert npg.resolve_conj(n) is n and npg.resolve_neg(n) is n
    a = npg.zeros((2, 3), requires_grad=False)
    assert npg.is_same_size(a, a + 1) and not npg.is_same_size(a, a.T)
    with pytest.raises(TypeError, match="is_same_size.*other"):
        npg.is_same_size(a, [1])


def test_scalar_tensor():
    for v in (3, 2.5, True):
        s, ts = npg.scalar_tensor(v), torch.scalar_tensor(v)
        assert s.shape == () and s.dtype == npg.get_default_dtype() and s.item() == ts.item()
    old = npg.get_default_dtype()
    try:
        npg.set_default_dtype(np.float32)
        assert npg.scalar_tensor(1).dtype == np.float32
    finally:
        npg.set_default_dtype(old)
    assert npg.scalar_tensor(3, dtype=np.int64).dtype == np.int64
    assert npg.scalar_tensor(2.0, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="scalar_tensor"):
        npg.scalar_tensor([1.0, 2.0])


def test_storage_offset_data_ptr_is_set_to():
    p = np.arange(6.0).reshape(2, 3)
    a, ta = npg.tensor(p, requires_grad=False), torch.tensor(p)
    for f in (lambda t: t[1:], lambda t: t[:, 1], lambda t: t[1, 2], lambda t: t.T, lambda t: t):
        assert f(a).storage_offset() == f(ta).storage_offset()
        assert f(a).data_ptr() - a.data_ptr() == f(ta).data_ptr() - ta.data_ptr()
    assert a.is_set_to(a) and a.is_set_to(a[:]) and a.is_set_to(a.reshape(2, 3))
    assert ta.is_set_to(ta[:]) and not ta.is_set_to(ta[1:])
    assert not a.is_set_to(a[1:]) and not a.is_set_to(a.T) and not a.is_set_to(a.copy())
    assert a.data_ptr() == a.data.ctypes.data


def test_new():
    a, ta = npg.zeros((2, 3), requires_grad=False), torch.zeros(2, 3)
    assert a.new(2, 3).shape == tuple(ta.new(2, 3).shape) and a.new(2, 3).dtype == a.dtype
    assert a.new().shape == tuple(ta.new().shape) == (0,)
    for data in ([1, 2], (2.5, 3), [[1.5, 2], [3, 4]]):
        n, tn = a.new(data), ta.new(data)
        np.testing.assert_array_equal(n.data, tn.numpy())
        assert n.dtype == a.dtype and not n.requires_grad
    o = npg.tensor([1.0, 2.0])
    n = a.new(o)   # torch: shares the data's memory
    n[0] = 9.0
    assert o.data[0] == 9.0 and not n.requires_grad
    with pytest.raises(TypeError, match="new.*dtype"):
        a.new(npg.tensor([1, 2]))
    with pytest.raises(TypeError, match="new.*sequence"):
        a.new(2.5)
    # torch: x.new(x.shape) (a torch.Size) is a size, x.new((2, 3)) data; npgrad's shapes are plain tuples, so a
    # tuple of ints is refused rather than read one way silently
    assert tuple(ta.new(ta.shape).shape) == (2, 3) and ta.new((2, 3)).tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match=r"new\(\): a tuple of ints \(2, 3\) is ambiguous.*x.new\(\*shape\)"):
        a.new(a.shape)
    assert a.new(*a.shape).shape == (2, 3)
