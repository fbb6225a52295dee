"""``npgrad.testing``: ``torch.testing``'s ``assert_close`` and ``make_tensor``, for npgrad Tensors, NumPy arrays,
numbers and nested sequences / mappings of them.

>>> npg.testing.assert_close(model(x), expected)            # tolerances by dtype, as torch's
>>> x = npg.testing.make_tensor(3, 4, dtype=npg.float32, low=-1, high=1, requires_grad=True)

The pairing rules are torch's: sequences (not strings) are compared item by item and must have the same
length, mappings key by key and must have the same keys; then ``None`` with ``None``, bools with bools, numbers
(Python or NumPy scalars) with numbers, and tensor-likes with tensor-likes of a directly related type (an npgrad
Tensor with a Tensor, a NumPy array with an array: as torch refuses a torch Tensor against an ndarray, npgrad
refuses a Tensor against an ndarray, TypeError; convert one with ``npg.asarray`` or ``np.asarray``)."""
import cmath
import collections.abc
import math
import warnings

import numpy as np

from .tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

# {dtype: (rtol, atol)}: torch.testing's table (NumPy has no bfloat16 or complex32); any other dtype: exact
_PRECISIONS = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
               np.dtype(np.complex128): (1e-7, 1e-7)}
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64), complex: np.dtype(np.complex128)}


class _Fail(Exception):
    """An error to raise as ``kind(msg)``, with the place (``id``: indices / keys) in the nested inputs."""

    def __init__(self, kind, msg, id=()):
        super().__init__(msg)
        self.kind, self.msg, self.id = kind, msg, id

    def to_error(self, msg=None):
        if not isinstance(msg, str):
            text = self.msg
            if self.id:
                text += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.id)}"
            msg = msg(text) if callable(msg) else text
        return self.kind(msg)


class _Unsupported(Exception):
    pass


def _tolerances(dtypes, rtol, atol, id):
    if (rtol is None) ^ (atol is None):
        raise _Fail(ValueError, f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                                f"{'rtol' if rtol is None else 'atol'}.", id)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*[_PRECISIONS.get(np.dtype(d), (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0

    def line(kind, diff, idx, tol):
        text = f"{kind.title()} difference: {diff}" if idx is None else f"Greatest {kind} difference: {diff} at index {idx}"
        return text + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += extra.strip() + "\n"
    msg += line("absolute", abs_diff, abs_idx, atol) + line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_msg(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol, rel_diff, None,
                         rtol)


def _none_pair(a, e, id, opts):
    if a is not None and e is not None:
        raise _Unsupported
    if not (a is None and e is None):
        raise _Fail(AssertionError, f"None mismatch: {a} is not {e}", id)


def _bool_pair(a, e, id, opts):
    if not (isinstance(a, (bool, np.bool_)) and isinstance(e, (bool, np.bool_))):
        raise _Unsupported
    if bool(a) is not bool(e):
        raise _Fail(AssertionError, f"Booleans mismatch: {bool(a)} is not {bool(e)}", id)


def _number_pair(a, e, id, opts):
    kinds = (int, float, complex, np.number)
    if not (isinstance(a, kinds) and isinstance(e, kinds)):
        raise _Unsupported
    if isinstance(a, (bool, np.bool_)) or isinstance(e, (bool, np.bool_)):
        raise _Fail(TypeError, f"assert_close: cannot compare a bool with a number: {type(a)} and {type(e)}", id)
    a, e = (x.item() if isinstance(x, np.number) else x for x in (a, e))
    a, e = (type_(x) for type_, x in ((_base(a), a), (_base(e), e)))
    rtol, atol = _tolerances([_NUMBER_DTYPES[type(a)], _NUMBER_DTYPES[type(e)]], opts["rtol"], opts["atol"], id)
    if opts["check_dtype"] and type(a) is not type(e):
        raise _Fail(AssertionError, f"The (d)types do not match: {type(a)} != {type(e)}.", id)
    if a == e or (opts["equal_nan"] and cmath.isnan(a) and cmath.isnan(e)):
        return
    diff = abs(a - e)
    if cmath.isfinite(diff) and diff <= atol + rtol * abs(e):
        return
    raise _Fail(AssertionError, _scalar_msg(a, e, rtol, atol), id)


def _base(x):
    for t in (int, float, complex):   # (a subclass of float, e.g. np.float64, as plain float)
        if isinstance(x, t):
            return t
    return type(x)


def _promote(da, de):
    """The comparison dtype of two dtypes, as ``torch.promote_types`` (an integer with a float gives the float's
    dtype, not NumPy's wider float; uint16/32/64 count as int64)."""
    da, de = (np.dtype(np.int64) if d.kind == "u" and d.itemsize > 1 else d for d in (da, de))
    fa, fe = da.kind in "fc", de.kind in "fc"
    if fa != fe:
        return da if fa else de
    return np.result_type(da, de)


def _tensor_pair(a, e, id, opts):
    if not (isinstance(a, (Tensor, np.ndarray)) and isinstance(e, (Tensor, np.ndarray))):
        raise _Unsupported
    if not (isinstance(a, type(e)) or isinstance(e, type(a))):
        raise _Unsupported
    if not opts["allow_subclasses"] and type(a) is not type(e):
        raise _Unsupported
    ad, ed = (x.data if isinstance(x, Tensor) else x for x in (a, e))
    for d in (ad, ed):
        if d.dtype.kind not in "biufc":
            raise _Unsupported
    rtol, atol = _tolerances([ad.dtype, ed.dtype], opts["rtol"], opts["atol"], id)
    if ad.shape != ed.shape:
        raise _Fail(AssertionError, f"The values for attribute 'shape' do not match: {ad.shape} != {ed.shape}.", id)
    if opts["check_stride"] and ad.size > 0:
        sa, se = (tuple(s // d.itemsize for s in d.strides) for d in (ad, ed))
        if sa != se:
            raise _Fail(AssertionError, f"The values for attribute 'stride()' do not match: {sa} != {se}.", id)
    if opts["check_dtype"] and ad.dtype != ed.dtype:
        raise _Fail(AssertionError, f"The values for attribute 'dtype' do not match: {ad.dtype} != {ed.dtype}.", id)
    if ad.dtype != ed.dtype:
        dt = _promote(ad.dtype, ed.dtype)
        ad, ed = ad.astype(dt), ed.astype(dt)
    matches = _isclose(ad, ed, rtol, atol, opts["equal_nan"])
    if matches.all():
        return
    if ad.ndim == 0:
        raise _Fail(AssertionError, _scalar_msg(ad.item(), ed.item(), rtol, atol), id)
    raise _Fail(AssertionError, _tensor_msg(ad, ed, matches, rtol, atol), id)


def _isclose(a, e, rtol, atol, equal_nan):
    """``torch.isclose``: equal values (infinities included) are close; NaNs only with ``equal_nan``; otherwise
    a finite ``|a - e| <= atol + rtol * |e|``, in the inputs' dtype (an integer dtype in float64)."""
    with np.errstate(invalid="ignore", over="ignore"):
        close = a == e
        if equal_nan and a.dtype.kind in "fc":
            close |= np.isnan(a) & np.isnan(e)
        if rtol == 0 and atol == 0:
            return close
        if a.dtype.kind in "biu":
            a, e = a.astype(np.float64), e.astype(np.float64)
        err = np.abs(a - e)
        allowed = atol + np.abs(rtol * e)
        return close | (np.isfinite(err) & (err <= allowed))


def _tensor_msg(a, e, matches, rtol, atol):
    n = matches.size
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if a.dtype.kind in "biu":   # (torch: in int64, the relative difference in its default float32)
            abs_diff = np.abs(af.astype(np.int64) - ef.astype(np.int64))
            rel_diff = abs_diff.astype(np.float32) / np.abs(ef.astype(np.int64)).astype(np.float32)
        else:
            abs_diff = np.abs(af - ef)
            rel_diff = abs_diff / np.abs(ef)
        abs_diff[mf] = 0
        rel_diff[mf] = 0
    ia, ir = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))   # (the first NaN, if any, as torch.max)
    return _mismatch_msg("Tensor-likes", extra, abs_diff[ia].item(), tuple(int(i) for i in np.unravel_index(
        ia, a.shape)), atol, rel_diff[ir].item(), tuple(int(i) for i in np.unravel_index(ir, a.shape)), rtol)


_PAIRS = (_none_pair, _bool_pair, _number_pair, _tensor_pair)


def _originate(a, e, id, opts, out):
    seq = collections.abc.Sequence
    if isinstance(a, seq) and not isinstance(a, str) and isinstance(e, seq) and not isinstance(e, str):
        if len(a) != len(e):
            raise _Fail(AssertionError, f"The length of the sequences mismatch: {len(a)} != {len(e)}", id)
        for i in range(len(a)):
            _originate(a[i], e[i], (*id, i), opts, out)
        return
    if isinstance(a, collections.abc.Mapping) and isinstance(e, collections.abc.Mapping):
        ka, ke = set(a.keys()), set(e.keys())
        if ka != ke:
            raise _Fail(AssertionError, f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                                        f"{sorted(ke - ka)}\nAdditional keys in the actual mapping: {sorted(ka - ke)}",
                        id)
        try:
            keys = sorted(ka)
        except Exception:
            keys = list(ka)
        for k in keys:
            _originate(a[k], e[k], (*id, k), opts, out)
        return
    out.append((a, e, id))


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``:
    element-wise ``|actual - expected| <= atol + rtol * |expected|`` (infinities close only when equal, NaNs only
    with ``equal_nan=True``), the shapes equal and (``check_dtype``) the dtypes equal; else both are promoted to
    a common dtype. ``rtol`` and ``atol`` are given together or not at all; by default they come from the
    dtypes (the loosest of the two): float16 (1e-3, 1e-5), float32 and complex64 (1.3e-6, 1e-5), float64 and
    complex128 (1e-7, 1e-7), others (integers, bool) exact. Python ints compare as int64, floats as float64,
    complex as complex128. ``msg`` (a string, or a callable given the generated message) replaces the
    message. ``check_device`` and ``check_layout`` are accepted (there is one device and one layout);
    ``check_stride`` compares the strides in elements. See the module docstring for how inputs are paired."""
    opts = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                check_dtype=check_dtype, check_stride=check_stride)
    items = []
    try:
        _originate(actual, expected, (), opts, items)
    except _Fail as fail:
        raise fail.to_error() from None
    failures = []
    for a, e, id in items:
        try:
            for pair in _PAIRS:
                try:
                    pair(a, e, id, opts)
                    break
                except _Unsupported:
                    continue
            else:
                raise _Fail(TypeError, f"No comparison pair was able to handle inputs of type {type(a)} and "
                                       f"{type(e)}." + _hint(a, e), id)
        except _Fail as fail:
            if fail.kind is not AssertionError:   # (a TypeError / ValueError: raised at once, as torch's)
                raise fail.to_error() from None
            failures.append(fail)
    if failures:
        raise failures[0].to_error(msg) from None


def _hint(a, e):
    arrays = (Tensor, np.ndarray)
    if isinstance(a, arrays) and isinstance(e, arrays):
        return " (as torch's: a Tensor is compared with a Tensor, an ndarray with an ndarray; convert one)"
    if isinstance(a, arrays) or isinstance(e, arrays):
        return (" (as torch's: a number or sequence is not compared with a Tensor or array; wrap it with "
                "npg.tensor / np.asarray)")
    return ""


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None, generator=None):
    """A Tensor of ``shape`` and ``dtype`` filled with values drawn uniformly from ``[low, high)``, as
    ``torch.testing.make_tensor``. Defaults: bool [0, 2), unsigned integers [0, 10), signed integers [-9, 10),
    floating and complex types [-9, 9) (real and imaginary parts); ``low`` / ``high`` outside the dtype's range
    are clamped to it; ``low >= high`` or NaN is a ValueError; ``requires_grad=True`` is a ValueError for bool
    and integer dtypes. ``exclude_zero`` replaces zeros by 1 (integers, bool) or the dtype's ``tiny``;
    ``noncontiguous`` makes a strided view. ``shape`` is integers or one sequence. ``device`` is accepted
    ("cpu"); ``generator`` (npgrad's own: a ``numpy.random.Generator``) else ``npg.random``'s generator."""
    from . import random as _random
    from .tensor import _wrap
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(int(s) for s in shape)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"make_tensor: the requested dtype {dtype!r} is not a NumPy dtype") from None
    if device not in (None, "cpu") and str(device) != "cpu":
        raise ValueError(f"make_tensor: npgrad has only the CPU device, got device={device!r}")
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    integral = dt.kind in "biu"
    if dt.kind not in "biufc":
        raise TypeError(f"The requested dtype '{dt}' is not supported by make_tensor().")
    if requires_grad and integral:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got dtype={dt}")
    if dt.kind == "b":
        lo, hi, dlo, dhi = 0, 2, 0, 2
    elif integral:
        info = np.iinfo(dt)
        lo, hi, dlo, dhi = int(info.min), int(info.max) + (1 if dt != np.int64 else 0), -9, 10
    else:
        fi = np.finfo(dt)
        lo, hi, dlo, dhi = float(fi.min), float(fi.max), -9, 9
    low = dlo if low is None else low
    high = dhi if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and not integral:
        warnings.warn("Passing `low==high` to `make_tensor` for floating or complex types is deprecated (as "
                      "torch's); use npg.full instead.", FutureWarning, stacklevel=2)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lo or low >= hi:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dt} only "
                         f"supports [{lo}, {hi})")
    low, high = min(max(low, lo), hi), min(max(high, lo), hi)
    rng = generator if generator is not None else _random.get_generator()
    full = (*shape[:-1], 2 * shape[-1]) if noncontiguous and math.prod(shape) > 1 else shape
    if integral:
        low, high = math.ceil(low), math.ceil(high)
        data = rng.integers(low, high, size=full, dtype=np.int64 if dt.kind != "u" else np.uint64,
                            endpoint=False).astype(dt)
    else:
        real = np.finfo(dt).dtype   # (a complex dtype's parts)
        n = 2 if dt.kind == "c" else 1
        if high - low >= float(np.finfo(real).max):   # (as torch: halve the range, then double, so it does not overflow)
            draw = rng.uniform(low / 2, high / 2, size=full + (n,)) * 2
        else:
            draw = rng.uniform(low, high, size=full + (n,))
        if high > low:   # (a draw rounded up to `high` in a narrower dtype: the largest value below it)
            top = np.nextafter(np.float64(high), -np.inf)
            while real.type(top) >= high:
                top = np.nextafter(top, -np.inf) if real == np.float64 else np.float64(
                    np.nextafter(real.type(top), real.type(-np.inf)))
            draw = np.minimum(draw, top)
        draw = draw.astype(real)
        data = (draw[..., 0] + 1j * draw[..., 1]).astype(dt) if n == 2 else draw[..., 0]
    if full != shape:
        data = data[..., 1::2]
    if exclude_zero:
        data[data == 0] = 1 if integral else np.finfo(dt).tiny
    out = _wrap(data)
    if requires_grad:
        out.requires_grad_(True)
    return out
