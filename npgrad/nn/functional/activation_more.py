"""More activations, as ``torch.nn.functional``: the ELU family (elu, selu, celu), hardtanh / relu6,
hardswish / hardsigmoid, the shrinks, threshold, softsign, tanhshrink, mish, logsigmoid, prelu, rrelu,
softmin, glu, gumbel_softmax.

Each elementwise activation is one op with a hand-written VJP (``_pointwise``). The VJPs are written
with NumPy calls on their arguments, so with ``create_graph=True`` (when they receive Tensors) they run
as npgrad ops and can be differentiated again. Gradients at the kinks follow PyTorch's kernels (e.g.
``hardtanh`` passes no gradient at its bounds, ``softshrink`` none at ``±lambd``).
"""
import numpy as np

from ... import random as _random
from ...autograd import versions as _versions
from ...ops import elementwise as _ew
from ...ops._util import as_input, batching_rule, in_graph, is_batched, normalize_one_axis, number_arg
from ...tensor import Tensor, _make
from .activation import _log_sigmoid, _sigmoid_of, softmax
from ._common import _float_input, _is_graph, _no_complex

__all__ = ["elu", "selu", "celu", "hardtanh", "relu6", "hardswish", "hardsigmoid", "softshrink", "hardshrink",
           "tanhshrink", "threshold", "softsign", "mish", "logsigmoid", "prelu", "rrelu", "softmin", "glu",
           "gumbel_softmax", "elu_", "selu_", "celu_", "hardtanh_", "relu6_", "threshold_", "leaky_relu_",
           "rrelu_", "relu_"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _pointwise(name, x, out, vjp):
    """Record an elementwise op ``name`` of ``x`` whose VJP reads only ``x``. Its Jacobian is diagonal, so
    the JVP is the VJP's formula (DIAG)."""
    xd = x.data
    return _make(np.asarray(out, dtype=xd.dtype), name, (x,), (xd,), (vjp,), (vjp,))


def _elu_family(input, alpha, scale, input_scale, name):
    """PyTorch's ELU kernel: ``x * scale`` for ``x > 0``, else ``alpha * scale * (exp(x * input_scale) - 1)``;
    the gradient for ``x <= 0`` is ``alpha * scale * input_scale * exp(x * input_scale)``."""
    x = _float_input(input, name)
    xd = x.data
    neg_coef = alpha * scale
    out = np.where(xd > 0, xd * scale, np.expm1(np.minimum(xd, 0) * input_scale) * neg_coef)

    def vjp(g, y, x):
        pos = x > 0
        e = np.exp(np.where(pos, 0, x) * input_scale)  # no overflow in the branch not taken
        return np.where(pos, g * scale, g * e * (neg_coef * input_scale))
    return _pointwise(name, x, out, vjp)


def _elu_tensor_alpha(input, alpha, celu):
    """elu (or celu) with a Tensor ``alpha`` in a graph, composed of npgrad ops so the gradient reaches
    ``alpha``: ``alpha * expm1(x)`` (celu: ``alpha * expm1(x / alpha)``) where ``x <= 0``, ``x`` elsewhere. The
    gradient in ``x`` is PyTorch's (``alpha * exp(x)`` on the ``x <= 0`` side, 0 included)."""
    name = "celu" if celu else "elu"
    x = _float_input(input, name)
    if alpha.ndim != 0:
        raise TypeError(f"{name}: alpha must be a number or a 0-d Tensor, got a Tensor of shape {alpha.shape}")
    pos = (x > 0) if is_batched(x) else x.data > 0
    neg = _ew.where(pos, 0.0, x)  # (no overflow of exp in the branch not taken)
    a = alpha.astype(x.dtype)
    return _ew.where(pos, x, a * _ew.expm1(neg / a if celu else neg))


@batching_rule("pointwise")
def elu(input, alpha=1.0, inplace=False):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``. ``alpha`` may be a 0-d Tensor that requires grad:
    the result is then differentiable in it too."""
    if isinstance(alpha, Tensor):
        if in_graph(alpha) and not inplace:
            return _elu_tensor_alpha(input, alpha, False)
        alpha = number_arg(alpha, "elu", "alpha")
    if inplace:
        return elu_(input, alpha)
    return _elu_family(input, float(alpha), 1.0, 1.0, "elu")


@batching_rule("pointwise")
def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the self-normalizing constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    if inplace:
        return selu_(input)
    return _elu_family(input, _SELU_ALPHA, _SELU_SCALE, 1.0, "selu")


@batching_rule("pointwise")
def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``. ``alpha`` may be a 0-d Tensor that requires
    grad: the result is then differentiable in it too."""
    if isinstance(alpha, Tensor):
        if in_graph(alpha) and not inplace:
            if np.any(alpha.data == 0):
                raise ValueError("celu: ZeroDivisionError, alpha must not be 0")
            return _elu_tensor_alpha(input, alpha, True)
        alpha = number_arg(alpha, "celu", "alpha")
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError, alpha must not be 0")
    if inplace:
        return celu_(input, alpha)
    return _elu_family(input, float(alpha), 1.0, 1.0 / float(alpha), "celu")


@batching_rule("pointwise")
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``x`` clamped to ``[min_val, max_val]``; no gradient at or beyond the bounds (as PyTorch)."""
    min_val, max_val = number_arg(min_val, "hardtanh", "min_val"), number_arg(max_val, "hardtanh", "max_val")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    if inplace:
        return hardtanh_(input, min_val, max_val)
    x = _float_input(input, "hardtanh")
    out = np.clip(x.data, min_val, max_val)

    def vjp(g, y, x):  # (NaN passes the gradient, as PyTorch's hardtanh_backward)
        return np.where((x <= min_val) | (x >= max_val), 0, g)
    return _pointwise("hardtanh", x, out, vjp)


@batching_rule("pointwise")
def relu6(input, inplace=False):
    """``min(max(0, x), 6)`` (``hardtanh(x, 0, 6)``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


@batching_rule("pointwise")
def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``."""
    if inplace:
        return _hardswish_(input)
    x = _float_input(input, "hardswish")
    xd = x.data
    out = xd * np.clip(xd + 3, 0, 6) / 6

    def vjp(g, y, x):
        return np.where(x <= -3, 0, np.where(x < 3, g * (x / 3 + 0.5), g))
    return _pointwise("hardswish", x, out, vjp)


@batching_rule("pointwise")
def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``; gradient ``1/6`` strictly inside (-3, 3)."""
    if inplace:
        return _hardsigmoid_(input)
    x = _float_input(input, "hardsigmoid")
    out = np.clip(x.data + 3, 0, 6) / 6

    def vjp(g, y, x):
        return np.where((x > -3) & (x < 3), g / 6, 0)
    return _pointwise("hardsigmoid", x, out, vjp)


@batching_rule("pointwise")
def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    lambd = number_arg(lambd, "softshrink", "lambd")
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    x = _float_input(input, "softshrink")
    xd = x.data
    out = np.where(xd > lambd, xd - lambd, np.where(xd < -lambd, xd + lambd, xd - xd))  # (NaN stays NaN)

    def vjp(g, y, x):
        return np.where((x >= -lambd) & (x <= lambd), 0, g)
    return _pointwise("softshrink", x, out, vjp)


@batching_rule("pointwise")
def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    lambd = number_arg(lambd, "hardshrink", "lambd")
    x = _float_input(input, "hardshrink")
    xd = x.data
    out = np.where((xd >= -lambd) & (xd <= lambd), 0, xd)

    def vjp(g, y, x):
        return np.where((x >= -lambd) & (x <= lambd), 0, g)
    return _pointwise("hardshrink", x, out, vjp)


@batching_rule("pointwise")
def tanhshrink(input):
    """``x - tanh(x)``, composed of the two ops as in torch: its backward reads tanh's output only, so both ``x``
    and the result may be written in place afterwards."""
    x = _float_input(input, "tanhshrink")
    return x - _ew.tanh(x)


@batching_rule("pointwise")
def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value``."""
    threshold, value = number_arg(threshold, "threshold", "threshold"), number_arg(value, "threshold", "value")
    if inplace:
        return threshold_(input, threshold, value)
    x = _float_input(input, "threshold")
    xd = x.data
    out = np.where(xd <= threshold, value, xd)   # (NaN is kept, and passes its gradient, as PyTorch's)

    def vjp(g, y, x):
        return np.where(x <= threshold, 0, g)
    return _pointwise("threshold", x, out, vjp)


@batching_rule("pointwise")
def softsign(input):
    """``x / (1 + |x|)``."""
    x = _float_input(input, "softsign")
    xd = x.data
    out = xd / (1 + np.abs(xd))

    def vjp(g, y, x):
        d = 1 + np.abs(x)
        return g / (d * d)
    return _pointwise("softsign", x, out, vjp)


def _softplus_raw(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


@batching_rule("pointwise")
def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    if inplace:
        return _mish_(input)
    x = _float_input(input, "mish")
    xd = x.data
    out = xd * np.tanh(_softplus_raw(xd))

    def vjp(g, y, x):
        if _is_graph(x):
            t = np.tanh(-_log_sigmoid(-x))
        else:
            t = np.tanh(_softplus_raw(x))
        return g * (t + x * _sigmoid_of(x) * (1 - t * t))
    return _pointwise("mish", x, out, vjp)


@batching_rule("pointwise")
def logsigmoid(input):
    """``log(sigmoid(x))``, computed stably: ``min(x, 0) - log1p(exp(-|x|))``."""
    x = _float_input(input, "logsigmoid")
    out = _log_sigmoid(x.data)

    def vjp(g, y, x):
        return g * _sigmoid_of(-x)
    return _pointwise("logsigmoid", x, out, vjp)


def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)`` with one learned slope, or one per channel (dim 1; dim 0 for a
    1-D input), as ``F.prelu``."""
    x = _float_input(input, "prelu")
    if not isinstance(weight, Tensor):
        weight = np.asarray(weight)
    wshape = tuple(weight.shape)  # (shapes and comparisons as ops: inside vmap x and weight may be batched)
    n = int(np.prod(wshape))
    if n != 1:
        channels = x.shape[1] if x.ndim >= 2 else 1
        if len(wshape) != 1 or channels != n:
            raise ValueError(f"prelu: mismatch of parameter numbers and input channel size: weight of shape "
                             f"{wshape} for input of shape {x.shape} with {channels} channel(s) (dim 1)")
        w = weight.reshape((n,) + (1,) * (x.ndim - 2))
    else:
        w = weight.reshape(())
    return _ew.where((x > 0) if is_batched(x) else x.data > 0, x, w * x)


@batching_rule("random_pointwise")
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training, each negative element gets a slope drawn from U(lower, upper);
    in eval, the slope is ``(lower + upper) / 2``."""
    lower, upper = number_arg(lower, "rrelu", "lower"), number_arg(upper, "rrelu", "upper")
    if inplace:
        return rrelu_(input, lower, upper, training)
    x = _float_input(input, "rrelu")
    if lower > upper:   # (numpy's uniform would fail with a bare "high - low < 0"; eval would run silently)
        raise ValueError(f"rrelu: lower bound ({lower}) must be less than or equal to the upper bound ({upper})")
    xd = x.data
    if not training:
        slope = (lower + upper) / 2
        out = np.where(xd > 0, xd, xd * slope)
        return _pointwise("rrelu", x, out, lambda g, y, x: np.where(x > 0, g, g * slope))
    noise = _random.get_generator().uniform(lower, upper, xd.shape).astype(xd.dtype)
    noise = np.where(xd > 0, 1, noise).astype(xd.dtype)
    return _pointwise("rrelu", x, xd * noise, lambda g, y, x: g * noise)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)`` along ``dim``."""
    x = as_input(input, "softmin")
    if dtype is not None:
        x = x.astype(dtype)
    _no_complex("softmin", x)  # (named softmin, not the softmax it calls)
    if np.dtype(x.dtype).kind != "f":
        raise TypeError(f"softmin: expected a floating point input, got {np.dtype(x.dtype)}; pass "
                        f"dtype= (e.g. dtype=npg.float32) to compute it in floating point")
    if dim is None:
        from .activation import _softmax_dim
        dim = _softmax_dim(x.ndim, None, "softmin")
    return softmax(-x, dim=dim)


@batching_rule("dim_pointwise")
def glu(input, dim=-1):
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the two halves of ``input`` along ``dim``."""
    x = _float_input(input, "glu")
    if x.ndim == 0:
        raise ValueError("glu: does not support scalars because halving size must be even")
    d = normalize_one_axis(dim, x.ndim, "glu")
    n = x.shape[d]
    if n % 2:
        raise ValueError(f"glu: Halving dimension must be even, but dimension {d} is size {n} (input of shape "
                         f"{x.shape})")
    h = n // 2
    lo = (slice(None),) * d + (slice(0, h),)
    hi = (slice(None),) * d + (slice(h, n),)
    return x[lo] * _ew.sigmoid(x[hi])


@batching_rule("dim_pointwise")
def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Samples from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with Gumbel(0, 1)
    noise ``g``; with ``hard=True`` a one-hot of its argmax whose gradient is the soft sample's
    (straight-through), as ``F.gumbel_softmax``."""
    x = as_input(logits, "gumbel_softmax")
    _no_complex("gumbel_softmax", x)
    xd = x.data
    gumbels = -np.log(_random.get_generator().exponential(1.0, xd.shape)).astype(xd.dtype)
    y_soft = softmax((x + gumbels) / tau, dim=dim)
    if not hard:
        return y_soft
    ax = normalize_one_axis(dim, max(x.ndim, 1), "gumbel_softmax")
    idx = np.expand_dims(np.argmax(y_soft.data, axis=ax), ax)
    y_hard = np.zeros_like(y_soft.data)
    np.put_along_axis(y_hard, idx, 1.0, axis=ax)
    return (y_soft - y_soft.detach()) + y_hard


# In-place variants (``F.elu_(x)``, ``F.elu(x, inplace=True)``): the out-of-place result is written into
# ``x`` through npgrad's in-place machinery (version counter, graph rewrite), which returns ``x``.
def _inplace(name, fn, op):
    from ...ops import inplace as _inplace_ops
    return _inplace_ops.method(name, fn, op)


def _leaky(input, negative_slope=0.01):
    from .activation import leaky_relu
    return leaky_relu(input, negative_slope)


elu_ = _inplace("elu_", elu, "elu")
selu_ = _inplace("selu_", selu, "selu")
celu_ = _inplace("celu_", celu, "celu")
hardtanh_ = _inplace("hardtanh_", hardtanh, "hardtanh")
relu6_ = _inplace("relu6_", relu6, "hardtanh")
threshold_ = _inplace("threshold_", threshold, "threshold")
leaky_relu_ = _inplace("leaky_relu_", _leaky, "leaky_relu")
rrelu_ = _inplace("rrelu_", rrelu, "rrelu")
relu_ = _inplace("relu_", _ew.relu, "relu")
_hardswish_ = _inplace("hardswish_", hardswish, "hardswish")
_hardsigmoid_ = _inplace("hardsigmoid_", hardsigmoid, "hardsigmoid")
_mish_ = _inplace("mish_", mish, "mish")
_INPLACE = {"elu": elu_, "selu": selu_, "celu": celu_, "hardtanh": hardtanh_, "relu6": relu6_,
            "threshold": threshold_, "rrelu": rrelu_, "hardswish": _hardswish_, "hardsigmoid": _hardsigmoid_,
            "mish": _mish_}


# What the VJPs above read (npgrad/autograd/versions.py): only their input (rrelu's noise is its own).
for _name in ("elu", "selu", "celu", "hardtanh", "hardswish", "hardsigmoid", "softshrink", "hardshrink",
              "threshold", "softsign", "mish", "logsigmoid", "rrelu"):
    _versions.reads(_name, "x")
