"""PyTorch's names for ops npgrad has under NumPy's names, where NumPy uses the name for nothing else: the
comparison methods ``eq ne lt le gt ge``, ``cpu()`` (the tensor itself: npgrad has only the CPU), and ``torch.bmm``
/ ``torch.mm`` (and their methods): ``matmul`` after PyTorch's shape checks, so a batch of the wrong rank is
PyTorch's error rather than a broadcast."""
from .contract import matmul
from .elementwise import equal, greater, greater_equal, less, less_equal, not_equal

__all__ = ["bmm", "mm"]


def _shapes_error(name, a, b, what):
    return RuntimeError(f"{name}: {what}, got shapes {tuple(a.shape)} and {tuple(b.shape)}")


def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors: (b, n, p), as ``torch.bmm`` (no broadcasting)."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise _shapes_error("bmm", input, mat2, "both tensors must be 3-D")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise _shapes_error("bmm", input, mat2, "expected (b, n, m) and (b, m, p)")
    return matmul(input, mat2)


def mm(input, mat2):
    """Matrix product of an (n, m) and an (m, p) tensor, as ``torch.mm``."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise _shapes_error("mm", input, mat2, "both tensors must be 2-D")
    if input.shape[1] != mat2.shape[0]:
        raise _shapes_error("mm", input, mat2, "expected (n, m) and (m, p)")
    return matmul(input, mat2)


def attach(T):
    """Give ``Tensor`` these methods."""
    for name, fn in dict(eq=equal, ne=not_equal, lt=less, le=less_equal, gt=greater, ge=greater_equal,
                         bmm=bmm, mm=mm).items():
        setattr(T, name, fn)
    T.cpu = lambda self, memory_format=None: self
    T.cpu.__doc__ = "The tensor itself, as PyTorch's ``cpu()`` on a CPU tensor (npgrad has only the CPU)."
