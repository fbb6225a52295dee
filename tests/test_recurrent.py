"""Recurrent layers, cells and packed sequences against PyTorch: values, gradients of inputs, initial states and
every parameter (float32 and float64, weights loaded from PyTorch and back), unbatched and size-0 batches,
packed input, second derivatives, dropout between layers, errors."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from npgrad.nn.utils import rnn as nrnn

from .helpers import assert_close

trnn = torch.nn.utils.rnn
TDT = {np.float32: torch.float32, np.float64: torch.float64}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


def pair(mode, dtype, *args, **kw):
    """A torch module and an npgrad module with the torch module's weights (loaded by load_state_dict)."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = getattr(torch.nn, mode)(*args, **kw).to(TDT[dtype])
        nm = getattr(nn, mode)(*args, dtype=dtype, **kw)
    missing = nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert not missing.missing_keys and not missing.unexpected_keys
    return tm, nm


def states(mode, shapes, rng, dtype, given):
    """Initial states (npgrad, torch) for ``mode`` or (None, None)."""
    if not given:
        return None, None, []
    arrs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ns, ts = [npg.tensor(a) for a in arrs], [torch.tensor(a, requires_grad=True) for a in arrs]
    if mode == "LSTM":
        return tuple(ns), tuple(ts), list(zip(ns, ts))
    return ns[0], ts[0], [(ns[0], ts[0])]


def loss_of(out, hn, rng, lib):
    """A scalar using the output and every final state, with random weights (the same for both libraries)."""
    hs = hn if isinstance(hn, tuple) else (hn,)
    total = 0
    for i, t in enumerate((out,) + hs):
        w = np.random.default_rng(100 + i).standard_normal(tuple(t.shape)).astype(np.float64)
        if lib == "torch":
            total = total + (t * torch.tensor(w, dtype=t.dtype)).sum()
        else:
            total = total + (t * w.astype(t.dtype)).sum()
    return total


def check_run(mode, tm, nm, x, hx_shapes, dtype, hx_given=True, seed=0):
    rng = np.random.default_rng(seed)
    nx, tx = npg.tensor(x), torch.tensor(x, requires_grad=True)
    nh, th, pairs = states(mode, hx_shapes, rng, dtype, hx_given)
    nout, nhn = nm(nx, nh)
    tout, thn = tm(tx, th)
    assert_close(nout, tout.detach().numpy(), what=f"{mode} output")
    for a, b in zip(nhn if isinstance(nhn, tuple) else (nhn,), thn if isinstance(thn, tuple) else (thn,)):
        assert a.dtype == dtype
        assert_close(a, b.detach().numpy(), what=f"{mode} final state")
    loss_of(nout, nhn, rng, "npgrad").backward()
    loss_of(tout, thn, rng, "torch").backward()
    assert_close(nx.grad, tx.grad.numpy(), what=f"{mode} grad input")
    for k, (a, b) in enumerate(pairs):
        assert_close(a.grad, b.grad.numpy(), what=f"{mode} grad of initial state {k}")
    tparams = dict(tm.named_parameters())
    for name, p in nm.named_parameters():
        assert p.grad.dtype == dtype
        assert_close(p.grad, tparams[name].grad.numpy(), what=f"{mode} grad {name}")
    return nout, nhn


OPTIONS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True, bias=False),
           dict(num_layers=3, bidirectional=True, batch_first=True), dict(batch_first=True, bias=False),
           dict(num_layers=2, bidirectional=True, hx=False), dict(batch_first=True, hx=False)]


def hidden_shapes(mode, L, D, B, H, P):
    return [(L * D, B, P), (L * D, B, H)] if mode == "LSTM" else [(L * D, B, H)]


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("kw", OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_layers_match_torch(mode, kw, dtype):
    T, B, I, H = 5, 3, 4, 6
    kw = dict(kw)
    hx_given = kw.pop("hx", True)
    tm, nm = pair(mode, dtype, I, H, **kw)
    L, D = kw.get("num_layers", 1), 2 if kw.get("bidirectional") else 1
    x = np.random.default_rng(1).standard_normal((B, T, I) if kw.get("batch_first") else (T, B, I)).astype(dtype)
    check_run(mode, tm, nm, x, hidden_shapes(mode, L, D, B, H, H), dtype, hx_given)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True), dict(batch_first=True, bias=False)])
def test_lstm_projection_matches_torch(kw, dtype):
    T, B, I, H, P = 4, 3, 5, 6, 3
    tm, nm = pair("LSTM", dtype, I, H, proj_size=P, **kw)
    assert nm.weight_hr_l0.shape == (P, H) and nm.weight_hh_l0.shape == (4 * H, P)
    L, D = kw.get("num_layers", 1), 2 if kw.get("bidirectional") else 1
    x = np.random.default_rng(2).standard_normal((B, T, I) if kw.get("batch_first") else (T, B, I)).astype(dtype)
    out, (h, c) = check_run("LSTM", tm, nm, x, hidden_shapes("LSTM", L, D, B, H, P), dtype)
    assert out.shape[-1] == D * P and h.shape == (L * D, B, P) and c.shape == (L * D, B, H)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_relu_rnn_and_unbatched_input(mode, dtype):
    kw = dict(nonlinearity="relu") if mode == "RNN" else {}
    tm, nm = pair(mode, dtype, 4, 5, num_layers=2, bidirectional=True, **kw)
    x = np.random.default_rng(3).standard_normal((6, 4)).astype(dtype)
    out, hn = check_run(mode, tm, nm, x, [(4, 5)] * (2 if mode == "LSTM" else 1), dtype)
    assert out.shape == (6, 10)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_size_zero_batch(mode):
    tm, nm = pair(mode, np.float64, 3, 4, num_layers=2, bidirectional=True)
    x = npg.tensor(np.zeros((5, 0, 3)))
    out, hn = nm(x)
    tout, thn = tm(torch.zeros(5, 0, 3, dtype=torch.float64))
    assert out.shape == tuple(tout.shape)
    for a, b in zip(hn if isinstance(hn, tuple) else (hn,), thn if isinstance(thn, tuple) else (thn,)):
        assert a.shape == tuple(b.shape)
    out.sum().backward()
    assert x.grad.shape == (5, 0, 3) and nm.weight_hh_l0.grad is not None


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_state_dicts_move_both_ways(mode, dtype):
    nm = getattr(nn, mode)(3, 5, num_layers=2, bidirectional=True, dtype=dtype)
    tm = getattr(torch.nn, mode)(3, 5, num_layers=2, bidirectional=True).to(TDT[dtype])
    sd = nm.state_dict()
    assert list(sd) == list(tm.state_dict())
    assert all(tuple(sd[k].shape) == tuple(v.shape) for k, v in tm.state_dict().items())
    tm.load_state_dict({k: torch.from_numpy(np.asarray(v.data)) for k, v in sd.items()})
    x = np.random.default_rng(4).standard_normal((4, 2, 3)).astype(dtype)
    assert_close(nm(npg.tensor(x))[0], tm(torch.tensor(x))[0].detach().numpy())
    bound = 1 / np.sqrt(5)  # PyTorch's init: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every parameter
    values = np.concatenate([p.data.ravel() for p in nm.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.15 * bound / np.sqrt(3)


@pytest.mark.parametrize("mode,kw", [("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", {}),
                                     ("RNN", dict(bias=False)), ("LSTM", dict(proj_size=2, batch_first=True))])
def test_repr_matches_torch(mode, kw):
    assert repr(getattr(nn, mode)(3, 4, **kw)) == repr(getattr(torch.nn, mode)(3, 4, **kw))


# ------------------------------------------------------------------------------ packed sequences
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("kw,dtype", [(dict(), np.float32), (dict(num_layers=2, bidirectional=True), np.float64),
                                      (dict(batch_first=True), np.float64)],
                         ids=["default-float32", "2-layer-bidir-float64", "batch_first-float64"])
def test_packed_input_matches_torch(mode, enforce_sorted, kw, dtype):
    T, B, I, H = 6, 4, 3, 5
    lengths = [6, 4, 4, 1] if enforce_sorted else [2, 6, 1, 4]
    tm, nm = pair(mode, dtype, I, H, **kw)
    bf = kw.get("batch_first", False)
    L, D = kw.get("num_layers", 1), 2 if kw.get("bidirectional") else 1
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, T, I) if bf else (T, B, I)).astype(dtype)
    nx, tx = npg.tensor(x), torch.tensor(x, requires_grad=True)
    nh, th, pairs = states(mode, hidden_shapes(mode, L, D, B, H, H), rng, dtype, True)
    npk = nrnn.pack_padded_sequence(nx, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    tpk = trnn.pack_padded_sequence(tx, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    assert np.array_equal(npk.batch_sizes.numpy(), tpk.batch_sizes.numpy())
    assert_close(npk.data, tpk.data.detach().numpy())
    nout, nhn = nm(npk, nh)
    tout, thn = tm(tpk, th)
    assert isinstance(nout, nrnn.PackedSequence)
    assert np.array_equal(nout.batch_sizes.numpy(), tout.batch_sizes.numpy())
    npad, nlen = nrnn.pad_packed_sequence(nout, batch_first=bf, padding_value=0.5, total_length=T + 1)
    tpad, tlen = trnn.pad_packed_sequence(tout, batch_first=bf, padding_value=0.5, total_length=T + 1)
    assert np.array_equal(nlen.numpy(), tlen.numpy())
    assert_close(npad, tpad.detach().numpy(), what="padded output")
    for a, b in zip(nhn if isinstance(nhn, tuple) else (nhn,), thn if isinstance(thn, tuple) else (thn,)):
        assert_close(a, b.detach().numpy(), what="final state")
    loss_of(npad, nhn, rng, "npgrad").backward()
    loss_of(tpad, thn, rng, "torch").backward()
    assert_close(nx.grad, tx.grad.numpy(), what="grad input")
    for a, b in pairs:
        assert_close(a.grad, b.grad.numpy(), what="grad initial state")
    tparams = dict(tm.named_parameters())
    for name, p in nm.named_parameters():
        assert_close(p.grad, tparams[name].grad.numpy(), what=f"grad {name}")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_and_pack_sequence(batch_first, side, dtype):
    rng = np.random.default_rng(6)
    seqs = [rng.standard_normal((n, 2)).astype(dtype) for n in (3, 5, 1)]
    ns, ts = [npg.tensor(s) for s in seqs], [torch.tensor(s, requires_grad=True) for s in seqs]
    npd = nrnn.pad_sequence(ns, batch_first=batch_first, padding_value=-1.0, padding_side=side)
    tpd = trnn.pad_sequence(ts, batch_first=batch_first, padding_value=-1.0, padding_side=side)
    assert_close(npd, tpd.detach().numpy())
    w = rng.standard_normal(npd.shape)
    (npd * w.astype(dtype)).sum().backward()
    (tpd * torch.tensor(w, dtype=TDT[dtype])).sum().backward()
    for a, b in zip(ns, ts):
        assert_close(a.grad, b.grad.numpy())
    npk, tpk = nrnn.pack_sequence(ns, enforce_sorted=False), trnn.pack_sequence(ts, enforce_sorted=False)
    assert_close(npk.data, tpk.data.detach().numpy())
    assert np.array_equal(npk.sorted_indices.numpy(), tpk.sorted_indices.numpy())
    assert np.array_equal(npk.unsorted_indices.numpy(), tpk.unsorted_indices.numpy())
    back = nrnn.unpack_sequence(npk)
    assert [b.shape for b in back] == [s.shape for s in seqs]
    for b, s in zip(back, seqs):
        assert_close(b, s)


def test_packing_errors():
    x = npg.zeros((4, 3, 2))
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        nrnn.pack_padded_sequence(x, [1, 3, 2])
    with pytest.raises(RuntimeError, match="greater than 0"):
        nrnn.pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(ValueError, match="expected 3 lengths"):
        nrnn.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="total_length"):
        nrnn.pad_packed_sequence(nrnn.pack_padded_sequence(x, [4, 2, 1]), total_length=2)


# ------------------------------------------------------------------------------ cells
CELLS = [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")),
         ("LSTMCell", dict(bias=False))]


@pytest.mark.parametrize("cls,kw", CELLS, ids=lambda v: v if isinstance(v, str) else str(v))
@pytest.mark.parametrize("shape", [(3,), ()], ids=["batched", "unbatched"])
@pytest.mark.parametrize("hx_given", [True, False], ids=["hx", "no-hx"])
def test_cells_match_torch(cls, kw, shape, hx_given, dtype):
    I, H = 4, 5
    tm, nm = pair(cls, dtype, I, H, **kw)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape + (I,)).astype(dtype)
    nx, tx = npg.tensor(x), torch.tensor(x, requires_grad=True)
    lstm = cls == "LSTMCell"
    nh, th, pairs = states("LSTM" if lstm else cls, [shape + (H,)] * (2 if lstm else 1), rng, dtype, hx_given)
    nout, tout = nm(nx, nh), tm(tx, th)
    nouts, touts = (nout, tout) if lstm else ((nout,), (tout,))
    for a, b in zip(nouts, touts):
        assert a.shape == tuple(b.shape) and a.dtype == dtype
        assert_close(a, b.detach().numpy())
    loss_of(nouts[0], tuple(nouts[1:]), rng, "npgrad").backward()
    loss_of(touts[0], tuple(touts[1:]), rng, "torch").backward()
    assert_close(nx.grad, tx.grad.numpy())
    for a, b in pairs:
        assert_close(a.grad, b.grad.numpy())
    tparams = dict(tm.named_parameters())
    for name, p in nm.named_parameters():
        assert_close(p.grad, tparams[name].grad.numpy(), what=name)


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_size_zero_batch(cls):
    tm, nm = pair(cls, np.float64, 3, 4)
    out = nm(npg.zeros((0, 3)))
    tout = tm(torch.zeros(0, 3, dtype=torch.float64))
    for a, b in zip(out if isinstance(out, tuple) else (out,), tout if isinstance(tout, tuple) else (tout,)):
        assert a.shape == tuple(b.shape) == (0, 4)


@pytest.mark.parametrize("fn", ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"])
def test_cell_second_derivatives_match_torch(fn):
    B, I, H = 3, 4, 5
    G = {"lstm_cell": 4, "gru_cell": 3}.get(fn, 1)
    rng = np.random.default_rng(8)
    arrs = dict(x=rng.standard_normal((B, I)), h=rng.standard_normal((B, H)), c=rng.standard_normal((B, H)),
                wi=rng.standard_normal((G * H, I)), wh=rng.standard_normal((G * H, H)),
                bi=rng.standard_normal(G * H), bh=rng.standard_normal(G * H))
    if fn != "lstm_cell":
        del arrs["c"]
    N = {k: npg.tensor(v) for k, v in arrs.items()}
    T = {k: torch.tensor(v, requires_grad=True) for k, v in arrs.items()}

    def run(L, f):
        hx = (L["h"], L["c"]) if fn == "lstm_cell" else L["h"]
        out = f(L["x"], hx, L["wi"], L["wh"], L["bi"], L["bh"])
        return (out[0] * out[0]).sum() + (out[1] ** 3).sum() if fn == "lstm_cell" else (out ** 3).sum()
    nl, tl = run(N, getattr(F, fn)), run(T, getattr(torch, fn))
    assert_close(nl, tl.detach().numpy())
    keys = list(arrs)
    ng = npg.autograd.grad(nl, [N[k] for k in keys], create_graph=True)
    tg = torch.autograd.grad(tl, [T[k] for k in keys], create_graph=True)
    for k, a, b in zip(keys, ng, tg):
        assert_close(a, b.detach().numpy(), what=f"first derivative {k}")
    w = [rng.standard_normal(a.shape) for a in ng]
    ns = sum((a * wi).sum() for a, wi in zip(ng, w))
    ts = sum((a * torch.tensor(wi)).sum() for a, wi in zip(tg, w))
    for k, a, b in zip(keys, npg.autograd.grad(ns, [N[k] for k in keys]), torch.autograd.grad(ts, [T[k] for k in keys])):
        assert_close(a, b.numpy(), what=f"second derivative {k}")


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_layer_second_derivatives_match_torch(mode):
    tm, nm = pair(mode, np.float64, 3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(9).standard_normal((4, 2, 3))
    nx, tx = npg.tensor(x), torch.tensor(x, requires_grad=True)
    names = ["weight_ih_l0", "weight_hh_l0", "bias_hh_l1", "weight_hh_l1_reverse"]
    nw = [nx] + [getattr(nm, n) for n in names]
    tw = [tx] + [getattr(tm, n) for n in names]
    ng = npg.autograd.grad((nm(nx)[0] ** 2).sum(), nw, create_graph=True)
    tg = torch.autograd.grad((tm(tx)[0] ** 2).sum(), tw, create_graph=True)
    n2 = npg.autograd.grad(sum((g ** 2).sum() for g in ng), nw)
    t2 = torch.autograd.grad(sum((g ** 2).sum() for g in tg), tw)
    for name, a, b in zip(["x"] + names, n2, t2):
        assert_close(a, b.numpy(), what=f"second derivative {name}")


# ------------------------------------------------------------------------------ dropout between layers
def test_dropout_between_layers(monkeypatch):
    tm, nm = pair("LSTM", np.float64, 3, 6, num_layers=3, dropout=0.4)
    x = np.random.default_rng(10).standard_normal((5, 4, 3))
    nm.eval()  # eval: no dropout, exact against torch in eval mode
    tm.eval()
    assert_close(nm(npg.tensor(x))[0], tm(torch.tensor(x))[0].detach().numpy())
    nm.train()
    masks = []
    real = F.dropout

    def spy(inp, p=0.5, training=True, inplace=False):
        out = real(inp, p, training)
        masks.append((inp.data, out.data, p))
        return out
    monkeypatch.setattr(F, "dropout", spy)
    big = nn.LSTM(3, 200, num_layers=3, dropout=0.4)
    big(npg.randn(20, 8, 3))
    assert len(masks) == 2  # after every layer but the last
    for before, after, p in masks:
        assert p == 0.4
        kept = after != 0
        assert abs(kept.mean() - 0.6) < 0.02
        assert_close(after[kept], before[kept] / 0.6)
    # train-mode output = layer by layer with the same dropout masks (an exact check of where dropout goes)
    masks.clear()
    out, _ = nm(npg.tensor(x))
    y = npg.tensor(x)
    for layer, (before, after, _) in enumerate(masks + [(None, None, None)]):
        one = nn.LSTM(3 if layer == 0 else 6, 6)
        one.load_state_dict({k: getattr(nm, k.replace("l0", f"l{layer}")).data for k in one.state_dict()})
        y = one(y)[0]
        if after is not None:
            y = y * np.where(after != 0, 1 / 0.6, 0.0).reshape(y.shape)
    assert_close(out, y.data)
    o1, o2 = nm(npg.tensor(x))[0], nm(npg.tensor(x))[0]
    assert not np.allclose(o1.data, o2.data)


def test_dropout_warns_for_one_layer_and_p_one_matches_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)
    tm, nm = pair("GRU", np.float64, 3, 4, num_layers=2, dropout=1.0)  # train mode, everything dropped
    x = np.random.default_rng(11).standard_normal((5, 2, 3))
    assert_close(nm(npg.tensor(x))[0], tm(torch.tensor(x))[0].detach().numpy())


# ------------------------------------------------------------------------------ errors
def test_errors_name_the_layer_and_shapes():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 5"):
        lstm(npg.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match=r"LSTM: Expected h_0 of size \(2, 1, 4\), got \(1, 1, 4\)"):
        lstm(npg.zeros((2, 1, 3)), (npg.zeros((1, 1, 4)), npg.zeros((2, 1, 4))))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D"):
        lstm(npg.zeros((2, 1, 3, 1)))
    with pytest.raises(TypeError, match=r"LSTM: input dtype \(float32\) does not match weight dtype \(float64\)"):
        lstm(npg.zeros((2, 1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="GRU: for batched 3-D input, h_0 should also be 3-D"):
        nn.GRU(3, 4)(npg.zeros((2, 1, 3)), npg.zeros((1, 4)))
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="sequence length to be larger than 0"):
        nn.RNN(3, 4)(npg.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match="LSTMCell: input has inconsistent input_size: got 2 expected 3"):
        nn.LSTMCell(3, 4)(npg.zeros((5, 2)))


def test_weight_modified_in_place_after_forward_is_an_error():
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(npg.randn(3, 2, 3))
    with npg.no_grad():
        lstm.weight_hh_l0 *= 2
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def test_one_fused_op_per_step():
    """A 2-layer LSTM over 30 steps records O(layers * steps) ops: one per step, not dozens."""
    lstm = nn.LSTM(3, 4, num_layers=2)
    out, (h, c) = lstm(npg.randn(30, 2, 3))
    seen, stack, ops = set(), [out, h, c], []
    while stack:
        t = stack.pop()
        if id(t) in seen or t._vjps is None:
            continue
        seen.add(id(t))
        ops.append(t._op)
        stack.extend(p for p in t._parents if isinstance(p, npg.Tensor))
    assert ops.count("lstm_step") == 60
    assert len(ops) <= 60 + 10
