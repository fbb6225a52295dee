"""npg.fft against numpy.fft (values, dtypes) and torch.fft (gradients, forward-mode tangents, second order),
finite differences in float64, vmap against a loop, and the errors.

Gradients of a complex output are checked two ways: seeded with a random complex ``G`` (the gradient of the real
loss ``sum(Re(conj(G) * y))``, PyTorch's ``y.backward(G)``), and through real losses written with ``real``,
``imag`` and ``abs``, as a user writes them.
"""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.autograd.gradcheck import gradcheck, gradgradcheck

# s without axes, and None in s, are NumPy 2 deprecations (npgrad warns as NumPy: test_fft_complex_review2.py); the
# tests here still use them, with their present meaning
pytestmark = [pytest.mark.filterwarnings("ignore:`axes` should not be `None` if `s`:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Passing an array containing `None` values to `s`:DeprecationWarning")]

TOL = {np.dtype(np.float32): dict(rtol=2e-4, atol=2e-4), np.dtype(np.float64): dict(rtol=1e-9, atol=1e-10),
       np.dtype(np.complex64): dict(rtol=2e-4, atol=2e-4), np.dtype(np.complex128): dict(rtol=1e-9, atol=1e-10)}
NORMS = [None, "backward", "ortho", "forward"]
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft", "rfftn", "rfft2"}   # numpy and torch reject complex input
COMPLEX = {np.float32: np.complex64, np.float64: np.complex128}


def _data(rng, shape, dtype, cplx):
    x = rng.standard_normal(shape)
    if cplx:
        x = x + 1j * rng.standard_normal(shape)
        return x.astype(COMPLEX[dtype])
    return x.astype(dtype)


def _np(t):
    """A torch tensor's values as a NumPy array (conjugate views resolved)."""
    return t.detach().resolve_conj().resolve_neg().numpy()


def _close(actual, expected, what=""):
    actual = np.asarray(getattr(actual, "data", actual))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_allclose(actual, expected, err_msg=what, **TOL[actual.dtype])


def _seeded_grads(name, x, kwargs, tkwargs=None, seed=1):
    """(npgrad's x.grad, torch's x.grad) for y = fn(x) seeded with the same random gradient G."""
    rng = np.random.default_rng(seed)
    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch.fft, name)(xt, **(kwargs if tkwargs is None else tkwargs))
    xn = npg.tensor(x)
    y = getattr(npg.fft, name)(xn, **kwargs)
    _close(y, _np(yt), f"{name} value vs torch")
    G = rng.standard_normal(y.shape)
    if y.dtype.kind == "c":
        G = G + 1j * rng.standard_normal(y.shape)
    G = G.astype(y.dtype)
    y.backward(G)
    yt.backward(torch.tensor(G))
    return xn.grad, _np(xt.grad)


# ------------------------------------------------------------------------------ values and dtypes
@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm", NORMS)
def test_1d_values_match_numpy(name, dtype, norm):
    rng = np.random.default_rng(0)
    x = _data(rng, (3, 8), dtype, False)
    for n in (None, 5, 8, 13):
        y = getattr(npg.fft, name)(npg.tensor(x), n=n, norm=norm)
        expected = getattr(np.fft, name)(x, n=n, norm=norm)
        assert y.dtype == expected.dtype and y.shape == expected.shape
        np.testing.assert_array_equal(y.data, expected)
        y0 = getattr(npg.fft, name)(npg.tensor(x), n, 0, norm)  # positional, another axis
        np.testing.assert_array_equal(y0.data, getattr(np.fft, name)(x, n, 0, norm))


@pytest.mark.parametrize("name,kwargs", [
    ("fftn", {}), ("fftn", dict(s=(3, 9))), ("fftn", dict(axes=(0, 2))), ("fftn", dict(s=(4, 2), axes=(-1, 0))),
    ("ifftn", dict(s=(5, 5, 5))), ("rfftn", {}), ("rfftn", dict(s=(3, 7), axes=(2, 1))), ("irfftn", {}),
    ("irfftn", dict(s=(4, 9), axes=(0, 2))), ("irfftn", dict(s=(-1, 5), axes=(1, 2))),
    ("irfftn", dict(s=(4, -1), axes=(0, 1))), ("irfftn", dict(s=(None, None), axes=(0, 2))),
    ("fft2", {}), ("ifft2", dict(s=(2, 3))), ("rfft2", dict(axes=(0, 1))), ("irfft2", dict(s=(6, 5))),
    ("fftn", dict(axes=(1, 1))), ("ifftn", dict(axes=[2])),
])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_nd_values_match_numpy(name, kwargs, norm):
    x = np.random.default_rng(1).standard_normal((4, 5, 6))
    y = getattr(npg.fft, name)(npg.tensor(x), norm=norm, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 asks for explicit axes with s
        np.testing.assert_array_equal(y.data, getattr(np.fft, name)(x, norm=norm, **kwargs))


def test_nd_with_s_and_no_axes_transforms_the_last_axes():
    x = np.random.default_rng(2).standard_normal((3, 4, 5))
    y = npg.fft.fftn(npg.tensor(x), s=(6, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 asks for explicit axes here
        np.testing.assert_array_equal(y.data, np.fft.fftn(x, s=(6, 2)))
    np.testing.assert_array_equal(y.data, np.fft.fftn(x, s=(6, 2), axes=(1, 2)))


@pytest.mark.parametrize("dtype,expected", [(np.float32, np.complex64), (np.float64, np.complex128),
                                            (np.int64, np.complex128)])
def test_output_dtypes_follow_numpy(dtype, expected):
    x = np.arange(8).astype(dtype)
    t = npg.tensor(x, requires_grad=False)
    for name in ("fft", "ifft", "rfft", "ihfft", "fftn", "rfft2"):
        y = getattr(npg.fft, name)(t if name != "rfft2" else t.reshape(2, 4))
        assert y.dtype == expected, name
    real = np.zeros(1, expected).real.dtype
    for name in ("irfft", "hfft", "irfftn"):
        assert getattr(npg.fft, name)(t).dtype == real, name


def test_numpy_dispatch():
    x = npg.randn(4, 6)
    y = np.fft.rfft2(x, norm="ortho")
    assert isinstance(y, npg.Tensor) and y.requires_grad
    np.testing.assert_array_equal(y.data, np.fft.rfft2(x.data, norm="ortho"))
    for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "ifftn", "fft2", "ifft2", "rfftn",
                 "irfftn", "irfft2", "fftshift", "ifftshift"):
        out = getattr(np.fft, name)(x)
        assert isinstance(out, npg.Tensor), name
        np.testing.assert_array_equal(out.data, getattr(np.fft, name)(x.data))


# ------------------------------------------------------------------------------ gradients against torch.fft
@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n,length", [(None, 8), (None, 7), (5, 8), (6, 8), (12, 7), (13, 8)])
@pytest.mark.parametrize("axis", [-1, 0])
def test_1d_gradients_match_torch_float64(name, norm, n, length, axis):
    rng = np.random.default_rng(3)
    shape = (length, 3) if axis == 0 else (3, length)
    x = _data(rng, shape, np.float64, False)
    g, gt = _seeded_grads(name, x, dict(n=n, axis=axis, norm=norm), dict(n=n, dim=axis, norm=norm))
    _close(g, gt, f"{name} grad")


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
@pytest.mark.parametrize("n", [None, 5, 11])
def test_1d_gradients_match_torch_float32(name, norm, n):
    x = _data(np.random.default_rng(4), (2, 9), np.float32, False)
    g, gt = _seeded_grads(name, x, dict(n=n, norm=norm), dict(n=n, norm=norm))
    assert g.dtype == np.float32
    _close(g, gt, f"{name} float32 grad")


ND_CASES = [
    ("fftn", {}, {}), ("fftn", dict(s=(3, 9), axes=(0, 2)), dict(s=(3, 9), dim=(0, 2))),
    ("fftn", dict(axes=(-1, 0)), dict(dim=(-1, 0))), ("ifftn", dict(s=(5, 6, 2)), dict(s=(5, 6, 2))),
    ("rfftn", {}, {}), ("rfftn", dict(s=(3, 7), axes=(2, 1)), dict(s=(3, 7), dim=(2, 1))),
    ("irfftn", {}, {}), ("irfftn", dict(s=(4, 9), axes=(0, 2)), dict(s=(4, 9), dim=(0, 2))),
    ("irfftn", dict(s=(3, 4), axes=(1, 2)), dict(s=(3, 4), dim=(1, 2))),
    ("fft2", {}, {}), ("ifft2", dict(s=(2, 7)), dict(s=(2, 7))), ("rfft2", dict(axes=(0, 1)), dict(dim=(0, 1))),
    ("irfft2", dict(s=(6, 5)), dict(s=(6, 5))), ("irfft2", {}, {}),
]


@pytest.mark.parametrize("name,kwargs,tkwargs", ND_CASES)
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nd_gradients_match_torch(name, kwargs, tkwargs, norm, dtype):
    x = _data(np.random.default_rng(5), (4, 5, 6), dtype, False)
    g, gt = _seeded_grads(name, x, dict(kwargs, norm=norm), dict(tkwargs, norm=norm))
    _close(g, gt, f"{name} grad")


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 0, (1,), (0, -1)])
def test_shifts_values_and_gradients(name, axes):
    x = np.random.default_rng(6).standard_normal((5, 4))
    np.testing.assert_array_equal(getattr(npg.fft, name)(npg.tensor(x), axes).data, getattr(np.fft, name)(x, axes))
    dims = None if axes is None else axes
    g, gt = _seeded_grads(name, x, dict(axes=axes), dict(dim=dims))
    _close(g, gt, f"{name} grad")


# ------------------------------------------------------------------------------ frequencies
@pytest.mark.parametrize("n", [1, 2, 7, 8])
@pytest.mark.parametrize("d", [1.0, 0.25, np.float32(0.1)])
def test_frequencies_match_numpy(n, d):
    for name in ("fftfreq", "rfftfreq"):
        f = getattr(npg.fft, name)(n, d)
        expected = getattr(np.fft, name)(n, d)
        assert isinstance(f, npg.Tensor) and not f.requires_grad
        assert f.dtype == expected.dtype
        np.testing.assert_allclose(f.data, expected, rtol=1e-15)


def test_frequencies_differentiable_in_the_spacing():
    for name in ("fftfreq", "rfftfreq"):
        d = npg.tensor(0.3)
        f = getattr(npg.fft, name)(6, d)
        np.testing.assert_allclose(f.data, getattr(np.fft, name)(6, 0.3), rtol=1e-15)
        w = np.arange(f.shape[0]) + 1.0
        (f * w).sum().backward()
        eps = 1e-6   # central differences of numpy's values
        numeric = (np.sum(getattr(np.fft, name)(6, 0.3 + eps) * w) - np.sum(getattr(np.fft, name)(6, 0.3 - eps) * w))
        np.testing.assert_allclose(d.grad, numeric / (2 * eps), rtol=1e-6)


# ------------------------------------------------------------------------------ vmap
@pytest.mark.parametrize("fn", [
    lambda x: npg.fft.fft(x), lambda x: npg.fft.rfft(x, n=10, axis=0, norm="ortho"),
    lambda x: npg.fft.irfft(x, axis=-2), lambda x: npg.fft.hfft(x, 5, 0), lambda x: npg.fft.ihfft(x),
    lambda x: npg.fft.ifft(x, 3, -2, "forward"), lambda x: npg.fft.fftn(x, s=(3, 4), axes=(0, 1)),
    lambda x: npg.fft.rfft2(x), lambda x: npg.fft.irfftn(x, axes=(0,)), lambda x: npg.fft.fftshift(x),
    lambda x: npg.fft.ifftshift(x, axes=0), lambda x: npg.fft.ifft2(x, axes=(1, 0)),
])
@pytest.mark.parametrize("in_dims", [0, 1])
def test_vmap_matches_a_loop(fn, in_dims):
    x = npg.tensor(np.random.default_rng(7).standard_normal((4, 5, 6)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no fallback to the loop
        out = npg.func.vmap(fn, in_dims=in_dims)(x)
    expected = np.stack([fn(npg.tensor(np.take(x.data, i, axis=in_dims))).data for i in range(x.shape[in_dims])])
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_vmap_gradient_matches_a_loop():
    x = npg.tensor(np.random.default_rng(8).standard_normal((3, 8)))
    G = np.random.default_rng(9).standard_normal((3, 5)) + 1j
    out = npg.func.vmap(lambda r: npg.fft.rfft(r, norm="ortho"))(x)
    out.backward(G)
    for i in range(3):
        xi = npg.tensor(x.data[i])
        npg.fft.rfft(xi, norm="ortho").backward(G[i])
        np.testing.assert_allclose(x.grad[i], xi.grad, rtol=1e-12)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("call,exc,match", [
    (lambda x: npg.fft.fft(x, norm="unitary"), ValueError, "fft: invalid norm 'unitary'"),
    (lambda x: npg.fft.rfft(x, n=0), ValueError, r"rfft: invalid number of data points n=0"),
    (lambda x: npg.fft.irfft(x[:, :1]), ValueError, r"irfft: invalid number of data points n=0"),
    (lambda x: npg.fft.ifft(x, axis=2), np.exceptions.AxisError, "ifft"),
    (lambda x: npg.fft.fftn(x, s=(2, 3, 4), axes=(0, 1)), ValueError, "fftn: s=.* and axes=.* different lengths"),
    (lambda x: npg.fft.hfft(x, n=2.5), TypeError, "hfft: the number of points n must be an int"),
    (lambda x: npg.fft.fft(x, out=np.zeros(4, complex)), TypeError, "fft: out= is not supported"),
    (lambda x: npg.fft.fft(x[0, 0]), ValueError, "fft: the input must have at least one dimension"),
    (lambda x: npg.fft.fftshift(x, axes=(0, 5)), np.exceptions.AxisError, "fftshift"),
    (lambda x: npg.fft.fftfreq(4.0), ValueError, "fftfreq: n should be an integer"),
    (lambda x: npg.fft.rfftfreq(0), ValueError, "rfftfreq: n must be positive"),
    (lambda x: npg.fft.rfftn(x, axes=()), ValueError, "rfftn: at least one axis"),
    (lambda x: npg.fft.rfft2(x, s=(0, 3)), ValueError, r"rfftn: invalid number of data points s\[0\]=0"),
    (lambda x: npg.fft.irfftn(x, s=(3, 0), axes=(0, 1)), ValueError, r"irfftn: invalid number of data points s\[1\]=0"),
    (lambda x: npg.fft.fftn(x, s=(-2, 3), axes=(0, 1)), ValueError, r"fftn: invalid number of data points s\[0\]=-2"),
    (lambda x: npg.func.vmap(lambda r: npg.fft.fft(r, axis=1))(x), np.exceptions.AxisError,
     r"fft: axis=1 is out of bounds for a tensor of dimension 1 \(per sample, under vmap\)"),
])
def test_errors_name_the_op(call, exc, match):
    with pytest.raises(exc, match=match):
        call(npg.randn(3, 4))


# ------------------------------------------------------------------------------ complex inputs, real losses
def _loss(y, w):
    """A real loss of npgrad's or torch's ``y`` (complex: through real, imag and abs)."""
    if y.dtype in (np.complex64, np.complex128, torch.complex64, torch.complex128):
        return (w * y.real ** 2 + 3 * y.imag).sum() + (abs(y) ** 2).sum()
    return (w * y ** 2).sum() + (3 * y).sum()


def _loss_grads(fn, tfn, x, seed=2):
    """(npgrad's x.grad, torch's x.grad) for the real loss above of fn(x)."""
    xt = torch.tensor(x, requires_grad=True)
    yt = tfn(xt)
    xn = npg.tensor(x)
    y = fn(xn)
    _close(y, _np(yt), "value vs torch")
    w = np.random.default_rng(seed).standard_normal(y.shape).astype(np.zeros(1, y.dtype).real.dtype)
    loss = _loss(y, w)
    tloss = _loss(yt, torch.tensor(w))
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-4 if w.dtype == np.float32 else 1e-10)
    loss.backward()
    tloss.backward()
    assert xn.grad.dtype == x.dtype
    return xn.grad, _np(xt.grad)


def _fns(name, kwargs, tkwargs):
    return (lambda x: getattr(npg.fft, name)(x, **kwargs)), (lambda x: getattr(torch.fft, name)(x, **tkwargs))


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm,n", [(None, None), ("ortho", 5), ("forward", 12), ("backward", 7)])
def test_1d_real_losses_match_torch(name, cplx, dtype, norm, n):
    if cplx and name in REAL_ONLY:
        with pytest.raises(TypeError, match=f"{name}: the input must be real"):
            getattr(npg.fft, name)(npg.tensor(np.ones(4, complex)))
        return
    x = _data(np.random.default_rng(10), (3, 8), dtype, cplx)
    g, gt = _loss_grads(*_fns(name, dict(n=n, axis=0, norm=norm), dict(n=n, dim=0, norm=norm)), x)
    _close(g, gt, f"{name} grad")


@pytest.mark.parametrize("name", ["fft", "ifft", "irfft", "hfft"])
@pytest.mark.parametrize("norm,n", [(None, None), ("ortho", 5), ("forward", 12)])
def test_1d_complex_input_seeded_gradients(name, norm, n):
    x = _data(np.random.default_rng(11), (2, 7), np.float64, True)
    g, gt = _seeded_grads(name, x, dict(n=n, norm=norm), dict(n=n, norm=norm))
    _close(g, gt, f"{name} complex grad")


@pytest.mark.parametrize("name,kwargs,tkwargs", [c for c in ND_CASES if c[0] not in REAL_ONLY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nd_complex_input_real_losses(name, kwargs, tkwargs, dtype):
    x = _data(np.random.default_rng(12), (4, 5, 6), dtype, True)
    g, gt = _loss_grads(*_fns(name, dict(kwargs, norm="ortho"), dict(tkwargs, norm="ortho")), x)
    _close(g, gt, f"{name} complex grad")


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
def test_shifts_of_complex_tensors(name):
    x = _data(np.random.default_rng(13), (5, 3), np.float32, True)
    g, gt = _loss_grads(*_fns(name, dict(axes=0), dict(dim=0)), x)
    _close(g, gt, f"{name} complex grad")


def test_single_precision_stays_single():
    for x in (npg.tensor(np.ones((4, 6), np.float32)), npg.tensor(np.ones((4, 6), np.complex64))):
        for name in ("fft", "ifft", "irfft", "hfft", "fftn", "ifft2", "irfftn", "fftshift") + (
                ("rfft", "ihfft", "rfftn", "rfft2") if x.dtype == np.float32 else ()):
            y = getattr(npg.fft, name)(x)
            assert y.dtype in (np.float32, np.complex64), (name, y.dtype)
            x.grad = None
            (abs(y) ** 2).sum().backward()
            assert x.grad.dtype == x.dtype, (name, x.grad.dtype)
            _, tangent = npg.func.jvp(lambda v: getattr(npg.fft, name)(v), (x.detach(),), (npg.ones_like(x),))
            assert tangent.dtype == y.dtype, (name, tangent.dtype)


# ------------------------------------------------------------------------------ second order
@pytest.mark.parametrize("name,cplx", [("fft", False), ("fft", True), ("rfft", False), ("irfft", True),
                                       ("irfft", False), ("ifft", True), ("hfft", True), ("ihfft", False)])
@pytest.mark.parametrize("norm,n", [("backward", None), ("ortho", 6), ("forward", 11)])
def test_second_order_matches_torch(name, cplx, norm, n):
    """d/dx <grad_x L(x), v> for the real loss L above (which is not quadratic in x: abs, real and imag)."""
    rng = np.random.default_rng(14)
    x = _data(rng, (9,), np.float64, cplx)
    v = _data(rng, (9,), np.float64, cplx)

    def run(lib, fn, xx, vv):
        y = fn(xx)
        w = np.linspace(0.5, 1.5, y.shape[0])
        w = w if lib is npg else torch.tensor(w)
        loss = _loss(y * y * y, w)  # cubed, so that the second derivative depends on x
        g, = (npg.autograd.grad if lib is npg else torch.autograd.grad)(loss, [xx], create_graph=True)
        second = ((g.real * vv.real + g.imag * vv.imag) if cplx else g * vv).sum()
        second.backward()
        return g, xx.grad

    xn = npg.tensor(x)
    g, gg = run(npg, lambda z: getattr(npg.fft, name)(z, n=n, norm=norm), xn, npg.tensor(v, requires_grad=False))
    xt = torch.tensor(x, requires_grad=True)
    gt, ggt = run(torch, lambda z: getattr(torch.fft, name)(z, n=n, norm=norm), xt, torch.tensor(v))
    _close(g.data, _np(gt), f"{name} grad")
    _close(gg, _np(ggt), f"{name} second derivative")


# ------------------------------------------------------------------------------ finite differences
@pytest.mark.parametrize("name,kwargs", [(name, dict(n=n, norm=norm)) for name in ONE_D
                                         for n, norm in ((None, None), (5, "ortho"), (11, "forward"))]
                         + [("fftn", dict(s=(3, 5), axes=(0, 1))), ("rfft2", dict(s=(4, 3))),
                            ("irfftn", dict(s=(3, 7))), ("ifft2", dict(norm="ortho")),
                            ("fftshift", dict(axes=1)), ("ifftshift", {})])
@pytest.mark.parametrize("cplx", [False, True])
def test_gradcheck_float64(name, kwargs, cplx):
    if cplx and name in REAL_ONLY:
        return
    rng = np.random.default_rng(15)
    re, im = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))

    def f(re, im):
        z = re + 1j * im if cplx else re
        y = getattr(npg.fft, name)(z, **kwargs)
        return (y.real, y.imag) if y.dtype.kind == "c" else y

    assert gradcheck(f, (npg.tensor(re), npg.tensor(im, requires_grad=cplx)))


@pytest.mark.parametrize("name,kwargs", [("fft", dict(n=7, norm="ortho")), ("ifft", dict(n=3)), ("irfft", {}),
                                         ("hfft", dict(n=6, norm="forward")), ("ifftn", dict(s=(2, 6))),
                                         ("irfft2", dict(norm="ortho")), ("fftshift", {})])
def test_gradcheck_and_gradgradcheck_on_complex_inputs(name, kwargs):
    """npgrad's gradcheck on complex inputs and outputs directly (real and imaginary parts apart, as PyTorch's)."""
    z = npg.tensor(_data(np.random.default_rng(19), (3, 5), np.float64, True))
    assert gradcheck(lambda v: getattr(npg.fft, name)(v, **kwargs), (z,))
    assert gradgradcheck(lambda v: getattr(npg.fft, name)(v, **kwargs), (z,))


# ------------------------------------------------------------------------------ forward mode
@pytest.mark.parametrize("name,kwargs,tkwargs", [(name, dict(n=n, norm=norm), dict(n=n, norm=norm))
                                                 for name in ONE_D for n, norm in ((None, None), (6, "ortho"),
                                                                                   (11, "forward"))] + ND_CASES
                         + [("fftshift", dict(axes=(0,)), dict(dim=(0,)))])
@pytest.mark.parametrize("cplx", [False, True])
def test_jvp_matches_torch_func(name, kwargs, tkwargs, cplx):
    if cplx and name in REAL_ONLY:
        return
    rng = np.random.default_rng(16)
    x, t = _data(rng, (4, 5, 6), np.float64, cplx), _data(rng, (4, 5, 6), np.float64, cplx)
    value, tangent = npg.func.jvp(lambda v: getattr(npg.fft, name)(v, **kwargs), (npg.tensor(x),), (npg.tensor(t),))
    tvalue, ttangent = torch.func.jvp(lambda v: getattr(torch.fft, name)(v, **tkwargs), (torch.tensor(x),),
                                      (torch.tensor(t),))
    _close(value, _np(tvalue), f"{name} value")
    _close(tangent, _np(ttangent), f"{name} tangent")


# ------------------------------------------------------------------------------ composed transforms
def test_per_sample_gradients_and_hessian_match_torch_func():
    X = np.random.default_rng(17).standard_normal((4, 10))
    g = npg.func.vmap(npg.func.grad(lambda x: (abs(npg.fft.rfft(x, n=12)) ** 3).sum()))(npg.tensor(X))
    tg = torch.func.vmap(torch.func.grad(lambda x: (torch.fft.rfft(x, n=12).abs() ** 3).sum()))(torch.tensor(X))
    _close(g, _np(tg), "vmap(grad)")
    for fn, tfn in ((lambda x: (abs(npg.fft.fft(x, norm="ortho")) ** 4).sum(),
                     lambda x: (torch.fft.fft(x, norm="ortho").abs() ** 4).sum()),
                    (lambda x: (npg.fft.irfft(x, n=9) ** 4).sum(), lambda x: (torch.fft.irfft(x, n=9) ** 4).sum())):
        h = npg.func.hessian(fn)(npg.tensor(X[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch's own jit warning on first forward-mode use
            th = torch.func.hessian(tfn)(torch.tensor(X[0]))
        _close(h, _np(th), "hessian")


def test_numpy_dispatch_of_complex_tensors():
    z = npg.tensor(_data(np.random.default_rng(18), (3, 4), np.float64, True))
    for name in ("fft", "ifft", "irfft", "hfft", "fft2", "ifftn", "irfft2", "fftshift"):
        out = getattr(np.fft, name)(z)
        assert isinstance(out, npg.Tensor) and out.requires_grad, name
        np.testing.assert_array_equal(out.data, getattr(np.fft, name)(z.data))
