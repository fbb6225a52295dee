"""Power-average pooling: ``lp_pool1d``, ``lp_pool2d``, ``lp_pool3d`` (on ``npgrad.ops.pooling``'s average
pooling, composed as PyTorch does: ``(sign(s) * relu(|s|) * kernel_numel) ** (1 / p)`` of the windows'
average ``s`` of ``x ** p``; ``p = inf`` is the windows' max of ``|x|`` and ``p = -inf`` their min of ``|x|``,
as PyTorch's max-pooling special cases). Float16 computes in float32 and casts back: torch's float16 gives inf
where a window's sum of ``x ** p`` passes 65504 and the norm does not."""
import math

import numpy as np

from ...ops import pooling as _pool
from ...ops import elementwise as _ew
from ...ops._util import as_input

__all__ = ["lp_pool1d", "lp_pool2d", "lp_pool3d"]


def _lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode, name):
    x = as_input(input, name)
    ks = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    if len(ks) != nd:
        raise ValueError(f"{name}: kernel_size must be an int or a tuple of {nd} ints, got {kernel_size!r}")
    if norm_type in (math.inf, -math.inf):
        # PyTorch: max_pool(|x|) for inf, -max_pool(-|x|) for -inf (x ** inf ** (1 / inf) would be 1 everywhere)
        max_pool = (_pool.max_pool1d, _pool.max_pool2d, _pool.max_pool3d)[nd - 1]
        sign = 1.0 if norm_type > 0 else -1.0
        return sign * max_pool(sign * _ew.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    if x.dtype == np.float16:   # (in float32: the windows' sum of x ** p overflows float16 where the norm does not;
        #                          torch's float16 gives inf there)
        return _lp_pool(nd, x.astype(np.float32), norm_type, kernel_size, stride, ceil_mode, name).astype(np.float16)
    pool = (_pool.avg_pool1d, _pool.avg_pool2d, _pool.avg_pool3d)[nd - 1]
    s = pool(x ** norm_type, kernel_size, stride, 0, ceil_mode)
    return (_ew.sign(s) * _ew.relu(_ew.abs(s)) * math.prod(ks)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum over each window of x ** p) ** (1 / p)`` over (N, C, L) or (C, L) inputs."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum over each window of x ** p) ** (1 / p)`` over (N, C, H, W) or (C, H, W) inputs."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum over each window of x ** p) ** (1 / p)`` over (N, C, D, H, W) or (C, D, H, W) inputs."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode, "lp_pool3d")
