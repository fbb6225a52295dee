"""Combinations of autograd features, each run twice (torch.autograd and npgrad, same numbers) and compared:
gradients, hook calls (order, count, value received), grad mode, errors."""
import numpy as np
import torch

import npgrad as npg
from tests.helpers import assert_close

LIBS = {"torch": (torch, lambda a, rg=True: torch.tensor(np.array(a, dtype=np.float64), requires_grad=rg)),
        "npg": (npg, lambda a, rg=True: npg.tensor(np.array(a, dtype=np.float64), requires_grad=rg))}


def _arr(t):
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        return t.detach().numpy().copy()
    return np.array(t.data if isinstance(t, npg.Tensor) else t)


def _both(scenario):
    """``scenario(lib, T)`` for torch and for npgrad; returns both results."""
    return [scenario(*LIBS[k]) for k in ("torch", "npg")]


def test_a_hook_removing_itself_does_not_skip_the_next_hook():
    # the hooks list was iterated while a hook removed itself from it: the next hook was skipped for that pass,
    # so a one-shot hook silently dropped another hook's change to the gradient
    def scenario(lib, T):
        log, handles = [], []

        def once(g):
            log.append(("once", _arr(g).tolist()))
            handles[0].remove()
            return g * 2

        def triple(g):
            log.append(("triple", _arr(g).tolist()))
            return g * 3
        x = T([1.0, 2.0])
        y = x * 1
        handles.append(y.register_hook(once))
        handles.append(y.register_hook(triple))
        handles.append(x.register_hook(lambda g: log.append(("leaf", _arr(g).tolist()))))
        lib.sum(y).backward(retain_graph=True)
        lib.sum(y).backward()
        return log, _arr(x.grad)
    (tlog, tg), (nlog, ng) = _both(scenario)
    assert nlog == tlog
    assert_close(ng, tg)


def test_a_hook_removing_a_later_hook_still_runs_it_in_that_pass_as_torch():
    def scenario(lib, T):
        log, handles = [], []
        x = T([1.0, 2.0])
        handles.append(x.register_hook(lambda g: (log.append("first"), handles[1].remove())[0]))
        handles.append(x.register_hook(lambda g: (log.append("second"), g * 5)[1]))
        lib.sum(x * 1).backward()
        lib.sum(x * 1).backward()
        return log, _arr(x.grad)
    (tlog, tg), (nlog, ng) = _both(scenario)
    assert nlog == tlog
    assert_close(ng, tg)


def test_inference_mode_false_turns_grad_mode_on_under_no_grad():
    # inference_mode(False) left grad mode as it was (off under no_grad): nothing was recorded where PyTorch records
    def scenario(lib, T):
        x = T([1.0, 2.0])
        states = []
        with lib.no_grad():
            with lib.inference_mode(False):
                states.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
                y = x * 3
            states.append(lib.is_grad_enabled())
        with lib.inference_mode():
            with lib.inference_mode(False):
                states.append(lib.is_grad_enabled())
            states.append(lib.is_grad_enabled())

        @lib.inference_mode(False)
        def f():
            return lib.is_grad_enabled()
        with lib.no_grad():
            states.append(f())
        lib.sum(y * y).backward()
        return states, y.requires_grad, _arr(x.grad)
    (ts, tr, tg), (ns, nr, ng) = _both(scenario)
    assert ns == ts and nr == tr is True
    assert_close(ng, tg)


def test_node_hook_returning_none_leaves_no_gradient_as_torch():
    # a None in what grad_fn.register_hook's hook returned gave the input zeros: a leaf's .grad became zeros
    # where PyTorch leaves it None, and a non-leaf behind it passed zeros on
    def scenario(lib, T):
        log = []
        x, w, u = T([1.0, 2.0]), T([3.0, 4.0]), T([5.0, 6.0])
        a, b = x * 2, u * 1
        a.register_hook(lambda g: log.append(("a", None if g is None else _arr(g).tolist())))
        y = a * w * b
        y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))   # (a * w) * b: drop (a * w)'s gradient
        (a * w).grad_fn.register_hook(lambda gi, go: (gi[0], None))
        lib.sum(y + a).backward()
        return log, [_arr(t) for t in (x.grad, w.grad, u.grad)]
    (tlog, tg), (nlog, ng) = _both(scenario)
    assert nlog == tlog
    assert ng[1] is None and tg[1] is None
    assert_close(ng[0], tg[0])
    assert_close(ng[2], tg[2])

    def unused(lib, T):
        x, w = T([1.0, 2.0]), T([3.0, 4.0])
        y = x * w
        y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
        return [_arr(g) for g in lib.autograd.grad(lib.sum(y), (x, w), allow_unused=True)]
    (tx, tw), (nx, nw) = _both(unused)
    assert tx is None and nx is None
    assert_close(nw, tw)


def _mul3(lib):
    class Mul3(lib.autograd.Function):
        """(x * x * y, x * y), saving an input, an output and an intermediate."""

        @staticmethod
        def forward(ctx, x, y):
            inter = x * y
            out = inter * x
            ctx.save_for_backward(x, out, inter)
            return out, inter

        @staticmethod
        def backward(ctx, g_out, g_inter):
            x, out, inter = ctx.saved_tensors
            y = inter / x
            return g_out * 2 * x * y + g_inter * y, g_out * x * x + g_inter * x
    return Mul3


def test_function_used_twice_double_backward_and_hooks_under_grad():
    def scenario(lib, T):
        log = []
        x, y = T([1.0, 2.0]), T([3.0, 0.5])
        x.register_hook(lambda g: log.append(("x", _arr(g).round(9).tolist())))
        x.register_post_accumulate_grad_hook(lambda t: log.append("post"))
        a, b = _mul3(lib).apply(x, y)
        c, d = _mul3(lib).apply(a, y)
        gx, gy = lib.autograd.grad(lib.sum(c * d + b), (x, y), create_graph=True)
        h = lib.autograd.grad(lib.sum(gx * gx) + lib.sum(gy), (x, y))
        return log, [_arr(t) for t in (gx, gy) + tuple(h)], x.grad
    (tlog, tg, txg), (nlog, ng, nxg) = _both(scenario)
    assert nlog == tlog and txg is None and nxg is None   # tensor hooks fire under grad(), post hooks do not
    for a, b in zip(ng, tg):
        assert_close(a, b)


def test_saved_tensors_hooks_with_a_function_and_retain_graph():
    def scenario(lib, T):
        log = []

        def pack(t):
            log.append(("pack", tuple(t.shape)))
            return t

        def unpack(t):
            log.append("unpack")
            return t * 2   # a different value: backward must use it
        x, w = T([1.0, 2.0, 3.0]), T([4.0, 5.0, 6.0])
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = x * w
        lib.sum(y).backward(retain_graph=True)
        lib.sum(y).backward()
        return log, _arr(x.grad), _arr(w.grad)
    (tlog, tx, tw), (nlog, nx, nw) = _both(scenario)
    assert nlog == tlog
    assert_close(nx, tx)
    assert_close(nw, tw)
