"""Issue 14's losses against PyTorch: values and gradients of every differentiable argument, float32 and
float64, every reduction, unbatched inputs and size-0 batches where PyTorch gives a defined value, second
derivatives (torch.autograd.grad with create_graph=True), the modules, PyTorch's warnings and errors;
CTC loss in every target layout, with zero_infinity, against torch and against finite differences."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close
from tests.test_higher_order import higher_order

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


def rnd(*shape, dtype=np.float64, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def signs(*shape, seed=0):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def compare(f, tf, floats, consts=(), what="", seed=0):
    """Values and gradients of every float argument (``floats``, each a gradient input); ``consts`` are passed
    after them unchanged (NumPy to npgrad, torch tensors to torch)."""
    xs = [npg.tensor(a) for a in floats]
    ts = [torch.tensor(a, requires_grad=True) for a in floats]
    out = f(*xs, *consts)
    tout = tf(*ts, *[torch.tensor(c) if isinstance(c, np.ndarray) else c for c in consts])
    assert_close(out, tout.detach().numpy(), what=f"{what} value")
    assert out.dtype == floats[0].dtype, what
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = np.zeros(t.shape, floats[i].dtype) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape, x.dtype) if x.grad is None else x.grad
        assert_close(got, expected, dtype=floats[i].dtype, what=f"{what} grad of input {i}")
        assert x.grad is None or x.grad.dtype == x.dtype


# name -> (npgrad fn, torch fn, make(dtype, shape_kind) -> (floats, consts)); shape kinds: batched, unbatched, empty
def _reg(dtype, kind, pos=False):
    shape = {"batched": (4, 5), "unbatched": (5,), "empty": (0, 5)}[kind]
    a, b = rnd(*shape, dtype=dtype, seed=1, scale=2), rnd(*shape, dtype=dtype, seed=2, scale=2)
    if pos:
        b = np.abs(b).astype(dtype) + 0.5
    return a, b


CASES = {
    "kl_div": (lambda x, t, r: F.kl_div(x, t, reduction=r), lambda x, t, r: TF.kl_div(x, t, reduction=r),
               lambda dt, k: (list(_reg(dt, k)[:1]) + [np.abs(_reg(dt, k)[1]).astype(dt) / 3], ())),
    "kl_div_log_target": (lambda x, t, r: F.kl_div(x, t, reduction=r, log_target=True),
                          lambda x, t, r: TF.kl_div(x, t, reduction=r, log_target=True),
                          lambda dt, k: (list(_reg(dt, k)), ())),
    "huber": (lambda x, t, r: F.huber_loss(x, t, reduction=r, delta=1.5),
              lambda x, t, r: TF.huber_loss(x, t, reduction=r, delta=1.5), lambda dt, k: (list(_reg(dt, k)), ())),
    "smooth_l1": (lambda x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.7),
                  lambda x, t, r: TF.smooth_l1_loss(x, t, reduction=r, beta=0.7), lambda dt, k: (list(_reg(dt, k)), ())),
    "poisson": (lambda x, t, r: F.poisson_nll_loss(x, t, reduction=r),
                lambda x, t, r: TF.poisson_nll_loss(x, t, reduction=r), lambda dt, k: ([_reg(dt, k)[0]], (_reg(dt, k, True)[1] * 2,))),
    "poisson_full": (lambda x, t, r: F.poisson_nll_loss(x, t, log_input=False, full=True, reduction=r),
                     lambda x, t, r: TF.poisson_nll_loss(x, t, log_input=False, full=True, reduction=r),
                     lambda dt, k: ([np.abs(_reg(dt, k)[0]) + 0.1], (_reg(dt, k, True)[1] * 2,))),
    "gaussian": (lambda x, t, v, r: F.gaussian_nll_loss(x, t, v, reduction=r),
                 lambda x, t, v, r: TF.gaussian_nll_loss(x, t, v, reduction=r),
                 lambda dt, k: (list(_reg(dt, k)) + [(_reg(dt, k, True)[1] - 0.45).clip(1e-7, None).astype(dt)], ())),
    "gaussian_full": (lambda x, t, v, r: F.gaussian_nll_loss(x, t, v, full=True, eps=0.1, reduction=r),
                      lambda x, t, v, r: TF.gaussian_nll_loss(x, t, v, full=True, eps=0.1, reduction=r),
                      lambda dt, k: (list(_reg(dt, k)) + [_reg(dt, k, True)[1] - 0.45], ())),
    "soft_margin": (lambda x, t, r: F.soft_margin_loss(x, t, reduction=r),
                    lambda x, t, r: TF.soft_margin_loss(x, t, reduction=r),
                    lambda dt, k: ([_reg(dt, k)[0]], (signs(*_reg(dt, k)[0].shape).astype(dt),))),
    "multilabel_soft_margin": (lambda x, t, r: F.multilabel_soft_margin_loss(x, t, reduction=r),
                               lambda x, t, r: TF.multilabel_soft_margin_loss(x, t, reduction=r),
                               lambda dt, k: ([_reg(dt, k)[0]], ((signs(*_reg(dt, k)[0].shape) > 0).astype(dt),))),
    "margin_ranking": (lambda a, b, t, r: F.margin_ranking_loss(a, b, t, margin=0.3, reduction=r),
                       lambda a, b, t, r: TF.margin_ranking_loss(a, b, t, margin=0.3, reduction=r),
                       lambda dt, k: (list(_reg(dt, k)), (signs(*_reg(dt, k)[0].shape).astype(dt),))),
    "hinge_embedding": (lambda x, t, r: F.hinge_embedding_loss(x, t, margin=1.5, reduction=r),
                        lambda x, t, r: TF.hinge_embedding_loss(x, t, margin=1.5, reduction=r),
                        lambda dt, k: ([_reg(dt, k)[0]], (signs(*_reg(dt, k)[0].shape).astype(dt),))),
    "cosine_embedding": (lambda a, b, t, r: F.cosine_embedding_loss(a, b, t, margin=0.2, reduction=r),
                         lambda a, b, t, r: TF.cosine_embedding_loss(a, b, t, margin=0.2, reduction=r),
                         lambda dt, k: (list(_reg(dt, k)), (signs(*_reg(dt, k)[0].shape[:-1]).astype(dt),))),
    "triplet": (lambda a, p, n, r: F.triplet_margin_loss(a, p, n, margin=2.0, reduction=r),
                lambda a, p, n, r: TF.triplet_margin_loss(a, p, n, margin=2.0, reduction=r),
                lambda dt, k: (list(_reg(dt, k)) + [rnd(*_reg(dt, k)[0].shape, dtype=dt, seed=9)], ())),
    "triplet_p1_swap": (lambda a, p, n, r: F.triplet_margin_loss(a, p, n, margin=3.0, p=1, swap=True, reduction=r),
                        lambda a, p, n, r: TF.triplet_margin_loss(a, p, n, margin=3.0, p=1, swap=True, reduction=r),
                        lambda dt, k: (list(_reg(dt, k)) + [rnd(*_reg(dt, k)[0].shape, dtype=dt, seed=9)], ())),
    "triplet_p3": (lambda a, p, n, r: F.triplet_margin_loss(a, p, n, margin=2.0, p=3, reduction=r),
                   lambda a, p, n, r: TF.triplet_margin_loss(a, p, n, margin=2.0, p=3, reduction=r),
                   lambda dt, k: (list(_reg(dt, k)) + [rnd(*_reg(dt, k)[0].shape, dtype=dt, seed=9)], ())),
    "multi_margin": (lambda x, t, r: F.multi_margin_loss(x, t, reduction=r),
                     lambda x, t, r: TF.multi_margin_loss(x, t, reduction=r),
                     lambda dt, k: ([_reg(dt, k)[0] / 2], (_classes(k),))),
    "multi_margin_p2_w": (lambda x, t, r: F.multi_margin_loss(x, t, p=2, margin=0.7, weight=np.arange(1.0, 6.0),
                                                              reduction=r),
                          lambda x, t, r: TF.multi_margin_loss(x, t, p=2, margin=0.7,
                                                               weight=torch.arange(1.0, 6.0, dtype=x.dtype),
                                                               reduction=r),
                          lambda dt, k: ([_reg(dt, k)[0] / 2], (_classes(k),))),
    "multilabel_margin": (lambda x, t, r: F.multilabel_margin_loss(x, t, reduction=r),
                          lambda x, t, r: TF.multilabel_margin_loss(x, t, reduction=r),
                          lambda dt, k: ([_reg(dt, k)[0] / 2], (_multilabels(k),))),
}

# PyTorch leaves these undefined (uninitialised memory or an error) for an empty batch
NO_EMPTY = {"multi_margin", "multi_margin_p2_w", "multilabel_margin", "cosine_embedding", "triplet", "triplet_p1_swap",
            "triplet_p3"}


def _classes(kind):
    return {"batched": np.array([0, 4, 2, 2]), "unbatched": np.array(3), "empty": np.zeros(0, np.int64)}[kind]


def _multilabels(kind):
    t = np.array([[3, 0, -1, 1, 1], [1, 2, 3, 4, 0], [2, 2, -1, -1, -1], [-1, 0, 1, 2, 3]])
    return {"batched": t, "unbatched": t[0], "empty": np.zeros((0, 5), np.int64)}[kind]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss(name, reduction, dtype):
    f, tf, make = CASES[name]
    kinds = ["batched", "unbatched"] + ([] if name in NO_EMPTY or reduction == "mean" else ["empty"])
    if name in ("kl_div", "kl_div_log_target") and reduction == "mean":
        pytest.warns(UserWarning, lambda: F.kl_div(npg.zeros(2), np.ones(2)))
    for kind in kinds:
        floats, consts = make(dtype, kind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare(f, tf, floats, tuple(consts) + (reduction,), what=f"{name} {kind} {reduction}")


def second_order_fd(f, arrays, what, eps=1e-6):
    """npgrad's Hessian-vector product of ``sum(f(x) * w)`` against central differences of its gradient
    (for the losses PyTorch gives no second derivative of)."""
    rng = np.random.default_rng(7)
    w = None
    xs = [npg.tensor(a) for a in arrays]
    out = f(*xs)
    w = rng.standard_normal(out.shape)
    gs = npg.autograd.grad(npg.sum(out * w), xs, create_graph=True)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    terms = [npg.sum(g * v) for g, v in zip(gs, vs) if g.requires_grad]
    if not terms:
        return
    hs = npg.autograd.grad(sum(terms[1:], terms[0]), xs, allow_unused=True)
    ds = [rng.standard_normal(a.shape) for a in arrays]

    def gdot(t):
        ys = [npg.tensor(a + t * d) for a, d in zip(arrays, ds)]
        g2 = npg.autograd.grad(npg.sum(f(*ys) * w), ys)
        return sum(float(np.sum(g.data * v)) for g, v in zip(g2, vs))
    numeric = (gdot(eps) - gdot(-eps)) / (2 * eps)
    analytic = sum(float(np.sum(h.data * d)) for h, d in zip(hs, ds) if h is not None)
    assert np.isclose(analytic, numeric, rtol=1e-5, atol=1e-7), f"{what}: {analytic} vs {numeric}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative(name):
    f, tf, make = CASES[name]
    floats, consts = make(np.float64, "batched")
    if name.startswith("multi_margin") or name == "multilabel_margin":  # torch: "derivative ... not implemented"
        second_order_fd(lambda *xs: f(*xs, *consts, "sum"), floats, name)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        higher_order(lambda *xs: f(*xs, *consts, "sum"),
                     lambda *ts: tf(*ts, *[torch.tensor(c) if isinstance(c, np.ndarray) else c for c in consts], "sum"),
                     floats, what=name)


def test_kl_div_batchmean_and_target_grad():
    x, t = rnd(3, 4), np.abs(rnd(3, 4, seed=1))
    compare(lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
            [x, t], what="kl batchmean")
    compare(lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True),
            lambda a, b: TF.kl_div(a, b, reduction="batchmean", log_target=True), [x, rnd(3, 4, seed=2)], what="kl log")
    out = F.kl_div(npg.tensor(x), np.array([[0.0, 0.5, 0.5, 0.0]] * 3), reduction="sum")  # xlogy(0, 0) = 0
    assert np.isfinite(out.item())
    with pytest.raises(ValueError, match="kl_div"):
        F.kl_div(npg.tensor(x), t, reduction="avg")


def test_regression_target_warnings():
    for f in (F.huber_loss, F.smooth_l1_loss, F.l1_loss, F.mse_loss):
        with pytest.warns(UserWarning, match="target size"):
            f(npg.randn(3, 1), npg.randn(3))
    with pytest.raises(ValueError, match="huber_loss: Weights"):
        F.huber_loss(npg.randn(3), npg.randn(3), weight=npg.ones(2))
    x, t, w = rnd(4, 3), rnd(4, 3, seed=1), np.abs(rnd(4, 3, seed=2))
    for r in REDUCTIONS:
        compare(lambda a, b, c: F.huber_loss(a, b, r, 0.5, c), lambda a, b, c: TF.huber_loss(a, b, r, 0.5, c),
                [x, t, w], what=f"weighted huber {r}")


def test_gaussian_nll_var_shapes_and_errors():
    x, t = rnd(4, 3), rnd(4, 3, seed=1)
    for v in [np.abs(rnd(4, seed=2)) + 0.1, np.abs(rnd(4, 1, seed=2)) + 0.1]:
        compare(lambda a, b, c: F.gaussian_nll_loss(a, b, c), lambda a, b, c: TF.gaussian_nll_loss(a, b, c),
                [x, t, v], what=f"gaussian var {v.shape}")
    compare(lambda a, b: F.gaussian_nll_loss(a, b, 0.5), lambda a, b: TF.gaussian_nll_loss(a, b, 0.5), [x, t],
            what="gaussian float var")
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(npg.tensor(x), t, -np.ones((4, 3)))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(npg.tensor(x), t, np.ones((2, 3)))


def test_pairwise_and_cosine():
    for p in [2.0, 1.0, 3.0, np.inf]:
        for shapes in [((5, 4), (5, 4)), ((4,), (4,)), ((5, 4), (4,)), ((0, 4), (0, 4))]:
            a, b = rnd(*shapes[0]), rnd(*shapes[1], seed=1)
            compare(lambda x, y: F.pairwise_distance(x, y, p), lambda x, y: TF.pairwise_distance(x, y, p), [a, b],
                    what=f"pairwise p={p} {shapes}")
    compare(lambda x, y: F.pairwise_distance(x, y, keepdim=True, eps=0.0),
            lambda x, y: TF.pairwise_distance(x, y, keepdim=True, eps=0.0), [rnd(3, 4), rnd(3, 4)], what="zero distance")
    for dtype in DTYPES:
        for dim, shapes in [(1, ((5, 4), (5, 4))), (0, ((4,), (4,))), (-1, ((2, 3, 4), (3, 4))), (1, ((2, 3, 4), (2, 1, 4)))]:
            a, b = rnd(*shapes[0], dtype=dtype), rnd(*shapes[1], dtype=dtype, seed=1)
            compare(lambda x, y: F.cosine_similarity(x, y, dim), lambda x, y: TF.cosine_similarity(x, y, dim),
                    [a, b], what=f"cosine {shapes}")
    a = rnd(3, 4)
    a[1] = 0  # a zero vector: the norm is clamped at eps for the value, not the gradient
    compare(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y), [a, rnd(3, 4, seed=1)],
            what="cosine zero")
    higher_order(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y),
                 [rnd(3, 4), rnd(3, 4, seed=1)], what="cosine")
    higher_order(lambda x, y: F.pairwise_distance(x, y), lambda x, y: TF.pairwise_distance(x, y),
                 [rnd(3, 4), rnd(3, 4, seed=1)], what="pairwise")
    compare(lambda x: F.pdist(x), lambda x: TF.pdist(x), [rnd(5, 3)], what="pdist")
    m, tm = nn.CosineSimilarity(0, 1e-6), tnn.CosineSimilarity(0, 1e-6)
    compare(lambda x, y: m(x, y), lambda x, y: tm(x, y), [rnd(4, 3), rnd(4, 3, seed=2)], what="CosineSimilarity")
    m, tm = nn.PairwiseDistance(1.0, 1e-3, True), tnn.PairwiseDistance(1.0, 1e-3, True)
    compare(lambda x, y: m(x, y), lambda x, y: tm(x, y), [rnd(4, 3), rnd(4, 3, seed=2)], what="PairwiseDistance")


def test_margin_errors():
    with pytest.raises(ValueError, match="margin_ranking_loss.*same dimension"):
        F.margin_ranking_loss(npg.randn(3), npg.randn(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match="cosine_embedding_loss"):
        F.cosine_embedding_loss(npg.randn(3, 2), npg.randn(3, 2), np.ones(()))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(npg.randn(3, 2), np.zeros(3, np.int64), p=3)
    with pytest.raises(ValueError, match="inconsistent target size"):
        F.multilabel_margin_loss(npg.randn(3, 4), np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match="triplet_margin_loss"):
        F.triplet_margin_loss(npg.randn(3, 4), npg.randn(3, 4), npg.randn(4))


MODULES = [
    (lambda: nn.KLDivLoss(reduction="batchmean", log_target=True), lambda: tnn.KLDivLoss(reduction="batchmean", log_target=True), 2, ()),
    (lambda: nn.HuberLoss(delta=0.5), lambda: tnn.HuberLoss(delta=0.5), 2, ()),
    (lambda: nn.SmoothL1Loss(beta=0.5), lambda: tnn.SmoothL1Loss(beta=0.5), 2, ()),
    (lambda: nn.PoissonNLLLoss(), lambda: tnn.PoissonNLLLoss(), 2, ()),
    (lambda: nn.GaussianNLLLoss(reduction="sum"), lambda: tnn.GaussianNLLLoss(reduction="sum"), 3, ()),
    (lambda: nn.SoftMarginLoss(), lambda: tnn.SoftMarginLoss(), 1, "signs"),
    (lambda: nn.MultiLabelSoftMarginLoss(), lambda: tnn.MultiLabelSoftMarginLoss(), 1, "binary"),
    (lambda: nn.MarginRankingLoss(0.5), lambda: tnn.MarginRankingLoss(0.5), 2, "signs0"),
    (lambda: nn.HingeEmbeddingLoss(), lambda: tnn.HingeEmbeddingLoss(), 1, "signs"),
    (lambda: nn.CosineEmbeddingLoss(0.1), lambda: tnn.CosineEmbeddingLoss(0.1), 2, "signs0"),
    (lambda: nn.TripletMarginLoss(), lambda: tnn.TripletMarginLoss(), 3, ()),
    (lambda: nn.MultiMarginLoss(), lambda: tnn.MultiMarginLoss(), 1, "classes"),
    (lambda: nn.MultiLabelMarginLoss(), lambda: tnn.MultiLabelMarginLoss(), 1, "multilabels"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=np.arange(1.0, 6.0)),
     lambda: tnn.BCEWithLogitsLoss(pos_weight=torch.arange(1.0, 6.0, dtype=torch.float64)), 1, "binary"),
    (lambda: nn.L1Loss(reduction="sum"), lambda: tnn.L1Loss(reduction="sum"), 2, ()),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_loss_modules(i):
    make, tmake, nfloat, extra = MODULES[i]
    m, tm = make(), tmake()
    assert type(m).__name__ == type(tm).__name__ and m.reduction == tm.reduction
    floats = [rnd(*((4,) if extra == "signs0" and type(m).__name__ == "MarginRankingLoss" else (4, 5)), seed=s)
              for s in range(nfloat)]
    if type(m).__name__ in ("PoissonNLLLoss", "GaussianNLLLoss"):
        floats[-1] = np.abs(floats[-1]) + 0.2
    consts = {(): (), "signs": (signs(4, 5),), "signs0": (signs(4),), "binary": ((signs(4, 5) > 0) * 1.0,),
              "classes": (_classes("batched"),), "multilabels": (_multilabels("batched"),)}[extra]
    compare(lambda *a: m(*a), lambda *a: tm(*a), floats, consts, what=type(m).__name__)


def test_legacy_reduction_arguments():
    with pytest.warns(UserWarning, match="size_average and reduce"):
        m = nn.SoftMarginLoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning):
        out = F.soft_margin_loss(npg.randn(3), np.ones(3), reduce=False)
    assert out.shape == (3,)


# ------------------------------------------------------------------------------------- CTC
def _ctc_case(seed=0, T=12, N=4, C=6, S=5):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T, N, C))
    Sn = np.array([3, 0, 5, 2])[:N]
    Tn = np.array([T, 7, T, 10])[:N]
    tg = rng.integers(1, C, (N, S))
    tg[0, :3] = [2, 2, 3]  # a repeated label needs a blank between
    return logits, tg, Tn, Sn


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc(layout, reduction, dtype):
    logits, tg, Tn, Sn = _ctc_case()
    logits = logits.astype(dtype)
    if layout == "concatenated":
        tg = np.concatenate([tg[n, :Sn[n]] for n in range(len(Sn))])
    # through log_softmax (the documented use) and on a raw log_probs leaf (PyTorch's convention)
    compare(lambda x: F.ctc_loss(F.log_softmax(x, dim=-1), tg, Tn, Sn, reduction=reduction),
            lambda x: TF.ctc_loss(x.log_softmax(-1), torch.tensor(tg), torch.tensor(Tn), torch.tensor(Sn),
                                  reduction=reduction), [logits], what="ctc")
    lp = torch.tensor(logits).log_softmax(-1).numpy()
    compare(lambda x: F.ctc_loss(x, tg, Tn, Sn, blank=0, reduction=reduction),
            lambda x: TF.ctc_loss(x, torch.tensor(tg), torch.tensor(Tn), torch.tensor(Sn), reduction=reduction),
            [lp], what="ctc raw")


def test_ctc_unbatched_blank_and_module():
    logits, tg, Tn, Sn = _ctc_case(seed=3, C=7)
    lp = torch.tensor(logits).log_softmax(-1).numpy()
    for r in REDUCTIONS:
        compare(lambda x: F.ctc_loss(x, tg[0, :3] - 1, 12, 3, blank=6, reduction=r),
                lambda x: TF.ctc_loss(x, torch.tensor(tg[0, :3] - 1), torch.tensor(12), torch.tensor(3), blank=6,
                                      reduction=r), [lp[:, 0]], what=f"ctc unbatched {r}")
    m, tm = nn.CTCLoss(blank=6, reduction="sum"), tnn.CTCLoss(blank=6, reduction="sum")
    compare(lambda x: m(x, tg - 1, Tn, Sn), lambda x: tm(x, torch.tensor(tg - 1), torch.tensor(Tn), torch.tensor(Sn)),
            [lp], what="CTCLoss")


def test_ctc_zero_infinity():
    logits, tg, Tn, Sn = _ctc_case()
    Tn = np.array([2, 7, 12, 10])  # sample 0 cannot emit 3 labels (with a repeat) in 2 steps
    lp = torch.tensor(logits).log_softmax(-1).numpy()
    out = F.ctc_loss(npg.tensor(lp), tg, Tn, Sn, reduction="none")
    assert np.isinf(out.data[0]) and np.isfinite(out.data[1:]).all()
    for r in REDUCTIONS:
        compare(lambda x: F.ctc_loss(x, tg, Tn, Sn, reduction=r, zero_infinity=True),
                lambda x: TF.ctc_loss(x, torch.tensor(tg), torch.tensor(Tn), torch.tensor(Sn), reduction=r,
                                      zero_infinity=True), [lp], what=f"ctc zero_infinity {r}")


def test_ctc_gradient_finite_difference_and_second_order():
    logits, tg, Tn, Sn = _ctc_case(T=6, S=3)
    Sn = np.array([2, 0, 3, 1])
    Tn = np.array([6, 4, 6, 5])
    from tests.helpers import check_finite_difference
    check_finite_difference(lambda x: F.ctc_loss(F.log_softmax(x, dim=-1), tg, Tn, Sn, reduction="sum"), [logits],
                            what="ctc through log_softmax")
    # second order: the VJP recomputes alphas and betas with npgrad ops; check it by finite differences of
    # the (PyTorch has no second derivative of CTC)
    x = npg.tensor(logits)
    v = np.random.default_rng(5).standard_normal(logits.shape)

    def grad_dot(a):
        t = npg.tensor(a)
        (g,) = npg.autograd.grad(F.ctc_loss(F.log_softmax(t, dim=-1), tg, Tn, Sn, reduction="mean"), t)
        return float(np.sum(g.data * v))
    (g,) = npg.autograd.grad(F.ctc_loss(F.log_softmax(x, dim=-1), tg, Tn, Sn, reduction="mean"), x, create_graph=True)
    (h,) = npg.autograd.grad(npg.sum(g * v), x)
    d = np.random.default_rng(6).standard_normal(logits.shape)
    eps = 1e-6
    numeric = (grad_dot(logits + eps * d) - grad_dot(logits - eps * d)) / (2 * eps)
    assert np.isclose(np.sum(h.data * d), numeric, rtol=1e-5, atol=1e-8)


def test_ctc_errors():
    logits, tg, Tn, Sn = _ctc_case()
    with pytest.raises(ValueError, match="blank"):
        F.ctc_loss(npg.tensor(logits), tg, Tn, Sn, blank=6)
    with pytest.raises(ValueError, match="input_lengths"):
        F.ctc_loss(npg.tensor(logits), tg, Tn + 1, Sn)
    with pytest.raises(ValueError, match="one entry per batch"):
        F.ctc_loss(npg.tensor(logits), tg, Tn[:2], Sn)


@pytest.mark.parametrize("shape", [(2, 0), (2, 0, 4), (0,)])
def test_cross_entropy_without_classes_is_a_clear_error(shape):
    """No classes (a size-0 class dimension): a ValueError naming cross_entropy, not a bare NumPy reduction error
    (torch raises for class indices and returns nan / -0 for probabilities)."""
    x = npg.tensor(np.zeros(shape), requires_grad=True)
    with pytest.raises(ValueError, match="cross_entropy: .*no classes"):
        npg.nn.functional.cross_entropy(x, npg.tensor(np.zeros(shape)))
