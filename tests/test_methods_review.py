"""A differential sweep of the Tensor methods npgrad shares with ``torch.Tensor`` (the names whose NumPy meaning
wins, README "Coming from PyTorch", are left out or called in their PyTorch spelling only: ``dim=``): each call
on random float64 and float32 tensors of shapes 0-d, 1-d, 3-d and size-0, against PyTorch 2.13: the outcome
(an error where PyTorch raises), the values, dtypes and shapes, the gradient of a random weighting of the result,
and whether a write through the result reaches the input (PyTorch's views) or not (its copies)."""
import math

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close

SHAPES = [(), (5,), (2, 3, 4), (0, 3), (2, 0, 3)]
DTYPES = [np.float64, np.float32]
INF = math.inf


def _leaves(r):
    return [x for item in r for x in _leaves(item)] if isinstance(r, (tuple, list)) else [r]


def _run(call, x):
    try:
        return True, call(x)
    except Exception as e:  # compared with the other library's outcome
        return False, e


def _compare(call, shape, dtype, what):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    t, x = torch.tensor(a, requires_grad=True), npg.tensor(a.copy(), requires_grad=True)
    ok_t, tr = _run(call, t)
    ok, r = _run(call, x)
    assert ok == ok_t, f"{what}: PyTorch {'gave a result' if ok_t else f'raised {tr!r}'}, npgrad " + (
        "gave a result" if ok else f"raised {r!r}")
    if not ok:
        return
    tl, nl = _leaves(tr), _leaves(r)
    assert len(tl) == len(nl), what
    w_rng, t_loss, loss = np.random.default_rng(1), 0, 0
    for u, v in zip(tl, nl):
        if not isinstance(u, torch.Tensor):
            assert not isinstance(v, npg.Tensor) and u == v, f"{what}: {v!r}, PyTorch's {u!r}"
            continue
        e = u.detach().numpy()
        assert isinstance(v, npg.Tensor), f"{what}: {type(v)}"
        assert (v.shape, v.dtype) == (e.shape, e.dtype), f"{what}: {v.shape} {v.dtype}, PyTorch's {e.shape} {e.dtype}"
        assert_close(v, e, what=what)
        if u.requires_grad:
            w = w_rng.standard_normal(e.shape).astype(e.dtype)
            t_loss, loss = t_loss + (u * torch.tensor(w)).sum(), loss + (v * npg.tensor(w)).sum()
    if isinstance(t_loss, torch.Tensor):
        t_grad, = torch.autograd.grad(t_loss, t, allow_unused=True)
        loss.backward()
        t_grad = np.zeros(shape, dtype) if t_grad is None else t_grad.detach().numpy()
        assert x.grad is None or np.asarray(x.grad).dtype == t_grad.dtype, f"{what}: gradient dtype"
        assert_close(np.zeros(shape, dtype) if x.grad is None else x.grad, t_grad, dtype=dtype, what=f"{what} gradient", rtol=1e-4 if dtype == np.float32
                     else 1e-9, atol=1e-5 if dtype == np.float32 else 1e-10)


def _cases(table):
    return [pytest.param(call, shapes, id=f"{name}{i}") for name, calls in table.items()
            for i, (call, shapes) in enumerate(calls)]


ALL = SHAPES
ND = [s for s in SHAPES if s]  # PyTorch's 0-d tensor takes dim 0 / -1 where npgrad's follows NumPy (AxisError)
REDUCTIONS = {
    "sum": [(lambda x: x.sum(), ALL), (lambda x: x.sum(dim=1), ALL), (lambda x: x.sum(dim=-1, keepdim=True), ALL),
            (lambda x: x.sum(dim=(0, -1)), ALL), (lambda x: x.sum(dim=(0, -1), keepdim=True), ALL),
            (lambda x: x.sum(dim=(0, 0)), ALL)],
    "mean": [(lambda x: x.mean(), ALL), (lambda x: x.mean(dim=1), ALL), (lambda x: x.mean(dim=(0, -1)), ND),
             (lambda x: x.mean(dim=-1, keepdim=True), ND)],
    "prod": [(lambda x: x.prod(dim=1), ALL), (lambda x: x.prod(dim=-1, keepdim=True), ALL)],
    "amax": [(lambda x: x.amax(), ALL), (lambda x: x.amax(1), ALL), (lambda x: x.amax(-1, True), ALL),
             (lambda x: x.amax(dim=(0, -1)), ALL)],
    "amin": [(lambda x: x.amin(dim=(0, -1), keepdim=True), ALL), (lambda x: x.amin(0), ALL)],
    "max": [(lambda x: x.max(), ALL), (lambda x: x.max(dim=1), ALL), (lambda x: x.max(dim=-1, keepdim=True), ND)],
    "min": [(lambda x: x.min(dim=1), ALL), (lambda x: x.min(dim=0, keepdim=True), ND)],
    "argmax": [(lambda x: x.argmax(), ALL), (lambda x: x.argmax(dim=1), ALL),
               (lambda x: x.argmax(dim=-1, keepdim=True), ALL)],
    "argmin": [(lambda x: x.argmin(dim=0), ALL)],
    "logsumexp": [(lambda x: x.logsumexp(1), ALL), (lambda x: x.logsumexp(dim=(0, -1), keepdim=True), ALL)],
    "norm": [(lambda x: x.norm(), ALL), (lambda x: x.norm(dim=1), ALL), (lambda x: x.norm(1, -1, True), ND),
             (lambda x: x.norm(p=3, dim=(0, -1)), ND), (lambda x: x.norm(p=0), ALL), (lambda x: x.norm(INF), ALL),
             (lambda x: x.norm(-INF), ALL), (lambda x: x.norm(p=-1), ALL), (lambda x: x.norm(-0.5, dim=0), ND),
             (lambda x: x.norm(INF, dim=0), ND), (lambda x: x.norm(INF, dim=-1), ND),
             (lambda x: x.norm(p="fro", dim=(0, 1)), ALL), (lambda x: x.norm(p="nuc", dim=(0, 1)), ALL)],
    "all": [(lambda x: (x > 0).all(dim=1), ALL), (lambda x: (x > 0).any(dim=-1, keepdim=True), ALL)],
    "cumsum": [(lambda x: x.cumsum(dim=1), ALL), (lambda x: x.cumprod(dim=-1), ND)],
    "cummax": [(lambda x: x.cummax(0), ALL), (lambda x: x.cummin(dim=-1), ALL),
               (lambda x: x.logcumsumexp(dim=-1), ALL)],
    "var": [(lambda x: x.var(dim=1, correction=0), ALL), (lambda x: x.std(dim=(0, -1), keepdim=True, correction=1),
                                                           ND)],
    "softmax": [(lambda x: x.softmax(0), ALL), (lambda x: x.log_softmax(dim=-1), ALL)],
    "kthvalue": [(lambda x: x.kthvalue(1), ALL), (lambda x: x.kthvalue(2, 0), ALL),
                 (lambda x: x.kthvalue(1, dim=-1, keepdim=True), ALL)],
    "topk": [(lambda x: x.topk(1), ALL), (lambda x: x.topk(2, 0), ALL), (lambda x: x.topk(1, dim=0, largest=False),
                                                                          ALL), (lambda x: x.topk(0), ND)],
    "empty dim": [(lambda x: x.sum(dim=()), ALL), (lambda x: x.sum(dim=[], keepdim=True), ALL),
                  (lambda x: x.mean(dim=[]), ALL), (lambda x: x.amax(dim=()), ND),
                  (lambda x: x.amin(dim=[], keepdim=True), ND), (lambda x: x.norm(dim=()), ALL),
                  (lambda x: x.norm(1, [], True), ALL), (lambda x: (x > 0).all(dim=()), ALL),
                  (lambda x: (x > 0).any(dim=[], keepdim=True), ALL)],
    "histc": [(lambda x: x.histc(), ALL), (lambda x: x.histc(bins=4, min=-1, max=1), ALL)],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("call,shapes", _cases(REDUCTIONS))
def test_reductions_as_torch(call, shapes, dtype):
    for shape in shapes:
        _compare(call, shape, dtype, f"{shape} {np.dtype(dtype)}")


@pytest.mark.parametrize("p", [INF, -INF, -1, -0.5])
@pytest.mark.parametrize("dim", [None, 0, (0, 1), -2])
def test_norm_with_no_identity_over_no_elements_raises_as_torch(p, dim):
    """A max / min norm (p inf, -inf or negative) over an empty dim has no value: PyTorch raises; npgrad gave 0
    for p=inf and inf for a negative p (NumPy's vector_norm)."""
    a = np.zeros((0, 3))
    with pytest.raises(RuntimeError):
        torch.tensor(a).norm(p, dim=dim)
    with pytest.raises(RuntimeError, match=r"norm: cannot compute the .* norm .*\(0, 3\)"):
        npg.tensor(a).norm(p, dim=dim)
    assert npg.tensor(a).norm(p, dim=1).shape == tuple(torch.tensor(a).norm(p, dim=1).shape) == (0,)


ND2 = [(2, 3, 4), (0, 3), (2, 0, 3)]
VIEWS = {  # PyTorch's views: a write through the result reaches the input
    "narrow": [(lambda x: x.narrow(0, 1, 1), ND), (lambda x: x.narrow(dim=-1, start=-2, length=1), ND2)],
    "select": [(lambda x: x.select(0, 0), ND), (lambda x: x.select(dim=-1, index=-1), ND2)],
    "movedim": [(lambda x: x.movedim(0, -1), ND), (lambda x: x.movedim((0, 1), (1, 0)), ND2)],
    "swapdims": [(lambda x: x.swapdims(0, -1), ND), (lambda x: x.swapaxes(0, -1), ND)],
    "t": [(lambda x: x.t(), ALL), (lambda x: x.mT, ND2), (lambda x: x.mH, ND2), (lambda x: x.adjoint(), ND2)],
    "unflatten": [(lambda x: x.unflatten(0, (1, -1)), ND), (lambda x: x.unflatten(-1, (-1, 1)), ND)],
    "unfold": [(lambda x: x.unfold(0, 1, 1), ALL), (lambda x: x.unfold(0, 0, 1), ALL),
               (lambda x: x.unfold(-1, 2, 3), ALL)],
    "split": [(lambda x: x.split(1), ALL), (lambda x: x.split(2, dim=-1), ALL), (lambda x: x.split([1, 1], 0), ALL),
              (lambda x: x.tensor_split(2), ALL), (lambda x: x.tensor_split([1, 3], dim=-1), ALL),
              (lambda x: x.hsplit(1), ALL), (lambda x: x.vsplit([1]), ALL), (lambda x: x.dsplit([1]), ALL)],
    "chunk": [(lambda x: x.chunk(2), ALL), (lambda x: x.chunk(3, dim=-1), ALL), (lambda x: x.unbind(1), ALL)],
    "reshape": [(lambda x: x.reshape(-1), ALL), (lambda x: x.reshape(1, -1), ALL),
                (lambda x: x.view_as(x.reshape(-1)), ALL), (lambda x: x.reshape_as(x.reshape(-1)), ALL)],
    "flatten": [(lambda x: x.flatten(), ALL), (lambda x: x.flatten(1), ALL), (lambda x: x.flatten(0, -2), ALL),
                (lambda x: x.flatten(start_dim=-1), ALL), (lambda x: x.flatten(end_dim=0), ALL),
                (lambda x: x.flatten(0, 0), ALL), (lambda x: x.flatten(-1, -1), ALL)],
    "permute": [(lambda x: x.permute(*range(x.ndim)[::-1]), ND), (lambda x: x.permute(tuple(range(x.ndim))), ALL)],
    "unsqueeze": [(lambda x: x.unsqueeze(0), ALL), (lambda x: x.unsqueeze(-1), ALL)],
    "squeeze": [(lambda x: x.squeeze(), ALL), (lambda x: x.unsqueeze(0).squeeze(0), ALL),
                (lambda x: x.unsqueeze(0).unsqueeze(-1).squeeze((0, -1)), ALL)],
    "detach": [(lambda x: x.detach(), ALL), (lambda x: x.contiguous(), ALL), (lambda x: x.to(x.dtype), ALL)],
}
COPIES = {  # PyTorch's copies: a write into the result leaves the input alone
    "narrow_copy": [(lambda x: x.narrow_copy(0, 1, 1), ND), (lambda x: x.narrow_copy(-1, 0, 2), ND2)],
    "roll": [(lambda x: x.roll(1), ALL), (lambda x: x.roll(1, 0), ND), (lambda x: x.roll((1, -2), (0, -1)), ND),
             (lambda x: x.roll(shifts=2, dims=-1), ND)],
    "repeat_interleave": [(lambda x: x.repeat_interleave(2), ALL), (lambda x: x.repeat_interleave(2, -1), ND)],
    "masked": [(lambda x: x.masked_select(x > 0), ALL), (lambda x: x.masked_fill(x > 0, 2.0), ALL)],
    "tril": [(lambda x: x.tril(), ALL), (lambda x: x.tril(1), ALL), (lambda x: x.triu(diagonal=-1), ALL)],
    "flip": [(lambda x: x.fliplr(), ALL), (lambda x: x.flipud(), ALL), (lambda x: x.flip(0), ALL),
             (lambda x: x.flip(-1), ALL), (lambda x: x.flip((0, -1)), ND), (lambda x: x.flip(dims=(0,)), ALL),
             (lambda x: x.flip(0, 1), ALL), (lambda x: x.flip(dims=[-1, 0]), ND2), (lambda x: x.flip(1), ALL)],
    "rot90": [(lambda x: x.rot90(), ALL), (lambda x: x.rot90(2), ALL), (lambda x: x.rot90(-1, [1, 0]), ALL),
              (lambda x: x.rot90(k=3, dims=(1, 2)), ALL)],
    "scatters": [(lambda x: x.select_scatter(x.select(0, 0) * 2, 0, 1), ND),
                 (lambda x: x.slice_scatter(x.narrow(-1, 0, 1), dim=-1, start=1, end=2), ND),
                 (lambda x: x.diagonal_scatter(x.diagonal(1, 0, 1) * 3, 1), ND2),
                 (lambda x: x.diag_embed(), ALL), (lambda x: x.diag_embed(-1, 0, 2), ALL)],
    "clone": [(lambda x: x.clone(), ALL), (lambda x: x.tile((2, 1)), ALL), (lambda x: x.renorm(2, 0, 1.0), ND)],
    "clamp": [(lambda x: x.clamp(-0.5, 0.5), ALL), (lambda x: x.clamp(min=0), ALL), (lambda x: x.clamp_max(0), ALL),
              (lambda x: x.clamp(0.5, -0.5), ALL), (lambda x: x.clip(min=-0.1), ALL)],
    "pointwise": [(lambda x: x.pow(2), ALL), (lambda x: x.abs().pow(0.5), ALL), (lambda x: x.sigmoid(), ALL),
                  (lambda x: x.relu(), ALL), (lambda x: x.nan_to_num(), ALL), (lambda x: x.maximum(x * 0), ALL)],
    "cast": [(lambda x: x.float(), ALL), (lambda x: x.double(), ALL), (lambda x: x.type_as(x.float()), ALL),
             (lambda x: x.half().float(), ALL)],
}


def _writes_through(call, shape, dtype, lib):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x = torch.tensor(a.copy()) if lib is torch else npg.tensor(a.copy(), requires_grad=False)
    for out in _leaves(call(x)):
        if out.ndim and out.shape[0]:
            out[0] = 7.0  # one write, by index: a read-only npgrad view would raise (a failure here)
            break
    return not np.array_equal(np.asarray(x.numpy() if lib is torch else x.data), a)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("call,shapes", _cases(VIEWS) + _cases(COPIES))
def test_views_and_copies_as_torch(call, shapes, dtype):
    for shape in shapes:
        what = f"{shape} {np.dtype(dtype)}"
        _compare(call, shape, dtype, what)
        if _run(call, torch.zeros(shape))[0]:
            assert _writes_through(call, shape, dtype, npg) == _writes_through(call, shape, dtype, torch), what


@pytest.mark.parametrize("dims", [(1,), (0, -2), (-2, 0), (0, 1)])
def test_flatten_of_a_0d_tensor_checks_its_dims_as_torch(dims):
    """A 0-d tensor has the dims 0 and -1 (as a 1-D one, in PyTorch): any other raises (npgrad gave shape (1,))."""
    with pytest.raises(IndexError):
        torch.tensor(1.5).flatten(*dims)
    with pytest.raises(IndexError, match=r"flatten: dim -?\d is out of range for a 0-d tensor"):
        npg.tensor(1.5).flatten(*dims)


def test_flip_method_is_a_copy_as_torch():
    """``x.flip(dims)`` is PyTorch's method (NumPy arrays have none): a copy, as its ``fliplr`` / ``flipud`` /
    ``rot90`` (a write into it reached the input: ``npg.flip`` stays NumPy's view)."""
    x = npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)
    y = x.flip(0)
    y[0, 0] = 100.0
    assert x.data[1, 0] == 3.0 and not np.shares_memory(y.data, x.data)
    assert np.shares_memory(npg.flip(x, 0).data, x.data)
    assert np.array_equal(x.flip(dims=(0, 1)).data, torch.tensor(x.data).flip(dims=(0, 1)).numpy())
    assert np.array_equal(x.flip().data, x.data[::-1, ::-1]) and np.array_equal(x.flip(axis=1).data, x.data[:, ::-1])


@pytest.mark.parametrize("name", ["float", "double", "long", "int", "bool", "half", "type_as"])
def test_cast_methods_to_the_same_dtype_give_the_tensor_itself_as_torch(name):
    """``x.float()`` of a float32 tensor (``long()`` of an int64 one, ``type_as`` of the same dtype...) is ``x``
    itself in PyTorch, as npgrad's ``x.to(dtype)``: a write into it reaches ``x`` (npgrad made a copy)."""
    dtype = {"float": np.float32, "double": np.float64, "long": np.int64, "int": np.int32, "bool": np.bool_,
             "half": np.float16, "type_as": np.float64}[name]
    a = np.ones(3, dtype)
    call = (lambda x: x.type_as(x)) if name == "type_as" else (lambda x: getattr(x, name)())
    t, x = torch.tensor(a), npg.tensor(a.copy(), requires_grad=False)
    assert call(t) is t
    assert call(x) is x
    other = np.float64 if dtype != np.float64 else np.float32
    y = call(npg.tensor(np.ones(3, other), requires_grad=False))
    assert y.dtype == call(torch.tensor(np.ones(3, other))).numpy().dtype


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean", "amax", "amin", "std", "var"])
@pytest.mark.parametrize("dim", [(), []])
def test_an_empty_dim_reduces_every_dim_as_torch(name, dim):
    """PyTorch's ``dim=()`` / ``dim=[]`` reduces every dim (a dims list computed empty, as ``list(range(1,
    x.ndim))`` of a 1-D tensor); NumPy's ``axis=()`` reduces none, and npgrad gave that for the keyword ``dim=``."""
    a = np.random.default_rng(0).standard_normal((2, 3))
    kw = {"correction": 0} if name in ("std", "var") else {}
    for keepdim in (False, True):
        expected = getattr(torch, name)(torch.tensor(a), dim=dim, keepdim=keepdim, **kw).numpy()
        assert_close(getattr(npg, name)(npg.tensor(a), dim=dim, keepdim=keepdim), expected, what=name)
    assert np.array_equal(np.asarray(npg.sum(npg.tensor(a), axis=()).data), a)  # NumPy's axis=() stays


@pytest.mark.parametrize("index", [[0], 0, [-1], [0, 0], []])
@pytest.mark.parametrize("src_shape", [(), (1,), (2,)])
def test_index_select_and_index_add_of_a_0d_tensor_as_torch(index, src_shape):
    """A 0-d tensor takes one index (its one element) and gives a 0-d result; index_add's source is 0-d. npgrad
    gave index_select's result the index's shape ((1,), (2,)) and took index_add's source shaped as the index."""
    a, src = np.array(1.5), np.arange(1.0, 1.0 + math.prod(src_shape)).reshape(src_shape)
    calls = [lambda x, i, s: x.index_select(0, i), lambda x, i, s: x.index_add(0, i, s, alpha=2)]
    for call in calls:
        t = torch.tensor(a, requires_grad=True)
        ok_t, expected = _run(lambda t: call(t, torch.tensor(index, dtype=torch.int64), torch.tensor(src)), t)
        x = npg.tensor(a)
        ok, got = _run(lambda x: call(x, np.array(index, dtype=np.int64), npg.tensor(src)), x)
        assert ok == ok_t, f"{index} {src_shape}: PyTorch {expected!r}, npgrad {got!r}"
        if ok:
            assert got.shape == tuple(expected.shape)
            assert_close(got, expected.detach().numpy())
            got.backward()
            expected.backward()
            assert_close(x.grad, t.grad.numpy())


ZERO_D_CALLS = {  # PyTorch's dim= on a 0-d tensor: its dims 0 and -1 (npgrad raised NumPy's AxisError)
    "sum": lambda x, d, k: x.sum(dim=d, keepdim=k), "mean": lambda x, d, k: x.mean(dim=d, keepdim=k),
    "var": lambda x, d, k: x.var(dim=d, keepdim=k, correction=0), "amax": lambda x, d, k: x.amax(dim=d, keepdim=k),
    "amin": lambda x, d, k: x.amin(dim=d, keepdim=k), "prod": lambda x, d, k: x.prod(dim=d, keepdim=k),
    "logsumexp": lambda x, d, k: x.logsumexp(dim=d, keepdim=k), "all": lambda x, d, k: x.all(dim=d, keepdim=k),
    "argmax": lambda x, d, k: x.argmax(dim=d, keepdim=k), "max": lambda x, d, k: x.max(dim=d, keepdim=k),
    "min": lambda x, d, k: x.min(dim=d, keepdim=k), "cumsum": lambda x, d, k: x.cumsum(dim=d),
    "cumprod": lambda x, d, k: x.cumprod(dim=d), "squeeze": lambda x, d, k: x.squeeze(dim=d),
    "norm": lambda x, d, k: x.norm(dim=d, keepdim=k), "norm1": lambda x, d, k: x.norm(1, d, k),
    "norm_inf": lambda x, d, k: x.norm(INF, d, k),
    "nanmean": lambda x, d, k: (torch if isinstance(x, torch.Tensor) else npg).nanmean(x, dim=d, keepdim=k),
}


ONE_DIM = {"prod", "argmax", "max", "min", "cumsum", "cumprod"}  # PyTorch takes one dim, not a tuple


@pytest.mark.parametrize("name,dim", [(n, d) for n in ZERO_D_CALLS for d in [0, -1, (0,), [-1], 1, -2, (1,)]
                                      if n not in ONE_DIM or isinstance(d, int)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_dim_keyword_on_a_0d_tensor_as_torch(name, dim, keepdim):
    call = ZERO_D_CALLS[name]
    _compare(lambda x: call(x, dim, keepdim), (), np.float64, f"{name}(dim={dim}, keepdim={keepdim})")


@pytest.mark.parametrize("index", [0, [0], [0, 0], [[0]], 1])
def test_gather_of_a_0d_tensor_has_the_index_shape_as_torch(index):
    """gather's result has the index's shape, a 0-d one included (npgrad gave shape (1,) for a 0-d index)."""
    _compare(lambda x: x.gather(0, (torch.tensor if isinstance(x, torch.Tensor) else np.array)(index)), (),
             np.float64, f"gather(0, {index})")


@pytest.mark.parametrize("fn", ["median", "nanmedian"])
@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), (-1, False)])
def test_median_with_dim_gives_torchs_values_and_indices(fn, dim, keepdim):
    # npg.median(x, dim=1) gave NumPy's medians only, so ported `v, i = npg.median(x, dim=1)` unpacked the values
    # of a 2-row tensor silently; PyTorch's keyword gives PyTorch's (values, indices) of the lower median
    x = np.array([[3.0, np.nan, 1.0, 2.0], [4.0, 1.5, 0.5, 2.5], [5.0, 2.0, 9.0, 7.0]])
    xn, xt = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, want = getattr(npg, fn)(xn, dim=dim, keepdim=keepdim), getattr(torch, fn)(xt, dim=dim, keepdim=keepdim)
    v, i = got
    assert_close(v, want.values.detach().numpy())
    assert_close(i, want.indices.numpy())
    w = np.arange(1.0, 1.0 + want.values.numel()).reshape(tuple(want.values.shape))
    (got.values * npg.tensor(w)).sum().backward()
    (want.values * torch.tensor(w)).sum().backward()
    assert_close(xn.grad, xt.grad.numpy())
    assert_close(getattr(npg, fn)(npg.tensor(x), axis=1), getattr(np, fn)(x, axis=1))  # NumPy's keyword: NumPy's
