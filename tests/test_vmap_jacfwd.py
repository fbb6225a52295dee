"""``vmap(jacfwd(f))`` and per-sample Hessians: jacfwd runs its own forward-mode path on the batched arguments
(one basis of p tangents, p the per-sample input size, shared by every sample), checked against torch.func in
float64, with vmap's per-sample loop fallback turned into an error."""
import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from npgrad import _fwd_batched
from npgrad.func import functional_call, hessian, jacfwd, jacrev, vmap

from .helpers import assert_close, no_vmap_fallback

TOL = dict(rtol=1e-12, atol=1e-12)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _f(w, x):
    return npg.tanh(x @ w).sum()


def _ft(w, x):
    return torch.tanh(x @ w).sum()


def _vec(w, x):   # a vector output, batched input and weight mixed
    return npg.sin(x @ w) * npg.sum(x ** 2)


def _vect(w, x):
    return torch.sin(x @ w) * torch.sum(x ** 2)


def _check(actual, expected):
    a_leaves = actual if isinstance(actual, (tuple, list)) else [actual]
    e_leaves = expected if isinstance(expected, (tuple, list)) else [expected]
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves):
        if isinstance(e, (tuple, list, dict)):
            _check(list(a.values()) if isinstance(a, dict) else a, list(e.values()) if isinstance(e, dict) else e)
            continue
        a = a.data if isinstance(a, npg.Tensor) else np.asarray(a)
        assert a.shape == tuple(e.shape)
        assert_close(a, e.detach().numpy(), **TOL)


def _both(W, X):
    return (npg.tensor(W), npg.tensor(X)), (torch.tensor(W), torch.tensor(X))


@pytest.mark.parametrize("B", [0, 1, 5])
@pytest.mark.parametrize("in_dims", [(None, 0), (0, 0)])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_vmap_jacfwd_matches_torch(B, in_dims, argnums):
    W = _rng(1).standard_normal((B, 4, 3) if in_dims[0] == 0 else (4, 3))
    X = _rng(2).standard_normal((B, 4))
    (w, x), (wt, xt) = _both(W, X)
    with no_vmap_fallback():
        # (torch.func's own broadcasting of a (0, ...) batch fails on _vect: B = 0 with _f only)
        for f, ft in ((_f, _ft), (_vec, _vect))[:1 if B == 0 else 2]:
            got = vmap(jacfwd(f, argnums=argnums), in_dims=in_dims)(w, x)
            _check(got, tf.vmap(tf.jacfwd(ft, argnums=argnums), in_dims=in_dims)(wt, xt))


@pytest.mark.parametrize("chunk_size", [None, 1, 5])
def test_has_aux_pytrees_and_chunks(chunk_size):
    rng = _rng(3)
    P = {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    X = rng.standard_normal((4, 3))

    def f(p, x):
        h = x @ p["a"] + p["b"]
        return (npg.tanh(h), {"s": (h ** 2).sum()}), h * 2

    def ft(p, x):
        h = x @ p["a"] + p["b"]
        return (torch.tanh(h), {"s": (h ** 2).sum()}), h * 2

    p = {k: npg.tensor(v) for k, v in P.items()}
    pt = {k: torch.tensor(v) for k, v in P.items()}
    with no_vmap_fallback():
        (jt, js), aux = vmap(jacfwd(f, argnums=(0, 1), has_aux=True, chunk_size=chunk_size),
                             in_dims=(None, 0))(p, npg.tensor(X))
    (et, es), eaux = tf.vmap(tf.jacfwd(ft, argnums=(0, 1), has_aux=True), in_dims=(None, 0))(pt, torch.tensor(X))
    for a, e in ((jt, et), (js["s"], es["s"])):
        _check([a[0]["a"], a[0]["b"], a[1]], [e[0]["a"], e[0]["b"], e[1]])
    _check(aux, eaux)


def test_out_dims_and_the_unbatched_output():
    W = _rng(4).standard_normal((3, 2))
    X = _rng(5).standard_normal((4, 3))
    (w, x), (wt, xt) = _both(W, X)

    def f(w, x):
        return npg.tanh(x @ w), (w ** 3).sum()   # the second output does not depend on the batch

    def ft(w, x):
        return torch.tanh(x @ w), (w ** 3).sum()
    with no_vmap_fallback():
        got = vmap(jacfwd(f), in_dims=(None, 0), out_dims=(1, 0))(w, x)
    _check(got, tf.vmap(tf.jacfwd(ft), in_dims=(None, 0), out_dims=(1, 0))(wt, xt))


@pytest.mark.parametrize("B", [1, 6])
def test_per_sample_hessians_and_second_order_compositions(B):
    W = _rng(6).standard_normal((4, 3))
    X = _rng(7).standard_normal((B, 4))
    (w, x), (wt, xt) = _both(W, X)
    with no_vmap_fallback():
        for argnums in (0, (0, 1)):
            _check(vmap(hessian(_f, argnums), in_dims=(None, 0))(w, x),
                   tf.vmap(tf.hessian(_ft, argnums), in_dims=(None, 0))(wt, xt))
        _check(vmap(jacfwd(jacrev(_vec, 1), 0), in_dims=(None, 0))(w, x),
               tf.vmap(tf.jacfwd(tf.jacrev(_vect, 1), 0), in_dims=(None, 0))(wt, xt))
        _check(vmap(jacrev(jacfwd(_vec, 0), 1), in_dims=(None, 0))(w, x),
               tf.vmap(tf.jacrev(tf.jacfwd(_vect, 0), 1), in_dims=(None, 0))(wt, xt))
        _check(vmap(jacfwd(jacfwd(_f)), in_dims=(None, 0))(w, x),
               tf.vmap(tf.jacfwd(tf.jacfwd(_ft)), in_dims=(None, 0))(wt, xt))


def test_jacfwd_of_vmap_and_nested_vmaps():
    W = _rng(8).standard_normal((4, 3))
    X = _rng(9).standard_normal((2, 5, 4))
    (w, x), (wt, xt) = _both(W, X)
    with no_vmap_fallback():
        _check(jacfwd(vmap(_vec, in_dims=(None, 0)))(w, x[0]),
               tf.jacfwd(tf.vmap(_vect, in_dims=(None, 0)))(wt, xt[0]))
        inner = vmap(jacfwd(_vec, argnums=(0, 1)), in_dims=(None, 0))
        _check(vmap(inner, in_dims=(None, 0))(w, x),
               tf.vmap(tf.vmap(tf.jacfwd(_vect, argnums=(0, 1)), in_dims=(None, 0)), in_dims=(None, 0))(wt, xt))
        # batched at the outer level only (a per-sample weight) and at the inner one (the input)
        Ws = _rng(10).standard_normal((2, 4, 3))
        inner = vmap(hessian(_f, (0, 1)), in_dims=(None, 0))
        _check(vmap(inner, in_dims=(0, 0))(npg.tensor(Ws), x),
               tf.vmap(tf.vmap(tf.hessian(_ft, (0, 1)), in_dims=(None, 0)), in_dims=(0, 0))(torch.tensor(Ws), xt))


def test_a_value_batched_through_a_closure():
    W = _rng(11).standard_normal((4, 3))
    X = _rng(12).standard_normal((5, 4))
    (w, x), (wt, xt) = _both(W, X)
    with no_vmap_fallback():
        got = vmap(lambda xi: jacfwd(lambda v: npg.tanh(xi @ v))(w))(x)
    _check(got, tf.vmap(lambda xi: tf.jacfwd(lambda v: torch.tanh(xi @ v))(wt))(xt))


def _params(module):
    return {k: v.detach().numpy().astype(np.float64) for k, v in module.named_parameters()}


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_per_sample_hessian_of_a_model_through_functional_call(kind):
    torch.manual_seed(0)
    if kind == "linear":
        tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
        nm = npg.nn.Sequential(npg.nn.Linear(3, 4), npg.nn.Tanh(), npg.nn.Linear(4, 2))
        X = _rng(13).standard_normal((5, 3))
    else:
        tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 2), torch.nn.Tanh(), torch.nn.Flatten(0)).double()
        nm = npg.nn.Sequential(npg.nn.Conv2d(1, 2, 2), npg.nn.Tanh(), npg.nn.Flatten(0))
        X = _rng(13).standard_normal((4, 1, 3, 3))
    P = _params(tm)

    def loss(p, x):
        return (functional_call(nm, p, (x,)) ** 2).sum()

    def loss_t(p, x):
        return (torch.func.functional_call(tm, p, (x,)) ** 2).sum()
    p = {k: npg.tensor(v) for k, v in P.items()}
    pt = {k: torch.tensor(v) for k, v in P.items()}
    with no_vmap_fallback():
        H = vmap(hessian(loss), in_dims=(None, 0))(p, npg.tensor(X))
    Ht = tf.vmap(tf.hessian(loss_t), in_dims=(None, 0))(pt, torch.tensor(X))
    for a in P:
        _check([H[a][b] for b in P], [Ht[a][b] for b in P])


def _basis_sizes(monkeypatch, fn, *args):
    """The number of tangents each make_dual of the call carries (its basis batch size)."""
    sizes = []
    real = _fwd_batched.make_dual

    def recording(p, t, **kw):
        sizes.append(t._inner.shape[0] if type(t) is _fwd_batched.BatchedTensor else 1)
        return real(p, t, **kw)
    monkeypatch.setattr(_fwd_batched, "make_dual", recording)
    with no_vmap_fallback():
        fn(*args)
    monkeypatch.undo()
    return sizes


@pytest.mark.parametrize("transform", [jacfwd, hessian])
def test_the_basis_does_not_grow_with_the_batch(monkeypatch, transform):
    W = npg.tensor(_rng(14).standard_normal((4, 3)))
    fn = vmap(transform(_f, argnums=(0, 1)), in_dims=(None, 0))
    small = _basis_sizes(monkeypatch, fn, W, npg.tensor(_rng(15).standard_normal((2, 4))))
    large = _basis_sizes(monkeypatch, fn, W, npg.tensor(_rng(15).standard_normal((8, 4))))
    assert small == large
    assert small and max(small) == W.size + 4   # one basis over both inputs' per-sample elements


def test_reverse_mode_through_it_and_other_layouts():
    W = _rng(16).standard_normal((4, 3))
    X = _rng(17).standard_normal((5, 4))
    (w, x), (wt, xt) = _both(W, X)
    with no_vmap_fallback():
        got = npg.func.grad(lambda w, x: (vmap(jacfwd(_f, 1), in_dims=(None, 0))(w, x) ** 2).sum())(w, x)
        _check(got, tf.grad(lambda w, x: (tf.vmap(tf.jacfwd(_ft, 1), in_dims=(None, 0))(w, x) ** 2).sum())(wt, xt))
        got = vmap(npg.func.grad(lambda w, x: (jacfwd(_f, 1)(w, x) ** 2).sum()), in_dims=(None, 0))(w, x)
        _check(got, tf.vmap(tf.grad(lambda w, x: (tf.jacfwd(_ft, 1)(w, x) ** 2).sum()), in_dims=(None, 0))(wt, xt))
        got = vmap(jacfwd(_vec, (0, 1)), in_dims=(None, 1))(w, npg.tensor(X.T.copy()))
        _check(got, tf.vmap(tf.jacfwd(_vect, (0, 1)), in_dims=(None, 1))(wt, torch.tensor(X.T.copy())))
        T = _rng(18).standard_normal((4, 3))
        got = vmap(lambda xi: npg.func.jvp(lambda v: npg.tanh(xi @ v), (w,), (npg.tensor(T),)))(x)
        _check(got, tf.vmap(lambda xi: tf.jvp(lambda v: torch.tanh(xi @ v), (wt,), (torch.tensor(T),)))(xt))


def test_a_write_into_a_copy_of_the_batched_input():
    W = _rng(19).standard_normal((4, 3))
    X = _rng(20).standard_normal((5, 4))
    (w, x), (wt, xt) = _both(W, X)

    def f(w, x):
        x = x * 1.0
        x.mul_(2)
        return npg.tanh(x @ w)

    def ft(w, x):
        x = x * 1.0
        x.mul_(2)
        return torch.tanh(x @ w)
    with no_vmap_fallback():
        got = vmap(jacfwd(f, (0, 1)), in_dims=(None, 0))(w, x)
    _check(got, tf.vmap(tf.jacfwd(ft, (0, 1)), in_dims=(None, 0))(wt, xt))
