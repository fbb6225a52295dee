"""SciPy's triangular and Cholesky solvers in ``npg.linalg``: ``solve_triangular`` (a primitive), ``cho_factor`` /
``cho_solve`` and ``block_diag`` (composites of recorded ops), with ``scipy.linalg``'s signatures, batched over
leading dimensions. ``expm`` is in ``ops/linalg_expm.py``, the LU functions in ``ops/linalg_lu.py``.

NumPy has no triangular solver: the forward pass is ``np.linalg.solve`` on the triangle (see ``ops/linalg.py``:
as accurate as a back-substitution, and faster). The gradient is PyTorch's ``linalg_solve_triangular_backward``:
only the triangle is an input, so ``gB = A^-H gX`` and ``gA = -tril(gB X^H)`` (``triu`` for an upper ``A``; the
diagonal too is left out with ``unit_diagonal``); the JVP is ``A^-1 (dB - tril(dA) X)``. Both are written with
``solve_triangular`` itself, so they are differentiable again. SciPy is not imported: it is the tests' oracle.
"""
import numpy as np

from ..autograd.complex_rules import OWN, declare
from ..tensor import Tensor, _make, _wrap
from ._matrix import LinAlgError, is_complex, lapack, mH, matrix_arg, tril, triu
from ._util import batching_rule, data_of
from .complex import conj
from .shape import concatenate, expand_dims, reshape, squeeze, swapaxes

declare(OWN, "solve_triangular")   # its VJPs are PyTorch's complex formulas (conjugate transposes)

_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}


def check_finite_values(op, *arrays):
    """SciPy's ``check_finite=True``: a ValueError naming ``op`` if an input holds inf or NaN."""
    for x in arrays:
        if x.dtype.kind in "fc" and not np.all(np.isfinite(x)):
            raise ValueError(f"{op}: array must not contain infs or NaNs (check_finite=True; got one of shape "
                             f"{x.shape})")


def trans_code(trans, op):
    try:
        return _TRANS[trans]
    except (KeyError, TypeError):
        raise ValueError(f"{op}: trans must be 0, 1, 2 or 'N', 'T', 'C', not {trans!r}") from None


def _conj(x):
    return np.conj(x) if is_complex(x) else x


def _mask(x, lower, unit):
    """The part of ``x`` a triangular solve reads: its lower (upper) triangle, without the diagonal if ``unit``."""
    return tril(x, -int(unit)) if lower else triu(x, int(unit))


def _solve_np(ad, bd, lower, unit):
    """The triangular solve on NumPy values: ``np.linalg.solve`` on the triangle (a 1-D ``b`` is a vector).

    The triangle is always given to LAPACK as an upper-triangular matrix: there the partially pivoted LU finds
    every pivot on the diagonal and eliminates nothing, so the solve is exactly back substitution (accurate
    however ill-conditioned the matrix). A lower triangle is reversed in both axes (``J L J`` is upper
    triangular, ``J`` the exchange matrix) and solved as ``(J L J)(J x) = J b``: given ``L`` itself, the LU
    swapped rows to pivot on large entries below a small diagonal and its result lost every digit (a diagonal
    entry 1e-20 made even the first component, ``b_0 / L_00``, come out with the wrong sign)."""
    n = ad.shape[-1]
    if not unit:
        zero = np.nonzero(np.any(np.diagonal(ad, axis1=-2, axis2=-1) == 0, axis=tuple(range(ad.ndim - 2))))[0]
        if zero.size:
            raise LinAlgError(f"solve_triangular: singular matrix: resolution failed at diagonal {zero[0]} "
                              f"(input shapes {ad.shape}, {bd.shape})")
    rows = -1 if bd.ndim == 1 else -2
    if lower:
        ad, bd = np.flip(ad, (-2, -1)), np.flip(bd, rows)
    t = np.triu(ad)
    if unit:
        t[..., np.arange(n), np.arange(n)] = 1
    with lapack("solve_triangular", ad.shape, bd.shape):
        out = np.linalg.solve(t, bd)
    return np.ascontiguousarray(np.flip(out, rows)) if lower else out


def tri_solve(a, b, lower, unit=False, vec=False):
    """``a^-1 b`` for triangular ``a`` on NumPy values (a NumPy result) or Tensors (the recorded op): what the
    VJPs and JVPs call, so the plain backward pass records nothing and the create_graph one records. ``vec``:
    ``b`` is a stack of vectors (..., n)."""
    if vec and np.ndim(b) > 1:
        return tri_solve(a, b[..., None], lower, unit)[..., 0]
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return solve_triangular(a, b, lower=lower, unit_diagonal=unit, check_finite=False)
    return _solve_np(a, b, lower, unit)


def _matvec(m, x, vec):
    return np.matmul(m, x[..., None])[..., 0] if vec else np.matmul(m, x)


def _make_rules(lower, unit):
    def vjp_b(g, y, a, b):                        # gB = A^-H gX (A^H is triangular the other way)
        return tri_solve(mH(a), g, not lower, unit, np.ndim(b) == 1)

    def vjp_a(g, y, a, b):                        # gA = -mask(gB X^H)
        gb = vjp_b(g, y, a, b)
        if np.ndim(b) == 1:
            outer = gb[..., :, None] * _conj(y)[..., None, :]
        else:
            outer = np.matmul(gb, mH(y))
        return -_mask(outer, lower, unit)

    def jvp_a(t, y, a, b):                        # dX = -A^-1 (mask(dA) X)
        vec = np.ndim(b) == 1
        return -tri_solve(a, _matvec(_mask(t, lower, unit), y, vec), lower, unit, vec)

    def jvp_b(t, y, a, b):                        # dX = A^-1 dB
        return tri_solve(a, t, lower, unit, np.ndim(b) == 1)
    return (vjp_a, vjp_b), (jvp_a, jvp_b)


_RULES = {(lo, u): _make_rules(lo, u) for lo in (False, True) for u in (False, True)}


@batching_rule("linalg_ab")
def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """Solve ``a @ x = b`` for triangular ``a``, as ``scipy.linalg.solve_triangular``.

    ``trans``: 0 / 'N' solves ``a x = b``, 1 / 'T' ``a^T x = b``, 2 / 'C' ``a^H x = b``; ``lower`` picks the
    triangle of ``a`` that is read (the other is ignored); ``unit_diagonal=True`` takes the diagonal as ones
    (not read). ``b`` is a vector when 1-D, else a stack of (n, k) matrices; leading (batch) dimensions of
    ``a`` and ``b`` broadcast (an extension of SciPy's 2-D signature). ``overwrite_b`` is accepted and ignored
    (npgrad never writes into its inputs); ``check_finite`` raises ValueError on inf / NaN. A zero on the
    diagonal raises ``LinAlgError`` ("singular matrix"), as SciPy.

    Differentiable in ``a`` and ``b`` (PyTorch's ``linalg.solve_triangular`` gradient): only the triangle read
    is an input, so the other half of ``a`` (and the diagonal with ``unit_diagonal``) gets a zero gradient.
    """
    op = "solve_triangular"
    ad = matrix_arg(a, op, square=True, complex_ok=True)
    bd = np.asarray(data_of(b, op))
    n = ad.shape[-1]
    if bd.ndim == 0 or bd.shape[0 if bd.ndim == 1 else -2] != n:
        raise ValueError(f"{op}: shapes of a {ad.shape} and b {bd.shape} are incompatible (b is a vector when "
                         f"1-D, else a stack of ({n}, k) matrices)")
    try:
        np.broadcast_shapes(ad.shape[:-2], bd.shape[:-2] if bd.ndim > 1 else ())
    except ValueError:
        raise ValueError(f"{op}: the batch dimensions of a {ad.shape} and b {bd.shape} do not broadcast") from None
    code = trans_code(trans, op)
    if check_finite:
        check_finite_values(op, ad, bd)
    lower = bool(lower)
    if code:                                    # solve op(a) x = b: op(a) is triangular the other way
        a = swapaxes(a if isinstance(a, Tensor) else _wrap(ad), -1, -2)
        a = conj(a) if code == 2 and is_complex(ad) else a
        ad, lower = a.data, not lower
    out = _solve_np(ad, bd, lower, bool(unit_diagonal))
    vjps, jvps = _RULES[lower, bool(unit_diagonal)]
    return _make(out, op, (a, b), (ad, bd), vjps, jvps)


# ------------------------------------------------------------------------------------- Cholesky
@batching_rule("leading")
def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of a Hermitian positive-definite ``a`` for :func:`cho_solve`, as
    ``scipy.linalg.cho_factor``: returns ``(c, lower)``, ``c`` lower-triangular with ``a = c c^H`` if ``lower``,
    else upper-triangular with ``a = c^H c``. Reads the triangle of ``a`` named by ``lower``, as SciPy (LAPACK
    potrf). Unlike SciPy, whose ``c`` holds leftover values of ``a`` in its other triangle, the other triangle
    of ``c`` is zeros here (``c`` is :func:`cholesky`'s factor). Batched over leading dimensions;
    differentiable (the gradient of :func:`npgrad.linalg.cholesky`). ``overwrite_a`` is ignored."""
    op = "cho_factor"
    ad = matrix_arg(a, op, square=True, complex_ok=True)
    if check_finite:
        check_finite_values(op, ad)
    from .linalg import cholesky
    a = a if isinstance(a, Tensor) else _wrap(ad)
    with lapack(op, ad.shape):
        if lower:
            return cholesky(a), True
        return cholesky(a, upper=True), False   # reads a's upper triangle (LAPACK's 'U'), U^H U = a


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` given ``(c, lower) = cho_factor(a)``, as ``scipy.linalg.cho_solve``: two triangular
    solves, ``c`` read in its ``lower`` triangle only. Batched; differentiable in ``c`` and ``b`` (composite of
    :func:`solve_triangular`, so ``c``'s other triangle gets a zero gradient; ``torch.cholesky_solve`` fills it
    with values that a gradient through ``cholesky`` then drops). ``overwrite_b`` is ignored."""
    try:
        c, lower = c_and_lower
        if not isinstance(lower, (bool, np.bool_, int)):
            raise TypeError
    except (TypeError, ValueError):
        raise TypeError("cho_solve: the first argument must be the pair (c, lower) that cho_factor returns") from None
    lower = bool(lower)
    kw = dict(lower=lower, check_finite=check_finite)
    b = b if isinstance(b, Tensor) else _wrap(np.asarray(data_of(b, "cho_solve")))
    if b.ndim == 1:   # (a vector: a column, so that the first solve's stack of results stays one)
        return squeeze(cho_solve((c, lower), expand_dims(b, -1), check_finite=check_finite), -1)
    if lower:                                   # a = L L^H: L y = b, L^H x = y
        return solve_triangular(c, solve_triangular(c, b, **kw), trans=2, **kw)
    return solve_triangular(c, solve_triangular(c, b, trans=2, **kw), **kw)   # a = U^H U


# ------------------------------------------------------------------------------------ block_diag
def block_diag(*arrs):
    """The block-diagonal matrix of the arguments, as ``scipy.linalg.block_diag``: each argument is a 2-D
    block (0-D and 1-D ones are taken as 1 x 1 and 1 x n rows), the dtype is their common one, and no argument
    gives an empty (1, 0) array. Differentiable in every block (concatenations of the blocks with zeros)."""
    blocks = []
    for i, x in enumerate(arrs):
        x = x if isinstance(x, Tensor) else _wrap(np.asarray(data_of(x, "block_diag")))
        if x.ndim > 2:
            raise ValueError(f"block_diag: arguments must be at most 2-D, argument {i} has shape {tuple(x.shape)}")
        blocks.append(reshape(x, (1,) * (2 - x.ndim) + tuple(x.shape)) if x.ndim < 2 else x)
    if not blocks:
        return _wrap(np.zeros((1, 0)))
    dtype = np.result_type(*[x.dtype for x in blocks])
    blocks = [x if x.dtype == dtype else x.astype(dtype) for x in blocks]
    cols = sum(x.shape[1] for x in blocks)
    rows, start = [], 0
    for x in blocks:
        r, c = x.shape
        parts = [np.zeros((r, start), dtype), x, np.zeros((r, cols - start - c), dtype)]
        rows.append(concatenate(parts, axis=1))
        start += c
    return concatenate(rows, axis=0)
