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


# ---------------------------------------------------------------- ufunc methods: outer, reduce, accumulate, at

_W = np.random.default_rng(7).standard_normal((4, 5))


@pytest.mark.parametrize("ufunc", [np.subtract, np.multiply, np.add, np.hypot, np.arctan2, np.maximum])
def test_binary_ufunc_outer_on_tensors(ufunc):
    # pairwise differences as np.subtract.outer(x, x): shape a.shape + b.shape, differentiable in both
    def f(p):
        return np.sum(ufunc.outer(p[:4], p[4:]) * _W)
    check_port(f, np.random.default_rng(1).uniform(0.5, 2.0, 9))
    t = npg.tensor(np.ones((2, 3)))
    assert ufunc.outer(t, np.ones(4)).shape == (2, 3, 4)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.logaddexp, np.logaddexp2])
@pytest.mark.parametrize("kw", [{}, dict(axis=1), dict(axis=-1, keepdims=True), dict(axis=None), dict(axis=(0, 1))])
def test_ufunc_reduce_on_tensors(ufunc, kw):
    # np.add.reduce's axis defaults to 0 (np.sum's to None); np.logaddexp.reduce is an HMM's forward step
    def f(p):
        return np.sum(ufunc.reduce(p.reshape(4, 5), **kw) ** 2)
    check_port(f, np.random.default_rng(2).uniform(0.5, 1.5, 20), rtol_value=1e-12)
    want = ufunc.reduce(_W, **kw)
    got = ufunc.reduce(npg.tensor(_W), **kw)
    assert isinstance(got, npg.Tensor) and got.shape == np.shape(want)
    assert_close(got.data, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.logaddexp])
@pytest.mark.parametrize("kw", [{}, dict(axis=1), dict(axis=-1)])
def test_ufunc_accumulate_on_tensors(ufunc, kw):
    def f(p):
        return np.sum(ufunc.accumulate(p.reshape(4, 5), **kw) * _W)
    check_port(f, np.random.default_rng(3).uniform(0.5, 1.5, 20))
    got = ufunc.accumulate(npg.tensor(_W), **kw)
    assert_close(got.data, ufunc.accumulate(_W, **kw), rtol=1e-13, atol=1e-13)


def test_np_add_at_and_subtract_at_on_tensors():
    # the scatter-add idiom: repeated indices accumulate, as in NumPy
    idx = np.array([0, 2, 2, 5, 0, 0])
    rows, cols = np.array([0, 1, 1, 2]), np.array([3, 0, 0, 1])

    def f(p):
        out = np.zeros_like(p[:6]) * 1.0 + p[6:12]       # a buffer with a gradient of its own
        np.add.at(out, idx, p[:6] ** 2)
        np.subtract.at(out, [1, 1], 0.5 * p[12])
        grid = np.ones((3, 4)) * p[13]
        np.add.at(grid, (rows, cols), p[14:18])
        np.add.at(grid, (slice(None), 2), 1.5)
        return np.sum(out * np.arange(1.0, 7.0)) + np.sum(grid * _W[:3, :4])
    check_port(f, np.random.default_rng(4).standard_normal(18))
    t = npg.tensor(np.zeros(3), requires_grad=False)
    np.add.at(t, [0, 0, 2], np.array([1.0, 2.0, 3.0]))
    assert_close(t.data, [3.0, 0.0, 3.0])
    with pytest.raises(RuntimeError, match="add.at"):
        np.add.at(npg.tensor(np.zeros(3)), [0], 1.0)      # a leaf that requires grad refuses, as x[0] += 1
