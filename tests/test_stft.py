"""``npg.stft`` / ``npg.istft`` (and the Tensor methods) and ``npg.fft.hfft2 / hfftn / ihfft2 / ihfftn`` against
PyTorch: values, dtypes, gradients of real losses w.r.t. the (real or complex) input and the window, JVPs, vmap,
the round trip istft(stft(x)) == x, and the errors (naming the op and the bad value)."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, no_vmap_fallback


def _data(rng, shape, dtype=np.float64, cplx=False):
    x = rng.standard_normal(shape)
    if cplx:
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(np.result_type(dtype, np.complex64) if cplx else dtype)


def _np(t):
    return t.detach().resolve_conj().numpy()


def _loss(out, weights, lib):
    """A real loss reading the real and imaginary parts (and |.|^2) of ``out``."""
    w1, w2 = weights
    if lib is torch:
        w1, w2 = torch.tensor(w1), torch.tensor(w2)
    if out.dtype in (torch.complex64, torch.complex128) or getattr(out.dtype, "kind", "") == "c":
        return (out.real * w1).sum() + (out.imag * w2).sum() + (abs(out) ** 2).sum() * 0.5
    return (out * w1).sum() + (out ** 2 * w2).sum()


def _compare(npg_fn, torch_fn, arrays, what, rtol=None):
    """Values, dtypes and gradients (of every array) of ``_loss`` against PyTorch."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    kw = {} if rtol is None else dict(rtol=rtol, atol=rtol)
    assert_close(out, _np(tout), what=f"{what} value", **kw)
    assert str(out.dtype) == str(tout.dtype).replace("torch.", ""), f"{what}: {out.dtype} vs {tout.dtype}"
    rng = np.random.default_rng(5)
    real = np.empty(0, out.dtype).real.dtype
    weights = (rng.standard_normal(out.shape).astype(real), rng.standard_normal(out.shape).astype(real))
    _loss(out, weights, npg).backward()
    _loss(tout, weights, torch).backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None and x.grad.dtype == x.dtype, f"{what}: gradient of input {i}"
        assert_close(x.grad, _np(t.grad), what=f"{what} grad of input {i}", **kw)


# ------------------------------------------------------------------------------ hfft2 hfftn ihfft2 ihfftn
HERMITIAN_CASES = [("hfftn", {}, {}), ("hfftn", dict(axes=(0, 2)), dict(dim=(0, 2))),
                   ("hfftn", dict(s=(4, 7), axes=(0, -1), norm="ortho"), dict(s=(4, 7), dim=(0, -1), norm="ortho")),
                   ("hfftn", dict(s=(3, 6)), dict(s=(3, 6))), ("hfftn", dict(s=(-1, -1), axes=(1, 2)),
                                                              dict(s=(-1, -1), dim=(1, 2))),
                   ("hfftn", dict(axes=(2, 0), norm="forward"), dict(dim=(2, 0), norm="forward")),
                   ("hfft2", {}, {}), ("hfft2", dict(s=(5, 4), norm="ortho"), dict(s=(5, 4), norm="ortho")),
                   ("ihfftn", {}, {}), ("ihfftn", dict(axes=(0, 2), norm="ortho"), dict(dim=(0, 2), norm="ortho")),
                   ("ihfftn", dict(s=(6, 3)), dict(s=(6, 3))), ("ihfftn", dict(s=(3, -1), axes=(0, 1)),
                                                                dict(s=(3, -1), dim=(0, 1))),
                   ("ihfft2", {}, {}), ("ihfft2", dict(s=(2, 9), norm="forward"), dict(s=(2, 9), norm="forward"))]


@pytest.mark.parametrize("name,kwargs,tkwargs", HERMITIAN_CASES)
@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hermitian_nd_transforms_match_torch(name, kwargs, tkwargs, cplx, dtype):
    if cplx and name.startswith("ihfft"):
        return
    x = _data(np.random.default_rng(1), (3, 4, 5), dtype, cplx)
    _compare(lambda v: getattr(npg.fft, name)(v, **kwargs), lambda v: getattr(torch.fft, name)(v, **tkwargs), [x],
             f"{name}{kwargs}", rtol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("name", ["hfftn", "ihfftn"])
def test_hermitian_nd_jvp_and_vmap(name):
    rng = np.random.default_rng(2)
    cplx = name == "hfftn"
    x, t = _data(rng, (3, 4, 5), cplx=cplx), _data(rng, (3, 4, 5), cplx=cplx)
    f = getattr(npg.fft, name)
    value, tangent = npg.func.jvp(lambda v: f(v, axes=(0, 2)), (npg.tensor(x),), (npg.tensor(t),))
    tvalue, ttangent = torch.func.jvp(lambda v: getattr(torch.fft, name)(v, dim=(0, 2)), (torch.tensor(x),),
                                      (torch.tensor(t),))
    assert_close(value, _np(tvalue)), assert_close(tangent, _np(ttangent))
    with no_vmap_fallback():
        out = npg.func.vmap(lambda v: f(v, s=(4, 6)))(npg.tensor(x))
    assert_close(out, np.stack([f(npg.tensor(v), s=(4, 6)).data for v in x]))


@pytest.mark.parametrize("call,match", [
    (lambda: npg.fft.hfftn(np.ones((2, 3), complex), axes=()), "hfftn: must transform at least one axis"),
    (lambda: npg.fft.hfftn(np.ones((), complex)), "hfftn: must transform at least one axis"),
    (lambda: npg.fft.ihfftn(np.ones((2, 3)), axes=(1, -1)), r"ihfftn: the axes must be unique, got \(1, 1\)"),
    (lambda: npg.fft.hfftn(np.ones((2, 3), complex), s=(2, 3), axes=(0,)), "hfftn: s=.*must have the same length"),
    (lambda: npg.fft.hfftn(np.ones((2, 1), complex)), "hfftn: invalid number of data points 0 for axis 1"),
    (lambda: npg.fft.ihfft2(np.ones((2, 3)), s=(0, 3)), "ihfftn: invalid number of data points 0 for axis 0"),
])
def test_hermitian_nd_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
    with pytest.raises(TypeError, match=r"ihfftn: the input must be real, got a complex128"):
        npg.fft.ihfftn(np.ones((2, 3), complex))
    with pytest.raises(np.exceptions.AxisError, match="hfftn"):
        npg.fft.hfftn(np.ones((2, 3), complex), axes=(5,))


# ------------------------------------------------------------------------------ complex unfold / fold
def test_complex_unfold_and_fold_gradients_match_torch():
    """(stft of a complex signal cuts its frames with unfold, istft with return_complex=True adds them with fold:
    both are linear with real coefficients, so complex gradients pass through them as they are.)"""
    rng = np.random.default_rng(13)
    z = _data(rng, (2, 11), cplx=True)
    _compare(lambda v: v.unfold(-1, 4, 3), lambda v: v.unfold(-1, 4, 3), [z], "complex Tensor.unfold")
    c = _data(rng, (1, 4, 5), cplx=True)
    _compare(lambda v: npg.nn.functional.fold(v, (1, 12), (1, 4), stride=(1, 2)),
             lambda v: torch.nn.functional.fold(v, (1, 12), (1, 4), stride=(1, 2)), [c], "complex fold")
    q = _data(rng, (1, 2, 3, 4), cplx=True)
    _compare(lambda v: npg.nn.functional.unfold(v, 2), lambda v: torch.nn.functional.unfold(v, 2), [q],
             "complex F.unfold")
