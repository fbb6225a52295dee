"""Adversarial review of npgrad.nn.functional's losses, normalizations and activations against
torch.nn.functional: a bounded hypothesis differential fuzzer (values and gradients, float32 and float64,
reductions, weights, ignore_index, ties, kinks, large logits, empty batches) plus a pinned regression test
for each divergence found."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()


def _both(name, arrays, kw=None, grad=None, nkw=None, w_seed=0, ref64=False):
    """Run F.<name> in npgrad and torch on the same arrays (numbers and non-float arrays are passed as they
    are); float arrays whose index is in ``grad`` (all float arrays when None) require grad. Compares the
    values and the gradients of sum(out * r) for a random r; returns the npgrad output. ``ref64``: torch runs
    in float64 on float32 arrays (its result cast back): where its float32 rounding is amplified (a
    normalization over one element, whose exact gradient is 0, times 1/sqrt(eps)) and varies with the memory
    alignment of its vectorized loops."""
    import torch.nn.functional as T
    kw = kw or {}
    nkw = kw if nkw is None else nkw
    arrays = [np.asarray(a) if isinstance(a, np.generic) else a for a in arrays]   # (0-d results of NumPy)
    kw, nkw = ({k: np.asarray(v) if isinstance(v, np.generic) else v for k, v in d.items()} for d in (kw, nkw))

    def wants(i, a):
        return isinstance(a, np.ndarray) and a.dtype.kind == "f" and (grad is None or i in grad)

    def for_torch(a):
        return a.astype(np.float64) if ref64 and a.dtype == np.float32 else a.copy()
    ta = [torch.tensor(for_torch(a), requires_grad=wants(i, a)) if isinstance(a, np.ndarray) else a
          for i, a in enumerate(arrays)]
    na = [npg.tensor(a.copy(), requires_grad=wants(i, a)) if isinstance(a, np.ndarray) else a
          for i, a in enumerate(arrays)]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    nkw = {k: npg.tensor(v, requires_grad=False) if isinstance(v, np.ndarray) else v for k, v in nkw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = getattr(T, name)(*ta, **tkw)
        nout = getattr(F, name)(*na, **nkw)
    what = f"{name} {[np.shape(a) for a in arrays]} {kw}"
    assert_close(nout, tout.detach().numpy().astype(np.asarray(nout.data).dtype), what=what + " value")
    tl = [a for a in ta if isinstance(a, torch.Tensor) and a.requires_grad]
    nl = [a for a in na if isinstance(a, npg.Tensor) and a.requires_grad]
    if tl and tout.requires_grad:
        r = np.random.default_rng(w_seed).standard_normal(tout.shape).astype(np.asarray(nout.data).dtype)
        tg = torch.autograd.grad((tout * torch.tensor(r)).sum(), tl, allow_unused=True)
        ng = npg.autograd.grad((nout * npg.tensor(r)).sum(), nl, allow_unused=True)
        for i, (a, b) in enumerate(zip(ng, tg)):
            a = None if a is None else np.asarray(getattr(a, "data", a))
            b = np.zeros(tl[i].shape, nl[i].dtype) if b is None else b.numpy().astype(nl[i].dtype)
            a = np.zeros_like(b) if a is None else a
            assert_close(a, b, what=f"{what} grad of argument {i}")
    return nout


# ------------------------------------------------------------------------------------------ pinned regressions
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_gradient_when_the_norm_equals_eps(p, dtype):
    # torch clamps the norm with clamp_min, whose gradient passes at norm == eps (the norm is differentiated)
    x = np.array([[0.5, 0.0], [0.0, 0.0]], dtype=dtype)
    _both("normalize", [x], dict(p=p, dim=1, eps=0.5))
    _both("normalize", [np.array([0.25, -0.25], dtype=dtype)], dict(p=p, dim=0, eps=float(np.linalg.norm(
        [0.25, -0.25], ord=p))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_mse_loss_mean_of_an_empty_input_has_an_empty_gradient(dtype, shape):
    # torch: nan, and an empty gradient (npgrad's backward divided by the 0 element count: ZeroDivisionError)
    x = np.zeros(shape, dtype)
    _both("mse_loss", [x, x + 1], dict(reduction="mean"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,target", [("multi_margin_loss", np.zeros(0, np.int64)),
                                         ("multilabel_margin_loss", np.zeros((0, 3), np.int64))])
def test_margin_losses_of_an_empty_batch(dtype, name, target):
    # torch gives an empty loss for reduction="none"; npgrad raised ValueError reshaping the empty target
    x = np.zeros((0, 3), dtype)
    _both(name, [x, target], dict(reduction="none"))
    # (torch's "sum" and "mean" of an empty batch read uninitialized memory: the sum of no terms is 0, their
    # mean nan, as NumPy's, and the gradient is empty)
    xt = npg.tensor(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's "mean of empty slice")
        total = getattr(F, name)(xt, target, reduction="sum")
        mean = getattr(F, name)(npg.tensor(x), target, reduction="mean")
    assert total.shape == () and total.item() == 0
    assert mean.shape == () and np.isnan(mean.data)
    total.backward()
    assert xt.grad.shape == (0, 3)


@pytest.mark.parametrize("margin", [0.0, -1.0])
def test_triplet_margin_loss_refuses_a_margin_that_is_not_positive(margin):
    a, p, n = (np.random.default_rng(i).standard_normal((2, 3)) for i in range(3))
    with pytest.raises(ValueError, match="margin"):
        torch.nn.functional.triplet_margin_loss(*map(torch.tensor, (a, p, n)), margin=margin)
    with pytest.raises(ValueError, match="triplet_margin_loss: margin must be greater than 0"):
        F.triplet_margin_loss(a, p, n, margin=margin)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape,dim", [((0, 3), 0), ((2, 0), 1), ((0,), 0), ((2, 0, 3), 1), ((0, 3), -2)])
def test_softmaxes_along_an_empty_dim(name, shape, dim):
    # torch gives an empty result and gradient; npgrad raised ValueError (max of an empty axis)
    for dtype in (np.float32, np.float64):
        _both(name, [np.zeros(shape, dtype)], dict(dim=dim))
    _both(name, [np.zeros(shape, np.float32)], dict(dim=dim, dtype=torch.float64), nkw=dict(dim=dim, dtype=np.float64))


@pytest.mark.parametrize("shape,k", [((0, 3), 2), ((2, 0), 1), ((3, 2, 0), 2)])
def test_layer_norm_over_an_empty_normalized_shape(shape, k):
    # the weight's gradient raised ValueError (reshape(-1, 0)); torch gives an empty gradient
    ns = shape[len(shape) - k:]
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        w, b = rng.standard_normal(ns).astype(dtype), rng.standard_normal(ns).astype(dtype)
        _both("layer_norm", [np.zeros(shape, dtype), ns, w, b], dict(eps=1e-3))
        _both("rms_norm", [np.zeros(shape, dtype), ns, w], dict(eps=1e-3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_binary_cross_entropy_target_gradient_is_torch_s_unclamped_logit(dtype, reduction):
    # d loss / d target is torch's -logit(input), whose log is not clamped at -100 as the value's is (npgrad
    # clamped it: 100 instead of 115.13 at input 1e-50, finite instead of +-inf at 0 and 1)
    x = np.array([0.0, 1.0, 1e-50, 1e-44, 1 - 1e-7, 0.25, 0.5, 0.9], dtype)
    t = np.array([0.5, 0.5, 0.3, 0.0, 1.0, 0.75, 0.5, 0.1], dtype)
    _both("binary_cross_entropy", [x, t], dict(reduction=reduction), grad=[1])
    _both("binary_cross_entropy", [x[2:], t[2:]], dict(reduction=reduction, weight=np.linspace(0.5, 2, 6,
                                                                                                dtype=dtype)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_loss_full_target_gradient_at_small_targets(dtype, log_input):
    # torch's Stirling term is computed everywhere and masked where target <= 1, so its target gradient at
    # target == 0 is nan (0 * log 0); npgrad substituted a safe value there and gave a finite gradient
    x = np.array([0.5, 1.5, 0.25, 2.0, 0.75, 1.0], dtype)
    t = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 0.0], dtype)
    for reduction in ("none", "mean", "sum"):
        _both("poisson_nll_loss", [x, t], dict(log_input=log_input, full=True, reduction=reduction))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0, 3), (2, 3, 0), (0, 3, 4, 4)])
def test_batch_norm_training_on_an_empty_batch(dtype, shape):
    # torch: an empty output and gradient, running statistics unchanged; npgrad raised "expected more than 1
    # value per channel" (torch raises only for exactly 1)
    rng = np.random.default_rng(0)
    rm, rv = rng.standard_normal(3).astype(dtype), rng.random(3).astype(dtype) + 0.5
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    trm, trv, nrm, nrv = torch.tensor(rm), torch.tensor(rv), rm.copy(), rv.copy()
    import torch.nn.functional as T
    x = np.zeros(shape, dtype)
    tx, tw, nx, nw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True), npg.tensor(x), \
        npg.tensor(w)
    tout = T.batch_norm(tx, trm, trv, tw, torch.tensor(b), training=True, momentum=0.1)
    nout = F.batch_norm(nx, nrm, nrv, nw, b, training=True, momentum=0.1)
    assert_close(nout, tout.detach().numpy())
    assert_close(nrm, trm.numpy())
    assert_close(nrv, trv.numpy())
    tout.sum().backward()
    nout.sum().backward()
    assert_close(nx.grad, tx.grad.numpy())
    assert_close(nw.grad, tw.grad.numpy())


def _both_raise(name, arrays, kw, exc, match):
    """torch raises for these arguments: npgrad must raise ``exc`` naming the op, never return a value."""
    import torch.nn.functional as T
    with pytest.raises((RuntimeError, ValueError)):
        getattr(T, name)(*[torch.tensor(a) for a in arrays],
                         **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    with pytest.raises(exc, match=match):
        getattr(F, name)(*arrays, **kw)


def test_cross_entropy_refuses_ignore_index_with_probability_targets():
    x = np.random.default_rng(0).standard_normal((3, 4))
    q = np.full((3, 4), 0.25)
    for ignore_index in (0, 2, 4):
        _both_raise("cross_entropy", [x, q], dict(ignore_index=ignore_index), ValueError,
                    "cross_entropy: ignore_index is not supported for probability")
    for ignore_index in (-1, -5):  # (torch accepts a negative one, and ignores it)
        _both("cross_entropy", [x, q], dict(ignore_index=ignore_index))


def test_nll_loss_refuses_a_weight_of_the_wrong_size():
    # the targets all fall inside the short weight, so npgrad gave a value
    x = np.random.default_rng(0).standard_normal((3, 4))
    for w in (np.ones(3), np.ones(5), np.ones((4, 1))):
        _both_raise("nll_loss", [x, np.array([0, 1, 2])], dict(weight=w), ValueError, "nll_loss: weight of shape")
        with pytest.raises(ValueError, match="nll_loss: weight of shape"):
            F.nll_loss(npg.tensor(x), np.array([0, 1, 2]), weight=npg.tensor(w))  # (a weight that takes a grad)


def test_smooth_l1_loss_refuses_a_negative_beta():
    x = np.random.default_rng(0).standard_normal((3, 4))
    _both_raise("smooth_l1_loss", [x, x + 1], dict(beta=-1.0), ValueError, "smooth_l1_loss: beta")


# ------------------------------------------------------------------------------------------ the fuzzer
FUZZ = settings(max_examples=25, deadline=None, derandomize=True)
DTYPES = st.sampled_from([np.float32, np.float64])
REDUCTIONS = st.sampled_from(["none", "mean", "sum"])


@st.composite
def _values(draw, shape, dtype, kinds=("normal", "ties", "large")):
    """Random values of ``shape``: normal, small integers (exact ties, zeros and the kinks at +-1, +-0.5) or
    of magnitude up to 1e4."""
    kind = draw(st.sampled_from(kinds))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    if kind == "ties":
        return (rng.integers(-4, 5, shape) / 2).astype(dtype)
    a = rng.standard_normal(shape)
    return (a * 1e4 if kind == "large" else a).astype(dtype)


_SHAPES = st.sampled_from([(0, 3), (1, 1), (1, 4), (3, 4), (2, 3, 2), (4,), ()])


@FUZZ
@given(shape=_SHAPES, dtype=DTYPES, reduction=REDUCTIONS, data=st.data())
def test_fuzz_pointwise_losses(shape, dtype, reduction, data):
    x = data.draw(_values(shape, dtype))
    y = data.draw(_values(shape, dtype, ("normal", "ties")))
    if data.draw(st.booleans()):
        y = (x + data.draw(st.sampled_from([0.0, 1.0, -0.5, 2.0]))).astype(dtype)  # at the kinks
    r = dict(reduction=reduction)
    _both("mse_loss", [x, y], r)
    _both("l1_loss", [x, y], r)
    _both("smooth_l1_loss", [x, y], dict(r, beta=data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))))
    _both("huber_loss", [x, y], dict(r, delta=data.draw(st.sampled_from([0.5, 1.0, 2.0]))))
    w = np.abs(data.draw(_values(shape, dtype, ("normal", "ties"))))
    if w.size and w.sum() > 0:
        for name in ("mse_loss", "l1_loss", "huber_loss"):
            _both(name, [x, y], dict(r, weight=w))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    t01 = rng.choice(np.array([0.0, 1.0, 0.25], dtype), shape)
    p = rng.choice(np.array([0.0, 1.0, 0.5, 0.125, 1e-30], dtype), shape) if data.draw(st.booleans()) else \
        (1 / (1 + np.exp(-x.astype(np.float64)))).astype(dtype)
    bw = {} if not shape or data.draw(st.booleans()) else dict(weight=np.abs(rng.standard_normal(shape[-1:])).astype(
        dtype))
    _both("binary_cross_entropy", [p, t01], dict(r, **bw))
    pw = {} if not shape or data.draw(st.booleans()) else dict(pos_weight=np.abs(rng.standard_normal(
        shape[-1:])).astype(dtype))
    _both("binary_cross_entropy_with_logits", [x, t01], dict(r, **bw, **pw))
    sign = rng.choice(np.array([1.0, -1.0], dtype), shape)
    _both("soft_margin_loss", [x / 1e4 if np.abs(x).max(initial=0) > 50 else x, sign], r, grad=[0])
    _both("hinge_embedding_loss", [x, sign], dict(r, margin=data.draw(st.sampled_from([1.0, 0.0, -0.5, 0.5]))))
    _both("margin_ranking_loss", [x, y, sign], dict(r, margin=data.draw(st.sampled_from([0.0, 0.5, 1.0]))))
    log_target = data.draw(st.booleans())
    q = np.abs(y) * rng.choice([0, 1], shape)
    _both("kl_div", [x, np.log(q + 0.5).astype(dtype) if log_target else q.astype(dtype)],
          dict(reduction=data.draw(st.sampled_from(["none", "mean", "sum", "batchmean"])), log_target=log_target))
    log_input = data.draw(st.booleans())
    _both("poisson_nll_loss", [x if log_input else np.abs(x), np.round(np.abs(y) * 2).astype(dtype)],
          dict(r, log_input=log_input, full=data.draw(st.booleans()), eps=data.draw(st.sampled_from([1e-8, 0.1]))))
    var = np.abs(data.draw(_values(shape, dtype, ("normal", "ties"))))
    for v in [var] + ([var[..., :1], var[..., 0]] if len(shape) >= 2 else []):
        _both("gaussian_nll_loss", [x, y, v], dict(r, full=data.draw(st.booleans()),
                                                  eps=data.draw(st.sampled_from([1e-6, 0.5]))))
    if shape:
        mw = {} if data.draw(st.booleans()) else dict(weight=np.abs(rng.standard_normal(shape[-1:])).astype(dtype))
        _both("multilabel_soft_margin_loss", [x, t01.round()], dict(r, **mw))


@FUZZ
@given(dtype=DTYPES, reduction=REDUCTIONS, data=st.data())
def test_fuzz_class_losses(dtype, reduction, data):
    N, C = data.draw(st.sampled_from([0, 1, 3])), data.draw(st.sampled_from([1, 2, 4]))
    shape = data.draw(st.sampled_from([(N, C), (C,), (N, C, 2)]))
    x = data.draw(_values(shape, dtype))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, C, tshape)
    ignore_index = data.draw(st.sampled_from([-100, 0, 1]))
    if data.draw(st.booleans()):
        t[...] = ignore_index if ignore_index < C else t  # every target ignored: nan under "mean", as torch
    kw = dict(reduction=reduction, ignore_index=ignore_index)
    if data.draw(st.booleans()):
        kw["weight"] = np.abs(rng.standard_normal(C)).astype(dtype)
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 1.0]))
    if ignore_index < C or ignore_index == -100:
        _both("cross_entropy", [x, t], dict(kw, label_smoothing=smoothing))
        _both("nll_loss", [x, t], kw)
    q = np.abs(data.draw(_values(shape, dtype, ("normal", "ties"))))
    kw.pop("ignore_index")
    _both("cross_entropy", [x, q], dict(kw, label_smoothing=smoothing))
    if len(shape) <= 2:
        y = rng.integers(0, C, shape[:1] if len(shape) == 2 else ())
        mw = dict(weight=kw["weight"]) if "weight" in kw else {}
        if N or len(shape) == 1 or reduction == "none":   # (torch's reduced empty batch is uninitialized)
            _both("multi_margin_loss", [x, y], dict(reduction=reduction, p=data.draw(st.sampled_from([1, 2])),
                                                   margin=data.draw(st.sampled_from([0.0, 1.0, 2.0])), **mw))
            _both("multilabel_margin_loss", [x, rng.integers(-1, C, shape)], dict(reduction=reduction))
        if N or len(shape) == 1:
            x2, x3 = data.draw(_values(shape, dtype)), data.draw(_values(shape, dtype))
            _both("cosine_embedding_loss", [x, x2, rng.choice(np.array([1.0, -1.0], dtype), y.shape)],
                  dict(reduction=reduction, margin=data.draw(st.sampled_from([0.0, 0.5, -0.5]))))
            _both("triplet_margin_loss", [x, x2, x3], dict(
                reduction=reduction, margin=data.draw(st.sampled_from([0.5, 1.0, 2.0])),
                p=data.draw(st.sampled_from([1.0, 2.0, 3.0])), swap=data.draw(st.booleans()),
                eps=data.draw(st.sampled_from([1e-6, 0.0]))))


_ACTIVATIONS = [("relu", {}), ("relu6", {}), ("elu", dict(alpha=0.5)), ("selu", {}), ("celu", dict(alpha=2.0)),
                ("gelu", {}), ("gelu", dict(approximate="tanh")), ("silu", {}), ("mish", {}),
                ("softplus", dict(beta=2, threshold=5)), ("softsign", {}), ("hardtanh", dict(min_val=-0.5)),
                ("hardswish", {}), ("hardsigmoid", {}), ("tanh", {}), ("sigmoid", {}), ("logsigmoid", {}),
                ("tanhshrink", {}), ("softshrink", dict(lambd=0.5)), ("hardshrink", dict(lambd=0.5)),
                ("leaky_relu", dict(negative_slope=0.1)), ("threshold", dict(threshold=0.5, value=-1.0)),
                ("rrelu", dict(training=False, lower=0.1, upper=0.3))]


@FUZZ
@given(shape=_SHAPES, dtype=DTYPES, data=st.data())
def test_fuzz_activations_and_softmaxes(shape, dtype, data):
    x = data.draw(_values(shape, dtype))
    for name, kw in _ACTIVATIONS:
        _both(name, [x], kw)
    if shape:
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        for name in ("softmax", "log_softmax", "softmin"):
            _both(name, [x], dict(dim=dim))
            _both(name, [x], dict(dim=dim, dtype=torch.float64), nkw=dict(dim=dim, dtype=np.float64))
        if shape[dim] % 2 == 0:
            _both("glu", [x], dict(dim=dim))
        p = data.draw(st.sampled_from([1.0, 2.0, 3.0, float("inf")]))
        if x.shape[dim] or p != float("inf"):  # (torch refuses the inf norm of an empty dim)
            _both("normalize", [x], dict(p=p, dim=dim, eps=data.draw(st.sampled_from([1e-12, 0.5, 1.0]))))
    if len(shape) >= 2:
        _both("prelu", [x, data.draw(_values(shape[1:2], dtype, ("normal",)))])


@FUZZ
@given(dtype=DTYPES, data=st.data())
def test_fuzz_normalizations(dtype, data):
    shape = data.draw(st.sampled_from([(2, 4), (3, 4, 2), (2, 4, 3, 2), (1, 4, 3), (0, 4, 3)]))
    x = data.draw(_values(shape, dtype, ("normal", "ties")))
    C = shape[1]
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    w, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), (rng.random(C) + 0.5).astype(dtype)
    training = data.draw(st.booleans())
    momentum = data.draw(st.sampled_from([0.1, 0.0, 1.0]))
    _both("batch_norm", [x, rm.copy(), rv.copy(), w, b], dict(training=training, momentum=momentum), grad=[0, 3, 4])
    for G in (1, 2, C):
        if x.size:
            _both("group_norm", [x, G, w, b], dict(eps=data.draw(st.sampled_from([1e-5, 0.1]))), grad=[0, 2, 3],
                  ref64=True)
    if len(shape) >= 3 and math.prod(shape[2:]) > 1 and shape[0]:  # (torch: IndexError on an empty batch)
        use = data.draw(st.booleans())
        _both("instance_norm", [x, rm.copy(), rv.copy(), w, b], dict(use_input_stats=use, momentum=momentum),
              grad=[0, 3, 4])
        _both("instance_norm", [x], {})
        _both("local_response_norm", [x, data.draw(st.integers(1, 5))],
              dict(alpha=data.draw(st.sampled_from([1e-4, 0.1])), beta=0.75, k=data.draw(st.sampled_from([1.0, 2.0]))))
    k = data.draw(st.integers(1, len(shape)))
    ns = shape[len(shape) - k:]
    _both("layer_norm", [x, ns], {})
    _both("layer_norm", [x, ns, rng.standard_normal(ns).astype(dtype), rng.standard_normal(ns).astype(dtype)],
          dict(eps=1e-3))
    _both("rms_norm", [x, ns], dict(eps=None))
    _both("rms_norm", [x, ns, rng.standard_normal(ns).astype(dtype)], dict(eps=1e-3))
