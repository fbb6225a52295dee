"""Contractions: matmul (and dot/inner/outer/tensordot built on it or on einsum) and einsum.

Every forward is one BLAS-backed NumPy call; every VJP is another contraction.
"""
import functools
import importlib
import math
import string

import numpy as np

from ..autograd.grad_mode import _state
from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _record, _wrap
from ._util import batching_rule, data_of
from .elementwise import mul
from .shape import reshape

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


# ----------------------------------------------------------------------------- matmul
def _rows(x):
    """``x`` (..., k) as one (rows, k) matrix. The row count is spelled out: ``reshape(-1, k)``
    is ambiguous, and raises, when ``x`` is empty."""
    return x.reshape((math.prod(x.shape[:-1]), x.shape[-1]))


def _mm_grad_a(g, y, a, b):
    if a.ndim == 1 and b.ndim == 1:          # a . b is a scalar
        return g * b
    if b.ndim == 1:                          # (..., n, k) @ (k,) -> (..., n)
        return np.expand_dims(g, -1) * b
    if a.ndim == 1:                          # (k,) @ (..., k, m) -> (..., m)
        return np.matmul(b, np.expand_dims(g, -1))[..., 0]   # (..., k): the engine sums the batch dims
    if b.ndim == 2 and a.ndim > 2:           # (..., n, k) @ (k, m): one GEMM over all rows
        return np.matmul(_rows(g), b.swapaxes(-1, -2)).reshape(a.shape)
    return np.matmul(g, b.swapaxes(-1, -2))  # batch dims are summed back by the engine


def _mm_grad_b(g, y, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:                          # (k,) @ (..., k, m): outer product per batch
        return np.expand_dims(a, -1) * np.expand_dims(g, -2)
    if b.ndim == 1:                          # (..., n, k) @ (k,)
        return np.matmul(np.expand_dims(g, -2), a)[..., 0, :]  # (..., k): the engine sums the batch dims
    if b.ndim == 2 and a.ndim > 2:           # sum over all rows in one GEMM, not a (..., k, m) stack
        return np.matmul(_rows(a).swapaxes(-1, -2), _rows(g))
    return np.matmul(a.swapaxes(-1, -2), g)


_MM_VJPS = (_mm_grad_a, _mm_grad_b)
_MM_JVPS = (lambda t, y, a, b: matmul(t, b), lambda t, y, a, b: matmul(a, t))  # bilinear


def matmul(a, b, _op="matmul"):
    """Matrix product with NumPy's rules: 1-D operands get a dimension inserted then removed,
    batch dimensions broadcast. ``a @ b``."""
    if _tm._VMAP:
        r = _tm._vmap_call("matmul", matmul, (a, b), None)
        if r is not NotImplemented:
            return r
    ad = data_of(a, _op)
    bd = data_of(b, _op)
    sa, sb = np.shape(ad), np.shape(bd)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"{_op}: operands must be at least 1-D, got shapes {sa} and {sb} (use * for scalars)")
    try:
        if len(sb) == 2 and len(sa) > 2 and sa[-1] == sb[0]:  # (..., n, k) @ (k, m): one GEMM
            out = np.matmul(_rows(ad), bd).reshape(sa[:-1] + sb[1:])
        else:
            out = np.matmul(ad, bd)
    except ValueError:
        k_a, k_b = sa[-1], sb[-2 if len(sb) > 1 else 0]
        if k_a != k_b:
            why = f"the contracted dims differ ({k_a} vs {k_b})"
        else:
            why = f"the batch dims {sa[:-2]} and {sb[:-2]} do not broadcast"
        raise ValueError(f"{_op}: shapes {sa} and {sb} are not aligned: {why}") from None
    return _make(out, "matmul", (a, b), (ad, bd), _MM_VJPS, _MM_JVPS)


_versions.reads("matmul", "b", "a")


@batching_rule("contraction")
def dot(a, b):
    """``np.dot``: matmul for 1-D/2-D operands; for N-D, a sum over the last axis of ``a`` and
    the second-to-last of ``b``; multiplication when either is a scalar."""
    ad, bd = data_of(a, "dot"), data_of(b, "dot")
    na, nb = np.ndim(ad), np.ndim(bd)
    if na == 0 or nb == 0:
        return mul(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b, _op="dot")
    return _tensordot(a, b, ([na - 1], [nb - 2 if nb > 1 else 0]), "dot")


@batching_rule("contraction")
def inner(a, b):
    """``np.inner``: sum over the last axes of ``a`` and ``b``."""
    na, nb = np.ndim(data_of(a, "inner")), np.ndim(data_of(b, "inner"))
    if na == 0 or nb == 0:
        return mul(a, b)
    return _tensordot(a, b, ([na - 1], [nb - 1]), "inner")


def outer(a, b):
    """``np.outer``: the outer product of the flattened inputs."""
    a = reshape(a, -1, 1) if isinstance(a, Tensor) else np.reshape(a, (-1, 1))
    b = reshape(b, 1, -1) if isinstance(b, Tensor) else np.reshape(b, (1, -1))
    return mul(a, b)


@batching_rule("contraction")
def tensordot(a, b, axes=2):
    """``np.tensordot``: sum products over the given axes (an int ``n`` means the last ``n`` of
    ``a`` with the first ``n`` of ``b``; or a pair of axis lists)."""
    return _tensordot(a, b, axes, "tensordot")


def _tensordot(a, b, axes, op):
    sa_, sb_ = np.shape(data_of(a, op)), np.shape(data_of(b, op))
    na, nb = len(sa_), len(sb_)
    if isinstance(axes, (int, np.integer)):
        if axes < 0 or axes > min(na, nb):
            raise ValueError(f"{op}: axes={axes} is invalid for operands of shapes {sa_} and {sb_}")
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise ValueError(f"{op}: axes must be an int or a pair of axis lists, not {axes!r}") from None
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError(f"{op}: the axes lists {ax_a} and {ax_b} must have the same length")
        for ax, n, shp in ((ax_a, na, sa_), (ax_b, nb, sb_)):
            for i in ax:
                if not -n <= i < n:
                    raise np.exceptions.AxisError(f"{op}: axis {i} is out of bounds for an operand of shape {shp}")
            if len({i % n for i in ax}) != len(ax):
                raise ValueError(f"{op}: repeated axis in {ax} (operand of shape {shp})")
    for i, j in zip(ax_a, ax_b):
        if sa_[i] != sb_[j]:
            raise ValueError(f"{op}: shapes {sa_} and {sb_} are not aligned: axis {i % na} of the first has size "
                             f"{sa_[i]} but axis {j % nb} of the second has size {sb_[j]}")
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
    """Explicit per-operand letter lists, the output letters and each letter's size.

    '...' is expanded into letters (right-aligned across operands, as NumPy broadcasts them).
    A dimension of size 1 that broadcasts against a larger one with the same letter (or the same
    '...' position) gets a letter of its own in that operand, so it is summed over in forward
    and the gradient of that operand sums over the broadcast.
    """
    where = f"einsum: {subscripts!r}"
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, rhs = subscripts.split("->", 1)
        if "->" in rhs:
            raise ValueError(f"{where}: more than one '->'")
    else:
        lhs, rhs = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{where}: {len(terms)} operand subscript(s) for {len(shapes)} operand(s)")
    for t in terms + ([rhs] if rhs is not None else []):
        if t.count("...") > 1:
            raise ValueError(f"{where}: more than one '...' in the subscript {t!r}")
        body = t.replace("...", "")
        bad = [c for c in body if c not in _LETTERS]
        if bad:
            raise ValueError(f"{where}: invalid character {bad[0]!r} in the subscript {t!r} "
                             f"(only letters a-z, A-Z, ',', '->' and '...' are allowed)")
    used = set(lhs.replace("...", "").replace(",", "")) | set((rhs or "").replace("...", ""))
    free = iter(c for c in _LETTERS if c not in used)

    def fresh():
        c = next(free, None)
        if c is None:
            raise ValueError(f"{where}: too many distinct dimensions (einsum has 52 letters)")
        return c

    # how many dims each '...' stands for (right-aligned across operands)
    ell_ndim = 0
    n_ell = []
    for t, shape in zip(terms, shapes):
        n_explicit = len(t.replace("...", ""))
        if "..." in t:
            k = len(shape) - n_explicit
            if k < 0:
                raise ValueError(f"{where}: the subscript {t!r} has {n_explicit} letters for an operand of "
                                 f"shape {shape}")
            n_ell.append(k)
            ell_ndim = max(ell_ndim, k)
        else:
            if n_explicit != len(shape):
                raise ValueError(f"{where}: the subscript {t!r} has {n_explicit} letters for an operand of "
                                 f"shape {shape}")
            n_ell.append(None)
    ell_letters = [fresh() for _ in range(ell_ndim)]

    inputs = []
    for t, k in zip(terms, n_ell):
        if k is None:
            inputs.append(list(t))
        else:
            pre, post = t.split("...")
            inputs.append(list(pre) + ell_letters[ell_ndim - k:] + list(post))

    # sizes: equal within one operand; across operands a size 1 broadcasts
    sizes = {}
    for t, shape, term in zip(inputs, shapes, terms):
        mine = {}
        for c, n in zip(t, shape):
            if mine.setdefault(c, n) != n:
                raise ValueError(f"{where}: the letter {c!r} is repeated in {term!r} with different sizes "
                                 f"{mine[c]} and {n} (operand of shape {shape})")
        for c, n in mine.items():
            m = sizes.get(c, 1)
            if n != 1 and m != 1 and n != m:
                what = "a '...' dimension" if c in ell_letters else f"the letter {c!r}"
                raise ValueError(f"{where}: {what} has sizes {m} and {n} for operands of shapes "
                                 f"{[tuple(s) for s in shapes]}")
            sizes[c] = n if c not in sizes or m == 1 else m
    for i, (t, shape) in enumerate(zip(inputs, shapes)):
        renamed = {}
        for c, n in zip(t, shape):
            if n == 1 and sizes[c] != 1 and c not in renamed:
                renamed[c] = fresh()
                sizes[renamed[c]] = 1
        if renamed:
            inputs[i] = [renamed.get(c, c) for c in t]

    if rhs is None:  # implicit output: '...' then the letters seen once, in alphabetical order
        counts = {}
        for c in lhs.replace("...", "").replace(",", ""):
            counts[c] = counts.get(c, 0) + 1
        output = ell_letters + sorted(c for c, n in counts.items() if n == 1)
    else:
        letters = rhs.replace("...", "")
        if len(set(letters)) != len(letters):
            raise ValueError(f"{where}: the output subscript {rhs!r} repeats a letter")
        given = set(lhs.replace("...", ""))
        for c in letters:
            if c not in given:
                raise ValueError(f"{where}: the output letter {c!r} appears in no operand")
        if "..." in rhs:
            pre, post = rhs.split("...")
            output = list(pre) + ell_letters + list(post)
        else:
            if ell_ndim:
                raise ValueError(f"{where}: the operands have '...' dimensions but the output has no '...' "
                                 f"(as in NumPy, write '...' in the output)")
            output = list(rhs)
    return inputs, output, sizes


_path_cache = {}


def _contract(spec, *operands, optimize="greedy"):
    """``np.einsum`` with a contraction order found once per (subscripts, shapes) and reused. Tensor operands (a
    ``create_graph`` VJP, a JVP) go through :func:`einsum`: recorded, and batched by its rule under vmap."""
    if any(isinstance(o, Tensor) for o in operands):
        return einsum(spec, *operands, optimize=optimize)
    key = (spec, optimize) + tuple(np.shape(o) for o in operands)
    path = _path_cache.get(key)
    if path is None:
        if len(operands) >= 2:
            path = np.einsum_path(spec, *operands, optimize=optimize)[0]
        else:
            path = False
        if len(_path_cache) > 512:
            _path_cache.clear()
        _path_cache[key] = path
    return _np_einsum(spec, operands, path)


def _np_einsum(spec, datas, optimize):
    """``np.einsum``; float16 operands contract in float32 and the result is cast back, as torch accumulates (NumPy's
    float16 einsum adds in float16: ``'ij->j'`` over 70,000 rows was 6% off)."""
    if np.result_type(*datas) == np.float16:
        return np.einsum(spec, *(np.asarray(d, np.float32) for d in datas), optimize=optimize).astype(np.float16)
    return np.einsum(spec, *datas, optimize=optimize)


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
            extra_ops.append(("eye", sizes[c]))
        else:
            seen[c] = True
            target.append(c)
            if c not in elsewhere:          # summed only within operand k
                extra_terms.append(c)
                extra_ops.append(("ones", sizes[c]))
    terms = ["".join(output)] + ["".join(t) for i, t in enumerate(inputs) if i != k] + extra_terms
    spec = ",".join(terms) + "->" + "".join(target)

    def vjp(g, y, *operands):
        others = [o for i, o in enumerate(operands) if i != k]
        ops = [np.eye(n, dtype=g.dtype) if kind == "eye" else np.ones(n, dtype=g.dtype) for kind, n in extra_ops]
        return _contract(spec, g, *others, *ops)
    return vjp


@batching_rule("einsum")
def einsum(subscripts, *operands, optimize="greedy"):
    """``np.einsum`` for every form NumPy accepts (explicit or implicit output, '...', repeated
    letters, size-1 dims that broadcast, one or many operands), differentiable in each operand.

    ``optimize`` is NumPy's: ``"greedy"`` (or True, the default here), ``"optimal"``, False, a
    ``(strategy, memory limit)`` pair or a path from ``np.einsum_path``; the contraction order is found
    once per subscripts and shapes and reused. The gradient of each operand is itself one einsum (of the
    output gradient with the other operands).
    """
    if not isinstance(subscripts, str):
        raise TypeError("einsum: only the subscripts-string form is supported, e.g. einsum('ij,jk->ik', a, b)")
    explicit_path = isinstance(optimize, (list, tuple)) and optimize[:1] in (["einsum_path"], ("einsum_path",))
    limited = (isinstance(optimize, tuple) and len(optimize) == 2 and optimize[0] in ("greedy", "optimal")
               and isinstance(optimize[1], (int, float, np.integer, np.floating)))  # NumPy's (strategy, max size)
    if optimize is True:
        optimize = "greedy"
    elif not explicit_path and not limited and optimize not in (False, "greedy", "optimal"):
        raise ValueError(f"einsum: optimize must be True, False, 'greedy', 'optimal', (strategy, memory limit) or "
                         f"an einsum_path list, not {optimize!r}")
    datas = [data_of(o, "einsum") for o in operands]
    shapes = [np.shape(d) for d in datas]
    inputs, output, sizes = _parse(subscripts, shapes)
    spec = ",".join("".join(t) for t in inputs) + "->" + "".join(output)
    try:
        if explicit_path or not optimize:
            out = _np_einsum(spec, datas, optimize)
        else:
            out = _contract(spec, *datas, optimize=optimize)
    except ValueError as e:
        raise ValueError(f"einsum: {subscripts!r} does not fit operands of shapes {shapes}: {e}") from None
    if not (_state.enabled and any(isinstance(o, Tensor) and o._requires_grad for o in operands)):
        if _tensor_mod._FW:  # forward AD: tangents, no graph
            return _make(out, "einsum", tuple(operands), tuple(datas), None, _einsum_jvps(spec, len(operands)))
        return _wrap(out)
    vjps = tuple(_einsum_vjp(k, inputs, output, sizes) for k in range(len(operands)))
    return _record(out, "einsum", tuple(operands), tuple(datas), vjps, _einsum_jvps(spec, len(operands)))


# einsum's VJP for operand k reads the other operands, not its own nor the output (as torch's); declared for as
# many operands as autograd/versions.py has letters, and an operand past those is checked on every value
_versions.reads("einsum", *(_versions._LETTERS.replace(c, "") for c in _versions._LETTERS))


@functools.lru_cache(maxsize=256)
def _einsum_jvps(spec, n):
    """einsum is linear in each operand: the JVP for operand ``k`` is the same einsum with its tangent there."""
    def make(k):
        return lambda t, y, *ops: _contract(spec, *(t if i == k else o for i, o in enumerate(ops)))
    return tuple(make(k) for k in range(n))
