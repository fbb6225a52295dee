"""Vector products: ``np.vdot`` and NumPy 2's gufuncs ``np.vecdot``, ``np.matvec``, ``np.vecmat``.

All are composites of ``conj``, ``reshape`` and ``matmul`` (``vecdot`` is ``npg.linalg.vecdot``), so their
gradients (PyTorch's conjugate-Wirtinger convention for complex tensors), forward-mode rules and vmap batching
come from those ops. As in NumPy, ``vdot`` and ``vecdot`` conjugate their first argument, ``vecmat`` its vector
and ``matvec`` nothing; integer and bool inputs keep NumPy's result dtype (without a gradient).
"""
import numpy as np

from ..tensor import Tensor
from ._util import as_input
from .complex import conj
from .contract import matmul
from .linalg import vecdot
from .shape import astype, reshape

__all__ = ["matvec", "vdot", "vecdot", "vecmat"]


def _arg(x, op):
    return x if isinstance(x, Tensor) else as_input(x, op)


def _result_dtype(a, b):
    return np.result_type(a.dtype, b.dtype)


def vdot(a, b, /):
    """``np.vdot(a, b)``: the dot product of ``a`` and ``b`` flattened, conjugating ``a`` when complex
    (``sum(conj(a.ravel()) * b.ravel())``); a 0-d tensor. Both must have the same number of elements.
    Differentiable in both (complex: PyTorch's ``torch.vdot``)."""
    a, b = _arg(a, "vdot"), _arg(b, "vdot")
    if a.size != b.size:
        raise ValueError(f"vdot: a of shape {tuple(a.shape)} and b of shape {tuple(b.shape)} have different sizes "
                         f"({a.size} vs {b.size}); vdot flattens both and needs as many elements in each")
    dt = _result_dtype(a, b)
    out = matmul(conj(reshape(a, (-1,))), reshape(b, (-1,)), _op="vdot")
    return out if out.dtype == dt else astype(out, dt)


def _gufunc_shapes(op, sig, a, b, need, contracted=None):
    """NumPy's gufunc checks, with its messages: each operand has its core dimensions, and (``contracted``: the
    axis of ``b`` summed against ``a``'s last) the contracted sizes agree."""
    for i, (x, n) in enumerate(zip((a, b), need)):
        if x.ndim < n:
            raise ValueError(f"{op}: Input operand {i} does not have enough dimensions (has {x.ndim}, gufunc core "
                             f"with signature {sig} requires {n}); got shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
    if contracted is not None and a.shape[-1] != b.shape[contracted]:
        raise ValueError(f"{op}: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"{sig} (size {b.shape[contracted]} is different from {a.shape[-1]}); got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")


def matvec(x1, x2, /):
    """``np.matvec(x1, x2)`` (NumPy >= 2.2): matrix-vector products ``x1[..., m, n] @ x2[..., n] -> [..., m]``,
    batch dimensions broadcast (the vector's too, unlike ``matmul``); no conjugation. Differentiable in both."""
    x1, x2 = _arg(x1, "matvec"), _arg(x2, "matvec")
    sig = "(m,n),(n)->(m)"
    _gufunc_shapes("matvec", sig, x1, x2, (2, 1), contracted=-1)
    out = matmul(x1, reshape(x2, tuple(x2.shape) + (1,)), _op="matvec")
    return reshape(out, tuple(out.shape[:-1]))


def vecmat(x1, x2, /):
    """``np.vecmat(x1, x2)`` (NumPy >= 2.2): vector-matrix products ``conj(x1[..., n]) @ x2[..., n, m] ->
    [..., m]``, batch dimensions broadcast; the vector is conjugated, as NumPy. Differentiable in both."""
    x1, x2 = _arg(x1, "vecmat"), _arg(x2, "vecmat")
    sig = "(n),(n,m)->(m)"
    _gufunc_shapes("vecmat", sig, x1, x2, (1, 2), contracted=-2)
    v = reshape(conj(x1), tuple(x1.shape[:-1]) + (1, x1.shape[-1]))
    out = matmul(v, x2, _op="vecmat")
    return reshape(out, tuple(out.shape[:-2]) + (out.shape[-1],))


def register(functions, ufuncs, ufunc_kwargs):
    """NumPy dispatch: ``np.vdot`` (``__array_function__``) and the gufuncs (``__array_ufunc__``; ``np.vecdot``
    takes its ``axis=`` keyword through)."""
    functions[np.vdot] = vdot
    for name, fn in (("vecdot", vecdot), ("matvec", matvec), ("vecmat", vecmat)):
        if hasattr(np, name):
            ufuncs[getattr(np, name)] = fn
    if hasattr(np, "vecdot"):
        ufunc_kwargs[np.vecdot] = {"axis"}
