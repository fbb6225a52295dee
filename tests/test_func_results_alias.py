"""The arrays that the transforms return are the caller's own: writing into one never changes another returned
array, an input, a parameter, a cotangent, a ``.grad``, a gradient a hook kept, or a later call's results
(npgrad/_handover.py hands a gradient over without a copy only when nothing else refers to its memory). Values
against torch.func."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from npgrad import func
from npgrad._handover import handover
from npgrad.tensor import _wrap
from tests.helpers import assert_close

tf = torch.func


def P(a):
    """An npgrad input as torch.func's inputs usually are: no requires_grad (the transforms' plain path)."""
    return npg.tensor(a, requires_grad=False)


def T(a):
    return torch.tensor(np.asarray(a.data if isinstance(a, npg.Tensor) else a))


def _arrays(tree):
    leaves = func._flatten(tree)[0]
    out = []
    for x in leaves:
        if isinstance(x, npg.Tensor):
            x = x.data
        if isinstance(x, np.ndarray):
            out.append(x)
    return out


def _assert_independent(results, others):
    """Every returned array is writeable and shares no memory with another returned array or with ``others``;
    writing into it leaves all of them unchanged."""
    res, oth = _arrays(results), _arrays(others)
    assert res
    for i, r in enumerate(res):
        assert r.flags.writeable, f"result {i} is read-only"
        for j, o in enumerate(res):
            assert j == i or not np.shares_memory(r, o), f"results {i} and {j} share memory"
        for j, o in enumerate(oth):
            assert not np.shares_memory(r, o), f"result {i} shares memory with argument {j}"
    every = res + oth
    for i, r in enumerate(res):
        before = [a.copy() for a in every]
        r[...] = 1234.5 + i
        for k, a in enumerate(every):
            if k != i:
                np.testing.assert_array_equal(a, before[k], err_msg=f"writing result {i} changed array {k}")


def _close_tree(a, b, **kw):
    la, lb = func._flatten(a)[0], func._flatten(b)[0]
    assert len(la) == len(lb)
    for k, (x, t) in enumerate(zip(la, lb)):
        assert_close(x, t.detach().numpy(), what=f"leaf {k}", **kw)


# ------------------------------------------------------------------------- the hand-over rule itself
def test_handover_copies_whatever_something_else_refers_to():
    fresh = npg.tensor(np.arange(6.0))
    arr = fresh.data
    assert handover(fresh) is not arr                  # the local ``arr`` refers to it: a copy
    del arr
    own = _wrap(np.arange(6.0))
    got = handover(own)
    assert got is own.data                             # held by its Tensor only: handed over
    view = _wrap(np.arange(6.0).reshape(2, 3))         # a whole view of an owner only it refers to
    assert handover(view) is view.data
    base = np.arange(6.0)
    held = _wrap(base.reshape(2, 3))                   # the owner is referred to by ``base``
    assert handover(held) is not held.data and not np.shares_memory(handover(held), base)
    part = _wrap(np.arange(6.0)[:3])                   # a part of a larger buffer
    assert handover(part) is not part.data
    ro = _wrap(np.broadcast_to(np.arange(3.0), (2, 3)))  # read-only, overlapping
    assert handover(ro) is not ro.data and handover(ro).flags.writeable
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    ro_own = _wrap(frozen)                              # read-only (someone may rely on that)
    del frozen
    assert handover(ro_own) is not ro_own.data and handover(ro_own).flags.writeable
    two = np.arange(4.0)
    a, b = _wrap(two), _wrap(two)                       # one array in two results
    del two
    assert handover(a) is not a.data


# ------------------------------------------------------------------------- vmap(grad): per-sample gradients
def _mlp_params(rng, sizes, dtype):
    p = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        p += [(rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype), (rng.standard_normal(o) * 0.1).astype(dtype)]
    return p


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_sample_grads_of_an_mlp_are_independent_arrays(dtype):
    rng = np.random.default_rng(0)
    raw = _mlp_params(rng, (7, 6, 5, 4), dtype)
    xr, yr = rng.standard_normal((5, 7)).astype(dtype), rng.integers(0, 4, 5)
    params = tuple(P(p.copy()) for p in raw)
    x, y = P(xr.copy()), P(yr)

    def loss(p, xi, yi):
        W1, b1, W2, b2, W3, b3 = p
        h = F.relu(xi @ W1 + b1)
        h = npg.tanh(h @ W2 + b2)
        return F.cross_entropy((h @ W3 + b3)[None], yi[None])

    def tloss(p, xi, yi):
        W1, b1, W2, b2, W3, b3 = p
        h = torch.relu(xi @ W1 + b1)
        h = torch.tanh(h @ W2 + b2)
        return torch.nn.functional.cross_entropy((h @ W3 + b3)[None], yi[None])

    f = func.vmap(func.grad_and_value(loss), in_dims=(None, 0, 0))
    tg, tv = tf.vmap(tf.grad_and_value(tloss), in_dims=(None, 0, 0))(tuple(T(p) for p in raw), T(xr), T(yr))
    g1, v1 = f(params, x, y)
    _close_tree(g1, tg)
    _close_tree(v1, tv)
    g2, v2 = f(params, x, y)
    _assert_independent((g1, v1), (params, x, g2, v2))
    _close_tree(g2, tg)                                # a later call: unchanged by the writes into g1
    g3, _ = f(params, x, y)
    _close_tree(g3, tg)
    for p, r in zip(params, raw):
        np.testing.assert_array_equal(p.data, r)
    np.testing.assert_array_equal(x.data, xr)


def test_per_sample_grads_of_a_conv_net_are_independent_arrays():
    build = lambda m: m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.GroupNorm(2, 4), m.ReLU(), m.MaxPool2d(2),  # noqa: E731
                                   m.Conv2d(4, 6, 3), m.ReLU(), m.Flatten(), m.Linear(6, 3))
    torch.manual_seed(0)
    tmodel = build(torch.nn).double()
    model = build(nn).to(npg.float64)
    for (k, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
        p.data[...] = tp.detach().numpy()
    params = {k: v.detach() for k, v in model.named_parameters()}
    before = {k: v.data.copy() for k, v in params.items()}
    rng = np.random.default_rng(1)
    xr, yr = rng.standard_normal((4, 2, 6, 6)), rng.integers(0, 3, 4)

    def loss(p, xi, yi):
        return F.cross_entropy(func.functional_call(model, p, (xi[None],)), yi[None])

    def tloss(p, xi, yi):
        return torch.nn.functional.cross_entropy(tf.functional_call(tmodel, p, (xi[None],)), yi[None])

    f = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
    tg = tf.vmap(tf.grad(tloss), in_dims=(None, 0, 0))({k: v.detach() for k, v in tmodel.named_parameters()},
                                                       T(xr), T(yr))
    x, y = P(xr), P(yr)
    g1 = f(params, x, y)
    g2 = f(params, x, y)
    _close_tree(g1, tg)
    _assert_independent(g1, (params, x, g2, [p.grad for p in model.parameters()]))
    _close_tree(g2, tg)
    _close_tree(f(params, x, y), tg)
    for k, v in params.items():
        np.testing.assert_array_equal(v.data, before[k])


# ------------------------------------------------------------------------- grad
@pytest.mark.parametrize("as_tensor", [False, True])
def test_grad_results_that_one_vjp_shared_are_separate_arrays(as_tensor):
    # add's VJP hands the same gradient array to both operands: the two results must not share it (torch.func
    # returns one tensor twice here; inputs that require grad give results with a graph, not checked here)
    rng = np.random.default_rng(2)
    xr, yr = rng.standard_normal(4), rng.standard_normal(4)
    wrap = P if as_tensor else (lambda a: a)
    x, y = wrap(xr.copy()), wrap(yr.copy())
    g = func.grad(lambda a, b: npg.sum((a + b) ** 2), argnums=(0, 1))(x, y)
    tg = tf.grad(lambda a, b: torch.sum((a + b) ** 2), argnums=(0, 1))(T(xr), T(yr))
    _close_tree(g, tg)
    _assert_independent(g, (x, y))
    np.testing.assert_array_equal(_arrays(x)[0], xr)


def test_grad_results_when_the_gradient_is_the_seed_or_an_input():
    x = P(np.array([1.5]))
    f = func.grad(lambda a: a[0] * 1.0 + 0.0)
    g1, g2 = f(x), f(x)
    _assert_independent(g1, (x, g2))
    assert_close(g2, np.ones(1))
    # the gradient for ``a`` is the other argument itself (d(a @ b)/da = b for a scalar seed)
    a, b = P(np.arange(3.0)), P(np.arange(3.0) + 5)
    ga, gb = func.grad(lambda u, v: u @ v, argnums=(0, 1))(a, b)
    tga, tgb = tf.grad(lambda u, v: u @ v, argnums=(0, 1))(T(a), T(b))
    assert_close(ga, tga.numpy())
    assert_close(gb, tgb.numpy())
    _assert_independent((ga, gb), (a, b))


class _TimesW(npg.autograd.Function):
    """x * w whose backward returns the saved ``w`` itself as the gradient of x (the seed is one)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        w, = ctx.saved_tensors
        return w, None


def test_grad_never_returns_a_saved_tensor_or_a_closed_over_parameter():
    w = P(np.array([2.0, -1.0, 0.5]))
    x = np.array([0.3, 0.2, 0.1])
    f = lambda a: npg.sum(_TimesW.apply(a, w))  # noqa: E731
    g1 = func.grad(f)(x)
    tg = tf.grad(lambda a: torch.sum(a * T(w)))(T(x))
    assert_close(g1, tg.numpy())
    g2 = func.grad(f)(x)
    _assert_independent(g1, (w, x, g2))
    np.testing.assert_array_equal(w.data, [2.0, -1.0, 0.5])
    out, vjp_fn = func.vjp(lambda a: _TimesW.apply(a, w), x)   # the graph stays alive with vjp_fn
    r1 = vjp_fn(np.ones(3))
    r2 = vjp_fn(np.ones(3))
    _assert_independent(r1, (w, x, r2, out))
    assert_close(r2[0], w.data)


def test_grad_never_returns_a_retained_grad_or_a_gradient_a_hook_kept():
    kept = {}

    def f(a):
        h = a + 0.0                 # add's VJP passes h's gradient on to a unchanged
        h.retain_grad()
        h.register_hook(lambda g: kept.setdefault("hook", g))
        kept["h"] = h
        return npg.sum(h ** 2)

    xr = np.array([1.0, -2.0, 3.0])
    x = P(xr.copy())
    g = func.grad(f)(x)
    assert_close(g, tf.grad(lambda a: torch.sum((a + 0.0) ** 2))(T(xr)).numpy())
    _assert_independent(g, (x, kept["h"].grad, kept["hook"]))


# ------------------------------------------------------------------------- vjp with the user's cotangents
@pytest.mark.parametrize("name", ["reshape", "add", "two_outputs", "transpose"])
def test_vjp_results_never_alias_the_cotangents(name):
    fs = {"reshape": (lambda a, b: a.reshape(3, 2) * 1.0 + b.reshape(3, 2) * 0.0, ((3, 2),)),
          "add": (lambda a, b: a + b, ((2, 3),)),
          "two_outputs": (lambda a, b: (a, b), ((2, 3), (2, 3))),
          "transpose": (lambda a, b: (a.T, b + 0.0), ((3, 2), (2, 3)))}
    f, ct_shapes = fs[name]
    rng = np.random.default_rng(3)
    xr, yr = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    x, y = P(xr.copy()), P(yr.copy())
    cts = [rng.standard_normal(s) for s in ct_shapes]
    keep = [c.copy() for c in cts]
    out, vjp_fn = func.vjp(f, x, y)
    tout, tvjp = tf.vjp(lambda a, b: f(a, b), T(xr), T(yr))
    arg = cts[0] if len(cts) == 1 else tuple(cts)
    targ = T(cts[0]) if len(cts) == 1 else tuple(T(c) for c in cts)
    r1 = vjp_fn(arg)
    _close_tree(r1, tvjp(targ))
    r2 = vjp_fn(arg)
    _assert_independent(r1, (x, y, cts, r2, out))
    for c, k in zip(cts, keep):
        np.testing.assert_array_equal(c, k)
    _close_tree(r2, tvjp(targ))


def test_vmap_of_vjp_results_never_alias_the_batched_cotangents():
    rng = np.random.default_rng(4)
    xr = rng.standard_normal((3, 4))
    ct = rng.standard_normal((3, 4))
    keep = ct.copy()

    def one(xi, ci):
        _, fn = func.vjp(lambda a: a * 1.0, xi)
        return fn(ci)[0]

    def tone(xi, ci):
        _, fn = tf.vjp(lambda a: a * 1.0, xi)
        return fn(ci)[0]

    x, c = P(xr), P(ct)
    r = func.vmap(one)(x, c)
    assert_close(r, tf.vmap(tone)(T(xr), T(ct)).numpy())
    _assert_independent(r, (x, c))
    np.testing.assert_array_equal(ct, keep)


# ------------------------------------------------------------------------- jacrev
@pytest.mark.parametrize("mode", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("name", ["identity", "two_outputs", "product", "sum", "twice"])
def test_jacobian_results_are_independent_arrays(name, mode):
    rng = np.random.default_rng(5)
    xr, yr = rng.standard_normal(3), rng.standard_normal(3)
    fs = {"identity": (lambda a, b: a, lambda a, b: a),
          "two_outputs": (lambda a, b: (a, 2.0 * a + b), lambda a, b: (a, 2.0 * a + b)),
          "product": (lambda a, b: a * b, lambda a, b: a * b),
          "sum": (lambda a, b: a + b, lambda a, b: a + b),     # one basis array is the gradient of both inputs
          "twice": (lambda a, b: (a, a), lambda a, b: (a, a))}  # one basis array is the tangent of both outputs
    f, tfn = fs[name]
    tj = getattr(tf, mode)(tfn, argnums=(0, 1))(T(xr), T(yr))
    jac = getattr(func, mode)
    for wrap in (P, np.array):                          # Tensor and NumPy inputs
        x, y = wrap(xr.copy()), wrap(yr.copy())
        j1 = jac(f, argnums=(0, 1))(x, y)
        _close_tree(j1, tj)
        j2 = jac(f, argnums=(0, 1))(x, y)
        _assert_independent(j1, (x, y, j2))
        _close_tree(j2, tj)
        np.testing.assert_array_equal(_arrays(x)[0], xr)


def test_per_sample_weight_gradients_are_handed_over_without_a_copy():
    # the per-sample weight gradients are most of the memory of vmap(grad): a copy on return would double the peak
    import tracemalloc
    rng = np.random.default_rng(6)
    W1, W2 = P(rng.standard_normal((200, 100))), P(rng.standard_normal((100, 10)))
    x, y = P(rng.standard_normal((16, 200))), P(rng.integers(0, 10, 16))

    def loss(p, xi, yi):
        return F.cross_entropy((npg.tanh(xi @ p[0]) @ p[1])[None], yi[None])

    f = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
    f((W1, W2), x, y)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        g = f((W1, W2), x, y)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    results = sum(a.nbytes for a in _arrays(g))
    assert results == 16 * (200 * 100 + 100 * 10) * 8
    assert peak < 1.3 * results, (peak, results)
    tg = tf.vmap(tf.grad(lambda p, xi, yi: torch.nn.functional.cross_entropy((torch.tanh(xi @ p[0]) @ p[1])[None],
                                                                             yi[None])), in_dims=(None, 0, 0))(
        (T(W1), T(W2)), T(x), T(y))
    _close_tree(g, tg)
