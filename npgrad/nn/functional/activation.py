"""Activations: GELU, SiLU, leaky ReLU, softmax / log_softmax, softplus (relu, tanh and sigmoid are
npgrad.ops's)."""
import math
import sys
import warnings

import numpy as np

from ...autograd import versions as _versions
from ...ops import elementwise as _ew
from ...ops._util import acc_sum, as_input, grad_sum, in_graph, normalize_axis, number_arg
from ...ops._util import batching_rule as _batching_rule
from ...ops.inplace import alone as _alone
from ...tensor import Tensor, _make
from .. import _erf
from ._common import _float_input, _is_graph, _no_complex

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)


# ------------------------------------------------------------------------- activations
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@_batching_rule("pointwise")
def erf(input):
    """The error function, differentiable (``d erf / dx = 2 / sqrt(pi) * exp(-x**2)``)."""
    x = as_input(input, "erf")
    xd = x.data
    out = _erf.erf(xd)
    if xd.dtype.kind == "f":
        out = out.astype(xd.dtype, copy=False)

    def vjp(g, y, x):
        return g * (2.0 / math.sqrt(math.pi)) * np.exp(-(x * x))
    return _make(out, "erf", (x,), (xd,), (vjp,), (vjp,))  # elementwise: the JVP is the VJP's formula


def _normal_cdf(x):
    """Phi(x) of a Tensor (differentiably, through ``erf``) or of an array (fast path)."""
    if _is_graph(x):
        return 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if x.dtype == np.float32:
        return _erf.normal_cdf(x, single=True)
    return _erf.normal_cdf(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)


@_batching_rule("pointwise")
def gelu(input, approximate="none"):
    """GELU: ``x * Phi(x)`` (``approximate='none'``, with an erf accurate to float64) or the tanh
    approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))`` (``approximate='tanh'``)."""
    _no_complex("gelu", input)
    x = _float_input(input, "gelu")
    xd = x.data
    if approximate == "none":
        cdf = _normal_cdf(xd)
        out = xd * cdf

        def vjp(g, y, x):
            c = _normal_cdf(x) if _is_graph(x) else cdf
            return g * (c + x * np.exp(-0.5 * (x * x)) * _INV_SQRT_2PI)
        return _make(out, "gelu", (x,), (xd,), (vjp,), (vjp,))  # elementwise: JVP = VJP formula
    if approximate == "tanh":
        if xd.ndim == 0:  # (the in-place steps below need an array, and NumPy makes 0-d results scalars)
            return gelu(x.reshape(1), approximate).reshape(())
        s = xd * xd                       # tanh(sqrt(2/pi) * (x + 0.044715 x**3)), with one temporary
        s *= 0.044715
        s += 1.0
        s *= xd
        s *= _SQRT_2_OVER_PI
        np.tanh(s, out=s)
        np.subtract(1.0, s, out=s)
        s *= 0.5                          # s = (1 - t) / 2, kept for the backward pass
        out = s * xd
        np.subtract(xd, out, out=out)     # x (1 + t) / 2 = x - x s
        top = xd.max() if xd.size else 0.0   # (where x - x s is inf - 0 * inf: one cheap pass finds out)
        if top == np.inf or top != top:
            out[np.isposinf(xd)] = np.inf

        def vjp_tanh(g, y, x):
            if _is_graph(x) or _is_graph(g):
                t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
                return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 0.134145 * x * x))
            # (1 + t)/2 + 0.5 sqrt(2/pi) x (1 - t**2) (1 + 3 * 0.044715 x**2), with (1 + t)/2 = 1 - s and
            # 1 - t**2 = 4 s (1 - s): (1 - s)(1 + P s), P = 2 sqrt(2/pi) x (1 + 0.134145 x**2); written into g
            # when backward handed it over alone (one temporary), else into a new array (two)
            a = x * x
            a *= 2.0 * _SQRT_2_OVER_PI * 0.134145
            a += 2.0 * _SQRT_2_OVER_PI
            a *= x
            a *= s
            a += 1.0                      # 1 + P s
            if (g.__class__ is np.ndarray and g.dtype == np.result_type(a, g) and g.shape == a.shape
                    and _alone(g, sys.getrefcount(g))):
                r = g
                r *= a
            else:
                r = a * g
                if r.__class__ is not np.ndarray:   # (NumPy scalars of 0-d arrays)
                    return r - r * s
            np.multiply(r, s, out=a)
            r -= a                        # g (1 + P s)(1 - s)
            return r
        return _make(out, "gelu", (x,), (xd,), (vjp_tanh,), (vjp_tanh,))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _sigmoid_of(x):
    if _is_graph(x):
        return _ew.sigmoid(x)
    if x.dtype.kind == "c":  # (logaddexp is real only; PyTorch's complex silu is x / (1 + exp(-x)))
        return 1 / (1 + np.exp(-x))
    return np.exp(-np.logaddexp(0, -x))


@_batching_rule("pointwise")
def silu(input, inplace=False):
    """SiLU / swish: ``x * sigmoid(x)`` (``inplace``: written into the input, as PyTorch's ``silu_``)."""
    x = as_input(input, "silu")
    if inplace:
        from ...ops import inplace as _inplace
        return _inplace.method("silu_", silu, "silu")(x)
    xd = x.data
    s = _sigmoid_of(xd)
    out = xd * s

    def vjp(g, y, x):
        sg = _sigmoid_of(x) if _is_graph(x) else s
        return g * (sg * (1.0 + x * (1.0 - sg)))
    return _make(out, "silu", (x,), (xd,), (vjp,), (vjp,))  # elementwise: JVP = VJP formula


@_batching_rule("pointwise")
def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``max(0, x) + negative_slope * min(0, x)``."""
    if negative_slope.__class__ is not float:
        negative_slope = number_arg(negative_slope, "leaky_relu", "negative_slope")
    if inplace:
        from .activation_more import leaky_relu_
        return leaky_relu_(input, negative_slope)
    x = as_input(input, "leaky_relu")
    _no_complex("leaky_relu", x)
    xd = x.data
    out = np.where(xd > 0, xd, xd * negative_slope)
    vjps = (lambda g, y, x: np.where(x > 0, g, g * negative_slope),)
    return _make(out, "leaky_relu", (x,), (xd,), vjps, vjps)  # elementwise: JVP = VJP formula


_versions.reads("leaky_relu", "x")  # (its input only, as PyTorch's: a write into the output is allowed)


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      f"dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    return normalize_axis(dim, max(ndim, 1), name)[0]


def _softmax_input(input, dim, dtype, name):
    """The input tensor (cast to ``dtype`` if given, as a differentiable op), its data and the axis."""
    x = as_input(input, name)
    if dtype is not None:
        x = x.astype(dtype)
    _no_complex(name, x)  # (torch: "softmax_lastdim_kernel_impl" not implemented for 'ComplexFloat')
    if x.data.dtype.kind != "f":  # (as torch: "softmax_lastdim_kernel_impl" not implemented for 'Long')
        raise TypeError(f"{name}: expected a floating point input, got {np.dtype(x.dtype)}; pass "
                        f"dtype= (e.g. dtype=npg.float32) to compute it in floating point")
    return x, x.data, _softmax_dim(x.ndim, dim, name)


def _max(xd, ax):
    """The maximum along ``ax`` (kept), -inf along an empty axis (whose softmax is empty, as torch's)."""
    if xd.shape[ax] == 0:
        return _max_reduce(xd, axis=ax, keepdims=True, initial=-np.inf)
    return _max_reduce(xd, axis=ax, keepdims=True)


# The ufuncs' reductions, called directly: ndarray.max / .sum add ~1 us of Python dispatch per call, about as much
# as the work itself on a small tensor.
_max_reduce, _sum_reduce = np.maximum.reduce, np.add.reduce


def softmax(input, dim=None, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably."""
    if _tm._VMAP:
        r = _tm._vmap_call("softmax", softmax, (input,), dict(dim=dim, dtype=dtype))
        if r is not NotImplemented:
            return r
    x, xd, ax = _softmax_input(input, dim, dtype, "softmax")
    if xd.ndim == 0:
        return _make(np.ones_like(xd), "softmax", (x,), (None,), (lambda g, y, x: g * 0,), (lambda t, y, x: t * 0,))
    e = xd - _max(xd, ax)
    np.exp(e, out=e)
    e /= acc_sum(e, ax, True)

    def vjp(g, y, x):  # y (g - sum(g y)): three passes into one buffer, no other temporary
        if isinstance(g, _tm.Tensor) or isinstance(y, _tm.Tensor):
            gy = g * y
            return gy - y * grad_sum(gy, ax, keepdims=True)
        out = np.multiply(g, y)
        s = acc_sum(out, ax, True)
        if out.dtype != g.dtype or out.shape != g.shape:
            return y * (g - s)
        np.subtract(g, s, out=out)
        out *= y
        return out
    return _make(e, "softmax", (x,), (None,), (vjp,), (vjp,))  # its Jacobian diag(y) - y y^T is symmetric


# softmax and log_softmax differentiate through their output only (as PyTorch's): the input is not kept, and writing
# into it after the op is fine
_versions.reads("softmax", "y")
_versions.reads("log_softmax", "y")
# gelu, silu and softplus differentiate through their input (and arrays of their own): their output may be written
_versions.reads("gelu", "x")
_versions.reads("silu", "x")
_versions.reads("softplus", "x")


def log_softmax(input, dim=None, dtype=None):
    """``x - logsumexp(x)`` along ``dim``: finite for logits of any magnitude."""
    if _tm._VMAP:
        r = _tm._vmap_call("softmax", log_softmax, (input,), dict(dim=dim, dtype=dtype))
        if r is not NotImplemented:
            return r
    x, xd, ax = _softmax_input(input, dim, dtype, "log_softmax")
    if xd.ndim == 0:
        return _make(np.zeros_like(xd), "log_softmax", (x,), (None,), (lambda g, y, x: g * 0,),
                     (lambda t, y, x: t * 0,))
    z = xd - _max(xd, ax)
    if xd.shape[ax]:  # (along an empty dim there is nothing to normalize, and log(0) would warn)
        z -= np.log(acc_sum(np.exp(z), ax, True))

    def vjp(g, y, x):  # g - softmax * sum(g), into the one buffer exp(y) allocates
        if isinstance(g, _tm.Tensor) or isinstance(y, _tm.Tensor) or g.dtype != y.dtype:
            return g - np.exp(y) * grad_sum(g, ax, keepdims=True)
        out = np.exp(y)
        out *= acc_sum(g, ax, True)
        return np.subtract(g, out, out=out) if out.shape == g.shape else g - out

    def jvp(t, y, x):
        return t - grad_sum(np.exp(y) * t, ax, keepdims=True)
    return _make(z, "log_softmax", (x,), (None,), (vjp,), (jvp,))


def _log_sigmoid(x):
    if _is_graph(x):
        return -softplus(-x)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _softplus_tensor_beta(x, beta, threshold):
    """softplus with a Tensor ``beta`` in a graph, composed of npgrad ops so the gradient reaches ``beta``:
    ``logaddexp(0, beta x) / beta``, and ``x`` where ``beta x > threshold`` (PyTorch's gradient in ``x``:
    ``sigmoid(beta x)``, 1 above the threshold)."""
    if beta.ndim != 0:
        raise TypeError(f"softplus: beta must be a number or a 0-d Tensor, got a Tensor of shape {beta.shape}")
    b = beta.astype(x.dtype)
    bx = x * b
    return _ew.where(bx > threshold, x, _ew.logaddexp(0.0, bx) / b)


@_batching_rule("pointwise")
def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` as PyTorch. ``beta`` may be a 0-d Tensor
    that requires grad: the result is then differentiable in it too."""
    _no_complex("softplus", input)
    threshold = number_arg(threshold, "softplus", "threshold")
    x = _float_input(input, "softplus")
    if isinstance(beta, Tensor):
        if in_graph(beta):
            return _softplus_tensor_beta(x, beta, threshold)
        beta = number_arg(beta, "softplus", "beta")
    xd = x.data
    bx = xd * beta
    out = np.where(bx > threshold, xd, (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta)

    def vjp(g, y, x):  # PyTorch's masks: the first derivative is 1 where beta x > threshold, the second
        if _is_graph(x):  # (its softplus_double_backward) is 0 unless beta x < threshold: equality gives 0 too
            x = np.where(x * beta < threshold, x, x.detach())
        return np.where(x * beta > threshold, g, g * _sigmoid_of(x * beta))
    return _make(out.astype(xd.dtype, copy=False), "softplus", (x,), (xd,), (vjp,), (vjp,))  # elementwise
