"""torch's remaining top-level names (npgrad/ops/torch_top.py, torch_top2.py) against torch 2.13: the
aten-signature functionals (``npg.embedding(weight, indices)``, ``npg.batch_norm(input, weight, bias, ...)``, the
losses with int reductions, ``convolution``, ``grid_sampler``, the cells...), the ``*_copy`` view copies (no
aliasing, gradient as through the view), the random-state / thread / print facts, and the methods
``index_reduce put_ histogram``. Values, float64 gradients, float32 kept, errors."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def first(f):
    """The first element of a tuple result (the differentiable output)."""
    def g(*a):
        r = f(*a)
        return r[0] if isinstance(r, tuple) else r
    return g


# --------------------------------------------------------------------------------- functionals
def _ints(a):
    return a


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_weight_first(dtype):
    w, idx = rnd(6, 3, dtype=dtype), np.array([[0, 2], [5, 2]])
    compare_with_torch(lambda w: npg.embedding(w, npg.tensor(idx)), lambda w: torch.embedding(w, torch.tensor(idx)),
                       [w], what="embedding")
    compare_with_torch(lambda w: npg.embedding(w, npg.tensor(idx), 2),
                       lambda w: torch.embedding(w, torch.tensor(idx), 2), [w], what="embedding padding_idx")
    with pytest.raises((IndexError, ValueError), match="embedding"):
        npg.embedding(npg.tensor(w), npg.tensor(np.array([6])))


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_embedding_bag(mode):
    w, idx, off = rnd(10, 3), np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 4])
    compare_with_torch(first(lambda w: npg.embedding_bag(w, npg.tensor(idx), npg.tensor(off), False, mode)),
                       first(lambda w: torch.embedding_bag(w, torch.tensor(idx), torch.tensor(off), False, mode)),
                       [w], what=f"embedding_bag mode {mode}")
    got = npg.embedding_bag(npg.tensor(w), npg.tensor(idx), npg.tensor(off), False, mode)
    exp = torch.embedding_bag(torch.tensor(w), torch.tensor(idx), torch.tensor(off), False, mode)
    for g, e in zip(got[1:], exp[1:]):
        np.testing.assert_array_equal(g.data, e.numpy())
    # 2-D indices: bags of equal size
    idx2 = idx.reshape(2, 4)
    compare_with_torch(first(lambda w: npg.embedding_bag(w, npg.tensor(idx2), None, False, mode)),
                       first(lambda w: torch.nn.functional.embedding_bag(torch.tensor(idx2), w,
                                                                         mode=("sum", "mean", "max")[mode])),
                       [w], what=f"embedding_bag 2-D mode {mode}")
    with pytest.raises(ValueError, match="embedding_bag: mode"):
        npg.embedding_bag(npg.tensor(w), npg.tensor(idx), npg.tensor(off), False, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_and_instance_norm(dtype):
    x, w, b = rnd(4, 3, 5, dtype=dtype), rnd(3, seed=1, dtype=dtype), rnd(3, seed=2, dtype=dtype)
    compare_with_torch(lambda x, w, b: npg.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
                       lambda x, w, b: torch.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False), [x, w, b],
                       what="batch_norm")
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    nrm, nrv, trm, trv = npg.tensor(rm, requires_grad=False), npg.tensor(rv, requires_grad=False), torch.tensor(rm), torch.tensor(rv)
    compare_with_torch(lambda x, w, b: npg.batch_norm(x, w, b, nrm, nrv, True, 0.3, 1e-5, False),
                       lambda x, w, b: torch.batch_norm(x, w, b, trm, trv, True, 0.3, 1e-5, False), [x, w, b],
                       what="batch_norm running")
    assert_close(nrm, trm.numpy())
    assert_close(nrv, trv.numpy())
    compare_with_torch(lambda x, w, b: npg.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
                       lambda x, w, b: torch.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False), [x, w, b],
                       what="instance_norm")
    with pytest.raises(ValueError):
        npg.batch_norm(npg.tensor(x), npg.tensor(rnd(4)), None, None, None, True, 0.1, 1e-5, False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("red", [0, 1, 2])
def test_losses_int_reduction(dtype, red):
    a, b, c = rnd(4, 5, dtype=dtype), rnd(4, 5, seed=1, dtype=dtype), rnd(4, 5, seed=2, dtype=dtype)
    y = np.array([1.0, -1.0, 1.0, -1.0], dtype)
    lp = np.log(np.random.default_rng(3).dirichlet(np.ones(5), 4)).astype(dtype)
    t01 = np.random.default_rng(4).uniform(size=(4, 5)).astype(dtype)
    pw = np.abs(rnd(5, seed=5, dtype=dtype)) + 0.5
    cases = [
        ("kl_div", lambda m, x, z: m.kl_div(x, z, red), [lp, np.exp(lp[::-1].copy())]),
        ("kl_div log_target", lambda m, x, z: m.kl_div(x, z, red, log_target=True), [lp, lp[::-1].copy()]),
        ("poisson_nll_loss", lambda m, x, z: m.poisson_nll_loss(x, z, True, True, 1e-8, red), [a, np.abs(b) * 3]),
        ("cosine_embedding_loss", lambda m, x, z: m.cosine_embedding_loss(x, z, m.tensor(y), 0.1, red), [a, b]),
        ("hinge_embedding_loss", lambda m, x: m.hinge_embedding_loss(x, m.tensor(np.sign(c)), 0.5, red), [a]),
        ("margin_ranking_loss", lambda m, x, z: m.margin_ranking_loss(x, z, m.tensor(np.sign(c)), 0.2, red),
         [a, b]),
        ("triplet_margin_loss", lambda m, x, z, w: m.triplet_margin_loss(x, z, w, 1.0, 2.0, 1e-6, True, red),
         [a, b, c]),
        ("bce_with_logits", lambda m, x: m.binary_cross_entropy_with_logits(x, m.tensor(t01), None, m.tensor(pw),
                                                                              red), [a]),
    ]
    for what, f, arrays in cases:
        compare_with_torch(lambda *xs: f(npg, *xs), lambda *ts: f(torch, *ts), arrays, what=f"{what} red={red}")
    with pytest.raises(ValueError, match="kl_div: reduction"):
        npg.kl_div(npg.tensor(lp), npg.tensor(lp), 3)


def test_ctc_loss_int_reduction():
    T, N, C, S = 6, 2, 4, 3
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(C), (T, N)))
    tg, il, tl = np.array([[1, 2, 1], [3, 1, 0]]), np.array([6, 5]), np.array([3, 2])
    for red in (0, 1, 2):
        compare_with_torch(lambda x: npg.ctc_loss(x, npg.tensor(tg), npg.tensor(il), npg.tensor(tl), 0, red),
                           lambda x: torch.ctc_loss(x, torch.tensor(tg), torch.tensor(il), torch.tensor(tl), 0, red),
                           [lp], what=f"ctc_loss {red}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_pools_pad_rrelu(dtype):
    x = rnd(2, 3, 9, dtype=dtype)
    compare_with_torch(first(lambda x: npg.adaptive_max_pool1d(x, 4)),
                       first(lambda x: torch.adaptive_max_pool1d(x, 4)), [x], what="adaptive_max_pool1d")
    np.testing.assert_array_equal(npg.adaptive_max_pool1d(npg.tensor(x), 4)[1].data,
                                  torch.adaptive_max_pool1d(torch.tensor(x), 4)[1].numpy())
    for args in ((3,), (3, 2, 1), (2, [], 0, 2, True)):
        compare_with_torch(first(lambda x: npg.max_pool1d_with_indices(x, *args)),
                           first(lambda x: torch.max_pool1d_with_indices(x, *args)), [x], what=f"max_pool1d {args}")
        np.testing.assert_array_equal(npg.max_pool1d_with_indices(npg.tensor(x), *args)[1].data,
                                      torch.max_pool1d_with_indices(torch.tensor(x), *args)[1].numpy())
    for pad, v in (([1, 2], 0), ([-1, 2, 0, 1], 1.5)):
        compare_with_torch(lambda x: npg.constant_pad_nd(x, pad, v), lambda x: torch.constant_pad_nd(x, pad, v),
                           [x], what=f"constant_pad_nd {pad}")
    compare_with_torch(lambda x: npg.rrelu(x, 0.1, 0.3, False), lambda x: torch.rrelu(x, 0.1, 0.3, False), [x],
                       what="rrelu eval")
    with pytest.raises(ValueError, match="generator"):
        npg.rrelu(npg.tensor(x), generator=object())


@pytest.mark.parametrize("dtype", DTYPES)
def test_convolution(dtype):
    x, w2, b = rnd(2, 4, 7, 6, dtype=dtype), rnd(6, 2, 3, 2, seed=1, dtype=dtype), rnd(6, seed=2, dtype=dtype)
    compare_with_torch(lambda x, w, b: npg.convolution(x, w, b, [2, 1], [1, 0], [1, 2], False, [0, 0], 2),
                       lambda x, w, b: torch.convolution(x, w, b, [2, 1], [1, 0], [1, 2], False, [0, 0], 2),
                       [x, w2, b], what="convolution 2d")
    wt = rnd(4, 3, 3, 2, seed=3, dtype=dtype)
    compare_with_torch(lambda x, w: npg.convolution(x, w, None, [2, 2], [1, 0], [1, 1], True, [1, 0], 1),
                       lambda x, w: torch.convolution(x, w, None, [2, 2], [1, 0], [1, 1], True, [1, 0], 1),
                       [x, wt], what="convolution transposed")
    x1, w1 = rnd(2, 3, 8, dtype=dtype), rnd(4, 3, 3, seed=4, dtype=dtype)
    compare_with_torch(lambda x, w: npg.convolution(x, w, None, [1], [1], [1], False, [0], 1),
                       lambda x, w: torch.convolution(x, w, None, [1], [1], [1], False, [0], 1), [x1, w1],
                       what="convolution 1d")
    with pytest.raises(ValueError, match="convolution"):
        npg.convolution(npg.tensor(x), npg.tensor(rnd(6, 2)), None, [1], [0], [1], False, [0], 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_grid_sampler_affine_grid(dtype):
    x = rnd(2, 3, 5, 4, dtype=dtype)
    theta = (np.array([[[0.9, 0.1, 0.05], [-0.2, 1.1, 0.1]]] * 2) + rnd(2, 2, 3, seed=1) * 0.05).astype(dtype)
    for ac in (False, True):
        compare_with_torch(lambda t: npg.affine_grid_generator(t, [2, 3, 4, 3], ac),
                           lambda t: torch.affine_grid_generator(t, [2, 3, 4, 3], ac), [theta],
                           what="affine_grid_generator")
    grid = (np.random.default_rng(2).uniform(-1.1, 1.1, (2, 3, 4, 2))).astype(dtype)
    for im, pm in ((0, 0), (1, 1), (2, 2), (0, 2)):
        compare_with_torch(lambda x, g: npg.grid_sampler(x, g, im, pm, False),
                           lambda x, g: torch.grid_sampler(x, g, im, pm, False), [x, grid],
                           what=f"grid_sampler {im} {pm}")
    with pytest.raises(ValueError, match="grid_sampler: interpolation_mode"):
        npg.grid_sampler(npg.tensor(x), npg.tensor(grid), 3, 0, False)


def test_dropouts():
    x = npg.tensor(np.ones((50, 8, 3)), requires_grad=False)
    y = npg.feature_dropout(x, 0.5, True)
    d = y.data
    assert set(np.unique(d)) <= {0.0, 2.0}
    assert np.all(d == d[:, :, :1])   # whole channels
    assert npg.feature_dropout(x, 0.5, False) is x
    z = npg.tensor(np.ones((40, 5)), requires_grad=False)
    r = npg.dropout_(z, 0.5, True)
    assert r is z and set(np.unique(z.data)) <= {0.0, 2.0} and (z.data == 0).any()
    z2 = npg.tensor(np.ones((40, 5)), requires_grad=False)
    assert npg.alpha_dropout_(z2, 0.5, True) is z2 and not np.all(z2.data == 1)
    z3 = npg.tensor(np.ones((40, 5, 2)), requires_grad=False)
    assert npg.feature_alpha_dropout_(z3, 0.5, True) is z3 and np.all(z3.data == z3.data[:, :, :1])
    z4 = npg.tensor(np.ones((40, 5, 2)), requires_grad=False)
    assert npg.feature_dropout_(z4, 0.5, True) is z4 and np.all(z4.data == z4.data[:, :, :1])
    with pytest.raises(ValueError, match="feature_dropout"):
        npg.feature_dropout(npg.tensor(np.ones(4), requires_grad=False), 0.5, True)
    with pytest.raises(ValueError, match="probability"):
        npg.dropout_(npg.tensor(np.ones(4), requires_grad=False), 1.5, True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cells(dtype):
    B, I, H = 3, 4, 5
    x, h, c = rnd(B, I, dtype=dtype), rnd(B, H, seed=1, dtype=dtype), rnd(B, H, seed=2, dtype=dtype)
    for name, g in (("lstm_cell", 4), ("gru_cell", 3), ("rnn_tanh_cell", 1), ("rnn_relu_cell", 1)):
        wi, wh = rnd(g * H, I, seed=3, dtype=dtype), rnd(g * H, H, seed=4, dtype=dtype)
        bi, bh = rnd(g * H, seed=5, dtype=dtype), rnd(g * H, seed=6, dtype=dtype)
        if name == "lstm_cell":
            for k in (0, 1):
                compare_with_torch(lambda *a: npg.lstm_cell(a[0], (a[1], a[2]), *a[3:])[k],
                                   lambda *a: torch.lstm_cell(a[0], (a[1], a[2]), *a[3:])[k],
                                   [x, h, c, wi, wh, bi, bh], what=f"lstm_cell {k}")
        else:
            compare_with_torch(getattr(npg, name), getattr(torch, name), [x, h, wi, wh, bi, bh], what=name)
    with pytest.raises(ValueError, match="gru_cell"):
        npg.gru_cell(npg.tensor(x), npg.tensor(h), npg.tensor(rnd(3 * H, I + 1)), npg.tensor(rnd(3 * H, H)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_split_with_sizes_mvlgamma(dtype):
    x = rnd(3, 7, dtype=dtype)
    for k in range(3):
        compare_with_torch(lambda x: npg.split_with_sizes(x, [2, 4, 1], -1)[k],
                           lambda x: torch.split_with_sizes(x, [2, 4, 1], -1)[k], [x], what="split_with_sizes")
    with pytest.raises(ValueError, match="split_with_sizes"):
        npg.split_with_sizes(npg.tensor(x), [2, 4], 1)
    a = (np.abs(x) + 1.6).astype(dtype)
    compare_with_torch(lambda x: npg.mvlgamma(x, 3), lambda x: torch.mvlgamma(x, 3), [a], what="mvlgamma")
    compare_with_torch(lambda x: x.mvlgamma(3), lambda x: x.mvlgamma(3), [a], what="x.mvlgamma")


# --------------------------------------------------------------------------------- *_copy
COPIES = [
    ("view_copy", (rnd(2, 3, 4),), ([4, 6],)),
    ("permute_copy", (rnd(2, 3, 4),), ([2, 0, 1],)),
    ("t_copy", (rnd(3, 4),), ()),
    ("transpose_copy", (rnd(2, 3, 4),), (0, -1)),
    ("squeeze_copy", (rnd(1, 3, 1),), ()),
    ("squeeze_copy", (rnd(1, 3, 1),), ([0, 1],)),
    ("squeeze_copy", (rnd(1, 3, 1),), (1,)),
    ("unsqueeze_copy", (rnd(3, 4),), (-1,)),
    ("expand_copy", (rnd(3, 1),), ([2, 3, 4],)),
    ("diagonal_copy", (rnd(3, 4, 5),), (1, -1, 0)),
    ("select_copy", (rnd(3, 4),), (1, -2)),
    ("slice_copy", (rnd(3, 8),), (1, 1, 7, 2)),
    ("slice_copy", (rnd(3, 8),), (0, -2, None)),
    ("unfold_copy", (rnd(3, 8),), (1, 3, 2)),
    ("unbind_copy", (rnd(3, 4),), (1,)),
    ("split_copy", (rnd(3, 7),), (3, 1)),
    ("split_with_sizes_copy", (rnd(3, 7),), ([3, 4], 1)),
    ("alias_copy", (rnd(3, 4),), ()),
    ("view_as_complex_copy", (rnd(3, 4, 2),), ()),
]


@pytest.mark.parametrize("name,arrays,args", COPIES, ids=[f"{c[0]}{i}" for i, c in enumerate(COPIES)])
def test_view_copies(name, arrays, args):
    nf, tf = getattr(npg, name), getattr(torch, name)
    got, exp = nf(npg.tensor(arrays[0]), *args), tf(torch.tensor(arrays[0]), *args)
    gl, el = (list(got), list(exp)) if isinstance(exp, (tuple, list)) else ([got], [exp])
    assert len(gl) == len(el)
    for k in range(len(el)):
        def f(x):
            r = nf(x, *args)
            return r[k] if isinstance(r, (tuple, list)) else r

        def g(t):
            r = tf(t, *args)
            return r[k] if isinstance(r, (tuple, list)) else r
        if name == "view_as_complex_copy":
            x, t = npg.tensor(arrays[0]), torch.tensor(arrays[0])
            assert_close(f(x), g(t).detach().numpy())
            continue
        compare_with_torch(f, g, [arrays[0]], what=name)
        # a copy: writing into it leaves the input unchanged
        x = npg.tensor(arrays[0].copy())
        r = f(x)
        before = x.data.copy()
        if r.size:
            r.data[...] = 123.0
        np.testing.assert_array_equal(x.data, before)
        assert not np.shares_memory(r.data, x.data)


def test_copies_float32_detach_errors():
    x = npg.tensor(rnd(3, 4, dtype=np.float32), requires_grad=True)
    assert npg.t_copy(x).dtype == np.float32
    d = npg.detach_copy(x)
    assert not d.requires_grad and not np.shares_memory(d.data, x.data)
    c = npg.view_as_real_copy(npg.tensor(rnd(3) + 1j * rnd(3, seed=1)))
    np.testing.assert_array_equal(c.data, torch.view_as_real_copy(torch.tensor(rnd(3) + 1j * rnd(3, seed=1))).numpy())
    with pytest.raises(ValueError, match="slice_copy: slice step"):
        npg.slice_copy(x, 1, 0, 2, 0)
    with pytest.raises((ValueError, IndexError), match="squeeze_copy"):
        npg.squeeze_copy(x, 5)


# --------------------------------------------------------------------------------- facts
def test_seed_and_rng_state_round_trip():
    npg.manual_seed(1234)
    assert npg.initial_seed() == 1234
    s = npg.seed()
    assert isinstance(s, int) and npg.initial_seed() == s
    a = npg.randn(5).data
    npg.manual_seed(s)
    np.testing.assert_array_equal(npg.randn(5).data, a)
    st = npg.get_rng_state()
    assert st.dtype == np.uint8
    d1 = npg.randn(4).data
    npg.rand(3)
    npg.set_rng_state(st)
    np.testing.assert_array_equal(npg.randn(4).data, d1)
    npg.set_rng_state(st.clone())
    np.testing.assert_array_equal(npg.randn(4).data, d1)
    with pytest.raises(ValueError, match="set_rng_state"):
        npg.set_rng_state(npg.tensor(np.zeros(5, np.uint8)))


def test_num_threads():
    n = npg.get_num_threads()
    assert isinstance(n, int) and n >= 1
    try:
        npg.set_num_threads(1)
    except NotImplementedError as e:   # (no OpenBLAS in this process)
        assert "OPENBLAS_NUM_THREADS" in str(e)
    else:
        assert npg.get_num_threads() == 1
        npg.set_num_threads(n)
        assert npg.get_num_threads() == n
    with pytest.raises(ValueError, match="set_num_threads"):
        npg.set_num_threads(0)


def test_set_printoptions():
    old = np.get_printoptions()
    try:
        npg.set_printoptions(precision=2)
        def r(v):
            return repr(npg.tensor(np.asarray(v, np.float64), requires_grad=False))
        assert "1.23" in r([1.23456]) and "1.235" not in r([1.23456])
        npg.set_printoptions(sci_mode=True)
        assert "1.50e+00" in r([1.5])
        npg.set_printoptions(sci_mode=False)
        assert "e" not in r([1e-7, 1.0]).replace("tensor", "")
        npg.set_printoptions(threshold=5, edgeitems=1)
        assert "..." in r(np.arange(10.0))
        npg.set_printoptions(profile="full")
        assert "..." not in r(np.arange(2000.0))
        npg.set_printoptions(profile="default")
        assert np.get_printoptions()["precision"] == 8
        with pytest.raises(ValueError, match="profile"):
            npg.set_printoptions(profile="long")
    finally:
        np.set_printoptions(**old)


def test_vmap_is_inference():
    assert npg.vmap is npg.func.vmap
    out = npg.vmap(lambda r: npg.sum(r * r))(npg.tensor(rnd(3, 4)))
    assert_close(out, np.sum(rnd(3, 4) ** 2, axis=1))
    assert npg.is_inference(npg.tensor([1.0])) is False
    with pytest.raises(TypeError, match="is_inference"):
        npg.is_inference([1.0])


# --------------------------------------------------------------------------------- methods
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.filterwarnings("ignore:index_reduce")
def test_index_reduce(dtype, reduce, include_self):
    x, src = rnd(4, 5, dtype=dtype), rnd(4, 6, seed=1, dtype=dtype)
    if reduce in ("amax", "amin"):
        src[1, 2] = src[1, 4]   # a tie in one slot
    idx = np.array([0, 3, 0, 4, 4, 3])
    ti = torch.tensor(idx)
    compare_with_torch(lambda x, s: x.index_reduce(1, npg.tensor(idx), s, reduce, include_self=include_self),
                       lambda x, s: x.index_reduce(1, ti, s, reduce, include_self=include_self), [x, src],
                       what=f"index_reduce {reduce}")
    compare_with_torch(lambda x, s: npg.index_reduce(x, -2, npg.tensor([2, 2, 0, 1]), s, reduce),
                       lambda x, s: torch.index_reduce(x, -2, torch.tensor([2, 2, 0, 1]), s, reduce),
                       [x, rnd(4, 5, seed=2, dtype=dtype)], what="index_reduce dim 0")


@pytest.mark.filterwarnings("ignore:index_reduce")
def test_index_reduce_inplace_and_errors():
    x, src, idx = rnd(4, 5), rnd(4, 3, seed=1), np.array([0, 2, 0])
    a, t = npg.tensor(x.copy(), requires_grad=False), torch.tensor(x.copy())
    assert a.index_reduce_(1, npg.tensor(idx), npg.tensor(src), "prod") is a
    t.index_reduce_(1, torch.tensor(idx), torch.tensor(src), "prod")
    assert_close(a, t.numpy())
    with pytest.raises(ValueError, match="index_reduce: reduce"):
        a.index_reduce(1, npg.tensor(idx), npg.tensor(src), "sum")
    with pytest.raises(ValueError, match="index_reduce: source"):
        a.index_reduce(1, npg.tensor(idx), npg.tensor(rnd(4, 4)), "mean")
    with pytest.raises(IndexError, match="index_reduce: index out of range"):
        a.index_reduce(1, npg.tensor([0, 5, 1]), npg.tensor(src), "mean")
    with pytest.raises(IndexError, match="index_reduce: index out of range"):   # (as torch: no negative index)
        a.index_reduce(1, npg.tensor([0, -1, 1]), npg.tensor(src), "mean")
    with pytest.raises(IndexError):
        torch.tensor(x).index_reduce(1, torch.tensor([0, -1, 1]), torch.tensor(src), "mean")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("accumulate", [False, True])
def test_put_(dtype, accumulate):
    x, src = rnd(3, 4, dtype=dtype), rnd(2, 2, seed=1, dtype=dtype)
    idx = np.array([[0, 5], [-1, 7]]) if not accumulate else np.array([[0, 5], [-12, 7]])
    compare_with_torch(lambda x, s: (x * 1).put_(npg.tensor(idx), s, accumulate),
                       lambda x, s: (x * 1).put_(torch.tensor(idx), s, accumulate), [x, src], what="put_")
    with pytest.raises(IndexError, match="put_: index out of range"):
        npg.tensor(x, requires_grad=False).put_(npg.tensor([12]), npg.tensor(np.ones(1, dtype)))
    with pytest.raises(ValueError, match="put_: index has 2"):
        npg.tensor(x, requires_grad=False).put_(npg.tensor([1, 2]), npg.tensor(np.ones(3, dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_histogram_method(dtype):
    x = rnd(200, dtype=dtype)
    for kw in ({}, {"bins": 7}, {"bins": 5, "range": (-1.0, 1.0)}, {"bins": 6, "density": True},
               {"bins": 4, "weight": np.abs(rnd(200, seed=1, dtype=dtype))}):
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        nkw = {k: npg.tensor(v, requires_grad=False) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        h, e = npg.tensor(x).histogram(**nkw)
        th, te = torch.tensor(x).histogram(**tkw)
        assert h.dtype == dtype and e.dtype == dtype
        assert_close(h, th.numpy(), what=f"hist {kw}")
        assert_close(e, te.numpy(), what=f"edges {kw}")
    edges = np.array([-2.0, -0.5, 0.0, 1.5], dtype)
    r = npg.tensor(x).histogram(npg.tensor(edges))
    tr = torch.tensor(x).histogram(torch.tensor(edges))
    assert_close(r.hist, tr.hist.numpy())
    assert len(npg.histogram(npg.tensor(x))[0]) == 10   # npg.histogram stays NumPy's (bins=10)
    with pytest.raises(TypeError, match="histogram: expected a floating"):
        npg.tensor(np.arange(3)).histogram()
