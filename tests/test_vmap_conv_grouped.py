"""Second-order per-sample derivatives and forward-mode tangents through the shared-weight convolution of
``vmap(grad)`` (npgrad/_vmap_nn.py's ``_shared_conv``), against torch.func in float64: its create_graph VJPs
and its JVPs run the B samples as the groups of ONE grouped convolution, so the number of convolution calls
does not grow with the batch size."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F
from npgrad import _vmap_nn
from npgrad.func import grad, jvp, vmap
from npgrad.ops import conv as cv
from tests.helpers import assert_close

TF = torch.nn.functional

# (nd, in channels, out channels, kernel, per-sample input spatial size, conv kwargs)
CASES = {
    "1d": (1, 2, 3, (3,), (7,), dict()),
    "1d_groups2_stride2_pad1": (1, 4, 2, (3,), (8,), dict(groups=2, stride=2, padding=1)),
    "1d_dilation2": (1, 2, 2, (2,), (7,), dict(dilation=2, padding=2)),
    "2d": (2, 2, 3, (2, 2), (4, 5), dict()),
    "2d_groups2_pad": (2, 4, 4, (3, 2), (4, 4), dict(groups=2, padding=(1, 0))),
    "2d_stride_dilation": (2, 2, 2, (2, 2), (6, 5), dict(stride=(2, 1), dilation=(1, 2), padding=1)),
}


def _setup(case, n, B=3, seed=0):
    nd, C, O, K, L, kw = CASES[case]
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((O, C // kw.get("groups", 1)) + K) * 0.5
    x = rng.standard_normal((B, n, C) + L) if n else rng.standard_normal((B, C) + L)
    return nd, w, x, kw


def _loss(lib, conv, kw, n):
    def f(w, xi):
        xi = xi if n else xi[None]
        return (lib.tanh(conv(xi, w, **kw)) ** 2).sum()
    return f


def _convs(nd):
    return getattr(F, f"conv{nd}d"), getattr(TF, f"conv{nd}d")


def _both(case, n, transform, argnums):
    """``vmap(transform(loss, argnums), in_dims=(None, 0))(w, x)`` in npgrad and torch.func."""
    nd, w, x, kw = _setup(case, n)
    conv, tconv = _convs(nd)
    f, tf = _loss(npg, conv, kw, n), _loss(torch, tconv, kw, n)
    got = vmap(transform(npg.func, f, argnums), in_dims=(None, 0))(npg.tensor(w), npg.tensor(x))
    ref = torch.func.vmap(transform(torch.func, tf, argnums), in_dims=(None, 0))(torch.tensor(w), torch.tensor(x))
    return got, ref


def _hess(lib, f, argnums):
    return lib.hessian(f, argnums=argnums)


def _jacrev_grad(lib, f, argnums):
    return lib.jacrev(lib.grad(f, argnums=argnums), argnums=argnums)


def _jacfwd_grad(lib, f, argnums):
    return lib.jacfwd(lib.grad(f, argnums=argnums), argnums=argnums)


def _mixed(lib, f, argnums):   # d/dx of d/dw: both create_graph VJPs of the shared conv
    return lib.jacrev(lib.grad(f, argnums=0), argnums=1)


def _tree_close(got, ref):
    if isinstance(ref, tuple):
        assert isinstance(got, tuple) and len(got) == len(ref)
        for a, b in zip(got, ref):
            _tree_close(a, b)
        return
    assert_close(got, ref.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("n", [0, 1, 2])      # 0: per-sample (C, *L) input; n: (n, C, *L)
def test_per_sample_hessian_of_a_conv_weight(case, n):
    got, ref = _both(case, n, _hess, 0)
    _tree_close(got, ref)


@pytest.mark.parametrize("case", ["1d_groups2_stride2_pad1", "2d_stride_dilation"])
@pytest.mark.parametrize("transform", [_jacrev_grad, _jacfwd_grad, _mixed])
@pytest.mark.parametrize("n", [0, 2])
def test_per_sample_second_derivatives_through_the_shared_conv(case, transform, n):
    got, ref = _both(case, n, transform, 0)
    _tree_close(got, ref)


@pytest.mark.parametrize("case", ["1d_groups2_stride2_pad1", "2d_groups2_pad"])
@pytest.mark.parametrize("n", [0, 2])
def test_per_sample_hessian_in_weight_and_input(case, n):
    got, ref = _both(case, n, _hess, (0, 1))
    _tree_close(got, ref)


@pytest.mark.parametrize("case", ["1d_groups2_stride2_pad1", "2d_stride_dilation"])
@pytest.mark.parametrize("shared_weight", [True, False])
@pytest.mark.parametrize("n", [0, 2])
def test_vmap_jvp_of_the_gradient_through_a_conv(case, shared_weight, n):
    """Forward over reverse per sample: jvp of the gradient (a JVP of the shared conv's VJPs, and of the
    shared conv itself) with a tangent per sample, the weight shared or one per sample."""
    nd, w, x, kw = _setup(case, n)
    conv, tconv = _convs(nd)
    rng = np.random.default_rng(1)
    tw = rng.standard_normal((x.shape[0],) + w.shape)
    tx = rng.standard_normal(x.shape)
    wv = w if shared_weight else np.stack([w * (1 + 0.1 * i) for i in range(x.shape[0])])
    in_dims = (None if shared_weight else 0, 0, 0, 0)

    def run(lib, c, wv, x, tw, tx):
        f = _loss(lib, c, kw, n)
        g = lib.func.grad(f, argnums=(0, 1))
        return lib.func.vmap(lambda w, xi, a, b: lib.func.jvp(g, (w, xi), (a, b)), in_dims=in_dims)(wv, x, tw, tx)
    got = run(npg, conv, *(npg.tensor(a) for a in (wv, x, tw, tx)))
    ref = run(torch, tconv, *(torch.tensor(a) for a in (wv, x, tw, tx)))
    _tree_close(got, ref)


@pytest.mark.parametrize("n", [0, 2])
def test_vmap_jvp_of_a_conv_with_a_lifted_weight(n):
    """``vmap(jvp)`` of the conv output itself, the weight a closed-over parameter lifted by grad."""
    nd, w, x, kw = _setup("2d_groups2_pad", n)
    conv, tconv = _convs(nd)
    tw = np.random.default_rng(2).standard_normal(w.shape)

    def run(lib, c, w, x, tw):
        def h(w, xi):
            out = lib.func.jvp(lambda v: c(xi if n else xi[None], v, **kw), (w,), (tw,))[1]
            return (out * lib.tanh(c(xi if n else xi[None], w, **kw))).sum()
        return lib.func.vmap(lib.func.grad(h), in_dims=(None, 0))(w, x)
    got = run(npg, conv, npg.tensor(w), npg.tensor(x), npg.tensor(tw))
    ref = run(torch, tconv, torch.tensor(w), torch.tensor(x), torch.tensor(tw))
    _tree_close(got, ref)


def _count_convs(monkeypatch):
    calls = []
    for name in ("_conv_op", "_conv_transpose_op", "_conv_weight_op"):
        orig = getattr(cv, name)

        def spy(*a, _orig=orig, _name=name, **k):
            calls.append(_name)
            return _orig(*a, **k)
        monkeypatch.setattr(cv, name, spy)
    shared = []
    orig_shared = _vmap_nn._shared_conv

    def spy_shared(*a, **k):
        shared.append(a[2])
        return orig_shared(*a, **k)
    monkeypatch.setattr(_vmap_nn, "_shared_conv", spy_shared)
    return calls, shared


@pytest.mark.parametrize("transform", [_hess, _jacrev_grad, _jacfwd_grad, _mixed])
def test_no_loop_over_the_samples(monkeypatch, transform):
    """The convolution calls of a per-sample second derivative do not grow with B (the shared path is taken)."""
    nd, w, x, kw = _setup("2d_groups2_pad", 2, B=6)
    conv = _convs(nd)[0]
    f = _loss(npg, conv, kw, 2)
    counts = []
    for B in (2, 6):
        calls, shared = _count_convs(monkeypatch)
        vmap(transform(npg.func, f, 0), in_dims=(None, 0))(npg.tensor(w), npg.tensor(x[:B]))
        assert shared and set(shared) == {B}   # the shared path, over the whole batch
        counts.append(len(calls))
    assert counts[0] == counts[1], counts
    assert counts[0] > 0


def test_vmap_jvp_calls_do_not_grow_with_the_batch(monkeypatch):
    nd, w, x, kw = _setup("1d_groups2_stride2_pad1", 2, B=6)
    conv = _convs(nd)[0]
    g = grad(_loss(npg, conv, kw, 2), argnums=(0, 1))
    counts = []
    for B in (2, 6):
        calls, shared = _count_convs(monkeypatch)
        tw = npg.tensor(np.ones((B,) + w.shape))
        vmap(lambda w, xi, a, b: jvp(g, (w, xi), (a, b)), in_dims=(None, 0, 0, 0))(
            npg.tensor(w), npg.tensor(x[:B]), tw, npg.tensor(x[:B]))
        counts.append(len(calls))
    assert counts[0] == counts[1], counts



@pytest.mark.parametrize("case", ["1d_groups2_stride2_pad1", "2d_stride_dilation"])
def test_per_sample_hessian_float32(case):
    """float32 stays float32 through the grouped convolutions, and close to torch.func's."""
    nd, w, x, kw = _setup(case, 2)
    w, x = w.astype(np.float32), x.astype(np.float32)
    conv, tconv = _convs(nd)
    got = vmap(npg.func.hessian(_loss(npg, conv, kw, 2), argnums=(0, 1)), in_dims=(None, 0))(
        npg.tensor(w), npg.tensor(x))
    ref = torch.func.vmap(torch.func.hessian(_loss(torch, tconv, kw, 2), argnums=(0, 1)), in_dims=(None, 0))(
        torch.tensor(w), torch.tensor(x))
    for a, b in zip(got, ref):
        for u, v in zip(a, b):
            assert u.dtype == npg.float32
            assert_close(u, v.numpy(), rtol=1e-4, atol=1e-4)
