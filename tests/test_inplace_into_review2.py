"""Review of the in-place writes computed into the tensor's memory (unary ``x.tanh_()``-style methods and
``x.masked_fill_``): cases where npgrad differed from PyTorch 2.13, each checked against torch."""
import numpy as np
import pytest
import torch

import npgrad as npg


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("value", ["number", "tensor"])
def test_masked_fill_into_a_complex_tensor_with_grad_is_differentiated_as_torch(dtype, value):
    # the in-place form records a "masked_fill" node, which was not declared for complex values: the write was
    # refused with a TypeError where torch (and npgrad's out-of-place masked_fill) differentiate it
    rng = np.random.default_rng(3)
    x0 = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(dtype)
    w0 = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(dtype)
    m0 = np.array([[True, False, False, True]])
    x = npg.tensor(x0, requires_grad=True)
    v = npg.tensor(np.array(0.5 - 2j, dtype), requires_grad=True) if value == "tensor" else 0.5 - 2j
    h = x * 1.0
    assert h.masked_fill_(npg.tensor(m0), v) is h
    npg.real(npg.sum(h * npg.tensor(w0))).backward()
    tx = torch.tensor(x0, requires_grad=True)
    tv = torch.tensor(np.array(0.5 - 2j, dtype), requires_grad=True) if value == "tensor" else 0.5 - 2j
    th = tx * 1.0
    th.masked_fill_(torch.tensor(m0), tv)
    (th * torch.tensor(w0)).sum().real.backward()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.complex64 else dict(rtol=1e-12, atol=1e-14)
    assert h.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(h.data, th.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **tol)
    if value == "tensor":
        np.testing.assert_allclose(v.grad, tv.grad.numpy(), **tol)


_FILLS = [(np.int64, float("nan")), (np.int64, float("inf")), (np.int64, 1e30), (np.int64, 2 ** 63), (np.int32, 2 ** 31),
          (np.int8, 300), (np.int8, -129), (np.uint8, 256), (np.uint8, -256), (np.uint8, -1.5), (np.int16, 1e5),
          (np.float32, 1e300), (np.float16, 7e4), (np.float16, -1e10),
          # what fits: truncated, wrapped (a negative integer into uint8, as torch), NaN / inf into floats, any bool
          (np.int64, 2.7), (np.int64, -2.7), (np.uint8, -1), (np.uint8, -255), (np.int8, -128), (np.float32, float("nan")),
          (np.float16, float("-inf")), (np.float16, 6e4), (np.bool_, float("nan")), (np.bool_, 2)]


@pytest.mark.parametrize("dtype, value, form", [(d, v, f) for d, v in _FILLS for f in ("number", "numpy", "tensor")
                                                 if not (f == "tensor" and v == 2 ** 63)])  # (no torch tensor of it)
def test_masked_fill_refuses_a_value_the_dtype_cannot_hold_as_torch(dtype, value, form):
    # NumPy's cast wrapped or overflowed silently (an int64 tensor filled with NaN held -2**63, an int8 one filled
    # with 300 held 44); torch raises "value cannot be converted to type ... without overflow"
    x0 = np.array([1, 0, 1, 1], dtype)
    m0 = np.array([True, False, True, False])
    v = {"number": value, "numpy": np.float64(value) if isinstance(value, float) else value,
         "tensor": value}[form]
    for inplace in (True, False):
        t = torch.tensor(x0)
        tval = torch.tensor(np.array(value)) if form == "tensor" else v
        try:
            expected = (t.masked_fill_ if inplace else t.masked_fill)(torch.tensor(m0), tval).numpy()
        except RuntimeError as e:
            assert "without overflow" in str(e)
            expected = None
        x = npg.tensor(x0, requires_grad=False)
        nval = npg.tensor(np.array(value), requires_grad=False) if form == "tensor" else v
        if expected is None:
            with pytest.raises(OverflowError, match=f"masked_fill: the value .* cannot be converted to "
                                                    f"{np.dtype(dtype).name}"):
                (x.masked_fill_ if inplace else x.masked_fill)(npg.tensor(m0), nval)
            np.testing.assert_array_equal(x.data, x0)   # (untouched)
        else:
            out = (x.masked_fill_ if inplace else x.masked_fill)(npg.tensor(m0), nval)
            assert out.dtype == dtype
            np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8, np.bool_])
@pytest.mark.parametrize("call", ["method", "function"])
def test_reciprocal_into_an_integer_tensor_is_refused_as_torch(dtype, call):
    # NumPy's integer reciprocal (1 // x: [1, 2, 4] -> [1, 0, 0]) was written in silently; torch refuses the
    # float result ("result type Float can't be cast to the desired output type")
    x0 = np.array([1, 2, 4, 1]).astype(dtype)
    t = torch.tensor(x0)
    with pytest.raises(RuntimeError):
        t.reciprocal_() if call == "method" else torch.reciprocal_(t)
    x = npg.tensor(x0, requires_grad=False)
    with pytest.raises(TypeError, match=f"reciprocal_: in-place result of dtype float64 cannot be stored in a "
                                        f"tensor of dtype {np.dtype(dtype).name}"):
        x.reciprocal_() if call == "method" else npg.reciprocal_(x)
    np.testing.assert_array_equal(x.data, x0)   # (untouched)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
def test_reciprocal_into_a_floating_tensor_stays_in_its_memory(dtype):
    x0 = np.array([[0.5, -2.0, 4.0], [3.0, -0.25, 1.5]]).astype(dtype)
    x = npg.tensor(x0, requires_grad=False)
    t = torch.tensor(x0)
    for make in (lambda a: a, lambda a: a.T, lambda a: a[:, ::2]):   # (contiguous, transposed, strided)
        before = x.data
        make(x).reciprocal_()
        make(t).reciprocal_()
        assert x.data is before and x.dtype == dtype
        np.testing.assert_allclose(x.data, t.numpy(), rtol=1e-3 if dtype == np.float16 else 1e-6)
