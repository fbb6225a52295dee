"""``npg.fft``: differentiable ``np.fft``, with NumPy's names, arguments and defaults (``n``, ``axis``/``axes``,
``s``, ``norm`` = "backward", "ortho" or "forward") and ``torch.fft``'s gradients.

>>> import npgrad as npg
>>> x = npg.randn(64)
>>> power = npg.abs(npg.fft.rfft(x)) ** 2
>>> power.sum().backward()       # x.grad: real, as x

Every function here also runs through NumPy on tensors: ``np.fft.fft(t)`` calls ``fft`` below. float32 input
gives complex64 output, float64 (or integer) input complex128, as ``numpy.fft``. The ops, with their VJPs and
JVPs (the adjoint transforms, with the Hermitian-symmetry factors of the real transforms), are in
``npgrad/ops/fft.py``; the vmap rule in ``npgrad/func_vmap_fft.py``. ``hfft2``, ``hfftn``, ``ihfft2`` and ``ihfftn``
(which NumPy lacks) are ``torch.fft``'s, built from the 1-D transforms (``npgrad/ops/fft_hermitian.py``).
"""
from .ops.fft import (fft, fft2, fftfreq, fftn, fftshift, hfft, ifft, ifft2, ifftn, ifftshift, ihfft, irfft,
                      irfft2, irfftn, rfft, rfft2, rfftfreq, rfftn)
from .ops.fft_hermitian import hfft2, hfftn, ihfft2, ihfftn

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "hfft2", "hfftn", "ihfft2", "ihfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]
