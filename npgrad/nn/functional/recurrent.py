"""Recurrent cells as fused ops, and the pieces ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` are built from.

A recurrent layer is a handful of ops, whatever its length:

* ``rnn_input``: the input projection ``x @ W_ih^T + b`` of every time step at once, one GEMM;
* one step op per time step (``lstm_step``, ``gru_step``, ``rnn_step``): the recurrent GEMM, the gate
  nonlinearities and the state update in NumPy, with a hand-written VJP per input. A step reads its rows of
  the projection (a basic index ``key``) and passes their gradient back as a ``Scatter``, so backward adds
  it into one buffer instead of allocating the whole projection per step;
* ``rnn_gather``: copies blocks of the step outputs into the layer output (or ``h_n``), in one op.

An LSTM step's state is one array holding ``h`` and ``c`` side by side, ``(batch, P + H)`` (``P`` is
``proj_size`` or ``H``): a step has one output and the next step one input for both. A step may be given more
state rows than it has input rows (a packed batch shrinking): it uses the first ones.

Each VJP has two paths, as the other fused ops: the plain backward uses the gates the forward kept; with
``create_graph=True`` it gets Tensors and recomputes them with npgrad ops, so second derivatives work.

``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell`` and ``rnn_relu_cell`` are the single-step functions with the
signatures of ``torch.lstm_cell`` etc.
"""
import numpy as np

from ...autograd import versions as _versions
from ...autograd.engine import Scatter
from ...ops import elementwise as _ew
from ...ops._util import as_input
from ...ops.index import scatter_add
from ...tensor import _make, _wrap
from ._common import _is_graph

_tensor_mod = __import__("importlib").import_module("npgrad.tensor")  # the module (its _VMAP flag)

__all__ = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]

_SCATTER_MIN = 1024  # as getitem: a gradient of a larger array read in part is passed on as a Scatter


def _sigmoid_(a):
    """Sigmoid in place, as ``0.5 tanh(x / 2) + 0.5``: finite for any x, twice as fast as ``1 / (1 + exp(-x))``."""
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    np.multiply(a, 0.5, out=a)
    np.add(a, 0.5, out=a)
    return a


def _part_grad(shape, key, values):
    """The gradient of an input of ``shape`` of which only ``values`` at ``key`` were read."""
    if _is_graph(values):
        return scatter_add(shape, key, values)
    if values.shape == tuple(shape):
        return values
    n = 1
    for s in shape:
        n *= s
    if n > _SCATTER_MIN:
        return Scatter(tuple(shape), key, values)
    out = np.zeros(shape, values.dtype)
    out[key] = values
    return out


def _summed(values):
    """A weight's gradient from one step. Returned as a ``Scatter`` over the whole weight when it is large:
    backward then adds the steps' gradients into one buffer in place instead of allocating a sum per step."""
    return Scatter(values.shape, (Ellipsis,), values) if values.size > _SCATTER_MIN else values


def _memo():
    """A one-entry cache of what a step's VJPs share, keyed by the incoming gradient (the engine hands the
    same ``g`` to every VJP of a node)."""
    box = [None, None]

    def get(g, compute):
        if box[0] is not g:
            box[1] = compute(g)
            box[0] = g
        return box[1]
    return get


# ------------------------------------------------------------------------- input projection
def rnn_input(x, weight, bias=None, bias2=None, w_hh=None, hprev=None):
    """``x @ weight.T + bias + bias2`` for a 2-D ``x`` (rows = time steps x batch), one GEMM; an LSTM or a
    plain RNN folds both of its biases in here.

    A layer also passes its recurrent weight ``w_hh`` with ``hprev(graph)``, which gives the state each row's
    step started from, ``(rows, P)`` (an array, or a Tensor on the create_graph path). Its steps then leave
    ``w_hh`` out of their parents (``hoisted=True``), and its gradient ``sum_t d gates_t^T h_{t-1}`` is taken
    here from this op's incoming gradient, which is exactly every step's d gates: one GEMM instead of one per
    step. That holds because only the steps' own VJPs send gradient to this output: on the create_graph path
    a step recomputes its pre-activations from ``x`` and the weights (``projection``), not from this output.
    (Not for a GRU: its recurrent pre-activations get a gradient different from the input's.)"""
    xd, wd = x.data, weight.data
    out = np.matmul(xd, wd.T)
    parents, saved = [x, weight], [xd, wd]
    for b in (bias, bias2):
        if b is not None:
            out += b.data
            parents.append(b)
            saved.append(b.data)

    def vjp_x(g, y, x, w, *b):
        return g @ w

    def vjp_w(g, y, x, w, *b):
        return g.T @ x

    def vjp_b(g, y, *args):
        return g.sum(axis=0)

    def vjp_whh(g, y, *args):
        return g.T @ hprev(_is_graph(g))
    vjps = (vjp_x, vjp_w) + (vjp_b,) * (len(parents) - 2)
    # forward mode: bilinear in (x, weight), linear in the biases. The hoisted w_hh does not enter this output
    # (its tangent would reach the steps, which then do not have it as a parent: layers do not hoist while a
    # dual level is active, see nn/modules/rnn.py)
    jvps = (_jvp_xw_x, _jvp_xw_w) + (_jvp_identity,) * (len(parents) - 2)
    if w_hh is not None:
        parents.append(w_hh)
        saved.append(w_hh.data)
        vjps += (vjp_whh,)
        jvps += (_jvp_none,)
    return _make(out, "rnn_input", tuple(parents), tuple(saved), vjps, jvps)


def _jvp_xw_x(t, y, x, w, *rest):
    return t @ w.T


def _jvp_xw_w(t, y, x, w, *rest):
    return x @ t.T


def _jvp_identity(t, y, *args):
    return t


def _jvp_none(t, y, *args):
    return None


def _tangent(t, p):
    """An input's tangent, zeros where it has none (the step rules below treat every input alike)."""
    return t if t is not None else _wrap(np.zeros(p.shape, p.dtype))


def projection(x, weight, bias=None, bias2=None):
    """``key -> x[key] @ weight.T + bias + bias2`` with npgrad ops (a hoisted step's create_graph path)."""
    def pre_of(key):
        out = x[key] @ weight.T
        for b in (bias, bias2):
            if b is not None:
                out = out + b
        return out
    return pre_of


def step_inputs(entries, rows, width, dtype):
    """``hprev`` for :func:`rnn_input`: ``entries`` lists ``(state, row key, n)`` per step (the state a step
    started from, the rows of the projection it read, its batch size)."""
    def hprev(graph):
        if graph:
            return rnn_gather([s for s, _, _ in entries],
                              [(i, (r,), (slice(0, n), slice(0, width))) for i, (_, r, n) in enumerate(entries)],
                              (rows, width), full=True)
        out = np.empty((rows, width), dtype)
        for s, r, n in entries:
            out[r] = s.data[:n, :width]
        return out
    return hprev


def _record_step(op, out, gx, state, w_hh, extra, vjps, hoisted, jvp=None):
    """Record a step with parents ``(gx, state, w_hh[, extra])`` (op ``<op>_cell``), VJPs ``(g, y, gx, state,
    w_hh[, extra])``. ``hoisted`` (op ``<op>_step``): ``w_hh`` is not a parent, its gradient is
    :func:`rnn_input`'s; its value is still saved (last), so backward refuses to run if it was modified in
    place since."""
    ex = () if extra is None else (extra,)
    # ``jvp(t_gx, t_state, t_w_hh, t_extra, y)``: the step's forward-mode rule (tangents as Tensors, zeros for
    # inputs without one); a hoisted step has no w_hh parent, so its tangent is zero (layers do not hoist
    # while a dual level is active)
    if not hoisted:
        parents = (gx, state, w_hh) + ex

        def rule(tans, y, *ps):
            return jvp(_tangent(tans[0], gx), _tangent(tans[1], state), _tangent(tans[2], w_hh),
                       None if extra is None else _tangent(tans[3], extra), y)
        return _make(out, op + "_cell", parents, tuple(p.data for p in parents), vjps[:3] + vjps[3:3 + len(ex)],
                     rule)
    parents = (gx, state) + ex

    def rule(tans, y, *ps):
        return jvp(_tangent(tans[0], gx), _tangent(tans[1], state), _tangent(None, w_hh),
                   None if extra is None else _tangent(tans[2], extra), y)

    def adapt(v):
        def vjp(g, y, *args):
            if _is_graph(g):
                return v(g, y, args[0], args[1], w_hh, *args[2:])
            return v(g, y, args[0], args[1], args[-1], *args[2:-1])
        return vjp
    return _make(out, op + "_step", parents, tuple(p.data for p in parents) + (w_hh.data,),
                 tuple(adapt(v) for v in vjps[:2] + vjps[3:3 + len(ex)]), rule)


# ------------------------------------------------------------------------- LSTM step
def lstm_step(gx, key, state, w_hh, w_hr=None, hoisted=False, pre_of=None):
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
    act = np.matmul(h0, wd.T)
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
def gru_step(gx, key, state, w_hh, b_hh=None):
    """One GRU step (gate order r, z, n as PyTorch): ``gh = h @ w_hh.T + b_hh``, ``r, z = sigmoid(gx + gh)``,
    ``n = tanh(gx_n + r gh_n)``, ``h' = (1 - z) n + z h``. ``gx[key]`` holds ``x @ w_ih.T + b_ih``."""
    key = key if isinstance(key, tuple) else (key,)
    gxd, sd, wd = gx.data, state.data, w_hh.data
    H = wd.shape[0] // 3
    pre = gxd[key]
    bs = pre.shape[0]
    h0 = sd[:bs]
    gh = np.matmul(h0, wd.T)
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
        return r_[3] if _is_graph(g) else r_[1].sum(axis=0)

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
    return dgx, ds, dgh.T @ h0, dgh.sum(axis=0)


# ------------------------------------------------------------------------- Elman RNN step
def rnn_step(gx, key, state, w_hh, nonlinearity="tanh", hoisted=False, pre_of=None):
    """One Elman RNN step: ``h' = act(gx[key] + h @ w_hh.T)`` with ``act`` tanh or relu."""
    key = key if isinstance(key, tuple) else (key,)
    gxd, sd, wd = gx.data, state.data, w_hh.data
    pre = gxd[key]
    bs = pre.shape[0]
    out = np.matmul(sd[:bs], wd.T)
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
        if relu:
            return g * (out > 0)
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
        return dz * (y.data > 0) if relu else dz * (1 - y * y)

    return _record_step("rnn", out, gx, state, w_hh, None, (vjp_gx, vjp_state, vjp_whh), hoisted, jvp)


def _rnn_graph(g, gx, key, state, w_hh, relu, pre_of=None):
    pre = gx[key] if pre_of is None else pre_of(key)
    bs = pre.shape[0]
    h0 = state[:bs]
    z = pre + h0 @ w_hh.T
    if relu:
        d = g * (z.data > 0)
    else:
        t = _ew.tanh(z)
        d = g * (1 - t * t)
    ds = d @ w_hh
    if state.shape[0] != bs:
        ds = scatter_add(state.shape, (slice(0, bs),), ds)
    return scatter_add(gx.shape, key, d), ds, d.T @ h0


# ------------------------------------------------------------------------- gathering outputs
def rnn_gather(parents, placements, shape, full=False):
    """A new array of ``shape`` with ``out[out_key] = parents[i][in_key]`` for each ``(i, out_key, in_key)`` in
    ``placements`` (``in_key`` None: the whole parent), zeros elsewhere (no fill if ``full``: every element
    is placed). One op, linear: its VJP is an ``rnn_gather`` of the gradient."""
    first = parents[0].data
    out = np.empty(shape, first.dtype) if full else np.zeros(shape, first.dtype)
    mine = [[] for _ in parents]
    for i, ok, ik in placements:
        out[ok] = parents[i].data if ik is None else parents[i].data[ik]
        mine[i].append((ok, ik))

    def make_vjp(k):
        places = mine[k]
        whole = len(places) == 1 and places[0][1] is None

        def vjp(g, y, *args):
            pshape = args[k].shape
            if _is_graph(g):
                back = [(0, slice(None) if ik is None else ik, ok) for ok, ik in places]
                return rnn_gather([g], back, pshape, full=whole)
            if whole:
                return g[places[0][0]]
            gp = np.zeros(pshape, g.dtype)
            for ok, ik in places:
                gp[... if ik is None else ik] += g[ok]
            return gp
        return vjp
    def jvp(tans, y, *ps):   # linear: the same gather of the tangents
        return rnn_gather([_tangent(t, p) for t, p in zip(tans, ps)], placements, shape, full)
    return _make(out, "rnn_gather", tuple(parents), tuple(p.data for p in parents),
                 tuple(make_vjp(k) for k in range(len(parents))), jvp)


# What the VJPs read (npgrad/autograd/versions.py). Cells: values (gx, state, w_hh, extra); hoisted layer steps:
# (gx, state, extra, w_hh), w_hh saved last though not a parent. Only the Elman step reads its own output.
for _name, _reads in (("rnn_input", ("b", "a", "", "", "")), ("lstm_cell", ("bd", "bcd", "bd", "")),
                      ("gru_step", ("b", "bc", "b", "b")), ("rnn_cell", ("y", "yc", "yb")),
                      ("lstm_step", ("bcd",)), ("rnn_step", ("ybc",)), ("rnn_gather", ("",))):
    _versions.reads(_name, *_reads)


# ------------------------------------------------------------------------- the cells as functions
def _cell_args(name, input, hx, w_ih, w_hh, gates):
    """Check one step's arguments; returns (input Tensor, hidden size, batch, unbatched)."""
    x = as_input(input, name)
    wi, wh = as_input(w_ih, name), as_input(w_hh, name)
    if wi.ndim != 2 or wh.ndim != 2 or wi.shape[0] % gates or wh.shape[0] != wi.shape[0]:
        raise ValueError(f"{name}: w_ih of shape {wi.shape} and w_hh of shape {wh.shape} do not fit "
                         f"({gates} * hidden_size rows each)")
    if x.ndim not in (1, 2) or x.shape[-1] != wi.shape[1]:
        raise ValueError(f"{name}: input of shape {x.shape} does not fit w_ih of shape {wi.shape} "
                         f"(expected (batch, {wi.shape[1]}) or ({wi.shape[1]},))")
    if x.dtype != wi.dtype:
        raise TypeError(f"{name}: input is {x.dtype} but the weights are {wi.dtype}")
    return x, wi.shape[0] // gates, (x.shape[0] if x.ndim == 2 else 1), x.ndim == 1


def _state_of(name, h, batch, width, unbatched, dtype, what="hx"):
    """The initial state tensor ``h`` as (batch, width) (zeros if None), checked."""
    if h is None:
        return _wrap(np.zeros((batch, width), dtype))
    h = as_input(h, name)
    want = (width,) if unbatched else (batch, width)
    if h.shape != want:
        raise ValueError(f"{name}: {what} of shape {h.shape}, expected {want}")
    return h.reshape(1, width) if unbatched else h


def _bias(b, name):
    return None if b is None else as_input(b, name)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step as ``torch.lstm_cell``: ``hx`` is ``(h, c)``; returns ``(h', c')``."""
    if _tensor_mod._VMAP:  # under vmap: the step equations with batched ops
        from ..._vmap_rnn import cell_forward
        r = cell_forward("LSTM", input, hx, w_ih, w_hh, b_ih, b_hh)
        if r is not None:
            return r
    x, H, B, unb = _cell_args("lstm_cell", input, None, w_ih, w_hh, 4)
    h0, c0 = (None, None) if hx is None else hx
    h0 = _state_of("lstm_cell", h0, B, H, unb, x.dtype, "h")
    c0 = _state_of("lstm_cell", c0, B, H, unb, x.dtype, "c")
    state = rnn_gather([h0, c0], [(0, (slice(None), slice(0, H)), None), (1, (slice(None), slice(H, None)), None)],
                       (B, 2 * H), full=True)
    gx = rnn_input(x.reshape(B, x.shape[-1]), as_input(w_ih, "lstm_cell"), _bias(b_ih, "lstm_cell"), _bias(b_hh, "lstm_cell"))
    s = lstm_step(gx, slice(None), state, as_input(w_hh, "lstm_cell"))
    h, c = s[:, :H], s[:, H:]
    return (h.reshape(H), c.reshape(H)) if unb else (h, c)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step as ``torch.gru_cell``; returns ``h'``."""
    if _tensor_mod._VMAP:  # under vmap: the step equations with batched ops
        from ..._vmap_rnn import cell_forward
        r = cell_forward("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)
        if r is not None:
            return r
    x, H, B, unb = _cell_args("gru_cell", input, hx, w_ih, w_hh, 3)
    h0 = _state_of("gru_cell", hx, B, H, unb, x.dtype)
    gx = rnn_input(x.reshape(B, x.shape[-1]), as_input(w_ih, "gru_cell"), _bias(b_ih, "gru_cell"))
    h = gru_step(gx, slice(None), h0, as_input(w_hh, "gru_cell"), _bias(b_hh, "gru_cell"))
    return h.reshape(H) if unb else h


def _rnn_cell(name, nonlinearity, input, hx, w_ih, w_hh, b_ih, b_hh):
    if _tensor_mod._VMAP:  # under vmap: the step equations with batched ops
        from ..._vmap_rnn import cell_forward
        r = cell_forward("RNN_" + nonlinearity.upper(), input, hx, w_ih, w_hh, b_ih, b_hh)
        if r is not None:
            return r
    x, H, B, unb = _cell_args(name, input, hx, w_ih, w_hh, 1)
    h0 = _state_of(name, hx, B, H, unb, x.dtype)
    gx = rnn_input(x.reshape(B, x.shape[-1]), as_input(w_ih, name), _bias(b_ih, name), _bias(b_hh, name))
    h = rnn_step(gx, slice(None), h0, as_input(w_hh, name), nonlinearity)
    return h.reshape(H) if unb else h


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with tanh, as ``torch.rnn_tanh_cell``."""
    return _rnn_cell("rnn_tanh_cell", "tanh", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with ReLU, as ``torch.rnn_relu_cell``."""
    return _rnn_cell("rnn_relu_cell", "relu", input, hx, w_ih, w_hh, b_ih, b_hh)
