"""Writes under vmap (``x[key] = value``, and ``_assign``, the functional write) whose key is not only ints,
slices and unbatched integer arrays: ``None``, ``Ellipsis``, a Python / 0-d bool, a 0-d integer array, a bool
mask array, and a batched index tensor. They ran the whole function per sample (the fallback); here the
fallback warning is an error. Every value and gradient against a Python loop of the unbatched npgrad call and
a loop of torch calls (torch.func.grad for gradients), and torch.func.vmap where it batches the same write."""

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from tests.helpers import assert_close
from tests import helpers

RNG = np.random.default_rng(97)
B, XS = 3, (4, 5, 2)


vmap_without_fallback = helpers.vmap_without_fallback   # a fixture: every test here runs without the fallback
pytestmark = pytest.mark.usefixtures("vmap_without_fallback")


def _n(*shape):
    return RNG.standard_normal(shape)


def _tkey(k):
    if isinstance(k, tuple):
        return tuple(_tkey(a) for a in k)
    if isinstance(k, np.ndarray):
        return torch.tensor(k)
    if isinstance(k, np.bool_):
        return bool(k)
    return k


def _fn(lib, key_of):
    def f(a, b, i):
        a = a * 2
        a[key_of(i)] = b * 3
        return lib.sin(a) * a
    return f


def _sum(f):
    return lambda a, b, i: f(a, b, i).sum()


def _check(key_of, tkey_of, x, v, i, dims, torch_vmap=False, jac=True):
    """vmap of the write (values, vmap(grad), the gradient through the vmap, jacrev and jacfwd of the vmap)
    against the npgrad loop over samples and a torch loop (``tkey_of`` None: a key torch reads otherwise than
    NumPy, a 0-d integer index: the npgrad loop alone)."""
    f = _fn(npg, key_of)
    arrays = (x, v, i)
    pick = [(lambda s, a=a: a[s]) if d == 0 else (lambda s, a=a: a) for a, d in zip(arrays, dims)]
    args = [npg.tensor(a) for a in arrays]
    out = npg.func.vmap(f, in_dims=dims)(*args)
    loop = npg.stack([f(*(npg.tensor(p(s)) for p in pick)) for s in range(B)])
    assert_close(out, loop, np.float64, what="value vs the npgrad loop")
    g = npg.func.vmap(npg.func.grad(_sum(f), argnums=(0, 1)), in_dims=dims)(*args)
    gl = [npg.func.grad(_sum(f), argnums=(0, 1))(*(npg.tensor(p(s)) for p in pick)) for s in range(B)]
    expect = [np.stack([t[k].data for t in gl]) for k in range(2)]
    if tkey_of is not None:
        ft = _fn(torch, tkey_of)
        tloop = torch.stack([ft(*(torch.tensor(p(s)) for p in pick)) for s in range(B)])
        assert_close(out, tloop.numpy(), np.float64, what="value vs the torch loop")
        if torch_vmap:
            tv = tf.vmap(ft, in_dims=dims)(*(torch.tensor(a) for a in arrays))
            assert_close(out, tv.numpy(), np.float64, what="value vs torch.func.vmap")
        tg = [tf.grad(_sum(ft), argnums=(0, 1))(*(torch.tensor(p(s)) for p in pick)) for s in range(B)]
        expect = [torch.stack([t[k] for t in tg]).numpy() for k in range(2)]
    for k in range(2):
        assert_close(g[k], expect[k], np.float64, what=f"vmap(grad) {k}")
    # through the vmap: an unbatched value's gradient summed over the samples
    gv = npg.func.grad(lambda a, b: npg.func.vmap(f, in_dims=dims)(a, b, args[2]).sum(), argnums=(0, 1))(*args[:2])
    for k in range(2):
        assert_close(gv[k], expect[k] if dims[k] == 0 else expect[k].sum(0), np.float64, what=f"grad of vmap {k}")
    if not jac:
        return
    # jacrev / jacfwd of the vmapped function w.r.t. the value, against the jacobian of the loop
    h = lambda b: npg.func.vmap(f, in_dims=dims)(args[0], b, args[2])  # noqa: E731
    if tkey_of is None:
        def hl(b):
            return npg.stack([f(npg.tensor(pick[0](s)), b[s] if dims[1] == 0 else b, npg.tensor(pick[2](s)))
                              for s in range(B)])
        jac = npg.func.jacrev(hl)(args[1]).data
    else:
        def th(b):
            return torch.stack([ft(torch.tensor(pick[0](s)), b[s] if dims[1] == 0 else b, torch.tensor(pick[2](s)))
                                for s in range(B)])
        jac = torch.autograd.functional.jacobian(th, torch.tensor(v)).numpy()
    assert_close(npg.func.jacrev(h)(args[1]), jac, np.float64, what="jacrev")
    assert_close(npg.func.jacfwd(h)(args[1]), jac, np.float64, what="jacfwd")


def _sel(key):
    return np.empty(XS)[key].shape


# ------------------------------------------------------------------------ unbatched keys of every kind
M4 = np.array([True, False, True, False])
M45 = RNG.random((4, 5)) > 0.5
UNBATCHED = [
    (Ellipsis,), (Ellipsis, 1), (1, Ellipsis), (np.array([0, 2]), Ellipsis, np.array([1, 0])), (slice(1, 3), ...),
    (None, 1), (slice(None), None, np.array([0, 2])), (np.array([1, 3]), None, np.array([0, 2])),
    (None, Ellipsis, None), (np.array([[1], [3]]), None, slice(None), 0),
    True, (1, True), (False,), (np.bool_(True), 2), (np.array(True), slice(None), 1),
    np.array(2), (np.array(1), slice(None), np.array([0, 1])), (slice(None), np.array(3)),
    M4, M45, (slice(None), np.array([True, False, True, True, False])), (M4, slice(None), np.array([1, 0])),
    (M4, Ellipsis, 0), (Ellipsis, np.array([True, False])), (np.zeros(4, bool),),
]


@pytest.mark.parametrize("key", UNBATCHED, ids=[f"key{n}" for n in range(len(UNBATCHED))])
@pytest.mark.parametrize("vkind,batched_value", [("sel", False), ("sel", True), ("row", True), ("scalar", False),
                                                  ("scalar", True), ("lead1", False), ("lead1", True)])
def test_write_with_an_unbatched_key(key, vkind, batched_value):
    sel = _sel(key)
    vshape = {"sel": sel, "row": sel[-1:], "scalar": (), "lead1": (1,) + sel}[vkind]
    x, v, i = _n(B, *XS), _n(*((B,) if batched_value else ()), *vshape), np.zeros(B)
    tkey_of = None if _zero_d_int(key) else (lambda i: _tkey(key))
    _check(lambda i: key, tkey_of, x, v, i, (0, 0 if batched_value else None, 0), jac=vkind == "sel")


def _zero_d_int(key):
    """A 0-d integer array: NumPy reads it as an integer (an advanced index beside index arrays), torch as a
    plain integer; the two differ in where the selection's axes go."""
    return any(isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype != bool
               for k in (key if isinstance(key, tuple) else (key,)))


@pytest.mark.parametrize("key", [(None, 1), (Ellipsis, 1), (slice(None), None, np.array([0, 2])), M45],
                         ids=repr)
def test_write_with_an_unbatched_key_matches_torch_func_vmap(key):
    sel = _sel(key)
    x, v = _n(B, *XS), _n(B, *sel)
    _check(lambda i: key, lambda i: _tkey(key), x, v, np.zeros(B), (0, 0, 0), torch_vmap=True)


@pytest.mark.parametrize("key", [(1, None), M4, (Ellipsis, 0)], ids=repr)
def test_assign_with_an_unbatched_key(key):
    from npgrad.ops.index import _assign
    sel = _sel(key)
    for dims in [(0, None), (None, 0), (0, 0)]:
        x = _n(*((B,) if dims[0] == 0 else ()), *XS)
        v = _n(*((B,) if dims[1] == 0 else ()), *sel)
        out = npg.func.vmap(lambda a, b: _assign(a, key, b), in_dims=dims)(npg.tensor(x), npg.tensor(v))
        loop = npg.stack([_assign(npg.tensor(x[s] if dims[0] == 0 else x), key,
                                  npg.tensor(v[s] if dims[1] == 0 else v)) for s in range(B)])
        assert_close(out, loop, np.float64)


# ------------------------------------------------------------------------ batched index tensors
def _distinct(shape, n):
    """Per sample, distinct indices into a dimension of size ``n`` (torch leaves a repeated write open)."""
    k = int(np.prod(shape))
    return np.stack([RNG.permutation(n)[:k].reshape(shape) for _ in range(B)])


BATCHED = {
    "leading": (lambda i: i, lambda i: i, (2,), 4),
    "after a slice": (lambda i: (slice(None), i), lambda i: (slice(None), i), (3,), 5),
    "after an int": (lambda i: (1, i), lambda i: (1, i), (3,), 5),
    "2-d index": (lambda i: (slice(None), i), lambda i: (slice(None), i), (2, 2), 5),
    "apart from an array": (lambda i: (i, slice(None), np.array([1, 0])),
                            lambda i: (i, slice(None), torch.tensor([1, 0])), (2,), 4),
    "apart from an int": (lambda i: (i, slice(None), 1), lambda i: (i, slice(None), 1), (2,), 4),
    "with an ellipsis": (lambda i: (Ellipsis, i, 0), lambda i: (Ellipsis, i, 0), (3,), 5),
    "with None": (lambda i: (None, slice(None), i), lambda i: (None, slice(None), i), (2,), 5),
    "0-d index": (lambda i: (slice(None), i), lambda i: (slice(None), i), (), 5),
    "beside an unbatched array": (lambda i: (np.array([3, 1]), i), lambda i: (torch.tensor([3, 1]), i), (2,), 5),
}


@pytest.mark.parametrize("kind", list(BATCHED))
@pytest.mark.parametrize("vkind", ["sel", "scalar", "row"])
@pytest.mark.parametrize("batched_value", [False, True])
def test_write_with_a_batched_index(kind, vkind, batched_value):
    key_of, tkey_of, ishape, n = BATCHED[kind]
    i = _distinct(ishape, n)
    sel = _sel(key_of(i[0]))
    vshape = {"sel": sel, "row": sel[-1:], "scalar": ()}[vkind]
    x, v = _n(B, *XS), _n(*((B,) if batched_value else ()), *vshape)
    # torch.func.vmap misplaces the batch axis or refuses the write for the others
    torch_vmap = batched_value and kind in ("leading", "after an int", "0-d index", "beside an unbatched array")
    _check(key_of, tkey_of, x, v, i, (0, 0 if batched_value else None, 0), torch_vmap=torch_vmap,
           jac=vkind == "sel")


def test_write_with_a_batched_index_and_repeats_keeps_the_last_write():
    """Repeated indices in one sample: NumPy's last write wins, and npgrad's gradient goes to it alone."""
    f = _fn(npg, lambda i: (slice(None), i))
    x, v, i = _n(B, *XS), _n(B, 4, 2), np.array([[0, 2, 0, 4], [1, 1, 1, 1], [3, 2, 3, 0]])
    args = [npg.tensor(a) for a in (x, v, i)]
    out = npg.func.vmap(f)(*args)
    assert_close(out, npg.stack([f(*(npg.tensor(a[s]) for a in (x, v, i))) for s in range(B)]), np.float64)
    g = npg.func.vmap(npg.func.grad(_sum(f), argnums=(0, 1)))(*args)
    gl = [npg.func.grad(_sum(f), argnums=(0, 1))(*(npg.tensor(a[s]) for a in (x, v, i))) for s in range(B)]
    for k in range(2):
        assert_close(g[k], npg.stack([t[k] for t in gl]), np.float64)
    assert (g[1].data[1, :3] == 0).all() and (g[1].data[1, 3] != 0).all()   # sample 1: only the last write


def test_write_with_two_batched_index_tensors():
    """Two batched index tensors, adjacent and apart."""
    j = _distinct((2,), 5)
    for key_of, tkey_of in [(lambda a, b: (a, b), lambda a, b: (a, b)),
                            (lambda a, b: (a, slice(None), b), lambda a, b: (a, slice(None), b))]:
        i = _distinct((2,), 4)
        jj = j if key_of(0, 0)[1] == 0 else _distinct((2,), 2)
        f = _fn(npg, lambda ij: key_of(ij[0], ij[1]))
        x, v = _n(B, *XS), _n(B, *_sel(key_of(i[0], jj[0])))
        out = npg.func.vmap(lambda a, b, p, q: f(a, b, (p, q)))(*(npg.tensor(t) for t in (x, v, i, jj)))
        loop = npg.stack([f(npg.tensor(x[s]), npg.tensor(v[s]), (npg.tensor(i[s]), npg.tensor(jj[s])))
                          for s in range(B)])
        assert_close(out, loop, np.float64)
        tf_ = _fn(torch, lambda ij: tkey_of(ij[0], ij[1]))
        tloop = torch.stack([tf_(torch.tensor(x[s]), torch.tensor(v[s]), (torch.tensor(i[s]), torch.tensor(jj[s])))
                             for s in range(B)])
        assert_close(out, tloop.numpy(), np.float64)


def test_write_with_a_batched_bool_mask_raises_as_torch():
    def f(lib):
        def g(a, m):
            a = a * 1
            a[m] = 7.0
            return a
        return g
    x, m = _n(B, 4, 5), RNG.random((B, 4)) > 0.5
    with pytest.raises(RuntimeError, match="setitem.*boolean mask"):
        npg.func.vmap(f(npg))(npg.tensor(x), npg.tensor(m))
    with pytest.raises(RuntimeError, match="boolean mask"):
        tf.vmap(f(torch))(torch.tensor(x), torch.tensor(m))


def test_write_with_a_batched_index_out_of_range_raises_the_op_error():
    f = _fn(npg, lambda i: (slice(None), i))
    i = np.array([[0, 1], [2, 5], [1, 1]])
    with pytest.raises(IndexError, match="setitem"):
        npg.func.vmap(f)(npg.tensor(_n(B, *XS)), npg.tensor(_n(B, 4, 2, 2)), npg.tensor(i))


def test_write_with_an_unbatched_mask_of_the_wrong_shape_raises_the_op_error():
    f = _fn(npg, lambda i: np.array([True, False, True]))
    with pytest.raises(IndexError, match="setitem"):
        npg.func.vmap(f, in_dims=(0, None, None))(npg.tensor(_n(B, *XS)), npg.tensor(0.5), npg.tensor(0))


@pytest.mark.parametrize("batched_value", [False, True])
def test_write_with_a_full_rank_mask_refuses_a_2d_value_as_numpy(batched_value):
    """NumPy's write through a key of one mask of the tensor's rank takes only a 0-d or 1-d value; the mask's
    ``nonzero()`` arrays would take a ``(1, n)`` value: the batched write must raise as each sample does."""
    m = RNG.random((4, 5)) > 0.5
    f = _fn(npg, lambda i: m)
    x, v = _n(B, 4, 5), _n(*((B,) if batched_value else ()), 1, int(m.sum()))
    with pytest.raises(TypeError, match="setitem"):
        f(npg.tensor(x[0]), npg.tensor(v[0] if batched_value else v), None)
    with pytest.raises(TypeError, match="setitem"):
        npg.func.vmap(f, in_dims=(0, 0 if batched_value else None, None))(npg.tensor(x), npg.tensor(v), None)


# ------------------------------------------------------------------------ nested vmap
@pytest.mark.parametrize("key_of", [lambda i: (None, Ellipsis, 1), lambda i: M45, lambda i: (slice(None), i),
                                    lambda i: (i, None, 0)], ids=["none-ellipsis", "mask", "index", "index-none"])
@pytest.mark.parametrize("outer_value", [False, True])
@pytest.mark.parametrize("inner_value", [False, True])
def test_write_under_nested_vmap(key_of, outer_value, inner_value):
    """x batched at both levels, the value at either, both or none, the index at the inner level."""
    f = _fn(npg, key_of)
    x, i = _n(2, B, *XS), _distinct((2,), 4)
    sel = _sel(key_of(i[0]))
    v = _n(*((2,) if outer_value else ()), *((B,) if inner_value else ()), *sel)
    inner = npg.func.vmap(f, in_dims=(0, 0 if inner_value else None, 0))
    out = npg.func.vmap(inner, in_dims=(0, 0 if outer_value else None, None))(*(npg.tensor(a) for a in (x, v, i)))

    def vv(p, q):
        return v[p][q] if outer_value and inner_value else v[p] if outer_value else v[q] if inner_value else v
    loop = npg.stack([npg.stack([f(npg.tensor(x[p, q]), npg.tensor(vv(p, q)), npg.tensor(i[q])) for q in range(B)])
                      for p in range(2)])
    assert_close(out, loop, np.float64)


NESTED_KEYS = {"after a slice": (lambda i: (slice(None), i), 5), "apart": (lambda i: (i, slice(None), 0), 4),
               "with None": (lambda i: (None, slice(None), i), 5), "with an ellipsis": (lambda i: (Ellipsis, i, 0), 5),
               "beside an array": (lambda i: (np.array([3, 1]), i), 5)}


@pytest.mark.parametrize("kind", list(NESTED_KEYS))
@pytest.mark.parametrize("index_levels", ["both", "outer"])
@pytest.mark.parametrize("value_levels", ["inner", "outer", "both"])
def test_write_with_an_index_batched_at_the_outer_level(kind, index_levels, value_levels):
    """An index batched at the outer vmap level (only, or at both): the inner level writes with the index kept a
    tensor, the outer level's rule writes it. Values and gradients (x and value) against the loop over both."""
    key_of, n = NESTED_KEYS[kind]
    f = _fn(npg, key_of)
    P = 2
    idims = (0 if index_levels == "both" else None, 0)
    vdims = (0 if value_levels in ("both", "inner") else None, 0 if value_levels in ("both", "outer") else None)
    i = RNG.integers(0, n, ((P,) + ((B,) if idims[0] == 0 else ()) + (2,)))
    sel = _sel(key_of(i.reshape(-1, 2)[0]))
    v = _n(*((P,) if vdims[1] == 0 else ()), *((B,) if vdims[0] == 0 else ()), *sel)
    x = _n(P, B, *XS)

    def at(a, dims, p, q):
        return a[(p,) if dims[1] == 0 else ()][(q,) if dims[0] == 0 else ()]

    def nested(fn):
        return npg.func.vmap(npg.func.vmap(fn, in_dims=(0, vdims[0], idims[0])), in_dims=(0, vdims[1], idims[1]))
    args = [npg.tensor(a) for a in (x, v, i)]
    out = nested(f)(*args)
    loop = [[f(npg.tensor(x[p, q]), npg.tensor(at(v, vdims, p, q)), npg.tensor(at(i, idims, p, q)))
             for q in range(B)] for p in range(P)]
    assert_close(out, np.stack([[t.data for t in r] for r in loop]), np.float64)
    g = nested(npg.func.grad(_sum(f), argnums=(0, 1)))(*args)
    gl = [[npg.func.grad(_sum(f), argnums=(0, 1))(npg.tensor(x[p, q]), npg.tensor(at(v, vdims, p, q)),
                                                  npg.tensor(at(i, idims, p, q))) for q in range(B)] for p in range(P)]
    for k in range(2):
        assert_close(g[k], np.stack([[t[k].data for t in r] for r in gl]), np.float64)


def test_write_with_a_bool_mask_batched_at_the_outer_level_raises():
    def f(a, m):
        a = a * 1
        a[m] = 7.0
        return a
    x, m = _n(2, B, 4, 5), RNG.random((2, 4)) > 0.5
    with pytest.raises(RuntimeError, match="setitem.*boolean mask"):
        npg.func.vmap(npg.func.vmap(f, in_dims=(0, None)))(npg.tensor(x), npg.tensor(m))
