"""Review of the in-place shape methods, torch's top-level names and x.ldexp, against torch 2.13 (the oracle)."""
import numpy as np
import pytest
import torch

import npgrad as npg

DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


# ---------------------------------------------------------------- x.ldexp / x.ldexp_ (torch's: x * 2**other)
@pytest.mark.parametrize("nd,td", DTYPES)
def test_ldexp_method_float_exponent_value_and_grads_match_torch(nd, td):
    xv, ev = np.array([1.5, -2.0, 3.0], nd), np.array([1.0, 2.5, -0.75], nd)
    x, e = npg.tensor(xv), npg.tensor(ev)
    tx, te = torch.tensor(xv, requires_grad=True), torch.tensor(ev, requires_grad=True)
    y, ty = x.ldexp(e), tx.ldexp(te)
    assert y.dtype == nd
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-6)
    w = np.array([0.5, -1.0, 2.0], nd)
    (y * npg.tensor(w, requires_grad=False)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.grad, te.grad.numpy(), rtol=1e-6)


def test_ldexp_method_int_exponent_and_inplace_match_torch():
    xv, ev = np.array([1.5, -2.0, 3.0]), np.array([1, -2, 3])
    x = npg.tensor(xv)
    y = x.ldexp(npg.tensor(ev))
    np.testing.assert_array_equal(y.data, torch.tensor(xv).ldexp(torch.tensor(ev)).numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.exp2(ev.astype(float)))
    ef = np.array([0.5, 1.0, -1.5])
    x = npg.tensor(xv)
    e = npg.tensor(ef)
    z = x * 1
    assert z.ldexp_(e) is z
    tx, te = torch.tensor(xv, requires_grad=True), torch.tensor(ef, requires_grad=True)
    tz = tx * 1
    tz.ldexp_(te)
    np.testing.assert_allclose(z.data, tz.detach().numpy())
    z.sum().backward()
    tz.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    np.testing.assert_allclose(e.grad, te.grad.numpy())
    w = npg.tensor(xv, requires_grad=False)
    npg.ldexp_(w, npg.tensor(ef, requires_grad=False))
    np.testing.assert_allclose(w.data, xv * 2 ** ef)


def test_npg_ldexp_float_exponent_is_a_clear_error():
    with pytest.raises(TypeError, match=r"npg\.ldexp.*float64.*float64"):
        npg.ldexp(npg.tensor([1.0, 2.0]), npg.tensor([1.0, 0.5]))
    with pytest.raises(TypeError, match=r"npg\.ldexp.*float32"):
        npg.ldexp(npg.tensor(np.ones(2, np.float32)), np.ones(2, np.float32))


# ---------------------------------------------------------------- x.histogram: no gradient, torch's errors named
def test_histogram_outputs_do_not_require_grad_and_can_be_written_in_place():
    h = np.random.default_rng(0).standard_normal(40)
    hn = npg.tensor(h, requires_grad=False).histogram(4)   # (from a tensor that requires grad the edges would too)
    ht = torch.tensor(h).histogram(4)
    assert not ht.hist.requires_grad and not ht.bin_edges.requires_grad
    assert not hn.hist.requires_grad and not hn.bin_edges.requires_grad
    hn.hist.div_(40)  # torch allows it (not a leaf that requires grad)
    ht.hist.div_(40)
    np.testing.assert_allclose(hn.hist.data, ht.hist.numpy())
    np.testing.assert_allclose(hn.bin_edges.data, ht.bin_edges.numpy())


@pytest.mark.parametrize("args,kwargs", [((2,), {}), ((3,), {"range": (1.0, 0.0)})])
def test_histogram_bad_input_errors_name_histogram(args, kwargs):
    v = np.array([1.0, np.nan]) if not kwargs else np.array([0.2, 0.5])
    with pytest.raises(RuntimeError):
        torch.tensor(v).histogram(*args, **kwargs)
    with pytest.raises(ValueError, match=r"histogram"):
        npg.tensor(v).histogram(*args, **kwargs)


# ---------------------------------------------------------------- scalar_tensor: torch refuses values that overflow
@pytest.mark.parametrize("value,nd,td", [(float("nan"), np.int64, torch.int64), (float("inf"), np.int32, torch.int32),
                                         (1e40, np.float32, torch.float32), (300, np.uint8, torch.uint8),
                                         (1e30, np.int64, torch.int64), (-1.5, np.uint8, torch.uint8)])
def test_scalar_tensor_refuses_a_value_its_dtype_cannot_hold(value, nd, td):
    with pytest.raises(RuntimeError, match="overflow"):
        torch.scalar_tensor(value, dtype=td)
    with pytest.raises(OverflowError, match=r"scalar_tensor.*" + np.dtype(nd).name):
        npg.scalar_tensor(value, dtype=nd)


@pytest.mark.parametrize("value,nd,td", [(2.7, np.int64, torch.int64), (-2.7, np.int32, torch.int32),
                                         (float("inf"), np.float32, torch.float32), (255, np.uint8, torch.uint8),
                                         (float("nan"), np.float64, torch.float64), (3, np.bool_, torch.bool),
                                         (3.4e38, np.float32, torch.float32)])
def test_scalar_tensor_values_torch_accepts(value, nd, td):
    got = npg.scalar_tensor(value, dtype=nd, requires_grad=False)
    want = torch.scalar_tensor(value, dtype=td)
    assert got.dtype == nd
    np.testing.assert_array_equal(got.data, want.numpy())


# ---------------------------------------------------------------- in-place shape methods: torch's keywords, errors
def test_swapaxes_inplace_takes_torchs_axis0_axis1_keywords():
    z = np.zeros((2, 1, 3))
    t = torch.tensor(z)
    n = npg.tensor(z, requires_grad=False)
    assert n.swapaxes_(axis0=0, axis1=-1) is n
    assert n.shape == tuple(t.swapaxes_(axis0=0, axis1=-1).shape)
    a = npg.tensor(np.arange(6.0).reshape(2, 3))
    y = a * 1
    y.swapaxes_(axis0=1, axis1=0)
    (y * npg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=False)).sum().backward()
    ta = torch.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    ty = ta * 1
    ty.swapaxes_(axis0=1, axis1=0)
    (ty * torch.arange(6.0, dtype=torch.float64).reshape(3, 2)).sum().backward()
    np.testing.assert_array_equal(a.grad, ta.grad.numpy())


def test_squeeze_inplace_repeated_dim_is_an_error_as_torch():
    z = np.zeros((2, 1, 1, 3))
    for dims in [(1, 1), (1, -3)]:
        with pytest.raises(RuntimeError, match="multiple times"):
            torch.tensor(z).squeeze_(dims)
        n = npg.tensor(z, requires_grad=False)
        with pytest.raises(RuntimeError, match=r"squeeze_.*appears multiple times"):
            n.squeeze_(dims)
        assert n.shape == z.shape
