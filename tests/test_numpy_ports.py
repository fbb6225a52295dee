"""NumPy / SciPy code ported to npgrad the way a scientist ports it: plain ``np.`` calls on tensors (NumPy's
dispatch), in-place writes, fancy indexing, broadcasting. Each port's value is checked against the NumPy / SciPy
original (float64, ~1e-12) and its gradient against central finite differences of that original (or torch)."""
import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sla
import scipy.optimize as so
import scipy.signal as ssig
import scipy.special as ss
import torch

import npgrad as npg
from tests.helpers import assert_close


def fd_grad(f, x, h=1e-6):
    """Central finite differences of the NumPy original ``f`` at ``x``."""
    x = np.array(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def check_port(f, x0, h=1e-6, rtol_value=1e-12, atol_grad=1e-6):
    """``f`` written once with ``np.`` calls: on an array it is the NumPy original, on a tensor the port."""
    x0 = np.array(x0, float)
    want = f(x0)
    t = npg.tensor(x0)
    got = f(t)
    assert isinstance(got, npg.Tensor) and got.dtype == np.float64
    assert_close(got.item(), want, rtol=rtol_value, atol=rtol_value)
    got.backward()
    assert_close(t.grad, fd_grad(f, x0, h), rtol=1e-6, atol=atol_grad)


# ---------------------------------------------------------------- np.zeros_like / np.ones_like on a tensor

@pytest.mark.parametrize("fn", [np.zeros_like, np.ones_like])
def test_np_zeros_like_of_a_tensor_is_a_constant_tensor_taking_numpys_keywords(fn):
    t = npg.tensor(np.arange(6.0).reshape(2, 3))
    for kw in ({}, dict(dtype=np.float32), dict(shape=(4,)), dict(order="F"), dict(subok=True)):
        r = fn(t, **kw)
        want = fn(t.data, **kw)
        assert isinstance(r, npg.Tensor) and not r.requires_grad, kw
        assert r.dtype == want.dtype and r.shape == want.shape and np.array_equal(r.data, want), kw


def test_heat_equation_filled_into_np_zeros_like():
    # u_new = np.zeros_like(u); u_new[1:-1] = ...: the buffer must take tensor values and pass their gradient
    def heat(p, steps=30):
        u, D = p[1:] * 1.0, p[0]
        for _ in range(steps):
            un = np.zeros_like(u)
            un[1:-1] = u[1:-1] + D * (u[2:] - 2 * u[1:-1] + u[:-2])
            un[0], un[-1] = un[1], un[-2]                 # no-flux ends
            u = un
        return np.sum(u ** 2 * np.linspace(0, 1, len(u)))
    check_port(heat, np.concatenate([[0.2], np.sin(np.linspace(0, 3, 20))]))
