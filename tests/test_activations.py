"""Issue 14's activations (module and functional) against PyTorch: values and gradients in float32 and
float64 (inputs placed on and around each kink), unbatched and size-0 inputs, second derivatives
(torch.autograd.grad with create_graph=True), in-place variants, PReLU from a state dict."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close, compare_with_torch
from tests.test_higher_order import higher_order

DTYPES = [np.float32, np.float64]


def sample(shape, dtype, seed=0, kinks=()):
    """Normal samples scaled by 3, with the kink points (and a few large values) written in."""
    a = np.random.default_rng(seed).standard_normal(shape) * 3
    flat = a.reshape(-1)
    special = list(kinks) + [0.0, 30.0, -30.0, 100.0, -100.0]
    flat[:len(special)] = special[:flat.size]
    return a.astype(dtype)


# (name, npgrad functional, torch functional, kinks)
CASES = [
    ("elu", lambda x: F.elu(x), lambda x: TF.elu(x), ()),
    ("elu_alpha", lambda x: F.elu(x, 0.3), lambda x: TF.elu(x, 0.3), ()),
    ("selu", F.selu, TF.selu, ()),
    ("celu", lambda x: F.celu(x, 1.7), lambda x: TF.celu(x, 1.7), ()),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), ()),
    ("hardtanh", F.hardtanh, TF.hardtanh, (-1.0, 1.0)),
    ("hardtanh_args", lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: TF.hardtanh(x, -2.0, 0.5), (-2.0, 0.5)),
    ("relu6", F.relu6, TF.relu6, (6.0,)),
    ("hardswish", F.hardswish, TF.hardswish, (-3.0, 3.0)),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, (-3.0, 3.0)),
    ("softshrink", F.softshrink, TF.softshrink, (0.5, -0.5)),
    ("softshrink_l", lambda x: F.softshrink(x, 1.5), lambda x: TF.softshrink(x, 1.5), (1.5, -1.5)),
    ("hardshrink", F.hardshrink, TF.hardshrink, (0.5, -0.5)),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink, ()),
    ("threshold", lambda x: F.threshold(x, 0.7, -2.0), lambda x: TF.threshold(x, 0.7, -2.0), (0.7,)),
    ("softsign", F.softsign, TF.softsign, ()),
    ("mish", F.mish, TF.mish, ()),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, ()),
    ("softplus", lambda x: F.softplus(x, 2.0, 10.0), lambda x: TF.softplus(x, 2.0, 10.0), (5.0,)),
    ("rrelu_eval", F.rrelu, TF.rrelu, ()),
    ("softmin", lambda x: F.softmin(x, dim=-1), lambda x: TF.softmin(x, dim=-1), ()),
    ("softmin0", lambda x: F.softmin(x, dim=0), lambda x: TF.softmin(x, dim=0), ()),
    ("glu", F.glu, TF.glu, ()),
    ("glu0", lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0), ()),
    ("silu", F.silu, TF.silu, ()),
    ("gelu", F.gelu, TF.gelu, ()),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name,f,tf,kinks", CASES, ids=IDS)
def test_values_and_grads(name, f, tf, kinks, dtype):
    compare_with_torch(f, tf, [sample((6, 8), dtype, kinks=kinks)], what=name)
    compare_with_torch(f, tf, [sample((4, 2, 6), dtype, seed=1, kinks=kinks)], what=name + " 3-D")


@pytest.mark.parametrize("name,f,tf,kinks", CASES, ids=IDS)
def test_unbatched_and_empty(name, f, tf, kinks):
    compare_with_torch(f, tf, [sample((6,), np.float64, kinks=kinks)], what=name + " 1-D")
    if not name.startswith("glu0") and not name.startswith("softmin0"):
        compare_with_torch(f, tf, [np.zeros((0, 6))], what=name + " size 0")


@pytest.mark.parametrize("name,f,tf,kinks", CASES, ids=IDS)
def test_second_derivative(name, f, tf, kinks):
    if name == "hardsigmoid":  # torch: "derivative for aten::hardsigmoid_backward is not implemented"; it is 0
        x = npg.tensor(np.random.default_rng(3).standard_normal((4, 6)))
        (g,) = npg.autograd.grad(npg.sum(f(x) * x), x, create_graph=True)
        (h,) = npg.autograd.grad(npg.sum(g), x)
        assert_close(h, 2 * np.where(np.abs(x.data) < 3, 1 / 6, 0))
        return
    # away from the kinks, where second derivatives are defined
    x = np.random.default_rng(3).standard_normal((4, 6)) * 2
    higher_order(f, tf, [x], order=3 if name in ("elu", "selu", "mish", "logsigmoid", "glu") else 2, what=name)


MODULES = [
    (lambda: nn.ELU(0.5), lambda: tnn.ELU(0.5)), (nn.SELU, tnn.SELU), (lambda: nn.CELU(2.0), lambda: tnn.CELU(2.0)),
    (nn.Hardtanh, tnn.Hardtanh), (nn.ReLU6, tnn.ReLU6), (nn.Hardswish, tnn.Hardswish),
    (nn.Hardsigmoid, tnn.Hardsigmoid), (nn.Mish, tnn.Mish), (lambda: nn.Threshold(0.1, 20), lambda: tnn.Threshold(0.1, 20)),
    (nn.Softshrink, tnn.Softshrink), (nn.Hardshrink, tnn.Hardshrink), (nn.Tanhshrink, tnn.Tanhshrink),
    (nn.Softsign, tnn.Softsign), (nn.LogSigmoid, tnn.LogSigmoid), (lambda: nn.Softmin(1), lambda: tnn.Softmin(1)),
    (nn.Softmax2d, tnn.Softmax2d), (nn.GLU, tnn.GLU), (lambda: nn.GLU(1), lambda: tnn.GLU(1)),
    (lambda: nn.LeakyReLU(0.3), lambda: tnn.LeakyReLU(0.3)),
]


@pytest.mark.parametrize("make,tmake", MODULES)
def test_modules(make, tmake):
    m, tm = make(), tmake()
    assert type(m).__name__ == type(tm).__name__
    for dtype in DTYPES:
        x = sample((2, 4, 3, 2), dtype, seed=5)
        compare_with_torch(lambda t: m(t), lambda t: tm(t), [x], what=type(m).__name__)
    assert repr(m) == repr(tm)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("n", [1, 4])
def test_prelu_from_state_dict(n, dtype):
    tm = tnn.PReLU(n, init=0.1).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        tm.weight.uniform_(-0.5, 0.5)
    m = nn.PReLU(n, init=0.1, dtype=dtype)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    for shape in [(3, 4, 5), (2, 4), (0, 4, 2)] + ([(4,), ()] if n == 1 else []):
        x = sample(shape, dtype, seed=len(shape))
        out = m(npg.tensor(x))
        tx = torch.tensor(x, requires_grad=True)
        tout = tm(tx)
        assert_close(out, tout.detach().numpy())
        w = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
        m.weight.grad = None
        npg.sum(out * w).backward()
        tm.weight.grad = None
        (tout * torch.tensor(w)).sum().backward()
        assert_close(m.weight.grad, tm.weight.grad.numpy(), what=f"PReLU weight grad {shape}")
    higher_order(lambda x, w: F.prelu(x, w), TF.prelu,
                 [np.random.default_rng(0).standard_normal((3, 4, 2)), np.array([0.1, -0.2, 0.3, 0.5])], what="prelu")


def test_prelu_errors():
    with pytest.raises(ValueError, match="prelu.*channel"):
        F.prelu(npg.randn(2, 3), npg.randn(4))


def test_rrelu_training():
    npg.random.seed(0)
    x = npg.tensor(sample((50, 40), np.float64))
    out = F.rrelu(x, 0.1, 0.3, training=True)
    npg.sum(out).backward()
    neg = x.data <= 0
    slope = out.data[x.data < 0] / x.data[x.data < 0]
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and slope.std() > 0.03
    assert_close(x.grad[x.data < 0], slope)
    assert x.grad[neg].min() >= 0.1
    assert np.all(x.grad[~neg] == 1)
    m = nn.RReLU(0.1, 0.3)
    m.eval()
    assert_close(m(x), TF.rrelu(torch.tensor(x.data), 0.1, 0.3, training=False).numpy())


def test_inplace_variants():
    for name, kw in [("elu", {}), ("selu", {}), ("celu", {}), ("hardtanh", {}), ("relu6", {}), ("hardswish", {}),
                     ("hardsigmoid", {}), ("mish", {}), ("leaky_relu", {})]:
        xd = sample((3, 5), np.float64, kinks=(1.0, -3.0))
        a = npg.tensor(xd)
        b = a * 2
        r = getattr(F, name)(b, inplace=True, **kw)
        assert r is b
        npg.sum(b * b).backward()
        ta = torch.tensor(xd, requires_grad=True)
        tb = ta * 2
        getattr(TF, name)(tb, inplace=True)
        (tb * tb).sum().backward()
        assert_close(b, tb.detach().numpy(), what=name)
        assert_close(a.grad, ta.grad.numpy(), what=name)
    x = npg.tensor(sample((3, 5), np.float64)) * 1
    F.threshold_(x, 0.5, 9.0)
    assert np.all((x.data > 0.5) | (x.data == 9.0))
    m = nn.ReLU6(inplace=True)
    y = npg.tensor([-1.0, 7.0, 2.0], requires_grad=False)
    assert m(y) is y and y.tolist() == [0.0, 6.0, 2.0]


def test_softmax2d_and_glu_errors():
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(npg.randn(3, 4))
    with pytest.raises(ValueError, match="glu.*even"):
        F.glu(npg.randn(3, 5))
    with pytest.raises(ValueError, match="hardtanh"):
        F.hardtanh(npg.randn(3), 2.0, 1.0)


def test_gumbel_softmax():
    npg.random.seed(1)
    logits = npg.tensor(np.log(np.array([[0.1, 0.6, 0.3]] * 4000)))
    y = F.gumbel_softmax(logits, tau=0.5)
    assert_close(y.data.sum(-1), np.ones(4000))
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert set(np.unique(hard.data)) == {0.0, 1.0} and np.all(hard.data.sum(-1) == 1)
    freq = hard.data.mean(0)  # a sample of the categorical distribution
    assert np.allclose(freq, [0.1, 0.6, 0.3], atol=0.03)
    # straight-through: the hard sample's gradient is the soft sample's, for the same noise
    npg.random.seed(2)
    x = npg.tensor(np.random.default_rng(0).standard_normal((3, 5)))
    w = np.random.default_rng(1).standard_normal((3, 5))
    npg.sum(F.gumbel_softmax(x, tau=0.7, hard=True) * w).backward()
    g_hard = x.grad
    x.grad = None
    npg.random.seed(2)
    npg.sum(F.gumbel_softmax(x, tau=0.7) * w).backward()
    assert_close(g_hard, x.grad)


# ------------------------------------------------ inplace=True was accepted and ignored by F.silu/nn.SiLU and
# F.dropout/nn.Dropout (the input kept its values: code that relies on PyTorch's in-place write got none)
@pytest.mark.parametrize("make", ["functional", "module"])
def test_silu_inplace_writes_into_the_input_like_torch(make):
    a0 = np.random.default_rng(0).standard_normal((4, 5))
    fn = (lambda lib, x: (F if lib is npg else TF).silu(x, inplace=True)) if make == "functional" else \
        (lambda lib, x: (nn if lib is npg else tnn).SiLU(inplace=True)(x))
    a, ta = npg.tensor(a0), torch.tensor(a0, requires_grad=True)
    x, tx = a * 1.0, ta * 1.0
    y, ty = fn(npg, x), fn(torch, tx)
    assert (y is x) and (ty is tx)
    assert_close(x.data, tx.detach().numpy())
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    assert_close(a.grad, ta.grad.numpy())
    assert repr(nn.SiLU(inplace=True)) == repr(tnn.SiLU(inplace=True))


def test_silu_inplace_on_a_leaf_requiring_grad_raises_like_torch():
    with pytest.raises(RuntimeError, match="leaf"):
        TF.silu(torch.ones(3, requires_grad=True), inplace=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.silu(npg.ones(3, requires_grad=True), inplace=True)


@pytest.mark.parametrize("make", ["functional", "module"])
def test_dropout_inplace_writes_into_the_input(make):
    a0 = np.random.default_rng(1).uniform(1, 2, (50, 40))
    a = npg.tensor(a0)
    x = a * 1.0
    y = F.dropout(x, 0.3, True, inplace=True) if make == "functional" else nn.Dropout(0.3, inplace=True)(x)
    assert y is x                                   # torch: the same tensor, its memory written
    kept = x.data != 0
    assert 0.6 < kept.mean() < 0.8
    assert_close(x.data[kept], a0[kept] / 0.7)
    (y * 2).sum().backward()
    assert_close(a.grad, 2 * kept / 0.7)
    t = torch.ones(50, 40) * 1.0
    assert TF.dropout(t, 0.3, True, inplace=True) is t      # (the PyTorch behaviour matched above)


def test_functional_relu_inplace_and_keyword_input_like_torch():
    """F.relu took no inplace= (a TypeError for ported code); F.relu/tanh/sigmoid take PyTorch's keyword input=."""
    a0 = np.array([1.0, -2.0, 3.0, -0.5])
    a, ta = npg.tensor(a0), torch.tensor(a0, requires_grad=True)
    x, tx = a * 1.0, ta * 1.0
    y, ty = F.relu(x, inplace=True), TF.relu(tx, inplace=True)
    assert y is x and ty is tx
    assert_close(x.data, tx.detach().numpy())
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    assert_close(a.grad, ta.grad.numpy())
    for name in ("relu", "tanh", "sigmoid"):
        assert_close(getattr(F, name)(input=npg.tensor(a0)).data, getattr(TF, name)(input=torch.tensor(a0)).numpy())


def test_functional_signatures_have_every_pytorch_argument():
    """Every argument of a torch.nn.functional function exists on npgrad's (a missing one is a TypeError in
    ported code, an ignored one a silent difference: see the scan in the commit log)."""
    import inspect
    missing = {}
    for name in dir(F):
        f, tf = getattr(F, name), getattr(TF, name, None)
        if name.startswith("_") or tf is None or not callable(f) or isinstance(f, type):
            continue
        try:
            tp, p = inspect.signature(tf).parameters, inspect.signature(f).parameters
        except (TypeError, ValueError):
            continue
        if any(q.kind in (q.VAR_KEYWORD, q.VAR_POSITIONAL) for q in tp.values()):
            continue          # (torch's boolean-dispatch wrappers: max_pool*(*args, **kwargs))
        gap = [q for q in tp if q not in p and q != "_stacklevel"]
        if gap:
            missing[name] = gap
    assert not missing


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_in_every_memory_order_vs_torch(dtype):
    """relu reads its zeros from one shared buffer laid out as its input: C order, batch-last (a transposed
    view), strided, reversed, 0-d and size-0 inputs, growing sizes; values, the result's memory order
    (x's where x is dense) and gradients against torch."""
    a = sample((4, 3, 5, 6), dtype)
    batch_last = np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    big = sample((3, 1000), dtype, seed=1)
    for x in (a[:1, :1], a, batch_last, a[:, ::2], a[::-1], a.T, np.asarray(a[0, 0, 0, 0]), a[:0], big):
        y = F.relu(npg.as_tensor(x))   # (no copy: x's memory order)
        assert_close(y.data, TF.relu(torch.tensor(x.copy())).numpy(), what=f"relu {x.strides}")
        if x.size and (x.flags.c_contiguous or x is batch_last):
            assert all(a == b for a, b, n in zip(y.data.strides, x.strides, x.shape) if n > 1)
        compare_with_torch(F.relu, TF.relu, [x.copy()], what="relu")
