"""Adafactor, SparseAdam and Muon against torch.optim step by step (several parameter groups with different
options, weight decay, maximize, float32 and float64), their state dicts both ways (PyTorch's loaded into npgrad,
npgrad's into PyTorch), their errors; and the implementation flags (foreach, fused, capturable, differentiable,
Adam's decoupled_weight_decay) of the older optimizers: every signature is PyTorch's, the parameter groups hold
PyTorch's keys and values, the updates are PyTorch's."""
import inspect

import numpy as np
import pytest
import torch

import npgrad as npg
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
        with pytest.raises(ValueError) as te:
            torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kw)
        with pytest.raises(ValueError) as ne:
            optim.Adafactor([nn.Parameter(npg.zeros(2))], **kw)
        assert str(ne.value) == str(te.value)
    z = npg.tensor(np.ones((2, 2), np.complex128), requires_grad=True)
    tz = torch.ones(2, 2, dtype=torch.complex128, requires_grad=True)
    opt, topt = optim.Adafactor([z]), torch.optim.Adafactor([tz])  # accepted, refused at the step
    z.grad, tz.grad = np.ones((2, 2), np.complex128), torch.ones(2, 2, dtype=torch.complex128)
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ne:
        opt.step()
    assert str(ne.value) == str(te.value) == "Adafactor does not support complex parameters"
    emb, temb = nn.Embedding(5, 3, sparse=True), torch.nn.Embedding(5, 3, sparse=True)
    opt, topt = optim.Adafactor(emb.parameters()), torch.optim.Adafactor(temb.parameters())
    npg.sum(emb(np.array([1, 2]))).backward()
    temb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ne:
        opt.step()
    assert str(ne.value) == str(te.value)


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
        with pytest.raises(ValueError) as te:
            torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], **kw)
        with pytest.raises(ValueError) as ne:
            optim.Muon([nn.Parameter(npg.zeros((2, 2)))], **kw)
        assert str(ne.value) == str(te.value)
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
        with pytest.raises(exc) as te:
            topt.step()
        with pytest.raises(exc) as ne:
            opt.step()
        assert str(ne.value) == str(te.value)
    z = npg.tensor(np.ones((2, 2), np.complex128), requires_grad=True)
    tz = torch.ones(2, 2, dtype=torch.complex128, requires_grad=True)
    opt, topt = optim.Muon([z]), torch.optim.Muon([tz])
    z.grad, tz.grad = np.ones((2, 2), np.complex128), torch.ones(2, 2, dtype=torch.complex128)
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ne:
        opt.step()
    assert str(ne.value) == str(te.value)


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
        with pytest.raises(ValueError) as te:
            torch.optim.SparseAdam([torch.zeros(2, requires_grad=True)], **kw)
        with pytest.raises(ValueError) as ne:
            optim.SparseAdam([nn.Parameter(npg.zeros(2))], **kw)
        assert str(ne.value) == str(te.value)
    ps, tps = _params([(2,), (3,)], np.float64)
    z, tz = npg.tensor(np.ones(2, np.complex128), requires_grad=True), torch.ones(2, dtype=torch.complex128,
                                                                                   requires_grad=True)
    with pytest.raises(ValueError) as te:
        torch.optim.SparseAdam([dict(params=tps[:1]), dict(params=[tps[1], tz])])
    with pytest.raises(ValueError) as ne:
        optim.SparseAdam([dict(params=ps[:1]), dict(params=[ps[1], z])])
    assert str(ne.value) == str(te.value)
    opt, topt = optim.SparseAdam(ps), torch.optim.SparseAdam(tps)
    _set_dense_grads(ps, tps, 0, np.float64)
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ne:
        opt.step()
    assert str(ne.value) == str(te.value)


# ------------------------------------------------------------------------------------------ flags
def test_every_torch_optimizer_exists_with_torchs_signature():
    names = [n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type)
             and issubclass(getattr(torch.optim, n), torch.optim.Optimizer) and n != "Optimizer"]
    assert len(names) >= 15
    for name in names:
        ours = inspect.signature(getattr(optim, name).__init__).parameters
        theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
        assert list(ours) == list(theirs), name
        for k in theirs:
            assert ours[k].kind == theirs[k].kind, (name, k)
            assert ours[k].default == theirs[k].default, (name, k)


FLAGGED = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta", "ASGD", "Rprop",
           "Adafactor"]


def _flag_options(name):
    sig = inspect.signature(getattr(torch.optim, name).__init__).parameters
    out = [dict(foreach=True), dict(foreach=False)]
    if "fused" in sig:
        out.append(dict(fused=True))
    if "capturable" in sig:
        out.append(dict(capturable=True, foreach=False))
    return out


@pytest.fixture
def torch_default_float64():
    """PyTorch keeps NAdam's mu_product and ASGD's eta / mu in its default dtype; npgrad's default is float64."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name", FLAGGED)
def test_flags_recorded_as_torch_and_update_unchanged(name, torch_default_float64):
    """Every flag combination torch accepts: npgrad's defaults and parameter groups are torch's (keys and values);
    8 steps are torch's single-tensor steps (to float64 precision) and its multi-tensor / fused kernels' steps
    (which round differently: to 1e-7). capturable=True runs on CUDA only in torch, the same update."""
    kw = dict(lr=0.01) if name in ("Adafactor", "Rprop") else dict(lr=0.01, weight_decay=0.1)
    for flags in _flag_options(name):
        ps, tps = _params([(4, 3), (5,)], np.float64)
        _, tps_flagged = _params([(4, 3), (5,)], np.float64)
        opt = getattr(optim, name)([dict(params=ps[:1]), dict(params=ps[1:], lr=0.02)], **kw, **flags)
        topt = getattr(torch.optim, name)([dict(params=tps[:1]), dict(params=tps[1:], lr=0.02)], **kw, **flags)
        assert opt.defaults == topt.defaults, (flags, opt.defaults, topt.defaults)
        for g, tg in zip(opt.param_groups, topt.param_groups):
            assert {k: v for k, v in g.items() if k != "params"} == {k: v for k, v in tg.items() if k != "params"}
        topts = [getattr(torch.optim, name)([dict(params=tps[:1]), dict(params=tps[1:], lr=0.02)], **kw,
                                            foreach=False)]
        if not flags.get("capturable"):
            topts.append(getattr(torch.optim, name)([dict(params=tps_flagged[:1]),
                                                     dict(params=tps_flagged[1:], lr=0.02)], **kw, **flags))
        for step in range(8):
            _set_dense_grads(ps, tps, step, np.float64)
            for p, tp in zip(tps_flagged, tps):
                p.grad = tp.grad.clone()
            opt.step()
            for t in topts:
                t.step()
        for p, tp, tpf in zip(ps, tps, tps_flagged):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[np.float64], err_msg=str(flags))
            if len(topts) == 2:
                np.testing.assert_allclose(p.data, tpf.detach().numpy(), rtol=1e-7, atol=1e-9, err_msg=str(flags))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_conflicts_and_refusals_as_torch(name):
    ps, tps = _params([(3,)], np.float64)
    for kw in [dict(fused=True, foreach=True), dict(fused=True, differentiable=True)]:
        with pytest.raises(RuntimeError) as te:
            getattr(torch.optim, name)(tps, lr=0.1, **kw)
        with pytest.raises(RuntimeError) as ne:
            getattr(optim, name)(ps, lr=0.1, **kw)
        assert str(ne.value) == str(te.value)
    z, tz = npg.tensor(np.ones(2, np.complex128), requires_grad=True), torch.ones(2, dtype=torch.complex128,
                                                                                   requires_grad=True)
    opt, topt = getattr(optim, name)([z], lr=0.1, fused=True), getattr(torch.optim, name)([tz], lr=0.1, fused=True)
    z.grad, tz.grad = np.ones(2, np.complex128), torch.ones(2, dtype=torch.complex128)
    with pytest.raises(RuntimeError, match="fused=True` requires all the params to be floating point"):
        topt.step()
    with pytest.raises(RuntimeError, match="fused=True` requires all the params to be floating point"):
        opt.step()
    emb, temb = nn.Embedding(5, 3, sparse=True), torch.nn.Embedding(5, 3, sparse=True)
    opt = getattr(optim, name)(emb.parameters(), lr=0.1, fused=True)
    topt = getattr(torch.optim, name)(temb.parameters(), lr=0.1, fused=True)
    npg.sum(emb(np.array([1, 2]))).backward()
    temb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ne:
        opt.step()
    assert str(ne.value) == str(te.value)


@pytest.mark.parametrize("name", FLAGGED[:-1])
def test_differentiable_true_names_the_optimizer(name):
    ps, _ = _params([(3,)], np.float64)
    getattr(optim, name)(ps, differentiable=False)
    with pytest.raises(NotImplementedError, match=rf"{name}\(differentiable=True\)"):
        getattr(optim, name)(ps, differentiable=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_decoupled_weight_decay_is_adamw(dtype):
    kw = dict(lr=0.02, weight_decay=0.3, amsgrad=True)
    groups = [([0], dict(decoupled_weight_decay=False)), ([1, 2], dict(maximize=True))]
    shapes = [(4, 3), (5,), (2, 2, 2)]
    for tname in ("Adam", "AdamW"):
        tkw = dict(kw, decoupled_weight_decay=True) if tname == "Adam" else kw
        ps, tps, opt, topt = _run(lambda p: optim.Adam(p, decoupled_weight_decay=True, foreach=False, **kw),
                                  lambda p: getattr(torch.optim, tname)(p, foreach=False, **tkw), shapes, dtype, 10,
                                  groups=groups if tname == "Adam" else None)
        _assert_params(ps, tps, dtype)
        if tname == "Adam":
            _assert_state_dicts(opt.state_dict(), topt.state_dict(), dtype)
    _check_round_trips(lambda p: optim.Adam(p, decoupled_weight_decay=True, **kw),
                       lambda p: torch.optim.Adam(p, decoupled_weight_decay=True, **kw), shapes, dtype, groups=groups)


def test_adamw_stays_decoupled_when_loading_an_adam_state_dict():
    """PyTorch's AdamW sets decoupled_weight_decay=True on every group it loads; so does npgrad's."""
    ps, tps = _params([(3,)], np.float64)
    sd = optim.Adam(ps, weight_decay=0.1).state_dict()
    opt, topt = optim.AdamW(ps), torch.optim.AdamW(tps)
    opt.load_state_dict(sd)
    topt.load_state_dict(torch.optim.Adam(tps, weight_decay=0.1).state_dict())
    assert opt.param_groups[0]["decoupled_weight_decay"] is topt.param_groups[0]["decoupled_weight_decay"] is True
    assert opt.param_groups[0]["weight_decay"] == topt.param_groups[0]["weight_decay"] == 0.1


# ------------------------------------------------------------------------------------------ named params, hooks
def test_named_parameters_as_torch():
    """``Optimizer(model.named_parameters())``: the names go into the group's ``param_names`` and the state dict,
    as PyTorch's; torch's state dict with names loads, and mixing named and unnamed groups is refused."""
    m = nn.Linear(3, 2)
    tm = torch.nn.Linear(3, 2).double()
    opt, topt = optim.AdamW(m.named_parameters(), lr=0.1), torch.optim.AdamW(tm.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == topt.param_groups[0]["param_names"] == ["weight", "bias"]
    for p, (_, tp) in zip(m.parameters(), tm.named_parameters()):
        p.grad, tp.grad = np.ones(p.shape), torch.ones(tp.shape, dtype=torch.float64)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0]["param_names"] == tsd["param_groups"][0]["param_names"]
    _assert_state_dicts(sd, tsd, np.float64)
    opt2 = optim.AdamW(nn.Linear(3, 2).parameters())
    opt2.load_state_dict(tsd)
    assert opt2.param_groups[0]["param_names"] == ["weight", "bias"]
    named = list(nn.Linear(3, 2).named_parameters())
    tnamed = list(torch.nn.Linear(3, 2).named_parameters())
    for mod, make, params in ((torch.optim, torch.optim.SGD, tnamed), (optim, optim.SGD, named)):
        o = make([params[0]], lr=0.1)
        with pytest.raises(ValueError, match="with/without names") as e1:
            o.add_param_group(dict(params=[params[1][1]]))
        with pytest.raises(ValueError, match="Some param names are missing"):
            make([dict(params=[params[0], params[1][1]])], lr=0.1)
        with pytest.raises(TypeError, match="ordered collections"):
            make([dict(params={p for _, p in params})], lr=0.1)
        assert "cannot add param group without names" in str(e1.value)


def test_step_and_state_dict_hooks_as_torch():
    """Step pre/post hooks (a pre hook may replace args and kwargs), global step hooks, state-dict and
    load-state-dict hooks (prepend, returned dicts, removal): the same calls in the same order as torch."""
    from npgrad.optim import optimizer as npg_optimizer
    from torch.optim import optimizer as torch_optimizer

    def record(mod, make, params):
        calls = []
        opt = make(params, lr=0.1)
        g1 = mod.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global-pre", len(a))))
        g2 = mod.register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global-post", len(a))))
        h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt, type(a).__name__, k)))
        opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), sorted(k))))
        h3 = opt.register_step_pre_hook(lambda o, a, k: ((a[0],), {"closure": lambda: 5.0}))
        try:
            loss = opt.step()
        finally:
            g1.remove()
            g2.remove()
        h1.remove()
        h3.remove()
        opt.step()
        calls.append(("loss", float(loss)))
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd-pre"))
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd-pre-first"), prepend=True)
        opt.register_state_dict_post_hook(lambda o, sd: dict(sd, extra=1))
        sd = opt.state_dict()
        calls.append(("extra", sd.get("extra")))
        opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items() if k != "extra"})
        opt.register_load_state_dict_post_hook(lambda o: calls.append("load-post"))
        opt.load_state_dict(sd)
        return calls

    ps, tps = _params([(3,)], np.float64)
    ps[0].grad, tps[0].grad = np.ones(3), torch.ones(3, dtype=torch.float64)
    ours = record(npg_optimizer, optim.SGD, ps)
    theirs = record(torch_optimizer, torch.optim.SGD, tps)
    assert ours == theirs
    np.testing.assert_allclose(ps[0].data, tps[0].detach().numpy(), rtol=1e-15)
