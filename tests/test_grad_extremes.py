"""Gradients of the core elementwise ops and the norms at extreme inputs: huge and tiny magnitudes (up to 3e38 and
down to subnormals), signed zeros, infinities, NaN, and the points where a formula's intermediate (a square, a
product with the incoming gradient, a power) overflows or underflows while the derivative itself is finite.

The oracle of each point is the exact derivative, evaluated in np.longdouble (x86's 80-bit format: exponents to
+-4932, so neither float32's nor float64's squares overflow there) and rounded to the input's dtype; where that
formula has no value (NaN: the origin of hypot, infinities, a point outside the domain) the oracle is PyTorch's
gradient, whose conventions npgrad follows. PyTorch itself is wrong at many of the finite points below (it keeps
a^2 + b^2 in atan2, sqrt(x^2 + 1) in asinh, 1 + x^2 in atan and unscaled sums of powers in vector_norm); there the
exact value wins, as these tests assert. Reverse mode (backward) and forward mode (npg.func.jvp) are both checked.
"""
import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from npgrad import func

L = np.longdouble
DTYPES = (np.float32, np.float64)
RTOL = {np.float32: 2e-6, np.float64: 1e-13}

_MAGS = [0.0, 1e-320, 1e-310, 1e-300, 1e-45, 1e-40, 1e-38, 1e-30, 1e-20, 1e-8, 0.25, 0.5, 1.0, 2.0, 1e8, 1e19, 2e19,
         1e20, 1e30, 3e38, 1e160, 1e200, 1e300]
POINTS = _MAGS + [-v for v in _MAGS] + [math.inf, -math.inf, math.nan]
PAIR_POINTS = [0.0, -0.0, 1e-310, 1e-45, 1e-38, 1e-30, 1e-20, 0.5, 1.0, -2.0, 3.0, 1e20, 1e30, 3e38, -1e30, 1e200,
               math.inf, -math.inf, math.nan]


def _arr(values, dtype):
    with np.errstate(over="ignore"):
        return np.array(values, np.float64).astype(dtype)   # (1e300 in float32 is inf, 1e-310 is 0)


def _close(actual, expected, dtype, what, rtol=None):
    """Elementwise: equal (signed infinities, NaN where NaN) or within RTOL, with a few subnormal ulps of slack."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    tiny = np.finfo(dtype).smallest_subnormal
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (actual == expected) | (np.isnan(actual) & np.isnan(expected)) | (
            np.abs(actual - expected) <= (rtol or RTOL[dtype]) * np.abs(expected) + 4 * tiny)
    assert ok.all(), f"{what}: {np.nonzero(~ok)[0].size} points wrong, e.g. {_bad(actual, expected, ok)}"


def _bad(actual, expected, ok):
    i = np.nonzero(~ok)[0][:4]
    return [f"got {actual[j]!r}, expected {expected[j]!r} (index {j})" for j in i]


def _oracle(exact, torch_grad, dtype):
    """The exact derivative rounded to ``dtype`` where it is a number, else PyTorch's gradient."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.asarray(exact).astype(dtype)
    return np.where(np.isnan(e), torch_grad, e)


def _exact(fn, *arrays):
    with np.errstate(all="ignore"):
        return fn(*(a.astype(L) for a in arrays))


def _npg_grads(fn, arrays, g=None):
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = fn(*xs)
        y.backward(np.ones(y.shape, y.dtype) if g is None else g)
    for x in xs:
        assert x.grad.dtype == x.dtype
    return np.asarray(y.data), [np.asarray(x.grad) for x in xs]


def _npg_jvp(fn, arrays, i):
    """The tangent of ``fn`` along input ``i`` (ones), the others constants: the elementwise derivative. (A zero
    tangent on another input would add 0 * inf = NaN where that input's derivative is infinite.)"""
    def f(x):
        return fn(*(x if j == i else a for j, a in enumerate(arrays)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, t = func.jvp(f, (npg.tensor(arrays[i]),), (npg.tensor(np.ones_like(arrays[i])),))
    return np.asarray(t.data)


def _torch_grads(fn, arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    return y.detach().numpy(), [g.numpy() for g in torch.autograd.grad(y.sum(), ts)]


def _sech2(x):
    return 4 / (np.exp(x) + np.exp(-x)) ** 2


# name: (npgrad op, torch op, exact derivative in long double, the points where it is checked (None: all))
UNARY = {
    "exp": (npg.exp, torch.exp, np.exp, None),
    "expm1": (npg.expm1, torch.expm1, np.exp, None),
    "log": (npg.log, torch.log, lambda x: 1 / x, None),
    "log1p": (npg.log1p, torch.log1p, lambda x: 1 / (1 + x), None),
    "log2": (npg.log2, torch.log2, lambda x: 1 / (x * np.log(L(2))), None),
    "log10": (npg.log10, torch.log10, lambda x: 1 / (x * np.log(L(10))), None),
    "sqrt": (npg.sqrt, torch.sqrt, lambda x: 0.5 / np.sqrt(x), None),
    "square": (npg.square, torch.square, lambda x: 2 * x, None),
    "reciprocal": (npg.reciprocal, torch.reciprocal, lambda x: -1 / (x * x), None),
    "sinh": (npg.sinh, torch.sinh, np.cosh, None),
    "cosh": (npg.cosh, torch.cosh, np.sinh, None),
    # tanh and sigmoid read only their output: where it rounds to +-1 (|x| > 9 in float32, 19 in float64) the
    # gradient is 0, not the tiny exact value (torch's too); left as is, they are on the hot path
    "tanh": (npg.tanh, torch.tanh, _sech2, lambda x: ~(np.abs(x) > 8)),
    "sigmoid": (npg.sigmoid, torch.sigmoid, lambda x: _sech2(x / 2) / 4, lambda x: ~(np.abs(x) > 8)),
    # (outside an inverse function's domain its value is NaN, and so is its gradient's meaning: not checked)
    "arcsin": (npg.arcsin, torch.asin, lambda x: 1 / np.sqrt(1 - x * x), lambda x: np.abs(x) <= 1),
    "arccos": (npg.arccos, torch.acos, lambda x: -1 / np.sqrt(1 - x * x), lambda x: np.abs(x) <= 1),
    "arctan": (npg.arctan, torch.atan, lambda x: 1 / (1 + x * x), None),
    "arcsinh": (npg.arcsinh, torch.asinh, lambda x: 1 / np.sqrt(1 + x * x), None),
    "arccosh": (npg.arccosh, torch.acosh, lambda x: 1 / np.sqrt(x * x - 1), lambda x: x >= 1),
    "arctanh": (npg.arctanh, torch.atanh, lambda x: 1 / (1 - x * x), lambda x: np.abs(x) <= 1),
    "exp2": (npg.exp2, torch.exp2, lambda x: np.exp2(x) * np.log(L(2)), None),
    "cbrt": (npg.cbrt, lambda t: torch.sign(t) * t.abs() ** (1 / 3), lambda x: 1 / (3 * np.cbrt(x) ** 2), None),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_extremes(name, dtype):
    fn, tfn, exact, where = UNARY[name]
    x = _arr(POINTS, dtype)
    if where is not None:
        with np.errstate(invalid="ignore"):
            x = x[where(x)]
    y, (g,) = _npg_grads(fn, [x])
    ty, (tg,) = _torch_grads(tfn, [x])
    if name != "cbrt":  # (torch has no cbrt: the stand-in's value differs from NumPy's at -0.0 and subnormals)
        _close(y, ty, dtype, f"{name} value")
    ref = _oracle(_exact(exact, x), tg, dtype)
    _close(g, ref, dtype, f"{name} gradient")
    _close(_npg_jvp(fn, [x], 0), ref, dtype, f"{name} jvp")


def _atan2_exact(which):
    def d(a, b):   # the origin: 0, as torch (a subgradient; the quotient has no value there)
        s = a * a + b * b
        return np.where(s == 0, 0, (b if which == 0 else -a) / np.where(s == 0, 1, s))
    return d


# name: (npgrad op, torch op, exact d/da, exact d/db)
BINARY = {
    "div": (npg.divide, torch.div, lambda a, b: 1 / b, lambda a, b: -a / (b * b)),
    "arctan2": (npg.arctan2, torch.atan2, _atan2_exact(0), _atan2_exact(1)),
    "hypot": (npg.hypot, torch.hypot, lambda a, b: a / np.sqrt(a * a + b * b), lambda a, b: b / np.sqrt(a * a + b * b)),
    "logaddexp": (npg.logaddexp, torch.logaddexp, lambda a, b: 1 / (1 + np.exp(b - a)),
                  lambda a, b: 1 / (1 + np.exp(a - b))),
    "xlogy_b": (npg.special.xlogy, torch.special.xlogy, None, lambda a, b: a / b),
    "xlog1py_b": (npg.special.xlog1py, torch.special.xlog1py, None, lambda a, b: a / (1 + b)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_extremes(name, dtype):
    fn, tfn, exact_a, exact_b = BINARY[name]
    pairs = _arr(list(itertools.product(PAIR_POINTS, PAIR_POINTS)), dtype)
    a, b = pairs[:, 0].copy(), pairs[:, 1].copy()
    if name in ("hypot", "arctan2"):
        # not where hypot(a, b) leaves the dtype's normal range: 3e38 and 3e38 in float32, whose gradient is 0 (as
        # torch's) where the exact one is 1.7e-39, and two subnormals, whose hypot is rounded coarsely
        with np.errstate(over="ignore"):
            h = np.hypot(a.astype(L), b.astype(L)).astype(dtype)
        normal = np.isfinite(h) & ((h == 0) | (h >= np.finfo(dtype).smallest_normal))
        keep = normal | ~(np.isfinite(a) & np.isfinite(b))
        a, b = a[keep], b[keep]
    y, grads = _npg_grads(fn, [a, b])
    ty, tgrads = _torch_grads(tfn, [a, b])
    if name not in ("xlogy_b", "xlog1py_b"):   # (the float32 values differ from torch's in their last bits)
        _close(y, ty, dtype, f"{name} value")
    for i, exact in enumerate((exact_a, exact_b)):
        if exact is None:
            continue
        ref = _oracle(_exact(exact, a, b), tgrads[i], dtype)
        _close(grads[i], ref, dtype, f"{name} d/d{'ab'[i]}")
        _close(_npg_jvp(fn, [a, b], i), ref, dtype, f"{name} jvp d/d{'ab'[i]}")


def test_atan2_regressions():
    """The points the former a^2 + b^2 got wrong in float32 (torch.atan2 still does): the squares overflowed to
    inf (gradient 0), underflowed to 0 (gradient 0 by the origin's convention, or inf), or made 0 * inf = NaN."""
    a = np.array([1e20, 1e-30, 0.0, 1e20], np.float32)
    b = np.array([1e20, 1e-30, 1e-20, 1.0], np.float32)
    _, (ga, gb) = _npg_grads(npg.arctan2, [a, b])
    _close(ga, np.array([5e-21, 5e29, 1e20, 1e-40], np.float32), np.float32, "atan2 d/da")
    _close(gb, np.array([-5e-21, -5e29, -0.0, -1e-20], np.float32), np.float32, "atan2 d/db")
    assert not np.isnan(gb).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_large_incoming_gradient(dtype):
    """hypot's and xlogy's gradients in their second argument multiplied the incoming gradient by the input
    before dividing: a large incoming gradient overflowed where the result is finite (g = a = b = 1e30 in
    float32 gave inf for hypot, g = 1e30, a = b = 1e20 for xlogy; torch too)."""
    big = 1e30 if dtype == np.float32 else 1e300
    a, b = np.array([big], dtype), np.array([big], dtype)
    g = np.array([big], dtype)
    _, (ga, gb) = _npg_grads(npg.hypot, [a, b], g)
    _close(ga, np.array([big / math.sqrt(2)], dtype), dtype, "hypot d/da, large g")
    _close(gb, np.array([big / math.sqrt(2)], dtype), dtype, "hypot d/db, large g")
    for fn, exact in ((npg.special.xlogy, big), (npg.special.xlog1py, big)):
        _, (_, gb) = _npg_grads(fn, [a, b], g)
        _close(gb, np.array([exact], dtype), dtype, f"{fn.__name__} d/dy, large g")


SCALES = {np.float32: (1e-30, 1e-20, 1e-8, 1.0, 1e8, 1e20, 1e30),
          np.float64: (1e-300, 1e-160, 1e-8, 1.0, 1e8, 1e160, 1e300)}
VEC = np.array([[3.0, -4.0, 0.0, 12.0], [1.0, 2.0, -2.0, 0.5]])


def _norm_exact(x, p):
    ax = np.abs(x)
    n = np.sum(ax ** p, axis=-1, keepdims=True) ** (1 / L(p))
    return n[..., 0], np.sign(x) * (ax / n) ** (p - 1)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("p", (2, 3, 1.5, 0.5))
def test_vector_norm_scaled(p, dtype):
    """vector_norm at every scale: NumPy (and torch) sum the powers unscaled, so the value was 0 or inf (and the
    gradient 0 or NaN) where the norm and its gradient are finite; the gradient of a general p took |x|^(p-1) and
    n^(p-1) apart (float32 p = 3 at 1e-20 gave ~1e-39 instead of ~0.5)."""
    for s in SCALES[dtype]:
        x = (VEC * s).astype(dtype)
        fn = lambda t: npg.linalg.vector_norm(t, ord=p, axis=-1)   # noqa: E731
        y, (g,) = _npg_grads(fn, [x])
        n, dn = _exact(lambda v: _norm_exact(v, p), x)
        dn = np.where(x == 0, 0, dn) if p < 1 else dn   # (p < 1: 0 at a zero entry, as torch)
        _close(y.ravel(), n.astype(dtype).ravel(), dtype, f"vector_norm p={p} value at scale {s}")
        _close(g.ravel(), dn.astype(dtype).ravel(), dtype, f"vector_norm p={p} gradient at scale {s}")
        t = _npg_jvp(fn, [x], 0)   # (the tangent of ones: the sum of the row's gradient)
        _close(t.ravel(), np.sum(dn, axis=-1).astype(dtype).ravel(), dtype, f"vector_norm p={p} jvp at scale {s}")


def test_vector_norm_subnormal_ratio_first():
    """The 2-norm's gradient x / n of a subnormal n: 1 / n overflowed (float32 [3e-45, 4e-45] gave inf)."""
    x = np.array([3e-45, 4e-45], np.float32)
    n = np.float32(np.linalg.vector_norm(x.astype(L) * L(1e45)) / L(1e45))
    _, (g,) = _npg_grads(lambda t: npg.linalg.vector_norm(t), [x])
    _close(g, (x.astype(np.float64) / float(n)).astype(np.float32), np.float32, "2-norm gradient, subnormal")


# name: (npgrad function, torch function, the degree of homogeneity of the value in the inputs' scale)
SCALE_FREE = {
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=0.0),
                          lambda a, b: TF.cosine_similarity(a, b, dim=-1, eps=0.0), 0),
    "pairwise_distance": (lambda a, b: F.pairwise_distance(a, b, eps=0.0),
                          lambda a, b: TF.pairwise_distance(a, b, eps=0.0), 1),
    "pairwise_distance_p3": (lambda a, b: F.pairwise_distance(a, b, p=3.0, eps=0.0),
                             lambda a, b: TF.pairwise_distance(a, b, p=3.0, eps=0.0), 1),
    "normalize": (lambda a, b: F.normalize(a - b, eps=0.0), lambda a, b: TF.normalize(a - b, eps=0.0), 0),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(SCALE_FREE))
def test_distances_scaled(name, dtype):
    """cosine_similarity, pairwise_distance and normalize of vectors scaled by s: value s^k times torch's at
    scale 1 (float64), gradient s^(k-1) times torch's. The squares of the former norm overflowed or underflowed
    (float32 cosine_similarity at 3e20 was 0, not 1; pairwise_distance inf, not 1e20; torch's are too)."""
    fn, tfn, k = SCALE_FREE[name]
    a0, b0 = VEC, VEC[::-1] * np.array([1.0, -1.0, 2.0, 1.0])
    ty, (tga, tgb) = _torch_grads(tfn, [a0, b0])
    for s in SCALES[dtype]:
        y, (ga, gb) = _npg_grads(fn, [(a0 * s).astype(dtype), (b0 * s).astype(dtype)])
        what, tol = f"{name} at scale {s}", (2e-5 if dtype == np.float32 else 1e-12)   # (sums: a few roundings)
        _close(y, (ty * L(s) ** k).astype(dtype), dtype, f"{what} value", tol)
        _close(ga.ravel(), (tga * L(s) ** (k - 1)).astype(dtype).ravel(), dtype, f"{what} d/dx1", tol)
        _close(gb.ravel(), (tgb * L(s) ** (k - 1)).astype(dtype).ravel(), dtype, f"{what} d/dx2", tol)


@pytest.mark.parametrize("p", (2.0, 3.0))
def test_distances_scaled_inside_vmap(p):
    """Inside vmap (where no value can be inspected) the norm of pairwise_distance and cosine_similarity is
    rescaled too: float32 rows at 1e-30 and 1e20 gave 0 and inf."""
    rows = (VEC * np.array([[1e-30], [1e20]])).astype(np.float32)
    other = rows[:, ::-1].copy()
    ty, (tg, _) = _torch_grads(lambda a, b: TF.pairwise_distance(a, b, p=p, eps=0.0), [VEC, VEC[:, ::-1].copy()])
    scale = np.array([1e-30, 1e20])
    dist = func.vmap(lambda a, b: F.pairwise_distance(a, b, p=p, eps=0.0))
    _close(dist(npg.tensor(rows), npg.tensor(other)).data, (ty * scale).astype(np.float32), np.float32,
           "pairwise_distance in vmap", 2e-5)
    grad = func.vmap(func.grad(lambda a, b: F.pairwise_distance(a, b, p=p, eps=0.0)))
    _close(np.asarray(grad(npg.tensor(rows), npg.tensor(other)).data).ravel(), tg.astype(np.float32).ravel(),
           np.float32, "pairwise_distance gradient in vmap", 2e-5)
    cos = func.vmap(lambda a, b: F.cosine_similarity(a, b, dim=0, eps=0.0))
    tc = TF.cosine_similarity(torch.tensor(VEC), torch.tensor(VEC[:, ::-1].copy()), dim=1, eps=0.0).numpy()
    _close(cos(npg.tensor(rows), npg.tensor(other)).data, tc.astype(np.float32), np.float32,
           "cosine_similarity in vmap", 2e-5)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("ddof", (0, 1))
def test_std_scaled(ddof, dtype):
    """std at every scale: s times torch's at scale 1 (float64), the gradient torch's. NumPy's squares overflowed
    or underflowed (float32 [3e20, 4e20] gave inf and [3e-30, 4e-30] 0, gradient 0; torch accumulates float32 in
    float64 and gets these, but its float64 std at 1e200 is inf and at 1e-200 0, where npgrad's is exact)."""
    ty, (tg,) = _torch_grads(lambda t: torch.std(t, dim=-1, correction=ddof), [VEC])
    for s in SCALES[dtype]:
        fn = lambda t: npg.std(t, axis=-1, ddof=ddof)   # noqa: E731
        y, (g,) = _npg_grads(fn, [(VEC * s).astype(dtype)])
        what, tol = f"std at scale {s}", (2e-5 if dtype == np.float32 else 1e-12)
        _close(y, (ty * L(s)).astype(dtype), dtype, f"{what} value", tol)
        _close(g.ravel(), tg.astype(dtype).ravel(), dtype, f"{what} gradient", tol)
        x = npg.tensor((VEC * s).astype(dtype))   # along x itself: std is homogeneous, so the tangent is std(x)
        _close(func.jvp(fn, (x,), (x,))[1].data, (ty * L(s)).astype(dtype), dtype, f"{what} jvp", tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_layer_norm_huge(dtype):
    """layer_norm where the variance overflows (float32 |x - mean| above ~1.8e19): its 1 / sqrt(inf) = 0 made the
    output silently 0 (float32 [3e20, -4e20, ...] gave zeros; torch gives NaN). Against torch at scale 1 (float64,
    eps 0: at these scales eps is negligible), the gradient scaled by 1 / s."""
    w = np.arange(8.0).reshape(2, 4)
    ty, (tg,) = _torch_grads(lambda t: TF.layer_norm(t, (4,), eps=0.0) * torch.tensor(w), [VEC])
    for s in ((1e20, 1e30) if dtype == np.float32 else (1e160, 1e300)):
        y, (g,) = _npg_grads(lambda t: F.layer_norm(t, (4,)) * w.astype(dtype), [(VEC * s).astype(dtype)])
        _close(y.ravel(), ty.astype(dtype).ravel(), dtype, f"layer_norm at scale {s} value", 2e-5)
        tol = 1e-4 if dtype == np.float32 else 1e-10   # (its gradient's sums cancel: a few float32 digits lost)
        _close(g.ravel(), (tg / L(s)).astype(dtype).ravel(), dtype, f"layer_norm at scale {s} gradient", tol)
