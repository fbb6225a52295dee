"""Edge cases of npgrad.nn.functional found by differential testing against torch.nn.functional: each test
compares values and gradients with PyTorch on the input that used to diverge."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F


def _both(f_np, f_torch, arrays, consts=(), kw=None, tol=1e-10):
    """Runs both functions on float64 leaves ``arrays`` (then ``consts``), compares the outputs and the
    gradients of a random weighting of them."""
    kw = kw or {}
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    ns = [npg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    to = f_torch(*ts, *[torch.as_tensor(c) if isinstance(c, np.ndarray) else c for c in consts], **kw)
    no = f_np(*ns, *consts, **kw)
    np.testing.assert_allclose(no.data, to.detach().numpy(), rtol=tol, atol=tol)
    w = np.random.default_rng(0).standard_normal(to.shape)
    (to * torch.tensor(w)).sum().backward()
    (no * npg.tensor(w)).sum().backward()
    for t, n in zip(ts, ns):
        np.testing.assert_allclose(np.asarray(n.grad), t.grad.numpy(), rtol=tol, atol=tol)


def _log_probs(T, N, C, seed=0):
    return torch.randn(T, N, C, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)).log_softmax(2)


def test_ctc_loss_zero_input_length():
    # an input of length 0 aligns with an empty target only (loss 0), else the loss is infinite
    lp = _log_probs(3, 3, 3).numpy()
    for zi in (False, True):
        _both(F.ctc_loss, TF.ctc_loss, [lp], (np.array([[1, 2], [1, 2], [2, 1]]), np.array([0, 0, 3]),
                                             np.array([0, 2, 2])), dict(reduction="none", zero_infinity=zi))


def test_ctc_loss_all_targets_empty():
    # a batch whose targets are all empty (one extended state) used to fail to build the state masks
    lp = _log_probs(4, 2, 3).numpy()
    for tg in (np.zeros(0, np.int64), np.zeros((2, 0), np.int64), np.zeros((2, 1), np.int64)):
        for red in ("none", "mean"):
            _both(F.ctc_loss, TF.ctc_loss, [lp], (tg, np.array([4, 2]), np.array([0, 0])), dict(reduction=red))
    _both(F.ctc_loss, TF.ctc_loss, [lp[:, 0]], (np.zeros(0, np.int64), np.array(3), np.array(0)))


def test_ctc_loss_impossible_alignment_gradient_is_nan_as_torch():
    lp = _log_probs(2, 2, 3).numpy()
    args = (np.array([[1, 1, 1], [1, 2, 0]]), np.array([2, 2]), np.array([3, 2]))
    t = torch.tensor(lp, requires_grad=True)
    TF.ctc_loss(t, *map(torch.tensor, args), reduction="sum").backward()
    n = npg.tensor(lp, requires_grad=True)
    F.ctc_loss(n, *args, reduction="sum").backward()
    np.testing.assert_allclose(np.asarray(n.grad), t.grad.numpy(), rtol=1e-10, atol=1e-10, equal_nan=True)


def test_avg_pool3d_input_smaller_than_kernel_raises_as_torch():
    # avg_pool3d (not 1-d/2-d, not max_pool3d) checks the unpadded input against the kernel
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 1, 5))
    try:
        TF.avg_pool3d(torch.tensor(x), (2, 3, 1), padding=(0, 1, 0))
    except RuntimeError:
        pass
    else:
        raise AssertionError("torch accepted it")
    with pytest.raises(ValueError, match="smaller than kernel_size"):
        F.avg_pool3d(npg.tensor(x), (2, 3, 1), padding=(0, 1, 0))
    _both(lambda t: F.avg_pool2d(t, (3, 1), padding=(1, 0)), lambda t: TF.avg_pool2d(t, (3, 1), padding=(1, 0)),
          [x[:, :, 0]])


@pytest.mark.parametrize("mode, padding", [("constant", (-2, -1)), ("constant", (3, -3)), ("reflect", (-2, -1)),
                                           ("replicate", (0, -2)), ("replicate", (-2, -1, 0, 0)),
                                           ("circular", (-2, -1, 0, 0, 0, 0))])
def test_pad_negative_output_size_raises_as_torch(mode, padding):
    x = np.zeros((2, 2, 2, 2, 2)[:2 + len(padding) // 2])   # (N, C, *) with as many spatial dims as padded
    with pytest.raises(RuntimeError):
        TF.pad(torch.tensor(x), padding, mode=mode)
    with pytest.raises(ValueError, match="output size"):
        F.pad(npg.tensor(x), padding, mode=mode)


def test_pad_negative_widths_that_leave_an_output():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    for mode in ("constant", "reflect", "replicate", "circular"):
        for padding in ((-1, 2, 2, -1), (-2, -2, 1, 0), (1, -1, -2, 1)):
            _both(lambda t: F.pad(t, padding, mode=mode), lambda t: TF.pad(t, padding, mode=mode), [x])


def test_pdist_and_pairwise_distance_p_below_1_with_equal_coordinates():
    # |d|^p (p < 1) has an infinite derivative at d = 0: PyTorch gives such entries a zero gradient (was nan)
    a = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 3.0], [1.0, 3.0]])
    for p in (0.5, 0.3):
        _both(lambda t: F.pdist(t, p=p), lambda t: TF.pdist(t, p=p), [a])
        _both(lambda u, v: F.pairwise_distance(u, v, p=p, eps=0.0),
              lambda u, v: TF.pairwise_distance(u, v, p=p, eps=0.0), [a[:2], a[2:]])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_of_a_0d_tensor(approximate):
    # 0-d inputs crashed ("return arrays must be of ArrayType"): NumPy makes 0-d results scalars
    _both(lambda t: F.gelu(t, approximate=approximate), lambda t: TF.gelu(t, approximate=approximate),
          [np.array(0.7)])
    _both(lambda t: F.gelu(t, approximate=approximate), lambda t: TF.gelu(t, approximate=approximate),
          [np.array(-2.5)])


def test_erf_family_of_a_0d_tensor():
    for x in (0.3, 1.3, -2.3):
        _both(npg.special.erf, torch.special.erf, [np.array(x)])
        _both(npg.special.erfc, torch.special.erfc, [np.array(x)])
        _both(npg.special.ndtr, torch.special.ndtr, [np.array(x)])
    y = npg.special.ndtr(npg.tensor(np.array(0.3, np.float32)))
    assert y.dtype == np.float32 and y.shape == ()
    np.testing.assert_allclose(y.data, torch.special.ndtr(torch.tensor(0.3)).item(), rtol=1e-6)


@pytest.mark.parametrize("prob", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_weight_that_requires_grad_gets_its_gradient(prob, reduction, smoothing):
    """A weight tensor that requires grad (npgrad's default for float tensors) gets its gradient: PyTorch's for
    probability targets; for class indices (where PyTorch has no derivative) central differences."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 4)), rng.uniform(0.5, 2.0, 3)
    if prob:
        t = np.moveaxis(rng.dirichlet(np.ones(3), size=(2, 4)), -1, 1)
    else:
        t = rng.integers(0, 3, (2, 4))
        t[0, 0] = -100                                       # an ignored target
    X, W = npg.tensor(x), npg.tensor(w)
    out = F.cross_entropy(X, t, weight=W, label_smoothing=smoothing, reduction=reduction)
    out.sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=prob)
    tout = torch.nn.functional.cross_entropy(tx, torch.tensor(t), weight=tw, label_smoothing=smoothing,
                                             reduction=reduction)
    tout.sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    if prob:
        np.testing.assert_allclose(W.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-14)
    else:
        def f(v):
            out = F.cross_entropy(npg.tensor(x), t, weight=v, label_smoothing=smoothing, reduction=reduction)
            return out.data.sum()
        fd = np.array([(f(w + 1e-6 * e) - f(w - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
        np.testing.assert_allclose(W.grad, fd, rtol=1e-6, atol=1e-8)


def _central(f, w):
    return np.array([(f(w + 1e-6 * e) - f(w - 1e-6 * e)) / 2e-6 for e in np.eye(w.size)]).reshape(w.shape)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_weights_that_require_grad_get_their_gradient(reduction):
    """nll_loss's and the binary cross-entropies' weight, and pos_weight, when they require grad: the values
    of PyTorch's (which refuses these derivatives) and the gradients of central differences."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((4, 3)), rng.uniform(0.5, 2.0, 3)
    idx, t01, p = rng.integers(0, 3, 4), rng.uniform(0, 1, (4, 3)).round(), 1 / (1 + np.exp(-x))
    idx[1] = -100
    losses = {
        "nll_loss": (lambda L, v: L.nll_loss(L.log_softmax(npg.tensor(x) if L is F else torch.tensor(x), 1),
                                             idx if L is F else torch.tensor(idx), weight=v, reduction=reduction)),
        "binary_cross_entropy": (lambda L, v: L.binary_cross_entropy(
            npg.tensor(p) if L is F else torch.tensor(p), t01 if L is F else torch.tensor(t01), weight=v,
            reduction=reduction)),
        "bce_with_logits weight": (lambda L, v: L.binary_cross_entropy_with_logits(
            npg.tensor(x) if L is F else torch.tensor(x), t01 if L is F else torch.tensor(t01), weight=v,
            pos_weight=(w[::-1].copy() if L is F else torch.tensor(w[::-1].copy())), reduction=reduction)),
        "bce_with_logits pos_weight": (lambda L, v: L.binary_cross_entropy_with_logits(
            npg.tensor(x) if L is F else torch.tensor(x), t01 if L is F else torch.tensor(t01),
            weight=(w[::-1].copy() if L is F else torch.tensor(w[::-1].copy())), pos_weight=v, reduction=reduction)),
    }
    for name, loss in losses.items():
        W = npg.tensor(w)
        out = loss(F, W)
        out.sum().backward()
        np.testing.assert_allclose(out.data, loss(TF, torch.tensor(w)).numpy(), rtol=1e-12, err_msg=name)
        expected = _central(lambda v: loss(F, v).data.sum(), w)
        np.testing.assert_allclose(W.grad, expected, rtol=1e-6, atol=1e-8, err_msg=name)


def test_a_loss_module_keeps_its_class_weights_constant():
    """nn.CrossEntropyLoss(weight=npg.tensor(w)): the buffer is a constant sharing the tensor's memory (a float
    tensor requires grad by default in npgrad, not in PyTorch), so the module trains as torch's does."""
    w = npg.tensor(np.array([1.0, 2.0, 0.5]))
    loss = npg.nn.CrossEntropyLoss(weight=w)
    assert not loss.weight.requires_grad and np.shares_memory(loss.weight.data, w.data)
    x = npg.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    loss(x, np.array([0, 1, 2, 1])).backward()
    assert w.grad is None and x.grad is not None
