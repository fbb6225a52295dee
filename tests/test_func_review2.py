"""npg.func against torch.func, review round 2: pytree structures of cotangents / tangents / in_dims / out_dims,
chunk_size checks, linearize with pytree primals."""
import collections

import numpy as np
import pytest
import torch
import torch.func as tfunc

import npgrad as npg
from npgrad import func
from tests.helpers import assert_close


def _n(x):
    return npg.tensor(np.asarray(x), requires_grad=False)


def _t(x):
    return torch.tensor(np.asarray(x))


# ------------------------------------------------------------------ vjp: cotangents must have the output's structure
def _dict_out(lib):
    return lambda a: {"a": a * 2.0, "b": a * 3.0}


@pytest.mark.parametrize("cts", [
    lambda m: {"b": m(np.ones(3)), "a": m(np.zeros(3))},          # the keys in another order
    lambda m: {"a": m(np.ones(3)), "c": m(np.zeros(3))},          # another key
    lambda m: [m(np.ones(3)), m(np.zeros(3))],                    # a list for a dict
])
def test_vjp_cotangents_of_another_structure_raise_as_torch(cts):
    x = np.array([0.5, -1.0, 2.0])
    _, tfn = tfunc.vjp(_dict_out(torch), _t(x))
    with pytest.raises(RuntimeError, match="structure"):
        tfn(cts(_t))
    _, fn = func.vjp(_dict_out(npg), _n(x))
    with pytest.raises(RuntimeError, match="structure"):   # (the reordered dict gave 3 * ones silently, torch: 2)
        fn(cts(_n))
    # the right structure (any key order of the caller's dict is not accepted by torch either)
    assert_close(fn({"a": _n(np.ones(3)), "b": _n(np.zeros(3))})[0], tfn({"a": _t(np.ones(3)),
                                                                          "b": _t(np.zeros(3))})[0].numpy())


def test_vjp_single_output_with_a_tuple_cotangent_raises_as_torch():
    x = np.array([0.5, -1.0, 2.0])
    _, tfn = tfunc.vjp(lambda a: a * 2.0, _t(x))
    with pytest.raises(RuntimeError, match="structure"):
        tfn((_t(np.ones(3)),))
    _, fn = func.vjp(lambda a: a * 2.0, _n(x))
    with pytest.raises(RuntimeError, match="structure"):
        fn((_n(np.ones(3)),))


# ------------------------------------------------------------------ jvp: tangents must have the primals' structure
def test_jvp_tangents_of_another_structure_raise_as_torch():
    x = np.arange(3.0)
    f_t = lambda d: d["a"] + d["b"] * 100.0  # noqa: E731
    f_n = lambda d: d["a"] + d["b"] * 100.0  # noqa: E731
    for tans in (lambda m: ({"b": m(np.ones(3)), "a": m(np.zeros(3))},),
                 lambda m: ({"a": m(np.ones(3)), "c": m(np.zeros(3))},),
                 lambda m: ([m(np.ones(3)), m(np.zeros(3))],)):
        with pytest.raises(RuntimeError, match="structure"):
            tfunc.jvp(f_t, ({"a": _t(x), "b": _t(x + 10)},), tans(_t))
        with pytest.raises(RuntimeError, match="structure"):   # (the reordered dict gave ones silently, torch: 100)
            func.jvp(f_n, ({"a": _n(x), "b": _n(x + 10)},), tans(_n))
    _, tj = tfunc.jvp(f_t, ({"a": _t(x), "b": _t(x + 10)},), ({"a": _t(np.zeros(3)), "b": _t(np.ones(3))},))
    _, j = func.jvp(f_n, ({"a": _n(x), "b": _n(x + 10)},), ({"a": _n(np.zeros(3)), "b": _n(np.ones(3))},))
    assert_close(j, tj.numpy())


# ------------------------------------------------------------------ jacrev / jacfwd: chunk_size must be positive
@pytest.mark.parametrize("chunk", [0, -1])
def test_jacobian_chunk_size_not_positive_raises_as_torch(chunk):
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(ValueError, match="chunk_size"):
        tfunc.jacrev(torch.sin, chunk_size=chunk)(_t(x))
    with pytest.raises(ValueError, match="chunk_size"):   # (it was ignored: the loop fallback ran)
        func.jacrev(npg.sin, chunk_size=chunk)(_n(x))
    with pytest.raises(ValueError, match="chunk_size"):   # (torch's jacfwd has no chunk_size; npgrad's checks it alike)
        func.jacfwd(npg.sin, chunk_size=chunk)(_n(x))


def test_jacobian_chunk_size_as_torch():
    x = np.array([0.5, -1.0, 2.0, 0.1])
    tj = tfunc.jacrev(torch.sin, chunk_size=3)(_t(x)).numpy()
    assert_close(func.jacrev(npg.sin, chunk_size=3)(_n(x)), tj)
    assert_close(func.jacfwd(npg.sin, chunk_size=3)(_n(x)), tj)


# ------------------------------------------------------------------ linearize: pytree primals, as torch.func.linearize
def test_linearize_pytree_primals_as_torch():
    r = np.random.default_rng(1)
    a0, b0 = r.standard_normal(3), r.standard_normal(2)
    ta, tb = r.standard_normal(3), r.standard_normal(2)
    t_out, t_fn = tfunc.linearize(lambda d, c: {"o": torch.sin(d["a"]).sum() * d["b"] * c[0]},
                                  {"a": _t(a0), "b": _t(b0)}, (_t(2.0),))
    out, fn = func.linearize(lambda d, c: {"o": npg.sin(d["a"]).sum() * d["b"] * c[0]},
                             {"a": _n(a0), "b": _n(b0)}, (_n(2.0),))
    assert_close(out["o"], t_out["o"].numpy())
    tj = t_fn({"a": _t(ta), "b": _t(tb)}, (_t(0.5),))
    j = fn({"a": _n(ta), "b": _n(tb)}, (_n(0.5),))
    assert list(j) == ["o"]
    assert_close(j["o"], tj["o"].numpy())
    with pytest.raises(RuntimeError, match="argspec"):
        t_fn({"b": _t(tb), "a": _t(ta)}, (_t(0.5),))
    with pytest.raises(RuntimeError, match="structure"):
        fn({"b": _n(tb), "a": _n(ta)}, (_n(0.5),))
    with pytest.raises(RuntimeError, match="shape"):
        fn({"a": _n(ta), "b": _n(ta)}, (_n(0.5),))


# ------------------------------------------------------------------ vmap: in_dims / out_dims as tree prefixes
def _shapes(r):
    if isinstance(r, (tuple, list)):
        return type(r)(_shapes(v) for v in r)
    if isinstance(r, dict):
        return {k: _shapes(v) for k, v in r.items()}
    return tuple(r.shape)


def test_vmap_in_dims_prefix_of_a_nested_input_as_torch():
    r = np.random.default_rng(2)
    a, b, c = r.standard_normal((4, 3)), r.standard_normal((4, 2)), r.standard_normal(5)
    # in_dims (0, None) for the input ((a, b), c): 0 for both a and b, None for c
    tr = tfunc.vmap(lambda p: p[0][0] * p[0][1].sum() + p[1].sum(), in_dims=((0, None),))(((_t(a), _t(b)), _t(c)))
    nr = func.vmap(lambda p: p[0][0] * p[0][1].sum() + p[1].sum(), in_dims=((0, None),))(((_n(a), _n(b)), _n(c)))
    assert_close(nr, tr.numpy())
    with pytest.raises(ValueError, match="in_dims"):   # a prefix that does not fit: torch's ValueError
        tfunc.vmap(lambda p: p[0][0], in_dims=((0, None, 0),))(((_t(a), _t(b)), _t(c)))
    with pytest.raises(ValueError, match="in_dims"):
        func.vmap(lambda p: p[0][0], in_dims=((0, None, 0),))(((_n(a), _n(b)), _n(c)))


def test_vmap_out_dims_prefix_of_a_nested_output_as_torch():
    x = np.random.default_rng(3).standard_normal((4, 3))
    tr = tfunc.vmap(lambda a: (a * 2, (a, a.sum())), out_dims=(1, 0))(_t(x))
    nr = func.vmap(lambda a: (a * 2, (a, a.sum())), out_dims=(1, 0))(_n(x))
    assert _shapes(nr) == _shapes(tr) == ((3, 4), ((4, 3), (4,)))
    assert_close(nr[0], tr[0].numpy())
    # a one-element tuple for a single output is allowed (torch's special case)
    tr = tfunc.vmap(lambda a: a * 2, out_dims=(1,))(_t(x))
    nr = func.vmap(lambda a: a * 2, out_dims=(1,))(_n(x))
    assert_close(nr, tr.numpy())
    # out_dims that are no prefix of the output's structure raise, as torch (npgrad matched them by leaf position)
    for od in ((1,), (1, 0, 0)):
        with pytest.raises(ValueError, match="out_dims"):
            tfunc.vmap(lambda a: ((a * 2, a), a), out_dims=od)(_t(x))
        with pytest.raises(ValueError, match="out_dims"):
            func.vmap(lambda a: ((a * 2, a), a), out_dims=od)(_n(x))


# ------------------------------------------------------------------ an OrderedDict stays one (torch's pytrees keep it)
def test_ordered_dict_structure_kept_as_torch():
    x, y = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    f_t = lambda p: (p["a"] * p["b"]).sum()  # noqa: E731
    tg = tfunc.grad(f_t)(collections.OrderedDict([("b", _t(y)), ("a", _t(x))]))
    g = func.grad(f_t)(collections.OrderedDict([("b", _n(y)), ("a", _n(x))]))
    assert type(g) is type(tg) is collections.OrderedDict and list(g) == list(tg) == ["b", "a"]
    assert_close(g["b"], tg["b"].numpy())
    tv = tfunc.vmap(lambda p: collections.OrderedDict(u=p["a"] * 2))(collections.OrderedDict(a=_t(np.ones((2, 3)))))
    v = func.vmap(lambda p: collections.OrderedDict(u=p["a"] * 2))(collections.OrderedDict(a=_n(np.ones((2, 3)))))
    assert type(v) is type(tv) is collections.OrderedDict
