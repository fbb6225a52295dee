"""Review of the recurrent and attention layers against PyTorch: cases the area's other tests did not reach."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F


def _attention_cases():
    """(name, build) with build(lib) -> (output, inputs) for the same values in npgrad and torch; each is an
    op whose VJPs share work keyed on the incoming gradient (sdpa, the fused recurrent steps)."""
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))

    def sdpa(lib):
        ts = [lib_tensor(lib, a) for a in (q, k, v)]
        f = F.scaled_dot_product_attention if lib is npg else torch.nn.functional.scaled_dot_product_attention
        return f(*ts), ts

    def cell(name):
        def build(lib):
            torch.manual_seed(0)
            tc = getattr(torch.nn, name)(3, 4, dtype=torch.float64)
            if lib is torch:
                c = tc
            else:
                c = getattr(nn, name)(3, 4)
                c.load_state_dict({a: b.detach().numpy() for a, b in tc.state_dict().items()})
            ts = [lib_tensor(lib, a) for a in (x, h)]
            return c(*ts), ts + [c.weight_hh, c.weight_ih]
        return build

    def mha(lib):
        torch.manual_seed(0)
        tm = torch.nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
        m = tm
        if lib is npg:
            m = nn.MultiheadAttention(4, 2, batch_first=True)
            m.load_state_dict({a: b.detach().numpy() for a, b in tm.state_dict().items()})
        ts = [lib_tensor(lib, a) for a in (q, k[..., :4], v[..., :4])]
        return m(*ts, need_weights=False)[0], ts
    return [("sdpa", sdpa), ("GRUCell", cell("GRUCell")), ("RNNCell", cell("RNNCell")), ("mha", mha)]


def to_np(a):
    """A copy of a gradient (an array, an npgrad or a torch tensor) as an array."""
    if isinstance(a, torch.Tensor):
        return a.detach().numpy().copy()
    return np.array(getattr(a, "data", a))


def lib_tensor(lib, a):
    return npg.tensor(a.copy(), requires_grad=True) if lib is npg else torch.tensor(a.copy(), requires_grad=True)


@pytest.mark.parametrize("name,build", _attention_cases(), ids=[c[0] for c in _attention_cases()])
def test_a_gradient_array_reused_after_changing_it_in_place(name, build):
    """Two backward passes over one graph (retain_graph) with the same gradient array, changed in place in
    between: the second pass must use its new values. (Was: sdpa, GRUCell and RNNCell kept the first pass's
    work, keyed on the array's identity, so the second gradient equalled the first: ratio 1 where torch gives 3.)"""
    results = {}
    for lib in (npg, torch):
        out, inputs = build(lib)
        g = np.linspace(-1, 1, out.numel() if lib is torch else out.size).reshape(tuple(out.shape))
        seed = g if lib is npg else torch.from_numpy(g)   # (torch.from_numpy shares g's memory)
        grad = npg.autograd.grad if lib is npg else torch.autograd.grad
        first = [to_np(a) for a in grad(out, inputs, grad_outputs=seed, retain_graph=True)]
        g *= 3
        second = [to_np(a) for a in grad(out, inputs, grad_outputs=seed, retain_graph=True)]
        out.backward(seed)   # and through .backward, into .grad
        results[lib] = first, second, [to_np(t.grad) for t in inputs]
    for i, (a, b) in enumerate(zip(results[npg][1], results[torch][1])):
        np.testing.assert_allclose(a, 3 * results[npg][0][i], rtol=1e-12, atol=1e-12, err_msg=f"{name} input {i}")
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{name} input {i}")
    for i, (a, b) in enumerate(zip(results[npg][2], results[torch][2])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{name} .grad of input {i}")


@pytest.mark.parametrize("name", ["GRUCell", "RNNCell", "LSTM"])
def test_a_gradient_tensor_reused_after_changing_it_in_place_with_create_graph(name):
    """As above with create_graph=True and the gradient a Tensor changed in place (under no_grad) between the
    passes. (Was: the fused recurrent steps returned the first pass's gradient: ratio 1 where torch gives 3.)"""
    rng = np.random.default_rng(1)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(3, 4, dtype=torch.float64)
    m = getattr(nn, name)(3, 4)
    m.load_state_dict({a: b.detach().numpy() for a, b in tm.state_dict().items()})
    results = {}
    for lib, mod in ((npg, m), (torch, tm)):
        ts = [lib_tensor(lib, a) for a in ((x, h) if name != "LSTM" else (x,))]
        out = mod(*ts) if name != "LSTM" else mod(ts[0])[0]
        g = lib_tensor(lib, np.linspace(-1, 1, 8).reshape(tuple(out.shape)))
        grad = npg.autograd.grad if lib is npg else torch.autograd.grad
        no_grad = npg.no_grad if lib is npg else torch.no_grad
        inputs = ts + [mod.weight_hh if name != "LSTM" else mod.weight_hh_l0]
        first = [to_np(a) for a in grad(out, inputs, grad_outputs=g, create_graph=True)]
        with no_grad():
            g *= 3
        second = grad(out, inputs, grad_outputs=g, create_graph=True)
        (second[0] ** 2).sum().backward()   # and the second pass's graph reaches g, at its new value
        results[lib] = first, [to_np(a) for a in second], to_np(g.grad)
    for i, (a, b) in enumerate(zip(results[npg][1], results[torch][1])):
        np.testing.assert_allclose(a, 3 * results[npg][0][i], rtol=1e-12, atol=1e-12, err_msg=f"{name} input {i}")
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{name} input {i}")
    np.testing.assert_allclose(results[npg][2], results[torch][2], rtol=1e-10, atol=1e-12, err_msg=f"{name} grad of g")


def _vmapped(f):
    from npgrad.func_vmap import vmap
    return lambda *a: vmap(f)(*a)


@pytest.mark.parametrize("case", ["GRUCell", "RNNCell", "LSTMCell", "rnn_relu_cell", "vmap GRU input",
                                  "vmap LSTM h_0", "vmap GRUCell input", "vmap LSTMCell c"])
def test_a_state_or_input_of_another_dtype_than_the_weights_is_an_error(case):
    """A float64 state (npg.zeros' default dtype) with a float32 model: torch raises ("mat1 and mat2 must have
    the same dtype"), as npgrad's fused layers do; the cells and the layers under vmap returned float64."""
    f32, f64 = np.float32, np.float64
    x = npg.tensor(np.ones((2, 3), f32))
    with pytest.raises(TypeError, match=r"(?i)(cell|GRU|LSTM).*float64.*float32|float32.*float64"):
        if case in ("GRUCell", "RNNCell", "LSTMCell"):
            cell = getattr(nn, case)(3, 4, dtype=f32)
            h = npg.zeros((2, 4))
            cell(x, (npg.zeros((2, 4), dtype=f32), h) if case == "LSTMCell" else h)
        elif case == "rnn_relu_cell":
            cell = nn.RNNCell(3, 4, dtype=f32)
            F.rnn_relu_cell(x, npg.zeros((2, 4)), cell.weight_ih, cell.weight_hh)
        elif case == "vmap GRU input":
            m = nn.GRU(3, 4)
            _vmapped(lambda x: m(x)[0])(npg.tensor(np.ones((2, 5, 3), f32)))
        elif case == "vmap LSTM h_0":
            m = nn.LSTM(3, 4, dtype=f32)
            _vmapped(lambda x: m(x, (npg.zeros((1, 4)), npg.zeros((1, 4), dtype=f32)))[0])(
                npg.tensor(np.ones((2, 5, 3), f32)))
        elif case == "vmap GRUCell input":
            cell = nn.GRUCell(3, 4)
            _vmapped(lambda x: cell(x))(x)
        else:
            cell = nn.LSTMCell(3, 4, dtype=f32)
            _vmapped(lambda x: cell(x, (npg.zeros(4, dtype=f32), npg.zeros(4)))[0])(x)


@pytest.mark.parametrize("where", ["sdpa", "MultiheadAttention", "TransformerEncoderLayer"])
def test_attention_dropout_of_one_zeroes_instead_of_nan(where):
    """dropout_p=1.0 drops every attention weight: torch gives zeros (and zero gradients); npgrad's fused
    attention scaled the kept weights by 1 / (1 - p) = 1 / 0 and gave NaN."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 4))
    torch.manual_seed(0)
    if where == "sdpa":
        tm, m = (lambda a: torch.nn.functional.scaled_dot_product_attention(a, a, a, dropout_p=1.0),
                 lambda a: F.scaled_dot_product_attention(a, a, a, dropout_p=1.0))
    else:
        kw = dict(dropout=1.0) if where == "MultiheadAttention" else dict(dim_feedforward=5, dropout=1.0)
        tmod = getattr(torch.nn, where)(4, 2, dtype=torch.float64, **kw)
        mod = getattr(nn, where)(4, 2, **kw)
        mod.load_state_dict({a: b.detach().numpy() for a, b in tmod.state_dict().items()})
        if where == "MultiheadAttention":
            tm, m = (lambda a: tmod(a, a, a, need_weights=False)[0]), (lambda a: mod(a, a, a, need_weights=False)[0])
        else:
            tm, m = tmod, mod
    tx, nx = lib_tensor(torch, x), lib_tensor(npg, x)
    tout, out = tm(tx), m(nx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    (tout * torch.tensor(g)).sum().backward()
    (out * g).sum().backward()
    np.testing.assert_allclose(nx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sdpa_float_mask_array_changed_after_the_forward_pass():
    """A float NumPy mask is a constant of the op: changing the array after the call must not change the
    gradients (torch does not read the mask in backward). npgrad's create_graph path recomputed the scores
    from the caller's array itself, so its gradients followed the new values."""
    rng = np.random.default_rng(3)
    x, mask0, later = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    grads = {}
    for lib in (npg, torch):
        q = lib_tensor(lib, x)
        mask = mask0.copy()
        f = F.scaled_dot_product_attention if lib is npg else torch.nn.functional.scaled_dot_product_attention
        out = f(q, q, q, attn_mask=mask if lib is npg else torch.from_numpy(mask))  # (from_numpy: shared memory)
        mask[...] = 3 * later
        grad = npg.autograd.grad if lib is npg else torch.autograd.grad
        g, = grad((out ** 2).sum(), [q], create_graph=True)
        g2, = grad((g ** 2).sum(), [q])
        grads[lib] = to_np(g), to_np(g2)
    for a, b in zip(grads[npg], grads[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
