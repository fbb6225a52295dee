"""Adversarial review of the torch-surface additions (npg.special's torch names, npgrad.testing,
npgrad.nn.attention, the aten functionals and torch's older linalg names): sweeps against torch 2.13 (values,
dtypes, gradients in float32 and float64), SciPy and finite differences, over edge cases (0, negative, large
|x| where the kernels switch methods, n = 0 / 1 / large / negative / non-integer degrees, 0-d and empty inputs,
broadcasting, batches, singular and non-positive-definite matrices), and the bugs found on the way."""
import warnings

import numpy as np
import pytest
import scipy.special as sp
import torch

import npgrad as npg

_TDT = {np.float32: torch.float32, np.float64: torch.float64}
_TOL = {np.float32: 2e-5, np.float64: 1e-11}


def _np(x):
    return np.asarray(x.data if isinstance(x, npg.Tensor) else x)


def _grad(f, x):
    t = npg.tensor(x, requires_grad=True)
    (g,) = npg.autograd.grad(f(t).sum(), [t])
    return _np(g)


def _central(f, x, h):
    return (_np(f(x + h)).astype(np.float64) - _np(f(x - h)).astype(np.float64)) / (2 * h)


# ------------------------------------------------------------------------------------------- airy_ai
def test_airy_ai_at_the_taylor_table_end():
    # x = -21.5 rounds (half to even) to the center -22, one past the tabulated -3 .. -21: it raised IndexError
    # (for the whole array it was in)
    x = np.array([-21.5, -21.49999, -21.50001, -3.5, -4.5, -20.5, -2.5000001, 0.3])
    out = _np(npg.special.airy_ai(x))
    ai, aip = sp.airy(x)[:2]
    np.testing.assert_allclose(out, ai, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_grad(npg.special.airy_ai, x), aip, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_np(npg.special.airy_ai(np.float32(-21.5))),
                               torch.special.airy_ai(torch.tensor(-21.5)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_airy_ai_sweep_against_scipy_and_torch(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([np.arange(-22.0, 3.0, 0.5), [-1e4, -100.0, -30.0, 1.5, 1.5000001, 10.0, 50.0, 120.0],
                        rng.uniform(-40, 10, 400)]).astype(dtype)
    out = _np(npg.special.airy_ai(x))
    assert out.dtype == dtype
    ref = sp.airy(x.astype(np.float64))[0]
    # npgrad is at least as close to SciPy as torch is (torch's own error reaches 1e-4 relative in float64)
    err = np.abs(out - ref)
    terr = np.abs(torch.special.airy_ai(torch.tensor(x)).numpy().astype(np.float64) - ref)
    assert np.all(err <= np.maximum(terr, 4e-7 if dtype == np.float32 else 1e-11 * np.maximum(1, np.abs(x))))


# ------------------------------------------------------------------------------------------- torch.special's call forms
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_logsumexp_softmax_logit_take_torch_special_arguments(dtype):
    # torch.special.logsumexp(input, dim, keepdim): the positional keepdim=True was read as SciPy's b=True
    # (weights of one), so the result silently lost the kept dim; dim= / keepdim= / eps= / dtype= were TypeErrors
    x = np.random.default_rng(1).standard_normal((3, 3)).astype(dtype)
    S, T = npg.special, torch.special
    cases = [(lambda m, v: m.logsumexp(v, 1, True)), (lambda m, v: m.logsumexp(v, dim=0, keepdim=True)),
             (lambda m, v: m.logsumexp(v, dim=(0, 1))), (lambda m, v: m.softmax(v, dim=0)),
             (lambda m, v: m.log_softmax(v, dim=1)), (lambda m, v: m.softmax(v, 1, dtype=np.float64 if m is S
                                                                          else torch.float64)),
             (lambda m, v: m.logit(v * 0.3 + 0.5, eps=0.2)), (lambda m, v: m.logit(v * 0.3 + 0.5))]
    for case in cases:
        xn, xt = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = case(S, xn), case(T, xt)
        assert out.shape == tuple(ref.shape) and out.dtype == torch.empty(0, dtype=ref.dtype).numpy().dtype
        np.testing.assert_allclose(_np(out), ref.detach().numpy(), rtol=_TOL[dtype], atol=_TOL[dtype])
        w = np.random.default_rng(2).standard_normal(out.shape).astype(out.dtype)
        (g,) = npg.autograd.grad((out * npg.tensor(w, requires_grad=False)).sum(), [xn])
        (gt,) = torch.autograd.grad((ref * torch.tensor(w)).sum(), [xt])
        np.testing.assert_allclose(_np(g), gt.numpy(), rtol=20 * _TOL[dtype], atol=20 * _TOL[dtype])
    # SciPy's forms are unchanged: b weights (an array) and axis
    b = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(_np(S.logsumexp(x.astype(np.float64), 1, b)), sp.logsumexp(x.astype(np.float64), 1, b),
                               rtol=1e-12)
    np.testing.assert_allclose(_np(S.softmax(x, axis=0)), sp.softmax(x, axis=0), rtol=1e-5)
    with pytest.raises(TypeError, match="axis"):
        S.softmax(x, 0, dim=1)
    with pytest.raises(TypeError, match="keepdim"):
        S.logsumexp(x, 1, True, keepdim=True)
