"""mlp / mlp64: 784-512-256-10 MLP, ReLU, mean softmax cross-entropy, batch 128 (float32 / float64).

Weights are (in, out): ``h = x @ W + b`` in every NumPy-based backend; PyTorch stores them as
nn.Linear does, (out, in), and uses F.linear (its fastest idiomatic form); its gradients are
transposed back for the check.
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad
from ._common import autograd_runner, linear_params, relu_, softmax_xent, torch_grads, torch_params

SIZES = {"full": dict(batch=128, sizes=(784, 512, 256, 10)),
         "quick": dict(batch=64, sizes=(784, 512, 256, 10)),
         "tiny": dict(batch=8, sizes=(20, 16, 12, 10))}


def make_maker(dtype):
    def make(size, rng):
        s = SIZES[size]
        params = linear_params(rng, s["sizes"], dtype)
        x = rng.standard_normal((s["batch"], s["sizes"][0])).astype(dtype)
        y = rng.integers(0, s["sizes"][-1], s["batch"])
        return dict(params=params, x=x, y=y)
    return make


# ------------------------------------------------------------------ hand-written NumPy
def setup_numpy(inp):
    W1, b1, W2, b2, W3, b3 = inp["params"]
    x, y = inp["x"], inp["y"]

    def step():
        h1 = x @ W1
        h1 += b1
        relu_(h1)
        h2 = h1 @ W2
        h2 += b2
        relu_(h2)
        z = h2 @ W3
        z += b3
        loss, dz = softmax_xent(z, y)
        gW3 = h2.T @ dz
        gb3 = dz.sum(axis=0)
        dh2 = dz @ W3.T
        dh2 *= h2 > 0                 # relu backward via the mask (h > 0 iff pre-activation > 0)
        gW2 = h1.T @ dh2
        gb2 = dh2.sum(axis=0)
        dh1 = dh2 @ W2.T
        dh1 *= h1 > 0
        gW1 = x.T @ dh1
        gb1 = dh1.sum(axis=0)
        return float(loss), [gW1, gb1, gW2, gb2, gW3, gb3]

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def setup_npgrad(inp):
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    require_npgrad("cross_entropy", "relu")
    params = [npg.tensor(p) for p in inp["params"]]
    W1, b1, W2, b2, W3, b3 = params
    x, y = npg.tensor(inp["x"], requires_grad=False), inp["y"]

    def reset():
        for p in params:
            p.grad = None

    def step():
        reset()
        h = F.relu(x @ W1 + b1)
        h = F.relu(h @ W2 + b2)
        loss = F.cross_entropy(h @ W3 + b3, y)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    F = torch.nn.functional
    params = torch_params(torch, inp["params"])
    W1, b1, W2, b2, W3, b3 = params
    x, y = torch.tensor(inp["x"]), torch.tensor(inp["y"])

    def step():
        for p in params:
            p.grad = None
        h = F.relu(F.linear(x, W1, b1))
        h = F.relu(F.linear(h, W2, b2))
        loss = F.cross_entropy(F.linear(h, W3, b3), y)
        loss.backward()
        return loss.item(), torch_grads(params)

    return Runner(step)


# ------------------------------------------------------------------ MyGrad
def setup_mygrad(inp):
    mg = require("mygrad")
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy
    params = [mg.tensor(p) for p in inp["params"]]
    W1, b1, W2, b2, W3, b3 = params
    x, y = inp["x"], inp["y"]

    def reset():
        for p in params:
            p.null_grad()

    def step():
        h = relu(mg.matmul(x, W1) + b1)
        h = relu(mg.matmul(h, W2) + b2)
        loss = softmax_crossentropy(mg.matmul(h, W3) + b3, y)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ HIPS autograd
def setup_autograd(inp):
    anp = require("autograd.numpy")
    x, y = inp["x"], inp["y"]
    rows = np.arange(len(y))

    def f(params):
        W1, b1, W2, b2, W3, b3 = params
        h = anp.maximum(anp.dot(x, W1) + b1, 0)
        h = anp.maximum(anp.dot(h, W2) + b2, 0)
        z = anp.dot(h, W3) + b3
        z = z - anp.max(z, axis=1, keepdims=True)
        logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
        return -anp.mean(logp[rows, y])

    return autograd_runner(f, inp["params"])


BACKENDS = dict(npgrad=setup_npgrad, numpy=setup_numpy, torch=setup_torch, mygrad=setup_mygrad,
                autograd=setup_autograd)
WORKLOAD = Workload(name="mlp", dtype=np.float32, make=make_maker(np.float32), backends=BACKENDS,
                    description="MLP 784-512-256-10, ReLU, cross-entropy, batch 128, float32")
WORKLOAD64 = Workload(name="mlp64", dtype=np.float64, make=make_maker(np.float64), backends=BACKENDS,
                      description="the mlp workload in float64")
