"""npgrad.nn modules against their torch.nn counterparts: the PyTorch state_dict (converted with .numpy())
loads into the npgrad module, then outputs and gradients (input and every parameter) agree, in train and
eval mode; plus the Module machinery (registration, state_dict keys and checks, repr, modes, save/load)."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn

import npgrad as npg
import npgrad.nn as nn
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def rnd(*shape, dtype=np.float64, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def from_torch(module, tmodule):
    """Load a torch module's weights into an npgrad module the way a user would."""
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})
    return module


def check_module(module, tmodule, inputs, dtype, train=True, call=None, tcall=None, seed=1):
    """Same output and same gradients (inputs and parameters) for npgrad and torch modules."""
    from_torch(module, tmodule)
    module.train(train)
    tmodule.train(train)
    xs = [npg.tensor(a) if a.dtype.kind == "f" else a for a in inputs]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    out = (call or (lambda m, *a: m(*a)))(module, *xs)
    tout = (tcall or (lambda m, *a: m(*a)))(tmodule, *ts)
    assert_close(out, tout.detach().numpy(), what=f"{type(module).__name__} output")
    assert out.dtype == dtype
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    tparams = dict(tmodule.named_parameters())
    for name, p in module.named_parameters():
        assert p.dtype == dtype, name
        tg = tparams[name].grad
        assert_close(p.grad, tg.numpy() if tg is not None else np.zeros(p.shape), what=f"grad of {name}")
    for x, t in zip(xs, ts):
        if isinstance(x, npg.Tensor) and t.grad is not None:
            assert_close(x.grad, t.grad.numpy(), what="grad of input")
    for name, b in module.named_buffers():
        assert_close(b, dict(tmodule.named_buffers())[name].numpy(), what=f"buffer {name}")
    return out


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    npg.set_default_dtype(request.param)
    torch.set_default_dtype(TORCH_DTYPE[request.param])
    yield request.param
    npg.set_default_dtype(np.float64)
    torch.set_default_dtype(torch.float32)


# ---------------------------------------------------------------------------- layers
def test_linear(dtype):
    check_module(nn.Linear(5, 3), tnn.Linear(5, 3), [rnd(4, 5, dtype=dtype)], dtype)
    check_module(nn.Linear(5, 3, bias=False), tnn.Linear(5, 3, bias=False), [rnd(2, 4, 5, dtype=dtype)], dtype)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2),
                                dict(groups=2, bias=False)])
def test_conv1d_conv2d(kw, dtype):
    check_module(nn.Conv2d(4, 6, 3, **kw), tnn.Conv2d(4, 6, 3, **kw), [rnd(2, 4, 7, 6, dtype=dtype)], dtype)
    check_module(nn.Conv1d(4, 6, 3, **kw), tnn.Conv1d(4, 6, 3, **kw), [rnd(2, 4, 9, dtype=dtype)], dtype)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1), dict(groups=2, dilation=2)])
def test_conv_transpose2d(kw, dtype):
    check_module(nn.ConvTranspose2d(4, 6, 3, **kw), tnn.ConvTranspose2d(4, 6, 3, **kw),
                 [rnd(2, 4, 5, 4, dtype=dtype)], dtype)


def test_conv_transpose2d_output_size():
    x = rnd(1, 2, 5, 5)
    m, tm = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), tnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    torch.set_default_dtype(torch.float64)
    try:
        tm = tnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    finally:
        torch.set_default_dtype(torch.float32)
    check_module(m, tm, [x], np.float64, call=lambda m, x: m(x, output_size=(10, 10)),
                 tcall=lambda m, x: m(x, output_size=[10, 10]))


@pytest.mark.parametrize("make", [
    lambda n: n.MaxPool2d(2), lambda n: n.MaxPool2d(3, stride=2, padding=1), lambda n: n.AvgPool2d(2),
    lambda n: n.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), lambda n: n.AdaptiveAvgPool2d((2, 3)),
    lambda n: n.AdaptiveAvgPool2d(1), lambda n: n.Flatten(), lambda n: n.Flatten(0, 2), lambda n: n.ReLU(),
    lambda n: n.GELU(), lambda n: n.GELU(approximate="tanh"), lambda n: n.SiLU(), lambda n: n.Tanh(),
    lambda n: n.Sigmoid(), lambda n: n.Softmax(dim=1), lambda n: n.LogSoftmax(dim=-1), lambda n: n.Identity(),
    lambda n: n.Dropout(0.3), lambda n: n.LeakyReLU(0.2)])
def test_parameter_free_layers(make, dtype):
    check_module(make(nn), make(tnn), [rnd(2, 3, 6, 5, dtype=dtype, scale=2)], dtype, train=False)


def test_dropout_module_modes():
    npg.random.seed(0)
    m = nn.Dropout(0.5)
    x = npg.ones(100, 100)
    assert abs((m(x).data == 0).mean() - 0.5) < 0.03
    m.eval()
    assert m(x) is x


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False), dict(track_running_stats=False),
                                dict(momentum=0.3, eps=1e-3)])
def test_batch_norm(cls, shape, kw, dtype):
    m, tm = getattr(nn, cls)(3, **kw), getattr(tnn, cls)(3, **kw)
    if m.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-0.5, 0.5)
    for step in range(3):  # train steps update the running statistics identically
        check_module(m, tm, [rnd(*shape, dtype=dtype, seed=step, scale=2) + step], dtype, train=True)
        for p in m.parameters():
            p.grad = None
        tm.zero_grad()
    if kw.get("track_running_stats", True):
        assert int(m.num_batches_tracked.item()) == int(tm.num_batches_tracked) == 3
        assert m.state_dict()["num_batches_tracked"].dtype == np.int64
    check_module(m, tm, [rnd(*shape, dtype=dtype, seed=7)], dtype, train=False, seed=3)


def test_batch_norm_state_dict_keys_match_torch():
    for cls in ("BatchNorm1d", "BatchNorm2d"):
        assert list(getattr(nn, cls)(4).state_dict()) == list(getattr(tnn, cls)(4).state_dict())
    with pytest.raises(ValueError, match="expected 4D"):
        nn.BatchNorm2d(3)(npg.randn(2, 3))


@pytest.mark.parametrize("kw", [dict(), dict(elementwise_affine=False), dict(bias=False), dict(eps=1e-2)])
def test_layer_norm(kw, dtype):
    m, tm = nn.LayerNorm((4, 5), **kw), tnn.LayerNorm((4, 5), **kw)
    if m.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
    check_module(m, tm, [rnd(3, 4, 5, dtype=dtype, scale=3) + 1], dtype)


def test_group_norm(dtype):
    m, tm = nn.GroupNorm(2, 6), tnn.GroupNorm(2, 6)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    check_module(m, tm, [rnd(3, 6, 4, dtype=dtype, scale=2)], dtype)


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding(padding_idx, dtype):
    idx = np.array([[0, 1, 4], [1, 3, 4]])
    m, tm = nn.Embedding(5, 3, padding_idx=padding_idx), tnn.Embedding(5, 3, padding_idx=padding_idx)
    check_module(m, tm, [idx], dtype)
    fresh = nn.Embedding(5, 3, padding_idx=padding_idx)
    if padding_idx is not None:
        assert (fresh.weight.data[padding_idx] == 0).all()


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float", "key_padding", "3d"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_self(batch_first, mask, need_weights, dtype):
    E, H, L, N = 8, 2, 5, 3
    m, tm = nn.MultiheadAttention(E, H, batch_first=batch_first), tnn.MultiheadAttention(E, H, batch_first=batch_first)
    with torch.no_grad():
        tm.in_proj_bias.uniform_(-0.5, 0.5)
        tm.out_proj.bias.uniform_(-0.5, 0.5)
    x = rnd(N, L, E, dtype=dtype) if batch_first else rnd(L, N, E, dtype=dtype)
    kw = {}
    if mask == "causal":
        kw = dict(attn_mask=np.triu(np.ones((L, L), bool), 1), is_causal=True)
    elif mask == "bool":
        am = np.random.default_rng(2).random((L, L)) < 0.3
        np.fill_diagonal(am, False)
        kw = dict(attn_mask=am)
    elif mask == "float":
        kw = dict(attn_mask=rnd(L, L, dtype=dtype, seed=3))
    elif mask == "3d":
        kw = dict(attn_mask=rnd(N * H, L, L, dtype=dtype, seed=3))
    elif mask == "key_padding":
        kp = np.zeros((N, L), bool)
        kp[0, -2:] = True
        kw = dict(key_padding_mask=kp)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}

    def call(mod, x):
        out, w = mod(x, x, x, need_weights=need_weights, **kw)
        assert (w is None) == (not need_weights)
        return out

    def tcall(mod, x):
        return mod(x, x, x, need_weights=need_weights, **tkw)[0]
    check_module(m, tm, [x], dtype, call=call, tcall=tcall)
    if need_weights:
        w = m(npg.tensor(x), npg.tensor(x), npg.tensor(x), **kw)[1]
        tw = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), **tkw)[1]
        assert_close(w, tw.detach().numpy())


def test_multihead_attention_cross_and_causal_flag(dtype):
    E, H = 6, 3
    m, tm = nn.MultiheadAttention(E, H, batch_first=True), tnn.MultiheadAttention(E, H, batch_first=True)
    q, k, v = rnd(2, 4, E, dtype=dtype), rnd(2, 5, E, dtype=dtype, seed=1), rnd(2, 5, E, dtype=dtype, seed=2)
    check_module(m, tm, [q, k, v], dtype, call=lambda mod, q, k, v: mod(q, k, v)[0],
                 tcall=lambda mod, q, k, v: mod(q, k, v)[0])
    # is_causal without a mask builds the causal mask (PyTorch requires passing it too)
    x = rnd(2, 4, E, dtype=dtype)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=TORCH_DTYPE[dtype])
    check_module(m, tm, [x], dtype, call=lambda mod, x: mod(x, x, x, is_causal=True, need_weights=False)[0],
                 tcall=lambda mod, x: mod(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0])


def test_multihead_attention_state_dict_and_init():
    m, tm = nn.MultiheadAttention(8, 2), tnn.MultiheadAttention(8, 2)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert (m.in_proj_bias.data == 0).all() and (m.out_proj.bias.data == 0).all()
    bound = math.sqrt(6 / (8 + 24))
    assert np.abs(m.in_proj_weight.data).max() <= bound


# ------------------------------------------------------------------- initialization
@pytest.mark.parametrize("make,bounds", [
    (lambda n: n.Linear(50, 30), {"weight": 1 / math.sqrt(50), "bias": 1 / math.sqrt(50)}),
    (lambda n: n.Conv2d(4, 8, 3), {"weight": 1 / math.sqrt(36), "bias": 1 / math.sqrt(36)}),
    (lambda n: n.ConvTranspose2d(4, 8, 3), {"weight": 1 / math.sqrt(72), "bias": 1 / math.sqrt(72)}),
])
def test_default_init_matches_pytorch_distribution(make, bounds):
    npg.random.seed(0)
    m = make(nn)
    for name, p in m.named_parameters():
        assert p.dtype == npg.get_default_dtype()
        assert np.abs(p.data).max() <= bounds[name]
        if p.size >= 100:  # uniform over the whole range
            assert np.abs(p.data).max() > 0.9 * bounds[name]
            assert abs(p.data.std() - bounds[name] / math.sqrt(3)) < 0.15 * bounds[name]
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in make(tnn).named_parameters()]


def test_init_functions():
    npg.random.seed(0)
    w = npg.empty(200, 300)
    nn.init.xavier_uniform_(w)
    assert abs(w.data.std() - math.sqrt(2 / 500)) < 1e-3
    nn.init.xavier_normal_(w, gain=2)
    assert abs(w.data.std() - 2 * math.sqrt(2 / 500)) < 2e-3
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.data.std() - math.sqrt(2 / 300)) < 2e-3
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.data.max() - math.sqrt(6 / 200)) < 1e-3
    nn.init.zeros_(w)
    assert (w.data == 0).all()
    nn.init.ones_(w)
    assert (w.data == 1).all()
    nn.init.uniform_(w, -2, 3)
    assert w.data.min() >= -2 and w.data.max() <= 3
    nn.init.normal_(w, 1.0, 0.5)
    assert abs(w.data.mean() - 1) < 0.01
    assert nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == tnn.init.calculate_gain("leaky_relu", math.sqrt(5))
    npg.set_default_dtype(np.float32)
    try:
        assert nn.Linear(3, 2).weight.dtype == np.float32
    finally:
        npg.set_default_dtype(np.float64)


# ---------------------------------------------------------------- Module machinery
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.blocks = nn.ModuleList([nn.Linear(16, 16), nn.Linear(16, 16)])
        self.heads = nn.ModuleDict({"a": nn.Linear(16, 2), "b": nn.Linear(16, 3)})
        self.scale = nn.Parameter(npg.ones(1))
        self.register_buffer("steps", npg.zeros(1, requires_grad=False))
        self.register_buffer("cache", npg.zeros(2, requires_grad=False), persistent=False)
        self.act = nn.ReLU()

    def forward(self, x):
        h = self.act(self.bn(self.conv(x))).reshape(x.shape[0], -1)[:, :16]
        for b in self.blocks:
            h = self.act(b(h))
        return self.heads["a"](h) * self.scale


class TNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(1, 4, 3, padding=1)
        self.bn = tnn.BatchNorm2d(4)
        self.blocks = tnn.ModuleList([tnn.Linear(16, 16), tnn.Linear(16, 16)])
        self.heads = tnn.ModuleDict({"a": tnn.Linear(16, 2), "b": tnn.Linear(16, 3)})
        self.scale = tnn.Parameter(torch.ones(1))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.act = tnn.ReLU()


def test_module_registration_and_iteration_match_torch():
    m, tm = Net(), TNet()
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert [k for k, _ in m.named_buffers()] == [k for k, _ in tm.named_buffers()]
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [k for k, _ in m.named_modules()] == [k for k, _ in tm.named_modules()]
    assert [k for k, _ in m.named_children()] == [k for k, _ in tm.named_children()]
    assert len(list(m.children())) == len(list(tm.children()))
    assert sum(p.size for p in m.parameters()) == sum(p.numel() for p in tm.parameters())
    assert isinstance(m.scale, nn.Parameter) and isinstance(m.scale, npg.Tensor)
    assert m.get_submodule("blocks.1") is m.blocks[1]
    assert m.get_parameter("heads.b.bias") is m.heads["b"].bias
    with pytest.raises(TypeError):
        m.scale = npg.ones(1)
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2  # shared parameters appear once


def test_train_eval_zero_grad_requires_grad():
    m = Net()
    assert all(mod.training for mod in m.modules())
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert m.bn.training
    out = m(npg.randn(2, 1, 4, 4))
    out.sum().backward()
    assert all(p.grad is not None for p in m.blocks.parameters())
    m.zero_grad(set_to_none=False)
    assert all((p.grad == 0).all() for p in m.parameters() if p.grad is not None)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_repr_matches_torch():
    def make(n):
        return n.Sequential(n.Conv2d(1, 8, 3, padding=1), n.BatchNorm2d(8), n.ReLU(), n.MaxPool2d(2),
                            n.Conv2d(8, 16, 3, stride=2, bias=False), n.AvgPool2d(2), n.AdaptiveAvgPool2d(1),
                            n.Flatten(), n.Dropout(0.25), n.Linear(16, 10), n.LayerNorm(10), n.GELU(), n.Tanh(),
                            n.Sigmoid(), n.SiLU(), n.Softmax(dim=1), n.Embedding(10, 4),
                            n.Sequential(n.Linear(4, 4), n.ReLU()), n.GroupNorm(2, 4), n.BatchNorm1d(4))
    assert repr(make(nn)) == repr(make(tnn))
    assert repr(nn.Parameter(npg.ones(2))).startswith("Parameter containing:\ntensor(")


def test_load_state_dict_checks():
    m = nn.Linear(3, 2)
    sd = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    with pytest.raises(RuntimeError, match='Missing key.*"bias"'):
        m.load_state_dict({"weight": sd["weight"]})
    with pytest.raises(RuntimeError, match='Unexpected key.*"extra"'):
        m.load_state_dict(dict(sd, extra=np.zeros(1)))
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        m.load_state_dict(dict(sd, weight=np.zeros((3, 2))))
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict({"weight": np.zeros((2, 2))}, strict=False)
    res = m.load_state_dict({"weight": np.ones((2, 3))}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == []
    assert (m.weight.data == 1).all()
    w = m.weight
    m.load_state_dict(sd)
    assert m.weight is w and np.array_equal(w.data, sd["weight"])  # copied in place: optimizers keep working


def test_state_dict_round_trip_through_save_load(tmp_path):
    m = Net()
    m(npg.randn(3, 1, 4, 4))  # updates the running statistics
    path = tmp_path / "model.weights"
    npg.save(m.state_dict(), path)
    assert path.exists()  # written at exactly the given path
    loaded = npg.load(path)
    assert list(loaded) == list(m.state_dict())
    m2 = Net()
    m2.load_state_dict(loaded)
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert a.dtype == b.dtype and np.array_equal(a.data, b.data), k
    m.eval()
    m2.eval()
    x = npg.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(m(x).data, m2(x).data)


def test_torch_state_dict_loads_and_matches(tmp_path):
    torch.manual_seed(0)
    tm = TNet().double()
    tm.eval()
    m = Net().eval()
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = rnd(2, 1, 4, 4)
    tx = torch.tensor(x)
    th = tm.act(tm.bn(tm.conv(tx))).reshape(2, -1)[:, :16]
    for b in tm.blocks:
        th = tm.act(b(th))
    tout = tm.heads["a"](th) * tm.scale
    assert_close(m(npg.tensor(x)), tout.detach().numpy())
    # and back: npgrad weights into torch
    tm2 = TNet().double()
    tm2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    for (k, a), b in zip(tm.state_dict().items(), tm2.state_dict().values()):
        assert torch.equal(a, b), k


def test_deepcopy_and_dtype_conversion():
    m = Net()
    c = copy.deepcopy(m)
    assert c.conv.weight is not m.conv.weight and np.array_equal(c.conv.weight.data, m.conv.weight.data)
    assert isinstance(c.conv.weight, nn.Parameter)
    c.float()
    assert c.conv.weight.dtype == np.float32 and c.bn.num_batches_tracked.dtype == np.int64
    assert m.conv.weight.dtype == np.float64


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1:], nn.Sequential)
    assert len(seq[1:]) == 2
    seq.append(nn.Tanh())
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml.extend([nn.Linear(2, 2)])
    assert len(ml) == 3 and list(ml.state_dict())[-1] == "2.bias"
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.ReLU()
    assert "y" in md and list(md.keys()) == ["x", "y"]


def test_forward_hooks():
    m = nn.Linear(2, 2)
    seen = []
    h = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    m(npg.randn(3, 2))
    h.remove()
    m(npg.randn(3, 2))
    assert seen == [(3, 2)]


def test_clip_grad_norm_and_value_match_torch():
    for norm_type in (2.0, 1.0, math.inf):
        ps = [nn.Parameter(npg.tensor(rnd(3, 4, seed=1))), nn.Parameter(npg.tensor(rnd(5, seed=2)))]
        tps = [torch.tensor(p.data, requires_grad=True) for p in ps]
        for i, (p, tp) in enumerate(zip(ps, tps)):
            g = rnd(*p.shape, seed=10 + i, scale=3)
            p.grad = g.copy()
            tp.grad = torch.tensor(g)
        total = nn.utils.clip_grad_norm_(ps, 1.5, norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(tps, 1.5, norm_type)
        assert_close(total, ttotal.numpy())
        for p, tp in zip(ps, tps):
            assert_close(p.grad, tp.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_value_and_vector_conversions_match_torch(dtype):
    ps = [nn.Parameter(npg.tensor(rnd(*shape, seed=i, dtype=dtype))) for i, shape in enumerate([(3, 4), (5,), (2, 1, 3)])]
    tps = [torch.tensor(p.data, requires_grad=True) for p in ps]
    for i, (p, tp) in enumerate(zip(ps, tps)):
        if i == 1:
            continue  # a parameter without a gradient is left alone
        g = rnd(*p.shape, seed=10 + i, scale=0.2, dtype=dtype)  # values on both sides of the clip
        p.grad = g.copy()
        tp.grad = torch.tensor(g)
    nn.utils.clip_grad_value_(ps, 0.1)
    torch.nn.utils.clip_grad_value_(tps, 0.1)
    for p, tp in zip(ps, tps):
        assert (p.grad is None) == (tp.grad is None)
        if p.grad is not None:
            assert p.grad.dtype == dtype and 0 < np.mean(np.abs(p.grad) == 0.1) < 1  # some clipped, not all
            assert_close(p.grad, tp.grad.numpy())
    vec, tvec = nn.utils.parameters_to_vector(ps), torch.nn.utils.parameters_to_vector(tps)
    assert_close(vec, tvec.detach().numpy())
    new = rnd(vec.shape[0], seed=20, dtype=dtype)
    nn.utils.vector_to_parameters(npg.tensor(new), ps)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(torch.tensor(new), tps)
    for p, tp in zip(ps, tps):
        assert p.data.dtype == dtype
        assert_close(p, tp.detach().numpy())
    assert_close(nn.utils.parameters_to_vector(ps), new)


def test_training_reduces_loss_with_tolerance_helpers():
    # a sanity check that everything composes: a tiny MLP fits XOR
    npg.random.seed(0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = npg.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        loss = nn.functional.cross_entropy(model(npg.tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
