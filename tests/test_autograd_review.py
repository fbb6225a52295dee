"""Autograd machinery against PyTorch: hooks, retain_grad, grad() options, custom Functions, grad mode.

Each test runs the same program in npgrad and in PyTorch (float64) and compares what they do."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close

X = np.array([1.0, 2.0])


def _both():
    return npg.tensor(X.copy(), requires_grad=True), torch.tensor(X.copy(), requires_grad=True)


def test_grad_does_not_call_hooks_of_leaves_that_are_not_inputs():
    seen = {}
    for lib, pairs in (("npg", (_both()[0], _both()[0])), ("torch", (_both()[1], _both()[1]))):
        x, w = pairs
        seen[lib] = []
        w.register_hook(lambda g, lib=lib: seen[lib].append("w"))
        (npg.autograd if lib == "npg" else torch.autograd).grad((x * w).sum(), x)
    assert seen["npg"] == seen["torch"] == []


def test_grad_still_calls_the_hook_of_a_leaf_input():
    xn, xt = _both()
    for x in (xn, xt):
        x.register_hook(lambda g: g * 10)
    gn, = npg.autograd.grad((xn * xn).sum(), xn)
    gt, = torch.autograd.grad((xt * xt).sum(), xt)
    assert_close(gn.data, gt.numpy())


def test_grad_fills_grad_of_a_retained_non_leaf_input():
    xn, xt = _both()
    hn, ht = xn * 2, xt * 2
    hn.retain_grad()
    ht.retain_grad()
    gn, _ = npg.autograd.grad((hn * hn).sum(), [hn, hn])  # (given twice: accumulated once)
    gt, _ = torch.autograd.grad((ht * ht).sum(), [ht, ht])
    assert ht.grad is not None
    assert hn.grad is not None
    assert_close(np.asarray(hn.grad), ht.grad.numpy())
    assert_close(gn.data, gt.numpy())


def test_register_hook_returns_a_removable_handle():
    results = []
    for x in _both():
        calls = []
        handle = x.register_hook(lambda g: calls.append(1))
        kept = x.register_hook(lambda g: g * 3)
        handle.remove()
        handle.remove()  # a second remove is a no-op in PyTorch too
        (x * 2).sum().backward()
        results.append((calls, np.asarray(x.grad.detach() if isinstance(x, torch.Tensor) else x.grad)))
        kept.remove()
    assert results[0][0] == results[1][0] == []
    assert_close(results[0][1], results[1][1])


def test_removed_hook_registered_before_an_in_place_write():
    xn, xt = _both()
    seen = {"npg": [], "torch": []}
    for lib, x in (("npg", xn), ("torch", xt)):
        h = x * 1
        handle = h.register_hook(lambda g, lib=lib: seen[lib].append(1))
        h.mul_(2)
        handle.remove()
        h.sum().backward()
    assert seen["npg"] == seen["torch"] == []


def test_backward_with_empty_inputs_raises():
    for x, err in ((_both()[0], RuntimeError), (_both()[1], RuntimeError)):
        with pytest.raises(err):
            (x * 2).sum().backward(inputs=[])


def test_grad_materialize_grads():
    xn, xt = _both()
    zn, zt = npg.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    gn = npg.autograd.grad((xn * 2).sum(), [xn, zn], materialize_grads=True)
    gt = torch.autograd.grad((xt * 2).sum(), [xt, zt], materialize_grads=True)
    for a, b in zip(gn, gt):
        assert a is not None
        assert_close(a.data, b.numpy())
    with pytest.raises(ValueError):
        torch.autograd.grad((xt * 2).sum(), [xt, zt], materialize_grads=True, allow_unused=False)
    with pytest.raises(ValueError):
        npg.autograd.grad((xn * 2).sum(), [xn, zn], materialize_grads=True, allow_unused=False)


def test_retain_grad_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        torch.tensor(X).retain_grad()
    with pytest.raises(RuntimeError):
        npg.tensor(X, requires_grad=False).retain_grad()


@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode"])
def test_grad_mode_as_a_bare_decorator(name):
    results = []
    for mod, x in ((npg, _both()[0]), (torch, _both()[1])):
        deco = getattr(mod, name)

        @deco
        def f(t):
            return (t * 2).requires_grad, mod.is_grad_enabled()

        with mod.set_grad_enabled(name != "enable_grad"):
            results.append(f(x))
        assert f.__name__ == "f"
    assert results[0] == results[1]


def test_function_gradient_for_a_non_tensor_input_raises():
    def make(base):
        class Scale(base):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g * 2, g
        return Scale

    xn, xt = _both()
    with pytest.raises(RuntimeError, match="not a"):
        make(torch.autograd.Function).apply(xt, 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="not a Tensor"):
        make(npg.autograd.Function).apply(xn, 2.0).sum().backward()


def test_function_returns_non_tensor_outputs_as_they_are():
    def make(base, seen):
        class Multi(base):
            @staticmethod
            def forward(ctx, x):
                return x * 2, None, 3, "s"

            @staticmethod
            def backward(ctx, *grads):
                seen.append([g is None for g in grads])
                return grads[0] * 2
        return Multi

    results = []
    for mod, x in ((npg, _both()[0]), (torch, _both()[1])):
        seen = []
        a, b, c, d = make(mod.autograd.Function, seen).apply(x)
        a.sum().backward()
        results.append((b, c, d, seen, np.asarray(x.grad.detach() if isinstance(x, torch.Tensor) else x.grad)))
    assert results[0][:4] == results[1][:4] == (None, 3, "s", [[False, True, True, True]])
    assert_close(results[0][4], results[1][4])


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_passes_a_none_output_through(reentrant):
    import torch.utils.checkpoint as tcp
    import npgrad.utils.checkpoint as ncp
    xn, xt = _both()
    on = ncp.checkpoint(lambda a: (a * a, None), xn, use_reentrant=reentrant)
    ot = tcp.checkpoint(lambda a: (a * a, None), xt, use_reentrant=reentrant)
    assert ot[1] is None
    assert on[1] is None
    on[0].sum().backward()
    ot[0].sum().backward()
    assert_close(xn.grad, xt.grad.numpy())


def test_reading_grad_of_a_non_leaf_warns_as_torch():
    counts = []
    for x in _both():
        h, r = x * 2, x * 3
        r.retain_grad()
        ((h * r).sum()).backward()
        with pytest.warns(UserWarning, match="not a leaf") as rec:
            assert h.grad is None
        counts.append(len(rec))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert r.grad is not None
            assert x.grad is not None
    assert counts[0] == counts[1] == 1


def _hook_calls(lib, program):
    x = (npg.tensor if lib == "npg" else torch.tensor)(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    calls = []
    program(x, lambda name: (lambda g: calls.append((name, np.asarray(g.detach() if lib == "torch" else g.data)))))
    return calls, np.asarray(x.grad)


def _same_calls(a, b):
    assert [n for n, _ in a[0]] == [n for n, _ in b[0]]
    for (_, ga), (_, gb) in zip(a[0], b[0]):
        assert_close(ga, gb)
    assert_close(a[1], b[1])


def test_hook_on_a_base_written_through_a_view_sees_the_gradient_of_the_old_value():
    def program(x, hook):
        y = x * 2
        y.register_hook(hook("y"))
        y[0:1].mul_(3)
        y.sum().backward()
    _same_calls(_hook_calls("npg", program), _hook_calls("torch", program))


def test_hook_on_another_view_of_a_base_written_through_a_view():
    def program(x, hook):
        y = x * 2
        v, w = y[0:2], y[1:3]
        w.register_hook(hook("w"))
        v.mul_(3)
        (w * w).sum().backward()
    _same_calls(_hook_calls("npg", program), _hook_calls("torch", program))


def test_retains_grad_attribute():
    results = []
    for x in _both():
        y = x * 2
        before = y.retains_grad
        y.retain_grad()
        results.append((before, y.retains_grad, x.retains_grad))
    assert results[0] == results[1]


def test_too_few_grad_outputs_raise():
    for lib, x in (("torch", _both()[1]), ("npg", _both()[0])):
        mod = torch if lib == "torch" else npg
        outs = [(x * x).sum(), (x * 3).sum()]
        seeds = [mod.tensor(1.0)]
        with pytest.raises(RuntimeError, match="2 tensors and"):
            mod.autograd.grad(outs, x, grad_outputs=seeds)
        with pytest.raises(RuntimeError, match="2 tensors and"):
            mod.autograd.backward(outs, seeds)


@pytest.mark.parametrize("use", ["first", "second", "both"])
def test_function_without_materialized_grads_gets_none_for_unused_outputs(use):
    def make(base, seen):
        class Two(base):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append((g1 is None, g2 is None))
                out = 0
                if g1 is not None:
                    out = out + g1 * 2
                if g2 is not None:
                    out = out + g2 * 3
                return out
        return Two

    results = []
    for mod, x in ((npg, _both()[0]), (torch, _both()[1])):
        seen = []
        a, b = make(mod.autograd.Function, seen).apply(x)
        loss = {"first": a.sum(), "second": (b * b).sum(), "both": a.sum() + b.sum()}[use]
        loss.backward(retain_graph=True)
        if use != "both":
            (a.sum() + b.sum()).backward()  # the same graph again, both outputs used this time
        results.append((seen, np.asarray(x.grad.detach() if isinstance(x, torch.Tensor) else x.grad)))
    assert results[0][0] == results[1][0]
    assert_close(results[0][1], results[1][1])


@pytest.mark.parametrize("name", ["no_grad", "inference_mode"])
def test_grad_mode_decorator_on_a_generator_function(name):
    results = []
    for mod, x in ((npg, _both()[0]), (torch, _both()[1])):
        @getattr(mod, name)()
        def gen(t):
            sent = yield (t * 2).requires_grad
            yield (t * sent).requires_grad
            return "done"

        g = gen(x)
        steps = [next(g), mod.is_grad_enabled(), g.send(3.0), mod.is_grad_enabled()]
        with pytest.raises(StopIteration) as stop:
            next(g)
        results.append((steps, stop.value.value))
    assert results[0] == results[1]


def test_requires_grad_attribute_follows_torch_on_leaves_and_non_leaves():
    # Assigning requires_grad=False to a computed tensor would silently cut the graph: torch refuses, so must npgrad.
    for lib in (npg, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 2
        with pytest.raises(RuntimeError):
            y.requires_grad = False
        with pytest.raises(RuntimeError):
            y.requires_grad = True              # torch refuses any assignment on a non-leaf ...
        with pytest.raises(RuntimeError):
            y.requires_grad_(False)
        assert y.requires_grad_() is y and y.requires_grad      # ... but requires_grad_() is a no-op
        (y * y).sum().backward()
        assert_close(x.grad, 8 * X)
        x.requires_grad = False                 # a leaf may change its flag
        assert not x.requires_grad and not (x * 2).requires_grad
        with pytest.raises(RuntimeError):
            lib.tensor([1, 2]).requires_grad = True


def test_grad_accumulates_into_the_existing_grad_array_as_torch():
    # torch's AccumulateGrad adds into .grad in place: a reference taken between two backwards stays current.
    for lib in (npg, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        (x * x).sum().backward()
        g = x.grad
        (x * x * x).sum().backward()
        assert x.grad is g
        assert_close(g, 2 * X + 3 * X ** 2)
    # an assigned read-only gradient is not written into: a new array takes its place
    x = npg.tensor(X.copy(), requires_grad=True)
    ro = np.ones(2)
    ro.flags.writeable = False
    x.grad = ro
    (x * x).sum().backward()
    assert_close(x.grad, 1 + 2 * X)
    assert_close(ro, np.ones(2))


def _two(lib):
    return lib.tensor(X.copy(), requires_grad=True), lib.tensor(X.copy() + 0.5, requires_grad=True)


@pytest.mark.parametrize("how", ["grad", "backward_inputs"])
def test_only_the_graph_leading_to_the_inputs_runs_as_in_torch(how):
    # y = a(x) * b(w): asking for x's gradient must not run w's branch (its hooks, retain_grad, its VJPs)
    seen = {}
    for lib in (npg, torch):
        x, w = _two(lib)
        seen[lib] = []
        hx = x * 3.0
        hw = w * 2.0
        hx.register_hook(lambda g, lib=lib: seen[lib].append("x-branch"))
        hw.register_hook(lambda g, lib=lib: seen[lib].append("w-branch"))
        hw.retain_grad()
        y = (hx * hw).sum()
        if how == "grad":
            gx, = (npg.autograd if lib is npg else torch.autograd).grad(y, x)
        else:
            y.backward(inputs=[x])
            gx = x.grad
        assert_close(gx, 3.0 * 2.0 * (X + 0.5))
        assert hw.grad is None and w.grad is None
    assert seen[npg] == seen[torch] == ["x-branch"]


def test_pruning_keeps_second_order_gradients_through_the_pruned_branch():
    # create_graph: the gradient with respect to x still depends on w, so its own gradient reaches w
    out = {}
    for lib in (npg, torch):
        x, w = _two(lib)
        y = (x ** 2 * w.exp()).sum() + (w ** 3).sum()
        gx, = (npg.autograd if lib is npg else torch.autograd).grad(y, x, create_graph=True)
        (gx * gx).sum().backward()
        out[lib] = (x.grad, w.grad)
    for a, b in zip(out[npg], out[torch]):
        assert_close(a, b.numpy())


def test_pruning_through_in_place_writes_and_checkpoints_matches_torch():
    from npgrad.utils.checkpoint import checkpoint as npg_ckpt
    from torch.utils.checkpoint import checkpoint as torch_ckpt
    res = {}
    for lib, ckpt in ((npg, npg_ckpt), (torch, torch_ckpt)):
        x, w = _two(lib)
        h = x * 1.0
        h[0] = w[1] * 2.0                      # an in-place write mixing the two branches
        z = ckpt(lambda a, b: (a * b).exp(), h, w * 1.0, use_reentrant=False)
        res[lib] = (npg.autograd if lib is npg else torch.autograd).grad(z.sum(), (x, w))
    for a, b in zip(res[npg], res[torch]):
        assert_close(a, b.numpy())


def test_a_grad_call_that_raises_leaves_no_backward_state_behind():
    # A version error raised by grad() must not leave the thread looking as if a backward pass were running.
    from npgrad.autograd.engine import queue_callback
    x = npg.tensor(X.copy(), requires_grad=True)
    h = x * 1.0
    y = (h * h).sum()
    h += 1.0
    h2 = h * 2.0
    h2 += 1.0
    with pytest.raises(RuntimeError):
        npg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="no backward pass running"):
        queue_callback(lambda: None)
