"""``vjp`` and ``jvp`` called inside ``vmap``, run as ONE batched transform instead of a per-sample loop.

Inside vmap the samples are independent, so the VJP (JVP) of ``f`` on the inner values (batch axis in front)
with the batch of cotangents (tangents) is every sample's own VJP (JVP). The primals are lifted to the batch at
the innermost active vmap level (batched ones unwrapped, unbatched ones repeated so that each sample has its own
gradient), ``f`` runs on them rewrapped as batched tensors (so its ops dispatch to their batching rules), and
the results come back batched at that level. Used by ``func.vjp`` and ``func_forward.jvp`` when vmap is active
and a primal (or tangent) is batched; a ``vjp_fn`` of unbatched primals called with batched cotangents records
its backward pass, whose ops batch (``func.vjp``).
"""
import numpy as np

from . import func_vmap as fv
from .tensor import Tensor, _wrap


def _per_sample_fn(f, flags, level, size, has_aux, where):
    """``f`` on the lifted inner arguments: the arguments rewrapped as batched at ``level``, the result (and
    ``aux``) unwrapped back to batch-first inner tensors, for one batched vjp/jvp over the whole batch."""
    def g(*ia):
        res = f(*fv._rewrap(ia, flags, level))
        if not has_aux:
            return fv._unwrap_out(res, level, size)
        if not isinstance(res, tuple) or len(res) != 2:
            raise RuntimeError(f"{where}(has_aux=True): f must return a tuple (output, aux)")
        return fv._unwrap_out(res[0], level, size), fv._unwrap_out(res[1], level, size)
    return g


def _level_and_size(trees):
    """The innermost level at which an input is batched, and its batch size ((0, None) if none is)."""
    lv = fv.batched_level(trees)
    return (lv, fv._size_at(trees, lv)) if lv else (0, None)


def _lift(x, level, size):
    """A leaf at ``level`` with the batch in front (a batched value's inner, else ``x`` repeated)."""
    if type(x) is fv.BatchedTensor and x._level == level:
        return x._inner
    if not isinstance(x, Tensor):
        x = _wrap(np.asarray(x))
    return fv._expand(x, size)


def vjp(f, primals, has_aux):
    """``func.vjp(f, *primals)`` inside vmap as one batched VJP; None when no primal is batched."""
    from . import func as fn
    level, size = _level_and_size(primals)
    if not level:
        return None
    inner, flags = fv._lift_args(primals, tuple(range(len(primals))), level, size)

    res = fn.vjp(_per_sample_fn(f, flags, level, size, has_aux, "vjp"), *inner, has_aux=has_aux)
    value, inner_fn = res[0], res[1]

    def vjp_fn(cotangents):
        leaves, spec = fn._flatten(cotangents)
        lifted = [_lift(c, level, size) if isinstance(c, (Tensor, np.ndarray, float, int)) else c for c in leaves]
        return fv._wrap_out(inner_fn(fn._unflatten(lifted, spec)), level)

    if has_aux:
        return fv._wrap_out(value, level), vjp_fn, fv._wrap_out(res[2], level)
    return fv._wrap_out(value, level), vjp_fn


def jvp(f, primals, tangents, has_aux):
    """``func.jvp(f, primals, tangents)`` inside vmap as one batched JVP; None when nothing is batched."""
    from . import func as fn
    from . import func_forward as ff
    level, size = _level_and_size((list(primals), list(tangents)))
    if not level:
        return None
    inner_p, flags = fv._lift_args(primals, tuple(range(len(primals))), level, size)
    inner_t = []
    for t in tangents:
        leaves, spec = fn._flatten(t)
        inner_t.append(fn._unflatten([_lift(x, level, size) if isinstance(x, (Tensor, np.ndarray, float))
                                      else x for x in leaves], spec))

    res = ff.jvp(_per_sample_fn(f, flags, level, size, has_aux, "jvp"), tuple(inner_p), tuple(inner_t),
                 has_aux=has_aux)
    return tuple(fv._wrap_out(r, level) for r in res)
