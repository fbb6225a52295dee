"""float16 inputs of the normalization functions, computed in float32 and rounded once, as torch's CPU kernels
accumulate float16 in float32.

In float16 the mean is rounded to a step of the input's magnitude (1/16 at 100), so the centred values were
offset by up to half of it; the offset, divided by a small standard deviation, was the whole output of a group of
two values (group_norm, 8% off), and the weight's gradient (a sum of ``g * xhat`` that cancels) amplified it (1.6%
off on a batch_norm of 7000 samples). Here the float16 tensors among the input and the parameters are cast to
float32 (differentiable casts: the gradients come back in float16, summed in float32 and rounded once), the
function runs its float32 code, and the output is cast to float16, as torch's mixed-type CPU kernels give a float16
input with float32 parameters (autocast's) a float16 output; float64 parameters promote it to float64 (NumPy's rule:
torch refuses them). float32 and float64 inputs never come here.
"""
import numpy as np

from ...autograd import versions as _versions
from ...ops.shape import astype
from ...tensor import _F16, _F32, Tensor
from ._common import _data


def _up(p):
    """``p`` (a Tensor, an array or None) in float32 if it is float16, else itself."""
    if p is None:
        return None
    if isinstance(p, Tensor):
        return astype(p, _F32) if p.dtype == _F16 else p
    a = np.asarray(p)
    return a.astype(_F32) if a.dtype == _F16 else p


def in_float32(fn, x, *params):
    """``fn(x, *params)`` for a float16 Tensor ``x``: called with the float16 ones among ``x`` and ``params``
    (Tensors, arrays or None) cast to float32, and its result cast to float16 (float64 if a parameter is)."""
    dt = np.result_type(x.dtype, *(d for d in (_data(p).dtype for p in params if p is not None) if d != _F32))
    out = fn(astype(x, _F32), *(_up(p) for p in params))
    return out if out.dtype == dt else astype(out, dt)


def with_running_stats(fn, x, running_mean, running_var, params, update, where):
    """:func:`in_float32` for a function that also reads, and if ``update`` writes in place, running statistics
    (batch_norm, instance_norm): ``fn(x, running_mean, running_var, *params)`` runs on float32 copies of float16
    running statistics, written back into them once (a float16 ``(1 - momentum) * running + momentum * batch``
    rounded at each of its three steps, torch rounds it once)."""
    bufs = (running_mean, running_var)
    work = [None if b is None or _data(b).dtype != _F16 else _data(b).astype(_F32) for b in bufs]
    rm, rv = (b if w is None else w for b, w in zip(bufs, work))
    out = in_float32(lambda x, *p: fn(x, rm, rv, *p), x, *params)
    if update:
        for b, w in zip(bufs, work):
            if w is not None:
                d = _data(b)
                d[...] = w
                _versions.bump(d, where)
    return out
