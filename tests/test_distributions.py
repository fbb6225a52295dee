"""npgrad.distributions against torch.distributions (torch 2.13): values and gradients of log_prob, cdf, icdf,
entropy, mean, variance, mode and kl_divergence in float64; float32 kept; shapes, expand, validation errors;
samples checked statistically and rsample's reparameterization gradients exactly."""
import warnings

import numpy as np
import pytest
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D

rng = np.random.default_rng(0)
B = (2, 3)
POS = rng.uniform(0.5, 2.0, B)
REAL = rng.normal(size=B)
PROB = rng.uniform(0.1, 0.9, B)
SIMPLEX = rng.uniform(0.1, 1.0, (2, 3, 4))

# name: (param arrays (as kwargs), points for log_prob/cdf, points for icdf)
CASES = {
    "Normal": (dict(loc=REAL, scale=POS), rng.normal(size=B), rng.uniform(0.05, 0.95, B)),
    "Uniform": (dict(low=REAL - 1, high=REAL + POS), REAL - 0.5, rng.uniform(0.05, 0.95, B)),
    "Laplace": (dict(loc=REAL, scale=POS), REAL + rng.normal(size=B), rng.uniform(0.05, 0.95, B)),
    "Cauchy": (dict(loc=REAL, scale=POS), rng.normal(size=B), rng.uniform(0.05, 0.95, B)),
    "Exponential": (dict(rate=POS), rng.uniform(0.1, 3, B), rng.uniform(0.05, 0.95, B)),
    "HalfNormal": (dict(scale=POS), rng.uniform(0.1, 3, B), rng.uniform(0.05, 0.95, B)),
    "HalfCauchy": (dict(scale=POS), rng.uniform(0.1, 3, B), rng.uniform(0.05, 0.95, B)),
    "LogNormal": (dict(loc=REAL, scale=POS), rng.uniform(0.1, 3, B), rng.uniform(0.05, 0.95, B)),
    "Gumbel": (dict(loc=REAL, scale=POS), rng.normal(size=B), rng.uniform(0.05, 0.95, B)),
    "Bernoulli": (dict(probs=PROB), rng.integers(0, 2, B).astype(float), None),
    "Bernoulli_logits": (dict(logits=REAL), rng.integers(0, 2, B).astype(float), None),
    "Geometric": (dict(probs=PROB), rng.integers(0, 5, B).astype(float), None),
    "Geometric_logits": (dict(logits=REAL), rng.integers(0, 5, B).astype(float), None),
    "Poisson": (dict(rate=POS * 2), rng.integers(0, 6, B).astype(float), None),
    "Binomial": (dict(total_count=7.0, probs=PROB), rng.integers(0, 8, B).astype(float), None),
    "Binomial_logits": (dict(total_count=7.0, logits=REAL), rng.integers(0, 8, B).astype(float), None),
    "Categorical": (dict(probs=SIMPLEX), rng.integers(0, 4, B), None),
    "Categorical_logits": (dict(logits=SIMPLEX * 3), rng.integers(0, 4, B), None),
    "OneHotCategorical": (dict(logits=SIMPLEX * 3), np.eye(4)[rng.integers(0, 4, B)], None),
    "Multinomial": (dict(total_count=5, probs=SIMPLEX), rng.multinomial(5, [0.25] * 4, B).astype(float), None),
}
CONTINUOUS = [k for k, v in CASES.items() if v[2] is not None]


def _build(name, lib, params, dtype=np.float64, grad=True):
    cls = name.split("_")[0]
    tens, args = {}, {}
    for k, v in params.items():
        if isinstance(v, np.ndarray):
            if lib == "npg":
                tens[k] = args[k] = npg.tensor(v.astype(dtype), requires_grad=grad)
            else:
                tens[k] = args[k] = torch.tensor(v.astype(dtype), requires_grad=grad)
        else:
            args[k] = v
    mod = D if lib == "npg" else TD
    return getattr(mod, cls)(**args), tens


def _grads(out, tens, lib):
    keys = sorted(tens)
    if lib == "npg":
        g = npg.autograd.grad(out.sum(), [tens[k] for k in keys], allow_unused=True)
        return [None if x is None else np.asarray(x.data) for x in g]
    g = torch.autograd.grad(out.sum(), [tens[k] for k in keys], allow_unused=True)
    return [None if x is None else x.numpy() for x in g]


def _check(name, method, arg=None, rtol=1e-10, atol=1e-12):
    params, _, _ = CASES[name]
    dn, tn = _build(name, "npg", params)
    dt, tt = _build(name, "torch", params)
    if arg is not None:
        vn = npg.tensor(arg, requires_grad=arg.dtype.kind == "f")
        vt = torch.tensor(arg, requires_grad=arg.dtype.kind == "f")
        if arg.dtype.kind == "f" and method in ("log_prob", "cdf", "icdf") and not name.startswith(
                ("Bernoulli", "Geometric", "Poisson", "Binomial", "Categorical", "OneHot", "Multinomial")):
            tn["~value"], tt["~value"] = vn, vt
        on, ot = getattr(dn, method)(vn), getattr(dt, method)(vt)
    else:
        on, ot = getattr(dn, method), getattr(dt, method)
        if callable(on):
            on, ot = on(), ot()
    ot_np = ot.detach().numpy()
    assert on.shape == tuple(ot.shape), (name, method, on.shape, ot.shape)
    np.testing.assert_allclose(np.asarray(on.data, dtype=float), ot_np.astype(float), rtol=rtol, atol=atol,
                               err_msg=f"{name}.{method}")
    if ot.requires_grad and on.requires_grad:
        for gn, gt, k in zip(_grads(on, tn, "npg"), _grads(ot, tt, "torch"), sorted(tn)):
            if gt is None:
                assert gn is None or np.allclose(gn, 0), (name, method, k)
                continue
            np.testing.assert_allclose(gn, gt, rtol=max(rtol, 1e-9), atol=1e-11, err_msg=f"d {name}.{method} / d {k}")


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("method", ["log_prob", "mean", "variance", "stddev", "mode", "entropy", "perplexity"])
def test_against_torch(name, method):
    params, points, _ = CASES[name]
    if method == "log_prob":
        _check(name, method, points)
        return
    tdist, _ = _build(name, "torch", params)
    try:
        getattr(tdist, method)() if method in ("entropy", "perplexity") else getattr(tdist, method)
    except NotImplementedError:
        dn, _ = _build(name, "npg", params)
        with pytest.raises(NotImplementedError):
            getattr(dn, method)() if method in ("entropy", "perplexity") else getattr(dn, method)
        return
    rtol = 1e-6 if name == "Multinomial" and method in ("entropy", "perplexity") else 1e-10  # torch: lgamma(n+1) of an int tensor in float32
    _check(name, method, rtol=rtol, atol=1e-6 if rtol == 1e-6 else 1e-12)


@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.parametrize("method", ["cdf", "icdf"])
def test_cdf_icdf_against_torch(name, method):
    _, points, probs = CASES[name]
    _check(name, method, points if method == "cdf" else probs)


def _pairs():
    nn = lambda cls, **kw: (cls, kw)  # noqa: E731
    dists = {
        "Normal": nn("Normal", loc=REAL, scale=POS), "Normal2": nn("Normal", loc=REAL[::-1].copy(), scale=POS ** 2),
        "Laplace": nn("Laplace", loc=REAL, scale=POS), "Laplace2": nn("Laplace", loc=-REAL, scale=POS + 1),
        "Cauchy": nn("Cauchy", loc=REAL, scale=POS), "Cauchy2": nn("Cauchy", loc=-REAL, scale=POS + 1),
        "Gumbel": nn("Gumbel", loc=REAL, scale=POS), "Gumbel2": nn("Gumbel", loc=-REAL, scale=POS + 1),
        "Exponential": nn("Exponential", rate=POS), "Exponential2": nn("Exponential", rate=POS + 1),
        "Uniform": nn("Uniform", low=REAL - 1, high=REAL + POS),
        "Uniform2": nn("Uniform", low=REAL - 2, high=REAL + POS + 1),
        "UniformPos": nn("Uniform", low=POS, high=POS + 1),
        "Bernoulli": nn("Bernoulli", probs=PROB), "Bernoulli2": nn("Bernoulli", logits=REAL),
        "Poisson": nn("Poisson", rate=POS), "Poisson2": nn("Poisson", rate=POS * 3),
        "Geometric": nn("Geometric", probs=PROB), "Geometric2": nn("Geometric", probs=PROB[::-1].copy()),
        "Binomial": nn("Binomial", total_count=6.0, probs=PROB), "Binomial2": nn("Binomial", total_count=6.0, logits=REAL),
        "Categorical": nn("Categorical", probs=SIMPLEX), "Categorical2": nn("Categorical", logits=SIMPLEX * 4),
        "OneHotCategorical": nn("OneHotCategorical", probs=SIMPLEX),
        "OneHotCategorical2": nn("OneHotCategorical", logits=SIMPLEX * 4),
        "HalfNormal": nn("HalfNormal", scale=POS), "HalfNormal2": nn("HalfNormal", scale=POS + 1),
        "HalfCauchy": nn("HalfCauchy", scale=POS), "HalfCauchy2": nn("HalfCauchy", scale=POS + 1),
        "LogNormal": nn("LogNormal", loc=REAL, scale=POS), "LogNormal2": nn("LogNormal", loc=-REAL, scale=POS + 1),
    }
    pairs = [(a, a + "2") for a in ["Normal", "Laplace", "Cauchy", "Gumbel", "Exponential", "Uniform", "Bernoulli",
                                    "Poisson", "Geometric", "Binomial", "Categorical", "OneHotCategorical",
                                    "HalfNormal", "HalfCauchy", "LogNormal"]]
    pairs += [("Bernoulli", "Poisson"), ("Exponential", "Gumbel"), ("Exponential", "Normal"), ("Gumbel", "Normal"),
              ("Laplace", "Normal"), ("Normal", "Gumbel"), ("Normal", "Laplace"), ("UniformPos", "Exponential"),
              ("Uniform", "Exponential"), ("Uniform", "Gumbel"), ("Uniform", "Normal"), ("Normal", "Uniform"),
              ("Normal", "Exponential"), ("Exponential", "Uniform"), ("Gumbel", "Uniform"), ("Gumbel", "Exponential"),
              ("Laplace", "Exponential"), ("Laplace", "Uniform"), ("Poisson", "Bernoulli"), ("Poisson", "Binomial"),
              ("Uniform2", "Uniform")]
    return dists, pairs


DISTS, PAIRS = _pairs()


@pytest.mark.parametrize("pq", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_kl_against_torch(pq):
    def build(lib, key):
        cls, kw = DISTS[key]
        tens = {}
        args = {}
        for k, v in kw.items():
            if isinstance(v, np.ndarray):
                t = npg.tensor(v, requires_grad=True) if lib == "npg" else torch.tensor(v, requires_grad=True)
                tens[key + k] = args[k] = t
            else:
                args[k] = v
        return getattr(D if lib == "npg" else TD, cls)(**args), tens
    (pn, tpn), (qn, tqn) = build("npg", pq[0]), build("npg", pq[1])
    (pt, tpt), (qt, tqt) = build("torch", pq[0]), build("torch", pq[1])
    kt = TD.kl_divergence(pt, qt)
    kn = D.kl_divergence(pn, qn)
    np.testing.assert_allclose(kn.data, kt.detach().numpy(), rtol=1e-10, atol=1e-12)
    if kt.requires_grad and np.isfinite(kt.detach().numpy()).all():
        tn, tt = {**tpn, **tqn}, {**tpt, **tqt}
        for gn, gt, k in zip(_grads(kn, tn, "npg"), _grads(kt, tt, "torch"), sorted(tn)):
            if gt is None:
                assert gn is None or np.allclose(gn, 0), k
            else:
                np.testing.assert_allclose(gn, gt, rtol=1e-9, atol=1e-11, err_msg=f"dKL{pq}/d{k}")


def test_kl_not_implemented_and_register():
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0))
    with pytest.raises(NotImplementedError):  # different exponential families, as torch
        D.kl_divergence(D.Normal(0.0, 1.0), D.Poisson(1.0))

    class MyNormal(D.Normal):
        pass

    # a subclass uses the most specific registration
    np.testing.assert_allclose(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)).data, 0.5)

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return npg.as_tensor(np.array(42.0))
    assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)).data) == 42.0
    assert float(D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0)).data) == 0.5
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)


SAMPLERS = {  # name: (npgrad distribution of float64 scalar params, torch twin for the true mean/variance)
    "Normal": lambda m: m.Normal(0.5, 2.0), "Uniform": lambda m: m.Uniform(-1.0, 3.0),
    "Laplace": lambda m: m.Laplace(0.5, 2.0), "Exponential": lambda m: m.Exponential(1.5),
    "HalfNormal": lambda m: m.HalfNormal(2.0), "LogNormal": lambda m: m.LogNormal(0.1, 0.5),
    "Gumbel": lambda m: m.Gumbel(0.5, 2.0), "Bernoulli": lambda m: m.Bernoulli(probs=0.3),
    "Geometric": lambda m: m.Geometric(probs=0.3), "Poisson": lambda m: m.Poisson(3.5),
    "Binomial": lambda m: m.Binomial(10, probs=0.3),
    "Categorical": lambda m: m.Categorical(probs=(torch.tensor if m is TD else npg.tensor)([0.1, 0.2, 0.3, 0.4])),
    "OneHotCategorical": lambda m: m.OneHotCategorical(
        probs=(torch.tensor if m is TD else npg.tensor)([0.1, 0.2, 0.3, 0.4])),
    "Multinomial": lambda m: m.Multinomial(6, probs=(torch.tensor if m is TD else npg.tensor)([0.1, 0.2, 0.3, 0.4])),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_samples_mean_variance(name):
    npg.random.seed(1234)
    d, t = SAMPLERS[name](D), SAMPLERS[name](TD)
    n = 20000
    x = d.sample((n,))
    assert x.shape == (n,) + tuple(t.batch_shape) + tuple(t.event_shape)
    assert not x.requires_grad
    xs = np.asarray(x.data, dtype=float)
    if name == "Categorical":  # mean/variance are NaN in torch: check the frequencies
        freq = np.bincount(xs.astype(int), minlength=4) / n
        p = t.probs.numpy()
        assert (np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n)).all()
        return
    mean, var = t.mean.numpy(), t.variance.numpy()
    assert np.all(np.abs(xs.mean(0) - mean) < 5 * np.sqrt(var / n)), (xs.mean(0), mean)
    fourth = np.mean((xs - mean) ** 4, axis=0)  # standard error of the sample variance
    assert np.all(np.abs(xs.var(0) - var) < 5 * np.sqrt((fourth - var ** 2) / n) + 1e-12), (xs.var(0), var)
    if t.support.is_discrete:
        assert np.all(xs == np.round(xs))
    assert bool(np.all(d.support.check(x).data))


@pytest.mark.parametrize("cls", ["Normal", "Laplace", "Cauchy", "Gumbel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rsample_location_scale_gradient(cls, dtype):
    npg.random.seed(7)
    loc = npg.tensor(REAL.astype(dtype), requires_grad=True)
    scale = npg.tensor(POS.astype(dtype), requires_grad=True)
    x = getattr(D, cls)(loc, scale).rsample((5,))
    assert x.shape == (5,) + B and x.dtype == dtype
    gl, gs = npg.autograd.grad(x.sum(), [loc, scale])
    np.testing.assert_array_equal(gl.data, np.full(B, 5, dtype))  # d x / d loc = 1 per sample
    z = (x.data - loc.data) / scale.data  # d x / d scale = the standardized noise
    np.testing.assert_allclose(gs.data, z.sum(0), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_rsample_other_gradients():
    npg.random.seed(3)
    rate = npg.tensor(POS, requires_grad=True)
    x = D.Exponential(rate).rsample((4,))
    (g,) = npg.autograd.grad(x.sum(), [rate])
    np.testing.assert_allclose(g.data, (-x.data / rate.data).sum(0), rtol=1e-12)  # x = e / rate
    low, high = npg.tensor(REAL, requires_grad=True), npg.tensor(REAL + POS, requires_grad=True)
    x = D.Uniform(low, high).rsample((4,))
    gl, gh = npg.autograd.grad(x.sum(), [low, high])
    u = (x.data - low.data) / (high.data - low.data)
    np.testing.assert_allclose(gh.data, u.sum(0), rtol=1e-12)
    np.testing.assert_allclose(gl.data, (1 - u).sum(0), rtol=1e-12)
    scale = npg.tensor(POS, requires_grad=True)
    x = D.HalfNormal(scale).rsample((4,))
    (g,) = npg.autograd.grad(x.sum(), [scale])
    np.testing.assert_allclose(g.data, (x.data / scale.data).sum(0), rtol=1e-12)
    loc = npg.tensor(REAL, requires_grad=True)
    x = D.LogNormal(loc, scale).rsample((4,))
    (g,) = npg.autograd.grad(x.sum(), [loc])
    np.testing.assert_allclose(g.data, x.data.sum(0), rtol=1e-12)
    for d in [D.Bernoulli(probs=0.3), D.Poisson(1.0), D.Categorical(logits=npg.zeros(3)), D.Geometric(probs=0.5)]:
        assert not d.has_rsample
        with pytest.raises(NotImplementedError, match="rsample"):
            d.rsample()


def test_float32_kept_and_python_numbers_default_dtype():
    for name, (params, points, probs) in CASES.items():
        d, _ = _build(name, "npg", params, dtype=np.float32)
        pts = points.astype(np.float32) if points.dtype.kind == "f" else points
        assert d.log_prob(npg.tensor(pts)).dtype == np.float32, name
        if name.split("_")[0] not in ("Categorical",):
            assert d.mean.dtype == np.float32, name
        if probs is not None:
            assert d.cdf(npg.tensor(pts)).dtype == np.float32, name
            assert d.icdf(npg.tensor(probs.astype(np.float32))).dtype == np.float32, name
            assert d.rsample((3,)).dtype == np.float32, name
        assert d.sample().dtype == (np.int64 if name.startswith("Categorical") else np.float32), name
        if name != "Poisson":  # (no entropy, as torch)
            assert d.entropy().dtype == np.float32, name
    d = D.Normal(0.0, 1.0)
    assert d.loc.dtype == npg.get_default_dtype() and d.batch_shape == () and not d.loc.requires_grad
    d = D.Normal(0.0, npg.tensor(np.ones(3, np.float32)))  # a number takes the tensor's dtype (torch)
    assert d.loc.dtype == np.float32 and d.batch_shape == (3,)


def test_shapes_broadcast_expand():
    d = D.Normal(npg.tensor(np.zeros((2, 1))), npg.tensor(np.ones(3)))
    assert d.batch_shape == (2, 3) and d.event_shape == ()
    assert d.sample((4, 5)).shape == (4, 5, 2, 3) and d.rsample(4).shape == (4, 2, 3)
    assert d.log_prob(npg.tensor(np.zeros((7, 1, 1)))).shape == (7, 2, 3)
    e = d.expand((5, 2, 3))
    assert e.batch_shape == (5, 2, 3) and e.loc.shape == (5, 2, 3)
    td = TD.Normal(torch.zeros(2, 1), torch.ones(3)).expand((5, 2, 3))
    v = rng.normal(size=(5, 2, 3))
    np.testing.assert_allclose(e.log_prob(npg.tensor(v)).data, td.log_prob(torch.tensor(v)).numpy(), rtol=1e-12)
    c = D.Categorical(logits=npg.tensor(SIMPLEX))
    assert c.batch_shape == (2, 3) and c.event_shape == () and c.sample((6,)).shape == (6, 2, 3)
    ce = c.expand((4, 2, 3))
    assert ce.batch_shape == (4, 2, 3) and ce.logits.shape == (4, 2, 3, 4)
    o = D.OneHotCategorical(probs=npg.tensor(SIMPLEX))
    assert o.event_shape == (4,) and o.sample((6,)).shape == (6, 2, 3, 4) and o.expand((5, 2, 3)).batch_shape == (5, 2, 3)
    m = D.Multinomial(5, probs=npg.tensor(SIMPLEX))
    assert m.sample((6,)).shape == (6, 2, 3, 4) and m.expand((5, 2, 3)).batch_shape == (5, 2, 3)
    for name, (params, points, _) in CASES.items():
        d, _ = _build(name, "npg", params)
        dt, _ = _build(name, "torch", params)
        e, et = d.expand((4,) + B), dt.expand((4,) + B)
        assert e.batch_shape == tuple(et.batch_shape) and e.event_shape == tuple(et.event_shape), name
        np.testing.assert_allclose(e.log_prob(npg.tensor(points)).data, et.log_prob(torch.tensor(points)).detach(),
                                   rtol=1e-10, err_msg=name)
        assert e._validate_args == d._validate_args


def test_enumerate_support():
    for d, t in [(D.Bernoulli(probs=npg.tensor(PROB)), TD.Bernoulli(probs=torch.tensor(PROB))),
                 (D.Categorical(probs=npg.tensor(SIMPLEX)), TD.Categorical(probs=torch.tensor(SIMPLEX))),
                 (D.OneHotCategorical(probs=npg.tensor(SIMPLEX)), TD.OneHotCategorical(probs=torch.tensor(SIMPLEX))),
                 (D.Binomial(3, probs=npg.tensor(PROB)), TD.Binomial(3, probs=torch.tensor(PROB)))]:
        for expand in (True, False):
            a, b = d.enumerate_support(expand), t.enumerate_support(expand)
            assert a.shape == tuple(b.shape) and a.dtype == np.dtype(str(b.dtype).replace("torch.", ""))
            np.testing.assert_array_equal(a.data, b.numpy())
        assert d.has_enumerate_support
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        D.Binomial(npg.tensor([2.0, 3.0]), probs=0.5).enumerate_support()


def test_validation_errors():
    with pytest.raises(ValueError, match=r"Expected parameter scale \(Tensor of shape \(3,\)\) of distribution "
                                         r"Normal\(loc: \(3,\), scale: \(3,\)\) to satisfy the constraint "
                                         r"GreaterThan\(lower_bound=0.0\), but found invalid values"):
        D.Normal(npg.zeros(3), npg.tensor([1.0, -1.0, 2.0]))
    with pytest.raises(ValueError, match=r"constraint Interval\(lower_bound=0.0, upper_bound=1.0\)"):
        D.Bernoulli(probs=npg.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="Simplex"):
        D.Categorical(probs=npg.tensor([[0.5, -0.25]]))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Bernoulli(probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match="at least one-dimensional"):
        D.Categorical(probs=npg.tensor(1.0))
    with pytest.raises(ValueError, match="LessThan"):
        D.Uniform(2.0, 1.0)
    with pytest.raises(ValueError, match=r"Expected value argument \(Tensor of shape \(2,\)\) to be within the "
                                         r"support \(GreaterThanEq\(lower_bound=0.0\)\) of the distribution "
                                         r"Exponential\(rate: 1.0\)"):
        D.Exponential(1.0).log_prob(npg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="IntegerInterval"):
        D.Categorical(logits=npg.zeros(3)).log_prob(npg.tensor([3]))
    with pytest.raises(ValueError, match="within the support"):
        D.Poisson(2.0).log_prob(npg.tensor(1.5))
    with pytest.raises(ValueError, match="not broadcastable"):
        D.Normal(npg.zeros(3), 1.0).log_prob(npg.zeros(4))
    with pytest.raises(ValueError, match="right-most size of value must match event_shape"):
        D.OneHotCategorical(logits=npg.zeros(3)).log_prob(npg.zeros(4))
    with pytest.raises(ValueError, match="to be positive"):
        D.Geometric(probs=npg.tensor([0.0, 0.5]))
    # validate_args=False: as torch, no check
    with np.errstate(invalid="ignore"):
        assert np.isnan(D.Normal(0.0, -1.0, validate_args=False).entropy().data)
    assert D.Exponential(1.0, validate_args=False).log_prob(npg.tensor(-1.0)).data == pytest.approx(1.0)
    try:
        D.Distribution.set_default_validate_args(False)
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_constraints():
    C = D.constraints
    assert repr(C.real) == "Real()" and repr(C.positive) == "GreaterThan(lower_bound=0.0)"
    assert repr(C.interval(0, 2)) == "Interval(lower_bound=0, upper_bound=2)"
    assert repr(C.real_vector) == "IndependentConstraint(Real(), 1)"
    pairs = [(C.real, [0.0, np.inf, np.nan]), (C.positive, [1.0, 0.0, -1.0]), (C.nonnegative, [0.0, -1e-9]),
             (C.unit_interval, [0.0, 1.0, 1.1]), (C.boolean, [0.0, 1.0, 0.5]),
             (C.nonnegative_integer, [0.0, 3.0, 1.5, -1.0]), (C.integer_interval(0, 3), [0.0, 3.0, 4.0]),
             (C.greater_than(1.0), [1.0, 2.0]), (C.less_than(1.0), [1.0, 0.0]),
             (C.simplex, [[0.3, 0.7], [0.5, 0.6]]), (C.real_vector, [[0.0, np.nan], [1.0, 2.0]]),
             (C.independent(C.positive, 1), [[1.0, 2.0], [1.0, 0.0]]),
             (C.lower_cholesky, [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]]),
             (C.positive_definite, [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]]),
             (C.one_hot, [[0.0, 1.0], [1.0, 1.0]])]
    tmap = {"Real": TD.constraints.real}
    for c, v in pairs:
        tc = getattr(TD.constraints, [k for k in dir(C) if getattr(C, k) is c][0]) if any(
            getattr(C, k) is c for k in dir(C)) else None
        v = np.array(v)
        got = c.check(npg.tensor(v)).data
        if tc is not None and not callable(tc):
            np.testing.assert_array_equal(got, tc.check(torch.tensor(v)).numpy(), err_msg=repr(c))
        else:
            assert got.dtype == bool
    assert C.nonnegative_integer.is_discrete and C.simplex.event_dim == 1 and C.lower_cholesky.event_dim == 2
    assert C.is_dependent(D.Uniform.support) and C.is_dependent(D.Categorical.support)
    assert repr(D.Uniform(0.0, 2.0).support) == "Interval(lower_bound=0.0, upper_bound=2.0)"
    del tmap


def test_repr_and_misc():
    assert repr(D.Normal(npg.zeros(3), npg.ones(3))) == "Normal(loc: (3,), scale: (3,))"
    assert repr(D.Normal(0.0, 1.0)) == repr(TD.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert D.Normal(0.0, 1.0).perplexity().data == pytest.approx(np.exp(0.5 + 0.5 * np.log(2 * np.pi)))
    assert npg.distributions is D
    with pytest.raises(NotImplementedError):
        D.Categorical(logits=npg.zeros(3)).cdf(npg.tensor(1))


def test_vmap_log_prob():
    loc, scale = npg.tensor(REAL), npg.tensor(POS)
    xs = npg.tensor(rng.normal(size=(5,) + B))

    def f(x):
        return D.Normal(loc, scale, validate_args=False).log_prob(x).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = npg.func.vmap(f)(xs)
    ref = TD.Normal(torch.tensor(REAL), torch.tensor(POS)).log_prob(torch.tensor(xs.data)).sum((1, 2))
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)
    g = npg.func.vmap(npg.func.grad(f))(xs)
    np.testing.assert_allclose(g.data, -(xs.data - REAL) / POS ** 2, rtol=1e-12)
