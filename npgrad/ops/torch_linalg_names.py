"""torch's older top-level linear-algebra names and their Tensor methods, composed from ``npg.linalg`` (their VJP,
JVP and vmap rules are those ops'). NumPy has none of these names at top level (``np.linalg.cholesky`` is under
``linalg`` only), so they mean torch's:

``cholesky(A, upper=False) cholesky_solve(B, L, upper=False) cholesky_inverse(L, upper=False)
lu_unpack(LU, pivots) lu_solve(b, LU, pivots) triangular_solve(b, A, upper=True, transpose=False,
unitriangular=False) ger chain_matmul nuclear_norm frobenius_norm svd(A, some=True) qr(A, some=True)``, and the
methods ``cholesky cholesky_solve cholesky_inverse lu_solve triangular_solve cross qr svd equal``.

``cholesky_solve`` and ``cholesky_inverse`` read only the triangle of the factor (as LAPACK's ``potrs`` /
``potri``): the value is that of ``tril(L)`` (``triu`` when ``upper``), and the gradient is torch's full-matrix
formula (``L L^H`` differentiated in the whole ``L``, so the unread triangle gets a gradient too) evaluated at that
triangle. With a clean triangular ``L`` it is torch's gradient; when the unread triangle holds other values, torch
evaluates its formula with them and its gradient then disagrees with finite differences, where npgrad's does not.
``torch.matrix_rank`` is gone from torch (removed in 1.9's successors): use ``npg.linalg.matrix_rank``.
"""
import collections

import numpy as np

from ..tensor import Tensor, _wrap
from ._matrix import LinAlgError
from ._util import data_of

__all__ = ["cholesky", "cholesky_solve", "cholesky_inverse", "lu_unpack", "lu_solve", "triangular_solve", "ger",
           "chain_matmul", "nuclear_norm", "frobenius_norm", "svd", "qr"]

TriangularSolveResult = collections.namedtuple("TriangularSolveResult", ["solution", "cloned_coefficient"])
LUUnpackResult = collections.namedtuple("LUUnpackResult", ["P", "L", "U"])
SVDTorchResult = collections.namedtuple("SVDTorchResult", ["U", "S", "V"])
QRTorchResult = collections.namedtuple("QRTorchResult", ["Q", "R"])


def _npg():
    import npgrad
    return npgrad


def _t(x, op):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(data_of(x, op)))


def _matrices(x, op, name, square=True):
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        raise LinAlgError(f"{op}: {name} must be a {'square ' if square else ''}matrix or a batch of them, got "
                          f"shape {tuple(x.shape)}")


def _system(op, A, a_name, B, b_name):
    """Check ``A`` (square matrices) and ``B`` (stacks of (n, k) matrices) of ``A X = B`` for ``op`` (errors name
    ``B`` first, as torch's functions take it first)."""
    _matrices(A, op, a_name)
    _matrices(B, op, b_name, square=False)
    if B.shape[-2] != A.shape[-1]:
        raise LinAlgError(f"{op}: Incompatible shapes of {b_name} {tuple(B.shape)} and {a_name} {tuple(A.shape)} "
                          f"({b_name} must have {A.shape[-1]} rows)")


def _broadcast_system(op, A, a_name, B, b_name):
    """``A`` and ``B`` checked (``_system``) and broadcast to their common batch dimensions."""
    _system(op, A, a_name, B, b_name)
    npg = _npg()
    try:
        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise LinAlgError(f"{op}: the batch dimensions of {b_name} {tuple(B.shape)} and {a_name} {tuple(A.shape)} "
                          f"do not broadcast") from None
    return npg.broadcast_to(A, batch + tuple(A.shape[-2:])), npg.broadcast_to(B, batch + tuple(B.shape[-2:]))


def cholesky(A, upper=False, *, out=None):
    """``torch.cholesky`` (deprecated in torch, common in ports): ``npg.linalg.cholesky(A, upper=upper)``."""
    if out is not None:
        raise TypeError("cholesky: out= is not supported (npgrad never writes into an existing tensor)")
    return _npg().linalg.cholesky(A, upper=bool(upper))


def _factor(L, upper):
    """The triangle of ``L`` that is read, with the gradient reaching the whole ``L`` (torch's)."""
    npg = _npg()
    off = npg.tril(L, -1) if upper else npg.triu(L, 1)       # the unread triangle: value removed, gradient kept
    return L - off.detach()


def _inverse_factor_solve(T, B, upper, adjoint):
    """``T^-1 B`` (``T^-H B`` when ``adjoint``) for the triangular ``T`` (upper when ``upper``) by npgrad's general
    ``solve``, whose gradient reaches the whole ``T``. The solve is always handed an upper-triangular matrix,
    on which LAPACK's pivoted LU is plain back substitution; a lower one is reversed in both axes first
    (``J T J`` is upper triangular). Solving ``L L^H`` itself, as before, squared the condition number and
    lost every digit for a factor with a tiny diagonal entry (1e-20: a precision matrix 1e24 times too small)."""
    npg = _npg()
    if adjoint:
        T, upper = npg.conj(npg.swapaxes(T, -1, -2)), not upper
    if upper:
        return npg.linalg.solve(T, B)
    return npg.flip(npg.linalg.solve(npg.flip(T, (-2, -1)), npg.flip(B, (-2,))), (-2,))


def _factor_product_solve(L, upper, B):
    """``(L L^H)^-1 B`` (``(U^H U)^-1 B`` when ``upper``) as two triangular solves with the factor, never forming
    ``L L^H``. The identity ``(L L^H)^-1 = L^-H L^-1`` holds for any invertible ``L``, so the gradient in the whole
    ``L`` is that of ``(L L^H)^-1 B`` (torch's)."""
    T = _factor(L, upper)
    first = _inverse_factor_solve(T, B, upper, adjoint=upper)
    return _inverse_factor_solve(T, first, upper, adjoint=not upper)


def cholesky_solve(B, L, upper=False, *, out=None):
    """``torch.cholesky_solve``: ``X`` with ``A X = B``, ``A = L L^H`` (``U^H U`` when ``upper``), ``B`` a stack
    of (n, k) matrices; batch dimensions broadcast. Differentiable in ``B`` and ``L`` (torch's gradients)."""
    op = "cholesky_solve"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    L, B = _broadcast_system(op, _t(L, op), "L", _t(B, op), "B")
    return _factor_product_solve(L, upper, B)


def cholesky_inverse(L, upper=False, *, out=None):
    """``torch.cholesky_inverse``: ``(L L^H)^-1`` (``(U^H U)^-1`` when ``upper``) from a Cholesky factor; batched,
    differentiable (torch's gradient)."""
    op = "cholesky_inverse"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    L = _t(L, op)
    _matrices(L, op, "L")
    dtype = L.dtype if L.dtype.kind in "fc" else np.dtype(np.float64)
    eye = _wrap(np.broadcast_to(np.eye(L.shape[-1], dtype=dtype), tuple(L.shape)).copy())
    return _factor_product_solve(L, upper, eye)


def _check_pivots(op, LU, piv):
    pd = np.asarray(data_of(piv, op))
    m, n = LU.shape[-2:]
    k = min(m, n)
    if pd.dtype.kind not in "iu" or pd.shape != tuple(LU.shape[:-2]) + (k,):
        raise ValueError(f"{op}: pivots must be integers of shape {tuple(LU.shape[:-2]) + (k,)} for LU of shape "
                         f"{tuple(LU.shape)}, got {pd.dtype} of shape {pd.shape}")
    if pd.size and (pd.min() < 1 or pd.max() > m):
        raise ValueError(f"{op}: pivots must be torch's 1-based row indices in [1, {m}], got values in "
                         f"[{pd.min()}, {pd.max()}]")
    return pd


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """``torch.lu_unpack``: ``(P, L, U)`` with ``A = P @ L @ U`` from ``torch.linalg.lu_factor``'s packed ``LU``
    (..., m, n) and 1-based ``pivots``; L (m, k) and U (k, n) are differentiable in ``LU``. With
    ``unpack_data=False`` L and U are empty, with ``unpack_pivots=False`` P is (as torch)."""
    op = "lu_unpack"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    from .linalg_lu import perm_of
    npg = _npg()
    LU = _t(LU_data, op)
    _matrices(LU, op, "LU_data", square=False)
    pd = _check_pivots(op, LU, LU_pivots)
    m, n = LU.shape[-2:]
    k = min(m, n)
    empty = _wrap(np.zeros(0, LU.dtype))
    if unpack_data:
        L = npg.tril(LU[..., :, :k], -1) + _wrap(np.eye(m, k, dtype=LU.dtype))
        U = npg.triu(LU[..., :k, :])
    else:
        L = U = empty
    if not unpack_pivots:
        return LUUnpackResult(empty, L, U)
    perm = perm_of(pd.astype(np.int64) - 1, m)           # A[perm] = L U, so A = P L U with P[perm[i], i] = 1
    P = np.zeros(perm.shape + (m,), dtype=np.real(np.zeros(0, LU.dtype)).dtype)
    np.put_along_axis(P, perm[..., :, None], 1, axis=-1)
    return LUUnpackResult(_wrap(np.swapaxes(P, -1, -2).astype(LU.dtype).copy()), L, U)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """``torch.lu_solve(b, LU_data, LU_pivots)``: ``X`` with ``A X = b`` from ``torch.linalg.lu_factor``'s ``LU``
    and 1-based ``pivots``; ``b`` a stack of (n, k) matrices, batch dimensions broadcast. Differentiable in ``b``
    and ``LU`` (``npg.linalg.lu_solve``, SciPy's, with 0-based pivots, does the work)."""
    op = "lu_solve"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    npg = _npg()
    b, LU = _t(b, op), _t(LU_data, op)
    _system(op, LU, "LU_data", b, "b")
    pd = _check_pivots(op, LU, LU_pivots)
    return npg.linalg.lu_solve((LU, _wrap((pd - 1).astype(np.int32))), b)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """``torch.triangular_solve``: ``(solution, cloned_coefficient)``, ``solution`` solving ``A X = b``
    (``A^T X = b`` when ``transpose``) reading the upper (``upper=False``: lower) triangle of ``A``, its diagonal
    taken as ones when ``unitriangular``; batch dimensions broadcast. Differentiable in ``b`` and ``A``."""
    op = "triangular_solve"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    npg = _npg()
    A = _t(A, op)
    Ab, b = _broadcast_system(op, A, "A", _t(b, op), "b")
    X = npg.linalg.solve_triangular(Ab, b, trans=1 if transpose else 0, lower=not upper,
                                    unit_diagonal=bool(unitriangular), check_finite=False)
    return TriangularSolveResult(X, Ab * 1 if Ab is A else Ab)


def ger(input, vec2, *, out=None):
    """``torch.ger`` (``torch.outer``): the outer product of two 1-D tensors."""
    npg = _npg()
    x, y = _t(input, "ger"), _t(vec2, "ger")
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"ger: expected two 1-D tensors, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    return npg.outer(x, y)


def chain_matmul(*matrices, out=None):
    """``torch.chain_matmul``: the product of 2-D matrices in the cheapest order (``npg.linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise ValueError("chain_matmul(): Expected one or more matrices")
    ms = [_t(m, "chain_matmul") for m in matrices]
    for i, m in enumerate(ms):
        if m.ndim != 2:
            raise ValueError(f"chain_matmul(): Tensor {i} must have 2 dimensions, got shape {tuple(m.shape)}")
    for i in range(len(ms) - 1):
        if ms[i].shape[1] != ms[i + 1].shape[0]:
            raise ValueError(f"chain_matmul(): tensors {i} and {i + 1} with shapes {tuple(ms[i].shape)} and "
                             f"{tuple(ms[i + 1].shape)} cannot be multiplied")
    if len(ms) == 1:
        return ms[0] * 1
    return _npg().linalg.multi_dot(ms)


def _norm_dims(x, dim, op):
    if dim is None:
        return (-2, -1)
    dim = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    return dim


def nuclear_norm(input, dim=None, keepdim=False, *, out=None, dtype=None):
    """``torch.nuclear_norm``: the sum of singular values over the matrix dims ``dim`` (default the last two)."""
    op = "nuclear_norm"
    x = _t(input, op)
    if dim is None and x.ndim < 2:
        raise ValueError(f"{op}: expected a matrix or a batch of them, got shape {tuple(x.shape)}")
    dim = _norm_dims(x, dim, op)
    if len(dim) != 2:
        raise ValueError(f"{op}: dim must be a pair of dims, got {dim}")
    return _npg().linalg.norm(x, "nuc", axis=dim, keepdims=bool(keepdim))


def frobenius_norm(input, dim, keepdim=False, *, out=None):
    """``torch.frobenius_norm(input, dim, keepdim=False)``: the 2-norm over the dims ``dim`` (one or two; an empty
    ``dim`` means all of them, as torch)."""
    x = _t(input, "frobenius_norm")
    dim = _norm_dims(x, dim, "frobenius_norm")
    if not dim:                         # torch: an empty dim reduces over every dim (NumPy's axis=() would not)
        dim = None
    return _npg().linalg.vector_norm(x, axis=dim, keepdims=bool(keepdim))


def svd(input, some=True, compute_uv=True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with ``A = U diag(S) V^H`` (``V``, not ``np.linalg.svd``'s ``Vh``); reduced when
    ``some``. ``compute_uv=False``: ``U`` and ``V`` are zero (m, m) and (n, n) matrices, as torch."""
    npg = _npg()
    x = _t(input, "svd")
    if not compute_uv:
        S = npg.linalg.svdvals(x)
        m, n = x.shape[-2:]
        return SVDTorchResult(_wrap(np.zeros(tuple(x.shape[:-2]) + (m, m), x.dtype)), S,
                              _wrap(np.zeros(tuple(x.shape[:-2]) + (n, n), x.dtype)))
    U, S, Vh = npg.linalg.svd(x, full_matrices=not some)
    return SVDTorchResult(U, S, npg.conj(npg.swapaxes(Vh, -1, -2)) if np.dtype(x.dtype).kind == "c"
                          else npg.swapaxes(Vh, -1, -2))


def qr(input, some=True, *, out=None):
    """``torch.qr``: ``(Q, R)``, reduced when ``some`` (else complete)."""
    Q, R = _npg().linalg.qr(_t(input, "qr"), mode="reduced" if some else "complete")
    return QRTorchResult(Q, R)


def _cross_method(self, other, dim=None):
    """``Tensor.cross`` (torch's): along ``dim``, by default the first dim of size 3 (torch's deprecated default;
    ``npg.cross`` / ``npg.linalg.cross`` take the last axis); as torch, both inputs have the same number of dims
    and length 3 along ``dim``, the other dims broadcast."""
    npg = _npg()
    other = _t(other, "cross")
    if self.ndim != other.ndim:
        raise ValueError(f"cross: inputs must have the same number of dimensions, got shapes {tuple(self.shape)} "
                         f"and {tuple(other.shape)}")
    try:
        shape = np.broadcast_shapes(tuple(self.shape), tuple(other.shape))
    except ValueError:
        raise ValueError(f"cross: shapes {tuple(self.shape)} and {tuple(other.shape)} do not broadcast") from None
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise ValueError(f"cross: no dimension of size 3 in input of shape {shape}")
        dim = dims[0]
    if not -len(shape) <= dim < len(shape) or self.shape[dim] != 3 or other.shape[dim] != 3:
        raise ValueError(f"cross: inputs dimension {dim} must have length 3, got shapes {tuple(self.shape)} and "
                         f"{tuple(other.shape)}")
    return npg.linalg.cross(npg.broadcast_to(self, shape), npg.broadcast_to(other, shape), axis=dim)


def _equal_method(self, other):
    """``Tensor.equal`` (torch.equal): True when the shapes match and every element is equal (a Python bool)."""
    o = other.data if isinstance(other, Tensor) else np.asarray(other)
    return tuple(self.shape) == tuple(o.shape) and bool(np.array_equal(self.data, o))


def attach(T):
    """The Tensor methods of these names (``self`` is torch's first argument)."""
    T.cholesky = lambda self, upper=False: cholesky(self, upper)
    T.cholesky_solve = lambda self, input2, upper=False: cholesky_solve(self, input2, upper)
    T.cholesky_inverse = lambda self, upper=False: cholesky_inverse(self, upper)
    T.lu_solve = lambda self, LU_data, LU_pivots: lu_solve(self, LU_data, LU_pivots)
    T.triangular_solve = (lambda self, A, upper=True, transpose=False, unitriangular=False:
                          triangular_solve(self, A, upper, transpose, unitriangular))
    T.cross = _cross_method
    T.qr = lambda self, some=True: qr(self, some)
    T.svd = lambda self, some=True, compute_uv=True: svd(self, some, compute_uv)
    T.equal = _equal_method
    T.ger = lambda self, vec2: ger(self, vec2)
