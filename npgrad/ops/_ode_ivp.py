"""``solve_ivp``'s driver (SciPy's ``scipy/integrate/_ivp/ivp.py`` loop): steps, ``t_eval``, the dense output
(``OdeSolution`` of per-step interpolants, differentiable in y0 and the parameters) and events.

An event is located as SciPy does, by Brent's method (``brentq`` with xtol = rtol = 4 eps) on the dense output
of the step in which the event function changes sign. Its time and state are made differentiable by the implicit
function theorem: with ``G(theta) = g(t*, y(t*; theta); theta)`` evaluated with the graph at the root's value
``t*``, ``dt*/dtheta = -(dG/dtheta) / (dg/dt)`` where ``dg/dt = dg/dt + dg/dy . y'(t*)`` along the
interpolant, and ``y_event = y(t*) + y'(t*) (t*(theta) - t*)``: exact derivatives of the computed root.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _state, no_grad
from ..tensor import Tensor, _wrap
from ._ode import for_state, like, val

EPS = np.finfo(float).eps
MESSAGES = {0: "The solver successfully reached the end of the integration interval.",
            1: "A termination event occurred.",
            -1: "Required step size is less than spacing between numbers."}


# ----------------------------------------------------------------------------------- dense output
class RkInterpolant:
    """SciPy's ``RkDenseOutput`` of one step: ``y_old + h K^T P [x, x^2, ...]``, ``x = (t - t_old) / h``; the
    stages ``K`` are Tensors, so the values carry the gradient of y0 and the parameters. Subclasses change the
    weights ``W(x)`` of the rows (``_weights``, ``_dweights``)."""

    def __init__(self, t_old, t, y_old, rows, h, P=None):
        from .shape import stack
        self.t_old, self.t, self.hv = float(t_old), float(t), float(t) - float(t_old)
        self.y_old, self.h, self.P = y_old, h, None if P is None else np.asarray(P, np.float64)
        self.K = stack(rows) if isinstance(y_old, Tensor) else np.stack(rows)
        self.dtype = val(y_old).dtype

    def _weights(self, x):
        """The weights of the rows at the points ``x`` (1-D): shape (len(x), rows)."""
        q = self.P.shape[1]
        return (x[:, None] ** np.arange(1, q + 1)) @ self.P.T

    def _dweights(self, x):
        """d/dx of the weights at one point ``x``: shape (rows,)."""
        q = self.P.shape[1]
        return (np.arange(1, q + 1) * x ** np.arange(q)) @ self.P.T

    def _x(self, tv):
        return (np.asarray(tv, np.float64) - self.t_old) / self.hv

    def __call__(self, tv):
        x = self._x(tv)
        W = self._weights(np.atleast_1d(x))
        W = like(self.y_old, W.astype(np.empty(0, self.dtype).real.dtype))
        h = for_state(self.h, self.dtype)
        if x.ndim == 0:
            return self.y_old + h * (W[0] @ self.K)
        return self.y_old[:, None] + h * (self.K.T @ W.T)

    def deriv(self, tv):
        """dy/dt of the interpolant at one time, NumPy."""
        return float(val(self.h)) / self.hv * (self._dweights(float(self._x(tv))) @ val(self.K))


class ConstantInterpolant:
    """The dense output of a step that does not move (an empty state or a zero-length span)."""

    def __init__(self, t_old, t, y):
        self.t_old, self.t, self.y = float(t_old), float(t), y

    def __call__(self, tv):
        tv = np.asarray(tv)
        if tv.ndim == 0:
            return self.y
        from .shape import stack
        return stack([self.y] * tv.shape[0], axis=-1) if tv.shape[0] else like(
            self.y, np.zeros(val(self.y).shape + (0,), val(self.y).dtype))

    def deriv(self, tv):
        return np.zeros_like(val(self.y))


class OdeSolution:
    """SciPy's ``OdeSolution``: ``sol(t)`` for a number (shape ``(n,)``) or a 1-D array of times (shape
    ``(n, len(t))``), from the interpolant of the step containing each time (at a breakpoint, the earlier step;
    outside ``[t_min, t_max]`` the first or last step's, extrapolated). Returns a Tensor, differentiable in
    y0 and the parameters (not in ``t``)."""

    def __init__(self, ts, interpolants, alt_segment=False):
        ts = np.asarray(ts, np.float64)
        d = np.diff(ts)
        if not ((ts.size == 2 and ts[0] == ts[-1]) or np.all(d > 0) or np.all(d < 0)):
            raise ValueError("OdeSolution: ts must be strictly increasing or decreasing")
        self.n_segments = len(interpolants)
        if ts.shape != (self.n_segments + 1,):
            raise ValueError(f"OdeSolution: {ts.shape[0]} times for {self.n_segments} interpolants")
        self.ts, self.interpolants = ts, interpolants
        self.ascending = bool(ts[-1] >= ts[0])
        self.t_min, self.t_max = (ts[0], ts[-1]) if self.ascending else (ts[-1], ts[0])
        self.side = ("right" if alt_segment else "left") if self.ascending else ("left" if alt_segment else "right")
        self.ts_sorted = ts if self.ascending else ts[::-1]

    def _segments(self, t):
        seg = np.clip(np.searchsorted(self.ts_sorted, t, side=self.side) - 1, 0, self.n_segments - 1)
        return seg if self.ascending else self.n_segments - 1 - seg

    def __call__(self, t):
        if isinstance(t, Tensor):
            t = t.data
        t = np.asarray(t, np.float64)
        if t.ndim > 1:
            raise ValueError(f"OdeSolution: t must be a number or a 1-D array of times, got shape {t.shape}")
        if t.ndim == 0:
            return self.interpolants[int(self._segments(t))](t)
        from .shape import concatenate
        order = np.argsort(t, kind="stable")
        reverse = np.empty_like(order)
        reverse[order] = np.arange(order.shape[0])
        t_sorted = t[order]
        segs = self._segments(t_sorted)
        pieces, start = [], 0
        while start < len(segs):
            end = start
            while end < len(segs) and segs[end] == segs[start]:
                end += 1
            pieces.append(self.interpolants[int(segs[start])](t_sorted[start:end]))
            start = end
        if not pieces:
            return self.interpolants[0](t)
        ys = concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]
        return ys[:, reverse] if (reverse != np.arange(len(reverse))).any() else ys


# ----------------------------------------------------------------------------------- first derivatives only
class _FirstOrderOnly(Function):
    """The identity, whose backward refuses to be differentiated again: the implicit-function-theorem
    derivatives (event times, Radau's and BDF's steps) hold the Jacobians as constants, so a second derivative
    through them would be incomplete."""

    @staticmethod
    def forward(ctx, where, x):
        ctx.where = where
        return _wrap(val(x).copy())

    @staticmethod
    def backward(ctx, g):
        if _state.enabled:
            raise RuntimeError(f"solve_ivp: the gradient of {ctx.where} (by the implicit function theorem) cannot "
                               f"be differentiated again (create_graph=True)")
        return None, g


def first_order_only(x, where):
    return _FirstOrderOnly.apply(where, x) if isinstance(x, Tensor) and x.requires_grad else x


# ----------------------------------------------------------------------------------- events
def brentq(f, xa, xb, xtol=4 * EPS, rtol=4 * EPS, maxiter=100):
    """A root of ``f`` in ``[xa, xb]`` (``f(xa)``, ``f(xb)`` of opposite signs or zero) by Brent's method,
    step for step SciPy's ``brentq`` (scipy/optimize/Zeros/brentq.c)."""
    xpre, xcur = float(xa), float(xb)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = f(xpre), f(xcur)
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if np.sign(fpre) == np.sign(fcur):
        raise ValueError(f"brentq: f(a) = {fpre} and f(b) = {fcur} must have different signs")
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and np.signbit(fpre) != np.signbit(fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = f(xcur)
    raise RuntimeError(f"brentq: failed to converge after {maxiter} iterations (last x = {xcur!r}, f = {fcur!r})")


class Event:
    """One event function ``event(t, y, *args)`` with SciPy's attributes ``terminal`` (bool or a positive
    count) and ``direction``; called with ``t`` a 0-d Tensor and ``y`` a Tensor."""

    def __init__(self, fn, index, args, rhs):
        if not callable(fn):
            raise TypeError(f"solve_ivp: events[{index}] must be callable event(t, y), got {type(fn).__name__}")
        self.fn, self.index, self.args, self.rhs = fn, index, tuple(args), rhs
        terminal = getattr(fn, "terminal", None)
        self.direction = float(getattr(fn, "direction", 0))
        if terminal is None or terminal == 0:
            self.max_count = np.inf
        elif int(terminal) == terminal and terminal > 0:
            self.max_count = int(terminal)
        else:
            raise ValueError(f"solve_ivp: the terminal attribute of events[{index}] must be a boolean or positive "
                             f"integer, got {terminal!r}")

    def call(self, t, y):
        out = self.fn(t if isinstance(t, Tensor) else self.rhs.time(t), y, *self.args)
        if np.size(val(out)) != 1:
            raise ValueError(f"solve_ivp: events[{self.index}] must return a number, it returned shape "
                             f"{np.shape(val(out))}")
        return out

    def value(self, t, y):
        with no_grad():
            return float(np.real(val(self.call(t, y))).reshape(()))


def find_active(g, g_new, direction):
    g, g_new = np.asarray(g), np.asarray(g_new)
    up, down = (g <= 0) & (g_new >= 0), (g >= 0) & (g_new <= 0)
    mask = up & (direction > 0) | down & (direction < 0) | (up | down) & (direction == 0)
    return np.nonzero(mask)[0]


def event_point(ev, interp, tr):
    """The event's time and state at the root ``tr``, differentiable by the implicit function theorem."""
    from ..autograd import grad
    y_t = interp(tr)
    t_const = _wrap(np.float64(tr))
    if not _state.enabled:
        return t_const, y_t
    G = ev.call(tr, y_t)
    if not (isinstance(G, Tensor) and G.requires_grad):
        return t_const, y_t
    dtype = val(y_t).dtype
    if dtype.kind == "c":
        raise NotImplementedError("solve_ivp: gradients of event times are implemented for real states only")
    tt = _wrap(np.float64(tr)).requires_grad_()
    yy = _wrap(val(y_t).copy()).requires_grad_()
    gl = ev.call(tt, yy).reshape(())
    gt, gy = grad(gl, [tt, yy], allow_unused=True)
    ydot = interp.deriv(tr)
    slope = (float(val(gt)) if gt is not None else 0.0) + (float(np.sum(val(gy) * ydot)) if gy is not None else 0.0)
    with np.errstate(divide="ignore"):
        inv = -1.0 / slope if slope != 0 else np.inf   # a tangential zero: the event time is not differentiable
    G = G.reshape(())
    shift = first_order_only((G - G.detach()) * inv, "an event time")   # value 0, derivative dt*/dtheta
    y_star = y_t + shift.astype(dtype) * like(y_t, ydot.astype(dtype))
    return shift + np.float64(tr), y_star


def _no_grad_call(sol, t):
    with no_grad():
        return sol(t)


def solve(st, rhs, t0, tf, y0, t_eval, dense_output, events, args):
    """SciPy's ``solve_ivp`` loop over the accepted steps of the stepper ``st`` (``step(tf, tf)``,
    ``interpolant()``); returns the fields of the OdeResult but the statistics."""
    direction = 1.0 if tf >= t0 else -1.0
    if t_eval is None:
        ts, ys = [t0], [y0]
    else:
        ts, ys, ti = [], [], [t0]
    interpolants = []
    if events is not None:
        evs = [Event(fn, i, args, rhs) for i, fn in enumerate([events] if callable(events) else list(events))]
        counts = np.zeros(len(evs))
        max_counts = np.array([ev.max_count for ev in evs], np.float64)
        dirs = np.array([ev.direction for ev in evs])
        g = [ev.value(t0, y0) for ev in evs]
        t_events, y_events = [[] for _ in evs], [[] for _ in evs]
    trivial = val(y0).size == 0 or t0 == tf
    i_eval, status = 0, None
    while status is None:
        if trivial:                                  # SciPy's solvers finish in one step that does not move
            t_old, t, y = t0, tf, y0
            make = lambda: ConstantInterpolant(t0, tf, y0)  # noqa: E731
            status = 0
        else:
            if not st.step(tf, tf):
                status = -1
                break
            if st.tv == tf:
                status = 0
            t_old, t, y = st.tv_old, st.tv, st.y
            make = st.interpolant
        sol = make() if dense_output else None
        if dense_output:
            interpolants.append(sol)
        if events is not None:
            g_new = [ev.value(t, y) for ev in evs]
            active = find_active(g, g_new, dirs)
            if active.size > 0:
                if sol is None:
                    sol = make()
                counts[active] += 1
                roots = np.asarray([brentq(lambda tt, ev=evs[i]: ev.value(tt, _no_grad_call(sol, tt)), t_old, t)
                                    for i in active])
                terminate = bool(np.any(counts[active] >= max_counts[active]))
                if terminate:
                    order = np.argsort(roots) if t > t_old else np.argsort(-roots)
                    active, roots = active[order], roots[order]
                    last = int(np.nonzero(counts[active] >= max_counts[active])[0][0])
                    active, roots = active[:last + 1], roots[:last + 1]
                for e, te in zip(active, roots):
                    t_star, y_star = event_point(evs[e], sol, float(te))
                    t_events[e].append(t_star)
                    y_events[e].append(y_star)
                if terminate:
                    status = 1
                    t, y = float(roots[-1]), y_star
            g = g_new
        if t_eval is None:
            if not (len(ts) > 1 and ts[-1] == t and dense_output):
                ts.append(float(t))
                ys.append(y)
            elif interpolants:
                interpolants.pop()
        else:
            order = t_eval if direction > 0 else -t_eval
            i_new = int(np.searchsorted(order, direction * t, side="right"))
            if i_new > i_eval:
                if sol is None:
                    sol = make()
                ts.extend(float(te) for te in t_eval[i_eval:i_new])
                ys.append(sol(t_eval[i_eval:i_new]))
                i_eval = i_new
            if dense_output:
                ti.append(float(t))
    from .shape import concatenate, stack
    n = val(y0).shape[0]
    if t_eval is None:
        y = stack(ys, axis=-1)
    else:
        y = (concatenate(ys, axis=1) if len(ys) > 1 else ys[0]) if ys else like(y0, np.zeros((n, 0), val(y0).dtype))
    out = dict(t=np.asarray(ts, np.float64), y=y, t_events=None, y_events=None, status=status,
               sol=OdeSolution(ts if t_eval is None else ti, interpolants, getattr(st, "alt_segment", False))
               if dense_output else None)
    if events is not None:
        dtype = val(y0).dtype
        out["t_events"] = [stack(te) if te else _wrap(np.zeros(0)) for te in t_events]
        out["y_events"] = [stack(ye) if ye else _wrap(np.zeros((0, n), dtype)) for ye in y_events]
    return out
