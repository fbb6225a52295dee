"""npg.integrate: odeint against scipy.integrate.odeint and analytic solutions (values), gradients in y0, args,
closure parameters and t against finite differences of npgrad's own forward and analytic derivatives, the
adjoint gradient against backpropagation through the steps, rk4 against a hand-written NumPy RK4, solve_ivp
against SciPy's RK45 / RK23 (same steps), the quadrature rules against scipy.integrate (values) and torch
(gradients), edge cases and errors."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import integrate as I
from tests.helpers import assert_close, check_finite_difference

import scipy.integrate as si  # noqa: E402 (the test extra installs SciPy)

TIGHT = dict(rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------- the problems
def decay(y, t, k):
    return -k * y


def harmonic(y, t, w):
    return npg.stack([y[1], -w ** 2 * y[0]])


def lotka_volterra(y, t, a, b):
    return npg.stack([a * y[0] - b * y[0] * y[1], -y[1] + 0.5 * y[0] * y[1]])


def lotka_volterra_np(y, t, a, b):
    return [a * y[0] - b * y[0] * y[1], -y[1] + 0.5 * y[0] * y[1]]


_MLP = [np.random.default_rng(3).normal(scale=0.7, size=s) for s in [(8, 2), (8,), (2, 8), (2,)]]


def mlp(y, t, W1, b1, W2, b2):  # a small neural ODE: dy/dt = W2 tanh(W1 y + b1) + b2
    return W2 @ npg.tanh(W1 @ y + b1) + b2


def mlp_np(y, t, W1, b1, W2, b2):
    return W2 @ np.tanh(W1 @ y + b1) + b2


# ----------------------------------------------------------------------------------- odeint values
@pytest.mark.parametrize("name", ["decay", "harmonic", "lotka_volterra", "mlp"])
def test_odeint_matches_scipy(name):
    t = np.linspace(0.0, 4.0, 9)
    cases = {"decay": (decay, decay, np.array([1.0, -2.0, 0.5]), (0.7,)),
             "harmonic": (harmonic, lambda y, t, w: [y[1], -w ** 2 * y[0]], np.array([1.0, 0.3]), (1.3,)),
             "lotka_volterra": (lotka_volterra, lotka_volterra_np, np.array([1.0, 0.5]), (1.1, 0.4)),
             "mlp": (mlp, mlp_np, np.array([0.4, -0.8]), tuple(_MLP))}
    f, f_np, y0, args = cases[name]
    y = I.odeint(f, y0, t, args=args)
    ref = si.odeint(f_np, y0, t, args=args, rtol=1e-12, atol=1e-12)
    assert y.shape == (9,) + y0.shape and y.dtype == np.float64
    assert_close(y, ref, rtol=1e-6, atol=1e-7, what=name)
    assert_close(I.odeint(f, y0, t, args=args, method="rk4", h0=0.01), ref, rtol=1e-6, atol=1e-7)


def test_decay_against_the_analytic_solution_and_its_derivatives():
    y0, k = npg.tensor([1.5, -0.5]), npg.tensor(0.8)
    t = npg.tensor([0.0, 0.5, 1.0, 2.5])
    y = I.odeint(decay, y0, t, args=(k,), **TIGHT)
    tv = t.data[:, None]
    assert_close(y, y0.data * np.exp(-k.data * tv), rtol=1e-10)
    w = np.random.default_rng(0).normal(size=y.shape)
    (y * w).sum().backward()
    e = np.exp(-0.8 * tv)
    assert_close(y0.grad, (w * e).sum(0), rtol=1e-9)
    assert_close(k.grad, (w * -tv * y0.data * e).sum(), rtol=1e-9)
    # dy(t_k)/dt_k = f(y(t_k)) for k > 0; t_0 moves the start: dy(t_k)/dt_0 = -f(y(t_k)) for this autonomous f
    dydt = (w * -0.8 * y0.data * e).sum(1)
    assert_close(t.grad, np.concatenate([[-dydt[1:].sum()], dydt[1:]]), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("adjoint", [False, True])
@pytest.mark.parametrize("times", [[0.2, 0.5, 0.5, 1.0, 1.0, 1.5], [0.2, 0.2, 0.7], [1.5, 1.0, 1.0, 0.2]])
def test_gradient_in_repeated_times_against_the_analytic_solution(times, adjoint):
    # y' = -k t y: y(t) = y0 exp(-k (t^2 - t0^2) / 2); dy(t_j)/dt_j = -k t_j y(t_j), dy(t_j)/dt_0 = k t_0 y(t_j).
    # A time equal to the previous one took no step: its gradient was silently 0 and went to the previous time
    y0, k, t = npg.tensor([1.5, -0.5]), npg.tensor(0.8), npg.tensor(times)
    y = I.odeint(lambda y, t, k: -k * t * y, y0, t, args=(k,), adjoint=adjoint, **TIGHT)
    tv = np.array(times)[:, None]
    exact = y0.data * np.exp(-0.8 * (tv ** 2 - tv[0] ** 2) / 2)
    assert_close(y, exact, rtol=1e-9)
    w = np.random.default_rng(1).normal(size=y.shape)
    (y * w).sum().backward()
    dydt = (w * -0.8 * tv * exact).sum(1)
    dt0 = (w[1:] * 0.8 * tv[0] * exact[1:]).sum()
    assert_close(t.grad, np.concatenate([[dt0], dydt[1:]]), rtol=1e-7, atol=1e-9)


def test_second_derivative_through_the_steps():
    k = npg.tensor(0.6)
    y = I.odeint(decay, npg.tensor([2.0]), [0.0, 1.5], args=(k,), **TIGHT)[-1, 0]
    g, = npg.autograd.grad(y, k, create_graph=True)
    h, = npg.autograd.grad(g, k)
    assert_close(g, -1.5 * 2.0 * np.exp(-0.9), rtol=1e-9)
    assert_close(h, 1.5 ** 2 * 2.0 * np.exp(-0.9), rtol=1e-8)


# ----------------------------------------------------------------------------------- gradients
def test_lotka_volterra_gradients_against_finite_differences():
    def f(y0, a, b, t):
        return I.odeint(lotka_volterra, y0, t, args=(a, b), **TIGHT)
    check_finite_difference(f, [np.array([1.0, 0.5]), np.array(1.1), np.array(0.4), np.array([0.0, 1.0, 2.5])],
                            eps=1e-5, rtol=1e-6, atol=1e-8, what="lotka_volterra")


def test_neural_ode_gradients_against_finite_differences():
    def f(y0, W1, b1, W2, b2):
        return I.odeint(mlp, y0, np.linspace(0.0, 1.5, 4), args=(W1, b1, W2, b2), **TIGHT)
    check_finite_difference(f, [np.array([0.4, -0.8])] + _MLP, eps=1e-5, rtol=1e-6, atol=1e-8, what="mlp")


def test_rk4_matches_a_numpy_rk4_and_its_gradient():
    def rk4_np(f, y, ts, n, args):
        out = [y]
        for t0, t1 in zip(ts[:-1], ts[1:]):
            h = (t1 - t0) / n
            for i in range(n):
                t = t0 + i * h
                k1 = np.array(f(y, t, *args))
                k2 = np.array(f(y + h / 2 * k1, t + h / 2, *args))
                k3 = np.array(f(y + h / 2 * k2, t + h / 2, *args))
                k4 = np.array(f(y + h * k3, t + h, *args))
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            out.append(y)
        return np.array(out)
    ts = np.array([0.0, 0.3, 1.0, 1.7])
    y0 = np.array([1.0, 0.5])
    got = I.odeint(lotka_volterra, y0, ts, args=(1.1, 0.4), method="rk4")  # one step per interval
    assert_close(got, rk4_np(lotka_volterra_np, y0, ts, 1, (1.1, 0.4)), rtol=1e-13)
    got = I.odeint(lotka_volterra, y0, ts[1:3], args=(1.1, 0.4), method="rk4", h0=0.1)  # ceil(0.7 / 0.1) = 7 steps
    assert_close(got, rk4_np(lotka_volterra_np, y0, ts[1:3], 7, (1.1, 0.4)), rtol=1e-13)
    back = ts[:0:-1]  # 1.7, 1.0, 0.3: 3 steps of -0.7 / 3 each with h0 = 0.25
    got = I.odeint(lotka_volterra, y0, back, args=(1.1, 0.4), method="rk4", h0=0.25)
    assert_close(got, rk4_np(lotka_volterra_np, y0, back, 3, (1.1, 0.4)), rtol=1e-13)
    check_finite_difference(lambda y, a, t: I.odeint(lotka_volterra, y, t, args=(a, 0.4), method="rk4", h0=0.2),
                            [y0, np.array(1.1), ts], eps=1e-6, rtol=1e-7, what="rk4")


# ----------------------------------------------------------------------------------- the adjoint
def _grads(adjoint, f, y0, t, args, **kw):
    y0 = npg.tensor(y0)
    t = npg.tensor(t)
    args = tuple(npg.tensor(a) for a in args)
    y = I.odeint(f, y0, t, args=args, adjoint=adjoint, **kw)
    w = np.random.default_rng(5).normal(size=y.shape)
    (y * w).sum().backward()
    return y, [y0.grad, t.grad] + [a.grad for a in args]


@pytest.mark.parametrize("t", [np.array([0.0, 0.7, 2.0]), np.array([1.5, 0.2, -0.5])], ids=["increasing", "decreasing"])
def test_adjoint_gradient_matches_direct(t):
    y_d, direct = _grads(False, lotka_volterra, [1.0, 0.5], t, [1.1, 0.4], rtol=1e-10, atol=1e-10)
    y_a, adj = _grads(True, lotka_volterra, [1.0, 0.5], t, [1.1, 0.4], rtol=1e-10, atol=1e-10)
    assert_close(y_a, y_d, rtol=0, atol=0)
    for d, a in zip(direct, adj):
        assert_close(a, d, rtol=1e-7, atol=1e-8)


def test_adjoint_with_module_parameters_from_a_closure():
    rng = np.random.default_rng(7)
    net = npg.nn.Sequential(npg.nn.Linear(2, 6), npg.nn.Tanh(), npg.nn.Linear(6, 2))
    for p in net.parameters():
        p.data = rng.normal(scale=0.5, size=p.shape)
    scale = npg.tensor(0.9)

    def run(adjoint):
        for p in list(net.parameters()) + [scale]:
            p.grad = None
        y0 = npg.tensor([0.3, -0.6])
        y = I.odeint(lambda y, t, s: s * net(y), y0, np.linspace(0, 1.0, 3), args=(scale,), adjoint=adjoint,
                     rtol=1e-10, atol=1e-10)
        (y ** 2).sum().backward()
        return [y0.grad, scale.grad] + [p.grad for p in net.parameters()]
    for d, a in zip(run(False), run(True)):
        assert a is not None
        assert_close(a, d, rtol=1e-7, atol=1e-9)


def test_adjoint_is_not_differentiated_twice():
    k = npg.tensor(0.5)
    y = I.odeint(decay, npg.tensor([1.0]), [0.0, 1.0], args=(k,), adjoint=True)
    with pytest.raises(RuntimeError, match="adjoint"):
        npg.autograd.grad(y.sum(), k, create_graph=True)


# ----------------------------------------------------------------------------------- edge cases
def test_one_time_returns_y0_with_its_gradient():
    y0 = npg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    for adjoint in (False, True):
        y0.grad = None
        y = I.odeint(decay, y0, [0.5], args=(1.0,), adjoint=adjoint)
        assert y.shape == (1, 2, 3)
        assert_close(y[0], y0.data, rtol=0, atol=0)
        y.sum().backward()
        assert_close(y0.grad, np.ones((2, 3)))


def test_shapes_dtypes_tfirst_and_decreasing_t():
    t = np.array([2.0, 1.0, 0.0])
    y = I.odeint(decay, 1.0, t, args=(0.5,))                    # 0-d y0, decreasing t
    assert y.shape == (3,)
    assert_close(y, np.exp(-0.5 * (t - 2.0)), rtol=1e-7)
    y0 = np.arange(6.0).reshape(2, 3)
    y = I.odeint(lambda t, y, k: -k * y, y0, [0.0, 1.0], args=(0.3,), tfirst=True)
    assert y.shape == (2, 2, 3)
    assert_close(y[1], y0 * np.exp(-0.3), rtol=1e-7)
    y32 = npg.tensor(np.array([1.0, 0.5], np.float32))
    out = I.odeint(lotka_volterra, y32, np.linspace(0, 1, 3), args=(1.1, 0.4), rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32
    out.sum().backward()
    assert y32.grad.dtype == np.float32
    ref = si.odeint(lotka_volterra_np, [1.0, 0.5], np.linspace(0, 1, 3), args=(1.1, 0.4))
    assert_close(out, ref, rtol=1e-4, atol=1e-5)
    assert I.odeint(decay, np.array([1, 2]), [0.0, 1.0], args=(1.0,)).dtype == np.float64


def test_func_may_return_a_list_of_scalars_as_scipy_s():
    w = npg.tensor(1.3)
    y = I.odeint(lambda y, t: [y[1], -w ** 2 * y[0]], [1.0, 0.0], [0.0, 1.0], **TIGHT)
    assert_close(y[1], [np.cos(1.3), -1.3 * np.sin(1.3)], rtol=1e-10)
    y[1, 0].backward()
    assert_close(w.grad, -np.sin(1.3), rtol=1e-9)


def test_full_output_and_nested_args():
    W = [npg.tensor(a) for a in _MLP]
    y, info = I.odeint(lambda y, t, p: mlp(y, t, *p), [0.4, -0.8], [0.0, 0.5, 1.0], args=(W,), full_output=True)
    assert {"nfe", "nst", "nrej", "hu", "tcur", "message"} <= set(info)
    assert info["nfe"].shape == (2,) and info["nfe"][-1] > info["nfe"][0] > 0 and info["nst"][-1] > 0
    assert_close(info["tcur"], [0.5, 1.0])
    y.sum().backward()
    assert all(w.grad is not None and w.grad.shape == w.shape for w in W)


def test_excess_work_warns_and_fills_nan():
    with pytest.warns(I.ODEintWarning, match="odeint: excess work"):
        y = I.odeint(harmonic, [1.0, 0.0], [0.0, 1.0, 50.0], args=(1.0,), mxstep=20)
    assert np.isfinite(y.data[:2]).all() and np.isnan(y.data[2]).all()


def test_errors_name_odeint():
    with pytest.raises(ValueError, match=r"odeint: t must be monotonic.*t\[1\]"):
        I.odeint(decay, [1.0], [0.0, 1.0, 0.5], args=(1.0,))
    with pytest.raises(ValueError, match=r"odeint: func returned dy/dt of shape \(3,\) for a state y of shape \(2,\)"):
        I.odeint(lambda y, t: npg.concatenate([y, y[:1]]), [1.0, 2.0], [0.0, 1.0])
    with pytest.raises(TypeError, match="odeint.*Dfun.*LSODA"):
        I.odeint(decay, [1.0], [0.0, 1.0], args=(1.0,), Dfun=None)
    with pytest.raises(ValueError, match="odeint: method"):
        I.odeint(decay, [1.0], [0.0, 1.0], args=(1.0,), method="euler")
    with pytest.raises(ValueError, match="odeint: t must be a 1-D"):
        I.odeint(decay, [1.0], [], args=(1.0,))
    with pytest.raises(TypeError, match="odeint: args must be a tuple"):
        I.odeint(decay, [1.0], [0.0, 1.0], args=1.0)


# ----------------------------------------------------------------------------------- solve_ivp
@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853"])
@pytest.mark.parametrize("t_eval", [None, np.linspace(0.0, 6.0, 7)], ids=["steps", "t_eval"])
def test_solve_ivp_matches_scipy(method, t_eval):
    def fun(t, y, a, b):
        return lotka_volterra(y, t, a, b)
    r = I.solve_ivp(fun, (0.0, 6.0), np.array([1.0, 0.5]), method=method, t_eval=t_eval, args=(1.1, 0.4))
    s = si.solve_ivp(lambda t, y, a, b: lotka_volterra_np(y, t, a, b), (0.0, 6.0), [1.0, 0.5], method=method,
                     t_eval=t_eval, args=(1.1, 0.4))
    assert r.success and r.status == 0 and r.message == s.message and r.nfev == s.nfev
    assert_close(r.t, s.t, rtol=1e-12)
    assert r.y.shape == s.y.shape
    assert_close(r.y, s.y, rtol=1e-10, atol=1e-12)


def test_solve_ivp_gradient_and_backwards_span():
    def f(y0, a):
        return I.solve_ivp(lambda t, y: lotka_volterra(y, t, a, 0.4), (0.0, 2.0), y0, rtol=1e-11, atol=1e-11,
                           t_eval=[0.5, 2.0]).y
    check_finite_difference(f, [np.array([1.0, 0.5]), np.array(1.1)], eps=1e-5, rtol=1e-6, what="solve_ivp")
    r = I.solve_ivp(lambda t, y: -y, (1.0, 0.0), np.array([1.0]), rtol=1e-8, atol=1e-10)
    assert r.t[-1] == 0.0
    assert_close(r.y[0, -1], np.e, rtol=1e-6)
    with pytest.raises(ValueError, match="solve_ivp: y0 must be 1-dimensional"):
        I.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones((2, 2)))
    with pytest.raises(ValueError, match="solve_ivp: values in t_eval are not within"):
        I.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(2), t_eval=[0.5, 2.0])
    with pytest.raises(NotImplementedError, match="solve_ivp: method 'LSODA' .ODEPACK's automatic stiffness"):
        I.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(2), method="LSODA")
    with pytest.raises(ValueError, match="solve_ivp: method must be 'RK45', 'RK23', 'DOP853', 'Radau' or 'BDF'"):
        I.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(2), method="rk4")


@pytest.mark.parametrize("rtol", [1e-3, 1e-9])
def test_solve_ivp_dop853_matches_scipy_and_its_gradient(rtol):
    # a neural ODE over a long span: many steps, rejected ones too; the dense output's 3 extra stages counted
    args = tuple(_MLP)
    kw = dict(method="DOP853", rtol=rtol, atol=rtol * 1e-3, t_eval=np.linspace(0.0, 10.0, 7), dense_output=True)
    r = I.solve_ivp(lambda t, y, *p: mlp(y, t, *p), (0.0, 10.0), np.array([0.4, -0.8]), args=args, **kw)
    s = si.solve_ivp(lambda t, y, *p: mlp_np(y, t, *p), (0.0, 10.0), [0.4, -0.8], args=args, **kw)
    assert (r.status, r.nfev) == (s.status, s.nfev) and len(r.sol.ts) == len(s.sol.ts)
    assert_close(r.sol.ts, s.sol.ts, rtol=1e-12)
    assert_close(r.y, s.y, rtol=1e-10, atol=1e-12)
    tt = np.linspace(0.0, 10.0, 23)
    assert_close(r.sol(tt), s.sol(tt), rtol=1e-10, atol=1e-12)

    def f(y0, w):
        r = I.solve_ivp(lambda t, y: mlp(y, t, w, *args[1:]), (0.0, 3.0), y0, method="DOP853", rtol=1e-10,
                        atol=1e-12, t_eval=[1.0, 3.0], dense_output=True)
        return npg.concatenate([r.y.reshape(-1), r.sol(np.array([0.3, 2.2])).reshape(-1)])
    if rtol == 1e-9:
        check_finite_difference(f, [np.array([0.4, -0.8]), _MLP[0]], eps=1e-6, rtol=1e-6, what="DOP853")


def van_der_pol(t, y, mu):
    return npg.stack([y[1], mu * ((1 - y[0] ** 2) * y[1]) - y[0]])


def van_der_pol_np(t, y, mu):
    return [y[1], mu * ((1 - y[0] ** 2) * y[1]) - y[0]]


def robertson(t, y, k1):
    return npg.stack([-k1 * y[0] + 1e4 * y[1] * y[2], k1 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                      3e7 * y[1] ** 2])


def robertson_np(t, y, k1):
    return [-k1 * y[0] + 1e4 * y[1] * y[2], k1 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2]


def robertson_jac(t, y, k1):
    return np.array([[-k1, 1e4 * y[2], 1e4 * y[1]], [k1, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


@pytest.mark.parametrize("method", ["Radau", "BDF"])
def test_solve_ivp_implicit_methods_match_scipy_on_stiff_problems(method):
    # Van der Pol (mu = 10) with finite-difference Jacobians (SciPy's num_jac), dense output
    kw = dict(method=method, args=(10.0,), dense_output=True)
    r = I.solve_ivp(van_der_pol, (0.0, 20.0), np.array([2.0, 0.0]), **kw)
    s = si.solve_ivp(van_der_pol_np, (0.0, 20.0), [2.0, 0.0], **kw)
    assert (r.status, r.nfev, r.njev, r.nlu) == (s.status, s.nfev, s.njev, s.nlu) and r.t.shape == s.t.shape
    # the same steps (Radau: up to the rounding of its complex solves, amplified over 100 steps)
    k = 1e5 if method == "Radau" else 1.0
    assert_close(r.t, s.t, rtol=1e-12 * k)
    assert_close(r.y, s.y, rtol=1e-11 * k, atol=1e-11 * k)
    tt = np.linspace(0.0, 20.0, 31)
    assert_close(r.sol(tt), s.sol(tt), rtol=1e-11 * k, atol=1e-11 * k)
    # Robertson's chemistry over 1e5 s, with an analytic jac (getting args), t_eval and a terminal event
    def half(t, y, k1):
        return y[2] - 0.5
    half.terminal = True
    kw = dict(method=method, args=(0.04,), rtol=1e-6, atol=1e-10, jac=robertson_jac, events=half,
              t_eval=np.logspace(-3, 5, 9))
    r = I.solve_ivp(robertson, (0.0, 1e5), np.array([1.0, 0.0, 0.0]), **kw)
    s = si.solve_ivp(robertson_np, (0.0, 1e5), [1.0, 0.0, 0.0], **kw)
    assert (r.status, r.nfev, r.njev, r.nlu, r.message) == (s.status, s.nfev, s.njev, s.nlu, s.message)
    assert_close(r.t, s.t)
    assert_close(r.y, s.y, rtol=1e-9, atol=1e-14)
    assert_close(r.t_events[0], s.t_events[0], rtol=1e-9)
    assert_close(r.y_events[0], s.y_events[0], atol=1e-12)
    with pytest.raises(ValueError, match=r"solve_ivp: jac is expected to have shape \(3, 3\)"):
        I.solve_ivp(robertson, (0.0, 1.0), np.array([1.0, 0.0, 0.0]), method=method, args=(0.04,), jac=np.eye(2))


@pytest.mark.parametrize("method", ["Radau", "BDF"])
def test_solve_ivp_implicit_methods_gradient(method):
    # through the steps by the implicit function theorem on the stage (Radau) or corrector (BDF) equations:
    # y(t_eval), sol(t), and the parameter read by fun
    def f(y0, mu):
        r = I.solve_ivp(van_der_pol, (0.0, 1.0), y0, method=method, args=(mu,), rtol=1e-9, atol=1e-11,
                        t_eval=[0.6, 1.0], dense_output=True)
        return npg.concatenate([r.y.reshape(-1), r.sol(np.array([0.3, 0.8])).reshape(-1)])
    check_finite_difference(f, [np.array([2.0, 0.0]), np.array(5.0)], eps=1e-4, rtol=1e-6, what=method)
    # y' = -k y (stiff for large k): y(1) = y0 e^-k
    k, y0 = npg.tensor(50.0, requires_grad=True), npg.tensor([1.5], requires_grad=True)
    r = I.solve_ivp(lambda t, y: -k * y, (0.0, 0.2), y0, method=method, rtol=1e-8, atol=1e-14)
    r.y[0, -1].backward()
    assert_close(r.y[0, -1], 1.5 * np.exp(-10.0), rtol=1e-6)
    assert_close(y0.grad, [np.exp(-10.0)], rtol=1e-5)
    assert_close(k.grad, -0.2 * 1.5 * np.exp(-10.0), rtol=1e-5)
    # a fun computed from NumPy values cannot be differentiated through the implicit steps: a clear error, not a
    # gradient that ignores it (without a gradient to form, it solves)
    with pytest.raises(RuntimeError, match=f"solve_ivp .method '{method}'.: fun's dy/dt does not depend on y"):
        I.solve_ivp(lambda t, y: [-float(y[0].item())], (0.0, 1.0), y0, method=method)
    with npg.no_grad():
        r = I.solve_ivp(lambda t, y: [-float(y[0].item())], (0.0, 1.0), y0, method=method, rtol=1e-8, atol=1e-10)
    assert_close(r.y[0, -1], 1.5 * np.exp(-1.0), rtol=1e-6)
    # first derivatives only: a second derivative would miss the Jacobians' dependence, so it is refused
    r = I.solve_ivp(lambda t, y: -k * y, (0.0, 0.2), y0, method=method)
    with pytest.raises(RuntimeError, match=f"gradient of a {method} step .* cannot be differentiated again"):
        npg.autograd.grad(r.y[0, -1], [k], create_graph=True)


def _lv_events():
    def cross(t, y, a, b):            # both directions
        return y[0] - 1.5

    def falling(t, y, a, b):
        return y[1] - 1.0
    falling.direction = -1

    def second(t, y, a, b):           # terminal on its second zero (SciPy's integer terminal)
        return y[0] - 0.6
    second.terminal = 2
    return [cross, falling, second]


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF"])
@pytest.mark.parametrize("t_eval", [None, np.linspace(0.0, 12.0, 13)], ids=["steps", "t_eval"])
@pytest.mark.parametrize("span", [(0.0, 12.0), (0.0, -5.0)], ids=["forward", "backward"])
def test_solve_ivp_dense_output_and_events_match_scipy(method, t_eval, span):
    if t_eval is not None and span[1] < 0:
        t_eval = -t_eval[:6]
    def fun(t, y, a, b):
        return lotka_volterra(y, t, a, b)
    kw = dict(method=method, t_eval=t_eval, args=(1.1, 0.4), dense_output=True, events=_lv_events())
    r = I.solve_ivp(fun, span, np.array([1.0, 0.5]), **kw)
    s = si.solve_ivp(lambda t, y, a, b: lotka_volterra_np(y, t, a, b), span, [1.0, 0.5], **kw)
    assert (r.status, r.message, r.nfev, r.success) == (s.status, s.message, s.nfev, s.success)
    # Radau's complex linear solves round differently from SciPy's LAPACK by an ulp, amplified over the steps
    k = 1e4 if method == "Radau" else 1.0
    assert_close(r.t, s.t, rtol=1e-12 * k, atol=1e-12 * k)
    assert_close(r.y, s.y, rtol=1e-10 * k, atol=1e-12 * k)
    assert len(r.t_events) == len(s.t_events) == 3
    for te, ye, ste, sye in zip(r.t_events, r.y_events, s.t_events, s.y_events):
        assert te.shape == ste.shape and ye.shape == (len(ste), 2)
        if ste.size:
            assert_close(te, ste, rtol=1e-12 * k, atol=1e-13 * k)
            assert_close(ye, sye, rtol=1e-10 * k, atol=1e-12 * k)
    lo, hi = sorted(span)
    tt = np.random.default_rng(0).uniform(lo, hi, 40)          # unsorted, and beyond a terminal event (where the
    # last step's polynomial is extrapolated, amplifying rounding differences)
    assert_close(r.sol(tt), s.sol(tt), rtol=1e-9 * k, atol=1e-10 * k)
    t1 = 0.5 * (s.sol.ts[1] + s.sol.ts[2])
    assert_close(r.sol(t1), s.sol(t1), rtol=1e-12 * k, atol=1e-13 * k)
    assert_close(r.sol.ts, s.sol.ts, rtol=1e-12 * k, atol=1e-13 * k)
    assert isinstance(r.sol, I.OdeSolution)
    assert_close([r.sol.t_min, r.sol.t_max], [s.sol.t_min, s.sol.t_max], rtol=1e-12 * k, atol=1e-13 * k)
    assert_close(r.sol(s.sol.ts), s.sol(s.sol.ts), rtol=1e-12 * k, atol=1e-13 * k)   # breakpoints: BDF's segments
    assert r.sol(np.zeros(0)).shape == (2, 0)   # (SciPy fails on no times)


def test_solve_ivp_event_time_and_state_gradients():
    # the event's time depends on y0, on a (through the solution) and on c (directly): implicit differentiation
    def run(y0, a, c, what):
        def hit(t, y, a):
            return y[0] - c * (1 + 0.1 * t)
        hit.terminal = True
        r = I.solve_ivp(lambda t, y, a: lotka_volterra(y, t, a, 0.4), (0.0, 12.0), y0, args=(a,), events=hit,
                        rtol=1e-10, atol=1e-12, dense_output=True)
        assert r.status == 1 and r.t[-1] == r.t_events[0].item()
        return {"t": r.t_events[0], "ye": r.y_events[0], "y": r.y[:, -1], "sol": r.sol(np.array([0.3, 0.1]))}[what]
    for what in ["t", "ye", "y", "sol"]:
        check_finite_difference(lambda y0, a, c: run(y0, a, c, what), [np.array([1.0, 0.5]), np.array(1.1),
                                np.array(1.5)], eps=1e-6, rtol=1e-6, what=what)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF"])
def test_solve_ivp_event_time_gradient_against_the_analytic_one(method):
    # y' = -k y from 1, event y = c (a terminal one): t* = log(1/c) / k, and y(t*) = c
    k, c = npg.tensor(0.7, requires_grad=True), npg.tensor(0.25, requires_grad=True)
    def level(t, y):
        return y[0] - c
    level.terminal = True
    tol = dict(rtol=1e-10, atol=1e-12) if method != "RK23" else dict(rtol=1e-7, atol=1e-9)
    r = I.solve_ivp(lambda t, y: -k * y, (0.0, 5.0), np.array([1.0]), method=method, events=level, **tol)
    t_star = r.t_events[0][0]
    acc = {"RK23": 1e-5, "BDF": 1e-6}.get(method, 1e-7)  # the low-order interpolants are the least accurate
    assert_close(t_star, np.log(4.0) / 0.7, rtol=acc)
    (t_star + 10 * r.y[0, -1]).backward()                # y at the event is c: its gradient is (0, 1)
    assert_close(k.grad, -np.log(4.0) / 0.49, rtol=10 * acc)
    assert_close(c.grad, -1 / (0.25 * 0.7) + 10, rtol=10 * acc)
    r = I.solve_ivp(lambda t, y: -k * y, (0.0, 5.0), np.array([1.0]), method=method, events=level)
    with pytest.raises(RuntimeError, match="gradient of an event time .* cannot be differentiated again"):
        npg.autograd.grad(r.t_events[0][0], [c], create_graph=True)


def test_solve_ivp_events_edge_cases_and_errors():
    def zero_at_one(t, y):
        return t - 1.0
    zero_at_one.terminal = True
    r = I.solve_ivp(lambda t, y: -y, (0.0, 3.0), np.array([1.0]), events=zero_at_one, t_eval=[0.5, 1.0, 2.0])
    s = si.solve_ivp(lambda t, y: -y, (0.0, 3.0), np.array([1.0]), events=zero_at_one, t_eval=[0.5, 1.0, 2.0])
    assert r.status == s.status == 1 and r.message == s.message
    assert_close(r.t, s.t, rtol=1e-14)
    assert_close(r.y, s.y, rtol=1e-12)
    for span in [(0.0, 0.0), (0.0, 1.0)]:   # a zero-length span, an empty state: one step that does not move
        y0 = np.ones(1) if span[1] == 0 else np.zeros(0)
        r = I.solve_ivp(lambda t, y: -y, span, y0, dense_output=True)
        s = si.solve_ivp(lambda t, y: -y, span, y0, dense_output=True)
        assert_close(r.t, s.t)
        assert r.y.shape == s.y.shape and r.nfev == s.nfev
        assert r.sol(0.0).shape == s.sol(0.0).shape
    with pytest.raises(ValueError, match=r"terminal attribute of events\[0\]"):
        bad = lambda t, y: y[0]  # noqa: E731
        bad.terminal = 1.5
        I.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(2), events=[bad])
    with pytest.raises(ValueError, match=r"events\[1\] must return a number, it returned shape \(2,\)"):
        I.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(2), events=[lambda t, y: y[0], lambda t, y: y])


def test_brentq_matches_scipy():
    from scipy.optimize import brentq as sp_brentq
    from npgrad.ops._ode_ivp import brentq, EPS
    for f, a, b in [(lambda x: x ** 3 - 2, 0.0, 3.0), (np.cos, 0.0, 3.0), (lambda x: np.exp(x) - 5, -1.0, 4.0),
                    (lambda x: (x - 0.3) * (x * x + 1), 2.0, -1.0), (lambda x: x, 0.0, 1.0)]:
        assert brentq(f, a, b) == sp_brentq(f, a, b, xtol=4 * EPS, rtol=4 * EPS)
    with pytest.raises(RuntimeError, match="brentq: failed to converge"):   # as SciPy's
        brentq(lambda x: (x - 0.3) ** 5, 2.0, -1.0)


# ----------------------------------------------------------------------------------- quadrature
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("spacing", ["x1d", "xnd", "dx", "none"])
def test_quadrature_values_match_scipy(n, spacing):
    rng = np.random.default_rng(n)
    y = rng.normal(size=(3, n, 2))
    kw = {"x1d": dict(x=np.cumsum(rng.uniform(0.1, 1.0, n))),
          "xnd": dict(x=np.cumsum(rng.uniform(0.1, 1, (3, n, 2)), 1)), "dx": dict(dx=0.3), "none": {}}[spacing]
    assert_close(I.trapezoid(y, axis=1, **kw), si.trapezoid(y, axis=1, **kw), rtol=1e-12, atol=1e-14)
    assert_close(I.simpson(y, axis=1, **kw), si.simpson(y, axis=1, **kw), rtol=1e-12, atol=1e-14)
    for initial in (None, 0):
        assert_close(I.cumulative_trapezoid(y, axis=1, initial=initial, **kw),
                     si.cumulative_trapezoid(y, axis=1, initial=initial, **kw), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_gradients_match_torch(name, dtype):
    rng = np.random.default_rng(4)
    y, x = rng.normal(size=(4, 6)).astype(dtype), np.cumsum(rng.uniform(0.1, 1, 6)).astype(dtype)
    for with_x in (False, True):
        yn, xn = npg.tensor(y), npg.tensor(x)
        yt, xt = torch.tensor(y, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = getattr(I, name)(yn, xn, axis=-1) if with_x else getattr(I, name)(yn, dx=0.7, axis=-1)
        ref = getattr(torch, name)(yt, xt, dim=-1) if with_x else getattr(torch, name)(yt, dx=0.7, dim=-1)
        assert out.dtype == dtype
        assert_close(out, ref.detach().numpy())
        w = rng.normal(size=out.shape).astype(dtype)
        (out * w).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        assert_close(yn.grad, yt.grad.numpy())
        if with_x:
            assert_close(xn.grad, xt.grad.numpy())


@pytest.mark.parametrize("n", [3, 4, 6, 7])
def test_simpson_gradients_against_finite_differences(n):
    rng = np.random.default_rng(n)
    x = np.cumsum(rng.uniform(0.2, 1.0, n))
    check_finite_difference(lambda y, x: I.simpson(y, x, axis=0), [rng.normal(size=(n, 3)), x], what=f"simpson {n}")
    check_finite_difference(lambda y, dx: I.simpson(y, dx=dx), [rng.normal(size=(2, n)), np.array(0.3)])


def test_quadrature_dtypes_and_errors():
    assert I.simpson(np.ones(5, np.float32)).dtype == np.float32
    assert I.trapezoid(np.arange(4)).dtype == np.float64
    with pytest.raises(ValueError, match=r"trapezoid: the spacing does not match y of shape \(4,\)"):
        I.trapezoid(np.ones(4), np.arange(3.0))
    with pytest.raises(ValueError, match="cumulative_trapezoid: initial must be None or 0"):
        I.cumulative_trapezoid(np.ones(4), initial=1.0)
    with pytest.raises(ValueError, match="cumulative_trapezoid: at least one point"):
        I.cumulative_trapezoid(np.ones((2, 0)))
    with pytest.raises(ValueError, match="simpson: x of shape"):
        I.simpson(np.ones((2, 4)), np.ones((2, 2, 4)))


def test_namespace():
    assert npg.integrate is I and "integrate" in npg.__all__
    assert hasattr(si, "OdeSolution") and I.OdeSolution.__doc__
    for name in I.__all__:
        assert getattr(I, name).__doc__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(I.trapezoid([1.0, 2.0, 3.0]), 4.0)
