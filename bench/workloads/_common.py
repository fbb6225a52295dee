"""Pieces shared by the workloads: parameter init, hand-written NumPy kernels."""
import numpy as np

from .._harness import Runner, require


def linear_params(rng, sizes, dtype):
    """[W1, b1, W2, b2, ...] with W of shape (in, out), uniform(+-1/sqrt(in)) as PyTorch's Linear."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return params


def relu_(a):
    """ReLU in place. Against an array of zeros rather than the scalar 0: NumPy 2.4 has no SIMD loop for
    np.maximum with a broadcast scalar, and this is 2-3x faster."""
    return np.maximum(a, np.zeros(a.shape, a.dtype), out=a)


def softmax_xent(z, y):
    """Mean softmax cross-entropy of logits ``z`` (B, K) for labels ``y``, and d loss / d z (fused)."""
    n = z.shape[0]
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = (np.log(s[:, 0]) - z[rows, y]).mean()
    dz = e / (s * n)   # softmax / n
    dz[rows, y] -= 1 / n
    return loss, dz


def torch_params(torch, arrays, transpose_weights=True):
    """Leaf tensors for PyTorch; 2-D weights (in, out) are stored transposed (out, in) as nn.Linear does."""
    out = []
    for a in arrays:
        if transpose_weights and a.ndim == 2:
            a = a.T
        out.append(torch.tensor(np.ascontiguousarray(a), requires_grad=True))
    return out


def torch_grads(params, transpose_weights=True):
    return [p.grad.numpy().T if transpose_weights and p.ndim == 2 else p.grad.numpy() for p in params]


# ------------------------------------------------------------------ hand-written conv / pool (CHWN)
# The floor keeps activations as (C, H, W, N), batch innermost: im2col is one strided copy whose rows
# are W*N contiguous elements, each conv is one GEMM over the whole batch, col2im adds long rows,
# pooling reshapes without copying, and flattening (C, H, W) per image needs no transpose.
def conv_params(rng, c_out, c_in, k, dtype):
    bound = 1 / np.sqrt(c_in * k * k)
    return (rng.uniform(-bound, bound, (c_out, c_in, k, k)).astype(dtype),
            rng.uniform(-bound, bound, c_out).astype(dtype))


def conv2d_chwn(x, w, b, pad):
    """Stride-1 conv of ``x`` (C, H, W, N) by ``w`` (F, C, kh, kw): strided im2col + one GEMM.

    Returns (y (F, Ho, Wo, N), cols (C*kh*kw, Ho*Wo*N)); cols is kept for the weight gradient.
    """
    f, c, kh, kw = w.shape
    n = x.shape[3]
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))  # (C, Ho, Wo, N, kh, kw) view
    ho, wo = win.shape[1:3]
    cols = win.transpose(0, 4, 5, 1, 2, 3).reshape(c * kh * kw, ho * wo * n)   # the one im2col copy
    y = w.reshape(f, -1) @ cols
    y += b[:, None]
    return y.reshape(f, ho, wo, n), cols


def conv2d_chwn_backward(dy, cols, w, x_shape, pad, need_dx=True):
    """Gradients of :func:`conv2d_chwn`: (d w, d b, d x or None). col2im loops over the kh*kw offsets
    (one strided add of whole (C, Ho, Wo*N) blocks each, no np.add.at)."""
    f, c, kh, kw = w.shape
    d2 = dy.reshape(f, -1)
    gw = (d2 @ cols.T).reshape(w.shape)
    gb = d2.sum(axis=1)
    if not need_dx:
        return gw, gb, None
    _, h, wd, n = x_shape
    ho, wo = dy.shape[1:3]
    dcols = (w.reshape(f, -1).T @ d2).reshape(c, kh, kw, ho, wo, n)
    dxp = np.zeros((c, h + 2 * pad, wd + 2 * pad, n), dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, i:i + ho, j:j + wo] += dcols[:, i, j]
    return gw, gb, dxp[:, pad:pad + h, pad:pad + wd]


def maxpool2_chwn(a):
    """2x2 stride-2 max pool of ``a`` (C, H, W, N) via reshape: the max of the four strided quarters."""
    c, h, w, n = a.shape
    r = a.reshape(c, h // 2, 2, w // 2, 2, n)
    return np.maximum(np.maximum(r[:, :, 0, :, 0], r[:, :, 0, :, 1]),
                      np.maximum(r[:, :, 1, :, 0], r[:, :, 1, :, 1])), r


def maxpool2_chwn_backward(dy, y, r):
    """Route ``dy`` to the max of each window. A tie sends it to every tied element; after a ReLU the
    only likely ties are zeros, whose gradient the ReLU mask then removes."""
    c, ho, _, wo, _, n = r.shape
    dr = np.empty(r.shape, dy.dtype)
    for i in range(2):
        for j in range(2):
            np.multiply(r[:, :, i, :, j] == y, dy, out=dr[:, :, i, :, j])
    return dr.reshape(c, 2 * ho, 2 * wo, n)


def autograd_runner(f, params):
    """The HIPS autograd backend of a workload: ``f(params) -> loss``, differentiated by value_and_grad."""
    vg = require("autograd").value_and_grad(f)
    params = list(params)

    def step():
        loss, grads = vg(params)
        return float(loss), list(grads)

    return Runner(step)
