"""NumPy's legacy polynomial functions (``np.polyval``, ``np.polyfit``, ``np.roots``...; coefficients highest
power first), differentiable.

Every function is a composite of existing ops written step by step as NumPy's own code (Horner's rule,
the zero-padded sums, ``convolve``, the long division, ``cumprod`` for ``vander``, a least-squares solve
through ``pinv`` for ``polyfit``, the eigenvalues of the companion matrix for ``roots``), so the values and
dtypes are NumPy's and the gradients, forward-mode rules and vmap batching come from those ops.

NumPy trims polynomials by their values (``roots`` strips leading and trailing zeros, ``polydiv`` drops the
remainder's leading near-zeros, ``poly`` returns real coefficients when the roots come in conjugate pairs).
Those decisions read the values and are not differentiated; under ``vmap`` every sample must agree on them
(the results would otherwise differ in shape or dtype), or a ValueError says so.
"""
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import ones_like, zeros_like
from ..tensor import Tensor, _wrap
from ._util import all_values, as_input
from .complex import conj, real
from .contract import matmul
from .elementwise import sqrt
from .reduce import cumprod, sum as _sum
from .shape import astype, broadcast_to, concatenate, flip, reshape

__all__ = ["poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul", "polysub", "polyval", "roots",
           "vander"]


def _arr(x, op):
    return x if isinstance(x, Tensor) else as_input(x, op)


def _atleast_1d(x, op):
    x = _arr(x, op)
    return reshape(x, (1,)) if x.ndim == 0 else x


def _const(shape, dtype, value=0):
    return _wrap(np.full(shape, value, dtype=dtype))


def _len(x, op):
    if x.ndim == 0:
        raise TypeError(f"{op}: a 0-d array has no length (coefficients must be a sequence, highest power first)")
    return x.shape[0]


def _same_in_every_sample(x, decide, op, what, generic):
    """``decide(values)`` for one sample; inside vmap, for every sample, which must all agree (else the result's
    shape or dtype would differ between samples); ``generic``, the answer for values in general position, when
    a vmap has no samples at all."""
    vals = all_values(x)
    extra = vals.ndim - x.ndim
    if extra == 0:
        return decide(vals)
    flat = vals.reshape((-1,) + vals.shape[extra:])
    answers = [decide(v) for v in flat]
    if any(not np.array_equal(a, answers[0]) for a in answers[1:]):
        raise ValueError(f"{op}: the samples of this vmap differ in {what}, so their results would differ in "
                         f"shape or dtype; call {op} per sample")
    return answers[0] if answers else generic


# ---------------------------------------------------------------------------------- evaluation
def polyval(p, x):
    """``np.polyval(p, x)``: the polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's
    rule as NumPy (``y = y * x + p[i]`` from ``y = zeros_like(x)``); ``p`` 2-D evaluates one polynomial per
    column. Differentiable in ``p`` and ``x``; the dtype is NumPy's (``x``'s, promoted with ``p``'s)."""
    p, x = _arr(p, "polyval"), _arr(x, "polyval")
    n = _len(p, "polyval")
    y = zeros_like(x, requires_grad=False)
    for i in range(n):
        y = y * x + p[i]
    return y


def vander(x, N=None, increasing=False):
    """``np.vander(x, N=None, increasing=False)``: the Vandermonde matrix of the 1-D ``x`` (columns ``x**(N-1)
    ... x**0``, or increasing powers), computed as NumPy by a cumulative product; the dtype is
    ``promote_types(x.dtype, int)`` (float32 becomes float64, as NumPy). Differentiable in ``x``."""
    x = _arr(x, "vander")
    if x.ndim != 1:
        raise ValueError(f"vander: x must be a one-dimensional array or sequence, got shape {tuple(x.shape)}")
    n = x.shape[0]
    N = n if N is None else int(N)
    if N < 0:
        raise ValueError(f"vander: negative dimensions are not allowed (N={N})")
    dt = np.promote_types(x.dtype, np.int_)
    x = x if x.dtype == dt else astype(x, dt)
    col = reshape(x, (n, 1))
    if N == 0:
        return col[:, 0:0]
    cols = [ones_like(col, requires_grad=False)]
    if N > 1:
        cols.append(cumprod(broadcast_to(col, (n, N - 1)), axis=1))
    v = concatenate(cols, axis=1) if len(cols) > 1 else cols[0]
    return v if increasing else flip(v, axis=1)


# ---------------------------------------------------------------------------------- arithmetic
def _padded_op(a1, a2, op, name):
    a1, a2 = _atleast_1d(a1, name), _atleast_1d(a2, name)
    diff = a2.shape[0] - a1.shape[0]
    if diff > 0:
        a1 = concatenate([_const((diff,), a1.dtype), a1])
    elif diff < 0:
        a2 = concatenate([_const((-diff,), a2.dtype), a2])
    return op(a1, a2)


def polyadd(a1, a2):
    """``np.polyadd(a1, a2)``: the sum of two polynomials (the shorter one zero-padded in front). Differentiable
    in both."""
    return _padded_op(a1, a2, lambda a, b: a + b, "polyadd")


def polysub(a1, a2):
    """``np.polysub(a1, a2)``: ``a1 - a2`` as polynomials (the shorter one zero-padded in front).
    Differentiable in both."""
    return _padded_op(a1, a2, lambda a, b: a - b, "polysub")


def _trimmed(a):
    """``np.poly1d(a)``'s coefficients: leading zeros dropped (by their values, the same in every sample of a
    vmap), an all-zero or empty ``a`` becoming ``[0]`` of its dtype."""
    if a.shape[0] == 0:
        return _const((1,), a.dtype)
    nz = _same_in_every_sample(a, lambda v: np.flatnonzero(v)[:1], "polymul", "their leading zero coefficients",
                               np.arange(1))
    return a[int(nz[0]) if len(nz) else a.shape[0] - 1:]


def polymul(a1, a2):
    """``np.polymul(a1, a2)``: the product of two polynomials, ``np.convolve`` of their coefficients after
    NumPy's ``poly1d`` drops their leading zeros (an empty or all-zero polynomial is ``[0]``). Differentiable in
    both."""
    from .stats import convolve
    a1, a2 = _atleast_1d(a1, "polymul"), _atleast_1d(a2, "polymul")
    if a1.ndim != 1 or a2.ndim != 1:
        raise ValueError(f"polymul: the coefficients must be non-empty 1-D sequences, got shapes {tuple(a1.shape)} "
                         f"and {tuple(a2.shape)}")
    return convolve(_trimmed(a1), _trimmed(a2))


def polydiv(u, v):
    """``np.polydiv(u, v)``: quotient and remainder ``(q, r)`` with ``u = q * v + r``, by NumPy's long division
    (float results; the remainder's leading entries are dropped while they are close to 0, ``allclose(r[0], 0,
    rtol=1e-14)``, keeping at least one). Both are differentiable in ``u`` and ``v``. A zero leading coefficient
    of ``v`` divides by zero, as in NumPy (inf / nan with a RuntimeWarning)."""
    u, v = _atleast_1d(u, "polydiv"), _atleast_1d(v, "polydiv")
    if u.ndim != 1 or v.ndim != 1 or u.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError(f"polydiv: u and v must be non-empty 1-D sequences of coefficients, got shapes "
                         f"{tuple(u.shape)} and {tuple(v.shape)}")
    u, v = u + 0.0, v + 0.0
    dt = np.result_type(u.dtype, v.dtype)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / v[0]
    r = u if u.dtype == dt else astype(u, dt)
    qs = []
    for k in range(m - n + 1):
        d = scale * r[k]
        qs.append(reshape(d, (1,)))
        r = concatenate([r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:]])
    q = concatenate(qs) if qs else _const((1,), dt)
    dropped = 0   # (the first m - n + 1 entries of r are cancelled by construction: dropped for values in general
    while r.shape[0] > 1 and _same_in_every_sample(     # position, as NumPy's test would drop them)
            r[0], lambda x: bool(np.allclose(x, 0, rtol=1e-14)), "polydiv", "the length of the remainder",
            dropped < m - n + 1):
        r, dropped = r[1:], dropped + 1
    return q, r


# ---------------------------------------------------------------------------------- calculus
def polyder(p, m=1):
    """``np.polyder(p, m=1)``: the ``m``-th derivative's coefficients (``p[:-1] * arange(n, 0, -1)``, repeated;
    the dtype promoted with NumPy's int64 ``arange``, so float32 becomes float64 as in NumPy). Differentiable
    in ``p``."""
    m = int(m)
    if m < 0:
        raise ValueError(f"polyder: order of derivative must be positive (see polyint), got m={m}")
    p = _arr(p, "polyder")
    if p.ndim > 1:  # (NumPy raises too: its broadcasting of p[:-1] against the powers fails)
        raise ValueError(f"polyder: p must be a 1-D sequence of coefficients, got shape {p.shape}")
    for _ in range(m):
        n = _len(p, "polyder") - 1
        p = p[:-1] * np.arange(n, 0, -1)
    return p


def polyint(p, m=1, k=None):
    """``np.polyint(p, m=1, k=None)``: the ``m``-th antiderivative, ``k`` the integration constants (a scalar
    or ``m`` values, the first for the first integration; zeros by default). Differentiable in ``p`` and in a
    tensor ``k``; the result is float64 for float32 or int ``p``, as NumPy (a division by its int64 ``arange``)."""
    m = int(m)
    if m < 0:
        raise ValueError(f"polyint: order of integral must be positive (see polyder), got m={m}")
    k = _atleast_1d(np.zeros(m, float) if k is None else k, "polyint")
    if k.ndim == 1 and k.shape[0] == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if k.ndim != 1 or k.shape[0] < m:
        raise ValueError(f"polyint: k must be a scalar or a rank-1 array of length 1 or >m (m={m}), got shape "
                         f"{tuple(k.shape)}")
    p = _arr(p, "polyint")
    if p.ndim > 1:  # (NumPy raises too, from its broadcasting)
        raise ValueError(f"polyint: p must be a 1-D sequence of coefficients, got shape {p.shape}")
    for i in range(m):
        p = concatenate([p / np.arange(_len(p, "polyint"), 0, -1), reshape(k[i], (1,))])
    return p


# ---------------------------------------------------------------------------------- fitting
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``np.polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False)``: least-squares polynomial fit,
    coefficients highest power first (one column per column of a 2-D ``y``), set up exactly as NumPy (weighted
    Vandermonde matrix, columns scaled to unit norm) and solved through ``npg.linalg.pinv`` with NumPy's
    cutoff ``rcond`` (the same minimum-norm solution as NumPy's ``lstsq``). Differentiable in ``x``, ``y`` and
    ``w``: exact where the scaled Vandermonde matrix has full column rank (as PyTorch's ``lstsq`` gradient).

    ``full=True`` returns ``(c, residuals, rank, singular_values, rcond)`` (the residuals and the singular values
    of the scaled Vandermonde matrix differentiable, ``rank`` an int); ``cov=True`` or ``'unscaled'`` returns
    ``(c, V)`` with the covariance matrix ``V`` (differentiable), as NumPy. A rank-deficient fit warns
    ``RankWarning``."""
    from .linalg import inv
    from .lstsq import pinv
    from .decomp import svdvals
    order = int(deg) + 1
    x, y = _arr(x, "polyfit") + 0.0, _arr(y, "polyfit") + 0.0
    if deg < 0:
        raise ValueError(f"polyfit: expected deg >= 0, got {deg}")
    if x.ndim != 1:
        raise TypeError(f"polyfit: expected 1D vector for x, got shape {tuple(x.shape)}")
    if x.size == 0:
        raise TypeError("polyfit: expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError(f"polyfit: expected 1D or 2D array for y, got shape {tuple(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise TypeError(f"polyfit: expected x and y to have same length, got shapes {tuple(x.shape)} and "
                        f"{tuple(y.shape)}")
    if rcond is None:
        rcond = x.shape[0] * np.finfo(x.dtype).eps
    lhs, rhs = vander(x, order), y
    if w is not None:
        w = _arr(w, "polyfit") + 0.0
        if w.ndim != 1:
            raise TypeError(f"polyfit: expected a 1-d array for weights, got shape {tuple(w.shape)}")
        if w.shape[0] != y.shape[0]:
            raise TypeError(f"polyfit: expected w and y to have the same length, got shapes {tuple(w.shape)} and "
                            f"{tuple(y.shape)}")
        lhs = lhs * reshape(w, (-1, 1))
        rhs = rhs * (reshape(w, (-1, 1)) if rhs.ndim == 2 else w)
    scale = sqrt(_sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    cs = matmul(pinv(lhs, rcond=rcond), rhs)
    with no_grad():
        s = svdvals(lhs)
    rank = _same_in_every_sample(s, lambda sv: int(np.sum(sv > rcond * sv.max(initial=0))), "polyfit", "rank",
                                 min(order, x.shape[0]))
    c = cs / scale if cs.ndim == 1 else cs / reshape(scale, (-1, 1))
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=2)
    n = x.shape[0]
    if full or cov:
        if rank == order and n > order:   # NumPy's lstsq: residuals only for a full-rank, overdetermined fit
            r = matmul(lhs, cs) - rhs
            resids = _sum(real(r * conj(r)) if r.dtype.kind == "c" else r * r, axis=0)   # |r|^2: real, as NumPy
            resids = reshape(resids, (1,)) if resids.ndim == 0 else resids
        else:
            resids = _const((0,), np.finfo(c.dtype).dtype)
    if full:
        # (the singular values recorded: they depend on x and w; NumPy's lstsq gives the rank as int32)
        return c, resids, np.int32(rank), svdvals(lhs), rcond
    if cov:
        vbase = inv(matmul(lhs.T, lhs)) / (reshape(scale, (-1, 1)) * scale)
        if cov == "unscaled":
            fac = 1
        else:
            if n <= order:
                raise ValueError(f"polyfit: the number of data points ({n}) must exceed order ({order}) to scale "
                                 f"the covariance matrix")
            fac = resids / (n - order)
        return c, (vbase * fac if y.ndim == 1 else reshape(vbase, vbase.shape + (1,)) * fac)
    return c


# ---------------------------------------------------------------------------------- roots
def _mintype(dt):
    """NumPy's ``mintypecode(dt.char)`` for ``poly``: float32, float64, complex64 or complex128 (else float64)."""
    return dt if dt.char in "fdFD" else np.dtype(np.float64)


def poly(seq_of_zeros):
    """``np.poly(seq_of_zeros)``: the coefficients (leading 1) of the monic polynomial with these roots, or of
    the characteristic polynomial of a non-empty square matrix (its eigenvalues, ``npg.linalg.eigvals``);
    real when the roots come in exact conjugate pairs, as NumPy; ``1.0`` for no roots. Differentiable in the
    roots (or the matrix)."""
    from .eig import eigvals
    z = _atleast_1d(seq_of_zeros, "poly")
    sh = tuple(z.shape)
    if len(sh) == 2 and sh[0] == sh[1] and sh[0] != 0:
        z = eigvals(z)
    elif len(sh) == 1:
        dt = _mintype(z.dtype)
        z = z if z.dtype == dt else astype(z, dt)
    else:
        raise ValueError(f"poly: input must be 1d or non-empty square 2d array, got shape {sh}")
    if z.shape[0] == 0:
        return 1.0
    dt = z.dtype
    zero = _const((1,), dt)
    a = _const((1,), dt, 1)
    for i in range(z.shape[0]):   # convolve(a, [1, -z_i])
        a = concatenate([a, zero]) - concatenate([zero, a]) * z[i]
    if dt.kind == "c" and _same_in_every_sample(
            z, lambda r: bool(np.all(np.sort(r) == np.sort(r.conjugate()))), "poly", "whether the roots are "
            "conjugate pairs", False):
        a = real(a)
    return a


def roots(p):
    """``np.roots(p)``: the roots of the polynomial ``p`` (highest power first), the eigenvalues of its companion
    matrix (``npg.linalg.eigvals``), after NumPy strips leading and trailing zeros (a trailing zero is a root 0,
    appended). Real or complex as NumPy's ``eigvals``; differentiable in ``p`` (the roots' gradient grows
    without bound as roots approach each other)."""
    from .eig import eigvals
    p = _atleast_1d(p, "roots")
    if p.ndim != 1:
        raise ValueError(f"roots: input must be a rank-1 array, got shape {tuple(p.shape)}")
    nz = _same_in_every_sample(p, lambda v: np.nonzero(v)[0], "roots", "the positions of their zero coefficients",
                               np.arange(p.shape[0]))
    if len(nz) == 0:
        return _wrap(np.array([]))
    trailing = p.shape[0] - int(nz[-1]) - 1
    p = p[int(nz[0]):int(nz[-1]) + 1]
    if p.dtype.kind not in "fc":
        p = astype(p, np.float64)
    N = p.shape[0]
    if N > 1:
        row = reshape(-p[1:] / p[0], (1, N - 1))
        r = eigvals(concatenate([row, _const((N - 2, N - 1), p.dtype) + np.eye(N - 2, N - 1, dtype=p.dtype)]))
    else:
        r = _wrap(np.array([]))
    return concatenate([r, _const((trailing,), r.dtype)]) if trailing else r


def register(functions):
    """``np.polyval(t, ...)`` and the others dispatch here (``__array_function__``)."""
    for name in __all__:
        functions[getattr(np, name)] = globals()[name]
