"""Hunt for wrong gradients and silent graph cuts in the arguments other than the first: every floating argument
of a loss, a layer taken as a functional, or a top-level function with several tensor inputs requires grad
(float64), and each one's gradient of sum(out * r), r random, is compared with torch 2.13's where torch
differentiates that argument, and always with central differences of npgrad's own forward on a few elements
(an argument the output depends on must get that gradient, never a quiet zero)."""
import warnings

import numpy as np
import pytest
import scipy.linalg

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()
T = torch.nn.functional

EPS = 1e-6
TOL = dict(rtol=1e-6, atol=1e-8)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def _weighted_sum(outs, rs, wrap):
    return sum((o * wrap(r)).sum() for o, r in zip(outs, rs) if r is not None)


def _tensors(arrays, lib, differentiable=None):
    """``arrays`` as ``lib``'s tensors: the floating ones (those in ``differentiable`` when given) require grad."""
    make = npg.tensor if lib is npg else torch.tensor
    out = []
    for i, a in enumerate(arrays):
        rg = isinstance(a, np.ndarray) and a.dtype.kind == "f" and (differentiable is None or i in differentiable)
        out.append(make(a, requires_grad=rg) if isinstance(a, np.ndarray) else a)
    return out


def check_every_argument(nfn, tfn, arrays, no_torch_grad=(), n_fd=3, seed=0, fd_only=None):
    """``nfn`` (npgrad) and ``tfn`` (torch, or None) on ``arrays``: the values, the gradients of every floating
    argument against torch's (except the indices in ``no_torch_grad``, which torch refuses to differentiate),
    and every floating argument's gradient against central differences on ``n_fd`` elements (those where
    ``fd_only[i]``, a boolean mask, is True when it names the argument)."""
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        na = _tensors(arrays, npg)
        nouts = _flat(nfn(*na))
        rs = [rng.standard_normal(np.shape(o.data)) if isinstance(o, npg.Tensor) and o.requires_grad else None
              for o in nouts]
        _weighted_sum(nouts, rs, npg.tensor).backward()
        floating = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
        if tfn is not None:
            ta = _tensors(arrays, torch, [i for i in floating if i not in no_torch_grad])
            touts = _flat(tfn(*ta))
            for k, (o, t) in enumerate(zip(nouts, touts)):
                np.testing.assert_allclose(o.data, t.detach().numpy(), err_msg=f"output {k}", **TOL)
            _weighted_sum(touts, rs, torch.tensor).backward()
            for i in floating:
                if i not in no_torch_grad:   # (no gradient: an argument the output does not depend on)
                    got = np.zeros(arrays[i].shape) if na[i].grad is None else na[i].grad
                    want = np.zeros(arrays[i].shape) if ta[i].grad is None else ta[i].grad.numpy()
                    np.testing.assert_allclose(got, want, err_msg=f"argument {i}", **TOL)

        def loss_at(arrs):
            with npg.no_grad():
                outs = _flat(nfn(*_tensors(arrs, npg, ())))
                return float(_weighted_sum(outs, rs, npg.tensor).data)
        for i in floating:
            a = arrays[i]
            where = np.flatnonzero((fd_only or {}).get(i, np.ones(a.shape, bool)))
            for k in rng.choice(where, size=min(n_fd, where.size), replace=False):
                hi, lo = list(arrays), list(arrays)
                hi[i], lo[i] = a.copy(), a.copy()
                hi[i].flat[k] += EPS
                lo[i].flat[k] -= EPS
                fd = (loss_at(hi) - loss_at(lo)) / (2 * EPS)
                got = 0.0 if na[i].grad is None else na[i].grad.flat[k]
                assert np.isclose(got, fd, rtol=1e-5, atol=1e-6), \
                    f"argument {i} element {k}: gradient {got} ({'none' if na[i].grad is None else 'set'}), FD {fd}"


_rng = np.random.default_rng(1)


def R(*shape):
    return _rng.standard_normal(shape)


def U(*shape):
    return _rng.uniform(0.2, 0.9, shape)


def _same(name, **kw):
    """F.<name> of npgrad and torch with the same keywords."""
    return (lambda *a: getattr(F, name)(*a, **kw)), (lambda *a: getattr(T, name)(*a, **kw))


# name: (npgrad and torch callables, arrays, arguments torch refuses to differentiate)
LOSSES = {
    "mse_loss": (_same("mse_loss"), [R(4, 5), R(4, 5)], ()),
    "l1_loss": (_same("l1_loss", reduction="sum"), [R(4, 5), R(4, 5)], ()),
    "smooth_l1_loss": (_same("smooth_l1_loss", beta=0.7), [R(4, 5), R(4, 5)], ()),
    "huber_loss": (_same("huber_loss", delta=0.6, reduction="none"), [R(4, 5), R(4, 5)], ()),
    "soft_margin_loss": (_same("soft_margin_loss"), [R(4, 5), R(4, 5)], (1,)),
    "kl_div": (_same("kl_div", reduction="batchmean"), [np.log(U(4, 5)), U(4, 5)], ()),
    "kl_div log_target": (_same("kl_div", log_target=True), [np.log(U(4, 5)), np.log(U(4, 5))], ()),
    "binary_cross_entropy": (_same("binary_cross_entropy"), [U(4, 5), U(4, 5), U(4, 5)], (2,)),
    "bce_with_logits": ((lambda a, b, w, p: F.binary_cross_entropy_with_logits(a, b, w, pos_weight=p),
                         lambda a, b, w, p: T.binary_cross_entropy_with_logits(a, b, w, pos_weight=p)),
                        [R(4, 5), U(4, 5), U(4, 5), U(5) + 0.5], (2, 3)),
    "poisson_nll_loss": (_same("poisson_nll_loss", full=True), [R(4, 5), U(4, 5) * 4], ()),
    "poisson_nll_loss rate": (_same("poisson_nll_loss", log_input=False), [U(4, 5) * 3, U(4, 5) * 4], ()),
    "gaussian_nll_loss": (_same("gaussian_nll_loss", full=True), [R(4, 5), R(4, 5), U(4, 1)], ()),
    "gaussian_nll_loss var (N,)": (_same("gaussian_nll_loss"), [R(4, 5), R(4, 5), U(4)], ()),
    "multilabel_soft_margin_loss": ((lambda a, b, w: F.multilabel_soft_margin_loss(a, b, weight=w),
                                     lambda a, b, w: T.multilabel_soft_margin_loss(a, b, weight=w)),
                                    [R(4, 5), U(4, 5), U(5)], ()),
    "cosine_embedding_loss": (_same("cosine_embedding_loss", margin=0.1),
                              [R(4, 5), R(4, 5), np.array([1.0, -1, 1, -1])], ()),
    "margin_ranking_loss": (_same("margin_ranking_loss", margin=0.1),
                            [R(6), R(6), np.array([1.0, -1, 1, -1, 1, 1])], ()),
    "triplet_margin_loss": (_same("triplet_margin_loss", swap=True), [R(4, 5), R(4, 5), R(4, 5)], ()),
    "triplet_margin_with_distance_loss": (_same("triplet_margin_with_distance_loss", swap=True),
                                          [R(4, 5), R(4, 5), R(4, 5)], ()),
    "hinge_embedding_loss": (_same("hinge_embedding_loss", margin=0.5), [R(4, 5), np.sign(R(4, 5))], ()),
    "cross_entropy probabilities": ((lambda a, b, w: F.cross_entropy(a, b, weight=w, label_smoothing=0.2),
                                     lambda a, b, w: T.cross_entropy(a, b, weight=w, label_smoothing=0.2)),
                                    [R(4, 5), U(4, 5), U(5)], ()),
    "cross_entropy weight": ((lambda a, b, w: F.cross_entropy(a, b, weight=w, ignore_index=1, label_smoothing=0.2),
                              lambda a, b, w: T.cross_entropy(a, b, weight=w, ignore_index=1, label_smoothing=0.2)),
                             [R(4, 5), np.array([0, 1, 1, 3]), U(5)], (2,)),
    "nll_loss weight 2d": ((lambda a, b, w: F.nll_loss(a, b, weight=w), lambda a, b, w: T.nll_loss(a, b, weight=w)),
                           [R(2, 5, 3), np.array([[0, 3, 1], [4, 4, 2]]), U(5)], (2,)),
    "multi_margin_loss weight": ((lambda a, b, w: F.multi_margin_loss(a, b, p=2, weight=w),
                                  lambda a, b, w: T.multi_margin_loss(a, b, p=2, weight=w)),
                                 [R(4, 5), np.array([0, 3, 1, 3]), U(5)], (2,)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_every_argument(name):
    (nfn, tfn), arrays, refused = LOSSES[name]
    check_every_argument(nfn, tfn, arrays, no_torch_grad=refused)


def test_ctc_loss_log_probs_through_log_softmax():
    # (torch's CTC gradient is that of log-softmax outputs: exact for the logits before the log-softmax)
    args = [R(7, 2, 5), np.array([[1, 2, 2], [3, 4, 1]]), np.array([7, 6]), np.array([3, 2])]
    check_every_argument(lambda a, *r: F.ctc_loss(F.log_softmax(a, dim=2), *r, reduction="sum"),
                         lambda a, *r: T.ctc_loss(T.log_softmax(a, dim=2), *r, reduction="sum"), args, n_fd=6)


def _mha(lib, **kw):
    f = F if lib is npg else T
    return lambda q, k, v, ipw, ipb, bk, bv, opw, opb, m: f.multi_head_attention_forward(
        q, k, v, 4, 2, ipw, ipb, bk, bv, False, 0.0, opw, opb, training=False, attn_mask=m, **kw)


def _conv(name, **kw):
    return (lambda *a: getattr(F, name)(*a, **kw)), (lambda *a: getattr(T, name)(*a, **kw))


LAYERS = {
    "linear": ((F.linear, T.linear), [R(3, 4), R(5, 4), R(5)]),
    "bilinear": ((F.bilinear, T.bilinear), [R(3, 4), R(3, 2), R(5, 4, 2), R(5)]),
    "conv1d": (_conv("conv1d", stride=2, padding=1, groups=2), [R(2, 4, 5), R(6, 2, 3), R(6)]),
    "conv2d": (_conv("conv2d", padding=1, dilation=2), [R(2, 2, 5, 4), R(3, 2, 2, 3), R(3)]),
    "conv3d": (_conv("conv3d", stride=2, groups=2), [R(1, 4, 4, 3, 4), R(2, 2, 2, 2, 2), R(2)]),
    "conv_transpose1d": (_conv("conv_transpose1d", stride=2, output_padding=1), [R(2, 3, 4), R(3, 2, 3), R(2)]),
    "conv_transpose2d": (_conv("conv_transpose2d", stride=2, padding=1, output_padding=1, groups=2),
                         [R(2, 4, 3, 4), R(4, 3, 3, 3), R(6)]),
    "conv_transpose3d": (_conv("conv_transpose3d", stride=(1, 2, 1)), [R(1, 2, 3, 2, 3), R(2, 2, 2, 2, 2), R(2)]),
    "prelu": ((F.prelu, T.prelu), [R(2, 3, 4), U(3)]),
    "embedding": ((F.embedding, T.embedding), [np.array([[0, 2, 2], [4, 1, 0]]), R(5, 3)]),
    "layer_norm": ((lambda x, w, b: F.layer_norm(x, (3, 4), w, b), lambda x, w, b: T.layer_norm(x, (3, 4), w, b)),
                   [R(2, 3, 4), R(3, 4), R(3, 4)]),
    "group_norm": ((lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: T.group_norm(x, 2, w, b)),
                   [R(2, 4, 3), R(4), R(4)]),
    "instance_norm": ((lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                       lambda x, w, b: T.instance_norm(x, weight=w, bias=b)), [R(2, 4, 3), R(4), R(4)]),
    "batch_norm": ((lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                    lambda x, w, b: T.batch_norm(x, None, None, w, b, training=True)), [R(5, 4, 3), R(4), R(4)]),
    "grid_sample bilinear": (_conv("grid_sample", padding_mode="border", align_corners=False),
                             [R(2, 3, 5, 4), _rng.uniform(-1.2, 1.2, (2, 3, 2, 2))]),
    "grid_sample bicubic": (_conv("grid_sample", mode="bicubic", padding_mode="reflection", align_corners=True),
                            [R(2, 3, 5, 4), _rng.uniform(-1.2, 1.2, (2, 3, 2, 2))]),
    "grid_sample 3d": (_conv("grid_sample", align_corners=True),
                       [R(2, 3, 4, 5, 4), _rng.uniform(-1.2, 1.2, (2, 3, 2, 2, 3))]),
    "affine_grid": ((lambda t: F.affine_grid(t, (2, 3, 4, 5), align_corners=False),
                     lambda t: T.affine_grid(t, (2, 3, 4, 5), align_corners=False)), [R(2, 2, 3)]),
    "sdpa float mask": (_conv("scaled_dot_product_attention", scale=0.3, enable_gqa=True),
                        [R(2, 4, 4, 5), R(2, 2, 6, 5), R(2, 2, 6, 5), R(2, 1, 4, 6)]),
    "multi_head_attention_forward": ((_mha(npg), _mha(torch)),
                                     [R(3, 2, 4), R(5, 2, 4), R(5, 2, 4), R(12, 4), R(12), R(1, 1, 4), R(1, 1, 4),
                                      R(4, 4), R(4), R(3, 5)]),
    "embedding_bag per_sample_weights": (
        (lambda i, w, o, p: F.embedding_bag(i, w, o, mode="sum", per_sample_weights=p, padding_idx=2),
         lambda i, w, o, p: T.embedding_bag(i, w, o, mode="sum", per_sample_weights=p, padding_idx=2)),
        [np.array([0, 2, 2, 4, 1, 0]), R(5, 3), np.array([0, 2, 5]), R(6)]),
    "cosine_similarity": (_conv("cosine_similarity", dim=1), [R(3, 4), R(1, 4)]),
    "pairwise_distance": (_conv("pairwise_distance", p=1.0), [R(3, 4), R(4)]),
    "pdist": (_conv("pdist", p=3), [R(4, 3)]),
    "fold": (_conv("fold", output_size=(4, 5), kernel_size=2, padding=1), [R(2, 12, 30)]),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_every_argument(name):
    (nfn, tfn), arrays = LAYERS[name]
    check_every_argument(nfn, tfn, arrays)


_COND = R(3, 4) > 0
_CONDLIST = [R(5) > 0.5, R(5) > 0]
_XP = np.array([0.0, 0.7, 1.5, 2.2, 3.1])
_TRIU = np.triu(R(3, 3)) + 3 * np.eye(3)
_LU, _PIV = scipy.linalg.lu_factor(R(3, 3) + 2 * np.eye(3))


def _put_along(a, v):
    c = a * 1.0
    npg.put_along_axis(c, np.array([[0, 2], [1, 3], [3, 0]]), v, axis=1)
    return c


# name: (npgrad callable, torch callable or None, arrays)
TOP = {
    "where": (lambda x, y: npg.where(_COND, x, y), lambda x, y: torch.where(torch.tensor(_COND), x, y), [R(3, 4), R(4)]),
    "select": (lambda a, b, d: npg.select(_CONDLIST, [a, b], d), None, [R(1), R(5), R()]),
    "piecewise": (lambda x, a: npg.piecewise(x, [x.data < 0, x.data >= 0], [lambda t: t * a, lambda t: t ** 2]),
                  None, [R(6), R()]),
    "interp": (lambda x, xp, fp, lo, hi: npg.interp(x, xp, fp, left=lo, right=hi), None,
               [np.array([-1.0, 0.5, 1.9, 4.0]), _XP, R(5), R(), R()]),
    "interp period": (lambda x, xp, fp: npg.interp(x, xp, fp, period=4.0), None, [_rng.uniform(-3, 7, 5), _XP, R(5)]),
    "convolve": (lambda a, v: npg.convolve(a, v, mode="same"), None, [R(3), R(6)]),
    "correlate": (lambda a, v: npg.correlate(a, v, mode="valid"), None, [R(6), R(3)]),
    "polyval": (npg.polyval, None, [R(4), R(2, 3)]),
    "polyfit": (lambda x, y, w: npg.polyfit(x, y, 2, w=w, cov=True), None,
                [np.linspace(0, 1, 7) + R(7) * 0.05, R(7, 2), U(7)]),
    "cross": (npg.cross, lambda a, b: torch.linalg.cross(a, b), [R(4, 3), R(4, 3)]),
    "cross 2-vectors": (lambda a, b: npg.cross(a, b, axisa=0), None, [R(2, 4), R(4, 3)]),
    "kron": (npg.kron, torch.kron, [R(2), R(3, 2)]),
    "outer": (npg.outer, torch.outer, [R(3), R(4)]),
    "inner": (npg.inner, torch.inner, [R(2, 3), R(4, 3)]),
    "tensordot": (lambda a, b: npg.tensordot(a, b, axes=([1, 0], [0, 2])),
                  lambda a, b: torch.tensordot(a, b, dims=([1, 0], [0, 2])), [R(3, 4, 2), R(4, 5, 3)]),
    "einsum": (lambda a, b, c: npg.einsum("ii,ij,...j->...i", a, b, c),
               lambda a, b, c: torch.einsum("ii,ij,...j->...i", a, b, c), [R(3, 3), R(3, 4), R(2, 4)]),
    "trapezoid": (lambda y, x: npg.trapezoid(y, x, axis=0), lambda y, x: torch.trapezoid(y, x, dim=0),
                  [R(5, 3), np.sort(R(5, 3), axis=0)]),
    "trapezoid 1-D x": (lambda y, x: npg.trapezoid(y, x, axis=0), None, [R(5, 3), np.sort(R(5))]),
    "average": (lambda a, w: npg.average(a, axis=0, weights=w, returned=True), None, [R(3, 4), U(3)]),
    "cov": (lambda m, aw: npg.cov(m, fweights=np.array([1, 2, 1, 3, 1, 1]), aweights=aw),
            lambda m, aw: torch.cov(m, fweights=torch.tensor([1, 2, 1, 3, 1, 1]), aweights=aw), [R(3, 6), U(6)]),
    "corrcoef": (npg.corrcoef, None, [R(2, 6), R(6)]),
    "bincount": (lambda w: npg.bincount(np.array([0, 2, 2, 4, 1]), weights=w, minlength=7), None, [R(5)]),
    "lerp": (npg.lerp, torch.lerp, [R(3, 4), R(4), _rng.uniform(0.2, 1.0, (3, 1))]),
    "clip": (npg.clip, torch.clamp, [R(3, 4), R(4) - 0.5, R(3, 1) + 0.5]),
    "clip lower above upper": (npg.clip, torch.clamp, [R(3, 4), R(4) + 1, R(3, 1) - 1]),
    "maximum": (npg.maximum, torch.maximum, [R(3, 4), R(4)]),
    "minimum": (npg.minimum, torch.minimum, [R(3, 4), R(4)]),
    "fmax": (npg.fmax, torch.fmax, [np.array([np.nan, 1.0, 2.0, 0.3]), np.array([1.0, np.nan, 3.0, -0.2])]),
    "fmin": (npg.fmin, torch.fmin, [R(3, 4), R(4)]),
    "hypot": (npg.hypot, torch.hypot, [R(3, 4), R(4)]),
    "arctan2": (npg.arctan2, torch.atan2, [R(3, 4), R(4)]),
    "copysign": (npg.copysign, torch.copysign, [R(3, 4), R(4)]),
    "Tensor.ldexp float exponent": (lambda x, e: x.ldexp(e), torch.ldexp, [R(3), np.array([1.0, -2.5, 3.0])]),
    "take_along_axis": (lambda a: npg.take_along_axis(a, np.array([[0, 2], [1, 1], [3, 0]]), axis=1), None,
                        [R(3, 4)]),
    "put_along_axis": (_put_along, None, [R(3, 4), R(3, 2)]),
    "block": (lambda a, b, c, d: npg.block([[a, b], [c, d]]), None, [R(2, 2), R(2, 3), R(1, 2), R(1, 3)]),
    "concatenate": (lambda *a: npg.concatenate(a, axis=1), lambda *a: torch.cat(a, dim=1),
                    [R(2, 1), R(2, 3), R(2, 0), R(2, 2)]),
    "stack": (lambda *a: npg.stack(a, axis=1), lambda *a: torch.stack(a, dim=1), [R(2, 3), R(2, 3), R(2, 3)]),
    "matmul batched": (npg.matmul, torch.matmul, [R(2, 1, 3, 4), R(5, 4, 2)]),
    "linalg.solve": (npg.linalg.solve, torch.linalg.solve, [R(3, 3) + 3 * np.eye(3), R(2, 3, 2)]),
    "linalg.lstsq": (lambda a, b: npg.linalg.lstsq(a, b)[:2], None, [R(5, 3), R(5, 2)]),
    "linalg.lstsq underdetermined": (lambda a, b: npg.linalg.lstsq(a, b)[0],
                                     lambda a, b: torch.linalg.pinv(a) @ b, [R(3, 5), R(3, 2)]),
    "linalg.solve_triangular": (lambda a, b: npg.linalg.solve_triangular(a, b, trans=1, unit_diagonal=True),
                                None, [_TRIU + np.tril(R(3, 3), -1), R(3, 2)]),
    "triangular_solve": (lambda b, a: npg.triangular_solve(b, a, upper=False, transpose=True)[0],
                         lambda b, a: torch.triangular_solve(b, a, upper=False, transpose=True)[0],
                         [R(3, 2), _TRIU.T + np.triu(R(3, 3), 1)]),
    "cholesky_solve": (npg.cholesky_solve, torch.cholesky_solve, [R(3, 2), _TRIU.T.copy()]),
    "linalg.lu_solve": (lambda lu, b: npg.linalg.lu_solve((lu, _PIV), b, trans=1), None, [_LU, R(3, 2)]),
    "lu_solve": (lambda b, lu: npg.lu_solve(b, lu, _PIV + 1), lambda b, lu: torch.lu_solve(b, lu, torch.tensor(_PIV + 1)),
                 [R(3, 2), _LU]),
}


@pytest.mark.parametrize("name", sorted(TOP))
def test_top_level_every_argument(name):
    nfn, tfn, arrays = TOP[name]
    # (cholesky_solve reads one triangle of the factor; its gradient reaches the whole factor, as torch's)
    fd_only = {1: np.tril(np.ones((3, 3), bool))} if name == "cholesky_solve" else None
    check_every_argument(nfn, tfn, arrays, n_fd=4, fd_only=fd_only)


# ------------------------------------------------------------------ fixes: outputs that were silently constant
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_lstsq_singular_values_carry_the_gradient_of_a(dt, shape):
    # they were a constant: a loss reading lstsq's s silently lost that part of a's gradient (torch returns them
    # without a gradient at all; npgrad gives them svdvals' gradient, and keeps NumPy's values)
    a = R(*shape).astype(dt)
    b = R(shape[0], 2).astype(dt)
    s = npg.linalg.lstsq(npg.tensor(a), npg.tensor(b))[3]
    np.testing.assert_array_equal(s.data, np.linalg.lstsq(a, b, rcond=None)[3])
    ta = torch.tensor(a, requires_grad=True)
    tol = dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else TOL
    na = npg.tensor(a)
    w = R(3).astype(dt)
    (npg.linalg.lstsq(na, b)[3] * npg.tensor(w)).sum().backward()
    (torch.linalg.svdvals(ta) * torch.tensor(w)).sum().backward()
    assert na.grad is not None and na.grad.dtype == dt
    np.testing.assert_allclose(na.grad, ta.grad.numpy(), **tol)
    if dt == np.float64:
        check_every_argument(lambda a, b: npg.linalg.lstsq(a, b), None, [a, b], n_fd=6)
        t = R(*shape)
        got = npg.func.jvp(lambda m: npg.linalg.lstsq(m, b)[3], (npg.tensor(a),), (npg.tensor(t),))[1]
        want = torch.func.jvp(torch.linalg.svdvals, (torch.tensor(a),), (torch.tensor(t),))[1]
        np.testing.assert_allclose(got.data, want.numpy(), **TOL)


def test_lstsq_singular_values_of_complex_a_against_torch():
    a = R(4, 3) + 1j * R(4, 3)
    na, ta = npg.tensor(a), torch.tensor(a, requires_grad=True)
    (npg.linalg.lstsq(na, R(4))[3] * npg.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    (torch.linalg.svdvals(ta) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(na.grad, ta.grad.numpy(), **TOL)


def test_polyfit_full_singular_values_carry_the_gradient_of_x_and_w():
    # the singular values of the scaled Vandermonde matrix (polyfit(full=True)'s fourth output) depend on x and w;
    # they were a constant
    x, y, w = np.linspace(0, 1, 7) + R(7) * 0.05, R(7), U(7)
    s = npg.polyfit(npg.tensor(x), npg.tensor(y), 2, full=True, w=npg.tensor(w))[3]
    np.testing.assert_allclose(s.data, np.polyfit(x, y, 2, full=True, w=w)[3], rtol=1e-12)
    check_every_argument(lambda x, y, w: npg.polyfit(x, y, 2, full=True, w=w)[3], None, [x, y, w], n_fd=5)


# ------------------------------------------------------------------ batch_norm's running statistics
@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_running_stats_that_require_grad_are_read_under_no_grad(training):
    # torch refuses them only when a graph would be recorded; npgrad refused them under no_grad too
    x, m, v = R(5, 4, 3), R(4), U(4) + 0.5
    tm, tv = torch.tensor(m, requires_grad=True), torch.tensor(v, requires_grad=True)
    nm, nv = npg.tensor(m, requires_grad=True), npg.tensor(v, requires_grad=True)
    with torch.no_grad():
        want = T.batch_norm(torch.tensor(x), tm, tv, training=training, momentum=0.3)
    with npg.no_grad():
        got = F.batch_norm(npg.tensor(x), nm, nv, training=training, momentum=0.3)
    np.testing.assert_allclose(got.data, want.numpy(), **TOL)
    np.testing.assert_allclose(nm.data, tm.detach().numpy(), **TOL)
    np.testing.assert_allclose(nv.data, tv.detach().numpy(), **TOL)
    with pytest.raises(RuntimeError, match="batch_norm: running_mean is not differentiable"):
        F.batch_norm(npg.tensor(x), nm, npg.tensor(v, requires_grad=False), training=training)


def test_batch_norm_running_stats_stay_constant_leaves_when_updated():
    x, w, b = npg.tensor(R(5, 4, 3)), npg.tensor(R(4)), npg.tensor(R(4))
    m, v = npg.tensor(R(4), requires_grad=False), npg.tensor(U(4) + 0.5, requires_grad=False)
    m0, v0 = m.data.copy(), v.data.copy()
    tm, tv = torch.tensor(m0), torch.tensor(v0)
    F.batch_norm(x, m, v, w, b, training=True).sum().backward()
    T.batch_norm(torch.tensor(x.data), tm, tv, torch.tensor(w.data), torch.tensor(b.data), training=True)
    for n, t in ((m, tm), (v, tv)):
        assert n.is_leaf and not n.requires_grad and n.grad_fn is None and n.grad is None
        np.testing.assert_allclose(n.data, t.numpy(), **TOL)
    assert not np.allclose(m.data, m0)


def test_ldexp_gradient_with_negative_integer_exponents():
    # d(x * 2**e)/dx = 2**e; torch 2.13 gives 0 where e < 0 (it forms 2**e in integers), so this is checked
    # against central differences only
    e = np.array([1, -2, 3, -1])
    check_every_argument(lambda x: npg.ldexp(x, e), None, [R(4)], n_fd=4)
    x = npg.tensor(R(4))
    npg.ldexp(x, e).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ldexp(1.0, e))
