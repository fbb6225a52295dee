"""Adamax, NAdam, RAdam, Adadelta, ASGD, Rprop and LBFGS against torch.optim: 25 steps agree to float64 precision
(every option), state dicts round-trip and load PyTorch's numbers, argument errors are PyTorch's."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import torch_default_float64  # noqa: F401  (a fixture)
import npgrad.nn as nn
import npgrad.optim as optim
from tests.test_optim import assert_params_equal, grad_of, make_params, run_both



OPTIMIZERS = [
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-4, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, betas=(0.3, 0.9), maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.85, 0.95), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1)),          # rho_t > 5 from step 6 on
    ("RAdam", dict(lr=0.02, weight_decay=0.3, decoupled_weight_decay=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),  # averaging starts at step 5
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=IDS)
def test_matches_torch_float64(name, kw, torch_default_float64):
    ps, tps, opt, topt = run_both(lambda p: getattr(optim, name)(p, foreach=False, **kw),
                                  lambda p: getattr(torch.optim, name)(p, foreach=False, **kw), steps=25)
    assert_params_equal(ps, tps)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd["state"]) == set(tsd["state"])
    for i in sd["state"]:
        assert set(sd["state"][i]) == set(tsd["state"][i])
        for k, v in sd["state"][i].items():
            np.testing.assert_allclose(v, tsd["state"][i][k].numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        tup = lambda v: tuple(v) if isinstance(v, list) else v
        assert set(g) == set(tg) and all(tup(g[k]) == tup(tg[k]) for k in g), (g, tg)


@pytest.mark.parametrize("name", ["NAdam", "ASGD"])
def test_scalar_state_rounds_as_torch_float32_default(name):
    """With both default dtypes float32, the 0-d scalar state is float32 in both, and float64 steps agree."""
    kw = dict(lr=0.05, t0=3, lambd=0.01) if name == "ASGD" else dict(lr=0.01)
    old = npg.get_default_dtype()
    npg.set_default_dtype(np.float32)
    try:
        ps, tps, opt, _ = run_both(lambda p: getattr(optim, name)(p, **kw),
                                   lambda p: getattr(torch.optim, name)(p, foreach=False, **kw), steps=25)
    finally:
        npg.set_default_dtype(old)
    assert_params_equal(ps, tps)
    key = "eta" if name == "ASGD" else "mu_product"
    v = opt.state_dict()["state"][0][key]
    assert v == float(np.float32(v)) and v != float(np.float64(v) + 1e-12)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Adadelta", "ASGD", "Rprop"])
def test_float32(name):
    ps, tps, _, _ = run_both(lambda p: getattr(optim, name)(p, lr=0.01),
                             lambda p: getattr(torch.optim, name)(p, lr=0.01, foreach=False), dtype=np.float32)
    assert all(p.dtype == np.float32 for p in ps)
    assert_params_equal(ps, tps, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kw", [OPTIMIZERS[i] for i in (1, 4, 8, 10, 12, 15)],
                         ids=[IDS[i] for i in (1, 4, 8, 10, 12, 15)])
def test_state_dict_round_trip_and_torch_state(name, kw, torch_default_float64):
    """12 steps, then (a) npgrad's own state dict, (b) torch's state dict (tensors) loaded into fresh
    optimizers; 13 more steps agree with 25 straight torch steps."""
    _, tps, _, _ = run_both(lambda p: getattr(optim, name)(p, **kw),
                            lambda p: getattr(torch.optim, name)(p, foreach=False, **kw), steps=25)
    ps, tps12, opt, topt = run_both(lambda p: getattr(optim, name)(p, **kw),
                                    lambda p: getattr(torch.optim, name)(p, foreach=False, **kw), steps=12)
    for source in (opt.state_dict(), topt.state_dict()):
        ps2 = [nn.Parameter(npg.tensor(p.data.copy())) for p in ps]
        opt2 = getattr(optim, name)(ps2, lr=123.0)
        opt2.load_state_dict(source)
        assert opt2.param_groups[0]["lr"] == kw.get("lr", opt.defaults["lr"])
        for step in range(12, 25):
            for i, p in enumerate(ps2):
                p.grad = grad_of(p.data, step, i)
            opt2.step()
        assert_params_equal(ps2, tps)
    sd = opt.state_dict()  # a snapshot: later steps do not change it
    before = {k: np.copy(v) for k, v in sd["state"][0].items()}
    for i, p in enumerate(ps):
        p.grad = grad_of(p.data, 12, i)
    opt.step()
    assert all(np.array_equal(before[k], sd["state"][0][k]) for k in before)


def test_argument_errors_as_torch():
    ps, _ = make_params()
    for name, kw in [("Adamax", dict(lr=-1)), ("NAdam", dict(momentum_decay=-1)), ("RAdam", dict(betas=(1.0, 0.9))),
                     ("Adadelta", dict(rho=1.5)), ("ASGD", dict(weight_decay=-1)), ("Rprop", dict(etas=(1.2, 0.5))),
                     ("Adamax", dict(eps=-1)), ("LBFGS", dict(lr=-1))]:
        with pytest.raises(ValueError):
            getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
        with pytest.raises(ValueError):
            getattr(optim, name)(ps, **kw)
    assert optim.NAdam(ps, capturable=True).param_groups[0]["capturable"] is True  # recorded, same update
    with pytest.raises(NotImplementedError, match=r"Rprop\(differentiable=True\)"):
        optim.Rprop(ps, differentiable=True)
    optim.Adamax(ps, foreach=True)  # accepted and ignored
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([dict(params=ps[:1]), dict(params=ps[1:])])
    with pytest.raises(ValueError, match="strong_wolfe"):
        optim.LBFGS(ps, line_search_fn="backtracking")


# ----------------------------------------------------------------------------------- LBFGS
def _rosenbrock_problem(seed=0):
    """A least-squares fit plus a Rosenbrock term: curved, with several parameters of different shapes."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((20, 4)), rng.standard_normal(20)
    W0, z0 = rng.standard_normal(4) * 0.5, np.array([-1.2, 1.0])
    return X, y, W0, z0


def _run_lbfgs(kw, steps, torch_side):
    X, y, W0, z0 = _rosenbrock_problem()
    if torch_side:
        W, z = torch.tensor(W0, requires_grad=True), torch.tensor(z0, requires_grad=True)
        Xt, yt = torch.tensor(X), torch.tensor(y)
        opt = torch.optim.LBFGS([W, z], **kw)
        f = lambda: ((Xt @ W - yt) ** 2).mean() + (1 - z[0]) ** 2 + 10 * (z[1] - z[0] ** 2) ** 2 + (W ** 4).sum()
    else:
        W, z = nn.Parameter(npg.tensor(W0)), nn.Parameter(npg.tensor(z0))
        opt = optim.LBFGS([W, z], **kw)
        f = lambda: ((X @ W - y) ** 2).mean() + (1 - z[0]) ** 2 + 10 * (z[1] - z[0] ** 2) ** 2 + (W ** 4).sum()
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss
    losses = [float(opt.step(closure)) for _ in range(steps)]
    return [np.array(W.detach().numpy() if torch_side else W.data), np.array(z.detach().numpy() if torch_side
                                                                             else z.data)], losses, calls[0], opt


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.5, max_iter=4, history_size=3),
                                dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", history_size=2, max_iter=5, max_eval=7),
                                dict(lr=0.2, max_iter=3, tolerance_change=1e-4, tolerance_grad=1e-3)],
                         ids=["default", "history3", "wolfe", "wolfe-short", "tolerances"])
def test_lbfgs_matches_torch(kw):
    """8 steps (up to 200 closure calls) agree to 1e-10; after 20 the iterates sit at the flat optimum, where the
    last-bit differences of BLAS dot products (NumPy's and PyTorch's) are no longer damped: 1e-8 there."""
    for steps, tol in ((8, 1e-10), (20, 1e-8)):
        ps, losses, calls, opt = _run_lbfgs(kw, steps, torch_side=False)
        tps, tlosses, tcalls, topt = _run_lbfgs(kw, steps, torch_side=True)
        assert calls == tcalls
        np.testing.assert_allclose(losses, tlosses, rtol=1e-12, atol=1e-14)
        for p, tp in zip(ps, tps):
            np.testing.assert_allclose(p, tp, rtol=tol, atol=tol)
    st, tst = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert set(st) == set(tst)
    assert st["func_evals"] == tst["func_evals"] and st["n_iter"] == tst["n_iter"]
    assert len(st["old_dirs"]) == len(tst["old_dirs"])
    np.testing.assert_allclose(st["d"], tst["d"].numpy(), rtol=1e-6, atol=1e-8)  # d ~ 1e-6 at the optimum


def test_lbfgs_converges_and_resumes_from_torch_state():
    """Minimises the problem; a torch LBFGS state dict after 3 steps continues like torch itself."""
    ps, losses, _, opt = _run_lbfgs(dict(line_search_fn="strong_wolfe"), 15, torch_side=False)
    assert losses[-1] < 0.2 * losses[0]
    assert np.abs(opt._gather_flat_grad()).max() < 1e-4  # near a stationary point (flat: the W**4 term)
    np.testing.assert_allclose(ps[1], [1.0, 1.0], atol=1e-4)  # z at the Rosenbrock minimum
    X, y, W0, z0 = _rosenbrock_problem()
    kw = dict(line_search_fn="strong_wolfe", history_size=5)
    W, z = torch.tensor(W0, requires_grad=True), torch.tensor(z0, requires_grad=True)
    topt = torch.optim.LBFGS([W, z], **kw)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def tclosure():
        topt.zero_grad()
        loss = ((Xt @ W - yt) ** 2).mean() + (1 - z[0]) ** 2 + 10 * (z[1] - z[0] ** 2) ** 2 + (W ** 4).sum()
        loss.backward()
        return loss
    for _ in range(3):
        topt.step(tclosure)
    nW, nz = nn.Parameter(npg.tensor(W.detach().numpy().copy())), nn.Parameter(npg.tensor(z.detach().numpy().copy()))
    opt = optim.LBFGS([nW, nz], **kw)
    opt.load_state_dict(topt.state_dict())

    def closure():
        opt.zero_grad()
        loss = ((X @ nW - y) ** 2).mean() + (1 - nz[0]) ** 2 + 10 * (nz[1] - nz[0] ** 2) ** 2 + (nW ** 4).sum()
        loss.backward()
        return loss
    for _ in range(3):
        np.testing.assert_allclose(float(opt.step(closure)), float(topt.step(tclosure)), rtol=1e-9)
    np.testing.assert_allclose(nz.data, z.detach().numpy(), rtol=1e-8)
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()
