"""Adversarial review of parameter initialization against PyTorch: ``npg.nn.init`` (values, distributions,
errors, return value, version counters, dtypes) and every layer's default initialization (``reset_parameters``).
Distributions are compared statistically on large tensors with fixed seeds: bounds exactly, mean and standard
deviation within 5 standard errors of PyTorch's (the oracle) or of the theoretical value."""
import math
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn

I, TI = nn.init, torch.nn.init


def _zeros(shape, dtype=np.float64):
    return nn.Parameter(npg.tensor(np.zeros(shape, dtype)))


def _close_moments(a, b, n_sigma=5.0):
    """The mean and std of samples ``a`` within ``n_sigma`` standard errors of those of ``b`` (both large)."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    sd = b.std()
    se_mean = sd * math.sqrt(1 / a.size + 1 / b.size)
    kurt = ((b - b.mean()) ** 4).mean() / b.var() ** 2
    se_std = sd * math.sqrt((kurt - 1) / 4 * (1 / a.size + 1 / b.size))
    assert abs(a.mean() - b.mean()) <= n_sigma * se_mean, (a.mean(), b.mean(), se_mean)
    assert abs(a.std() - b.std()) <= n_sigma * se_std, (a.std(), b.std(), se_std)


# ------------------------------------------------------------------------------------------ calculate_gain / fans
@pytest.mark.parametrize("nl", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
@pytest.mark.parametrize("param", [None, 0, 0.2, 3, np.float64(0.3)])
def test_calculate_gain_matches_torch(nl, param):
    assert I.calculate_gain(nl, param) == TI.calculate_gain(nl, param)


@pytest.mark.parametrize("nl,param", [("gelu", None), ("leaky_relu", True), ("leaky_relu", "0.1")])
def test_calculate_gain_errors_as_torch(nl, param):
    with pytest.raises(ValueError):
        TI.calculate_gain(nl, param)
    with pytest.raises(ValueError):
        I.calculate_gain(nl, param)


@pytest.mark.parametrize("shape", [(3, 4), (0, 4), (3, 0), (6, 4, 3, 2), (6, 0, 3), (2, 3, 0, 1)])
def test_fans_match_torch(shape):
    assert I._calculate_fan_in_and_fan_out(npg.zeros(*shape)) == TI._calculate_fan_in_and_fan_out(torch.zeros(shape))
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        assert I._calculate_correct_fan(npg.zeros(*shape), mode) == TI._calculate_correct_fan(torch.zeros(shape), mode)
    with pytest.raises(ValueError, match="Mode bad not supported"):
        I._calculate_correct_fan(npg.zeros(*shape), "bad")


@pytest.mark.parametrize("shape", [(), (5,), (0,)])
def test_fans_of_fewer_than_2_dims_raise_as_torch(shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        I._calculate_fan_in_and_fan_out(npg.zeros(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        I._calculate_correct_fan(npg.zeros(*shape), "fan_in")
    # the fan is computed before the gain, as PyTorch: a 1-D tensor is the error, not the nonlinearity
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        I.kaiming_normal_(npg.zeros(5), nonlinearity="gelu")


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_on_zero_element_tensor_warns_and_is_a_no_op(name):
    w = _zeros((0, 4))
    v = w._version
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        assert getattr(I, name)(w) is w
    assert w._version == v


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
                                  "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"])
def test_deprecated_aliases_warn_and_forward(name):
    shape = (4, 6, 3) if name == "dirac" else (6, 4)
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(name, ())
    w = _zeros(shape)
    with pytest.warns(FutureWarning, match=f"nn.init.{name}` is now deprecated in favor of `nn.init.{name}_"):
        assert getattr(I, name)(w, *args) is w
    assert np.any(w.data != 0)


# ------------------------------------------------------------------------------------------ distributions
_CASES = [("uniform_", (-0.3, 0.7), (400, 500)), ("normal_", (0.5, 2.0), (400, 500)),
          ("xavier_uniform_", (1.7,), (64, 32, 3, 3)), ("xavier_normal_", (0.5,), (64, 32, 3, 3)),
          ("kaiming_uniform_", (), (64, 32, 3, 3)), ("kaiming_uniform_", (math.sqrt(5),), (64, 32, 3, 3)),
          ("kaiming_uniform_", (0.1, "fan_out", "leaky_relu"), (64, 32, 3, 3)),
          ("kaiming_normal_", (0, "fan_out", "relu"), (64, 32, 3, 3)),
          ("kaiming_normal_", (0, "fan_in", "tanh"), (64, 32, 3, 3)),
          ("kaiming_uniform_", (0, "fan_in", "selu"), (640, 320)),
          ("trunc_normal_", (), (400, 500)), ("trunc_normal_", (1.0, 0.5, 0.0, 1.2), (400, 500)),
          ("trunc_normal_", (0.0, 1.0, 3.0, 5.0), (400, 500)), ("trunc_normal_", (0.0, 0.02, -0.04, 0.04), (400, 500)),
          ("sparse_", (0.3, 0.5), (1000, 200))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,args,shape", _CASES)
def test_distribution_matches_torch(name, args, shape, dtype):
    npg.random.seed(3)
    torch.manual_seed(3)
    w = _zeros(shape, dtype)
    t = torch.zeros(shape, dtype=torch.float32 if dtype == np.float32 else torch.float64)
    v = w._version
    assert getattr(I, name)(w, *args) is w
    getattr(TI, name)(t, *args)
    assert w.dtype == dtype and w.data.dtype == dtype and w._version > v and w.grad_fn is None
    a, b = w.data.astype(np.float64), t.numpy().astype(np.float64)
    _close_moments(a, b)
    if name.endswith("uniform_"):   # within PyTorch's bounds and close to them
        lo, hi = b.min(), b.max()
        span = hi - lo
        assert a.min() >= lo - 1e-3 * span and a.max() <= hi + 1e-3 * span
        assert a.min() <= lo + 1e-3 * span and a.max() >= hi - 1e-3 * span
    if name == "trunc_normal_":
        lo, hi = (args[2], args[3]) if args else (-2.0, 2.0)
        assert lo <= a.min() and a.max() <= hi
    if name == "sparse_":
        np.testing.assert_array_equal((w.data == 0).sum(0), (t.numpy() == 0).sum(0))


def test_generator_reproduces_and_foreign_generator_is_a_clear_error():
    draws = [I.kaiming_normal_(_zeros((5, 4)), generator=np.random.default_rng(7)).data for _ in range(2)]
    np.testing.assert_array_equal(*draws)
    with pytest.raises(TypeError, match=r"uniform_.*numpy\.random\.Generator"):
        I.uniform_(_zeros((3,)), generator=torch.Generator())


@pytest.mark.parametrize("shape,gain", [((30, 50), 2.0), ((50, 30), 0.5), ((8, 4, 3, 3), 1.5), ((6, 6), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal(shape, gain, dtype):
    w = _zeros(shape, dtype)
    assert I.orthogonal_(w, gain) is w and w.dtype == dtype
    m = w.data.reshape(shape[0], -1).astype(np.float64)
    g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(g, gain ** 2 * np.eye(len(g)), atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape,groups", [((4, 6, 3), 1), ((6, 3, 3, 3), 2), ((4, 2, 3, 2, 5), 2), ((8, 1, 3), 4)])
def test_exact_fills(shape, groups):
    w, t = _zeros(shape, np.float32), torch.zeros(shape)
    assert I.dirac_(w, groups) is w
    np.testing.assert_array_equal(w.data, TI.dirac_(t, groups).numpy())
    for rows, cols in [(3, 5), (5, 3), (4, 4)]:
        w = _zeros((rows, cols), np.float32)
        np.testing.assert_array_equal(I.eye_(w).data, TI.eye_(torch.zeros(rows, cols)).numpy())
        assert w.dtype == np.float32
    w = _zeros((3, 2), np.float32)
    assert I.constant_(w, 0.3) is w and w.dtype == np.float32
    np.testing.assert_array_equal(w.data, TI.constant_(torch.zeros(3, 2), 0.3).numpy())


def test_init_writes_through_a_view():
    """The common LSTM forget-gate idiom: ``constant_(bias[h:2h], 1)`` writes into the parameter."""
    lstm = nn.LSTM(3, 4)
    before = lstm.bias_ih_l0.data.copy()
    I.constant_(lstm.bias_ih_l0[4:8], 1.0)
    np.testing.assert_array_equal(lstm.bias_ih_l0.data[4:8], 1.0)
    np.testing.assert_array_equal(lstm.bias_ih_l0.data[:4], before[:4])


def test_constant_takes_a_0d_tensor_and_rejects_a_non_scalar():
    w = _zeros((3,))
    I.constant_(w, npg.tensor(2.0, requires_grad=True))    # PyTorch's fill_ takes a 0-d tensor
    np.testing.assert_array_equal(w.data, TI.constant_(torch.zeros(3), torch.tensor(2.0, requires_grad=True)).numpy())
    with pytest.raises(RuntimeError):
        TI.constant_(torch.zeros(3), torch.ones(3))
    for bad in (np.ones(3), np.ones(2), [1, 2]):
        with pytest.raises((TypeError, ValueError), match="constant_"):
            I.constant_(w, bad)
    np.testing.assert_array_equal(w.data, 2.0)


@pytest.mark.parametrize("name,args", [("uniform_", ()), ("normal_", ()), ("trunc_normal_", ()),
                                       ("xavier_uniform_", ()), ("kaiming_normal_", ()), ("orthogonal_", ()),
                                       ("sparse_", (0.5,))])
def test_random_fill_of_integer_tensor_is_an_error(name, args):
    with pytest.raises((NotImplementedError, RuntimeError)):
        getattr(TI, name)(torch.zeros(4, 3, dtype=torch.int64), *args)
    w = npg.tensor(np.zeros((4, 3), np.int64))
    with pytest.raises(TypeError, match=f"{name}.*int64"):
        getattr(I, name)(w, *args)
    np.testing.assert_array_equal(w.data, 0)


def test_exact_fills_of_integer_tensor_as_torch():
    for name, args, shape in [("eye_", (), (3, 4)), ("dirac_", (), (3, 4, 3)), ("ones_", (), (3, 4)),
                              ("constant_", (2,), (3, 4))]:
        w = npg.tensor(np.zeros(shape, np.int64))
        getattr(I, name)(w, *args)
        np.testing.assert_array_equal(w.data, getattr(TI, name)(torch.zeros(shape, dtype=torch.int64), *args).numpy())


def test_complex_fills_as_torch():
    """PyTorch draws the real and imaginary parts independently: uniform_ each in U(a, b), normal_ each from
    N(mean, std**2 / 2)."""
    npg.random.seed(0)
    torch.manual_seed(0)
    for name, args in [("uniform_", (-1.0, 3.0)), ("normal_", (1.0, 2.0)), ("xavier_normal_", ()),
                       ("kaiming_uniform_", ())]:
        w = npg.tensor(np.zeros((300, 400), np.complex128), requires_grad=False)
        t = getattr(TI, name)(torch.zeros(300, 400, dtype=torch.complex128), *args).numpy()
        getattr(I, name)(w, *args)
        assert w.dtype == np.complex128
        _close_moments(w.data.real, t.real)
        _close_moments(w.data.imag, t.imag)
    for name in ("trunc_normal_", "orthogonal_"):
        with pytest.raises(Exception):
            getattr(TI, name)(torch.zeros(3, 4, dtype=torch.complex128))
        with pytest.raises(TypeError, match=name):
            getattr(I, name)(npg.tensor(np.zeros((3, 4), np.complex128), requires_grad=False))


def test_non_tensor_is_a_clear_error():
    with pytest.raises(TypeError, match="normal_.*Tensor"):
        I.normal_(np.zeros(3))


def test_init_invalidates_a_graph_that_saved_the_tensor():
    p = nn.Parameter(npg.ones(3, 4))
    y = (p * p).sum()
    I.normal_(p)
    with pytest.raises(RuntimeError):
        y.backward()


# ------------------------------------------------------------------------------------------ layers
def _layer_cases():
    T = torch.nn
    return {
        "Linear": (lambda m: m.Linear(300, 200), None),
        "Linear_in0": (lambda m: m.Linear(0, 5), None),
        "Bilinear": (lambda m: m.Bilinear(30, 40, 50), None),
        "Conv1d_groups": (lambda m: m.Conv1d(16, 64, 5, groups=4), None),
        "Conv2d_groups": (lambda m: m.Conv2d(16, 64, 3, groups=2), None),
        "Conv3d": (lambda m: m.Conv3d(8, 32, 3), None),
        "ConvTranspose1d": (lambda m: m.ConvTranspose1d(64, 16, 5, groups=4), None),
        "ConvTranspose2d": (lambda m: m.ConvTranspose2d(64, 32, 3, groups=2), None),
        "ConvTranspose3d": (lambda m: m.ConvTranspose3d(32, 8, 3), None),
        "Embedding": (lambda m: m.Embedding(1000, 64, padding_idx=3), None),
        "EmbeddingBag": (lambda m: m.EmbeddingBag(1000, 64, padding_idx=-2), None),
        "BatchNorm2d": (lambda m: m.BatchNorm2d(50), None),
        "BatchNorm1d_nobias": (lambda m: m.BatchNorm1d(50, bias=False), None),
        "LayerNorm": (lambda m: m.LayerNorm((5, 6)), None),
        "LayerNorm_nobias": (lambda m: m.LayerNorm(6, bias=False), None),
        "GroupNorm": (lambda m: m.GroupNorm(2, 6), None),
        "InstanceNorm2d": (lambda m: m.InstanceNorm2d(6, affine=True, track_running_stats=True), None),
        "RMSNorm": (lambda m: m.RMSNorm((4, 5)), None),
        "RNN": (lambda m: m.RNN(30, 100, 2, bidirectional=True), None),
        "LSTM_proj": (lambda m: m.LSTM(30, 100, 2, proj_size=20), None),
        "GRU_nobias": (lambda m: m.GRU(30, 100, bias=False), None),
        "LSTMCell": (lambda m: m.LSTMCell(30, 100), None),
        "GRUCell": (lambda m: m.GRUCell(30, 100), None),
        "MHA_bias_kv": (lambda m: m.MultiheadAttention(128, 4, add_bias_kv=True), None),
        "MHA_kdim": (lambda m: m.MultiheadAttention(128, 4, kdim=64, vdim=32), None),
        "Transformer": (lambda m: m.Transformer(64, 4, 1, 1, 128), None),
        "PReLU": (lambda m: m.PReLU(10, init=0.1), None),
    }, T


@pytest.mark.parametrize("case", list(_layer_cases()[0]))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_default_init_matches_torch(case, dtype):
    build = _layer_cases()[0][case][0]
    npg.random.seed(11)
    torch.manual_seed(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prev = npg.get_default_dtype()
        npg.set_default_dtype(dtype)
        try:
            ours = build(nn)
        finally:
            npg.set_default_dtype(prev)
        prev_t = torch.get_default_dtype()
        torch.set_default_dtype(torch.float32 if dtype == np.float32 else torch.float64)
        try:
            theirs = build(torch.nn)
        finally:
            torch.set_default_dtype(prev_t)
    ps = dict(ours.named_parameters())
    pt = dict(theirs.named_parameters())
    assert list(ps) == list(pt)
    bs = {k: v for k, v in ours.named_buffers()}
    bt = {k: v for k, v in theirs.named_buffers()}
    assert sorted(bs) == sorted(bt)
    for k, b in bt.items():
        np.testing.assert_array_equal(bs[k].data, b.numpy())
    for k, t in pt.items():
        a, b = ps[k].data, t.detach().numpy()
        assert a.shape == b.shape and a.dtype == dtype, k
        if b.size == 0:
            continue
        if b.size and b.min() == b.max():      # constants (norm weights, zero biases, PReLU)
            np.testing.assert_array_equal(a, b)
            continue
        if b.size < 200:      # a few values: within PyTorch's bound (the bias of Conv/Linear is U(-1/sqrt(fan_in), ..))
            bound = np.abs(b).max()
            assert np.abs(a).max() <= 1.5 * bound + 1e-12, k
            continue
        _close_moments(a, b)
        if "Embedding" not in case:     # uniform: the same bound (the largest of n draws is within 15 / n of it)
            bound = max(np.abs(a).max(), np.abs(b).max())
            assert abs(np.abs(a).max() - np.abs(b).max()) <= 15 / a.size * bound, k
    if "Embedding" in case:
        np.testing.assert_array_equal(ours.weight.data[ours.padding_idx], 0)


@pytest.mark.parametrize("cls", ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"])
def test_instance_norm_reset_parameters_and_running_stats_as_torch(cls):
    ours = getattr(nn, cls)(3, affine=True, track_running_stats=True)
    theirs = getattr(torch.nn, cls)(3, affine=True, track_running_stats=True).double()
    nd = int(cls[-2])
    ours(npg.randn(2, 3, *[4] * nd) * 3 + 2)
    theirs(torch.randn(2, 3, *[4] * nd, dtype=torch.float64) * 3 + 2)
    ours.weight.data[...] = 5
    with torch.no_grad():
        theirs.weight.fill_(5)
    v = ours.running_mean._version
    ours.reset_parameters()
    theirs.reset_parameters()
    assert ours.running_mean._version > v
    for k, t in list(theirs.state_dict().items()):
        np.testing.assert_array_equal(ours.state_dict()[k].data if hasattr(ours.state_dict()[k], "data")
                                      else ours.state_dict()[k], t.numpy(), err_msg=k)
    ours(npg.randn(2, 3, *[4] * nd) + 1)
    ours.reset_running_stats()
    np.testing.assert_array_equal(ours.running_mean.data, 0)
    np.testing.assert_array_equal(ours.running_var.data, 1)
    assert int(ours.num_batches_tracked.data) == 0


def test_lazy_instance_norm_keeps_reset_parameters_after_materializing():
    m = nn.LazyInstanceNorm2d(affine=True, track_running_stats=True)
    m(npg.randn(2, 3, 4, 4) * 3 + 2)
    assert type(m) is nn.InstanceNorm2d
    m.reset_parameters()
    np.testing.assert_array_equal(m.running_mean.data, 0)
    np.testing.assert_array_equal(m.running_var.data, 1)
