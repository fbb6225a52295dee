"""Complex parameters in npgrad.optim: each optimizer treats a complex parameter as its real view (real and
imaginary parts as independent real parameters), as torch.optim does. Compared with torch step by step."""
import numpy as np
import pytest
import torch

import npgrad as npg

@pytest.fixture(autouse=True)
def scalar_dtype64():
    """PyTorch keeps NAdam's mu_product and ASGD's eta / mu in its default dtype; npgrad's default is float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=False)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, betas=(0.7, 0.9), amsgrad=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.95))),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.3)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-4, 0.05))),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, t0=2, lambd=0.01, weight_decay=0.1)),
]
TOL = {np.complex64: 1e-5, np.complex128: 1e-12}
TORCH_DTYPE = {np.complex64: torch.complex64, np.complex128: torch.complex128}


def problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = lambda *s: (rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(dtype)  # noqa: E731
    return c(3, 2), c(4, 3), c(4, 2)


def np_loss(z, A, b):
    return (npg.abs(npg.tensor(A) @ z - npg.tensor(b)) ** 2).sum()


def torch_loss(z, A, b):
    return ((torch.from_numpy(A) @ z - torch.from_numpy(b)).abs() ** 2).sum()


def close(a, b, tol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name,kw", CASES)
def test_optimizer_matches_torch_on_a_complex_parameter(name, kw, dtype):
    z0, A, b = problem(dtype)
    z = npg.tensor(z0.copy(), requires_grad=True)
    tz = torch.tensor(z0.copy(), requires_grad=True)
    opt = getattr(npg.optim, name)([z], **kw)
    topt = getattr(torch.optim, name)([tz], **kw)
    data_id = z.data.__array_interface__["data"][0]
    for _ in range(6):
        opt.zero_grad()
        topt.zero_grad()
        np_loss(z, A, b).backward()
        torch_loss(tz, A, b).backward()
        assert z.grad.dtype == dtype
        opt.step()
        topt.step()
        assert z.dtype == dtype and z.data.__array_interface__["data"][0] == data_id  # updated in place
        close(z.data, tz.detach().numpy(), TOL[dtype])
    for key, value in topt.state[tz].items():  # the state is complex, as PyTorch keeps it
        if value.ndim:
            close(opt.state[z][key], value.numpy(), TOL[dtype] * 10)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_torch_on_a_complex_parameter(dtype, line_search_fn):
    z0, A, b = problem(dtype)
    w0 = np.random.default_rng(1).standard_normal(3).astype(np.float32 if dtype == np.complex64 else np.float64)
    z = npg.tensor(z0.copy(), requires_grad=True)
    w = npg.tensor(w0.copy(), requires_grad=True)
    tz = torch.tensor(z0.copy(), requires_grad=True)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    opt = npg.optim.LBFGS([z, w], lr=0.5, max_iter=5, history_size=3, line_search_fn=line_search_fn)
    topt = torch.optim.LBFGS([tz, tw], lr=0.5, max_iter=5, history_size=3, line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = np_loss(z, A, b) + ((w - 1) ** 2).sum() * npg.abs(z).sum()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = torch_loss(tz, A, b) + ((tw - 1) ** 2).sum() * tz.abs().sum()
        loss.backward()
        return loss

    tol = 1e-4 if dtype == np.complex64 else 1e-10
    for _ in range(3):
        opt.step(closure)
        topt.step(tclosure)
        close(z.data, tz.detach().numpy(), tol)
        close(w.data, tw.detach().numpy(), tol)


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.05, weight_decay=0.1)), ("SGD", dict(lr=0.05, momentum=0.9)),
                                     ("Rprop", dict(lr=0.01)), ("Adagrad", dict(lr=0.1)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
def test_mixed_real_and_complex_parameters(name, kw):
    model = npg.nn.Linear(2, 3, dtype=np.float64) if "dtype" in npg.nn.Linear.__init__.__code__.co_varnames \
        else npg.nn.Linear(2, 3)
    tmodel = torch.nn.Linear(2, 3).double()
    with torch.no_grad():
        tmodel.weight.copy_(torch.from_numpy(np.asarray(model.weight.data, np.float64)))
        tmodel.bias.copy_(torch.from_numpy(np.asarray(model.bias.data, np.float64)))
    model.weight.data[...] = tmodel.weight.detach().numpy()
    model.bias.data[...] = tmodel.bias.detach().numpy()
    z0, A, b = problem(np.complex128, seed=3)
    z = npg.tensor(z0.copy(), requires_grad=True)
    tz = torch.tensor(z0.copy(), requires_grad=True)
    x = np.random.default_rng(4).standard_normal((5, 2))
    opt = getattr(npg.optim, name)([{"params": list(model.parameters())}, {"params": [z], "lr": kw["lr"] / 2}], **kw)
    topt = getattr(torch.optim, name)([{"params": list(tmodel.parameters())}, {"params": [tz], "lr": kw["lr"] / 2}],
                                      **kw)
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        h = model(npg.tensor(x))
        (np_loss(z, A, b) * (h ** 2).mean() + npg.abs(z).sum() * h.sum()).backward()
        th = tmodel(torch.from_numpy(x))
        (torch_loss(tz, A, b) * (th ** 2).mean() + tz.abs().sum() * th.sum()).backward()
        opt.step()
        topt.step()
        close(z.data, tz.detach().numpy(), 1e-11)
        close(model.weight.data, tmodel.weight.detach().numpy(), 1e-11)
        close(model.bias.data, tmodel.bias.detach().numpy(), 1e-11)


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.05, amsgrad=True)), ("Rprop", dict(lr=0.01)),
                                     ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.2)),
                                     ("ASGD", dict(lr=0.05, t0=1)), ("NAdam", dict(lr=0.05))])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_state_dict_round_trip(name, kw, dtype):
    z0, A, b = problem(dtype)

    def run(opt, z, steps):
        for _ in range(steps):
            opt.zero_grad()
            np_loss(z, A, b).backward()
            opt.step()

    z = npg.tensor(z0.copy(), requires_grad=True)
    opt = getattr(npg.optim, name)([z], **kw)
    run(opt, z, 3)
    sd = opt.state_dict()
    for value in sd["state"][0].values():
        if isinstance(value, np.ndarray) and value.ndim:
            assert value.dtype == dtype and value.shape == z.shape
    z2 = npg.tensor(z.data.copy(), requires_grad=True)
    opt2 = getattr(npg.optim, name)([z2], **kw)
    opt2.load_state_dict(sd)
    run(opt, z, 3)
    run(opt2, z2, 3)
    np.testing.assert_array_equal(z2.data, z.data)
    # and from PyTorch's state dict (complex tensors) into npgrad
    tz = torch.tensor(z0.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([tz], **kw)
    for _ in range(3):
        topt.zero_grad()
        torch_loss(tz, A, b).backward()
        topt.step()
    z3 = npg.tensor(tz.detach().numpy().copy(), requires_grad=True)
    opt3 = getattr(npg.optim, name)([z3], **kw)
    opt3.load_state_dict(topt.state_dict())
    run(opt3, z3, 3)
    for _ in range(3):
        topt.zero_grad()
        torch_loss(tz, A, b).backward()
        topt.step()
    close(z3.data, tz.detach().numpy(), TOL[dtype])


def test_complex_step_bumps_the_version_and_refuses_a_stale_graph():
    z = npg.tensor(np.array([1 + 1j, 2 - 1j]), requires_grad=True)
    opt = npg.optim.SGD([z], lr=0.1)
    (npg.abs(z) ** 2).sum().backward()
    loss = (z * z).real.sum()     # saves z
    opt.step()
    with pytest.raises(RuntimeError):
        loss.backward()


def test_real_state_of_the_wrong_shape_is_refused():
    z = npg.tensor(np.array([1 + 1j, 2 - 1j]), requires_grad=True)
    opt = npg.optim.Adam([z], lr=0.1)
    sd = {"state": {0: {"step": 1.0, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}},
          "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match="real with shape"):
        opt.load_state_dict(sd)


def test_lbfgs_state_dict_round_trip_and_from_torch():
    z0 = np.array([1 + 2j, -1 + 0.5j])

    def make():
        z = npg.tensor(z0.copy(), requires_grad=True)
        opt = npg.optim.LBFGS([z], lr=0.5, max_iter=3)

        def closure():
            opt.zero_grad()
            loss = (npg.abs(z ** 2 - 1j) ** 2).sum()
            loss.backward()
            return loss
        return z, opt, closure

    z, opt, closure = make()
    opt.step(closure)
    z2, opt2, closure2 = make()
    z2.data[...] = z.data
    opt2.load_state_dict(opt.state_dict())
    opt.step(closure)
    opt2.step(closure2)
    np.testing.assert_array_equal(z2.data, z.data)
    tz = torch.tensor(z0.copy(), requires_grad=True)
    topt = torch.optim.LBFGS([tz], lr=0.5, max_iter=3)

    def tclosure():
        topt.zero_grad()
        loss = ((tz ** 2 - 1j).abs() ** 2).sum()
        loss.backward()
        return loss
    topt.step(tclosure)
    z3, opt3, closure3 = make()
    z3.data[...] = tz.detach().numpy()
    opt3.load_state_dict(topt.state_dict())
    topt.step(tclosure)
    opt3.step(closure3)
    close(z3.data, tz.detach().numpy(), 1e-12)
    close(z.data, tz.detach().numpy(), 1e-12)
