"""Regression tests from a hunt for silent wrong answers in npgrad's random numbers: bounds, dtypes and argument
checks against torch 2.13's documented semantics (torch raising where npgrad used to be silent), and statistics of
large fixed-seed samples against the analytic moments, exact enumerations or torch's own draws (z-tests at 5 sigma,
chi-square tests far in the tail), so that they cannot flake."""
import itertools

import numpy as np
import pytest
import torch

import npgrad as npg

D = npg.distributions


def buf(shape, dtype):
    """A tensor to fill in place (npg.zeros of a float dtype requires grad by default)."""
    return npg.zeros(shape, dtype=dtype, requires_grad=False)


class TopGenerator(np.random.Generator):
    """A generator whose uniform draws are all the largest float64 below 1 (the worst case for a cast)."""

    def random(self, size=None, dtype=np.float64, out=None):
        return np.full(size, np.nextafter(1.0, 0.0))


def assert_mean(x, mean, var, sigmas=5.0):
    """The sample mean of ``x`` (first axis) is within ``sigmas`` standard errors of ``mean``."""
    x = np.asarray(x, np.float64)
    z = (x.mean(0) - mean) / np.sqrt(np.asarray(var, np.float64) / x.shape[0])
    assert np.all(np.abs(z) < sigmas), z


# ------------------------------------------------------------------ rand / randn / randint: bounds and dtypes
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.complex64])
def test_rand_stays_below_one_in_low_precision(dtype):
    """A float64 draw cast to float16 rounded up to 1.0 about once in 4000 draws (float32: 1 in 3e7)."""
    npg.manual_seed(0)
    x = npg.rand(200_000, dtype=dtype)
    assert x.dtype == np.dtype(dtype)
    parts = [x.data.real, x.data.imag] if np.dtype(dtype).kind == "c" else [x.data]
    for p in parts:
        assert p.min() >= 0 and p.max() < 1
        assert_mean(p, 0.5, 1 / 12)
    top = npg.rand(4, dtype=dtype, generator=TopGenerator(np.random.PCG64(0))).data
    assert (top.real < 1).all() and (top.imag < 1).all()
    assert (npg.rand_like(npg.zeros(4, dtype=dtype), generator=TopGenerator(np.random.PCG64(0))).data.real < 1).all()


def test_rand_float16_is_uniform_on_its_grid():
    """Chi-square over 32 equal bins of [0, 1) (df 31; 80 is beyond the 1e-5 tail)."""
    npg.manual_seed(1)
    x = npg.rand(200_000, dtype=np.float16).data.astype(np.float64)
    counts = np.bincount((x * 32).astype(int), minlength=32)
    assert counts.size == 32
    expected = x.size / 32
    assert ((counts - expected) ** 2 / expected).sum() < 80


@pytest.mark.parametrize("make", [npg.rand, npg.randn])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_rand_and_randn_refuse_an_integer_dtype_as_torch(make, dtype):
    """rand(dtype=int64) was all zeros and randn truncated normals; torch raises."""
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(torch, make.__name__)(3, dtype=torch.from_numpy(np.zeros(1, dtype)).dtype)
    with pytest.raises(TypeError, match=f"{make.__name__}: needs a floating-point or complex dtype"):
        make(3, dtype=dtype)


def test_randint_errors_name_the_op_and_bounds():
    with pytest.raises(ValueError, match=r"randint\(low=5, high=5.*low >= high"):
        npg.randint(5, 5)
    with pytest.raises(ValueError, match=r"torch's randint\(high, size\) is npg.randint\(0, high, size\)"):
        npg.randint(10, (3,))
    with pytest.raises(ValueError, match=r"randint\(low=-5, high=300, dtype=.*uint8"):
        npg.randint(-5, 300, (3,), dtype=np.uint8)


def test_randint_bounds_and_uniformity():
    """high is exclusive; every value of [low, high) equally likely (chi-square, df 6)."""
    npg.manual_seed(2)
    x = npg.randint(-3, 4, (100_000,), dtype=np.int32).data
    assert x.dtype == np.int32 and x.min() == -3 and x.max() == 3
    counts = np.bincount(x + 3, minlength=7)
    assert ((counts - x.size / 7) ** 2 / (x.size / 7)).sum() < 40


# ------------------------------------------------------------------------------- uniform_ / normal_ fills
def test_uniform_fill_refuses_from_greater_than_to_and_non_finite_bounds():
    with pytest.raises(RuntimeError, match="from=1"):
        torch.zeros(3).uniform_(1, 0)
    with pytest.raises(RuntimeError, match=r"uniform_: expects a \[from, to\) range.*from=1.0 > to=0.0"):
        buf(3, np.float32).uniform_(1, 0)
    for a, b in ((0.0, np.inf), (np.nan, 1.0)):
        with pytest.raises(RuntimeError, match="uniform_: from and to must be finite"):
            buf(3, np.float64).uniform_(a, b)
    np.testing.assert_array_equal(buf(3, np.float64).uniform_(2.0, 2.0).data, np.full(3, 2.0))  # (torch allows it)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_uniform_fill_stays_in_from_to(dtype):
    """A draw rounding up to ``to`` once cast (float16: often; float32/64: with the largest uniform draw)."""
    npg.manual_seed(3)
    x = buf(200_000, dtype).uniform_(-1.0, 3.0).data
    assert x.dtype == np.dtype(dtype) and x.min() >= -1 and x.max() < 3
    assert_mean(x, 1.0, 16 / 12)
    assert np.var(x.astype(np.float64)) == pytest.approx(16 / 12, rel=0.02)
    top = buf(5, dtype).uniform_(1.0, 2.0, generator=TopGenerator(np.random.PCG64(0))).data
    assert (top < 2).all() and (top >= 1).all()


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_normal_and_uniform_fills_match_torch(dtype):
    """normal_ / uniform_ on a complex tensor left its imaginary part 0; torch draws both parts: normal_(m, s) each
    part N(m, s**2 / 2), uniform_(a, b) each part in [a, b). torch's own draws are checked the same way."""
    n = 200_000
    npg.manual_seed(4)
    torch.manual_seed(4)
    tdt = torch.complex64 if dtype == np.complex64 else torch.complex128
    z = buf(n, dtype).normal_(1.0, 2.0).data
    zt = torch.zeros(n, dtype=tdt).normal_(1.0, 2.0).numpy()
    assert z.dtype == np.dtype(dtype)
    for w in (z, zt):
        for part in (w.real, w.imag):
            assert_mean(part, 1.0, 2.0)
            assert np.var(part.astype(np.float64)) == pytest.approx(2.0, rel=0.02)
    u = buf(n, dtype).uniform_(1.0, 2.0).data
    ut = torch.zeros(n, dtype=tdt).uniform_(1.0, 2.0).numpy()
    for w in (u, ut):
        for part in (w.real, w.imag):
            assert part.min() >= 1 and part.max() < 2
            assert_mean(part, 1.5, 1 / 12)


@pytest.mark.parametrize("std", [-1.0, float("nan")])
def test_normal_fill_refuses_a_negative_or_nan_std_as_torch(std):
    """std=-1 was NumPy's bare 'scale < 0'; std=nan filled the tensor with NaNs."""
    with pytest.raises(RuntimeError, match="std"):
        torch.zeros(3).normal_(0.0, std)
    with pytest.raises(RuntimeError, match="normal_: expects std >= 0.0"):
        buf(3, np.float32).normal_(0.0, std)


def test_normal_fill_statistics_and_dtype():
    npg.manual_seed(5)
    x = buf((400, 500), np.float32).normal_(-2.0, 0.5).data
    assert x.dtype == np.float32 and x.shape == (400, 500)
    assert_mean(x.ravel(), -2.0, 0.25)
    assert np.var(x.astype(np.float64)) == pytest.approx(0.25, rel=0.02)


# ----------------------------------------------------------------------------------------- npg.normal
def test_normal_refuses_an_integer_dtype_and_draws_complex_as_torch():
    """normal(0, 1, size, dtype=int64) returned truncated normals; torch raises. dtype=complex: torch's complex
    normal (each part N(mean, std**2 / 2)), checked against torch's draws."""
    with pytest.raises(NotImplementedError):
        torch.normal(0.0, 1.0, size=(2,), dtype=torch.int64)
    with pytest.raises(TypeError, match="normal: expected a floating-point or complex dtype, got int64"):
        npg.normal(0.0, 1.0, size=(2,), dtype=np.int64)
    npg.manual_seed(6)
    torch.manual_seed(6)
    z = npg.normal(1.0, 2.0, size=(200_000,), dtype=np.complex64).data
    zt = torch.normal(1.0, 2.0, size=(200_000,), dtype=torch.complex64).numpy()
    assert z.dtype == np.complex64 and z.shape == (200_000,)
    for w in (z, zt):
        for part in (w.real, w.imag):
            assert_mean(part, 1.0, 2.0)
            assert np.var(part.astype(np.float64)) == pytest.approx(2.0, rel=0.02)


def test_normal_with_tensor_mean_and_std_broadcasts_and_keeps_dtype():
    npg.manual_seed(7)
    mean = npg.tensor(np.array([[-1.0], [3.0]], np.float32), requires_grad=False)
    std = npg.tensor(np.array([0.5, 1.0, 2.0], np.float32), requires_grad=False)
    draws = np.stack([npg.normal(mean, std).data for _ in range(20_000)])
    assert draws.dtype == np.float32 and draws.shape == (20_000, 2, 3)
    assert_mean(draws, mean.data, std.data ** 2 + 0 * mean.data)


# ----------------------------------------------------------------------------------------------- randperm
@pytest.mark.parametrize("n, dtype, ok", [(129, np.int8, False), (128, np.int8, True), (300, np.uint8, False),
                                          (256, np.uint8, True), (2050, np.float16, False),
                                          (2049, np.float16, True)])
def test_randperm_refuses_a_dtype_its_values_do_not_fit(n, dtype, ok):
    """randperm(300, dtype=int8) wrapped around (duplicates); torch raises, and so does npgrad now (torch's
    limits: the largest value n - 1 exact in the dtype)."""
    tdt = {np.int8: torch.int8, np.uint8: torch.uint8, np.float16: torch.float16}[dtype]
    if ok:
        torch.randperm(n, dtype=tdt)
        p = npg.randperm(n, dtype=dtype).data
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(np.sort(p.astype(np.int64)), np.arange(n))
    else:
        with pytest.raises(RuntimeError):
            torch.randperm(n, dtype=tdt)
        with pytest.raises(RuntimeError, match=f"randperm: n={n} does not fit dtype"):
            npg.randperm(n, dtype=dtype)


def test_randperm_is_uniform_over_permutations():
    """All 24 permutations of 4 equally likely (chi-square, df 23; 70 is far in the tail)."""
    npg.manual_seed(8)
    perms = [tuple(npg.randperm(4).data.tolist()) for _ in range(12_000)]
    counts = np.array([perms.count(p) for p in itertools.permutations(range(4))])
    assert counts.sum() == len(perms)
    assert ((counts - 500.0) ** 2 / 500.0).sum() < 70


# ----------------------------------------------------------------------------------- multinomial
def _sequential_probs(w, k):
    """Exact probability of each ordered draw of k categories without replacement (each draw proportional to
    the remaining weights, as torch.multinomial)."""
    w = np.asarray(w, np.float64) / np.sum(w)
    out = {}
    for perm in itertools.permutations(range(len(w)), k):
        p, rest = 1.0, 1.0
        for i in perm:
            p, rest = p * w[i] / rest, rest - w[i]
        out[perm] = p
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multinomial_without_replacement_matches_the_exact_ordered_probabilities(dtype):
    """Not proportional to the weights: ordered pairs of 4 categories (a zero weight never drawn) against the
    exact enumeration; chi-square with df 11 (60 is beyond the 1e-8 tail)."""
    npg.manual_seed(9)
    w = np.array([0.1, 0.0, 0.6, 0.3, 0.9], dtype)
    n = 100_000
    out = npg.multinomial(npg.tensor(np.tile(w, (n, 1)), requires_grad=False), 2).data
    assert out.dtype == np.int64 and out.shape == (n, 2)
    assert not (out == 1).any() and (out[:, 0] != out[:, 1]).all()
    codes = out[:, 0] * 5 + out[:, 1]
    counts = np.bincount(codes, minlength=25)
    chi = sum((counts[a * 5 + b] - n * q) ** 2 / (n * q) for (a, b), q in _sequential_probs(w, 2).items() if q > 0)
    assert chi < 60


def test_multinomial_with_replacement_matches_the_weights():
    npg.manual_seed(10)
    w = np.array([2.0, 0.0, 1.0, 5.0])
    out = npg.multinomial(npg.tensor(w, requires_grad=False), 100_000, replacement=True).data
    counts = np.bincount(out, minlength=4)
    assert counts[1] == 0
    p = w[[0, 2, 3]] / w.sum()
    assert ((counts[[0, 2, 3]] - out.size * p) ** 2 / (out.size * p)).sum() < 40


# ------------------------------------------------------------------------------ the other random fills
def test_fills_statistics_match_torchs_parameterisation():
    """Each fill's sample mean against the analytic one of torch's parameterisation, and against torch's draws
    (geometric_ counts trials from 1, exponential_'s lambd is a rate, log_normal_'s mean/std those of the log)."""
    n = 200_000
    npg.manual_seed(11)
    torch.manual_seed(11)
    cases = [("exponential_", (4.0,), 0.25, 1 / 16), ("geometric_", (0.2,), 5.0, 0.8 / 0.04),
             ("log_normal_", (0.5, 0.25), np.exp(0.5 + 0.25 ** 2 / 2),
              (np.exp(0.25 ** 2) - 1) * np.exp(1 + 0.25 ** 2)),
             ("bernoulli_", (0.3,), 0.3, 0.21), ("random_", (-2, 5), 1.0, (49 - 1) / 12)]
    for op, args, mean, var in cases:
        x = getattr(buf(n, np.float64), op)(*args).data
        xt = getattr(torch.zeros(n, dtype=torch.float64), op)(*args).numpy()
        assert_mean(x, mean, var)
        assert_mean(xt, mean, var)
    x = buf(n, np.float32).cauchy_(1.0, 2.0).data
    assert x.dtype == np.float32
    q = np.quantile(x, [0.25, 0.5, 0.75])   # Cauchy quartiles: median -+ sigma
    np.testing.assert_allclose(q, [-1.0, 1.0, 3.0], atol=0.05)
    x = npg.tensor(np.zeros(n, np.int16)).random_(-2, 5).data
    assert x.dtype == np.int16 and x.min() == -2 and x.max() == 4


@pytest.mark.parametrize("op, args", [("bernoulli_", (0.5,)), ("geometric_", (0.5,)), ("random_", (0, 5))])
def test_integer_valued_fills_refuse_complex_tensors_as_torch(op, args):
    with pytest.raises(RuntimeError):
        getattr(torch.zeros(3, dtype=torch.complex64), op)(*args)
    with pytest.raises(TypeError, match=f"{op}: not implemented for complex tensors"):
        getattr(buf(3, np.complex64), op)(*args)


# ----------------------------------------------------------------------- randint_like, poisson, binomial
def test_randint_like_refuses_non_integer_bounds():
    """randint_like(x, 5.7) drew from [0, 5) silently; torch refuses a float bound."""
    with pytest.raises(TypeError):
        torch.randint_like(torch.zeros(3), 5.7)
    with pytest.raises(TypeError, match="randint_like: high must be an integer, got float 5.7"):
        npg.randint_like(npg.zeros(3), 5.7)
    with pytest.raises(TypeError, match="randint_like: low must be an integer"):
        npg.randint_like(npg.zeros(3), 1.0, 4)
    x = npg.randint_like(npg.zeros(50_000, dtype=np.float32), 2, np.int64(6)).data
    assert x.dtype == np.float32 and x.min() == 2 and x.max() == 5


def test_poisson_and_binomial_bad_parameters_are_named():
    """Poisson of an infinite rate was NumPy's bare 'lam value too large' (torch returns garbage); a NaN count
    in binomial was NumPy's 'n < 0' (torch hangs)."""
    with pytest.raises(RuntimeError, match=r"poisson: rates must be at most 1e18.*inf"):
        npg.poisson(npg.tensor([1.0, np.inf]))
    with pytest.raises(RuntimeError, match="binomial: expects 0 <= prob <= 1 and a finite count"):
        npg.binomial(npg.tensor([np.nan]), npg.tensor([0.5]))
    npg.manual_seed(12)
    x = npg.poisson(npg.tensor(np.full(100_000, 3.5, np.float32), requires_grad=False)).data
    assert x.dtype == np.float32
    assert_mean(x, 3.5, 3.5)
    b = npg.binomial(npg.tensor(np.full(100_000, 10.0)), npg.tensor(np.array(0.3))).data
    assert_mean(b, 3.0, 2.1)


# ------------------------------------------------------------------------------ state and generators
def test_rng_state_round_trip_replays_every_kind_of_draw():
    npg.manual_seed(13)
    state = npg.get_rng_state()

    def draws():
        return [npg.rand(3, dtype=np.float16).data, npg.randn(2, dtype=np.complex64).data,
                npg.randint(0, 9, (4,)).data, npg.randperm(5).data, buf(3, np.float32).uniform_(1, 2).data,
                buf(2, np.complex64).normal_().data, npg.normal(0.0, 1.0, size=(2,)).data]
    first = draws()
    npg.set_rng_state(state)
    for a, b in zip(first, draws()):
        np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(0)
    before = npg.get_rng_state().data.copy()
    buf(3, np.float32).uniform_(generator=g)
    npg.rand(2, dtype=np.float32, generator=g)
    np.testing.assert_array_equal(npg.get_rng_state().data, before)   # a generator= draw leaves npgrad's alone


# --------------------------------------------------------------------------- rsample gradients
@pytest.mark.parametrize("name, params, dmean", [
    ("Gamma", (0.3, 2.0), lambda a, b: (1 / b, -a / b ** 2)),
    ("Gamma", (4.0, 0.5), lambda a, b: (1 / b, -a / b ** 2)),
    ("Beta", (0.4, 2.5), lambda a, b: (b / (a + b) ** 2, -a / (a + b) ** 2)),
    ("Beta", (3.0, 0.6), lambda a, b: (b / (a + b) ** 2, -a / (a + b) ** 2)),
])
def test_rsample_gradients_are_unbiased_for_the_mean(name, params, dmean):
    """The per-sample pathwise gradients of rsample() (parameters expanded per sample) average to the analytic
    derivative of E[X] (Gamma: a/b, Beta: a/(a+b)): a z-test at 5 standard errors."""
    n = 100_000
    npg.manual_seed(14)
    ps = [npg.tensor(np.full(n, p)) for p in params]
    x = getattr(D, name)(*ps).rsample()
    x.sum().backward()
    for p, expected in zip(ps, dmean(*params)):
        g = p.grad
        assert np.isfinite(g).all()
        assert abs(g.mean() - expected) < 5 * g.std() / np.sqrt(n), (name, params, g.mean(), expected)


def test_dirichlet_rsample_gradient_is_unbiased_for_the_mean():
    """d E[X_0] / d alpha_j = (delta_0j * a0 - alpha_0) / a0**2, from per-sample gradients."""
    n = 100_000
    npg.manual_seed(15)
    alpha = np.array([0.5, 1.5, 3.0])
    a = npg.tensor(np.tile(alpha, (n, 1)))
    D.Dirichlet(a).rsample()[:, 0].sum().backward()
    a0 = alpha.sum()
    expected = (np.eye(3)[0] * a0 - alpha[0]) / a0 ** 2
    g = a.grad
    assert np.all(np.abs(g.mean(0) - expected) < 5 * g.std(0) / np.sqrt(n)), (g.mean(0), expected)
