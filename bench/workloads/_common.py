"""Pieces shared by the workloads: parameter init, hand-written NumPy kernels."""
import numpy as np


def linear_params(rng, sizes, dtype):
    """[W1, b1, W2, b2, ...] with W of shape (in, out), uniform(+-1/sqrt(in)) as PyTorch's Linear."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return params


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


# ------------------------------------------------------------------ hand-written conv / pool (NHWC)
def conv_params(rng, c_out, c_in, k, dtype):
    bound = 1 / np.sqrt(c_in * k * k)
    return (rng.uniform(-bound, bound, (c_out, c_in, k, k)).astype(dtype),
            rng.uniform(-bound, bound, c_out).astype(dtype))


def conv_weight_matrix(w):
    """(F, C, kh, kw) -> (F, kh*kw*C), matching the column order of :func:`conv2d_nhwc`'s im2col."""
    f = w.shape[0]
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(f, -1)


def conv2d_nhwc(x, wm, b, k, pad):
    """Stride-1 conv of NHWC ``x`` by the weight matrix ``wm`` (F, kh*kw*C): strided im2col + one GEMM.

    Returns (y (N, Ho, Wo, F), cols) - the im2col matrix is kept for the weight gradient.
    """
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))  # (N, Ho, Wo, C, kh, kw), a view
    ho, wo = win.shape[1:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, k * k * c)  # the one im2col copy
    y = cols @ wm.T
    y += b
    return y.reshape(n, ho, wo, -1), cols


def conv2d_nhwc_backward(dy, cols, wm, x_shape, k, pad, need_dx=True):
    """Gradients of :func:`conv2d_nhwc`: (d weight matrix, d bias, d x or None). col2im loops over the
    kh*kw offsets (one strided add each, no np.add.at)."""
    f = wm.shape[0]
    d2 = dy.reshape(-1, f)
    gwm = d2.T @ cols
    gb = d2.sum(axis=0)
    if not need_dx:
        return gwm, gb, None
    n, h, w, c = x_shape
    ho, wo = dy.shape[1:3]
    dcols = (d2 @ wm).reshape(n, ho, wo, k, k, c)
    dxp = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dy.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + ho, j:j + wo, :] += dcols[:, :, :, i, j, :]
    return gwm, gb, dxp[:, pad:pad + h, pad:pad + w, :]


def conv_weight_grad(gwm, w_shape):
    """(F, kh*kw*C) -> (F, C, kh, kw)."""
    f, c, kh, kw = w_shape
    return gwm.reshape(f, kh, kw, c).transpose(0, 3, 1, 2)


def maxpool2_nhwc(a):
    """2x2 stride-2 max pool of NHWC ``a`` via reshape; returns (y, the 6-d view of a)."""
    n, h, w, c = a.shape
    r = a.reshape(n, h // 2, 2, w // 2, 2, c)
    return r.max(axis=(2, 4)), r


def maxpool2_nhwc_backward(dy, y, r):
    """Route ``dy`` to the max of each window (a tie sends it to every tied element; after a ReLU the
    only likely ties are zeros, whose gradient the ReLU mask removes)."""
    n, ho, _, wo, _, c = r.shape
    mask = r == y[:, :, None, :, None, :]
    return (mask * dy[:, :, None, :, None, :]).reshape(n, 2 * ho, 2 * wo, c)
