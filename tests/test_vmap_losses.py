"""Batching rules of nll_loss, multi_margin_loss, multilabel_margin_loss, ctc_loss, tensorinv, tensorsolve,
npg.tensor / npg.as_tensor of batched values and the dropout masks under vmap: against a Python loop of the
unbatched op (values and gradients), with any fallback to a loop turned into an error."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad import func_vmap as fv
from tests.test_vmap_small_rules import Fallback, _check

F = npg.nn.functional
vmap = npg.func.vmap
RNG = np.random.default_rng(5)


def _logp(*shape):
    return np.log(np.random.default_rng(sum(shape)).dirichlet(np.ones(shape[-1]), size=shape[:-1]))


def _check_sizes(fn, arrays, dims, grad=True):
    """``_check`` on the batch as given and on its first sample alone (size 1); size 0 against the shape of a
    one-sample run, with no fallback either."""
    _check(fn, arrays, dims, grad=grad)
    one = [a if d is None else np.take(a, [0], axis=d) for a, d in zip(arrays, dims)]
    ref = _check(fn, one, dims, grad=grad)
    empty = [a if d is None else np.take(a, [], axis=d) for a, d in zip(arrays, dims)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(fn, in_dims=dims)(*[npg.tensor(a) for a in empty])
    assert out.shape == (0,) + ref.shape[1:] and out.dtype == ref.dtype


def _moved(arrays, dims):
    return [a if d is None else np.moveaxis(a, 0, d) for a, d in zip(arrays, dims)]


# ------------------------------------------------------------------------ nll_loss
NLL_CASES = [  # per-sample input shape, target shape (B = 3 in front of each)
    ((5,), ()), ((4, 5), (4,)), ((4, 5, 2), (4, 2)), ((2, 5, 3, 2), (2, 3, 2)),
]


@pytest.mark.parametrize("xs,ts", NLL_CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kw", [{}, {"weight": "w"}, {"ignore_index": 1}, {"weight": "w", "ignore_index": 2}])
def test_nll_loss(xs, ts, reduction, kw):
    x = RNG.standard_normal((3,) + xs)
    t = RNG.integers(0, 5, (3,) + ts)
    w = RNG.uniform(0.5, 2.0, 5)
    use_w = kw.get("weight") == "w"
    kw = {k: v for k, v in kw.items() if k != "weight"}
    if use_w:
        _check(lambda a, b, c: F.nll_loss(a, b, weight=c, reduction=reduction, **kw), [x, t, w], (0, 0, None),
               grad=True)
        _check(lambda a, b, c: F.nll_loss(a, b, weight=c, reduction=reduction, **kw),
               [x, t, RNG.uniform(0.5, 2.0, (3, 5))], (0, 0, 0), grad=True)   # a weight per sample
    else:
        _check(lambda a, b: F.nll_loss(a, b, reduction=reduction, **kw), [x, t], (0, 0), grad=True)


@pytest.mark.parametrize("dims", [(-1, None), (None, 0), (1, -1)])
def test_nll_loss_in_dims(dims):
    x = RNG.standard_normal((3, 4, 5))
    t = RNG.integers(0, 5, (3, 4))
    arrays = [x if dims[0] is not None else x[0], t if dims[1] is not None else t[0]]
    _check(lambda a, b: F.nll_loss(a, b), _moved(arrays, dims), dims, grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_small_batches(reduction):
    _check_sizes(lambda a, b, c: F.nll_loss(a, b, weight=c, reduction=reduction), [
        RNG.standard_normal((3, 4, 5)), RNG.integers(0, 5, (3, 4)), RNG.uniform(1, 2, (3, 5))], (0, 0, 0))


def test_nll_loss_nested_and_errors():
    x = npg.tensor(RNG.standard_normal((2, 3, 4, 5)), requires_grad=True)
    t = npg.tensor(RNG.integers(0, 5, (2, 3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(vmap(lambda a, b: F.nll_loss(a, b, ignore_index=0)))(x, t)
    ref = np.array([[F.nll_loss(npg.tensor(x.data[i, j]), t.data[i, j], ignore_index=0).data for j in range(3)]
                    for i in range(2)])
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    bad = npg.tensor(np.where(np.arange(12).reshape(3, 4) == 5, 7, 1))
    with pytest.raises(IndexError, match="out of bounds for 5 classes"):
        vmap(F.nll_loss)(npg.tensor(RNG.standard_normal((3, 4, 5))), bad)
    with pytest.raises(ValueError, match="does not match"):
        vmap(F.nll_loss)(npg.tensor(RNG.standard_normal((3, 4, 5))), npg.tensor(np.zeros((3, 3), int)))


def test_nll_loss_all_ignored_mean_is_nan():
    x = RNG.standard_normal((2, 3, 5))
    t = np.full((2, 3), 4)
    t[1, 0] = 1
    _check(lambda a, b: F.nll_loss(a, b, ignore_index=4), [x, t], (0, 0))


# ------------------------------------------------------------------------ margin losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kw", [{}, {"p": 2, "margin": 0.5}, {"weight": "w"}])
@pytest.mark.parametrize("xs,ts", [((4, 5), (4,)), ((5,), ()), ((5,), (1,))])
def test_multi_margin_loss(reduction, kw, xs, ts):
    x = RNG.standard_normal((3,) + xs)
    t = RNG.integers(0, 5, (3,) + ts)
    if kw.get("weight") == "w":
        for w, d in ((RNG.uniform(0.5, 2, 5), None), (RNG.uniform(0.5, 2, (3, 5)), 0)):
            _check(lambda a, b, c: F.multi_margin_loss(a, b, weight=c, reduction=reduction), [x, t, w], (0, 0, d),
                   grad=True)
    else:
        _check(lambda a, b: F.multi_margin_loss(a, b, reduction=reduction, **kw), [x, t], (0, 0), grad=True)


def _multilabel_targets(shape):
    t = RNG.integers(0, shape[-1], shape)
    cut = RNG.integers(0, shape[-1] + 1, shape[:-1])
    return np.where(np.arange(shape[-1]) < cut[..., None], t, -1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("xs", [(4, 5), (5,)])
def test_multilabel_margin_loss(reduction, xs):
    x = RNG.standard_normal((3,) + xs)
    t = _multilabel_targets((3,) + xs)
    _check(lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction), [x, t], (0, 0), grad=True)
    _check(lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction), [x, t[0]], (0, None), grad=True)


def test_margin_losses_small_batches_and_nested():
    x = RNG.standard_normal((3, 4, 5))
    _check_sizes(lambda a, b: F.multi_margin_loss(a, b), [x, RNG.integers(0, 5, (3, 4))], (0, 0))
    _check_sizes(lambda a, b: F.multilabel_margin_loss(a, b), [x, _multilabel_targets((3, 4, 5))], (0, 0))
    xn = npg.tensor(RNG.standard_normal((2, 3, 4, 5)))
    tn = npg.tensor(RNG.integers(0, 5, (2, 3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(vmap(lambda a, b: F.multi_margin_loss(a, b, reduction="sum")))(xn, tn)
    ref = [[F.multi_margin_loss(xn[i, j], tn[i, j], reduction="sum").data for j in range(3)] for i in range(2)]
    np.testing.assert_allclose(out.data, np.array(ref), rtol=1e-12)


# ------------------------------------------------------------------------ ctc_loss
def _ctc_inputs(B, T=6, N=2, C=4, S=3):
    lp = _logp(B, T, N, C)
    tl = RNG.integers(1, S + 1, (B, N))
    tg = RNG.integers(1, C, (B, N, S))
    il = RNG.integers(T - 1, T + 1, (B, N))
    return lp, tg, il, tl


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_padded(reduction, zero_infinity):
    lp, tg, il, tl = _ctc_inputs(3)
    tl[1, 0] = 3
    il[1, 0] = 2       # too short for 3 labels: an infinite loss
    _check(lambda a, b, c, d: F.ctc_loss(a, b, c, d, reduction=reduction, zero_infinity=zero_infinity),
           [lp, tg, il, tl], (0, 0, 0, 0), grad=True)


def test_ctc_loss_unbatched_samples_and_shared_targets():
    lp, tg, il, tl = _ctc_inputs(3)
    lp1 = lp[:, :, 0]                     # per-sample (T, C), target (S,), 0-d lengths
    _check_sizes(lambda a, b, c, d: F.ctc_loss(a, b, c, d), [lp1, tg[:, 0], il[:, 0], tl[:, 0]], (0, 0, 0, 0))
    _check_sizes(lambda a, b, c, d: F.ctc_loss(a, b, c, d, reduction="sum"), [lp, tg[0], il[0], tl[0]],
                 (0, None, None, None))


def test_ctc_loss_concatenated_targets():
    lp, tg, il, tl = _ctc_inputs(3)
    tl[:] = [[2, 3], [3, 2], [1, 1]]
    flat = np.stack([np.concatenate([tg[b, 0, :tl[b, 0]], tg[b, 1, :tl[b, 1]], np.ones(5 - tl[b].sum(), int)])
                     for b in range(3)])
    _check(lambda a, b, c, d: F.ctc_loss(a, b, c, d), [lp, flat, il, tl], (0, 0, 0, 0), grad=True)
    _check(lambda a, b, c, d: F.ctc_loss(a, b, c, d), [lp, np.array([1, 2, 3]), il[0], np.array([1, 2])],
           (0, None, None, None), grad=True)


# ------------------------------------------------------------------------ tensorinv, tensorsolve
def test_tensorinv_tensorsolve():
    a = RNG.standard_normal((3, 2, 3, 6)) + 3 * np.eye(6).reshape(1, 2, 3, 6)
    _check_sizes(lambda m: npg.linalg.tensorinv(m, ind=2), [a], (0,))
    _check(lambda m: npg.linalg.tensorinv(m, 2), [np.moveaxis(a, 0, -1)], (-1,), grad=True)
    b = RNG.standard_normal((3, 2, 3))
    a2 = RNG.standard_normal((3, 2, 3, 2, 3)) + 3 * np.eye(6).reshape(1, 2, 3, 2, 3)
    _check_sizes(npg.linalg.tensorsolve, [a2, b], (0, 0))
    _check_sizes(npg.linalg.tensorsolve, [a2[0], b], (None, 0))
    _check(lambda m, v: npg.linalg.tensorsolve(m, v, axes=(0, 1)), [np.moveaxis(a2, (3, 4), (1, 2)), b], (0, 0),
           grad=True)


def test_tensorinv_nested_and_bad_shape():
    a = npg.tensor(RNG.standard_normal((2, 3, 2, 2)) + 2 * np.eye(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(vmap(lambda m: npg.linalg.tensorinv(m, ind=1)))(a)
    np.testing.assert_allclose(out.data, np.linalg.inv(a.data), rtol=1e-12)
    with pytest.raises(Exception, match="tensorinv"):
        vmap(lambda m: npg.linalg.tensorinv(m, ind=1))(npg.tensor(RNG.standard_normal((3, 2, 3))))


# ------------------------------------------------------------------------ tensor / as_tensor
def test_tensor_of_a_batched_value():
    x = RNG.standard_normal((3, 4))
    out = _check(lambda a: npg.tensor(a) * 2, [x], (0,))
    assert out.requires_grad        # a new leaf per sample, as the loop's npg.tensor
    _check(lambda a: npg.tensor(a, dtype=np.float32, requires_grad=False), [x], (0,))
    _check(lambda a: npg.as_tensor(a) * a, [x], (0,), grad=True)
    _check(lambda a, b: npg.tensor([a[0], b, 2.0], requires_grad=False), [x, x[:, 1]], (0, 0))
    _check(lambda a: npg.as_tensor([[a[0], 1], [a[1], a[2]]]) * a[3], [x], (0,))
    xg = npg.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):   # as unbatched: the gradient would be lost
        vmap(lambda a: npg.tensor([a[0], a[1]]))(xg)
    _check(lambda a: npg.tensor(a), [np.moveaxis(x, 0, 1)], (-1,))
    _check_sizes(lambda a: npg.tensor(a[0], requires_grad=False) + a, [x], (0,), grad=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(vmap(lambda a: npg.tensor(a) + 1))(npg.tensor(RNG.standard_normal((2, 3, 4))))
    assert out.shape == (2, 3, 4)


def test_tensor_of_a_batched_value_is_a_copy():
    x = npg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    out = vmap(lambda a: (npg.tensor(a) * a).sum())(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, x.data)   # the copy is a constant for x's gradient


# ------------------------------------------------------------------------ dropout masks
DROPOUTS = [(lambda a: F.dropout(a, 0.5), (16, 6)), (lambda a: F.dropout1d(a, 0.5), (16, 6)),
            (lambda a: F.dropout2d(a, 0.5), (2, 16, 3, 3)), (lambda a: F.alpha_dropout(a, 0.5, training=True), (16, 6)),
            (lambda a: F.feature_alpha_dropout(a, 0.5, training=True), (16, 6, 3))]


@pytest.mark.parametrize("fn,per", DROPOUTS)
@pytest.mark.parametrize("randomness", ["same", "different"])
def test_dropout_masks_without_a_loop(fn, per, randomness):
    """One mask for every sample under 'same', one per sample under 'different' (also of an unbatched input)."""
    shape = (5,) + per
    x = npg.tensor(np.ones(shape), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(fn, randomness=randomness)(x)
        unb = vmap(lambda a, u: fn(u) + 0 * a, in_dims=(0, None), randomness=randomness)(x, npg.tensor(
            np.ones(shape[1:])))
    for o in (out, unb):
        rows = {r.tobytes() for r in o.data}
        assert len(rows) == (1 if randomness == "same" else 5)
    out.sum().backward()
    if fn is DROPOUTS[0][0]:          # x is ones: the gradient is the mask, the output too
        np.testing.assert_array_equal(x.grad, out.data)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(fn)(x)


def test_dropout_same_matches_the_unbatched_draw_and_nested_levels():
    npg.random.seed(4)
    out = vmap(lambda a: F.dropout(a, 0.3), randomness="same")(npg.tensor(np.ones((4, 50))))
    npg.random.seed(4)
    ref = F.dropout(npg.tensor(np.ones(50)), 0.3)
    np.testing.assert_array_equal(out.data, np.broadcast_to(ref.data, (4, 50)))
    x = npg.tensor(np.ones((2, 3, 40)))
    out = vmap(vmap(lambda a: F.dropout(a, 0.5), randomness="same"), randomness="different")(x)
    np.testing.assert_array_equal(out.data[:, 0], out.data[:, 2])
    assert (out.data[0, 0] != out.data[1, 0]).any()
    y = npg.tensor(np.ones((4, 30)), requires_grad=True)
    out = vmap(lambda a: F.dropout(a, 0.5) * np.arange(30.0), randomness="different")(y)
    out.sum().backward()
    np.testing.assert_array_equal(y.grad, out.data)     # y is ones: the gradient is mask * arange


@pytest.mark.parametrize("randomness", ["same", "different"])
def test_sdpa_dropout_masks(randomness):
    q = npg.tensor(np.broadcast_to(RNG.standard_normal((1, 6, 4)), (5, 6, 4)).copy())
    v = npg.tensor(np.broadcast_to(np.eye(6)[None, :, :4], (5, 6, 4)).copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(lambda a, b: F.scaled_dot_product_attention(a, a, b, dropout_p=0.5),
                   randomness=randomness)(q, v)
    rows = {r.tobytes() for r in out.data}
    assert len(rows) == (1 if randomness == "same" else 5)
    fv._warned.clear()


@pytest.mark.parametrize("kw,mask,mdim", [({}, None, None), ({"is_causal": True}, None, None), ({}, "bool", None),
                                          ({}, "float", 0), ({"scale": 0.3}, "float", None)])
def test_sdpa_with_dropout_matches_the_fused_op_when_nothing_drops(kw, mask, mdim):
    """The vmap spelling of attention with dropout (p so small nothing drops) against a loop of the fused op:
    values and gradients, masks (a fully masked row included), causal, scale."""
    q, k, v = RNG.standard_normal((3, 2, 5, 4)), RNG.standard_normal((3, 2, 6, 4)), RNG.standard_normal((3, 2, 6, 3))
    m = None
    if mask == "bool":
        m = RNG.random((5, 6)) > 0.4
        m[1] = False
    elif mask == "float":
        m = RNG.standard_normal((3, 5, 6)) if mdim == 0 else RNG.standard_normal((5, 6))
    arrays, dims = [q, k, v] + ([m] if m is not None else []), (0, 0, 0) + ((mdim,) if m is not None else ())
    ts = [npg.tensor(a, requires_grad=a.dtype.kind == "f" and i < 3) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(lambda a, b, c, mm=None: F.scaled_dot_product_attention(a, b, c, attn_mask=mm, dropout_p=1e-300,
                                                                           **kw), in_dims=dims, randomness="same")(*ts)
    refs = [npg.tensor(a, requires_grad=True) for a in (q, k, v)]
    ref = npg.stack([F.scaled_dot_product_attention(refs[0][i], refs[1][i], refs[2][i], attn_mask=None if m is None
                                                    else npg.tensor(m[i] if mdim == 0 else m), **kw)
                     for i in range(3)])
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12, atol=1e-14)
    w = RNG.standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    for t, r in zip(ts, refs):
        np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("case", ["all_ignored", "zero_weights"])
def test_zero_denominator_gradients_match_torch(name, case):
    """reduction='mean' with no weight left (every target ignored, or zero class weights at the targets): the
    loss is nan and torch's gradient is 0 off the non-ignored targets (nan only there); unbatched and under
    vmap."""
    import torch
    x = RNG.standard_normal((2, 3, 5))
    t = np.array([[4, 4, 4], [0, 0, 4]]) if case == "zero_weights" else np.full((2, 3), 4)
    w = np.array([0.0, 1, 1, 1, 1]) if case == "zero_weights" else None
    f = getattr(F, name)
    ref = []
    for i in range(2):
        xt = torch.tensor(x[i], requires_grad=True)
        getattr(torch.nn.functional, name)(xt, torch.tensor(t[i]), weight=None if w is None else torch.tensor(w),
                                           ignore_index=4).backward()
        ref.append(xt.grad.numpy())
        a = npg.tensor(x[i], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f(a, t[i], weight=w, ignore_index=4).backward()
        np.testing.assert_array_equal(a.grad, ref[-1])
    xb = npg.tensor(x, requires_grad=True)
    if name == "nll_loss":
        with warnings.catch_warnings():
            warnings.simplefilter("error", Fallback)
            out = vmap(lambda a, b: f(a, b, weight=w, ignore_index=4))(xb, npg.tensor(t))
        assert np.isnan(out.data).all()
        with np.errstate(invalid="ignore", divide="ignore"):
            out.sum().backward()
        np.testing.assert_array_equal(xb.grad, np.stack(ref))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_weight_that_requires_grad_under_vmap(reduction, smoothing):
    """The class weights' gradient (they require grad) through vmap equals the per-sample loop's, the mean's
    divisor included."""
    x, t, w = RNG.standard_normal((3, 4, 5)), RNG.integers(0, 5, (3, 4)), RNG.uniform(0.5, 2.0, 5)
    t[0, 1] = -100
    _check(lambda a, b, c: F.cross_entropy(a, b, weight=c, reduction=reduction, label_smoothing=smoothing),
           [x, t, w], (0, 0, None), grad=True)
