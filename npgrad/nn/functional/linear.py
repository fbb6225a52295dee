"""``linear``, ``bilinear``, ``dropout`` and ``one_hot`` (``embedding`` is in embedding.py)."""

import math

import numpy as np

from ... import random as _random
from ...autograd import versions as _versions
from ...ops._util import as_input, grad_sum
from ...ops._util import batching_rule as _batching_rule
from ...ops.contract import matmul as _matmul
from ...tensor import Tensor, _make, _wrap
from ._common import _data

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)


def _linear_composite(input, weight, bias=None):
    """``linear`` spelled with ops that have batching rules (used inside vmap)."""
    out = input @ weight.swapaxes(-1, -2)
    return out if bias is None else out + bias


# ------------------------------------------------------------------------------ linear
def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features), as ``F.linear``."""
    if _tm._VMAP:
        r = _tm._vmap_call("composite", _linear_composite, (input, weight, bias), None)
        if r is not NotImplemented:
            return r
    x = as_input(input, "linear")
    xd, wd = x.data, _data(weight)
    if wd.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {wd.shape}")
    if xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise ValueError(f"linear: input of shape {xd.shape} does not match weight of shape {wd.shape} "
                         f"(expected input.shape[-1] == {wd.shape[1]})")
    n_out, n_in = wd.shape
    lead = xd.shape[:-1]
    m = math.prod(lead)     # (not -1: reshape cannot infer it when a size is 0)
    out = np.matmul(xd.reshape(m, n_in), wd.T)
    if bias is not None:
        bd = _data(bias)
        if bd.shape != (n_out,):
            raise ValueError(f"linear: bias of shape {bd.shape} does not match {n_out} output features")
        if out.dtype == np.result_type(out, bd):
            out += bd
        else:
            out = out + bd
    out = out.reshape(lead + (n_out,))

    def vjp_x(g, y, x, w, b=None):
        return np.matmul(g.reshape(m, n_out), w).reshape(x.shape)

    def vjp_w(g, y, x, w, b=None):
        return np.matmul(g.reshape(m, n_out).T, x.reshape(m, n_in))

    def vjp_b(g, y, x, w, b):
        return grad_sum(g.reshape(m, n_out), 0)   # (float16 summed in float32: 2.6% off over 70,000 rows)

    jvps = (lambda t, y, x, w, b=None: _matmul(t, np.swapaxes(w, 0, 1)),   # bilinear in (x, w), plus b
            lambda t, y, x, w, b=None: _matmul(x, np.swapaxes(t, 0, 1)),
            lambda t, y, x, w, b: t)
    if bias is None:
        return _make(out, "linear", (x, weight), (xd, wd), (vjp_x, vjp_w), jvps[:2])
    return _make(out, "linear", (x, weight, bias), (xd, wd, bd), (vjp_x, vjp_w, vjp_b), jvps)


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij x1[..., i] weight[o, i, j] x2[..., j] + bias[o]``, as ``F.bilinear``."""
    x1, x2 = as_input(input1, "bilinear"), as_input(input2, "bilinear")
    wd = weight if isinstance(weight, Tensor) else _data(weight)  # (shapes only: a batched weight has no .data)
    if wd.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out_features, in1_features, in2_features), got shape "
                         f"{wd.shape}")
    O, I, J = wd.shape
    if x1.ndim == 0 or x2.ndim == 0 or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: input batch dimensions do not match: input1 of shape {x1.shape}, input2 of "
                         f"shape {x2.shape}")
    if x1.shape[-1] != I or x2.shape[-1] != J:
        raise ValueError(f"bilinear: input1 of shape {x1.shape} and input2 of shape {x2.shape} do not match weight "
                         f"of shape {wd.shape} (expected last dims {I} and {J})")
    if bias is not None and tuple(np.shape(bias)) != (O,):
        raise ValueError(f"bilinear: bias of shape {tuple(np.shape(bias))} for {O} output features")
    lead = x1.shape[:-1]
    a = x1.reshape(-1, I)
    b = x2.reshape(-1, J)
    w = weight if isinstance(weight, Tensor) else wd
    t = (a @ w.transpose(1, 0, 2).reshape(I, O * J)).reshape(-1, O, J)   # (B, O, J)
    out = (t * b.reshape(-1, 1, J)).sum(axis=-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (O,))


# --------------------------------------------------------------------------- dropout
def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (when training)."""
    from .dropout import _check_float, _check_p
    p = _check_p(p, "dropout")
    x = as_input(input, "dropout")
    if not training or p == 0.0:
        return x
    _check_float(x, "dropout")
    if inplace:    # PyTorch's dropout_: the input's memory gets the result (a recorded in-place write)
        from ...ops import inplace as _inplace
        return _inplace.method("dropout_", lambda t: dropout(t, p, True, False, generator), "dropout")(x)
    if _random._vmap_state._LEVELS:  # inside vmap: the mask drawn under its randomness (one op, no loop)
        from ..._vmap_losses import dropout as _vmap_dropout
        return _vmap_dropout(x, p, generator)
    xd = x.data
    rng = _random.generator_for(generator, "dropout")
    if p == 1.0:
        mask = np.zeros(xd.shape, dtype=xd.dtype)
    else:
        r = rng.random(xd.shape, dtype=np.float32 if xd.dtype == np.float32 else np.float64)
        mask = (r >= p).astype(xd.dtype)
        mask *= 1.0 / (1.0 - p)
    return _make(xd * mask, "dropout", (x,), (xd,), (lambda g, y, x: g * mask,), (lambda t, y, x: t * mask,))


@_batching_rule("one_hot")
def one_hot(tensor, num_classes=-1):
    """Integer indices to a one-hot int64 tensor with a trailing axis of ``num_classes`` (by default, ``-1``,
    one more than the largest index). Indices outside ``[0, num_classes)`` are an error, as in PyTorch."""
    idx = _data(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, not {idx.dtype}")
    if not idx.size and num_classes <= 0:
        raise ValueError(f"one_hot: cannot infer the number of classes from an empty tensor; pass a positive "
                         f"num_classes (got {num_classes})")
    if num_classes == -1:     # only -1 infers it; another negative number is out of range, as in PyTorch
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        bad = idx[(idx < 0) | (idx >= num_classes)].flat[0]
        raise IndexError(f"one_hot: index {bad} is out of bounds for {num_classes} classes (indices must be in "
                         f"[0, {num_classes}))")
    return _wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


# What the VJPs above read (npgrad/autograd/versions.py): undeclared ops are checked on their output
# and every saved value. These never read their output, so ``h = F.linear(x, W, b); h += r`` is fine.
_versions.reads("linear", "b", "a", "")
_versions.reads("dropout", "")
