"""inplace: a fill loop of in-place row writes into a graph tensor, then backward; recurrence: a loop that reads
the row it wrote last.

inplace: ``y = x * 0`` (a (4000, 64) float32 tensor in the graph), then ``y[i] = tanh(x[i])`` for every row, then
``loss = sum(y * y)``; gradient w.r.t. x. The cost of a write should be the row it writes: a design that
copies ``y`` on every write is quadratic in time and memory here. The hand-written NumPy runs the same
loop forward and a vectorized backward (the floor).

recurrence: ``y[i] = tanh(0.9 * y[i - 1] + x[i])`` over (1000, 64) rows of the same buffer. Every ``y[i - 1]`` is
a view of ``y`` that the graph keeps: a design that rebuilds every live view's node at each write (npgrad did) is
quadratic here. The hand-written NumPy runs the loop forward and backward (one step per row each way).
"""
import numpy as np

from .._harness import Runner, Workload, require

SIZES = {"full": dict(n=4000, d=64), "quick": dict(n=1000, d=64), "tiny": dict(n=20, d=8)}


def make(size, rng):
    s = SIZES[size]
    return dict(x=rng.standard_normal((s["n"], s["d"])).astype(np.float32))


def fill(y, x, tanh):
    """The loop, written once for every backend."""
    for i in range(x.shape[0]):
        y[i] = tanh(x[i])
    return y


# ------------------------------------------------------------------ hand-written NumPy
def setup_numpy(inp):
    x = inp["x"]

    def step():
        y = fill(np.empty_like(x), x, np.tanh)
        loss = float((y * y).sum())
        gx = 2 * y * (1 - y * y)
        return loss, [gx]

    return Runner(step)


# ------------------------------------------------------------------ npgrad and PyTorch (either loop)
def _npgrad(loop):
    def setup(inp):
        npg = require("npgrad")
        x = npg.tensor(inp["x"])

        def reset():
            x.grad = None

        def step():
            reset()
            y = loop(x * 0, x, npg.tanh)
            loss = npg.sum(y * y)
            loss.backward()
            return loss.item(), [x.grad]

        return Runner(step, reset)
    return setup


def _torch(loop):
    def setup(inp):
        torch = require("torch")
        x = torch.tensor(inp["x"], requires_grad=True)

        def step():
            x.grad = None
            y = loop(x * 0, x, torch.tanh)
            loss = (y * y).sum()
            loss.backward()
            return loss.item(), [x.grad.numpy()]

        return Runner(step)
    return setup


WORKLOAD = Workload(
    name="inplace", unit="ms", dtype=np.float32, make=make,
    description="fill loop y[i] = tanh(x[i]) into a (4000, 64) float32 graph tensor, then sum(y*y) backward",
    backends=dict(npgrad=_npgrad(fill), numpy=setup_numpy, torch=_torch(fill)))


# ------------------------------------------------------------------ recurrence
REC_SIZES = {"full": dict(n=1000, d=64), "quick": dict(n=300, d=64), "tiny": dict(n=20, d=8)}


def make_rec(size, rng):
    s = REC_SIZES[size]
    return dict(x=rng.standard_normal((s["n"], s["d"])).astype(np.float32))


def recur(y, x, tanh):
    """The loop, written once for every backend."""
    y[0] = tanh(x[0])
    for i in range(1, x.shape[0]):
        y[i] = tanh(y[i - 1] * 0.9 + x[i])
    return y


def setup_rec_numpy(inp):
    x = inp["x"]

    def step():
        y = recur(np.empty_like(x), x, np.tanh)
        loss = float((y * y).sum())
        gy, gx = 2 * y, np.empty_like(x)
        for i in range(x.shape[0] - 1, -1, -1):
            gx[i] = gy[i] * (1 - y[i] * y[i])
            if i:
                gy[i - 1] += np.float32(0.9) * gx[i]
        return loss, [gx]

    return Runner(step)


WORKLOAD_RECURRENCE = Workload(
    name="recurrence", unit="ms", dtype=np.float32, make=make_rec,
    description="y[i] = tanh(0.9 * y[i-1] + x[i]) over a (1000, 64) float32 graph buffer, then sum(y*y) backward",
    backends=dict(npgrad=_npgrad(recur), numpy=setup_rec_numpy, torch=_torch(recur)))
