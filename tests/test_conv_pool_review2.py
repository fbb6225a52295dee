"""Convolution and pooling review, round 2: divergences from PyTorch 2.13 found by adversarial probing
(values and gradients compared against torch.nn.functional / torch.nn)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg

F = npg.nn.functional
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _check(npg_fn, torch_fn, arrays, dtype):
    """Value (shape, dtype) and the gradient of sum(out * v) of every argument, against torch."""
    arrays = [np.asarray(a, dtype) for a in arrays]
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(tout.shape)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **TOL[dtype])
    v = _rand(out.shape, 7, dtype)
    npg.sum(out * npg.tensor(v)).backward()
    (tout * torch.tensor(v)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), **TOL[dtype])


# ---------------------------------------------------------------- lp_pool with norm_type = +-inf
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [float("inf"), -float("inf")])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_lp_pool_infinite_norm_is_max_of_abs(nd, p, dtype):
    # torch: p = inf is max_pool(|x|), p = -inf is -max_pool(-|x|) (min of |x|); x ** inf then ** (1/inf)
    # gave 1 everywhere
    fn, tfn = getattr(F, f"lp_pool{nd}d"), getattr(TF, f"lp_pool{nd}d")
    x = _rand((2, 2) + (5,) * nd, nd)
    _check(lambda a: fn(a, p, 2, None, True), lambda a: tfn(a, p, 2, None, True), [x], dtype)
    _check(lambda a: fn(a, p, 3, 1), lambda a: tfn(a, p, 3, 1), [x], dtype)


# ---------------------------------------------------------------- convolution over zero input channels
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd, kw", [(1, dict()), (2, dict(padding=1, stride=2)), (2, dict(groups=2, dilation=2)),
                                    (3, dict(padding=(1, 0, 1)))])
def test_conv_with_zero_input_channels_is_the_bias(nd, kw, dtype):
    # C = 0 is an empty sum over channels: the output is the bias broadcast (zeros without one), as the same
    # convolution of an all-zero input with G channels gives in torch. npgrad raised NumPy's "cannot
    # reshape array of size 0 into shape (1,0,newaxis)" from im2col. (torch 2.13 itself returns an
    # (N, 0, *out) result here, a shortcut pytorch/pytorch#56998 still tracks; the bias is the sum's value.)
    fn, tfn = getattr(F, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
    G = kw.get("groups", 1)
    b = _rand(4, 1, dtype)
    x, w, bt = npg.tensor(np.zeros((2, 0) + (5,) * nd, dtype)), npg.tensor(_rand((4, 0) + (3,) * nd, 2, dtype)), npg.tensor(b)
    out = fn(x, w, bt, **kw)
    bo = torch.tensor(b, requires_grad=True)
    tout = tfn(torch.zeros((2, G) + (5,) * nd, dtype=bo.dtype), torch.zeros((4, 1) + (3,) * nd, dtype=bo.dtype), bo, **kw)
    assert out.shape == tuple(tout.shape) and out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    v = _rand(out.shape, 3, dtype)
    npg.sum(out * npg.tensor(v)).backward()
    (tout * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(bt.grad.data, bo.grad.numpy(), **TOL[dtype])
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    np.testing.assert_array_equal(fn(x, w, **kw).data, np.zeros(tout.shape, dtype))


# ---------------------------------------------------------------- nn.ConvTransposeNd.forward(x, output_size=...)
def _conv_t_pair(nd, **kw):
    tm = getattr(torch.nn, f"ConvTranspose{nd}d")(2, 3, 3, **kw).double()
    nm = getattr(npg.nn, f"ConvTranspose{nd}d")(2, 3, 3, **kw)
    nm.load_state_dict({k: npg.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    return nm, tm


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_output_size_range_is_torchs(nd):
    # torch accepts output sizes from the minimum to minimum + stride - 1; npgrad also took up to
    # minimum + dilation - 1 (stride 2, dilation 3: 15 accepted where torch's valid sizes are 13..14)
    nm, tm = _conv_t_pair(nd, stride=2, dilation=3)
    x = _rand((1, 2) + (4,) * nd)
    for size in (13, 14):
        _check(lambda a: nm(a, output_size=(size,) * nd), lambda a: tm(a, output_size=(size,) * nd), [x], np.float64)
    for size in (12, 15):
        with pytest.raises(ValueError):
            tm(torch.tensor(x), output_size=(size,) * nd)
        with pytest.raises(ValueError, match=r"ConvTranspose.*13.*14"):
            nm(npg.tensor(x), output_size=(size,) * nd)


@pytest.mark.parametrize("batched", [True, False])
def test_conv_transpose_output_size_length_is_torchs(batched):
    # torch: output_size has the spatial sizes, or the whole shape (with N and C, or C when unbatched);
    # npgrad read the last entries of any longer sequence (e.g. (5, 11, 11) for a batched 2-d input)
    nm, tm = _conv_t_pair(2, stride=3, padding=1)
    x = _rand((2, 2, 4, 4))[0 if not batched else slice(None)]
    full = ((2, 3) if batched else (3,)) + (11, 11)
    _check(lambda a: nm(a, output_size=full), lambda a: tm(a, output_size=full), [x], np.float64)
    bad = (7, 11, 11) if batched else (2, 3, 11, 11)
    with pytest.raises(ValueError):
        tm(torch.tensor(x), output_size=bad)
    with pytest.raises(ValueError, match="ConvTranspose2d: output_size"):
        nm(npg.tensor(x), output_size=bad)


# ---------------------------------------------------------------- nn.ConvNd's construction-time padding checks
@pytest.mark.parametrize("kw, match", [(dict(padding="same", stride=2), "strided"),
                                       (dict(padding="same", stride=(1, 2)), "strided"),
                                       (dict(padding="full"), "Invalid padding string 'full'")])
def test_conv_module_rejects_bad_string_padding_at_construction(kw, match):
    # torch raises in Conv2d(...) itself; npgrad built the layer and only failed (or not) at its first call
    with pytest.raises(ValueError, match=match):
        torch.nn.Conv2d(2, 3, 3, **kw)
    with pytest.raises(ValueError, match=f"Conv2d: .*{match}"):
        npg.nn.Conv2d(2, 3, 3, **kw)
