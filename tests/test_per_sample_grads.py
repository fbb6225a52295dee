"""Per-sample gradients: ``vmap(grad(loss), in_dims=(None, 0, 0))`` through ``functional_call`` of nn models,
against ``torch.func.vmap(torch.func.grad(...))`` with ``torch.func.functional_call`` on the same weights, in
float32 and float64; the shared-weight fast paths (npgrad/_vmap_nn.py) against per-sample loops; BatchNorm's
training-mode error."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from npgrad.func import functional_call, grad, hessian, jacrev, vmap
from tests.helpers import assert_close


def _twin(build, dtype, seed=0):
    """The npgrad model ``build(nn)`` and the same model in PyTorch with the same (random) weights and buffers;
    both in eval mode when the model has running statistics."""
    torch.manual_seed(seed)
    tmodel = build(torch.nn).to(getattr(torch, np.dtype(dtype).name))
    model = build(nn).to(npg.float32 if dtype == np.float32 else npg.float64)
    rng = np.random.default_rng(seed)
    tstate = dict(tmodel.named_parameters())
    tstate.update(dict(tmodel.named_buffers()))
    npstate = dict(model.named_parameters())
    npstate.update(dict(model.named_buffers()))
    assert set(tstate) == set(npstate), (sorted(tstate), sorted(npstate))
    for name, t in tstate.items():
        if t.dtype.is_floating_point:
            v = t.detach().numpy().copy()
            if "running_var" in name:
                v = rng.uniform(0.5, 2.0, v.shape).astype(dtype)
            elif "running_mean" in name or "bias" in name:
                v = rng.normal(0, 0.3, v.shape).astype(dtype)
            with torch.no_grad():
                t.copy_(torch.tensor(v))
            npstate[name].data[...] = v
    return model, tmodel


def _per_sample(model, tmodel, x, y, unsqueeze=True, x_grad=False, torch_loop=False):
    """npgrad's vmap(grad) per-sample gradients against torch.func.vmap(grad) (or, where torch.func cannot
    vmap the model, a loop of torch.func.grad over the samples)."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}

    def loss(p, xb, yb):
        xb, yb = (xb[None], yb[None]) if unsqueeze else (xb, yb)
        return F.cross_entropy(functional_call(model, p, (xb,)), yb)

    def tloss(p, xb, yb):
        xb, yb = (xb[None], yb[None]) if unsqueeze else (xb, yb)
        return torch.nn.functional.cross_entropy(torch.func.functional_call(tmodel, p, (xb,)), yb)

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no op may fall back to the loop
        g = vmap(grad(loss), in_dims=(None, 0, 0))(params, npg.tensor(x, requires_grad=x_grad), npg.tensor(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # torch's notices about its own slow paths
        if torch_loop:
            per = [torch.func.grad(tloss)(tparams, torch.tensor(a), torch.tensor(b)) for a, b in zip(x, y)]
            tg = {k: torch.stack([p[k] for p in per]) for k in per[0]}
        else:
            tg = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(tparams, torch.tensor(x),
                                                                                 torch.tensor(y))
    assert set(g) == set(tg)
    for k in tg:
        assert_close(g[k], tg[k].numpy(), what=k)
        assert g[k].dtype == params[k].dtype
    return g


MODELS = {
    "mlp": (lambda m: m.Sequential(m.Linear(12, 16), m.ReLU(), m.Linear(16, 8), m.Tanh(), m.Linear(8, 5)),
            (12,)),
    "cnn_groupnorm": (lambda m: m.Sequential(
        m.Conv2d(2, 6, 3, padding=1), m.GroupNorm(3, 6), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(6, 8, 3, stride=2, padding=1, bias=False), m.ReLU(), m.AvgPool2d(2), m.Flatten(),
        m.Linear(8, 5)), (2, 8, 8)),
    "conv1d_layernorm": (lambda m: m.Sequential(
        m.Conv1d(3, 4, 3, dilation=2), m.LayerNorm([4, 6]), m.ReLU(), m.Flatten(), m.Linear(24, 5)), (3, 10)),
    "conv3d": (lambda m: m.Sequential(m.Conv3d(1, 3, 2), m.ReLU(), m.Flatten(), m.Linear(3 * 27, 5)), (1, 4, 4, 4)),
    "batchnorm_eval": (lambda m: m.Sequential(
        m.Conv2d(1, 4, 3), m.BatchNorm2d(4), m.ReLU(), m.Flatten(), m.Linear(4 * 16, 5)), (1, 6, 6)),
    "grouped_conv": (lambda m: m.Sequential(m.Conv2d(4, 6, 3, groups=2), m.ReLU(), m.Conv2d(6, 6, 3, groups=6),
                                            m.Flatten(), m.Linear(6 * 4, 5)), (4, 6, 6)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(MODELS))
def test_per_sample_grads_of_nn_models_vs_torch_func(name, dtype):
    build, shape = MODELS[name]
    model, tmodel = _twin(build, dtype)
    model.eval()
    tmodel.eval()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7,) + shape).astype(dtype)
    y = rng.integers(0, 5, 7)
    _per_sample(model, tmodel, x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_sample_grads_with_a_batch_inside_each_sample(dtype):
    """Each sample is itself a mini-batch (N, C, H, W) with N targets: the vmap batch folds into N."""
    build, _ = MODELS["cnn_groupnorm"]
    model, tmodel = _twin(build, dtype, seed=3)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 2, 8, 8)).astype(dtype)
    y = rng.integers(0, 5, (5, 3))
    _per_sample(model, tmodel, x, y, unsqueeze=False)


def test_per_sample_grads_when_the_data_requires_grad():
    """Inputs that require grad make the backward pass recorded (create_graph): the same gradients."""
    build, shape = MODELS["mlp"]
    model, tmodel = _twin(build, np.float64)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6,) + shape)
    _per_sample(model, tmodel, x, rng.integers(0, 5, 6), x_grad=True)
    build, shape = MODELS["cnn_groupnorm"]
    model, tmodel = _twin(build, np.float64)
    _per_sample(model, tmodel, rng.standard_normal((3,) + shape), rng.integers(0, 5, 3), x_grad=True)


def test_cross_entropy_reductions_and_weights_under_vmap():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 6))
    y = rng.integers(0, 6, (4, 3))
    y[1, :] = 2
    y[2, 0] = 2
    w = rng.uniform(0.5, 2, 6)
    for kw in (dict(), dict(reduction="sum"), dict(reduction="none"), dict(weight=w), dict(ignore_index=2),
               dict(weight=w, ignore_index=2, label_smoothing=0.1)):
        out = vmap(lambda a, b: F.cross_entropy(a, b, **{k: npg.tensor(v) if k == "weight" else v
                                                         for k, v in kw.items()}))(npg.tensor(x), npg.tensor(y))
        ref = torch.stack([torch.nn.functional.cross_entropy(   # torch.func cannot vmap some of these
            torch.tensor(a), torch.tensor(b), **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()})
            for a, b in zip(x, y)])
        assert_close(out, ref.numpy(), what=str(kw))


def test_shared_weight_matmul_runs_one_gemm_and_gives_per_sample_grads():
    """The lifted parameter is a stride-0 broadcast; the matmul rule runs one GEMM on it."""
    from npgrad import _vmap_nn
    calls = []
    orig = _vmap_nn.shared_matmul

    def spy(a, b):
        calls.append((a.shape, b.shape))
        return orig(a, b)
    rng = np.random.default_rng(6)
    W, x = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))

    def f(W, xi):
        return npg.tanh(xi @ W).sum()
    _vmap_nn.shared_matmul = spy
    try:
        g = vmap(grad(f), in_dims=(None, 0))(npg.tensor(W), npg.tensor(x))
    finally:
        _vmap_nn.shared_matmul = orig
    assert calls
    ref = torch.func.vmap(torch.func.grad(lambda W, xi: torch.tanh(xi @ W).sum()), in_dims=(None, 0))(
        torch.tensor(W), torch.tensor(x))
    assert_close(g, ref.numpy())


@pytest.mark.parametrize("transform", ["hessian", "jacrev_of_grad"])
def test_per_sample_second_derivatives_stay_per_sample(transform):
    """Higher-order derivatives through the shared fast paths (their create_graph VJPs) vs torch.func."""
    rng = np.random.default_rng(7)
    W, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))

    def f(lib):
        return lambda W, xi: (lib.tanh(xi @ W) ** 2).sum()
    if transform == "hessian":
        g = vmap(hessian(f(npg)), in_dims=(None, 0))(npg.tensor(W), npg.tensor(x))
        ref = torch.func.vmap(torch.func.hessian(f(torch)), in_dims=(None, 0))(torch.tensor(W), torch.tensor(x))
    else:
        g = vmap(jacrev(grad(f(npg))), in_dims=(None, 0))(npg.tensor(W), npg.tensor(x))
        ref = torch.func.vmap(torch.func.jacrev(torch.func.grad(f(torch))), in_dims=(None, 0))(
            torch.tensor(W), torch.tensor(x))
    assert_close(g, ref.numpy())


def test_per_sample_second_derivatives_of_a_conv():
    rng = np.random.default_rng(8)
    w, x = rng.standard_normal((2, 1, 2, 2)), rng.standard_normal((3, 1, 4, 4))

    def f(lib, conv):
        return lambda w, xi: (lib.tanh(conv(xi[None], w)) ** 2).sum()
    g = vmap(hessian(f(npg, F.conv2d)), in_dims=(None, 0))(npg.tensor(w), npg.tensor(x))
    ref = torch.func.vmap(torch.func.hessian(f(torch, torch.nn.functional.conv2d)), in_dims=(None, 0))(
        torch.tensor(w), torch.tensor(x))
    assert_close(g, ref.numpy())


@pytest.mark.parametrize("per_sample_ndim", [3, 4])
def test_conv_with_a_weight_per_sample_vs_loop(per_sample_ndim):
    """A truly batched weight (not shared): the grouped-convolution rule, values and gradients vs a loop."""
    rng = np.random.default_rng(9)
    xs = rng.standard_normal((4, 2, 3, 6, 6) if per_sample_ndim == 4 else (4, 3, 6, 6))
    ws = rng.standard_normal((4, 6, 3, 3, 3))
    bs = rng.standard_normal((4, 6))
    X, Wt, Bt = npg.tensor(xs), npg.tensor(ws), npg.tensor(bs)
    out = vmap(lambda x, w, b: F.conv2d(x, w, b, padding=1, stride=2))(X, Wt, Bt)
    ct = rng.standard_normal(out.shape)
    (out * npg.tensor(ct)).sum().backward()
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xs, ws, bs))
    tout = torch.stack([torch.nn.functional.conv2d(tx[i], tw[i], tb[i], padding=1, stride=2) for i in range(4)])
    (tout * torch.tensor(ct)).sum().backward()
    assert_close(out, tout.detach().numpy())
    for a, t in ((X, tx), (Wt, tw), (Bt, tb)):
        assert_close(a.grad, t.grad.numpy())


def test_batch_norm_training_under_vmap_raises_a_clear_error():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 4, 3))
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, xb, yb):
        return F.cross_entropy(functional_call(model, p, (xb[None],)), yb[None])
    x = npg.tensor(np.random.default_rng(0).standard_normal((3, 1, 4, 4)))
    with pytest.raises(RuntimeError, match="GroupNorm.*eval mode.*track_running_stats=False"):
        vmap(grad(loss), in_dims=(None, 0, 0))(params, x, npg.tensor(np.array([0, 1, 2])))
    model.eval()
    g = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, npg.tensor(np.array([0, 1, 2])))
    assert g["1.weight"].shape == (3, 2)


def test_batch_norm_without_running_stats_uses_each_samples_statistics():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 4, 2, 5))
    w, b = rng.standard_normal(2), rng.standard_normal(2)
    out = vmap(lambda xi: F.batch_norm(xi, None, None, npg.tensor(w), npg.tensor(b), training=True))(npg.tensor(x))
    ref = torch.func.vmap(lambda xi: torch.nn.functional.batch_norm(xi, None, None, torch.tensor(w), torch.tensor(b),
                                                                    training=True))(torch.tensor(x))
    assert_close(out, ref.numpy())


def test_conv_and_pool_with_unbatched_weights_fold_the_batch():
    """A weight closed over (not a vmap input): the batch folds into the convolution's N; the weight's
    gradient sums over the batch."""
    rng = np.random.default_rng(11)
    xs, w, b = rng.standard_normal((3, 2, 2, 7, 7)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
    W, Bt = npg.tensor(w), npg.tensor(b)
    out = vmap(lambda x: F.max_pool2d(F.conv2d(x, W, Bt, padding=1), 2))(npg.tensor(xs))
    ct = rng.standard_normal(out.shape)
    (out * npg.tensor(ct)).sum().backward()
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    tout = torch.func.vmap(lambda x: torch.nn.functional.max_pool2d(
        torch.nn.functional.conv2d(x, tw, tb, padding=1), 2))(torch.tensor(xs))
    (tout * torch.tensor(ct)).sum().backward()
    assert_close(out, tout.detach().numpy())
    assert_close(W.grad, tw.grad.numpy())
    assert_close(Bt.grad, tb.grad.numpy())


def _seq_model(m, kind):
    """A small sequence classifier of library ``m`` (torch.nn or npgrad.nn) around a ``kind`` layer."""
    class Model(m.Module):
        def __init__(self):
            super().__init__()
            if kind == "embedding":
                self.emb = m.Embedding(10, 6, padding_idx=0)
                self.head = m.Linear(6, 5)
            elif kind == "mha":
                self.att = m.MultiheadAttention(6, 2, batch_first=True)
                self.norm = m.LayerNorm(6)
                self.head = m.Linear(6, 5)
            elif kind.endswith("Cell"):
                self.cell = getattr(m, kind)(6, 4)
                self.head = m.Linear(4, 5)
            else:
                kw = dict(num_layers=2, bidirectional=True) if kind != "LSTMproj" else dict(proj_size=3)
                self.rnn = getattr(m, kind.replace("proj", ""))(6, 4, batch_first=True, **kw)
                self.head = m.Linear(3 if kind == "LSTMproj" else 8, 5)

        def forward(self, x):
            if kind == "embedding":
                return self.head(self.emb(x)).mean(1)
            if kind == "mha":
                a, _ = self.att(x, x, x, need_weights=False)
                b, _ = self.att(x, x[:, :3], x[:, :3])          # cross-attention, the weights path
                return self.head(self.norm(a + b)).mean(1)
            if kind.endswith("Cell"):
                state = None
                for t in range(x.shape[1]):
                    state = self.cell(x[:, t], state)
                return self.head(state[0] if isinstance(state, tuple) else state)
            out, _ = self.rnn(x)
            return self.head(out[:, -1])
    return Model()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["embedding", "mha", "RNN", "LSTM", "GRU", "LSTMproj", "RNNCell", "LSTMCell",
                                  "GRUCell"])
def test_per_sample_grads_of_sequence_models_vs_torch_func(kind, dtype):
    model, tmodel = _twin(lambda m: _seq_model(m, kind), dtype, seed=4)
    rng = np.random.default_rng(12)
    if kind == "embedding":
        x = rng.integers(0, 10, (5, 4))
    else:
        x = rng.standard_normal((5, 4, 6)).astype(dtype)
    y = rng.integers(0, 5, 5)
    # torch.func cannot vmap its recurrent layers over per-sample weights (in-place steps): a loop is the oracle
    _per_sample(model, tmodel, x, y, torch_loop=kind not in ("embedding", "mha"))


def test_lifted_parameters_are_stride_0_broadcasts_and_conv_takes_the_shared_path():
    """No per-sample copies of the parameters: the differentiated leaves are stride-0 views, and the
    convolution runs once with the shared weight (npgrad/_vmap_nn.py's _shared_conv)."""
    from npgrad import _vmap_nn, func_vmap
    w = npg.tensor(np.ones((2, 3)))
    e = func_vmap._copy_expand(w, 5)
    assert e.shape == (5, 2, 3) and e.data.strides[0] == 0 and _vmap_nn.shared(e)
    calls = []
    orig = _vmap_nn._shared_conv

    def spy(x, w, B, geom):
        calls.append(x.shape)
        return orig(x, w, B, geom)
    build, shape = MODELS["cnn_groupnorm"]
    model, tmodel = _twin(build, np.float64)
    rng = np.random.default_rng(13)
    _vmap_nn._shared_conv = spy
    try:
        _per_sample(model, tmodel, rng.standard_normal((4,) + shape), rng.integers(0, 5, 4))
    finally:
        _vmap_nn._shared_conv = orig
    assert calls == [(4, 2, 8, 8), (4, 6, 4, 4)]     # each conv once, over the whole batch


def test_shared_weight_on_the_left_of_a_matmul():
    rng = np.random.default_rng(14)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal((6, 4))

    def f(lib):
        return lambda W, xi: (lib.tanh(W @ xi) ** 2).sum()
    from npgrad import _vmap_nn
    calls = []
    orig = _vmap_nn.shared_matmul

    def spy(a, b):
        calls.append((a.shape, b.shape))
        return orig(a, b)
    _vmap_nn.shared_matmul = spy
    try:
        g = vmap(grad(f(npg)), in_dims=(None, 0))(npg.tensor(W, requires_grad=False),
                                                  npg.tensor(x, requires_grad=False))
    finally:
        _vmap_nn.shared_matmul = orig
    assert calls == [((6, 1, 4), (6, 4, 3))]          # W @ x_b for every b as one GEMM: (x W^T)^T
    ref = torch.func.vmap(torch.func.grad(f(torch)), in_dims=(None, 0))(torch.tensor(W), torch.tensor(x))
    assert_close(g, ref.numpy())


@pytest.mark.parametrize("requires_grad", [False, True])
def test_per_sample_grads_of_complex_weights_through_the_shared_matmul(requires_grad):
    """The shared matmul records as 'matmul', so complex gradients follow PyTorch's convention."""
    rng = np.random.default_rng(15)
    W = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    x = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))

    def f(lib):
        return lambda W, xi: (lib.abs(xi @ W) ** 2).sum()
    g = vmap(grad(f(npg)), in_dims=(None, 0))(npg.tensor(W, requires_grad=requires_grad),
                                              npg.tensor(x, requires_grad=requires_grad))
    ref = torch.func.vmap(torch.func.grad(f(torch)), in_dims=(None, 0))(torch.tensor(W), torch.tensor(x))
    assert_close(g, ref.numpy())


def test_attention_with_unbatched_operands_and_a_batched_mask_vs_loop():
    rng = np.random.default_rng(16)
    q = rng.standard_normal((3, 2, 4, 5))          # batched: (heads, L, E) per sample
    k, v = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))   # unbatched (S, E)
    mask = rng.standard_normal((3, 4, 6))          # batched additive mask (L, S) per sample
    out = vmap(lambda qi, mi: F.scaled_dot_product_attention(qi, npg.tensor(k), npg.tensor(v), attn_mask=mi))(
        npg.tensor(q), npg.tensor(mask))
    ref = torch.stack([torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q[i]), torch.tensor(k), torch.tensor(v), attn_mask=torch.tensor(mask[i])) for i in range(3)])
    assert_close(out, ref.numpy())


def test_embedding_with_a_per_sample_table_rejects_negative_indices():
    table = npg.tensor(np.random.default_rng(17).standard_normal((2, 5, 3)))
    with pytest.raises(IndexError):
        vmap(lambda t, i: F.embedding(i, t))(table, npg.tensor(np.array([[0, -1], [1, 2]])))
