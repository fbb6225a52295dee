"""Views refreshed when next used (npgrad/ops/inplace.py): a write into a base leaves its other views on the base's
earlier node until one of them is recorded as an op's input, asked for its node (grad_fn, hooks, retain_grad,
backward, autograd.grad) or written into. Each program below runs in npgrad and in PyTorch (which regenerates a
view's grad_fn the same way); values and gradients must match. The refresh count checks that a loop of writes
refreshes only the views it uses (every view at each write made such loops quadratic)."""
import sys

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.ops import inplace_views as inplace

_tensor_mod = sys.modules["npgrad.tensor"]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}


def _buffer(lib, shape, dtype):
    if lib is torch:
        return torch.zeros(shape, dtype=getattr(torch, np.dtype(dtype).name))
    return npg.zeros(shape, dtype=dtype, requires_grad=False)


def _leaf(lib, a):
    return torch.tensor(a, requires_grad=True) if lib is torch else npg.tensor(a, requires_grad=True)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data if isinstance(t, npg.Tensor) else t)


def _run(prog, arrays, dtype):
    """Run ``prog(lib, *leaves)`` in both libraries: its outputs (a list of tensors) and the leaves' gradients of
    the sum of every output times a fixed random weight must match."""
    results = {}
    for lib in (npg, torch):
        leaves = [_leaf(lib, np.array(a, dtype=dtype)) for a in arrays]
        outs = prog(lib, *leaves)
        rng = np.random.default_rng(0)
        weights = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in outs]
        loss = sum((o * (torch.tensor(w) if lib is torch else npg.tensor(w, requires_grad=False))).sum()
                   for o, w in zip(outs, weights))
        loss.backward()
        values = [_np(o) for o in outs]
        grads = [_np(t.grad) if t.grad is not None else None for t in leaves]
        results[lib] = values, grads
    (nv, ng), (tv, tg) = results[npg], results[torch]
    for i, (a, b) in enumerate(zip(nv, tv)):
        np.testing.assert_allclose(a, b, err_msg=f"output {i}", **TOL[dtype])
    for i, (a, b) in enumerate(zip(ng, tg)):
        assert (a is None) == (b is None), f"gradient {i}: {a} against {b}"
        if a is not None:
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, err_msg=f"gradient {i}", **TOL[dtype])


def _recurrence(lib, x):
    y = _buffer(lib, (13, 4), x.dtype if lib is npg else np.dtype(str(x.dtype).split(".")[1]))
    y[0] = x
    for i in range(12):
        y[i + 1] = y[i] * 0.5 + x.sin()
    return [y]


def _held_view(lib, x):
    y = x * 1.0
    v = y[1:3]            # held across writes into its base
    w = y[:, 2]           # and another, crossing it
    y[0] = y[0] * 2
    y[3] += x[0] ** 2
    a = v * 3             # v: refreshed here, after two writes
    y[1, 1] = 7.0
    b = (w * v[0]).sum()  # both stale again
    return [a, b.reshape(1), y]


def _view_written_after_stale(lib, x):
    y = x.sin()
    v = y[1:]
    y[0] = x[1] * 3       # v stale
    v *= x[1:]            # written through while stale
    return [y, v]


def _root_is_stale_view(lib, x):
    y = x * 2
    v = y[:, 1:]
    y[:, 0] = x[:, 0] ** 3
    v[0] = v[0] + 1        # (a use: refreshed) then v stale once more below
    y[1] = x[1] * x[2]
    return [v]


def _shape_change_on_stale_view(lib, x):
    y = x.cos()
    v = y[2]
    y[2] = x[2] * x[0]
    v.unsqueeze_(0)
    return [v * 2, y]


def _view_of_a_stale_view(lib, x):
    y = x.sin()
    v = y[1:]
    w = v[:, 1:3]          # a view of a view: both follow the root base
    y[2, 1] = x[0, 0] ** 2
    v[0, 2] = x[3, 3] * 5  # written through v while stale: w stale again
    return [w * 2, v * 1, y]


def _function_on_stale_views(lib, x):
    class Square(torch.autograd.Function if lib is torch else npg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b.sum()

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b.sum(), (g * a).sum() * (b * 0 + 1)
    y = x * 1.0
    v, w = y[1:], y[:, 0]
    y[1, 2] = x[0, 0] * 3   # both stale: a Function's node is recorded through _make
    y[2, 0] = x[3, 1] ** 2
    return [Square.apply(v, w), y]


def _complex_views_written(lib, x):
    z = lib.view_as_complex((x * 1.0).reshape(4, 2, 2))
    r = lib.view_as_real(z)
    tail = z[1:]
    z[0] = z[1] * (2 - 1j) + z[2]
    r[2, 1, 0] = x[3, 3] ** 2     # through the real view: z and tail stale
    tail *= (1 - 0.5j)            # tail written while stale: r stale
    return [lib.view_as_real(tail * 1), r * 1]


def _views_stale_again_and_again(lib, x):
    y = (x * 1.0).reshape(-1)
    views = [y[k:k + 2] for k in range(15)]
    for i in range(600):
        v = views[i % 15]
        v[0] = v[1] * 0.99 + 0.01 * x[i % 4, i % 3]   # each write leaves the other views stale
    return [y] + [w * 1 for w in views[::4]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("prog", [_view_of_a_stale_view, _function_on_stale_views, _complex_views_written,
                                  _views_stale_again_and_again], ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("sweep", [1, inplace._SWEEP])
def test_more_programs_match_torch(prog, dtype, sweep, monkeypatch):
    """More programs; also with a sweep (which clears the flag once no stale view is left) at every refresh call."""
    monkeypatch.setattr(inplace, "_SWEEP", sweep)
    monkeypatch.setattr(inplace, "_SWEEP_PER_VIEW", 0 if sweep == 1 else inplace._SWEEP_PER_VIEW)
    _run(prog, [np.random.default_rng(3).standard_normal((4, 4))], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("prog", [_recurrence, _held_view, _view_written_after_stale, _root_is_stale_view,
                                  _shape_change_on_stale_view], ids=lambda f: f.__name__.strip("_"))
def test_programs_match_torch(prog, dtype):
    shape = (4,) if prog is _recurrence else (4, 4)
    _run(prog, [np.random.default_rng(1).standard_normal(shape)], dtype)


def test_backward_from_a_stale_view_reaches_the_values_it_reads():
    for lib in (npg, torch):
        x = _leaf(lib, np.arange(1.0, 7.0))
        y = x * 1.0
        v = y[2:]
        y[3] = x[0] * 10      # v stale: its second element is now x[0] * 10
        v.backward(torch.ones(4, dtype=torch.float64) if lib is torch else np.ones(4))
        if lib is torch:
            expected = x.grad.numpy()
        else:
            got = x.grad
    np.testing.assert_array_equal(got, expected)
    assert got[0] == 10.0 and got[3] == 0.0


def test_hooks_grad_fn_and_retain_grad_on_a_stale_view_see_its_current_value():
    seen = {}
    for lib in (npg, torch):
        x = _leaf(lib, np.array([1.0, 2.0, 3.0, 4.0]))
        y = x * 1.0
        v = y[1:3]
        y[2] = x[3] ** 2
        assert v.grad_fn is not None
        v.retain_grad()
        got = []
        v.register_hook(lambda g: got.append(_np(g).copy()))
        (v * v).sum().backward()
        seen[lib] = got[0], _np(v.grad), _np(x.grad)
    for a, b in zip(seen[npg], seen[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_autograd_grad_wrt_a_stale_view_is_unused_as_in_torch():
    """A view used before a write into its base: its current node (after the write) is not on the graph of what
    was computed from it before, so the gradient with respect to it is None (PyTorch: the same)."""
    outcomes = {}
    for lib in (npg, torch):
        x = _leaf(lib, np.array([1.0, 2.0, 3.0]))
        y = x * 1.0
        v = y[:2]
        out = (v * 3).sum()
        y[0] = x[2] * 5
        grad = npg.autograd.grad if lib is npg else torch.autograd.grad
        outcomes[lib] = grad(out, [v], allow_unused=True)[0]
    assert outcomes[npg] is None and outcomes[torch] is None


def test_checkpoint_of_a_stale_view():
    from npgrad.utils.checkpoint import checkpoint as ncheck
    from torch.utils.checkpoint import checkpoint as tcheck
    grads = {}
    for lib, check in ((npg, ncheck), (torch, tcheck)):
        x = _leaf(lib, np.array([0.5, -1.0, 2.0, 0.25]))
        y = x * 1.0
        v = y[1:]
        y[2] = x[0] * 4
        out = check(lambda t: (t.sin() * t).sum(), v, use_reentrant=False)
        out.backward()
        grads[lib] = _np(x.grad)
    np.testing.assert_allclose(grads[npg], grads[torch], rtol=1e-12)


def test_a_loop_of_writes_refreshes_only_the_views_it_uses(monkeypatch):
    """``y[i + 1] = y[i] * 0.5 + 1``: every ``y[i]`` stays alive in the graph. Refreshing each live view at each write
    took n^2 / 2 refreshes (300 steps: 1.2 s); now a view is refreshed only when used, which this loop never does."""
    count = [0]
    plain = inplace._refresh

    def counting(*args, **kwargs):
        count[0] += 1
        return plain(*args, **kwargs)
    monkeypatch.setattr(inplace, "_refresh", counting)
    n = 200
    x = npg.tensor(np.linspace(0, 1, 4), requires_grad=True)
    y = npg.zeros((n + 1, 4), requires_grad=False)
    y[0] = x
    for i in range(n):
        y[i + 1] = y[i] * 0.5 + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(4, sum(0.5 ** i for i in range(n + 1))), rtol=1e-12)
    assert count[0] <= n, f"{count[0]} view refreshes for {n} writes"


def test_stale_flag_is_cleared_only_when_no_stale_view_is_left(monkeypatch):
    # (a registry of its own: other tests' graphs, not yet collected, may hold stale views; the flag is left set
    # afterwards, which is always safe)
    monkeypatch.setattr(inplace, "_stale_bases", {})
    monkeypatch.setattr(_tensor_mod, "_STALE", True)
    inplace._sweep()
    assert not _tensor_mod._STALE
    x = npg.tensor(np.ones(3), requires_grad=True)
    y = x * 2
    v = y[1:]
    y[0] = x[0] * 3           # v is stale
    assert _tensor_mod._STALE
    inplace._sweep()
    assert _tensor_mod._STALE, "the flag was cleared while a stale view is alive"
    (v * 1).sum()             # refreshed by its use
    inplace._sweep()
    assert not _tensor_mod._STALE
    y[1] = x[2] * 4           # stale again; then the view and its base die
    assert _tensor_mod._STALE
    del v, y
    inplace._sweep()
    assert not _tensor_mod._STALE


def test_a_view_made_under_no_grad_follows_the_write_at_once():
    """A view made under no_grad is not recorded (it never passes through _record), so a write into its base with
    grad mode on refreshes it at once, as before: it then differentiates the values it reads (checked against finite
    differences: PyTorch refuses to use such a view)."""
    def f(a):
        x = npg.tensor(a, requires_grad=True)
        y = x * 1.0
        with npg.no_grad():
            v = y[1:]
        y[1] = x[0] ** 3
        return x, (v * v).sum()
    a = np.array([0.7, -0.3, 1.1])
    x, out = f(a)
    assert out.requires_grad
    out.backward()
    eps = 1e-6
    fd = [(f(a + eps * e)[1].item() - f(a - eps * e)[1].item()) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(x.grad, fd, rtol=1e-7, atol=1e-9)


def test_a_write_through_a_view_nested_2000_deep():
    """``y = y[:]`` 2,000 times, then a write through the last view: the path from the base (2,000 view steps) was
    2,000 nested closures, and applying it raised RecursionError."""
    grads = {}
    for lib in (npg, torch):
        x = _leaf(lib, np.linspace(-1.0, 1.0, 8))
        y = x * 1.0
        for i in range(2000):
            y = y[1:] if i == 1 else y[:]
        y[0] = x[1] * 2
        ((y * y).sum() + y[2]).backward()
        grads[lib] = _np(x.grad)
    np.testing.assert_allclose(grads[npg], grads[torch], rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_detach_of_the_base_after_a_write_leaves_its_views_on_the_write(dtype):
    """``y.detach_()`` after a write into ``y`` that a view ``v`` has not seen yet: ``v`` must still differentiate the
    values it reads (the write's). Once the base is a leaf, ``_is_stale`` cannot tell ``v`` is behind, and ``v`` kept
    its node from before the write: backward differentiated the values the write had replaced. PyTorch gives the
    write's gradient when ``v`` was used (its grad_fn regenerated) before the detach_, and None when it was not (it
    regenerates it from the detached base then); npgrad gives the write's in both cases."""
    a = np.array([0.7, -1.3, 2.1, 0.4, -0.6], dtype=dtype)
    w = np.random.default_rng(2).standard_normal(4).astype(dtype)

    def program(lib, x, touch):
        y = x * 1.0
        v = y[1:]
        y[1] = x[0] * 3
        y[3] = x[4] ** 2
        if touch:
            assert v.grad_fn is not None   # PyTorch regenerates v's grad_fn here
        y.detach_()
        return (v * v * (torch.tensor(w) if lib is torch else npg.tensor(w, requires_grad=False))).sum()

    tx = torch.tensor(a, requires_grad=True)
    program(torch, tx, touch=True).backward()
    for touch in (False, True):
        x = npg.tensor(a, requires_grad=True)
        program(npg, x, touch).backward()
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), err_msg=f"touch={touch}", **TOL[dtype])


@pytest.mark.parametrize("write", [False, True])
def test_a_write_after_detach_of_the_base_takes_its_views_off_the_graph(write):
    """``y.detach_()`` then ``y[1] = 5``: the view ``v = y[1:]`` reads 5 where its node said ``2 * x[1]``, and backward
    differentiated that (x.grad [0, 20, 24]). PyTorch rebuilds ``v`` from the detached base: no gradient reaches x.
    Without the write, ``v``'s values are still its node's, and both keep its graph."""
    grads = {}
    for lib in (npg, torch):
        x = _leaf(lib, np.array([1.0, 2.0, 3.0]))
        y = x * 2
        v = y[1:]
        y.detach_()
        if write:
            y[1] = 5.0
        (v * v).sum().backward()
        grads[lib] = None if x.grad is None else _np(x.grad)
    if write:
        assert grads[npg] is None and grads[torch] is None
    else:
        np.testing.assert_allclose(grads[npg], grads[torch], rtol=1e-12)
