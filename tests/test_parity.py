"""Parity: the same MLP, CNN and small transformer in npgrad and PyTorch, identical weights and batches,
20 steps of AdamW in float64: the losses agree to 1e-6 relative at every step (and the weights at the end)."""
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F


def build(lib):
    """The three models, written once against either library's ``nn``."""
    n = lib

    class MLP(n.Module):
        def __init__(self):
            super().__init__()
            self.net = n.Sequential(n.Linear(20, 32), n.ReLU(), n.Linear(32, 32), n.GELU(), n.Dropout(0.0),
                                    n.Linear(32, 5))

        def forward(self, x):
            return self.net(x)

    class CNN(n.Module):
        def __init__(self):
            super().__init__()
            self.features = n.Sequential(
                n.Conv2d(1, 8, 3, padding=1), n.BatchNorm2d(8), n.ReLU(), n.MaxPool2d(2),
                n.Conv2d(8, 16, 3, padding=1, groups=2), n.SiLU(), n.AvgPool2d(2),
                n.Conv2d(16, 16, 1), n.Tanh(), n.AdaptiveAvgPool2d((2, 2)))
            self.head = n.Sequential(n.Flatten(), n.Linear(64, 24), n.LayerNorm(24), n.ReLU(), n.Linear(24, 10))

        def forward(self, x):
            return self.head(self.features(x))

    class Block(n.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.ln1 = n.LayerNorm(d)
            self.attn = n.MultiheadAttention(d, heads, batch_first=True)
            self.ln2 = n.LayerNorm(d)
            self.mlp = n.Sequential(n.Linear(d, 4 * d), n.GELU(approximate="tanh"), n.Linear(4 * d, d))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class Transformer(n.Module):
        def __init__(self, vocab=13, d=16, heads=2, layers=2, T=8):
            super().__init__()
            self.tok = n.Embedding(vocab, d)
            self.pos = n.Embedding(T, d)
            self.blocks = n.ModuleList([Block(d, heads) for _ in range(layers)])
            self.ln = n.LayerNorm(d)
            self.head = n.Linear(d, vocab)

        def forward(self, idx, pos, mask):
            x = self.tok(idx) + self.pos(pos)
            for b in self.blocks:
                x = b(x, mask)
            return self.head(self.ln(x))

    return MLP, CNN, Transformer


NP_MODELS = build(nn)
TORCH_MODELS = build(tnn)


def batches(kind, step):
    rng = np.random.default_rng(1000 + step)
    if kind == "mlp":
        return rng.standard_normal((16, 20)), rng.integers(0, 5, 16)
    if kind == "cnn":
        return rng.standard_normal((8, 1, 12, 12)), rng.integers(0, 10, 8)
    idx = rng.integers(0, 13, (4, 8))
    return idx, np.roll(idx, -1, axis=1)


@pytest.mark.parametrize("kind", ["mlp", "cnn", "transformer"])
def test_twenty_adamw_steps_agree(kind):
    i = ["mlp", "cnn", "transformer"].index(kind)
    torch.manual_seed(0)
    tmodel = TORCH_MODELS[i]().double()
    model = NP_MODELS[i]()
    model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
    opt = npg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=3e-3, weight_decay=0.05, foreach=False)
    T = 8
    causal = np.triu(np.ones((T, T), dtype=bool), 1)  # True = may not attend (MultiheadAttention's convention)
    pos = np.arange(T)[None].repeat(4, 0)
    for step in range(20):
        x, y = batches(kind, step)
        if kind == "transformer":
            logits = model(x, pos, causal)
            loss = F.cross_entropy(logits.reshape(-1, 13), y.reshape(-1))
            tlogits = tmodel(torch.tensor(x), torch.tensor(pos), torch.tensor(causal))
            tloss = TF.cross_entropy(tlogits.reshape(-1, 13), torch.tensor(y).reshape(-1))
        else:
            loss = F.cross_entropy(model(npg.tensor(x)), y, label_smoothing=0.05)
            tloss = TF.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y), label_smoothing=0.05)
        assert math.isclose(loss.item(), tloss.item(), rel_tol=1e-6), (step, loss.item(), tloss.item())
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    tsd = tmodel.state_dict()
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v.data, tsd[k].numpy(), rtol=1e-6, atol=1e-9, err_msg=k)
