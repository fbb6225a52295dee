"""attention: one pre-LayerNorm transformer block, float32, B=16, T=64, d=128.

    x1  = x + Wo(softmax(q k^T / sqrt(d) + causal mask) v),  q, k, v = Wq, Wk, Wv (LN1(x))   (with biases)
    out = x1 + W2 gelu_tanh(W1 LN2(x1))                                                    (d -> 4d -> d)
    loss = mean((out - target)^2)

Gradients w.r.t. all 16 parameters (LayerNorm weights and biases included); x and target are data.
Every backend writes attention out of ops (no fused attention kernel), with an additive -inf mask.
"""
import math

import numpy as np

from .._harness import Runner, Workload, require, require_npgrad
from ._common import autograd_runner, linear_params, torch_grads, torch_params

SIZES = {"full": dict(B=16, T=64, d=128), "quick": dict(B=8, T=64, d=128), "tiny": dict(B=2, T=5, d=8)}
EPS = 1e-5
GELU_C = math.sqrt(2 / math.pi)
NAMES = ["ln1_w", "ln1_b", "Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo", "ln2_w", "ln2_b", "W1", "b1", "W2", "b2"]


def make(size, rng, dtype=np.float32):
    s = SIZES[size]
    B, T, d = s["B"], s["T"], s["d"]

    def ln():
        return [(1 + 0.1 * rng.standard_normal(d)).astype(dtype), (0.1 * rng.standard_normal(d)).astype(dtype)]

    params = (ln() + linear_params(rng, (d, d), dtype) + linear_params(rng, (d, d), dtype)
              + linear_params(rng, (d, d), dtype) + linear_params(rng, (d, d), dtype) + ln()
              + linear_params(rng, (d, 4 * d), dtype) + linear_params(rng, (4 * d, d), dtype))
    mask = np.triu(np.full((T, T), -np.inf, dtype), k=1)
    x = rng.standard_normal((B, T, d)).astype(dtype)
    target = rng.standard_normal((B, T, d)).astype(dtype)
    return dict(params=params, x=x, target=target, mask=mask, scale=1 / math.sqrt(d))


def _block(x, p, mask, scale, layer_norm, softmax, gelu, swap):
    """The block, written once for the op-by-op backends (npgrad, PyTorch, MyGrad, HIPS autograd)."""
    ln1_w, ln1_b, Wq, bq, Wk, bk, Wv, bv, Wo, bo, ln2_w, ln2_b, W1, b1, W2, b2 = p
    h = layer_norm(x, ln1_w, ln1_b)
    q, k, v = h @ Wq + bq, h @ Wk + bk, h @ Wv + bv
    att = softmax((q @ swap(k)) * scale + mask)
    x1 = x + (att @ v) @ Wo + bo
    out = x1 + gelu(layer_norm(x1, ln2_w, ln2_b) @ W1 + b1) @ W2 + b2
    return out


def _layer_norm_and_gelu(lib):
    """LayerNorm and tanh-GELU written op by op with a NumPy-like module (MyGrad, autograd.numpy)."""
    def layer_norm(h, w, b):
        hc = h - lib.mean(h, axis=-1, keepdims=True)
        var = lib.mean(hc * hc, axis=-1, keepdims=True)
        return hc / lib.sqrt(var + EPS) * w + b

    def gelu(u):
        return 0.5 * u * (1 + lib.tanh(GELU_C * (u + 0.044715 * u ** 3)))

    return layer_norm, gelu


# ------------------------------------------------------------------ hand-written NumPy
def _ln(x, w, b):
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(var + EPS)
    xhat = xc * rstd
    return xhat * w + b, xhat, rstd


def _ln_backward(dy, xhat, rstd, w, need_dx=True):
    gw = (dy * xhat).sum(axis=0)
    gb = dy.sum(axis=0)
    if not need_dx:
        return None, gw, gb
    dxh = dy * w
    dx = dxh - dxh.mean(axis=-1, keepdims=True) - xhat * (dxh * xhat).mean(axis=-1, keepdims=True)
    dx *= rstd
    return dx, gw, gb


def setup_numpy(inp):
    ln1_w, ln1_b, Wq, bq, Wk, bk, Wv, bv, Wo, bo, ln2_w, ln2_b, W1, b1, W2, b2 = inp["params"]
    B, T, d = inp["x"].shape
    X = inp["x"].reshape(B * T, d)
    tgt = inp["target"].reshape(B * T, d)
    mask, scale = inp["mask"], inp["scale"]
    inv_n = 1 / X.size

    def step():
        Wqkv = np.concatenate([Wq, Wk, Wv], axis=1)        # one GEMM for q, k, v
        bqkv = np.concatenate([bq, bk, bv])
        h1, xh1, rs1 = _ln(X, ln1_w, ln1_b)
        qkv = h1 @ Wqkv
        qkv += bqkv
        q4 = qkv.reshape(B, T, 3, d)
        q, k, v = q4[:, :, 0], q4[:, :, 1], q4[:, :, 2]
        s = q @ k.transpose(0, 2, 1)
        s *= scale
        s += mask
        s -= s.max(axis=-1, keepdims=True)
        p = np.exp(s, out=s)
        p /= p.sum(axis=-1, keepdims=True)
        A = (p @ v).reshape(B * T, d)
        X1 = A @ Wo
        X1 += bo
        X1 += X
        h2, xh2, rs2 = _ln(X1, ln2_w, ln2_b)
        u = h2 @ W1
        u += b1
        t = np.tanh(GELU_C * (u + 0.044715 * (u * u * u)))
        gu = 0.5 * u * (1 + t)
        out = gu @ W2
        out += b2
        out += X1
        diff = out - tgt
        loss = (diff * diff).sum() * inv_n
        # backward
        dout = diff * (2 * inv_n)
        gW2 = gu.T @ dout
        gb2 = dout.sum(axis=0)
        dgu = dout @ W2.T
        du = dgu * (0.5 * (1 + t) + (0.5 * GELU_C) * u * (1 - t * t) * (1 + 3 * 0.044715 * (u * u)))
        gW1 = h2.T @ du
        gb1 = du.sum(axis=0)
        dX1, gln2w, gln2b = _ln_backward(du @ W1.T, xh2, rs2, ln2_w)
        dX1 += dout
        gWo = A.T @ dX1
        gbo = dX1.sum(axis=0)
        dA = (dX1 @ Wo.T).reshape(B, T, d)
        dp = dA @ v.transpose(0, 2, 1)
        dqkv = np.empty((B, T, 3, d), X.dtype)
        np.matmul(p.transpose(0, 2, 1), dA, out=dqkv[:, :, 2])          # dv
        ds = dp - (dp * p).sum(axis=-1, keepdims=True)
        ds *= p
        ds *= scale
        np.matmul(ds, k, out=dqkv[:, :, 0])                             # dq
        np.matmul(ds.transpose(0, 2, 1), q, out=dqkv[:, :, 1])          # dk
        dqkv = dqkv.reshape(B * T, 3 * d)
        gWqkv = h1.T @ dqkv
        gbqkv = dqkv.sum(axis=0)
        _, gln1w, gln1b = _ln_backward(dqkv @ Wqkv.T, xh1, rs1, ln1_w)
        return float(loss), [gln1w, gln1b, gWqkv[:, :d], gbqkv[:d], gWqkv[:, d:2 * d], gbqkv[d:2 * d],
                             gWqkv[:, 2 * d:], gbqkv[2 * d:], gWo, gbo, gln2w, gln2b, gW1, gb1, gW2, gb2]

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def setup_npgrad(inp):
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    require_npgrad("layer_norm", "softmax", "gelu", "mse_loss")
    params = [npg.tensor(p) for p in inp["params"]]
    x = npg.tensor(inp["x"], requires_grad=False)
    tgt = npg.tensor(inp["target"], requires_grad=False)
    mask, scale = inp["mask"], inp["scale"]
    d = x.shape[-1]

    def layer_norm(h, w, b):
        return F.layer_norm(h, (d,), w, b, eps=EPS)

    def reset():
        for p in params:
            p.grad = None

    def step():
        reset()
        out = _block(x, params, mask, scale, layer_norm, lambda s: F.softmax(s, -1),
                     lambda u: F.gelu(u, approximate="tanh"), lambda k: k.swapaxes(-1, -2))
        loss = F.mse_loss(out, tgt)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    F = torch.nn.functional
    params = torch_params(torch, inp["params"])   # Linear weights as (out, in)
    x, tgt, mask = torch.tensor(inp["x"]), torch.tensor(inp["target"]), torch.tensor(inp["mask"])
    scale = inp["scale"]
    d = x.shape[-1]

    def step():
        for p in params:
            p.grad = None
        ln1_w, ln1_b, Wq, bq, Wk, bk, Wv, bv, Wo, bo, ln2_w, ln2_b, W1, b1, W2, b2 = params
        h = F.layer_norm(x, (d,), ln1_w, ln1_b, eps=EPS)
        q, k, v = F.linear(h, Wq, bq), F.linear(h, Wk, bk), F.linear(h, Wv, bv)
        att = torch.softmax((q @ k.transpose(-1, -2)) * scale + mask, dim=-1)
        x1 = x + F.linear(att @ v, Wo, bo)
        u = F.linear(F.layer_norm(x1, (d,), ln2_w, ln2_b, eps=EPS), W1, b1)
        out = x1 + F.linear(F.gelu(u, approximate="tanh"), W2, b2)
        loss = F.mse_loss(out, tgt)
        loss.backward()
        return loss.item(), torch_grads(params)

    return Runner(step)


# ------------------------------------------------------------------ MyGrad
def setup_mygrad(inp):
    mg = require("mygrad")
    from mygrad.nnet.activations import softmax
    params = [mg.tensor(p) for p in inp["params"]]
    x, tgt, mask, scale = inp["x"], inp["target"], inp["mask"], inp["scale"]

    layer_norm, gelu = _layer_norm_and_gelu(mg)

    def reset():
        for p in params:
            p.null_grad()

    def step():
        out = _block(x, params, mask, scale, layer_norm, lambda s: softmax(s, axis=-1), gelu,
                     lambda k: mg.swapaxes(k, -1, -2))
        diff = out - tgt
        loss = mg.mean(diff * diff)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ HIPS autograd
def setup_autograd(inp):
    anp = require("autograd.numpy")
    x, tgt, mask, scale = inp["x"], inp["target"], inp["mask"], inp["scale"]

    layer_norm, gelu = _layer_norm_and_gelu(anp)

    def softmax(s):
        e = anp.exp(s - anp.max(s, axis=-1, keepdims=True))
        return e / anp.sum(e, axis=-1, keepdims=True)

    def f(params):
        out = _block(x, params, mask, scale, layer_norm, softmax, gelu, lambda k: anp.swapaxes(k, -1, -2))
        diff = out - tgt
        return anp.mean(diff * diff)

    return autograd_runner(f, inp["params"])


WORKLOAD = Workload(
    name="attention", dtype=np.float32, make=make,
    description="pre-LN transformer block (causal single-head attention + GELU MLP), B=16 T=64 d=128, float32",
    backends=dict(npgrad=setup_npgrad, numpy=setup_numpy, torch=setup_torch, mygrad=setup_mygrad,
                  autograd=setup_autograd))
