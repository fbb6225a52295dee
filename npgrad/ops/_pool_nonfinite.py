"""Adaptive average pooling of an input that holds inf or NaN (``ops/pooling.py``'s unequal windows).

Its usual path contracts each spatial axis with an (out, in) averaging matrix, whose zero weights would turn
an inf or NaN into NaN in every output cell; here each cell gathers only its own window."""
import numpy as np

from .index import take
from .shape import reshape
from .ternary import where


def adaptive_avg_gathered(x, L, sizes):
    """Adaptive average pooling of an input holding inf or NaN: along each spatial axis every output cell
    gathers its own window (padded to the longest with masked-out copies) and averages it, so a non-finite
    element reaches only the cells whose windows hold it, as in PyTorch."""
    for i, (n, o) in enumerate(zip(L, sizes)):
        i_ = np.arange(o)
        start, end = (i_ * n) // o, -((-(i_ + 1) * n) // o)   # PyTorch's windows, as pooling's
        idx = start[:, None] + np.arange(int((end - start).max()))
        inside = idx < end[:, None]
        ax, tail = 2 + i, (1,) * (len(L) - 1 - i)
        g = reshape(take(x, np.minimum(idx, n - 1).ravel(), axis=ax), x.shape[:ax] + idx.shape + x.shape[ax + 1:])
        count = (end - start).astype(x.dtype).reshape((o,) + tail)
        x = where(inside.reshape(idx.shape + tail), g, 0).sum(axis=ax + 1) / count
    return x
