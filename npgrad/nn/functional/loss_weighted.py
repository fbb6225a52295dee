"""The losses whose weights require grad: ``weight`` of cross_entropy / nll_loss / the binary cross-entropies
and ``pos_weight`` of binary_cross_entropy_with_logits. The fused losses (loss.py) treat their weights as
constants; when a weight tensor requires grad (npgrad's float tensors do by default) the loss is composed here
of differentiable ops instead, with the same values, so the weight gets its gradient rather than silently none.
PyTorch refuses these derivatives ("not differentiable with respect to argument 'weight'") except for
probability targets of cross_entropy; the gradients here are the exact ones (checked by central differences)."""
import numpy as np

from ...autograd import forward_ad as _fwd
from ...autograd.grad_mode import _state
from ...ops.elementwise import isnan, where
from ...ops.index import take_along_axis
from ...ops._util import all_values
from ...tensor import Tensor
from .activation import log_softmax
from .activation_more import logsigmoid


def needs_grad(w):
    """Whether ``w`` is a tensor whose derivative is wanted: it requires grad (and grad mode is on), or it
    carries a forward-mode tangent (``npg.func.jvp``, ``forward_ad.make_dual``)."""
    return isinstance(w, Tensor) and ((w._requires_grad and _state.enabled) or _fwd.is_dual(w))


def weighted(loss, weight, reduction):
    """An elementwise loss (``reduction='none'``) times ``weight`` (broadcast), reduced as PyTorch's weighted
    binary cross-entropies: the mean is over the elements, not the weights."""
    loss = loss * weight
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def bce_with_logits_weighted(x, target, weight, pos_weight, reduction):
    """PyTorch's ``(1 - t) x - ((pw - 1) t + 1) log_sigmoid(x)``, times ``weight``, as ops in the equal form
    ``-(pw t log_sigmoid(x) + (1 - t) log_sigmoid(-x))``, whose gradients are PyTorch's at any x: for the
    target ``log_sigmoid(-x) - pw log_sigmoid(x)`` (PyTorch's form differentiates to inf - inf at x = -inf),
    for the input ``(1 - t) sigmoid(x) - pw t sigmoid(-x)``; for ``pos_weight`` ``-t log_sigmoid(x)``, and 0
    where t = 0 (the loss does not depend on it there, even at x = -inf). The two forms' values agree but at
    an infinite x, where PyTorch's is NaN for some targets (0 * inf or inf - inf): those NaN are added as a
    constant, so the values are PyTorch's (and the fused path's) while the gradients stay finite."""
    t = target if isinstance(target, Tensor) else np.asarray(target, dtype=x.dtype)
    tl = t * logsigmoid(x)
    if pos_weight is not None:
        if needs_grad(pos_weight):   # at t = 0 tl (0 * -inf at x = -inf) reaches pos_weight's gradient as 0
            zero = t == 0              # (where's VJP selects, it does not multiply); x and t get theirs by pw's value
            tl = where(zero, pos_weight.detach() * tl, pos_weight * where(zero, 0, tl))
        else:
            tl = pos_weight * tl
    loss = -(tl + (1 - t) * logsigmoid(-x))
    if not np.isfinite(all_values(x)).all():
        xd, td = x.detach(), t.detach() if isinstance(t, Tensor) else t
        pwd = 1.0 if pos_weight is None else pos_weight.detach() if isinstance(pos_weight, Tensor) else pos_weight
        ref, got = (1 - td) * xd - ((pwd - 1) * td + 1) * logsigmoid(xd), loss.detach()
        loss = loss + where(isnan(ref) & ~isnan(got), np.nan, 0).astype(loss.dtype)
    return weighted(loss, 1.0 if weight is None else weight, reduction)


def _valid_picks(x, valid, tc):
    """``x[n, tc[n], ...]`` at the valid targets and 0 at the ignored ones (whose ``tc`` reads class 0 in their
    place). Masked before any product: a masked logit there (-inf) would make 0 * -inf = nan in the value or in
    the weight's gradient; the ignored entries get exactly no gradient (where's VJP selects, it does not multiply)."""
    return where(valid, take_along_axis(x, np.expand_dims(tc, 1), axis=1).squeeze(1), 0)


def nll_loss_weighted(x, valid, tc, weight, C, reduction):
    """``-w[t] x[t]`` over the valid targets; the mean divides by their summed weights, as PyTorch's."""
    w_t = weight[tc] * valid
    loss = -w_t * _valid_picks(x, valid, tc)
    if reduction == "mean":
        return loss.sum() / w_t.sum()
    return loss.sum() if reduction == "sum" else loss


def cross_entropy_weighted(x, target, td, prob, weight, C, eps, ignore_index, reduction):
    """Cross-entropy with class weights that require grad, composed of differentiable ops so that ``weight``
    gets its gradient too; the same values as the fused path (PyTorch's formulas: for index targets the weighted
    NLL and the smoothing term, each divided by the summed weights of the valid targets under "mean")."""
    if weight.shape != (C,):
        raise ValueError(f"cross_entropy: weight of shape {weight.shape} for {C} classes")
    w = weight.reshape((C,) + (1,) * (x.ndim - 2))
    logp = log_softmax(x, dim=1)
    if prob:
        t = target if isinstance(target, Tensor) else np.asarray(target, dtype=x.dtype)
        if eps:
            t = t * (1 - eps) + eps / C
        loss = -(logp * t * w).sum(axis=1)
        if reduction == "mean":
            return loss.sum() / loss.size
        return loss.sum() if reduction == "sum" else loss
    from .loss import _class_targets  # (loss.py imports this module)
    valid, tc = _class_targets(td, C, ignore_index, "cross_entropy")
    w_t = weight[tc] * valid                                   # (N, d...): the target classes' weights
    logp = where(np.expand_dims(valid, 1), logp, 0)            # an ignored target's row: 0 (see _valid_picks)
    loss = -(1 - eps) * w_t * _valid_picks(logp, valid, tc)
    if eps:
        loss = loss - (eps / C) * (logp * w).sum(axis=1)
    if reduction == "mean":
        return loss.sum() / w_t.sum()
    return loss.sum() if reduction == "sum" else loss


def smoothing_tensor(cross_entropy, input, target, weight, ignore_index, reduction, eps):
    """``cross_entropy`` (passed in: loss.py imports this module) with a Tensor ``label_smoothing`` in a
    graph. The loss is affine in it (the smoothed target, or PyTorch's mix of the class-index loss with the
    uniform one, is), so it is ``l0 + eps * (l1 - l0)`` with ``l0``, ``l1`` the losses at 0 and 1: differentiable
    in ``eps`` and, in the input, PyTorch's ``(1 - eps) dl0 + eps dl1``."""
    if eps.ndim != 0:
        raise TypeError(f"cross_entropy: label_smoothing must be a number or a 0-d Tensor, got a Tensor of shape "
                        f"{eps.shape}")
    e = all_values(eps)
    if not np.all((e >= 0.0) & (e <= 1.0)):
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {eps}")
    l0, l1 = (cross_entropy(input, target, weight, None, ignore_index, None, reduction, v) for v in (0.0, 1.0))
    return l0 + eps.astype(l0.dtype) * (l1 - l0)
