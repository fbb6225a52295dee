"""Sweeps of npgrad.distributions against torch.distributions (2.13) and mpmath: kl_divergence for every pair of
families both libraries have (the same pairs registered, values and gradients in every parameter of p and q,
float32 and float64), and Gamma.rsample's implicit reparameterization gradient against the exact
``-dF/dalpha / f`` (60-digit arithmetic)."""
import itertools
import warnings

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D


def _pos(rng, s):
    return rng.uniform(0.5, 2.0, s)


def _simplex(rng, s):
    a = rng.uniform(0.1, 1.0, s + (3,))
    return a / a.sum(-1, keepdims=True)


FAMILIES = {
    "Normal": dict(loc=lambda r, s: r.normal(size=s), scale=_pos),
    "LogNormal": dict(loc=lambda r, s: r.normal(size=s), scale=_pos),
    "HalfNormal": dict(scale=_pos),
    "Cauchy": dict(loc=lambda r, s: r.normal(size=s), scale=_pos),
    "HalfCauchy": dict(scale=_pos),
    "Laplace": dict(loc=lambda r, s: r.normal(size=s), scale=_pos),
    "Gumbel": dict(loc=lambda r, s: r.normal(size=s), scale=_pos),
    "Exponential": dict(rate=_pos),
    "Gamma": dict(concentration=_pos, rate=_pos),
    "Chi2": dict(df=_pos),
    "Beta": dict(concentration1=_pos, concentration0=_pos),
    "Uniform": dict(low=lambda r, s: r.normal(size=s) - 3, high=lambda r, s: r.normal(size=s) + 3),
    "Poisson": dict(rate=_pos),
    "Bernoulli": dict(probs=lambda r, s: r.uniform(0.1, 0.9, s)),
    "Geometric": dict(probs=lambda r, s: r.uniform(0.1, 0.9, s)),
    "Binomial": dict(total_count=lambda r, s: np.full(s, 4.0), probs=lambda r, s: r.uniform(0.1, 0.9, s)),
    "StudentT": dict(df=_pos, loc=lambda r, s: r.normal(size=s), scale=_pos),
    "FisherSnedecor": dict(df1=_pos, df2=_pos),
    "Dirichlet": dict(concentration=lambda r, s: _pos(r, s + (3,))),
    "Categorical": dict(probs=_simplex),
    "OneHotCategorical": dict(probs=_simplex),
}


def _make(lib, name, arrays, leaves):
    """The distribution ``name`` of torch (lib "t") or npgrad, its float parameters appended to ``leaves``."""
    kw = {}
    for k, v in arrays.items():
        kw[k] = torch.tensor(v, requires_grad=k != "total_count") if lib == "t" else \
            npg.tensor(v, requires_grad=k != "total_count")
        if k != "total_count":
            leaves.append(kw[k])
    return getattr(TD if lib == "t" else D, name)(**kw, validate_args=False)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p_name", sorted(FAMILIES))
def test_kl_every_pair_matches_torch(p_name, dtype):
    """For p of ``p_name`` and q of every family: kl_divergence is registered exactly when torch's is, and then
    its value, dtype and gradients in every parameter of p and q are torch's."""
    rng = np.random.default_rng(sorted(FAMILIES).index(p_name))
    tol = 2e-4 if dtype == np.float32 else 1e-8
    for q_name in sorted(FAMILIES):
        pa = {k: g(rng, (4,)).astype(dtype) for k, g in FAMILIES[p_name].items()}
        qa = {k: g(rng, (4,)).astype(dtype) for k, g in FAMILIES[q_name].items()}
        if p_name == q_name == "Uniform":  # (q's support covers p's: a finite KL)
            qa = dict(low=pa["low"] - 1, high=pa["high"] + 1)
        tl, nl = [], []
        tp, tq = _make("t", p_name, pa, tl), _make("t", q_name, qa, tl)
        np_, nq = _make("n", p_name, pa, nl), _make("n", q_name, qa, nl)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                want = TD.kl_divergence(tp, tq)
            except NotImplementedError:
                with pytest.raises(NotImplementedError):
                    D.kl_divergence(np_, nq)
                continue
            got = D.kl_divergence(np_, nq)
        assert got.dtype == dtype, (p_name, q_name, got.dtype)
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=tol, atol=tol, err_msg=f"{p_name}-{q_name}")
        if not want.requires_grad or not np.isfinite(want.detach().numpy()).all():
            continue
        w = rng.normal(size=(4,)).astype(dtype)
        tg = torch.autograd.grad((want * torch.tensor(w)).sum(), tl, allow_unused=True)
        ng = npg.autograd.grad((got * npg.tensor(w)).sum(), nl, allow_unused=True)
        for leaf, a, b in zip(nl, ng, tg):
            a = np.zeros(leaf.shape) if a is None else a.data
            b = np.zeros(leaf.shape) if b is None else b.numpy()
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"grad {p_name}-{q_name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gamma_rsample_gradient_is_the_exact_implicit_derivative(dtype):
    """d sample / d concentration of Gamma.rsample is ``-(dF/dalpha) / f`` at the sample (F the regularized
    incomplete gamma function, f the density), for concentrations from 0.05 to 15, in a (2, 4) sample of a
    broadcast (3, 1) x (4,) batch; the rate's gradient is ``-x / rate``."""
    npg.manual_seed(3)
    rng = np.random.default_rng(3)
    alpha = npg.tensor(np.array([[0.05], [1.3], [15.0]], dtype=dtype), requires_grad=True)
    rate = npg.tensor(rng.uniform(0.5, 2.0, (4,)).astype(dtype), requires_grad=True)
    x = D.Gamma(alpha, rate).rsample((2,))
    assert x.shape == (2, 3, 4) and x.dtype == dtype
    g_alpha, g_rate = npg.autograd.grad(x.sum(), [alpha, rate])
    s = x.data.astype(np.float64) * rate.data.astype(np.float64)  # the standard-gamma draws
    want = np.zeros((3, 1))
    with mpmath.workdps(60):
        for idx in np.ndindex(s.shape):
            a, v = mpmath.mpf(float(alpha.data[idx[1], 0])), mpmath.mpf(float(s[idx]))
            d_cdf = mpmath.diff(lambda t: mpmath.gammainc(t, 0, v, regularized=True), a)
            pdf = v ** (a - 1) * mpmath.exp(-v) / mpmath.gamma(a)
            want[idx[1], 0] += float(-d_cdf / pdf) / float(rate.data[idx[2]])
    rtol = 1e-3 if dtype == np.float32 else 1e-7
    np.testing.assert_allclose(g_alpha.data, want, rtol=rtol)
    np.testing.assert_allclose(g_rate.data, (-x.data / rate.data).sum(axis=(0, 1)), rtol=rtol)
