"""The rest of torch.nn against PyTorch: max unpooling (1-3d, output_size, repeated indices, errors), the
``*_with_indices`` aliases, channel shuffle, the triplet loss with a distance function; values and gradients in
float32 and float64, batched and unbatched, modules' reprs and state-dict keys."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close, compare_with_torch
from tests.test_nn import check_module, dtype, rnd  # noqa: F401  (dtype is a fixture)


def grads_match(out, tout, xs, ts, seed=1):
    """Values of ``out`` / ``tout`` and the gradients of ``sum(out * w)`` in ``xs`` / ``ts`` agree."""
    assert_close(out, tout.detach().numpy(), what="value")
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        assert_close(x.grad, t.grad.numpy(), what="gradient")


# ------------------------------------------------------------------------------------------------ max unpooling
UNPOOL_CASES = [  # (nd, input shape, pool kwargs, output_size)
    (1, (2, 3, 9), dict(kernel_size=2), None),
    (1, (3, 8), dict(kernel_size=3, stride=1, padding=1), None),
    (2, (2, 3, 7, 6), dict(kernel_size=2), None),
    (2, (2, 3, 7, 6), dict(kernel_size=2), (7, 6)),
    (2, (3, 7, 6), dict(kernel_size=3, stride=2), [7, 6]),
    (2, (2, 2, 6, 6), dict(kernel_size=3, stride=1, padding=1), (2, 2, 6, 6)),
    (3, (2, 2, 4, 5, 4), dict(kernel_size=2), (4, 5, 4)),
    (3, (2, 5, 4, 3), dict(kernel_size=(2, 2, 1), stride=(2, 1, 1)), None),
]


@pytest.mark.parametrize("nd, shape, kw, output_size", UNPOOL_CASES)
def test_max_unpool_matches_torch(nd, shape, kw, output_size, dtype):
    a = rnd(*shape, dtype=dtype)
    pool, tpool = getattr(F, f"max_pool{nd}d"), getattr(TF, f"max_pool{nd}d")
    unpool, tunpool = getattr(F, f"max_unpool{nd}d"), getattr(TF, f"max_unpool{nd}d")
    y, i = pool(npg.tensor(a), return_indices=True, **kw)
    ty, ti = tpool(torch.tensor(a), return_indices=True, **kw)
    np.testing.assert_array_equal(i.data, ti.numpy())
    x, t = npg.tensor(y.data.copy(), requires_grad=True), ty.detach().clone().requires_grad_()
    out, tout = unpool(x, i, output_size=output_size, **kw), tunpool(t, ti, output_size=output_size, **kw)
    assert out.dtype == dtype
    grads_match(out, tout, [x], [t])
    # the module, and the pool -> unpool round trip differentiable in the pool's input
    mod = getattr(nn, f"MaxUnpool{nd}d")(**kw)
    tmod = getattr(tnn, f"MaxUnpool{nd}d")(**kw)
    assert repr(mod) == repr(tmod)
    assert list(mod.state_dict()) == list(tmod.state_dict()) == []
    xa, ta = npg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, i = pool(xa, return_indices=True, **kw)
    ty, ti = tpool(ta, return_indices=True, **kw)
    grads_match(mod(y, i, output_size), tmod(ty, ti, output_size), [xa], [ta], seed=2)


def test_max_unpool_repeated_indices_give_torchs_gather_gradient():
    """Overlapping windows pick one element several times: the value is written once, and every pooled entry
    gets the output's gradient at its index (PyTorch's backward is a gather)."""
    a = np.array([[[0.0, 5.0, 1.0, 2.0, 7.0, 3.0]]])
    y, i = F.max_pool1d(npg.tensor(a), 3, stride=1, return_indices=True)
    np.testing.assert_array_equal(i.data, [[[1, 1, 4, 4]]])
    x = npg.tensor(y.data.copy(), requires_grad=True)
    t = torch.tensor(y.data.copy(), requires_grad=True)
    out, tout = F.max_unpool1d(x, i, 3, stride=1), TF.max_unpool1d(t, torch.tensor(i.data), 3, stride=1)
    grads_match(out, tout, [x], [t])
    np.testing.assert_array_equal(x.grad, np.take_along_axis(np.random.default_rng(1).standard_normal(6)[None, None],
                                                             i.data, 2))


def test_max_unpool_second_derivative_and_jvp():
    a = rnd(1, 2, 4, 4)
    _, i = F.max_pool2d(npg.tensor(a), 2, return_indices=True)
    v = rnd(1, 2, 2, 2, seed=3)
    f = lambda x: npg.sum(F.max_unpool2d(x, i, 2) ** 3)                                           # noqa: E731
    tf = lambda x: (TF.max_unpool2d(x, torch.tensor(i.data), 2) ** 3).sum()                       # noqa: E731
    x = npg.tensor(v, requires_grad=True)
    (g,) = npg.autograd.grad(f(x), [x], create_graph=True)
    npg.sum(g * g).backward()
    t = torch.tensor(v, requires_grad=True)
    (tg,) = torch.autograd.grad(tf(t), [t], create_graph=True)
    (tg * tg).sum().backward()
    assert_close(g, tg.detach().numpy())
    assert_close(x.grad, t.grad.numpy())
    _, jv = npg.func.jvp(lambda x: F.max_unpool2d(x, i, 2), (npg.tensor(v),), (npg.tensor(np.ones_like(v)),))
    _, tjv = torch.func.jvp(lambda x: TF.max_unpool2d(x, torch.tensor(i.data), 2), (torch.tensor(v),),
                            (torch.ones(v.shape, dtype=torch.float64),))
    assert_close(jv, tjv.numpy())


def test_max_unpool_under_vmap():
    a = rnd(3, 2, 6)
    _, i = F.max_pool1d(npg.tensor(a), 2, return_indices=True)
    v = rnd(3, 2, 3, seed=4)
    with warnings.catch_warnings():      # (the per-sample loop's one-time warning)
        warnings.simplefilter("ignore")
        out = npg.func.vmap(lambda x, j: F.max_unpool1d(x, j, 2))(npg.tensor(v), i)
    assert_close(out, F.max_unpool1d(npg.tensor(v), i, 2).data)


def test_max_unpool_errors_name_the_op():
    y, i = F.max_pool2d(npg.tensor(rnd(1, 2, 4, 4)), 2, return_indices=True)
    bad = i.data.copy()
    bad[0, 0, 0, 0] = 100
    with pytest.raises(RuntimeError, match=r"max_unpool2d: Found an invalid max index: 100 \(output volumes are "
                                           r"of size 4x4\)"):
        F.max_unpool2d(y, bad, 2)
    with pytest.raises(RuntimeError, match="max_unpool2d: Expected shape of indices"):
        F.max_unpool2d(y, i.data[:, :1], 2)
    with pytest.raises(RuntimeError, match="max_unpool2d: elements in indices should be type int64"):
        F.max_unpool2d(y, i.data.astype(np.float32), 2)
    with pytest.raises(RuntimeError, match=r"max_unpool2d: expected a 4-D"):
        F.max_unpool2d(y.data[0, 0], i.data[0, 0], 2)
    with pytest.raises(ValueError, match=r'max_unpool2d: invalid output_size "\(9, 9\)" \(dim 0 must be between '
                                         r'2 and 6\)'):
        F.max_unpool2d(y, i, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="max_unpool2d: output_size should be a sequence containing 2 or 4"):
        F.max_unpool2d(y, i, 2, output_size=(4, 4, 4))


def test_with_indices_aliases_match_torch():
    a = rnd(2, 3, 6, 7)
    for name, args in [("max_pool1d_with_indices", (a[:, :, 0], 2)), ("max_pool2d_with_indices", (a, 3, 2, 1)),
                       ("max_pool3d_with_indices", (a[None], 2)), ("adaptive_max_pool1d_with_indices", (a[0], 4)),
                       ("adaptive_max_pool2d_with_indices", (a, (4, 3))),
                       ("adaptive_max_pool3d_with_indices", (a, (2, 3, 5)))]:
        out, ind = getattr(F, name)(npg.tensor(args[0]), *args[1:])
        tout, tind = getattr(TF, name)(torch.tensor(args[0]), *args[1:])
        assert_close(out, tout.numpy(), what=name)
        np.testing.assert_array_equal(ind.data, tind.numpy())


# ----------------------------------------------------------------------------------------------- channel shuffle
@pytest.mark.parametrize("shape, groups", [((2, 6, 3), 3), ((2, 6, 3, 4), 2), ((1, 8, 2, 2, 3), 4), ((3, 5, 2), 1)])
def test_channel_shuffle_matches_torch(shape, groups, dtype):
    compare_with_torch(lambda x: F.channel_shuffle(x, groups), lambda t: TF.channel_shuffle(t, groups),
                       [rnd(*shape, dtype=dtype)], what="channel_shuffle")
    check_module(nn.ChannelShuffle(groups), tnn.ChannelShuffle(groups), [rnd(*shape, dtype=dtype)], dtype)
    assert repr(nn.ChannelShuffle(groups)) == repr(tnn.ChannelShuffle(groups))
    assert_close(F.native_channel_shuffle(npg.tensor(rnd(*shape)), groups),
                 TF.native_channel_shuffle(torch.tensor(rnd(*shape)), groups).numpy())


def test_channel_shuffle_errors():
    for args, msg in [((rnd(2, 6, 3), 4), "Number of channels must be divisible by groups. Got 6 channels and 4"),
                      ((rnd(2, 6), 2), "expects input with > 2 dims"),
                      ((rnd(2, 6, 3), 0), "Number of groups to divide channels in must be positive")]:
        with pytest.raises(RuntimeError, match=msg):
            TF.channel_shuffle(torch.tensor(args[0]), args[1])
        with pytest.raises(RuntimeError, match="channel_shuffle: " + msg):
            F.channel_shuffle(npg.tensor(args[0]), args[1])


# ------------------------------------------------------------------------------------- triplet loss with distance
@pytest.mark.parametrize("kw", [dict(), dict(swap=True, margin=0.5, reduction="sum"), dict(reduction="none"),
                                dict(distance_function="cosine", swap=True)])
@pytest.mark.parametrize("shape", [(5, 4), (4,)])
def test_triplet_margin_with_distance_loss_matches_torch(kw, shape, dtype):
    arrays = [rnd(*shape, dtype=dtype, seed=s, scale=0.5 + s) for s in range(3)]
    nkw, tkw = dict(kw), dict(kw)
    if kw.get("distance_function") == "cosine":
        nkw["distance_function"] = lambda a, b: 1.0 - F.cosine_similarity(a, b, dim=-1)
        tkw["distance_function"] = lambda a, b: 1.0 - TF.cosine_similarity(a, b, dim=-1)
    compare_with_torch(lambda *x: F.triplet_margin_with_distance_loss(*x, **nkw),
                       lambda *t: TF.triplet_margin_with_distance_loss(*t, **tkw), arrays, what=str(kw))
    mkw = {k: v for k, v in nkw.items() if k != "distance_function"}
    mod, tmod = nn.TripletMarginWithDistanceLoss(**mkw), tnn.TripletMarginWithDistanceLoss(**mkw)
    assert repr(mod) == repr(tmod)
    assert list(mod.state_dict()) == list(tmod.state_dict()) == []
    check_module(mod, tmod, arrays, dtype)


def test_triplet_margin_with_distance_loss_errors():
    a = npg.tensor(rnd(3, 4))
    with pytest.raises(ValueError, match="margin must be greater than 0, got 0"):
        F.triplet_margin_with_distance_loss(a, a, a, margin=0)
    with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: expected margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=-1.0)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.triplet_margin_with_distance_loss(a, a, a, reduction="avg")
    with pytest.raises(RuntimeError, match="anchor 2D, positive 1D, and negative 2D"):
        F.triplet_margin_with_distance_loss(a, a[0], a)
    with pytest.raises(TypeError):
        F.triplet_margin_with_distance_loss(a, a, a, None)   # keyword-only, as torch


# --------------------------------------------------------------------------------------------------- nn.Buffer
def test_buffer_assignment_registers_a_buffer_as_torch():
    def build(lib, tensor):
        class M(lib.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.Linear(2, 2)
                self.stats = lib.Buffer(tensor(np.arange(3.0)))
                self.scratch = lib.Buffer(tensor(np.ones(2)), persistent=False)
        return M()
    m, tm = build(nn, npg.tensor), build(tnn, torch.tensor)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["stats", "lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()] == ["stats", "scratch"]
    assert not m.stats.requires_grad and isinstance(m.stats, npg.Tensor)
    assert isinstance(nn.Buffer(npg.zeros(2)), nn.Buffer) and not isinstance(npg.zeros(2), nn.Buffer)
    m.load_state_dict({k: v.detach().numpy() * 2 for k, v in tm.state_dict().items()})
    assert_close(m.stats, np.arange(3.0) * 2)
    m.register_buffer("extra", nn.Buffer(npg.ones(1)))
    assert "extra" in m.state_dict()
    assert nn.Buffer().shape == (0,)


# ------------------------------------------------------------------------------------------------ lazy modules
LAZY_CASES = [  # (lazy class name, args, kwargs, ordinary class, input shape)
    ("LazyLinear", (4,), {}, "Linear", (3, 5)),
    ("LazyLinear", (2,), dict(bias=False), "Linear", (2, 3, 6)),
    ("LazyConv1d", (4, 3), dict(stride=2), "Conv1d", (2, 6, 9)),
    ("LazyConv2d", (4, 3), dict(groups=2, padding=1), "Conv2d", (2, 6, 5, 5)),
    ("LazyConv2d", (3, 2), {}, "Conv2d", (2, 4, 4)),
    ("LazyConv3d", (2, 2), dict(bias=False), "Conv3d", (1, 3, 3, 4, 3)),
    ("LazyConvTranspose1d", (4, 3), dict(stride=2, output_padding=1), "ConvTranspose1d", (2, 6, 5)),
    ("LazyConvTranspose2d", (4, 3), dict(groups=2), "ConvTranspose2d", (2, 6, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, "ConvTranspose3d", (3, 2, 3, 2)),
    ("LazyBatchNorm1d", (), {}, "BatchNorm1d", (4, 3)),
    ("LazyBatchNorm2d", (), dict(momentum=None), "BatchNorm2d", (4, 3, 2, 2)),
    ("LazyBatchNorm3d", (), dict(affine=False), "BatchNorm3d", (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, "InstanceNorm1d", (2, 3, 5)),
    ("LazyInstanceNorm2d", (), dict(affine=False, track_running_stats=False), "InstanceNorm2d", (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), dict(bias=False), "InstanceNorm3d", (2, 3, 2, 3, 2)),
]


@pytest.mark.filterwarnings("ignore:input's size at dim=1 does not match num_features")  # (num_features stays 0)
@pytest.mark.parametrize("name, args, kw, final, shape", LAZY_CASES)
def test_lazy_module_matches_torch(name, args, kw, final, shape, dtype):
    m, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert type(m).__name__ == name and repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    lazy = [k for k, v in m.state_dict().items() if isinstance(v, nn.parameter.UninitializedTensorMixin)]
    assert lazy == [k for k, v in tm.state_dict().items() if isinstance(v, tnn.parameter.UninitializedTensorMixin)]
    assert all(isinstance(p, nn.UninitializedParameter) for p in m.parameters())
    has_params = bool(list(m.parameters()))
    if has_params:      # an optimizer built before the first forward, as torch allows
        opt = npg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = rnd(*shape, dtype=dtype)
    tm(torch.tensor(x))
    m(npg.tensor(x))
    assert type(m).__name__ == type(tm).__name__ == final and type(m) is getattr(nn, final)
    assert repr(m) == repr(tm)
    assert {k: v.shape for k, v in m.state_dict().items()} == {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert all(type(p) is nn.Parameter and p.dtype == dtype for p in m.parameters())
    # torch's weights (and running statistics) loaded: the same outputs and gradients from here on
    check_module(m, tm, [x], dtype)
    if has_params:  # the optimizer holds the materialized parameters themselves
        before = {k: p.data.copy() for k, p in m.named_parameters()}
        opt.step()
        assert all(not np.allclose(before[k], p.data) for k, p in m.named_parameters())


def test_lazy_initialization_follows_the_ordinary_layers():
    """The first forward initializes as the ordinary layer's constructor does: with the same seed, the same draws."""
    for lazy, make, x in [(lambda: nn.LazyLinear(7), lambda: nn.Linear(5, 7), rnd(2, 5)),
                          (lambda: nn.LazyConv2d(4, 3), lambda: nn.Conv2d(6, 4, 3), rnd(1, 6, 5, 5)),
                          (lambda: nn.LazyConvTranspose1d(4, 3, groups=2),
                           lambda: nn.ConvTranspose1d(6, 4, 3, groups=2), rnd(1, 6, 5))]:
        m = lazy()
        npg.random.seed(3)
        m(npg.tensor(x))
        npg.random.seed(3)
        ref = make()
        for (k, v), (k2, v2) in zip(m.state_dict().items(), ref.state_dict().items()):
            assert k == k2
            np.testing.assert_array_equal(v.data, v2.data)
    m = nn.LazyLinear(400)
    m(npg.tensor(rnd(2, 100)))
    bound = 1 / np.sqrt(100)          # kaiming_uniform_(a=sqrt(5)) and the bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = m.weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound * 10 and abs(w.var() - bound ** 2 / 3) < 0.05 * bound ** 2
    bn = nn.LazyBatchNorm1d()
    bn(npg.tensor(rnd(4, 3)))
    assert_close(bn.weight, np.ones(3))
    assert_close(bn.bias, np.zeros(3))
    assert int(bn.num_batches_tracked.data) == 1


def test_lazy_module_loads_a_torch_state_dict_before_its_first_forward():
    tm = tnn.Linear(6, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert type(m) is nn.LazyLinear and m.weight.shape == (3, 6) and m.in_features == 0   # as torch
    x = rnd(2, 6, dtype=np.float32)
    out = m(npg.tensor(x))
    assert type(m) is nn.Linear and m.in_features == 6
    assert_close(out, tm(torch.tensor(x)).detach().numpy(), dtype=np.float32)   # (float64 parameters here)
    tb = tnn.BatchNorm2d(3)
    tb(torch.randn(4, 3, 2, 2))
    b = nn.LazyBatchNorm2d()
    b.load_state_dict(tb.state_dict())
    assert_close(b.running_var, tb.running_var.numpy())
    assert int(b.num_batches_tracked.data) == 1


def test_uninitialized_parameters_refuse_use():
    m = nn.LazyLinear(3)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        m.weight.shape
    assert repr(m.weight) == "<UninitializedParameter>"
    b = nn.UninitializedBuffer(dtype=np.float32)
    b.materialize((2, 3))
    assert type(b) is npg.Tensor and b.shape == (2, 3) and b.dtype == np.float32
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D \\(batched\\) input to LazyConv2d"):
        nn.LazyConv2d(2, 3)(npg.tensor(rnd(4, 5)))
    with pytest.raises(ValueError, match="CPU only"):
        nn.LazyLinear(3, device="cuda")


# ----------------------------------------------------------------------------------------- fractional max pooling
FRACTIONAL_CASES = [  # (nd, input shape, kernel_size, output_size, output_ratio)
    (2, (2, 3, 9, 7), 2, (5, 4), None),
    (2, (3, 8, 8), (3, 2), None, (0.5, 0.5)),
    (2, (1, 2, 5, 6), 1, 5, None),
    (2, (2, 2, 6, 5), 3, (4, 1), None),
    (3, (2, 2, 6, 7, 5), 2, (3, 4, 2), None),
    (3, (2, 5, 6, 7), (1, 2, 3), None, (0.5, 0.6, 0.5)),
]


@pytest.mark.parametrize("nd, shape, k, output_size, output_ratio", FRACTIONAL_CASES)
def test_fractional_max_pool_matches_torch_given_the_samples(nd, shape, k, output_size, output_ratio, dtype):
    a = rnd(*shape, dtype=dtype)
    n = 1 if len(shape) == nd + 1 else shape[0]
    u = np.random.default_rng(5).random((n, shape[-nd - 1], nd)).astype(dtype)
    name = f"fractional_max_pool{nd}d"
    kw = dict(output_size=output_size, output_ratio=output_ratio)
    x, t = npg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, ind = getattr(F, name)(x, k, return_indices=True, _random_samples=u, **kw)
    tout, tind = getattr(TF, name)(t, k, return_indices=True, _random_samples=torch.tensor(u), **kw)
    np.testing.assert_array_equal(ind.data, tind.numpy())
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    grads_match(out, tout, [x], [t])
    w_out, w_ind = getattr(F, name + "_with_indices")(npg.tensor(a), k, _random_samples=u, **kw)
    np.testing.assert_array_equal(w_ind.data, tind.numpy())
    cls = f"FractionalMaxPool{nd}d"
    m = getattr(nn, cls)(k, _random_samples=npg.tensor(u), **kw)
    tm = getattr(tnn, cls)(k, _random_samples=torch.tensor(u), **kw)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["_random_samples"]
    check_module(m, tm, [a], dtype)
    m2, tm2 = getattr(nn, cls)(k, **kw), getattr(tnn, cls)(k, **kw)
    assert list(m2.state_dict()) == list(tm2.state_dict()) == []
    assert m2(npg.tensor(a)).shape == tuple(tm2(torch.tensor(a)).shape)


def test_fractional_max_pool_nan_ties_and_random_draws():
    a = rnd(2, 3, 8, 9)
    a[0, 0, ::2] = np.nan
    a[1, 1] = 1.0                                  # all ties: the first element of each window
    u = np.random.default_rng(1).random((2, 3, 2))
    out, ind = F.fractional_max_pool2d(npg.tensor(a), 2, (4, 5), return_indices=True, _random_samples=u)
    tout, tind = TF.fractional_max_pool2d(torch.tensor(a), 2, (4, 5), return_indices=True,
                                          _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(ind.data, tind.numpy())
    assert_close(out, tout.numpy())
    npg.random.seed(0)                             # without samples: drawn from npgrad's generator
    first = F.fractional_max_pool2d(npg.tensor(a[1:]), 2, (4, 5), return_indices=True)[1].data
    npg.random.seed(0)
    np.testing.assert_array_equal(F.fractional_max_pool2d(npg.tensor(a[1:]), 2, (4, 5), return_indices=True)[1].data,
                                  first)
    seen = {F.fractional_max_pool2d(npg.tensor(a[1:]), 2, (4, 5), return_indices=True)[1].data.tobytes()
            for _ in range(5)}
    assert len(seen) > 1
    # the unpool of the indices restores the maxima in place
    y, i = F.fractional_max_pool2d(npg.tensor(a[1:]), 2, (4, 5), return_indices=True)
    back = F.max_unpool2d(y, i, 2, output_size=(8, 9))
    np.testing.assert_array_equal(np.take_along_axis(back.data.reshape(1, 3, -1), i.data.reshape(1, 3, -1), 2),
                                  y.data.reshape(1, 3, -1))


def test_fractional_max_pool_errors():
    x = npg.tensor(rnd(2, 3, 7, 6))
    with pytest.raises(RuntimeError, match=r"fractional_max_pool2d\(\): pool height 3 too large relative to input "
                                           r"height 7"):
        F.fractional_max_pool2d(x, 3, output_size=(6, 4))
    with pytest.raises(RuntimeError, match=r"pool time 2 too large relative to input time 3"):
        F.fractional_max_pool3d(npg.tensor(rnd(1, 1, 3, 3, 3)), 2, output_size=2)
    with pytest.raises(ValueError, match="fractional_max_pool2d requires specifying either an output_size or an "
                                         "output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match="same dtype as input"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=np.random.rand(2, 3, 2).astype(np.float32))
    with pytest.raises(RuntimeError, match="no less then input batch size"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=np.random.rand(1, 3, 2))
    with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio may be specified"):
        nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)


# ------------------------------------------------------------------------------------ AdaptiveLogSoftmaxWithLoss
@pytest.mark.parametrize("kw", [dict(cutoffs=[3, 6], div_value=2.0), dict(cutoffs=[4], head_bias=True),
                                dict(cutoffs=[3, 6], div_value=4.0)])   # (the last tail projects to 8 // 16 = 0)
def test_adaptive_log_softmax_matches_torch(kw, dtype):
    m, tm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, **kw), tnn.AdaptiveLogSoftmaxWithLoss(8, 10, **kw)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert repr(m) == repr(tm)
    target = np.array([0, 9, 4, 3, 7, 1, 5, 2])
    x = rnd(8, 8, dtype=dtype)
    out = check_module(m, tm, [x, target], dtype, call=lambda m, x, t: m(x, t).output,
                       tcall=lambda m, x, t: m(x, t).output)
    assert out.shape == (8,)
    res, tres = m(npg.tensor(x), target), tm(torch.tensor(x), torch.tensor(target))
    assert_close(res.loss, tres.loss.detach().numpy())
    xs, ts = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m.zero_grad()
    tm.zero_grad()
    m(xs, target).loss.backward()
    tm(ts, torch.tensor(target)).loss.backward()
    assert_close(xs.grad, ts.grad.numpy())
    assert_close(m.head.weight.grad, tm.head.weight.grad.numpy())
    lp, tlp = m.log_prob(npg.tensor(x)), tm.log_prob(torch.tensor(x))
    assert_close(lp, tlp.detach().numpy())
    np.testing.assert_array_equal(m.predict(npg.tensor(x)).data, tm.predict(torch.tensor(x)).numpy())
    one, tone = m(npg.tensor(x[2]), np.array(4)), tm(torch.tensor(x[2]), torch.tensor(4))     # unbatched
    assert one.output.shape == () and float(one.output.data) == pytest.approx(float(tone.output.detach()), rel=1e-5)


def test_linear_with_zero_in_features_matches_torch():
    # F.linear reshaped its input with -1, which fails when in_features is 0 (ValueError from NumPy); torch
    # gives the bias (an AdaptiveLogSoftmaxWithLoss tail whose in_features // div_value ** k is 0 builds one)
    x, w, b = np.zeros((3, 0)), np.zeros((4, 0)), np.arange(4.0)
    xs, ws, bs = (npg.tensor(v, requires_grad=True) for v in (x, w, b))
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    y, ty = F.linear(xs, ws, bs), TF.linear(tx, tw, tb)
    assert_close(y, ty.detach().numpy())
    g = np.random.default_rng(0).standard_normal((3, 4))
    npg.sum(y * g).backward()
    (ty * torch.tensor(g)).sum().backward()
    for a, t in ((xs, tx), (ws, tw), (bs, tb)):
        assert a.grad.shape == tuple(t.shape)
        assert_close(a.grad, t.grad.numpy())
    assert F.linear(npg.zeros((0, 3)), npg.ones((0, 3))).shape == (0, 0)


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive integers"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [5, 3])
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [])
    m = nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\], but values in range \[0, 12\]"):
        m(npg.tensor(rnd(2, 4)), np.array([0, 12]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        m(npg.tensor(rnd(3, 4)), np.array([0, 1]))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        m(npg.tensor(rnd(2, 4)), np.zeros((2, 1), dtype=np.int64))
