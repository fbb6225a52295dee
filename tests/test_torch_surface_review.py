"""Adversarial review of the torch-surface additions (npg.special's torch names, npgrad.testing,
npgrad.nn.attention, the aten functionals and torch's older linalg names): sweeps against torch 2.13 (values,
dtypes, gradients in float32 and float64), SciPy and finite differences, over edge cases (0, negative, large
|x| where the kernels switch methods, n = 0 / 1 / large / negative / non-integer degrees, 0-d and empty inputs,
broadcasting, batches, singular and non-positive-definite matrices), and the bugs found on the way."""
import warnings

import numpy as np
import pytest
import scipy.special as sp
import torch

import npgrad as npg

_TDT = {np.float32: torch.float32, np.float64: torch.float64}
_TOL = {np.float32: 2e-5, np.float64: 1e-11}


def _np(x):
    return np.asarray(x.data if isinstance(x, npg.Tensor) else x)


def _grad(f, x):
    t = npg.tensor(x, requires_grad=True)
    (g,) = npg.autograd.grad(f(t).sum(), [t])
    return _np(g)


def _central(f, x, h):
    return (_np(f(x + h)).astype(np.float64) - _np(f(x - h)).astype(np.float64)) / (2 * h)


# ------------------------------------------------------------------------------------------- airy_ai
def test_airy_ai_at_the_taylor_table_end():
    # x = -21.5 rounds (half to even) to the center -22, one past the tabulated -3 .. -21: it raised IndexError
    # (for the whole array it was in)
    x = np.array([-21.5, -21.49999, -21.50001, -3.5, -4.5, -20.5, -2.5000001, 0.3])
    out = _np(npg.special.airy_ai(x))
    ai, aip = sp.airy(x)[:2]
    np.testing.assert_allclose(out, ai, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_grad(npg.special.airy_ai, x), aip, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_np(npg.special.airy_ai(np.float32(-21.5))),
                               torch.special.airy_ai(torch.tensor(-21.5)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_airy_ai_sweep_against_scipy_and_torch(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([np.arange(-22.0, 3.0, 0.5), [-1e4, -100.0, -30.0, 1.5, 1.5000001, 10.0, 50.0, 120.0],
                        rng.uniform(-40, 10, 400)]).astype(dtype)
    out = _np(npg.special.airy_ai(x))
    assert out.dtype == dtype
    ref = sp.airy(x.astype(np.float64))[0]
    # npgrad is at least as close to SciPy as torch is (torch's own error reaches 1e-4 relative in float64)
    err = np.abs(out - ref)
    terr = np.abs(torch.special.airy_ai(torch.tensor(x)).numpy().astype(np.float64) - ref)
    assert np.all(err <= np.maximum(terr, 4e-7 if dtype == np.float32 else 1e-11 * np.maximum(1, np.abs(x))))


# ------------------------------------------------------------------------------------------- torch.special's call forms
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_logsumexp_softmax_logit_take_torch_special_arguments(dtype):
    # torch.special.logsumexp(input, dim, keepdim): the positional keepdim=True was read as SciPy's b=True
    # (weights of one), so the result silently lost the kept dim; dim= / keepdim= / eps= / dtype= were TypeErrors
    x = np.random.default_rng(1).standard_normal((3, 3)).astype(dtype)
    S, T = npg.special, torch.special
    cases = [(lambda m, v: m.logsumexp(v, 1, True)), (lambda m, v: m.logsumexp(v, dim=0, keepdim=True)),
             (lambda m, v: m.logsumexp(v, dim=(0, 1))), (lambda m, v: m.softmax(v, dim=0)),
             (lambda m, v: m.log_softmax(v, dim=1)), (lambda m, v: m.softmax(v, 1, dtype=np.float64 if m is S
                                                                          else torch.float64)),
             (lambda m, v: m.logit(v * 0.3 + 0.5, eps=0.2)), (lambda m, v: m.logit(v * 0.3 + 0.5))]
    for case in cases:
        xn, xt = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = case(S, xn), case(T, xt)
        assert out.shape == tuple(ref.shape) and out.dtype == torch.empty(0, dtype=ref.dtype).numpy().dtype
        np.testing.assert_allclose(_np(out), ref.detach().numpy(), rtol=_TOL[dtype], atol=_TOL[dtype])
        w = np.random.default_rng(2).standard_normal(out.shape).astype(out.dtype)
        (g,) = npg.autograd.grad((out * npg.tensor(w, requires_grad=False)).sum(), [xn])
        (gt,) = torch.autograd.grad((ref * torch.tensor(w)).sum(), [xt])
        np.testing.assert_allclose(_np(g), gt.numpy(), rtol=20 * _TOL[dtype], atol=20 * _TOL[dtype])
    # SciPy's forms are unchanged: b weights (an array) and axis
    b = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(_np(S.logsumexp(x.astype(np.float64), 1, b)), sp.logsumexp(x.astype(np.float64), 1, b),
                               rtol=1e-12)
    np.testing.assert_allclose(_np(S.softmax(x, axis=0)), sp.softmax(x, axis=0), rtol=1e-5)
    with pytest.raises(TypeError, match="axis"):
        S.softmax(x, 0, dim=1)
    with pytest.raises(TypeError, match="keepdim"):
        S.logsumexp(x, 1, True, keepdim=True)


# ------------------------------------------------------------------------------------------- Bessel K, j0 sweeps
_UNARY = [("k0", "modified_bessel_k0"), ("k1", "modified_bessel_k1"), ("k0e", "scaled_modified_bessel_k0"),
          ("k1e", "scaled_modified_bessel_k1"), ("spherical_bessel_j0", "spherical_bessel_j0")]


@pytest.mark.parametrize("name,tname", _UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bessel_k_and_j0_values_and_gradients(name, tname, dtype):
    rng = np.random.default_rng(3)
    x = np.concatenate([[0.0, 1e-30, 1e-5, 0.4999, 0.5, 0.5001, 0.999, 1.0, 1.001, 2.0, 20.0, 80.0, 700.0, 750.0,
                         1e4, np.inf, -np.inf, np.nan, -1e-3, -1.0, -50.0], rng.uniform(0, 30, 100)]).astype(dtype)
    out = _np(getattr(npg.special, name)(x))
    ref = getattr(torch.special, tname)(torch.tensor(x)).numpy()
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref, rtol=_TOL[dtype] * 10, atol=0, equal_nan=True)
    # gradients (torch has none): central differences in float64
    xs = np.array([1e-3, 0.3, 0.4999, 0.5001, 0.999, 1.001, 2.0, 5.0, 20.0, 100.0])
    if name == "spherical_bessel_j0":
        xs = np.concatenate([xs, -xs, [0.0]])
    h = 1e-6 * np.maximum(1.0, np.abs(xs))
    f = getattr(npg.special, name)
    np.testing.assert_allclose(_grad(f, xs), _central(f, xs, h), rtol=1e-6, atol=1e-9)
    assert _grad(f, xs.astype(np.float32)).dtype == np.float32


# ------------------------------------------------------------------------------------------- orthogonal polynomials
_POLYS = {"chebyshev_polynomial_t": sp.eval_chebyt, "chebyshev_polynomial_u": sp.eval_chebyu,
          "chebyshev_polynomial_v": lambda n, x: sp.eval_chebyu(n, x) - sp.eval_chebyu(n - 1, x),
          "chebyshev_polynomial_w": lambda n, x: sp.eval_chebyu(n, x) + sp.eval_chebyu(n - 1, x),
          "hermite_polynomial_h": sp.eval_hermite, "hermite_polynomial_he": sp.eval_hermitenorm,
          "laguerre_polynomial_l": sp.eval_laguerre, "legendre_polynomial_p": sp.eval_legendre}
for _k in "tuvw":
    _POLYS["shifted_chebyshev_polynomial_" + _k] = (lambda f: lambda n, x: f(n, 2 * x - 1))(
        _POLYS["chebyshev_polynomial_" + _k])


@pytest.mark.parametrize("name", sorted(_POLYS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_polynomials_as_accurate_as_torch(name, dtype):
    # npgrad computes in float64: against SciPy's exact recurrences it is never further off than torch (whose
    # float32 values near the zeros are off by 1e-6 absolute), with torch's dtype and shape
    rng = np.random.default_rng(4)
    x = np.concatenate([[0.0, 1.0, -1.0, 0.5, -0.5, 0.999999, 1.0000001, 2.0, -3.7], rng.uniform(-1.2, 1.2, 30)])
    x = x.astype(dtype)
    for n in [0, 1, 2, 3, 5, 6, 7, 9, 12, 33, 100, 127]:
        out = getattr(npg.special, name)(x, n)
        ref = getattr(torch.special, name)(torch.tensor(x), n).numpy().astype(np.float64)
        assert out.dtype == dtype and out.shape == x.shape
        exact = np.asarray(_POLYS[name](n, x.astype(np.float64)), np.float64) if n else np.ones(x.shape)
        ok = np.isfinite(exact) & (np.abs(exact) < (1e30 if dtype == np.float32 else 1e300))
        err, terr = np.abs(_np(out) - exact)[ok], np.abs(ref - exact)[ok]
        terr[np.isnan(terr)] = np.inf     # (torch's float32 overflow to NaN inside its recurrence)
        scale = np.maximum(1.0, np.abs(exact[ok]))
        assert np.all(err <= 4 * terr + (1e-6 if dtype == np.float32 else 1e-12) * scale), (name, n)


@pytest.mark.parametrize("name", sorted(_POLYS))
def test_polynomial_degrees_broadcasting_and_dtypes_as_torch(name):
    f, tf = getattr(npg.special, name), getattr(torch.special, name)
    x = np.array([[0.3], [-0.6], [1.0], [-1.0]])
    for n in (np.array([-3, -1, 0, 1, 2, 7, 40]), np.array([-2.5, -0.5, 0.5, 2.7, 9.99, np.nan, np.inf]),
              np.array([2.0, 3.0], np.float32)):
        for dt in (np.float32, np.float64):
            xx = x.astype(dt)[:, :1]
            out, ref = f(xx, n), tf(torch.tensor(xx), torch.tensor(n))
            assert out.dtype == ref.numpy().dtype and out.shape == tuple(ref.shape)
            np.testing.assert_allclose(_np(out), ref.numpy(), rtol=1e-4 if dt == np.float32 else 1e-10,
                                       atol=1e-5 if dt == np.float32 else 1e-10)
    assert f(np.zeros((0, 2), np.float32), 3).shape == (0, 2)
    assert f(np.float32(0.25), 4).dtype == np.float32
    with pytest.raises(TypeError, match=name):
        f(npg.tensor([0.5]), npg.tensor([2.0], requires_grad=True))


@pytest.mark.parametrize("name", sorted(_POLYS))
def test_polynomial_gradients_against_finite_differences(name):
    f = getattr(npg.special, name)
    x = np.array([-1.0, -0.7, 0.0, 1e-3, 0.35, 0.999, 1.0, 1.4, -1.3])
    for n in (0, 1, 2, 5, 8, 13, 2.9, -2):
        g = _grad(lambda t: f(t, n), x)
        fd = _central(lambda z: f(z, n), x, 1e-6)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(fd).max()))


# ------------------------------------------------------------------------------------------- linalg names
def _spd(rng, *batch, n=3):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _both(fn_np, fn_t, args, dtype, seed=5):
    """Values and gradients (random cotangents) of npgrad's fn_np and torch's fn_t, for every output."""
    xs = [a.astype(dtype) for a in args]
    tn = [npg.tensor(a, requires_grad=True) for a in xs]
    tt = [torch.tensor(a, requires_grad=True) for a in xs]
    on, ot = fn_np(*tn), fn_t(*tt)
    on, ot = (list(on), list(ot)) if isinstance(ot, (tuple, list)) else ([on], [ot])
    tol = 2e-3 if dtype == np.float32 else 1e-8
    for a, b in zip(on, ot):
        assert a.shape == tuple(b.shape) and _np(a).dtype == b.detach().numpy().dtype
        np.testing.assert_allclose(_np(a), b.detach().numpy(), rtol=tol, atol=tol)
    ws = [np.random.default_rng(seed).standard_normal(tuple(b.shape)).astype(dtype) for b in ot]
    gn = npg.autograd.grad(sum((a * npg.tensor(w, requires_grad=False)).sum() for a, w in zip(on, ws)), tn)
    gt = torch.autograd.grad(sum((b * torch.tensor(w)).sum() for b, w in zip(ot, ws)), tt)
    for a, b in zip(gn, gt):
        np.testing.assert_allclose(_np(a), b.numpy(), rtol=tol, atol=tol * max(1.0, np.abs(b.numpy()).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linalg_names_values_and_gradients_as_torch(dtype):
    rng = np.random.default_rng(6)
    A, B, M = _spd(rng, 2), rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 5, 3))
    L = np.linalg.cholesky(A)
    U = np.swapaxes(L, -1, -2).copy()
    la, tl = npg.linalg, torch.linalg
    _both(npg.cholesky, torch.cholesky, [A], dtype)
    _both(lambda a: npg.cholesky(a, True), lambda a: torch.cholesky(a, True), [A], dtype)
    _both(npg.cholesky_solve, torch.cholesky_solve, [B, L], dtype)
    _both(npg.cholesky_solve, torch.cholesky_solve, [B, L[0]], dtype)           # batch broadcast
    _both(lambda b, u: npg.cholesky_solve(b, u, True), lambda b, u: torch.cholesky_solve(b, u, True), [B, U], dtype)
    _both(npg.cholesky_inverse, torch.cholesky_inverse, [L], dtype)
    _both(lambda u: npg.cholesky_inverse(u, True), lambda u: torch.cholesky_inverse(u, True), [U], dtype)
    _both(lambda m: npg.svd(m)[1], lambda m: torch.svd(m)[1], [M], dtype)
    _both(lambda m: npg.svd(m, compute_uv=False)[1], lambda m: torch.svd(m, compute_uv=False)[1], [M], dtype)
    for some in (True, False):      # gauge-free: the reconstruction and squared entries of U and V
        _both(lambda m: (lambda r: (r[0][..., :3] * r[1][..., None, :]) @ npg.swapaxes(r[2], -1, -2))(
            npg.svd(m, some=some)), lambda m: (lambda r: (r[0][..., :3] * r[1][..., None, :]) @ r[2].mT)(
            torch.svd(m, some=some)), [M], dtype)
        _both(lambda m: npg.svd(m, some=some)[2] ** 2, lambda m: torch.svd(m, some=some)[2] ** 2, [M], dtype)
    _both(npg.qr, torch.qr, [M], dtype)
    _both(la.householder_product, tl.householder_product, [M, rng.standard_normal((2, 2))], dtype)
    _both(la.householder_product, tl.householder_product, [M, rng.standard_normal((2, 3))], dtype)
    _both(lambda x: la.vander(x, N=4), lambda x: tl.vander(x, N=4), [np.array([[0.0, 2, -1.5], [1, 0.3, 0]])],
          dtype)
    _both(lambda a: la.cholesky_ex(a, upper=True)[0], lambda a: tl.cholesky_ex(a, upper=True)[0], [A], dtype)
    _both(lambda a: la.inv_ex(a)[0], lambda a: tl.inv_ex(a)[0], [A], dtype)
    _both(lambda a, b: la.solve_ex(a, b, left=False)[0], lambda a, b: tl.solve_ex(a, b, left=False)[0],
          [A, np.swapaxes(B, -1, -2).copy()], dtype)
    _both(lambda a: la.lu_factor_ex(a)[0], lambda a: tl.lu_factor_ex(a)[0], [rng.standard_normal((2, 4, 3))], dtype)


def test_linalg_ex_info_and_shapes_as_torch():
    rng = np.random.default_rng(7)
    nonpd = _spd(rng, 3)
    nonpd[1] = np.diag([1.0, -1.0, 2.0])
    nonpd[2, 2, 2] = np.nan
    sing = rng.standard_normal((2, 3, 3))
    sing[1, :, 2] = 0.0
    for upper in (False, True):
        L, info = npg.linalg.cholesky_ex(nonpd, upper=upper)
        Lt, infot = torch.linalg.cholesky_ex(torch.tensor(nonpd), upper=upper)
        np.testing.assert_array_equal(_np(info), infot.numpy())
        np.testing.assert_allclose(_np(L)[0], Lt.numpy()[0], rtol=1e-12)
    for fn, tfn in ((npg.linalg.inv_ex, torch.linalg.inv_ex), (npg.linalg.lu_factor_ex, torch.linalg.lu_factor_ex)):
        out, ref = fn(sing), tfn(torch.tensor(sing))
        assert _np(out[-1]).dtype == np.int32
        np.testing.assert_array_equal(_np(out[-1]), ref[-1].numpy())
    with pytest.raises(npg.linalg.LinAlgError, match="Batch element 1"):
        npg.linalg.cholesky_ex(nonpd, check_errors=True)
    for some in (True, False):
        for m in (rng.standard_normal((5, 3)), rng.standard_normal((2, 3, 5))):
            for cuv in (True, False):
                got, ref = npg.svd(m, some=some, compute_uv=cuv), torch.svd(torch.tensor(m), some=some,
                                                                            compute_uv=cuv)
                assert [g.shape for g in got] == [tuple(r.shape) for r in ref]
            assert [q.shape for q in npg.qr(m, some=some)] == [tuple(r.shape) for r in torch.qr(torch.tensor(m),
                                                                                                 some=some)]


# ------------------------------------------------------------------------------------------- npgrad.testing
def _outcome(f):
    try:
        f()
    except Exception as e:   # noqa: BLE001  (the exception's type and message are what is compared)
        return type(e).__name__, str(e).replace("torch.", "").replace("Size([", "(").replace("])", ",)")
    return None


_F32, _F64 = np.float32, np.float64
_AC_CASES = [
    (np.array([1.0, 2.0, 3.0], _F32), np.array([1.0, 2.0, 3.00001], _F32), {}),
    (np.array([1.0, 2.0, 3.0], _F32), np.array([1.0, 2.0, 3.1], _F32), {}),
    (np.array([1.0, 2.1, 3.0], _F64), np.array([1.0, 2.0, 3.0], _F32), {"check_dtype": False}),
    (np.array([1, 2, 3]), np.array([1.0, 2.0, 3.5], _F32), {"check_dtype": False}),
    (np.array([1, 2, 4]), np.array([1, 2, 0]), {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {"equal_nan": True}),
    (np.array([np.inf, 1.0]), np.array([-np.inf, 1.0]), {}),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 5.0]]), {"rtol": 0, "atol": 0}),
    (np.array([1.0, 2.0]), np.array([1.5, 2.0]), {"rtol": 0.1}),
    (np.array(1.0), np.array(2.0), {}),
    (np.array([1.0, 2.0], np.float16), np.array([1.0, 2.001], np.float16), {}),
    (np.array([1.0, 3.0]), np.array([1.0, 2.0]), {"msg": "custom"}),
    (np.array([1, 3], np.uint8), np.array([1, 200], np.uint8), {}),
    (np.array([1e-6]), np.array([0.0]), {}),
    (np.array([5, 6], np.int32), np.array([5, 7], np.int64), {"check_dtype": False}),
    (np.array([1 + 1j, 2]), np.array([1 + 1j, 2.1]), {}),
    (1.0, 1.0000001, {}), (1.0, 1.1, {}), (1, 2, {}), (1, 1.0, {}), (1, 1.0, {"check_dtype": False}),
    (True, False, {}), (None, None, {}), (None, 1, {}), ([1.0, 2.0], [1.0, 2.5], {}), ([1.0, 2.0], [1.0], {}),
    ({"a": 1.0}, {"b": 1.0}, {}), ({"a": [1.0, 2.0]}, {"a": [1.0, 3.0]}, {}), (float("nan"), float("nan"), {}),
]


@pytest.mark.parametrize("actual,expected,kw", _AC_CASES)
def test_assert_close_outcome_and_message_as_torch(actual, expected, kw):
    def conv(x, mk):
        return mk(x) if isinstance(x, np.ndarray) else x
    got = _outcome(lambda: npg.testing.assert_close(conv(actual, lambda a: npg.tensor(a, requires_grad=False)),
                                                    conv(expected, lambda a: npg.tensor(a, requires_grad=False)),
                                                    **kw))
    ref = _outcome(lambda: torch.testing.assert_close(conv(actual, torch.tensor), conv(expected, torch.tensor),
                                                      **kw))
    assert got == ref


def test_make_tensor_ranges_dtypes_and_errors_as_torch():
    mt = npg.testing.make_tensor
    for dt, lo, hi in ((np.float32, -9, 9), (np.float64, -9, 9), (np.int8, -9, 9), (np.uint8, 0, 9),
                       (np.int64, -9, 9), (np.bool_, 0, 1)):
        d = _np(mt(2000, dtype=dt))
        assert d.dtype == dt and d.shape == (2000,) and d.min() >= lo and d.max() <= hi and d.max() > d.min()
    t = mt(2, 3, dtype=np.float32, low=-1, high=1, requires_grad=True)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.requires_grad and np.all(np.abs(_np(t)) <= 1)
    assert mt((4, 2), dtype=np.float64).shape == (4, 2)
    d = _np(mt(5000, dtype=np.int8, low=-1000, high=1000))          # clamped to the dtype's range
    assert d.min() < -100 and d.max() > 100
    d = _np(mt(500, dtype=np.int64, low=0.5, high=2.5))             # ceil of both: [1, 3)
    assert set(np.unique(d)) == {1, 2}
    assert np.all(_np(mt(100, dtype=np.float32, low=0, high=1e-44, exclude_zero=True)) != 0)
    assert np.all(_np(mt(100, dtype=np.int32, low=0, high=2, exclude_zero=True)) == 1)
    for kw, err in ((dict(low=2, high=1), "`low` must be less than `high`"), (dict(low=float("nan")), "NaN"),
                    (dict(low=1e39, high=2e39), "only supports")):
        with pytest.raises(ValueError, match=err):
            mt(3, dtype=np.float32, **kw)
        with pytest.raises(ValueError, match=err):
            torch.testing.make_tensor(3, dtype=torch.float32, device="cpu", **kw)
    with pytest.raises(ValueError, match="requires_grad"):
        mt(3, dtype=np.int32, requires_grad=True)


# ------------------------------------------------------------------------------------------- aten functionals
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_values_and_gradients_as_torch(dtype, reduce, include_self):
    rng = np.random.default_rng(8)
    x, src = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    idx = np.array([0, 2, 0, 3, 0])   # (a negative index is an error, as in torch: tests/test_torch_top.py)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch: index_reduce is in beta)
        _both(lambda a, s: a.index_reduce(0, npg.tensor(idx), s, reduce, include_self=include_self),
              lambda a, s: a.index_reduce(0, torch.tensor(idx), s, reduce, include_self=include_self),
              [x, src], dtype)
        _both(lambda a, s: a.index_reduce(-1, npg.tensor([1, 1]), s, reduce, include_self=include_self),
              lambda a, s: a.index_reduce(-1, torch.tensor([1, 1]), s, reduce, include_self=include_self),
              [x, rng.standard_normal((4, 2))], dtype)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_values_and_gradients_as_torch(accumulate):
    rng = np.random.default_rng(9)
    a, s, w = rng.standard_normal((3, 4)), rng.standard_normal((2, 1)), rng.standard_normal((3, 4))
    an, sn = npg.tensor(a, requires_grad=True), npg.tensor(s, requires_grad=True)
    at, st = torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True)
    yn, yt = an * 2, at * 2
    yn.put_(npg.tensor([3, -1]), sn, accumulate=accumulate)
    yt.put_(torch.tensor([3, -1]), st, accumulate=accumulate)
    np.testing.assert_allclose(_np(yn), yt.detach().numpy(), rtol=1e-15)
    gn = npg.autograd.grad((yn * npg.tensor(w, requires_grad=False)).sum(), [an, sn])
    gt = torch.autograd.grad((yt * torch.tensor(w)).sum(), [at, st])
    for g, r in zip(gn, gt):
        np.testing.assert_allclose(_np(g), r.numpy(), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_as_torch_away_from_bin_edges(dtype):
    # (an element within an ulp of an edge may land in the other bin: torch's edges are its linspace's, npgrad's
    # NumPy's, which differ in the last bit; each library's counts agree with its own edges)
    x = np.random.default_rng(10).standard_normal(300).astype(dtype)
    w = np.random.default_rng(11).random(300).astype(dtype)
    for kw in (dict(bins=5), dict(bins=7, range=(-1.0, 1.0)), dict(bins=4, density=True), dict(bins=3, weight=w),
               dict(bins=np.array([-1.0, 0.0, 0.5, 2.0], dtype))):
        kt = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        for got, ref in zip(npg.tensor(x, requires_grad=False).histogram(**kw), torch.tensor(x).histogram(**kt)):
            assert _np(got).dtype == dtype and got.shape == tuple(ref.shape)
            np.testing.assert_allclose(_np(got), ref.numpy(), rtol=1e-6, atol=1e-6)


_COPIES = [("view_copy", ((4, 6),)), ("permute_copy", ((2, 0, 1),)), ("transpose_copy", (0, 2)),
           ("squeeze_copy", ()), ("unsqueeze_copy", (1,)), ("diagonal_copy", (1, 1, 2)), ("select_copy", (1, -1)),
           ("slice_copy", (2, -3, 100)), ("slice_copy", (2, None, None, 2)), ("unfold_copy", (2, 2, 1)),
           ("unbind_copy", (1,)), ("split_copy", (2, 2)), ("split_with_sizes_copy", ([1, 3], 2)),
           ("alias_copy", ()), ("expand_copy", ((3, 2, 3, 4),))]


@pytest.mark.parametrize("name,args", _COPIES)
def test_copy_ops_values_gradients_and_no_aliasing(name, args):
    x = np.random.default_rng(12).standard_normal((2, 3, 4))
    _both(lambda t: getattr(npg, name)(t, *args), lambda t: getattr(torch, name)(t, *args), [x], np.float64)
    xn = npg.tensor(x, requires_grad=False)
    out = getattr(npg, name)(xn, *args)
    for o in (out if isinstance(out, (tuple, list)) else [out]):
        assert not np.shares_memory(_np(o), _np(xn))


# ------------------------------------------------------------------------------------------- nn.attention
@pytest.mark.parametrize("L,S", [(3, 5), (5, 3), (4, 4)])
def test_causal_bias_masks_as_torch(L, S):
    from torch.nn.attention import bias as tbias

    from npgrad.nn.attention import bias as nbias
    rng = np.random.default_rng(13)
    q, k, v = rng.standard_normal((2, L, 4)), rng.standard_normal((2, S, 4)), rng.standard_normal((2, S, 4))
    for variant in ("causal_upper_left", "causal_lower_right"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _both(lambda a, b, c: npg.nn.functional.scaled_dot_product_attention(
                      a, b, c, attn_mask=getattr(nbias, variant)(L, S)),
                  lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
                      a, b, c, attn_mask=getattr(tbias, variant)(L, S)), [q, k, v], np.float64)
    from npgrad.nn.attention import SDPBackend, sdpa_kernel
    assert {m.name: m.value for m in SDPBackend} == {n: int(m) for n, m in
                                                     torch.nn.attention.SDPBackend.__members__.items()}
    with sdpa_kernel([]):
        with pytest.raises(RuntimeError):
            npg.nn.functional.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v))


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_embedding_bag_outputs_as_torch(mode, include_last_offset):
    # (mode sum with include_last_offset: bag_size and max_indices had one entry per bag, torch's one per offset)
    W = np.random.default_rng(14).standard_normal((10, 3))
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    for offs in ([0, 4, 8], [0, 4, 4, 8], [0, 4]):
        got = npg.embedding_bag(npg.tensor(W), npg.tensor(idx), npg.tensor(offs), mode=mode,
                                include_last_offset=include_last_offset)
        ref = torch.embedding_bag(torch.tensor(W), torch.tensor(idx), torch.tensor(offs), mode=mode,
                                  include_last_offset=include_last_offset)
        for g, r in zip(got, ref):
            assert g.shape == tuple(r.shape)
            np.testing.assert_allclose(_np(g), r.detach().numpy(), rtol=1e-12)


def test_polynomial_degree_beyond_the_recurrence_limit_fails_at_once():
    # a degree above 2^24 where the values stay finite (Legendre inside [-1, 1], Laguerre at x >= 0, derivatives)
    # ran 2^24 NumPy steps (about two minutes) before its ValueError; it is now raised before the loop. Where the
    # values overflow (|x| > 1) the loop stops early with NaN, as torch's
    import time
    S, n = npg.special, 2 ** 25
    start = time.perf_counter()
    for f, x in (("legendre_polynomial_p", 0.5), ("laguerre_polynomial_l", 0.5), ("legendre_polynomial_p", 1 + 1e-13)):
        with pytest.raises(ValueError, match=f"{f}: degree n = {n} is too large"):
            getattr(S, f)(np.array([x]), n)
    t = npg.tensor([0.3], requires_grad=True)
    with pytest.raises(ValueError, match="derivative"):
        npg.autograd.grad(S.chebyshev_polynomial_t(t, n).sum(), [t])
    assert time.perf_counter() - start < 10
    assert np.isnan(_np(S.legendre_polynomial_p(np.array([2.0]), n))).all()
    assert np.isnan(torch.special.legendre_polynomial_p(torch.tensor([2.0], dtype=torch.float64), n).numpy()).all()
    np.testing.assert_allclose(_np(S.chebyshev_polynomial_t(np.array([0.3]), 2 ** 30)),
                               np.cos(2 ** 30 * np.arccos(0.3)), rtol=1e-6)
