"""Issue 17's fewer-pass VJPs (softmax, log_softmax, layer_norm, tanh-GELU, ReLU) against PyTorch in
float32 and float64, with the buffers they write: ReLU's gradient written into the incoming gradient only
when nothing else holds it, layer_norm's never into the gradient its weight and bias VJPs read next."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from npgrad.ops.elementwise import _relu_vjp
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]


def _pair(a, grad=True):
    return npg.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_vjp_writes_into_the_gradient_only_when_alone(dtype):
    x = np.array([-1.0, 0.0, 2.0, 3.0], dtype)
    g = np.array([1.0, 2.0, 3.0, 4.0], dtype)
    out = _relu_vjp(g, np.maximum(x, 0), None)
    assert out is g                                   # taken: nothing else held g
    assert_close(out, np.array([0.0, 0.0, 3.0, 4.0], dtype))
    g = np.array([1.0, 2.0, 3.0, 4.0], dtype)
    held = [g]                                        # another reference: not taken
    out = _relu_vjp(g, np.maximum(x, 0), None)
    assert out is not g and held[0] is g
    assert_close(g, np.array([1.0, 2.0, 3.0, 4.0], dtype))
    assert_close(out, np.array([0.0, 0.0, 3.0, 4.0], dtype))
    base = np.arange(8.0).astype(dtype)
    view = base[::2]                                   # a view of an array held here: not taken
    out = _relu_vjp(view, np.maximum(x, 0), None)
    assert out is not view and view[0] == 0.0 and view[1] == 2.0
    assert_close(out, np.array([0.0, 0.0, 4.0, 6.0], dtype))
    del base                                           # a view is its base's only holder: taken
    out = _relu_vjp(view, np.maximum(x, 0), None)
    assert out is view
    assert_close(view, np.array([0.0, 0.0, 4.0, 6.0], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_vjp_of_0d_values(dtype):
    """0-d inputs: NumPy's comparison gives a scalar, not an array; the select is still torch's."""
    for xv, gv in ((-1.0, 2.0), (3.0, 2.0), (0.0, 5.0), (np.nan, 1.5)):
        x, tx = _pair(np.array(xv, dtype))
        TF.relu(tx).backward(torch.tensor(gv, dtype=tx.dtype))
        F.relu(x).backward(np.array(gv, dtype))
        assert_close(x.grad, tx.grad.numpy())
        assert x.grad.shape == () and x.grad.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_keeps_retained_and_hooked_gradients_intact(dtype):
    a = np.random.default_rng(0).standard_normal((5, 6)).astype(dtype)
    c = np.random.default_rng(1).standard_normal((5, 6)).astype(dtype)
    x, tx = _pair(a)
    kept, tkept = [], []
    y, ty = F.relu(x * 1.0), TF.relu(tx * 1.0)
    y.retain_grad()
    ty.retain_grad()
    y.register_hook(lambda g: kept.append(g))
    ty.register_hook(lambda g: tkept.append(g.clone()))
    (y * c).sum().backward()
    (ty * torch.tensor(c)).sum().backward()
    assert_close(y.grad, ty.grad.numpy(), what="retained grad")
    assert_close(kept[0], tkept[0].numpy(), what="hook's gradient")
    assert_close(x.grad, tx.grad.numpy(), what="x")
    x.grad = None
    tx.grad = None
    (F.relu(x) * npg.tensor(c)).sum().backward()  # the gradient stolen: same result
    (TF.relu(tx) * torch.tensor(c)).sum().backward()
    assert_close(x.grad, tx.grad.numpy(), what="x (in place)")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_backward_in_one_buffer(dtype, which, dim):
    a = np.random.default_rng(2).standard_normal((4, 5, 6)).astype(dtype) * 3
    c = np.random.default_rng(3).standard_normal((4, 5, 6)).astype(dtype)
    x, tx = _pair(a)
    y = getattr(F, which)(x, dim=dim)
    ty = getattr(TF, which)(tx, dim=dim)
    gc = npg.tensor(c)
    kept = []
    y.register_hook(lambda g: kept.append(g.copy()))
    (y * gc).sum().backward()
    (ty * torch.tensor(c)).sum().backward()
    assert_close(y, ty.detach().numpy())
    assert_close(x.grad, tx.grad.numpy())
    assert_close(kept[0], c)                          # the incoming gradient was not written


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
def test_layer_norm_backward_leaves_the_gradient_for_weight_and_bias(dtype, affine):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 4, 8)).astype(dtype)
    c = rng.standard_normal((3, 4, 8)).astype(dtype)
    w0 = (1 + 0.1 * rng.standard_normal(8)).astype(dtype)
    b0 = (0.1 * rng.standard_normal(8)).astype(dtype)
    x, tx = _pair(a)
    w, tw = _pair(w0) if affine != "none" else (None, None)
    b, tb = _pair(b0) if affine == "both" else (None, None)
    y = F.layer_norm(x, (8,), w, b)
    ty = TF.layer_norm(tx, (8,), tw, tb)
    (y * npg.tensor(c)).sum().backward()
    (ty * torch.tensor(c)).sum().backward()
    assert_close(y, ty.detach().numpy())
    assert_close(x.grad, tx.grad.numpy(), what="x")
    if w is not None:
        assert_close(w.grad, tw.grad.numpy(), what="weight")
    if b is not None:
        assert_close(b.grad, tb.grad.numpy(), what="bias")


def test_layer_norm_with_a_wider_weight_promotes_as_before():
    # a float64 weight on a float32 input: the output buffer is not reused (it would narrow the result)
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    x = npg.tensor(a, requires_grad=True)
    w = npg.tensor(np.linspace(0.5, 1.5, 6), requires_grad=True)
    b = npg.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    y = F.layer_norm(x, (6,), w, b)
    mu = a.astype(np.float64).mean(-1, keepdims=True)
    xh = (a - mu) / np.sqrt(((a - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    assert y.dtype == np.result_type(np.float32, np.float64)
    assert_close(y, xh * w.data + b.data, rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    assert_close(w.grad, xh.sum(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tanh_backward_from_the_saved_half_one_minus_tanh(dtype):
    a = np.concatenate([np.linspace(-12, 12, 97), [0.0, -30.0, 30.0]]).astype(dtype)
    c = np.random.default_rng(6).standard_normal(a.shape).astype(dtype)
    x, tx = _pair(a)
    y = F.gelu(x, approximate="tanh")
    ty = TF.gelu(tx, approximate="tanh")
    kept = []
    y.register_hook(lambda g: kept.append(g.copy()))
    (y * npg.tensor(c)).sum().backward()
    (ty * torch.tensor(c)).sum().backward()
    assert_close(y, ty.detach().numpy())
    assert_close(x.grad, tx.grad.numpy())
    assert_close(kept[0], c)
    (gx,) = npg.autograd.grad(F.gelu(x, approximate="tanh").sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad(TF.gelu(tx, approximate="tanh").sum(), [tx], create_graph=True)
    assert_close(gx, tgx.detach().numpy())
    assert_close(npg.autograd.grad(gx.sum(), [x])[0], torch.autograd.grad(tgx.sum(), [tx])[0].numpy())



@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tanh_backward_writes_into_the_gradient_only_when_alone(dtype):
    """The tanh-GELU backward multiplies into the incoming gradient when nothing else holds it (the linear
    layer's input gradient after it): a hook or a retained .grad holding it sees it unchanged."""
    a = np.random.default_rng(7).standard_normal((6, 5)).astype(dtype) * 3
    w = np.random.default_rng(8).standard_normal((5, 4)).astype(dtype)
    c = np.random.default_rng(9).standard_normal((6, 4)).astype(dtype)
    for mode in ("plain", "retain", "hook"):
        x, tx = _pair(a)
        h, th = F.gelu(x, approximate="tanh"), TF.gelu(tx, approximate="tanh")
        kept, tkept = [], []
        if mode == "retain":
            h.retain_grad()
            th.retain_grad()
        if mode == "hook":
            h.register_hook(lambda g: kept.append(g))
            th.register_hook(lambda g: tkept.append(g.clone()))
        ((h @ npg.tensor(w)) * npg.tensor(c)).sum().backward()
        ((th @ torch.tensor(w)) * torch.tensor(c)).sum().backward()
        assert_close(x.grad, tx.grad.numpy(), what=mode)
        if mode == "retain":
            assert_close(h.grad, th.grad.numpy(), what="retained grad")
        if mode == "hook":
            assert_close(kept[0], tkept[0].numpy(), what="hook's gradient")


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_weight_gradients_by_einsum_and_by_product(dtype):
    # layer_norm's weight gradient as one einsum over the leading axes; batch_norm's (C, 1, 1) weight view
    # (not a trailing shape of the input) through the product and the engine's sum
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 3, 5, 5)).astype(dtype)
    c = rng.standard_normal((4, 3, 5, 5)).astype(dtype)
    w0, b0 = (1 + 0.1 * rng.standard_normal((5, 5))).astype(dtype), rng.standard_normal((5, 5)).astype(dtype)
    x, tx = _pair(a)
    w, tw = _pair(w0)
    b, tb = _pair(b0)
    (F.layer_norm(x, (5, 5), w, b) * npg.tensor(c)).sum().backward()
    (TF.layer_norm(tx, (5, 5), tw, tb) * torch.tensor(c)).sum().backward()
    assert_close(w.grad, tw.grad.numpy(), what="layer_norm weight")
    assert_close(x.grad, tx.grad.numpy(), what="layer_norm x")
    x, tx = _pair(a)
    w, tw = _pair(w0[0, :3].copy())
    b, tb = _pair(b0[0, :3].copy())
    (F.batch_norm(x, None, None, w, b, training=True) * npg.tensor(c)).sum().backward()
    (TF.batch_norm(tx, None, None, tw, tb, training=True) * torch.tensor(c)).sum().backward()
    assert_close(w.grad, tw.grad.numpy(), what="batch_norm weight")
    assert_close(b.grad, tb.grad.numpy(), what="batch_norm bias")
    assert_close(x.grad, tx.grad.numpy(), what="batch_norm x")


def test_layer_norm_float32_stays_float32_with_a_numpy_float64_eps():
    rng = np.random.default_rng(8)
    x = npg.tensor(rng.standard_normal((3, 8)).astype(np.float32), requires_grad=True)
    w = npg.tensor(np.ones(8, np.float32), requires_grad=True)
    y = F.layer_norm(x, (8,), w, None, eps=np.float64(1e-5))
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
