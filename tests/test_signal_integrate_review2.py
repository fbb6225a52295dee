"""Round 2 of the review of npg.signal, npg.integrate and NumPy's calculus helpers against SciPy and NumPy:
solvers that must stop (not loop forever) when ``fun`` returns NaN, ``scipy.integrate.trapezoid``'s dtype, and
``solve_ivp``'s ``args`` as any sequence."""
import warnings

import numpy as np
import pytest
import scipy.integrate as si

import npgrad as npg
from npgrad import integrate


# ------------------------------------------------------------------------ non-finite right-hand sides
def _nan_rhs_np(y, t):
    return y * np.nan


def test_odeint_with_a_nan_right_hand_side_stops_with_nan_rows_as_scipy():
    t = np.array([0.0, 0.5, 1.0])
    ref = si.odeint(_nan_rhs_np, [1.0, 2.0], t)                  # [[1, 2], [nan, nan], [nan, nan]]
    with pytest.warns(integrate.ODEintWarning):
        out = integrate.odeint(lambda y, t: y * np.nan, npg.tensor([1.0, 2.0]), t)
    np.testing.assert_array_equal(out.data, ref)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF"])
def test_solve_ivp_with_a_nan_right_hand_side_fails_instead_of_looping(method):
    # SciPy's explicit methods loop forever here (a NaN first step), its implicit ones raise from the LU
    # factorization; the integration must end, with status -1 (failure) at t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = integrate.solve_ivp(lambda t, y: y * np.nan, (0.0, 1.0), npg.tensor([1.0]), method=method)
    assert res.status == -1 and not res.success
    assert res.t[0] == 0.0 and res.t[-1] == 0.0
