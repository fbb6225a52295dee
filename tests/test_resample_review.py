"""Adversarial review of the resampling, embedding and padding ops of ``npgrad.nn.functional`` against
``torch.nn.functional``: negative (cropping) pads, empty dims, pads longer than what is left."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close


def _both_pad(x, pad, mode):
    """npgrad's and torch's ``pad`` of ``x`` with the gradients of ``sum(out * w)``."""
    nx, tx = npg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ny, ty = F.pad(nx, pad, mode=mode), TF.pad(tx, pad, mode=mode)
    return nx, tx, ny, ty


@pytest.mark.parametrize("shape, pad", [((3, 3, 3), (2, -5)), ((3, 2), (1, -3)), ((1, 3, 3, 2), (1, -3, 3, -2)),
                                        ((2, 2, 4), (-6, 2))])
def test_circular_pad_cropping_past_the_dim_to_an_empty_output(shape, pad):
    # the crop removes more than the dim holds, but the output size is 0: PyTorch returns an empty tensor
    x = np.random.default_rng(0).standard_normal(shape)
    nx, tx, ny, ty = _both_pad(x, pad, "circular")
    assert ny.shape == tuple(ty.shape)
    ny.sum().backward()
    ty.sum().backward()
    assert_close(nx.grad, tx.grad.numpy())


@pytest.mark.parametrize("shape, pad", [((4, 4), (2, -5)), ((3, 4), (-2, 3)), ((2, 2), (-1, 2)), ((3, 1, 4), (4, -2)),
                                        ((1, 4, 3), (-1, 3, 4, 3)), ((3, 4), (-4, 4)), ((2, 3, 3), (2, -4))])
def test_circular_pad_longer_than_what_the_crop_leaves_raises(shape, pad):
    # PyTorch copies the wrapped part from the output itself, overlapping it: it raises, returns uninitialized
    # memory or a gradient that ignores the overlap, so there is no answer to give
    x = np.random.default_rng(0).standard_normal(shape)
    with pytest.raises(ValueError, match=r"pad: circular"):
        F.pad(npg.tensor(x), pad, mode="circular")


@pytest.mark.parametrize("shape, pad", [((5, 4), (-2, 2)), ((3, 4), (3, -1)), ((2, 3, 5), (-1, 4, 2, 0)),
                                        ((1, 2, 3, 4, 5), (1, -2, -1, 2, 1, -1))])
def test_circular_pad_with_cropping_within_what_is_left_matches_torch(shape, pad):
    x = np.random.default_rng(1).standard_normal(shape)
    nx, tx, ny, ty = _both_pad(x, pad, "circular")
    assert_close(ny, ty.detach().numpy())
    w = np.random.default_rng(2).standard_normal(ty.shape)
    (ny * npg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(nx.grad, tx.grad.numpy())


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("shape, pad", [((0, 3), (1, 1)), ((2, 0, 3), (1, 1)), ((0, 2, 3), (1, 1, 1, 1)),
                                        ((2, 0, 3, 3), (0, 0, 0, 0)), ((0, 3, 3, 3), (1, 1, 1, 1, 1, 1))])
def test_reflect_replicate_pad_refuse_an_empty_channel_dim(mode, shape, pad):
    # PyTorch: "tensor with possibly 0 batch size and other non-zero dimensions"
    x = np.zeros(shape)
    with pytest.raises(RuntimeError):
        TF.pad(torch.tensor(x), pad, mode=mode)
    with pytest.raises(ValueError, match=r"pad: .*non-zero"):
        F.pad(npg.tensor(x), pad, mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_empty_batch_matches_torch(mode):
    x = np.zeros((0, 2, 3, 4))
    nx, tx, ny, ty = _both_pad(x, (1, 2, -1, 1), mode)
    assert ny.shape == tuple(ty.shape)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("shape, pad", [((1, 2, 3, 3), (-3, 0, 0, -3)), ((3, 4, 2), (-3, 1, -3, -1)),
                                        ((1, 2, 3, 3, 3), (-3, 0, -1, -2, 0, -3))])
def test_reflect_replicate_pad_refuse_an_output_empty_along_every_padded_dim(mode, shape, pad):
    x = np.zeros(shape)
    with pytest.raises(RuntimeError):
        TF.pad(torch.tensor(x), pad, mode=mode)
    with pytest.raises(ValueError, match=r"pad: padding .* output size of 0"):
        F.pad(npg.tensor(x), pad, mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_reflect_replicate_pad_empty_along_some_padded_dims_matches_torch(mode):
    x = np.zeros((1, 2, 3, 3, 3))
    for pad in [(-3, 0, 0, 0, 0, 0), (-3, 0, 0, -3, 0, 0), (0, 0, 1, 1, -3, 0)]:
        assert F.pad(npg.tensor(x), pad, mode=mode).shape == tuple(TF.pad(torch.tensor(x), pad, mode=mode).shape)


# ------------------------------------------------------------------------------ embedding, embedding_bag
def test_embedding_sparse_with_scale_grad_by_freq_refuses_the_backward_as_torch():
    W = np.random.default_rng(0).standard_normal((4, 3))
    idx = np.array([[0, 0], [2, 1]])
    tw = torch.tensor(W, requires_grad=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        TF.embedding(torch.tensor(idx), tw, scale_grad_by_freq=True, sparse=True).sum().backward()
    nw = npg.tensor(W, requires_grad=True)
    y = F.embedding(npg.tensor(idx), nw, scale_grad_by_freq=True, sparse=True)
    assert_close(y, W[idx])                       # the forward is fine, as in torch
    with pytest.raises(RuntimeError, match="embedding: scale_grad_by_freq not supported with sparse"):
        y.sum().backward()


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_sparse_with_scale_grad_by_freq_refuses_the_backward_as_torch(mode):
    W = np.random.default_rng(0).standard_normal((4, 3))
    idx = np.array([[0, 0], [2, 1]])
    tw = torch.tensor(W, requires_grad=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        TF.embedding_bag(torch.tensor(idx), tw, mode=mode, scale_grad_by_freq=True, sparse=True).sum().backward()
    nw = npg.tensor(W, requires_grad=True)
    y = F.embedding_bag(npg.tensor(idx), nw, mode=mode, scale_grad_by_freq=True, sparse=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        y.sum().backward()


@pytest.mark.parametrize("kw, msg", [(dict(scale_grad_by_freq=True), "scaling the gradient"),
                                     (dict(sparse=True), "sparse weights")])
def test_embedding_bag_max_mode_refuses_scale_grad_by_freq_and_sparse(kw, msg):
    W = np.random.default_rng(0).standard_normal((4, 3))
    idx = np.array([[0, 1], [2, 1]])
    with pytest.raises(ValueError, match=msg):
        TF.embedding_bag(torch.tensor(idx), torch.tensor(W), mode="max", **kw)
    with pytest.raises(ValueError, match=f"embedding_bag: max mode does not support {msg}"):
        F.embedding_bag(npg.tensor(idx), npg.tensor(W), mode="max", **kw)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("idx, offsets", [([1, 1, 2, 5, 0], [0, 1, 3]), ([1, 2, 2], [0, 1, 2]), ([3, 4], [0, 0]),
                                          ([0, 1, 2, 3], [0, 2, 4])])
def test_embedding_bag_include_last_offset_last_bag_runs_to_the_end_as_torch(mode, idx, offsets):
    # PyTorch drops the last offset and ends the last bag with the input, whatever that offset says
    W = np.random.default_rng(0).standard_normal((6, 3))
    tw, nw = torch.tensor(W, requires_grad=True), npg.tensor(W, requires_grad=True)
    ty = TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(offsets), mode=mode, include_last_offset=True)
    ny = F.embedding_bag(npg.tensor(np.array(idx)), nw, npg.tensor(np.array(offsets)), mode=mode,
                         include_last_offset=True)
    assert_close(ny, ty.detach().numpy())
    w = np.random.default_rng(1).standard_normal(ty.shape)
    (ty * torch.tensor(w)).sum().backward()
    (ny * npg.tensor(w)).sum().backward()
    assert_close(nw.grad, tw.grad.numpy())


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_of_no_entries_still_has_a_zero_gradient(mode):
    W = np.random.default_rng(0).standard_normal((3, 2))
    tw, nw = torch.tensor(W, requires_grad=True), npg.tensor(W, requires_grad=True)
    ty = TF.embedding_bag(torch.tensor(np.zeros(0, np.int64)), tw, torch.tensor([0, 0]), mode=mode)
    ny = F.embedding_bag(npg.tensor(np.zeros(0, np.int64)), nw, npg.tensor(np.array([0, 0])), mode=mode)
    assert_close(ny, ty.detach().numpy())
    ty.sum().backward()
    ny.sum().backward()
    assert_close(nw.grad, tw.grad.numpy())


# ------------------------------------------------------------------------------ one_hot
@pytest.mark.parametrize("x, num_classes", [([1], -2), ([0, 2], -5), ([], 0), ([], -3), ([[]], 0)])
def test_one_hot_refuses_what_torch_refuses(x, num_classes):
    # only -1 infers the number of classes; another negative one is out of range, and an empty input with a
    # non-positive number of classes is refused
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(x, dtype=torch.long), num_classes)
    with pytest.raises((ValueError, IndexError), match="one_hot"):
        F.one_hot(npg.tensor(np.array(x, dtype=np.int64)), num_classes)


@pytest.mark.parametrize("x, num_classes", [([], 3), ([[]], 2), ([0, 3, 1], -1), ([2], 3)])
def test_one_hot_matches_torch(x, num_classes):
    t = TF.one_hot(torch.tensor(x, dtype=torch.long), num_classes)
    n = F.one_hot(npg.tensor(np.array(x, dtype=np.int64)), num_classes)
    assert n.dtype == np.int64
    np.testing.assert_array_equal(n.data, t.numpy())
    assert n.shape == tuple(t.shape)


# ------------------------------------------------------------------------------ affine_grid
@pytest.mark.parametrize("size", [(0, 2, 3, 4), (1, 0, 3, 4), (0, 1, 2, 2, 2), (2, 0, 1, 1, 1)])
def test_affine_grid_refuses_an_empty_batch_or_channel_size(size):
    nd = len(size) - 2
    theta = np.zeros((size[0], nd, nd + 1))
    with pytest.raises(ValueError, match="non-zero, positive output size"):
        TF.affine_grid(torch.tensor(theta), size, align_corners=False)
    with pytest.raises(ValueError, match="affine_grid: expected non-zero, positive output size"):
        F.affine_grid(npg.tensor(theta), size, align_corners=False)


# ------------------------------------------------------------------------------ unfold, fold
@pytest.mark.parametrize("shape", [(1, 0, 4, 4), (0, 4, 4), (2, 0, 4), (1, 2, 0, 4), (1, 2, 3, 0)])
def test_unfold_refuses_an_empty_non_batch_dim(shape):
    # even when the padding would make blocks out of nothing, PyTorch refuses
    with pytest.raises(RuntimeError, match="non-zero"):
        TF.unfold(torch.zeros(shape), 2, padding=1)
    with pytest.raises(ValueError, match="unfold: .*non-zero"):
        F.unfold(npg.zeros(shape), 2, padding=1)


@pytest.mark.parametrize("shape", [(1, 0, 9), (0, 9), (0, 0, 9)])
def test_fold_refuses_an_empty_non_batch_dim(shape):
    with pytest.raises(RuntimeError, match="non-zero"):
        TF.fold(torch.zeros(shape), (4, 4), 2)
    with pytest.raises(ValueError, match="fold: .*non-zero"):
        F.fold(npg.zeros(shape), (4, 4), 2)


def test_unfold_fold_with_an_empty_batch_match_torch():
    x = np.zeros((0, 2, 4, 4))
    assert F.unfold(npg.tensor(x), 2, padding=1).shape == tuple(TF.unfold(torch.tensor(x), 2, padding=1).shape)
    c = np.zeros((0, 8, 9))
    assert F.fold(npg.tensor(c), (4, 4), 2).shape == tuple(TF.fold(torch.tensor(c), (4, 4), 2).shape)


def test_embedding_bag_refuses_2d_offsets():
    W, idx, off = np.zeros((4, 3)), np.zeros(3, np.int64), np.zeros((1, 1), np.int64)
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        TF.embedding_bag(torch.tensor(idx), torch.tensor(W), torch.tensor(off))
    with pytest.raises(ValueError, match="embedding_bag: offsets has to be a 1D Tensor"):
        F.embedding_bag(npg.tensor(idx), npg.tensor(W), npg.tensor(off))


# ------------------------------------------------------------------------------ interpolate
@pytest.mark.parametrize("shape, kw", [((1, 2, 3, 4), dict(size=(0, 2))), ((1, 2, 3), dict(size=0)),
                                       ((1, 2, 2, 2, 2), dict(scale_factor=0.4)),
                                       ((2, 3, 1, 5), dict(scale_factor=0.5))])
def test_interpolate_area_to_an_empty_size_is_empty_as_torch(shape, kw):
    # 'area' is adaptive average pooling, which PyTorch lets produce an empty output (its backward refuses an
    # empty gradient; npgrad gives the input the zero gradient that an output of no entries has)
    x = np.random.default_rng(0).standard_normal(shape)
    nx = npg.tensor(x, requires_grad=True)
    ty, ny = TF.interpolate(torch.tensor(x), mode="area", **kw), F.interpolate(nx, mode="area", **kw)
    assert ny.shape == tuple(ty.shape)
    (ny.sum() + nx.sum()).backward()
    assert_close(nx.grad, np.ones(shape))


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolate_other_modes_to_an_empty_size_raise_as_torch(mode):
    x = np.zeros((1, 2, 3, 4))
    with pytest.raises(RuntimeError):
        TF.interpolate(torch.tensor(x), size=(0, 2), mode=mode)
    with pytest.raises(ValueError, match="interpolate: input and output sizes should be greater than 0"):
        F.interpolate(npg.tensor(x), size=(0, 2), mode=mode)


# ------------------------------------------------------------------------------ grid_sample
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_nearest_value_does_not_depend_on_the_grid_requiring_grad(padding_mode):
    # the grid's (zero) gradient in nearest mode must not leak a non-finite grid into the values
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    g = np.array([[[[np.nan, 0.0], [0.0, np.inf], [-np.inf, 0.5], [0.2, 0.3]]]])
    kw = dict(mode="nearest", padding_mode=padding_mode, align_corners=False)
    plain = F.grid_sample(npg.tensor(x, requires_grad=False), npg.tensor(g, requires_grad=False), **kw)
    gg = npg.tensor(g, requires_grad=True)
    tracked = F.grid_sample(npg.tensor(x), gg, **kw)
    np.testing.assert_array_equal(tracked.data, plain.data)
    tracked.sum().backward()
    np.testing.assert_array_equal(gg.grad.data, np.zeros_like(g))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_grid_sample_nearest_zeros_padding_of_a_non_finite_grid_point_matches_torch():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    g = np.array([[[[np.nan, 0.0], [0.0, np.inf], [-np.inf, 0.5], [0.2, 0.3]]]])
    kw = dict(mode="nearest", padding_mode="zeros", align_corners=False)
    t = TF.grid_sample(torch.tensor(x), torch.tensor(g), **kw).numpy()
    assert_close(F.grid_sample(npg.tensor(x), npg.tensor(g, requires_grad=True), **kw), t)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grid_sample_zeros_padding_non_finite_grid_point_gradients_match_torch(mode, dtype):
    # the output is NaN there, as PyTorch's, but the pixels read in place of the missing taps get no NaN gradient
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 3, 4)).astype(dtype)
    g = np.array([[[[np.nan, 0.0], [0.0, np.inf], [-np.inf, 0.5], [0.2, 0.3]]]], dtype=dtype)
    kw = dict(mode=mode, padding_mode="zeros", align_corners=False)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    nx, ng = npg.tensor(x, requires_grad=True), npg.tensor(g, requires_grad=True)
    ty, ny = TF.grid_sample(tx, tg, **kw), F.grid_sample(nx, ng, **kw)
    assert_close(ny, ty.detach().numpy())
    w = rng.standard_normal(ty.shape).astype(dtype)
    (ty * torch.tensor(w)).sum().backward()
    (ny * npg.tensor(w)).sum().backward()
    assert_close(nx.grad, tx.grad.numpy())
    assert_close(ng.grad, tg.grad.numpy())


@pytest.mark.parametrize("dtype, value", [(np.uint8, 300), (np.uint8, -1), (np.uint8, -0.5), (np.int8, 127.9),
                                          (np.int32, 2 ** 31), (np.int64, float("nan")), (np.float32, 1e40),
                                          (np.float16, 70000.0)])
def test_constant_pad_refuses_a_value_the_dtype_cannot_hold(dtype, value):
    # NumPy would wrap 300 to 44 in uint8 or overflow to inf in float32; PyTorch refuses
    x = np.ones((2, 3), dtype)
    with pytest.raises(RuntimeError, match="without overflow"):
        TF.pad(torch.tensor(x), (1, 1), value=value)
    with pytest.raises(ValueError, match="pad: value .* cannot be converted to .* without overflow"):
        F.pad(npg.tensor(x), (1, 1), value=value)


@pytest.mark.parametrize("dtype, value", [(np.int64, 1.5), (np.int64, -2.7), (np.uint8, 255), (np.bool_, 0.5),
                                          (np.float32, float("inf")), (np.float32, float("nan")), (np.int8, -128)])
def test_constant_pad_value_conversion_matches_torch(dtype, value):
    x = np.ones((2, 3), dtype)
    t = TF.pad(torch.tensor(x), (1, 2), value=value)
    n = F.pad(npg.tensor(x), (1, 2), value=value)
    assert n.dtype == dtype
    np.testing.assert_array_equal(n.data, t.numpy())


@pytest.mark.parametrize("norm_type", [0.0, -np.inf, np.inf, -1.0, 1.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.4, 1.5, 2.5])
def test_embedding_max_norm_with_any_norm_type_renormalizes_as_torch(norm_type, max_norm):
    # 0 counts the nonzero entries, -inf takes the smallest magnitude, as torch.norm
    W = np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [0.7, 0.6, -0.9]])
    idx = np.array([[0, 1], [2, 3]])
    tw, nw = torch.tensor(W.copy()), npg.tensor(W.copy(), requires_grad=False)
    t = TF.embedding(torch.tensor(idx), tw, max_norm=max_norm, norm_type=norm_type)
    n = F.embedding(npg.tensor(idx), nw, max_norm=max_norm, norm_type=norm_type)
    assert_close(n, t.numpy())
    assert_close(nw, tw.numpy())
    tw, nw = torch.tensor(W.copy()), npg.tensor(W.copy(), requires_grad=False)
    t = TF.embedding_bag(torch.tensor(idx), tw, max_norm=max_norm, norm_type=norm_type, mode="sum")
    n = F.embedding_bag(npg.tensor(idx), nw, max_norm=max_norm, norm_type=norm_type, mode="sum")
    assert_close(n, t.numpy())
    assert_close(nw, tw.numpy())


# ------------------------------------------------------------------------------ drawn configurations
@settings(max_examples=20, deadline=None, derandomize=True)
@given(size=st.integers(1, 5), lo=st.integers(-6, 6), hi=st.integers(-6, 6), other=st.integers(1, 4))
def test_circular_pad_drawn_widths_match_torch_or_raise(size, lo, hi, other):
    """Within PyTorch's checks, a circular pad either matches it (values and gradients) or, when a width is
    longer than what the crop leaves (where PyTorch reads its own unwritten output), raises."""
    x = np.random.default_rng(size * 100 + lo * 10 + hi).standard_normal((2, other, size))
    out_n, left = size + lo + hi, size + min(lo, 0) + min(hi, 0)
    if lo > size or hi > size or out_n < 0:
        with pytest.raises(ValueError, match="pad"):
            F.pad(npg.tensor(x), (lo, hi), mode="circular")
        return
    if out_n > 0 and max(lo, hi, 0) > left:
        with pytest.raises(ValueError, match="pad: circular"):
            F.pad(npg.tensor(x), (lo, hi), mode="circular")
        return
    nx, tx, ny, ty = _both_pad(x, (lo, hi), "circular")
    assert ny.shape == tuple(ty.shape)
    if ty.numel():
        assert_close(ny, ty.detach().numpy())
        w = np.random.default_rng(1).standard_normal(ty.shape)
        (ny * npg.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        assert_close(nx.grad, tx.grad.numpy())


@settings(max_examples=20, deadline=None, derandomize=True)
@given(mode=st.sampled_from(["bilinear", "nearest", "bicubic"]),
       padding_mode=st.sampled_from(["zeros", "border", "reflection"]), align_corners=st.booleans(),
       h=st.integers(1, 4), w=st.integers(1, 4), data=st.data())
def test_grid_sample_on_pixel_centres_and_edges_matches_torch(mode, padding_mode, align_corners, h, w, data):
    """Grid points exactly on pixel centres and edges (and beyond [-1, 1]): values and both gradients."""
    rng = np.random.default_rng(h * 10 + w)
    x = rng.standard_normal((1, 2, h, w))
    coords = []
    for n in (w, h):
        k = np.array(data.draw(st.lists(st.integers(-2 * n - 2, 2 * n + 2), min_size=6, max_size=6)))
        coords.append(k / max(n - 1, 1) - 1 if align_corners else k / n - 1)
    g = np.stack(coords, -1).reshape(1, 2, 3, 2)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    nx, ng = npg.tensor(x, requires_grad=True), npg.tensor(g, requires_grad=True)
    ty, ny = TF.grid_sample(tx, tg, **kw), F.grid_sample(nx, ng, **kw)
    assert_close(ny, ty.detach().numpy())
    wt = rng.standard_normal(ty.shape)
    (ty * torch.tensor(wt)).sum().backward()
    (ny * npg.tensor(wt)).sum().backward()
    assert_close(nx.grad, tx.grad.numpy())
    assert_close(ng.grad, tg.grad.numpy())


# ------------------------------------------------------------------------------ results with their own memory
def _writes_back(fn, tfn, shape):
    """Whether an in-place write into ``fn``'s result changes its input (and whether torch's does)."""
    x = np.random.default_rng(0).standard_normal(shape)
    nx, tx = npg.tensor(x.copy(), requires_grad=False), torch.tensor(x.copy())
    ny, ty = fn(nx), tfn(tx)
    ny += 1
    ty += 1
    return not np.array_equal(nx.data, x), not np.array_equal(tx.numpy(), x)


@pytest.mark.parametrize("name, fn, tfn, shape", [
    ("pixel_shuffle r=1", lambda t: F.pixel_shuffle(t, 1), lambda t: TF.pixel_shuffle(t, 1), (1, 2, 3, 3)),
    ("pixel_shuffle 1x1", lambda t: F.pixel_shuffle(t, 2), lambda t: TF.pixel_shuffle(t, 2), (1, 4, 1, 1)),
    ("pixel_unshuffle r=1", lambda t: F.pixel_unshuffle(t, 1), lambda t: TF.pixel_unshuffle(t, 1), (1, 2, 3, 3)),
    ("channel_shuffle g=1", lambda t: F.channel_shuffle(t, 1), lambda t: TF.channel_shuffle(t, 1), (1, 4, 3, 3)),
    ("channel_shuffle g=C", lambda t: F.channel_shuffle(t, 4), lambda t: TF.channel_shuffle(t, 4), (1, 4, 3, 3)),
    ("reflect pad 0", lambda t: F.pad(t, (0, 0), mode="reflect"), lambda t: TF.pad(t, (0, 0), mode="reflect"),
     (1, 2, 3)),
    ("replicate crop", lambda t: F.pad(t, (-1, 0), mode="replicate"),
     lambda t: TF.pad(t, (-1, 0), mode="replicate"), (1, 2, 3)),
    ("circular crop", lambda t: F.pad(t, (0, -1, 0, 0), mode="circular"),
     lambda t: TF.pad(t, (0, -1, 0, 0), mode="circular"), (1, 2, 3, 3)),
    ("constant crop", lambda t: F.pad(t, (-1, -1)), lambda t: TF.pad(t, (-1, -1)), (1, 2, 4)),
])
def test_result_is_not_a_view_of_the_input(name, fn, tfn, shape):
    # these return a new tensor in PyTorch: writing into the result must leave the input alone
    assert _writes_back(fn, tfn, shape) == (False, False), name


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("fn", [lambda t: F.pixel_shuffle(t, 1), lambda t: F.channel_shuffle(t, 1),
                                lambda t: F.pad(t, (-1, 0, 0, 0), mode="reflect"),
                                lambda t: F.pad(t, (0, 0, -1, 0), mode="circular")])
def test_new_tensor_results_under_vmap_match_a_loop_without_fallback(fn):
    x = np.random.default_rng(0).standard_normal((3, 1, 2, 3, 3))
    out = npg.func.vmap(fn)(npg.tensor(x))
    assert_close(out, np.stack([fn(npg.tensor(x[i])).data for i in range(3)]))
