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
