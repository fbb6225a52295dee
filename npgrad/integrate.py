"""``npg.integrate``: differentiable ODE solvers and quadrature rules, with ``scipy.integrate``'s names,
signatures and defaults, computed with NumPy alone (SciPy is only the tests' reference).

>>> import npgrad as npg
>>> k = npg.tensor(0.5)
>>> t = npg.linspace(0.0, 2.0, 5)
>>> y = npg.integrate.odeint(lambda y, t, k: -k * y, npg.tensor([1.0]), t, args=(k,))
>>> y[-1, 0].backward()       # k.grad = -2 e^{-1}: the derivative of y0 e^{-k t} at t = 2

* ``odeint(func, y0, t, args=(), ...)``: ``scipy.integrate.odeint``'s call and result, solved by an adaptive
  Dormand-Prince 5(4) (``method="dopri5"``, the RK45 of ``solve_ivp`` and torchdiffeq's default) or classic
  fixed-step RK4 (``method="rk4"``). Differentiable in ``y0``, in the tensors among ``args`` (and those ``func``
  reads from a closure, e.g. an ``npg.nn.Module``'s parameters) and in ``t``: by backpropagation through the
  solver's steps (exact for the computed solution), or with ``adjoint=True`` by the adjoint method (Chen et
  al. 2018; memory independent of the number of steps, gradient exact to the solver's tolerance).
* ``solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None, args=None, ...)``:
  SciPy's RK45, RK23, DOP853, Radau and BDF (same steps, error control, dense output and events),
  differentiable in ``y0`` and ``args`` (event times too, by the implicit function theorem).
* ``trapezoid``, ``cumulative_trapezoid``, ``simpson``: composite rules, differentiable in ``y``, ``x`` and
  ``dx``.

The solvers live in npgrad/ops/_ode.py (steps, step-size control), _ode_dop853.py, _ode_radau.py, _ode_bdf.py,
_ode_ivp.py (solve_ivp's loop, dense output and events) and _ode_adjoint.py.
"""
import numpy as _np

from ._pytree import _flatten
from .ops._util import as_input as _as_input, normalize_one_axis as _normalize_one_axis
from .ops.arrays import diff as _diff
from .ops.numeric import trapezoid as _np_trapezoid
from .ops.elementwise import where as _where
from .ops.reduce import cumsum as _cumsum, sum as _sum
from .ops.shape import concatenate as _concatenate, moveaxis as _moveaxis
from .tensor import Tensor as _Tensor, _wrap
from .ops import _ode
from .ops._ode import ODEintWarning, OdeResult
from .ops._ode_ivp import OdeSolution
from .ops.shape import stack as _stack
from .autograd.grad_mode import _state

__all__ = ["odeint", "solve_ivp", "OdeResult", "OdeSolution", "ODEintWarning", "trapezoid", "cumulative_trapezoid",
           "simpson"]


# ----------------------------------------------------------------------------------------- quadrature
def _values(y, where):
    """``y`` as a Tensor of a floating (or complex) dtype: integers and bools become float64, as NumPy's."""
    y = _as_input(y, where)
    if y.dtype.kind not in "fc":
        y = y.astype(_np.float64)
    return y


def _spacing(x, dx, y, axis, where):
    """The spacings between samples, laid out for ``y`` with its ``axis`` moved last (``dx`` without ``x``)."""
    n = y.shape[axis]
    if x is None:
        return dx
    x = _values(x, where)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise ValueError(f"{where}: x has {x.shape[0]} points but y has {n} along axis {axis} (shape "
                             f"{y.shape}); if given, the length of x along axis must be the same as y's")
        return _diff(x)
    if x.ndim != y.ndim:
        raise ValueError(f"{where}: x of shape {x.shape} for y of shape {y.shape}: if given, x must be 1-D or "
                         f"have y's number of dimensions")
    if x.shape[axis] != n:
        raise ValueError(f"{where}: x of shape {x.shape} has {x.shape[axis]} points along axis {axis} but y "
                         f"(shape {y.shape}) has {n}")
    return _diff(_moveaxis(x, axis, -1), axis=-1)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the composite trapezoidal rule, as ``scipy.integrate.trapezoid``:
    ``np.trapezoid``'s values (npgrad's, ops/numeric.py), with SciPy's result dtype, ``y``'s floating dtype
    (integers give float64; float32 ``y`` stays float32 with float64 ``x`` or ``dx``, where NumPy's promotes).
    Differentiable in ``y``, ``x`` and ``dx``."""
    y = _values(y, "trapezoid")
    out = _np_trapezoid(y, x, dx, axis)
    if out.dtype != y.dtype and out.dtype.kind in "fc":
        want = _np.result_type(y.dtype, _np.complex64) if out.dtype.kind == "c" else y.dtype
        if out.dtype != want:
            out = out.astype(want)
    return out


def cumulative_trapezoid(y, x=None, dx=1.0, axis=-1, initial=None):
    """The running integral of ``y`` along ``axis`` by the trapezoidal rule, as
    ``scipy.integrate.cumulative_trapezoid``: one value fewer than ``y`` along ``axis``, or as many with
    ``initial=0`` (a leading 0; SciPy accepts no other value). Differentiable in ``y``, ``x`` and ``dx``
    (``torch.cumulative_trapezoid``'s gradients)."""
    y = _values(y, "cumulative_trapezoid")
    axis = _normalize_one_axis(axis, y.ndim, "cumulative_trapezoid")
    if y.shape[axis] == 0:
        raise ValueError(f"cumulative_trapezoid: at least one point is required along axis {axis} (y has shape "
                         f"{y.shape})")
    d = _spacing(x, dx, y, axis, "cumulative_trapezoid")
    ym = _moveaxis(y, axis, -1)
    res = _cumsum(d * (ym[..., 1:] + ym[..., :-1]) / 2.0, axis=-1)
    if initial is not None:
        if not _np.isscalar(initial) or initial != 0:
            raise ValueError(f"cumulative_trapezoid: initial must be None or 0, got {initial!r}")
        res = _concatenate([_wrap(_np.zeros(res.shape[:-1] + (1,), res.dtype)), res], axis=-1)
    return _moveaxis(res, -1, axis)


def _safe_div(a, b):
    """``a / b`` where ``b != 0``, else 0 (SciPy's ``true_divide(..., where=b != 0)``), with finite gradients."""
    bd = b.data if isinstance(b, _Tensor) else _np.asarray(b)
    nz = bd != 0
    if nz.all():
        return a / b
    return _where(nz, a / _where(nz, b, 1.0), 0.0)


def _basic_simpson(ym, stop, h):
    """Simpson's rule over the pairs of intervals [0, 2], [2, 4], ... up to point ``stop`` (last axis)."""
    y0, y1, y2 = ym[..., 0:stop:2], ym[..., 1:stop + 1:2], ym[..., 2:stop + 2:2]
    if h is None:
        return None, _sum(y0 + 4.0 * y1 + y2, axis=-1)
    h0, h1 = h[..., 0:stop:2], h[..., 1:stop + 1:2]
    hsum, hprod = h0 + h1, h0 * h1
    h0divh1 = _safe_div(h0, h1)
    tmp = hsum / 6.0 * (y0 * (2.0 - _safe_div(1.0, h0divh1)) + y1 * (hsum * _safe_div(hsum, hprod))
                        + y2 * (2.0 - h0divh1))
    return _sum(tmp, axis=-1), None


def simpson(y, x=None, *, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the composite Simpson's rule, as ``scipy.integrate.simpson``
    (SciPy >= 1.11): samples at the points ``x`` (1-D or of ``y``'s dimensions; spacings may differ) or ``dx``
    apart. With an even number N of points, Simpson's rule covers the first N - 2 intervals and the last one gets
    Cartwright's correction (a parabola through the last three points); two points give the trapezoid.
    Differentiable in ``y``, ``x`` and ``dx``."""
    y = _values(y, "simpson")
    axis = _normalize_one_axis(axis, y.ndim, "simpson")
    n = y.shape[axis]
    if n == 0:
        raise ValueError(f"simpson: at least one point is required along axis {axis} (y has shape {y.shape})")
    h = None if x is None else _spacing(x, dx, y, axis, "simpson")
    ym = _moveaxis(y, axis, -1)
    if n % 2 == 1:
        with_x, without_x = _basic_simpson(ym, n - 2, h)
        return with_x if h is not None else without_x * (dx / 3.0)
    if n == 2:
        last = dx if h is None else h[..., -1]
        return 0.5 * last * (ym[..., -1] + ym[..., -2])
    with_x, without_x = _basic_simpson(ym, n - 3, h)
    result = with_x if h is not None else without_x * (dx / 3.0)
    if h is None:
        h0 = h1 = dx
    else:
        h0, h1 = h[..., -2], h[..., -1]
    alpha = _safe_div(2 * h1 ** 2 + 3 * h0 * h1, 6 * (h1 + h0))
    beta = _safe_div(h1 ** 2 + 3.0 * h0 * h1, 6 * h0)
    eta = _safe_div(1 * h1 ** 3, 6 * h0 * (h0 + h1))
    return result + alpha * ym[..., -1] + beta * ym[..., -2] - eta * ym[..., -3]


# ------------------------------------------------------------------------------------------ ODEs
_LSODA_ONLY = {"Dfun", "col_deriv", "ml", "mu", "tcrit", "ixpr", "mxhnil", "mxordn", "mxords", "printmessg"}


def _tolerance(v, default, name, shape, where):
    v = default if v is None else v
    arr = _np.asarray(v, _np.float64)
    if (arr < 0).any() or not _np.isfinite(arr).all():
        raise ValueError(f"{where}: {name} must be finite and non-negative, got {v!r}")
    if arr.ndim:
        try:
            arr = _np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(f"{where}: {name} of shape {arr.shape} does not broadcast to y's shape {shape}") from None
    return arr if arr.ndim else float(arr)


def odeint(func, y0, t, args=(), *, rtol=None, atol=None, h0=0.0, hmax=0.0, hmin=0.0, mxstep=0, tfirst=False,
           full_output=False, method="dopri5", adjoint=False, **unsupported):
    """Integrate ``dy/dt = func(y, t, *args)`` (``func(t, y, *args)`` with ``tfirst=True``) from ``y(t[0]) = y0``
    and return the state at every time in ``t``: an array of shape ``(len(t),) + y0.shape`` whose first row is
    ``y0``, as ``scipy.integrate.odeint``. ``t`` is monotonic (increasing or decreasing; repeats allowed).
    ``func`` gets ``y`` as a Tensor of y0's shape and ``t`` as a 0-d Tensor, and is written with npgrad ops.

    ``method="dopri5"`` (default): adaptive Dormand-Prince 5(4) with SciPy's RK45 error control (relative and
    absolute tolerances ``rtol``, ``atol``, 1.49012e-8 by default as SciPy's; scalars or arrays of y's shape),
    stepping exactly onto each time in ``t``; ``h0`` the first step size (0: chosen automatically), ``hmax`` /
    ``hmin`` bounds on the step size (0: none), ``mxstep`` the maximum number of steps per output interval
    (0: 500). ``method="rk4"``: classic fourth-order Runge-Kutta with fixed steps, one per interval of ``t`` or
    ``ceil(|t[k+1] - t[k]| / h0)`` equal ones with ``h0``. If the solver stops early (mxstep, step size
    underflow), an ``ODEintWarning`` says why and the remaining rows are NaN.

    Differentiable in ``y0``, in the tensors among ``args`` (nested in lists, tuples or dicts too) and those
    ``func`` reads from a closure (e.g. a Module's parameters), and in ``t``. By default the gradient is exact
    for the computed solution (backpropagation through the steps; step sizes are chosen on values, as in
    torchdiffeq), and can be differentiated again. With ``adjoint=True`` it is computed by the adjoint method
    (torchdiffeq's ``odeint_adjoint``): a backward integration of the augmented system, with memory independent
    of the number of steps, accurate to the solver's tolerance (not differentiable again).

    The state keeps y0's dtype (float32 stays float32; integers become float64); ``func``'s result is cast to it.
    With ``full_output=True`` returns ``(y, infodict)``: cumulative 'nfe' (function evaluations) and 'nst'
    (steps) at each time after the first, 'nrej' (rejected steps), 'hu' (last step size), 'tcur' and a
    'message'. SciPy's LSODA-only options (Dfun, ml, mu, ...) do not apply and raise a TypeError.
    """
    if unsupported:
        names = sorted(unsupported)
        lsoda = [k for k in names if k in _LSODA_ONLY]
        hint = f" ({', '.join(lsoda)}: options of SciPy's LSODA, which do not apply to npgrad's Runge-Kutta " \
               f"solvers)" if lsoda else ""
        raise TypeError(f"odeint() got unexpected keyword argument(s) {', '.join(names)}{hint}")
    if method not in ("dopri5", "rk4"):
        raise ValueError(f"odeint: method must be 'dopri5' or 'rk4', got {method!r}")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"odeint: args must be a tuple of extra arguments for func, got {type(args).__name__}")
    y0 = _values(y0, "odeint")
    if adjoint and y0.dtype.kind == "c":
        raise NotImplementedError("odeint: adjoint=True supports real states only; use adjoint=False for complex y0")
    tvals = _np.asarray(t.data if isinstance(t, _Tensor) else t, dtype=_np.float64)
    if tvals.ndim != 1 or tvals.size == 0:
        raise ValueError(f"odeint: t must be a 1-D sequence of at least one time, got shape {tvals.shape}")
    if not _np.isfinite(tvals).all():
        raise ValueError(f"odeint: t must be finite, got {tvals!r}")
    _ode.monotonic_direction(tvals, "odeint")
    rtol = _tolerance(rtol, 1.49012e-8, "rtol", y0.shape, "odeint")
    atol = _tolerance(atol, 1.49012e-8, "atol", y0.shape, "odeint")
    mxstep = 500 if not mxstep else int(mxstep)
    if mxstep < 0:
        raise ValueError(f"odeint: mxstep must be positive, got {mxstep}")
    for name, v in (("h0", h0), ("hmax", hmax), ("hmin", hmin)):
        if not _np.isfinite(v) or v < 0:
            raise ValueError(f"odeint: {name} must be finite and non-negative, got {v!r}")
    opts = (method, rtol, atol, float(h0), float(hmax), float(hmin), mxstep)
    if adjoint:
        from .ops._ode_adjoint import AdjointConfig, odeint_adjoint
        leaves, spec = _flatten(tuple(args))
        cfg = AdjointConfig(func, leaves, spec, tfirst, y0.shape, y0.dtype, *opts)
        out = odeint_adjoint(cfg, y0, t, tvals)
        info = cfg.info
    else:
        rhs = _ode.Rhs(func, args, tfirst, y0.shape, y0.dtype, "odeint")
        if isinstance(t, _Tensor) and t._requires_grad and _state.enabled:
            times = [t[k] for k in range(len(tvals))]
        else:
            times = list(tvals)
        ys, info = _ode.integrate_to_times(rhs, y0, times, tvals, *opts)
        out = _stack(ys, axis=0)
    if not full_output:
        return out
    infodict = {k: _np.asarray(v) for k, v in info.items() if k != "message"}
    infodict["message"] = info["message"]
    infodict["method"] = method
    return out, infodict


def solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None, vectorized=False,
              args=None, **options):
    """Solve ``dy/dt = fun(t, y, *args)`` on ``t_span = (t0, tf)`` from ``y(t0) = y0`` (shape ``(n,)``), as
    ``scipy.integrate.solve_ivp`` with its explicit Runge-Kutta methods ``"RK45"`` (Dormand-Prince 5(4),
    default), ``"RK23"`` (Bogacki-Shampine 3(2)) and ``"DOP853"`` (Dormand-Prince 8(5,3)): SciPy's steps, error
    control, initial step and ``nfev`` (DOP853's dense output costs 3 evaluations per step, as SciPy's), and
    the implicit methods for stiff problems ``"Radau"`` (Radau IIA of order 5) and ``"BDF"`` (variable order
    1-5 NDF): SciPy's Newton iterations, Jacobian reuse, step-size and order selection and counts ``nfev``,
    ``njev``, ``nlu``; the Jacobian from ``jac`` (an array, or ``jac(t, y, *args)`` called with NumPy arrays)
    or SciPy's finite differences; a float64 state as in SciPy; the same steps as SciPy up to the rounding of
    the linear solves. Options
    ``rtol`` (1e-3), ``atol`` (1e-6), ``first_step``, ``max_step``. Returns an ``OdeResult`` with ``t`` (the
    accepted step times, or ``t_eval``, NumPy), ``y`` (a Tensor of shape ``(n, len(t))``, the values at
    ``t_eval`` from SciPy's dense output), ``sol``, ``t_events``, ``y_events``, ``nfev``, ``njev``, ``nlu``,
    ``status``, ``message``, ``success``.

    ``dense_output=True``: ``sol`` is an ``OdeSolution``, ``sol(t)`` evaluating SciPy's interpolant of the step
    containing ``t`` (a number gives shape ``(n,)``, a 1-D array ``(n, len(t))``), a Tensor differentiable in
    y0 and the parameters. ``events``: a function ``event(t, y, *args)`` returning a number, or a list of them,
    with SciPy's optional attributes ``terminal`` (True, or a count: stop at that occurrence, ``status=1``) and
    ``direction`` (+1 rising zeros only, -1 falling, 0 both); each zero is located by Brent's method on the
    step's dense output, as SciPy's. ``t_events[i]`` (shape ``(k,)``) and ``y_events[i]`` (shape ``(k, n)``;
    SciPy gives ``(0,)`` when there is no event) are Tensors, differentiable by the implicit function theorem:
    the event time moves with y0 and the parameters (``dt*/dp = -(dg/dp) / (dg/dt)`` along the solution), and
    a terminal event's final state ``y[:, -1]`` carries that dependence too.

    Differentiable in ``y0`` and in the tensors ``fun`` uses (from ``args`` or a closure): the explicit methods by
    backpropagation through the steps (step sizes chosen on values; differentiable again), Radau and BDF by the
    implicit function theorem on each step's converged stage (corrector) equations, with the exact Jacobian of
    ``fun`` by backpropagation. Those implicit-function-theorem derivatives (Radau, BDF, event times) are first
    derivatives only: differentiating them again (``create_graph=True``) raises. ``t_span`` and ``t_eval`` are
    plain numbers (for gradients with respect to the times, use ``odeint``). Not implemented: ``"LSODA"``
    (NotImplementedError), complex states for Radau and BDF; ``vectorized`` and ``jac_sparsity`` have no effect."""
    if method not in ("RK45", "RK23", "DOP853", "Radau", "BDF"):
        if method == "LSODA":
            raise NotImplementedError("solve_ivp: method 'LSODA' (ODEPACK's automatic stiffness switching) is not "
                                      "implemented in npgrad; use 'Radau' or 'BDF' for stiff problems, 'RK45' or "
                                      "'DOP853' otherwise")
        raise ValueError(f"solve_ivp: method must be 'RK45', 'RK23', 'DOP853', 'Radau' or 'BDF', got {method!r}")
    for v, name in ((t_span, "t_span"), (t_eval, "t_eval")):
        if isinstance(v, _Tensor) and v._requires_grad and _state.enabled:
            raise NotImplementedError(f"solve_ivp: {name} is not differentiable; use odeint for gradients with "
                                      f"respect to the times")
    try:
        t0, tf = (float(_np.asarray(v.data if isinstance(v, _Tensor) else v)) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"solve_ivp: t_span must be a pair of numbers (t0, tf), got {t_span!r}") from None
    if not (_np.isfinite(t0) and _np.isfinite(tf)):
        raise ValueError(f"solve_ivp: t_span must be finite, got t_span = ({t0}, {tf})")
    if args is not None and not isinstance(args, tuple):
        try:                                    # as SciPy: any sequence that unpacks (a list, an array)
            args = tuple(args)
        except TypeError:
            raise TypeError(f"solve_ivp: args cannot be unpacked; supply it as a tuple (e.g. args=({args!r},)), "
                            f"got {type(args).__name__}") from None
    y0 = _values(y0, "solve_ivp")
    if y0.ndim != 1:
        raise ValueError(f"solve_ivp: y0 must be 1-dimensional, got shape {y0.shape}")
    rtol = options.pop("rtol", 1e-3)
    atol = options.pop("atol", 1e-6)
    first_step = options.pop("first_step", None)
    max_step = float(options.pop("max_step", _np.inf))
    if not max_step > 0:
        raise ValueError(f"solve_ivp: max_step must be positive, got {max_step}")
    implicit = method in ("Radau", "BDF")
    jac = options.pop("jac", None) if implicit else None
    if options:
        import warnings
        warnings.warn(f"solve_ivp: the following arguments have no effect for method {method}: "
                      f"{', '.join(sorted(options))}", stacklevel=2)
    if _np.any(_np.asarray(rtol) < 100 * _np.finfo(float).eps):
        import warnings
        warnings.warn(f"solve_ivp: rtol too small, setting it to {100 * _np.finfo(float).eps}", stacklevel=2)
        rtol = _np.maximum(rtol, 100 * _np.finfo(float).eps)
    rtol = _tolerance(rtol, 1e-3, "rtol", y0.shape, "solve_ivp")
    atol = _tolerance(atol, 1e-6, "atol", y0.shape, "solve_ivp")
    direction = 1.0 if tf >= t0 else -1.0
    if t_eval is not None:
        t_eval = _np.asarray(t_eval.data if isinstance(t_eval, _Tensor) else t_eval, _np.float64)
        if t_eval.ndim != 1:
            raise ValueError(f"solve_ivp: t_eval must be 1-dimensional, got shape {t_eval.shape}")
        if not _np.isfinite(t_eval).all():
            raise ValueError(f"solve_ivp: t_eval must be finite, got {t_eval!r}")
        if (t_eval < min(t0, tf)).any() or (t_eval > max(t0, tf)).any():
            raise ValueError(f"solve_ivp: values in t_eval are not within t_span = ({t0}, {tf})")
        d = _np.diff(t_eval)
        if (direction > 0 and (d <= 0).any()) or (direction < 0 and (d >= 0).any()):
            raise ValueError("solve_ivp: values in t_eval are not properly sorted (they must follow t_span's "
                             "direction, without repeats)")
    from .ops._ode_dop853 import DOP853, Dop853Stepper
    tab = {"RK45": _ode.RK45, "RK23": _ode.RK23, "DOP853": DOP853}.get(method)
    order = {"Radau": 3, "BDF": 1}[method] if implicit else tab.error_order
    if implicit and y0.dtype.kind == "f" and y0.dtype != _np.float64:
        y0 = y0.astype(_np.float64)            # as SciPy's solvers (the implicit methods' linear algebra is float64)
    rhs = _ode.Rhs(fun, args or (), True, y0.shape, y0.dtype, "solve_ivp", name="fun")
    f0 = rhs(t0, y0)
    if first_step is None:
        h_abs = _ode.initial_step(rhs, t0, y0, f0, abs(tf - t0), max_step, direction, order, rtol, atol)
    else:
        if not 0 < first_step <= abs(tf - t0):
            raise ValueError(f"solve_ivp: first_step must be positive and not exceed the span, got {first_step}")
        h_abs = float(first_step)
    if implicit:
        if y0.dtype.kind == "c":
            raise NotImplementedError(f"solve_ivp: method {method!r} supports real states only in npgrad")
        from .ops._ode_radau import RadauStepper
        from .ops._ode_bdf import BDFStepper
        if callable(jac) and args:
            jac = (lambda j: lambda t, y: j(t, y, *args))(jac)
        stepper = RadauStepper if method == "Radau" else BDFStepper
        st = stepper(rhs, t0, y0, f0, h_abs, rtol, atol, max_step, direction, jac)
    else:
        stepper = Dop853Stepper if method == "DOP853" else _ode.Stepper
        st = stepper(rhs, tab, t0, t0, y0, f0, h_abs, rtol, atol, max_step, 0.0, direction)
    from .ops._ode_ivp import MESSAGES, solve
    out = solve(st, rhs, t0, tf, y0, t_eval, dense_output, events, args or ())
    status = out["status"]
    return OdeResult(t=out["t"], y=out["y"], sol=out["sol"], t_events=out["t_events"], y_events=out["y_events"],
                     nfev=rhs.nfe, njev=getattr(st, "njev", 0), nlu=getattr(st, "nlu", 0), status=status,
                     message=MESSAGES[status], success=status >= 0)
