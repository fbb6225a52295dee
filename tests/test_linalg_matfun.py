"""SciPy's matrix equations in npg.linalg (solve_sylvester, solve_continuous_lyapunov / solve_lyapunov,
solve_discrete_lyapunov): values and dtypes against scipy.linalg (real, complex, float32, batched against a loop,
0x0 and 1x1), gradients and JVPs against central finite differences (torch has none of these functions; for the
equations a Kronecker-product torch spelling is an exact oracle too), vmap against a loop, and the errors.
The op table (tests/test_ops_table.py) covers the equations and the trigonometric functions too."""
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
import torch

import npgrad as npg
from tests.test_ops_table import _t_discrete_lyapunov as t_discrete, _t_sylvester as t_sylvester

LA = npg.linalg


def _rand(rng, shape, cplx=False):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if cplx else x


def _spd(rng, n, batch=()):
    b = rng.standard_normal(batch + (n, n))
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)


def _pos_nonsym(rng, n, cplx=False):
    """A non-symmetric matrix with eigenvalues in the right half plane, off the negative real axis."""
    return 3 * np.eye(n) + 0.7 * _rand(rng, (n, n), cplx)


def _rotation(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _close(actual, expected, rtol=1e-10):
    actual = np.asarray(getattr(actual, "data", actual))
    expected = np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected), initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# ------------------------------------------------------------------------------------ matrix equations
def t_lyapunov(a, q):
    return t_sylvester(a, a.mH, q)


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("n,m", [(3, 4), (1, 1), (50, 40)])   # (50, 40): by eigendecompositions
def test_sylvester_against_scipy(n, m, cplx):
    rng = np.random.default_rng(11)
    a, b, q = _rand(rng, (n, n), cplx), _rand(rng, (m, m), cplx), _rand(rng, (n, m), cplx)
    out = LA.solve_sylvester(a, b, q)
    expected = sl.solve_sylvester(a, b, q)
    assert out.dtype == expected.dtype
    _close(out, expected, 1e-9)
    np.testing.assert_allclose(a @ out.data + out.data @ b, q, atol=1e-9)


def test_sylvester_dtypes_batches_and_empty():
    rng = np.random.default_rng(12)
    a32, b32, q32 = (rng.standard_normal(s).astype(np.float32) for s in [(3, 3), (2, 2), (3, 2)])
    out = LA.solve_sylvester(a32, b32, q32)
    assert out.dtype == sl.solve_sylvester(a32, b32, q32).dtype == np.float32
    _close(out, sl.solve_sylvester(a32, b32, q32), 1e-4)
    a, b, q = _rand(rng, (2, 1, 3, 3)), _rand(rng, (4, 2, 2)), _rand(rng, (3, 2))
    out = LA.solve_sylvester(a, b, q)
    assert out.shape == (2, 4, 3, 2)
    _close(out, [[sl.solve_sylvester(a[i, 0], b[j], q) for j in range(4)] for i in range(2)])
    assert LA.solve_sylvester(np.zeros((0, 0)), np.eye(2), np.zeros((0, 2))).shape == (0, 2)
    _close(LA.solve_continuous_lyapunov(a32[:2, :2], q32[:2, :2]),
           sl.solve_continuous_lyapunov(a32[:2, :2], q32[:2, :2]), 1e-4)
    assert LA.solve_continuous_lyapunov(a32, a32).dtype == np.float32
    assert LA.solve_discrete_lyapunov(a32 / 4, a32).dtype == sl.solve_discrete_lyapunov(a32 / 4, a32).dtype


@pytest.mark.parametrize("cplx", [False, True])
def test_lyapunov_against_scipy(cplx):
    rng = np.random.default_rng(13)
    for n in [1, 3, 12]:
        a, q = _rand(rng, (n, n), cplx) / (2 * np.sqrt(n)), _rand(rng, (n, n), cplx)
        _close(LA.solve_continuous_lyapunov(a, q), sl.solve_continuous_lyapunov(a, q), 1e-9)
        _close(LA.solve_lyapunov(a, q), sl.solve_lyapunov(a, q), 1e-9)
        for method in [None, "direct", "bilinear"]:
            _close(LA.solve_discrete_lyapunov(a, q, method), sl.solve_discrete_lyapunov(a, q, method), 1e-9)
    a, q = _rand(rng, (2, 3, 3)) / 3, _rand(rng, (3, 3))
    for method in ["direct", "bilinear"]:
        _close(LA.solve_discrete_lyapunov(a, q, method), [sl.solve_discrete_lyapunov(m, q, method) for m in a])
    _close(LA.solve_continuous_lyapunov(a, q), [sl.solve_continuous_lyapunov(m, q) for m in a])


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shapes", [[(3, 3), (2, 2), (3, 2)], [(2, 3, 3), (1, 2, 2), (3, 2)], [(4, 4), (4, 4), (4, 4)]])
def test_sylvester_gradients_against_torch_kronecker(shapes, dtype):
    rng = np.random.default_rng(14)
    arrays = [_rand(rng, s, dtype == np.complex128) + (3 * np.eye(s[-1]) if i < 2 else 0)
              for i, s in enumerate(shapes)]
    xs = [npg.tensor(x) for x in arrays]
    ts = [torch.tensor(x, requires_grad=True) for x in arrays]
    out, tout = LA.solve_sylvester(*xs), t_sylvester(*ts)
    _close(out, tout.detach().numpy())
    w = _rand(rng, out.shape, dtype == np.complex128)
    npg.sum(npg.real(out * w)).backward()
    torch.real(tout * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        _close(x.grad, t.grad.numpy())


def test_sylvester_higher_order_and_jvp():
    from tests.test_higher_order import higher_order
    rng = np.random.default_rng(15)
    arrays = [rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((2, 2)) + 3 * np.eye(2),
              rng.standard_normal((3, 2))]
    higher_order(LA.solve_sylvester, t_sylvester, arrays, order=3, what="solve_sylvester")
    higher_order(LA.solve_continuous_lyapunov, t_lyapunov, [arrays[0], arrays[0].T], order=2, what="lyapunov")
    higher_order(lambda a, q: LA.solve_discrete_lyapunov(a, q, "bilinear"), t_discrete, [arrays[0] / 5, arrays[0]],
                 order=2, what="discrete bilinear")
    tangents = [rng.standard_normal(x.shape) for x in arrays]
    _, tangent = npg.func.jvp(LA.solve_sylvester, tuple(npg.tensor(x) for x in arrays),
                              tuple(npg.tensor(t) for t in tangents))
    _, expected = torch.func.jvp(t_sylvester, tuple(torch.tensor(x) for x in arrays),
                                 tuple(torch.tensor(t) for t in tangents))
    _close(tangent, expected.numpy())


def test_sylvester_vmap_against_a_loop():
    rng = np.random.default_rng(16)
    a, b, q = _rand(rng, (4, 3, 3)), _rand(rng, (2, 2)), _rand(rng, (4, 3, 2))
    out = npg.func.vmap(LA.solve_sylvester, in_dims=(0, None, 0))(npg.tensor(a), npg.tensor(b), npg.tensor(q))
    _close(out, [sl.solve_sylvester(a[i], b, q[i]) for i in range(4)])
    qb = _rand(rng, (5, 2, 3, 2))          # a batched q with its own stack dimension, a and b shared
    out = npg.func.vmap(LA.solve_sylvester, in_dims=(None, None, 0))(npg.tensor(a), npg.tensor(b),
                                                                        npg.tensor(qb[:, 0, None]))
    assert out.shape == (5, 4, 3, 2)
    _close(out[1, 2], sl.solve_sylvester(a[2], b, qb[1, 0]))
    out = npg.func.vmap(LA.solve_discrete_lyapunov)(npg.tensor(a / 3), npg.tensor(a))
    _close(out, [sl.solve_discrete_lyapunov(m / 3, m) for m in a])


def test_equation_errors():
    with pytest.raises(np.linalg.LinAlgError, match="solve_sylvester: singular equation"):
        LA.solve_sylvester(np.array([[1.0]]), np.array([[-1.0]]), np.array([[1.0]]))
    jordan = 2 * np.eye(50) + np.eye(50, k=1)    # too large for the Kronecker system, defective: refused
    with pytest.raises(np.linalg.LinAlgError, match="solve_sylvester: .*condition number"):
        LA.solve_sylvester(jordan, np.eye(40), np.ones((50, 40)))
    with pytest.raises(ValueError, match=r"solve_sylvester: q must be \(3, 2\)"):
        LA.solve_sylvester(np.eye(3), np.eye(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match="solve_sylvester: the batch dimensions"):
        LA.solve_sylvester(np.ones((2, 3, 3)), np.eye(2), np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="solve_sylvester: array must not contain infs or NaNs"):
        LA.solve_sylvester(np.eye(2), np.eye(2), np.full((2, 2), np.nan))
    with pytest.raises(np.linalg.LinAlgError, match="solve_sylvester: .*square"):
        LA.solve_sylvester(np.ones((2, 3)), np.eye(2), np.ones((2, 2)))
    with pytest.raises(ValueError, match="solve_discrete_lyapunov: unknown method 'fast'"):
        LA.solve_discrete_lyapunov(np.eye(2) / 2, np.eye(2), method="fast")
    with pytest.raises(np.linalg.LinAlgError, match="solve_discrete_lyapunov: singular"):
        LA.solve_discrete_lyapunov(np.eye(2), np.eye(2), method="direct")
    with pytest.raises(np.linalg.LinAlgError, match="solve_discrete_lyapunov: method='bilinear' needs"):
        LA.solve_discrete_lyapunov(-np.eye(2), np.eye(2), method="bilinear")
