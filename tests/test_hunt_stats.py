"""A hunt for silent wrong answers in npg.stats and the statistics functions: each test is a case found wrong
(checked to fail before its fix), against scipy.stats, NumPy, torch.distributions or finite differences, plus
sweeps of awkward inputs (ties, NaN, zero weights, 0-d, size-0, every quantile method) against NumPy."""
import warnings

import numpy as np
import pytest
import scipy.stats as st
import torch

import npgrad as npg
from npgrad import stats
from tests.helpers import assert_close, check_finite_difference


# ------------------------------------------------------------------------ cov / corrcoef with rowvar=False
@pytest.mark.parametrize("m, y", [(np.array([[1.0, 2.0, 4.0]]), None),
                                  (np.array([[1.0, 2.0, 4.0]]), np.array([[7.0]])),
                                  (np.array([1.0, 2.0, 4.0]), np.array([[0.5, -1.0, 3.0]]).T),
                                  (np.array([[1.0, 2.0, 4.0], [3.0, 0.0, 1.0]]), np.array([2.0, 5.0])),
                                  (np.array([[1.0, 2.0, 4.0], [3.0, 0.0, 1.0]]), np.array([[2.0, 5.0]]))])
@pytest.mark.parametrize("bias", [False, True])
def test_cov_rowvar_false_takes_a_one_row_m_as_many_variables_as_numpy(m, y, bias):
    # NumPy transposes m (unless 1-D) but y only when its 2-D form has more than one row: a (1, N) m holds N
    # variables of one observation each (npgrad returned the scalar variance of one variable of N observations)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)    # (one observation: degrees of freedom <= 0)
        assert_close(npg.cov(npg.tensor(m), y, rowvar=False, bias=bias), np.cov(m, y, rowvar=False, bias=bias))
        assert_close(npg.corrcoef(npg.tensor(m), y, rowvar=False), np.corrcoef(m, y, rowvar=False))


# ------------------------------------------------------- log-densities at the ends of gamma's and beta's support
@pytest.mark.parametrize("name, shape_args, x", [
    ("gamma", (1.0,), [0.0, 0.7, 2.5]),             # the exponential: density 1/scale at x = loc
    ("chi2", (2.0,), [0.0, 0.7, 2.5]),
    ("beta", (1.0, 2.5), [0.0, 0.3, 0.9]),         # a = 1: finite at the lower end
    ("beta", (2.5, 1.0), [0.3, 0.9, 1.0]),         # b = 1: finite at the upper end
    ("beta", (1.0, 1.0), [0.0, 0.5, 1.0])])
@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_density_finite_at_the_end_of_its_support_has_finite_scale_gradients(name, shape_args, x, method):
    # (x - loc) / scale = 0 (or 1) stays there as the scale moves, so the scale derivative exists; the
    # 0/0 derivative of (a - 1) log z made it NaN (and the loc one, and every one of pdf)
    loc, scale = 0.4, 1.5
    xs = loc + scale * np.array(x)
    fn = getattr(getattr(stats, name), method)
    s = npg.tensor(scale)
    got = fn(xs, *shape_args, loc, s)
    assert_close(got, getattr(getattr(st, name), method)(xs, *shape_args, loc=loc, scale=scale), rtol=1e-12)
    if x[-1] < 1.0:
        check_finite_difference(lambda v: fn(xs, *shape_args, loc, v), [scale], eps=1e-6, rtol=1e-7,
                                what=f"{name}.{method} d/dscale")
    else:   # (x = loc + scale leaves the support as the scale shrinks: the derivative from inside, as it grows)
        got.sum().backward()
        h = 1e-7
        right = (fn(xs, *shape_args, loc, scale + h).data.sum() - got.data.sum()) / h
        assert np.isclose(s.grad, right, rtol=1e-5), (s.grad, right)


@pytest.mark.parametrize("dtype, tdtype", [(np.float64, torch.float64), (np.float32, torch.float32)])
def test_edge_gradients_match_torch_exponential_and_beta(dtype, tdtype):
    # gamma(1, scale = 1/rate) is torch's Exponential(rate): at x = 0 its gradient in x is -rate (torch's Gamma
    # gives NaN there, npgrad's was NaN in x and in the scale)
    x = np.array([0.0, 0.5, 2.0], dtype)
    tx, trate = torch.tensor(x, requires_grad=True), torch.tensor(0.8, dtype=tdtype, requires_grad=True)
    torch.distributions.Exponential(trate).log_prob(tx).sum().backward()
    nx, nrate = npg.tensor(x), npg.tensor(np.array(0.8, dtype))
    out = stats.gamma.logpdf(nx, 1.0, 0.0, 1.0 / nrate)
    out.sum().backward()
    assert out.dtype == dtype
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=1e-5)
    assert_close(nx.grad, tx.grad.numpy(), **tol)
    assert_close(nrate.grad, trate.grad.numpy(), **tol)
    # beta(a, b) at its ends with a = b = 1: torch's gradients in a and b (its x gradient is NaN there)
    x = np.array([0.0, 0.25, 1.0], dtype)
    ta, tb = (torch.tensor(1.0, dtype=tdtype, requires_grad=True) for _ in range(2))
    torch.distributions.Beta(ta, tb, validate_args=False).log_prob(torch.tensor(x)).sum().backward()
    na, nb = npg.tensor(np.array(1.0, dtype)), npg.tensor(np.array(1.0, dtype))
    stats.beta.logpdf(x, na, nb).sum().backward()
    assert_close(na.grad, ta.grad.numpy(), **tol)
    assert_close(nb.grad, tb.grad.numpy(), **tol)


def test_density_zero_or_infinite_at_an_end_keeps_scipys_value_and_finite_gradients():
    a = np.array([[0.5], [1.0], [2.0]])
    for name, args, x in [("gamma", (a,), [0.0, 1.0]), ("beta", (a, 2.0), [0.0, 0.5]),
                          ("beta", (2.0, a), [1.0, 0.5])]:
        scale = npg.tensor(2.0)
        xs = 2.0 * np.array(x)
        got = getattr(stats, name).logpdf(xs, *args, 0.0, scale)
        assert_close(got, getattr(st, name).logpdf(xs, *args, scale=2.0), rtol=1e-12)
        got[np.isfinite(got.data)].sum().backward()
        assert np.isfinite(scale.grad), (name, scale.grad)


# -------------------------------------------------------------------- multivariate_normal's invalid cov
@pytest.mark.parametrize("cov, exc, match", [
    (np.array([1.0, 0.0]), ValueError, "diagonal must be > 0"),
    (np.array([1.0, -2.0]), ValueError, "diagonal must be > 0"),
    (-1.0, ValueError, "variance must be > 0"),
    (0.0, ValueError, "variance must be > 0"),
    (np.nan, ValueError, "must be finite"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), ValueError, "must be finite"),
    (np.array([[1.0, 0.0], [0.0, np.inf]]), ValueError, "must be finite"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), npg.linalg.LinAlgError, "symmetric positive definite")])
def test_multivariate_normal_invalid_cov_is_an_error_as_scipy(cov, exc, match):
    # SciPy raises for each; npgrad returned NaN (or -inf) for a bad diagonal, number or non-finite matrix
    with pytest.raises((ValueError, np.linalg.LinAlgError)):
        st.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), cov)
    for call in (lambda: stats.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), cov),
                 lambda: stats.multivariate_normal.pdf(np.zeros(2), np.zeros(2), cov),
                 lambda: stats.multivariate_normal.entropy(np.zeros(2), cov)):
        with pytest.raises(exc, match=f"multivariate_normal.*{match}"):
            call()


# ---------------------------------------------------------------------- discrete: n = inf, categorical input
@pytest.mark.parametrize("method", ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"])
def test_binom_infinite_n_is_nan_as_scipy(method):
    # logpmf was NaN but cdf / sf were 0 / 1 (and their logs -inf / 0) for n = inf
    k = np.array([0.0, 3.0, 7.0])
    with np.errstate(invalid="ignore"):
        want = getattr(st.binom, method)(k, [np.inf, 10.0, np.inf], 0.3)
    got = getattr(stats.binom, method)(k, npg.tensor([np.inf, 10.0, np.inf]), 0.3)
    assert_close(got, want, rtol=1e-12)


def test_categorical_takes_bool_categories_as_torch_and_refuses_0d_parameters_clearly():
    probs = np.array([0.2, 0.8])
    k = np.array([True, False, True])
    want = torch.distributions.Categorical(probs=torch.tensor(probs)).log_prob(torch.tensor(k))
    assert_close(stats.categorical.logpmf(k, probs=probs), want.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="categorical: probs must have the categories along a last axis"):
        stats.categorical.logpmf(0, probs=0.5)
    with pytest.raises(ValueError, match="categorical: logits must have the categories along a last axis"):
        stats.categorical.logpmf(0, logits=npg.tensor(0.5))


def test_dirichlet_0d_x_is_a_clear_error():
    with pytest.raises(ValueError, match=r"dirichlet: x must have 2 \(or 1\) components.*0-d"):
        stats.dirichlet.logpdf(0.5, np.array([1.0, 2.0]))


# ------------------------------------------------------------- order statistics, averages, histograms vs NumPy
_METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
            "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
            "normal_unbiased"]
_AWKWARD = {"ties": np.array([1.0, 2, 2, 2, 3, 3, 5]), "nan": np.array([1.0, np.nan, 3, 2]),
            "inf": np.array([1.0, np.inf, -np.inf, 2]), "one": np.array([4.0]), "0d": np.array(2.5),
            "int": np.array([3, 1, 4, 1, 5, 9, 2])}


@pytest.mark.parametrize("method", _METHODS)
def test_quantiles_of_awkward_inputs_match_numpy_with_finite_difference_gradients(method):
    q = np.linspace(0.0, 1.0, 11)
    for name, a in _AWKWARD.items():
        with np.errstate(invalid="ignore"):
            for fn, qq in (("quantile", q), ("nanquantile", q), ("percentile", 100 * q)):
                assert_close(getattr(npg, fn)(npg.tensor(a), qq, method=method), getattr(np, fn)(a, qq, method=method),
                             rtol=1e-12, what=f"{fn} {name}")
    a = np.random.default_rng(3).normal(size=(4, 5))
    check_finite_difference(lambda x: npg.quantile(x, [0.1, 0.33, 0.5, 0.9], axis=1, method=method), [a],
                            what=f"quantile {method}")


def test_medians_averages_and_histograms_of_awkward_inputs_match_numpy():
    for name, a in _AWKWARD.items():
        with np.errstate(invalid="ignore"):
            assert_close(npg.median(npg.tensor(a)), np.median(a), what=name)
            assert_close(npg.nanmedian(npg.tensor(a)), np.nanmedian(a), what=name)
        if a.ndim:
            w = np.linspace(0.0, 1.0, a.size) if a.size > 1 else np.array([2.0])     # (a zero weight first)
            got, got_sum = npg.average(npg.tensor(a), weights=w, returned=True)
            want, want_sum = np.average(a, weights=w, returned=True)
            assert_close(got, want, what=name)
            assert_close(got_sum, want_sum, what=name)
    with pytest.raises(ZeroDivisionError, match="average"):
        npg.average(npg.tensor([1.0, 2.0]), weights=np.zeros(2))
    data = np.array([1.0, 2, 2, 2, 3, 3, 5])
    for bins in (3, np.array([0.0, 1, 2.5, 6]), np.array([2.0, 2.5, 3.0])):
        for density in (None, True):
            got = npg.histogram(npg.tensor(data), bins=bins, density=density, weights=np.linspace(0, 1, 7))
            want = np.histogram(data, bins=bins, density=density, weights=np.linspace(0, 1, 7))
            for g, w in zip(got, want):
                assert_close(g, w)
    w = np.linspace(0.0, 1.0, 7)
    check_finite_difference(lambda v: npg.bincount(np.array([0, 2, 2, 5, 1, 0, 6]), weights=v, minlength=9), [w])
