"""matmul / @ in every NumPy rank case, dot, inner, outer, tensordot: values against NumPy,
gradients against PyTorch (float32 and float64) and finite differences (float64)."""
import itertools

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, check_finite_difference, compare_with_torch


DTYPES = [np.float32, np.float64]


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _check(npg_fn, torch_fn, np_fn, shapes, dtype, what):
    arrays = _arrays(shapes, dtype)
    assert_close(npg_fn(*[npg.tensor(a) for a in arrays]), np_fn(*arrays), what=f"{what} vs NumPy")
    compare_with_torch(npg_fn, torch_fn, arrays, what=what)


# ------------------------------------------------------------------ every rank pairing
def _rank_shapes(ra, rb, broadcast):
    """Shapes of a (rank ra) and b (rank rb) for matmul, n=2 rows, k=3 contracted, m=4 columns.
    With ``broadcast`` the batch dims are 1 in one operand where the other has a larger size."""
    full = (5, 2)
    ba = full[len(full) - max(ra - 2, 0):]
    bb = full[len(full) - max(rb - 2, 0):]
    if broadcast:
        ba = tuple(1 if i % 2 == 0 else n for i, n in enumerate(ba))
        bb = tuple(1 if i % 2 == 1 else n for i, n in enumerate(bb))
    a = (3,) if ra == 1 else ba + (2, 3)
    b = (3,) if rb == 1 else bb + (3, 4)
    return a, b


RANK_CASES = sorted({_rank_shapes(ra, rb, bc) for ra, rb in itertools.product(range(1, 5), repeat=2)
                     for bc in (False, True)})
EXTRA_CASES = [
    ((7, 3, 4), (1, 4, 5)),        # the seed example
    ((1, 4), (6, 4, 2)),           # 2-D @ 3-D
    ((6, 1, 2, 4), (3, 4, 2)),     # batch dims (6,1) against (3,)
    ((4,), (2, 3, 4, 5)),          # 1-D @ 4-D
    ((2, 3, 4, 5), (5,)),          # 4-D @ 1-D
    ((1, 1, 3, 4), (4, 1)),
]
SIZE0_CASES = [((0, 3), (3, 4)), ((2, 0), (0, 3)), ((0, 2, 3), (3, 4)), ((3,), (3, 0)), ((0,), (0,)),
               ((2, 0, 3), (1, 3, 5)), ((4, 0), (0,)), ((0,), (0, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", RANK_CASES + EXTRA_CASES + SIZE0_CASES)
def test_matmul_vs_numpy_and_torch(sa, sb, dtype):
    _check(lambda a, b: a @ b, lambda a, b: a @ b, np.matmul, [sa, sb], dtype, f"matmul {sa} @ {sb}")


def test_every_rank_pairing_is_covered():
    ranks = {(len(a), len(b)) for a, b in RANK_CASES}
    assert ranks == set(itertools.product(range(1, 5), repeat=2))
    # and some pair really broadcasts batch dims
    assert any(len(a) > 2 and len(b) > 2 and a[:-2] != b[:-2] for a, b in RANK_CASES)


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((5, 1, 2, 3), (2, 3, 4)),
                                   ((7, 3, 4), (1, 4, 5))])
def test_matmul_finite_differences(sa, sb):
    check_finite_difference(lambda a, b: npg.matmul(a, b), _arrays([sa, sb], np.float64), what=f"{sa}@{sb}")


def test_matmul_function_forms_and_constants():
    a, b = _arrays([(2, 3), (3, 4)], np.float64)
    x = npg.tensor(a)
    for out in (np.matmul(x, b), x.matmul(b), npg.matmul(x, b), x @ b):
        assert_close(out, a @ b)
    y = b.T @ npg.tensor(a).T            # NumPy array on the left
    assert isinstance(y, npg.Tensor)
    assert_close(y, b.T @ a.T)
    npg.sum(x @ b).backward()
    assert_close(x.grad, np.ones((2, 4)) @ b.T)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 2)), ((3,), (4,)), ((2, 2, 3), (3, 3, 2)), ((5, 3), (2,)),
                                   ((4,), (3, 2)), ((2, 3, 4), (2, 5, 6))])
def test_matmul_mismatch_names_both_shapes(sa, sb):
    with pytest.raises(ValueError) as e:
        npg.ones(sa) @ npg.ones(sb)
    assert str(sa) in str(e.value) and str(sb) in str(e.value) and "matmul" in str(e.value)


def test_matmul_scalar_operand_is_an_error():
    with pytest.raises(ValueError, match="at least 1-D"):
        npg.matmul(npg.tensor(2.0), npg.ones(3))


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (4, 5)), ((4,), (4,)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,)),
                                   ((1, 3, 4), (2, 4, 2))])
def test_matmul_second_order_vs_torch(sa, sb):
    a, b = _arrays([sa, sb], np.float64)
    x, y = npg.tensor(a), npg.tensor(b)
    gx, = npg.autograd.grad(npg.sum(npg.tanh(x @ y)), [x], create_graph=True)
    npg.sum(gx * gx).backward()
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tgx, = torch.autograd.grad(torch.tanh(tx @ ty).sum(), [tx], create_graph=True)
    (tgx * tgx).sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    assert_close(y.grad, ty.grad.numpy())


# ------------------------------------------------------------------ size 0 and mixed precision (issue 12)
def _size0_shapes():
    """Every rank pairing with, in turn, n, k, m or a batch dim of size 0 (batch dims broadcast
    as 1 against 2, or are absent in one operand)."""
    cases = set()
    for ra, rb in itertools.product(range(1, 4), repeat=2):
        for zero in ("n", "k", "m", "batch"):
            n, k, m, batch = (0 if zero == d else v for d, v in (("n", 2), ("k", 3), ("m", 4), ("batch", 2)))
            a = (k,) if ra == 1 else (batch,) * (ra - 2) + (n, k)
            b = (k,) if rb == 1 else (1,) * (rb - 2) + (k, m)
            cases.add((a, b))
            if rb > 2:  # batch dims on the right operand, the left one without (or with 1)
                cases.add(((k,) if ra == 1 else (1,) * (ra - 2) + (n, k), (batch,) * (rb - 2) + (k, m)))
    return sorted(cases)


SIZE0_ALL = _size0_shapes() + [((2, 3, 0), (0, 4)), ((2, 3, 0), (1, 0, 4)), ((0,), (2, 0, 4)),
                               ((2, 3, 0), (0,)), ((3, 0), (2, 0, 4)), ((2, 1, 3, 0), (5, 0, 4))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", SIZE0_ALL)
def test_matmul_size0_as_numpy(sa, sb, dtype):
    """(2, 3, 0) @ (0, 4) is a (2, 3, 4) array of zeros in NumPy; every size-0 case gives NumPy's
    value and zero gradients of the inputs' shapes, also on the create_graph path."""
    a, b = _arrays([sa, sb], dtype)
    expected = np.matmul(a, b)
    for create_graph in (False, True):
        x, y = npg.tensor(a), npg.tensor(b)
        z = x @ y
        assert z.dtype == expected.dtype
        assert_close(z, expected, what=f"{sa} @ {sb}")
        grads = npg.autograd.grad(npg.sum(z * 2.0), [x, y], create_graph=create_graph)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        (torch.matmul(ta, tb) * 2.0).sum().backward()
        for g, arr, tg in zip(grads, (a, b), (ta.grad, tb.grad)):
            assert g.shape == arr.shape and g.dtype == arr.dtype
            assert_close(g, tg.numpy(), what=f"grad of {sa} @ {sb}")


@pytest.mark.parametrize("sa,sb", [((50, 300), (300, 20)), ((300,), (300, 20)), ((20, 300), (300,)),
                                   ((300,), (300,)), ((4, 50, 300), (300, 20)), ((300,), (4, 300, 20)),
                                   ((1, 20, 300), (6, 300, 20)), ((6, 20, 300), (1, 300, 20))])
@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("create_graph", [False, True])
def test_matmul_mixed_precision_gradient_in_result_dtype(sa, sb, which, create_graph):
    """float32 @ float64: the float32 operand's gradient is computed in float64 (the result's dtype)
    and then rounded once to float32, so it is the float64 gradient rounded (within one float32 ulp)."""
    a, b = _arrays([sa, sb], np.float64, seed=4)
    if which == 0:
        a = a.astype(np.float32)
    else:
        b = b.astype(np.float32)
    x, y = npg.tensor(a), npg.tensor(b)
    z = x @ y
    assert z.dtype == np.float64
    w = np.random.default_rng(5).standard_normal(z.shape)
    grads = npg.autograd.grad(npg.sum(z * w), [x, y], create_graph=create_graph)
    ta, tb = (torch.tensor(v.astype(np.float64), requires_grad=True) for v in (a, b))
    (torch.matmul(ta, tb) * torch.tensor(w)).sum().backward()
    exact = (ta.grad.numpy(), tb.grad.numpy())[which]
    got = grads[which]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data, exact.astype(np.float32), rtol=2 ** -23, atol=1e-30)


# ------------------------------------------------------------------ dot, inner, outer, tensordot
def _torch_dot(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return a @ b
    return torch.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2]))


DOT_CASES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 4, 3), (5, 3, 2)),
             ((2, 3), (4, 3, 5)), ((2, 2, 3), (3,)), ((), (2, 3)), ((2, 3), ()), ((0, 3), (3, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", DOT_CASES)
def test_dot(sa, sb, dtype):
    _check(npg.dot, _torch_dot, np.dot, [sa, sb], dtype, f"dot {sa} {sb}")


def _torch_inner(a, b):
    return a * b if a.ndim == 0 or b.ndim == 0 else torch.inner(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((2, 4, 3), (5, 3)),
                                   ((), (2, 3)), ((0, 3), (2, 3))])
def test_inner(sa, sb, dtype):
    _check(npg.inner, _torch_inner, np.inner, [sa, sb], dtype, f"inner {sa} {sb}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", [((3,), (4,)), ((2, 3), (4,)), ((2, 2), (3, 1)), ((0,), (3,)), ((), (3,))])
def test_outer(sa, sb, dtype):
    _check(npg.outer, lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)), np.outer, [sa, sb], dtype,
           f"outer {sa} {sb}")


TENSORDOT_CASES = [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0), ((3, 4), (3, 4), 2),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])), ((2, 3, 4), (5, 2), ([0], [1])), ((2, 3), (3, 2), (1, 0)),
    ((2, 3, 4), (4, 2), ([-1, 0], [0, -1])), ((2, 0, 3), (0, 3, 4), 2), ((4, 3, 2), (2, 3, 4), ([0, 1, 2], [2, 1, 0])),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,axes", TENSORDOT_CASES)
def test_tensordot(sa, sb, axes, dtype):
    taxes = axes if isinstance(axes, int) else ([axes[0]] if isinstance(axes[0], int) else axes[0],
                                                [axes[1]] if isinstance(axes[1], int) else axes[1])
    _check(lambda a, b: npg.tensordot(a, b, axes=axes), lambda a, b: torch.tensordot(a, b, dims=taxes),
           lambda a, b: np.tensordot(a, b, axes=axes), [sa, sb], dtype, f"tensordot {sa} {sb} {axes}")


@pytest.mark.parametrize("fn", [npg.dot, npg.inner, lambda a, b: npg.tensordot(a, b, axes=([1], [0])),
                                npg.outer, np.dot, np.tensordot])
def test_contractions_finite_differences(fn):
    check_finite_difference(fn, _arrays([(2, 3, 3), (3, 3)], np.float64), what=str(fn))


@pytest.mark.parametrize("fn,np_fn,sa,sb", [
    (npg.dot, np.dot, (2, 3), (4, 2)), (npg.dot, np.dot, (2, 2, 3), (4, 2, 2)), (npg.dot, np.dot, (3,), (4,)),
    (npg.inner, np.inner, (2, 3), (4, 2)), (npg.inner, np.inner, (3,), (2,)),
    (lambda a, b: npg.tensordot(a, b, axes=1), lambda a, b: np.tensordot(a, b, axes=1), (2, 3), (4, 2)),
    # contracted dims never broadcast
    (lambda a, b: npg.tensordot(a, b, axes=1), lambda a, b: np.tensordot(a, b, axes=1), (2, 1), (3, 2)),
    (lambda a, b: npg.tensordot(a, b, axes=([0], [1])), lambda a, b: np.tensordot(a, b, axes=([0], [1])),
     (2, 3), (2, 3)),
])
def test_contraction_mismatch_names_both_shapes(fn, np_fn, sa, sb):
    with pytest.raises(ValueError):          # NumPy refuses these shapes too
        np_fn(np.ones(sa), np.ones(sb))
    with pytest.raises(ValueError) as e:
        fn(npg.ones(sa), npg.ones(sb))
    assert str(sa) in str(e.value) and str(sb) in str(e.value)


def test_tensordot_bad_axes():
    a, b = npg.ones((2, 3)), npg.ones((3, 2))
    with pytest.raises(ValueError, match="repeated axis"):
        npg.tensordot(a, b, axes=([1, 1], [0, 0]))
    with pytest.raises(ValueError, match="same length"):
        npg.tensordot(a, b, axes=([1], [0, 1]))
    with pytest.raises(ValueError):
        npg.tensordot(a, b, axes=3)
    with pytest.raises(np.exceptions.AxisError):
        npg.tensordot(a, b, axes=([2], [0]))
