"""Adversarial review (round 2) of ``npg.fft`` and complex autograd: values against NumPy, gradients against
torch (PyTorch's conjugate Wirtinger convention)."""
import numpy as np
import pytest
import torch

import npgrad as npg


def _torch_grads(loss_t, *xs):
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    loss_t(*ts).backward()
    return [t.grad.resolve_conj().numpy() for t in ts]


@pytest.mark.parametrize("base", [1 + 1j, -2 + 0.5j, 2j, -3 + 0j])
@pytest.mark.parametrize("cplx_exp", [False, True])
def test_complex_python_base_to_a_tensor_power_matches_torch(base, cplx_exp):
    # (1+1j) ** b raised TypeError "'<' not supported between 'complex' and 'int'" in backward
    rng = np.random.default_rng(0)
    b = rng.standard_normal(4)
    if cplx_exp:
        b = b + 1j * rng.standard_normal(4)
    bn = npg.tensor(b)
    y = base ** bn
    loss = (y.real * 1.3 + y.imag ** 2 * 0.7).sum()
    loss.backward()
    expected, = _torch_grads(lambda t: ((base ** t).real * 1.3 + (base ** t).imag ** 2 * 0.7).sum(), b)
    assert bn.grad.dtype == expected.dtype
    np.testing.assert_allclose(bn.grad, expected, rtol=1e-12, atol=1e-12)


def test_complex_python_base_power_jvp_and_second_order_match_torch():
    b = np.array([0.3 - 0.2j, 1.1 + 0.4j, -0.7 + 0.1j])
    v = np.array([1.0 + 0.5j, -0.3 + 0.2j, 0.4 - 1.0j])
    _, tangent = npg.func.jvp(lambda t: (1 - 2j) ** t, (npg.tensor(b),), (npg.tensor(v),))
    _, expected = torch.func.jvp(lambda t: (1 - 2j) ** t, (torch.tensor(b),), (torch.tensor(v),))
    np.testing.assert_allclose(tangent.data, expected.resolve_conj().numpy(), rtol=1e-12)
    bn = npg.tensor(b)
    g, = npg.autograd.grad(npg.abs((1 - 2j) ** bn).sum() ** 2, [bn], create_graph=True)
    h, = npg.autograd.grad((g * np.conj(v)).real.sum(), [bn])
    bt = torch.tensor(b, requires_grad=True)
    gt, = torch.autograd.grad(((1 - 2j) ** bt).abs().sum() ** 2, [bt], create_graph=True)
    ht, = torch.autograd.grad((gt * torch.tensor(v).conj()).real.sum(), [bt])
    np.testing.assert_allclose(g.data, gt.detach().resolve_conj().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h, ht.resolve_conj().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2"])
@pytest.mark.parametrize("kwargs,match", [(dict(s=(3, 4), axes=None), "`axes` should not be `None` if `s`"),
                                          (dict(s=(3, None), axes=(0, 1)), "containing `None` values to `s`")])
def test_nd_deprecated_s_forms_warn_as_numpy(name, kwargs, match):
    # NumPy 2 deprecates s without axes and None inside s (their meaning will change); npgrad gave no warning
    x = np.random.default_rng(3).standard_normal((4, 6))
    with pytest.warns(DeprecationWarning, match=match):
        expected = getattr(np.fft, name)(x, **kwargs)
    with pytest.warns(DeprecationWarning, match=match):
        y = getattr(npg.fft, name)(npg.tensor(x), **kwargs)
    np.testing.assert_array_equal(y.data, expected)
    with pytest.warns(DeprecationWarning, match=match):  # through NumPy's dispatch too
        getattr(np.fft, name)(npg.tensor(x), **kwargs)


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, ()])
def test_shift_of_a_0d_tensor_names_the_op(name, axes):
    # NumPy fails deep inside np.roll ("not enough values to unpack"); npgrad passed that error through
    with pytest.raises(ValueError):
        getattr(np.fft, name)(np.float64(2.0), axes=axes)
    with pytest.raises(ValueError, match=f"{name}: the input must have at least one dimension, got a 0-d tensor"):
        getattr(npg.fft, name)(npg.tensor(2.0), axes=axes)


@pytest.mark.parametrize("call", [lambda m, x: m.fft(x, n=True), lambda m, x: m.irfft(x, n=np.bool_(True)),
                                  lambda m, x: m.fftn(x, s=(True,), axes=(0,))])
def test_a_bool_number_of_points_is_refused_as_numpy(call):
    # NumPy and torch raise TypeError for n=True; npgrad took it as n=1 and returned a 1-point transform
    with pytest.raises(TypeError):
        call(np.fft, np.ones(3))
    with pytest.raises(TypeError, match="the number of points n must be an int, got (np.)?True"):
        call(npg.fft, npg.tensor(np.ones(3)))
