"""Normalization layers and functionals against torch.nn (2.13): the cases the other suites leave out.

Bugs fixed here (each test below fails without its fix): ``F.batch_norm`` / ``F.instance_norm`` in training with only
one of running_mean / running_var updated that one alone (PyTorch refuses); ``F.batch_norm`` trained with eps <= 0
(0 / 0 on a constant channel; PyTorch refuses) or evaluated with eps < 0; an empty ``normalized_shape`` made
layer_norm / rms_norm return the bias (or 0) whatever the input (PyTorch refuses); ``F.group_norm`` of an empty batch
raised a reshape error (PyTorch returns the empty output) and a bad ``num_groups`` gave a reshape traceback;
LayerNorm / RMSNorm refused a NumPy integer ``normalized_shape`` with a bare "not iterable" (PyTorch takes it).
The parity sweeps check outputs, input / weight / bias gradients, running statistics and num_batches_tracked
over several training steps then eval, in float32 and float64, and double backward against
torch.autograd.grad(create_graph=True)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F

TOL = {np.float32: 2e-4, np.float64: 1e-9}


def _const(a):
    return npg.tensor(a, requires_grad=False)


def _close(got, want, dt, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, torch {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=TOL[dt], atol=TOL[dt], err_msg=what)


def _torch_error(fn):
    try:
        fn()
    except (RuntimeError, ValueError, TypeError, ZeroDivisionError) as e:
        return type(e)
    return None


# ------------------------------------------------------------------ bugs fixed
@pytest.mark.parametrize("missing", ["running_mean", "running_var"])
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
def test_training_with_one_running_statistic_is_refused_and_updates_nothing(op, missing):
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    given = np.array([0.5, -1.0, 2.0])
    t_args = dict(running_mean=torch.tensor(given), running_var=None)
    if missing == "running_mean":
        t_args = dict(running_mean=None, running_var=torch.tensor(given))
    if op == "batch_norm":
        assert _torch_error(lambda: TF.batch_norm(torch.tensor(x), training=True, **t_args)) is ValueError
    else:
        assert _torch_error(lambda: TF.instance_norm(torch.tensor(x), **t_args)) is ValueError
    buf = _const(given.copy())
    n_args = dict(running_mean=buf, running_var=None) if missing == "running_var" else \
        dict(running_mean=None, running_var=buf)
    with pytest.raises(ValueError, match=f"{op}: .*{missing}=None"):
        if op == "batch_norm":
            F.batch_norm(npg.tensor(x), training=True, **n_args)
        else:
            F.instance_norm(npg.tensor(x), **n_args)
    np.testing.assert_array_equal(buf.data, given)


@pytest.mark.parametrize("eps,training", [(0.0, True), (-1.0, True), (-1e-3, False)])
def test_batch_norm_refuses_the_eps_torch_refuses(eps, training):
    x = np.ones((4, 3))   # constant channels: eps = 0 in training would give 0 / 0
    assert _torch_error(lambda: TF.batch_norm(torch.tensor(x), torch.zeros(3, dtype=torch.float64),
                                              torch.ones(3, dtype=torch.float64), training=training,
                                              eps=eps)) is ValueError
    rm, rv = _const(np.zeros(3)), _const(np.ones(3))
    with pytest.raises(ValueError, match="batch_norm: eps must be"):
        F.batch_norm(npg.tensor(x), rm, rv, training=training, eps=eps)
    np.testing.assert_array_equal(rm.data, 0)
    bn_t, bn_n = torch.nn.BatchNorm1d(3, eps=eps).double(), nn.BatchNorm1d(3, eps=eps, dtype=np.float64)
    bn_t.train(training)
    bn_n.train(training)
    assert _torch_error(lambda: bn_t(torch.tensor(x))) is ValueError
    with pytest.raises(ValueError, match="batch_norm: eps must be"):
        bn_n(npg.tensor(x))


def test_batch_norm_eval_with_eps_zero_matches_torch():
    x = np.random.default_rng(1).standard_normal((4, 3))
    rm, rv = np.array([0.1, 0.2, -0.3]), np.array([0.5, 2.0, 1.5])
    want = TF.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv), training=False, eps=0.0)
    got = F.batch_norm(npg.tensor(x), _const(rm), _const(rv), training=False, eps=0.0)
    _close(got.data, want.numpy(), np.float64, "eval eps=0")


@pytest.mark.parametrize("shape", [(), []])
def test_an_empty_normalized_shape_is_refused(shape):
    x = np.random.default_rng(2).standard_normal((2, 3))
    assert _torch_error(lambda: TF.layer_norm(torch.tensor(x), shape)) is RuntimeError
    assert _torch_error(lambda: TF.rms_norm(torch.tensor(x), shape)) is RuntimeError
    for call in (lambda: F.layer_norm(npg.tensor(x), shape), lambda: F.rms_norm(npg.tensor(x), shape),
                 lambda: nn.LayerNorm(shape)(npg.tensor(x)), lambda: nn.RMSNorm(shape)(npg.tensor(x))):
        with pytest.raises(ValueError, match="normalized_shape must have at least one element"):
            call()


@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 3), (0, 4, 2, 2)])
def test_group_norm_of_an_empty_input_matches_torch(shape):
    w, b = np.arange(1.0, 5.0), np.arange(4.0)
    tx = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    nx = npg.tensor(np.zeros(shape))
    tw, nw = torch.tensor(w, requires_grad=True), npg.tensor(w)
    tb, nb = torch.tensor(b, requires_grad=True), npg.tensor(b)
    ty, ny = TF.group_norm(tx, 2, tw, tb), F.group_norm(nx, 2, nw, nb)
    assert ny.shape == tuple(ty.shape)
    ty.sum().backward()
    ny.sum().backward()
    for n_, t_ in ((nx, tx), (nw, tw), (nb, tb)):
        _close(n_.grad, t_.grad.numpy(), np.float64, "empty group_norm grad")


@pytest.mark.parametrize("groups,error", [(-2, ValueError), (0, ValueError), (2.0, TypeError)])
def test_group_norm_names_a_bad_num_groups(groups, error):
    x = np.random.default_rng(3).standard_normal((2, 4, 3))
    assert _torch_error(lambda: TF.group_norm(torch.tensor(x), groups)) is not None
    with pytest.raises(error, match="group_norm: num_groups must be"):
        F.group_norm(npg.tensor(x), groups)


@pytest.mark.parametrize("kind", ["LayerNorm", "RMSNorm"])
def test_a_numpy_integer_normalized_shape_is_accepted_as_torch(kind):
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    for ns in (np.int64(4), [np.int32(3), np.int64(4)]):
        want = getattr(torch.nn, kind)(ns).double()(torch.tensor(x)).detach().numpy()
        module = getattr(nn, kind)(ns, dtype=np.float64)
        assert module.normalized_shape == tuple(int(d) for d in np.atleast_1d(ns))
        _close(module(npg.tensor(x)).data, want, np.float64, f"{kind}({ns!r})")


@pytest.mark.parametrize("bad", [(4.0,), 4.0, "ab"])
def test_a_non_integer_normalized_shape_names_the_layer(bad):
    x = npg.tensor(np.ones((2, 4)))
    assert _torch_error(lambda: torch.nn.LayerNorm(bad)) is TypeError
    for kind in ("LayerNorm", "RMSNorm"):
        with pytest.raises(TypeError, match=f"{kind}: normalized_shape must be an int or a sequence of ints"):
            getattr(nn, kind)(bad)
    for name in ("layer_norm", "rms_norm"):
        with pytest.raises(TypeError, match=f"{name}: normalized_shape must be an int or a sequence of ints"):
            getattr(F, name)(x, bad)


def test_group_norm_module_names_channels_and_groups():
    assert _torch_error(lambda: torch.nn.GroupNorm(3, 4)) is ValueError
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        nn.GroupNorm(3, 4)


# ------------------------------------------------------------------ parity sweeps
def _module_parity(kind, args, kw, shape, dt, steps=3, eval_first=False):
    """Run torch's and npgrad's layer (same weights and buffers) for ``steps`` training steps then one eval
    step (or eval first), comparing outputs, gradients and the whole state dict after each."""
    tdt = torch.float32 if dt == np.float32 else torch.float64
    rng = np.random.default_rng(len(shape) * 10 + steps)
    tm = getattr(torch.nn, kind)(*args, **kw).to(tdt)
    nm = getattr(nn, kind)(*args, dtype=dt, **kw)
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(0.5, 1.5)
    nm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    modes = [False] + [True] * steps if eval_first else [True] * steps + [False]
    for step, mode in enumerate(modes):
        tm.train(mode)
        nm.train(mode)
        x = (rng.standard_normal(shape) * 2 + 1).astype(dt)
        tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x)
        ty, ny = tm(tx), nm(nx)
        what = f"{kind} {kw} {shape} step {step} train={mode}"
        _close(ny.data, ty.detach().numpy(), dt, what + " output")
        g = rng.standard_normal(ny.shape).astype(dt)
        (ty * torch.tensor(g)).sum().backward()
        (ny * _const(g)).sum().backward()
        _close(nx.grad, tx.grad.numpy(), dt, what + " input grad")
        for name, p in tm.named_parameters():
            _close(getattr(nm, name).grad, p.grad.numpy(), dt, f"{what} {name} grad")
            p.grad = None
            getattr(nm, name).grad = None
        t_state, n_state = tm.state_dict(), nm.state_dict()
        assert sorted(t_state) == sorted(n_state)
        for k, v in t_state.items():
            _close(np.asarray(n_state[k].data), v.numpy(), dt, f"{what} {k}")


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0, None])
@pytest.mark.parametrize("kind,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 2)),
                                        ("BatchNorm2d", (2, 3, 2, 3)), ("BatchNorm3d", (2, 3, 2, 1, 2))])
def test_batch_norm_layers_over_training_steps_then_eval(kind, shape, momentum, dt):
    _module_parity(kind, (3,), dict(momentum=momentum, eps=1e-3), shape, dt)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(affine=False), dict(track_running_stats=False), dict(momentum=None),
                                dict(affine=True, bias=False)])
def test_batch_norm_options_and_eval_before_training(kw, dt):
    _module_parity("BatchNorm2d", (3,), kw, (2, 3, 2, 2), dt)
    _module_parity("BatchNorm1d", (3,), kw, (4, 3), dt, eval_first=True)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kind,shape", [("InstanceNorm1d", (2, 3, 4)), ("InstanceNorm1d", (3, 4)),
                                        ("InstanceNorm2d", (2, 3, 2, 3)), ("InstanceNorm3d", (3, 2, 2, 2))])
@pytest.mark.parametrize("kw", [dict(affine=True, track_running_stats=True, momentum=0.3),
                                dict(track_running_stats=True, momentum=None), dict(affine=True)])
def test_instance_norm_layers_with_running_statistics(kind, shape, kw, dt):
    _module_parity(kind, (3,), kw, shape, dt)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_norm_layers_over_their_options(dt):
    for ns in (4, (3, 4), [2, 3, 4]):
        _module_parity("LayerNorm", (ns,), dict(eps=1e-2), (2, 2, 3, 4), dt, steps=1)
        _module_parity("LayerNorm", (ns,), dict(bias=False), (2, 2, 3, 4), dt, steps=1)
        _module_parity("LayerNorm", (ns,), dict(elementwise_affine=False), (2, 2, 3, 4), dt, steps=1)
        _module_parity("RMSNorm", (ns,), dict(eps=None), (2, 2, 3, 4), dt, steps=1)
        _module_parity("RMSNorm", (ns,), dict(elementwise_affine=False, eps=1e-2), (2, 2, 3, 4), dt, steps=1)
    for groups in (1, 2, 4):
        for shape in ((3, 4), (2, 4, 3), (1, 4, 2, 2, 2)):
            _module_parity("GroupNorm", (groups, 4), dict(eps=1e-2), shape, dt, steps=1)
            _module_parity("GroupNorm", (groups, 4), dict(affine=False), shape, dt, steps=1)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_local_response_norm_3d_4d_5d(size, dt):
    rng = np.random.default_rng(size)
    for shape in ((2, 5, 3), (2, 5, 3, 2), (1, 5, 2, 2, 3)):
        x = rng.standard_normal(shape).astype(dt)
        tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x)
        ty = torch.nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5)(tx)
        ny = nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5)(nx)
        _close(ny.data, ty.detach().numpy(), dt, f"LRN {size} {shape}")
        ty.pow(2).sum().backward()
        (ny ** 2).sum().backward()
        _close(nx.grad, tx.grad.numpy(), dt, f"LRN {size} {shape} grad")


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_functional_batch_norm_updates_the_given_buffers_in_place(affine, training, dt):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3, 2)).astype(dt)
    rm, rv = rng.standard_normal(3).astype(dt), rng.uniform(0.5, 2, 3).astype(dt)
    w, b = rng.standard_normal(3).astype(dt), rng.standard_normal(3).astype(dt)
    trm, trv, nrm, nrv = torch.tensor(rm), torch.tensor(rv), _const(rm.copy()), _const(rv.copy())
    tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x)
    tw, nw = (torch.tensor(w, requires_grad=True), npg.tensor(w)) if affine in ("both", "weight") else (None, None)
    tb, nb = (torch.tensor(b, requires_grad=True), npg.tensor(b)) if affine in ("both", "bias") else (None, None)
    ty = TF.batch_norm(tx, trm, trv, tw, tb, training, 0.3, 1e-2)
    ny = F.batch_norm(nx, nrm, nrv, nw, nb, training, 0.3, 1e-2)
    _close(ny.data, ty.detach().numpy(), dt, "output")
    g = rng.standard_normal(x.shape).astype(dt)
    (ty * torch.tensor(g)).sum().backward()
    (ny * _const(g)).sum().backward()
    _close(nx.grad, tx.grad.numpy(), dt, "input grad")
    for n_, t_ in ((nw, tw), (nb, tb)):
        if t_ is not None:
            _close(n_.grad, t_.grad.numpy(), dt, "parameter grad")
    _close(nrm.data, trm.numpy(), dt, "running_mean")
    _close(nrv.data, trv.numpy(), dt, "running_var")


def _double_backward(tfn, nfn, arrays, dt):
    rng = np.random.default_rng(11)
    arrays = [a.astype(dt) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ns = [npg.tensor(a) for a in arrays]
    ty, ny = tfn(*ts), nfn(*ns)
    g = rng.standard_normal(ny.shape).astype(dt)
    tg = torch.autograd.grad((ty * torch.tensor(g)).sum(), ts, create_graph=True)
    ng = npg.autograd.grad((ny * _const(g)).sum(), ns, create_graph=True)
    vs = [rng.standard_normal(a.shape).astype(dt) for a in arrays]
    tgg = torch.autograd.grad(sum((a * torch.tensor(v)).sum() for a, v in zip(tg, vs)), ts, allow_unused=True)
    ngg = npg.autograd.grad(sum((a * _const(v)).sum() for a, v in zip(ng, vs)), ns, allow_unused=True)
    for i, a in enumerate(arrays):   # (a bias's gradient does not depend on anything: None, i.e. zeros)
        _close(ng[i].data, tg[i].detach().numpy(), dt, f"grad {i}")
        want = np.zeros_like(a) if tgg[i] is None else tgg[i].numpy()
        _close(np.zeros_like(a) if ngg[i] is None else ngg[i].data, want, dt, f"second derivative {i}")


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_second_derivatives_match_torch(dt):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5))
    w, b, lw, lb = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4), rng.uniform(0.5, 1.5, 5), rng.standard_normal(5)
    rm, rv = rng.standard_normal(4).astype(dt), rng.uniform(0.5, 2, 4).astype(dt)
    _double_backward(lambda x, w, b: TF.batch_norm(x, None, None, w, b, True, 0.1, 1e-3),
                     lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-3), [x, w, b], dt)
    _double_backward(lambda x, w, b: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), w, b, False),
                     lambda x, w, b: F.batch_norm(x, _const(rm), _const(rv), w, b, False), [x, w, b], dt)
    _double_backward(lambda x, w, b: TF.layer_norm(x, (5,), w, b, 1e-3),
                     lambda x, w, b: F.layer_norm(x, (5,), w, b, 1e-3), [x, lw, lb], dt)
    _double_backward(lambda x, w: TF.layer_norm(x, (5,), w), lambda x, w: F.layer_norm(x, (5,), w), [x, lw], dt)
    _double_backward(lambda x, w, b: TF.group_norm(x, 2, w, b, 1e-3),
                     lambda x, w, b: F.group_norm(x, 2, w, b, 1e-3), [x, w, b], dt)
    _double_backward(lambda x, w: TF.rms_norm(x, (5,), w), lambda x, w: F.rms_norm(x, (5,), w), [x, lw], dt)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("p", [1, 2, 3, 0.5, float("inf")])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_normalize_with_zero_vectors(p, dim, dt):
    x = np.random.default_rng(9).standard_normal((3, 4, 5)).astype(dt)
    x[:, 0, :] = 0
    x[0, :, 0] = 0
    g = np.random.default_rng(10).standard_normal(x.shape).astype(dt)
    tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x)
    ty, ny = TF.normalize(tx, p, dim, 1e-3), F.normalize(nx, p, dim, 1e-3)
    _close(ny.data, ty.detach().numpy(), dt, "normalize")
    (ty * torch.tensor(g)).sum().backward()
    (ny * _const(g)).sum().backward()
    _close(nx.grad, tx.grad.numpy(), dt, "normalize grad")
