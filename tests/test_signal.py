"""npg.signal: values, shapes and dtypes against scipy.signal (every mode, method and boundary; 1-d to 4-d; odd
and even kernels; in2 larger than in1; complex), gradients against torch.nn.functional.conv1d/2d/3d with
flipped kernels (real and complex) and finite differences, vmap against a loop, forward mode against finite
differences and torch.func.jvp, empty and size-1 inputs, errors naming the op."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.signal as ss
import torch

import npgrad as npg
from npgrad import signal
from tests.helpers import assert_close, check_finite_difference

RNG = np.random.default_rng(7)

# (in1 shape, in2 shape): odd and even kernels, in2 larger than in1, size-1 axes, 1-d to 4-d
SHAPES = [((7,), (3,)), ((7,), (4,)), ((3,), (8,)), ((1,), (1,)), ((1,), (5,)), ((6,), (1,)), ((5, 6), (2, 3)),
          ((5, 6), (3, 3)), ((2, 3), (5, 6)), ((6, 5), (6, 1)), ((2, 7), (3, 2)), ((4, 5, 6), (2, 3, 2)),
          ((3, 3, 4, 5), (2, 1, 2, 3))]
MODES = ("full", "same", "valid")


def _data(shape, kind, dtype=np.float64):
    x = RNG.standard_normal(shape)
    if kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype) if kind != "c" else x


def _scipy_or_error(fn, *args):
    try:
        return fn(*args)
    except ValueError as e:
        return e


def _compare(out_fn, ref, what):
    if isinstance(ref, Exception):
        with pytest.raises(ValueError):
            out_fn()
        return
    out = out_fn()
    assert isinstance(out, npg.Tensor)
    assert out.dtype == ref.dtype, f"{what}: dtype {out.dtype} vs {ref.dtype}"
    assert_close(out, ref, rtol=1e-9, atol=1e-11, what=what)


# ------------------------------------------------------------------------------------------ values vs SciPy
@pytest.mark.parametrize("kinds", ["rr", "cr", "cc", "rc"])
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_convolve_correlate_match_scipy(name, method, kinds):
    for (s1, s2), mode in itertools.product(SHAPES, MODES):
        a, b = _data(s1, kinds[0]), _data(s2, kinds[1])
        ref = _scipy_or_error(getattr(ss, name), a, b, mode, method)
        _compare(lambda: getattr(signal, name)(a, b, mode, method), ref, f"{name} {method} {mode} {s1} {s2}")


@pytest.mark.parametrize("kinds", ["rr", "cc", "rc"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_with_boundaries_match_scipy(name, boundary, kinds):
    shapes = [s for s in SHAPES if len(s[0]) == 2] + [((3, 4), (5, 7)), ((4, 4), (4, 4)), ((3, 3), (7, 8))]
    for (s1, s2), mode in itertools.product(shapes, MODES):
        a, b = _data(s1, kinds[0]), _data(s2, kinds[1])
        ref = _scipy_or_error(getattr(ss, name), a, b, mode, boundary, 1.5)
        _compare(lambda: getattr(signal, name)(a, b, mode, boundary, 1.5), ref,
                 f"{name} {boundary} {mode} {s1} {s2}")


def test_2d_boundary_synonyms_and_default_fill():
    a, b = _data((4, 5), "r"), _data((2, 3), "r")
    for ours, theirs in (("pad", "fill"), ("circular", "wrap"), ("symmetric", "symm")):
        assert_close(signal.convolve2d(a, b, "same", ours), ss.convolve2d(a, b, "same", theirs))
    assert_close(signal.correlate2d(a, b), ss.correlate2d(a, b))


FFT_CASES = [((4, 7), (4, 3), 1), ((4, 7), (1, 3), None), ((4, 7), (4, 3), [1]), ((3, 5, 6), (3, 2, 4), (1, 2)),
             ((3, 5, 6), (1, 7, 2), (-1,)), ((5, 6), (7, 8), None), ((5, 6), (1, 1), None), ((4, 7), (2, 3), 0),
             ((9,), (4,), None)]


@pytest.mark.parametrize("name", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("kinds", ["rr", "cr"])
def test_fftconvolve_axes_match_scipy(name, kinds):
    for (s1, s2, axes), mode in itertools.product(FFT_CASES, MODES):
        a, b = _data(s1, kinds[0]), _data(s2, kinds[1])
        ref = _scipy_or_error(getattr(ss, name), a, b, mode, axes)
        _compare(lambda: getattr(signal, name)(a, b, mode, axes), ref, f"{name} {mode} {s1} {s2} {axes}")


DTYPES = [(np.float32, np.float32), (np.float64, np.float32), (np.int64, np.int64), (np.int32, np.float32),
          (np.int8, np.int8), (np.complex64, np.float32), (np.complex64, np.complex64), (np.float16, np.float16)]


@pytest.mark.parametrize("da,db", DTYPES)
def test_dtypes_as_scipy(da, db):
    a, b = (RNG.standard_normal(9) * 3).astype(da), (RNG.standard_normal(4) * 3).astype(db)
    a2, b2 = (RNG.standard_normal((4, 5)) * 3).astype(da), (RNG.standard_normal((2, 3)) * 3).astype(db)
    tol = dict(rtol=1e-2, atol=1e-2) if np.float16 in (da, db) else dict(rtol=2e-5, atol=2e-5)
    calls = [(f"{n} {m}", getattr(signal, n), getattr(ss, n), (a, b, "full", m))
             for n in ("convolve", "correlate") for m in ("direct", "fft", "auto")]
    calls += [("fftconvolve", signal.fftconvolve, ss.fftconvolve, (a, b))]
    if np.float16 not in (da, db):    # (SciPy's 2-d functions refuse float16)
        calls += [("convolve2d", signal.convolve2d, ss.convolve2d, (a2, b2, "same", "wrap")),
                  ("correlate2d", signal.correlate2d, ss.correlate2d, (a2, b2, "valid"))]
    for what, ours, theirs, args in calls:
        ref, out = theirs(*args), ours(*args)
        assert out.dtype == ref.dtype, f"{what}: {out.dtype} vs {ref.dtype}"
        assert_close(out, ref.astype(out.dtype), what=what, **tol)


def test_integer_results_are_exact():
    a, b = RNG.integers(-50, 50, 30), RNG.integers(-50, 50, 7)
    for method in ("direct", "fft", "auto"):
        out = signal.convolve(a, b, "full", method)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.data, np.convolve(a, b))


def test_scalars_and_size_one_inputs():
    assert_close(signal.convolve(np.float32(2.0), np.float32(3.0)), ss.convolve(np.float32(2.0), np.float32(3.0)))
    assert signal.convolve(np.float32(2.0), np.float32(3.0)).dtype == np.float32
    assert_close(signal.correlate(np.array(2 + 1j), np.array(1 + 1j)), ss.correlate(np.array(2 + 1j), np.array(1 + 1j)))
    for s1, s2 in (((1,), (1,)), ((1, 1), (1, 1)), ((1, 4), (1, 1)), ((3, 1), (1, 1))):
        a, b = _data(s1, "r"), _data(s2, "r")
        for mode in MODES:
            assert_close(signal.convolve(a, b, mode), ss.convolve(a, b, mode), what=f"{s1} {s2} {mode}")


def test_empty_inputs():
    # SciPy 1.17's own results here depend on the method (its FFT path raises IndexError): npgrad keeps those it
    # gives on its direct path and raises a ValueError naming the op for the rest
    for s1, s2, mode in (((0,), (3,), "same"), ((0, 3), (2, 2), "same"), ((0, 3), (1, 1), "full"),
                         ((3, 0), (1, 1), "same"), ((3, 0), (1, 1), "full")):
        ref = ss.convolve(np.ones(s1), np.ones(s2), mode, "direct")
        for fn in (signal.convolve, signal.correlate, signal.fftconvolve):
            out = fn(np.ones(s1, np.float32), np.ones(s2, np.float32), mode)
            assert out.shape == ref.shape and out.dtype == np.float32
    for s1, s2, mode in (((0,), (3,), "full"), ((3,), (0,), "same"), ((0,), (0,), "valid"), ((4, 5), (0, 0), "valid")):
        for name in ("convolve", "correlate", "fftconvolve"):
            with pytest.raises(ValueError, match=f"{name}: inputs cannot be empty"):
                getattr(signal, name)(np.ones(s1), np.ones(s2), mode)
    with pytest.raises(ValueError, match="convolve2d: inputs cannot be empty"):
        signal.convolve2d(np.ones((3, 0)), np.ones((2, 2)))


def test_auto_picks_fft_for_large_inputs_and_agrees_with_direct():
    x, h = _data((3000,), "r"), _data((201,), "r")
    assert_close(signal.convolve(x, h, "same"), signal.convolve(x, h, "same", "direct"), rtol=1e-9, atol=1e-10)
    assert_close(signal.convolve(x, h, "same"), ss.convolve(x, h, "same"), rtol=1e-9, atol=1e-10)


# --------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("method", ["fft", "direct"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("s1,s2", [((5, 1), (2, 4)), ((4, 4, 1), (1, 5, 3))])
def test_valid_mode_with_neither_operand_larger_raises_for_every_method(name, method, s1, s2):
    # SciPy checks every axis before choosing a method; the FFT path skipped the length-1 axes (broadcast in
    # fftconvolve) and returned a result where SciPy and the direct path raise
    a, b = np.ones(s1), np.ones(s2)
    with pytest.raises(ValueError, match="at least as large"):
        getattr(ss, name)(a, b, mode="valid", method=method)
    with pytest.raises(ValueError, match=f"{name}: .*at least as large"):
        getattr(signal, name)(a, b, mode="valid", method=method)


def test_errors_name_the_op():
    a1, a2, b2 = np.ones(5), np.ones((3, 4)), np.ones((5, 2))
    for name in ("convolve", "correlate"):
        fn = getattr(signal, name)
        with pytest.raises(ValueError, match=rf"{name}: in1 and in2 should have the same dimensionality.*\(5,\)"):
            fn(a1, a2)
        with pytest.raises(ValueError, match=rf"{name}: acceptable mode flags.*'circular'"):
            fn(a1, a1, "circular")
        with pytest.raises(ValueError, match=rf"{name}: acceptable method flags.*'slow'"):
            fn(a1, a1, method="slow")
        with pytest.raises(ValueError, match=rf"{name}: for 'valid' mode.*\(3, 4\) and \(5, 2\)"):
            fn(a2, b2, "valid")
    with pytest.raises(ValueError, match=r"fftconvolve: incompatible shapes.*\(3, 4\) and \(5, 2\)"):
        signal.fftconvolve(a2, b2, axes=1)
    with pytest.raises(ValueError, match="fftconvolve: when provided, axes cannot be empty"):
        signal.fftconvolve(a2, a2, axes=[])
    with pytest.raises(ValueError, match="fftconvolve: all axes must be unique"):
        signal.fftconvolve(a2, a2, axes=[0, -2])
    with pytest.raises(ValueError, match="fftconvolve: axes"):
        signal.fftconvolve(a2, a2, axes=2)
    with pytest.raises(ValueError, match="oaconvolve: for 'valid' mode"):
        signal.oaconvolve(a2, b2, "valid")
    for name in ("convolve2d", "correlate2d"):
        fn = getattr(signal, name)
        with pytest.raises(ValueError, match=rf"{name}: inputs must both be 2-D.*\(5,\)"):
            fn(a1, a2)
        with pytest.raises(ValueError, match=rf"{name}: acceptable boundary flags.*'reflect'"):
            fn(a2, a2, boundary="reflect")
        with pytest.raises(ValueError, match=rf"{name}: fillvalue must be scalar"):
            fn(a2, a2, fillvalue=[1.0, 2.0])
        with pytest.raises(ValueError, match=rf"{name}: for 'valid' mode"):
            fn(a2, b2, "valid")
    with pytest.raises(TypeError, match="convolve: unsupported dtype <U1"):
        signal.convolve(np.array(["a", "b"]), a1)


# ------------------------------------------------------------------------------------ gradients vs PyTorch
def _torch_full(x, k, correlate=False):
    """The full convolution (correlation) of torch tensors of 1 to 3 dims by torch.nn.functional.convNd."""
    d = x.ndim
    conv = (torch.nn.functional.conv1d, torch.nn.functional.conv2d, torch.nn.functional.conv3d)[d - 1]
    if x.is_complex() != k.is_complex():
        x, k = (x.to(k.dtype), k) if k.is_complex() else (x, k.to(x.dtype))
    k = k.conj().resolve_conj() if correlate else k.flip(tuple(range(d)))
    return conv(x[None, None], k[None, None], padding=tuple(n - 1 for n in k.shape))[0, 0]


def _torch_mode(x, k, mode, correlate=False, same_start=None):
    full = _torch_full(x, k, correlate)
    if mode == "full":
        return full
    if mode == "valid":
        if all(m > n for n, m in zip(x.shape, k.shape)):   # (swapped by SciPy: the same complete overlaps)
            return full[tuple(slice(n - 1, m) for n, m in zip(x.shape, k.shape))]
        return full[tuple(slice(m - 1, n) for n, m in zip(x.shape, k.shape))]
    start = same_start or (lambda m: (m - 1) // 2)
    return full[tuple(slice(start(m), start(m) + n) for n, m in zip(x.shape, k.shape))]


def _loss_npg(y, w1, w2):
    if y.dtype.kind == "c":
        return npg.sum(npg.real(y) * w1 + npg.imag(y) * w2)
    return npg.sum(y * w1)


def _loss_torch(y, w1, w2):
    if y.is_complex():
        return (y.real * torch.tensor(w1) + y.imag * torch.tensor(w2)).sum()
    return (y * torch.tensor(w1)).sum()


GRAD_SHAPES = [((9,), (4,)), ((9,), (3,)), ((3,), (6,)), ((5, 6), (2, 3)), ((4, 5), (6, 7)), ((4, 5, 3), (3, 2, 2))]


@pytest.mark.parametrize("kinds", ["rr", "cc", "cr"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_gradients_match_torch(name, method, dtype, kinds):
    cdtype = np.complex64 if dtype == np.float32 else np.complex128
    for (s1, s2), mode in itertools.product(GRAD_SHAPES, MODES):
        a = _data(s1, kinds[0]).astype(cdtype if kinds[0] == "c" else dtype)
        b = _data(s2, kinds[1]).astype(cdtype if kinds[1] == "c" else dtype)
        x, k = npg.tensor(a), npg.tensor(b)
        y = getattr(signal, name)(x, k, mode, method)
        tx, tk = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ty = _torch_mode(tx, tk, mode, correlate=name == "correlate")
        assert y.dtype == np.result_type(a, b), f"{name} {mode}: {y.dtype}"
        w1, w2 = (RNG.standard_normal(y.shape).astype(dtype) for _ in range(2))
        _loss_npg(y, w1, w2).backward()
        _loss_torch(ty, w1, w2).backward()
        what = f"{name} {method} {mode} {s1} {s2}"
        assert_close(y, ty.detach().numpy(), dtype, what=what + " value")
        for g, tg, v in ((x.grad, tx.grad, a), (k.grad, tk.grad, b)):
            assert g.dtype == v.dtype, what
            assert_close(g, tg.resolve_conj().numpy(), dtype, what=what + " gradient")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_fill_gradients_match_torch(name, mode):
    a, b = _data((5, 6), "r"), _data((2, 3), "r")
    x, k = npg.tensor(a), npg.tensor(b)
    tx, tk = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    y = getattr(signal, name)(x, k, mode)
    ty = _torch_mode(tx, tk, mode, correlate=name == "correlate2d",
                     same_start=(lambda m: m // 2) if name == "correlate2d" else None)
    w = RNG.standard_normal(y.shape)
    _loss_npg(y, w, None).backward()
    _loss_torch(ty, w, None).backward()
    assert_close(y, ty.detach().numpy())
    assert_close(x.grad, tx.grad.numpy())
    assert_close(k.grad, tk.grad.numpy())


FD_CASES = [
    ("convolve 4-d", lambda x, k: signal.convolve(x, k, "same", "direct"), [(3, 2, 4, 3), (2, 2, 1, 2)]),
    ("correlate 4-d fft", lambda x, k: signal.correlate(x, k, "valid", "fft"), [(3, 2, 4, 3), (2, 2, 1, 2)]),
    ("correlate 3-d", lambda x, k: signal.correlate(x, k, "full", "direct"), [(3, 4, 2), (2, 3, 2)]),
    ("fftconvolve axes", lambda x, k: signal.fftconvolve(x, k, "same", axes=1), [(3, 7), (3, 4)]),
    ("fftconvolve broadcast", lambda x, k: signal.fftconvolve(x, k, "full", axes=0), [(6, 3), (4, 1)]),
    ("convolve2d wrap", lambda x, k: signal.convolve2d(x, k, "same", "wrap"), [(4, 5), (3, 4)]),
    ("convolve2d symm large kernel", lambda x, k: signal.convolve2d(x, k, "full", "symm"), [(3, 4), (5, 6)]),
    ("correlate2d fill", lambda x, k: signal.correlate2d(x, k, "same", "fill", 2.0), [(4, 5), (2, 2)]),
    ("correlate2d valid swapped", lambda x, k: signal.correlate2d(x, k, "valid"), [(2, 3), (4, 5)]),
]


@pytest.mark.parametrize("name,fn,shapes", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_match_finite_differences(name, fn, shapes):
    check_finite_difference(fn, [RNG.standard_normal(s) for s in shapes], what=name)


def test_second_derivative_matches_torch():
    a, b = _data((8,), "r"), _data((3,), "r")
    x, k = npg.tensor(a), npg.tensor(b)
    tx, tk = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    gx, = npg.autograd.grad(npg.sum(signal.convolve(x, k, "same", "direct") ** 2), [x], create_graph=True)
    tgx, = torch.autograd.grad((_torch_mode(tx, tk, "same") ** 2).sum(), [tx], create_graph=True)
    hk, = npg.autograd.grad(npg.sum(gx * gx), [k])
    thk, = torch.autograd.grad((tgx * tgx).sum(), [tk])
    assert_close(hk, thk.numpy())


# ------------------------------------------------------------------------------------ vmap and forward mode
VMAP_CASES = [
    ("convolve direct", lambda x, k: signal.convolve(x, k, "same", "direct"), (9,), (3,)),
    ("convolve fft", lambda x, k: signal.convolve(x, k, "full", "fft"), (9,), (4,)),
    ("correlate direct 2-d", lambda x, k: signal.correlate(x, k, "valid", "direct"), (5, 6), (2, 3)),
    ("correlate fft", lambda x, k: signal.correlate(x, k, "same", "fft"), (8,), (4,)),
    ("correlate complex", lambda x, k: signal.correlate(x, k, "full", "direct"), (6,), (3,)),
    ("convolve2d symm", lambda x, k: signal.convolve2d(x, k, "same", "symm"), (4, 5), (2, 3)),
    ("correlate2d wrap", lambda x, k: signal.correlate2d(x, k, "full", "wrap"), (4, 5), (3, 2)),
]


@pytest.mark.parametrize("name,fn,s1,s2", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_a_loop(name, fn, s1, s2):
    kind = "c" if "complex" in name else "r"
    a, b = _data((3,) + s1, kind), _data((3,) + s2, kind)
    expected = np.stack([fn(npg.tensor(a[i]), npg.tensor(b[i])).data for i in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no per-sample fallback
        out = npg.func.vmap(fn)(npg.tensor(a), npg.tensor(b))
        out_k = npg.func.vmap(fn, in_dims=(0, None))(npg.tensor(a), npg.tensor(b[0]))
    assert_close(out, expected, what=name)
    assert_close(out_k, np.stack([fn(npg.tensor(a[i]), npg.tensor(b[0])).data for i in range(3)]), what=name)


@pytest.mark.parametrize("name,fn,s1,s2", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_forward_mode_matches_finite_differences(name, fn, s1, s2):
    kind = "c" if "complex" in name else "r"
    a, b, ta, tb = _data(s1, kind), _data(s2, kind), _data(s1, kind), _data(s2, kind)
    out, tangent = npg.func.jvp(fn, (npg.tensor(a), npg.tensor(b)), (npg.tensor(ta), npg.tensor(tb)))
    eps = 1e-6
    fd = (fn(npg.tensor(a + eps * ta), npg.tensor(b + eps * tb)).data
          - fn(npg.tensor(a - eps * ta), npg.tensor(b - eps * tb)).data) / (2 * eps)
    assert_close(out, fn(npg.tensor(a), npg.tensor(b)), what=name)
    assert_close(tangent, fd, rtol=1e-6, atol=1e-8, what=name)


@pytest.mark.parametrize("mode", MODES)
def test_forward_mode_matches_torch_func_jvp(mode):
    a, b, ta, tb = _data((6, 7), "r"), _data((3, 2), "r"), _data((6, 7), "r"), _data((3, 2), "r")
    _, tangent = npg.func.jvp(lambda x, k: signal.correlate(x, k, mode, "direct"),
                              (npg.tensor(a), npg.tensor(b)), (npg.tensor(ta), npg.tensor(tb)))
    _, ttangent = torch.func.jvp(lambda x, k: _torch_mode(x, k, mode, correlate=True),
                                 (torch.tensor(a), torch.tensor(b)), (torch.tensor(ta), torch.tensor(tb)))
    assert_close(tangent, ttangent.numpy())


# ----------------------------------------------------------------------------------------------- lfilter
LFILTER_TAPS = [(3, 1), (1, 1), (4, 1), (2, 3), (3, 2), (1, 3), (4, 4)]


def _coeffs(nb, na, dtype=np.float64):
    b = RNG.standard_normal(nb).astype(dtype)
    a = np.r_[1.5, 0.3 * RNG.standard_normal(na - 1)].astype(dtype)      # (stable: small feedback)
    return b, a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nb,na", LFILTER_TAPS)
def test_lfilter_matches_scipy(nb, na, dtype):
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for shape, axis, zi_kind in itertools.product([(7,), (3, 6), (5, 2, 3)], [-1, 0], ["none", "full", "bcast"]):
        b, a = _coeffs(nb, na, dtype)
        x = RNG.standard_normal(shape).astype(dtype)
        ax = axis % len(shape)
        delays = max(na, nb) - 1 if na > 1 else nb - 1
        zshape = [delays if i == ax else (1 if zi_kind == "bcast" else n) for i, n in enumerate(shape)]
        zi = None if zi_kind == "none" else RNG.standard_normal(zshape).astype(dtype)
        ref, out = ss.lfilter(b, a, x, axis, zi), signal.lfilter(b, a, x, axis, zi)
        for r, o in zip(*((ref, out) if zi is not None else ((ref,), (out,)))):
            assert o.dtype == r.dtype
            assert_close(o, r, what=f"lfilter {nb} {na} {shape} {axis} {zi_kind}", **tol)


def test_lfilter_integers_and_scalars():
    x = np.arange(6)     # (SciPy refuses all-integer inputs: npgrad computes them in float64)
    assert_close(signal.lfilter([1, 2], [2, 1], x), ss.lfilter([1.0, 2.0], [2.0, 1.0], x))
    assert_close(signal.lfilter([1, 2], [1], x), ss.lfilter([1.0, 2.0], [1.0], x))
    assert signal.lfilter([1, 2], [1], x).dtype == np.float64
    assert_close(signal.lfilter(2.0, 4.0, x.astype(float)), ss.lfilter(2.0, 4.0, x.astype(float)))
    assert signal.lfilter([1.0, 2.0], [1.0, 0.5], np.ones(0)).shape == (0,)


@pytest.mark.parametrize("na", [1, 2])
@pytest.mark.parametrize("complex_b,complex_x", [(False, True), (True, False), (True, True)])
def test_lfilter_complex_matches_scipy_and_finite_differences(na, complex_b, complex_x):
    # the FIR path (len(a) == 1) raised a TypeError from conv1d on complex operands, which SciPy filters
    rng = np.random.default_rng(5)
    cplx = lambda shape, c: rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if c else 0)
    b, a, x = cplx(3, complex_b), np.array([2.0, 0.4][:na]), cplx((2, 6), complex_x)
    zi = cplx((2, 2), complex_x)
    ref, out = ss.lfilter(b, a, x, -1, zi), signal.lfilter(b, a, x, -1, zi)
    for r, o in zip(ref, out):
        assert o.dtype == r.dtype
        assert_close(o, r, rtol=1e-12, atol=1e-12)
    assert npg.autograd.gradcheck(lambda b, x, zi: signal.lfilter(b, a, x, -1, zi),
                                  [npg.tensor(v, requires_grad=True) for v in (b, x, zi)])


LFILTER_FD = [
    ("fir", lambda b, x: signal.lfilter(b, [2.0], x), [(4,), (3, 9)]),
    ("fir zi", lambda b, x, zi: signal.lfilter(b, [1.0], x, 0, zi)[0], [(3,), (8, 2), (2, 2)]),
    ("fir zf", lambda b, x, zi: signal.lfilter(b, [1.0], x, 0, zi)[1], [(3,), (8, 2), (2, 2)]),
    ("iir", lambda b, a, x: signal.lfilter(b, a * 0.2 + np.array([1.5, 0.0, 0.0]), x), [(2,), (3,), (2, 10)]),
    ("iir zi", lambda b, a, x, zi: signal.lfilter(b, a * 0.2 + np.array([1.0, 0.0]), x, -1, zi)[0],
     [(3,), (2,), (2, 7), (2, 2)]),
    ("iir zf", lambda b, a, x, zi: signal.lfilter(b, a * 0.2 + np.array([1.0, 0.0]), x, -1, zi)[1],
     [(3,), (2,), (2, 7), (2, 2)]),
]


@pytest.mark.parametrize("name,fn,shapes", LFILTER_FD, ids=[c[0] for c in LFILTER_FD])
def test_lfilter_gradients_match_finite_differences(name, fn, shapes):
    check_finite_difference(fn, [RNG.standard_normal(s) for s in shapes], what=f"lfilter {name}")


def test_lfilter_gradients_match_torch_recursion():
    b, a, x = _coeffs(3, 3) + (RNG.standard_normal(12),)
    tb, ta, tx = (torch.tensor(v, requires_grad=True) for v in (b, a, x))
    ys, nb, na = [], tb / ta[0], ta / ta[0]
    for n in range(12):        # the difference equation, term by term
        y = sum(nb[k] * tx[n - k] for k in range(3) if n - k >= 0)
        ys.append(y - sum(na[k] * ys[n - k] for k in range(1, 3) if n - k >= 0))
    w = RNG.standard_normal(12)
    (torch.stack(ys) * torch.tensor(w)).sum().backward()
    nb_, na_, nx = npg.tensor(b), npg.tensor(a), npg.tensor(x)
    out = signal.lfilter(nb_, na_, nx)
    npg.sum(out * w).backward()
    assert_close(out, torch.stack(ys).detach().numpy())
    for g, tg in ((nb_.grad, tb.grad), (na_.grad, ta.grad), (nx.grad, tx.grad)):
        assert_close(g, tg.numpy())


@pytest.mark.parametrize("na", [1, 3])
def test_lfilter_vmap_and_forward_mode(na):
    b, a = _coeffs(3, na)
    xs = RNG.standard_normal((3, 8))
    fn = lambda x, b: signal.lfilter(b, a, x)      # noqa: E731
    expected = np.stack([fn(npg.tensor(xs[i]), npg.tensor(b)).data for i in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = npg.func.vmap(fn, in_dims=(0, None))(npg.tensor(xs), npg.tensor(b))
    assert_close(out, expected)
    tx, tb = RNG.standard_normal(8), RNG.standard_normal(3)
    _, tangent = npg.func.jvp(fn, (npg.tensor(xs[0]), npg.tensor(b)), (npg.tensor(tx), npg.tensor(tb)))
    eps = 1e-6
    fd = (fn(npg.tensor(xs[0] + eps * tx), npg.tensor(b + eps * tb)).data
          - fn(npg.tensor(xs[0] - eps * tx), npg.tensor(b - eps * tb)).data) / (2 * eps)
    assert_close(tangent, fd, rtol=1e-6, atol=1e-8)


def test_lfilter_errors_name_the_op():
    x = np.ones(5)
    with pytest.raises(ValueError, match="lfilter: filter coefficient a\\[0\\] == 0"):
        signal.lfilter([1.0], [0.0, 1.0], x)
    with pytest.raises(ValueError, match="lfilter: parameter b is not a non-empty 1d array.*\\(1, 2\\)"):
        signal.lfilter([[1.0, 2.0]], [1.0], x)
    with pytest.raises(ValueError, match="lfilter: parameter a is not a non-empty 1d array"):
        signal.lfilter([1.0], [], x)
    with pytest.raises(ValueError, match=r"lfilter: unexpected shape for zi: expected \(2,\), found \(3,\)"):
        signal.lfilter([1.0, 2.0], [1.0, 0.5, 0.1], x, zi=np.ones(3))
    with pytest.raises(ValueError, match="lfilter: x must be at least 1-D"):
        signal.lfilter([1.0], [1.0], 3.0)
    with pytest.raises(np.exceptions.AxisError, match="lfilter: axis 1 is out of bounds"):
        signal.lfilter([1.0], [1.0], x, axis=1)
