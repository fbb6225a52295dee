"""SciPy's ``DOP853``: Dormand and Prince's explicit Runge-Kutta method of order 8 with the 5th and 3rd order
error estimators combined as in Hairer's code, and its 7th order dense output (3 extra stages, evaluated only
when an interpolant is needed, as SciPy does, so that ``nfev`` agrees). The step-size control is the RK45
one (``Stepper.step``) with the error exponent -1/8. The stages are Tensors: backpropagation through the
steps gives the derivative of the computed solution, as for RK45."""
import numpy as np

from . import _dop853_tableau as T
from ._ode import Stepper, _Tableau, for_state, lincomb
from ._ode_ivp import RkInterpolant
from ..tensor import Tensor, _wrap

_N = T.N_STAGES
_ROWS = [[T.A.get(i, {}).get(j, 0.0) for j in range(i)] for i in range(len(T.C))]
_B = [T.A[_N].get(j, 0.0) for j in range(_N)]
_E5 = [T.E5.get(j, 0.0) for j in range(_N + 1)]
_E3 = [(_B[j] if j < _N else 0.0) - T.BHH.get(j, 0.0) for j in range(_N + 1)]
_E5_ARR, _E3_ARR = np.array(_E5), np.array(_E3)
_D = [[T.D[i].get(j, 0.0) for j in range(len(T.C))] for i in range(len(T.D))]

DOP853 = _Tableau("DOP853", T.C[:_N], _ROWS[:_N], _B, None, None, 7)


def _sq(x):
    return float(np.linalg.norm(x) ** 2)   # SciPy's rounding (not the sum of squares)


def _dot(ks, coefs):
    """``K^T coefs`` as SciPy's ``np.dot(K[:s].T, a[:s])`` (the same rounding: DOP853's error estimate is a
    difference of nearly equal sums, where the order of the additions shows)."""
    from .shape import stack
    y = ks[0]
    if isinstance(y, Tensor):
        return stack(ks).T @ _wrap(np.asarray(coefs, np.empty(0, y.dtype).real.dtype))
    return np.dot(np.stack(ks).T, np.asarray(coefs))


class Dop853Stepper(Stepper):
    def _stages(self, t, y, f, h):
        hy = for_state(h, self.dtype)
        ks = [f]
        for s in range(1, _N):
            ks.append(self.rhs(t + T.C[s] * h, y + _dot(ks, _ROWS[s]) * hy))
        y_new = y + hy * _dot(ks, _B)
        f_new = self.rhs(t + h, y_new)
        ks.append(f_new)
        return y_new, f_new, ks

    def _error_norm(self, ks, hv, scale):
        K = np.stack(ks)                              # (13, n): SciPy's K.T @ E, for the same rounding
        e5, e3 = _sq(K.T @ _E5_ARR / scale), _sq(K.T @ _E3_ARR / scale)
        if e5 == 0 and e3 == 0:
            return 0.0
        return abs(hv) * e5 / np.sqrt((e5 + 0.01 * e3) * len(scale))

    def interpolant(self):
        ks, h = list(self.K), self.h
        hy = for_state(h, self.dtype)
        for s in range(_N + 1, len(T.C)):
            ks.append(self.rhs(self.t_old + T.C[s] * h, self.y_old + hy * lincomb(_ROWS[s], ks)))
        dy = self.y - self.y_old
        f_old = ks[0]
        F = [dy, hy * f_old - dy, 2.0 * dy - hy * (self.f + f_old)]
        F += [hy * lincomb(d, ks) for d in _D]
        return Dop853Interpolant(self.tv_old, self.tv, self.y_old, F, 1.0)


# the weight of F[j] is x^a (1 - x)^b: F[j] is added at step 6 - j of Horner's scheme, which multiplies by x
# at the even steps and by 1 - x at the odd ones
_POW = np.array([[sum(1 for i in range(6 - j, 7) if i % 2 == 0), sum(1 for i in range(6 - j, 7) if i % 2)]
                 for j in range(7)], np.float64)


class Dop853Interpolant(RkInterpolant):
    """SciPy's ``Dop853DenseOutput``: ``y_old + sum_j F_j x^a_j (1 - x)^b_j``."""

    def _weights(self, x):
        x = x[:, None]
        return x ** _POW[:, 0] * (1 - x) ** _POW[:, 1]

    def _dweights(self, x):
        a, b = _POW[:, 0], _POW[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            da = np.where(a > 0, a * x ** np.maximum(a - 1, 0), 0.0) * (1 - x) ** b
            db = np.where(b > 0, b * (1 - x) ** np.maximum(b - 1, 0), 0.0) * x ** a
        return da - db
