"""Hunt for silent wrong answers and unclear errors in ``npg.nn.functional``'s losses against
``torch.nn.functional`` 2.13: values and gradients (float32 and float64, every reduction) on the cases the other
loss tests leave out (masked logits at ignored targets, CTC's blank / repeats / impossible alignments, the
Gaussian variance's shapes and clamp, the Poisson Stirling term, kl_div's zero targets), and the bad inputs
PyTorch refuses, each reported by the loss that was called."""
import warnings

import numpy as np
import pytest

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "sum", "mean"]


def _compare(name, arrays, kw=None, grad=(0,), nkw=None, seed=0):
    """F.<name> of npgrad and torch on the same arrays (keyword arrays: constants in torch, and in npgrad
    unless ``nkw`` says otherwise); the values and the gradients of sum(out * r), r random, with respect to
    the positional arrays whose index is in ``grad``. Returns npgrad's output."""
    import torch.nn.functional as T
    kw = kw or {}
    ta = [torch.tensor(a, requires_grad=i in grad) if isinstance(a, np.ndarray) else a for i, a in enumerate(arrays)]
    na = [npg.tensor(a, requires_grad=i in grad) if isinstance(a, np.ndarray) else a for i, a in enumerate(arrays)]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    nkw = nkw if nkw is not None else {k: npg.tensor(v, requires_grad=False) if isinstance(v, np.ndarray) else v
                                       for k, v in kw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = getattr(T, name)(*ta, **tkw)
        nout = getattr(F, name)(*na, **nkw)
        what = f"{name} {[np.shape(a) for a in arrays]} {sorted(kw)}"
        assert nout.dtype == np.dtype(str(tout.dtype).replace("torch.", "")), what
        assert_close(nout, tout.detach().numpy(), what=what + " value")
        r = np.random.default_rng(seed).standard_normal(tout.shape).astype(nout.dtype)
        tl, nl = [ta[i] for i in grad], [na[i] for i in grad]
        tg = torch.autograd.grad((tout * torch.tensor(r)).sum(), tl)
        ng = npg.autograd.grad((nout * npg.tensor(r)).sum(), nl)
    for i, (a, b) in enumerate(zip(ng, tg)):
        assert_close(a, b.numpy(), what=f"{what} grad of argument {grad[i]}")
    return nout


# ------------------------------------------------------------------ ignored targets next to masked logits
def _masked_logits(dt):
    """Logits with -inf entries (masked classes), class 0 among them in some rows, and class-index targets
    where the rows whose class 0 is masked are ignored (ignore_index 1 or -100)."""
    x = np.array([[-np.inf, 1.0, 2.0, 0.5], [0.3, -np.inf, 1.5, -0.2], [-np.inf, -np.inf, 0.7, 0.1],
                  [1.2, 0.4, -0.3, -np.inf]], dtype=dt)
    return x


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [None, "constant", "requires_grad"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("ignore_index", [1, -100])
def test_cross_entropy_ignored_target_in_a_masked_row_gives_zero(dt, reduction, weighted, smoothing, ignore_index):
    # an ignored target contributes 0 in torch (its kernel skips it); npgrad multiplied its 0 weight by the
    # log-probability it read in its place (class 0, -inf where masked): nan, spreading to 'sum' and 'mean'
    x = _masked_logits(dt)
    t = np.array([ignore_index, 0, ignore_index, 2])
    w = np.array([0.5, 2.0, 1.0, 1.5], dtype=dt)
    kw = dict(reduction=reduction, ignore_index=ignore_index)
    if smoothing:
        kw["label_smoothing"] = smoothing
        x = np.where(np.isinf(x) & (t[:, None] != ignore_index), dt(-30.0), x)  # (smoothing reads every class)
    nkw = dict(kw)
    if weighted:
        kw["weight"] = w
        nkw["weight"] = npg.tensor(w, requires_grad=weighted == "requires_grad")
    out = _compare("cross_entropy", [x, t], kw, nkw=nkw)
    assert np.isfinite(out.data).all()


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [None, "constant", "requires_grad"])
def test_nll_loss_ignored_target_reading_minus_inf_gives_zero(dt, reduction, weighted):
    # log-probabilities of masked classes are -inf; an ignored target used to read class 0's -inf: 0 * -inf
    lp = npg.nn.functional.log_softmax(npg.tensor(_masked_logits(dt)), dim=1).data.copy()
    t = np.array([-100, 0, -100, 2])
    w = np.array([0.5, 2.0, 1.0, 1.5], dtype=dt)
    kw, nkw = dict(reduction=reduction), dict(reduction=reduction)
    if weighted:
        kw["weight"] = w
        nkw["weight"] = npg.tensor(w, requires_grad=weighted == "requires_grad")
    out = _compare("nll_loss", [lp, t], kw, nkw=nkw)
    assert np.isfinite(out.data).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (0 / 0: the nan both libraries give)
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_all_targets_ignored_mean_with_a_weight_that_requires_grad(dt, name):
    # 'mean' over no valid target: nan, and no gradient at all for the input (torch's kernels write none); the
    # weight that requires grad takes the composed path, where 1/0 times the masked 0 made every gradient nan
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(dt)
    t = np.array([2, 2, 2])
    w = np.array([0.5, 2.0, 1.0, 1.5], dtype=dt)
    for wt in (None, npg.tensor(w, requires_grad=True)):
        xn = npg.tensor(x)
        out = getattr(F, name)(xn, t, weight=wt, ignore_index=2)
        tout = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(t), ignore_index=2)
        assert np.isnan(out.data) and np.isnan(tout.item())
        g, = npg.autograd.grad(out, [xn])
        xt = torch.tensor(x, requires_grad=True)
        tg, = torch.autograd.grad(getattr(torch.nn.functional, name)(xt, torch.tensor(t), ignore_index=2), [xt])
        assert_close(g, tg.numpy())
        assert (g.data == 0).all()


# ------------------------------------------------------------------ ctc_loss
def _ctc_compare(logits, targets, il, tl, **kw):
    """ctc_loss of log_softmax(logits) in npgrad and torch: values and the gradients of the logits."""
    import torch.nn.functional as T
    conv = (lambda a: torch.tensor(a) if isinstance(a, np.ndarray) else a)
    z = torch.tensor(logits, requires_grad=True)
    tout = T.ctc_loss(T.log_softmax(z, -1), conv(targets), conv(il), conv(tl), **kw)
    zn = npg.tensor(logits)
    nout = F.ctc_loss(F.log_softmax(zn, dim=-1), targets, il, tl, **kw)
    assert nout.dtype == logits.dtype and nout.shape == tuple(tout.shape)
    assert_close(nout, tout.detach().numpy(), what=f"ctc_loss {kw} value")
    r = np.random.default_rng(0).standard_normal(tout.shape).astype(logits.dtype)
    tg, = torch.autograd.grad((tout * torch.tensor(r)).sum(), [z])
    ng, = npg.autograd.grad((nout * npg.tensor(r)).sum(), [zn])
    assert_close(ng, tg.numpy(), what=f"ctc_loss {kw} grad")


def test_ctc_unbatched_input_refuses_a_batch_of_targets():
    # (T, C) log_probs hold one sequence; targets (2, 3) used to be flattened and their first 3 labels taken
    # (torch: "Expected tensor to have size 1 at dimension 0")
    rng = np.random.default_rng(0)
    lp = np.log(np.full((6, 4), 0.25))
    tg = np.array([[1, 2, 3], [3, 2, 1]])
    with pytest.raises(Exception):
        torch.nn.functional.ctc_loss(torch.tensor(lp), torch.tensor(tg), torch.tensor([6]), torch.tensor([3]))
    with pytest.raises(ValueError, match=r"ctc_loss: unbatched log_probs of shape \(6, 4\) need targets of shape "
                                         r"\(S,\) or \(1, S\), got \(2, 3\)"):
        F.ctc_loss(npg.tensor(lp), tg, np.array([6]), np.array([3]))
    for red in REDUCTIONS:  # (S,) and (1, S) are one sequence, as torch
        logits = rng.standard_normal((6, 4))
        _ctc_compare(logits, np.array([[1, 2, 3]]), np.array([6]), np.array([3]), reduction=red)
        _ctc_compare(logits, np.array([1, 2, 3]), np.array([6]), np.array([3]), reduction=red)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("blank", [0, 2, 4])
def test_ctc_blank_repeats_impossible_and_empty_targets(dt, reduction, zero_infinity, blank):
    rng = np.random.default_rng(blank)
    T, N, C = 9, 4, 5
    labels = [c for c in range(C) if c != blank]
    tg = rng.choice(labels, (N, 4))
    tg[0, 1] = tg[0, 2] = tg[0, 0]        # repeated labels: a blank must separate them
    il = np.array([9, 6, 3, 7])            # sample 2: 4 labels in 3 steps, impossible
    tl = np.array([4, 0, 4, 2])            # sample 1: an empty target
    logits = rng.standard_normal((T, N, C)).astype(dt)
    kw = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    _ctc_compare(logits, tg, il, tl, **kw)                                                    # padded (N, S)
    _ctc_compare(logits, np.concatenate([tg[n, :tl[n]] for n in range(N)]), il, tl, **kw)     # concatenated


@pytest.mark.parametrize("dt", DTYPES)
def test_ctc_long_sequence_stays_finite(dt):
    rng = np.random.default_rng(7)
    logits = (3 * rng.standard_normal((200, 2, 6))).astype(dt)
    tg = rng.integers(1, 6, (2, 40))
    for red in REDUCTIONS:
        _ctc_compare(logits, tg, np.array([200, 170]), np.array([40, 25]), reduction=red)


# ------------------------------------------------------------------ bad input, reported by the loss called
def test_multilabel_soft_margin_loss_weight_that_does_not_broadcast():
    x, t, w = np.zeros((4, 3)), np.ones((4, 3)), np.ones(2)
    with pytest.raises(Exception):
        torch.nn.functional.multilabel_soft_margin_loss(torch.tensor(x), torch.tensor(t), weight=torch.tensor(w))
    with pytest.raises(ValueError, match=r"multilabel_soft_margin_loss: input of shape \(4, 3\) and weight of "
                                         r"shape \(2,\) do not broadcast"):
        F.multilabel_soft_margin_loss(npg.tensor(x), t, weight=npg.tensor(w))


@pytest.mark.parametrize("name", ["triplet_margin_loss", "triplet_margin_with_distance_loss"])
def test_triplet_losses_name_themselves_when_the_triplet_does_not_broadcast(name):
    rng = np.random.default_rng(0)
    a, p, n = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    with pytest.raises(Exception):
        getattr(torch.nn.functional, name)(*(torch.tensor(v) for v in (a, p, n)))
    with pytest.raises(ValueError, match=rf"{name}: anchor \(4, 3\), positive \(4, 3\) and negative \(5, 3\) do not "
                                         r"broadcast together"):
        getattr(F, name)(*(npg.tensor(v) for v in (a, p, n)))
    # a broadcasting positive (1, 3) is fine, as in torch
    _compare(name, [a, p[:1].copy(), n[:4].copy()], grad=(0, 1, 2))


# ------------------------------------------------------------------ parity on the options the brief lists
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("vshape", [(4, 3), (4, 1), (4,), (1, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_var_shapes_full_and_eps_clamp(dt, reduction, vshape, full):
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((4, 3)).astype(dt), rng.standard_normal((4, 3)).astype(dt)
    v = np.abs(rng.standard_normal(vshape)).astype(dt)
    v.flat[0] = 1e-9                     # below eps: the value is clamped, the gradient is var's own (torch)
    _compare("gaussian_nll_loss", [x, t, v], dict(full=full, reduction=reduction, eps=1e-4), grad=(0, 1, 2))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss_log_input_full_and_eps(dt, reduction, log_input, full):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4)).astype(dt)
    x = x if log_input else np.abs(x)
    t = np.array([[0, 1, 1.5, 3], [2, 0.5, 1, 7], [4, 0, 1.0001, 1]], dtype=dt)   # the Stirling term: t > 1 only
    _compare("poisson_nll_loss", [x, t], dict(log_input=log_input, full=full, reduction=reduction, eps=0.01))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_zero_targets_and_batchmean(dt, reduction, log_target):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4)).astype(dt)
    t = np.abs(rng.standard_normal((3, 4))).astype(dt)
    t[0, 0] = t[2, 1] = 0                # 0 * log 0 = 0
    if log_target:                       # (log 0 = -inf would be nan in both: exp(-inf) * -inf)
        t = np.log(t + dt(1e-3))
    _compare("kl_div", [x, t], dict(reduction=reduction, log_target=log_target))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses_at_the_margin(dt, reduction):
    # ties where the hinge is exactly 0: the subgradient torch's clamp_min picks (the gradient passes)
    x1 = np.array([0.5, 1.0, -0.25, 2.0], dtype=dt)
    y = np.array([1, -1, 1, -1], dtype=dt)
    x2 = x1 + y * dt(0.5)                # -y (x1 - x2) + 0.5 = 0 exactly
    _compare("margin_ranking_loss", [x1, x2, y], dict(margin=0.5, reduction=reduction), grad=(0, 1))
    h = np.array([[0.5, 0.2], [0.5, 1.5]], dtype=dt)
    _compare("hinge_embedding_loss", [h, np.array([[-1, 1], [-1, -1]], dtype=dt)], dict(margin=0.5,
                                                                                        reduction=reduction))
    m = np.array([[1.0, 0.0, 0.5], [0.25, 1.25, 0.25]], dtype=dt)   # x[i] - x[y] + margin == 0 for some i
    w = np.array([0.5, 2.0, 1.5], dtype=dt)
    for p in (1, 2):
        _compare("multi_margin_loss", [m, np.array([0, 1])], dict(p=p, margin=1.0, weight=w, reduction=reduction))
    _compare("multilabel_margin_loss", [m, np.array([[0, -1, 2], [1, 1, -1]])], dict(reduction=reduction))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_custom_distance_and_swap(dt, reduction, swap):
    import torch.nn.functional as T
    rng = np.random.default_rng(4)
    a, p, n = (rng.standard_normal((5, 3)).astype(dt) for _ in range(3))
    p[1] = a[1]                          # d(a, n) == d(p, n): swap's minimum at a tie
    kw_t = dict(distance_function=lambda u, v: 1 - T.cosine_similarity(u, v), swap=swap, reduction=reduction,
                margin=0.5)
    kw_n = dict(kw_t, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v))
    _compare("triplet_margin_with_distance_loss", [a, p, n], kw_t, nkw=kw_n, grad=(0, 1, 2))
    _compare("triplet_margin_loss", [a, p, n], dict(margin=0.5, p=1.5, eps=1e-3, swap=swap, reduction=reduction),
             grad=(0, 1, 2))


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("name, smoothing", [("nll_loss", 0.0), ("cross_entropy", 0.0), ("cross_entropy", 0.25)])
def test_weight_gradient_with_an_ignored_target_next_to_a_masked_logit(name, smoothing, reduction):
    """The weight that requires grad (npgrad's extension: torch gives none for class-index targets) gets the
    gradient of the loss: finite, and equal to central differences of the loss computed with constant weights
    (the fused path). An ignored target used to read class 0's -inf in its place: 0 * -inf made its weight's
    gradient nan."""
    x = np.array([[-np.inf, 1.0, 2.0], [0.5, 1.0, 2.0], [0.1, -0.4, 0.3]])
    if name == "nll_loss":
        x = npg.nn.functional.log_softmax(npg.tensor(x), dim=1).data.copy()
    t = np.array([-100, 1, 0])
    w = np.array([1.0, 2.0, 3.0])
    kw = dict(reduction=reduction)
    if smoothing:
        kw["label_smoothing"] = smoothing
        x = np.where(np.isinf(x) & (t[:, None] != -100), -30.0, x)
    f = getattr(F, name)
    wt = npg.tensor(w, requires_grad=True)
    npg.sum(f(npg.tensor(x), t, weight=wt, **kw)).backward()
    fd = np.zeros(3)
    for c in range(3):
        d = np.zeros(3)
        d[c] = 1e-6
        lo, hi = (np.sum(f(npg.tensor(x), t, weight=npg.tensor(w + s * d, requires_grad=False), **kw).data)
                  for s in (-1, 1))
        fd[c] = (hi - lo) / 2e-6
    assert np.isfinite(wt.grad).all()
    np.testing.assert_allclose(wt.grad, fd, atol=1e-6)
