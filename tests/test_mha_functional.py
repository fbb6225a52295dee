"""F.multi_head_attention_forward against PyTorch's: the weights passed in, sequence-first inputs, every option."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close

E, H, L, S, N = 8, 2, 3, 4, 2


def _args(rng, separate, bias, bias_kv, kdim=E, vdim=E):
    w = {"in_proj_weight": None if separate else rng.standard_normal((3 * E, E)) * 0.3,
         "in_proj_bias": rng.standard_normal(3 * E) * 0.1 if bias else None,
         "bias_k": rng.standard_normal((1, 1, E)) if bias_kv else None,
         "bias_v": rng.standard_normal((1, 1, E)) if bias_kv else None,
         "out_proj_weight": rng.standard_normal((E, E)) * 0.3,
         "out_proj_bias": rng.standard_normal(E) * 0.1 if bias else None,
         "q_proj_weight": rng.standard_normal((E, E)) * 0.3 if separate else None,
         "k_proj_weight": rng.standard_normal((E, kdim)) * 0.3 if separate else None,
         "v_proj_weight": rng.standard_normal((E, vdim)) * 0.3 if separate else None}
    return w


def _run(lib, q, k, v, w, **kw):
    T = (lambda a: None if a is None else npg.tensor(a.copy(), requires_grad=True)) if lib is npg else \
        (lambda a: None if a is None else torch.tensor(a.copy(), requires_grad=True))
    tq, tk, tv = T(q), T(k), T(v)
    tw = {name: T(a) for name, a in w.items()}
    masks = {name: (torch.tensor(m) if lib is torch else m) for name, m in kw.pop("masks", {}).items()}
    statics = {name: T(m) for name, m in kw.pop("statics", {}).items()}
    fn = F.multi_head_attention_forward if lib is npg else TF.multi_head_attention_forward
    out, weights = fn(tq, tk, tv, E, H, tw["in_proj_weight"], tw["in_proj_bias"], tw["bias_k"], tw["bias_v"],
                      kw.pop("add_zero_attn", False), 0.0, tw["out_proj_weight"], tw["out_proj_bias"],
                      use_separate_proj_weight=tw["q_proj_weight"] is not None, q_proj_weight=tw["q_proj_weight"],
                      k_proj_weight=tw["k_proj_weight"], v_proj_weight=tw["v_proj_weight"], **masks, **statics,
                      **kw)
    loss = (out * out).sum() + (0 if weights is None else (weights * weights).sum())
    loss.backward()
    grads = [t.grad for t in [tq, tk, tv, *tw.values(), *statics.values()] if t is not None]
    val = lambda t: t.detach().numpy() if lib is torch else t.data  # noqa: E731
    grads = [g.numpy() if lib is torch and g is not None else g for g in grads]
    return val(out), None if weights is None else val(weights), grads


@pytest.mark.parametrize("case", ["plain", "self", "separate", "no_bias", "bias_kv", "zero_attn", "masks",
                                  "no_weights", "per_head", "unbatched", "static", "float_masks"])
def test_matches_torch(case):
    rng = np.random.default_rng(abs(hash(case)) % 2 ** 32)
    kdim = vdim = E
    separate = case == "separate"
    if separate:
        kdim, vdim = 5, 6
    w = _args(rng, separate, case != "no_bias", case == "bias_kv", kdim, vdim)
    shape = (L, E) if case == "unbatched" else (L, N, E)
    q = rng.standard_normal(shape)
    k = q if case == "self" else rng.standard_normal(((S, kdim) if case == "unbatched" else (S, N, kdim)))
    v = q if case == "self" else rng.standard_normal(((S, vdim) if case == "unbatched" else (S, N, vdim)))
    Sk = L if case == "self" else S
    kw = {}
    if case == "zero_attn":
        kw["add_zero_attn"] = True
    if case == "masks":
        kw["masks"] = {"attn_mask": rng.random((L, Sk)) < 0.3, "key_padding_mask": np.array(
            [[False] * (Sk - 1) + [True], [False] * Sk])}
    if case == "float_masks":
        kw["masks"] = {"attn_mask": rng.standard_normal((N * H, L, Sk))}
    if case == "no_weights":
        kw["need_weights"] = False
    if case == "per_head":
        kw["average_attn_weights"] = False
    if case == "static":
        kw["statics"] = {"static_k": rng.standard_normal((N * H, 5, E // H)),
                         "static_v": rng.standard_normal((N * H, 5, E // H))}
    ours = _run(npg, q, k, v, w, **{**kw})
    theirs = _run(torch, q, k, v, w, **{**kw})
    assert_close(ours[0], theirs[0])
    if theirs[1] is None:
        assert ours[1] is None
    else:
        assert_close(ours[1], theirs[1])
    assert len(ours[2]) == len(theirs[2])
    for a, b in zip(ours[2], theirs[2]):
        if b is None:   # an input that was not used (a key under static_k): no gradient in either
            assert a is None
        else:
            assert_close(a, b)


def test_matches_the_module_and_checks_its_arguments():
    mha = npg.nn.MultiheadAttention(E, H)
    x = npg.randn(L, N, E)
    out, weights = mha(x, x, x)
    out2, weights2 = F.multi_head_attention_forward(
        x, x, x, E, H, mha.in_proj_weight, mha.in_proj_bias, None, None, False, 0.0, mha.out_proj.weight,
        mha.out_proj.bias)
    assert_close(out.data, out2.data)
    assert_close(weights.data, weights2.data)
    with pytest.raises(ValueError, match="expecting embedding dimension of 6"):
        F.multi_head_attention_forward(x, x, x, 6, H, mha.in_proj_weight, None, None, None, False, 0.0,
                                       mha.out_proj.weight, None)
    with pytest.raises(ValueError, match="q_proj_weight"):
        F.multi_head_attention_forward(x, x, x, E, H, None, None, None, None, False, 0.0, mha.out_proj.weight,
                                       None, use_separate_proj_weight=True)
    with pytest.raises(ValueError, match="static_k"):
        F.multi_head_attention_forward(x, x, x, E, H, mha.in_proj_weight, None, None, None, False, 0.0,
                                       mha.out_proj.weight, None, static_k=npg.randn(N * H, 5, 3))
