"""npg.linalg against torch.linalg (values, gradients, second derivatives, float32 and float64,
batched and size-0 shapes), finite differences, degenerate points and errors.

Eigenvectors and singular vectors are defined up to sign, so those cases compare gauge-invariant
functions of them (squares of their entries, the reconstruction), as PyTorch's own tests do.
Functions that read one triangle (eigh, cholesky) get symmetric inputs; their finite-difference
checks symmetrize inside the function.
"""
from typing import Callable, NamedTuple

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import check_finite_difference
from tests.test_higher_order import higher_order
from tests.test_ops_table import _t_lu_solve, _t_tri

LA, TLA = npg.linalg, torch.linalg
TOL = {np.float32: dict(rtol=2e-3, atol=2e-4), np.float64: dict(rtol=1e-7, atol=1e-9)}


# ------------------------------------------------------------------------------- inputs
def general(*shape):
    return lambda rng: rng.standard_normal(shape)


def wellcond(*shape):  # square, away from singular
    return lambda rng: rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def spd(*shape):       # symmetric positive definite, distinct eigenvalues (almost surely)
    def make(rng):
        a = rng.standard_normal(shape)
        return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
    return make


def sym(*shape):       # symmetric, spread-out eigenvalues
    def make(rng):
        q = np.linalg.qr(rng.standard_normal(shape))[0]
        w = np.arange(1, shape[-1] + 1) * 1.5 - 2 + 0.3 * rng.random(shape[:-1])
        return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    return make


def spread(*shape):    # a matrix with well-separated singular values
    def make(rng):
        m, n = shape[-2:]
        k = min(m, n)
        u = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, m)))[0][..., :k]
        v = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))[0][..., :k]
        s = np.arange(k, 0, -1) * 1.3 + 0.2 * rng.random(shape[:-2] + (k,))
        return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)
    return make


class Case(NamedTuple):
    name: str
    fn: Callable
    tfn: Callable
    inputs: tuple       # makers: rng -> float64 array
    fd: bool = True     # finite-difference check


def _sq(x):
    return x * x


def _cat(outs, lib, nbatch):
    """The outputs flattened past their ``nbatch`` batch dims and joined (one tensor to compare)."""
    flat = [o.reshape(tuple(o.shape[:nbatch]) + (int(np.prod(o.shape[nbatch:])),)) for o in outs]
    return npg.concatenate(flat, axis=-1) if lib is npg else torch.cat(flat, -1)


def _eigh_inv(lib):    # eigenvalues, squared eigenvector entries, and V diag(w) V^T
    def f(a, UPLO="L"):
        w, V = LA.eigh(a, UPLO) if lib is npg else TLA.eigh(a, UPLO)
        return _cat([w, _sq(V), (V * w[..., None, :]) @ V.swapaxes(-1, -2) if lib is npg else
                     (V * w[..., None, :]) @ V.mT], lib, a.ndim - 2)
    return f


def _svd_inv(lib, full):
    def f(a):
        U, S, Vh = LA.svd(a, full_matrices=full) if lib is npg else TLA.svd(a, full_matrices=full)
        k = S.shape[-1]
        u, vh = U[..., :, :k], Vh[..., :k, :]
        return _cat([S, _sq(u), _sq(vh), (u * S[..., None, :]) @ vh, u @ vh], lib, a.ndim - 2)
    return f


def eigmat(*shape):    # general real matrices with well-separated eigenvalues, a complex pair when n > 2
    def make(rng):
        n = shape[-1]
        rot = np.zeros(shape)
        if n > 2:
            rot[..., 0, 1], rot[..., 1, 0] = 1.5, -1.5
        return rng.standard_normal(shape) * 0.3 + np.diag(np.arange(n) * 1.7) + rot
    return make


def _eig_inv(lib):    # eigenvalues (real and imaginary parts), |V|^2, V diag(L^2) V^-1: phase-invariant
    def f(a):
        L, V = LA.eig(a) if lib is npg else TLA.eig(a)
        M = (V * (L * L)[..., None, :]) @ (LA.inv(V) if lib is npg else TLA.inv(V))
        re, im = (npg.real, npg.imag) if lib is npg else (torch.real, torch.imag)
        parts = [re(L), im(L) if L.dtype.kind == "c" else L * 0] if lib is npg else [L.real, L.imag]
        return _cat(parts + [abs(V) ** 2, re(M)], lib, a.ndim - 2)
    return f


def _eigvals_ri(lib):
    def f(a):
        L = LA.eigvals(a) if lib is npg else TLA.eigvals(a)
        if lib is npg:
            return npg.concatenate([npg.real(L), npg.imag(L) if L.dtype.kind == "c" else L * 0], axis=-1)
        return torch.cat([L.real, L.imag], -1)
    return f


def _qr(lib, mode):
    def f(a):
        q, r = LA.qr(a, mode) if lib is npg else TLA.qr(a, mode)
        return _cat([q, r], lib, a.ndim - 2)
    return f


def _t_solve(a, b):  # NumPy 2 semantics: b is a vector only when 1-D
    return TLA.solve(a, b.unsqueeze(-1)).squeeze(-1) if b.ndim == 1 else TLA.solve(a, b)


def _t_lstsq(a, b):
    x = TLA.lstsq(a, b if b.ndim == 2 else b[:, None], driver="gelsd").solution
    if a.shape[0] <= a.shape[1]:  # NumPy gives no residuals then
        return x.reshape(-1)
    res = ((a @ x - (b if b.ndim == 2 else b[:, None])) ** 2).sum(0)
    return torch.cat([x.reshape(-1), res])


def _n_lstsq(a, b):
    x, res, rank, s = LA.lstsq(a, b)
    return npg.concatenate([x.reshape(-1), res])


def _t_trace(x, offset=0):
    return torch.diagonal(x, offset, -2, -1).sum(-1)


CASES = []


def add(name, fn, tfn, *input_lists, fd=True):
    for inputs in input_lists:
        CASES.append(Case(name, fn, tfn, tuple(inputs), fd))


add("det", LA.det, TLA.det, [wellcond(3, 3)], [general(2, 4, 4)], [wellcond(1, 1)], [general(0, 3, 3)],
    [general(2, 0, 0)])
add("slogdet", lambda a: LA.slogdet(a).logabsdet, lambda a: TLA.slogdet(a)[1], [general(4, 4)], [general(2, 3, 3)],
    [general(0, 2, 2)])
add("inv", LA.inv, TLA.inv, [wellcond(3, 3)], [wellcond(2, 3, 4, 4)], [wellcond(0, 2, 2)], [general(0, 0)])
add("solve", LA.solve, _t_solve, [wellcond(3, 3), general(3, 2)], [wellcond(2, 3, 3), general(3)],
    [wellcond(2, 1, 3, 3), general(4, 3, 2)], [wellcond(4, 4), general(2, 4, 1)], [wellcond(0, 3, 3), general(3)])
add("cholesky", LA.cholesky, TLA.cholesky, [spd(4, 4)], [spd(2, 3, 3)], [spd(0, 2, 2)])
add("cholesky_upper", lambda a: LA.cholesky(a, upper=True), lambda a: TLA.cholesky(a, upper=True), [spd(3, 3)])
add("pinv", LA.pinv, TLA.pinv, [spread(3, 5)], [spread(5, 3)], [spread(2, 4, 4)])
add("lstsq", _n_lstsq, _t_lstsq, [spread(5, 3), general(5)], [spread(6, 2), general(6, 3)],
    [spread(3, 4), general(3, 2)])
add("eigh", _eigh_inv(npg), _eigh_inv(torch), [sym(4, 4)], [sym(2, 3, 3)], [sym(0, 3, 3)])
add("eigh_U", lambda a: _eigh_inv(npg)(a, "U"), lambda a: _eigh_inv(torch)(a, "U"), [sym(3, 3)])
add("eigvalsh", LA.eigvalsh, TLA.eigvalsh, [sym(4, 4)], [sym(2, 3, 3)])
add("eig", _eig_inv(npg), _eig_inv(torch), [eigmat(3, 3)], [eigmat(2, 4, 4)], [eigmat(2, 2)], [eigmat(0, 3, 3)],
    [sym(3, 3)])   # (a symmetric matrix: NumPy's eigenvalues and eigenvectors are real)
add("eigvals", _eigvals_ri(npg), _eigvals_ri(torch), [eigmat(4, 4)], [eigmat(2, 3, 3)], [sym(3, 3)])
for full in (False, True):
    add(f"svd_full={full}", _svd_inv(npg, full), _svd_inv(torch, full), [spread(4, 4)], [spread(5, 3)],
        [spread(2, 3, 5)], [spread(0, 3, 2)])
add("svdvals", LA.svdvals, TLA.svdvals, [spread(4, 3)], [spread(2, 2, 5)])
add("svd_compute_uv=False", lambda a: LA.svd(a, compute_uv=False), TLA.svdvals, [spread(3, 3)])
for mode in ("reduced", "complete"):
    add(f"qr_{mode}", _qr(npg, mode), _qr(torch, mode), [wellcond(3, 3)], [spread(2, 3, 5)])
add("qr_reduced", _qr(npg, "reduced"), _qr(torch, "reduced"), [spread(5, 3)])
add("qr_r", lambda a: LA.qr(a, "r"), lambda a: TLA.qr(a)[1], [spread(3, 3)], [spread(4, 2)])  # torch's 'r': no grad
for n in (0, 1, 2, 3, 5, -1, -3):
    add(f"matrix_power_{n}", lambda a, n=n: LA.matrix_power(a, n), lambda a, n=n: TLA.matrix_power(a, n),
        [wellcond(3, 3)], [wellcond(2, 2, 2)])
add("multi_dot", lambda *a: LA.multi_dot(a), lambda *a: TLA.multi_dot(a),
    [general(3, 4), general(4, 6), general(6, 2), general(2, 5)], [general(4), general(4, 3), general(3)],
    [general(2, 3), general(3, 3), general(3)])
add("tensorinv", lambda a: LA.tensorinv(a, ind=1), lambda a: TLA.tensorinv(a, ind=1), [wellcond(4, 4)])
add("tensorinv", LA.tensorinv, TLA.tensorinv, [lambda rng: wellcond(6, 6)(rng).reshape(3, 2, 6)])
add("tensorsolve", LA.tensorsolve, TLA.tensorsolve, [lambda rng: wellcond(6, 6)(rng).reshape(2, 3, 6), general(2, 3)])
add("tensorsolve_axes", lambda a, b: LA.tensorsolve(a, b, axes=(0,)),
    lambda a, b: TLA.tensorsolve(a, b, dims=(0,)), [lambda rng: wellcond(6, 6)(rng).reshape(6, 2, 3), general(2, 3)])

# scipy.linalg's (direct tests: tests/test_linalg_scipy.py; _t_tri, _t_lu_solve: torch spelled as SciPy)
add("solve_triangular", LA.solve_triangular, _t_tri, [wellcond(3, 3), general(3, 2)], [wellcond(2, 3, 3), general(3)])
add("solve_triangular_lower_C_unit", lambda a, b: LA.solve_triangular(a, b, 2, lower=True, unit_diagonal=True),
    lambda a, b: _t_tri(a, b, True, 1, True), [wellcond(2, 3, 3), general(1, 3, 2)])
add("cho_solve", lambda a, b: LA.cho_solve(LA.cho_factor(a), b),
    lambda a, b: torch.cholesky_solve(b, TLA.cholesky(a, upper=True), upper=True), [spd(2, 3, 3), general(3, 2)])
add("expm", LA.expm, TLA.matrix_exp, [general(3, 3)], [general(2, 4, 4)], [general(0, 2, 2)], [general(1, 1)],
    [lambda rng: 3 * rng.standard_normal((3, 3))])
add("lu_factor", lambda a: LA.lu_factor(a)[0], lambda a: TLA.lu_factor(a)[0], [general(4, 4)], [general(2, 3, 5)],
    [general(5, 3)], [general(0, 2, 2)])
add("lu", lambda a: _cat(LA.lu(a)[1:], npg, a.ndim - 2), lambda a: _cat(TLA.lu(a)[1:], torch, a.ndim - 2),
    [general(3, 3)], [general(2, 3, 4)], [general(4, 2)])
add("lu_solve", lambda a, b: LA.lu_solve(LA.lu_factor(a), b), _t_lu_solve, [wellcond(3, 3), general(3, 2)],
    [wellcond(2, 3, 3), general(3)])
add("block_diag", LA.block_diag, torch.block_diag, [general(2, 3), general(1), general(), general(3, 1)])

# norms: every ord / axis form
VEC_ORDS = [2, 1, 0, np.inf, -np.inf, 3, 1.5, 0.5, -1]
for ord in VEC_ORDS:
    add(f"vector_norm_{ord}", lambda x, o=ord: LA.vector_norm(x, ord=o),
        lambda x, o=ord: TLA.vector_norm(x, ord=o), [general(5)], [general(2, 3)], fd=ord != 0)
    add(f"vector_norm_{ord}_axis", lambda x, o=ord: LA.vector_norm(x, ord=o, axis=(0, -1), keepdims=True),
        lambda x, o=ord: TLA.vector_norm(x, ord=o, dim=(0, -1), keepdim=True), [general(2, 3, 4)], fd=ord != 0)
    add(f"norm_vec_{ord}", lambda x, o=ord: LA.norm(x, o, axis=1), lambda x, o=ord: TLA.vector_norm(x, o, dim=1),
        [general(3, 4)], fd=ord != 0)
add("vector_norm_0d", LA.vector_norm, TLA.vector_norm, [general()])
add("vector_norm_empty", lambda x: LA.vector_norm(x, axis=1), lambda x: TLA.vector_norm(x, dim=1), [general(0, 3)],
    [general(2, 0)])
MAT_ORDS = ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]
for ord in MAT_ORDS:
    add(f"matrix_norm_{ord}", lambda x, o=ord: LA.matrix_norm(x, ord=o), lambda x, o=ord: TLA.matrix_norm(x, ord=o),
        [spread(3, 4)], [spread(2, 4, 3)])
    add(f"norm_mat_{ord}", lambda x, o=ord: LA.norm(x, o, axis=(2, 0), keepdims=True),
        lambda x, o=ord: TLA.matrix_norm(x, o, dim=(2, 0), keepdim=True), [general(3, 2, 4)])
    add(f"norm_2d_{ord}", lambda x, o=ord: LA.norm(x, o), lambda x, o=ord: TLA.matrix_norm(x, o), [spread(3, 3)])
add("norm_default", LA.norm, lambda x: TLA.vector_norm(x), [general(2, 3, 4)], [general(0, 2)])
add("norm_default_keepdims", lambda x: LA.norm(x, keepdims=True),
    lambda x: TLA.vector_norm(x, dim=(0, 1), keepdim=True), [general(2, 3)])
add("norm_1d", lambda x: LA.norm(x, 1), lambda x: TLA.vector_norm(x, 1), [general(4)])

# NumPy 2 aliases
add("vecdot", LA.vecdot, TLA.vecdot, [general(2, 3), general(3)], [general(4, 1, 3), general(2, 3)])
add("vecdot_axis", lambda a, b: LA.vecdot(a, b, axis=0), lambda a, b: TLA.vecdot(a, b, dim=0),
    [general(3, 2), general(3, 2)])
add("cross", LA.cross, TLA.cross, [general(2, 3), general(1, 3)])
add("diagonal", LA.diagonal, TLA.diagonal, [general(3, 4)], [general(2, 4, 3)])
add("diagonal_offset", lambda x: LA.diagonal(x, offset=1), lambda x: TLA.diagonal(x, offset=1), [general(2, 3, 4)])
add("diagonal_offset", lambda x: LA.diagonal(x, offset=-2), lambda x: TLA.diagonal(x, offset=-2), [general(4, 3)])
add("trace", LA.trace, _t_trace, [general(2, 3, 3)], [general(3, 4)])
add("trace_offset", lambda x: LA.trace(x, offset=1), lambda x: _t_trace(x, 1), [general(3, 4)])
add("matrix_transpose", LA.matrix_transpose, lambda x: x.mT, [general(2, 3, 4)])
add("outer", LA.outer, torch.outer, [general(3), general(4)])
add("matmul", LA.matmul, TLA.matmul, [general(2, 3, 4), general(4, 2)])
add("tensordot", lambda a, b: LA.tensordot(a, b, axes=1), lambda a, b: torch.tensordot(a, b, 1),
    [general(2, 3), general(3, 4)])

PARAMS = [pytest.param(c, id=f"{c.name}-{'|'.join(str(i) for i in range(len(c.inputs)))}-{k}")
          for k, c in enumerate(CASES)]


def make(case, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [np.asarray(m(rng), dtype=dtype) for m in case.inputs]


def _close(actual, expected, dtype, what):
    actual = np.asarray(getattr(actual, "data", actual))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0)))
    tol = TOL[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=what)


# ------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", PARAMS)
def test_against_torch(case, dtype):
    arrays = make(case, dtype)
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = case.fn(*xs), case.tfn(*ts)
    assert out.dtype == dtype, f"{case.name}: dtype {out.dtype}"
    _close(out, tout.detach().numpy(), dtype, f"{case.name} value")
    if not tout.requires_grad:
        assert not out.requires_grad
        return
    w = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = np.zeros(t.shape, dtype) if t.grad is None else t.grad.numpy()
        assert x.grad is not None and x.grad.dtype == dtype, f"{case.name}: grad of input {i}"
        _close(x.grad, expected, dtype, f"{case.name} grad of input {i}")


@pytest.mark.parametrize("case", [p for p, c in zip(PARAMS, CASES) if c.fd])
def test_finite_difference(case):
    arrays = make(case, np.float64, seed=2)
    fn = case.fn
    if case.name not in ("eig", "eigvals") and any(m.__qualname__.startswith(("spd", "sym")) for m in case.inputs):
        # read one triangle: symmetrize
        fn = lambda a, *rest: case.fn((a + a.swapaxes(-1, -2)) / 2, *rest)  # noqa: E731
    check_finite_difference(fn, arrays, eps=1e-6, rtol=1e-5, atol=1e-6, what=case.name)


@pytest.mark.parametrize("case", PARAMS)
def test_second_order_against_torch(case):
    """Hessian-vector products (every VJP is differentiable) match torch's create_graph=True."""
    arrays = make(case, np.float64, seed=3)
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = case.fn(*xs), case.tfn(*ts)
    if not tout.requires_grad:
        return
    rng = np.random.default_rng(4)
    w = rng.standard_normal(out.shape)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    gs = npg.autograd.grad(npg.sum(npg.tanh(out) * w), xs, create_graph=True, allow_unused=True)
    tgs = torch.autograd.grad((torch.tanh(tout) * torch.tensor(w)).sum(), ts, create_graph=True, allow_unused=True)
    s = [npg.sum(g * v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    ts2 = [(tg * torch.tensor(v)).sum() for tg, v in zip(tgs, vs) if tg is not None and tg.requires_grad]
    if not ts2:  # torch's gradient is constant: npgrad's second derivative, if recorded, is zero
        for h in (npg.autograd.grad(sum(s[1:], s[0]), xs, allow_unused=True) if s else []):
            assert h is None or not np.any(h.data)
        return
    hs = npg.autograd.grad(sum(s[1:], s[0]), xs, allow_unused=True)
    ths = torch.autograd.grad(sum(ts2[1:], ts2[0]), ts, allow_unused=True)
    for h, th, a in zip(hs, ths, arrays):
        expected = np.zeros(a.shape) if th is None else th.numpy()
        _close(np.zeros(a.shape) if h is None else h, expected, np.float64, f"{case.name} second order")


# ---------------------------------------------------------------------- degenerate points
def _grads_both(fn, tfn, a, create_graph=False):
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    w = np.random.default_rng(7).standard_normal(np.shape(fn(npg.tensor(a)).data))
    g, = npg.autograd.grad(npg.sum(fn(x) * w), [x])
    tout = (tfn(t) * torch.tensor(w)).sum()
    tg, = torch.autograd.grad(tout, [t], create_graph=create_graph, allow_unused=True) if tout.requires_grad else [None]
    return g.data, np.zeros_like(a) if tg is None else tg.detach().numpy()


@pytest.mark.parametrize("ord", [2, 1, np.inf, -np.inf, 3, 1.5, 0.5, 0])
def test_vector_norm_of_zero_vector_has_pytorch_subgradient(ord):
    for a in (np.zeros(4), np.zeros((2, 3))):
        g, tg = _grads_both(lambda x: LA.vector_norm(x, ord=ord), lambda t: TLA.vector_norm(t, ord=ord), a)
        np.testing.assert_array_equal(g, tg)
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("ord", [np.inf, -np.inf])
def test_max_norm_ties_split_the_gradient_evenly(ord):
    a = np.array([[1.0, -3.0, 3.0, 2.0], [-1.0, 1.0, 0.5, -0.5]])
    g, tg = _grads_both(lambda x: LA.norm(x, ord, axis=1), lambda t: TLA.vector_norm(t, ord, dim=1), a)
    np.testing.assert_allclose(g, tg)
    g, tg = _grads_both(lambda x: LA.matrix_norm(x, ord=ord), lambda t: TLA.matrix_norm(t, ord=ord),
                        np.array([[1.0, -2.0], [2.0, 1.0]]))
    np.testing.assert_allclose(g, tg)


@pytest.mark.parametrize("a", [np.eye(3), np.diag([2.0, 2.0, 5.0]), np.diag([1.0, 3.0, 3.0, 3.0])])
def test_repeated_eigenvalues_and_singular_values_values_only_is_finite(a):
    """PyTorch: the gradient of eigenvalues / singular values alone is finite at repeated values."""
    for fn, tfn in [(LA.eigvalsh, TLA.eigvalsh), (lambda x: LA.eigh(x).eigenvalues, lambda t: TLA.eigh(t)[0]),
                    (LA.svdvals, TLA.svdvals), (lambda x: LA.svd(x).S, lambda t: TLA.svd(t)[1]),
                    (lambda x: LA.norm(x, "nuc"), lambda t: TLA.matrix_norm(t, "nuc")),
                    (lambda x: LA.norm(x, 2), lambda t: TLA.matrix_norm(t, 2))]:
        g, tg = _grads_both(fn, tfn, a)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, tg, atol=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning", "ignore:divide by zero:RuntimeWarning")
def test_repeated_eigenvalues_eigenvector_loss_is_not_finite_as_in_pytorch():
    a = np.diag([1.0, 2.0, 2.0])
    g, tg = _grads_both(lambda x: _sq(LA.eigh(x).eigenvectors), lambda t: _sq(TLA.eigh(t)[1]), a)
    assert not np.all(np.isfinite(tg)) and not np.all(np.isfinite(g))
    g, tg = _grads_both(lambda x: _sq(LA.svd(x).U), lambda t: _sq(TLA.svd(t)[0]), np.eye(3))
    assert not np.all(np.isfinite(tg)) and not np.all(np.isfinite(g))


@pytest.mark.parametrize("a", [np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]),
                               np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 0]]), np.zeros((2, 2))])
def test_det_gradient_at_singular_matrices_is_the_adjugate(a):
    """d det / dA = adj(A)^T, also where A is singular (PyTorch's create_graph path computes it from the SVD;
    its plain path gives 0 when an LU pivot is exactly 0)."""
    g, tg = _grads_both(LA.det, TLA.det, a, create_graph=True)
    n = a.shape[0]
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(n)]
                    for i in range(n)])
    w = np.random.default_rng(7).standard_normal(())
    np.testing.assert_allclose(g, w * cof, atol=1e-12)
    np.testing.assert_allclose(g, tg, atol=1e-12)
    if np.linalg.matrix_rank(a) < n - 1:
        return  # the second derivative goes through the SVD's vectors at a repeated 0: not finite in torch
    # differentiable again there (second order against torch)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    gx, = npg.autograd.grad(LA.det(x), [x], create_graph=True)
    tgx, = torch.autograd.grad(TLA.det(t), [t], create_graph=True)
    h, = npg.autograd.grad(npg.sum(gx * a[::-1]), [x])
    th, = torch.autograd.grad((tgx * torch.tensor(a[::-1].copy())).sum(), [t])
    np.testing.assert_allclose(h.data, th.numpy(), atol=1e-10)


def test_batch_with_one_singular_matrix():
    a = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[2.0, 1.0], [0.0, 3.0]])])
    g, tg = _grads_both(LA.det, TLA.det, a, create_graph=True)
    np.testing.assert_allclose(g, tg, atol=1e-12)


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name,call", [
    ("inv", lambda a: LA.inv(a)), ("solve", lambda a: LA.solve(a, np.ones(2))),
    ("cholesky", lambda a: LA.cholesky(a)), ("inv", lambda a: np.linalg.inv(a)),
    ("tensorinv", lambda a: LA.tensorinv(a, ind=1))])
def test_singular_or_indefinite_matrix_raises_naming_the_op(name, call):
    a = npg.tensor([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match=rf"{name}: .*\(2, 2\)"):
        call(a)


@pytest.mark.parametrize("fn", [LA.det, LA.inv, LA.cholesky, LA.eigh, LA.eigvalsh, lambda a: LA.slogdet(a),
                                lambda a: LA.solve(a, np.ones(2)), lambda a: LA.matrix_power(a, 2)])
def test_non_square_raises_naming_the_op_and_shape(fn):
    with pytest.raises(np.linalg.LinAlgError, match=r"square.*\(2, 3\)"):
        fn(npg.ones((2, 3)))


def test_other_errors():
    with pytest.raises(np.linalg.LinAlgError, match="at least two-dimensional"):
        LA.det(npg.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match="lstsq: a must be 2-D"):
        LA.lstsq(npg.ones((2, 3, 3)), npg.ones((2, 3)))
    with pytest.raises(ValueError, match="solve: a of shape"):
        LA.solve(npg.ones((2, 3, 3)), npg.ones((2, 3)))   # NumPy 2: a 2-D b is a matrix
    with pytest.raises(ValueError, match="'raw'"):
        LA.qr(npg.ones((3, 2)), mode="raw")
    with pytest.raises(ValueError, match="invalid norm order 'fro' for vectors"):
        LA.norm(npg.ones(3), "fro", axis=0)
    with pytest.raises(ValueError, match="invalid norm order 3 for matrices"):
        LA.norm(npg.ones((3, 3)), 3)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        LA.norm(npg.ones((2, 2, 2)), 1)
    with pytest.raises(TypeError, match="integer"):
        LA.matrix_power(npg.eye(2), 1.5)
    q, r = LA.qr(npg.randn(4, 2), mode="complete")
    with pytest.raises(RuntimeError, match="mode='complete'.*not differentiable"):
        npg.sum(r).backward()


# ----------------------------------------------------------------- the NumPy call path, results
def test_numpy_linalg_functions_dispatch_to_npgrad():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    s = a @ a.T
    calls = {
        "det": (a,), "slogdet": (a,), "inv": (a,), "solve": (a, np.ones(3)), "cholesky": (s,), "pinv": (a,),
        "lstsq": (a, np.ones(3)), "eig": (a,), "eigvals": (a,), "eigh": (s,), "eigvalsh": (s,), "svd": (a,),
        "svdvals": (a,), "qr": (a,),
        "norm": (a,), "vector_norm": (a,), "matrix_norm": (a,), "matrix_power": (a, 3), "multi_dot": ([a, a, a],),
        "tensorinv": (a, 1), "tensorsolve": (a, np.ones(3)), "matrix_transpose": (a,), "diagonal": (a,),
        "trace": (a,), "outer": (a[0], a[1]), "vecdot": (a, a), "cross": (a, a), "matmul": (a, a),
        "tensordot": (a, a), "cond": (a,), "matrix_rank": (a,),
    }
    scipy_only = {"LinAlgError", "LinAlgWarning", "solve_triangular", "cho_factor", "cho_solve", "expm", "matrix_exp",
                  "lu", "lu_factor", "lu_solve", "block_diag", "solve_sylvester", "solve_continuous_lyapunov",
                  "solve_lyapunov", "solve_discrete_lyapunov", "sqrtm", "logm", "fractional_matrix_power", "signm",
                  "funm", "sinm", "cosm", "tanm", "sinhm", "coshm", "tanhm",   # (scipy.linalg's: no np.linalg function)
                  "cholesky_ex", "inv_ex", "solve_ex", "lu_factor_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve",
                  "householder_product", "vander"}                           # (torch.linalg's own)
    assert set(calls) | scipy_only >= {n for n in npg.linalg.__all__ if not n.endswith("Result")}
    for name, args in calls.items():
        if not hasattr(np.linalg, name):
            continue
        targs = [[npg.tensor(x) for x in args[0]]] if name == "multi_dot" else \
            [npg.tensor(x) if isinstance(x, np.ndarray) else x for x in args]
        out = getattr(np.linalg, name)(*targs)
        expected = getattr(np.linalg, name)(*args)
        outs = out if isinstance(out, tuple) else (out,)
        exps = expected if isinstance(expected, tuple) else (expected,)
        for o, e in zip(outs, exps):
            if name in ("eigh", "svd", "qr"):  # signs may differ in principle: same LAPACK here
                e = np.abs(e)
                o = npg.abs(o)
            assert isinstance(o, (npg.Tensor, np.integer)), name   # (lstsq's rank: NumPy's integer, as NumPy)
            np.testing.assert_allclose(getattr(o, "data", o), e, rtol=1e-12, atol=1e-12, err_msg=name)
        if name not in ("cond", "matrix_rank"):
            assert outs[0].requires_grad or outs[-1].requires_grad, name


def test_result_types_are_named_like_numpy():
    a = npg.tensor(np.diag([3.0, 1.0, 2.0]))
    assert LA.slogdet(a).logabsdet.item() == pytest.approx(np.log(6.0)) and LA.slogdet(a).sign.item() == 1
    assert not LA.slogdet(a).sign.requires_grad
    w, V = LA.eigh(a)
    assert LA.eigh(a).eigenvalues.shape == (3,) and V.shape == (3, 3)
    assert LA.svd(a).Vh.shape == (3, 3) and LA.qr(a).R.shape == (3, 3)
    x, res, rank, sv = LA.lstsq(a, npg.ones(3))
    assert rank == 3 and res.shape == (0,) and sv.requires_grad   # (svdvals' gradient: test_hunt_args.py)
    assert LA.matrix_rank(a).item() == 3 and LA.cond(a).requires_grad   # cond is differentiable, as torch's
    assert npg.linalg.LinAlgError is np.linalg.LinAlgError


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32_through_every_output(dtype):
    a = npg.tensor(np.diag([3.0, 1.0, 2.0]).astype(dtype) + 0.1)
    outs = [LA.det(a), LA.inv(a), *LA.slogdet(a), *LA.eigh(a + a.T), *LA.svd(a), *LA.qr(a), LA.pinv(a),
            LA.norm(a), LA.norm(a, "nuc"), LA.cholesky(a @ a.T), LA.lstsq(a, npg.ones(3, dtype=dtype))[0],
            LA.matrix_power(a, -2), LA.cond(a)]
    for o in outs:
        assert o.dtype == dtype
    loss = sum(npg.sum(o) for o in outs if o.requires_grad)
    loss.backward()
    assert a.grad.dtype == dtype and np.all(np.isfinite(a.grad))


# ------------------------------------------------------------------ third derivatives (sample)
_R = np.random.default_rng(12)
_A = _R.standard_normal((3, 3))
THIRD = [
    ("cholesky", lambda a: LA.cholesky(a @ a.T + 3 * npg.eye(3)),
     lambda a: TLA.cholesky(a @ a.T + 3 * torch.eye(3, dtype=a.dtype)), _A),
    ("svd_U", lambda a: LA.svd(a)[0] ** 2, lambda a: TLA.svd(a)[0] ** 2, _A + np.diag([3.0, 0.0, -2.0])),
    ("eigh_V", lambda a: LA.eigh(a + a.T)[1] ** 2, lambda a: TLA.eigh(a + a.T)[1] ** 2, _A),
    ("det", LA.det, TLA.det, _A), ("qr_R", lambda a: LA.qr(a)[1], lambda a: TLA.qr(a)[1], _A),
    ("pinv", LA.pinv, TLA.pinv, _R.standard_normal((2, 3))),
    ("solve", lambda a: LA.solve(a, np.arange(3.0)), lambda a: TLA.solve(a, torch.arange(3.0, dtype=a.dtype)),
     _A + 3 * np.eye(3)),
]


@pytest.mark.parametrize("name,fn,tfn,a", THIRD, ids=[c[0] for c in THIRD])
def test_third_derivative(name, fn, tfn, a):
    higher_order(fn, tfn, [a], order=3, what=name)
