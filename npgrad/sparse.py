"""Row-sparse gradients: what ``Embedding(sparse=True)`` / ``F.embedding(..., sparse=True)`` leave in
``weight.grad``: the rows that were looked up (``indices``, repeats allowed, as PyTorch's uncoalesced
sparse COO gradient) and their gradients (``values``, one row each), for a table of ``shape``.

A ``RowSparseGrad`` stands for the dense array ``to_dense()`` and behaves as it wherever it is used:
adding two of them concatenates their rows (gradient accumulation across backward passes stays
sparse); adding a dense array, or giving one to a NumPy function, gives the dense result; scaling by
a number scales the values. The optimizers accept it (see npgrad/optim/optimizer.py): SGD without
momentum and weight decay and Adagrad without weight decay update only the rows present (exact:
the dense update leaves the other rows unchanged too); the others densify it and do the dense math.
"""
import math

import numpy as np

__all__ = ["RowSparseGrad"]


class _Flags:
    writeable = True


class RowSparseGrad:
    """A gradient that is zero outside some rows of a table: ``values[k]`` is added at row ``indices[k]``."""

    __slots__ = ("indices", "values", "shape")
    is_sparse = True
    base = None          # never a view (backward's accumulation checks these two)
    flags = _Flags()

    def __init__(self, indices, values, shape):
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.values = np.asarray(values)
        self.shape = tuple(shape)
        if self.values.shape != (self.indices.size,) + self.shape[1:]:
            raise ValueError(f"RowSparseGrad: values of shape {self.values.shape} for {self.indices.size} rows of "
                             f"a table of shape {self.shape}")

    dtype = property(lambda self: self.values.dtype)
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape), doc="Elements of the dense array it stands for.")
    nnz = property(lambda self: self.indices.size, doc="Stored rows (repeats included).")

    def to_dense(self):
        """The dense gradient (rows listed more than once are summed)."""
        out = np.zeros(self.shape, dtype=self.dtype)
        np.add.at(out, self.indices, self.values)
        return out

    def coalesce(self):
        """The same gradient with sorted, unique row indices (repeated rows summed)."""
        uniq, inv = np.unique(self.indices, return_inverse=True)
        vals = np.zeros((uniq.size,) + self.shape[1:], dtype=self.dtype)
        np.add.at(vals, inv.reshape(-1), self.values)
        return RowSparseGrad(uniq, vals, self.shape)

    def __array__(self, dtype=None, copy=None):
        d = self.to_dense()
        return d if dtype is None else d.astype(dtype)

    def astype(self, dtype, copy=True):
        return RowSparseGrad(self.indices, self.values.astype(dtype), self.shape)

    def copy(self):
        return RowSparseGrad(self.indices.copy(), self.values.copy(), self.shape)

    def __add__(self, other):
        if isinstance(other, RowSparseGrad):
            if other.shape != self.shape:
                raise ValueError(f"RowSparseGrad: cannot add gradients of shapes {self.shape} and {other.shape}")
            return RowSparseGrad(np.concatenate([self.indices, other.indices]),
                                 np.concatenate([self.values, other.values.astype(self.dtype, copy=False)]),
                                 self.shape)
        return self.to_dense() + other

    __radd__ = __add__

    def __neg__(self):
        return RowSparseGrad(self.indices, -self.values, self.shape)

    def __mul__(self, other):
        if np.ndim(other) == 0 and not isinstance(other, RowSparseGrad):
            return RowSparseGrad(self.indices, self.values * other, self.shape)
        return self.to_dense() * other

    __rmul__ = __mul__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __truediv__(self, other):
        if np.ndim(other) == 0:
            return RowSparseGrad(self.indices, self.values / other, self.shape)
        return self.to_dense() / other

    def __repr__(self):
        return (f"RowSparseGrad(indices={self.indices.tolist()}, values=<{self.values.dtype} array of shape "
                f"{self.values.shape}>, shape={self.shape})")
