"""Decompositions with several outputs: ``eigh``, ``svd``, ``qr`` (and the values-only ``eigvalsh``,
``svdvals``), batched over leading dimensions as in NumPy.

How several outputs are recorded: one graph node per call. The outputs' values are packed into one
array (each raveled over its trailing matrix dimensions and concatenated along a last axis), and
that packed tensor is recorded with a single VJP; the outputs the user sees are slices of it
(``getitem`` + ``reshape``, themselves recorded ops). The gradient reaching the packed node is the
packed gradients of all outputs (zeros for an output that was not used), so the VJP sees them all at
once, as PyTorch's ``svd_backward(gU, gS, gVh, ...)`` does; each output passes through an identity node that
records that a gradient went through it (PyTorch's defined / undefined gradients: a used output's gradient
may be exactly zero, and is not taken for an unused one's). On the create_graph path the VJP gets
the packed output as a Tensor and reads ``U, S, Vh`` (or ``w, V``, ``Q, R``) from it by the same
slices, so the VJP is differentiable again without recomputing the decomposition.

The formulas are the standard ones PyTorch uses (FunctionsManual.cpp: ``linalg_eig_backward``,
``svd_backward``, ``linalg_qr_backward``), written with NumPy calls. Degenerate spectra behave as in
PyTorch: a loss of the eigen/singular values alone has a finite gradient (the terms in the unused
vectors' gradient are skipped, as PyTorch skips undefined gradients); a loss of the vectors has
``1 / (lambda_j - lambda_i)`` factors and is not finite where values repeat.

Complex matrices (Hermitian for eigh): the transposes are conjugate transposes, the eigen/singular values
are real (packed beside the complex vectors, then taken as the real part), and, as in PyTorch, a loss that
depends on the phases of the vectors (each is defined up to a factor e^{i phi}) raises: the imaginary part
of diag(V^H gV) (for svd: of diag(U^H gU) + diag(V^H gV)) must vanish.
"""
import collections
import math

import numpy as np

from ..autograd import forward_ad as _fwd
from ..tensor import Tensor, _make, _wrap
from ._matrix import diag_embed, eye_like, is_complex, lapack, mH, mT, matrix_arg, tril, triu
from ._util import batching_rule
from .complex import real as _real

EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])


# ------------------------------------------------------------------------------------ packing
def _pack(parts, batch):
    """Concatenate ``parts`` (each of shape ``batch + trailing``) along one last axis."""
    flat = [p.reshape(batch + (math.prod(p.shape[len(batch):]),)) for p in parts]
    return np.concatenate(flat, axis=-1)


def _unpack(x, batch, shapes, used=None):
    """The parts of a packed array or Tensor ``x`` (inverse of ``_pack``). With a set ``used``, each part of a
    Tensor passes through an identity node that adds its index to ``used`` when a gradient goes through it."""
    out, start = [], 0
    for k, s in enumerate(shapes):
        size = math.prod(s)
        part = x[..., start:start + size].reshape(batch + s)
        if used is not None and isinstance(x, Tensor):
            part = _make(part.data, "decomp_part", (part,), (None,), (_mark_used(used, k),), (lambda t, y, _: t,))
        out.append(part)
        start += size
    return out


def _mark_used(used, k):
    def vjp(g, y, _):
        used.add(k)
        return g
    return vjp


def _record_packed(op, a, ad, parts, vjp_parts, jvp_parts):
    """Record one node for the outputs ``parts`` of ``op(a)``; return them as tensors.

    ``vjp_parts(gs, ys, a, used)`` gets the gradients and the values of the parts (arrays, or Tensors
    under create_graph) and which parts a gradient came through (PyTorch's defined gradients: an unused part's
    gradient is zeros, and so may be a used one's), and returns the gradient of ``a``; ``jvp_parts(t, ys, a)``
    gets the tangent of ``a`` and the values of the parts (Tensors) and returns the tangents of the parts.
    """
    batch = ad.shape[:-2]
    shapes = [p.shape[len(batch):] for p in parts]
    used = set()   # the parts a gradient went through in this backward pass (the VJP reads and resets it)

    def vjp(g, y, a):
        flags = tuple(k in used for k in range(len(shapes)))
        used.clear()
        return vjp_parts(_unpack(g, batch, shapes), _unpack(y, batch, shapes, used), a, flags)

    def jvp(t, y, a):   # (the parts marked too: a gradient of the tangent, reverse over forward, reaches them)
        return _pack(jvp_parts(t, _unpack(y, batch, shapes, used), a), batch)

    packed = _make(_pack(parts, batch), op, (a,), (ad,), (vjp,), (jvp,))
    if not packed._requires_grad and not _fwd.is_dual(packed):  # nothing recorded: hand out the parts themselves
        return [_wrap(p) for p in parts]
    return _unpack(packed, batch, shapes, used)


# --------------------------------------------------------------------------------------- eigh
def _check_phase(imdiag, op):
    """PyTorch's check that a loss of complex singular/eigen-vectors does not depend on their phases (each vector
    is defined up to a factor e^{i phi}): the imaginary part of diag(V^H gV) must vanish."""
    d = imdiag.data if isinstance(imdiag, Tensor) else imdiag
    if not np.all(np.abs(d) <= 1e-2):
        raise RuntimeError(f"{op}: The {'singular ' if op == 'svd' else 'eigen'}vectors in the complex case are "
                           f"specified up to multiplication by e^{{i phi}}. The specified loss function depends on "
                           f"this phase term, making it ill-defined (as in PyTorch)")


def _eigh_vjp(gs, ys, a, used):
    gw, gV = gs
    w, V = ys
    if is_complex(w):  # (complex A: the eigenvalues are real, packed beside the complex eigenvectors)
        w, gw = np.real(w), np.real(gw)
    if not used[1]:  # eigenvalues only: V diag(gw) V^H (finite for repeated eigenvalues too)
        return np.matmul(V * gw[..., None, :], mH(V))
    VtgV = np.matmul(mH(V), gV)
    eye = eye_like(w)
    if is_complex(VtgV):
        _check_phase(np.imag(np.sum(VtgV * eye, axis=-1)), "eigh")
    skew = 0.5 * (VtgV - mH(VtgV))
    E = w[..., None, :] - w[..., :, None] + eye  # E_ij = w_j - w_i, 1 on the diagonal
    inner = skew / E * (1 - eye) + diag_embed(gw)
    return np.matmul(V, np.matmul(inner, mH(V)))


def _eigh_jvp(dA, ys, a):
    # dw = diag(V^H dA V) (real); dV = V (V^H dA V / E) with E_ij = w_j - w_i and a zero diagonal (PyTorch's)
    w, V = ys
    if is_complex(w):
        w = np.real(w)
    dP = np.matmul(mH(V), np.matmul(dA, V))
    eye = eye_like(w)
    E = w[..., None, :] - w[..., :, None] + eye
    dw = np.sum(dP * eye, axis=-1)
    return [np.real(dw) if is_complex(dw) else dw, np.matmul(V, dP / E * (1 - eye))]


def _uplo(UPLO, op):
    """'L' or 'U', in either case (NumPy upper-cases it)."""
    u = UPLO.upper() if isinstance(UPLO, str) else UPLO
    if u not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', not {UPLO!r}")
    return u


@batching_rule("leading")
def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of symmetric (Hermitian) matrices, as ``np.linalg.eigh``; reads
    the ``UPLO`` triangle. Both outputs are differentiable; the gradient is Hermitian (PyTorch's). A loss of
    complex eigenvectors that depends on their phases raises, as in PyTorch."""
    ad = matrix_arg(a, "eigh", square=True, complex_ok=True)
    UPLO = _uplo(UPLO, "eigh")
    with lapack("eigh", ad.shape):
        w, V = np.linalg.eigh(ad, UPLO=UPLO)
    wt, Vt = _record_packed("eigh", a, ad, [w, V], _eigh_vjp, _eigh_jvp)
    return EighResult(_real(wt) if is_complex(wt) else wt, Vt)


@batching_rule("leading")
def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of symmetric matrices, as ``np.linalg.eigvalsh``; differentiable
    (computes the eigenvectors too when a graph is recorded)."""
    UPLO = _uplo(UPLO, "eigvalsh")
    if isinstance(a, Tensor) and (a._requires_grad or _fwd.is_dual(a)):
        with lapack("eigvalsh", tuple(a.shape)):   # (its errors name the op called, not eigh)
            return eigh(a, UPLO).eigenvalues
    ad = matrix_arg(a, "eigvalsh", square=True, complex_ok=True)
    with lapack("eigvalsh", ad.shape):
        return _wrap(np.linalg.eigvalsh(ad, UPLO=UPLO))


# ---------------------------------------------------------------------------------------- svd
def _svd_vjp(full_matrices):
    def vjp(gs, ys, a, used):
        gU, gS, gVh = gs
        U, S, Vh = ys
        if is_complex(S):  # (complex A: the singular values are real, packed beside the complex vectors)
            S, gS = np.real(S), np.real(gS)
        m, n = a.shape[-2:]
        k = S.shape[-1]
        if full_matrices:  # the extra columns of U / rows of Vh are arbitrary: their gradients are ignored
            gU, U, gVh, Vh = gU[..., :, :k], U[..., :, :k], gVh[..., :k, :], Vh[..., :k, :]
        use_u, use_v = used[0], used[2]
        if not (use_u or use_v):  # singular values only: U diag(gS) Vh
            return np.matmul(U * gS[..., None, :], Vh)
        cplx = is_complex(U)
        eye = eye_like(S)
        S2 = S * S
        E = S2[..., None, :] - S2[..., :, None] + eye  # E_jk = S_k^2 - S_j^2, 1 on the diagonal
        inner = diag_embed(gS)
        if use_u:
            UtgU = np.matmul(mH(U), gU)
            inner = inner + (UtgU - mH(UtgU)) / E * S[..., None, :] * (1 - eye)
        if use_v:
            VtgV = np.matmul(Vh, mH(gVh))
            inner = inner + S[..., :, None] * ((VtgV - mH(VtgV)) / E) * (1 - eye)
        if cplx:  # the phases: Im diag(U^H gU) + Im diag(V^H gV) must vanish (PyTorch's check)
            im_u = np.imag(np.sum(UtgU * eye, axis=-1)) if use_u else 0.0
            im_v = np.imag(np.sum(VtgV * eye, axis=-1)) if use_v else 0.0
            _check_svd_phase(im_u, im_v)
            if use_u:  # + i Im diag(U^H gU) / S
                inner = inner + diag_embed(1j * im_u / S)
        if m > n and use_u:    # + (I - U U^H) gU S^-1 V^H
            gUS = gU / S[..., None, :]
            left = np.matmul(U, inner) + gUS - np.matmul(U, np.matmul(mH(U), gUS))
            return np.matmul(left, Vh)
        if m < n and use_v:    # + U S^-1 gVh (I - V V^H)
            SgVh = gVh / S[..., :, None]
            right = np.matmul(inner, Vh) + SgVh - np.matmul(np.matmul(SgVh, mH(Vh)), Vh)
            return np.matmul(U, right)
        return np.matmul(U, np.matmul(inner, Vh))
    return vjp


def _check_svd_phase(im_u, im_v):
    du, dv = (d.data if isinstance(d, Tensor) else np.asarray(d) for d in (im_u, im_v))
    if not np.all(np.abs(du + dv) <= 1e-2 + 1e-2 * np.abs(dv)):
        _check_phase(np.asarray(1.0), "svd")


_SVD_VJPS = {True: _svd_vjp(True), False: _svd_vjp(False)}


def _svd_jvp(full_matrices):
    def jvp(dA, ys, a):
        # dP = U^H dA V, dS = Re diag(dP); dU = U ((dP S + S dP^H) / E + i Im diag(dP) / 2S)
        # (+ (I - UU^H) dA V / S when m > k), dV = V ((S dP + dP^H S) / E - i Im diag(dP) / 2S)
        # (+ (I - VV^H) dA^H U / S when n > k); E_jk = S_k^2 - S_j^2, zero diagonal (PyTorch's svd_jvp)
        U, S, Vh = ys
        if is_complex(S):
            S = np.real(S)
        m, n = a.shape[-2:]
        k = S.shape[-1]
        if full_matrices and m != n:
            raise NotImplementedError("svd: forward-mode AD of full_matrices=True with a non-square matrix is not "
                                      "supported (the extra columns of U / rows of Vh are an arbitrary basis); "
                                      "use full_matrices=False")
        V = mH(Vh)
        dP = np.matmul(mH(U), np.matmul(dA, V))
        eye = eye_like(S)
        dPd = np.sum(dP * eye, axis=-1)
        cplx = is_complex(dPd)
        dS = np.real(dPd) if cplx else dPd
        S2 = S * S
        E = S2[..., None, :] - S2[..., :, None] + eye
        off = 1 - eye
        inU = (dP * S[..., None, :] + S[..., :, None] * mH(dP)) / E * off
        inV = (S[..., :, None] * dP + mH(dP) * S[..., None, :]) / E * off
        if cplx:
            ph = diag_embed(0.5j * np.imag(dPd) / S)
            inU, inV = inU + ph, inV - ph
        dU = np.matmul(U, inU)
        dV = np.matmul(V, inV)
        if m > k:
            dU = dU + np.matmul(dA, V) / S[..., None, :] - np.matmul(U, np.matmul(mH(U), np.matmul(dA, V))) \
                / S[..., None, :]
        if n > k:
            dAtU = np.matmul(mH(dA), U)
            dV = dV + (dAtU - np.matmul(V, np.matmul(Vh, dAtU))) / S[..., None, :]
        return [dU, dS, mH(dV)]
    return jvp


_SVD_JVPS = {True: _svd_jvp(True), False: _svd_jvp(False)}


@batching_rule("leading")
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ (S[..., None] * Vh)``, as ``np.linalg.svd``.

    U, S and Vh are all differentiable (PyTorch's formulas). With ``full_matrices=True`` the columns
    of U / rows of Vh beyond ``min(m, n)`` are an arbitrary basis: gradients reaching them are
    ignored, as in PyTorch. ``compute_uv=False`` returns S alone (see :func:`svdvals`).
    ``hermitian=True`` is NumPy's: the SVD from ``eigh`` of the lower triangle (NumPy's values, U and Vh
    included); the gradients are those of that SVD, Hermitian input assumed (as ``eigh``'s).
    """
    if not compute_uv:
        return svdvals(a, _op="svd", _hermitian=bool(hermitian))
    ad = matrix_arg(a, "svd", square=bool(hermitian), complex_ok=True)
    with lapack("svd", ad.shape):
        U, S, Vh = np.linalg.svd(ad, full_matrices=bool(full_matrices), hermitian=bool(hermitian))
    Ut, St, Vht = _record_packed("svd", a, ad, [U, S, Vh], _SVD_VJPS[bool(full_matrices)],
                                 _SVD_JVPS[bool(full_matrices)])
    return SVDResult(Ut, _real(St) if is_complex(St) else St, Vht)


@batching_rule("leading")
def svdvals(x, _op="svdvals", _hermitian=False):
    """Singular values (descending), as ``np.linalg.svdvals``; differentiable (the gradient is
    ``U diag(gS) Vh``, finite for repeated singular values)."""
    if isinstance(x, Tensor) and (x._requires_grad or _fwd.is_dual(x)):
        with lapack(_op, tuple(x.shape)):   # (its errors name the op called, not svd)
            return svd(x, full_matrices=False, hermitian=_hermitian).S
    ad = matrix_arg(x, _op, square=_hermitian, complex_ok=True)
    with lapack(_op, ad.shape):
        return _wrap(np.linalg.svd(ad, compute_uv=False, hermitian=_hermitian))


# ----------------------------------------------------------------------------------------- qr
def _solve_right_rt(X, R):
    """X @ inv(R)^H for square upper-triangular R, by a solve: (R^-1 X^H)^H."""
    return mH(np.linalg.solve(R, mH(X)))


def _im_diag(M):
    """i Im(diag(M)) as a diagonal matrix (zero for real M)."""
    return 0.5 * (M - np.conj(M)) * eye_like(M)


def _qr_vjp(complete):
    def vjp(gs, ys, a, used):
        gQ, gR = gs
        Q, R = ys
        m, n = a.shape[-2:]
        if complete and m > n:
            raise RuntimeError(f"qr: mode='complete' with more rows than columns (shape {tuple(a.shape)}) is not "
                               f"differentiable (Q's last {m - n} columns are arbitrary); use mode='reduced'")
        M = np.matmul(gR, mH(R)) - np.matmul(mH(Q), gQ)
        cplx = is_complex(M)
        if m >= n:  # gA = (gQ + Q copyltu(M)) R^-H, copyltu(M) = triu(M) + triu(M, 1)^H - i Im diag(M)
            sym = triu(M) + mH(triu(M, 1))
            if cplx:
                sym = sym - _im_diag(M)
            return _solve_right_rt(gQ + np.matmul(Q, sym), R)
        # m < n: A = Q [R1 | R2]; gradient for the first m columns, then Q gR for all
        skew = tril(mH(M) - M)            # tril of the skew-Hermitian part, its diagonal halved
        if cplx:
            skew = skew - 0.5 * skew * eye_like(skew)
        R1 = R[..., :, :m]
        g1 = _solve_right_rt(np.matmul(Q, skew), R1)
        pad = np.zeros(g1.shape[:-1] + (n - m,), dtype=g1.dtype)
        return np.concatenate([g1, pad], axis=-1) + np.matmul(Q, gR)
    return vjp


_QR_VJPS = {True: _qr_vjp(True), False: _qr_vjp(False)}


def _qr_square_jvp(dA, Q, R):
    # A = QR, C = Q^H dA R^-1: Q^H dQ = tril(C, -1) - tril(C, -1)^H + i Im diag(C) (skew-Hermitian; R's diagonal
    # stays real), dR = (C - Q^H dQ) R, dQ = dA R^-1 - Q dR R^-1
    dAR = _solve_right(dA, R)
    C = np.matmul(mH(Q), dAR)
    low = tril(C, -1)
    omega = low - mH(low)
    if is_complex(C):
        omega = omega + _im_diag(C)
    dR_Rinv = C - omega
    return dAR - np.matmul(Q, dR_Rinv), np.matmul(dR_Rinv, R)


def _solve_right(X, R):
    """X @ inv(R) for square R, by a solve: (R^-T X^T)^T."""
    return mT(np.linalg.solve(mT(R), mT(X)))


def _qr_jvp(complete):
    def jvp(dA, ys, a):
        Q, R = ys
        m, n = a.shape[-2:]
        if complete and m > n:
            raise RuntimeError(f"qr: mode='complete' with more rows than columns (shape {tuple(a.shape)}) is not "
                               f"differentiable (Q's last {m - n} columns are arbitrary); use mode='reduced'")
        if m >= n:
            return list(_qr_square_jvp(dA, Q, R))
        dQ, dR1 = _qr_square_jvp(dA[..., :, :m], Q, R[..., :, :m])   # m < n: A = Q [R1 | R2]
        dR2 = np.matmul(mH(Q), dA[..., :, m:] - np.matmul(dQ, R[..., :, m:]))
        return [dQ, np.concatenate([dR1, dR2], axis=-1)]
    return jvp


_QR_JVPS = {True: _qr_jvp(True), False: _qr_jvp(False)}


@batching_rule("leading")
def qr(a, mode="reduced"):
    """QR decomposition, as ``np.linalg.qr``: ``mode`` 'reduced' (Q (m, k), R (k, n)), 'complete'
    (Q (m, m), R (m, n)) or 'r' (R only, the reduced one). Q and R are differentiable (PyTorch's
    formula; as in PyTorch, not for 'complete' with m > n). 'raw' is not supported."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', not {mode!r}"
                         + (" ('raw' gives Householder reflectors, not supported)" if mode == "raw" else ""))
    ad = matrix_arg(a, "qr", complex_ok=True)
    with lapack("qr", ad.shape):
        Q, R = np.linalg.qr(ad, mode="complete" if mode == "complete" else "reduced")
    Qt, Rt = _record_packed("qr", a, ad, [Q, R], _QR_VJPS[mode == "complete"], _QR_JVPS[mode == "complete"])
    return Rt if mode == "r" else QRResult(Qt, Rt)
