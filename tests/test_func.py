"""npg.func (grad, value_and_grad, vjp, jvp, jacrev/jacfwd/jacobian, hessian) against torch.func
and finite differences."""
import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import func
from tests.helpers import assert_close

tf = torch.func
TOL = dict(rtol=1e-7, atol=1e-9)


def T(a):
    return torch.tensor(np.asarray(a))


# Functions written once per library (npgrad, torch), of one or two arguments.
def rosen(m):
    return lambda x: m.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


FUNS = {
    "sin_poly": (lambda x: npg.sum(npg.sin(x) * x ** 2), lambda x: torch.sum(torch.sin(x) * x ** 2), [(4,)]),
    "rosenbrock": (rosen(npg), rosen(torch), [(5,)]),
    "logsumexp": (lambda x: npg.logsumexp(x * x), lambda x: torch.logsumexp(x * x, dim=(0, 1)), [(2, 3)]),
    "quadratic_form": (lambda x, A: x @ A @ x, lambda x, A: x @ A @ x, [(3,), (3, 3)]),
    "tanh_matmul": (lambda x, W: npg.sum(npg.tanh(W @ x) ** 2), lambda x, W: torch.sum(torch.tanh(W @ x) ** 2),
                    [(3,), (2, 3)]),
}


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("name", list(FUNS))
def test_grad_vs_torch(name):
    f, tfn, shapes = FUNS[name]
    args = _inputs(shapes)
    g = func.grad(f)(*args)
    assert isinstance(g, np.ndarray)  # NumPy in, NumPy out
    assert_close(g, tf.grad(tfn)(*map(T, args)).numpy(), **TOL)


@pytest.mark.parametrize("name", list(FUNS))
def test_hessian_vs_torch(name):
    f, tfn, shapes = FUNS[name]
    args = _inputs(shapes, seed=1)
    h = func.hessian(f)(*args)
    assert h.shape == shapes[0] + shapes[0]
    assert_close(h, tf.hessian(tfn)(*map(T, args)).numpy(), **TOL)


def test_hessian_and_grad_argnums_tuple():
    f, tfn, shapes = FUNS["tanh_matmul"]
    args = _inputs(shapes, seed=2)
    gx, gw = func.grad(f, argnums=(0, 1))(*args)
    tgx, tgw = tf.grad(tfn, argnums=(0, 1))(*map(T, args))
    assert_close(gx, tgx.numpy(), **TOL)
    assert_close(gw, tgw.numpy(), **TOL)
    H = func.hessian(f, argnums=(0, 1))(*args)
    TH = tf.hessian(tfn, argnums=(0, 1))(*map(T, args))
    for i in range(2):
        for j in range(2):
            assert_close(H[i][j], TH[i][j].numpy(), what=f"H[{i}][{j}]", **TOL)


# ------------------------------------------------------------------------ an MLP loss
def mlp_loss(m, params, X, y_onehot):
    h = m.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    if m is npg:
        logp = logits - npg.logsumexp(logits, axis=1, keepdims=True)
    else:
        logp = torch.log_softmax(logits, dim=1)
    return -m.sum(logp * y_onehot) / X.shape[0]


def _mlp_setup():
    rng = np.random.default_rng(3)
    params = {"W1": rng.standard_normal((3, 4)) * 0.5, "b1": rng.standard_normal(4) * 0.1,
              "W2": rng.standard_normal((4, 2)) * 0.5, "b2": rng.standard_normal(2) * 0.1}
    X = rng.standard_normal((6, 3))
    y = np.eye(2)[rng.integers(0, 2, 6)]
    return params, X, y


def test_mlp_loss_grad_and_hessian_dict_params():
    params, X, y = _mlp_setup()
    tparams = {k: T(v) for k, v in params.items()}
    f = lambda p: mlp_loss(npg, p, X, y)  # noqa: E731
    tfn = lambda p: mlp_loss(torch, p, T(X), T(y))  # noqa: E731
    g = func.grad(f)(params)
    tg = tf.grad(tfn)(tparams)
    assert set(g) == set(params)
    for k in params:
        assert_close(g[k], tg[k].numpy(), what=f"grad {k}", **TOL)
    H = func.hessian(f)(params)
    TH = tf.hessian(tfn)(tparams)
    for a in params:
        for b in params:
            assert H[a][b].shape == params[a].shape + params[b].shape
            assert_close(H[a][b], TH[a][b].numpy(), what=f"H[{a}][{b}]", **TOL)


def test_mlp_hessian_of_one_weight_matches_jacfwd_of_grad():
    params, X, y = _mlp_setup()
    f = lambda W1: mlp_loss(npg, dict(params, W1=W1), X, y)  # noqa: E731
    tparams = {k: T(v) for k, v in params.items()}
    tfn = lambda W1: mlp_loss(torch, dict(tparams, W1=W1), T(X), T(y))  # noqa: E731
    h = func.hessian(f)(params["W1"])
    assert h.shape == (3, 4, 3, 4)
    assert_close(h, tf.jacfwd(tf.jacrev(tfn))(T(params["W1"])).numpy(), **TOL)
    assert_close(func.jacfwd(func.grad(f))(params["W1"]), h, **TOL)


# ------------------------------------------------------------------------ jacobians
JAC_FUNS = {
    "elementwise": (lambda x: npg.tanh(x) * x, lambda x: torch.tanh(x) * x, [(4,)]),
    "slices": (lambda x: npg.tanh(x)[:3] * x[1:], lambda x: torch.tanh(x)[:3] * x[1:], [(4,)]),
    "matrix_out": (lambda x, W: npg.sin(W * x), lambda x, W: torch.sin(W * x), [(3,), (2, 3)]),
    "reduce": (lambda x: npg.cumprod(x, axis=0), lambda x: torch.cumprod(x, 0), [(3, 2)]),
    "scalar_in": (lambda x: npg.stack([x, x ** 2, npg.exp(x)]), lambda x: torch.stack([x, x ** 2, torch.exp(x)]),
                  [()]),
}


@pytest.mark.parametrize("mode", ["jacrev", "jacfwd", "jacobian"])
@pytest.mark.parametrize("name", list(JAC_FUNS))
def test_jacobian_vs_torch(name, mode):
    f, tfn, shapes = JAC_FUNS[name]
    args = _inputs(shapes, seed=4)
    J = getattr(func, mode)(f)(*args)
    TJ = tf.jacrev(tfn)(*map(T, args))
    assert J.shape == tuple(TJ.shape)
    assert_close(J, TJ.numpy(), **TOL)


def test_jacobian_argnums_and_tuple_outputs():
    f = lambda x, y: (x * y, npg.sum(npg.sin(x)))  # noqa: E731
    tfn = lambda x, y: (x * y, torch.sum(torch.sin(x)))  # noqa: E731
    x, y = _inputs([(3,), (3,)], seed=5)
    for mode in ("jacrev", "jacfwd"):
        J = getattr(func, mode)(f, argnums=(0, 1))(x, y)
        TJ = getattr(tf, mode)(tfn, argnums=(0, 1))(T(x), T(y))
        for k in range(2):
            for i in range(2):
                assert_close(J[k][i], TJ[k][i].numpy(), what=f"{mode} J[{k}][{i}]", **TOL)


# ---------------------------------------------------------------------- vjp and jvp
def test_vjp_vs_torch_and_reusable():
    f = lambda x, W: npg.tanh(W @ x)  # noqa: E731
    tfn = lambda x, W: torch.tanh(W @ x)  # noqa: E731
    x, W = _inputs([(3,), (2, 3)], seed=6)
    out, vjp_fn = func.vjp(f, x, W)
    tout, tvjp = tf.vjp(tfn, T(x), T(W))
    assert_close(out, tout.numpy(), **TOL)
    for seed in (0, 1):  # callable many times
        v = np.random.default_rng(seed).standard_normal(2)
        gx, gw = vjp_fn(v)
        tgx, tgw = tvjp(T(v))
        assert_close(gx, tgx.numpy(), **TOL)
        assert_close(gw, tgw.numpy(), **TOL)


def test_vjp_has_aux_and_tuple_output():
    f = lambda x: ((npg.sin(x), x * 2), {"norm": npg.sum(x * x)})  # noqa: E731
    x = _inputs([(3,)])[0]
    (s, d), vjp_fn, aux = func.vjp(f, x, has_aux=True)
    assert_close(aux["norm"], np.sum(x * x))
    gx, = vjp_fn((np.ones(3), np.full(3, 0.5)))
    assert_close(gx, np.cos(x) + 1.0, **TOL)


JVP_FUNS = [
    lambda x: npg.tanh(x) * x,
    lambda x: npg.sum(npg.exp(x) * x, axis=0),
    lambda x: npg.logsumexp(x, axis=1) + npg.max(x, axis=0)[:2],
    lambda x: (x @ x.T)[0],
    lambda x: npg.sqrt(x * x + 1.0)[::2, 1],
]


@pytest.mark.parametrize("k", range(len(JVP_FUNS)))
def test_jvp_vs_finite_differences(k):
    f = JVP_FUNS[k]
    rng = np.random.default_rng(k)
    x = rng.standard_normal((2, 3))
    t = rng.standard_normal((2, 3))
    value, jv = func.jvp(f, (x,), (t,))
    eps = 1e-6
    with npg.no_grad():
        fd = (f(npg.tensor(x + eps * t)).data - f(npg.tensor(x - eps * t)).data) / (2 * eps)
    assert_close(value, f(npg.tensor(x)).data, **TOL)
    assert_close(jv, fd, rtol=1e-6, atol=1e-8)


def test_jvp_vs_torch_two_args():
    f = lambda x, y: npg.sin(x) * y ** 2  # noqa: E731
    tfn = lambda x, y: torch.sin(x) * y ** 2  # noqa: E731
    x, y, tx, ty = _inputs([(3,), (3,), (3,), (3,)], seed=8)
    _, jv = func.jvp(f, (x, y), (tx, ty))
    _, tjv = tf.jvp(tfn, (T(x), T(y)), (T(tx), T(ty)))
    assert_close(jv, tjv.numpy(), **TOL)


# ---------------------------------------------------------------------- composition
def test_nested_grads_of_sin():
    x = 0.7
    d = func.grad
    assert_close(d(lambda x: npg.sin(x))(x), np.cos(x))
    assert_close(d(d(lambda x: npg.sin(x)))(x), -np.sin(x))
    assert_close(d(d(d(lambda x: npg.sin(x))))(x), -np.cos(x))
    assert_close(d(d(d(d(lambda x: npg.sin(x)))))(x), np.sin(x))


def test_no_perturbation_confusion():
    # d/dx [ x * (d/dy x*y)(x) ] = d/dx x^2 = 2x ; confusing the two levels gives 4x
    f = lambda x: x * func.grad(lambda y: x * y)(x)  # noqa: E731
    assert_close(func.grad(f)(1.5), 3.0)
    tg = tf.grad(lambda x: x * tf.grad(lambda y: x * y)(x))(torch.tensor(1.5, dtype=torch.float64))
    assert_close(func.grad(f)(1.5), tg.numpy())


def test_grad_of_closure_keeps_outer_graph():
    w = npg.tensor([0.5, -1.0, 2.0])
    x = np.array([1.0, 2.0, 3.0])
    g = func.grad(lambda x: npg.sum(x * x * w))(x)  # 2 x w: depends on w
    assert isinstance(g, npg.Tensor) and g.requires_grad
    npg.sum(g).backward()
    assert_close(w.grad, 2 * x)


def test_grad_with_autograd_backward_through_tensor_input():
    x = npg.tensor([0.3, 0.9])
    g = func.grad(lambda x: npg.sum(npg.sin(x)))(x)   # cos(x), differentiable w.r.t. x
    assert isinstance(g, npg.Tensor)
    npg.sum(g).backward()
    assert_close(x.grad, -np.sin(x.data))
    with npg.no_grad():
        g2 = func.grad(lambda x: npg.sum(npg.sin(x)))(x)  # transforms still differentiate under no_grad
    assert not g2.requires_grad
    assert_close(g2, np.cos(x.data))


def test_value_and_grad_and_has_aux():
    f = lambda x: (npg.sum(x ** 2), x * 3)  # noqa: E731
    x = np.array([1.0, -2.0])
    (v, aux), g = func.value_and_grad(f, has_aux=True)(x)
    assert_close(v, 5.0)
    assert_close(aux, x * 3)
    assert_close(g, 2 * x)
    g2, (v2, aux2) = func.grad_and_value(f, has_aux=True)(x)
    assert_close(g2, g)
    assert_close(v2, v)
    g3, aux3 = func.grad(f, has_aux=True)(x)
    assert_close(g3, g)
    assert_close(aux3, aux)
    v4, g4 = func.value_and_grad(lambda x: npg.sum(x ** 3))(npg.tensor(x))
    assert isinstance(v4, npg.Tensor) and isinstance(g4, npg.Tensor)


def test_unused_input_gets_zero_gradient_and_float32():
    g = func.grad(lambda x, y: npg.sum(x * 2), argnums=1)(np.ones(2), np.ones(3))
    assert_close(g, np.zeros(3))
    x32 = np.array([0.5, 1.0], dtype=np.float32)
    g32 = func.grad(lambda x: npg.sum(npg.exp(x)))(x32)
    assert g32.dtype == np.float32
    assert_close(g32, np.exp(x32))


def test_errors():
    with pytest.raises(RuntimeError, match="one-element"):
        func.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match="floating"):
        func.grad(lambda x: npg.sum(x))(np.arange(3))
    with pytest.raises(ValueError, match="argnums"):
        func.grad(lambda x: npg.sum(x), argnums=2)(np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        func.jvp(lambda x: x, (np.ones(3),), (np.ones(2),))
