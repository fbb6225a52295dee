"""Channel-wise and alpha dropout: ``dropout1d``, ``dropout2d``, ``dropout3d``, ``alpha_dropout``,
``feature_alpha_dropout`` (PyTorch's ``_dropout_impl``, with npgrad's random generator).

Each is one op ``x * mask (+ shift)`` whose VJP multiplies by the mask; ``inplace=True`` writes the
result into the input through npgrad's in-place machinery. A probability of 1 gives zeros, as PyTorch.
"""
import math
import warnings

import numpy as np

from ... import random as _random
from ...autograd import versions as _versions
from ...ops._util import as_input, number_arg
from ...tensor import _make

__all__ = ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # SELU's -scale * alpha: the value a dropped unit takes before the affine fix-up


def _check_p(p, name):
    """``p`` as a number in [0, 1] (a 0-d Tensor outside any graph gives its value; one in a graph is refused:
    ops/_util.py's number_arg)."""
    p = number_arg(p, name, "p")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: dropout probability must be a number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return p


def _check_float(x, name):
    """Dropout scales the kept values by a float: an integer or bool input (while training) is refused, as
    PyTorch's "result type Float can't be cast to the desired output type Long" (never truncated silently)."""
    if np.dtype(x.dtype).kind not in "fc":
        raise TypeError(f"{name}: expected a floating point input, got {np.dtype(x.dtype)} (the kept values are "
                        f"scaled by 1/(1-p)); convert it first, e.g. x.astype(npg.float32)")


def _dropout_impl(x, p, feature, alpha, name):
    """``x`` with PyTorch's dropout noise (per element, or per channel of (N, C, ...) when ``feature``)."""
    if _random._vmap_state._LEVELS:  # inside vmap: the mask drawn under its randomness (npgrad/_vmap_losses.py)
        from ..._vmap_losses import feature_dropout
        return feature_dropout(x, p, feature, alpha, name)
    xd = x.data
    if feature and xd.ndim < 2:
        raise ValueError(f"{name}: feature dropout requires at least 2 dimensions in the input, got shape {xd.shape}")
    if p == 1.0:
        zero = np.zeros(xd.shape, xd.dtype)
        d = (lambda g, y, x: g * zero,)
        return _make(xd * zero, name, (x,), (xd,), d, d)
    shape = xd.shape[:2] + (1,) * (xd.ndim - 2) if feature else xd.shape
    keep = (_random.get_generator().random(shape) >= p).astype(xd.dtype)
    if alpha:
        a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
        shift = ((keep - 1) * (_ALPHA * a) + _ALPHA * a * p).astype(xd.dtype)
        mask = (keep * a).astype(xd.dtype)
        out = xd * mask + shift
    else:
        mask = keep * np.asarray(1.0 / (1.0 - p), dtype=xd.dtype)
        out = xd * mask
    d = (lambda g, y, x: g * mask,)  # diagonal (a per-element or per-channel scale): JVP = VJP's formula
    return _make(out.astype(xd.dtype, copy=False), name, (x,), (xd,), d, d)


def _apply(input, p, training, inplace, feature, alpha, name):
    p = _check_p(p, name)
    x = as_input(input, name)
    if not training or p == 0.0:
        return x
    _check_float(x, name)
    if inplace:
        from ...ops import inplace as _inplace
        return _inplace.method(name + "_", lambda t: _dropout_impl(t, p, feature, alpha, name), name)(x)
    return _dropout_impl(x, p, feature, alpha, name)


def _feature(input, p, training, inplace, batched_dims, name):
    """Channel-wise dropout of a batched input, or of an unbatched one (given a batch of 1)."""
    x = as_input(input, name)
    if x.ndim != batched_dims - 1:
        return _apply(x, p, training, inplace, True, False, name)
    if not training or p == 0.0:
        return x
    _check_float(x, name)

    def fn(t):
        return _dropout_impl(t.reshape((1,) + t.shape), p, True, False, name).reshape(t.shape)
    if inplace:
        from ...ops import inplace as _inplace
        return _inplace.method(name + "_", fn, name)(x)
    return fn(x)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, L) or (C, L) input with probability ``p``, scaling the rest by
    ``1 / (1 - p)``."""
    p = _check_p(p, "dropout1d")
    ndim = as_input(input, "dropout1d").ndim
    if ndim not in (2, 3):
        raise ValueError(f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. dropout1d exists to "
                         f"provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and "
                         f"an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, H, W) input. As PyTorch, a 3-D input is taken as (N, C, L) (with a
    warning), and other ranks are deprecated (with a warning)."""
    p = _check_p(p, "dropout2d")
    ndim = as_input(input, "dropout2d").ndim
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will result in "
                      f"an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with "
                      f"2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      f"inputs).", UserWarning, stacklevel=2)
    if ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", UserWarning, stacklevel=2)
    return _apply(input, p, training, inplace, True, False, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input."""
    p = _check_p(p, "dropout3d")
    ndim = as_input(input, "dropout3d").ndim
    if ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will result in "
                      f"an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with "
                      f"3 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
                      f"inputs).", UserWarning, stacklevel=2)
    return _feature(input, p, training, inplace, 5, "dropout3d")


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value, then an affine map
    keeps the mean and variance of standardized inputs."""
    return _apply(input, p, training, inplace, False, True, "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels of an (N, C, ...) input."""
    return _apply(input, p, training, inplace, True, True, "feature_alpha_dropout")


for _name in ("dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
    _versions.reads(_name, "")
