"""npg.func.vmap: against a Python loop of the unbatched op (values and gradients), in_dims / out_dims,
pytrees, nesting, size-0/1 batches, composition with grad / jacrev / jacfwd (against torch.func), errors."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad import func_vmap as fv
from tests.helpers import torch_or_stand_in
from tests.test_ops_table import CASES, make_inputs

torch = torch_or_stand_in()
vmap = npg.func.vmap
B = 3

def _batch(x, rng, size=B):
    """``size`` different samples around x (same domain: small multiplicative jitter keeps signs and ties)."""
    if x.dtype.kind != "f":
        return np.stack([x] * size) if size else np.zeros((0,) + x.shape, x.dtype)
    return np.stack([x * (1 + 0.01 * i) for i in range(size)]) if size else np.zeros((0,) + x.shape, x.dtype)


def _run_case(case, batched, dim=0, size=B):
    """vmap(case.fn) with the inputs in ``batched`` batched (along ``dim``), others unbatched (in_dims None);
    values and gradients against a Python loop of the unbatched op. A fallback to a per-sample loop (per op or
    for the whole function) raises: every op in the table has a batching rule."""
    rng = np.random.default_rng(0)
    xs = make_inputs(case, np.float64)
    arrays = [(np.moveaxis(_batch(x, rng, size), 0, dim) if b else x) for x, b in zip(xs, batched)]
    fn = (lambda *a: case.fn(*a, **case.kwargs))
    in_dims = tuple(dim if b else None for b in batched)
    fv._warned.clear()
    ts = [npg.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", fv._vmap_rules.VmapFallbackWarning)
        out = vmap(fn, in_dims=in_dims)(*ts)
    ref_ts = [npg.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = [[_select(t, dim, i) if b else t for t, b in zip(ref_ts, batched)] for i in range(size)]
        ref = [fn(*s) for s in samples] if size else [fn(*[npg.tensor(x) for x in xs])]
    outs = out if isinstance(out, (tuple, list)) else (out,)
    refs = [r if isinstance(r, (tuple, list)) else (r,) for r in ref]
    loss, ref_loss = 0, 0
    for k, o in enumerate(outs):
        if size == 0:
            assert o.shape == (0,) + refs[0][k].shape, (case.id, o.shape, refs[0][k].shape)
            continue
        expect = np.stack([r[k].data for r in refs])
        assert o.shape == expect.shape, (case.id, o.shape, expect.shape)
        np.testing.assert_allclose(o.data, expect, rtol=1e-12, atol=1e-12, err_msg=case.id)
        assert o.requires_grad == refs[0][k].requires_grad, case.id
        if o.requires_grad:
            wgt = np.random.default_rng(k).standard_normal(expect.shape)
            loss = loss + (o * wgt).sum()
            ref_loss = ref_loss + (npg.stack([r[k] for r in refs]) * wgt).sum()
    if isinstance(loss, npg.Tensor):
        loss.backward()
        ref_loss.backward()
        for t, r in zip(ts, ref_ts):
            assert (t.grad is None) == (r.grad is None), case.id
            if r.grad is not None:
                np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-12, err_msg=case.id)


def _run_nested(case):
    """vmap(vmap(case.fn)) over inputs with two batch axes (2, 3): values and gradients against a double loop."""
    xs = make_inputs(case, np.float64)
    arrays = [np.stack([np.stack([x * (1 + 0.01 * (3 * i + j)) for j in range(3)]) for i in range(2)]) for x in xs]
    fn = (lambda *a: case.fn(*a, **case.kwargs))
    fv._warned.clear()
    ts = [npg.tensor(a, requires_grad=True) for a in arrays]
    ref_ts = [npg.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", fv._vmap_rules.VmapFallbackWarning)
        out = vmap(vmap(fn))(*ts)
        ref = [[fn(*[t[i, j] for t in ref_ts]) for j in range(3)] for i in range(2)]
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss, ref_loss = 0, 0
    for k, o in enumerate(outs):
        parts = [[(r if isinstance(r, (tuple, list)) else (r,))[k] for r in row] for row in ref]
        expect = np.array([[p.data for p in row] for row in parts])
        np.testing.assert_allclose(o.data, expect, rtol=1e-12, atol=1e-12, err_msg=case.id)
        if o.requires_grad:
            wgt = np.random.default_rng(k).standard_normal(expect.shape)
            loss = loss + (o * wgt).sum()
            ref_loss = ref_loss + (npg.stack([npg.stack(row) for row in parts]) * wgt).sum()
    if isinstance(loss, npg.Tensor):
        loss.backward()
        ref_loss.backward()
        for t, r in zip(ts, ref_ts):
            np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-12, err_msg=case.id)


def _select(t, dim, i):
    return t[(slice(None),) * (dim % t.ndim) + (i,)]


PARAMS = [pytest.param(c, id=c.id) for c in CASES if c.shapes]


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
@pytest.mark.parametrize("case", PARAMS)
def test_vmap_op_table(case):
    """Every op of the op table under vmap: all inputs batched, each one alone (the others in_dims None), at
    dims 0 and -1; batches of size 1 and 0; nested vmap. None falls back to a loop."""
    n = len(case.shapes)
    patterns = [(True,) * n] + ([tuple(i == j for j in range(n)) for i in range(n)] if n > 1 else [])
    for batched in patterns:
        _run_case(case, batched)
        _run_case(case, batched, dim=-1)
    _run_case(case, (True,) * n, size=1)
    _run_case(case, (True,) * n, size=0)
    _run_nested(case)


# ------------------------------------------------------------------------ in_dims, out_dims, pytrees
def _rng():
    return np.random.default_rng(1)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_in_dims_positions(dim):
    x = npg.tensor(_rng().standard_normal((5, 5, 5)))
    y = npg.tensor(_rng().standard_normal((5,)))
    f = lambda a, b: npg.sum(npg.exp(a) * b, axis=-1) + a.mean()  # noqa: E731
    out = vmap(f, in_dims=(dim, None))(x, y)
    xm = np.moveaxis(x.data, dim, 0)
    ref = np.stack([f(npg.tensor(s), y).data for s in xm])
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)


@pytest.mark.parametrize("od", [0, 1, -1])
def test_out_dims(od):
    x = npg.tensor(_rng().standard_normal((4, 2, 3)))
    out = vmap(lambda a: a.T * 2, out_dims=od)(x)
    ref = np.stack([s.T * 2 for s in x.data])
    np.testing.assert_allclose(out.data, np.moveaxis(ref, 0, od))


def test_pytrees_in_and_out():
    x = npg.tensor(_rng().standard_normal((4, 3)))
    y = npg.tensor(_rng().standard_normal((3, 4)))
    params = {"w": npg.tensor(_rng().standard_normal((3,))), "b": npg.tensor(1.5)}

    def f(p, pair):
        a, b = pair
        return {"s": (a * p["w"]).sum() + p["b"], "t": [a + b, b]}

    out = vmap(f, in_dims=(None, (0, 1)), out_dims={"s": 0, "t": [1, 0]})(params, (x, y))
    for i in range(4):
        r = f(params, (x[i], y[:, i]))
        np.testing.assert_allclose(out["s"].data[i], r["s"].data)
        np.testing.assert_allclose(out["t"][0].data[:, i], r["t"][0].data)
        np.testing.assert_allclose(out["t"][1].data[i], r["t"][1].data)


def test_unbatched_output_is_broadcast():
    x = npg.tensor(np.ones((4, 2)))
    c = npg.tensor([1.0, 2.0])
    out = vmap(lambda a: c * 3)(x)
    np.testing.assert_allclose(out.data, np.tile([3.0, 6.0], (4, 1)))


@pytest.mark.parametrize("size", [0, 1])
def test_size_0_and_1_batches(size):
    x = npg.tensor(_rng().standard_normal((size, 3, 2)))
    w = npg.tensor(_rng().standard_normal((2, 4)))
    out = vmap(lambda a: npg.tanh(a @ w).sum(axis=0), in_dims=0)(x)
    assert out.shape == (size, 4)
    np.testing.assert_allclose(out.data, np.tanh(x.data @ w.data).sum(axis=1))
    out.sum().backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


def test_nested_vmap():
    x = npg.tensor(_rng().standard_normal((3, 4, 5)))
    y = npg.tensor(_rng().standard_normal((4, 5)))
    f = lambda a, b: (npg.sin(a) * b).sum() / a.max()  # noqa: E731
    out = vmap(vmap(f, in_dims=(0, 0)), in_dims=(0, None))(x, y)
    ref = np.array([[f(npg.tensor(x.data[i, j]), npg.tensor(y.data[j])).data for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    out2 = vmap(vmap(lambda a: a @ a), in_dims=1)(x)  # outer over axis 1, inner over the (old) axis 0
    np.testing.assert_allclose(out2.data, np.einsum("ijk,ijk->ji", x.data, x.data), rtol=1e-12)


def test_chunk_size_matches():
    x = npg.tensor(_rng().standard_normal((7, 3)))
    f = lambda a: npg.softmax(a, axis=-1) if hasattr(npg, "softmax") else npg.exp(a) / npg.exp(a).sum()  # noqa
    np.testing.assert_allclose(vmap(f, chunk_size=3)(x).data, vmap(f)(x).data)


@pytest.mark.parametrize("sa,sb,ba,bb", [((3,), (3,), 1, 1), ((3,), (3,), 1, 0), ((3,), (3,), 0, 1),
                                         ((3,), (3, 2), 1, 0), ((3,), (4, 3, 2), 1, 0), ((2, 3), (3,), 1, 0),
                                         ((2, 3), (3,), 0, 1), ((4, 2, 3), (3, 5), 1, 1), ((3,), (4, 3, 2), 1, 1),
                                         ((2, 3), (4, 3, 5), 0, 1)])
def test_matmul_rule_shapes(sa, sb, ba, bb):
    rng = _rng()
    a = rng.standard_normal(((4,) if ba else ()) + sa)
    b = rng.standard_normal(((4,) if bb else ()) + sb)
    out = vmap(lambda x, y: x @ y, in_dims=(0 if ba else None, 0 if bb else None))(npg.tensor(a), npg.tensor(b))
    ref = np.stack([(a[i] if ba else a) @ (b[i] if bb else b) for i in range(4)])
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)


def test_gradients_flow_through_vmap():
    x = npg.tensor(_rng().standard_normal((5, 3)))
    w = npg.tensor(_rng().standard_normal((3, 2)))
    out = vmap(lambda a: npg.tanh(a @ w).sum(), in_dims=0)(x)
    (out ** 2).sum().backward()
    xr, wr = npg.tensor(x.data), npg.tensor(w.data)
    (npg.tanh(xr @ wr).sum(axis=1) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad, xr.grad)
    np.testing.assert_allclose(w.grad, wr.grad)


# ------------------------------------------------------------------------ errors
def test_data_dependent_control_flow_raises():
    x = npg.tensor(_rng().standard_normal((4, 3)))
    for f in [lambda a: a if a.sum() > 0 else -a, lambda a: a * float(a.sum()), lambda a: a * a.sum().item()]:
        with pytest.raises(RuntimeError, match="data-dependent Python control flow"):
            vmap(f)(x)


def test_randomness_error():
    x = npg.tensor(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda a: a + npg.randn(3))(x)
    out = vmap(lambda a: a + npg.randn(3), randomness="same")(x)
    np.testing.assert_allclose(out.data, np.broadcast_to(out.data[0], out.shape))
    out = vmap(lambda a: a + npg.randn(3), randomness="different")(x)
    assert len({row.tobytes() for row in out.data}) == 4   # more in tests/test_vmap_random.py


def test_bad_in_dims():
    x = npg.tensor(np.ones((4, 3)))
    with pytest.raises(ValueError):
        vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError):
        vmap(lambda a, b: a + b)(x, npg.tensor(np.ones((5, 3))))
    with pytest.raises(ValueError):
        vmap(lambda a: a, in_dims=None)(x)


def test_fallback_is_correct_and_warns():
    """An op without a rule (lstsq) runs per sample, with a warning naming it; the rest stays vectorized, so a
    side effect of the function runs once."""
    rng = _rng()
    a, b = npg.tensor(rng.standard_normal((4, 5, 3))), npg.tensor(rng.standard_normal((4, 5)))
    calls = []

    def f(a, b):
        calls.append(1)
        return npg.linalg.lstsq(a, b)[0] * 2

    fv._warned.discard("lstsq")
    with pytest.warns(fv._vmap_rules.VmapFallbackWarning, match="no batching rule for lstsq"):
        out = vmap(f)(a, b)
    assert len(calls) == 1
    np.testing.assert_allclose(out.data, np.stack([np.linalg.lstsq(x, y)[0] * 2 for x, y in zip(a.data, b.data)]))


def test_whole_function_fallback_warns_and_says_so():
    """Code that reads a batched tensor's values directly: the whole function runs per sample, and the warning
    says so."""
    x = npg.tensor(_rng().standard_normal((4, 5)))

    def f(a):
        return npg.tensor(np.cumsum(a.data)) * 2   # reads .data: no op can batch this

    fv._warned.clear()
    with pytest.warns(fv._vmap_rules.VmapFallbackWarning, match="WHOLE function"):
        out = vmap(f)(x)
    np.testing.assert_allclose(out.data, np.cumsum(x.data, axis=1) * 2)


def test_flag_is_reset_after_vmap_and_errors():
    import importlib
    tm = importlib.import_module("npgrad.tensor")
    x = npg.tensor(np.ones((2, 3)))
    vmap(lambda a: a * 2)(x)
    with pytest.raises(RuntimeError):
        vmap(lambda a: a if a.sum() > 0 else a)(x)
    assert tm._VMAP == 0


# ------------------------------------------------------------------------ composition with transforms
def _mlp_data(n=6):
    rng = np.random.default_rng(3)
    params = {"w1": rng.standard_normal((4, 5)) * 0.5, "b1": rng.standard_normal(5) * 0.1,
              "w2": rng.standard_normal((5, 3)) * 0.5, "b2": rng.standard_normal(3) * 0.1}
    x = rng.standard_normal((n, 4))
    y = rng.standard_normal((n, 3))
    return params, x, y


def _loss(lib):
    def loss(p, x, y):
        h = lib.tanh(x @ p["w1"] + p["b1"])
        out = h @ p["w2"] + p["b2"]
        return ((out - y) ** 2).mean()
    return loss


def test_per_sample_gradients_vs_torch_func():
    params, x, y = _mlp_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # vectorized: no fallback
        g = vmap(npg.func.grad(_loss(npg)), in_dims=(None, 0, 0))(
            {k: npg.tensor(v) for k, v in params.items()}, npg.tensor(x), npg.tensor(y))
    tp = {k: torch.tensor(v) for k, v in params.items()}
    tg = torch.func.vmap(torch.func.grad(_loss(torch)), in_dims=(None, 0, 0))(tp, torch.tensor(x), torch.tensor(y))
    for k in params:
        assert g[k].shape == (6,) + params[k].shape
        np.testing.assert_allclose(g[k].data, tg[k].numpy(), rtol=1e-10, atol=1e-12)


def test_per_sample_grad_and_value_with_aux():
    params, x, y = _mlp_data()
    p = {k: npg.tensor(v) for k, v in params.items()}

    def f(p, x, y):
        loss = _loss(npg)(p, x, y)
        return loss, loss * 2
    (g, (v, aux)) = vmap(npg.func.grad_and_value(f, has_aux=True), in_dims=(None, 0, 0))(p, npg.tensor(x),
                                                                                          npg.tensor(y))
    for i in range(len(x)):
        gi, (vi, ai) = npg.func.grad_and_value(f, has_aux=True)(p, npg.tensor(x[i]), npg.tensor(y[i]))
        np.testing.assert_allclose(v.data[i], vi.data)
        np.testing.assert_allclose(aux.data[i], ai.data)
        np.testing.assert_allclose(g["w1"].data[i], gi["w1"].data, rtol=1e-12)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_vmap_of_jacobians_vs_torch_func(transform):
    x = np.random.default_rng(4).standard_normal((5, 3))
    f_np = lambda a: npg.sin(a) * (a ** 2).sum()  # noqa: E731
    f_t = lambda a: torch.sin(a) * (a ** 2).sum()  # noqa: E731
    if transform == "hessian":
        f_np, f_t = (lambda a: (npg.sin(a) * (a ** 2).sum()).sum()), (lambda a: (torch.sin(a) * (a ** 2).sum()).sum())
    out = vmap(getattr(npg.func, transform)(f_np))(npg.tensor(x))
    ref = torch.func.vmap(getattr(torch.func, transform)(f_t))(torch.tensor(x))
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-10, atol=1e-12)


def test_grad_of_vmap_vs_torch_func():
    params, x, y = _mlp_data()

    def total(lib, fv_):
        return lambda p: fv_(_loss(lib), in_dims=(None, 0, 0))(p, x_, y_).sum()
    x_, y_ = npg.tensor(x), npg.tensor(y)
    g = npg.func.grad(total(npg, vmap))({k: npg.tensor(v) for k, v in params.items()})
    x_, y_ = torch.tensor(x), torch.tensor(y)
    tg = torch.func.grad(total(torch, torch.func.vmap))({k: torch.tensor(v) for k, v in params.items()})
    for k in params:
        np.testing.assert_allclose(g[k].data, tg[k].numpy(), rtol=1e-10)


def test_per_sample_gradients_nn_linear_functional_call_vs_torch_func():
    npg.random.seed(0)
    m = npg.nn.Sequential(npg.nn.Linear(4, 8), npg.nn.Tanh(), npg.nn.Linear(8, 3))
    params = {k: v.detach() for k, v in m.named_parameters()}
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal((16, 3)).astype(np.float32)

    def loss(p, xi, yi):
        out = npg.func.functional_call(m, p, (xi[None],))
        return ((out - yi[None]) ** 2).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # vectorized: linear has a rule
        g = vmap(npg.func.grad(loss), in_dims=(None, 0, 0))(params, npg.tensor(x), npg.tensor(y))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    tparams = {k: torch.tensor(v.data.astype(np.float32)) for k, v in params.items()}
    params = {k: npg.tensor(v.data.astype(np.float32)) for k, v in params.items()}

    def tloss(p, xi, yi):
        out = torch.func.functional_call(tm, p, (xi[None],))
        return ((out - yi[None]) ** 2).mean()
    tg = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(tparams, torch.tensor(x), torch.tensor(y))
    for k in params:
        assert g[k].shape == (16,) + params[k].shape
        np.testing.assert_allclose(g[k].data, tg[k].numpy(), rtol=1e-4, atol=1e-6)
