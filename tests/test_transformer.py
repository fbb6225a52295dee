"""MultiheadAttention (kdim/vdim, add_bias_kv, add_zero_attn) and the Transformer layers against torch.nn:
weights loaded from a PyTorch state dict, then outputs and gradients (inputs and every parameter) agree in
float32 and float64, with every mask kind, batch_first, norm_first, activations, unbatched inputs; state
dicts load both ways; second derivatives match torch.autograd.grad(create_graph=True)."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.attention  # noqa: F401  (sdpa_kernel)

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close

pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning",
                                        "ignore:enable_nested_tensor is True:UserWarning")
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    npg.set_default_dtype(request.param)
    torch.set_default_dtype(TORCH_DTYPE[request.param])
    yield request.param
    npg.set_default_dtype(np.float64)
    torch.set_default_dtype(torch.float32)


def rnd(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def load_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})
    return module


def to_torch_kw(kw):
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


def randomize_biases(tmodule):
    """PyTorch starts attention and LayerNorm biases at 0 / 1: give every parameter a random value so
    that a wrong bias or scale would show."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in tmodule.named_parameters():
            if p.ndim == 1 or "bias_" in name:
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.5 + (1.0 if "norm" in name and
                                                                                 "weight" in name else 0.0))


def check(module, tmodule, inputs, dtype, kw=None, call=None, train=True, seed=1):
    """Same outputs and gradients (inputs and every parameter) after loading torch's weights."""
    kw = kw or {}
    load_from_torch(module, tmodule)
    module.train(train)
    tmodule.train(train)
    xs = [npg.tensor(a) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    call = call or (lambda m, *a, **k: m(*a, **k))
    out = call(module, *xs, **kw)
    tout = call(tmodule, *ts, **to_torch_kw(kw))
    assert out.dtype == dtype
    assert_close(out, tout.detach().numpy(), what=f"{type(module).__name__} output")
    w = rnd(*out.shape, dtype=dtype, seed=seed)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    tparams = dict(tmodule.named_parameters())
    assert [n for n, _ in module.named_parameters()] == list(tparams)
    for name, p in module.named_parameters():
        tg = tparams[name].grad
        assert p.grad is not None and p.grad.dtype == dtype, name
        assert_close(p.grad, tg.numpy() if tg is not None else np.zeros(p.shape), what=f"grad of {name}")
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert_close(x.grad, t.grad.numpy(), what=f"grad of input {i}")
    return out


# ------------------------------------------------------------------------- MultiheadAttention
MHA_OPTIONS = {
    "kdim_vdim": dict(kdim=5, vdim=3),
    "bias_kv": dict(add_bias_kv=True),
    "zero_attn": dict(add_zero_attn=True),
    "all": dict(kdim=5, vdim=7, add_bias_kv=True, add_zero_attn=True),
    "all_no_bias": dict(kdim=5, vdim=7, add_bias_kv=True, add_zero_attn=True, bias=False),
}


@pytest.mark.parametrize("opts", list(MHA_OPTIONS), ids=list(MHA_OPTIONS))
@pytest.mark.parametrize("masks", ["none", "bool", "float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_kdim_vdim_bias_kv_zero_attn(opts, masks, need_weights, dtype):
    E, H, N, L, S = 8, 2, 3, 4, 6
    o = MHA_OPTIONS[opts]
    tm = tnn.MultiheadAttention(E, H, batch_first=True, **o)
    randomize_biases(tm)
    m = nn.MultiheadAttention(E, H, batch_first=True, **o)
    q, k, v = rnd(N, L, E, dtype=dtype), rnd(N, S, m.kdim, dtype=dtype, seed=1), rnd(N, S, m.vdim, dtype=dtype, seed=2)
    kw = dict(need_weights=need_weights, average_attn_weights=False)
    if masks == "bool":
        am = np.random.default_rng(4).random((L, S)) < 0.3
        am[:, 0] = False
        kp = np.zeros((N, S), bool)
        kp[1, -2:] = True
        kw.update(attn_mask=am, key_padding_mask=kp)
    elif masks == "float":
        kw.update(attn_mask=rnd(N * H, L, S, dtype=dtype, seed=5), key_padding_mask=rnd(N, S, dtype=dtype, seed=6))
    check(m, tm, [q, k, v], dtype, kw, call=lambda mod, *a, **k: mod(*a, **k)[0])
    if need_weights:
        w = m(npg.tensor(q), npg.tensor(k), npg.tensor(v), **kw)[1]
        tw = tm(torch.tensor(q), torch.tensor(k), torch.tensor(v), **to_torch_kw(kw))[1]
        assert_close(w, tw.detach().numpy(), what="attention weights")


@pytest.mark.parametrize("opts", ["kdim_vdim", "all"])
def test_mha_unbatched_and_seq_first(opts, dtype):
    E, H, L, S = 8, 4, 3, 5
    o = MHA_OPTIONS[opts]
    tm = tnn.MultiheadAttention(E, H, **o)
    randomize_biases(tm)
    m = nn.MultiheadAttention(E, H, **o)
    q, k, v = rnd(L, E, dtype=dtype), rnd(S, m.kdim, dtype=dtype, seed=1), rnd(S, m.vdim, dtype=dtype, seed=2)
    kp = np.array([False, False, True, False, True])
    am = rnd(H, L, S, dtype=dtype, seed=3)
    check(m, tm, [q, k, v], dtype, dict(key_padding_mask=kp, attn_mask=am),
          call=lambda mod, *a, **k: mod(*a, **k)[0])
    q3, k3, v3 = (a.reshape(a.shape[0], 1, a.shape[1]).repeat(2, axis=1) for a in (q, k, v))
    check(m, tm, [q3, k3, v3], dtype, call=lambda mod, *a, **k: mod(*a, **k)[0])


def test_mha_parameters_state_dict_and_init():
    m = nn.MultiheadAttention(8, 2, kdim=5, vdim=3, add_bias_kv=True)
    tm = tnn.MultiheadAttention(8, 2, kdim=5, vdim=3, add_bias_kv=True)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert {k: v.shape for k, v in m.state_dict().items()} == {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert m.in_proj_weight is None and tm.in_proj_weight is None
    assert (m.in_proj_bias.data == 0).all() and (m.out_proj.bias.data == 0).all()
    for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
        w = getattr(m, name).data
        assert np.abs(w).max() <= np.sqrt(6 / sum(w.shape))
    # bias_k / bias_v: xavier_normal_ on a (1, 1, E) tensor (fan_in = fan_out = E), as PyTorch
    big = nn.MultiheadAttention(600, 1, add_bias_kv=True)
    assert abs(big.bias_k.data.std() - np.sqrt(1 / 600)) < 0.12 * np.sqrt(1 / 600)
    # npgrad's weights load into torch and give torch's output
    tm.load_state_dict({k: torch.tensor(v.data) for k, v in m.state_dict().items()})
    q, k, v = rnd(3, 2, 8, seed=1), rnd(4, 2, 5, seed=2), rnd(4, 2, 3, seed=3)
    out = m(npg.tensor(q), npg.tensor(k), npg.tensor(v))[0]
    tout = tm.double()(torch.tensor(q), torch.tensor(k), torch.tensor(v))[0]
    assert_close(out, tout.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_mha_shape_errors():
    m = nn.MultiheadAttention(8, 2, kdim=5, batch_first=True)
    q, k = npg.randn(2, 3, 8), npg.randn(2, 4, 5)
    with pytest.raises(ValueError, match="kdim 5"):
        m(q, npg.randn(2, 4, 8), npg.randn(2, 4, 8))
    with pytest.raises(ValueError, match="key_padding_mask of shape"):
        m(q, k, npg.randn(2, 4, 8), key_padding_mask=np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match="attn_mask of shape"):
        m(q, k, npg.randn(2, 4, 8), attn_mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="same"):
        m(q, k, npg.randn(2, 5, 8))
    with pytest.raises(ValueError, match="all be 3-D"):
        m(q, npg.randn(4, 5), npg.randn(4, 8))


# ------------------------------------------------------------------------------ Transformer layers
def masks_for(kind, L, S, N, H, dtype):
    """Keyword masks of one kind for a (L queries, S keys) attention, as numpy arrays."""
    if kind == "none":
        return {}
    if kind == "causal_flag":
        return {"is_causal": True, "mask": np.triu(np.ones((L, S), bool), 1)}
    if kind == "bool":
        m = np.random.default_rng(7).random((L, S)) < 0.3
        m[:, 0] = False
        return {"mask": m}
    if kind == "float":
        return {"mask": rnd(L, S, dtype=dtype, seed=8)}
    if kind == "float3d":
        return {"mask": rnd(N * H, L, S, dtype=dtype, seed=8)}
    if kind == "key_padding":
        kp = np.zeros((N, S), bool)
        kp[-1, -2:] = True
        return {"kpm": kp}
    raise ValueError(kind)


def make_pair(cls, tcls, *args, **kw):
    tm = tcls(*args, **kw)
    randomize_biases(tm)
    targs = {k: (getattr(torch.nn.functional, v) if isinstance(v, str) and k == "activation_fn" else v)
             for k, v in kw.items()}
    return cls(*args, **kw), tm if targs == kw else tcls(*args, **targs)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", ["none", "causal_flag", "bool", "float", "float3d", "key_padding"])
def test_encoder_layer(norm_first, batch_first, mask, dtype):
    E, H, N, L = 8, 2, 3, 5
    kw = dict(dim_feedforward=12, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    tm = tnn.TransformerEncoderLayer(E, H, **kw)
    randomize_biases(tm)
    m = nn.TransformerEncoderLayer(E, H, **kw)
    x = rnd(N, L, E, dtype=dtype) if batch_first else rnd(L, N, E, dtype=dtype)
    mk = masks_for(mask, L, L, N, H, dtype)
    call_kw = {}
    if "mask" in mk:
        call_kw["src_mask"] = mk["mask"]
    if "kpm" in mk:
        call_kw["src_key_padding_mask"] = mk["kpm"]
    if "is_causal" in mk:
        call_kw["is_causal"] = True
    check(m, tm, [x], dtype, call_kw)
    check(m, tm, [x], dtype, call_kw, train=False)


ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "callable": (lambda x: F.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "function": (npg.tanh, torch.tanh),
    "module": (nn.SiLU(), tnn.SiLU()),
}


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_layers_activation(act, dtype):
    E, H, N, L, S = 8, 4, 2, 4, 3
    a, ta = ACTIVATIONS[act]
    for cls, tcls in ((nn.TransformerEncoderLayer, tnn.TransformerEncoderLayer),
                      (nn.TransformerDecoderLayer, tnn.TransformerDecoderLayer)):
        tm = tcls(E, H, 16, dropout=0.0, activation=ta, batch_first=True)
        randomize_biases(tm)
        m = cls(E, H, 16, dropout=0.0, activation=a, batch_first=True)
        assert [n for n, _ in m.named_modules()] == [n for n, _ in tm.named_modules()]
        inputs = [rnd(N, L, E, dtype=dtype)] + ([rnd(N, S, E, dtype=dtype, seed=1)] if "Decoder" in cls.__name__ else [])
        check(m, tm, inputs, dtype)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", ["none", "causal_flag", "bool", "float", "key_padding"])
def test_decoder_layer(norm_first, batch_first, mask, dtype):
    E, H, N, T, S = 8, 2, 3, 4, 6
    kw = dict(dim_feedforward=12, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    tm = tnn.TransformerDecoderLayer(E, H, **kw)
    randomize_biases(tm)
    m = nn.TransformerDecoderLayer(E, H, **kw)
    shape = (lambda L: (N, L, E)) if batch_first else (lambda L: (L, N, E))
    tgt, mem = rnd(*shape(T), dtype=dtype), rnd(*shape(S), dtype=dtype, seed=1)
    self_m, cross_m = masks_for(mask, T, T, N, H, dtype), masks_for(mask, T, S, N, H, dtype)
    call_kw = {}
    if "mask" in self_m:
        call_kw["tgt_mask"] = self_m["mask"]
        if mask != "causal_flag":
            call_kw["memory_mask"] = cross_m["mask"]
    if "kpm" in self_m:
        call_kw["tgt_key_padding_mask"] = self_m["kpm"]
        call_kw["memory_key_padding_mask"] = cross_m["kpm"]
    if "is_causal" in self_m:
        call_kw["tgt_is_causal"] = True
    check(m, tm, [tgt, mem], dtype, call_kw)


@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks_with_final_norm_and_unbatched(norm_first, dtype):
    E, H, N, L, T = 8, 2, 2, 5, 4
    kw = dict(dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    tenc = tnn.TransformerEncoder(tnn.TransformerEncoderLayer(E, H, **kw), 2, tnn.LayerNorm(E),
                                  enable_nested_tensor=False)
    randomize_biases(tenc)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **kw), 2, nn.LayerNorm(E))
    assert list(enc.state_dict()) == list(tenc.state_dict())
    causal = np.triu(np.full((L, L), -np.inf, dtype=dtype), 1)
    check(enc, tenc, [rnd(L, N, E, dtype=dtype)], dtype, dict(mask=causal))
    check(enc, tenc, [rnd(L, E, dtype=dtype)], dtype, dict(mask=causal, is_causal=True))      # unbatched
    check(enc, tenc, [rnd(L, E, dtype=dtype)], dtype, dict(src_key_padding_mask=np.arange(L) >= 3))
    tdec = tnn.TransformerDecoder(tnn.TransformerDecoderLayer(E, H, **kw), 3, tnn.LayerNorm(E))
    randomize_biases(tdec)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, **kw), 3, nn.LayerNorm(E))
    assert list(dec.state_dict()) == list(tdec.state_dict())
    tcausal = np.triu(np.full((T, T), -np.inf, dtype=dtype), 1)
    check(dec, tdec, [rnd(T, N, E, dtype=dtype), rnd(L, N, E, dtype=dtype, seed=2)], dtype, dict(tgt_mask=tcausal))
    check(dec, tdec, [rnd(T, E, dtype=dtype), rnd(L, E, dtype=dtype, seed=2)], dtype,
          dict(tgt_mask=tcausal, memory_key_padding_mask=np.arange(L) == 1))


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_all_masks(batch_first, dtype):
    E, H, N, S, T = 8, 2, 3, 6, 4
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0,
              batch_first=batch_first)
    tm = tnn.Transformer(**kw)
    randomize_biases(tm)
    m = nn.Transformer(**kw)
    shape = (lambda L: (N, L, E)) if batch_first else (lambda L: (L, N, E))
    src, tgt = rnd(*shape(S), dtype=dtype), rnd(*shape(T), dtype=dtype, seed=1)
    src_kp = np.zeros((N, S), bool)
    src_kp[0, -2:] = True
    tgt_kp = np.zeros((N, T), bool)
    tgt_kp[1, -1] = True
    mem_mask = np.random.default_rng(3).random((T, S)) < 0.25
    mem_mask[:, 0] = False
    masks = dict(src_mask=rnd(S, S, dtype=dtype, seed=4),
                 tgt_mask=nn.Transformer.generate_square_subsequent_mask(T).data.astype(dtype),
                 memory_mask=mem_mask, src_key_padding_mask=src_kp, tgt_key_padding_mask=tgt_kp,
                 memory_key_padding_mask=src_kp)
    check(m, tm, [src, tgt], dtype, masks)
    check(m, tm, [src[:, 0] if not batch_first else src[0], tgt[:, 0] if not batch_first else tgt[0]], dtype,
          dict(tgt_mask=masks["tgt_mask"], tgt_is_causal=True), train=False)


def test_transformer_state_dict_both_ways_and_init():
    m = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0)
    tm = tnn.Transformer(8, 2, 1, 1, 16, dropout=0.0).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    tm.load_state_dict({k: torch.tensor(v.data) for k, v in m.state_dict().items()})   # npgrad -> torch
    src, tgt = rnd(5, 2, 8), rnd(3, 2, 8, seed=1)
    out = m(npg.tensor(src), npg.tensor(tgt))
    assert_close(out, tm(torch.tensor(src), torch.tensor(tgt)).detach().numpy())
    # every matrix starts Xavier-uniform (the in-projection too), vectors keep their layer's init
    for name, p in m.named_parameters():
        if p.ndim > 1:
            assert np.abs(p.data).max() <= np.sqrt(6 / sum(p.shape)) + 1e-12, name
    assert (m.encoder.layers[0].norm1.weight.data == 1).all()
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert isinstance(mask, npg.Tensor) and not mask.requires_grad and mask.dtype == np.float64
    np.testing.assert_array_equal(mask.data, tnn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float32).dtype == np.float32


def test_dropout_eval_matches_and_train_drops():
    tm = tnn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    m = load_from_torch(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5), tm.double())
    x = rnd(4, 2, 8)
    m.eval()
    tm.eval()
    with torch.no_grad():
        expected = tm(torch.tensor(x)).numpy()
    assert_close(m(npg.tensor(x)), expected)
    m.train()
    npg.random.seed(0)
    a = m(npg.tensor(x)).data
    assert not np.allclose(a, expected)


def test_transformer_errors():
    with pytest.raises(RuntimeError, match="relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    m = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match="batch sizes"):
        m(npg.randn(5, 2, 8), npg.randn(3, 3, 8))
    with pytest.raises(ValueError, match="d_model 8"):
        m(npg.randn(5, 2, 6), npg.randn(3, 2, 6))


def test_second_derivatives_match_torch():
    """d/dparams of <d out/d x, v>, through attention, LayerNorm and GELU (create_graph=True)."""
    E, H, N, L = 8, 2, 2, 4
    tm = tnn.TransformerEncoderLayer(E, H, 12, dropout=0.0, activation="gelu", batch_first=True,
                                     norm_first=True).double()
    randomize_biases(tm)
    m = load_from_torch(nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, activation="gelu", batch_first=True,
                                                   norm_first=True), tm)
    x, w, v = rnd(N, L, E), rnd(N, L, E, seed=1), rnd(N, L, E, seed=2)
    mask = np.random.default_rng(5).random((L, L)) < 0.3
    mask[:, 0] = False
    xn, xt = npg.tensor(x), torch.tensor(x, requires_grad=True)
    g, = npg.autograd.grad(npg.sum(m(xn, src_mask=mask) * w), xn, create_graph=True)
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):  # flash attention: no double backward
        tg, = torch.autograd.grad((tm(xt, src_mask=torch.tensor(mask)) * torch.tensor(w)).sum(), xt,
                                  create_graph=True)
    assert_close(g, tg.detach().numpy())
    params = [p for _, p in m.named_parameters()]
    tparams = [p for _, p in tm.named_parameters()]
    hs = npg.autograd.grad(npg.sum(g * v), params + [xn], allow_unused=True)
    ths = torch.autograd.grad((tg * torch.tensor(v)).sum(), tparams + [xt], allow_unused=True)
    for (name, _), h, th in zip(list(m.named_parameters()) + [("x", None)], hs, ths):
        assert (h is None) == (th is None), name   # unused where torch's is unused (e.g. the last bias)
        if h is not None:
            assert_close(h, th.numpy(), what=f"second derivative for {name}", rtol=1e-6, atol=1e-8)
    assert sum(h is not None for h in hs) >= len(params) - 2


def test_is_causal_without_mask_applies_the_causal_mask():
    """PyTorch needs the mask with the hint; here the hint alone builds it (documented), same result."""
    m = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    x = npg.tensor(rnd(5, 2, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    assert_close(m(x, is_causal=True), m(x, src_mask=mask).data)
    enc = nn.TransformerEncoder(m, 2)
    assert_close(enc(x, is_causal=True), enc(x, mask=mask).data)
