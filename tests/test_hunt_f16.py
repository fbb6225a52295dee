"""float16 inputs: no silent overflow, underflow or lost gradient.

Each check runs an npgrad op on float16 data and compares the value and gradient with float64 torch on the same
(float16) numbers: the result must be float16 and within a few float16 ulps of the exact one. NumPy accumulates some
float16 reductions in float16 (np.var's sum of squares, np.cumsum's running sum): they overflowed past 65504 or
drifted where torch, which accumulates in float32, is right.
"""
import numpy as np
import pytest
import torch

import npgrad as npg

F16 = np.float16


def _run(fn, tfn, arrays, seed_grad=None):
    """npgrad's (value, grads) on float16 ``arrays`` and torch's float64 (value, grads) on the same numbers."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    g = np.ones(y.shape, F16) if seed_grad is None else seed_grad.astype(F16)
    y.backward(npg.tensor(g))
    ts = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    yt = tfn(*ts)
    yt.backward(torch.tensor(g.astype(np.float64)))
    return (y.data, [np.asarray(x.grad) for x in xs]), (yt.detach().numpy(), [t.grad.numpy() for t in ts])


def _check(fn, tfn, arrays, rtol=4e-3, grad_rtol=4e-3, seed_grad=None):
    (y, grads), (yt, gts) = _run(fn, tfn, arrays, seed_grad)
    assert y.dtype == F16 and all(g.dtype == F16 for g in grads)
    assert np.all(np.isfinite(y)) and all(np.all(np.isfinite(g)) for g in grads)
    np.testing.assert_allclose(y.astype(np.float64), yt, rtol=rtol, atol=rtol * np.abs(yt).max())
    for g, gt in zip(grads, gts):
        tiny = 6e-8   # float16's subnormal spacing: a gradient that small has no more digits
        np.testing.assert_allclose(g.astype(np.float64), gt, rtol=grad_rtol,
                                   atol=max(grad_rtol * np.abs(gt).max(), tiny))


RNG = np.random.default_rng(16)
N = 70_000   # > 65504, float16's largest finite number
X = RNG.standard_normal(N).astype(F16)
X2 = RNG.standard_normal((2, N)).astype(F16)
W = (RNG.random(N) + 0.5).astype(F16)


def test_mean_gradient_over_more_than_65504_elements_is_not_zero():
    # the VJP divided by n cast to float16: inf, so the gradient was 0 everywhere (torch: 1 / n)
    _check(lambda a: npg.mean(a), lambda a: a.mean(), [X])
    _check(lambda a: npg.mean(a.reshape(2, N // 2), axis=1), lambda a: a.reshape(2, N // 2).mean(1), [X])


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("ddof", [0, 1])
def test_var_std_of_many_float16_numbers_do_not_overflow(name, ddof):
    # np.var / np.std sum float16 squares in float16: inf for 70,000 ones (torch: 0), inf for normal data
    fn = getattr(npg, name)
    _check(lambda a: fn(a, ddof=ddof), lambda a: getattr(a, name)(correction=ddof), [X])
    _check(lambda a: fn(a, axis=1, ddof=ddof), lambda a: getattr(a, name)(1, correction=ddof), [X2])
    ones = np.ones(N, F16)
    assert fn(npg.tensor(ones)).data == 0
    small = (X * F16(0.01)).astype(F16)   # std < 0.25: NumPy's rescaling path, float16 sums of squares again
    _check(lambda a: fn(a, ddof=ddof), lambda a: getattr(a, name)(correction=ddof), [small])


def test_cumsum_of_float16_accumulates_as_torch():
    # NumPy's running float16 sum drifted: its last element 7.38 where the sum is 8.81 (torch: 8.805)
    _check(lambda a: npg.cumsum(a), lambda a: a.cumsum(0), [X[:20000]], rtol=2e-3, grad_rtol=2e-3)
    seed = (RNG.standard_normal(N) * 0.01).astype(F16)   # (ones would sum to 70,000 in the gradient: inf)
    (y, (g,)), (yt, (gt,)) = _run(lambda a: npg.cumsum(a), lambda a: a.cumsum(0), [X], seed_grad=seed)
    for got, want in ((y, yt), (g, gt)):   # every element within one float16 ulp of the exact running sum
        excess = np.abs(got.astype(np.float64) - want) - np.spacing(np.abs(got)).astype(np.float64)
        assert excess.max() <= 1e-3   # (float32 accumulation error on top)
    np.testing.assert_array_equal(y, torch.tensor(X).cumsum(0).numpy())   # torch float16 accumulates in float32


@pytest.mark.parametrize("name", ["nanmean", "nanvar", "nanstd"])
def test_nan_reductions_over_many_float16_numbers(name):
    # a float16 count / sum of squares overflowed: nanmean gave 0, nanvar and nanstd NaN
    x = X.copy()
    x[::100] = np.nan   # (69,300 numbers left: a count past 65504)
    keep = ~np.isnan(x)
    tfn = {"nanmean": lambda a: a[keep].mean(), "nanvar": lambda a: a[keep].var(correction=0),
           "nanstd": lambda a: a[keep].std(correction=0)}[name]
    (y, (g,)), (yt, (gt,)) = _run(getattr(npg, name), tfn, [x])
    assert y.dtype == F16 and g.dtype == F16
    np.testing.assert_allclose(float(y), yt, rtol=4e-3, atol=1e-5)
    np.testing.assert_allclose(g.astype(np.float64), gt, rtol=4e-3, atol=4e-3 * np.abs(gt).max())


def test_weighted_average_over_many_float16_numbers():
    # the float16 sum of the weights (~70,000) overflowed to inf: the average and its gradients were 0
    _check(lambda a, w: npg.average(a, weights=w), lambda a, w: (a * w).sum() / w.sum(), [X, W])
    with np.errstate(over="ignore"):   # (the sum of the weights cast back to float16)
        avg, scl = npg.average(npg.tensor(X), weights=npg.tensor(W), returned=True)
    assert avg.dtype == F16 and scl.dtype == F16 and np.isinf(scl.data)   # the sum itself is past 65504


def test_cov_corrcoef_of_float16_over_many_observations():
    # the diagonal was inf (a float16 sum of squares) and corrcoef NaN; torch's own float16 cov is inf there too,
    # so the oracle is torch in float64
    _check(lambda a: npg.cov(a), lambda a: torch.cov(a), [X2], seed_grad=np.array([[1, 0.5], [0.5, 2]]))
    _check(lambda a: npg.corrcoef(a), lambda a: torch.corrcoef(a), [X2], seed_grad=np.array([[0, 1.], [1, 0]]),
           grad_rtol=1e-2)


def test_sum_along_a_strided_axis_and_broadcast_gradients_accumulate_in_float32():
    # NumPy adds float16 rows one at a time in float16 outside its contiguous loop: 5% off over 70,000 rows, in
    # npg.sum(axis=0) and in the engine's sum of a broadcast bias's gradient
    x = RNG.standard_normal((N, 3)).astype(F16)
    _check(lambda a: npg.sum(a, axis=0), lambda a: a.sum(0), [x])
    _check(lambda a: npg.sum(a.T, axis=1), lambda a: a.T.sum(1), [x])
    b = RNG.standard_normal(3).astype(F16)
    seed = RNG.standard_normal((N, 3))
    _check(lambda a, c: a + c, lambda a, c: a + c, [x, b], seed_grad=seed)


@pytest.mark.parametrize("spec", ["ij->j", "ij,ij->j"])
def test_einsum_of_float16_accumulates_in_float32(spec):
    # np.einsum adds float16 in float16 ('ij->j' over 70,000 rows: 12 off a sum of 212)
    x, y = RNG.standard_normal((N, 3)).astype(F16), RNG.standard_normal((N, 3)).astype(F16)
    arrays = [x] if "," not in spec else [x, y]
    _check(lambda *a: npg.einsum(spec, *a), lambda *a: torch.einsum(spec, *a), arrays)


def test_batch_norm_over_many_rows_float16():
    # the weight's gradient (an einsum over the rows) and the bias's (the engine's sum) were 1% and 8% off
    import torch.nn.functional as TF
    x = (RNG.standard_normal((N, 3)) * 3 + 5).astype(F16)
    w, b = RNG.standard_normal(3).astype(F16), RNG.standard_normal(3).astype(F16)
    seed = RNG.standard_normal((N, 3))
    _check(lambda a, c, d: npg.nn.functional.batch_norm(a, None, None, c, d, training=True),
           lambda a, c, d: TF.batch_norm(a, None, None, c, d, training=True), [x, w, b], seed_grad=seed)


@pytest.mark.parametrize("name", ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                  "cross_entropy", "cross_entropy_smooth", "nll_loss", "kl_div"])
def test_mean_losses_over_more_than_65504_elements(name):
    # the mean divided by a float16 count (inf) or a float16 total: mse_loss NaN, the BCE gradients 0,
    # cross_entropy / nll_loss NaN and gradient 0 (torch's float16 too), kl_div 'batchmean' NaN (torch's inf)
    import torch.nn.functional as TF
    NF = npg.nn.functional
    if name in ("mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"):
        a = (RNG.uniform(0.05, 0.95, N) if name == "binary_cross_entropy" else RNG.standard_normal(N)).astype(F16)
        t = RNG.uniform(0, 1, N).astype(F16)
        _check(getattr(NF, name), getattr(TF, name), [a, t], grad_rtol=1e-2)
        return
    logits = (RNG.standard_normal((N, 10)) * 3).astype(F16)
    tgt = RNG.integers(0, 10, N)
    if name == "kl_div":
        lp = TF.log_softmax(torch.tensor(logits, dtype=torch.float32), -1).numpy().astype(F16)
        q = TF.softmax(torch.tensor(logits[::-1].copy(), dtype=torch.float32), -1).numpy().astype(F16)
        _check(lambda a: NF.kl_div(a, npg.tensor(q), reduction="batchmean"),
               lambda a: TF.kl_div(a, torch.tensor(q.astype(np.float64)), reduction="batchmean"), [lp],
               grad_rtol=1e-2)
        return
    kw = dict(label_smoothing=0.1) if name == "cross_entropy_smooth" else {}
    fn = "nll_loss" if name == "nll_loss" else "cross_entropy"
    x = TF.log_softmax(torch.tensor(logits, dtype=torch.float32), -1).numpy().astype(F16) if fn == "nll_loss" \
        else logits
    _check(lambda a: getattr(NF, fn)(a, npg.tensor(tgt), **kw), lambda a: getattr(TF, fn)(a, torch.tensor(tgt), **kw),
           [x], grad_rtol=1e-2)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam"])
def test_optimizer_eps_that_is_zero_in_float16_warns_and_steps_as_torch(name):
    # eps=1e-8 (1e-10 for Adagrad) is 0 in float16: a zero or tiny gradient makes the update 0/0 or x/0. torch
    # computes the same NaN silently; npgrad matches its numbers and warns at the parameter's first step
    p0 = RNG.standard_normal(6).astype(F16)
    grads = [(RNG.standard_normal(6) * [1, 1e-4, 1e-7, 0, 100, 1]).astype(F16) for _ in range(4)]
    p, tp = npg.tensor(p0.copy()), torch.nn.Parameter(torch.tensor(p0.copy()))
    opt, topt = getattr(npg.optim, name)([p], lr=1e-2), getattr(torch.optim, name)([tp], lr=1e-2)
    for i, g in enumerate(grads):
        p.grad, tp.grad = g.copy(), torch.tensor(g.copy())
        with np.errstate(all="ignore"):
            if i == 0:
                with pytest.warns(RuntimeWarning, match=rf"^{name}: eps=1e-\d+ is 0 in float16.*shape \(6,\)"):
                    opt.step()
            else:
                opt.step()
        topt.step()
    assert p.data.dtype == F16
    np.testing.assert_allclose(p.data.astype(np.float64), tp.detach().numpy().astype(np.float64), rtol=2e-3,
                               atol=2e-3, equal_nan=True)
    for k, v in opt.state[p].items():   # the state in the parameter's dtype, as torch's
        if isinstance(v, np.ndarray) and v.ndim:
            assert v.dtype == F16 and topt.state[tp][k].dtype == torch.float16


def test_optimizer_eps_representable_in_float16_does_not_warn():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in (lambda q: npg.optim.Adam([q], eps=1e-4), lambda q: npg.optim.Adadelta([q]),
                     lambda q: npg.optim.SGD([q], lr=0.1, momentum=0.9)):
            q = npg.tensor(np.ones(3, F16))
            opt = make(q)
            q.grad = np.full(3, 0.5, F16)
            opt.step()
            assert q.data.dtype == F16 and np.all(np.isfinite(q.data)) and np.all(q.data < 1)
        q = npg.tensor(np.ones(3, np.float32))   # float32 parameters: eps=1e-8 is fine
        opt = npg.optim.Adam([q])
        q.grad = np.zeros(3, np.float32)
        opt.step()


@pytest.mark.parametrize("name", ["avg_pool2d", "adaptive_avg_pool2d", "lp_pool2d"])
def test_pooling_over_a_window_of_more_than_65504_elements(name):
    # avg_pool's divisor (90,000) cast to float16 was inf: the average and its gradient 0; lp_pool's window sum of
    # squares overflowed (torch's float16 too: the oracle is torch in float64)
    import torch.nn.functional as TF
    NF = npg.nn.functional
    img = RNG.standard_normal((1, 2, 300, 300)).astype(F16)
    args = {"avg_pool2d": (300,), "adaptive_avg_pool2d": (1,), "lp_pool2d": (2, 300)}[name]
    _check(lambda a: getattr(NF, name)(a, *args), lambda a: getattr(TF, name)(a, *args), [img], grad_rtol=1e-2)
    small = RNG.standard_normal((2, 3, 9, 9)).astype(F16)   # small windows: as before
    _check(lambda a: NF.avg_pool2d(a, 3, 2, 1), lambda a: TF.avg_pool2d(a, 3, 2, 1), [small])


def test_prod_and_cumprod_of_float16_against_float64():
    # NumPy's float16 product along a strided axis drifted (4.3 for 6.0), and the gradients' float16 cumulative
    # products were 60% (prod) and 3% (cumprod) off. torch's own float16 prod is worse (0.26 for 0.97): the oracle
    # is torch in float64
    x = np.exp(RNG.standard_normal(N) * 0.01).astype(F16)
    _check(lambda a: npg.prod(a), lambda a: a.prod(), [x])
    x2 = x.reshape(2, -1).T
    _check(lambda a: npg.prod(a, axis=0), lambda a: a.prod(0), [x2])
    x3 = np.exp(RNG.standard_normal(3000) * 0.01).astype(F16)
    _check(lambda a: npg.cumprod(a), lambda a: a.cumprod(0), [x3], seed_grad=RNG.standard_normal(3000))


@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_masked_mean_var_std_over_more_than_65504_elements(name):
    # where=: the float16 count of the mask's elements was inf: mean 0, var and std NaN
    mask = RNG.random(N) > 0.01
    tname = {"mean": "mean", "var": "var", "std": "std"}[name]
    kw = {} if name == "mean" else dict(correction=0)
    _check(lambda a: getattr(npg, name)(a, where=mask),
           lambda a: getattr(a[torch.tensor(mask)], tname)(**kw), [X])


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_losses_with_extra_dims_over_more_than_65504_elements(fn):
    # (N, C, d) inputs: the target count (the mean's denominator) is summed over every axis in float32
    import torch.nn.functional as TF
    x = RNG.standard_normal((1, 3, N)).astype(F16)
    if fn == "nll_loss":
        x = TF.log_softmax(torch.tensor(x, dtype=torch.float32), 1).numpy().astype(F16)
    tgt = RNG.integers(0, 3, (1, N))
    _check(lambda a: getattr(npg.nn.functional, fn)(a, npg.tensor(tgt)),
           lambda a: getattr(TF, fn)(a, torch.tensor(tgt)), [x], grad_rtol=1e-2)


@pytest.mark.parametrize("name", ["tile", "repeat"])
def test_tile_repeat_gradients_sum_copies_in_float32(name):
    # the VJP summed the copies along a strided axis in float16: tile's gradient over 14,000 copies was 2.5% off
    x = RNG.standard_normal((5, 2)).astype(F16)
    seed = RNG.standard_normal((N, 2))
    if name == "tile":
        _check(lambda a: npg.tile(a, (N // 5, 1)), lambda a: a.repeat(N // 5, 1), [x], seed_grad=seed)
    else:
        _check(lambda a: npg.repeat(a, N // 5, axis=0), lambda a: a.repeat_interleave(N // 5, 0), [x],
               seed_grad=seed)


def test_linear_bias_gradient_over_many_rows():
    # linear's bias VJP summed the rows along a strided axis in float16: 2.6% off over 70,000 rows
    import torch.nn.functional as TF
    a = RNG.standard_normal((N, 8)).astype(F16)
    w, b = RNG.standard_normal((4, 8)).astype(F16), RNG.standard_normal(4).astype(F16)
    _check(npg.nn.functional.linear, TF.linear, [a, w, b], rtol=1e-2, seed_grad=RNG.standard_normal((N, 4)))


def test_rms_norm_default_eps_of_float16_is_torchs():
    # torch computes float16 rms_norm in float32 and its default eps is float32's (1.2e-7), not float16's (9.8e-4):
    # rows of small norm were 2.7% off torch's result
    import torch.nn.functional as TF
    a = (RNG.standard_normal((64, 8)) * RNG.uniform(0.01, 2, (64, 1))).astype(F16)
    w = RNG.standard_normal(8).astype(F16)
    y = npg.nn.functional.rms_norm(npg.tensor(a), (8,), npg.tensor(w)).data
    yt = TF.rms_norm(torch.tensor(a), (8,), torch.tensor(w)).numpy()
    assert y.dtype == F16
    np.testing.assert_allclose(y.astype(np.float64), yt.astype(np.float64), rtol=4e-3, atol=4e-3)
    _check(lambda x, v: npg.nn.functional.rms_norm(x, (8,), v),
           lambda x, v: TF.rms_norm(x, (8,), v, eps=float(np.finfo(np.float32).eps)), [a, w])
