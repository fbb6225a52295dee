"""Matrix functions: ``npg.linalg.sqrtm``, ``logm``, ``fractional_matrix_power``, ``signm``, ``funm`` by
eigendecomposition, and ``sinm cosm tanm sinhm coshm tanhm`` from ``expm`` (SciPy's names, arguments and return
conventions), batched over leading dimensions.

Forward: NumPy has no Schur decomposition, so ``f(A) = V diag(f(lambda)) V^-1``. A Hermitian matrix (exactly
equal to its conjugate transpose) goes through ``eigh``: V is unitary and the result as accurate as the
eigenvalues. Any other matrix goes through ``eig``; the error is then about ``cond(V) * eps`` relative, so a
matrix whose eigenvector matrix has a 2-norm condition number above ``COND_LIMIT`` (1e6: results then good to
about 1e-10; a defective or nearly defective matrix, such as a Jordan block) is computed instead by an
iteration (``ops/_matfun_iter.py``: Denman-Beavers for sqrtm, inverse scaling and squaring for logm, a chain of
square roots for fractional_matrix_power, Newton for signm; only the refused matrices of a stack), and funm, which
has none, raises ``LinAlgError`` naming the op and that condition number. The iterations refuse (LinAlgError) a
defective matrix with an eigenvalue at or near 0 or the branch cut, where neither method would be accurate
(SciPy's Schur methods return a result there). Everything is computed in double precision; SciPy's dtypes:
float32 stays float32 for sqrtm, signm, funm and the trigonometric functions, and gives float64 for logm and
fractional_matrix_power.
A real matrix gives a complex result, as in SciPy, when an eigenvalue is on the negative real axis (sqrtm,
logm), when an eigenvalue is negative or not real (fractional_matrix_power: SciPy's complex Schur form), and
for funm when the imaginary part is not negligible (SciPy's ``_maybe_real``).

Gradients: the Fréchet derivative by Daleckii-Krein, ``L(A, E) = V [(V^-1 E V) o F] V^-1`` with ``F_ij`` the
divided difference ``(f(l_i) - f(l_j)) / (l_i - l_j)`` and ``F_ii = f'(l_i)``: exact for signm (its jumps),
else ``f'`` at the mean for eigenvalues within 1e-5 (relative) of each other, an error of order 1e-10, and the
quotient otherwise. The VJP is the adjoint ``L*(A, G) = V^-H [(V^H G V^-H) o conj(F)] V^H`` (its real part for
a real ``A``), the JVP ``L(A, dA)``; both are one recorded op, ``matfun_frechet``, linear in its second
argument (so a gradient taken with ``create_graph=True`` is differentiable with respect to the cotangent), whose
derivative with respect to the matrix (a second derivative of the matrix function) raises NotImplementedError.
For the iterated matrices the Fréchet derivative is the upper-right block of f([[A, E], [0, A]]) by the same
iteration (``L*(A, G) = L(A^H, G)``: these functions have f(conj z) = conj f(z)). sqrtm's derivative instead
solves the Sylvester equation ``X dX + dX X = dA`` (``solve_sylvester``): any order.
The trigonometric and hyperbolic functions are composites of ``expm`` (as SciPy's): any matrix, any order.
"""
import math

import numpy as np

from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._matrix import LinAlgError, mH, matrix_arg
from ._util import batching_rule, data_of
from . import _funm_user as _user, _matfun_iter as _it
from .linalg_sylvester import COND_LIMIT, eig_split, refused_error  # noqa: F401  (COND_LIMIT: documented here)

declare(OWN, "sqrtm", "logm", "fractional_matrix_power", "signm", "funm", "matfun_frechet")

_CLOSE = 1e-5


# ------------------------------------------------------------------------------ the functions
class _Fn:
    """A scalar function for the eigendecomposition: ``f`` and ``df`` on complex arrays, ``dd(li, lj, fi, fj)``
    an exact divided-difference table (or None: generic), ``cut``: its principal branch is complex on the
    negative real axis (a real matrix with such an eigenvalue gives a complex result; "schur": also with a
    non-real one), ``keep32``: float32 in, float32 out (SciPy's rule for that function), ``relative``:
    closeness of eigenvalues is relative (True) or measured against max(1, |l|) (False), ``maybe_real``: a real
    input gives a real result when its imaginary part is negligible (funm)."""

    def __init__(self, name, f, df, dd=None, cut=False, keep32=True, relative=True, maybe_real=False,
                 fallback=None):
        self.name, self.f, self.df, self.dd, self.cut, self.keep32 = name, f, df, dd, cut, keep32
        self.relative, self.maybe_real, self.fallback = relative, maybe_real, fallback


def _sign(z):
    """SciPy's ``rounded_sign``: the sign of the real part, 0 within 1e3 eps max|l| of the imaginary axis."""
    c = 1e3 * np.finfo(np.float64).eps * np.max(np.abs(z), axis=-1, keepdims=True) if z.size else 0
    return np.sign((np.abs(z.real) > c) * z.real).astype(z.dtype)


def _sign_dd(li, lj, fi, fj):
    jump = fi != fj
    return np.where(jump, (fi - fj) / np.where(jump, li - lj, 1), 0)


_SQRT = _Fn("sqrtm", np.sqrt, lambda z: 0.5 / np.sqrt(z), cut=True,   # (its derivative: a Sylvester equation)
            fallback=lambda A: _it.sqrtm_db(A, "sqrtm"))
_LOG = _Fn("logm", np.log, lambda z: 1.0 / z, cut=True, keep32=False, fallback=lambda A: _it.logm_iss(A, "logm"))
_SIGN = _Fn("signm", _sign, lambda z: np.zeros_like(z), _sign_dd, fallback=lambda A: _it.signm_newton(A, "signm"))


def _power_fn(t):
    def fallback(A):
        return _it.power_chain(A, t, "fractional_matrix_power")
    return _Fn("fractional_matrix_power", lambda z: np.exp(t * np.log(z)) if t else np.ones_like(z),
               lambda z: t * np.exp((t - 1) * np.log(z)), cut="schur", keep32=False, fallback=fallback)


def _user_fn(func):
    """``funm``'s ``func``: its derivative and divided differences by ``ops/_funm_user.py``. The eigenvalues
    reach ``func`` as a complex array, as SciPy's (its complex Schur form's diagonal)."""
    def f(z):
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(func(z))
        if out.shape != z.shape:
            raise ValueError(f"funm: func must be vectorized: it returned shape {out.shape} for eigenvalues of "
                             f"shape {z.shape}")
        return out.astype(np.result_type(out.dtype, np.complex128), copy=False)

    def df(z):
        return _user.derivative(f, z)

    def dd(li, lj, fi, fj):
        return _user.divided(f, li, lj, fi, fj)
    return _Fn("funm", f, df, dd, maybe_real=True)


# ------------------------------------------------------------------------------ NumPy core
def _stack(a):
    """(double-precision stack (N, n, n), was complex?)"""
    n = a.shape[-1]
    work = np.complex128 if a.dtype.kind == "c" else np.float64
    return a.reshape((math.prod(a.shape[:-2]), n, n)).astype(work), a.dtype.kind == "c"


def _out_dtype(a, fn, complex_out):
    single = a.dtype in (np.float32, np.complex64) and fn.keep32
    if complex_out:
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def _values(w, fn):
    with np.errstate(divide="ignore", invalid="ignore"):
        return fn.f(w)


def _real_ok(w, fn, was_complex, X):
    """A real input gives a real result: no eigenvalue on the cut (real input: eig's real eigenvalues have an
    exact 0 imaginary part); for funm, SciPy's rule: the imaginary part is within 1e-10 of 0."""
    if was_complex:
        return False
    if fn.maybe_real:
        return X.size == 0 or bool(np.all(np.abs(X.imag) <= 1e6 * np.finfo(np.float64).eps))
    if fn.cut == "schur":       # SciPy's fractional_matrix_power: complex once its Schur form is
        return not np.any((w.imag != 0) | (w.real < 0))
    return not (fn.cut and np.any((w.imag == 0) & (w.real < 0)))


def funm_np(a, fn):
    """``fn`` of a stack of square matrices (the forward pass)."""
    A, cplx = _stack(a)
    n = a.shape[-1]
    if n == 0 or A.shape[0] == 0:
        return np.zeros(a.shape, _out_dtype(a, fn, cplx))
    w, V, Vi, bad = _split(A, fn)
    good = ~bad
    fw = _values(w[good], fn)
    if not np.all(np.isfinite(fw)):
        raise LinAlgError(f"{fn.name}: the function is not defined at an eigenvalue of the matrix (a singular "
                          f"matrix for logm or a negative power; an eigenvalue on the imaginary axis for signm)")
    X = np.empty(A.shape, np.complex128)
    X[good] = (V[good] * fw[:, None, :]) @ Vi[good]
    if bad.any():
        Ab = A[bad]
        X[bad] = fn.fallback(Ab if cplx or _real_ok(w[bad], fn, cplx, None) else Ab.astype(np.complex128))
    real = _real_ok(w, fn, cplx, X)
    X = X.real if real else X
    return X.reshape(a.shape).astype(_out_dtype(a, fn, not real), copy=False)


def _split(A, fn):
    """:func:`eig_split` with the refused matrices' eigenvalues checked for ``fn``'s iteration (or an error)."""
    w, V, Vi, bad, cond = eig_split(A, fn.name)
    if bad.any():
        if fn.fallback is None:
            raise refused_error(fn.name, A, bad, cond)
        w[bad] = _fallback_eigvals(A[bad], fn)
    return w, V, Vi, bad


def _fallback_eigvals(A, fn):
    """The eigenvalues of matrices the eigendecomposition refused, checked for the iterations: none at or near
    (relative 1e-6: a defective eigenvalue is perturbed by about eps^(1/k)) the branch cut or the singularity."""
    w = np.linalg.eigvals(A)
    scale = np.maximum(np.max(np.abs(w), axis=-1, keepdims=True), 1e-300)
    if fn.cut and np.any((w.real <= 1e-6 * scale) & (np.abs(w.imag) <= 1e-6 * scale)):
        raise LinAlgError(f"{fn.name}: the matrix is defective (or nearly) with an eigenvalue at or near 0 or the "
                          f"negative real axis: neither the eigendecomposition nor the iteration is accurate there")
    if fn is _SIGN and np.any(np.abs(w.real) <= 1e-6 * scale):
        raise LinAlgError("signm: the matrix is defective (or nearly) with an eigenvalue near the imaginary axis: "
                          "neither the eigendecomposition nor the iteration is accurate there")
    return w


def _block_frechet(A, E, real, fn, adjoint):
    """``L(A, E)`` by the iteration on ``[[A, E], [0, A]]`` (``L*(A, E) = L(A^H, E)``: f(conj z) = conj f(z)
    for these functions); E is scaled to A's 1-norm (L is linear in E)."""
    M = mH(A) if adjoint else A
    n = A.shape[-1]
    c = np.maximum(np.max(np.sum(np.abs(E), axis=-2), axis=-1), 1e-300) / \
        np.maximum(np.max(np.sum(np.abs(M), axis=-2), axis=-1), 1e-300)
    c = c[:, None, None]
    B = np.zeros((A.shape[0], 2 * n, 2 * n), np.complex128)
    B[:, :n, :n] = B[:, n:, n:] = M
    B[:, :n, n:] = E / c
    if real:
        B = B.real
    return fn.fallback(B)[:, :n, n:] * c


def _divided(w, fn):
    """The Daleckii-Krein table F (N, n, n) of divided differences of f at the eigenvalues."""
    li, lj = w[:, :, None], w[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fw = fn.f(w)
        fi, fj = fw[:, :, None], fw[:, None, :]
        if fn.dd is not None:
            return fn.dd(li, lj, fi, fj)
        d = li - lj
        scale = np.maximum(np.abs(li), np.abs(lj))
        if not fn.relative:
            scale = np.maximum(scale, 1.0)
        close = np.abs(d) <= _CLOSE * scale
        if fn.cut:   # close eigenvalues on either side of the branch cut (the negative real axis): f jumps there,
            close &= ~((np.real(li + lj) < 0) & (np.signbit(li.imag) != np.signbit(lj.imag)))   # so the quotient
        return np.where(close, fn.df((li + lj) / 2), (fi - fj) / np.where(close, 1, d))


def frechet_np(a, e, fn, adjoint):
    """``L(A, E)`` (``adjoint``: ``L*(A, E)``) for stacks ``a``, ``e`` whose leading dimensions broadcast."""
    shape = np.broadcast_shapes(a.shape, e.shape)
    a, e = np.broadcast_to(a, shape), np.broadcast_to(e, shape)
    A, cplx = _stack(a)
    E = e.reshape(A.shape).astype(np.complex128)
    if A.shape[-1] == 0 or A.shape[0] == 0:
        return np.zeros(shape, np.result_type(a.dtype, e.dtype, np.float64))
    w, V, Vi, bad = _split(A, fn)
    good = ~bad
    if fn is _SIGN and np.any(_sign(w[good]) == 0):
        raise LinAlgError("signm: not differentiable at a matrix with an eigenvalue on the imaginary axis")
    F = _divided(w[good], fn)
    V, Vi, Eg = V[good], Vi[good], E[good]
    out = np.empty(A.shape, np.complex128)
    if adjoint:
        Vh, Vih = mH(V), mH(Vi)
        out[good] = Vih @ ((Vh @ Eg @ Vih) * np.conj(F)) @ Vh
    else:
        out[good] = V @ ((Vi @ Eg @ V) * F) @ Vi
    if bad.any():
        real_block = not cplx and e.dtype.kind != "c" and _real_ok(w[bad], fn, False, None)
        out[bad] = _block_frechet(A[bad], E[bad], real_block, fn, adjoint)
    if not np.all(np.isfinite(out)):
        raise LinAlgError(f"{fn.name}: the derivative is not finite at this matrix (an eigenvalue where the "
                          f"function is not differentiable, such as 0 for sqrtm)")
    real = _real_ok(w, fn, cplx, out) and e.dtype.kind != "c"
    return out.real.reshape(shape) if real else out.reshape(shape)


# ------------------------------------------------------------------------------ the Fréchet derivative op
def _higher(op):
    def rule(*args):
        raise NotImplementedError(f"{op}: derivatives of order 2 and higher with respect to the matrix are not "
                                  f"implemented (the gradient is differentiable with respect to the cotangent "
                                  f"only)")
    return rule


def _cast_like(x, like):
    """The result of a VJP / JVP in ``like``'s dtype kind: the real part for a real ``like``."""
    if np.dtype(like.dtype).kind != "c" and np.dtype(x.dtype).kind == "c":
        return np.real(x)
    return x


@batching_rule("linalg_matrices")
def _frechet_op(a, e, fn, adjoint):
    ad, ed = np.asarray(data_of(a, fn.name)), np.asarray(data_of(e, fn.name))
    out = frechet_np(ad, ed, fn, adjoint)

    def vjp_e(g, y, a_, e_):
        return _cast_like(frechet(a_, g, fn, not adjoint), e_)

    def jvp_e(t, y, a_, e_):
        return frechet(a_, t, fn, adjoint)
    return _make(out, "matfun_frechet", (a, e), (ad, ed), (_higher(fn.name), vjp_e), (_higher(fn.name), jvp_e))


def frechet(a, e, fn, adjoint):
    """``L(A, E)`` or its adjoint, on NumPy values (a NumPy result) or Tensors (the recorded op)."""
    if isinstance(a, Tensor) or isinstance(e, Tensor):
        return _frechet_op(a, e, fn, adjoint)
    return frechet_np(a, e, fn, adjoint)


def _apply(A, fn, op=None):
    op = op or fn.name
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    out = funm_np(ad, fn)

    def vjp(g, y, a):
        return _cast_like(frechet(a, g, fn, True), a)

    def jvp(t, y, a):   # (a real result of a real matrix has real tangents: funm's rounding imaginary part goes)
        return _cast_like(frechet(a, t, fn, False), y)
    return _make(out, op, (A,), (ad,), (vjp,), (jvp,))


def _deprecated(op, disp, blocksize=None):
    """SciPy 1.16 deprecated ``disp`` (and sqrtm's unused ``blocksize``): accepted with the same warning. Returns
    ``disp`` (True unless given)."""
    import warnings
    if blocksize is not None and blocksize is not _UNSET:
        warnings.warn(f"{op}: the `blocksize` argument is deprecated (SciPy 1.16) and unused", DeprecationWarning,
                      stacklevel=3)
    if disp is _UNSET:
        return True
    warnings.warn(f"{op}: the `disp` argument is deprecated (SciPy 1.16)", DeprecationWarning, stacklevel=3)
    return bool(disp)


def _eig_errest(A):
    """The eigendecomposition's relative error estimate ``cond(V) n eps`` (the largest over a stack)."""
    ad = np.asarray(data_of(A, "funm"))
    if ad.size == 0:
        return 0.0
    A2, _ = _stack(ad)
    herm = np.all(A2 == mH(A2), axis=(-2, -1))
    cond = np.where(herm, 1.0, np.linalg.cond(np.linalg.eig(A2)[1]))
    return float(np.max(cond) * np.finfo(np.float64).eps * A2.shape[-1])


_UNSET = object()


# ------------------------------------------------------------------------------ public functions
def _sqrtm_vjp(g, y, a):
    """sqrtm's Fréchet derivative L solves ``X L + L X = E``: the VJP solves ``X^H Ab + Ab X^H = G``."""
    from .linalg_sylvester import sylvester_call
    yh = mH(y)
    return _cast_like(sylvester_call(yh, yh, g, "sqrtm"), a)


def _sqrtm_jvp(t, y, a):
    from .linalg_sylvester import sylvester_call
    return sylvester_call(y, y, t, "sqrtm")


@batching_rule("leading")
def sqrtm(A, disp=_UNSET, blocksize=_UNSET):
    """The principal matrix square root ``X`` (``X @ X = A``) of (stacks of) square matrices, as
    ``scipy.linalg.sqrtm``: a real matrix with an eigenvalue on the negative real axis gives a complex result;
    float32 stays float32. Eigendecomposition (``eigh`` for Hermitian matrices, else ``eig``; a defective or
    nearly defective matrix by the Denman-Beavers iteration, see the module's notes). SciPy's deprecated ``disp`` and
    ``blocksize`` are accepted with SciPy's DeprecationWarning (``disp=False``: ``(X, errest)``, SciPy's
    documented ``||X @ X - A||_F^2 / ||A||_F``). Differentiable to any order: the derivative ``dX`` solves the
    Sylvester equation ``X dX + dX X = dA`` (:func:`solve_sylvester`); at a singular matrix it does not exist
    (a LinAlgError)."""
    disp = _deprecated("sqrtm", disp, blocksize)
    ad = matrix_arg(A, "sqrtm", square=True, complex_ok=True)
    X = _make(funm_np(ad, _SQRT), "sqrtm", (A,), (ad,), (_sqrtm_vjp,), (_sqrtm_jvp,))
    if disp:
        return X
    ad, x = np.asarray(data_of(A, "sqrtm")), X.data      # SciPy's documented estimate, the largest of a stack
    num = np.linalg.norm(x @ x - ad, axis=(-2, -1)) ** 2 if x.size else np.zeros(1)
    den = np.linalg.norm(ad, axis=(-2, -1)) if x.size else np.ones(1)
    return X, float(np.max(num / np.where(den > 0, den, 1)))


@batching_rule("leading")
def logm(A, disp=_UNSET):
    """The principal matrix logarithm (``expm(logm(A)) = A``), as ``scipy.linalg.logm``: a real matrix with an
    eigenvalue on the negative real axis gives a complex result, float32 gives float64 (SciPy's). A singular
    matrix raises LinAlgError. Eigendecomposition, as :func:`sqrtm`. ``disp=False`` (deprecated in SciPy) gives
    ``(X, errest)``, SciPy's ``||expm(X) - A||_1 / ||A||_1``. Differentiable (Daleckii-Krein; first order: a
    second derivative with respect to ``A`` raises NotImplementedError)."""
    disp = _deprecated("logm", disp)
    X = _apply(A, _LOG)
    if disp:
        return X
    from .linalg_expm import expm_np
    ad, x = np.asarray(data_of(A, "logm")), X.data      # SciPy's documented estimate, the largest of a stack
    if not x.size:
        return X, 0.0
    num = np.linalg.norm(expm_np(x) - ad, 1, axis=(-2, -1))
    den = np.linalg.norm(ad, 1, axis=(-2, -1))
    return X, float(np.max(num / np.where(den > 0, den, 1)))


@batching_rule("leading")
def signm(A, disp=_UNSET):
    """The matrix sign function (the sign of each eigenvalue's real part, on the eigenvectors), as
    ``scipy.linalg.signm``, whose rule this follows: an eigenvalue within 1e3 eps max|l| of the imaginary axis
    gets the sign 0. Eigendecomposition, as :func:`sqrtm`. Differentiable (the divided differences of the sign,
    0 between eigenvalues of the same sign); not at a matrix with a 0 sign (a LinAlgError). ``disp=False``
    (deprecated in SciPy) gives ``(S, errest)`` with the eigendecomposition's estimate ``cond(V) n eps``."""
    disp = _deprecated("signm", disp)
    S = _apply(A, _SIGN)
    return S if disp else (S, _eig_errest(A))


@batching_rule("leading")
def fractional_matrix_power(A, t):
    """``A ** t`` for a real number ``t``, as ``scipy.linalg.fractional_matrix_power``: the principal power
    ``expm(t logm(A))``; an integer ``t`` is :func:`npgrad.linalg.matrix_power` (as SciPy), a non-integer one
    the eigendecomposition (as :func:`sqrtm`). SciPy's dtype rule: a real matrix gives a complex result when
    it has a negative or a non-real eigenvalue (its Schur form is complex), even though the imaginary part is
    then rounding only for a complex-conjugate pair; float32 gives float64. A singular matrix with ``t < 0``
    raises LinAlgError (SciPy returns NaNs). ``t`` is a constant (not differentiated)."""
    op = "fractional_matrix_power"
    if isinstance(t, Tensor):
        raise TypeError(f"{op}: t must be a Python or NumPy real number, not a Tensor (it is not differentiated)")
    try:
        t = float(t)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: t must be a real number, got {t!r}") from None
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    if t == int(t):
        from .linalg import matrix_power
        return matrix_power(A if isinstance(A, Tensor) else _wrap(ad), int(t))
    return _apply(A, _power_fn(t), op)


def funm(A, func, disp=True):
    """``func`` of a square matrix, as ``scipy.linalg.funm``: ``func`` is a vectorized function of an array of
    (complex) eigenvalues. Eigendecomposition (see :func:`sqrtm`) rather than SciPy's Schur-Parlett method;
    the result is real when ``A`` is real and the imaginary part of the result is negligible (SciPy's rule).
    ``disp=False`` returns ``(result, errest)`` as SciPy, with ``errest`` the eigendecomposition's estimate of
    the relative error, ``cond(V) n eps``. Batched over leading dimensions. Differentiable (first order): the
    divided differences of ``func`` at the eigenvalues; ``func``'s derivative by Ridders' extrapolation of central
    differences over many step sizes, and close eigenvalues by a quadrature of it between them
    (``ops/_funm_user.py``), whatever the scale of the eigenvalues."""
    if not callable(func):
        raise TypeError(f"funm: func must be callable, got {type(func).__name__}")
    out = _funm(A, _user_fn(func))
    return out if disp else (out, _eig_errest(A))


@batching_rule("leading")
def _funm(A, fn):
    return _apply(A, fn)


# ------------------------------------------------------------------------------ trigonometric and hyperbolic
def _expm_pair(A, op):
    """(A as a floating Tensor, is it real?, expm): the trigonometric and hyperbolic functions are composites of
    the differentiable ``expm`` (any order), as SciPy's, valid for every square matrix (no eigendecomposition)."""
    from .linalg_expm import expm
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    A = A if isinstance(A, Tensor) else _wrap(ad if ad.dtype.kind in "fc" else ad.astype(np.float64))
    real = A.dtype.kind != "c"
    return A, real, expm


@batching_rule("leading")
def cosm(A):
    """The matrix cosine, as ``scipy.linalg.cosm``: ``Re expm(iA)`` for a real ``A``, else
    ``(expm(iA) + expm(-iA)) / 2``. Composite of :func:`expm`: batched, differentiable to any order."""
    A, real, expm = _expm_pair(A, "cosm")
    if real:
        return expm(A * 1j).real
    return (expm(A * 1j) + expm(A * -1j)) * 0.5


@batching_rule("leading")
def sinm(A):
    """The matrix sine, as ``scipy.linalg.sinm``: ``Im expm(iA)`` for a real ``A``, else
    ``(expm(iA) - expm(-iA)) / 2i``. Composite of :func:`expm`: batched, differentiable to any order."""
    A, real, expm = _expm_pair(A, "sinm")
    if real:
        return expm(A * 1j).imag
    return (expm(A * 1j) - expm(A * -1j)) * -0.5j


@batching_rule("leading")
def tanm(A):
    """The matrix tangent ``cosm(A)^-1 sinm(A)``, as ``scipy.linalg.tanm`` (a singular ``cosm(A)`` raises
    LinAlgError). Composite: batched, differentiable to any order."""
    from .linalg import solve
    return solve(cosm(A), sinm(A))


@batching_rule("leading")
def coshm(A):
    """The matrix hyperbolic cosine ``(expm(A) + expm(-A)) / 2``, as ``scipy.linalg.coshm``. Composite of
    :func:`expm`: batched, differentiable to any order."""
    A, real, expm = _expm_pair(A, "coshm")
    return (expm(A) + expm(-A)) * 0.5


@batching_rule("leading")
def sinhm(A):
    """The matrix hyperbolic sine ``(expm(A) - expm(-A)) / 2``, as ``scipy.linalg.sinhm``. Composite of
    :func:`expm`: batched, differentiable to any order."""
    A, real, expm = _expm_pair(A, "sinhm")
    return (expm(A) - expm(-A)) * 0.5


@batching_rule("leading")
def tanhm(A):
    """The matrix hyperbolic tangent ``coshm(A)^-1 sinhm(A)``, as ``scipy.linalg.tanhm``. Composite:
    batched, differentiable to any order."""
    from .linalg import solve
    return solve(coshm(A), sinhm(A))
