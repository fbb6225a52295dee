"""Gaps found by a sweep of npg.signal and npg.stft / npg.istft against SciPy and PyTorch:

* ``convolve2d`` / ``correlate2d`` with a ``fillvalue`` Tensor that requires grad: the padded samples are the fill
  value, so the result depends on it (linearly); its gradient was silently dropped (``fillvalue.grad`` stayed None).
  Checked against SciPy: the loss is affine in the fill value, so its exact derivative is a difference of two SciPy
  evaluations (and, for a complex fill, the conjugate-Wirtinger gradient dL/dRe + i dL/dIm, PyTorch's convention).
* ``stft`` / ``istft`` flags (``normalized``, ``onesided``, ``return_complex``, ``align_to_window``, istft's ``center``)
  given a non-bool: PyTorch refuses them (TypeError); npgrad read their truth value, so ``normalized="window"`` (a
  torchaudio spelling) silently meant "ortho".
"""
import warnings

import numpy as np
import pytest
import scipy.signal as ss
import torch

import npgrad as npg

pytestmark = pytest.mark.filterwarnings("ignore:A window was not provided")  # (npgrad's and torch's warning)
RNG = np.random.default_rng(11)
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-9, atol=1e-9),
       np.complex128: dict(rtol=1e-9, atol=1e-9)}


def _operands(sa, sb, dtype):
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    if np.dtype(dtype).kind == "c":
        a, b = a + 1j * RNG.standard_normal(sa), b + 1j * RNG.standard_normal(sb)
    return a.astype(dtype), b.astype(dtype)


def _fill_derivative(sfn, a, b, mode, weights):
    """d/d(fill) of sum(Re(sfn(a, b, fill)) * weights), exactly: the loss is affine in the fill value."""
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    a64, b64 = a.astype(wide), b.astype(wide)

    def loss(v):
        return np.sum(np.real(sfn(a64, b64, mode, "fill", v)) * weights)
    slope = loss(1.0) - loss(0.0)
    return slope + 1j * (loss(1j) - loss(0.0)) if np.iscomplexobj(a) else slope


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("mode", ["full", "same"])
@pytest.mark.parametrize("shapes", [((5, 6), (2, 3)), ((4, 4), (3, 3)), ((3, 4), (5, 6))], ids=str)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_fillvalue_tensor_gets_its_gradient(name, shapes, mode, dtype):
    sfn = getattr(ss, name)
    a, b = _operands(*shapes, dtype)
    fv = np.array(1.5 - 0.5j if np.dtype(dtype).kind == "c" else 1.5, dtype)
    x, k, fill = (npg.tensor(v, requires_grad=True) for v in (a, b, fv))
    y = getattr(npg.signal, name)(x, k, mode, "fill", fill)
    expected = sfn(a, b, mode, "fill", fv)
    assert y.dtype == expected.dtype and y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, **TOL[dtype])
    weights = RNG.standard_normal(y.shape)
    ((npg.real(y) if y.dtype.kind == "c" else y) * weights).sum().backward()
    assert fill.grad is not None, f"{name}: the gradient of the fill value was dropped"
    assert fill.grad.dtype == fill.dtype and fill.grad.shape == ()
    np.testing.assert_allclose(fill.grad, _fill_derivative(sfn, a, b, mode, weights), **TOL[dtype])
    # the other operands' gradients are those of the same call with a plain-number fill
    x2, k2 = npg.tensor(a, requires_grad=True), npg.tensor(b, requires_grad=True)
    y2 = getattr(npg.signal, name)(x2, k2, mode, "fill", fv.item())
    ((npg.real(y2) if y2.dtype.kind == "c" else y2) * weights).sum().backward()
    np.testing.assert_allclose(x.grad, x2.grad, **TOL[dtype])
    np.testing.assert_allclose(k.grad, k2.grad, **TOL[dtype])


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_fillvalue_tensor_unused_by_valid_mode_and_other_boundaries(name):
    """Where no sample is padded with the fill value (mode "valid", boundary "wrap" / "symm"), the result does not
    depend on it: the values are SciPy's and the fill gets no gradient (None, as torch's unused inputs)."""
    a, b = _operands((5, 6), (2, 3), np.float64)
    for mode, boundary in (("valid", "fill"), ("same", "wrap"), ("full", "symm")):
        fill = npg.tensor(2.5, requires_grad=True)
        x = npg.tensor(a, requires_grad=True)
        y = getattr(npg.signal, name)(x, b, mode, boundary, fill)
        np.testing.assert_allclose(y.data, getattr(ss, name)(a, b, mode, boundary, 2.5), rtol=1e-12, atol=1e-12)
        y.sum().backward()
        assert fill.grad is None and x.grad is not None


def test_2d_fillvalue_tensor_gradient_matches_finite_differences():
    a, b = _operands((4, 5), (3, 2), np.float64)
    weights = RNG.standard_normal((6, 6))

    def loss(v):
        return float(((npg.signal.convolve2d(a, b, "full", "fill", v) ** 2) * weights).sum().item())
    fill = npg.tensor(0.7, requires_grad=True)
    ((npg.signal.convolve2d(a, b, "full", "fill", fill) ** 2) * weights).sum().backward()
    h = 1e-6
    np.testing.assert_allclose(fill.grad, (loss(0.7 + h) - loss(0.7 - h)) / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_fillvalue_tangent_in_forward_mode(name):
    """npg.func.jvp in the fill value: the tangent is the change of the result per unit of fill (SciPy)."""
    a, b = _operands((4, 5), (2, 3), np.float64)
    fn = getattr(npg.signal, name)
    out, tangent = npg.func.jvp(lambda f: fn(a, b, "same", "fill", f), (npg.tensor(1.5),), (npg.tensor(2.0),))
    sfn = getattr(ss, name)
    np.testing.assert_allclose(out.data, sfn(a, b, "same", "fill", 1.5), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent.data, 2.0 * (sfn(a, b, "same", "fill", 1.0) - sfn(a, b, "same")),
                               rtol=1e-12, atol=1e-12)


FLAG_CALLS = [
    ("stft", dict(normalized="window")), ("stft", dict(normalized=1)), ("stft", dict(normalized=None)),
    ("stft", dict(onesided=1)), ("stft", dict(return_complex=1)),
    ("stft", dict(center=False, align_to_window=1)),
    ("istft", dict(normalized=1)), ("istft", dict(normalized="x")), ("istft", dict(onesided=1)),
    ("istft", dict(onesided="x")), ("istft", dict(return_complex=1)), ("istft", dict(return_complex=None)),
    ("istft", dict(center=0)), ("istft", dict(center="x")),
]


@pytest.mark.parametrize("op,kwargs", FLAG_CALLS, ids=str)
def test_stft_istft_flags_must_be_bools_as_torch(op, kwargs):
    x = RNG.standard_normal(40)
    spec = torch.stft(torch.tensor(x), 8, 2, return_complex=True).numpy()
    name = next(iter(k for k in kwargs if k != "center" or op == "istft"))
    if op == "stft":
        base = dict(return_complex=True) if "return_complex" not in kwargs else {}
        call_t = lambda: torch.stft(torch.tensor(x), 8, 2, **base, **kwargs)  # noqa: E731
        call_n = lambda: npg.stft(npg.tensor(x), 8, 2, **base, **kwargs)  # noqa: E731
    else:
        call_t = lambda: torch.istft(torch.tensor(spec), 8, 2, **kwargs)  # noqa: E731
        call_n = lambda: npg.istft(npg.tensor(spec), 8, 2, **kwargs)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError):
            call_t()
        with pytest.raises(TypeError, match=f"{op}: argument '{name}' must be a bool"):
            call_n()


def test_stft_istft_accept_numpy_bools_as_bools():
    x = RNG.standard_normal(40)
    ref = npg.stft(npg.tensor(x), 8, 2, normalized=True, onesided=False, return_complex=True)
    got = npg.stft(npg.tensor(x), 8, 2, normalized=np.True_, onesided=np.False_, return_complex=np.True_)
    np.testing.assert_array_equal(got.data, ref.data)
    np.testing.assert_allclose(got.data, torch.stft(torch.tensor(x), 8, 2, normalized=True, onesided=False,
                                                    return_complex=True).numpy(), rtol=1e-12, atol=1e-12)
    back = npg.istft(got, 8, 2, center=np.True_, normalized=np.True_, onesided=np.False_, length=40)
    np.testing.assert_allclose(back.data, x, rtol=1e-10, atol=1e-10)
