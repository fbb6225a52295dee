"""Adafactor, SparseAdam and Muon against torch.optim step by step (several parameter groups with different
options, weight decay, maximize, float32 and float64), their state dicts both ways (PyTorch's loaded into npgrad,
npgrad's into PyTorch), their errors. (The flags of the other optimizers: tests/test_optim_flags.py.)"""

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_same_error
import npgrad.nn as nn
import npgrad.optim as optim
from npgrad.sparse import RowSparseGrad
from tests.test_optim import grad_of

TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _params(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(rng.standard_normal(s)).astype(dtype) for s in shapes]
    return ([nn.Parameter(npg.tensor(a.copy())) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def _grouped(ps, groups):
    return [dict(params=[ps[i] for i in idx], **kw) for idx, kw in groups] if groups else ps


def _set_dense_grads(ps, tps, step, dtype, skip=()):
    for i, (p, tp) in enumerate(zip(ps, tps)):
        if (step, i) in skip:
            p.grad, tp.grad = None, None
            continue
        p.grad = np.asarray(grad_of(p.data, step, i)).astype(dtype)
        tp.grad = torch.tensor(np.asarray(grad_of(tp.detach().numpy(), step, i)).astype(dtype))


def _sparse_grad(p, step, i, dtype):
    """Rows drawn with repeats (coalescing matters); an empty gradient at step 3 of parameter 1."""
    rng = np.random.default_rng(1000 + 10 * step + i)
    n = 0 if (step, i) == (3, 1) else 6
    rows = rng.integers(0, p.shape[0], n)
    values = (np.tanh(p[rows]) + rng.standard_normal((n,) + p.shape[1:])).astype(dtype)
    return rows, values


def _set_sparse_grads(ps, tps, step, dtype, skip=()):
    for i, (p, tp) in enumerate(zip(ps, tps)):
        if (step, i) in skip:
            p.grad, tp.grad = None, None
            continue
        rows, values = _sparse_grad(p.data, step, i, dtype)
        p.grad = RowSparseGrad(rows, values, p.data.shape)
        rows_t, values_t = _sparse_grad(tp.detach().numpy(), step, i, dtype)
        tp.grad = torch.sparse_coo_tensor(torch.tensor(rows_t)[None], torch.tensor(values_t), tuple(p.data.shape))


def _assert_params(ps, tps, dtype):
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[dtype])


def _assert_state_dicts(sd, tsd, dtype):
    """Same state keys and values, same parameter-group keys and values (PyTorch's layout)."""
    assert set(sd["state"]) == set(tsd["state"])
    for i in sd["state"]:
        assert set(sd["state"][i]) == set(tsd["state"][i]), (sd["state"][i].keys(), tsd["state"][i].keys())
        for k, v in sd["state"][i].items():
            tv = tsd["state"][i][k]
            np.testing.assert_allclose(np.asarray(v), tv.numpy() if torch.is_tensor(tv) else tv, **TOL[dtype],
                                       err_msg=k)
    tup = lambda v: tuple(v) if isinstance(v, list) else v
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert set(g) == set(tg), (g, tg)
        assert all(tup(g[k]) == tup(tg[k]) for k in g), (g, tg)


def _to_torch_state_dict(sd):
    """npgrad's state dict as PyTorch keeps one (arrays and the step as tensors)."""
    def conv(k, v):
        if isinstance(v, np.ndarray):
            return torch.tensor(v)
        if k == "step" and isinstance(v, float):
            return torch.tensor(v)
        return v
    return {"state": {i: {k: conv(k, v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


def _run(make, tmake, shapes, dtype, steps, groups=None, skip=(), sparse=False, start=0, pair=None):
    ps, tps = pair if pair else _params(shapes, dtype)
    opt, topt = make(_grouped(ps, groups)), tmake(_grouped(tps, groups))
    setg = _set_sparse_grads if sparse else _set_dense_grads
    for step in range(start, start + steps):
        setg(ps, tps, step, dtype, skip)
        opt.step()
        topt.step()
    return ps, tps, opt, topt


def _check_round_trips(make, tmake, shapes, dtype, groups=None, sparse=False, skip=()):
    """6 steps; then npgrad's and torch's state dicts each go into a fresh npgrad and a fresh torch optimizer
    (npgrad's reaching torch with its arrays as tensors); 6 more steps of all four agree with 12 straight torch
    steps."""
    _, ref, _, _ = _run(make, tmake, shapes, dtype, 12, groups, skip, sparse)
    ps, tps, opt, topt = _run(make, tmake, shapes, dtype, 6, groups, skip, sparse)
    setg = _set_sparse_grads if sparse else _set_dense_grads
    for source, from_torch in ((opt.state_dict(), False), (topt.state_dict(), True)):
        for into_torch in (False, True):
            ps2, tps2 = _params(shapes, dtype)
            for p, tp, p0 in zip(ps2, tps2, ps):
                p.data[...] = p0.data
                with torch.no_grad():
                    tp.copy_(torch.tensor(p0.data))
            if into_torch:
                opt2 = tmake(_grouped(tps2, groups))
                opt2.load_state_dict(source if from_torch else _to_torch_state_dict(source))
            else:
                opt2 = make(_grouped(ps2, groups))
                opt2.load_state_dict(source)
            for step in range(6, 12):
                setg(ps2, tps2, step, dtype, skip)
                opt2.step()
            got = [tp.detach().numpy() for tp in tps2] if into_torch else [p.data for p in ps2]
            for g, r in zip(got, ref):
                np.testing.assert_allclose(g, r.detach().numpy(), **TOL[dtype],
                                           err_msg=f"from_torch={from_torch} into_torch={into_torch}")


# ------------------------------------------------------------------------------------------ Adafactor
ADAFACTOR = [
    dict(),
    dict(lr=0.05, weight_decay=0.1, maximize=True),
    dict(beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5),
]
AF_SHAPES = [(4, 3), (5,), (2, 3, 4), ()]            # factored 2-D and 3-D, a vector, a scalar
AF_GROUPS = [([0, 2], dict(lr=0.03, weight_decay=0.2)), ([1, 3], dict(maximize=True, d=2.0, eps=(1e-6, 1e-2)))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", ADAFACTOR, ids=["default", "wd-maximize", "eps-d"])
def test_adafactor_matches_torch(kw, dtype):
    ps, tps, opt, topt = _run(lambda p: optim.Adafactor(p, foreach=False, **kw),
                              lambda p: torch.optim.Adafactor(p, foreach=False, **kw), AF_SHAPES, dtype, 15,
                              skip={(2, 0), (5, 3)})
    _assert_params(ps, tps, dtype)
    _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    assert opt.state[ps[0]]["row_var"].shape == (4, 1) and opt.state[ps[2]]["col_var"].shape == (2, 1, 4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adafactor_param_groups_and_round_trips(dtype):
    ps, tps, opt, topt = _run(lambda p: optim.Adafactor(p, lr=0.02), lambda p: torch.optim.Adafactor(p, lr=0.02),
                              AF_SHAPES, dtype, 12, groups=AF_GROUPS)
    _assert_params(ps, tps, dtype)
    _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    _check_round_trips(lambda p: optim.Adafactor(p, lr=0.02), lambda p: torch.optim.Adafactor(p, lr=0.02),
                       AF_SHAPES, dtype, groups=AF_GROUPS)


def test_adafactor_eps1_none_comes_from_the_first_parameter_of_the_group():
    """PyTorch sets eps1 from the first parameter's dtype and keeps it for the group: float32's 1.2e-7 for the
    float64 matrix after it (whose tiny gradient makes eps1 matter)."""
    a32 = np.random.default_rng(0).standard_normal(3).astype(np.float32)
    a64 = np.random.default_rng(1).standard_normal((3, 4))
    p32, p64 = nn.Parameter(npg.tensor(a32.copy())), nn.Parameter(npg.tensor(a64.copy()))
    t32, t64 = torch.tensor(a32.copy(), requires_grad=True), torch.tensor(a64.copy(), requires_grad=True)
    opt, topt = optim.Adafactor([p32, p64]), torch.optim.Adafactor([t32, t64], foreach=False)
    for step in range(5):
        g = np.random.default_rng(step).standard_normal((3, 4)) * 1e-5
        p32.grad, t32.grad = np.ones(3, np.float32), torch.ones(3)
        p64.grad, t64.grad = g, torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p64.data, t64.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p32.data, t32.detach().numpy(), rtol=2e-6)


def test_adafactor_errors_as_torch():
    for kw in [dict(lr=-1.0), dict(beta2_decay=0.5), dict(eps=(-1.0, 1e-3)), dict(eps=(None, -1.0)), dict(d=0.5),
               dict(weight_decay=-0.1)]:
        assert_same_error(ValueError, lambda: torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kw),
                          lambda: optim.Adafactor([nn.Parameter(npg.zeros(2))], **kw))
    z = npg.tensor(np.ones((2, 2), np.complex128), requires_grad=True)
    tz = torch.ones(2, 2, dtype=torch.complex128, requires_grad=True)
    opt, topt = optim.Adafactor([z]), torch.optim.Adafactor([tz])  # accepted, refused at the step
    z.grad, tz.grad = np.ones((2, 2), np.complex128), torch.ones(2, 2, dtype=torch.complex128)
    assert assert_same_error(RuntimeError, lambda: topt.step(),
                             lambda: opt.step()) == "Adafactor does not support complex parameters"
    emb, temb = nn.Embedding(5, 3, sparse=True), torch.nn.Embedding(5, 3, sparse=True)
    opt, topt = optim.Adafactor(emb.parameters()), torch.optim.Adafactor(temb.parameters())
    npg.sum(emb(np.array([1, 2]))).backward()
    temb(torch.tensor([1, 2])).sum().backward()
    assert_same_error(RuntimeError, lambda: topt.step(), lambda: opt.step())


# ------------------------------------------------------------------------------------------ Muon
MUON = [
    dict(),
    dict(lr=0.02, weight_decay=0.01, nesterov=False, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.01, momentum=0.5, ns_steps=3, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3, adjust_lr_fn="original"),
]
MUON_SHAPES = [(6, 4), (3, 7), (8, 8), (1, 5)]      # tall (transposed), wide, square, a single row
MUON_GROUPS = [([0, 2], dict(lr=0.05, weight_decay=0.0)), ([1, 3], dict(nesterov=False, momentum=0.8))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", MUON, ids=["default", "plain-momentum-rms", "coefficients"])
def test_muon_matches_torch(kw, dtype):
    """The bfloat16 Newton-Schulz iteration is PyTorch's: the parameters agree to the parameter dtype's
    precision (the orthogonalized updates bit for bit)."""
    ps, tps, opt, topt = _run(lambda p: optim.Muon(p, **kw), lambda p: torch.optim.Muon(p, **kw), MUON_SHAPES,
                              dtype, 10, skip={(2, 1)})
    _assert_params(ps, tps, dtype)
    _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_muon_larger_matrices_agree_to_bfloat16_precision(dtype):
    """On larger matrices PyTorch's bfloat16 GEMM sums its float32 products in another order than NumPy's and a
    few entries round to the neighbouring bfloat16 (see the next test); as the gradients depend on the
    parameters, these differences spread, but stay within a few bfloat16 units of the update per step
    (a wrong formula would be off by the size of the update, 2**6 times more)."""
    kw = dict(lr=0.02, weight_decay=0.01)
    shapes = [(16, 24), (40, 24), (32, 64)]
    ps, tps, _, _ = _run(lambda p: optim.Muon(p, **kw), lambda p: torch.optim.Muon(p, **kw), shapes, dtype, 10)
    for p, tp, shape in zip(ps, tps, shapes):
        lr_adj = kw["lr"] * max(1, shape[0] / shape[1]) ** 0.5
        assert np.abs(p.data - tp.detach().numpy()).max() <= 10 * lr_adj * 2 ** -6, shape


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (8, 8), (16, 6), (32, 64), (96, 48)])
def test_newton_schulz_is_torchs_bfloat16(shape):
    """Bit for bit on small matrices; on larger ones at most a few percent of the entries one bfloat16 unit
    away (PyTorch's bfloat16 GEMM sums in another order)."""
    from torch.optim._muon import _zeropower_via_newtonschulz
    from npgrad.optim.muon import zeropower_via_newtonschulz
    g = np.random.default_rng(sum(shape)).standard_normal(shape)
    ours = zeropower_via_newtonschulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7)
    theirs = _zeropower_via_newtonschulz(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7)
    assert theirs.dtype == torch.bfloat16
    theirs = theirs.float().numpy()
    if max(shape) <= 16:
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert (ours == theirs).mean() >= 0.9
        assert np.abs(ours - theirs).max() <= np.abs(theirs).max() * 2 ** -6


def test_bfloat16_rounding_is_torchs():
    """Round to nearest even; a float64 through float32 first (1 + 2**-8 + 2**-40 becomes the tie 1 + 2**-8 in
    float32, then 1.0), as PyTorch."""
    from npgrad.optim.muon import to_bfloat16
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 10.0 ** rng.integers(-30, 30, 20000),
                        [0.0, -0.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -40, 1 + 2 ** -8 - 2 ** -40]])
    for arr in (x, x.astype(np.float32)):
        np.testing.assert_array_equal(to_bfloat16(arr), torch.tensor(arr).bfloat16().float().numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_muon_param_groups_and_round_trips(dtype):
    make, tmake = (lambda p: optim.Muon(p, lr=0.02)), (lambda p: torch.optim.Muon(p, lr=0.02))
    ps, tps, opt, topt = _run(make, tmake, MUON_SHAPES, dtype, 8, groups=MUON_GROUPS)
    _assert_params(ps, tps, dtype)
    _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    _check_round_trips(make, tmake, MUON_SHAPES, dtype, groups=MUON_GROUPS)


def test_muon_errors_as_torch():
    for kw in [dict(lr=-1.0), dict(momentum=-0.1), dict(weight_decay=-1.0), dict(adjust_lr_fn="rms")]:
        assert_same_error(ValueError, lambda: torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], **kw),
                          lambda: optim.Muon([nn.Parameter(npg.zeros((2, 2)))], **kw))
    for shape in [(3,), (2, 2, 2), ()]:
        with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
            torch.optim.Muon([torch.zeros(shape, requires_grad=True)])
        with pytest.raises(ValueError, match=r"Muon only supports 2D parameters whereas we found a parameter "
                                             r"with size: \(" + ", ".join(map(str, shape))):
            optim.Muon([nn.Parameter(npg.zeros(shape))])
    for kw, exc in [(dict(ns_steps=100), ValueError), (dict(ns_coefficients=(1.0, 2.0)), ValueError)]:
        p, tp = nn.Parameter(npg.ones((2, 3))), torch.ones(2, 3, requires_grad=True)
        opt, topt = optim.Muon([p], **kw), torch.optim.Muon([tp], **kw)
        p.grad, tp.grad = np.ones((2, 3)), torch.ones(2, 3)
        assert_same_error(exc, lambda: topt.step(), lambda: opt.step())
    z = npg.tensor(np.ones((2, 2), np.complex128), requires_grad=True)
    tz = torch.ones(2, 2, dtype=torch.complex128, requires_grad=True)
    opt, topt = optim.Muon([z]), torch.optim.Muon([tz])
    z.grad, tz.grad = np.ones((2, 2), np.complex128), torch.ones(2, 2, dtype=torch.complex128)
    assert_same_error(RuntimeError, lambda: topt.step(), lambda: opt.step())


# ------------------------------------------------------------------------------------------ SparseAdam
SPARSE_SHAPES = [(10, 4), (7, 3), (6,)]
SPARSE_GROUPS = [([0], dict(lr=0.05)), ([1, 2], dict(betas=(0.5, 0.9), maximize=True, eps=1e-4))]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [dict(), dict(lr=0.05, betas=(0.3, 0.9), eps=1e-6, maximize=True)],
                         ids=["default", "options"])
def test_sparse_adam_matches_torch(kw, dtype):
    """Repeated rows (coalesced), an empty gradient (the step counts, nothing moves), a missing gradient."""
    ps, tps, opt, topt = _run(lambda p: optim.SparseAdam(p, **kw), lambda p: torch.optim.SparseAdam(p, **kw),
                              SPARSE_SHAPES, dtype, 10, sparse=True, skip={(4, 0)})
    _assert_params(ps, tps, dtype)
    _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    assert opt.state[ps[1]]["step"] == 10 and opt.state[ps[0]]["step"] == 9


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_adam_param_groups_and_round_trips(dtype):
    make, tmake = (lambda p: optim.SparseAdam(p, lr=0.02)), (lambda p: torch.optim.SparseAdam(p, lr=0.02))
    ps, tps, opt, topt = _run(make, tmake, SPARSE_SHAPES, dtype, 8, groups=SPARSE_GROUPS, sparse=True)
    _assert_params(ps, tps, dtype)
    _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    _check_round_trips(make, tmake, SPARSE_SHAPES, dtype, groups=SPARSE_GROUPS, sparse=True)


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
def test_sparse_adam_on_embeddings_as_torch():
    """Embedding(sparse=True) training: npgrad's row-sparse gradient against torch's sparse COO gradient."""
    m, tm = nn.Embedding(10, 4, sparse=True), torch.nn.Embedding(10, 4, sparse=True).double()
    m.weight.data = tm.weight.detach().numpy().copy()
    opt, topt = optim.SparseAdam(m.parameters(), lr=0.05), torch.optim.SparseAdam(tm.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(6):
        idx, w = rng.integers(0, 10, (3, 4)), rng.standard_normal((3, 4, 4))
        opt.zero_grad()
        topt.zero_grad()
        npg.sum(m(idx) * w).backward()
        (tm(torch.tensor(idx)) * torch.tensor(w)).sum().backward()
        opt.step()
        topt.step()
        np.testing.assert_allclose(m.weight.data, tm.weight.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_sparse_adam_errors_as_torch():
    for kw in [dict(lr=0.0), dict(eps=0.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1))]:
        assert_same_error(ValueError, lambda: torch.optim.SparseAdam([torch.zeros(2, requires_grad=True)], **kw),
                          lambda: optim.SparseAdam([nn.Parameter(npg.zeros(2))], **kw))
    ps, tps = _params([(2,), (3,)], np.float64)
    z, tz = npg.tensor(np.ones(2, np.complex128), requires_grad=True), torch.ones(2, dtype=torch.complex128,
                                                                                   requires_grad=True)
    assert_same_error(ValueError, lambda: torch.optim.SparseAdam([dict(params=tps[:1]), dict(params=[tps[1], tz])]),
                      lambda: optim.SparseAdam([dict(params=ps[:1]), dict(params=[ps[1], z])]))
    opt, topt = optim.SparseAdam(ps), torch.optim.SparseAdam(tps)
    _set_dense_grads(ps, tps, 0, np.float64)
    assert_same_error(RuntimeError, lambda: topt.step(), lambda: opt.step())
