"""Edge cases users meet first (issue 12): exact NaN/inf behaviour at the edges of an op's domain,
clear errors, and the original npgrad's API. Every expected value comes from PyTorch or NumPy."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import func
from tests.helpers import assert_close

QUIET = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore:.*degrees of freedom:UserWarning")


def _value_and_grad(npg_fn, torch_fn, a, seed=0):
    """Value and gradient of ``sum(f(x) * w)`` in npgrad and PyTorch, for one input."""
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    out, tout = npg_fn(x), torch_fn(t)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape).astype(out.dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    return out, x.grad, tout.detach().numpy(), t.grad.numpy()


def _hvp(npg_fn, torch_fn, a, seed=0):
    """Second derivative along a direction, ``d/dx <grad sum(f(x) * w), v>``, in npgrad and PyTorch."""
    rng = np.random.default_rng(seed)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    out, tout = npg_fn(x), torch_fn(t)
    w = rng.uniform(0.5, 1.5, out.shape)
    v = rng.standard_normal(np.shape(a))
    (g,) = npg.autograd.grad(npg.sum(out * w), x, create_graph=True)
    (tg,) = torch.autograd.grad((tout * torch.tensor(w)).sum(), t, create_graph=True)
    (h,) = npg.autograd.grad(npg.sum(g * v), x)
    (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), t)
    return g, h, tg.detach().numpy(), th.numpy()


# ------------------------------------------------------------------ std / var at zero degrees of freedom
def _tdim(axis):
    return {} if axis is None else {"dim": axis}


STD_VAR_CASES = [
    # (name, array, axis, ddof)
    ("std", [3.0, 3.0, 3.0], None, 0),          # a constant vector: std 0, gradient 0 (not nan)
    ("std", [3.0, 3.0, 3.0], 0, 1),
    ("std", [3.0], None, 0),                    # one element
    ("std", [[3.0, 3.0], [1.0, 2.0]], 1, 0),    # one constant row among others
    ("std", [[2.0, 2.0, 2.0], [1.0, 5.0, 2.0]], 0, 0),
    ("std", [3.0], None, 1),                    # n == ddof: nan, as torch
    ("std", [1.0, 2.0], None, 3),               # ddof > n
    ("std", [1.0, 2.0], 0, 3),
    ("var", [3.0], None, 1),                    # was a bare ZeroDivisionError in backward; torch gives nan
    ("var", [3.0], 0, 1),
    ("var", [1.0, 2.0], None, 3),               # torch: inf (was finite)
    ("var", [1.0, 2.0], None, 2),
    ("var", [1.0, 1.0], None, 3),
    ("var", [[3.0, 3.0], [1.0, 2.0]], 1, 2),    # n == ddof over an axis: inf times the centred value
    ("var", [[3.0, 3.0], [1.0, 2.0]], 1, 0),
]


@QUIET
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,a,axis,ddof", STD_VAR_CASES)
def test_std_var_degenerate_against_torch(name, a, axis, ddof, dtype):
    a = np.array(a, dtype=dtype)
    tfn = getattr(torch, name)
    out, grad, tout, tgrad = _value_and_grad(lambda x: getattr(npg, name)(x, axis=axis, ddof=ddof),
                                             lambda t: tfn(t, correction=ddof, **_tdim(axis)), a)
    assert_close(out, tout)
    assert grad.dtype == dtype
    assert_close(grad, tgrad)
    # np.std / np.var dispatch to the same op, under func.grad too
    fgrad = func.grad(lambda x: np.sum(getattr(np, name)(x, axis=axis, ddof=ddof)))(a)
    assert_close(fgrad, _torch_sum_grad(tfn, a, axis, ddof))


def _torch_sum_grad(tfn, a, axis, ddof):
    t = torch.tensor(a, requires_grad=True)
    tfn(t, correction=ddof, **_tdim(axis)).sum().backward()
    return t.grad.numpy()


@QUIET
@pytest.mark.parametrize("name,a,axis,ddof", [c for c in STD_VAR_CASES if c[0] == "std" and c[3] == 0])
def test_std_second_derivative_at_zero_std_against_torch(name, a, axis, ddof):
    a = np.array(a)
    g, h, tg, th = _hvp(lambda x: npg.std(x, axis=axis, ddof=ddof),
                        lambda t: torch.std(t, correction=ddof, **_tdim(axis)), a)
    assert_close(g, tg)
    assert_close(h, th)
