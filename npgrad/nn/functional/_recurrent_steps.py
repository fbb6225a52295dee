"""The recurrent step ops (npgrad/nn/functional/recurrent.py): ``lstm_step``, ``gru_step``, ``rnn_step``,
each with its hand-written VJPs and JVP, and their recomputation with npgrad ops for ``create_graph=True``."""
import numpy as np

from ...ops import elementwise as _ew
from ...ops._util import grad_sum
from ...ops.index import scatter_add
from ...tensor import _make
from ._common import _is_graph
from ._recurrent_base import _memo, _part_grad, _record_step, _sigmoid_, _summed, _tangent


# A layer's loop passes ``w_t``, ``w_hh.data.T`` as a C-contiguous array made once per sequence (the weight does not
# change within one forward): NumPy's GEMM of a step's small (batch, P) state against the transposed view of
# w_hh ran ~20% slower (32 x 256 @ 256 x 1024, two threads: 225 -> 177 us). The VJPs still read w_hh itself.

# ------------------------------------------------------------------------- LSTM step
def lstm_step(gx, key, state, w_hh, w_hr=None, hoisted=False, pre_of=None, w_t=None):
    """One LSTM step: ``gates = gx[key] + h @ w_hh.T`` (gate order i, f, g, o as PyTorch), ``c' = f c + i g``,
    ``h' = o tanh(c')`` (then ``@ w_hr.T`` with a projection). ``state`` holds ``[h, c]`` side by side;
    returns the new ``[h', c']`` of shape (rows of ``gx[key]``, P + H)."""
    key = key if isinstance(key, tuple) else (key,)
    gxd, sd, wd = gx.data, state.data, w_hh.data
    rd = None if w_hr is None else w_hr.data
    H = wd.shape[0] // 4
    P = sd.shape[1] - H
    pre = gxd[key]
    bs = pre.shape[0]
    s0 = sd[:bs]
    h0, c0 = s0[:, :P], s0[:, P:]
    act = np.matmul(h0, wd.T if w_t is None else w_t)
    act += pre
    np.tanh(act[:, 2 * H:3 * H], out=act[:, 2 * H:3 * H])
    _sigmoid_(act[:, :2 * H])
    _sigmoid_(act[:, 3 * H:])
    i, f, g_, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
    out = np.empty((bs, P + H), act.dtype)
    c = out[:, P:]
    np.multiply(f, c0, out=c)
    c += i * g_
    tc = np.tanh(c)
    if rd is None:
        hh = None
        np.multiply(o, tc, out=out[:, :P])
    else:
        hh = o * tc
        out[:, :P] = hh @ rd.T
    memo = _memo()

    def core(g):
        """(d gates, d c) for the plain path, or every gradient for the graph path."""
        if _is_graph(g):
            return _lstm_graph(g, gx, key, state, w_hh, w_hr, H, P, pre_of)
        dh, dc = g[:, :P], g[:, P:]
        dhh = dh if rd is None else dh @ rd
        dct = tc * tc                           # dc + dh' o (1 - tanh(c')^2)
        np.subtract(1, dct, out=dct)
        dct *= o
        dct *= dhh
        dct += dc
        d = np.empty((bs, 4 * H), act.dtype)
        np.multiply(dct, g_, out=d[:, :H])      # d i
        np.multiply(dct, c0, out=d[:, H:2 * H])  # d f
        np.multiply(dct, i, out=d[:, 2 * H:3 * H])  # d g
        np.multiply(dhh, tc, out=d[:, 3 * H:])   # d o
        der = np.subtract(1, act)                # sigmoid' = s (1 - s); tanh' = 1 - t^2
        der *= act
        dg = der[:, 2 * H:3 * H]
        np.multiply(g_, g_, out=dg)
        np.subtract(1, dg, out=dg)
        d *= der
        return d, dct

    def vjp_gx(g, y, gx, state, w_hh, w_hr=None):
        r = memo(g, core)
        return r[0] if _is_graph(g) else _part_grad(gx.shape, key, r[0])

    def vjp_state(g, y, gx, state, w_hh, w_hr=None):
        r = memo(g, core)
        if _is_graph(g):
            return r[1]
        d, dct = r
        ds = np.zeros(state.shape, d.dtype) if state.shape[0] != bs else np.empty(state.shape, d.dtype)
        np.matmul(d, w_hh, out=ds[:bs, :P])
        np.multiply(dct, f, out=ds[:bs, P:])
        return ds

    def vjp_whh(g, y, gx, state, w_hh, w_hr=None):
        r = memo(g, core)
        return r[2] if _is_graph(g) else _summed(r[0].T @ state[:bs, :P])

    def vjp_whr(g, y, gx, state, w_hh, w_hr):
        if _is_graph(g):
            return memo(g, core)[3]
        return _summed(g[:, :P].T @ hh)

    def jvp(tg, ts, tw, tr, y):
        return _lstm_jvp(tg, ts, tw, tr, gx, key, state, w_hh, w_hr, H, P, pre_of)

    return _record_step("lstm", out, gx, state, w_hh, w_hr, (vjp_gx, vjp_state, vjp_whh, vjp_whr), hoisted, jvp)


def _lstm_gates(gx, key, state, w_hh, H, P, pre_of=None):
    """An LSTM step recomputed with npgrad ops (for its JVP and its differentiable VJP): the batch size, the
    previous h and c, the gates i, f, g, o and ``tanh(c)``."""
    pre = gx[key] if pre_of is None else pre_of(key)
    bs = pre.shape[0]
    h0, c0 = state[:bs, :P], state[:bs, P:]
    gates = pre + h0 @ w_hh.T
    i, f = _ew.sigmoid(gates[:, :H]), _ew.sigmoid(gates[:, H:2 * H])
    gg, o = _ew.tanh(gates[:, 2 * H:3 * H]), _ew.sigmoid(gates[:, 3 * H:])
    return bs, h0, c0, i, f, gg, o, _ew.tanh(f * c0 + i * gg)


def _lstm_jvp(tg, ts, tw, tr, gx, key, state, w_hh, w_hr, H, P, pre_of=None):
    """An LSTM step's tangent: the step's linearization, written with npgrad ops (differentiable again)."""
    bs, h0, c0, i, f, gg, o, tc = _lstm_gates(gx, key, state, w_hh, H, P, pre_of)
    da = tg[key] + ts[:bs, :P] @ w_hh.T + h0 @ tw.T
    dc = (f * (1 - f) * da[:, H:2 * H]) * c0 + f * ts[:bs, P:] + (i * (1 - i) * da[:, :H]) * gg \
        + i * ((1 - gg * gg) * da[:, 2 * H:3 * H])
    dhh = (o * (1 - o) * da[:, 3 * H:]) * tc + o * ((1 - tc * tc) * dc)
    dh = dhh if w_hr is None else dhh @ w_hr.T + (o * tc) @ tr.T
    return np.concatenate([dh, dc], axis=1)


def _lstm_graph(g, gx, key, state, w_hh, w_hr, H, P, pre_of=None):
    """Every gradient of an LSTM step as differentiable npgrad ops of Tensors (the create_graph path)."""
    bs, h0, c0, i, f, gg, o, tc = _lstm_gates(gx, key, state, w_hh, H, P, pre_of)
    dh, dc = g[:, :P], g[:, P:]
    dhh = dh if w_hr is None else dh @ w_hr
    dct = dc + dhh * o * (1 - tc * tc)
    d = np.concatenate([dct * gg * i * (1 - i), dct * c0 * f * (1 - f), dct * i * (1 - gg * gg),
                        dhh * tc * o * (1 - o)], axis=1)
    dgx = scatter_add(gx.shape, key, d)
    ds = np.concatenate([d @ w_hh, dct * f], axis=1)
    if state.shape[0] != bs:
        ds = scatter_add(state.shape, (slice(0, bs),), ds)
    dwhr = None if w_hr is None else dh.T @ (o * tc)
    return dgx, ds, d.T @ h0, dwhr


# ------------------------------------------------------------------------- GRU step
def gru_step(gx, key, state, w_hh, b_hh=None, w_t=None):
    """One GRU step (gate order r, z, n as PyTorch): ``gh = h @ w_hh.T + b_hh``, ``r, z = sigmoid(gx + gh)``,
    ``n = tanh(gx_n + r gh_n)``, ``h' = (1 - z) n + z h``. ``gx[key]`` holds ``x @ w_ih.T + b_ih``."""
    key = key if isinstance(key, tuple) else (key,)
    gxd, sd, wd = gx.data, state.data, w_hh.data
    H = wd.shape[0] // 3
    pre = gxd[key]
    bs = pre.shape[0]
    h0 = sd[:bs]
    gh = np.matmul(h0, wd.T if w_t is None else w_t)
    if b_hh is not None:
        gh += b_hh.data
    rz = pre[:, :2 * H] + gh[:, :2 * H]
    _sigmoid_(rz)
    r, z = rz[:, :H], rz[:, H:]
    ghn = gh[:, 2 * H:]
    n = r * ghn
    n += pre[:, 2 * H:]
    np.tanh(n, out=n)
    out = h0 - n                                  # h' = n + z (h - n)
    out *= z
    out += n
    memo = _memo()

    def core(g):
        """(d gx rows, d gh) for the plain path, or every gradient for the graph path."""
        if _is_graph(g):
            return _gru_graph(g, gx, key, state, w_hh, b_hh, H)
        d = np.empty((bs, 3 * H), rz.dtype)
        dn = d[:, 2 * H:]                         # d n_pre = g (1 - z) (1 - n^2)
        np.multiply(n, n, out=dn)
        np.subtract(1, dn, out=dn)
        dn *= g
        dn *= 1 - z
        dr = d[:, :H]                             # d r_pre = dn_pre gh_n r (1 - r)
        np.multiply(dn, ghn, out=dr)
        dz = d[:, H:2 * H]                        # d z_pre = g (h - n) z (1 - z)
        np.subtract(h0, n, out=dz)
        dz *= g
        d[:, :2 * H] *= rz * (1 - rz)
        dgh = d.copy()
        dgh[:, 2 * H:] *= r
        return d, dgh

    def vjp_gx(g, y, gx, state, w_hh, b_hh=None):
        r_ = memo(g, core)
        return r_[0] if _is_graph(g) else _part_grad(gx.shape, key, r_[0])

    def vjp_state(g, y, gx, state, w_hh, b_hh=None):
        r_ = memo(g, core)
        if _is_graph(g):
            return r_[1]
        ds = np.zeros(state.shape, g.dtype) if state.shape[0] != bs else np.empty(state.shape, g.dtype)
        np.matmul(r_[1], w_hh, out=ds[:bs])
        ds[:bs] += g * z
        return ds

    def vjp_whh(g, y, gx, state, w_hh, b_hh=None):
        r_ = memo(g, core)
        return r_[2] if _is_graph(g) else _summed(r_[1].T @ state[:bs])

    def vjp_bhh(g, y, gx, state, w_hh, b_hh):
        r_ = memo(g, core)
        return r_[3] if _is_graph(g) else grad_sum(r_[1], 0)

    def jvp(tans, y, *ps):
        return _gru_jvp([_tangent(t, p) for t, p in zip(tans, ps)], gx, key, state, w_hh, b_hh, H)

    if b_hh is None:
        return _make(out, "gru_step", (gx, state, w_hh), (gxd, sd, wd), (vjp_gx, vjp_state, vjp_whh), jvp)
    return _make(out, "gru_step", (gx, state, w_hh, b_hh), (gxd, sd, wd, b_hh.data),
                 (vjp_gx, vjp_state, vjp_whh, vjp_bhh), jvp)


def _gru_gates(gx, key, state, w_hh, b_hh, H):
    """A GRU step recomputed with npgrad ops (for its JVP and its differentiable VJP): the input gates ``pre``,
    the batch size, the previous state, ``gh = h0 @ w_hh.T (+ b_hh)``, the gates r and z, ``gh``'s n part and
    the candidate n."""
    pre = gx[key]
    bs = pre.shape[0]
    h0 = state[:bs]
    gh = h0 @ w_hh.T
    if b_hh is not None:
        gh = gh + b_hh
    r = _ew.sigmoid(pre[:, :H] + gh[:, :H])
    z = _ew.sigmoid(pre[:, H:2 * H] + gh[:, H:2 * H])
    ghn = gh[:, 2 * H:]
    n = _ew.tanh(pre[:, 2 * H:] + r * ghn)
    return pre, bs, h0, gh, r, z, ghn, n


def _gru_jvp(tans, gx, key, state, w_hh, b_hh, H):
    """A GRU step's tangent: its linearization with npgrad ops (``tans``: gx, state, w_hh[, b_hh])."""
    pre, bs, h0, gh, r, z, ghn, n = _gru_gates(gx, key, state, w_hh, b_hh, H)
    dpre, dh0 = tans[0][key], tans[1][:bs]
    dgh = dh0 @ w_hh.T + h0 @ tans[2].T
    if b_hh is not None:
        dgh = dgh + tans[3]
    dr = r * (1 - r) * (dpre[:, :H] + dgh[:, :H])
    dz = z * (1 - z) * (dpre[:, H:2 * H] + dgh[:, H:2 * H])
    dn = (1 - n * n) * (dpre[:, 2 * H:] + dr * ghn + r * dgh[:, 2 * H:])
    return (h0 - n) * dz + (1 - z) * dn + z * dh0


def _gru_graph(g, gx, key, state, w_hh, b_hh, H):
    pre, bs, h0, gh, r, z, ghn, n = _gru_gates(gx, key, state, w_hh, b_hh, H)
    dn = g * (1 - z) * (1 - n * n)
    dr = dn * ghn * r * (1 - r)
    dz = g * (h0 - n) * z * (1 - z)
    dgh = np.concatenate([dr, dz, dn * r], axis=1)
    dgx = scatter_add(gx.shape, key, np.concatenate([dr, dz, dn], axis=1))
    ds = dgh @ w_hh + g * z
    if state.shape[0] != bs:
        ds = scatter_add(state.shape, (slice(0, bs),), ds)
    return dgx, ds, dgh.T @ h0, grad_sum(dgh, 0)


# ------------------------------------------------------------------------- Elman RNN step
def rnn_step(gx, key, state, w_hh, nonlinearity="tanh", hoisted=False, pre_of=None, w_t=None):
    """One Elman RNN step: ``h' = act(gx[key] + h @ w_hh.T)`` with ``act`` tanh or relu."""
    key = key if isinstance(key, tuple) else (key,)
    gxd, sd, wd = gx.data, state.data, w_hh.data
    pre = gxd[key]
    bs = pre.shape[0]
    out = np.matmul(sd[:bs], wd.T if w_t is None else w_t)
    out += pre
    relu = nonlinearity == "relu"
    if relu:
        np.maximum(out, np.zeros(out.shape, out.dtype), out=out)
    else:
        np.tanh(out, out=out)
    memo = _memo()

    def core(g):
        if _is_graph(g):
            return _rnn_graph(g, gx, key, state, w_hh, relu, pre_of)
        if relu:  # a select, as PyTorch's threshold_backward: an inf g on a dead unit gives 0, not nan
            return np.where(out <= 0, 0, g)
        d = np.multiply(out, out)
        np.subtract(1, d, out=d)
        d *= g
        return d

    def vjp_gx(g, y, gx, state, w_hh):
        d = memo(g, core)
        return d[0] if _is_graph(g) else _part_grad(gx.shape, key, d)

    def vjp_state(g, y, gx, state, w_hh):
        d = memo(g, core)
        if _is_graph(g):
            return d[1]
        ds = np.zeros(state.shape, g.dtype) if state.shape[0] != bs else np.empty(state.shape, g.dtype)
        np.matmul(d, w_hh, out=ds[:bs])
        return ds

    def vjp_whh(g, y, gx, state, w_hh):
        d = memo(g, core)
        return d[2] if _is_graph(g) else _summed(d.T @ state[:bs])
    def jvp(tg, ts, tw, tr, y):   # act'(z) (tg[key] + ts h-part @ w_hh.T + h0 @ tw.T)
        dz = tg[key] + ts[:bs] @ w_hh.T + state[:bs] @ tw.T
        return np.where(y.data <= 0, 0, dz) if relu else dz * (1 - y * y)

    return _record_step("rnn", out, gx, state, w_hh, None, (vjp_gx, vjp_state, vjp_whh), hoisted, jvp)


def _rnn_graph(g, gx, key, state, w_hh, relu, pre_of=None):
    pre = gx[key] if pre_of is None else pre_of(key)
    bs = pre.shape[0]
    h0 = state[:bs]
    z = pre + h0 @ w_hh.T
    if relu:
        d = np.where(z.data <= 0, 0, g)
    else:
        t = _ew.tanh(z)
        d = g * (1 - t * t)
    ds = d @ w_hh
    if state.shape[0] != bs:
        ds = scatter_add(state.shape, (slice(0, bs),), ds)
    return scatter_add(gx.shape, key, d), ds, d.T @ h0


