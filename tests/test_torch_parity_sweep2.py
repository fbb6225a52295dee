"""The second batch of torch names (npgrad/ops/torch_more2.py) against torch 2.13: random fills by sample moments
(fixed seeds, 5 standard errors), windows, unique_consecutive, trapz / cumulative_trapezoid, complex, igamma."""
import math

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, compare_with_torch

DTYPES = [np.float32, np.float64]
N = 40000


def _moments(x, mean, var, what):
    v = np.asarray(x.data, dtype=np.float64).ravel()
    se = math.sqrt(var / v.size)
    assert abs(v.mean() - mean) < 5 * se, f"{what}: sample mean {v.mean()} vs {mean} (se {se})"


def _buf(dtype):
    return npg.zeros(N, dtype=dtype, requires_grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_fills_moments(dtype):
    npg.random.seed(0)
    lam, p, mu, sd, pg = 2.0, 0.3, 0.1, 0.5, 0.25
    cases = [("exponential_", (lam,), 1 / lam, 1 / lam ** 2),
             ("bernoulli_", (p,), p, p * (1 - p)),
             ("log_normal_", (mu, sd), math.exp(mu + sd ** 2 / 2), (math.exp(sd ** 2) - 1) * math.exp(2 * mu + sd ** 2)),
             ("geometric_", (pg,), 1 / pg, (1 - pg) / pg ** 2),
             ("random_", (3, 10), 6.0, (7 ** 2 - 1) / 12)]
    for name, args, mean, var in cases:
        x = _buf(dtype)
        out = getattr(x, name)(*args)
        assert out is x and x.dtype == dtype and x.shape == (N,)
        t = getattr(torch.zeros(4, dtype=getattr(torch, np.dtype(dtype).name)), name)(*args)   # torch's dtype too
        assert str(t.dtype) == "torch." + np.dtype(dtype).name
        _moments(x, mean, var, name)
    x = _buf(dtype).random_(3, 10)
    assert x.data.min() == 3 and x.data.max() == 9 and np.all(x.data == np.round(x.data))
    assert np.all(_buf(dtype).geometric_(0.5).data >= 1)
    # cauchy_: no mean; its median and quartiles (median +- sigma)
    c = np.asarray(_buf(dtype).cauchy_(1.0, 2.0).data, np.float64)
    q = np.quantile(c, [0.25, 0.5, 0.75])
    assert_close(q, [-1.0, 1.0, 3.0], atol=0.15, rtol=0)
    # random_(): [0, 2**mantissa] for a floating tensor, as torch
    big = _buf(dtype).random_()
    assert big.data.min() >= 0 and big.data.max() <= 2.0 ** (np.finfo(dtype).nmant + 1)
    assert big.data.max() > 2.0 ** (np.finfo(dtype).nmant + 1) / 2


def test_random_fills_integer_and_graph():
    npg.random.seed(1)
    x = npg.zeros(N, dtype=np.int64).random_(10)
    t = torch.zeros(4, dtype=torch.int64).random_(10)
    assert x.dtype == np.int64 and t.dtype == torch.int64
    assert x.data.min() == 0 and x.data.max() == 9
    _moments(x, 4.5, (100 - 1) / 12, "random_(10)")
    b = npg.zeros(N, dtype=np.int64).bernoulli_(0.5)
    assert set(np.unique(b.data)) == {0, 1}
    # a fill in a graph: the old value gets a zero gradient, as torch
    a = npg.tensor(np.ones(3))
    y = a * 2
    y.exponential_()
    (y * 3).sum().backward()
    ta = torch.ones(3, dtype=torch.float64, requires_grad=True)
    ty = ta * 2
    ty.exponential_()
    (ty * 3).sum().backward()
    assert_close(a.grad, ta.grad.numpy())
    assert npg.random.seed(5) is None
    u = _buf(np.float64).bernoulli_(npg.tensor(np.linspace(0, 1, N), requires_grad=False))
    assert u.data[0] == 0 and u.data[-1] == 1


def test_random_fills_errors():
    x = npg.zeros(3, requires_grad=False)
    for call, tcall in [(lambda: x.exponential_(-1.0), lambda t: t.exponential_(-1.0)),
                        (lambda: x.geometric_(1.5), lambda t: t.geometric_(1.5)),
                        (lambda: x.random_(5, 2), lambda t: t.random_(5, 2)),
                        (lambda: x.bernoulli_(1.5), lambda t: t.bernoulli_(1.5))]:
        with pytest.raises(RuntimeError):
            tcall(torch.zeros(3))
        with pytest.raises(RuntimeError, match=r"_: expect"):
            call()
    with pytest.raises(TypeError, match="exponential_: expected a floating-point tensor"):
        npg.zeros(3, dtype=np.int64).exponential_()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        npg.zeros(3).cauchy_()


@pytest.mark.parametrize("dtype", DTYPES)
def test_top_level_random(dtype):
    npg.random.seed(2)
    m, s = npg.tensor(np.full(N, 1.5, dtype)), npg.tensor(np.full(N, 2.0, dtype))
    z = npg.normal(m, s)
    tz = torch.normal(torch.tensor(m.data), torch.tensor(s.data))
    assert z.dtype == dtype and str(tz.dtype) == "torch." + np.dtype(dtype).name and not z.requires_grad
    _moments(z, 1.5, 4.0, "normal")
    f = npg.normal(0.0, 1.0, size=(N,))
    assert f.shape == (N,) and f.dtype == npg.get_default_dtype()
    _moments(f, 0.0, 1.0, "normal(size=)")
    r = npg.tensor(np.full(N, 3.5, dtype))
    po = npg.poisson(r)
    assert po.dtype == dtype == torch.poisson(torch.tensor(r.data)).numpy().dtype
    _moments(po, 3.5, 3.5, "poisson")
    bi = npg.binomial(npg.tensor(np.full(N, 10.0, dtype)), npg.tensor(np.full(N, 0.3, dtype)))
    assert bi.dtype == dtype and np.all(bi.data <= 10)
    _moments(bi, 3.0, 2.1, "binomial")
    ri = npg.randint_like(r, 2, 6)
    assert ri.dtype == dtype == torch.randint_like(torch.tensor(r.data), 2, 6).numpy().dtype
    assert ri.data.min() == 2 and ri.data.max() == 5
    assert npg.randint_like(r, 4).data.max() == 3
    with pytest.raises(RuntimeError, match="normal: expects std >= 0"):
        npg.normal(m, -s)
    with pytest.raises(RuntimeError, match="binomial"):
        npg.binomial(npg.tensor([2.0]), npg.tensor([1.5]))
    with pytest.raises(RuntimeError, match="randint_like"):
        npg.randint_like(r, 5, 5)


WINDOWS = {"hann_window": {}, "hamming_window": {}, "blackman_window": {}, "bartlett_window": {},
           "kaiser_window": {}}


@pytest.mark.parametrize("name", sorted(WINDOWS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_windows(name, dtype):
    tdt = getattr(torch, np.dtype(dtype).name)
    for n in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            w = getattr(npg, name)(n, periodic, dtype=dtype)
            t = getattr(torch, name)(n, periodic, dtype=tdt)
            assert w.dtype == dtype and w.shape == tuple(t.shape)
            assert_close(w, t.numpy(), what=f"{name}({n}, {periodic})")
    assert_close(npg.hamming_window(7, False, 0.6, 0.3), torch.hamming_window(7, False, 0.6, 0.3, dtype=torch.float64).numpy())
    assert_close(npg.kaiser_window(7, True, 5.0), torch.kaiser_window(7, True, 5.0, dtype=torch.float64).numpy())
    assert getattr(npg, name)(4).dtype == npg.get_default_dtype()
    with pytest.raises(RuntimeError):
        getattr(torch, name)(-1)
    with pytest.raises(RuntimeError, match=f"{name}: requires a non-negative"):
        getattr(npg, name)(-1)
    with pytest.raises(TypeError, match=f"{name}: expects floating point"):
        getattr(npg, name)(4, dtype=np.int64)


def test_unique_consecutive():
    a = np.array([[1, 1, 2], [1, 1, 2], [3, 1, 2], [3, 1, 2], [1, 1, 2]])
    for dim in (None, 0, 1, -2):
        for inv in (False, True):
            for cnt in (False, True):
                r = npg.unique_consecutive(npg.tensor(a), return_inverse=inv, return_counts=cnt, dim=dim)
                tr = torch.unique_consecutive(torch.tensor(a), return_inverse=inv, return_counts=cnt, dim=dim)
                r, tr = (r if isinstance(r, tuple) else (r,)), (tr if isinstance(tr, tuple) else (tr,))
                assert len(r) == len(tr)
                for u, v in zip(r, tr):
                    assert u.dtype == v.numpy().dtype and u.shape == tuple(v.shape)
                    np.testing.assert_array_equal(u.data, v.numpy())
    x = npg.tensor([0.5, 0.5, 1.5])
    assert_close(x.unique_consecutive(), torch.tensor([0.5, 0.5, 1.5]).unique_consecutive().numpy())
    assert npg.unique_consecutive(npg.tensor(np.zeros(0))).shape == (0,)
    with pytest.raises(IndexError, match="unique_consecutive: dim 2 is out of range"):
        npg.unique_consecutive(npg.tensor(a), dim=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_trapz_cumulative_trapezoid(dtype):
    rng = np.random.default_rng(0)
    y, x1 = rng.standard_normal((3, 5)).astype(dtype), np.cumsum(rng.uniform(0.1, 1, 5)).astype(dtype)
    x0 = np.cumsum(rng.uniform(0.1, 1, 3)).astype(dtype)
    for name in ("trapz", "cumulative_trapezoid"):
        f, tf = getattr(npg, name), getattr(torch, name)
        compare_with_torch(lambda a: f(a), lambda t: tf(t), [y], what=name)
        compare_with_torch(lambda a: f(a, dx=0.5, dim=0), lambda t: tf(t, dx=0.5, dim=0), [y], what=name)
        compare_with_torch(lambda a, b: f(a, b), lambda t, u: tf(t, u), [y, x1], what=f"{name}(y, x)")
        compare_with_torch(lambda a, b: f(a, b, dim=0), lambda t, u: tf(t, u, dim=0), [y, x0], what=f"{name} dim=0")
        with pytest.raises(TypeError, match=f"{name}: give either x or dx"):
            f(npg.tensor(y), npg.tensor(x1), dx=1.0)
    assert_close(npg.trapezoid(y, x1), np.trapezoid(y, x1))   # NumPy's stays


@pytest.mark.parametrize("dtype", DTYPES)
def test_complex(dtype):
    rng = np.random.default_rng(1)
    re, im = rng.standard_normal((2, 3)).astype(dtype), rng.standard_normal((2, 3)).astype(dtype)
    w = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.result_type(dtype, np.complex64))
    a, b = npg.tensor(re), npg.tensor(im)
    z = npg.complex(a, b)
    ta, tb = torch.tensor(re, requires_grad=True), torch.tensor(im, requires_grad=True)
    tz = torch.complex(ta, tb)
    assert z.dtype == tz.detach().numpy().dtype
    assert_close(z, tz.detach().numpy())
    npg.sum(npg.abs(z * w) ** 2 + npg.real(z * w)).backward()
    ((tz * torch.tensor(w)).abs() ** 2 + (tz * torch.tensor(w)).real).sum().backward()
    assert a.grad.dtype == dtype
    assert_close(a.grad, ta.grad.numpy())
    assert_close(b.grad, tb.grad.numpy())
    with pytest.raises(RuntimeError):
        torch.complex(torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    with pytest.raises(TypeError, match="complex: expected real and imag of one floating dtype"):
        npg.complex(npg.zeros(2, dtype=np.float32), npg.zeros(2))
    assert npg.ops.complex.__name__ == "npgrad.ops.complex"   # the module stays in ops' namespace


@pytest.mark.parametrize("dtype", DTYPES)
def test_igamma(dtype):
    rng = np.random.default_rng(2)
    a, x = rng.uniform(0.5, 3, (4,)).astype(dtype), rng.uniform(0.2, 4, (4,)).astype(dtype)
    for name in ("igamma", "igammac"):
        # (torch has no derivative in the first argument: the gradient in x)
        compare_with_torch(lambda u: getattr(npg, name)(npg.tensor(a, requires_grad=False), u),
                           lambda t: getattr(torch, name)(torch.tensor(a), t), [x], what=name)
        compare_with_torch(lambda u: getattr(npg.tensor(a, requires_grad=False), name)(u),
                           lambda t: getattr(torch.tensor(a), name)(t), [x], what=f"x.{name}")
        assert_close(getattr(npg.tensor(a, requires_grad=False), name + "_")(npg.tensor(x)).detach(),
                     getattr(torch.tensor(a), name + "_")(torch.tensor(x)).numpy())
