"""Convolution (N-d, channels first: NCL / NCHW / NCDHW), exact against torch.nn.functional; pooling is in
``ops/pooling.py``, the shared argument checks, window geometry and memory layout in ``ops/_conv_geometry.py``,
the raw kernels on NumPy arrays in ``ops/_conv_kernels.py``.

Names, argument order and defaults are PyTorch's (``conv2d(input, weight, bias=None, stride=1, padding=0,
dilation=1, groups=1)``, pool stride defaulting to the kernel size, ...). Every function takes a batched
input or an unbatched one (no leading batch axis), as PyTorch does.

How it is computed
------------------
* layout: the kernels work on batch-last arrays (C, *L, N), as the benchmark's hand-written NumPy floor
  does, and a convolution returns its (N, C, *L) result as a transposed view of one (the memory order
  differs from C order, the values and shape do not; see "memory layout" in ``_conv_geometry.py``). The ops that follow
  keep that order, so consecutive layers pass arrays without transposing them.
* convolution: the zero-padded batch-last input is viewed as its windows with ``as_strided`` (no copy),
  the view is reshaped into one column matrix (C/G * prod(K), prod(out) * N) (the one copy, of long
  rows, freed when the op returns) and multiplied by the weight in ONE ``matmul`` per group for the
  whole batch; when that matrix is larger than a cache-sized block, it is built and multiplied a few
  output rows at a time instead (ops/conv_blocked.py). Only the op's inputs are kept for backward; the
  weight gradient rebuilds the columns.
* three ops close the family under differentiation: ``conv`` y = B(x, w), its input gradient
  ``conv_transpose`` B_x^T(g, w) and its weight gradient B_w^T(x, g). Each is bilinear and each one's VJPs
  are the other two, so a VJP calls these functions again: on the plain backward path with NumPy arrays
  (raw NumPy), with ``create_graph=True`` with Tensors (recorded ops), so conv has derivatives of any order.
* the transposed product (input gradient) is, for stride 1 and out channels <= in channels, itself a
  convolution (of g with the flipped kernel); otherwise one ``matmul`` followed by a col2im that loops
  over the kernel offsets adding strided slices (no ``np.add.at``). The weight gradient is one ``matmul``
  of g's rows with the column matrix.
* depthwise convolutions (groups == in channels == out channels, stride 1) skip the GEMMs, whose per-group
  matrices would be one row: a sum over the kernel offsets (one einsum over a strided view of every offset's
  slice), computed on the padded input's grid so that each offset reads one contiguous slice per channel;
  the weight gradient is one batched dot
  per offset, the input gradient the same convolution with the flipped kernel (see "depthwise kernels" in ``_conv_kernels.py``).
"""
import operator

from ..autograd import versions as _versions
from ..tensor import _make
from . import conv_complex as _cc
from ._conv_geometry import _array, _batched, _float_dtype, _ints, _is_tensor, _name, _positive, _unbatch
from ._conv_kernels import _conv_raw, _conv_transpose_raw, _conv_weight_raw
from ._util import batching_rule, grad_sum
from .pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,  # noqa: F401
                      adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d,
                      avg_pool3d, max_pool1d, max_pool2d, max_pool3d)  # (pooling lived here: still importable)

_tm = __import__("importlib").import_module("..tensor", __package__)  # the module (vmap flag)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


# ============================================================================ the three conv ops
def _conv_any(x, w, b, geom):
    if _is_tensor(x, w, b):
        return _conv_op(x, w, b, geom)
    return _conv_raw(x, w, b, geom)


def _conv_transpose_any(g, w, b, geom, L):
    if _is_tensor(g, w, b):
        return _conv_transpose_op(g, w, b, geom, L)
    return _conv_transpose_raw(g, w, b, geom, L)


def _conv_weight_any(x, g, geom, K):
    if _is_tensor(x, g):
        return _conv_weight_op(x, g, geom, K)
    return _conv_weight_raw(x, g, geom, K)


def _bias_vjp(nd):
    axes = (0,) + tuple(range(2, nd + 2))
    return lambda g, y, x, w, b: grad_sum(g, axes)   # (float16: in float32, as torch)


def _bias_jvp(nd):  # the bias's tangent per channel, broadcast over the batch and the spatial dims
    return lambda t, y, x, w, b: t.reshape((1, -1) + (1,) * nd)


def _cast(dt, *arrays):
    return tuple(None if a is None else (a if a.dtype == dt else a.astype(dt)) for a in arrays)


@batching_rule("conv_op")
def _conv_op(x, w, b, geom):
    xd, wd = _array(x, "conv"), _array(w, "conv")
    bd = None if b is None else _array(b, "conv")
    dt = _float_dtype("conv", *(a for a in (xd, wd, bd) if a is not None))
    xd, wd, bd = _cast(dt, xd, wd, bd)
    out = _conv_raw(xd, wd, bd, geom)
    L, K = xd.shape[2:], wd.shape[2:]
    vjps = (lambda g, y, x, w, *b: _conv_transpose_any(g, w, None, geom, L),
            lambda g, y, x, w, *b: _conv_weight_any(x, g, geom, K))
    jvps = (lambda t, y, x, w, *b: _conv_any(t, w, None, geom),  # bilinear in (x, w)
            lambda t, y, x, w, *b: _conv_any(x, t, None, geom))
    if b is None:
        return _make(out, _name("conv", len(K)), (x, w), (xd, wd), vjps, jvps)
    return _make(out, _name("conv", len(K)), (x, w, b), (xd, wd, bd), vjps + (_bias_vjp(len(K)),),
                 jvps + (_bias_jvp(len(K)),))


@batching_rule("conv_transpose_op")
def _conv_transpose_op(g, w, b, geom, L):
    gd, wd = _array(g, "conv_transpose"), _array(w, "conv_transpose")
    bd = None if b is None else _array(b, "conv_transpose")
    dt = _float_dtype("conv_transpose", *(a for a in (gd, wd, bd) if a is not None))
    gd, wd, bd = _cast(dt, gd, wd, bd)
    out = _conv_transpose_raw(gd, wd, bd, geom, L)
    K = wd.shape[2:]
    vjps = (lambda h, y, g, w, *b: _conv_any(h, w, None, geom),
            lambda h, y, g, w, *b: _conv_weight_any(h, g, geom, K))
    jvps = (lambda t, y, g, w, *b: _conv_transpose_any(t, w, None, geom, L),  # bilinear in (g, w)
            lambda t, y, g, w, *b: _conv_transpose_any(g, t, None, geom, L))
    if b is None:
        return _make(out, _name("conv_transpose", len(K)), (g, w), (gd, wd), vjps, jvps)
    return _make(out, _name("conv_transpose", len(K)), (g, w, b), (gd, wd, bd), vjps + (_bias_vjp(len(K)),),
                 jvps + (_bias_jvp(len(K)),))


@batching_rule("conv_weight_op")
def _conv_weight_op(x, g, geom, K):
    xd, gd = _array(x, "conv_weight"), _array(g, "conv_weight")
    dt = _float_dtype("conv_weight", xd, gd)
    xd, gd = _cast(dt, xd, gd)
    out = _conv_weight_raw(xd, gd, geom, K)
    L = xd.shape[2:]
    vjps = (lambda h, y, x, g: _conv_transpose_any(g, h, None, geom, L),
            lambda h, y, x, g: _conv_any(x, h, None, geom))
    jvps = (lambda t, y, x, g: _conv_weight_any(t, g, geom, K),  # bilinear in (x, g)
            lambda t, y, x, g: _conv_weight_any(x, t, geom, K))
    return _make(out, _name("conv_weight_grad", len(K)), (x, g), (xd, gd), vjps, jvps)


# ============================================================================ public convolutions
def _groups(groups, where):
    try:
        groups = operator.index(groups)
    except TypeError:
        raise TypeError(f"{where}: groups must be an int, got {groups!r}") from None
    if groups < 1:
        raise ValueError(f"{where}: groups must be positive, got {groups}")
    return groups


def _check_kernel(where, wd):
    """A kernel with a size-0 axis would give an output of zeros; PyTorch refuses it."""
    if 0 in wd.shape[2:]:
        raise ValueError(f"{where}: kernel size must be greater than zero, got {wd.shape[2:]} (weight shape "
                         f"{wd.shape})")


def _check_weight(where, nd, xd, wd, bd, groups):
    if wd.ndim != nd + 2:
        raise ValueError(f"{where}: weight must be {nd + 2}-D (out_channels, in_channels/groups, *kernel), "
                         f"got shape {wd.shape}")
    _check_kernel(where, wd)
    groups = _groups(groups, where)
    if bd is not None and bd.shape != (wd.shape[0],):
        raise ValueError(f"{where}: bias must have shape ({wd.shape[0]},) for weight of shape {wd.shape}, "
                         f"got {bd.shape}")
    return groups


def _conv_nd(nd, input, weight, bias, stride, padding, dilation, groups):
    if _tm._VMAP:
        r = _tm._vmap_call("conv", _conv_nd, (input, weight, bias),
                           dict(nd=nd, stride=stride, padding=padding, dilation=dilation, groups=groups))
        if r is not NotImplemented:
            return r
    where = _name("conv", nd)
    xd = _array(input, where)
    wd = _array(weight, where)
    bd = None if bias is None else _array(bias, where)
    x, xd, unbatched = _batched(input, xd, nd, where)
    geom = _conv_geom(where, nd, xd, wd, bd, stride, padding, dilation, groups)
    if _cc.is_complex(xd, wd, bd):
        out = _cc.complex_conv(lambda p, q: _conv_op(p, q, None, geom), x, xd, weight, wd, bias, nd)
    else:
        out = _conv_op(x, weight, bias, geom)
    return _unbatch(out, unbatched)


def _conv_geom(where, nd, xd, wd, bd, stride, padding, dilation, groups):
    """The checked geometry ``(stride, dilation, pad_lo, pad_hi, groups)`` of a convolution of the batched
    input ``xd`` (N, C, *L) with ``wd``; raises naming the shapes at fault."""
    groups = _check_weight(where, nd, xd, wd, bd, groups)
    C, O, Cg = xd.shape[1], wd.shape[0], wd.shape[1]
    if C != Cg * groups:
        raise ValueError(f"{where}: input of shape {xd.shape} has {C} channels but weight of shape {wd.shape} "
                         f"with groups={groups} expects {Cg * groups} (= weight.shape[1] * groups)")
    if O % groups:
        raise ValueError(f"{where}: out_channels {O} (weight shape {wd.shape}) is not divisible by groups={groups}")
    K = wd.shape[2:]
    s = _positive(_ints(stride, nd, "stride", where), "stride", where)
    d = _positive(_ints(dilation, nd, "dilation", where), "dilation", where)
    if isinstance(padding, str):
        if padding == "valid":
            lo = hi = (0,) * nd
        elif padding == "same":
            if any(si != 1 for si in s):
                raise ValueError(f"{where}: padding='same' is not supported for strided convolutions "
                                 f"(stride={s}), as in PyTorch")
            total = tuple(di * (k - 1) for di, k in zip(d, K))
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - a for t, a in zip(total, lo))   # the odd one goes right / bottom, as PyTorch
        else:
            raise ValueError(f"{where}: padding must be 'valid', 'same', an int or a tuple, got {padding!r}")
    else:
        lo = hi = _positive(_ints(padding, nd, "padding", where), "padding", where, minimum=0)
    L = xd.shape[2:]
    if any(n + a + b < di * (k - 1) + 1 for n, a, b, di, k in zip(L, lo, hi, d, K)):
        raise ValueError(f"{where}: kernel of size {K} (dilation {d}) is larger than the padded input: input "
                         f"shape {xd.shape}, padding {lo}/{hi}, weight shape {wd.shape}")
    return s, d, lo, hi, groups


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) over (N, C, L) or (C, L), as ``torch.nn.functional.conv1d``.

    ``weight`` is (out_channels, in_channels/groups, k); ``padding`` an int, a 1-tuple, 'valid' or 'same'."""
    return _conv_nd(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over (N, C, H, W) or (C, H, W), as ``torch.nn.functional.conv2d``.

    ``weight`` is (out_channels, in_channels/groups, kH, kW), ``bias`` (out_channels,) or None. ``stride``,
    ``padding``, ``dilation`` are ints or pairs; ``padding`` may also be 'valid' or 'same' (stride 1; an odd
    total padding puts the extra row/column at the bottom/right, as PyTorch). ``groups`` splits the
    channels (``groups == in_channels`` is a depthwise convolution)."""
    return _conv_nd(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W), as ``torch.nn.functional.conv3d``."""
    return _conv_nd(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose_nd(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    where = _name("conv_transpose", nd)
    xd = _array(input, where)
    wd = _array(weight, where)
    bd = None if bias is None else _array(bias, where)
    x, xd, unbatched = _batched(input, xd, nd, where)
    if wd.ndim != nd + 2:
        raise ValueError(f"{where}: weight must be {nd + 2}-D (in_channels, out_channels/groups, *kernel), "
                         f"got shape {wd.shape}")
    _check_kernel(where, wd)
    groups = _groups(groups, where)
    Cin, Cout = wd.shape[0], wd.shape[1] * groups
    if xd.shape[1] != Cin:
        raise ValueError(f"{where}: input of shape {xd.shape} has {xd.shape[1]} channels but weight of shape "
                         f"{wd.shape} expects {Cin} (= weight.shape[0])")
    if Cin % groups:
        raise ValueError(f"{where}: in_channels {Cin} (weight shape {wd.shape}) is not divisible by "
                         f"groups={groups}")
    if bd is not None and bd.shape != (Cout,):
        raise ValueError(f"{where}: bias must have shape ({Cout},) for weight of shape {wd.shape} and "
                         f"groups={groups}, got {bd.shape}")
    K = wd.shape[2:]
    s = _positive(_ints(stride, nd, "stride", where), "stride", where)
    d = _positive(_ints(dilation, nd, "dilation", where), "dilation", where)
    if isinstance(padding, str):
        raise ValueError(f"{where}: padding must be an int or a tuple (PyTorch has no string padding for "
                         f"transposed convolutions), got {padding!r}")
    p = _positive(_ints(padding, nd, "padding", where), "padding", where, minimum=0)
    op = _positive(_ints(output_padding, nd, "output_padding", where), "output_padding", where, minimum=0)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"{where}: output_padding {op} must be smaller than either stride {s} or dilation {d}")
    L = tuple((n - 1) * si - 2 * a + di * (k - 1) + o + 1
              for n, si, a, di, k, o in zip(xd.shape[2:], s, p, d, K, op))
    if any(n < 1 for n in L):
        raise ValueError(f"{where}: the output would have size {L} (input shape {xd.shape}, weight shape "
                         f"{wd.shape}, stride {s}, padding {p}, dilation {d}): padding is too large")
    hi = tuple(a - o for a, o in zip(p, op))
    geom = (s, d, p, hi, groups)
    if _cc.is_complex(xd, wd, bd):
        out = _cc.complex_conv(lambda g, q: _conv_transpose_op(g, q, None, geom, L), x, xd, weight, wd, bias, nd)
    else:
        out = _conv_transpose_op(x, weight, bias, geom, L)
    return _unbatch(out, unbatched)


@batching_rule("merge_conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``; ``weight`` is
    (in_channels, out_channels/groups, k)."""
    return _conv_transpose_nd(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


@batching_rule("merge_conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input), as
    ``torch.nn.functional.conv_transpose2d``; ``weight`` is (in_channels, out_channels/groups, kH, kW).
    The output size is ``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``."""
    return _conv_transpose_nd(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


@batching_rule("merge_conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d``."""
    return _conv_transpose_nd(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


# What the conv VJPs read (npgrad/autograd/versions.py): the other operand, never the output.
for _k in (1, 2, 3):
    _versions.reads(_name("conv", _k), "b", "a", "")
    _versions.reads(_name("conv_transpose", _k), "b", "a", "")
