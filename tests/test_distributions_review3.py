"""Adversarial review of the distributions added in session 12 (Gamma, Chi2, Beta, Dirichlet, StudentT,
FisherSnedecor, standard_gamma, MultivariateNormal, LowRankMultivariateNormal, Independent,
TransformedDistribution and its transforms, their KL pairs) and of the linear algebra under them: extreme
parameters, ill-conditioned factors, values on the support's boundary, saturating transforms, shapes and
dispatch, against torch (2.13), SciPy, mpmath and finite differences."""
import mpmath
import numpy as np
import pytest
import scipy.linalg as sla
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D

rng = np.random.default_rng(12)


def _tri(n, lower, tiny, batch=()):
    """A triangular matrix with one tiny diagonal entry and O(1) entries elsewhere (condition number ~ 1/tiny)."""
    a = rng.normal(size=batch + (n, n))
    a = np.tril(a) if lower else np.triu(a)
    a[..., 1, 1] = tiny
    return a


# ---------------------------------------------------------------- triangular solves with an ill-conditioned factor

@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize("tiny", [1e-3, 1e-12, 1e-20])
def test_solve_triangular_ill_conditioned_matches_substitution(lower, trans, tiny):
    """A triangular solve is a substitution, accurate however ill-conditioned the matrix: np.linalg.solve on a
    lower triangle pivoted away from its tiny diagonal and returned garbage (wrong sign even in x_0 = b_0 / a_00)."""
    a, b = _tri(4, lower, tiny, (2,)), rng.normal(size=(2, 4, 3))
    want = np.stack([sla.solve_triangular(a[i], b[i], lower=lower, trans=trans) for i in range(2)])
    got = npg.linalg.solve_triangular(npg.tensor(a), npg.tensor(b), lower=lower, trans=trans).data
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    got_vec = npg.linalg.solve_triangular(npg.tensor(a[0]), npg.tensor(b[0, :, 0]), lower=lower, trans=trans).data
    np.testing.assert_allclose(got_vec, want[0, :, 0], rtol=1e-12, atol=0)


def _exact_cholesky_inverse_and_grad(L, W):
    """``(L L^T)^-1`` and the gradient of ``sum(W * (L L^T)^-1)`` in the whole ``L``, in 60-digit arithmetic."""
    with mpmath.workdps(60):
        Lm, Wm = mpmath.matrix(L.tolist()), mpmath.matrix(W.tolist())
        X = (Lm * Lm.T) ** -1
        gA = -(X.T * Wm * X.T)
        gL = (gA + gA.T) * Lm
        return np.array(X.tolist(), dtype=float), np.array(gL.tolist(), dtype=float)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("tiny", [1e-3, 1e-6, 1e-12])
def test_cholesky_inverse_and_solve_ill_conditioned(upper, tiny):
    """cholesky_inverse / cholesky_solve solve with the factor twice instead of inverting L L^T (which squares
    the condition number: at a diagonal 1e-12 the old value was off by 100%, float32 at 1e-3 by 30%). The
    oracle is 60-digit arithmetic (torch's own gradient is off by ~4e-3 relative at 1e-12)."""
    L = _tri(4, not upper, tiny)
    W = rng.normal(size=(4, 4))
    F = L.T if upper else L                       # (U^T U)^-1 = (F F^T)^-1 with F = U^T
    X, gF = _exact_cholesky_inverse_and_grad(F, W)
    gL = gF.T if upper else gF
    t = npg.tensor(L, requires_grad=True)
    out = npg.cholesky_inverse(t, upper=upper)
    np.testing.assert_allclose(out.data, X, rtol=1e-10)
    g = npg.autograd.grad((out * npg.tensor(W)).sum(), [t])[0].data
    # (the backward pass goes through solves with the factor, each amplifying round-off by up to ~1 / tiny)
    rtol = max(1e-8, 1e-15 / tiny)
    np.testing.assert_allclose(g, gL, rtol=rtol, atol=rtol * np.abs(gL).max())
    B = rng.normal(size=(4, 2))
    np.testing.assert_allclose(npg.cholesky_solve(npg.tensor(B), t, upper=upper).data, X @ B, rtol=1e-10,
                               atol=1e-12 * np.abs(X @ B).max())
    t32 = npg.tensor(L.astype(np.float32))
    if tiny == 1e-3:   # float32: the true inverse (~1e6) is representable and should be accurate to float32
        out32 = npg.cholesky_inverse(t32, upper=upper)
        assert out32.dtype == np.float32
        np.testing.assert_allclose(out32.data, X, rtol=2e-4, atol=2e-4 * np.abs(X).max())


@pytest.mark.parametrize("tiny", [1e-3, 1e-8, 1e-20])
def test_mvn_scale_tril_with_a_tiny_diagonal(tiny):
    """MultivariateNormal with a nearly singular scale_tril: log_prob (with gradients), precision_matrix and
    the KL divergence against torch in float64 (torch solves triangular systems by substitution)."""
    L = _tri(3, True, tiny)
    L[np.arange(3), np.arange(3)] = np.abs(np.diagonal(L))
    x, loc = rng.normal(size=(2, 3)), rng.normal(size=3)
    nl, nL = npg.tensor(loc, requires_grad=True), npg.tensor(L, requires_grad=True)
    tl, tL = torch.tensor(loc, requires_grad=True), torch.tensor(L, requires_grad=True)
    d, t = D.MultivariateNormal(nl, scale_tril=nL), TD.MultivariateNormal(tl, scale_tril=tL)
    lp_n, lp_t = d.log_prob(npg.tensor(x)), t.log_prob(torch.tensor(x))
    np.testing.assert_allclose(lp_n.data, lp_t.detach().numpy(), rtol=1e-10)
    gn = npg.autograd.grad(lp_n.sum(), [nl, nL])
    gt = torch.autograd.grad(lp_t.sum(), [tl, tL])
    for a, b in zip(gn, gt):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-8, atol=1e-10 * np.abs(b.numpy()).max())
    np.testing.assert_allclose(d.precision_matrix.data, t.precision_matrix.detach().numpy(), rtol=1e-9,
                               atol=1e-12 * np.abs(t.precision_matrix.detach().numpy()).max())
    Lq = np.eye(3) + np.tril(L, -1)
    q_n = D.MultivariateNormal(npg.zeros(3, dtype=np.float64), scale_tril=npg.tensor(Lq))
    q_t = TD.MultivariateNormal(torch.zeros(3, dtype=torch.float64), scale_tril=torch.tensor(Lq))
    for p_n, p_t, qq_n, qq_t in [(d, t, q_n, q_t), (q_n, q_t, d, t)]:
        np.testing.assert_allclose(D.kl_divergence(p_n, qq_n).data, TD.kl_divergence(p_t, qq_t).detach().numpy(),
                                   rtol=1e-9)


# ---------------------------------------------------------------- extreme parameters and support boundaries

def _tensors(lib, arrays, dtype, grad):
    mk = npg.tensor if lib is D else torch.tensor
    return [mk(np.asarray(a, dtype), requires_grad=g) for a, g in zip(arrays, grad)]


def _out_and_grads(lib, make, arrays, dtype, method, value, grad=None):
    leaves = _tensors(lib, arrays, dtype, grad or [True] * len(arrays))
    d = make(lib, *leaves)
    if method in ("log_prob", "cdf"):
        out = getattr(d, method)((npg.tensor if lib is D else torch.tensor)(np.asarray(value, dtype)))
    else:
        out = getattr(d, method)
        out = out() if callable(out) else out
    if lib is D:
        leaves = [t for t in leaves if t.requires_grad]
        grads = npg.autograd.grad(out.sum(), leaves, allow_unused=True) if out.requires_grad else []
        return np.asarray(out.data), out.dtype, [None if g is None else np.asarray(g.data) for g in grads]
    leaves = [t for t in leaves if t.requires_grad]
    grads = torch.autograd.grad(out.sum(), leaves, allow_unused=True) if out.requires_grad else []
    return out.detach().numpy(), out.detach().numpy().dtype, [None if g is None else g.numpy() for g in grads]


C = np.array([1e-3, 0.5, 1.0, 3.0, 1e4])
DF = np.array([1e-3, 0.5, 1.0, 3.0, 1e4, 1e8])
EXTREME = {   # name: (constructor, parameter arrays, boundary and extreme values, methods)
    "Gamma": (lambda L, c, r: L.Gamma(c, r), [C, np.full(5, 2.0)], [0.0, 1e-30, 1e-3, 2.0, 1e4], ["cdf"]),
    "Chi2": (lambda L, df: L.Chi2(df), [DF], [0.0, 1e-30, 1e-3, 1.0, 1e5], []),
    "Beta": (lambda L, a, b: L.Beta(a, b), [C, C[::-1].copy()], [0.0, 1e-30, 0.3, 1 - 1e-7, 1.0], []),
    "Dirichlet": (lambda L, c: L.Dirichlet(c), [np.stack([C, C[::-1]], -1)],
                  [[0.0, 1.0], [1e-30, 1.0], [0.3, 0.7], [1.0, 0.0]], []),
    "StudentT": (lambda L, df, s: L.StudentT(df, 0.5, s), [DF, np.full(6, 2.0)], [0.0, 1e-3, 1e5, -1e20], []),
    "FisherSnedecor": (lambda L, a, b: L.FisherSnedecor(a, b), [DF, DF[::-1].copy()], [1e-30, 1e-3, 1.0, 1e5], []),
}
EXTREME_CASES = [(n, m, v) for n, (_, _, vals, ms) in EXTREME.items() for m in ["log_prob"] + ms for v in vals] + \
    [(n, m, None) for n in EXTREME for m in ["mean", "variance", "mode", "entropy"]
     if not (n == "FisherSnedecor" and m == "entropy")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, method, value", EXTREME_CASES)
def test_extreme_parameters_and_boundary_values_against_torch(name, method, value, dtype):
    """Concentrations/degrees of freedom from 1e-3 to 1e4 (1e8), values at and beyond the support's ends:
    values, dtypes and gradients against torch (NaN and inf where torch has them)."""
    make, arrays, _, _ = EXTREME[name]
    if method == "entropy" and dtype == np.float32:
        # (float32 entropies at 1e4 cancel terms of size 1e5 in both libraries: compare the moderate ones)
        arrays = [np.minimum(a, 50.0) for a in arrays]
    if value is not None:
        value = np.broadcast_to(np.asarray(value, float), np.broadcast_shapes(*[np.shape(a) for a in arrays]))
    # (torch cannot differentiate the incomplete gamma function in the concentration: checked against SciPy below)
    grad = [False, True] if method == "cdf" else None
    vn, dn, gn = _out_and_grads(D, make, arrays, dtype, method, value, grad)
    vt, dt_, gt = _out_and_grads(TD, make, arrays, dtype, method, value, grad)
    if dtype == np.float32 and np.any(np.isinf(vt)):
        # (torch's float32 StudentT.log_prob overflows y^2 / df to inf beyond 1.8e19; npgrad's does not: where
        # float64 is finite the float64 result is the reference)
        v64, _, g64 = _out_and_grads(TD, make, arrays, np.float64, method, value, grad)
        if np.all(np.isfinite(v64[np.isinf(vt)])):
            vt, gt = v64.astype(np.float32), g64
    assert vn.shape == vt.shape and dn == dt_, (vn.shape, vt.shape, dn, dt_)
    rtol = 1e-9 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(vn, vt, rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-12)
    assert len(gn) == len(gt)
    if method == "cdf" and not np.any(value):
        # P(c, rate * 0) = 0 for every rate: the exact rate gradient is 0 where torch's is NaN at c = 1 (its
        # density x^(c-1) at x = 0 is exp(0 * log 0)); below 1 both are 0 * inf = NaN
        gt = [np.where(np.isnan(gt[0]) & (arrays[0] >= 1), 0.0, gt[0])]
    for a, b in zip(gn, gt):
        if b is None:
            assert a is None or not np.any(a), a
            continue
        np.testing.assert_allclose(a, b, rtol=1e-7 if dtype == np.float64 else 1e-4,
                                   atol=1e-10 if dtype == np.float64 else 1e-5)


SCALAR = {
    "Gamma": lambda L, T: L.Gamma(T(1.5), T(2.0)), "Chi2": lambda L, T: L.Chi2(T(3.0)),
    "Beta": lambda L, T: L.Beta(T(0.5), T(2.0)), "StudentT": lambda L, T: L.StudentT(T(3.0), T(0.5), T(2.0)),
    "FisherSnedecor": lambda L, T: L.FisherSnedecor(T(3.0), T(5.0)),
    "Dirichlet": lambda L, T: L.Dirichlet(T([0.5, 2.0, 1.0])),
    "MultivariateNormal": lambda L, T: L.MultivariateNormal(T([0.5, 1.0]), scale_tril=T([[1.0, 0.0], [0.3, 2.0]])),
    "LowRankMultivariateNormal": lambda L, T: L.LowRankMultivariateNormal(T([0.5, 1.0]), T([[1.0], [0.3]]),
                                                                          T([1.0, 2.0])),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(SCALAR))
def test_unbatched_distributions_sample_like_torch(name, dtype):
    """Empty batch_shape: sample/rsample shapes and dtypes, log_prob of the samples (FisherSnedecor's rsample
    reshaped its Gamma draws with ``reshape(*())``, a TypeError, for 0-d df1 and df2)."""
    dn = SCALAR[name](D, lambda a: npg.tensor(np.asarray(a, dtype)))
    dt_ = SCALAR[name](TD, lambda a: torch.tensor(np.asarray(a, dtype)))
    for shape in [(), (3,), (2, 0)]:
        for fn in ("sample", "rsample"):
            sn, st = getattr(dn, fn)(shape), getattr(dt_, fn)(shape)
            assert tuple(sn.shape) == tuple(st.shape) and sn.dtype == st.detach().numpy().dtype, (fn, shape)
            lp = dn.log_prob(sn)
            assert tuple(lp.shape) == shape + tuple(dt_.batch_shape) and np.all(np.isfinite(lp.data))


@pytest.mark.parametrize("cls", ["Gamma", "Chi2"])
def test_gamma_log_prob_casts_the_value_to_the_parameter_dtype(cls):
    """torch's Gamma.log_prob casts the value to the rate's dtype: a float64 (or integer) value with float32
    parameters gives a float32 log_prob, equal to torch's."""
    args = (np.float32(2.5), np.float32(1.5)) if cls == "Gamma" else (np.float32(3.0),)
    dn = getattr(D, cls)(*[npg.tensor(a) for a in args])
    dt_ = getattr(TD, cls)(*[torch.tensor(a) for a in args])
    for v in (np.array([0.3, 2.0]), np.array([1, 3])):
        a, b = dn.log_prob(npg.tensor(v)), dt_.log_prob(torch.tensor(v))
        assert a.dtype == np.float32 == b.numpy().dtype
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- standard_gamma's gradient at the smallest samples

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standard_gamma_gradient_at_tiny_concentrations_against_the_inverse_cdf(dtype):
    """rsample's gradient for concentrations 1e-3..1e-2, where most float32 samples are clamped to the smallest
    normal number: the implicit gradient at the sample against central differences of SciPy's inverse CDF
    (at the sample's own CDF level), and finite everywhere."""
    import scipy.special as sp
    from npgrad.distributions._gamma_sample import standard_gamma
    npg.manual_seed(3)
    a = npg.tensor(np.repeat(np.array([1e-3, 1e-2, 0.1], dtype), 200), requires_grad=True)
    x = standard_gamma(a)
    g = npg.autograd.grad(x.sum(), [a])[0].data
    assert x.dtype == dtype and np.all(x.data >= np.finfo(dtype).tiny) and np.all(np.isfinite(g))
    av, xv = a.data.astype(float), x.data.astype(float)
    u = sp.gammainc(av, xv)
    keep = (u > 1e-300) & (u < 1 - 1e-12)
    h = av * 1e-6
    fd = (sp.gammaincinv(av + h, u) - sp.gammaincinv(av - h, u)) / (2 * h)
    np.testing.assert_allclose(g[keep], fd[keep], rtol=1e-4 if dtype == np.float64 else 2e-3)


# ---------------------------------------------------------------- transforms at saturation

SAT = np.array([-1e4, -200.0, -100.0, -50.0, -20.0, -5.0, 0.0, 5.0, 20.0, 50.0, 100.0, 200.0, 1e4])
TRANSFORMS = {
    "sigmoid": lambda L: L.transforms.SigmoidTransform(),
    "tanh": lambda L: L.transforms.TanhTransform(),
    "exp": lambda L: L.transforms.ExpTransform(),
    "affine_sigmoid": lambda L: L.transforms.ComposeTransform([L.transforms.AffineTransform(0.5, -2.0),
                                                               L.transforms.SigmoidTransform()]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms_at_saturation_against_torch(name, dtype):
    """Forward values (torch's clipping of the sigmoid), log_abs_det_jacobian and its gradient at |x| up to 1e4,
    and the inverse of the saturated outputs."""
    tn, tt = TRANSFORMS[name](D), TRANSFORMS[name](TD)
    xn, xt = npg.tensor(SAT.astype(dtype), requires_grad=True), torch.tensor(SAT.astype(dtype), requires_grad=True)
    yn, yt = tn(xn), tt(xt)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=rtol)
    ln, lt = tn.log_abs_det_jacobian(xn, yn), tt.log_abs_det_jacobian(xt, yt)
    assert ln.dtype == dtype
    np.testing.assert_allclose(ln.data, lt.detach().numpy(), rtol=rtol)
    gn = npg.autograd.grad(ln.sum(), [xn])[0].data
    np.testing.assert_allclose(gn, torch.autograd.grad(lt.sum(), [xt])[0].numpy(), rtol=rtol, atol=1e-7)
    y = yt.detach().numpy()   # (the same y for both: one ulp below 1 moves the logit by ~1e-3 in float32)
    inv_n, inv_t = tn.inv(npg.tensor(y)).data, tt.inv(torch.tensor(y)).numpy()
    assert np.all(np.isfinite(inv_n) == np.isfinite(inv_t))
    np.testing.assert_allclose(inv_n, inv_t, rtol=1e-5 if dtype == np.float32 else 1e-9, atol=1e-6)


# ---------------------------------------------------------------- KL dispatch and wrapper shapes

def _kl_family(lib, name):
    T = (lambda a: npg.tensor(np.asarray(a, np.float64))) if lib is D else \
        (lambda a: torch.tensor(np.asarray(a, np.float64)))
    return {
        "Gamma": lambda: lib.Gamma(T([1.5, 0.7]), T([2.0, 0.5])), "Chi2": lambda: lib.Chi2(T([1.5, 3.0])),
        "Exponential": lambda: lib.Exponential(T([1.5, 0.3])), "Beta": lambda: lib.Beta(T([1.5, 0.7]), T([2.0, 0.5])),
        "Dirichlet": lambda: lib.Dirichlet(T([[1.5, 0.7, 2.0], [2.0, 0.5, 1.0]])),
        "Normal": lambda: lib.Normal(T([0.1, -0.3]), T([1.0, 2.0])), "StudentT": lambda: lib.StudentT(T([3.0, 5.0])),
        "FisherSnedecor": lambda: lib.FisherSnedecor(T([3.0, 5.0]), T([4.0, 6.0])),
        "Uniform": lambda: lib.Uniform(T([0.1, 0.2]), T([0.9, 0.7])),
        "Uniform_wide": lambda: lib.Uniform(T([-1.0, 0.2]), T([0.9, 2.0])),
        "Gumbel": lambda: lib.Gumbel(T([0.1, 0.2]), T([0.9, 0.7])),
        "Laplace": lambda: lib.Laplace(T([0.1, 0.2]), T([0.9, 0.7])), "Poisson": lambda: lib.Poisson(T([0.9, 0.7])),
        "MVN": lambda: lib.MultivariateNormal(T([[0.1, 0.2], [0.0, 1.0]]), scale_tril=T(np.eye(2) * 1.5)),
        "LowRank": lambda: lib.LowRankMultivariateNormal(T([[0.1, 0.2], [0.0, 1.0]]), T([[1.0], [0.5]]),
                                                         T([1.0, 2.0])),
        "IndepNormal": lambda: lib.Independent(lib.Normal(T([0.1, -0.3]), T([1.0, 2.0])), 1),
        "LogNormal": lambda: lib.TransformedDistribution(lib.Normal(T([0.1, -0.3]), T([1.0, 2.0])),
                                                         [lib.transforms.ExpTransform()]),
    }[name]()


KL_NAMES = ["Gamma", "Chi2", "Exponential", "Beta", "Dirichlet", "Normal", "StudentT", "FisherSnedecor", "Uniform",
            "Uniform_wide", "Gumbel", "Laplace", "Poisson", "MVN", "LowRank", "IndepNormal", "LogNormal"]


@pytest.mark.parametrize("p", KL_NAMES)
def test_kl_dispatch_matches_torch(p):
    """kl_divergence(p, q) for every pair of these families: the same value (most specific registered pair,
    infinities where the supports do not nest) or the same exception type (NotImplementedError, ValueError)."""
    for q in KL_NAMES:
        try:
            want, err = TD.kl_divergence(_kl_family(TD, p), _kl_family(TD, q)).numpy(), None
        except Exception as e:   # noqa: BLE001 (the oracle's exception type is what is compared)
            want, err = None, type(e)
        if err is not None:
            with pytest.raises(err):
                D.kl_divergence(_kl_family(D, p), _kl_family(D, q))
            continue
        got = D.kl_divergence(_kl_family(D, p), _kl_family(D, q)).data
        assert got.shape == want.shape, (p, q)
        np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"KL({p}, {q})")


def _wrapped(L, T):
    tr = L.transforms
    base = lambda: L.Normal(T(np.zeros((4, 3))), T(np.ones((4, 3))))   # noqa: E731
    return {
        "indep2_mvn": L.Independent(L.MultivariateNormal(T(np.zeros((4, 2, 3))), scale_tril=T(np.eye(3))), 2),
        "indep0": L.Independent(base(), 0),
        "exp_of_mvn": L.TransformedDistribution(L.MultivariateNormal(T(np.zeros((4, 3))), scale_tril=T(np.eye(3))),
                                                [tr.ExpTransform()]),
        "affine_event1": L.TransformedDistribution(base(), [tr.AffineTransform(0.0, T(np.ones(3) * 2), event_dim=1)]),
        "affine_event2": L.TransformedDistribution(base(), [tr.AffineTransform(0.0, 2.0, event_dim=2)]),
        "affine_broadcast": L.TransformedDistribution(L.Normal(T(np.zeros(3)), T(np.ones(3))),
                                                      [tr.AffineTransform(T(np.zeros((5, 1))), 2.0)]),
        "compose": L.TransformedDistribution(base(), [tr.AffineTransform(0.0, 2.0, event_dim=1),
                                                      tr.SigmoidTransform()]),
        "log_of_gamma": L.TransformedDistribution(L.Gamma(T([1.0, 2.0]), T([1.0, 2.0])), tr.ExpTransform().inv),
        "no_transform": L.TransformedDistribution(base(), []),
    }


@pytest.mark.parametrize("name", list(_wrapped(D, npg.tensor)))
def test_independent_and_transformed_shapes_expand_and_log_prob(name):
    """batch/event shapes, support's event_dim, sample shapes and log_prob (of npgrad's samples, in torch too),
    before and after expand, against torch."""
    a = _wrapped(D, lambda v: npg.tensor(np.asarray(v, np.float64)))[name]
    b = _wrapped(TD, lambda v: torch.tensor(np.asarray(v, np.float64)))[name]
    for dn, dt_ in [(a, b), (a.expand((7,) + tuple(b.batch_shape)), b.expand((7,) + tuple(b.batch_shape)))]:
        assert (dn.batch_shape, dn.event_shape) == (tuple(dt_.batch_shape), tuple(dt_.event_shape))
        assert dn.support.event_dim == dt_.support.event_dim and dn.has_rsample == dt_.has_rsample
        for shape in [(), (2,)]:
            x = dn.sample(shape)
            assert tuple(x.shape) == tuple(dt_.sample(shape).shape)
            np.testing.assert_allclose(dn.log_prob(x).data, dt_.log_prob(torch.tensor(x.data)).numpy(), rtol=1e-9)


def _studentt_exact(d, m, s, x):
    """StudentT's log density and its derivatives in (df, loc, scale, x), in 50-digit arithmetic (the
    derivatives from their closed forms, w = y^2 / df with y = (x - loc) / scale)."""
    with mpmath.workdps(50):
        d, m, s, x = (mpmath.mpf(float(a)) for a in (d, m, s, x))
        y = (x - m) / s
        w = y * y / d
        lp = (mpmath.loggamma((d + 1) / 2) - mpmath.loggamma(d / 2) - mpmath.log(d * mpmath.pi) / 2 - mpmath.log(s)
              - (d + 1) / 2 * mpmath.log1p(w))
        dx = -(d + 1) * y / (s * d * (1 + w))
        dd = ((mpmath.digamma((d + 1) / 2) - mpmath.digamma(d / 2) - 1 / d - mpmath.log1p(w)) / 2
              + (d + 1) / 2 * (w / d) / (1 + w))
        ds = -1 / s + (d + 1) * w / (s * (1 + w))
        return float(lp), [float(dd), float(-dx), float(ds), float(dx)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_studentt_log_prob_far_in_the_tails(dtype):
    """Values beyond sqrt of the dtype's largest number (1.8e19 in float32): y^2 / df overflowed to inf, so
    log_prob was -inf (its gradients NaN) where the density is finite (as in torch); checked against
    50-digit arithmetic, with small and moderate values too."""
    big = [1e10, 1e19, 1e20, 3e38] if dtype == np.float32 else [1e150, 1e200, 1e300, 1.7e308]
    xs = np.array([0.0, 0.5, -3.0] + big + [-big[-1]])
    df, loc, scale = (npg.tensor(np.full(xs.shape, v, dtype), requires_grad=True) for v in (3.0, 0.5, 2.0))
    x = npg.tensor(xs.astype(dtype), requires_grad=True)
    lp = D.StudentT(df, loc, scale).log_prob(x)
    assert lp.dtype == dtype
    grads = [g.data for g in npg.autograd.grad(lp.sum(), [df, loc, scale, x])]
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    for i, v in enumerate(xs.astype(dtype)):
        want, want_g = _studentt_exact(3.0, 0.5, 2.0, v)
        np.testing.assert_allclose(lp.data[i], want, rtol=rtol, atol=rtol)
        for g, w in zip(grads, want_g):
            np.testing.assert_allclose(g[i], w, rtol=rtol * 10, atol=rtol * 10 * abs(w) + np.finfo(dtype).tiny)
