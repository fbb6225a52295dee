"""nn.functional's pointwise activations and elementwise losses under vmap, against a Python loop of the
unbatched op (values and gradients; any fallback to a per-sample loop is an error), and against torch.func.vmap
for the random ones' semantics."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from tests.test_vmap_small_rules import Fallback, _check

F = npg.nn.functional
vmap = npg.func.vmap
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3, 5)) * 2

ACTIVATIONS = [
    (F.erf, {}), (F.gelu, {}), (F.gelu, {"approximate": "tanh"}), (F.silu, {}), (F.leaky_relu, {"negative_slope": 0.2}),
    (F.softplus, {"beta": 2.0, "threshold": 1.5}), (F.elu, {"alpha": 0.7}), (F.selu, {}), (F.celu, {"alpha": 1.3}),
    (F.hardtanh, {"min_val": -0.5, "max_val": 1.5}), (F.relu6, {}), (F.hardswish, {}), (F.hardsigmoid, {}),
    (F.softshrink, {"lambd": 0.3}), (F.hardshrink, {}), (F.tanhshrink, {}), (F.threshold, {"threshold": 0.1,
                                                                                            "value": -2.0}),
    (F.softsign, {}), (F.mish, {}), (F.logsigmoid, {}), (F.rrelu, {}), (F.glu, {}), (F.glu, {"dim": 0}),
]


@pytest.mark.parametrize("fn,kw", ACTIVATIONS, ids=[f"{f.__name__}{kw}" for f, kw in ACTIVATIONS])
@pytest.mark.parametrize("dim", [0, -1])
def test_activation(fn, kw, dim):
    x = X[:, :2, :4] if fn is F.glu else X
    _check(lambda a: fn(a, **kw), [np.moveaxis(x, 0, dim)], (dim,), grad=True)


def test_activation_on_scalar_samples_and_kwarg_input():
    _check(lambda a: F.elu(input=a, alpha=0.5), [X[:, 0, 0]], (0,), grad=True)
    with pytest.raises(Exception, match="glu"):
        vmap(F.glu)(npg.tensor(X[:, 0, 0]))


@pytest.mark.parametrize("randomness", ["same", "different"])
def test_rrelu_and_gumbel_softmax_randomness(randomness):
    """Training-mode rrelu / gumbel_softmax draw noise: 'same' one noise for every sample, 'different' each
    its own (same inputs per sample make it visible)."""
    x = npg.tensor(np.broadcast_to(-np.abs(X[0, 0]), (4, 5)).copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        r = vmap(lambda a: F.rrelu(a, training=True), randomness=randomness)(x)
        g = vmap(lambda a: F.gumbel_softmax(a, tau=0.5), randomness=randomness)(x)
    for out in (r, g):
        rows = {row.tobytes() for row in out.data}
        assert len(rows) == (1 if randomness == "same" else 4)
    slopes = r.data / x.data
    assert ((slopes >= 1 / 8) & (slopes <= 1 / 3)).all()
    np.testing.assert_allclose(g.data.sum(axis=-1), 1.0)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda a: F.rrelu(a, training=True))(x)


LOSSES = [
    (F.mse_loss, {}), (F.l1_loss, {}), (F.smooth_l1_loss, {"beta": 0.5}), (F.huber_loss, {"delta": 0.7}),
    (F.soft_margin_loss, {}), (F.hinge_embedding_loss, {"margin": 0.5}),
    (F.poisson_nll_loss, {}), (F.poisson_nll_loss, {"log_input": False, "full": True}),
    (F.binary_cross_entropy_with_logits, {}), (F.binary_cross_entropy, {}), (F.kl_div, {}),
    (F.kl_div, {"log_target": True}),
]


def _loss_inputs(fn, kw, dims):
    x, t = RNG.standard_normal((4, 3, 5)), RNG.standard_normal((4, 3, 5))
    if fn is F.binary_cross_entropy:
        x = 1 / (1 + np.exp(-x))
    if fn in (F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.poisson_nll_loss) or (
            fn is F.kl_div and not kw.get("log_target")):
        t = RNG.uniform(0.1, 1.0, t.shape)
    if fn in (F.soft_margin_loss, F.hinge_embedding_loss):
        t = np.sign(t)
    if fn is F.poisson_nll_loss and not kw.get("log_input", True):
        x = np.abs(x) + 0.1
    return [a[0] if d is None else np.moveaxis(a, 0, d) for a, d in zip((x, t), dims)]


@pytest.mark.parametrize("fn,kw", LOSSES, ids=[f"{f.__name__}{kw}" for f, kw in LOSSES])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dims", [(0, 0), (0, None), (None, 0), (-1, 1)])
def test_elementwise_loss(fn, kw, reduction, dims):
    arrays = _loss_inputs(fn, kw, dims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's 'mean' warning
        _check(lambda a, b: fn(a, b, reduction=reduction, **kw), arrays, dims, grad=True)


def test_kl_div_batchmean_divides_by_each_samples_first_axis():
    arrays = _loss_inputs(F.kl_div, {}, (0, 0))
    _check(lambda a, b: F.kl_div(a, b, reduction="batchmean"), arrays, (0, 0), grad=True)


@pytest.mark.parametrize("wdim", [None, 0])
def test_weighted_losses(wdim):
    x, t = _loss_inputs(F.binary_cross_entropy_with_logits, {}, (0, 0))
    w = RNG.uniform(0.5, 2.0, (4, 5))  # broadcast against each (3, 5) sample
    w = w[0] if wdim is None else w
    _check(lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, weight=c), [x, t, w], (0, 0, wdim), grad=True)
    _check(lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, pos_weight=c), [x, t, w], (0, 0, wdim),
           grad=True)
    _check(lambda a, b, c: F.binary_cross_entropy(npg.sigmoid(a), b, weight=c, reduction="sum"), [x, t, w],
           (0, 0, wdim), grad=True)
    full_w = RNG.uniform(0.5, 2.0, (4, 3, 5))
    _check(lambda a, b, c: F.huber_loss(a, b, weight=c), [x, t, full_w[0] if wdim is None else full_w],
           (0, 0, wdim), grad=True)


@pytest.mark.filterwarnings("ignore:mse_loss. using a target size")
def test_mismatched_loss_shapes_behave_as_per_sample():
    """Different per-sample shapes of input and target: the per-sample op decides (here: broadcasts, warning)."""
    x, t = RNG.standard_normal((4, 3, 5)), RNG.standard_normal((4, 1, 5))
    with pytest.warns(Fallback, match="mse_loss"):
        _check(lambda a, b: F.mse_loss(a, b), [x, t], (0, 0), grad=True, fallback_ok=True)


DIST = [
    (lambda a, b: F.cosine_similarity(a, b), (3, 5), (3, 5)), (lambda a, b: F.cosine_similarity(a, b, dim=0), (3, 5),
                                                               (1, 5)),
    (lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=0.5), (3, 5), (5,)),
    (lambda a, b: F.pairwise_distance(a, b), (3, 5), (3, 5)), (lambda a, b: F.pairwise_distance(a, b, p=1.0), (3, 5),
                                                               (5,)),
    (lambda a, b: F.pairwise_distance(a, b, p=3.0, keepdim=True), (3, 5), (3, 5)),
    (lambda a, b: F.pairwise_distance(a, b, p=float("inf")), (4,), (4,)),
    (lambda a, b: F.pairwise_distance(a, b, p=0.0), (3, 5), (3, 5)),
    (lambda a, b: F.pdist(a) + b.sum(), (4, 3), ()), (lambda a, b: F.pdist(a, p=1.5) * b, (4, 3), ()),
]


@pytest.mark.parametrize("k", range(len(DIST)))
@pytest.mark.parametrize("dims", [(0, 0), (0, None), (None, 0), (-1, 0)])
def test_distances(k, dims):
    """Similarity / distance functions; one sample has a zero row (the clamped / masked norms)."""
    fn, sa, sb = DIST[k]
    a, b = RNG.standard_normal((3,) + sa), RNG.standard_normal((3,) + sb)
    if len(sa) == 2 and k < 3:
        a[1, 0] = 0.0
    arrays = [x[0] if d is None else np.moveaxis(x, 0, d) if x.ndim > 1 or d in (0, -1) else x
              for x, d in zip((a, b), dims)]
    dims = tuple(d if d is None or arrays[i].ndim > 1 else 0 for i, d in enumerate(dims))
    _check(fn, arrays, dims, grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_soft_margin_loss(reduction):
    x, t = RNG.standard_normal((4, 3, 5)), (RNG.random((4, 3, 5)) > 0.5).astype(np.float64)
    w = RNG.uniform(0.5, 2, (4, 5))
    _check(lambda a, b: F.multilabel_soft_margin_loss(a, b, reduction=reduction), [x, t], (0, 0), grad=True)
    _check(lambda a, b, c: F.multilabel_soft_margin_loss(a, b, weight=c, reduction=reduction),
           [np.moveaxis(x, 0, 1), t[0], w], (1, None, 0), grad=True)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        vmap(F.multilabel_soft_margin_loss)(npg.tensor(x[:, 0, 0]), npg.tensor(t[:, 0, 0]))


@pytest.mark.parametrize("wshape,wdim", [((4,), None), ((4,), 0), ((1,), None), ((1,), 0)])
@pytest.mark.parametrize("xshape", [(2, 4, 5), (2, 4)])
def test_prelu(wshape, wdim, xshape):
    x = RNG.standard_normal((3,) + xshape)
    w = RNG.uniform(0.1, 0.4, (3,) + wshape)
    _check(F.prelu, [x, w[0] if wdim is None else w], (0, wdim), grad=True)


def test_one_hot():
    idx = RNG.integers(0, 4, (3, 2, 5))
    _check(lambda i: F.one_hot(i, 6), [idx], (0,))
    _check(lambda i: F.one_hot(i, num_classes=4), [idx], (-1,))
    same_max = np.array([[0, 3, 1], [3, 3, 3], [2, 0, 3]])
    with pytest.warns(Fallback, match="one_hot"):
        _check(F.one_hot, [same_max], (0,), fallback_ok=True)   # -1: per sample (the samples agree)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Fallback)
        with pytest.raises(RuntimeError, match="one_hot gives results of different shapes"):
            vmap(F.one_hot)(npg.tensor(np.array([[0, 1], [0, 3]])))


MARGIN = [
    (lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=0.3), (5,), (5,)),
    (lambda a, b, t: F.margin_ranking_loss(a, b, t, reduction="none"), (5,), (5,)),
    (lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin=0.1), (2, 5), (2,)),
    (lambda a, b, t: F.cosine_embedding_loss(a, b, t, reduction="sum"), (5,), ()),
    (lambda a, b, t: F.triplet_margin_loss(a, b, b * t[..., None] * 0.5 + a), (2, 5), (2,)),
]


@pytest.mark.parametrize("k", range(len(MARGIN)))
@pytest.mark.parametrize("dims", [(0, 0, 0), (0, None, 0), (None, 0, None), (0, 0, None)])
def test_margin_losses(k, dims):
    fn, s, st = MARGIN[k]
    a, b = RNG.standard_normal((3,) + s), RNG.standard_normal((3,) + s)
    t = np.where(RNG.random((3,) + st) > 0.5, 1.0, -1.0)
    arrays = [x if d is not None else x[0] for x, d in zip((a, b, t), dims)]
    _check(fn, arrays, dims, grad=True)


@pytest.mark.parametrize("vshape", [(2, 3), (2,), (2, 1)])
@pytest.mark.parametrize("dims", [(0, 0, 0), (0, None, None), (None, None, 0)])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gaussian_nll_loss(vshape, dims, reduction):
    x, t = RNG.standard_normal((3, 2, 3)), RNG.standard_normal((3, 2, 3))
    v = RNG.uniform(1e-8, 2.0, (3,) + vshape)
    v[0].flat[0] = 1e-9  # below eps: clamped for the value, not for the gradient
    arrays = [a if d is not None else a[0] for a, d in zip((x, t, v), dims)]
    _check(lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=True, reduction=reduction), arrays, dims, grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gaussian_nll_loss_float_var(reduction):
    x, t = RNG.standard_normal((3, 2, 3)), RNG.standard_normal((3, 2, 3))
    _check(lambda a, b: F.gaussian_nll_loss(a, b, 0.7, reduction=reduction), [x, t[0]], (0, None), grad=True)


def test_gaussian_nll_loss_negative_var_raises_under_vmap():
    v = np.ones((3, 2))
    v[2, 1] = -1
    with pytest.raises(ValueError, match="negative"):
        vmap(F.gaussian_nll_loss)(npg.tensor(np.ones((3, 2))), npg.tensor(np.ones((3, 2))), npg.tensor(v))


NCHW = [
    (lambda a: F.interpolate(a, scale_factor=2), (2, 3, 4)),
    (lambda a: F.interpolate(a, size=(5, 3), mode="bilinear", align_corners=False), (2, 3, 4, 4)),
    (lambda a: F.interpolate(a, scale_factor=1.5, mode="bicubic", align_corners=True), (1, 2, 4, 5)),
    (lambda a: F.interpolate(a, size=3, mode="trilinear"), (1, 2, 2, 4, 4)),
    (lambda a: F.unfold(a, 2, stride=(1, 2), padding=1), (2, 3, 4, 5)), (lambda a: F.unfold(a, (2, 3)), (3, 4, 5)),
    (lambda a: F.fold(a, (4, 5), 2), (2, 12, 12)), (lambda a: F.fold(a, (3, 3), (2, 2)), (8, 4)),
]


@pytest.mark.parametrize("k", range(len(NCHW)))
@pytest.mark.parametrize("dim", [0, -1])
def test_batch_n_ops(k, dim):
    """interpolate / unfold / fold with per-sample inputs with and without their own N."""
    fn, shape = NCHW[k]
    _check(fn, [np.moveaxis(RNG.standard_normal((3,) + shape), 0, dim)], (dim,), grad=True)


def test_batch_n_ops_errors_name_the_per_sample_shape():
    with pytest.raises(Exception, match=r"\(4, 4\)"):
        vmap(lambda a: F.interpolate(a, scale_factor=2))(npg.tensor(np.ones((3, 4, 4))))
