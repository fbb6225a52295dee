"""``torch.linalg``'s own names that ``np.linalg`` and ``scipy.linalg`` lack, composed from npgrad's
differentiable linear algebra (their VJP, JVP and vmap rules are those ops'):

* ``cholesky_ex inv_ex solve_ex lu_factor_ex``: ``(result, info)``, ``info`` an int32 array of the batch shape,
  LAPACK's failure index (0: success; k > 0: the leading minor of order k is not positive definite /
  ``U[k-1, k-1]`` is exactly zero). ``check_errors=True`` raises ``LinAlgError`` naming the op and the batch
  element, as the plain function. A failed matrix's result is not meaningful (as torch's): NaN for
  ``inv_ex`` / ``solve_ex``, LAPACK's partial factor for ``cholesky_ex``; it gets no gradient.
* ``householder_product(A, tau)`` (``orgqr``), ``vander(x, N=None)`` (torch's increasing powers; ``npg.vander``
  stays NumPy's decreasing one).

``ldl_factor ldl_factor_ex ldl_solve`` are in ``ops/linalg_ldl.py``.
"""
import collections
import warnings

import numpy as np

from ..tensor import Tensor, _wrap
from ._matrix import LinAlgError, matrix_arg, mH
from ._util import batching_rule, data_of

CholeskyExResult = collections.namedtuple("CholeskyExResult", ["L", "info"])
InvExResult = collections.namedtuple("InvExResult", ["inverse", "info"])
SolveExResult = collections.namedtuple("SolveExResult", ["result", "info"])
LUFactorExResult = collections.namedtuple("LUFactorExResult", ["LU", "pivots", "info"])


def _npg():
    import npgrad
    return npgrad


def _as_tensor(x, op):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(data_of(x, op)))


def _raise_info(op, info, shape, what):
    """check_errors=True: LinAlgError for the first failed matrix, as torch (its batch element and index)."""
    bad = np.argwhere(info.reshape(-1) > 0)
    if bad.size:
        i = int(bad[0, 0])
        k = int(info.reshape(-1)[i])
        where = f"(Batch element {i}): " if info.ndim else ""
        raise LinAlgError(f"{op}: {where}{what.format(k=k)} (input shape {tuple(shape)})")


def _masked(op, a, ok, fill):
    """``a`` with the failed matrices (``ok`` False) replaced by ``fill`` (an identity): a constant mask."""
    npg = _npg()
    if ok.all():
        return a
    mask = _wrap(ok[..., None, None])
    return npg.where(mask, a, _wrap(np.broadcast_to(fill, a.shape).astype(a.dtype)))


def _potf2(ad):
    """LAPACK's unblocked lower Cholesky (``potf2``) of a stack: (partial factor, info). Reads the lower
    triangle; a failed matrix keeps LAPACK's partial result (its failing diagonal entry, the untouched rest)."""
    n = ad.shape[-1]
    batch = ad.shape[:-2]
    A = np.tril(ad.reshape((int(np.prod(batch, dtype=np.int64)), n, n))).astype(ad.dtype, copy=True)
    info = np.zeros(A.shape[0], np.int32)
    for j in range(n):
        live = info == 0
        row = A[:, j, :j]
        ajj = A[:, j, j].real - np.einsum("bi,bi->b", row, row.conj()).real
        fail = live & ~(ajj > 0)
        info[fail] = j + 1
        A[fail, j, j] = ajj[fail]
        go = live & ~fail
        if not go.any():
            continue
        s = np.sqrt(np.where(go, ajj, 1))
        A[go, j, j] = s[go]
        if j + 1 < n:
            upd = A[:, j + 1:, j] - np.einsum("bik,bk->bi", A[:, j + 1:, :j], row.conj())
            A[go, j + 1:, j] = (upd / s[:, None])[go]
    return A.reshape(batch + (n, n)), info.reshape(batch)


@batching_rule("leading")
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``torch.linalg.cholesky_ex``: ``(L, info)``, ``info`` 0 or the order of the first leading minor that is
    not positive definite (int32, batch shape). Successful matrices' ``L`` is ``cholesky(A, upper=upper)``,
    differentiable; ``check_errors=True`` raises as ``cholesky``."""
    op = "linalg.cholesky_ex"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    partial, info = _potf2(mH(ad) if upper else ad)
    if check_errors:
        _raise_info(op, info, ad.shape, "The factorization could not be completed because the input is not "
                                         "positive-definite (the leading minor of order {k} is not "
                                         "positive-definite).")
    npg = _npg()
    A = _as_tensor(A, op)
    ok = info == 0
    L = npg.linalg.cholesky(_masked(op, A, ok, np.eye(ad.shape[-1])), upper=bool(upper))
    if not ok.all():
        part = mH(partial) if upper else partial
        L = npg.where(_wrap(ok[..., None, None]), L, _wrap(part.astype(L.dtype)))
    return CholeskyExResult(L, _wrap(info))


def _lu_info(lu):
    """LAPACK getrf's info: 1 + the first index of an exact zero on U's diagonal, else 0."""
    d = np.diagonal(lu, axis1=-2, axis2=-1) == 0
    if d.shape[-1] == 0:                        # 0 x 0 (or 0 x n) matrices: nothing can fail
        return np.zeros(d.shape[:-1], np.int32)
    return np.where(d.any(-1), np.argmax(d, axis=-1) + 1, 0).astype(np.int32)


def _getrf_info(ad):
    from .linalg_lu import getrf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lu, _, _ = getrf(ad, "")
    return _lu_info(lu)


_SINGULAR = "The diagonal element {k} is zero, the {what} could not be completed because the input matrix is singular."


def _nan_where(out, ok, ndim_tail):
    if ok.all():
        return out
    npg = _npg()
    mask = ok.reshape(ok.shape + (1,) * ndim_tail)
    return npg.where(_wrap(mask), out, _wrap(np.array(np.nan, dtype=out.dtype)))


@batching_rule("leading")
def inv_ex(A, *, check_errors=False, out=None):
    """``torch.linalg.inv_ex``: ``(inverse, info)``; ``info`` is LU's (0, or k where ``U[k-1, k-1]`` is exactly
    zero). A singular matrix's inverse is NaN (torch's is not meaningful either) with no gradient."""
    op = "linalg.inv_ex"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    info = _getrf_info(ad)
    if check_errors:
        _raise_info(op, info, ad.shape, _SINGULAR.replace("{what}", "inversion"))
    ok = info == 0
    Ainv = _npg().linalg.inv(_masked(op, _as_tensor(A, op), ok, np.eye(ad.shape[-1])))
    return InvExResult(_nan_where(Ainv, ok, 2), _wrap(info))


def _torch_vector_rhs(ad, bd):
    """torch.linalg.solve's rule: B is a batch of vectors when B.ndim == 1 or B.shape == A.shape[:-1]."""
    return bd.ndim == 1 or (bd.ndim == ad.ndim - 1 and bd.shape == ad.shape[:-1])


@batching_rule("loop")    # (under vmap: per sample; torch's vector rule for B has no shared batching rule)
def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """``torch.linalg.solve_ex``: ``(result, info)`` solving ``A X = B`` (``X A = B`` with ``left=False``), with
    torch's rule for a vector ``B`` (1-D, or of shape ``A.shape[:-1]``) and broadcast batch dimensions. A
    singular matrix gives NaN (no gradient) and its LU ``info``, of ``A``'s batch shape (as torch's)."""
    op = "linalg.solve_ex"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    npg = _npg()
    ad = matrix_arg(A, op, square=True, complex_ok=True)
    A, B = _as_tensor(A, op), _as_tensor(B, op)
    bd = B.data
    vec = _torch_vector_rhs(ad, bd)
    n = ad.shape[-1]
    if bd.ndim == 0 or (bd.shape[-1] if vec else bd.shape[-2 if left else -1]) != n:
        raise LinAlgError(f"{op}: A of shape {ad.shape} and B of shape {bd.shape} are incompatible (B is a "
                          f"vector when 1-D or of shape A.shape[:-1], else a stack of "
                          f"{'(n, k)' if left else '(k, n)'} matrices, n = {n})")
    try:
        batch = np.broadcast_shapes(ad.shape[:-2], bd.shape[:-1] if vec else bd.shape[:-2])
    except ValueError:
        raise LinAlgError(f"{op}: the batch dimensions of A {ad.shape} and B {bd.shape} do not broadcast") from None
    info = _getrf_info(ad)                      # torch's info has A's batch shape (not the broadcast one)
    if check_errors:
        _raise_info(op, info, ad.shape, _SINGULAR.replace("{what}", "solve"))
    ok = np.broadcast_to(info == 0, batch)
    Ab = npg.broadcast_to(A, batch + (n, n))
    Ab = _masked(op, Ab, ok, np.eye(n))
    if vec:
        Bm = npg.expand_dims(npg.broadcast_to(B, batch + (n,)), -1)
        X = npg.squeeze(npg.linalg.solve(Ab if left else npg.swapaxes(Ab, -1, -2), Bm), -1)
        return SolveExResult(_nan_where(X, ok, 1), _wrap(info))
    if left:
        X = npg.linalg.solve(Ab, npg.broadcast_to(B, batch + bd.shape[-2:]))
    else:                                       # X A = B  <=>  A^T X^T = B^T
        X = npg.swapaxes(npg.linalg.solve(npg.swapaxes(Ab, -1, -2),
                                          npg.swapaxes(npg.broadcast_to(B, batch + bd.shape[-2:]), -1, -2)), -1, -2)
    return SolveExResult(_nan_where(X, ok, 2), _wrap(info))


@batching_rule("leading")
def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """``torch.linalg.lu_factor_ex``: ``(LU, pivots, info)`` with torch's 1-based int32 ``pivots`` (``npg.linalg.
    lu_factor`` is SciPy's, 0-based); an exactly singular matrix factors (no warning) and sets ``info``. ``LU`` is
    differentiable (PyTorch's gradient). ``pivot=False`` is not implemented on the CPU, as in torch."""
    op = "linalg.lu_factor_ex"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    if not pivot:
        raise NotImplementedError(f"{op}: LU without pivoting is not implemented on the CPU (as in torch)")
    from .linalg_lu import LinAlgWarning, lu_factor
    matrix_arg(A, op, complex_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        LU, piv = lu_factor(A)
    info = _lu_info(LU.data)
    if check_errors:
        _raise_info(op, info, LU.shape, "The factorization could not be completed because the input is "
                                         "singular (U[{k}, {k}] is zero, 1-based).")
    return LUFactorExResult(LU, _wrap((piv.data + 1).astype(np.int32)), _wrap(info))


def householder_product(A, tau, *, out=None):
    """``torch.linalg.householder_product`` (LAPACK's ``orgqr``): the first ``n`` columns of ``H_1 ... H_k``,
    ``H_i = I - tau_i v_i v_i^H``, ``v_i`` the ``i``-th column of ``A`` (``m x n``, ``m >= n``) below the
    diagonal with 1 on it, ``k = tau.shape[-1] <= n``; batched (``tau``'s batch dimensions equal ``A``'s).
    Differentiable in ``A`` and ``tau`` (composed of matmuls)."""
    op = "linalg.householder_product"
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (npgrad never writes into an existing tensor)")
    npg = _npg()
    A, tau = _as_tensor(A, op), _as_tensor(tau, op)
    if A.ndim < 2:
        raise LinAlgError(f"{op}: input must have at least 2 dimensions, got shape {tuple(A.shape)}")
    m, n = A.shape[-2:]
    if m < n:
        raise LinAlgError(f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1], got shape "
                          f"{tuple(A.shape)}")
    if tau.ndim != A.ndim - 1:
        raise LinAlgError(f"{op}: Expected tau to have one dimension less than input, got tau of shape "
                          f"{tuple(tau.shape)} and input of shape {tuple(A.shape)}")
    k = tau.shape[-1]
    if k > n:
        raise LinAlgError(f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1], got input "
                          f"{tuple(A.shape)} and tau {tuple(tau.shape)}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise LinAlgError(f"{op}: Expected batch dimensions of tau {tuple(tau.shape[:-1])} to be equal to "
                          f"input's {tuple(A.shape[:-2])}")
    if np.dtype(A.dtype) != np.dtype(tau.dtype):
        raise TypeError(f"{op}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    if np.dtype(A.dtype).kind not in "fc":
        raise TypeError(f"{op}: expected a floating or complex input, got {A.dtype}")
    dt = A.dtype
    Q = _wrap(np.broadcast_to(np.eye(m, n, dtype=dt), (*A.shape[:-2], m, n)).copy())
    rows = np.arange(m)
    for i in reversed(range(k)):
        v = A[..., :, i] * _wrap((rows > i).astype(dt)) + _wrap((rows == i).astype(dt))
        vh = npg.conj(v) if np.dtype(dt).kind == "c" else v
        Q = Q - npg.reshape(tau[..., i], (*tau.shape[:-1], 1, 1)) * (
            npg.expand_dims(v, -1) * npg.matmul(npg.expand_dims(vh, -2), Q))
    return Q


def vander(x, N=None):
    """``torch.linalg.vander``: ``x[..., i] ** j`` for ``j = 0 .. N-1`` (increasing powers, torch's order; NumPy's
    ``npg.vander`` has decreasing ones), ``N = x.shape[-1]`` by default, ``N > 1``; batched over ``x``'s leading
    dimensions, built by repeated products (exact gradients at 0)."""
    op = "linalg.vander"
    npg = _npg()
    x = _as_tensor(x, op)
    if x.ndim < 1:
        raise ValueError(f"{op}: x must have at least one dimension, got a 0-d tensor")
    N = x.shape[-1] if N is None else N
    if not isinstance(N, (int, np.integer)) or isinstance(N, bool) or N <= 1:
        raise ValueError(f"{op}: N must be an integer greater than 1, got {N!r}")
    cols = [npg.ones_like(x)]
    for _ in range(1, int(N)):
        cols.append(cols[-1] * x)
    return npg.stack(cols, axis=-1)
