"""``odeint(..., adjoint=True)``: the gradient by the adjoint method (Chen et al. 2018, torchdiffeq's
``odeint_adjoint``), as one custom op whose backward integrates the augmented system backwards in time.

For ``L(y(t_0), ..., y(t_{K-1}))`` with cotangents ``g_k = dL/dy(t_k)``, the adjoint ``a(t) = dL/dy(t)`` obeys
``da/dt = -a^T df/dy`` between the output times and jumps by ``g_k`` at ``t_k``; along with it
``dp/dt = -a^T df/dp`` accumulates ``dL/dp`` for the parameters p (the tensors among ``args`` and those ``func``
reads from a closure) and ``-a^T df/dt`` the gradient for ``t_0``; ``dL/dt_k = g_k . f(y(t_k), t_k)`` for
k > 0. The state ``y`` is integrated backwards alongside (from the stored y(t_k) at each output time), so the
memory does not grow with the number of steps. The vector-Jacobian products come from ``npg.autograd.grad``
on one evaluation of ``func``. The backward integration uses the forward's method and tolerances, so the
gradient matches backpropagation through the solver to about the tolerance.
"""
import importlib

import numpy as np

from .._pytree import _unflatten
from ..autograd import engine
from ..autograd.function import Function
from ..autograd.grad_mode import _state, enable_grad
from ..tensor import Tensor, _leaf, _wrap
from . import _ode

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


class AdjointConfig:
    """What the op needs besides its Tensor inputs: ``func``, the flattened ``args`` and the solver options."""

    def __init__(self, func, leaves, spec, tfirst, shape, dtype, method, rtol, atol, h0, hmax, hmin, mxstep):
        self.func, self.leaves, self.spec, self.tfirst = func, leaves, spec, tfirst
        self.tensor_pos = [i for i, v in enumerate(leaves) if isinstance(v, Tensor)]
        self.shape, self.dtype, self.method = shape, dtype, method
        self.rtol, self.atol, self.h0, self.hmax, self.hmin, self.mxstep = rtol, atol, h0, hmax, hmin, mxstep
        self.info = None

    def rhs(self, leaves=None):
        args = _unflatten(self.leaves if leaves is None else leaves, self.spec)
        return _ode.Rhs(self.func, args, self.tfirst, self.shape, self.dtype, "odeint")


def closure_tensors(cfg, y0v, t0v):
    """The tensors requiring grad that ``func`` reads other than through its arguments (a closure, a Module's
    parameters): found in the graph of one evaluation on constant inputs."""
    seq0 = _tensor_mod._next_seq()
    rhs = cfg.rhs([_wrap(v.data) if isinstance(v, Tensor) else v for v in cfg.leaves])
    with enable_grad():
        out = rhs(t0v, _wrap(y0v))
    found, seen, todo = [], set(), [out] if out._requires_grad else []
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        seq = getattr(x, "_seq", None)
        if x._parents is not None and seq is not None and seq > seq0:
            todo.extend(p for p in x._parents if isinstance(p, Tensor) and p._requires_grad)
        else:
            found.append(x)
    return found


class OdeintAdjoint(Function):
    """y(t) for all t in one op: forward solves without a graph, backward solves the adjoint system."""

    @staticmethod
    def forward(ctx, cfg, y0, t, *params):
        tvals = np.asarray(t.data if isinstance(t, Tensor) else t, np.float64)
        ys, info = _ode.integrate_to_times(cfg.rhs(), y0, list(tvals), tvals, cfg.method, cfg.rtol, cfg.atol,
                                           cfg.h0, cfg.hmax, cfg.hmin, cfg.mxstep)
        cfg.info = info
        out = np.stack([_ode.val(y) for y in ys])
        ctx.cfg, ctx.ys, ctx.tvals, ctx.params = cfg, out, tvals, params
        ctx.t_meta = (np.shape(t.data), t.dtype) if isinstance(t, Tensor) else None
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        if _state.enabled:
            raise RuntimeError("odeint(adjoint=True): the adjoint gradient cannot be differentiated again "
                               "(create_graph=True); use adjoint=False (backpropagation through the solver)")
        return (None,) + adjoint_gradients(ctx, np.asarray(_ode.val(g), np.float64))


def adjoint_gradients(ctx, g):
    cfg, ys, tvals, params = ctx.cfg, ctx.ys, ctx.tvals, ctx.params
    needs = ctx.needs_input_grad
    need_y0, need_t, need_p = needs[1], needs[2], needs[3:]
    shape, dtype = cfg.shape, np.dtype(cfg.dtype)
    tdtype = np.empty(0, dtype).real.dtype
    n = int(np.prod(shape, dtype=np.int64))
    sel = [j for j, nd in enumerate(need_p) if nd]
    sizes = [params[j].size for j in sel]
    n_arg = len(cfg.tensor_pos)

    def vjp(tv, y, a):
        """f(y, t) and a^T df/dy, a^T df/dt, a^T df/dp (flat float64) at one point."""
        with enable_grad():
            y_ = _leaf(y.reshape(shape).astype(dtype), True)
            t_ = _leaf(np.asarray(tv, tdtype), need_t)
            leaves, inputs = list(cfg.leaves), [y_] + ([t_] if need_t else [])
            for j in sel:
                if j < n_arg:
                    leaves[cfg.tensor_pos[j]] = fresh = _leaf(params[j].data, True)
                    inputs.append(fresh)
                else:
                    inputs.append(params[j])
            f = cfg.rhs(leaves)(t_, y_)
            if f._requires_grad:
                gs = engine.grad([f], inputs, grad_outputs=[_wrap(a.reshape(shape).astype(dtype))],
                                 allow_unused=True, retain_graph=True)
            else:
                gs = [None] * len(inputs)
        flat = [np.zeros(x.data.size) if gr is None else np.asarray(_ode.val(gr), np.float64).ravel()
                for gr, x in zip(gs, inputs)]
        return np.asarray(f.data, np.float64).ravel(), flat

    class Augmented:
        nfe = 0

        def __call__(self, tv, z):
            self.nfe += 1
            f, flat = vjp(float(_ode.val(tv)), z[:n], z[n:2 * n])
            return np.concatenate([f] + [-v for v in flat])  # dy/dt = f, da/dt = -a^T df/dy...

    aug = Augmented()
    rtol, atol = float(np.min(cfg.rtol)), float(np.min(cfg.atol))
    K = len(tvals)
    gf = g.reshape(K, n)
    a = gf[-1].copy()
    at = 0.0
    ap = np.zeros(sum(sizes))
    tgrad = np.zeros(K)
    for i in range(K - 1, 0, -1):
        if need_t:
            f, _ = vjp(tvals[i], ys[i].ravel(), np.zeros(n))
            tgrad[i] = float(f @ gf[i])
            at -= tgrad[i]
        if tvals[i] != tvals[i - 1]:
            z0 = np.concatenate([ys[i].ravel().astype(np.float64), a, [at] if need_t else [], ap])
            zs, _ = _ode.integrate_to_times(aug, z0, [tvals[i], tvals[i - 1]], tvals[[i, i - 1]], cfg.method, rtol,
                                            atol, cfg.h0, cfg.hmax, cfg.hmin, cfg.mxstep,
                                            where="odeint(adjoint=True) backward", fail="raise")
            z = zs[-1]
            a = z[n:2 * n].copy()
            at = float(z[2 * n]) if need_t else 0.0
            ap = z[2 * n + (1 if need_t else 0):].copy()
        a = a + gf[i - 1]
    tgrad[0] = at
    gy0 = a.reshape(shape).astype(dtype) if need_y0 else None
    gt = None
    if need_t:
        tshape, tdt = ctx.t_meta
        gt = tgrad.reshape(tshape).astype(tdt)
    gp = [None] * len(params)
    off = 0
    for j, size in zip(sel, sizes):
        gp[j] = ap[off:off + size].reshape(params[j].shape).astype(params[j].dtype)
        off += size
    return (gy0, gt) + tuple(gp)


def odeint_adjoint(cfg, y0, t, tvals):
    """The solution at ``t`` through the adjoint op (y0, the tensors in args and t as its inputs)."""
    externals = closure_tensors(cfg, y0.data, tvals[0])
    params = [cfg.leaves[i] for i in cfg.tensor_pos] + externals
    return OdeintAdjoint.apply(cfg, y0, t, *params)
