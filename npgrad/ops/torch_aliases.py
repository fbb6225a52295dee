"""PyTorch's names for ops npgrad has under NumPy's names, where NumPy uses the name for nothing else: the
comparison methods ``eq ne lt le gt ge``, ``cpu()`` (the tensor itself: npgrad has only the CPU), and ``torch.bmm``
/ ``torch.mm`` (and their methods): ``matmul`` after PyTorch's shape checks, so a batch of the wrong rank is
PyTorch's error rather than a broadcast. Also the top-level ``npg.eq ne lt le gt ge softmax log_softmax clamp
chunk`` (torch's functions of the methods), and the random draws ``multinomial bernoulli randperm`` (npgrad's
random state, under vmap as its ``randomness`` says, as ``randn``)."""
import numpy as np

from .. import random as _random
from ..tensor import Tensor, _wrap
from .contract import matmul
from .elementwise import equal, greater, greater_equal, less, less_equal, not_equal
from .torch_methods import _chunk, _clamp

__all__ = ["bmm", "mm", "eq", "ne", "lt", "le", "gt", "ge", "softmax", "log_softmax", "clamp", "chunk",
           "multinomial", "bernoulli", "randperm"]
eq, ne, lt, le, gt, ge = equal, not_equal, less, less_equal, greater, greater_equal


def _dim_or_axis(op, dim, axis):
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim!r} and axis={axis!r}; pass one (axis is NumPy's name for dim)")
        return axis
    return dim


def softmax(input, dim=None, dtype=None, *, axis=None):
    """``torch.softmax``: ``nn.functional.softmax(input, dim)`` (``axis=`` is taken for ``dim``, as
    scipy.special.softmax names it)."""
    from ..nn import functional as F
    return F.softmax(input, _dim_or_axis("softmax", dim, axis), dtype=dtype)


def log_softmax(input, dim=None, dtype=None, *, axis=None):
    """``torch.log_softmax``: ``nn.functional.log_softmax(input, dim)`` (or ``axis=``)."""
    from ..nn import functional as F
    return F.log_softmax(input, _dim_or_axis("log_softmax", dim, axis), dtype=dtype)


def clamp(input, min=None, max=None):
    """``torch.clamp``: ``input`` limited to ``[min, max]`` (numbers or tensors, either may be None)."""
    return _clamp(input, min, max)


def chunk(input, chunks, dim=0):
    """``torch.chunk``: ``chunks`` pieces of (nearly) equal size along ``dim`` (views)."""
    return _chunk(input, chunks, dim)


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


def _whole(x):
    """The tensor holding a batched tensor's whole batch (its values, checked without a per-sample loop)."""
    while type(x) is not Tensor and hasattr(x, "_inner"):
        x = x._inner
    return x


def _check_probs(name, x, lo=0.0, hi=None):
    values = _whole(x).data
    if values.dtype.kind not in "fc" or values.dtype.kind == "c":
        raise TypeError(f"{name}: expected a floating-point probability tensor, got {values.dtype}")
    bad = ~np.isfinite(values) | (values < lo) | ((values > hi) if hi is not None else False)
    if bad.any():
        rng = "in [0, 1]" if hi is not None else "finite and >= 0"
        raise RuntimeError(f"{name}: probabilities must be {rng}, got {values[bad].ravel()[:3].tolist()} "
                           f"(tensor of shape {tuple(x.shape)})")


def _uniform(shape, generator, where):
    """Uniform [0, 1) float64 draws of ``shape`` under vmap's randomness (batched at its 'different' levels)."""
    rng = _random.generator_for(generator, where)
    return _random.vmap_draw(lambda s: _wrap(rng.random(s)), tuple(shape), where)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices (int64) per row of ``input`` (1-D or 2-D non-negative weights, not
    necessarily normalised), with or without ``replacement``, as ``torch.multinomial``."""
    from . import argsort, cumsum, log, sum, where
    if not isinstance(input, Tensor):
        input = _wrap(np.asarray(input))
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(input.shape)}")
    n = input.shape[-1]
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample num_samples={num_samples!r} samples (must be > 0)")
    _check_probs("multinomial", input)
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample ({num_samples}) > prob_dist.size(-1) ({n}) "
                           f"samples without replacement")
    if type(input) is Tensor:  # (a batched tensor: the per-row checks would need a loop over samples)
        if (input.data.sum(-1) <= 0).any():
            raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and ((input.data > 0).sum(-1) < num_samples).any():
            raise RuntimeError(f"multinomial: cannot sample {num_samples} samples without replacement from a "
                               f"distribution with fewer non-zero categories (shape {tuple(input.shape)})")
    p = input.detach().astype(np.float64)
    lead = tuple(input.shape[:-1])
    if replacement:  # inverse CDF, the CDF normalised by its last entry (exactly 1: zero weights never drawn)
        cdf = cumsum(p, axis=-1)
        cdf = cdf / cdf[..., -1:]
        u = _uniform(lead + (num_samples,), generator, "multinomial")
        return sum(cdf[..., None, :] <= u[..., :, None], axis=-1).astype(np.int64)
    # without: the largest keys log(u) / p (Efraimidis-Spirakis), a zero weight's key -inf
    u = _uniform(lead + (n,), generator, "multinomial")
    keys = where(p > 0, log(u) / where(p > 0, p, 1.0), -np.inf)
    return argsort(-keys, axis=-1, kind="stable")[..., :num_samples].astype(np.int64)


def bernoulli(input, p=None, *, generator=None):
    """Draws of 1 with probability ``input`` (or ``p``), else 0, in ``input``'s shape and dtype, as
    ``torch.bernoulli`` (no gradient: PyTorch's is zero)."""
    from . import less
    if not isinstance(input, Tensor):
        input = _wrap(np.asarray(input))
    if input.dtype.kind not in "f":
        raise TypeError(f"bernoulli: expected a floating-point tensor, got {input.dtype}")
    if p is None:
        _check_probs("bernoulli", input, hi=1.0)
        probs = input.detach()
    else:
        if not 0 <= float(p) <= 1:
            raise RuntimeError(f"bernoulli: expected 0 <= p <= 1, got p={p}")
        probs = p
    u = _uniform(tuple(input.shape), generator, "bernoulli")
    return less(u, probs).astype(input.dtype)


def randperm(n, *, dtype=np.int64, generator=None, requires_grad=False):
    """A random permutation of ``0 .. n-1``, as ``torch.randperm`` (every sample its own under
    ``vmap(randomness='different')``)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"randperm: n must be a non-negative integer, got {n!r}")
    dt = np.dtype(dtype)
    top = (np.iinfo(dt).max if dt.kind in "iu" else 2 ** (np.finfo(dt).nmant + 1) if dt.kind == "f" else None)
    if top is None:
        raise TypeError(f"randperm: expected an integer or floating dtype, got {dt}")
    if n - 1 > top:   # (as torch: int8 wrapped around past 127, a float16 one repeated values past 2048)
        raise RuntimeError(f"randperm: n={n} does not fit dtype {dt} (its values 0 .. n-1 must be exact, at most "
                           f"{top})")
    rng = _random.generator_for(generator, "randperm")

    def draw(s):
        out = _wrap(rng.permuted(np.broadcast_to(np.arange(n), s), axis=-1).astype(dtype))
        if requires_grad:
            out.requires_grad = True
        return out
    return _random.vmap_draw(draw, (n,), "randperm")


def attach(T):
    """Give ``Tensor`` these methods."""
    for name, fn in dict(eq=equal, ne=not_equal, lt=less, le=less_equal, gt=greater, ge=greater_equal,
                         bmm=bmm, mm=mm, multinomial=multinomial, bernoulli=bernoulli).items():
        setattr(T, name, fn)
    T.cpu = lambda self, memory_format=None: self
    T.cpu.__doc__ = "The tensor itself, as PyTorch's ``cpu()`` on a CPU tensor (npgrad has only the CPU)."
