"""Batching rules of the SciPy solvers in ``npg.linalg`` (``solve_triangular``, ``lu_solve``): ops natively batched
over leading dimensions whose first argument is a matrix or a tuple holding one (``(lu, piv)``) and whose second,
``b``, is a vector when 1-D. Registered by ``_vmap_rules.py``."""
from ._vmap_rules import _bind, _ops, _sample_error, loop_rule
from .func_vmap import _at, _batched, _flatten, _pad
from .tensor import Tensor, _wrap

import numpy as np


def ab_rule(op, level, args, kwargs):
    """``op(a_or_tuple, b, ...)``: the batch axis of every batched operand to the front, and singleton axes after
    it so the per-sample stack dimensions broadcast; a batched vector ``b`` becomes a column (squeezed again)."""
    ba = _bind(op, args, kwargs)
    names = list(ba.arguments)
    first, b = ba.arguments[names[0]], ba.arguments[names[1]]
    if any(_at(x, level)[1] for x in _flatten([ba.arguments[k] for k in names[2:]])[0]):
        return loop_rule(op, level, args, kwargs)   # a batched option: per sample
    parts = list(first) if isinstance(first, tuple) else [first]
    a = parts[0]
    if not hasattr(a, "shape") or not hasattr(b, "shape") or a.ndim < 2 or b.ndim < 1:
        return _sample_error(op, level, args, kwargs)
    vec = b.ndim == 1
    ka, kb = a.ndim - 2, 0 if vec else b.ndim - 2
    k = max(ka, kb)
    new = []
    for p in parts:
        ip, batched = _at(p, level)
        new.append(_pad(ip, k - ka) if batched else ip)
    ib, bat_b = _at(b, level)
    if bat_b:
        if vec:
            ib = _ops().expand_dims(ib if isinstance(ib, Tensor) else _wrap(np.asarray(ib)), -1)
        ib = _pad(ib, k - kb)
    ba.arguments[names[0]] = tuple(new) if isinstance(first, tuple) else new[0]
    ba.arguments[names[1]] = ib
    out = op(*ba.args, **ba.kwargs)
    if vec and bat_b:
        out = _ops().reshape(out, out.shape[:-1])
    return _batched(out, level)


def matrices_rule(op, level, args, kwargs):
    """Ops over several stacks of matrices whose leading dimensions broadcast (``solve_sylvester``, the matrix
    functions' Fréchet derivatives): each batched operand's batch axis to the front, singleton axes after it so
    the per-sample stack dimensions line up; the unbatched operands broadcast against them as they are.
    Keyword arguments and non-array arguments must not be batched (else per sample)."""
    if any(_at(v, level)[1] for v in _flatten((list(kwargs.values()),))[0]):
        return loop_rule(op, level, args, kwargs)
    mats = [x for x in args if hasattr(x, "shape")]
    if any(x.ndim < 2 for x in mats):
        return _sample_error(op, level, args, kwargs)
    k = max(x.ndim - 2 for x in mats)
    new = []
    for x in args:
        ix, batched = _at(x, level)
        new.append(_pad(ix, k - (x.ndim - 2)) if batched else ix)
    return _batched(op(*new, **kwargs), level)


RULES = {"linalg_ab": ab_rule, "linalg_matrices": matrices_rule}
