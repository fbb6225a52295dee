"""Complex tensors through reductions, shape and indexing ops, contractions and linear algebra, against
PyTorch's complex autograd (complex64 and complex128, with real operands mixed in)."""
import numpy as np
import pytest
import torch

import npgrad as npg

from tests.complex_helpers import CDTYPES, FOR, close, compare, crandn

# --------------------------------------------------------------------------- reductions
REDUCTIONS = [
    ("sum", lambda z: npg.sum(z), lambda z: z.sum()), ("sum_axis", lambda z: z.sum(axis=0), lambda z: z.sum(0)),
    ("mean", lambda z: npg.mean(z, axis=1, keepdims=True), lambda z: z.mean(1, keepdim=True)),
    ("prod", lambda z: npg.prod(z, axis=1), lambda z: z.prod(1)), ("prod_all", npg.prod, torch.prod),
    ("cumsum", lambda z: npg.cumsum(z, axis=1), lambda z: z.cumsum(1)),
    ("cumprod", lambda z: npg.cumprod(z, axis=0), lambda z: z.cumprod(0)),
    ("var", lambda z: npg.var(z), lambda z: torch.var(z, correction=0)),
    ("var_axis_ddof", lambda z: npg.var(z, axis=0, ddof=1), lambda z: torch.var(z, 0, correction=1)),
    ("std", lambda z: npg.std(z, axis=1), lambda z: torch.std(z, 1, correction=0)),
    ("np.var", np.var, lambda z: torch.var(z, correction=0)),
    ("vector_norm", lambda z: npg.linalg.vector_norm(z, axis=1), lambda z: torch.linalg.vector_norm(z, dim=1)),
    ("vector_norm_1", lambda z: npg.linalg.vector_norm(z, ord=1), lambda z: torch.linalg.vector_norm(z, ord=1)),
    ("norm", lambda z: npg.linalg.norm(z[0]), lambda z: torch.linalg.norm(z[0])),
]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_torch(name, f, tf, dtype):
    compare(f, tf, [crandn(np.random.default_rng(10), (3, 4), dtype)], name)


def test_var_of_complex_is_real_as_numpy():
    z = crandn(np.random.default_rng(11), (5,), np.complex64)
    v = npg.var(npg.tensor(z))
    assert v.dtype == np.float32
    close(v, np.var(z), "var")
    close(npg.std(npg.tensor(z)), np.std(z), "std")


# --------------------------------------------------------------------------- shape and indexing
def _setitem(z, w):
    out = npg.zeros((3, 4), dtype=z.dtype) * 1   # a non-leaf to write into
    out[1:] = z[:2] * w[1:]
    out[0, ::2] = w[0, :2]
    return out


def _setitem_torch(z, w):
    out = torch.zeros((3, 4), dtype=z.dtype) * 1
    out[1:] = z[:2] * w[1:]
    out[0, ::2] = w[0, :2]
    return out


SHAPE = [
    ("reshape", lambda z: z.reshape(4, 3), lambda z: z.reshape(4, 3)), ("T", lambda z: z.T, lambda z: z.T),
    ("transpose", lambda z: npg.transpose(z), lambda z: z.permute(1, 0)),
    ("swapaxes", lambda z: npg.swapaxes(z[None], 0, 2), lambda z: z[None].transpose(0, 2)),
    ("getitem", lambda z: z[1:, ::2], lambda z: z[1:, ::2]),
    ("getitem_adv", lambda z: z[[0, 2, 2], [1, 1, 3]], lambda z: z[[0, 2, 2], [1, 1, 3]]),
    ("getitem_mask", lambda z: z[np.array([True, False, True])], lambda z: z[torch.tensor([True, False, True])]),
    ("flip", lambda z: npg.flip(z, axis=1), lambda z: z.flip(1)),
    ("broadcast_to", lambda z: npg.broadcast_to(z[:1], (2, 3, 4)), lambda z: z[:1].expand(2, 3, 4)),
    ("pad", lambda z: npg.pad(z, ((1, 0), (0, 2))), lambda z: torch.nn.functional.pad(z, (0, 2, 1, 0))),
    ("repeat", lambda z: npg.repeat(z, 2, axis=0), lambda z: z.repeat_interleave(2, 0)),
    ("tile", lambda z: npg.tile(z, (1, 2)), lambda z: z.repeat(1, 2)),
    ("diagonal", lambda z: npg.diagonal(z), lambda z: torch.diagonal(z)),
    ("trace", lambda z: npg.trace(z), lambda z: torch.trace(z)),
    ("roll", lambda z: npg.roll(z, 1, axis=1), lambda z: torch.roll(z, 1, 1)),
    ("squeeze", lambda z: npg.squeeze(z[None]), lambda z: z[None].squeeze()),
    ("take_along_axis", lambda z: npg.take_along_axis(z, np.array([[0, 3], [1, 1], [2, 0]]), axis=1),
     lambda z: torch.take_along_dim(z, torch.tensor([[0, 3], [1, 1], [2, 0]]), 1)),
]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf", SHAPE, ids=[s[0] for s in SHAPE])
def test_shape_and_index_ops_match_torch(name, f, tf, dtype):
    compare(f, tf, [crandn(np.random.default_rng(12), (3, 4), dtype)], name)


MIXED = [  # (a complex, b real): the real leaf's gradient is real and equals torch's
    ("concatenate", lambda a, b: npg.concatenate([a, b]), lambda a, b: torch.cat([a, b])),
    ("stack", lambda a, b: npg.stack([a, b], axis=1), lambda a, b: torch.stack([a, b.to(a.dtype)], 1)),
    ("where", lambda a, b: npg.where(np.array([[True], [False], [True]]), a, b),
     lambda a, b: torch.where(torch.tensor([[True], [False], [True]]), a, b.to(a.dtype))),
    ("setitem", _setitem, _setitem_torch),
    ("astype", lambda a, b: a * b.astype(a.dtype), lambda a, b: a * b.to(a.dtype)),
    ("mul_sum", lambda a, b: (a * b).sum(axis=0), lambda a, b: (a * b).sum(0)),
]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf", MIXED, ids=[m[0] for m in MIXED])
def test_ops_mixing_complex_and_real_match_torch(name, f, tf, dtype):
    rng = np.random.default_rng(13)
    compare(f, tf, [crandn(rng, (3, 4), dtype), crandn(rng, (3, 4), FOR[np.dtype(dtype)])], name)


# --------------------------------------------------------------------------- contractions
CONTRACT = [
    ("matmul", (3, 4), (4, 2), lambda a, b: a @ b, lambda a, b: a @ b),
    ("matmul_batched", (2, 3, 4), (4, 2), npg.matmul, torch.matmul),
    ("matmul_batch_both", (2, 3, 4), (2, 4, 5), npg.matmul, torch.matmul),
    ("matvec", (3, 4), (4,), npg.matmul, torch.matmul), ("vecmat", (4,), (4, 2), npg.matmul, torch.matmul),
    ("vecvec", (4,), (4,), npg.matmul, torch.matmul), ("dot", (3, 4), (4, 2), npg.dot, torch.matmul),
    ("np.dot_1d", (4,), (4,), np.dot, torch.dot),
    ("einsum", (3, 4), (4, 2), lambda a, b: npg.einsum("ij,jk->ik", a, b),
     lambda a, b: torch.einsum("ij,jk->ik", a, b)),
    ("einsum_trace_outer", (3, 3), (2,), lambda a, b: npg.einsum("ii,j->j", a, b),
     lambda a, b: torch.einsum("ii,j->j", a, b)),
    ("tensordot", (2, 3, 4), (3, 4, 2), lambda a, b: npg.tensordot(a, b, 2),
     lambda a, b: torch.tensordot(a, b, 2)),
    ("inner", (3, 4), (2, 4), npg.inner, torch.inner), ("outer", (3,), (4,), npg.outer, torch.outer),
    ("kron", (2, 2), (2, 3), npg.kron, torch.kron),
]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("kinds", ["cc", "cf", "fc"])
@pytest.mark.parametrize("name,sa,sb,f,tf", CONTRACT, ids=[c[0] for c in CONTRACT])
def test_contractions_match_torch(name, sa, sb, f, tf, kinds, dtype):
    rng = np.random.default_rng(14)
    dt = {"c": np.dtype(dtype), "f": FOR[np.dtype(dtype)]}
    a, b = crandn(rng, sa, dt[kinds[0]]), crandn(rng, sb, dt[kinds[1]])

    def promoted(tfn):  # torch's matmul / einsum do not mix real and complex operands: promote as NumPy
        return lambda x, y: tfn(*(v.to(torch.promote_types(x.dtype, y.dtype)) for v in (x, y)))
    compare(f, promoted(tf), [a, b], f"{name} {kinds}")


# --------------------------------------------------------------------------- linear algebra
def _well_conditioned(rng, n, dtype, batch=()):
    return crandn(rng, batch + (n, n), dtype) + 3 * np.eye(n, dtype=dtype)


LINALG = [
    ("inv", lambda a, b: npg.linalg.inv(a), lambda a, b: torch.linalg.inv(a)),
    ("det", lambda a, b: npg.linalg.det(a), lambda a, b: torch.linalg.det(a)),
    ("solve", npg.linalg.solve, torch.linalg.solve),
    ("solve_vec", lambda a, b: npg.linalg.solve(a, b.reshape(-1)[:3]),
     lambda a, b: torch.linalg.solve(a, b.reshape(-1)[:3])),
    ("matrix_power3", lambda a, b: npg.linalg.matrix_power(a, 3), lambda a, b: torch.linalg.matrix_power(a, 3)),
    ("matrix_power-2", lambda a, b: npg.linalg.matrix_power(a, -2),
     lambda a, b: torch.linalg.matrix_power(a, -2)),
]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
@pytest.mark.parametrize("name,f,tf", LINALG, ids=[x[0] for x in LINALG])
def test_linalg_matches_torch(name, f, tf, batch, dtype):
    rng = np.random.default_rng(15)
    compare(f, tf, [_well_conditioned(rng, 3, dtype, batch), crandn(rng, batch + (3, 2), dtype)], name)


def test_solve_with_a_real_matrix_and_complex_right_side_matches_torch():
    rng = np.random.default_rng(16)
    a, b = _well_conditioned(rng, 3, np.float64), crandn(rng, (3, 2), np.complex128)
    compare(npg.linalg.solve, lambda x, y: torch.linalg.solve(x.to(y.dtype), y), [a, b], "solve real a")


def test_det_of_a_singular_complex_matrix_matches_torch():
    """The adjugate branch of det's gradient (from the SVD) for complex matrices (rank 2 of 3)."""
    rng = np.random.default_rng(17)
    u, v = crandn(rng, (3, 2), np.complex128), crandn(rng, (2, 3), np.complex128)
    compare(lambda a: npg.linalg.det(a), torch.linalg.det, [u @ v], "det singular")


def test_det_gradient_of_an_exactly_singular_complex_matrix_is_the_cofactor_matrix():
    """d det / dA is the cofactor matrix C, so the gradient of Re(det) is conj(C) (PyTorch 2.13 gives zeros
    here: its complex singular branch is not used as the oracle). C from 2x2 minors computed by NumPy."""
    m = np.array([[1, 2, 0], [2, 4, 0], [1, 1, 1]]) * (1 + 1j)
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) for j in range(3)]
                    for i in range(3)])
    a = npg.tensor(m)
    npg.real(npg.linalg.det(a)).backward()
    np.testing.assert_allclose(a.grad, np.conj(cof), atol=1e-12)


# --------------------------------------------------------------------------- NumPy functions that conjugate
CONJUGATING = [  # NumPy conjugates in these for complex data: values against NumPy, gradients by finite differences
    ("cov", lambda a, b: npg.cov(a), lambda a, b: np.cov(a)),
    ("cov_y", lambda a, b: npg.cov(a[:2], b[None, :]), lambda a, b: np.cov(a[:2], b[None, :])),
    ("corrcoef", lambda a, b: npg.corrcoef(a), lambda a, b: np.corrcoef(a)),
    ("vecdot", lambda a, b: npg.linalg.vecdot(a, b), lambda a, b: np.linalg.vecdot(a, b)),
    ("correlate", lambda a, b: npg.correlate(b, a[0, :2], "full"), lambda a, b: np.correlate(b, a[0, :2], "full")),
    ("convolve", lambda a, b: npg.convolve(b, a[0, :2]), lambda a, b: np.convolve(b, a[0, :2])),
    ("nanvar", lambda a, b: npg.nanvar(a, axis=1, ddof=1), lambda a, b: np.nanvar(a, axis=1, ddof=1)),
    ("nanstd", lambda a, b: npg.nanstd(a), lambda a, b: np.nanstd(a)),
    ("average", lambda a, b: npg.average(a, axis=0, weights=np.arange(1.0, 4.0)),
     lambda a, b: np.average(a, axis=0, weights=np.arange(1.0, 4.0))),
]


@pytest.mark.parametrize("name,f,npf", CONJUGATING, ids=[c[0] for c in CONJUGATING])
def test_numpy_functions_on_complex_data_match_numpy_and_finite_differences(name, f, npf):
    rng = np.random.default_rng(18)
    a, b = crandn(rng, (3, 4), np.complex128), crandn(rng, (4,), np.complex128)
    out = f(npg.tensor(a), npg.tensor(b))
    expected = npf(a, b)
    assert out.dtype == expected.dtype, f"{name}: dtype {out.dtype} vs NumPy's {expected.dtype}"
    close(out, expected, name)
    assert npg.autograd.gradcheck(f, (npg.tensor(a), npg.tensor(b)))


def test_cov_and_vecdot_gradients_match_torch():
    rng = np.random.default_rng(19)
    compare(lambda a: npg.cov(a), torch.cov, [crandn(rng, (3, 5), np.complex128)], "cov")
    compare(lambda a, b: npg.linalg.vecdot(a, b), torch.linalg.vecdot,
            [crandn(rng, (3, 4), np.complex64), crandn(rng, (4,), np.complex64)], "vecdot")


def test_sign_of_complex_is_torch_sgn():
    """np.sign of complex z is z/|z| (NumPy 2; it was refused): values, gradients, forward mode and second
    order against torch.sgn, 0 (and a zero gradient) at z = 0; vmap against a loop."""
    from npgrad.autograd import forward_ad as fwad
    z0 = np.array([1 + 2j, -0.5 + 0.3j, 0j, 2 - 1j])
    g0 = np.array([0.3 - 0.7j, 1.1 + 0.2j, 0.5 + 0.5j, -0.4 + 0.9j])
    z, tz = npg.tensor(z0), torch.tensor(z0, requires_grad=True)
    w, tw = npg.sign(z), torch.sgn(tz)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(w.data, np.sign(z0), rtol=1e-15)
    npg.real(w * np.conj(g0)).sum().backward()
    torch.real(tw * torch.tensor(np.conj(g0))).sum().backward()
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-13, atol=1e-15)
    t0 = np.array([0.1 + 0.2j, -0.3j, 1.0, 0.5 - 0.5j])
    with fwad.dual_level():
        tangent = fwad.unpack_dual(npg.sign(fwad.make_dual(npg.tensor(z0, requires_grad=False), npg.tensor(t0))))[1]
    expected = torch.func.jvp(torch.sgn, (torch.tensor(z0),), (torch.tensor(t0),))[1].numpy()
    np.testing.assert_allclose(tangent.data, expected, rtol=1e-12, atol=1e-15)
    nonzero = npg.tensor(z0[[0, 1, 3]])
    assert npg.autograd.gradcheck(npg.sign, (nonzero,)) and npg.autograd.gradgradcheck(npg.sign, (nonzero,))
    batch = np.stack([z0, z0 * (1 + 0.5j)])
    np.testing.assert_allclose(npg.func.vmap(npg.sign)(npg.tensor(batch)).data, np.sign(batch), rtol=1e-15)
