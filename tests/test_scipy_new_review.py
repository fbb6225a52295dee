"""Adversarial review of today's SciPy additions (matrix functions, expm, solve_ivp's new options): each test
pins a bug found in review against an independent oracle (mpmath at high precision, SciPy, central finite
differences)."""
import mpmath as mp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sl

import npgrad as npg

LA = npg.linalg


def _mp_daleckii_krein(a, e, f, dps=60):
    """L(A, E) for a diagonalizable A by its eigendecomposition in mpmath at ``dps`` digits: the divided differences
    of the scalar function ``f`` (an mpmath function, principal branch) at the eigenvalues, exactly."""
    with mp.workdps(dps):
        A, E = mp.matrix(a.tolist()), mp.matrix(e.tolist())
        n = a.shape[0]
        w, V = mp.eig(A)
        T = V ** -1 * E * V
        for i in range(n):
            for j in range(n):
                T[i, j] *= mp.diff(f, w[i]) if i == j else (f(w[i]) - f(w[j])) / (w[i] - w[j])
        R = V * T * V ** -1
        return np.array([[complex(R[i, j]) for j in range(n)] for i in range(n)])


def _rotation(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 2.0]])


@pytest.mark.parametrize("gap", [1e-6, 1e-9])
@pytest.mark.parametrize("name", ["logm", "fmp"])
def test_derivative_at_close_eigenvalues_across_the_branch_cut(name, gap):
    """A rotation by nearly pi has eigenvalues -1 +- i gap, within 1e-5 of each other but on either side of the
    negative real axis, where log and z^t jump: the divided difference between them is (f(l1) - f(l2)) / (l1 - l2)
    (about pi / gap), not f' at their mean (-1). Was: both the JVP and the gradient 100% wrong."""
    f, mf = {"logm": (LA.logm, mp.log),
             "fmp": (lambda m: LA.fractional_matrix_power(m, 0.3), lambda z: mp.power(z, 0.3))}[name]
    a = _rotation(np.pi - gap)
    rng = np.random.default_rng(0)
    e, w = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    _, tangent = npg.func.jvp(f, (npg.tensor(a),), (npg.tensor(e),))
    expected = _mp_daleckii_krein(a, e, mf)
    np.testing.assert_allclose(tangent.data, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    x = npg.tensor(a)
    out = f(x)
    npg.sum(npg.real(out) * w if out.dtype.kind == "c" else out * w).backward()
    expected = np.real(_mp_daleckii_krein(a.T, w, mf))          # L*(A, W) = L(A^T, W) for a real A
    np.testing.assert_allclose(x.grad, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("func, mfunc, a", [
    (np.log, mp.log, np.array([[1e-7, 0.3], [0.0, 2.0]])),
    (np.log, mp.log, np.array([[1e-4, 0.3], [0.0, 2.0]])),
    (np.sin, mp.sin, np.array([[1e3, 1.0], [0.0, 1e3 * (1 + 5e-6)]])),
    (np.sin, mp.sin, np.array([[1e5, 1.0], [0.0, 1e5 + 0.5]])),
    (np.sin, mp.sin, np.array([[1e5, 0.2], [0.2, 1e5 + 0.3]])),
    (np.exp, mp.exp, np.array([[1.0, 1e-9], [1e-9, 1.0]])),
])
def test_funm_derivative_for_eigenvalues_of_any_scale(func, mfunc, a):
    """funm's derivative of its user function: a central difference of step eps^(1/3) max(1, |l|) crossed log's
    singularity for an eigenvalue below 6e-6 (the gradient 3e3 instead of 1e7) and was 6% off for sin at 1e5
    (step 0.6); close eigenvalues used f' at their mean, 4% off for sin at 1e5 and 1e5 + 0.5."""
    rng = np.random.default_rng(1)
    e, w = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    f = lambda m: LA.funm(m, func)                                  # noqa: E731
    _, tangent = npg.func.jvp(f, (npg.tensor(a),), (npg.tensor(e),))
    expected = np.real(_mp_daleckii_krein(a, e, mfunc))
    np.testing.assert_allclose(tangent.data, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    x = npg.tensor(a)
    npg.sum(f(x) * w).backward()
    expected = np.real(_mp_daleckii_krein(a.T, w, mfunc))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau", "BDF"])
@pytest.mark.parametrize("max_step", [0.0, -1.0])
def test_solve_ivp_rejects_a_non_positive_max_step_as_scipy(method, max_step):
    """SciPy raises ValueError for max_step <= 0; was: a 'failed' result (status -1) after one step at t0."""
    def f(t, y):
        return -y
    with pytest.raises(ValueError, match="max_step"):
        si.solve_ivp(f, (0.0, 1.0), np.array([1.0]), method=method, max_step=max_step)
    with pytest.raises(ValueError, match="solve_ivp: max_step must be positive"):
        npg.integrate.solve_ivp(f, (0.0, 1.0), np.array([1.0]), method=method, max_step=max_step)
