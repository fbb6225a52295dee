"""nn.MultiheadAttention over random configurations, against torch.nn.MultiheadAttention: embed/head counts,
bias, add_bias_kv, add_zero_attn, kdim/vdim, batch_first, unbatched input, self-attention (query is key is
value), boolean / float / per-head attention masks, the is_causal hint, boolean or float key_padding_mask,
need_weights and average_attn_weights. Outputs, attention weights, input and parameter gradients; where
PyTorch raises npgrad must raise. (Found: with is_causal, no key_padding_mask and need_weights=False,
PyTorch hands the hint to its fused attention in place of attn_mask, so the causal mask spans the bias_k and
zero keys; npgrad padded the given mask instead.)"""
import random
import warnings

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import npgrad as npg
import npgrad.nn as nn


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(it=st.integers(0, 2**20))
def test_multihead_attention_random_configs(it):
    rng = random.Random(it)
    warnings.simplefilter("ignore")
    E = rng.choice([4, 6, 8])
    H = rng.choice([h for h in (1, 2, 3, 4) if E % h == 0])
    kw = dict(bias=rng.random() < 0.7, add_bias_kv=rng.random() < 0.3, add_zero_attn=rng.random() < 0.3,
              batch_first=rng.random() < 0.5)
    if rng.random() < 0.3:
        kw.update(kdim=rng.choice([3, 5]), vdim=rng.choice([3, 7]))
    L, S, N = rng.choice([1, 3, 4]), rng.choice([1, 2, 5]), rng.choice([1, 2, 3])
    unbatched = rng.random() < 0.2
    self_attn = rng.random() < 0.3 and "kdim" not in kw
    if self_attn:
        S = L
    r = np.random.default_rng(it)

    def shape(T, d):
        return (T, d) if unbatched else ((N, T, d) if kw["batch_first"] else (T, N, d))

    q = r.standard_normal(shape(L, E))
    k = q if self_attn else r.standard_normal(shape(S, kw.get("kdim", E)))
    v = k if self_attn else r.standard_normal(shape(S, kw.get("vdim", E)))
    call = dict(need_weights=rng.random() < 0.5, average_attn_weights=rng.random() < 0.5)
    mask_kind = rng.choice(["none", "bool", "float", "bool3d", "causal"])
    if mask_kind == "bool":
        call["attn_mask"] = r.random((L, S)) < 0.3
    elif mask_kind == "float":
        call["attn_mask"] = r.standard_normal((L, S))
    elif mask_kind == "bool3d":
        call["attn_mask"] = r.random(((1 if unbatched else N) * H, L, S)) < 0.3
    elif mask_kind == "causal" and L == S:
        call.update(attn_mask=np.triu(np.ones((L, S), bool), 1), is_causal=True)
    if rng.random() < 0.4:
        kp = r.random((S,) if unbatched else (N, S)) < 0.3
        call["key_padding_mask"] = kp if rng.random() < 0.7 else np.where(kp, -np.inf, 0.0)
    what = f"{kw} mask={mask_kind} {sorted(call)} unbatched={unbatched} self={self_attn} L={L} S={S} N={N}"

    tm = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **kw)
    nm = nn.MultiheadAttention(E, H, dtype=np.float64, **kw)
    nm.load_state_dict({a: b.detach().numpy() for a, b in tm.state_dict().items()})
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    nq, nk, nv = (npg.tensor(a) for a in (q, k, v))
    if self_attn:
        tk = tv = tq
        nk = nv = nq
    t_call = {a: (torch.tensor(b) if isinstance(b, np.ndarray) else b) for a, b in call.items()}
    try:
        t_out = tm(tq, tk, tv, **t_call)
    except (RuntimeError, ValueError, AssertionError):
        try:
            nm(nq, nk, nv, **call)
        except (RuntimeError, ValueError):
            return
        raise AssertionError(f"PyTorch raised, npgrad did not: {what}")
    out = nm(nq, nk, nv, **call)
    t_loss, loss = 0, 0
    for i, (t_o, o) in enumerate(zip(t_out, out)):
        assert (t_o is None) == (o is None), what
        if t_o is None:
            continue
        t_arr = t_o.detach().numpy()
        assert o.shape == t_arr.shape, what
        np.testing.assert_allclose(o.data, t_arr, rtol=1e-9, atol=1e-10, equal_nan=True, err_msg=f"output {i}: {what}")
        g = np.random.default_rng(i).standard_normal(t_arr.shape)
        finite = np.isfinite(t_arr)   # (a query whose keys are all masked gives NaN in both)
        t_loss = t_loss + (torch.where(torch.tensor(finite), t_o, 0) * torch.tensor(g)).sum()
        loss = loss + (npg.where(finite, o, 0) * g).sum()
    t_loss.backward()
    loss.backward()
    for t_x, x in [(tq, nq), (tk, nk), (tv, nv)]:
        if t_x.grad is not None:
            np.testing.assert_allclose(x.grad, t_x.grad.numpy(), rtol=1e-8, atol=1e-10, equal_nan=True, err_msg=what)
    for (name, tp), (_, p) in zip(sorted(tm.named_parameters()), sorted(nm.named_parameters())):
        if tp.grad is not None:
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-10, equal_nan=True,
                                       err_msg=f"{name}.grad: {what}")
