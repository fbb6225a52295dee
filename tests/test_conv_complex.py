"""Complex convolutions (npgrad/ops/conv_complex.py: Gauss's three real convolutions, as PyTorch) against torch's
complex conv1d/2d/3d and conv_transpose1d/2d/3d: values, gradients of a real loss (torch's conjugate convention),
complex64 and complex128, groups / stride / padding / dilation; a real operand with a complex one (torch needs one
dtype: its oracle is the real operand cast to complex, whose gradient's real part is the real operand's); forward
mode (torch.func.jvp), second order, vmap, and nn.Conv2d with a complex dtype."""
import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg

F, TF = npg.nn.functional, torch.nn.functional
RNG = np.random.default_rng(7)


def _c(*s):
    return RNG.standard_normal(s) + 1j * RNG.standard_normal(s)


def _tol(dt):
    return 1e-10 if dt == np.complex128 else 2e-4


# name: (function name, input shape, weight shape, bias?, keyword arguments)
CASES = [
    ("conv1d", (2, 3, 9), (4, 3, 3), True, dict(padding=1)),
    ("conv1d", (3, 8), (2, 3, 2), False, dict(stride=2, dilation=2)),            # unbatched
    ("conv2d", (2, 4, 7, 6), (6, 2, 3, 3), True, dict(padding=1, stride=2, groups=2)),
    ("conv2d", (1, 3, 5, 5), (3, 1, 3, 3), False, dict(padding="same", groups=3)),  # depthwise
    ("conv3d", (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), True, dict(padding=(1, 0, 1))),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (1, 4, 4, 3), (4, 1, 3, 3), False, dict(stride=2, groups=2)),
    ("conv_transpose3d", (1, 2, 3, 3, 2), (2, 2, 2, 2, 2), True, dict()),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _weights(shape, dt):
    return np.random.default_rng(1).standard_normal(shape + (2,)).astype(np.dtype(dt).type(0).real.dtype)


def _real_loss(lib, y, g):
    re, im = (y.real, y.imag) if lib is torch else (npg.real(y), npg.imag(y))
    wr, wi = (lib.tensor(g[..., 0]), lib.tensor(g[..., 1]))
    return lib.sum(re * wr + im * wi) if lib is npg else (re * wr + im * wi).sum()


@pytest.mark.parametrize("dt", [np.complex128, np.complex64])
@pytest.mark.parametrize("kinds", ["cc", "rc", "cr"])   # input, weight: complex or real
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_complex_convolution_as_torch(case, kinds, dt):
    name, xs, ws, has_b, kw = case
    rdt = np.empty(0, dt).real.dtype
    x = _c(*xs).astype(dt) if kinds[0] == "c" else RNG.standard_normal(xs).astype(rdt)
    w = _c(*ws).astype(dt) if kinds[1] == "c" else RNG.standard_normal(ws).astype(rdt)
    nb = (ws[1] * kw.get("groups", 1)) if name.startswith("conv_transpose") else ws[0]
    b = _c(nb).astype(dt) if has_b else None
    arrays = [a for a in (x, w, b) if a is not None]
    ours = [npg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(dt), requires_grad=True) for a in arrays]   # torch: one complex dtype
    y = getattr(F, name)(*ours, **kw) if has_b else getattr(F, name)(*ours, **kw)
    ty = getattr(TF, name)(*theirs, **kw)
    assert y.dtype == dt and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=_tol(dt), atol=_tol(dt))
    g = _weights(y.shape, dt)
    _real_loss(npg, y, g).backward()
    _real_loss(torch, ty, g).backward()
    for a, o, t in zip(arrays, ours, theirs):
        want = t.grad.numpy()
        if a.dtype.kind != "c":
            assert o.grad.dtype == a.dtype
            want = want.real
        np.testing.assert_allclose(o.grad, want, rtol=_tol(dt), atol=_tol(dt))


def test_complex_conv_forward_mode_and_second_order():
    x, w = _c(2, 3, 6), _c(4, 3, 3)
    tx, tw = _c(2, 3, 6), _c(4, 3, 3)
    y, ty = npg.func.jvp(lambda a, b: F.conv1d(a, b, padding=1), (npg.tensor(x), npg.tensor(w)),
                         (npg.tensor(tx), npg.tensor(tw)))
    wy, wty = tf.jvp(lambda a, b: TF.conv1d(a, b, padding=1), (torch.tensor(x), torch.tensor(w)),
                     (torch.tensor(tx), torch.tensor(tw)))
    np.testing.assert_allclose(y.data, wy.numpy(), atol=1e-12)
    np.testing.assert_allclose(ty.data, wty.numpy(), atol=1e-12)
    # a Hessian-vector product of a real loss: the gradient with create_graph, then its gradient again
    v = _c(4, 3, 3)
    a, b = npg.tensor(x, requires_grad=True), npg.tensor(w, requires_grad=True)
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    gb, = npg.autograd.grad(npg.sum(npg.abs(F.conv1d(a, b)) ** 2), [b], create_graph=True)
    tgb, = torch.autograd.grad((TF.conv1d(ta, tb).abs() ** 2).sum(), [tb], create_graph=True)
    h, = npg.autograd.grad(npg.sum(npg.real(gb * np.conj(v))), [a])
    th, = torch.autograd.grad((tgb * torch.tensor(v).conj()).real.sum(), [ta])
    np.testing.assert_allclose(h, th.numpy(), atol=1e-10)


def test_complex_conv_under_vmap():
    xs, w = _c(3, 2, 4, 7), _c(5, 4, 3)
    got = npg.func.vmap(lambda a: F.conv1d(a, npg.tensor(w), padding=1))(npg.tensor(xs))
    want = np.stack([TF.conv1d(torch.tensor(a), torch.tensor(w), padding=1).numpy() for a in xs])
    np.testing.assert_allclose(got.data, want, atol=1e-12)


def test_complex_conv2d_module():
    m = npg.nn.Conv2d(2, 3, 3, padding=1, dtype=np.complex64)
    t = torch.nn.Conv2d(2, 3, 3, padding=1, dtype=torch.complex64)
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = _c(1, 2, 5, 4).astype(np.complex64)
    np.testing.assert_allclose(m(npg.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), atol=2e-5)
