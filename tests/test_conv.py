"""Convolution and pooling against torch.nn.functional: values and gradients (input, weight, bias),
float32 and float64, plus second derivatives, finite differences, errors and the seed README example."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import npgrad as npg
from npgrad.ops import _conv_geometry as CG, _conv_kernels as CK, conv as C
from tests.helpers import check_finite_difference

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-9, atol=1e-10)}


def _rand(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _close(actual, expected, dtype, what):
    actual = np.asarray(getattr(actual, "data", actual))
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype} != {np.dtype(dtype)}"
    np.testing.assert_allclose(actual, expected, err_msg=what, equal_nan=True, **TOL[dtype])


def check(npg_fn, torch_fn, arrays, dtype, what="", seed=0):
    """Values, then the gradients of sum(out * v) for a random v, for every array argument."""
    arrays = [a.astype(dtype) for a in arrays]
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = npg_fn(*xs)
    tout = torch_fn(*ts)
    _close(out, tout.detach().numpy(), dtype, f"{what} value")
    v = _rand(out.shape, dtype, seed + 100)
    npg.sum(out * v).backward()
    (tout * torch.tensor(v)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None, f"{what}: argument {i} got no gradient"
        _close(x.grad, t.grad.numpy(), dtype, f"{what} grad of argument {i}")
    return out


# ------------------------------------------------------------------------------------------- conv2d
# (x shape, weight shape, bias, kwargs)
CONV2D = [
    ((2, 3, 8, 8), (4, 3, 3, 3), True, dict()),
    ((2, 3, 8, 8), (4, 3, 3, 3), True, dict(padding=1)),
    ((2, 3, 9, 7), (4, 3, 3, 3), False, dict(stride=2)),
    ((2, 3, 9, 7), (4, 3, 3, 3), True, dict(stride=3, padding=1)),
    ((1, 3, 10, 11), (5, 3, 3, 2), True, dict(stride=(2, 3), padding=(1, 0))),
    ((2, 2, 9, 9), (3, 2, 3, 3), True, dict(dilation=2)),
    ((2, 2, 11, 10), (3, 2, 3, 2), True, dict(dilation=(2, 1), padding=2, stride=2)),
    ((2, 4, 7, 7), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    ((2, 4, 7, 7), (4, 1, 3, 3), True, dict(groups=4, padding=1)),             # depthwise
    ((2, 4, 8, 6), (8, 1, 3, 3), False, dict(groups=4, stride=2, padding=1)),  # depthwise, multiplier 2
    ((2, 6, 7, 7), (6, 2, 2, 3), True, dict(groups=3, stride=(1, 2), dilation=(1, 2))),
    ((1, 3, 5, 5), (4, 3, 1, 1), True, dict()),                                # 1x1
    ((2, 3, 6, 5), (4, 3, 1, 1), False, dict(stride=2)),                       # 1x1 strided
    ((2, 3, 6, 5), (4, 3, 1, 1), True, dict(padding=1)),                       # 1x1 padded
    ((2, 3, 7, 8), (2, 3, 3, 3), True, dict(padding="same")),
    ((2, 3, 7, 8), (2, 3, 4, 4), True, dict(padding="same")),                  # asymmetric 'same'
    ((2, 3, 7, 8), (2, 3, 2, 5), True, dict(padding="same", dilation=(2, 1))),
    ((2, 3, 7, 8), (2, 3, 4, 3), True, dict(padding="same", dilation=2)),      # even kernel, dilated
    ((2, 3, 7, 8), (2, 3, 3, 3), True, dict(padding="valid")),
    ((1, 1, 5, 5), (1, 1, 5, 5), True, dict()),                                # kernel == input
    ((3, 2, 13, 4), (2, 2, 4, 3), True, dict(stride=(3, 1), padding=(2, 1))),  # odd sizes, non-divisible
    ((2, 3, 8, 8), (3, 3, 3, 3), True, dict(stride=2, padding=2, dilation=2)),
    ((2, 4, 9, 9), (2, 2, 3, 3), True, dict(groups=2, stride=3, dilation=2, padding=3)),
    ((2, 3, 5, 5), (4, 3, 3, 3), True, dict(padding=[1, 2], stride=[2, 1])),  # lists
    # stride 1 with out channels <= in channels: the input gradient runs as a convolution
    ((2, 4, 7, 7), (3, 4, 3, 3), True, dict(padding=1)),
    ((2, 4, 7, 6), (2, 4, 3, 3), False, dict(padding=3)),                      # padding > k - 1: col2im
    ((2, 6, 7, 7), (4, 3, 3, 3), True, dict(groups=2, padding=1)),
    ((2, 4, 9, 8), (4, 4, 3, 2), True, dict(dilation=2, padding=(1, 2))),
    ((2, 4, 7, 8), (3, 4, 4, 4), True, dict(padding="same")),                  # asymmetric
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D)
def test_conv2d(xs, ws, bias, kw, dtype):
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[0],), dtype, 2)] if bias else [])
    check(lambda *a: npg.conv2d(*a, **kw), lambda *a: F.conv2d(*a, **kw), arrays, dtype, f"conv2d {xs} {ws} {kw}")


def test_conv2d_unbatched_and_bias_none_keyword():
    x, w = _rand((3, 6, 6), np.float64, 0), _rand((2, 3, 3, 3), np.float64, 1)
    check(lambda a, b: npg.conv2d(a, b, None, 1, 1), lambda a, b: F.conv2d(a, b, None, 1, 1), [x, w], np.float64)
    check(lambda a, b: C.conv2d(input=a, weight=b, padding=1), lambda a, b: F.conv2d(input=a, weight=b, padding=1),
          [x, w], np.float64)


def test_conv2d_constant_weight_and_constant_input():
    x, w = _rand((2, 3, 6, 6), np.float64, 0), _rand((2, 3, 3, 3), np.float64, 1)
    xt = npg.tensor(x)
    y = npg.conv2d(xt, w, padding=1)                 # weight a plain array: a constant
    npg.sum(y).backward()
    tx = torch.tensor(x, requires_grad=True)
    F.conv2d(tx, torch.tensor(w), padding=1).sum().backward()
    _close(xt.grad, tx.grad.numpy(), np.float64, "x grad with constant weight")
    wt = npg.tensor(w)
    npg.sum(npg.conv2d(x, wt) ** 2).backward()
    tw = torch.tensor(w, requires_grad=True)
    (F.conv2d(torch.tensor(x), tw) ** 2).sum().backward()
    _close(wt.grad, tw.grad.numpy(), np.float64, "w grad with constant input")
    with npg.no_grad():
        assert not npg.conv2d(npg.tensor(x), wt).requires_grad


def test_conv2d_non_contiguous_input():
    x = _rand((2, 8, 3, 9), np.float64, 0).transpose(0, 2, 3, 1)[:, :, ::2]   # (2, 3, 5, 8), strided
    w = _rand((4, 3, 3, 3), np.float64, 1)
    check(lambda a, b: npg.conv2d(a[:, :, ::-1], b, stride=2), lambda a, b: F.conv2d(a.flip(2), b, stride=2),
          [np.ascontiguousarray(x), w], np.float64)
    out = npg.conv2d(x, w)                           # a non-contiguous plain array works too
    np.testing.assert_allclose(out.data, F.conv2d(torch.tensor(np.ascontiguousarray(x)), torch.tensor(w)).numpy())


# ------------------------------------------------------------------------------------ conv1d, conv3d
CONV1D = [
    ((2, 3, 10), (4, 3, 3), True, dict()),
    ((2, 3, 11), (4, 3, 3), True, dict(stride=2, padding=1)),
    ((1, 4, 9), (4, 2, 2), False, dict(groups=2, dilation=3)),
    ((2, 4, 9), (4, 1, 4), True, dict(groups=4, padding="same")),
    ((2, 3, 8), (5, 3, 1), True, dict(stride=3)),
    ((3, 10), (2, 3, 3), True, dict(padding=(2,))),                            # unbatched
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONV1D)
def test_conv1d(xs, ws, bias, kw, dtype):
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[0],), dtype, 2)] if bias else [])
    check(lambda *a: C.conv1d(*a, **kw), lambda *a: F.conv1d(*a, **kw), arrays, dtype, f"conv1d {xs} {ws} {kw}")


@pytest.mark.parametrize("kw", [dict(), dict(stride=(1, 2, 2), padding=1, dilation=(2, 1, 1)),
                                dict(groups=2, padding="same")])
def test_conv3d(kw):
    arrays = [_rand((2, 4, 5, 6, 5), np.float64, 0), _rand((2, 2 if kw.get("groups") else 4, 2, 3, 2),
                                                            np.float64, 1), _rand((2,), np.float64, 2)]
    check(lambda *a: C.conv3d(*a, **kw), lambda *a: F.conv3d(*a, **kw), arrays, np.float64, f"conv3d {kw}")


# ---------------------------------------------------------------------------------- conv_transpose
# (x shape, weight shape (in, out/groups, *k), bias, kwargs)
CONVT2D = [
    ((2, 3, 5, 5), (3, 4, 3, 3), True, dict()),
    ((2, 3, 5, 4), (3, 4, 3, 3), True, dict(stride=2)),
    ((2, 3, 5, 4), (3, 2, 3, 2), True, dict(stride=2, padding=1, output_padding=1)),
    ((1, 3, 4, 6), (3, 2, 4, 3), False, dict(stride=(3, 2), padding=(1, 2), output_padding=(2, 0))),
    ((2, 4, 5, 5), (4, 3, 3, 3), True, dict(groups=2, stride=2, padding=1)),
    ((2, 4, 5, 5), (4, 1, 3, 3), True, dict(groups=4, dilation=2)),
    ((2, 2, 4, 5), (2, 3, 3, 2), True, dict(dilation=(2, 3), output_padding=(1, 2), stride=1)),
    ((2, 3, 6, 6), (3, 2, 1, 1), True, dict(stride=2, output_padding=1)),
    ((3, 4, 4), (3, 2, 3, 3), True, dict(stride=2, padding=1)),                # unbatched
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", CONVT2D)
def test_conv_transpose2d(xs, ws, bias, kw, dtype):
    groups = kw.get("groups", 1)
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[1] * groups,), dtype, 2)] if bias else [])
    check(lambda *a: C.conv_transpose2d(*a, **kw), lambda *a: F.conv_transpose2d(*a, **kw), arrays, dtype,
          f"conv_transpose2d {xs} {ws} {kw}")


@pytest.mark.parametrize("kw", [dict(stride=3, padding=1, output_padding=2), dict(groups=2, dilation=2)])
def test_conv_transpose1d(kw):
    arrays = [_rand((2, 4, 6), np.float64, 0), _rand((4, 3, 3), np.float64, 1)]
    check(lambda *a: C.conv_transpose1d(*a, **kw), lambda *a: F.conv_transpose1d(*a, **kw), arrays, np.float64)


def test_conv_transpose_is_conv_input_gradient():
    x, w = _rand((2, 3, 9, 8), np.float64, 0), _rand((4, 3, 3, 3), np.float64, 1)
    xt = npg.tensor(x)
    y = npg.conv2d(xt, w, stride=2, padding=1)
    g = _rand(y.shape, np.float64, 3)
    y.backward(g)
    ct = C.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(ct.data, xt.grad, rtol=1e-12, atol=1e-12)


def test_conv_backward_twice_with_retain_graph():
    x, w = npg.tensor(_rand((3, 4, 6, 6), np.float64, 0)), npg.tensor(_rand((5, 4, 3, 3), np.float64, 1))
    loss = npg.sum(npg.conv2d(x, w, padding=1) * _rand((3, 5, 6, 6), np.float64, 2))
    loss.backward(retain_graph=True)
    gx, gw = x.grad.copy(), w.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * gx, rtol=1e-12)
    np.testing.assert_allclose(w.grad, 2 * gw, rtol=1e-12)


# -------------------------------------------------------------------------------- second derivatives
def _double_backward(npg_fn, torch_fn, arrays):
    """d/d(args) of sum(grad_x(sum(f * f * v)) ** 2): exercises the VJPs' own VJPs (in every argument,
    as the incoming gradient 2 f v depends on the inputs too)."""
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    v = _rand(out.shape, np.float64, 7)
    gs = npg.autograd.grad(npg.sum(out * out * v), xs, create_graph=True)
    tgs = torch.autograd.grad((tout * tout * torch.tensor(v)).sum(), ts, create_graph=True)
    for g, tg in zip(gs, tgs):
        _close(g, tg.detach().numpy(), np.float64, "first derivative")
    npg.sum(sum(npg.sum(g * g * (i + 1)) for i, g in enumerate(gs))).backward()
    sum((tg * tg * (i + 1)).sum() for i, tg in enumerate(tgs)).backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.grad is None:      # e.g. the bias: its first derivative does not depend on anything
            assert x.grad is None or not np.any(x.grad), f"argument {i}: torch has no second derivative"
            continue
        _close(x.grad, t.grad.numpy(), np.float64, f"second derivative, argument {i}")


@pytest.mark.parametrize("fn, tfn, shapes", [
    (lambda x, w, b: npg.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)),
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)), [(2, 4, 7, 8), (6, 4, 3, 2), (6,)]),
    (lambda x, w, b: npg.conv2d(x, w, b, groups=2, padding="same"),
     lambda x, w, b: F.conv2d(x, w, b, groups=2, padding="same"), [(2, 4, 6, 6), (4, 2, 2, 3), (4,)]),
    (lambda x, w, b: C.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
     [(2, 4, 4, 5), (4, 3, 3, 3), (6,)]),
])
def test_conv_second_order(fn, tfn, shapes):
    _double_backward(fn, tfn, [_rand(s, np.float64, i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("fn, tfn", [
    (lambda x: npg.max_pool2d(x * x, 3, 2, 1), lambda x: F.max_pool2d(x * x, 3, 2, 1)),
    (lambda x: npg.avg_pool2d(x * x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda x: F.avg_pool2d(x * x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    (lambda x: C.adaptive_avg_pool2d(x * x, (3, 4)), lambda x: F.adaptive_avg_pool2d(x * x, (3, 4))),
    (lambda x: C.adaptive_max_pool2d(x * x, (3, 4)), lambda x: F.adaptive_max_pool2d(x * x, (3, 4))),
    (lambda x: npg.max_pool2d(x * x, 2), lambda x: F.max_pool2d(x * x, 2)),
])
def test_pool_second_order(fn, tfn):
    _double_backward(fn, tfn, [_rand((2, 3, 7, 9), np.float64, 0)])


def test_finite_differences_without_torch():
    x, w, b = _rand((2, 4, 7, 6), np.float64, 0), _rand((4, 2, 3, 2), np.float64, 1), _rand((4,), np.float64, 2)
    check_finite_difference(lambda x, w, b: npg.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), [x, w, b])
    check_finite_difference(lambda x, w: C.conv_transpose2d(x, w, stride=2, output_padding=1), [x, w])
    check_finite_difference(lambda x: npg.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [x])
    check_finite_difference(lambda x: npg.max_pool2d(x, 2, 1), [x])


# ------------------------------------------------------------------------------------------ pooling
MAXPOOL2D = [
    dict(kernel_size=2),
    dict(kernel_size=3),                                      # 7x9 does not divide: floor
    dict(kernel_size=3, ceil_mode=True),
    dict(kernel_size=2, stride=1),                            # overlapping windows
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),  # last window would start in the right pad
    dict(kernel_size=3, dilation=2),
    dict(kernel_size=(2, 3), stride=(3, 2), dilation=(2, 1), padding=1, ceil_mode=True),
    dict(kernel_size=4, stride=3, ceil_mode=True),
    dict(kernel_size=1, stride=2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAXPOOL2D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d(kw, ties, dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, (2, 3, 7, 9)) if ties else rng.standard_normal((2, 3, 7, 9))
    check(lambda a: npg.max_pool2d(a, **kw), lambda a: F.max_pool2d(a, **kw), [x], dtype, f"max_pool2d {kw}")
    _, ind = npg.max_pool2d(x.astype(dtype), return_indices=True, **kw)
    _, tind = F.max_pool2d(torch.tensor(x.astype(dtype)), return_indices=True, **kw)
    np.testing.assert_array_equal(ind.data, tind.numpy())


def test_max_pool_ties_go_to_first_maximum():
    x = np.array([[[[1., 3, 3], [3, 2, 1], [0, 3, 3]]]])
    xt = npg.tensor(x)
    npg.sum(npg.max_pool2d(xt, 2, 1)).backward()
    tx = torch.tensor(x, requires_grad=True)
    F.max_pool2d(tx, 2, 1).sum().backward()
    np.testing.assert_array_equal(xt.grad, tx.grad.numpy())
    np.testing.assert_array_equal(xt.grad, [[[[0, 2, 0], [1, 0, 0], [0, 1, 0]]]])


@pytest.mark.parametrize("x", [
    np.array([[[[1., np.nan, 3], [np.nan, 2, 1], [0, 3, 3]]]]),
    np.full((1, 1, 3, 3), -np.inf),
    np.array([[[[-np.inf, 1, -np.inf], [-np.inf, -np.inf, -np.inf], [2, -np.inf, np.nan]]]]),
])
def test_max_pool_nan_and_neg_inf_as_torch(x):
    for kw in (dict(kernel_size=2, stride=1), dict(kernel_size=2, stride=1, padding=1),
               dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)):
        xt = npg.tensor(x)
        out, ind = npg.max_pool2d(xt, return_indices=True, **kw)
        npg.sum(out).backward()
        tx = torch.tensor(x, requires_grad=True)
        tout, tind = F.max_pool2d(tx, return_indices=True, **kw)
        tout.sum().backward()
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        np.testing.assert_array_equal(ind.data, tind.numpy())
        np.testing.assert_array_equal(xt.grad, tx.grad.numpy())


@pytest.mark.parametrize("layout", ["nchw", "batch_last"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw, shape", [(dict(kernel_size=2), (9, 3, 8, 6)), (dict(kernel_size=(2, 3)), (9, 2, 6, 9)),
                                       (dict(kernel_size=1), (9, 2, 3, 4)), (dict(kernel_size=(1, 2)), (3, 2, 3, 4))])
def test_max_pool_tiling_windows_with_ties(kw, shape, dtype, layout):
    """Windows that tile the input (the common 2x2 pool) take a fast path: the gradient goes to the first
    maximum of each window in row-major order, as in PyTorch (ties are everywhere in these inputs)."""
    x = np.random.default_rng(0).integers(-1, 2, shape).astype(dtype)
    fn, tfn = (lambda a: npg.max_pool2d(a, **kw)), (lambda a: F.max_pool2d(a, **kw))
    if layout == "nchw":
        check(fn, tfn, [x], dtype, f"max_pool2d {kw}")
    else:
        _check_batch_last(fn, tfn, x, dtype, f"max_pool2d {kw}, batch-last input")


@pytest.mark.parametrize("layout", ["nchw", "batch_last"])
def test_max_pool_tiling_nan_inf_and_infinite_gradient(layout):
    x = np.random.default_rng(1).integers(-1, 2, (3, 2, 4, 6)).astype(np.float64)
    x[0, 0, :2, :2] = [[1, np.nan], [np.nan, 2]]
    x[1, 1, 2:, 2:4] = -np.inf
    x[2, 0, 0, :2] = np.inf
    g = np.ones((3, 2, 2, 3))
    g[0, 1, 1, 1], g[2, 1, 0, 0] = np.inf, np.nan
    leaf, xin = (npg.tensor(x), None) if layout == "nchw" else _batch_last_input(x)
    out, ind = npg.max_pool2d(leaf if xin is None else xin, 2, return_indices=True)
    out.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    tout, tind = F.max_pool2d(tx, 2, return_indices=True)
    tout.backward(torch.tensor(g))
    grad = leaf.grad if xin is None else np.moveaxis(leaf.grad, -1, 0)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    np.testing.assert_array_equal(ind.data, tind.numpy())
    np.testing.assert_array_equal(grad, tx.grad.numpy())


AVGPOOL2D = [
    dict(kernel_size=2),
    dict(kernel_size=3),
    dict(kernel_size=3, ceil_mode=True),
    dict(kernel_size=2, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 4), stride=(3, 1), padding=(1, 2), ceil_mode=True),
    dict(kernel_size=(2, 4), stride=(3, 1), padding=(1, 2), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, divisor_override=5),
    dict(kernel_size=4, stride=3, ceil_mode=True, count_include_pad=False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVGPOOL2D)
def test_avg_pool2d(kw, dtype):
    check(lambda a: npg.avg_pool2d(a, **kw), lambda a: F.avg_pool2d(a, **kw), [_rand((2, 3, 7, 9), dtype, 0)],
          dtype, f"avg_pool2d {kw}")


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=1, padding=1, dilation=2)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool1d(kw, ties):
    rng = np.random.default_rng(0)
    x = (rng.integers(-2, 3, (2, 3, 11)) if ties else rng.standard_normal((2, 3, 11))).astype(np.float64)
    check(lambda a: C.max_pool1d(a, **kw), lambda a: F.max_pool1d(a, **kw), [x], np.float64)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)])
def test_avg_pool1d(kw):
    check(lambda a: C.avg_pool1d(a, **kw), lambda a: F.avg_pool1d(a, **kw), [_rand((2, 3, 11), np.float64, 0)],
          np.float64)


def test_pool3d():
    x = _rand((2, 2, 5, 6, 7), np.float64, 0)
    check(lambda a: C.max_pool3d(a, 2, ceil_mode=True), lambda a: F.max_pool3d(a, 2, ceil_mode=True), [x],
          np.float64)
    check(lambda a: C.avg_pool3d(a, 3, 2, 1), lambda a: F.avg_pool3d(a, 3, 2, 1), [x], np.float64)


def test_pools_unbatched():
    x = _rand((3, 7, 8), np.float64, 0)
    check(lambda a: npg.max_pool2d(a, 3, 2, 1), lambda a: F.max_pool2d(a, 3, 2, 1), [x], np.float64)
    check(lambda a: npg.avg_pool2d(a, 2), lambda a: F.avg_pool2d(a, 2), [x], np.float64)
    check(lambda a: C.adaptive_avg_pool2d(a, 3), lambda a: F.adaptive_avg_pool2d(a, 3), [x], np.float64)
    out, ind = npg.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(ind.data, F.max_pool2d(torch.tensor(x), 2, return_indices=True)[1].numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, size", [((2, 3, 8, 8), (4, 4)), ((2, 3, 8, 8), 1), ((2, 3, 7, 9), (3, 4)),
                                         ((2, 3, 5, 7), (5, 7)), ((2, 3, 5, 7), (7, 9)), ((2, 3, 10, 7), (None, 3)),
                                         ((2, 3, 6, 13), (4, 5))])
def test_adaptive_avg_pool2d(shape, size, dtype):
    check(lambda a: C.adaptive_avg_pool2d(a, size), lambda a: F.adaptive_avg_pool2d(a, size),
          [_rand(shape, dtype, 0)], dtype, f"adaptive_avg_pool2d {shape} {size}")


@pytest.mark.parametrize("size", [3, 4, 11])
def test_adaptive_avg_pool1d(size):
    check(lambda a: C.adaptive_avg_pool1d(a, size), lambda a: F.adaptive_avg_pool1d(a, size),
          [_rand((2, 3, 10), np.float64, 0)], np.float64)


@pytest.mark.parametrize("shape, size", [((2, 3, 8, 8), (4, 4)), ((2, 3, 7, 9), (3, 4)), ((2, 3, 5, 7), (7, 9)),
                                         ((2, 3, 6, 13), (4, 5))])
@pytest.mark.parametrize("ties", [False, True])
def test_adaptive_max_pool2d(shape, size, ties):
    rng = np.random.default_rng(0)
    x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(np.float64)
    check(lambda a: C.adaptive_max_pool2d(a, size), lambda a: F.adaptive_max_pool2d(a, size), [x], np.float64)
    _, ind = C.adaptive_max_pool2d(x, size, return_indices=True)
    np.testing.assert_array_equal(ind.data, F.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)[1])


def test_adaptive_max_pool1d():
    x = np.random.default_rng(0).integers(-2, 3, (2, 3, 10)).astype(np.float64)
    check(lambda a: C.adaptive_max_pool1d(a, 4), lambda a: F.adaptive_max_pool1d(a, 4), [x], np.float64)


def test_pool_dtypes_follow_input():
    for dt in DTYPES:
        x = npg.tensor(_rand((1, 2, 6, 6), dt, 0))
        for out in (npg.max_pool2d(x, 2), npg.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                    C.adaptive_avg_pool2d(x, 4)):
            assert out.dtype == dt
            npg.sum(out).backward()
            assert x.grad.dtype == dt
            x.grad = None


# ----------------------------------------------------------------------------------- memory layouts
def _batch_last_input(x):
    """A leaf holding ``x`` as a (C, *L, N) array, and the (N, C, *L) view of it an op sees: an input laid
    out as a convolution's output is (batch axis innermost)."""
    leaf = npg.tensor(np.ascontiguousarray(np.moveaxis(x, 0, -1)))
    view = npg.moveaxis(leaf, -1, 0)
    assert CG._is_batch_last(view.data)
    return leaf, view


def _check_batch_last(npg_fn, torch_fn, x, dtype, what, seed=0):
    """As :func:`check` for one argument given to npgrad batch-last."""
    x = x.astype(dtype)
    leaf, view = _batch_last_input(x)
    tx = torch.tensor(x, requires_grad=True)
    out, tout = npg_fn(view), torch_fn(tx)
    _close(out, tout.detach().numpy(), dtype, f"{what} value")
    v = _rand(out.shape, dtype, seed + 100)
    npg.sum(out * v).backward()
    (tout * torch.tensor(v)).sum().backward()
    _close(np.moveaxis(leaf.grad, -1, 0), tx.grad.numpy(), dtype, f"{what} grad")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cnn_chain_as_torch(dtype):
    """conv-relu-pool x2, conv, linear on a batch of 16: the convolutions hand batch-last arrays to the
    ops that follow (and get batch-last gradients back); values and every gradient match torch. The input
    (16 images of 4x8x8) has the power-of-two image stride that the batch-last copy stages."""
    rng = np.random.default_rng(0)
    shapes = [(16, 4, 8, 8), (8, 4, 3, 3), (8,), (8, 8, 3, 3), (8,), (16, 8, 3, 3), (16,), (64, 10)]
    arrays = [rng.standard_normal(s) / np.sqrt(np.prod(s[1:]) if len(s) > 1 else 1) for s in shapes]

    def net(lib, conv, pool, relu, x, w1, b1, w2, b2, w3, b3, W):
        h = pool(relu(conv(x, w1, b1, padding=1)), 2)
        h = pool(relu(conv(h, w2, b2, padding=1)), 2)      # 8 -> 8 channels: input gradient as a conv
        h = conv(h, w3, b3, padding=1)                      # 8 -> 16: input gradient by col2im
        return h.reshape(16, -1) @ W

    check(lambda *a: net(npg, npg.conv2d, npg.max_pool2d, npg.relu, *a),
          lambda *a: net(torch, F.conv2d, F.max_pool2d, F.relu, *a), arrays, dtype, "cnn chain")


def test_conv_output_is_batch_last_and_the_next_ops_keep_it():
    x = npg.tensor(_rand((16, 4, 8, 8), np.float32, 0))
    y = npg.conv2d(x, _rand((8, 4, 3, 3), np.float32, 1), padding=1)
    for t in (y, npg.relu(y), npg.max_pool2d(npg.relu(y), 2), npg.avg_pool2d(y, 3, 2, 1)):
        assert CG._is_batch_last(t.data), t.data.strides


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAXPOOL2D)
def test_max_pool2d_batch_last(kw, dtype):
    x = np.random.default_rng(0).integers(-2, 3, (5, 3, 7, 9))
    _check_batch_last(lambda a: npg.max_pool2d(a, **kw), lambda a: F.max_pool2d(a, **kw), x, dtype,
                      f"max_pool2d {kw}")


@pytest.mark.parametrize("kw", AVGPOOL2D)
def test_avg_pool2d_batch_last(kw):
    _check_batch_last(lambda a: npg.avg_pool2d(a, **kw), lambda a: F.avg_pool2d(a, **kw),
                      _rand((5, 3, 7, 9), np.float64, 0), np.float64, f"avg_pool2d {kw}")


@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D[::3])
def test_conv2d_batch_last(xs, ws, bias, kw):
    xs = (5,) + xs[1:]
    w = _rand(ws, np.float64, 1)
    b = _rand((ws[0],), np.float64, 2) if bias else None
    _check_batch_last(lambda a: npg.conv2d(a, w, b, **kw),
                      lambda a: F.conv2d(a, torch.tensor(w), None if b is None else torch.tensor(b), **kw),
                      _rand(xs, np.float64, 0), np.float64, f"conv2d {xs} {ws} {kw}")


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, match", [
    (lambda: npg.conv2d(np.ones((3, 5, 5)), np.ones((4, 3, 3, 3))), None),                  # unbatched ok
    (lambda: npg.conv2d(np.ones((3, 5)), np.ones((4, 3, 3, 3))), r"\(3, 5\)"),              # wrong rank
    (lambda: npg.conv2d(np.ones((1, 2, 3, 5, 5)), np.ones((4, 3, 3, 3))), r"\(1, 2, 3, 5, 5\)"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3))), r"\(4, 3, 3\)"),       # weight rank
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 2, 3, 3))), r"\(2, 3, 5, 5\).*\(4, 2, 3, 3\)"),
    (lambda: npg.conv2d(np.ones((2, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2), r"divisible by groups"),
    (lambda: npg.conv2d(np.ones((2, 4, 5, 5)), np.ones((4, 1, 3, 3)), groups=2), r"groups=2"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 6, 3))), r"larger than the padded input"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 4, 4)), dilation=2, padding=0), r"larger"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=0), r"stride"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=(1, -1)), r"stride"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), dilation=0), r"dilation"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), padding=-1), r"padding"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), padding="same", stride=2), r"'same'"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), padding="full"), r"padding"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.ones(3)), r"bias"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=(1, 1, 1)), r"stride"),
    (lambda: npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), groups=0), r"groups"),
    (lambda: C.conv1d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3))), r"\(2, 3, 5, 5\)"),
    (lambda: C.conv_transpose2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))), r"\(2, 3, 5, 5\).*\(4, 3, 3, 3\)"),
    (lambda: C.conv_transpose2d(np.ones((2, 4, 5, 5)), np.ones((4, 3, 3, 3)), stride=2, output_padding=2),
     r"output_padding"),
    (lambda: C.conv_transpose2d(np.ones((2, 3, 2, 2)), np.ones((3, 3, 1, 1)), padding=1), r"padding"),
    (lambda: npg.max_pool2d(np.ones((2, 3, 5, 5)), 3, padding=2), r"half"),
    (lambda: npg.max_pool2d(np.ones((2, 3, 2, 2)), 3), r"too small"),
    (lambda: npg.max_pool2d(np.ones((5, 5)), 2), r"\(5, 5\)"),
    (lambda: npg.max_pool2d(np.ones((2, 3, 5, 5)), 2, stride=0), r"stride"),
    (lambda: npg.avg_pool2d(np.ones((2, 3, 5, 5)), 2, padding=2), r"half"),
    (lambda: npg.avg_pool2d(np.ones((2, 3, 5, 5)), 2, divisor_override=0), r"divisor"),
    (lambda: C.adaptive_avg_pool2d(np.ones((2, 3, 5, 5)), (0, 2)), r"output_size"),
    (lambda: C.adaptive_avg_pool2d(np.ones((2, 3, 5, 5)), (1, 2, 3)), r"output_size"),
])
def test_errors(call, match):
    if match is None:
        call()
        return
    with pytest.raises(ValueError, match=match):
        call()


def test_errors_match_torch_acceptance():
    """Where npgrad refuses an argument, PyTorch refuses it too, and the other way round."""
    x = torch.zeros(1, 1, 9, 9)
    for k, p, d in [(3, 1, 1), (3, 2, 1), (2, 1, 2), (3, 2, 2), (1, 1, 1), (4, 2, 1)]:
        try:
            F.max_pool2d(x, k, 1, p, d)
            torch_ok = True
        except RuntimeError:
            torch_ok = False
        try:
            npg.max_pool2d(x.numpy(), k, 1, p, d)
            ok = True
        except ValueError:
            ok = False
        assert ok == torch_ok, (k, p, d)


def test_type_errors():
    with pytest.raises(TypeError):
        npg.conv2d(np.ones((2, 3, 5, 5), dtype=np.int64), np.ones((4, 3, 3, 3), dtype=np.int64))
    with pytest.raises(TypeError):
        npg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=1.5)
    with pytest.raises(TypeError):
        npg.max_pool2d(np.ones((2, 3, 5, 5), dtype=np.int64), 2)


def test_no_column_matrix_outlives_the_op():
    """conv keeps only its inputs (and its output) for backward: nothing the size of the column matrix (9x
    the input here) stays alive after the forward, and after backward only the gradients do."""
    import tracemalloc
    x = npg.tensor(_rand((4, 8, 16, 16), np.float32, 0))
    w = npg.tensor(_rand((8, 8, 3, 3), np.float32, 1))
    g = np.ones((4, 8, 16, 16), np.float32)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = npg.conv2d(x, w, padding=1)
        assert tracemalloc.get_traced_memory()[0] - base < 2 * g.nbytes
        y.backward(g)
        assert tracemalloc.get_traced_memory()[0] - base < 3 * g.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fn, tfn", [
    (lambda x: npg.conv2d(x, np.ones((4, 3, 3, 3)), padding=1), lambda x: F.conv2d(x, torch.ones(4, 3, 3, 3), padding=1)),
    (lambda x: C.conv_transpose2d(x, np.ones((3, 2, 3, 3)), stride=2),
     lambda x: F.conv_transpose2d(x, torch.ones(3, 2, 3, 3), stride=2)),
    (lambda x: npg.max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2)),
    (lambda x: npg.avg_pool2d(x, 3, 2, 1), lambda x: F.avg_pool2d(x, 3, 2, 1)),
    (lambda x: C.adaptive_avg_pool2d(x, 3), lambda x: F.adaptive_avg_pool2d(x, 3)),
    (lambda x: C.adaptive_max_pool2d(x, 3), lambda x: F.adaptive_max_pool2d(x, 3)),
])
def test_empty_batch(fn, tfn):
    xt = npg.tensor(np.zeros((0, 3, 8, 8)))
    y = fn(xt)
    assert y.shape == tuple(tfn(torch.zeros(0, 3, 8, 8, dtype=torch.float64)).shape)
    npg.sum(y).backward()
    assert xt.grad.shape == (0, 3, 8, 8)


def test_conv_third_order():
    """The conv family is closed under differentiation: a third derivative matches torch."""
    x, w = _rand((2, 2, 5, 6), np.float64, 0), _rand((3, 2, 3, 2), np.float64, 1)
    kw = dict(stride=(2, 1), padding=1)

    def run(lib, grad, conv, xs):
        a, b = xs
        y = conv(a, b, **kw)
        (gx,) = grad((y * y * y).sum(), [a], create_graph=True)
        (gw,) = grad((gx * gx).sum(), [b], create_graph=True)
        (gx2,) = grad((gw * gw).sum(), [a])
        return gx2

    ours = run(npg, npg.autograd.grad, npg.conv2d, [npg.tensor(x), npg.tensor(w)])
    theirs = run(torch, torch.autograd.grad, F.conv2d, [torch.tensor(x, requires_grad=True),
                                                       torch.tensor(w, requires_grad=True)])
    _close(ours, theirs.numpy(), np.float64, "third derivative")


# ------------------------------------------------------------------- depthwise (groups == in_channels)
# stride 1 with one output channel per group takes the depthwise kernels (multiply-accumulate over the
# kernel offsets on the input's grid, the input gradient by the flipped kernel when padding <= dilation *
# (k - 1)); strided or channel-multiplied ones, and the larger paddings' input gradient, the per-group GEMMs
DEPTHWISE = [  # (x shape, weight shape, bias, kwargs); groups = x's channels
    ((2, 4, 7, 7), (4, 1, 3, 3), True, dict(padding=1)),
    ((3, 5, 8, 6), (5, 1, 3, 3), False, dict()),                                 # valid
    ((2, 4, 9, 8), (4, 1, 3, 3), True, dict(stride=2, padding=1)),
    ((2, 4, 9, 8), (4, 1, 3, 2), True, dict(stride=(2, 3), padding=(0, 1))),
    ((2, 3, 9, 9), (3, 1, 3, 3), True, dict(dilation=2, padding=2)),
    ((2, 3, 9, 10), (3, 1, 3, 3), True, dict(dilation=(2, 1), stride=(1, 2), padding=(2, 0))),
    ((2, 4, 7, 8), (4, 1, 3, 3), True, dict(padding="same")),
    ((2, 4, 7, 8), (4, 1, 4, 4), True, dict(padding="same")),                    # asymmetric 'same'
    ((2, 4, 7, 8), (4, 1, 2, 3), False, dict(padding="same", dilation=2)),
    ((2, 4, 6, 7), (4, 1, 3, 3), True, dict(padding=3)),                         # padding > k - 1
    ((2, 4, 8, 6), (8, 1, 3, 3), True, dict(padding=1)),                         # multiplier 2
    ((2, 3, 8, 7), (9, 1, 3, 3), False, dict(stride=2, padding=1, dilation=2)),  # multiplier 3
    ((2, 2, 7, 7), (6, 1, 2, 2), True, dict(padding="same")),
    ((1, 4, 7, 7), (4, 1, 3, 3), True, dict(padding=1)),                         # batch of one
    ((4, 6, 6), (4, 1, 3, 3), True, dict(padding=1)),                            # unbatched
    ((2, 4, 5, 5), (4, 1, 5, 5), True, dict()),                                  # kernel == input
    ((2, 4, 10, 9), (4, 1, 3, 3), True, dict(stride=3, padding=1)),              # leftover rows
    ((2, 4, 5, 6), (4, 1, 1, 1), True, dict()),                                  # 1x1
]
DEPTHWISE_ND = [
    ((2, 4, 11), (4, 1, 3), True, dict(padding=1)),
    ((2, 4, 11), (8, 1, 3), False, dict(stride=2, dilation=2, padding=2)),
    ((2, 4, 10), (4, 1, 4), True, dict(padding="same")),
    ((2, 3, 5, 6, 5), (3, 1, 3, 3, 3), True, dict(padding=1)),
    ((2, 3, 5, 6, 7), (6, 1, 2, 3, 3), True, dict(stride=(1, 2, 2), padding=(0, 1, 1), dilation=(2, 1, 1))),
    ((2, 3, 5, 6, 5), (3, 1, 3, 2, 3), False, dict(padding="same")),
]


def _conv_fns(nd):
    return ({1: C.conv1d, 2: C.conv2d, 3: C.conv3d}[nd], {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bias, kw", DEPTHWISE + DEPTHWISE_ND)
def test_depthwise(xs, ws, bias, kw, dtype):
    nd = len(ws) - 2
    f, tf = _conv_fns(nd)
    kw = dict(kw, groups=xs[-nd - 1])
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1)] + ([_rand((ws[0],), dtype, 2)] if bias else [])
    check(lambda *a: f(*a, **kw), lambda *a: tf(*a, **kw), arrays, dtype, f"depthwise {xs} {ws} {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1), dict(padding="same", dilation=2)])
def test_depthwise_batch_last_input(kw, dtype):
    """After a convolution the input is a batch-last view (the layout the kernels work in)."""
    arrays = [_rand((4, 3, 8, 7), dtype, 0), _rand((6, 3, 1, 1), dtype, 1), _rand((12, 1, 3, 3), dtype, 2),
              _rand((12,), dtype, 3)]
    check(lambda x, w0, w, b: npg.conv2d(npg.conv2d(x, w0), w, b, groups=6, **kw),
          lambda x, w0, w, b: F.conv2d(F.conv2d(x, w0), w, b, groups=6, **kw), arrays, dtype, f"batch-last {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, kw", [
    ((2, 4, 5, 6), (4, 1, 3, 3), dict(padding=1)),
    ((2, 4, 5, 6), (4, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 1, 3, 2), dict(stride=(1, 2), dilation=2)),
])
def test_depthwise_conv_transpose(xs, ws, kw, dtype):
    """conv_transpose with groups == in_channels and one output channel per group: its kernels are the
    depthwise ones (its weight (in, out/groups, *k) has one column)."""
    kw = dict(kw, groups=xs[1])
    arrays = [_rand(xs, dtype, 0), _rand(ws, dtype, 1), _rand((ws[1] * xs[1],), dtype, 2)]
    check(lambda *a: C.conv_transpose2d(*a, **kw), lambda *a: F.conv_transpose2d(*a, **kw), arrays, dtype,
          f"depthwise conv_transpose2d {xs} {ws} {kw}")


@pytest.mark.parametrize("nd, xs, ws, kw", [
    (2, (2, 4, 6, 7), (4, 1, 3, 3), dict(padding=1)),
    (2, (2, 4, 6, 7), (4, 1, 3, 2), dict(padding="same", dilation=2)),
    (2, (2, 3, 7, 7), (6, 1, 3, 3), dict(stride=2, padding=1)),                # multiplier 2, strided
    (2, (2, 3, 6, 6), (3, 1, 3, 3), dict(padding=3)),                          # padding > k - 1
    (2, (2, 2, 7, 6), (6, 1, 2, 3), dict(stride=(1, 2), dilation=(2, 1), padding=1)),
    (1, (2, 4, 9), (4, 1, 3), dict(stride=2, padding=1)),
    (3, (2, 2, 4, 5, 4), (4, 1, 3, 3, 2), dict(padding=1)),
])
def test_depthwise_second_order(nd, xs, ws, kw):
    f, tf = _conv_fns(nd)
    kw = dict(kw, groups=xs[1])
    _double_backward(lambda x, w, b: f(x, w, b, **kw), lambda x, w, b: tf(x, w, b, **kw),
                     [_rand(xs, np.float64, 0), _rand(ws, np.float64, 1), _rand((ws[0],), np.float64, 2)])


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1, output_padding=1)])
def test_depthwise_conv_transpose_second_order(kw):
    kw = dict(kw, groups=4)
    _double_backward(lambda x, w, b: C.conv_transpose2d(x, w, b, **kw),
                     lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                     [_rand((2, 4, 5, 6), np.float64, 0), _rand((4, 1, 3, 3), np.float64, 1),
                      _rand((4,), np.float64, 2)])


def test_depthwise_dispatch():
    assert CK._depthwise(np.empty((4, 1, 3, 3)), 4, (1, 1))
    assert not CK._depthwise(np.empty((8, 1, 3, 3)), 4, (1, 1))        # multiplier 2
    assert not CK._depthwise(np.empty((4, 1, 3, 3)), 4, (2, 1))        # strided
    assert not CK._depthwise(np.empty((4, 1, 3, 3)), 1, (1, 1))        # one group


def test_depthwise_finite_differences():
    x, w, b = _rand((2, 3, 6, 5), np.float64, 0), _rand((6, 1, 3, 2), np.float64, 1), _rand((6,), np.float64, 2)
    check_finite_difference(lambda x, w, b: npg.conv2d(x, w, b, padding=1, groups=3), [x, w, b])
    check_finite_difference(lambda x, w, b: npg.conv2d(x, w, b, stride=2, dilation=(1, 2), groups=3), [x, w, b])


@pytest.mark.parametrize("fill", [0.0, -np.inf])
def test_padded_buffers_write_the_fill_only_around_the_input(fill):
    """_padded and _batch_last fill only the border of the buffer (no pass over all of it first): against a
    full-then-copy reference for offsets, crops, empty inputs, both memory orders, the pools' -inf."""
    from npgrad.ops import _conv_geometry as G
    rng = np.random.default_rng(0)
    for N, H, W, lo, span in [(3, 4, 5, (1, 2), (6, 8)), (3, 4, 5, (0, 0), (6, 7)), (1, 0, 3, (1, 0), (3, 5)),
                              (3, 4, 5, (2, 3), (3, 5)), (3, 4, 5, (0, 1), (2, 7)), (2, 1, 1, (3, 3), (8, 8))]:
        x = rng.standard_normal((N, 2, H, W))
        for xx in (x, np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)):
            ref = np.full((N, 2) + span, fill)
            dst, src = G._placement(lo, (H, W), span)
            ref[(Ellipsis,) + dst] = xx[(Ellipsis,) + src]
            np.testing.assert_array_equal(G._padded(xx, lo, span, fill), ref)
            np.testing.assert_array_equal(np.moveaxis(G._batch_last(xx, lo, span, fill), -1, 0), ref)
