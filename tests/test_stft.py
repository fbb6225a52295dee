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
