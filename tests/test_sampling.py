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
