"""``np.linalg.eig`` and ``np.linalg.eigvals`` of general square matrices, batched over leading dimensions as in
NumPy, differentiable (a primitive recorded like ``eigh`` in ``ops/decomp.py``: one packed node, VJP, JVP and
the ``leading`` vmap rule).

Values and dtypes are NumPy's: a real matrix gives real eigenvalues and eigenvectors when all its eigenvalues
are real (decided by NumPy over the whole batch), complex ones otherwise; complex matrices give complex
results; float32 / complex64 stay single precision. The eigenvectors are LAPACK's, normalized to unit 2-norm
(PyTorch's ``torch.linalg.eig`` are the same vectors, always complex).

The formulas are PyTorch's (``linalg_eig_backward`` / ``linalg_eig_jvp`` in FunctionsManual.cpp), with
``A = V diag(L) V^-1`` and unit-norm columns of V:

* VJP: ``gA = V^-H (diag(gL) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(E)) V^H``, ``E_ij = L_j - L_i`` off the
  diagonal (the diagonal of the second term dropped); eigenvalues only: ``V^-H diag(gL) V^H``. For a real input
  the gradient is the real part, as PyTorch's for real inputs.
* JVP: ``dP = V^-1 dA V``, ``dL = diag(dP)``, ``dX = V (dP / E)`` (zero diagonal),
  ``dV = dX - V Re(diag(V^H dX))``.

Each eigenvector is defined up to a factor e^{i phi}: as in PyTorch, a loss of complex eigenvectors that
depends on those phases raises (the imaginary part of diag(V^H gV) must vanish). Repeated eigenvalues make the
eigenvector gradient infinite, as in PyTorch; the eigenvalues' gradient stays finite where V is invertible.
"""
import collections

import numpy as np

from ..autograd import forward_ad as _fwd
from ..tensor import Tensor, _wrap
from ._matrix import diag_embed, diagonal, eye_like, is_complex, lapack, mH, matrix_arg
from ._util import batching_rule
from .decomp import _check_phase, _record_packed

EigResult = collections.namedtuple("EigResult", ["eigenvalues", "eigenvectors"])


def _eig_vjp(gs, ys, a, used):
    gL, gV = gs
    L, V = ys
    Vh = mH(V)
    if not used[1]:  # eigenvalues only: V^-H diag(gL) V^H (no phase question)
        return np.linalg.solve(Vh, gL[..., :, None] * Vh)
    VhgV = np.matmul(Vh, gV)
    d = diagonal(VhgV)
    if is_complex(VhgV):
        _check_phase(np.imag(d), "eig")
        d = np.real(d)
    VhgV = VhgV - np.matmul(Vh, V * d[..., None, :])   # the unit-norm constraint on V's columns
    eye = eye_like(L)
    Lc = np.conj(L) if is_complex(L) else L
    E = Lc[..., None, :] - Lc[..., :, None] + eye      # conj(L_j - L_i), 1 on the diagonal
    inner = VhgV / E * (1 - eye) + diag_embed(gL)
    return np.linalg.solve(Vh, np.matmul(inner, Vh))


def _eig_jvp(dA, ys, a):
    L, V = ys
    dP = np.linalg.solve(V, np.matmul(dA, V))
    eye = eye_like(L)
    E = L[..., None, :] - L[..., :, None] + eye        # L_j - L_i, 1 on the diagonal
    dX = np.matmul(V, dP / E * (1 - eye))
    d = diagonal(np.matmul(mH(V), dX))
    dV = dX - V * (np.real(d) if is_complex(d) else d)[..., None, :]
    return [diagonal(dP), dV]


@batching_rule("leading")
def eig(a):
    """Eigenvalues and right eigenvectors of square matrices, as ``np.linalg.eig``: an ``EigResult(eigenvalues,
    eigenvectors)`` with ``a @ V[..., :, i] = L[..., i] * V[..., :, i]``, batched over leading dimensions. Real
    for a real ``a`` whose eigenvalues are all real, complex otherwise (NumPy's rule); integer matrices are
    computed in float64. Both outputs are differentiable (PyTorch's formulas); a loss of complex eigenvectors that
    depends on their phases raises, as in PyTorch."""
    return _eig(a, "eig")


def _eig(a, op):
    ad = matrix_arg(a, op, square=True, complex_ok=True)
    with lapack(op, ad.shape):
        L, V = np.linalg.eig(ad)
    Lt, Vt = _record_packed("eig", a, ad, [L, V], _eig_vjp, _eig_jvp)
    return EigResult(Lt, Vt)


@batching_rule("leading")
def eigvals(a):
    """Eigenvalues of square matrices, as ``np.linalg.eigvals`` (real or complex by NumPy's rule, see
    :func:`eig`); differentiable (computes the eigenvectors too when a graph is recorded; the gradient
    ``V^-H diag(gL) V^H`` has no phase ambiguity)."""
    if isinstance(a, Tensor) and (a._requires_grad or _fwd.is_dual(a)):
        return _eig(a, "eigvals").eigenvalues
    ad = matrix_arg(a, "eigvals", square=True, complex_ok=True)
    with lapack("eigvals", ad.shape):
        return _wrap(np.linalg.eigvals(ad))
