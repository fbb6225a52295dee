"""vmap batching rule of the ``npg.fft`` ops (registered in ``func_vmap.RULES`` as ``"fft"``): the transform runs
on the inner tensor, whose batch axis is in front, with its ``axis``/``axes`` arguments shifted by one (``axes=None``
of ``fftshift`` becomes every per-sample axis). The n-D transforms are sequences of 1-D ones and need no rule."""
from .func_vmap import _at, _batched, _shift_axes


def fft_rule(op, level, args, kwargs):
    """Batch a 1-D FFT, ``fftshift`` or ``ifftshift`` called as ``op(x, **kwargs)``."""
    x = args[0]
    inner, _ = _at(x, level)
    kwargs = dict(kwargs)
    key = "axis" if "axis" in kwargs else "axes"
    kwargs[key] = _shift_axes(kwargs[key], x.ndim)
    return _batched(op(inner, **kwargs), level)
