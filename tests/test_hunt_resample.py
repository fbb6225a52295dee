"""Hunt for silent wrong answers in the resampling, padding and patch ops against torch: NaN / infinite grid
points under border and reflection padding, nearest interpolation's gradient, and a sweep of modes and arguments
that the other suites do not reach."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close

NAN, INF = np.nan, np.inf


def _grid_both(x, g, kw, w=None):
    """npgrad's and torch's grid_sample of (x, g), the leaves, and (when ``w`` is given) the gradients of
    ``sum(out * w)`` for npgrad only."""
    nx, ng = npg.tensor(x, requires_grad=True), npg.tensor(g, requires_grad=True)
    ny = F.grid_sample(nx, ng, **kw)
    ty = TF.grid_sample(torch.tensor(x), torch.tensor(g), **kw)
    if w is not None:
        (ny * npg.tensor(w)).sum().backward()
    return nx, ng, ny, ty.numpy()


# ----------------------------------------------------------------------------- grid_sample: non-finite grid points
@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # NumPy's, on inf - inf and fmod(inf, .)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_2d_nan_or_infinite_grid_point_clips_to_pixel_zero_as_torch(dtype, mode, padding_mode,
                                                                                align_corners):
    # torch's 2-D kernel clamps a NaN coordinate (a NaN grid point, or an infinite one reflected) to 0; npgrad
    # gave NaN (bilinear) or 0 (nearest, reading nothing) there
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4)).astype(dtype)
    g = np.array([[[[NAN, 0.2], [0.3, NAN], [NAN, NAN], [0.5, -0.4]]],
                  [[[INF, 0.2], [-INF, 0.3], [0.1, INF], [0.5, -INF]]]], dtype)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    _, _, ny, t = _grid_both(x, g, kw)
    assert ny.dtype == dtype
    assert_close(ny, t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_2d_nan_grid_point_gradients_are_those_of_the_clipped_location(dtype, mode, padding_mode,
                                                                                   align_corners):
    # (torch's own backward crashes on these, so the oracle is torch at the location the NaN clips to: -1, which
    # is pixel 0 or outside it, clipped to pixel 0 with a zero gradient, as the NaN component's)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 3, 4)).astype(dtype)
    g = np.array([[[[NAN, 0.2], [0.3, NAN], [NAN, NAN], [0.5, -0.4]]]], dtype)
    w = rng.standard_normal((1, 2, 1, 4)).astype(dtype)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    nx, ng, ny, _ = _grid_both(x, g, kw, w)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(np.nan_to_num(g, nan=-1.0), requires_grad=True)
    ty = TF.grid_sample(tx, tg, **kw)
    (ty * torch.tensor(w)).sum().backward()
    assert_close(ny, ty.detach().numpy())
    assert_close(nx.grad, tx.grad.numpy())
    expected = tg.grad.numpy().copy()
    expected[np.isnan(g)] = 0.0
    assert_close(ng.grad, expected)
    assert not np.isnan(ng.grad.data).any()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_2d_bicubic_non_finite_grid_point_gradients_match_torch(padding_mode, align_corners):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 3, 4))
    g = np.array([[[[NAN, 0.2], [0.3, NAN], [INF, 0.1], [0.5, -INF], [0.5, -0.4]]]])
    w = rng.standard_normal((1, 2, 1, 5))
    kw = dict(mode="bicubic", padding_mode=padding_mode, align_corners=align_corners)
    nx, ng, ny, _ = _grid_both(x, g, kw, w)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    ty = TF.grid_sample(tx, tg, **kw)
    (ty * torch.tensor(w)).sum().backward()
    assert_close(ny, ty.detach().numpy())
    assert_close(nx.grad, tx.grad.numpy())
    assert_close(ng.grad, tg.grad.numpy())


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_far_off_grid_points_read_nothing_without_warnings(mode):
    # huge coordinates must not overflow the integer cast into a valid index (zeros padding: 0 out, 0 gradient)
    x = np.random.default_rng(3).standard_normal((1, 1, 3, 4))
    g = np.array([[[[1e30, 0.0], [0.0, -1e30], [1e19, 1e19], [-9.3e18, 0.0]]]])
    kw = dict(mode=mode, padding_mode="zeros", align_corners=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nx, ng, ny, t = _grid_both(x, g, kw, np.ones((1, 1, 1, 4)))
    assert_close(ny, t)
    np.testing.assert_array_equal(nx.grad.data, np.zeros_like(x))


# ----------------------------------------------------------------------------- interpolate
@pytest.mark.parametrize("shape, size", [((2, 0, 5), 3), ((1, 0, 4, 4), (8, 8)), ((0, 0, 4, 4), (2, 3))])
def test_interpolate_area_with_no_channels_is_empty_as_torch(shape, size):
    # torch's 1-D / 2-D adaptive average pooling accepts C = 0; npgrad refused it for mode='area'
    x = np.zeros(shape)
    t = TF.interpolate(torch.tensor(x), size=size, mode="area")
    nx = npg.tensor(x, requires_grad=True)
    ny = F.interpolate(nx, size=size, mode="area")
    assert ny.shape == tuple(t.shape)
    ny.sum().backward()
    assert nx.grad.shape == shape


def test_interpolate_3d_area_with_no_channels_raises_as_torch():
    x = np.zeros((1, 0, 2, 3, 4))
    with pytest.raises(RuntimeError):
        TF.interpolate(torch.tensor(x), size=(1, 2, 3), mode="area")
    with pytest.raises(ValueError, match="interpolate: non-empty channel"):
        F.interpolate(npg.tensor(x), size=(1, 2, 3), mode="area")


def _torch_forward_matrix(f, shape, dtype):
    """The matrix of the linear map ``f`` (torch), column ``i`` the image of the ``i``-th basis input."""
    n = int(np.prod(shape))
    eye = torch.eye(n, dtype=dtype)
    return torch.stack([f(eye[i].reshape(shape)).reshape(-1) for i in range(n)], 1).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, scale", [((1, 1, 1, 2, 3), 2.3), ((1, 2, 3, 4, 5), 2.3), ((1, 1, 2, 3, 4), 1.7),
                                          ((1, 1, 7), 2.3), ((1, 1, 3, 4), 2.3)])
def test_interpolate_nearest_gradient_is_the_transpose_of_torchs_forward(dtype, shape, scale):
    # torch's own 3-D nearest backward at scale 2.3 disagrees with its forward (it picks other neighbours), so
    # the oracle is the transpose of torch's forward map, which npgrad's forward matches
    f = lambda t: TF.interpolate(t, scale_factor=scale, mode="nearest")    # noqa: E731
    M = _torch_forward_matrix(f, shape, getattr(torch, np.dtype(dtype).name))
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(dtype)
    nx = npg.tensor(x, requires_grad=True)
    ny = F.interpolate(nx, scale_factor=scale, mode="nearest")
    np.testing.assert_array_equal(ny.data, f(torch.tensor(x)).numpy())
    w = rng.standard_normal(ny.shape).astype(dtype)
    (ny * npg.tensor(w)).sum().backward()
    assert_close(nx.grad, (M.T @ w.reshape(-1)).reshape(shape))


_INTERP_CASES = [(mode, nd, ac) for mode, nds in (("nearest", (1, 2, 3)), ("nearest-exact", (1, 2, 3)), ("linear", (1,)),
                                                  ("bilinear", (2,)), ("bicubic", (2,)), ("trilinear", (3,)),
                                                  ("area", (1, 2, 3)))
                 for nd in nds for ac in ((None,) if mode in ("nearest", "nearest-exact", "area") else (None, True))]


@pytest.mark.parametrize("mode, nd, align_corners", _INTERP_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolate_sizes_and_scales_match_torch(mode, nd, align_corners, dtype):
    # output size 1, input size 1, down- and non-integer scales, tuples, recompute_scale_factor, antialias and a
    # non-contiguous (channels-last) input: values and gradients against torch
    rng = np.random.default_rng(5)
    shapes = [(2, 3) + (5, 4, 3)[:nd], (1, 2) + (1, 3, 2)[:nd]]
    kws = [dict(size=1), dict(size=(2, 7, 3)[:nd]), dict(scale_factor=1.7), dict(scale_factor=0.6),
           dict(scale_factor=(2.3, 0.6, 1.5)[:nd], recompute_scale_factor=True),
           dict(scale_factor=1.7, recompute_scale_factor=False)]
    aas = (False, True) if mode in ("bilinear", "bicubic") else (False,)
    for shape in shapes:
        x = rng.standard_normal(shape[:1] + shape[2:] + shape[1:2]).astype(dtype)
        x = np.moveaxis(x, -1, 1)                                    # channels-last memory
        for kw in kws:
            sf = kw.get("scale_factor", 1)
            if min(int(n * f) for n, f in zip(shape[2:], sf if isinstance(sf, tuple) else (sf,) * nd)) == 0:
                continue                              # an empty output (raising, or area's empty result): elsewhere
            for aa in aas:
                kw2 = dict(kw, mode=mode, align_corners=align_corners, antialias=aa)
                tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x, requires_grad=True)
                ty, ny = TF.interpolate(tx, **kw2), F.interpolate(nx, **kw2)
                assert ny.dtype == dtype
                assert_close(ny, ty.detach().numpy(), what=f"{shape} {kw2}")
                w = rng.standard_normal(ty.shape).astype(dtype)
                (ty * torch.tensor(w)).sum().backward()
                (ny * npg.tensor(w)).sum().backward()
                assert_close(nx.grad, tx.grad.numpy(), what=f"grad {shape} {kw2}")


@pytest.mark.parametrize("mode, kw", [("bilinear", dict(scale_factor=1.7)), ("bicubic", dict(scale_factor=0.6, align_corners=True)),
                                      ("bilinear", dict(size=(2, 9), antialias=True)),
                                      ("bicubic", dict(scale_factor=0.5, antialias=True))])
def test_interpolate_double_backward_matches_torch(mode, kw):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 4, 5))
    tx, nx = torch.tensor(x, requires_grad=True), npg.tensor(x, requires_grad=True)
    ty, ny = TF.interpolate(tx, mode=mode, **kw), F.interpolate(nx, mode=mode, **kw)
    w = rng.standard_normal(ty.shape)
    tw, nw = torch.tensor(w, requires_grad=True), npg.tensor(w, requires_grad=True)
    (tg,) = torch.autograd.grad((ty * tw).sum(), tx, create_graph=True)
    (ng,) = npg.autograd.grad((ny * nw).sum(), nx, create_graph=True)
    v = rng.standard_normal(x.shape)
    ((tg * torch.tensor(v)).sum() + (tg ** 2).sum()).backward()
    ((ng * npg.tensor(v)).sum() + (ng ** 2).sum()).backward()
    assert_close(nw.grad, tw.grad.numpy())


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_double_backward_matches_torch(mode, padding_mode, align_corners):
    rng = np.random.default_rng(7)
    x, g = rng.standard_normal((1, 2, 3, 4)), rng.uniform(-1.2, 1.2, (1, 3, 2, 2))
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    nx, ng = npg.tensor(x, requires_grad=True), npg.tensor(g, requires_grad=True)
    ty, ny = TF.grid_sample(tx, tg, **kw), F.grid_sample(nx, ng, **kw)
    w = rng.standard_normal(ty.shape)
    tgx, tgg = torch.autograd.grad((ty * torch.tensor(w)).sum(), (tx, tg), create_graph=True)
    ngx, ngg = npg.autograd.grad((ny * npg.tensor(w)).sum(), (nx, ng), create_graph=True)
    tdx, tdg = torch.autograd.grad((tgx ** 2).sum() + (tgg ** 2).sum(), (tx, tg), allow_unused=True)
    ndx, ndg = npg.autograd.grad((ngx ** 2).sum() + (ngg ** 2).sum(), (nx, ng), allow_unused=True)
    for a, b, like in ((ndx, tdx, x), (ndg, tdg, g)):
        assert_close(np.zeros_like(like) if a is None else a, np.zeros_like(like) if b is None else b.numpy())
