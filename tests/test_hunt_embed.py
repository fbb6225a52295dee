"""Embedding / embedding_bag / row-sparse gradients against torch 2.13: outputs, weight gradients (sparse ones
densified), the weight after max_norm's in-place renorm and after optimizer steps, float32 and float64.

Where torch 2.13's CPU embedding_bag is wrong (scale_grad_by_freq divides by the count of another index,
pytorch/pytorch#190063), the oracle is torch's F.embedding(scale_grad_by_freq=True) summed per bag."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F

DTYPES = [(np.float32, 1e-5), (np.float64, 1e-10)]


def _dense(g):
    return g if isinstance(g, np.ndarray) else g.to_dense()


def _tdense(g):
    return (g.to_dense() if g.is_sparse else g).numpy()


@pytest.mark.parametrize("dt,tol", DTYPES)
def test_embedding_matches_torch(dt, tol):
    rng = np.random.default_rng(0)
    V, D = 7, 3
    for pad, (mn, nt), sgf, sp, (shape, it) in itertools.product(
            [None, 2, -1], [(None, 2), (1.0, 2), (1.0, 1), (0.5, float("inf"))], [False, True], [False, True],
            [((5,), np.int32), ((2, 2, 3), np.int64)]):
        if sgf and sp:
            continue
        W = (rng.normal(size=(V, D)) * 2).astype(dt)
        idx = rng.integers(0, V, size=shape).astype(it)
        idx.flat[1] = idx.flat[0]                      # a repeated row
        if pad is not None:
            idx.flat[3] = pad % V
        G = rng.normal(size=shape + (D,)).astype(dt)
        tw, nw = torch.tensor(W.copy(), requires_grad=True), npg.tensor(W.copy(), requires_grad=True)
        for _ in range(2):                             # two backward calls accumulate
            (TF.embedding(torch.tensor(idx), tw, pad, mn, nt, sgf, sp) * torch.tensor(G)).sum().backward()
            out = F.embedding(npg.tensor(idx), nw, pad, mn, nt, sgf, sp)
            (out * npg.tensor(G)).sum().backward()
        assert out.dtype == dt
        np.testing.assert_allclose(out.data, TF.embedding(torch.tensor(idx), tw.detach()).numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(nw.data, tw.detach().numpy(), rtol=tol, atol=tol)   # renormed in place
        np.testing.assert_allclose(_dense(nw.grad), _tdense(tw.grad), rtol=tol, atol=tol)


def test_embedding_bad_indices_name_the_op_and_value():
    w = npg.tensor(np.ones((4, 2)), requires_grad=True)
    with pytest.raises(IndexError, match="embedding: index 4 is out of range"):
        F.embedding(npg.tensor(np.array([0, 4])), w)
    with pytest.raises(IndexError, match="embedding: index -1 is out of range"):
        F.embedding(npg.tensor(np.array([-1, 0])), w)
    with pytest.raises(TypeError, match="embedding: indices must be integers"):
        F.embedding(npg.tensor(np.array([0.0])), w)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        F.embedding(npg.tensor(np.array([0, 1])), w, scale_grad_by_freq=True, sparse=True).sum().backward()


def _bag_oracle(idx, W, off, mode, pad, psw, sgf):
    """torch's F.embedding (its scale_grad_by_freq is right) reduced per bag: the reference for embedding_bag."""
    tw = torch.tensor(W, requires_grad=True)
    flat = idx.reshape(-1)
    if off is None:
        seg = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
        B = idx.shape[0]
    else:
        ends = np.append(off[1:], flat.size)
        seg = np.repeat(np.arange(off.size), ends - off)
        B = off.size
    rows = TF.embedding(torch.tensor(flat), tw, scale_grad_by_freq=sgf)
    keep = torch.tensor(flat != pad if pad is not None else np.ones(flat.size, bool)).to(rows.dtype)[:, None]
    rows = rows * keep
    if psw is not None:
        rows = rows * psw.reshape(-1)[:, None]
    out = torch.zeros(B, W.shape[1], dtype=rows.dtype).index_add(0, torch.tensor(seg), rows)
    if mode == "mean":
        cnt = torch.zeros(B, dtype=rows.dtype).index_add(0, torch.tensor(seg), keep[:, 0])
        out = out / cnt.clamp(min=1)[:, None]
    return tw, out


@pytest.mark.parametrize("dt,tol", DTYPES)
def test_embedding_bag_sum_mean_with_freq_scaling(dt, tol):
    rng = np.random.default_rng(1)
    V, D = 6, 3
    for mode, pad, sp, psw, layout in itertools.product(["sum", "mean"], [None, 1], [False, True], [False, True],
                                                        ["2d", "off", "empty"]):
        if psw and mode != "sum":
            continue
        for sgf in ([False] if sp else [False, True]):
            W = rng.normal(size=(V, D)).astype(dt)
            idx = rng.integers(0, V, size=(3, 4) if layout == "2d" else (9,))
            off = None if layout == "2d" else (np.array([0, 2, 2, 5]) if layout == "empty" else np.array([0, 3, 6]))
            idx.flat[1] = idx.flat[0]
            if pad is not None:
                idx.flat[2] = idx.flat[5] = pad
            ps = rng.normal(size=idx.shape).astype(dt) if psw else None
            tw, ref = _bag_oracle(idx, W, off, mode, pad, None if ps is None else torch.tensor(ps), sgf)
            nw = npg.tensor(W.copy(), requires_grad=True)
            out = F.embedding_bag(npg.tensor(idx), nw, None if off is None else npg.tensor(off), mode=mode,
                                  scale_grad_by_freq=sgf, sparse=sp,
                                  per_sample_weights=None if ps is None else npg.tensor(ps), padding_idx=pad)
            G = rng.normal(size=ref.shape).astype(dt)
            (ref * torch.tensor(G)).sum().backward()
            (out * npg.tensor(G)).sum().backward()
            assert out.dtype == dt
            np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
            np.testing.assert_allclose(_dense(nw.grad), tw.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dt,tol", DTYPES)
def test_embedding_bag_matches_torch_max_ties_renorm_last_offset(dt, tol):
    rng = np.random.default_rng(2)
    V, D = 6, 3
    for mode, pad, mn, ilo in itertools.product(["sum", "mean", "max"], [None, -2], [None, 1.0], [False, True]):
        W = np.round(rng.normal(size=(V, D)) * 2).astype(dt)    # integer entries: ties in max bags
        idx = rng.integers(0, V, size=(9,))
        idx[1] = idx[0]
        if pad is not None:
            idx[2] = idx[5] = pad % V
        off = np.array([0, 2, 2, 5] + ([9] if ilo else []))
        tw, nw = torch.tensor(W.copy(), requires_grad=True), npg.tensor(W.copy(), requires_grad=True)
        ref = TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(off), mn, 2, False, mode,
                               include_last_offset=ilo, padding_idx=pad)
        out = F.embedding_bag(npg.tensor(idx), nw, npg.tensor(off), mn, 2, False, mode,
                              include_last_offset=ilo, padding_idx=pad)
        G = rng.normal(size=ref.shape).astype(dt)
        (ref * torch.tensor(G)).sum().backward()
        (out * npg.tensor(G)).sum().backward()
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(nw.data, tw.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(_dense(nw.grad), tw.grad.numpy(), rtol=tol, atol=tol)


OPTIMS = [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, maximize=True)), ("SparseAdam", dict(lr=0.1)),
    ("SparseAdam", dict(lr=0.1, betas=(0.5, 0.7), eps=1e-3, maximize=True)), ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.3, eps=1e-3, maximize=True)),
]


@pytest.mark.parametrize("dt,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("name,kw", OPTIMS)
def test_sparse_embedding_optimizer_steps_match_torch(name, kw, dt, tol):
    rng = np.random.default_rng(3)
    V, D = 8, 3
    W = rng.normal(size=(V, D)).astype(dt)
    te = torch.nn.Embedding(V, D, padding_idx=1, sparse=True, _weight=torch.tensor(W.copy()))
    ne = nn.Embedding(V, D, padding_idx=1, sparse=True, _weight=W.copy(), dtype=dt)
    topt, nopt = getattr(torch.optim, name)([te.weight], **kw), getattr(npg.optim, name)([ne.weight], **kw)
    for s in range(4):
        topt.zero_grad()
        nopt.zero_grad()
        for k in range(1 + s % 2):                   # odd steps: two backward calls accumulate
            idx = rng.integers(0, 5, size=(2, 4))    # rows 5..7 never move
            G = rng.normal(size=(2, 4, D)).astype(dt)
            (te(torch.tensor(idx)) * torch.tensor(G)).sum().backward()
            (ne(npg.tensor(idx)) * npg.tensor(G)).sum().backward()
        np.testing.assert_allclose(_dense(ne.weight.grad), _tdense(te.weight.grad), rtol=tol, atol=tol)
        topt.step()
        nopt.step()
        np.testing.assert_allclose(ne.weight.data, te.weight.detach().numpy(), rtol=tol, atol=tol)


def test_sparse_zero_grad_keep_and_clip_norm_as_dense():
    rng = np.random.default_rng(4)
    W = rng.normal(size=(6, 3))
    idx = np.array([[1, 1, 4], [2, 1, 0]])
    ne = nn.Embedding(6, 3, sparse=True, _weight=W.copy(), dtype=np.float64)
    te = torch.nn.Embedding(6, 3, _weight=torch.tensor(W.copy()))         # the dense model as the oracle
    ne(npg.tensor(idx)).pow(2).sum().backward()
    te(torch.tensor(idx)).pow(2).sum().backward()
    for nt in [2.0, 1.0, float("inf")]:
        tg, ng = te.weight.grad.clone(), ne.weight.grad.copy()
        total = npg.nn.utils.clip_grad_norm_([ne.weight], 0.5, nt)
        ttotal = torch.nn.utils.clip_grad_norm_([te.weight], 0.5, nt)
        np.testing.assert_allclose(float(np.asarray(getattr(total, "data", total))), float(ttotal), rtol=1e-12)
        np.testing.assert_allclose(_dense(ne.weight.grad), te.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
        te.weight.grad, ne.weight.grad = tg, ng
    npg.optim.SGD([ne.weight], lr=0.1).zero_grad(set_to_none=False)
    assert not np.any(_dense(ne.weight.grad))
    ne(npg.tensor(idx)).sum().backward()
    expect = np.zeros((6, 3))
    np.add.at(expect, idx.reshape(-1), 1.0)
    np.testing.assert_allclose(_dense(ne.weight.grad), expect)


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained_matches_torch(freeze):
    W = np.random.default_rng(5).normal(size=(5, 2)) * 3
    te = torch.nn.Embedding.from_pretrained(torch.tensor(W), freeze=freeze, padding_idx=-1, max_norm=1.0)
    ne = nn.Embedding.from_pretrained(W.copy(), freeze=freeze, padding_idx=-1, max_norm=1.0)
    assert ne.weight.requires_grad == te.weight.requires_grad and ne.padding_idx == te.padding_idx
    idx = np.array([4, 0, 0, 2])
    out, ref = ne(npg.tensor(idx)), te(torch.tensor(idx))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ne.weight.data, te.weight.detach().numpy(), rtol=1e-12)
    if not freeze:
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(_dense(ne.weight.grad), te.weight.grad.numpy())


@pytest.mark.parametrize("cls", [nn.Embedding, nn.EmbeddingBag])
def test_from_pretrained_takes_an_ndarray(cls):
    # (an ndarray's .data is a memoryview: from_pretrained used to fail on it with an AttributeError)
    W = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    m = cls.from_pretrained(W)
    assert m.weight.dtype == np.float32 and not m.weight.requires_grad
    np.testing.assert_array_equal(m.weight.data, W)
    W[0, 0] = 100.0                                    # a copy, as torch's
    assert m.weight.data[0, 0] == 0.0


@pytest.mark.parametrize("cls", [nn.Embedding, nn.EmbeddingBag])
@pytest.mark.parametrize("shape", [(2,), (1, 2), (4, 2)])
def test_weight_of_the_wrong_shape_is_refused_not_broadcast(cls, shape):
    # (EmbeddingBag used to broadcast a (2,) or (1, 2) _weight into every row of its table)
    with pytest.raises(ValueError, match=r"shape of _weight .* does not match num_embeddings and embedding_dim "
                                         r"\(3, 2\)"):
        cls(3, 2, _weight=np.ones(shape))
