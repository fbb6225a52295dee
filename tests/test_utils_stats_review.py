"""Adversarial review of nn.utils, nn.init, parametrizations, LR schedulers and npg.stats against PyTorch,
SciPy and finite differences."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn


def _sgd_pair():
    p1, p2 = nn.Parameter(npg.tensor(np.ones(2))), nn.Parameter(npg.tensor(np.ones(3)))
    t1, t2 = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    o = npg.optim.SGD([{"params": [p1]}, {"params": [p2], "lr": 0.05}], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([{"params": [t1]}, {"params": [t2], "lr": 0.05}], lr=0.1, momentum=0.9)
    return o, to


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


_RESUMED = {
    "StepLR": lambda L, o, e: L.StepLR(o, 3, gamma=0.5, last_epoch=e),
    "MultiStepLR": lambda L, o, e: L.MultiStepLR(o, [2, 5, 9], gamma=0.5, last_epoch=e),
    "LinearLR": lambda L, o, e: L.LinearLR(o, start_factor=0.25, total_iters=7, last_epoch=e),
    "MultiplicativeLR": lambda L, o, e: L.MultiplicativeLR(o, lambda k: 0.9, last_epoch=e),
}


@pytest.mark.parametrize("name", sorted(_RESUMED))
@pytest.mark.parametrize("last_epoch", [0, 1, 2, 4, 5, 8])
def test_scheduler_resumed_from_last_epoch_matches_torch(name, last_epoch):
    # building a scheduler with last_epoch=k (resuming) makes PyTorch's initial step from epoch k to k + 1
    o, to = _sgd_pair()
    for g in o.param_groups + to.param_groups:
        g["initial_lr"] = g["lr"]
    s = _RESUMED[name](npg.optim.lr_scheduler, o, last_epoch)
    ts = _RESUMED[name](torch.optim.lr_scheduler, to, last_epoch)
    for _ in range(12):
        assert _lrs(o) == _lrs(to)
        assert s.get_last_lr() == ts.get_last_lr()
        s.step()
        ts.step()


def test_multiplicative_lr_step_with_epoch_zero_matches_torch():
    o, to = _sgd_pair()
    s = npg.optim.lr_scheduler.MultiplicativeLR(o, lambda k: 0.9)
    ts = torch.optim.lr_scheduler.MultiplicativeLR(to, lambda k: 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 0, 1, 0, 2]:
            s.step(epoch)
            ts.step(epoch)
            assert _lrs(o) == _lrs(to)


# ------------------------------------------------------------------------------------------ npg.stats
import scipy.stats  # noqa: E402

_CONT = [  # (name, method args after x, kwargs): parameters outside their domain
    ("norm", (), dict(loc=0.5, scale=-1.0)), ("norm", (), dict(loc=0.5, scale=0.0)),
    ("t", (3.0,), dict(scale=-2.0)), ("t", (-0.5,), {}), ("t", (0.0,), {}),
    ("gamma", (-0.5,), {}), ("gamma", (0.0,), {}), ("gamma", (2.0,), dict(loc=0.1, scale=-1.0)),
    ("chi2", (-1.0,), {}), ("chi2", (3.0,), dict(scale=-2.0)),
    ("beta", (-0.5, 2.0), {}), ("beta", (2.0, -1.0), {}), ("beta", (0.0, 2.0), {}),
    ("beta", (2.0, 3.0), dict(loc=-0.2, scale=-1.0)),
]


@pytest.mark.parametrize("name,params,kw", _CONT)
@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"])
def test_stats_continuous_parameter_outside_domain_is_nan_as_scipy(name, params, kw, method):
    x = np.array([-3.0, -0.1, 0.05, 0.3, 0.9, 2.5, 40.0])
    ref = getattr(getattr(scipy.stats, name), method)(x, *params, **kw)
    with np.errstate(all="ignore"):
        got = getattr(getattr(npg.stats, name), method)(npg.tensor(x), *[npg.tensor(p) for p in params],
                                                        **{k: npg.tensor(v) for k, v in kw.items()})
    assert np.isnan(ref).all()
    np.testing.assert_array_equal(np.asarray(got.data), ref)


@pytest.mark.parametrize("method", ["ppf", "isf"])
@pytest.mark.parametrize("scale", [-1.0, 0.0])
def test_stats_norm_quantiles_with_bad_scale_are_nan_as_scipy(method, scale):
    q = np.array([0.0, 1e-300, 0.3, 0.5, 1.0])
    ref = getattr(scipy.stats.norm, method)(q, loc=0.5, scale=scale)
    got = getattr(npg.stats.norm, method)(npg.tensor(q), loc=0.5, scale=npg.tensor(scale))
    np.testing.assert_array_equal(np.asarray(got.data), ref)


# (a non-integer n is npgrad's continuation, for gradients in n; SciPy's cdf of a negative n is 1 past k = n)
_DISC = [("poisson", (-1.0,)), ("binom", (5, -0.1)), ("binom", (5, 1.1)), ("bernoulli", (-0.1,)),
         ("bernoulli", (1.1,))]


@pytest.mark.parametrize("name,params,method", [
    (name, params, method) for name, params in _DISC
    for method in (("logpmf", "pmf") if name == "bernoulli" else   # (npg.stats.bernoulli has these two only)
                   ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"))])
def test_stats_discrete_parameter_outside_domain_is_nan_as_scipy(name, params, method):
    k = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])   # (past n, SciPy's binom.logcdf of a bad p is 0, its cdf NaN)
    ref = getattr(getattr(scipy.stats, name), method)(k, *params)
    with np.errstate(all="ignore"):
        got = getattr(getattr(npg.stats, name), method)(k, *[npg.tensor(float(p)) for p in params])
    np.testing.assert_array_equal(np.asarray(got.data), ref)


@pytest.mark.parametrize("name,params", [("poisson", (2.0,)), ("binom", (5, 0.3)), ("bernoulli", (0.3,))])
def test_stats_discrete_nan_count_is_nan_as_scipy(name, params):
    k = np.array([np.nan, 1.0])
    for method in ("logpmf", "pmf"):
        ref = getattr(getattr(scipy.stats, name), method)(k, *params)
        got = getattr(getattr(npg.stats, name), method)(k, *params)
        np.testing.assert_allclose(np.asarray(got.data), ref, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("method", ["logpmf", "pmf"])
def test_stats_binom_negative_n_is_nan_as_scipy(method):
    k = np.array([-1.0, 0.0, 1.0, 2.0])
    ref = getattr(scipy.stats.binom, method)(k, -1, 0.3)
    with np.errstate(all="ignore"):
        got = getattr(npg.stats.binom, method)(k, npg.tensor(-1.0), npg.tensor(0.3))
    np.testing.assert_array_equal(np.asarray(got.data), ref)


# ------------------------------------------------------------------------------------- parametrizations
def _linear_pair(i, o):
    t = torch.nn.Linear(i, o).double()
    m = nn.Linear(i, o)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return m, t


def _conv_pair():
    t = torch.nn.Conv2d(3, 4, 3).double()
    m = nn.Conv2d(3, 4, 3)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return m, t


@pytest.mark.parametrize("dim", [-2, -3, -4, 2, 3])
@pytest.mark.parametrize("which", ["linear", "conv"])
def test_weight_norm_negative_or_inner_dim_matches_torch(dim, which):
    m, t = _linear_pair(5, 4) if which == "linear" else _conv_pair()
    x = np.random.default_rng(0).standard_normal((2, 5) if which == "linear" else (2, 3, 6, 6))
    try:
        torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    except IndexError:
        with pytest.raises(IndexError):
            nn.utils.parametrizations.weight_norm(m, dim=dim)
        return
    nn.utils.parametrizations.weight_norm(m, dim=dim)
    tsd = t.state_dict()
    for k, v in m.state_dict().items():
        np.testing.assert_allclose(np.asarray(getattr(v, "data", v)), tsd[k].numpy(), rtol=1e-12)
    ym, yt = m(npg.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ym.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    ym.sum().backward()
    yt.sum().backward()
    for name in ("original0", "original1"):
        np.testing.assert_allclose(getattr(m.parametrizations.weight, name).grad,
                                   getattr(t.parametrizations.weight, name).grad.numpy(), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------ nn.init
@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, 8.0, 9.0), (0.0, 1.0, -12.0, -11.0), (3.0, 0.5, 0.0, 0.5),
                                          (0.0, 1.0, 1.5, 2.0), (0.0, 1.0, -2.0, 2.0)])
def test_trunc_normal_far_interval_finishes_with_truncnorm_moments(mean, std, a, b):
    # resampling from N(mean, std^2) until inside [a, b] never ended for an interval of tiny probability
    import scipy.stats
    w = npg.tensor(np.empty(20000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn.init.trunc_normal_(w, mean, std, a, b, generator=np.random.default_rng(0))
    ref = scipy.stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert a <= w.data.min() and w.data.max() <= b
    se = ref.std() / np.sqrt(w.data.size)
    assert abs(w.data.mean() - ref.mean()) < 5 * se
    assert abs(w.data.std() / ref.std() - 1) < 0.05


def test_trunc_normal_warns_as_torch_when_mean_far_from_interval():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        nn.init.trunc_normal_(npg.tensor(np.empty(5)), 0.0, 1.0, 3.0, 4.0)


def test_orthogonal_of_zero_elements_is_a_no_op_as_torch():
    w = npg.tensor(np.empty((0, 3)))
    torch.nn.init.orthogonal_(torch.empty(0, 3))
    assert nn.init.orthogonal_(w) is w and w.shape == (0, 3)


@pytest.mark.parametrize("mean", [None, 0.5, np.array([0.5])])
def test_multivariate_normal_one_dimension_takes_points_only_from_1d_x_as_scipy(mean):
    # in one dimension SciPy reads a 0-d or 1-d x as points, a 2-d x must end in an axis of 1
    x2 = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(ValueError):
        scipy.stats.multivariate_normal.logpdf(x2, mean, 2.5)
    with pytest.raises(ValueError, match="multivariate_normal"):
        npg.stats.multivariate_normal.logpdf(x2, mean, 2.5)
    for x in (0.3, x2[0], x2[:, :1]):
        np.testing.assert_allclose(npg.stats.multivariate_normal.logpdf(x, mean, 2.5).data,
                                   scipy.stats.multivariate_normal.logpdf(x, mean, 2.5), rtol=1e-13)


@pytest.mark.parametrize("df", [99.9, 100.0, 150.0, 1e3, 1e5, 1e8, 1e12, 1e200, np.inf])
def test_t_logpdf_large_df_is_accurate_as_scipy(df):
    # gammaln((df+1)/2) - gammaln(df/2) cancelled: 1e-7 relative error at df=1e10, garbage at 1e200, NaN at inf
    x = np.array([-30.0, -3.0, -0.5, 0.0, 1.0, 4.0])
    for loc, scale in [(0.0, 1.0), (0.3, 2.5)]:
        got = npg.stats.t.logpdf(npg.tensor(x), npg.tensor(df), loc, scale)
        # (SciPy's own error is 4e-13 relative at df = 1e3)
        np.testing.assert_allclose(got.data, scipy.stats.t.logpdf(x, df, loc, scale), rtol=2e-12)
        np.testing.assert_allclose(npg.stats.t.pdf(x, df, loc, scale), scipy.stats.t.pdf(x, df, loc, scale),
                                   rtol=1e-12)


@pytest.mark.parametrize("df", [60.0, 99.0, 101.0, 400.0, 3e3, 1e6])
def test_t_logpdf_gradient_in_df_around_series_switch(df):
    import mpmath as mp
    mp.mp.dps = 40
    x = np.array([-3.0, 0.2, 2.0])
    d = npg.tensor(df)
    npg.stats.t.logpdf(npg.tensor(x), d).sum().backward()

    def logpdf(v):
        return sum(mp.loggamma((v + 1) / 2) - mp.loggamma(v / 2) - mp.log(v * mp.pi) / 2
                   - (v + 1) / 2 * mp.log1p(mp.mpf(xi) ** 2 / v) for xi in x)
    np.testing.assert_allclose(float(d.grad), float(mp.diff(logpdf, mp.mpf(df))), rtol=1e-9)


def test_t_cdf_infinite_df_is_normal_as_scipy():
    x = np.array([-3.0, -0.5, 0.0, 1.0, 4.0])
    for m in ("cdf", "sf", "logcdf", "logsf"):
        got = getattr(npg.stats.t, m)(npg.tensor(x), npg.tensor(np.inf), 0.3, 2.0)
        np.testing.assert_allclose(got.data, getattr(scipy.stats.t, m)(x, np.inf, 0.3, 2.0), rtol=1e-13)
