"""PyTorch's autograd graph API (npgrad/autograd/graph.py), side by side with torch: t.grad_fn as a Node,
node hooks, saved_tensors_hooks, disable_saved_tensors_hooks, save_on_cpu, register_multi_grad_hook."""
import threading

import numpy as np
import pytest
import torch
from torch.autograd import graph as tgraph

import npgrad as npg
from npgrad.autograd import graph as ngraph


def _pair(a, dtype=np.float64):
    a = np.asarray(a, dtype)
    return npg.tensor(a), torch.tensor(a, requires_grad=True)


# ------------------------------------------------------------------------------- grad_fn as a node
def test_grad_fn_is_a_node_equal_to_the_op_name():
    x, tx = _pair([1.0, 2.0, 3.0])
    y = x * 2
    assert y.grad_fn == "mul" and str(y.grad_fn) == "mul" and y.grad_fn.name() == "mul"
    assert isinstance(y.grad_fn, ngraph.Node) and y.grad_fn == y.grad_fn and y.grad_fn != (x * 2).grad_fn
    assert {y.grad_fn: 1}["mul"] == 1
    assert x.grad_fn is None and tx.grad_fn is None
    assert "grad_fn=<mul>" in repr(y)


def test_next_functions_as_torch():
    x, tx = _pair([1.0, 2.0, 3.0])
    c = np.array([1.0, 2.0])
    y, ty = x[:2] * c, tx[:2] * torch.tensor(c)
    nf, tnf = y.grad_fn.next_functions, ty.grad_fn.next_functions
    assert [(n is None, i) for n, i in nf] == [(n is None, i) for n, i in tnf] == [(False, 0), (True, 0)]
    acc, tacc = nf[0][0].next_functions[0][0], tnf[0][0].next_functions[0][0]
    assert acc.name() == tacc.name() == "torch::autograd::AccumulateGrad" and type(acc).__name__ == type(tacc).__name__ and acc.variable is x and tacc.variable is tx
    assert acc.next_functions == tacc.next_functions == ()
    s = (x * x).sum()
    assert s.grad_fn.next_functions[0][0] == "mul"


def test_metadata_persists():
    x, _ = _pair([1.0])
    y = x * 3
    y.grad_fn.metadata["k"] = 1
    assert y.grad_fn.metadata == {"k": 1}
    y.sum().backward()
    assert x.grad.tolist() == [3.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_node_prehook_and_hook_as_torch(dtype):
    res = []
    for lib in ("npg", "torch"):
        x, tx = _pair([1.0, -2.0], dtype)
        w, tw = _pair([3.0, 4.0], dtype)
        a, b = (x, w) if lib == "npg" else (tx, tw)
        y = a * b
        seen = []
        y.grad_fn.register_prehook(lambda go: (seen.append(np.array(go[0].tolist())), (go[0] * 2,))[1])
        h = y.grad_fn.register_hook(lambda gi, go: (seen.append([np.array(g.tolist()) for g in gi]),
                                                    (gi[0] * 10, gi[1]))[1])
        (y * y).sum().backward()
        res.append((seen, np.array(a.grad.tolist()), np.array(b.grad.tolist()), a.grad.dtype))
        h.remove()
        a.grad = None
        (a * b).sum().backward()
    (s1, ga, gb, _), (s2, tga, tgb, _) = res
    np.testing.assert_allclose(ga, tga)
    np.testing.assert_allclose(gb, tgb)
    np.testing.assert_allclose(s1[0], s2[0])
    np.testing.assert_allclose(s1[1][0], s2[1][0])
    assert res[0][3] == dtype


def test_node_hooks_with_create_graph_as_torch():
    out = {}
    for lib in ("npg", "torch"):
        x = npg.tensor([1.0, 2.0]) if lib == "npg" else torch.tensor([1.0, 2.0], dtype=torch.float64,
                                                                       requires_grad=True)
        m, grad = (npg, npg.autograd.grad) if lib == "npg" else (torch, torch.autograd.grad)
        y = m.sin(x) * x
        y.grad_fn.register_hook(lambda gi, go: (gi[0] * 2, gi[1]))
        y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
        g, = grad(y.sum(), x, create_graph=True)
        gg, = grad(g.sum(), x)
        out[lib] = np.array(g.tolist()), np.array(gg.tolist())
    np.testing.assert_allclose(out["npg"][0], out["torch"][0])
    np.testing.assert_allclose(out["npg"][1], out["torch"][1])


def test_node_hook_sees_input_shaped_gradients_as_torch():
    got = {}
    for lib in ("npg", "torch"):
        if lib == "npg":
            x, b = npg.tensor([[1.0, 2.0]]), npg.tensor([[3.0], [4.0]])
        else:
            x = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
            b = torch.tensor([[3.0], [4.0]], dtype=torch.float64, requires_grad=True)
        y = x + b
        shapes = []
        y.grad_fn.register_hook(lambda gi, go: shapes.append([tuple(g.shape) for g in gi] + [tuple(go[0].shape)]))
        y.sum().backward()
        got[lib] = shapes, x.grad.tolist(), b.grad.tolist()
    assert got["npg"] == got["torch"]


def test_node_hook_none_input_and_removal():
    x, tx = _pair([1.0, 2.0])
    got = []
    y = x * np.array([3.0, 4.0])
    ty = tx * torch.tensor([3.0, 4.0], dtype=torch.float64)
    y.grad_fn.register_hook(lambda gi, go: got.append(gi[1]))
    ty.grad_fn.register_hook(lambda gi, go: got.append(gi[1]))
    y.sum().backward()
    ty.sum().backward()
    assert got == [None, None]
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_node_hook_bad_return_is_a_clear_error():
    x, _ = _pair([1.0, 2.0])
    y = x * x
    y.grad_fn.register_hook(lambda gi, go: (gi[0][:1], gi[1]))
    with pytest.raises(RuntimeError, match="shape"):
        y.sum().backward()


def test_accumulate_grad_prehook():
    x, tx = _pair([1.0, 2.0])
    for a in (x, tx):
        acc = (a * 2).grad_fn.next_functions[0][0]
        y = a * 2
        acc = y.grad_fn.next_functions[0][0]
        acc.register_prehook(lambda go: (go[0] + 1,))
        y.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


# ------------------------------------------------------------------------------ saved tensor hooks
def _graph(lib, x, w):
    m = npg if lib == "npg" else torch
    return (m.tanh(x * w) * x).sum() + (m.exp(w) * w).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saved_tensors_hooks_round_trip_and_gradients(dtype):
    xv, wv = np.array([0.3, -1.2, 2.0], dtype), np.array([1.5, 0.25, -0.7], dtype)
    grads = {}
    for lib in ("npg", "torch"):
        store = []

        def pack(t):
            store.append(t)
            return len(store) - 1

        unpacked = []

        def unpack(i):
            unpacked.append(i)
            return store[i]

        if lib == "npg":
            x, w = npg.tensor(xv), npg.tensor(wv)
        else:
            x, w = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
        with (ngraph if lib == "npg" else tgraph).saved_tensors_hooks(pack, unpack):
            y = _graph(lib, x, w)
        assert store and not unpacked
        y.backward()
        assert sorted(set(unpacked)) == list(range(len(store)))  # every packed value unpacked
        grads[lib] = (np.array(x.grad.tolist()), np.array(w.grad.tolist()), x.grad.dtype)
    np.testing.assert_allclose(grads["npg"][0], grads["torch"][0], rtol=1e-6)
    np.testing.assert_allclose(grads["npg"][1], grads["torch"][1], rtol=1e-6)
    assert grads["npg"][2] == dtype


def test_saved_tensors_hooks_float16_round_trip_changes_gradients_as_torch():
    xv = np.array([0.1234567, -1.2345678, 3.3333333], np.float32)
    wv = np.array([1.1111111, 0.7777777, -2.2222222], np.float32)
    out = {}
    for lib in ("npg", "torch"):
        if lib == "npg":
            x, w = npg.tensor(xv), npg.tensor(wv)
            hooks = ngraph.saved_tensors_hooks(lambda t: t.astype(np.float16), lambda t: t.astype(np.float32))
        else:
            x, w = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
            hooks = tgraph.saved_tensors_hooks(lambda t: t.half(), lambda t: t.float())
        with hooks:
            y = (x * w).sum()
        y.backward()
        out[lib] = np.array(x.grad.tolist(), np.float32), x.grad.dtype
    np.testing.assert_array_equal(out["npg"][0], out["torch"][0])
    np.testing.assert_array_equal(out["npg"][0], wv.astype(np.float16).astype(np.float32))
    assert not np.array_equal(out["npg"][0], wv) and out["npg"][1] == np.float32


def test_saved_tensors_hooks_nest_thread_local_and_cost_nothing_when_off():
    from npgrad.autograd import record_layers
    plain = record_layers._PLAIN
    for lib, g in (("npg", ngraph), ("torch", tgraph)):
        x = npg.tensor([1.0, 2.0]) if lib == "npg" else torch.tensor([1.0, 2.0], requires_grad=True)
        calls = []
        with g.saved_tensors_hooks(lambda t: (calls.append("o"), t)[1], lambda t: t):
            with g.saved_tensors_hooks(lambda t: (calls.append("i"), t)[1], lambda t: t):
                (x * x).sum()
            assert set(calls) == {"i"}
            calls.clear()
            th = threading.Thread(target=lambda: (x * x).sum())
            th.start()
            th.join()
            assert calls == []   # hooks are per thread, as torch's
            (x * x).sum()
            assert set(calls) == {"o"}
    import npgrad.ops.elementwise as ew
    assert npg.tensor._record is plain if hasattr(npg.tensor, "_record") else True
    assert ew._record is ew._plain_record   # off again: the inlined recording path is back


def test_saved_tensors_hooks_with_anomaly_mode_in_any_order():
    import npgrad.ops.elementwise as ew
    x = npg.tensor([1.0, 2.0])
    calls = []
    hooks = ngraph.saved_tensors_hooks(lambda t: (calls.append(1), t)[1], lambda t: t)
    anomaly = npg.autograd.detect_anomaly()
    hooks.__enter__()
    anomaly.__enter__()
    hooks.__exit__(None, None, None)   # not in LIFO order
    (x * x).sum().backward()
    assert calls == []
    hooks2 = ngraph.saved_tensors_hooks(lambda t: (calls.append(2), t)[1], lambda t: t)
    with hooks2:
        anomaly.__exit__(None, None, None)
        (x * x).sum().backward()
        assert calls and set(calls) == {2}
    assert ew._record is ew._plain_record
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_identity_hooks_still_catch_in_place_changes():
    # torch 2.13 does not check versions of values that went through saved tensor hooks: it silently uses the
    # overwritten value (a wrong gradient). npgrad checks what unpack gave back: the array itself here.
    th = torch.tensor([1.0, 2.0], requires_grad=True)
    th2 = th * 1.0
    with tgraph.saved_tensors_hooks(lambda t: t, lambda t: t):
        ty = (th2 * th2).sum()
    with torch.no_grad():
        th2.mul_(2)
    ty.backward()
    assert th.grad.tolist() == [4.0, 8.0]   # torch: 2 * (the doubled h), not d(h*h)/dh = 2 h = [2, 4]
    x = npg.tensor([1.0, 2.0])
    h = x * 1.0
    with ngraph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = (h * h).sum()
    with npg.no_grad():
        h *= 2
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()
    x2 = npg.tensor([1.0, 2.0])   # a copying pack keeps the values of record time: no error, right gradient
    h2 = x2 * 1.0
    with ngraph.saved_tensors_hooks(lambda t: t.copy(), lambda t: t):
        y2 = (h2 * h2).sum()
    with npg.no_grad():
        h2 *= 2
    y2.backward()
    np.testing.assert_allclose(x2.grad, [2.0, 4.0])


def test_unpack_of_wrong_shape_is_a_clear_error():
    x = npg.tensor([1.0, 2.0, 3.0])
    with ngraph.saved_tensors_hooks(lambda t: t, lambda t: t[:2]):
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"unpack.*\(2,\).*\(3,\).*op '"):
        y.backward()


def test_disable_saved_tensors_hooks_and_save_on_cpu():
    for g in (ngraph, tgraph):
        with g.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with g.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        x = npg.tensor([1.0, 2.0]) if g is ngraph else torch.tensor([1.0, 2.0], requires_grad=True)
        with g.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="off"):
                with g.disable_saved_tensors_hooks("off"):
                    pass
            (x * x).sum().backward()
    x = npg.tensor([1.0, 2.0])
    with ngraph.save_on_cpu(pin_memory=False):
        y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


# ------------------------------------------------------------------------------ multi-grad hooks
def _multi(lib, mode):
    if lib == "npg":
        a, b = npg.tensor([1.0, 2.0]), npg.tensor([3.0, 4.0])
        g = ngraph
    else:
        a, b = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
        g = tgraph
    seen = []
    if mode == "all":
        h = g.register_multi_grad_hook((a, b), lambda gs: seen.append([None if x is None else x.tolist() for x in gs]))
    else:
        h = g.register_multi_grad_hook((a, b), lambda x: seen.append(x.tolist()), mode="any")
    (a * 2).sum().backward(inputs=[a])
    (a * 2 + b * 3).sum().backward()
    (a * 5).sum().backward()
    h.remove()
    (a * 7 + b).sum().backward()
    return seen


@pytest.mark.parametrize("mode", ["all", "any"])
def test_register_multi_grad_hook_as_torch(mode):
    assert _multi("npg", mode) == _multi("torch", mode)


def test_register_multi_grad_hook_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        ngraph.register_multi_grad_hook([npg.tensor([1.0])], print, mode="some")


def test_node_hooks_and_metadata_stay_on_the_node_an_in_place_write_replaces():
    out = {}
    for lib in ("npg", "torch"):
        x = npg.tensor([1.0, 2.0]) if lib == "npg" else torch.tensor([1.0, 2.0], dtype=torch.float64,
                                                                       requires_grad=True)
        y = x * 2
        seen = []
        y.grad_fn.register_hook(lambda gi, go: seen.append(go[0].tolist()))
        y.grad_fn.metadata["a"] = 1
        y *= 3
        meta = (dict(y.grad_fn.metadata), dict(y.grad_fn.next_functions[0][0].metadata))
        (y * y).sum().backward()
        out[lib] = meta, seen, x.grad.tolist()
    assert out["npg"] == out["torch"] == (({}, {"a": 1}), [[36.0, 72.0]], [72.0, 144.0])
