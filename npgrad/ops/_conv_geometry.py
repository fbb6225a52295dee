"""Convolution and pooling helpers (``ops/conv.py``, ``ops/pooling.py``): argument checks, window geometry and
the batch-last memory layout the kernels work in."""
import itertools
import operator

import numpy as np

from ..autograd import versions as _versions
from ..tensor import Tensor, _make
from .shape import expand_dims, reshape


# ============================================================================ argument checking
def _ints(value, nd, name, where):
    """``value`` (an int, or a sequence of ``nd`` ints) as a tuple of ``nd`` ints."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1 and nd != 1:
            value = tuple(value) * nd
        if len(value) != nd:
            raise ValueError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}")
        try:
            return tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}") from None
    if isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}")
    try:
        return (operator.index(value),) * nd
    except TypeError:
        raise TypeError(f"{where}: {name} must be an int or a sequence of {nd} ints, got {value!r}") from None


def _positive(values, name, where, minimum=1):
    if any(v < minimum for v in values):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{where}: {name} must be {what}, got {values}")
    return values


def _array(x, where):
    """The NumPy value of an argument (Tensor data or a constant)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (np.ndarray, np.generic, list, tuple, float, int)):
        return np.asarray(x)
    raise TypeError(f"{where}: expected a Tensor or an array, got {type(x).__name__}")


def _float_dtype(where, *arrays):
    dt = np.result_type(*arrays)
    if dt.kind != "f":
        raise TypeError(f"{where}: expected floating inputs, got dtypes {[str(a.dtype) for a in arrays]}")
    return dt


def _batched(x, xd, nd, where, what="input"):
    """``(x, xd, unbatched)`` with a batch axis added when the input has none (as PyTorch accepts)."""
    if xd.ndim == nd + 2:
        return x, xd, False
    if xd.ndim == nd + 1:
        return (expand_dims(x, 0) if isinstance(x, Tensor) else xd[None]), xd[None], True
    axes = ("L", "H, W", "D, H, W")[nd - 1]
    raise ValueError(f"{where}: expected a {nd + 2}-D (N, C, {axes}) or {nd + 1}-D (C, {axes}) {what}, "
                     f"got shape {xd.shape}")


def _unbatch(out, unbatched):
    if not unbatched:
        return out
    return reshape(out, out.shape[1:])


def _is_tensor(*xs):
    return any(isinstance(x, Tensor) for x in xs)


# ============================================================================ window geometry
def _linear_pair(name, raw, name_t, raw_t):
    """A linear map and its transpose, each the other's VJP: raw NumPy on arrays, a recorded op on
    Tensors (the create_graph path), so the pair is closed under differentiation to any order. A linear map's
    VJP reads no value (declared to autograd/versions.py), so nothing is saved."""
    def apply(x, *args):
        if isinstance(x, Tensor):
            return _make(raw(x.data, *args), name, (x,), _NONE, (lambda g, y, x: transpose(g, *args),),
                         (lambda t, y, x: apply(t, *args),))  # linear: the JVP is the map itself
        return raw(x, *args)

    def transpose(g, *args):
        if isinstance(g, Tensor):
            return _make(raw_t(g.data, *args), name_t, (g,), _NONE, (lambda h, y, g: apply(h, *args),),
                         (lambda t, y, g: transpose(t, *args),))
        return raw_t(g, *args)
    _versions.reads(name, "")
    _versions.reads(name_t, "")
    return apply, transpose


_NONE = (None,)  # the saved values of an op whose VJP reads none (shared)


def _span(out, K, s, d):
    """Extent of the input that ``out`` windows of size ``K`` (stride ``s``, dilation ``d``) cover."""
    return tuple((o - 1) * si + di * (k - 1) + 1 for o, k, si, di in zip(out, K, s, d))


def _padded(xd, lo, span, fill=0.0):
    """``xd`` (N, C, *L) placed at offset ``lo`` in a ``fill`` buffer of spatial size ``span`` (cropped
    where it reaches past it), in ``xd``'s memory order (batch-last or C order). Returns ``xd`` itself
    when no padding is needed."""
    L = xd.shape[2:]
    if not any(lo) and all(sp <= n for sp, n in zip(span, L)):
        return xd
    if _is_batch_last(xd):
        return _from_batch_last(_batch_last(xd, lo, span, fill))
    buf = np.empty(xd.shape[:2] + tuple(span), dtype=xd.dtype)
    dst, src = _placement(lo, L, span)
    _fill_border(buf, dst, fill, 2)
    buf[(Ellipsis,) + dst] = xd[(Ellipsis,) + src]
    return buf


def _fill_border(buf, dst, fill, first):
    """Write ``fill`` into ``buf`` outside the box ``dst`` (slices of its spatial axes, which start at axis
    ``first``): the padding around where the input goes, without a pass over the whole buffer first."""
    for j, sl in enumerate(dst):
        ax = first + j
        head = (slice(None),) * ax
        if sl.start > 0:
            buf[head + (slice(0, sl.start),)] = fill
        if sl.stop < buf.shape[ax]:
            buf[head + (slice(sl.stop, None),)] = fill


def _placement(lo, L, span):
    """(destination slices in the buffer, source slices in the input) of an input of size ``L`` put at
    offset ``lo`` in a buffer of size ``span``."""
    dst = tuple(slice(a, max(a, min(a + n, sp))) for a, n, sp in zip(lo, L, span))
    src = tuple(slice(0, max(0, min(n, sp - a))) for a, n, sp in zip(lo, L, span))
    return dst, src


# ============================================================================ memory layout
# The convolution kernels work in the batch-last layout (C, *L, N), as the hand-written NumPy floor of
# the benchmark does (bench/workloads/_common.py): im2col is then one strided copy whose rows are
# out_w * N contiguous elements, the whole batch is ONE GEMM per group, and col2im adds long rows.
# A convolution returns its (N, C, *L) result as a transposed view of that batch-last array (the same
# values and shape, another memory order, as PyTorch's channels_last). NumPy's ufuncs keep the memory
# order of their inputs, so the ReLU, batch norm, pooling and the gradients that follow stay batch-last
# and the next convolution (or this one's backward) finds its operand already in place: no transposes
# between layers, only where an NCHW array comes in (the network's input, a reshape).

def _is_batch_last(a):
    """Whether ``a`` (N, C, *L) is laid out as a C-contiguous (C, *L, N) array (and N > 1)."""
    return a.shape[0] > 1 and a.strides[0] == a.itemsize and a.transpose(_to_last(a.ndim)).flags.c_contiguous


def _to_last(ndim):
    return tuple(range(1, ndim)) + (0,)


def _from_batch_last(t):
    """The (N, C, *L) view of a batch-last array (C, *L, N)."""
    return t.transpose((t.ndim - 1,) + tuple(range(t.ndim - 1)))


def _batch_last(a, lo=None, span=None, fill=0.0):
    """``a`` (N, C, *L) as a C-contiguous batch-last array (C, *L, N): a view if ``a`` is laid out so,
    else one copy. With ``lo``/``span``: placed at offset ``lo`` in a ``fill`` buffer (C, *span, N),
    cropped where it reaches past it (without padding, the spatial size may exceed ``span``)."""
    t = a.transpose(_to_last(a.ndim))
    L = a.shape[2:]
    if lo is not None and (any(lo) or any(sp > n for sp, n in zip(span, L))):
        buf = np.empty(t.shape[:1] + tuple(span) + t.shape[-1:], dtype=a.dtype)
        dst, src = _placement(lo, L, span)
        _fill_border(buf, dst, fill, 1)
        c = (slice(None),)
        buf[c + dst] = _gentle(a, t)[c + src]
        return buf
    if t.flags.c_contiguous:
        return t
    return np.ascontiguousarray(_gentle(a, t))


def _gentle(a, t):
    """``t``, the batch-last view of ``a``, or of a copy of ``a`` whose images are 16 elements apart: a copy
    to batch-last order reads one element per image in its inner loop, and when images are a multiple of
    1 KiB apart (8x8 maps of 32 float32 channels, say) those reads fall into a few cache sets and the
    copy runs about 6 times slower than through the extra contiguous copy."""
    n = a.shape[0]
    if n < 8 or not a.flags.c_contiguous or a.strides[0] % 1024:
        return t
    m = a.size // n
    tmp = np.empty((n, m + 16), dtype=a.dtype)
    tmp[:, :m] = a.reshape(n, m)
    return tmp[:, :m].reshape(a.shape).transpose(_to_last(a.ndim))


def _same_layout(a, like):
    """``a`` in ``like``'s memory order (batch-last or C order), copied if needed: elementwise ops between
    arrays of different memory orders run several times slower than between arrays of one."""
    if _is_batch_last(like):
        return a if _is_batch_last(a) else _from_batch_last(_batch_last(a))
    return np.ascontiguousarray(a)


def _alloc(like, shape, dtype, fill=None):
    """A new (N, C, *L) array of ``shape`` in ``like``'s memory order (batch-last or C order), filled with
    ``fill`` (uninitialised if None)."""
    if _is_batch_last(like):
        bl = shape[1:] + shape[:1]
        buf = np.empty(bl, dtype) if fill is None else np.full(bl, fill, dtype)
        return _from_batch_last(buf)
    return np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)


def _gather_slices(K, out, s, d):
    """For each kernel offset (row-major), the slices of the padded input it reads for every window."""
    return [tuple(slice(k * di, k * di + (o - 1) * si + 1, si) for k, o, si, di in zip(kk, out, s, d))
            for kk in itertools.product(*map(range, K))]


def _scatter_slices(K, L, out, s, d, lo):
    """For each kernel offset (row-major): (slices into the unpadded input of size L, slices into the
    output grid) of the windows whose element at that offset falls inside the input; None if none do."""
    result = []
    for kk in itertools.product(*map(range, K)):
        dst, src = [], []
        for k, n, o, si, di, a in zip(kk, L, out, s, d, lo):
            off = k * di - a                       # input position of window 0's element at this offset
            first = max(0, -(off // si) if off < 0 else 0)
            last = min(o - 1, (n - 1 - off) // si)
            if first > last:
                break
            dst.append(slice(first * si + off, last * si + off + 1, si))
            src.append(slice(first, last + 1))
        else:
            result.append((tuple(dst), tuple(src)))
            continue
        result.append(None)
    return result


def _conv_out(L, K, s, d, lo, hi):
    return tuple((n + a + b - di * (k - 1) - 1) // si + 1 for n, k, si, di, a, b in zip(L, K, s, d, lo, hi))


def _name(base, nd):
    return f"{base}{nd}d"
