"""``torch.linalg.ldl_factor``, ``ldl_factor_ex`` and ``ldl_solve``: the Bunch-Kaufman LDL^T (LDL^H with
``hermitian=True``) factorization of symmetric (Hermitian) matrices, as LAPACK's ``sytrf`` / ``hetrf`` (lower).

NumPy has no ``sytrf``: ``_sytf2`` below is LAPACK's unblocked ``dsytf2`` / ``zsytf2`` / ``zhetf2`` (lower) in
NumPy, one matrix and one column (block) at a time, with its pivot rule (alpha = (1 + sqrt 17) / 8, CABS1
magnitudes for complex), so ``LD`` and the 1-based ``pivots`` are torch's: a positive ``pivots[k]`` is a 1 x 1
block whose row ``k`` was swapped with ``pivots[k]``, ``pivots[k] = pivots[k+1] = -p`` a 2 x 2 block whose row
``k+1`` was swapped with ``p``. (torch calls the blocked ``sytrf``, which runs ``sytf2`` whole below LAPACK's
block size, 64; above it the pivots may differ in rounding, the factorization stays valid.)

Gradients: torch has none for either (``derivative ... is not implemented``); ``ldl_factor``'s ``LD`` raises
the same error in backward. ``ldl_solve`` is composed of differentiable ops (the factors ``L`` and ``D``
gathered from ``LD``, two unit-triangular solves and a solve with the block-diagonal ``D``), so its gradient
with respect to ``B`` (and ``LD``) is exact: an extension of torch's.
"""
import collections

import numpy as np

from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._matrix import LinAlgError, matrix_arg
from ._util import data_of

LDLFactorResult = collections.namedtuple("LDLFactorResult", ["LD", "pivots"])
LDLFactorExResult = collections.namedtuple("LDLFactorExResult", ["LD", "pivots", "info"])

declare(OWN, "ldl_factor")   # (its derivative raises, real or complex)

_ALPHA = (1.0 + np.sqrt(17.0)) / 8.0


def _npg():
    import npgrad
    return npgrad


def _sytf2(a, herm):
    """LAPACK's lower ``sytf2`` (``hetf2`` when ``herm``) of one matrix, 0-based inside: (LD, 1-based ipiv,
    info)."""
    A = np.tril(a).astype(a.dtype, copy=True)
    n = A.shape[0]
    cplx = A.dtype.kind == "c"
    cabs = (lambda z: np.abs(z.real) + np.abs(z.imag)) if cplx else np.abs
    cj = np.conj if herm else (lambda z: z)
    if herm:                                        # hetf2 reads only DBLE(A(k, k)), also of entries it swaps in
        A[np.arange(n), np.arange(n)] = A.diagonal().real
    ipiv = np.zeros(n, np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        if herm:
            A[k, k] = A[k, k].real
        absakk = abs(A[k, k].real) if herm else cabs(A[k, k])
        if k < n - 1:
            col = cabs(A[k + 1:, k])
            imax = k + 1 + int(np.argmax(col))
            colmax = col.max()
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = cabs(A[imax, k:imax]).max()
                if imax < n - 1:
                    rowmax = max(rowmax, cabs(A[imax + 1:, imax]).max())
                aii = abs(A[imax, imax].real) if herm else cabs(A[imax, imax])
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif aii >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:                            # swap rows and columns kk, kp of the trailing lower part
                if kp < n - 1:
                    A[kp + 1:, [kk, kp]] = A[kp + 1:, [kp, kk]]
                mid = np.arange(kk + 1, kp)
                t = cj(A[mid, kk].copy())
                A[mid, kk] = cj(A[kp, mid])
                A[kp, mid] = t
                if herm:
                    A[kp, kk] = np.conj(A[kp, kk])
                A[kk, kk], A[kp, kp] = A[kp, kp], A[kk, kk]
                if kstep == 2:
                    A[k + 1, k], A[kp, k] = A[kp, k], A[k + 1, k]
            elif herm:
                A[k, k] = A[k, k].real
                if kstep == 2:
                    A[k + 1, k + 1] = A[k + 1, k + 1].real
            if kstep == 1:
                if k < n - 1:
                    r1 = 1.0 / (A[k, k].real if herm else A[k, k])
                    x = A[k + 1:, k].copy()
                    A[k + 1:, k + 1:] -= np.tril(r1 * np.outer(x, cj(x)))
                    if herm:
                        idx = np.arange(k + 1, n)
                        A[idx, idx] = A[idx, idx].real
                    A[k + 1:, k] *= r1
            elif k < n - 2:
                if herm:
                    d = abs(A[k + 1, k])
                    d11, d22 = A[k + 1, k + 1].real / d, A[k, k].real / d
                    tt = 1.0 / (d11 * d22 - 1.0)
                    d21 = A[k + 1, k] / d
                    d = tt / d
                    wk = d * (d11 * A[k + 2:, k] - d21 * A[k + 2:, k + 1])
                    wkp1 = d * (d22 * A[k + 2:, k + 1] - np.conj(d21) * A[k + 2:, k])
                else:
                    d21 = A[k + 1, k]
                    d11, d22 = A[k + 1, k + 1] / d21, A[k, k] / d21
                    t = 1.0 / (d11 * d22 - 1.0)
                    d21 = t / d21
                    wk = d21 * (d11 * A[k + 2:, k] - A[k + 2:, k + 1])
                    wkp1 = d21 * (d22 * A[k + 2:, k + 1] - A[k + 2:, k])
                A[k + 2:, k + 2:] -= np.tril(np.outer(A[k + 2:, k], cj(wk)) + np.outer(A[k + 2:, k + 1], cj(wkp1)))
                A[k + 2:, k], A[k + 2:, k + 1] = wk, wkp1
                if herm:
                    idx = np.arange(k + 2, n)
                    A[idx, idx] = A[idx, idx].real
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return A, ipiv, info


def _no_derivative(*_):
    raise NotImplementedError("linalg.ldl_factor: the derivative of ldl_factor is not implemented (as in torch: "
                              "derivative for aten::linalg_ldl_factor_ex is not implemented)")


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """``torch.linalg.ldl_factor_ex``: ``(LD, pivots, info)``, LAPACK's lower Bunch-Kaufman factorization of the
    symmetric (``hermitian=True``: Hermitian) matrices ``A`` (..., n, n), reading their lower triangle: ``LD``
    holds the unit lower ``L``'s multipliers below the diagonal and the 1 x 1 / 2 x 2 blocks of ``D`` on and
    below it, ``pivots`` (int32, 1-based) LAPACK's interchanges, ``info`` 0 or k where ``D[k-1, k-1]`` is exactly
    zero (the factorization completes; ``check_errors=True`` raises). Not differentiable (torch neither)."""
    op = "linalg.ldl_factor_ex"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    if ad.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating or complex input, got {ad.dtype}")
    n = ad.shape[-1]
    batch = ad.shape[:-2]
    flat = ad.reshape((-1, n, n)) if ad.size else np.zeros((int(np.prod(batch, dtype=np.int64)), n, n), ad.dtype)
    herm = bool(hermitian) and ad.dtype.kind == "c"
    LD = np.empty_like(flat)
    piv = np.zeros(flat.shape[:2], np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    for i in range(flat.shape[0]):
        LD[i], piv[i], info[i] = _sytf2(flat[i], herm)
    LD, piv, info = LD.reshape(ad.shape), piv.reshape(batch + (n,)), info.reshape(batch)
    if check_errors and (info > 0).any():
        i = int(np.argmax(info.reshape(-1) > 0))
        where = f"(Batch element {i}): " if batch else ""
        raise LinAlgError(f"{op}: {where}The factorization could not be completed because the input is singular "
                          f"(D[{info.reshape(-1)[i]}, {info.reshape(-1)[i]}] is zero, 1-based; input shape "
                          f"{ad.shape})")
    LDt = _make(LD, "ldl_factor", (A,), (ad,), (_no_derivative,), (_no_derivative,))
    return LDLFactorExResult(LDt, _wrap(piv), _wrap(info))


def ldl_factor(A, *, hermitian=False, out=None):
    """``torch.linalg.ldl_factor``: ``(LD, pivots)`` of :func:`ldl_factor_ex`, raising ``LinAlgError`` where
    ``D`` has an exact zero on its diagonal (as torch's check)."""
    LD, piv, _ = ldl_factor_ex(A, hermitian=hermitian, check_errors=True, out=out)
    return LDLFactorResult(LD, piv)


def _tables(piv, n):
    """From LAPACK's pivots (..., n): the flat index into ``LD`` (i * n + j, or -1 for 0) of each entry of the
    unit lower ``L`` (diagonal excluded) and of the block-diagonal ``D``, and ``perm`` with
    ``A = P L D L^T P^T``, ``(P^T B)[i] = B[perm[i]]``."""
    batch = piv.shape[:-1]
    flat = piv.reshape((-1, n))
    c = flat.shape[0]
    Li = np.full((c, n, n), -1, np.int64)
    Di = np.full((c, n, n), -1, np.int64)
    Dconj = np.zeros((c, n, n), bool)             # D[k, k+1] of a 2 x 2 block: LD[k+1, k] (conjugated if Hermitian)
    perm = np.tile(np.arange(n), (c, 1))
    for b in range(c):
        p = flat[b]
        k = 0
        while k < n:
            s = 1 if p[k] > 0 else 2
            if s == 2 and (k + 1 >= n or p[k + 1] != p[k]):
                raise ValueError(f"linalg.ldl_solve: pivots {p.tolist()} are not LAPACK's (a negative pivot "
                                 f"must be repeated for the 2 x 2 block at {k + 1})")
            kp = abs(int(p[k])) - 1
            kk = k + s - 1
            if kp < kk or kp >= n:
                raise ValueError(f"linalg.ldl_solve: pivot {int(p[k])} at {k + 1} is out of range for n = {n}")
            if kp != kk:
                Li[b, [kk, kp], :k] = Li[b, [kp, kk], :k]
                perm[b, [kk, kp]] = perm[b, [kp, kk]]
            rows = np.arange(k + s, n)
            for j in range(k, k + s):
                Li[b, rows, j] = rows * n + j
                Di[b, j, j] = j * n + j
            if s == 2:
                Di[b, k + 1, k] = Di[b, k, k + 1] = (k + 1) * n + k
                Dconj[b, k, k + 1] = True
            k += s
    return (Li.reshape(batch + (n, n)), Di.reshape(batch + (n, n)), Dconj.reshape(batch + (n, n)),
            perm.reshape(batch + (n,)))


def _gather(npg, LDflat, idx):
    safe = np.where(idx < 0, 0, idx)
    g = npg.take_along_axis(LDflat, _wrap(safe.reshape(safe.shape[:-2] + (-1,))), axis=-1)
    g = npg.reshape(g, idx.shape)
    return npg.where(_wrap(idx >= 0), g, _wrap(np.zeros((), LDflat.dtype)))


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """``torch.linalg.ldl_solve``: ``X`` with ``A X = B`` from ``(LD, pivots) = ldl_factor(A)``; ``B`` a stack of
    (n, k) matrices, batch dimensions broadcast. Differentiable in ``B`` and ``LD`` (an extension: torch has no
    derivative here): ``X = P L^-T D^-1 L^-1 P^T B`` (``L^-H`` with ``hermitian=True``), composed."""
    op = "linalg.ldl_solve"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    npg = _npg()
    ldd = matrix_arg(LD, op, square=True, complex_ok=True)
    pd = np.asarray(data_of(pivots, op))
    n = ldd.shape[-1]
    if pd.dtype.kind not in "iu" or pd.shape != ldd.shape[:-1]:
        raise ValueError(f"{op}: pivots must be integers of shape {ldd.shape[:-1]} (ldl_factor's), got {pd.dtype} "
                         f"of shape {pd.shape}")
    LD = LD if isinstance(LD, Tensor) else _wrap(ldd)
    B = B if isinstance(B, Tensor) else _wrap(np.asarray(data_of(B, op)))
    if B.ndim < 2 or B.shape[-2] != n:
        raise ValueError(f"{op}: B must be a stack of ({n}, k) matrices for LD of shape {ldd.shape}, got B of "
                         f"shape {tuple(B.shape)}")
    try:
        batch = np.broadcast_shapes(ldd.shape[:-2], tuple(B.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: the batch dimensions of LD {ldd.shape} and B {tuple(B.shape)} do not "
                         f"broadcast") from None
    dt = np.result_type(ldd.dtype, B.dtype)
    herm = bool(hermitian) and dt.kind == "c"
    Li, Di, Dconj, perm = _tables(pd, n)
    LDflat = npg.reshape(npg.astype(LD, dt) if LD.dtype != dt else LD, ldd.shape[:-2] + (n * n,))
    L = _gather(npg, LDflat, Li) + _wrap(np.eye(n, dtype=dt))
    D = _gather(npg, LDflat, Di)
    if herm and Dconj.any():
        D = npg.where(_wrap(Dconj), npg.conj(D), D)
    L, D = npg.broadcast_to(L, batch + (n, n)), npg.broadcast_to(D, batch + (n, n))
    perm = np.broadcast_to(perm, batch + (n,))
    Bb = npg.broadcast_to(npg.astype(B, dt) if B.dtype != dt else B, batch + tuple(B.shape[-2:]))
    idx = np.broadcast_to(perm[..., :, None], batch + (n, B.shape[-1]))
    Y = npg.take_along_axis(Bb, _wrap(idx), axis=-2)                  # P^T B
    Y = npg.linalg.solve_triangular(L, Y, lower=True, unit_diagonal=True)
    Y = npg.linalg.solve(D, Y)
    Y = npg.linalg.solve_triangular(L, Y, trans=2 if herm else 1, lower=True, unit_diagonal=True)
    inv = np.broadcast_to(np.argsort(perm, axis=-1)[..., :, None], idx.shape)
    return npg.take_along_axis(Y, _wrap(inv), axis=-2)               # P (.)
