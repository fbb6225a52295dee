"""overhead: a chain of small elementwise ops on a (16,) tensor, then sum; gradients w.r.t. x, a, b.

The chain repeats ``h = h * a + b`` (2 ops) and ``h = tanh(h)`` (1 op) until ``n_ops`` ops are
done (1,000: 333 full cycles then one ``h * a``). Reported per op: time / n_ops.
"""
import numpy as np

from .._harness import Runner, Workload, require
from ._common import autograd_runner

SIZES = {"full": dict(n_ops=1000, n=16), "quick": dict(n_ops=1000, n=16), "tiny": dict(n_ops=31, n=16)}


def make(size, rng):
    s = SIZES[size]
    n = s["n"]
    return dict(n_ops=s["n_ops"],
                x=rng.standard_normal(n).astype(np.float32),
                a=rng.uniform(0.5, 1.5, n).astype(np.float32),
                b=(0.1 * rng.standard_normal(n)).astype(np.float32))


def _chain(h, a, b, n_ops, tanh):
    """The chain, written once for every backend (the ops dispatch on the argument types)."""
    cycles, rem = divmod(n_ops, 3)
    for _ in range(cycles):
        h = h * a + b
        h = tanh(h)
    if rem >= 1:
        h = h * a
    if rem == 2:
        h = h + b
    return h


# ------------------------------------------------------------------ hand-written NumPy
def setup_numpy(inp):
    x, a, b, n_ops = inp["x"], inp["a"], inp["b"], inp["n_ops"]
    cycles, rem = divmod(n_ops, 3)
    tanh, mul = np.tanh, np.multiply

    def step():
        hs = []                      # input of each cycle's h * a
        ys = []                      # output of each cycle's tanh
        h = x
        for _ in range(cycles):
            hs.append(h)
            h = tanh(h * a + b)
            ys.append(h)
        h_last = h
        if rem >= 1:
            h = h * a
        if rem == 2:
            h = h + b
        loss = h.sum()
        g = np.ones_like(h)
        ga = np.zeros_like(a)
        gb = np.zeros_like(b)
        if rem == 2:
            gb = gb + g
        if rem >= 1:
            ga = ga + g * h_last
            g = g * a
        for i in range(cycles - 1, -1, -1):
            y = ys[i]
            g = g - g * y * y        # g * (1 - y*y) without a Python scalar (NumPy converts one per call)
            gb = gb + g
            ga = ga + mul(g, hs[i])
            g = g * a
        return float(loss), [g, ga, gb]

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def setup_npgrad(inp):
    npg = require("npgrad")
    x, a, b = (npg.tensor(inp[k]) for k in "xab")
    params = (x, a, b)
    n_ops, tanh = inp["n_ops"], npg.tanh

    def reset():
        for p in params:
            p.grad = None

    def step():
        reset()
        loss = npg.sum(_chain(x, a, b, n_ops, tanh))
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    x, a, b = (torch.tensor(inp[k], requires_grad=True) for k in "xab")
    params = (x, a, b)
    n_ops, tanh = inp["n_ops"], torch.tanh

    def step():
        for p in params:
            p.grad = None
        loss = _chain(x, a, b, n_ops, tanh).sum()
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in params]

    return Runner(step)


# ------------------------------------------------------------------ MyGrad
def setup_mygrad(inp):
    mg = require("mygrad")
    x, a, b = (mg.tensor(inp[k]) for k in "xab")
    params = (x, a, b)
    n_ops, tanh = inp["n_ops"], mg.tanh

    def reset():
        for p in params:
            p.null_grad()

    def step():
        loss = mg.sum(_chain(x, a, b, n_ops, tanh))
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ HIPS autograd
def setup_autograd(inp):
    anp = require("autograd.numpy")
    n_ops = inp["n_ops"]

    def f(params):
        x, a, b = params
        return anp.sum(_chain(x, a, b, n_ops, anp.tanh))

    return autograd_runner(f, [inp[k] for k in "xab"])


WORKLOAD = Workload(
    name="overhead", unit="us/op", dtype=np.float32, make=make,
    description="1,000 elementwise ops (h*a+b, tanh) on a (16,) float32 tensor, then sum; per op",
    backends=dict(npgrad=setup_npgrad, numpy=setup_numpy, torch=setup_torch, mygrad=setup_mygrad,
                  autograd=setup_autograd))
