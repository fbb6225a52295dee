"""Convolution and pooling over random geometries, against PyTorch (values and gradients, float64).

npgrad's convolution takes one of several paths by geometry (im2col + one GEMM, the cache-blocked
im2col of ops/conv_blocked.py, the depthwise kernels, the input gradient as a convolution or by col2im)
and pooling has its own (windows tiling the input, padding, ceil_mode windows that start in the padding,
dilation). The op table checks a few fixed configurations; hypothesis draws the rest here, with PyTorch's
own validity rules deciding what is legal: where PyTorch raises, npgrad must raise too.
"""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import npgrad as npg
import npgrad.nn.functional as F

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.filter_too_much])
TOL = dict(rtol=1e-9, atol=1e-10)


def _compare(np_fn, t_fn, arrays, seed):
    """Run both; PyTorch raising means npgrad must raise; else values and gradients of a random
    weighted sum of the output must match."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    try:
        t_out = t_fn(*ts)
    except RuntimeError:
        try:
            np_fn(*[npg.tensor(a) for a in arrays])
        except (RuntimeError, ValueError):
            return
        raise AssertionError("PyTorch raised, npgrad did not")
    xs = [npg.tensor(a) for a in arrays]
    out = np_fn(*xs)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), **TOL)
    # a max-pool window that lies wholly in the padding gives -inf; PyTorch then sends its gradient to an
    # index computed from the clipped window start, which can be outside the window: no oracle there
    assume(np.isfinite(out.data).all())
    w = np.random.default_rng(seed).standard_normal(t_out.shape)
    (out * w).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), **TOL)


@settings(max_examples=300, **SETTINGS)
@given(n=st.integers(1, 3), groups=st.integers(1, 3), cin_g=st.integers(1, 3), cout_g=st.integers(1, 3),
       hw=st.tuples(st.integers(1, 9), st.integers(1, 9)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pad=st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.sampled_from(["same", "valid"])),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_random_geometry(n, groups, cin_g, cout_g, hw, k, stride, dil, pad, bias, seed):
    if pad == "same":
        stride = (1, 1)                  # PyTorch: 'same' needs stride 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cin_g) + hw)
    w = rng.standard_normal((groups * cout_g, cin_g) + k)
    arrays = [x, w] + ([rng.standard_normal(groups * cout_g)] if bias else [])
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    _compare(lambda *a: F.conv2d(*a[:2], a[2] if bias else None, **kw),
             lambda *a: TF.conv2d(*a[:2], a[2] if bias else None, **kw), arrays, seed)


@settings(max_examples=150, **SETTINGS)
@given(n=st.integers(1, 2), groups=st.integers(1, 3), cin_g=st.integers(1, 3), cout_g=st.integers(1, 3),
       hw=st.tuples(st.integers(1, 6), st.integers(1, 6)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pad=st.tuples(st.integers(0, 2), st.integers(0, 2)), outpad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv_transpose2d_random_geometry(n, groups, cin_g, cout_g, hw, k, stride, dil, pad, outpad, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cin_g) + hw)
    w = rng.standard_normal((groups * cin_g, cout_g) + k)
    arrays = [x, w] + ([rng.standard_normal(groups * cout_g)] if bias else [])
    kw = dict(stride=stride, padding=pad, output_padding=outpad, groups=groups, dilation=dil)
    _compare(lambda *a: F.conv_transpose2d(*a[:2], a[2] if bias else None, **kw),
             lambda *a: TF.conv_transpose2d(*a[:2], a[2] if bias else None, **kw), arrays, seed)


@settings(max_examples=150, **SETTINGS)
@given(n=st.integers(1, 2), c=st.integers(1, 3), L=st.integers(1, 12), k=st.integers(1, 4),
       stride=st.integers(1, 3), dil=st.integers(1, 3), pad=st.integers(0, 3), groups=st.integers(1, 2),
       seed=st.integers(0, 2**16))
def test_conv1d_and_conv3d_random_geometry(n, c, L, k, stride, dil, pad, groups, seed):
    rng = np.random.default_rng(seed)
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    x1, w1 = rng.standard_normal((n, c * groups, L)), rng.standard_normal((2 * groups, c, k))
    _compare(lambda x, w: F.conv1d(x, w, **kw), lambda x, w: TF.conv1d(x, w, **kw), [x1, w1], seed)
    L3 = min(L, 5)
    x3, w3 = rng.standard_normal((n, c * groups, L3, 3, L3)), rng.standard_normal((groups, c, min(k, 3), 2, 1))
    _compare(lambda x, w: F.conv3d(x, w, **kw), lambda x, w: TF.conv3d(x, w, **kw), [x3, w3], seed)


@settings(max_examples=300, **SETTINGS)
@given(n=st.integers(1, 2), c=st.integers(1, 3), hw=st.tuples(st.integers(1, 10), st.integers(1, 10)),
       k=st.tuples(st.integers(1, 4), st.integers(1, 4)), stride=st.one_of(st.none(), st.tuples(st.integers(1, 3),
                                                                                             st.integers(1, 3))),
       pad=st.tuples(st.integers(0, 2), st.integers(0, 2)), dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       ceil=st.booleans(), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_max_pool2d_random_geometry(n, c, hw, k, stride, pad, dil, ceil, ties, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + hw)
    if ties:                             # repeated maxima: the gradient goes to the first, as in PyTorch
        x = np.round(x)
    kw = dict(kernel_size=k, stride=stride, padding=pad, dilation=dil, ceil_mode=ceil)
    _compare(lambda a: F.max_pool2d(a, **kw), lambda a: TF.max_pool2d(a, **kw), [x], seed)


@settings(max_examples=200, **SETTINGS)
@given(n=st.integers(1, 2), c=st.integers(1, 3), hw=st.tuples(st.integers(1, 10), st.integers(1, 10)),
       k=st.tuples(st.integers(1, 4), st.integers(1, 4)), stride=st.one_of(st.none(), st.tuples(st.integers(1, 3),
                                                                                             st.integers(1, 3))),
       pad=st.tuples(st.integers(0, 2), st.integers(0, 2)), ceil=st.booleans(), include=st.booleans(),
       divisor=st.one_of(st.none(), st.integers(1, 5)), seed=st.integers(0, 2**16))
def test_avg_pool2d_random_geometry(n, c, hw, k, stride, pad, ceil, include, divisor, seed):
    x = np.random.default_rng(seed).standard_normal((n, c) + hw)
    kw = dict(kernel_size=k, stride=stride, padding=pad, ceil_mode=ceil, count_include_pad=include,
              divisor_override=divisor)
    _compare(lambda a: F.avg_pool2d(a, **kw), lambda a: TF.avg_pool2d(a, **kw), [x], seed)


@settings(max_examples=100, **SETTINGS)
@given(n=st.integers(1, 2), c=st.integers(1, 3), hw=st.tuples(st.integers(1, 11), st.integers(1, 11)),
       out=st.tuples(st.integers(1, 6), st.integers(1, 6)), seed=st.integers(0, 2**16))
def test_adaptive_pools_random_sizes(n, c, hw, out, seed):
    x = np.random.default_rng(seed).standard_normal((n, c) + hw)
    _compare(lambda a: F.adaptive_avg_pool2d(a, out), lambda a: TF.adaptive_avg_pool2d(a, out), [x], seed)
    _compare(lambda a: F.adaptive_max_pool2d(a, out), lambda a: TF.adaptive_max_pool2d(a, out), [x], seed)
