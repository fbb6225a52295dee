"""Hunt for silent wrong answers in npg.integrate, npg.signal, npg.spectral and the convolution / pooling ops:
regression tests for what it found (SciPy is the reference)."""
import numpy as np
import pytest
import scipy.integrate as si

import npgrad as npg
from npgrad import integrate


# ------------------------------------------------------------------------------- solve_ivp's t_span
@pytest.mark.parametrize("t_span", [(0.0, np.nan), (np.nan, 1.0), (0.0, np.inf), (-np.inf, 0.0)])
def test_solve_ivp_refuses_a_non_finite_t_span(t_span):
    # a NaN end made npgrad integrate backwards (tf >= t0 is False) and return hundreds of meaningless steps
    # with status -1; an infinite one never returned (SciPy's loops forever on both)
    with pytest.raises(ValueError, match=r"solve_ivp: t_span must be finite"):
        integrate.solve_ivp(lambda t, y: -y, t_span, npg.tensor([1.0, 2.0]))


@pytest.mark.parametrize("t_span", [(0.0, 1.0, 2.0), (0.0,), 1.0])
def test_solve_ivp_names_t_span_when_it_is_not_a_pair(t_span):
    with pytest.raises(ValueError, match=r"solve_ivp: t_span must be a pair of numbers"):
        integrate.solve_ivp(lambda t, y: -y, t_span, npg.tensor([1.0, 2.0]))


def test_solve_ivp_refuses_a_nan_in_t_eval():
    with pytest.raises(ValueError, match=r"solve_ivp: t_eval must be finite"):
        integrate.solve_ivp(lambda t, y: -y, (0.0, 1.0), npg.tensor([1.0]), t_eval=[0.0, np.nan, 1.0])


@pytest.mark.parametrize("t_span", [(0.0, 2.0), (2.0, -1.0)])
def test_solve_ivp_finite_t_span_still_matches_scipy(t_span):
    ref = si.solve_ivp(lambda t, y: -0.5 * y, t_span, [1.0, 2.0], t_eval=np.linspace(*t_span, 4))
    out = integrate.solve_ivp(lambda t, y: -0.5 * y, t_span, npg.tensor([1.0, 2.0]),
                              t_eval=np.linspace(*t_span, 4))
    np.testing.assert_allclose(out.t, ref.t)
    np.testing.assert_allclose(out.y.data, ref.y, rtol=1e-12, atol=1e-12)
