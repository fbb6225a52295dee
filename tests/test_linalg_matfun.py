"""SciPy's matrix functions and matrix equations in npg.linalg (sqrtm, logm, fractional_matrix_power, signm, funm,
sinm cosm tanm sinhm coshm tanhm, solve_sylvester, solve_continuous_lyapunov / solve_lyapunov,
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


# name -> (npgrad function, scipy function)
FUNCS = {
    "sqrtm": (LA.sqrtm, sl.sqrtm),
    "logm": (LA.logm, sl.logm),
    "fmp_0.3": (lambda a: LA.fractional_matrix_power(a, 0.3), lambda a: sl.fractional_matrix_power(a, 0.3)),
    "fmp_-1.7": (lambda a: LA.fractional_matrix_power(a, -1.7), lambda a: sl.fractional_matrix_power(a, -1.7)),
    "signm": (LA.signm, sl.signm),
    "funm_exp": (lambda a: LA.funm(a, np.exp), lambda a: sl.funm(a, np.exp)),
    "funm_sin": (lambda a: LA.funm(a, np.sin), lambda a: sl.funm(a, np.sin)),
    "sinm": (LA.sinm, sl.sinm), "cosm": (LA.cosm, sl.cosm), "tanm": (LA.tanm, sl.tanm),
    "sinhm": (LA.sinhm, sl.sinhm), "coshm": (LA.coshm, sl.coshm), "tanhm": (LA.tanhm, sl.tanhm),
}
EIG_BASED = ["sqrtm", "logm", "fmp_0.3", "fmp_-1.7", "signm", "funm_exp", "funm_sin"]


def _inputs(kind, rng):
    if kind == "spd":
        return _spd(rng, 4)
    if kind == "fid":                      # the Frechet Inception Distance's product of two covariances
        return _spd(rng, 4) @ _spd(rng, 4) / 10
    if kind == "nonsym":
        return _pos_nonsym(rng, 4)
    if kind == "random":                   # complex eigenvalue pairs, maybe negative real ones
        return _rand(rng, (4, 4))
    if kind == "complex":
        return _pos_nonsym(rng, 4, cplx=True)
    if kind == "indefinite":               # symmetric with negative eigenvalues: complex sqrtm / logm
        b = _rand(rng, (4, 4))
        return b + b.T
    raise KeyError(kind)


KINDS = ["spd", "fid", "nonsym", "random", "complex", "indefinite"]


# ------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(FUNCS))
def test_values_and_dtypes_against_scipy(name, kind):
    f, sf = FUNCS[name]
    a = _inputs(kind, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sf(a)
    out = f(npg.tensor(a))
    assert out.dtype == expected.dtype, (name, kind, out.dtype, expected.dtype)
    _close(out, expected, 1e-10)


def test_logm_of_rotations_and_sqrtm_checks():
    for theta in [0.3, 1.5, 3.0]:
        r = _rotation(theta)
        out = LA.logm(r)
        _close(out, sl.logm(r))
        _close(LA.expm(out), r)
    rng = np.random.default_rng(5)
    a = _spd(rng, 6) @ _spd(rng, 6)
    x = LA.sqrtm(a).data
    _close(x @ x, a, 1e-12)


@pytest.mark.parametrize("name", list(FUNCS))
def test_float32_and_complex64_follow_scipy(name):
    f, sf = FUNCS[name]
    rng = np.random.default_rng(1)
    for a in [_spd(rng, 3).astype(np.float32), _pos_nonsym(rng, 3, cplx=True).astype(np.complex64)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = sf(a)
        out = f(npg.tensor(a))
        assert out.dtype == expected.dtype, (name, a.dtype, out.dtype, expected.dtype)
        _close(out, expected, 1e-5)


@pytest.mark.parametrize("name", list(FUNCS))
def test_batched_against_a_loop_and_small_shapes(name):
    f, sf = FUNCS[name]
    rng = np.random.default_rng(2)
    a = np.stack([np.stack([_pos_nonsym(rng, 3) for _ in range(3)]) for _ in range(2)])
    out = f(npg.tensor(a))
    expected = np.stack([np.stack([sf(m) for m in row]) for row in a])
    _close(out, expected)
    one = np.array([[2.5]])
    _close(f(npg.tensor(one)), sf(one))
    assert f(npg.tensor(np.zeros((0, 0)))).shape == (0, 0)
    assert f(npg.tensor(np.zeros((2, 0, 0)))).shape == (2, 0, 0)


def test_negative_eigenvalues_give_complex_results_as_scipy():
    for a in [np.array([[-4.0]]), np.diag([-1.0, 2.0]), np.array([[1.0, 2.0], [3.0, -4.0]])]:
        for f, sf in [(LA.sqrtm, sl.sqrtm), (LA.logm, sl.logm),
                      (lambda m: LA.fractional_matrix_power(m, 0.5), lambda m: sl.fractional_matrix_power(m, .5))]:
            out, expected = f(a), sf(a)
            assert out.dtype == expected.dtype == np.complex128
            _close(out, expected)


def test_integer_powers_and_funm_complex_function():
    rng = np.random.default_rng(3)
    a = _rand(rng, (3, 3))
    for t in [0, 1, 3, -2, 2.0]:
        _close(LA.fractional_matrix_power(a, t), sl.fractional_matrix_power(a, t))
    a = _pos_nonsym(rng, 3)
    out = LA.funm(a, lambda z: 1j * z)          # a complex function of a real matrix stays complex
    _close(out, sl.funm(a, lambda z: 1j * z))
    assert out.dtype == np.complex128
    s = _spd(rng, 3)                            # eigenvalues reach func as a complex array, as in SciPy
    out = LA.funm(-s, np.sqrt)
    _close(out, sl.funm(-s, np.sqrt))
    assert out.dtype == np.complex128
    with pytest.raises(np.linalg.LinAlgError, match="funm: the function is not defined at an eigenvalue"):
        LA.funm(s, lambda z: 1 / (z - z))


def test_deprecated_disp_and_blocksize_as_scipy():
    a = _spd(np.random.default_rng(4), 3)
    with pytest.warns(DeprecationWarning):
        x, err = LA.sqrtm(a, disp=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sx, serr = sl.sqrtm(a, disp=False)
        _close(x, sx)
        assert err < 1e-12 and abs(err - serr) < 1e-12
        lx, lerr = LA.logm(a, disp=False)
        slx, slerr = sl.logm(a, disp=False)
        assert lerr < 1e-12 and abs(lerr - slerr) < 1e-12
        _close(lx, slx)
        with pytest.warns(DeprecationWarning):
            LA.sqrtm(a, blocksize=64)
    fx, ferr = LA.funm(a, np.exp, disp=False)
    _close(fx, sl.expm(a))
    assert 0 < ferr < 1e-12


# ------------------------------------------------------------------------------------ gradients
def _loss_fd(f, a, w, h=1e-6):
    """The full gradient of L(A) = Re sum(f(A) * w) by central differences, PyTorch's convention for a complex A
    (dL/dRe + i dL/dIm)."""
    def L(x):
        return float(np.sum(np.real(np.asarray(f(npg.tensor(x)).data) * w)))
    g = np.zeros(a.shape, a.dtype)
    for idx in np.ndindex(a.shape):
        e = np.zeros(a.shape)
        e[idx] = h
        g[idx] = (L(a + e) - L(a - e)) / (2 * h)
        if np.iscomplexobj(a):
            g[idx] += 1j * (L(a + 1j * e) - L(a - 1j * e)) / (2 * h)
    return g


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(FUNCS))
def test_gradient_against_finite_differences(name, kind):
    f, _ = FUNCS[name]
    rng = np.random.default_rng(6)
    a = _inputs(kind, rng)
    if name == "tanm" or name == "tanhm":
        a = a / np.linalg.norm(a, 2)       # away from the poles of tan
    x = npg.tensor(a)
    out = f(x)
    w = _rand(rng, out.shape, out.dtype.kind == "c")
    npg.sum(npg.real(out * w) if out.dtype.kind == "c" else out * w).backward()
    assert x.grad.dtype == x.dtype
    expected = _loss_fd(f, a, w)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(FUNCS))
def test_jvp_against_finite_differences(name, kind):
    f, _ = FUNCS[name]
    rng = np.random.default_rng(7)
    a = _inputs(kind, rng)
    if name in ("tanm", "tanhm"):
        a = a / np.linalg.norm(a, 2)
    e = _rand(rng, a.shape, np.iscomplexobj(a))
    out, tangent = npg.func.jvp(f, (npg.tensor(a),), (npg.tensor(e),))
    h = 1e-6
    expected = (f(npg.tensor(a + h * e)).data - f(npg.tensor(a - h * e)).data) / (2 * h)
    assert tangent.dtype == out.dtype
    np.testing.assert_allclose(tangent.data, expected, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("name", list(FUNCS))
def test_vmap_of_values_gradients_and_jacobians(name):
    f, _ = FUNCS[name]
    rng = np.random.default_rng(8)
    a = np.stack([_pos_nonsym(rng, 3) for _ in range(3)])
    _close(npg.func.vmap(f)(npg.tensor(a)), np.stack([f(npg.tensor(m)).data for m in a]))
    w = rng.standard_normal((3, 3))

    def loss(m):
        out = f(m)
        return npg.sum((npg.real(out) if out.dtype.kind == "c" else out) * w)
    g = npg.func.vmap(npg.func.grad(loss))(npg.tensor(a))
    _close(g, np.stack([npg.func.grad(loss)(npg.tensor(m)).data for m in a]), 1e-12)
    jr = npg.func.jacrev(f)(npg.tensor(a[0]))
    jf = npg.func.jacfwd(f)(npg.tensor(a[0]))
    _close(jr, jf.data, 1e-9)


def test_sqrtm_is_differentiable_to_any_order():
    rng = np.random.default_rng(9)
    a = _pos_nonsym(rng, 3)
    w, v = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))

    def hvp(m):
        x = npg.tensor(m)
        g, = npg.autograd.grad(npg.sum(LA.sqrtm(x) * w), [x], create_graph=True)
        return float(npg.sum(g * v).data)
    x = npg.tensor(a)
    g, = npg.autograd.grad(npg.sum(LA.sqrtm(x) * w), [x], create_graph=True)
    h, = npg.autograd.grad(npg.sum(g * v), [x])
    u = rng.standard_normal((3, 3))
    eps = 1e-5
    expected = (hvp(a + eps * u) - hvp(a - eps * u)) / (2 * eps)
    np.testing.assert_allclose(float(np.sum(h.data * u)), expected, rtol=1e-6)


def test_second_derivatives_of_the_eigendecomposition_functions_raise():
    a = _spd(np.random.default_rng(10), 3)
    for f in [LA.logm, LA.signm, lambda m: LA.fractional_matrix_power(m, 0.5), lambda m: LA.funm(m, np.exp)]:
        x = npg.tensor(a)
        g, = npg.autograd.grad(npg.sum(f(x) * x), [x], create_graph=True)
        with pytest.raises(NotImplementedError, match="derivatives of order 2"):
            npg.autograd.grad(npg.sum(g), [x])
    # the gradient is still linear, and differentiable, in the cotangent
    x, w = npg.tensor(a), npg.tensor(np.ones((3, 3)))
    g, = npg.autograd.grad(npg.sum(LA.logm(x) * w), [x], create_graph=True)
    gw, = npg.autograd.grad(npg.sum(g * g), [w])
    ref = npg.tensor(a)
    g1, = npg.autograd.grad(npg.sum(LA.logm(ref) * np.ones((3, 3))), [ref])
    # d/dw sum(L*(w)^2) = 2 L(L*(w)) with L* self-adjoint for a symmetric A: compare with the JVP
    _, expected = npg.func.jvp(LA.logm, (npg.tensor(a),), (npg.tensor(g1.data),))
    _close(gw, 2 * expected.data)


# ------------------------------------------------------------------------------------ errors
DEFECTIVE = [np.array([[4.0, 1.0], [0.0, 4.0]]), 2 * np.eye(4) + np.eye(4, k=1),
             np.array([[1.0, 1e3], [0.0, 1.0 + 1e-9]]), np.array([[0.5, 1.0], [0.0, 0.5]]) + 1j * np.eye(2),
             np.array([[1.0, 1e6, 0.0], [0.0, 1.0, 1e6], [0.0, 0.0, 1.0]])]   # very non-normal
ITERATED = {k: FUNCS[k] for k in ["sqrtm", "logm", "signm", "fmp_0.3", "fmp_-1.7"]}


@pytest.mark.parametrize("i", range(len(DEFECTIVE)))
@pytest.mark.parametrize("name", list(ITERATED))
def test_defective_matrices_by_iterations_against_scipy(name, i):
    """The eigendecomposition refuses these (eigenvector condition number > 1e6): Denman-Beavers, inverse
    scaling and squaring and Newton's sign iteration compute them; derivatives by the block identity (sqrtm's
    by its Sylvester equation), against central differences of SciPy's function."""
    f, sf = ITERATED[name]
    a = DEFECTIVE[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # SciPy's own accuracy warnings on the very non-normal matrix
        expected = sf(a)
    out = f(npg.tensor(a))
    assert out.dtype == expected.dtype
    _close(out, expected, 1e-10)
    if i in (2, 4):
        return                            # derivatives of size 1e9: central differences are not an oracle
    rng = np.random.default_rng(17)
    w, e = _rand(rng, a.shape, True), _rand(rng, a.shape, np.iscomplexobj(a))
    x = npg.tensor(a)
    npg.sum(npg.real(f(x) * w)).backward()
    expected = np.zeros(a.shape, a.dtype)
    h = 1e-6
    for idx in np.ndindex(a.shape):
        d = np.zeros(a.shape)
        d[idx] = h
        expected[idx] = np.sum(np.real((sf(a + d) - sf(a - d)) * w)) / (2 * h)
        if np.iscomplexobj(a):
            expected[idx] += 1j * np.sum(np.real((sf(a + 1j * d) - sf(a - 1j * d)) * w)) / (2 * h)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-6 * max(1, np.abs(expected).max()))
    _, tangent = npg.func.jvp(f, (npg.tensor(a),), (npg.tensor(e),))
    fd = (sf(a + h * e) - sf(a - h * e)) / (2 * h)
    np.testing.assert_allclose(tangent.data, fd, rtol=1e-6, atol=1e-6 * max(1, np.abs(fd).max()))


@pytest.mark.parametrize("name", list(ITERATED))
def test_stack_mixing_defective_and_diagonalizable_matrices(name):
    """Only the refused matrices of a stack go through the iteration: a diagonalizable one with a negative
    eigenvalue beside a defective one keeps its (complex) eigendecomposition result."""
    f, sf = ITERATED[name]
    rng = np.random.default_rng(18)
    stack = np.stack([DEFECTIVE[0], np.diag([-1.0, 2.0]), _pos_nonsym(rng, 2), DEFECTIVE[1][:2, :2]])
    if name == "signm":
        stack[1] = np.diag([-1.0, 2.0]) + np.triu(np.ones((2, 2)), 1)
    out = f(npg.tensor(stack))
    expected = np.stack([sf(m) for m in stack])
    assert out.dtype == np.result_type(*[sf(m).dtype for m in stack])
    _close(out, expected, 1e-10)
    w = rng.standard_normal(stack.shape)
    g = npg.func.vmap(npg.func.grad(lambda m: npg.sum(npg.real(f(m)) * w[0])))(npg.tensor(stack))
    for i, m in enumerate(stack):
        x = npg.tensor(m)
        npg.sum(npg.real(f(x)) * w[0]).backward()
        _close(g[i].data, x.grad, 1e-12)


def test_errors_name_the_op_and_the_reason():
    jordan = np.array([[4.0, 1.0], [0.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match=r"funm: .*condition number"):
        LA.funm(jordan, np.exp)
    for name in ["sqrtm", "logm"]:           # defective at the branch cut or at 0: neither method is accurate
        for bad in [np.array([[-4.0, 1.0], [0.0, -4.0]]), np.array([[0.0, 1.0], [0.0, 0.0]])]:
            with pytest.raises(np.linalg.LinAlgError, match=rf"{name}: .*defective"):
                getattr(LA, name)(bad)
    with pytest.raises(np.linalg.LinAlgError, match="signm: .*imaginary axis"):
        LA.signm(np.array([[1e-9, 1.0, 0.0], [0.0, 1e-9, 0.0], [0.0, 0.0, 1.0]]))
    for f, name in [(LA.sqrtm, "sqrtm"), (LA.logm, "logm"), (LA.signm, "signm")]:
        with pytest.raises(np.linalg.LinAlgError, match=rf"{name}: .*square"):
            f(np.ones((2, 3)))
        with pytest.raises(ValueError, match=rf"{name}: .*infs or NaNs"):
            f(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError, match="logm: .*not defined"):
        LA.logm(np.diag([0.0, 1.0]))
    with pytest.raises(np.linalg.LinAlgError, match="fractional_matrix_power: .*not defined"):
        LA.fractional_matrix_power(np.diag([0.0, 1.0]), -0.5)
    x = npg.tensor(np.diag([0.0, 1.0]))
    with pytest.raises(np.linalg.LinAlgError, match="sqrtm: the derivative"):
        npg.sum(LA.sqrtm(x)).backward()
    with pytest.raises(TypeError, match="funm: func must be callable"):
        LA.funm(np.eye(2), 3)
    with pytest.raises(TypeError, match="fractional_matrix_power: t must"):
        LA.fractional_matrix_power(np.eye(2), npg.tensor(0.5))


def test_signm_at_the_imaginary_axis_follows_scipy_and_refuses_a_gradient():
    a = np.diag([0.0, 2.0, -3.0])
    _close(LA.signm(a), sl.signm(a))
    x = npg.tensor(a)
    with pytest.raises(np.linalg.LinAlgError, match="signm: not differentiable"):
        npg.sum(LA.signm(x)).backward()


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


def test_real_results_have_real_tangents_for_large_tangents():
    rng = np.random.default_rng(19)
    a = _pos_nonsym(rng, 3)
    e = 1e6 * rng.standard_normal((3, 3))
    for f, sf in [(lambda m: LA.funm(m, np.exp), sl.expm), (LA.logm, sl.logm)]:
        out, tangent = npg.func.jvp(f, (npg.tensor(a),), (npg.tensor(e),))
        assert out.dtype == tangent.dtype == np.float64
        h = 1e-12
        fd = (sf(a + h * e) - sf(a - h * e)) / (2 * h)
        np.testing.assert_allclose(tangent.data, fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())
