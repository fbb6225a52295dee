"""Train a small decoder-only transformer (or a 2-layer LSTM) on characters of a public-domain text, and sample.

    python examples/train_charlm.py              # examples/data/kjv.txt, a few minutes on 2 cores
    python examples/train_charlm.py --steps 300  # shorter
    python examples/train_charlm.py --model lstm # a 2-layer LSTM language model instead

(On a machine whose cores other processes keep busy, OPENBLAS_NUM_THREADS=1 can be several times faster: the
LSTM's many small GEMMs each wait for every BLAS thread.)

Embedding + learned positions, pre-norm blocks of causal multi-head attention and a GELU MLP, a final
LayerNorm and a linear head; AdamW with a warmup + cosine learning-rate schedule and gradient clipping.
With ``--model lstm``: embedding, a 2-layer ``nn.LSTM`` (hidden 256) and a linear head; it samples by carrying
the LSTM state from character to character.
Prints a progress bar with the running loss (only when stderr is a terminal), the validation loss next to
the unigram baseline (a model that knows only the character frequencies), and generated samples.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

try:
    import npgrad as npg
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F

DEFAULT_TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "kjv.txt")


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, is_causal=True, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class CharTransformer(nn.Module):
    def __init__(self, vocab, context, d=96, heads=4, layers=3):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(context, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        for name, p in self.named_parameters():  # small init, as GPT-style models do
            if name.endswith("weight") and p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx):
        T = idx.shape[1]
        mask = np.triu(np.ones((T, T), dtype=bool), 1)  # True = may not attend (a future position)
        x = self.tok(idx) + self.pos(np.arange(T))
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x))


class CharLSTM(nn.Module):
    """Embedding -> multi-layer LSTM (batch first) -> linear head over the vocabulary."""

    def __init__(self, vocab, context, d=96, hidden=256, layers=2, dropout=0.0):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None, return_state=False):
        out, state = self.lstm(self.tok(idx), state)
        logits = self.head(out)
        return (logits, state) if return_state else logits


def batch(data, batch_size, context, rng):
    starts = rng.integers(0, len(data) - context - 1, batch_size)
    idx = starts[:, None] + np.arange(context + 1)
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]


def evaluate(model, data, context, batches=16, batch_size=32, seed=1234):
    rng = np.random.default_rng(seed)
    model.eval()
    total = 0.0
    with npg.no_grad():
        for _ in range(batches):
            x, y = batch(data, batch_size, context, rng)
            logits = model(x)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    model.train()
    return total / batches


def unigram_loss(train, val, vocab):
    """Cross-entropy (nats/char) of the validation text under the training text's character frequencies."""
    counts = np.bincount(train, minlength=vocab) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val].mean())


def _pick(logits, rng, temperature):
    logits = logits.astype(np.float64) / temperature
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def generate(model, prompt_ids, n, rng, temperature=0.8):
    model.eval()
    ids = list(prompt_ids)
    if isinstance(model, CharLSTM):  # carry the recurrent state: one step per new character
        with npg.no_grad():
            logits, state = model(np.array(ids)[None], return_state=True)
            for _ in range(n):
                ids.append(_pick(logits.data[0, -1], rng, temperature))
                logits, state = model(np.array(ids[-1:])[None], state, return_state=True)
        model.train()
        return ids
    with npg.no_grad():
        for _ in range(n):
            x = np.array(ids[-model.context:])[None]
            logits = model(x).data[0, -1].astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return ids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", default=DEFAULT_TEXT, help="a UTF-8 text file (default: examples/data/kjv.txt)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--d-model", type=int, default=96)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--model", choices=("transformer", "lstm"), default="transformer")
    parser.add_argument("--layers", type=int, default=None, help="default: 3 transformer blocks, 2 LSTM layers")
    parser.add_argument("--hidden", type=int, default=256, help="LSTM hidden size (--model lstm)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--sample-chars", type=int, default=300)
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none anyway when stderr is not a terminal)")
    args = parser.parse_args(argv)

    from tqdm import tqdm
    npg.set_default_dtype("float32")
    npg.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = open(args.text, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    V = len(chars)
    baseline = unigram_loss(train, val, V)
    print(f"{len(text):,} characters, {V} distinct; unigram baseline {baseline:.3f} nats/char")

    if args.model == "lstm":
        layers = args.layers or 2
        model = CharLSTM(V, args.context, args.d_model, args.hidden, layers)
        n_params = sum(p.size for p in model.parameters())
        print(f"model: {layers}-layer LSTM, embedding {args.d_model}, hidden {args.hidden}, {n_params:,} parameters")
    else:
        layers = args.layers or 3
        model = CharTransformer(V, args.context, args.d_model, args.heads, layers)
        n_params = sum(p.size for p in model.parameters())
        print(f"model: {layers} layers, d_model {args.d_model}, {args.heads} heads, {n_params:,} parameters")
    decay = [p for n, p in model.named_parameters() if p.ndim == 2 and not n.startswith(("tok", "pos"))]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim == 2 and not n.startswith(("tok", "pos")))]
    opt = npg.optim.AdamW([dict(params=decay, weight_decay=0.1), dict(params=no_decay, weight_decay=0.0)],
                          lr=args.lr, betas=(0.9, 0.98))
    warmup = max(1, min(100, args.steps // 10))

    def schedule(step):  # linear warmup, then cosine decay to 10%
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, args.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))
    sched = npg.optim.lr_scheduler.LambdaLR(opt, schedule)

    running = None
    val_loss = None
    start = time.perf_counter()
    bar = tqdm(range(1, args.steps + 1), disable=True if args.no_progress else None, dynamic_ncols=True)
    for step in bar:
        x, y = batch(train, args.batch_size, args.context, rng)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.set_postfix(loss=f"{running:.3f}", lr=f"{sched.get_last_lr()[0]:.2e}")
        if step % args.eval_every == 0 or step == args.steps:
            val_loss = evaluate(model, val, args.context)
            bar.write(f"step {step:5d}  train loss {running:.3f}  val loss {val_loss:.3f}  "
                      f"(unigram baseline {baseline:.3f})")
    elapsed = time.perf_counter() - start
    print(f"validation loss {val_loss:.3f} nats/char vs unigram baseline {baseline:.3f} "
          f"({val_loss / baseline:.0%} of it) after {args.steps} steps in {elapsed:.0f} s")
    for prompt in ("And God said", "A wise son"):
        ids = generate(model, [stoi[c] for c in prompt if c in stoi], args.sample_chars, rng)
        print("\n--- sample ---\n" + "".join(chars[i] for i in ids))
    npg.set_default_dtype("float64")
    return {"val_loss": val_loss, "baseline": baseline, "seconds": elapsed}


if __name__ == "__main__":
    main()
