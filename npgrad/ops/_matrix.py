"""Helpers shared by the ``np.linalg`` ops (``ops/linalg.py``, ``ops/decomp.py``).

Each helper works on NumPy arrays (the plain backward path) and on Tensors (the create_graph path,
where the NumPy calls dispatch to npgrad ops), so a VJP written with them is itself differentiable.
"""
import contextlib

import numpy as np

from ._util import data_of

LinAlgError = np.linalg.LinAlgError


def mT(x):
    """Transpose of the last two axes."""
    return np.swapaxes(x, -1, -2)


def mH(x):
    """Conjugate transpose of the last two axes (the transpose for real ``x``)."""
    x = np.swapaxes(x, -1, -2)
    return np.conj(x) if x.dtype.kind == "c" else x


def is_complex(x):
    return np.dtype(x.dtype).kind == "c"


def eye_like(x, n=None):
    """The identity of the last axis' size (or ``n``), in ``x``'s dtype (a constant)."""
    n = x.shape[-1] if n is None else n
    return np.eye(n, dtype=x.dtype)


def diag_embed(v):
    """(..., n) -> (..., n, n) with ``v`` on the diagonal."""
    return v[..., None] * np.eye(v.shape[-1], dtype=v.dtype)


def diagonal(x):
    """(..., n, n) -> (..., n): the main diagonal."""
    return np.einsum("...ii->...i", x)


def tril(x, k=0):
    """The lower triangle (``k=-1``: strictly lower), as a product with a constant mask."""
    m, n = x.shape[-2:]
    return x * np.tri(m, n, k, dtype=x.dtype)


def triu(x, k=0):
    """The upper triangle (``k=1``: strictly upper), as a product with a constant mask."""
    m, n = x.shape[-2:]
    return x * (1 - np.tri(m, n, k - 1, dtype=x.dtype))


def matrix_arg(a, op, square=False, min_ndim=2, complex_ok=False):
    """The NumPy value of a matrix argument of ``op``, checked: at least 2-D, square if asked, and real
    unless ``complex_ok`` (every ``npg.linalg`` op passes it now: their gradients are complex-correct)."""
    d = np.asarray(data_of(a, op))
    check_matrix(d, op, square, min_ndim, complex_ok)
    return d


def check_matrix(a, op, square=False, min_ndim=2, complex_ok=False):
    """:func:`matrix_arg`'s checks on the shape and dtype of ``a`` only (its values are not read: a batched
    tensor inside vmap passes with its per-sample shape)."""
    shape = tuple(a.shape) if hasattr(a, "shape") else np.shape(a)
    if len(shape) < min_ndim:
        raise LinAlgError(f"{op}: {len(shape)}-dimensional array given; it must be at least two-dimensional "
                          f"(got shape {shape})")
    if square and shape[-1] != shape[-2]:
        raise LinAlgError(f"{op}: the last two dimensions must be square, got shape {shape}")
    dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
    if np.dtype(dtype).kind == "c" and not complex_ok:
        raise TypeError(f"{op}: complex matrices are not supported (complex linear algebra: det, slogdet, inv, "
                        f"solve, matrix_power, cholesky, qr, eigh, eigvalsh, svd, svdvals, pinv, lstsq, norm, "
                        f"vector_norm, matrix_norm, cond, matrix_rank, tensorinv, tensorsolve, multi_dot, trace, "
                        f"outer, vecdot, cross, diagonal, matrix_transpose)")


@contextlib.contextmanager
def lapack(op, *shapes):
    """Re-raise NumPy's LinAlgError (``Singular matrix``...) naming ``op`` and the shapes, and its TypeError for a
    dtype LAPACK lacks (``array type float16 is unsupported in linalg``, which names no op)."""
    where = f"(input shape{'s' if len(shapes) > 1 else ''} {', '.join(str(s) for s in shapes)})"
    try:
        yield
    except LinAlgError as e:
        raise LinAlgError(f"{op}: {e} {where}") from None
    except TypeError as e:
        if "unsupported in linalg" not in str(e):
            raise
        raise TypeError(f"{op}: {e} {where}; convert to float32 or float64 first") from None


def float_dtype(*arrays):
    """The floating dtype NumPy's linalg computes in for these inputs (ints become float64)."""
    dt = np.result_type(*arrays)
    return dt if dt.kind == "f" else np.dtype(np.float64)
