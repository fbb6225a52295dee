"""float16 sums and means over a large axis, second round: each against torch on the same float16 numbers.

A mean over more than 65504 elements divided by the count cast to float16 (inf) gave 0; embedding_bag's 'mean'
scaled each row by a subnormal float16 1 / count before summing (6.6% off for bags of 35,000 rows). torch
accumulates in float32 and rounds once. The recurrent layers' bias gradients sum over time x batch rows.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F

F16 = np.float16
N = 70_000
RNG = np.random.default_rng(1617)


def _f16(*shape, scale=1.0, shift=0.0):
    return (RNG.standard_normal(shape) * scale + shift).astype(F16)


def _check(fn, tfn, arrays, seed=None, tol=2e-3):
    """npgrad on float16 ``arrays`` (value and gradients, float16) within ``tol`` (relative to the largest, or one
    subnormal step) of torch float64 on the same numbers."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    g = np.ones(y.shape, F16) if seed is None else seed
    y.backward(npg.tensor(g))
    ts = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    yt = tfn(*ts)
    yt.backward(torch.tensor(g.astype(np.float64)))
    pairs = [(y.data, yt.detach().numpy())] + [(np.asarray(x.grad), t.grad.numpy()) for x, t in zip(xs, ts)]
    for got, want in pairs:
        assert got.dtype == F16 and np.all(np.isfinite(got))
        tiny = 6e-8   # float16's subnormal spacing: a gradient that small has no more digits
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=max(tol * np.abs(want).max(), tiny))


@pytest.mark.parametrize("two_d", [False, True])
def test_embedding_bag_mean_of_large_bags(two_d):
    # each row was scaled by 1 / count in float16 before the sum: a bag of 70,000 rows by 1 / inf = 0 (its mean
    # was 0), one of 30,000 small rows by a subnormal 3.3e-5 (the products kept a few bits: 6.6% off)
    idx = RNG.integers(0, 4, N)
    w = _f16(4, 8, scale=0.01, shift=0.01)
    if two_d:
        kw, tkw, B = dict(input=npg.tensor(idx.reshape(1, -1))), dict(input=torch.tensor(idx.reshape(1, -1))), 1
    else:
        off = np.array([0, 30_000])
        kw = dict(input=npg.tensor(idx), offsets=npg.tensor(off))
        tkw, B = dict(input=torch.tensor(idx), offsets=torch.tensor(off)), 2
    seed = _f16(B, 8, shift=0.5)
    _check(lambda w: F.embedding_bag(weight=w, mode="mean", **kw),
           lambda w: TF.embedding_bag(weight=w, mode="mean", **tkw), [w], seed)


def _class_losses():
    x = _f16(2, N, scale=0.01)
    y = np.array([5, N - 3])
    x[0, 5], x[1, N - 3] = 0.9, 0.8                 # (terms of about 0.1 over 70,000 classes: sums < 65504)
    multi = (RNG.random((2, N)) < 0.5).astype(F16)
    return x, [
        (lambda a: F.multilabel_soft_margin_loss(a, npg.tensor(multi)),
         lambda a: TF.multilabel_soft_margin_loss(a, torch.tensor(multi.astype(np.float64)))),
        (lambda a: F.multi_margin_loss(a, npg.tensor(y)), lambda a: TF.multi_margin_loss(a, torch.tensor(y)))]


@pytest.mark.parametrize("k", range(2))
def test_losses_averaged_over_more_than_65504_classes(k):
    # each sample's loss is a sum over the classes divided by C: C cast to float16 was inf, so the loss was 0
    # (multilabel_soft_margin_loss, multi_margin_loss) and so was every gradient
    x, cases = _class_losses()
    fn, tfn = cases[k]
    _check(fn, tfn, [x])


@pytest.mark.parametrize("kind,T,B", [("LSTM", 7, 10_000), ("RNN", 7, 10_000), ("GRU", 1, N)])
def test_recurrent_bias_gradients_over_many_rows(kind, T, B):
    # the input projection's biases sum d gates over time x batch rows (LSTM, RNN), a GRU step's b_hh over its
    # batch: NumPy's float16 sum along that strided axis drifted (grad_sum sums in float32, as torch)
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(3, 4).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(p.half().double())   # (the same float16 numbers in both)
    mod = getattr(nn, kind)(3, 4)
    mod.load_state_dict({k: v.numpy().astype(F16) for k, v in ref.state_dict().items()})
    mod.half()
    x = _f16(T, B, 3)
    seed = _f16(T, B, 4, scale=0.2, shift=0.05)
    out = mod(npg.tensor(x))[0]
    out.backward(npg.tensor(seed))
    ref(torch.tensor(x.astype(np.float64)))[0].backward(torch.tensor(seed.astype(np.float64)))
    for name, p in ref.named_parameters():
        got, want = np.asarray(getattr(mod, name).grad), p.grad.numpy()
        assert got.dtype == F16, name
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=2e-3 * np.abs(want).max(), err_msg=name)
