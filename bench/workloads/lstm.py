"""lstm: a 2-layer LSTM, input 256, hidden 256, batch 32, 64 steps, float32, forward + backward.

    out, _ = LSTM(x)            (T, B, I) -> (T, B, H), zero initial states, PyTorch's gate order i, f, g, o
    loss = mean((out - target)^2)

Gradients w.r.t. all 8 parameters, in PyTorch's layout (weight_ih_l0 (4H, I), weight_hh_l0 (4H, H),
bias_ih_l0, bias_hh_l0, then layer 1); x and target are data. npgrad and PyTorch run their nn.LSTM; the
hand-written NumPy LSTM does what a careful hand-writer would: one GEMM for the input projection of all steps,
one GEMM per step forward and one per step backward, the gate gradients of all steps kept in one buffer so
that the weight gradients are one GEMM each after the loop, and sigmoid as ``0.5 tanh(x / 2) + 0.5`` (as
npgrad's fused step does; twice as fast as ``1 / (1 + exp(-x))`` in NumPy).
"""
import numpy as np

from .._harness import Runner, Workload, require

SIZES = {"full": dict(B=32, T=64, I=256, H=256), "quick": dict(B=16, T=32, I=128, H=128),
         "tiny": dict(B=3, T=5, I=4, H=6)}
LAYERS = 2


def make(size, rng, dtype=np.float32):
    s = SIZES[size]
    B, T, I, H = s["B"], s["T"], s["I"], s["H"]
    bound = 1 / np.sqrt(H)
    params = []
    for layer in range(LAYERS):
        n_in = I if layer == 0 else H
        for shape in ((4 * H, n_in), (4 * H, H), (4 * H,), (4 * H,)):
            params.append(rng.uniform(-bound, bound, shape).astype(dtype))
    x = rng.standard_normal((T, B, I)).astype(dtype)
    target = (0.5 * rng.standard_normal((T, B, H))).astype(dtype)
    return dict(params=params, x=x, target=target)


# ------------------------------------------------------------------ hand-written NumPy
def _sigmoid_(a):
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    np.multiply(a, 0.5, out=a)
    np.add(a, 0.5, out=a)


def _layer_forward(xin, w_ih, w_hh, b, T, B):
    """One layer over all steps; returns (hs (T+1, B, H) with hs[0] = 0, acts, cs (T+1, B, H), tanh(c))."""
    H = w_hh.shape[1]
    gx = xin @ w_ih.T
    gx += b
    gx = gx.reshape(T, B, 4 * H)
    acts = np.empty((T, B, 4 * H), xin.dtype)
    hs = np.zeros((T + 1, B, H), xin.dtype)
    cs = np.zeros((T + 1, B, H), xin.dtype)
    tcs = np.empty((T, B, H), xin.dtype)
    for t in range(T):
        a = acts[t]
        np.matmul(hs[t], w_hh.T, out=a)
        a += gx[t]
        g = a[:, 2 * H:3 * H]
        np.tanh(g, out=g)
        _sigmoid_(a[:, :2 * H])
        _sigmoid_(a[:, 3 * H:])
        c = cs[t + 1]
        np.multiply(a[:, H:2 * H], cs[t], out=c)
        c += a[:, :H] * g
        np.tanh(c, out=tcs[t])
        np.multiply(a[:, 3 * H:], tcs[t], out=hs[t + 1])
    return hs, acts, cs, tcs


def _layer_backward(dout, xin, w_ih, w_hh, hs, acts, cs, tcs, need_dx):
    """Backward through one layer given d loss / d h_t for every step (T, B, H)."""
    T, B, H = dout.shape
    DG = np.empty((T, B, 4 * H), dout.dtype)
    dh = np.zeros((B, H), dout.dtype)
    dc = np.zeros((B, H), dout.dtype)
    for t in range(T - 1, -1, -1):
        a, tc = acts[t], tcs[t]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        dh += dout[t]
        dct = 1 - tc * tc
        dct *= o
        dct *= dh
        dct += dc
        d = DG[t]
        np.multiply(dct, g, out=d[:, :H])
        np.multiply(dct, cs[t], out=d[:, H:2 * H])
        np.multiply(dct, i, out=d[:, 2 * H:3 * H])
        np.multiply(dh, tc, out=d[:, 3 * H:])
        der = 1 - a
        der *= a
        der[:, 2 * H:3 * H] = 1 - g * g
        d *= der
        dh = d @ w_hh
        dc = dct * f
    DG2 = DG.reshape(T * B, 4 * H)
    g_whh = DG2.T @ hs[:-1].reshape(T * B, H)
    g_wih = DG2.T @ xin
    g_b = DG2.sum(axis=0)
    dx = (DG2 @ w_ih).reshape(T, B, -1) if need_dx else None
    return g_wih, g_whh, g_b, dx


def setup_numpy(inp):
    params, x, target = inp["params"], inp["x"], inp["target"]
    T, B, I = x.shape
    inv_n = 1 / target.size

    def step():
        xin = x.reshape(T * B, I)
        caches = []
        for layer in range(LAYERS):
            w_ih, w_hh, b_ih, b_hh = params[4 * layer:4 * layer + 4]
            hs, acts, cs, tcs = _layer_forward(xin, w_ih, w_hh, b_ih + b_hh, T, B)
            caches.append((xin, hs, acts, cs, tcs))
            xin = hs[1:].reshape(T * B, -1)
        diff = hs[1:] - target
        loss = float((diff * diff).sum() * inv_n)
        dout = diff * (2 * inv_n)
        grads = [None] * len(params)
        for layer in range(LAYERS - 1, -1, -1):
            w_ih, w_hh = params[4 * layer:4 * layer + 2]
            xin, hs, acts, cs, tcs = caches[layer]
            g_wih, g_whh, g_b, dout = _layer_backward(dout, xin, w_ih, w_hh, hs, acts, cs, tcs, layer > 0)
            grads[4 * layer:4 * layer + 4] = [g_wih, g_whh, g_b, g_b.copy()]
        return loss, grads

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def _state_dict(params):
    names = []
    for layer in range(LAYERS):
        names += [f"weight_ih_l{layer}", f"weight_hh_l{layer}", f"bias_ih_l{layer}", f"bias_hh_l{layer}"]
    return dict(zip(names, params))


def setup_npgrad(inp):
    npg = require("npgrad")
    nn = require("npgrad.nn")
    if not hasattr(nn, "LSTM"):
        from .._harness import Skip
        raise Skip("npgrad.nn.LSTM not available")
    import npgrad.nn.functional as F
    x, target = inp["x"], inp["target"]
    model = nn.LSTM(x.shape[2], target.shape[2], num_layers=LAYERS, dtype=x.dtype)
    model.load_state_dict(_state_dict(inp["params"]))
    params = list(model.parameters())
    xt = npg.tensor(x, requires_grad=False)
    tt = npg.tensor(target, requires_grad=False)

    def reset():
        for p in params:
            p.grad = None

    def step():
        reset()
        out, _ = model(xt)
        loss = F.mse_loss(out, tt)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    x, target = torch.tensor(inp["x"]), torch.tensor(inp["target"])
    model = torch.nn.LSTM(x.shape[2], target.shape[2], num_layers=LAYERS)
    model.load_state_dict({k: torch.tensor(v) for k, v in _state_dict(inp["params"]).items()})
    params = list(model.parameters())

    def step():
        for p in params:
            p.grad = None
        out, _ = model(x)
        loss = torch.nn.functional.mse_loss(out, target)
        loss.backward()
        return loss.item(), [p.grad.numpy() for p in params]

    return Runner(step)


WORKLOAD = Workload(
    name="lstm", dtype=np.float32, make=make,
    description="2-layer LSTM, input 256, hidden 256, batch 32, 64 steps, MSE on every output, float32",
    backends=dict(npgrad=setup_npgrad, numpy=setup_numpy, torch=setup_torch),
    notes=dict(mygrad="no LSTM layer (an op-by-op LSTM is not what the workload measures)",
               autograd="no LSTM layer (an op-by-op LSTM is not what the workload measures)"))
