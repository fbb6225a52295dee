"""Regression tests from a hunt for wrong answers in reductions, cumulative ops, sorting and indexing, each
against PyTorch (values and gradients) or NumPy."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("index", [[-1], [0, -2, -2], [-3, 2]])
def test_index_fill_takes_negative_indices_as_torch(dtype, dim, index):
    """torch's index_fill (unlike index_select / index_add / index_copy) takes an index in [-size, size),
    counting from the end; npgrad raised IndexError for every negative index. (torch's own backward fails on
    a negative index, so the gradients are torch's for the same index counted from the start.)"""
    a = rnd(4, 3, dtype=dtype)
    x = npg.tensor(a)
    expected = torch.tensor(a).index_fill(dim, torch.tensor(index), -1.5).numpy()
    np.testing.assert_array_equal(x.index_fill(dim, np.array(index), -1.5).data, expected)
    wrapped = torch.tensor(index) % a.shape[dim]
    compare_with_torch(lambda x: x.index_fill(dim, np.array(index), -1.5),
                       lambda t: t.index_fill(dim, wrapped, -1.5), [a])
    compare_with_torch(lambda x, v: npg.index_fill(x, dim, np.array(index), v),
                       lambda t, v: torch.index_fill(t, dim, wrapped, v), [a, np.array(0.7, dtype=dtype)])


def test_index_fill_negative_index_on_a_0d_tensor_and_out_of_range():
    x = npg.tensor(np.array(1.0))
    assert float(x.index_fill(0, np.array([-1]), 3.0).data) == float(torch.tensor(1.0).index_fill(
        0, torch.tensor([-1]), 3.0))
    for bad in ([-5], [4], [0, -5]):       # torch: "index -5 is out of bounds for dimension 0 with size 4"
        with pytest.raises(IndexError, match=r"index_fill\(\): index out of range .*size 4"):
            npg.tensor(rnd(4, 3)).index_fill(0, np.array(bad), 1.0)


def test_index_fill_negative_batched_index_under_vmap_as_per_sample():
    """Under vmap with a batched index (the batching rule builds its own mask, and the rule for an index
    batched at two levels flat rows), each sample's negative index counts from its end, as the op on that
    sample alone. (torch.vmap itself gets this wrong, so the oracle is torch's index_fill per sample.)"""
    a = rnd(4, 3)
    index = np.array([[-1], [0], [-3]])
    per_sample = np.stack([torch.tensor(a).index_fill(1, torch.tensor(i), 7.0).numpy() for i in index])
    got = npg.vmap(lambda i: npg.tensor(a).index_fill(1, i, 7.0))(npg.tensor(index))
    np.testing.assert_array_equal(np.asarray(got.data), per_sample)
    both = np.stack([index, index[::-1]])
    got = npg.vmap(lambda i: npg.vmap(lambda j: npg.tensor(a).index_fill(1, j, 7.0))(i))(npg.tensor(both))
    np.testing.assert_array_equal(np.asarray(got.data), np.stack([per_sample, per_sample[::-1]]))
    with pytest.raises(IndexError, match="index_fill"):
        npg.vmap(lambda i: npg.tensor(a).index_fill(1, i, 7.0))(npg.tensor(np.array([[-4], [0]])))


NEG_ORD_CALLS = {  # npgrad, torch: a vector norm of negative order along dim 1
    "linalg.vector_norm": (lambda x, o: npg.linalg.vector_norm(x, ord=o, axis=1),
                           lambda t, o: torch.linalg.vector_norm(t, ord=o, dim=1)),
    "linalg.norm": (lambda x, o: npg.linalg.norm(x, ord=o, axis=1), lambda t, o: torch.linalg.norm(t, ord=o, dim=1)),
    "x.norm": (lambda x, o: x.norm(p=o, dim=1), lambda t, o: t.norm(p=o, dim=1)),
    "vector_norm of all": (lambda x, o: npg.linalg.vector_norm(x[:1], ord=o),
                           lambda t, o: torch.linalg.vector_norm(t[:1], ord=o)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [-1, -2, -0.5, -3])
@pytest.mark.parametrize("name", list(NEG_ORD_CALLS))
def test_negative_order_norm_with_a_zero_entry_has_torch_gradient(dtype, ord, name):
    """With ord < 0 one zero entry makes the norm 0 whatever the others are, so its gradient is 0 (torch's
    factor norm^(1 - ord)); npgrad's VJP divided by the norm replaced by 1 and gave the other entries
    |x|^(ord - 1): [3, 0, 2] with ord -2 had gradient [-0.037, 0, -0.125] times the weight."""
    a = np.array([[3.0, 0.0, 2.0], [1.0, -1.0, 0.5], [0.0, 0.0, 0.0], [0.0, -2.0, 0.0]], dtype)
    ours, theirs = NEG_ORD_CALLS[name]
    with np.errstate(divide="ignore"):
        compare_with_torch(lambda x: ours(x, ord), lambda t: theirs(t, ord), [a], what=name)


def test_negative_order_norm_gradient_by_finite_differences():
    """Moving any entry of [3, 0, 2] (not the zero one across 0) leaves the -2-norm at 0: the gradient is 0."""
    a = np.array([3.0, 0.0, 2.0])
    x = npg.tensor(a)
    with np.errstate(divide="ignore"):
        npg.linalg.vector_norm(x, ord=-2).backward()
        for i in (0, 2):
            for step in (1e-6, -1e-6):
                b = a.copy()
                b[i] += step
                assert float(np.linalg.vector_norm(b, ord=-2)) == 0.0
    np.testing.assert_array_equal(x.grad, np.zeros(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [-1.0, -2.0, -0.5])
def test_dist_and_normalize_of_negative_order_with_a_zero_entry_as_torch(dtype, p):
    """torch.dist / F.normalize with p < 0 where a difference (an entry) is 0: the norm is 0 with gradient 0;
    npgrad's composed power sum gave NaN (0 * inf at the zero entry) for dist."""
    a = np.array([[3.0, 0.0, 2.0], [1.0, -1.0, 0.5]], dtype)
    b = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype)
    with np.errstate(divide="ignore"):
        compare_with_torch(lambda x, y: npg.dist(x, y, p=p), lambda s, t: torch.dist(s, t, p=p), [a, b])
        compare_with_torch(lambda x: npg.nn.functional.normalize(x, p=p, dim=1),
                           lambda t: torch.nn.functional.normalize(t, p=p, dim=1), [a])
        compare_with_torch(lambda x, y: npg.nn.functional.pairwise_distance(x, y, p=p, eps=0.0),
                           lambda s, t: torch.nn.functional.pairwise_distance(s, t, p=p, eps=0.0), [a, b])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ddof", [0, 1])
def test_nanstd_of_a_constant_slice_has_gradient_0_as_std(dtype, ddof):
    """nanstd where the numbers left are all equal is 0 with gradient 0, as torch's std of those numbers (and
    npg.std); sqrt(nanvar) gave 0 * inf = NaN there."""
    a = np.array([[2.0, 2.0, np.nan], [1.0, np.nan, 1.0], [1.0, 3.0, 0.5]], dtype)
    keep = [[0, 1], [0, 2], [0, 1, 2]]
    compare_with_torch(lambda x: npg.nanstd(x, axis=1, ddof=ddof),
                       lambda t: torch.stack([t[i, k].std(correction=ddof) for i, k in enumerate(keep)]), [a])
    compare_with_torch(lambda x: npg.nanstd(x, ddof=ddof), lambda t: t.std(correction=ddof),
                       [np.full((2, 3), 1.5, dtype)])
