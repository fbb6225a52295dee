"""The binary cross-entropies, ``binary_cross_entropy`` (of probabilities) and ``binary_cross_entropy_with_logits``
(``pos_weight``), with PyTorch's reductions, weights and warnings; each with its hand-written VJPs beside it."""
import numpy as np

from ...autograd import versions as _versions
from ...ops._util import as_input, div_count
from ...ops._util import batching_rule as _batching_rule
from ...tensor import _F16, _F32, _make
from .activation import _log_sigmoid, _sigmoid_of
from . import loss_weighted as _lw
from ._common import _data, _float_input, _legacy_reduction, _no_complex, _target
from .loss import _check_reduction, _loss_jvps

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)
_EPS32 = np.float32(1e-12)  # ATen's clamp of x (1 - x) in binary_cross_entropy's backward: a float, 1e-12 rounded


def _check_weight_shape(xd, weights, name):
    """PyTorch's rule for the binary cross-entropies' ``weight`` / ``pos_weight``: each broadcasts to the input's
    shape, and never grows it (torch: "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]")."""
    for arg, w in weights:
        if w is None:
            continue
        ws = np.shape(_data(w))
        try:
            ok = np.broadcast_shapes(xd.shape, ws) == xd.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{name}: {arg} of shape {ws} does not broadcast to the input of shape {xd.shape} "
                             f"(the loss keeps the input's shape)")


def _weighted_loss(loss, wd, dtype, reduction):
    """The binary cross-entropies' output from their elementwise ``loss``: weighted by ``wd`` (or not), in
    ``dtype``, reduced; also the output-gradient scale and the weight their VJPs use."""
    if wd is not None:
        loss = loss * wd
    loss = loss.astype(dtype, copy=False)
    out = np.asarray(loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss,
                     dtype=dtype)
    n = loss.size

    def scale(g):
        return div_count(g, n) if reduction == "mean" else g
    return out, scale, (1.0 if wd is None else wd)


def _vjps_in_float32(vjps):
    """The VJPs ``(g, y, x, t) -> gradient`` of a float16 loss computed on float32 ``g``, ``x`` and ``t`` and rounded
    once to the input's dtype, as torch accumulates: in float16 a 'mean' scaled ``g`` by 1 / n first, subnormal past
    n ~ 16,000 (the gradients 3.7e-3 off over 70,000 elements, torch's 9.7e-4), then rounded each product."""
    def wrap(vjp, k):
        def f(g, y, x, t):
            return vjp(g.astype(_F32), y, x.astype(_F32), t.astype(_F32)).astype((x, t)[k].dtype)
        return f
    return tuple(wrap(v, k) for k, v in enumerate(vjps))


@_batching_rule("pointwise_loss")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """``-(t log p + (1 - t) log(1 - p))`` for probabilities ``p`` in [0, 1], logs clamped at -100 as PyTorch."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "binary_cross_entropy")
    _check_reduction(reduction, "binary_cross_entropy")
    x = as_input(input, "binary_cross_entropy")
    xd, td = x.data, _data(_target(target, None, "binary_cross_entropy"))
    if td.shape != xd.shape:
        raise ValueError(f"binary_cross_entropy: target of shape {td.shape} must match input of shape {xd.shape}")
    # as PyTorch: a nan fails the check too (min and max propagate it, and nan >= 0 is False)
    if xd.size and not (xd.min() >= 0 and xd.max() <= 1):
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 and 1, got values "
                         f"in [{xd.min()}, {xd.max()}]")
    if td.size and not (td.min() >= 0 and td.max() <= 1):
        raise ValueError(f"binary_cross_entropy: all elements of target should be between 0 and 1, got values "
                         f"in [{td.min()}, {td.max()}]")
    _check_weight_shape(xd, (("weight", weight),), "binary_cross_entropy")
    if _lw.needs_grad(weight):
        return _lw.weighted(binary_cross_entropy(x, target, reduction="none"), weight, reduction)
    wd = None if weight is None else _data(weight)
    with np.errstate(divide="ignore"):
        loss = -(td * np.maximum(np.log(xd), -100) + (1 - td) * np.maximum(np.log1p(-xd), -100))
    out, scale, w = _weighted_loss(loss, wd, xd.dtype, reduction)

    def vjp_x(g, y, x, t):
        return scale(g) * w * (x - t) / np.maximum((1 - x) * x, _EPS32)

    def vjp_t(g, y, x, t):  # torch's -logit(x): its log is not clamped as the value's is (+-inf at 0 and 1)
        with np.errstate(divide="ignore"):
            return scale(g) * w * -np.log(x / (1 - x))
    vjps = (vjp_x, vjp_t) if xd.dtype != _F16 else _vjps_in_float32((vjp_x, vjp_t))
    return _make(out, "binary_cross_entropy", (x, target), (xd, td), vjps, _loss_jvps(vjps, reduction))


_versions.reads("binary_cross_entropy", "ab", "ab")  # (npgrad/autograd/versions.py: not the output, as torch)


@_batching_rule("pointwise_loss")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula (PyTorch's, with ``pos_weight``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _no_complex("binary_cross_entropy_with_logits", input, target, weight, pos_weight)
    x = _float_input(input, "binary_cross_entropy_with_logits")  # (integer logits: torch raises too)
    xd, td = x.data, _data(_target(target, None, "binary_cross_entropy_with_logits"))
    if td.shape != xd.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target of shape {td.shape} must match input of "
                         f"shape {xd.shape}")
    _check_weight_shape(xd, (("weight", weight), ("pos_weight", pos_weight)), "binary_cross_entropy_with_logits")
    if _lw.needs_grad(weight) or _lw.needs_grad(pos_weight):
        return _lw.bce_with_logits_weighted(x, target, weight, pos_weight, reduction)
    wd = None if weight is None else _data(weight)
    pw = None if pos_weight is None else _data(pos_weight)
    ls = _log_sigmoid(xd)
    lw = 1.0 if pw is None else (pw - 1) * td + 1
    loss = (1 - td) * xd - lw * ls
    out, scale, w = _weighted_loss(loss, wd, xd.dtype, reduction)

    def vjp_x(g, y, x, t):  # d/dx: (1 - t) - lw * (1 - sigmoid(x))
        lwx = 1.0 if pw is None else (pw - 1) * t + 1
        return scale(g) * w * ((1 - t) - lwx * _sigmoid_of(-x))

    def vjp_t(g, y, x, t):  # d/dt: log_sigmoid(-x) - pw log_sigmoid(x), as PyTorch's (-x - (pw - 1) log_sigmoid(x)
        d = -x if pw is None else _log_sigmoid(-x) - pw * _log_sigmoid(x)   # is inf - 0 * inf at x = -inf)
        return scale(g) * w * d
    vjps = (vjp_x, vjp_t) if xd.dtype != _F16 else _vjps_in_float32((vjp_x, vjp_t))
    return _make(out, "binary_cross_entropy_with_logits", (x, target), (xd, td), vjps, _loss_jvps(vjps, reduction))


_versions.reads("binary_cross_entropy_with_logits", "ab", "ab")
