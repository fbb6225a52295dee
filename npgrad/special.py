"""``npg.special``: differentiable special functions with ``scipy.special``'s names and signatures, computed
with NumPy alone (SciPy is not needed; it is the reference the tests compare against).

>>> import npgrad as npg
>>> a = npg.tensor([0.5, 3.0])
>>> npg.special.gammaln(a).sum().backward()
>>> a.grad          # digamma(a)

Gradients are PyTorch's (``torch.special``) where it has the function; everything can be differentiated
twice or more (``create_graph=True``). float32 stays float32; integer inputs give float64, as in SciPy.

When SciPy is installed, its ufuncs also work on tensors and are differentiable:
``scipy.special.gammaln(t)`` runs ``npg.special.gammaln`` (and ``scipy.special.gammainc/gammaincc/betainc``
run npgrad's, differentiable in every argument), and the Bessel functions (``j0 j1 jn jv y0 y1 yn
yv iv ive kv kve k0 k0e k1 k1e``) take SciPy's values with their known derivatives
(npgrad/ops/scipy_special.py).

``gammainc(a, x)``, ``gammaincc(a, x)`` and ``betainc(a, b, x)`` (the regularized incomplete gamma and beta
functions) are differentiable in x (their integrands) and in a and b (derivatives of their series and
continued fractions, as accurate as the values: see npgrad/ops/incomplete.py).

torch.special's names are here too: aliases (``bessel_j0 = j0``, ``modified_bessel_k0 = k0``...), and
``airy_ai``, ``spherical_bessel_j0`` (npgrad/ops/bessel_k.py) and the orthogonal polynomials
(``chebyshev_polynomial_t(input, n)``..., npgrad/ops/orthopoly.py), differentiable in their argument.

Where to find them: ``npgrad/ops/special.py`` and ``ops/incomplete.py`` (the ops, with their VJPs),
``ops/_gamma.py``, ``ops/_erf.py``, ``ops/_bessel.py``, ``ops/_incgamma.py``, ``ops/_incbeta.py`` (the NumPy
kernels), and this module (logsumexp, softmax, log_softmax).
"""
import numpy as _np

from .ops import reduce as _reduce
from .ops._util import as_input as _as_input, normalize_axis as _normalize_axis
from .ops.elementwise import abs as _abs, clip as _clip, exp as _exp, log as _log, where as _where
from .ops.special import logit as _logit
from .ops.bessel_jy import j0, j1, jn, y0, y1, yn  # noqa
from .ops.bessel_k import airy_ai, k0, k0e, k1, k1e, spherical_bessel_j0  # noqa
from .ops.elementwise import expm1, log1p  # noqa
from .ops.elementwise_more import exp2, round  # noqa
from .ops.orthopoly import (chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v,  # noqa
                            chebyshev_polynomial_w, hermite_polynomial_h, hermite_polynomial_he,
                            laguerre_polynomial_l, legendre_polynomial_p, shifted_chebyshev_polynomial_t,
                            shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
                            shifted_chebyshev_polynomial_w)
from .ops.incomplete import betainc, gammainc, gammaincc  # noqa
from .ops.special import (beta, betaln, digamma, entr, erf, erfc, erfcinv, erfcx, erfinv, expit, gamma,  # noqa
                          gammaln, gammasgn, i0, i0e, i1, i1e, log_ndtr, multigammaln, ndtr, ndtri,
                          polygamma, psi, rgamma, sinc, xlog1py, xlogy, zeta)

__all__ = ["beta", "betainc", "betaln", "digamma", "entr", "erf", "erfc", "erfcinv", "erfcx", "erfinv", "expit",
           "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "i0", "i0e", "i1", "i1e", "log_ndtr", "log_softmax",
           "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "rgamma", "sinc", "softmax",
           "xlog1py", "xlogy", "zeta"]
__all__ += ["j0", "j1", "jn", "y0", "y1", "yn"]  # (npgrad/ops/bessel_jy.py)
__all__ += ["k0", "k0e", "k1", "k1e"]  # (npgrad/ops/bessel_k.py)

# torch.special's names (npgrad/ops/bessel_k.py, orthopoly.py; the rest are aliases of the ops above)
bessel_j0, bessel_j1, bessel_y0, bessel_y1 = j0, j1, y0, y1
modified_bessel_i0, modified_bessel_i1, modified_bessel_k0, modified_bessel_k1 = i0, i1, k0, k1
scaled_modified_bessel_k0, scaled_modified_bessel_k1 = k0e, k1e
__all__ += ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
            "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "exp2", "expm1",
            "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p", "log1p",
            "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "round",
            "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
            "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
            "spherical_bessel_j0"]


def _float_input(x, where):
    x = _as_input(x, where)
    if x.dtype.kind != "f":
        if x.dtype.kind == "c":
            raise TypeError(f"npgrad.special.{where}: complex arguments are not supported yet")
        x = x.astype(_np.float64)
    return x


def _torch_dim(op, axis, dim):
    """torch.special's ``dim=`` for SciPy's ``axis`` (one of the two)."""
    if dim is None:
        return axis
    if axis is not None:
        raise TypeError(f"npgrad.special.{op}: got both axis={axis!r} and dim={dim!r}; pass one (dim is torch's "
                        f"name for axis)")
    return dim


def logit(x, eps=None):
    """``log(p / (1 - p))``, the inverse of ``expit`` (``scipy.special.logit``); with ``eps`` (torch.special's
    argument) ``p`` is first clamped to ``[eps, 1 - eps]``, the gradient 0 outside it, as torch."""
    if eps is None:
        return _logit(x)
    e = float(eps)
    return _logit(_clip(x, e, 1.0 - e))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, *, dim=None, keepdim=None):
    """``log(sum(b * exp(a)))`` over ``axis`` (all axes by default), computed stably, as
    ``scipy.special.logsumexp``. With ``return_sign=True`` returns ``(log|sum|, sign(sum))``; without it a
    negative sum gives NaN. Differentiable in ``a`` and ``b``.

    torch.special's form ``logsumexp(input, dim, keepdim=False)`` works too: ``dim=`` / ``keepdim=`` are taken
    for ``axis`` / ``keepdims``, and a bool third argument is torch's ``keepdim`` (SciPy's ``b=True`` would be
    weights of one, the same as none)."""
    axis = _torch_dim("logsumexp", axis, dim)
    if isinstance(b, (bool, _np.bool_)):
        if keepdim is not None:
            raise TypeError(f"npgrad.special.logsumexp: got keepdim twice (a bool third argument, torch's keepdim, "
                            f"and keepdim={keepdim!r})")
        b, keepdim = None, bool(b)
    if keepdim is not None:
        if keepdims:
            raise TypeError("npgrad.special.logsumexp: got both keepdims and keepdim; pass one (keepdim is "
                            "torch's name)")
        keepdims = bool(keepdim)
    a = _float_input(a, "logsumexp")
    if b is None:
        out = _reduce.logsumexp(a, axis=axis, keepdims=keepdims)
        if return_sign:
            return out, _np.ones(out.shape, out.dtype)
        return out
    axes = _normalize_axis(axis, a.ndim, "logsumexp")
    ad = a.data
    if ad.size:
        m = _np.max(_np.broadcast_to(ad, _np.broadcast_shapes(ad.shape, _np.shape(getattr(b, "data", b)))),
                    axis=axes, keepdims=True)
    else:
        m = _np.zeros((1,) * ad.ndim, ad.dtype)
    m = _np.where(_np.isfinite(m), m, 0).astype(ad.dtype)
    s = _reduce.sum(b * _exp(a - m), axis=axes, keepdims=True)
    with _np.errstate(divide="ignore"):
        out = _log(_abs(s)) + m
    sgn = _np.sign(s.data)
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))
        sgn = sgn.reshape(out.shape)
    if return_sign:
        return out, sgn
    if (sgn < 0).any():
        out = _where(sgn < 0, _np.nan, out)
    return out


def log_softmax(x, axis=None, *, dim=None, dtype=None):
    """``x - logsumexp(x, axis, keepdims=True)`` (all axes by default), as ``scipy.special.log_softmax``;
    finite for logits of any size. Differentiable. torch.special's ``dim=`` is taken for ``axis``, and its
    ``dtype=`` casts ``x`` first."""
    from .nn.functional import log_softmax as _log_softmax
    axis = _torch_dim("log_softmax", axis, dim)
    x = _float_input(x if dtype is None else _as_input(x, "log_softmax").astype(dtype), "log_softmax")
    if x.ndim == 0:
        return x - x
    if axis is None:
        return _log_softmax(x.reshape(-1), dim=0).reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        return x - _reduce.logsumexp(x, axis=tuple(axis), keepdims=True)
    return _log_softmax(x, dim=axis)


def softmax(x, axis=None, *, dim=None, dtype=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (all axes by default), as ``scipy.special.softmax``.
    Differentiable. torch.special's ``dim=`` is taken for ``axis``, and its ``dtype=`` casts ``x`` first."""
    from .nn.functional import softmax as _softmax
    axis = _torch_dim("softmax", axis, dim)
    x = _float_input(x if dtype is None else _as_input(x, "softmax").astype(dtype), "softmax")
    if x.ndim == 0:
        return x - x + 1.0
    if axis is None:
        return _softmax(x.reshape(-1), dim=0).reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        return _exp(x - _reduce.logsumexp(x, axis=tuple(axis), keepdims=True))
    return _softmax(x, dim=axis)

