"""``npg.func.vmap``: vectorizing map, as ``torch.func.vmap``.

Inside ``vmap`` every batched input is a :class:`BatchedTensor`: a Tensor subclass that wraps an inner tensor
carrying the batch dimension at the FRONT, plus the vmap level it belongs to (nested vmaps wrap BatchedTensors
of the outer level). Its ``shape``/``ndim``/``size`` are the per-sample ones. An op with a batching rule checks
one module flag (``npgrad.tensor._VMAP``) at entry and, when it is set and an argument is batched at the
innermost active level, hands the call to :func:`_dispatch`, which applies the rule of the op's family:

* elementwise unary ops: the op on the inner tensor;
* elementwise binary ops: singleton axes inserted after the batch axis so both operands right-align;
* reductions: axis arguments shifted by one (``None`` becomes every per-sample axis);
* shape ops (reshape, transpose, swapaxes, basic indexing) and matmul: axes shifted / shapes prefixed.

The rule calls the same public op on the inner values, so gradients record on the inner tensors and nested
levels dispatch again. An op with no rule reads ``BatchedTensor.data``, which raises :class:`_NoRule`: vmap then
warns once, naming the op, and runs ``func`` as a Python loop over the batch (correct, slow). Data-dependent
Python control flow (``bool``, ``float``, ``item``) on a batched value raises, as in torch.
"""
import importlib
import math
import sys
import warnings

import numpy as np

_tm = importlib.import_module(".tensor", __package__)  # the module (npgrad.tensor is also a function)
from .tensor import Tensor, _new

__all__ = ["vmap"]


class _NoRule(Exception):
    """An op without a batching rule read a BatchedTensor's data."""

    def __init__(self, op):
        super().__init__(f"no batching rule for {op}")
        self.op = op


_HELPERS = {"data_of", "as_input", "const", "_to_array", "<lambda>", "<genexpr>", "<listcomp>", "_value"}


def _caller():
    f = sys._getframe(2)
    for _ in range(6):
        if f is None:
            break
        name = f.f_code.co_name
        if name not in _HELPERS and not name.startswith("__"):
            return name
        f = f.f_back
    return sys._getframe(2).f_code.co_name


_CONTROL_FLOW = ("vmap: it looks like you are using a batched tensor in data-dependent Python control flow "
                 "({what}). This is not supported inside vmap (as in torch.func.vmap): the value differs across "
                 "the batch. Use npg.where / npg.clip / masks instead of if-statements on tensor values, or move "
                 "the control flow outside of vmap.")


class BatchedTensor(Tensor):
    """A tensor inside ``vmap``: ``_inner`` holds the values with the batch dimension in front; ``_level`` is
    the vmap level. Reports the per-sample shape."""

    __slots__ = ("_inner", "_level")

    @property
    def data(self):
        raise _NoRule(_caller())

    shape = property(lambda self: self._inner.shape[1:])
    ndim = property(lambda self: self._inner.ndim - 1)
    size = property(lambda self: math.prod(self._inner.shape[1:]))
    dtype = property(lambda self: self._inner.dtype)
    is_leaf = property(lambda self: True)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        return f"BatchedTensor(level={self._level}, bdim=0, value={self._inner!r})"

    def _control_flow(self, what):
        raise RuntimeError(_CONTROL_FLOW.format(what=what))

    def __bool__(self):
        self._control_flow("bool(tensor), e.g. `if t > 0:`")

    def item(self):
        self._control_flow("tensor.item()")

    def __float__(self):
        self._control_flow("float(tensor)")

    def __int__(self):
        self._control_flow("int(tensor)")

    def __index__(self):
        self._control_flow("using a tensor as an index")

    def tolist(self):
        self._control_flow("tensor.tolist()")

    def numpy(self):
        raise _NoRule("numpy")

    def __array__(self, dtype=None, copy=None):
        raise _NoRule(_caller())

    def detach(self):
        return _batched(self._inner.detach(), self._level)

    def requires_grad_(self, requires_grad=True):
        raise _NoRule("requires_grad_")

    def backward(self, *args, **kwargs):
        raise _NoRule("backward")


def _batched(inner, level):
    t = _new(BatchedTensor)
    t._inner = inner
    t._level = level
    t._grad = None
    t.requires_grad = False
    t._parents = None
    t._vjps = None
    t._extra = None
    return t


# ------------------------------------------------------------------------ dispatch
def _level_of(args):
    lv = 0
    for a in args:
        if type(a) is BatchedTensor and a._level > lv:
            lv = a._level
    return lv


def _at(x, level):
    """(inner value, batched?) of ``x`` at ``level``."""
    if type(x) is BatchedTensor and x._level == level:
        return x._inner, True
    return x, False


def _pad(inner, k):
    """Insert ``k`` singleton axes right after the batch axis."""
    if k <= 0:
        return inner
    s = inner.shape
    return inner.reshape(s[:1] + (1,) * k + s[1:])


def _unary_rule(op, level, args, kwargs):
    inner, _ = _at(args[0], level)
    return _batched(op(inner, *args[1:], **kwargs), level)


def _ndim(x):
    return x.ndim if isinstance(x, Tensor) else np.ndim(x)


def _elementwise_rule(op, level, args, kwargs):
    """Broadcasting elementwise ops: batched operands get singleton axes after the batch axis so that every
    operand right-aligns with the others' per-sample shapes."""
    nd = max(_ndim(a) for a in args if a is not None)
    new = []
    for a in args:
        inner, b = _at(a, level)
        new.append(_pad(inner, nd - a.ndim) if b else inner)
    return _batched(op(*new, **kwargs), level)


def _shift_axes(axis, nd):
    if axis is None:
        return tuple(range(1, nd + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(_shift_one(a, nd) for a in axis)
    return _shift_one(axis, nd)


def _shift_one(a, nd):
    a = int(a)
    if nd == 0 and a in (0, -1):  # a 0-d sample: axis 0 / -1 name the scalar itself (as torch allows)
        return 1
    if not -nd <= a < nd:
        raise np.exceptions.AxisError(a, nd)
    return a % nd + 1


def _reduce_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    nd = x.ndim
    kwargs = dict(kwargs)
    if len(args) > 1:
        rest = list(args[1:])
        rest[0] = _shift_axes(rest[0], nd)
        return _batched(op(inner, *rest, **kwargs), level)
    for key in ("axis", "dim"):
        if key in kwargs:
            kwargs[key] = _shift_axes(kwargs[key], nd)
            break
    else:
        kwargs["axis"] = _shift_axes(None, nd)
    out = op(inner, **kwargs)
    return _batched(out, level)


def _matmul_rule(op, level, args, kwargs):
    a, b = args[:2]
    ia, ba = _at(a, level)
    ib, bb = _at(b, level)
    ra, rb = a.ndim, b.ndim
    if ra == 0 or rb == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    squeeze = []
    if ba and ra == 1:
        ia = _pad(ia, 1)            # (B, 1, n)
        ra = 2
        squeeze.append(-1 if (not bb and rb == 1) else -2)  # (.., 1, n) @ (n,) already drops the last axis
    if bb and rb == 1:
        ib = ib.reshape(ib.shape + (1,))  # (B, n, 1)
        rb = 2
        squeeze.append(-1)
    r = max(ra, rb)
    if ba:
        ia = _pad(ia, r - ra)
    if bb:
        ib = _pad(ib, r - rb)
    out = None
    if ba and bb and not args[2:] and not kwargs:  # a weight shared by every sample: one GEMM (see _vmap_nn)
        out = _vmap_nn.try_shared_matmul(ia, ib)
    if out is None:
        out = op(ia, ib, *args[2:], **kwargs)
    for ax in squeeze:
        out = out.reshape(out.shape[:ax] + out.shape[ax:][1:]) if ax == -2 else out.reshape(out.shape[:-1])
    return _batched(out, level)


def _reshape_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    dims = args[1:]
    kwargs = dict(kwargs)
    shape = kwargs.pop("shape", None)
    newshape = kwargs.pop("newshape", None)
    if shape is None:
        shape = newshape
    if shape is None:
        shape = dims[0] if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)) else dims
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if shape.count(-1) == 1:
        known = math.prod(s for s in shape if s != -1)
        size = x.size
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    return _batched(op(inner, (inner.shape[0],) + shape, **kwargs), level)


def _transpose_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    nd = x.ndim
    axes = args[1] if len(args) > 1 else kwargs.get("axes")
    if axes is None:
        axes = tuple(range(nd))[::-1]
    return _batched(op(inner, (0,) + tuple(_shift_one(a, nd) for a in axes)), level)


def _swapaxes_rule(op, level, args, kwargs):
    x = args[0]
    inner, _ = _at(x, level)
    nd = x.ndim
    return _batched(op(inner, _shift_one(args[1], nd), _shift_one(args[2], nd)), level)


def _basic(k):
    return k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))


def _getitem_rule(op, level, args, kwargs):
    x, key = args[:2]
    inner, bx = _at(x, level)
    keys = key if isinstance(key, tuple) else (key,)
    if not bx or not all(_basic(k) and type(k) is not bool for k in keys):
        return NotImplemented  # advanced indexing: the loop fallback
    return _batched(op(inner, (slice(None),) + keys), level)


def _broadcast_to_rule(op, level, args, kwargs):
    x, shape = args[:2]
    inner, _ = _at(x, level)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _batched(op(_pad(inner, len(shape) - x.ndim), (inner.shape[0],) + shape), level)


def _join(op, level, args, kwargs, new_axis):
    """concatenate / stack: unbatched operands repeated along the batch, the axis shifted past it."""
    size = next(a._inner.shape[0] for a in args if type(a) is BatchedTensor and a._level == level)
    axis = kwargs.get("axis", 0)
    inners = []
    for a in args:
        inner, b = _at(a, level)
        if not b:
            inner = _expand(inner if isinstance(inner, Tensor) else _tm._wrap(np.asarray(inner)), size)
        if axis is None:
            inner = inner.reshape((size, -1))
        inners.append(inner)
    nd = args[0].ndim + (1 if new_axis else 0)
    ax = 1 if axis is None else _shift_one(axis, nd)
    return _batched(op(inners, axis=ax), level)


def _composite_rule(op, level, args, kwargs):
    """An op spelled with ops that have rules: ``op`` is that spelling, run on the batched arguments."""
    return op(*args, **kwargs)


RULES = {"broadcast_to": _broadcast_to_rule, "composite": _composite_rule,
         "concatenate": lambda op, lv, a, k: _join(op, lv, a, k, False),
         "stack": lambda op, lv, a, k: _join(op, lv, a, k, True),
         "unary": _unary_rule, "elementwise": _elementwise_rule, "reduce": _reduce_rule, "matmul": _matmul_rule,
         "reshape": _reshape_rule, "transpose": _transpose_rule, "swapaxes": _swapaxes_rule,
         "getitem": _getitem_rule}


def _dispatch(kind, op, args, kwargs):
    """Run ``op(*args, **kwargs)`` by its family's batching rule if an argument is batched; else
    ``NotImplemented`` (the op runs as usual)."""
    level = _level_of(args)
    if not level:
        return NotImplemented
    return RULES[kind](op, level, args, kwargs or {})


_tm._vmap_call = _dispatch
RULES["fft"] = importlib.import_module(".func_vmap_fft", __package__).fft_rule  # npg.fft (own file)


# ------------------------------------------------------------------------ vmap
_warned = set()


def _flatten(x):
    from .func import _flatten
    return _flatten(x)


def _unflatten(leaves, spec):
    from .func import _unflatten
    return _unflatten(leaves, spec)


def _broadcast_dims(dims, arg, where):
    """Leaves of ``dims`` matched to the leaves of ``arg`` (a single int/None applies to all of them)."""
    leaves, spec = _flatten(arg)
    if dims is None or isinstance(dims, int):
        return leaves, [dims] * len(leaves)
    dl, dspec = _flatten(dims)
    if dspec != spec:
        raise ValueError(f"{where}: in_dims {dims!r} does not match the structure of the input")
    return leaves, dl


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return _tm._wrap(x)
    return x


def _norm_dim(d, nd, where):
    if not -nd <= d < nd:
        raise ValueError(f"{where}: dim {d} is out of bounds for an input with {nd} dimension(s)")
    return d % nd


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``torch.func.vmap``: ``func`` mapped over a batch dimension of its inputs, run as one vectorized call.

    ``in_dims``: an int or None for every input, or a tuple with one entry per positional argument (an int,
    None for an unbatched argument, or a pytree matching the argument). ``out_dims`` likewise for the outputs.
    ``chunk_size`` bounds how many samples run at once. Data-dependent Python control flow on batched values
    raises; an op without a batching rule falls back (with a one-time warning) to a Python loop.

    >>> npg.func.vmap(npg.dot)(x, y)                 # row-wise dot products of (B, n) x and y
    >>> npg.func.vmap(npg.func.grad(loss), in_dims=(None, 0, 0))(params, xb, yb)   # per-sample gradients
    """
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', not {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be a positive int or None, got {chunk_size!r}")

    def wrapped(*args, **kwargs):
        if isinstance(in_dims, (tuple, list)):
            if len(in_dims) != len(args):
                raise ValueError(f"vmap: in_dims has {len(in_dims)} entries but the function got {len(args)} "
                                 f"positional arguments")
            per_arg = list(in_dims)
        elif in_dims is None or isinstance(in_dims, int):
            per_arg = [in_dims] * len(args)
        else:
            raise ValueError(f"vmap: in_dims must be an int, None or a tuple, not {type(in_dims).__name__}")
        flat, specs, dims, size = [], [], [], None
        for a, d in zip(args, per_arg):
            leaves, ds = _broadcast_dims(d, a, "vmap")
            _, spec = _flatten(a)
            specs.append((len(leaves), spec))
            for x, dx in zip(leaves, ds):
                if dx is not None:
                    x = _as_tensor(x)
                    if not isinstance(x, Tensor):
                        raise ValueError(f"vmap: a batched input must be a tensor, got {type(x).__name__} "
                                         f"(use None in in_dims for it)")
                    if x.ndim == 0:
                        raise ValueError("vmap: cannot batch a 0-d tensor along a dimension")
                    dx = _norm_dim(dx, x.ndim, "vmap in_dims")
                    n = x.shape[dx]
                    if size is not None and n != size:
                        raise ValueError(f"vmap: the batched inputs have different sizes along their in_dims "
                                         f"({size} and {n})")
                    size = n
                flat.append(x)
                dims.append(dx)
        if size is None:
            raise ValueError("vmap: at least one input must be batched (in_dims are all None)")

        def rebuild(leaves):
            out, pos = [], 0
            for n, spec in specs:
                out.append(_unflatten(leaves[pos:pos + n], spec))
                pos += n
            return out

        if chunk_size is not None and size > chunk_size:
            from .ops import concatenate
            parts = []
            for s in range(0, size, chunk_size):
                leaves = [x if d is None else _slice(x, d, s, min(s + chunk_size, size)) for x, d in zip(flat, dims)]
                parts.append(_call(func, kwargs, min(chunk_size, size - s), randomness, out_dims, rebuild, leaves,
                                   dims))
            outs = [_flatten(p)[0] for p in parts]
            _, ospec = _flatten(parts[0])
            odl = _out_dims(out_dims, parts[0])
            return _unflatten([outs[0][i] if odl[i] is None else concatenate([o[i] for o in outs], axis=odl[i])
                               for i in range(len(outs[0]))], ospec)
        return _call(func, kwargs, size, randomness, out_dims, rebuild, flat, dims)

    wrapped.__name__ = f"vmap({getattr(func, '__name__', 'f')})"
    wrapped.__wrapped__ = func
    return wrapped


def _slice(x, d, start, stop):
    return x[(slice(None),) * d + (slice(start, stop),)]


def _select(x, d, i):
    return x[(slice(None),) * d + (i,)]


def _out_dims(out_dims, out):
    leaves, spec = _flatten(out)
    if out_dims is None or isinstance(out_dims, int):
        return [out_dims] * len(leaves)
    dl, dspec = _flatten(out_dims)
    if len(dl) == 1 and len(leaves) != 1:
        return dl * len(leaves)
    if dspec != spec and not (isinstance(out, (tuple, list)) and isinstance(out_dims, (tuple, list))
                              and len(dl) == len(leaves)):
        raise ValueError(f"vmap: out_dims {out_dims!r} does not match the structure of the output")
    return dl


def _call(func, kwargs, size, randomness, out_dims, rebuild, flat, dims):
    """One vectorized call of ``func``: wrap the batched leaves at a new level, run, unwrap the outputs."""
    level = _tm._VMAP + 1
    wrapped = []
    for x, d in zip(flat, dims):
        if d is None:
            wrapped.append(x)
        else:
            inner = x if d == 0 else _moveaxis(x, d, 0)
            wrapped.append(_batched(inner, level))
    args = rebuild(wrapped)
    prev_rand = _RANDOM[0]
    _tm._VMAP = level
    _RANDOM[0] = randomness
    try:
        out = func(*args, **kwargs)
        leaves, spec = _flatten(out)
        ods = _out_dims(out_dims, out)
        if len(ods) != len(leaves):
            raise ValueError(f"vmap: out_dims {out_dims!r} does not match the {len(leaves)} outputs")
    except _NoRule as e:
        _tm._VMAP = level - 1
        _RANDOM[0] = prev_rand
        if _STRICT[0]:
            raise
        if e.op not in _warned:
            _warned.add(e.op)
            warnings.warn(f"vmap: there is no batching rule for {e.op}; vmap falls back to a Python loop over "
                          f"the batch for this function (correct, slow)", RuntimeWarning, stacklevel=3)
        return _loop(func, flat, dims, kwargs, size, out_dims, rebuild)
    finally:
        _tm._VMAP = level - 1
        _RANDOM[0] = prev_rand
    res = []
    for x, od in zip(leaves, ods):
        if od is None:
            if type(x) is BatchedTensor and x._level == level:
                raise ValueError("vmap: out_dims is None for an output that depends on a batched input")
            res.append(x)
            continue
        if type(x) is BatchedTensor and x._level == level:
            inner = x._inner
        else:
            if not isinstance(x, Tensor):
                if isinstance(x, (int, float, bool, np.ndarray, np.generic)):
                    x = _tm._wrap(np.asarray(x))
                else:
                    raise ValueError(f"vmap: the function must return tensors, got {type(x).__name__}")
            inner = _expand(x, size)
        nd = inner.ndim
        od = _norm_dim(od, nd, "vmap out_dims")
        res.append(inner if od == 0 else _moveaxis(inner, 0, od))
    return _unflatten(res, spec)


def _moveaxis(x, s, d):
    from .ops import moveaxis
    return moveaxis(x, s, d)


def _expand(x, size):
    """An unbatched output repeated along a new front axis."""
    from .ops import broadcast_to, expand_dims
    if type(x) is BatchedTensor:  # batched at an outer level only
        from .ops import zeros
        return expand_dims(x, 0) + zeros((size,) + (1,) * x.ndim, dtype=x.dtype)
    return broadcast_to(expand_dims(x, 0), (size,) + x.shape)


def _loop(func, flat, dims, kwargs, size, out_dims, rebuild):
    """The fallback: ``func`` per sample, outputs stacked."""
    from .ops import stack
    if size == 0:
        raise RuntimeError("vmap: an op without a batching rule cannot run on a batch of size 0")
    outs = []
    for i in range(size):
        leaves = [x if d is None else _select(x, d, i) for x, d in zip(flat, dims)]
        outs.append(func(*rebuild(leaves), **kwargs))
    leaves0, spec = _flatten(outs[0])
    ods = _out_dims(out_dims, outs[0])
    flats = [_flatten(o)[0] for o in outs]
    res = []
    for j, od in enumerate(ods):
        if od is None:
            res.append(leaves0[j])
            continue
        parts = [f[j] if isinstance(f[j], Tensor) else _tm._wrap(np.asarray(f[j])) for f in flats]
        res.append(stack(parts, axis=od))
    return _unflatten(res, spec)


_STRICT = [False]  # set by jacrev/jacfwd's vectorized attempt: a missing rule raises instead of looping


def try_vectorized(run):
    """``run()`` with missing batching rules raising: its result, or None when some op has no rule or the
    batched run failed (the caller then keeps its loop)."""
    prev = _STRICT[0]
    _STRICT[0] = True
    try:
        return run()
    except Exception:  # _NoRule, or a rule's shortcoming: the loop computes it (and raises the user's own errors)
        return None
    finally:
        _STRICT[0] = prev


# --------------------------------------------------------------------- randomness
_RANDOM = ["error"]


def check_random(where="a random op"):
    """Called by npgrad's random sources: under ``vmap(randomness='error')`` random calls raise."""
    if _tm._VMAP and _RANDOM[0] == "error":
        raise RuntimeError(f"vmap: called {where} inside vmap with randomness='error'. Pass randomness='same' "
                           f"to vmap to allow it (one draw shared by every sample)")
    if _tm._VMAP and _RANDOM[0] == "different":
        raise NotImplementedError(f"vmap: randomness='different' is not supported yet ({where}); use "
                                  f"randomness='same' (one draw shared by every sample) or a loop")


# ------------------------------------------------------- transforms inside vmap (vmap over grad, jacrev, ...)
def batched_level(args):
    """The innermost vmap level at which a leaf of ``args`` is batched (0 if none)."""
    lv = 0
    for x in _flatten(list(args))[0]:
        if type(x) is BatchedTensor and x._level > lv:
            lv = x._level
    return lv


def _size_at(args, level):
    for x in _flatten(list(args))[0]:
        if type(x) is BatchedTensor and x._level == level:
            return x._inner.shape[0]


def _lift_args(args, nums, level, size):
    """The inner arguments of a transform run under vmap: batched leaves unwrapped (batch in front),
    differentiated unbatched tensors repeated along the batch (so each sample gets its own gradient)."""
    inner_args, flags = [], []
    for i, a in enumerate(args):
        leaves, spec = _flatten(a)
        il, fl = [], []
        for x in leaves:
            if type(x) is BatchedTensor and x._level == level:
                il.append(x._inner)
                fl.append(True)
            elif i in nums and (isinstance(x, (Tensor, np.ndarray)) or isinstance(x, float)):
                x = x if isinstance(x, Tensor) else _tm._wrap(np.asarray(x, dtype=np.result_type(x, np.float32)
                                                                         if isinstance(x, float) else None))
                il.append(_expand(x, size) + 0 if type(x) is BatchedTensor else _copy_expand(x, size))
                fl.append(True)
            else:
                il.append(x)
                fl.append(False)
        inner_args.append(_unflatten(il, spec))
        flags.append(fl)
    return inner_args, flags


def _copy_expand(x, size):
    """``x`` as every sample's own copy: a stride-0 broadcast along a new front axis (no memory). Each sample
    still gets its own gradient (the differentiated leaf is this (size, ...) tensor); the layers' batching
    rules recognise the broadcast as a weight shared by the batch and run one big op (npgrad/_vmap_nn.py)."""
    from .ops import broadcast_to, expand_dims
    return broadcast_to(expand_dims(x, 0), (size,) + x.shape)


def _rewrap(inner_args, flags, level):
    out = []
    for a, fl in zip(inner_args, flags):
        leaves, spec = _flatten(a)
        out.append(_unflatten([_batched(x, level) if f else x for x, f in zip(leaves, fl)], spec))
    return out


def _unwrap_out(out, level, size):
    def conv(x):
        if type(x) is BatchedTensor and x._level == level:
            return x._inner
        if isinstance(x, Tensor):
            return _expand(x, size)
        return x
    leaves, spec = _flatten(out)
    return _unflatten([conv(x) for x in leaves], spec)


def _wrap_out(out, level):
    leaves, spec = _flatten(out)
    return _unflatten([_batched(x, level) if isinstance(x, Tensor) else x for x in leaves], spec)


def lifted(kind, f, argnums, has_aux, args, kwargs, level):
    """``grad_and_value`` / ``jacrev`` / ``jacfwd`` of ``f`` at ``args`` batched at vmap ``level``, as one
    batched transform: samples are independent inside vmap, so the gradient of the sum of the per-sample
    outputs with respect to the batched inputs is every sample's own gradient."""
    from . import func as fn
    from .ops import sum as npsum
    size = _size_at(args, level)
    single, nums = fn._normalize_argnums(argnums, len(args), kind)
    inner_args, flags = _lift_args(args, nums, level, size)
    out_ndims = []

    def g(*ia):
        res = f(*_rewrap(ia, flags, level), **kwargs)
        out, aux = (res if has_aux else (res, None))
        if kind == "grad":
            if not isinstance(out, Tensor) or out.size != 1:
                raise RuntimeError(f"grad: f must return a one-element tensor (a scalar loss), got shape "
                                   f"{getattr(out, 'shape', None)}; use vjp or jacrev for other outputs")
            o = _unwrap_out(out, level, size)
            return npsum(o), (o, _unwrap_out(aux, level, size))
        o = _unwrap_out(out, level, size)
        out_ndims.append([t.ndim - 1 if isinstance(t, Tensor) else 0 for t in _flatten(o)[0]])
        summed = fn._tree_map(lambda t: npsum(t, axis=0) if isinstance(t, Tensor) else t, o)
        return summed, _unwrap_out(aux, level, size)

    if kind == "grad":
        grads, (_, (value, aux)) = fn.grad_and_value(g, argnums, has_aux=True)(*inner_args)
        grads = _wrap_out(grads, level)
        value = _batched(value, level) if isinstance(value, Tensor) else value
        return grads, ((value, _wrap_out(aux, level)) if has_aux else value)
    transform = fn.jacrev if kind == "jacrev" else fn.jacfwd
    jac, aux = transform(g, argnums, has_aux=True)(*inner_args)
    # each Jacobian leaf has shape out.shape + (B,) + in.shape (per-sample shapes): the batch axis goes in front
    ond = out_ndims[-1]
    n_in = sum(len(_flatten(args[i])[0]) for i in nums)
    leaves, spec = _flatten(jac)
    fixed = []
    for j, x in enumerate(leaves):
        x = x if isinstance(x, Tensor) else _tm._wrap(np.asarray(x))
        d = ond[j // n_in] if n_in else 0
        fixed.append(_batched(x if d == 0 else _moveaxis(x, d, 0), level))
    jac = _unflatten(fixed, spec)
    return (jac, _wrap_out(aux, level)) if has_aux else jac


from . import _vmap_nn  # noqa: E402  (the nn layers' rules; it imports this module)
