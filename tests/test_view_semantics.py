"""Every npgrad function whose NumPy counterpart returns a view: a write through its result reaches the base
exactly as in NumPy (values: NumPy is the oracle) and is differentiated as in PyTorch (gradients: PyTorch's
view op, or where PyTorch copies (flip, rot90), the same write made on the base's flat positions), or it
raises a clear error where NumPy's result is read-only (diagonal, broadcast_to, imag of a real array). Then
the complex views (real, imag, view_as_real, view_as_complex, .real/.imag and their setters), against
PyTorch: values, the base after the write, gradients, second order, forward mode and vmap.
"""
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import npgrad as npg
from npgrad import _vmap_rules
from npgrad.autograd import forward_ad as fwd
from tests.complex_helpers import CDTYPES, close, crandn

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


class Row:
    """``fn`` makes the view (one function for NumPy arrays and npgrad tensors, through NumPy's dispatch, unless
    ``np_fn`` gives NumPy's spelling of a PyTorch-named method); ``tview`` is PyTorch's equivalent view op, None
    where PyTorch copies (the oracle then writes at the view's flat positions in the base); ``read_only``:
    NumPy refuses writes into the result."""

    def __init__(self, shape, fn, tview=None, read_only=False, np_fn=None):
        self.shape, self.fn, self.tview, self.read_only = shape, fn, tview, read_only
        self.np_fn = np_fn or fn


ROWS = {
    "ravel": Row((2, 3, 4), np.ravel, torch.ravel),
    "ravel_of_transposed (NumPy copies)": Row((2, 3, 4), lambda y: np.ravel(np.swapaxes(y, 0, 1)),
                                              lambda y: torch.ravel(torch.swapaxes(y, 0, 1))),
    "squeeze": Row((2, 1, 4), np.squeeze, lambda y: y.squeeze()),
    "expand_dims": Row((2, 3), lambda y: np.expand_dims(y, 1), lambda y: y.unsqueeze(1)),
    "swapaxes": Row((2, 3, 4), lambda y: np.swapaxes(y, 0, 2), lambda y: torch.swapaxes(y, 0, 2)),
    "moveaxis": Row((2, 3, 4), lambda y: np.moveaxis(y, 0, -1), lambda y: torch.moveaxis(y, 0, -1)),
    "transpose": Row((2, 3, 4), np.transpose, lambda y: y.permute(2, 1, 0)),
    "permute_dims": Row((2, 3, 4), lambda y: np.permute_dims(y, (2, 0, 1)), lambda y: y.permute(2, 0, 1)),
    ".T": Row((3, 4), lambda y: y.T, lambda y: y.T),
    ".mT": Row((2, 3, 4), lambda y: y.mT, lambda y: y.mT),
    "matrix_transpose": Row((2, 3, 4), np.matrix_transpose, lambda y: y.mT),
    "linalg.matrix_transpose": Row((2, 3, 4), np.linalg.matrix_transpose, lambda y: y.mT),
    "flip": Row((2, 3, 4), lambda y: np.flip(y, 1)),
    "flip (all axes)": Row((2, 3, 4), np.flip),
    "fliplr": Row((3, 4), np.fliplr),
    "flipud": Row((3, 4), np.flipud),
    "rot90": Row((3, 4), np.rot90),
    "diagonal": Row((3, 4), np.diagonal, read_only=True),
    ".diagonal()": Row((3, 4), lambda y: y.diagonal(), read_only=True),
    "diag (of a matrix)": Row((3, 4), np.diag, read_only=True),
    "linalg.diagonal": Row((3, 4), np.linalg.diagonal, read_only=True),
    "broadcast_to": Row((3, 4), lambda y: np.broadcast_to(y, (2, 3, 4)), read_only=True),
    "atleast_1d": Row((4,), np.atleast_1d, torch.atleast_1d),
    "atleast_1d (0-d)": Row((), np.atleast_1d, torch.atleast_1d),
    "atleast_2d": Row((4,), np.atleast_2d, torch.atleast_2d),
    "atleast_3d": Row((3, 4), np.atleast_3d, torch.atleast_3d),
    # PyTorch refuses writes into the outputs of split/unbind (functions returning several views): its slices
    "split": Row((4, 3), lambda y: np.split(y, 2)[1], lambda y: y[2:]),
    "array_split": Row((3, 4), lambda y: np.array_split(y, 3, axis=1)[1], lambda y: y[:, 2:3]),
    "hsplit": Row((3, 4), lambda y: np.hsplit(y, 2)[0], lambda y: y[:, :2]),
    "vsplit": Row((4, 3), lambda y: np.vsplit(y, 2)[1], lambda y: y[2:]),
    "dsplit": Row((2, 3, 4), lambda y: np.dsplit(y, [1])[1], lambda y: y[:, :, 1:]),
    "unstack": Row((3, 4), lambda y: np.unstack(y, axis=1)[2], lambda y: y[:, 2]),
    "reshape": Row((2, 3, 4), lambda y: np.reshape(y, (6, 4)), lambda y: y.reshape(6, 4)),
    "reshape_of_transposed (NumPy copies)": Row((2, 3, 4), lambda y: np.reshape(y.T, (-1,)),
                                                lambda y: y.permute(2, 1, 0).reshape(-1)),
    "basic indexing": Row((2, 3, 4), lambda y: y[1, :, ::2], lambda y: y[1, :, ::2]),
    "x[...]": Row((2, 3, 4), lambda y: y[...], lambda y: y[...]),
    "x[None, 1]": Row((2, 3, 4), lambda y: y[None, 1], lambda y: y[None, 1]),
    "view of a view": Row((4, 6), lambda y: np.swapaxes(y[1:], 0, 1)[::2], lambda y: y[1:].T[::2]),
    "real (of a real tensor)": Row((3, 4), np.real, torch.real),
    ".real (of a real tensor)": Row((3, 4), lambda y: y.real, lambda y: y.real),
    "imag (of a real tensor)": Row((3, 4), np.imag, read_only=True),
    "rollaxis": Row((2, 3, 4), lambda y: np.rollaxis(y, 2), lambda y: torch.moveaxis(y, 2, 0)),
    # PyTorch-named methods (NumPy's spelling of the same view beside them)
    ".view": Row((2, 3, 4), lambda y: y.view(6, 4), lambda y: y.view(6, 4), np_fn=lambda y: y.reshape(6, 4)),
    ".permute": Row((2, 3, 4), lambda y: y.permute(1, 0, 2), lambda y: y.permute(1, 0, 2),
                    np_fn=lambda y: y.transpose(1, 0, 2)),
    ".unsqueeze": Row((2, 3), lambda y: y.unsqueeze(0), lambda y: y.unsqueeze(0), np_fn=lambda y: y[None]),
    ".chunk": Row((4, 3), lambda y: y.chunk(2)[1], lambda y: y[2:], np_fn=lambda y: np.split(y, 2)[1]),
    ".unbind": Row((3, 4), lambda y: y.unbind(1)[0], lambda y: y[:, 0], np_fn=lambda y: np.unstack(y, axis=1)[0]),
    ".expand": Row((3, 4), lambda y: y.expand(2, 3, 4), read_only=True,
                   np_fn=lambda y: np.broadcast_to(y, (2, 3, 4))),
    # PyTorch's view methods of ops/torch_views.py (its copying methods fliplr/flipud/rot90 copy, as PyTorch's:
    # tests/test_views_inplace_review.py; the npg.fliplr/flipud/rot90 functions above are NumPy's views)
    ".narrow": Row((3, 5), lambda y: y.narrow(1, -3, 2), lambda y: y.narrow(1, -3, 2), np_fn=lambda y: y[:, 2:4]),
    ".select": Row((3, 4), lambda y: y.select(-1, 1), lambda y: y.select(-1, 1), np_fn=lambda y: y[:, 1]),
    ".movedim": Row((2, 3, 4), lambda y: y.movedim(0, -1), lambda y: y.movedim(0, -1),
                    np_fn=lambda y: np.moveaxis(y, 0, -1)),
    "npg.movedim": Row((2, 3, 4), lambda y: npg.movedim(y, (0, 1), (2, 0)), lambda y: torch.movedim(y, (0, 1), (2, 0)),
                       np_fn=lambda y: np.moveaxis(y, (0, 1), (2, 0))),
    ".t()": Row((3, 4), lambda y: y.t(), lambda y: y.t(), np_fn=lambda y: y.T),
    ".t() (1-D)": Row((4,), lambda y: y.t(), lambda y: y.t(), np_fn=lambda y: y[...]),
    ".H": Row((3, 4), lambda y: y.H, lambda y: y.H, np_fn=lambda y: y.T),
    ".mH": Row((2, 3, 4), lambda y: y.mH, lambda y: y.mH, np_fn=lambda y: y.swapaxes(-1, -2)),
    ".adjoint()": Row((2, 3, 4), lambda y: y.adjoint(), lambda y: y.adjoint(), np_fn=lambda y: y.swapaxes(-1, -2)),
    ".swapdims": Row((2, 3, 4), lambda y: y.swapdims(0, 2), lambda y: y.swapdims(0, 2),
                     np_fn=lambda y: y.swapaxes(0, 2)),
    ".unflatten": Row((3, 6), lambda y: y.unflatten(1, (2, -1)), lambda y: y.unflatten(1, (2, -1)),
                      np_fn=lambda y: y.reshape(3, 2, 3)),
    ".reshape_as": Row((2, 3, 4), lambda y: y.reshape_as(npg.zeros((6, 4))),
                       lambda y: y.reshape_as(torch.zeros(6, 4)), np_fn=lambda y: y.reshape(6, 4)),
    ".unfold (windows apart)": Row((3, 8), lambda y: y.unfold(1, 2, 3), lambda y: y.unfold(1, 2, 3),
                                   np_fn=lambda y: np.lib.stride_tricks.sliding_window_view(
                                       y, 2, axis=1, writeable=True)[:, ::3]),
    ".unfold (windows touching)": Row((6, 2), lambda y: y.unfold(0, 3, 3), lambda y: y.unfold(0, 3, 3),
                                      np_fn=lambda y: y.reshape(2, 3, 2).swapaxes(1, 2)),
    ".unfold (overlapping windows: read-only)": Row(  # NumPy's sliding windows are read-only too
        (3, 5), lambda y: y.unfold(1, 3, 1), read_only=True,
        np_fn=lambda y: np.lib.stride_tricks.sliding_window_view(y, 3, axis=1)),
    ".split": Row((5, 3), lambda y: y.split(2)[1], lambda y: y[2:4], np_fn=lambda y: y[2:4]),
    ".split (sizes)": Row((3, 5), lambda y: y.split([1, 3, 1], 1)[1], lambda y: y[:, 1:4], np_fn=lambda y: y[:, 1:4]),
    ".tensor_split": Row((3, 5), lambda y: y.tensor_split(3, dim=1)[0], lambda y: y[:, :2],
                         np_fn=lambda y: np.array_split(y, 3, axis=1)[0]),
    ".hsplit": Row((3, 4), lambda y: y.hsplit([1])[1], lambda y: y[:, 1:], np_fn=lambda y: np.hsplit(y, [1])[1]),
    ".vsplit": Row((4, 3), lambda y: y.vsplit(2)[0], lambda y: y[:2], np_fn=lambda y: np.vsplit(y, 2)[0]),
    ".dsplit": Row((2, 3, 4), lambda y: y.dsplit(2)[1], lambda y: y[..., 2:], np_fn=lambda y: np.dsplit(y, 2)[1]),
}


def _values(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, shape).astype(dtype)


def _write(v, w, op):
    if op == "setitem":
        v[...] = w
    else:
        v *= w


def _torch_write(row, y, w, op, positions):
    """The write through the view, in PyTorch: returns the tensor written into (the view, or where PyTorch
    has no such view, the base's values at the view's positions after the write) and a function that reads
    the view again."""
    if row.tview is not None:
        v = row.tview(y)
        _write(v, w, op)
        return v, row.tview
    idx = torch.as_tensor(np.ascontiguousarray(positions).reshape(-1))
    flat = y.view(-1)
    flat[idx] = w.reshape(-1) if op == "setitem" else flat[idx] * w.reshape(-1)
    reread = lambda y: y.view(-1)[idx].reshape(w.shape)  # noqa: E731
    return reread(y), reread


@pytest.mark.parametrize("op", ["*=", "setitem"])
@pytest.mark.parametrize("name", list(ROWS))
def test_write_through_view_without_graph_as_numpy(name, op):
    row = ROWS[name]
    a = _values(row.shape, np.float64)
    na, x = a.copy(), npg.tensor(a.copy(), requires_grad=False)
    nv, v = row.np_fn(na), row.fn(x)
    assert isinstance(v, npg.Tensor) and v.shape == nv.shape
    w = _values(nv.shape, np.float64, seed=1)
    if row.read_only:
        with pytest.raises(ValueError):
            _write(nv, w, op)
        with pytest.raises(ValueError, match="read-only"):
            _write(v, w, op)
    else:
        _write(nv, w, op)
        _write(v, w, op)
        np.testing.assert_array_equal(v.data, nv)
    np.testing.assert_array_equal(x.data, na)  # the base: written exactly where NumPy writes, or untouched


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["*=", "setitem"])
@pytest.mark.parametrize("name", list(ROWS))
def test_write_through_view_in_graph_vs_torch(name, op, dtype):
    row = ROWS[name]
    a = _values(row.shape, dtype)
    x = npg.tensor(a)
    y = x * 1.5
    v = row.fn(y)
    wa = _values(v.shape, dtype, seed=1)
    w = npg.tensor(wa)
    if row.read_only:
        with pytest.raises(ValueError, match="read-only"):
            _write(v, w, op)
        return
    _write(v, w, op)
    rng = np.random.default_rng(2)
    cy, cv = rng.standard_normal(y.shape).astype(dtype), rng.standard_normal(v.shape).astype(dtype)
    loss = (y * cy).sum() + (row.fn(y) * cv).sum() + (v * v).sum()
    loss.backward()

    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(wa, requires_grad=True)
    ty = tx * 1.5
    positions = row.np_fn(np.arange(a.size).reshape(a.shape))
    tv, reread = _torch_write(row, ty, tw, op, positions)
    tloss = (ty * torch.tensor(cy)).sum() + (reread(ty) * torch.tensor(cv)).sum() + (tv * tv).sum()
    tloss.backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[dtype], err_msg="base after the write")
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL[dtype], err_msg="gradient of the base")
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), **TOL[dtype], err_msg="gradient of the value written")


@pytest.mark.parametrize("name", [n for n in ROWS if not ROWS[n].read_only and "copies" not in n])
def test_write_through_view_of_leaf_refuses_as_torch(name):
    row = ROWS[name]
    a = _values(row.shape, np.float64)
    x = npg.tensor(a)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        _write(row.fn(x), 2.0, "*=")
    np.testing.assert_array_equal(x.data, a)
    if row.tview is not None:
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            _write(row.tview(torch.tensor(a, requires_grad=True)), 2.0, "*=")


def test_views_numpy_gives_that_npgrad_does_not_support_refuse_clearly():
    x = npg.tensor(_values((4, 3), np.float64))
    with pytest.raises(TypeError, match="sliding_window_view"):
        np.lib.stride_tricks.sliding_window_view(x, 2, axis=0)
    with pytest.raises(RuntimeError, match="converted to a NumPy array"):
        np.lib.stride_tricks.as_strided(x, (2, 2), (8, 8))


# ------------------------------------------------------------------------------------- complex views
CROWS = {  # npgrad view, PyTorch view, NumPy view of an array (None: PyTorch's values are the oracle)
    "real": (npg.real, torch.real, np.real),
    "imag": (npg.imag, torch.imag, np.imag),
    ".real": (lambda z: z.real, lambda z: z.real, lambda z: z.real),
    ".imag": (lambda z: z.imag, lambda z: z.imag, lambda z: z.imag),
    "real of a strided slice": (lambda z: npg.real(z[1:, ::2]), lambda z: z[1:, ::2].real,
                                lambda z: z[1:, ::2].real),
    "imag of transposed": (lambda z: z.T.imag, lambda z: z.T.imag, lambda z: z.T.imag),
    "view_as_real": (npg.view_as_real, torch.view_as_real, None),
    "view_as_real of transposed, sliced": (lambda z: npg.view_as_real(z.T)[1:, :, 1],
                                           lambda z: torch.view_as_real(z.T)[1:, :, 1], None),
    "view_as_complex(view_as_real)": (lambda z: npg.view_as_complex(npg.view_as_real(z)[1:]),
                                      lambda z: torch.view_as_complex(torch.view_as_real(z)[1:]), None),
}


def _closs(lib, t, c):
    """A real loss of a real or complex tensor, nonlinear in both parts."""
    c = torch.tensor(c) if lib is torch else c
    if t.dtype.is_complex if lib is torch else t.dtype.kind == "c":
        re, im = (t.real, t.imag) if lib is torch else (npg.real(t), npg.imag(t))
        return (re * c).sum() + (im ** 2 * c).sum()
    return (t * c).sum() + (t ** 2).sum()


@pytest.mark.parametrize("op", ["*=", "setitem"])
@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", list(CROWS))
def test_complex_view_write_vs_torch(name, dtype, op):
    view, tview, npview = CROWS[name]
    rng = np.random.default_rng(0)
    a = crandn(rng, (3, 4), dtype)
    z0 = npg.tensor(a)
    z = z0 * (1.5 - 0.5j)
    v = view(z)
    assert np.shares_memory(v.data, z.data), "a view, not a copy"
    wa = crandn(rng, v.shape, v.dtype)
    w = npg.tensor(wa)
    _write(v, w, op)
    cz, cv = rng.standard_normal(z.shape), rng.standard_normal(v.shape)
    ((npg.abs(z) ** 2 * cz).sum() + _closs(npg, view(z), cv)).backward()

    tz0, tw = torch.tensor(a, requires_grad=True), torch.tensor(wa, requires_grad=True)
    tz = tz0 * (1.5 - 0.5j)
    _write(tview(tz), tw, op)
    ((tz.abs() ** 2 * torch.tensor(cz)).sum() + _closs(torch, tview(tz), cv)).backward()
    close(z, tz, f"{name}: the base after the write")
    close(z0.grad, tz0.grad, f"{name}: gradient of the base")
    close(w.grad, tw.grad, f"{name}: gradient of the value written")
    if npview is not None:  # and NumPy's view writes the same values into the same place
        na = (a * (1.5 - 0.5j)).astype(dtype)
        _write(npview(na), wa, op)
        np.testing.assert_allclose(z.data, na, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_view_as_complex_write_vs_torch(dtype):
    rng = np.random.default_rng(3)
    a, wa = rng.standard_normal((3, 4, 2)).astype(dtype), crandn(rng, (2, 4), np.result_type(dtype, 1j))
    x, w = npg.tensor(a), npg.tensor(wa)
    y = x * 2
    v = npg.view_as_complex(y[1:])
    v *= w
    ((y ** 3).sum() + npg.abs(v).sum()).backward()
    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(wa, requires_grad=True)
    ty = tx * 2
    tv = torch.view_as_complex(ty[1:])
    tv *= tw
    ((ty ** 3).sum() + tv.abs().sum()).backward()
    close(y, ty, "base")
    close(x.grad, tx.grad, "x")
    close(w.grad, tw.grad, "w")


@pytest.mark.parametrize("dtype", CDTYPES)
def test_real_imag_setters_as_numpy_and_torch(dtype):
    rng = np.random.default_rng(4)
    a, re, im = crandn(rng, (2, 3), dtype), rng.standard_normal((2, 3)), rng.standard_normal(3)
    z0, tz0 = npg.tensor(a), torch.tensor(a, requires_grad=True)
    z, tz, na = z0 * 1, tz0 * 1, a.copy()
    z.real, z.imag = npg.tensor(re, requires_grad=False) * z.imag, im
    tz.real, tz.imag = torch.tensor(re) * tz.imag, torch.tensor(im)
    na.real, na.imag = re * na.imag, im
    np.testing.assert_allclose(z.data, na, rtol=1e-6)
    (npg.abs(z) ** 2).sum().backward()
    (tz.abs() ** 2).sum().backward()
    close(z, tz, "z")
    close(z0.grad, tz0.grad, "z0")
    x, nx = npg.tensor(np.ones(3), requires_grad=False), np.ones(3)
    x.real, nx.real = 2.0, 2.0  # a real tensor is its own real part
    np.testing.assert_array_equal(x.data, nx)
    with pytest.raises(TypeError):
        nx.imag = 1.0
    with pytest.raises(TypeError, match="imag: a tensor of dtype float64 has no imaginary part"):
        x.imag = 1.0


@pytest.mark.parametrize("dtype", CDTYPES)
def test_complex_view_write_second_order_vs_torch(dtype):
    rng = np.random.default_rng(5)
    a, wa = crandn(rng, (3, 4), dtype), rng.standard_normal((4, 3)).astype(np.dtype(dtype).char.lower())

    def run(lib, z, w):
        y = z * z
        v = npg.view_as_real(y.T)[..., 1] if lib is npg else torch.view_as_real(y.T)[..., 1]
        v *= w
        return (abs(y) ** 2).sum() + (v ** 3).sum()
    z, w = npg.tensor(a), npg.tensor(wa)
    tz, tw = torch.tensor(a, requires_grad=True), torch.tensor(wa, requires_grad=True)
    gz, gw = npg.autograd.grad(run(npg, z, w), (z, w), create_graph=True)
    tgz, tgw = torch.autograd.grad(run(torch, tz, tw), (tz, tw), create_graph=True)
    hz, hw = npg.autograd.grad((abs(gz) ** 2).sum() + (gw ** 2).sum(), (z, w))
    thz, thw = torch.autograd.grad((tgz.abs() ** 2).sum() + (tgw ** 2).sum(), (tz, tw))
    for got, want, what in ((gz, tgz, "dz"), (gw, tgw, "dw"), (hz, thz, "d2z"), (hw, thw, "d2w")):
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=2e-3 if dtype == np.complex64 else 1e-9,
                                   atol=1e-3 if dtype == np.complex64 else 1e-9, err_msg=what)


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", ["real", "imag", "view_as_real", "view_as_real of transposed, sliced"])
def test_complex_view_write_forward_mode_vs_torch(name, dtype):
    view, tview, _ = CROWS[name]
    rng = np.random.default_rng(6)
    a, ta = crandn(rng, (3, 4), dtype), crandn(rng, (3, 4), dtype)
    rdt = np.dtype(dtype).char.lower()
    wshape = view(npg.tensor(a, requires_grad=False)).shape
    wa, twa = rng.standard_normal(wshape).astype(rdt), rng.standard_normal(wshape).astype(rdt)
    with fwd.dual_level():
        z = fwd.make_dual(npg.tensor(a, requires_grad=False), npg.tensor(ta, requires_grad=False))
        w = fwd.make_dual(npg.tensor(wa, requires_grad=False), npg.tensor(twa, requires_grad=False))
        y = z * z
        v = view(y)
        v *= w
        out, vout = fwd.unpack_dual(y * 1.0), fwd.unpack_dual(v)
        y2 = z * 1
        view(y2)[...] = 2.0  # a constant written: zero tangent inside the view
        out2 = fwd.unpack_dual(y2)
    with tfw.dual_level():
        z = tfw.make_dual(torch.tensor(a), torch.tensor(ta))
        w = tfw.make_dual(torch.tensor(wa), torch.tensor(twa))
        y = z * z
        v = tview(y)
        v *= w
        tout, tvout = tfw.unpack_dual(y * 1.0), tfw.unpack_dual(v)
        y2 = z * 1
        tview(y2)[...] = 2.0
        tout2 = tfw.unpack_dual(y2)
    for got, want, what in ((out, tout, "y"), (vout, tvout, "view"), (out2, tout2, "constant written")):
        close(got.primal, want.primal, f"{what}: primal")
        close(got.tangent, want.tangent, f"{what}: tangent")


def test_complex_view_write_under_vmap_vs_torch():
    rng = np.random.default_rng(7)
    a = crandn(rng, (5, 3), np.complex128)

    def f(lib):
        def body(z):
            y = z * 2
            (npg.view_as_real(y) if lib is npg else torch.view_as_real(y))[..., 1] *= 3
            (npg.real(y) if lib is npg else y.real)[0] = 1.0
            return abs(y) ** 2
        return body
    with warnings.catch_warnings():  # (today vmap runs in-place writes into batched views as a loop, and says so)
        warnings.simplefilter("ignore", _vmap_rules.VmapFallbackWarning)
        got = npg.func.vmap(f(npg))(npg.tensor(a, requires_grad=False))
        g = npg.func.vmap(npg.func.grad(lambda z: f(npg)(z).sum()))(npg.tensor(a, requires_grad=False))
    close(got, torch.vmap(f(torch))(torch.tensor(a)), "vmap")
    close(g, torch.vmap(torch.func.grad(lambda z: f(torch)(z).sum()))(torch.tensor(a)), "vmap of grad")
    close(npg.func.vmap(npg.view_as_real)(npg.tensor(a, requires_grad=False)),
          torch.vmap(torch.view_as_real)(torch.tensor(a)), "vmap(view_as_real)")


@pytest.mark.parametrize("shape", [(), (0, 3), (2, 0)])
def test_complex_views_of_0d_and_empty_tensors_vs_torch(shape):
    rng = np.random.default_rng(8)
    a = crandn(rng, shape, np.complex128)
    for view, tview, _ in (CROWS["real"], CROWS["view_as_real"]):
        z0, tz0 = npg.tensor(a), torch.tensor(a, requires_grad=True)
        z, tz = z0 * 1j, tz0 * 1j
        v, tv = view(z), tview(tz)
        v += 2.0
        tv += 2.0
        (npg.abs(z) ** 2).sum().backward()
        (tz.abs() ** 2).sum().backward()
        assert v.shape == tuple(tv.shape)
        close(z, tz, f"{shape}: z")
        close(z0.grad, tz0.grad, f"{shape}: gradient")


def test_view_as_complex_refuses_the_layouts_torch_refuses():
    bad = {
        "stride 1": lambda lib: lib.zeros((2, 3)).T,
        "divisible by 2": lambda lib: lib.zeros((3, 3))[:, :2],
        "offset": lambda lib: lib.zeros(10)[1:5].reshape(2, 2),
    }
    for why, make in bad.items():
        with pytest.raises(RuntimeError):
            torch.view_as_complex(make(torch))
        with pytest.raises(ValueError, match=f"view_as_complex: a tensor of shape .* has no complex view: .*{why}"):
            npg.view_as_complex(make(npg))
        x = make(npg).contiguous().clone()  # what PyTorch's users do
        assert np.array_equal(npg.view_as_complex(x).data, torch.view_as_complex(make(torch).contiguous().clone()))
    ok = npg.zeros(10)[2:6].reshape(2, 2)  # an even offset, as PyTorch accepts
    assert np.shares_memory(npg.view_as_complex(ok).data, ok.data)
    with pytest.raises(ValueError, match="view_as_complex: the last dimension must have size 2"):
        npg.view_as_complex(npg.zeros(()))
    with pytest.raises(TypeError, match="view_as_real: expected a complex tensor"):
        npg.view_as_real(npg.zeros(3))


def test_complex_views_of_leaves_no_grad_and_versions_as_torch():
    a = np.array([[1 + 2j, -3 + 0.5j], [0.5 - 1j, 2j]])
    z, tz = npg.tensor(a), torch.tensor(a, requires_grad=True)
    for view, tview, _ in CROWS.values():
        with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
            view(z)[...] = 1.0
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            tview(tz)[...] = 1.0
    with npg.no_grad():  # allowed under no_grad, as in PyTorch: the leaf's value changes
        npg.view_as_real(z)[0, 1, 1] = 7.0
    with torch.no_grad():
        torch.view_as_real(tz)[0, 1, 1] = 7.0
    close(z, tz, "write under no_grad")
    y = z * 1
    with npg.no_grad():  # a view made under no_grad, written with grad mode on: refused (PyTorch too)
        v = npg.real(y)
    with pytest.raises(RuntimeError, match="created under no_grad"):
        v[0] = 1.0
    y, ty = z * 1, tz * 1
    s, ts = y * y, ty * ty  # mul saves y; a write through its real view bumps the shared version
    y.real[0, 1] = 0.0
    ty.real[0, 1] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ts.abs().sum().backward()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        npg.abs(s).sum().backward()


def test_view_read_after_a_write_into_the_base_vs_torch():
    a = np.array([[1 + 2j, -3 + 0.5j], [0.25 - 1j, 2 + 2j]])
    z0, tz0 = npg.tensor(a), torch.tensor(a, requires_grad=True)
    z, tz = z0 * 1, tz0 * 1
    r, i, tr, ti = npg.real(z), npg.view_as_real(z)[..., 1], tz.real, torch.view_as_real(tz)[..., 1]
    z *= 2j  # written through the base: the views see the new values, and differentiate them
    tz *= 2j
    i[0] = 5.0
    ti[0] = 5.0
    ((r ** 2).sum() + (i ** 3).sum() + npg.abs(z).sum()).backward()
    ((tr ** 2).sum() + (ti ** 3).sum() + tz.abs().sum()).backward()
    close(r, tr, "real view after the write")
    close(z, tz, "z")
    close(z0.grad, tz0.grad, "gradient")


def test_complex_views_under_jacrev_jacfwd_hessian_and_vmap_vs_torch():
    a = np.random.default_rng(9).standard_normal((4, 3, 2))

    def f(lib):
        if lib is npg:
            return lambda x: npg.view_as_real(npg.view_as_complex(x) * (1 + 2j)).T ** 2
        return lambda x: torch.view_as_real(torch.view_as_complex(x) * (1 + 2j)).T ** 2
    for name in ("jacrev", "jacfwd", "hessian"):
        def make(lib, name=name):
            fl = f(lib) if name != "hessian" else (lambda x, g=f(lib): (g(x) ** 2).sum())
            return getattr(lib.func, name)(fl)
        got = npg.func.vmap(make(npg))(npg.tensor(a, requires_grad=False))
        close(got, torch.vmap(make(torch))(torch.tensor(a)), name)


def test_diagonal_is_numpys_read_only_view_and_differentiates_later_writes_as_torch():
    a = np.arange(12.0).reshape(3, 4)
    x = npg.tensor(a.copy(), requires_grad=False)
    for d, ref in ((np.diagonal(x), np.diagonal(a)), (x.diagonal(1), a.diagonal(1)),
                   (npg.diagonal(x, -1), np.diagonal(a, -1)), (np.diag(x), np.diag(a))):
        assert np.shares_memory(d.data, x.data) and np.array_equal(d.data, ref)
    d = np.diagonal(x)
    x[1, 1] = -7.0                                       # NumPy's view shows a later write into its base
    assert d.data[1] == -7.0
    with pytest.raises(ValueError, match="read-only"):   # and refuses writes through it, as NumPy
        d += 1
    # a gradient through the diagonal read after a write into the base reaches the written value (torch's view)
    w0, c = np.array(2.0), np.array([1.0, 2.0, 3.0])
    xl, w = npg.tensor(a[:, :3].copy()), npg.tensor(w0)
    y = xl * 1
    dd = y.diagonal()
    y[0, 0] = w * 5
    (dd * c).sum().backward()
    xt, wt = torch.tensor(a[:, :3].copy(), requires_grad=True), torch.tensor(w0, requires_grad=True)
    yt = xt * 1
    dt = yt.diagonal()
    yt[0, 0] = wt * 5
    (dt * torch.tensor(c)).sum().backward()
    np.testing.assert_array_equal(xl.grad, xt.grad.numpy())
    assert w.grad == wt.grad.item()
