"""Adversarial review of npg.signal, npg.integrate and NumPy's numerical-calculus functions (interp, gradient,
ediff1d, ...): each test pins a divergence found in review against SciPy / NumPy (values, dtypes, errors)."""
import warnings

import numpy as np
import pytest
import scipy.signal as ss

import npgrad as npg
from tests.helpers import assert_close, check_finite_difference

XP, FP = np.array([0.0, 1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0, 0.0])


# --------------------------------------------------------------------------------------------- interp
@pytest.mark.parametrize("call", [
    lambda m: m.interp(np.array([1 + 1j, 0.5 + 0j]), XP, FP),          # complex x: NumPy cannot cast to float64
    lambda m: m.interp(np.array([0.5]), XP + 0j, FP),                  # complex xp
    lambda m: m.interp(np.array([-1.0, 5.0]), XP, FP, left=1j),        # complex left for real fp
    lambda m: m.interp(np.array([-1.0, 5.0]), XP, FP, right=2 + 1j),
    lambda m: m.interp(np.array([-1.0, 5.0]), XP, FP, left=np.array([7.0])),       # left must be a scalar
    lambda m: m.interp(np.array([-1.0, 5.0, -2.0]), XP, FP, right=np.array([7.0, 8.0, 9.0])),
])
def test_interp_refuses_what_numpy_refuses(call):
    with pytest.raises(TypeError):
        call(np)
    with pytest.raises(TypeError, match="interp"):
        call(npg)


@pytest.mark.parametrize("x, xp, fp", [
    (np.array([0.5, 1.0, 0.0, 0.25]), XP[:3], np.array([np.inf, 1.0, 2.0])),    # an infinite fp at a node
    (np.array([0.5, 2.0, 1.5, 3.0]), XP, np.array([1.0, 2.0, -np.inf, 0.0])),
    (np.array([0.5, 1.0, 0.0]), XP[:3], np.array([np.inf, np.inf, 2.0])),       # equal infinite ends
    (np.array([np.nan, 0.5, 2.0]), np.array([1.0]), np.array([3.0])),           # one sample point, x NaN
])
def test_interp_non_finite_values_as_numpy(x, xp, fp):
    with np.errstate(all="ignore"):
        expected = np.interp(x, xp, fp)
        got = npg.interp(x, xp, fp)
    assert_close(got, expected)


def test_interp_gradient_unchanged_by_the_non_finite_fallback():
    check_finite_difference(lambda q, xp, fp: npg.interp(q, xp, fp),
                            [np.array([0.3, 1.2, 2.5, 3.9]), XP, FP])


def test_interp_non_finite_values_under_vmap_of_the_sample_values():
    x = np.array([0.5, 1.0, 0.0, 1.5, 3.0])
    fps = np.array([[np.inf, 1.0, 2.0, 0.0], [1.0, 2.0, -np.inf, 0.0], [np.inf, np.inf, 2.0, 1.0]])
    with np.errstate(all="ignore"):
        got = npg.func.vmap(lambda fp: npg.interp(x, XP, fp))(npg.tensor(fps))
        expected = np.stack([np.interp(x, XP, fp) for fp in fps])
    assert_close(got, expected)


# ------------------------------------------------------------------------------ convolve2d / correlate2d
_A_INT, _K_INT = np.arange(12).reshape(3, 4), np.array([[1, 2], [3, 1]])


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", ["full", "same"])
@pytest.mark.parametrize("fillvalue", [1.5, -1.5, 2.7, np.float64(-0.9)])
def test_2d_fillvalue_is_cast_to_the_integer_inputs_dtype_as_scipy(name, mode, fillvalue):
    expected = getattr(ss, name)(_A_INT, _K_INT, mode=mode, fillvalue=fillvalue)
    got = getattr(npg.signal, name)(_A_INT, _K_INT, mode=mode, fillvalue=fillvalue)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.data, expected)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("dtype, fillvalue", [(np.int64, np.nan), (np.int64, 1e20), (np.uint8, -1), (np.uint8, 256),
                                              (np.int8, 128), (np.int64, np.array([2.5])), (np.float64, 1 + 1j)])
def test_2d_fillvalue_the_inputs_dtype_cannot_hold_raises_as_scipy(name, dtype, fillvalue):
    a, k = _A_INT.astype(dtype), _K_INT.astype(dtype)
    with pytest.raises(ValueError), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(ss, name)(a, k, fillvalue=fillvalue)
    with pytest.raises(ValueError, match=f"{name}: .*fillvalue"):
        getattr(npg.signal, name)(a, k, fillvalue=fillvalue)


# ------------------------------------------------------------------------------------- gradient, ediff1d
def test_gradient_of_booleans_raises_as_numpy():
    f = np.array([True, False, True, True])
    with pytest.raises(TypeError):
        np.gradient(f)
    with pytest.raises(TypeError, match="gradient"):
        npg.gradient(f)


@pytest.mark.parametrize("spacing", [np.float64(0.1), np.array([0.0, 0.5, 1.5, 2.0, 3.5]),
                                     np.array([0, 1, 3, 4, 6])])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_keeps_the_dtype_of_float32_values_with_float64_spacings(spacing, edge_order):
    f = np.array([1.0, 4.0, 9.0, 16.0, 25.0], np.float32)
    expected = np.gradient(f, spacing, edge_order=edge_order)
    got = npg.gradient(npg.tensor(f, requires_grad=True), spacing, edge_order=edge_order)
    assert got.dtype == expected.dtype == np.float32
    assert_close(got, expected)
    got.sum().backward()


@pytest.mark.parametrize("ary, kw", [
    (np.arange(4), dict(to_end=np.array([1.5]))),                  # float into an int result: same_kind refuses
    (np.arange(4), dict(to_begin=[0.5, 1])),
    (np.arange(4.0), dict(to_end=np.array([1j]))),
])
def test_ediff1d_refuses_ends_not_castable_to_the_input_dtype(ary, kw):
    with pytest.raises(TypeError):
        np.ediff1d(ary, **kw)
    with pytest.raises(TypeError, match="ediff1d"):
        npg.ediff1d(ary, **kw)


@pytest.mark.parametrize("ary, kw", [
    (np.arange(4.0, dtype=np.float32), dict(to_end=np.array([1.5]), to_begin=np.float64(2.0))),
    (np.arange(4, dtype=np.int8), dict(to_end=np.array([3], np.int64))),
    (np.arange(4.0), dict(to_begin=[1, 2], to_end=2)),
])
def test_ediff1d_result_has_the_input_dtype(ary, kw):
    expected = np.ediff1d(ary, **kw)
    got = npg.ediff1d(ary, **kw)
    assert got.dtype == expected.dtype
    assert_close(got, expected)


# -------------------------------------------------------------------------------------------- polyfit
_XX = np.linspace(0.0, 1.0, 8)
_YC = np.cos(3 * _XX) + 1j * np.sin(5 * _XX)


@pytest.mark.parametrize("y", [_YC, np.stack([_YC, 2 * _YC + 1j * _XX ** 3], axis=1)])
def test_polyfit_of_complex_data_residuals_and_covariance_are_numpys(y):
    c, resids, rank, sv, rcond = np.polyfit(_XX, y, 2, full=True)
    got = npg.polyfit(_XX, y, 2, full=True)
    assert_close(got[0], c)
    assert got[1].dtype == resids.dtype == np.float64           # sum of |r|^2, not of r^2
    assert_close(got[1], resids)
    c, V = np.polyfit(_XX, y, 2, cov=True)
    got_c, got_V = npg.polyfit(_XX, y, 2, cov=True)
    assert got_V.dtype == V.dtype
    assert_close(got_V, V)


def test_polyfit_complex_residuals_gradient_matches_finite_differences():
    yr, yi = _YC.real.copy(), _YC.imag.copy()
    check_finite_difference(lambda a, b: npg.polyfit(_XX, a + 1j * b, 2, full=True)[1], [yr, yi])
    check_finite_difference(lambda a, b: npg.polyfit(_XX, a + 1j * b, 2, cov=True)[1], [yr, yi])


@pytest.mark.parametrize("edge_order", [0, -1, 1.5, True, 2.0])
def test_gradient_edge_orders_numpy_accepts_are_second_order_as_numpy(edge_order):
    f, x = np.array([1.0, 4.0, 9.0, 16.0, 27.0]), np.array([0.0, 0.5, 1.5, 2.0, 3.5])
    assert_close(npg.gradient(f, edge_order=edge_order), np.gradient(f, edge_order=edge_order))
    assert_close(npg.gradient(f, x, edge_order=edge_order), np.gradient(f, x, edge_order=edge_order))
    with pytest.raises(ValueError, match="gradient: 'edge_order' greater than 2"):
        npg.gradient(f, edge_order=3)


@pytest.mark.parametrize("kw", [dict(x=np.array([0.5 + 1j])), dict(x=np.array([-0.5]), left=1j)])
def test_interp_refusals_hold_under_vmap_of_the_sample_points(kw):
    xps = npg.tensor(np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 3.0]]))
    with pytest.raises(TypeError, match="interp"):
        npg.func.vmap(lambda xp: npg.interp(kw["x"], xp, np.array([1.0, 2.0, 3.0]), left=kw.get("left")))(xps)
