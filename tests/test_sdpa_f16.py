"""scaled_dot_product_attention on float16: computed in float32 and rounded once, as torch's CPU kernel
accumulates (in float16 the scores and softmax were rounded at each step: the output ~5e-3 off, torch's ~5e-4).
Oracle: torch's float64 attention of the same float16 numbers; npgrad must be within twice torch's own float16
error, with float16 results and gradients."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F


def _rel(a, ref):
    return np.abs(np.asarray(a, np.float64) - ref).max() / np.abs(ref).max()


@pytest.mark.parametrize("causal, mask", [(False, False), (True, False), (False, True)])
def test_float16_attention_is_as_accurate_as_torchs(causal, mask):
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((2, 3, 48, 32)).astype(np.float16) for _ in range(4))
    m = rng.standard_normal((48, 48)).astype(np.float16) if mask else None
    exact = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in (q, k, v)]
    ref = torch.nn.functional.scaled_dot_product_attention(
        *exact, attn_mask=None if m is None else torch.tensor(m.astype(np.float64)), is_causal=causal)
    ref.backward(torch.tensor(g.astype(np.float64)))
    half = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    th = torch.nn.functional.scaled_dot_product_attention(
        *half, attn_mask=None if m is None else torch.tensor(m), is_causal=causal)
    th.backward(torch.tensor(g))
    ours = [npg.tensor(a) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=None if m is None else npg.tensor(m, requires_grad=False),
                                         is_causal=causal)
    out.backward(npg.tensor(g))
    assert out.dtype == np.float16 and all(t.grad.dtype == np.float16 for t in ours)
    assert _rel(out.data, ref.detach().numpy()) <= 2 * max(_rel(th.detach().float().numpy(), ref.detach().numpy()), 1e-4)
    for t, h, e in zip(ours, half, exact):
        assert _rel(t.grad.data, e.grad.numpy()) <= 2 * max(_rel(h.grad.float().numpy(), e.grad.numpy()), 1e-4)
