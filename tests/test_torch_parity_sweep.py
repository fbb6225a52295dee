"""The names a sweep of ``dir(torch.Tensor)`` / ``torch`` found missing (npgrad/ops/torch_more.py), against torch
2.13: values, gradients in float32 and float64, dtypes, errors."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]


def rnd(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def unit(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(0.1, 0.9, shape).astype(dtype)


def spd(n, seed=0, dtype=np.float64):
    a = rnd(n, n, seed=seed)
    return (a @ a.T + n * np.eye(n)).astype(dtype)


# ------------------------------------------------------------------------------- pointwise methods
UNARY = {"absolute": rnd, "atan": rnd, "asinh": rnd, "deg2rad": rnd, "rad2deg": rnd, "exp2": rnd, "sinc": rnd,
         "negative": rnd, "positive": rnd, "fix": rnd, "frac": rnd, "i0": rnd, "erfc": rnd,
         "acos": unit, "asin": unit, "atanh": unit, "logit": unit, "erfinv": unit, "lgamma": unit, "digamma": unit}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_methods(name, dtype):
    a = UNARY[name](3, 4, dtype=dtype) * (3 if name in ("fix", "frac") else 1)
    compare_with_torch(lambda x: getattr(x, name)(), lambda t: getattr(t, name)(), [a], what=f"x.{name}()")
    if name in ("asinh", "atanh"):   # (torch has no derivative of these two in place: values only)
        assert_close(getattr(npg.tensor(a) * 1, name + "_")(), getattr(torch.tensor(a), name + "_")().numpy())
    elif name != "positive":   # the in-place form writes the same values, differentiably
        compare_with_torch(lambda x: getattr(x * 1, name + "_")(), lambda t: getattr(t * 1, name + "_")(), [a],
                           what=f"x.{name}_()")


BINARY = ["atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "copysign", "fmax", "fmin", "multiply",
          "subtract", "divide", "true_divide", "xlogy", "float_power"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", BINARY)
def test_binary_methods(name, dtype):
    a, b = rnd(3, 4, dtype=dtype), unit(4, seed=1, dtype=dtype) + 0.5
    a = np.abs(a) + 0.1 if name == "float_power" else a
    compare_with_torch(lambda x, y: getattr(x, name)(y), lambda t, u: getattr(t, name)(u), [a, b],
                       what=f"x.{name}(y)")
    if name not in ("float_power", "logaddexp", "logaddexp2", "fmax", "fmin"):   # (float_power_ needs float64)
        compare_with_torch(lambda x, y: getattr(x * 1, name + "_")(y), lambda t, u: getattr(t * 1, name + "_")(u),
                           [a, b], what=f"x.{name}_(y)")


def test_methods_with_arguments():
    a, b = rnd(3, 4), rnd(3, 4, seed=1)
    cases = [(lambda x: x.logit(0.2), lambda t: t.logit(0.2), [unit(3, 4)]),
             (lambda x: x.polygamma(1), lambda t: t.polygamma(1), [unit(3, 4) + 1]),
             (lambda x: x.mvlgamma(2), lambda t: t.mvlgamma(2), [unit(3, 4) + 1]),
             (lambda x: x.diff(dim=0), lambda t: t.diff(dim=0), [a]),
             (lambda x, y: x.diff(n=2, dim=1, prepend=y), lambda t, u: t.diff(n=2, dim=1, prepend=u), [a, b]),
             (lambda x: x.diag(1), lambda t: t.diag(1), [a]),
             (lambda x: x[0].diag(-1), lambda t: t[0].diag(-1), [a]),
             (lambda x, y: x[0].outer(y[1]), lambda t, u: t[0].outer(u[1]), [a, b]),
             (lambda x, y: x[0].ger(y[1]), lambda t, u: t[0].ger(u[1]), [a, b]),
             (lambda x, y: x.inner(y), lambda t, u: t.inner(u), [a, b]),
             (lambda x, y: x.kron(y), lambda t, u: t.kron(u), [a, b[:2, :2]]),
             (lambda x, y: x.subtract(y, alpha=2), lambda t, u: t.subtract(u, alpha=2), [a, b]),
             (lambda x: (x * 1).cumsum_(1), lambda t: t.clone().cumsum_(1), [a]),
             (lambda x: x * x.clone().cumprod_(0), lambda t: t * t.clone().cumprod_(0), [a]),
             (lambda x: (x * 1).round_(decimals=1) + x, lambda t: t.clone().round_(decimals=1) + t, [a]),
             (lambda x: x.cov(), lambda t: t.cov(), [a]),
             (lambda x: x.cov(correction=0), lambda t: t.cov(correction=0), [a]),
             (lambda x: x.corrcoef(), lambda t: t.corrcoef(), [a]),
             (lambda x: x.nansum(dim=1), lambda t: t.nansum(dim=1), [a]),
             (lambda x: x.nanmean(dim=0, keepdim=True), lambda t: t.nanmean(dim=0, keepdim=True), [a]),
             (lambda x: x.quantile(0.3, dim=1), lambda t: t.quantile(0.3, dim=1), [a]),
             (lambda x: x.nanquantile(0.7, 0, True), lambda t: t.nanquantile(0.7, 0, True), [a]),
             (lambda x: x.median(dim=1).values, lambda t: t.median(dim=1).values, [a])]
    for dtype in DTYPES:
        for i, (f, g, arrays) in enumerate(cases):
            compare_with_torch(f, g, [v.astype(dtype) for v in arrays], what=f"case {i} {dtype.__name__}")


def test_nan_to_num_inplace_and_predicates():
    a = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])
    x, t = npg.tensor(a, requires_grad=False), torch.tensor(a)
    assert_close(x.clone().nan_to_num_(posinf=9.0), t.clone().nan_to_num_(posinf=9.0).numpy())
    for name in ("isfinite", "isinf", "isposinf", "isneginf", "signbit", "isreal"):
        assert np.array_equal(getattr(x, name)().data, getattr(t, name)().numpy()), name
    assert x.isclose(x).data[0] and x.allclose(x * 1 + 0, equal_nan=True)
    y = npg.tensor(rnd(3, 4))
    y2 = y * 1
    y2.lt_(0)            # a comparison written in place: 0 / 1 in the float tensor, as torch
    assert_close(y2, torch.tensor(y.data).lt_(0).numpy())
    with pytest.raises((TypeError, ValueError)):
        npg.tensor(np.array([0, 1])).acos_()   # an int tensor cannot hold acos's floats (torch's error too)


# ------------------------------------------------------------------------------- torch functions
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_functions(dtype):
    a, b, v = rnd(3, 4, dtype=dtype), rnd(3, 4, seed=1, dtype=dtype), rnd(4, seed=2, dtype=dtype)
    s = spd(3, dtype=dtype)
    cases = [(lambda x: npg.frac(x), lambda t: torch.frac(t), [a * 3]),
             (lambda x: npg.sgn(x) * x + x.sgn(), lambda t: torch.sgn(t) * t + t.sgn(), [a]),
             (lambda x: npg.logit(x), lambda t: torch.logit(t), [unit(3, dtype=dtype)]),
             (lambda x, y: npg.xlogy(x, y), lambda t, u: torch.xlogy(t, u), [a, np.abs(b) + 0.1]),
             (lambda x: npg.erf(x) + npg.erfc(x), lambda t: torch.erf(t) + torch.erfc(t), [a]),
             (lambda x: npg.lgamma(x) + npg.digamma(x) + npg.polygamma(2, x),
              lambda t: torch.lgamma(t) + torch.digamma(t) + torch.polygamma(2, t), [np.abs(a) + 0.5]),
             (lambda x: npg.erfinv(x), lambda t: torch.erfinv(t), [unit(3, dtype=dtype) - 0.5]),
             (lambda x: npg.logdet(x), lambda t: torch.logdet(t), [s]),
             (lambda x: x.logdet(), lambda t: t.logdet(), [np.stack([s, s * 2])]),
             (lambda x: npg.det(x) + x.det(), lambda t: torch.det(t) + t.det(), [s]),
             (lambda x: npg.slogdet(x)[1], lambda t: torch.slogdet(t)[1], [s]),
             (lambda x: npg.inverse(x) + x.inverse(), lambda t: torch.inverse(t) + t.inverse(), [s]),
             (lambda x: npg.pinverse(x), lambda t: torch.pinverse(t), [a]),
             (lambda x: npg.matrix_exp(x * 0.1), lambda t: torch.matrix_exp(t * 0.1), [s]),
             (lambda x: x.matrix_power(3), lambda t: t.matrix_power(3), [s]),
             (lambda x, y: npg.mv(x, y) + x.mv(y), lambda t, u: torch.mv(t, u) + t.mv(u), [a, v]),
             (lambda x, y: npg.dist(x, y), lambda t, u: torch.dist(t, u), [a, b]),
             (lambda x, y: x.dist(y, 1), lambda t, u: t.dist(u, 1), [a, v]),
             (lambda x, y: npg.dist(x, y, 3), lambda t, u: torch.dist(t, u, 3), [a, b]),
             (lambda x, y, z: npg.addmv(z[:3], x, y, beta=0.5, alpha=2),
              lambda t, u, w: torch.addmv(w[:3], t, u, beta=0.5, alpha=2), [a, v, v]),
             (lambda x, y, z: npg.addr(z, x[:, 0], y[1], alpha=3) + z.addr(x[:, 1], y[2]),
              lambda t, u, w: torch.addr(w, t[:, 0], u[1], alpha=3) + w.addr(t[:, 1], u[2]), [a, b, b]),
             (lambda x, y, z: npg.addbmm(z, x.reshape(3, 4, 1), y.reshape(3, 1, 4), beta=2),
              lambda t, u, w: torch.addbmm(w, t.reshape(3, 4, 1), u.reshape(3, 1, 4), beta=2), [a, b, s[:1, :1]]),
             (lambda x, y: npg.rsub(x, y, alpha=2), lambda t, u: torch.rsub(t, u, alpha=2), [a, b]),
             (lambda x: npg.msort(x), lambda t: torch.msort(t), [a]),
             (lambda x, y: npg.block_diag(x, y[0], y[1, 2], x[:2, :1]),
              lambda t, u: torch.block_diag(t, u[0], u[1, 2], t[:2, :1]), [a, b]),
             (lambda x: npg.stack(npg.std_mean(x)), lambda t: torch.stack(torch.std_mean(t)), [a]),
             (lambda x: npg.stack(npg.var_mean(x, 1, keepdim=True)),
              lambda t: torch.stack(torch.var_mean(t, 1, keepdim=True)), [a]),
             (lambda x: npg.stack(npg.std_mean(x, [0, 1], correction=0)),
              lambda t: torch.stack(torch.std_mean(t, [0, 1], correction=0)), [a]),
             (lambda x: npg.stack(npg.var_mean(x, 0, unbiased=False)),
              lambda t: torch.stack(torch.var_mean(t, 0, unbiased=False)), [a]),
             (lambda x: npg.stack(npg.aminmax(x, dim=1)), lambda t: torch.stack(torch.aminmax(t, dim=1)), [a]),
             (lambda x: npg.stack(npg.aminmax(x)), lambda t: torch.stack(torch.aminmax(t)), [np.round(a)]),  # ties
             (lambda x: npg.stack(npg.unbind(x, 1)) + npg.t(x),
              lambda t: torch.stack(torch.unbind(t, 1)) + torch.t(t), [a]),
             (lambda x, y: sum(npg.broadcast_tensors(x, y)), lambda t, u: sum(torch.broadcast_tensors(t, u)),
              [a, v]),
             (lambda x, y: x.sum_to_size(1, 4) + y.sum_to_size(4), lambda t, u: t.sum_to_size(1, 4) + u.sum_to_size(4),
              [a, v]),
             (lambda x: x.sum_to_size((3, 1)), lambda t: t.sum_to_size((3, 1)), [a])]
    for i, (f, g, arrays) in enumerate(cases):
        compare_with_torch(f, g, arrays, what=f"case {i}")
    assert npg.aminmax(npg.tensor(a)).max.dtype == dtype


def test_torch_function_edges_and_errors():
    assert_close(npg.logdet(npg.tensor(-np.eye(3))), torch.logdet(-torch.eye(3, dtype=torch.float64)).numpy())
    assert npg.logdet(npg.zeros((2, 2))).item() == -np.inf
    assert npg.block_diag().shape == torch.block_diag().shape
    assert npg.block_diag(npg.tensor([1, 2]), npg.tensor([[3.0]])).dtype == np.float64
    assert npg.broadcast_shapes((3, 1), (4,)) == torch.broadcast_shapes((3, 1), (4,))
    assert npg.numel(npg.zeros((3, 4))) == 12 and npg.is_floating_point(npg.zeros(2))
    assert not npg.is_complex(npg.zeros(2)) and npg.is_nonzero(npg.tensor([2.0]))
    assert_close(npg.sgn(npg.tensor([3 + 4j, 0j])), torch.sgn(torch.tensor([3 + 4j, 0j])).numpy())
    with pytest.raises(RuntimeError, match="block_diag.*3 dims"):
        npg.block_diag(npg.zeros((2, 2, 2)))
    with pytest.raises(RuntimeError, match=r"mv.*\(3, 4\) and \(3,\)"):
        npg.mv(npg.zeros((3, 4)), npg.zeros(3))
    with pytest.raises(RuntimeError, match=r"logdet.*\(3, 4\)"):
        npg.logdet(npg.zeros((3, 4)))
    with pytest.raises(RuntimeError, match="is_nonzero.*2 elements"):
        npg.is_nonzero(npg.zeros(2))
    with pytest.raises(RuntimeError, match=r"sum_to_size.*\(2, 4\).*\(3, 4\)"):
        npg.zeros((3, 4)).sum_to_size(2, 4)
    with pytest.raises(ValueError, match=r"broadcast_tensors.*\(3,\).*\(4,\)"):
        npg.broadcast_tensors(npg.zeros(3), npg.zeros(4))
    with pytest.raises(TypeError, match="unbiased= and correction="):
        npg.std_mean(npg.zeros(3), unbiased=True, correction=1)


# ------------------------------------------------------------------------------- sorting, unique
@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_argsort_torch_keywords(dtype):
    a = np.round(rnd(4, 5, dtype=dtype) * 2) / 2   # ties: torch's stable order
    for kw in ({"descending": True}, {"dim": 0}, {"dim": 0, "descending": True, "stable": True}, {"stable": True}):
        x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
        got, exp = x.sort(**kw), t.sort(**kw)
        assert np.array_equal(got.indices.data, exp.indices.numpy()), kw
        w = rnd(4, 5, seed=3, dtype=dtype)
        (got.values * w).sum().backward()
        (exp.values * torch.tensor(w)).sum().backward()
        assert_close(got.values, exp.values.detach().numpy())
        assert_close(x.grad, t.grad.numpy())
        assert np.array_equal(x.argsort(**kw).data, t.argsort(**kw).numpy())
        assert np.array_equal(npg.argsort(x, **kw).data, torch.argsort(t, **kw).numpy())
    x = npg.tensor(a)
    assert np.array_equal(x.sort().data, np.sort(a)) and np.array_equal(x.argsort(0).data, np.argsort(a, 0))
    s = npg.tensor(2.5).sort(dim=0)
    assert s.values.item() == 2.5 and s.indices.item() == 0
    with pytest.raises(TypeError, match="argsort.*kind"):
        x.argsort(kind="stable", descending=True)


def test_unique_method_as_torch():
    a = np.array([[3.0, 1, 3], [2, 2, 1]])
    x, t = npg.tensor(a), torch.tensor(a)
    for kw in ({}, {"return_inverse": True}, {"return_counts": True}, {"return_inverse": True, "return_counts": True},
               {"dim": 0, "return_inverse": True}, {"dim": 1, "return_counts": True}):
        got, exp = x.unique(**kw), t.unique(**kw)
        got, exp = (got, exp) if isinstance(exp, tuple) else ((got,), (exp,))
        assert len(got) == len(exp), kw
        for g, e in zip(got, exp):
            assert np.array_equal(np.asarray(g.data), e.numpy()) and g.shape == tuple(e.shape), kw


# ------------------------------------------------------------------------------- facts, casts, fills
def test_facts_and_casts():
    a = rnd(3, 4, dtype=np.float32)
    x, t = npg.tensor(a), torch.tensor(a)
    assert x.ndimension() == t.ndimension() and x.is_signed() == t.is_signed()
    assert x.is_cpu and not x.is_cuda and x.get_device() == t.get_device() == -1
    assert not (x.is_inference() or x.is_conj() or x.is_neg()) and x.resolve_conj() is x
    assert x.itemsize == t.itemsize and x.nbytes == t.nbytes
    assert x.is_same_size(npg.zeros((3, 4))) and not x.is_same_size(npg.zeros(3))
    assert npg.tensor([0.0]).is_nonzero() is False
    for name in ("byte", "char", "short", "cfloat", "cdouble"):
        assert str(getattr(x, name)().dtype) == str(getattr(t, name)().dtype).replace("torch.", ""), name
    assert not npg.tensor(np.array([1], np.uint8)).is_signed()
    assert [p.shape for p in x.split_with_sizes([1, 3], 1)] == [tuple(p.shape) for p in t.split_with_sizes([1, 3], 1)]
    compare_with_torch(lambda y: y.short().double() * y, lambda u: u.short().double() * u, [rnd(3) * 4])


def test_fill_diagonal_():
    for shape, wrap in (((3, 3), False), ((5, 2), False), ((7, 2), True), ((2, 5), False), ((3, 3, 3), False)):
        a = rnd(*shape)
        x, t = npg.tensor(a, requires_grad=False), torch.tensor(a)
        assert_close(x.fill_diagonal_(2.5, wrap=wrap), t.fill_diagonal_(2.5, wrap=wrap).numpy())
    compare_with_torch(lambda y: (y * 1).fill_diagonal_(0.0), lambda u: (u * 1).fill_diagonal_(0.0), [rnd(3, 4)])
    with pytest.raises(RuntimeError, match=r"fill_diagonal_.*\(2, 3, 3\)"):
        npg.zeros((2, 3, 3), requires_grad=False).fill_diagonal_(1.0)


def test_vmap_and_jvp_of_composed_names():
    a, v = spd(3), rnd(3, 3, seed=4)
    fns = [(lambda x: npg.logdet(x) + npg.frac(x * 3).sum(), lambda t: torch.logdet(t) + torch.frac(t * 3).sum()),
           (lambda x: npg.std_mean(x, 0)[0] * npg.dist(x, x.T), lambda t: torch.std_mean(t, 0)[0] * torch.dist(t, t.T)),
           (lambda x: npg.block_diag(x, x[0]).sum_to_size(1, 6), lambda t: torch.block_diag(t, t[0]).sum_to_size(1, 6)),
           (lambda x: x.logit(0.1).xlogy(x.abs() + 1), lambda t: t.logit(0.1).xlogy(t.abs() + 1))]
    for f, g in fns:
        batch = np.stack([a, a * 0.5, a + 1])
        assert_close(npg.func.vmap(f)(npg.tensor(batch)), torch.func.vmap(g)(torch.tensor(batch)).numpy())
        _, tang = npg.func.jvp(f, (npg.tensor(a),), (npg.tensor(v),))
        _, ttang = torch.func.jvp(g, (torch.tensor(a),), (torch.tensor(v),))
        assert_close(tang, ttang.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_std_var_unbiased_keyword(dtype):
    """torch's ``unbiased=`` on std / var (the method and npg.std / npg.var): it raised TypeError."""
    a = rnd(3, 4, dtype=dtype)
    for name in ("std", "var"):
        for kw in ({"unbiased": False}, {"unbiased": True}, {"dim": 1, "unbiased": False, "keepdim": True}):
            compare_with_torch(lambda x: getattr(x, name)(**kw), lambda t: getattr(t, name)(**kw), [a],
                               what=f"x.{name}(**{kw})")
            compare_with_torch(lambda x: getattr(npg, name)(x, **kw), lambda t: getattr(torch, name)(t, **kw), [a],
                               what=f"npg.{name}(x, **{kw})")
        with pytest.raises(TypeError, match=f"{name}.*unbiased= and correction="):
            getattr(npg, name)(npg.tensor(a), unbiased=True, correction=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mode_as_torch(dtype):
    a = np.array([[1.0, 2, 2, 1, 3], [5, 5, 4, 4, 4], [7, 6, 6, 7, 9]], dtype=dtype)
    b = np.random.default_rng(0).integers(0, 4, (3, 4, 6)).astype(dtype)
    for arr, kw in ((a, {}), (a, {"dim": 0}), (b, {"dim": 1, "keepdim": True}), (b, {"dim": -1}),
                    (np.array(2.5, dtype), {})):
        x, t = npg.tensor(arr), torch.tensor(arr, requires_grad=True)
        got, exp = npg.mode(x, **kw), torch.mode(t, **kw)
        assert np.array_equal(got.indices.data, exp.indices.numpy()), kw
        assert_close(got.values, exp.values.detach().numpy())
        assert got.values.dtype == dtype and got.indices.dtype == np.int64
        w = rnd(*exp.values.shape, seed=5, dtype=dtype)
        (got.values * w).sum().backward()
        (exp.values * torch.tensor(w)).sum().backward()
        assert_close(x.grad, t.grad.numpy())
    assert np.array_equal(npg.tensor(b).mode(1).indices.data, torch.tensor(b).mode(1).indices.numpy())
    assert_close(npg.func.vmap(lambda r: npg.mode(r, 0).values)(npg.tensor(b)),
                 torch.func.vmap(lambda r: torch.mode(r, 0).values)(torch.tensor(b)).numpy())
    with pytest.raises(IndexError, match=r"mode.*\(3, 0\)"):
        npg.mode(npg.zeros((3, 0)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_put_as_torch(dtype):
    a, v = rnd(4, 3, dtype=dtype), rnd(3, seed=1, dtype=dtype)
    rows, cols = np.array([0, 2, 0]), np.array([1, 1, 1])
    mask = np.array([True, False, True, False])
    cases = [((rows, cols), v, True), ((rows[:2], cols[:2]), v[:2], False), ((np.array([1, 3]),), v, False),
             ((np.array([[1], [-1]]),), v, True), ((mask,), v[:1], True), ((rows,), v[:1].reshape(1, 1), True)]
    for i, (ind, vals, acc) in enumerate(cases):
        compare_with_torch(lambda x, y: x.index_put(ind, y, accumulate=acc),
                           lambda t, u: t.index_put(tuple(torch.tensor(j) for j in ind), u, accumulate=acc),
                           [a, vals], what=f"index_put case {i}")
        compare_with_torch(lambda x, y: (x * 1).index_put_(ind, y, accumulate=acc) * x,
                           lambda t, u: (t * 1).index_put_(tuple(torch.tensor(j) for j in ind), u, accumulate=acc) * t,
                           [a, vals], what=f"index_put_ case {i}")
    compare_with_torch(lambda x: npg.index_put(x, (rows, cols), 2.0), lambda t: torch.index_put(
        t, (torch.tensor(rows), torch.tensor(cols)), torch.tensor(2.0, dtype=t.dtype)), [a])
    x = npg.tensor(a)
    with pytest.raises(IndexError, match=r"index_put.*index 4 is out of bounds for dim 0 of size 4"):
        x.index_put((np.array([4]),), npg.tensor(v[:1]))
    with pytest.raises(ValueError, match=r"index_put.*\(2,\).*\(3, 3\)"):
        x.index_put((rows,), npg.tensor(v[:2]))
    with pytest.raises(TypeError, match="index_put.*dtype"):
        x.index_put((rows,), npg.tensor(v.astype(np.float16)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_toplevel_functional_names(dtype):
    """torch.conv1d, torch.layer_norm, torch.dropout...: nn.functional's ops under torch's top-level names."""
    x1, w1 = rnd(2, 4, 9, dtype=dtype), rnd(3, 4, 3, seed=1, dtype=dtype)
    x3, w3 = rnd(1, 2, 4, 4, 4, dtype=dtype), rnd(3, 2, 2, 2, 2, seed=1, dtype=dtype)
    img, wt = rnd(2, 4, 3, 3, dtype=dtype), rnd(4, 2, 3, 3, seed=2, dtype=dtype)
    g, b = rnd(9, seed=3, dtype=dtype), rnd(9, seed=4, dtype=dtype)
    cases = [("conv1d", [x1, w1], (), {"padding": 1}), ("conv3d", [x3, w3], (), {"stride": 2}),
             ("conv_transpose1d", [x1, w1.transpose(1, 0, 2)], (), {"stride": 2}),
             ("conv_transpose2d", [img, wt], (), {"output_padding": 1, "stride": 2}),
             ("conv_transpose3d", [x3, w3.transpose(1, 0, 2, 3, 4)], (), {}),
             ("pixel_shuffle", [img], (2,), {}), ("pixel_unshuffle", [rnd(1, 2, 4, 4, dtype=dtype)], (2,), {}),
             ("selu", [x1], (), {}), ("celu", [x1], (0.7,), {}), ("hardshrink", [x1], (0.3,), {}),
             ("prelu", [img, np.full(4, 0.2, dtype)], (), {}), ("threshold", [x1], (0.1, -2.0), {}),
             ("bilinear", [rnd(5, 3, dtype=dtype), rnd(5, 4, seed=1, dtype=dtype), rnd(2, 3, 4, seed=2, dtype=dtype)],
              (), {}),
             ("adaptive_avg_pool1d", [x1], (4,), {}), ("avg_pool1d", [x1], (3, 2, 1), {}),
             ("max_pool1d", [x1], (3, 2), {}), ("max_pool3d", [x3], (2,), {}), ("channel_shuffle", [img], (2,), {}),
             ("layer_norm", [x1, g, b], ((9,),), {}), ("group_norm", [x1], (2,), {}),
             ("rms_norm", [x1, g], ((9,),), {}), ("dropout", [x1], (0.3, False), {})]
    for name, arrays, args, kw in cases:
        if name in ("layer_norm", "rms_norm"):
            f = lambda x, *ws: getattr(npg, name)(x, *args, *ws, **kw)          # noqa: E731
            h = lambda t, *ws: getattr(torch, name)(t, *args, *ws, **kw)        # noqa: E731
        else:
            f = lambda *xs: getattr(npg, name)(*xs, *args, **kw)                # noqa: E731
            h = lambda *ts: getattr(torch, name)(*ts, *args, **kw)              # noqa: E731
        compare_with_torch(f, h, arrays, what=name)
    compare_with_torch(lambda x: x.hardshrink(0.2), lambda t: t.hardshrink(0.2), [x1], what="x.hardshrink")
    compare_with_torch(lambda x, w: x.prelu(w), lambda t, u: t.prelu(u), [img, np.full(4, 0.2, dtype)])
    out = npg.dropout(npg.ones((200, 50), dtype=dtype), 0.5, True)
    assert out.dtype == dtype and set(np.unique(out.data)) <= {0.0, 2.0} and 0.4 < (out.data == 0).mean() < 0.6


@pytest.mark.parametrize("dtype", DTYPES)
def test_aminmax_diagflat_methods_clamp_min_max(dtype):
    a = rnd(3, 4, dtype=dtype)
    compare_with_torch(lambda x: npg.stack(x.aminmax(dim=0, keepdim=True)),
                       lambda t: torch.stack(t.aminmax(dim=0, keepdim=True)), [a])
    compare_with_torch(lambda x: x.diagflat(1), lambda t: t.diagflat(1), [a[:2]])
    compare_with_torch(lambda x: npg.clamp_min(x, 0.1) + npg.clamp_max(x, -0.2),
                       lambda t: torch.clamp_min(t, 0.1) + torch.clamp_max(t, -0.2), [a])
    assert npg.promote_types(np.float32, np.int64) == np.float64
    with pytest.raises(RuntimeError, match=r"aminmax.*\(0, 3\)"):
        npg.zeros((0, 3)).aminmax()
