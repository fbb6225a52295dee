"""``npg.signal``: ``scipy.signal``'s convolutions, differentiable in both inputs, with SciPy's names,
arguments, modes and dtypes (SciPy is not needed; it is the reference the tests compare against).

>>> import npgrad as npg
>>> x, h = npg.randn(100), npg.randn(5)
>>> y = npg.signal.convolve(x, h, mode="same")
>>> (y ** 2).sum().backward()      # x.grad and h.grad

``convolve`` and ``correlate`` (n-d; modes "full", "same", "valid"; ``method`` "direct", "fft" or "auto"),
``fftconvolve`` (with ``axes``; ``oaconvolve`` computes the same), ``convolve2d`` and ``correlate2d`` (with
``boundary`` "fill", "wrap" or "symm") and ``lfilter`` (FIR and IIR filters, with initial conditions
``zi``; differentiable in the coefficients, the signal and ``zi``). All are compositions of npgrad's
differentiable ops (its convolution, ``pad``, ``unfold``, npg.fft), so reverse mode, forward mode
(``npg.func.jvp``), higher derivatives and ``npg.func.vmap`` work through them. The implementation is
npgrad/ops/signal.py (lfilter: npgrad/ops/signal_filter.py).
"""
from .ops.signal import convolve, convolve2d, correlate, correlate2d, fftconvolve, oaconvolve
from .ops.signal_filter import lfilter

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d", "lfilter"]
