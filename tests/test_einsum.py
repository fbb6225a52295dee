"""einsum in every form np.einsum accepts: values against NumPy, gradients against
torch.einsum (float32 and float64) and finite differences (float64), hypothesis-generated
subscripts, and clear errors for bad subscripts."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch

import npgrad as npg
from npgrad.ops import contract
from tests.helpers import assert_close, check_finite_difference, compare_with_torch


DTYPES = [np.float32, np.float64]

CASES = [
    # one operand: permutations, implicit output, sums
    ("ij->ji", [(2, 3)]),
    ("ij", [(2, 3)]),                         # implicit: unchanged
    ("ji", [(2, 3)]),                         # implicit: alphabetical output 'ij' = transpose
    ("ba", [(3, 2)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ijkl->ljki", [(2, 3, 1, 4)]),
    ("ij->", [(2, 3)]),                       # everything summed within one operand
    ("ij->i", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i->", [(4,)]),
    ("i", [(4,)]),
    ("", [()]),                               # a 0-d operand, scalar output
    # repeated letters inside one operand: diagonals and traces
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),                         # implicit: the trace
    ("ii->", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("iij->ij", [(3, 3, 2)]),
    ("iii->i", [(3, 3, 3)]),
    ("iji->ij", [(3, 2, 3)]),
    ("i...i", [(3, 2, 3)]),                   # trace around an ellipsis, implicit output '...'
    ("...ii->...i", [(2, 3, 3)]),
    ("ijkli,ijmn->klmn", [(3, 4, 7, 8, 3), (3, 4, 5, 6)]),  # the seed example
    ("ii,ij->j", [(3, 3), (3, 2)]),
    # two operands
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),              # implicit
    ("ij,jk->ki", [(2, 3), (3, 4)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),          # upper-case letters
    ("ij, jk -> ik", [(2, 3), (3, 4)]),       # spaces are ignored
    ("i,i->", [(5,), (5,)]),
    ("i,i", [(5,), (5,)]),                    # implicit scalar
    ("i,j->ij", [(2,), (3,)]),
    ("i,j", [(2,), (3,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("ij,k->k", [(2, 3), (4,)]),              # i, j summed within the first operand only
    ("ij,k->", [(2, 3), (4,)]),
    ("ij,k", [(2, 3), (4,)]),                 # implicit outer product 'ijk'
    (",i->i", [(), (3,)]),                    # a scalar operand
    (",->", [(), ()]),
    # ellipsis, with broadcasting (size-1 '...' dims against larger ones)
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...i,...i->...", [(2, 3), (5, 1, 3)]),
    ("...i,...i", [(2, 3), (5, 1, 3)]),        # implicit, with '...'
    ("i...->...", [(3, 2, 4)]),
    ("...,...->...", [(2, 3), (3,)]),
    ("...,...", [(1, 3), (2, 1)]),
    ("i...j,j...->i...", [(2, 1, 3), (3, 4)]),
    ("...ij->...ji", [(2, 3, 4, 5)]),
    # labelled size-1 dims broadcast like NumPy / torch
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 5)]),
    # three or more operands
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 5), (5, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),          # bilinear
    ("ii,ij,jk->k", [(3, 3), (3, 2), (2, 4)]),
    ("i,i,i", [(4,), (4,), (4,)]),
    # size-0 dims
    ("i,i", [(0,), (0,)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("ij,jk->ik", [(0, 2), (2, 3)]),
    ("ij->i", [(0, 3)]),
    ("ii->i", [(0, 0)]),
    ("...i,...i->...", [(0, 3), (1, 3)]),
]


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def test_at_least_40_distinct_subscripts():
    assert len({s.replace(" ", "") for s, _ in CASES}) >= 40


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec,shapes", CASES, ids=[f"{s}:{sh}" for s, sh in CASES])
def test_einsum_vs_numpy_and_torch(spec, shapes, dtype):
    arrays = _arrays(shapes, dtype)
    out = npg.einsum(spec, *[npg.tensor(a) for a in arrays])
    expected = np.einsum(spec, *arrays)
    assert out.dtype == expected.dtype
    assert_close(out, expected, what=f"{spec} vs np.einsum")
    compare_with_torch(lambda *xs: npg.einsum(spec, *xs), lambda *ts: torch.einsum(spec, *ts), arrays,
                       what=spec)


@pytest.mark.parametrize("spec,shapes", CASES, ids=[f"{s}:{sh}" for s, sh in CASES])
def test_einsum_finite_differences(spec, shapes):
    check_finite_difference(lambda *xs: npg.einsum(spec, *xs), _arrays(shapes, np.float64, seed=3), what=spec)


def test_repeated_letter_gradient_lands_on_the_diagonal():
    a = np.random.default_rng(0).standard_normal((4, 4))
    x = npg.tensor(a)
    npg.sum(npg.einsum("ii->i", x) * np.arange(4.0)).backward()
    assert_close(x.grad, np.diag(np.arange(4.0)))


def test_np_einsum_dispatches_and_constants():
    a, b = _arrays([(2, 3), (3, 4)], np.float64)
    x = npg.tensor(a)
    out = np.einsum("ij,jk->ik", x, b)          # NumPy's function on a Tensor, a NumPy array constant
    assert isinstance(out, npg.Tensor)
    assert_close(out, a @ b)
    npg.sum(out).backward()
    assert_close(x.grad, np.ones((2, 4)) @ b.T)
    assert not npg.einsum("ij,jk->ik", a, b).requires_grad


def test_same_tensor_as_several_operands():
    a = np.random.default_rng(0).standard_normal((3, 3))
    x = npg.tensor(a)
    npg.einsum("ij,jk,ki->", x, x, x).backward()      # trace(x^3): gradient 3 (x^2)^T
    assert_close(x.grad, 3 * (a @ a).T)


@pytest.mark.parametrize("optimize", [True, False, "greedy", "optimal"])
def test_optimize_options_agree(optimize):
    arrays = _arrays([(2, 3), (3, 4), (4, 5)], np.float64)
    xs = [npg.tensor(a) for a in arrays]
    out = npg.einsum("ij,jk,kl->il", *xs, optimize=optimize)
    assert_close(out, np.einsum("ij,jk,kl->il", *arrays))
    npg.sum(out).backward()
    assert_close(xs[0].grad, np.ones((2, 5)) @ (arrays[1] @ arrays[2]).T)


def test_contraction_path_is_cached():
    contract._path_cache.clear()
    arrays = _arrays([(2, 3), (3, 4), (4, 5)], np.float64)
    npg.einsum("ij,jk,kl->il", *arrays)
    n = len(contract._path_cache)
    npg.einsum("ij,jk,kl->il", *arrays)
    assert len(contract._path_cache) == n == 1


@pytest.mark.parametrize("spec,shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]),
                                         ("...ij,j->...i", [(2, 1, 3, 4), (4,)]), ("iij,jk->k", [(3, 3, 2), (2, 2)])])
def test_einsum_second_order_vs_torch(spec, shapes):
    arrays = _arrays(shapes, np.float64)
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gs = npg.autograd.grad(npg.sum(npg.tanh(npg.einsum(spec, *xs))), xs, create_graph=True)
    npg.sum(sum(npg.sum(g * g) for g in gs)).backward()
    tgs = torch.autograd.grad(torch.tanh(torch.einsum(spec, *ts)).sum(), ts, create_graph=True)
    sum((g * g).sum() for g in tgs).backward()
    for x, t in zip(xs, ts):
        assert_close(x.grad, t.grad.numpy())


# ------------------------------------------------------------------ errors
BAD = [
    ("ij,jk->ik", [(2, 3)], "operand"),                       # wrong number of operands
    ("ij->ij", [(2, 3), (3, 4)], "operand"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "sizes 3 and 4"),         # letter size mismatch
    ("ij,ij->ij", [(2, 3), (3, 3)], "sizes"),
    ("ii->i", [(2, 3)], "repeated"),                          # a diagonal of a non-square pair
    ("ij->ik", [(2, 3)], "'k'"),                              # output letter in no operand
    ("i1->i", [(2, 2)], "'1'"),                               # invalid characters
    ("i-j", [(2, 2)], "'-'"),
    ("i.j", [(2, 2)], "'.'"),
    ("ij->i->j", [(2, 3)], "'->'"),
    ("ij->ii", [(2, 3)], "repeats"),
    ("ijk", [(2, 3)], "3 letters"),                           # letters and rank disagree
    ("ij", [(2, 3, 4)], "2 letters"),
    ("i......", [(2, 3)], "'...'"),
    ("...i->i", [(2, 3)], "'...'"),                           # '...' dims must appear in the output
    ("...i,...i->...", [(2, 3), (4, 3)], "'...'"),            # '...' dims do not broadcast
    ("ijk...", [(2, 3)], "shape"),
]


@pytest.mark.parametrize("spec,shapes,msg", BAD)
def test_bad_subscripts_raise_value_error(spec, shapes, msg):
    with pytest.raises(ValueError):                            # NumPy refuses them too
        np.einsum(spec, *[np.ones(s) for s in shapes])
    with pytest.raises(ValueError) as e:
        npg.einsum(spec, *[npg.ones(s) for s in shapes])
    text = str(e.value)
    assert text.startswith("einsum:") and msg in text, text


def test_sublist_form_and_bad_subscripts():
    a = npg.ones((2, 3))
    assert npg.einsum(a, [0, 1], [1]).data.tolist() == [2.0, 2.0, 2.0]  # the operand-list form (issue 13)
    with pytest.raises(TypeError, match="subscript"):
        npg.einsum(a, "ij")       # operands first: a string there is not a subscript list
    with pytest.raises(TypeError, match="subscript"):
        npg.einsum(a, [0, 1.5])


# ------------------------------------------------------------------ hypothesis
SIZES = {"a": 2, "b": 3, "c": 1, "d": 0, "e": 2}


@st.composite
def einsum_problems(draw):
    """A random valid einsum: 1-3 operands over letters with fixed sizes (one of them 0, one 1),
    repeated letters allowed, an optional '...' (with per-operand size-1 broadcasting), an
    explicit output (a subset of the letters, any order) or an implicit one."""
    letters = draw(st.sampled_from(["abe", "abce", "abcde"]))
    n_ops = draw(st.integers(1, 3))
    use_ell = draw(st.booleans())
    ell = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)) if use_ell else []
    terms, shapes = [], []
    for _ in range(n_ops):
        t = draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3))
        shape = [SIZES[c] for c in t]
        term = "".join(t)
        if use_ell and draw(st.booleans()):
            k = draw(st.integers(0, len(ell)))
            dims = [n if draw(st.booleans()) else 1 for n in ell[len(ell) - k:]]
            pos = draw(st.integers(0, len(t)))
            term = term[:pos] + "..." + term[pos:]
            shape = shape[:pos] + dims + shape[pos:]
        terms.append(term)
        shapes.append(tuple(shape))
    used = sorted({c for t in terms for c in t if c != "."})
    spec = ",".join(terms)
    if draw(st.booleans()):
        out = draw(st.permutations(used))
        out = out[:draw(st.integers(0, len(out)))]
        rhs = "".join(out)
        if any("..." in t for t in terms):
            pos = draw(st.integers(0, len(rhs)))
            rhs = rhs[:pos] + "..." + rhs[pos:]
        spec += "->" + rhs
    return spec, shapes


@settings(max_examples=60, deadline=None)
@given(einsum_problems())
def test_hypothesis_einsum_vs_numpy_and_finite_differences(problem):
    spec, shapes = problem
    arrays = _arrays(shapes, np.float64, seed=7)
    out = npg.einsum(spec, *[npg.tensor(a) for a in arrays])
    assert_close(out, np.einsum(spec, *arrays), what=spec)
    check_finite_difference(lambda *xs: npg.einsum(spec, *xs), arrays, what=spec)
