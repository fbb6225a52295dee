"""Forward-mode AD of the nn.functional families, npgrad.special / scipy.special and the dim-index ops:
``npg.func.jvp`` against ``torch.func.jvp`` (float64; float32 keeps its dtype), with no op falling back to the
transposed VJP (``fwAD.FALLBACK_OPS`` stays empty)."""
import warnings

import numpy as np
import pytest
import scipy.special as ss
import torch
import torch.func as tf

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad import func
from tests.helpers import assert_close

Fn, Ft = npg.nn.functional, torch.nn.functional
T = torch.tensor
rng = np.random.default_rng(23)
x2 = rng.standard_normal((4, 6))
x3 = rng.standard_normal((2, 3, 7))
x4 = rng.standard_normal((2, 3, 6, 6))
x5 = rng.standard_normal((1, 2, 3, 4, 4))
pos = rng.random((3, 5)) + 0.5
idx = np.array([[0, 2, 1], [3, 0, 0]])


def _npg_jvp(fn, arrays, tangents):
    fwAD.FALLBACK_OPS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)      # a fallback warns: fail loudly
        warnings.simplefilter("ignore", RuntimeWarning)
        out, jv = func.jvp(fn, tuple(npg.tensor(a, requires_grad=False) for a in arrays),
                           tuple(npg.tensor(t, requires_grad=False) for t in tangents))
    return out, jv


def _torch_jvp(tfn, arrays, tangents):
    out, jv = tf.jvp(tfn, tuple(T(a) for a in arrays), tuple(T(t) for t in tangents))
    return out.detach().numpy(), jv.detach().numpy()


def _torch_jvp_reverse(tfn, arrays, tangents):
    """``J t`` from torch's reverse-mode Jacobian (ops torch has no forward-mode formula for)."""
    xs = tuple(T(a) for a in arrays)
    out = tfn(*xs).detach().numpy()
    jac = torch.autograd.functional.jacobian(tfn, xs)
    jac = jac if isinstance(jac, tuple) else (jac,)
    jv = np.zeros(out.shape, out.dtype)
    for J, t in zip(jac, tangents):
        jv = jv + np.tensordot(J.numpy(), t, axes=t.ndim)
    return out, jv


def _pair(fn, tfn):
    return fn, tfn


def _cases():
    c = {}
    # ----- elementwise activations (activation_more)
    for name, kw in [("elu", {}), ("elu", {"alpha": 0.7}), ("selu", {}), ("celu", {"alpha": 1.3}),
                     ("hardtanh", {}), ("relu6", {}), ("hardswish", {}), ("hardsigmoid", {}),
                     ("softshrink", {}), ("hardshrink", {}), ("tanhshrink", {}), ("softsign", {}), ("mish", {}),
                     ("logsigmoid", {})]:
        c[f"{name}{kw}"] = ([x2 * 3], lambda a, n=name, k=kw: getattr(Fn, n)(a, **k),
                            lambda a, n=name, k=kw: getattr(Ft, n)(a, **k))
    for name in ("elu", "selu", "celu", "hardtanh", "relu6", "threshold", "leaky_relu", "rrelu", "relu"):
        args = (0.1, 2.0) if name == "threshold" else ()
        c[f"{name}_inplace"] = ([x2], lambda a, n=name, r=args: getattr(Fn, n + "_")(a * 1.0, *r),
                                lambda a, n=name, r=args: (Ft.hardtanh_(a * 1.0, 0.0, 6.0) if n == "relu6"
                                                             else getattr(Ft, n + "_")(a * 1.0, *r)))
    c["threshold"] = ([x2], lambda a: Fn.threshold(a, 0.1, 2.0), lambda a: Ft.threshold(a, 0.1, 2.0))
    c["rrelu_eval"] = ([x2], lambda a: Fn.rrelu(a), lambda a: Ft.rrelu(a))
    c["prelu"] = ([x4, rng.random(3)], Fn.prelu, Ft.prelu)
    c["glu"] = ([x2], Fn.glu, Ft.glu)
    c["softmin"] = ([x2], lambda a: Fn.softmin(a, dim=1), lambda a: Ft.softmin(a, dim=1))
    # ----- losses
    tgt = rng.standard_normal((4, 6))
    sgn = np.sign(rng.standard_normal(4))
    lab = (rng.random((4, 6)) > 0.5).astype(np.float64)
    c["kl_div"] = ([x2, np.abs(tgt)], lambda a, b: Fn.kl_div(a, b, reduction="batchmean"),
                   lambda a, b: Ft.kl_div(a, b, reduction="batchmean"))
    c["kl_div_log_target"] = ([x2, tgt], lambda a, b: Fn.kl_div(a, b, reduction="sum", log_target=True),
                              lambda a, b: Ft.kl_div(a, b, reduction="sum", log_target=True))
    c["huber_loss"] = ([x2, tgt], lambda a, b: Fn.huber_loss(a, b, delta=0.5),
                       lambda a, b: Ft.huber_loss(a, b, delta=0.5))
    c["smooth_l1_loss"] = ([x2, tgt], Fn.smooth_l1_loss, Ft.smooth_l1_loss)
    c["poisson_nll_loss"] = ([x2, np.abs(tgt)], Fn.poisson_nll_loss, Ft.poisson_nll_loss)
    c["poisson_nll_loss_full"] = ([np.abs(x2) + 0.1, np.abs(tgt) * 3],
                                  lambda a, b: Fn.poisson_nll_loss(a, b, log_input=False, full=True),
                                  lambda a, b: Ft.poisson_nll_loss(a, b, log_input=False, full=True))
    c["gaussian_nll_loss"] = ([x2, tgt, np.abs(tgt) + 0.1], Fn.gaussian_nll_loss, Ft.gaussian_nll_loss)
    c["soft_margin_loss"] = ([x2], lambda a: Fn.soft_margin_loss(a, np.sign(tgt)),
                             lambda a: Ft.soft_margin_loss(a, T(np.sign(tgt))))
    c["multilabel_soft_margin_loss"] = ([x2], lambda a: Fn.multilabel_soft_margin_loss(a, lab),
                                        lambda a: Ft.multilabel_soft_margin_loss(a, T(lab)))
    c["cosine_embedding_loss"] = ([x2, tgt], lambda a, b: Fn.cosine_embedding_loss(a, b, sgn),
                                  lambda a, b: Ft.cosine_embedding_loss(a, b, T(sgn)))
    c["margin_ranking_loss"] = ([x2[0], tgt[0]], lambda a, b: Fn.margin_ranking_loss(a, b, np.sign(tgt[1]), 0.2),
                                lambda a, b: Ft.margin_ranking_loss(a, b, T(np.sign(tgt[1])), 0.2))
    c["hinge_embedding_loss"] = ([x2], lambda a: Fn.hinge_embedding_loss(a, np.sign(tgt)),
                                 lambda a: Ft.hinge_embedding_loss(a, T(np.sign(tgt))))
    c["triplet_margin_loss"] = ([x2, tgt, tgt[::-1].copy()], Fn.triplet_margin_loss, Ft.triplet_margin_loss)
    ml = np.array([[3, 0, -1, 1, 1, 1], [1, 2, 5, -1, 0, 0], [0, -1, 0, 0, 0, 0], [4, 5, 1, 2, -1, 0]])
    c["multilabel_margin_loss"] = ([x2], lambda a: Fn.multilabel_margin_loss(a, ml),
                                   lambda a: Ft.multilabel_margin_loss(a, T(ml)))
    cls = np.array([0, 5, 2, 1])
    c["multi_margin_loss"] = ([x2], lambda a: Fn.multi_margin_loss(a, cls),
                              lambda a: Ft.multi_margin_loss(a, T(cls)))
    c["nll_loss"] = ([x2], lambda a: Fn.nll_loss(Fn.log_softmax(a, dim=1), cls),
                     lambda a: Ft.nll_loss(Ft.log_softmax(a, dim=1), T(cls)))
    c["bce_with_logits"] = ([x2], lambda a: Fn.binary_cross_entropy_with_logits(a, lab),
                            lambda a: Ft.binary_cross_entropy_with_logits(a, T(lab)))
    # ----- distances
    c["cosine_similarity"] = ([x2, tgt], Fn.cosine_similarity, Ft.cosine_similarity)
    c["pairwise_distance"] = ([x2, tgt], Fn.pairwise_distance, Ft.pairwise_distance)
    c["pdist"] = ([x2], Fn.pdist, Ft.pdist)
    # ----- pooling
    c["lp_pool1d"] = ([np.abs(x3) + 0.1], lambda a: Fn.lp_pool1d(a, 2, 3), lambda a: Ft.lp_pool1d(a, 2, 3))
    c["lp_pool2d"] = ([np.abs(x4) + 0.1], lambda a: Fn.lp_pool2d(a, 3, 2), lambda a: Ft.lp_pool2d(a, 3, 2))
    c["max_pool1d"] = ([x3], lambda a: Fn.max_pool1d(a, 2), lambda a: Ft.max_pool1d(a, 2))
    c["avg_pool3d"] = ([x5], lambda a: Fn.avg_pool3d(a, 2), lambda a: Ft.avg_pool3d(a, 2))
    c["adaptive_avg_pool2d"] = ([x4], lambda a: Fn.adaptive_avg_pool2d(a, 4), lambda a: Ft.adaptive_avg_pool2d(a, 4))
    c["adaptive_max_pool2d"] = ([x4], lambda a: Fn.adaptive_max_pool2d(a, 4), lambda a: Ft.adaptive_max_pool2d(a, 4))
    # ----- resampling
    for mode, kw in [("nearest", {}), ("nearest-exact", {}), ("bilinear", {"align_corners": False}),
                     ("bilinear", {"align_corners": True}), ("bicubic", {"align_corners": False})]:
        c[f"interpolate_{mode}{kw}"] = ([x4], lambda a, m=mode, k=kw: Fn.interpolate(a, size=(9, 4), mode=m, **k),
                                        lambda a, m=mode, k=kw: Ft.interpolate(a, size=(9, 4), mode=m, **k))
    c["interpolate_linear"] = ([x3], lambda a: Fn.interpolate(a, scale_factor=2.5, mode="linear"),
                               lambda a: Ft.interpolate(a, scale_factor=2.5, mode="linear"))
    c["interpolate_trilinear"] = ([x5], lambda a: Fn.interpolate(a, size=(2, 5, 3), mode="trilinear"),
                                  lambda a: Ft.interpolate(a, size=(2, 5, 3), mode="trilinear"))
    c["interpolate_area"] = ([x4], lambda a: Fn.interpolate(a, size=(4, 3), mode="area"),
                             lambda a: Ft.interpolate(a, size=(4, 3), mode="area"))
    c["unfold"] = ([x4], lambda a: Fn.unfold(a, 3, padding=1, stride=2), lambda a: Ft.unfold(a, 3, padding=1, stride=2))
    cols = rng.standard_normal((2, 12, 4))
    c["fold"] = ([cols], lambda a: Fn.fold(a, (5, 5), 2, stride=2), lambda a: Ft.fold(a, (5, 5), 2, stride=2))
    c["pixel_shuffle"] = ([rng.standard_normal((1, 8, 3, 2))], lambda a: Fn.pixel_shuffle(a, 2),
                          lambda a: Ft.pixel_shuffle(a, 2))
    c["pixel_unshuffle"] = ([x4], lambda a: Fn.pixel_unshuffle(a, 2), lambda a: Ft.pixel_unshuffle(a, 2))
    # ----- grid
    theta = rng.standard_normal((2, 2, 3)) * 0.5
    grid = rng.uniform(-1.1, 1.1, (2, 5, 4, 2))
    c["affine_grid"] = ([theta], lambda a: Fn.affine_grid(a, (2, 3, 5, 4), align_corners=False),
                        lambda a: Ft.affine_grid(a, (2, 3, 5, 4), align_corners=False))
    for mode in ("bilinear", "nearest", "bicubic"):
        c[f"grid_sample_{mode}"] = ([x4, grid],
                                    lambda a, g, m=mode: Fn.grid_sample(a, g, mode=m, align_corners=False),
                                    lambda a, g, m=mode: Ft.grid_sample(a, g, mode=m, align_corners=False))
    # ----- embedding relatives
    emb = rng.standard_normal((5, 3))
    c["embedding"] = ([emb], lambda w: Fn.embedding(idx, w), lambda w: Ft.embedding(T(idx), w))
    c["embedding_bag"] = ([emb], lambda w: Fn.embedding_bag(idx, w, mode="mean"),
                          lambda w: Ft.embedding_bag(T(idx), w, mode="mean"))
    c["one_hot_matmul"] = ([emb], lambda w: Fn.one_hot(idx, 5).astype(np.float64) @ w,
                           lambda w: Ft.one_hot(T(idx), 5).double() @ w)
    # ----- dim-index ops and torch-named methods
    src = rng.standard_normal((2, 3))
    c["gather"] = ([x2], lambda a: npg.gather(a, 1, idx), lambda a: torch.gather(a, 1, T(idx)))
    c["scatter"] = ([x2, src], lambda a, s: npg.scatter(a, 1, idx[:, :1], s[:, :1]),
                    lambda a, s: torch.scatter(a, 1, T(idx[:, :1]), s[:, :1]))
    c["scatter_add"] = ([x2, src], lambda a, s: npg.scatter_add(a, 1, idx, s),
                        lambda a, s: torch.scatter_add(a, 1, T(idx), s))
    c["index_select"] = ([x2], lambda a: npg.index_select(a, 1, np.array([0, 3, 3])),
                         lambda a: torch.index_select(a, 1, T([0, 3, 3])))
    c["index_add"] = ([x2, x2[:, :2] * 2], lambda a, s: npg.index_add(a, 1, np.array([0, 3]), s),
                      lambda a, s: torch.index_add(a, 1, T([0, 3]), s))
    c["index_fill"] = ([x2], lambda a: npg.index_fill(a, 1, np.array([0, 3]), 2.0),
                       lambda a: torch.index_fill(a, 1, T([0, 3]), 2.0))
    c["method_norm"] = ([x2], lambda a: a.norm(dim=1), lambda a: a.norm(dim=1))
    c["method_clamp"] = ([x2], lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5))
    c["method_softmax"] = ([x2], lambda a: a.softmax(dim=0), lambda a: a.softmax(dim=0))
    c["method_gather"] = ([x2], lambda a: a.gather(1, idx), lambda a: a.gather(1, T(idx)))
    c["method_expand"] = ([x2[:1]], lambda a: a.expand(3, 6), lambda a: a.expand(3, 6))
    c["method_max"] = ([x2], lambda a: a.max(dim=1).values, lambda a: a.max(dim=1).values)
    # ----- special functions
    for name, tname, arr in [("erf", "erf", x2), ("erfc", "erfc", x2), ("erfcx", "erfcx", x2),
                             ("erfinv", "erfinv", np.tanh(x2)), ("ndtr", "ndtr", x2), ("log_ndtr", "log_ndtr", x2),
                             ("ndtri", "ndtri", pos / 2.5), ("gammaln", "gammaln", pos),
                             ("digamma", "digamma", pos), ("i0", "i0", x2), ("i0e", "i0e", x2), ("i1", "i1", x2),
                             ("i1e", "i1e", x2), ("logit", "logit", pos / 2.5), ("entr", "entr", pos),
                             ("expit", "expit", x2)]:
        c[f"special_{name}"] = ([arr], lambda a, n=name: getattr(npg.special, n)(a),
                                lambda a, n=tname: getattr(torch.special, n)(a))
    c["special_xlogy"] = ([pos, pos[::-1].copy()], npg.special.xlogy, torch.special.xlogy)
    c["special_xlog1py"] = ([pos, pos[::-1].copy()], npg.special.xlog1py, torch.special.xlog1py)
    c["special_polygamma"] = ([pos], lambda a: npg.special.polygamma(2, a), lambda a: torch.special.polygamma(2, a))
    c["special_zeta"] = ([pos + 1], lambda q: npg.special.zeta(3.0, q), lambda q: torch.special.zeta(3.0, q))
    return c


CASES = _cases()
# torch has no forward-mode formula for these: checked against J t from its reverse mode
REVERSE = {"special_zeta", "multilabel_margin_loss", "embedding_bag"}
# a float64 constant operand (a target, a one-hot cast to float64) promotes a float32 input, as in torch
PROMOTES = {"margin_ranking_loss", "multilabel_soft_margin_loss", "one_hot_matmul", "soft_margin_loss"}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jvp_against_torch(name, dtype):
    arrays, fn, tfn = CASES[name]
    arrays = [np.asarray(a, dtype) for a in arrays]
    r = np.random.default_rng(7)
    tangents = [r.standard_normal(a.shape).astype(dtype) for a in arrays]
    out, jv = _npg_jvp(fn, arrays, tangents)
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    want = np.float64 if name in PROMOTES else dtype
    assert out.dtype == want and jv.dtype == want, (out.dtype, jv.dtype)
    if dtype == np.float32:
        return  # dtype kept; values are checked in float64
    try:
        tout, tjv = (_torch_jvp_reverse if name in REVERSE else _torch_jvp)(tfn, arrays, tangents)
    except (RuntimeError, NotImplementedError) as e:
        if "forward ad" not in str(e).lower() and "storage" not in str(e):
            raise
        tout, tjv = _torch_jvp_reverse(tfn, arrays, tangents)
    assert_close(out.data, tout, what=f"{name} primal")
    assert_close(jv.data, tjv, what=f"{name} tangent")


@pytest.mark.parametrize("name", ["jv", "iv", "kv", "gammainc", "j0", "y1"])
def test_scipy_special_jvp(name):
    """SciPy ufuncs with derivative formulas: J t against finite differences (torch has no such functions)."""
    a = rng.random((3, 4)) + 0.5
    t = rng.standard_normal(a.shape)
    f = getattr(ss, name)
    fn = (lambda x: f(1.5, x)) if name in ("jv", "iv", "kv", "gammainc") else f
    out, jv = _npg_jvp(fn, [a], [t])
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    h = 1e-6
    fd = (np.asarray(fn(a + h * t)) - np.asarray(fn(a - h * t))) / (2 * h)
    assert_close(out.data, np.asarray(fn(a)))
    np.testing.assert_allclose(jv.data, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name, fn", [
    ("dropout1d", lambda a: Fn.dropout1d(a[:, :, 0], 0.4)), ("dropout2d", lambda a: Fn.dropout2d(a, 0.5)),
    ("dropout3d", lambda a: Fn.dropout3d(a[:, :, None], 0.5)), ("alpha_dropout", lambda a: Fn.alpha_dropout(a, 0.3, True)),
    ("feature_alpha_dropout", lambda a: Fn.feature_alpha_dropout(a, 0.3, True)),
    ("dropout2d_p1", lambda a: Fn.dropout2d(a, 1.0)), ("rrelu_train", lambda a: Fn.rrelu(a, training=True)),
    ("dropout", lambda a: Fn.dropout(a, 0.3))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_ops_jvp(name, fn, dtype):
    """Dropout's noise is affine in the input: with the same seed, J t = f(x + t) - f(x) (torch's RNG differs).
    (rrelu's slope depends on the sign of x: t is kept small so no sign flips.)"""
    a = x4.astype(dtype)
    t = (rng.standard_normal(a.shape) * (1e-3 if name == "rrelu_train" else 1)).astype(dtype)
    npg.random.seed(3)
    out, jv = _npg_jvp(fn, [a], [t])
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    assert out.dtype == dtype and jv.dtype == dtype
    npg.random.seed(3)
    f0 = fn(npg.tensor(a)).data
    npg.random.seed(3)
    f1 = fn(npg.tensor(a + t)).data
    assert_close(out.data, f0)
    np.testing.assert_allclose(jv.data, f1 - f0, rtol=1e-4, atol=1e-5 if dtype == np.float32 else 1e-12)


# ------------------------------------------------------------------------------------------ recurrent
from npgrad.nn.functional import recurrent as R  # noqa: E402


def _cell_arrays(gates, with_c, H=3, I=4, B=2, bias=True):
    r = np.random.default_rng(31)
    a = [r.standard_normal((B, I)), r.standard_normal((B, H))] + ([r.standard_normal((B, H))] if with_c else [])
    a += [r.standard_normal((gates * H, I)) * 0.5, r.standard_normal((gates * H, H)) * 0.5]
    return a + ([r.standard_normal(gates * H), r.standard_normal(gates * H)] if bias else [])


CELLS = {
    "lstm_cell": (_cell_arrays(4, True), lambda x, h, c, *w: R.lstm_cell(x, (h, c), *w)[0] * 2 + R.lstm_cell(x, (h, c), *w)[1],
                  lambda x, h, c, *w: torch.lstm_cell(x, (h, c), *w)[0] * 2 + torch.lstm_cell(x, (h, c), *w)[1]),
    "gru_cell": (_cell_arrays(3, False), R.gru_cell, torch.gru_cell),
    "gru_cell_nobias": (_cell_arrays(3, False, bias=False), R.gru_cell, torch.gru_cell),
    "rnn_tanh_cell": (_cell_arrays(1, False), R.rnn_tanh_cell, torch.rnn_tanh_cell),
    "rnn_relu_cell": (_cell_arrays(1, False), R.rnn_relu_cell, torch.rnn_relu_cell),
}


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_recurrent_cells_jvp(name, dtype):
    arrays, fn, tfn = CELLS[name]
    arrays = [np.asarray(a, dtype) for a in arrays]
    tangents = [np.random.default_rng(8).standard_normal(a.shape).astype(dtype) for a in arrays]
    out, jv = _npg_jvp(fn, arrays, tangents)
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    assert out.dtype == dtype and jv.dtype == dtype
    if dtype == np.float64:
        tout, tjv = _torch_jvp_reverse(tfn, arrays, tangents)
        assert_close(out.data, tout, what=f"{name} primal")
        assert_close(jv.data, tjv, what=f"{name} tangent")


RNNS = {
    "lstm": dict(mode="LSTM", kw=dict(num_layers=2)),
    "lstm_bidir_proj": dict(mode="LSTM", kw=dict(num_layers=2, bidirectional=True, proj_size=2)),
    "gru_bidir": dict(mode="GRU", kw=dict(num_layers=2, bidirectional=True)),
    "rnn_tanh": dict(mode="RNN", kw=dict(num_layers=2)),
    "rnn_relu_bidir": dict(mode="RNN", kw=dict(nonlinearity="relu", bidirectional=True)),
}


@pytest.mark.parametrize("name", sorted(RNNS))
@pytest.mark.parametrize("packed", [False, True])
def test_rnn_modules_jvp_against_torch(name, packed):
    """nn.LSTM / GRU / RNN: the tangent along the input and every parameter at once."""
    mode, kw = RNNS[name]["mode"], RNNS[name]["kw"]
    ncls, tcls = getattr(npg.nn, mode), getattr(torch.nn, mode)
    npg.random.seed(0)
    m = ncls(4, 3, **kw).double() if hasattr(ncls, "double") else ncls(4, 3, **kw)
    names = [n for n, _ in m.named_parameters()]
    params = [p.data.astype(np.float64) for _, p in m.named_parameters()]
    tm = tcls(4, 3, **kw).double()
    x = np.random.default_rng(4).standard_normal((5, 3, 4))
    lengths = [5, 3, 2]
    arrays = [x] + params
    tangents = [np.random.default_rng(9).standard_normal(a.shape) for a in arrays]

    def f(xx, *ps):
        inp = npg.nn.utils.rnn.pack_padded_sequence(xx, lengths) if packed else xx
        out = npg.func.functional_call(m, dict(zip(names, ps)), (inp,))[0]
        return npg.nn.utils.rnn.pad_packed_sequence(out)[0] if packed else out

    def tfn(xx, *ps):
        inp = torch.nn.utils.rnn.pack_padded_sequence(xx, lengths) if packed else xx
        out = torch.func.functional_call(tm, dict(zip(names, ps)), (inp,))[0]
        return torch.nn.utils.rnn.pad_packed_sequence(out)[0] if packed else out

    out, jv = _npg_jvp(f, arrays, tangents)
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    try:
        tout, tjv = _torch_jvp(tfn, arrays, tangents)
    except (RuntimeError, NotImplementedError):
        tout, tjv = _torch_jvp_reverse(tfn, arrays, tangents)
    assert_close(out.data, tout, what=f"{name} primal")
    assert_close(jv.data, tjv, what=f"{name} tangent")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ctc_loss_jvp(reduction, dtype):
    """CTC (torch has no forward-mode formula for it): J t against torch's reverse-mode Jacobian, through
    log_softmax as in training, with an impossible alignment zeroed by zero_infinity."""
    r = np.random.default_rng(12)
    Tn, N, C = 6, 3, 5
    logits = r.standard_normal((Tn, N, C)).astype(dtype)
    targets = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])
    il, tl = np.array([6, 5, 3]), np.array([3, 2, 3])     # sample 2: 3 repeated labels need 5 steps > 3
    t = r.standard_normal(logits.shape).astype(dtype)

    def f(x):
        return Fn.ctc_loss(Fn.log_softmax(x, dim=2), targets, il, tl, reduction=reduction, zero_infinity=True)

    def tfn(x):
        return Ft.ctc_loss(Ft.log_softmax(x, dim=2), T(targets), T(il), T(tl), reduction=reduction,
                           zero_infinity=True)
    out, jv = _npg_jvp(f, [logits], [t])
    assert not fwAD.FALLBACK_OPS, f"ctc_loss: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    assert out.dtype == dtype and jv.dtype == dtype
    if dtype == np.float64:
        tout, tjv = _torch_jvp_reverse(tfn, [logits], [t])
        assert_close(out.data, tout, what="ctc primal")
        assert_close(jv.data, tjv, what="ctc tangent")


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn", "ctc"])
def test_rules_differentiable_again(name):
    """The recurrent and CTC rules are written with npgrad ops: jacfwd(jacfwd) and jacrev(jacfwd) give the
    Hessian jacrev(jacrev) gives."""
    r = np.random.default_rng(1)
    H, I, B = 2, 3, 2
    gates = {"lstm": 4, "gru": 3, "rnn": 1, "ctc": 1}[name]
    x, h, c = r.standard_normal((B, I)), r.standard_normal((B, H)), r.standard_normal((B, H))
    wh, bb = npg.tensor(r.standard_normal((gates * H, H))), npg.tensor(r.standard_normal(gates * H))
    W = npg.tensor(r.standard_normal((4, 2, 3)) if name == "ctc" else r.standard_normal((gates * H, I)))

    def f(w):
        if name == "ctc":
            return Fn.ctc_loss(Fn.log_softmax(w, dim=2), np.array([[1, 2], [2, 2]]), np.array([4, 4]),
                               np.array([2, 2]))
        if name == "lstm":
            o = R.lstm_cell(npg.tensor(x), (npg.tensor(h), npg.tensor(c)), w, wh, bb, bb)
            return (o[0] * o[1]).sum()
        cell = R.gru_cell if name == "gru" else R.rnn_tanh_cell
        return (cell(npg.tensor(x), npg.tensor(h), w, wh, bb, bb) ** 2).sum()
    fwAD.FALLBACK_OPS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ff = npg.func.jacfwd(npg.func.jacfwd(f))(W).data
        rf = npg.func.jacrev(npg.func.jacfwd(f))(W).data
    rr = npg.func.jacrev(npg.func.jacrev(f))(W).data
    assert not fwAD.FALLBACK_OPS
    assert_close(ff, rr, what=f"{name} jacfwd(jacfwd)")
    assert_close(rf, rr, what=f"{name} jacrev(jacfwd)")


@pytest.mark.parametrize("name, args", [
    ("gamma", [pos]), ("rgamma", [pos]), ("erfcinv", [pos / 2]), ("multigammaln", [pos + 2]),
    ("beta", [pos, pos[::-1].copy()]), ("betaln", [pos, pos[0]]), ("xlogy", [pos, pos[0]]),
    ("xlog1py", [pos[0], pos]), ("sinc", [x2]), ("softmax", [x2]), ("logsumexp", [x2])])
def test_special_jvp_finite_difference(name, args):
    """npgrad.special functions torch.special lacks (or broadcasting operands): J t against central differences
    (the DIAG rules of a binary op with broadcast operands included)."""
    f = getattr(npg.special, name)
    fn = {"multigammaln": lambda a: f(a, 3), "softmax": lambda a: f(a, 1), "logsumexp": lambda a: f(a, 1)}.get(name, f)
    ts = [np.random.default_rng(3).standard_normal(a.shape) for a in args]
    out, jv = _npg_jvp(fn, args, ts)
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    h = 1e-6
    fd = (fn(*[npg.tensor(a + h * t) for a, t in zip(args, ts)]).data
          - fn(*[npg.tensor(a - h * t) for a, t in zip(args, ts)]).data) / (2 * h)
    np.testing.assert_allclose(jv.data, fd, rtol=1e-5, atol=1e-7)


def test_xlogy_jvp_at_zero_as_torch():
    """xlogy's x-tangent is 0 where x == 0 and y <= 0, as torch's forward formula."""
    a, b = np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, -1.0, 2.0, 0.5])
    ts = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.0, 1.0, -1.0])]
    out, jv = _npg_jvp(npg.special.xlogy, [a, b], ts)
    tout, tjv = _torch_jvp(torch.special.xlogy, [a, b], ts)
    assert_close(jv.data, tjv)
