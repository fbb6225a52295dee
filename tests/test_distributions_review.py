"""Property-style review of npgrad.distributions against torch.distributions (torch 2.13): every class swept over
parameter shapes (0-d, broadcasting against each other and against the value, size-0 batches) in float32 and
float64, comparing values and gradients (npg.autograd.grad vs torch.autograd.grad) of log_prob, cdf, icdf,
entropy, mean, variance, stddev, mode and perplexity, the shapes and dtypes of samples, and edge cases (values on
and outside the support, probs 0/1, logits +-large, tiny scales)."""
import warnings
import zlib

import numpy as np
import pytest
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D

DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _pos(r, s):
    return r.uniform(0.5, 2.0, s)


def _real(r, s):
    return r.normal(size=s)


def _prob(r, s):
    return r.uniform(0.1, 0.9, s)


def _simplex(r, s):
    return r.uniform(0.1, 1.0, s)


# name: (class, {param: generator}, value generator (r, shape, dist params) -> array, continuous?)
def _counts(n):
    return lambda r, s, p: r.integers(0, n + 1, s).astype(float)


SPECS = {
    "Normal": ("Normal", dict(loc=_real, scale=_pos), lambda r, s, p: r.normal(size=s), True),
    "LogNormal": ("LogNormal", dict(loc=_real, scale=_pos), lambda r, s, p: r.uniform(0.1, 3, s), True),
    "HalfNormal": ("HalfNormal", dict(scale=_pos), lambda r, s, p: r.uniform(0.1, 3, s), True),
    "Cauchy": ("Cauchy", dict(loc=_real, scale=_pos), lambda r, s, p: r.normal(size=s) * 2, True),
    "HalfCauchy": ("HalfCauchy", dict(scale=_pos), lambda r, s, p: r.uniform(0.1, 3, s), True),
    "Laplace": ("Laplace", dict(loc=_real, scale=_pos), lambda r, s, p: r.normal(size=s), True),
    "Gumbel": ("Gumbel", dict(loc=_real, scale=_pos), lambda r, s, p: r.normal(size=s), True),
    "Exponential": ("Exponential", dict(rate=_pos), lambda r, s, p: r.uniform(0.1, 3, s), True),
    "Uniform": ("Uniform", dict(low=lambda r, s: r.uniform(-2, -1, s), high=lambda r, s: r.uniform(1, 2, s)),
                lambda r, s, p: r.uniform(-1, 1, s), True),
    "Bernoulli": ("Bernoulli", dict(probs=_prob), _counts(1), False),
    "Bernoulli_logits": ("Bernoulli", dict(logits=_real), _counts(1), False),
    "Geometric": ("Geometric", dict(probs=_prob), _counts(6), False),
    "Geometric_logits": ("Geometric", dict(logits=_real), _counts(6), False),
    "Poisson": ("Poisson", dict(rate=lambda r, s: r.uniform(0.5, 4, s)), _counts(6), False),
    "Binomial": ("Binomial", dict(total_count=lambda r, s: np.full(s, 5.0), probs=_prob), _counts(5), False),
    "Binomial_logits": ("Binomial", dict(total_count=lambda r, s: np.full(s, 5.0), logits=_real), _counts(5), False),
}
CATEGORICAL = {  # parameters carry the event axis (4 categories)
    "Categorical": ("Categorical", "probs"), "Categorical_logits": ("Categorical", "logits"),
    "OneHotCategorical": ("OneHotCategorical", "probs"), "OneHotCategorical_logits": ("OneHotCategorical", "logits"),
    "Multinomial": ("Multinomial", "probs"), "Multinomial_logits": ("Multinomial", "logits"),
}
# parameter shapes: one per parameter (None: a Python number), broadcasting against each other
SHAPES2 = [((), ()), ((3,), (3,)), ((2, 1), (3,)), ((3,), None), ((0,), ()), ((2, 0), (1,))]
SHAPES1 = [(), (3,), (2, 3), (0,)]
CONSTANT = {"total_count"}  # no gradient


def _tensor(lib, a, dtype, grad):
    a = a.astype(dtype) if a.dtype.kind == "f" else a
    if lib is D:
        return npg.tensor(a, requires_grad=grad)
    return torch.tensor(a, requires_grad=grad)


def _make(lib, cls, arrays, dtype, **kwargs):
    """The distribution of ``lib`` and the parameter tensors that need a gradient."""
    args, leaves = dict(kwargs), []
    for k, a in arrays.items():
        if isinstance(a, (int, float)):
            args[k] = a
            continue
        grad = k not in CONSTANT and a.dtype.kind == "f"
        args[k] = _tensor(lib, a, dtype, grad)
        if grad:
            leaves.append(args[k])
    return getattr(lib, cls)(**args), leaves


def _grads(lib, out, leaves):
    finite = np.isfinite(out.data if lib is D else out.detach().numpy())
    if not leaves or not out.requires_grad or out.numel() == 0 if lib is torch else (
            not leaves or not out.requires_grad or out.size == 0):
        return None
    if lib is D:
        w = npg.tensor(finite.astype(out.dtype))
        g = npg.autograd.grad((out * w).sum() if finite.all() else npg.where(finite, out, 0.0).sum(), leaves,
                              allow_unused=True)
        return [np.zeros(x.shape) if gi is None else np.asarray(gi.data) for gi, x in zip(g, leaves)]
    o = torch.where(torch.tensor(finite), out, torch.zeros((), dtype=out.dtype))
    g = torch.autograd.grad(o.sum(), leaves, allow_unused=True)
    return [np.zeros(tuple(x.shape)) if gi is None else gi.numpy() for gi, x in zip(g, leaves)]


def _close(a, b, dtype, what):
    an = np.asarray(a.data if isinstance(a, npg.Tensor) else a)
    bn = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert an.shape == bn.shape, (what, an.shape, bn.shape)
    np.testing.assert_allclose(an.astype(float), bn.astype(float), err_msg=what, **TOL[dtype])


def _compare(name, cls, arrays, dtype, method, value=None, value_grad=False, torch_kwargs={}, npg_kwargs=None):
    """``method`` of npgrad's and torch's ``cls`` (built from ``arrays``): values, dtype and gradients in the
    parameters (and in ``value`` when ``value_grad``)."""
    outs = {}
    npg_kwargs = torch_kwargs if npg_kwargs is None else npg_kwargs
    for lib in (D, TD):
        d, leaves = _make(lib, cls, arrays, dtype, **(torch_kwargs if lib is TD else npg_kwargs))
        if value is not None:
            v = _tensor(D if lib is D else torch, value, dtype, value_grad)
            if value_grad:
                leaves = leaves + [v]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = getattr(d, method)(v)
        else:
            out = getattr(d, method)
            out = out() if callable(out) else out
        outs[lib] = (out, _grads(D if lib is D else torch, out, leaves))
    (on, gn), (ot, gt) = outs[D], outs[TD]
    what = f"{name}.{method} {dtype.__name__} {({k: np.shape(a) for k, a in arrays.items()})}"
    _close(on, ot, dtype, what)
    assert on.dtype == np.dtype(str(ot.dtype).replace("torch.", "")), (what, on.dtype, ot.dtype)
    assert (gn is None) == (gt is None), (what, "gradient presence")
    if gn is not None:
        for i, (a, b) in enumerate(zip(gn, gt)):
            _close(a, b, dtype, f"{what} d/d arg {i}")


def _arrays(spec_params, shapes, r):
    out = {}
    for (k, gen), s in zip(spec_params.items(), shapes):
        out[k] = float(gen(r, ())) if s is None else np.asarray(gen(r, s), dtype=float)
    return out


def _cases():
    for name, (cls, params, _, cont) in SPECS.items():
        shapes = SHAPES2 if len(params) == 2 else [(s,) for s in SHAPES1]
        for shp in shapes:
            yield name, shp


def _batch(arrays):
    return np.broadcast_shapes(*[np.shape(a) for a in arrays.values()])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,shapes", list(_cases()), ids=[f"{n}-{s}" for n, s in _cases()])
def test_sweep_against_torch(name, shapes, dtype):
    cls, params, gen, cont = SPECS[name]
    r = np.random.default_rng(zlib.crc32(f"{name}{shapes}".encode()))
    arrays = _arrays(params, shapes, r)
    batch = _batch(arrays)
    for method in ["mean", "variance", "stddev", "mode", "entropy", "perplexity"]:
        try:
            getattr(_make(TD, cls, arrays, dtype)[0], method)
            if method in ("entropy", "perplexity"):
                _make(TD, cls, arrays, dtype)[0].entropy()
        except NotImplementedError:
            continue
        except RuntimeError:  # torch: e.g. Binomial.entropy of a size-0 batch (max() of no elements)
            continue
        _compare(name, cls, arrays, dtype, method)
    for vshape in [batch, (4,) + batch, (1,) * len(batch)]:
        value = gen(r, vshape, arrays)
        _compare(name, cls, arrays, dtype, "log_prob", value, value_grad=cont)
        if cont:
            # torch's Gumbel.cdf validates exp(-exp(-z)) against its base Uniform(tiny, 1 - eps) and so raises
            # where the cdf rounds to 0 or 1 (a torch bug): compare with torch's validation off there
            _compare(name, cls, arrays, dtype, "cdf", value, value_grad=True,
                     torch_kwargs=dict(validate_args=False) if cls == "Gumbel" else {}, npg_kwargs={})
            _compare(name, cls, arrays, dtype, "icdf", r.uniform(0.05, 0.95, vshape), value_grad=True)
    d, _ = _make(D, cls, arrays, dtype)
    t, _ = _make(TD, cls, arrays, dtype)
    assert d.batch_shape == tuple(t.batch_shape) and d.event_shape == tuple(t.event_shape)
    for ss in [(), (2,), (2, 3)]:
        x, y = d.sample(ss), t.sample(ss)
        assert x.shape == tuple(y.shape) and x.dtype == np.dtype(str(y.dtype).replace("torch.", ""))
        assert not x.requires_grad
        if d.has_rsample:
            assert d.rsample(ss).shape == x.shape and d.rsample(ss).dtype == x.dtype
    assert d.has_rsample == t.has_rsample and d.has_enumerate_support == t.has_enumerate_support
    e, te = d.expand((5,) + batch), t.expand((5,) + batch)
    assert e.batch_shape == tuple(te.batch_shape)
    value = gen(r, (5,) + batch, arrays)
    _close(e.log_prob(_tensor(D, value, dtype, False)), te.log_prob(_tensor(torch, value, dtype, False)), dtype,
           f"{name} expand")


def _cat_arrays(kind, shape, r):
    p = _simplex(r, shape)
    return p if kind == "probs" else np.log(p) * 2


# (a size-0 batch only where torch can build it: its real_vector check fails on one for logits and for the
# one-hot / multinomial classes; npgrad's side of those is in test_size0_batch_vector_params)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name, shape", [(n, s) for n in CATEGORICAL for s in [(4,), (3, 4), (2, 1, 4), (0, 4)]
                                         if 0 not in s or CATEGORICAL[n] == ("Categorical", "probs")])
def test_sweep_categorical_against_torch(name, shape, dtype):
    cls, kind = CATEGORICAL[name]
    r = np.random.default_rng(zlib.crc32(f"{name}{shape}".encode()))
    arrays = {kind: _cat_arrays(kind, shape, r)}
    if cls == "Multinomial":
        arrays = {"total_count": 3, **arrays}
    batch = shape[:-1]
    for method in ["mean", "variance", "stddev", "mode", "entropy", "perplexity", "probs", "logits"]:
        if cls == "Multinomial" and method in ("mode", "entropy", "perplexity"):
            continue  # torch: no mode; entropy's lgamma(n + 1) is evaluated in float32 (compared below)
        if cls == "Categorical" and method in ("mean", "variance", "stddev"):
            continue  # NaN, compared in test_categorical_nan_moments
        _compare(name, cls, arrays, dtype, method)
    for vshape in [batch, (5,) + batch, (1,) * len(batch)]:
        if cls == "Categorical":
            value = r.integers(0, 4, vshape)
        elif cls == "OneHotCategorical":
            value = np.eye(4)[r.integers(0, 4, vshape)]
        else:
            value = r.multinomial(3, [0.25] * 4, vshape).astype(float)
        _compare(name, cls, arrays, dtype, "log_prob", value)
    d, t = _make(D, cls, arrays, dtype)[0], _make(TD, cls, arrays, dtype)[0]
    assert d.batch_shape == tuple(t.batch_shape) and d.event_shape == tuple(t.event_shape)
    assert d.param_shape == tuple(t.param_shape)
    for ss in [(), (2,), (2, 3)]:
        x, y = d.sample(ss), t.sample(ss)
        assert x.shape == tuple(y.shape) and x.dtype == np.dtype(str(y.dtype).replace("torch.", ""))
    if cls != "Multinomial":
        for expand in (True, False):
            a, b = d.enumerate_support(expand), t.enumerate_support(expand)
            _close(a, b, dtype, f"{name}.enumerate_support")
            assert a.dtype == np.dtype(str(b.dtype).replace("torch.", ""))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_categorical_nan_moments(dtype):
    p = np.full((2, 3), 1 / 3)
    d, t = D.Categorical(npg.tensor(p.astype(dtype))), TD.Categorical(torch.tensor(p.astype(dtype)))
    for m in ("mean", "variance"):
        a, b = getattr(d, m), getattr(t, m)
        assert a.shape == tuple(b.shape) and a.dtype == dtype and np.isnan(a.data).all() and b.isnan().all()


def test_size0_batch_vector_params():
    # real_vector/independent checks failed on a size-0 batch (reshape(-1) of no elements), so Categorical,
    # OneHotCategorical and Multinomial with logits of shape (0, K) raised (torch fails there too)
    assert D.constraints.real_vector.check(npg.zeros((0, 4))).shape == (0,)
    assert D.constraints.independent(D.constraints.real, 2).check(npg.zeros((2, 0, 3))).shape == (2,)
    for cls in (D.Categorical, D.OneHotCategorical):
        for kw in (dict(logits=npg.zeros((0, 4))), dict(probs=npg.ones((0, 4)))):
            d = cls(**kw)
            assert d.batch_shape == (0,) and d.entropy().shape == (0,) and d.sample((2,)).shape[:2] == (2, 0)
    m = D.Multinomial(3, logits=npg.zeros((0, 4)))
    assert m.batch_shape == (0,) and m.log_prob(npg.zeros((0, 4))).shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_div_gradient_does_not_overflow(dtype):
    # d(a/b)/db was -a / (b * b): b * b overflowed to inf or underflowed to 0 where the gradient is finite
    big = 1e30 if dtype == np.float32 else 1e200
    a = np.array([1e-30, big, 0.0, 3.0, -2.0], dtype)
    b = np.array([1e-30, big / 1e10, 1e-30, 1e-25 if dtype == np.float32 else 1e-170, 0.5], dtype)
    an, bn = npg.tensor(a, requires_grad=True), npg.tensor(b, requires_grad=True)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    gn = npg.autograd.grad((an / bn).sum(), [an, bn])
    gt = torch.autograd.grad((at / bt).sum(), [at, bt])
    for x, y in zip(gn, gt):
        np.testing.assert_array_equal(x.data, y.numpy())
    # forward mode: the same formula
    _, tn = npg.func.jvp(lambda v: an.detach() / v, (bn.detach(),), (npg.ones_like(bn.detach()),))
    np.testing.assert_array_equal(tn.data, gt[1].numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_tiny_scale_gradients(dtype):
    # (the division's gradient overflowed: Exponential.icdf's d/d rate was nan, Cauchy.log_prob's d/d scale inf)
    tiny = np.array([1e-30 if dtype == np.float32 else 1e-300, 1e-20, 1.0])
    cases = [("Exponential", dict(rate=tiny), "icdf", np.array([0.0, 0.3, 0.5])),
             ("Cauchy", dict(loc=np.zeros(3), scale=tiny), "log_prob", tiny * np.array([1.0, 2.0, 0.5])),
             ("Cauchy", dict(loc=np.zeros(3), scale=tiny), "cdf", tiny * np.array([1.0, 2.0, 0.5])),
             ("Laplace", dict(loc=np.zeros(3), scale=tiny), "cdf", tiny * np.array([1.0, 2.0, 0.5]))]
    for cls, arrays, method, value in cases:
        _compare(cls, cls, arrays, dtype, method, value, value_grad=True)
    # Normal.cdf: torch's d/d scale overflows to -inf here (it squares 1 / scale); npgrad's is the exact
    # -pdf(z) z / scale, z = (x - loc) / scale
    scale = npg.tensor(tiny.astype(dtype), requires_grad=True)
    z = np.array([1.0, 2.0, 0.5])
    (g,) = npg.autograd.grad(D.Normal(0.0, scale).cdf(npg.tensor((tiny * z).astype(dtype))).sum(), [scale])
    np.testing.assert_allclose(g.data, -np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi) * z / tiny.astype(dtype),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)


I = np.inf
# (class, params, value, methods): probs 0/1, logits +-large, values on the support's edge and outside it
EDGES = [
    ("Bernoulli", dict(probs=np.array([0.0, 1.0, 0.5, 1e-30])), np.array([0.0, 1.0, 1.0, 0.0])),
    ("Bernoulli", dict(probs=np.array([0.0, 1.0, 0.5, 1e-30])), np.array([1.0, 0.0, 1.0, 1.0])),
    ("Bernoulli", dict(logits=np.array([-1e4, 1e4, 30.0, -30.0])), np.array([0.0, 1.0, 0.0, 1.0])),
    # (not smaller probs: torch's Geometric.entropy loses its float32 digits below p ~ 1e-4, see
    # test_geometric_entropy_float32_small_probs)
    ("Geometric", dict(probs=np.array([1.0, 1.0, 0.5, 1e-2])), np.array([0.0, 2.0, 1.0, 3.0])),
    ("Geometric", dict(logits=np.array([-4.0, 1e4, 30.0, 5.0])), np.array([0.0, 1.0, 0.0, 1.0])),
    ("Binomial", dict(total_count=np.array([5.0, 5.0, 5.0, 0.0]), probs=np.array([0.0, 1.0, 0.5, 0.3])),
     np.array([0.0, 5.0, 2.0, 0.0])),
    ("Binomial", dict(total_count=np.array([5.0, 5.0, 5.0, 0.0]), logits=np.array([-1e4, 1e4, 30.0, -30.0])),
     np.array([0.0, 5.0, 2.0, 0.0])),
    ("Poisson", dict(rate=np.array([0.0, 0.0, 1e-30, 3.0])), np.array([0.0, 1.0, 0.0, 2.0])),
    ("Categorical", dict(probs=np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])), np.array([1, 2])),
    ("Categorical", dict(logits=np.array([[-I, 0.0, 0.0], [1e4, -1e4, 0.0]])), np.array([1, 0])),
    ("Categorical", dict(logits=np.array([[-I, 0.0, 0.0], [1e4, -1e4, 0.0]])), np.array([0, 1])),
    ("OneHotCategorical", dict(logits=np.array([[-I, 0.0, 0.0], [1e4, -1e4, 0.0]])),
     np.array([[0, 1.0, 0], [0, 1.0, 0]])),
    ("Multinomial", dict(total_count=3, probs=np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])),
     np.array([[0.0, 3.0, 0.0], [1.0, 2.0, 0.0]])),
    ("Multinomial", dict(total_count=3, logits=np.array([[-I, 0.0, 0.0], [1e4, -1e4, 0.0]])),
     np.array([[0.0, 3.0, 0.0], [3.0, 0.0, 0.0]])),
    ("Normal", dict(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])), np.array([I, -I])),
    ("Exponential", dict(rate=np.array([1e-3, 1e3, 1.0])), np.array([0.0, 0.0, I])),
    ("HalfNormal", dict(scale=np.array([1.0, 2.0])), np.array([0.0, I])),
    ("HalfCauchy", dict(scale=np.array([1.0, 2.0])), np.array([0.0, I])),
    ("LogNormal", dict(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])), np.array([1e-30, I])),
    ("Laplace", dict(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])), np.array([0.0, 1.0])),
    ("Gumbel", dict(loc=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0])), np.array([-3.0, 80.0])),
    ("Uniform", dict(low=np.array([0.0, 1.0]), high=np.array([1.0, 2.0])), np.array([0.0, 2.0])),
    # outside the support (validation off: torch's formulas' values)
    ("Exponential", dict(rate=np.array([2.0])), np.array([-1.0])),
    ("HalfNormal", dict(scale=np.array([2.0, 1.0])), np.array([-1.0, -0.0])),
    ("HalfCauchy", dict(scale=np.array([2.0, 1.0])), np.array([-1.0, -0.0])),
    ("Uniform", dict(low=np.array([0.0, 0.0, 0.0]), high=np.array([1.0, 1.0, 1.0])), np.array([-1.0, 1.0, 2.0])),
    ("Binomial", dict(total_count=np.array([3.0, 3.0]), probs=np.array([0.5, 0.5])), np.array([4.0, -1.0])),
    ("Poisson", dict(rate=np.array([3.0])), np.array([-1.0])),
    ("Bernoulli", dict(probs=np.array([0.3])), np.array([2.0])),
]
DISCRETE = {"Bernoulli", "Geometric", "Binomial", "Poisson", "Categorical", "OneHotCategorical", "Multinomial"}


def _outcome(fn):
    try:
        return fn()
    except (ValueError, RuntimeError, IndexError, NotImplementedError) as e:
        return e


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("i", range(len(EDGES)))
def test_edges_against_torch(i, dtype, validate):
    cls, arrays, value = EDGES[i]
    cont = cls not in DISCRETE
    methods = ["log_prob", "mean", "variance", "mode", "entropy"] + (["cdf", "icdf"] if cont else [])
    for method in methods:
        v = value if method != "icdf" else np.resize([0.0, 1.0, 0.5], value.shape)
        args = (v,) if method in ("log_prob", "cdf", "icdf") else ()
        t = _outcome(lambda: _make(TD, cls, arrays, dtype, validate_args=validate)[0])
        if isinstance(t, Exception):
            with pytest.raises(type(t)):
                _make(D, cls, arrays, dtype, validate_args=validate)
            return
        if cls == "Gumbel" and method == "cdf" and validate:
            continue  # torch raises where the cdf rounds to 1 (see test_sweep_against_torch)
        got = _outcome(lambda: getattr(t, method)(*map(lambda a: _tensor(torch, a, dtype, False), args))
                       if args else (t.entropy() if method == "entropy" else getattr(t, method)))
        if isinstance(got, Exception):
            d = _make(D, cls, arrays, dtype, validate_args=validate)[0]
            with pytest.raises(type(got) if type(got) is not RuntimeError else (ValueError, IndexError)):
                getattr(d, method)(*map(lambda a: _tensor(D, a, dtype, False), args)) if args else (
                    d.entropy() if method == "entropy" else getattr(d, method))
            continue
        if cls == "Multinomial" and method == "entropy":
            continue  # torch evaluates lgamma(total_count + 1) in float32 (compared in test_multinomial_entropy)
        with np.errstate(all="ignore"):
            _compare(cls, cls, dict(arrays), dtype, method, *args, value_grad=cont and bool(args),
                     torch_kwargs=dict(validate_args=validate))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_lognormal_cdf_at_zero(dtype):
    # torch validates log(value) against the base Normal's support: cdf(0) = 0 (npgrad raised, 0 being outside
    # LogNormal's positive support), a negative value raises in both
    arrays = dict(loc=np.array([0.0, 1.0, -1.0]), scale=np.array([1.0, 2.0, 0.5]))
    _compare("LogNormal", "LogNormal", arrays, dtype, "cdf", np.array([0.0, 0.5, 3.0]), value_grad=True)
    with pytest.raises(ValueError, match="support"):
        D.LogNormal(0.0, 1.0).cdf(npg.tensor(np.array([1.0, -1.0], dtype)))
    with pytest.raises(ValueError):
        TD.LogNormal(0.0, 1.0).cdf(torch.tensor(np.array([1.0, -1.0], dtype)))
