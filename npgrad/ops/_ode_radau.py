"""SciPy's ``Radau``: the implicit Runge-Kutta method Radau IIA of order 5 for stiff problems, step for step
``scipy/integrate/_ivp/radau.py``: the collocation system solved by simplified Newton iterations in the
transformed variables (one real and one complex linear system, at most 6 iterations), the Jacobian from ``jac``
or SciPy's adaptive forward differences (``num_jac``), its reuse and refresh, the error estimate, the step-size
predictor (Gustafsson's), the initial step and the cubic dense output.

The steps are computed on NumPy values. The gradient goes through each step by the implicit function theorem on
the converged stage equations ``R(Z) = Z - h (A x I) F(t + c h, y + Z) = 0``: ``dZ = -(dR/dZ)^-1 dR``, with the
exact ``dR/dZ`` (the Jacobian of ``fun`` at the three stage points by backpropagation) and ``dR`` the
dependence on y and on the parameters ``fun`` uses. That is the exact derivative of the exactly solved
collocation system (the computed one is solved to SciPy's Newton tolerance). Not differentiable twice.
"""
import numpy as np

from ..autograd.grad_mode import _state, no_grad
from ..tensor import Tensor, _wrap
from ._ode import rms, val
from ._ode_ivp import RkInterpolant, first_order_only

EPS = np.finfo(float).eps
S6 = 6 ** 0.5
C = np.array([(4 - S6) / 10, (4 + S6) / 10, 1])
E = np.array([-13 - 7 * S6, -13 + 7 * S6, -1]) / 3
A = np.array([[(88 - 7 * S6) / 360, (296 - 169 * S6) / 1800, (-2 + 3 * S6) / 225],   # Radau IIA, order 5
              [(296 + 169 * S6) / 1800, (88 + 7 * S6) / 360, (-2 - 3 * S6) / 225],
              [(16 - S6) / 36, (16 + S6) / 36, 1 / 9]])
# A^-1 = T diag(MU_REAL, MU_COMPLEX as a 2x2 real block) TI: the Newton iterations decouple
MU_REAL = 3 + 3 ** (2 / 3) - 3 ** (1 / 3)
MU_COMPLEX = 3 + 0.5 * (3 ** (1 / 3) - 3 ** (2 / 3)) - 0.5j * (3 ** (5 / 6) + 3 ** (7 / 6))
T = np.array([[0.09443876248897524, -0.14125529502095421, 0.03002919410514742],
              [0.25021312296533332, 0.20412935229379994, -0.38294211275726192],
              [1, 1, 0]])
TI = np.array([[4.17871859155190428, 0.32768282076106237, 0.52337644549944951],
               [-4.17871859155190428, -0.32768282076106237, 0.47662355450055044],
               [0.50287263494578682, -2.57192694985560522, 0.59603920482822492]])
TI_REAL, TI_COMPLEX = TI[0], TI[1] + 1j * TI[2]
P = np.array([[13 / 3 + 7 * S6 / 3, -23 / 3 - 22 * S6 / 3, 10 / 3 + 5 * S6],
              [13 / 3 - 7 * S6 / 3, -23 / 3 + 22 * S6 / 3, 10 / 3 - 5 * S6],
              [1 / 3, -8 / 3, 10 / 3]])
NEWTON_MAXITER, MIN_FACTOR, MAX_FACTOR = 6, 0.2, 10


def norm(x):
    return rms(x)


def num_jac(fun, t, y, f, threshold, factor):
    """SciPy's ``num_jac`` (dense): forward differences whose steps adapt from call to call (``factor``)."""
    n = y.shape[0]
    if n == 0:
        return np.empty((0, 0)), factor
    factor = np.full(n, EPS ** 0.5) if factor is None else factor.copy()
    y_scale = (2 * (np.real(f) >= 0).astype(float) - 1) * np.maximum(threshold, np.abs(y))
    h = (y + factor * y_scale) - y
    for i in np.nonzero(h == 0)[0]:
        while h[i] == 0:
            factor[i] *= 10
            h[i] = (y[i] + factor[i] * y_scale[i]) - y[i]
    h_vecs = np.diag(h)
    f_new = fun(t, y[:, None] + h_vecs)
    diff = f_new - f[:, None]
    max_ind = np.argmax(np.abs(diff), axis=0)
    r = np.arange(n)
    max_diff = np.abs(diff[max_ind, r])
    scale = np.maximum(np.abs(f[max_ind]), np.abs(f_new[max_ind, r]))
    too_small = max_diff < EPS ** 0.875 * scale
    if np.any(too_small):
        ind, = np.nonzero(too_small)
        new_factor = 10 * factor[ind]
        h_new = (y[ind] + new_factor * y_scale[ind]) - y[ind]
        h_vecs[ind, ind] = h_new
        f_new = fun(t, y[:, None] + h_vecs[:, ind])
        diff_new = f_new - f[:, None]
        max_ind = np.argmax(np.abs(diff_new), axis=0)
        r = np.arange(ind.shape[0])
        max_diff_new = np.abs(diff_new[max_ind, r])
        scale_new = np.maximum(np.abs(f[max_ind]), np.abs(f_new[max_ind, r]))
        update = max_diff[ind] * scale_new < max_diff_new * scale[ind]
        if np.any(update):
            update, = np.nonzero(update)
            ui = ind[update]
            factor[ui], h[ui] = new_factor[update], h_new[update]
            diff[:, ui], scale[ui], max_diff[ui] = diff_new[:, update], scale_new[update], max_diff_new[update]
    diff /= h
    factor[max_diff < EPS ** 0.75 * scale] *= 10
    factor[max_diff > EPS ** 0.25 * scale] *= 0.1
    return diff, np.maximum(factor, 1e3 * EPS)


def exact_jacobian(rhs, t, yv, method):
    """d fun / dy at (t, yv) by backpropagation (n passes), not counted in nfev."""
    from ..autograd import grad
    n = yv.shape[0]
    Y = _wrap(np.array(yv, dtype=np.float64)).requires_grad_()
    F = rhs(t, Y)
    rhs.nfe -= 1
    if n and not F.requires_grad:
        raise RuntimeError(f"solve_ivp (method {method!r}): fun's dy/dt does not depend on y through npgrad "
                           f"operations (computed from NumPy values?), so the gradient through the implicit steps "
                           f"cannot be formed; write fun with npgrad ops, or solve under npg.no_grad()")
    rows = [grad(F[i], [Y], retain_graph=i < n - 1, allow_unused=True)[0] for i in range(n)]
    return np.stack([np.zeros(n) if r is None else val(r) for r in rows]) if n else np.zeros((0, 0))


def predict_factor(h_abs, h_abs_old, error_norm, error_norm_old):
    if error_norm_old is None or h_abs_old is None or error_norm == 0:
        multiplier = 1
    else:
        multiplier = h_abs / h_abs_old * (error_norm_old / error_norm) ** 0.25
    with np.errstate(divide="ignore"):
        return min(1, multiplier) * error_norm ** -0.25


def newton_will_fail(rate, k, maxiter, step_norm, tol):
    """SciPy's early exit from an implicit solver's Newton loop: the iteration diverges (``rate`` >= 1) or cannot
    reach ``tol`` in the ``maxiter - k`` iterations left (shared by Radau and BDF)."""
    return rate is not None and (rate >= 1 or rate ** (maxiter - k) / (1 - rate) * step_norm > tol)


def newton_converged(rate, step_norm, tol):
    """SciPy's convergence test of that Newton loop: an exact step, or the remaining error bound below ``tol``."""
    return step_norm == 0 or rate is not None and rate / (1 - rate) * step_norm < tol


class RadauStepper:
    """The state of a Radau integration; ``step(bound)`` takes one accepted step towards ``bound``."""

    error_order = 3

    def __init__(self, rhs, t0, y0, f0, h_abs, rtol, atol, max_step, direction, jac):
        self.rhs, self.t, self.tv, self.y, self.yv, self.f = rhs, float(t0), float(t0), y0, val(y0), val(f0)
        self.h_abs, self.rtol, self.atol, self.max_step, self.direction = h_abs, rtol, atol, max_step, direction
        self.h_abs_old = self.error_norm_old = self.sol = self.Z = self.jac_factor = None
        self.newton_tol = max(10 * EPS / np.min(rtol), min(0.03, np.min(rtol) ** 0.5)) if np.ndim(rtol) else \
            max(10 * EPS / rtol, min(0.03, rtol ** 0.5))
        self.njev = self.nlu = 0
        self.n = self.yv.shape[0]
        self.I = np.identity(self.n)
        self.jac, self.J = self._validate_jac(jac)
        self.current_jac, self.LU_real, self.LU_complex = True, None, None
        self.tv_old = self.y_old = None

    # ------------------------------------------------------------------ function values
    def fun(self, t, y):
        with no_grad():
            return val(self.rhs(t, _wrap(y))).copy()

    def _fun_vectorized(self, t, ys):
        """Columns of ``fun`` for the finite differences, not counted in nfev (as SciPy's)."""
        out = np.empty_like(ys)
        for i in range(ys.shape[1]):
            out[:, i] = self.fun(t, ys[:, i])
            self.rhs.nfe -= 1
        return out

    def _validate_jac(self, jac):
        if jac is None:
            def jac_wrapped(t, y, f):
                self.njev += 1
                J, self.jac_factor = num_jac(self._fun_vectorized, t, y, f, self.atol, self.jac_factor)
                return J
            return jac_wrapped, jac_wrapped(self.t, self.yv, self.f)
        if callable(jac):
            def jac_wrapped(t, y, _=None):
                self.njev += 1
                return self._check_jac(jac(t, y))
            return jac_wrapped, jac_wrapped(self.t, self.yv)
        return None, self._check_jac(jac)

    def _check_jac(self, J):
        J = np.asarray(val(J), dtype=float)
        if J.shape != (self.n, self.n):
            raise ValueError(f"solve_ivp: jac is expected to have shape {(self.n, self.n)}, but it has {J.shape}")
        return J

    def lu(self, M):
        self.nlu += 1
        return M                      # np.linalg.solve factors it again (LAPACK gesv = getrf + getrs)

    # ------------------------------------------------------------------ Newton
    def _collocation(self, t, y, h, Z0, scale, LU_real, LU_complex):
        n = y.shape[0]
        M_real, M_complex = MU_REAL / h, MU_COMPLEX / h
        W = TI.dot(Z0)
        Z, F, dW = Z0, np.empty((3, n)), np.empty_like(W)
        dW_norm_old, converged, rate = None, False, None
        for k in range(NEWTON_MAXITER):
            for i in range(3):
                F[i] = self.fun(t + h * C[i], y + Z[i])
            if not np.all(np.isfinite(F)):
                break
            f_real = F.T.dot(TI_REAL) - M_real * W[0]
            f_complex = F.T.dot(TI_COMPLEX) - M_complex * (W[1] + 1j * W[2])
            dW_real = np.linalg.solve(LU_real, f_real)
            dW_complex = np.linalg.solve(LU_complex, f_complex)
            dW[0], dW[1], dW[2] = dW_real, dW_complex.real, dW_complex.imag
            dW_norm = norm(dW / scale)
            if dW_norm_old is not None:
                rate = dW_norm / dW_norm_old
            if newton_will_fail(rate, k, NEWTON_MAXITER, dW_norm, self.newton_tol):
                break
            W += dW
            Z = T.dot(W)
            if newton_converged(rate, dW_norm, self.newton_tol):
                converged = True
                break
            dW_norm_old = dW_norm
        return converged, k + 1, Z, rate

    def step(self, bound, bound_v):
        t, y, f = self.tv, self.yv, self.f
        atol, rtol = self.atol, self.rtol
        min_step = 10 * np.abs(np.nextafter(t, self.direction * np.inf) - t)
        if self.h_abs > self.max_step:
            h_abs, h_abs_old, error_norm_old = self.max_step, None, None
        elif self.h_abs < min_step:
            h_abs, h_abs_old, error_norm_old = min_step, None, None
        else:
            h_abs, h_abs_old, error_norm_old = self.h_abs, self.h_abs_old, self.error_norm_old
        J, LU_real, LU_complex, current_jac, jac = self.J, self.LU_real, self.LU_complex, self.current_jac, self.jac
        rejected = False
        while True:
            if not h_abs >= min_step:      # (a NaN step size, from a NaN fun, fails too)
                return False
            h = h_abs * self.direction
            t_new = t + h
            if self.direction * (t_new - bound_v) > 0:
                t_new = bound_v
            h = t_new - t
            h_abs = np.abs(h)
            Z0 = np.zeros((3, y.shape[0])) if self.sol is None else self._sol_values(t + h * C).T - y
            scale = atol + np.abs(y) * rtol
            converged = False
            while not converged:
                if LU_real is None or LU_complex is None:
                    LU_real = self.lu(MU_REAL / h * self.I - J)
                    LU_complex = self.lu(MU_COMPLEX / h * self.I - J)
                converged, n_iter, Z, rate = self._collocation(t, y, h, Z0, scale, LU_real, LU_complex)
                if not converged:
                    if current_jac:
                        break
                    J = self.jac(t, y, f)
                    current_jac, LU_real, LU_complex = True, None, None
            if not converged:
                h_abs *= 0.5
                LU_real = LU_complex = None
                continue
            y_new = y + Z[-1]
            ZE = Z.T.dot(E) / h
            error = np.linalg.solve(LU_real, f + ZE)
            scale = atol + np.maximum(np.abs(y), np.abs(y_new)) * rtol
            error_norm = norm(error / scale)
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            if rejected and error_norm > 1:
                error = np.linalg.solve(LU_real, self.fun(t, y + error) + ZE)
                error_norm = norm(error / scale)
            if error_norm > 1:
                factor = predict_factor(h_abs, h_abs_old, error_norm, error_norm_old)
                h_abs *= max(MIN_FACTOR, safety * factor)
                LU_real = LU_complex = None
                rejected = True
            else:
                break
        recompute_jac = jac is not None and n_iter > 2 and rate > 1e-3
        factor = min(MAX_FACTOR, safety * predict_factor(h_abs, h_abs_old, error_norm, error_norm_old))
        if not recompute_jac and factor < 1.2:
            factor = 1
        else:
            LU_real = LU_complex = None
        f_new = self.fun(t_new, y_new)
        if recompute_jac:
            J = jac(t_new, y_new, f_new)
            current_jac = True
        elif jac is not None:
            current_jac = False
        self.h_abs_old, self.error_norm_old, self.h_abs = self.h_abs, error_norm, h_abs * factor
        Zt = self._differentiable_stages(t, h, Z)
        self.y_old, self.tv_old, self.t_old = self.y, t, t
        self.y = self.y + Zt[2] if isinstance(Zt, Tensor) else self.y + _wrap(Z[2])
        self.yv, self.tv, self.t, self.f, self.Z = y_new, t_new, t_new, f_new, Zt
        self.LU_real, self.LU_complex, self.current_jac, self.J = LU_real, LU_complex, current_jac, J
        self.Zv, self.sol = Z, (t, t_new, y, Z.T.dot(P))
        return True

    def _sol_values(self, ts):
        t_old, t, y_old, Q = self.sol
        x = (ts - t_old) / (t - t_old)
        p = np.cumprod(np.tile(x, (3, 1)), axis=0)
        return np.dot(Q, p) + y_old[:, None]

    # ------------------------------------------------------------------ gradient
    def _differentiable_stages(self, t, h, Z):
        """The stages as a Tensor carrying d/dy and d/dparameters (implicit function theorem), or Z itself."""
        y = self.y
        if not _state.enabled:
            return Z
        n, yv = self.n, val(y)
        Fc = []
        for j in range(3):                      # F at the stage points, y + Z held constant: the parameters
            Fc.append(self.rhs(t + C[j] * h, _wrap(yv + Z[j])))
            self.rhs.nfe -= 1
        y_needs = isinstance(y, Tensor) and y.requires_grad
        if not y_needs and not any(isinstance(F, Tensor) and F.requires_grad for F in Fc):
            return Z
        Js = [exact_jacobian(self.rhs, t + C[j] * h, yv + Z[j], "Radau") for j in range(3)]
        M = np.eye(3 * n) - h * np.kron(A, np.ones((n, n))) * np.block(
            [[Js[j] for j in range(3)] for _ in range(3)])
        dy = (y - y.detach()) if y_needs else None
        dF = []
        for j in range(3):
            d = Fc[j] - Fc[j].detach() if isinstance(Fc[j], Tensor) and Fc[j].requires_grad else None
            if dy is not None:
                jd = _wrap(Js[j]) @ dy
                d = jd if d is None else d + jd
            dF.append(d if d is not None else _wrap(np.zeros(n)))
        from .shape import stack
        dF = stack(dF)                           # (3, n), value 0
        dR = (_wrap(-h * A) @ dF).reshape(-1)    # dR/dtheta, per stage
        dZ = first_order_only(-(_wrap(np.linalg.inv(M)) @ dR), "a Radau step")
        return _wrap(Z) + dZ.reshape(3, n) if n else _wrap(Z)

    def interpolant(self):
        return RadauInterpolant(self.tv_old, self.tv, self.y_old, self.Z, 1.0)


class RadauInterpolant(RkInterpolant):
    """SciPy's ``RadauDenseOutput``: ``y_old + Q [x, x^2, x^3]`` with ``Q = Z^T P``."""

    def __init__(self, t_old, t, y_old, Z, h):
        rows = [Z[i] for i in range(3)] if isinstance(Z, Tensor) else [np.asarray(z) for z in Z]
        if not isinstance(Z, Tensor) and isinstance(y_old, Tensor):
            rows = [_wrap(r) for r in rows]
        super().__init__(t_old, t, y_old, rows, h, P)
