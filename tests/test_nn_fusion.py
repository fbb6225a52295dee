"""nn.utils fuse_conv_bn_eval / fuse_linear_bn_eval (and their *_weights forms) and skip_init against PyTorch:
the same fused parameters (dtype, requires_grad), and the fused layer computing bn(layer(x))."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
from torch.nn.utils import fusion as tfusion

import npgrad as npg
import npgrad.nn as nn
from npgrad.nn.utils import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, skip_init
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}


def pair(make_npg, make_torch, dtype, seed=0):
    torch.manual_seed(seed)
    t = make_torch().to(TDT[dtype])
    with torch.no_grad():      # non-trivial running statistics and affine parameters
        for name, v in t.named_buffers():
            if name.endswith("running_mean"):
                v.copy_(torch.randn(v.shape))
            elif name.endswith("running_var"):
                v.copy_(torch.rand(v.shape) + 0.5)
        for name, p in t.named_parameters():
            p.copy_(torch.randn(p.shape))
    m = make_npg()
    m = m.double() if dtype == np.float64 else m.float()
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m.eval(), t.eval()


def check(fused, tfused, m, t, x, dtype):
    assert [k for k, _ in fused.named_parameters()] == [k for k, _ in tfused.named_parameters()]
    tp = dict(tfused.named_parameters())
    for k, p in fused.named_parameters():
        assert isinstance(p, nn.Parameter) and p.dtype == dtype and p.requires_grad == tp[k].requires_grad, k
        assert_close(p.data, tp[k].detach().numpy(), dtype, what=k)
    y = fused(npg.tensor(x))
    assert_close(y.data, tfused(torch.tensor(x)).detach().numpy(), dtype)
    assert_close(y.data, m(npg.tensor(x)).data, dtype)      # bn(conv(x)) in eval mode
    assert_close(y.data, t(torch.tensor(x)).detach().numpy(), dtype)
    y.sum().backward()
    assert fused.weight.grad is not None and m[0].weight.grad is None   # a copy: the original is untouched


CONVS = [
    (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)),
     lambda: tnn.Sequential(tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4)), (2, 3, 6, 6), False),
    (lambda: nn.Sequential(nn.Conv1d(3, 5, 2, bias=False), nn.BatchNorm1d(5, affine=False)),
     lambda: tnn.Sequential(tnn.Conv1d(3, 5, 2, bias=False), tnn.BatchNorm1d(5, affine=False)), (2, 3, 7), False),
    (lambda: nn.Sequential(nn.Conv3d(2, 3, 2, groups=1), nn.BatchNorm3d(3, eps=1e-3)),
     lambda: tnn.Sequential(tnn.Conv3d(2, 3, 2, groups=1), tnn.BatchNorm3d(3, eps=1e-3)), (1, 2, 4, 4, 4), False),
    (lambda: nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2), nn.BatchNorm2d(4)),
     lambda: tnn.Sequential(tnn.ConvTranspose2d(3, 4, 3, stride=2), tnn.BatchNorm2d(4)), (2, 3, 4, 4), True),
    (lambda: nn.Sequential(nn.ConvTranspose1d(4, 6, 3, bias=False), nn.BatchNorm1d(6)),
     lambda: tnn.Sequential(tnn.ConvTranspose1d(4, 6, 3, bias=False), tnn.BatchNorm1d(6)), (2, 4, 5), True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONVS)))
def test_fuse_conv_bn_eval(dtype, case):
    make, tmake, shape, transpose = CONVS[case]
    m, t = pair(make, tmake, dtype)
    fused = fuse_conv_bn_eval(m[0], m[1], transpose=transpose)
    tfused = tfusion.fuse_conv_bn_eval(t[0], t[1], transpose=transpose)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    check(fused, tfused, m, t, x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias, features", [(True, 4), (False, 4), (True, 1)])
def test_fuse_linear_bn_eval(dtype, bias, features):
    m, t = pair(lambda: nn.Sequential(nn.Linear(3, 4, bias=bias), nn.BatchNorm1d(features)),
                lambda: tnn.Sequential(tnn.Linear(3, 4, bias=bias), tnn.BatchNorm1d(features)), dtype)
    fused, tfused = fuse_linear_bn_eval(m[0], m[1]), tfusion.fuse_linear_bn_eval(t[0], t[1])
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(dtype)
    if features == 1:    # the batch norm then sees 4 features against 1 statistic: compare the fused layers only
        assert_close(fused(npg.tensor(x)).data, tfused(torch.tensor(x)).detach().numpy(), dtype)
        assert_close(fused.bias.data, tfused.bias.detach().numpy(), dtype)
    else:
        check(fused, tfused, m, t, x, dtype)


def test_mixed_dtypes_keep_the_layers():
    t = tnn.Conv2d(2, 3, 1).float().eval(), tnn.BatchNorm2d(3).double().eval()
    m = nn.Conv2d(2, 3, 1).float().eval(), nn.BatchNorm2d(3).double().eval()
    with torch.no_grad():
        for b in t:
            for p in b.parameters():
                p.copy_(torch.randn(p.shape))
        t[1].running_mean.copy_(torch.randn(3))
        t[1].running_var.copy_(torch.rand(3) + 0.5)
    for a, b in zip(m, t):
        a.load_state_dict({k: v.numpy() for k, v in b.state_dict().items()})
    w, bias = fuse_conv_bn_weights(m[0].weight, m[0].bias, m[1].running_mean, m[1].running_var, m[1].eps,
                                   m[1].weight, m[1].bias)
    tw, tb = tfusion.fuse_conv_bn_weights(t[0].weight, t[0].bias, t[1].running_mean, t[1].running_var, t[1].eps,
                                          t[1].weight, t[1].bias)
    assert w.dtype == np.float32 and bias.dtype == np.float32
    assert_close(w.data, tw.detach().numpy(), np.float32)
    assert_close(bias.data, tb.detach().numpy(), np.float32)


def test_fusion_errors():
    conv, bn = nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        fuse_conv_bn_eval(conv, bn.eval())
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        fuse_linear_bn_eval(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with pytest.raises(AssertionError, match="running_mean"):
        fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(3, track_running_stats=False).eval())
    with pytest.raises(ValueError, match="output features"):
        fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(4).eval())
    tconv = tnn.ConvTranspose1d(4, 6, 3, groups=2).eval()
    with pytest.raises(RuntimeError):    # PyTorch cannot fuse a grouped transposed convolution either
        tfusion.fuse_conv_bn_eval(tconv, tnn.BatchNorm1d(6).eval(), transpose=True)
    with pytest.raises(ValueError, match="grouped transposed"):
        fuse_conv_bn_eval(nn.ConvTranspose1d(4, 6, 3, groups=2).eval(), nn.BatchNorm1d(6).eval(), transpose=True)
    with pytest.raises(AssertionError, match="out_features"):
        fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(4).eval())


def test_skip_init():
    npg.random.seed(0)
    a = npg.randn(3).data
    npg.random.seed(0)
    m = skip_init(nn.Linear, 10, 4, bias=True, dtype=npg.float32)
    assert m.weight.shape == (4, 10) and m.weight.dtype == np.float32 and m.bias.shape == (4,)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    np.testing.assert_array_equal(npg.randn(3).data, a)     # the generator was not consumed
    t = torch.nn.utils.skip_init(tnn.Linear, 10, 4)
    assert list(m.state_dict()) == list(t.state_dict())
    m = skip_init(nn.Conv2d, 2, 3, 3, device="cpu")
    assert m.weight.shape == (3, 2, 3, 3)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        skip_init(int)
    with pytest.raises(RuntimeError, match="'device' arg"):
        skip_init(nn.ReLU)
    with pytest.raises(ValueError, match="CPU only"):
        skip_init(nn.Linear, 2, 2, device="cuda")
