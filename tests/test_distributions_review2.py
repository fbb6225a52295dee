"""Review of npgrad.distributions against torch.distributions, part 2 (helpers in test_distributions_review):
kl_divergence swept over broadcasting parameter shapes and dtypes and at its edge cases, rsample's gradient
against the implicit reparameterization, samples per batch element, Geometric.entropy's float32 precision."""
import zlib

import numpy as np
import pytest
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D
from tests.test_distributions_review import DTYPES, I, SPECS, _arrays, _close, _grads, _make


KL_PAIRS = [("Normal", "Normal"), ("Laplace", "Laplace"), ("Cauchy", "Cauchy"), ("Gumbel", "Gumbel"),
            ("Exponential", "Exponential"), ("Uniform", "Uniform"), ("Bernoulli", "Bernoulli"),
            ("Bernoulli_logits", "Bernoulli"), ("Poisson", "Poisson"), ("Geometric", "Geometric_logits"),
            ("Binomial", "Binomial_logits"), ("HalfNormal", "HalfNormal"), ("HalfCauchy", "HalfCauchy"),
            ("LogNormal", "LogNormal"), ("Bernoulli", "Poisson"), ("Exponential", "Gumbel"),
            ("Exponential", "Normal"), ("Gumbel", "Normal"), ("Laplace", "Normal"), ("Normal", "Gumbel"),
            ("Normal", "Laplace"), ("Uniform", "Gumbel"), ("Uniform", "Normal"), ("Normal", "Uniform"),
            ("Exponential", "Uniform"), ("Poisson", "Binomial")]


def _kl_build(lib, name, shapes, r, dtype, grad_list):
    cls, params, _, _ = SPECS[name]
    arrays = _arrays(params, shapes, r)
    d, leaves = _make(lib, cls, arrays, dtype)
    grad_list.extend(leaves)
    return d


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("pq", KL_PAIRS, ids=["-".join(p) for p in KL_PAIRS])
def test_kl_sweep_against_torch(pq, dtype):
    # broadcasting between p's and q's parameters, float32 and float64, values and gradients in both
    for sp, sq in [((3,), (2, 1)), ((), (3,)), ((0,), ())]:
        outs = {}
        for lib in (D, TD):
            r = np.random.default_rng(zlib.crc32(str((pq, sp, sq)).encode()))
            leaves = []
            ps = [sp] * len(SPECS[pq[0]][1])
            qs = [sq] * len(SPECS[pq[1]][1])
            p = _kl_build(lib, pq[0], ps, r, dtype, leaves)
            q = _kl_build(lib, pq[1], qs, r, dtype, leaves)
            try:
                out = lib.kl_divergence(p, q)
            except IndexError:  # torch's Bernoulli KL fails to broadcast its masks: expand p and q first
                assert lib is TD and pq[1] == "Bernoulli"
                shape = np.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
                out = lib.kl_divergence(p.expand(shape), q.expand(shape))
            outs[lib] = out, _grads(D if lib is D else torch, out, leaves)
        (on, gn), (ot, gt) = outs[D], outs[TD]
        what = f"KL{pq} {dtype.__name__} {sp} {sq}"
        _close(on, ot, dtype, what)
        assert on.dtype == np.dtype(str(ot.dtype).replace("torch.", "")), what
        assert (gn is None) == (gt is None), what
        for i, (a, b) in enumerate(zip(gn or [], gt or [])):
            _close(a, b, dtype, f"{what} d/d arg {i}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_kl_edges_against_torch(dtype):
    cases = [("Bernoulli", dict(probs=np.array([0.0, 1.0, 0.5, 0.0, 1.0])),
              "Bernoulli", dict(probs=np.array([0.0, 1.0, 0.0, 0.5, 0.5]))),
             ("Categorical", dict(probs=np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])),
              "Categorical", dict(probs=np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]]))),
             ("OneHotCategorical", dict(logits=np.array([[-I, 0.0], [0.0, 0.0]])),
              "OneHotCategorical", dict(logits=np.array([[0.0, 0.0], [-I, 0.0]]))),
             ("Uniform", dict(low=np.array([0.0, 0.0, -1.0]), high=np.array([1.0, 1.0, 2.0])),
              "Uniform", dict(low=np.array([0.0, 0.5, -3.0]), high=np.array([2.0, 2.0, 2.0]))),
             ("Uniform", dict(low=np.array([-1.0, 0.5]), high=np.array([1.0, 1.0])),
              "Exponential", dict(rate=np.array([1.0, 2.0]))),
             ("Poisson", dict(rate=np.array([0.0, 1.0])), "Poisson", dict(rate=np.array([1.0, 2.0]))),
             ("Binomial", dict(total_count=np.array([3.0, 4.0]), probs=np.array([0.2, 0.5])),
              "Binomial", dict(total_count=np.array([3.0, 3.0]), probs=np.array([0.5, 0.5]))),
             ("Geometric", dict(probs=np.array([1.0, 0.5])), "Geometric", dict(probs=np.array([0.5, 1.0]))),
             ("Normal", dict(loc=np.zeros(2), scale=np.array([1e-20, 1.0])),
              "Normal", dict(loc=np.ones(2), scale=np.array([1.0, 1e-20])))]
    for cp, ap, cq, aq in cases:
        outs = {}
        for lib in (D, TD):
            p, lp = _make(lib, cp, ap, dtype)
            q, lq = _make(lib, cq, aq, dtype)
            with np.errstate(all="ignore"):
                out = lib.kl_divergence(p, q)
                outs[lib] = out, _grads(D if lib is D else torch, out, lp + lq)
        (on, gn), (ot, gt) = outs[D], outs[TD]
        what = f"KL({cp}, {cq}) {dtype.__name__}"
        _close(on, ot, dtype, what)
        for i, (a, b) in enumerate(zip(gn or [], gt or [])):
            _close(a, b, dtype, f"{what} d/d arg {i}")


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_geometric_entropy_float32_small_probs(kind):
    # torch's bce_with_logits(logits, probs) / probs cancels x - x for negative logits: in float32 at probs 1e-6
    # its entropy is ~7% off and the gradient ~50% (torch shares this); reference: the float64 closed form
    # H = -log p - (1 - p) / p * log1p(-p), dH/dp = log1p(-p) / p^2
    p64 = np.array([1e-6, 1e-5, 3e-4, 0.2, 0.9])
    x = p64 if kind == "probs" else np.log(p64) - np.log1p(-p64)
    t = npg.tensor(x.astype(np.float32), requires_grad=True)
    p = p64.astype(np.float32).astype(float) if kind == "probs" else 1 / (1 + np.exp(-x.astype(np.float32)))
    h = D.Geometric(**{kind: t}).entropy()
    (g,) = npg.autograd.grad(h.sum(), [t])
    np.testing.assert_allclose(h.data, -np.log(p) - (1 - p) / p * np.log1p(-p), rtol=1e-5)
    dh_dp = np.log1p(-p) / p ** 2
    np.testing.assert_allclose(g.data, dh_dp if kind == "probs" else dh_dp * p * (1 - p), rtol=1e-4)


RSAMPLE = ["Normal", "LogNormal", "HalfNormal", "Cauchy", "HalfCauchy", "Laplace", "Gumbel", "Exponential",
           "Uniform"]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", RSAMPLE)
def test_rsample_gradient_is_the_implicit_reparameterization(name, dtype):
    # x = icdf(u; theta) for fixed noise, so dx/dtheta = -(dF/dtheta)(x) / pdf(x): the oracle is torch's cdf and
    # log_prob differentiated at npgrad's samples (parameters broadcast against each other and the samples)
    cls, params, _, _ = SPECS[name]
    r = np.random.default_rng(zlib.crc32(name.encode()))
    shapes = [(2, 1), (3,)][:len(params)] if len(params) == 2 else [(2, 3)]
    arrays = _arrays(params, shapes, r)
    npg.random.seed(5)
    d, leaves = _make(D, cls, arrays, dtype)
    x = d.rsample((4,))
    assert x.dtype == dtype and x.shape == (4, 2, 3)
    got = npg.autograd.grad(x.sum(), leaves)
    t, _ = _make(TD, cls, arrays, np.float64)
    xt = torch.tensor(x.data.astype(np.float64))
    pdf = t.log_prob(xt).exp().detach().numpy()
    for g, k in zip(got, arrays):
        dF_k = torch.autograd.functional.jacobian(
            lambda v: getattr(TD, cls)(**{**{kk: torch.tensor(a) for kk, a in arrays.items()}, k: v}).cdf(xt),
            torch.tensor(arrays[k]))
        dF_k = dF_k.reshape(xt.shape + (-1,)).numpy()
        want = (-(dF_k / pdf[..., None])).sum(axis=tuple(range(xt.ndim)))
        np.testing.assert_allclose(g.data.ravel(), want, rtol=1e-4 if dtype == np.float32 else 1e-7, atol=1e-5,
                                   err_msg=f"d {name}.rsample / d {k}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_samples_per_batch_element(dtype):
    # each batch element is drawn with its own (broadcast) parameters: sample means against torch's means
    npg.random.seed(11)
    n = 20000
    loc, sc, pr = np.array([[-5.0], [5.0]]), np.array([0.5, 1.0, 2.0]), np.array([0.1, 0.5, 0.9])
    cases = [("Normal", (loc, sc)), ("Laplace", (loc, sc)), ("Gumbel", (loc, sc)), ("LogNormal", (loc / 5, sc / 4)),
             ("Uniform", (loc, loc + sc)), ("Cauchy", None), ("Exponential", (sc,)), ("HalfNormal", (sc,)),
             ("Poisson", (sc * 3,)), ("Bernoulli", (pr,)), ("Geometric", (pr,)),
             ("Binomial", (np.array([[3.0], [10.0]]), pr)),
             ("OneHotCategorical", (np.array([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.5, 0.5]]),)),
             ("Multinomial", (5, np.array([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.5, 0.5]])))]
    for cls, args in cases:
        if args is None:
            continue
        d = getattr(D, cls)(*[npg.tensor(a.astype(dtype)) if isinstance(a, np.ndarray) else a for a in args])
        t = getattr(TD, cls)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        x = d.sample((n,))
        assert x.dtype == dtype and x.shape == (n,) + tuple(t.batch_shape) + tuple(t.event_shape), cls
        m, v = t.mean.numpy(), t.variance.numpy()
        assert (np.abs(x.data.astype(float).mean(0) - m) <= 6 * np.sqrt(v / n) + 1e-12).all(), cls
    logits = np.log(np.array([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.5, 0.5]]) + 1e-300).astype(dtype)
    x = D.Categorical(logits=npg.tensor(logits)).sample((n,)).data
    assert x.dtype == np.int64
    for i, p in enumerate(np.exp(logits.astype(float))):
        freq = np.bincount(x[:, i], minlength=4) / n
        assert (np.abs(freq - p) <= 6 * np.sqrt(p * (1 - p) / n) + 1e-12).all()


def test_categorical_list_params_take_the_default_dtype():
    # a list of floats became float64 whatever npgrad's default dtype (numbers follow the default dtype)
    old = npg.get_default_dtype()
    try:
        npg.set_default_dtype(np.float32)
        for kw in (dict(probs=[0.2, 0.8]), dict(logits=(0.0, 1.0)), dict(probs=np.array([1, 3]))):
            for cls in (D.Categorical, D.OneHotCategorical):
                assert cls(**kw).probs.dtype == np.float32, (cls, kw)
        assert D.Multinomial(2, probs=[0.5, 0.5]).sample().dtype == np.float32
        assert D.Categorical(probs=np.array([0.2, 0.8])).probs.dtype == np.float64  # a float array keeps its own
    finally:
        npg.set_default_dtype(old)


EXPFAM = [("Normal", (np.array([0.0, 1.0, -2.0]), np.array([1.0, 2.0, 0.3])),
           (np.array([1.0, 0.0, 0.5]), np.array([0.5, 3.0, 1.0]))),
          ("Bernoulli", (np.array([0.2, 0.7, 0.5]),), (np.array([0.5, 0.1, 0.9]),)),
          ("Exponential", (np.array([0.2, 0.7, 3.0]),), (np.array([0.5, 0.1, 1.0]),)),
          ("Poisson", (np.array([0.2, 0.7, 3.0]),), (np.array([0.5, 0.1, 4.0]),))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("case", EXPFAM, ids=[c[0] for c in EXPFAM])
def test_bregman_kl_and_entropy_gradients(case, dtype):
    # the generic exponential-family KL (and entropy) against torch's closed forms, values and gradients in
    # every parameter: torch's own Bregman KL detaches p's natural parameters, so it has no gradient in p's
    # parameters (nor its generic entropy in any); npgrad's keeps them
    from npgrad.distributions.kl import _kl_expfamily_expfamily
    cls, pa, qa = case
    tol = dict(rtol=2e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    pn = [npg.tensor(a.astype(dtype), requires_grad=True) for a in pa]
    qn = [npg.tensor(a.astype(dtype), requires_grad=True) for a in qa]
    pt = [torch.tensor(a, requires_grad=True) for a in pa]
    qt = [torch.tensor(a, requires_grad=True) for a in qa]
    kn = _kl_expfamily_expfamily(getattr(D, cls)(*pn), getattr(D, cls)(*qn))
    kt = TD.kl_divergence(getattr(TD, cls)(*pt), getattr(TD, cls)(*qt))  # torch's closed form
    assert kn.dtype == dtype
    np.testing.assert_allclose(kn.data, kt.detach().numpy(), **tol)
    for a, b in zip(npg.autograd.grad(kn.sum(), pn + qn), torch.autograd.grad(kt.sum(), pt + qt)):
        np.testing.assert_allclose(a.data, b.numpy(), **tol)
    if cls == "Poisson":
        with pytest.raises(NotImplementedError, match="Poisson does not implement entropy"):  # as torch
            D.ExponentialFamily.entropy(D.Poisson(pn[0]))
        return
    hn = D.ExponentialFamily.entropy(getattr(D, cls)(*pn))
    ht = getattr(TD, cls)(*pt).entropy()
    np.testing.assert_allclose(hn.data, ht.detach().numpy(), **tol)
    for a, b, x in zip(npg.autograd.grad(hn.sum(), pn, allow_unused=True),
                       torch.autograd.grad(ht.sum(), pt, allow_unused=True), pa):  # (Normal's: none in loc)
        np.testing.assert_allclose(np.zeros(x.shape) if a is None else a.data,
                                   np.zeros(x.shape) if b is None else b.numpy(), **tol)
    with npg.no_grad():  # also under no_grad (the log normalizer's gradient is taken with grad enabled)
        assert not D.ExponentialFamily.entropy(getattr(D, cls)(*pn)).requires_grad


def _second_order(lib, out, leaves):
    """d/d leaves of sum(|d sum(out) / d leaves|^2): exercises every op's double backward."""
    grad = npg.autograd.grad if lib is D else torch.autograd.grad
    if not out.requires_grad:
        return None
    g = grad(out.sum(), leaves, create_graph=True, allow_unused=True)
    terms = [(gi * gi).sum() for gi in g if gi is not None and gi.requires_grad]
    if not terms:
        return None
    s = terms[0]
    for t in terms[1:]:
        s = s + t
    h = grad(s, leaves, allow_unused=True)
    return [np.zeros(tuple(x.shape)) if a is None else (a.data if lib is D else a.numpy()) for a, x in zip(h, leaves)]


@pytest.mark.parametrize("name", list(SPECS))
def test_second_order_gradients_against_torch(name):
    cls, params, gen, cont = SPECS[name]
    r = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = _arrays(params, [(3,)] * len(params), r)
    value = gen(r, (3,), arrays)
    methods = (["log_prob", "cdf", "icdf"] if cont else ["log_prob"]) + ["entropy", "mean", "variance", "stddev"]
    for method in methods:
        got = []
        for lib in (D, TD):
            d, leaves = _make(lib, cls, arrays, np.float64)
            v = value if method != "icdf" else np.array([0.2, 0.5, 0.9])
            x = npg.tensor(v, requires_grad=cont) if lib is D else torch.tensor(v, requires_grad=cont)
            try:
                out = getattr(d, method)(x) if method in ("log_prob", "cdf", "icdf") else (
                    d.entropy() if method == "entropy" else getattr(d, method))
            except NotImplementedError:
                break
            got.append(_second_order(lib, out, leaves + ([x] if cont and method in ("log_prob", "cdf", "icdf")
                                                       else [])))
        if len(got) < 2:
            continue
        assert (got[0] is None) == (got[1] is None), (name, method)
        for a, b in zip(got[0] or [], got[1] or []):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10, err_msg=f"{name}.{method}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_uniform_noise_stays_below_its_upper_bound(dtype, monkeypatch):
    # a float64 uniform draw just below 1 rounds to 1.0 in float32: Laplace.rsample was inf, Uniform's sample
    # its excluded upper bound (log_prob -inf), Cauchy's huge and of the wrong sign
    from npgrad.distributions import utils

    class Top:  # the largest float64 draws
        def uniform(self, low, high, size):
            return np.full(size, np.nextafter(high, low))

        def random(self, size):
            return np.full(size, np.nextafter(1.0, 0.0))
    monkeypatch.setattr(utils._random, "get_generator", lambda: Top())
    z, o = npg.tensor(np.zeros(2, dtype)), npg.tensor(np.ones(2, dtype))
    for cls in (D.Laplace, D.Gumbel, D.Cauchy):
        x = cls(z, o).rsample()
        assert x.dtype == dtype and np.isfinite(x.data).all() and (x.data > 0).all(), cls
    u = D.Uniform(z, o)
    x = u.rsample()
    assert (x.data < 1).all() and np.isfinite(u.log_prob(x).data).all()


def test_supports_constraints_and_flags_match_torch():
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    build = [("Normal", (0.5, 2.0)), ("LogNormal", (0.5, 2.0)), ("HalfNormal", (2.0,)), ("Cauchy", (0.5, 2.0)),
             ("HalfCauchy", (2.0,)), ("Laplace", (0.5, 2.0)), ("Gumbel", (0.5, 2.0)), ("Exponential", (2.0,)),
             ("Uniform", (0.5, 2.0)), ("Bernoulli", (0.3,)), ("Geometric", (0.3,)), ("Poisson", (2.0,)),
             ("Binomial", (4, 0.3)), ("Categorical", (p,)), ("OneHotCategorical", (p,)), ("Multinomial", (3, p))]
    for cls, args in build:
        d = getattr(D, cls)(*[npg.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        t = getattr(TD, cls)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        assert d.has_rsample == t.has_rsample and d.has_enumerate_support == t.has_enumerate_support, cls
        assert d.support.is_discrete == t.support.is_discrete and d.support.event_dim == t.support.event_dim, cls
        assert type(d.support).__name__ == type(t.support).__name__, cls
        if cls not in ("Binomial", "Uniform", "Categorical"):  # (bounds print as tensors in torch)
            assert repr(d.support) == repr(t.support), cls
        assert set(d.arg_constraints) == set(t.arg_constraints), cls
        for k, c in d.arg_constraints.items():
            assert type(c).__name__ == type(t.arg_constraints[k]).__name__, (cls, k)
        assert d.batch_shape == tuple(t.batch_shape) and d.event_shape == tuple(t.event_shape), cls
        if hasattr(t, "param_shape"):
            assert d.param_shape == tuple(t.param_shape), cls
