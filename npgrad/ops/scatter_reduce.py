"""torch's ``scatter_reduce`` (``reduce`` in sum, prod, mean, amax, amin; ``include_self``), the reduction behind
``scatter(..., reduce='add' | 'multiply')`` too.

The forward pass is a sort-based segment reduction (``ufunc.reduceat`` over the source values sorted by the flat
position they go to), exact in every dtype. The gradients are torch's formulas (tools/autograd
``scatter_reduce_backward``), written with npgrad ops so that they are themselves differentiable:

* sum / mean: linear (``mean`` divides by the count of values reduced at each position, the input counting as
  one with ``include_self``);
* prod: the product of the other elements, computed as torch does so that zeros give the same values: the
  input's gradient is ``g * scatter_reduce(input with 1 for 0, ...) / (input with 1 for 0)``, a source element
  that is the only zero at its position gets the product with it replaced by 1, others ``g * out / src``. Where
  two sources or more are zero at one position the first derivative is right but torch refuses the second; so
  does npgrad (NotImplementedError when it is asked for);
* amax / amin: the gradient split evenly among the elements equal to the result. With ``include_self=False`` the
  input takes no part where an index writes (as torch's forward-mode rule; torch's backward also counts an input
  that equals the result there, which halves the sources' gradient in that one tie case). Where the result is
  NaN (equal to none of the values) every element reduced there gets a NaN gradient (torch's 0/0).

Forward mode (JVP): sum / mean on the tangents, amax / amin the mean of the tied elements' tangents (torch's
rule), prod the transpose of the VJP (torch.func.jvp returns zeros for prod).
"""
import numpy as np

from ..tensor import Tensor, _make, _wrap
from . import index as _index
from ._util import as_input, batching_rule
from .dim_index import _dim_key, _flat1, _same_dtype, _src_part

__all__ = ["scatter_reduce"]

_REDUCES = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


@batching_rule("scatter_reduce")   # input, index and src lifted to the batch: _vmap_gather.scatter_reduce_rule
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` where each ``src[i][j][k]`` is reduced into ``[i][index[i][j][k]][k]`` for ``dim=1``
    (and so on) with ``reduce`` ('sum', 'prod', 'mean', 'amax' or 'amin'), as ``torch.scatter_reduce``. With
    ``include_self`` the input's value there takes part in the reduction; positions no index names keep the
    input's value either way. Integer 'mean' rounds toward minus infinity, as torch."""
    x = as_input(input, "scatter_reduce")
    if reduce not in _REDUCES:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of 'sum', 'prod', 'mean', 'amax' or "
                           f"'amin', got {reduce!r}")
    _same_dtype(x, src, "scatter_reduce")
    s = src if isinstance(src, Tensor) else _wrap(np.asarray(src, dtype=x.dtype))
    key, idx = _dim_key(x, dim, index, "scatter_reduce", s)   # (0-d input / index / src: as 1-d of size 1)
    out = _keyed(_flat1(x), key, _src_part(s, idx, x, "scatter_reduce"), reduce, bool(include_self))
    return out.reshape(()) if x.ndim == 0 else out


class _Plan:
    """Where the source values go: their flat positions sorted, the segments of equal positions, the touched
    positions (a mask of the input's shape) and the number of values reduced into each position."""

    def __init__(self, shape, key):
        self.shape, self.key = shape, key
        size = int(np.prod(shape, dtype=np.int64))
        strides = np.cumprod((1,) + tuple(shape[::-1][:-1]), dtype=np.int64)[::-1] if shape else ()
        pos = sum((k.astype(np.int64) * int(st) for k, st in zip(key, strides)), np.zeros((), np.int64))
        pos = np.broadcast_to(pos, np.broadcast_shapes(*(k.shape for k in key))).ravel() if key else pos.ravel()
        self.order = np.argsort(pos, kind="stable")
        srt = pos[self.order]
        self.starts = np.flatnonzero(np.concatenate(([True], srt[1:] != srt[:-1]))) if srt.size else srt
        self.uniq = srt[self.starts]
        self.counts = np.diff(np.append(self.starts, srt.size))
        self.touched = np.zeros(size, dtype=bool)
        self.touched[self.uniq] = True
        self.touched = self.touched.reshape(shape)
        self.n = np.zeros(size, dtype=np.int64)
        self.n[self.uniq] = self.counts
        self.n = self.n.reshape(shape)

    def reduce(self, xd, pd, reduce, include_self):
        out = xd.copy()
        if not self.uniq.size:
            return out
        flat = out.reshape(-1)
        seg = _REDUCES[reduce].reduceat(pd.reshape(-1)[self.order], self.starts)
        old = flat[self.uniq]
        if reduce == "mean":
            n = self.counts + 1 if include_self else self.counts
            total = seg + old if include_self else seg
            flat[self.uniq] = (np.floor_divide(total, n) if xd.dtype.kind in "iub" else
                               total / n.astype(total.real.dtype))
        else:
            flat[self.uniq] = _REDUCES[reduce](old, seg) if include_self else seg
        return out


def _keyed(x, key, part, reduce, include_self):
    """The op on ``x`` and the source values ``part`` (the index's shape) at the NumPy key ``key``."""
    plan = _Plan(x.shape, key)
    return _apply(plan, x, part, reduce, include_self)


def _apply(plan, x, part, reduce, include_self):
    """The op with its plan: on arrays (a VJP's plain pass) an array, on Tensors a recorded Tensor."""
    if not isinstance(x, Tensor) and not isinstance(part, Tensor):
        return plan.reduce(np.asarray(x), np.asarray(part), reduce, include_self)
    x = x if isinstance(x, Tensor) else _wrap(np.asarray(x))
    part = part if isinstance(part, Tensor) else _wrap(np.asarray(part, dtype=x.dtype))
    out = plan.reduce(x.data, part.data, reduce, include_self)
    if x.dtype.kind not in "fc":
        return _wrap(out)
    rule = _RULES[reduce](plan, include_self)
    return _make(out, "scatter_reduce", (x, part), (x.data, part.data), rule[:2], rule[2])


def _data(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _excluded(plan, g, include_self):
    return g if include_self else np.where(plan.touched, 0, g)


def _sum_rule(plan, include_self):
    def jvp(tans, y, x, p):
        tx, tp = tans
        return _apply(plan, _zeros(y) if tx is None else tx, _zeros(p) if tp is None else tp, "sum", include_self)
    return (lambda g, y, x, p: _excluded(plan, g, include_self), lambda g, y, x, p: g[plan.key], jvp)


def _mean_rule(plan, include_self):
    def per(g):   # g divided by the number of values averaged at each position
        n = plan.n + 1 if include_self else np.maximum(plan.n, 1)
        return g / n.astype(_data(g).dtype)

    def jvp(tans, y, x, p):
        tx, tp = tans
        return _apply(plan, _zeros(y) if tx is None else tx, _zeros(p) if tp is None else tp, "mean", include_self)
    return (lambda g, y, x, p: _excluded(plan, per(g), include_self), lambda g, y, x, p: per(g)[plan.key], jvp)


def _extreme_rule(reduce):
    def rule(plan, include_self):
        def masks(y, x, p):
            """Where the input and the sources equal the result, and the number of them at each position: 0
            where the result is NaN (equal to nothing), so that the gradient there is 0/0 = NaN, as torch's."""
            yd = _data(y)
            ms = _data(x) == yd
            if not include_self:
                ms &= ~plan.touched
            mp = _data(p) == yd[plan.key]
            n = ms + _index.scatter_add(plan.shape, plan.key, mp.astype(np.int64))
            nan = n == 0   # (a NaN result)
            ms_or_nan = ms | nan if include_self else ms | (nan & ~plan.touched)
            return ms_or_nan, mp | nan[plan.key], np.where(nan, np.nan, np.maximum(n, 1)).astype(yd.dtype)

        def vjp_x(g, y, x, p):
            ms, mp, n = masks(y, x, p)
            return np.where(ms, g / n, 0)

        def vjp_p(g, y, x, p):
            ms, mp, n = masks(y, x, p)
            return np.where(mp, (g / n)[plan.key], 0)

        def jvp(tans, y, x, p):
            tx, tp = tans
            ms, mp, n = masks(y, x, p)
            out = 0
            if tx is not None:
                out = np.where(ms, tx, 0)
            if tp is not None:
                out = out + _index.scatter_add(plan.shape, plan.key, np.where(mp, tp, 0))
            return out / n
        return vjp_x, vjp_p, jvp
    return rule


def _prod_rule(plan, include_self):
    def factors(y, x, p):
        """The products of the other elements for the input and for the sources (torch's formulas), and the
        count of zero sources at each source's position."""
        masked_x = np.where(_data(x) == 0, 1, x)
        fx = _apply(plan, masked_x, p, "prod", include_self) / masked_x
        zero = _data(p) == 0
        nz = _index.scatter_add(plan.shape, plan.key, zero.astype(np.int64))[plan.key]
        single = zero & (nz == 1)
        masked_p_result = _apply(plan, x, np.where(single, 1, p), "prod", include_self)
        fp = np.where(single, masked_p_result[plan.key], y[plan.key] / np.where(zero, 1, p))
        return _excluded(plan, fx, include_self), fp, nz

    def vjp_x(g, y, x, p):
        return g * factors(y, x, p)[0]

    def vjp_p(g, y, x, p):
        _, fp, nz = factors(y, x, p)
        gp = g[plan.key] * fp
        if isinstance(gp, Tensor) and (nz > 1).any():
            return _refuse_second(gp)
        return gp

    def jvp(tans, y, x, p):
        tx, tp = tans
        fx, fp, _ = factors(y, x, p)
        out = 0
        if tx is not None:
            out = tx * fx
        if tp is not None:
            out = out + _index.scatter_add(plan.shape, plan.key, tp * fp)
        return out
    return vjp_x, vjp_p, jvp


def _refuse_second(t):
    """``t`` itself, whose derivative raises (torch's DelayedError for the same case)."""
    def refuse(*_):
        raise NotImplementedError("scatter_reduce(): the second derivative for src with reduce='prod' is not "
                                  "implemented when more than one zero of src is scattered to the same position "
                                  "(as in torch)")
    return _make(t.data, "scatter_reduce_backward", (t,), (None,), (refuse,), (refuse,))


def _zeros(like):
    return _wrap(np.zeros(np.shape(_data(like)), dtype=_data(like).dtype))


_RULES = {"sum": _sum_rule, "mean": _mean_rule, "prod": _prod_rule, "amax": _extreme_rule("amax"),
          "amin": _extreme_rule("amin")}


def _method(self, dim, index, src, reduce, *, include_self=True):
    return scatter_reduce(self, dim, index, src, reduce, include_self=include_self)


def attach(T, inplace):
    """``Tensor.scatter_reduce`` and its in-place form ``scatter_reduce_``."""
    T.scatter_reduce = _method
    T.scatter_reduce_ = inplace.method("scatter_reduce_", _method)
