"""per_sample_grads: every sample's own gradient, ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)``.

* ``psg_mlp``: the mlp workload's network (784-512-256-10, ReLU, softmax cross-entropy), batch 64, float32.
  Reference: hand-written NumPy (one batched forward, per-sample outer products in the backward pass).
* ``psg_cnn``: the digits CNN of examples/train_digits_dp.py (conv 32 - GroupNorm - conv 32 - GroupNorm -
  pool - conv 64 - GroupNorm - pool - linear), batch 64 of 1x8x8, float32. Reference: ``torch.func``.

Backends: npgrad ``func.vmap(func.grad)``; ``npgrad:loop``, a Python loop of 64 npgrad backward passes (one
sample each); PyTorch ``torch.func.vmap(torch.func.grad)``. Targets: npgrad <= 1.5x torch.func, and >= 10x
faster than the loop. A step returns the mean of the per-sample losses and the per-sample gradients
(B, *param.shape), weights in the reference's layout.
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad
from ._common import linear_params, relu_

TARGETS = [("npgrad", "torch", 1.5, "npgrad <= 1.5x torch.func"),
           ("npgrad", "npgrad:loop", 0.1, "npgrad >= 10x faster than the loop of backward passes")]

MLP_SIZES = {"full": dict(batch=64, sizes=(784, 512, 256, 10)), "quick": dict(batch=64, sizes=(784, 512, 256, 10)),
             "tiny": dict(batch=6, sizes=(20, 16, 12, 10))}


def make_mlp(size, rng, dtype=np.float32):
    s = MLP_SIZES[size]
    return dict(params=linear_params(rng, s["sizes"], dtype),
                x=rng.standard_normal((s["batch"], s["sizes"][0])).astype(dtype),
                y=rng.integers(0, s["sizes"][-1], s["batch"]))


# ------------------------------------------------------------------ MLP: hand-written NumPy
def setup_numpy_mlp(inp):
    W1, b1, W2, b2, W3, b3 = inp["params"]
    x, y = inp["x"], inp["y"]
    rows = np.arange(len(y))

    def step():
        h1 = x @ W1
        h1 += b1
        relu_(h1)
        h2 = h1 @ W2
        h2 += b2
        relu_(h2)
        z = h2 @ W3 + b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        losses = np.log(s[:, 0]) - z[rows, y]
        dz = e / s                                  # each sample's own loss: no 1 / B
        dz[rows, y] -= 1
        dh2 = dz @ W3.T
        dh2 *= h2 > 0
        dh1 = dh2 @ W2.T
        dh1 *= h1 > 0
        outer = [np.einsum("bi,bj->bij", a, g) for a, g in ((x, dh1), (h1, dh2), (h2, dz))]
        return float(losses.mean()), [outer[0], dh1, outer[1], dh2, outer[2], dz]

    return Runner(step)


def _npgrad_mlp_loss(F):
    def loss(p, xi, yi):
        W1, b1, W2, b2, W3, b3 = p
        h = F.relu(xi @ W1 + b1)
        h = F.relu(h @ W2 + b2)
        return F.cross_entropy((h @ W3 + b3)[None], yi[None])
    return loss


def setup_npgrad_mlp(inp):
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    require_npgrad("npgrad.func:vmap")
    params = tuple(npg.tensor(p, requires_grad=False) for p in inp["params"])
    x, y = npg.tensor(inp["x"], requires_grad=False), npg.tensor(inp["y"])
    f = npg.func.vmap(npg.func.grad_and_value(_npgrad_mlp_loss(F)), in_dims=(None, 0, 0))

    def step():
        grads, losses = f(params, x, y)
        return float(losses.data.mean()), [g.data for g in grads]

    return Runner(step)


def _loop_runner(npg, forward_loss, params, x, y):
    """B separate forward + backward passes, one sample each; the gradients stacked."""
    def step():
        per = [[] for _ in params]
        total = 0.0
        for i in range(len(y)):
            for p in params:
                p.grad = None
            loss = forward_loss(x[i:i + 1], y[i:i + 1])
            loss.backward()
            total += loss.item()
            for acc, p in zip(per, params):
                acc.append(p.grad.data)
        return total / len(y), [np.stack(a) for a in per]
    return Runner(step)


def setup_npgrad_loop_mlp(inp):
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    params = [npg.tensor(p) for p in inp["params"]]
    W1, b1, W2, b2, W3, b3 = params

    def forward_loss(xb, yb):
        h = F.relu(xb @ W1 + b1)
        h = F.relu(h @ W2 + b2)
        return F.cross_entropy(h @ W3 + b3, yb)
    return _loop_runner(npg, forward_loss, params, inp["x"], inp["y"])


def setup_torch_mlp(inp):
    torch = require("torch")
    F = torch.nn.functional
    params = tuple(torch.tensor(np.ascontiguousarray(p.T if p.ndim == 2 else p)) for p in inp["params"])
    x, y = torch.tensor(inp["x"]), torch.tensor(inp["y"])

    def loss(p, xi, yi):
        W1, b1, W2, b2, W3, b3 = p
        h = F.relu(F.linear(xi, W1, b1))
        h = F.relu(F.linear(h, W2, b2))
        return F.cross_entropy(F.linear(h, W3, b3)[None], yi[None])
    f = torch.func.vmap(torch.func.grad_and_value(loss), in_dims=(None, 0, 0))

    def step():
        grads, losses = f(params, x, y)
        return float(losses.mean()), [g.numpy().transpose(0, 2, 1) if g.ndim == 3 else g.numpy() for g in grads]

    return Runner(step)


# ------------------------------------------------------------------ the digits CNN (GroupNorm)
CNN_SIZES = {"full": dict(batch=64, c=(32, 32, 64)), "quick": dict(batch=64, c=(32, 32, 64)),
             "tiny": dict(batch=5, c=(8, 8, 8))}


def make_cnn(size, rng, dtype=np.float32):
    s = CNN_SIZES[size]
    c1, c2, c3 = s["c"]
    shapes = [(c1, 1, 3, 3), (c1,), (c1,), (c1,), (c2, c1, 3, 3), (c2,), (c2,), (c2,), (c3, c2, 3, 3), (c3,),
              (c3,), (c3,), (10, c3 * 4), (10,)]
    params = []
    for sh in shapes:
        fan_in = int(np.prod(sh[1:])) if len(sh) > 1 else 4
        params.append((rng.uniform(-1, 1, sh) / np.sqrt(fan_in)).astype(dtype))
    x = rng.standard_normal((s["batch"], 1, 8, 8)).astype(dtype)
    return dict(params=params, x=x, y=rng.integers(0, 10, s["batch"]), channels=s["c"])


_CNN_NAMES = ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "0.3.weight", "0.3.bias", "0.4.weight",
              "0.4.bias", "0.7.weight", "0.7.bias", "0.8.weight", "0.8.bias", "1.1.weight", "1.1.bias"]


def build_cnn(nn, channels):
    """The DP digits CNN (train_digits.DigitsCNN with GroupNorm(8) and no dropout) in library ``nn``."""
    c1, c2, c3 = channels
    g = c1 // 4  # 8 groups of 4 channels at the full size, as the DP example
    features = nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.GroupNorm(g, c1), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1), nn.GroupNorm(g, c2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.GroupNorm(g, c3), nn.ReLU(), nn.MaxPool2d(2))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(c3 * 4, 10))
    return nn.Sequential(features, classifier), _CNN_NAMES


def setup_npgrad_cnn(inp):
    npg = require("npgrad")
    nn, F = require_npgrad("npgrad.nn:", "npgrad.nn.functional:")
    require_npgrad("npgrad.func:vmap")
    model, names = build_cnn(nn, inp["channels"])
    model = model.to(npg.float32)
    params = {n: npg.tensor(p, requires_grad=False) for n, p in zip(names, inp["params"])}
    x, y = npg.tensor(inp["x"], requires_grad=False), npg.tensor(inp["y"])

    def loss(p, xi, yi):
        return F.cross_entropy(npg.func.functional_call(model, p, (xi[None],)), yi[None])
    f = npg.func.vmap(npg.func.grad_and_value(loss), in_dims=(None, 0, 0))

    def step():
        grads, losses = f(params, x, y)
        return float(losses.data.mean()), [grads[n].data for n in names]

    return Runner(step)


def setup_npgrad_loop_cnn(inp):
    npg = require("npgrad")
    nn, F = require_npgrad("npgrad.nn:", "npgrad.nn.functional:")
    model, names = build_cnn(nn, inp["channels"])
    model = model.to(npg.float32)
    state = dict(model.named_parameters())
    for n, p in zip(names, inp["params"]):
        state[n].data[...] = p

    def forward_loss(xb, yb):
        return F.cross_entropy(model(npg.tensor(xb, requires_grad=False)), yb)
    return _loop_runner(npg, forward_loss, [state[n] for n in names], inp["x"], inp["y"])


def setup_torch_cnn(inp):
    torch = require("torch")
    model, names = build_cnn(torch.nn, inp["channels"])
    params = {n: torch.tensor(p) for n, p in zip(names, inp["params"])}
    x, y = torch.tensor(inp["x"]), torch.tensor(inp["y"])

    def loss(p, xi, yi):
        return torch.nn.functional.cross_entropy(torch.func.functional_call(model, p, (xi[None],)), yi[None])
    f = torch.func.vmap(torch.func.grad_and_value(loss), in_dims=(None, 0, 0))

    def step():
        grads, losses = f(params, x, y)
        return float(losses.mean()), [grads[n].numpy() for n in names]

    return Runner(step)


WORKLOAD_MLP = Workload(
    name="psg_mlp", dtype=np.float32, make=make_mlp,
    backends={"npgrad": setup_npgrad_mlp, "numpy": setup_numpy_mlp, "torch": setup_torch_mlp,
              "npgrad:loop": setup_npgrad_loop_mlp},
    description="per-sample gradients (vmap(grad)) of the mlp network (784-512-256-10), batch 64, float32; "
                "targets: npgrad <= 1.5x torch.func, >= 10x faster than npgrad:loop (64 backward passes)",
    targets=TARGETS)

WORKLOAD_CNN = Workload(
    name="psg_cnn", dtype=np.float32, make=make_cnn, reference="torch",
    backends={"npgrad": setup_npgrad_cnn, "torch": setup_torch_cnn, "npgrad:loop": setup_npgrad_loop_cnn},
    description="per-sample gradients (vmap(grad)) of the DP digits CNN (3 conv + GroupNorm, 1x8x8), batch 64, "
                "float32; targets: npgrad <= 1.5x torch.func, >= 10x faster than npgrad:loop",
    notes={"numpy": "no hand-written NumPy version (torch.func is the reference)"}, targets=TARGETS)
