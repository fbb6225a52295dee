"""SciPy's ``BDF``: the variable-order (1 to 5) backward differentiation formulas for stiff problems (NDF
variant with Klopfenstein-Shampine's kappa), step for step ``scipy/integrate/_ivp/bdf.py``: the history kept
as modified divided differences ``D``, rescaled when the step size changes, simplified Newton iterations (at
most 4) with a Jacobian from ``jac`` or SciPy's finite differences, the order and step-size selection, and the
dense output.

The steps are computed on NumPy values. The gradient is carried by zero-valued Tensor perturbations ``dD`` of
the history rows, updated by the same linear operations as ``D``; each step's correction ``d`` (the root of
``R(d) = d + psi - c f(t_new, y_predict + d)``) gets its derivative by the implicit function theorem,
``dd = -(I - c J)^-1 dR``, with the exact Jacobian ``J`` of ``fun`` at the new point (by backpropagation).
First derivatives only.
"""
import numpy as np

from ..autograd.grad_mode import _state
from ..tensor import Tensor, _wrap
from ._ode import val
from ._ode_ivp import first_order_only
from ._ode_radau import RadauStepper, exact_jacobian, newton_converged, newton_will_fail, norm, num_jac

MAX_ORDER, NEWTON_MAXITER, MIN_FACTOR, MAX_FACTOR = 5, 4, 0.2, 10
KAPPA = np.array([0, -0.1850, -1 / 9, -0.0823, -0.0415, 0])
GAMMA = np.hstack((0, np.cumsum(1 / np.arange(1, MAX_ORDER + 1))))
ALPHA = (1 - KAPPA) * GAMMA
ERROR_CONST = KAPPA * GAMMA + 1 / np.arange(1, MAX_ORDER + 2)


def compute_R(order, factor):
    I = np.arange(1, order + 1)[:, None]
    J = np.arange(1, order + 1)
    M = np.zeros((order + 1, order + 1))
    M[1:, 1:] = (I - 1 - factor * J) / I
    M[0] = 1
    return np.cumprod(M, axis=0)


def _comb(coefs, rows):
    """``sum c_j rows[j]`` over the rows that are Tensors (None: no dependence); None if there is none."""
    out = None
    for c, r in zip(coefs, rows):
        if r is not None and c != 0:
            out = r * float(c) if out is None else out + r * float(c)
    return out


def _add(a, b):
    return b if a is None else a if b is None else a + b


def _neg(a):
    return None if a is None else -a


class BDFStepper(RadauStepper):
    error_order = 1
    alt_segment = True

    def __init__(self, rhs, t0, y0, f0, h_abs, rtol, atol, max_step, direction, jac):
        super().__init__(rhs, t0, y0, f0, h_abs, rtol, atol, max_step, direction, jac)
        n = self.n
        self.D = np.zeros((MAX_ORDER + 3, n))
        self.D[0] = self.yv
        self.D[1] = self.f * self.h_abs * direction
        self.dD = [None] * (MAX_ORDER + 3)     # the zero-valued perturbations carrying the gradient
        if _state.enabled:
            if isinstance(y0, Tensor) and y0.requires_grad:
                self.dD[0] = y0 - y0.detach()
            if isinstance(f0, Tensor) and f0.requires_grad:
                self.dD[1] = (f0 - f0.detach()) * float(self.h_abs * direction)
        self.order, self.n_equal_steps, self.LU = 1, 0, None
        self.y = _wrap(self.yv.copy()) if self.dD[0] is None else _wrap(self.yv.copy()) + self.dD[0]

    def _validate_jac(self, jac):
        if jac is None:
            def jac_wrapped(t, y, _=None):
                self.njev += 1
                f = self.fun(t, y)
                self.rhs.nfe -= 1
                J, self.jac_factor = num_jac(self._fun_vectorized, t, y, f, self.atol, self.jac_factor)
                return J
            return jac_wrapped, jac_wrapped(self.t, self.yv)
        return super()._validate_jac(jac)

    def _change_D(self, order, factor):
        RU = compute_R(order, factor).dot(compute_R(order, 1))
        self.D[:order + 1] = np.dot(RU.T, self.D[:order + 1])
        rows = self.dD[:order + 1]
        if any(r is not None for r in rows):
            self.dD[:order + 1] = [_comb(RU[:, i], rows) for i in range(order + 1)]

    def _solve_system(self, t_new, y_predict, c, psi, LU, scale):
        d, y, dy_norm_old, converged = 0, y_predict.copy(), None, False
        for k in range(NEWTON_MAXITER):
            f = self.fun(t_new, y)
            if not np.all(np.isfinite(f)):
                break
            dy = np.linalg.solve(LU, c * f - psi - d)
            dy_norm = norm(dy / scale)
            rate = None if dy_norm_old is None else dy_norm / dy_norm_old
            if newton_will_fail(rate, k, NEWTON_MAXITER, dy_norm, self.newton_tol):
                break
            y += dy
            d += dy
            if newton_converged(rate, dy_norm, self.newton_tol):
                converged = True
                break
            dy_norm_old = dy_norm
        return converged, k + 1, y, d

    def step(self, bound, bound_v):
        t, D = self.tv, self.D
        min_step = 10 * np.abs(np.nextafter(t, self.direction * np.inf) - t)
        if self.h_abs > self.max_step:
            h_abs = self.max_step
            self._change_D(self.order, self.max_step / self.h_abs)
            self.n_equal_steps = 0
        elif self.h_abs < min_step:
            h_abs = min_step
            self._change_D(self.order, min_step / self.h_abs)
            self.n_equal_steps = 0
        else:
            h_abs = self.h_abs
        atol, rtol, order, J, LU = self.atol, self.rtol, self.order, self.J, self.LU
        current_jac = self.jac is None
        while True:
            if not h_abs >= min_step:      # (a NaN step size, from a NaN fun, fails too)
                return False
            h = h_abs * self.direction
            t_new = t + h
            if self.direction * (t_new - bound_v) > 0:
                t_new = bound_v
                self._change_D(order, np.abs(t_new - t) / h_abs)
                self.n_equal_steps = 0
                LU = None
            h = t_new - t
            h_abs = np.abs(h)
            y_predict = np.sum(D[:order + 1], axis=0)
            scale = atol + rtol * np.abs(y_predict)
            psi = np.dot(D[1: order + 1].T, GAMMA[1: order + 1]) / ALPHA[order]
            converged, c = False, h / ALPHA[order]
            while not converged:
                if LU is None:
                    LU = self.lu(self.I - c * J)
                converged, n_iter, y_new, d = self._solve_system(t_new, y_predict, c, psi, LU, scale)
                if not converged:
                    if current_jac:
                        break
                    J = self.jac(t_new, y_predict)
                    LU, current_jac = None, True
            if not converged:
                h_abs *= 0.5
                self._change_D(order, 0.5)
                self.n_equal_steps, LU = 0, None
                continue
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            scale = atol + rtol * np.abs(y_new)
            error_norm = norm(ERROR_CONST[order] * d / scale)
            if error_norm > 1:
                factor = max(MIN_FACTOR, safety * error_norm ** (-1 / (order + 1)))
                h_abs *= factor
                self._change_D(order, factor)
                self.n_equal_steps = 0
            else:
                break
        dd, dy_pred = self._tangent(t_new, y_new, c, order)
        self.n_equal_steps += 1
        self.y_old, self.tv_old, self.t_old = self.y, t, t
        self.tv = self.t = t_new
        self.yv, self.h_abs, self.J, self.LU = y_new, h_abs, J, LU
        dy_new = _add(dy_pred, dd)
        self.y = _wrap(y_new) if dy_new is None else _wrap(y_new) + dy_new
        D[order + 2] = d - D[order + 1]
        D[order + 1] = d
        for i in reversed(range(order + 1)):
            D[i] += D[i + 1]
        dD = self.dD
        dD[order + 2] = _add(dd, _neg(dD[order + 1]))
        dD[order + 1] = dd
        for i in reversed(range(order + 1)):
            dD[i] = _add(dD[i], dD[i + 1])
        if self.n_equal_steps < order + 1:
            return True
        error_m_norm = norm(ERROR_CONST[order - 1] * D[order] / scale) if order > 1 else np.inf
        error_p_norm = norm(ERROR_CONST[order + 1] * D[order + 2] / scale) if order < MAX_ORDER else np.inf
        error_norms = np.array([error_m_norm, error_norm, error_p_norm])
        with np.errstate(divide="ignore"):
            factors = error_norms ** (-1 / np.arange(order, order + 3))
        order += int(np.argmax(factors)) - 1
        self.order = order
        factor = min(MAX_FACTOR, safety * np.max(factors))
        self.h_abs *= factor
        self._change_D(order, factor)
        self.n_equal_steps, self.LU = 0, None
        return True

    def _tangent(self, t_new, y_new, c, order):
        """The perturbation of the step's correction d (implicit function theorem) and of y_predict."""
        if not _state.enabled:
            return None, None
        dD = self.dD
        dy_pred = _comb(np.ones(order + 1), dD[:order + 1])
        dpsi = _comb(GAMMA[1:order + 1] / ALPHA[order], dD[1:order + 1])
        Fc = self.rhs(t_new, _wrap(y_new.copy()))
        self.rhs.nfe -= 1
        dF = Fc - Fc.detach() if isinstance(Fc, Tensor) and Fc.requires_grad else None
        if dy_pred is None and dF is None and dpsi is None:
            return None, None
        n = self.n
        Jx = exact_jacobian(self.rhs, t_new, y_new, "BDF")
        if dy_pred is not None:
            dF = _add(dF, _wrap(Jx) @ dy_pred)
        dR = _add(dpsi, None if dF is None else dF * (-float(c)))
        dd = first_order_only(-(_wrap(np.linalg.inv(np.eye(n) - c * Jx)) @ dR), "a BDF step")
        return dd, dy_pred

    def interpolant(self):
        order = self.order
        rows = [_wrap(self.D[i].copy()) if self.dD[i] is None else _wrap(self.D[i].copy()) + self.dD[i]
                for i in range(order + 1)]
        return BdfInterpolant(self.tv_old, self.tv, self.h_abs * self.direction, order, rows)


class BdfInterpolant:
    """SciPy's ``BdfDenseOutput``: ``D0 + sum_k D_k prod_{j<k} (t - t_shift_j) / denom_j``, Tensor rows."""

    def __init__(self, t_old, t, h, order, rows):
        from .shape import stack
        self.t_old, self.t, self.order = float(t_old), float(t), order
        self.t_shift = self.t - h * np.arange(order)
        self.denom = h * (1 + np.arange(order))
        self.D0, self.K = rows[0], stack(rows[1:])

    def __call__(self, tv):
        tv = np.asarray(tv, np.float64)
        if tv.ndim == 0:
            p = np.cumprod((tv - self.t_shift) / self.denom)
            return self.D0 + _wrap(p) @ self.K
        p = np.cumprod((tv - self.t_shift[:, None]) / self.denom[:, None], axis=0)     # (order, m)
        return self.D0[:, None] + self.K.T @ _wrap(p)

    def deriv(self, tv):
        x = (float(tv) - self.t_shift) / self.denom
        dp = np.array([sum(np.prod(np.delete(x[:k + 1], m)) / self.denom[m] for m in range(k + 1))
                       for k in range(self.order)])
        return dp @ val(self.K)
