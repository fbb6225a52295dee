"""Elementwise ops, declared in one table each: forward, one VJP per input, then the JVP.

A VJP has the signature ``vjp(g, y, *inputs)``: the gradient of the output, the output, and
the op's inputs. On the plain backward path these are NumPy arrays (or the Python numbers the
op was called with; None for an input that none of the op's VJPs reads, per its ``reads`` column, so
that recording saves nothing for it); with ``create_graph=True`` they are Tensors, and the same NumPy calls
dispatch to npgrad ops, so every formula below is also differentiable.

The ``jvp`` column is the forward-mode rule (npgrad/autograd/forward_ad.py): ``jvp(t, y, *inputs)`` maps
an input's tangent to its part of the output's tangent. ``DIAG`` says that it is the VJP's own formula
applied to the tangent: an elementwise op's Jacobian is diagonal, so it is its own transpose (for a
broadcast input, forward AD broadcasts the result to the output's shape centrally).
"""
import importlib
import math
import sys

import numpy as np

from ..autograd import versions as _versions
from ..autograd.grad_mode import _state
from .. import _freeing as _fr
from ..tensor import (_F32, _F64, Exact, Tensor, _make, _new, _next_seq, _record, _wrap, const, is_complex_value,
                      passthrough)
from . import _edge_rules as _er
from ._util import zeros_grad
from .inplace import alone as _alone

_tensor_mod = _tm = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)


_WEAK = (float, int, bool)  # Python numbers: weak under NEP 50, they change neither shape nor dtype
DIAG = "diag"  # the jvp column: the VJP's formula (an elementwise op's Jacobian is its own transpose)


# Ops defined for real numbers only (PyTorch raises for complex input): a complex argument raises a TypeError
# naming the op, even without gradients. The holomorphic ops' complex rule: npgrad/autograd/complex_rules.py.
REAL_ONLY = frozenset((
    "relu", "floor", "ceil", "round", "trunc", "fix", "rint", "cbrt", "deg2rad", "rad2deg",
    "maximum", "minimum", "floor_divide", "remainder", "arctan2", "hypot", "logaddexp", "logaddexp2", "fmax",
    "fmin", "fmod", "copysign", "heaviside", "less", "less_equal", "greater", "greater_equal", "clip"))


def real_only_error(name, *values):
    """The TypeError of an op defined for real numbers only, given a complex argument."""
    dts = ", ".join(str(np.result_type(v)) for v in values)
    return TypeError(f"{name}: not defined for complex tensors (got {dts}); apply it to z.real, z.imag or "
                     f"npg.abs(z)")


def broadcast_error(name, a, b, e):
    """The ValueError of a binary op whose operands do not broadcast, naming the op and both shapes."""
    return ValueError(f"{name}: operands could not be broadcast together with shapes {np.shape(a)} and "
                      f"{np.shape(b)} ({e})")


def _refuse_complex(name):
    def check(x):
        raise real_only_error(name, x.data if isinstance(x, Tensor) else x)
    return check


# The saved values of an op whose VJPs read none of its inputs (add, sub, tanh, exp...): shared tuples, so
# recording such an op allocates none. A VJP gets None for an input it does not read (declared in its
# ``reads`` column, which the in-place checks of npgrad/autograd/versions.py already rely on); on the
# create_graph path VJPs get the op's inputs as Tensors, whatever was saved.
_UNREAD1, _UNREAD2 = (None,), (None, None)

# The unary and binary ops below record a real result on same-shape inputs without calling ``_record``: its
# body, inlined (a call is ~10% of such an op's Python time). ``_record`` is still called for everything else,
# while a write has left stale views (``_STALE``: _record refreshes its inputs first), and whenever it has been
# replaced (anomaly mode wraps it in every npgrad module; ``_plain_record`` keeps the original, so an op sees the
# replacement as ``_record is not _plain_record``).
_plain_record, _ndarray = _record, np.ndarray


def unary(name, forward, vjp, jvp, reads, doc=None, complex_op=None, into=None):
    """Make a differentiable one-argument op from a NumPy ``forward``, its VJP and its JVP (``DIAG``: the
    VJP's formula); the VJP reads the values named in ``reads`` (``y`` the output, ``x`` the input; see
    npgrad/autograd/versions.py). ``complex_op(x)`` computes the op on complex tensors when it is not
    holomorphic (abs); ops in ``REAL_ONLY`` refuse complex ones. ``into(xd)``: the forward written into its
    argument, for an op whose VJP does not read its input (made from ``forward`` when it is a ufunc); the op's
    ``into(x)`` then computes it into ``x``'s memory (the in-place method, ops/inplace.py: method, records it on
    the snapshot of ``x``)."""
    vjps = Exact((vjp,))  # the gradient has the input's shape and dtype
    jvps = (vjp if jvp is DIAG else jvp,)
    _versions.reads(name, reads)
    keep_x = "x" in reads  # a VJP that does not read the input gets None for it: nothing saved (see _UNREAD)
    if into is None and not keep_x and isinstance(forward, np.ufunc):
        into = _ufunc_into(forward)
    special = _refuse_complex(name) if name in REAL_ONLY else complex_op  # called for complex input only

    def op(x):
        if _tm._VMAP:
            r = _tm._vmap_call("unary", op, (x,), None)
            if r is not NotImplemented:
                return r
        if isinstance(x, Tensor):
            xd = x.data
            if special is not None:  # (is_complex_value, inlined: relu is hot)
                dt = xd.dtype
                if dt is not _F64 and dt is not _F32 and dt.kind == "c":
                    return special(x)
            out = forward(xd)
            if x._requires_grad and _state.enabled:
                if _record is _plain_record and out.__class__ is _ndarray and not _tm._STALE:
                    dt = out.dtype
                    if dt is _F32 or dt is _F64:  # _record, inlined for a real result (see _plain_record)
                        t = _new(Tensor)
                        t.data = out
                        t._grad = None
                        t._requires_grad = True
                        t._parents = (x,)
                        t._saved = (xd,) if keep_x else _UNREAD1
                        t._vjps = vjps
                        t._op = name
                        t._seq = _next_seq()
                        t._pending = None
                        t._extra = None
                        if out.size >= _fr.min_size:
                            _fr.recorded(t._parents)
                        if _tm._FW:
                            return _tm._propagate(t, name, t._parents, vjps, jvps)
                        return t
                return _record(out, name, (x,), (xd,) if keep_x else _UNREAD1, vjps, jvps)
            if _tensor_mod._FW:
                return _tensor_mod._propagate(_wrap(out), name, (x,), vjps, jvps)
            return _wrap(out)
        xd = np.asarray(const(x, name))
        if special is not None and xd.dtype.kind == "c":
            return special(_wrap(xd))
        return _wrap(forward(xd))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise ``{name}``, differentiable (see the VJP table in npgrad/ops/elementwise.py)."
    if into is not None:
        if keep_x:
            raise ValueError(f"unary({name!r}): an in-place forward would overwrite the input its VJP reads")

        def op_into(x):
            xd = x.data
            if special is not None and is_complex_value(xd):
                return special(x)  # (REAL_ONLY's error)
            return _make(into(xd), name, (x,), _UNREAD1, vjps, jvps)
        op.into = op_into
    return op


def binary(name, forward, vjp_a, vjp_b, jvp, reads, doc=None, into=False):
    """Make a differentiable broadcasting two-argument op from a NumPy ``forward``, two VJPs and the JVPs
    (``DIAG``: the VJPs' formulas; or a pair ``(jvp_a, jvp_b)``); the VJPs read the values named in ``reads``
    (one string for both, or one each; ``y`` the output, ``a``, ``b``). ``into``: ``forward`` is a ufunc whose
    result the op's ``into(a, b)`` may compute into ``a``'s memory (``x += y``: ops/_tensor_api.py)."""
    vjps = (vjp_a, vjp_b)
    jvps = vjps if jvp is DIAG else tuple(jvp)
    _versions.reads(name, *((reads,) if isinstance(reads, str) else reads))
    read = "".join((reads,) if isinstance(reads, str) else reads)
    keep_a, keep_b = "a" in read or "x" in read, "b" in read  # the inputs a VJP reads (see _UNREAD)
    exact = Exact(vjps)  # for inputs of one shape and dtype, or a tensor and a Python number
    real_only = name in REAL_ONLY

    def op(a, b):
        if _tm._VMAP:
            r = _tm._vmap_call("elementwise", op, (a, b), None)
            if r is not NotImplemented:
                return r
        number = None  # the operand that is not a Tensor, if one is not
        if isinstance(a, Tensor):
            ad = a.data
            rg = a._requires_grad
            if isinstance(b, Tensor):
                bd = b.data
                rg = rg or b._requires_grad
            else:
                bd = number = const(b, name)
        else:
            ad = number = const(a, name)
            if isinstance(b, Tensor):
                bd = b.data
                rg = b._requires_grad
            else:
                bd = const(b, name)
                rg = False
        if real_only and (is_complex_value(ad) or is_complex_value(bd)):
            raise real_only_error(name, ad, bd)
        try:
            out = forward(ad, bd)
        except ValueError as e:
            raise broadcast_error(name, ad, bd, e) from None
        if rg and _state.enabled:
            same = (ad.shape == bd.shape and ad.dtype is bd.dtype) if number is None else type(number) in _WEAK
            saved = (ad if keep_a else None, bd if keep_b else None) if keep_a or keep_b else _UNREAD2
            if same and _record is _plain_record and out.__class__ is _ndarray and not _tm._STALE:
                dt = out.dtype
                if dt is _F32 or dt is _F64:  # _record, inlined for a real result (see _plain_record)
                    t = _new(Tensor)
                    t.data = out
                    t._grad = None
                    t._requires_grad = True
                    t._parents = parents = (a, b)
                    t._saved = saved
                    t._vjps = exact
                    t._op = name
                    t._seq = _next_seq()
                    t._pending = None
                    t._extra = None
                    if out.size >= _fr.min_size:
                        _fr.recorded(parents)
                    if _tm._FW:
                        return _tm._propagate(t, name, parents, exact, jvps)
                    return t
            return _record(out, name, (a, b), saved, exact if same else vjps, jvps)
        if _tensor_mod._FW:
            return _tensor_mod._propagate(_wrap(out), name, (a, b), vjps, jvps)
        return _wrap(out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise ``{name}`` with NumPy broadcasting, differentiable in both arguments."
    if into:
        def op_into(a, b):
            """``op(a, b)`` recorded, its values computed into ``a.data`` when they fit it (``b`` broadcasts to
            ``a``'s shape, the result has ``a``'s dtype); else out of place. For a write whose VJPs do not read
            ``a`` (inplace.write with copy_old=False): ``a`` is the snapshot of the tensor written into. Not with
            forward AD active: the JVPs read ``a`` after the forward (mul's and div's tangents of ``b``)."""
            ad = a.data
            bd = b.data if isinstance(b, Tensor) else const(b, name)
            if _tm._FW or ad.__class__ is not _ndarray or not ad.flags.writeable or np.result_type(ad, bd) != ad.dtype:
                return op(a, b)
            try:
                forward(ad, bd, out=ad)
            except (ValueError, TypeError):  # b does not broadcast to a's shape, or the result is not of a's dtype
                return op(a, b)              # (int / int): out of place, where the errors name the op
            same = (ad.shape == bd.shape and ad.dtype is bd.dtype) if isinstance(b, Tensor) else \
                type(bd) in _WEAK
            return _make(ad, name, (a, b), (None, bd) if keep_b else _UNREAD2, exact if same else vjps, jvps)
        op.into = op_into
    return op


_LN2, _LN10 = math.log(2.0), math.log(10.0)  # Python floats: a float32 gradient stays float32 (NEP 50)
# log2's and log10's derivatives as g * (1 / ln b) / x: x * ln 10 overflowed for float32 x = 3e38 (gradient 0,
# not 1.4e-39), and x * ln 2 rounds a subnormal x coarsely
_INV_LN2, _INV_LN10 = 1.0 / _LN2, 1.0 / _LN10


def _sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))  # finite for any x; never exp(+large)


def _ufunc_into(ufunc):
    """The one-argument ``ufunc`` written into its floating or complex argument (``x.tanh_()``, ``x.exp_()``...: one
    pass, no new array); out of place for another dtype (the in-place method then refuses a result that does not
    fit, as PyTorch's)."""
    def into(x):
        return ufunc(x, out=x) if x.dtype.kind in "fc" else ufunc(x)
    return into


def _sigmoid_into(x):
    """``sigmoid`` written into ``x`` (``sigmoid_``): _sigmoid's passes, in place."""
    if x.dtype.kind != "f":
        return _sigmoid(x)
    np.negative(x, out=x)
    np.logaddexp(0, x, out=x)
    np.negative(x, out=x)
    return np.exp(x, out=x)


def _relu_into(x):
    """``relu`` written into ``x`` (``relu_``): one pass, no new array."""
    return np.maximum(x, _zeros_as(x), out=x)


def _relu(x):
    # Against an array of zeros, not the scalar 0: NumPy 2.4 has no SIMD loop for np.maximum with a
    # broadcast scalar, and this is 2-3x faster. The zeros share x's memory order, and so does the result.
    return np.maximum(x, _zeros_as(x))


_ZEROS = {}  # dtype -> one read-only flat array of zeros, replaced by a larger one when more are asked for


def _zeros_as(x):
    """Read-only zeros of ``x``'s shape, dtype and memory order (C order or a transposition of it), as views
    of one shared buffer: no allocation per call. (The buffer comes from calloc: its pages are never written,
    so a large one maps the kernel's zero page and takes no memory.)"""
    n = x.size
    buf = _ZEROS.get(x.dtype)
    if buf is None or buf.size < n:
        buf = np.zeros(n, x.dtype)
        buf.flags.writeable = False
        _ZEROS[x.dtype] = buf
    if x.flags.c_contiguous:
        return buf[:n].reshape(x.shape)
    order = sorted(range(x.ndim), key=lambda i: -x.strides[i])
    if not x.transpose(order).flags.c_contiguous:
        return np.zeros_like(x)
    return buf[:n].reshape([x.shape[i] for i in order]).transpose(np.argsort(order))


_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def _relu_vjp(g, y, x):
    """``g`` where ``y > 0`` (or nan), 0 elsewhere, as PyTorch's ``threshold_backward`` of the result (``y > 0``
    exactly where ``x > 0``, and ``y`` is nan where ``x`` is). It reads the output, not the input, as PyTorch: so
    ``relu_`` keeps no copy of the value it overwrites. A select, not ``g * (y > 0)``,
    so an infinite ``g`` on a dead unit gives 0, not nan (an lp_pool window of zeros). The select is a bitwise AND
    of ``g``'s bits with a mask of all ones (live) or zeros (dead): NumPy's ``where`` is ~10x slower on a random
    mask. Written into ``g`` when backward handed it over and nothing else holds it."""
    if g.__class__ is not np.ndarray or g.dtype.kind != "f" or g.shape != y.shape:
        return np.where(y <= 0, 0, g)  # Tensors (create_graph), broadcasting: the plain select
    itype = _SAME_SIZE_INT[g.dtype.itemsize]
    mask = np.asarray(np.less_equal(y, 0)).view(np.int8)   # (asarray: a 0-d y gives a NumPy bool, not an array)
    np.subtract(mask, 1, out=mask)  # 0 where dead, -1 (every bit set) elsewhere, sign-extended by the AND: one byte
    # per element (faster than a mask of g's integer size, and a quarter of its memory)
    if _alone(g, sys.getrefcount(g)):
        bits = g.view(itype)
        np.bitwise_and(bits, mask, out=bits)
        return g
    return np.bitwise_and(g.view(itype), mask).view(g.dtype)


def _sgn_real(x):
    """PyTorch's sgn of real ``x``, the derivative of ``|x|``: -1, 0 or 1, and 0 at NaN (NumPy's sign gives NaN)."""
    if x.__class__ is np.ndarray and x.dtype.kind == "f":
        return np.subtract(x > 0, x < 0, dtype=x.dtype)  # (NaN compares false both ways: 0)
    return np.where(x != x, 0, np.sign(x))  # Tensors (create_graph, vmap), NumPy scalars


def _pow_base(g, y, a, b):       # d(a**b)/da = b * a**(b-1), and 0 where b == 0 (as PyTorch)
    if b.__class__ in _WEAK:     # a Python number: a constant zero for b == 0 (stays 0 when differentiated)
        return zeros_grad(g) if b == 0 else g * b * a ** (b - 1)
    # a**(b-1) with the exponent 0 where b == 0: finite there, so a second derivative gets 0, not 0 * inf
    return np.where(b == 0, 0, g * b * a ** (np.where(b == 0, 1, b) - 1))


def _pow_exponent(g, y, a, b):
    # d(a**b)/db = a**b * log(a); at a == 0 as PyTorch: 0 where b >= 0, inf * log(0) = -inf where b < 0
    if getattr(b, "dtype", None) is not None and b.dtype.kind == "c":
        b = np.real(b)  # (a complex exponent: the condition at a == 0 is on its real part, as PyTorch)
    if not hasattr(a, "dtype"):  # a Python number: its log stays a Python float (weak, NEP 50)
        if a == 0:
            return np.where(b >= 0, g * 0, g * (y * -math.inf))  # (g's dtype; NaN at b = NaN, as torch)
        if not isinstance(a, complex) and a < 0 and getattr(y, "dtype", None) is not None and y.dtype.kind == "c":
            a = complex(a)  # (a negative real base of a complex power: its complex log, not NaN, as PyTorch)
        return g * (y * np.log(a).item())
    zero = (a == 0) & (b >= 0)
    base = np.where(zero, 1, a)
    if getattr(y, "dtype", None) is not None and y.dtype.kind == "c" and base.dtype.kind != "c":
        base = base.astype(y.dtype)  # (a negative real base: the complex log, log|a| + i pi, not NaN)
    return g * np.where(zero, 0, y * np.log(base))


# ------------------------------------------------------------------------- unary ops
#            name        forward          VJP: d/dx (g: output grad, y: output, x: input)  JVP  values read
neg        = unary("neg",        np.negative,    lambda g, y, x: -g, DIAG, "")
exp        = unary("exp",        np.exp,         lambda g, y, x: g * y, DIAG, "y")
expm1      = unary("expm1",      np.expm1,       lambda g, y, x: g * (y + 1), DIAG, "y")
log        = unary("log",        np.log,         lambda g, y, x: g / x, DIAG, "x")
log1p      = unary("log1p",      np.log1p,       lambda g, y, x: g / (x + 1), DIAG, "x")
log2       = unary("log2",       np.log2,        lambda g, y, x: g * _INV_LN2 / x, DIAG, "x")    # (see _INV_LN2)
log10      = unary("log10",      np.log10,       lambda g, y, x: g * _INV_LN10 / x, DIAG, "x")
sqrt       = unary("sqrt",       np.sqrt,        lambda g, y, x: g / (2 * y), DIAG, "y")
square     = unary("square",     np.square,      lambda g, y, x: g * 2 * x, DIAG, "x")
reciprocal = unary("reciprocal", np.reciprocal,  lambda g, y, x: -g * y * y, DIAG, "y")
sin        = unary("sin",        np.sin,         lambda g, y, x: g * np.cos(x), DIAG, "x")
cos        = unary("cos",        np.cos,         lambda g, y, x: -g * np.sin(x), DIAG, "x")
tan        = unary("tan",        np.tan,         lambda g, y, x: g * (1 + y * y), DIAG, "y")
tanh       = unary("tanh",       np.tanh,        lambda g, y, x: g - g * y * y, DIAG, "y")  # = g(1-y^2); no Python
#                                                  scalar: NumPy converts one on every call (~0.3 us)
sigmoid    = unary("sigmoid",    _sigmoid,       lambda g, y, x: g * y * (1 - y), DIAG, "y", into=_sigmoid_into,
                    complex_op=lambda z: reciprocal(add(exp(neg(z)), 1.0)))   # (complex z: 1 / (1 + e^-z), as torch)
relu       = unary("relu",       _relu,          _relu_vjp, _relu_vjp, "y", into=_relu_into)
abs        = unary("abs",        np.abs,         lambda g, y, x: g * _sgn_real(x), DIAG, "x",
                   complex_op=lambda z: _abs_complex(z))
sign       = unary("sign",       np.sign,        lambda g, y, x: zeros_grad(g), DIAG, "",
                   complex_op=lambda z: _sign_complex(z))
floor      = unary("floor",      np.floor,       lambda g, y, x: zeros_grad(g), DIAG, "")
ceil       = unary("ceil",       np.ceil,        lambda g, y, x: zeros_grad(g), DIAG, "")
absolute = abs
negative = neg


def _sgn(z):
    """``z / |z|``, and 0 at 0 (torch.sgn): the gradient of ``|z|`` for complex ``z``. Arrays or Tensors."""
    a = np.abs(z)
    return np.where(a == 0, 0, z / np.where(a == 0, 1, a))


def _sign_complex(z):
    # NumPy's sign of complex z is z/|z| (0 at 0), torch.sgn: VJP and JVP (g - Re(g conj(s)) s) / |z|, a real-
    # linear map that is its own adjoint (0 at z = 0, as PyTorch); recorded as "sgn" (complex_rules: OWN)
    zd = z.data
    return _make(np.sign(zd), "sgn", (z,), (zd,), _SGN_VJPS, _SGN_VJPS)


def _sgn_vjp(g, y, z):
    a = np.abs(z)
    return np.where(a == 0, 0, (g - np.real(g * np.conj(y)) * y) / np.where(a == 0, 1, a))


_SGN_VJPS = (_sgn_vjp,)


def _abs_complex(z):
    # |z| of complex z: VJP g * z/|z| (g is real), JVP Re(conj(z) dz) / |z| (0 at z = 0, as PyTorch)
    zd = z.data
    return _make(np.abs(zd), "abs", (z,), (zd,), _ABS_COMPLEX_VJPS, _ABS_COMPLEX_JVPS)


_ABS_COMPLEX_VJPS = (lambda g, y, z: g * _sgn(z),)
_ABS_COMPLEX_JVPS = (lambda t, y, z: np.real(np.conj(_sgn(z)) * t),)


def _div_b(g, y, a, b):
    # d(a / b)/db = -(a / b) / b, divided twice as PyTorch: a / (b * b) overflows (b * b -> inf or 0) where the
    # gradient is finite, e.g. a = 1e30, b = 1e20 in float32 gave 0 instead of -1e-10, a = b = 1e-30 gave -inf
    return -g * ((a / b) / b)


# ------------------------------------------------------------------------ binary ops
#            name            forward          VJP d/da                       VJP d/db      JVP  values read
add        = binary("add",        np.add,          passthrough,                   passthrough, DIAG, "", into=True)
sub        = binary("sub",        np.subtract,     passthrough,                   lambda g, y, a, b: -g, DIAG, "",
                    into=True)
mul        = binary("mul",        np.multiply,     lambda g, y, a, b: g * b,      lambda g, y, a, b: g * a,
                    DIAG, ("b", "a"), into=True)
div        = binary("div",        np.true_divide,  lambda g, y, a, b: g / b,      _div_b, DIAG, ("b", "ab"),
                    into=True)
power      = binary("pow",        np.power,        _pow_base,                     _pow_exponent, DIAG, ("ab", "aby"))
maximum    = binary("maximum",    np.maximum,      _er.max_a,     # ties split the gradient evenly; NaN: see
                    _er.max_b, DIAG, "ab")                          # npgrad/ops/_edge_rules.py (as PyTorch)
minimum    = binary("minimum",    np.minimum,      _er.min_a,                     _er.min_b, DIAG, "ab")
floor_divide = binary("floor_divide", np.floor_divide, lambda g, y, a, b: zeros_grad(g),
                      lambda g, y, a, b: zeros_grad(g), DIAG, "")
remainder  = binary("remainder",  np.remainder,    lambda g, y, a, b: g,
                    lambda g, y, a, b: -g * np.floor_divide(a, b), DIAG, ("", "ab"))
subtract, multiply, divide, true_divide, pow, mod = sub, mul, div, div, power, remainder


# where and clip, the ops with 3 inputs: npgrad/ops/ternary.py, importable from here as before.
from .ternary import clip, where  # noqa: E402,F401


# Comparisons, logical and bitwise ops, isnan/isinf/isfinite: results with no gradient (ops/comparison.py).
from .comparison import (bitwise_and, bitwise_or, bitwise_xor, equal, greater, greater_equal, invert,  # noqa: E402
                         isfinite, isinf, isnan, less, less_equal, logical_and, logical_not, logical_or, logical_xor,
                         not_equal)
# The more NumPy ufuncs (hyperbolic, inverse trigonometric, fmax/fmin, hypot, rounding...): declared in
# npgrad/ops/elementwise_more.py with this module's unary/binary, and importable from here as before.
from .elementwise_more import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,  # noqa: E402,F401
                               around, asin, asinh, atan, atan2, atanh, cbrt, copysign, cosh, deg2rad, degrees, exp2,
                               fix, fmax, fmin, fmod, heaviside, hypot, logaddexp, logaddexp2, nan_to_num, rad2deg,
                               radians, rint, round, sinc, sinh, trunc)
