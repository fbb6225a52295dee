"""npgrad.nn.functional against torch.nn.functional: values and gradients in float32 and float64,
second derivatives through the fused ops (create_graph), stability for huge logits, erf vs math.erf."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from npgrad.nn import _erf
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(*shape, dtype=np.float64, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# --------------------------------------------------------------------------------- erf
def test_erf_matches_math_erf_to_float64_precision():
    xs = np.concatenate([np.linspace(-30, 30, 60001), np.random.default_rng(0).standard_normal(20000) * 3,
                         [0.0, -0.0, 1e-300, -1e-12, 0.999999, 1.0, 5.9, 6.0, 26.0]])
    ref = np.array([math.erf(x) for x in xs])
    ulps = np.abs(_erf.erf(xs) - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 4
    refc = np.array([math.erfc(x) for x in xs])
    normal = refc > 1e-300
    ulpc = np.abs(_erf.erfc(xs) - refc)[normal] / np.spacing(refc[normal])
    assert ulpc.max() <= 8
    assert np.isnan(_erf.erf(np.array([np.nan]))).all()
    assert list(_erf.erf(np.array([np.inf, -np.inf]))) == [1.0, -1.0]
    assert list(_erf.erfc(np.array([np.inf, -np.inf]))) == [0.0, 2.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_erf_op_vs_torch(dtype):
    compare_with_torch(F.erf, torch.erf, [rnd(50, dtype=dtype, scale=2)], what="erf")


# ------------------------------------------------------------------------ activations
ACTIVATIONS = [
    ("relu", F.relu, TF.relu),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    ("softplus", lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0)),
    ("softmax0", lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0)),
    ("softmax-1", lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1)),
    ("log_softmax1", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,fn,tfn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation(name, fn, tfn, dtype):
    x = rnd(4, 5, 6, dtype=dtype, scale=3)
    x.flat[:3] = [0.0, -9.0, 12.0]
    compare_with_torch(fn, tfn, [x], what=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tails(dtype):
    x = np.array([-40, -12, -8, -5.5, -3, -1e-3, 0, 1e-3, 3, 8, 40], dtype=dtype)
    compare_with_torch(F.gelu, TF.gelu, [x], what="gelu tails")


def test_softmax_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [5e3, 1e4, 1e4]], dtype=np.float32)
    for fn, tfn in [(F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)]:
        out = fn(npg.tensor(x), dim=1)
        assert np.isfinite(out.data).all()
        assert_close(out, tfn(torch.tensor(x), dim=1).numpy())


# ------------------------------------------------------------------------------ linear
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias, dtype):
    arrays = [rnd(*xshape, dtype=dtype), rnd(3, 4, dtype=dtype, seed=1)] + ([rnd(3, dtype=dtype, seed=2)] if bias else [])
    compare_with_torch(F.linear, TF.linear, arrays, what="linear")


def test_linear_bad_shapes():
    with pytest.raises(ValueError, match="linear"):
        F.linear(npg.randn(2, 5), npg.randn(3, 4))


# ------------------------------------------------------------------------------ losses
def _ce_case(dtype, shape, C, **kw):
    x = rnd(*shape, dtype=dtype, scale=2)
    t = np.random.default_rng(3).integers(0, C, (shape[0],) + shape[2:])
    if "ignore_index" in kw:
        t.flat[::3] = kw["ignore_index"]
    w = kw.pop("weight", None)
    w = None if w is None else w.astype(dtype)

    def f(x):
        return F.cross_entropy(x, t, w, **kw)

    def tf(x):
        return TF.cross_entropy(x, torch.tensor(t), None if w is None else torch.tensor(w), **kw)
    return f, tf, [x]


CE_CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(label_smoothing=0.1),
    dict(ignore_index=2),
    dict(ignore_index=-100, label_smoothing=0.2),
    dict(weight=np.array([0.5, 1.0, 2.0, 0.1, 1.5])),
    dict(weight=np.array([0.5, 1.0, 2.0, 0.1, 1.5]), ignore_index=1, label_smoothing=0.3),
    dict(weight=np.array([0.5, 1.0, 2.0, 0.1, 1.5]), reduction="none", label_smoothing=0.3),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 4), (2, 5, 3, 2)])
@pytest.mark.parametrize("kw", CE_CASES, ids=[str(sorted(k)) + str(i) for i, k in enumerate(CE_CASES)])
def test_cross_entropy_indices(kw, shape, dtype):
    f, tf, arrays = _ce_case(dtype, shape, 5, **dict(kw))
    compare_with_torch(f, tf, arrays, what=f"cross_entropy {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.25), dict(reduction="none"), dict(reduction="sum"),
                                dict(weight=np.array([1.0, 2.0, 0.5, 1.0]))])
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3)])
def test_cross_entropy_probabilities(kw, shape, dtype):
    kw = dict(kw)
    w = kw.pop("weight", None)
    x = rnd(*shape, dtype=dtype, scale=2)
    t = np.random.default_rng(5).random(shape).astype(dtype)
    t /= t.sum(axis=1, keepdims=True)
    wt = None if w is None else w.astype(dtype)
    compare_with_torch(lambda x, t: F.cross_entropy(x, t, None if wt is None else wt, **kw),
                       lambda x, t: TF.cross_entropy(x, t, None if wt is None else torch.tensor(wt), **kw),
                       [x, t], what=f"cross_entropy probs {kw}")


def test_cross_entropy_unbatched_and_all_ignored():
    x = rnd(5)
    compare_with_torch(lambda x: F.cross_entropy(x, np.array(3)), lambda x: TF.cross_entropy(x, torch.tensor(3)),
                       [x], what="unbatched")
    t = np.full(4, -100)
    out = F.cross_entropy(npg.tensor(rnd(4, 3)), t)
    assert np.isnan(out.item()) and np.isnan(TF.cross_entropy(torch.tensor(rnd(4, 3)), torch.tensor(t)).item())


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_smooth", "nll_log_softmax", "bce_logits"])
def test_losses_stable_for_huge_logits_float32(loss):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [0.0, 1e4, -1e4]], dtype=np.float32)
    t = np.array([1, 1, 2])
    xt = npg.tensor(x)
    tx = torch.tensor(x, requires_grad=True)
    if loss == "cross_entropy":
        out, ref = F.cross_entropy(xt, t), TF.cross_entropy(tx, torch.tensor(t))
    elif loss == "cross_entropy_smooth":
        out, ref = F.cross_entropy(xt, t, label_smoothing=0.1), TF.cross_entropy(tx, torch.tensor(t),
                                                                                 label_smoothing=0.1)
    elif loss == "nll_log_softmax":
        out, ref = F.nll_loss(F.log_softmax(xt, 1), t), TF.nll_loss(TF.log_softmax(tx, 1), torch.tensor(t))
    else:
        tt = (np.arange(9).reshape(3, 3) % 2).astype(np.float32)
        out, ref = F.binary_cross_entropy_with_logits(xt, tt), TF.binary_cross_entropy_with_logits(tx, torch.tensor(tt))
    out.backward()
    ref.backward()
    assert np.isfinite(out.data) and np.isfinite(xt.grad).all()
    assert_close(out, ref.detach().numpy(), rtol=1e-6)
    assert_close(xt.grad, tx.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=0),
                                dict(weight=np.array([1.0, 0.2, 3.0, 0.7]))])
def test_nll_loss(kw, dtype):
    kw = dict(kw)
    w = kw.pop("weight", None)
    x = rnd(6, 4, dtype=dtype)
    t = np.random.default_rng(4).integers(0, 4, 6)
    wt = None if w is None else w.astype(dtype)
    compare_with_torch(lambda x: F.nll_loss(x, t, wt, **kw),
                       lambda x: TF.nll_loss(x, torch.tensor(t), None if wt is None else torch.tensor(wt), **kw),
                       [x], what=f"nll_loss {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction, dtype):
    a, b = rnd(4, 3, dtype=dtype), rnd(4, 3, dtype=dtype, seed=1)
    for f, tf in [(F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss),
                  (lambda x, y, **k: F.smooth_l1_loss(x, y, beta=0.5, **k),
                   lambda x, y, **k: TF.smooth_l1_loss(x, y, beta=0.5, **k))]:
        compare_with_torch(lambda x, y: f(x, y, reduction=reduction), lambda x, y: tf(x, y, reduction=reduction),
                           [a, b], what=f"{f} {reduction}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(weighted, reduction, dtype):
    rng = np.random.default_rng(7)
    p = rng.uniform(0.01, 0.99, (5, 3)).astype(dtype)
    p[0, :2] = [0.0, 1.0]  # log clamped at -100 as PyTorch
    t = rng.uniform(0, 1, (5, 3)).astype(dtype)
    w = rng.uniform(0.5, 2, (5, 3)).astype(dtype) if weighted else None
    w1 = None if w is None else w[1:]
    compare_with_torch(lambda p, t: F.binary_cross_entropy(p, t, w1, reduction=reduction),
                       lambda p, t: TF.binary_cross_entropy(p, t, None if w1 is None else torch.tensor(w1),
                                                            reduction=reduction),
                       [p[1:], t[1:]], what="bce")
    out = F.binary_cross_entropy(npg.tensor(p), t, w, reduction=reduction)
    ref = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t), None if w is None else torch.tensor(w),
                                  reduction=reduction)
    assert_close(out, ref.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("pos_weight", [None, np.array([1.0, 3.0, 0.5])])
def test_bce_with_logits(pos_weight, reduction, dtype):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((5, 3)) * 4).astype(dtype)
    t = rng.uniform(0, 1, (5, 3)).astype(dtype)
    pw = None if pos_weight is None else pos_weight.astype(dtype)
    w = rng.uniform(0.5, 2, (5, 3)).astype(dtype)
    compare_with_torch(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
        lambda x, t: TF.binary_cross_entropy_with_logits(x, t, torch.tensor(w), reduction=reduction,
                                                         pos_weight=None if pw is None else torch.tensor(pw)),
        [x, t], what="bce_with_logits")


# ------------------------------------------------------------------------ normalization
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(affine, dtype):
    x = rnd(3, 4, 6, dtype=dtype, scale=2) + 1.5
    w, b = rnd(4, 6, dtype=dtype, seed=1), rnd(4, 6, dtype=dtype, seed=2)
    if affine == "both":
        compare_with_torch(lambda x, w, b: F.layer_norm(x, (4, 6), w, b), lambda x, w, b: TF.layer_norm(x, (4, 6), w, b),
                           [x, w, b], what="layer_norm")
    elif affine == "weight":
        compare_with_torch(lambda x, w: F.layer_norm(x, (4, 6), w), lambda x, w: TF.layer_norm(x, (4, 6), w),
                           [x, w], what="layer_norm")
    else:
        compare_with_torch(lambda x: F.layer_norm(x, 6, eps=1e-3), lambda x: TF.layer_norm(x, (6,), eps=1e-3), [x],
                           what="layer_norm")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_training_and_running_stats(shape, dtype):
    x = rnd(*shape, dtype=dtype, scale=2) + 1
    w, b = rnd(3, dtype=dtype, seed=1), rnd(3, dtype=dtype, seed=2)
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    trm, trv = torch.zeros(3, dtype=torch.float64 if dtype == np.float64 else torch.float32), None
    trv = torch.ones_like(trm)
    compare_with_torch(lambda x, w, b: F.batch_norm(x, npg.tensor(rm, requires_grad=False),
                                                    npg.tensor(rv, requires_grad=False), w, b, True, 0.2),
                       lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, True, 0.2), [x, w, b], what="batch_norm")
    rm_t, rv_t = npg.tensor(rm, requires_grad=False), npg.tensor(rv, requires_grad=False)
    F.batch_norm(npg.tensor(x), rm_t, rv_t, None, None, True, 0.2)
    assert_close(rm_t, trm.numpy())
    assert_close(rv_t, trv.numpy())
    compare_with_torch(lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, False),
                       lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, False), [x, w, b], what="batch_norm eval")


@pytest.mark.parametrize("dtype", DTYPES)
def test_group_norm(dtype):
    x = rnd(2, 6, 3, 2, dtype=dtype, scale=2)
    w, b = rnd(6, dtype=dtype, seed=1), rnd(6, dtype=dtype, seed=2)
    compare_with_torch(lambda x, w, b: F.group_norm(x, 3, w, b), lambda x, w, b: TF.group_norm(x, 3, w, b),
                       [x, w, b], what="group_norm")


# ------------------------------------------------------------------- embedding, dropout
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding(padding_idx, dtype):
    idx = np.array([[0, 2, 4, 2], [1, 1, 3, 0]])
    compare_with_torch(lambda w: F.embedding(idx, w, padding_idx), lambda w: TF.embedding(torch.tensor(idx), w,
                                                                                            padding_idx),
                       [rnd(5, 3, dtype=dtype)], what="embedding")


def test_dropout_statistics_and_gradient():
    npg.random.seed(0)
    x = npg.ones(200, 100)
    y = F.dropout(x, 0.3)
    frac = (y.data == 0).mean()
    assert abs(frac - 0.3) < 0.02
    np.testing.assert_allclose(y.data[y.data != 0], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).data == 0).all()
    with pytest.raises(ValueError):
        F.dropout(x, 1.5)


# ---------------------------------------------------------------------------- attention
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float"])
def test_scaled_dot_product_attention(mask, dtype):
    q, k, v = rnd(2, 3, 5, 4, dtype=dtype), rnd(2, 3, 6, 4, dtype=dtype, seed=1), rnd(2, 3, 6, 7, dtype=dtype, seed=2)
    kw = {}
    if mask == "causal":
        kw = dict(is_causal=True)
    elif mask == "bool":
        m = np.random.default_rng(3).random((5, 6)) > 0.3
        m[:, 0] = True
        kw = dict(attn_mask=m)
    elif mask == "float":
        kw = dict(attn_mask=rnd(2, 1, 5, 6, dtype=dtype, seed=4))
    tkw = {k_: (torch.tensor(v_) if isinstance(v_, np.ndarray) else v_) for k_, v_ in kw.items()}
    compare_with_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw),
                       lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **tkw), [q, k, v], what="sdpa")
    compare_with_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3, **kw),
                       lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, scale=0.3, **tkw), [q, k, v],
                       what="sdpa scale")


# ------------------------------------------------------- second derivatives (create_graph)
SECOND_ORDER = [
    ("gelu", lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("softmax", lambda x: F.softmax(x, 1), lambda x: TF.softmax(x, 1)),
    ("log_softmax", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    ("layer_norm", lambda x: F.layer_norm(x, 4, x[0] * 0 + 1.5, None), lambda x: TF.layer_norm(x, (4,), x[0] * 0 + 1.5)),
    ("cross_entropy", lambda x: F.cross_entropy(x, np.array([0, 3, 1]), label_smoothing=0.1),
     lambda x: TF.cross_entropy(x, torch.tensor([0, 3, 1]), label_smoothing=0.1)),
    ("cross_entropy_3d", lambda x: F.cross_entropy(x.reshape(3, 2, 2), np.array([[0, 1], [1, 1], [0, 0]])),
     lambda x: TF.cross_entropy(x.reshape(3, 2, 2), torch.tensor([[0, 1], [1, 1], [0, 0]]))),
    ("cross_entropy_prob", lambda x: F.cross_entropy(x, F.softmax(x * 0.5, 1)),
     lambda x: TF.cross_entropy(x, TF.softmax(x * 0.5, 1))),
    ("nll", lambda x: F.nll_loss(F.log_softmax(x, 1), np.array([0, 3, 1])),
     lambda x: TF.nll_loss(TF.log_softmax(x, 1), torch.tensor([0, 3, 1]))),
    ("bce_logits", lambda x: F.binary_cross_entropy_with_logits(x, F.sigmoid(x * 0.3)),
     lambda x: TF.binary_cross_entropy_with_logits(x, torch.sigmoid(x * 0.3))),
    ("bce", lambda x: F.binary_cross_entropy(F.sigmoid(x), F.sigmoid(x * 0.3)),
     lambda x: TF.binary_cross_entropy(torch.sigmoid(x), torch.sigmoid(x * 0.3))),
    ("linear", lambda x: F.linear(x, x * 0.5, x[:, 0]), lambda x: TF.linear(x, x * 0.5, x[:, 0])),
    ("sdpa", lambda x: F.scaled_dot_product_attention(x, x * 0.7, x.reshape(3, 4)[::-1], is_causal=True),
     lambda x: TF.scaled_dot_product_attention(x, x * 0.7, x.reshape(3, 4).flip(0), is_causal=True)),
    ("batch_norm", lambda x: F.batch_norm(x, None, None, x[0] * 0 + 2, None, True),
     lambda x: TF.batch_norm(x, None, None, x[0] * 0 + 2, None, True)),
]


@pytest.mark.parametrize("name,fn,tfn", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives(name, fn, tfn):
    x0 = rnd(3, 4, scale=1.5)
    w = rnd(*np.shape(tfn(torch.tensor(x0)).detach().numpy()), seed=9)
    x = npg.tensor(x0)
    out = fn(x)
    (g,) = npg.autograd.grad(npg.sum(out * w), x, create_graph=True)
    npg.sum(g * g).backward()
    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad((tfn(tx) * torch.tensor(w)).sum(), tx, create_graph=True)
    (tg * tg).sum().backward()
    assert_close(g, tg.detach().numpy(), what=f"{name} first")
    assert_close(x.grad, tx.grad.numpy(), what=f"{name} second", rtol=1e-6, atol=1e-8)


def test_cross_entropy_probability_target_gradient():
    x, t = rnd(4, 3), np.random.default_rng(1).random((4, 3))
    compare_with_torch(lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2),
                       lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.2), [x, t], what="ce target grad")


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(npg.randn(3, 4), np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="does not match"):
        F.cross_entropy(npg.randn(3, 4), np.array([0, 1]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(npg.tensor([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(npg.randn(3, 4), (5,))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(npg.randn(1, 3), None, None, training=True)
