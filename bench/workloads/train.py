"""train: 200 steps of a small CNN on scikit-learn's 8x8 digits with AdamW (lr 1e-2), end to end.

Timed from loading the data to the last step: load_digits, scaling to [0, 1], an 80/20 split,
a shuffle per epoch, batches of 64, model construction, 200 optimizer steps. npgrad (npgrad.nn,
npgrad.optim) against PyTorch (torch.nn, torch.optim), float32, starting from the same weights
and seeing the same batches; reports wall time and final loss. The model (as examples/train_digits.py):

    conv(1->16, 3x3, pad 1) ReLU maxpool2 -> conv(16->32, 3x3, pad 1) ReLU -> flatten -> linear(512 -> 10)
"""
import time

import numpy as np

from .._harness import Skip, Workload, require, require_npgrad
from ._common import conv_params, linear_params

SIZES = {"full": dict(n_steps=200), "quick": dict(n_steps=50), "tiny": dict(n_steps=3)}
BATCH, LR = 64, 1e-2


def make(size, rng):
    require("sklearn.datasets")   # imported here, outside the timed runs
    w1, b1 = conv_params(rng, 16, 1, 3, np.float32)
    w2, b2 = conv_params(rng, 32, 16, 3, np.float32)
    W, b = linear_params(rng, (512, 10), np.float32)
    return dict(n_steps=SIZES[size]["n_steps"], weights=[w1, b1, w2, b2, np.ascontiguousarray(W.T), b], seed=0)


def _data(seed):
    """Load, scale, split; the per-epoch batch order comes from the same seeded rng for every backend."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    n_train = int(0.8 * len(X))
    return X[perm[:n_train]], y[perm[:n_train]], rng


def _batches(X, y, rng, n_steps):
    step = 0
    while True:
        order = rng.permutation(len(X))
        for i in range(0, len(X) - BATCH + 1, BATCH):
            if step == n_steps:
                return
            idx = order[i:i + BATCH]
            yield X[idx], y[idx]
            step += 1


def run_npgrad(inp):
    npg = require("npgrad")
    nn, optim, F = require_npgrad("npgrad.nn:", "npgrad.optim:", "npgrad.nn.functional:")
    require_npgrad("npgrad.nn:Conv2d", "npgrad.nn:MaxPool2d", "npgrad.nn:Sequential", "npgrad.nn:Flatten",
                   "npgrad.optim:AdamW", "cross_entropy")
    t0 = time.perf_counter()
    X, y, rng = _data(inp["seed"])
    prev = npg.get_default_dtype()
    npg.set_default_dtype("float32")
    try:
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))
    finally:
        npg.set_default_dtype(prev)
    params = list(model.parameters())
    if [tuple(p.shape) for p in params] != [w.shape for w in inp["weights"]]:
        raise Skip(f"npgrad model parameter shapes {[tuple(p.shape) for p in params]} differ")
    for p, w in zip(params, inp["weights"]):
        p.data[...] = w
    opt = optim.AdamW(params, lr=LR)
    losses = []
    for xb, yb in _batches(X, y, rng, inp["n_steps"]):
        loss = F.cross_entropy(model(npg.tensor(xb, requires_grad=False)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return time.perf_counter() - t0, losses


def run_torch(inp):
    torch = require("torch")
    nn, F = torch.nn, torch.nn.functional
    t0 = time.perf_counter()
    X, y, rng = _data(inp["seed"])
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))
    with torch.no_grad():
        for p, w in zip(model.parameters(), inp["weights"]):
            p.copy_(torch.from_numpy(w))
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    losses = []
    for xb, yb in _batches(X, y, rng, inp["n_steps"]):
        loss = F.cross_entropy(model(torch.from_numpy(xb)), torch.from_numpy(yb))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return time.perf_counter() - t0, losses


WORKLOAD = Workload(
    name="train", kind="e2e", unit="s", dtype=np.float32, make=make,
    description="200 AdamW steps of a small CNN on sklearn digits, end to end (data loading included)",
    backends=dict(npgrad=run_npgrad, torch=run_torch),
    notes=dict(numpy="not required (end-to-end training)", mygrad="not run (npgrad vs PyTorch only)",
               autograd="not run (npgrad vs PyTorch only)"))
