"""Recurrent and Transformer layers against torch.nn 2.13 in the corners the other suites leave out: hidden size,
sequence length or batch 1, LSTM projections in deep bidirectional stacks, packed batches with every kind of
lengths, malformed packed sequences, the cells' ``hx`` forms; Transformer bias=False, layer_norm_eps, callable
and Module activations, float padding masks, is_causal with a mask, torch's nested-tensor inference path."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from npgrad.nn.utils import rnn as nrnn

from .helpers import assert_close

trnn = torch.nn.utils.rnn
TDT = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: dict(rtol=3e-4, atol=3e-5), np.float64: {}}
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning",
                                        "ignore:dropout option adds dropout:UserWarning",
                                        "ignore:LSTM with projections:UserWarning",
                                        "ignore:Support for mismatched:UserWarning",
                                        "ignore:The PyTorch API of nested tensors:UserWarning")


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


def _tuple(x):
    return x if isinstance(x, tuple) else (x,)


def rnn_pair(mode, dtype, *args, **kw):
    """torch and npgrad modules with the same (torch's) weights, both in eval mode."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = getattr(tnn, mode)(*args, **kw).to(TDT[dtype])
        nm = getattr(nn, mode)(*args, dtype=dtype, **kw)
    r = nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert not r.missing_keys and not r.unexpected_keys
    assert list(nm.state_dict()) == list(tm.state_dict())
    return tm.eval(), nm.eval()


def compare_run(mode, tm, nm, x, hx_shapes, dtype, packed=None, batch_first=False):
    """Same output, final states and gradients (input, initial states, every parameter) as torch. ``packed``:
    (lengths as given to npgrad, lengths for torch, enforce_sorted)."""
    rng = np.random.default_rng(0)
    nx, tx = npg.tensor(x), torch.tensor(x, requires_grad=True)
    nh = th = None
    pairs = []
    if hx_shapes is not None:
        arrs = [rng.standard_normal(s).astype(dtype) for s in hx_shapes]
        pairs = [(npg.tensor(a), torch.tensor(a, requires_grad=True)) for a in arrs]
        nh = tuple(p[0] for p in pairs) if mode == "LSTM" else pairs[0][0]
        th = tuple(p[1] for p in pairs) if mode == "LSTM" else pairs[0][1]
    ni, ti = nx, tx
    if packed is not None:
        nlens, tlens, es = packed
        ni = nrnn.pack_padded_sequence(nx, nlens, batch_first=batch_first, enforce_sorted=es)
        ti = trnn.pack_padded_sequence(tx, tlens, batch_first=batch_first, enforce_sorted=es)
    nout, nhn = nm(ni, nh)
    tout, thn = tm(ti, th)
    if packed is not None:
        assert isinstance(nout, nrnn.PackedSequence)
        nout, nl = nrnn.pad_packed_sequence(nout, batch_first=batch_first, padding_value=0.25)
        tout, tl = trnn.pad_packed_sequence(tout, batch_first=batch_first, padding_value=0.25)
        assert np.array_equal(nl.numpy(), tl.numpy())
    outs = (nout,) + _tuple(nhn)
    touts = (tout,) + _tuple(thn)
    for k, (a, b) in enumerate(zip(outs, touts)):
        assert a.dtype == dtype
        assert_close(a, b.detach().numpy(), what=f"{mode} output {k}", **TOL[dtype])
    ws = [rng.standard_normal(tuple(t.shape)) for t in touts]
    sum((a * w.astype(dtype)).sum() for a, w in zip(outs, ws)).backward()
    sum((b * torch.tensor(w, dtype=TDT[dtype])).sum() for b, w in zip(touts, ws)).backward()
    assert_close(nx.grad, tx.grad.numpy(), what=f"{mode} grad input", **TOL[dtype])
    for a, b in pairs:
        assert_close(a.grad, b.grad.numpy(), what=f"{mode} grad initial state", **TOL[dtype])
    tparams = dict(tm.named_parameters())
    for name, p in nm.named_parameters():
        assert_close(p.grad, tparams[name].grad.numpy(), what=f"{mode} grad {name}", **TOL[dtype])


def state_shapes(mode, LD, B, H, P, unbatched=False):
    shapes = [(LD, B, P), (LD, B, H)] if mode == "LSTM" else [(LD, B, H)]
    return [(s[0], s[2]) for s in shapes] if unbatched else shapes


# (mode, constructor kwargs): several layers with dropout (inactive in eval), hidden size 1, projections with
# several bidirectional layers, bias=False, relu
CONFIGS = [("RNN", dict(hidden_size=1)), ("GRU", dict(hidden_size=1, num_layers=3, dropout=0.3)),
           ("LSTM", dict(hidden_size=1, bidirectional=True)),
           ("RNN", dict(hidden_size=3, num_layers=2, bidirectional=True, nonlinearity="relu", dropout=0.3)),
           ("GRU", dict(hidden_size=2, num_layers=3, bidirectional=True, batch_first=True, bias=False)),
           ("LSTM", dict(hidden_size=4, num_layers=3, bidirectional=True, proj_size=2, dropout=0.3)),
           ("LSTM", dict(hidden_size=3, num_layers=2, bidirectional=True, batch_first=True, bias=False,
                         proj_size=1))]
CFG_IDS = [f"{m}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for m, kw in CONFIGS]


def _dims(kw):
    H = kw["hidden_size"]
    return H, kw.get("proj_size", 0) or H, kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)


@pytest.mark.parametrize("mode,kw", CONFIGS, ids=CFG_IDS)
@pytest.mark.parametrize("T,B", [(1, 1), (4, 3), (1, 3)])
@pytest.mark.parametrize("hx", [False, True], ids=["no-hx", "hx"])
def test_layers_small_shapes_match_torch(mode, kw, T, B, hx, dtype):
    I = 3
    tm, nm = rnn_pair(mode, dtype, I, **kw)
    H, P, LD = _dims(kw)
    x = np.random.default_rng(1).standard_normal((B, T, I) if kw.get("batch_first") else (T, B, I)).astype(dtype)
    compare_run(mode, tm, nm, x, state_shapes(mode, LD, B, H, P) if hx else None, dtype)


@pytest.mark.parametrize("mode,kw", CONFIGS, ids=CFG_IDS)
@pytest.mark.parametrize("hx", [False, True], ids=["no-hx", "hx"])
def test_unbatched_input_matches_torch(mode, kw, hx, dtype):
    tm, nm = rnn_pair(mode, dtype, 3, **kw)
    H, P, LD = _dims(kw)
    x = np.random.default_rng(2).standard_normal((4, 3)).astype(dtype)  # batch_first does not apply
    compare_run(mode, tm, nm, x, state_shapes(mode, LD, 1, H, P, unbatched=True) if hx else None, dtype)


LENGTHS = [([5, 3, 3, 1], True), ([2, 5, 1, 4], False), ([5, 5, 5, 5], True), ([5, 5, 5, 5], False),
           ([1, 1, 1, 1], False), ([3, 5, 5, 1], False)]


@pytest.mark.parametrize("mode,kw", [CONFIGS[1], CONFIGS[3], CONFIGS[5], CONFIGS[6]],
                         ids=[CFG_IDS[1], CFG_IDS[3], CFG_IDS[5], CFG_IDS[6]])
@pytest.mark.parametrize("lengths,enforce_sorted", LENGTHS, ids=[f"{lens}-{es}" for lens, es in LENGTHS])
@pytest.mark.parametrize("kind", ["list", "ndarray", "Tensor"])
def test_packed_input_matches_torch(mode, kw, lengths, enforce_sorted, kind):
    """h_n comes back in the original batch order, whatever the order of the lengths and their type."""
    dtype = np.float64 if kind != "list" else np.float32
    T, B, I = 5, 4, 3
    tm, nm = rnn_pair(mode, dtype, I, **kw)
    H, P, LD = _dims(kw)
    bf = kw.get("batch_first", False)
    x = np.random.default_rng(3).standard_normal((B, T, I) if bf else (T, B, I)).astype(dtype)
    nlens = {"list": list(lengths), "ndarray": np.array(lengths), "Tensor": npg.tensor(np.array(lengths))}[kind]
    compare_run(mode, tm, nm, x, state_shapes(mode, LD, B, H, P), dtype,
                packed=(nlens, torch.tensor(lengths), enforce_sorted), batch_first=bf)


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
def test_packed_sequence_with_a_trailing_empty_step_matches_torch(mode):
    """batch_sizes may end with zeros (torch accepts it): the output and the final states are unchanged."""
    tm, nm = rnn_pair(mode, np.float64, 2, 3, num_layers=2, bidirectional=True)
    data = np.random.default_rng(4).standard_normal((6, 2))
    bs = [3, 2, 1, 0]
    nout, nhn = nm(nrnn.PackedSequence(npg.tensor(data), np.array(bs)))
    tout, thn = tm(trnn.PackedSequence(torch.tensor(data), torch.tensor(bs)))
    assert_close(nout.data, tout.data.detach().numpy())
    for a, b in zip(_tuple(nhn), _tuple(thn)):
        assert_close(a, b.detach().numpy())
    padded, lens = nrnn.pad_packed_sequence(nout)
    tpadded, tlens = trnn.pad_packed_sequence(tout)
    assert_close(padded, tpadded.detach().numpy())
    assert np.array_equal(lens.numpy(), tlens.numpy())


@pytest.mark.parametrize("rows,batch_sizes,match", [
    (10, [3, 3, 3], "expected 9 rows"), (8, [3, 3, 3], "expected 9 rows"),
    (3, [1, 2], "non-increasing"), (4, [2, 0, 2], "non-increasing"), (3, [3, -1, 1], "non-negative"),
    (3, [[2, 1]], "1-D")])
def test_malformed_packed_sequence_is_a_clear_error(rows, batch_sizes, match):
    """Before: a GRU silently ran over extra rows or raised a bare NumPy broadcast error, and
    pad_packed_sequence silently used its padding row as data when rows were missing."""
    data = npg.zeros((rows, 2))
    with pytest.raises(ValueError, match=match):
        nrnn.PackedSequence(data, np.array(batch_sizes))
    good = nrnn.pack_sequence([npg.ones((3, 2)), npg.ones((2, 2))])  # a packed sequence made valid, then broken
    broken = tuple.__new__(nrnn.PackedSequence, (data, npg.tensor(np.array(batch_sizes)), None, None))
    with pytest.raises(ValueError, match=match):
        nrnn.pad_packed_sequence(broken)
    assert nrnn.pad_packed_sequence(good)[0].shape == (3, 2, 2)


def test_packed_sequence_indices_must_be_permutations():
    """Before: a sorted_indices with a repeat gave unsorted_indices holding uninitialised memory."""
    data = npg.zeros((3, 2))
    with pytest.raises(ValueError, match=r"sorted_indices must be a permutation of 0\.\.1, got \[0, 0\]"):
        nrnn.PackedSequence(data, np.array([2, 1]), np.array([0, 0]))
    with pytest.raises(ValueError, match=r"sorted_indices must be a permutation of 0\.\.1, got \[0, 1, 2\]"):
        nrnn.PackedSequence(data, np.array([2, 1]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="unsorted_indices .* must undo sorted_indices"):
        nrnn.PackedSequence(data, np.array([2, 1]), np.array([1, 0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="permutation"):
        nrnn.invert_permutation(np.array([2, 2, 0]))
    ps = nrnn.PackedSequence(data, np.array([2, 1]), np.array([1, 0]))
    assert ps.unsorted_indices.numpy().tolist() == [1, 0]
    assert nrnn.invert_permutation(np.array([2, 0, 1])).numpy().tolist() == \
        trnn.invert_permutation(torch.tensor([2, 0, 1])).tolist()


def test_lengths_arguments_are_checked():
    """Before: 2-D lengths were flattened, and unpad_sequence dropped the sequences it had no length for."""
    with pytest.raises(ValueError, match="lengths must be 1-D"):
        nrnn.pack_padded_sequence(npg.zeros((5, 2)), [[5, 2]])
    with pytest.raises(ValueError, match=r"unpad_sequence: expected 3 lengths"):
        nrnn.unpad_sequence(npg.zeros((4, 3, 2)), [4, 1])
    with pytest.raises(ValueError, match=r"unpad_sequence: expected 2 lengths"):
        nrnn.unpad_sequence(npg.zeros((2, 4, 3)), [4, 1, 2], batch_first=True)
    x = np.random.default_rng(5).standard_normal((4, 3, 2))
    got = nrnn.unpad_sequence(npg.tensor(x), np.array([4, 1, 2]))
    want = trnn.unpad_sequence(torch.tensor(x), torch.tensor([4, 1, 2]))
    for a, b in zip(got, want):
        assert_close(a, b.numpy())


def test_packed_sequence_dtype_conversions_as_torch():
    seqs = [np.arange(3.0), np.arange(2.0)]
    n = nrnn.pack_sequence([npg.tensor(s) for s in seqs])
    t = trnn.pack_sequence([torch.tensor(s) for s in seqs])
    for m in ["float", "double", "half", "long", "int", "short", "char", "byte", "cpu"]:
        a, b = getattr(n, m)(), getattr(t, m)()
        assert isinstance(a, nrnn.PackedSequence)
        assert str(a.data.dtype) == str(b.data.dtype).replace("torch.", ""), m
        assert np.array_equal(a.data.numpy(), b.data.numpy()) and np.array_equal(a.batch_sizes.numpy(),
                                                                                  b.batch_sizes.numpy())


# ------------------------------------------------------------------------------------------- cells
@pytest.mark.parametrize("cls", ["RNNCell", "GRUCell"])
def test_cell_hx_given_as_a_tuple_is_a_clear_error(cls):
    """Before: a misleading 'converted to a NumPy array' error."""
    with pytest.raises(TypeError, match=f"{cls}: hx must be a Tensor"):
        getattr(nn, cls)(3, 4)(npg.zeros((2, 3)), (npg.zeros((2, 4)),))
    fn = F.gru_cell if cls == "GRUCell" else F.rnn_tanh_cell
    G = 3 if cls == "GRUCell" else 1
    with pytest.raises(TypeError, match="hx must be a Tensor or None, not a tuple"):
        fn(npg.zeros((2, 3)), (npg.zeros((2, 4)),), npg.zeros((G * 4, 3)), npg.zeros((G * 4, 4)))


def test_lstm_cell_hx_must_be_a_pair():
    """Before: F.lstm_cell silently split a (2, B, H) Tensor hx into h and c; torch raises."""
    x, w_ih, w_hh = npg.randn(3, 2), npg.randn(16, 2), npg.randn(16, 4)
    with pytest.raises(TypeError, match=r"lstm_cell: hx must be a tuple \(h, c\) of two Tensors, got Tensor"):
        F.lstm_cell(x, npg.randn(2, 3, 4), w_ih, w_hh)
    with pytest.raises(TypeError):
        torch.lstm_cell(torch.randn(3, 2), torch.randn(2, 3, 4), torch.randn(16, 2), torch.randn(16, 4))
    with pytest.raises(TypeError, match="of length 3"):
        F.lstm_cell(x, (npg.randn(3, 4),) * 3, w_ih, w_hh)
    with pytest.raises(TypeError, match=r"LSTMCell: hx must be a tuple \(h_0, c_0\)"):
        nn.LSTMCell(2, 4)(x, npg.randn(3, 4))
    h, c = F.lstm_cell(x, [npg.zeros((3, 4)), npg.zeros((3, 4))], w_ih, w_hh)  # a list is a pair too
    assert_close(npg.stack([h, c]), npg.stack(F.lstm_cell(x, None, w_ih, w_hh)).data)


def test_proj_size_of_the_wrong_type_is_named():
    with pytest.raises(TypeError, match="LSTM: proj_size should be of type int, got: float"):
        nn.LSTM(3, 4, proj_size=1.5)


def test_flatten_parameters_is_a_no_op_and_names_match_torch():
    tm, nm = rnn_pair("LSTM", np.float64, 3, 4, num_layers=2, bidirectional=True, proj_size=2)
    x = npg.tensor(np.random.default_rng(6).standard_normal((3, 2, 3)))
    before = nm(x)[0].data.copy()
    assert nm.flatten_parameters() is None
    assert_close(nm(x)[0], before)
    assert [n for n, _ in nm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert "weight_hr_l1_reverse" in nm.state_dict()
    assert [[tuple(p.shape) for p in ws] for ws in nm.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in tm.all_weights]


def test_dropout_in_train_mode_runs_and_differs_also_packed():
    m = nn.GRU(3, 5, num_layers=2, dropout=0.5, bidirectional=True)
    pk = nrnn.pack_padded_sequence(npg.randn(5, 3, 3), [2, 5, 1], enforce_sorted=False)
    (o1, h1), (o2, h2) = m(pk), m(pk)
    assert not np.allclose(o1.data.data, o2.data.data) and not np.allclose(h1.data, h2.data)
    m.eval()
    assert_close(m(pk)[0].data, m(pk)[0].data.data)


# ------------------------------------------------------------------------------------- Transformer
def tf_pair(make, dtype):
    """``make(lib)`` builds the module with ``lib`` = torch.nn or npgrad.nn; torch's weights (every 1-D
    parameter randomised, so a wrong bias or LayerNorm scale shows) loaded into npgrad's; both in eval."""
    torch.manual_seed(0)
    tm = make(tnn).to(TDT[dtype])
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _, p in tm.named_parameters():
            if p.ndim == 1:
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) + 0.5)
    nm = make(nn)
    r = nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert not r.missing_keys and not r.unexpected_keys
    return tm.eval(), nm.eval()


def _masks(kind, L, S, N, rng):
    """(attn_mask, key_padding_mask) arrays: bool, float with finite values and -inf, or causal."""
    am = rng.random((L, S)) < 0.3
    am[:, 0] = False
    kp = np.zeros((N, S), bool)
    kp[0, -2:] = True
    kp[-1, -1] = True
    if kind == "bool-attn+float-kpm":
        return am, np.where(kp, -np.inf, 0.0)
    if kind == "float-attn+bool-kpm":
        return np.where(am, -np.inf, rng.standard_normal((L, S)) * 0.5), kp
    return np.triu(np.full((L, S), -np.inf), 1), None  # causal


def _act(kind, lib):
    if kind == "module":
        return lib.GELU(approximate="tanh")
    return (lambda t: t.tanh() * 2) if kind == "callable" else kind


TF_OPTS = [dict(norm_first=False, batch_first=False, act="relu", bias=True, eps=1e-5),
           dict(norm_first=True, batch_first=True, act="gelu", bias=False, eps=1e-3),
           dict(norm_first=True, batch_first=False, act="callable", bias=False, eps=0.1),
           dict(norm_first=False, batch_first=True, act="module", bias=True, eps=1e-5)]


@pytest.mark.parametrize("opts", TF_OPTS, ids=[f"{o['act']}-nf={o['norm_first']}-bf={o['batch_first']}-bias="
                                               f"{o['bias']}" for o in TF_OPTS])
@pytest.mark.parametrize("masks", ["bool-attn+float-kpm", "float-attn+bool-kpm", "causal"])
@pytest.mark.parametrize("what", ["EncoderLayer", "Encoder", "DecoderLayer", "Decoder", "Transformer"])
def test_transformer_modules_match_torch(opts, masks, what, dtype):
    E, nhead, L, S, N = 8, 2, 4, 5, 3
    if what in ("Decoder", "Transformer") and opts["act"] == "module":
        # torch's TransformerDecoderLayer.__setstate__ replaces a Module activation by relu in the deep copies
        # TransformerDecoder makes (torch 2.13): compare with the same function given as a string
        opts = dict(opts, act="gelu")
    bf, eps, bias = opts["batch_first"], opts["eps"], opts["bias"]
    kw = dict(dim_feedforward=12, dropout=0.1, layer_norm_eps=eps, batch_first=bf, norm_first=opts["norm_first"],
              bias=bias)
    makers = {
        "EncoderLayer": lambda lib: lib.TransformerEncoderLayer(E, nhead, activation=_act(opts["act"], lib), **kw),
        "Encoder": lambda lib: lib.TransformerEncoder(
            lib.TransformerEncoderLayer(E, nhead, activation=_act(opts["act"], lib), **kw), 2,
            norm=lib.LayerNorm(E, eps=eps, bias=bias)),
        "DecoderLayer": lambda lib: lib.TransformerDecoderLayer(E, nhead, activation=_act(opts["act"], lib), **kw),
        "Decoder": lambda lib: lib.TransformerDecoder(
            lib.TransformerDecoderLayer(E, nhead, activation=_act(opts["act"], lib), **kw), 2,
            norm=lib.LayerNorm(E, eps=eps, bias=bias)),
        "Transformer": lambda lib: lib.Transformer(E, nhead, 2, 1, activation=_act(opts["act"], lib), **kw)}
    old, _ = npg.get_default_dtype(), npg.set_default_dtype(dtype)
    try:
        tm, nm = tf_pair(makers[what], dtype)
    finally:
        npg.set_default_dtype(old)
    rng = np.random.default_rng(7)
    src = rng.standard_normal((N, L, E) if bf else (L, N, E)).astype(dtype)
    tgt = rng.standard_normal((N, S, E) if bf else (S, N, E)).astype(dtype)
    sm, skp = _masks(masks, L, L, N, rng)
    tmk, tkp = _masks(masks, S, S, N, rng)
    mm, mkp = _masks(masks, S, L, N, rng)
    enc_kw = dict(src_key_padding_mask=skp)
    dec_kw = dict(tgt_mask=tmk, tgt_key_padding_mask=tkp, memory_key_padding_mask=mkp,
                  memory_mask=None if masks == "causal" else mm)
    inputs, call_kw = {
        "EncoderLayer": ([src], dict(enc_kw, src_mask=sm)), "Encoder": ([src], dict(enc_kw, mask=sm)),
        "DecoderLayer": ([tgt, src], dec_kw), "Decoder": ([tgt, src], dec_kw),
        "Transformer": ([src, tgt], dict(dec_kw, src_mask=sm, **enc_kw))}[what]
    call_kw = {k: (v.astype(dtype) if v.dtype != bool else v) for k, v in call_kw.items() if v is not None}
    xs = [npg.tensor(a) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = nm(*xs, **call_kw)
    tout = tm(*ts, **{k: torch.tensor(v) for k, v in call_kw.items()})
    assert out.dtype == dtype
    assert_close(out, tout.detach().numpy(), what="output", **TOL[dtype])
    w = rng.standard_normal(out.shape)
    (out * w.astype(dtype)).sum().backward()
    (tout * torch.tensor(w, dtype=TDT[dtype])).sum().backward()
    for k, (a, b) in enumerate(zip(xs, ts)):
        assert_close(a.grad, b.grad.numpy(), what=f"grad input {k}", **TOL[dtype])
    tparams = dict(tm.named_parameters())
    assert [n for n, _ in nm.named_parameters()] == list(tparams)
    for name, p in nm.named_parameters():
        assert_close(p.grad, tparams[name].grad.numpy(), what=f"grad {name}", **TOL[dtype])


def test_decoder_stack_keeps_a_module_activation():
    """npgrad's deep copies keep an ``nn.GELU()`` activation (torch 2.13's fall back to relu): the stack equals
    torch's built with ``activation='gelu'``."""
    make = lambda lib, act: lib.TransformerDecoder(lib.TransformerDecoderLayer(8, 2, 12, 0.0, act), 2)  # noqa: E731
    tm, _ = tf_pair(lambda lib: make(lib, "gelu"), np.float64)
    nm = make(nn, nn.GELU())
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert isinstance(nm.layers[1].activation, nn.GELU)
    x, m = np.random.default_rng(8).standard_normal((2, 5, 3, 8))[:, :4]
    assert_close(nm(npg.tensor(x), npg.tensor(m)), tm(torch.tensor(x), torch.tensor(m)).detach().numpy())


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_eval_without_grad_matches_torch_slow_and_nested_paths(norm_first):
    """torch's inference path (nested tensors) zeroes the padded positions and equals its slow path elsewhere;
    npgrad computes every position as the slow path does. A float mask with finite values is applied (torch's
    fused layer path departs from its own slow path there)."""
    E, L, N = 8, 5, 3
    make = lambda lib: lib.TransformerEncoder(  # noqa: E731
        lib.TransformerEncoderLayer(E, 2, 12, 0.1, batch_first=True, norm_first=norm_first), 2,
        norm=lib.LayerNorm(E), enable_nested_tensor=True) if lib is tnn else lib.TransformerEncoder(
        lib.TransformerEncoderLayer(E, 2, 12, 0.1, batch_first=True, norm_first=norm_first), 2, norm=lib.LayerNorm(E))
    tm, nm = tf_pair(make, np.float64)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((N, L, E))
    kp = np.zeros((N, L), bool)
    kp[0, -2:] = True
    kp[1, -1] = True
    with torch.no_grad():
        fast = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kp)).numpy()
    slow = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kp)).detach().numpy()
    with npg.no_grad():
        got = nm(npg.tensor(x), src_key_padding_mask=kp).data
    assert_close(got, slow)
    assert_close(got[~kp], fast[~kp])
    fm = np.where(rng.random((L, L)) < 0.3, -np.inf, rng.standard_normal((L, L)))
    fm[:, 0] = 0.0
    with npg.no_grad():
        got = nm(npg.tensor(x), mask=fm).data
    assert_close(got, tm(torch.tensor(x), mask=torch.tensor(fm)).detach().numpy())


@pytest.mark.parametrize("padding", [False, True])
def test_is_causal_hint_with_a_mask_as_torch(padding):
    """torch: with is_causal=True and a mask but no key padding mask, the causal mask is what is applied;
    with a key padding mask, the given mask is."""
    tm, nm = tf_pair(lambda lib: lib.TransformerEncoderLayer(8, 2, 12, 0.0), np.float64)
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 2, 8))
    m = rng.random((4, 4)) < 0.4
    m[:, 0] = False
    kp = np.array([[False, False, False, True], [False] * 4]) if padding else None
    got = nm(npg.tensor(x), src_mask=m, src_key_padding_mask=kp, is_causal=True)
    want = tm(torch.tensor(x), src_mask=torch.tensor(m), src_key_padding_mask=None if kp is None else
              torch.tensor(kp), is_causal=True)
    assert_close(got, want.detach().numpy())


@pytest.mark.parametrize("sz", [0, 1, 4])
@pytest.mark.parametrize("dt", [np.float16, np.float32, np.float64, np.bool_])
def test_generate_square_subsequent_mask_as_torch(sz, dt):
    got = nn.Transformer.generate_square_subsequent_mask(sz, dtype=dt)
    want = tnn.Transformer.generate_square_subsequent_mask(sz, dtype=getattr(torch, np.dtype(dt).name))
    assert got.dtype == dt and not got.requires_grad and got.shape == tuple(want.shape)
    assert np.array_equal(got.numpy(), want.numpy())
