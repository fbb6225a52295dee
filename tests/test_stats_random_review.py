"""Adversarial review of npg.stats (against scipy.stats and finite differences), npg.random and the creation
functions (against NumPy)."""
import warnings

import numpy as np
import pytest
import scipy.stats as ss

import npgrad as npg


# ------------------------------------------------------------------------------------------ npg.stats
@pytest.mark.parametrize("a, b", [(0.01, 5.0), (0.5, 0.5), (2.0, 3.0)])
def test_beta_sf_and_logcdf_near_the_lower_end_match_scipy(a, b):
    # sf = I_{1-z}(b, a): 1 - z rounds to 1 for a tiny z, which gave sf = 1 (and logcdf = log1p(-sf) = -inf)
    z = np.array([1e-300, 1e-100, 1e-20, 1e-12, 1e-5])
    for m in ("sf", "logsf", "cdf", "logcdf"):
        got = getattr(npg.stats.beta, m)(z, a, b).data
        np.testing.assert_allclose(got, getattr(ss.beta, m)(z, a, b), rtol=1e-9, err_msg=m)
    got = npg.stats.beta.sf(z * 2.0 - 1.0, a, b, loc=-1.0, scale=2.0).data
    np.testing.assert_allclose(got, ss.beta.sf(z * 2.0 - 1.0, a, b, loc=-1.0, scale=2.0), rtol=1e-6)


def test_beta_sf_gradient_near_the_lower_end_matches_finite_differences():
    def f(x, a, b):
        return npg.stats.beta.sf(x, a, b)
    p = [1e-12, 0.05, 3.0]
    ts = [npg.tensor(v, requires_grad=True) for v in p]
    f(*ts).backward()
    for i in range(3):
        h = 1e-15 if i == 0 else 1e-6
        hi, lo = list(p), list(p)
        hi[i] += h
        lo[i] -= h
        want = (ss.beta.sf(hi[0], hi[1], hi[2]) - ss.beta.sf(lo[0], lo[1], lo[2])) / (2 * h)
        np.testing.assert_allclose(ts[i].grad.data, want, rtol=1e-5)


# ------------------------------------------------------------------------------------------ creation
@pytest.mark.parametrize("make", [lambda *s: npg.zeros(*s), lambda *s: npg.ones(*s), lambda *s: npg.empty(*s),
                                  lambda *s: npg.randn(*s), lambda *s: npg.rand(*s),
                                  lambda *s: npg.full(s, 1.0)])
@pytest.mark.parametrize("shape", [(2, 3.7), (2.5,), ((2, 3.0),)])
def test_non_integer_sizes_are_refused_as_numpy(make, shape):
    # int(3.7) made a (2, 3) tensor silently; NumPy and torch raise a TypeError
    with pytest.raises(TypeError):
        np.zeros(shape[0] if len(shape) == 1 else shape)
    with pytest.raises(TypeError, match="integer"):
        make(*shape)


@pytest.mark.parametrize("shape", [np.int64(3), np.array([2, 3]), np.array(4), (np.int32(2), np.int64(0))])
def test_numpy_integer_shapes_work_as_numpy(shape):
    want = np.zeros(shape).shape
    assert npg.zeros(shape).shape == want
    assert npg.ones(shape).shape == want
    assert npg.full(shape, 2.5).shape == np.full(shape, 2.5).shape == want
    assert npg.randn(shape).shape == want
    assert npg.randint(0, 3, size=shape).shape == want


@pytest.mark.parametrize("args, dtype", [((-3, 3, 0.5), int), ((-0.5, 2), int), ((0, 1, 0.1), np.float32),
                                         ((0.0, 2.0, 0.3), np.float32), ((1, 0, -0.25), np.float32),
                                         ((5,), np.int8), ((0, 2.5, 0.5), complex)])
def test_arange_with_dtype_computes_as_numpy(args, dtype):
    # the values were computed in float64 then cast (arange(-3, 3, 0.5, dtype=int) gave [-3 -2 -2 -1 ...],
    # NumPy [-3 -2 -1 0 ...]: NumPy computes the first two values in the dtype)
    want = np.arange(*args, dtype=dtype)
    got = npg.arange(*args, dtype=dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.data, want)


def test_arange_stop_keyword_as_numpy():
    np.testing.assert_array_equal(npg.arange(stop=5).data, np.arange(stop=5))
    np.testing.assert_array_equal(npg.arange(start=1, stop=5, step=2).data, np.arange(start=1, stop=5, step=2))


def test_arange_refusals_name_the_op():
    with pytest.raises(TypeError, match="arange"):
        npg.arange(0.0, 1.0, 0.25, dtype=bool)   # NumPy: only for results of length <= 2
    with pytest.raises(ValueError, match="arange"):
        npg.arange(0, np.inf)


def _same(got, want):
    assert isinstance(got, npg.Tensor)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.data, want)


def test_identity_tri_indices_fromfunction_frombuffer_as_numpy():
    # `import npgrad as np` code calling them got an AttributeError
    _same(npg.identity(3), np.identity(3))
    _same(npg.identity(2, dtype=np.float32), np.identity(2, dtype=np.float32))
    assert npg.identity(3).requires_grad and not npg.identity(3, dtype=int).requires_grad
    for args, kw in [((3,), {}), ((3, 5), {}), ((4, 2, -1), {}), ((3,), dict(k=1, dtype=int)), ((0,), {})]:
        _same(npg.tri(*args, **kw), np.tri(*args, **kw))
    _same(npg.indices((2, 3)), np.indices((2, 3)))
    _same(npg.indices((2, 0, 3), dtype=np.int32), np.indices((2, 0, 3), dtype=np.int32))
    _same(npg.indices(()), np.indices(()))
    for got, want in zip(npg.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True)):
        _same(got, want)
    assert not npg.indices((2, 3)).requires_grad
    _same(npg.fromfunction(lambda i, j: i * 10 + j, (2, 3)), np.fromfunction(lambda i, j: i * 10 + j, (2, 3)))
    _same(npg.fromfunction(lambda i, j: i == j, (3, 3), dtype=int),
          np.fromfunction(lambda i, j: i == j, (3, 3), dtype=int))
    _same(npg.fromfunction(lambda i, s: npg.exp(i * s), (3,), s=0.5), np.fromfunction(lambda i, s: np.exp(i * s),
                                                                                        (3,), s=0.5))
    buf = np.arange(6, dtype=np.float64).tobytes()
    _same(npg.frombuffer(buf), np.frombuffer(buf))
    _same(npg.frombuffer(buf, dtype=np.int32, count=3, offset=8), np.frombuffer(buf, np.int32, 3, 8))
    t = npg.frombuffer(buf, requires_grad=False)
    t[0] = 5.0   # a tensor of its own (NumPy's frombuffer of bytes is read-only)


# ------------------------------------------------------------------------------------------ npg.random
def test_random_seed_without_argument_reseeds_as_numpy():
    np.random.seed()            # NumPy: a fresh seed from the OS
    npg.random.seed()
    a, b = npg.randn(4).data, npg.randn(4).data
    assert not np.array_equal(a, b)
    npg.random.seed(3)
    x = npg.randn(3).data
    npg.random.seed(seed=3)     # NumPy's keyword
    np.testing.assert_array_equal(npg.randn(3).data, x)


def test_random_numpy_names_absent_give_a_clear_error():
    # npg.random only seeds npgrad's constructors (README); np.random.randn-style calls must say where to go
    with pytest.raises(AttributeError, match=r"npg\.randn"):
        npg.random.randn(3)
    with pytest.raises(AttributeError, match=r"numpy\.random"):
        npg.random.choice(3)
