"""MultivariateNormal, Independent and their KL divergences against torch.distributions (torch 2.13): values and
gradients of log_prob, entropy, the covariance properties and kl_divergence in float64 and float32, batched and
broadcast shapes; rsample's reparameterization gradient; expand; validation errors."""
import functools

import numpy as np
import pytest
import torch
import torch.distributions as TD

import npgrad as npg
import npgrad.distributions as D
from tests.helpers import assert_grads_like_torch, assert_like_torch

rng = np.random.default_rng(0)
KINDS = ["covariance_matrix", "precision_matrix", "scale_tril"]
# (loc shape, matrix shape, value shape): batch dims of loc and the matrix broadcast, the value broadcasts too
SHAPES = [((3,), (3, 3), (3,)),
          ((4, 1, 3), (2, 3, 3), (5, 4, 2, 3)),
          ((2, 3), (3, 3), (2, 3)),
          ((3,), (2, 3, 3), (6, 1, 3))]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}


def _pd(shape):
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])


def _matrix(kind, shape):
    c = _pd(shape)
    return np.linalg.cholesky(c) if kind == "scale_tril" else c


def _pair(loc, kind, mat, dtype, grad=True):
    """The same MultivariateNormal in npgrad and torch, with the leaf tensors of each."""
    nl, nm = (npg.tensor(a.astype(dtype), requires_grad=grad) for a in (loc, mat))
    tl, tm = (torch.tensor(a.astype(dtype), requires_grad=grad) for a in (loc, mat))
    return D.MultivariateNormal(nl, **{kind: nm}), TD.MultivariateNormal(tl, **{kind: tm}), (nl, nm), (tl, tm)


_close = functools.partial(assert_like_torch, tol=TOL)
_check_grads = functools.partial(assert_grads_like_torch, tol=TOL, rng=rng)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shapes", SHAPES)
def test_log_prob_and_entropy_values_and_gradients(shapes, kind, dtype):
    loc_s, mat_s, val_s = shapes
    loc, mat, x = rng.normal(size=loc_s), _matrix(kind, mat_s), rng.normal(size=val_s)
    d, t, nl, tl = _pair(loc, kind, mat, dtype)
    assert d.batch_shape == tuple(t.batch_shape) and d.event_shape == tuple(t.event_shape)
    nx, tx = npg.tensor(x.astype(dtype), requires_grad=True), torch.tensor(x.astype(dtype), requires_grad=True)
    n_lp, t_lp = d.log_prob(nx), t.log_prob(tx)
    assert n_lp.shape == tuple(t_lp.shape)
    _close(n_lp, t_lp, dtype)
    _close(d.entropy(), t.entropy(), dtype)
    _check_grads(n_lp, t_lp, nl + (nx,), tl + (tx,), dtype)
    d, t, nl, tl = _pair(loc, kind, mat, dtype)
    _check_grads(d.entropy(), t.entropy(), nl[1:], tl[1:], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("prop", ["scale_tril", "covariance_matrix", "precision_matrix", "variance", "stddev",
                                  "mean", "mode"])
def test_properties_values_and_gradients(prop, kind, dtype):
    loc, mat = rng.normal(size=(4, 1, 3)), _matrix(kind, (2, 3, 3))
    d, t, nl, tl = _pair(loc, kind, mat, dtype)
    n_out, t_out = getattr(d, prop), getattr(t, prop)
    assert n_out.shape == tuple(t_out.shape)
    _close(n_out, t_out, dtype)
    i = 0 if prop in ("mean", "mode") else 1             # the leaf the property depends on
    _check_grads(n_out, t_out, nl[i:i + 1], tl[i:i + 1], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
def test_rsample_gradient_matches_torch_with_the_same_noise(kind, dtype):
    loc, mat = rng.normal(size=(2, 3)), _matrix(kind, (3, 3))
    d, t, nl, tl = _pair(loc, kind, mat, dtype)
    npg.random.seed(3)
    z = d.rsample((5,))
    assert z.shape == (5, 2, 3) and z.dtype == dtype
    # the noise npgrad drew, recovered as L^-1 (z - loc) (no gradient), pushed through torch's own formula
    L = np.linalg.cholesky(np.linalg.inv(mat) if kind == "precision_matrix" else mat) if kind != "scale_tril" \
        else mat
    eps = np.linalg.solve(L, (z.data - loc).astype(np.float64)[..., None])[..., 0]
    tz = tl[0] + (t.scale_tril @ torch.tensor(eps.astype(dtype)).unsqueeze(-1)).squeeze(-1)
    _close(z, tz, dtype)
    _check_grads(z, tz, nl, tl, dtype)
    assert not d.sample((2,)).requires_grad


def test_samples_have_the_distribution_moments():
    loc, cov = np.array([1.0, -2.0, 0.5]), _pd((3, 3))
    npg.random.seed(0)
    z = D.MultivariateNormal(npg.tensor(loc), covariance_matrix=npg.tensor(cov)).sample((40000,)).data
    np.testing.assert_allclose(z.mean(0), loc, atol=4 * np.sqrt(np.diag(cov).max() / 40000))
    np.testing.assert_allclose(np.cov(z.T), cov, atol=0.08 * np.abs(cov).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kinds", [("covariance_matrix", "scale_tril"), ("precision_matrix", "covariance_matrix")])
def test_kl_mvn_mvn_values_and_gradients(kinds, dtype):
    (p, tp, np_l, tp_l) = _pair(rng.normal(size=(4, 1, 3)), kinds[0], _matrix(kinds[0], (2, 3, 3)), dtype)
    (q, tq, nq_l, tq_l) = _pair(rng.normal(size=(3,)), kinds[1], _matrix(kinds[1], (3, 3)), dtype)
    n_kl, t_kl = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    assert n_kl.shape == tuple(t_kl.shape) == (4, 2)
    _close(n_kl, t_kl, dtype)
    _check_grads(n_kl, t_kl, np_l + nq_l, tp_l + tq_l, dtype)
    assert np.allclose(D.kl_divergence(p, p).data, 0, atol=1e-5)


def test_kl_mvn_event_shape_mismatch_raises():
    p = D.MultivariateNormal(npg.zeros(2), npg.eye(2))
    q = D.MultivariateNormal(npg.zeros(3), npg.eye(3))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(p, q)


@pytest.mark.parametrize("kind", KINDS)
def test_expand(kind):
    loc, mat, x = rng.normal(size=(3,)), _matrix(kind, (2, 3, 3)), rng.normal(size=(5, 4, 2, 3))
    d, t, nl, tl = _pair(loc, kind, mat, np.float64)
    _ = d.covariance_matrix, t.covariance_matrix          # a cached property is expanded too
    de, te = d.expand((4, 2)), t.expand((4, 2))
    assert de.batch_shape == (4, 2) and de.event_shape == (3,) and type(de) is D.MultivariateNormal
    for prop in ("loc", "covariance_matrix", "scale_tril", "precision_matrix", "variance"):
        assert getattr(de, prop).shape == tuple(getattr(te, prop).shape)
        _close(getattr(de, prop), getattr(te, prop), np.float64)
    _close(de.log_prob(npg.tensor(x)), te.log_prob(torch.tensor(x)), np.float64)
    _close(de.entropy(), te.entropy(), np.float64)
    assert de.rsample((7,)).shape == (7, 4, 2, 3)
    with pytest.raises(ValueError):
        de.log_prob(npg.tensor(rng.normal(size=(4, 3, 3))))   # batch (4, 3) does not broadcast with (4, 2)


def test_validation_errors():
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])             # symmetric, not positive definite
    with pytest.raises(ValueError, match="covariance_matrix.*PositiveDefinite"):
        D.MultivariateNormal(npg.zeros(2), covariance_matrix=npg.tensor(bad))
    with pytest.raises(ValueError, match="precision_matrix.*PositiveDefinite"):
        D.MultivariateNormal(npg.zeros(2), precision_matrix=npg.tensor(bad))
    with pytest.raises(ValueError, match="scale_tril.*LowerCholesky"):
        D.MultivariateNormal(npg.zeros(2), scale_tril=npg.tensor([[1.0, 0.0], [0.5, -1.0]]))
    with pytest.raises(ValueError, match="scale_tril.*LowerCholesky"):
        D.MultivariateNormal(npg.zeros(2), scale_tril=npg.tensor([[1.0, 0.3], [0.5, 1.0]]))
    with pytest.raises(npg.linalg.LinAlgError, match="cholesky"):    # unchecked, the factorization still fails
        D.MultivariateNormal(npg.zeros(2), covariance_matrix=npg.tensor(bad), validate_args=False)
    with pytest.raises(ValueError, match="exactly one of"):
        D.MultivariateNormal(npg.zeros(2))
    with pytest.raises(ValueError, match="exactly one of"):
        D.MultivariateNormal(npg.zeros(2), npg.eye(2), scale_tril=npg.eye(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.MultivariateNormal(npg.tensor(0.0), npg.eye(1))
    with pytest.raises(ValueError, match="scale_tril must be at least two-dimensional"):
        D.MultivariateNormal(npg.zeros(2), scale_tril=npg.ones(2))
    with pytest.raises(ValueError, match=r"n = loc.shape\[-1\] = 3"):
        D.MultivariateNormal(npg.zeros(3), npg.eye(2))
    with pytest.raises(ValueError, match="do not broadcast"):
        D.MultivariateNormal(npg.zeros((4, 2)), npg.eye(2).expand(3, 2, 2))
    with pytest.raises(TypeError, match="different dtypes"):
        D.MultivariateNormal(npg.zeros(2, dtype=np.float32), npg.eye(2, dtype=np.float64))
    d = D.MultivariateNormal(npg.zeros(2), npg.eye(2))
    with pytest.raises(ValueError, match="event_shape"):
        d.log_prob(npg.zeros(3))
    with pytest.raises(ValueError, match="support"):
        d.log_prob(npg.tensor([0.0, np.nan]))


def test_numpy_parameters_take_the_tensor_dtype():
    d = D.MultivariateNormal(npg.zeros(2, dtype=np.float32), covariance_matrix=np.eye(2))
    assert d.covariance_matrix.dtype == np.float32 and d.log_prob(np.ones(2)).dtype == np.float32
    t = TD.MultivariateNormal(torch.zeros(2), torch.eye(2))
    np.testing.assert_allclose(d.log_prob(np.ones(2)).data, t.log_prob(torch.ones(2)).numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------------------------- Independent

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ndims", [0, 1, 2])
def test_independent_normal(ndims, dtype):
    loc, scale, x = rng.normal(size=(4, 2, 3)), rng.uniform(0.5, 2, (2, 3)), rng.normal(size=(5, 4, 2, 3))
    nl, ns = (npg.tensor(a.astype(dtype), requires_grad=True) for a in (loc, scale))
    tl, ts = (torch.tensor(a.astype(dtype), requires_grad=True) for a in (loc, scale))
    d, t = D.Independent(D.Normal(nl, ns), ndims), TD.Independent(TD.Normal(tl, ts), ndims)
    assert (d.batch_shape, d.event_shape) == (tuple(t.batch_shape), tuple(t.event_shape))
    assert d.has_rsample and repr(d).startswith("Independent(Normal(")
    n_lp, t_lp = d.log_prob(npg.tensor(x.astype(dtype))), t.log_prob(torch.tensor(x.astype(dtype)))
    assert n_lp.shape == tuple(t_lp.shape)
    _close(n_lp, t_lp, dtype)
    _check_grads(n_lp, t_lp, (nl, ns), (tl, ts), dtype)
    _close(d.entropy(), t.entropy(), dtype)
    for prop in ("mean", "mode", "variance"):
        _close(getattr(d, prop), getattr(t, prop), dtype)
    assert d.rsample((2,)).shape == (2, 4, 2, 3)
    assert d.support.event_dim == t.support.event_dim == ndims


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kl_independent_independent(dtype):
    a = [rng.normal(size=(4, 2, 3)), rng.uniform(0.5, 2, (2, 3)), rng.normal(size=(3,)), rng.uniform(0.5, 2, (3,))]
    n = [npg.tensor(v.astype(dtype), requires_grad=True) for v in a]
    t = [torch.tensor(v.astype(dtype), requires_grad=True) for v in a]
    n_kl = D.kl_divergence(D.Independent(D.Normal(n[0], n[1]), 2),
                           D.Independent(D.Normal(n[2], n[3]).expand((4, 2, 3)), 2))
    t_kl = TD.kl_divergence(TD.Independent(TD.Normal(t[0], t[1]), 2),
                            TD.Independent(TD.Normal(t[2], t[3]).expand((4, 2, 3)), 2))
    assert n_kl.shape == tuple(t_kl.shape) == (4,)
    _close(n_kl, t_kl, dtype)
    _check_grads(n_kl, t_kl, n, t, dtype)
    p1, p2 = D.Independent(D.Normal(n[0], n[1]), 1), D.Independent(D.Normal(n[0], n[1]), 2)
    with pytest.raises(NotImplementedError, match="reinterpreted_batch_ndims"):
        D.kl_divergence(p1, p2)


def test_independent_of_mvn_and_expand():
    loc, mat, x = rng.normal(size=(2, 3)), _matrix("scale_tril", (3, 3)), rng.normal(size=(5, 4, 2, 3))
    d = D.Independent(D.MultivariateNormal(npg.tensor(loc), scale_tril=npg.tensor(mat)), 1)
    t = TD.Independent(TD.MultivariateNormal(torch.tensor(loc), scale_tril=torch.tensor(mat)), 1)
    assert (d.batch_shape, d.event_shape) == ((), (2, 3))
    de, te = d.expand((4,)), t.expand((4,))
    assert (de.batch_shape, de.event_shape) == (tuple(te.batch_shape), tuple(te.event_shape)) == ((4,), (2, 3))
    assert de.base_dist.batch_shape == (4, 2)
    _close(de.log_prob(npg.tensor(x)), te.log_prob(torch.tensor(x)), np.float64)
    _close(de.entropy(), te.entropy(), np.float64)


def test_independent_errors():
    base = D.Normal(npg.zeros((2, 3)), npg.ones((2, 3)))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <= len"):
        D.Independent(base, 3)
    with pytest.raises(ValueError, match="int >= 0"):
        D.Independent(base, -1)
    with pytest.raises(TypeError, match="must be a Distribution"):
        D.Independent(npg.zeros(3), 1)
    d = D.Independent(base, 1)
    with pytest.raises(ValueError, match="support"):
        d.log_prob(npg.tensor([[0.0, np.nan, 0.0], [0.0, 0.0, 0.0]]))
    with pytest.raises(NotImplementedError, match="cartesian product"):
        D.Independent(D.Bernoulli(npg.full((2,), 0.5)), 1).enumerate_support()
