"""Resampling and padding against torch.nn.functional: F.pad's modes, conv padding_mode and the padding
layers, F.interpolate / nn.Upsample, pixel_shuffle / pixel_unshuffle, unfold / fold, grid_sample and
affine_grid. Values and gradients in float32 and float64, unbatched inputs, second derivatives
(torch.autograd.grad with create_graph=True) on a sample of options, and the errors."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def rnd(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check_fn(fn, tfn, arrays, what="", seed=1, tol=None):
    """``fn`` on npgrad tensors and ``tfn`` on torch tensors: same values, dtype and input gradients of
    ``sum(out * w)``."""
    tol = tol or {}
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    assert out.dtype == arrays[0].dtype, f"{what}: dtype {out.dtype}"
    assert_close(out, tout.detach().numpy(), what=f"{what} value", **tol)
    w = rnd(*out.shape, dtype=out.dtype, seed=seed)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, arrays[i].dtype)
        assert x.grad is not None and x.grad.dtype == x.dtype, f"{what}: grad of input {i}"
        assert_close(x.grad, expected, what=f"{what} grad of input {i}", **tol)
    return out


def check_second(fn, tfn, arrays, what="", seed=1):
    """Second derivatives, float64: d/dinputs of <d<out, w>/d inputs, v> against torch."""
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    w = rnd(*out.shape, seed=seed)
    gs = npg.autograd.grad(npg.sum(out * w), xs, create_graph=True)
    tgs = torch.autograd.grad((tout * torch.tensor(w)).sum(), ts, create_graph=True)
    vs = [rnd(*x.shape, seed=seed + 10 + i) for i, x in enumerate(xs)]
    total = sum(npg.sum(g * v) for g, v in zip(gs, vs))
    ttotal = sum((g * torch.tensor(v)).sum() for g, v in zip(tgs, vs))
    hs = npg.autograd.grad(total, xs, allow_unused=True)
    ths = torch.autograd.grad(ttotal, ts, allow_unused=True) if ttotal.requires_grad else [None] * len(ts)
    for i, (h, th) in enumerate(zip(hs, ths)):
        h = np.zeros(xs[i].shape) if h is None else h.data
        assert_close(h, np.zeros(h.shape) if th is None else th.numpy(), what=f"{what} second derivative {i}")


# ------------------------------------------------------------------------------------------- pad
PADS = {
    1: [(1, 2), (0, 3), (-1, 2), (2, -1)],
    2: [(1, 2, 0, 3), (2, 2, 2, 2), (-1, 2, 3, -2)],
    3: [(1, 0, 2, 1, 0, 2), (1, 1, 1, 1, 1, 1)],
}


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_modes(mode, n, batched, dtype):
    shape = ((2,) if batched else ()) + (3,) + (4, 5, 6)[3 - n:]
    x = rnd(*shape, dtype=dtype)
    for p in PADS[n]:
        kw = dict(value=1.5) if mode == "constant" else {}
        check_fn(lambda t: F.pad(t, p, mode=mode, **kw), lambda t: TF.pad(t, p, mode=mode, **kw), [x],
                 what=f"pad {mode} {p}")


def test_pad_constant_any_rank_and_second_derivative():
    x = rnd(2, 3, 4, 5)
    check_fn(lambda t: F.pad(t, (1, 2, 0, 1, 2, 0, 1, 1)), lambda t: TF.pad(t, (1, 2, 0, 1, 2, 0, 1, 1)), [x])
    check_fn(lambda t: F.pad(t, (1, -2)), lambda t: TF.pad(t, (1, -2)), [rnd(7)])
    for mode in ("reflect", "replicate", "circular"):
        check_second(lambda t: F.pad(t, (2, 1, 1, 3), mode=mode) ** 2,
                     lambda t: TF.pad(t, (2, 1, 1, 3), mode=mode) ** 2, [x], what=mode)


def test_pad_errors():
    x = npg.randn(2, 3, 4)
    with pytest.raises(ValueError, match="less than the size 4"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(ValueError, match="more than once"):
        F.pad(x, (5, 0), mode="circular")
    with pytest.raises(NotImplementedError, match=r"last 1, 2 or 3 dims.*\(2, 3, 4\)"):
        F.pad(x, (1, 1, 1, 1, 1, 1), mode="reflect")
    with pytest.raises(ValueError, match="doesn't take in value"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(ValueError, match="even length"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(NotImplementedError, match="'symmetric'"):
        F.pad(x, (1, 1), mode="symmetric")


# ------------------------------------------------------------------------ conv padding_mode, pad layers
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("padding", [1, (2, 1), "same", "valid"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_padding_mode(mode, dim, padding, dtype):
    if dim == 1 and isinstance(padding, tuple):
        padding = padding[0]
    cls, tcls = (nn.Conv1d, tnn.Conv1d) if dim == 1 else (nn.Conv2d, tnn.Conv2d)
    tm = tcls(3, 4, 3 if dim == 1 else (3, 4), padding=padding, padding_mode=mode, dtype=TORCH_DTYPE[dtype])
    m = cls(3, 4, 3 if dim == 1 else (3, 4), padding=padding, padding_mode=mode, dtype=dtype)
    assert repr(m) == repr(tm)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    for shape in ((2, 3) + (7, 8)[:dim], (3,) + (7, 8)[:dim]):        # batched and unbatched
        x = rnd(*shape, dtype=dtype)
        xn, xt = npg.tensor(x), torch.tensor(x, requires_grad=True)
        out, tout = m(xn), tm(xt)
        assert_close(out, tout.detach().numpy())
        w = rnd(*out.shape, dtype=dtype, seed=2)
        npg.sum(out * w).backward()
        (tout * torch.tensor(w)).sum().backward()
        assert_close(xn.grad, xt.grad.numpy())
        for (name, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert_close(p.grad, tp.grad.numpy(), what=name)
        m.zero_grad()
        tm.zero_grad()


def test_conv_padding_mode_errors():
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='only "zeros" padding mode'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


PAD_LAYERS = [("ReflectionPad{}d", (2, 1, 0, 1, 1, 2)), ("ReplicationPad{}d", 2), ("CircularPad{}d", (1, 2, 2, 0, 1, 1)),
              ("ZeroPad{}d", (1, 0, 2, 1, 1, 1)), ("ConstantPad{}d", 1)]


@pytest.mark.parametrize("name,padding", PAD_LAYERS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_padding_layers(name, padding, n):
    cls, tcls = getattr(nn, name.format(n)), getattr(tnn, name.format(n))
    p = padding if isinstance(padding, int) else padding[:2 * n]
    args = (p, 2.5) if name.startswith("Constant") else (p,)
    m, tm = cls(*args), tcls(*args)
    assert repr(m) == repr(tm) and m.padding == tm.padding
    x = rnd(*(2, 3, 4, 5, 3)[:n + 2])
    check_fn(m, tm, [x], what=name)
    check_fn(m, tm, [x[0]], what=f"{name} unbatched")


# ------------------------------------------------------------------------------------ interpolate
INTERP = [  # (mode, spatial dims, extra kwargs)
    ("nearest", 1, {}), ("nearest", 2, {}), ("nearest", 3, {}),
    ("nearest-exact", 1, {}), ("nearest-exact", 2, {}), ("nearest-exact", 3, {}),
    ("linear", 1, dict(align_corners=False)), ("linear", 1, dict(align_corners=True)),
    ("bilinear", 2, dict(align_corners=False)), ("bilinear", 2, dict(align_corners=True)),
    ("bicubic", 2, dict(align_corners=False)), ("bicubic", 2, dict(align_corners=True)),
    ("trilinear", 3, dict(align_corners=False)), ("trilinear", 3, dict(align_corners=True)),
    ("area", 1, {}), ("area", 2, {}), ("area", 3, {}),
    ("bilinear", 2, dict(antialias=True)), ("bicubic", 2, dict(antialias=True, align_corners=True)),
]
SIZES = {1: [dict(size=11), dict(size=3), dict(scale_factor=2), dict(scale_factor=0.6),
             dict(scale_factor=1.7, recompute_scale_factor=True)],
         2: [dict(size=(9, 4)), dict(size=(3, 12)), dict(scale_factor=(2, 0.5)), dict(scale_factor=1.3),
             dict(scale_factor=(0.7, 2.2), recompute_scale_factor=True)],
         3: [dict(size=(5, 2, 7)), dict(scale_factor=(2, 0.5, 1.5)), dict(scale_factor=0.8, recompute_scale_factor=True)]}


@pytest.mark.parametrize("mode,nd,kw", INTERP, ids=[f"{m}{n}d-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                                                     for m, n, kw in INTERP])
@pytest.mark.parametrize("dtype", DTYPES)
def test_interpolate(mode, nd, kw, dtype):
    x = rnd(*((2, 3) + (6, 5, 4)[:nd]), dtype=dtype)
    for sz in SIZES[nd]:
        if kw.get("antialias") and sz.get("size") in ((9, 4),):
            continue
        check_fn(lambda t: F.interpolate(t, mode=mode, **sz, **kw), lambda t: TF.interpolate(t, mode=mode, **sz, **kw),
                 [x], what=f"interpolate {mode} {sz} {kw}")


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear", "bicubic", "bilinear-aa"])
def test_interpolate_indices_and_weights_exact_over_many_sizes(mode):
    """Every output size 1..24 from every input size 1..9, by size and by scale factor: the nearest
    neighbours and the weights are PyTorch's (computed in the input's precision, its 2-D nearest kernel's
    shortcuts included)."""
    aa = mode.endswith("-aa")
    mode = mode.replace("-aa", "")
    nd = 2 if mode.startswith("bi") or mode == "nearest" else 1
    for dtype in DTYPES:
        for n_in in range(1, 10):
            x = rnd(*((1, 2) + (n_in,) * nd), dtype=dtype, seed=n_in)
            opts = [dict(size=(s,) * nd) for s in range(2 if aa else 1, 25)]
            opts += [dict(scale_factor=s) for s in (0.3, 0.5, 0.99, 1.01, 1.3, 2.0, 2.2, 1 / 3)]
            for o in opts:
                for ac in ([None] if "nearest" in mode else [False, True]):
                    try:
                        expected = TF.interpolate(torch.tensor(x), mode=mode, align_corners=ac, antialias=aa, **o)
                    except RuntimeError:       # sizes PyTorch rejects (an empty output)
                        continue
                    if aa and expected.shape[-1] == 1:
                        continue               # PyTorch's antialiased kernel mishandles width-1 outputs
                    out = F.interpolate(npg.tensor(x, requires_grad=False), mode=mode, align_corners=ac,
                                        antialias=aa, **o)
                    assert_close(out, expected.numpy(), what=f"{mode} {n_in} {o} {ac} {dtype}")


@pytest.mark.parametrize("mode,kw", [("nearest", {}), ("bilinear", dict(align_corners=False)),
                                     ("bicubic", dict(align_corners=True)), ("area", {})])
def test_interpolate_second_derivative(mode, kw):
    x = rnd(2, 2, 5, 4)
    check_second(lambda t: F.interpolate(t, size=(7, 3), mode=mode, **kw) ** 2,
                 lambda t: TF.interpolate(t, size=(7, 3), mode=mode, **kw) ** 2, [x], what=mode)


@pytest.mark.parametrize("dtype", DTYPES)
def test_upsample_modules(dtype):
    x = rnd(2, 3, 5, 4, dtype=dtype)
    for m, tm in [(nn.Upsample(scale_factor=2, mode="bilinear"), tnn.Upsample(scale_factor=2, mode="bilinear")),
                  (nn.Upsample(size=(3, 7)), tnn.Upsample(size=(3, 7))),
                  (nn.Upsample(scale_factor=(1.5, 2.5), mode="bicubic", align_corners=True),
                   tnn.Upsample(scale_factor=(1.5, 2.5), mode="bicubic", align_corners=True)),
                  (nn.UpsamplingNearest2d(scale_factor=3), tnn.UpsamplingNearest2d(scale_factor=3)),
                  (nn.UpsamplingBilinear2d(size=(8, 9)), tnn.UpsamplingBilinear2d(size=(8, 9)))]:
        assert repr(m) == repr(tm)
        check_fn(m, tm, [x], what=repr(m))
    check_fn(lambda t: F.upsample_bilinear(t, scale_factor=2), lambda t: TF.interpolate(
        t, scale_factor=2, mode="bilinear", align_corners=True), [x])


def test_interpolate_errors():
    x = npg.randn(1, 2, 4, 4)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D"):
        F.interpolate(npg.randn(1, 2, 4), size=5, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners option"):
        F.interpolate(x, size=5, align_corners=True)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=5, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match=r"spatial dimensions of \[4, 4\]"):
        F.interpolate(x, size=(1, 2, 3))
    with pytest.raises(ValueError, match="greater than 0"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(ValueError, match="anti-alias"):
        F.interpolate(x, size=2, mode="nearest", antialias=True)
    with pytest.raises(NotImplementedError, match="mode must be one of"):
        F.interpolate(x, size=2, mode="lanczos")


# ------------------------------------------------------------------------------ unfold, fold, shuffles
UNFOLD = [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2), dict(kernel_size=3, padding=1),
          dict(kernel_size=(3, 2), dilation=(2, 1), padding=(2, 1), stride=(1, 2))]


@pytest.mark.parametrize("kw", UNFOLD)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unfold_fold(kw, dtype):
    x = rnd(2, 3, 7, 8, dtype=dtype)
    cols = check_fn(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), [x], what=f"unfold {kw}")
    check_fn(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), [x[0]], what=f"unfold unbatched {kw}")
    c = rnd(*cols.shape, dtype=dtype, seed=3)
    check_fn(lambda t: F.fold(t, (7, 8), **kw), lambda t: TF.fold(t, (7, 8), **kw), [c], what=f"fold {kw}")
    check_fn(lambda t: F.fold(t, (7, 8), **kw), lambda t: TF.fold(t, (7, 8), **kw), [c[0]], what=f"fold unbatched")
    m, tm = nn.Unfold(**kw), tnn.Unfold(**kw)
    assert repr(m) == repr(tm)
    check_fn(m, tm, [x])
    m, tm = nn.Fold((7, 8), **kw), tnn.Fold((7, 8), **kw)
    assert repr(m) == repr(tm)
    check_fn(m, tm, [c])


def test_unfold_fold_second_derivative_and_errors():
    x = rnd(2, 2, 5, 6)
    check_second(lambda t: F.unfold(t, 3, padding=1, stride=2) ** 2,
                 lambda t: TF.unfold(t, 3, padding=1, stride=2) ** 2, [x])
    c = rnd(2, 8, 12)
    check_second(lambda t: F.fold(t, (4, 5), 2) ** 2, lambda t: TF.fold(t, (4, 5), 2) ** 2, [c])
    with pytest.raises(ValueError, match=r"sliding blocks is \(-1, 5\)"):
        F.unfold(npg.randn(1, 1, 2, 8), 4)
    with pytest.raises(ValueError, match="divisible by the product of kernel_size"):
        F.fold(npg.randn(1, 7, 12), (4, 5), 2)
    with pytest.raises(ValueError, match="number of sliding blocks 3 \\* 4 = 12"):
        F.fold(npg.randn(1, 8, 11), (4, 5), 2)
    with pytest.raises(ValueError, match="3-D"):
        F.unfold(npg.randn(2, 2), 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pixel_shuffle_unshuffle(dtype):
    for shape, r in (((2, 12, 3, 4), 2), ((18, 2, 3), 3), ((2, 3, 8, 2, 5), 2)):
        x = rnd(*shape, dtype=dtype)
        check_fn(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), [x], what=f"shuffle {shape}")
        y = rnd(*(shape[:-3] + (shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)), dtype=dtype)
        check_fn(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), [y], what="unshuffle")
        for m, tm, a in ((nn.PixelShuffle(r), tnn.PixelShuffle(r), x), (nn.PixelUnshuffle(r), tnn.PixelUnshuffle(r), y)):
            assert repr(m) == repr(tm)
            check_fn(m, tm, [a])
    with pytest.raises(ValueError, match=r"\(\*, C \* r\^2, H, W\).*\(2, 5, 3, 4\)"):
        F.pixel_shuffle(npg.randn(2, 5, 3, 4), 2)
    with pytest.raises(ValueError, match=r"downscale_factor = 2.*\(2, 5, 3, 4\)"):
        F.pixel_unshuffle(npg.randn(2, 5, 3, 4), 2)


# ------------------------------------------------------------------------------ grid_sample, affine_grid
def sample_grid(shape, dtype, seed=0):
    """Random locations in [-1.4, 1.4] (inside, outside, across edges), some exactly on -1, 0, 1."""
    g = np.random.default_rng(seed).uniform(-1.4, 1.4, shape)
    g.reshape(-1)[::7] = np.resize([-1.0, 1.0, 0.0], g.reshape(-1)[::7].shape)
    return g.astype(dtype)


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_grid_sample(nd, mode, padding_mode, align_corners, dtype):
    if mode == "bicubic" and nd == 3:
        with pytest.raises(ValueError, match="only supports 4-D"):
            F.grid_sample(npg.randn(1, 1, 2, 2, 2), npg.randn(1, 1, 1, 1, 3), mode="bicubic", align_corners=False)
        return
    x = rnd(*((2, 3) + (4, 5, 6)[3 - nd:]), dtype=dtype)
    g = sample_grid((2,) + (3, 4, 5)[3 - nd:] + (nd,), dtype)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_fn(lambda a, b: F.grid_sample(a, b, **kw), lambda a, b: TF.grid_sample(a, b, **kw), [x, g],
             what=f"grid_sample {kw}")


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("nd,mode", [(2, "bilinear"), (3, "bilinear"), (2, "bicubic")])
def test_grid_sample_second_derivative(padding_mode, nd, mode):
    x = rnd(*((1, 2) + (3, 4, 5)[3 - nd:]))
    g = np.random.default_rng(1).uniform(-1.3, 1.3, (1,) + (2, 3, 3)[3 - nd:] + (nd,))
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=False)
    check_second(lambda a, b: F.grid_sample(a, b, **kw) ** 2, lambda a, b: TF.grid_sample(a, b, **kw) ** 2, [x, g],
                 what=f"grid_sample {padding_mode} {nd}d")


@pytest.mark.filterwarnings("ignore:Since version 1.3.0:UserWarning")
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 6), (2, 3, 3, 4, 5)])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_grid(size, align_corners, dtype):
    nd = len(size) - 2
    theta = rnd(size[0], nd, nd + 1, dtype=dtype)
    if align_corners and min(size[2:]) == 1:
        with pytest.warns(UserWarning, match="unit-size grids"):
            F.affine_grid(npg.tensor(theta), size, align_corners=True)
    check_fn(lambda t: F.affine_grid(t, size, align_corners=align_corners),
             lambda t: TF.affine_grid(t, size, align_corners=align_corners), [theta], what=f"affine_grid {size}")


def test_spatial_transformer_second_derivative_and_errors():
    """affine_grid then grid_sample (a spatial transformer): d2 against torch through both."""
    x, theta = rnd(2, 2, 5, 6), rnd(2, 2, 3) * 0.5
    check_second(lambda a, t: F.grid_sample(a, F.affine_grid(t, (2, 2, 4, 3), align_corners=False),
                                            align_corners=False, padding_mode="border"),
                 lambda a, t: TF.grid_sample(a, TF.affine_grid(t, (2, 2, 4, 3), align_corners=False),
                                             align_corners=False, padding_mode="border"), [x, theta])
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(npg.randn(1, 2, 3), (1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"Nx2x3 for size \(2, 1, 2, 2\)"):
        F.affine_grid(npg.randn(1, 2, 3), (2, 1, 2, 2), align_corners=False)
    with pytest.raises(ValueError, match=r"grid of shape \(1, 2, 2, 3\)"):
        F.grid_sample(npg.randn(1, 1, 3, 3), npg.randn(1, 2, 2, 3), align_corners=False)
    with pytest.raises(ValueError, match="expected mode"):
        F.grid_sample(npg.randn(1, 1, 3, 3), npg.randn(1, 2, 2, 2), mode="linear", align_corners=False)
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(npg.randn(1, 1, 3, 3), npg.randn(1, 2, 2, 2), padding_mode="wrap", align_corners=False)
