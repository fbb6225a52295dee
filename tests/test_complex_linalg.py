"""Complex linear algebra (``npg.linalg``) against ``torch.linalg``: values, dtypes and the gradients of real losses
(complex128 and complex64), forward mode against ``torch.func.jvp``, and ``gradcheck`` in complex128. The inputs
are random and well conditioned; Hermitian (positive-definite) ones are built from a leaf (``x @ x^H + 3 I``,
``x + x^H``), so finite differences see the same function as the analytic gradient."""
import zlib

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.autograd import gradcheck, gradgradcheck

from tests.complex_helpers import CDTYPES, FOR, close, compare, crandn


def _mh(x):
    return npg.conj(npg.swapaxes(x, -1, -2)) if isinstance(x, npg.Tensor) else x.mH


def _eye(x, n=3):
    e = np.eye(n, dtype=np.float32)
    return npg.tensor(e, requires_grad=False) if isinstance(x, npg.Tensor) else torch.tensor(e)


def _hpd(x):
    """A Hermitian positive-definite matrix from any square ``x``."""
    return x @ _mh(x) + 3 * _eye(x, x.shape[-1])


def _herm(x):
    return x + _mh(x)


def _lib(x):
    return npg.linalg if isinstance(x, npg.Tensor) else torch.linalg


# (name, f(x) written for both libraries, input shape)
CASES = [
    ("slogdet_logabsdet", lambda x: _lib(x).slogdet(x + 3 * _eye(x))[1], (2, 3, 3)),
    ("slogdet_sign", lambda x: _lib(x).slogdet(x + 3 * _eye(x))[0], (2, 3, 3)),
    ("slogdet_both", lambda x: _lib(x).slogdet(x)[0] * _lib(x).slogdet(x)[1], (3, 3)),
    ("cholesky", lambda x: _lib(x).cholesky(_hpd(x)), (2, 3, 3)),
    ("cholesky_upper", lambda x: _lib(x).cholesky(_hpd(x), upper=True), (3, 3)),
]
for _shape in ((4, 3), (3, 3), (2, 3, 5)):
    for _out in (0, 1):
        CASES.append((f"qr_{'QR'[_out]}_{'x'.join(map(str, _shape))}", lambda x, o=_out: _lib(x).qr(x)[o], _shape))
CASES.append(("qr_both", lambda x: _lib(x).qr(x)[0] @ _lib(x).qr(x)[1] * 2 + _lib(x).qr(x)[0][..., :1], (4, 3)))
CASES += [
    ("eigh_values", lambda x: _lib(x).eigh(_herm(x))[0], (2, 3, 3)),
    ("eigvalsh", lambda x: _lib(x).eigvalsh(_herm(x)), (3, 3)),
    # phase-invariant losses of the eigenvectors: |V|^2 and V diag(w) V^H
    ("eigh_vectors_abs", lambda x: abs(_lib(x).eigh(_herm(x))[1]) ** 2, (2, 3, 3)),
    # eig of general complex matrices: eigenvalues, and the phase-invariant |V|^2 and V diag(L^2) V^-1
    ("eigvals", lambda x: _lib(x).eigvals(x), (2, 3, 3)),
    ("eig_values", lambda x: _lib(x).eig(x)[0], (3, 3)),
    ("eig_vectors_abs", lambda x: abs(_lib(x).eig(x)[1]) ** 2, (2, 3, 3)),
    ("eig_function", lambda x: (lambda L, V: (V * (L * L)[..., None, :]) @ _lib(x).inv(V))(*_lib(x).eig(x)), (3, 3)),
    ("eigh_projector", lambda x: (lambda w, V: (V * w[..., None, :]) @ _mh(V))(*_lib(x).eigh(_herm(x))), (3, 3)),
]
for _shape in ((4, 3), (3, 3), (2, 3, 5)):
    _sh = "x".join(map(str, _shape))
    CASES += [
        (f"svdvals_{_sh}", lambda x: _lib(x).svdvals(x), _shape),
        # phase-invariant losses of the singular vectors: |U|^2, |Vh|^2, U diag(S) Vh, U Vh
        (f"svd_U_abs_{_sh}", lambda x: abs(_lib(x).svd(x, full_matrices=False)[0]) ** 2, _shape),
        (f"svd_Vh_abs_{_sh}", lambda x: abs(_lib(x).svd(x, full_matrices=False)[2]) ** 2, _shape),
        (f"svd_USVh_{_sh}", lambda x: (lambda U, S, Vh: (U * S[..., None, :]) @ Vh)(
            *_lib(x).svd(x, full_matrices=False)), _shape),
        (f"svd_UVh_{_sh}", lambda x: (lambda U, S, Vh: U @ Vh * S.sum())(*_lib(x).svd(x, full_matrices=False)),
         _shape),
    ]
for _shape in ((4, 3), (3, 3), (3, 5)):
    CASES.append((f"pinv_{'x'.join(map(str, _shape))}", lambda x: _lib(x).pinv(x), _shape))
for _ord in (2, 1, 3, 0.5, np.inf, -np.inf):
    CASES.append((f"vector_norm_{_ord}", lambda x, o=_ord: _lib(x).vector_norm(x, ord=o, axis=-1), (2, 4)))
for _ord in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
    CASES.append((f"matrix_norm_{_ord}", lambda x, o=_ord: _lib(x).matrix_norm(x, ord=o), (2, 3, 4)))
CASES += [
    ("norm_all", lambda x: _lib(x).norm(x), (3, 4)),
    ("norm_axis", lambda x: _lib(x).norm(x, axis=0) if isinstance(x, npg.Tensor) else _lib(x).norm(x, dim=0),
     (3, 4)),
    ("norm_nuc", lambda x: _lib(x).norm(x, "nuc"), (3, 4)),
]


def _either(nf, tf):
    return lambda x: nf(x) if isinstance(x, npg.Tensor) else tf(x)


CASES += [
    ("vecdot", lambda x: _lib(x).vecdot(x[0], x[1]), (2, 2, 4)),
    ("cross", lambda x: _lib(x).cross(x[0], x[1]), (2, 2, 3)),
    ("outer", _either(lambda x: npg.linalg.outer(x[0], x[1]), lambda x: torch.outer(x[0], x[1])), (2, 4)),
    ("trace", _either(lambda x: npg.linalg.trace(x), lambda x: torch.diagonal(x, 0, -2, -1).sum(-1)), (2, 3, 3)),
    ("diagonal", lambda x: _lib(x).diagonal(x, offset=1), (2, 3, 4)),
    ("matrix_transpose", _either(npg.linalg.matrix_transpose, lambda x: x.mT), (2, 3, 4)),
    ("multi_dot", lambda x: _lib(x).multi_dot([x[0], x[1], x[2]]), (3, 3, 3)),
    ("multi_dot_vectors", lambda x: _lib(x).multi_dot([x[0, 0], x[1], x[2], x[0, :, 1]]), (3, 3, 3)),
    ("tensorinv", lambda x: _lib(x).tensorinv(x + 3 * _eye(x, 6).reshape(6, 2, 3), ind=1), (6, 2, 3)),
    ("tensorsolve", lambda x: _lib(x).tensorsolve((x + 3 * _eye(x, 6)).reshape(6, 2, 3), x[0]), (6, 6)),
    ("matrix_power", lambda x: _lib(x).matrix_power(x, 3), (2, 3, 3)),
    ("matrix_power_neg", lambda x: _lib(x).matrix_power(x + 3 * _eye(x), -2), (3, 3)),
]
# scipy.linalg's (x[:3] the matrix, x[3] a right-hand side)
_LA, _TLA = npg.linalg, torch.linalg
CASES += [
    ("solve_triangular", _either(
        lambda x: _LA.solve_triangular(x[:3] + 3 * _eye(x), x[3], lower=True),
        lambda x: _TLA.solve_triangular(x[:3] + 3 * _eye(x), x[3][:, None], upper=False)[:, 0]), (4, 3)),
    ("solve_triangular_C_unit", _either(
        lambda x: _LA.solve_triangular(x[:, :3], x[:, 3:], trans="C", unit_diagonal=True),
        lambda x: _TLA.solve_triangular(x[:, :3].mH, x[:, 3:], upper=False, unitriangular=True)), (3, 5)),
    ("cho_solve", _either(lambda x: _LA.cho_solve(_LA.cho_factor(_hpd(x[:3])), x[3]),
                          lambda x: torch.cholesky_solve(x[3][:, None], _TLA.cholesky(_hpd(x[:3])))[:, 0]), (4, 3)),
    ("expm", lambda x: _lib(x).matrix_exp(x), (2, 3, 3)),
    ("expm_scaled", lambda x: _lib(x).matrix_exp(2 * x), (3, 3)),   # (1-norm about 8: scaled and squared)
    ("lu_solve", _either(lambda x: _LA.lu_solve(_LA.lu_factor(x[:3]), x[3], trans=2),
                         lambda x: _TLA.lu_solve(*_TLA.lu_factor(x[:3]), x[3][:, None], adjoint=True)[:, 0]), (4, 3)),
    ("block_diag", _either(lambda x: _LA.block_diag(x[0], x[1, :2]), lambda x: torch.block_diag(x[0], x[1, :2])),
     (2, 3, 3)),
]
for _shape in ((3, 3), (2, 3, 5), (5, 3)):
    _sh = "x".join(map(str, _shape))
    CASES += [(f"lu_factor_{_sh}", lambda x: _lib(x).lu_factor(x)[0], _shape),
              (f"lu_LU_{_sh}", lambda x: (lambda P, L, U: L[..., :2, :] @ U[..., :, :2] + L.sum() * U.sum())(
                  *_lib(x).lu(x)), _shape)]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name, f, shape", CASES, ids=IDS)
def test_values_and_gradients_match_torch(name, f, shape, dtype):
    x = crandn(np.random.default_rng(zlib.crc32(name.encode()) % 1000), shape, dtype)  # (hash() varies by process)
    compare(f, f, [x], name)


@pytest.mark.parametrize("name, f, shape", CASES, ids=IDS)
def test_jvp_matches_torch_func_jvp(name, f, shape):
    rng = np.random.default_rng(1)
    x, t = crandn(rng, shape, np.complex128), crandn(rng, shape, np.complex128)
    out, tan = npg.func.jvp(f, (npg.tensor(x, requires_grad=False),), (npg.tensor(t, requires_grad=False),))
    tout, ttan = torch.func.jvp(f, (torch.tensor(x),), (torch.tensor(t),))
    close(out, tout, f"{name}: value")
    close(tan, ttan, f"{name}: tangent")
    assert tan.dtype == out.dtype


@pytest.mark.parametrize("name, f, shape", CASES, ids=IDS)
def test_gradcheck_complex128(name, f, shape):
    x = npg.tensor(crandn(np.random.default_rng(2), shape, np.complex128))
    assert gradcheck(f, (x,))


@pytest.mark.parametrize("op", ["eigh", "svd", "eig", "eig_real"])
def test_a_loss_of_the_vectors_phases_raises_as_in_torch(op):
    x = crandn(np.random.default_rng(3), (3, 3), np.complex128)
    if op == "eig_real":   # a real matrix with complex eigenvalues: complex eigenvectors
        x = np.array([[0.0, -2.0, 0.3], [2.0, 0.1, 0.0], [0.2, 0.0, 1.0]])
    h = x + x.conj().T if op in ("eigh", "svd") else x
    fns = {"eigh": lambda a, la: la.eigh(a)[1], "svd": lambda a, la: la.svd(a)[0],
           "eig": lambda a, la: la.eig(a)[1], "eig_real": lambda a, la: la.eig(a)[1]}
    loss = npg.real(fns[op](npg.tensor(h), npg.linalg)).sum()
    name = op.replace("_real", "")
    with pytest.raises(RuntimeError, match=f"{name}: The .*vectors in the complex case are specified up to "
                                           f"multiplication by e\\^\\{{i phi\\}}"):
        loss.backward()
    t = torch.tensor(h, requires_grad=True)
    with pytest.raises(RuntimeError, match="e\\^\\{i phi\\}"):
        fns[op](t, torch.linalg).real.sum().backward()


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("bshape", [(5,), (5, 2)])
def test_lstsq_matches_torch(dtype, bshape):
    rng = np.random.default_rng(4)
    a, b = crandn(rng, (5, 3), dtype), crandn(rng, bshape, dtype)
    compare(lambda a, b: npg.linalg.lstsq(a, b)[0], lambda a, b: torch.linalg.lstsq(a, b, driver="gelsd")[0],
            [a, b], "lstsq x")
    # residuals sum |a x - b|^2 (real), against the same expression in torch
    compare(lambda a, b: npg.linalg.lstsq(a, b)[1],
            lambda a, b: (abs(a @ torch.linalg.lstsq(a, b, driver="gelsd")[0] - b) ** 2).sum(0).reshape(-1), [a, b],
            "lstsq residuals")
    ta, tb = npg.tensor(a.astype(np.complex128)), npg.tensor(b.astype(np.complex128))
    assert gradcheck(lambda a, b: npg.linalg.lstsq(a, b)[0], (ta, tb))
    assert gradcheck(lambda a, b: npg.linalg.lstsq(a, b)[1], (ta, tb))
    out, tan = npg.func.jvp(lambda a, b: npg.linalg.lstsq(a, b)[1], (ta.detach(), tb.detach()),
                            (npg.tensor(crandn(rng, a.shape, np.complex128)), npg.tensor(crandn(rng, bshape,
                                                                                                np.complex128))))
    assert tan.dtype == np.float64


@pytest.mark.parametrize("dtype", CDTYPES)
def test_cond_and_matrix_rank_of_complex_matrices(dtype):
    x = crandn(np.random.default_rng(5), (2, 3, 3), dtype)
    for p in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        c = npg.linalg.cond(npg.tensor(x), p)
        close(c, np.linalg.cond(x, p), f"cond {p}")
        assert c.dtype == FOR[np.dtype(dtype)]
    low = x[0] @ np.diag(np.array([1, 1, 0], dtype)) @ x[1]
    assert int(npg.linalg.matrix_rank(npg.tensor(low))) == 2 == int(torch.linalg.matrix_rank(torch.tensor(low)))


_SECOND = ["slogdet_logabsdet", "slogdet_sign", "cholesky", "qr_Q_4x3", "qr_R_2x3x5", "eigh_values",
           "eigh_vectors_abs", "eigvals", "eig_vectors_abs", "svdvals_4x3", "svd_U_abs_3x3", "pinv_4x3",
           "vector_norm_2", "matrix_norm_nuc", "solve_triangular_C_unit", "expm", "lu_factor_2x3x5", "lu_LU_5x3"]


@pytest.mark.parametrize("name, f, shape", [c for c in CASES if c[0] in _SECOND], ids=_SECOND)
def test_gradgradcheck_complex128(name, f, shape):
    """Second derivatives: every VJP above is written with differentiable ops (create_graph)."""
    x = npg.tensor(crandn(np.random.default_rng(2), shape, np.complex128))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3)])
def test_svd_and_qr_modes(shape, dtype):
    """svd with full_matrices=True (the extra columns' gradients ignored) and compute_uv=False; qr's 'complete'
    (m <= n) and 'r' modes."""
    x, k = crandn(np.random.default_rng(9), shape, dtype), min(shape)
    compare(lambda a: abs(npg.linalg.svd(a)[0][..., :k]) ** 2, lambda a: abs(torch.linalg.svd(a)[0][..., :k]) ** 2,
            [x], "svd full_matrices")
    compare(lambda a: npg.linalg.svd(a, compute_uv=False), torch.linalg.svdvals, [x], "svd compute_uv=False")
    if shape[0] <= shape[1]:
        compare(lambda a: npg.linalg.qr(a, mode="complete")[1], lambda a: torch.linalg.qr(a, mode="complete")[1],
                [x], "qr complete")
    compare(lambda a: npg.linalg.qr(a, mode="r"), lambda a: torch.linalg.qr(a)[1], [x], "qr r")


@pytest.mark.parametrize("dtype", CDTYPES)
def test_eigh_reads_one_triangle_of_a_non_hermitian_leaf_as_torch(dtype):
    h = crandn(np.random.default_rng(10), (3, 3), dtype)
    compare(lambda a: npg.linalg.eigh(a, UPLO="U")[0], lambda a: torch.linalg.eigh(a, UPLO="U")[0], [h], "eigh U")
    compare(npg.linalg.eigvalsh, torch.linalg.eigvalsh, [h], "eigvalsh")
    compare(lambda a: abs(npg.linalg.eigh(a)[1]) ** 2, lambda a: abs(torch.linalg.eigh(a)[1]) ** 2, [h], "eigh V")


@pytest.mark.parametrize("dtype", CDTYPES)
def test_results_without_gradients_keep_numpys_dtypes(dtype):
    a = npg.tensor(crandn(np.random.default_rng(11), (3, 3), dtype), requires_grad=False)
    real = FOR[np.dtype(dtype)]
    assert npg.linalg.eigh(a)[0].dtype == real and npg.linalg.svd(a)[1].dtype == real
    assert npg.linalg.slogdet(a)[1].dtype == real and npg.linalg.slogdet(a)[0].dtype == dtype
    assert npg.linalg.norm(a).dtype == real and npg.linalg.cholesky(a @ a.conj().T + 3 * np.eye(3, dtype=real)).dtype == dtype


def test_matrix_power_zero_of_a_complex_matrix_requiring_grad():
    """a^0 refused complex matrices that require grad (its op had no complex rule); PyTorch gives identities
    and a zero gradient."""
    a0 = np.random.default_rng(0).standard_normal((2, 3, 3)) + 1j * np.random.default_rng(1).standard_normal((2, 3, 3))
    a, ta = npg.tensor(a0), torch.tensor(a0, requires_grad=True)
    y, ty = npg.linalg.matrix_power(a, 0), torch.linalg.matrix_power(ta, 0)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    (npg.abs(y + a) ** 2).sum().backward()
    (torch.abs(ty + ta) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12)
