"""``np.linalg`` ops with one differentiable output: inverses and solves, determinants, Cholesky,
pseudo-inverse and least squares, batched over leading dimensions as NumPy does. The
decompositions with several outputs (eigh, svd, qr) are in ``ops/decomp.py``, ``pinv`` and ``lstsq`` in
``ops/lstsq.py``, the norms (and
``cond``, ``matrix_rank``) in ``ops/norms.py``. At the end: the functions built from other ops
(``matrix_power``, ``multi_dot``, ``tensorsolve``, ``tensorinv``) and NumPy 2's ``np.linalg``
aliases of array functions (``matmul``, ``outer``, ``vecdot``, ``trace``, ``diagonal``...).

Each op is one NumPy call forward and a VJP beside it, written with NumPy calls that dispatch to
npgrad ops on Tensors, so every VJP is differentiable again (create_graph). The formulas are the
standard stable ones PyTorch uses (FunctionsManual.cpp): solves instead of explicit inverses, the
Cholesky gradient by two triangular solves. NumPy has no triangular solver; ``np.linalg.solve`` on
the triangular factor was measured against a batched back-substitution in NumPy: the same residuals
(~1e-15), and faster or as fast single-threaded (n = 10: 18 vs 278 us; n = 100: 0.36 vs 1.5 ms;
64 x 8x8: 138 vs 114 us), and it dispatches to the differentiable ``solve`` under create_graph.
"""
import collections
import math
import operator

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make, _wrap
from ._matrix import LinAlgError, check_matrix, eye_like, is_complex, lapack, mH, mT, matrix_arg, tril
from ._util import batching_rule, data_of, zeros_grad
from .complex import conj
from .contract import dot, einsum, outer as _outer
from .elementwise import mul
from .reduce import sum as _sum
from .shape import moveaxis, stack, swapaxes

SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])


def _data(x):
    return x.data if isinstance(x, Tensor) else x


# ------------------------------------------------------------------------------ det / slogdet
def _prod_others(s):
    """For each i, the product of s[..., j] over j != i (exclusive products from both sides: exact
    with zeros, no division)."""
    ones = np.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(s, axis=-1)[..., :-1]], axis=-1), axis=-1), axis=-1)
    return left * right


def _det_vjp(g, y, a):
    n = a.shape[-1]
    if n == 0 or 0 in a.shape:  # empty matrices or stack: a constant zero, no graph (as PyTorch's)
        return np.zeros(a.shape, dtype=g.dtype)
    tiny = 100 * np.finfo(_data(y).dtype).eps
    if np.all(np.abs(_data(y)) >= tiny):  # d det / dA = det * A^-T: a solve, not an inverse
        return np.linalg.solve(mT(a), (g * y)[..., None, None] * eye_like(a))
    # (nearly) singular somewhere: the adjugate from the SVD A = U S Vh,
    # adj(A)^T = det(U) det(Vh) conj(U) diag(prod_{j != i} s_j) conj(Vh) (conj: complex A; this formula is
    # d det / dA unconjugated, as every VJP formula: autograd/complex_rules.py conjugates it for complex A)
    U, S, Vh = np.linalg.svd(a)
    alpha = np.linalg.det(U) * np.linalg.det(Vh) * g
    if a.dtype.kind == "c":
        U, Vh = np.conj(U), np.conj(Vh)
    return np.matmul(U * (alpha[..., None] * _prod_others(S))[..., None, :], Vh)


def _matrix_scalar_jvps(vjp):
    """The JVP of a scalar function of (stacks of) matrices from its VJP: ``<dF/dA, dA>`` per matrix."""
    return (lambda t, y, a: _sum(vjp(np.ones(np.shape(y), y.dtype), y, a) * t, axis=(-2, -1)),)


@batching_rule("leading")
def det(a):
    """Determinant of (stacks of) square matrices, as ``np.linalg.det``. Its gradient is
    ``det * inv(a).T`` (by a solve), and the adjugate (from the SVD) where ``|det|`` is below
    ``100 * eps``, so singular matrices get PyTorch's exact gradient."""
    ad = matrix_arg(a, "det", square=True, complex_ok=True)
    with lapack("det", ad.shape):
        out = np.linalg.det(ad)
    return _make(np.asarray(out), "det", (a,), (ad,), (_det_vjp,), _matrix_scalar_jvps(_det_vjp))


def _logabsdet_vjp(g, y, a):  # g A^-H (a complex gradient for complex A: logabsdet = Re log det)
    with _singular_derivative(a):
        return np.linalg.solve(mH(a), g[..., None, None] * eye_like(a))


def _singular_derivative(a):
    """The derivatives of slogdet at a singular matrix (logabsdet = -inf) are infinite: a LinAlgError naming
    slogdet (not LAPACK's bare 'Singular matrix')."""
    return lapack("slogdet (its derivative at a singular matrix is infinite)", a.shape)


def _logabsdet_jvp(t, y, a):  # Re tr(A^-1 dA)
    d = _trace_inv_prod(a, t)
    return np.real(d) if is_complex(d) else d


def _trace_inv_prod(a, t):
    with _singular_derivative(a):
        return np.einsum("...ii->...", np.linalg.solve(a, t))


def _sign_vjp(g, sign, a):  # sign = exp(i theta), theta = Im log det: g_theta = Im(g conj(sign)), gA = i g_theta A^-H
    gt = np.imag(g * np.conj(sign))
    gt = gt if isinstance(gt, Tensor) else np.asarray(gt)
    with _singular_derivative(a):
        return np.linalg.solve(mH(a), (1j * gt)[..., None, None] * eye_like(a))


def _sign_jvp(t, sign, a):  # d sign = i sign Im tr(A^-1 dA)
    return 1j * sign * np.imag(_trace_inv_prod(a, t))


@batching_rule("leading")
def slogdet(a):
    """Sign and natural log of the absolute determinant, as ``np.linalg.slogdet`` (a named pair
    ``(sign, logabsdet)``). ``logabsdet`` is differentiable (gradient ``inv(a).T``, by a solve);
    ``sign`` is piecewise constant and has none."""
    ad = matrix_arg(a, "slogdet", square=True, complex_ok=True)
    with lapack("slogdet", ad.shape):
        sign, logabs = np.linalg.slogdet(ad)
    logabs = _make(np.asarray(logabs), "slogdet", (a,), (ad,), (_logabsdet_vjp,), (_logabsdet_jvp,))
    if not is_complex(ad):
        return SlogdetResult(_wrap(np.asarray(sign)), logabs)
    return SlogdetResult(_make(np.asarray(sign), "slogdet_sign", (a,), (ad,), (_sign_vjp,), (_sign_jvp,)), logabs)


_versions.reads("slogdet", "x")        # (npgrad/autograd/versions.py) logabsdet's VJP solves with A alone,
_versions.reads("slogdet_sign", "xy")  # the sign's reads the sign too


# ---------------------------------------------------------------------------------- inv / solve
def _inv_vjp(g, y, a):
    yT = mT(y)
    return -np.matmul(yT, np.matmul(g, yT))


@batching_rule("leading")
def inv(a):
    """Inverse of (stacks of) square matrices, as ``np.linalg.inv``; a singular matrix raises
    ``LinAlgError`` naming ``inv``. Gradient: ``-inv(a).T @ g @ inv(a).T``."""
    ad = matrix_arg(a, "inv", square=True, complex_ok=True)
    with lapack("inv", ad.shape):
        out = np.linalg.inv(ad)
    return _make(out, "inv", (a,), (ad,), (_inv_vjp,), (lambda t, y, a: -np.matmul(y, np.matmul(t, y)),))


_versions.reads("inv", "y")  # its VJP and JVP read the inverse only: the matrix may be written after


def _solve_vjp_b(g, y, a, b):  # gb = a^-T g
    if np.ndim(b) == 1:
        return np.linalg.solve(mT(a), g[..., None])[..., 0]
    return np.linalg.solve(mT(a), g)


def _solve_vjp_a(g, y, a, b):  # ga = -gb x^T
    gb = _solve_vjp_b(g, y, a, b)
    if np.ndim(b) == 1:
        return -(gb[..., :, None] * y[..., None, :])
    return -np.matmul(gb, mT(y))


@batching_rule("solve")
def solve(a, b):
    """Solve ``a @ x = b`` for ``x``, as ``np.linalg.solve`` (NumPy 2 rules: ``b`` is a vector
    only when it is 1-D, else a stack of (M, K) matrices; batch dims broadcast). Gradients:
    ``gb = solve(a.T, g)``, ``ga = -gb @ x.T``."""
    ad = matrix_arg(a, "solve", square=True, complex_ok=True)
    bd = np.asarray(data_of(b, "solve"))
    with lapack("solve", ad.shape, bd.shape):
        try:
            out = np.linalg.solve(ad, bd)
        except ValueError as e:
            if isinstance(e, LinAlgError):
                raise
            raise ValueError(f"solve: a of shape {ad.shape} and b of shape {bd.shape} do not fit (b is a vector "
                             f"only when 1-D, else a stack of (M, K) matrices): {e}") from None
    return _make(out, "solve", (a, b), (ad, bd), (_solve_vjp_a, _solve_vjp_b), _SOLVE_JVPS)


def _solve_jvp_a(t, y, a, b):  # dx = -a^-1 (da x)
    if np.ndim(b) == 1:
        return -solve(a, np.matmul(t, y[..., None]))[..., 0] if np.ndim(y) > 1 else -solve(a, np.matmul(t, y))
    return -solve(a, np.matmul(t, y))


_SOLVE_JVPS = (_solve_jvp_a, lambda t, y, a, b: solve(a, t))


# -------------------------------------------------------------------------------------- cholesky
def _cholesky_vjp(g, L, a):
    # PyTorch's cholesky_backward: gA = L^-H Phi L^-1, Phi = tril(L^H gL) with the strict lower part's conjugate
    # transpose added and halved (the transposes are conjugate ones for complex Hermitian A)
    phi = tril(np.matmul(mH(L), g))
    phi = 0.5 * (phi + mH(tril(phi, -1)))
    left = np.linalg.solve(mH(L), phi)                  # L^-H Phi
    return mT(np.linalg.solve(mT(L), mT(left)))         # (L^-H Phi) L^-1


def _cholesky_jvp(t, L, a):
    # PyTorch's cholesky_jvp: dL = L (tril(X) - diag(X) / 2), X = L^-1 dA L^-H
    X = mH(np.linalg.solve(L, mH(np.linalg.solve(L, t))))
    return np.matmul(L, tril(X) - 0.5 * X * eye_like(X))


def _cholesky_upper_vjp(g, U, a):  # PyTorch's upper case: the lower formula on L = U^H, gL = gU^H
    return _cholesky_vjp(mH(g), mH(U), a)


def _cholesky_upper_jvp(t, U, a):  # PyTorch's: dA itself (not dA^H) with L = U^H
    return mH(_cholesky_jvp(t, mH(U), a))


@batching_rule("leading")
def cholesky(a, /, *, upper=False):
    """Cholesky factor of (stacks of) symmetric (Hermitian) positive-definite matrices, as
    ``np.linalg.cholesky``: lower ``L`` with ``a = L @ L.conj().T`` (reading the lower triangle), or upper
    ``U`` with ``a = U.conj().T @ U`` when ``upper=True`` (reading the upper triangle, as NumPy and PyTorch);
    the gradient is PyTorch's."""
    ad = matrix_arg(a, "cholesky", square=True, complex_ok=True)
    with lapack("cholesky", ad.shape):
        L = np.linalg.cholesky(ad, upper=bool(upper))
    if upper:
        return _make(L, "cholesky", (a,), (ad,), (_cholesky_upper_vjp,), (_cholesky_upper_jvp,))
    return _make(L, "cholesky", (a,), (ad,), (_cholesky_vjp,), (_cholesky_jvp,))


# ------------------------------------------------------------------ built from other ops
@batching_rule("leading")
def matrix_power(a, n):
    """``a`` raised to the integer power ``n`` by repeated squaring, as ``np.linalg.matrix_power``
    (the same products in the same order); ``n < 0`` inverts first, ``n == 0`` gives identities."""
    ad = matrix_arg(a, "matrix_power", square=True, complex_ok=True)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: the exponent must be an integer, not {n!r}") from None
    a = a if isinstance(a, Tensor) else _wrap(ad)
    if n == 0:  # identities, with a zero gradient (as PyTorch)
        eye = np.broadcast_to(np.eye(ad.shape[-1], dtype=ad.dtype), ad.shape).copy()
        return _make(eye, "matrix_power_0", (a,), (ad,), (lambda g, y, a: zeros_grad(g),),
                     (lambda t, y, a: zeros_grad(y),))
    if n < 0:
        a, n = inv(a), -n
    if n == 1:  # a copy, in a's dtype (a * 1 made a bool matrix int64)
        return a.copy()
    if n <= 3:
        return a @ a if n == 2 else (a @ a) @ a
    z = result = None
    while n > 0:
        z = a if z is None else z @ z
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else result @ z
    return result


def _chain_order(shapes):
    """The optimal parenthesization of a matrix chain (dynamic programming, as NumPy's multi_dot):
    ``split[i][j]`` is where the product of matrices i..j is split."""
    p = [shapes[0][0]] + [s[1] for s in shapes]
    n = len(shapes)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(arrays, *, out=None):
    """Product of a chain of matrices in the cheapest order, as ``np.linalg.multi_dot`` (a 1-D
    first / last operand is a row / column vector); differentiable through its matmuls."""
    if out is not None:
        raise TypeError("multi_dot: out= is not supported (npgrad ops return new tensors)")
    arrays = [x if isinstance(x, Tensor) else _wrap(np.asarray(x)) for x in arrays]
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    if len(arrays) == 2:
        return dot(arrays[0], arrays[1])
    first, last = arrays[0].ndim == 1, arrays[-1].ndim == 1
    if first:
        arrays[0] = arrays[0].reshape(1, -1)
    if last:
        arrays[-1] = arrays[-1].reshape(-1, 1)
    for x in arrays:
        if x.ndim != 2:
            raise LinAlgError(f"multi_dot: the operands must be 2-D (the first and last may be 1-D), got shapes "
                              f"{[tuple(x.shape) for x in arrays]}")
    split = _chain_order([x.shape for x in arrays])

    def product(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return dot(product(i, k), product(k + 1, j))
    result = product(0, len(arrays) - 1)
    if first and last:
        return result.reshape(())
    if first or last:
        return result.reshape(-1)
    return result


@batching_rule("tensorinv")
def tensorinv(a, ind=2):
    """The 'inverse' of an N-d array for ``tensordot(ainv, a, ind)``, as ``np.linalg.tensorinv``."""
    ad = np.asarray(data_of(a, "tensorinv"))
    if ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive integer, not {ind}")
    out_shape = ad.shape[ind:] + ad.shape[:ind]
    rows = math.prod(ad.shape[:ind])
    if math.prod(ad.shape[ind:]) != rows:
        raise LinAlgError(f"tensorinv: the first {ind} dims of shape {ad.shape} and the rest have different sizes")
    a = a if isinstance(a, Tensor) else _wrap(ad)
    with lapack("tensorinv", ad.shape):
        return inv(a.reshape(rows, rows)).reshape(out_shape)


@batching_rule("tensorsolve")
def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, axes=x.ndim) = b`` for ``x``, as ``np.linalg.tensorsolve``."""
    ad = np.asarray(data_of(a, "tensorsolve"))
    bd = np.asarray(data_of(b, "tensorsolve"))
    a = a if isinstance(a, Tensor) else _wrap(ad)
    b = b if isinstance(b, Tensor) else _wrap(bd)
    if axes is not None:
        order = [k for k in range(ad.ndim) if k not in [ax % ad.ndim for ax in axes]]
        order += [ax % ad.ndim for ax in axes]
        a = a.transpose(order)
    x_shape = a.shape[-(a.ndim - bd.ndim):] if a.ndim > bd.ndim else ()
    size = math.prod(x_shape)
    if math.prod(a.shape[:bd.ndim]) != size:
        raise LinAlgError(f"tensorsolve: a of shape {ad.shape} (axes={axes}) and b of shape {bd.shape} do not "
                          f"make a square system")
    with lapack("tensorsolve", ad.shape, bd.shape):
        return solve(a.reshape(size, size), b.reshape(-1)).reshape(x_shape)


# ------------------------------------------------------- NumPy 2's np.linalg aliases of array functions
def _shape(x, where):
    """The shape of an op argument, its values unread (a batched tensor's per-sample shape inside vmap)."""
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(data_of(x, where))


def matrix_transpose(x, /):
    """Transpose of the last two axes, as ``np.linalg.matrix_transpose``."""
    if not isinstance(x, Tensor):
        x = _wrap(matrix_arg(x, "matrix_transpose", complex_ok=True))
    check_matrix(x, "matrix_transpose", complex_ok=True)
    return swapaxes(x, -1, -2)


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of the last two axes, as ``np.linalg.diagonal``: read-only, as NumPy's."""
    x = x if isinstance(x, Tensor) else _wrap(matrix_arg(x, "diagonal", complex_ok=True))
    check_matrix(x, "diagonal", complex_ok=True)
    n, m = x.shape[-2:]
    size = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    r, c = max(0, -offset), max(0, offset)
    out = einsum("...ii->...i", x[..., r:r + size, c:c + size])
    if type(out) is Tensor:  # (not a batched tensor under vmap) a write could not reach x: refuse it, as NumPy
        out.data.flags.writeable = False
    return out


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset`` diagonal of the last two axes, as ``np.linalg.trace``."""
    return _sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def outer(x1, x2, /):
    """Outer product of two 1-D arrays, as ``np.linalg.outer``."""
    s1, s2 = _shape(x1, "outer"), _shape(x2, "outer")
    if len(s1) != 1 or len(s2) != 1:
        raise ValueError(f"outer: np.linalg.outer takes 1-D vectors, got shapes {s1} and {s2} (np.outer flattens)")
    return _outer(x1, x2)


def vecdot(x1, x2, /, *, axis=-1):
    """Dot products of vectors along ``axis`` (inputs broadcast), as ``np.linalg.vecdot`` (which conjugates
    ``x1`` when complex)."""
    s1, s2 = _shape(x1, "vecdot"), _shape(x2, "vecdot")
    try:
        n1, n2 = s1[axis], s2[axis]
    except IndexError:
        raise ValueError(f"vecdot: axis {axis} is out of range for shapes {s1} and {s2} (the vectors must be at "
                         f"least 1-D)") from None
    if n1 != n2:
        raise ValueError(f"vecdot: shapes {s1} and {s2} differ along axis {axis} ({n1} vs {n2})")
    dt = np.result_type(*(x.dtype if isinstance(x, Tensor) else data_of(x, "vecdot") for x in (x1, x2)))
    # (integers and bools keep their dtype, as NumPy's gufunc: np.sum alone would widen them)
    return _sum(mul(conj(x1), x2), axis=axis, dtype=dt if dt.kind in "biu" else None)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis`` (inputs broadcast), as ``np.linalg.cross``."""
    s1, s2 = (tuple(x.shape) if isinstance(x, Tensor) else np.shape(x) for x in (x1, x2))  # (vmap: per sample)
    if not s1 or not s2 or s1[axis] != 3 or s2[axis] != 3:
        raise ValueError(f"cross: both inputs must have 3 elements along axis {axis}, got shapes {s1} and {s2}")
    a = moveaxis(x1 if isinstance(x1, Tensor) else _wrap(np.asarray(x1)), axis, -1)
    b = moveaxis(x2 if isinstance(x2, Tensor) else _wrap(np.asarray(x2)), axis, -1)
    parts = [a[..., i] * b[..., j] - a[..., j] * b[..., i] for i, j in ((1, 2), (2, 0), (0, 1))]
    return moveaxis(stack(parts, axis=-1), -1, axis)
