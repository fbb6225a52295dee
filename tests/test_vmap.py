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

# Ops that have no batching rule yet (as of this writing): vmap runs them as a per-sample loop (with a warning).
# The op table's elementwise and reduction families must never fall back (asserted below).
FALLBACKS = set()
KNOWN_FALLBACKS = {"solve", "sort", "pad", "_nan_mask", "matrix_arg", "getitem", "tile", "repeat", "topk",
                   "kthvalue", "average", "interp", "<setcomp>", "vector_norm", "partition", "norm", "einsum",
                   "geomspace", "cov"}
ELEMENTWISE_REDUCTION = {  # op-table case names of the elementwise and reduction families
    "add", "sub", "mul", "div", "pow_tt", "power", "maximum", "minimum", "maximum_ties", "minimum_ties",
    "floor_divide", "remainder", "remainder_fn", "x+2", "2+x", "x-1.5", "1-x", "3*x", "x*0.5", "x/4", "x**2",
    "x**3", "x**0", "-x", "2**x", "0.5**x", "1/x", "x**-1", "2//x", "maximum(x,0.3)", "minimum(0.2,x)", "x%1.5",
    "2.5%x", "x**0.5", "x**2.5", "neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "sign", "abs_method", "exp_method", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh",
    "arccosh", "arctanh", "exp2", "sinc", "deg2rad", "rad2deg", "radians", "degrees", "trunc", "fix", "rint",
    "floor", "ceil", "round", "cbrt", "round_decimals", "round_np", "round_method", "nan_to_num", "sinh_method",
    "sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "logsumexp", "where", "clip", "cumsum",
    "cumprod", "cumprod_zeros", "copy", "clone", "broadcast_to", "concatenate", "stack", "flip"}


def _batch(x, rng):
    """B different samples around x (same domain: small multiplicative jitter keeps signs and ties)."""
    if x.dtype.kind != "f":
        return np.stack([x] * B)
    return np.stack([x * (1 + 0.01 * i) for i in range(B)])


def _run_case(case, batched):
    """vmap(case.fn) with the inputs in ``batched`` batched (at dim 0), others unbatched; values and gradients
    against a loop of the unbatched op. Returns the op that fell back, if any."""
    rng = np.random.default_rng(0)
    xs = make_inputs(case, np.float64)
    arrays = [_batch(x, rng) if b else x for x, b in zip(xs, batched)]
    fn = (lambda *a: case.fn(*a, **case.kwargs))
    in_dims = tuple(0 if b else None for b in batched)
    fv._warned.clear()
    ts = [npg.tensor(a) for a in arrays]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = vmap(fn, in_dims=in_dims)(*ts)
    fell = [str(m.message).split("rule for ")[1].split(";")[0] for m in w if "batching rule" in str(m.message)]
    ref_ts = [npg.tensor(a) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = [fn(*[t[i] if b else t for t, b in zip(ref_ts, batched)]) for i in range(B)]
    outs = out if isinstance(out, (tuple, list)) else (out,)
    refs = [r if isinstance(r, (tuple, list)) else (r,) for r in ref]
    loss, ref_loss = 0, 0
    for k, o in enumerate(outs):
        expect = np.stack([r[k].data for r in refs])
        assert o.shape == expect.shape, (case.id, o.shape, expect.shape)
        np.testing.assert_allclose(o.data, expect, rtol=1e-12, atol=1e-12, err_msg=case.id)
        if o.requires_grad:
            wgt = np.random.default_rng(k).standard_normal(expect.shape)
            loss = loss + (o * wgt).sum()
            ref_loss = ref_loss + (npg.stack([r[k] for r in refs]) * wgt).sum()
    if isinstance(loss, npg.Tensor):
        loss.backward()
        ref_loss.backward()
        for t, r in zip(ts, ref_ts):
            if r.grad is not None or t.grad is not None:
                np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-12, err_msg=case.id)
    return fell[0] if fell else None


_SKIP = {"geomspace"}  # its result's length is not per-sample shaped under a batched endpoint (loop: fine)
PARAMS = [pytest.param(c, id=c.id) for c in CASES if c.shapes and c.name not in _SKIP]


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
@pytest.mark.parametrize("case", PARAMS)
def test_vmap_op_table(case):
    n = len(case.shapes)
    patterns = [(True,) * n] + ([tuple(i == j for j in range(n)) for i in range(n)] if n > 1 else [])
    for batched in patterns:
        fell = _run_case(case, batched)
        if fell is not None:
            assert case.name not in ELEMENTWISE_REDUCTION, f"{case.id}: {fell} fell back to the loop"
            FALLBACKS.add(fell)  # reported (e.g. -s), not asserted: this list shrinks as rules are added


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
    with pytest.raises(NotImplementedError):
        vmap(lambda a: a + npg.randn(3), randomness="different")(x)


def test_bad_in_dims():
    x = npg.tensor(np.ones((4, 3)))
    with pytest.raises(ValueError):
        vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError):
        vmap(lambda a, b: a + b)(x, npg.tensor(np.ones((5, 3))))
    with pytest.raises(ValueError):
        vmap(lambda a: a, in_dims=None)(x)


def test_fallback_is_correct_and_warns():
    x = npg.tensor(_rng().standard_normal((4, 5)))
    fv._warned.discard("sort")
    with pytest.warns(RuntimeWarning, match="sort"):
        out = vmap(lambda a: npg.sort(a, axis=0) * 2)(x)
    np.testing.assert_allclose(out.data, np.sort(x.data, axis=1) * 2)


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
