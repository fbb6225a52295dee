"""``np.linalg.pinv`` and ``np.linalg.lstsq`` (real and complex): PyTorch's ``pinv_backward`` / ``pinv_jvp``
formulas (conjugate transposes: right for real and complex matrices alike); ``lstsq``'s solution is
``pinv(a) @ b`` for its gradients, and its residuals have their exact partials. Split from ``ops/linalg.py``."""
import collections

import numpy as np

from ..tensor import _make, _wrap
from ._matrix import LinAlgError, is_complex, lapack, mH, matrix_arg
from ._util import batching_rule, data_of
from .reduce import sum as _sum

LstsqResult = collections.namedtuple("LstsqResult", ["x", "residuals", "rank", "s"])


def _conj(x):
    return np.conj(x) if is_complex(x) else x


# ---------------------------------------------------------------------------------------- pinv
def _pinv_vjp(g, y, a):
    # PyTorch's pinv_backward (y = pinv(a)); the products are ordered to keep matrices small.
    m, n = a.shape[-2:]
    gT, yT = mH(g), mH(y)
    if m <= n:
        K = np.matmul(gT, y)
        KyT = np.matmul(K, yT)
        return (-mH(np.matmul(y, K)) + KyT - np.matmul(np.matmul(a, y), KyT)
                + np.matmul(np.matmul(yT, y), gT - np.matmul(K, a)))
    K = np.matmul(y, gT)
    yTK = np.matmul(yT, K)
    return (-mH(np.matmul(K, y)) + np.matmul(np.matmul(gT - np.matmul(a, K), y), yT)
            + yTK - np.matmul(np.matmul(yTK, y), a))


_NO_VALUE = object()


@batching_rule("leading")
def pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    """Moore-Penrose pseudo-inverse, as ``np.linalg.pinv`` (same ``rcond`` / ``rtol`` cut-off).
    Differentiable where the rank is locally constant (PyTorch's formula)."""
    ad = matrix_arg(a, "pinv", complex_ok=True)
    kw = {} if rtol is _NO_VALUE else {"rtol": rtol}
    with lapack("pinv", ad.shape):
        out = np.linalg.pinv(ad, rcond, hermitian, **kw)
    return _make(out, "pinv", (a,), (ad,), (_pinv_vjp,), (lambda t, y, a: _pinv_jvp(t, y, a),))


def _pinv_jvp(dA, y, a):
    # PyTorch's pinv_jvp (y = pinv(a)), ordered to keep matrices small
    m, n = a.shape[-2:]
    dAT, yT = mH(dA), mH(y)
    if m <= n:
        K = np.matmul(yT, dAT)
        return (np.matmul(y, K - mH(K) - np.matmul(K, np.matmul(a, y)))
                + np.matmul(dAT - np.matmul(y, np.matmul(a, dAT)), np.matmul(yT, y)))
    K = np.matmul(y, dA)
    return (np.matmul(mH(K) - K - np.matmul(np.matmul(y, a), mH(K)), y)
            + np.matmul(np.matmul(y, yT), dAT - np.matmul(np.matmul(dAT, a), y)))


# --------------------------------------------------------------------------------------- lstsq
def _lstsq_vjps(rcond):
    def pinv_of(a):
        return np.linalg.pinv(a, rcond=rcond)

    def vjp_a(g, y, a, b):  # x = pinv(a) @ b
        g2 = g[:, None] if np.ndim(b) == 1 else g
        b2 = b[:, None] if np.ndim(b) == 1 else b
        return _pinv_vjp(np.matmul(g2, mH(b2)), pinv_of(a), a)

    def vjp_b(g, y, a, b):
        return np.matmul(mH(pinv_of(a)), g)
    return vjp_a, vjp_b


def _lstsq_jvps(rcond):
    def jvp_a(t, y, a, b):  # d(pinv(a) @ b)
        return np.matmul(_pinv_jvp(t, np.linalg.pinv(a, rcond=rcond), a), b)

    def jvp_b(t, y, a, b):
        return np.matmul(np.linalg.pinv(a, rcond=rcond), t)
    return jvp_a, jvp_b


def _residual_vjps():
    # residuals = sum(|a @ x - b|**2, axis=0), with x a parent: the exact partials (real residuals; for complex
    # a, b, x the gradients g r x^H, -g r, a^H g r, times 2, follow PyTorch's convention)
    def r_of(a, b, x):
        return np.matmul(a, x) - b

    def vjp_a(g, y, a, b, x):
        gr = g * r_of(a, b, x)
        return 2 * (gr[:, None] * _conj(x)[None, :] if np.ndim(x) == 1 else np.matmul(gr, mH(x)))

    def vjp_b(g, y, a, b, x):
        return -2 * (g * r_of(a, b, x))

    def vjp_x(g, y, a, b, x):
        return 2 * np.matmul(mH(a), g * r_of(a, b, x))
    return vjp_a, vjp_b, vjp_x


_RESIDUAL_VJPS = _residual_vjps()
def _re_dot(r, d):
    """Re sum(conj(r) * d) over the rows: the derivative of sum(|r|^2) / 2 along d."""
    out = _sum(_conj(r) * d, axis=0)
    return np.real(out) if is_complex(out) else out


_RESIDUAL_JVPS = (lambda t, y, a, b, x: 2 * _re_dot(np.matmul(a, x) - b, np.matmul(t, x)),
                  lambda t, y, a, b, x: -2 * _re_dot(np.matmul(a, x) - b, t),
                  lambda t, y, a, b, x: 2 * _re_dot(np.matmul(a, x) - b, np.matmul(a, t)))


def _singular_vectors(a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return u, vh


def _singular_values_vjp(g, y, a):
    # d s_j = Re(u_j^H da v_j): the gradient U diag(g) Vh (svdvals')
    u, vh = _singular_vectors(a)
    return np.matmul(u * np.real(g)[None, :], vh)


def _singular_values_jvp(t, y, a):
    u, vh = _singular_vectors(a)
    d = np.sum(np.conj(u) * np.matmul(t, mH(vh)), axis=0)
    return np.real(d) if is_complex(d) else d


def _rank_cut(s, rank):
    """A relative cut-off for ``pinv`` that keeps the ``rank`` singular values LAPACK kept. (LAPACK's gelsd
    does not take ``rcond`` as given: ``rcond <= 0`` and ``rcond >= 1`` mean its machine precision, so the
    derivatives must not be ``pinv(a, rcond)``'s, which would drop all or none.) Half-way, in log scale,
    between the smallest kept and the largest dropped value, so that the SVD ``pinv`` recomputes cuts there."""
    s = np.asarray(s)
    if s.size == 0 or rank >= s.size:
        return 0.0
    if rank == 0 or not s[0] > 0:
        return 1.0
    return float(np.sqrt(s[rank - 1] * s[rank]) / s[0])


@batching_rule("loop")
def lstsq(a, b, rcond=None):
    """Least-squares solution of ``a @ x = b``, as ``np.linalg.lstsq`` (``a`` 2-D, ``b`` 1-D or 2-D):
    returns ``(x, residuals, rank, s)``. ``x`` (the minimum-norm solution) and ``residuals``
    (squared 2-norms of ``b - a @ x`` per column; empty when ``rank < N`` or ``M <= N``) are
    differentiable, as in PyTorch; ``rank`` is NumPy's integer; ``s`` (the singular values of ``a``, NumPy's
    values) is differentiable in ``a`` too, as ``svdvals(a)`` (PyTorch returns it without a gradient: a loss
    reading it lost that part of its gradient)."""
    ad = matrix_arg(a, "lstsq", complex_ok=True)
    bd = np.asarray(data_of(b, "lstsq"))
    if ad.ndim != 2 or bd.ndim not in (1, 2):
        raise LinAlgError(f"lstsq: a must be 2-D and b 1-D or 2-D, got shapes {ad.shape} and {bd.shape}")
    if bd.shape[0] != ad.shape[0]:
        raise LinAlgError(f"lstsq: a of shape {ad.shape} and b of shape {bd.shape} have different numbers of rows")
    with lapack("lstsq", ad.shape, bd.shape):
        x, res, rank, s = np.linalg.lstsq(ad, bd, rcond=rcond)
    cut = _rank_cut(s, rank)
    xt = _make(x, "lstsq", (a, b), (ad, bd), _lstsq_vjps(cut), _lstsq_jvps(cut))
    if res.size:
        res = _make(res, "lstsq_residuals", (a, b, xt), (ad, bd, x), _RESIDUAL_VJPS, _RESIDUAL_JVPS)
    else:
        res = _wrap(res)
    st = _make(s, "lstsq_singular_values", (a,), (ad,), (_singular_values_vjp,), (_singular_values_jvp,))
    return LstsqResult(xt, res, rank, st)  # rank: NumPy's integer scalar
