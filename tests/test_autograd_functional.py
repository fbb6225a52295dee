"""npg.autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp) against torch.autograd.functional: values,
result structure (tensor or tuples), create_graph (differentiating the result), strict mode, errors."""
import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

import npgrad as npg
import npgrad.autograd.functional as AF

R = np.random.default_rng(0)
A0, B0 = R.standard_normal((2, 3)), R.standard_normal(3)


def two_outputs(lib):
    return lambda a, b: ((lib.tanh(a) * b).sum(-1), a[0] * b)


def scalar(lib):
    return lambda a, b: (lib.tanh(a) * b).sum() + (a ** 2).sum() * b.sum()


def one_to_one(lib):
    return lambda a: lib.sin(a) * a


def _same(got, expected, where="result"):
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(expected), where
        for k, (g, e) in enumerate(zip(got, expected)):
            _same(g, e, f"{where}[{k}]")
        return
    assert isinstance(got, npg.Tensor), where
    np.testing.assert_allclose(got.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=where)


def _args(tuple_inputs):
    if tuple_inputs:
        return (npg.tensor(A0), npg.tensor(B0)), (torch.tensor(A0), torch.tensor(B0))
    return npg.tensor(A0), torch.tensor(A0)


@pytest.mark.parametrize("fn", ["jacobian", "hessian"])
@pytest.mark.parametrize("tuple_inputs", [False, True])
def test_jacobian_and_hessian(fn, tuple_inputs):
    ins, t_ins = _args(tuple_inputs)
    if fn == "jacobian":
        f = two_outputs if tuple_inputs else one_to_one
    else:
        f = scalar if tuple_inputs else (lambda lib: lambda a: (lib.tanh(a) ** 3).sum())
    _same(getattr(AF, fn)(f(npg), ins), getattr(TAF, fn)(f(torch), t_ins))


@pytest.mark.parametrize("fn", ["vjp", "jvp", "hvp", "vhp"])
def test_products(fn):
    ins, t_ins = _args(True)
    if fn == "vjp":
        v = (R.standard_normal(2), R.standard_normal(3))
        f = two_outputs
    else:
        v = (R.standard_normal((2, 3)), R.standard_normal(3))
        f = two_outputs if fn == "jvp" else scalar
    got = getattr(AF, fn)(f(npg), ins, tuple(npg.tensor(x) for x in v))
    _same(got, getattr(TAF, fn)(f(torch), t_ins, tuple(torch.tensor(x) for x in v)))


@pytest.mark.parametrize("fn", ["jacobian", "hessian", "hvp", "vjp"])
def test_create_graph_results_are_differentiable(fn):
    a, ta = npg.tensor(A0), torch.tensor(A0, requires_grad=True)
    f = (lambda lib: lambda x: (lib.sin(x) * x).sum()) if fn in ("hessian", "hvp", "vjp") else one_to_one
    extra = () if fn in ("jacobian", "hessian", "vjp") else (npg.tensor(B0 * np.ones((2, 1))),)
    t_extra = () if not extra else (torch.tensor(B0 * np.ones((2, 1))),)
    got = getattr(AF, fn)(f(npg), a, *extra, create_graph=True)
    expected = getattr(TAF, fn)(f(torch), ta, *t_extra, create_graph=True)
    got, expected = (got[1], expected[1]) if isinstance(got, tuple) else (got, expected)
    (got ** 2).sum().backward()
    (expected ** 2).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12)


def test_strict_mode_and_zero_blocks_like_torch():
    ins, t_ins = _args(True)
    _same(AF.jacobian(lambda a, b: a * 2, ins), TAF.jacobian(lambda a, b: a * 2, t_ins))   # zeros for b
    with pytest.raises(RuntimeError, match="independent of input 1"):
        TAF.jacobian(lambda a, b: a * 2, t_ins, strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, ins, strict=True)


def test_errors_like_torch():
    a, ta = npg.tensor(A0), torch.tensor(A0)
    with pytest.raises(RuntimeError, match="v can only be None"):
        TAF.vjp(lambda x: x * 2, ta)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda x: x * 2, a)
    with pytest.raises(RuntimeError, match="single element"):
        TAF.hessian(lambda x: x * 2, ta)
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(lambda x: x * 2, a)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        AF.jacobian(lambda x: x, a, strategy="forward-mode")


def test_inference_mode_like_torch():
    x, tx = npg.tensor(A0), torch.tensor(A0, requires_grad=True)
    with npg.inference_mode():
        assert npg.is_inference_mode_enabled() and not npg.is_grad_enabled()
        y = x * 2
    with torch.inference_mode():
        ty = tx * 2
    assert y.requires_grad == ty.requires_grad == False    # noqa: E712
    with npg.inference_mode(False):
        assert not npg.is_inference_mode_enabled() and npg.is_grad_enabled()
    assert not npg.is_inference_mode_enabled() and npg.is_grad_enabled()

    @npg.inference_mode()
    def f(t):
        return t * 3, npg.is_inference_mode_enabled()
    out, inside = f(x)
    assert inside and not out.requires_grad and npg.is_grad_enabled()
