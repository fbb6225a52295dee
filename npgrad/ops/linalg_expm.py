"""The matrix exponential: ``npg.linalg.expm`` (SciPy's name) and its alias ``matrix_exp`` (PyTorch's), batched.

Forward: Al-Mohy and Higham (2009), "A new scaling and squaring algorithm for the matrix exponential" (the
algorithm SciPy's expm uses): a [m/m] Padé approximant, m in {3, 5, 7, 9, 13} picked per matrix from the exact
1-norms of its powers (||A^k||^(1/k), which a very non-normal matrix has far below ||A||) with the ell() correction,
A scaled by 2^-s first and the result squared s times; for a triangular matrix each squaring recomputes the diagonal
and superdiagonal exactly (their Code Fragment 2.1). The thetas are Higham's (2005) for double precision. The stack
is split into groups of the same (m, s), each computed at once. float32 / complex64 matrices are computed in double
precision and cast back.

Gradients: the Fréchet derivative ``L(X, E) = d/dt expm(X + tE)`` is the upper-right block of
``expm([[X, E], [0, X]])`` (Mathias 1996). The VJP is ``L(A^H, G)`` and the JVP ``L(A, dA)`` (PyTorch's
``differential_analytic_matrix_function``); both call ``expm`` itself on the block matrix, so they are
differentiable again (any order).
"""
import math

import numpy as np

from ..autograd import versions as _versions
from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make
from ._matrix import mH, matrix_arg
from ._util import batching_rule

declare(OWN, "expm")   # its VJP is the complex one (conjugate transpose) already

_THETA = ((3, 1.495585217958292e-2), (5, 2.539398330063230e-1), (7, 9.504178996162932e-1),
          (9, 2.097847961257068e0))
_THETA13 = 5.371920351148152e0
_B = {3: (120., 60., 12., 1.),
      5: (30240., 15120., 3360., 420., 30., 1.),
      7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
      9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880., 3960., 90., 1.),
      13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)}


def _pade(A, m):
    """The [m/m] Padé approximant of exp at a stack ``A`` (N, n, n): ``(V - U)^-1 (V + U)``."""
    b = _B[m]
    ident = np.eye(A.shape[-1], dtype=A.dtype)
    A2 = A @ A
    if m == 13:
        A4 = A2 @ A2
        A6 = A4 @ A2
        U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * ident)
        V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * ident
    else:
        powers = [ident, A2]                      # A^0, A^2, A^4, ... up to A^(m-1)
        while len(powers) < (m + 1) // 2:
            powers.append(powers[-1] @ A2)
        U = A @ sum(b[2 * k + 1] * p for k, p in enumerate(powers))
        V = sum(b[2 * k] * p for k, p in enumerate(powers))
    return np.linalg.solve(V - U, V + U)


_C_RECIP = {m: math.factorial(2 * m) * math.factorial(2 * m + 1) / math.factorial(m) ** 2 for m, _ in _THETA}
_C_RECIP[13] = math.factorial(26) * math.factorial(27) / math.factorial(13) ** 2
_THETA13_2009 = 4.25   # Al-Mohy and Higham (2009), Table 3.1: the bound with their ell() correction


def _onenorm(M):
    """The 1-norm of each matrix of a stack (N, n, n)."""
    return np.max(np.sum(np.abs(M), axis=-2), axis=-1)


def _ell(A, m):
    """Al-Mohy and Higham (2009), eq. (3.10) (``ell``): the extra squarings each matrix of the stack ``A`` needs so
    that the [m/m] Padé approximant's backward error stays below the unit roundoff, where the norms of A's powers
    understate it (a very non-normal A). Uses || |A|^(2m+1) ||_1, exactly: ones^T |A|^(2m+1), by products with a
    vector. c_{2m+1} = (m!)^2 / ((2m)! (2m+1)!) is the error's leading coefficient."""
    norm = _onenorm(A)
    absA = np.abs(A)
    v = np.ones(A.shape[:-1])
    for _ in range(2 * m + 1):
        v = np.einsum("ni,nij->nj", v, absA)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        alpha = np.where(norm > 0, v.max(axis=-1) / (norm * _C_RECIP[m]), 0.0)
        extra = np.ceil(np.log2(alpha / 2.0 ** -53) / (2 * m))
    return np.where(alpha > 0, np.clip(np.nan_to_num(extra, nan=0.0, posinf=64.0), 0, 64), 0).astype(int)


def _degrees(A):
    """Al-Mohy and Higham's (2009) Algorithm 5.1: each matrix's Padé degree m and squarings s (arrays), from the
    exact 1-norms of A's powers (||A^k||^(1/k), tighter than ||A|| for a non-normal A) and ell()."""
    N = len(A)
    m, s = np.full(N, 13), np.zeros(N, dtype=int)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    d4, d6 = _onenorm(A4) ** 0.25, _onenorm(A6) ** (1 / 6)
    todo = np.ones(N, dtype=bool)

    def settle(eta, degree, theta):
        cand = np.nonzero(todo & (eta < theta))[0]
        if cand.size:
            ok = cand[_ell(A[cand], degree) == 0]
            m[ok], todo[ok] = degree, False
    eta12 = np.maximum(d4, d6)
    settle(eta12, 3, _THETA[0][1])
    settle(eta12, 5, _THETA[1][1])
    if not todo.any():
        return m, s
    d8 = _onenorm(A4 @ A4) ** 0.125
    eta3 = np.maximum(d6, d8)
    settle(eta3, 7, _THETA[2][1])
    settle(eta3, 9, _THETA[3][1])
    idx = np.nonzero(todo)[0]
    if idx.size:
        d10 = _onenorm(A4[idx] @ A6[idx]) ** 0.1
        eta5 = np.minimum(eta3[idx], np.maximum(d8[idx], d10))
        with np.errstate(divide="ignore"):
            s13 = np.where(eta5 > 0, np.maximum(np.ceil(np.log2(eta5 / _THETA13_2009)), 0), 0).astype(int)
        s13 = s13 + _ell(A[idx] * (2.0 ** -s13)[:, None, None], 13)
        s[idx] = s13
    return m, s


def _exp_superdiagonal(d, sd):
    """The superdiagonal of exp of an upper triangular matrix with diagonal ``d`` and superdiagonal ``sd``, exactly
    (each 2x2 block: ``sd * (e^b - e^a) / (b - a)``, as ``e^((a+b)/2) sinh(z) / z``, z = (b - a) / 2)."""
    a, b = d[..., :-1], d[..., 1:]
    z = (b - a) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sinhc = np.where(z == 0, 1.0, np.sinh(z) / np.where(z == 0, 1.0, z))
    return np.exp((a + b) / 2) * sinhc * sd


def expm_np(a):
    """The matrix exponential of a stack of square NumPy matrices (the forward pass)."""
    dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
    work = np.complex128 if dtype.kind == "c" else np.float64
    n = a.shape[-1]
    A = a.reshape((math.prod(a.shape[:-2]), n, n)).astype(work)
    out = np.full(A.shape, np.nan, dtype=work)
    if n:
        finite = np.nonzero(np.isfinite(_onenorm(A)))[0]
        lower = np.all(np.triu(A[finite], 1) == 0, axis=(-2, -1))
        upper = np.all(np.tril(A[finite], -1) == 0, axis=(-2, -1)) & ~lower
        A[finite[lower]] = A[finite[lower]].swapaxes(-1, -2)   # exp(L) = exp(L^T)^T: worked as upper
        tri = lower | upper
        ms, ss = _degrees(A[finite])
        groups = {}
        for k, i in enumerate(finite):
            groups.setdefault((int(ms[k]), int(ss[k]), bool(tri[k])), []).append(i)
        for (m, s, triangular), idx in groups.items():
            R = _pade(A[idx] * (2.0 ** -s), m)
            if triangular and s:   # Al-Mohy and Higham's Code Fragment 2.1: the diagonal and superdiagonal
                d = np.diagonal(A[idx], axis1=-2, axis2=-1)   # recomputed exactly at each squaring
                sd = np.diagonal(A[idx], 1, axis1=-2, axis2=-1)
                for i in range(s, -1, -1):
                    if i < s:
                        R = R @ R
                    np.einsum("nii->ni", R)[...] = np.exp(d * 2.0 ** -i)
                    np.einsum("nii->ni", R[:, :-1, 1:])[...] = _exp_superdiagonal(d * 2.0 ** -i, sd * 2.0 ** -i)
            else:
                for _ in range(s):
                    R = R @ R
            out[idx] = np.triu(R) if triangular else R
        out[finite[lower]] = out[finite[lower]].swapaxes(-1, -2)
    return out.reshape(a.shape).astype(dtype, copy=False)


def _expm_any(x):
    return expm(x) if isinstance(x, Tensor) else expm_np(x)


def _norm1(E):
    """Each matrix's 1-norm, (..., 1, 1), 1 where it is 0 or not finite: a constant (no gradient), also of a
    Tensor (recorded ops on its detached value, so they batch under vmap)."""
    if isinstance(E, Tensor):
        from .. import ops
        c = ops.amax(ops.sum(ops.abs(E.detach()), axis=-2, keepdims=True), axis=-1, keepdims=True)
        return ops.where((c > 0) & (c < np.inf), c, 1).detach()
    c = np.max(np.sum(np.abs(E), axis=-2, keepdims=True), axis=-1, keepdims=True)
    return np.where((c > 0) & (c < np.inf), c, 1)


def frechet(X, E):
    """``L(X, E)``: the upper-right block of ``expm([[X, E], [0, X]])`` (NumPy values or Tensors). L is linear in
    E, so E is scaled to a 1-norm of 1 first and the block scaled back: a large E would otherwise set the
    block's norm and its number of squarings, and lose accuracy (a relative 1e-4 at ||E|| = 1e12 ||X||)."""
    n = X.shape[-1]
    if n == 0:   # 0 x 0 matrices: an empty derivative (and no 1-norm to take), in the graph of X and E as
        return E * 0 + X * 0  # PyTorch's (a second derivative is then empty too, not "X not used")
    c = _norm1(E)
    E = E / c
    zero = np.zeros(X.shape, dtype=np.result_type(X.dtype, E.dtype))
    top = np.concatenate([X, E], axis=-1)
    bottom = np.concatenate([zero, X], axis=-1)
    return _expm_any(np.concatenate([top, bottom], axis=-2))[..., :n, n:] * c


def _vjp(g, y, a):
    return frechet(mH(a), g)


def _jvp(t, y, a):
    return frechet(a, t)


@batching_rule("leading")
def expm(A):
    """The matrix exponential of (stacks of) square matrices, as ``scipy.linalg.expm`` (PyTorch:
    ``torch.linalg.matrix_exp``, here also as :func:`matrix_exp`): Padé approximation with scaling and
    squaring (Higham 2005). Real and complex; float32 stays float32; integers give float64. Differentiable to
    any order: the gradient is the Fréchet derivative ``L(A^H, G)``, as PyTorch's."""
    ad = matrix_arg(A, "expm", square=True, complex_ok=True)
    return _make(expm_np(ad), "expm", (A,), (ad,), (_vjp,), (_jvp,))


_versions.reads("expm", "x")  # the Fréchet derivative at A (npgrad/autograd/versions.py): not the output


def matrix_exp(A):
    """PyTorch's name (``torch.linalg.matrix_exp``) for :func:`expm`."""
    return expm(A)
