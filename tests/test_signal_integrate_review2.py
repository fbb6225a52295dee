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


# ------------------------------------------------------------------------------ quadrature dtypes
@pytest.mark.parametrize("kw", [dict(x=np.linspace(0.0, 2.0, 6)), dict(x=np.linspace(0.0, 2.0, 6)[None, :]),
                                dict(dx=np.float64(0.3)), dict(dx=0.3), {}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.complex64])
def test_trapezoid_has_scipys_result_dtype(kw, dtype):
    # scipy.integrate.trapezoid is not numpy.trapezoid: its result has y's floating dtype (float32 y with
    # float64 x or dx stays float32), where NumPy's promotes with x
    y = (np.arange(18).reshape(3, 6) % 5 - 1).astype(dtype)
    ref = si.trapezoid(y, **kw)
    kwn = {k: (npg.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    yt = npg.tensor(y, requires_grad=dtype != np.int64)
    out = integrate.trapezoid(yt, **kwn)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_allclose(out.data, ref, rtol=1e-6, atol=1e-6)
    if yt.requires_grad:
        out.real.sum().backward() if out.dtype.kind == "c" else out.sum().backward()
        assert yt.grad.dtype == y.dtype


# ------------------------------------------------------------------------------------ solve_ivp args
@pytest.mark.parametrize("args", [[0.5], (0.5,), np.array([0.5])])
def test_solve_ivp_takes_args_as_any_sequence_as_scipy(args):
    # SciPy unpacks any iterable args (a list, an array); only what cannot be unpacked is a TypeError
    ref = si.solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), [1.0, 3.0], args=args)
    k = npg.tensor(0.5, requires_grad=True)
    res = integrate.solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), npg.tensor([1.0, 3.0]),
                              args=[k] if isinstance(args, list) else args)
    np.testing.assert_allclose(res.t, ref.t)
    np.testing.assert_allclose(res.y.data, ref.y, rtol=1e-12)
    if isinstance(args, list):
        res.y[:, -1].sum().backward()
        h = 1e-6
        def end(kv):
            return si.solve_ivp(lambda t, y: -kv * y, (0, 2), [1.0, 3.0], rtol=1e-10, atol=1e-12).y[:, -1].sum()
        fd = (end(0.5 + h) - end(0.5 - h)) / (2 * h)
        np.testing.assert_allclose(k.grad.data, fd, rtol=1e-2)
    with pytest.raises(TypeError, match="solve_ivp"):
        integrate.solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), [1.0], args=0.5)
