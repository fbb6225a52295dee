"""NumPy / SciPy code ported to npgrad the way a scientist ports it: plain ``np.`` calls on tensors (NumPy's
dispatch), in-place writes, fancy indexing, broadcasting. Each port's value is checked against the NumPy / SciPy
original (float64, ~1e-12) and its gradient against central finite differences of that original (or torch)."""
import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sla
import scipy.optimize as so
import scipy.signal as ssig
import scipy.special as ss

import npgrad as npg
from tests.helpers import assert_close


def fd_grad(f, x, h=1e-6):
    """Central finite differences of the NumPy original ``f`` at ``x``."""
    x = np.array(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def check_port(f, x0, h=1e-6, rtol_value=1e-12, atol_grad=1e-6):
    """``f`` written once with ``np.`` calls: on an array it is the NumPy original, on a tensor the port."""
    x0 = np.array(x0, float)
    want = f(x0)
    t = npg.tensor(x0)
    got = f(t)
    assert isinstance(got, npg.Tensor) and got.dtype == np.float64
    assert_close(got.item(), want, rtol=rtol_value, atol=rtol_value)
    got.backward()
    assert_close(t.grad, fd_grad(f, x0, h), rtol=1e-6, atol=atol_grad)


# ---------------------------------------------------------------- np.zeros_like / np.ones_like on a tensor

@pytest.mark.parametrize("fn", [np.zeros_like, np.ones_like])
def test_np_zeros_like_of_a_tensor_is_a_constant_tensor_taking_numpys_keywords(fn):
    t = npg.tensor(np.arange(6.0).reshape(2, 3))
    for kw in ({}, dict(dtype=np.float32), dict(shape=(4,)), dict(order="F"), dict(subok=True)):
        r = fn(t, **kw)
        want = fn(t.data, **kw)
        assert isinstance(r, npg.Tensor) and not r.requires_grad, kw
        assert r.dtype == want.dtype and r.shape == want.shape and np.array_equal(r.data, want), kw


def test_heat_equation_filled_into_np_zeros_like():
    # u_new = np.zeros_like(u); u_new[1:-1] = ...: the buffer must take tensor values and pass their gradient
    def heat(p, steps=30):
        u, D = p[1:] * 1.0, p[0]
        for _ in range(steps):
            un = np.zeros_like(u)
            un[1:-1] = u[1:-1] + D * (u[2:] - 2 * u[1:-1] + u[:-2])
            un[0], un[-1] = un[1], un[-2]                 # no-flux ends
            u = un
        return np.sum(u ** 2 * np.linspace(0, 1, len(u)))
    check_port(heat, np.concatenate([[0.2], np.sin(np.linspace(0, 3, 20))]))


# ---------------------------------------------------------------- ufunc methods: outer, reduce, accumulate, at

_W = np.random.default_rng(7).standard_normal((4, 5))


@pytest.mark.parametrize("ufunc", [np.subtract, np.multiply, np.add, np.hypot, np.arctan2, np.maximum])
def test_binary_ufunc_outer_on_tensors(ufunc):
    # pairwise differences as np.subtract.outer(x, x): shape a.shape + b.shape, differentiable in both
    def f(p):
        return np.sum(ufunc.outer(p[:4], p[4:]) * _W)
    check_port(f, np.random.default_rng(1).uniform(0.5, 2.0, 9))
    t = npg.tensor(np.ones((2, 3)))
    assert ufunc.outer(t, np.ones(4)).shape == (2, 3, 4)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.logaddexp, np.logaddexp2])
@pytest.mark.parametrize("kw", [{}, dict(axis=1), dict(axis=-1, keepdims=True), dict(axis=None), dict(axis=(0, 1))])
def test_ufunc_reduce_on_tensors(ufunc, kw):
    # np.add.reduce's axis defaults to 0 (np.sum's to None); np.logaddexp.reduce is an HMM's forward step
    def f(p):
        return np.sum(ufunc.reduce(p.reshape(4, 5), **kw) ** 2)
    check_port(f, np.random.default_rng(2).uniform(0.5, 1.5, 20), rtol_value=1e-12)
    want = ufunc.reduce(_W, **kw)
    got = ufunc.reduce(npg.tensor(_W), **kw)
    assert isinstance(got, npg.Tensor) and got.shape == np.shape(want)
    assert_close(got.data, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum, np.logaddexp])
@pytest.mark.parametrize("kw", [{}, dict(axis=1), dict(axis=-1)])
def test_ufunc_accumulate_on_tensors(ufunc, kw):
    def f(p):
        return np.sum(ufunc.accumulate(p.reshape(4, 5), **kw) * _W)
    check_port(f, np.random.default_rng(3).uniform(0.5, 1.5, 20))
    got = ufunc.accumulate(npg.tensor(_W), **kw)
    assert_close(got.data, ufunc.accumulate(_W, **kw), rtol=1e-13, atol=1e-13)


def test_np_add_at_and_subtract_at_on_tensors():
    # the scatter-add idiom: repeated indices accumulate, as in NumPy
    idx = np.array([0, 2, 2, 5, 0, 0])
    rows, cols = np.array([0, 1, 1, 2]), np.array([3, 0, 0, 1])

    def f(p):
        out = np.zeros_like(p[:6]) * 1.0 + p[6:12]       # a buffer with a gradient of its own
        np.add.at(out, idx, p[:6] ** 2)
        np.subtract.at(out, [1, 1], 0.5 * p[12])
        grid = np.ones((3, 4)) * p[13]
        np.add.at(grid, (rows, cols), p[14:18])
        np.add.at(grid, (slice(None), 2), 1.5)
        return np.sum(out * np.arange(1.0, 7.0)) + np.sum(grid * _W[:3, :4])
    check_port(f, np.random.default_rng(4).standard_normal(18))
    t = npg.tensor(np.zeros(3), requires_grad=False)
    np.add.at(t, [0, 0, 2], np.array([1.0, 2.0, 3.0]))
    assert_close(t.data, [3.0, 0.0, 3.0])
    with pytest.raises(RuntimeError, match="add.at"):
        np.add.at(npg.tensor(np.zeros(3)), [0], 1.0)      # a leaf that requires grad refuses, as x[0] += 1


# ---------------------------------------------------------------- the ports

def test_gp_negative_log_marginal_likelihood_with_scipy_linalg():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, (30, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.1 * rng.standard_normal(30)

    def nll(theta):
        la = npg.linalg if isinstance(theta, npg.Tensor) else sla     # scipy.linalg -> npg.linalg
        ell, sf, sn = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
        d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
        K = sf ** 2 * np.exp(-0.5 * d2 / ell ** 2) + sn ** 2 * np.eye(len(y))
        L = np.linalg.cholesky(K)
        alpha = la.solve_triangular(L.T, la.solve_triangular(L, y, lower=True), lower=False)
        return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(y) * np.log(2 * np.pi)
    check_port(nll, [0.3, 0.0, -1.5])


def test_kalman_filter_log_likelihood_over_a_time_loop():
    rng = np.random.default_rng(1)
    A, H = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[1.0, 0.0]])
    Y = rng.standard_normal((25, 1)).cumsum(0)

    def loglik(p):
        Q, R = np.exp(p[0]) * np.eye(2), np.exp(p[1]) * np.eye(1)
        m, P = np.zeros(2), np.eye(2) * np.exp(p[2])
        terms = []
        for k in range(len(Y)):
            m, P = A @ m, A @ P @ A.T + Q                         # predict
            v = Y[k] - H @ m
            S = H @ P @ H.T + R
            K = np.linalg.solve(S.T, (P @ H.T).T).T               # update
            m, P = m + K @ v, P - K @ S @ K.T
            sign, logdet = np.linalg.slogdet(2 * np.pi * S)
            terms.append(-0.5 * (logdet + v @ np.linalg.solve(S, v)))
        return np.sum(np.stack(terms))
    check_port(loglik, [np.log(0.1), np.log(0.5), 0.2])


def test_lennard_jones_energy_and_forces():
    pos = np.random.default_rng(2).uniform(0, 3, (6, 3))

    def energy(x):
        P = x.reshape(-1, 3)
        i, j = np.triu_indices(len(P), k=1)
        r = np.linalg.norm(P[:, None, :] - P[None, :, :], axis=-1)[i, j]
        sr6 = (1.0 / r) ** 6
        return np.sum(4.0 * (sr6 ** 2 - sr6))
    check_port(energy, pos.ravel(), h=1e-7, atol_grad=1e-5)
    # forces = -grad E, against the pairwise analytic forces written in NumPy
    forces = -npg.func.grad(energy)(pos.ravel()).reshape(6, 3)
    d = pos[:, None, :] - pos[None, :, :]
    r2 = np.sum(d ** 2, axis=-1) + np.eye(6)
    mag = 24.0 * (2.0 / r2 ** 7 - 1.0 / r2 ** 4) * (1 - np.eye(6))
    assert_close(forces, np.einsum("ij,ijk->ik", mag, d), rtol=1e-10, atol=1e-8)


def test_gaussian_mixture_log_likelihood_with_logsumexp():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 2))

    def loglik(p):
        lse = npg.special.logsumexp if isinstance(p, npg.Tensor) else ss.logsumexp   # (a SciPy function)
        mu, log_s, logits = p[:6].reshape(3, 2), p[6:9], p[9:]
        log_w = logits - lse(logits)
        d2 = np.einsum("nkd,nkd->nk", X[:, None, :] - mu[None], X[:, None, :] - mu[None])
        lp = -0.5 * d2 / np.exp(2 * log_s) - 2 * log_s - np.log(2 * np.pi) + log_w
        return np.sum(lse(lp, axis=1))
    check_port(loglik, rng.standard_normal(12))


def test_hmm_forward_algorithm_with_logaddexp_reduce():
    rng = np.random.default_rng(4)
    obs = rng.integers(0, 3, 15)

    def loglik(p):
        logA = p[:9].reshape(3, 3)
        logA = logA - np.logaddexp.reduce(logA, axis=1, keepdims=True)
        logB = p[9:].reshape(3, 3)
        logB = logB - np.logaddexp.reduce(logB, axis=1)[:, None]
        alpha = -np.log(3.0) + logB[:, obs[0]]
        for o in obs[1:]:
            alpha = np.logaddexp.reduce(alpha[:, None] + logA, axis=0) + logB[:, o]
        return np.logaddexp.reduce(alpha)
    check_port(loglik, rng.standard_normal(18))


def test_burgers_spectral_steps_with_rfft():
    N = 32
    x = np.linspace(0, 2 * np.pi, N, endpoint=False)

    def energy(p):
        u = np.sin(x) * p[0] + np.cos(2 * x) * p[1]
        k = np.fft.rfftfreq(N, d=1.0 / N)
        for _ in range(10):
            uh = np.fft.rfft(u)
            ux, uxx = np.fft.irfft(1j * k * uh, n=N), np.fft.irfft(-(k ** 2) * uh, n=N)
            u = u + 0.01 * (-u * ux + p[2] * uxx)
        smooth = np.real(np.fft.ifft(np.fft.fft(u) * np.exp(-0.01 * np.fft.fftfreq(N, 1.0 / N) ** 2)))
        return np.sum(u ** 2) / N + np.mean(smooth ** 3)
    check_port(energy, [1.0, 0.5, 0.1])


def test_heat_equation_with_inplace_slice_updates():
    def heat(p):
        u, D = p[1:].copy(), p[0]
        for _ in range(30):
            u[1:-1] += D * (u[2:] - 2 * u[1:-1] + u[:-2])     # in place, reading the pre-write slices
            u[0], u[-1] = u[1], u[-2]
        hot = u > 0.5
        u[hot] -= 0.1 * u[hot] ** 2
        return np.sum(u ** 2 * np.linspace(0, 1, len(u)))
    check_port(heat, np.concatenate([[0.2], np.sin(np.linspace(0, 3, 20))]))


def test_ray_sphere_intersection_with_where_and_clip():
    dirs = np.random.default_rng(5).standard_normal((40, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)

    def shade(p):
        oc = np.array([0.0, 0.0, -5.0]) - p[:3]
        b = np.sum(dirs * oc, axis=1)
        disc = b ** 2 - (np.dot(oc, oc) - p[3] ** 2)
        hit = disc > 0
        t = np.where(hit, -b - np.sqrt(np.where(hit, disc, 1.0)), np.inf)
        t = np.clip(t, 0, 10.0)
        return np.sum(np.where(hit, np.exp(-t), 0.0))
    check_port(shade, [0.1, -0.2, 0.0, 4.5])


def test_logistic_regression_fitted_by_scipy_optimize_with_npgrad_gradients():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((100, 3))
    y = (rng.uniform(size=100) < 1 / (1 + np.exp(-X @ np.array([1.5, -2.0, 0.5])))).astype(float)

    def nll(w):
        z = X @ w
        return np.sum(np.logaddexp(0, z) - y * z) + 0.05 * np.sum(w ** 2)
    check_port(nll, [0.3, -0.1, 0.2])
    fit = so.minimize(npg.func.value_and_grad(nll), np.zeros(3), jac=True, method="BFGS", options=dict(gtol=1e-10))
    ref = so.minimize(nll, np.zeros(3), jac=lambda w: X.T @ (1 / (1 + np.exp(-X @ w)) - y) + 0.1 * w,
                      method="BFGS", options=dict(gtol=1e-10))
    assert fit.success and ref.success
    assert_close(fit.x, ref.x, rtol=1e-7, atol=1e-8)


def test_savitzky_golay_smoothing_and_iir_filter():
    rng = np.random.default_rng(7)
    grid = np.linspace(0, 6, 60)
    noisy = np.sin(grid) + 0.1 * rng.standard_normal(60)
    c = ssig.savgol_coeffs(9, 3)

    def loss(p):
        sig = npg.signal if isinstance(p, npg.Tensor) else ssig
        s = noisy * p[0] + p[1]
        smooth = np.convolve(s, c, mode="valid")
        filtered = sig.lfilter([0.2, 0.2], [1.0, -0.6], s)
        same = sig.convolve(s, c, mode="same")
        return np.sum((smooth - np.sin(grid)[4:-4]) ** 2) + np.sum(filtered[::3] ** 2) + np.sum(np.diff(same) ** 2)
    check_port(loss, [1.1, 0.05])


def test_logistic_growth_fit_through_odeint_and_solve_ivp():
    t = np.linspace(0, 5, 21)
    rhs = lambda y, t, r, K: r * y * (1 - y / K)
    data = si.odeint(rhs, 0.1, t, args=(1.3, 2.0), rtol=1e-11, atol=1e-12)[:, 0]

    def loss_odeint(p):
        if isinstance(p, npg.Tensor):
            sol = npg.integrate.odeint(rhs, np.array([0.1]), t, args=(p[0], p[1]), rtol=1e-11, atol=1e-12)
        else:
            sol = si.odeint(rhs, 0.1, t, args=(p[0], p[1]), rtol=1e-11, atol=1e-12)
        return np.sum((sol[:, 0] - data - 0.05) ** 2)
    check_port(loss_odeint, [1.1, 2.2], h=1e-5, rtol_value=1e-8)   # two solvers: their tolerances

    def loss_ivp(p):
        ivp = npg.integrate.solve_ivp if isinstance(p, npg.Tensor) else si.solve_ivp
        sol = ivp(lambda s, y: p[0] * y * (1 - y / p[1]), (0, 5), np.array([0.1]), t_eval=t, rtol=1e-10, atol=1e-12)
        return np.sum((sol.y[0] - data - 0.05) ** 2)
    check_port(loss_ivp, [1.1, 2.2], h=1e-5, rtol_value=1e-12)      # RK45 step for step SciPy's


def test_ufunc_methods_run_batched_under_vmap():
    import warnings
    x = np.random.default_rng(8).uniform(0.5, 1.5, (4, 3))
    f = lambda v: np.logaddexp.reduce(np.subtract.outer(v, v), axis=1).sum() + np.multiply.accumulate(v)[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # no fallback to a loop over the batch
        g = npg.func.vmap(npg.func.grad(f))(x)
    assert_close(g, np.stack([fd_grad(f, r) for r in x]), rtol=1e-6, atol=1e-7)
