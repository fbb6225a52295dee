"""Small divergences from PyTorch found by the reviews: each checked against torch 2.13."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close


def _tt(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


# ---------------------------------------------------------------- softplus: torch's masks at the threshold
@pytest.mark.parametrize("beta,threshold,xs", [(1.0, 20.0, [20.0, 19.0, 21.0, -3.0, 0.5]),
                                               (2.0, 10.0, [5.0, 4.5, 6.0, 0.0, -1.0])])
def test_softplus_derivatives_at_the_threshold_follow_torch(beta, threshold, xs):
    a = np.array(xs, dtype=np.float64)

    def f(sp, v, z):  # the upstream gradient depends on x (softplus squared), so both paths are used
        return (sp(v, beta, threshold) ** 2).sum() + (sp(v, beta, threshold) * z).sum()
    z = np.linspace(0.5, 1.5, a.size)
    x = npg.tensor(a, requires_grad=True)
    g, = npg.autograd.grad(f(F.softplus, x, npg.tensor(z)), [x], create_graph=True)
    h, = npg.autograd.grad((g * x).sum(), [x])
    xt = _tt(a, True)
    gt, = torch.autograd.grad(f(TF.softplus, xt, _tt(z)), [xt], create_graph=True)
    ht, = torch.autograd.grad((gt * xt).sum(), [xt])
    assert_close(g, gt.detach().numpy(), what="first derivative")
    assert_close(h, ht.numpy(), what="second derivative")
    # forward mode: the JVP rule (first derivative) and forward-over-reverse / forward-over-forward
    t = np.ones_like(a)
    fn = lambda v: F.softplus(v, beta, threshold).sum()  # noqa: E731
    tfn = lambda v: TF.softplus(v, beta, threshold).sum()  # noqa: E731
    assert_close(npg.func.jvp(lambda v: F.softplus(v, beta, threshold), (npg.tensor(a),), (npg.tensor(t),))[1],
                 torch.func.jvp(lambda v: TF.softplus(v, beta, threshold), (_tt(a),), (_tt(t),))[1].numpy())
    assert_close(npg.func.jvp(npg.func.grad(fn), (npg.tensor(a),), (npg.tensor(t),))[1],
                 torch.func.jvp(torch.func.grad(tfn), (_tt(a),), (_tt(t),))[1].numpy())
    assert_close(npg.func.jacfwd(npg.func.jacfwd(fn))(npg.tensor(a)),
                 torch.func.jacfwd(torch.func.jacfwd(tfn))(_tt(a)).numpy())
    assert_close(npg.func.jacrev(npg.func.jacrev(fn))(npg.tensor(a)),
                 torch.func.jacrev(torch.func.jacrev(tfn))(_tt(a)).numpy())


# ---------------------------------------------------------------- abs: sgn(nan) = 0 in its derivative
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_abs_gradient_at_nan_is_zero_like_torch(dtype):
    a = np.array([np.nan, -np.nan, 0.0, -0.0, 1.5, -2.0, np.inf, -np.inf], dtype=dtype)
    w = np.linspace(-1.0, 2.0, a.size).astype(dtype)
    x = npg.tensor(a, requires_grad=True)
    g, = npg.autograd.grad((npg.abs(x) * npg.tensor(w)).sum(), [x], create_graph=True)
    h, = npg.autograd.grad((g * x).sum(), [x])
    xt = _tt(a, True)
    gt, = torch.autograd.grad((xt.abs() * _tt(w)).sum(), [xt], create_graph=True)
    ht, = torch.autograd.grad((gt * xt).sum(), [xt])
    assert_close(g, gt.detach().numpy(), what="abs gradient")
    assert_close(h, ht.numpy(), what="abs second derivative")
    t = np.linspace(0.5, 3.0, a.size).astype(dtype)
    assert_close(npg.func.jvp(npg.abs, (npg.tensor(a),), (npg.tensor(t),))[1],
                 torch.func.jvp(torch.abs, (_tt(a),), (_tt(t),))[1].numpy(), what="abs JVP")
    assert_close(npg.func.vmap(npg.func.grad(lambda v: npg.abs(v).sum()))(npg.tensor(a.reshape(2, 4))),
                 torch.func.vmap(torch.func.grad(lambda v: v.abs().sum()))(_tt(a.reshape(2, 4))).numpy())


# ---------------------------------------------------------------- nll_loss: unbatched input, batched target
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_unbatched_input_with_a_batched_target_raises(reduction):
    a = np.random.default_rng(0).standard_normal(4)
    for tgt in ([2], [[2]]):
        xt = _tt(a, True)
        with pytest.raises(RuntimeError):  # torch: at the call ((1, 1)) or at backward ((1,), "size mismatch")
            TF.nll_loss(xt, _tt(np.array(tgt)), reduction=reduction).sum().backward()
        with pytest.raises(ValueError, match=r"nll_loss.*\(4,\).*\(1,"):
            F.nll_loss(npg.tensor(a), npg.tensor(tgt), reduction=reduction)
    # the 0-d target still works, value and gradient as torch
    x = npg.tensor(a, requires_grad=True)
    out = F.nll_loss(x, npg.tensor(2), reduction=reduction)
    g, = npg.autograd.grad(out.sum(), [x])
    xt = _tt(a, True)
    tout = TF.nll_loss(xt, torch.tensor(2), reduction=reduction)
    gt, = torch.autograd.grad(tout.sum(), [xt])
    assert_close(out, tout.detach().numpy())
    assert_close(g, gt.numpy())


# ---------------------------------------------------------------- instance_norm of an (N, C) input
def test_instance_norm_2d_input_with_running_stats_like_torch():
    rng = np.random.default_rng(1)
    a, w, b = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    xs = [npg.tensor(v, requires_grad=True) for v in (a, w, b)]
    buf = [npg.tensor(v, requires_grad=False) for v in (rm, rv)]
    out = F.instance_norm(xs[0], *buf, xs[1], xs[2], use_input_stats=False)
    ts = [_tt(v, True) for v in (a, w, b)]
    tout = TF.instance_norm(ts[0], _tt(rm), _tt(rv), ts[1], ts[2], use_input_stats=False)
    assert_close(out, tout.detach().numpy())
    up = rng.standard_normal((2, 3))
    for gn, gt in zip(npg.autograd.grad((out * npg.tensor(up)).sum(), xs),
                      torch.autograd.grad((tout * _tt(up)).sum(), ts)):
        assert_close(gn, gt.numpy())
    # with the input's own statistics, an (N, C) input has one "spatial" element: torch raises ValueError
    for stats in ((None, None), buf):
        with pytest.raises(ValueError):
            TF.instance_norm(_tt(a), *(None if s is None else _tt(s.data.copy()) for s in stats))
        with pytest.raises(ValueError, match="instance_norm"):
            F.instance_norm(npg.tensor(a), *stats)


def test_instance_norm_2d_input_under_vmap_like_torch():
    rng = np.random.default_rng(2)
    a, rm, rv = rng.standard_normal((4, 2, 3)), rng.standard_normal(3), rng.random(3) + 0.5
    buf = [npg.tensor(v, requires_grad=False) for v in (rm, rv)]
    out = npg.func.vmap(lambda v: F.instance_norm(v, *buf, use_input_stats=False))(npg.tensor(a))
    tout = torch.func.vmap(lambda v: TF.instance_norm(v, _tt(rm), _tt(rv), use_input_stats=False))(_tt(a))
    assert_close(out, tout.numpy())
    with pytest.raises(ValueError, match=r"instance_norm.*\(2, 3\)"):
        npg.func.vmap(lambda v: F.instance_norm(v))(npg.tensor(a))


# ---------------------------------------------------------------- triplet_margin_loss: any number of dims
@pytest.mark.parametrize("shapes", [((1, 3, 4),) * 3, ((2, 3, 4, 5),) * 3, ((2, 4), (1, 4), (2, 4)),
                                    ((2, 1), (2, 3), (2, 3)), ((),) * 3])
@pytest.mark.parametrize("p,swap", [(2, False), (1, True), (float("inf"), False)])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_triplet_margin_loss_shapes_like_torch(shapes, p, swap, reduction):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    ts = [_tt(a, True) for a in arrays]
    out = F.triplet_margin_loss(*xs, margin=1.5, p=p, swap=swap, reduction=reduction)
    tout = TF.triplet_margin_loss(*ts, margin=1.5, p=p, swap=swap, reduction=reduction)
    assert_close(out, tout.detach().numpy())
    for gn, gt in zip(npg.autograd.grad(out.sum(), xs), torch.autograd.grad(tout.sum(), ts)):
        assert_close(gn, gt.numpy())
    if not shapes[0]:  # the 0-d pairwise distance itself
        for keepdim in (False, True):
            assert_close(F.pairwise_distance(xs[0], xs[1], p=p, keepdim=keepdim),
                         TF.pairwise_distance(ts[0], ts[1], p=p, keepdim=keepdim).detach().numpy())


# ---------------------------------------------------------------- normalize: an inf norm over an empty dim
@pytest.mark.parametrize("shape,dim", [((0,), 0), ((0, 3), 0), ((3, 0), -1), ((0, 3), (0, 1)), ((0, 3), -1),
                                       ((3, 0), 0), ((2, 0), (0,))])
@pytest.mark.parametrize("p", [float("inf"), -float("inf"), 2.0])
def test_normalize_inf_norm_over_an_empty_dim_raises_like_torch(shape, dim, p):
    try:
        expected = TF.normalize(torch.zeros(shape, dtype=torch.float64), p=p, dim=dim).numpy()
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"normalize.*\(" + ", ".join(map(str, shape))):
            F.normalize(npg.zeros(shape, dtype=np.float64), p=p, dim=dim)
        return
    assert_close(F.normalize(npg.zeros(shape, dtype=np.float64), p=p, dim=dim), expected)


# ---------------------------------------------------------------- batch_norm / instance_norm: momentum=None
@pytest.mark.parametrize("training", [False, True])
def test_functional_norms_refuse_momentum_none_like_torch(training):
    a = np.random.default_rng(4).standard_normal((4, 3, 2))
    bufs = lambda mod: (mod.zeros(3, dtype=mod.float64, requires_grad=False),  # noqa: E731
                        mod.ones(3, dtype=mod.float64, requires_grad=False))
    with pytest.raises(TypeError, match="momentum"):
        TF.batch_norm(_tt(a), *bufs(torch), training=training, momentum=None)
    with pytest.raises(TypeError, match="batch_norm.*momentum"):
        F.batch_norm(npg.tensor(a), *bufs(npg), training=training, momentum=None)
    with pytest.raises(TypeError, match="momentum"):
        TF.instance_norm(_tt(a), *bufs(torch), use_input_stats=training, momentum=None)
    with pytest.raises(TypeError, match="instance_norm.*momentum"):
        F.instance_norm(npg.tensor(a), *bufs(npg), use_input_stats=training, momentum=None)
    # a number (a bool too, as torch) still works and matches torch's value and running statistics
    rt, rn = bufs(torch), bufs(npg)
    tout = TF.batch_norm(_tt(a), *rt, training=training, momentum=True)
    out = F.batch_norm(npg.tensor(a), *rn, training=training, momentum=True)
    assert_close(out, tout.numpy())
    for n_, t_ in zip(rn, rt):
        assert_close(n_, t_.numpy())


# ---------------------------------------------------------------- det / expm: second derivative of empty matrices
@pytest.mark.parametrize("name,tname", [("det", "det"), ("expm", "matrix_exp")])
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_second_derivative_of_empty_matrices_like_torch(name, tname, shape):
    x = npg.zeros(shape, dtype=np.float64, requires_grad=True)
    g, = npg.autograd.grad(npg.sum(getattr(npg.linalg, name)(x)), [x], create_graph=True)
    xt = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    gt, = torch.autograd.grad(getattr(torch.linalg, tname)(xt).sum(), [xt], create_graph=True)
    assert_close(g, gt.detach().numpy())
    try:  # torch: det of 0 x 0 matrices gives a gradient with no graph, so a second one raises
        ht, = torch.autograd.grad(gt.sum(), [xt])
    except RuntimeError:
        with pytest.raises(RuntimeError):
            npg.autograd.grad(npg.sum(g), [x])
        return
    h, = npg.autograd.grad(npg.sum(g), [x])
    assert_close(h, ht.numpy())
