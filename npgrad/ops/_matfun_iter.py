"""Iterations for the matrix functions of matrices the eigendecomposition refuses (defective or nearly so, see
``ops/linalg_funm.py``): stacks (N, n, n) of double-precision NumPy matrices in, the same out.

* ``sqrtm_db``: the scaled product form of the Denman-Beavers iteration (Higham, "Functions of Matrices", 2008,
  (6.17)-(6.20), determinant scaling until ``||M - I|| < 1e-2``); it converges for every nonsingular matrix
  without eigenvalues on the closed negative real axis (a real matrix with one is computed in complex).
* ``logm_iss``: inverse scaling and squaring: ``k`` square roots until ``||A^(1/2^k) - I||_1 <= 0.1``, then
  ``log(I + R)`` by its [8/8] Padé approximant in partial fractions (8-point Gauss-Legendre quadrature of
  ``int_0^1 R (I + t R)^-1 dt``; truncation error below 1e-20 at that norm), times ``2^k``.
* ``power_chain``: ``A^t`` as ``A^floor(t)`` times square roots ``A^(1/2^j)`` over the binary digits of ``t``.
* ``signm_newton``: the scaled Newton iteration ``S <- (mu S + (mu S)^-1) / 2``, ``mu = |det S|^(-1/n)``.

Each result is checked a posteriori (relative 1-norm residual of ``X^2 = A`` for every square root, logm's too,
and of ``S^2 = I``, at most 1e-11; ``expm(X) = A`` is not a usable check: expm is ill-conditioned on these). Each raises LinAlgError naming the op if it does not converge or fails its check (a singular matrix
for sqrtm and logm, an eigenvalue on the imaginary axis for signm, a very non-normal matrix). They are used for values and, through the block identity
``f([[A, E], [0, A]]) = [[f(A), L(A, E)], [0, f(A)]]``, for Fréchet derivatives.
"""
import numpy as np

from ._matrix import LinAlgError

_EPS = np.finfo(np.float64).eps
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2          # on [0, 1]


def _norm1(x):
    return np.max(np.sum(np.abs(x), axis=-2), axis=-1)


def _inv(M, op):
    try:
        return np.linalg.inv(M)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: the matrix is singular (or an iterate became singular): the iteration for a "
                          f"defective matrix cannot proceed") from None


def sqrtm_db(A, op="sqrtm", check=True):
    n = A.shape[-1]
    eye = np.eye(n, dtype=A.dtype)
    M, Y = A.copy(), A.copy()
    scale, prev = True, np.inf
    for _ in range(100):
        Mi = _inv(M, op)
        if scale:
            mu = np.exp(-np.linalg.slogdet(M)[1] / (2 * n))[:, None, None]
            Y = 0.5 * mu * (Y @ (eye + Mi / mu ** 2))
            M = 0.5 * (eye + (mu ** 2 * M + Mi / mu ** 2) / 2)
        else:
            Y = 0.5 * (Y @ (eye + Mi))
            M = 0.5 * (eye + (M + Mi) / 2)
        d = float(np.max(_norm1(M - eye)))
        scale = scale and d >= 1e-2
        if d <= 10 * n * _EPS or (d < 1e-8 and d >= prev / 2):
            break
        prev = d
    else:
        raise LinAlgError(f"{op}: the Denman-Beavers iteration did not converge (an eigenvalue on or near the "
                          f"negative real axis or at 0?)")
    if check:
        _check(op, "X^2", Y @ Y, A, "square root")
    return Y


def logm_iss(A, op="logm"):
    eye = np.eye(A.shape[-1], dtype=A.dtype)
    X, k = A, 0
    while np.max(_norm1(X - eye)) > 0.1:
        if k == 64:
            raise LinAlgError(f"{op}: inverse scaling and squaring did not converge")
        X = sqrtm_db(X, op)
        k += 1
    R = X - eye
    return (2.0 ** k) * sum(w * (R @ _inv(eye + t * R, op)) for t, w in zip(_NODES, _WEIGHTS))


def _check(op, what, got, want, name):
    """An a-posteriori check of an iteration's result: relative residual ``||got - want||_1 / ||want||_1`` at most
    1e-11, else a LinAlgError (the iteration is not accurate for this matrix)."""
    res = _norm1(got - want) / np.maximum(_norm1(want), 1e-300)
    if not np.all(res <= 1e-11):
        raise LinAlgError(f"{op}: the {name} iteration for a defective matrix is inaccurate here (relative residual "
                          f"of {what} {float(np.max(res)):.3g})")


def signm_newton(A, op="signm"):
    n = A.shape[-1]
    S = A.copy()
    for _ in range(100):
        Si = _inv(S, op)
        mu = np.exp(-np.linalg.slogdet(S)[1] / n)[:, None, None]
        new = 0.5 * (mu * S + Si / mu)
        d = float(np.max(_norm1(new - S) / np.maximum(_norm1(new), 1e-300)))
        S = new
        if d <= 10 * n * _EPS:
            _check(op, "S^2 = I", S @ S, np.broadcast_to(np.eye(n, dtype=S.dtype), S.shape), "sign")
            return S
    raise LinAlgError(f"{op}: the Newton iteration did not converge (an eigenvalue on or near the imaginary axis?)")


def power_chain(A, t, op="fractional_matrix_power"):
    """``A^t`` for a real ``t``: ``A^floor(t)`` times the product of the square-root chain ``A^(1/2^j)`` over the
    binary digits of ``t``'s fractional part (each root checked), stopped once a root is the identity to
    rounding. (``expm(t logm(A))`` is not used: expm loses accuracy on these very non-normal matrices.)"""
    n = A.shape[-1]
    eye = np.broadcast_to(np.eye(n, dtype=A.dtype), A.shape)
    a = int(np.floor(t))
    f = t - a
    X, P = A, eye.copy()
    for _ in range(60):
        if f == 0:
            break
        X = sqrtm_db(X, op)
        f *= 2
        if f >= 1:
            P = P @ X
            f -= 1
        if np.max(_norm1(X - eye)) <= _EPS:
            break
    Q = np.linalg.matrix_power(A if a >= 0 else _inv(A, op), abs(a))
    return Q @ P
