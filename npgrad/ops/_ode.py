"""Explicit Runge-Kutta solvers for ``npg.integrate`` (odeint, solve_ivp), written with npgrad ops.

The adaptive methods are SciPy's ``RK45`` (Dormand-Prince 5(4), torchdiffeq's ``dopri5``) and ``RK23``
(Bogacki-Shampine 3(2)), with SciPy's controller (``scipy/integrate/_ivp/rk.py``): the embedded error estimate
``h K^T E``, its RMS norm scaled by ``atol + rtol max(|y|, |y_new|)``, the step factor
``0.9 err^(-1/(q+1))`` within [0.2, 10] (no growth right after a rejection), SciPy's initial step
(``select_initial_step``), and the dense output ``y_old + h K^T P x^(1..4)``.

The state and the stages are Tensors, so that backpropagation through the steps gives the exact derivative of
the computed solution. Every decision (accept or reject, the next step size) is taken on the values, as
torchdiffeq does: step sizes carry no gradient, except the last step of an interval, which ends exactly at a
requested time ``t[k]`` (a Tensor when ``t`` requires grad), so that ``dy(t[k])/dt[k] = func(y(t[k]))`` up to
the local error. The same code runs on NumPy arrays (the adjoint's backward integration, _ode_adjoint.py).
"""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _wrap

SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0


class ODEintWarning(Warning):
    """``odeint`` stopped early (too many steps or a step size too small): the remaining rows are NaN."""


class OdeResult(dict):
    """``solve_ivp``'s result, as SciPy's: a dict whose keys are also attributes (``t``, ``y``, ``nfev``,
    ``status``, ``message``, ``success``...)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__

    def __repr__(self):
        return "\n".join(f"{k:>8}: {v!r}" for k, v in self.items())


class _Tableau:
    def __init__(self, name, c, a, b, e, p, error_order):
        self.name, self.c, self.a, self.b, self.e, self.p = name, c, a, b, e, p
        self.error_order = error_order
        self.exponent = -1.0 / (error_order + 1)


RK45 = _Tableau(
    "RK45", [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1],
    [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
     [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
     [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    [-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40],
    [[1.0, -2.8535800653862835, 3.0717434641059005, -1.1270175653862835], [0.0, 0.0, 0.0, 0.0],
     [0.0, 4.023133379230305, -6.249321565289, 2.675424484351598],
     [0.0, -3.7324019615885042, 10.068970589843675, -5.685526961588504],
     [0.0, 2.5548038301849423, -6.399112377351017, 3.5219323679207912],
     [0.0, -1.3744241142186024, 3.272657752246729, -1.7672812570757455],
     [0.0, 1.3824689317781436, -3.764937863556287, 2.382468931778144]], 4)

RK23 = _Tableau(
    "RK23", [0, 1 / 2, 3 / 4], [[], [1 / 2], [0, 3 / 4]], [2 / 9, 1 / 3, 4 / 9],
    [5 / 72, -1 / 12, -1 / 9, 1 / 8],
    [[1, -4 / 3, 5 / 9], [0, 1, -2 / 3], [0, 4 / 3, -8 / 9], [0, -1, 1]], 2)


# ----------------------------------------------------------------------------------------- helpers
def val(x):
    """The NumPy value of a Tensor, array or number."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def lincomb(coefs, ks):
    """``sum(c * k)`` over the nonzero coefficients (Tensors or arrays; None if all are zero)."""
    out = None
    for c, k in zip(coefs, ks):
        if c != 0:
            term = k * c
            out = term if out is None else out + term
    return out


def rms(x):
    """The RMS norm, computed as SciPy's ``norm`` (``||x|| / sqrt(size)``, for the same rounding)."""
    return float(np.linalg.norm(x) / x.size ** 0.5) if x.size else 0.0


def like(y, arr):
    """``arr`` in ``y``'s kind: a constant Tensor when ``y`` is a Tensor, else the array."""
    return _wrap(arr) if isinstance(y, Tensor) else arr


def for_state(h, dtype):
    """A step size ``h`` (number or 0-d Tensor) to multiply the state with: Tensors take the state's dtype,
    numbers become Python floats (weak: a float32 state stays float32)."""
    if isinstance(h, Tensor):
        return h if h.dtype == dtype else h.astype(dtype)
    return float(h)


class Rhs:
    """``func`` called as the solvers need it, ``rhs(t, y)``: counts evaluations, passes ``t`` as a 0-d Tensor
    of the state's real dtype, wraps arrays, checks the result's shape and casts it to the state's dtype."""

    def __init__(self, func, args, tfirst, shape, dtype, where, name="func"):
        self.func, self.args, self.tfirst = func, tuple(args), tfirst
        self.shape, self.dtype, self.where, self.name = tuple(shape), np.dtype(dtype), where, name
        self.tdtype = np.empty(0, self.dtype).real.dtype
        self.nfe = 0

    def time(self, t):
        if isinstance(t, Tensor):
            return t if t.dtype == self.tdtype else t.astype(self.tdtype)
        return _wrap(np.asarray(t, self.tdtype))

    def __call__(self, t, y):
        self.nfe += 1
        tt = self.time(t)
        out = self.func(tt, y, *self.args) if self.tfirst else self.func(y, tt, *self.args)
        if isinstance(out, (list, tuple)) and any(isinstance(v, Tensor) for v in out):
            out = stack_list(out, self.where, self.name)  # SciPy-style [dy0, dy1, ...] of 0-d tensors
        if not isinstance(out, Tensor):
            try:
                arr = np.asarray(out)
            except Exception as e:
                raise TypeError(f"{self.where}: {self.name} must return a Tensor (or array) of dy/dt; it returned "
                                f"{type(out).__name__} ({e}); build a vector of tensors with npg.stack") from None
            if arr.dtype.kind not in "fciub":
                raise TypeError(f"{self.where}: {self.name} returned {arr.dtype} values, not numbers")
            out = _wrap(arr)
        if out.shape != self.shape:
            raise ValueError(f"{self.where}: {self.name} returned dy/dt of shape {out.shape} for a state y of shape "
                             f"{self.shape}; it must return the state's shape")
        if out.dtype != self.dtype:
            out = out.astype(self.dtype)
        return out


def stack_list(out, where, name):
    from .shape import stack
    parts = [v if isinstance(v, Tensor) else _wrap(np.asarray(v)) for v in out]
    if len({p.shape for p in parts}) != 1:
        raise ValueError(f"{where}: {name} returned a list of pieces of shapes {[p.shape for p in parts]}; return "
                         f"one Tensor of the state's shape (npg.stack / npg.concatenate)")
    return stack(parts)


def initial_step(rhs, t0, y0, f0, interval, max_step, direction, order, rtol, atol):
    """SciPy's ``select_initial_step`` (Hairer, Norsett & Wanner, II.4), on the values."""
    y, f = val(y0), val(f0)
    if y.size == 0:
        return np.inf
    if interval == 0.0:
        return 0.0
    scale = atol + np.abs(y) * rtol
    d0, d1 = rms(y / scale), rms(f / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, interval)
    with no_grad():
        f1 = val(rhs(t0 + h0 * direction, like(y0, (y + h0 * direction * f).astype(y.dtype))))
    d2 = rms((f1 - f) / scale) / h0
    h1 = max(1e-6, h0 * 1e-3) if d1 <= 1e-15 and d2 <= 1e-15 else (0.01 / max(d1, d2)) ** (1 / (order + 1))
    return min(100 * h0, h1, interval, max_step)


class Stepper:
    """The state of an adaptive Runge-Kutta integration (SciPy's ``RkSolver``); ``step(bound)`` takes one
    accepted step towards ``bound``, ending exactly on it when it is within reach."""

    def __init__(self, rhs, tab, t0, tv0, y0, f0, h_abs, rtol, atol, max_step, hmin, direction):
        self.rhs, self.tab = rhs, tab
        self.t, self.tv, self.y, self.f = t0, float(tv0), y0, f0
        self.h_abs, self.rtol, self.atol = h_abs, rtol, atol
        self.max_step, self.hmin, self.direction = max_step, hmin, direction
        self.nst = self.nrej = 0
        self.dtype = val(y0).dtype
        self.t_old = self.y_old = self.K = self.h = None
        self.tv_old = self.hv = None

    def _stages(self, t, y, f, h):
        tab, hy = self.tab, for_state(h, self.dtype)
        ks = [f]
        for s in range(1, len(tab.c)):
            dy = lincomb(tab.a[s], ks)
            ks.append(self.rhs(t + tab.c[s] * h, y + hy * dy))
        y_new = y + hy * lincomb(tab.b, ks)
        f_new = self.rhs(t + h, y_new)
        ks.append(f_new)
        return y_new, f_new, ks

    def _error_norm(self, ks, hv, scale):
        """The RMS norm of the embedded error estimate ``h K^T E`` scaled by ``scale``."""
        return rms(hv * lincomb(self.tab.e, ks) / scale)

    def step(self, bound, bound_v):
        """One accepted step towards ``bound`` (a number or 0-d Tensor, of value ``bound_v``); False when the
        step size falls below the spacing of floating-point numbers at t (or ``hmin``)."""
        tv, direction, tab = self.tv, self.direction, self.tab
        min_step = max(self.hmin, 10 * abs(np.nextafter(tv, direction * np.inf) - tv))
        h_abs = min(max(self.h_abs, min_step), self.max_step)
        rejected = False
        y = val(self.y)
        while True:
            if not h_abs >= min_step:      # (a NaN step size, from a NaN fun, fails too)
                return False
            tnv = tv + h_abs * direction
            land = direction * (tnv - bound_v) >= 0
            if land:
                tnv = bound_v
                h = bound - self.t if isinstance(bound, Tensor) or isinstance(self.t, Tensor) else tnv - tv
            else:
                h = tnv - tv
            hv = tnv - tv
            h_abs = abs(hv)
            y_new, f_new, ks = self._stages(self.t, self.y, self.f, h)
            yn = val(y_new)
            scale = self.atol + np.maximum(np.abs(y), np.abs(yn)) * self.rtol
            en = self._error_norm([val(k) for k in ks], hv, scale)
            if en < 1:
                factor = MAX_FACTOR if en == 0 else min(MAX_FACTOR, SAFETY * en ** tab.exponent)
                if rejected:
                    factor = min(1.0, factor)
                h_abs *= factor
                break
            h_abs *= max(MIN_FACTOR, SAFETY * en ** tab.exponent) if np.isfinite(en) else MIN_FACTOR
            rejected = True
            self.nrej += 1
        self.t_old, self.tv_old, self.y_old, self.K, self.h, self.hv = self.t, tv, self.y, ks, h, hv
        self.t = bound if land else self.t + h
        self.tv, self.y, self.f, self.h_abs = tnv, y_new, f_new, h_abs
        self.nst += 1
        return True

    def interpolant(self):
        """The last step's dense output as an object (solve_ivp's ``sol``, events)."""
        from ._ode_ivp import RkInterpolant
        return RkInterpolant(self.tv_old, self.tv, self.y_old, self.K, self.h, self.tab.p)

    def dense(self, tv):
        """The dense output of the last step at time value ``tv`` (SciPy's ``RkDenseOutput``)."""
        x = (tv - self.tv_old) / self.hv
        powers = [x ** (i + 1) for i in range(len(self.tab.p[0]))]
        w = [float(sum(pj[i] * powers[i] for i in range(len(powers)))) for pj in self.tab.p]
        comb = lincomb(w, self.K)
        if comb is None:
            return self.y_old
        return self.y_old + for_state(self.h, self.dtype) * comb


def rk4_interval(rhs, t0, t1, y, n):
    """``n`` equal classic RK4 steps from ``t0`` to ``t1`` (numbers or 0-d Tensors)."""
    dtype = val(y).dtype
    h = (t1 - t0) / n
    hy = for_state(h, dtype)
    for i in range(n):
        ti = t0 + h * i if i else t0
        k1 = rhs(ti, y)
        k2 = rhs(ti + h * 0.5, y + hy * 0.5 * k1)
        k3 = rhs(ti + h * 0.5, y + hy * 0.5 * k2)
        k4 = rhs(ti + h, y + hy * k3)
        y = y + hy / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def rk4_substeps(span, h0):
    """The number of equal RK4 steps over an interval of length ``span``: ceil(|span| / h0) (one without h0)."""
    if not h0 or span == 0:
        return 1
    return max(1, int(math.ceil(abs(span) / abs(h0) - 1e-9)))


# ----------------------------------------------------------------------------------------- drivers
def integrate_to_times(rhs, y0, times, tvals, method, rtol, atol, h0, hmax, hmin, mxstep, where="odeint",
                       fail="warn"):
    """The states at ``times`` (ys[0] is y0), and the statistics; the core of ``odeint`` and of the adjoint's
    backward integration. ``fail="warn"`` fills the unreached times with NaN after an ODEintWarning;
    ``"raise"`` raises RuntimeError."""
    K = len(tvals)
    ys = [y0]
    info = dict(nfe=[], nst=[], nrej=[], hu=[], tcur=[], message="Integration successful.")
    if K == 1:
        return ys, info
    direction = 1.0 if tvals[-1] >= tvals[0] else -1.0
    if method == "rk4":
        y, nst = y0, 0
        for k in range(1, K):
            n = rk4_substeps(tvals[k] - tvals[k - 1], h0)
            y = rk4_interval(rhs, times[k - 1], times[k], y, n)
            nst += n
            ys.append(y)
            info["nfe"].append(rhs.nfe)
            info["nst"].append(nst)
            info["hu"].append((tvals[k] - tvals[k - 1]) / n)
            info["tcur"].append(tvals[k])
        return ys, info
    tab = RK45
    f0 = rhs(times[0], y0)
    hmax = abs(hmax) if hmax else np.inf
    if h0:
        h_abs = abs(h0)
    else:
        h_abs = initial_step(rhs, tvals[0], y0, f0, abs(tvals[-1] - tvals[0]), hmax, direction, tab.error_order,
                             rtol, atol)
    st = Stepper(rhs, tab, times[0], tvals[0], y0, f0, h_abs, rtol, atol, hmax, abs(hmin), direction)
    for k in range(1, K):
        n = 0
        problem = None
        if st.tv == tvals[k] and isinstance(times[k], Tensor):
            # a repeated time, no step: y(t_k) = y(t_{k-1}) + (t_k - t_{k-1}) f, adding a zero that carries
            # dy(t_k)/dt_k = f and -f to t_{k-1}; the later steps start from t_k, with f evaluated there
            st.y = st.y + for_state(times[k] - st.t, st.dtype) * st.f
            st.t = times[k]
            st.f = rhs(st.t, st.y)
        while st.tv != tvals[k]:
            if n >= mxstep:
                problem = f"excess work done: more than mxstep={mxstep} steps to reach t = {tvals[k]!r}"
                break
            if not st.step(times[k], tvals[k]):
                problem = f"the step size fell below the minimum (hmin = {hmin!r} or the spacing of floats)"
                break
            n += 1
        if problem is not None:
            msg = (f"{where}: {problem}; the integration stopped at t = {st.tv!r} (the problem may be stiff, or "
                   f"the tolerances rtol={rtol!r}, atol={atol!r} too tight for the dtype)")
            if fail == "raise":
                raise RuntimeError(msg)
            warnings.warn(msg + f"; the values at the {K - k} remaining time(s) are NaN", ODEintWarning,
                          stacklevel=3)
            info["message"] = msg
            nan = np.full(val(y0).shape, np.nan, val(y0).dtype)
            ys.extend(like(y0, nan) for _ in range(K - k))
            return ys, info
        ys.append(st.y)
        info["nfe"].append(rhs.nfe)
        info["nst"].append(st.nst)
        info["nrej"].append(st.nrej)
        info["hu"].append(abs(st.hv) if st.hv is not None else 0.0)
        info["tcur"].append(st.tv)
    return ys, info


def monotonic_direction(tvals, where):
    """+1 or -1 for increasing or decreasing ``tvals`` (repeats allowed); ValueError naming ``where`` if not
    monotonic."""
    d = np.diff(tvals)
    if (d >= 0).all():
        return 1.0
    if (d <= 0).all():
        return -1.0
    s = np.sign(d[d != 0][0])
    bad = int(np.nonzero(np.sign(d) == -s)[0][0])
    raise ValueError(f"{where}: t must be monotonic (increasing or decreasing); t[{bad}] = {tvals[bad]!r}, "
                     f"t[{bad + 1}] = {tvals[bad + 1]!r} go the other way")
