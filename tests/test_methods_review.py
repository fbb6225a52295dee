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
