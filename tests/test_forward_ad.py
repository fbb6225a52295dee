"""Forward-mode AD (npg.autograd.forward_ad, func.jvp / jacfwd / hessian) against torch.func and
torch.autograd.forward_ad, and against central finite differences.

Every op of the op table (tests/test_ops_table.py CASES) has its JVP checked against ``torch.func.jvp`` in
float64 and float32 (dtype kept), against finite differences, and is checked not to use the transposed-VJP
fallback (every op there declares a JVP rule).
"""
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwAD
import torch.func as tf

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad import func
from tests.helpers import TOL, assert_close
from tests.test_ops_table import CASES, PARAMS, make_inputs

T = torch.tensor


def _tangents(arrays, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]


def npg_jvp(fn, arrays, tangents):
    """(primal, tangent) of ``fn`` at ``arrays`` along ``tangents`` with npgrad's forward_ad; the tangent is
    None when the output has none. Records the ops that fell back to the transposed VJP."""
    fwAD.FALLBACK_OPS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with fwAD.dual_level():
            xs = [fwAD.make_dual(npg.tensor(a, requires_grad=False), npg.tensor(t, requires_grad=False))
                  for a, t in zip(arrays, tangents)]
            out = fn(*xs)
            primal, tangent = fwAD.unpack_dual(out)
    return primal, tangent


# torch's forward-mode formula for fmax / fmin picks the other operand's tangent at ties, while its backward
# sends the gradient to the first operand; npgrad's JVP is the transpose of its VJP (torch's backward), so
# these are checked against ``J t`` from torch's reverse mode.
# torch has no forward-mode formula for igamma / igammac: J t from its reverse mode there too.
REVERSE_ORACLE = {"fmax_ties", "fmin_ties", "special_gammainc", "special_gammaincc",
                  "scatter_reduce_prod"}   # (torch.func.jvp of scatter_reduce 'prod' gives zeros)


def torch_jvp(tfn, arrays, tangents, name=""):
    """torch's ``J t``: ``torch.func.jvp``, or ``J t`` from its reverse-mode Jacobian for the cases above and
    for torch functions that cannot run in forward mode (those that read values through NumPy)."""
    xs, ts = tuple(T(a) for a in arrays), tuple(T(t) for t in tangents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name not in REVERSE_ORACLE:
            try:
                out, jv = tf.jvp(tfn, xs, ts)
                return out.detach().numpy(), jv.detach().numpy()
            except RuntimeError as e:
                if "storage" not in str(e):
                    raise
        out = tfn(*xs).detach().numpy()
        jac = torch.autograd.functional.jacobian(tfn, xs)
    jv = np.zeros(out.shape, out.dtype)
    for J, t in zip(jac, tangents):
        jv = jv + np.tensordot(J.numpy(), t, axes=t.ndim)
    return out, jv


def _call(fn, case):
    return lambda *xs: fn(*xs, **case.kwargs)


# ------------------------------------------------------------------------------------ every op in the table
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", PARAMS)
def test_op_jvp_against_torch(case, dtype):
    arrays = make_inputs(case, dtype)
    tangents = _tangents(arrays)
    primal, tangent = npg_jvp(_call(case.fn, case), arrays, tangents)
    assert not fwAD.FALLBACK_OPS, f"{case.id}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    tout, tjv = torch_jvp(_call(case.tfn, case), arrays, tangents, case.name)
    assert_close(primal, tout, what=f"{case.id} primal")
    if tangent is None:
        assert primal.dtype.kind != "f" or not np.any(tjv), f"{case.id}: no tangent, torch's is {tjv}"
        return
    assert tangent.dtype == primal.dtype == tout.dtype, f"{case.id}: tangent dtype {tangent.dtype}, torch {tout.dtype}"
    assert tangent.shape == primal.shape
    assert_close(tangent, tjv, what=f"{case.id} tangent")


@pytest.mark.parametrize("case", [p for p, c in zip(PARAMS, CASES) if c.fd])
def test_op_jvp_finite_difference(case):
    arrays = make_inputs(case, np.float64, seed=1)
    tangents = _tangents(arrays, seed=2)
    fn = _call(case.fn, case)
    _, tangent = npg_jvp(fn, arrays, tangents)
    eps = 1e-6

    def at(s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(fn(*[npg.tensor(a + s * t, requires_grad=False) for a, t in zip(arrays, tangents)]).data)
    numeric = (at(eps) - at(-eps)) / (2 * eps)
    got = np.zeros(numeric.shape) if tangent is None else tangent.data
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-6, err_msg=case.id, equal_nan=True)


# ------------------------------------------------------------------------------------ the forward_ad API
def test_make_dual_unpack_dual_as_torch():
    x0, t0 = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.25, -0.5])
    with fwAD.dual_level(), tfwAD.dual_level():
        x = fwAD.make_dual(npg.tensor(x0, requires_grad=False), npg.tensor(t0, requires_grad=False))
        tx = tfwAD.make_dual(T(x0), T(t0))
        y, ty = npg.sin(x) * x, torch.sin(tx) * tx
        p, t = fwAD.unpack_dual(y)
        tp, tt = tfwAD.unpack_dual(ty)
        assert type(fwAD.unpack_dual(y)).__name__ == "UnpackedDualTensor" and fwAD.unpack_dual(y).primal is not None
        assert_close(p, tp.numpy())
        assert_close(t, tt.numpy())
        assert fwAD.unpack_dual(p).tangent is None  # the primal has no tangent at this level
        tangent = npg.tensor(t0, requires_grad=False)
        assert fwAD.unpack_dual(fwAD.make_dual(npg.tensor(x0), tangent)).tangent is tangent  # kept as given
        assert fwAD.unpack_dual(npg.tensor(x0)).tangent is None
    assert fwAD.unpack_dual(y).tangent is None  # the level is gone


def test_forward_ad_errors():
    with pytest.raises(RuntimeError, match="no dual level"):
        fwAD.make_dual(npg.ones(3), npg.ones(3))
    with pytest.raises(RuntimeError, match="no dual level"):
        fwAD.exit_dual_level()
    with fwAD.dual_level():
        with pytest.raises(ValueError, match="shape"):
            fwAD.make_dual(npg.ones(3), npg.ones(4))
        with pytest.raises(ValueError, match="floating"):
            fwAD.make_dual(npg.tensor([1, 2]), npg.ones(2))
        outer = fwAD.enter_dual_level()
        inner = fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="innermost"):
            fwAD.exit_dual_level(level=outer)
        fwAD.exit_dual_level(level=inner)
        fwAD.exit_dual_level()


def test_float32_tangent_cast_and_kept():
    with fwAD.dual_level():
        x = fwAD.make_dual(npg.ones(3, dtype=np.float32), np.arange(3.0))  # a float64 tangent is cast
        y = npg.exp(x) * 2.0
        assert fwAD.unpack_dual(y).tangent.dtype == np.float32


def test_nested_levels_no_perturbation_confusion():
    """d/dx [x * d/dy (x + y)] = 1 (a confused implementation gives 2), as jvp of jvp in torch.func."""
    def inner(x):
        return func.jvp(lambda y: x + y, (npg.tensor(1.0, requires_grad=False),), (npg.tensor(1.0),))[1]
    assert float(func.jvp(lambda x: x * inner(x), (np.array(2.0),), (np.array(1.0),))[1]) == 1.0
    # second derivative by nested levels, against torch.func
    f, tf_f = (lambda x: npg.sum(npg.sin(x) * x ** 2)), (lambda x: (torch.sin(x) * x ** 2).sum())
    x0, u, v = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -1.0]), np.array([0.2, -0.3, 0.7])
    ours = func.jvp(lambda x: func.jvp(f, (x,), (u,))[1], (x0,), (v,))[1]
    theirs = tf.jvp(lambda x: tf.jvp(tf_f, (x,), (T(u),))[1], (T(x0),), (T(v),))[1]
    assert_close(ours, theirs.numpy())
    # the same with the raw API: an outer and an inner level
    with fwAD.dual_level() as outer:
        x = fwAD.make_dual(npg.tensor(x0, requires_grad=False), v)
        with fwAD.dual_level() as inner:
            y = f(fwAD.make_dual(x, u))
            d1 = fwAD.unpack_dual(y, level=inner).tangent
        d2 = fwAD.unpack_dual(d1, level=outer).tangent
        assert fwAD.unpack_dual(y, level=inner).tangent is None  # exited
    assert_close(d2, theirs.numpy())


# ------------------------------------------------------------------------------------ func transforms
def _mlp():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal((4, 5)) * 0.5, rng.standard_normal(5) * 0.1, rng.standard_normal((5, 3)) * 0.5,
              rng.standard_normal(3) * 0.1]
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    return params, X, y


def mlp_loss(m, F, params, X, y):
    W1, b1, W2, b2 = params
    h = m.tanh(X @ W1 + b1)
    return F.cross_entropy(h @ W2 + b2, y)


def test_jvp_jacfwd_hessian_mlp_against_torch():
    params, X, y = _mlp()
    f = lambda *p: mlp_loss(npg, npg.nn.functional, p, X, y)  # noqa: E731
    tfn = lambda *p: mlp_loss(torch, torch.nn.functional, p, T(X), T(y))  # noqa: E731
    tans = _tangents(params, seed=9)
    value, jv = func.jvp(f, tuple(params), tuple(tans))
    tvalue, tjv = tf.jvp(tfn, tuple(map(T, params)), tuple(map(T, tans)))
    assert isinstance(jv, np.ndarray)
    assert_close(value, tvalue.numpy())
    assert_close(jv, tjv.numpy())
    argnums = (0, 1, 2, 3)
    J = func.jacfwd(f, argnums)(*params)
    H = func.hessian(f, argnums)(*params)
    TJ = tf.jacfwd(tfn, argnums)(*map(T, params))
    TH = tf.hessian(tfn, argnums)(*map(T, params))
    for i in range(4):
        assert_close(J[i], TJ[i].numpy(), what=f"J[{i}]")
        for j in range(4):
            assert isinstance(H[i][j], np.ndarray)
            assert_close(H[i][j], TH[i][j].numpy(), what=f"H[{i}][{j}]")


def test_jacfwd_several_inputs_and_outputs():
    a0, b0 = np.array([[0.5, -1.0], [2.0, 0.3]]), np.array([1.5, -0.7])

    def f(m):
        return lambda a, b: (m.sin(a @ b), (a * b).sum() * b)
    J = func.jacfwd(f(npg), (0, 1))(npg.tensor(a0), npg.tensor(b0))
    TJ = tf.jacfwd(f(torch), (0, 1))(T(a0), T(b0))
    for k in range(2):
        for i in range(2):
            assert isinstance(J[k][i], npg.Tensor)
            assert_close(J[k][i], TJ[k][i].numpy())


@pytest.mark.parametrize("order", ["jacfwd(jacrev)", "jacrev(jacfwd)", "jacfwd(jacfwd)", "grad(jvp)",
                                  "jvp(grad)", "jacrev(jvp)"])
def test_composition_orders_against_torch(order):
    params, X, y = _mlp()
    W0 = params[0]

    def make(m, F, fn):
        def loss(W):
            return mlp_loss(m, F, [W] + params[1:] if m is npg else [W] + [T(p) for p in params[1:]],
                            X if m is npg else T(X), y if m is npg else T(y))
        t = _tangents([W0], seed=4)[0]
        tt = t if m is npg else T(t)
        return {"jacfwd(jacrev)": lambda W: fn.jacfwd(fn.jacrev(loss))(W),
                "jacrev(jacfwd)": lambda W: fn.jacrev(fn.jacfwd(loss))(W),
                "jacfwd(jacfwd)": lambda W: fn.jacfwd(fn.jacfwd(loss))(W),
                "grad(jvp)": lambda W: fn.grad(lambda w: fn.jvp(loss, (w,), (tt,))[1])(W),
                "jvp(grad)": lambda W: fn.jvp(fn.grad(loss), (W,), (tt,))[1],
                "jacrev(jvp)": lambda W: fn.jacrev(lambda w: fn.jvp(loss, (w,), (tt,))[1])(W)}[order]
    ours = make(npg, npg.nn.functional, func)(W0)
    theirs = make(torch, torch.nn.functional, tf)(T(W0))
    assert_close(ours, theirs.detach().numpy(), what=order)


def test_jvp_keeps_graph_for_reverse_mode():
    """Reverse over forward with Tensors: the tangent is differentiable in the primal and in the tangent."""
    x0, t0 = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -1.0])
    x, t = npg.tensor(x0), npg.tensor(t0)
    _, jv = func.jvp(lambda x: npg.sum(npg.exp(x) * x), (x,), (t,))
    gx, gt = npg.autograd.grad(jv, [x, t])
    tx, tt = T(x0, requires_grad=True), T(t0, requires_grad=True)
    _, tjv = tf.jvp(lambda x: (torch.exp(x) * x).sum(), (tx,), (tt,))
    tgx, tgt = torch.autograd.grad(tjv, [tx, tt])
    assert_close(gx, tgx.numpy())
    assert_close(gt, tgt.numpy())


# ------------------------------------------------------------------------------------ nn.functional fused ops
def _fused_cases():
    rng = np.random.default_rng(11)
    x2, x4 = rng.standard_normal((4, 6)), rng.standard_normal((2, 3, 6, 6))
    Fn, Ft = npg.nn.functional, torch.nn.functional
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 3))
    mask = rng.random((3, 5)) > 0.3
    return {
        "linear": ([x2, rng.standard_normal((3, 6)), rng.standard_normal(3)], Fn.linear, Ft.linear),
        "softmax": ([x2], lambda a: Fn.softmax(a, dim=1), lambda a: Ft.softmax(a, dim=1)),
        "log_softmax": ([x2], lambda a: Fn.log_softmax(a, dim=0), lambda a: Ft.log_softmax(a, dim=0)),
        "cross_entropy": ([x2], lambda a: Fn.cross_entropy(a, np.array([0, 5, 2, 1])),
                          lambda a: Ft.cross_entropy(a, torch.tensor([0, 5, 2, 1]))),
        "cross_entropy_probs": ([x2, rng.random((4, 6))], lambda a, p: Fn.cross_entropy(a, p, label_smoothing=0.1),
                                lambda a, p: Ft.cross_entropy(a, p, label_smoothing=0.1)),
        "cross_entropy_none": ([x4[:, :, 0]], lambda a: Fn.cross_entropy(a, np.array([[0, 1, 2, 0, 1, 2]] * 2),
                                                                        reduction="none"),
                               lambda a: Ft.cross_entropy(a, torch.tensor([[0, 1, 2, 0, 1, 2]] * 2),
                                                          reduction="none")),
        "mse_loss": ([x2, x2[::-1].copy()], Fn.mse_loss, Ft.mse_loss),
        "layer_norm": ([x2, rng.standard_normal(6), rng.standard_normal(6)],
                       lambda a, w, b: Fn.layer_norm(a, (6,), w, b), lambda a, w, b: Ft.layer_norm(a, (6,), w, b)),
        "batch_norm": ([x4, rng.standard_normal(3), rng.standard_normal(3)],
                       lambda a, w, b: Fn.batch_norm(a, None, None, w, b, training=True),
                       lambda a, w, b: Ft.batch_norm(a, None, None, w, b, training=True)),
        "gelu": ([x2], Fn.gelu, Ft.gelu),
        "gelu_tanh": ([x2], lambda a: Fn.gelu(a, approximate="tanh"), lambda a: Ft.gelu(a, approximate="tanh")),
        "silu": ([x2], Fn.silu, Ft.silu),
        "conv2d": ([x4, rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)],
                   lambda a, w, b: Fn.conv2d(a, w, b, stride=2, padding=1),
                   lambda a, w, b: Ft.conv2d(a, w, b, stride=2, padding=1)),
        "max_pool2d": ([x4], lambda a: Fn.max_pool2d(a, 2), lambda a: Ft.max_pool2d(a, 2)),
        "avg_pool2d": ([x4], lambda a: Fn.avg_pool2d(a, 3, 2, 1), lambda a: Ft.avg_pool2d(a, 3, 2, 1)),
        "sdpa": ([q, k, v], Fn.scaled_dot_product_attention, Ft.scaled_dot_product_attention),
        "sdpa_mask": ([q, k, v], lambda *a: Fn.scaled_dot_product_attention(*a, attn_mask=mask),
                      lambda *a: Ft.scaled_dot_product_attention(*a, attn_mask=torch.tensor(mask))),
        "sdpa_causal": ([q, k[:, :3], v[:, :3]], lambda *a: Fn.scaled_dot_product_attention(*a, is_causal=True),
                        lambda *a: Ft.scaled_dot_product_attention(*a, is_causal=True)),
    }


FUSED = _fused_cases()


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_nn_ops_against_torch(name):
    arrays, fn, tfn = FUSED[name]
    tangents = _tangents(arrays, seed=7)
    primal, tangent = npg_jvp(fn, arrays, tangents)
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    tout, tjv = torch_jvp(tfn, arrays, tangents)
    assert_close(primal, tout, what=f"{name} primal")
    assert_close(tangent, tjv, what=f"{name} tangent")


# ------------------------------------------------------------------------------------ in-place writes
def _writes(m, fwm, requires_grad):
    """In-place ops on a dual tensor and through views of it; returns the tangents of x and of two views."""
    T_ = (lambda a: npg.tensor(a, requires_grad=requires_grad)) if m is npg else \
        (lambda a: torch.tensor(a, requires_grad=requires_grad))
    x0, t0 = np.arange(6.0).reshape(2, 3), np.linspace(-1, 1, 6).reshape(2, 3)
    v0, tv0 = np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3])
    with fwm.dual_level():
        x = fwm.make_dual(T_(x0), T_(t0)) * 1.0   # a non-leaf
        v = fwm.make_dual(T_(v0), T_(tv0))
        row = x[1]                                 # a view taken before the writes
        x[0] = v * v
        x *= v
        x += 2.0
        row += 1                                   # a write through a view
        x[:, 1] = 0.0
        col = x[:, 2]
        col *= v[:2]
        x.sub_(v, alpha=0.5)
        out = [fwm.unpack_dual(t).tangent for t in (x, row, col)]
    return [o.detach().numpy() if m is torch else o.data for o in out]


@pytest.mark.parametrize("requires_grad", [False, True])
def test_inplace_tangents_follow_as_torch(requires_grad):
    for ours, theirs in zip(_writes(npg, fwAD, requires_grad), _writes(torch, tfwAD, requires_grad)):
        assert_close(ours, theirs)


def test_inplace_leaves_callers_tangent_alone():
    t = npg.tensor([1.0, 2.0], requires_grad=False)
    with fwAD.dual_level():
        x = fwAD.make_dual(npg.tensor([3.0, 4.0], requires_grad=False), t)
        x *= 2.0
        assert_close(fwAD.unpack_dual(x).tangent, np.array([2.0, 4.0]))
    assert_close(t, np.array([1.0, 2.0]))


# ------------------------------------------------------------------------------------ Functions and fallback
class _Cube(npg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * g

    @staticmethod
    def jvp(ctx, t):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * t


class _CubeNoJvp(npg.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x ** 3 * y, x + y

    @staticmethod
    def backward(ctx, g, h):
        x, y = ctx.saved_tensors
        return 3 * x ** 2 * y * g + h, x ** 3 * g + h


@pytest.mark.parametrize("requires_grad", [False, True])
def test_function_jvp_and_fallback(requires_grad):
    x0, y0, tx, ty = np.array([1.0, 2.0, -1.5]), np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, 2.0]), \
        np.array([-1.0, 0.3, 0.1])
    with fwAD.dual_level():
        x = fwAD.make_dual(npg.tensor(x0, requires_grad=requires_grad), tx)
        y = fwAD.make_dual(npg.tensor(y0, requires_grad=requires_grad), ty)
        fwAD.FALLBACK_OPS.clear()
        assert_close(fwAD.unpack_dual(_Cube.apply(x)).tangent, 3 * x0 ** 2 * tx)
        assert not fwAD.FALLBACK_OPS
        with pytest.warns(UserWarning, match="'_CubeNoJvp' has no JVP rule"):
            a, b = _CubeNoJvp.apply(x, y)
        assert_close(fwAD.unpack_dual(a).tangent, 3 * x0 ** 2 * y0 * tx + x0 ** 3 * ty)
        assert_close(fwAD.unpack_dual(b).tangent, tx + ty)
        assert a.requires_grad == requires_grad


def test_fallback_for_an_op_without_rule_is_exact_and_warns_once():
    """An op declared with a VJP only (as new ops may be): the transposed VJP, also under jacfwd(jacrev)."""
    from npgrad.tensor import _make

    def cube(x):
        return _make(x.data ** 3, "test_cube", (x,), (x.data,), (lambda g, y, x: 3 * x * x * g,))
    x0, t0 = np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, 2.0])
    fwAD.FALLBACK_OPS.discard("test_cube")
    with pytest.warns(UserWarning, match="'test_cube' has no JVP rule"):
        _, jv = func.jvp(cube, (x0,), (t0,))
    assert_close(jv, 3 * x0 ** 2 * t0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only, and hessian's batched pass does not loop
        H = func.hessian(lambda x: npg.sum(cube(x)))(x0)
    assert_close(H, np.diag(6 * x0))
    x = npg.tensor(x0)
    _, jv = func.jvp(lambda x: npg.sum(cube(x)), (x,), (t0,))  # reverse over the fallback
    g, = npg.autograd.grad(jv, [x])
    assert_close(g, 6 * x0 * t0)
