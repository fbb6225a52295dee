"""``npg.stft`` / ``npg.istft`` (and the Tensor methods) and ``npg.fft.hfft2 / hfftn / ihfft2 / ihfftn`` against
PyTorch: values, dtypes, gradients of real losses w.r.t. the (real or complex) input and the window, JVPs, vmap,
the round trip istft(stft(x)) == x, and the errors (naming the op and the bad value)."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close, no_vmap_fallback


def _data(rng, shape, dtype=np.float64, cplx=False):
    x = rng.standard_normal(shape)
    if cplx:
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(np.result_type(dtype, np.complex64) if cplx else dtype)


def _np(t):
    return t.detach().resolve_conj().numpy()


def _loss(out, weights, lib):
    """A real loss reading the real and imaginary parts (and |.|^2) of ``out``."""
    w1, w2 = weights
    if lib is torch:
        w1, w2 = torch.tensor(w1), torch.tensor(w2)
    if out.dtype in (torch.complex64, torch.complex128) or getattr(out.dtype, "kind", "") == "c":
        return (out.real * w1).sum() + (out.imag * w2).sum() + (abs(out) ** 2).sum() * 0.5
    return (out * w1).sum() + (out ** 2 * w2).sum()


def _compare(npg_fn, torch_fn, arrays, what, rtol=None):
    """Values, dtypes and gradients (of every array) of ``_loss`` against PyTorch."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    kw = {} if rtol is None else dict(rtol=rtol, atol=rtol)
    assert_close(out, _np(tout), what=f"{what} value", **kw)
    assert str(out.dtype) == str(tout.dtype).replace("torch.", ""), f"{what}: {out.dtype} vs {tout.dtype}"
    rng = np.random.default_rng(5)
    real = np.empty(0, out.dtype).real.dtype
    weights = (rng.standard_normal(out.shape).astype(real), rng.standard_normal(out.shape).astype(real))
    _loss(out, weights, npg).backward()
    _loss(tout, weights, torch).backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None and x.grad.dtype == x.dtype, f"{what}: gradient of input {i}"
        assert_close(x.grad, _np(t.grad), what=f"{what} grad of input {i}", **kw)


# ------------------------------------------------------------------------------ hfft2 hfftn ihfft2 ihfftn
HERMITIAN_CASES = [("hfftn", {}, {}), ("hfftn", dict(axes=(0, 2)), dict(dim=(0, 2))),
                   ("hfftn", dict(s=(4, 7), axes=(0, -1), norm="ortho"), dict(s=(4, 7), dim=(0, -1), norm="ortho")),
                   ("hfftn", dict(s=(3, 6)), dict(s=(3, 6))), ("hfftn", dict(s=(-1, -1), axes=(1, 2)),
                                                              dict(s=(-1, -1), dim=(1, 2))),
                   ("hfftn", dict(axes=(2, 0), norm="forward"), dict(dim=(2, 0), norm="forward")),
                   ("hfft2", {}, {}), ("hfft2", dict(s=(5, 4), norm="ortho"), dict(s=(5, 4), norm="ortho")),
                   ("ihfftn", {}, {}), ("ihfftn", dict(axes=(0, 2), norm="ortho"), dict(dim=(0, 2), norm="ortho")),
                   ("ihfftn", dict(s=(6, 3)), dict(s=(6, 3))), ("ihfftn", dict(s=(3, -1), axes=(0, 1)),
                                                                dict(s=(3, -1), dim=(0, 1))),
                   ("ihfft2", {}, {}), ("ihfft2", dict(s=(2, 9), norm="forward"), dict(s=(2, 9), norm="forward"))]


@pytest.mark.parametrize("name,kwargs,tkwargs", HERMITIAN_CASES)
@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hermitian_nd_transforms_match_torch(name, kwargs, tkwargs, cplx, dtype):
    if cplx and name.startswith("ihfft"):
        return
    x = _data(np.random.default_rng(1), (3, 4, 5), dtype, cplx)
    _compare(lambda v: getattr(npg.fft, name)(v, **kwargs), lambda v: getattr(torch.fft, name)(v, **tkwargs), [x],
             f"{name}{kwargs}", rtol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("name", ["hfftn", "ihfftn"])
def test_hermitian_nd_jvp_and_vmap(name):
    rng = np.random.default_rng(2)
    cplx = name == "hfftn"
    x, t = _data(rng, (3, 4, 5), cplx=cplx), _data(rng, (3, 4, 5), cplx=cplx)
    f = getattr(npg.fft, name)
    value, tangent = npg.func.jvp(lambda v: f(v, axes=(0, 2)), (npg.tensor(x),), (npg.tensor(t),))
    tvalue, ttangent = torch.func.jvp(lambda v: getattr(torch.fft, name)(v, dim=(0, 2)), (torch.tensor(x),),
                                      (torch.tensor(t),))
    assert_close(value, _np(tvalue)), assert_close(tangent, _np(ttangent))
    with no_vmap_fallback():
        out = npg.func.vmap(lambda v: f(v, s=(4, 6)))(npg.tensor(x))
    assert_close(out, np.stack([f(npg.tensor(v), s=(4, 6)).data for v in x]))


@pytest.mark.parametrize("call,match", [
    (lambda: npg.fft.hfftn(np.ones((2, 3), complex), axes=()), "hfftn: must transform at least one axis"),
    (lambda: npg.fft.hfftn(np.ones((), complex)), "hfftn: must transform at least one axis"),
    (lambda: npg.fft.ihfftn(np.ones((2, 3)), axes=(1, -1)), r"ihfftn: the axes must be unique, got \(1, 1\)"),
    (lambda: npg.fft.hfftn(np.ones((2, 3), complex), s=(2, 3), axes=(0,)), "hfftn: s=.*must have the same length"),
    (lambda: npg.fft.hfftn(np.ones((2, 1), complex)), "hfftn: invalid number of data points 0 for axis 1"),
    (lambda: npg.fft.ihfft2(np.ones((2, 3)), s=(0, 3)), "ihfftn: invalid number of data points 0 for axis 0"),
])
def test_hermitian_nd_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
    with pytest.raises(TypeError, match=r"ihfftn: the input must be real, got a complex128"):
        npg.fft.ihfftn(np.ones((2, 3), complex))
    with pytest.raises(np.exceptions.AxisError, match="hfftn"):
        npg.fft.hfftn(np.ones((2, 3), complex), axes=(5,))


# ------------------------------------------------------------------------------ stft
STFT_CASES = [dict(), dict(center=False), dict(normalized=True), dict(onesided=False), dict(pad_mode="constant"),
              dict(pad_mode="replicate"), dict(pad_mode="circular"), dict(hop_length=3), dict(win_length=8),
              dict(center=False, align_to_window=True), dict(hop_length=5, normalized=True, center=False)]


@pytest.mark.parametrize("kwargs", STFT_CASES, ids=str)
@pytest.mark.parametrize("batched", [False, True])
def test_stft_matches_torch_values_and_gradients_in_input_and_window(kwargs, batched):
    rng = np.random.default_rng(3)
    x = _data(rng, (2, 40) if batched else (40,))
    kw = dict(kwargs)
    win = kw.pop("win_length", 6)
    w = rng.random(win) + 0.5
    _compare(lambda x, w: npg.stft(x, 8, win_length=win, window=w, return_complex=True, **kw),
             lambda x, w: torch.stft(x, 8, win_length=win, window=w, return_complex=True, **kw), [x, w],
             f"stft{kwargs}")
    _compare(lambda x, w: x.stft(8, win_length=win, window=w, return_complex=True, **kw),
             lambda x, w: x.stft(8, win_length=win, window=w, return_complex=True, **kw), [x, w], "x.stft")


@pytest.mark.parametrize("cplx_x,cplx_w", [(True, False), (False, True), (True, True)])
def test_stft_of_complex_input_or_window_is_two_sided(cplx_x, cplx_w):
    rng = np.random.default_rng(4)
    x, w = _data(rng, (2, 30), cplx=cplx_x), _data(rng, (8,), cplx=cplx_w)
    _compare(lambda x, w: npg.stft(x, 8, hop_length=3, window=w), lambda x, w: torch.stft(x, 8, hop_length=3, window=w),
             [x, w], "complex stft")
    with pytest.raises(RuntimeError, match="stft: cannot have onesided output if the window or the input is complex"):
        npg.stft(x, 8, window=w, onesided=True)


def test_stft_float32_stays_float32():
    rng = np.random.default_rng(5)
    x, w = _data(rng, (3, 33), np.float32), (rng.random(16) + 0.5).astype(np.float32)
    _compare(lambda x, w: npg.stft(x, 16, hop_length=4, window=w, return_complex=True),
             lambda x, w: torch.stft(x, 16, hop_length=4, window=w, return_complex=True), [x, w], "float32 stft",
             rtol=1e-4)
    assert npg.stft(x, 16, window=npg.tensor(w), return_complex=True).dtype == np.complex64


def test_stft_return_complex_and_window_defaults_follow_torch():
    x = _data(np.random.default_rng(6), (20,))
    with pytest.raises(RuntimeError, match="stft: return_complex must be given for real inputs"):
        npg.stft(x, 8, window=np.ones(8))
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        pairs = npg.stft(x, 8, window=np.hanning(8), return_complex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tpairs = torch.stft(torch.tensor(x), 8, window=torch.tensor(np.hanning(8)), return_complex=False)
        tnone = torch.stft(torch.tensor(x), 8, win_length=6, return_complex=True)
    assert pairs.shape == (5, 11, 2)
    assert_close(pairs, tpairs.numpy())
    with pytest.warns(UserWarning, match="A window was not provided"):
        none = npg.stft(x, 8, win_length=6, return_complex=True)  # ones of win_length, centred in n_fft
    assert_close(none, tnone.numpy())


@pytest.mark.parametrize("call,match", [
    (lambda x: npg.stft(x, 30, center=False, return_complex=True), r"stft: expected 0 < n_fft <= 20 .*n_fft=30"),
    (lambda x: npg.stft(x, 8, hop_length=0, return_complex=True), "stft: expected hop_length > 0, but got "
                                                                  "hop_length=0"),
    (lambda x: npg.stft(x, 3, return_complex=True), r"hop_length=0 \(n_fft=3; the default is n_fft // 4\)"),
    (lambda x: npg.stft(x, 8, window=np.ones(5), return_complex=True), r"stft: expected a 1-D window of size "
                                                                       r"win_length=8, but got a window of shape \(5,\)"),
    (lambda x: npg.stft(x, 8, win_length=9, return_complex=True), "stft: expected 0 < win_length <= n_fft, but got "
                                                                  "win_length=9"),
    (lambda x: npg.stft(x, 0, return_complex=True), "stft: expected n_fft > 0, but got n_fft=0"),
    (lambda x: npg.stft(x[None, None], 8, return_complex=True), r"stft: expected a 1-D \(L,\) or 2-D \(B, L\) input, "
                                                                r"got shape \(1, 1, 20\)"),
    (lambda x: npg.stft(x[:4], 8, return_complex=True), "stft: reflect padding of n_fft // 2 = 4 on each side needs an "
                                                        "input longer than 4, got length 4"),
    (lambda x: npg.stft(x[:3], 8, pad_mode="circular", return_complex=True), "stft: circular padding"),
    (lambda x: npg.stft(x, 8, align_to_window=True, return_complex=True), "align_to_window should only be set"),
])
def test_stft_errors_name_the_bad_value(call, match):
    x = npg.tensor(np.arange(20.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=match):
            call(x)
        with pytest.raises(TypeError, match="stft: expected a tensor of floating point or complex values, got dtype "
                                            "int64"):
            npg.stft(np.arange(20), 8, return_complex=True)
        with pytest.raises(NotImplementedError, match="stft: unrecognised padding mode 'bogus'"):
            npg.stft(x, 8, pad_mode="bogus", return_complex=True)


# ------------------------------------------------------------------------------ istft
@pytest.mark.parametrize("kwargs", [dict(), dict(hop_length=4), dict(center=False, window="ones"),
                                    dict(normalized=True), dict(onesided=False), dict(win_length=12)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_istft_inverts_stft(kwargs, dtype):
    rng = np.random.default_rng(7)
    x = _data(rng, (2, 64), dtype)
    kw = dict(kwargs)
    win = kw.pop("win_length", 16)
    w = np.ones(win, dtype) if kw.pop("window", None) == "ones" else np.hanning(win + 1)[:-1].astype(dtype)
    spec = npg.stft(x, 16, win_length=win, window=w, return_complex=True, **kw)
    assert spec.dtype == np.result_type(dtype, np.complex64)
    kw.pop("onesided", None)
    y = npg.istft(spec, 16, win_length=win, window=w, length=64, **kw)
    assert y.dtype == dtype
    assert_close(y, x, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-4 if dtype == np.float32 else 1e-10)


ISTFT_CASES = [(5, dict()), (5, dict(normalized=True)), (5, dict(length=30)), (5, dict(length=50, win_length=8)),
               (5, dict(center=False, win_length=8)), (8, dict(onesided=False)), (8, dict(return_complex=True)),
               (5, dict(hop_length=3, length=41))]


@pytest.mark.parametrize("bins,kwargs", ISTFT_CASES, ids=str)
@pytest.mark.parametrize("batched", [False, True])
def test_istft_matches_torch_values_and_gradients_in_input_and_window(bins, kwargs, batched):
    rng = np.random.default_rng(8)
    z = _data(rng, ((2,) if batched else ()) + (bins, 21), cplx=True)
    kw = dict(kwargs)
    win = kw.pop("win_length", 6)
    hop = kw.pop("hop_length", 2)
    w = rng.random(win) + 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a length beyond the frames pads with a warning: torch's, tested below)
        _compare(lambda z, w: npg.istft(z, 8, hop, win, window=w, **kw),
                 lambda z, w: torch.istft(z, 8, hop, win, window=w, **kw), [z, w], f"istft{kwargs}")
        _compare(lambda z, w: z.istft(8, hop, win, window=w, **kw),
                 lambda z, w: z.istft(8, hop, win, window=w, **kw), [z, w], "z.istft")


def test_istft_float32_and_tail_padding_warning():
    rng = np.random.default_rng(9)
    z, w = _data(rng, (5, 9), np.float32, cplx=True), (rng.random(8) + 0.5).astype(np.float32)
    with pytest.warns(UserWarning, match="padded with zeros"):
        y = npg.istft(z, 8, window=w, length=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = torch.istft(torch.tensor(z), 8, window=torch.tensor(w), length=40)
    assert y.dtype == np.float32 and y.shape == (40,)
    assert_close(y, ty.numpy(), rtol=1e-5, atol=1e-5)


def test_istft_nola_and_other_errors():
    rng = np.random.default_rng(10)
    z = _data(rng, (2, 5, 11), cplx=True)
    with pytest.raises(RuntimeError, match="window overlap add min"):  # torch's check, in both
        torch.istft(torch.tensor(z), 8, window=torch.zeros(8, dtype=torch.float64))
    with pytest.raises(RuntimeError, match=r"istft: window overlap add min: 0 < 1e-11"):
        npg.istft(z, 8, window=np.zeros(8))
    with pytest.raises(RuntimeError, match=r"istft: window overlap add min: 0 < 1e-11 .*center=False"):
        npg.istft(z, 8, win_length=6, window=np.ones(6), center=False)  # the edges lie outside every window
    for call, match in [
            (lambda: npg.istft(z.real, 8, window=np.ones(8)), "istft: requires a complex-valued input"),
            (lambda: npg.istft(z[:, :4], 8, window=np.ones(8)), "istft: expected the frequency dimension .* to be "
                                                                r"n_fft // 2 \+ 1 = 5 .*but got 4"),
            (lambda: npg.istft(z, 8, window=np.ones(8), onesided=False), "to be n_fft = 8 .*but got 5"),
            (lambda: npg.istft(z, 8, hop_length=9, window=np.ones(8)), "istft: expected 0 < hop_length <= "
                                                                       "win_length, but got hop_length=9"),
            (lambda: npg.istft(z, 8, window=np.ones(5)), r"istft: expected a 1-D window of size win_length=8"),
            (lambda: npg.istft(z, 8, window=np.ones(8), return_complex=True), "istft: cannot have onesided input"),
            (lambda: npg.istft(z, 8, window=np.ones(8) + 0j), "istft: a complex window is incompatible"),
            (lambda: npg.istft(z[None], 8, window=np.ones(8)), r"istft: expected a 2-D \(N, T\) or 3-D"),
            (lambda: npg.istft(z[..., :0], 8, window=np.ones(8)), "istft: the input cannot be empty"),
            (lambda: npg.istft(z, 8, window=np.ones(8), length=0), "istft: expected length > 0")]:
        with pytest.raises(RuntimeError, match=match):
            call()


# ------------------------------------------------------------------------------ transforms of stft / istft
def test_stft_istft_jvp_match_torch_func():
    rng = np.random.default_rng(11)
    x, tx = _data(rng, (2, 32)), _data(rng, (2, 32))
    w, tw = rng.random(8) + 0.5, rng.standard_normal(8)

    def f(lib):
        def go(x, w):
            s = lib.stft(x, 8, hop_length=2, window=w, return_complex=True)
            return lib.istft(s * s, 8, hop_length=2, window=w, length=32)
        return go
    value, tangent = npg.func.jvp(f(npg), (npg.tensor(x), npg.tensor(w)), (npg.tensor(tx), npg.tensor(tw)))
    tvalue, ttangent = torch.func.jvp(f(torch), (torch.tensor(x), torch.tensor(w)),
                                      (torch.tensor(tx), torch.tensor(tw)))
    assert_close(value, _np(tvalue)), assert_close(tangent, _np(ttangent))


def test_stft_istft_under_vmap_match_the_batched_call():
    rng = np.random.default_rng(12)
    x, w = _data(rng, (3, 2, 24)), rng.random(8) + 0.5
    with no_vmap_fallback():
        s = npg.func.vmap(lambda v: npg.stft(v, 8, window=w, return_complex=True))(npg.tensor(x))
        y = npg.func.vmap(lambda v: npg.istft(v, 8, window=w, length=24))(s)
        g = npg.func.vmap(npg.func.grad(lambda v: (abs(npg.stft(v, 8, window=w, return_complex=True)) ** 2).sum()))(
            npg.tensor(x))
    assert_close(s, npg.stft(x.reshape(6, 24), 8, window=w, return_complex=True).data.reshape(3, 2, 5, 13))
    assert_close(y, x)
    tg = torch.func.vmap(torch.func.grad(lambda v: (torch.stft(v, 8, window=torch.tensor(w), return_complex=True)
                                                    .abs() ** 2).sum()))(torch.tensor(x))
    assert_close(g, tg.numpy())


def test_complex_unfold_and_fold_gradients_match_torch():
    """(stft of a complex signal cuts its frames with unfold, istft with return_complex=True adds them with fold:
    both are linear with real coefficients, so complex gradients pass through them as they are.)"""
    rng = np.random.default_rng(13)
    z = _data(rng, (2, 11), cplx=True)
    _compare(lambda v: v.unfold(-1, 4, 3), lambda v: v.unfold(-1, 4, 3), [z], "complex Tensor.unfold")
    c = _data(rng, (1, 4, 5), cplx=True)
    _compare(lambda v: npg.nn.functional.fold(v, (1, 12), (1, 4), stride=(1, 2)),
             lambda v: torch.nn.functional.fold(v, (1, 12), (1, 4), stride=(1, 2)), [c], "complex fold")
    q = _data(rng, (1, 2, 3, 4), cplx=True)
    _compare(lambda v: npg.nn.functional.unfold(v, 2), lambda v: torch.nn.functional.unfold(v, 2), [q],
             "complex F.unfold")
