"""Adversarial differential review of the recurrent, attention, convolution and pooling layers against PyTorch:
outputs and gradients (inputs and parameters) in float32 and float64 for the less common configurations, plus
a few under vmap (against a loop) and forward mode (against torch.func.jvp)."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}


def _flat(o):
    if isinstance(o, (tuple, list)):
        return [y for x in o for y in _flat(x)]
    return [] if o is None else [o]


def differential(npg_fn, torch_fn, inputs, dtype, seed=0):
    """Same outputs and same input gradients of ``sum(out * w)`` (random ``w``) for npgrad and torch."""
    inputs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in inputs]
    xs = [npg.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    outs, touts = _flat(npg_fn(*xs)), _flat(torch_fn(*ts))
    assert len(outs) == len(touts)
    rng = np.random.default_rng(seed)
    loss, tloss = 0, 0
    for o, t in zip(outs, touts):
        assert_close(o, t.detach().numpy(), what="output")
        if t.requires_grad:
            w = rng.standard_normal(t.shape).astype(dtype)
            loss = loss + npg.sum(o * npg.tensor(w))
            tloss = tloss + (t * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is not None:
            assert x.grad is not None, f"input {i}: npgrad gives no gradient, PyTorch does"
            assert_close(x.grad, t.grad.numpy(), what=f"gradient of input {i}")


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2, 3, 1.5])
def test_lp_pool_gradient_on_zero_windows(dtype, p):
    """A window of zeros (say after a ReLU) has PyTorch gradient 0; ``relu``'s backward got ``inf * 0 = nan``."""
    x = rnd(2, 3, 8)
    x[0, 0, :4] = 0
    x[1, 2, 2:6] = 0
    differential(lambda x: F.lp_pool1d(x, p, 2), lambda x: TF.lp_pool1d(x, p, 2), [x], dtype)
    x2 = np.maximum(rnd(2, 3, 6, 6, seed=1), 0)
    x2[:, :, :2, :3] = 0
    differential(lambda x: F.lp_pool2d(x, p, (2, 3)), lambda x: TF.lp_pool2d(x, p, (2, 3)), [x2], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_passes_inf_and_nan_as_threshold_backward(dtype):
    x = np.array([-1.0, 0.0, 2.0, np.nan], dtype)
    g = np.array([np.inf, np.inf, 1.0, 1.0], dtype)
    for f, tf in [(F.relu, TF.relu), (nn.ReLU(), tnn.ReLU()), (lambda a: a.clone().relu_(), lambda a: a.clone().relu_())]:
        a, t = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        npg.sum(f(a) * npg.tensor(g)).backward()
        (tf(t) * torch.tensor(g)).sum().backward()
        assert_close(a.grad, t.grad.numpy(), what="relu gradient")
    out, tan = npg.func.jvp(F.relu, (npg.tensor(x),), (npg.tensor(g),))
    tout, ttan = torch.func.jvp(TF.relu, (torch.tensor(x),), (torch.tensor(g),))
    assert_close(tan, ttan.numpy(), what="relu tangent")


# ----------------------------------------------------------------------------- attention
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_shape", [(2, 3, 4, 5), (2, 1, 4, 5), (4, 5), (3, 1, 5)])
def test_sdpa_float_mask_gradient(dtype, mask_shape):
    """A float attn_mask that requires grad (a learned position bias) gets PyTorch's gradient; it got none."""
    q, k, v, m = rnd(2, 3, 4, 6, seed=1), rnd(2, 3, 5, 6, seed=2), rnd(2, 3, 5, 7, seed=3), rnd(*mask_shape, seed=4)
    differential(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.6),
                 lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.6), [q, k, v, m], dtype)


def test_sdpa_float_mask_forward_mode_and_second_order():
    q, k, v, m = rnd(3, 4, 6, seed=1), rnd(3, 5, 6, seed=2), rnd(3, 5, 7, seed=3), rnd(3, 4, 5, seed=4)
    tq, tk, tv, tm = rnd(3, 4, 6, seed=5), rnd(3, 5, 6, seed=6), rnd(3, 5, 7, seed=7), rnd(3, 4, 5, seed=8)
    for args, tans in [((q, k, v, m), (tq, tk, tv, tm)), ((q, k, v, m), (0 * tq, 0 * tk, 0 * tv, tm))]:
        out, tan = npg.func.jvp(lambda *a: F.scaled_dot_product_attention(*a[:3], attn_mask=a[3]),
                                tuple(npg.tensor(a) for a in args), tuple(npg.tensor(t) for t in tans))
        tout, ttan = torch.func.jvp(lambda *a: TF.scaled_dot_product_attention(*a[:3], attn_mask=a[3]),
                                    tuple(torch.tensor(a) for a in args), tuple(torch.tensor(t) for t in tans))
        assert_close(out, tout.numpy(), what="sdpa primal")
        assert_close(tan, ttan.numpy(), what="sdpa tangent along the mask")
    # second order: d/dm of sum(d out/dq * w)
    w = rnd(3, 4, 7, seed=9)
    xs = [npg.tensor(a, requires_grad=True) for a in (q, k, v, m)]
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v, m)]
    g, = npg.autograd.grad(npg.sum(F.scaled_dot_product_attention(*xs[:3], attn_mask=xs[3]) * npg.tensor(w)), [xs[0]],
                           create_graph=True)
    tg, = torch.autograd.grad((TF.scaled_dot_product_attention(*ts[:3], attn_mask=ts[3]) * torch.tensor(w)).sum(),
                              [ts[0]], create_graph=True)
    gm, = npg.autograd.grad(npg.sum(g * g), [xs[3]])
    tgm, = torch.autograd.grad((tg * tg).sum(), [ts[3]])
    assert_close(gm, tgm.numpy(), what="second derivative through the mask")


def test_sdpa_float_mask_under_vmap():
    q, k, v, m = rnd(4, 2, 3, 6, seed=1), rnd(4, 2, 5, 6, seed=2), rnd(4, 2, 5, 7, seed=3), rnd(4, 3, 5, seed=4)

    def loss(q, k, v, m):
        return npg.sum(F.scaled_dot_product_attention(q, k, v, attn_mask=m) ** 2)

    per = npg.func.vmap(npg.func.grad(loss, argnums=3))(*(npg.tensor(a) for a in (q, k, v, m)))
    for i in range(4):
        tm = torch.tensor(m[i], requires_grad=True)
        (TF.scaled_dot_product_attention(*(torch.tensor(a[i]) for a in (q, k, v)), attn_mask=tm) ** 2).sum().backward()
        assert_close(per[i], tm.grad.numpy(), what=f"per-sample mask gradient {i}")


@pytest.mark.parametrize("q_shape, k_shape, mask", [
    ((4, 6), (5, 6), np.zeros((2, 1, 4, 5))),              # the mask would add batch dims: PyTorch raises
    ((3, 4, 6), (3, 5, 6), np.zeros((2, 3, 4, 5))),
    ((3, 4, 6), (3, 5, 6), np.zeros((4, 6))),              # no broadcast at all
    ((3, 4, 6), (3, 5, 6), np.zeros((4, 5), np.int64)),    # an integer mask
    ((2, 4, 6), (3, 5, 6), None),                          # query and key batches do not broadcast
])
def test_sdpa_raises_where_torch_raises(q_shape, k_shape, mask):
    v_shape = k_shape[:-1] + (7,)
    with pytest.raises(RuntimeError):
        TF.scaled_dot_product_attention(torch.zeros(q_shape, dtype=torch.float64), torch.zeros(k_shape, dtype=torch.float64),
                                        torch.zeros(v_shape, dtype=torch.float64),
                                        attn_mask=None if mask is None else torch.tensor(mask))
    with pytest.raises((ValueError, TypeError), match="scaled_dot_product_attention"):
        F.scaled_dot_product_attention(npg.zeros(q_shape), npg.zeros(k_shape), npg.zeros(v_shape),
                                       attn_mask=None if mask is None else npg.tensor(mask))


def _mha_pair(dtype, **kw):
    torch.manual_seed(0)
    tm = tnn.MultiheadAttention(8, 2, **kw).to(TDT[dtype])
    m = nn.MultiheadAttention(8, 2, **kw).to(dtype)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(add_bias_kv=True, add_zero_attn=True), dict(batch_first=True)])
@pytest.mark.parametrize("call", [dict(), dict(need_weights=False), dict(average_attn_weights=False)])
@pytest.mark.parametrize("masks", ["attn2d", "attn3d", "kpm", "both"])
def test_mha_float_mask_gradients(dtype, kw, call, masks):
    """Float attn_mask / key_padding_mask that require grad get PyTorch's gradients (npgrad dropped them)."""
    m, tm = _mha_pair(dtype, **kw)
    L, S, N = 3, 4, 2
    shape = (lambda T: (N, T, 8)) if kw.get("batch_first") else (lambda T: (T, N, 8))
    inputs = [rnd(*shape(L), seed=1), rnd(*shape(S), seed=2), rnd(*shape(S), seed=3)]
    am = {"attn2d": rnd(L, S, seed=4), "attn3d": rnd(N * 2, L, S, seed=4), "kpm": None, "both": rnd(L, S, seed=4)}[masks]
    kpm = rnd(N, S, seed=5) if masks in ("kpm", "both") else None
    inputs += [a for a in (am, kpm) if a is not None]

    def run(mod, q, k, v, *ms):
        ms = list(ms)
        a = ms.pop(0) if am is not None else None
        p = ms.pop(0) if kpm is not None else None
        return mod(q, k, v, attn_mask=a, key_padding_mask=p, **call)

    differential(lambda *a: run(m, *a), lambda *a: run(tm, *a), inputs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mha_unbatched_float_masks_gradients(dtype):
    m, tm = _mha_pair(dtype, add_zero_attn=True)
    inputs = [rnd(3, 8, seed=1), rnd(4, 8, seed=2), rnd(4, 8, seed=3), rnd(2, 3, 4, seed=4), rnd(4, seed=5)]
    differential(lambda q, k, v, a, p: m(q, k, v, attn_mask=a, key_padding_mask=p),
                 lambda q, k, v, a, p: tm(q, k, v, attn_mask=a, key_padding_mask=p), inputs, dtype)


# ----------------------------------------------------------------------------- resampling
def _nearest_cases():
    rng = np.random.default_rng(7)
    cases = [(1, (14,), dict(size=46)), (1, (26,), dict(size=22)), (3, (2, 3, 28), dict(size=(2, 3, 46))),
             (2, (29, 13), dict(scale_factor=(3.7828260811355685, 2.064315405014657))),  # out H + W > 128
             (2, (27, 27), dict(scale_factor=(2.021286233613964, 3.0237002323567648)))]
    for _ in range(150):
        d = int(rng.integers(1, 4))
        sp = tuple(int(v) for v in rng.integers(1, 30, d))
        if rng.random() < 0.5:
            kw = dict(size=tuple(int(v) for v in rng.integers(1, 80, d)))
        else:
            kw = dict(scale_factor=tuple(float(v) for v in rng.uniform(0.5, 4, d)),
                      recompute_scale_factor=bool(rng.random() < 0.3))
        cases.append((d, sp, kw))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_nearest_neighbours_match_torch(dtype, mode):
    """Float64 1-D / 3-D inputs (and 2-D outputs with H + W > 128) take PyTorch's generic kernel, whose indices
    are computed in double then rounded to float32; npgrad used float32 throughout and picked other pixels."""
    rng = np.random.default_rng(3)
    for d, sp, kw in _nearest_cases():
        x = rng.standard_normal((1, 2) + sp).astype(dtype)
        try:
            t = TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
        except RuntimeError:   # an output size 0: npgrad's error is checked elsewhere
            continue
        out = F.interpolate(npg.tensor(x), mode=mode, **kw).data
        assert out.shape == t.shape and np.array_equal(out, t), f"{mode} {dtype.__name__} {sp} {kw}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kw", [((29, 13), dict(scale_factor=(3.7828260811355685, 2.064315405014657))),
                                       ((14,), dict(size=46, mode="nearest-exact")),
                                       ((2, 3, 28), dict(size=(2, 3, 46)))])
def test_interpolate_nearest_gradient_is_the_scatter_of_torchs_forward(dtype, shape, kw):
    """The gradient is the transpose of the gather PyTorch's forward does (read off an arange input). PyTorch's
    own backward disagrees with its forward for some scale factors, so it is not the oracle here."""
    n = int(np.prod(shape))
    src = TF.interpolate(torch.arange(n, dtype=TDT[dtype]).reshape((1, 1) + shape), **kw).numpy().astype(int)
    w = rnd(*src.shape, seed=2).astype(dtype)
    expected = np.zeros(n, dtype)
    np.add.at(expected, src.ravel(), w.ravel())
    x = npg.tensor(rnd(1, 1, *shape).astype(dtype), requires_grad=True)
    npg.sum(F.interpolate(x, **kw) * npg.tensor(w)).backward()
    assert_close(x.grad.reshape(-1), expected, what="nearest gradient")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes, kw", [
    (((2, 6, 4, 8), (2, 3, 5, 8), (2, 3, 5, 7)), {}),
    (((2, 6, 4, 8), (2, 2, 5, 8), (2, 3, 5, 7)), dict(is_causal=True)),
    (((6, 4, 8), (1, 5, 8), (3, 5, 7)), dict(scale=0.4)),
    (((2, 6, 4, 8), (1, 3, 5, 8), (1, 6, 5, 7)), {}),
])
def test_sdpa_grouped_query_attention(dtype, shapes, kw):
    """enable_gqa was NotImplementedError; now PyTorch's values and gradients."""
    arrays = [rnd(*s, seed=i) for i, s in enumerate(shapes)]
    differential(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True, **kw),
                 lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True, **kw), arrays, dtype)


def test_sdpa_grouped_query_attention_mask_vmap_jvp_and_errors():
    q, k, v, m = rnd(4, 6, 3, 8, seed=1), rnd(4, 2, 5, 8, seed=2), rnd(4, 2, 5, 7, seed=3), rnd(6, 3, 5, seed=4)
    differential(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, enable_gqa=True),
                 lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m, enable_gqa=True),
                 [q, k, v, m], np.float64)
    out = npg.func.vmap(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))(
        npg.tensor(q), npg.tensor(k), npg.tensor(v))
    ref = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), enable_gqa=True)
    assert_close(out, ref.numpy(), what="vmap of gqa")
    tans = [rnd(*a.shape, seed=9 + i) for i, a in enumerate((q, k, v))]
    _, tan = npg.func.jvp(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                          tuple(npg.tensor(a) for a in (q, k, v)), tuple(npg.tensor(t) for t in tans))
    _, ttan = torch.func.jvp(lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                             tuple(torch.tensor(a) for a in (q, k, v)), tuple(torch.tensor(t) for t in tans))
    assert_close(tan, ttan.numpy(), what="gqa tangent")
    for qs, ks in [((2, 4, 4, 8), (2, 3, 5, 8)), ((2, 3, 4, 8), (2, 6, 5, 8)), ((4, 8), (5, 8))]:
        with pytest.raises((RuntimeError, IndexError)):
            TF.scaled_dot_product_attention(torch.zeros(qs), torch.zeros(ks), torch.zeros(ks), enable_gqa=True)
        with pytest.raises(ValueError, match="scaled_dot_product_attention"):
            F.scaled_dot_product_attention(npg.zeros(qs), npg.zeros(ks), npg.zeros(ks), enable_gqa=True)


# ----------------------------------------------------------------------------- recurrent
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", ["cell", "rnn"])
def test_rnn_relu_inf_cotangent_on_dead_units(dtype, layer):
    """The fused ReLU RNN step multiplied the cotangent by (h > 0): an inf on a dead unit gave nan everywhere;
    PyTorch's threshold_backward gives 0 there."""
    torch.manual_seed(0)
    if layer == "cell":
        tm, m = tnn.RNNCell(3, 4, nonlinearity="relu"), nn.RNNCell(3, 4, nonlinearity="relu")
        x = rnd(5, 3)
    else:
        tm, m = tnn.RNN(3, 4, nonlinearity="relu", num_layers=2), nn.RNN(3, 4, nonlinearity="relu", num_layers=2)
        x = rnd(3, 5, 3)
    tm = tm.to(TDT[dtype])
    m = m.to(dtype)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = x.astype(dtype)
    out = m(npg.tensor(x))
    out = out[0] if isinstance(out, tuple) else out
    g = np.where(out.data <= 0, np.inf, 1.0).astype(dtype)
    assert np.isinf(g).any() and (g == 1).any()
    a, ta = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    o, to = m(a), tm(ta)
    o, to = (o[0], to[0]) if isinstance(o, tuple) else (o, to)
    npg.sum(o * npg.tensor(g)).backward()
    (to * torch.tensor(g)).sum().backward()
    assert_close(a.grad, ta.grad.numpy(), what="input gradient")
    for name, p in m.named_parameters():
        assert_close(p.grad, dict(tm.named_parameters())[name].grad.numpy(), what=f"gradient of {name}")
