"""Reads ``x[key]`` under nested vmap with an index tensor batched at the OUTER level (only, or at both levels),
and writes ``x[True, j] = v`` (a scalar bool beside a batched index tensor). They ran the whole function per
sample (the fallback); here the fallback warning is an error. Values and gradients (vmap(grad), jacrev, jacfwd)
against the Python loop over both levels of the unbatched npgrad call, a torch loop, and torch.func.vmap."""

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from tests.helpers import assert_close
from tests import helpers

RNG = np.random.default_rng(2026)
P, B, XS = 2, 3, (4, 5, 2)


vmap_without_fallback = helpers.vmap_without_fallback   # a fixture: every test here runs without the fallback
pytestmark = pytest.mark.usefixtures("vmap_without_fallback")


def _n(*shape):
    return RNG.standard_normal(shape)


def _t(k):
    if isinstance(k, tuple):
        return tuple(_t(a) for a in k)
    return torch.tensor(k) if isinstance(k, np.ndarray) else k


# key_of(j, k) -> the key (j, k: the index tensors, k unused by most), the bound of j, the bound of k
KEYS = {
    "leading": (lambda j, k: j, 4, 1),
    "after a slice": (lambda j, k: (slice(None), j), 5, 1),
    "2 slices before": (lambda j, k: (slice(None), slice(1, 4), j), 2, 1),
    "after an int": (lambda j, k: (1, j), 5, 1),
    "apart from an array": (lambda j, k: (j, slice(None), np.array([1, 0])), 4, 1),
    "apart from a tensor": (lambda j, k: (j, slice(None), k), 4, 2),
    "adjacent tensors": (lambda j, k: (slice(None), j, k), 5, 2),
    "with None": (lambda j, k: (None, slice(None), j), 5, 1),
    "with an ellipsis": (lambda j, k: (Ellipsis, j, 0), 5, 1),
    "beside an unbatched array": (lambda j, k: (np.array([3, 1]), j), 5, 1),
}
# (inner, outer) in_dims of x and of the index tensors
LEVELS = [((0, 0), (None, 0)), ((0, 0), (0, 0)), ((0, None), (None, 0)), ((0, None), (0, 0)),
          ((None, None), (0, 0)), ((None, 0), (0, 0)), ((None, 0), (0, None)), ((0, 0), (0, None))]


def _fn(lib, key_of):
    return lambda a, j, k: lib.sin(a[key_of(j, k)]) * a[key_of(j, k)]


def _pick(a, dims, p, q):
    return a[(p,) if dims[1] == 0 else ()][(q,) if dims[0] == 0 else ()]


def _nested(fn, xd, idd):
    inner = npg.func.vmap(fn, in_dims=(xd[0], idd[0], idd[0]))
    return npg.func.vmap(inner, in_dims=(xd[1], idd[1], idd[1]))


def _data(kind, xd, idd, ishape=(2,)):
    key_of, nj, nk = KEYS[kind]
    lead = lambda d: ((P,) if d[1] == 0 else ()) + ((B,) if d[0] == 0 else ())  # noqa: E731
    x = _n(*lead(xd), *XS)
    j, k = RNG.integers(0, nj, lead(idd) + ishape), RNG.integers(0, nk, lead(idd) + ishape)
    return x, j, k


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("xd,idd", LEVELS, ids=[f"x{a}-i{b}" for a, b in LEVELS])
def test_read_with_an_index_batched_at_the_outer_level(kind, xd, idd):
    f, tfn = _fn(npg, KEYS[kind][0]), _fn(torch, lambda j, k: _t(KEYS[kind][0](j, k)))
    x, j, k = _data(kind, xd, idd)
    args = [npg.tensor(a) for a in (x, j, k)]
    out = _nested(f, xd, idd)(*args)

    def each(g, lib):
        wrap = npg.tensor if lib is npg else torch.tensor
        return [[g(wrap(_pick(x, xd, p, q)), wrap(_pick(j, idd, p, q)), wrap(_pick(k, idd, p, q)))
                 for q in range(B)] for p in range(P)]
    loop = np.stack([[t.data for t in r] for r in each(f, npg)])
    assert_close(out, loop, np.float64, what="value vs the npgrad loop")
    assert_close(out, np.stack([[t.numpy() for t in r] for r in each(tfn, torch)]), np.float64, what="vs torch")
    sf = lambda a, j, k: f(a, j, k).sum()  # noqa: E731
    g = _nested(npg.func.grad(sf), xd, idd)(*args)
    tg = each(tf.grad(lambda a, j, k: tfn(a, j, k).sum()), torch)
    assert_close(g, np.stack([[t.numpy() for t in r] for r in tg]), np.float64, what="vmap(grad) vs torch")
    for jac in (npg.func.jacrev, npg.func.jacfwd):
        jv = _nested(jac(f), xd, idd)(*args)
        jl = each(jac(f), npg)
        assert_close(jv, np.stack([[t.data for t in r] for r in jl]), np.float64, what=jac.__name__)
    if xd == (0, 0):   # the same nested vmap in torch (x batched at both levels)
        ti = [torch.tensor(a) for a in (x, j, k)]
        tv = tf.vmap(tf.vmap(tfn, in_dims=(0, idd[0], idd[0])), in_dims=(0, idd[1], idd[1]))(*ti)
        assert_close(out, tv.numpy(), np.float64, what="vs torch.func.vmap")


def test_read_under_nested_vmap_gradient_through_the_vmaps():
    """The gradient of a sum of the nested vmap w.r.t. an x batched at neither level: summed over the samples."""
    key_of = KEYS["apart from a tensor"][0]
    f = _fn(npg, key_of)
    x, j, k = _data("apart from a tensor", (None, None), (0, 0))
    h = lambda a: _nested(f, (None, None), (0, 0))(a, npg.tensor(j), npg.tensor(k)).sum()  # noqa: E731
    g = npg.func.grad(h)(npg.tensor(x))
    tfn = _fn(torch, lambda j, k: _t(key_of(j, k)))
    xt = torch.tensor(x, requires_grad=True)
    sum(tfn(xt, torch.tensor(j[p, q]), torch.tensor(k[p, q])).sum() for p in range(P) for q in range(B)).backward()
    assert_close(g, xt.grad.numpy(), np.float64)


@pytest.mark.parametrize("ishape", [(), (2, 2)])
def test_read_with_a_0d_and_a_2d_index_batched_at_the_outer_level(ishape):
    f = _fn(npg, KEYS["after a slice"][0])
    x, j, k = _data("after a slice", (0, 0), (None, 0), ishape)
    out = _nested(f, (0, 0), (None, 0))(*(npg.tensor(a) for a in (x, j, k)))
    loop = [[f(npg.tensor(x[p, q]), npg.tensor(j[p]), npg.tensor(k[p])).data for q in range(B)] for p in range(P)]
    assert_close(out, np.stack(loop), np.float64)


def test_read_with_an_index_out_of_range_at_the_outer_level_raises():
    f = _fn(npg, KEYS["after a slice"][0])
    x, j = _n(P, B, *XS), np.array([[0, 1], [2, 5]])
    with pytest.raises(IndexError):
        _nested(f, (0, 0), (None, 0))(npg.tensor(x), npg.tensor(j), npg.tensor(j))


@pytest.mark.parametrize("xd", [(0, 0), (0, None)])
def test_read_with_a_bool_mask_batched_at_the_outer_level_raises(xd):
    """As a batched mask read at one level (and as torch.func.vmap): the result's shape depends on each sample."""
    x, m = _n(*((P,) if xd[1] == 0 else ()), B, 4, 5), RNG.random((P, 4)) > 0.5
    inner = npg.func.vmap(lambda a, m: a[m], in_dims=(xd[0], None))
    with pytest.raises(RuntimeError, match="boolean mask"):
        npg.func.vmap(inner, in_dims=(xd[1], 0))(npg.tensor(x), npg.tensor(m))
    with pytest.raises(RuntimeError, match="boolean mask"):
        npg.func.vmap(lambda a, m: a[m])(npg.tensor(x[0] if xd[1] == 0 else x), npg.tensor(m[:1].repeat(B, 0)))


# ------------------------------------------------------------------------ scalar bools beside a batched index
BOOL_KEYS = {
    "leading True": lambda j: (True, j), "True after a slice": lambda j: (slice(None), True, j),
    "True apart": lambda j: (True, slice(None), j), "True after": lambda j: (j, True),
    "False": lambda j: (False, j[..., :1]), "None, True, ellipsis": lambda j: (None, True, Ellipsis, j, 0),
    "0-d bool array and an int": lambda j: (np.array(True), 1, j), "mask and True": lambda j: (M4, True, j[..., :1]),
}
M4 = np.array([True, False, True, True])


def _tb(k):
    return tuple(torch.tensor(v) if isinstance(v, np.ndarray) and v.ndim else bool(v) if isinstance(v, np.ndarray)
                 else v for v in k)


def _write_fn(lib, key_of):
    def f(a, v, j):
        a = a * 2
        a[key_of(j)] = v * 3
        return lib.sin(a) * a
    return f


@pytest.mark.parametrize("kind", list(BOOL_KEYS))
@pytest.mark.parametrize("batched_value", [False, True])
def test_write_with_a_scalar_bool_beside_a_batched_index(kind, batched_value):
    key_of = BOOL_KEYS[kind]
    j = np.stack([RNG.permutation(4)[:2] for _ in range(B)])    # distinct: a repeated write's gradient is the last
    sel = np.empty(XS)[key_of(j[0])].shape
    x, v = _n(B, *XS), _n(*((B,) if batched_value else ()), *sel)
    dims = (0, 0 if batched_value else None, 0)
    f, tfn = _write_fn(npg, key_of), _write_fn(torch, lambda j: _tb(key_of(j)))
    vs = lambda s: v[s] if batched_value else v  # noqa: E731
    args = [npg.tensor(a) for a in (x, v, j)]
    out = npg.func.vmap(f, in_dims=dims)(*args)
    assert_close(out, np.stack([f(npg.tensor(x[s]), npg.tensor(vs(s)), j[s]).data for s in range(B)]), np.float64)
    assert_close(out, np.stack([tfn(torch.tensor(x[s]), torch.tensor(vs(s)), j[s]).numpy() for s in range(B)]),
                 np.float64, what="vs torch")
    sf = lambda a, b, j: f(a, b, j).sum()  # noqa: E731
    g = npg.func.vmap(npg.func.grad(sf, argnums=(0, 1)), in_dims=dims)(*args)
    tg = [tf.grad(lambda a, b, j: tfn(a, b, j).sum(), argnums=(0, 1))(torch.tensor(x[s]), torch.tensor(vs(s)), j[s])
          for s in range(B)]
    for k in range(2):
        assert_close(g[k], torch.stack([t[k] for t in tg]).numpy(), np.float64, what=f"vmap(grad) {k}")
    h = lambda b: npg.func.vmap(f, in_dims=dims)(args[0], b, args[2])  # noqa: E731

    def th(b):
        return torch.stack([tfn(torch.tensor(x[s]), b[s] if batched_value else b, j[s]) for s in range(B)])
    jac = torch.autograd.functional.jacobian(th, torch.tensor(v)).numpy()
    assert_close(npg.func.jacrev(h)(args[1]), jac, np.float64, what="jacrev")
    assert_close(npg.func.jacfwd(h)(args[1]), jac, np.float64, what="jacfwd")


@pytest.mark.parametrize("kind", list(BOOL_KEYS) + ["True alone"])
def test_read_with_a_scalar_bool_beside_a_batched_index(kind):
    key_of = BOOL_KEYS.get(kind, lambda j: (True,))
    tkey = lambda j: _tb(key_of(j))  # noqa: E731
    x, j = _n(B, *XS), RNG.integers(0, 4, (B, 2))
    f, tfn = (lambda lib, kf: (lambda a, j: lib.sin(a[kf(j)]) * a[kf(j)]))(npg, key_of), \
        (lambda a, j: torch.sin(a[tkey(j)]) * a[tkey(j)])
    out = npg.func.vmap(f)(npg.tensor(x), npg.tensor(j))
    assert_close(out, np.stack([f(npg.tensor(x[s]), npg.tensor(j[s])).data for s in range(B)]), np.float64)
    assert_close(out, tf.vmap(tfn)(torch.tensor(x), torch.tensor(j)).numpy(), np.float64, what="torch.func.vmap")
    g = npg.func.vmap(npg.func.grad(lambda a, j: f(a, j).sum()))(npg.tensor(x), npg.tensor(j))
    tg = tf.vmap(tf.grad(lambda a, j: tfn(a, j).sum()))(torch.tensor(x), torch.tensor(j))
    assert_close(g, tg.numpy(), np.float64, what="vmap(grad)")
    if out.size:
        tj = np.stack([torch.autograd.functional.jacobian(lambda a: tfn(a, torch.tensor(j[s])), torch.tensor(x[s]))
                       .numpy() for s in range(B)])
    else:                                                  # torch's jacobian of an empty output fails: empty
        tj = np.zeros(out.shape + XS)
    for jac in (npg.func.jacrev, npg.func.jacfwd):
        assert_close(npg.func.vmap(jac(f))(npg.tensor(x), npg.tensor(j)), tj, np.float64, what=jac.__name__)


@pytest.mark.parametrize("kind", ["leading True", "True apart", "None, True, ellipsis"])
def test_read_with_a_scalar_bool_beside_an_index_batched_at_the_outer_level(kind):
    key_of = BOOL_KEYS[kind]
    f = lambda a, j, k: a[key_of(j)]  # noqa: E731
    x, j = _n(P, B, *XS), RNG.integers(0, 4, (P, 2))
    out = _nested(f, (0, 0), (None, 0))(npg.tensor(x), npg.tensor(j), npg.tensor(j))
    assert_close(out, np.stack([[x[p, q][key_of(j[p])] for q in range(B)] for p in range(P)]), np.float64)


@pytest.mark.parametrize("kind", list(BOOL_KEYS))
@pytest.mark.parametrize("index_levels", ["outer", "both"])
def test_write_with_a_scalar_bool_beside_an_index_batched_at_the_outer_level(kind, index_levels):
    """x batched at both levels, the value at the outer one, the index at the outer one (only, or at both)."""
    key_of = BOOL_KEYS[kind]
    f, tfn = _write_fn(npg, key_of), _write_fn(torch, lambda j: _tb(key_of(j)))
    j = np.stack([RNG.permutation(4)[:2] for _ in range(P * B)]).reshape(P, B, 2)
    j = j if index_levels == "both" else j[:, 0]
    jq = (lambda p, q: j[p, q]) if index_levels == "both" else (lambda p, q: j[p])  # noqa: E731
    x, v = _n(P, B, *XS), _n(P, *np.empty(XS)[key_of(j.reshape(-1, 2)[0])].shape)
    args = [npg.tensor(a) for a in (x, v, j)]

    def nested(fn):
        return npg.func.vmap(npg.func.vmap(fn, in_dims=(0, None, 0 if index_levels == "both" else None)))
    out = nested(f)(*args)
    loop = [[f(npg.tensor(x[p, q]), npg.tensor(v[p]), jq(p, q)).data for q in range(B)] for p in range(P)]
    assert_close(out, np.stack(loop), np.float64)
    tl = [[tfn(torch.tensor(x[p, q]), torch.tensor(v[p]), jq(p, q)).numpy() for q in range(B)] for p in range(P)]
    assert_close(out, np.stack(tl), np.float64, what="vs torch")
    g = nested(npg.func.grad(lambda a, b, j: f(a, b, j).sum(), argnums=(0, 1)))(*args)
    tg = [[tf.grad(lambda a, b, j: tfn(a, b, j).sum(), argnums=(0, 1))(torch.tensor(x[p, q]), torch.tensor(v[p]),
                                                                         jq(p, q)) for q in range(B)] for p in range(P)]
    for k in range(2):
        assert_close(g[k], np.stack([[t[k].numpy() for t in r] for r in tg]), np.float64, what=f"grad {k}")
    if v.size:
        tj = np.stack([[torch.autograd.functional.jacobian(lambda b: tfn(torch.tensor(x[p, q]), b, jq(p, q)),
                                                           torch.tensor(v[p])).numpy() for q in range(B)]
                       for p in range(P)])
        for jac in (npg.func.jacrev, npg.func.jacfwd):
            assert_close(nested(jac(f, argnums=1))(*args), tj, np.float64, what=jac.__name__)
