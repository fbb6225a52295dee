"""Batching rules for the recurrent layers (RNN / LSTM / GRU and their cells) under ``vmap``.

npgrad's recurrent layers run as fused step ops over NumPy arrays (npgrad/nn/functional/recurrent.py). Under
vmap they run instead as the same equations spelled step by step with ops that have batching rules
(``linear``, elementwise, slicing, stacking): each step's input and recurrent projections are one
``linear`` over every sample (one GEMM when the weights are shared, as for per-sample gradients; see
npgrad/_vmap_nn.py), and gradients follow from those ops' own rules.
"""
import numpy as np

from .func_vmap import BatchedTensor
from .tensor import _wrap

__all__ = ["rnn_forward", "cell_forward"]


def zeros(shape, dtype):
    """A constant zero state (not differentiated)."""
    return _wrap(np.zeros(shape, dtype))


def _any_batched(xs):
    return any(type(x) is BatchedTensor for x in xs)


def _check_dtypes(name, dtype, named):
    """The input and states must have the weights' dtype, as in the fused layers and cells (PyTorch raises)."""
    for what, t in named:
        if t is not None and t.dtype != dtype:
            raise TypeError(f"{name}: {what} is {t.dtype} but the weights are {dtype}")


def _step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of ``mode`` ('RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU') on per-sample (..., I) ``x`` and
    (..., P) ``h`` (``c`` (..., H) for an LSTM); returns (h', c')."""
    from .nn import functional as F
    from .ops import relu, sigmoid, tanh
    gi = F.linear(x, w_ih, b_ih)
    gh = F.linear(h, w_hh, b_hh)
    if mode == "GRU":
        H = gi.shape[-1] // 3
        r = sigmoid(gi[..., :H] + gh[..., :H])
        z = sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
        n = tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
        return n + z * (h - n), None
    g = gi + gh
    if mode == "LSTM":
        H = g.shape[-1] // 4
        i, f = sigmoid(g[..., :H]), sigmoid(g[..., H:2 * H])
        c = f * c + i * tanh(g[..., 2 * H:3 * H])
        h = sigmoid(g[..., 3 * H:]) * tanh(c)
        if w_hr is not None:
            h = F.linear(h, w_hr)
        return h, c
    return (relu(g) if mode == "RNN_RELU" else tanh(g)), None


def rnn_forward(module, input, hx):
    """``module(input, hx)`` for an RNN / LSTM / GRU module under vmap (not packed sequences); None when
    nothing is batched (the fused layer then runs)."""
    from .ops import concatenate, stack
    weights = module._flat_weights
    hs = [] if hx is None else (list(hx) if isinstance(hx, (tuple, list)) else [hx])
    if not _any_batched([input] + weights + hs):
        return None
    name, mode = module._name, module.mode
    x = input
    if x.ndim not in (2, 3):
        raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead (shape {x.shape})")
    unbatched = x.ndim == 2
    if unbatched:
        x = x[:, None]
    elif module.batch_first:
        x = x.swapaxes(0, 1)                 # (T, N, I)
    T, N = x.shape[:2]
    if x.shape[-1] != module.input_size:
        raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected {module.input_size}, got "
                         f"{x.shape[-1]}")
    H = module.hidden_size
    P = module.proj_size or H
    D = 2 if module.bidirectional else 1
    LD = module.num_layers * D
    lstm = mode == "LSTM"
    h0 = c0 = None
    if hx is not None:
        h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
        if unbatched:
            h0 = h0[:, None]
            c0 = None if c0 is None else c0[:, None]
        if h0.shape != (LD, N, P) or (c0 is not None and c0.shape != (LD, N, H)):
            raise ValueError(f"{name}: Expected hidden state(s) of size {(LD, N, P)}"
                             f"{f' and {(LD, N, H)}' if lstm else ''}, got {h0.shape}"
                             f"{f' and {c0.shape}' if c0 is not None else ''}")
    dtype = weights[0].dtype
    _check_dtypes(name, dtype, [("input", x), ("h_0", h0), ("c_0", c0)])
    layer_in, h_n, c_n = x, [], []
    for layer in range(module.num_layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, b_ih, b_hh, w_hr = module._weights(k)
            h = zeros((N, P), dtype) if h0 is None else h0[k]
            c = (zeros((N, H), dtype) if c0 is None else c0[k]) if lstm else None
            seq = []
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                h, c = _step(mode, layer_in[t], h, c, w_ih, w_hh, b_ih, b_hh, w_hr)
                seq.append(h)
            outs.append(stack(seq if d == 0 else seq[::-1], axis=0))
            h_n.append(h)
            c_n.append(c)
        layer_in = outs[0] if D == 1 else concatenate(outs, axis=-1)
        if module.dropout and module.training and layer < module.num_layers - 1:
            from .nn import functional as F
            layer_in = F.dropout(layer_in, module.dropout)
    out = layer_in
    hn = stack(h_n, axis=0)
    cn = stack(c_n, axis=0) if lstm else None
    if unbatched:
        out, hn = out[:, 0], hn[:, 0]
        cn = None if cn is None else cn[:, 0]
    elif module.batch_first:
        out = out.swapaxes(0, 1)
    return (out, (hn, cn)) if lstm else (out, hn)


def cell_forward(mode, input, hx, w_ih, w_hh, b_ih, b_hh):
    """One step of an RNN / LSTM / GRU cell under vmap; None when nothing is batched."""
    lstm = mode == "LSTM"
    hs = [] if hx is None else (list(hx) if lstm else [hx])
    if not _any_batched([input, w_ih, w_hh, b_ih, b_hh] + hs):
        return None
    H = w_hh.shape[1]
    shape = input.shape[:-1] + (H,)
    h, c = (hx if lstm else (hx, None)) if hx is not None else (None, None)
    h = zeros(shape, w_ih.dtype) if h is None else h
    if lstm and c is None:
        c = zeros(shape, w_ih.dtype)
    if h.shape != shape or (lstm and c.shape != shape):
        raise ValueError(f"{mode.lower()}_cell: hidden state of shape {h.shape}, expected {shape}")
    _check_dtypes(f"{mode.lower()}_cell", w_ih.dtype, [("input", input), ("h", h), ("c", c)])
    h, c = _step(mode, input, h, c, w_ih, w_hh, b_ih, b_hh)
    return (h, c) if lstm else h
