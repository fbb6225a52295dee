"""LowRankMultivariateNormal and its KL divergences (with itself and MultivariateNormal) against
torch.distributions (torch 2.13): values and gradients in float64 and float32 with broadcast batch shapes,
rsample's gradient with the same noise, expand, validation errors."""
import functools

import numpy as np
import pytest
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D
from tests.helpers import assert_grads_like_torch, assert_like_torch

rng = np.random.default_rng(1)
TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=3e-4, atol=3e-4)}


def _leaves(arrays, dtype):
    return ([npg.tensor(a.astype(dtype), requires_grad=True) for a in arrays],
            [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays])


def _lowrank(shapes=((4, 1, 5), (2, 5, 2), (5,)), dtype=np.float64):
    arrays = [rng.normal(size=shapes[0]), rng.normal(size=shapes[1]), rng.uniform(0.5, 2, shapes[2])]
    n, t = _leaves(arrays, dtype)
    return D.LowRankMultivariateNormal(*n), TD.LowRankMultivariateNormal(*t), n, t


def _mvn(dtype=np.float64):
    a = rng.normal(size=(5, 5))
    n, t = _leaves([rng.normal(size=(5,)), a @ a.T + np.eye(5)], dtype)
    return D.MultivariateNormal(*n), TD.MultivariateNormal(*t), n, t


_close = functools.partial(assert_like_torch, tol=TOL)
_check_grads = functools.partial(assert_grads_like_torch, tol=TOL, rng=rng)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", [((4, 1, 5), (2, 5, 2), (5,)), ((5,), (5, 3), (3, 5)), ((5,), (5, 1), (5,))])
def test_log_prob_entropy_values_and_gradients(shapes, dtype):
    d, t, nl, tl = _lowrank(shapes, dtype)
    assert (d.batch_shape, d.event_shape) == (tuple(t.batch_shape), tuple(t.event_shape))
    x = rng.normal(size=(3,) + d.batch_shape + (5,)).astype(dtype)
    nx, tx = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    n_lp, t_lp = d.log_prob(nx), t.log_prob(tx)
    _close(n_lp, t_lp, dtype)
    _check_grads(n_lp, t_lp, nl + [nx], tl + [tx], dtype)
    d, t, nl, tl = _lowrank(shapes, dtype)
    _close(d.entropy(), t.entropy(), dtype)
    _check_grads(d.entropy(), t.entropy(), nl[1:], tl[1:], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("prop", ["scale_tril", "covariance_matrix", "precision_matrix", "variance", "mean"])
def test_properties_values_and_gradients(prop, dtype):
    d, t, nl, tl = _lowrank(dtype=dtype)
    n_out, t_out = getattr(d, prop), getattr(t, prop)
    assert n_out.shape == tuple(t_out.shape)
    _close(n_out, t_out, dtype)
    sl = slice(0, 1) if prop == "mean" else slice(1, 3)
    _check_grads(n_out, t_out, nl[sl], tl[sl], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", ["lowrank-lowrank", "mvn-lowrank", "lowrank-mvn"])
def test_kl_values_and_gradients(pair, dtype):
    make = {"lowrank": lambda: _lowrank(dtype=dtype), "mvn": lambda: _mvn(dtype)}
    p, tp, npl, tpl = make[pair.split("-")[0]]()
    q, tq, nql, tql = make[pair.split("-")[1]]()
    n_kl, t_kl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    assert n_kl.shape == tuple(t_kl.shape)
    _close(n_kl, t_kl, dtype)
    _check_grads(n_kl, t_kl, npl + nql, tpl + tql, dtype)


def test_kl_of_equal_distributions_is_zero_and_event_mismatch_raises():
    d, _, _, _ = _lowrank()
    m = D.MultivariateNormal(d.loc, d.covariance_matrix)
    for p, q in ((d, d), (d, m), (m, d)):
        np.testing.assert_allclose(D.kl_divergence(p, q).data, 0, atol=1e-12)
    other = D.LowRankMultivariateNormal(npg.zeros(3), npg.ones((3, 1)), npg.ones(3))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(d, other)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rsample_gradient_matches_torch_with_the_same_noise(dtype):
    d, t, nl, tl = _lowrank(dtype=dtype)
    npg.random.seed(5)
    z = d.rsample((3,))
    assert z.shape == (3, 4, 2, 5) and z.dtype == dtype
    npg.random.seed(5)                                   # the same draws, in rsample's order: W's noise, then D's
    g = npg.random.get_generator()
    eps_w, eps_d = (torch.tensor(g.standard_normal(s).astype(dtype)) for s in ((3, 4, 2, 2), (3, 4, 2, 5)))
    tz = tl[0] + (tl[1] @ eps_w.unsqueeze(-1)).squeeze(-1) + tl[2].sqrt() * eps_d
    _close(z, tz, dtype)
    _check_grads(z, tz, nl, tl, dtype)


def test_samples_have_the_distribution_moments():
    d = D.LowRankMultivariateNormal(npg.tensor([1.0, 0.0, -1.0]), npg.tensor([[1.0], [0.5], [-0.5]]),
                                    npg.tensor([0.5, 1.0, 2.0]))
    npg.random.seed(0)
    z = d.sample((40000,)).data
    np.testing.assert_allclose(z.mean(0), [1.0, 0.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(z.T), d.covariance_matrix.data, atol=0.06)


def test_expand():
    d, t, _, _ = _lowrank(((5,), (5, 2), (5,)))
    de, te = d.expand((3, 2)), t.expand((3, 2))
    assert de.batch_shape == (3, 2) and de.event_shape == (5,)
    x = rng.normal(size=(4, 3, 2, 5))
    _close(de.log_prob(npg.tensor(x)), te.log_prob(torch.tensor(x)), np.float64)
    for prop in ("loc", "cov_factor", "cov_diag", "covariance_matrix", "entropy"):
        n_v, t_v = getattr(de, prop), getattr(te, prop)
        n_v, t_v = (n_v(), t_v()) if callable(n_v) else (n_v, t_v)
        assert n_v.shape == tuple(t_v.shape)
        _close(n_v, t_v, np.float64)


def test_validation_errors():
    with pytest.raises(ValueError, match="cov_diag.*IndependentConstraint"):
        D.LowRankMultivariateNormal(npg.zeros(2), npg.ones((2, 1)), npg.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"cov_factor must be a batch of matrices with shape 2 x m"):
        D.LowRankMultivariateNormal(npg.zeros(2), npg.ones((3, 1)), npg.ones(2))
    with pytest.raises(ValueError, match="cov_factor must be at least two-dimensional"):
        D.LowRankMultivariateNormal(npg.zeros(2), npg.ones(2), npg.ones(2))
    with pytest.raises(ValueError, match=r"cov_diag must be a batch of vectors with shape \(2,\)"):
        D.LowRankMultivariateNormal(npg.zeros(2), npg.ones((2, 1)), npg.ones(3))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.LowRankMultivariateNormal(npg.tensor(0.0), npg.ones((1, 1)), npg.ones(1))
    with pytest.raises(ValueError, match="incompatible batch shapes"):
        D.LowRankMultivariateNormal(npg.zeros((3, 2)), npg.ones((4, 2, 1)), npg.ones(2))
    d = D.LowRankMultivariateNormal(npg.zeros(2), npg.ones((2, 1)), npg.ones(2))
    with pytest.raises(ValueError, match="event_shape"):
        d.log_prob(npg.zeros(3))
