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
levels dispatch again. The other families' rules are in ``_vmap_rules.py`` (and the modules it lists), the nn
layers' in ``_vmap_nn.py`` / ``_vmap_rnn.py``, transforms inside vmap in ``_vmap_lift.py`` /
``_vmap_transforms.py``, the randomness modes in ``_vmap_state.py``. An op declared without a rule runs per
sample, that op only, with a one-time warning naming it (``_vmap_rules.loop_rule``). Code that reads
``BatchedTensor.data`` directly raises :class:`_NoRule`: vmap then warns once, naming the op, and runs the whole
``func`` as a Python loop over the batch (correct, slow; the last resort). Data-dependent Python control flow
(``bool``, ``float``, ``item``) on a batched value raises, as in torch.
"""
import importlib
import math
import sys
import warnings

import numpy as np

_tm = importlib.import_module(".tensor", __package__)  # the module (npgrad.tensor is also a function)
from . import _vmap_state
from ._pytree import _broadcast_prefix, _flatten, _spec_str, _unflatten
from .tensor import Tensor, _new

__all__ = ["vmap"]


class _NoRule(Exception):
    """An op without a batching rule read a BatchedTensor's data."""

    def __init__(self, op):
        super().__init__(f"no batching rule for {op}")
        self.op = op


_HELPERS = {"data_of", "as_input", "const", "_to_array", "_array", "<lambda>", "<genexpr>", "<listcomp>", "_value"}


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

    def __iter__(self):  # the per-sample rows (list(t), stack(t), multi_dot(t)...), each still batched
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

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
    t._requires_grad = False
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


def _ndim(x):
    return x.ndim if isinstance(x, Tensor) else np.ndim(x)


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


def _basic(k):
    return k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))


from ._vmap_basic import RULES  # noqa: E402  (the core families' rules; they use the helpers above)


def _deep_level(args, kwargs):
    """The innermost level batched anywhere in ``args``/``kwargs`` (index tuples, lists of tensors...): the
    leaves _flatten would give, walked without building its spec (this runs on every op under vmap)."""
    lv = 0
    stack = list(args)
    if kwargs:
        stack.extend(kwargs.values())
    while stack:
        a = stack.pop()
        if type(a) is BatchedTensor:
            if a._level > lv:
                lv = a._level
        elif isinstance(a, (list, tuple)):
            stack.extend(a)
        elif isinstance(a, dict):
            stack.extend(a.values())
    return lv


def _dispatch(kind, op, args, kwargs):
    """Run ``op(*args, **kwargs)`` by its family's batching rule if an argument is batched; else
    ``NotImplemented`` (the op runs as usual). A kind without a rule, or a rule that cannot batch this call
    (it returns ``NotImplemented``), runs the op per sample (``_vmap_rules.loop_rule``, with a warning)."""
    level = _level_of(args)   # the innermost level anywhere (an index tuple's tensor may be inner to x's level)
    level = _deep_level(args, kwargs) if kwargs or any(isinstance(a, (tuple, list, dict)) for a in args) else level
    if not level:
        return NotImplemented
    kwargs = kwargs or {}
    rule = RULES.get(kind)
    out = NotImplemented if rule is None else rule(op, level, args, kwargs)
    if out is NotImplemented:
        return _vmap_rules.loop_rule(op, level, args, kwargs)
    return out


_tm._vmap_call = _dispatch
RULES["fft"] = importlib.import_module(".func_vmap_fft", __package__).fft_rule  # npg.fft (own file)


# ------------------------------------------------------------------------ vmap
_warned = set()


def _broadcast_dims(dims, arg, where):
    """Leaves of ``dims`` matched to the leaves of ``arg``: ``dims`` is a prefix of ``arg``'s structure, an int
    or None standing for every leaf under it (as torch.func.vmap)."""
    leaves, spec = _flatten(arg)
    dl = _broadcast_prefix(dims, arg)
    if dl is None:
        raise ValueError(f"{where}: in_dims {dims!r} does not match the structure of the input "
                         f"{_spec_str(spec)} (it must be an int, None, or a prefix of that structure)")
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
    ``randomness``: a random op inside raises with 'error'; 'different' gives every sample its own draw,
    'same' one draw shared by all samples (``npgrad/_vmap_state.py``).

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
            replay = _vmap_state.replayer(randomness)  # 'same': every chunk draws what the first one drew
            for s in range(0, size, chunk_size):
                replay()
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
    """The out_dims of each output leaf: ``out_dims`` is a prefix of the output's structure (as torch.func.vmap,
    which also takes a one-element tuple for a single output)."""
    leaves, spec = _flatten(out)
    if spec is None and isinstance(out_dims, (tuple, list)) and len(out_dims) == 1:
        out_dims = out_dims[0]
    dl = _broadcast_prefix(out_dims, out)
    if dl is None:
        raise ValueError(f"vmap: out_dims {out_dims!r} does not match the structure of the output "
                         f"{_spec_str(spec)} (it must be an int, None, or a prefix of that structure)")
    return dl


def _call(func, kwargs, size, randomness, out_dims, rebuild, flat, dims):
    """One vectorized call of ``func``: wrap the batched leaves at a new level, run, unwrap the outputs."""
    level = _vmap_state.depth() + 1
    wrapped = []
    for x, d in zip(flat, dims):
        if d is None:
            wrapped.append(x)
        else:
            inner = x if d == 0 else _moveaxis(x, d, 0)
            wrapped.append(_batched(inner, level))
    args = rebuild(wrapped)
    _vmap_state.enter_call()   # (this thread's level; _tm._VMAP counts every thread's open calls)
    open_ = True
    try:
        with _vmap_state.level(level, size, randomness):
            out = func(*args, **kwargs)
            leaves, spec = _flatten(out)
            ods = _out_dims(out_dims, out)
        if len(ods) != len(leaves):
            raise ValueError(f"vmap: out_dims {out_dims!r} does not match the {len(leaves)} outputs")
    except _NoRule as e:
        _vmap_state.exit_call()
        open_ = False
        if _STRICT[0]:
            raise
        if e.op not in _warned:
            _warned.add(e.op)
            warnings.warn(f"vmap: {e.op} read the values of a batched tensor directly (it has no batching rule, "
                          f"not even a per-op loop); vmap falls back to running the WHOLE function as a Python "
                          f"loop over the batch (correct, slow; side effects run once per sample)",
                          _vmap_rules.VmapFallbackWarning, stacklevel=3)
        return _loop(func, flat, dims, kwargs, size, out_dims, rebuild, randomness)
    finally:
        if open_:
            _vmap_state.exit_call()
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
        from .creation import zeros
        return expand_dims(x, 0) + zeros((size,) + (1,) * x.ndim, dtype=x.dtype)
    return broadcast_to(expand_dims(x, 0), (size,) + x.shape)


def _loop(func, flat, dims, kwargs, size, out_dims, rebuild, randomness="error"):
    """The fallback: ``func`` per sample, outputs stacked (under ``randomness='same'`` every sample replays the
    generator's state: the same draws)."""
    from .ops import stack
    if size == 0:
        raise RuntimeError("vmap: an op without a batching rule cannot run on a batch of size 0")
    outs = []
    replay = _vmap_state.replayer(randomness)
    with _vmap_state.level(_vmap_state.depth() + 1, size, randomness, looping=True):  # 'error' still raises
        for i in range(size):
            replay()
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


_STRICT = _vmap_state._ThreadFlag()  # (per thread) set by jacrev/jacfwd's vectorized attempt: a missing rule raises instead of looping


def try_vectorized(run):
    """``run()`` with missing batching rules raising: its result, or None when some op has no rule or the
    batched run failed (the caller then keeps its loop)."""
    prev = _STRICT[0]
    _STRICT[0] = True
    try:
        return run()
    except _NoRule as e:   # an op without a rule: the loop computes it, with the one-time warning naming the op
        missing = e.op
    except Exception:  # a rule's shortcoming: the loop computes it (and raises the user's own errors)
        return None
    finally:
        _STRICT[0] = prev
    if ("jacobian", missing) not in _warned:
        _warned.add(("jacobian", missing))
        from ._vmap_rules import VmapFallbackWarning
        warnings.warn(f"vmap: there is no batching rule for {missing}; this Jacobian (jacrev / jacfwd / hessian) "
                      f"is computed one basis vector at a time, a Python loop (correct, slow)", VmapFallbackWarning,
                      stacklevel=3)
    return None


# --------------------------------------------------------------------- randomness
def check_random(where="a random op"):
    """Called by npgrad's random sources: under ``vmap(randomness='error')`` random calls raise (see
    ``_vmap_state.py`` for 'same' and 'different')."""
    _vmap_state.check(where)


# ------------------------------------------------------- transforms inside vmap (vmap over grad, jacrev, ...)
from ._vmap_lift import (_copy_expand, _lift_args, _rewrap, _size_at, _unwrap_out, _wrap_out,  # noqa: E402,F401
                         batched_level, lifted)

from . import _vmap_nn  # noqa: E402  (the nn layers' rules; it imports this module)
from . import _vmap_rules  # noqa: E402  (the rules of the other op families; they import this module)

RULES.update(_vmap_rules.RULES)
