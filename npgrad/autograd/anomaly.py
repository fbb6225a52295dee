"""Anomaly detection: find the op that produced a NaN or an infinity.

>>> with npg.autograd.detect_anomaly():
...     loss = model(x)            # an op whose result is NaN/inf from finite inputs raises here
...     loss.backward()            # a VJP returning NaN/inf raises here, naming the op and where it was created

How it costs nothing when off: entering the mode swaps the function that records graph nodes
(``_record``, in every loaded npgrad module) and the engine's ``run_backward`` for checking versions,
and leaving it swaps them back. While on, each recorded op keeps the user's stack (frames outside the
npgrad package) and its VJPs are wrapped to check their results; ops recorded before the mode was
entered are checked too when backward runs in the mode, but without a creation stack. The mode is
process-wide (as in PyTorch) and can be nested. Only ops that record a graph are checked in forward
(ops on tensors that require grad).

A backward error says where the non-finite values came from: the VJP itself, its incoming gradient, or
an input that already held them in forward (traced back to the leaf, constant or op that made them: an
inf weight is blamed, not the op using it). An op recorded by a backward pass with ``create_graph=True``
is described by the op it differentiates, with that op's creation stack (the user's line, not the line
calling ``grad()``).
"""
import functools
import math
import os
import sys
import threading
import traceback
import weakref

import numpy as np

from .._freeing import Freed
from ..tensor import Tensor
from .record_layers import Packed, set_layer
from .versions import inputs_as_of

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "AnomalyError"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_lock = threading.RLock()
_depth = 0
_options = {"check_forward": True, "check_nan": True}
_patched = []          # (module, name, original)
_in_backward = threading.local()


class AnomalyError(RuntimeError):
    """A NaN or infinity appeared in forward or backward while anomaly detection was on."""


def is_anomaly_enabled():
    """True inside :func:`detect_anomaly` / after ``set_detect_anomaly(True)``."""
    return _depth > 0


def is_anomaly_check_nan_enabled():
    """True while anomaly detection is on and checks for NaN / inf (``check_nan``, PyTorch's name)."""
    return _depth > 0 and _options["check_nan"]


# ------------------------------------------------------------------------------ stacks
def _user_stack(limit=8):
    """The caller's frames outside the npgrad package, outermost first (lines read lazily)."""
    frames = []
    f = sys._getframe(2)
    while f is not None and len(frames) < 64:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG_DIR) and "importlib._bootstrap" not in fn:
            frames.append((fn, f.f_lineno, f.f_code.co_name))
        f = f.f_back
    frames = frames[:limit]
    frames.reverse()
    return frames


def format_stack(frames):
    """The creation stack kept for an op, formatted like a traceback."""
    if not frames:
        return "  (no creation stack: the op was recorded outside detect_anomaly)"
    summary = traceback.StackSummary.from_list(
        [traceback.FrameSummary(fn, line, name) for fn, line, name in frames])
    return "".join(summary.format()).rstrip("\n")


def _nonfinite(x):
    """Number of non-finite elements of a floating value (0 for anything else)."""
    d = x.data if isinstance(x, Tensor) else x
    if getattr(d, "is_sparse", False):  # a RowSparseGrad (Embedding(sparse=True)): its stored rows
        d = d.values
    if isinstance(d, float):
        return 0 if math.isfinite(d) else 1
    if isinstance(d, (np.ndarray, np.generic)) and d.dtype.kind in "fc":
        if d.size == 0:
            return 0
        fin = np.isfinite(d)
        return 0 if fin.all() else int(d.size - np.count_nonzero(fin))
    return 0


def _what(x):
    d = x.data if isinstance(x, Tensor) else np.asarray(x)
    kinds = []
    if np.isnan(d).any():
        kinds.append("nan")
    if np.isinf(d).any():
        kinds.append("inf")
    return "/".join(kinds) or "non-finite"


# ------------------------------------------------------------------------ checking VJPs
def _op_of(t):
    """The checked VJP of a recorded tensor (it carries the op's description and creation stack), or None."""
    vjps = t._vjps
    return next((v for v in vjps if getattr(v, "_anomaly", False)), None) if isinstance(vjps, tuple) else None


def _origin(t, index):
    """Where the non-finite values of input ``index`` of the recorded tensor ``t`` came from: walk back
    through inputs that held non-finite values (as each op saw them) to a leaf, a constant, or the op that
    produced them from finite inputs."""
    p = inputs_as_of(t)[index]
    for _ in range(100_000):
        if not isinstance(p, Tensor):
            return "they came from a constant (an argument that is not a Tensor)", ""
        if p._vjps is None:
            kind = "a leaf tensor" if p._requires_grad else "a tensor that requires no grad"
            return (f"they came from {kind} of shape {p.shape} ({p.dtype}) that held them before the forward pass "
                    f"(a parameter or input set to a non-finite value?)"), ""
        if p._parents is None:
            return f"they came from the output of op '{p._op}', whose graph was already freed", ""
        parents = inputs_as_of(p)
        seen = p._saved if p._saved and p._saved.__class__ is not Packed else parents  # the values the op
        # saved (packed by saved_tensors_hooks, or none saved: a join of many inputs, ops/_join_vjps.py: its
        # inputs' values then; None: an input its VJPs do not read, not saved: see npgrad/ops/elementwise.py;
        # the input's own values then)
        nxt = next((q for q, v in zip(parents, seen) if _nonfinite(q if v is None else v)), None)
        if nxt is None:
            checked = _op_of(p)
            desc = checked._desc if checked is not None else f"'{p._op}'"
            return (f"op {desc} produced them from finite inputs, in forward",
                    f"\nOp {desc}, which produced them, was created at (most recent call last):\n"
                    f"{format_stack(checked._frames if checked is not None else None)}")
        p = nxt
    return "their origin is further back than this check looks", ""


def _checked_vjp(vjp, index, node, label):
    desc, frames, root, heading = label

    def checked(g, y, *inputs):
        prev = getattr(_in_backward, "source", None)
        _in_backward.source = checked  # ops this VJP records (create_graph) are attributed to this op
        try:
            r = vjp(g, y, *inputs)
        except Exception as e:
            if hasattr(e, "add_note") and not getattr(e, "_npgrad_noted", False):
                e.add_note(f"(raised by the backward of op {desc} for its input {index}; {heading}:\n"
                           f"{format_stack(frames)})")
                e._npgrad_noted = True
            raise
        finally:
            _in_backward.source = prev
        bad = _options["check_nan"] and _nonfinite(r)
        if bad:
            size = np.size(r.data if isinstance(r, Tensor) else r.values if getattr(r, "is_sparse", False) else r)
            why, origin_stack = _why(g, inputs, node)
            raise AnomalyError(
                f"detect_anomaly: the backward of op {desc} returned {_what(r)} values in its gradient for input "
                f"{index} ({bad} of {size} elements); {why}.\n"
                f"{heading} (most recent call last):\n{format_stack(frames)}{origin_stack}")
        return r
    checked._anomaly = True
    checked._desc, checked._frames, checked._root = desc, frames, root
    return checked


def _why(g, inputs, node):
    """Why a VJP's result holds non-finite values (its incoming gradient, an input, or the VJP itself),
    and the creation stack of the op that made them if it is another one."""
    if _nonfinite(g):
        return "its incoming gradient already held non-finite values (from the seed or a hook)", ""
    t = node()
    if t is not None and t._parents is not None and any(x is None for x in inputs):
        try:  # None: an input the op's VJPs do not read, so not saved (npgrad/ops/elementwise.py): its values
            parents = inputs_as_of(t)
            inputs = tuple(parents[i] if x is None and i < len(parents) else x for i, x in enumerate(inputs))
        except RuntimeError:  # a graph rewritten in place beyond recovery (versions.inputs_as_of)
            pass
    bad = next((i for i, x in enumerate(inputs) if _nonfinite(x)), None)
    if bad is None:
        freed = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.data.__class__ is Freed]
        if freed:  # (values no backward reads are freed once nothing refers to them: tensor.py, release)
            return (f"its incoming gradient and the inputs it kept were finite; the values of input(s) {freed} were "
                    f"not kept (no backward reads them), so they may have held them"), ""
        return "its incoming gradient and its inputs were finite, so this op's backward produced them", ""
    where, stack = "their origin is unknown", ""
    try:
        if t is not None and t._parents is not None:
            where, stack = _origin(t, bad)
    except RuntimeError:  # a graph rewritten in place beyond recovery (versions.inputs_as_of)
        pass
    return (f"its input {bad} already held {_what(inputs[bad])} values in forward, so they were not produced by "
            f"this op's backward: {where}"), stack


def _label(op, frames):
    """(description, creation stack, root op, heading) for an op recorded now. An op recorded by a backward
    pass with create_graph (while the checked VJP ``source`` runs) is described by the op it differentiates,
    and shows that op's creation stack (the user's line) rather than the line calling backward() / grad()."""
    src = getattr(_in_backward, "source", None)
    if src is None:
        return f"'{op}'", frames, f"'{op}'", "The op was created at"
    desc = f"'{op}' (recorded by the backward of op {src._desc})"
    if src._frames is None:  # that op was recorded outside the mode: the backward call is all we know
        return desc, frames, src._root, "The op was recorded by a backward pass with create_graph at"
    return desc, src._frames, src._root, f"Op {src._root}, whose backward recorded it, was created at"


def _wrap_vjps(vjps, op, frames, t):
    label = _label(op, frames)
    node = weakref.ref(t)
    return tuple(v if v is None or getattr(v, "_anomaly", False) else _checked_vjp(v, i, node, label)
                 for i, v in enumerate(vjps))


# ------------------------------------------------------------------ checking versions
def _make_checking_record(orig):
    def _record(data, op, parents, saved, vjps, jvps=None):
        t = orig(data, op, parents, saved, vjps, jvps)
        frames = _user_stack()
        t._vjps = _wrap_vjps(t._vjps, op, frames, t)  # (the complex rule's VJPs if _record chose them)
        if _options["check_forward"] and _options["check_nan"] and not getattr(_in_backward, "on", False):
            bad = _nonfinite(t.data)
            if bad and not any(_nonfinite(parents[i] if s is None else s)   # (none saved: the inputs)
                               for i, s in enumerate(saved if saved else parents)):
                raise AnomalyError(
                    f"detect_anomaly: op '{op}' produced {_what(t)} values ({bad} of {t.data.size} elements, output "
                    f"shape {t.data.shape}) from finite inputs, in forward.\n"
                    f"The op was created at (most recent call last):\n{format_stack(frames)}")
        return t
    _record._anomaly_original = orig
    return _record


def _make_checking_run_backward(orig):
    def run_backward(roots, grads, retain_graph, create_graph, *args, **kwargs):
        # Nodes recorded outside the mode: wrap their VJPs for this pass (no creation stack), restore after.
        swapped = []
        stack = [r for r in roots if isinstance(r, Tensor) and r._requires_grad]
        seen = set()
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            vjps = t._vjps
            if vjps is None or t._parents is None:
                continue
            if isinstance(vjps, tuple) and any(
                    v is not None and not getattr(v, "_anomaly", False) for v in vjps):
                t._vjps = _wrap_vjps(vjps, t._op, None, t)
                swapped.append((t, vjps, t._vjps))
            for p in inputs_as_of(t):
                if isinstance(p, Tensor) and p._requires_grad and id(p) not in seen:
                    stack.append(p)
        prev = getattr(_in_backward, "on", False)
        _in_backward.on = True
        try:
            return orig(roots, grads, retain_graph, create_graph, *args, **kwargs)
        finally:
            _in_backward.on = prev
            for t, original, wrapped in swapped:
                if t._vjps is wrapped:  # still retained: give the node its own VJPs back
                    t._vjps = original
    run_backward._anomaly_original = orig
    return run_backward


def _enable():
    from . import engine
    set_layer("anomaly", _make_checking_record)  # (over saved_tensors_hooks' packing, if on: record_layers.py)
    orig_rb = engine.run_backward
    _patched.append((engine, "run_backward", orig_rb))
    engine.run_backward = _make_checking_run_backward(orig_rb)


def _disable():
    set_layer("anomaly", None)
    while _patched:
        mod, name, orig = _patched.pop()
        setattr(mod, name, orig)


def _enter(check_forward, check_nan):
    global _depth
    with _lock:
        prev = dict(_options)
        _options.update(check_forward=check_forward, check_nan=check_nan)
        if _depth == 0:
            _enable()
        _depth += 1
        return prev


def _exit(prev):
    global _depth
    with _lock:
        _depth -= 1
        _options.update(prev)
        if _depth == 0:
            _disable()


class detect_anomaly:
    """Context manager (or decorator) turning anomaly detection on.

    In forward, an op whose result holds NaN or inf although its inputs were finite raises
    :class:`AnomalyError` naming the op and the line of user code that called it
    (``check_forward=False`` turns this off, e.g. for code that uses ``-inf`` on purpose). In
    backward, a VJP returning NaN or inf raises, naming the op and where it was created.
    ``check_nan=False`` (PyTorch's keyword) checks neither: an error raised by a VJP then still
    names the op and its creation stack. Slow: every recorded op keeps a stack; use it to debug,
    not to train.
    """

    def __init__(self, check_forward=True, *, check_nan=True):
        self.check_forward = bool(check_forward)
        self.check_nan = bool(check_nan)
        self._prev = None

    def __enter__(self):
        self._prev = _enter(self.check_forward, self.check_nan)
        return self

    def __exit__(self, *exc):
        _exit(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_forward, check_nan=self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` turns anomaly detection on until ``set_detect_anomaly(False)``;
    also usable as a context manager (``with set_detect_anomaly(True): ...``)."""

    def __init__(self, mode, check_forward=True, *, check_nan=True):
        global _depth
        self._was = is_anomaly_enabled()
        self._mode = bool(mode)
        with _lock:
            if self._mode and not self._was:
                self._prev = _enter(bool(check_forward), bool(check_nan))
            elif self._mode:  # already on: the new flags take over (as PyTorch's), until __exit__
                self._prev = dict(_options)
                _options.update(check_forward=bool(check_forward), check_nan=bool(check_nan))
            elif not self._mode and self._was:
                self._saved_depth = _depth
                _depth = 0
                _disable()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _depth
        with _lock:
            if self._mode and not self._was:
                _exit(self._prev)
            elif self._mode:
                _options.update(self._prev)
            elif not self._mode and self._was:
                _depth = self._saved_depth
                _enable()
        return False
