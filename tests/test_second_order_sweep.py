"""Hessian-vector products of every differentiable op, by double backward and by forward-over-reverse, in float64.

For an op ``f``, weights ``w`` and a direction ``v`` (one per input): ``L = sum(tanh(f(x)) * w)``,
``g = grad(L, x, create_graph=True)``, ``hvp = grad(sum(g * v), x)``. The ``tanh`` readout makes the
cotangent reaching ``f`` depend on ``x``, so the product involves both ``f``'s second derivative and its
VJP's derivative with respect to the cotangent (tests/test_higher_order.py reads ``f`` out linearly, where
the latter never shows). Several inputs give the mixed second derivatives. The same product by
``jvp(grad(L), x, v)`` (forward mode over reverse) checks the JVP rules of the backward graph, and
``grad(jvp(L, x, v))`` (reverse over forward) the reverse graph the JVP rules record.

Oracles: ``torch.autograd.grad`` twice on the same inputs; where torch has no double backward for an op,
central finite differences of npgrad's own (first-order, checked elsewhere) gradient along ``v``.
"""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.test_ops_table import CASES, make_inputs

NF, TF = npg.nn.functional, torch.nn.functional
S, TS = npg.special, torch.special
LA, TLA = npg.linalg, torch.linalg
TOL = dict(rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------------------------------ the three products
def _loss(out, w):
    return npg.sum(npg.tanh(out) * w)


def hvp_double_backward(fn, arrays, w, vs):
    """npgrad's HVP by backward of backward (zeros where an input takes no second derivative)."""
    xs = [npg.tensor(a) for a in arrays]
    gs = npg.autograd.grad(_loss(fn(*xs), w), xs, create_graph=True, allow_unused=True)
    terms = [npg.sum(g * v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if not terms:
        return [np.zeros_like(a) for a in arrays]
    hs = npg.autograd.grad(sum(terms[1:], terms[0]), xs, allow_unused=True)
    return [np.zeros_like(a) if h is None else np.asarray(h.data) for h, a in zip(hs, arrays)]


def hvp_forward_over_reverse(fn, arrays, w, vs):
    """npgrad's HVP as ``jvp(grad(L), x, v)``."""
    wt = npg.tensor(w)
    grad = npg.func.grad(lambda *xs: _loss(fn(*xs), wt), argnums=tuple(range(len(arrays))))
    _, h = npg.func.jvp(grad, tuple(npg.tensor(a) for a in arrays), tuple(npg.tensor(v) for v in vs))
    return [np.asarray(t.data) for t in h]


def hvp_reverse_over_forward(fn, arrays, w, vs):
    """npgrad's HVP as ``grad(x -> jvp(L, x, v))`` (the JVP rules' values differentiated in reverse)."""
    wt, tangents = npg.tensor(w), tuple(npg.tensor(v) for v in vs)

    def directional(*xs):
        return npg.func.jvp(lambda *ys: _loss(fn(*ys), wt), xs, tangents)[1]
    h = npg.func.grad(directional, argnums=tuple(range(len(arrays))))(*[npg.tensor(a) for a in arrays])
    return [np.asarray(t.data) for t in h]


def hvp_torch(tfn, arrays, w, vs):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss = (torch.tanh(tfn(*ts)) * torch.tensor(w)).sum()
    gs = torch.autograd.grad(loss, ts, create_graph=True, allow_unused=True)
    terms = [(g * torch.tensor(v)).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if not terms:
        return [np.zeros_like(a) for a in arrays]
    hs = torch.autograd.grad(sum(terms), ts, allow_unused=True)
    return [np.zeros_like(a) if h is None else h.detach().numpy(force=True) for h, a in zip(hs, arrays)]


def hvp_finite_difference(fn, arrays, w, vs, eps=1e-5):
    """Central differences of npgrad's first-order gradient of L along ``vs``."""
    def grad_at(step):
        xs = [npg.tensor(a + step * v) for a, v in zip(arrays, vs)]
        gs = npg.autograd.grad(_loss(fn(*xs), w), xs, allow_unused=True)
        return [np.zeros_like(a) if g is None else np.asarray(g.data) for g, a in zip(gs, arrays)]
    return [(p - m) / (2 * eps) for p, m in zip(grad_at(eps), grad_at(-eps))]


def _directions(out_shape, arrays):
    rng = np.random.default_rng(1)
    return rng.standard_normal(tuple(out_shape)), [rng.standard_normal(a.shape) for a in arrays]


def _compare(actual, expected, what, **tol):
    for i, (a, e) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(a, e, err_msg=f"{what}: HVP of input {i}", equal_nan=True, **(tol or TOL))


def check_against_torch(fn, tfn, arrays, what, modes=("double", "forward", "reverse")):
    out = tfn(*[torch.tensor(a) for a in arrays])
    w, vs = _directions(out.shape, arrays)
    expected = hvp_torch(tfn, arrays, w, vs)
    if "double" in modes:
        _compare(hvp_double_backward(fn, arrays, w, vs), expected, f"{what} (double backward)")
    if "forward" in modes:
        _compare(hvp_forward_over_reverse(fn, arrays, w, vs), expected, f"{what} (forward over reverse)")
    if "reverse" in modes:
        _compare(hvp_reverse_over_forward(fn, arrays, w, vs), expected, f"{what} (reverse over forward)")


# ------------------------------------------------------------------- the shared op table (tests/test_ops_table.py)
# floor division: torch.div(rounding_mode="floor") has no second derivative; astype: a float32 round trip;
# vander with N=1: a constant output
_NO_TORCH_2ND = {"floor_divide", "2//x", "astype", "np.astype"}


def _table_groups(per_name):
    """The table's cases with no empty input, grouped by op name: the ``per_name`` with the largest inputs of
    each (the richest of its shape and keyword variants; tests/test_higher_order.py runs every variant)."""
    groups = {}
    for c in CASES:
        if c.name in _NO_TORCH_2ND or any(0 in s for s in c.shapes) or c.id in ("vander[1]", "vander[3](N=1)"):
            continue
        groups.setdefault(c.name, []).append(c)

    def size(c):
        return sum(int(np.prod(s)) for s in c.shapes)
    return [pytest.param(sorted(g, key=size, reverse=True)[:per_name], id=name) for name, g in groups.items()]


def _table_arrays(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return make_inputs(case, np.float64, seed=3)


def _run_group(group, modes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # (the cases marked warns=True: log(0) on the way)
        for c in group:
            check_against_torch(lambda *xs: c.fn(*xs, **c.kwargs), lambda *ts: c.tfn(*ts, **c.kwargs),
                                _table_arrays(c), c.id, modes=modes)


@pytest.mark.parametrize("group", _table_groups(per_name=2))
def test_table_double_backward(group):
    _run_group(group, ("double",))


@pytest.mark.parametrize("group", _table_groups(per_name=1))
def test_table_forward_over_reverse_and_back(group):
    _run_group(group, ("forward", "reverse"))


# ------------------------------------------------------ nn.functional, special, linalg, fft, branches, torch names
DOMAINS = {"real": lambda r, s: r.standard_normal(s), "pos": lambda r, s: r.uniform(0.5, 2.0, s),
           "unit": lambda r, s: r.uniform(-0.9, 0.9, s),
           "away": lambda r, s: r.choice([-1.0, 1.0], s) * r.uniform(0.3, 1.5, s)}   # away from kinks at 0


def _arrays(shapes, domain):
    rng = np.random.default_rng(3)
    domains = domain if isinstance(domain, tuple) else (domain,) * len(shapes)
    return [DOMAINS[d](rng, s) for d, s in zip(domains, shapes)]


EXTRA = []


def both(name, f, shapes, domain="real"):
    """``f(F, lib, *inputs)`` written once for npgrad (nn.functional, npgrad) and torch (its F, torch)."""
    EXTRA.append((name, lambda *x: f(NF, npg, *x), lambda *x: f(TF, torch, *x), shapes, domain))


def pair(name, fn, tfn, shapes, domain="real"):
    EXTRA.append((name, fn, tfn, shapes, domain))


TGT = np.array([1, 0, 3])
SIGN = np.array([[1.0, -1.0, 1.0, -1.0]] * 3)
B3 = np.array([1.0, -1.0, 1.0])
BAG = (np.array([0, 2, 1, 3]), np.array([0, 2]))
# activations
ACTIVATIONS = {   # name: (f(F, x), domain)
    "gelu": (lambda F, x: F.gelu(x), "real"), "gelu_tanh": (lambda F, x: F.gelu(x, approximate="tanh"), "real"),
    "silu": (lambda F, x: F.silu(x), "real"), "mish": (lambda F, x: F.mish(x), "real"),
    "softplus": (lambda F, x: F.softplus(x, beta=2.0, threshold=1.0), "real"),
    "elu": (lambda F, x: F.elu(x, alpha=0.7), "away"), "celu": (lambda F, x: F.celu(x, alpha=0.7), "away"),
    "selu": (lambda F, x: F.selu(x), "away"), "leaky_relu": (lambda F, x: F.leaky_relu(x, 0.1), "away"),
    "relu6": (lambda F, x: F.relu6(4 * x), "away"), "hardtanh": (lambda F, x: F.hardtanh(x, -0.5, 0.8), "away"),
    "hardswish": (lambda F, x: F.hardswish(2 * x), "away"), "hardshrink": (lambda F, x: F.hardshrink(x, 0.2), "away"),
    "softshrink": (lambda F, x: F.softshrink(x, 0.2), "away"), "softsign": (lambda F, x: F.softsign(x), "real"),
    "tanhshrink": (lambda F, x: F.tanhshrink(x), "real"), "logsigmoid": (lambda F, x: F.logsigmoid(x), "real"),
    "threshold": (lambda F, x: F.threshold(x, 0.1, -2.0), "away"), "glu": (lambda F, x: F.glu(x, -1), "real"),
    "softmax": (lambda F, x: F.softmax(x, 1), "real"), "softmin": (lambda F, x: F.softmin(x, 0), "real"),
    "log_softmax": (lambda F, x: F.log_softmax(x, -1), "real"),
    "normalize": (lambda F, x: F.normalize(x, dim=1), "real"),
}
for _name, (_f, _dom) in ACTIVATIONS.items():
    both(_name, lambda F, L, x, f=_f: f(F, x), [(3, 4)], _dom)
both("prelu", lambda F, L, x, a: F.prelu(x, a), [(2, 3, 4), (3,)], ("away", "real"))
both("cosine_similarity", lambda F, L, a, b: F.cosine_similarity(a, b, dim=0, eps=1e-3), [(3, 4), (3, 1)])
both("pairwise_distance", lambda F, L, a, b: F.pairwise_distance(a, b), [(3, 4), (3, 4)])
both("linear", lambda F, L, x, w, b: F.linear(x, w, b), [(2, 3), (4, 3), (4,)])
both("bilinear", lambda F, L, a, b, w, c: F.bilinear(a, b, w, c), [(2, 3), (2, 4), (5, 3, 4), (5,)])
# losses (reduction="none": the readout weighs every element)
for _name, _f, _n in [
        ("mse_loss", lambda F, L, a, b: F.mse_loss(a, b, reduction="none"), 2),
        ("l1_loss", lambda F, L, a, b: F.l1_loss(a, b, reduction="none"), 2),
        ("huber_loss", lambda F, L, a, b: F.huber_loss(a, b, reduction="none", delta=0.7), 2),
        ("smooth_l1_loss", lambda F, L, a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.7), 2),
        ("binary_cross_entropy", lambda F, L, a, b: F.binary_cross_entropy(L.sigmoid(a), L.sigmoid(b),
                                                                           reduction="none"), 2),
        ("bce_with_logits", lambda F, L, a, b: F.binary_cross_entropy_with_logits(
            a, L.sigmoid(b), pos_weight=L.tensor([0.5, 1.0, 2.0, 3.0], dtype=L.float64), reduction="none"), 2),
        ("kl_div", lambda F, L, a, b: F.kl_div(F.log_softmax(a, 1), F.softmax(b, 1), reduction="none"), 2),
        ("kl_div_log_target", lambda F, L, a, b: F.kl_div(a, b, reduction="none", log_target=True), 2),
        ("cross_entropy", lambda F, L, a: F.cross_entropy(a, L.tensor(TGT), reduction="none"), 1),
        ("cross_entropy_smoothing", lambda F, L, a: F.cross_entropy(a, L.tensor(TGT), label_smoothing=0.2,
                                                                  reduction="none"), 1),
        ("cross_entropy_probs", lambda F, L, a, b: F.cross_entropy(a, F.softmax(b, 1), reduction="none"), 2),
        ("nll_loss", lambda F, L, a: F.nll_loss(F.log_softmax(a, 1), L.tensor(TGT), reduction="none"), 1),
        ("poisson_nll_loss", lambda F, L, a, b: F.poisson_nll_loss(a, L.exp(b), reduction="none"), 2),
        ("poisson_nll_loss_full", lambda F, L, a, b: F.poisson_nll_loss(L.exp(a), L.exp(b), log_input=False, full=True,
                                                                        reduction="none"), 2),
        ("gaussian_nll_loss", lambda F, L, a, b, v: F.gaussian_nll_loss(a, b, L.exp(v), reduction="none"), 3),
        ("soft_margin_loss", lambda F, L, a: F.soft_margin_loss(a, L.tensor(SIGN), reduction="none"), 1),
        ("multilabel_soft_margin_loss", lambda F, L, a, b: F.multilabel_soft_margin_loss(a, L.sigmoid(b),
                                                                                          reduction="none"), 2),
        ("cosine_embedding_loss", lambda F, L, a, b: F.cosine_embedding_loss(a, b, L.tensor(B3), reduction="none"), 2),
        ("triplet_margin_loss", lambda F, L, a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, reduction="none"), 3),
        ("hinge_embedding_loss", lambda F, L, a: F.hinge_embedding_loss(a, L.tensor(SIGN), reduction="none"), 1)]:
    both(_name, _f, [(3, 4)] * _n, "away" if _name == "hinge_embedding_loss" else "real")
both("margin_ranking_loss", lambda F, L, a, b: F.margin_ranking_loss(a, b, L.sign(a - b + 0.1), margin=0.1,
                                                                     reduction="none"), [(5,), (5,)])
# normalizations
both("layer_norm", lambda F, L, x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)])
both("layer_norm_2d", lambda F, L, x: F.layer_norm(x, (3, 4)), [(2, 3, 4)])
both("rms_norm", lambda F, L, x, w: F.rms_norm(x, (4,), w), [(3, 4), (4,)])
both("batch_norm", lambda F, L, x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 2), (3,), (3,)])
both("instance_norm", lambda F, L, x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)])
both("group_norm", lambda F, L, x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)])
both("local_response_norm", lambda F, L, x: F.local_response_norm(x, 3), [(2, 5, 4)])
# pooling, convolution, resampling, attention
for _name, _f, _shapes, _dom in [
        ("max_pool1d", lambda F, L, x: F.max_pool1d(x, 2), [(2, 3, 6)], "real"),
        ("max_pool2d_padded", lambda F, L, x: F.max_pool2d(x, 3, stride=2, padding=1), [(1, 2, 5, 5)], "real"),
        ("max_pool3d", lambda F, L, x: F.max_pool3d(x, 2), [(1, 1, 4, 4, 4)], "real"),
        ("max_unpool1d", lambda F, L, x: F.max_unpool1d(*F.max_pool1d(x, 2, return_indices=True), 2), [(1, 2, 6)],
         "real"),
        ("avg_pool1d", lambda F, L, x: F.avg_pool1d(x, 3, stride=2, padding=1, count_include_pad=False), [(2, 3, 7)],
         "real"),
        ("avg_pool3d", lambda F, L, x: F.avg_pool3d(x, 2), [(1, 1, 4, 4, 4)], "real"),
        ("adaptive_avg_pool2d", lambda F, L, x: F.adaptive_avg_pool2d(x, (2, 3)), [(1, 2, 5, 7)], "real"),
        ("adaptive_max_pool2d", lambda F, L, x: F.adaptive_max_pool2d(x, (2, 3)), [(1, 2, 5, 7)], "real"),
        ("lp_pool2d", lambda F, L, x: F.lp_pool2d(x, 2, 2), [(1, 2, 4, 4)], "pos"),
        ("lp_pool1d_p3", lambda F, L, x: F.lp_pool1d(x, 3, 2), [(1, 2, 6)], "pos"),
        ("conv1d_groups", lambda F, L, x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
         [(2, 4, 7), (4, 2, 3), (4,)], "real"),
        ("conv2d_dilated", lambda F, L, x, w: F.conv2d(x, w, padding=2, dilation=2), [(1, 2, 5, 5), (3, 2, 3, 3)],
         "real"),
        ("conv3d", lambda F, L, x, w: F.conv3d(x, w, padding=1), [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)], "real"),
        ("conv_transpose1d", lambda F, L, x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
         [(2, 3, 4), (3, 2, 3), (2,)], "real"),
        ("conv_transpose2d_groups", lambda F, L, x, w: F.conv_transpose2d(x, w, stride=2, groups=2),
         [(1, 4, 3, 3), (4, 1, 2, 2)], "real"),
        ("conv_transpose3d", lambda F, L, x, w: F.conv_transpose3d(x, w, stride=2), [(1, 2, 2, 2, 2), (2, 1, 2, 2, 2)],
         "real"),
        ("unfold", lambda F, L, x: F.unfold(x, 2, padding=1), [(1, 2, 3, 4)], "real"),
        ("fold", lambda F, L, x: F.fold(x, (3, 4), 2), [(1, 8, 6)], "real"),
        ("pixel_shuffle", lambda F, L, x: F.pixel_shuffle(x, 2), [(1, 4, 2, 3)], "real"),
        ("interpolate_bilinear", lambda F, L, x: F.interpolate(x, scale_factor=2, mode="bilinear"), [(1, 2, 3, 4)],
         "real"),
        ("interpolate_bicubic", lambda F, L, x: F.interpolate(x, size=(5, 6), mode="bicubic", align_corners=True),
         [(1, 1, 3, 4)], "real"),
        ("interpolate_area", lambda F, L, x: F.interpolate(x, size=(2, 3), mode="area"), [(1, 2, 5, 7)], "real"),
        ("interpolate_antialias", lambda F, L, x: F.interpolate(x, size=(2, 3), mode="bilinear", antialias=True),
         [(1, 2, 5, 7)], "real"),
        ("interpolate_trilinear", lambda F, L, x: F.interpolate(x, scale_factor=2, mode="trilinear"), [(1, 1, 2, 2, 3)],
         "real"),
        ("grid_sample", lambda F, L, x, g: F.grid_sample(x, L.tanh(g), align_corners=False),
         [(1, 2, 4, 5), (1, 3, 3, 2)], "real"),
        ("grid_sample_border", lambda F, L, x, g: F.grid_sample(x, 1.2 * L.tanh(g), padding_mode="border",
                                                                align_corners=True),
         [(1, 2, 4, 5), (1, 3, 3, 2)], "real"),
        ("affine_grid", lambda F, L, t: F.affine_grid(t, (1, 1, 3, 4), align_corners=False), [(1, 2, 3)], "real"),
        ("embedding", lambda F, L, w: F.embedding(L.tensor(np.array([[1, 0], [3, 1]])), w), [(4, 3)], "real"),
        ("scaled_dot_product_attention", lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v),
         [(2, 3, 4), (2, 5, 4), (2, 5, 3)], "real"),
        ("pad_reflect", lambda F, L, x: F.pad(x, (2, 1), mode="reflect"), [(1, 2, 5)], "real"),
        ("pad_replicate", lambda F, L, x: F.pad(x, (2, 1, 1, 0), mode="replicate"), [(1, 2, 3, 4)], "real"),
        ("pad_circular", lambda F, L, x: F.pad(x, (2, 1), mode="circular"), [(1, 2, 4)], "real"),
        ("gru_cell", lambda F, L, x, h, wi, wh: (F.gru_cell if F is NF else torch._VF.gru_cell)(x, h, wi, wh),
         [(2, 3), (2, 2), (6, 3), (6, 2)], "real"),
        ("lstm_cell", lambda F, L, x, h, c, wi, wh: (F.lstm_cell if F is NF else torch._VF.lstm_cell)(x, (h, c), wi,
                                                                                          wh)[1],
         [(2, 3), (2, 2), (2, 2), (8, 3), (8, 2)], "real")]:
    both(_name, _f, _shapes, _dom)
# special functions
for _name, _dom in [("erf", "real"), ("erfc", "real"), ("erfinv", "unit"), ("erfcx", "real"), ("ndtr", "real"),
                    ("log_ndtr", "real"), ("gammaln", "pos"), ("digamma", "pos"), ("i0", "real"), ("i0e", "real"),
                    ("i1", "real"), ("i1e", "real"), ("entr", "pos"), ("sinc", "away"), ("expit", "real")]:
    pair(_name, getattr(S, _name), getattr(TS, _name), [(5,)], _dom)
pair("ndtri", lambda x: S.ndtri(S.expit(x)), lambda x: TS.ndtri(TS.expit(x)), [(5,)])
pair("logit_eps", lambda x: S.logit(S.expit(x), eps=0.2), lambda x: TS.logit(TS.expit(x), eps=0.2), [(5,)])
pair("polygamma1", lambda x: S.polygamma(1, x), lambda x: TS.polygamma(1, x), [(5,)], "pos")
pair("multigammaln", lambda x: S.multigammaln(x + 2, 3), lambda x: TS.multigammaln(x + 2, 3), [(5,)], "pos")
pair("xlogy", S.xlogy, TS.xlogy, [(5,), (5,)], ("real", "pos"))
pair("xlog1py", S.xlog1py, TS.xlog1py, [(5,), (5,)], ("real", "pos"))
pair("special_softmax", lambda x: S.softmax(x, 1), lambda x: TS.softmax(x, 1), [(3, 4)])
# linalg beyond the table
pair("eigh_vectors", lambda a: LA.eigh(a + a.swapaxes(-1, -2))[1] ** 2, lambda a: TLA.eigh(a + a.mT)[1] ** 2, [(3, 3)])
pair("svd_U", lambda a: LA.svd(a, full_matrices=False)[0] ** 2, lambda a: TLA.svd(a, full_matrices=False)[0] ** 2,
     [(4, 3)])
pair("qr_Q", lambda a: LA.qr(a)[0], lambda a: TLA.qr(a)[0], [(4, 3)])
pair("qr_R", lambda a: LA.qr(a)[1], lambda a: TLA.qr(a)[1], [(4, 3)])
pair("lstsq", lambda a, b: LA.lstsq(a, b)[0], lambda a, b: TLA.lstsq(a, b).solution, [(5, 3), (5, 2)])
pair("cond", LA.cond, TLA.cond, [(3, 3)])
pair("multi_dot", lambda a, b, c: LA.multi_dot([a, b, c]), lambda a, b, c: TLA.multi_dot([a, b, c]),
     [(2, 3), (3, 4), (4, 2)])
pair("householder_product", LA.householder_product, TLA.householder_product, [(4, 3), (2,)])
pair("cholesky_inverse", lambda a: npg.cholesky_inverse(LA.cholesky(a @ a.swapaxes(-1, -2) + npg.eye(3))),
     lambda a: torch.cholesky_inverse(TLA.cholesky(a @ a.mT + torch.eye(3, dtype=a.dtype))), [(3, 3)])
# fft, read out in real numbers
pair("rfft_abs", lambda x: npg.abs(npg.fft.rfft(x)), lambda x: torch.fft.rfft(x).abs(), [(2, 6)])
pair("fft_re_im", lambda x: npg.fft.fft(x).real * npg.fft.fft(x).imag,
     lambda x: torch.fft.fft(x).real * torch.fft.fft(x).imag, [(2, 5)])
pair("irfft_of_rfft", lambda x: npg.fft.irfft(npg.fft.rfft(x * x), n=6),
     lambda x: torch.fft.irfft(torch.fft.rfft(x * x), n=6), [(2, 6)])
pair("fft2_abs", lambda x: npg.abs(npg.fft.fft2(x)), lambda x: torch.fft.fft2(x).abs(), [(3, 4)])
pair("hfft", npg.fft.hfft, torch.fft.hfft, [(2, 5)])
pair("ihfft_abs", lambda x: npg.abs(npg.fft.ihfft(x)), lambda x: torch.fft.ihfft(x).abs(), [(2, 6)])
# branches: the Hessian is the piecewise one
_RAMP = np.arange(4.0)
pair("sort_values", lambda x: npg.sort(x, axis=1) * _RAMP, lambda x: torch.sort(x, 1)[0] * torch.tensor(_RAMP),
     [(3, 4)])
pair("topk_values", lambda x: npg.topk(x, 2, dim=1)[0], lambda x: torch.topk(x, 2, 1)[0], [(3, 5)])
pair("kthvalue", lambda x: npg.kthvalue(x, 2, dim=1)[0], lambda x: torch.kthvalue(x, 2, 1)[0], [(3, 5)])
pair("quantile", lambda x: npg.quantile(x, 0.3, axis=1), lambda x: torch.quantile(x, 0.3, 1), [(3, 5)])
pair("cummax", lambda x: npg.cummax(x, 1)[0], lambda x: torch.cummax(x, 1)[0], [(3, 4)])
pair("logcumsumexp", lambda x: npg.logcumsumexp(x, 1), lambda x: torch.logcumsumexp(x, 1), [(3, 4)])
pair("abs_times_x", lambda x: npg.abs(x) * x, lambda x: torch.abs(x) * x, [(5,)], "away")
pair("where_products", lambda x, y: npg.where(x > 0, x * y, y * y), lambda x, y: torch.where(x > 0, x * y, y * y),
     [(5,), (5,)])
pair("maximum_products", lambda x, y: npg.maximum(x * y, y), lambda x, y: torch.maximum(x * y, y), [(5,), (5,)])
pair("clip_product", lambda x, y: npg.clip(x * y, -0.5, 0.5), lambda x, y: torch.clamp(x * y, -0.5, 0.5), [(6,), (6,)])
pair("prod_one_zero", lambda x: npg.prod(x * np.array([1.0, 0, 1, 1]), axis=1),
     lambda x: torch.prod(x * torch.tensor([1.0, 0, 1, 1], dtype=x.dtype), 1), [(3, 4)])
pair("prod_two_zeros", lambda x: npg.prod(x * np.array([1.0, 0, 0, 1]), axis=1),
     lambda x: torch.prod(x * torch.tensor([1.0, 0, 0, 1], dtype=x.dtype), 1), [(3, 4)])
pair("std_keepdims", lambda x: npg.std(x, axis=(0, 2), keepdims=True),
     lambda x: torch.std(x, (0, 2), correction=0, keepdim=True), [(2, 3, 4)])
for _name, _tfn in [("sum", torch.sum), ("mean", torch.mean), ("max", torch.amax), ("logsumexp", torch.logsumexp)]:
    pair(f"{_name}_axes_keepdims", lambda x, n=_name: getattr(npg, n)(x, axis=(0, 2), keepdims=True),
         lambda x, f=_tfn: f(x, (0, 2), keepdim=True), [(2, 3, 4)])
pair("var_ddof1_axis", lambda x: npg.var(x, axis=-1, ddof=1), lambda x: torch.var(x, -1, correction=1), [(3, 4)])
pair("nanmean", lambda x: npg.nanmean(x, axis=1), lambda x: torch.nanmean(x, 1), [(3, 4)])
# torch-named functions
pair("renorm", lambda x: npg.renorm(x, 2, 0, 1.0), lambda x: torch.renorm(x, 2, 0, 1.0), [(3, 4)])
pair("dist", lambda a, b: npg.dist(a, b, 3), lambda a, b: torch.dist(a, b, 3), [(3, 4), (3, 4)])
pair("lerp", npg.lerp, torch.lerp, [(4,), (4,), (4,)])
pair("addcdiv", lambda a, b, d: npg.addcdiv(a, b, d, value=0.5), lambda a, b, d: torch.addcdiv(a, b, d, value=0.5),
     [(4,), (4,), (4,)], ("real", "real", "away"))
pair("index_add", lambda x, s: x.index_add(0, npg.tensor(np.array([0, 2, 0])), s),
     lambda x, s: x.index_add(0, torch.tensor([0, 2, 0]), s), [(3, 4), (3, 4)])
_SCATTER = np.array([[0, 1], [0, 1]])
for _how in ("amax", "prod", "mean"):
    pair(f"scatter_reduce_{_how}", lambda x, s, h=_how: npg.scatter_reduce(x, 0, npg.tensor(_SCATTER), s, h),
         lambda x, s, h=_how: torch.scatter_reduce(x, 0, torch.tensor(_SCATTER), s, h), [(2, 2), (2, 2)])


@pytest.mark.parametrize("name,fn,tfn,shapes,domain", EXTRA, ids=[e[0] for e in EXTRA])
def test_extra_against_torch(name, fn, tfn, shapes, domain):
    check_against_torch(fn, tfn, _arrays(shapes, domain), name)


# --------------------------------------------- no double backward in torch: finite differences of npgrad's gradient
T = npg.tensor
FD = [
    ("hardsigmoid", lambda x: NF.hardsigmoid(2 * x), [(2, 5)], "away"),
    ("pdist", NF.pdist, [(4, 3)], "real"),
    ("pdist_p3", lambda a: NF.pdist(a, p=3), [(4, 3)], "real"),
    ("cdist", npg.cdist, [(3, 4), (2, 4)], "real"),
    ("cdist_p1", lambda a, b: npg.cdist(a, b, p=1), [(3, 4), (2, 4)], "real"),
    ("multi_margin_loss", lambda a: NF.multi_margin_loss(a, T(TGT), reduction="none"), [(3, 4)], "real"),
    ("multi_margin_loss_p2", lambda a: NF.multi_margin_loss(a, T(TGT), p=2, reduction="none"), [(3, 4)], "real"),
    ("multilabel_margin_loss", lambda a: NF.multilabel_margin_loss(
        a, T(np.array([[1, 0, -1, 0], [3, -1, 0, 0], [2, 1, 0, -1]])), reduction="none"), [(3, 4)], "real"),
    ("sdpa_causal", lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, is_causal=True), [(1, 2, 4, 3)] * 3,
     "real"),
    ("multi_head_attention_forward", lambda q, k, v, wi, wo: NF.multi_head_attention_forward(
        q, k, v, 4, 2, wi, None, None, None, False, 0.0, wo, None, need_weights=False)[0],
     [(3, 1, 4), (3, 1, 4), (3, 1, 4), (12, 4), (4, 4)], "real"),
    ("ctc_loss", lambda lp: NF.ctc_loss(NF.log_softmax(lp, 2), T(np.array([[1, 2]])), T(np.array([5])),
                                        T(np.array([2])), reduction="none"), [(5, 1, 4)], "real"),
    ("embedding_bag_mean", lambda w: NF.embedding_bag(T(BAG[0]), w, T(BAG[1]), mode="mean"), [(4, 3)], "real"),
    ("embedding_bag_max", lambda w: NF.embedding_bag(T(BAG[0]), w, T(BAG[1]), mode="max"), [(4, 3)], "real"),
    ("embedding_bag_weights", lambda w, p: NF.embedding_bag(T(BAG[0]), w, T(BAG[1]), mode="sum", per_sample_weights=p),
     [(4, 3), (4,)], "real"),
    ("fractional_max_pool2d", lambda x: NF.fractional_max_pool2d(x, 2, output_size=(2, 2),
                                                                 _random_samples=T(np.full((1, 2, 2), 0.3))),
     [(1, 2, 5, 5)], "real"),
    ("gammainc", S.gammainc, [(5,), (5,)], "pos"),
    ("gammaincc", S.gammaincc, [(5,), (5,)], "pos"),
    ("betainc", lambda a, b, x: S.betainc(a, b, S.expit(x)), [(5,), (5,), (5,)], ("pos", "pos", "real")),
    ("beta", S.beta, [(5,), (5,)], "pos"),
    ("betaln", S.betaln, [(5,), (5,)], "pos"),
    ("zeta_q", lambda q: S.zeta(2.5, q), [(5,)], "pos"),
    ("gamma", S.gamma, [(5,)], "pos"),
    ("rgamma", S.rgamma, [(5,)], "pos"),
    ("erfcinv", lambda x: S.erfcinv(x + 1.0), [(5,)], "unit"),
    ("polygamma2", lambda x: S.polygamma(2, x), [(5,)], "pos"),
    ("jn", lambda x: S.jn(2, x), [(5,)], "pos"),
    ("yn", lambda x: S.yn(2, x), [(5,)], "pos"),
    ("legendre_polynomial_p", lambda x: S.legendre_polynomial_p(x, 3), [(5,)], "unit"),
    ("hermite_polynomial_h", lambda x: S.hermite_polynomial_h(x, 3), [(5,)], "unit"),
    ("sqrtm_spd", lambda a: LA.sqrtm(a @ a.swapaxes(-1, -2) + 3 * npg.eye(3)), [(3, 3)], "real"),
    ("eig_vectors_abs", lambda a: npg.abs(LA.eig(a @ a.swapaxes(-1, -2) + 3 * npg.eye(3))[1]), [(3, 3)], "real"),
    ("interp", lambda x, fp: npg.interp(x, np.linspace(-2, 2, 5), fp), [(6,), (5,)], "real"),
] + [(n, getattr(S, n), [(5,)], d) for n, d in [  # torch's versions of these have no derivative at all
    ("k0", "pos"), ("k1", "pos"), ("k0e", "pos"), ("k1e", "pos"), ("j0", "real"), ("j1", "real"), ("y0", "pos"),
    ("y1", "pos"), ("spherical_bessel_j0", "real"), ("airy_ai", "real"), ("modified_bessel_i0", "real")]]


@pytest.mark.parametrize("name,fn,shapes,domain", FD, ids=[e[0] for e in FD])
def test_without_torch_double_backward(name, fn, shapes, domain):
    arrays = _arrays(shapes, domain)
    w, vs = _directions(fn(*[T(a) for a in arrays]).shape, arrays)
    expected = hvp_finite_difference(fn, arrays, w, vs)
    _compare(hvp_double_backward(fn, arrays, w, vs), expected, f"{name} (double backward)", rtol=1e-5, atol=1e-6)
    _compare(hvp_forward_over_reverse(fn, arrays, w, vs), expected, f"{name} (forward over reverse)", rtol=1e-5,
             atol=1e-6)
    _compare(hvp_reverse_over_forward(fn, arrays, w, vs), expected, f"{name} (reverse over forward)", rtol=1e-5,
             atol=1e-6)


# ----------------------------------------------------------------------------------------------- regressions
def test_logcumsumexp_jvp_at_minus_inf_is_torchs():
    """A -inf input adds nothing, whatever its tangent, and a -inf output has tangent 0 (as torch's), not
    ``-inf - -inf = NaN``. The VJP of logcumsumexp feeds -inf masks through this JVP in forward-over-reverse,
    which made every HVP entry past a negative cotangent's run NaN (the table's logcumsumexp cases)."""
    x = np.array([[-np.inf, -np.inf, 0.5, -np.inf, 1.0], [0.2, -np.inf, -0.3, 0.1, -np.inf]])
    t = np.array([[1.0, 0.0, 2.0, -1.0, 0.5], [0.0, 3.0, 1.0, 0.0, -2.0]])
    for dtype in (np.float32, np.float64):
        out, tan = npg.func.jvp(lambda a: npg.logcumsumexp(a, 1), (x.astype(dtype),), (t.astype(dtype),))
        tdtype = getattr(torch, np.dtype(dtype).name)
        tout, ttan = torch.func.jvp(lambda a: torch.logcumsumexp(a, 1), (torch.tensor(x, dtype=tdtype),),
                                    (torch.tensor(t, dtype=tdtype),))
        assert tan.dtype == dtype
        np.testing.assert_allclose(out, tout.numpy(), rtol=1e-6)
        np.testing.assert_allclose(tan, ttan.numpy(), rtol=1e-6, atol=1e-7)


def test_reverse_over_forward_through_inplace_write():
    """An in-place write gives the tensor written its node's creation number while the node stays in the graph
    (its tangent's ops read it); backward's heap then held two Tensors of one number and compared them
    ("truth value of an array ... is ambiguous"). Now the product is torch's."""
    x = np.random.default_rng(4).standard_normal((2, 3))
    for name in ("tanh_", "sigmoid_", "exp_"):
        def directional(y, lib):
            return lib.func.jvp(lambda z: lib.tanh(getattr(z * 1.0, name)()).sum(), (y,), (lib.ones_like(y),))[1]
        got = npg.func.grad(lambda y: directional(y, npg))(npg.tensor(x))
        want = torch.func.grad(lambda y: directional(y, torch))(torch.tensor(x))
        np.testing.assert_allclose(np.asarray(got.data), want.numpy(), err_msg=name, **TOL)
