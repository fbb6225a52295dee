"""train: 200 steps of the digits CNN of examples/train_digits.py, end to end, npgrad vs PyTorch.

The model is the example's ``DigitsCNN`` (conv32-BN-ReLU, conv32-BN-ReLU-pool, conv64-BN-ReLU-pool,
flatten, dropout 0.25, linear; float32) and its data preparation (``load_digits``: scikit-learn's
8x8 digits, stratified 80/20 split; standardised), trained with the example's optimiser (AdamW,
lr 3e-3, weight decay 1e-4, OneCycleLR) for 200 steps of batch 64. PyTorch runs a layer-for-layer
twin that starts from npgrad's initial weights (loaded through ``state_dict``, whose keys match).
Both see the same batches (one seeded NumPy shuffle per epoch, slicing the arrays), so the time
is the library's: data loading, model construction, 200 x (forward, backward, AdamW, scheduler).

Before timing, a 3-step run of each with dropout off must give the same losses (a check that the
two trainings are the same computation); the timed runs use the example's dropout, so their final
losses differ a little (different dropout masks). Reported: wall time and the mean loss of the
last 10 steps.
"""
import importlib.util
import os
import time

import numpy as np

from .._harness import Skip, Workload, require, require_npgrad

SIZES = {"full": dict(n_steps=200), "quick": dict(n_steps=50), "tiny": dict(n_steps=3)}
BATCH, LR, WEIGHT_DECAY, SEED = 64, 3e-3, 1e-4, 0
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "examples", "train_digits.py")


def make(size, rng):
    require("sklearn.datasets")   # imported here, outside the timed runs
    require("sklearn.model_selection")
    return dict(n_steps=SIZES[size]["n_steps"], dropout=True)


def _example():
    """The example module (its model class and data loader), imported from its file."""
    if not os.path.exists(EXAMPLE):
        raise Skip("examples/train_digits.py not found")
    spec = importlib.util.spec_from_file_location("_bench_train_digits", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name in ("DigitsCNN", "load_digits"):
        if not hasattr(mod, name):
            raise Skip(f"examples/train_digits.py has no {name}")
    return mod


def _data(example):
    X_train, _, y_train, _ = example.load_digits(SEED)
    mean, std = X_train.mean(), X_train.std()
    return ((X_train - mean) / std).astype(np.float32), y_train.astype(np.int64)


def _batches(X, y, n_steps):
    rng = np.random.default_rng(SEED)
    step = 0
    while True:
        order = rng.permutation(len(X))
        for i in range(0, len(X) - BATCH + 1, BATCH):
            if step == n_steps:
                return
            idx = order[i:i + BATCH]
            yield X[idx], y[idx]
            step += 1


def _train(loss_of, opt, sched, batches):
    """The training loop both backends run: one optimizer and scheduler step per batch; the losses."""
    losses = []
    for xb, yb in batches:
        loss = loss_of(xb, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


_initial = {}   # the npgrad model's initial state_dict (NumPy arrays), for the PyTorch twin


def run_npgrad(inp):
    npg = require("npgrad")
    _, optim, F = require_npgrad("npgrad.nn:", "npgrad.optim:", "npgrad.nn.functional:")
    require_npgrad("npgrad.optim:AdamW", "npgrad.optim.lr_scheduler:OneCycleLR", "cross_entropy")
    example = _example()
    t0 = time.perf_counter()
    X, y = _data(example)
    prev = npg.get_default_dtype()
    npg.set_default_dtype("float32")
    try:
        npg.random.seed(SEED)
        model = example.DigitsCNN(X.shape[-1])
    finally:
        npg.set_default_dtype(prev)
    if not _initial:
        _initial.update({k: np.array(getattr(v, "data", v)) for k, v in model.state_dict().items()})
    if not inp["dropout"]:
        model.classifier[1].p = 0.0
    opt = optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=inp["n_steps"], pct_start=0.2)
    model.train()
    losses = _train(lambda xb, yb: F.cross_entropy(model(npg.tensor(xb, requires_grad=False)), yb),
                    opt, sched, _batches(X, y, inp["n_steps"]))
    return time.perf_counter() - t0, losses


def run_torch(inp):
    torch = require("torch")
    nn, F = torch.nn, torch.nn.functional
    if not _initial:
        raise Skip("needs npgrad's initial weights (run with the npgrad backend)")
    example = _example()
    t0 = time.perf_counter()
    X, y = _data(example)
    size = X.shape[-1]
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
    model.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25 if inp["dropout"] else 0.0),
                                     nn.Linear(64 * (size // 4) ** 2, 10))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in _initial.items()})
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=inp["n_steps"], pct_start=0.2)
    model.train()
    losses = _train(lambda xb, yb: F.cross_entropy(model.classifier(model.features(torch.from_numpy(xb))),
                                                   torch.from_numpy(yb)),
                    opt, sched, _batches(X, y, inp["n_steps"]))
    return time.perf_counter() - t0, losses


WORKLOAD = Workload(
    name="train", kind="e2e", unit="s", dtype=np.float32, make=make,
    description="200 steps of examples/train_digits.py's CNN (BatchNorm, AdamW, OneCycleLR), end to end",
    backends=dict(npgrad=run_npgrad, torch=run_torch),
    notes=dict(numpy="not required (end-to-end training)", mygrad="not run (npgrad vs PyTorch only)",
               autograd="not run (npgrad vs PyTorch only)"))
