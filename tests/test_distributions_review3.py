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
    q_n = D.MultivariateNormal(npg.zeros(3, dtype=np.float64), scale_tril=npg.tensor(np.eye(3) + np.tril(L, -1)))
    q_t = TD.MultivariateNormal(torch.zeros(3, dtype=torch.float64), scale_tril=torch.tensor(np.eye(3) + np.tril(L, -1)))
    for p_n, p_t, qq_n, qq_t in [(d, t, q_n, q_t), (q_n, q_t, d, t)]:
        np.testing.assert_allclose(D.kl_divergence(p_n, qq_n).data, TD.kl_divergence(p_t, qq_t).detach().numpy(),
                                   rtol=1e-9)
