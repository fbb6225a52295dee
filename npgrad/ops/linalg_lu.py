"""LU decomposition with partial pivoting, as ``scipy.linalg``: ``lu_factor`` (a primitive), ``lu`` and
``lu_solve`` (composites of it and of ``solve_triangular``), batched over leading dimensions.

NumPy has no LU: ``getrf`` below is LAPACK's right-looking algorithm in NumPy, one Python iteration per column
with the row swaps, the multipliers and the rank-1 update of the trailing block vectorized over the whole stack.
The pivot of column j is the first entry of largest magnitude at or below the diagonal (|re| + |im| for complex,
as LAPACK's izamax), so the pivots are SciPy's; ``piv`` is SciPy's 0-based list of row interchanges (row j was
swapped with row ``piv[j]``; torch's are 1-based). ``perm``, the permutation they compose, has ``a[perm] = L U``.

Gradients. The pivots are integers (no gradient). With B = P^T A = L U (L unit lower m x k, U upper k x n,
k = min(m, n)) and dX = L1^-1 dB1 U1^-1 (L1, U1: the leading k x k blocks), the JVP is dL1 = L1 tril(dX, -1),
dU1 = triu(dX) U1, and for a wide A dU2 = L^-1 (dB2 - dL U2), for a tall one dL2 = (dB2 - L2 dU) U^-1. Its
transpose, the VJP, is PyTorch's ``linalg_lu_backward``: B1's gradient is L1^-H M U1^-H with
M = tril(L1^H gL1, -1) + triu(gU1 U1^H) - (wide) tril(gU2 U2^H, -1) - (tall) triu(L2^H gL2), and B2's is
L^-H gU2 (wide) or gL2 U^-H (tall). Both are written with ``solve_triangular``, so they differentiate again.
"""
import warnings

import numpy as np

from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._matrix import is_complex, mH, mT, matrix_arg, tril, triu
from ._util import batching_rule, data_of
from .linalg_scipy import check_finite_values, solve_triangular, trans_code, tri_solve
from .shape import broadcast_to, expand_dims, squeeze

declare(OWN, "lu_factor")   # its VJP is PyTorch's complex formula (conjugate transposes)


class LinAlgWarning(RuntimeWarning):
    """A matrix is exactly singular in an LU factorization (SciPy's ``scipy.linalg.LinAlgWarning``)."""


def getrf(a, op):
    """LU with partial pivoting of a stack of NumPy matrices: (packed LU, piv (int32), perm), SciPy's dtypes
    (integers factor in float64). Warns with LinAlgWarning where a pivot is exactly zero, as SciPy."""
    dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    count = int(np.prod(batch, dtype=np.int64))
    A = a.reshape((count, m, n)).astype(dtype, copy=True)
    piv = np.zeros((count, k), np.int32)
    perm = np.tile(np.arange(m), (count, 1))
    rows = np.arange(count)
    first_zero = None
    for j in range(k):
        col = A[:, j:, j]
        p = j + np.argmax(np.abs(col.real) + np.abs(col.imag) if is_complex(A) else np.abs(col), axis=1)
        piv[:, j] = p
        for x in (A, perm):                     # swap rows j and p of every matrix
            tmp = x[rows, p].copy()
            x[rows, p] = x[rows, j]
            x[rows, j] = tmp
        d = A[:, j, j]
        zero = d == 0
        if first_zero is None and zero.any():
            first_zero = j
        if j + 1 < m:
            A[:, j + 1:, j] /= np.where(zero, 1, d)[:, None]
            if j + 1 < n:
                A[:, j + 1:, j + 1:] -= A[:, j + 1:, j, None] * A[:, j, None, j + 1:]
    if first_zero is not None:
        warnings.warn(f"{op}: Diagonal number {first_zero + 1} is exactly zero. Singular matrix.", LinAlgWarning,
                      stacklevel=5)  # (getrf, _record, the op, its batching wrapper, the caller)
    return A.reshape(batch + (m, n)), piv.reshape(batch + (k,)), perm.reshape(batch + (m,))


def perm_of(piv, m):
    """The permutation ``perm`` (``a[perm] = L U``) of SciPy's row interchanges ``piv`` (..., k)."""
    batch = piv.shape[:-1]
    count = int(np.prod(batch, dtype=np.int64))   # (not -1: a reshape of 0 x 0 matrices is ambiguous)
    perm = np.broadcast_to(np.arange(m), batch + (m,)).copy().reshape(count, m)
    pv = piv.reshape(count, piv.shape[-1])
    rows = np.arange(perm.shape[0])
    for j in range(pv.shape[-1]):
        p = pv[:, j]
        tmp = perm[rows, p].copy()
        perm[rows, p] = perm[rows, j]
        perm[rows, j] = tmp
    return perm.reshape(batch + (m,))


def _rows(x, idx):
    """The rows ``idx`` (..., m) of ``x`` (..., m, c): ``x[..., idx, :]`` per matrix (arrays or Tensors)."""
    full = np.broadcast_to(idx[..., :, None], tuple(x.shape[:-2]) + (idx.shape[-1], x.shape[-1]))
    return np.take_along_axis(x, full, axis=-2)


def _factors(y, m, n):
    """L (m, k; unit diagonal) and U (k, n) of a packed LU (arrays or Tensors)."""
    k = min(m, n)
    return tril(y[..., :, :k], -1) + np.eye(m, k, dtype=y.dtype), triu(y[..., :k, :])


def _right_solve_h(x, U):   # x U^-H, U upper
    return mH(tri_solve(U, mH(x), lower=False))


def _right_solve(x, U):     # x U^-1, U upper
    return mT(tri_solve(mT(U), mT(x), lower=True))


def _lu_rules(perm):
    inv = np.argsort(perm, axis=-1)

    def vjp(g, y, a):
        m, n = a.shape[-2:]
        k = min(m, n)
        L, U = _factors(y, m, n)
        gL, gU = tril(g[..., :, :k], -1), triu(g[..., :k, :])
        L1, U1, gL1, gU1 = L[..., :k, :], U[..., :, :k], gL[..., :k, :], gU[..., :, :k]
        M = tril(np.matmul(mH(L1), gL1), -1) + triu(np.matmul(gU1, mH(U1)))
        if n > k:
            M = M - tril(np.matmul(gU[..., :, k:], mH(U[..., :, k:])), -1)
        if m > k:
            M = M - triu(np.matmul(mH(L[..., k:, :]), gL[..., k:, :]))
        gB = _right_solve_h(tri_solve(mH(L1), M, lower=False, unit=True), U1)
        if n > k:
            gB = np.concatenate([gB, tri_solve(mH(L1), gU[..., :, k:], lower=False, unit=True)], axis=-1)
        if m > k:
            gB = np.concatenate([gB, _right_solve_h(gL[..., k:, :], U1)], axis=-2)
        return _rows(gB, inv)                   # gA = P gB

    def jvp(t, y, a):
        m, n = a.shape[-2:]
        k = min(m, n)
        L, U = _factors(y, m, n)
        L1, U1 = L[..., :k, :], U[..., :, :k]
        dB = _rows(t, perm)                     # P^T dA
        dX = _right_solve(tri_solve(L1, dB[..., :k, :k], lower=True, unit=True), U1)
        dL1, dU1 = np.matmul(L1, tril(dX, -1)), np.matmul(triu(dX), U1)
        out = dL1 + dU1
        if n > k:
            dU2 = tri_solve(L1, dB[..., :, k:] - np.matmul(dL1, U[..., :, k:]), lower=True, unit=True)
            out = np.concatenate([out, dU2], axis=-1)
        if m > k:
            dL2 = _right_solve(dB[..., k:, :] - np.matmul(L[..., k:, :], dU1), U1)
            out = np.concatenate([out, dL2], axis=-2)
        return out
    return (vjp,), (jvp,)


def _record(a, op, check_finite):
    ad = matrix_arg(a, op, complex_ok=True)
    if check_finite:
        check_finite_values(op, ad)
    lu, piv, perm = getrf(ad, op)
    vjps, jvps = _lu_rules(perm)
    return _make(lu, "lu_factor", (a,), (ad,), vjps, jvps), piv, perm


@batching_rule("leading")
def lu_factor(a, overwrite_a=False, check_finite=True):
    """LU factorization with partial pivoting, as ``scipy.linalg.lu_factor``: ``(lu, piv)``, ``lu`` holding U
    in its upper triangle and L's multipliers below (L's unit diagonal is not stored), ``piv`` SciPy's 0-based
    row interchanges (int32; torch.linalg.lu_factor's are 1-based). Any (..., M, N) stack; an exactly singular
    matrix warns (``LinAlgWarning``) and still factors, as SciPy. ``lu`` is differentiable (PyTorch's gradient,
    square, wide and tall); ``piv`` is not. ``overwrite_a`` is ignored."""
    lu, piv, _ = _record(a, "lu_factor", check_finite)
    return lu, _wrap(piv)


@batching_rule("leading")
def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """LU decomposition ``a = P @ L @ U``, as ``scipy.linalg.lu``: ``(P, L, U)`` with P (M, M) a permutation
    matrix (a's real dtype), L (M, K) unit lower-triangular, U (K, N) upper-triangular, K = min(M, N); batched.
    ``p_indices=True`` gives P as row indices (int32, ``a = L[p] @ U``); ``permute_l=True`` gives
    ``(P @ L, U)``. L and U are differentiable (PyTorch's ``linalg.lu`` gradient), P is not. Unlike
    ``lu_factor``, a singular matrix does not warn (as SciPy)."""
    op = "lu"
    ad = matrix_arg(a, op, complex_ok=True)
    m, n = ad.shape[-2:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        packed, _, perm = _record(a, op, check_finite)
    L, U = _factors(packed, m, n)
    inv = np.argsort(perm, axis=-1)
    if permute_l:
        return _rows(L, inv), U
    if p_indices:
        return _wrap(inv.astype(np.int32)), L, U
    P = np.zeros(perm.shape + (m,), dtype=np.real(np.zeros(0, packed.dtype)).dtype)   # real, as SciPy
    np.put_along_axis(P, perm[..., :, None], 1, axis=-1)   # P^T has rows e_perm[i]: P^T a = a[perm]
    return _wrap(np.swapaxes(P, -1, -2).copy()), L, U


@batching_rule("linalg_ab")
def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` given ``(lu, piv) = lu_factor(a)``, as ``scipy.linalg.lu_solve``: ``trans`` 0 / 'N'
    solves ``a x = b``, 1 / 'T' ``a^T x = b``, 2 / 'C' ``a^H x = b``. ``b`` is a vector when 1-D, else a stack
    of (n, k) matrices; batch dimensions broadcast. Differentiable in ``lu`` and ``b`` (a row permutation and
    two :func:`solve_triangular` calls, each reading its triangle of ``lu``). ``overwrite_b`` is ignored."""
    op = "lu_solve"
    try:
        lu_, piv = lu_and_piv
    except (TypeError, ValueError):
        raise TypeError(f"{op}: the first argument must be the pair (lu, piv) that lu_factor returns") from None
    lud = matrix_arg(lu_, op, square=True, complex_ok=True)
    pivd = np.asarray(data_of(piv, op))
    n = lud.shape[-1]
    if pivd.dtype.kind not in "iu" or pivd.shape[-1:] != (n,) or pivd.shape[:-1] != lud.shape[:-2]:
        raise ValueError(f"{op}: piv must be integers of shape {lud.shape[:-1]} (lu_factor's), got {pivd.dtype} "
                         f"of shape {pivd.shape}")
    if pivd.size and (pivd.min() < 0 or pivd.max() >= n):
        raise ValueError(f"{op}: piv holds row indices outside [0, {n}) (SciPy's pivots are 0-based)")
    code = trans_code(trans, op)
    b = b if isinstance(b, Tensor) else _wrap(np.asarray(data_of(b, op)))
    if b.ndim == 0 or b.shape[0 if b.ndim == 1 else -2] != n:
        raise ValueError(f"{op}: shapes of lu {lud.shape} and b {tuple(b.shape)} are incompatible (b is a vector "
                         f"when 1-D, else a stack of ({n}, k) matrices)")
    if b.ndim == 1:
        return squeeze(lu_solve((lu_, piv), expand_dims(b, -1), code, check_finite=check_finite), -1)
    perm = perm_of(pivd, n)
    try:
        batch = np.broadcast_shapes(lud.shape[:-2], tuple(b.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: the batch dimensions of lu {lud.shape} and b {tuple(b.shape)} do not "
                         f"broadcast") from None
    perm = np.broadcast_to(perm, batch + (n,))
    kw = dict(check_finite=check_finite)
    if code == 0:                               # L U x = P^T b
        b = broadcast_to(b, batch + tuple(b.shape[-2:]))
        y = solve_triangular(lu_, _rows(b, perm), lower=True, unit_diagonal=True, **kw)
        return solve_triangular(lu_, y, **kw)
    z = solve_triangular(lu_, b, trans=code, **kw)          # U^T L^T (P^T x) = b
    w = solve_triangular(lu_, z, trans=code, lower=True, unit_diagonal=True, **kw)
    return _rows(w, np.argsort(perm, axis=-1))
