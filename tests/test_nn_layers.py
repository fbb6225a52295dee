"""Issue 14's layers against torch.nn: weights loaded from a PyTorch state dict, outputs and gradients
(inputs and parameters) and buffers in float32 and float64, unbatched and size-0 inputs where PyTorch allows
them, second derivatives of the new functional ops; containers, dropout variants (statistics and masks),
Embedding (max_norm, padding_idx, scale_grad_by_freq, sparse gradients and the optimizers), EmbeddingBag."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from npgrad.sparse import RowSparseGrad
from tests.helpers import assert_close
from tests.test_higher_order import higher_order
from tests.test_nn import check_module, dtype, rnd  # noqa: F401  (dtype is a fixture)


# ----------------------------------------------------------------------------- containers and shape
def test_identity_and_unflatten(dtype):
    check_module(nn.Identity(3, foo=1), tnn.Identity(3, foo=1), [rnd(2, 3, dtype=dtype)], dtype)
    for dim, size in [(1, (2, 3)), (-1, (3, 2)), (1, (-1, 2))]:
        check_module(nn.Unflatten(dim, size), tnn.Unflatten(dim, size), [rnd(4, 6, dtype=dtype)], dtype)
    check_module(nn.Unflatten(0, (2, 2)), tnn.Unflatten(0, (2, 2)), [rnd(4, 6, dtype=dtype)], dtype)


def test_parameter_list_and_dict():
    tl = tnn.ParameterList([tnn.Parameter(torch.randn(2, 3)), tnn.Parameter(torch.randn(4))])
    pl = nn.ParameterList([nn.Parameter(np.zeros((2, 3))), np.zeros(4)])
    assert list(pl.state_dict()) == list(tl.state_dict()) == ["0", "1"]
    pl.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    assert_close(pl[1], tl[1].detach().numpy())
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(npg.zeros(5))
    pl += [nn.Parameter(np.ones(1))]
    assert len(pl) == 4 and len(list(pl.parameters())) == 4 and pl[-1].shape == (1,)
    pl[0] = np.ones((2, 3))
    assert isinstance(pl[0], nn.Parameter)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterDict({"a": nn.Parameter(np.ones(2)), "b": np.zeros((2, 2))})

        def forward(self, x):
            return x @ self.ps["b"] + self.ps["a"]

    class TM(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ps = tnn.ParameterDict({"a": tnn.Parameter(torch.randn(2, dtype=torch.float64)),
                                         "b": tnn.Parameter(torch.randn(2, 2, dtype=torch.float64))})

        def forward(self, x):
            return x @ self.ps["b"] + self.ps["a"]
    m, tm = M(), TM()
    assert list(m.state_dict()) == list(tm.state_dict()) == ["ps.a", "ps.b"]
    check_module(m, tm, [rnd(3, 2)], np.float64)
    d = m.ps
    assert "a" in d and list(d.keys()) == ["a", "b"] and len(d) == 2
    d["c"] = npg.ones(3)
    assert isinstance(d["c"], nn.Parameter) and len(list(m.parameters())) == 3
    assert d.pop("c").shape == (3,) and "c" not in d
    d.update({"z": np.zeros(1)})
    assert list(d) == ["a", "b", "z"]


# ---------------------------------------------------------------------------------------- dropout
def test_channel_dropout_masks_and_grads():
    npg.random.seed(0)
    for f, shape in [(F.dropout1d, (8, 6, 5)), (F.dropout1d, (6, 5)), (F.dropout2d, (8, 6, 4, 3)),
                     (F.dropout3d, (4, 6, 2, 3, 2)), (F.dropout3d, (6, 2, 3, 2))]:
        x = npg.tensor(np.random.default_rng(0).random(shape) + 1)
        out = f(x, 0.4)
        lead = 1 if len(shape) in (2, 4) and f is not F.dropout2d else 2
        ratio = (out.data / x.data).reshape(shape[:lead] + (-1,))
        assert np.allclose(ratio, ratio[..., :1]), f"{f.__name__}: whole channels are kept or dropped"
        assert set(np.round(np.unique(ratio), 6)) <= {0.0, round(1 / 0.6, 6)}
        npg.sum(out).backward()
        assert_close(x.grad, out.data / x.data)
        assert f(x, 0.4, training=False) is x
        assert np.all(f(x, 1.0).data == 0) and f(x, 0.0) is x
    drop = [np.mean(F.dropout2d(npg.ones(50, 40, 2, 2), 0.3).data == 0) for _ in range(3)]
    assert abs(np.mean(drop) - 0.3) < 0.03
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(npg.ones(2, 3, 4), 0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        F.dropout3d(npg.ones(2, 3), 0.5)
    with pytest.raises(ValueError, match="dropout1d"):
        F.dropout1d(npg.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


def test_alpha_dropout():
    npg.random.seed(1)
    x = npg.tensor(np.random.default_rng(0).standard_normal((400, 500)))
    out = F.alpha_dropout(x, 0.2, training=True)
    assert abs(out.data.mean()) < 0.02 and abs(out.data.std() - 1) < 0.02  # SELU's fixed point is kept
    npg.sum(out).backward()
    a = 1.0 / np.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
    assert set(np.round(np.unique(x.grad), 8)) == {0.0, round(a, 8)}
    dropped = x.grad == 0
    assert_close(out.data[dropped], np.full(dropped.sum(), -1.7580993408473766 * a * 0.8))
    assert F.alpha_dropout(x, 0.2) is x  # training=False by default
    m = nn.AlphaDropout(0.2)
    m.eval()
    assert m(x) is x
    f = F.feature_alpha_dropout(npg.tensor(np.ones((6, 50, 3))), 0.5, training=True)
    assert np.all(f.data == f.data[:, :, :1])
    assert np.all(F.alpha_dropout(x, 1.0, training=True).data == 0)
    y = x * 1
    F.alpha_dropout(y, 0.5, training=True, inplace=True)
    assert not np.allclose(y.data, x.data)


def test_dropout_modules_inplace_and_eval():
    npg.random.seed(3)
    for m in [nn.Dropout1d(0.5, inplace=True), nn.Dropout2d(0.5, inplace=True), nn.Dropout3d(0.5, inplace=True)]:
        shape = {nn.Dropout1d: (3, 4, 5), nn.Dropout2d: (3, 4, 5, 2), nn.Dropout3d: (3, 4, 5, 2, 2)}[type(m)]
        a = npg.tensor(np.ones(shape))
        b = a * 1
        assert m(b) is b
        npg.sum(b * b).backward()
        assert_close(a.grad, 2 * b.data * (b.data / a.data))
        m.eval()
        assert m(a) is a
        assert repr(m) == repr(getattr(tnn, type(m).__name__)(0.5, inplace=True))


# ------------------------------------------------------------------------------------ normalization
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True), (False, True)])
def test_instance_norm(affine, track, dtype):
    for cls, shape in [("InstanceNorm1d", (3, 4, 7)), ("InstanceNorm2d", (2, 4, 3, 5)),
                       ("InstanceNorm3d", (2, 4, 3, 2, 3)), ("InstanceNorm1d", (4, 7)), ("InstanceNorm2d", (4, 3, 5))]:
        m = getattr(nn, cls)(4, affine=affine, track_running_stats=track, momentum=0.3)
        tm = getattr(tnn, cls)(4, affine=affine, track_running_stats=track, momentum=0.3)
        if affine:
            with torch.no_grad():
                tm.weight.uniform_(0.5, 1.5)
                tm.bias.uniform_(-1, 1)
        assert list(m.state_dict()) == list(tm.state_dict())
        check_module(m, tm, [rnd(*shape, dtype=dtype)], dtype)
        check_module(m, tm, [rnd(*shape, dtype=dtype, seed=2)], dtype, train=False)
    with pytest.raises(ValueError, match="InstanceNorm2d.*expected 3D or 4D"):
        nn.InstanceNorm2d(4)(npg.randn(2, 4))
    with pytest.warns(UserWarning, match="num_features"):
        nn.InstanceNorm1d(5)(npg.randn(2, 4, 3))


def test_rms_norm(dtype):
    for shape, ns, eps in [((3, 5), 5, None), ((2, 3, 4), (3, 4), 1e-3), ((0, 4), 4, None), ((4,), 4, 1e-6)]:
        check_module(nn.RMSNorm(ns, eps), tnn.RMSNorm(ns, eps), [rnd(*shape, dtype=dtype)], dtype)
    check_module(nn.RMSNorm(4, elementwise_affine=False), tnn.RMSNorm(4, elementwise_affine=False),
                 [rnd(3, 4, dtype=dtype)], dtype)
    tm = tnn.RMSNorm([3, 4])
    with torch.no_grad():
        tm.weight.uniform_(-2, 2)
    check_module(nn.RMSNorm([3, 4]), tm, [rnd(2, 3, 4, dtype=dtype)], dtype)


def test_local_response_norm(dtype):
    for size, shape in [(3, (2, 6, 5)), (4, (2, 7, 3, 3)), (2, (1, 5, 2, 3, 2)), (5, (2, 3, 4))]:
        check_module(nn.LocalResponseNorm(size, 1e-2, 0.6, 1.5), tnn.LocalResponseNorm(size, 1e-2, 0.6, 1.5),
                     [rnd(*shape, dtype=dtype, scale=3)], dtype)


def test_normalization_second_derivatives():
    x = rnd(2, 3, 5)
    higher_order(lambda a, w: F.rms_norm(a, (5,), w, 1e-3), lambda a, w: TF.rms_norm(a, (5,), w, 1e-3),
                 [x, rnd(5, seed=1)], what="rms_norm")
    higher_order(lambda a, w, b: F.instance_norm(a, weight=w, bias=b), lambda a, w, b: TF.instance_norm(a, weight=w, bias=b),
                 [x, rnd(3, seed=1), rnd(3, seed=2)], what="instance_norm")
    higher_order(lambda a: F.local_response_norm(a, 3, 0.1), lambda a: TF.local_response_norm(a, 3, 0.1), [x],
                 what="local_response_norm")


# ------------------------------------------------------------------------------------ conv and pooling
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(groups=2, bias=False, dilation=2)])
def test_conv3d_and_transposed(kw, dtype):
    check_module(nn.Conv3d(4, 6, 3, **kw), tnn.Conv3d(4, 6, 3, **kw), [rnd(2, 4, 6, 5, 7, dtype=dtype)], dtype)
    check_module(nn.Conv3d(4, 6, 3, **kw), tnn.Conv3d(4, 6, 3, **kw), [rnd(4, 5, 6, 5, dtype=dtype)], dtype)
    tkw = dict(kw, output_padding=1) if kw.get("stride") == 2 else kw
    check_module(nn.ConvTranspose1d(4, 6, 3, **tkw), tnn.ConvTranspose1d(4, 6, 3, **tkw), [rnd(2, 4, 7, dtype=dtype)],
                 dtype)
    check_module(nn.ConvTranspose3d(4, 6, 3, **tkw), tnn.ConvTranspose3d(4, 6, 3, **tkw),
                 [rnd(2, 4, 3, 4, 3, dtype=dtype)], dtype)


def test_conv_transpose_output_size(dtype):
    for cls, shape, size in [("ConvTranspose1d", (2, 4, 5), (10,)), ("ConvTranspose3d", (1, 4, 3, 3, 3), (6, 5, 6))]:
        m, tm = getattr(nn, cls)(4, 2, 3, stride=2, padding=1), getattr(tnn, cls)(4, 2, 3, stride=2, padding=1)
        check_module(m, tm, [rnd(*shape, dtype=dtype)], dtype, call=lambda mod, x: mod(x, output_size=size),
                     tcall=lambda mod, x: mod(x, output_size=size))


POOLS = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)), ("MaxPool1d", (2,), dict(), (3, 8)),
    ("MaxPool3d", (2,), dict(), (2, 3, 4, 4, 5)), ("MaxPool3d", (3,), dict(stride=2, padding=1, ceil_mode=True), (3, 5, 5, 6)),
    ("AvgPool3d", (2,), dict(), (2, 3, 4, 4, 5)), ("AvgPool3d", (3,), dict(stride=2, padding=1, count_include_pad=False), (3, 5, 5, 6)),
    ("AvgPool1d", (3,), dict(stride=1), (2, 3, 7)),
    ("AdaptiveAvgPool1d", (4,), dict(), (2, 3, 9)), ("AdaptiveAvgPool3d", ((2, 3, None),), dict(), (2, 3, 5, 7, 4)),
    ("AdaptiveMaxPool1d", (4,), dict(), (2, 3, 9)), ("AdaptiveMaxPool2d", ((3, 2),), dict(), (2, 3, 7, 5)),
    ("AdaptiveMaxPool3d", (2,), dict(), (3, 5, 7, 4)),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 9)), ("LPPool2d", (3.0, 2), dict(), (2, 3, 6, 4)),
    ("LPPool2d", (1.5, (2, 3)), dict(stride=1, ceil_mode=True), (2, 3, 6, 5)), ("LPPool3d", (2, 2), dict(), (1, 2, 4, 4, 4)),
]


@pytest.mark.parametrize("name,args,kw,shape", POOLS)
def test_pooling_modules(name, args, kw, shape, dtype):
    x = rnd(*shape, dtype=dtype)
    if name.startswith("LPPool"):
        x = np.abs(x) + 0.1  # torch's pow(1/p) has an infinite derivative at 0 (as npgrad's)
    check_module(getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw), [x], dtype)


def test_pool_return_indices():
    x = rnd(2, 3, 4, 4, 6)
    out, idx = nn.MaxPool3d(2, return_indices=True)(npg.tensor(x))
    tout, tidx = tnn.MaxPool3d(2, return_indices=True)(torch.tensor(x))
    assert_close(out, tout.numpy())
    assert np.array_equal(idx.data, tidx.numpy())
    out, idx = nn.AdaptiveMaxPool1d(3, return_indices=True)(npg.tensor(x[0, 0]))
    tout, tidx = tnn.AdaptiveMaxPool1d(3, return_indices=True)(torch.tensor(x[0, 0]))
    assert np.array_equal(idx.data, tidx.numpy())
    higher_order(lambda a: F.lp_pool2d(a, 2, 2), lambda a: TF.lp_pool2d(a, 2, 2), [np.abs(rnd(1, 2, 4, 4)) + 0.5],
                 what="lp_pool2d")


# ---------------------------------------------------------------------------------------- bilinear
def test_bilinear(dtype):
    check_module(nn.Bilinear(3, 4, 5), tnn.Bilinear(3, 4, 5), [rnd(6, 3, dtype=dtype), rnd(6, 4, dtype=dtype, seed=1)],
                 dtype)
    check_module(nn.Bilinear(3, 4, 2, bias=False), tnn.Bilinear(3, 4, 2, bias=False),
                 [rnd(2, 5, 3, dtype=dtype), rnd(2, 5, 4, dtype=dtype, seed=1)], dtype)
    check_module(nn.Bilinear(3, 4, 2), tnn.Bilinear(3, 4, 2), [rnd(3, dtype=dtype), rnd(4, dtype=dtype, seed=1)], dtype)
    check_module(nn.Bilinear(3, 4, 2), tnn.Bilinear(3, 4, 2), [rnd(0, 3, dtype=dtype), rnd(0, 4, dtype=dtype)], dtype)
    higher_order(F.bilinear, TF.bilinear, [rnd(4, 3), rnd(4, 2, seed=1), rnd(5, 3, 2, seed=2), rnd(5, seed=3)],
                 what="bilinear")
    with pytest.raises(ValueError, match="bilinear"):
        F.bilinear(npg.randn(2, 3), npg.randn(3, 4), npg.randn(5, 3, 4))


# --------------------------------------------------------------------------------------- embedding
def _emb_pair(dtype, **kw):
    tm = tnn.Embedding(10, 4, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    m = nn.Embedding(10, 4, dtype=dtype, **kw)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return m, tm


IDX = np.array([[1, 3, 3, 0], [9, 1, 2, 3]])


@pytest.mark.parametrize("kw", [dict(padding_idx=3), dict(padding_idx=-1), dict(scale_grad_by_freq=True),
                                dict(max_norm=1.5), dict(max_norm=0.8, norm_type=1.0, padding_idx=1)])
def test_embedding_options(kw, dtype):
    m, tm = _emb_pair(dtype, **kw)
    for idx in [IDX, IDX[0], np.zeros((0, 3), np.int64), np.array(4)]:
        out, tout = m(idx), tm(torch.tensor(idx))
        assert_close(out, tout.detach().numpy())
        w = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
        m.weight.grad = None
        tm.weight.grad = None
        npg.sum(out * w).backward()
        (tout * torch.tensor(w)).sum().backward()
        assert_close(m.weight.grad, tm.weight.grad.numpy())
        assert_close(m.weight, tm.weight.detach().numpy(), what="weight after renorm")


def test_embedding_max_norm_counts_as_a_write():
    m = nn.Embedding(5, 3, max_norm=0.1)
    v0 = m.weight._version
    h = m(np.array([1, 2]))
    assert m.weight._version > v0
    assert np.all(np.linalg.norm(m.weight.data[[1, 2]], axis=1) <= 0.1 + 1e-6)
    npg.sum(h).backward()
    assert m.weight.grad.shape == (5, 3)


def test_embedding_sparse_grad(dtype):
    m, tm = _emb_pair(dtype, sparse=True, padding_idx=0)
    out = m(IDX)
    tout = tm(torch.tensor(IDX))
    w = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    g = m.weight.grad
    assert isinstance(g, RowSparseGrad) and g.is_sparse and g.dtype == dtype and g.shape == (10, 4)
    assert tm.weight.grad.is_sparse
    assert_close(g.to_dense(), tm.weight.grad.to_dense().numpy())
    assert 0 not in g.indices  # the padding row is left out, as PyTorch
    # a second backward accumulates: still sparse, and equal to the sum
    npg.sum(m(IDX[:1]) * w[:1]).backward()
    (tm(torch.tensor(IDX[:1])) * torch.tensor(w[:1])).sum().backward()
    assert isinstance(m.weight.grad, RowSparseGrad)
    assert_close(m.weight.grad.to_dense(), tm.weight.grad.to_dense().numpy())
    c = m.weight.grad.coalesce()
    assert np.array_equal(c.indices, np.unique(c.indices))
    assert_close(c.to_dense(), m.weight.grad.to_dense())
    assert_close(np.asarray(m.weight.grad) + 1, m.weight.grad.to_dense() + 1)
    # create_graph: dense and differentiable
    x = npg.tensor(m.weight.data.copy())
    (gw,) = npg.autograd.grad(npg.sum(F.embedding(IDX, x, sparse=True) ** 2), x, create_graph=True)
    assert isinstance(gw, npg.Tensor) and gw.requires_grad


def _train(make_opt, tmake_opt, dtype, steps=5, **opt_kw):
    """npgrad's optimizer on sparse gradients against torch's on torch's sparse gradients."""
    m, tm = _emb_pair(dtype, sparse=True)
    opt, topt = make_opt([m.weight], **opt_kw), tmake_opt([tm.weight], **opt_kw)
    rng = np.random.default_rng(0)
    for step in range(steps):
        idx = rng.integers(0, 10, (3, 4))
        w = rng.standard_normal((3, 4, 4)).astype(dtype)
        opt.zero_grad()
        topt.zero_grad()
        npg.sum(m(idx) * w).backward()
        (tm(torch.tensor(idx)) * torch.tensor(w)).sum().backward()
        assert isinstance(m.weight.grad, RowSparseGrad)
        opt.step()
        topt.step()
        assert_close(m.weight, tm.weight.detach().numpy(), what=f"{make_opt.__name__} step {step}")


@pytest.mark.parametrize("opt,kw", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, maximize=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adagrad", dict(lr=0.3)), ("Adagrad", dict(lr=0.3, lr_decay=0.1, initial_accumulator_value=0.5)),
    ("Adam", dict(lr=0.05)), ("AdamW", dict(lr=0.05, weight_decay=0.1)), ("RMSprop", dict(lr=0.01, momentum=0.5)),
    ("SGD", dict(lr=0.1, weight_decay=0.01)), ("Adagrad", dict(lr=0.3, weight_decay=0.1)),
])
@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
def test_sparse_grads_in_optimizers(opt, kw, dtype):
    """SGD and Adagrad against torch's own sparse updates; where torch refuses sparse gradients (Adam, AdamW,
    RMSprop; weight decay in SGD and Adagrad) npgrad densifies: checked against torch's dense model."""
    m_opt, t_opt = getattr(npg.optim, opt), getattr(torch.optim, opt)
    if opt in ("SGD", "Adagrad") and not kw.get("weight_decay"):
        _train(m_opt, t_opt, dtype, **kw)
    else:
        _train_dense_ref(m_opt, t_opt, dtype, **kw)


def _train_dense_ref(make_opt, tmake_opt, dtype, steps=5, **opt_kw):
    m, tm = _emb_pair(dtype, sparse=True)
    ref = tnn.Embedding(10, 4).to(tm.weight.dtype)
    ref.load_state_dict(tm.state_dict())
    opt, topt = make_opt([m.weight], **opt_kw), tmake_opt([ref.weight], **opt_kw)
    rng = np.random.default_rng(0)
    for step in range(steps):
        idx = rng.integers(0, 10, (3, 4))
        w = rng.standard_normal((3, 4, 4)).astype(dtype)
        opt.zero_grad()
        topt.zero_grad()
        npg.sum(m(idx) * w).backward()
        (ref(torch.tensor(idx)) * torch.tensor(w)).sum().backward()
        opt.step()
        topt.step()
        assert_close(m.weight, ref.weight.detach().numpy(), what=f"dense-math {make_opt.__name__} step {step}")


# ----------------------------------------------------------------------------------- embedding bag
BAGS = [
    dict(input=np.array([1, 2, 4, 5, 4, 3, 2, 9]), offsets=np.array([0, 4])),
    dict(input=np.array([1, 2, 4, 5, 4, 3, 2, 9]), offsets=np.array([0, 3, 3, 6])),          # an empty bag
    dict(input=np.array([1, 2, 4, 5, 4, 3, 2, 9]), offsets=np.array([0, 2, 5, 8]), include_last_offset=True),
    dict(input=np.array([[1, 2, 4], [4, 3, 9], [0, 0, 1]])),
    dict(input=np.array([1, 2, 2, 5, 2, 3, 2, 9]), offsets=np.array([0, 4, 5]), padding_idx=2),
    dict(input=np.array([[2, 2, 2], [4, 3, 9]]), padding_idx=2),                               # a bag of padding
    dict(input=np.array([1, 2, 4, 5, 4, 3, 2, 9]), offsets=np.array([0, 4]), max_norm=1.0),
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", range(len(BAGS)))
def test_embedding_bag(case, mode, dtype):
    kw = dict(BAGS[case])
    inp, off = kw.pop("input"), kw.pop("offsets", None)
    tm = tnn.EmbeddingBag(10, 3, mode=mode, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    m = nn.EmbeddingBag(10, 3, mode=mode, dtype=dtype, **kw)
    targs = (torch.tensor(inp),) + (() if off is None else (torch.tensor(off),))
    args = (inp,) + (() if off is None else (off,))
    check_module(m, tm, [], dtype, call=lambda mod: mod(*args), tcall=lambda mod: mod(*targs))
    assert_close(m.weight, tm.weight.detach().numpy())


def test_embedding_bag_per_sample_weights_and_sparse(dtype):
    inp, off = np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 3, 3, 6])
    psw = np.random.default_rng(0).random(8).astype(dtype)
    tm = tnn.EmbeddingBag(10, 3, mode="sum", sparse=True).to(torch.float64 if dtype == np.float64 else torch.float32)
    m = nn.EmbeddingBag(10, 3, mode="sum", sparse=True, dtype=dtype)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    p, tp = npg.tensor(psw), torch.tensor(psw, requires_grad=True)
    out, tout = m(inp, off, p), tm(torch.tensor(inp), torch.tensor(off), tp)
    assert_close(out, tout.detach().numpy())
    w = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    assert isinstance(m.weight.grad, RowSparseGrad)
    assert_close(m.weight.grad.to_dense(), tm.weight.grad.to_dense().numpy())
    assert_close(p.grad, tp.grad.numpy())
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(inp, m.weight, off, mode="mean", per_sample_weights=psw)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(inp.reshape(2, 4), m.weight, off)


def test_embedding_bag_second_derivative():
    inp, off = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2])
    # torch: "the derivative for '_embedding_bag_backward' is not implemented": against finite differences
    from tests.test_losses_more import second_order_fd
    for mode in ["sum", "mean", "max"]:
        second_order_fd(lambda w: F.embedding_bag(inp, w, off, mode=mode) ** 2, [rnd(6, 3)], f"embedding_bag {mode}")
    second_order_fd(lambda w, p: F.embedding_bag(inp, w, off, mode="sum", per_sample_weights=p) ** 2,
                    [rnd(6, 3), rnd(6, seed=1)], "embedding_bag per_sample_weights")


def test_new_modules_exported():
    names = ["Identity", "Unflatten", "ParameterList", "ParameterDict", "Dropout1d", "Dropout2d", "Dropout3d",
             "AlphaDropout", "FeatureAlphaDropout", "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
             "LocalResponseNorm", "BatchNorm3d", "Conv3d", "ConvTranspose1d", "ConvTranspose3d", "MaxPool1d",
             "MaxPool3d", "AvgPool1d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
             "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d", "EmbeddingBag", "Bilinear",
             "CosineSimilarity", "PairwiseDistance"]
    missing = [n for n in names if not hasattr(nn, n)]
    assert not missing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "embedding_bag",
                  "rms_norm", "instance_norm", "local_response_norm", "lp_pool1d", "lp_pool2d", "lp_pool3d", "bilinear"]:
            assert callable(getattr(F, n))


@pytest.mark.parametrize("name,args,shape", [
    ("Conv3d", (2, 3, 2), (0, 2, 4, 4, 4)), ("ConvTranspose1d", (2, 3, 2), (0, 2, 5)),
    ("ConvTranspose3d", (2, 3, 2), (0, 2, 3, 3, 3)), ("MaxPool3d", (2,), (0, 2, 4, 4, 4)),
    ("AvgPool3d", (2,), (0, 2, 4, 4, 4)), ("AdaptiveAvgPool1d", (3,), (0, 2, 7)), ("AdaptiveMaxPool2d", (3,), (0, 2, 7, 7)),
    ("LPPool2d", (2, 2), (0, 2, 4, 4)), ("InstanceNorm1d", (2,), (0, 2, 5)), ("LocalResponseNorm", (2,), (0, 3, 4)),
    ("RMSNorm", (4,), (0, 4)), ("Bilinear", (3, 3, 2), (0, 3)), ("EmbeddingBag", (5, 3), None)])
def test_size_zero_batches(name, args, shape, dtype):
    if name == "EmbeddingBag":
        check_module(nn.EmbeddingBag(*args, mode="sum"), tnn.EmbeddingBag(*args, mode="sum"), [], dtype,
                     call=lambda m: m(np.zeros((0, 4), np.int64)), tcall=lambda m: m(torch.zeros((0, 4), dtype=torch.long)))
        return
    x = rnd(*shape, dtype=dtype)
    if name == "Bilinear":
        check_module(nn.Bilinear(*args), tnn.Bilinear(*args), [x, x], dtype)
        return
    check_module(getattr(nn, name)(*args), getattr(tnn, name)(*args), [x], dtype)
