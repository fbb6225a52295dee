"""The API around the graph (torch.func transforms, module state) at sizes the old code could not reach in
reasonable time: the size itself is the test (no timing is asserted), values and gradients against PyTorch.

found: vmap of ``W @ x`` with only ``x`` batched (every jacfwd / hessian through a matrix product: the basis
tangents are the batch) ran np.matmul's broadcast of ``W`` over B matrix-vector products, not one GEMM (jacfwd of
tanh(W @ x) at n = 1,000: 0.06-8 s, as B matrix-vector products reread W from memory under
cache contention, torch 25-60 ms; now one GEMM, 65-80 ms)."""
import numpy as np
import pytest

import npgrad as npg
from npgrad import func as nf
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

RNG = np.random.RandomState(19)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def test_jacfwd_through_a_matrix_product_at_n_1500():
    """The Jacobian of tanh(W @ x), 1,500 x 1,500 (float32) by forward mode, against torch.func.jacfwd. Before
    the fix: 0.15-3 s (B = 1,500 matrix-vector products: how long depends on the cache), now one GEMM."""
    n, dt = 1500, np.float32
    w, x = (RNG.standard_normal((n, n)) / n ** 0.5).astype(dt), RNG.standard_normal(n).astype(dt)
    W, tW = npg.tensor(w), torch.tensor(w)
    J = nf.jacfwd(lambda v: npg.tanh(W @ v))(npg.tensor(x))
    tJ = torch.func.jacfwd(lambda v: torch.tanh(tW @ v))(torch.tensor(x))
    assert J.dtype == dt
    np.testing.assert_allclose(J.data, tJ.numpy(), **TOL[dt])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("xshape,wshape", [((5, 4), (3, 4)), ((5, 4, 2), (3, 4)), ((5, 2, 4, 2), (3, 4))])
def test_vmap_of_a_shared_matrix_times_batched_operand(dt, xshape, wshape):
    """``W @ x`` under vmap with only x batched (x a vector, a matrix, a stack): values, the gradients of W and x
    through the vmapped function, and the same inside an outer vmap over W (nested levels), against torch."""
    w, x = RNG.standard_normal(wshape).astype(dt), RNG.standard_normal(xshape).astype(dt)
    W, X = npg.tensor(w, requires_grad=True), npg.tensor(x, requires_grad=True)
    tW, tX = torch.tensor(w, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = nf.vmap(lambda v: W @ v)(X), torch.func.vmap(lambda v: tW @ v)(tX)
    assert y.dtype == dt and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[dt])
    g = RNG.standard_normal(y.shape).astype(dt)
    y.backward(npg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(W.grad, tW.grad.numpy(), **TOL[dt])
    np.testing.assert_allclose(X.grad, tX.grad.numpy(), **TOL[dt])
    ws = RNG.standard_normal((2,) + wshape).astype(dt)
    yy = nf.vmap(lambda m: nf.vmap(lambda v: m @ v)(X))(npg.tensor(ws))
    tyy = torch.func.vmap(lambda m: torch.func.vmap(lambda v: m @ v)(tX))(torch.tensor(ws))
    np.testing.assert_allclose(yy.data, tyy.detach().numpy(), **TOL[dt])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_jacfwd_and_hessian_through_a_matrix_product(dt):
    """Small sizes, float32 and float64: jacfwd of W @ x and the Hessian of sum(tanh(W @ x)^2) (jacfwd over
    jacrev) against torch.func's."""
    w, x = RNG.standard_normal((6, 5)).astype(dt), RNG.standard_normal(5).astype(dt)
    W, tW = npg.tensor(w), torch.tensor(w)
    np.testing.assert_allclose(nf.jacfwd(lambda v: W @ v)(npg.tensor(x)).data,
                               torch.func.jacfwd(lambda v: tW @ v)(torch.tensor(x)).numpy(), **TOL[dt])
    H = nf.hessian(lambda v: (npg.tanh(W @ v) ** 2).sum())(npg.tensor(x))
    tH = torch.func.hessian(lambda v: (torch.tanh(tW @ v) ** 2).sum())(torch.tensor(x))
    assert H.dtype == dt
    np.testing.assert_allclose(H.data, tH.numpy(), **TOL[dt])


def test_load_state_dict_of_a_sequential_of_8000_layers():
    """Each child's entries were filtered out of its parent's whole dict: loading a Sequential of n layers cost
    O(n^2) (10,000 Linear layers: 61 s, torch's own load 28 s; 8,000 here); now one pass groups them by child. Every
    parameter gets its array, and strict loading names the missing and unexpected keys as torch does."""
    n = 8_000
    m = npg.nn.Sequential(*[npg.nn.Linear(1, 1) for _ in range(n)])
    vals = RNG.standard_normal((n, 2))
    sd = {}
    for i in range(n):
        sd[f"{i}.weight"], sd[f"{i}.bias"] = vals[i, :1].reshape(1, 1), vals[i, 1:]
    assert m.load_state_dict(sd) == ([], [])
    for i, layer in enumerate(m):
        assert layer.weight.data[0, 0] == vals[i, 0] and layer.bias.data[0] == vals[i, 1]
    del sd["17.bias"]
    sd["7999.scale"] = np.ones(1)
    sd["8000.weight"] = np.ones(1)
    keys = m.load_state_dict(sd, strict=False)
    t = torch.nn.Sequential(*[torch.nn.Linear(1, 1) for _ in range(20)])
    tsd = {k: torch.zeros(v.shape) for k, v in t.state_dict().items()}
    del tsd["17.bias"]
    tsd["19.scale"], tsd["20.weight"] = torch.ones(1), torch.ones(1)
    tkeys = t.load_state_dict(tsd, strict=False)
    assert tkeys.missing_keys == ["17.bias"] == keys.missing_keys
    assert tkeys.unexpected_keys == ["20.weight", "19.scale"]   # the root's own first, then its children's
    assert keys.unexpected_keys == ["8000.weight", "7999.scale"]
    with pytest.raises(RuntimeError, match='Missing key.*"17.bias".*\n.*Unexpected key.*"8000.weight", "7999.scale"'):
        m.load_state_dict(sd)


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_of_nested_modules_with_a_renaming_hook(strict):
    """Nested children (Sequentials in a Sequential, a name that prefixes another: "1" and "10"), a parent's
    pre-hook renaming its children's keys before they load: the values loaded and the keys reported, as torch's."""
    def build(lib):
        inner = [lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 1)) for _ in range(12)]
        return lib.nn.Sequential(*inner)

    def rename(module, state_dict, prefix, *args):
        for k in [k for k in state_dict if k.startswith(prefix + "old")]:
            state_dict[prefix + k[len(prefix) + 3:]] = state_dict.pop(k)

    m, t = build(npg), build(torch)
    src = {k: RNG.standard_normal(tuple(v.shape)).astype(np.float32) for k, v in t.state_dict().items()}
    src = {("10.old" + k[3:] if k.startswith("10.") else k): v for k, v in src.items()}
    src["1.7.weight"] = np.ones((1, 2), np.float32)
    src.pop("1.1.bias")
    m[10]._register_load_state_dict_pre_hook(rename, with_module=True)
    t[10]._register_load_state_dict_pre_hook(rename, with_module=True)
    if strict:
        with pytest.raises(RuntimeError) as e:
            m.load_state_dict(src)
        with pytest.raises(RuntimeError) as te:
            t.load_state_dict({k: torch.tensor(v) for k, v in src.items()})
        assert str(e.value).split(":", 1)[1] == str(te.value).split(":", 1)[1]
        return
    keys = m.load_state_dict(src, strict=False)
    tkeys = t.load_state_dict({k: torch.tensor(v) for k, v in src.items()}, strict=False)
    assert keys.missing_keys == tkeys.missing_keys and keys.unexpected_keys == tkeys.unexpected_keys
    for (k, v), (tk, tv) in zip(m.state_dict().items(), t.state_dict().items()):
        assert k == tk
        if k != "1.1.bias":    # (missing: each keeps its own initial value)
            np.testing.assert_array_equal(v.data, tv.numpy())


def _elman_reference(x, h0, w_ih, w_hh, b_ih, b_hh, g_out):
    """tanh RNN forward and backward through time in plain NumPy (the oracle): outputs and the gradients of
    sum(out * g_out) for x, h0 and the four weights."""
    T = x.shape[0]
    pre = x @ w_ih.T + b_ih + b_hh
    hs = np.empty((T + 1,) + h0.shape)
    hs[0] = h0
    for t in range(T):
        hs[t + 1] = np.tanh(pre[t] + hs[t] @ w_hh.T)
    dz = 1 - hs[1:] ** 2
    gz = np.empty_like(hs[1:])
    gh = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        gz[t] = (gh + g_out[t]) * dz[t]
        gh = gz[t] @ w_hh
    gb = gz.sum((0, 1))
    return hs[1:], dict(x=gz @ w_ih, h0=gh, w_ih=np.einsum("tbh,tbi->hi", gz, x),
                        w_hh=np.einsum("tbh,tbi->hi", gz, hs[:-1]), b_ih=gb, b_hh=gb)


def test_rnn_over_10000_steps():
    """An Elman RNN over 10,000 steps, float64, against backpropagation through time in NumPy. The layer's
    output gathers every step's state in one op whose VJPs were handed all T saved states unpacked, each:
    O(T^2) in backward (T = 30,000: 7.4 s, now 0.65 s; T = 20,000: 3.1 s, now 0.36 s)."""
    T, B, I, H = 10_000, 1, 3, 4
    x, h0 = RNG.standard_normal((T, B, I)), RNG.standard_normal((1, B, H))
    g_out = RNG.standard_normal((T, B, H))
    m = npg.nn.RNN(I, H)
    w = {k: v.data.copy() for k, v in m.named_parameters()}
    X, H0 = npg.tensor(x, requires_grad=True), npg.tensor(h0, requires_grad=True)
    out, hn = m(X, H0)
    ref, grads = _elman_reference(x, h0[0], w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"],
                                  g_out)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hn.data[0], ref[-1], rtol=1e-12, atol=1e-12)
    out.backward(npg.tensor(g_out))
    got = dict(x=X.grad, h0=H0.grad[0], w_ih=m.weight_ih_l0.grad, w_hh=m.weight_hh_l0.grad,
               b_ih=m.bias_ih_l0.grad, b_hh=m.bias_hh_l0.grad)
    for k, v in grads.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-9, atol=1e-9, err_msg=k)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_rnn_gather_of_30000_states(dt):
    """The recurrent layers' gather (every step's state into the output, rnn_gather) of 30,000 pieces, each
    written whole or in part: values and every piece's gradient against NumPy's slicing. Before the fix its
    backward took ~7 s (each of the 30,000 VJPs handed the 30,000 saved states)."""
    from npgrad.nn.functional._recurrent_base import rnn_gather
    n = 30_000
    x = RNG.standard_normal((n, 3)).astype(dt)
    g = RNG.standard_normal((n, 2)).astype(dt)
    pieces = [npg.tensor(r, requires_grad=True) for r in x]
    places = [(i, (i,), (slice(i % 2, i % 2 + 2),)) for i in range(n)]
    y = rnn_gather(pieces, places, (n, 2), full=True)
    want = np.stack([r[i % 2:i % 2 + 2] for i, r in enumerate(x)])
    np.testing.assert_array_equal(y.data, want)
    y.backward(npg.tensor(g))
    grads = np.stack([p.grad for p in pieces])
    expect = np.zeros_like(x)
    expect[::2, :2], expect[1::2, 1:] = g[::2], g[1::2]
    assert grads.dtype == dt
    np.testing.assert_array_equal(grads, expect)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_double_backward_over_more_steps_than_a_saved_gather(cls):
    """40 steps (the output's gather then saves nothing: more than 16 pieces): the input gradient under
    create_graph, and the gradient of its square's sum, against torch in float64."""
    T, B, I, H = 40, 2, 3, 4
    x = RNG.standard_normal((T, B, I))
    m = getattr(npg.nn, cls)(I, H)
    tm = getattr(torch.nn, cls)(I, H).double()
    with torch.no_grad():
        for (k, v), (tk, tv) in zip(m.named_parameters(), tm.named_parameters()):
            tv.copy_(torch.tensor(v.data))
    X, tX = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = m(X)[0], tm(tX)[0]
    gx, = npg.autograd.grad((out ** 2).sum(), [X], create_graph=True)
    tgx, = torch.autograd.grad((tout ** 2).sum(), [tX], create_graph=True)
    np.testing.assert_allclose(gx.data, tgx.detach().numpy(), rtol=1e-10, atol=1e-12)
    (gx ** 2).sum().backward()
    (tgx ** 2).sum().backward()
    np.testing.assert_allclose(X.grad, tX.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (k, v), (tk, tv) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
