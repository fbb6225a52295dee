"""cnn: conv(1->16, 3x3, pad 1) ReLU maxpool2 -> conv(16->32, 3x3, pad 1) ReLU maxpool2 -> flatten ->
linear(1568->10), mean cross-entropy; batch 64 of 1x28x28, float32.

The hand-written NumPy floor keeps activations as (C, H, W, N), batch innermost (see _common.py).
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad
from ._common import (conv2d_chwn, conv2d_chwn_backward, conv_params, linear_params, maxpool2_chwn,
                      maxpool2_chwn_backward, relu_, softmax_xent, torch_grads, torch_params)

SIZES = {"full": dict(batch=64, hw=28, c1=16, c2=32), "quick": dict(batch=32, hw=28, c1=16, c2=32),
         "tiny": dict(batch=4, hw=8, c1=4, c2=6)}


def make(size, rng, dtype=np.float32):
    s = SIZES[size]
    hw, c1, c2 = s["hw"], s["c1"], s["c2"]
    w1, b1 = conv_params(rng, c1, 1, 3, dtype)
    w2, b2 = conv_params(rng, c2, c1, 3, dtype)
    W, b = linear_params(rng, (c2 * (hw // 4) ** 2, 10), dtype)
    x = rng.standard_normal((s["batch"], 1, hw, hw)).astype(dtype)
    y = rng.integers(0, 10, s["batch"])
    return dict(params=[w1, b1, w2, b2, W, b], x=x, y=y)


# ------------------------------------------------------------------ hand-written NumPy
def setup_numpy(inp):
    w1, b1, w2, b2, W, b = inp["params"]
    x = np.ascontiguousarray(inp["x"].transpose(1, 2, 3, 0))   # the data, once, as (C, H, W, N)
    y = inp["y"]
    n = x.shape[3]

    def step():
        z1, cols1 = conv2d_chwn(x, w1, b1, 1)
        relu_(z1)
        p1, r1 = maxpool2_chwn(z1)
        z2, cols2 = conv2d_chwn(p1, w2, b2, 1)
        relu_(z2)
        p2, r2 = maxpool2_chwn(z2)
        f = p2.reshape(-1, n)                     # (C*H*W, N): PyTorch's flatten order, transposed
        logits = f.T @ W
        logits += b
        loss, dz = softmax_xent(logits, y)
        gW = f @ dz
        gb = dz.sum(axis=0)
        dp2 = (W @ dz.T).reshape(p2.shape)
        da2 = maxpool2_chwn_backward(dp2, p2, r2)
        da2 *= z2 > 0                             # relu backward via the mask
        gw2, gb2, dp1 = conv2d_chwn_backward(da2, cols2, w2, p1.shape, 1)
        da1 = maxpool2_chwn_backward(dp1, p1, r1)
        da1 *= z1 > 0
        gw1, gb1, _ = conv2d_chwn_backward(da1, cols1, w1, x.shape, 1, need_dx=False)
        return float(loss), [gw1, gb1, gw2, gb2, gW, gb]

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def setup_npgrad(inp):
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    require_npgrad("conv2d", "max_pool2d", "relu", "cross_entropy")
    params = [npg.tensor(p) for p in inp["params"]]
    w1, b1, w2, b2, W, b = params
    x, y = npg.tensor(inp["x"], requires_grad=False), inp["y"]
    n = inp["x"].shape[0]

    def reset():
        for p in params:
            p.grad = None

    def step():
        reset()
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        loss = F.cross_entropy(h.reshape(n, -1) @ W + b, y)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    F = torch.nn.functional
    params = torch_params(torch, inp["params"])   # the linear weight as (out, in)
    w1, b1, w2, b2, W, b = params
    x, y = torch.tensor(inp["x"]), torch.tensor(inp["y"])

    def step():
        for p in params:
            p.grad = None
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        loss = F.cross_entropy(F.linear(h.flatten(1), W, b), y)
        loss.backward()
        return loss.item(), torch_grads(params)

    return Runner(step)


# ------------------------------------------------------------------ MyGrad
def setup_mygrad(inp):
    mg = require("mygrad")
    from mygrad.nnet.activations import relu
    from mygrad.nnet.layers import conv_nd, max_pool
    from mygrad.nnet.losses import softmax_crossentropy
    params = [mg.tensor(p) for p in inp["params"]]
    w1, b1, w2, b2, W, b = params
    x, y = inp["x"], inp["y"]
    n = x.shape[0]

    def reset():
        for p in params:
            p.null_grad()

    def step():
        h = conv_nd(x, w1, stride=1, padding=1) + mg.reshape(b1, (1, -1, 1, 1))
        h = max_pool(relu(h), (2, 2), 2)
        h = conv_nd(h, w2, stride=1, padding=1) + mg.reshape(b2, (1, -1, 1, 1))
        h = max_pool(relu(h), (2, 2), 2)
        loss = softmax_crossentropy(mg.matmul(mg.reshape(h, (n, -1)), W) + b, y)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


WORKLOAD = Workload(
    name="cnn", dtype=np.float32, make=make,
    description="conv-relu-pool x2 + linear, cross-entropy, batch 64 of 1x28x28, float32",
    backends=dict(npgrad=setup_npgrad, numpy=setup_numpy, torch=setup_torch, mygrad=setup_mygrad),
    notes=dict(autograd="HIPS autograd has no conv primitive"))
