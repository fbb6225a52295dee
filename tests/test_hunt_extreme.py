"""Extreme but legal inputs through ``npg.nn.functional`` against ``torch.nn.functional`` 2.13: infinities and
NaN in pooled or interpolated inputs, differences that overflow in the Huber losses, the approximate GELU at
inf, NaN through the shrinkage activations, and the float32 epsilon ATen keeps in two losses' formulas. Values
and gradients are compared elementwise, in float32 and float64, NaN and inf positions included."""
import warnings

import numpy as np
import pytest

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()

DTYPES = [np.float32, np.float64]
INF, NAN = np.inf, np.nan


def _compare(name, arrays, dt, kw=None, grad=(0,), seed=0, **tol):
    """F.<name> of npgrad and torch on ``arrays`` (cast to ``dt`` when floating): values, and the gradients
    of sum(out * r), r random, with respect to the positional arrays whose index is in ``grad``."""
    import torch.nn.functional as T
    kw = kw or {}
    with np.errstate(over="ignore"):   # (1e308 in float32 is inf)
        arrays = [a.astype(dt) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays]
    ta = [torch.tensor(a, requires_grad=i in grad) if isinstance(a, np.ndarray) else a for i, a in enumerate(arrays)]
    na = [npg.tensor(a, requires_grad=i in grad) if isinstance(a, np.ndarray) else a for i, a in enumerate(arrays)]
    what = f"{name} {dt.__name__} {kw}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = getattr(T, name)(*ta, **kw)
        nout = getattr(F, name)(*na, **kw)
        assert nout.dtype == dt, what
        assert_close(nout, tout.detach().numpy(), what=what + " value", **tol)
        if not grad:
            return
        r = np.random.default_rng(seed).standard_normal(tout.shape).astype(dt)
        tg = torch.autograd.grad((tout * torch.tensor(r)).sum(), [ta[i] for i in grad])
        ng = npg.autograd.grad((nout * npg.tensor(r)).sum(), [na[i] for i in grad])
    for i, a, b in zip(grad, ng, tg):
        assert a.dtype == dt, what
        assert_close(a, b.numpy(), what=f"{what} grad of argument {i}", **tol)


# ------------------------------------------------------------------ adaptive pooling / area with inf and NaN
def _grid(*shape):
    """0, 1, 2, ... with +inf first, -inf in the middle and NaN last: each reaches only its own windows."""
    x = np.arange(float(np.prod(shape))).reshape(shape)
    flat = x.reshape(-1)
    flat[0], flat[flat.size // 2], flat[-1] = INF, -INF, NAN
    return x


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("nd, out", [(1, 3), (1, 4), (2, 3), (2, (2, 3)), (2, 7), (3, 2), (3, (2, 3, 4))])
def test_adaptive_avg_pool_unequal_windows_keep_inf_and_nan_in_their_windows(dt, nd, out):
    x = _grid(2, 3, *(5,) * nd)
    _compare(f"adaptive_avg_pool{nd}d", [x], dt, dict(output_size=out))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape, size", [((1, 2, 5), 3), ((1, 1, 5, 5), (3, 4)), ((1, 1, 3, 5, 5), (2, 3, 3))])
def test_interpolate_area_with_inf_and_nan(dt, shape, size):
    _compare("interpolate", [_grid(*shape)], dt, dict(size=size, mode="area"))


def test_adaptive_avg_pool_unbatched_input_without_grad_keeps_inf_local():
    x = _grid(3, 5, 5)
    out = F.adaptive_avg_pool2d(x, 3)
    expect = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), 3).numpy()
    assert_close(out, expect, what="adaptive_avg_pool2d of an ndarray")


# ------------------------------------------------------------------ Huber losses where the difference overflows
_X = np.array([3e38, -3e38, 1e4, -1e4, 0.5, 1.0, 2.0, 0.0, INF, NAN, 1e308])
_Y = np.array([-3e38, 3e38, -1e4, 0.0, 0.0, 0.0, 1.0, 1e-40, 0.0, 1.0, -1e308])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("name, kw", [("huber_loss", {}), ("huber_loss", dict(delta=0.5)),
                                      ("smooth_l1_loss", {}), ("smooth_l1_loss", dict(beta=2.0))])
def test_huber_losses_where_the_difference_overflows_have_the_clamped_gradient(dt, reduction, name, kw):
    _compare(name, [_X, _Y], dt, dict(kw, reduction=reduction), grad=(0, 1))


# ------------------------------------------------------------------ activations at inf and NaN
_EXTREMES = np.array([1e4, -1e4, 3e38, -3e38, 1e308, -1e308, INF, -INF, 0.0, -0.0, 20.0, -20.0, 1e-40, NAN])


@pytest.mark.parametrize("dt", DTYPES)
def test_tanh_gelu_of_plus_inf_is_inf(dt):
    _compare("gelu", [_EXTREMES[:-1]], dt, dict(approximate="tanh"))   # (NaN's gradient: torch's kernels differ)
    with np.errstate(invalid="ignore"):
        out = F.gelu(npg.tensor(np.array(INF, dt)), approximate="tanh")  # the 0-d path
    assert out.dtype == dt and np.asarray(out.data) == INF


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lambd", [0.5, 0.0, 30.0])
def test_softshrink_propagates_nan(dt, lambd):
    x = np.concatenate([_EXTREMES, [-0.3, 0.3, -0.5, 0.5]])
    _compare("softshrink", [x], dt, dict(lambd=lambd), grad=())   # (NaN's gradient: torch's kernels differ)
    _compare("softshrink", [x[np.isfinite(x)]], dt, dict(lambd=lambd))


# ------------------------------------------------------------------ ATen's float epsilon, also in float64
def _tight(dt):
    """float64 to 1e-13: ATen's 1e-12 is a float (1e-12 rounded to float32) in every dtype, 4e-9 away."""
    return dict(rtol=1e-13, atol=0) if dt == np.float64 else {}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_binary_cross_entropy_gradient_at_0_and_1_uses_atens_epsilon(dt, reduction):
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-40, 1e-30, 1e-13, 1 - 1e-13, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 1.0, 0.0, 0.3])
    _compare("binary_cross_entropy", [p, y], dt, dict(reduction=reduction), **_tight(dt))
    _compare("binary_cross_entropy", [p, y, np.linspace(0.5, 2.0, 9)], dt, dict(reduction=reduction), **_tight(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_cosine_embedding_loss_with_zero_vectors_uses_atens_epsilon(dt, margin):
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1e-7, 0.0, 0.0], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5]])
    b = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1e-7, 1e-7, 0.0], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5]])
    y = np.array([1, -1, 1, -1, -1])
    for reduction in ("none", "sum", "mean"):
        _compare("cosine_embedding_loss", [a, b, y], dt, dict(margin=margin, reduction=reduction), grad=(0, 1),
                 **_tight(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("thr, value", [(0.5, -2.0), (0.0, 0.0), (-INF, 7.0)])
def test_threshold_keeps_nan_and_passes_its_gradient(dt, thr, value):
    _compare("threshold", [_EXTREMES, thr, value], dt)


# ------------------------------------------------------------------ embedding_bag with inf / NaN rows
_W = np.array([[INF, 1.0], [-INF, 2.0], [NAN, 3.0], [5.0, NAN], [NAN, NAN], [0.5, -0.5]])
_BAGS = [[0, 1, 2], [2, 0, 1], [0, 2, 3], [3, 2], [4, 4], [4, 0], [3, 3, 3], [5, 3, 5], [1, 4]]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("mode", ["max", "sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 3, 4])
@pytest.mark.parametrize("bag", _BAGS, ids=str)
def test_embedding_bag_with_inf_and_nan_rows(dt, mode, padding_idx, bag):
    """max: PyTorch's scan takes a later element only if greater (a NaN never, a leading NaN stays); a bag of
    padding only is zeros; sum / mean leave the padding rows out (their inf / NaN must not reach the sum)."""
    _compare("embedding_bag", [np.array([bag]), _W], dt, dict(mode=mode, padding_idx=padding_idx), grad=(1,))


@pytest.mark.parametrize("dt", DTYPES)
def test_embedding_bag_per_sample_weights_skip_a_padding_row_with_nan(dt):
    _compare("embedding_bag", [np.array([[0, 3, 5], [3, 3, 1]]), _W], dt,
             dict(mode="sum", padding_idx=3, per_sample_weights=None), grad=(1,))
    psw = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    _compare("embedding_bag", [np.array([[0, 3, 5], [3, 3, 1]]), _W, None, None, 2, False, "sum", False, psw,
                               False, 3], dt, grad=(1, 8))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bce_with_logits_target_gradient_at_infinite_logits_with_pos_weight(dt, reduction):
    """d/dtarget = log_sigmoid(-x) - pos_weight log_sigmoid(x), PyTorch's form: inf at x = -inf (the other
    form, -x - (pw - 1) log_sigmoid(x), is inf - 0 * inf there when pw = 1). pos_weight as an array: the fused
    path, as PyTorch's (which cannot differentiate pos_weight)."""
    x = np.array([-INF, INF, -INF, INF, -1e4, 1e4, -3e38, 0.0, 1e308])
    t = np.array([1.0, 0.0, 0.5, 0.3, 1.0, 0.0, 0.5, 1.0, 1.0])
    pw = np.array([1.0, 1.0, 2.0, 0.5, 3.0, 1.0, 1.0, 2.0, 0.25])
    _compare("binary_cross_entropy_with_logits", [x, t, None, None, None, reduction, pw.astype(dt)], dt,
             grad=(0, 1))
