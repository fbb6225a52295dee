"""Histogram bin edges move with the data's min and max when NumPy derives them from those (npgrad/ops/nondiff.py:
bin_edges), and density values with the edges' widths: values NumPy's exactly, gradients central differences'.
Before, the edges were constants and a loss that read them lost that part of its gradient without a word. (Also
``np.ix_`` of float tensors, another index helper that returned constants of its inputs' values.)"""
import numpy as np
import pytest
import torch

import npgrad as npg

X0 = np.array([0.1, 0.52, 0.93, 0.3, 0.77, 0.4])


def _fd(f, x0, eps=1e-6):
    g = np.zeros_like(x0)
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = eps
        g[i] = (f(x0 + e) - f(x0 - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("bins", [3, 5, "auto", "sturges"])
@pytest.mark.parametrize("density", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_edges_and_density_follow_the_data(bins, density, dtype):
    x = npg.tensor(X0.astype(dtype))
    h, e = npg.histogram(x, bins=bins, density=density)
    h_np, e_np = np.histogram(X0.astype(dtype), bins=bins, density=density)
    np.testing.assert_array_equal(h.data, h_np)
    np.testing.assert_array_equal(e.data, e_np)
    assert e.dtype == e_np.dtype and e.requires_grad
    we = np.linspace(1.0, 2.0, e.size)
    wh = np.linspace(-1.0, 1.0, h.size)
    loss = npg.sum(e * we) + (npg.sum(h * wh) if density else 0.0)

    def f(v):
        hv, ev = np.histogram(v, bins=bins, density=density)
        return np.sum(ev * we) + (np.sum(hv * wh) if density else 0.0)
    loss.backward()
    np.testing.assert_allclose(x.grad, _fd(f, X0), rtol=1e-3 if dtype == np.float32 else 1e-6, atol=1e-4)


def test_bin_edges_through_numpy_and_ties():
    x0 = np.array([0.2, 0.9, 0.9, 0.5])
    x = npg.tensor(x0)
    e = np.histogram_bin_edges(x, bins=4)
    np.testing.assert_array_equal(e.data, np.histogram_bin_edges(x0, bins=4))
    npg.sum(e).backward()
    frac = np.linspace(0, 1, 5)
    np.testing.assert_allclose(x.grad, [np.sum(1 - frac), np.sum(frac) / 2, np.sum(frac) / 2, 0.0])


def test_edges_given_are_passed_through_and_range_gives_constants():
    x = npg.tensor(X0)
    b = npg.tensor([0.0, 0.5, 1.0])
    h, e = npg.histogram(x, bins=b)
    npg.sum(e * np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_allclose(b.grad, [1.0, 2.0, 3.0])
    _, e2 = npg.histogram(x, bins=4, range=(0.0, 1.0))
    assert not e2.requires_grad
    assert not npg.histogram(npg.tensor([1, 2, 2, 3]), bins=2)[1].requires_grad
    with pytest.raises(TypeError, match="histogram: not differentiable in weights"):
        npg.histogram(x, weights=npg.tensor(np.ones(6)))


@pytest.mark.parametrize("density", [False, True])
def test_histogram2d_and_dd_edges_follow_each_coordinate(density):
    rng = np.random.default_rng(3)
    x0, y0 = rng.uniform(0, 1, 7), rng.uniform(0, 2, 7)
    x, y = npg.tensor(x0), npg.tensor(y0)
    h, xe, ye = npg.histogram2d(x, y, bins=(3, 2), density=density)
    hn, xen, yen = np.histogram2d(x0, y0, bins=(3, 2), density=density)
    for got, want in ((h, hn), (xe, xen), (ye, yen)):
        np.testing.assert_array_equal(got.data, want)
    w = rng.standard_normal(h.shape)

    def f(a, b):
        hv, xv, yv = np.histogram2d(a, b, bins=(3, 2), density=density)
        return np.sum(hv * w) + np.sum(xv * np.arange(4.0)) + np.sum(yv * np.arange(3.0))
    (npg.sum(h * w) + npg.sum(xe * np.arange(4.0)) + npg.sum(ye * np.arange(3.0))).backward()
    np.testing.assert_allclose(x.grad, _fd(lambda v: f(v, y0), x0), atol=1e-6)
    np.testing.assert_allclose(y.grad, _fd(lambda v: f(x0, v), y0), atol=1e-6)
    s = npg.tensor(np.stack([x0, y0], 1))
    hd, ed = np.histogramdd(s, bins=(3, 2), density=density)
    np.testing.assert_array_equal(hd.data, hn)
    (npg.sum(hd * w) + npg.sum(ed[0] * np.arange(4.0)) + npg.sum(ed[1] * np.arange(3.0))).backward()
    np.testing.assert_allclose(s.grad, np.stack([x.grad, y.grad], 1), atol=1e-9)


def test_explicit_edges_as_numbers_are_constants():
    x = npg.tensor(X0)
    h, e = npg.histogram(x, bins=[0.0, 0.5, 1.0])
    assert not e.requires_grad and not h.requires_grad
    _, xe, _ = npg.histogram2d(x, x, bins=[[0.0, 0.5, 1.0], [0.0, 1.0]])
    assert not xe.requires_grad


def test_torch_style_histogram_method():
    x0 = np.array([0.1, 0.5, 0.9, 0.3], np.float32)
    x = npg.tensor(x0)
    h, e = x.histogram(bins=3, density=True)
    th, te = torch.tensor(x0).histogram(bins=3, density=True)
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.data, te.numpy(), rtol=1e-6)
    assert h.dtype == e.dtype == np.float32
    npg.sum(e * np.arange(4.0, dtype=np.float32)).backward()
    frac = np.linspace(0, 1, 4)
    np.testing.assert_allclose(x.grad, [np.sum((1 - frac) * np.arange(4.0)), 0, np.sum(frac * np.arange(4.0)), 0],
                               rtol=1e-6)
    with pytest.raises(TypeError, match="histogram: not differentiable in weight"):
        x.histogram(3, weight=npg.tensor(np.ones(4, np.float32)))


def test_ix_of_float_tensors_passes_the_gradient():
    a, b = npg.tensor([1.0, 2.0]), npg.tensor([3.0, 4.0, 5.0])
    ra, rb = np.ix_(a, b)
    np.testing.assert_array_equal(ra.data, np.ix_(a.data, b.data)[0])
    npg.sum(ra * rb).backward()
    np.testing.assert_allclose(a.grad, [12.0, 12.0])
    np.testing.assert_allclose(b.grad, [3.0, 3.0, 3.0])
    assert not np.ix_(npg.tensor([0, 1]))[0].requires_grad


def test_histogramdd_of_a_1d_sample():
    x = npg.tensor(X0)
    h, (e,) = np.histogramdd(x, bins=3)
    hn, (en,) = np.histogramdd(X0, bins=3)
    np.testing.assert_array_equal(h.data, hn)
    np.testing.assert_array_equal(e.data, en)
    npg.sum(e).backward()
    want = np.zeros_like(X0)
    want[np.argmin(X0)], want[np.argmax(X0)] = 2.0, 2.0   # each of the 4 edges: (1 - k/3) min + (k/3) max
    np.testing.assert_allclose(x.grad, want)
