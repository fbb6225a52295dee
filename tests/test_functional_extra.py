"""npgrad.nn.functional pieces no other test exercised, against torch.nn.functional: pad's PyTorch-order
widths, normalize, one_hot, flatten, conv_transpose3d, the 3-D adaptive pools, and attention dropout
(F.scaled_dot_product_attention's dropout_p and nn.MultiheadAttention's dropout)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close, check_finite_difference, compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------------------------- pad
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, pad", [((3,), (1, 2)), ((2, 3), (0, 3)), ((2, 3), (1, 0, 2, 1)),
                                        ((2, 3, 4), (2, 1, 0, 0, 1, 3)), ((1, 2, 3, 4), (1, 1)),
                                        ((1, 2, 3, 4), (0, 1, 2, 0, 1, 1)), ((2, 0, 3), (1, 1, 1, 1)), ((3,), ())])
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_pad_takes_torch_order_widths(dtype, shape, pad, value):
    """(left, right) of the last dim first, then the one before: the reverse of np.pad's order."""
    compare_with_torch(lambda x: F.pad(x, pad, value=value), lambda t: TF.pad(t, pad, value=value),
                       [rnd(shape, dtype)], what=f"pad {shape} {pad}")


@pytest.mark.parametrize("pad", [(1,), (1, 1, 1), (1, 1, 1, 1, 1, 1)])
def test_pad_bad_widths_are_errors_as_torch(pad):
    with pytest.raises(RuntimeError):
        TF.pad(torch.ones(2, 3), pad)
    with pytest.raises(ValueError, match=r"pad: padding"):
        F.pad(npg.ones(2, 3), pad)


# ------------------------------------------------------------------------------------------- normalize
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5])
@pytest.mark.parametrize("dim", [1, 0, -1])
def test_normalize_against_torch(dtype, p, dim):
    compare_with_torch(lambda x: F.normalize(x, p=p, dim=dim), lambda t: TF.normalize(t, p=p, dim=dim),
                       [rnd((3, 4, 2), dtype)], what=f"normalize p={p} dim={dim}")


@pytest.mark.parametrize("eps", [1e-12, 0.5, 10.0])
def test_normalize_eps_bounds_the_norm_below_as_torch(eps):
    a = rnd((4, 3)) * np.array([[1.0], [0.01], [0.2], [3.0]])  # rows with norms on both sides of eps
    compare_with_torch(lambda x: F.normalize(x, dim=1, eps=eps), lambda t: TF.normalize(t, dim=1, eps=eps), [a],
                       what=f"normalize eps={eps}")


def test_normalize_finite_differences():
    check_finite_difference(lambda x: F.normalize(x, p=3.0, dim=0), [rnd((3, 2))])


def test_normalize_zero_vector_gradient_as_torch():
    a = np.zeros((2, 3))
    a[1] = [1.0, 2.0, 2.0]
    compare_with_torch(lambda x: F.normalize(x, dim=1), lambda t: TF.normalize(t, dim=1), [a],
                       what="normalize zero row")


def test_normalize_infinity_norm_as_torch():
    compare_with_torch(lambda x: F.normalize(x, p=math.inf, dim=1), lambda t: TF.normalize(t, p=math.inf, dim=1),
                       [rnd((3, 4))], what="normalize p=inf")


# ------------------------------------------------------------------------------------------- one_hot
@pytest.mark.parametrize("idx", [np.array(2), np.array([0, 2, 1, 2]), np.array([[0, 3], [1, 1], [2, 0]]),
                                 np.zeros((0,), np.int64), np.zeros((2, 0), np.int64)],
                         ids=["0d", "1d", "2d", "empty", "empty2d"])
@pytest.mark.parametrize("num_classes", [-1, 4, 6])
def test_one_hot_against_torch(idx, num_classes):
    if idx.size == 0 and num_classes == -1:
        with pytest.raises(RuntimeError):  # torch cannot infer the classes of an empty tensor
            TF.one_hot(torch.tensor(idx), num_classes)
        return
    out = F.one_hot(npg.tensor(idx), num_classes)
    tout = TF.one_hot(torch.tensor(idx), num_classes)
    assert out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.data, tout.numpy())
    np.testing.assert_array_equal(F.one_hot(idx, num_classes).data, tout.numpy())  # a NumPy array too


@pytest.mark.parametrize("idx", [[1, 5], [1, -1]])
def test_one_hot_out_of_range_is_an_error_as_torch(idx):
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(idx), 3)
    with pytest.raises((ValueError, IndexError)):
        F.one_hot(npg.tensor(np.array(idx)), 3)


# ------------------------------------------------------------------------------------------- flatten
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, start, end", [((2, 3, 4, 5), 0, -1), ((2, 3, 4, 5), 1, -1), ((2, 3, 4, 5), 1, 2),
                                               ((2, 3, 4, 5), -3, -2), ((2, 3, 4, 5), 2, 2), ((3,), 0, -1),
                                               ((), 0, -1), ((2, 0, 3), 0, 1)])
def test_flatten_against_torch(dtype, shape, start, end):
    compare_with_torch(lambda x: F.flatten(x, start, end), lambda t: torch.flatten(t, start, end),
                       [rnd(shape, dtype)], what=f"flatten {shape} {start} {end}")
    compare_with_torch(lambda x: nn.Flatten(start, end)(x), lambda t: torch.nn.Flatten(start, end)(t),
                       [rnd(shape, dtype)], what="nn.Flatten")


# ------------------------------------------------------------------------------------------- conv_transpose3d
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-9, atol=1e-10)}


def _check_grads(fn, tfn, arrays, dtype, what):
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), err_msg=f"{what} value", **TOL[dtype])
    assert out.dtype == dtype
    v = rnd(out.shape, dtype, 99)
    npg.sum(out * v).backward()
    (tout * torch.tensor(v)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad, t.grad.numpy(), err_msg=f"{what} grad {i}", **TOL[dtype])
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, kw", [
    ((2, 3, 3, 4, 2), (3, 2, 2, 2, 2), dict()),
    ((1, 2, 3, 3, 3), (2, 3, 3, 2, 1), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 2, 3, 2), (4, 1, 2, 3, 2), dict(groups=2, stride=(1, 2, 3), padding=(0, 1, 1), dilation=(2, 1, 1))),
    ((2, 2, 2, 2, 3), (2, 3, 1, 1, 1), dict(stride=(2, 1, 2), output_padding=(1, 0, 1))),
])
@pytest.mark.parametrize("bias", [False, True])
def test_conv_transpose3d_against_torch(dtype, xs, ws, kw, bias):
    cout = ws[1] * kw.get("groups", 1)
    arrays = [rnd(xs, dtype, 1), rnd(ws, dtype, 2)] + ([rnd((cout,), dtype, 3)] if bias else [])
    _check_grads(lambda *a: F.conv_transpose3d(*a, **kw), lambda *a: TF.conv_transpose3d(*a, **kw), arrays, dtype,
                 f"conv_transpose3d {xs} {ws} {kw}")


def test_conv_transpose3d_unbatched():
    x, w = rnd((3, 2, 3, 2)), rnd((3, 2, 2, 2, 2))
    _check_grads(lambda x, w: F.conv_transpose3d(x, w, stride=2), lambda x, w: TF.conv_transpose3d(x, w, stride=2),
                 [x, w], np.float64, "unbatched conv_transpose3d")


# ------------------------------------------------------------------------------------------- 3-D adaptive pools
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, size", [((2, 3, 4, 6, 8), (2, 3, 4)), ((2, 3, 5, 7, 3), (3, 4, 2)),
                                         ((1, 2, 3, 4, 5), 1), ((2, 2, 3, 5, 4), (None, 2, 3)),
                                         ((2, 3, 4, 5), (3, 2, 6)), ((1, 1, 2, 3, 4), (4, 5, 7))])
def test_adaptive_avg_pool3d_against_torch(dtype, shape, size):
    _check_grads(lambda x: F.adaptive_avg_pool3d(x, size), lambda t: TF.adaptive_avg_pool3d(t, size),
                 [rnd(shape, dtype)], dtype, f"adaptive_avg_pool3d {shape} {size}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, size", [((2, 3, 4, 6, 8), (2, 3, 4)), ((2, 3, 5, 7, 3), (3, 4, 2)),
                                         ((1, 2, 3, 4, 5), 1), ((2, 2, 3, 5, 4), (None, 2, 3)),
                                         ((2, 3, 4, 5), (3, 2, 6)), ((1, 1, 2, 3, 4), (4, 5, 7))])
@pytest.mark.parametrize("ties", [False, True])
def test_adaptive_max_pool3d_against_torch(dtype, shape, size, ties):
    a = rnd(shape, dtype)
    if ties:
        a = np.round(a).astype(dtype)  # equal maxima: the gradient goes to the first, as torch
    _check_grads(lambda x: F.adaptive_max_pool3d(x, size), lambda t: TF.adaptive_max_pool3d(t, size), [a], dtype,
                 f"adaptive_max_pool3d {shape} {size}")
    out, idx = F.adaptive_max_pool3d(npg.tensor(a), size, return_indices=True)
    tout, tidx = TF.adaptive_max_pool3d(torch.tensor(a), size, return_indices=True)
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    assert idx.dtype == np.int64


@pytest.mark.parametrize("size", [0, (2, 0, 2), (2, 2)])
def test_adaptive_pool3d_bad_sizes_are_errors(size):
    for fn in (F.adaptive_avg_pool3d, F.adaptive_max_pool3d):
        with pytest.raises(ValueError, match="adaptive_(avg|max)_pool3d"):
            fn(npg.ones(1, 2, 3, 3, 3), size)


# ------------------------------------------------------------------------------------------- attention dropout
def _qkv(B=2, H=3, L=4, S=5, E=6, seed=0):
    return rnd((B, H, L, E), seed=seed), rnd((B, H, S, E), seed=seed + 1), rnd((B, H, S, E), seed=seed + 2)


def test_sdpa_dropout_drops_attention_weights_as_torch_defines_it():
    """With v = identity the output is the attention matrix after dropout: each weight is either 0 or torch's
    undropped weight / (1 - p), and about p of them are 0."""
    q, k, _ = _qkv(B=4, H=4, L=16, S=16)
    v = np.broadcast_to(np.eye(16), (4, 4, 16, 16)).copy()
    p = 0.3
    expected = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v)).numpy()
    npg.random.seed(0)
    out = F.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v), dropout_p=p).data
    dropped = out == 0
    np.testing.assert_allclose(out[~dropped], expected[~dropped] / (1 - p), rtol=1e-12)
    frac = dropped.mean()
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / dropped.size), frac


def test_sdpa_dropout_is_unbiased_and_seeded():
    q, k, v = _qkv()
    expected = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v)).numpy()
    npg.random.seed(1)
    draws = np.stack([F.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v),
                                                     dropout_p=0.25).data for _ in range(2000)])
    se = draws.std(axis=0) / math.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - expected) < 5 * se + 1e-12)
    npg.random.seed(1)
    again = F.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v), dropout_p=0.25).data
    np.testing.assert_array_equal(again, draws[0])


def test_sdpa_dropout_gradient_finite_differences():
    """The gradient is the gradient of the function with the drawn mask: reseeding redraws the same mask."""
    q, k, v = _qkv(B=1, H=2, L=3, S=4, E=3)

    def f(q, k, v):
        npg.random.seed(7)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    check_finite_difference(f, [q, k, v], what="sdpa dropout")


def _mha_pair(dropout, seed=0):
    npg.random.seed(seed)
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(8, 2, dropout=dropout, batch_first=True)
    tm = torch.nn.MultiheadAttention(8, 2, dropout=dropout, batch_first=True).double()
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


def test_multihead_attention_dropout_only_in_training_as_torch():
    x = rnd((2, 5, 8))
    m, tm = _mha_pair(0.5)
    m.eval()
    tm.eval()
    out, w = m(npg.tensor(x), npg.tensor(x), npg.tensor(x))
    tout, tw = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    assert_close(out, tout.detach().numpy())
    assert_close(w, tw.detach().numpy())
    m.train()
    out1, _ = m(npg.tensor(x), npg.tensor(x), npg.tensor(x))
    out2, _ = m(npg.tensor(x), npg.tensor(x), npg.tensor(x))
    assert not np.allclose(out1.data, out2.data)  # a new mask each call


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_dropout_matches_torch_in_expectation(need_weights):
    x = rnd((2, 4, 8), seed=3)
    m, tm = _mha_pair(0.3)
    tm.eval()
    expected, texpected_w = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), average_attn_weights=False)
    m.train()
    outs, ws = [], []
    for _ in range(1500):
        out, w = m(npg.tensor(x), npg.tensor(x), npg.tensor(x), need_weights=need_weights,
                   average_attn_weights=False)
        outs.append(out.data)
        if need_weights:
            ws.append(w.data)
    outs = np.stack(outs)
    se = outs.std(axis=0) / math.sqrt(len(outs))
    assert np.all(np.abs(outs.mean(axis=0) - expected.detach().numpy()) < 5 * se + 1e-12)
    if need_weights:  # the returned weights are the dropped ones (as torch's): 0 or weight / (1 - p)
        w = ws[0]
        ref = texpected_w.detach().numpy()
        np.testing.assert_allclose(w[w != 0], ref[w != 0] / 0.7, rtol=1e-10)
        assert 0.1 < (w == 0).mean() < 0.5
