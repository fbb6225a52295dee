"""depthwise: a MobileNet-style block: depthwise conv(32, 3x3, pad 1, groups=32) -> batch norm (batch
statistics) -> ReLU -> pointwise conv(32->64, 1x1) + bias, loss mean(y ** 2);
batch 64 of 32x14x14, float32. Gradients of every parameter and of the block's input (the block sits inside
a network). The loss has no target: an NCHW target against npgrad's batch-last conv output would
measure a layout mismatch in the loss (about 2 ms here), not the block.

The hand-written NumPy floor keeps activations as (C, H, W, N), batch innermost (see _common.py). Its
depthwise convolution is a multiply-accumulate over the 9 kernel offsets computed on the padded input's
grid: every offset then reads one contiguous slice of each channel's row (the output positions past the
14 columns are cropped afterwards), the weight gradient is 9 batched dot products, and the input gradient
is the same convolution of the padded output gradient with the flipped kernel.
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad

SIZES = {"full": dict(batch=64, c=32, hw=14, out=64), "quick": dict(batch=32, c=32, hw=14, out=64),
         "tiny": dict(batch=4, c=4, hw=6, out=6)}
EPS = 1e-5


def make(size, rng, dtype=np.float32):
    s = SIZES[size]
    n, c, hw, o = s["batch"], s["c"], s["hw"], s["out"]
    w1 = rng.uniform(-1 / 3, 1 / 3, (c, 1, 3, 3)).astype(dtype)          # fan_in 9
    gamma = rng.uniform(0.5, 1.5, c).astype(dtype)
    beta = rng.uniform(-0.5, 0.5, c).astype(dtype)
    bound = 1 / np.sqrt(c)
    w2 = rng.uniform(-bound, bound, (o, c, 1, 1)).astype(dtype)
    b2 = rng.uniform(-bound, bound, o).astype(dtype)
    x = rng.standard_normal((n, c, hw, hw)).astype(dtype)
    return dict(params=[w1, gamma, beta, w2, b2], x=x)


# ------------------------------------------------------------------ hand-written NumPy
def _dw3x3_grid(xp, w, h, wd):
    """Depthwise 3x3 'valid' conv of a padded (C, h+2, wd+2, N) array by w (C, 9), on its grid: (C, h, wd+2, N)
    whose last 2 columns are garbage."""
    c, hp, wp, n = xp.shape
    xf = xp.reshape(c, -1)
    offs = [a * wp * n + b * n for a in range(3) for b in range(3)]
    lg = hp * wp * n - offs[-1]
    y = np.empty((c, h * wp * n), xp.dtype)
    yv, tmp = y[:, :lg], np.empty((c, lg), xp.dtype)
    for i, off in enumerate(offs):
        np.multiply(xf[:, off:off + lg], w[:, i, None], out=yv if i == 0 else tmp)
        if i:
            yv += tmp
    return y.reshape(c, h, wp, n)


def _pad1(a):
    c, h, w, n = a.shape
    p = np.zeros((c, h + 2, w + 2, n), a.dtype)
    p[:, 1:-1, 1:-1] = a
    return p


def setup_numpy(inp):
    w1, gamma, beta, w2, b2 = inp["params"]
    x = np.ascontiguousarray(inp["x"].transpose(1, 2, 3, 0))   # (C, H, W, N), once
    c, h, wd, n = x.shape
    o = w2.shape[0]
    m = h * wd * n
    wk = w1.reshape(c, 9)
    wflip = np.ascontiguousarray(wk[:, ::-1])
    W2 = w2.reshape(o, c)
    g_, b_ = gamma[:, None], beta[:, None]

    def step():
        xp = _pad1(x)
        z = np.ascontiguousarray(_dw3x3_grid(xp, wk, h, wd)[:, :, :wd]).reshape(c, m)
        mu = z.mean(axis=1, keepdims=True)
        zc = z - mu
        var = np.einsum("ij,ij->i", zc, zc)[:, None] / m
        inv = 1 / np.sqrt(var + EPS)
        zh = zc * inv
        a = zh * g_
        a += b_
        np.maximum(a, 0, out=a)
        y = W2 @ a
        y += b2[:, None]
        loss = float(np.einsum("i,i->", y.ravel(), y.ravel())) / y.size
        dy = y * (2 / y.size)
        gW2 = dy @ a.T
        gb2 = dy.sum(axis=1)
        da = W2.T @ dy
        da *= a > 0
        gbeta = da.sum(axis=1)
        ggamma = np.einsum("ij,ij->i", da, zh)
        # batch norm backward: dz = inv * (dzh - mean(dzh) - zh * mean(dzh * zh)), dzh = gamma * da
        dz = zh * (ggamma / m)[:, None]
        dz += (gbeta / m)[:, None]
        np.subtract(da, dz, out=dz)
        dz *= g_ * inv
        # depthwise backward on the grid: weight gradient = 9 batched dots, input gradient = conv with the
        # flipped kernel of the padded output gradient
        dzg = np.zeros((c, h, wd + 2, n), z.dtype)
        dzg[:, :, :wd] = dz.reshape(c, h, wd, n)
        wp = wd + 2
        offs = [i * wp * n + j * n for i in range(3) for j in range(3)]
        lg = (h + 2) * wp * n - offs[-1]
        ge, xf = dzg.reshape(c, 1, -1)[:, :, :lg], xp.reshape(c, -1)
        gw1 = np.empty((c, 9), z.dtype)
        for i, off in enumerate(offs):
            gw1[:, i] = np.matmul(ge, xf[:, off:off + lg, None])[:, 0, 0]
        dx = _dw3x3_grid(_pad1(dz.reshape(c, h, wd, n)), wflip, h, wd)[:, :, :wd]
        return loss, [gw1.reshape(w1.shape), ggamma, gbeta, gW2.reshape(w2.shape), gb2,
                      dx.transpose(3, 0, 1, 2)]

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def setup_npgrad(inp):
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    require_npgrad("conv2d", "batch_norm", "relu")
    params = [npg.tensor(p) for p in inp["params"]]
    w1, gamma, beta, w2, b2 = params
    x = npg.tensor(inp["x"])
    c = inp["x"].shape[1]
    leaves = params + [x]

    def reset():
        for p in leaves:
            p.grad = None

    def step():
        reset()
        h = F.conv2d(x, w1, padding=1, groups=c)
        h = F.relu(F.batch_norm(h, None, None, gamma, beta, training=True, eps=EPS))
        y = F.conv2d(h, w2, b2)
        loss = (y * y).mean()
        loss.backward()
        return loss.item(), [p.grad for p in leaves]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    F = torch.nn.functional
    params = [torch.tensor(p, requires_grad=True) for p in inp["params"]]
    w1, gamma, beta, w2, b2 = params
    x = torch.tensor(inp["x"], requires_grad=True)
    c = inp["x"].shape[1]
    leaves = params + [x]

    def step():
        for p in leaves:
            p.grad = None
        h = F.conv2d(x, w1, padding=1, groups=c)
        h = F.relu(F.batch_norm(h, None, None, gamma, beta, training=True, eps=EPS))
        y = F.conv2d(h, w2, b2)
        loss = (y * y).mean()
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in leaves]

    return Runner(step)


WORKLOAD = Workload(
    name="depthwise", dtype=np.float32, make=make,
    description="MobileNet block: depthwise 3x3 + BN + ReLU + pointwise 1x1 (32->64), mean(y^2), batch 64 of 32x14x14, "
                "float32",
    backends=dict(npgrad=setup_npgrad, numpy=setup_numpy, torch=setup_torch),
    notes=dict(mygrad="no grouped convolution", autograd="HIPS autograd has no conv primitive"))
