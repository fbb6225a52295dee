"""npgrad/ops/torch_fns.py against PyTorch where the op table (tests/test_ops_table.py) does not reach: cdist's
gradient against torch.cdist's own backward (zero distances included), cummax / cummin indices (ties, NaN),
histc and bucketize (no gradient), and the errors."""
import math

import numpy as np
import pytest
import torch

import npgrad as npg


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 1.5, 3.0, math.inf, 0.0])
def test_cdist_gradient_is_torch_cdists_with_zero_distances(p):
    a, b = rnd(2, 4, 3), rnd(2, 5, 3, seed=1)
    b[0, 0], b[1, 2] = a[0, 1], a[1, 3]
    x, y = npg.tensor(a), npg.tensor(b)
    t, u = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    w = rnd(2, 4, 5, seed=2)
    out, tout = npg.cdist(x, y, p=p), torch.cdist(t, u, p=p)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad, u.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cdist_errors():
    m = npg.tensor(rnd(2, 3))
    with pytest.raises(ValueError, match="at least 2D"):
        npg.cdist(npg.tensor(rnd(3)), m)
    with pytest.raises(ValueError, match="same number of columns"):
        npg.cdist(m, npg.tensor(rnd(2, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        npg.cdist(npg.tensor(np.ones((2, 3), np.int64)), m)
    with pytest.raises(ValueError, match="non-negative p"):
        npg.cdist(m, m, p=-1)
    with pytest.raises(ValueError, match="compute_mode"):
        npg.cdist(m, m, compute_mode="x")
    with pytest.raises(TypeError, match="dtype"):
        npg.cdist(m, npg.tensor(rnd(2, 3).astype(np.float32)))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_indices_as_torch(name):
    cases = [np.array([1.0, 3.0, 3.0, 2.0, 3.0, 0.0, 0.0]), np.array([1.0, np.nan, 2.0, np.nan, 0.0]),
             np.random.default_rng(0).integers(0, 3, (3, 6)).astype(np.float64), np.array([1, 3, 2, 3, 0])]
    for a in cases:
        for dim in range(a.ndim):
            r, tr = getattr(npg, name)(npg.tensor(a), dim), getattr(torch, name)(torch.tensor(a), dim)
            np.testing.assert_array_equal(r.values.data, tr.values.numpy())
            np.testing.assert_array_equal(r.indices.data, tr.indices.numpy())
            assert r.indices.dtype == np.int64 and r.values.dtype == a.dtype
            assert type(r).__name__ == name and r.values is r[0]
    r = getattr(npg, name)(npg.tensor(2.0), 0)
    assert r.values.shape == () and r.indices.data == 0
    with pytest.raises(Exception, match="axis|dim"):
        getattr(npg, name)(npg.tensor(rnd(3)), 1)


def test_logcumsumexp_extremes_and_errors():
    a = np.array([[-1000.0, 0.0, 1000.0, -np.inf], [1e4, 1e4, -1e4, 3.0]])
    np.testing.assert_allclose(npg.logcumsumexp(npg.tensor(a), 1).data, torch.logcumsumexp(torch.tensor(a), 1))
    assert npg.logcumsumexp(npg.tensor(np.zeros((2, 0))), 1).shape == (2, 0)
    with pytest.raises(TypeError, match="floating"):
        npg.logcumsumexp(npg.tensor(np.array([1, 2])), 0)


def test_gathers_and_renorm_errors():
    v = npg.tensor(rnd(3))
    with pytest.raises(ValueError, match="1D vector"):
        npg.cartesian_prod(npg.tensor(rnd(3, 1)))
    with pytest.raises(ValueError, match="non-empty"):
        npg.cartesian_prod()
    with pytest.raises(TypeError, match="same dtype"):
        npg.cartesian_prod(v, npg.tensor(rnd(2).astype(np.float32)))
    assert npg.cartesian_prod(v) is v
    with pytest.raises(ValueError, match="1D vector"):
        npg.combinations(npg.tensor(rnd(3, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        npg.combinations(v, r=-1)
    e = npg.combinations(v, r=0)
    assert e.shape == (0,) and not e.requires_grad
    assert npg.combinations(v, r=4).shape == (0, 4)
    m = npg.tensor(rnd(3, 2))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        npg.renorm(v, 2, 0, 1.0)
    for p in (0, -1):
        with pytest.raises(ValueError, match="non-positive-norm"):
            npg.renorm(m, p, 0, 1.0)
    with pytest.raises(ValueError, match="maxnorm"):
        npg.renorm(m, 2, 0, -1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histc_as_torch(dtype):
    h = rnd(1000).astype(dtype)
    for kw in ({}, {"bins": 7}, {"bins": 10, "min": -1, "max": 1}, {"bins": 4, "min": 0, "max": 4}):
        r, tr = npg.histc(npg.tensor(h), **kw), torch.histc(torch.tensor(h), **kw)
        np.testing.assert_array_equal(r.data, tr.numpy())
        assert r.dtype == dtype and not r.requires_grad
    for a, kw in [([0.0, 1, 2, 3, 4], dict(bins=4, min=0, max=4)), ([2.0, 2.0], dict(bins=4)), ([], dict(bins=3)),
                  ([1.0, np.nan, 5.0], dict(bins=3, min=0, max=6))]:
        a = np.array(a, dtype)
        np.testing.assert_array_equal(npg.histc(npg.tensor(a), **kw).data, torch.histc(torch.tensor(a), **kw))
    assert npg.tensor(h).histc(5).shape == (5,)
    with pytest.raises(TypeError):
        npg.histc(npg.tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match="bins must be > 0"):
        npg.histc(npg.tensor(h), bins=0)
    with pytest.raises(ValueError, match="max must be larger than min"):
        npg.histc(npg.tensor(h), min=3, max=1)
    with pytest.raises(ValueError, match="not finite"):
        npg.histc(npg.tensor(np.array([1.0, np.inf], dtype)))


@pytest.mark.parametrize("right", [False, True])
def test_bucketize_as_torch(right):
    b = np.array([1.0, 2.0, 3.0])
    v = np.array([[1.0, 2.0, 2.5], [3.0, 0.0, np.nan]])
    for out_int32 in (False, True):
        r = npg.bucketize(npg.tensor(v), npg.tensor(b), out_int32=out_int32, right=right)
        tr = torch.bucketize(torch.tensor(v), torch.tensor(b), out_int32=out_int32, right=right)
        np.testing.assert_array_equal(r.data, tr.numpy())
        assert r.dtype == (np.int32 if out_int32 else np.int64) and not r.requires_grad
    # torch's right=False is np.searchsorted's side="left"
    np.testing.assert_array_equal(npg.bucketize(v, b, right=right).data,
                                  np.searchsorted(b, v, side="right" if right else "left"))
    s = npg.bucketize(2.0, npg.tensor(b), right=right)
    assert s.shape == () and s.data == torch.bucketize(2.0, torch.tensor(b), right=right).item()
    with pytest.raises(ValueError, match="1 dimension"):
        npg.bucketize(v, b.reshape(3, 1))


def test_top_level_distance_aliases_are_nn_functionals():
    import npgrad.nn.functional as F
    assert npg.pdist is F.pdist and npg.cosine_similarity is F.cosine_similarity
    assert npg.pairwise_distance is F.pairwise_distance


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4), (np.float16, None)])
def test_logcumsumexp_along_a_long_axis_is_linear_in_memory(dtype, tol):
    """A running logaddexp: 30,000 steps along dim 0 (each prefix's own logsumexp held 30,000^2 values: 14 GB
    and a minute for a (20000, 3) float32 input). Values and gradients as torch's; float16 accumulated in float32."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30000, 2)).astype(dtype)
    g = rng.standard_normal((30000, 2)).astype(dtype)
    x = npg.tensor(a)
    y = npg.logcumsumexp(x, 0)
    y.backward(npg.tensor(g))
    t = torch.tensor(a.astype(np.float64), requires_grad=True)
    ty = torch.logcumsumexp(t, 0)
    ty.backward(torch.tensor(g.astype(np.float64)))
    assert y.dtype == dtype and x.grad.dtype == dtype
    if dtype == np.float16:   # as accurate as torch's own float16 (its gradient cancels: 3% of the largest)
        th = torch.tensor(a, requires_grad=True)
        torch.logcumsumexp(th, 0).backward(torch.tensor(g))
        tol_y = np.abs(torch.logcumsumexp(th, 0).detach().double().numpy() - ty.detach().numpy()).max()
        tol_g = np.abs(th.grad.double().numpy() - t.grad.numpy()).max()
        assert np.abs(y.data.astype(np.float64) - ty.detach().numpy()).max() <= 1.5 * tol_y
        assert np.abs(x.grad.astype(np.float64) - t.grad.numpy()).max() <= 1.5 * tol_g
        return
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=tol, atol=tol * np.abs(t.grad.numpy()).max())
