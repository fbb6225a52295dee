"""The recurrent layers' shared pieces (npgrad/nn/functional/recurrent.py): the input projection
(``rnn_input``, ``projection``, ``step_inputs``), recording a step (``_record_step``) and its gradients'
bookkeeping, and ``rnn_gather``, which copies blocks of the step outputs into the layer output."""
import numpy as np

from ...autograd import versions as _versions
from ...autograd.lazy_grads import Scatter
from ...ops._join_vjps import MANY, NOTHING
from ...ops._util import grad_sum
from ...ops.index import scatter_add
from ...tensor import _make, _wrap
from ._common import _is_graph

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
        return grad_sum(g, 0)

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
        pshape = parents[k].data.shape

        def vjp(g, y, *args):
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
    # many parents (a layer's steps): save nothing, as a join of many inputs (ops/_join_vjps.py), since the engine
    # hands every VJP the saved values unpacked: T steps' outputs gathered cost O(T^2) in backward
    saved = tuple(p.data for p in parents) if len(parents) <= MANY else NOTHING
    return _make(out, "rnn_gather", tuple(parents), saved, tuple(make_vjp(k) for k in range(len(parents))), jvp)


# What the VJPs read (npgrad/autograd/versions.py). Cells: values (gx, state, w_hh, extra); hoisted layer steps:
# (gx, state, extra, w_hh), w_hh saved last though not a parent. Only the Elman step reads its own output.
for _name, _reads in (("rnn_input", ("b", "a", "", "", "")), ("lstm_cell", ("bd", "bcd", "bd", "")),
                      ("gru_step", ("b", "bc", "b", "b")), ("rnn_cell", ("y", "yc", "yb")),
                      ("lstm_step", ("bcd",)), ("rnn_step", ("ybc",)), ("rnn_gather", ("",))):
    _versions.reads(_name, *_reads)
