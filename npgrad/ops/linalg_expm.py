"""The matrix exponential: ``npg.linalg.expm`` (SciPy's name) and its alias ``matrix_exp`` (PyTorch's), batched.

Forward: Higham (2005), "The scaling and squaring method for the matrix exponential revisited": a [m/m] Padé
approximant, m in {3, 5, 7, 9, 13} picked per matrix by its 1-norm (the thetas below are Higham's, for double
precision), with A scaled by 2^-s first and the result squared s times. The stack is split into groups of the same
(m, s), each computed at once. float32 / complex64 matrices are computed in double precision and cast back.
SciPy's expm adds Al-Mohy and Higham's (2009) refinement of s: values agree to rounding.

Gradients: the Fréchet derivative ``L(X, E) = d/dt expm(X + tE)`` is the upper-right block of
``expm([[X, E], [0, X]])`` (Mathias 1996). The VJP is ``L(A^H, G)`` and the JVP ``L(A, dA)`` (PyTorch's
``differential_analytic_matrix_function``); both call ``expm`` itself on the block matrix, so they are
differentiable again (any order).
"""
import math

import numpy as np

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


def _degree(norm):
    """Higham's (m, s) for a matrix of 1-norm ``norm``."""
    for m, theta in _THETA:
        if norm <= theta:
            return m, 0
    return 13, max(0, math.ceil(math.log2(norm / _THETA13)))


def expm_np(a):
    """The matrix exponential of a stack of square NumPy matrices (the forward pass)."""
    dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
    work = np.complex128 if dtype.kind == "c" else np.float64
    n = a.shape[-1]
    A = a.reshape((math.prod(a.shape[:-2]), n, n)).astype(work)
    out = np.full(A.shape, np.nan, dtype=work)
    if n:
        norms = np.max(np.sum(np.abs(A), axis=-2), axis=-1)
        finite = np.isfinite(norms)
        groups = {}
        for i in np.nonzero(finite)[0]:
            groups.setdefault(_degree(float(norms[i])), []).append(i)
        for (m, s), idx in groups.items():
            R = _pade(A[idx] * (2.0 ** -s), m)
            for _ in range(s):
                R = R @ R
            out[idx] = R
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
    if n == 0:   # 0 x 0 matrices: an empty derivative (and no 1-norm to take)
        return E * 0
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


def matrix_exp(A):
    """PyTorch's name (``torch.linalg.matrix_exp``) for :func:`expm`."""
    return expm(A)
