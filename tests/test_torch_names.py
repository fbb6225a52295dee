"""Tensor conveniences under PyTorch's names against PyTorch: dim=/keepdim= aliases, gather / scatter /
scatter_add / index_select / index_add / index_fill (values, gradients, second derivatives, in-place forms),
chunk, expand, view_as, type_as, softmax methods, norm, clamp, topk's named result; and the names whose NumPy
meaning stays."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def idx(high, shape, seed=1):
    return np.random.default_rng(seed).integers(0, high, shape)


REDUCTIONS = [  # name, npgrad kwargs -> torch call
    ("sum", lambda t, d, k: t.sum(dim=d, keepdim=k)),
    ("mean", lambda t, d, k: t.mean(dim=d, keepdim=k)),
    ("prod", lambda t, d, k: t.prod(dim=d, keepdim=k)),
    ("max", lambda t, d, k: t.amax(dim=d, keepdim=k)),
    ("min", lambda t, d, k: t.amin(dim=d, keepdim=k)),
    ("amax", lambda t, d, k: t.amax(dim=d, keepdim=k)),
    ("logsumexp", lambda t, d, k: t.logsumexp(dim=d, keepdim=k)),
    ("var", lambda t, d, k: t.var(dim=d, keepdim=k, correction=0)),  # NumPy's ddof=0 stays the default
    ("std", lambda t, d, k: t.std(dim=d, keepdim=k, correction=0)),
]


@pytest.mark.parametrize("name,tfn", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@pytest.mark.parametrize("keepdim", [False, True])
def test_dim_keepdim_aliases(name, tfn, keepdim):
    a = rnd(3, 4, 2)
    for dim in (1, -1, (0, 2)) if name not in ("logsumexp",) else (1, (0, 2)):
        if name == "prod" and isinstance(dim, tuple):
            continue
        if name in ("max", "min"):  # dim= gives PyTorch's (values, indices): an int dim only, as torch.max
            if isinstance(dim, tuple):
                with pytest.raises(TypeError, match="amax"):
                    getattr(npg.tensor(a), name)(dim=dim)
                continue
            values = (lambda r: r.values)
        else:
            values = (lambda r: r)
        compare_with_torch(lambda x: values(getattr(x, name)(dim=dim, keepdim=keepdim)),
                           lambda t: tfn(t, dim, keepdim), [a], what=f"x.{name}(dim={dim})")
        if hasattr(npg, name):
            compare_with_torch(lambda x: values(getattr(npg, name)(x, dim=dim, keepdim=keepdim)),
                               lambda t: tfn(t, dim, keepdim), [a], what=f"npg.{name}(dim={dim})")
    with pytest.raises(TypeError, match="both axis= and"):
        getattr(npg.tensor(a), name)(axis=1, dim=1)


def test_more_aliases():
    a = rnd(3, 4)
    t = torch.tensor(a)
    x = npg.tensor(a)
    for name in ("argmax", "argmin"):
        assert np.array_equal(getattr(x, name)(dim=1, keepdim=True).data, getattr(t, name)(dim=1, keepdim=True))
    for name in ("cumsum", "cumprod"):
        compare_with_torch(lambda x: getattr(x, name)(dim=1), lambda t: getattr(t, name)(dim=1), [a])
    assert np.array_equal((x > 0).any(dim=0).data, (t > 0).any(dim=0))
    assert np.array_equal((x > 0).all(dim=1, keepdim=True).data, (t > 0).all(dim=1, keepdim=True))
    compare_with_torch(lambda x: npg.reshape(x, (3, 1, 4)).squeeze(dim=1), lambda t: t.reshape(3, 1, 4).squeeze(1),
                       [a])
    compare_with_torch(lambda x: x.flip(0, 1), lambda t: t.flip(0, 1), [a])
    compare_with_torch(lambda x: npg.flip(x, dims=(1,)), lambda t: torch.flip(t, dims=(1,)), [a])
    compare_with_torch(lambda x: npg.median(x, axis=1), lambda t: t.quantile(0.5, dim=1), [a])  # NumPy's keyword
    compare_with_torch(lambda x: npg.median(x, dim=1).values, lambda t: t.median(dim=1).values, [a])  # PyTorch's


def test_dim_numel_and_named_results():
    x, t = npg.tensor(rnd(2, 3, 4)), torch.tensor(rnd(2, 3, 4))
    assert x.dim() == t.dim() == 3 and x.numel() == t.numel() == 24 and x.nelement() == 24
    for k, largest in ((2, True), (3, False)):
        r, tr = x.topk(k, dim=1, largest=largest), t.topk(k, dim=1, largest=largest)
        assert_close(r.values, tr.values.numpy())
        assert np.array_equal(r.indices.data, tr.indices.numpy())
        v, i = npg.topk(x, k)  # unpacks as a tuple
        assert v.shape == i.shape == (2, 3, k)
    r, tr = x.kthvalue(2, dim=2), t.kthvalue(2, dim=2)
    assert_close(r.values, tr.values.numpy())
    assert np.array_equal(r.indices.data, tr.indices.numpy())


# --------------------------------------------------------------------------------- gather / scatter family
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dtype, dim):
    a = rnd(4, 5, 3, dtype=dtype)
    shape = [3, 4, 2]
    shape[dim] = 6  # longer than the input along dim: repeated indices accumulate in the gradient
    index = idx(a.shape[dim], shape)
    compare_with_torch(lambda x: x.gather(dim, index), lambda t: t.gather(dim, torch.tensor(index)), [a])
    compare_with_torch(lambda x: npg.gather(x, dim, index), lambda t: torch.gather(t, dim, torch.tensor(index)), [a])


def test_gather_keeps_numpy_spelling_and_errors():
    a = rnd(3, 4)
    index = idx(4, (3, 2))
    assert_close(npg.gather(npg.tensor(a), index, 1), np.take_along_axis(a, index, 1))
    assert_close(npg.take_along_axis(npg.tensor(a), index, axis=1), np.take_along_axis(a, index, 1))
    x = npg.tensor(a)
    with pytest.raises(IndexError, match="out of bounds"):
        x.gather(1, np.array([[4]]))
    with pytest.raises(IndexError, match="out of bounds"):
        x.gather(1, np.array([[-1]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, np.array([0, 1]))
    with pytest.raises(RuntimeError, match="int64"):
        x.gather(1, np.array([[0.0]]))
    with pytest.raises(RuntimeError, match="Size does not match"):
        x.gather(1, idx(4, (5, 2)))
    for bad in (np.array([[4]]), np.array([[-1]]), np.array([0, 1])):
        with pytest.raises((RuntimeError, IndexError)):
            torch.tensor(a).gather(1, torch.tensor(bad))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_and_scatter_add(dtype, dim):
    a, src = rnd(4, 5, dtype=dtype), rnd(5, 6, seed=2, dtype=dtype)
    # scatter: distinct positions per slice (PyTorch leaves repeated writes unspecified)
    perm = np.stack([np.random.default_rng(i).permutation(a.shape[dim])[:3] for i in range(4 if dim else 5)])
    index = perm if dim else perm.T
    ti = torch.tensor(index)
    part = src[: index.shape[0], : index.shape[1]]  # PyTorch differentiates only a src of index's shape
    compare_with_torch(lambda x, s: x.scatter(dim, index, s), lambda t, s: t.scatter(dim, ti, s), [a, part])
    assert_close(npg.tensor(a).scatter(dim, index, npg.tensor(src)),  # a larger src: its leading part is used
                 torch.tensor(a).scatter(dim, ti, torch.tensor(src)).numpy())
    compare_with_torch(lambda x: x.scatter(dim, index, value=2.5), lambda t: t.scatter(dim, ti, 2.5), [a])
    compare_with_torch(lambda x, s: npg.scatter(x, dim, index, s, reduce="add"),
                       lambda t, s: t.scatter_add(dim, ti, s), [a, part])  # (PyTorch's reduce= has no gradient)
    # scatter_add: repeated indices accumulate
    rep = idx(a.shape[dim], (4, 5) if dim == 0 else (4, 7), seed=3)
    src2 = rnd(*rep.shape, seed=4, dtype=dtype)
    tr = torch.tensor(rep)
    compare_with_torch(lambda x, s: x.scatter_add(dim, rep, s), lambda t, s: t.scatter_add(dim, tr, s), [a, src2])
    compare_with_torch(lambda x, s: npg.scatter_add(x, dim, rep, s), lambda t, s: torch.scatter_add(t, dim, tr, s),
                       [a, src2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_index_select_add_fill(dtype, dim):
    a = rnd(4, 5, 3, dtype=dtype)
    index = np.array([2, 0, 2, 1, 2])[: a.shape[dim] + 1]  # repeats: index_add accumulates
    ti = torch.tensor(index)
    compare_with_torch(lambda x: x.index_select(dim, index), lambda t: t.index_select(dim, ti), [a])
    compare_with_torch(lambda x: npg.index_select(x, dim, index), lambda t: torch.index_select(t, dim, ti), [a])
    src_shape = list(a.shape)
    src_shape[dim] = len(index)
    src = rnd(*src_shape, seed=5, dtype=dtype)
    compare_with_torch(lambda x, s: x.index_add(dim, index, s, alpha=2.0), lambda t, s: t.index_add(dim, ti, s,
                                                                                                  alpha=2.0), [a, src])
    compare_with_torch(lambda x: x.index_fill(dim, index, -1.5), lambda t: t.index_fill(dim, ti, -1.5), [a])
    compare_with_torch(lambda x, v: x.index_fill(dim, index, v), lambda t, v: t.index_fill(dim, ti, v),
                       [a, np.array(0.7, dtype=dtype)])


def test_scatter_errors_and_old_scatter_add():
    x = npg.tensor(rnd(3, 4))
    with pytest.raises(TypeError, match="src .* or value"):
        x.scatter(1, np.zeros((3, 1), np.int64))
    with pytest.raises(RuntimeError, match="'add' or 'multiply'"):   # (multiply: tests/test_scatter_reduce.py)
        x.scatter(1, np.zeros((3, 1), np.int64), value=1.0, reduce="mean")
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        x.index_select(0, np.zeros((2, 2), np.int64))
    with pytest.raises(IndexError, match="out of range"):
        x.index_select(1, np.array([4]))
    with pytest.raises(RuntimeError, match="source of shape"):
        x.index_add(0, np.array([0, 1]), npg.zeros((3, 4)))
    old = npg.scatter_add((3,), (np.array([0, 0, 2]),), np.array([1.0, 2.0, 3.0]))  # the internal helper form
    assert_close(old, [3.0, 0.0, 3.0])


def test_second_derivatives_match_torch():
    a, src = rnd(4, 5), rnd(4, 5, seed=1)
    index = idx(5, (4, 5), seed=2)
    sel = np.array([1, 1, 3])
    cases = [
        (lambda x, s: (x.gather(1, index) ** 3).sum() + (x.scatter_add(1, index, s) ** 3).sum(),
         lambda t, s: (t.gather(1, torch.tensor(index)) ** 3).sum()
         + (t.scatter_add(1, torch.tensor(index), s) ** 3).sum()),
        (lambda x, s: (x.index_select(1, sel) ** 3).sum() + (x.index_add(1, sel, s[:, :3]) ** 2 * s[:, :1]).sum(),
         lambda t, s: (t.index_select(1, torch.tensor(sel)) ** 3).sum()
         + (t.index_add(1, torch.tensor(sel), s[:, :3]) ** 2 * s[:, :1]).sum()),
    ]
    for f, tf in cases:
        x, s = npg.tensor(a), npg.tensor(src)
        t, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
        gx, gs = npg.autograd.grad(f(x, s), (x, s), create_graph=True) if hasattr(npg.autograd, "grad") else None
        tgx, tgs = torch.autograd.grad(tf(t, ts), (t, ts), create_graph=True)
        assert_close(gx, tgx.detach().numpy())
        assert_close(gs, tgs.detach().numpy())
        w = rnd(4, 5, seed=7)
        hx, hs = npg.autograd.grad((gx * w).sum() + (gs * w).sum(), (x, s))
        thx, ths = torch.autograd.grad((tgx * torch.tensor(w)).sum() + (tgs * torch.tensor(w)).sum(), (t, ts))
        assert_close(hx, thx.numpy())
        assert_close(hs, ths.numpy())


def test_inplace_forms_match_torch():
    a, src = rnd(4, 5), rnd(4, 6, seed=1)
    index = idx(5, (4, 6), seed=2)
    sel = np.array([0, 2, 2])
    for f in (lambda x, s, I: x.scatter_add_(1, I(index), s),
              lambda x, s, I: x.index_add_(1, I(sel), s[:, :3], alpha=0.5),
              lambda x, s, I: x.scatter_(1, I(index[:, :1]), s[:, :1]),
              lambda x, s, I: x.index_fill_(1, I(sel), 3.0),
              lambda x, s, I: x.clamp_min_(0.1).clamp_max_(0.8)):
        def run(lib):
            T = npg.tensor if lib == "npg" else (lambda v: torch.tensor(v, requires_grad=True))
            x, s = T(a), T(src)
            y = x * 1  # a non-leaf, written in place
            out = f(y, s, (lambda i: i) if lib == "npg" else torch.tensor)
            assert out is y
            w = rnd(4, 5, seed=3)
            (y * (npg.tensor(w) if lib == "npg" else torch.tensor(w))).sum().backward()
            return [np.asarray(v.data if lib == "npg" else v.detach().numpy()) if v is not None else None
                    for v in (y, x.grad, s.grad)]
        for mine, theirs in zip(run("npg"), run("torch")):
            if theirs is None:
                assert mine is None or not mine.any()
            else:
                assert_close(mine, theirs)
    c = npg.tensor(rnd(4, 5), requires_grad=False)
    c.scatter_(0, np.zeros((1, 5), np.int64), value=7.0)  # outside a graph: a plain write, version bumped
    assert (c.data[0] == 7.0).all() and c._version == 1


# ---------------------------------------------------------------------------------------- shape helpers
def test_chunk_matches_torch():
    for n, chunks in ((10, 3), (9, 3), (5, 7), (4, 2), (0, 3), (1, 1)):
        a = rnd(n, 2)
        got, want = npg.tensor(a).chunk(chunks), torch.tensor(a).chunk(chunks)
        assert [g.shape for g in got] == [tuple(w.shape) for w in want], (n, chunks)
        for g, w in zip(got, want):
            assert_close(g, w.numpy())
    compare_with_torch(lambda x: x.chunk(2, dim=1)[1] * 2, lambda t: t.chunk(2, dim=1)[1] * 2, [rnd(3, 5)])
    with pytest.raises(RuntimeError, match="greater than 0"):
        npg.tensor(rnd(3)).chunk(0)


def test_expand_view_type_as():
    a, b = rnd(3, 1), rnd(2, 3, 4)
    compare_with_torch(lambda x: x.expand(2, -1, 4), lambda t: t.expand(2, -1, 4), [a])
    compare_with_torch(lambda x: x.expand((3, 5)), lambda t: t.expand((3, 5)), [a])
    compare_with_torch(lambda x, y: x.expand_as(y) * y, lambda t, u: t.expand_as(u) * u, [a, b])
    compare_with_torch(lambda x, y: x.view_as(y) + y, lambda t, u: t.view_as(u) + u, [rnd(4, 6), b])
    x = npg.tensor(rnd(3))
    assert x.type_as(npg.tensor(np.zeros(2, np.float32))).dtype == np.float32
    assert x.long().dtype == np.int64 and x.bool().dtype == np.bool_ and x.contiguous() is x
    with pytest.raises(RuntimeError, match="number of sizes"):
        npg.tensor(a).expand(3)
    with pytest.raises(ValueError):
        npg.tensor(a).expand(4, 2)
    with pytest.raises(RuntimeError):
        torch.tensor(a).expand(4, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_norm_clamp_methods(dtype):
    a = rnd(3, 4, dtype=dtype)
    compare_with_torch(lambda x: x.softmax(1), lambda t: t.softmax(1), [a])
    compare_with_torch(lambda x: x.log_softmax(dim=0), lambda t: t.log_softmax(dim=0), [a])
    for kw in (dict(), dict(p=1), dict(p=3, dim=1), dict(dim=0, keepdim=True), dict(p=float("inf"), dim=1),
               dict(p="fro", dim=(0, 1)), dict(p="nuc")):
        compare_with_torch(lambda x: x.norm(**kw), lambda t: t.norm(**kw), [a], what=str(kw))
    compare_with_torch(lambda x: x.clamp(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), [a])
    compare_with_torch(lambda x: x.clamp(min=0.1), lambda t: t.clamp(min=0.1), [a])
    compare_with_torch(lambda x: x.clamp_min(0.2) + x.clamp_max(-0.2), lambda t: t.clamp_min(0.2) + t.clamp_max(-0.2),
                       [a])
    with pytest.raises(RuntimeError, match="At least one"):
        npg.tensor(a).clamp()


def test_numpy_meanings_stay():
    """The names that mean different things keep NumPy's meaning (README, "Coming from PyTorch")."""
    a = rnd(2, 3, 4)
    x = npg.tensor(a)
    assert x.transpose(0, 2, 1).shape == np.transpose(a, (0, 2, 1)).shape  # a permutation, not a swap
    assert x.transpose(0, 1, 2).shape == (2, 3, 4)
    assert_close(x.repeat(2, axis=0), np.repeat(a, 2, axis=0))               # NumPy's repeat (PyTorch: tile)
    assert_close(x.std(), np.std(a))                                          # ddof=0
    assert not np.isclose(np.std(a), torch.tensor(a).std().item())
    assert_close(x.max(axis=1), a.max(axis=1))                                # values only
    assert_close(x.max(dim=1).values, a.max(axis=1))                         # PyTorch's keyword: its result
    assert x.size == 24 and not callable(x.size)                              # NumPy's size
    assert_close(x.view(4, 6), a.reshape(4, 6))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_give_torch_values_and_indices(name, keepdim):
    a = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 0.0, 5.0, 5.0], [0.5, 0.5, 0.5, 0.5]])
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    v, i = getattr(x, name)(dim=1, keepdim=keepdim)
    tv, ti = getattr(t, name)(dim=1, keepdim=keepdim)
    np.testing.assert_array_equal(v.data, tv.detach().numpy())
    np.testing.assert_array_equal(i.data, ti.numpy())
    w = np.arange(1.0, 1.0 + v.size).reshape(v.shape)
    npg.sum(v * w).backward()
    (tv * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    assert getattr(npg, name)(x, dim=0).indices.shape == (4,)
    assert getattr(x, name)(axis=1).shape == (3,)   # NumPy's spelling: the values


def test_every_layer_takes_pytorchs_device_argument():
    """Every nn layer whose PyTorch constructor takes ``device=`` takes it (ported code passes
    device="cpu"), accepts the CPU and refuses anything else instead of ignoring it."""
    import inspect
    import torch.nn as tnn
    missing = []
    for name in sorted(dir(nn)):
        cls, tcls = getattr(nn, name), getattr(tnn, name, None)
        if isinstance(cls, type) and tcls is not None and "device" in inspect.signature(tcls.__init__).parameters:
            if "device" not in inspect.signature(cls.__init__).parameters:
                missing.append(name)
    assert not missing
    for make in (lambda d: nn.Linear(3, 4, device=d), lambda d: nn.Conv2d(1, 2, 3, device=d),
                 lambda d: nn.BatchNorm2d(3, device=d), lambda d: nn.MultiheadAttention(4, 2, device=d),
                 lambda d: nn.GRUCell(3, 4, device=d), lambda d: nn.Embedding(3, 2, device=d)):
        make("cpu")
        make(None)
        with pytest.raises(ValueError, match="CPU only"):
            make("cuda")
