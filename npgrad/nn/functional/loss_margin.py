"""Margin and embedding losses, as ``torch.nn.functional``: ``cosine_embedding_loss``,
``margin_ranking_loss``, ``hinge_embedding_loss``, ``triplet_margin_loss``, ``multilabel_margin_loss``,
``multi_margin_loss``.

Composed from differentiable npgrad ops following PyTorch's ATen formulas; ``clamp_min(z, 0)`` is
``clip(z, 0)``, whose gradient passes at ``z == 0`` as torch.clamp's does. Integer targets pick entries
with NumPy masks built once per call.
"""
import numpy as np

from ...ops import elementwise as _ew
from ...ops._util import as_input, batching_rule, div_count, number_arg
from ...tensor import Tensor
from .distance import pairwise_distance
from .loss import _check_reduction, _reduce
from ._common import _data, _float_target, _legacy_reduction, _target as _checked_target

__all__ = ["cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss", "multilabel_margin_loss", "multi_margin_loss"]

_EPSILON = np.float32(1e-12)  # ATen's cosine_embedding_loss: a float (1e-12 rounded) in every dtype


def _reduction(size_average, reduce, reduction, name):
    reduction = _legacy_reduction(size_average, reduce, reduction, name)
    _check_reduction(reduction, name)
    return reduction


def _float(x, name):
    t = as_input(x, name)
    if np.dtype(t.dtype).kind != "f":  # (the dtype, not the values: a batched tensor inside vmap passes)
        raise TypeError(f"{name}: expected a floating point input, got {t.dtype}")
    return t


def _target(t, name):
    """A target for shape checks and comparisons: a Tensor as it is (inside vmap it may be batched; its
    comparisons are then ops), anything else as an array (None or a string: a TypeError naming the loss)."""
    _checked_target(t, None, name)
    return t if isinstance(t, Tensor) else _data(t)


def _clamp_min0(z):
    return _ew.clip(z, 0, None)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """``1 - cos(x1, x2)`` for ``target == 1``, ``max(0, cos(x1, x2) - margin)`` for ``target == -1``;
    inputs (N, D) with target (N,), or (D,) with a 0-d target."""
    reduction = _reduction(size_average, reduce, reduction, "cosine_embedding_loss")
    a, b = _float(input1, "cosine_embedding_loss"), _float(input2, "cosine_embedding_loss")
    td = _target(target, "cosine_embedding_loss")
    if td.ndim not in (0, 1):
        raise ValueError(f"cosine_embedding_loss: 0D or 1D target tensor expected, multi-target not supported "
                         f"(target of shape {td.shape})")
    want = 2 if td.ndim == 1 else 1
    if a.ndim != want or b.ndim != want:
        raise ValueError(f"cosine_embedding_loss: {td.ndim}D target tensor expects {want}D input tensors, but "
                         f"found inputs with sizes {a.shape} and {b.shape}")
    if a.shape != b.shape or (td.ndim == 1 and td.shape[0] != a.shape[0]):
        raise ValueError(f"cosine_embedding_loss: inputs of shapes {a.shape} and {b.shape} and target of shape "
                         f"{td.shape} do not match")
    ax = want - 1
    dt = np.result_type(a.dtype, b.dtype)
    if dt == np.float16:   # in float32, rounded once to float16 (the float32 epsilon made the loss float32)
        a, b = a.astype(np.float32), b.astype(np.float32)
    prod = (a * b).sum(axis=ax)
    m1 = (a * a).sum(axis=ax) + _EPSILON
    m2 = (b * b).sum(axis=ax) + _EPSILON
    cos = prod / _ew.sqrt(m1 * m2)
    out = _ew.where(td == 1, 1 - cos, 0) + _ew.where(td == -1, _clamp_min0(cos - margin), 0)
    out = _reduce(out, reduction)
    return out.astype(dt) if dt == np.float16 else out


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """``max(0, -target * (x1 - x2) + margin)`` for targets in {1, -1}."""
    reduction = _reduction(size_average, reduce, reduction, "margin_ranking_loss")
    a, b = _float(input1, "margin_ranking_loss"), _float(input2, "margin_ranking_loss")
    td = _target(target, "margin_ranking_loss")
    if not a.ndim == b.ndim == td.ndim:
        raise ValueError(f"margin_ranking_loss: All input tensors should have same dimension but got sizes: "
                         f"input1: {a.shape}, input2: {b.shape}, target: {td.shape}")
    try:
        np.broadcast_shapes(a.shape, b.shape, td.shape)
    except ValueError:
        raise ValueError(f"margin_ranking_loss: input1 {a.shape}, input2 {b.shape} and target {td.shape} do not "
                         f"broadcast together") from None
    return _reduce(_clamp_min0(-_float_target(target, a) * (a - b) + margin), reduction)


@batching_rule("pointwise_loss")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """``x`` where ``target == 1`` and ``max(0, margin - x)`` where ``target == -1``."""
    reduction = _reduction(size_average, reduce, reduction, "hinge_embedding_loss")
    x = _float(input, "hinge_embedding_loss")
    td = _data(_checked_target(target, x.shape, "hinge_embedding_loss"))
    out = _ew.where(td != 1, _clamp_min0(margin - x), 0) + _ew.where(td != -1, x, 0)
    return _reduce(out, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the pairwise p-norm distance; ``swap`` uses
    ``min(d(a, n), d(p, n))`` as the negative distance, ``d`` over the last dim. Inputs of any (one) number of
    dims, broadcasting, as PyTorch: (N, D), (D,), (..., D) (one loss per leading index), or 0-d."""
    reduction = _reduction(size_average, reduce, reduction, "triplet_margin_loss")
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    a, po, ne = (_float(t, "triplet_margin_loss") for t in (anchor, positive, negative))
    if not a.ndim == po.ndim == ne.ndim:
        raise ValueError(f"triplet_margin_loss: The anchor, positive, and negative tensors are expected to have "
                         f"the same number of dimensions, but got: anchor {a.ndim}D, positive {po.ndim}D, and "
                         f"negative {ne.ndim}D inputs")
    _broadcast_triplet(a, po, ne, "triplet_margin_loss")
    d_pos = pairwise_distance(a, po, p, eps)
    d_neg = pairwise_distance(a, ne, p, eps)
    if swap:
        d_neg = _ew.minimum(d_neg, pairwise_distance(po, ne, p, eps))
    return _reduce(_clamp_min0(margin + d_pos - d_neg), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` for any distance ``d = distance_function`` (a callable of two
    tensors; ``pairwise_distance`` when None), as ``torch.nn.functional.triplet_margin_with_distance_loss``;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance. ``margin`` must be positive."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"triplet_margin_with_distance_loss: {reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be greater than 0, got {margin}")
    a, po, ne = (as_input(t, "triplet_margin_with_distance_loss") for t in (anchor, positive, negative))
    if not a.ndim == po.ndim == ne.ndim:
        raise RuntimeError(f"triplet_margin_with_distance_loss: The anchor, positive, and negative tensors are "
                           f"expected to have the same number of dimensions, but got: anchor {a.ndim}D, positive "
                           f"{po.ndim}D, and negative {ne.ndim}D inputs")
    if distance_function is None:  # (a custom distance function has its own shape rules)
        _broadcast_triplet(a, po, ne, "triplet_margin_with_distance_loss")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(a, po)
    d_neg = dist(a, ne)
    if swap:
        d_neg = _ew.minimum(d_neg, dist(po, ne))
    return _reduce(_clamp_min0(margin + d_pos - d_neg), reduction)


def _broadcast_triplet(a, po, ne, name):
    """The triplet losses' check that anchor, positive and negative broadcast together (as PyTorch's pairwise
    distances need), reported by the loss with the three shapes."""
    try:
        np.broadcast_shapes(a.shape, po.shape, ne.shape)
    except ValueError:
        raise ValueError(f"{name}: anchor {a.shape}, positive {po.shape} and negative {ne.shape} do not broadcast "
                         f"together") from None


def _batched_classes(x, td, name, target_like_input):
    """(N, C) views of a (C,) or (N, C) input and its target; ``unbatched`` when the input was 1-D."""
    if x.ndim > 2:
        raise ValueError(f"{name}: expected a 1D (C,) or 2D (N, C) input, got shape {x.shape}")
    if td.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, not {td.dtype}")
    unbatched = x.ndim <= 1
    xb = x.reshape(1, -1) if unbatched else x
    N, C = xb.shape
    want = x.shape if target_like_input else x.shape[:1] if not unbatched else ()
    if td.shape != want and not (unbatched and td.size == (C if target_like_input else 1) and td.ndim <= 1):
        raise ValueError(f"{name}: inconsistent target size: {td.shape} for input of size: {x.shape}")
    return xb, td.reshape(N, C if target_like_input else 1), unbatched


@batching_rule("margin_loss")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: for each sample, ``sum over target classes j and non-target classes i of
    max(0, 1 - (x[j] - x[i])) / C``. ``target`` (same shape as the input) lists class indices, ended by the
    first -1."""
    reduction = _reduction(size_average, reduce, reduction, "multilabel_margin_loss")
    x = _float(input, "multilabel_margin_loss")
    xb, tb, unbatched = _batched_classes(x, _data(target), "multilabel_margin_loss", True)
    N, C = xb.shape
    if tb.size and (tb.min() < -1 or tb.max() >= C):
        raise IndexError(f"multilabel_margin_loss: target values must be in [-1, {C}), got values in "
                         f"[{tb.min()}, {tb.max()}]")
    # count[n, j]: how often class j is listed before the first -1; is_target[n, i]: listed at all
    listed = np.cumprod(tb >= 0, axis=1).astype(bool)
    count = np.zeros((N, C), dtype=xb.dtype)
    rows = np.broadcast_to(np.arange(N)[:, None], tb.shape)
    np.add.at(count, (rows[listed], tb[listed]), 1)
    other = (count == 0).astype(xb.dtype)
    weight = count[:, :, None] * other[:, None, :]           # (N, j, i)
    z = 1 - xb[:, :, None] + xb[:, None, :]                   # 1 - (x[j] - x[i])
    keep = (z.data > 0) & (weight > 0)                          # ATen adds a term only where z > 0
    loss = div_count((_ew.where(keep, z, 0) * weight).sum(axis=(1, 2)), C)   # (float16: C past 65504 is inf)
    if unbatched and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


@batching_rule("margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge loss: for each sample with class ``y``, ``sum over i != y of
    max(0, margin - x[y] + x[i])**p / C`` (``p`` 1 or 2), each term scaled by ``weight[y]`` if given."""
    reduction = _reduction(size_average, reduce, reduction, "multi_margin_loss")
    p = number_arg(p, "multi_margin_loss", "p")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got p={p}")
    x = _float(input, "multi_margin_loss")
    xb, tb, unbatched = _batched_classes(x, _data(target), "multi_margin_loss", False)
    N, C = xb.shape
    y = tb.reshape(N)
    if y.size and (y.min() < 0 or y.max() >= C):
        raise IndexError(f"multi_margin_loss: target {y[(y < 0) | (y >= C)][0]} is out of bounds for {C} classes")
    wd = None if weight is None else _data(weight)
    if wd is not None and wd.shape != (C,):
        raise ValueError(f"multi_margin_loss: weight of shape {wd.shape} for {C} classes (expected ({C},))")
    onehot = np.arange(C)[None, :] == y[:, None]
    x_y = xb[np.arange(N), y].reshape(N, 1)
    z = margin - x_y + xb
    keep = (z.data > 0) & ~onehot
    h = _ew.where(keep, z, 0)
    if p == 2:
        h = h * h
    if weight is not None:
        wy = weight[y] if isinstance(weight, Tensor) else wd[y].astype(xb.dtype, copy=False)
        h = h * wy.reshape(N, 1)
    loss = div_count(h.sum(axis=1), C)   # (float16: C past 65504 is inf in float16)
    if unbatched and reduction == "none" and _data(target).ndim == 0:
        loss = loss.reshape(())
    return _reduce(loss, reduction)
