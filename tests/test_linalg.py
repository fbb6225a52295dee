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
    if any(m.__qualname__.startswith(("spd", "sym")) for m in case.inputs):   # read one triangle: symmetrize
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
