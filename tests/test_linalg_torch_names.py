"""torch.linalg's names that np.linalg lacks (cholesky_ex inv_ex solve_ex lu_factor_ex ldl_factor(_ex) ldl_solve
householder_product vander) and torch's older top-level names and methods (cholesky cholesky_solve
cholesky_inverse lu_unpack lu_solve triangular_solve ger chain_matmul nuclear_norm frobenius_norm svd qr, the
methods cross qr svd equal...), against torch."""
import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.linalg import LinAlgError

RNG = np.random.default_rng(0)


def _spd(*shape, dtype=np.float64):
    a = RNG.standard_normal(shape + (shape[-1],))       # shape: (..., n), an (..., n, n) result
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _pair(*arrays):
    """npg leaves and torch leaves of the same values."""
    return ([npg.tensor(a.copy(), requires_grad=True) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def _close(a, b, tol=1e-10):
    a = a.data if isinstance(a, npg.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _grads(fn_npg, fn_torch, arrays, tol=1e-9, seed=1):
    """Values and gradients (a random cotangent) of fn_npg vs fn_torch at ``arrays`` (float64)."""
    ns, ts = _pair(*arrays)
    yn, yt = fn_npg(*ns), fn_torch(*ts)
    _close(yn, yt, tol)
    w = np.random.default_rng(seed).standard_normal(yt.shape)
    (yn * npg.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for n, t in zip(ns, ts):
        _close(n.grad, t.grad, tol)


# ----------------------------------------------------------------------------------- the *_ex functions
def test_cholesky_ex_matches_torch_info_and_partial_factor():
    A = np.stack([_spd(4), np.array([[4., 2, 1, 0], [2, 1, 3, 0], [1, 3, 5, 0], [0, 0, 0, 1]]), _spd(4)])
    for upper in (False, True):
        L, info = npg.linalg.cholesky_ex(npg.tensor(A), upper=upper)
        Lt, it = torch.linalg.cholesky_ex(torch.tensor(A), upper=upper)
        _close(L, Lt)
        assert info.dtype == np.int32 and info.tolist() == it.tolist() == [0, 2, 0]
    with pytest.raises(LinAlgError, match=r"cholesky_ex.*Batch element 1.*order 2.*\(3, 4, 4\)"):
        npg.linalg.cholesky_ex(npg.tensor(A), check_errors=True)
    _grads(lambda a: npg.linalg.cholesky_ex(a, upper=True).L, lambda a: torch.linalg.cholesky_ex(a, upper=True).L,
           [_spd(2, 3)])
    L, info = npg.linalg.cholesky_ex(npg.tensor(_spd(3, dtype=np.float32)))
    assert L.dtype == np.float32 and info.shape == ()


def test_inv_ex_and_solve_ex_info_values_gradients():
    A = RNG.standard_normal((3, 3, 3))
    A[1] = [[1, 2, 3], [2, 4, 6], [0, 1, 1]]
    inv, info = npg.linalg.inv_ex(npg.tensor(A))
    it = torch.linalg.inv_ex(torch.tensor(A))
    assert info.tolist() == it.info.tolist() == [0, 3, 0]
    _close(inv[[0, 2]], it.inverse[[0, 2]])
    assert np.isnan(inv.data[1]).all()
    with pytest.raises(LinAlgError, match=r"inv_ex.*Batch element 1.*diagonal element 3"):
        npg.linalg.inv_ex(npg.tensor(A), check_errors=True)
    x, info = npg.linalg.solve_ex(npg.tensor(A), npg.tensor(np.ones((3, 3))))
    assert info.tolist() == torch.linalg.solve_ex(torch.tensor(A), torch.ones(3, 3, dtype=torch.float64)).info.tolist()
    good = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    _grads(lambda a: npg.linalg.inv_ex(a).inverse, lambda a: torch.linalg.inv_ex(a).inverse, [good])
    for B, left in ((RNG.standard_normal((2, 3)), True), (RNG.standard_normal(3), True),
                    (RNG.standard_normal((4, 1, 3, 2)), True), (RNG.standard_normal((2, 5, 3)), False),
                    (RNG.standard_normal((3, 3)), True)):
        _grads(lambda a, b: npg.linalg.solve_ex(a, b, left=left).result,
               lambda a, b: torch.linalg.solve_ex(a, b, left=left).result, [good, B])
    with pytest.raises(LinAlgError, match=r"solve_ex.*\(2, 3, 3\).*\(2, 4\)"):
        npg.linalg.solve_ex(npg.tensor(good), npg.tensor(np.ones((2, 4))))


def test_lu_factor_ex_torch_pivots_and_gradient():
    A = RNG.standard_normal((2, 4, 4))
    A[1] = [[1, 2, 3, 4], [2, 4, 6, 8], [0, 1, 1, 1], [1, 0, 2, 5]]   # exactly singular (exact arithmetic)
    LU, piv, info = npg.linalg.lu_factor_ex(npg.tensor(A))
    LUt, pivt, infot = torch.linalg.lu_factor_ex(torch.tensor(A))
    _close(LU, LUt)
    assert piv.tolist() == pivt.tolist() and info.tolist() == infot.tolist() and info.data[1] > 0
    _grads(lambda a: npg.linalg.lu_factor_ex(a).LU, lambda a: torch.linalg.lu_factor_ex(a).LU,
           [RNG.standard_normal((2, 3, 5))])
    with pytest.raises(LinAlgError, match="lu_factor_ex.*Batch element 1"):
        npg.linalg.lu_factor_ex(npg.tensor(A), check_errors=True)
    with pytest.raises(NotImplementedError, match="lu_factor_ex"):
        npg.linalg.lu_factor_ex(npg.tensor(A), pivot=False)


# ------------------------------------------------------------------------------------------------ LDL
def _sym_cases():
    cases = []
    for n in (1, 2, 3, 5, 8):
        a = RNG.standard_normal((n, n))
        cases.append(a + a.T)                               # indefinite: 1 x 1 and 2 x 2 pivots
    cases.append(np.array([[0., 1, 2], [1, 0, 3], [2, 3, 0]]))   # zero diagonal: 2 x 2 blocks
    cases.append(np.array([[1e-3, 5, 0, 1], [5, 2, 1, 0], [0, 1, -3, 4], [1, 0, 4, 0.5]]))
    return cases


def test_ldl_factor_matches_torch_pivots_and_ldl_solve_solves():
    for A in _sym_cases():
        for dt in (np.float64, np.float32):
            Ad = A.astype(dt)
            LD, piv = npg.linalg.ldl_factor(npg.tensor(Ad))
            LDt, pivt = torch.linalg.ldl_factor(torch.tensor(Ad))
            assert piv.dtype == np.int32 and piv.tolist() == pivt.tolist(), (A, piv, pivt)
            _close(LD, LDt, 1e-10 if dt == np.float64 else 2e-4)
            B = RNG.standard_normal((A.shape[0], 2)).astype(dt)
            X = npg.linalg.ldl_solve(LD, piv, npg.tensor(B))
            Xt = torch.linalg.ldl_solve(LDt, pivt, torch.tensor(B))
            assert X.dtype == dt
            _close(X, Xt, 1e-8 if dt == np.float64 else 1e-3)
    # a batch, and complex Hermitian / symmetric
    A = np.stack([c for c in _sym_cases() if c.shape == (3, 3)])
    LD, piv, info = npg.linalg.ldl_factor_ex(npg.tensor(A))
    LDt, pivt, infot = torch.linalg.ldl_factor_ex(torch.tensor(A))
    _close(LD, LDt)
    assert piv.tolist() == pivt.tolist() and info.tolist() == infot.tolist()
    for herm in (True, False):
        Z = RNG.standard_normal((5, 5)) + 1j * RNG.standard_normal((5, 5))
        Z = Z + (Z.conj().T if herm else Z.T)
        LD, piv = npg.linalg.ldl_factor(npg.tensor(Z), hermitian=herm)
        LDt, pivt = torch.linalg.ldl_factor(torch.tensor(Z), hermitian=herm)
        _close(LD, LDt)
        assert piv.tolist() == pivt.tolist()
        B = RNG.standard_normal((5, 3)) + 0j
        _close(npg.linalg.ldl_solve(LD, piv, npg.tensor(B), hermitian=herm),
               torch.linalg.ldl_solve(LDt, pivt, torch.tensor(B), hermitian=herm))


def test_ldl_gradients():
    A = _sym_cases()[-1]
    LD, piv = npg.linalg.ldl_factor(npg.tensor(A))
    # the gradient w.r.t. B is A^-1 g: the one torch.linalg.solve gives
    _grads(lambda b: npg.linalg.ldl_solve(LD.detach(), piv, b), lambda b: torch.linalg.solve(torch.tensor(A), b),
           [RNG.standard_normal((2, 4, 3))], tol=1e-8)
    # w.r.t. LD: finite differences
    LDa = LD.data.copy()
    B = RNG.standard_normal((4, 2))

    def f(ld):
        return float(npg.linalg.ldl_solve(npg.tensor(ld), piv, npg.tensor(B)).sum().data)
    ld = npg.tensor(LDa, requires_grad=True)
    npg.linalg.ldl_solve(ld, piv, npg.tensor(B)).sum().backward()
    fd = np.zeros_like(LDa)
    for i, j in zip(*np.tril_indices(4)):
        e = np.zeros_like(LDa)
        e[i, j] = 1e-6
        fd[i, j] = (f(LDa + e) - f(LDa - e)) / 2e-6
    np.testing.assert_allclose(ld.grad.data, fd, rtol=1e-5, atol=1e-6)
    a = npg.tensor(A, requires_grad=True)
    with pytest.raises(NotImplementedError, match="ldl_factor"):
        npg.linalg.ldl_factor(a).LD.sum().backward()
    with pytest.raises(LinAlgError, match="ldl_factor"):
        npg.linalg.ldl_factor(npg.tensor(np.zeros((3, 3))))
    assert npg.linalg.ldl_factor_ex(npg.tensor(np.zeros((3, 3)))).info.tolist() == \
        torch.linalg.ldl_factor_ex(torch.zeros(3, 3)).info.tolist()


# ------------------------------------------------------------------------- householder_product, vander
def test_householder_product_values_gradients_errors():
    for shape, k in (((5, 3), 3), ((2, 4, 4), 2), ((6, 4), 4)):
        A = RNG.standard_normal(shape)
        tau = RNG.standard_normal(shape[:-2] + (k,))
        _grads(npg.linalg.householder_product, torch.linalg.householder_product, [A, tau])
    q = npg.linalg.householder_product(npg.tensor(np.ones((3, 2), np.float32)), npg.tensor(np.ones(2, np.float32)))
    _close(q, torch.linalg.householder_product(torch.ones(3, 2), torch.ones(2)), 1e-6)
    with pytest.raises(LinAlgError, match=r"householder_product.*\(2, 3\)"):
        npg.linalg.householder_product(npg.ones((2, 3)), npg.ones(2))
    with pytest.raises(LinAlgError, match=r"householder_product.*tau"):
        npg.linalg.householder_product(npg.ones((4, 3)), npg.ones(4))


def test_linalg_vander_is_torchs_increasing_powers():
    x = np.array([[0., 2, -1.5], [1, 0.5, 3]])
    for N in (None, 2, 5):
        _grads(lambda a: npg.linalg.vander(a, N=N), lambda a: torch.linalg.vander(a, N=N), [x])
    v = npg.linalg.vander(npg.tensor(np.array([1, 2, 3])))
    assert v.dtype == np.int64 and v.tolist() == torch.linalg.vander(torch.tensor([1, 2, 3])).tolist()
    assert npg.vander(npg.tensor([1., 2.])).tolist() == np.vander([1., 2.]).tolist()   # NumPy's stays
    with pytest.raises(ValueError, match="vander.*N"):
        npg.linalg.vander(npg.tensor([1., 2.]), N=1)


# ------------------------------------------------------------------------ torch's older top-level names
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_inverse_top_level(upper):
    A = _spd(2, 3)
    L = np.linalg.cholesky(A, upper=upper)
    B = RNG.standard_normal((4, 1, 3, 2))
    _grads(lambda l: npg.cholesky(l, upper), lambda l: torch.cholesky(l, upper), [A])
    _grads(lambda b, l: npg.cholesky_solve(b, l, upper), lambda b, l: torch.cholesky_solve(b, l, upper), [B, L])
    _grads(lambda l: npg.cholesky_inverse(l, upper), lambda l: torch.cholesky_inverse(l, upper), [L[0]])
    _grads(lambda b, l: b.cholesky_solve(l, upper), lambda b, l: b.cholesky_solve(l, upper), [B, L])
    _grads(lambda l: l.cholesky_inverse(upper), lambda l: l.cholesky_inverse(upper), [L])
    _grads(lambda a: a.cholesky(upper), lambda a: a.cholesky(upper), [A])
    with pytest.raises(LinAlgError, match=r"cholesky_solve.*\(3, 2\).*\(4, 4\)"):
        npg.cholesky_solve(npg.ones((3, 2)), npg.eye(4))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_reads_one_triangle(upper):
    """Values in the other triangle are ignored (as torch's potrs); the gradient on the triangle read is the
    derivative (finite differences; torch's formula multiplies by the whole L there, garbage included)."""
    L = np.linalg.cholesky(_spd(3), upper=upper)
    junk = 0.5 * (np.tril(RNG.standard_normal((3, 3)), -1) if upper else np.triu(RNG.standard_normal((3, 3)), 1))
    B = RNG.standard_normal((3, 2))
    for f, ft in ((lambda l: npg.cholesky_solve(npg.tensor(B), l, upper), lambda l: torch.cholesky_solve(
            torch.tensor(B), l, upper)), (lambda l: npg.cholesky_inverse(l, upper),
                                          lambda l: torch.cholesky_inverse(l, upper))):
        _close(f(npg.tensor(L + junk)), ft(torch.tensor(L + junk)))
        l = npg.tensor(L + junk, requires_grad=True)
        f(l).sum().backward()
        fd = np.zeros((3, 3))
        for i, j in zip(*(np.triu_indices(3) if upper else np.tril_indices(3))):
            e = np.zeros((3, 3))
            e[i, j] = 1e-6
            fd[i, j] = (float(f(npg.tensor(L + junk + e)).sum().data) - float(f(npg.tensor(L + junk - e)).sum().data)) / 2e-6
        mask = np.triu(np.ones((3, 3))) if upper else np.tril(np.ones((3, 3)))
        np.testing.assert_allclose(l.grad.data * mask, fd, rtol=1e-6, atol=1e-7)


def test_lu_unpack_lu_solve_triangular_solve():
    A = RNG.standard_normal((2, 4, 4))
    LUt, pivt = torch.linalg.lu_factor(torch.tensor(A))
    LUn, pivn = npg.tensor(LUt.detach().numpy()), npg.tensor(pivt.numpy())
    for unpack_data, unpack_pivots in ((True, True), (False, True), (True, False)):
        for r, rt in zip(npg.lu_unpack(LUn, pivn, unpack_data, unpack_pivots),
                         torch.lu_unpack(LUt, pivt, unpack_data, unpack_pivots)):
            _close(r, rt)
    W = RNG.standard_normal((3, 5))
    LUw, pivw = torch.linalg.lu_factor(torch.tensor(W))
    for r, rt in zip(npg.lu_unpack(npg.tensor(LUw.numpy()), npg.tensor(pivw.numpy())), torch.lu_unpack(LUw, pivw)):
        _close(r, rt)
    _grads(lambda lu: npg.lu_unpack(lu, pivn).L * 2 + npg.lu_unpack(lu, pivn).U,
           lambda lu: torch.lu_unpack(lu, pivt).L * 2 + torch.lu_unpack(lu, pivt).U, [LUt.detach().numpy()])
    b = RNG.standard_normal((2, 4, 3))
    _grads(lambda b, lu: npg.lu_solve(b, lu, pivn), lambda b, lu: torch.lu_solve(b, lu, pivt),
           [b, LUt.detach().numpy()])
    _grads(lambda b, lu: b.lu_solve(lu, pivn), lambda b, lu: b.lu_solve(lu, pivt), [b, LUt.detach().numpy()])
    with pytest.raises(ValueError, match="lu_solve.*1-based"):
        npg.lu_solve(npg.tensor(b), LUn, pivn * 0)
    T = RNG.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    for upper in (True, False):
        for transpose in (False, True):
            for unit in (False, True):
                _grads(lambda b, a: npg.triangular_solve(b, a, upper, transpose, unit).solution,
                       lambda b, a: torch.triangular_solve(b, a, upper, transpose, unit).solution, [b, T])
    res = npg.ones((4, 1)).triangular_solve(npg.tensor(T[0]))
    rt = torch.ones(4, 1, dtype=torch.float64).triangular_solve(torch.tensor(T[0]))
    _close(res.solution, rt.solution)
    _close(res.cloned_coefficient, rt.cloned_coefficient)


def test_ger_chain_matmul_norms():
    x, y = RNG.standard_normal(3), RNG.standard_normal(4)
    _grads(npg.ger, torch.ger, [x, y])
    _grads(lambda a, b: a.ger(b), lambda a, b: a.ger(b), [x, y])
    ms = [RNG.standard_normal(s) for s in ((2, 3), (3, 5), (5, 1))]
    _grads(lambda *m: npg.chain_matmul(*m), lambda *m: torch.chain_matmul(*m), ms)
    X = RNG.standard_normal((2, 3, 4))
    _grads(npg.nuclear_norm, torch.nuclear_norm, [X[0]])
    _grads(lambda a: npg.nuclear_norm(a, (0, 2), True), lambda a: torch.nuclear_norm(a, (0, 2), True), [X])
    for dim in ((1, 2), 1, (-1,)):
        _grads(lambda a: npg.frobenius_norm(a, dim), lambda a: torch.frobenius_norm(a, dim), [X])
    with pytest.raises(ValueError, match="ger"):
        npg.ger(npg.ones((2, 2)), npg.ones(2))


def test_methods_cross_qr_svd_equal():
    a, b = RNG.standard_normal((3, 4, 3)), RNG.standard_normal((1, 4, 3))
    _grads(lambda a, b: a.cross(b), lambda a, b: a.cross(b), [a, 2 * a[::-1]])   # torch's default: dim 0
    _grads(lambda a, b: a.cross(b, dim=-1), lambda a, b: a.cross(b, dim=-1), [a, b])
    M = RNG.standard_normal((2, 5, 3))
    for some in (True, False):
        if some:                    # (complete Q of a tall matrix: not differentiable, as in torch)
            _grads(lambda m: m.qr(some).R, lambda m: m.qr(some).R, [M])
        q, r = npg.qr(npg.tensor(M), some)
        qt, rt = torch.qr(torch.tensor(M), some)
        _close(q, qt)
        _close(r, rt)
    U, S, V = npg.tensor(M).svd()
    Ut, St, Vt = torch.tensor(M).svd()
    _close(S, St)
    _close(npg.abs(U), Ut.abs())
    _close(npg.abs(V), Vt.abs())
    _close(U @ (S[..., None] * V.mT), M)
    _grads(lambda m: m.svd().S, lambda m: m.svd().S, [M])
    _grads(lambda m: (lambda r: r.U @ r.V.mT)(npg.svd(m)), lambda m: (lambda r: r.U @ r.V.mT)(torch.svd(m)),
           [M[0].T])
    r = npg.svd(npg.tensor(M), compute_uv=False)
    assert r.U.shape == (2, 5, 5) and r.V.shape == (2, 3, 3) and not r.U.data.any()
    with pytest.raises(ValueError, match="cross.*length 3"):
        npg.tensor(a).cross(npg.tensor(b))
    x = npg.tensor([1., 2.])
    assert x.equal(npg.tensor([1., 2.])) is True and x.equal(npg.tensor([1., 3.])) is False
    assert x.equal(npg.tensor([[1., 2.]])) is False and torch.equal(torch.tensor([1., 2.]),
                                                                     torch.tensor([[1., 2.]])) is False


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # solve_ex runs per sample under vmap
def test_vmap_and_jvp_compose():
    A = _spd(3, 4)
    b = RNG.standard_normal((3, 4, 2))
    out = npg.func.vmap(lambda a, x: npg.linalg.solve_ex(a, x).result)(npg.tensor(A), npg.tensor(b))
    _close(out, np.linalg.solve(A, b))
    out = npg.func.vmap(lambda a: npg.linalg.cholesky_ex(a).L)(npg.tensor(A))
    _close(out, np.linalg.cholesky(A))
    L = np.linalg.cholesky(A)
    out = npg.func.vmap(npg.cholesky_solve)(npg.tensor(b), npg.tensor(L))
    _close(out, np.linalg.solve(A, b))
    t = RNG.standard_normal((4, 4))
    _, tan = npg.func.jvp(lambda a: npg.cholesky_inverse(a), (npg.tensor(L[0]),), (npg.tensor(t),))
    # (torch.func.jvp of torch.cholesky_inverse itself agrees with neither finite differences nor its own VJP
    # in torch 2.13; the oracle is the JVP of the full-matrix expression whose VJP torch.cholesky_inverse has)
    _, tan_t = torch.func.jvp(lambda l: torch.linalg.inv(l @ l.mT), (torch.tensor(L[0]),), (torch.tensor(t),))
    _close(tan, tan_t)
    x = RNG.standard_normal((2, 3))
    _, tan = npg.func.jvp(npg.linalg.vander, (npg.tensor(x),), (npg.tensor(np.ones_like(x)),))
    _, tan_t = torch.func.jvp(torch.linalg.vander, (torch.tensor(x),), (torch.ones(2, 3, dtype=torch.float64),))
    _close(tan, tan_t)
