"""A second batch of PyTorch's common names, composed from npgrad's ops (their VJP, JVP and vmap rules are those
ops'):

* random in-place fills ``x.random_(from, to) exponential_(lambd) bernoulli_(p) cauchy_(median, sigma)
  log_normal_(mean, std) geometric_(p)`` and ``npg.normal(mean, std, size=) poisson(rates) randint_like
  binomial(count, prob)``, drawn from npgrad's random state (``npg.random``, or ``generator=``); no gradient,
  as PyTorch's (zero);
* the windows ``hann_window hamming_window blackman_window bartlett_window kaiser_window`` (torch's
  ``periodic=True`` default; ``dtype=None``: npgrad's default dtype);
* ``unique_consecutive`` (also a method), ``trapz`` / ``cumulative_trapezoid`` with torch's ``(y, x=None, *,
  dx=None, dim=-1)`` (``npg.trapezoid`` stays NumPy's), ``complex(real, imag)``, ``igamma`` / ``igammac``
  (``npg.special.gammainc`` / ``gammaincc``)."""

import numpy as np

from ..tensor import Tensor, _wrap
from ._util import normalize_one_axis
from .unique import grouped

__all__ = ["normal", "poisson", "randint_like", "binomial", "hann_window", "hamming_window", "blackman_window",
           "bartlett_window", "kaiser_window", "unique_consecutive", "trapz", "cumulative_trapezoid", "complex",
           "igamma", "igammac"]


def _npg():
    import npgrad
    return npgrad


def _rng(generator, where):
    from .. import random as _random
    return _random.generator_for(generator, where)


def _shape(v):
    return tuple(v.shape) if isinstance(v, (Tensor, np.ndarray)) else np.shape(v)


def _values(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


# ------------------------------------------------------------------------------------ random fills
def _float_only(x, op):
    if np.dtype(x.dtype).kind not in "f":
        raise TypeError(f"{op}: expected a floating-point tensor to fill, got dtype {x.dtype} (shape "
                        f"{tuple(x.shape)})")


def _real_only(x, op):
    if np.dtype(x.dtype).kind == "c":   # as torch (a complex tensor got real draws, its imaginary part 0)
        raise TypeError(f"{op}: not implemented for complex tensors (dtype {x.dtype}, shape {tuple(x.shape)})")


def _fill_values(x, values):
    """``values`` as a Tensor of ``x``'s shape and dtype, written by ``copy``: the tensor's old value gets a
    zero gradient (PyTorch's)."""
    from . import where
    src = np.asarray(values).astype(x.dtype, copy=False)
    return where(True, src, x)


def _random_(x, *args, generator=None, **kwargs):
    """``x.random_(to)`` / ``x.random_(from, to)`` / ``x.random_()``: integers drawn uniformly from ``[from,
    to)`` (default ``[0, 2**mantissa]`` for floating tensors, ``[0, max]`` for integer ones), as PyTorch."""
    _real_only(x, "random_")
    if "from" in kwargs:
        args = (kwargs.pop("from"),) + args
    if "to" in kwargs:
        args = args + (kwargs.pop("to"),) if args else (0, kwargs.pop("to"))
    if kwargs:
        raise TypeError(f"random_: unexpected keyword arguments {sorted(kwargs)}")
    dt = np.dtype(x.dtype)
    if len(args) == 0:
        if dt.kind == "f":
            hi = 2 ** (np.finfo(dt).nmant + 1) + 1
        elif dt.kind == "b":
            hi = 2
        else:
            hi = int(np.iinfo(dt).max) + 1
        lo = 0
    elif len(args) == 1:
        lo, hi = 0, args[0]
    elif len(args) == 2:
        lo, hi = args
        if hi is None:
            hi = 2 ** (np.finfo(dt).nmant + 1) + 1 if dt.kind == "f" else int(np.iinfo(dt).max) + 1
    else:
        raise TypeError(f"random_: takes at most 2 positional arguments (from, to), got {len(args)}")
    lo, hi = int(lo), int(hi)
    if lo >= hi:
        raise RuntimeError(f"random_: expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
    bounds = (np.iinfo(dt).min, np.iinfo(dt).max) if dt.kind in "iu" else (0, 1) if dt.kind == "b" else \
        (-float(np.finfo(dt).max), float(np.finfo(dt).max))   # as torch: from and to - 1 must fit the dtype
    if lo < bounds[0] or hi - 1 > bounds[1]:
        raise RuntimeError(f"random_: [from, to) = [{lo}, {hi}) is out of bounds for dtype {dt}")
    return _fill_values(x, _rng(generator, "random_").integers(lo, hi, size=tuple(x.shape)))


def _exponential_(x, lambd=1.0, *, generator=None):
    _float_only(x, "exponential_")
    if not lambd > 0:
        raise RuntimeError(f"exponential_: expects lambda > 0.0, but found lambda={lambd}")
    return _fill_values(x, _rng(generator, "exponential_").exponential(1.0 / lambd, tuple(x.shape)))


def _bernoulli_(x, p=0.5, *, generator=None):
    _real_only(x, "bernoulli_")
    pv = _values(p).astype(np.float64)
    if ((pv < 0) | (pv > 1) | np.isnan(pv)).any():
        raise RuntimeError(f"bernoulli_: expected 0 <= p <= 1, got p={p if pv.ndim == 0 else pv}")
    try:
        pb = np.broadcast_to(pv, tuple(x.shape))
    except ValueError:
        raise RuntimeError(f"bernoulli_: p of shape {pv.shape} does not broadcast to the tensor's shape "
                           f"{tuple(x.shape)}") from None
    return _fill_values(x, _rng(generator, "bernoulli_").random(tuple(x.shape)) < pb)


def _cauchy_(x, median=0.0, sigma=1.0, *, generator=None):
    _float_only(x, "cauchy_")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_: expects sigma > 0.0, but found sigma={sigma}")
    return _fill_values(x, median + sigma * _rng(generator, "cauchy_").standard_cauchy(tuple(x.shape)))


def _log_normal_(x, mean=1.0, std=2.0, *, generator=None):
    _float_only(x, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_: expects std > 0.0, but found std={std}")
    return _fill_values(x, _rng(generator, "log_normal_").lognormal(mean, std, tuple(x.shape)))


def _geometric_(x, p, *, generator=None):
    _real_only(x, "geometric_")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_: expects p to be in (0, 1), but got p={p}")
    return _fill_values(x, _rng(generator, "geometric_").geometric(p, tuple(x.shape)))


def _broadcast_shape(op, a, b):
    """The broadcast shape of two named arrays ``(name, array)``, or torch's RuntimeError naming ``op``."""
    try:
        return np.broadcast_shapes(a[1].shape, b[1].shape)
    except ValueError:
        raise RuntimeError(f"{op}: {a[0]} of shape {a[1].shape} and {b[0]} of shape {b[1].shape} do not "
                           f"broadcast") from None


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None):
    """Draws of N(mean, std**2), as ``torch.normal``: ``mean`` and ``std`` tensors (broadcast together) or
    numbers (then ``size=`` gives the shape, and a complex ``dtype`` torch's complex normal). No gradient
    (PyTorch's is zero)."""
    m, s = _values(mean), _values(std)
    if (s < 0).any() or np.isnan(s).any():
        raise RuntimeError(f"normal: expects std >= 0.0, but found std={std if s.ndim == 0 else s}")
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if size is not None:
        if tensors:
            raise TypeError("normal: size= is for a float mean and std; with tensors the shape is theirs")
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        dt = np.dtype(dtype or _npg().get_default_dtype())
        if dt.kind not in "fc":   # as torch; the draws cast to an integer dtype were truncated silently
            raise TypeError(f"normal: expected a floating-point or complex dtype, got {dt}")
    else:
        if not tensors:
            raise TypeError("normal: give size= with a float mean and std (torch.normal(mean, std, size))")
        shape = _broadcast_shape("normal", ("mean", m), ("std", s))
        dts = [v.dtype for v in (mean, std) if isinstance(v, Tensor)]
        dt = dtype or np.result_type(*dts)
        if np.dtype(dt).kind != "f":
            raise TypeError(f"normal: expected floating-point mean / std, got {dt}")
    from .. import random as _random
    return _wrap(_random.normal_draws(_rng(generator, "normal"), m, s, shape, dt))


def poisson(input, generator=None):
    """Poisson draws of rates ``input`` (its shape and dtype), as ``torch.poisson``; no gradient."""
    r = _values(input)
    if r.dtype.kind != "f":
        raise TypeError(f"poisson: expected a floating-point tensor of rates, got {r.dtype}")
    if (r < 0).any() or np.isnan(r).any():
        raise RuntimeError(f"poisson: rates must be non-negative, got {r}")
    too_large = r > 1e18   # (NumPy's limit is about 9.2e18: its bare "lam value too large")
    if too_large.any():
        raise RuntimeError(f"poisson: rates must be at most 1e18 (or finite), got {r[too_large].ravel()[:3].tolist()}")
    return _wrap(_rng(generator, "poisson").poisson(r).astype(r.dtype))


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, requires_grad=False):
    """Integers uniform in ``[low, high)`` with ``input``'s shape (and dtype), as ``torch.randint_like(input,
    high)`` / ``(input, low, high)``."""
    if high is None:
        low, high = 0, low
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):   # (5.7 was truncated to 5)
            raise TypeError(f"randint_like: {name} must be an integer, got {type(v).__name__} {v!r}")
    if int(low) >= int(high):
        raise RuntimeError(f"randint_like: expects 'low' < 'high', but got low={low}, high={high}")
    dt = np.dtype(dtype or input.dtype)
    out = _wrap(_rng(generator, "randint_like").integers(int(low), int(high), size=_shape(input)).astype(dt))
    if requires_grad:
        out.requires_grad = True
    return out


def binomial(count, prob, generator=None):
    """Binomial draws of ``count`` trials with success probability ``prob`` (broadcast), as ``torch.binomial``
    (``count``'s dtype); no gradient."""
    c, p = _values(count), _values(prob)
    if c.dtype.kind != "f" or p.dtype.kind != "f":
        raise TypeError(f"binomial: expected floating-point count and prob, got {c.dtype} and {p.dtype}")
    if (p < 0).any() or (p > 1).any() or np.isnan(p).any() or (c < 0).any() or not np.isfinite(c).all():
        raise RuntimeError(f"binomial: expects 0 <= prob <= 1 and a finite count >= 0, got count {c.ravel()[:3]} "
                           f"prob {p.ravel()[:3]}{' ...' if max(c.size, p.size) > 3 else ''}")
    shape = _broadcast_shape("binomial", ("count", c), ("prob", p))
    n = np.broadcast_to(np.round(c), shape).astype(np.int64)
    return _wrap(_rng(generator, "binomial").binomial(n, np.broadcast_to(p, shape)).astype(c.dtype))


# ------------------------------------------------------------------------------------------ windows
def _window(name, window_length, periodic, dtype, fn):
    if not isinstance(window_length, (int, np.integer)) or isinstance(window_length, bool) or window_length < 0:
        raise RuntimeError(f"{name}: requires a non-negative integer window_length, got {window_length!r}")
    dt = np.dtype(dtype or _npg().get_default_dtype())
    if dt.kind != "f":
        raise TypeError(f"{name}: expects floating point dtypes, got {dt}")
    if window_length == 0:
        return _wrap(np.zeros(0, dt))
    if window_length == 1:
        return _wrap(np.ones(1, dt))
    n = window_length + 1 if periodic else window_length
    w = fn(np.arange(n, dtype=np.float64), n)
    return _wrap(np.asarray(w[:window_length], dtype=dt))


def hann_window(window_length, periodic=True, *, dtype=None):
    """``0.5 - 0.5 cos(2 pi n / (N - 1))``, as ``torch.hann_window`` (``periodic``: N = length + 1, last
    dropped)."""
    return _window("hann_window", window_length, periodic, dtype,
                   lambda k, n: 0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1)))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None):
    """``alpha - beta cos(2 pi n / (N - 1))``, as ``torch.hamming_window``."""
    return _window("hamming_window", window_length, periodic, dtype,
                   lambda k, n: alpha - beta * np.cos(2 * np.pi * k / (n - 1)))


def blackman_window(window_length, periodic=True, *, dtype=None):
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``, as ``torch.blackman_window``."""
    return _window("blackman_window", window_length, periodic, dtype,
                   lambda k, n: 0.42 - 0.5 * np.cos(2 * np.pi * k / (n - 1)) + 0.08 * np.cos(4 * np.pi * k / (n - 1)))


def bartlett_window(window_length, periodic=True, *, dtype=None):
    """``1 - |2n / (N - 1) - 1|``, as ``torch.bartlett_window``."""
    return _window("bartlett_window", window_length, periodic, dtype,
                   lambda k, n: 1 - np.abs(2 * k / (n - 1) - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None):
    """``I0(beta sqrt(1 - (2n / (N - 1) - 1)**2)) / I0(beta)``, as ``torch.kaiser_window``."""
    return _window("kaiser_window", window_length, periodic, dtype,
                   lambda k, n: np.i0(beta * np.sqrt(np.clip(1 - (2 * k / (n - 1) - 1) ** 2, 0, None)))
                   / np.i0(beta))


# ------------------------------------------------------------------------------------ the rest
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The input with each run of equal consecutive values (or slices along ``dim``) kept once, as
    ``torch.unique_consecutive``; with ``inverse`` (the input's shape, or its length along ``dim``: each
    element's run) and ``counts`` (each run's length) when asked. The values are differentiable (each one's
    gradient split evenly over its run, ops/unique.py; PyTorch raises when backward reaches them)."""
    a = _values(input)
    if dim is None:
        flat = a.reshape(-1)
        change = flat[1:] != flat[:-1]
        ax = 0
    else:
        if a.ndim == 0:
            raise IndexError(f"unique_consecutive: dim {dim} given for a 0-d tensor")
        if not -a.ndim <= dim < a.ndim:
            raise IndexError(f"unique_consecutive: dim {dim} is out of range for a tensor of shape {a.shape}")
        ax = dim % a.ndim
        flat = np.moveaxis(a, ax, 0)
        diff = flat[1:] != flat[:-1]
        change = diff.reshape(diff.shape[0], -1).any(axis=1) if diff.size else np.zeros(diff.shape[0], bool)
    n = flat.shape[0]
    starts = np.flatnonzero(np.concatenate([[True], change])) if n else np.zeros(0, np.int64)
    out = flat[starts]
    if dim is not None:
        out = np.moveaxis(out, 0, ax)
    inv = np.cumsum(np.concatenate([[0], change.astype(np.int64)])) if n else np.zeros(0, np.int64)
    counts = np.diff(np.append(starts, n)).astype(np.int64)
    out = np.ascontiguousarray(out)
    res = [grouped(input, out, inv, counts, None if dim is None else ax) if isinstance(input, Tensor) else _wrap(out)]
    if return_inverse:
        res.append(_wrap(inv.reshape(a.shape if dim is None else (n,)).astype(np.int64)))
    if return_counts:
        res.append(_wrap(counts))
    return res[0] if len(res) == 1 else tuple(res)


def _torch_spacing(name, x, dx):
    if x is not None and dx is not None:
        raise TypeError(f"{name}: give either x or dx, not both")
    return 1.0 if dx is None else dx


def trapz(y, x=None, *, dx=None, dim=-1):
    """``torch.trapz`` / ``torch.trapezoid``: the trapezoidal integral of ``y`` along ``dim`` at points ``x``
    or spacing ``dx`` (NumPy's ``npg.trapezoid(y, x, dx, axis)`` is the same rule with NumPy's keywords)."""
    from .numeric import trapezoid
    if x is not None and np.ndim(x) == 1 and np.ndim(y) >= 1:
        n = np.shape(y)[normalize_one_axis(dim, np.ndim(y), "trapz")]
        if np.shape(x)[0] != n:   # NumPy would broadcast a 1-element diff(x) silently
            raise ValueError(f"trapz: x of shape {tuple(np.shape(x))} must give one value for each of the {n} "
                             f"samples of y (shape {tuple(np.shape(y))}) along dim {dim}")
    return trapezoid(y, x, _torch_spacing("trapz", x, dx), axis=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """``torch.cumulative_trapezoid``: the running trapezoidal integral of ``y`` along ``dim`` (one value fewer
    than ``y`` there), at points ``x`` or spacing ``dx`` (``npg.integrate.cumulative_trapezoid`` is SciPy's)."""
    from ..integrate import cumulative_trapezoid as scipy_ct
    if np.ndim(y) >= 1:
        ax = normalize_one_axis(dim, np.ndim(y), "cumulative_trapezoid")
        if np.shape(y)[ax] == 0:   # torch: an empty result along an empty dim (SciPy needs one point)
            _torch_spacing("cumulative_trapezoid", x, dx)
            return _npg().asarray(y)[(slice(None),) * ax + (slice(0, 0),)]
    return scipy_ct(y, x, _torch_spacing("cumulative_trapezoid", x, dx), axis=dim)


def complex(real, imag):
    """``real + 1j * imag``, as ``torch.complex``: both of one floating dtype (float32 -> complex64,
    float64 -> complex128), differentiable in both."""
    from . import add, mul
    dr, di = (np.dtype(v.dtype if isinstance(v, Tensor) else np.asarray(v).dtype) for v in (real, imag))
    if dr.kind != "f" or di.kind != "f" or dr != di:
        raise TypeError(f"complex: expected real and imag of one floating dtype (float32 or float64), got {dr} "
                        f"(shape {_shape(real)}) and {di} (shape {_shape(imag)})")
    ct = np.result_type(dr, np.complex64)
    return add(real, mul(imag, np.asarray(1j, ct)))


def igamma(input, other):
    """The regularized lower incomplete gamma ``P(input, other)``, as ``torch.igamma``
    (``npg.special.gammainc``)."""
    from ..special import gammainc
    return gammainc(input, other)


def igammac(input, other):
    """The regularized upper incomplete gamma ``Q(input, other)``, as ``torch.igammac``
    (``npg.special.gammaincc``)."""
    from ..special import gammaincc
    return gammaincc(input, other)


def attach(T):
    """The methods: the random fills (in place) and ``unique_consecutive igamma igammac``."""
    from . import inplace
    for name, fn in (("random_", _random_), ("exponential_", _exponential_), ("bernoulli_", _bernoulli_),
                     ("cauchy_", _cauchy_), ("log_normal_", _log_normal_), ("geometric_", _geometric_)):
        setattr(T, name, inplace.method(name, fn, "copy"))
    T.unique_consecutive = unique_consecutive
    T.igamma, T.igammac = igamma, igammac
    T.igamma_ = inplace.method("igamma_", igamma)
    T.igammac_ = inplace.method("igammac_", igammac)
