"""Matrix equations: ``npg.linalg.solve_sylvester`` (a primitive), ``solve_continuous_lyapunov`` (alias
``solve_lyapunov``) and ``solve_discrete_lyapunov`` (composites), with ``scipy.linalg``'s signatures, batched over
leading dimensions.

Forward of ``A X + X B = Q`` (A n x n, B m x m): NumPy has no Schur decomposition (SciPy's Bartels-Stewart), so
for ``n m <= KRON_MAX`` (1600) the Kronecker system ``(I_m (x) A + B^T (x) I_n) vec(X) = vec(Q)`` is solved by
``np.linalg.solve`` (LU with partial pivoting: backward stable for the big system); larger ones diagonalize A and B
(``X = V [(V^-1 Q W) / (l_i + m_j)] W^-1``), which raises LinAlgError when an eigenvector matrix has a condition
number above 1e6 (see ``ops/linalg_funm.py``) rather than losing accuracy. A singular equation (``l_i + m_j = 0``
exactly) raises LinAlgError (SciPy returns huge values). float32 stays float32, as SciPy.

Gradients (any order: they call ``solve_sylvester`` itself): the adjoint equation ``A^H Qb + Qb B^H = Xb`` gives
``Qb``, then ``Ab = -Qb X^H`` and ``Bb = -X^H Qb``; the JVP solves ``A dX + dX B = dQ - dA X - X dB``.
"""
import numpy as np

from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._matrix import LinAlgError, mH, matrix_arg
from ._util import batching_rule, data_of
from .linalg_scipy import check_finite_values

declare(OWN, "solve_sylvester")

KRON_MAX = 1600
COND_LIMIT = 1e6


def eig_split(A, op):
    """``(w, V, Vi, refused)`` of a stack (N, n, n) of double-precision matrices, complex: ``A = V diag(w) Vi``
    (``eigh`` for the exactly Hermitian ones, else ``eig``); ``refused`` marks the matrices whose eigenvector
    matrix has a condition number above ``COND_LIMIT`` (the method would lose more than about 1e-10 relative
    accuracy there; their V and Vi are NaN) and ``cond`` holds those condition numbers."""
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{op}: array must not contain infs or NaNs (got one of shape {A.shape[1:]})")
    N, n = A.shape[0], A.shape[-1]
    w = np.empty((N, n), np.complex128)
    V = np.full((N, n, n), np.nan, np.complex128)
    Vi = np.full((N, n, n), np.nan, np.complex128)
    cond = np.ones(N)
    herm = np.all(A == mH(A), axis=(-2, -1))
    if herm.any():
        wh, Vh = np.linalg.eigh(A[herm])
        w[herm], V[herm], Vi[herm] = wh, Vh, mH(Vh)
    rest = np.nonzero(~herm)[0]
    if rest.size:
        wg, Vg = np.linalg.eig(A[rest])
        cond[rest] = np.linalg.cond(Vg)
        ok = cond[rest] <= COND_LIMIT
        w[rest] = wg
        V[rest[ok]], Vi[rest[ok]] = Vg[ok], np.linalg.inv(Vg[ok])
    return w, V, Vi, ~(cond <= COND_LIMIT), cond


def refused_error(op, A, refused, cond):
    i = int(np.nonzero(refused)[0][0])
    return LinAlgError(f"{op}: the matrix is defective or too close to one for the eigendecomposition method: its "
                       f"eigenvector matrix has condition number {cond[i]:.3g} > {COND_LIMIT:g} (matrix {i} of the "
                       f"stack of shape {A.shape}), so the result would be inaccurate")


def eig_decompose(A, op):
    """:func:`eig_split` that raises LinAlgError naming ``op`` for a refused matrix."""
    w, V, Vi, refused, cond = eig_split(A, op)
    if refused.any():
        raise refused_error(op, A, refused, cond)
    return w, V, Vi


def _kron_solve(A, B, Q):
    """Stacks (N, n, n), (N, m, m), (N, n, m) -> X by the Kronecker system (column-major vec)."""
    N, n, m = Q.shape
    K = (np.einsum("jl,Nik->Njilk", np.eye(m), A) + np.einsum("Nlj,ik->Njilk", B, np.eye(n)))
    rhs = np.swapaxes(Q, -1, -2).reshape(N, m * n, 1)
    x = np.linalg.solve(K.reshape(N, m * n, m * n), rhs)
    return np.swapaxes(x.reshape(N, m, n), -1, -2)


def _eig_solve(A, B, Q, op):
    l, V, Vi = eig_decompose(A, op)
    mu, W, Wi = eig_decompose(B, op)
    den = l[:, :, None] + mu[:, None, :]
    if np.any(den == 0):
        raise np.linalg.LinAlgError("singular")
    return V @ ((Vi @ Q @ W) / den) @ Wi


def sylvester_np(a, b, q, op="solve_sylvester"):
    n, m = a.shape[-1], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2])
    dtype = np.result_type(a.dtype, b.dtype, q.dtype, np.float32)
    work = np.complex128 if dtype.kind == "c" else np.float64
    N = int(np.prod(batch))
    A = np.broadcast_to(a, batch + (n, n)).reshape(N, n, n).astype(work)
    B = np.broadcast_to(b, batch + (m, m)).reshape(N, m, m).astype(work)
    Q = np.broadcast_to(q, batch + (n, m)).reshape(N, n, m).astype(work)
    if N == 0 or n == 0 or m == 0:
        return np.zeros(batch + (n, m), dtype)
    try:
        X = _kron_solve(A, B, Q) if n * m <= KRON_MAX else _eig_solve(A, B, Q, op)
    except np.linalg.LinAlgError as e:
        if "condition number" in str(e):
            raise
        raise LinAlgError(f"{op}: singular equation: an eigenvalue of a plus one of b is 0, so A X + X B = Q "
                          f"has no unique solution (shapes {a.shape}, {b.shape}, {q.shape})") from None
    if work is np.float64 and X.dtype.kind == "c":
        X = X.real
    return X.reshape(batch + (n, m)).astype(dtype, copy=False)


def _syl(a, b, q):
    if isinstance(a, Tensor) or isinstance(b, Tensor) or isinstance(q, Tensor):
        return solve_sylvester(a, b, q)
    return sylvester_np(a, b, q)


def sylvester_call(a, b, q, op):
    """:func:`solve_sylvester` for another op's derivative (``sqrtm``'s): its errors name ``op``."""
    try:
        return _syl(a, b, q)
    except LinAlgError as e:
        raise LinAlgError(f"{op}: the derivative does not exist or cannot be computed here ({e})") from None


def _real_like(x, like):
    if np.dtype(like.dtype).kind != "c" and np.dtype(x.dtype).kind == "c":
        return np.real(x)
    return x


def _vjp_q(g, y, a, b, q):
    return _real_like(_syl(mH(a), mH(b), g), q)


def _vjp_a(g, y, a, b, q):
    return _real_like(-np.matmul(_syl(mH(a), mH(b), g), mH(y)), a)


def _vjp_b(g, y, a, b, q):
    return _real_like(-np.matmul(mH(y), _syl(mH(a), mH(b), g)), b)


def _jvp_a(t, y, a, b, q):
    return _syl(a, b, -np.matmul(t, y))


def _jvp_b(t, y, a, b, q):
    return _syl(a, b, -np.matmul(y, t))


def _jvp_q(t, y, a, b, q):
    return _syl(a, b, t)


@batching_rule("linalg_matrices")
def solve_sylvester(a, b, q):
    """Solve the Sylvester equation ``a @ x + x @ b = q`` for ``x``, as ``scipy.linalg.solve_sylvester``: ``a``
    (n, n), ``b`` (m, m), ``q`` (n, m), with leading (batch) dimensions that broadcast (an extension of SciPy's
    2-D signature). Real and complex; float32 stays float32. Kronecker system for n m <= 1600, else
    eigendecompositions (a LinAlgError for a nearly defective ``a`` or ``b``); a singular equation raises
    LinAlgError; inf / NaN raise ValueError as SciPy. Differentiable in all three, to any order."""
    op = "solve_sylvester"
    ad = matrix_arg(a, op, square=True, complex_ok=True)
    bd = matrix_arg(b, op, square=True, complex_ok=True)
    qd = matrix_arg(q, op, complex_ok=True)
    if qd.shape[-2:] != (ad.shape[-1], bd.shape[-1]):
        raise ValueError(f"{op}: q must be ({ad.shape[-1]}, {bd.shape[-1]}) for a of shape {ad.shape} and b of "
                         f"shape {bd.shape}, got {qd.shape}")
    try:
        np.broadcast_shapes(ad.shape[:-2], bd.shape[:-2], qd.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch dimensions of a {ad.shape}, b {bd.shape} and q {qd.shape} do not "
                         f"broadcast") from None
    check_finite_values(op, ad, bd, qd)
    out = sylvester_np(ad, bd, qd, op)
    return _make(out, op, (a, b, q), (ad, bd, qd), (_vjp_a, _vjp_b, _vjp_q), (_jvp_a, _jvp_b, _jvp_q))


def _as_tensor(x, op):
    if isinstance(x, Tensor):
        return x
    d = np.asarray(data_of(x, op))
    return _wrap(d if d.dtype.kind in "fc" else d.astype(np.float64))


def _mH(x):
    from .shape import swapaxes
    from .complex import conj
    x = swapaxes(x, -1, -2)
    return conj(x) if x.dtype.kind == "c" else x


@batching_rule("linalg_matrices")
def solve_continuous_lyapunov(a, q):
    """Solve the continuous Lyapunov equation ``a @ x + x @ a^H = q``, as
    ``scipy.linalg.solve_continuous_lyapunov`` (alias ``solve_lyapunov``): :func:`solve_sylvester` with
    ``b = a^H``. Batched; differentiable to any order."""
    op = "solve_continuous_lyapunov"
    matrix_arg(a, op, square=True, complex_ok=True)
    a = _as_tensor(a, op)
    return solve_sylvester(a, _mH(a), q)


def solve_lyapunov(a, q):
    """SciPy's older name for :func:`solve_continuous_lyapunov`."""
    return solve_continuous_lyapunov(a, q)


@batching_rule("linalg_matrices")
def solve_discrete_lyapunov(a, q, method=None):
    """Solve the discrete Lyapunov equation ``a @ x @ a^H - x + q = 0``, as
    ``scipy.linalg.solve_discrete_lyapunov``. ``method``: 'direct' (the Kronecker system
    ``(I - a (x) conj(a)) vec(x) = vec(q)``, n^2 unknowns), 'bilinear' (the bilinear transformation to a
    continuous Lyapunov equation, needs ``a + I`` invertible), or None: 'direct' for n < 10, else 'bilinear'
    (SciPy's rule). Real inputs give float64, as SciPy. Batched; composites of differentiable ops (any
    order)."""
    op = "solve_discrete_lyapunov"
    ad = matrix_arg(a, op, square=True, complex_ok=True)
    qd = matrix_arg(q, op, square=True, complex_ok=True)
    n = ad.shape[-1]
    if qd.shape[-1] != n:
        raise ValueError(f"{op}: a {ad.shape} and q {qd.shape} must be square of the same size")
    if method is None:
        method = "direct" if n < 10 else "bilinear"
    if method not in ("direct", "bilinear"):
        raise ValueError(f"{op}: unknown method {method!r} (expected 'direct', 'bilinear' or None)")
    check_finite_values(op, ad, qd)
    from .complex import conj
    from .contract import einsum, matmul
    from .linalg import inv, solve
    from .shape import broadcast_to, reshape
    a, q = _as_tensor(a, op), _as_tensor(q, op)
    wide = np.complex128 if np.result_type(a.dtype, q.dtype).kind == "c" else np.float64
    a, q = a.astype(wide) if a.dtype != wide else a, q.astype(wide) if q.dtype != wide else q
    eye = np.eye(n, dtype=wide)
    if method == "direct":
        ac = conj(a) if wide is np.complex128 else a
        kron = einsum("...ik,...jl->...ijkl", a, ac)
        batch = tuple(np.broadcast_shapes(a.shape[:-2], q.shape[:-2]))
        lhs = np.eye(n * n, dtype=wide) - reshape(kron, tuple(kron.shape[:-4]) + (n * n, n * n))
        lhs = broadcast_to(lhs, batch + (n * n, n * n))
        rhs = broadcast_to(reshape(q, tuple(q.shape[:-2]) + (n * n, 1)), batch + (n * n, 1))
        try:
            x = solve(lhs, rhs)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"{op}: singular equation: a has two eigenvalues with l_i conj(l_j) = 1 (shapes "
                              f"{ad.shape}, {qd.shape})") from None
        return reshape(x, batch + (n, n))
    aH = _mH(a)
    try:
        aHI = inv(aH + eye)
        b = matmul(aH - eye, aHI)
        c = 2 * matmul(matmul(inv(a + eye), q), aHI)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: method='bilinear' needs a + I invertible (a has the eigenvalue -1); use "
                          f"method='direct'") from None
    return solve_continuous_lyapunov(_mH(b), -c)
