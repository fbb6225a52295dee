"""Hunt for silent wrong answers and unclear errors in ``npg.nn`` against ``torch.nn`` (same weights, same
inputs: values, gradients, and the inputs PyTorch refuses)."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

F = npg.nn.functional


def _torch_raises(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


@pytest.mark.parametrize("G,C", [(1, 1), (2, 2)])
def test_group_norm_module_with_fewer_channels_than_the_input_raises(G, C):
    # GroupNorm(G, C) holds (C,) weight and bias: a 4-channel input must be refused, as PyTorch does; a (1,)
    # weight used to broadcast over all 4 channels silently
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    _torch_raises(lambda: torch.nn.GroupNorm(G, C)(torch.tensor(x)))
    with pytest.raises(ValueError, match=r"group_norm: weight of shape \(%d,\) .*\(3, 4, 2\).*4 channels" % C):
        npg.nn.GroupNorm(G, C)(npg.tensor(x))


@pytest.mark.parametrize("which", ["weight", "bias"])
@pytest.mark.parametrize("shape", [(1,), (2,), (4, 1)])
def test_group_norm_functional_checks_weight_and_bias_shapes(which, shape):
    x = np.random.default_rng(1).standard_normal((3, 4))
    kw = {which: np.ones(shape)}
    _torch_raises(lambda: torch.nn.functional.group_norm(torch.tensor(x), 2, **{k: torch.tensor(v) for k, v in
                                                                                kw.items()}))
    with pytest.raises(ValueError, match=rf"group_norm: {which} of shape \({shape[0]},"):
        F.group_norm(npg.tensor(x), 2, **{k: npg.tensor(v) for k, v in kw.items()})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_norm_affine_matches_torch(dtype):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 6, 3)).astype(dtype), rng.standard_normal(6).astype(dtype), \
        rng.standard_normal(6).astype(dtype)
    g = rng.standard_normal((2, 6, 3)).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    (torch.nn.functional.group_norm(tx, 3, tw, tb) * torch.tensor(g)).sum().backward()
    nx, nw, nb = (npg.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.group_norm(nx, 3, nw, nb)
    (out * npg.tensor(g)).sum().backward()
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out.data.dtype == dtype
    for a, t in ((out, torch.nn.functional.group_norm(tx, 3, tw, tb)), (nx.grad, tx.grad), (nw.grad, tw.grad),
                 (nb.grad, tb.grad)):
        np.testing.assert_allclose(a.data, t.detach().numpy(), **tol)


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_with_lower_above_upper_raises(training):
    # PyTorch refuses lower > upper in both modes; npgrad failed with NumPy's bare "high - low < 0" in training
    # and silently used the mean slope in eval
    x = np.linspace(-2, 2, 5)
    _torch_raises(lambda: torch.nn.functional.rrelu(torch.tensor(x), 0.5, 0.1, training=training))
    with pytest.raises(ValueError, match=r"rrelu: lower bound \(0.5\) .* upper bound \(0.1\)"):
        F.rrelu(npg.tensor(x), 0.5, 0.1, training=training)
    with pytest.raises(ValueError, match=r"rrelu: lower bound"):
        npg.nn.RReLU(0.5, 0.1)(npg.tensor(x))


@pytest.mark.parametrize("size", [0, -1])
def test_local_response_norm_with_non_positive_size_raises(size):
    x = np.random.default_rng(3).standard_normal((1, 3, 4))
    _torch_raises(lambda: torch.nn.functional.local_response_norm(torch.tensor(x), size))
    with pytest.raises(ValueError, match=rf"local_response_norm: size .* positive integer, got {size}"):
        F.local_response_norm(npg.tensor(x), size)


def test_margin_ranking_loss_shape_mismatch_names_the_loss():
    rng = np.random.default_rng(4)
    a, b, y = rng.standard_normal(3), rng.standard_normal(3), np.ones(4)
    _torch_raises(lambda: torch.nn.functional.margin_ranking_loss(*(torch.tensor(v) for v in (a, b, y))))
    with pytest.raises(ValueError, match=r"margin_ranking_loss: input1 \(3,\), input2 \(3,\) and target \(4,\)"):
        F.margin_ranking_loss(*(npg.tensor(v) for v in (a, b, y)))


@pytest.mark.parametrize("p", [-1.0, -0.5, float("nan")])
def test_pdist_refuses_a_negative_or_nan_p(p):
    # a negative p is no norm: PyTorch refuses it; npgrad returned a harmonic-like "distance"
    x = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]])
    _torch_raises(lambda: torch.nn.functional.pdist(torch.tensor(x), p=p))
    with pytest.raises(ValueError, match=r"pdist: only supports non-negative p values, got p="):
        F.pdist(npg.tensor(x), p=p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.5, float("inf")])
def test_pdist_non_negative_p_matches_torch(dtype, p):
    x = np.random.default_rng(5).standard_normal((5, 3)).astype(dtype)
    g = np.random.default_rng(6).standard_normal(10).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    t = torch.nn.functional.pdist(tx, p=p)
    (t * torch.tensor(g)).sum().backward()
    nx = npg.tensor(x, requires_grad=True)
    out = F.pdist(nx, p=p)
    (out * npg.tensor(g)).sum().backward()
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out.data.dtype == dtype
    np.testing.assert_allclose(out.data, t.detach().numpy(), **tol)
    np.testing.assert_allclose(nx.grad.data, tx.grad.numpy(), **tol)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_refuses_an_integer_table(mode):
    idx, off, w = np.array([0, 1, 2]), np.array([0, 2]), np.arange(8).reshape(4, 2)
    _torch_raises(lambda: torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w), torch.tensor(off),
                                                            mode=mode))
    with pytest.raises(TypeError, match=r"embedding_bag: weight must be floating point .*int64"):
        F.embedding_bag(npg.tensor(idx), npg.tensor(w), npg.tensor(off), mode=mode)


@pytest.mark.parametrize("fn", ["pdist", "pairwise_distance"])
def test_p0_distance_requires_grad_and_backpropagates_zeros(fn):
    # the p=0 "norm" counts non-zero entries: PyTorch's result requires grad and its backward gives zeros
    # (pdist) or nothing (pairwise_distance); npgrad's was a constant, so .sum().backward() raised
    x0 = np.array([[0.0, np.inf if fn == "pdist" else 5.0], [1.0, 2.0], [3.0, 0.0]])   # (inf: no 0 * inf)
    call = {"pdist": lambda F_, x: F_.pdist(x, p=0),
            "pairwise_distance": lambda F_, x: F_.pairwise_distance(x, x * 2 + 1, p=0)}[fn]
    tx = torch.tensor(x0, requires_grad=True)
    t = call(torch.nn.functional, tx)
    assert t.requires_grad
    t.sum().backward()
    nx = npg.tensor(x0, requires_grad=True)
    out = call(F, nx)
    assert out.requires_grad
    np.testing.assert_array_equal(out.data, t.detach().numpy())
    out.sum().backward()
    np.testing.assert_array_equal(nx.grad.data, np.zeros_like(x0))
    if tx.grad is not None:
        np.testing.assert_array_equal(nx.grad.data, tx.grad.numpy())
