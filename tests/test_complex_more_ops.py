"""Complex sigmoid, sinc, arccosh and logsumexp with gradients, against PyTorch (values, torch's conjugate
Wirtinger gradients, second order, forward mode), including arccosh left of the imaginary axis, where
1/sqrt(z**2 - 1) is not its derivative (1/(sqrt(z - 1) sqrt(z + 1)) is)."""
import numpy as np
import pytest
import torch

import npgrad as npg

RNG = np.random.default_rng(0)
Z = (RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))) * 1.5
Z[0, :] = [-2 + 0.5j, -0.3 - 1.2j, -3 - 0.01j, 0.2 + 0.0j]   # left half-plane and near the real axis
OPS = {
    "sigmoid": (npg.sigmoid, torch.sigmoid),
    "sinc": (npg.sinc, torch.sinc),
    "arccosh": (npg.arccosh, torch.acosh),
    "logsumexp": (lambda z: npg.logsumexp(z, axis=1), lambda z: torch.logsumexp(z, 1)),
}


def _loss(lib, y):
    return (lib.abs(y) ** 2).sum() if lib is npg else (y.abs() ** 2).sum()


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", sorted(OPS))
def test_complex_values_and_gradients_match_torch(name, dtype):
    f, tf = OPS[name]
    z0 = Z.astype(dtype)
    z, tz = npg.tensor(z0), torch.tensor(z0, requires_grad=True)
    y, ty = f(z), tf(tz)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.complex128 else dict(rtol=2e-4, atol=2e-5)
    assert y.dtype == dtype
    yv, tyv = y.data, ty.detach().numpy()
    if name == "logsumexp":   # (the log's imaginary part is defined up to 2 pi: compare exp of it)
        yv, tyv = np.exp(yv), np.exp(tyv)
    np.testing.assert_allclose(yv, tyv, **tol)
    _loss(npg, y).backward()
    _loss(torch, ty).backward()
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), **tol)


@pytest.mark.parametrize("name", sorted(OPS))
def test_complex_second_order_and_forward_mode_match_torch(name):
    f, tf = OPS[name]
    z, tz = npg.tensor(Z), torch.tensor(Z, requires_grad=True)
    (g,) = npg.autograd.grad(_loss(npg, f(z)), [z], create_graph=True)
    (tg,) = torch.autograd.grad(_loss(torch, tf(tz)), [tz], create_graph=True)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    (gg,) = npg.autograd.grad((g.real * g.imag).sum(), [z])
    (tgg,) = torch.autograd.grad((tg.real * tg.imag).sum(), [tz])
    np.testing.assert_allclose(gg, tgg.numpy(), rtol=1e-9, atol=1e-11)
    v = (RNG.standard_normal(Z.shape) + 1j * RNG.standard_normal(Z.shape))
    _, t = npg.func.jvp(f, (npg.tensor(Z),), (npg.tensor(v),))
    _, tt = torch.func.jvp(tf, (torch.tensor(Z),), (torch.tensor(v),))
    np.testing.assert_allclose(t.data, tt.numpy(), rtol=1e-10, atol=1e-12)


def test_complex_sinc_at_zero_and_real_inputs_unchanged():
    z, tz = npg.tensor(np.array([0j, 1e-9 + 0j, 0.5 + 0.5j])), torch.tensor(np.array([0j, 1e-9 + 0j, 0.5 + 0.5j]),
                                                                           requires_grad=True)
    y, ty = npg.sinc(z), torch.sinc(tz)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    _loss(npg, y).backward()
    _loss(torch, ty).backward()
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-9, atol=1e-12)
    x = np.array([1.5, 2.0, 7.0])   # real arccosh: the derivative's new form gives the same values as torch's
    t, tt = npg.tensor(x), torch.tensor(x, requires_grad=True)
    npg.arccosh(t).sum().backward()
    torch.acosh(tt).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-14)
