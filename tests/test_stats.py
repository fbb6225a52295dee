"""npg.stats: values against scipy.stats, gradients (value and parameters) and second derivatives against
torch.distributions' log_prob / cdf in float32 and float64, finite differences where torch has no
counterpart (loc/scale of gamma and beta, logcdf, sf, ppf, the CDFs of t, gamma, beta, poisson, binom),
supports, dtypes and errors."""
import numpy as np
import pytest
import torch
import torch.distributions as D

import npgrad as npg
from npgrad import stats
from tests.helpers import assert_close, check_finite_difference

import scipy.stats as st  # noqa: E402 (the test extra installs SciPy)

RNG = np.random.default_rng(99)


def _u(lo, hi, shape):
    return RNG.uniform(lo, hi, shape)


SPD = np.array([[2.0, 0.3, -0.4], [0.3, 1.5, 0.2], [-0.4, 0.2, 1.0]])
SIMPLEX = RNG.dirichlet([2.0, 1.0, 3.0], size=5).T          # (K, N): SciPy's layout
PROBS = RNG.dirichlet([1.0] * 4, size=3)                      # (3, 4)

# name, npgrad function, torch function, arrays (all float: the ones that take a gradient), which take one
TORCH_CASES = [
    ("norm.logpdf", lambda x, m, s: stats.norm.logpdf(x, m, s),
     lambda x, m, s: D.Normal(m, s).log_prob(x), [_u(-3, 3, 6), _u(-1, 1, 6), _u(0.5, 2, 6)]),
    ("norm.cdf", lambda x, m, s: stats.norm.cdf(x, m, s),
     lambda x, m, s: D.Normal(m, s).cdf(x), [_u(-3, 3, 6), _u(-1, 1, 6), _u(0.5, 2, 6)]),
    ("norm.pdf_bcast", lambda x, m, s: stats.norm.pdf(x, m, s),
     lambda x, m, s: D.Normal(m, s).log_prob(x).exp(), [_u(-3, 3, (4, 1)), _u(-1, 1, 3), _u(0.5, 2, 1)]),
    ("norm.ppf", lambda q, m, s: stats.norm.ppf(q, m, s),
     lambda q, m, s: D.Normal(m, s).icdf(q), [_u(0.05, 0.95, 6), _u(-1, 1, 6), _u(0.5, 2, 6)]),
    ("multivariate_normal", lambda x, m, c: stats.multivariate_normal.logpdf(x, m, c @ c.T),
     lambda x, m, c: D.MultivariateNormal(m, covariance_matrix=c @ c.T).log_prob(x),
     [_u(-2, 2, (5, 3)), _u(-1, 1, 3), np.linalg.cholesky(SPD)]),
    ("t", lambda x, df, m, s: stats.t.logpdf(x, df, m, s),
     lambda x, df, m, s: D.StudentT(df, m, s).log_prob(x), [_u(-4, 4, 6), _u(1, 8, 6), _u(-1, 1, 6), _u(0.5, 2, 6)]),
    ("gamma", lambda x, a, s: stats.gamma.logpdf(x, a, scale=s),
     lambda x, a, s: D.Gamma(a, 1 / s).log_prob(x), [_u(0.1, 5, 6), _u(0.5, 4, 6), _u(0.5, 2, 6)]),
    ("beta", lambda x, a, b: stats.beta.logpdf(x, a, b),
     lambda x, a, b: D.Beta(a, b).log_prob(x), [_u(0.05, 0.95, 6), _u(0.5, 4, 6), _u(0.5, 4, 6)]),
    ("dirichlet", lambda x, a: stats.dirichlet.logpdf(x, a),
     lambda x, a: D.Dirichlet(a).log_prob(x.T), [SIMPLEX, _u(0.5, 4, 3)]),
    ("poisson", lambda mu: stats.poisson.logpmf(np.array([0, 1, 3, 7, 2, 0]), mu),
     lambda mu: D.Poisson(mu).log_prob(torch.tensor([0, 1, 3, 7, 2, 0], dtype=mu.dtype)), [_u(0.2, 6, 6)]),
    ("binom", lambda p: stats.binom.logpmf(np.array([0, 2, 5, 10, 3, 7]), 10, p),
     lambda p: D.Binomial(10, probs=p).log_prob(torch.tensor([0, 2, 5, 10, 3, 7], dtype=p.dtype)), [_u(0.1, 0.9, 6)]),
    ("bernoulli", lambda p: stats.bernoulli.logpmf(np.array([0, 1, 1, 0]), p),
     lambda p: D.Bernoulli(probs=p).log_prob(torch.tensor([0, 1, 1, 0], dtype=p.dtype)), [_u(0.1, 0.9, 4)]),
    ("categorical.probs", lambda p: stats.categorical.logpmf(np.array([0, 3, 2]), probs=p),
     lambda p: D.Categorical(probs=p).log_prob(torch.tensor([0, 3, 2])), [PROBS * 2.0]),
    ("categorical.logits", lambda lg: stats.categorical.logpmf(np.array([[1, 0, 3], [2, 2, 0]]), logits=lg),
     lambda lg: D.Categorical(logits=lg).log_prob(torch.tensor([[1, 0, 3], [2, 2, 0]])), [_u(-2, 2, (3, 4))]),
]
CHI2_X, CHI2_DF = np.array([0.05, 0.4, 1.1, 2.5, 4.0, 9.5]), np.array([0.7, 1.0, 2.0, 3.5, 6.0, 11.0])
TORCH_CASES += [("chi2", lambda x, df: stats.chi2.logpdf(x, df), lambda x, df: D.Chi2(df).log_prob(x),
                 [CHI2_X, CHI2_DF])]


def _first_and_second(fn, xs, lib):
    out = fn(*xs)
    w = np.random.default_rng(3).standard_normal(tuple(out.shape)).astype(str(out.dtype).replace("torch.", ""))
    if lib == "torch":
        gs = torch.autograd.grad((out * torch.tensor(w)).sum(), xs, create_graph=True)
        hs = torch.autograd.grad(sum((g * g).sum() for g in gs), xs, allow_unused=True)
        return out.detach().numpy(), [g.detach().numpy() for g in gs], [0 if h is None else h.numpy() for h in hs]
    gs = npg.autograd.grad((out * w).sum(), xs, create_graph=True)
    hs = npg.autograd.grad(sum((g * g).sum() for g in gs), xs, allow_unused=True)
    return out.data, [g.data for g in gs], [0 if h is None else h.data for h in hs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,tfn,args", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_log_densities_and_gradients_match_torch_distributions(name, fn, tfn, args, dtype):
    arrays = [np.asarray(a, dtype=dtype) for a in args]
    value, grads, second = _first_and_second(fn, [npg.tensor(a) for a in arrays], "npg")
    tvalue, tgrads, tsecond = _first_and_second(tfn, [torch.tensor(a, requires_grad=True) for a in arrays], "torch")
    tol = dict(rtol=5e-4, atol=5e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert value.dtype == dtype, f"{name}: {value.dtype}"
    np.testing.assert_allclose(value, tvalue, err_msg=f"{name} value", **tol)
    for i, (g, tg) in enumerate(zip(grads, tgrads)):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, tg, err_msg=f"{name} gradient {i}", **tol)
    for i, (h, th) in enumerate(zip(second, tsecond)):
        np.testing.assert_allclose(h, th, err_msg=f"{name} second derivative {i}", **tol)


# ------------------------------------------------------------------------------- values vs SciPy
X = _u(-3, 3, 20)
VALUE_CASES = [
    ("norm.logpdf", lambda: stats.norm.logpdf(X, 0.3, 1.7), lambda: st.norm.logpdf(X, 0.3, 1.7)),
    ("norm.pdf", lambda: stats.norm.pdf(X, 0.3, 1.7), lambda: st.norm.pdf(X, 0.3, 1.7)),
    ("norm.cdf", lambda: stats.norm.cdf(X * 10, 0.3, 1.7), lambda: st.norm.cdf(X * 10, 0.3, 1.7)),
    ("norm.logcdf", lambda: stats.norm.logcdf(X * 30, 0.3, 1.7), lambda: st.norm.logcdf(X * 30, 0.3, 1.7)),
    ("norm.sf", lambda: stats.norm.sf(X * 10, 0.3, 1.7), lambda: st.norm.sf(X * 10, 0.3, 1.7)),
    ("norm.logsf", lambda: stats.norm.logsf(X * 30, 0.3, 1.7), lambda: st.norm.logsf(X * 30, 0.3, 1.7)),
    ("norm.ppf", lambda: stats.norm.ppf(np.abs(X) / 3, 0.3, 1.7), lambda: st.norm.ppf(np.abs(X) / 3, 0.3, 1.7)),
    ("norm.isf", lambda: stats.norm.isf(np.abs(X) / 3, 0.3, 1.7), lambda: st.norm.isf(np.abs(X) / 3, 0.3, 1.7)),
    ("mvn", lambda: stats.multivariate_normal.logpdf(X[:18].reshape(6, 3), [0.1, 0.2, -0.3], SPD),
     lambda: st.multivariate_normal.logpdf(X[:18].reshape(6, 3), [0.1, 0.2, -0.3], SPD)),
    ("mvn.pdf_one_point", lambda: stats.multivariate_normal.pdf(X[:3], None, SPD),
     lambda: st.multivariate_normal.pdf(X[:3], None, SPD)),
    ("mvn.diag", lambda: stats.multivariate_normal.logpdf(X[:18].reshape(6, 3), [0.1, 0.2, -0.3], [1.0, 2.0, 0.5]),
     lambda: st.multivariate_normal.logpdf(X[:18].reshape(6, 3), [0.1, 0.2, -0.3], [1.0, 2.0, 0.5])),
    ("mvn.1d", lambda: stats.multivariate_normal.logpdf(X, 0.5, 2.0),
     lambda: st.multivariate_normal.logpdf(X, 0.5, 2.0)),
    ("t", lambda: stats.t.logpdf(X, 2.5, 0.2, 1.3), lambda: st.t.logpdf(X, 2.5, 0.2, 1.3)),
    ("t.pdf", lambda: stats.t.pdf(X, 30.0), lambda: st.t.pdf(X, 30.0)),
    ("gamma", lambda: stats.gamma.logpdf(X, 2.5, -1.0, 0.7), lambda: st.gamma.logpdf(X, 2.5, -1.0, 0.7)),
    ("gamma.pdf", lambda: stats.gamma.pdf(X, 0.5), lambda: st.gamma.pdf(X, 0.5)),
    ("beta", lambda: stats.beta.logpdf(X, 2.5, 0.7, -1.0, 2.5), lambda: st.beta.logpdf(X, 2.5, 0.7, -1.0, 2.5)),
    ("beta.pdf_edges", lambda: stats.beta.pdf([0.0, 1.0, 0.5], 1.0, 2.0),
     lambda: st.beta.pdf([0.0, 1.0, 0.5], 1.0, 2.0)),
    ("dirichlet", lambda: stats.dirichlet.logpdf(SIMPLEX, [0.5, 2.0, 3.0]),
     lambda: st.dirichlet.logpdf(SIMPLEX, [0.5, 2.0, 3.0])),
    ("dirichlet.one_point", lambda: stats.dirichlet.pdf(SIMPLEX[:, 0], [0.5, 2.0, 3.0]),
     lambda: st.dirichlet.pdf(SIMPLEX[:, 0], [0.5, 2.0, 3.0])),
    ("dirichlet.k_minus_1", lambda: stats.dirichlet.logpdf(SIMPLEX[:2], [0.5, 2.0, 3.0]),
     lambda: st.dirichlet.logpdf(SIMPLEX[:2], [0.5, 2.0, 3.0])),
    ("poisson", lambda: stats.poisson.logpmf([-1, 0, 1, 2.5, 7, 40], 3.5),
     lambda: st.poisson.logpmf([-1, 0, 1, 2.5, 7, 40], 3.5)),
    ("poisson.loc", lambda: stats.poisson.pmf([0, 1, 2, 5], 1.5, loc=1),
     lambda: st.poisson.pmf([0, 1, 2, 5], 1.5, loc=1)),
    ("binom", lambda: stats.binom.logpmf([-1, 0, 3, 20, 21], 20, 0.3),
     lambda: st.binom.logpmf([-1, 0, 3, 20, 21], 20, 0.3)),
    ("binom.pmf", lambda: stats.binom.pmf([0, 3, 5], [5, 10, 5], [0.2, 0.5, 1.0]),
     lambda: st.binom.pmf([0, 3, 5], [5, 10, 5], [0.2, 0.5, 1.0])),
    ("bernoulli", lambda: stats.bernoulli.logpmf([0, 1, 2, -1], 0.3), lambda: st.bernoulli.logpmf([0, 1, 2, -1], 0.3)),
    ("bernoulli.pmf", lambda: stats.bernoulli.pmf([0, 1], [0.0, 1.0]), lambda: st.bernoulli.pmf([0, 1], [0.0, 1.0])),
]
# the CDFs (cdf, sf, logcdf, logsf): both tails, the centre, outside the support
T_X = np.concatenate([X * 3, [0.2, 0.2 + 1e-20, 0.2 - 1e-9, -40.0, 300.0, 1e6, -1e6, 2.4, -2.1]])
G_X = np.concatenate([np.abs(X) * 4, [-2.0, -1.0, 1e-8, 40.0, 120.0]])
B_X = np.concatenate([np.abs(X) / 3, [-0.5, 0.0, 1e-9, 0.999999, 1.0, 2.0]])
K = np.array([-3, -1, 0, 1, 2, 2.5, 3, 7, 12, 19, 20, 25, 60])


def _scipy_log(dist, f):
    """scipy.stats' logcdf / logsf from its own cdf and sf: log(p) for p <= 1/2, log1p(-q) above (SciPy's
    logcdf takes the log of a cdf rounded to 1 in the upper tail: 0 where it is -1e-23)."""
    if not f.startswith("log"):
        return getattr(dist, f)

    def fn(*args, **kw):
        p = getattr(dist, f[3:])(*args, **kw)
        q = getattr(dist, "sf" if f == "logcdf" else "cdf")(*args, **kw)
        with np.errstate(divide="ignore"):
            return np.where(p <= 0.5, np.log(p), np.log1p(-q))
    return fn


for _f in ("cdf", "sf", "logcdf", "logsf"):
    VALUE_CASES += [
        (f"t.{_f}", lambda f=_f: getattr(stats.t, f)(T_X, 2.5, 0.2, 1.3),
         lambda f=_f: _scipy_log(st.t, f)(T_X, 2.5, 0.2, 1.3)),
        (f"t.{_f}.df", lambda f=_f: getattr(stats.t, f)(T_X[:, None], [0.3, 1.0, 30.0, 1e3, 1e4]),
         lambda f=_f: _scipy_log(st.t, f)(T_X[:, None], [0.3, 1.0, 30.0, 1e3, 1e4])),
        (f"gamma.{_f}", lambda f=_f: getattr(stats.gamma, f)(G_X[:, None], [0.3, 2.5, 40.0], -0.5, 0.7),
         lambda f=_f: _scipy_log(st.gamma, f)(G_X[:, None], [0.3, 2.5, 40.0], -0.5, 0.7)),
        (f"beta.{_f}", lambda f=_f: getattr(stats.beta, f)(B_X[:, None], [0.5, 2.5, 300.0], [0.7, 3.0, 40.0]),
         lambda f=_f: _scipy_log(st.beta, f)(B_X[:, None], [0.5, 2.5, 300.0], [0.7, 3.0, 40.0])),
        (f"beta.{_f}.loc", lambda f=_f: getattr(stats.beta, f)(X, 2.5, 0.7, -1.0, 2.5),
         lambda f=_f: _scipy_log(st.beta, f)(X, 2.5, 0.7, -1.0, 2.5)),
        (f"poisson.{_f}", lambda f=_f: getattr(stats.poisson, f)(K[:, None], [0.1, 3.5, 40.0]),
         lambda f=_f: _scipy_log(st.poisson, f)(K[:, None], [0.1, 3.5, 40.0])),
        (f"poisson.{_f}.loc", lambda f=_f: getattr(stats.poisson, f)(K, 3.5, loc=2),
         lambda f=_f: _scipy_log(st.poisson, f)(K, 3.5, loc=2)),
        (f"binom.{_f}", lambda f=_f: getattr(stats.binom, f)(K[:, None], 20, [0.01, 0.3, 0.97]),
         lambda f=_f: _scipy_log(st.binom, f)(K[:, None], 20, [0.01, 0.3, 0.97])),
        (f"binom.{_f}.n", lambda f=_f: getattr(stats.binom, f)(K, [5, 20, 80, 3, 9, 30, 4, 8, 12, 50, 20, 25, 61], 0.4),
         lambda f=_f: _scipy_log(st.binom, f)(K, [5, 20, 80, 3, 9, 30, 4, 8, 12, 50, 20, 25, 61], 0.4)),
    ]


VALUE_CASES += [
    ("chi2", lambda: stats.chi2.logpdf(G_X[:, None], [0.5, 2.0, 7.5, 60.0], -0.5, 0.7),
     lambda: st.chi2.logpdf(G_X[:, None], [0.5, 2.0, 7.5, 60.0], -0.5, 0.7)),
    ("chi2.pdf_at_0", lambda: stats.chi2.pdf(0.0, [1.0, 2.0, 3.0]), lambda: st.chi2.pdf(0.0, [1.0, 2.0, 3.0])),
]
for _f in ("cdf", "sf", "logcdf", "logsf"):
    VALUE_CASES += [(f"chi2.{_f}", lambda f=_f: getattr(stats.chi2, f)(G_X[:, None], [0.6, 3.0, 40.0], -0.5, 0.7),
                     lambda f=_f: _scipy_log(st.chi2, f)(G_X[:, None], [0.6, 3.0, 40.0], -0.5, 0.7))]


@pytest.mark.parametrize("name,fn,ref", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_match_scipy_stats(name, fn, ref):
    with np.errstate(divide="ignore"):
        expected = ref()
    out = fn()
    assert isinstance(out, npg.Tensor)
    assert out.dtype == np.float64
    assert_close(out, np.asarray(expected, dtype=np.float64), rtol=2e-12, atol=1e-300, what=name)


def test_categorical_values():
    k = np.array([0, 3, 1])
    expected = np.log(PROBS[np.arange(3), k])
    assert_close(stats.categorical.logpmf(k, probs=PROBS), expected, rtol=1e-14)
    assert_close(stats.categorical.pmf(k, logits=np.log(PROBS) + 5.0), PROBS[np.arange(3), k], rtol=1e-13)
    # a single distribution, several draws
    assert_close(stats.categorical.logpmf([0, 1, 1], probs=[0.2, 0.8]), np.log([0.2, 0.8, 0.8]), rtol=1e-14)


# ------------------------------------------------------------- finite differences (no torch form)
FD_CASES = [
    ("norm.logcdf", lambda x, m, s: stats.norm.logcdf(x, m, s), [_u(-30, 5, 5), _u(-1, 1, 5), _u(0.5, 2, 5)]),
    ("norm.sf", lambda x, m, s: stats.norm.sf(x, m, s), [_u(-3, 3, 5), _u(-1, 1, 5), _u(0.5, 2, 5)]),
    ("norm.logsf", lambda x, m, s: stats.norm.logsf(x, m, s), [_u(-5, 30, 5), _u(-1, 1, 5), _u(0.5, 2, 5)]),
    ("norm.isf", lambda q, m, s: stats.norm.isf(q, m, s), [_u(0.05, 0.95, 5), _u(-1, 1, 5), _u(0.5, 2, 5)]),
    ("gamma.loc_scale", lambda x, a, loc, s: stats.gamma.logpdf(x, a, loc, s),
     [_u(1, 5, 5), _u(0.5, 4, 5), _u(-1, 0.5, 5), _u(0.5, 2, 5)]),
    ("beta.loc_scale", lambda x, a, b, loc, s: stats.beta.logpdf(x, a, b, loc, s),
     [_u(0.2, 1.2, 5), _u(0.5, 4, 5), _u(0.5, 4, 5), _u(-0.2, 0.1, 5), _u(1.5, 2, 5)]),
    ("t.pdf", lambda x, df, m, s: stats.t.pdf(x, df, m, s), [_u(-4, 4, 5), _u(1, 8, 5), _u(-1, 1, 5), _u(0.5, 2, 5)]),
    ("mvn.diag_cov", lambda x, m, v: stats.multivariate_normal.logpdf(x, m, v),
     [_u(-2, 2, (4, 3)), _u(-1, 1, 3), _u(0.5, 2, 3)]),
    ("mvn.scalar_cov", lambda x, v: stats.multivariate_normal.logpdf(x, None, v), [_u(-2, 2, (4,)), _u(0.5, 2, ())]),
    ("binom.n", lambda n: stats.binom.logpmf(np.array([0.0, 2.0, 5.0]), n, 0.3), [_u(5.5, 9, 3)]),
    # the CDFs, in the value and every parameter (torch.distributions has no cdf for these)
    ("t.cdf", lambda x, df, m, s: stats.t.cdf(x, df, m, s),
     [_u(-6, 6, 6), _u(0.5, 40, 6), _u(-1, 1, 6), _u(0.5, 2, 6)]),
    ("t.sf", lambda x, df, m, s: stats.t.sf(x, df, m, s), [_u(-6, 6, 6), _u(0.5, 40, 6), _u(-1, 1, 6), _u(0.5, 2, 6)]),
    ("t.logcdf", lambda x, df: stats.t.logcdf(x, df), [np.array([-30.0, -3.0, -0.5, 0.1, 2.0, 40.0]), _u(0.5, 9, 6)]),
    ("t.logsf.large_df", lambda x, df: stats.t.logsf(x, df), [np.array([-3.0, -1.5, 0.3, 1.8, 2.5, 9.0]),
                                                               _u(1e3, 1e5, 6)]),
    ("gamma.cdf", lambda x, a, loc, s: stats.gamma.cdf(x, a, loc, s),
     [_u(0.5, 9, 6), _u(0.3, 8, 6), _u(-0.5, 0.3, 6), _u(0.5, 2, 6)]),
    ("gamma.sf", lambda x, a, s: stats.gamma.sf(x, a, scale=s), [_u(0.5, 30, 6), _u(0.3, 8, 6), _u(0.5, 2, 6)]),
    ("gamma.logcdf", lambda x, a: stats.gamma.logcdf(x, a), [_u(0.01, 30, 6), _u(0.3, 8, 6)]),
    ("gamma.logsf", lambda x, a: stats.gamma.logsf(x, a), [_u(0.01, 60, 6), _u(0.3, 8, 6)]),
    ("beta.cdf", lambda x, a, b, loc, s: stats.beta.cdf(x, a, b, loc, s),
     [_u(0.2, 1.2, 6), _u(0.5, 6, 6), _u(0.5, 6, 6), _u(-0.2, 0.1, 6), _u(1.5, 2, 6)]),
    ("beta.sf", lambda x, a, b: stats.beta.sf(x, a, b), [_u(0.02, 0.98, 6), _u(0.3, 60, 6), _u(0.3, 60, 6)]),
    ("beta.logcdf", lambda x, a, b: stats.beta.logcdf(x, a, b), [_u(0.02, 0.98, 6), _u(0.3, 9, 6), _u(0.3, 9, 6)]),
    ("poisson.cdf", lambda mu: stats.poisson.cdf(np.array([0, 1, 3, 7, 2.5, 30]), mu), [_u(0.2, 12, 6)]),
    ("poisson.logsf", lambda mu: stats.poisson.logsf(np.array([0, 1, 3, 7, 2.5, 30]), mu), [_u(0.2, 12, 6)]),
    ("binom.cdf", lambda p: stats.binom.cdf(np.array([0, 2, 5, 9, 3, 7]), 10, p), [_u(0.05, 0.95, 6)]),
    ("binom.sf.n", lambda n, p: stats.binom.sf(np.array([0.0, 2.0, 5.0]), n, p), [_u(5.5, 9, 3), _u(0.1, 0.9, 3)]),
]
FD_CASES += [
    ("chi2.loc_scale", lambda x, df, loc, s: stats.chi2.logpdf(x, df, loc, s),
     [CHI2_X + 1.0, CHI2_DF, np.full(6, 0.3), np.linspace(0.5, 2.0, 6)]),
    ("chi2.cdf", lambda x, df, loc, s: stats.chi2.cdf(x, df, loc, s),
     [CHI2_X + 0.5, CHI2_DF, np.full(6, -0.2), np.linspace(0.5, 2.0, 6)]),
    ("chi2.sf", lambda x, df: stats.chi2.sf(x, df), [CHI2_X * 3, CHI2_DF]),
    ("chi2.logcdf", lambda x, df: stats.chi2.logcdf(x, df), [CHI2_X, CHI2_DF]),
    ("chi2.logsf", lambda x, df: stats.chi2.logsf(x, df), [CHI2_X * 4, CHI2_DF]),
]


@pytest.mark.parametrize("name,fn,args", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_match_finite_differences(name, fn, args):
    check_finite_difference(fn, args, eps=1e-6, rtol=1e-6, atol=1e-9, what=name)


def test_gamma_cdf_matches_torch_in_the_value_and_the_rate():
    """torch.distributions.Gamma.cdf differentiates in the value and the rate (not in the concentration)."""
    for dtype in (np.float64, np.float32):
        x, s = _u(0.1, 8, 6).astype(dtype), _u(0.5, 2, 6).astype(dtype)
        a = np.array([0.3, 0.9, 2.5, 4.0, 7.0, 1.0], dtype)
        xt, st_ = npg.tensor(x), npg.tensor(s)
        out = stats.gamma.cdf(xt, a, scale=st_)
        tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(s, requires_grad=True)
        tout = D.Gamma(torch.tensor(a), 1 / ts).cdf(tx)
        assert out.dtype == dtype
        assert_close(out, tout.detach().numpy())
        out.sum().backward()
        tout.sum().backward()
        assert_close(xt.grad, tx.grad.numpy())
        assert_close(st_.grad, ts.grad.numpy())


def test_t_cdf_at_and_near_zero_has_the_density_as_gradient():
    """At z = 0 (and tiny z) the CDF is 1/2 + z pdf(0): its gradient is the density, not inf * 0."""
    x = npg.tensor([0.0, 1e-200, -1e-30, 1e-12])
    df = npg.tensor([3.0, 0.5, 30.0, 2.0])
    out = stats.t.cdf(x, df)
    assert_close(out, st.t.cdf(x.data, df.data), rtol=1e-15, atol=0)
    out.sum().backward()
    assert_close(x.grad, st.t.pdf(x.data, df.data), rtol=1e-13, atol=0)
    assert np.all(np.abs(df.grad) < 1e-11)     # (the CDF is 1/2 at 0 whatever df)


def test_t_cdf_is_smooth_across_its_branch_point():
    """The two forms meet at z^2 = 3 df / (df + 2): values and gradients agree on both sides."""
    df = np.array([0.7, 4.0, 50.0])
    zb = np.sqrt(3 * df / (df + 2))
    for side in (1 - 1e-9, 1 + 1e-9):
        x = npg.tensor(-zb * side)
        d = npg.tensor(df)
        out = stats.t.cdf(x, d)
        assert_close(out, st.t.cdf(-zb * side, df), rtol=1e-13, atol=0)
        out.sum().backward()
        assert_close(x.grad, st.t.pdf(-zb * side, df), rtol=1e-12, atol=0)
    check_finite_difference(lambda x, d: stats.t.cdf(x, d), [np.concatenate([zb, -zb]), np.concatenate([df, df])],
                            eps=1e-6, rtol=1e-6, atol=1e-9, what="t.cdf at the branch point")


def test_second_derivatives_of_the_cdfs_match_finite_differences():
    for name, fn, args in [("gamma.cdf", lambda x, a: stats.gamma.cdf(x, a), [_u(0.5, 5, 4), _u(0.5, 5, 4)]),
                           ("beta.sf", lambda x, a, b: stats.beta.sf(x, a, b), [_u(0.1, 0.9, 4), _u(0.5, 5, 4),
                                                                                 _u(0.5, 5, 4)]),
                           ("t.cdf", lambda x, df: stats.t.cdf(x, df), [_u(-3, 3, 4), _u(1, 9, 4)])]:
        xs = [npg.tensor(a) for a in args]
        gs = npg.autograd.grad(fn(*xs).sum(), xs, create_graph=True)
        for i, g in enumerate(gs):
            def first(*ts, i=i):   # (the finite differences call it on constants)
                ts = [v if v.requires_grad else npg.tensor(v.data) for v in ts]
                return npg.autograd.grad(fn(*ts).sum(), [ts[i]], create_graph=True)[0]
            check_finite_difference(first, args, eps=1e-5, rtol=1e-5, atol=1e-8, what=f"{name} d/d{i}")


# ----------------------------------------------------------------------------- supports, dtypes, errors
def test_outside_the_support_is_minus_inf_with_zero_gradients():
    x = npg.tensor([-1.0, 0.5, 2.0])
    a, b = npg.tensor(2.0), npg.tensor(3.0)
    out = stats.beta.logpdf(x, a, b)
    assert np.isneginf(out.data[[0, 2]]).all() and np.isfinite(out.data[1])
    out[np.isfinite(out.data)].sum().backward()
    assert np.isfinite(a.grad).all() and np.isfinite(b.grad).all() and x.grad[0] == 0 and x.grad[2] == 0
    x = npg.tensor([-1.0, 1.0])
    a = npg.tensor(2.5)
    stats.gamma.logpdf(x, a).sum().backward()   # (-inf + finite: the gradient stays finite, 0 outside)
    assert x.grad[0] == 0 and np.isfinite(x.grad).all() and np.isfinite(a.grad)
    mu = npg.tensor(2.0)
    out = stats.poisson.logpmf([-1, 0.5, 2], mu)
    assert np.isneginf(out.data[:2]).all()
    out[2].backward()
    assert_close(mu.grad, 2 / 2.0 - 1)


def test_float32_parameters_give_float32_results():
    f32 = np.float32
    x = npg.tensor(np.array([0.3, 0.7], f32))
    for out in (stats.norm.logpdf(x, 0.0, 1.0), stats.norm.cdf(x), stats.t.logpdf(x, 3.0),
                stats.gamma.logpdf(x, 2.0), stats.beta.logpdf(x, 2.0, 3.0),
                stats.poisson.logpmf([1, 2], npg.tensor(np.array([1.5, 2.0], f32))),
                stats.binom.logpmf([1, 2], 5, npg.tensor(np.array([0.5, 0.2], f32))),
                stats.bernoulli.logpmf([1, 0], npg.tensor(np.array([0.5, 0.2], f32))),
                stats.categorical.logpmf([1], probs=npg.tensor(np.array([0.5, 0.5], f32))),
                stats.dirichlet.logpdf(npg.tensor(np.array([0.3, 0.7], f32)), npg.tensor(np.array([1.0, 2.0], f32))),
                stats.multivariate_normal.logpdf(x, np.zeros(2, f32), npg.tensor(np.eye(2, dtype=f32))),
                stats.t.cdf(x, 3.0), stats.t.logsf(x, npg.tensor(np.float32(5.0))), stats.gamma.sf(x, 2.0),
                stats.chi2.logpdf(x, 3.0), stats.chi2.cdf(x, npg.tensor(np.float32(2.5))), stats.chi2.logsf(x, 4),
                stats.beta.cdf(x, 2.0, npg.tensor(np.float32(3.0))), stats.beta.logsf(x, 2.0, 3.0),
                stats.poisson.cdf([1, 2], npg.tensor(np.array([1.5, 2.0], f32))),
                stats.binom.sf([1, 2], 5, npg.tensor(np.array([0.5, 0.2], f32)))):
        assert out.dtype == np.float32, out


def test_errors_are_clear():
    with pytest.raises(ValueError, match="simplex"):
        stats.dirichlet.logpdf([0.2, 0.3], [1.0, 1.0])
    with pytest.raises(ValueError, match="alpha must be > 0"):
        stats.dirichlet.logpdf([0.2, 0.8], [1.0, -1.0])
    with pytest.raises(ValueError, match="exactly one of probs and logits"):
        stats.categorical.logpmf([0], probs=[0.5, 0.5], logits=[0.0, 0.0])
    with pytest.raises(ValueError, match=r"categories k must lie in \[0, 2\)"):
        stats.categorical.logpmf([2], probs=[0.5, 0.5])
    with pytest.raises(TypeError, match="count k takes no gradient"):
        stats.poisson.logpmf(npg.tensor([1.0]), 2.0)
    with pytest.raises(TypeError, match="binom: the count k takes no gradient"):
        stats.binom.cdf(npg.tensor([1.0]), 5, 0.5)
    with pytest.raises(TypeError, match="no frozen form"):
        stats.norm(0.0, 1.0)
    with pytest.raises(ValueError, match="3 components along its last axis, the distribution 2"):
        stats.multivariate_normal.logpdf(np.zeros(3), np.zeros(2), np.eye(2))
    with pytest.raises(npg.linalg.LinAlgError):
        stats.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), -np.eye(2))
