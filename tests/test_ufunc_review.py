"""Elementwise ops at their domain edges (NaN, infinities, zeros, ties) against PyTorch: the gradient (VJP) and the
forward-mode tangent (JVP, against torch.func.jvp) in float64 and float32, where PyTorch has a convention."""

import builtins
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from tests.helpers import assert_close

DTYPES = [np.float64, np.float32]


def _torch_vjp_jvp(fn, arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    grads = torch.autograd.grad(y.sum(), ts, allow_unused=True)
    grads = [np.zeros_like(a) if g is None else g.numpy() for a, g in zip(arrays, grads)]
    tangents = tuple(torch.tensor(np.full_like(a, 1.0 + 9.0 * i)) for i, a in enumerate(arrays))
    jv = torch.func.jvp(fn, tuple(torch.tensor(a) for a in arrays), tangents)[1].numpy()
    return y.detach().numpy(), grads, jv


def _npg_vjp_jvp(fn, arrays):
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    y.sum().backward()
    grads = [np.zeros_like(a) if x.grad is None else x.grad for a, x in zip(arrays, xs)]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(npg.tensor(a), npg.tensor(np.full_like(a, 1.0 + 9.0 * i)))
                 for i, a in enumerate(arrays)]
        tangent = fwAD.unpack_dual(fn(*duals)).tangent
    return y.data, grads, tangent.data


def check_against_torch(npg_fn, torch_fn, *arrays, what="", jvp="torch"):
    """Values, gradients of ``sum(out)`` and the JVP with tangents 1 (and 10 for a second input) against torch:
    ``jvp="torch"`` against torch.func.jvp, ``"reverse"`` against ``J t`` from torch's VJP (the Jacobian of an
    elementwise op is diagonal: its VJP of ones), where torch's forward rule is not its reverse rule's transpose
    and npgrad keeps jacfwd == jacrev (as tests/test_forward_ad.py's REVERSE_ORACLE)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, tgrads, tjvp = _torch_vjp_jvp(torch_fn, arrays)
        ny, ngrads, njvp = _npg_vjp_jvp(npg_fn, arrays)
        if jvp == "reverse":
            tjvp = builtins.sum(g * (1.0 + 9.0 * i) for i, g in enumerate(tgrads))
    assert_close(ny, ty, what=f"{what} value", rtol=1e-6, atol=1e-6)
    for i, (g, tg) in enumerate(zip(ngrads, tgrads)):
        assert g.dtype == arrays[i].dtype, f"{what}: grad dtype {g.dtype}"
        assert_close(g, tg, what=f"{what} grad of input {i}", rtol=1e-6, atol=0)
    assert_close(njvp, tjvp, what=f"{what} jvp", rtol=1e-6, atol=0)


def _pairs(points, dtype):
    a = np.array([p for p in points for _ in points], dtype)
    b = np.array([q for _ in points for q in points], dtype)
    return a, b


EDGE = [0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_nan_pass_the_gradient_as_torch(name, dtype):
    # a NaN operand makes the output NaN: PyTorch sends the gradient to both inputs (and the tangent of the
    # second, not its transpose: the reverse oracle), where npgrad sent none (a zero gradient for an input whose
    # output is NaN)
    a, b = _pairs(EDGE, dtype)
    check_against_torch(getattr(npg, name), getattr(torch, name), a, b, what=name, jvp="reverse")
    check_against_torch(lambda x: getattr(npg, name)(x, np.nan), lambda x: getattr(torch, name)(
        x, torch.tensor(np.nan, dtype=x.dtype)), a, what=f"{name}(x, nan)", jvp="reverse")


@pytest.mark.parametrize("dtype", DTYPES)
def test_arctan2_gradient_at_the_origin_is_zero_as_torch(dtype):
    # torch's VJP takes 1 / (a^2 + b^2) as 0 where a^2 + b^2 is 0: npgrad gave NaN at the origin (0 * inf). Its
    # JVP keeps the plain quotient (NaN at the origin): the reverse oracle. Where the squares underflow but (a, b)
    # is not the origin, torch's 0 is wrong and npgrad's is the exact derivative (tests/test_grad_extremes.py):
    # those pairs are compared with the exact value instead.
    a, b = _pairs(EDGE + [1e-30, -1e-200], dtype)
    under = (a * a + b * b == 0) & ~((a == 0) & (b == 0))
    check_against_torch(npg.arctan2, torch.atan2, a[~under], b[~under], what="arctan2", jvp="reverse")
    check_against_torch(lambda x: npg.arctan2(x, 0.0), lambda x: torch.atan2(x, torch.tensor(0.0, dtype=x.dtype)),
                        a[(a * a != 0) | (a == 0)], what="arctan2(x, 0.0)", jvp="reverse")
    x, y = npg.tensor(a[under], requires_grad=True), npg.tensor(b[under], requires_grad=True)
    ga, gb = npg.autograd.grad(npg.arctan2(x, y).sum(), [x, y])
    for got, num in ((ga, b[under]), (gb, -a[under])):   # d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
        p, q = a[under].astype(np.longdouble), b[under].astype(np.longdouble)   # (x86's 80-bit range: no underflow)
        want = num.astype(np.longdouble) / (p * p + q * q)
        assert under.any() and np.isfinite(want).all()
        np.testing.assert_allclose(np.asarray(got.data, np.float64), want.astype(np.float64), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_with_an_infinite_operand_as_torch(name, dtype):
    # d logaddexp(a, b)/da = 1 / (1 + exp(b - a)): 1 at a = inf (b finite), where exp(a - y) = exp(inf - inf) was NaN
    a, b = _pairs(EDGE + [-800.0, 800.0], dtype)
    check_against_torch(getattr(npg, name), getattr(torch, name), a, b, what=name)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_gradient_far_apart_is_finite_without_warnings(name):
    a = npg.tensor(np.array([0.0, 1000.0, -1000.0, 0.0]), requires_grad=True)
    b = npg.tensor(np.array([1000.0, 0.0, 0.0, -1000.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(npg, name)(a, b).sum().backward()
    assert_close(a.grad, np.array([0.0, 1.0, 0.0, 1.0]))
    assert_close(b.grad, np.array([1.0, 0.0, 1.0, 0.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("base", [0.0, 0, 2.0, -2.0])
def test_power_of_a_python_number_base_as_torch(base, dtype):
    # d(0 ** x)/dx is 0 where x >= 0, result * log(0) elsewhere: NaN at x = NaN (npgrad gave -inf there)
    x = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, np.inf, -np.inf, np.nan], dtype)
    check_against_torch(lambda t: base ** t, lambda t: base ** t, x, what=f"{base!r} ** x")
    check_against_torch(lambda t: npg.power(npg.tensor(np.asarray(base, dtype)), t),
                        lambda t: torch.pow(torch.tensor(base, dtype=t.dtype), t), x, what=f"tensor({base!r}) ** x")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_at_ties_and_nan_as_torch(name, dtype):
    # torch's fmax sends a tie's gradient to the first operand but takes its tangent from the second: npgrad's
    # forward mode is its reverse mode's transpose (the reverse oracle, as tests/test_forward_ad.py's fmax_ties)
    a, b = _pairs(EDGE, dtype)
    check_against_torch(getattr(npg, name), getattr(torch, name), a, b, what=name, jvp="reverse")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.bool_])
def test_clip_of_integers_by_integer_tensor_bounds_keeps_numpy_dtype(dtype):
    # with one bound None and the other an integer tensor, npgrad filled in an infinite bound: a float64 result
    x = np.array([0, 5, 1, 3], dtype)
    bound = np.array([2, 2, 0, 1], dtype)
    for lo, hi in [(None, bound), (bound, None), (bound, bound), (0, bound), (None, np.float64(2.5))]:
        args = [None if v is None else npg.tensor(v) if isinstance(v, np.ndarray) else v for v in (lo, hi)]
        got = npg.clip(npg.tensor(x), *args)
        expected = np.clip(x, lo, hi)
        assert got.dtype == expected.dtype, f"clip({dtype.__name__}, {lo!r}, {hi!r}): {got.dtype} != {expected.dtype}"
        np.testing.assert_array_equal(got.data, expected)
        assert np.clip(npg.tensor(x), *args).dtype == expected.dtype  # through NumPy's protocol too


def test_clip_takes_numpy_2_min_max_keywords():
    # np.clip(a, min=, max=) (NumPy >= 2.1) and a.clip(min=) (NumPy's and PyTorch's method) raised a TypeError
    a = np.array([-1.5, 0.25, 2.0, 0.0])
    for kw in [dict(min=0.0, max=1.0), dict(min=0.0), dict(max=1.0)]:
        expected = np.clip(a, **kw)
        x = npg.tensor(a, requires_grad=True)
        for got in (np.clip(x, **kw), npg.clip(x, **kw), x.clip(**kw)):
            assert_close(got, expected)
        tx = torch.tensor(a, requires_grad=True)
        tx.clip(**kw).sum().backward()
        x.clip(**kw).sum().backward()
        assert_close(x.grad, tx.grad.numpy())
    with pytest.raises(ValueError, match="forbidden"):
        np.clip(a, 0.0, 1.0, min=0.0)  # (NumPy's own error, for the reference)
    with pytest.raises(ValueError, match="clip"):
        np.clip(npg.tensor(a), 0.0, 1.0, min=0.0)
    with pytest.raises(TypeError, match="clip.*out"):
        np.clip(npg.tensor(a), 0.0, 1.0, out=np.empty(4))


@pytest.mark.parametrize("decimals", [2.5, 1.0, "2", None])
def test_round_refuses_non_integer_decimals_as_numpy(decimals):
    # npgrad took int(decimals): round(x, 2.5) rounded to 2 places (and "2" was taken), where NumPy raises
    a = np.array([0.125, 1.5, 2.675, -2.5])
    with pytest.raises(TypeError):
        np.round(a, decimals)
    for call in (lambda: npg.round(npg.tensor(a), decimals), lambda: np.round(npg.tensor(a), decimals),
                 lambda: np.around(npg.tensor(a), decimals)):
        with pytest.raises(TypeError, match="round"):
            call()


def test_round_integer_decimals_as_numpy():
    a = np.array([0.125, 1.5, 2.675, -2.5, 25.0, 35.0, np.nan, -np.inf])
    for d in [0, 1, 2, -1, np.int8(1), True]:
        got = npg.round(npg.tensor(a.astype(np.float32)), d)
        expected = np.round(a.astype(np.float32), d)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.data, expected)
