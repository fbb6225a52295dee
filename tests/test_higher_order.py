"""Second and third derivatives of every differentiable op, against
``torch.autograd.grad(..., create_graph=True)`` in float64.

For an op ``f`` and random weights ``w``, ``v``: ``g = grad(sum(f(x) * w), x, create_graph=True)``
then ``h = grad(sum(g * v), x)``; both are compared with PyTorch. The op table of
tests/test_ops_table.py (every elementwise, reduction and shape op) is reused, and indexing,
contractions and convolutions are added here.
"""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close
from tests.test_ops_table import CASES, make_inputs

F = torch.nn.functional

TOL = dict(rtol=1e-7, atol=1e-9)


def _zeros_for(x):
    return np.zeros(x.shape, dtype=x.dtype)


def _np(g, like):
    if g is None:
        return _zeros_for(like)
    if isinstance(g, torch.Tensor):
        return g.detach().numpy(force=True)  # (force: torch's ZeroTensor)
    return np.asarray(g.data)


def _differentiable(t):
    return t is not None and t.requires_grad


def higher_order(npg_fn, torch_fn, arrays, order=2, seed=0, what=""):
    """Compare derivatives of order 1..``order`` of ``sum(f(x) * w)`` along random directions."""
    rng = np.random.default_rng(seed)
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    assert_close(out, tout.detach().numpy(), what=f"{what} value", **TOL)
    if not out.requires_grad:
        assert not tout.requires_grad, f"{what}: npgrad's output has no gradient, PyTorch's has"
        return
    w = rng.standard_normal(out.shape)
    s, ts_ = npg.sum(out * w), (tout * torch.tensor(w)).sum()
    for k in range(1, order + 1):
        last = k == order
        if not _differentiable(s):
            # npgrad's derivative is constant in x: torch's must be too (or zero)
            if ts_.requires_grad:
                tg = torch.autograd.grad(ts_, ts, allow_unused=True)
                for i, t in enumerate(tg):
                    assert t is None or not t.any(), f"{what}: order {k} grad of input {i} should be 0"
            return
        gs = npg.autograd.grad(s, xs, create_graph=not last, allow_unused=True)
        if ts_.requires_grad:
            tgs = torch.autograd.grad(ts_, ts, create_graph=not last, allow_unused=True)
        else:
            tgs = [None] * len(ts)
        for i, (g, tg) in enumerate(zip(gs, tgs)):
            assert g is None or g.dtype == xs[i].dtype
            assert_close(_np(g, arrays[i]), _np(tg, arrays[i]), what=f"{what}: order-{k} grad of input {i}", **TOL)
        if last:
            return
        vs = [rng.standard_normal(a.shape) for a in arrays]
        terms = [npg.sum(g * v) for g, v in zip(gs, vs) if g is not None]
        s = terms[0] if terms else None
        for t in terms[1:]:
            s = s + t
        tterms = [(tg * torch.tensor(v)).sum() for tg, v in zip(tgs, vs) if tg is not None and tg.requires_grad]
        ts_ = sum(tterms) if tterms else torch.zeros(())


# ------------------------------------------------------------ the shared op table, float64
_SKIP = {"floor_divide", "2//x"}  # torch.div(rounding_mode="floor") has no second derivative to compare


def _table_params():
    params = []
    for c in CASES:
        if c.name in _SKIP:
            continue
        marks = [pytest.mark.filterwarnings("ignore::RuntimeWarning",
                                            "ignore:.*degrees of freedom:UserWarning")] if c.warns else []
        params.append(pytest.param(c, id=c.id, marks=marks))
    return params


@pytest.mark.parametrize("case", _table_params())
def test_second_derivative_table(case):
    arrays = make_inputs(case, np.float64, seed=3)
    higher_order(lambda *xs: case.fn(*xs, **case.kwargs), lambda *ts: case.tfn(*ts, **case.kwargs), arrays,
                 order=2, what=case.id)


# ------------------------------------------------------------ indexing, contractions, conv
R = np.random.default_rng(7)
IDX = R.integers(0, 4, (3, 2))
MASK = R.random((4, 5)) > 0.5
EXTRA = [
    # indexing
    ("getitem_basic", lambda x: x[1:3, ::2] * x[0, ::2], lambda x: x[1:3, ::2] * x[0, ::2], [(4, 5)]),
    ("getitem_int_array", lambda x: x[IDX] ** 2, lambda x: x[torch.tensor(IDX)] ** 2, [(4, 5)]),
    ("getitem_mixed", lambda x: npg.sin(x[IDX, :, 1]), lambda x: torch.sin(x[torch.tensor(IDX), :, 1]), [(4, 3, 2)]),
    ("getitem_mask", lambda x: npg.exp(x[MASK]), lambda x: torch.exp(x[torch.tensor(MASK)]), [(4, 5)]),
    ("getitem_none_ellipsis", lambda x: x[None, ..., 1] ** 3, lambda x: x[None, ..., 1] ** 3, [(2, 3, 2)]),
    ("take", lambda x: npg.take(x, np.array([0, 5, 5, 2])) ** 2,
     lambda x: torch.take(x, torch.tensor([0, 5, 5, 2])) ** 2, [(2, 3)]),
    ("take_along_axis", lambda x: npg.tanh(npg.take_along_axis(x, np.array([[0, 2], [1, 1]]), axis=1)),
     lambda x: torch.tanh(torch.take_along_dim(x, torch.tensor([[0, 2], [1, 1]]), dim=1)), [(2, 3)]),
    ("put_along_axis", lambda x, v: npg.put_along_axis(x, np.array([[0], [2]]), v, axis=1) ** 2,
     lambda x, v: torch.scatter(x, 1, torch.tensor([[0], [2]]), v) ** 2, [(2, 3), (2, 1)]),
    # contractions
    ("matmul_2d", lambda a, b: npg.tanh(a @ b), lambda a, b: torch.tanh(a @ b), [(3, 4), (4, 2)]),
    ("matmul_batched", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [(2, 3, 4), (1, 4, 5)]),
    ("matmul_vec_mat", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [(4,), (2, 4, 3)]),
    ("matmul_mat_vec", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [(2, 3, 4), (4,)]),
    ("matmul_vec_vec", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [(4,), (4,)]),
    ("x@x", lambda a: a @ a, lambda a: a @ a, [(3, 3)]),
    ("dot", lambda a, b: npg.dot(a, b) ** 2, lambda a, b: (a @ b) ** 2, [(3, 4), (4,)]),
    ("inner", lambda a, b: npg.sin(npg.inner(a, b)), lambda a, b: torch.sin(torch.inner(a, b)), [(2, 3), (4, 3)]),
    ("outer", lambda a, b: npg.outer(a, b) ** 2, lambda a, b: torch.outer(a, b) ** 2, [(3,), (4,)]),
    ("tensordot", lambda a, b: npg.tensordot(a, b, axes=([1, 2], [0, 1])) ** 2,
     lambda a, b: torch.tensordot(a, b, dims=([1, 2], [0, 1])) ** 2, [(2, 3, 4), (3, 4, 2)]),
    ("einsum_bilinear", lambda a, b, c: npg.einsum("ij,jk,k->i", a, b, c) ** 2,
     lambda a, b, c: torch.einsum("ij,jk,k->i", a, b, c) ** 2, [(2, 3), (3, 4), (4,)]),
    ("einsum_trace", lambda a: npg.einsum("ii->", a) * npg.einsum("ij,ij->i", a, a),
     lambda a: torch.einsum("ii->", a) * torch.einsum("ij,ij->i", a, a), [(3, 3)]),
    ("einsum_ellipsis", lambda a, b: npg.einsum("...ij,...jk->...ik", a, b) ** 2,
     lambda a, b: torch.einsum("...ij,...jk->...ik", a, b) ** 2, [(2, 3, 4), (2, 4, 2)]),
    ("einsum_implicit", lambda a, b: npg.einsum("ij,kj", a, b) ** 3,
     lambda a, b: torch.einsum("ij,kj", a, b) ** 3, [(2, 3), (4, 3)]),
]


def _conv_cases():
    cases = []
    if not hasattr(npg, "conv2d"):
        return cases
    cases += [
        ("conv2d", lambda x, w, b: npg.tanh(npg.conv2d(x, w, b, stride=1, padding=1)),
         lambda x, w, b: torch.tanh(F.conv2d(x, w, b, stride=1, padding=1)), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
        ("conv2d_stride_groups", lambda x, w: npg.conv2d(x, w, stride=2, groups=2) ** 2,
         lambda x, w: F.conv2d(x, w, stride=2, groups=2) ** 2, [(1, 4, 6, 6), (2, 2, 2, 2)]),
        ("max_pool2d", lambda x: npg.max_pool2d(x * x, 2) ** 2, lambda x: F.max_pool2d(x * x, 2) ** 2,
         [(1, 2, 4, 4)]),
        ("avg_pool2d", lambda x: npg.avg_pool2d(npg.sin(x), 2, padding=1) ** 2,
         lambda x: F.avg_pool2d(torch.sin(x), 2, padding=1) ** 2, [(1, 2, 5, 5)]),
    ]
    from npgrad.ops import conv
    if hasattr(conv, "conv_transpose2d"):
        cases.append(("conv_transpose2d", lambda x, w: conv.conv_transpose2d(x, w, stride=2) ** 2,
                      lambda x, w: F.conv_transpose2d(x, w, stride=2) ** 2, [(1, 2, 3, 3), (2, 3, 2, 2)]))
    if hasattr(conv, "conv1d"):
        cases.append(("conv1d", lambda x, w: npg.sin(conv.conv1d(x, w, padding=2, dilation=2)),
                      lambda x, w: torch.sin(F.conv1d(x, w, padding=2, dilation=2)), [(2, 2, 7), (3, 2, 3)]))
    return cases


EXTRA_CASES = EXTRA + _conv_cases()


@pytest.mark.parametrize("name,fn,tfn,shapes", EXTRA_CASES, ids=[c[0] for c in EXTRA_CASES])
def test_second_derivative_index_linalg_conv(name, fn, tfn, shapes):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(s) for s in shapes]
    higher_order(fn, tfn, arrays, order=2, what=name)


# ------------------------------------------------------------------ third derivatives (sample)
THIRD = [
    ("tanh", lambda x: npg.tanh(x), torch.tanh, [(5,)]),
    ("sigmoid", lambda x: npg.sigmoid(x), torch.sigmoid, [(2, 3)]),
    ("log_pos", lambda x: npg.log(x * x + 1), lambda x: torch.log(x * x + 1), [(4,)]),
    ("pow", lambda a, b: (a * a + 0.5) ** b, lambda a, b: (a * a + 0.5) ** b, [(3,), (3,)]),
    ("div", lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1), [(2, 3), (3,)]),
    ("logsumexp", lambda x: npg.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, 1), [(3, 4)]),
    ("softmax_ce", lambda x: npg.sum(npg.exp(x - npg.logsumexp(x, axis=1, keepdims=True)) * x, axis=1),
     lambda x: torch.sum(torch.softmax(x, 1) * x, 1), [(2, 5)]),
    ("std", lambda x: npg.std(x, axis=0), lambda x: torch.std(x, 0, correction=0), [(4, 3)]),
    ("prod", lambda x: npg.prod(x, axis=1), lambda x: torch.prod(x, 1), [(3, 4)]),
    ("cumprod", lambda x: npg.cumprod(x, axis=0), lambda x: torch.cumprod(x, 0), [(4, 2)]),
    ("matmul_tanh", lambda a, b: npg.tanh(a @ b), lambda a, b: torch.tanh(a @ b), [(2, 3), (3, 2)]),
    ("einsum_cubic", lambda a: npg.einsum("ij,jk,ki->i", a, a, a), lambda a: torch.einsum("ij,jk,ki->i", a, a, a),
     [(3, 3)]),
    ("getitem_sin", lambda x: npg.sin(x[IDX]) * x[0], lambda x: torch.sin(x[torch.tensor(IDX)]) * x[0], [(4, 5)]),
    ("sqrt_exp", lambda x: npg.sqrt(npg.exp(x) + 1), lambda x: torch.sqrt(torch.exp(x) + 1), [(5,)]),
]


@pytest.mark.parametrize("name,fn,tfn,shapes", THIRD, ids=[c[0] for c in THIRD])
def test_third_derivative(name, fn, tfn, shapes):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes]
    higher_order(fn, tfn, arrays, order=3, what=name)


# ------------------------------------------------------------------ API behaviour
def test_backward_create_graph_gives_differentiable_grad():
    x = npg.tensor([0.3, -1.2, 2.0])
    y = npg.sum(x ** 3)
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, npg.Tensor) and g.requires_grad
    assert_close(g, 3 * x.data ** 2)
    x.grad = None
    npg.sum(g).backward()
    assert_close(x.grad, 6 * x.data)


def test_grad_float32_second_order_keeps_dtype():
    x = npg.tensor(np.array([0.5, 1.5], dtype=np.float32))
    g, = npg.autograd.grad(npg.sum(npg.sin(x) * 2.5), x, create_graph=True)
    h, = npg.autograd.grad(npg.sum(g), x)
    assert g.dtype == np.float32 and h.dtype == np.float32
    assert_close(h, -2.5 * np.sin(x.data))


def test_mixed_partials_and_grad_outputs():
    a, b = npg.tensor([1.0, 2.0]), npg.tensor([0.5, -1.0])
    ta, tb = (torch.tensor(v.data, requires_grad=True) for v in (a, b))
    v = np.array([0.7, -0.3])
    ga, = npg.autograd.grad(a * a * b, a, grad_outputs=v, create_graph=True)
    tga, = torch.autograd.grad(ta * ta * tb, ta, grad_outputs=torch.tensor(v), create_graph=True)
    hb, = npg.autograd.grad(npg.sum(ga), b)
    thb, = torch.autograd.grad(tga.sum(), tb)
    assert_close(hb, thb.numpy())


def test_grad_of_grad_unused_and_constant():
    x = npg.tensor([1.0, 2.0])
    g, = npg.autograd.grad(npg.sum(3 * x), x, create_graph=True)
    assert_close(g, [3.0, 3.0])
    assert not g.requires_grad  # a constant: nothing to differentiate further
    with pytest.raises(RuntimeError, match="does not require grad"):
        npg.autograd.grad(npg.sum(g), x)
