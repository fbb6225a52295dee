"""float16 gradients (and a few forward values) summed over a large axis are accumulated in float32, as torch.

NumPy adds float16 in float16 outside its contiguous pairwise loop, so a sum along a strided axis of 70,000 rows
drifts (conv2d's bias gradient was 43% off, softmax's gradient along dim 0 3x, vector_norm along dim 0 48%,
logsumexp 11%). Each check compares npgrad on float16 data with torch float64 on the same float16 numbers.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F

F16 = np.float16
N = 70_000
RNG = np.random.default_rng(1616)


def _f16(*shape, scale=1.0, shift=0.0):
    return (RNG.standard_normal(shape) * scale + shift).astype(F16)


def _check(fn, tfn, arrays, tol=1e-2):
    """npgrad's value and gradients on float16 ``arrays`` against torch float64's, relative to their largest."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    seed = (np.random.default_rng(7).standard_normal(y.shape) * 0.5 + 0.1).astype(F16)  # (sums stay < 65504)
    y.backward(npg.tensor(seed))
    ts = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    yt = tfn(*ts)
    yt.backward(torch.tensor(seed.astype(np.float64)))
    assert y.dtype == F16
    pairs = [(y.data, yt.detach().numpy())] + [(np.asarray(x.grad), t.grad.numpy()) for x, t in zip(xs, ts)]
    for got, want in pairs:
        assert got.dtype == F16 and np.all(np.isfinite(got))
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=tol * np.abs(want).max())


def test_conv2d_bias_gradient():
    x, w, b = _f16(N, 8, 1, 1), _f16(4, 8, 1, 1), _f16(4)
    _check(lambda *a: F.conv2d(*a), lambda *a: TF.conv2d(*a), [x, w, b])
    w = _f16(8, 4, 1, 1)
    _check(lambda *a: F.conv_transpose2d(*a), lambda *a: TF.conv_transpose2d(*a), [x, w, b])


def test_layer_norm_and_batch_norm_weight_and_bias_gradients():
    x, w, b = _f16(N, 8), (RNG.random(8) + 0.5).astype(F16), _f16(8)
    _check(lambda x, w, b: F.layer_norm(x, (8,), w, b), lambda x, w, b: TF.layer_norm(x, (8,), w, b), [x, w, b])
    _check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True), [x, w, b])


def test_embedding_weight_gradient_with_repeated_indices():
    idx = RNG.integers(0, 4, N)
    _check(lambda w: F.embedding(npg.tensor(idx), w), lambda w: TF.embedding(torch.tensor(idx), w), [_f16(4, 8)])


def test_cosine_similarity_and_normalize_over_a_long_strided_dim():
    a, b = _f16(N, 3), _f16(N, 3)
    _check(lambda a, b: F.cosine_similarity(a, b, dim=0), lambda a, b: TF.cosine_similarity(a, b, dim=0), [a, b])
    _check(lambda a: F.normalize(a, dim=0), lambda a: TF.normalize(a, dim=0), [a])
    _check(lambda a: npg.linalg.vector_norm(a, axis=0), lambda a: torch.linalg.vector_norm(a, dim=0), [a])


def test_scaled_dot_product_attention_with_many_keys_and_many_queries():
    q, k, v = _f16(1, 4, 16), _f16(1, N, 16, scale=0.1), _f16(1, N, 16)
    _check(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, [q, k, v])
    q, k, v = _f16(1, N, 16), _f16(1, 4, 16), _f16(1, 4, 16)
    _check(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, [q, k, v])


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_along_a_long_strided_dim(name):
    _check(lambda a: getattr(F, name)(a, 0), lambda a: getattr(TF, name)(a, 0), [_f16(N, 3)])


def test_logsumexp_along_a_long_strided_axis():
    _check(lambda a: npg.logsumexp(a, axis=0), lambda a: torch.logsumexp(a, 0), [_f16(N, 3)])


def test_float32_gradients_stay_float32_and_sum_long_axes_in_blocks():
    # a float32 gradient stays float32; summed over 40,000 batch rows its first axis is summed in blocks
    # (npgrad/_rowsum.py): NumPy's own sum of the seed, adding the rows one at a time, is 4e-6 off here, npgrad's 5e-7
    x, w, b = (RNG.standard_normal(s).astype(np.float32) for s in [(40000, 3, 1, 1), (4, 3, 1, 1), (4,)])
    xs = [npg.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*xs)
    g = (RNG.standard_normal(y.shape) + 3).astype(np.float32)
    y.backward(npg.tensor(g))
    assert xs[2].grad.dtype == np.float32
    exact = g.astype(np.float64).sum(axis=(0, 2, 3))
    assert np.abs(xs[2].grad - exact).max() <= 1.5e-6 * np.abs(exact).max()
    s = npg.tensor(x[:5000].reshape(5000, -1), requires_grad=True)
    out = F.softmax(s, 0)
    gs = RNG.standard_normal(out.shape).astype(np.float32)
    out.backward(npg.tensor(gs))
    yv = out.data
    np.testing.assert_array_equal(np.asarray(s.grad), (gs - np.add.reduce(gs * yv, axis=0, keepdims=True)) * yv)
