"""Batching rules of internal ops that the transforms reach through VJPs and JVPs (the conv family's three
bilinear ops, the shared-weight matmul, the einsum contraction...): each runs vectorized (no
``VmapFallbackWarning``) and matches a Python loop of the unbatched call, and the second-order transforms built
on them match torch.func."""
import itertools

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from npgrad import func_vmap as fv
from npgrad.ops import conv as cv
from tests.helpers import assert_close, no_vmap_fallback

F, TF = npg.nn.functional, torch.nn.functional
Fallback = fv._vmap_rules.VmapFallbackWarning
RNG = np.random.default_rng(41)


def _n(*shape):
    return RNG.standard_normal(shape)


def _vmap_vs_loop(fn, arrays, in_dims):
    """vmap(fn) without a fallback vs a loop of fn: values, and the gradient of a random projection of the
    output with respect to every input (through the batched op's VJPs)."""
    size = next(a.shape[d] for a, d in zip(arrays, in_dims) if d is not None)
    ts = [npg.tensor(a) for a in arrays]
    with no_vmap_fallback():
        out = npg.func.vmap(fn, in_dims=in_dims)(*ts)
    ct = _n(*out.shape)
    (out * npg.tensor(ct, requires_grad=False)).sum().backward()
    ls = [npg.tensor(a) for a in arrays]
    parts = [fn(*(t if d is None else t[(slice(None),) * d + (i,)] for t, d in zip(ls, in_dims)))
             for i in range(size)]
    ref = npg.stack(parts)
    (ref * npg.tensor(ct, requires_grad=False)).sum().backward()
    assert_close(out, ref.data, np.float64)
    for t, l in zip(ts, ls):
        assert_close(t.grad, l.grad.data, np.float64)
    return out


# ------------------------------------------------------------------------ the three conv ops
# (nd, x shape, w shape, stride, padding, dilation, groups)
GEOMS = [
    (1, (2, 4, 9), (6, 2, 3), 2, 1, 1, 2),
    (2, (2, 3, 7, 6), (4, 3, 2, 3), 1, "same", 2, 1),   # asymmetric 'same' padding (an even kernel)
    (2, (1, 4, 6, 6), (4, 1, 3, 3), 1, 1, 1, 4),        # depthwise
    (3, (1, 2, 5, 4, 4), (3, 2, 2, 2, 3), (1, 2, 1), 0, 1, 1),
]


def _geom(nd, xs, ws, s, p, d, g):
    return cv._conv_geom(cv._name("conv", nd), nd, np.zeros(xs), np.zeros(ws), None, s, p, d, g)


@pytest.mark.parametrize("case", range(len(GEOMS)))
@pytest.mark.parametrize("dims", list(itertools.product((0, None), repeat=3))[:-1])
def test_conv_op_batches_every_operand(case, dims):
    nd, xs, ws, s, p, d, g = GEOMS[case]
    geom = _geom(nd, xs, ws, s, p, d, g)
    B = 3
    arrays = [_n(*((B,) if dm == 0 else ()) + sh) for sh, dm in zip((xs, ws, (ws[0],)), dims)]
    _vmap_vs_loop(lambda x, w, b: cv._conv_op(x, w, b, geom), arrays, dims)


@pytest.mark.parametrize("case", range(len(GEOMS)))
@pytest.mark.parametrize("dims", list(itertools.product((0, None), repeat=3))[:-1])
def test_conv_transpose_op_batches_every_operand(case, dims):
    nd, xs, ws, s, p, d, g = GEOMS[case]
    geom = _geom(nd, xs, ws, s, p, d, g)
    ys = tuple(cv._conv_op(npg.tensor(np.zeros(xs)), npg.tensor(np.zeros(ws)), None, geom).shape)
    B, L = 2, xs[2:]
    arrays = [_n(*((B,) if dm == 0 else ()) + sh) for sh, dm in zip((ys, ws, (xs[1],)), dims)]
    _vmap_vs_loop(lambda y, w, b: cv._conv_transpose_op(y, w, b, geom, L), arrays, dims)


@pytest.mark.parametrize("case", range(len(GEOMS)))
@pytest.mark.parametrize("dims", [(0, 0), (0, None), (None, 0)])
def test_conv_weight_op_batches_every_operand(case, dims):
    nd, xs, ws, s, p, d, g = GEOMS[case]
    geom = _geom(nd, xs, ws, s, p, d, g)
    ys = tuple(cv._conv_op(npg.tensor(np.zeros(xs)), npg.tensor(np.zeros(ws)), None, geom).shape)
    B, K = 3, ws[2:]
    arrays = [_n(*((B,) if dm == 0 else ()) + sh) for sh, dm in zip((xs, ys), dims)]
    _vmap_vs_loop(lambda x, y: cv._conv_weight_op(x, y, geom, K), arrays, dims)


def _conv_hessian_case(nd, xs, ws, s, p, d, g, wrt):
    x, w, b = _n(*xs), _n(*ws), _n(ws[0])
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    tconv = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[nd]

    def f(lib, conv):
        def run(x, w, b):
            return (lib.tanh(conv(x, w, b, stride=s, padding=p, dilation=d, groups=g)) ** 2).sum()
        return run
    return x, w, b, f(npg, conv), f(torch, tconv)


@pytest.mark.parametrize("case", range(len(GEOMS)))
@pytest.mark.parametrize("wrt", [0, 1, 2])
@pytest.mark.parametrize("how", ["jacrev_jacfwd", "hessian", "jacfwd_jacrev"])
def test_second_derivatives_of_a_conv_match_torch_without_a_loop(case, wrt, how):
    x, w, b, f, tfn = _conv_hessian_case(*GEOMS[case], wrt)
    tr = {"jacrev_jacfwd": lambda h: npg.func.jacrev(npg.func.jacfwd(h, argnums=wrt), argnums=wrt),
          "hessian": lambda h: npg.func.hessian(h, argnums=wrt),
          "jacfwd_jacrev": lambda h: npg.func.jacfwd(npg.func.jacrev(h, argnums=wrt), argnums=wrt)}[how]
    with no_vmap_fallback():
        h = tr(f)(npg.tensor(x), npg.tensor(w), npg.tensor(b))
    th = tf.hessian(tfn, argnums=wrt)(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    assert_close(h, th.numpy(), np.float64)


@pytest.mark.parametrize("transposed", [False, True])
def test_per_sample_hessian_of_a_conv_model_matches_torch(transposed):
    """vmap(hessian) over samples with a shared weight: the conv ops' VJPs run on batched cotangents and tangents."""
    w, b, x = _n(2, 3, 3, 3), _n(3 if transposed else 2), _n(4, 2 if transposed else 3, 5, 5)

    def f(lib, conv):
        def run(w, b, xi):
            return (lib.tanh(conv(xi[None], w, b, stride=2, padding=1)) ** 2).sum()
        return run
    conv, tconv = (F.conv_transpose2d, TF.conv_transpose2d) if transposed else (F.conv2d, TF.conv2d)
    with no_vmap_fallback():
        h = npg.func.vmap(npg.func.hessian(f(npg, conv), argnums=(0, 1)), in_dims=(None, None, 0))(
            npg.tensor(w), npg.tensor(b), npg.tensor(x))
    th = tf.vmap(tf.hessian(f(torch, tconv), argnums=(0, 1)), in_dims=(None, None, 0))(
        torch.tensor(w), torch.tensor(b), torch.tensor(x))
    for i in range(2):
        for j in range(2):
            assert_close(h[i][j], th[i][j].numpy(), np.float64)


# ------------------------------------------------------------------------ shared_matmul and _contract
_TRANSFORMS = {
    "hessian": (lambda f: npg.func.hessian(f, argnums=(0, 1)), lambda f: tf.hessian(f, argnums=(0, 1))),
    "jacrev_grad": (lambda f: npg.func.jacrev(npg.func.grad(f, argnums=(0, 1)), argnums=(0, 1)),
                    lambda f: tf.jacrev(tf.grad(f, argnums=(0, 1)), argnums=(0, 1))),
    "jacrev_jacrev": (lambda f: npg.func.jacrev(npg.func.jacrev(f, argnums=(0, 1)), argnums=(0, 1)),
                      lambda f: tf.jacrev(tf.jacrev(f, argnums=(0, 1)), argnums=(0, 1))),
    "jacfwd_jacrev": (lambda f: npg.func.jacfwd(npg.func.jacrev(f, argnums=(0, 1)), argnums=(0, 1)),
                      lambda f: tf.jacfwd(tf.jacrev(f, argnums=(0, 1)), argnums=(0, 1))),
}


@pytest.mark.parametrize("how", list(_TRANSFORMS))
@pytest.mark.parametrize("xshape", [(4, 3), (4, 5, 3)])
def test_per_sample_second_derivatives_of_an_mlp_without_a_loop(how, xshape):
    """Shared weights run as shared_matmul; its create_graph VJPs (shared_matmul, _contract) then run under
    jacrev's vmap with batched cotangents."""
    W1, W2, x = _n(3, 4), _n(4, 2), _n(*xshape)

    def f(lib):
        return lambda W1, W2, xi: (lib.tanh(lib.tanh(xi @ W1) @ W2.T.T) ** 2).sum()
    ours, theirs = _TRANSFORMS[how]
    with no_vmap_fallback():
        h = npg.func.vmap(ours(f(npg)), in_dims=(None, None, 0))(npg.tensor(W1), npg.tensor(W2), npg.tensor(x))
    th = tf.vmap(theirs(f(torch)), in_dims=(None, None, 0))(torch.tensor(W1), torch.tensor(W2), torch.tensor(x))
    for i in range(2):
        for j in range(2):
            assert_close(h[i][j], th[i][j].numpy(), np.float64)


@pytest.mark.parametrize("dims", [(0, None), (None, 0), (0, 0)])
def test_shared_matmul_batches_every_operand(dims):
    from npgrad._vmap_nn import shared_matmul
    a, b = _n(4, 2, 5, 3), np.broadcast_to(_n(1, 1, 3, 2), (4, 1, 3, 2))
    arrays = [a if dims[0] is None else np.stack([a, a * 2, -a]), b if dims[1] is None else np.stack([b, b + 1, b * 3])]
    _vmap_vs_loop(shared_matmul, arrays, dims)


@pytest.mark.parametrize("spec,shapes", [("ij,jk->ik", [(3, 4), (4, 2)]), ("ii,ij->j", [(3, 3), (3, 2)]),
                                         ("bij,bjk,k->bi", [(2, 3, 4), (2, 4, 5), (5,)])])
def test_contract_of_tensors_batches_as_einsum(spec, shapes):
    from npgrad.ops.contract import _contract
    for dims in itertools.product((0, None), repeat=len(shapes)):
        if all(d is None for d in dims):
            continue
        arrays = [_n(*((3,) if d == 0 else ()) + s) for s, d in zip(shapes, dims)]
        _vmap_vs_loop(lambda *ops: _contract(spec, *ops), arrays, dims)


def test_second_derivatives_of_einsum_with_a_diagonal_match_torch():
    a, b = _n(3, 3), _n(3, 2)

    def f(lib):
        return lambda a, b: (lib.einsum("ii,ij->j", a, b) ** 3).sum() + (lib.einsum("ij,jk->ik", a, a) ** 2).sum()
    with no_vmap_fallback():
        h = npg.func.jacrev(npg.func.jacrev(f(npg), argnums=(0, 1)), argnums=(0, 1))(npg.tensor(a), npg.tensor(b))
    th = tf.hessian(f(torch), argnums=(0, 1))(torch.tensor(a), torch.tensor(b))
    for i in range(2):
        for j in range(2):
            assert_close(h[i][j], th[i][j].numpy(), np.float64)


# ------------------------------------------------------------------------ _assign: scatter, index_fill
@pytest.mark.parametrize("dims", [(0, None), (None, 0), (0, 0)])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_fill_batches_input_and_value(dims, dim):
    idx = np.array([2, 0, 2])
    x, v = _n(3, 4, 3), _n()
    arrays = [np.stack([x, -x, 2 * x]) if dims[0] == 0 else x, _n(3) if dims[1] == 0 else v]
    _vmap_vs_loop(lambda a, val: npg.index_fill(a, dim, npg.tensor(idx), val), arrays, dims)


@pytest.mark.parametrize("dims", [(0, None), (None, 0), (0, 0)])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_batches_input_and_src(dims, dim):
    index = RNG.integers(0, 3, (2, 3))
    arrays = [_n(*((3,) if dims[0] == 0 else ()) + (3, 4)), _n(*((3,) if dims[1] == 0 else ()) + (2, 4))]
    _vmap_vs_loop(lambda a, s: npg.scatter(a, dim, npg.tensor(index), s), arrays, dims)
    _vmap_vs_loop(lambda a, s: npg.scatter(a, dim, npg.tensor(index), s, reduce="add"), arrays, dims)
    if dims[0] == 0:
        _vmap_vs_loop(lambda a: npg.scatter(a, dim, npg.tensor(index), value=1.5), arrays[:1], dims[:1])


def test_scatter_and_index_fill_match_torch_func_vmap():
    x, s, v = _n(4, 3, 5), _n(4, 2, 5), _n(4)
    index = RNG.integers(0, 3, (2, 5))
    with no_vmap_fallback():
        a = npg.func.vmap(lambda a, s: npg.scatter(a, 0, npg.tensor(index), s))(npg.tensor(x), npg.tensor(s))
        b = npg.func.vmap(lambda a, v: npg.index_fill(a, 1, npg.tensor(np.array([4, 1])), v))(npg.tensor(x),
                                                                                            npg.tensor(v))
    ta = tf.vmap(lambda a, s: torch.scatter(a, 0, torch.tensor(index), s))(torch.tensor(x), torch.tensor(s))
    tb = tf.vmap(lambda a, v: torch.index_fill(a, 1, torch.tensor([4, 1]), v))(torch.tensor(x), torch.tensor(v))
    assert_close(a, ta.numpy(), np.float64)
    assert_close(b, tb.numpy(), np.float64)


@pytest.mark.parametrize("key", [(slice(None), np.array([0, 2])), (np.array([1, 0]), slice(None), np.array([2, 3])),
                                 (np.array([[0], [2]]), np.array([1, 3])), (slice(1, 3), 2)])
@pytest.mark.parametrize("dims", [(0, None), (None, 0), (0, 0)])
def test_assign_batches_with_adjacent_and_apart_advanced_keys(key, dims):
    from npgrad.ops.index import _assign
    x = _n(3, 4, 5)
    sel = x[key].shape
    arrays = [_n(*((3,) if dims[0] == 0 else ()) + x.shape), _n(*((3,) if dims[1] == 0 else ()) + sel[1:])]
    _vmap_vs_loop(lambda a, v: _assign(a, key, v), arrays, dims)


# ------------------------------------------------------------------------ max_unpool
@pytest.mark.filterwarnings("ignore:There is a performance drop")   # (torch's own loop)
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("with_n", [True, False])
@pytest.mark.parametrize("dims", [(0, 0), (0, None), (None, 0)])
def test_max_unpool_batches_input_and_indices(nd, with_n, dims):
    pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[nd]
    tunpool = {1: TF.max_unpool1d, 2: TF.max_unpool2d, 3: TF.max_unpool3d}[nd]
    shape = ((2,) if with_n else ()) + (3,) + (4,) * nd
    xs = _n(3, *shape)
    idx = np.stack([pool(npg.tensor(v), 2, return_indices=True)[1].data for v in xs])
    vals = _n(*idx.shape)
    arrays = [vals if dims[0] == 0 else vals[0], idx if dims[1] == 0 else idx[1]]
    ts = [npg.tensor(a, requires_grad=False) if k == 1 else npg.tensor(a) for k, a in enumerate(arrays)]
    with no_vmap_fallback():
        out = npg.func.vmap(lambda v, i: unpool(v, i, 2, output_size=(5,) * nd), in_dims=dims)(*ts)
    ct = _n(*out.shape)
    (out * npg.tensor(ct, requires_grad=False)).sum().backward()
    tv = torch.tensor(arrays[0], requires_grad=True)
    ref = tf.vmap(lambda v, i: tunpool(v, i, 2, output_size=(5,) * nd), in_dims=dims)(tv, torch.tensor(arrays[1]))
    (ref * torch.tensor(ct)).sum().backward()
    assert_close(out, ref.detach().numpy(), np.float64)
    assert_close(ts[0].grad, tv.grad.numpy(), np.float64)


def test_max_unpool_under_vmap_keeps_its_shape_error():
    with pytest.raises(RuntimeError, match="max_unpool2d: Expected shape of indices"):
        npg.func.vmap(lambda v, i: F.max_unpool2d(v, i, 2))(npg.tensor(_n(3, 2, 2, 2)),
                                                             npg.tensor(np.zeros((3, 2, 2, 3), np.int64)))


@pytest.mark.filterwarnings("ignore:There is a performance drop")
@pytest.mark.parametrize("how", ["jacfwd", "hessian"])
def test_jacobians_through_max_unpool_without_a_loop(how):
    x = _n(2, 3, 4, 4)
    _, idx = F.max_pool2d(npg.tensor(x), 2, return_indices=True)
    v = _n(*idx.shape)

    def f(lib, unpool, i):
        return lambda v: (lib.tanh(unpool(v, i, 2)) ** 2 * lib.arange(16.0).reshape(4, 4)).sum(-1)
    tr = npg.func.jacfwd if how == "jacfwd" else npg.func.hessian
    with no_vmap_fallback():
        j = tr(lambda v: f(npg, F.max_unpool2d, idx)(v).sum() if how == "hessian" else f(npg, F.max_unpool2d, idx)(v))(
            npg.tensor(v))
    ti = torch.tensor(idx.data)
    tfn = f(torch, TF.max_unpool2d, ti)
    ref = (tf.hessian(lambda v: tfn(v).sum()) if how == "hessian" else tf.jacrev(tfn))(torch.tensor(v))
    assert_close(j, ref.numpy(), np.float64)


# ------------------------------------------------------------------------ the transposed-VJP fallback (stand_in)
def _cube(x):
    from npgrad.tensor import _make
    return _make(x.data ** 3, "test_cube_no_jvp", (x,), (x.data,), (lambda g, y, x: 3 * x * x * g,))


@pytest.mark.filterwarnings("ignore:forward AD. op 'test_cube_no_jvp' has no JVP rule")
def test_hessian_through_an_op_without_a_jvp_rule_is_vectorized():
    """hessian / jacfwd give the fallback a tangent batched by vmap: it is the small pass's cotangent as it is."""
    x0 = _n(4)
    with no_vmap_fallback():
        H = npg.func.hessian(lambda x: npg.sum(npg.sin(_cube(x)) * npg.arange(4.0)))(npg.tensor(x0))
        J2 = npg.func.jacfwd(npg.func.jacfwd(_cube))(npg.tensor(x0))
    th = tf.hessian(lambda x: (torch.sin(x ** 3) * torch.arange(4.0, dtype=torch.float64)).sum())(torch.tensor(x0))
    assert_close(H, th.numpy(), np.float64)
    assert_close(J2, tf.jacfwd(tf.jacfwd(lambda x: x ** 3))(torch.tensor(x0)).numpy(), np.float64)


@pytest.mark.filterwarnings("ignore:forward AD. op 'test_cube_no_jvp' has no JVP rule")
def test_reverse_mode_through_the_batched_fallback():
    """jacfwd's batched tangents through the fallback, then reverse mode through its result: vs torch."""
    x0 = _n(3)
    x = npg.tensor(x0)
    with no_vmap_fallback():
        J = npg.func.jacfwd(lambda v: npg.sin(_cube(v)))(x)
    g, = npg.autograd.grad((J * npg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=False)).sum(), [x])
    tx = torch.tensor(x0, requires_grad=True)
    tj = tf.jacfwd(lambda v: torch.sin(v ** 3))(tx)
    tg, = torch.autograd.grad((tj * torch.arange(9.0, dtype=torch.float64).reshape(3, 3)).sum(), [tx])
    assert_close(J, tj.detach().numpy(), np.float64)
    assert_close(g, tg.numpy(), np.float64)
