"""Contractions: matmul (and dot/inner/outer/tensordot built on it or on einsum) and einsum.

Every forward is one BLAS-backed NumPy call; every VJP is another contraction.
"""
import string

import numpy as np

from ..tensor import Tensor, _make
from ._util import data_of
from .shape import reshape


# ----------------------------------------------------------------------------- matmul
def _mm_grad_a(g, y, a, b):
    if a.ndim == 1 and b.ndim == 1:          # a . b is a scalar
        return g * b
    if b.ndim == 1:                          # (..., n, k) @ (k,) -> (..., n)
        return np.expand_dims(g, -1) * b
    if a.ndim == 1:                          # (k,) @ (..., k, m) -> (..., m)
        ga = np.matmul(b, np.expand_dims(g, -1))[..., 0]      # (..., k)
        return ga.reshape((-1, a.shape[0])).sum(axis=0) if ga.ndim > 1 else ga
    return np.matmul(g, b.swapaxes(-1, -2))  # batch dims are summed back by the engine


def _mm_grad_b(g, y, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:                          # (k,) @ (..., k, m): outer product per batch
        return np.expand_dims(a, -1) * np.expand_dims(g, -2)
    if b.ndim == 1:                          # (..., n, k) @ (k,)
        gb = np.matmul(np.expand_dims(g, -2), a)[..., 0, :]   # (..., k)
        return gb.reshape((-1, b.shape[0])).sum(axis=0) if gb.ndim > 1 else gb
    return np.matmul(a.swapaxes(-1, -2), g)


_MM_VJPS = (_mm_grad_a, _mm_grad_b)


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands get a dimension inserted then removed,
    batch dimensions broadcast. ``a @ b``."""
    ad = data_of(a, "matmul")
    bd = data_of(b, "matmul")
    if np.ndim(ad) == 0 or np.ndim(bd) == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {np.shape(ad)} and {np.shape(bd)} "
                         f"(use * for scalars)")
    try:
        out = np.matmul(ad, bd)
    except ValueError:
        raise ValueError(f"matmul: shapes {np.shape(ad)} and {np.shape(bd)} are not aligned "
                         f"(contracted dims {np.shape(ad)[-1]} and {np.shape(bd)[-2 if np.ndim(bd) > 1 else 0]}, "
                         f"or batch dims do not broadcast)") from None
    return _make(out, "matmul", (a, b), (ad, bd), _MM_VJPS)


def dot(a, b):
    """``np.dot``: matmul for 1-D/2-D operands; for N-D, a sum over the last axis of ``a`` and
    the second-to-last of ``b``; multiplication when either is a scalar."""
    ad, bd = data_of(a, "dot"), data_of(b, "dot")
    na, nb = np.ndim(ad), np.ndim(bd)
    if na == 0 or nb == 0:
        from .elementwise import mul
        return mul(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2 if nb > 1 else 0]))


def inner(a, b):
    """``np.inner``: sum over the last axes of ``a`` and ``b``."""
    na, nb = np.ndim(data_of(a, "inner")), np.ndim(data_of(b, "inner"))
    if na == 0 or nb == 0:
        from .elementwise import mul
        return mul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a, b):
    """``np.outer``: the outer product of the flattened inputs."""
    from .elementwise import mul
    a = reshape(a, -1, 1) if isinstance(a, Tensor) else np.reshape(a, (-1, 1))
    b = reshape(b, 1, -1) if isinstance(b, Tensor) else np.reshape(b, (1, -1))
    return mul(a, b)


def tensordot(a, b, axes=2):
    """``np.tensordot``: sum products over the given axes (an int ``n`` means the last ``n`` of
    ``a`` with the first ``n`` of ``b``)."""
    na, nb = np.ndim(data_of(a, "tensordot")), np.ndim(data_of(b, "tensordot"))
    if isinstance(axes, int):
        if axes < 0 or axes > min(na, nb):
            raise ValueError(f"tensordot: axes={axes} is invalid for operands of rank {na} and {nb}")
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError("tensordot: axes lists must have the same length")
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b):
        sb[j % nb] = sa[i % na]
    contracted = {sa[i % na] for i in ax_a}
    out = [c for c in sa if c not in contracted] + [c for c in sb if c not in contracted]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


# ----------------------------------------------------------------------------- einsum
_LETTERS = string.ascii_letters


def _parse(subscripts, shapes):
    """Explicit per-operand letter lists and the output letters, with '...' expanded.

    An ellipsis dimension of size 1 that broadcasts against a larger one gets a letter of its
    own in that operand, so the gradient of the size-1 operand sums over the broadcast.
    """
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, rhs = subscripts.split("->")
        if "->" in rhs:
            raise ValueError(f"einsum: more than one '->' in {subscripts!r}")
    else:
        lhs, rhs = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} operand subscripts in {subscripts!r} for {len(shapes)} operands")
    for t in terms + ([rhs] if rhs is not None else []):
        body = t.replace("...", "")
        if "." in body or any(c not in _LETTERS for c in body):
            raise ValueError(f"einsum: invalid subscript {t!r} in {subscripts!r} (letters and '...' only)")
    used = set(lhs.replace("...", "").replace(",", ""))
    free = iter(c for c in _LETTERS if c not in used)

    # ellipsis dims: broadcast shape, right-aligned
    ell_ndim = 0
    ell_shapes = []
    for t, shape in zip(terms, shapes):
        n_explicit = len(t.replace("...", ""))
        if "..." in t:
            k = len(shape) - n_explicit
            if k < 0:
                raise ValueError(f"einsum: operand of shape {shape} has fewer dims than subscript {t!r}")
            ell_shapes.append(shape[t.index("..."):t.index("...") + k])
            ell_ndim = max(ell_ndim, k)
        else:
            if n_explicit != len(shape):
                raise ValueError(f"einsum: subscript {t!r} has {n_explicit} letters for an operand of shape {shape}")
            ell_shapes.append(None)
    try:
        ell_shape = np.broadcast_shapes(*[s for s in ell_shapes if s is not None]) if ell_ndim else ()
    except ValueError:
        raise ValueError(f"einsum: the '...' dims {[s for s in ell_shapes if s is not None]} do not broadcast") from None
    ell_letters = [next(free) for _ in range(ell_ndim)]

    inputs = []
    for t, es in zip(terms, ell_shapes):
        if es is None:
            inputs.append(list(t))
            continue
        pre, post = t.split("...")
        letters = ell_letters[ell_ndim - len(es):]
        letters = [next(free) if n == 1 and ell_shape[ell_ndim - len(es) + i] != 1 else c
                   for i, (c, n) in enumerate(zip(letters, es))]
        inputs.append(list(pre) + letters + list(post))

    if rhs is None:  # implicit output: '...' then the letters seen once, in alphabetical order
        counts = {}
        for c in lhs.replace("...", "").replace(",", ""):
            counts[c] = counts.get(c, 0) + 1
        output = ell_letters + sorted(c for c, n in counts.items() if n == 1)
    else:
        if "..." in rhs:
            pre, post = rhs.split("...")
            output = list(pre) + ell_letters + list(post)
        else:
            if ell_ndim and any(n != 1 for n in ell_shape):
                raise ValueError(f"einsum: output subscript {rhs!r} has no '...' for broadcast dims {ell_shape}")
            output = list(rhs)
        seen = set(c for t in inputs for c in t)
        for c in rhs.replace("...", ""):
            if c not in seen:
                raise ValueError(f"einsum: output letter {c!r} in {subscripts!r} appears in no operand")
        if len(set(rhs.replace("...", ""))) != len(rhs.replace("...", "")):
            raise ValueError(f"einsum: output subscript {rhs!r} repeats a letter")

    sizes = {}
    for t, shape in zip(inputs, shapes):
        for c, n in zip(t, shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} has sizes {sizes[c]} and {n} in {subscripts!r} "
                                 f"for operands of shapes {list(shapes)}")
    return inputs, output, sizes


_path_cache = {}


def _contract(spec, *operands):
    """``np.einsum`` with a contraction order found once per (subscripts, shapes) and reused."""
    key = (spec,) + tuple(np.shape(o) for o in operands)
    path = _path_cache.get(key)
    if path is None:
        if len(operands) >= 2:
            path = np.einsum_path(spec, *[o.data if isinstance(o, Tensor) else o for o in operands],
                                  optimize="greedy")[0]
        else:
            path = False
        if len(_path_cache) > 512:
            _path_cache.clear()
        _path_cache[key] = path
    return np.einsum(spec, *operands, optimize=path)


def _einsum_vjp(k, inputs, output, sizes):
    """The VJP for operand ``k``: one einsum of ``g`` with the other operands.

    A letter repeated inside operand ``k`` (a diagonal) is written back to that diagonal with
    an identity matrix; a letter only operand ``k`` has (summed away in forward) comes back
    through a vector of ones.
    """
    mine = inputs[k]
    elsewhere = set(output).union(*[set(t) for i, t in enumerate(inputs) if i != k])
    target = []
    extra_terms = []
    extra_ops = []
    seen = {}
    used = set(c for t in inputs for c in t) | set(output)
    fresh = iter(c for c in _LETTERS if c not in used)
    for c in mine:
        if c in seen:                       # repeated letter: a diagonal of an identity
            d = next(fresh)
            target.append(d)
            extra_terms.append(c + d)
            extra_ops.append(np.eye(sizes[c]))
        else:
            seen[c] = True
            target.append(c)
            if c not in elsewhere:          # summed only within operand k
                extra_terms.append(c)
                extra_ops.append(np.ones(sizes[c]))
    terms = ["".join(output)] + ["".join(t) for i, t in enumerate(inputs) if i != k] + extra_terms
    spec = ",".join(terms) + "->" + "".join(target)

    def vjp(g, y, *operands):
        others = [o for i, o in enumerate(operands) if i != k]
        ops = [np.asarray(e, dtype=g.dtype) for e in extra_ops]
        return _contract(spec, g, *others, *ops)
    return vjp


def einsum(subscripts, *operands, optimize=True):
    """``np.einsum`` for every form NumPy accepts (explicit or implicit output, '...', repeated
    letters, one or many operands), differentiable in each operand."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum: only the subscripts-string form is supported, e.g. einsum('ij,jk->ik', a, b)")
    datas = [data_of(o, "einsum") for o in operands]
    shapes = [np.shape(d) for d in datas]
    inputs, output, sizes = _parse(subscripts, shapes)
    spec = ",".join("".join(t) for t in inputs) + "->" + "".join(output)
    try:
        out = _contract(spec, *datas) if optimize else np.einsum(spec, *datas)
    except ValueError as e:
        raise ValueError(f"einsum: {subscripts!r} does not fit operands of shapes {shapes}: {e}") from None
    vjps = tuple(_einsum_vjp(k, inputs, output, sizes) for k in range(len(operands)))
    return _make(out, "einsum", tuple(operands), tuple(datas), vjps)
