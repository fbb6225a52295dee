"""``standard_gamma(concentration)``: samples of Gamma(concentration, 1), differentiable in the concentration
by implicit reparameterization (what torch's ``_standard_gamma`` does, NumPy only).

A sample is ``x = F^-1(u; a)`` for a uniform ``u`` and the CDF ``F(x; a) = P(a, x)`` (the regularized lower
incomplete gamma function). Holding ``u`` fixed, ``P(a, x(a)) = u`` gives

    dx/da = -(dP/da)(a, x) / (dP/dx)(a, x),   dP/dx = x^(a-1) e^-x / Gamma(a),

which is what the VJP uses. Both derivatives come from npgrad's float64 incomplete gamma kernels
(npgrad/ops/_incgamma.py; dP/da to about 1e-13 relative), and the ratio is taken in log space, so it neither
overflows for tiny samples (a < 1) nor underflows in the tails. This is the exact implicit gradient; torch's
``_standard_gamma_grad`` approximates the same quantity (a series for x < 0.8, an asymptotic expansion for
a > 8, a bivariate rational fit elsewhere) and agrees with it to that approximation's accuracy, about 1e-3
relative at worst (tests/test_distributions_gamma.py measures the agreement; finite differences of SciPy's
inverse CDF agree with this one far more closely).

The draw itself is NumPy's ``Generator.standard_gamma`` (Marsaglia-Tsang, as torch) on npgrad's random
state, so ``npg.manual_seed`` makes it reproducible; it is computed in float64 and rounded to the
concentration's dtype, then clamped below at that dtype's smallest normal number (as torch clamps its samples,
so that a tiny concentration never gives an exact 0 whose log is -inf).

With ``create_graph=True`` the VJP is composed of the differentiable incomplete gamma ops, so the gradient
can be differentiated again (torch's cannot); second derivatives in the concentration use the central
differences of npgrad/ops/incomplete.py.
"""
import numpy as np

from .. import random as _random
from ..autograd import versions as _versions
from ..ops import _incgamma
from ..ops.incomplete import _gamma_density, _gammainc_da
from ..tensor import Tensor, _make

__all__ = ["standard_gamma", "standard_gamma_grad"]


def _grad_kernel(a, x):
    """``dx/da`` at ``(a, x)`` (float64 arrays): ``-(dP/da) / density`` computed as a signed ratio of logs."""
    with np.errstate(all="ignore"):
        dp = _incgamma.gammainc_pq(a, x, deriv=True, name="standard_gamma")[2]
        return -np.sign(dp) * np.exp(np.log(np.abs(dp)) - _incgamma.log_density(a, x))


def standard_gamma_grad(concentration, x):
    """The implicit reparameterization gradient ``d x / d concentration`` of a Gamma(concentration, 1) sample
    ``x`` (torch's ``torch._standard_gamma_grad(concentration, x)``, computed exactly rather than by its
    approximations; see the module doc). On NumPy arrays it returns an array of the inputs' float dtype; on
    tensors it is differentiable (composed of npgrad's incomplete gamma ops)."""
    if isinstance(concentration, Tensor) or isinstance(x, Tensor):
        return -_gammainc_da(concentration, x) / _gamma_density(concentration, x)
    a, xv = np.asarray(concentration), np.asarray(x)
    dtype = np.result_type(a, xv)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    out = _grad_kernel(a.astype(np.float64), xv.astype(np.float64))
    with np.errstate(over="ignore"):
        return out.astype(dtype, copy=False)


def _vjp(g, y, a):
    return g * standard_gamma_grad(a, y)


_versions.reads("standard_gamma", "ay")
_VJPS = (_vjp,)


def standard_gamma(concentration):
    """Samples of Gamma(concentration, 1), one per element of ``concentration`` (a floating tensor of
    positive values), of its dtype; differentiable in ``concentration`` (module doc)."""
    if not isinstance(concentration, Tensor):
        raise TypeError(f"standard_gamma: expected a Tensor concentration, got {type(concentration).__name__}")
    a = concentration.data
    if a.dtype.kind != "f":
        raise TypeError(f"standard_gamma: the concentration must be a floating tensor, got dtype {a.dtype}")
    bad = ~(np.isfinite(a) & (a > 0))
    if bad.any():
        raise ValueError(f"standard_gamma: the concentration must be positive and finite, got "
                         f"{a[bad].ravel()[0]!r} (at index {np.argwhere(bad)[0].tolist()})")
    draw = _random.get_generator().standard_gamma(a.astype(np.float64, copy=False))
    tiny = np.finfo(a.dtype).tiny
    out = np.maximum(np.asarray(draw).astype(a.dtype, copy=False), tiny).reshape(a.shape)
    return _make(out, "standard_gamma", (concentration,), (a,), _VJPS, _VJPS)
