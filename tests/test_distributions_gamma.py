"""Gamma, Chi2, Beta, Dirichlet, StudentT and FisherSnedecor against torch.distributions (torch 2.13): values and
gradients of log_prob, cdf, entropy, mean, variance, mode and kl_divergence in float64 and float32 with
broadcast parameter shapes; standard_gamma's implicit reparameterization gradient against
torch._standard_gamma_grad and finite differences of SciPy's inverse CDF; Monte-Carlo checks that rsample's
gradients estimate the derivatives of known expectations; shapes, dtypes, expand and validation errors."""
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D
from npgrad.distributions._gamma_sample import standard_gamma, standard_gamma_grad

rng = np.random.default_rng(7)
B = (2, 3)
POS = rng.uniform(0.5, 3.0, B)
SIMPLEX = rng.dirichlet(np.ones(4), B)

# name: (constructor args: arrays become tensors (requires_grad), numbers stay numbers; log_prob points)
CASES = {
    "Gamma": (dict(concentration=POS, rate=rng.uniform(0.5, 2.0, (3,))), rng.uniform(0.1, 4.0, B)),
    "Gamma_small": (dict(concentration=rng.uniform(0.05, 0.9, B), rate=1.5), rng.uniform(0.01, 2.0, B)),
    "Gamma_scalar": (dict(concentration=2.5, rate=0.7), rng.uniform(0.1, 4.0, B)),
    "Chi2": (dict(df=POS * 2), rng.uniform(0.1, 6.0, B)),
    "Beta": (dict(concentration1=POS, concentration0=rng.uniform(0.3, 4.0, (1, 3))), rng.uniform(0.05, 0.95, B)),
    "Beta_scalar": (dict(concentration1=0.7, concentration0=2.0), rng.uniform(0.05, 0.95, B)),
    "Dirichlet": (dict(concentration=rng.uniform(0.3, 3.0, (2, 3, 4))), SIMPLEX),
    "Dirichlet_small": (dict(concentration=rng.uniform(0.2, 0.9, (2, 3))), rng.dirichlet(np.ones(3), 2)),
    "StudentT": (dict(df=np.array([[0.7, 1.5, 2.0], [3.0, 5.0, 30.0]]), loc=rng.normal(size=(3,)),
                      scale=rng.uniform(0.5, 2.0, (2, 1))), rng.normal(size=B) * 2),
    "StudentT_df": (dict(df=np.array([2.5, 4.0, 9.0])), rng.normal(size=B)),
    "FisherSnedecor": (dict(df1=np.array([[1.5, 2.0, 3.0], [4.0, 7.0, 12.0]]),
                            df2=np.array([[1.5, 3.0, 4.0], [4.5, 9.0, 20.0]])), rng.uniform(0.1, 3.0, B)),
}
HAS_CDF = ("Gamma", "Gamma_small", "Gamma_scalar", "Chi2")


def _build(name, lib, dtype, grad=True):
    params = CASES[name][0]
    tens, args = {}, {}
    for k, v in params.items():
        if isinstance(v, np.ndarray):
            mk = npg.tensor if lib == "npg" else torch.tensor
            tens[k] = args[k] = mk(v.astype(dtype), requires_grad=grad)
        else:
            args[k] = v
    return getattr(D if lib == "npg" else TD, name.split("_")[0])(**args), tens


def _grads(out, tens, lib):
    """Gradients of a fixed random weighting of ``out`` (not its plain sum, which would hide, e.g., the
    gradients of a mean normalized to sum to 1)."""
    keys = sorted(tens)
    w = np.random.default_rng(1).uniform(0.5, 1.5, tuple(out.shape))
    if lib == "npg":
        g = npg.autograd.grad((out * npg.tensor(w.astype(out.dtype))).sum(), [tens[k] for k in keys],
                              allow_unused=True)
        return [None if x is None else np.asarray(x.data) for x in g]
    g = torch.autograd.grad((out * torch.tensor(w, dtype=out.dtype)).sum(), [tens[k] for k in keys],
                            allow_unused=True)
    return [None if x is None else x.numpy() for x in g]


def _compare(on, ot, tn, tt, what, dtype):
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (2e-5, 1e-5)
    ot_np = ot.detach().numpy()
    assert tuple(on.shape) == tuple(ot.shape), (what, on.shape, ot.shape)
    assert on.dtype == ot_np.dtype, (what, on.dtype, ot_np.dtype)
    np.testing.assert_allclose(np.asarray(on.data, float), ot_np.astype(float), rtol=rtol, atol=atol, err_msg=what)
    if not ot.requires_grad:
        return
    for gn, gt, k in zip(_grads(on, tn, "npg"), _grads(ot, tt, "torch"), sorted(tn)):
        if gt is None:
            assert gn is None or np.allclose(gn, 0), (what, k)
            continue
        assert gn is not None, (what, k)
        # (float64 gradients: torch's trigamma (digamma's derivative) is off by up to ~5e-10 relative, npgrad's
        # matches SciPy's to 1 ulp, so the gradients of lgamma/digamma terms agree to ~1e-9, not 1e-10)
        scale = float(np.nanmax(np.abs(gt), initial=1.0))
        np.testing.assert_allclose(gn.astype(float), gt.astype(float), rtol=1e-8 if dtype == np.float64 else 1e-4,
                                   atol=(1e-9 if dtype == np.float64 else 1e-5) * scale, err_msg=f"d {what} / d {k}")


# (Python-number parameters, the "_scalar" cases, take npgrad's default dtype, float64, as torch's: float64 only)
@pytest.mark.parametrize("name, dtype", [(n, d) for n in CASES for d in (np.float64, np.float32)
                                         if d == np.float64 or not n.endswith("_scalar")])
@pytest.mark.parametrize("method", ["log_prob", "cdf", "mean", "mode", "variance", "stddev", "entropy"])
def test_against_torch(name, method, dtype):
    if name.endswith("_scalar"):
        torch.set_default_dtype(torch.float64)
    try:
        _against_torch(name, method, dtype)
    finally:
        torch.set_default_dtype(torch.float32)


def _against_torch(name, method, dtype):
    dn, tn = _build(name, "npg", dtype)
    dt, tt = _build(name, "torch", dtype)
    if method in ("log_prob", "cdf"):
        if method == "cdf" and name not in HAS_CDF:
            with pytest.raises(NotImplementedError):
                dn.cdf(npg.tensor(CASES[name][1].astype(dtype)))
            return
        pts = CASES[name][1].astype(dtype)
        tn["~value"] = vn = npg.tensor(pts, requires_grad=True)
        tt["~value"] = vt = torch.tensor(pts, requires_grad=True)
        if method == "cdf":   # torch has no gradient of gammainc in a: checked against differences below
            _cdf_concentration_grad(dn, pts)
            dt, tt = _build(name, "torch", dtype)
            tt["~value"] = vt
            for k in ("concentration", "df"):
                if k in tt:
                    tt.pop(k).requires_grad_(False)
                    tn.pop(k)
        on, ot = getattr(dn, method)(vn), getattr(dt, method)(vt)
    else:
        try:
            ot = getattr(dt, method)() if method == "entropy" else getattr(dt, method)
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                getattr(dn, method)() if method == "entropy" else getattr(dn, method)
            return
        on = getattr(dn, method)() if method == "entropy" else getattr(dn, method)
    _compare(on, ot, tn, tt, f"{name}.{method}[{np.dtype(dtype).name}]", dtype)


def _cdf_concentration_grad(dn, pts):
    """d cdf / d concentration (or df) against central differences of SciPy's gammainc, in float64."""
    leaf = dn.__dict__.get("concentration")
    key = "concentration"
    if not (isinstance(leaf, npg.Tensor) and leaf._parents is None and leaf.requires_grad):
        return   # (Chi2: concentration = df / 2 is not a leaf; Gamma_scalar: numbers)
    (g,) = npg.autograd.grad(dn.cdf(npg.tensor(pts.astype(leaf.dtype))).sum(), [leaf])
    a = leaf.data.astype(float)
    rx = (dn.rate.data * pts).astype(float)
    h = 1e-5 * a
    fd = (sp.gammainc(a + h, rx) - sp.gammainc(a - h, rx)) / (2 * h)
    tol = 1e-7 if leaf.dtype == np.float64 else 2e-3
    np.testing.assert_allclose(g.data.astype(float), fd, rtol=tol, atol=tol * 1e-2, err_msg=f"d cdf / d {key}")


def test_shapes_match_torch():
    for name in CASES:
        dn, _ = _build(name, "npg", np.float64, grad=False)
        dt, _ = _build(name, "torch", np.float64, grad=False)
        assert dn.batch_shape == tuple(dt.batch_shape), name
        assert dn.event_shape == tuple(dt.event_shape), name
        assert dn.has_rsample and dt.has_rsample
        assert set(dn.arg_constraints) == set(dt.arg_constraints), name
        assert type(dn.support).__name__ == type(dt.support).__name__, name
        for ss in [(), (5,), (2, 1)]:
            for dtype in (np.float64, np.float32):
                dn32, _ = _build(name, "npg", dtype, grad=False)
                x = dn32.rsample(ss)
                assert x.shape == ss + tuple(dt.batch_shape) + tuple(dt.event_shape), (name, ss)
                if not name.endswith("_scalar"):   # (Python numbers: npgrad's default dtype)
                    assert x.dtype == dtype, (name, x.dtype)
                assert bool(np.all(dn32.support.check(x).data)), name   # samples lie in the support
                assert dn32.sample(ss).shape == x.shape
        ex = dn.expand((4,) + tuple(dt.batch_shape))
        tex = dt.expand((4,) + tuple(dt.batch_shape))
        assert ex.batch_shape == tuple(tex.batch_shape) and ex.event_shape == tuple(tex.event_shape), name
        assert type(ex) is type(dn)
        np.testing.assert_allclose(ex.mean.data, tex.mean.numpy(), rtol=1e-6, equal_nan=True)   # (torch: float32)
        assert ex.rsample((2,)).shape == (2,) + tuple(tex.batch_shape) + tuple(tex.event_shape)


def test_reproducible_with_manual_seed():
    d = D.Dirichlet(npg.tensor(np.array([0.5, 2.0, 3.0])))
    npg.manual_seed(123)
    a = D.Gamma(0.3, 2.0).sample((50,)).data.copy(), d.sample((7,)).data.copy()
    npg.manual_seed(123)
    b = D.Gamma(0.3, 2.0).sample((50,)).data.copy(), d.sample((7,)).data.copy()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


# ------------------------------------------------------------------------------------------------ KL
def _kl_specs():
    g = lambda c, r: ("Gamma", dict(concentration=c, rate=r))   # noqa: E731
    be = lambda a, b: ("Beta", dict(concentration1=a, concentration0=b))   # noqa: E731
    return {
        "Gamma-Gamma": (g(POS, POS[::-1].copy()), g(POS + 1.0, rng.uniform(0.5, 2, (3,)))),
        "Chi2-Gamma": (("Chi2", dict(df=POS * 2)), g(POS, POS + 0.5)),
        "Beta-Beta": (be(POS, POS[::-1].copy()), be(POS + 0.5, rng.uniform(0.5, 2, (3,)))),
        "Dirichlet-Dirichlet": (("Dirichlet", dict(concentration=rng.uniform(0.3, 3, (2, 3, 4)))),
                                ("Dirichlet", dict(concentration=rng.uniform(0.3, 3, (3, 4))))),
        "Gamma-Exponential": (g(POS, POS + 1), ("Exponential", dict(rate=POS[::-1].copy()))),
        "Exponential-Gamma": (("Exponential", dict(rate=POS)), g(POS + 0.3, POS[::-1].copy())),
        "Gamma-Gumbel": (g(POS, POS + 1), ("Gumbel", dict(loc=rng.normal(size=B), scale=POS))),
        "Gamma-Normal": (g(POS, POS + 1), ("Normal", dict(loc=rng.normal(size=B), scale=POS))),
        "Beta-Exponential": (be(POS, POS + 1), ("Exponential", dict(rate=POS))),
        "Beta-Gamma": (be(POS, POS + 1), g(POS + 0.5, POS)),
        "Beta-Normal": (be(POS, POS + 1), ("Normal", dict(loc=rng.normal(size=B), scale=POS))),
        "Beta-Uniform": (be(POS, POS + 1), ("Uniform", dict(low=np.array([[-0.5, 0.0, 0.2]] * 2),
                                                          high=np.array([[1.0, 1.5, 1.0]] * 2)))),
        "Uniform-Beta": (("Uniform", dict(low=np.array([[0.0, 0.1, -0.1], [0.2, 0.3, 0.4]]),
                                          high=np.array([[1.0, 0.5, 0.5], [0.9, 1.2, 0.6]]))), be(POS, POS + 1)),
        "Uniform-Gamma": (("Uniform", dict(low=np.array([[0.0, 0.1, -0.1], [0.2, 0.3, 0.4]]),
                                           high=np.array([[1.0, 0.5, 0.5], [0.9, 2.2, 3.6]]))), g(POS, POS + 1)),
        "Gamma-Beta": (g(POS, POS), be(POS, POS)),
        "Gamma-Uniform": (g(POS, POS), ("Uniform", dict(low=np.zeros(B), high=np.ones(B)))),
        "Exponential-Beta": (("Exponential", dict(rate=POS)), be(POS, POS)),
        "Normal-Gamma": (("Normal", dict(loc=np.zeros(B), scale=POS)), g(POS, POS)),
        "Laplace-Beta": (("Laplace", dict(loc=np.zeros(B), scale=POS)), be(POS, POS)),
        "Gumbel-Gamma": (("Gumbel", dict(loc=np.zeros(B), scale=POS)), g(POS, POS)),
    }


KL_SPECS = _kl_specs()


def _make(spec, lib, dtype, tens, prefix):
    cls, params = spec
    args = {}
    for k, v in params.items():
        mk = npg.tensor if lib == "npg" else torch.tensor
        t = mk(np.asarray(v).astype(dtype), requires_grad=True)
        tens[prefix + k] = args[k] = t
    return getattr(D if lib == "npg" else TD, cls)(**args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", list(KL_SPECS))
def test_kl_against_torch(pair, dtype):
    sp_, sq = KL_SPECS[pair]
    tn, tt = {}, {}
    kn = D.kl_divergence(_make(sp_, "npg", dtype, tn, "p."), _make(sq, "npg", dtype, tn, "q."))
    kt = TD.kl_divergence(_make(sp_, "torch", dtype, tt, "p."), _make(sq, "torch", dtype, tt, "q."))
    if not kt.requires_grad:   # (the infinite ones)
        assert not np.isfinite(kn.data).any()
        np.testing.assert_array_equal(kn.data, kt.numpy())
        return
    _compare(kn, kt, tn, tt, f"KL {pair}[{np.dtype(dtype).name}]", dtype)


def test_kl_beta_uniform_infinite_where_support_not_covered():
    kl = D.kl_divergence(D.Beta(npg.tensor([2.0, 2.0]), npg.tensor([3.0, 3.0])),
                         D.Uniform(npg.tensor([0.1, 0.0]), npg.tensor([1.0, 1.0])))
    assert kl.data[0] == np.inf and np.isfinite(kl.data[1])


# ---------------------------------------------------------------------------- standard_gamma's gradient
ALPHAS = np.logspace(-3, 3, 25)


def _pairs(n=40, seed=0):
    r = np.random.default_rng(seed)
    a = np.repeat(ALPHAS, n)
    x = np.maximum(r.gamma(a), np.finfo(np.float64).tiny)
    return a, x


def test_standard_gamma_grad_matches_torch():
    """torch._standard_gamma_grad approximates dx/dalpha (series, asymptotic expansion, rational fit); ours is
    exact. Over alpha in [1e-3, 1e3] the two agree to torch's approximation error: 1e-3 relative at worst
    (measured: <= 9.1e-4, median ~1e-6), the same in float32."""
    a, x = _pairs()
    ours = standard_gamma_grad(a, x)
    ref = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    rel = np.abs(ours - ref) / np.abs(ref)
    assert rel.max() < 1.5e-3, rel.max()
    assert np.median(rel) < 1e-4, np.median(rel)
    a32, x32 = a.astype(np.float32), np.maximum(x.astype(np.float32), np.finfo(np.float32).tiny)
    ours32 = standard_gamma_grad(a32, x32)
    assert ours32.dtype == np.float32
    ref32 = torch._standard_gamma_grad(torch.tensor(a32), torch.tensor(x32)).numpy()
    np.testing.assert_allclose(ours32, ref32, rtol=2e-3, atol=0)


def test_standard_gamma_grad_matches_inverse_cdf_differences():
    """The exact oracle: x = F^-1(u; alpha) with u held fixed, differentiated by central differences of
    SciPy's gammaincinv."""
    a, x = _pairs(n=12, seed=1)
    u = sp.gammainc(a, x)
    ok = (u > 1e-10) & (u < 1 - 1e-10) & (x > 1e-200)
    a, x, u = a[ok], x[ok], u[ok]
    h = 1e-6 * a
    fd = (sp.gammaincinv(a + h, u) - sp.gammaincinv(a - h, u)) / (2 * h)
    np.testing.assert_allclose(standard_gamma_grad(a, x), fd, rtol=1e-6)   # (measured: <= 6e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_standard_gamma_vjp_is_the_implicit_gradient(dtype):
    """Backward through a drawn sample gives g * torch._standard_gamma_grad(alpha, x) at that sample."""
    npg.manual_seed(5)
    alpha = npg.tensor(np.array([1e-3, 0.02, 0.4, 1.0, 3.0, 9.0, 50.0, 900.0], dtype=dtype), requires_grad=True)
    x = standard_gamma(alpha)
    assert x.dtype == dtype and x.shape == alpha.shape and (x.data > 0).all()
    g = np.linspace(0.5, 2.0, 8).astype(dtype)
    (ga,) = npg.autograd.grad((x * npg.tensor(g)).sum(), [alpha])
    ref = g * torch._standard_gamma_grad(torch.tensor(alpha.data), torch.tensor(x.data)).numpy()
    assert ga.dtype == dtype
    np.testing.assert_allclose(ga.data, ref, rtol=2e-3)


def test_standard_gamma_second_derivative():
    """With create_graph the gradient is differentiable: d2x/dalpha2 at fixed u against central differences
    of the inverse CDF."""
    npg.manual_seed(9)
    alpha = npg.tensor(np.array([0.3, 1.7, 6.0, 40.0]), requires_grad=True)
    x = standard_gamma(alpha)
    (g1,) = npg.autograd.grad(x.sum(), [alpha], create_graph=True)
    (g2,) = npg.autograd.grad(g1.sum(), [alpha])
    a, u = alpha.data, sp.gammainc(alpha.data, x.data)
    h = 1e-3 * a
    fd2 = (sp.gammaincinv(a + h, u) - 2 * x.data + sp.gammaincinv(a - h, u)) / h ** 2
    np.testing.assert_allclose(g2.data, fd2, rtol=2e-4)


def test_standard_gamma_errors():
    with pytest.raises(ValueError, match="standard_gamma.*positive"):
        standard_gamma(npg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="standard_gamma.*positive"):
        standard_gamma(npg.tensor([np.nan]))
    with pytest.raises(TypeError, match="standard_gamma"):
        standard_gamma(npg.tensor([1, 2]))


# ------------------------------------------------------------------------- Monte-Carlo gradient checks
N = 20000


def _mc(grads, exact):
    """Each column of ``grads`` holds N independent per-sample gradient estimates: their mean is within 4
    standard errors of ``exact``."""
    mean, se = grads.mean(0), grads.std(0) / np.sqrt(grads.shape[0])
    assert np.all(np.abs(mean - exact) < 4 * se + 1e-12), (mean, exact, se)


def test_mc_gamma_rsample_gradients():
    npg.manual_seed(11)
    conc0, rate0 = np.array([0.05, 0.4, 1.0, 4.0, 60.0]), np.array([0.5, 1.0, 2.0, 1.5, 3.0])
    conc = npg.tensor(np.tile(conc0, (N, 1)), requires_grad=True)
    rate = npg.tensor(np.tile(rate0, (N, 1)), requires_grad=True)
    x = D.Gamma(conc, rate).rsample()
    gc, gr = npg.autograd.grad(x.sum(), [conc, rate], retain_graph=True)
    _mc(gc.data, 1 / rate0)                      # E[x] = alpha / rate
    _mc(gr.data, -conc0 / rate0 ** 2)
    gc, gr = npg.autograd.grad(x.log().sum(), [conc, rate])
    _mc(gc.data, sp.polygamma(1, conc0))         # E[log x] = digamma(alpha) - log(rate)
    _mc(gr.data, -1 / rate0)


def test_mc_beta_dirichlet_chi2_studentt_fisher_gradients():
    npg.manual_seed(12)
    a0, b0 = np.array([0.3, 1.0, 5.0]), np.array([2.0, 0.5, 3.0])
    a = npg.tensor(np.tile(a0, (N, 1)), requires_grad=True)
    b = npg.tensor(np.tile(b0, (N, 1)), requires_grad=True)
    x = D.Beta(a, b).rsample()
    ga, gb = npg.autograd.grad(x.sum(), [a, b])
    _mc(ga.data, b0 / (a0 + b0) ** 2)            # E[x] = a / (a + b)
    _mc(gb.data, -a0 / (a0 + b0) ** 2)
    c0 = np.array([0.5, 1.5, 3.0])
    c = npg.tensor(np.tile(c0, (N, 1)), requires_grad=True)
    (gc,) = npg.autograd.grad(D.Dirichlet(c).rsample().log()[:, 0].sum(), [c])
    tri = sp.polygamma(1, c0.sum())              # E[log x_0] = digamma(c_0) - digamma(sum c)
    _mc(gc.data, np.array([sp.polygamma(1, c0[0]) - tri, -tri, -tri]))
    df0 = np.array([0.7, 3.0, 12.0])
    df = npg.tensor(np.tile(df0, (N, 1)), requires_grad=True)
    (gd,) = npg.autograd.grad(D.Chi2(df).rsample().sum(), [df])
    _mc(gd.data, np.ones(3))                     # E[x] = df
    t0 = np.array([8.0, 12.0])
    tdf = npg.tensor(np.tile(t0, (N, 1)), requires_grad=True)
    (gt,) = npg.autograd.grad(D.StudentT(tdf).rsample().pow(2).sum(), [tdf])
    _mc(gt.data, -2 / (t0 - 2) ** 2)             # E[x^2] = df / (df - 2)
    d2 = np.array([6.0, 10.0])
    f1 = npg.tensor(np.full((N, 2), 3.0), requires_grad=True)
    f2 = npg.tensor(np.tile(d2, (N, 1)), requires_grad=True)
    g1, g2 = npg.autograd.grad(D.FisherSnedecor(f1, f2).rsample().sum(), [f1, f2])
    _mc(g1.data, np.zeros(2))                    # E[x] = df2 / (df2 - 2)
    _mc(g2.data, -2 / (d2 - 2) ** 2)


def test_samples_follow_the_distribution():
    """Kolmogorov-Smirnov against SciPy (fixed seed), including concentrations far below 1."""
    npg.manual_seed(3)
    for c, r in [(0.02, 1.0), (0.5, 2.0), (7.0, 0.3)]:
        x = D.Gamma(c, r).sample((4000,)).data
        assert st.kstest(x, st.gamma(c, scale=1 / r).cdf).pvalue > 1e-3, (c, r)
    x = D.Beta(0.5, 2.5).sample((4000,)).data
    assert st.kstest(x, st.beta(0.5, 2.5).cdf).pvalue > 1e-3
    x = D.StudentT(3.0, 1.0, 2.0).sample((4000,)).data
    assert st.kstest(x, st.t(3.0, 1.0, 2.0).cdf).pvalue > 1e-3
    x = D.FisherSnedecor(4.0, 7.0).sample((4000,)).data
    assert st.kstest(x, st.f(4.0, 7.0).cdf).pvalue > 1e-3


# ----------------------------------------------------------------------------------------- validation
def test_validate_args_errors():
    with pytest.raises(ValueError, match=r"concentration.*GreaterThan"):
        D.Gamma(npg.tensor([1.0, -1.0]), 1.0)
    with pytest.raises(ValueError, match=r"rate.*GreaterThan"):
        D.Gamma(1.0, npg.tensor([0.0]))
    with pytest.raises(ValueError, match=r"df.*GreaterThan"):
        D.Chi2(npg.tensor([-2.0]))
    with pytest.raises(ValueError, match=r"concentration.*IndependentConstraint"):
        D.Dirichlet(npg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        D.Dirichlet(npg.tensor(1.0))
    with pytest.raises(ValueError, match=r"concentration0.*GreaterThan"):
        D.Beta(npg.tensor([1.0]), npg.tensor([-1.0]), validate_args=None)
    with pytest.raises(ValueError, match=r"scale.*GreaterThan"):
        D.StudentT(3.0, 0.0, npg.tensor([-1.0]))
    with pytest.raises(ValueError, match=r"df2.*GreaterThan"):
        D.FisherSnedecor(1.0, npg.tensor([0.0]))
    with pytest.raises(ValueError, match="support"):
        D.Gamma(1.0, 1.0).log_prob(npg.tensor(-1.0))
    with pytest.raises(ValueError, match="support"):
        D.Beta(1.0, 1.0).log_prob(npg.tensor(1.5))
    with pytest.raises(ValueError, match="support"):
        D.Dirichlet(npg.tensor([1.0, 2.0])).log_prob(npg.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="support"):
        D.FisherSnedecor(2.0, 3.0).log_prob(npg.tensor(0.0))
    D.Gamma(npg.tensor([-1.0]), 1.0, validate_args=False)   # no error when validation is off
    with pytest.raises(TypeError):
        D.Gamma(1.0, 1.0).rsample(((2,),))
