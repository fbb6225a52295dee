"""Random computation graphs, run by npgrad and by PyTorch: values, gradients, second derivatives and
forward-mode derivatives must all agree.

The op table (tests/test_ops_table.py) checks every op on its own. Here hypothesis draws whole graphs
(up to ten ops over a pool of tensors: shared subexpressions, broadcasting between shapes, reductions
with keepdims, views, branches that never reach the loss) to check what the table cannot: how the engine
orders, accumulates and frees gradients in a graph, and the same graphs under ``create_graph=True``
and forward mode.
"""
import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import npgrad as npg
from npgrad.autograd import forward_ad as fwad

SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]


def _lib_fn(lib, name):
    return {
        "tanh": lib.tanh, "sin": lib.sin, "exp_small": lambda t: lib.exp(t * 0.3),
        "sigmoid": (lambda t: 1 / (1 + lib.exp(-t))),
        "log1p_sq": lambda t: lib.log(t * t + 1),
        "square": lambda t: t * t,
    }[name]


UNARY = ["tanh", "sin", "exp_small", "sigmoid", "log1p_sq", "square"]
BINARY = ["add", "sub", "mul", "div", "maximum", "where"]
REDUCE = ["sum", "mean", "amax"]
VIEW = ["T", "flat", "tail", "step"]


def _binary(lib, name, a, b):
    if name == "add":
        return a + b
    if name == "sub":
        return a - b
    if name == "mul":
        return a * b
    if name == "div":
        return a / (b * b + 1)
    if name == "maximum":
        return lib.maximum(a, b)
    return lib.where(a > 0, a, b * 2)


def _reduce(lib, name, t, axis, keepdims):
    if lib is torch:
        dim = tuple(range(t.ndim)) if axis is None else axis
        if name == "amax":
            return t.amax(dim=dim, keepdim=keepdims) if t.ndim else t
        if name == "mean":
            return t.mean(dim=dim, keepdim=keepdims) if t.ndim else t
        return t.sum(dim=dim, keepdim=keepdims) if t.ndim else t
    if not t.ndim:
        return t
    return {"sum": npg.sum, "mean": npg.mean, "amax": npg.amax}[name](t, axis=axis, keepdims=keepdims)


def _view(name, t):
    if t.ndim == 0:
        return t
    if name == "T":
        return t.T if t.ndim == 2 else t
    if name == "flat":
        return t.reshape(-1)
    if name == "tail":
        return t[1:] if t.shape[0] > 1 else t
    return t[..., ::2]


def run(lib, program, leaves):
    pool = list(leaves)
    for kind, i, j, arg in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if kind == "unary":
            pool.append(_lib_fn(lib, arg)(a))
        elif kind == "binary":
            try:
                np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
            except ValueError:
                b = b.sum() if b.ndim else b
            pool.append(_binary(lib, arg, a, b))
        elif kind == "reduce":
            name, axis, keepdims = arg
            axis = None if axis is None or a.ndim == 0 else axis % a.ndim
            pool.append(_reduce(lib, name, a, axis, keepdims))
        elif kind == "matmul":
            if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[1]:
                pool.append(a @ b.T)
            elif a.ndim == 2 and b.ndim >= 1 and a.shape[1] == b.shape[-1]:
                pool.append(a @ (b if b.ndim == 1 else b[0]))
        else:
            pool.append(_view(arg, a))
    # a loss over some of the pool (the rest is computed and never reaches it)
    loss = 0.0
    for k, t in enumerate(pool[len(leaves):]):
        if k % 3 != 2:
            loss = loss + (t * t).sum() * (0.1 + 0.05 * k) + t.sum() * 0.2
    if not isinstance(loss, (npg.Tensor, torch.Tensor)):
        loss = sum(((t * t).sum() for t in leaves), 0.0) + loss
    return pool, loss


steps = st.one_of(
    st.tuples(st.just("unary"), st.integers(0, 9), st.integers(0, 9), st.sampled_from(UNARY)),
    st.tuples(st.just("binary"), st.integers(0, 9), st.integers(0, 9), st.sampled_from(BINARY)),
    st.tuples(st.just("reduce"), st.integers(0, 9), st.integers(0, 9),
              st.tuples(st.sampled_from(REDUCE), st.sampled_from([None, 0, -1]), st.booleans())),
    st.tuples(st.just("matmul"), st.integers(0, 9), st.integers(0, 9), st.none()),
    st.tuples(st.just("view"), st.integers(0, 9), st.integers(0, 9), st.sampled_from(VIEW)),
)
graphs = dict(program=st.lists(steps, min_size=1, max_size=10),
              shapes=st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3), seed=st.integers(0, 2**16))
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
TOL = dict(rtol=1e-9, atol=1e-10)


def _inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, s) for s in shapes]


@settings(max_examples=500, **SETTINGS)
@given(**graphs)
def test_random_graphs_values_and_gradients(program, shapes, seed):
    x0 = _inputs(shapes, seed)
    xs = [npg.tensor(v) for v in x0]
    txs = [torch.tensor(v, requires_grad=True) for v in x0]
    pool, loss = run(npg, program, xs)
    t_pool, t_loss = run(torch, program, txs)
    for k, (p, tp) in enumerate(zip(pool, t_pool)):
        np.testing.assert_allclose(np.asarray(p.data), tp.detach().numpy(), **TOL, err_msg=f"pool[{k}]: {program}")
    loss.backward()
    t_loss.backward()
    for x, tx in zip(xs, txs):
        if tx.grad is None:          # a leaf the loss does not reach keeps .grad None, as in PyTorch
            assert x.grad is None, program
        else:
            np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL, err_msg=str(program))


@settings(max_examples=250, **SETTINGS)
@given(**graphs)
def test_random_graphs_second_order(program, shapes, seed):
    """grad(create_graph=True), then the gradient of a weighted sum of the gradients (a Hessian-vector
    product) against PyTorch's double backward."""
    x0 = _inputs(shapes, seed)
    rng = np.random.default_rng(seed + 1)
    w = [rng.uniform(-1, 1, np.shape(v)) for v in x0]
    xs = [npg.tensor(v) for v in x0]
    txs = [torch.tensor(v, requires_grad=True) for v in x0]
    _, loss = run(npg, program, xs)
    _, t_loss = run(torch, program, txs)
    gs = npg.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
    t_gs = torch.autograd.grad(t_loss, txs, create_graph=True, allow_unused=True)
    assert [g is None for g in gs] == [tg is None for tg in t_gs], program
    keep = [i for i, tg in enumerate(t_gs) if tg is not None]
    gs, t_gs, w = [gs[i] for i in keep], [t_gs[i] for i in keep], [w[i] for i in keep]
    for g, tg in zip(gs, t_gs):
        np.testing.assert_allclose(np.asarray(g.data), tg.detach().numpy(), **TOL, err_msg=str(program))
    hv = sum(((g * wi).sum() for g, wi in zip(gs, w)), 0.0)
    t_hv = sum(((tg * torch.tensor(wi)).sum() for tg, wi in zip(t_gs, w)), 0.0)
    if not t_hv.requires_grad:      # a graph linear in its inputs: the Hessian is zero
        return
    h = npg.autograd.grad(hv, xs, allow_unused=True)
    t_h = torch.autograd.grad(t_hv, txs, allow_unused=True)
    for hi, thi, x in zip(h, t_h, x0):
        expected = np.zeros_like(x) if thi is None else thi.numpy()
        got = np.zeros_like(x) if hi is None else np.asarray(hi.data if isinstance(hi, npg.Tensor) else hi)
        np.testing.assert_allclose(got, expected, **TOL, err_msg=str(program))


@settings(max_examples=250, **SETTINGS)
@given(**graphs)
def test_random_graphs_forward_mode(program, shapes, seed):
    """Forward mode (dual numbers) against torch.func.jvp with the same tangents."""
    x0 = _inputs(shapes, seed)
    rng = np.random.default_rng(seed + 2)
    t0 = [rng.uniform(-1, 1, np.shape(v)) for v in x0]
    with fwad.dual_level():
        duals = [fwad.make_dual(npg.tensor(v, requires_grad=False), npg.tensor(t)) for v, t in zip(x0, t0)]
        _, loss = run(npg, program, duals)
        value, tangent = fwad.unpack_dual(loss)
        tangent = 0.0 if tangent is None else np.asarray(tangent.data)
    t_value, t_tangent = torch.func.jvp(lambda *a: run(torch, program, a)[1],
                                        tuple(torch.tensor(v) for v in x0), tuple(torch.tensor(t) for t in t0))
    np.testing.assert_allclose(np.asarray(value.data), t_value.numpy(), **TOL, err_msg=str(program))
    np.testing.assert_allclose(tangent, t_tangent.numpy(), **TOL, err_msg=str(program))


@settings(max_examples=200, **SETTINGS)
@given(**graphs, batched=st.lists(st.booleans(), min_size=3, max_size=3), dim=st.sampled_from([0, -1]))
def test_random_graphs_under_vmap(program, shapes, seed, batched, dim):
    """vmap(f) and vmap(grad(f)) of the graph's loss, some inputs batched (along the first or the last
    axis) and the others shared, against a Python loop over the samples."""
    x0 = _inputs(shapes, seed)
    batched = [b for b, _ in zip(batched, x0)]
    if not any(batched):
        batched[0] = True
    B = 3
    rng = np.random.default_rng(seed + 3)
    xb = [np.stack([v + 0.1 * rng.standard_normal(np.shape(v)) for _ in range(B)], axis=dim if np.ndim(v) else 0)
          if b else v for v, b in zip(x0, batched)]
    in_dims = tuple((dim if np.ndim(v) else 0) if b else None for v, b in zip(x0, batched))

    def f(*xs):
        return run(npg, program, xs)[1]

    def sample(i):
        return [np.take(v, i, axis=d) if d is not None else v for v, d in zip(xb, in_dims)]

    values = npg.func.vmap(f, in_dims=in_dims)(*[npg.tensor(v) for v in xb])
    grads = npg.func.vmap(npg.func.grad(f, argnums=tuple(range(len(xb)))), in_dims=in_dims)(
        *[npg.tensor(v) for v in xb])
    for i in range(B):
        xs = [npg.tensor(v) for v in sample(i)]
        loss = f(*xs)
        np.testing.assert_allclose(np.asarray(values.data)[i], np.asarray(loss.data), **TOL, err_msg=str(program))
        expect = npg.autograd.grad(loss, xs, allow_unused=True)
        for k, (g, e) in enumerate(zip(grads, expect)):
            e = np.zeros(np.shape(xs[k].data)) if e is None else np.asarray(e.data if isinstance(e, npg.Tensor) else e)
            np.testing.assert_allclose(np.asarray(g.data)[i], e, **TOL, err_msg=f"grad {k}: {program}")


@settings(max_examples=120, **SETTINGS)
@given(**graphs, mode=st.sampled_from(["jacrev", "jacfwd", "hessian", "vjp", "jvp"]))
def test_random_graphs_under_the_func_transforms(program, shapes, seed, mode):
    """jacrev / jacfwd / hessian / vjp / jvp of the graph's loss (and of its last pool value, a tensor
    output) in every input at once, against torch.func."""
    x0 = _inputs(shapes, seed)
    argnums = tuple(range(len(x0)))
    rng = np.random.default_rng(seed + 4)

    def f(lib):
        def g(*xs):
            pool, loss = run(lib, program, xs)
            return pool[-1] * 1.0 + loss if mode in ("jacrev", "jacfwd", "vjp", "jvp") else loss
        return g

    xs, txs = [npg.tensor(v) for v in x0], [torch.tensor(v) for v in x0]
    if mode in ("jacrev", "jacfwd", "hessian"):
        got = getattr(npg.func, mode)(f(npg), argnums=argnums)(*xs)
        expected = getattr(torch.func, mode)(f(torch), argnums=argnums)(*txs)
        flat_got = [g for row in got for g in (row if mode == "hessian" else [row])]
        flat_exp = [e for row in expected for e in (row if mode == "hessian" else [row])]
    elif mode == "vjp":
        out, fn = npg.func.vjp(f(npg), *xs)
        t_out, t_fn = torch.func.vjp(f(torch), *txs)
        ct = rng.standard_normal(tuple(t_out.shape))
        flat_got, flat_exp = [out] + list(fn(npg.tensor(ct))), [t_out] + list(t_fn(torch.tensor(ct)))
    else:
        tangents = [rng.standard_normal(np.shape(v)) for v in x0]
        flat_got = list(npg.func.jvp(f(npg), tuple(xs), tuple(npg.tensor(t) for t in tangents)))
        flat_exp = list(torch.func.jvp(f(torch), tuple(txs), tuple(torch.tensor(t) for t in tangents)))
    assert len(flat_got) == len(flat_exp)
    for k, (g, e) in enumerate(zip(flat_got, flat_exp)):
        g = np.asarray(g.data if isinstance(g, npg.Tensor) else g)
        np.testing.assert_allclose(g, e.detach().numpy(), **TOL, err_msg=f"{mode} result {k}: {program}")
