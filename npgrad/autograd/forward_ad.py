"""Forward-mode automatic differentiation, as ``torch.autograd.forward_ad``.

>>> import npgrad.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(primal, tangent)
...     y = npg.sin(x) * 2
...     value, jvp = fwAD.unpack_dual(y)       # jvp = 2 cos(primal) * tangent

How it works. A dual tensor carries one tangent per dual level in ``_extra["fw"]`` (a dict level -> tangent
Tensor). Every op creates its output through ``_make`` / ``_record`` (npgrad/tensor.py); while a dual level
is active (the module-level counter ``tensor._FW`` is non-zero: the only cost otherwise is that one check),
they call :func:`propagate`, which computes the output's tangent with the op's **JVP rule**, declared beside
its VJP (the ``jvp`` column of the ``unary`` / ``binary`` tables in npgrad/ops/elementwise.py, the ``jvps=``
argument of ``_make`` elsewhere). A rule is either

* a tuple with one linear map per input, ``jvp_i(t_i, y, *inputs)`` (the tangent of input ``i``, the output,
  the op's inputs), summed over the inputs that have a tangent; or
* one callable ``jvp(tangents, y, *inputs)`` taking the list of input tangents (None where there is none).

Rules are written with NumPy calls on Tensors, which dispatch to npgrad ops: a tangent is itself a Tensor,
recorded in the reverse-mode graph when grad mode is on (reverse-over-forward: ``grad`` of a ``jvp``), and
the reverse pass's own VJPs propagate tangents when run with ``create_graph`` (forward-over-reverse:
``jacfwd(jacrev(f))``). The output tangent is broadcast to the output's shape and cast to its dtype centrally,
so no rule mentions broadcasting. Integer and bool outputs get no tangent.

Nested levels (``jvp`` of ``jvp``, ``jacfwd(jacfwd(f))``) never confuse perturbations: levels have increasing
ids, and while the rule for level ``L`` runs, only levels below ``L`` are visible to the ops it calls (as
functorch's layer stack does). Levels are computed from the outermost inwards, so an inner tangent sees the
outer tangents of the values it reads.

An op without a JVP rule falls back to the transpose of its VJP: the VJP ``g -> J^T g`` is linear and
differentiable, so ``J t`` is its gradient with respect to ``g`` along ``t`` (one small backward pass,
with a one-time warning naming the op). ``FALLBACK_OPS`` records the ops that used it.
"""
import collections
import importlib
import itertools
import threading
import warnings

import numpy as np

from ..tensor import Tensor, _leaf, _make, _wrap
from .complex_rules import complex_vjps
from .engine import cast_grad
from .grad_mode import _inference, enable_grad

_tensor_mod = importlib.import_module("..tensor", __package__)  # the module (npgrad.tensor is also a function)

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]


class _Levels(threading.local):
    top = 0        # the highest level id ops may see (0: none); lowered while a rule runs
    active = ()    # the ids of this thread's entered levels, innermost last


_tls = _Levels()
_ids = itertools.count(1)
_count_lock = threading.Lock()
FALLBACK_OPS = set()   # ops whose tangent came from the transposed VJP (see module docstring)

UnpackedDualTensor = collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor.__doc__ = "The result of :func:`unpack_dual`: ``primal`` and ``tangent`` (None when there is none)."


# --------------------------------------------------------------------------- levels
def enter_dual_level():
    """Enter a new (nested) dual level and return its id. Prefer ``with dual_level():``."""
    level = next(_ids)
    _tls.active = _tls.active + (level,)
    _tls.top = level
    with _count_lock:
        _tensor_mod._FW += 1
    return level


def exit_dual_level(*, level=None):
    """Exit the innermost dual level (``level``, if given, must be it). Tangents of that level are dropped:
    ``unpack_dual`` no longer sees them."""
    active = _tls.active
    if not active:
        raise RuntimeError("exit_dual_level: no dual level is active in this thread")
    if level is not None and level != active[-1]:
        raise RuntimeError(f"exit_dual_level: trying to exit level {level}, but the innermost active level is "
                           f"{active[-1]}; levels must be exited innermost first")
    _tls.active = active[:-1]
    _tls.top = active[-2] if len(active) > 1 else 0
    with _count_lock:
        _tensor_mod._FW -= 1


class dual_level:
    """Context manager for a dual level: ``with dual_level() as level:``. Levels nest (each ``func.jvp`` /
    ``func.jacfwd`` enters its own), and tangents of different levels never mix."""

    __slots__ = ("level",)

    def __enter__(self):
        self.level = enter_dual_level()
        return self.level

    def __exit__(self, *exc):
        exit_dual_level(level=self.level)
        return False


def _current(level, where):
    if level is not None:
        if level not in _tls.active:
            raise RuntimeError(f"{where}: level {level} is not an active dual level")
        return level
    if not _tls.active:
        return None
    return _tls.active[-1]


# --------------------------------------------------------------------------- tangents on tensors
def tangent_at(t, level):
    """The tangent of ``t`` at ``level`` (an active level), or None."""
    ex = t._extra
    if ex is None:
        return None
    fw = ex.get("fw")
    return None if fw is None else fw.get(level)


def set_tangent(t, level, tangent):
    ex = t._extra
    if ex is None:
        t._extra = {"fw": {level: tangent}}
        return
    fw = ex.get("fw")
    ex["fw"] = {level: tangent} if fw is None else {**fw, level: tangent}  # copy: a dict may be shared


def visible_levels(t):
    """The levels at which ``t`` has a tangent that ops currently see (ascending)."""
    ex = t._extra if isinstance(t, Tensor) else None
    fw = None if ex is None else ex.get("fw")
    if not fw:
        return ()
    top, active = _tls.top, _tls.active
    return sorted(L for L in fw if L <= top and L in active)


def is_dual(t):
    """Whether ``t`` has a tangent at a level ops currently see."""
    return bool(_tensor_mod._FW) and bool(visible_levels(t))


def copy_tangents(dst, src):
    """Give ``dst`` the tangents of ``src`` (the live ones), replacing its own."""
    ex = src._extra
    fw = None if ex is None else ex.get("fw")
    if fw:
        active = _tls.active
        fw = {L: t for L, t in fw.items() if L in active}
    if fw:
        if dst._extra is None:
            dst._extra = {"fw": fw}
        else:
            dst._extra["fw"] = fw
    elif dst._extra is not None:
        dst._extra.pop("fw", None)


# --------------------------------------------------------------------------- the public API
def make_dual(tensor, tangent, *, level=None):
    """A tensor with ``tensor``'s values (sharing its memory and its reverse-mode graph) and ``tangent`` as its
    tangent at ``level`` (the innermost active level by default). ``tangent`` must have ``tensor``'s shape; it
    is cast to its dtype. Tangents the tensor has at other levels are kept."""
    lvl = _current(level, "make_dual")
    if lvl is None:
        raise RuntimeError("make_dual: trying to create a dual tensor for forward AD but no dual level is active; "
                           "enter one first: `with npg.autograd.forward_ad.dual_level():`")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual: expected a Tensor as the primal, got {type(tensor).__name__}")
    if tensor.data.dtype.kind not in "fc":
        raise ValueError(f"make_dual: expected the primal to be floating point or complex, but got {tensor.dtype}")
    tan = tangent if isinstance(tangent, Tensor) else _wrap(np.asarray(tangent))
    if tan.shape != tensor.shape:
        raise ValueError(f"make_dual: the tangent has shape {tan.shape} but the primal has shape {tensor.shape}; "
                         f"they must be the same")
    if tan.dtype != tensor.dtype:
        if tan.dtype.kind not in "fiubc":
            raise TypeError(f"make_dual: the tangent must be numeric, not {tan.dtype}")
        if tan.dtype.kind == "c" and tensor.dtype.kind != "c":
            raise TypeError(f"make_dual: a complex tangent ({tan.dtype}) for a real primal ({tensor.dtype})")
        tan = tan.astype(tensor.dtype)
    out = _make(tensor.data, "make_dual", (tensor,), (tensor.data,), _IDENTITY, _IDENTITY)
    set_tangent(out, lvl, tan)
    _alias(out, tensor)
    return out


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at ``level`` (the innermost active level by default): the primal
    shares memory and reverse-mode graph with ``tensor`` but has no tangent at that level; the tangent is
    None if ``tensor`` has none (or the level is not active)."""
    if level is not None and level not in _tls.active:  # an exited level: its tangents are gone
        return UnpackedDualTensor(tensor, None)
    lvl = _current(level, "unpack_dual")
    if lvl is None or not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    tan = tangent_at(tensor, lvl)
    if tan is None:
        return UnpackedDualTensor(tensor, None)
    primal = _make(tensor.data, "unpack_dual", (tensor,), (tensor.data,), _IDENTITY, _IDENTITY)
    fw = primal._extra["fw"]
    primal._extra["fw"] = {L: t for L, t in fw.items() if L != lvl}
    _alias(primal, tensor)
    return UnpackedDualTensor(primal, tan)


def _alias(out, src):
    """Record that ``out`` (made by make_dual / unpack_dual) shares ``src``'s memory: PyTorch's are views of
    their input, and an in-place write into them with grad mode on is checked against ``src``
    (npgrad/ops/inplace.py ``check_leaf``)."""
    root = src._extra.get("dual_alias") if src._extra else None
    out._extra["dual_alias"] = src if root is None else root


def check_alias_write(x, op):
    """Refuse a write (with grad mode on) into ``x``, an output of make_dual / unpack_dual or the base of the view
    written, while the input it shares memory with requires grad: that input's recorded value would change under
    its graph (a silent wrong gradient). PyTorch refuses it for a leaf, as a write into a view of one."""
    src = x._extra.get("dual_alias") if x._extra else None
    if src is None or not src._requires_grad:
        return
    view = src._extra.get("view") if src._extra else None
    root = src if view is None else view[0]
    what = "a leaf tensor" if root._vjps is None else "a tensor"
    raise RuntimeError(f"{op}: the tensor written shares its memory with the input of make_dual / unpack_dual, "
                       f"{what} that requires grad (shape {src.shape}, {src.dtype}); an in-place operation on it "
                       f"would change that input's recorded value. Write into a copy (make_dual(x.clone(), t)), "
                       f"or do it under npg.no_grad()")


def _identity(g, y, x):
    return g


_IDENTITY = (_identity,)


# --------------------------------------------------------------------------- propagation
def propagate(out, op, parents, vjps, jvps):
    """Give ``out`` (just made by ``op`` from ``parents``) its tangent at every level some parent has one.
    Called by ``_make`` / ``_record`` while a dual level is active."""
    top = _tls.top
    if not top or out.data.dtype.kind not in "fc" or _inference.enabled:  # (inference_mode: no tangents, as torch)
        return out
    if out.data.dtype.kind == "c" and vjps is not None:
        complex_vjps(op, vjps)  # (raises for an op with no rule for complex values)
    active = _tls.active
    levels = None
    for p in parents:
        if isinstance(p, Tensor):
            ex = p._extra
            if ex is not None:
                fw = ex.get("fw")
                if fw:
                    for L in fw:
                        if L <= top and L in active:
                            if levels is None:
                                levels = {L}
                            else:
                                levels.add(L)
    if levels is None:
        return out
    for L in sorted(levels):  # outermost first: an inner rule reads values that carry their outer tangents
        tans = [tangent_at(p, L) if isinstance(p, Tensor) else None for p in parents]
        _tls.top = L - 1
        try:
            t = _apply_rule(op, vjps, jvps, tans, out, parents)
        finally:
            _tls.top = top
        if t is not None:
            set_tangent(out, L, _fit(t, out))
    return out


def _apply_rule(op, vjps, jvps, tans, out, parents):
    if jvps is None:
        return _fallback(op, vjps, tans, out, parents, range(len(parents)))
    if not isinstance(jvps, tuple):
        return jvps(tans, out, *parents)
    total = None
    missing = []
    for i, (jvp, t) in enumerate(zip(jvps, tans)):
        if t is None:
            continue
        if jvp is None:
            if vjps is not None and i < len(vjps) and vjps[i] is not None:
                missing.append(i)   # differentiable, but no rule: the transposed VJP
            continue                # an input that is not differentiated (an index, a condition)
        r = jvp(t, out, *parents)
        if r is not None:
            total = r if total is None else total + r
    if missing:
        r = _fallback(op, vjps, tans, out, parents, missing)
        if r is not None:
            total = r if total is None else total + r
    return total


class below:
    """Context manager: only levels below ``level`` are visible (while computing ``level``'s tangents)."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        self.prev = _tls.top
        _tls.top = self.level - 1

    def __exit__(self, *exc):
        _tls.top = self.prev
        return False


def transposed(op, vjps, tans, out, parents):
    """``J t`` for ``op`` from its VJPs alone (the fallback, with its one-time warning)."""
    return _fallback(op, vjps, tans, out, parents, range(len(parents)))


def fit(t, out):
    """A tangent as a Tensor of ``out``'s shape and dtype."""
    return _fit(t, out)


def _fit(t, out):
    """A rule's result as a Tensor of ``out``'s shape and dtype."""
    if not isinstance(t, Tensor):
        t = _wrap(np.asarray(t))
    if t.dtype != out.dtype:
        t = cast_grad(t, out.dtype)
    if t.shape != out.shape:
        try:
            t = np.broadcast_to(t, out.shape)
        except ValueError:
            raise RuntimeError(f"forward AD: the JVP rule gave a tangent of shape {t.shape} for an output of "
                               f"shape {out.shape}") from None
    return t


# --------------------------------------------------------------------------- the fallback
def _vmap_batched(t):
    return _tensor_mod._VMAP and isinstance(t, Tensor) and type(t).__name__ == "BatchedTensor"


def _fallback(op, vjps, tans, out, parents, which):
    """``J t`` as the gradient of ``g -> <VJP(g), t>`` (the VJP is linear in ``g``), for the inputs ``which``.

    The small backward pass must not walk the graph the op's inputs belong to (a backward pass may be running
    on it): it runs on stand-ins of the inputs, the output and the tangent, which are leaves during that pass
    and become identity nodes of the tensors they stand for afterwards, so the tangent stays differentiable
    in reverse mode with respect to all of them."""
    if op not in FALLBACK_OPS:
        FALLBACK_OPS.add(op)
        warnings.warn(f"forward AD: op '{op}' has no JVP rule; its tangent is computed from the transpose of its "
                      f"VJP (a small backward pass per call). Declare a JVP beside its VJP to make it fast.",
                      UserWarning, stacklevel=4)
    from .engine import grad, sum_to
    if out.dtype.kind == "c" or any(isinstance(p, Tensor) and p.dtype.kind == "c" for p in parents):
        raise NotImplementedError(f"forward AD: op '{op}' has no JVP rule for complex values")
    need = any(isinstance(v, Tensor) and (v._requires_grad or visible_levels(v)) for v in (*tans, out, *parents))
    linked = []

    def stand_in(v):
        if not isinstance(v, Tensor):
            return v
        s = _leaf(v.data, need and v._requires_grad)
        if s._requires_grad:
            s._seq = _tensor_mod._next_seq()  # older than every node of the small pass
            linked.append((s, v))
        copy_tangents(s, v)
        return s

    s_out = stand_in(out)
    s_parents = tuple(stand_in(p) for p in parents)
    total = None
    for i in which:
        t = tans[i]
        if t is None:
            continue
        vjp = None if vjps is None or i >= len(vjps) else vjps[i]
        if vjp is None:
            raise RuntimeError(f"forward AD: op '{op}' has neither a JVP rule nor a VJP for its input {i}")
        p = parents[i]
        g = _leaf(np.zeros(out.shape, out.dtype), True)
        with enable_grad():
            gi = vjp(g, s_out, *s_parents)
            if isinstance(gi, Tensor) and gi._requires_grad:
                if gi.shape != p.shape:
                    gi = sum_to(gi, p.shape)
                if gi.dtype != p.dtype:
                    gi = gi.astype(p.dtype)
                # a tangent batched by vmap (jacfwd / hessian's basis) is the cotangent as it is: the small pass
                # runs the VJPs' own batching rules on it (a stand-in would read its values: a loop)
                seed = t if _vmap_batched(t) else stand_in(t)
                r, = grad([gi], [g], grad_outputs=[seed], create_graph=need, allow_unused=True)
            else:
                r = None  # does not depend on g: a zero Jacobian
        g._requires_grad = False  # the small pass's graph may reference g: nothing differentiates through it
        if r is not None:
            total = r if total is None else total + r
    for s, v in linked:  # the stand-ins become identity nodes of what they stood for
        s._parents, s._saved, s._vjps, s._op, s._pending = (v,), (v.data,), _IDENTITY, "jvp_fallback_input", None
    return total


_tensor_mod._propagate = propagate
