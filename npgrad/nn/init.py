"""Weight initialization, as ``torch.nn.init``: each function fills a Tensor in place (no gradient recorded)
from ``npg.random``'s generator (or ``generator=``) and returns it."""
import math
import warnings

import numpy as np

from ..autograd import versions as _versions
from .. import random as _random
from ..ops.inplace import read_only as _read_only
from ..tensor import Tensor


def _gen(generator, op):
    """npgrad's generator, or ``generator`` (a ``numpy.random.Generator``; a ``torch.Generator`` has no place
    here)."""
    if generator is None:
        return _random.get_generator()
    if not isinstance(generator, (np.random.Generator, np.random.RandomState)):
        raise TypeError(f"nn.init.{op}: generator must be a numpy.random.Generator (npgrad's random source: "
                        f"np.random.default_rng(seed) or npg.random.get_generator()), got {type(generator).__name__}")
    return generator


def _check_tensor(tensor, op):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{op}: expected an npgrad Tensor or Parameter to fill in place, got "
                        f"{type(tensor).__name__}")


def _random_dtype(tensor, op, complex_ok=True):
    """The dtype a random fill draws for: floating, or complex where PyTorch draws complex values; an integer
    or boolean tensor is an error (PyTorch raises; casting the draws would silently truncate them)."""
    _check_tensor(tensor, op)
    dt = np.dtype(tensor.dtype)
    if np.issubdtype(dt, np.floating) or (complex_ok and np.issubdtype(dt, np.complexfloating)):
        return dt
    kind = "complex" if np.issubdtype(dt, np.complexfloating) else "non-floating"
    raise TypeError(f"nn.init.{op}: cannot fill a {kind} tensor ({dt}, shape {tuple(tensor.shape)}) with random "
                    f"values; use a floating dtype")


def _uniform(rng, a, b, shape, dtype):
    """U(a, b) draws; complex: real and imaginary parts each U(a, b), as PyTorch."""
    if np.issubdtype(dtype, np.complexfloating):
        return rng.uniform(a, b, shape) + 1j * rng.uniform(a, b, shape)
    return rng.uniform(a, b, shape)


def _normal(rng, mean, std, shape, dtype):
    """N(mean, std**2) draws; complex: real and imaginary parts each N(mean, std**2 / 2), as PyTorch."""
    if np.issubdtype(dtype, np.complexfloating):
        s = std / math.sqrt(2.0)
        return rng.normal(mean, s, shape) + 1j * rng.normal(mean, s, shape)
    return rng.normal(mean, std, shape)


def _uniform_fill(tensor, a, b, generator, op):
    dt = _random_dtype(tensor, op)
    return _fill(tensor, _uniform(_gen(generator, op), a, b, tensor.shape, dt), op)


def _normal_fill(tensor, mean, std, generator, op):
    dt = _random_dtype(tensor, op)
    return _fill(tensor, _normal(_gen(generator, op), mean, std, tensor.shape, dt), op)


def _fill(tensor, values, op):
    if not tensor.data.flags.writeable:  # (a tensor sharing a read-only array, np.broadcast_to's say)
        raise _read_only(tensor, f"nn.init.{op}")
    tensor.data[...] = values
    _versions.bump(tensor.data, "nn.init")  # a graph that saved the tensor must not use it
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    linear_fns = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d")
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    """``fan_in`` or ``fan_out`` of ``tensor`` (``mode``, case-insensitive), as PyTorch's."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _zero_element_no_op(tensor):
    """PyTorch's kaiming functions leave a tensor with no elements as it is, with a warning."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    return _uniform_fill(tensor, a, b, generator, "uniform_")


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std**2)."""
    return _normal_fill(tensor, mean, std, generator, "normal_")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std**2) truncated to [a, b], by PyTorch's method: where [a, b] holds more than 30% of
    the normal's mass, normal draws outside it are redrawn; otherwise draws uniform on [a, b] are accepted with
    probability ``pdf(x) / pdf(mode)`` (so an interval far in a tail does not take forever)."""
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", stacklevel=2)
    if a > b:
        raise RuntimeError(f"trunc_normal_: the interval [a, b] = [{a}, {b}] is empty")
    _random_dtype(tensor, "trunc_normal_", complex_ok=False)
    rng = _gen(generator, "trunc_normal_")

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std) > 0.3:
        out = rng.normal(mean, std, tensor.shape)
        bad = (out < a) | (out > b)
        while bad.any():
            out[bad] = rng.normal(mean, std, int(bad.sum()))
            bad = (out < a) | (out > b)
        return _fill(tensor, out, "trunc_normal_")
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    out = np.empty(tensor.shape)
    pending = np.ones(tensor.shape, dtype=bool)
    while pending.any():
        n = int(pending.sum())
        cand = rng.uniform(a, b, n)
        log_ratio = -0.5 * ((cand - mean) / std) ** 2 - log_peak
        with np.errstate(divide="ignore"):
            accept = np.log(rng.uniform(0.0, 1.0, n)) <= log_ratio
        idx = np.flatnonzero(pending)[accept]
        out.flat[idx] = cand[accept]
        pending.flat[idx] = False
    return _fill(tensor, out, "trunc_normal_")


def constant_(tensor, val):
    """Fill with ``val``: a number or a 0-d tensor (taken without gradient, as PyTorch's ``fill_``)."""
    _check_tensor(tensor, "constant_")
    value = np.asarray(val.data if isinstance(val, Tensor) else val)
    if value.ndim != 0 or value.dtype == object:
        raise ValueError(f"nn.init.constant_: the value must be a number or a 0-d tensor, got "
                         f"{type(val).__name__} of shape {value.shape} (filling a tensor of shape {tuple(tensor.shape)})")
    return _fill(tensor, value, "constant_")


def zeros_(tensor):
    _check_tensor(tensor, "zeros_")
    return _fill(tensor, 0, "zeros_")


def ones_(tensor):
    _check_tensor(tensor, "ones_")
    return _fill(tensor, 1, "ones_")


def eye_(tensor):
    _check_tensor(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape), "eye_")


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return _uniform_fill(tensor, -a, a, generator, "xavier_uniform_")


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return _normal_fill(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator, "xavier_normal_")


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with ``bound = gain * sqrt(3 / fan)`` (He). PyTorch's Linear and Conv use ``a=sqrt(5)``."""
    if _zero_element_no_op(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)   # (before the gain, as PyTorch: a 1-D tensor is the error first)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _uniform_fill(tensor, -bound, bound, generator, "kaiming_uniform_")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std**2) with ``std = gain / sqrt(fan)`` (He)."""
    if _zero_element_no_op(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _normal_fill(tensor, 0.0, std, generator, "kaiming_normal_")


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.size == 0:    # (a no-op, as PyTorch's)
        return tensor
    _random_dtype(tensor, "orthogonal_", complex_ok=False)
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = _gen(generator, "orthogonal_").normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape), "orthogonal_")


def dirac_(tensor, groups=1):
    """The Dirac delta as a convolution kernel (3-, 4- or 5-D weight): each output channel copies one input
    channel at the kernel's centre, per group (PyTorch's ``dirac_``), so a convolution starts as the identity
    on as many channels as it keeps."""
    _check_tensor(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_ch = tensor.shape[0]
    if groups <= 0 or out_ch % groups:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = out_ch // groups
    values = np.zeros(tensor.shape, dtype=tensor.dtype)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, values, "dirac_")


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A 2-D tensor drawn from N(0, std^2) with ``ceil(sparsity * rows)`` entries of every column set to zero
    (rows chosen at random per column), as PyTorch's ``sparse_`` (Martens 2010)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    gen = _gen(generator, "sparse_")
    values = _normal(gen, 0.0, std, (rows, cols), _random_dtype(tensor, "sparse_"))
    for c in range(cols):
        values[gen.permutation(rows)[:num_zeros], c] = 0
    return _fill(tensor, values, "sparse_")


def _make_deprecate(meth):
    """The old name without the trailing underscore, warning as PyTorch's (``nn.init.uniform`` ...)."""
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"{old_name}(...): deprecated, use :func:`{new_name}`."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
