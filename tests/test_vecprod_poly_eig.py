"""vdot / vecdot / matvec / vecmat, the np.poly* functions and np.linalg.eig / eigvals beyond the op tables
(tests/table_poly_eig.py rows in test_ops_table.py; eig in test_linalg.py and test_complex_linalg.py): complex
inputs against PyTorch, NumPy's dispatch, NumPy's edge cases and dtypes (checked against NumPy itself), errors."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.autograd import gradcheck
from tests.complex_helpers import CDTYPES, close, compare, crandn


# ------------------------------------------------------------------------------------ vector products
def _t_vecmat(v, m):
    return torch.matmul(v.conj().unsqueeze(-2), m).squeeze(-2)


PRODUCTS = [
    ("vdot", npg.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), (2, 3), (6,)),
    ("np.vdot", np.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), (4,), (2, 2)),
    ("vecdot", npg.vecdot, torch.linalg.vecdot, (4, 1, 3), (2, 3)),
    ("np.vecdot", lambda a, b: np.vecdot(a, b, axis=0), lambda a, b: torch.linalg.vecdot(a, b, dim=0), (3, 2), (3, 2)),
    ("matvec", npg.matvec, lambda m, v: torch.matmul(m, v.unsqueeze(-1)).squeeze(-1), (4, 1, 2, 3), (5, 3)),
    ("np.matvec", np.matvec, lambda m, v: torch.matmul(m, v.unsqueeze(-1)).squeeze(-1), (2, 3), (3,)),
    ("vecmat", npg.vecmat, _t_vecmat, (2, 1, 3), (4, 3, 2)),
    ("np.vecmat", np.vecmat, _t_vecmat, (3,), (3, 2)),
]


@pytest.mark.parametrize("kinds", ["cc", "cf", "fc"])
@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf,sa,sb", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products_of_complex_tensors_match_torch(name, f, tf, sa, sb, dtype, kinds):
    rng = np.random.default_rng(0)
    real = np.float32 if dtype == np.complex64 else np.float64
    a, b = (crandn(rng, s, dtype if k == "c" else real) for s, k in zip((sa, sb), kinds))
    promoted = lambda x, y: tf(*(t.to(torch.promote_types(x.dtype, y.dtype)) for t in (x, y)))  # noqa: E731
    compare(f, promoted, [a, b], f"{name} {kinds}")


@pytest.mark.parametrize("name,f,tf,sa,sb", PRODUCTS[::2], ids=[p[0] for p in PRODUCTS[::2]])
def test_products_gradcheck_complex128(name, f, tf, sa, sb):
    rng = np.random.default_rng(1)
    assert gradcheck(f, (npg.tensor(crandn(rng, sa, np.complex128)), npg.tensor(crandn(rng, sb, np.complex128))))


def test_products_conjugate_as_numpy():
    rng = np.random.default_rng(2)
    a, b = crandn(rng, (2, 3), np.complex128), crandn(rng, (2, 3), np.complex128)
    m = crandn(rng, (2, 3, 3), np.complex128)
    for got, want in [(npg.vdot(a, b), np.vdot(a, b)), (npg.vecdot(a, b), np.vecdot(a, b)),
                      (np.vecdot(npg.tensor(a), npg.tensor(b)), np.vecdot(a, b)),
                      (npg.matvec(m, b), np.matvec(m, b)), (npg.vecmat(a, m), np.vecmat(a, m)),
                      (np.vecmat(npg.tensor(a), npg.tensor(m)), np.vecmat(a, m))]:
        assert isinstance(got, npg.Tensor)
        np.testing.assert_allclose(got.data, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.float32, np.complex64])
def test_products_keep_numpys_dtype(dtype):
    a = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
    m = (np.arange(18).reshape(2, 3, 3) % 3).astype(dtype)
    for f, args in [("vdot", (a, a)), ("vecdot", (a, a)), ("matvec", (m, a)), ("vecmat", (a, m))]:
        got, want = getattr(npg, f)(*args), getattr(np, f)(*args)
        assert got.dtype == np.asarray(want).dtype, (f, dtype)
        np.testing.assert_array_equal(got.data, want)
        assert not got.requires_grad   # (arrays in, a constant out)
        got = getattr(npg, f)(*(npg.tensor(x, requires_grad=np.dtype(dtype).kind in "fc") for x in args))
        assert got.dtype == np.asarray(want).dtype and got.requires_grad == (np.dtype(dtype).kind in "fc")


def test_vdot_of_python_and_0d_values():
    assert npg.vdot(npg.tensor(2.0), 3.0).item() == np.vdot(2.0, 3.0)
    assert npg.vdot(np.ones(0), np.ones(0)).item() == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda: npg.vdot(npg.ones(3), npg.ones(4)), r"vdot: a of shape \(3,\) and b of shape \(4,\) have different "),
    (lambda: npg.vecdot(npg.ones(3), npg.ones(4)), r"vecdot: shapes \(3,\) and \(4,\) differ"),
    (lambda: npg.vecdot(npg.tensor(1.0), npg.tensor(2.0)), r"vecdot: axis -1 is out of range"),
    (lambda: npg.matvec(npg.ones(3), npg.ones(3)), r"matvec: Input operand 0 does not have enough dimensions"),
    (lambda: npg.matvec(npg.ones((2, 3)), npg.ones(4)), r"matvec: Input operand 1 has a mismatch .* \(size 4 is "),
    (lambda: npg.vecmat(npg.ones(3), npg.ones((4, 2))), r"vecmat: Input operand 1 has a mismatch"),
    (lambda: npg.vecmat(npg.ones(3), npg.ones(3)), r"vecmat: Input operand 1 does not have enough dimensions"),
    (lambda: np.matvec(npg.ones((2, 2, 3)), npg.ones((5, 3))), r"matvec: shapes .* do not broadcast"),
])
def test_product_errors_name_the_op(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_gufunc_keywords_other_than_vecdots_axis_are_refused():
    x = npg.ones((2, 3))
    with pytest.raises(TypeError, match=r"numpy.vecdot with \['keepdims'\]"):
        np.vecdot(x, x, keepdims=True)
    with pytest.raises(TypeError, match=r"numpy.matvec with \['axes'\]"):
        np.matvec(npg.ones((3, 3)), x, axes=[(0, 1), 0, 0])
